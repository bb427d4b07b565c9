/*
 * rx_main.c
 *		mono_pay_receiver's options and life: defaults, then a config file
 *		(--config FILE: "name = value" lines, the long options' names), then
 *		the flags; listen; wait for SIGTERM or SIGINT; stop (requests in
 *		progress finish first).
 */
#include "rx.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MONO_PAY_VERSION
#define MONO_PAY_VERSION "unknown"
#endif

/* One option: its name, where it goes, and for numbers their range. */
typedef struct RxOption
{
	const char *name;
	char **text;
	long *number;
	long min;
	long max;
	const char *help;
} RxOption;

static const RxOption options[] = {
	{"listen", &rx_config.listen, NULL, 0, 0, "host:port of the webhook path (127.0.0.1:8787)"},
	{"path", &rx_config.path, NULL, 0, 0, "the one path served (/mono/webhooks)"},
	{"conninfo", &rx_config.conninfo, NULL, 0, 0, "libpq connection string (default: the PG* variables)"},
	{"status-listen", &rx_config.status_listen, NULL, 0, 0, "loopback host:port of /healthz and /metrics (none)"},
	{"max-body", NULL, &rx_config.max_body, 1024, 16777216, "largest body in bytes; past it 413 (262144)"},
	{"max-header", NULL, &rx_config.max_header, 4096, 1048576, "bytes of request line and headers; past it 431 (16384)"},
	{"read-timeout", NULL, &rx_config.read_timeout, 100, 600000, "ms a client has to send a whole request (10000)"},
	{"idle-timeout", NULL, &rx_config.idle_timeout, 1, 3600, "s a silent connection stays open (30)"},
	{"max-connections", NULL, &rx_config.max_connections, 1, 100000, "open connections in all (256)"},
	{"max-per-address", NULL, &rx_config.max_per_address, 1, 100000, "open connections of one client address (32)"},
	{"threads", NULL, &rx_config.threads, 1, 256, "HTTP threads, one database connection each (16)"},
	{"backoff-max", NULL, &rx_config.backoff_max, 100, 600000, "longest ms between reconnect attempts (5000)"},
	{NULL}};

/* Set one option by name; false (logged) when the name or value is bad. */
static bool
set_option(const char *name, const char *value, const char *where)
{
	const RxOption *o;
	char *end;
	long n;

	for (o = options; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			break;
	if (o->name == NULL)
	{
		rx_log("FATAL", "%s: unknown option \"%s\" (see --help)", where, name);
		return false;
	}
	if (o->text != NULL)
	{
		*o->text = strdup(value);
		return true;
	}
	errno = 0;
	n = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || n < o->min || n > o->max)
	{
		rx_log("FATAL", "%s: %s must be a whole number from %ld to %ld, not \"%s\"", where, name, o->min, o->max, value);
		return false;
	}
	*o->number = n;
	return true;
}

/* Strip spaces at both ends, in place. */
static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

/* Read a config file of "name = value" lines (# starts a comment). */
static bool
read_config(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[4096];
	char where[512];
	int lineno = 0;

	if (f == NULL)
	{
		rx_log("FATAL", "could not open config file \"%s\": %s", file, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char *eq;
		char *s = trim(line);

		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%d", file, lineno);
		if ((eq = strchr(s, '=')) == NULL)
		{
			rx_log("FATAL", "%s: expected name = value", where);
			fclose(f);
			return false;
		}
		*eq = '\0';
		if (!set_option(trim(s), trim(eq + 1), where))
		{
			fclose(f);
			return false;
		}
	}
	fclose(f);
	return true;
}

/* Print the usage. */
static void
usage(void)
{
	const RxOption *o;

	printf("mono_pay_receiver %s: Mono's webhooks over HTTP into mono_handle_webhook()\n\n"
		   "Usage: mono_pay_receiver [--config FILE] [--NAME VALUE ...]\n\n"
		   "  --config FILE           \"name = value\" lines of the options below (flags win)\n",
		   MONO_PAY_VERSION);
	for (o = options; o->name != NULL; o++)
		printf("  --%-22s%s\n", o->name, o->help);
	printf("  --help, --version\n");
}

/* Defaults, then --config FILE, then the other flags (as --name value or --name=value). */
static int
parse_args(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && !read_config(argv[i + 1]))
			return 1;
	for (i = 1; i < argc; i++)
	{
		char *arg = argv[i];
		char *eq;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return usage(), -1;
		if (strcmp(arg, "--version") == 0)
			return printf("mono_pay_receiver %s\n", MONO_PAY_VERSION), -1;
		if (strncmp(arg, "--", 2) != 0)
			return rx_log("FATAL", "unexpected argument \"%s\" (see --help)", arg), 1;
		if ((eq = strchr(arg, '=')) != NULL)
			*eq = '\0';
		else if (i + 1 >= argc)
			return rx_log("FATAL", "%s needs a value", arg), 1;
		if (strcmp(arg + 2, "config") != 0 && !set_option(arg + 2, eq ? eq + 1 : argv[i + 1], "command line"))
			return 1;
		i += eq ? 0 : 1;
	}
	if (rx_config.path[0] != '/')
		return rx_log("FATAL", "--path must start with a slash, e.g. /mono/webhooks"), 1;
	if (!rx_address_ok(rx_config.listen, false, "--listen") ||
		(rx_config.status_listen[0] != '\0' && !rx_address_ok(rx_config.status_listen, true, "--status-listen")))
		return 1;
	return 0;
}

/* Parse, listen, wait for a signal to stop, stop. */
int
main(int argc, char **argv)
{
	sigset_t stop;
	int rc = parse_args(argc, argv);
	int sig = 0;

	if (rc != 0)
		return rc < 0 ? 0 : 2;
	signal(SIGPIPE, SIG_IGN);
	/* the threads started from now on inherit the mask: only main takes these */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	if (!rx_http_start())
		return 1;
	if (!rx_db_probe())
		rx_log("LOG", "the database is not reachable yet: webhooks are answered 503 until it is");
	while (sigwait(&stop, &sig) == 0 && sig == SIGHUP)
		rx_log("LOG", "SIGHUP ignored: restart the program to change its options");
	rx_log("LOG", "stopping (signal %d): requests in progress finish first", sig);
	rx_http_stop();
	rx_log("LOG", "stopped");
	return 0;
}
