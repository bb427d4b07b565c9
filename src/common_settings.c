/*
 * common_settings.c
 *		Every mono_pay.* setting, in one table: its variable, default,
 *		bounds, context and description; the checks of their values; and the
 *		log hook that keeps the secrets' values out of the server log.
 */
#include "common.h"

#include "tcop/tcopprot.h"
#include "utils/guc.h"

/* the payments (Direct Charge) app and the API */
char *mono_api_url = NULL;
char *mono_secret_key = NULL;
char *mono_webhook_secret = NULL;
char *mono_connect_secret_key = NULL;
char *mono_connect_webhook_secret = NULL;
char *mono_database_name = NULL;
char *mono_ca_bundle = NULL;
/* the worker */
bool mono_enabled = true;
int mono_max_in_flight = 64;
int mono_poll_interval = 1000;
int mono_request_timeout = 30000;
int mono_max_attempts = 10;
int mono_retry_base = 1000;
int mono_retry_max = 300000;
int mono_poll_base = 60000;
int mono_poll_max = 21600000;
char *mono_schedule_grace = NULL;
char *mono_approval_window = NULL;
bool mono_http_log = false;
char *mono_http_log_retention = NULL;
/* Connect */
int mono_account_refresh_interval = 3600;
bool mono_track_webhook_accounts = false;
/* high availability */
char *mono_standby_names = NULL;
/* webhooks (the receiver is a program of its own: receiver/) */
int mono_webhook_max_size = 262144;

static emit_log_hook_type prev_emit_log_hook = NULL;

/* Accept only http(s) URLs without a trailing slash for mono_pay.api_url. */
static bool
check_api_url(char **newval, void **extra pg_attribute_unused(),
			  GucSource source pg_attribute_unused())
{
	const char *url = *newval;
	size_t len;

	if (url == NULL || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
	{
		GUC_check_errdetail("mono_pay.api_url must start with https:// or http://.");
		return false;
	}
	len = strlen(url);
	if (url[len - 1] == '/')
	{
		GUC_check_errdetail("mono_pay.api_url must not end with a slash.");
		return false;
	}
	return true;
}

/* Accept only a positive interval, e.g. '1 day' or '48 hours'. */
static bool
check_interval(char **newval, void **extra pg_attribute_unused(),
			   GucSource source pg_attribute_unused())
{
	Interval *iv;

	if (*newval == NULL)
		return false;
	iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(*newval),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
	if (iv->month < 0 || iv->day < 0 || iv->time < 0 ||
		(iv->month == 0 && iv->day == 0 && iv->time == 0))
	{
		GUC_check_errdetail("The value must be a positive interval such as '1 day'.");
		return false;
	}
	return true;
}

/*
 * A secret may come from postgresql.conf, ALTER SYSTEM or a superuser's SET,
 * never from ALTER ROLE/DATABASE ... SET: every user can read those values
 * in pg_db_role_setting. (Validating such a command is PGC_S_TEST.)
 */
static bool
check_secret(char **newval, void **extra pg_attribute_unused(), GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (source == PGC_S_TEST || source == PGC_S_GLOBAL || source == PGC_S_DATABASE ||
		source == PGC_S_USER || source == PGC_S_DATABASE_USER)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("mono_pay's secrets cannot be set per role or per database");
		GUC_check_errdetail("Every user can read such settings in pg_db_role_setting.");
		GUC_check_errhint("Set it in postgresql.conf or with ALTER SYSTEM, and reload.");
		return false;
	}
	return true;
}

/* Accept the forms of mono_pay.standby_names (common_quorum.c). */
static bool
check_standby_names(char **newval, void **extra pg_attribute_unused(),
					GucSource source pg_attribute_unused())
{
	MonoQuorum q;
	const char *err = NULL;

	if (mono_quorum_parse(*newval, &q, &err))
		return true;
	GUC_check_errdetail("mono_pay.standby_names: %s.", err);
	GUC_check_errhint("Use s1, s2 (at least one), FIRST 2 (s1, s2, s3) or ANY 2 (s1, s2, s3), as in synchronous_standby_names.");
	return false;
}

