/*
 * pg_shim.c
 *		The PostgreSQL backend services that the fuzzed files of src/ call,
 *		for a fuzz driver running outside the server:
 *
 *		memory		palloc family and memory contexts (every chunk its own
 *					malloc, all freed by fuzz_end_input())
 *		errors		errstart/errfinish and friends: ERROR longjmps to the
 *					innermost PG_TRY (PG_exception_stack), as in elog.c
 *		text		text_to_cstring, cstring_to_text, pg_detoast_datum_packed
 *					(plain 1- and 4-byte headers: fuzz inputs are never toasted)
 *		encoding	pg_mbstrlen and friends for a UTF8 database
 *		time		timestamptz_to_str (digits only: enough for messages)
 *
 * StringInfo, psprintf, cryptohash (SHA-256), pg_prng, pg_strcasecmp and
 * pg_strong_random come from PostgreSQL's own libpgcommon/libpgport
 * (frontend builds), which call the palloc/pfree defined here. Anything
 * else the linked objects reference is an aborting stub (gen-stubs).
 */
#include "fuzz_shim.h"

#include "common/jsonapi.h"
#include "datatype/timestamp.h"
#include "mb/pg_wchar.h"
#include "storage/proc.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include <time.h>

/* ------------------------------------------------------------------ */
/* memory																*/
/* ------------------------------------------------------------------ */

/*
 * a chunk: list links, then the caller's bytes (16-byte aligned), preceded
 * by the context pointer as in PostgreSQL (GetMemoryChunkContext reads it)
 */
typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	size_t		size;
	MemoryContext context;
} Chunk;

static Chunk chunks = {&chunks, &chunks, 0, 0};

/* any context: they all allocate from the one list */
static char fake_context[256];

MemoryContext CurrentMemoryContext = (MemoryContext) fake_context;
MemoryContext TopMemoryContext = (MemoryContext) fake_context;
MemoryContext ErrorContext = (MemoryContext) fake_context;
MemoryContext CacheMemoryContext = (MemoryContext) fake_context;
MemoryContext TopTransactionContext = (MemoryContext) fake_context;
MemoryContext CurTransactionContext = (MemoryContext) fake_context;
MemoryContext PortalContext = (MemoryContext) fake_context;
MemoryContext MessageContext = (MemoryContext) fake_context;
MemoryContext PostmasterContext = (MemoryContext) fake_context;

