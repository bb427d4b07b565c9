/*
 * owo_validate.c
 *		Argument checks and normalisation. Each check raises SQLSTATE 22023
 *		with the bad value in errmsg and the rule in errhint, before anything
 *		is written or sent.
 */
#include "owo.h"

#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "pgtime.h"
#include "utils/datetime.h"

/* Does the string consist of exactly len ASCII digits? */
static bool
all_digits(const char *s, int len)
{
	int i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return s[len] == '\0';
}

#define shown(v) mono_shown(v)

/*
 * Normalise a Nigerian phone number to 234 followed by ten digits.
 * Accepts 2348012345678, +2348012345678 and 08012345678; spaces and
 * dashes between digits are dropped.
 */
char *
mono_normalize_phone(const char *phone)
{
	char digits[32];
	int n = 0;
	const char *p;

	if (phone == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("phone must not be null"),
				 errhint("Pass a Nigerian mobile number such as 2348012345678.")));
	for (p = phone; *p; p++)
	{
		if (*p == '+' && p == phone)
			continue;
		if ((*p == ' ' || *p == '-') && n > 0)
			continue;
		if (*p < '0' || *p > '9' || n >= (int) sizeof(digits) - 1)
			goto bad;
		digits[n++] = *p;
	}
	digits[n] = '\0';
	if (n == 11 && digits[0] == '0')
		return psprintf("234%s", digits + 1);
	if (n == 13 && strncmp(digits, "234", 3) == 0)
		return pstrdup(digits);
bad:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid phone number \"%s\"", shown(phone)),
			 errdetail("A phone is 234 followed by 10 digits."),
			 errhint("Use the forms 2348012345678, +2348012345678 or 08012345678.")));
	return NULL; /* not reached */
}

/* A reference is 8 to 32 ASCII letters or digits. */
void
mono_check_reference(const char *reference)
{
	size_t len = strlen(reference);
	size_t i;
	bool ok = len >= 8 && len <= 32;

	for (i = 0; ok && i < len; i++)
		ok = (reference[i] >= 'a' && reference[i] <= 'z') ||
			(reference[i] >= 'A' && reference[i] <= 'Z') ||
			(reference[i] >= '0' && reference[i] <= '9');
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid reference \"%s\"", shown(reference)),
				 errdetail("Mono accepts references of 8 to 32 letters or digits."),
				 errhint("Pass a reference matching ^[A-Za-z0-9]{8,32}$, or NULL to have one generated.")));
}

/* Amounts are kobo and strictly positive. */
void
mono_check_amount(int64 amount)
{
	if (amount <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid amount " INT64_FORMAT, amount),
				 errdetail("Amounts are in kobo and must be greater than zero."),
				 errhint("Pass the amount in kobo, e.g. 150000 for NGN 1,500.00.")));
}

/* The longest description Mono shows in WhatsApp, in characters. */
#define MONO_DESCRIPTION_MAX 255

/* The description is shown to the customer in WhatsApp: 1 to 255 characters that say something. */
void
mono_check_description(const char *description)
{
	int chars = pg_mbstrlen(description);

	if (chars > MONO_DESCRIPTION_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("description is too long (%d characters)", chars),
				 errdetail("Mono shows at most %d characters in WhatsApp.", MONO_DESCRIPTION_MAX),
				 errhint("Shorten the description to %d characters or fewer.", MONO_DESCRIPTION_MAX)));
	if (mono_is_blank(description))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("description must not be empty"),
				 errdetail("It has no visible character."),
				 errhint("Describe the charge: the customer reads it in WhatsApp.")));
}

/* A recurring period is day, week, month or year, with an interval of at least 1. */
void
mono_check_period(const char *period, int interval)
{
	if (strcmp(period, "day") != 0 && strcmp(period, "week") != 0 &&
		strcmp(period, "month") != 0 && strcmp(period, "year") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid period \"%s\"", shown(period)),
				 errhint("Use day, week, month or year, or NULL for a one-time charge.")));
	if (interval < 1 || interval > 10000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid interval %d", interval),
				 errhint("The interval counts periods between debits: 1 to 10000.")));
}

/* How far ahead a schedule may start or end: ten years of days. */
#define MONO_HORIZON_DAYS 3653

/* The start of the current UTC day (of the transaction's clock). */
static TimestampTz
utc_today(void)
{
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	return now - ((now % USECS_PER_DAY) + USECS_PER_DAY) % USECS_PER_DAY;
}

/*
 * The calendar day the caller meant (issue 22): a time at midnight in the
 * session's TimeZone (what '2027-01-01' becomes in Lagos) is kept as
 * midnight UTC of that day, and sent to Mono as the date alone; any other
 * time is kept as given.
 */
