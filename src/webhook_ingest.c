/*
 * webhook_ingest.c
 *		mono_handle_webhook(body, secret): the entry point an application's
 *		webhook endpoint calls with the raw body and the mono-webhook-secret
 *		header. Verifies the secret in constant time (the secret of the
 *		event's app: mono_webhook_secret_for()), checks the body, and hands
 *		it to mono.ingest_webhook() (store once, raw and parsed, apply via
 *		the state machine). Anything wrong raises an error and stores
 *		nothing.
 */
#include "webhook.h"

#include "access/xact.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "common/sha2.h"
#include "catalog/pg_type.h"
#include "utils/guc.h"

/* PostgreSQL 16 made the parser callbacks return an error code; 17 changed the lexer's constructor. */
#if PG_VERSION_NUM >= 160000
#define JSON_ACTION_RESULT JsonParseErrorType
#define JSON_ACTION_RETURN return JSON_SUCCESS
#else
#define JSON_ACTION_RESULT void
#define JSON_ACTION_RETURN return
#endif
#if PG_VERSION_NUM >= 170000
#define MONO_JSON_LEX(s, n) makeJsonLexContextCstringLen(NULL, (s), (n), GetDatabaseEncoding(), true)
#else
#define MONO_JSON_LEX(s, n) makeJsonLexContextCstringLen((s), (n), GetDatabaseEncoding(), true)
#endif

PG_FUNCTION_INFO_V1(mono_handle_webhook);

/* Compare two strings in time that depends only on their lengths. */
static bool
secrets_equal(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);
	size_t i;
	unsigned char diff = (la != lb);

	for (i = 0; i < la; i++)
		diff |= (unsigned char) a[i] ^ (unsigned char) b[i % (lb ? lb : 1)];
	return diff == 0;
}

/* Lower-case hex of n bytes, after a prefix (palloc'd). */
static char *
hex_with_prefix(const char *prefix, const uint8 *bytes, int n)
{
	size_t plen = strlen(prefix);
	char *out = palloc(plen + 2 * n + 1);
	int i;

	memcpy(out, prefix, plen);
	for (i = 0; i < n; i++)
		sprintf(out + plen + 2 * i, "%02x", bytes[i]);
	return out;
}

/*
 * "sha256:<hex>" of a byte string (palloc'd): the identity of an event
 * without event_id. PostgreSQL's cryptohash API needs a resource owner
 * (with OpenSSL): this runs only inside mono_handle_webhook(), a function
 * called in a transaction, never from a process without one.
 */
static char *
sha256_hex(const char *data, size_t len)
{
	uint8 digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *ctx;

	Assert(IsTransactionState());
	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute a SHA-256 digest");
	pg_cryptohash_free(ctx);
	return hex_with_prefix("sha256:", digest, PG_SHA256_DIGEST_LENGTH);
}

/*
 * "hmac-sha256:<hex>" of the body keyed with the secret (palloc'd), as
 * the receiver (mono_pay_receiver) or an application computes it from the
 * mono-webhook-secret header. In a transaction only, like sha256_hex().
 */
static char *
hmac_sha256_hex(const char *key, const char *body, size_t len)
{
	uint8 mac[PG_SHA256_DIGEST_LENGTH];
	pg_hmac_ctx *ctx;

	Assert(IsTransactionState());
	ctx = pg_hmac_create(PG_SHA256);
	if (ctx == NULL)
		elog(ERROR, "out of memory computing an HMAC");
	if (pg_hmac_init(ctx, (const uint8 *) key, strlen(key)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) body, len) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
		elog(ERROR, "could not compute an HMAC-SHA256");
	pg_hmac_free(ctx);
	return hex_with_prefix(MONO_HMAC_PREFIX, mac, PG_SHA256_DIGEST_LENGTH);
}

/*
 * Which secret verifies an event, the one place this is decided: Connect's
 * mono.* events are the connect app's, verified by
 * mono_pay.connect_webhook_secret, or by mono_pay.webhook_secret when that
 * is empty; every other event (owo.*) is the payments app's, verified by
 * mono_pay.webhook_secret. Returns the configured value ("" when unset)
 * and, in *setting, the name of the setting it came from.
 */
