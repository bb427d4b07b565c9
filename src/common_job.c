/*
 * common_job.c
 *		What every job of every product shares: its HTTP call, and its row
 *		of mono.http_log (method, path, status, duration, error; never
 *		headers or bodies).
 */
#include "common.h"

/* Set the job's HTTP call (strings copied into cxt). */
void
mono_job_call(MonoJob *job, MemoryContext cxt, const char *method, const char *path,
			  const char *body)
{
	job->method = MemoryContextStrdup(cxt, method);
	job->path = MemoryContextStrdup(cxt, path);
	job->body = body ? MemoryContextStrdup(cxt, body) : NULL;
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
	json_object_set_new(row, "path", json_string(job->path));
	if (status > 0)
		json_object_set_new(row, "http_status", json_integer(status));
	json_object_set_new(row, "duration_ms",
						json_real((GetCurrentTimestamp() - job->started) / 1000.0));
	if (job->rc != CURLE_OK)
		json_object_set_new(row, "error", json_string(curl_easy_strerror(job->rc)));
	json_array_append_new(log, row);
}
