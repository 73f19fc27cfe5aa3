/* SPDX-License-Identifier: MIT */
/*
 * Writing the cache: the cache subdirectory, its rebuild lock and the
 * atomic replacement of files inside it.
 *
 * The writer may run as root inside a directory that a user can write
 * (pip --user, a venv, a user's prefix). Everything here therefore works
 * relative to directory fds and refuses symlinks wherever the user could
 * have planted one: a path would let them redirect us between two calls,
 * and a followed symlink would let them aim root's writes anywhere.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/fsuid.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "epcache-private.h"

#define TMP_INFIX ".tmp-"
#define TMP_SUFFIX_LEN 6
/* Collisions need another process picking the same 36 random bits: a few
 * retries are plenty, and a bound keeps a directory full of planted names
 * from spinning us forever. */
#define TMP_MAX_TRIES 100
/* The lock file may be removed by ep_cachedir_remove() between our failed
 * O_EXCL create and the plain open; racing that more than a few times in a
 * row means something is wrong. */
#define LOCK_MAX_TRIES 10

static inline int
neg_errno(void)
{
	/* Never let a stray errno of 0 turn a failure into success. */
	return errno > 0 ? -errno : -EIO;
}

static int
chown_if_wanted(int fd, uid_t uid, gid_t gid)
{
	if (uid == (uid_t)-1)
		return 0;
	if (fchown(fd, uid, gid) < 0)
		return neg_errno();
	return 0;
}

/* Is the directory @fd empty (but for "." and "..")? */
static int
dir_is_empty(int fd)
{
	struct dirent *de;
	DIR *d;
	int rc = 1;

	if ((rc = ep_opendir_at(fd, &d)) < 0)
		return rc;
	rc = 1;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			rc = 0;
			break;
		}
	}
	if (rc == 1 && errno)
		rc = neg_errno();
	closedir(d);
	return rc;
}

int
ep_cachedir_open(int sitefd, bool create, uid_t uid, gid_t gid, int *fd_out)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st, site;
	const char *why;
	bool created = false;
	int fd, rc = 0;

	fd = openat(sitefd, EP_CACHE_SUBDIR, flags);
	if (fd < 0 && errno == ENOENT && create) {
		/* mkdirat never follows a symlink in the last component: a
		 * dangling one planted here gives EEXIST, and the open below
		 * refuses it. EEXIST may also be a concurrent creator, whose
		 * directory we then simply use. */
		if (mkdirat(sitefd, EP_CACHE_SUBDIR, 0755) == 0)
			created = true;
		else if (errno != EEXIST)
			return neg_errno();
		fd = openat(sitefd, EP_CACHE_SUBDIR, flags);
	}
	if (fd < 0)
		return neg_errno();
	if (fstat(fd, &st) < 0 || fstat(sitefd, &site) < 0) {
		rc = neg_errno();
		goto out;
	}

	/*
	 * Between mkdirat and openat the site's owner may have put another
	 * directory in its place. What we open is changed (chmod, chown) only
	 * if it still looks like what mkdirat made: owned by our filesystem
	 * uid, and empty. Anything else is treated as an existing directory:
	 * used only if trusted, never changed.
	 */
	if (created && (st.st_uid != (uid_t)setfsuid((uid_t)-1) ||
			(rc = dir_is_empty(fd)) == 0)) {
		created = false;
	} else if (rc < 0) {
		goto out;
	}
	rc = 0;

	if (created) {
		/* mkdirat's mode went through the umask. */
		if (fchmod(fd, 0755) < 0) {
			rc = neg_errno();
			goto out;
		}
		if ((rc = chown_if_wanted(fd, uid, gid)) < 0)
			goto out;
	} else if (ep_trust_check_dir(&site, &st, &why) < 0) {
		/* Readers would not use a cache in it: a writer must not
		 * put one there (nor wait on a lock its owner holds). */
		rc = -EPERM;
		goto out;
	}

	*fd_out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Open the lock file, creating it if needed; *created tells which. */
static int
lock_open(int cachedirfd, bool *created)
{
	/* O_RDONLY is enough for flock and means an existing file (even one
	 * hard-linked here by someone else) is never written to. O_NONBLOCK
	 * keeps a planted FIFO from hanging us in open(). */
	const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
			  O_NONBLOCK;

	for (int i = 0; i < LOCK_MAX_TRIES; i++) {
		int fd;

		fd = openat(cachedirfd, EP_CACHE_LOCK, flags | O_CREAT | O_EXCL,
			    0600);
		if (fd >= 0) {
			*created = true;
			return fd;
		}
		if (errno != EEXIST)
			return neg_errno();

		/* Only a file we created is chmod'ed or chowned: anything
		 * already there may be a link to somebody else's file. */
		fd = openat(cachedirfd, EP_CACHE_LOCK, flags);
		if (fd >= 0) {
			*created = false;
			return fd;
		}
		if (errno != ENOENT)
			return neg_errno();
	}
	return -EAGAIN;
}