/* A show hook for SHOW and current_setting(): whether a secret is set, never its value. */
#define SHOW_SECRET(var) \
	static const char * \
		show_##var(void) \
	{ \
		return (var && var[0]) ? "********" : ""; \
	}
SHOW_SECRET(mono_secret_key)
SHOW_SECRET(mono_webhook_secret)
SHOW_SECRET(mono_connect_secret_key)
SHOW_SECRET(mono_connect_webhook_secret)

typedef enum SettingType
{
	SETTING_BOOL,
	SETTING_INT,
	SETTING_STRING,
	SETTING_SECRET /* a string: superuser-only, hidden, shown masked */
} SettingType;

/* One setting: mono_pay.<name>. */
typedef struct MonoSetting
{
	const char *name;
	SettingType type;
	void *variable;
	const char *boot_string; /* default of a string */
	int boot_int;			 /* default of an int or bool */
	int min;
	int max;
	GucContext context;
	int flags;				  /* GUC_UNIT_MS, ... */
	GucStringCheckHook check; /* of a string */
	GucShowHook show;		  /* of a secret */
	const char *description;
	const char *detail;
} MonoSetting;

#define BOOL(n, v, d, c) .name = (n), .type = SETTING_BOOL, .variable = &(v), .boot_int = (d), .context = (c)
#define INT(n, v, d, lo, hi, c) .name = (n), .type = SETTING_INT, .variable = &(v), .boot_int = (d), .min = (lo), .max = (hi), .context = (c)
#define STRING(n, v, d, c) .name = (n), .type = SETTING_STRING, .variable = &(v), .boot_string = (d), .context = (c)
#define SECRET(n, v) .name = (n), .type = SETTING_SECRET, .variable = &(v), .boot_string = "", \
					 .context = PGC_SUSET, .check = check_secret, .show = show_##v

