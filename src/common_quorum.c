/*
 * common_quorum.c
 *		The forms of mono_pay.standby_names (issue 23), those operators know
 *		from synchronous_standby_names: "s1, s2" (or "*": at least one of
 *		them), "FIRST n (s1, s2, s3)" or "n (...)" (the n first connected
 *		standbys of the list, in its order) and "ANY n (s1, s2, s3)" (any n
 *		of them). Parsing only: the setting's check and the worker's wait
 *		use it.
 */
#include "common.h"

/* Skip blanks. */
static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Read one name (a word, "*" or a double-quoted name) into out; NULL when there is none. */
static const char *
read_name(const char *p, char *out, size_t len)
{
	size_t n = 0;

	p = skip_blanks(p);
	if (*p == '"')
	{
		for (p++; *p && *p != '"'; p++)
			if (n + 1 < len)
				out[n++] = *p;
		if (*p++ != '"')
			return NULL;
	}
	else
		for (; *p && strchr(", \t\n\r()", *p) == NULL; p++)
			if (n + 1 < len)
				out[n++] = *p;
	out[n] = '\0';
	return n > 0 ? p : NULL;
}

/* Read the method and count of a quorum form, if any: "FIRST n (", "ANY n (", "n (". */
static const char *
read_method(const char *p, MonoQuorum *q)
{
	const char *start = skip_blanks(p);
	const char *s = start;
	char *end;
	long n;

	q->any = pg_strncasecmp(s, "any", 3) == 0 && strchr(" \t", s[3]) != NULL;
	if (q->any || (pg_strncasecmp(s, "first", 5) == 0 && strchr(" \t", s[5]) != NULL))
		s = skip_blanks(s + (q->any ? 3 : 5));
	n = strtol(s, &end, 10);
	if (end == s || *skip_blanks(end) != '(')
	{
		q->any = true; /* a plain list: at least one of them */
		q->num = 1;
		return start;
	}
	q->num = (int) Min(Max(n, 0), 1000);
	q->quorum = true;
	return skip_blanks(end) + 1;
}

/*
 * Parse mono_pay.standby_names into q; false with the reason in err when it
 * is not one of the forms. An empty value is a quorum of none.
 */
bool
mono_quorum_parse(const char *value, MonoQuorum *q, const char **err)
{
	const char *p;

	memset(q, 0, sizeof(*q));
	if (value == NULL || *skip_blanks(value) == '\0')
		return true;
	p = read_method(value, q);
	for (;;)
	{
		if (q->count == MONO_QUORUM_MAX)
			return (*err = "it names more than 32 standbys", false);
		p = read_name(p, q->names[q->count], NAMEDATALEN);
		if (p == NULL)
			return (*err = "a standby name is missing", false);
		q->count++;
		p = skip_blanks(p);
		if (*p != ',')
			break;
		p++;
	}
	if (q->quorum && *p++ != ')')
		return (*err = "the list of a quorum must end with \")\"", false);
	if (*skip_blanks(p) != '\0')
		return (*err = "unexpected text after the list", false);
	if (q->quorum && (q->num < 1 || q->num > q->count))
		return (*err = "the count of a quorum must be between 1 and the number of names", false);
	return true;
}

/* Does member i of the quorum name the standby (by application_name, or "*")? */
bool
mono_quorum_names(const MonoQuorum *q, int i, const char *application_name)
{
	return strcmp(q->names[i], "*") == 0 || pg_strcasecmp(q->names[i], application_name) == 0;
}
