/*
 * fake_curl.c
 *		The two libcurl calls through which mono_pay reads what a finished
 *		transfer was (curl_easy_getinfo, curl_easy_header), answering from
 *		a FuzzTransfer that the driver fills from the fuzz input. Defined in
 *		the executable, they take precedence over libcurl's; every other
 *		libcurl function is the real one (and never sees a fake handle).
 */
#define CURL_DISABLE_TYPECHECK
#include "fuzz_shim.h"

#include <stdarg.h>

/* a fake handle: a magic number, then the transfer */
typedef struct FakeEasy
{
	uint64		magic;
	FuzzTransfer *t;
	struct curl_header header;	/* the last header returned */
	char	   *value;
} FakeEasy;

#define FAKE_MAGIC UINT64CONST(0x6d6f6e6f66757a7a)

static FakeEasy fake;

CURL *
fuzz_curl_handle(FuzzTransfer *t)
{
	if (fake.value)
		free(fake.value);
	memset(&fake, 0, sizeof(fake));
	fake.magic = FAKE_MAGIC;
	fake.t = t;
	return (CURL *) &fake;
}

static FuzzTransfer *
transfer_of(CURL *easy)
{
	FakeEasy   *f = (FakeEasy *) easy;

	if (f != &fake || f->magic != FAKE_MAGIC)
		fuzz_fail("a libcurl info call on a handle that is not the fuzz driver's");
	return f->t;
}

CURLcode
curl_easy_getinfo(CURL *easy, CURLINFO info,...)
{
	FuzzTransfer *t = transfer_of(easy);
	va_list		ap;
	CURLcode	rc = CURLE_OK;

	va_start(ap, info);
	switch (info)
	{
		case CURLINFO_RESPONSE_CODE:
			*va_arg(ap, long *) = t->response_code;
			break;
		case CURLINFO_RETRY_AFTER:
			*va_arg(ap, curl_off_t *) = t->retry_after;
			break;
		case CURLINFO_CONNECT_TIME_T:
			*va_arg(ap, curl_off_t *) = t->connect_time;
			break;
		case CURLINFO_APPCONNECT_TIME_T:
			*va_arg(ap, curl_off_t *) = t->appconnect_time;
			break;
		case CURLINFO_PRETRANSFER_TIME_T:
			*va_arg(ap, curl_off_t *) = t->pretransfer_time;
			break;
		case CURLINFO_STARTTRANSFER_TIME_T:
			*va_arg(ap, curl_off_t *) = t->starttransfer_time;
			break;
		case CURLINFO_EFFECTIVE_URL:
			*va_arg(ap, const char **) = t->effective_url;
			break;
		default:
			/* an info the fake does not know: say so, as libcurl does */
			rc = CURLE_UNKNOWN_OPTION;
			break;
	}
	va_end(ap);
	return rc;
}

/*
 * The first header called name (case-insensitive) of the "name: value\n"
 * lines, as libcurl gives it: value without leading or trailing blanks.
 */
CURLHcode
curl_easy_header(CURL *easy, const char *name, size_t index,
				 unsigned int origin, int request, struct curl_header **hout)
{
	FuzzTransfer *t = transfer_of(easy);
	const char *line = t->headers;
	size_t		nlen = strlen(name);

	*hout = NULL;
	while (line && *line)
	{
		const char *end = strchr(line, '\n');
		size_t		len = end ? (size_t) (end - line) : strlen(line);

		if (len > nlen && line[nlen] == ':' && pg_strncasecmp(line, name, nlen) == 0)
		{
			const char *v = line + nlen + 1;
			const char *vend = line + len;

			while (v < vend && (*v == ' ' || *v == '\t'))
				v++;
			while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r'))
				vend--;
			if (fake.value)
				free(fake.value);
			fake.value = strndup(v, vend - v);
			fake.header.name = (char *) name;
			fake.header.value = fake.value;
			fake.header.amount = 1;
			fake.header.index = 0;
			fake.header.origin = CURLH_HEADER;
			*hout = &fake.header;
			return CURLHE_OK;
		}
		line = end ? end + 1 : NULL;
	}
	return CURLHE_MISSING;
}