/*
 * Holding the lock we are the only writer, so a temp file of ours still in
 * the cache directory was left by a writer killed between creating and
 * renaming it (kill -9, power loss): nothing else can remove it. Best
 * effort: a leftover is never read, only untidy.
 */
static void
sweep_stale_temps(int cachedirfd)
{
	struct dirent *de;
	DIR *d;

	if (ep_opendir_at(cachedirfd, &d) < 0)
		return;
	while ((de = readdir(d))) {
		/* Without AT_REMOVEDIR a planted symlink is removed, not
		 * followed, and a directory is left alone. */
		if (fnmatch(EP_CACHE_FILE TMP_INFIX "*", de->d_name, 0) == 0)
			unlinkat(cachedirfd, de->d_name, 0);
	}
	closedir(d);
}

/*
 * flock() without a bound would let whoever can open the lock file (the
 * directory's owner, for root's rebuild of a user's venv) stop us for as
 * long as they like. Poll instead, backing off from 5 ms to 100 ms: a
 * rebuild takes milliseconds to a second or two, so the wait costs little
 * and ends by @timeout_ms. -EWOULDBLOCK when @timeout_ms is 0, else
 * -ETIMEDOUT.
 */
static int
lock_wait(int fd, int timeout_ms)
{
	struct timespec start, now, nap = {0, 5 * 1000 * 1000};
	long long waited_ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return neg_errno();
		if (timeout_ms <= 0)
			return -EWOULDBLOCK;
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited_ms = (now.tv_sec - start.tv_sec) * 1000LL +
			    (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited_ms >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 100 * 1000 * 1000)
			nap.tv_nsec += 5 * 1000 * 1000;
	}
}

int
ep_cache_lock(int cachedirfd, uid_t uid, gid_t gid, int *lockfd_out)
{
	return ep_cache_lock_timeout(cachedirfd, uid, gid,
				     EP_LOCK_TIMEOUT_DEFAULT_MS, lockfd_out);
}

int
ep_cache_lock_timeout(int cachedirfd, uid_t uid, gid_t gid, int timeout_ms,
		      int *lockfd_out)
{
	struct stat st;
	bool created = false;
	int fd, rc = 0;

	fd = lock_open(cachedirfd, &created);
	if (fd < 0)
		return fd;

	if (fstat(fd, &st) < 0) {
		rc = neg_errno();
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if (created) {
		if (fchmod(fd, 0600) < 0) {
			rc = neg_errno();
			goto out;
		}
		if ((rc = chown_if_wanted(fd, uid, gid)) < 0)
			goto out;
		/* Set up: from here on others may be using it too. */
		created = false;
	}

	if ((rc = lock_wait(fd, timeout_ms)) < 0)
		goto out;

	sweep_stale_temps(cachedirfd);
	*lockfd_out = fd;
	fd = -1;
out:
	if (fd >= 0) {
		/* A half set-up lock file (wrong mode or owner) must not stay
		 * behind for the next run to use as is. */
		if (created)
			unlinkat(cachedirfd, EP_CACHE_LOCK, 0);
		close(fd);
	}
	return rc;
}

static void
tmp_suffix(char *out)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned int counter;
	unsigned char rnd[TMP_SUFFIX_LEN];

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		/* No entropy yet (early boot) or no getrandom (old kernel,
		 * seccomp): the name only has to be unlikely to collide, as
		 * O_EXCL does the safety part. */
		struct timespec ts;
		uint64_t x;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
		    ((uint64_t)getpid() << 20) ^ counter++;
		for (size_t i = 0; i < sizeof(rnd); i++) {
			/* splitmix64 step */
			x += 0x9e3779b97f4a7c15ULL;
			x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
			x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
			rnd[i] = (unsigned char)(x ^ (x >> 31));
		}
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		out[i] = chars[rnd[i] % (sizeof(chars) - 1)];
	out[TMP_SUFFIX_LEN] = '\0';
}

static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		/* Linux never transfers more than this in one go anyway. */
		size_t chunk = len < 0x40000000 ? len : 0x40000000;
		ssize_t r = write(fd, p, chunk);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return neg_errno();
		}
		if (r == 0)
			return -EIO;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int
ep_write_file_atomic(int dirfd, const char *name, const void *data,
		     size_t len, uid_t uid, gid_t gid, bool do_fsync)
{
	struct ep_span part = {data, len};

	return ep_write_parts_atomic(dirfd, name, &part, 1, uid, gid,
				     do_fsync);
}