static const MonoSetting settings[] = {
	/* the API and the apps' secrets */
	{STRING("api_url", mono_api_url, "https://api.withmono.com", PGC_SUSET), .check = check_api_url,
	 .description = "Base URL of Mono's API.",
	 .detail = "Only a superuser may change it: the secret key is sent there."},
	{SECRET("secret_key", mono_secret_key),
	 .description = "Mono secret key sent as mono-sec-key."},
	{SECRET("webhook_secret", mono_webhook_secret),
	 .description = "Shared secret Mono sends in the mono-webhook-secret header."},
	{SECRET("connect_secret_key", mono_connect_secret_key),
	 .description = "Secret key of Mono's connect app, sent as mono-sec-key on /v2 calls.",
	 .detail = "Empty: mono_pay.secret_key is used."},
	{SECRET("connect_webhook_secret", mono_connect_webhook_secret),
	 .description = "Webhook secret of Mono's connect app: verifies mono.* events.",
	 .detail = "Empty: mono_pay.webhook_secret verifies them."},
	{STRING("database_name", mono_database_name, "postgres", PGC_POSTMASTER),
	 .description = "Database the background worker connects to."},
	{STRING("ca_bundle", mono_ca_bundle, "", PGC_SUSET),
	 .description = "File of CA certificates used to verify Mono's TLS certificate (empty: the system's)."},
	/* the worker */
	{BOOL("enabled", mono_enabled, true, PGC_SIGHUP),
	 .description = "Whether the background worker sends queued work."},
	{INT("max_in_flight", mono_max_in_flight, 64, 1, 1024, PGC_SIGHUP),
	 .description = "Maximum concurrent requests of each worker process."},
	{INT("poll_interval", mono_poll_interval, 1000, 10, 3600000, PGC_SIGHUP), .flags = GUC_UNIT_MS,
	 .description = "Time between the worker's sweeps for due work."},
	{INT("request_timeout", mono_request_timeout, 30000, 1, 3600000, PGC_USERSET), .flags = GUC_UNIT_MS,
	 .description = "Time allowed for a whole request to Mono."},
	{INT("max_attempts", mono_max_attempts, 10, 1, 1000, PGC_SIGHUP),
	 .description = "Attempts before a retryable failure becomes final."},
	{INT("retry_base", mono_retry_base, 1000, 1, 3600000, PGC_SIGHUP), .flags = GUC_UNIT_MS,
	 .description = "First retry delay; doubles on each attempt."},
	{INT("retry_max", mono_retry_max, 300000, 1, 86400000, PGC_SIGHUP), .flags = GUC_UNIT_MS,
	 .description = "Longest retry delay."},
	/* polling, schedules, the log of calls */
	{INT("webhook_max_size", mono_webhook_max_size, 262144, 1024, 16777216, PGC_SUSET),
	 .flags = GUC_UNIT_BYTE,
	 .description = "Largest webhook body mono_handle_webhook accepts."},
	{INT("poll_base", mono_poll_base, 60000, 10, 86400000, PGC_SIGHUP), .flags = GUC_UNIT_MS,
	 .description = "First delay before reading back a request that waits on Mono; doubles with each read."},
	{INT("poll_max", mono_poll_max, 21600000, 10, 604800000, PGC_SIGHUP), .flags = GUC_UNIT_MS,
	 .description = "Longest delay between two reads of the same request."},
	{STRING("schedule_grace", mono_schedule_grace, "5 days", PGC_SIGHUP), .check = check_interval,
	 .description = "How long after its due date an instalment of an approved plan, with no payment reported, becomes missed (Mono reports a failed debit only after its retries: days)."},
	{BOOL("http_log", mono_http_log, false, PGC_SIGHUP),
	 .description = "Whether the worker writes one row per API call to mono.http_log.",
	 .detail = "Method, path, status, duration and error; never headers or bodies."},
	{STRING("http_log_retention", mono_http_log_retention, "7 days", PGC_SIGHUP), .check = check_interval,
	 .description = "How long rows of mono.http_log are kept."},
	{STRING("approval_window", mono_approval_window, "48 hours", PGC_SIGHUP), .check = check_interval,
	 .description = "How long a fund request may await the customer's authorisation before it expires."},
	/* Connect */
	{INT("account_refresh_interval", mono_account_refresh_interval, 3600, 1, 30 * 86400, PGC_SIGHUP),
	 .flags = GUC_UNIT_S,
	 .description = "Time between the worker's checks of each tracked Connect account.",
	 .detail = "Each check reads the account's details and, when its data may be read, "
			   "starts a real-time refresh; refreshes of one account are never closer "
			   "than 5 minutes (Mono's limit), whatever this is set to."},
	{BOOL("track_webhook_accounts", mono_track_webhook_accounts, false, PGC_SUSET),
	 .description = "Whether a Connect webhook naming an unknown account starts tracking it.",
	 .detail = "Tracking reads the account every mono_pay.account_refresh_interval and "
			   "starts real-time refreshes, which Mono bills when they find new data. "
			   "Off: the account is recorded, untracked, until mono_account_sync() is called."},
	/* high availability */
	{STRING("standby_names", mono_standby_names, "", PGC_SIGHUP), .check = check_standby_names,
	 .description = "Standbys that must have flushed a claim before the worker sends it: s1, s2 (at least one), FIRST n (...) or ANY n (...).",
	 .detail = "Empty: a single node, nothing waits."},
};

/* Register one setting of the table. */
static void
define_setting(const MonoSetting *s)
{
	char *name = psprintf("mono_pay.%s", s->name);

	switch (s->type)
	{
		case SETTING_BOOL:
			DefineCustomBoolVariable(name, s->description, s->detail, (bool *) s->variable,
									 s->boot_int != 0, s->context, s->flags, NULL, NULL, NULL);
			break;
		case SETTING_INT:
			DefineCustomIntVariable(name, s->description, s->detail, (int *) s->variable,
									s->boot_int, s->min, s->max, s->context, s->flags,
									NULL, NULL, NULL);
			break;
		case SETTING_STRING:
			DefineCustomStringVariable(name, s->description, s->detail, (char **) s->variable,
									   s->boot_string, s->context, s->flags, s->check,
									   NULL, NULL);
			break;
		case SETTING_SECRET:
			DefineCustomStringVariable(name, s->description, s->detail, (char **) s->variable,
									   s->boot_string, s->context,
									   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
									   s->check, NULL, s->show);
			break;
	}
}

