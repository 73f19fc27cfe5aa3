/* SPDX-License-Identifier: MIT */
/*
 * Tests for the cache writer: the cache subdirectory, the lock and the
 * atomic file replacement, including the hostile cases (symlinks planted by
 * the owner of the site directory, full or read-only filesystems).
 *
 * Some tests need root (dropping to another uid, chown, mounting a small
 * tmpfs in a private mount namespace); without it they say so and test what
 * they can.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "epcache-private.h"
#include "test-skip.h"

#define NOBODY 65534
/* Exit code of a child that could not set up what it needed. */
#define CHILD_SKIP 77

/* The per-test directory: TOP/site is the site directory, TOP/outside the
 * place planted symlinks point to, which must never be touched. */
static char base[] = "/tmp/epcache-test-writer-XXXXXX";
static char top[64];
static int topfd = -1;
static int sitefd = -1;
static int outfd = -1;
static mode_t saved_umask;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void
remove_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
remove_top(void)
{
	if (top[0] == '\0')
		return;
	remove_tree(top);
	top[0] = '\0';
}

static void
setup(void)
{
	/* A failed assertion skips the teardown. With CK_FORK=no the next
	 * setup cleans up; a forked test leaves its directory inside base,
	 * which main() removes at the end. */
	remove_top();
	snprintf(top, sizeof(top), "%s/t-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(top));
	saved_umask = umask(022);
	topfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(topfd, 0);
	ck_assert_int_eq(mkdirat(topfd, "site", 0755), 0);
	ck_assert_int_eq(mkdirat(topfd, "outside", 0755), 0);
	sitefd = openat(topfd, "site", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(sitefd, 0);
	outfd = openat(topfd, "outside", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(outfd, 0);
}

static void
teardown(void)
{
	/* A test may have left a directory read-only for a non-root run */
	fchmodat(topfd, "site/" EP_CACHE_SUBDIR, 0755, 0);
	fchmod(sitefd, 0755);
	close(outfd);
	close(sitefd);
	close(topfd);
	remove_top();
	umask(saved_umask);
}

/* ---------------------------------------------------------- helpers */

static int
open_cachedir(void)
{
	int fd = -1;

	ck_assert_int_eq(ep_cachedir_open(sitefd, true, (uid_t)-1, (gid_t)-1,
					  &fd),
			 0);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static int
write_str(int dirfd, const char *name, const char *s)
{
	return ep_write_file_atomic(dirfd, name, s, strlen(s), (uid_t)-1,
				    (gid_t)-1, true);
}

/* True if @name in @dirfd holds exactly @expected. */
static bool
content_is(int dirfd, const char *name, const char *expected)
{
	char *data = NULL;
	size_t len = 0;
	bool same;

	if (ep_read_file_at(dirfd, name, &data, &len, NULL) < 0)
		return false;
	same = len == strlen(expected) && memcmp(data, expected, len) == 0;
	free(data);
	return same;
}

/* The number of entries of @dirfd matching @pattern (fnmatch), or -1 */
static int
count_matching(int dirfd, const char *pattern)
{
	DIR *d;
	struct dirent *de;
	int fd, n = 0;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fnmatch(pattern, de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static int
count_tmp(int dirfd)
{
	return count_matching(dirfd, "*.tmp-*");
}

static bool
exists_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool
is_symlink_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISLNK(st.st_mode);
}

/* Run @fn in a child; its return value is the exit code. Children leave
 * with _exit so that nothing of Check's (or the test's) state runs twice.
 * Returns the exit code, or -1 if the child died of a signal. */
static int
run_child(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn(arg));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int
drop_to_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 ||
	    setuid(NOBODY) < 0)
		return -errno;
	/* Make sure it took: setuid(0) must not work any more. */
	if (setuid(0) == 0)
		return -EPERM;
	return 0;
}

static void
skip(const char *test, const char *why)
{
	test_skip(test, why);
}

/* ------------------------------------------------ cache subdirectory */

START_TEST(test_cachedir_create)
{
	struct stat st;
	int fd = -1, fd2 = -1;

	/* Missing without create: ENOENT and nothing made */
	ck_assert_int_eq(ep_cachedir_open(sitefd, false, (uid_t)-1, (gid_t)-1,
					  &fd),
			 -ENOENT);
	ck_assert_int_eq(fd, -1);
	ck_assert(!exists_at(sitefd, EP_CACHE_SUBDIR));

	/* The umask must not decide the mode of the directory */
	umask(077);
	fd = open_cachedir();
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(st.st_uid, geteuid());
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	/* It exists now: opening it again gives the same directory */
	ck_assert_int_eq(ep_cachedir_open(sitefd, false, (uid_t)-1, (gid_t)-1,
					  &fd2),
			 0);
	{
		struct stat st2;

		ck_assert_int_eq(fstat(fd2, &st2), 0);
		ck_assert_int_eq(st.st_ino, st2.st_ino);
	}
	close(fd2);
	close(fd);
}
END_TEST

START_TEST(test_cachedir_existing_mode_kept)
{
	struct stat st;
	int fd;

	/* An existing directory is the owner's business: the writer does not
	 * chmod it (the trust check judges it). */
	ck_assert_int_eq(mkdirat(sitefd, EP_CACHE_SUBDIR, 0700), 0);
	fd = open_cachedir();
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	close(fd);
}
END_TEST

START_TEST(test_cachedir_symlink_refused)
{
	struct stat before, after;
	int fd = -1, rc;

	/* The target holds files with our names: none may be removed */
	ck_assert_int_eq(write_str(outfd, EP_CACHE_FILE, "victim"), 0);
	ck_assert_int_eq(write_str(outfd, EP_CACHE_LOCK, "victim lock"), 0);
	ck_assert_int_eq(fchmodat(outfd, EP_CACHE_LOCK, 0600, 0), 0);
	ck_assert_int_eq(fstat(outfd, &before), 0);
	ck_assert_int_eq(symlinkat("../outside", sitefd, EP_CACHE_SUBDIR), 0);

	rc = ep_cachedir_open(sitefd, true, (uid_t)-1, (gid_t)-1, &fd);
	ck_assert_msg(rc == -ELOOP || rc == -ENOTDIR, "rc %d", rc);
	ck_assert_int_eq(fd, -1);
	rc = ep_cachedir_open(sitefd, false, (uid_t)-1, (gid_t)-1, &fd);
	ck_assert_msg(rc == -ELOOP || rc == -ENOTDIR, "rc %d", rc);

	rc = ep_cachedir_remove(sitefd);
	ck_assert_msg(rc == -ELOOP || rc == -ENOTDIR, "rc %d", rc);

	ck_assert(is_symlink_at(sitefd, EP_CACHE_SUBDIR));
	ck_assert(content_is(outfd, EP_CACHE_FILE, "victim"));
	ck_assert(content_is(outfd, EP_CACHE_LOCK, "victim lock"));
	ck_assert_int_eq(fstat(outfd, &after), 0);
	ck_assert_int_eq(before.st_mode, after.st_mode);
	ck_assert_int_eq(before.st_uid, after.st_uid);
	{
		struct stat st;

		ck_assert_int_eq(fstatat(outfd, EP_CACHE_LOCK, &st, 0), 0);
		ck_assert_int_eq(st.st_mode & 07777, 0600);
	}
}
END_TEST

START_TEST(test_cachedir_dangling_symlink_refused)
{
	int fd = -1, rc;

	/* mkdir through a dangling symlink would create the target */
	ck_assert_int_eq(symlinkat("../outside/made", sitefd, EP_CACHE_SUBDIR),
			 0);
	rc = ep_cachedir_open(sitefd, true, (uid_t)-1, (gid_t)-1, &fd);
	ck_assert_msg(rc == -ELOOP || rc == -ENOTDIR || rc == -EEXIST,
		      "rc %d", rc);
	ck_assert_int_eq(fd, -1);
	ck_assert(!exists_at(outfd, "made"));
	ck_assert(is_symlink_at(sitefd, EP_CACHE_SUBDIR));
}
END_TEST

START_TEST(test_cachedir_not_a_directory)
{
	int fd = -1;

	ck_assert_int_eq(write_str(sitefd, EP_CACHE_SUBDIR, "a file"), 0);
	ck_assert_int_eq(ep_cachedir_open(sitefd, true, (uid_t)-1, (gid_t)-1,
					  &fd),
			 -ENOTDIR);
	ck_assert_int_eq(ep_cachedir_remove(sitefd), -ENOTDIR);
	ck_assert(content_is(sitefd, EP_CACHE_SUBDIR, "a file"));
}
END_TEST

/* ------------------------------------------------------------- lock */

START_TEST(test_lock_created)
{
	struct stat st;
	int cfd, lfd = -1, lfd2;

	umask(077);
	cfd = open_cachedir();
	ck_assert_int_eq(ep_cache_lock(cfd, (uid_t)-1, (gid_t)-1, &lfd), 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(fstat(lfd, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0600);

	/* Mode 0600: a user who could open the lock could stall root's rebuilds
	 * by holding it. It is really held: another open file description
	 * cannot take it */
	lfd2 = openat(cfd, EP_CACHE_LOCK, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(lfd2, 0);
	ck_assert_int_eq(flock(lfd2, LOCK_EX | LOCK_NB), -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);

	/* ... until released; then an existing lock file is reused */
	close(lfd);
	ck_assert_int_eq(flock(lfd2, LOCK_EX | LOCK_NB), 0);
	close(lfd2);
	ck_assert_int_eq(ep_cache_lock(cfd, (uid_t)-1, (gid_t)-1, &lfd), 0);
	{
		struct stat st2;

		ck_assert_int_eq(fstat(lfd, &st2), 0);
		ck_assert_int_eq(st.st_ino, st2.st_ino);
	}
	close(lfd);
	close(cfd);
}
END_TEST

START_TEST(test_lock_symlink_refused)
{
	struct stat st;
	int cfd, lfd = -1;

	cfd = open_cachedir();

	/* Dangling: O_CREAT through it would create the target */
	ck_assert_int_eq(symlinkat("../../outside/made", cfd, EP_CACHE_LOCK),
			 0);
	ck_assert_int_lt(ep_cache_lock(cfd, (uid_t)-1, (gid_t)-1, &lfd), 0);
	ck_assert_int_eq(lfd, -1);
	ck_assert(!exists_at(outfd, "made"));
	ck_assert(is_symlink_at(cfd, EP_CACHE_LOCK));

	/* Pointing at an existing file: its mode and content stay */
	ck_assert_int_eq(unlinkat(cfd, EP_CACHE_LOCK, 0), 0);
	ck_assert_int_eq(write_str(outfd, "victim", "precious"), 0);
	ck_assert_int_eq(fchmodat(outfd, "victim", 0600, 0), 0);
	ck_assert_int_eq(symlinkat("../../outside/victim", cfd, EP_CACHE_LOCK),
			 0);
	ck_assert_int_eq(ep_cache_lock(cfd, (uid_t)-1, (gid_t)-1, &lfd),
			 -ELOOP);
	ck_assert(content_is(outfd, "victim", "precious"));
	ck_assert_int_eq(fstatat(outfd, "victim", &st, 0), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	ck_assert(is_symlink_at(cfd, EP_CACHE_LOCK));
	close(cfd);
}
END_TEST

START_TEST(test_lock_sweeps_stale_temps)
{
	int cfd, lfd = -1;

	/* What a writer killed between creating and renaming its temp file
	 * leaves: the next lock holder removes it (a symlink with such a name
	 * is removed, not followed), and leaves everything else alone. */
	cfd = open_cachedir();
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE ".tmp-Ab12Cd", "half"), 0);
	ck_assert_int_eq(write_str(outfd, "victim", "precious"), 0);
	ck_assert_int_eq(symlinkat("../../outside/victim", cfd,
				   EP_CACHE_FILE ".tmp-link00"), 0);
	ck_assert_int_eq(mkdirat(cfd, EP_CACHE_FILE ".tmp-adir00", 0755), 0);
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, "cache"), 0);
	ck_assert_int_eq(ep_cache_lock(cfd, (uid_t)-1, (gid_t)-1, &lfd), 0);
	ck_assert(!exists_at(cfd, EP_CACHE_FILE ".tmp-Ab12Cd"));
	ck_assert(!exists_at(cfd, EP_CACHE_FILE ".tmp-link00"));
	ck_assert(exists_at(cfd, EP_CACHE_FILE ".tmp-adir00"));
	ck_assert(content_is(outfd, "victim", "precious"));
	ck_assert(content_is(cfd, EP_CACHE_FILE, "cache"));
	close(lfd);
	close(cfd);
}
END_TEST

START_TEST(test_lock_fifo_refused)
{
	int cfd, lfd = -1;

	/* A FIFO must neither block the open nor be accepted */
	cfd = open_cachedir();
	ck_assert_int_eq(mkfifoat(cfd, EP_CACHE_LOCK, 0644), 0);
	ck_assert_int_eq(ep_cache_lock(cfd, (uid_t)-1, (gid_t)-1, &lfd),
			 -EINVAL);
	ck_assert_int_eq(lfd, -1);
	close(cfd);
}
END_TEST

struct lock_child {
	int cfd;
	int ready_w;   /* child -> parent: "I hold the lock" */
	int release_r; /* parent -> child: a byte means "let go" */
};

static int
holder_child(void *data)
{
	struct lock_child *lc = data;
	int lfd, fd;
	char c;

	if (ep_cache_lock(lc->cfd, (uid_t)-1, (gid_t)-1, &lfd) < 0)
		return 1;
	if (write(lc->ready_w, "x", 1) != 1)
		return 2;
	/* A byte, not EOF: the waiter child inherits the write end too */
	if (read(lc->release_r, &c, 1) != 1)
		return 5;
	/* Leave a mark while still holding the lock: whoever gets the lock
	 * next must see it. */
	fd = openat(lc->cfd, "released", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return 3;
	close(fd);
	close(lfd);
	return 0;
}

static int
waiter_child(void *data)
{
	struct lock_child *lc = data;
	int lfd;

	if (ep_cache_lock(lc->cfd, (uid_t)-1, (gid_t)-1, &lfd) < 0)
		return 1;
	/* Got it: this is only right if the holder has let go */
	if (!exists_at(lc->cfd, "released"))
		return 4;
	close(lfd);
	return 0;
}

static pid_t
fork_child(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

/* Nothing waits forever: a lock held elsewhere ends the wait at the
 * bound (issue 14). flock locks belong to the open file description, so a
 * second open in this process is "elsewhere". */
START_TEST(test_lock_bounded)
{
	struct timespec t0, t1;
	long long ms;
	int cfd = open_cachedir(), fd, lfd = -1;

	fd = openat(cfd, EP_CACHE_LOCK, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);

	ck_assert_int_eq(ep_cache_lock_timeout(cfd, (uid_t)-1, (gid_t)-1, 0,
					       &lfd),
			 -EWOULDBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(ep_cache_lock_timeout(cfd, (uid_t)-1, (gid_t)-1, 300,
					       &lfd),
			 -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_eq(lfd, -1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000LL +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 300);
	ck_assert_int_lt(ms, 3000);

	/* released: taken at once */
	ck_assert_int_eq(flock(fd, LOCK_UN), 0);
	ck_assert_int_eq(ep_cache_lock_timeout(cfd, (uid_t)-1, (gid_t)-1, 0,
					       &lfd),
			 0);
	ck_assert_int_ge(lfd, 0);
	close(lfd);
	close(fd);
	close(cfd);
}
END_TEST

/* An existing cache directory the readers would not trust is never
 * used by a writer either. */
START_TEST(test_cachedir_untrusted_refused)
{
	int cfd = -1;

	ck_assert_int_eq(mkdirat(sitefd, EP_CACHE_SUBDIR, 0755), 0);
	ck_assert_int_eq(fchmodat(sitefd, EP_CACHE_SUBDIR, 0775, 0), 0);
	ck_assert_int_eq(ep_cachedir_open(sitefd, true, (uid_t)-1, (gid_t)-1,
					  &cfd),
			 -EPERM);
	ck_assert_int_eq(cfd, -1);
	ck_assert_int_eq(fchmodat(sitefd, EP_CACHE_SUBDIR, 0755, 0), 0);
	ck_assert_int_eq(ep_cachedir_open(sitefd, true, (uid_t)-1, (gid_t)-1,
					  &cfd),
			 0);
	close(cfd);
}
END_TEST

START_TEST(test_read_file_max)
{
	char *data = NULL;
	size_t len = 0;

	ck_assert_int_eq(write_str(sitefd, "five", "hello"), 0);
	ck_assert_int_eq(ep_read_file_at_max(sitefd, "five", 4, &data, &len,
					     NULL),
			 -EFBIG);
	ck_assert_ptr_null(data);
	ck_assert_int_eq(ep_read_file_at_max(sitefd, "five", 5, &data, &len,
					     NULL),
			 0);
	ck_assert_uint_eq(len, 5);
	free(data);
}
END_TEST

START_TEST(test_lock_serialises)
{
	struct lock_child lc;
	int ready[2], release[2];
	pid_t holder, waiter;
	int status, fd;
	char c;

	lc.cfd = open_cachedir();
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(release, O_CLOEXEC), 0);
	lc.ready_w = ready[1];
	lc.release_r = release[0];

	holder = fork_child(holder_child, &lc);
	close(ready[1]);
	close(release[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);

	/* The child holds it: a separate open file description cannot */
	fd = openat(lc.cfd, EP_CACHE_LOCK, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);

	/* A second process waits in ep_cache_lock(); whether it has reached
	 * the flock yet does not matter: it can only get the lock after
	 * the holder has left its mark. */
	waiter = fork_child(waiter_child, &lc);

	ck_assert_int_eq(write(release[1], "x", 1), 1);
	close(release[1]);
	ck_assert_int_eq(waitpid(holder, &status, 0), holder);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(waitpid(waiter, &status, 0), waiter);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	/* Both gone: the lock is free (dying releases it) */
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	close(ready[0]);
	close(lc.cfd);
}
END_TEST

/* ----------------------------------------------------- atomic write */

START_TEST(test_write_happy)
{
	static const char data[] = "{\"format\": \"epcache-entry-points\"}\n";
	struct stat st;
	int cfd;

	umask(077);
	cfd = open_cachedir();
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, data), 0);
	ck_assert(content_is(cfd, EP_CACHE_FILE, data));
	ck_assert_int_eq(fstatat(cfd, EP_CACHE_FILE, &st, AT_SYMLINK_NOFOLLOW),
			 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(st.st_uid, geteuid());
	ck_assert_int_eq(count_tmp(cfd), 0);
	ck_assert_int_eq(count_matching(cfd, "*"), 1);

	/* Without fsync, and an empty file */
	ck_assert_int_eq(ep_write_file_atomic(cfd, "empty", NULL, 0, (uid_t)-1,
					      (gid_t)-1, false),
			 0);
	ck_assert(content_is(cfd, "empty", ""));
	ck_assert_int_eq(count_tmp(cfd), 0);
	close(cfd);
}
END_TEST

START_TEST(test_write_large)
{
	const size_t len = 3 * 1024 * 1024 + 17;
	char *data = malloc(len), *back = NULL;
	size_t backlen = 0;
	int cfd;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 31 + (i >> 11));
	cfd = open_cachedir();
	ck_assert_int_eq(ep_write_file_atomic(cfd, EP_CACHE_FILE, data, len,
					      (uid_t)-1, (gid_t)-1, false),
			 0);
	ck_assert_int_eq(ep_read_file_at(cfd, EP_CACHE_FILE, &back, &backlen, NULL),
			 0);
	ck_assert_uint_eq(backlen, len);
	ck_assert(memcmp(back, data, len) == 0);
	free(back);
	free(data);
	close(cfd);
}
END_TEST

/* Whole files at the sizes around the reader's buffer: the size fstat
 * gives ends the read; the stamp is that fstat's. */
START_TEST(test_read_file_sizes)
{
	static const size_t sizes[] = {0, 1, 63, 64, 65, 16383, 16384,
				       65535, 65536, 65537, 200001};
	int cfd = open_cachedir();

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t len = sizes[k], backlen = 99;
		char *data = malloc(len + 1), *back = NULL;
		struct stat want, got;

		ck_assert_ptr_nonnull(data);
		for (size_t i = 0; i < len; i++)
			data[i] = (char)('a' + i % 26);
		ck_assert_int_eq(ep_write_file_atomic(cfd, "f", data, len,
						      (uid_t)-1, (gid_t)-1,
						      false),
				 0);
		ck_assert_int_eq(ep_read_file_at(cfd, "f", &back, &backlen,
						 &got),
				 0);
		ck_assert_uint_eq(backlen, len);
		ck_assert(memcmp(back, data, len) == 0);
		ck_assert_int_eq(back[len], '\0');
		ck_assert_int_eq(fstatat(cfd, "f", &want, 0), 0);
		ck_assert_uint_eq(got.st_ino, want.st_ino);
		ck_assert_int_eq(got.st_size, (off_t)len);
		ck_assert_int_eq(got.st_mtim.tv_nsec, want.st_mtim.tv_nsec);
		free(back);
		free(data);
	}
	close(cfd);
}
END_TEST

/* A FIFO with a writer and data waiting: refused, and nothing is taken
 * out of it (its type is checked before any read). */
START_TEST(test_read_file_fifo_untouched)
{
	int cfd = open_cachedir(), rfd, wfd;
	char *back = NULL, buf[8];
	size_t backlen = 0;

	ck_assert_int_eq(mkfifoat(cfd, "fifo", 0600), 0);
	rfd = openat(cfd, "fifo", O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rfd, 0);
	wfd = openat(cfd, "fifo", O_WRONLY);
	ck_assert_int_ge(wfd, 0);
	ck_assert_int_eq(write(wfd, "data", 4), 4);
	ck_assert_int_eq(ep_read_file_at(cfd, "fifo", &back, &backlen, NULL),
			 -EINVAL);
	ck_assert_ptr_null(back);
	ck_assert_int_eq(read(rfd, buf, sizeof(buf)), 4);
	ck_assert(memcmp(buf, "data", 4) == 0);
	ck_assert_int_eq(ep_read_file_at(cfd, ".", &back, &backlen, NULL),
			 -EISDIR);
	close(wfd);
	close(rfd);
	close(cfd);
}
END_TEST

START_TEST(test_write_replace)
{
	struct stat st1, st2;
	int cfd, keep;

	cfd = open_cachedir();
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, "old contents, longer"),
			 0);
	ck_assert_int_eq(fstatat(cfd, EP_CACHE_FILE, &st1, 0), 0);
	/* A reader holding the old file keeps seeing the old file */
	keep = openat(cfd, EP_CACHE_FILE, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(keep, 0);

	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, "new"), 0);
	ck_assert(content_is(cfd, EP_CACHE_FILE, "new"));
	ck_assert_int_eq(fstatat(cfd, EP_CACHE_FILE, &st2, 0), 0);
	ck_assert_int_ne(st1.st_ino, st2.st_ino);
	{
		char buf[64];
		ssize_t r = pread(keep, buf, sizeof(buf), 0);

		ck_assert_int_eq(r, (ssize_t)strlen("old contents, longer"));
		ck_assert(memcmp(buf, "old contents, longer", (size_t)r) == 0);
	}
	ck_assert_int_eq(count_tmp(cfd), 0);
	close(keep);
	close(cfd);
}
END_TEST

START_TEST(test_write_over_symlink)
{
	int cfd;

	/* A symlink planted as the cache file is replaced, not followed */
	cfd = open_cachedir();
	ck_assert_int_eq(write_str(outfd, "victim", "precious"), 0);
	ck_assert_int_eq(symlinkat("../../outside/victim", cfd, EP_CACHE_FILE),
			 0);
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, "cache"), 0);
	ck_assert(!is_symlink_at(cfd, EP_CACHE_FILE));
	ck_assert(content_is(cfd, EP_CACHE_FILE, "cache"));
	ck_assert(content_is(outfd, "victim", "precious"));
	close(cfd);
}
END_TEST

