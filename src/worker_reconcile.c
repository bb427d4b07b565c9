/*
 * worker_reconcile.c
 *		After a promotion (issue 23b): the first worker of a standby that
 *		was promoted reads Mono's fund requests (GET /owo/v1/fund-requests,
 *		pages of 100, at most MONO_LIST_PAGES) and records each reference
 *		the database does not know in mono.unknown_references, which
 *		mono.orphans lists: the charges an asynchronous failover lost are
 *		seen at once, not only when Mono reports on each. Until it has
 *		read them, the node's seal says "promoted"; it tries again at each
 *		sweep, and sending goes on meanwhile.
 */
#include "worker.h"
#include "owo.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "utils/memutils.h"

static MonoStatement record_unknown = {
	"record the references Mono holds that the database does not know",
	"SELECT mono.record_unknown_references($1)",
	1,
	{JSONBOID}};

/* Append the items of one page to all; true when Mono says more follow. */
static bool
read_page(int offset, json_t *all)
{
	MonoAnswer answer;
	json_t *root;
	json_t *data;
	json_t *has_more;
	bool more;

	mono_http_get(mono_page_path("/owo/v1/fund-requests", offset), false, NULL, &answer);
	if (answer.status != 200)
		mono_raise_http_error(answer.status, answer.body, answer.len);
	root = mono_json_parse(answer.body, answer.len, "Mono's list of fund requests");
	data = json_object_get(root, "data");
	if (!json_is_array(data))
	{
		json_decref(root);
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("Mono's list of fund requests has no data array"),
				 errhint("Check mono_pay.api_url; the reconciliation is tried again at the next sweep.")));
	}
	json_array_extend(all, data);
	has_more = json_object_get(json_object_get(root, "pagination"), "has_more");
	more = json_array_size(data) > 0 &&
		(json_is_boolean(has_more) ? json_is_true(has_more) : json_array_size(data) >= MONO_PAGE_SIZE);
	json_decref(root);
	return more;
}

/* Read up to MONO_LIST_PAGES pages and record the unknown references (logged). */
static void
reconcile(void)
{
	json_t *all = json_array();
	int pages = 0;
	bool more = true;
	size_t read = 0;
	uint64 found = 0;
	bool isnull;

	PG_TRY();
	{
		while (more && pages < MONO_LIST_PAGES)
		{
			more = read_page((int) json_array_size(all), all);
			pages++;
		}
		read = json_array_size(all);
		mono_tx_begin("mono_pay: reconciling with Mono after a promotion");
		mono_spi_run(&record_unknown, (Datum[]){mono_json_jsonb(all)}, NULL, 1);
		found = (uint64) DatumGetInt64(mono_spi_value(0, 1, &isnull));
		mono_tx_commit();
	}
	PG_FINALLY();
	{
		json_decref(all);
	}
	PG_END_TRY();
	ereport(LOG,
			(errmsg("mono_pay worker: reconciled with Mono after a promotion: %zu fund requests read, " UINT64_FORMAT " references the database does not know (listed in mono.orphans)",
					read, found),
			 more ? errdetail("Only the first %d pages of Mono's list were read.", MONO_LIST_PAGES) : 0));
}

/* Reconcile, then seal this node as the primary. */
static void
reconcile_and_seal(void)
{
	reconcile();
	(void) mono_seal_reconciled();
}

/*
 * At a sweep: when the seal says this node was promoted, reconcile with
 * Mono, then seal it as the primary. A failure is logged and the seal
 * kept: the next sweep tries again.
 */
void
mono_reconcile_if_due(void)
{
	if (mono_seal_reconcile_due())
		(void) mono_run_step(reconcile_and_seal, "reconciliation with Mono after a promotion",
							 "It is tried again at the next sweep; until then mono.orphans may miss charges the failover lost.");
}
