/* SPDX-License-Identifier: MIT */
/*
 * The in-process measurements of tests/bench/run-bench. Each prints one
 * line of medians in microseconds:
 *
 *   bench-helper lookup SITE GROUP RUNS
 *	"cached live floor entries": a one-group lookup from SITE's cache,
 *	with a live scan, and the floor: open and read the cache file alone.
 *   bench-helper status SITE RUNS
 *	"status listfloor STATUS": the status check of SITE's cache alone (a
 *	lookup started and freed, nothing selected: what `entrypoints-query
 *	--status` does per path entry) and the floor of listing SITE once
 *	(opendir, readdir to the end), which a check of a moved directory's
 *	names cannot avoid; then the status found ("fresh", ...). Each median
 *	is of RUNS rounds of 20 checks, per check.
 *   bench-helper rebuild SITE RUNS
 *	"full incremental reused total readfloor statfloor cacheio": after
 *	adding one distribution, a rebuild from nothing and one on top of the
 *	previous cache; then three floors:
 *	  readfloor: list SITE and open and read every distribution's
 *	    entry_points.txt and metadata file once (what any rebuild does);
 *	  statfloor: list SITE and stat() each distribution (what any
 *	    incremental rebuild that checks every distribution does);
 *	  cacheio: read SITE's cache file and write a copy of it atomically
 *	    (temp file, rename; with fsync of the file and the directory when
 *	    the rebuild fsyncs): what rewriting a one-file cache costs.
 *	PKGSYSTEM_ENABLE_FSYNC decides about fsync, as for the tool. Every
 *	timing, floors included, starts after the same pause, so that the
 *	rebuilds and the floors run from the same (cold) CPU state.
 *   bench-helper crc FILE RUNS OFF:LEN...
 *	"crc sum": the CRC-32 checks of the ranges of FILE a one-group lookup
 *	reads (run-bench finds them from the format): what the cache's
 *	checksums add to such a lookup.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "epcache.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static size_t
lookup_once(struct epcache *ctx, const char *site, const char *group,
	    unsigned int flags)
{
	struct epcache_lookup *lk;
	struct epcache_selection *sel;
	size_t n;

	if (epcache_lookup_new(ctx, &site, 1, flags, &lk) < 0 ||
	    epcache_lookup_select(lk, group, NULL, &sel) < 0) {
		fprintf(stderr, "lookup failed\n");
		exit(1);
	}
	n = epcache_selection_get_count(sel);
	/* touch every answer, as a caller would */
	for (size_t i = 0; i < n; i++)
		if (!epcache_entry_get_value(epcache_selection_get_entry(sel, i)))
			exit(1);
	epcache_selection_free(sel);
	epcache_lookup_free(lk);
	return n;
}

static void
read_whole(int dirfd, const char *name)
{
	char buf[65536];
	ssize_t r;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
}

static bool
is_dist(const char *n)
{
	size_t len = strlen(n);

	return (len > 10 && strcmp(n + len - 10, ".dist-info") == 0) ||
	       (len > 9 && strcmp(n + len - 9, ".egg-info") == 0);
}

static void
read_floor_once(const char *site)
{
	DIR *d = opendir(site);
	struct dirent *de;
	char rel[4096];
	int dfd;

	if (!d)
		die(site);
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (!is_dist(de->d_name))
			continue;
		snprintf(rel, sizeof(rel), "%s/entry_points.txt", de->d_name);
		read_whole(dfd, rel);
		snprintf(rel, sizeof(rel), "%s/METADATA", de->d_name);
		if (fstatat(dfd, rel, &st, 0) == 0) {
			read_whole(dfd, rel);
			continue;
		}
		snprintf(rel, sizeof(rel), "%s/PKG-INFO", de->d_name);
		if (fstatat(dfd, rel, &st, 0) == 0)
			read_whole(dfd, rel);
		else
			read_whole(dfd, de->d_name);
	}
	closedir(d);
}

