/*
 * owo_enqueue.c
 *		The outbox's entry points: mono_charge(), mono_link_beneficiary(),
 *		mono_unlink_beneficiary() and the mono_charge_trigger() trigger.
 *
 * Each validates its arguments, writes one row in the caller's transaction
 * and asks for a wake of the worker at COMMIT. Nothing is sent from here.
 */
#include "owo.h"

#include "commands/trigger.h"
#include "catalog/pg_type.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

PG_FUNCTION_INFO_V1(mono_charge);
PG_FUNCTION_INFO_V1(mono_link_beneficiary);
PG_FUNCTION_INFO_V1(mono_unlink_beneficiary);
PG_FUNCTION_INFO_V1(mono_charge_trigger);

/*
 * The statements of the outbox's entry points: calls of the intake's SQL
 * functions (sql/parts/26_owo_intake.code.sql). The fund requests go
 * through the trigger's batch insert (owo_batch.c).
 */
typedef enum EnqueueStatement
{
	CHARGE_ROW,
	LIVE_LINK,
	INSERT_LINK,
	QUEUE_UNLINK,
	NUM_STATEMENTS
} EnqueueStatement;

static MonoStatement statements[NUM_STATEMENTS] = {
	[CHARGE_ROW] = {"read the queued fund request",
					"SELECT * FROM mono.fund_request($1)",
					1,
					{TEXTOID}},
	[LIVE_LINK] = {"look up the phone's live link",
				   "SELECT * FROM mono.live_link($1)",
				   1,
				   {TEXTOID},
				   true},
	[INSERT_LINK] = {"queue a link",
					 "SELECT * FROM mono.enqueue_link($1, $2, $3, $4, $5)",
					 5,
					 {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID}},
	[QUEUE_UNLINK] = {"queue an unlink",
					  "SELECT * FROM mono.queue_unlink($1)",
					  1,
					  {TEXTOID}},
};

/* Raise "x must not be null" with a hint. */
static void
require_not_null(bool isnull, const char *what, const char *hint)
{
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", what),
				 errhint("%s", hint)));
}

/* Check every field of a charge; normalise the phone, generate a reference. */
void
mono_validate_charge(MonoCharge *a)
{
	a->phone = mono_normalize_phone(a->phone);
	mono_check_amount(a->amount);
	mono_check_description(a->description);
	if (a->reference == NULL)
		a->reference = mono_generate_reference();
	else
		mono_check_reference(a->reference);
	mono_check_currency(a->currency);
	if (a->period != NULL)
	{
		mono_check_period(a->period, a->interval);
		if (!a->start_null)
			a->start_date = mono_calendar_day(a->start_date);
		if (!a->end_null)
			a->end_date = mono_calendar_day(a->end_date);
		mono_check_dates(a->start_date, a->start_null, a->end_date, a->end_null);
	}
	else if (!a->start_null || !a->end_null)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start_date and end_date apply to recurring charges only"),
				 errhint("Pass a period (day, week, month or year) for a recurring charge, or leave the dates NULL.")));
	else if (a->interval != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("interval %d applies to recurring charges only", a->interval),
				 errhint("Pass a period (day, week, month or year) for a recurring charge, or leave interval at 1.")));
}

/*
 * Validate and queue one fund request (the caller is connected to SPI); a
 * reference used already is refused by the insert. Returns the new row
 * when want_row.
 */
static HeapTuple
queue_charge(MonoCharge *a, bool want_row)
{
	Datum ref;

	mono_validate_charge(a);
	mono_enqueue_charge(a);
	if (!want_row)
		return NULL;
	ref = CStringGetTextDatum(a->reference);
	if (mono_spi_run(&statements[CHARGE_ROW], &ref, NULL, 1) != 1)
		elog(ERROR, "fund request \"%s\" vanished once queued", a->reference);
	return SPI_tuptable->vals[0];
}

