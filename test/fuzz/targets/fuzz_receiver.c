/*
 * fuzz_receiver.c
 *		mono_pay_receiver's request handler (receiver/rx_http.c) behind the
 *		real libmicrohttpd: each input is written as raw bytes into one end
 *		of a socketpair whose other end is handed to the daemon
 *		(MHD_add_connection), so method, path, headers, chunked bodies,
 *		pipelined requests and bad framing all come from the fuzzer. The
 *		database is a fake rx_db_ingest() that checks what it is handed.
 *
 * Input: 1 flag byte, then the bytes the client sends.
 *	bits 0-3	size of the pieces the bytes are written in (1 << n, up to 32 kB)
 *	bit 4		early close: the client closes without reading an answer
 *	bit 5		the fake database answers 503 (down), else by the body's first byte
 *
 * Checked: the handler never hands the database a body longer than
 * --max-body or not NUL-terminated, nor a signature other than
 * "hmac-sha256:<64 lower-case hex>"; every answer starts with a status
 * line; ASan/UBSan: no memory error, no undefined behaviour.
 */
#include "rx.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#define FUZZ_CHECK(cond, ...) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "fuzz invariant broken: " __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

RxConfig rx_config = {
	.listen = "127.0.0.1:0",
	.path = "/mono/webhooks",
	.conninfo = "",
	.status_listen = "",
	.max_body = 4096,
	.max_header = 4096,
	.read_timeout = 10000,
	.idle_timeout = 2,
	.max_connections = 64,
	.max_per_address = 64,
	.threads = 1,
	.backoff_max = 5000,
};

static struct MHD_Daemon *daemon_fuzz;
static bool db_down;

/* Quiet: the program's log lines. */
void
rx_log(const char *level, const char *fmt, ...)
{
	(void) level;
	(void) fmt;
}

/* The fake database: check what the handler hands over, answer by the body. */
void
rx_db_ingest(const char *body, size_t len, const char *signature, RxVerdict *v)
{
	static const RxVerdict answers[] = {
		{200, RX_APPLIED, "{\"result\":\"applied\"}\n"},
		{401, RX_UNAUTHORIZED, "{\"error\":\"invalid webhook secret\"}\n"},
		{400, RX_NOT_JSON, "{\"error\":\"body is not a JSON webhook event\"}\n"},
		{503, RX_UNAVAILABLE, "{\"error\":\"retry\"}\n"}};
	size_t i;

	FUZZ_CHECK(len <= (size_t) rx_config.max_body, "a body of %zu bytes past --max-body reached the database", len);
	FUZZ_CHECK(body[len] == '\0', "the body is not terminated at its length");
	FUZZ_CHECK(strncmp(signature, "hmac-sha256:", 12) == 0 && strlen(signature) == 76,
			   "a signature of another form: %s", signature);
	for (i = 12; i < 76; i++)
		FUZZ_CHECK(strchr("0123456789abcdef", signature[i]) != NULL, "not lower-case hex: %s", signature);
	*v = db_down ? answers[3] : answers[len ? (unsigned char) body[0] % 3 : 0];
}

/* The fake database's state, for /healthz (not served here). */
bool
rx_db_up(void)
{
	return !db_down;
}

/* No database to probe. */
bool
rx_db_probe(void)
{
	return false;
}

/* Start the daemon once (no listening socket: connections are added). */
static void
start_once(void)
{
	if (daemon_fuzz != NULL)
		return;
	daemon_fuzz = rx_http_daemon_start(NULL);
	FUZZ_CHECK(daemon_fuzz != NULL, "libmicrohttpd did not start");
}

/* Write the client's bytes in pieces (giving up when the server stops reading). */
static void
send_all(int fd, const uint8_t *data, size_t size, size_t piece)
{
	size_t off = 0;

	while (off < size)
	{
		size_t n = size - off < piece ? size - off : piece;
		ssize_t w = send(fd, data + off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		struct pollfd p = {fd, POLLOUT, 0};

		if (w > 0)
		{
			off += w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return;
		if (poll(&p, 1, 200) <= 0)
			return;
	}
}

/* Read the answer until the server closes (or is silent 3 times 30 ms); check its status line. */
static void
read_answer(int fd)
{
	char buf[8192];
	size_t got = 0;
	int waits = 0;

	while (waits < 3)
	{
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t r;

		if (poll(&p, 1, 30) <= 0)
		{
			waits++;
			continue;
		}
		r = recv(fd, buf + (got < sizeof(buf) ? got : 0), got < sizeof(buf) ? sizeof(buf) - got : sizeof(buf), 0);
		if (r <= 0)
			break;
		got += r;
	}
	if (got >= 5)
		FUZZ_CHECK(memcmp(buf, "HTTP/", 5) == 0, "an answer without a status line");
}

/* One input: one connection. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int sv[2];
	uint8_t flags;

	if (size < 1)
		return 0;
	start_once();
	flags = data[0];
	db_down = (flags & 0x20) != 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return 0;
	if (MHD_add_connection(daemon_fuzz, sv[1], (struct sockaddr *) &peer, sizeof(peer)) != MHD_YES)
	{
		close(sv[0]);
		return 0;
	}
	send_all(sv[0], data + 1, size - 1, (size_t) 1 << (flags & 0x0f));
	if ((flags & 0x10) == 0)
	{
		shutdown(sv[0], SHUT_WR); /* the request is whole: the client waits for its answer */
		read_answer(sv[0]);
	}
	close(sv[0]);
	return 0;
}