/* Which of our secrets (set and non-empty) does the text hold the value of (-1: none)? */
static int
holds_secret_value(const char *text)
{
	int i;

	for (i = 0; text != NULL && i < (int) lengthof(settings); i++)
	{
		const char *value = *(char **) settings[i].variable;

		if (settings[i].type == SETTING_SECRET && value != NULL && value[0] != '\0' &&
			strstr(text, value) != NULL)
			return i;
	}
	return -1;
}

/*
 * Which of our secrets does a message about a parameter's value (known by
 * its untranslated id: a parameter and a second %s, the value) name,
 * whatever quotes the translation puts around the name (-1: none)? A
 * message without a value ("permission denied to set parameter") stays.
 */
static int
names_secret(ErrorData *edata)
{
	const char *first;
	int i;

	if (edata->message_id == NULL || strstr(edata->message_id, "parameter \"%s\"") == NULL ||
		(first = strstr(edata->message_id, "%s")) == NULL || strstr(first + 2, "%s") == NULL)
		return -1;
	for (i = 0; edata->message && i < (int) lengthof(settings); i++)
	{
		char *name = psprintf("mono_pay.%s", settings[i].name);
		const char *at = strstr(edata->message, name);
		bool hit = settings[i].type == SETTING_SECRET && at != NULL &&
			!(isalnum((unsigned char) at[strlen(name)]) || at[strlen(name)] == '_');

		pfree(name);
		if (hit)
			return i;
	}
	return -1;
}

/*
 * Should the statement of this message stay out of the log (issue 23)? It
 * should when its text calls a function that takes a BVN or a webhook
 * secret (by name, in any case), or holds a secret's value: an error raised
 * outside the function in the same statement (a statement_timeout after it
 * returned) is logged with the statement, without the function's own
 * log_min_error_statement.
 */
static bool
statement_is_sensitive(ErrorData *edata)
{
	static const char *const names[] = {"mono_link_beneficiary", "mono_handle_webhook"};
	int i;

	if (debug_query_string == NULL || edata->hide_stmt || edata->elevel < log_min_error_statement)
		return false;
	for (i = 0; i < (int) lengthof(names); i++)
		if (strcasestr(debug_query_string, names[i]) != NULL)
			return true;
	return holds_secret_value(debug_query_string) >= 0;
}

/*
 * PostgreSQL logs 'parameter "x" changed to "value"' when a reload changes a
 * setting, secrets included, and quotes a refused value, in the language
 * of lc_messages. A message that holds a secret's value (whatever its
 * wording) or that is about a secret parameter (by its untranslated id) is
 * replaced before it is written (issue 23: not by its English wording).
 */
static void
hide_secrets(ErrorData *edata)
{
	int i = holds_secret_value(edata->message);

	if (i < 0)
		i = holds_secret_value(edata->detail);
	if (i < 0)
		i = holds_secret_value(edata->context);
	if (i < 0)
		i = names_secret(edata);
	if (statement_is_sensitive(edata))
		edata->hide_stmt = true;
	if (i >= 0)
	{
		edata->message = psprintf("parameter \"mono_pay.%s\": value hidden by mono_pay", settings[i].name);
		edata->detail = NULL;
		edata->context = NULL;
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/* Register every setting, reserve the prefix, and hide the secrets from the log. */
void
mono_settings_init(void)
{
	int i;

	for (i = 0; i < (int) lengthof(settings); i++)
		define_setting(&settings[i]);
	MarkGUCPrefixReserved("mono_pay");
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = hide_secrets;
}
