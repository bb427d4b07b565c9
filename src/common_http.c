/*
 * common_http.c
 *		libcurl easy handles for Mono calls: headers, timeouts, TLS, a
 *		capped response buffer, which phase a failure happened in, and the
 *		synchronous call used by SQL functions (interruptible by Ctrl-C and
 *		statement_timeout).
 *
 * Response bytes live in malloc'd memory: libcurl calls us back from inside
 * its own code, where a PostgreSQL error (longjmp) must never happen.
 */
#include "common.h"

#include <malloc.h>

#include "miscadmin.h"

/* the largest response buffer a reused handle keeps between calls */
#define MONO_KEPT_BUFFER (64 * 1024)

#define MONO_USER_AGENT "mono_pay/" MONO_PAY_VERSION

/* libcurl write callback: append to the buffer, refuse past the size cap. */
static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	MonoBuf *buf = (MonoBuf *) userdata;
	size_t n = size * nmemb;

	if (buf->len + n > (size_t) MONO_MAX_RESPONSE_SIZE)
	{
		buf->overflow = true;
		return 0;
	}
	if (buf->len + n + 1 > buf->cap)
	{
		size_t cap = Max(buf->cap * 2, buf->len + n + 1);
		char *data = realloc(buf->data, Max(cap, 1024));

		if (data == NULL)
			return 0;
		buf->data = data;
		buf->cap = Max(cap, 1024);
	}
	memcpy(buf->data + buf->len, ptr, n);
	buf->len += n;
	buf->data[buf->len] = '\0';
	return n;
}

/* Create the easy handle of a MonoHttp; reused across requests. */
void
mono_http_init(MonoHttp *http)
{
	memset(http, 0, sizeof(*http));
	http->easy = curl_easy_init();
	if (http->easy == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl handle")));
}

/* Forget the previous request's body, headers and response. */
void
mono_http_reset(MonoHttp *http)
{
	if (http->headers)
		curl_slist_free_all(http->headers);
	http->headers = NULL;
	free(http->body);
	http->body = NULL;
	http->resp.len = 0;
	http->resp.overflow = false;
	/* a large answer's buffer is given back, not kept by a pooled handle (issue 22) */
	if (http->resp.cap > MONO_KEPT_BUFFER)
	{
		free(http->resp.data);
		http->resp.data = NULL;
		http->resp.cap = 0;
		malloc_trim(0);
	}
	if (http->resp.data)
		http->resp.data[0] = '\0';
	http->errbuf[0] = '\0';
}

/* Release everything a MonoHttp holds. */
void
mono_http_free(MonoHttp *http)
{
	mono_http_reset(http);
	free(http->resp.data);
	http->resp.data = NULL;
	http->resp.cap = 0;
	if (http->easy)
		curl_easy_cleanup(http->easy);
	http->easy = NULL;
}

/* Append a header line to the request; failure is out of memory. */
static void
add_header(MonoHttp *http, const char *line)
{
	struct curl_slist *l = curl_slist_append(http->headers, line);

	if (l == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building HTTP headers")));
	http->headers = l;
}

/*
 * The secret key a call to path is sent with: Connect's /v2 calls use the
 * connect app's key (mono_pay.connect_secret_key) when it is set, every
 * other call (and /v2 when it is empty) the payments app's.
 */
const char *
mono_secret_key_for(const char *path)
{
	if (strncmp(path, "/v2/", 4) == 0 &&
		mono_connect_secret_key != NULL && mono_connect_secret_key[0] != '\0')
		return mono_connect_secret_key;
	return mono_secret_key ? mono_secret_key : "";
}

/* Build the mono-sec-key header without leaving a copy in palloc'd memory. */
static void
add_key_header(MonoHttp *http, const char *path)
{
	const char *key = mono_secret_key_for(path);
	size_t len = strlen(key) + sizeof("mono-sec-key: ");
	char *line = malloc(len);

	if (line == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building HTTP headers")));
	snprintf(line, len, "mono-sec-key: %s", key);
	http->headers = curl_slist_append(http->headers, line);
	explicit_bzero(line, len);
	free(line);
	if (http->headers == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building HTTP headers")));
}

/*
 * Set up the handle for METHOD api_url+path with an optional JSON body.
 * realtime asks for a Connect real-time refresh with both spellings of the
 * header: Mono's guide says x-realtime, its API reference x-real-time.
 */
void
mono_http_prepare(MonoHttp *http, const char *method, const char *path,
				  const char *body, bool realtime)
{
	CURL *e = http->easy;
	char *url = psprintf("%s%s", mono_api_url, path);

	mono_http_reset(http);
	curl_easy_reset(e); /* a reused handle keeps no option of its last request */
	add_key_header(http, path);
	add_header(http, "Accept: application/json");
	if (realtime)
	{
		add_header(http, "x-realtime: true");
		add_header(http, "x-real-time: true");
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_USERAGENT, MONO_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (mono_ca_bundle && mono_ca_bundle[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, mono_ca_bundle);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) MONO_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) mono_request_timeout);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &http->resp);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, http->errbuf);
	if (body != NULL)
	{
		http->body = strdup(body);
		if (http->body == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory copying a request body")));
		add_header(http, "Content-Type: application/json");
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, http->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(http->body));
	}
	else
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	else
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, http->headers);
	pfree(url);
}