/* Read a text argument, NULL as NULL. */
static char *
text_arg(FunctionCallInfo fcinfo, int n)
{
	if (PG_ARGISNULL(n))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/*
 * mono_charge(phone, amount, description, reference, period, interval,
 *			   start_date, end_date, currency) -> mono.fund_requests
 */
Datum
mono_charge(PG_FUNCTION_ARGS)
{
	MonoCharge a;
	HeapTuple row;
	Datum result;

	mono_require_sql_version("mono_charge()");
	mono_require_writable("mono_charge()");
	memset(&a, 0, sizeof(a));
	require_not_null(PG_ARGISNULL(0), "phone", "Pass the customer's WhatsApp number, e.g. 2348012345678.");
	require_not_null(PG_ARGISNULL(1), "amount", "Pass the amount in kobo, e.g. 150000 for NGN 1,500.00.");
	require_not_null(PG_ARGISNULL(2), "description", "Describe the charge: the customer reads it in WhatsApp.");
	require_not_null(PG_ARGISNULL(8), "currency", "Pass 'NGN' or leave the default.");
	a.phone = text_arg(fcinfo, 0);
	a.amount = PG_GETARG_INT64(1);
	a.description = text_arg(fcinfo, 2);
	a.reference = text_arg(fcinfo, 3);
	a.period = text_arg(fcinfo, 4);
	if (a.period != NULL)
		require_not_null(PG_ARGISNULL(5), "interval", "Pass the number of periods between debits, at least 1.");
	a.interval = PG_ARGISNULL(5) ? 1 : PG_GETARG_INT32(5);
	a.start_null = PG_ARGISNULL(6);
	a.start_date = a.start_null ? 0 : PG_GETARG_TIMESTAMPTZ(6);
	a.end_null = PG_ARGISNULL(7);
	a.end_date = a.end_null ? 0 : PG_GETARG_TIMESTAMPTZ(7);
	a.currency = text_arg(fcinfo, 8);

	SPI_connect();
	row = queue_charge(&a, true);
	result = mono_spi_return_row(fcinfo, row, SPI_tuptable->tupdesc);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* Refuse a second live link for a phone. */
static void
check_no_live_link(const char *phone)
{
	Datum values[1] = {CStringGetTextDatum(phone)};

	if (mono_spi_run(&statements[LIVE_LINK], values, NULL, 1) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("phone \"%s\" already has a link", phone),
				 errdetail("Its status is %s.", mono_spi_text(0, "status")),
				 errhint("Unlink it with mono_unlink_beneficiary() before linking another account.")));
}

/* Insert the beneficiary row and return it (in SPI memory). */
static HeapTuple
insert_link(char *phone, char *name, char *nip, char *nuban, char *bvn)
{
	Datum v[5];
	char n[5] = {' ', ' ', ' ', ' ', ' '};

	v[0] = CStringGetTextDatum(phone);
	v[1] = CStringGetTextDatum(name);
	v[2] = CStringGetTextDatum(nip);
	v[3] = CStringGetTextDatum(nuban);
	v[4] = bvn ? CStringGetTextDatum(bvn) : (Datum) 0;
	n[4] = bvn ? ' ' : 'n';
	if (mono_spi_run(&statements[INSERT_LINK], v, n, 1) != 1)
		elog(ERROR, "mono.enqueue_link() returned no row");
	mono_wake_at_commit();
	return SPI_copytuple(SPI_tuptable->vals[0]);
}

/*
 * The first fund request of a link from arguments 5 and 6 (amount,
 * description) and, in the 12-argument form, 7 to 11 (period, interval,
 * start_date, end_date, reference): recurring when a period is given, as
 * in Mono's own link example.
 */
static void
first_charge_args(FunctionCallInfo fcinfo, MonoCharge *a)
{
	bool full = PG_NARGS() >= 12;

	memset(a, 0, sizeof(*a));
	a->amount = PG_GETARG_INT64(5);
	a->description = text_arg(fcinfo, 6);
	a->currency = "NGN";
	a->interval = 1;
	a->start_null = a->end_null = true;
	if (!full)
		return;
	a->period = text_arg(fcinfo, 7);
	if (a->period != NULL)
		require_not_null(PG_ARGISNULL(8), "first_charge_interval",
						 "Pass the number of periods between debits, at least 1.");
	a->interval = PG_ARGISNULL(8) ? 1 : PG_GETARG_INT32(8);
	a->start_null = PG_ARGISNULL(9);
	a->start_date = a->start_null ? 0 : PG_GETARG_TIMESTAMPTZ(9);
	a->end_null = PG_ARGISNULL(10);
	a->end_date = a->end_null ? 0 : PG_GETARG_TIMESTAMPTZ(10);
	a->reference = text_arg(fcinfo, 11);
}

/* Refuse first-charge arguments without an amount and a description. */
static void
check_first_charge_args(FunctionCallInfo fcinfo)
{
	bool schedule = false;
	int i;

	for (i = 7; i < PG_NARGS(); i++)
		if (i != 8 && !PG_ARGISNULL(i))
			schedule = true;
	if (PG_ARGISNULL(5) != PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("first_charge_amount and first_charge_description go together"),
				 errhint("Pass both to send a first charge with the link, or neither.")));
	if (schedule && PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the first charge's schedule needs first_charge_amount and first_charge_description"),
				 errhint("Pass the amount and the description of the first charge, or leave its other arguments NULL.")));
}

