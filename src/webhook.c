/*
 * webhook.c
 *		mono_handle_webhook(body, secret): the entry point an application's
 *		webhook endpoint calls with the raw body and the mono-webhook-secret
 *		header. Verifies the secret in constant time, checks the body, and
 *		hands it to mono.ingest_webhook() (store once, apply via the state
 *		machine). Anything wrong raises an error and stores nothing.
 */
#include "mono_pay.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "utils/guc.h"

PG_FUNCTION_INFO_V1(mono_handle_webhook);

static SPIPlanPtr ingest_plan = NULL;

/* Compare two strings in time that depends only on their lengths. */
static bool
secrets_equal(const char *a, const char *b)
{
	size_t		la = strlen(a);
	size_t		lb = strlen(b);
	size_t		i;
	unsigned char diff = (la != lb);

	for (i = 0; i < la; i++)
		diff |= (unsigned char) a[i] ^ (unsigned char) b[i % (lb ? lb : 1)];
	return diff == 0;
}

/* Reject the call unless the secret matches mono_pay.webhook_secret. */
static void
verify_secret(const char *secret)
{
	if (mono_webhook_secret == NULL || mono_webhook_secret[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mono_pay.webhook_secret is not set"),
				 errhint("A superuser sets it to the webhook secret of Mono's dashboard, in postgresql.conf, and reloads.")));
	if (secret == NULL || !secrets_equal(secret, mono_webhook_secret))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("invalid webhook secret"),
				 errdetail("The mono-webhook-secret header does not match mono_pay.webhook_secret."),
				 errhint("Pass the header's value unchanged; answer Mono with 401 when this error occurs.")));
}

/* "sha256:<hex>" of the body: the identity of an event without event_id. */
static char *
body_hash(const char *body, size_t len)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	char	   *out = palloc(7 + 2 * PG_SHA256_DIGEST_LENGTH + 1);
	int			i;

	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) body, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not hash the webhook body");
	pg_cryptohash_free(ctx);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		sprintf(out + 7 + 2 * i, "%02x", digest[i]);
	return out;
}

/* Parse and check the body: a JSON object with a string "event". */
static void
read_event(const char *body, size_t len, char **event, char **event_id)
{
	json_error_t err;
	json_t	   *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	const char *e;
	const char *id;

	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("webhook body is not valid JSON"),
				 errdetail("%s at line %d, column %d.", err.text, err.line, err.column),
				 errhint("Pass the raw request body unchanged.")));
	e = mono_json_str(root, "event");
	id = mono_json_str(root, "event_id");
	*event = e ? pstrdup(e) : NULL;
	*event_id = id && id[0] ? pstrdup(id) : NULL;
	json_decref(root);
	if (*event == NULL || (*event)[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("webhook body has no \"event\""),
				 errhint("Mono's webhooks carry {\"event\": ..., \"data\": ...}; pass the raw body unchanged.")));
}

/*
 * mono_handle_webhook(body text, secret text) -> text
 * Returns 'applied', 'duplicate' or 'ignored'.
 */
Datum
mono_handle_webhook(PG_FUNCTION_ARGS)
{
	char	   *secret = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	text	   *body_text;
	char	   *body;
	size_t		len;
	char	   *event;
	char	   *event_id;
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		args[3];
	bool		isnull;
	Datum		result;

	verify_secret(secret);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("webhook body must not be null")));
	body_text = PG_GETARG_TEXT_PP(0);
	len = VARSIZE_ANY_EXHDR(body_text);
	if (len > (size_t) mono_webhook_max_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("webhook body of %zu bytes is larger than mono_pay.webhook_max_size (%d bytes)",
						len, mono_webhook_max_size),
				 errhint("Raise mono_pay.webhook_max_size if Mono's events really are this large.")));
	body = text_to_cstring(body_text);
	read_event(body, len, &event, &event_id);
	if (event_id == NULL)
		event_id = body_hash(body, len);

	SPI_connect();
	if (ingest_plan == NULL)
	{
		ingest_plan = SPI_prepare("SELECT mono.ingest_webhook($1, $2, $3::jsonb)", 3, types);
		if (ingest_plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(ingest_plan);
	}
	args[0] = CStringGetTextDatum(event_id);
	args[1] = CStringGetTextDatum(event);
	args[2] = CStringGetTextDatum(body);
	if (SPI_execute_plan(ingest_plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not store the webhook");
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result = SPI_datumTransfer(result, false, -1);
	SPI_finish();
	PG_RETURN_DATUM(result);
}