const char *
mono_webhook_secret_for(const char *event, const char **setting)
{
	if (event != NULL && strncmp(event, "mono.", 5) == 0 &&
		mono_connect_webhook_secret != NULL && mono_connect_webhook_secret[0] != '\0')
	{
		*setting = "mono_pay.connect_webhook_secret";
		return mono_connect_webhook_secret;
	}
	*setting = "mono_pay.webhook_secret";
	return mono_webhook_secret ? mono_webhook_secret : "";
}

/*
 * Does the caller's value match the configured secret? Either
 * "hmac-sha256:<hex>" (HMAC-SHA256 of this very body, keyed with the
 * header's value: bound to one body, so a log that shows it forges
 * nothing), or the header's value itself. The bare "sha256:<hex>" digest
 * of 0.2.0 is no longer a form: it is compared as a plain value, and fails.
 */
static bool
secret_matches(const char *secret, const char *configured, const char *body, size_t len)
{
	if (secret == NULL || configured[0] == '\0')
		return false;
	if (strncmp(secret, MONO_HMAC_PREFIX, strlen(MONO_HMAC_PREFIX)) == 0)
	{
		char *given = pstrdup(secret);
		char *c;

		if (body == NULL)
			return false;
		for (c = given; *c; c++)
			*c = pg_ascii_tolower((unsigned char) *c);
		return secrets_equal(given, hmac_sha256_hex(configured, body, len));
	}
	return secrets_equal(secret, configured);
}

/*
 * Does the mono-webhook-secret value match? With the event known, against
 * its own app's secret (mono_webhook_secret_for); before the body is read
 * (event NULL), against either app's, both compared whatever the first
 * says, so that the time tells nothing. The value may be the header's, or
 * "hmac-sha256:<hex>" of the body keyed with it. A wrong or missing secret
 * is a result, not an error.
 */
MonoSecretCheck
mono_webhook_check_secret(const char *given, const char *event, const char *body, size_t len)
{
	const char *setting;
	const char *configured = mono_webhook_secret_for(event, &setting);
	const char *connect = mono_connect_webhook_secret ? mono_connect_webhook_secret : "";
	bool a,
		b;

	if (event != NULL)
	{
		if (configured[0] == '\0')
			return MONO_SECRET_UNSET;
		return secret_matches(given, configured, body, len) ? MONO_SECRET_MATCH : MONO_SECRET_MISMATCH;
	}
	a = secret_matches(given, configured, body, len);
	b = secret_matches(given, connect, body, len);
	if (a || b)
		return MONO_SECRET_MATCH;
	/* no match: say so, unless the payments app's secret is not even set */
	return configured[0] == '\0' ? MONO_SECRET_UNSET : MONO_SECRET_MISMATCH;
}

/* The 28000 error of a secret that verifies nothing (it never shows a secret). */
static void
refuse_secret(const char *setting)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("invalid webhook secret"),
			 errdetail("The mono-webhook-secret header does not match %s.", setting),
			 errhint("Pass 'hmac-sha256:' and the hex HMAC-SHA256 of the raw body keyed with the header's value (or the header's value itself; a bare 'sha256:' digest is no longer accepted); answer Mono with 401 when this error occurs.")));
}

/*
 * Before the body is parsed: reject the call unless the secret matches
 * one of the configured webhook secrets (55000 when it matches none and
 * mono_pay.webhook_secret is empty, as with one secret). The caller may
 * pass the header's value, or "hmac-sha256:<hex>" of the body keyed with
 * it: then neither the secret nor anything replayable for another body
 * enters SQL text, logs or pg_stat_activity.
 */
static void
verify_any_secret(const char *secret, const char *body, size_t len)
{
	MonoSecretCheck check = mono_webhook_check_secret(secret, NULL, body, len);
	bool connect = mono_connect_webhook_secret != NULL && mono_connect_webhook_secret[0] != '\0';

	if (check == MONO_SECRET_UNSET)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mono_pay.webhook_secret is not set"),
				 errhint("A superuser sets it to the webhook secret of Mono's dashboard, in postgresql.conf, and reloads.")));
	if (check != MONO_SECRET_MATCH)
		refuse_secret(connect ? "mono_pay.webhook_secret or mono_pay.connect_webhook_secret" :
								"mono_pay.webhook_secret");
}