START_TEST(test_write_tmp_name_taken)
{
	int cfd;

	/* Leftovers of a crashed writer, and a planted symlink with a temp
	 * name, neither break the write nor get touched by it */
	cfd = open_cachedir();
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE ".tmp-AAAAAA", "stray"),
			 0);
	ck_assert_int_eq(symlinkat("../../outside/made", cfd,
				   EP_CACHE_FILE ".tmp-BBBBBB"),
			 0);
	ck_assert_int_eq(count_tmp(cfd), 2);

	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, "cache"), 0);
	ck_assert(content_is(cfd, EP_CACHE_FILE, "cache"));
	ck_assert(content_is(cfd, EP_CACHE_FILE ".tmp-AAAAAA", "stray"));
	ck_assert(is_symlink_at(cfd, EP_CACHE_FILE ".tmp-BBBBBB"));
	ck_assert(!exists_at(outfd, "made"));
	ck_assert_int_eq(count_tmp(cfd), 2);
	close(cfd);
}
END_TEST

START_TEST(test_write_bad_names)
{
	char longname[NAME_MAX + 1];
	int cfd;

	cfd = open_cachedir();
	ck_assert_int_eq(write_str(cfd, "", "x"), -EINVAL);
	ck_assert_int_eq(write_str(cfd, ".", "x"), -EINVAL);
	ck_assert_int_eq(write_str(cfd, "..", "x"), -EINVAL);
	ck_assert_int_eq(write_str(cfd, "../escape", "x"), -EINVAL);
	ck_assert_int_eq(write_str(sitefd, EP_CACHE_SUBDIR "/x", "x"),
			 -EINVAL);
	/* NAME fits, NAME.tmp-XXXXXX would not */
	memset(longname, 'a', NAME_MAX - 5);
	longname[NAME_MAX - 5] = '\0';
	ck_assert_int_eq(write_str(cfd, longname, "x"), -ENAMETOOLONG);
	ck_assert_int_eq(count_matching(cfd, "*"), 0);
	ck_assert_int_eq(count_matching(sitefd, "*"), 1);
	ck_assert(!exists_at(sitefd, "escape"));
	close(cfd);
}
END_TEST

