/* SPDX-License-Identifier: MIT */
/*
 * What the cache's writer and reader both need of JSON text: runs of
 * bytes that JSON takes as they are, found eight bytes at a time (most of
 * a cache is such bytes). Inline: both are hot loops.
 */
#ifndef EPCACHE_CACHE_JSON_H
#define EPCACHE_CACHE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "epcache-private.h"

/* Bytes JSON takes as they are, with no escape and no UTF-8 check:
 * printable ASCII but '"' and '\\' (a table: most of a cache is these) */
#define ONES_16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char plain_table[256] = {
	[0x20] = 1, [0x21] = 1, [0x23] = 1, [0x24] = 1, [0x25] = 1,
	[0x26] = 1, [0x27] = 1, [0x28] = 1, [0x29] = 1, [0x2a] = 1,
	[0x2b] = 1, [0x2c] = 1, [0x2d] = 1, [0x2e] = 1, [0x2f] = 1,
	[0x30] = ONES_16, [0x40] = ONES_16,
	[0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	[0x60] = ONES_16, [0x70] = ONES_16,
};

static inline bool
plain_ascii(unsigned char c)
{
	return plain_table[c];
}

/* The bytes of a word that end a plain run: the lowest flagged byte is
 * always a real one (a borrow only runs upwards), so on a little-endian
 * machine its index is the run's end. */
static inline uint64_t
plain_stops(uint64_t x)
{
	return EP_HAS_LESS(x, 0x20) | EP_HAS_HIGH(x) |
	       EP_HAS_ZERO(x ^ EP_BYTES('"')) | EP_HAS_ZERO(x ^ EP_BYTES('\\'));
}

/* The end of the run of plain_ascii() bytes at @p, eight at a time. */
static inline const char *
plain_run(const char *p, const char *end)
{
	while (end - p >= 8) {
		uint64_t x, m;

		memcpy(&x, p, 8);
		if ((m = plain_stops(x)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + (__builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
		p += 8;
	}
	while (p < end && plain_ascii((unsigned char)*p))
		p++;
	return p;
}

#endif /* EPCACHE_CACHE_JSON_H */