struct reuse_log {
	long reused, total;
};

static void
log_handler(struct epcache *ctx, enum epcache_log_priority prio, void *data,
	    const char *fmt, va_list args)
	__attribute__((format(printf, 4, 0)));

static void
log_handler(struct epcache *ctx, enum epcache_log_priority prio, void *data,
	    const char *fmt, va_list args)
{
	struct reuse_log *rl = data;
	char msg[4096];
	const char *p;

	vsnprintf(msg, sizeof(msg), fmt, args);
	if (strstr(msg, "distributions reused") && (p = strrchr(msg, ':')))
		sscanf(p + 2, "%ld of %ld", &rl->reused, &rl->total);
}

static void
write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(data, f) < 0 || fclose(f) != 0)
		die(path);
}

/* Install one small distribution, as an installer would. */
static void
add_dist(const char *site, char *dir, size_t len)
{
	char p[4096];

	snprintf(dir, len, "%s/zz-bench-added-1.0.dist-info", site);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		die(dir);
	snprintf(p, sizeof(p), "%s/METADATA", dir);
	write_file(p, "Metadata-Version: 2.1\nName: zz-bench-added\n"
		      "Version: 1.0\n");
	snprintf(p, sizeof(p), "%s/entry_points.txt", dir);
	write_file(p, "[console_scripts]\nzz-bench-added = zz.cli:main\n");
}

static void
remove_dist(const char *dir)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/METADATA", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/entry_points.txt", dir);
	unlink(p);
	if (rmdir(dir) < 0)
		die(dir);
}

static double
timed_rebuild(struct epcache *ctx, const char *site)
{
	double t = now_us();

	if (epcache_rebuild(ctx, site, EPCACHE_MODE_MTIME, 0, NULL) < 0) {
		fprintf(stderr, "rebuild of %s failed\n", site);
		exit(1);
	}
	return now_us() - t;
}

/* Let the installer's writes age past the current timestamp tick and the
 * rebuild's 30 ms settling time for new distributions, so that what is
 * measured is the rebuild, not those waits (the same for both kinds). */
static void
settle(void)
{
	struct timespec nap = {0, 100 * 1000 * 1000};

	nanosleep(&nap, NULL);
}

static int
cmd_lookup(const char *site, const char *group, int runs)
{
	double *cached = calloc((size_t)runs, sizeof(double));
	double *live = calloc((size_t)runs, sizeof(double));
	double *floor_ = calloc((size_t)runs, sizeof(double));
	struct epcache *ctx = epcache_new();
	char path[4096];
	size_t n = 0;

	epcache_set_log_handler(ctx, NULL, NULL);
	snprintf(path, sizeof(path), "%s/.epcache/entry-points.json", site);
	for (int i = 0; i < runs; i++) {
		double t = now_us();
		struct stat st;
		char *buf;
		int fd;

		n = lookup_once(ctx, site, group, 0);
		cached[i] = now_us() - t;
		t = now_us();
		if (lookup_once(ctx, site, group, EPCACHE_LOOKUP_NO_CACHE) != n) {
			fprintf(stderr, "cached and live answers differ\n");
			return 1;
		}
		live[i] = now_us() - t;
		t = now_us();
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			die(path);
		buf = malloc((size_t)st.st_size);
		if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
			die(path);
		close(fd);
		free(buf);
		floor_[i] = now_us() - t;
	}
	printf("%.1f %.1f %.1f %zu\n", median(cached, runs), median(live, runs),
	       median(floor_, runs), n);
	epcache_free(ctx);
	free(cached);
	free(live);
	free(floor_);
	return 0;
}

static void
list_floor_once(const char *site)
{
	DIR *d = opendir(site);

	if (!d)
		die(site);
	while (readdir(d))
		;
	closedir(d);
}

#define STATUS_BATCH 20