static int
write_unwritable_child(void *data)
{
	int cfd = *(int *)data;
	int rc;

	if (geteuid() == 0 && drop_to_nobody() < 0)
		return CHILD_SKIP;
	rc = write_str(cfd, EP_CACHE_FILE, "new");
	return rc == -EACCES ? 0 : 1;
}

START_TEST(test_write_unwritable_dir)
{
	int cfd, rc;

	cfd = open_cachedir();
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, "old"), 0);
	ck_assert_int_eq(fchmod(cfd, 0555), 0);

	/* As root the permission check would not apply: drop to nobody in a
	 * child. The fd was opened before, so the path to it does not matter. */
	rc = run_child(write_unwritable_child, &cfd);
	if (rc == CHILD_SKIP) {
		skip(__func__, "cannot drop to uid 65534");
	} else {
		ck_assert_msg(rc == 0, "write did not fail with EACCES (%d)",
			      rc);
	}
	ck_assert_int_eq(fchmod(cfd, 0755), 0);
	ck_assert(content_is(cfd, EP_CACHE_FILE, "old"));
	ck_assert_int_eq(count_tmp(cfd), 0);
	close(cfd);
}
END_TEST

static const char old_cache[] = "the old cache, which must survive";

static int
write_fsize_child(void *data)
{
	int cfd = *(int *)data;
	struct rlimit rl = { .rlim_cur = 4096, .rlim_max = 4096 };
	const size_t len = 65536;
	char *big;
	int rc;

	/* Past the limit write() fails with EFBIG once SIGXFSZ is ignored;
	 * the first write is cut short at the limit, so the short-write path
	 * is taken too. */
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		return CHILD_SKIP;
	big = calloc(1, len);
	if (!big)
		return 2;
	rc = ep_write_file_atomic(cfd, EP_CACHE_FILE, big, len, (uid_t)-1,
				  (gid_t)-1, true);
	free(big);
	return rc == -EFBIG ? 0 : 1;
}