/*
 * mono_link_beneficiary(phone, account_name, nip_code, account_number, bvn,
 *						 first_charge_amount, first_charge_description
 *						 [, first_charge_period, first_charge_interval,
 *						 first_charge_start_date, first_charge_end_date,
 *						 first_charge_reference])
 * Queues a link, and optionally a first fund request sent inside it:
 * one-time, or recurring with a period (the 12-argument form).
 */
Datum
mono_link_beneficiary(PG_FUNCTION_ARGS)
{
	char *phone;
	char *name = text_arg(fcinfo, 1);
	char *nip = text_arg(fcinfo, 2);
	char *nuban = text_arg(fcinfo, 3);
	char *bvn = text_arg(fcinfo, 4);
	HeapTuple row;
	TupleDesc desc;
	Datum result;

	mono_require_sql_version("mono_link_beneficiary()");
	mono_require_writable("mono_link_beneficiary()");
	require_not_null(PG_ARGISNULL(0), "phone", "Pass the customer's WhatsApp number, e.g. 2348012345678.");
	phone = mono_normalize_phone(text_arg(fcinfo, 0));
	mono_check_account_name(name);
	mono_check_digits("nip_code", nip, 6, "Pass the 6-digit NIP code of the destination account's bank (where the money is paid), e.g. 000013.");
	mono_check_digits("account_number", nuban, 10, "Pass the 10-digit NUBAN of the destination account: where the money is paid, not the customer's own bank account.");
	if (bvn != NULL)
		mono_check_digits("bvn", bvn, 11, "Pass the 11-digit BVN, or NULL when the user is already active at Mono.");
	check_first_charge_args(fcinfo);

	SPI_connect();
	check_no_live_link(phone);
	row = insert_link(phone, name, nip, nuban, bvn);
	desc = CreateTupleDescCopy(SPI_tuptable->tupdesc);
	if (!PG_ARGISNULL(5))
	{
		MonoCharge a;
		bool isnull;

		first_charge_args(fcinfo, &a);
		a.phone = phone;
		a.link_id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		queue_charge(&a, false);
	}
	result = mono_spi_return_row(fcinfo, row, desc);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/*
 * Queue the unlink of the phone's link (mono.queue_unlink() decides what
 * becomes of the link and its first request). Returns true when a row changed.
 */
static bool
queue_unlink(const char *phone)
{
	Datum arg = CStringGetTextDatum(phone);

	return mono_spi_run(&statements[QUEUE_UNLINK], &arg, NULL, 1) > 0;
}

/* The phone's live link, or raise: none, or one Mono has not confirmed. */
static void
require_unlinkable(const char *phone)
{
	Datum arg = CStringGetTextDatum(phone);
	char *status;
	char *action;

	if (mono_spi_run(&statements[LIVE_LINK], &arg, NULL, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("phone \"%s\" has no link to unlink", phone),
				 errhint("mono.beneficiaries lists the links; only a linked or pending one can be unlinked.")));
	status = mono_spi_text(0, "status");
	action = mono_spi_text(0, "action");
	if (strcmp(action, "unlink") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the link of phone \"%s\" is not confirmed yet", phone),
				 errdetail("Its status is %s; Mono gives the link an id only once the customer completes it in WhatsApp.", status),
				 errhint("Wait for status linked, then unlink.")));
}

/*
 * mono_unlink_beneficiary(phone) -> mono.beneficiaries
 * Queues the unlink of the phone's linked beneficiary; calling it again
 * while the unlink is pending returns the row unchanged.
 */
