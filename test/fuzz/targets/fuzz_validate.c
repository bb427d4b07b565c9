/*
 * fuzz_validate.c
 *		The argument checks of owo_validate.c and owo_enqueue.c's
 *		mono_validate_charge(), with the SQL domain checks mono.is_phone()
 *		and mono.is_reference() as the oracle they must agree with.
 *
 * Input: 1 selector byte, 8 bytes of number (amount or interval), 1 flag
 * byte, then NUL-separated strings (a text argument can hold no NUL).
 * Strings reach the checks as any bytes, except where PostgreSQL
 * guarantees valid UTF-8 (pg_mbstrlen() in mono_check_account_name).
 *
 * Checked: a check either returns or raises 22023 with the value's error;
 * a normalised phone is 234 and 10 digits, passes mono.is_phone() and
 * normalises to itself; mono_check_reference() accepts exactly what
 * mono.is_reference() accepts; mono_check_digits() accepts exactly len
 * ASCII digits; generated references pass both reference checks.
 */
#include "fuzz_shim.h"
#include "fuzz_input.h"

#include "owo.h"

#include "mb/pg_wchar.h"

extern Datum mono_is_phone(PG_FUNCTION_ARGS);
extern Datum mono_is_reference(PG_FUNCTION_ARGS);

/* Call a one-argument SQL function of text that returns boolean. */
static bool
sql_bool(PGFunction f, const char *arg)
{
	LOCAL_FCINFO(fcinfo, 1);

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].isnull = false;
	fcinfo->args[0].value = PointerGetDatum(cstring_to_text(arg));
	return DatumGetBool(f(fcinfo));
}

/* After a failed check: the error is 22023 and says something. */
static void
expect_22023(const char *what)
{
	FUZZ_ASSERT(fuzz_last_error.sqlerrcode == ERRCODE_INVALID_PARAMETER_VALUE,
				"%s raised \"%s\" with another SQLSTATE", what, fuzz_last_error.message);
	FUZZ_ASSERT(fuzz_last_error.message[0] != '\0', "%s raised an empty message", what);
	FUZZ_ASSERT(fuzz_last_error.hint != NULL, "%s raised \"%s\" without a hint",
				what, fuzz_last_error.message);
}

