/*
 * rx_common.c
 *		mono_pay_receiver's floor, used by every other file: the options'
 *		values (their defaults; rx_main.c sets them from a config file and
 *		the flags) and the log line.
 */
#include "rx.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

RxConfig rx_config = {
	.listen = "127.0.0.1:8787",
	.path = "/mono/webhooks",
	.conninfo = "",
	.status_listen = "",
	.max_body = 262144,
	.max_header = 16384,
	.read_timeout = 10000,
	.idle_timeout = 30,
	.max_connections = 256,
	.max_per_address = 32,
	.threads = 16,
	.backoff_max = 5000,
};

/* One line to stderr: time, level, message. */
void
rx_log(const char *level, const char *fmt, ...)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", gmtime_r(&now, &tm));
	flockfile(stderr);
	fprintf(stderr, "%s UTC mono_pay_receiver[%d] %s: ", stamp, (int) getpid(), level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}