static void *
chunk_alloc(Size size, int flags)
{
	Chunk	   *c;

	if (!(flags & MCXT_ALLOC_HUGE) && !AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	c = malloc(sizeof(Chunk) + size);
	if (c == NULL)
	{
		if (flags & MCXT_ALLOC_NO_OOM)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on request of size %zu.", size)));
	}
	c->size = size;
	c->context = (MemoryContext) fake_context;
	c->next = chunks.next;
	c->prev = &chunks;
	chunks.next->prev = c;
	chunks.next = c;
	if (flags & MCXT_ALLOC_ZERO)
		memset(c + 1, 0, size);
	return c + 1;
}

static Chunk *
chunk_of(void *pointer)
{
	return ((Chunk *) pointer) - 1;
}

static void
chunk_unlink(Chunk *c)
{
	c->prev->next = c->next;
	c->next->prev = c->prev;
}

void *
palloc(Size size)
{
	return chunk_alloc(size, 0);
}

void *
palloc0(Size size)
{
	return chunk_alloc(size, MCXT_ALLOC_ZERO);
}

void *
palloc_extended(Size size, int flags)
{
	return chunk_alloc(size, flags);
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return chunk_alloc(size, 0);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return chunk_alloc(size, MCXT_ALLOC_ZERO);
}

void *
MemoryContextAllocZeroAligned(MemoryContext context, Size size)
{
	return chunk_alloc(size, MCXT_ALLOC_ZERO);
}

void *
MemoryContextAllocExtended(MemoryContext context, Size size, int flags)
{
	return chunk_alloc(size, flags);
}

void *
MemoryContextAllocHuge(MemoryContext context, Size size)
{
	return chunk_alloc(size, MCXT_ALLOC_HUGE);
}

void
pfree(void *pointer)
{
	Chunk	   *c = chunk_of(pointer);

	chunk_unlink(c);
	free(c);
}

void *
repalloc(void *pointer, Size size)
{
	Chunk	   *c = chunk_of(pointer);
	void	   *copy;

	/* a fresh chunk each time, so that stale pointers are use-after-free */
	copy = chunk_alloc(size, 0);
	memcpy(copy, pointer, Min(size, c->size));
	pfree(pointer);
	return copy;
}

void *
repalloc_huge(void *pointer, Size size)
{
	return repalloc(pointer, size);
}

char *
MemoryContextStrdup(MemoryContext context, const char *string)
{
	size_t		len = strlen(string) + 1;
	char	   *copy = chunk_alloc(len, 0);

	memcpy(copy, string, len);
	return copy;
}

char *
pstrdup(const char *in)
{
	return MemoryContextStrdup(CurrentMemoryContext, in);
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

char *
pchomp(const char *in)
{
	size_t		n = strlen(in);

	while (n > 0 && in[n - 1] == '\n')
		n--;
	return pnstrdup(in, n);
}

/* Contexts are not separate here: creating one gives the one list. */
MemoryContext
AllocSetContextCreateInternal(MemoryContext parent, const char *name,
							  Size minContextSize, Size initBlockSize,
							  Size maxBlockSize)
{
	return (MemoryContext) fake_context;
}

void
MemoryContextReset(MemoryContext context)
{
}

void
MemoryContextDelete(MemoryContext context)
{
}

void
MemoryContextSetIdentifier(MemoryContext context, const char *id)
{
}

/* ------------------------------------------------------------------ */
/* errors																*/
/* ------------------------------------------------------------------ */

sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;
volatile sig_atomic_t InterruptPending = false;
volatile sig_atomic_t QueryCancelPending = false;
volatile sig_atomic_t ProcDiePending = false;
volatile uint32 InterruptHoldoffCount = 0;
volatile uint32 QueryCancelHoldoffCount = 0;
volatile uint32 CritSectionCount = 0;

FuzzError	fuzz_last_error;

/*
 * the reports being built (errstart .. errfinish); a report's arguments may
 * raise reports of their own, as in elog.c's errordata stack
 */
#define REPORT_DEPTH 5
static FuzzError reports[REPORT_DEPTH];
static int	depth;

#define building (reports[depth - 1])

void
fuzz_fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "fuzz invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/* Format into a palloc'd string with PostgreSQL's printf (%m and all). */
static char *
format_va(const char *fmt, va_list ap)
{
	size_t		len = 128;

	for (;;)
	{
		char	   *buf = palloc(len);
		va_list		copy;
		size_t		need;

		va_copy(copy, ap);
		need = pvsnprintf(buf, len, fmt, copy);
		va_end(copy);
		if (need < len)
			return buf;
		pfree(buf);
		len = need;
	}
}

bool
errstart(int elevel, const char *domain)
{
	if (depth >= REPORT_DEPTH)
		fuzz_fail("ereport() nested %d deep (recursive error)", depth);
	depth++;
	memset(&building, 0, sizeof(building));
	building.elevel = elevel;
	building.sqlerrcode = elevel >= ERROR ? ERRCODE_INTERNAL_ERROR : 0;
	/* evaluate the arguments of every level: their formatting is code too */
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	FuzzError	e;

	if (depth <= 0)
		fuzz_fail("errfinish() without errstart() at %s:%d", filename, lineno);
	e = building;
	depth--;
	e.filename = filename;
	e.lineno = lineno;
	if (e.message == NULL)
		e.message = pstrdup("(no message)");
	if (e.elevel < ERROR)
		return;
	/* like elog.c, an ERROR forgets the reports it interrupted */
	depth = 0;
	if (e.elevel > ERROR)
		fuzz_fail("%s at %s:%d: %s", e.elevel == FATAL ? "FATAL" : "PANIC",
				  filename, lineno, e.message);
	fuzz_last_error = e;
	if (getenv("FUZZ_SHOW_ERRORS"))
		fprintf(stderr, "ERROR: %s (%s:%d)%s%s%s%s\n", e.message, filename, lineno,
				e.detail ? "\nDETAIL: " : "", e.detail ? e.detail : "",
				e.hint ? "\nHINT: " : "", e.hint ? e.hint : "");
	if (PG_exception_stack == NULL)
		fuzz_fail("ERROR with no PG_TRY around it at %s:%d: %s",
				  filename, lineno, e.message);
	siglongjmp(*PG_exception_stack, 1);
}

void
pg_re_throw(void)
{
	if (PG_exception_stack == NULL)
		fuzz_fail("PG_RE_THROW with no PG_TRY around it: %s",
				  fuzz_last_error.message ? fuzz_last_error.message : "?");
	siglongjmp(*PG_exception_stack, 1);
}

void
FlushErrorState(void)
{
	memset(&fuzz_last_error, 0, sizeof(fuzz_last_error));
}

int
errcode(int sqlerrcode)
{
	building.sqlerrcode = sqlerrcode;
	return 0;
}

#define SET_FROM_FMT(field) \
	do { \
		va_list		ap; \
		va_start(ap, fmt); \
		building.field = format_va(fmt, ap); \
		va_end(ap); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	SET_FROM_FMT(message);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	SET_FROM_FMT(message);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	SET_FROM_FMT(detail);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	SET_FROM_FMT(detail);
	return 0;
}

int
errdetail_log(const char *fmt,...)
{
	SET_FROM_FMT(detail);
	return 0;
}

int
errhint(const char *fmt,...)
{
	SET_FROM_FMT(hint);
	return 0;
}

#define SET_FROM_PLURAL(field) \
	do { \
		va_list		ap; \
		va_start(ap, n); \
		building.field = format_va(n == 1 ? fmt_singular : fmt_plural, ap); \
		va_end(ap); \
	} while (0)

int
errmsg_plural(const char *fmt_singular, const char *fmt_plural, unsigned long n,...)
{
	SET_FROM_PLURAL(message);
	return 0;
}

int
errdetail_plural(const char *fmt_singular, const char *fmt_plural, unsigned long n,...)
{
	SET_FROM_PLURAL(detail);
	return 0;
}

int
errdetail_log_plural(const char *fmt_singular, const char *fmt_plural, unsigned long n,...)
{
	SET_FROM_PLURAL(detail);
	return 0;
}

int
errhint_plural(const char *fmt_singular, const char *fmt_plural, unsigned long n,...)
{
	SET_FROM_PLURAL(hint);
	return 0;
}

int
errcontext_msg(const char *fmt,...)
{
	char	   *ignored;
	va_list		ap;

	va_start(ap, fmt);
	ignored = format_va(fmt, ap);
	va_end(ap);
	(void) ignored;
	return 0;
}

int
set_errcontext_domain(const char *domain)
{
	return 0;
}

int
errhidestmt(bool hide_stmt)
{
	return 0;
}

int
errhidecontext(bool hide_ctx)
{
	return 0;
}

int
errposition(int cursorpos)
{
	return 0;
}

int
errcode_for_file_access(void)
{
	return errcode(ERRCODE_INTERNAL_ERROR);
}

bool
in_error_recursion_trouble(void)
{
	return false;
}

void
ProcessInterrupts(void)
{
}

/* ------------------------------------------------------------------ */
/* text																	*/
/* ------------------------------------------------------------------ */

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum) && !VARATT_IS_SHORT(datum))
		fuzz_fail("a toasted datum reached the fuzz shim");
	return datum;
}