Datum
mono_unlink_beneficiary(PG_FUNCTION_ARGS)
{
	char *phone;
	Datum result;

	mono_require_sql_version("mono_unlink_beneficiary()");
	mono_require_writable("mono_unlink_beneficiary()");
	require_not_null(PG_ARGISNULL(0), "phone", "Pass the customer's WhatsApp number, e.g. 2348012345678.");
	phone = mono_normalize_phone(text_arg(fcinfo, 0));
	SPI_connect();
	if (queue_unlink(phone))
		mono_wake_at_commit();
	else
		require_unlinkable(phone);
	result = mono_spi_return_row(fcinfo, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
	SPI_finish();
	PG_RETURN_DATUM(result);
}

/* Trigger argument keys, in MonoCharge order. */
/* The keys of mono_charge_trigger's "key=column" arguments; the first three are required. */
typedef enum TriggerKey
{
	KEY_PHONE,
	KEY_AMOUNT,
	KEY_DESCRIPTION,
	KEY_REFERENCE,
	KEY_PERIOD,
	KEY_INTERVAL,
	KEY_START_DATE,
	KEY_END_DATE,
	KEY_CURRENCY,
	NKEYS
} TriggerKey;

/* The kind of column a key takes. */
typedef enum KeyType
{
	KEY_TEXT,
	KEY_INTEGER,
	KEY_TIME
} KeyType;

static const struct
{
	const char *name;
	KeyType type;
} trigger_keys[NKEYS] = {
	[KEY_PHONE] = {"phone", KEY_TEXT},
	[KEY_AMOUNT] = {"amount", KEY_INTEGER},
	[KEY_DESCRIPTION] = {"description", KEY_TEXT},
	[KEY_REFERENCE] = {"reference", KEY_TEXT},
	[KEY_PERIOD] = {"period", KEY_TEXT},
	[KEY_INTERVAL] = {"interval", KEY_INTEGER},
	[KEY_START_DATE] = {"start_date", KEY_TIME},
	[KEY_END_DATE] = {"end_date", KEY_TIME},
	[KEY_CURRENCY] = {"currency", KEY_TEXT},
};

/* Map "key=column" trigger arguments to attribute numbers (0: unmapped). */
static void
map_trigger_args(Trigger *trig, Relation rel, int *attnums)
{
	TupleDesc desc = RelationGetDescr(rel);
	int i,
		k;

	memset(attnums, 0, sizeof(int) * NKEYS);
	for (i = 0; i < trig->tgnargs; i++)
	{
		const char *arg = trig->tgargs[i];
		const char *eq = strchr(arg, '=');

		for (k = 0; eq && k < (int) NKEYS; k++)
			if (strlen(trigger_keys[k].name) == (size_t) (eq - arg) &&
				strncmp(arg, trigger_keys[k].name, eq - arg) == 0)
				break;
		if (eq == NULL || k == (int) NKEYS)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid mono_charge_trigger argument \"%s\"", arg),
					 errhint("Arguments are key=column with key one of phone, amount, description, reference, period, interval, start_date, end_date, currency.")));
		if (attnums[k] != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("mono_charge_trigger argument \"%s\" maps key \"%s\" a second time",
							arg, trigger_keys[k].name),
					 errhint("Give each key one column.")));
		attnums[k] = SPI_fnumber(desc, eq + 1);
		if (attnums[k] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("mono_charge_trigger: column \"%s\" does not exist in table \"%s\"",
							eq + 1, RelationGetRelationName(rel)),
					 errhint("Fix the argument \"%s\" of the trigger.", arg)));
	}
	for (k = KEY_PHONE; k <= KEY_DESCRIPTION; k++)
		if (attnums[k] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("mono_charge_trigger needs a column for \"%s\"", trigger_keys[k].name),
					 errhint("Add the argument '%s=<column>' to the trigger.", trigger_keys[k].name)));
}

/* Is the column's type one of the accepted ones? */
static bool
type_in(Oid type, const Oid *ok, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (type == ok[i])
			return true;
	return false;
}

