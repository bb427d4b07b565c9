/*
 * fuzz_response.c
 *		Mono's API answers through common_json.c, and mono_user_status() of owo_body.c
 *		end to end (this file includes src/owo_body.c, with a fake synchronous GET
 *		answering from the input, and a fake set-returning-function
 *		result): mono_json_try_parse, mono_json_parse, mono_json_data,
 *		mono_json_str, mono_error_summary, mono_raise_http_error,
 *		mono_body_excerpt, mono_user_status_name.
 *
 * Input: 2 bytes of HTTP status (100..599), then the response body (any
 * bytes; the body is handed over with its length, NUL-terminated after it,
 * as http.c's buffer is).
 *
 * Checked: an error answer always raises; parse-or-raise agree;
 * mono_user_status() returns one row, "not_found" for a 404, Mono's status
 * (typo mended) for a 200, or raises; every
 * error's message, detail and hint is valid UTF-8 (the database encoding:
 * PostgreSQL sends it to clients as is, or fails converting it and loses
 * the error), whatever bytes the body holds; excerpts are also printable
 * and short.
 */
#include "fuzz_shim.h"
#include "fuzz_input.h"

#include "funcapi.h"
#include "utils/tuplestore.h"

/* ---- a fake synchronous GET for owo_body.c's mono_user_status() ---- */

static long fake_status;
static const char *fake_body;
static size_t fake_len;

static void fuzz_http_get(const char *path, bool realtime, MonoHeaderReader reader,
						  MonoAnswer *answer);

#define mono_http_get fuzz_http_get
#include "owo_body.c"
#undef mono_http_get

/* The answer as common_http.c's mono_http_get leaves it: palloc'd, NUL after len. */
static void
fuzz_http_get(const char *path, bool realtime, MonoHeaderReader reader, MonoAnswer *answer)
{
	FUZZ_ASSERT(strcmp(path, "/owo/v1/users/status?phone=2348012345678") == 0,
				"user status path \"%s\"", path);
	FUZZ_ASSERT(!realtime && reader == NULL, "a user status read is neither real-time nor reads headers");
	answer->status = fake_status;
	answer->len = fake_len;
	answer->body = palloc(fake_len + 1);
	memcpy(answer->body, fake_body ? fake_body : "", fake_len);
	answer->body[fake_len] = '\0';
	answer->headers = NULL;
}

/* ---- a fake materialised SRF result: the rows mono_user_status() returns ---- */

static int	rows;
static char *row_phone;
static bool row_exists;
static char *row_status;

void
InitMaterializedSRF(FunctionCallInfo fcinfo, bits32 flags)
{
}

/* PG17 made the values and nulls const */
#if PG_VERSION_NUM >= 170000
#define PUTVALUES_CONST const
#else
#define PUTVALUES_CONST
#endif

void
tuplestore_putvalues(Tuplestorestate *state, TupleDesc tdesc, PUTVALUES_CONST Datum *values,
					 PUTVALUES_CONST bool *isnull)
{
	FUZZ_ASSERT(!isnull[0] && !isnull[1] && !isnull[2], "a NULL in a user status row");
	rows++;
	row_phone = TextDatumGetCString(values[0]);
	row_exists = DatumGetBool(values[1]);
	row_status = TextDatumGetCString(values[2]);
}

/* mono_user_status('08012345678') against the fake answer. */
static void
call_user_status(void)
{
	LOCAL_FCINFO(fcinfo, 1);
	ReturnSetInfo rsinfo;

	memset(&rsinfo, 0, sizeof(rsinfo));
	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, (Node *) &rsinfo);
	fcinfo->args[0].isnull = false;
	fcinfo->args[0].value = PointerGetDatum(cstring_to_text("08012345678"));
	(void) mono_user_status(fcinfo);
}

/*
 * Text that PostgreSQL can send in an error: valid UTF-8; for an excerpt
 * of a body, also no control bytes (they are shown as \xNN).
 */