int
ep_write_parts_atomic(int dirfd, const char *name,
		      const struct ep_span *parts, size_t n_parts, uid_t uid,
		      gid_t gid, bool do_fsync)
{
	char tmp[NAME_MAX + 1];
	size_t namelen = strlen(name);
	bool have_tmp = false;
	int fd = -1, rc = 0;

	/* A name with a slash would resolve a path under dirfd, following
	 * whatever symlinks the user put there. */
	if (namelen == 0 || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	if (namelen + strlen(TMP_INFIX) + TMP_SUFFIX_LEN > NAME_MAX)
		return -ENAMETOOLONG;

	for (int i = 0; i < TMP_MAX_TRIES; i++) {
		memcpy(tmp, name, namelen);
		memcpy(tmp + namelen, TMP_INFIX, strlen(TMP_INFIX));
		tmp_suffix(tmp + namelen + strlen(TMP_INFIX));

		fd = openat(dirfd, tmp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC | O_NOCTTY,
			    0644);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		/* After TMP_MAX_TRIES the last errno is EEXIST */
		rc = neg_errno();
		goto out;
	}
	have_tmp = true;

	/* openat's mode went through the umask; readers are other users. */
	if (fchmod(fd, 0644) < 0) {
		rc = neg_errno();
		goto out;
	}
	if ((rc = chown_if_wanted(fd, uid, gid)) < 0)
		goto out;
	for (size_t i = 0; i < n_parts; i++)
		if ((rc = write_all(fd, parts[i].p, parts[i].len)) < 0)
			goto out;
	if (do_fsync && fsync(fd) < 0) {
		rc = neg_errno();
		goto out;
	}
	/* NFS and some FUSE filesystems report write errors only here. Linux
	 * closes the fd even when close() fails, so never retry it. */
	rc = close(fd);
	fd = -1;
	if (rc < 0) {
		rc = neg_errno();
		goto out;
	}

	/* renameat replaces a symlink planted as @name, never its target */
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = neg_errno();
		goto out;
	}
	have_tmp = false;

	/* The file is in place now; this only makes the rename durable, so
	 * a failure is reported but there is nothing left to undo. */
	if (do_fsync && fsync(dirfd) < 0)
		rc = neg_errno();
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

static bool
is_ours(const char *name)
{
	return strcmp(name, EP_CACHE_FILE) == 0 ||
	       strcmp(name, EP_CACHE_LOCK) == 0 ||
	       fnmatch("*" TMP_INFIX "*", name, 0) == 0;
}

/*
 * One pass over the directory, unlinking our files. *removed says whether
 * anything went (so the caller can make another pass: POSIX leaves open
 * whether readdir sees every entry while entries are being removed),
 * *unknown whether anything that is not ours is there.
 */
static int
remove_pass(DIR *dir, bool *removed, bool *unknown)
{
	struct dirent *de;

	*removed = false;
	*unknown = false;
	rewinddir(dir);
	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno != 0)
				return neg_errno();
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!is_ours(de->d_name)) {
			*unknown = true;
			continue;
		}
		/* Without AT_REMOVEDIR a symlink is removed, not followed,
		 * and a directory with one of our names fails: that one is
		 * not ours after all. */
		if (unlinkat(dirfd(dir), de->d_name, 0) < 0) {
			if (errno == EISDIR) {
				*unknown = true;
				continue;
			}
			if (errno != ENOENT)
				return neg_errno();
			continue;
		}
		*removed = true;
	}
	return 0;
}

int
ep_cachedir_remove(int sitefd)
{
	DIR *dir = NULL;
	bool removed = true, unknown = false;
	int fd, rc = 0;

	fd = openat(sitefd, EP_CACHE_SUBDIR,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : neg_errno();

	dir = fdopendir(fd);
	if (!dir) {
		rc = neg_errno();
		close(fd);
		goto out;
	}

	for (int pass = 0; removed && pass < 3; pass++) {
		if ((rc = remove_pass(dir, &removed, &unknown)) < 0)
			goto out;
	}
	if (unknown) {
		rc = -ENOTEMPTY;
		goto out;
	}

	/* If the directory was swapped for a symlink meanwhile, AT_REMOVEDIR
	 * fails with ENOTDIR rather than following it. */
	if (unlinkat(sitefd, EP_CACHE_SUBDIR, AT_REMOVEDIR) < 0) {
		if (errno == EEXIST)
			rc = -ENOTEMPTY;
		else if (errno != ENOENT)
			rc = neg_errno();
	}
out:
	if (dir)
		closedir(dir);
	return rc;
}