/* Fetch a mapped column as the C value the key needs; wrong types raise. */
static bool
trigger_value(HeapTuple tuple, TupleDesc desc, int attnum, TriggerKey key, Datum *out)
{
	static const Oid texts[] = {TEXTOID, VARCHAROID, BPCHAROID};
	static const Oid ints[] = {INT2OID, INT4OID, INT8OID};
	static const Oid times[] = {TIMESTAMPTZOID, TIMESTAMPOID, DATEOID};
	Oid type = SPI_gettypeid(desc, attnum);
	bool isnull;
	Datum d;
	bool ok;

	KeyType want = trigger_keys[key].type;

	ok = want == KEY_INTEGER ? type_in(type, ints, 3) :
		want == KEY_TIME	 ? type_in(type, times, 3) :
							   type_in(type, texts, 3);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("mono_charge_trigger: column \"%s\" has type %s, which cannot be the %s",
						SPI_fname(desc, attnum), format_type_be(type), trigger_keys[key].name),
				 errhint("Map %s to a column of type %s.", trigger_keys[key].name,
						 want == KEY_INTEGER  ? "smallint, integer or bigint" :
							 want == KEY_TIME ? "timestamptz, timestamp or date" :
												"text or varchar")));
	d = SPI_getbinval(tuple, desc, attnum, &isnull);
	if (isnull)
		return false;
	if (type == INT2OID)
		d = Int64GetDatum((int64) DatumGetInt16(d));
	else if (type == INT4OID)
		d = Int64GetDatum((int64) DatumGetInt32(d));
	else if (type == TIMESTAMPOID)
		d = DirectFunctionCall1(timestamp_timestamptz, d);
	else if (type == DATEOID)
		d = DirectFunctionCall1(date_timestamptz, d);
	else if (type_in(type, texts, 3))
		d = CStringGetDatum(TextDatumGetCString(d));
	*out = d;
	return true;
}

/* Build the charge of one inserted row from the mapped columns. */
static void
charge_from_row(HeapTuple tuple, TupleDesc desc, int *attnums, MonoCharge *a)
{
	Datum d[NKEYS];
	bool have[NKEYS];
	int k;

	for (k = 0; k < (int) NKEYS; k++)
		have[k] = attnums[k] && trigger_value(tuple, desc, attnums[k], k, &d[k]);
	memset(a, 0, sizeof(*a));
	require_not_null(!have[KEY_PHONE], "phone", "The row's phone column is NULL.");
	require_not_null(!have[KEY_AMOUNT], "amount", "The row's amount column is NULL.");
	require_not_null(!have[KEY_DESCRIPTION], "description", "The row's description column is NULL.");
	a->phone = DatumGetCString(d[KEY_PHONE]);
	a->amount = DatumGetInt64(d[KEY_AMOUNT]);
	a->description = DatumGetCString(d[KEY_DESCRIPTION]);
	a->reference = have[KEY_REFERENCE] ? DatumGetCString(d[KEY_REFERENCE]) : NULL;
	a->period = have[KEY_PERIOD] ? DatumGetCString(d[KEY_PERIOD]) : NULL;
	if (have[KEY_INTERVAL] &&
		(DatumGetInt64(d[KEY_INTERVAL]) < 1 || DatumGetInt64(d[KEY_INTERVAL]) > 10000))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid interval " INT64_FORMAT, DatumGetInt64(d[KEY_INTERVAL])),
				 errhint("The interval counts periods between debits: 1 to 10000.")));
	a->interval = have[KEY_INTERVAL] ? (int) DatumGetInt64(d[KEY_INTERVAL]) : 1;
	a->start_null = !have[KEY_START_DATE];
	a->start_date = have[KEY_START_DATE] ? DatumGetTimestampTz(d[KEY_START_DATE]) : 0;
	a->end_null = !have[KEY_END_DATE];
	a->end_date = have[KEY_END_DATE] ? DatumGetTimestampTz(d[KEY_END_DATE]) : 0;
	a->currency = have[KEY_CURRENCY] ? DatumGetCString(d[KEY_CURRENCY]) : "NGN";
}

/*
 * mono_charge_trigger('phone=col', 'amount=col', 'description=col', ...)
 * AFTER INSERT FOR EACH ROW: validates the row's charge now and buffers it;
 * owo_batch.c inserts the buffered charges in one statement when the statement
 * that fired the trigger finishes.
 */
Datum
mono_charge_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	int attnums[NKEYS];
	MonoCharge a;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mono_charge_trigger() must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("mono_charge_trigger() must be an AFTER INSERT ... FOR EACH ROW trigger"),
				 errhint("CREATE TRIGGER ... AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION mono_charge_trigger(...).")));
	mono_require_sql_version("mono_charge_trigger()");
	map_trigger_args(td->tg_trigger, td->tg_relation, attnums);
	charge_from_row(td->tg_trigtuple, td->tg_relation->rd_att, attnums, &a);
	mono_validate_charge(&a);
	mono_buffer_charge(&a);
	return PointerGetDatum(NULL);
}
