/*
 * common_values.c
 *		Values checked before SQL casts them or an error message quotes
 *		them: integers and ISO 8601 times in Mono's JSON, the one rule of
 *		blank text, and excerpts of user values.
 */
#include "common.h"

#include <math.h>

#include "mb/pg_wchar.h"

PG_FUNCTION_INFO_V1(mono_is_blank_sql);
PG_FUNCTION_INFO_V1(mono_iso_timestamp_sql);

/*
 * Quote a user value for an error message: at most 60 characters, cut on a
 * character boundary of the database encoding, with "..." when cut.
 */
char *
mono_shown(const char *value)
{
	int len = strlen(value);
	int cut;

	if (len <= 64)
		return pstrdup(value);
	cut = pg_mbcliplen(value, len, 60);
	return psprintf("%.*s...", cut, value);
}

/* Is the code point Unicode White_Space? */
static bool
is_space(pg_wchar c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 ||
		c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
		c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Is the code point Default_Ignorable (shown as nothing: fillers, joiners, marks)? */
static bool
is_ignorable(pg_wchar c)
{
	return c == 0xad || c == 0x34f || c == 0x61c || c == 0x115f || c == 0x1160 ||
		c == 0x17b4 || c == 0x17b5 || (c >= 0x180b && c <= 0x180f) ||
		(c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
		(c >= 0x2060 && c <= 0x206f) || c == 0x3164 || (c >= 0xfe00 && c <= 0xfe0f) ||
		c == 0xfeff || c == 0xffa0 || (c >= 0xfff0 && c <= 0xfff8) ||
		(c >= 0x1bca0 && c <= 0x1bca3) || (c >= 0x1d173 && c <= 0x1d17a) ||
		(c >= 0xe0000 && c <= 0xe0fff);
}

/*
 * The one rule of what is blank, for every text argument: a value is blank
 * when none of its characters shows anything. Spaces, controls, format and
 * other default-ignorable characters (Hangul fillers, zero-width marks) and
 * characters of no width of their own (combining marks, by PostgreSQL's
 * display-width table) show nothing. The value is read in UTF-8 whatever
 * the database encoding.
 */
bool
mono_is_blank(const char *value)
{
	const unsigned char *p;
	const unsigned char *end;
	char *utf8 = pg_server_to_any(value, strlen(value), PG_UTF8);

	p = (const unsigned char *) utf8;
	end = p + strlen(utf8);
	while (p < end)
	{
		int n = pg_utf_mblen(p);
		pg_wchar c;

		if (p + n > end || !pg_utf8_islegal(p, n))
			return false; /* not ours to judge: the encoding check refuses it */
		c = utf8_to_unicode(p);
		if (!is_space(c) && !is_ignorable(c) &&
			pg_encoding_dsplen(PG_UTF8, (const char *) p) > 0)
			return false;
		p += n;
	}
	return true;
}

/* An integer from a JSON integer, an integral real or a string of digits. */
bool
mono_json_int(json_t *v, json_int_t *out)
{
	if (json_is_integer(v))
	{
		*out = json_integer_value(v);
		return true;
	}
	if (json_is_real(v))
	{
		double d = json_real_value(v);

		if (d != floor(d) || fabs(d) > 9e15)
			return false;
		*out = (json_int_t) d;
		return true;
	}
	if (json_is_string(v))
	{
		const char *s = json_string_value(v);
		char *end;
		long long x;

		errno = 0;
		x = strtoll(s, &end, 10);
		if (*s == '\0' || *end != '\0' || errno != 0)
			return false;
		*out = (json_int_t) x;
		return true;
	}
	return false;
}

/* Read n digits at s into *v; false unless all are digits. */
bool
mono_read_digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

/* Is year-month-day a real calendar date? */
bool
mono_valid_date(int y, int m, int d)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= days[m - 1] + ((m == 2 && leap) ? 1 : 0);
}

/* Does s (after the time) hold a valid zone: Z, +HH, +HHMM or +HH:MM? */
static bool
valid_zone(const char *s)
{
	int h,
		m = 0;

	if (*s == 'Z' || *s == 'z')
		return s[1] == '\0';
	if (*s != '+' && *s != '-')
		return false;
	if (!mono_read_digits(s + 1, 2, &h) || h > 14)
		return false;
	s += 3;
	if (*s == ':')
		s++;
	if (*s && (!mono_read_digits(s, 2, &m) || m > 59 || s[2] != '\0'))
		return false;
	return true;
}

/*
 * An ISO 8601 date or timestamp as a timestamptz literal that cannot fail
 * to cast (palloc'd), or NULL. No zone means UTC; a date means midnight UTC.
 * At most 64 characters: timestamptz_in refuses input that overflows its
 * field buffer (a long fraction of a second).
 */
char *
mono_iso_timestamp(const char *in)
{
	int y,
		mo,
		d,
		h,
		mi,
		sec = 0;
	const char *p = in;

	if (in == NULL || strlen(in) < 10 || strlen(in) > 64 ||
		!mono_read_digits(p, 4, &y) || p[4] != '-' ||
		!mono_read_digits(p + 5, 2, &mo) || p[7] != '-' || !mono_read_digits(p + 8, 2, &d) ||
		!mono_valid_date(y, mo, d))
		return NULL;
	if (p[10] == '\0')
		return psprintf("%.10sT00:00:00Z", in);
	p += 10;
	if ((*p != 'T' && *p != 't' && *p != ' ') || !mono_read_digits(p + 1, 2, &h) ||
		p[3] != ':' || !mono_read_digits(p + 4, 2, &mi) || h > 23 || mi > 59)
		return NULL;
	p += 6;
	if (*p == ':')
	{
		if (!mono_read_digits(p + 1, 2, &sec) || sec > 59)
			return NULL;
		p += 3;
		if (*p == '.')
		{
			p++;
			if (*p < '0' || *p > '9')
				return NULL;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if (*p == '\0')
		return psprintf("%sZ", in);
	return valid_zone(p) ? pstrdup(in) : NULL;
}

/* mono.is_blank(text): the blank rule of mono_is_blank(), for the domains. */
Datum
mono_is_blank_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(mono_is_blank(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

/*
 * mono.iso_timestamp(value text, field text) -> timestamptz: an ISO 8601
 * time of a Mono payload, read the same whatever the session's TimeZone
 * and DateStyle (no zone means UTC). Anything else (a date in another
 * order, 'infinity', 'yesterday') raises 22007 naming the field.
 */
Datum
mono_iso_timestamp_sql(PG_FUNCTION_ARGS)
{
	char *value = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char *field = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char *iso = mono_iso_timestamp(value);

	if (iso == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("field %s is not an ISO 8601 timestamp: \"%s\"",
						field, mono_shown(value)),
				 errhint("Mono sends times such as 2025-08-15T14:10:00.465Z.")));
	return DirectFunctionCall3(timestamptz_in, CStringGetDatum(iso),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}
