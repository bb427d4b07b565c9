/*
 * worker.h
 *		The background worker's pieces: a job is one HTTP call for one row;
 *		queue.c claims jobs and records their outcomes, dispatch.c runs them
 *		on a curl multi handle, outcome.c decides what each result means.
 */
#ifndef MONO_WORKER_H
#define MONO_WORKER_H

#include "mono_pay.h"

#include "access/htup.h"
#include "access/xlogdefs.h"
#include "access/tupdesc.h"
#include "lib/ilist.h"

typedef enum MonoJobKind
{
	JOB_CHARGE,					/* POST /owo/v1/fund-requests */
	JOB_LINK,					/* POST /owo/v1/beneficiaries/link */
	JOB_UNLINK,					/* POST /owo/v1/beneficiaries/unlink */
	JOB_SETTLE_CHARGE,			/* GET fund requests of the phone: find ours */
	JOB_SETTLE_LINK,			/* GET beneficiaries of the phone */
	JOB_SETTLE_UNLINK,			/* GET the beneficiary by id */
	JOB_POLL_CHARGE,			/* GET a waiting fund request (by id or phone) */
	JOB_POLL_PAYMENTS,			/* GET the payments of a fund request */
	JOB_POLL_LINK,				/* GET a link: by phone while waiting, by id once linked */
	JOB_CONNECT					/* a Mono Connect call; connect.c owns it */
} MonoJobKind;

typedef struct MonoJob
{
	dlist_node	node;
	MonoJobKind kind;
	int64		id;				/* row id in fund_requests or beneficiaries */
	int			attempts;		/* attempts including this one */
	char	   *reference;		/* fund request reference (charges) */
	char	   *phone;
	char	   *mono_id;		/* Mono's id (unlink) */
	char	   *account_id;		/* Connect account (JOB_CONNECT) */
	int			step;			/* which Connect call (connect.c's own codes) */
	bool		realtime;		/* send x-realtime: true */
	char	   *method;
	char	   *path;
	char	   *body;			/* JSON request body, or NULL for GET */
	/* what identifies our object in a read (find_in_list) */
	int64		amount;			/* a charge's amount */
	char	   *type;			/* a charge's type (onetime, recurring) */
	char	   *row_status;		/* the row's status when claimed (polls) */
	int			prior_http;		/* the HTTP status that made the row unknown */
	/* an Owo list read page by page (limit 100, offset), bounded by mono_pay.list_pages */
	char	   *list_path;		/* the list's path and query without limit/offset */
	int			first_offset;	/* where this read started */
	int			offset;			/* the page being read */
	int			pages;			/* pages read so far */
	bool		more;			/* stopped at the bound: Mono has more */
	bool		list_failed;	/* a page could not be read */
	json_t	   *items;			/* the items of the pages read so far */
	json_t	   *page_log;		/* mono.http_log rows of the pages before the last */
	MonoHttp	http;
	CURLcode	rc;
	TimestampTz started;
	XLogRecPtr	claim_lsn;		/* end of its claim's commit record (issue 12) */
} MonoJob;

/* the outcomes of finished jobs, one JSON array per table group */
typedef struct MonoOutcomes
{
	json_t	   *charges;		/* mono.fund_requests */
	json_t	   *links;			/* mono.beneficiaries */
	json_t	   *accounts;		/* connect.c's own format */
	json_t	   *events;			/* owo events read back by polling */
	json_t	   *log;			/* mono.http_log rows, when mono_pay.http_log is on */
} MonoOutcomes;

/* outcome.c: what a finished job means, as a row update */
extern void mono_outcome(MonoJob *job, MonoOutcomes *out);
extern int64 mono_backoff_ms(int attempts);
extern bool mono_next_page(MonoJob *job, MemoryContext cxt);
extern char *mono_page_path(const char *list_path, int offset);

#define MONO_PAGE_SIZE 100		/* Mono's largest Owo page */

/* queue.c */
extern void mono_queue_recover(void);
extern int	mono_queue_exchange(MonoOutcomes *out, bool sweep, int limit, int poll_budget,
								dlist_head *jobs, MemoryContext cxt);
extern void mono_queue_maintain(void);
extern char *mono_extension_version(void);

/* ha.c: the worker's checks (issue 12) */
extern bool mono_ha_waits_for_standby(void);
extern XLogRecPtr mono_ha_flushed(bool *connected);
extern bool mono_ha_identity_ok(char *why, size_t len);

/* dispatch.c */
extern void mono_dispatch_init(void);
extern void mono_dispatch_add(MonoJob *job);
extern bool mono_dispatch_wait(long timeout_ms);
extern int	mono_dispatch_collect(dlist_head *done);
extern int	mono_dispatch_in_flight(void);

/*
 * connect.c: Mono Connect's part of the worker. claim runs inside the claim
 * transaction (SPI connected) and appends JOB_CONNECT jobs; outcome runs
 * outside any transaction and appends to out->accounts; record runs inside
 * the record transaction (SPI connected).
 */
extern int	mono_connect_claim(int limit, dlist_head *jobs, MemoryContext cxt);
extern void mono_connect_outcome(MonoJob *job, MonoOutcomes *out);
extern void mono_connect_record(json_t *accounts);

/* owo.c */
extern char *mono_charge_body(HeapTuple tuple, TupleDesc desc, bool with_phone);
extern char *mono_link_body(HeapTuple tuple, TupleDesc desc, char *charge_body);

#endif							/* MONO_WORKER_H */
