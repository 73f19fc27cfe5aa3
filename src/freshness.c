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

static bool
mtime_after(int64_t sec, int64_t nsec, int64_t rsec, int64_t rnsec)
{
	return sec > rsec || (sec == rsec && nsec > rnsec);
}

/*
 * Is the site directory (@site, its fstat()) still the one @rec records?
 *
 * Unmoved, it has the recorded device, inode and mtime: EP_DIR_SAME, no
 * further system call. A directory that travelled with its cache (a copy,
 * an archive, an image layer, another mount, a checkout whose timestamps
 * were normalized) has another device or inode, and an mtime that is the
 * recorded one, that truncated to the second, or one set back (0 or 1 by
 * ostree, SOURCE_DATE_EPOCH): never a later one, since the writer records
 * only an mtime older than its scan (the racy rule, rebuild.c), so that
 * any change made since stamps the directory later. Then the names of its
 * entries decide, from one listing: an install, upgrade or removal changes
 * a *.dist-info or *.egg-info name. EP_DIR_MOVED, or EP_DIR_CHANGED;
 * EP_DIR_REORDERED when the same names are listed in another order.
 */
static int
dir_compare(int sitefd, const struct stat *site,
	    const struct ep_dir_identity *rec, enum ep_dir_match *match,
	    const char **why)
{
	struct ep_dir_identity now;
	int rc;

	*match = EP_DIR_CHANGED;
	if ((rc = ep_dir_identity_from_stat(sitefd, site, rec->names_only,
					 &now)) < 0)
		return rc;
	if (rec->names_only) {
		if (now.names_sum == rec->names_sum)
			*match = EP_DIR_SAME;
		else
			*why = "directory entries changed since the cache was "
			       "built";
		return 0;
	}
	now.names_only = false;
	if (ep_dir_identity_equal(&now, rec)) {
		*match = EP_DIR_SAME;
		return 0;
	}
	if (mtime_after(now.sec, now.nsec, rec->sec, rec->nsec)) {
		*why = "directory modified since the cache was built";
		return 0;
	}
	if ((rc = ep_dir_names_checksum(sitefd, &now.names_sum,
					&now.order_sum)) < 0)
		return rc;
	if (now.names_sum != rec->names_sum) {
		*why = "directory entries changed since the cache was built";
		return 0;
	}
	/* importlib follows the listing's order, which is the filesystem's
	 * (ext4 hashes names with a seed of its own, tmpfs lists the newest
	 * first): on another one the same names come in another order */
	*match = now.order_sum == rec->order_sum ? EP_DIR_MOVED
						  : EP_DIR_REORDERED;
	return 0;
}

/*
 * A file of a directory that travelled: its inode and ctime are new
 * wherever it lands, and its mtime may have been truncated or set back,
 * never forward (see dir_compare()). What survives is whether it exists,
 * its size (not a directory's: that is the filesystem's), and an mtime
 * not later than the recorded one.
 */
static bool
stamp_travelled(const struct ep_stamp *rec, const struct ep_stamp *now)
{
	if (rec->present != now->present)
		return false;
	if (!rec->present)
		return true;
	return (now->dir || rec->size == now->size) &&
	       !mtime_after(now->sec, now->nsec, rec->sec, rec->nsec);
}

struct stamps_check {
	int sitefd;
	bool moved;
};

static int
check_stamp_row(const char *path, const struct ep_stamp *rec, void *data)
{
	struct stamps_check *c = data;
	struct ep_stamp now;
	int rc;

	if ((rc = ep_stamp_get(c->sitefd, path, &now)) < 0)
		return rc;
	if (c->moved ? !stamp_travelled(rec, &now) : !ep_stamp_equal(rec, &now))
		return 1;
	return 0;
}

static const char *const status_names[] = {
	[EPCACHE_STATUS_FRESH] = "fresh",
	[EPCACHE_STATUS_STALE] = "stale",
	[EPCACHE_STATUS_MISSING] = "missing",
	[EPCACHE_STATUS_UNTRUSTED] = "untrusted",
	[EPCACHE_STATUS_CORRUPT] = "corrupt",
	[EPCACHE_STATUS_UNSUPPORTED] = "unsupported",
};

EP_EXPORT const char *
epcache_status_to_str(enum epcache_status status)
{
	if ((unsigned)status >= sizeof(status_names) / sizeof(status_names[0]))
		return NULL;
	return status_names[status];
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
	enum ep_dir_match match = EP_DIR_CHANGED;
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
	if (rc == -ESTALE) {
		/* an older format: what -n and the triggers rebuild */
		*status = EPCACHE_STATUS_STALE;
		rc = 0;
		goto out;
	} else if (rc == -EBADMSG || rc == -EPROTO) {
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
	if ((rc = dir_compare(sitefd, &site, &cf->hdr.id, &match, &why)) < 0 ||
	    match == EP_DIR_CHANGED)
		goto out;
	if (cf->hdr.mode == EPCACHE_MODE_STRICT) {
		struct stamps_check c = {sitefd, match != EP_DIR_SAME};

		rc = ep_cache_read_stamps(cf, check_stamp_row, &c);
		if (rc == -EBADMSG) {
			*status = EPCACHE_STATUS_CORRUPT;
			why = "bad strict-mode records";
			rc = 0;
			goto out;
		}
		if (rc < 0)
			goto out;
		if (rc == 1) {
			why = "a distribution changed since the cache was "
			      "built";
			rc = 0;
			goto out;
		}
	}
	*status = EPCACHE_STATUS_FRESH;
	cf->reordered = match == EP_DIR_REORDERED;
	if (cf->reordered)
		why = "directory moved, its names unchanged but listed in "
		      "another order: answered from the cache's records";
	else if (match == EP_DIR_MOVED)
		why = cf->hdr.mode == EPCACHE_MODE_STRICT
			      ? "directory moved or its timestamps set back; "
				"its names and every distribution's files "
				"unchanged"
			      : "directory moved or its timestamps set back; "
				"its names unchanged";
	else
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