/* Once the event is known: reject the call unless its own app's secret matches. */
static void
verify_event_secret(const char *event, const char *secret, const char *body, size_t len)
{
	const char *setting;
	MonoSecretCheck check = mono_webhook_check_secret(secret, event, body, len);

	(void) mono_webhook_secret_for(event, &setting);
	if (check == MONO_SECRET_UNSET)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s is not set", setting),
				 errdetail("It verifies the event \"%s\".", mono_shown(event)),
				 errhint("A superuser sets it to the webhook secret of Mono's dashboard, in postgresql.conf, and reloads.")));
	if (check != MONO_SECRET_MATCH)
		refuse_secret(setting);
}

/* What read_event gathers while PostgreSQL's JSON parser walks the body. */
typedef struct EventScan
{
	int depth;		   /* object/array nesting of the parser */
	int objects;	   /* objects opened so far: each one's number */
	int stack[64];	   /* number of the object open at each depth */
	const char *field; /* the top-level key being read, or NULL */
	char *event;
	char *event_id;
	char **keys; /* "<object number>:<key>" of every member */
	int nkeys;
	int maxkeys;
} EventScan;

/* Parser callback: an object opens. */
static JSON_ACTION_RESULT
scan_object_start(void *state)
{
	EventScan *sc = state;

	sc->depth++;
	sc->objects++;
	if (sc->depth < (int) lengthof(sc->stack))
		sc->stack[sc->depth] = sc->objects;
	JSON_ACTION_RETURN;
}

/* Parser callback: an object or array closes. */
static JSON_ACTION_RESULT
scan_close(void *state)
{
	((EventScan *) state)->depth--;
	JSON_ACTION_RETURN;
}

/* Parser callback: an array opens. */
static JSON_ACTION_RESULT
scan_array_start(void *state)
{
	EventScan *sc = state;

	sc->depth++;
	if (sc->depth < (int) lengthof(sc->stack))
		sc->stack[sc->depth] = 0;
	JSON_ACTION_RETURN;
}

/* Parser callback: a member's key; remembered to find keys given twice. */
static JSON_ACTION_RESULT
scan_field(void *state, char *fname, bool isnull pg_attribute_unused())
{
	EventScan *sc = state;
	int obj = sc->depth < (int) lengthof(sc->stack) ? sc->stack[sc->depth] : -1;

	if (sc->nkeys == sc->maxkeys)
	{
		sc->maxkeys = Max(16, sc->maxkeys * 2);
		sc->keys = sc->keys ? repalloc(sc->keys, sizeof(char *) * sc->maxkeys) :
							  palloc(sizeof(char *) * sc->maxkeys);
	}
	sc->keys[sc->nkeys++] = psprintf("%d:%s", obj, fname);
	sc->field = sc->depth == 1 ? fname : NULL;
	JSON_ACTION_RETURN;
}

/* Parser callback: a scalar; keeps the top-level "event" and "event_id" strings. */
static JSON_ACTION_RESULT
scan_scalar(void *state, char *token, JsonTokenType type)
{
	EventScan *sc = state;

	if (sc->depth == 1 && sc->field != NULL && type == JSON_TOKEN_STRING)
	{
		if (strcmp(sc->field, "event") == 0)
			sc->event = token;
		else if (strcmp(sc->field, "event_id") == 0)
			sc->event_id = token;
	}
	JSON_ACTION_RETURN;
}

/* qsort comparator of C strings. */
static int
compare_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The first key given twice in one object (sorts the keys), or NULL. */
static char *
repeated_key(char **keys, int n)
{
	int i;

	if (n < 2)
		return NULL;
	qsort(keys, n, sizeof(char *), compare_keys);
	for (i = 1; i < n; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			return strchr(keys[i], ':') + 1;
	return NULL;
}

/* Refuse a body PostgreSQL's JSON parser rejects, or one that repeats a key. */
static void
refuse_body(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("webhook body is not valid JSON"),
			 errdetail("%s", detail),
			 errhint("Pass the raw request body unchanged.")));
}

/*
 * Parse and check the body with PostgreSQL's own JSON parser (the one
 * jsonb uses: numbers of any size are valid): an object with a string
 * "event", no key twice in one object.
 */
