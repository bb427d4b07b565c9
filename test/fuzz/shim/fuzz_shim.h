/*
 * fuzz_shim.h
 *		What the fuzz targets share: the few PostgreSQL backend services the
 *		fuzzed files of src/ need (pg_shim.c), a fake of the libcurl calls
 *		that report a finished transfer (fake_curl.c), and the driver's
 *		helpers.
 *
 * Memory: every palloc() is its own malloc(), so AddressSanitizer sees the
 * exact bounds of each chunk (PostgreSQL's allocator hides overruns inside
 * its blocks), and fuzz_end_input() frees every chunk the input left, like
 * the reset of a per-call memory context.
 *
 * Errors: ereport(ERROR) / elog(ERROR) longjmp to the innermost PG_TRY, as
 * in the backend; FUZZ_CALL() is that PG_TRY for the drivers. An error with
 * no PG_TRY around it, FATAL or PANIC aborts: the fuzzer reports a crash.
 */
#ifndef FUZZ_SHIM_H
#define FUZZ_SHIM_H

#include "common.h"

/* the last error raised (valid until fuzz_end_input) */
typedef struct FuzzError
{
	int			elevel;
	int			sqlerrcode;
	char	   *message;
	char	   *detail;
	char	   *hint;
	const char *filename;
	int			lineno;
} FuzzError;

extern FuzzError fuzz_last_error;

/* Free every palloc'd chunk and forget the last error (end of an input). */
extern void fuzz_end_input(void);

/* Abort with a message: a broken invariant is a crash for the fuzzer. */
extern void fuzz_fail(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();

#define FUZZ_ASSERT(cond, ...) \
	do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

/*
 * Run a statement; true when it returned, false when it raised ERROR
 * (fuzz_last_error then says which).
 */
#define FUZZ_CALL(stmt) \
	({ \
		volatile bool fuzz_ok_ = true; \
		PG_TRY(); \
		{ \
			stmt; \
		} \
		PG_CATCH(); \
		{ \
			fuzz_ok_ = false; \
		} \
		PG_END_TRY(); \
		fuzz_ok_; \
	})

/* A NUL-terminated palloc'd copy of bytes (cut at the first NUL, like text). */
extern char *fuzz_cstring(const uint8_t *data, size_t len);

/* A palloc'd text datum of bytes (cut at the first NUL). */
extern text *fuzz_text(const uint8_t *data, size_t len);

/* Is the string valid UTF-8 (what a UTF8 database guarantees for text)? */
extern bool fuzz_valid_utf8(const char *s, size_t len);

/* fake_curl.c: the answer the next curl_easy_getinfo()/curl_easy_header() give */
typedef struct FuzzTransfer
{
	long		response_code;
	curl_off_t	retry_after;	/* seconds */
	curl_off_t	connect_time;	/* microseconds; 0: never connected */
	curl_off_t	appconnect_time;
	curl_off_t	pretransfer_time;
	curl_off_t	starttransfer_time;
	const char *effective_url;
	const char *headers;		/* "name: value\n..." (NUL-terminated) */
} FuzzTransfer;

/* A fake easy handle answering from t (valid while t is). */
extern CURL *fuzz_curl_handle(FuzzTransfer *t);

#endif							/* FUZZ_SHIM_H */