/* Has a connection been established (so the request may have been seen)? */
bool
mono_http_reached_server(CURL *easy, CURLcode rc)
{
	curl_off_t pretransfer = 0;

	switch (rc)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			return false;
		default:
			break;
	}
	curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	return pretransfer > 0;
}

/* Name the phase a transfer failed in, for error messages. */
const char *
mono_http_phase(CURL *easy, CURLcode rc, bool overflow)
{
	curl_off_t connect = 0,
			   appconnect = 0,
			   pretransfer = 0,
			   starttransfer = 0;
	char *url = NULL;

	if (overflow)
		return "reading the response (larger than 1 MB)";
	curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect);
	curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &appconnect);
	curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
	curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &starttransfer);
	curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
	switch (rc)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			return "resolving the host name";
		case CURLE_COULDNT_CONNECT:
			return "connecting";
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
			return "the TLS handshake";
		case CURLE_SEND_ERROR:
			return "sending the request";
		case CURLE_GOT_NOTHING:
			return "waiting for the response (the connection was closed)";
		default:
			break;
	}
	if (connect == 0 && pretransfer == 0)
		return "connecting";
	if (url && strncmp(url, "https:", 6) == 0 && appconnect == 0)
		return "the TLS handshake";
	if (starttransfer == 0)
		return "waiting for the response";
	return "receiving the response";
}

/* A response header's value (palloc'd), or NULL when absent. */
char *
mono_http_header(CURL *easy, const char *name)
{
	struct curl_header *h = NULL;

	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK ||
		h == NULL)
		return NULL;
	return pstrdup(h->value);
}

/* URL-escape a value for a path segment or query string (palloc'd). */
char *
mono_url_escape(const char *value)
{
	char *esc = curl_easy_escape(NULL, value, 0);
	char *out;

	if (esc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory escaping a URL")));
	out = pstrdup(esc);
	curl_free(esc);
	return out;
}

/* Raise the error for a failed transfer, naming the phase; never the key. */
static void
raise_transport_error(MonoHttp *http, CURLcode rc)
{
	const char *phase = mono_http_phase(http->easy, rc, http->resp.overflow);

	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("Mono API request failed while %s", phase),
			 errdetail("libcurl: %s.", http->errbuf[0] ? http->errbuf : curl_easy_strerror(rc)),
			 errhint(rc == CURLE_OPERATION_TIMEDOUT ?
						 "Raise mono_pay.request_timeout, or check Mono's status." :
						 "Check mono_pay.api_url and the network path to Mono.")));
}

/*
 * Run the prepared request to completion and return the HTTP status.
 * Drives a private multi handle so that query cancel and statement_timeout
 * interrupt the transfer within 50 ms; transport failures raise an error.
 */
long
mono_http_perform(MonoHttp *http)
{
	CURLM *multi = curl_multi_init();
	CURLcode rc = CURLE_OK;
	long status = 0;
	int running = 1;

	if (multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create a libcurl multi handle")));
	curl_multi_add_handle(multi, http->easy);
	PG_TRY();
	{
		CURLMsg *msg;
		int left;

		while (running)
		{
			curl_multi_perform(multi, &running);
			if (running)
				curl_multi_poll(multi, NULL, 0, 50, NULL);
			CHECK_FOR_INTERRUPTS();
		}
		while ((msg = curl_multi_info_read(multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE)
				rc = msg->data.result;
	}
	PG_FINALLY();
	{
		curl_multi_remove_handle(multi, http->easy);
		curl_multi_cleanup(multi);
	}
	PG_END_TRY();
	if (rc != CURLE_OK)
		raise_transport_error(http, rc);
	curl_easy_getinfo(http->easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/*
 * GET path now, for an SQL function: the answer palloc'd, with what reader
 * (when given) took of the headers. The handle is always freed.
 */
void
mono_http_get(const char *path, bool realtime, MonoHeaderReader reader, MonoAnswer *answer)
{
	MonoHttp http;

	mono_http_init(&http);
	PG_TRY();
	{
		mono_http_prepare(&http, "GET", path, NULL, realtime);
		answer->status = mono_http_perform(&http);
		answer->len = http.resp.len;
		answer->body = palloc(http.resp.len + 1);
		memcpy(answer->body, http.resp.data ? http.resp.data : "", http.resp.len);
		answer->body[http.resp.len] = '\0';
		answer->headers = reader ? reader(http.easy) : NULL;
	}
	PG_FINALLY();
	{
		mono_http_free(&http);
	}
	PG_END_TRY();
}
