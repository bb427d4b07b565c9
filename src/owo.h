/*
 * owo.h
 *		Mono Direct Charge ("owo", Mono's name for it in its paths): its files
 *
 *	owo_validate.c	argument checks and normalisation (phones, references, ...)
 *	owo_enqueue.c	mono_charge(), mono_link/unlink_beneficiary(), the trigger
 *	owo_batch.c		the trigger's buffer, inserted once per statement
 *	owo_body.c		request bodies, and mono_user_status()
 *	owo_queue.c		the worker's claims of links, charges and reads
 *	owo_outcome.c	what each answer of Mono is, as a verdict for SQL
 *	owo_wait.c		mono_wait()
 *
 * "Link" and "beneficiary" name the same thing: Mono's paths say
 * beneficiaries, its prompt says link; mono.beneficiaries holds both the
 * link and unlink actions.
 */
#ifndef MONO_OWO_H
#define MONO_OWO_H

#include "common.h"

#include "access/htup.h"
#include "access/tupdesc.h"

/* a fund request to queue (owo_enqueue.c validates it, owo_batch.c buffers it) */
typedef struct MonoCharge
{
	char *phone;
	int64 amount;
	char *description;
	char *reference;
	char *period; /* NULL: one-time */
	int interval;
	TimestampTz start_date;
	bool start_null;
	TimestampTz end_date;
	bool end_null;
	char *currency;
	int64 link_id; /* 0: sent on its own */
} MonoCharge;

/* The Direct Charge calls the worker makes (MonoJob.kind). */
typedef enum OwoJobKind
{
	OWO_CHARGE,		   /* POST /owo/v1/fund-requests */
	OWO_LINK,		   /* POST /owo/v1/beneficiaries/link */
	OWO_UNLINK,		   /* POST /owo/v1/beneficiaries/unlink */
	OWO_SETTLE_CHARGE, /* GET fund requests of the phone: find ours */
	OWO_SETTLE_LINK,   /* GET beneficiaries of the phone */
	OWO_SETTLE_UNLINK, /* GET the beneficiary by id */
	OWO_POLL_CHARGE,   /* GET a waiting fund request (by id or phone) */
	OWO_POLL_PAYMENTS, /* GET the payments of a fund request */
	OWO_POLL_LINK,	   /* GET a link's phone's list */
	OWO_NUM_KINDS
} OwoJobKind;

/* What a kind of call is: a send, a settling read, or a polling read; of which table. */
typedef enum OwoCallRole
{
	OWO_SEND,	/* its answer decides the row (expects sending) */
	OWO_SETTLE, /* reads Mono to settle an unknown row */
	OWO_POLL	/* reads Mono as webhooks would have told */
} OwoCallRole;

typedef struct OwoKindInfo
{
	OwoCallRole role;
	MonoGroupId group; /* where its outcome goes (sends and settles) */
} OwoKindInfo;

extern const OwoKindInfo owo_kinds[OWO_NUM_KINDS];

#define MONO_PAGE_SIZE 100 /* Mono's largest Owo page */

/* owo_validate.c */
extern char *mono_normalize_phone(const char *phone);
extern void mono_check_reference(const char *reference);
extern void mono_check_amount(int64 amount);
extern void mono_check_description(const char *description);
extern void mono_check_period(const char *period, int interval);
extern TimestampTz mono_calendar_day(TimestampTz t);
extern void mono_check_dates(TimestampTz start, bool start_null,
							 TimestampTz end, bool end_null);
extern void mono_check_currency(const char *currency);
extern void mono_check_digits(const char *what, const char *value, int len,
							  const char *hint);
extern void mono_check_account_name(const char *name);
extern char *mono_generate_reference(void);

/* owo_enqueue.c */
extern void mono_validate_charge(MonoCharge *a);

/* owo_batch.c */
extern void mono_batch_init(void);
extern void mono_buffer_charge(MonoCharge *a);
extern void mono_flush_charges(void);
extern void mono_enqueue_charge(const MonoCharge *a);
extern void mono_discard_charges(int level);

/* owo_body.c */
extern char *mono_charge_body(HeapTuple tuple, TupleDesc desc, bool with_phone);
extern char *mono_link_body(HeapTuple tuple, TupleDesc desc, char *charge_body);
extern const char *mono_user_status_name(const char *status);
extern void mono_require_secret_key(void);

/* owo_outcome.c */
extern void mono_owo_outcome(MonoJob *job, MonoOutcomes *out);
extern bool mono_owo_next_page(MonoJob *job, MemoryContext cxt);
extern char *mono_page_path(const char *list_path, int offset);

/* owo_queue.c: what the worker calls */
extern const MonoProduct mono_owo_product;
extern void mono_owo_record(MonoGroupId group, json_t *outcomes);

#endif /* MONO_OWO_H */
