/*
 * fuzz_input.h
 *		Reading a fuzz input as fields: fixed-size numbers from the front,
 *		then strings separated by NUL bytes (a text value can never hold a
 *		NUL, so the separator cannot hide a real character). A missing field
 *		reads as zero or as the empty string.
 */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include "fuzz_shim.h"

typedef struct FuzzInput
{
	const uint8_t *data;
	size_t		len;
} FuzzInput;

static inline uint64
fuzz_take_uint(FuzzInput *in, int bytes)
{
	uint64		v = 0;
	int			i;

	for (i = 0; i < bytes; i++)
	{
		v <<= 8;
		if (in->len > 0)
		{
			v |= *in->data++;
			in->len--;
		}
	}
	return v;
}

/* The next NUL-terminated field as a palloc'd string. */
static inline char *
fuzz_take_string(FuzzInput *in)
{
	const uint8_t *end = memchr(in->data, 0, in->len);
	size_t		n = end ? (size_t) (end - in->data) : in->len;
	char	   *s = fuzz_cstring(in->data, n);

	in->data += n;
	in->len -= n;
	if (end)
	{
		in->data++;
		in->len--;
	}
	return s;
}

/* The rest of the input as bytes (palloc'd, NUL added after len bytes). */
static inline char *
fuzz_take_rest(FuzzInput *in, size_t *len)
{
	char	   *s = palloc(in->len + 1);

	memcpy(s, in->data, in->len);
	s[in->len] = '\0';
	*len = in->len;
	in->data += in->len;
	in->len = 0;
	return s;
}

#endif							/* FUZZ_INPUT_H */
