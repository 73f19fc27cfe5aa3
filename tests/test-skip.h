/* SPDX-License-Identifier: MIT */
/*
 * Skips a Check runner can count. Check runs each test in a forked child
 * (unless CK_FORK=no), so a plain counter would be lost with the child:
 * the count lives in a shared anonymous mapping made before the run.
 * A runner with a skipped part exits 77 (meson: SKIP), so that what did
 * not run is seen in the summary; with CI=true it fails instead, since CI
 * is where every precondition (root, mounts, tools) must hold.
 */
#ifndef EPCACHE_TEST_SKIP_H
#define EPCACHE_TEST_SKIP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int *test_skips;

static inline void
test_skip_init(void)
{
	void *p = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(EXIT_FAILURE);
	}
	test_skips = p;
}

static inline void
test_skip(const char *test, const char *why)
{
	printf("SKIP %s: %s\n", test, why);
	fflush(stdout);
	if (test_skips)
		__atomic_add_fetch(test_skips, 1, __ATOMIC_SEQ_CST);
}

/* The runner's exit status from its failure count and the skips */
static inline int
test_skip_exit(int failed)
{
	const char *ci = getenv("CI");
	int skips = test_skips ? *test_skips : 0;

	if (failed)
		return EXIT_FAILURE;
	if (skips == 0)
		return EXIT_SUCCESS;
	printf("%d test%s skipped a part\n", skips, skips == 1 ? "" : "s");
	if (ci && strcmp(ci, "true") == 0) {
		printf("CI=true: a skip is a failure here\n");
		return EXIT_FAILURE;
	}
	return 77;
}

#endif