TimestampTz
mono_calendar_day(TimestampTz t)
{
	struct pg_tm tm;
	fsec_t fsec;
	int tz;

	if (TIMESTAMP_NOT_FINITE(t) || timestamp2tm(t, &tz, &tm, &fsec, NULL, NULL) != 0)
		return t;
	if (tm.tm_hour != 0 || tm.tm_min != 0 || tm.tm_sec != 0 || fsec != 0)
		return t;
	return (TimestampTz) (date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
}

/*
 * A recurring request needs a start date from today (UTC) on, and an
 * optional end date after it; neither more than ten years ahead. A start
 * in the past would make every instalment since then due at once.
 */
void
mono_check_dates(TimestampTz start, bool start_null, TimestampTz end, bool end_null)
{
	TimestampTz today = utc_today();
	TimestampTz horizon = today + (TimestampTz) MONO_HORIZON_DAYS * USECS_PER_DAY;

	if (start_null)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_date must not be null for a recurring charge"),
				 errhint("Pass start_date, the time of the first debit.")));
	if (TIMESTAMP_NOT_FINITE(start) || start < today || start >= horizon)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid start_date \"%s\"", timestamptz_to_str(start)),
				 errdetail("The first debit must fall between the start of today (UTC) and ten years from now."),
				 errhint("Pass a start_date from the start of today (UTC) on.")));
	if (!end_null && (TIMESTAMP_NOT_FINITE(end) || end <= start || end >= horizon))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid end_date \"%s\"", timestamptz_to_str(end)),
				 errdetail("end_date must be after start_date \"%s\" and within ten years from now.",
						   timestamptz_to_str(start)),
				 errhint("Pass an end_date after start_date, or NULL for no end.")));
}

/* Mono Direct Charge collects naira only. */
void
mono_check_currency(const char *currency)
{
	if (strcmp(currency, "NGN") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid currency \"%s\"", shown(currency)),
				 errhint("Mono Direct Charge collects NGN only.")));
}

/*
 * A value of exactly len digits (BVN, NIP code, NUBAN). A BVN is never
 * quoted: an error message reaches logs and clients.
 */
void
mono_check_digits(const char *what, const char *value, int len, const char *hint)
{
	bool secret = strcmp(what, "bvn") == 0;

	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", what),
				 errhint("%s", hint)));
	if (strlen(value) != (size_t) len || !all_digits(value, len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 secret ? errmsg("invalid %s", what) :
						  errmsg("invalid %s \"%s\"", what, shown(value)),
				 errdetail("The %s must be exactly %d digits.", what, len),
				 errhint("%s", hint)));
}

/* An account name is 2 to 100 characters. */
void
mono_check_account_name(const char *name)
{
	int chars;

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("account_name must not be null"),
				 errhint("Pass the name of the destination account (where the money is paid, e.g. the customer's wallet on your platform), 2 to 100 characters.")));
	chars = pg_mbstrlen(name);
	if (chars < 2 || chars > 100 || mono_is_blank(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid account_name \"%s\"", shown(name)),
				 errdetail_plural("The name has %d character.", "The name has %d characters.",
								  chars, chars),
				 errhint("Pass the name of the destination account (where the money is paid, e.g. the customer's wallet on your platform), 2 to 100 characters.")));
}

/*
 * A fresh reference: "mp" and 22 random alphanumerics from a strong source
 * (about 131 bits), so it is unique without a round trip.
 */
char *
mono_generate_reference(void)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[22];
	char *ref = palloc(25);
	int i;

	if (!pg_strong_random(raw, sizeof(raw)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random reference")));
	ref[0] = 'm';
	ref[1] = 'p';
	for (i = 0; i < 22; i++)
		ref[i + 2] = alphabet[raw[i] % 62];
	ref[24] = '\0';
	return ref;
}

PG_FUNCTION_INFO_V1(mono_is_phone);
PG_FUNCTION_INFO_V1(mono_is_reference);

/* mono.is_phone(text): 234 followed by ten digits (the domain mono.phone). */
Datum
mono_is_phone(PG_FUNCTION_ARGS)
{
	text *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	int len = VARSIZE_ANY_EXHDR(t);
	int i;

	if (len != 13 || strncmp(s, "234", 3) != 0)
		PG_RETURN_BOOL(false);
	for (i = 3; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(true);
}

/* mono.is_reference(text): 8 to 32 ASCII letters or digits (the domain mono.reference). */
Datum
mono_is_reference(PG_FUNCTION_ARGS)
{
	text *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	int len = VARSIZE_ANY_EXHDR(t);
	int i;

	if (len < 8 || len > 32)
		PG_RETURN_BOOL(false);
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			  (s[i] >= '0' && s[i] <= '9')))
			PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(true);
}