static int
cmd_status(const char *site, int runs)
{
	double *check = calloc((size_t)runs, sizeof(double));
	double *floor_ = calloc((size_t)runs, sizeof(double));
	struct epcache *ctx = epcache_new();
	enum epcache_status status = EPCACHE_STATUS_MISSING;

	if (!check || !floor_ || !ctx)
		die("status");
	epcache_set_log_handler(ctx, NULL, NULL);
	for (int i = 0; i < runs; i++) {
		double t = now_us();

		for (int k = 0; k < STATUS_BATCH; k++) {
			struct epcache_lookup *lk;

			if (epcache_lookup_new(ctx, &site, 1, 0, &lk) < 0) {
				fprintf(stderr, "lookup of %s failed\n", site);
				return 1;
			}
			status = epcache_lookup_get_path_status(lk, 0);
			epcache_lookup_free(lk);
		}
		check[i] = (now_us() - t) / STATUS_BATCH;
		t = now_us();
		for (int k = 0; k < STATUS_BATCH; k++)
			list_floor_once(site);
		floor_[i] = (now_us() - t) / STATUS_BATCH;
	}
	printf("%.2f %.2f %s\n", median(check, runs), median(floor_, runs),
	       epcache_status_to_str(status));
	epcache_free(ctx);
	free(check);
	free(floor_);
	return 0;
}

static void
stat_floor_once(const char *site)
{
	DIR *d = opendir(site);
	struct dirent *de;

	if (!d)
		die(site);
	while ((de = readdir(d))) {
		struct stat st;

		if (is_dist(de->d_name))
			fstatat(dirfd(d), de->d_name, &st, 0);
	}
	closedir(d);
}

static bool
fsync_wanted(void)
{
	const char *env = getenv("PKGSYSTEM_ENABLE_FSYNC");

	return !(env && strcmp(env, "0") == 0);
}

static void
cache_io_once(const char *site)
{
	char dir[4096], src[4200], tmp[4200], dst[4200];
	char *buf;
	struct stat st;
	int fd;

	snprintf(dir, sizeof(dir), "%s/.epcache", site);
	snprintf(src, sizeof(src), "%s/entry-points.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/bench-copy.tmp", dir);
	snprintf(dst, sizeof(dst), "%s/bench-copy", dir);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(src);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
		die(src);
	close(fd);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)st.st_size) != st.st_size)
		die(tmp);
	if (fsync_wanted() && fsync(fd) < 0)
		die(tmp);
	if (close(fd) < 0)
		die(tmp);
	if (rename(tmp, dst) < 0)
		die(dst);
	if (fsync_wanted()) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			die(dir);
		close(fd);
	}
	free(buf);
}

/* A timing that starts after the pause a rebuild gets, so that floors and
 * rebuilds are measured from the same state. */
static double
timed_floor(void (*fn)(const char *), const char *site)
{
	double t;

	settle();
	t = now_us();
	fn(site);
	return now_us() - t;
}

/*
 * Add a distribution and time the rebuild: on top of the previous cache
 * or, with @full, with the cache moved away. Neither frees the old
 * cache's blocks (the incremental one would, when it renames over it): a
 * link to it is kept until after the timing. Then back to the site as it
 * was, cache included.
 */
static double
timed_added(struct epcache *ctx, const char *site, const char *cache,
	    const char *keep, bool full)
{
	char dir[4096];
	double t;

	add_dist(site, dir, sizeof(dir));
	settle();
	if ((full ? rename(cache, keep) : link(cache, keep)) < 0)
		die(keep);
	t = timed_rebuild(ctx, site);
	unlink(keep);
	remove_dist(dir);
	settle();
	timed_rebuild(ctx, site);
	return t;
}

