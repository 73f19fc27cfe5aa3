/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD for attacks.py: the swap of issue 14 point 4, made
 * deterministic. Right after the rebuild's mkdirat() of ".epcache"
 * succeeds -- the window between mkdirat, openat and fchown that an
 * attacker would have to hit by luck or under a debugger -- the directory
 * just made is moved aside and $EPCACHE_TEST_SWAP_IN (a directory of the
 * site, named relative to it) is put in its place. Each swap made appends
 * a line to $EPCACHE_TEST_SWAP_COUNT, so that the test can require that
 * the swap happened rather than assume it.
 *
 * The renames are made with fsuid 0: the directory swapped in is root's,
 * and moving a directory needs write access to it (its ".." changes);
 * the attacker in the issue does it by other means (a directory root
 * made earlier), the effect on the rebuild is the same.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

int mkdirat(int dirfd, const char *path, mode_t mode);

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	static int (*real)(int, const char *, mode_t);
	const char *swap = getenv("EPCACHE_TEST_SWAP_IN");
	const char *count = getenv("EPCACHE_TEST_SWAP_COUNT");
	int rc, saved_errno, prev, fd;

	if (!real)
		real = (int (*)(int, const char *, mode_t))dlsym(RTLD_NEXT,
								  "mkdirat");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	rc = real(dirfd, path, mode);
	saved_errno = errno;
	if (rc != 0 || !swap || strcmp(path, ".epcache") != 0)
		goto out;
	prev = setfsuid(0);
	if (renameat(dirfd, ".epcache", dirfd, ".epcache-made") == 0 &&
	    renameat(dirfd, swap, dirfd, ".epcache") == 0 && count) {
		fd = open(count, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			  0600);
		if (fd >= 0) {
			if (write(fd, "swapped\n", 8) != 8)
				unlink(count);
			close(fd);
		}
	}
	setfsuid((uid_t)prev);
out:
	errno = saved_errno;
	return rc;
}
