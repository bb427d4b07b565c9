/*
 * fuzz_webhook.c
 *		Webhook bodies through webhook.c: mono_handle_webhook() itself (with
 *		a fake SPI that records what would be stored), and its static parts
 *		read_event, body_hash and secrets_equal (this file includes
 *		src/webhook.c to reach them).
 *
 * Input: 1 flag byte (bit 0: the secret argument is NULL, bit 1: the body
 * is NULL, bit 2: mono_pay.webhook_secret is unset), then the secret
 * argument, a NUL byte, and the body. The configured secret is
 * "whsec_test_mono_pay" (test/lib/cluster.sh's).
 *
 * Checked: a wrong or missing secret always raises 28000 and stores
 * nothing; a stored event has a non-empty event and event_id, the body is
 * stored unchanged (parsed and raw), and an event without event_id is keyed by
 * "sha256:<64 hex>" of its body; secrets_equal() agrees with strcmp().
 */
#include "fuzz_shim.h"
#include "fuzz_input.h"

#include "webhook_ingest.c"

#define CONFIGURED_SECRET "whsec_test_mono_pay"

/* ---- a fake SPI: the lookup of the ingest function, then the one statement webhook.c runs ---- */

SPITupleTable *SPI_tuptable;
uint64		SPI_processed;
int			SPI_result;

static char fake_plan[64];
static HeapTuple fake_rows[1];
static SPITupleTable fake_table = {.vals = fake_rows};
static int	executed;
static char *stored[4];			/* event_id, event, body, raw body */
static bool lookup;				/* the last statement was the lookup */

int
SPI_connect(void)
{
	return SPI_OK_CONNECT;
}

int
SPI_finish(void)
{
	return SPI_OK_FINISH;
}

int
SPI_execute(const char *src, bool read_only, long tcount)
{
	FUZZ_ASSERT(strstr(src, "to_regprocedure") != NULL, "an unknown statement was run: %s", src);
	lookup = true;
	SPI_tuptable = &fake_table;
	SPI_processed = 1;
	return SPI_OK_SELECT;
}

SPIPlanPtr
SPI_prepare(const char *src, int nargs, Oid *argtypes)
{
	FUZZ_ASSERT(nargs == 4, "the ingest statement takes 4 arguments, not %d", nargs);
	return (SPIPlanPtr) fake_plan;
}

int
SPI_keepplan(SPIPlanPtr plan)
{
	return 0;
}

const char *
SPI_result_code_string(int code)
{
	return "fake SPI";
}

int
SPI_execute_plan(SPIPlanPtr plan, Datum *values, const char *nulls,
				 bool read_only, long tcount)
{
	int			i;

	FUZZ_ASSERT(plan == (SPIPlanPtr) fake_plan, "an unknown plan was executed");
	for (i = 0; i < 4; i++)
	{
		FUZZ_ASSERT(nulls == NULL || nulls[i] == ' ', "argument %d of ingest is NULL", i + 1);
		stored[i] = TextDatumGetCString(values[i]);
	}
	executed++;
	lookup = false;
	SPI_tuptable = &fake_table;
	SPI_processed = 1;
	return SPI_OK_SELECT;
}

Datum
SPI_getbinval(HeapTuple tuple, TupleDesc tupdesc, int fnumber, bool *isnull)
{
	*isnull = false;
	if (lookup)
	{
		/* the database has the 0.2.0 form of mono.ingest_webhook */
		lookup = false;
		return BoolGetDatum(true);
	}
	return CStringGetTextDatum("applied");
}

Datum
SPI_datumTransfer(Datum value, bool typByVal, int typLen)
{
	return value;
}

/* ---- the driver ---- */