static bool
only_digits(const char *s, size_t n)
{
	size_t		i;

	if (strlen(s) != n)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void
check_phone(const char *s)
{
	char	   *volatile phone = NULL;
	char	   *volatile again = NULL;

	if (!FUZZ_CALL(phone = mono_normalize_phone(s)))
	{
		expect_22023("mono_normalize_phone");
		return;
	}
	FUZZ_ASSERT(strlen(phone) == 13 && strncmp(phone, "234", 3) == 0 &&
				only_digits(phone, 13),
				"\"%s\" normalised to \"%s\"", s, phone);
	FUZZ_ASSERT(sql_bool(mono_is_phone, phone), "mono.is_phone refuses \"%s\"", phone);
	FUZZ_ASSERT(FUZZ_CALL(again = mono_normalize_phone(phone)) &&
				strcmp(again, phone) == 0, "normalising \"%s\" again changes it", phone);
}

static void
check_reference(const char *s)
{
	bool		ok = FUZZ_CALL(mono_check_reference(s));

	if (!ok)
		expect_22023("mono_check_reference");
	FUZZ_ASSERT(ok == sql_bool(mono_is_reference, s),
				"mono_check_reference and mono.is_reference disagree on \"%s\"", s);
}

static void
check_digits(const char *s, int which)
{
	static const int lens[] = {6, 10, 11};
	static const char *const names[] = {"nip_code", "account_number", "bvn"};
	int			len = lens[which % 3];
	bool		ok = FUZZ_CALL(mono_check_digits(names[which % 3], s, len, "a hint"));

	if (!ok)
		expect_22023("mono_check_digits");
	FUZZ_ASSERT(ok == only_digits(s, len), "mono_check_digits(%d) %s \"%s\"",
				len, ok ? "accepts" : "refuses", s);
}

static void
check_description(const char *s)
{
	bool		ok;
	bool		blank;
	bool		says;
	int			chars;

	/* text reaching a function is valid in the database encoding */
	if (!fuzz_valid_utf8(s, strlen(s)))
		return;
	ok = FUZZ_CALL(mono_check_description(s));
	blank = strspn(s, " \t\r\n") == strlen(s);
	says = strpbrk(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != NULL;
	chars = pg_mbstrlen(s);
	if (!ok)
		expect_22023("mono_check_description");
	/* ASCII blanks only: refused; a letter or digit in 255 characters or fewer: accepted */
	FUZZ_ASSERT(!(ok && blank) && !(!ok && says && chars <= 255) && !(ok && chars > 255),
				"mono_check_description %s \"%s\"", ok ? "accepts" : "refuses", s);
	/* the one blank rule: a blank value is refused, whatever else */
	FUZZ_ASSERT(!(ok && mono_is_blank(s)), "mono_check_description accepts a blank \"%s\"", s);
}

static void
check_account_name(const char *s)
{
	int			chars;
	bool		ok;

	if (!fuzz_valid_utf8(s, strlen(s)))
		return;
	ok = FUZZ_CALL(mono_check_account_name(s));
	if (!ok)
		expect_22023("mono_check_account_name");
	chars = pg_mbstrlen(s);
	/* the one blank rule decides what is blank */
	FUZZ_ASSERT(ok == (chars >= 2 && chars <= 100 && !mono_is_blank(s)),
				"mono_check_account_name %s %d characters",
				ok ? "accepts" : "refuses", chars);
}

/* mono_validate_charge on a charge whose text fields come from the input. */
static void
check_charge(FuzzInput *in, int64 number, int flags)
{
	MonoCharge	a;
	bool		ok;

	memset(&a, 0, sizeof(a));
	a.phone = fuzz_take_string(in);
	a.amount = number;
	a.description = fuzz_take_string(in);
	/* text reaching a function is valid in the database encoding */
	if (!fuzz_valid_utf8(a.description, strlen(a.description)))
		a.description = "x";
	a.reference = (flags & 1) ? NULL : fuzz_take_string(in);
	a.period = (flags & 2) ? fuzz_take_string(in) : NULL;
	a.interval = (int) (number >> 32);
	a.start_null = (flags & 4) != 0;
	a.start_date = (TimestampTz) fuzz_take_uint(in, 8);
	a.end_null = (flags & 8) != 0;
	a.end_date = (TimestampTz) fuzz_take_uint(in, 8);
	a.currency = (flags & 16) ? "NGN" : fuzz_take_string(in);
	ok = FUZZ_CALL(mono_validate_charge(&a));
	if (!ok)
	{
		expect_22023("mono_validate_charge");
		return;
	}
	FUZZ_ASSERT(sql_bool(mono_is_phone, a.phone), "a charge kept phone \"%s\"", a.phone);
	FUZZ_ASSERT(a.reference && sql_bool(mono_is_reference, a.reference),
				"a charge kept reference \"%s\"", a.reference ? a.reference : "(null)");
	FUZZ_ASSERT(a.amount > 0, "a charge kept amount " INT64_FORMAT, a.amount);
	FUZZ_ASSERT(strcmp(a.currency, "NGN") == 0, "a charge kept currency \"%s\"", a.currency);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size};
	int			which = (int) fuzz_take_uint(&in, 1);
	int64		number = (int64) fuzz_take_uint(&in, 8);
	int			flags = (int) fuzz_take_uint(&in, 1);
	char	   *s;
	bool		ok;

	switch (which % 10)
	{
		case 0:
			check_phone(fuzz_take_string(&in));
			break;
		case 1:
			check_reference(fuzz_take_string(&in));
			break;
		case 2:
			check_digits(fuzz_take_string(&in), flags);
			break;
		case 3:
			check_description(fuzz_take_string(&in));
			break;
		case 4:
			check_account_name(fuzz_take_string(&in));
			break;
		case 5:
			s = fuzz_take_string(&in);
			ok = FUZZ_CALL(mono_check_period(s, (int) number));
			FUZZ_ASSERT(ok == ((strcmp(s, "day") == 0 || strcmp(s, "week") == 0 ||
								strcmp(s, "month") == 0 || strcmp(s, "year") == 0) &&
							   (int) number >= 1 && (int) number <= 10000),
						"mono_check_period(\"%s\", %d) %s", s, (int) number,
						ok ? "accepts" : "refuses");
			break;
		case 6:
			s = fuzz_take_string(&in);
			ok = FUZZ_CALL(mono_check_currency(s));
			FUZZ_ASSERT(ok == (strcmp(s, "NGN") == 0), "mono_check_currency(\"%s\")", s);
			ok = FUZZ_CALL(mono_check_amount(number));
			FUZZ_ASSERT(ok == (number > 0), "mono_check_amount(" INT64_FORMAT ")", number);
			break;
		case 7:
			{
				TimestampTz start = (TimestampTz) number;
				TimestampTz end = (TimestampTz) fuzz_take_uint(&in, 8);

				ok = FUZZ_CALL(mono_check_dates(start, flags & 1, end, flags & 2));
				/* from the start of the shim's day (2026-12-01 UTC), less than 3653 days ahead */
				const TimestampTz lo = (TimestampTz) 9466 * USECS_PER_DAY;
				const TimestampTz hi = lo + (TimestampTz) 3653 * USECS_PER_DAY;

				FUZZ_ASSERT(ok == (!(flags & 1) && !TIMESTAMP_NOT_FINITE(start) &&
								   start >= lo && start < hi &&
								   ((flags & 2) || (!TIMESTAMP_NOT_FINITE(end) && end > start &&
													end < hi))),
							"mono_check_dates %s", ok ? "accepts" : "refuses");
			}
			break;
		case 8:
			check_charge(&in, number, flags);
			break;
		case 9:
			{
				char	   *ref = mono_generate_reference();
				const char *name;

				FUZZ_ASSERT(FUZZ_CALL(mono_check_reference(ref)) &&
							sql_bool(mono_is_reference, ref),
							"generated reference \"%s\" is invalid", ref);
				s = fuzz_take_string(&in);
				name = mono_user_status_name(s);
				FUZZ_ASSERT(name == s || strcmp(name, "pending_activation") == 0,
							"mono_user_status_name(\"%s\") = \"%s\"", s, name);
				FUZZ_ASSERT(sql_bool(mono_is_phone, s) == (strlen(s) == 13 &&
														   strncmp(s, "234", 3) == 0 &&
														   only_digits(s, 13)),
							"mono.is_phone(\"%s\")", s);
			}
			break;
	}
	fuzz_end_input();
	return 0;
}