static void
read_event(char *body, size_t len, char **event, char **event_id)
{
	EventScan sc;
	JsonSemAction sem;
	JsonParseErrorType rc;
	JsonLexContext *lex;
	char *twice;

	memset(&sc, 0, sizeof(sc));
	memset(&sem, 0, sizeof(sem));
	sem.semstate = &sc;
	sem.object_start = scan_object_start;
	sem.object_end = scan_close;
	sem.array_start = scan_array_start;
	sem.array_end = scan_close;
	sem.object_field_start = scan_field;
	sem.scalar = scan_scalar;
	lex = MONO_JSON_LEX(body, len);
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
		refuse_body(json_errdetail(rc, lex));
	if ((twice = repeated_key(sc.keys, sc.nkeys)) != NULL)
		refuse_body(psprintf("The key \"%s\" appears twice in one object.", mono_shown(twice)));
	*event = sc.event;
	*event_id = sc.event_id && sc.event_id[0] ? sc.event_id : NULL;
	if (*event == NULL || (*event)[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("webhook body has no \"event\""),
				 errhint("Mono's webhooks carry {\"event\": ..., \"data\": ...}; pass the raw body unchanged.")));
}

/* The call that stores and applies an event: the body parsed (jsonb) and exactly as received. */
static MonoStatement ingest = {
	"store and apply a webhook",
	"SELECT mono.ingest_webhook($1, $2, $3::jsonb, $4)",
	4,
	{TEXTOID, TEXTOID, TEXTOID, TEXTOID}};

/*
 * Check a webhook body (raises 22P02 or 22023 as mono_handle_webhook does)
 * and find its event and event_id; a body without an event_id is known by
 * the SHA-256 of its bytes.
 */
void
mono_webhook_read_event(char *body, size_t len, char **event, char **event_id)
{
	read_event(body, len, event, event_id);
	if (*event_id == NULL)
		*event_id = sha256_hex(body, len);
}

/*
 * Store and apply a checked event through mono.ingest_webhook() (SPI, in the
 * caller's transaction). Returns 'applied', 'duplicate' or 'ignored'.
 */
Datum
mono_webhook_ingest(const char *event_id, const char *event, const char *body)
{
	Datum args[4];
	bool isnull;
	Datum result;

	SPI_connect();
	args[0] = CStringGetTextDatum(event_id);
	args[1] = CStringGetTextDatum(event);
	args[2] = CStringGetTextDatum(body);
	args[3] = args[2]; /* the raw body: the same text, stored as it came */
	if (mono_spi_run(&ingest, args, NULL, 1) != 1)
		elog(ERROR, "mono.ingest_webhook() returned no row");
	result = mono_spi_value(0, 1, &isnull);
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	return result;
}

/*
 * mono_handle_webhook(body text, secret text) -> text
 * Returns 'applied', 'duplicate' or 'ignored'.
 */
Datum
mono_handle_webhook(PG_FUNCTION_ARGS)
{
	char *secret = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	text *body_text = PG_ARGISNULL(0) ? NULL : PG_GETARG_TEXT_PP(0);
	char *body;
	size_t len = body_text ? VARSIZE_ANY_EXHDR(body_text) : 0;
	char *event;
	char *event_id;

	mono_require_sql_version("mono_handle_webhook()");
	verify_any_secret(secret, body_text ? VARDATA_ANY(body_text) : NULL, len);
	mono_require_writable("mono_handle_webhook()");
	if (body_text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("webhook body must not be null")));
	if (len > (size_t) mono_webhook_max_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("webhook body of %zu bytes is larger than mono_pay.webhook_max_size (%d bytes)",
						len, mono_webhook_max_size),
				 errhint("Raise mono_pay.webhook_max_size if Mono's events really are this large.")));
	body = text_to_cstring(body_text);
	mono_webhook_read_event(body, len, &event, &event_id);
	verify_event_secret(event, secret, body, len);
	PG_RETURN_DATUM(mono_webhook_ingest(event_id, event, body));
}

PG_FUNCTION_INFO_V1(mono_receiver_status);

/*
 * mono_receiver_status(): 0.2.0's in-server receiver's status. The receiver
 * is the program mono_pay_receiver since 0.3.0 and the upgrade drops this
 * function; the symbol stays so that the 0.1.0 and 0.2.0 scripts (which
 * create it) still run on the way to 0.3.0. Called before the update: a
 * clear error.
 */
Datum
mono_receiver_status(PG_FUNCTION_ARGS pg_attribute_unused())
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("mono_receiver_status() was removed in mono_pay 0.3.0"),
			 errdetail("The webhook receiver is the program mono_pay_receiver; its counters are on its /metrics page."),
			 errhint("Run ALTER EXTENSION mono_pay UPDATE to drop this function.")));
	PG_RETURN_NULL();
}
