/*
 * fuzz_outcome.c
 *		The worker's reading of finished HTTP calls: mono_queue_outcome()
 *		(worker_queue.c) for every job kind of both products: Direct Charge's
 *		verdicts (owo_outcome.c), its settling reads and polling reads, and
 *		Connect's outcomes (connect_worker.c, connect_parse.c) with the
 *		real-time refresh headers. libcurl's view of the transfer (status,
 *		timings, headers) comes from the input through fake_curl.c.
 *
 * Input: kind, status (2 bytes, modulo 1000), transport result, attempts, flags, Connect
 * step, Retry-After (2 bytes); then the response headers ("name: value"
 * lines), a NUL byte, and the response body (any bytes).
 *
 * Checked: each call adds exactly one outcome to its table's array (none
 * for polling reads, which add events), for the job's row, with a verdict
 * mono.charge_verdict() / mono.link_verdict() know for its kind of call; retry
 * delays are never negative; http_status is the response's; polled
 * payments carry what mono.apply_payment() casts; Connect outcomes hold
 * an error or facts that cast (fuzz_checks.h); every array serialises.
 */
#include "fuzz_shim.h"
#include "fuzz_checks.h"
#include "fuzz_input.h"

#include "connect.h"
#include "owo.h"
#include "worker.h"

#define JOB_ID 4242
#define JOB_REFERENCE "mpFuzzRef000001"

static const CURLcode transport_errors[] = {
	CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT,
	CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_SSL_CONNECT_ERROR,
	CURLE_PEER_FAILED_VERIFICATION, CURLE_WRITE_ERROR, CURLE_PARTIAL_FILE,
	CURLE_URL_MALFORMAT, CURLE_SSL_CIPHER, CURLE_TOO_MANY_REDIRECTS,
};

static json_t *
only_item(json_t *array, const char *what)
{
	FUZZ_ASSERT(json_array_size(array) == 1, "%zu outcomes in %s, not 1",
				json_array_size(array), what);
	return json_array_get(array, 0);
}

/* the response's status, for check_row_outcome */
static long t_status;

/* The verdicts of a send, and of a settling read (mono.verdict_expects()). */
static const char *const send_verdicts[] = {"accepted", "reference_named", "retry", "ambiguous",
"refused", "refused_resend", "key_refused", NULL};
static const char *const settle_verdicts[] = {"read_failed", "found", "foreign", "partial",
"absent", "gone", "present", NULL};

/* An owo outcome for the job's row: {id, verdict, ...}. */
static void
check_row_outcome(MonoJob *job, json_t *o)
{
	const char *verdict = mono_json_str(o, "verdict");
	json_t	   *v;

	FUZZ_ASSERT(json_integer_value(json_object_get(o, "id")) == job->id, "outcome for another row");
	FUZZ_ASSERT(fuzz_one_of(verdict, owo_kinds[job->kind].role == OWO_SEND ?
							send_verdicts : settle_verdicts),
				"verdict \"%s\" is not one SQL knows for this kind of call: recording it decides nothing",
				verdict ? verdict : "(none)");
	v = json_object_get(o, "retry_ms");
	FUZZ_ASSERT(v == NULL || (json_is_integer(v) && json_integer_value(v) >= 0),
				"a retry delay that is not a whole number >= 0");
	v = json_object_get(o, "http_status");
	FUZZ_ASSERT(v == NULL || (json_is_integer(v) && json_integer_value(v) == t_status),
				"http_status is not the response's status");
	FUZZ_STRING_OR_ABSENT(o, "redirect_url");
	FUZZ_STRING_OR_ABSENT(o, "mono_id");
	FUZZ_STRING_OR_ABSENT(o, "trace_id");
	FUZZ_STRING_OR_ABSENT(o, "last_error");
}

/* A Connect outcome: {account_id, step, error + retry_ms | facts}. */
static void
check_connect_outcome(MonoJob *job, json_t *o)
{
	const char *step = mono_json_str(o, "step");
	json_t	   *v;

	FUZZ_ASSERT(strcmp(mono_json_str(o, "account_id"), job->account_id) == 0, "another account");
	FUZZ_ASSERT(step && mono_connect_step_code(step) == job->kind, "step \"%s\"", step);
	if (json_object_get(o, "error"))
	{
		FUZZ_ASSERT(json_is_string(json_object_get(o, "error")), "error is not a string");
		v = json_object_get(o, "retry_ms");
		FUZZ_ASSERT(v == NULL || (json_is_integer(v) && json_integer_value(v) >= 0),
					"a retry delay that is not a whole number >= 0");
		return;
	}
	if ((v = json_object_get(o, "account")) != NULL)
		fuzz_check_account(v);
	else if ((v = json_object_get(o, "transactions")) != NULL)
	{
		fuzz_check_transactions(v);
		FUZZ_ASSERT(json_is_boolean(json_object_get(o, "more")), "more is not a boolean");
		FUZZ_ASSERT(json_integer_value(json_object_get(o, "skipped")) >= 0, "skipped < 0");
	}
	else
	{
		v = json_object_get(o, "refresh");
		FUZZ_ASSERT(json_is_object(v), "a Connect outcome with neither error nor facts");
		FUZZ_ASSERT(json_is_boolean(json_object_get(v, "has_new_data")), "has_new_data");
		FUZZ_STRING_OR_ABSENT(v, "job_id");
		FUZZ_STRING_OR_ABSENT(v, "job_status");
	}
}

/*
 * A polled event as mono.apply_owo_events() takes it without error: a
 * payment needs an id, an amount that casts to bigint (>= 0: a CHECK) and
 * a processed_at that casts to timestamptz (mono.apply_payment).
 */
