/* SPDX-License-Identifier: MIT */
/*
 * Fixture helpers shared by the unit tests.
 */
#include "config.h"

#include <check.h>
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