static void
check_error_text(const char *what, const char *s, bool printable)
{
	const char *p;

	if (s == NULL)
		return;
	FUZZ_ASSERT(fuzz_valid_utf8(s, strlen(s)),
				"the %s of \"%s\" is not valid UTF-8: clients get bytes they cannot decode, "
				"or a conversion error instead of this error", what, fuzz_last_error.message);
	for (p = s; printable && *p; p++)
		FUZZ_ASSERT((unsigned char) *p >= 0x20 && *p != 0x7f,
					"the %s holds control byte 0x%02x", what, (unsigned char) *p);
}

static void
check_last_error(void)
{
	check_error_text("message", fuzz_last_error.message, false);
	check_error_text("detail", fuzz_last_error.detail, false);
	check_error_text("hint", fuzz_last_error.hint, false);
}

/* mono_error_summary() on any parsed body: strings always come back. */
static void
error_summary(json_t *root)
{
	char	   *trace_id = (char *) 1;
	char	   *fields = (char *) 1;
	char	   *message = mono_error_summary(root, &trace_id, &fields);

	FUZZ_ASSERT(message != NULL, "mono_error_summary returned NULL");
	FUZZ_ASSERT(trace_id != (char *) 1 && fields != (char *) 1,
				"mono_error_summary left an out parameter unset");
	(void) strlen(message);
	if (trace_id)
		(void) strlen(trace_id);
	if (fields)
		FUZZ_ASSERT(strlen(fields) > 0, "empty field errors instead of NULL");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size};
	long		status = 100 + (long) (fuzz_take_uint(&in, 2) % 500);
	size_t		len;
	char	   *body = fuzz_take_rest(&in, &len);
	json_t	   *root = mono_json_try_parse(body, len);
	json_t	   *volatile parsed = NULL;
	bool		ok;

	if (root != NULL)
	{
		json_t	   *d = mono_json_data(root);

		FUZZ_ASSERT(d != NULL, "mono_json_data returned NULL for a parsed body");
		(void) mono_json_str(d, "redirect_url");
		(void) mono_json_str(root, "message");
		error_summary(root);
		error_summary(d);
		json_decref(root);
	}

	/* an error answer always raises, whatever the body */
	ok = FUZZ_CALL(mono_raise_http_error(status, body, len));
	FUZZ_ASSERT(!ok, "mono_raise_http_error returned");
	FUZZ_ASSERT(fuzz_last_error.message != NULL, "an error without a message");
	check_last_error();

	/* what error details show of a body */
	{
		char	   *excerpt = mono_body_excerpt(body, len);

		check_error_text("body excerpt", excerpt, true);
		FUZZ_ASSERT(strlen(excerpt) <= 300 * 4 + 3, "an excerpt of %zu bytes", strlen(excerpt));
	}

	/* parse or raise, never both, never neither */
	ok = FUZZ_CALL(parsed = mono_json_parse(body, len, "a fuzz body"));
	FUZZ_ASSERT(ok == (root != NULL), "mono_json_parse and mono_json_try_parse disagree");
	if (ok)
		json_decref(parsed);
	else
		check_last_error();

	/* mono_user_status() end to end */
	mono_secret_key = (char *) "sk_test_fuzz";
	fake_status = status;
	fake_body = body;
	fake_len = len;
	rows = 0;
	ok = FUZZ_CALL(call_user_status());
	if (!ok)
	{
		check_last_error();
		FUZZ_ASSERT(rows == 0, "a row and an error");
	}
	else
	{
		FUZZ_ASSERT(status == 200 || status == 404, "HTTP %ld gave a user status row", status);
		FUZZ_ASSERT(rows == 1, "%d user status rows", rows);
		FUZZ_ASSERT(strcmp(row_phone, "2348012345678") == 0, "phone \"%s\"", row_phone);
		FUZZ_ASSERT(row_status[0] != '\0', "an empty user status");
		FUZZ_ASSERT(strcmp(row_status, "pending_activiation") != 0, "Mono's typo came through");
		if (status == 404)
			FUZZ_ASSERT(!row_exists && strcmp(row_status, "not_found") == 0,
						"a 404 gave exists %d, status \"%s\"", row_exists, row_status);
	}
	fuzz_end_input();
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_object_seed(1);
	return 0;
}
