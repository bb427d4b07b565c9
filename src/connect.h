/*
 * connect.h
 *		Mono Connect, shared by its files:
 *	connect_worker.c	the worker's part: claim due accounts, read each
 *					finished call, record the outcomes
 *	connect_parse.c	Mono's Connect bodies and headers as normalised JSON
 *	connect_sql.c	mono_account_sync(), mono_inflow(), mono_outflow() and
 *					small SQL helpers
 *
 * What to do next for an account (details, refresh or transactions, and
 * when) is decided in SQL, in one place: mono.account_next_step(), which
 * applies the data_status rules of mono.data_status_action(). The C code
 * only reports what Mono answered (see mono.record_account_outcomes()).
 */
#ifndef MONO_CONNECT_H
#define MONO_CONNECT_H

#include "common.h"

/* MonoJob.kind of a Connect job (mono.accounts.next_step) */
#define CONNECT_DETAILS 1	   /* GET /v2/accounts/{id} */
#define CONNECT_REFRESH 2	   /* GET .../transactions, x-realtime: true */
#define CONNECT_TRANSACTIONS 3 /* GET .../transactions?paginate=true&page=N */

/* transactions asked for per page */
#define CONNECT_PAGE_SIZE 100

/*
 * Connect accounts claimed per turn of the worker's loop, at most: bounds
 * the calls (real-time refreshes included) a backlog of due accounts (after
 * an outage, a bulk insert, many FAILED accounts recovering) starts at once,
 * within mono_pay.max_in_flight, leaving room for charges.
 */
#define CONNECT_CLAIM_MAX 16

/* account ids: [A-Za-z0-9_-], 1 to 64 characters */
#define CONNECT_ID_MAX 64

/* connect_worker.c: what the worker calls */
extern const MonoProduct mono_connect_product;
extern void mono_connect_record(MonoGroupId group, json_t *accounts);

/* connect_parse.c */
extern const char *mono_connect_step_name(int step);
extern int mono_connect_step_code(const char *name);
extern json_t *mono_connect_details(json_t *root);
extern json_t *mono_connect_refresh(CURL *easy);
extern json_t *mono_connect_transactions(json_t *root, bool *more, int *skipped);
extern json_t *mono_connect_flows(json_t *root, const char **problem);
extern json_t *mono_connect_flow_totals(json_t *root);

/* connect_sql.c */
extern bool mono_valid_account_id(const char *id);

#endif /* MONO_CONNECT_H */
