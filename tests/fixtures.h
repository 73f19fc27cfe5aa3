/* SPDX-License-Identifier: MIT */
/*
 * Fixture helpers for the unit tests: temporary site directories with
 * distributions in them. They abort the test (ck_abort) on any failure.
 */
#ifndef EPCACHE_TEST_FIXTURES_H
#define EPCACHE_TEST_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>

/* A new empty directory below $TMPDIR (or /tmp); free() the result. */
char *fx_tmpdir(void);
void fx_rmrf(const char *path);
/* Write DIR/REL (parents created), content of @len bytes. */
void fx_write_len(const char *dir, const char *rel, const char *data,
		  size_t len);
void fx_write(const char *dir, const char *rel, const char *data);
void fx_mkdir(const char *dir, const char *rel);
/* DIR/DISTDIR with METADATA (Name, Version unless NULL) and, unless NULL,
 * entry_points.txt. */
void fx_dist(const char *dir, const char *distdir, const char *name,
	     const char *version, const char *entry_points);
char *fx_path(const char *dir, const char *rel);
/* Read a whole file; free() the result. */
char *fx_read(const char *path, size_t *len);
bool fx_exists(const char *path);
/* Set the mtime (and atime) of @path to @ms milliseconds from now. */
void fx_set_mtime_ahead(const char *path, long ms);
/* Run @fn in a child process as uid/gid 65534; returns its exit status or
 * -1 when dropping privileges is impossible (not root). */
int fx_as_nobody(int (*fn)(void *), void *data);

/*
 * Make a cache crafted by hand readable as far as its checksums go:
 * "data_size":DSIZE becomes the data's length, every "????????" after an
 * [off,len or a group row's off,len,count becomes the CRC-32 of that range
 * of the data (0 when the range is out of bounds), and the header's
 * ,"crc":"????????" the CRC-32 of what comes before it.
 */
struct ep_buf;
void fx_seal_cache(struct ep_buf *f);
#define FX_CRC "\"????????\""

#endif
