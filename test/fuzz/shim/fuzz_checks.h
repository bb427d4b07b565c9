/*
 * fuzz_checks.h
 *		What the normalised JSON that the worker hands to SQL must look like
 *		(the contract written at the top of connect_parse.c and outcome.c,
 *		and the domains of sql/mono_pay--*.sql): a value that breaks it makes
 *		the worker's record statement fail, which rolls back every outcome of
 *		the group and comes back on the next read.
 */
#ifndef FUZZ_CHECKS_H
#define FUZZ_CHECKS_H

#include "fuzz_shim.h"

#include "utils/datetime.h"

/* Is s one of the NULL-terminated list? */
static inline bool
fuzz_one_of(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static inline bool
fuzz_n_digits(const char *s, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static inline int
fuzz_num(const char *s, int n)
{
	int			v = 0;
	int			i;

	for (i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static inline bool
fuzz_real_date(int y, int m, int d)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return y >= 1 && m >= 1 && m <= 12 && d >= 1 &&
		d <= days[m - 1] + ((m == 2 && leap) ? 1 : 0);
}

/*
 * Is s a timestamp with a time zone that timestamptz_in accepts:
 * YYYY-MM-DD, a T (or t or space), HH:MM[:SS[.fraction]], and Z or
 * +-HH[[:]MM]? (PostgreSQL takes offsets up to 15:59, and refuses input
 * that overflows its field buffer: anything longer than MAXDATELEN, 128
 * characters, may fail.)
 */
static inline bool
fuzz_iso_timestamptz(const char *s)
{
	const char *p = s;

	if (strlen(s) < 17 || strlen(s) > MAXDATELEN || !fuzz_n_digits(p, 4) || p[4] != '-' ||
		!fuzz_n_digits(p + 5, 2) || p[7] != '-' || !fuzz_n_digits(p + 8, 2) ||
		!fuzz_real_date(fuzz_num(p, 4), fuzz_num(p + 5, 2), fuzz_num(p + 8, 2)))
		return false;
	p += 10;
	if ((*p != 'T' && *p != 't' && *p != ' ') || !fuzz_n_digits(p + 1, 2) ||
		p[3] != ':' || !fuzz_n_digits(p + 4, 2) ||
		fuzz_num(p + 1, 2) > 23 || fuzz_num(p + 4, 2) > 59)
		return false;
	p += 6;
	if (*p == ':')
	{
		if (!fuzz_n_digits(p + 1, 2) || fuzz_num(p + 1, 2) > 59)
			return false;
		p += 3;
		if (*p == '.')
		{
			p++;
			if (!fuzz_n_digits(p, 1))
				return false;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return true;
	if ((*p != '+' && *p != '-') || !fuzz_n_digits(p + 1, 2) || fuzz_num(p + 1, 2) > 15)
		return false;
	p += 3;
	if (*p == ':')
		p++;
	if (*p == '\0')
		return true;
	return fuzz_n_digits(p, 2) && fuzz_num(p, 2) <= 59 && p[2] == '\0';
}

/* A member that is absent or a string. */
#define FUZZ_STRING_OR_ABSENT(obj, key) \
	FUZZ_ASSERT(json_object_get(obj, key) == NULL || json_is_string(json_object_get(obj, key)), \
				"member \"%s\" is neither absent nor a string", key)

/* Account facts (mono_connect_details). */
static inline void
fuzz_check_account(json_t *facts)
{
	json_t	   *v;
	size_t		i;
	json_t	   *item;

	FUZZ_ASSERT(json_is_object(facts), "account facts are not an object");
	FUZZ_STRING_OR_ABSENT(facts, "name");
	FUZZ_STRING_OR_ABSENT(facts, "account_number");
	FUZZ_STRING_OR_ABSENT(facts, "type");
	FUZZ_STRING_OR_ABSENT(facts, "currency");
	FUZZ_STRING_OR_ABSENT(facts, "customer_id");
	FUZZ_STRING_OR_ABSENT(facts, "ref");
	FUZZ_STRING_OR_ABSENT(facts, "auth_method");
	FUZZ_STRING_OR_ABSENT(facts, "data_status");
	v = json_object_get(facts, "balance");
	FUZZ_ASSERT(v == NULL || json_is_integer(v), "balance is not an integer");
	v = json_object_get(facts, "institution");
	FUZZ_ASSERT(v == NULL || json_is_object(v), "institution is not an object");
	v = json_object_get(facts, "retrieved_data");
	FUZZ_ASSERT(v == NULL || json_is_array(v), "retrieved_data is not an array");
	json_array_foreach(v, i, item)
		FUZZ_ASSERT(json_is_string(item), "retrieved_data holds a non-string");
}

/* Normalised transactions (mono_connect_transactions). */
static inline void
fuzz_check_transactions(json_t *list)
{
	size_t		i;
	json_t	   *t;

	FUZZ_ASSERT(json_is_array(list), "transactions are not an array");
	json_array_foreach(list, i, t)
	{
		const char *id = mono_json_str(t, "id");
		const char *type = mono_json_str(t, "type");
		const char *date = mono_json_str(t, "date");
		json_t	   *amount = json_object_get(t, "amount");
		json_t	   *balance = json_object_get(t, "balance");

		FUZZ_ASSERT(id && id[0], "a transaction without id");
		FUZZ_ASSERT(type && (strcmp(type, "debit") == 0 || strcmp(type, "credit") == 0),
					"a transaction of type %s", type ? type : "(none)");
		FUZZ_ASSERT(json_is_integer(amount) && json_integer_value(amount) >= 0,
					"a transaction amount that is not a whole number >= 0");
		FUZZ_ASSERT(balance == NULL || json_is_integer(balance), "a balance that is not an integer");
		FUZZ_ASSERT(date && fuzz_iso_timestamptz(date),
					"transaction date \"%s\" would not cast to timestamptz", date ? date : "(none)");
		FUZZ_STRING_OR_ABSENT(t, "narration");
		FUZZ_STRING_OR_ABSENT(t, "category");
	}
}

/* Monthly credits or debits (mono_connect_flows). */
static inline void
fuzz_check_flows(json_t *list)
{
	size_t		i,
				j;
	json_t	   *row;

	FUZZ_ASSERT(json_is_array(list), "flows are not an array");
	json_array_foreach(list, i, row)
	{
		const char *period = mono_json_str(row, "period");
		json_t	   *amount = json_object_get(row, "amount");
		json_t	   *count = json_object_get(row, "count");

		FUZZ_ASSERT(period && strlen(period) == 10 && fuzz_n_digits(period, 4) &&
					period[4] == '-' && fuzz_n_digits(period + 5, 2) &&
					strcmp(period + 7, "-01") == 0 &&
					fuzz_real_date(fuzz_num(period, 4), fuzz_num(period + 5, 2), 1),
					"a month \"%s\" that is not YYYY-MM-01", period ? period : "(none)");
		FUZZ_ASSERT(json_is_integer(amount) && json_integer_value(amount) >= 0,
					"a month's amount that is not a whole number >= 0");
		FUZZ_ASSERT(count == NULL || (json_is_integer(count) && json_integer_value(count) >= 0 &&
									  json_integer_value(count) <= PG_INT32_MAX),
					"a month's count that is not an integer");
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(mono_json_str(json_array_get(list, j), "period"), period) != 0,
						"month %s twice", period);
	}
}

#endif							/* FUZZ_CHECKS_H */
