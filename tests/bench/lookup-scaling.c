/* SPDX-License-Identifier: MIT */
/*
 * lookup-scaling SITE GROUP [RUNS]: time, in process, a one-group lookup
 * from SITE's cache and with a live scan (median of RUNS, default 50), and
 * the floor of opening and reading the cache file alone. Prints one line
 * of microseconds: "cached_us live_us floor_us entries".
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	epcache_selection_free(sel);
	epcache_lookup_free(lk);
	return n;
}

int
main(int argc, char **argv)
{
	int runs = argc > 3 ? atoi(argv[3]) : 50;
	double *cached, *live, *floor_;
	struct epcache *ctx;
	char path[4096];
	size_t n = 0;

	if (argc < 3 || runs < 1) {
		fprintf(stderr, "usage: %s SITE GROUP [RUNS]\n", argv[0]);
		return 1;
	}
	ctx = epcache_new();
	epcache_set_log_handler(ctx, NULL, NULL);
	cached = calloc((size_t)runs, sizeof(double));
	live = calloc((size_t)runs, sizeof(double));
	floor_ = calloc((size_t)runs, sizeof(double));
	snprintf(path, sizeof(path), "%s/.epcache/entry-points.json", argv[1]);
	for (int i = 0; i < runs; i++) {
		double t = now_us();
		char *buf;
		int fd;
		off_t size;

		n = lookup_once(ctx, argv[1], argv[2], 0);
		cached[i] = now_us() - t;
		t = now_us();
		if (lookup_once(ctx, argv[1], argv[2],
				EPCACHE_LOOKUP_NO_CACHE) != n) {
			fprintf(stderr, "cached and live answers differ\n");
			return 1;
		}
		live[i] = now_us() - t;
		t = now_us();
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		size = lseek(fd, 0, SEEK_END);
		buf = malloc((size_t)size);
		if (pread(fd, buf, (size_t)size, 0) != size)
			return 1;
		close(fd);
		free(buf);
		floor_[i] = now_us() - t;
	}
	printf("%.1f %.1f %.1f %zu\n", median(cached, runs), median(live, runs),
	       median(floor_, runs), n);
	free(cached);
	free(live);
	free(floor_);
	epcache_free(ctx);
	return 0;
}
