/*
 * common_key.c
 *		A refused key (issue 22), for each of Mono's two apps: Mono's 401
 *		("No valid API key provided") and 403 ("The API key doesn't have
 *		permissions") are about an app's key, not about a request. The
 *		worker then stops sending that app's calls (Direct Charge for the
 *		payments app, Connect for the Connect app), keeps every row as it
 *		was (the product puts the job back, its attempt not counted), says
 *		so in mono_worker_status() and mono.worker_counters() with one
 *		WARNING per outage, and goes on by itself: at once when a reload
 *		changes the key (SIGHUP), else with one probe call after a bounded
 *		back-off (mono_pay.retry_base doubling up to mono_pay.retry_max).
 *
 * This is the one place that decides; a product reports each answer
 * (mono_key_refused, mono_key_answered) and asks before claiming
 * (mono_key_allows). Keys are never kept here: only a hash, to see a change.
 */
#include "common.h"

#include "common/hashfn.h"

/* What an app is called, where its calls go, and which setting holds its key. */
typedef struct MonoAppInfo
{
	const char *name;	 /* "payments app" */
	const char *path;	 /* a path of its calls, to find its key */
	const char *product; /* what waits */
	const char *setting; /* the setting of its key */
} MonoAppInfo;

static const MonoAppInfo apps[MONO_APPS] = {
	{"payments app", "/owo/v1/", "Direct Charge", "mono_pay.secret_key"},
	{"Connect app", "/v2/", "Connect", "mono_pay.connect_secret_key"},
};

/* This process's view of an app's key. */
typedef struct MonoKeyState
{
	bool refused;			/* this process saw the key refused */
	uint32 refused_hash;	/* hash of the key Mono refused */
	int probes;				/* probes since the refusal */
	TimestampTz next_probe; /* when the next probe may go */
} MonoKeyState;

static MonoKeyState keys[MONO_APPS];

/* What waits while an app's key is refused ("Direct Charge", "Connect"). */
const char *
mono_app_product(MonoApp app)
{
	return apps[app].product;
}

/* A hash of an app's key, to notice that a reload changed it. */
static uint32
key_hash(MonoApp app)
{
	const char *key = mono_secret_key_for(apps[app].path);

	return hash_bytes((const unsigned char *) key, (int) strlen(key));
}

/* Publish (or clear, with NULL) an app's refusal for mono_worker_status(); true when it is news. */
static bool
publish_refusal(MonoApp app, const char *what)
{
	bool news;

	if (mono_shared == NULL)
		return what != NULL;
	SpinLockAcquire(&mono_shared->mutex);
	news = (what != NULL) != (mono_shared->key_refused_at[app] != 0);
	if (what != NULL)
	{
		strlcpy(mono_shared->key_refused[app], what, sizeof(mono_shared->key_refused[app]));
		if (news)
		{
			mono_shared->key_refused_at[app] = GetCurrentTimestamp();
			mono_shared->key_refusals[app]++;
		}
	}
	else
	{
		mono_shared->key_refused[app][0] = '\0';
		mono_shared->key_refused_at[app] = 0;
	}
	SpinLockRelease(&mono_shared->mutex);
	return news;
}

/* Mono answered one of an app's calls with 401 or 403: stop sending for that app. */
void
mono_key_refused(MonoApp app, long status, const char *message)
{
	MonoKeyState *k = &keys[app];
	const MonoAppInfo *a = &apps[app];
	const char *said = message ? message : "no message";

	if (!k->refused)
		k->probes = 0;
	k->refused = true;
	k->refused_hash = key_hash(app);
	k->next_probe = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												mono_backoff_ms(++k->probes));
	mono_set_last_error(psprintf("Mono refused the %s's key (HTTP %ld: %s): nothing is sent for %s until the key changes or a probe is taken",
								 a->name, status, said, a->product));
	if (publish_refusal(app, psprintf("%s: HTTP %ld %s", a->name, status, message ? message : "")))
		ereport(WARNING,
				(errmsg("mono_pay worker: Mono refused the %s's key (HTTP %ld: %s)",
						a->name, status, said),
				 errdetail("Nothing fails for it and no attempt counts: %s calls wait until Mono takes the key.",
						   a->product),
				 errhint("Set %s to the %s's live key and reload; the worker also probes with one call now and then.",
						 a->setting, a->name)));
}

/* Mono answered one of an app's calls otherwise: its key is taken again. */
void
mono_key_answered(MonoApp app)
{
	MonoKeyState *k = &keys[app];

	if (!k->refused)
		return;
	k->refused = false;
	k->probes = 0;
	if (publish_refusal(app, NULL))
		ereport(LOG,
				(errmsg("mono_pay worker: Mono takes the %s's key again; %s calls go on",
						apps[app].name, apps[app].product)));
}

/*
 * How many of an app's jobs may be claimed now: all (limit) while its key
 * is taken, or once a reload changed it; else one probe when its back-off
 * has passed, or none.
 */
int
mono_key_allows(MonoApp app, int limit)
{
	MonoKeyState *k = &keys[app];

	if (!k->refused)
		return limit;
	if (key_hash(app) != k->refused_hash)
	{
		mono_key_answered(app);
		return limit;
	}
	if (GetCurrentTimestamp() < k->next_probe)
		return 0;
	k->next_probe = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												mono_backoff_ms(++k->probes));
	return Min(limit, 1);
}

/* Is an app's key refused (nothing but probes goes)? */
bool
mono_key_is_refused(MonoApp app)
{
	return keys[app].refused;
}

/*
 * What an answer says of an app's key: 401 and 403 refuse it (true: the
 * job's attempt must not count), any other HTTP answer takes it.
 */
bool
mono_key_note(MonoApp app, long status, const char *message)
{
	if (status == 401 || status == 403)
	{
		mono_key_refused(app, status, message);
		return true;
	}
	if (status > 0)
		mono_key_answered(app);
	return false;
}
