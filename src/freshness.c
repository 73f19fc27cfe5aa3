/* SPDX-License-Identifier: MIT */
/*
 * Is a cache usable? Trust (ownership and permissions), the directory
 * identity a cache records, and the comparison the reader makes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "epcache-private.h"

/* linux/magic.h values; FAT timestamps have 2 s resolution and no
 * directory mtime worth trusting, so fontconfig hashes the names there. */
#define MSDOS_SUPER_MAGIC 0x4d44
#define EXFAT_SUPER_MAGIC 0x2011BAB0

bool
ep_fs_needs_checksum(int dirfd)
{
	struct statfs sfs;

	if (fstatfs(dirfd, &sfs) < 0)
		return false;
	return sfs.f_type == MSDOS_SUPER_MAGIC ||
	       (unsigned long)sfs.f_type == EXFAT_SUPER_MAGIC;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ep_dir_names_checksum(int dirfd, uint64_t *sum)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc;

	if ((rc = ep_opendir_at(dirfd, &d)) < 0)
		return rc;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, EP_CACHE_SUBDIR) == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nv = realloc(names, ncap * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			names = nv;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (errno) {
		rc = -errno;
		goto out;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		/* NUL included, so that "ab","c" and "a","bc" differ */
		for (const char *p = names[i];; p++) {
			h ^= (unsigned char)*p;
			h *= 0x100000001b3ULL;
			if (!*p)
				break;
		}
	}
	*sum = h;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* The identity of @dirfd, whose fstat() the caller already has in @st. */
static int
dir_identity_from_stat(int dirfd, const struct stat *st, bool force_checksum,
		       struct ep_dir_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
	id->sec = (int64_t)st->st_mtim.tv_sec;
	id->nsec = (int64_t)st->st_mtim.tv_nsec;
	if (force_checksum || ep_fs_needs_checksum(dirfd)) {
		id->checksum_used = true;
		return ep_dir_names_checksum(dirfd, &id->checksum);
	}
	return 0;
}

int
ep_dir_identity_get(int dirfd, bool force_checksum, struct ep_dir_identity *id)
{
	struct stat st;

	if (fstat(dirfd, &st) < 0)
		return -errno;
	return dir_identity_from_stat(dirfd, &st, force_checksum, id);
}

bool
ep_dir_identity_equal(const struct ep_dir_identity *a,
		      const struct ep_dir_identity *b)
{
	if (a->checksum_used != b->checksum_used)
		return false;
	/* FAT inode numbers and devices are not stable across mounts; the
	 * names are what matters there. */
	if (a->checksum_used)
		return a->checksum == b->checksum;
	return a->dev == b->dev && a->ino == b->ino && a->sec == b->sec &&
	       a->nsec == b->nsec;
}

int
ep_stamp_get(int dirfd, const char *name, struct ep_stamp *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (fstatat(dirfd, name, &sb, 0) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		/* Unreadable or looping: record it as absent; strict mode
		 * then notices when it becomes readable. */
		if (errno == EACCES || errno == ELOOP || errno == ENAMETOOLONG)
			return 0;
		return -errno;
	}
	ep_stamp_from_stat(&sb, st);
	return 0;
}

void
ep_stamp_from_stat(const struct stat *sb, struct ep_stamp *st)
{
	st->present = true;
	st->ino = (uint64_t)sb->st_ino;
	st->size = (int64_t)sb->st_size;
	st->sec = (int64_t)sb->st_mtim.tv_sec;
	st->nsec = (int64_t)sb->st_mtim.tv_nsec;
	st->csec = (int64_t)sb->st_ctim.tv_sec;
	st->cnsec = (int64_t)sb->st_ctim.tv_nsec;
}

size_t
ep_stamps_per_dist(enum epcache_mode mode)
{
	return mode == EPCACHE_MODE_STRICT ? EP_N_STAMPS : 1;
}

bool
ep_stamp_equal(const struct ep_stamp *a, const struct ep_stamp *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	return a->ino == b->ino && a->size == b->size && a->sec == b->sec &&
	       a->nsec == b->nsec && a->csec == b->csec && a->cnsec == b->cnsec;
}

int
ep_fs_now(int fd, struct timespec *now)
{
	struct stat st;

	/* The filesystem stamps with its own (coarse, possibly remote) clock;
	 * asking it is the only way to compare like with like. */
	if (futimens(fd, NULL) < 0 || fstat(fd, &st) < 0)
		return -errno;
	*now = st.st_mtim;
	return 0;
}

static const char *
check_owner_mode(const struct stat *st, const struct stat *site, bool is_dir)
{
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return is_dir ? "cache directory is writable by group or others"
			      : "cache file is writable by group or others";
	if (st->st_uid != 0 && st->st_uid != site->st_uid)
		return is_dir ? "cache directory is owned by neither root nor "
				"the directory's owner"
			      : "cache file is owned by neither root nor the "
				"directory's owner";
	return NULL;
}

int
ep_trust_check_dir(const struct stat *site, const struct stat *dir,
		   const char **reason)
{
	if (!S_ISDIR(dir->st_mode)) {
		*reason = "cache directory is not a directory";
		return -EPERM;
	}
	*reason = check_owner_mode(dir, site, true);
	return *reason ? -EPERM : 0;
}

int
ep_trust_check(const struct stat *site, const struct stat *dir,
	       const struct stat *file, const char **reason)
{
	if (ep_trust_check_dir(site, dir, reason) < 0)
		return -EPERM;
	if (!S_ISREG(file->st_mode)) {
		*reason = "cache file is not a regular file";
		return -EPERM;
	}
	*reason = check_owner_mode(file, site, false);
	return *reason ? -EPERM : 0;
}

static bool
str_eq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

int
ep_cache_evaluate(int sitefd, const char *egg_name, bool check_trust_mode,
		  struct ep_cache_file *cf, enum epcache_status *status,
		  char *reason, size_t reason_len)
{
	struct ep_dir_identity now;
	struct stat site, dir, file;
	const char *why = NULL;
	int cachedirfd = -1, fd = -1, rc = 0;

	memset(cf, 0, sizeof(*cf));
	cf->fd = -1;
	*status = EPCACHE_STATUS_MISSING;
	cachedirfd = openat(sitefd, EP_CACHE_SUBDIR,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cachedirfd < 0) {
		if (errno == ENOENT) {
			why = "no cache";
		} else if (errno == ELOOP || errno == ENOTDIR) {
			*status = EPCACHE_STATUS_UNTRUSTED;
			why = "cache directory is a symlink or not a directory";
		} else {
			snprintf(reason, reason_len, "cannot open cache: %s",
				 strerror(errno));
		}
		goto out;
	}
	/* An untrusted directory is reported as such before the file is
	 * looked for: one planted without a file in it is no "missing"
	 * cache that a self-healing reader would go and write into. */
	if (fstat(sitefd, &site) < 0 || fstat(cachedirfd, &dir) < 0) {
		rc = -errno;
		goto out;
	}
	if (ep_trust_check_dir(&site, &dir, &why) < 0) {
		*status = EPCACHE_STATUS_UNTRUSTED;
		goto out;
	}
	fd = openat(cachedirfd, EP_CACHE_FILE,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			why = "no cache";
		} else if (errno == ELOOP) {
			*status = EPCACHE_STATUS_UNTRUSTED;
			why = "cache file is a symlink";
		} else {
			snprintf(reason, reason_len, "cannot open cache: %s",
				 strerror(errno));
		}
		goto out;
	}
	/* One fstat each, shared by the trust check, the parser (the size)
	 * and the freshness check (the site directory's identity). */
	if (fstat(fd, &file) < 0) {
		rc = -errno;
		goto out;
	}
	rc = ep_trust_check(&site, &dir, &file, &why);
	if (rc == -EPERM) {
		*status = EPCACHE_STATUS_UNTRUSTED;
		rc = 0;
		goto out;
	} else if (rc < 0) {
		goto out;
	}
	rc = ep_cache_open(fd, &file, cf, &why);
	fd = -1; /* owned by cf now, open or not */
	if (rc == -EBADMSG || rc == -EPROTO) {
		*status = EPCACHE_STATUS_CORRUPT;
		rc = 0;
		goto out;
	} else if (rc < 0) {
		goto out;
	}
	*status = EPCACHE_STATUS_STALE;
	if (cf->hdr.mode == EPCACHE_MODE_TRUST && !check_trust_mode) {
		*status = EPCACHE_STATUS_FRESH;
		why = "trusted without checks (mode trust)";
		goto out;
	}
	if (!str_eq_null(cf->hdr.egg_name, egg_name)) {
		why = "cache was built for a different .egg path entry name";
		goto out;
	}
	rc = dir_identity_from_stat(sitefd, &site, cf->hdr.id.checksum_used,
				    &now);
	if (rc < 0)
		goto out;
	if (!ep_dir_identity_equal(&now, &cf->hdr.id)) {
		why = cf->hdr.id.checksum_used
			      ? "directory entries changed since the cache "
				"was built"
			      : "directory modified since the cache was built";
		goto out;
	}
	if (cf->hdr.mode == EPCACHE_MODE_STRICT) {
		rc = ep_cache_check_stamps(cf, sitefd);
		if (rc < 0) {
			*status = EPCACHE_STATUS_CORRUPT;
			why = "bad strict-mode records";
			rc = 0;
			goto out;
		}
		if (rc == 1) {
			why = "a distribution changed since the cache was "
			      "built";
			rc = 0;
			goto out;
		}
	}
	*status = EPCACHE_STATUS_FRESH;
	why = cf->hdr.mode == EPCACHE_MODE_STRICT
		      ? "directory and every distribution unchanged"
		      : "directory unchanged";
out:
	if (why)
		snprintf(reason, reason_len, "%s", why);
	if (*status != EPCACHE_STATUS_FRESH)
		ep_cache_close(cf);
	if (fd >= 0)
		close(fd);
	if (cachedirfd >= 0)
		close(cachedirfd);
	return rc;
}