struct varlena *
pg_detoast_datum(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum))
	{
		/* expand a short header to a 4-byte one, as detoasting does */
		Size		len = VARSIZE_ANY_EXHDR(datum);
		struct varlena *out;

		if (!VARATT_IS_SHORT(datum))
			fuzz_fail("a toasted datum reached the fuzz shim");
		out = palloc(len + VARHDRSZ);
		SET_VARSIZE(out, len + VARHDRSZ);
		memcpy(VARDATA(out), VARDATA_SHORT(datum), len);
		return out;
	}
	return datum;
}

text *
cstring_to_text_with_len(const char *s, int len)
{
	text	   *result = (text *) palloc(len + VARHDRSZ);

	SET_VARSIZE(result, len + VARHDRSZ);
	memcpy(VARDATA(result), s, len);
	return result;
}

text *
cstring_to_text(const char *s)
{
	return cstring_to_text_with_len(s, strlen(s));
}

char *
text_to_cstring(const text *t)
{
	text	   *tunpacked = pg_detoast_datum_packed(unconstify(text *, t));
	int			len = VARSIZE_ANY_EXHDR(tunpacked);
	char	   *result = palloc(len + 1);

	memcpy(result, VARDATA_ANY(tunpacked), len);
	result[len] = '\0';
	return result;
}

