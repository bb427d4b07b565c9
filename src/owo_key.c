/*
 * owo_key.c
 *		A refused key (issue 22): Mono's 401 ("No valid API key provided")
 *		and 403 ("The API key doesn't have permissions") are about the
 *		payments app's key, not about a request. The worker then stops
 *		sending Direct Charge calls, keeps every row as it was (the verdict
 *		key_refused puts a charge or link back in the queue, its attempt not
 *		counted), says so in mono_worker_status() with one WARNING per
 *		outage, and goes on by itself: at once when a reload changes the key
 *		(SIGHUP), else with one probe call after a bounded back-off
 *		(mono_pay.retry_base doubling up to mono_pay.retry_max).
 *
 * The key itself is never kept here: only a hash of it, to see a change.
 */
#include "owo.h"

#include "common/hashfn.h"

static bool refused = false;		/* this process saw the key refused */
static uint32 refused_key_hash = 0; /* hash of the key Mono refused */
static int probes = 0;				/* probes since the refusal */
static TimestampTz next_probe = 0;	/* when the next probe may go */

/* A hash of the payments app's key, to notice that a reload changed it. */
static uint32
key_hash(void)
{
	const char *key = mono_secret_key_for("/owo/v1/");

	return hash_bytes((const unsigned char *) key, (int) strlen(key));
}

/* Publish (or clear, with NULL) the refusal for mono_worker_status(); true when it is news. */
static bool
publish_refusal(const char *what)
{
	bool news;

	if (mono_shared == NULL)
		return what != NULL;
	SpinLockAcquire(&mono_shared->mutex);
	news = (what != NULL) != (mono_shared->key_refused_at != 0);
	if (what != NULL)
	{
		strlcpy(mono_shared->key_refused, what, sizeof(mono_shared->key_refused));
		if (news)
		{
			mono_shared->key_refused_at = GetCurrentTimestamp();
			mono_shared->key_refusals++;
		}
	}
	else
	{
		mono_shared->key_refused[0] = '\0';
		mono_shared->key_refused_at = 0;
	}
	SpinLockRelease(&mono_shared->mutex);
	return news;
}

/* Mono answered a Direct Charge call with 401 or 403: stop sending for the payments app. */
void
mono_owo_key_refused(long status, const char *message)
{
	char what[128];

	snprintf(what, sizeof(what), "payments app: HTTP %ld %s", status,
			 message ? message : "");
	if (!refused)
		probes = 0;
	refused = true;
	refused_key_hash = key_hash();
	next_probe = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											 mono_backoff_ms(++probes));
	mono_set_last_error(psprintf("Mono refused the payments app's key (HTTP %ld: %s): nothing is sent for Direct Charge until the key changes or a probe is taken",
								 status, message ? message : "no message"));
	if (publish_refusal(what))
		ereport(WARNING,
				(errmsg("mono_pay worker: Mono refused the payments app's key (HTTP %ld: %s)",
						status, message ? message : "no message"),
				 errdetail("No fund request or link fails for it and no attempt counts: Direct Charge calls wait until Mono takes the key."),
				 errhint("Set mono_pay.secret_key to the payments app's live key and reload; the worker also probes with one call now and then.")));
}

/* Mono answered a Direct Charge call otherwise: the key is taken again. */
void
mono_owo_key_answered(void)
{
	if (!refused)
		return;
	refused = false;
	probes = 0;
	if (publish_refusal(NULL))
		ereport(LOG,
				(errmsg("mono_pay worker: Mono takes the payments app's key again; Direct Charge calls go on")));
}

/*
 * How many Direct Charge jobs may be claimed now: all (limit) while the key
 * is taken, or once a reload changed it; else one probe when its back-off
 * has passed, or none.
 */
int
mono_owo_key_allows(int limit)
{
	if (!refused)
		return limit;
	if (key_hash() != refused_key_hash)
	{
		mono_owo_key_answered();
		return limit;
	}
	if (GetCurrentTimestamp() < next_probe)
		return 0;
	next_probe = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											 mono_backoff_ms(++probes));
	return Min(limit, 1);
}

/* Is the payments app's key refused (nothing but probes goes)? */
bool
mono_owo_key_is_refused(void)
{
	return refused;
}
