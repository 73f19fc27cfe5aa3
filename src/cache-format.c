/* SPDX-License-Identifier: MIT */
/*
 * The cache file format (cache-format.md): what its writer
 * (cache-serialize.c) and its reader (cache-parse.c) share, the mode
 * names and the CRC-32 every part carries.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "epcache-private.h"

static const char *const mode_names[] = {
	[EPCACHE_MODE_MTIME] = "mtime",
	[EPCACHE_MODE_STRICT] = "strict",
	[EPCACHE_MODE_TRUST] = "trust",
};

EP_EXPORT const char *
epcache_mode_to_str(enum epcache_mode mode)
{
	if ((unsigned)mode >= sizeof(mode_names) / sizeof(mode_names[0]))
		return NULL;
	return mode_names[mode];
}

EP_EXPORT int
epcache_mode_from_str(const char *str, enum epcache_mode *mode)
{
	for (size_t i = 0; str && i < sizeof(mode_names) / sizeof(mode_names[0]);
	     i++) {
		if (strcmp(str, mode_names[i]) == 0) {
			*mode = (enum epcache_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

uint32_t
ep_crc32(const void *data, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	const Bytef *p = data;

	/* zlib takes uInt lengths */
	while (len > 0) {
		uInt n = len > 0x40000000 ? 0x40000000 : (uInt)len;

		crc = crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return (uint32_t)crc;
}