/* ------------------------------------------------------------------ */
/* encoding: the test clusters are UTF8 (initdb -E UTF8)				*/
/* ------------------------------------------------------------------ */

int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

int
pg_database_encoding_max_length(void)
{
	return pg_encoding_max_length(PG_UTF8);
}

int
pg_mblen(const char *mbstr)
{
	return pg_encoding_mblen(PG_UTF8, mbstr);
}

/* as mbutils.c: trusts the string to be valid in the database encoding */
int
pg_mbstrlen(const char *mbstr)
{
	int			len = 0;

	while (*mbstr)
	{
		mbstr += pg_mblen(mbstr);
		len++;
	}
	return len;
}

int
pg_mbstrlen_with_len(const char *mbstr, int limit)
{
	int			len = 0;

	while (limit > 0 && *mbstr)
	{
		int			l = pg_mblen(mbstr);

		limit -= l;
		mbstr += l;
		len++;
	}
	return len;
}

int
pg_mbcliplen(const char *mbstr, int len, int limit)
{
	int			clen = 0;
	int			l;

	while (len > 0 && *mbstr)
	{
		l = pg_mblen(mbstr);
		if ((clen + l) > limit)
			break;
		clen += l;
		if (clen == limit)
			break;
		len -= l;
		mbstr += l;
	}
	return clen;
}

bool
fuzz_valid_utf8(const char *s, size_t len)
{
	return pg_encoding_verifymbstr(PG_UTF8, s, (int) len) == (int) len;
}

/* ------------------------------------------------------------------ */
/* time																	*/
/* ------------------------------------------------------------------ */

const char *
timestamptz_to_str(TimestampTz t)
{
	static char buf[64];

	if (TIMESTAMP_IS_NOBEGIN(t))
		return "-infinity";
	if (TIMESTAMP_IS_NOEND(t))
		return "infinity";
	snprintf(buf, sizeof(buf), "@" INT64_FORMAT, (int64) t);
	return buf;
}

/* ------------------------------------------------------------------ */
/* the driver's helpers													*/
/* ------------------------------------------------------------------ */

void
fuzz_end_input(void)
{
	while (chunks.next != &chunks)
	{
		Chunk	   *c = chunks.next;

		chunk_unlink(c);
		free(c);
	}
	memset(&fuzz_last_error, 0, sizeof(fuzz_last_error));
	depth = 0;
	PG_exception_stack = NULL;
	error_context_stack = NULL;
}

char *
fuzz_cstring(const uint8_t *data, size_t len)
{
	return pnstrdup((const char *) data, len);
}

text *
fuzz_text(const uint8_t *data, size_t len)
{
	return cstring_to_text_with_len((const char *) data,
									strnlen((const char *) data, len));
}

/* Called by the generated stubs (test/fuzz/link): a path the shim lacks. */
void		fuzz_stub_called(const char *name) pg_attribute_noreturn();

