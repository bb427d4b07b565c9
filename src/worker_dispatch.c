/*
 * worker_dispatch.c
 *		The worker's transfers: one curl multi handle for the worker's life
 *		(keep-alive connections reused), driven by curl's socket and timer
 *		callbacks. curl's sockets live in an epoll set of our own, and that
 *		one descriptor sits in a WaitEventSet beside the worker's latch and
 *		postmaster death: the worker sleeps on everything at once, so a COMMIT
 *		wakes it even while transfers are in flight.
 */
#include "worker.h"

#include <sys/epoll.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

static CURLM *multi = NULL;
static int curl_epfd = -1;
static long timer_ms = -1; /* curl's requested timeout, -1: none */
static TimestampTz timer_set_at = 0;
static WaitEventSet *wait_set = NULL;
static int in_flight = 0;
static int reads_in_flight = 0; /* of them, reads (GET) */

/* curl tells us which sockets to watch; mirror that in our epoll set. */
static int
socket_cb(CURL *easy pg_attribute_unused(), curl_socket_t s, int what,
		  void *userp pg_attribute_unused(), void *socketp)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.data.fd = s;
	if (what == CURL_POLL_REMOVE)
	{
		epoll_ctl(curl_epfd, EPOLL_CTL_DEL, s, NULL);
		curl_multi_assign(multi, s, NULL);
		return 0;
	}
	ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
		((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
	if (socketp == NULL)
	{
		if (epoll_ctl(curl_epfd, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST)
			epoll_ctl(curl_epfd, EPOLL_CTL_MOD, s, &ev);
		curl_multi_assign(multi, s, (void *) 1);
	}
	else
		epoll_ctl(curl_epfd, EPOLL_CTL_MOD, s, &ev);
	return 0;
}

/* curl asks to be called back after timeout_ms (-1: cancel). */
static int
timer_cb(CURLM *m pg_attribute_unused(), long timeout_ms, void *userp pg_attribute_unused())
{
	timer_ms = timeout_ms;
	timer_set_at = GetCurrentTimestamp();
	return 0;
}

/* Create the multi handle, the epoll set and the wait event set. */
void
mono_dispatch_init(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	multi = curl_multi_init();
	curl_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (multi == NULL || curl_epfd < 0)
		elog(ERROR, "could not create the worker's HTTP multiplexer: %m");
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) mono_max_in_flight);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) mono_max_in_flight);
	wait_set = mono_create_wait_event_set(3);
	AddWaitEventToSet(wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(wait_set, WL_SOCKET_READABLE, curl_epfd, NULL, NULL);
	MemoryContextSwitchTo(old);
}

/* Is the job a read (a GET), not a send? */
static bool
is_read(MonoJob *job)
{
	return job->method != NULL && strcmp(job->method, "GET") == 0;
}

/* Start a job's transfer. */
void
mono_dispatch_add(MonoJob *job)
{
	if (job->http.easy == NULL)
		mono_http_init(&job->http);
	mono_http_prepare(&job->http, job->method, job->path, job->body, job->realtime);
	curl_easy_setopt(job->http.easy, CURLOPT_PRIVATE, job);
	job->started = GetCurrentTimestamp();
	if (curl_multi_add_handle(multi, job->http.easy) != CURLM_OK)
		elog(ERROR, "could not start a transfer");
	in_flight++;
	if (is_read(job))
		reads_in_flight++;
}

/* Let curl act on the sockets epoll reports ready. */
static void
drive_sockets(void)
{
	struct epoll_event evs[64];
	int n,
		i,
		running;

	while ((n = epoll_wait(curl_epfd, evs, lengthof(evs), 0)) > 0)
	{
		for (i = 0; i < n; i++)
		{
			int flags = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
				((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
				((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);

			curl_multi_socket_action(multi, evs[i].data.fd, flags, &running);
		}
		if (n < (int) lengthof(evs))
			break;
	}
}

/* Milliseconds until curl's timer fires (-1: no timer). */
static long
timer_remaining(void)
{
	long elapsed;

	if (timer_ms < 0)
		return -1;
	elapsed = (long) ((GetCurrentTimestamp() - timer_set_at) / 1000);
	return Max(timer_ms - elapsed, 0);
}

/*
 * Sleep until the latch, a socket, curl's timer or timeout_ms, then let curl
 * work. Returns true when the latch was set (someone committed work).
 */
bool
mono_dispatch_wait(long timeout_ms)
{
	WaitEvent events[3];
	long curl_left = timer_remaining();
	int n,
		i,
		running;
	bool latch = false;

	if (curl_left >= 0 && (timeout_ms < 0 || curl_left < timeout_ms))
		timeout_ms = curl_left;
	/* curl keeps a timer while transfers are in flight: a wait on Mono */
	n = WaitEventSetWait(wait_set, timeout_ms, events, lengthof(events),
						 mono_wait_event(curl_left >= 0));
	for (i = 0; i < n; i++)
	{
		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			latch = true;
		}
		if (events[i].events & WL_SOCKET_READABLE)
			drive_sockets();
	}
	if (timer_ms >= 0 && timer_remaining() == 0)
	{
		timer_ms = -1;
		curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	return latch;
}

/* Move finished jobs to done; returns how many finished. */
int
mono_dispatch_collect(dlist_head *done)
{
	CURLMsg *msg;
	int left,
		n = 0;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		MonoJob *job = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &job);
		job->rc = msg->data.result;
		curl_multi_remove_handle(multi, msg->easy_handle);
		dlist_push_tail(done, &job->node);
		in_flight--;
		if (is_read(job))
			reads_in_flight--;
		n++;
	}
	return n;
}

/* Transfers under way. */
int
mono_dispatch_in_flight(void)
{
	return in_flight;
}

/* Transfers under way that are reads (GET). */
int
mono_dispatch_reads_in_flight(void)
{
	return reads_in_flight;
}
