/*
 * common_notify.c
 *		NOTIFY mono_pay. The row trigger behind it: every status change of a
 *		link or fund request, and every payment, sends {"table", "id",
 *		"reference", "status"} and the columns named in the trigger's
 *		arguments, whoever made the change (application, worker, webhook,
 *		polling); a fund request adds "mono_status" once Mono reported one
 *		(and a change of it alone notifies too). Ids and statuses only: any
 *		role may LISTEN. The committing transaction sends its own, in its
 *		commit (PostgreSQL's NOTIFY): a rollback sends nothing.
 */
#include "common.h"

#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#define NOTIFY_CHANNEL "mono_pay"

/* Send NOTIFY mono_pay with payload at this transaction's commit. */
void
mono_notify(const char *payload)
{
	Async_Notify(NOTIFY_CHANNEL, payload);
}

PG_FUNCTION_INFO_V1(mono_notify_status);

/* Append a text column of the row as a JSON string (null when NULL or absent). */
static void
append_text_column(StringInfo s, HeapTuple tuple, TupleDesc desc, const char *column)
{
	int attnum = SPI_fnumber(desc, column);
	bool isnull = true;
	Datum d = 0;

	if (attnum > 0)
		d = heap_getattr(tuple, attnum, desc, &isnull);
	if (isnull)
		appendStringInfoString(s, "null");
	else
		escape_json(s, TextDatumGetCString(d));
}

/* Append a column of the row as JSON: integers as numbers, the rest as strings. */
static void
append_column(StringInfo s, HeapTuple tuple, TupleDesc desc, const char *column)
{
	int attnum = SPI_fnumber(desc, column);
	Oid type = attnum > 0 ? getBaseType(SPI_gettypeid(desc, attnum)) : InvalidOid;
	bool isnull;

	if (type != INT8OID && type != INT4OID && type != INT2OID)
	{
		append_text_column(s, tuple, desc, column);
		return;
	}
	(void) heap_getattr(tuple, attnum, desc, &isnull);
	if (isnull)
		appendStringInfoString(s, "null");
	else
		appendStringInfoString(s, SPI_getvalue(tuple, desc, attnum));
}

/* AFTER INSERT OR UPDATE ... FOR EACH ROW [(extra column, ...)]: send the notification. */
Datum
mono_notify_status(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	HeapTuple row;
	TupleDesc desc;
	StringInfoData s;
	bool isnull;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mono_notify_status() must be called as a trigger")));
	row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	initStringInfo(&s);
	appendStringInfo(&s, "{\"table\":\"%s\",\"id\":" INT64_FORMAT ",\"reference\":",
					 RelationGetRelationName(td->tg_relation),
					 DatumGetInt64(heap_getattr(row, 1, desc, &isnull)));
	append_text_column(&s, row, desc, "reference");
	appendStringInfoString(&s, ",\"status\":");
	append_text_column(&s, row, desc, "status");
	for (int i = 0; i < td->tg_trigger->tgnargs; i++)
	{
		appendStringInfoChar(&s, ',');
		escape_json(&s, td->tg_trigger->tgargs[i]);
		appendStringInfoChar(&s, ':');
		append_column(&s, row, desc, td->tg_trigger->tgargs[i]);
	}
	/* what Mono last reported of a fund request, when it said anything */
	if (SPI_fnumber(desc, "mono_status") > 0 &&
		!heap_attisnull(row, SPI_fnumber(desc, "mono_status"), desc))
	{
		appendStringInfoString(&s, ",\"mono_status\":");
		append_text_column(&s, row, desc, "mono_status");
	}
	appendStringInfoChar(&s, '}');
	mono_notify(s.data);
	pfree(s.data);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(mono_notify_sql);

/* mono.notify(payload text), STRICT: NOTIFY mono_pay for the SQL triggers. */
Datum
mono_notify_sql(PG_FUNCTION_ARGS)
{
	mono_notify(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}