static int
cmd_rebuild(const char *site, int runs)
{
	double *full = calloc((size_t)runs, sizeof(double));
	double *inc = calloc((size_t)runs, sizeof(double));
	double *rf = calloc((size_t)runs, sizeof(double));
	double *sf = calloc((size_t)runs, sizeof(double));
	double *io = calloc((size_t)runs, sizeof(double));
	struct reuse_log rl = {-1, -1};
	struct epcache *ctx = epcache_new();
	char cache[4096], keep[4200], dir[4096], copy[4096];

	epcache_set_log_handler(ctx, log_handler, &rl);
	epcache_set_log_priority(ctx, EPCACHE_LOG_INFO);
	snprintf(cache, sizeof(cache), "%s/.epcache/entry-points.json", site);
	snprintf(copy, sizeof(copy), "%s/.epcache/bench-copy", site);
	timed_rebuild(ctx, site);
	snprintf(keep, sizeof(keep), "%s.bench-keep", cache);
	for (int i = 0; i < runs; i++) {
		inc[i] = timed_added(ctx, site, cache, keep, false);
		full[i] = timed_added(ctx, site, cache, keep, true);
		rf[i] = timed_floor(read_floor_once, site);
		sf[i] = timed_floor(stat_floor_once, site);
		io[i] = timed_floor(cache_io_once, site);
		unlink(copy);
	}
	/* the last incremental rebuild's figures */
	add_dist(site, dir, sizeof(dir));
	settle();
	timed_rebuild(ctx, site);
	printf("%.1f %.1f %ld %ld %.1f %.1f %.1f\n", median(full, runs),
	       median(inc, runs), rl.reused, rl.total, median(rf, runs),
	       median(sf, runs), median(io, runs));
	remove_dist(dir);
	settle();
	timed_rebuild(ctx, site);
	epcache_free(ctx);
	free(full);
	free(inc);
	free(rf);
	free(sf);
	free(io);
	return 0;
}

static int
cmd_crc(const char *file, int runs, int n, char **ranges)
{
	double *t = calloc((size_t)runs, sizeof(double));
	char **buf = calloc((size_t)n, sizeof(char *));
	size_t *len = calloc((size_t)n, sizeof(size_t));
	uLong sink = 0; /* printed: the CRCs are not optimised away */
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !t || !buf || !len)
		die(file);
	for (int i = 0; i < n; i++) {
		long long off = 0, l = 0;

		if (sscanf(ranges[i], "%lld:%lld", &off, &l) != 2 || off < 0 ||
		    l <= 0)
			die(ranges[i]);
		len[i] = (size_t)l;
		buf[i] = malloc(len[i]);
		if (!buf[i] || pread(fd, buf[i], len[i], off) != (ssize_t)l)
			die(file);
	}
	close(fd);
	/* 1000 rounds a run: one round is well below the clock's grain */
	for (int r = 0; r < runs; r++) {
		double t0 = now_us();

		for (int k = 0; k < 1000; k++)
			for (int i = 0; i < n; i++)
				sink += crc32(0L, (const Bytef *)buf[i],
					      (uInt)len[i]);
		t[r] = (now_us() - t0) / 1000;
	}
	printf("%.3f %lu\n", median(t, runs), sink);
	for (int i = 0; i < n; i++)
		free(buf[i]);
	free(buf);
	free(len);
	free(t);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "crc") == 0)
		return cmd_crc(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 1,
			       argc - 4, argv + 4);
	if (argc == 5 && strcmp(argv[1], "lookup") == 0)
		return cmd_lookup(argv[2], argv[3], atoi(argv[4]) > 0 ? atoi(argv[4]) : 1);
	if (argc == 4 && strcmp(argv[1], "status") == 0)
		return cmd_status(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 1);
	if (argc == 4 && strcmp(argv[1], "rebuild") == 0)
		return cmd_rebuild(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 1);
	fprintf(stderr, "usage: %s lookup SITE GROUP RUNS | status SITE RUNS | "
		"rebuild SITE RUNS\n", argv[0]);
	return 1;
}