void
fuzz_stub_called(const char *name)
{
	fuzz_fail("%s() was called, but the fuzz shim only has an aborting stub "
			  "for it: give it a real body in test/fuzz/shim/pg_shim.c", name);
}

/* The clock of the fuzz run stands still (mono.http_log durations are 0). */
TimestampTz
GetCurrentTimestamp(void)
{
	return 0;
}

/* ------------------------------------------------------------------ */
/* transactions and JSON errors, for validate.c and webhook.c		*/
/* ------------------------------------------------------------------ */

/* A primary, never in recovery (mono_require_writable's first question). */
bool
RecoveryInProgress(void)
{
	return false;
}

/* A read-write transaction. */
bool		XactReadOnly = false;

/*
 * This process's PGPROC. Its local transaction id, 0, is the one
 * mono_require_sql_version() starts out having checked: the fuzzed entry
 * points find the SQL objects current without reading pg_extension.
 */
static PGPROC fuzz_proc;
PGPROC	   *MyProc = &fuzz_proc;

/* The transaction's clock: a fixed day, 2026-12-01 12:00 UTC. */
TimestampTz
GetCurrentTransactionStartTimestamp(void)
{
	return (TimestampTz) ((9466 + 0.5) * USECS_PER_DAY);
}

#if PG_VERSION_NUM < 170000
/* The parser's error, named by its code (before 17 only the backend has it). */
char *
json_errdetail(JsonParseErrorType error, JsonLexContext *lex)
{
	(void) lex;
	return psprintf("JSON parse error %d", (int) error);
}
#endif

/* The database is UTF8: text is already UTF-8. */
char *
pg_server_to_any(const char *s, int len, int encoding)
{
	(void) len;
	(void) encoding;
	return unconstify(char *, s);
}

/*
 * The node seal's atomic write (common_seal.c): the backend's durable_rename
 * lives in fd.c; libpgcommon's frontend one would pull its own palloc in.
 */
int
durable_rename(const char *oldfile, const char *newfile, int elevel)
{
	(void) elevel;
	return rename(oldfile, newfile);
}

/* Seconds from 1970-01-01 (Unix) to 2000-01-01 (PostgreSQL's epoch). */
#define FUZZ_EPOCH_OFFSET INT64CONST(946684800)

/*
 * A timestamp's fields in the fuzz targets' session TimeZone, UTC, from
 * libc's gmtime_r (mono_calendar_day, issue 22); -1 when out of its range.
 */
int
timestamp2tm(Timestamp dt, int *tzp, struct pg_tm *tm, fsec_t *fsec, const char **tzn,
			 pg_tz *attimezone)
{
	int64 secs = dt / USECS_PER_SEC;
	int64 usecs = dt % USECS_PER_SEC;
	time_t t;
	struct tm r;

	(void) attimezone;
	if (usecs < 0)
	{
		usecs += USECS_PER_SEC;
		secs--;
	}
	if (secs > PG_INT64_MAX - FUZZ_EPOCH_OFFSET)
		return -1;
	t = (time_t) (secs + FUZZ_EPOCH_OFFSET);
	if (gmtime_r(&t, &r) == NULL)
		return -1;
	tm->tm_year = r.tm_year + 1900;
	tm->tm_mon = r.tm_mon + 1;
	tm->tm_mday = r.tm_mday;
	tm->tm_hour = r.tm_hour;
	tm->tm_min = r.tm_min;
	tm->tm_sec = r.tm_sec;
	*fsec = (fsec_t) usecs;
	if (tzp)
		*tzp = 0;
	if (tzn)
		*tzn = NULL;
	return 0;
}

/* The Julian day of a UTC calendar date, from libc's timegm. */
int
date2j(int year, int month, int day)
{
	struct tm r = {0};

	r.tm_year = year - 1900;
	r.tm_mon = month - 1;
	r.tm_mday = day;
	return (int) (timegm(&r) / SECS_PER_DAY) + UNIX_EPOCH_JDATE;
}
