/*
 * common_job.c
 *		What every job of every product shares: its HTTP call, and its row
 *		of mono.http_log (method, path, status, duration, error; never
 *		headers or bodies, and a phone in the path masked).
 */
#include "common.h"

#include <ctype.h>

/* Set the job's HTTP call (strings copied into cxt). */
void
mono_job_call(MonoJob *job, MemoryContext cxt, const char *method, const char *path,
			  const char *body)
{
	job->method = MemoryContextStrdup(cxt, method);
	job->path = MemoryContextStrdup(cxt, path);
	job->body = body ? MemoryContextStrdup(cxt, body) : NULL;
}

/*
 * The path as mono.http_log keeps it: the value of a phone= query parameter
 * with every digit but the last 4 masked (personal data; the last 4 are
 * enough to tell calls apart). palloc'd.
 */
static char *
log_path(const char *path)
{
	char *out = pstrdup(path);
	char *p = out;

	while ((p = strstr(p, "phone=")) != NULL)
	{
		char *value = p + strlen("phone=");
		size_t len = strcspn(value, "&");
		int keep = 4;
		size_t i;

		if (p > out && (p[-1] == '?' || p[-1] == '&'))
			for (i = len; i > 0; i--)
				if (isdigit((unsigned char) value[i - 1]) && keep-- <= 0)
					value[i - 1] = '*';
		p = value + len;
	}
	return out;
}

/* Append a mono.http_log row for the job's call to log. */
void
mono_job_log(MonoJob *job, json_t *log)
{
	json_t *row = mono_json_object();
	long status = 0;

	curl_easy_getinfo(job->http.easy, CURLINFO_RESPONSE_CODE, &status);
	json_object_set_new(row, "at", json_string(timestamptz_to_str(job->started)));
	json_object_set_new(row, "method", json_string(job->method));
	json_object_set_new(row, "path", json_string(log_path(job->path)));
	if (status > 0)
		json_object_set_new(row, "http_status", json_integer(status));
	json_object_set_new(row, "duration_ms",
						json_real((GetCurrentTimestamp() - job->started) / 1000.0));
	if (job->rc != CURLE_OK)
		json_object_set_new(row, "error", json_string(curl_easy_strerror(job->rc)));
	json_array_append_new(log, row);
}