/* Is s "sha256:" and 64 lower-case hex digits? */
static bool
is_body_hash(const char *s)
{
	int			i;

	if (strncmp(s, "sha256:", 7) != 0 || strlen(s) != 7 + 64)
		return false;
	for (i = 7; i < 7 + 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Call mono_handle_webhook(body, secret) as the executor would. */
static Datum
call_handler(const char *body, const char *secret)
{
	LOCAL_FCINFO(fcinfo, 2);

	InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].isnull = body == NULL;
	fcinfo->args[0].value = body ? PointerGetDatum(cstring_to_text(body)) : (Datum) 0;
	fcinfo->args[1].isnull = secret == NULL;
	fcinfo->args[1].value = secret ? PointerGetDatum(cstring_to_text(secret)) : (Datum) 0;
	return mono_handle_webhook(fcinfo);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzInput	in = {data, size};
	int			flags = (int) fuzz_take_uint(&in, 1);
	char	   *secret = fuzz_take_string(&in);
	char	   *body = fuzz_take_string(&in);	/* text: cut at a NUL */
	size_t		len = strlen(body);
	char	   *event = NULL;
	char	   *event_id = NULL;
	bool		parsed;
	bool		ok;
	bool		right_secret;

	mono_webhook_secret = (char *) ((flags & 4) ? "" : CONFIGURED_SECRET);

	/* the constant-time compare is a compare */
	FUZZ_ASSERT(secrets_equal(secret, body) == (strcmp(secret, body) == 0),
				"secrets_equal disagrees with strcmp");
	FUZZ_ASSERT(secrets_equal(secret, CONFIGURED_SECRET) ==
				(strcmp(secret, CONFIGURED_SECRET) == 0),
				"secrets_equal disagrees with strcmp");

	/* the body alone */
	parsed = FUZZ_CALL(read_event(body, len, &event, &event_id));
	if (parsed)
	{
		FUZZ_ASSERT(event != NULL && event[0] != '\0', "read_event accepted an empty event");
		FUZZ_ASSERT(event_id == NULL || event_id[0] != '\0', "read_event kept an empty event_id");
	}
	{
		char	   *h = sha256_hex(body, len);

		FUZZ_ASSERT(is_body_hash(h), "body_hash gave \"%s\"", h);
		FUZZ_ASSERT(strcmp(h, sha256_hex(body, len)) == 0, "body_hash is not deterministic");
	}

	/* the whole entry point */
	executed = 0;
	memset(stored, 0, sizeof(stored));
	right_secret = !(flags & 4) && !(flags & 1) &&
		(strcmp(secret, CONFIGURED_SECRET) == 0 ||
		 strcmp(secret, sha256_hex(CONFIGURED_SECRET, strlen(CONFIGURED_SECRET))) == 0);
	ok = FUZZ_CALL(call_handler((flags & 2) ? NULL : body, (flags & 1) ? NULL : secret));
	if (!right_secret)
	{
		FUZZ_ASSERT(!ok && executed == 0, "a wrong or missing secret was accepted");
		FUZZ_ASSERT(fuzz_last_error.sqlerrcode == ((flags & 4) ?
												   ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE :
												   ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					"a wrong secret raised \"%s\"", fuzz_last_error.message);
		FUZZ_ASSERT(strstr(fuzz_last_error.message, CONFIGURED_SECRET) == NULL &&
					(fuzz_last_error.detail == NULL ||
					 strstr(fuzz_last_error.detail, CONFIGURED_SECRET) == NULL),
					"the webhook secret appears in an error");
	}
	else if (flags & 2)
		FUZZ_ASSERT(!ok && executed == 0, "a NULL body was accepted");
	else
	{
		FUZZ_ASSERT(ok == (parsed && len <= (size_t) mono_webhook_max_size),
					"mono_handle_webhook %s a body that read_event %s",
					ok ? "took" : "refused", parsed ? "accepts" : "refuses");
		FUZZ_ASSERT(executed == (ok ? 1 : 0), "ingest ran %d times", executed);
		if (ok)
		{
			FUZZ_ASSERT(strcmp(stored[1], event) == 0, "stored event \"%s\", read \"%s\"",
						stored[1], event);
			FUZZ_ASSERT(strcmp(stored[2], body) == 0, "the stored body differs from the body");
			FUZZ_ASSERT(strcmp(stored[3], body) == 0, "the stored raw body differs from the body");
			FUZZ_ASSERT(event_id ? strcmp(stored[0], event_id) == 0 :
						strcmp(stored[0], sha256_hex(body, len)) == 0,
						"stored event_id \"%s\"", stored[0]);
		}
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