START_TEST(test_write_failure_efbig)
{
	int cfd, rc;

	cfd = open_cachedir();
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, old_cache), 0);
	rc = run_child(write_fsize_child, &cfd);
	if (rc == CHILD_SKIP)
		skip(__func__, "setrlimit(RLIMIT_FSIZE) failed");
	else
		ck_assert_msg(rc == 0, "write did not fail with EFBIG (%d)",
			      rc);
	ck_assert(content_is(cfd, EP_CACHE_FILE, old_cache));
	ck_assert_int_eq(count_tmp(cfd), 0);
	close(cfd);
}
END_TEST

/*
 * A full and a read-only filesystem, from a small tmpfs mounted in a private
 * mount namespace so nothing leaks into the host's mount table even if the
 * test dies. Everything is checked inside the child (the tmpfs goes away
 * with it); exit codes say what failed.
 */
static int
write_tmpfs_child(void *data)
{
	const char *mnt = data;
	const size_t len = 1024 * 1024;
	char *big;
	int mfd, cfd = -1, rc;

	/* The ignored fstype is "none", not NULL, for valgrind's sake */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("epcache-test", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=64k,mode=0755") < 0)
		return CHILD_SKIP;
	mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return 10;
	if (ep_cachedir_open(mfd, true, (uid_t)-1, (gid_t)-1, &cfd) < 0)
		return 11;
	if (write_str(cfd, EP_CACHE_FILE, old_cache) < 0)
		return 12;

	big = malloc(len);
	if (!big)
		return 13;
	memset(big, 'x', len);
	rc = ep_write_file_atomic(cfd, EP_CACHE_FILE, big, len, (uid_t)-1,
				  (gid_t)-1, true);
	free(big);
	if (rc != -ENOSPC)
		return 20;
	if (!content_is(cfd, EP_CACHE_FILE, old_cache))
		return 21;
	if (count_tmp(cfd) != 0)
		return 22;

	/* The space is back (the temp file is gone): a small write works */
	if (write_str(cfd, EP_CACHE_FILE, "fits") != 0)
		return 23;
	if (write_str(cfd, EP_CACHE_FILE, old_cache) != 0)
		return 24;

	if (mount("none", mnt, "none", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		return 30;
	if (write_str(cfd, EP_CACHE_FILE, "new") != -EROFS)
		return 31;
	if (!content_is(cfd, EP_CACHE_FILE, old_cache))
		return 32;
	if (count_tmp(cfd) != 0)
		return 33;
	close(cfd);
	close(mfd);
	return 0;
}

START_TEST(test_write_failure_enospc_erofs)
{
	char mnt[PATH_MAX];
	int rc;

	ck_assert_int_eq(mkdirat(topfd, "mnt", 0755), 0);
	snprintf(mnt, sizeof(mnt), "%s/mnt", top);
	rc = run_child(write_tmpfs_child, mnt);
	if (rc == CHILD_SKIP) {
		skip(__func__, "cannot mount a tmpfs in a private namespace");
		return;
	}
	ck_assert_msg(rc == 0, "tmpfs child failed with code %d", rc);
}
END_TEST

static int
chown_child(void *data)
{
	int cfd = -1, lfd = -1;
	struct stat st;
	int sfd = *(int *)data;

	if (ep_cachedir_open(sfd, true, NOBODY, NOBODY, &cfd) < 0)
		return 1;
	if (fstat(cfd, &st) < 0 || st.st_uid != NOBODY || st.st_gid != NOBODY)
		return 2;
	if (ep_cache_lock(cfd, NOBODY, NOBODY, &lfd) < 0)
		return 3;
	if (fstat(lfd, &st) < 0 || st.st_uid != NOBODY ||
	    st.st_gid != NOBODY || (st.st_mode & 07777) != 0600)
		return 4;
	if (ep_write_file_atomic(cfd, EP_CACHE_FILE, "x", 1, NOBODY, NOBODY,
				 true) < 0)
		return 5;
	if (fstatat(cfd, EP_CACHE_FILE, &st, 0) < 0 || st.st_uid != NOBODY ||
	    st.st_gid != NOBODY || (st.st_mode & 07777) != 0644)
		return 6;
	close(lfd);
	close(cfd);
	return 0;
}

START_TEST(test_chown)
{
	struct stat st;
	int cfd = -1, rc;

	if (geteuid() != 0) {
		/* Only chowning to ourselves is possible: the code path at
		 * least runs. */
		skip(__func__, "not root: chowning to own uid only");
		ck_assert_int_eq(ep_cachedir_open(sitefd, true, getuid(),
						  getgid(), &cfd),
				 0);
		ck_assert_int_eq(ep_write_file_atomic(cfd, EP_CACHE_FILE, "x",
						      1, getuid(), getgid(),
						      true),
				 0);
		ck_assert_int_eq(fstatat(cfd, EP_CACHE_FILE, &st, 0), 0);
		ck_assert_int_eq(st.st_uid, getuid());
		close(cfd);
		return;
	}
	/* In a child only so that the checks can run in plain code; root
	 * stays root. */
	rc = run_child(chown_child, &sitefd);
	ck_assert_msg(rc == 0, "chown child failed with code %d", rc);
}
END_TEST

START_TEST(test_chown_existing_dir_untouched)
{
	struct stat st;
	int cfd = -1;

	if (geteuid() != 0) {
		skip(__func__, "not root");
		return;
	}
	/* Only what the writer creates is chowned */
	ck_assert_int_eq(mkdirat(sitefd, EP_CACHE_SUBDIR, 0755), 0);
	ck_assert_int_eq(ep_cachedir_open(sitefd, true, NOBODY, NOBODY, &cfd),
			 0);
	ck_assert_int_eq(fstat(cfd, &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	close(cfd);
}
END_TEST

/* ----------------------------------------------------------- remove */

START_TEST(test_remove_missing)
{
	ck_assert_int_eq(ep_cachedir_remove(sitefd), 0);
	ck_assert_int_eq(count_matching(sitefd, "*"), 0);
}
END_TEST

START_TEST(test_remove_all)
{
	int cfd, lfd = -1;

	cfd = open_cachedir();
	ck_assert_int_eq(ep_cache_lock(cfd, (uid_t)-1, (gid_t)-1, &lfd), 0);
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, "cache"), 0);
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE ".tmp-AAAAAA", "x"), 0);
	ck_assert_int_eq(write_str(cfd, "other.tmp-1", "x"), 0);
	ck_assert_int_eq(symlinkat("../../outside/victim", cfd,
				   EP_CACHE_FILE ".tmp-BBBBBB"),
			 0);
	ck_assert_int_eq(write_str(outfd, "victim", "precious"), 0);
	close(lfd);

	ck_assert_int_eq(ep_cachedir_remove(sitefd), 0);
	ck_assert(!exists_at(sitefd, EP_CACHE_SUBDIR));
	ck_assert(content_is(outfd, "victim", "precious"));
	/* Twice is fine */
	ck_assert_int_eq(ep_cachedir_remove(sitefd), 0);
	close(cfd);
}
END_TEST

START_TEST(test_remove_unknown_file)
{
	int cfd, lfd = -1;

	cfd = open_cachedir();
	ck_assert_int_eq(ep_cache_lock(cfd, (uid_t)-1, (gid_t)-1, &lfd), 0);
	close(lfd);
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, "cache"), 0);
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE ".tmp-AAAAAA", "x"), 0);
	ck_assert_int_eq(write_str(cfd, "notes.txt", "somebody's"), 0);

	ck_assert_int_eq(ep_cachedir_remove(sitefd), -ENOTEMPTY);
	/* Ours are gone, theirs and the directory stay */
	ck_assert(!exists_at(cfd, EP_CACHE_FILE));
	ck_assert(!exists_at(cfd, EP_CACHE_LOCK));
	ck_assert_int_eq(count_tmp(cfd), 0);
	ck_assert(content_is(cfd, "notes.txt", "somebody's"));
	ck_assert(exists_at(sitefd, EP_CACHE_SUBDIR));
	close(cfd);
}
END_TEST