static void
check_event(json_t *e)
{
	const char *event = mono_json_str(e, "event");
	json_t	   *data = json_object_get(e, "data");
	json_t	   *v;

	FUZZ_ASSERT(event && strncmp(event, "owo.", 4) == 0, "event \"%s\"", event);
	FUZZ_ASSERT(data != NULL, "an event without data");
	if (strcmp(event, "owo.payment.successful") != 0 && strcmp(event, "owo.payment.failed") != 0)
		return;
	v = json_object_get(data, "id");
	FUZZ_ASSERT(v != NULL && !json_is_null(v),
				"a polled payment without id: mono.payments.mono_id is NOT NULL");
	v = json_object_get(data, "amount");
	FUZZ_ASSERT(json_is_integer(v) && json_integer_value(v) >= 0,
				"a polled payment whose amount does not cast to bigint >= 0");
	v = json_object_get(data, "processed_at");
	FUZZ_ASSERT(v == NULL || json_is_null(v) ||
				(json_is_string(v) && fuzz_iso_timestamptz(json_string_value(v))),
				"a polled payment whose processed_at does not cast to timestamptz");
}

static void
check_serialises(json_t *array)
{
	char	   *text = json_dumps(array, JSON_COMPACT);

	FUZZ_ASSERT(text != NULL, "outcomes do not serialise");
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size};
	MonoJob		job;
	MonoOutcomes out;
	FuzzTransfer t;
	int			kind = (int) (fuzz_take_uint(&in, 1) % (OWO_NUM_KINDS + 1));
	bool		connect = kind == OWO_NUM_KINDS;
	long		status = (long) (fuzz_take_uint(&in, 2) % 1000);	/* libcurl: 3 digits */
	int			rc = (int) fuzz_take_uint(&in, 1);
	int			attempts = (int) fuzz_take_uint(&in, 1);
	int			flags = (int) fuzz_take_uint(&in, 1);
	int			step = (int) fuzz_take_uint(&in, 1);
	int			retry_after = (int) fuzz_take_uint(&in, 2);
	char	   *headers = fuzz_take_string(&in);
	size_t		len;
	char	   *body = fuzz_take_rest(&in, &len);
	size_t		i;
	int			g;

	memset(&t, 0, sizeof(t));
	t.response_code = t_status = status;
	t.retry_after = retry_after;
	t.connect_time = (flags & 1) ? 1000 : 0;
	t.appconnect_time = (flags & 2) ? 2000 : 0;
	t.pretransfer_time = (flags & 4) ? 3000 : 0;
	t.starttransfer_time = (flags & 8) ? 4000 : 0;
	t.effective_url = (flags & 16) ? "https://api.withmono.com/x" : "http://127.0.0.1:1/x";
	t.headers = headers;

	memset(&job, 0, sizeof(job));
	job.product = connect ? &mono_connect_product : &mono_owo_product;
	job.id = JOB_ID;
	job.attempts = 1 + attempts % 12;	/* mono_pay.max_attempts is 10 */
	job.reference = JOB_REFERENCE;
	job.phone = "2348012345678";
	job.mono_id = "ben_fuzz0001";
	job.account_id = "acc_fuzz0001";
	job.kind = connect ? CONNECT_DETAILS + step % 3 : kind;
	job.realtime = connect && job.kind == CONNECT_REFRESH;
	job.method = "GET";
	job.path = "/fuzz";
	job.http.easy = fuzz_curl_handle(&t);
	/* the response buffer as http.c's write_body leaves it */
	if (len > 0)
	{
		job.http.resp.data = malloc(len + 1);
		memcpy(job.http.resp.data, body, len + 1);
		job.http.resp.len = len;
		job.http.resp.cap = len + 1;
	}
	job.http.resp.overflow = (flags & 32) != 0;
	if (flags & 64)
		strlcpy(job.http.errbuf, "Operation timed out after 2000 milliseconds",
				sizeof(job.http.errbuf));
	job.rc = rc < 160 ? CURLE_OK : transport_errors[rc % lengthof(transport_errors)];
	job.started = 0;
	mono_http_log = (flags & 128) != 0;

	for (g = 0; g < NUM_GROUPS; g++)
		out.group[g] = json_array();

	mono_queue_outcome(&job, &out);

	if (connect)
		check_connect_outcome(&job, only_item(out.group[GROUP_ACCOUNTS], "accounts"));
	else if (owo_kinds[job.kind].role == OWO_POLL)
	{
		json_t	   *e;

		FUZZ_ASSERT(json_array_size(out.group[GROUP_CHARGES]) +
					json_array_size(out.group[GROUP_LINKS]) == 0,
					"a polling read changed a row");
		json_array_foreach(out.group[GROUP_EVENTS], i, e)
			check_event(e);
	}
	else
	{
		MonoGroupId own = owo_kinds[job.kind].group;

		FUZZ_ASSERT(json_array_size(out.group[own == GROUP_CHARGES ? GROUP_LINKS : GROUP_CHARGES]) == 0,
					"a call changed a row of the other table");
		check_row_outcome(&job, only_item(out.group[own], "its table's outcomes"));
	}
	FUZZ_ASSERT(json_array_size(out.group[GROUP_LOG]) == (mono_http_log ? 1 : 0), "%zu log rows",
				json_array_size(out.group[GROUP_LOG]));
	for (g = 0; g < NUM_GROUPS; g++)
	{
		check_serialises(out.group[g]);
		json_decref(out.group[g]);
	}
	free(job.http.resp.data);
	fuzz_end_input();
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_object_seed(1);
	return 0;
}
