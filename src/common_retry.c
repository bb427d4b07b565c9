/*
 * common_retry.c
 *		The retry policy of every call to Mono: exponential backoff with
 *		jitter, between mono_pay.retry_base and mono_pay.retry_max.
 */
#include "common.h"

#include "common/pg_prng.h"

/* Exponential backoff with jitter: base * 2^(attempts-1), capped, half random. */
int64
mono_backoff_ms(int attempts)
{
	int64 delay = mono_retry_base;
	int i;

	for (i = 1; i < attempts && delay < mono_retry_max; i++)
		delay *= 2;
	delay = Min(delay, (int64) mono_retry_max);
	return delay / 2 + (int64) (pg_prng_double(&pg_global_prng_state) * (delay / 2 + 1));
}