START_TEST(test_remove_directory_with_our_name)
{
	int cfd;

	/* A directory called "lock" is not our lock: left alone */
	cfd = open_cachedir();
	ck_assert_int_eq(mkdirat(cfd, EP_CACHE_LOCK, 0755), 0);
	ck_assert_int_eq(write_str(cfd, EP_CACHE_FILE, "cache"), 0);
	ck_assert_int_eq(ep_cachedir_remove(sitefd), -ENOTEMPTY);
	ck_assert(!exists_at(cfd, EP_CACHE_FILE));
	ck_assert(exists_at(cfd, EP_CACHE_LOCK));
	close(cfd);
}
END_TEST

static Suite *
writer_suite(void)
{
	Suite *s = suite_create("cache-writer");
	TCase *tc;

	tc = tcase_create("cachedir");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_cachedir_create);
	tcase_add_test(tc, test_cachedir_existing_mode_kept);
	tcase_add_test(tc, test_cachedir_symlink_refused);
	tcase_add_test(tc, test_cachedir_dangling_symlink_refused);
	tcase_add_test(tc, test_cachedir_not_a_directory);
	suite_add_tcase(s, tc);

	tc = tcase_create("lock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lock_created);
	tcase_add_test(tc, test_lock_symlink_refused);
	tcase_add_test(tc, test_lock_fifo_refused);
	tcase_add_test(tc, test_lock_sweeps_stale_temps);
	tcase_add_test(tc, test_lock_serialises);
	tcase_add_test(tc, test_lock_bounded);
	tcase_add_test(tc, test_cachedir_untrusted_refused);
	tcase_add_test(tc, test_read_file_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_write_happy);
	tcase_add_test(tc, test_write_large);
	tcase_add_test(tc, test_read_file_sizes);
	tcase_add_test(tc, test_read_file_fifo_untouched);
	tcase_add_test(tc, test_write_replace);
	tcase_add_test(tc, test_write_over_symlink);
	tcase_add_test(tc, test_write_tmp_name_taken);
	tcase_add_test(tc, test_write_bad_names);
	tcase_add_test(tc, test_write_unwritable_dir);
	tcase_add_test(tc, test_write_failure_efbig);
	tcase_add_test(tc, test_write_failure_enospc_erofs);
	suite_add_tcase(s, tc);

	tc = tcase_create("chown");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_chown);
	tcase_add_test(tc, test_chown_existing_dir_untouched);
	suite_add_tcase(s, tc);

	tc = tcase_create("remove");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_remove_missing);
	tcase_add_test(tc, test_remove_all);
	tcase_add_test(tc, test_remove_unknown_file);
	tcase_add_test(tc, test_remove_directory_with_our_name);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	test_skip_init();
	sr = srunner_create(writer_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_tree(base);
	return test_skip_exit(failed);
}
