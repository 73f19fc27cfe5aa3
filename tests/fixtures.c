/* SPDX-License-Identifier: MIT */
/*
 * Fixture helpers shared by the unit tests.
 */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "epcache-private.h"
#include "fixtures.h"

char *
fx_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (!base || !*base)
		base = "/tmp";
	ck_assert_int_gt(asprintf(&p, "%s/epcache-test-XXXXXX", base), 0);
	ck_assert_ptr_nonnull(mkdtemp(p));
	/* Tests that drop privileges need to reach it. */
	ck_assert_int_eq(chmod(p, 0755), 0);
	return p;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? 0 : 0;
	unlink(path);
	return 0;
}

void
fx_rmrf(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *
fx_path(const char *dir, const char *rel)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", dir, rel), 0);
	return p;
}

static void
mkparents(char *p)
{
	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			ck_abort_msg("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
}

void
fx_mkdir(const char *dir, const char *rel)
{
	char *p = fx_path(dir, rel);

	mkparents(p);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		ck_abort_msg("mkdir %s: %s", p, strerror(errno));
	free(p);
}

void
fx_write_len(const char *dir, const char *rel, const char *data, size_t len)
{
	char *p = fx_path(dir, rel);
	int fd;

	mkparents(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_msg(fd >= 0, "open %s: %s", p, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	free(p);
}

void
fx_write(const char *dir, const char *rel, const char *data)
{
	fx_write_len(dir, rel, data, strlen(data));
}

void
fx_dist(const char *dir, const char *distdir, const char *name,
	const char *version, const char *entry_points)
{
	char *rel, *md = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&md, &len);

	fprintf(f, "Metadata-Version: 2.1\n");
	if (name)
		fprintf(f, "Name: %s\n", name);
	if (version)
		fprintf(f, "Version: %s\n", version);
	fprintf(f, "\nA description.\n");
	fclose(f);
	ck_assert_int_gt(asprintf(&rel, "%s/METADATA", distdir), 0);
	fx_write(dir, rel, md);
	free(rel);
	free(md);
	if (entry_points) {
		ck_assert_int_gt(asprintf(&rel, "%s/entry_points.txt", distdir),
				 0);
		fx_write(dir, rel, entry_points);
		free(rel);
	}
}

char *
fx_read(const char *path, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t r;

	ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		buf = realloc(buf, n + r + 1);
		memcpy(buf + n, chunk, r);
		n += r;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

bool
fx_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

void
fx_set_mtime_ahead(const char *path, long ms)
{
	struct timespec ts[2];

	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &ts[0]), 0);
	ts[0].tv_sec += ms / 1000;
	ts[0].tv_nsec += (ms % 1000) * 1000000;
	if (ts[0].tv_nsec >= 1000000000) {
		ts[0].tv_sec++;
		ts[0].tv_nsec -= 1000000000;
	}
	ts[1] = ts[0];
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

int
fx_as_nobody(int (*fn)(void *), void *data)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return -1;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 ||
		    setuid(65534) < 0)
			_exit(99);
		_exit(fn(data));
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The CRC placeholder a crafted cache uses, and what follows it. */
#define FX_CRC_HOLE "\"????????\""

static void
put_crc_at(char *p, uint32_t crc)
{
	char hex[16];

	snprintf(hex, sizeof(hex), "\"%08" PRIx32 "\"", crc);
	memcpy(p, hex, 10);
}

/* The last two (@n = 2) or the two before the last (@n = 3) integers of
 * the array that ends at @hole: its [off, len]. */
static bool
range_before(const char *start, const char *hole, int n, long long *off,
	     long long *len)
{
	long long v[3];
	const char *p = hole;

	for (int k = 0; k < n; k++) {
		const char *end;

		if (p <= start || p[-1] != ',')
			return false;
		p--;
		end = p;
		while (p > start && (isdigit((unsigned char)p[-1]) || p[-1] == '-'))
			p--;
		if (p == end)
			return false;
		v[k] = strtoll(p, NULL, 10);
	}
	*off = v[n - 1];
	*len = v[n - 2];
	return true;
}

void
fx_seal_cache(struct ep_buf *f)
{
	static const char sep[] = ",\n\"data\":";
	const char *ds = "\"data_size\":DSIZE";
	char *p, *data;
	size_t data_start, hdr_end;

	/* the data's length first: it moves the data, not the offsets in it */
	data = strstr(f->data, sep);
	if (!data) /* not a cache's layout: nothing to seal */
		return;
	p = strstr(f->data, ds);
	if (p && p < data) {
		struct ep_buf o = {0};
		size_t at = (size_t)(p - f->data) + strlen(ds);
		size_t dstart = (size_t)(data - f->data) + strlen(sep);

		ep_buf_append(&o, f->data, (size_t)(p - f->data));
		ep_buf_printf(&o, "\"data_size\":%zu", f->len - dstart);
		ep_buf_append(&o, f->data + at, f->len - at);
		ep_buf_release(f);
		*f = o;
		data = strstr(f->data, sep);
	}
	data_start = (size_t)(data - f->data) + strlen(sep);
	hdr_end = (size_t)(data - f->data);
	/* the group rows of the bucket parts, then the header's ranges
	 * (which cover the bucket parts), then the header itself */
	for (int pass = 0; pass < 2; pass++) {
		size_t from = pass == 0 ? data_start : 0;
		size_t to = pass == 0 ? f->len : hdr_end;

		for (p = f->data + from; (p = strstr(p, FX_CRC_HOLE)) &&
					 (size_t)(p - f->data) < to;
		     p += 10) {
			long long off, len;

			if (pass == 1 && p - f->data >= 7 &&
			    strncmp(p - 7, ",\"crc\":", 7) == 0)
				continue;
			if (!range_before(f->data, p, pass == 0 ? 3 : 2, &off,
					  &len) ||
			    off < 0 || len < 0 ||
			    (size_t)off > f->len - data_start ||
			    (size_t)len > f->len - data_start - (size_t)off) {
				put_crc_at(p, 0);
				continue;
			}
			put_crc_at(p, ep_crc32(f->data + data_start + off,
					       (size_t)len));
		}
	}
	p = strstr(f->data, ",\"crc\":" FX_CRC_HOLE);
	if (p && (size_t)(p - f->data) < hdr_end)
		put_crc_at(p + 7, ep_crc32(f->data, (size_t)(p - f->data)));
}
