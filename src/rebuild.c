/* SPDX-License-Identifier: MIT */
/*
 * Rebuilding one directory's cache: lock, scan without racing the
 * installer (git's racy-timestamp rule), serialise, write atomically.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "epcache-private.h"

/* A directory that changes under every one of this many scans is being
 * written to continuously; give up rather than write a racy cache. */
#define MAX_ATTEMPTS 100

static int
fs_now(int fd, struct timespec *now)
{
	struct stat st;

	*now = (struct timespec){0};
	/* The filesystem stamps with its own (coarse, possibly remote) clock;
	 * asking it is the only way to compare like with like. */
	if (futimens(fd, NULL) < 0 || fstat(fd, &st) < 0)
		return -errno;
	*now = st.st_mtim;
	return 0;
}

static bool
ts_before(int64_t sec, int64_t nsec, const struct timespec *t)
{
	return sec < (int64_t)t->tv_sec ||
	       (sec == (int64_t)t->tv_sec && nsec < (int64_t)t->tv_nsec);
}

/* Could a change made after our listing share a timestamp with what we
 * record? Only if something recorded was stamped in the tick in which the
 * scan began (or later): then wait for the clock and scan again. */
static bool
stamp_is_racy(int64_t sec, int64_t nsec, const struct timespec *t0)
{
	return !ts_before(sec, nsec, t0);
}

/* Is @st racy? Keeps the latest racy stamp in @sec.@nsec: the time the
 * clock must pass before scanning again. */
static bool
note_racy_time(int64_t s, int64_t ns, const struct timespec *t0, int64_t *sec,
	       int64_t *nsec)
{
	if (!stamp_is_racy(s, ns, t0))
		return false;
	if (s > *sec || (s == *sec && ns > *nsec)) {
		*sec = s;
		*nsec = ns;
	}
	return true;
}

/* Both times of a stamp count: a later rebuild reuses a record only while
 * the mtime and the ctime are what was recorded. */
static bool
note_racy(const struct ep_stamp *st, const struct timespec *t0, int64_t *sec,
	  int64_t *nsec)
{
	bool racy;

	if (!st->present)
		return false;
	racy = note_racy_time(st->sec, st->nsec, t0, sec, nsec);
	racy |= note_racy_time(st->csec, st->cnsec, t0, sec, nsec);
	return racy;
}

static bool
stamps_racy(const struct ep_scan *scan, const struct timespec *t0,
	    int64_t *sec, int64_t *nsec)
{
	bool racy = false;

	for (size_t i = 0; i < scan->n; i++)
		for (size_t k = 0; k < EP_N_STAMPS; k++)
			racy |= note_racy(&scan->dists[i].st[k], t0, sec, nsec);
	return racy;
}

/*
 * An installer that creates a dist-info directory and then fills it
 * leaves the site directory's mtime alone while it writes inside: a
 * distribution directory modified since the scan began may have been read
 * half-written. Checked after the scan, in every mode; what is written
 * later still is caught by the installer's trigger, or by strict mode.
 * Records taken over from the previous cache were not read, and their
 * directory was stat()ed during this scan already: a change to it since
 * then gives it a stamp the next rebuild sees differ (and an installer
 * changing it runs its trigger afterwards), so they are not stat()ed
 * again, which would be most of an incremental rebuild's system calls.
 */
static bool
dists_racy(int sitefd, const struct ep_scan *scan, const struct timespec *t0,
	   int64_t *sec, int64_t *nsec)
{
	bool racy = false;

	for (size_t i = 0; i < scan->n; i++) {
		struct ep_stamp st;

		if (scan->dists[i].prev_index)
			continue;
		/* gone or unreadable: not ours to wait for */
		if (ep_stamp_get(sitefd, scan->dists[i].path, &st) < 0)
			continue;
		racy |= note_racy(&st, t0, sec, nsec);
	}
	return racy;
}

/*
 * An installer writing a new distribution in place creates entry_points.txt
 * and fills it later: if it stalls in between, a scan reads an empty file
 * whose stamps are older than the scan, and nothing about the site
 * directory changes when the file is filled. No stamp can tell "being
 * written" from "written", so a distribution read in this scan (not
 * reused) whose files changed less than this long before the scan began
 * is given that long to settle, then read again. Strict mode would see
 * the later write anyway; this narrows the window in the other modes.
 */
#define SETTLE_NS (30 * 1000 * 1000LL)

static bool
dists_young(const struct ep_scan *scan, const struct timespec *t0,
	    int64_t *sec, int64_t *nsec)
{
	int64_t start = (int64_t)t0->tv_sec * 1000000000LL + t0->tv_nsec;
	bool young = false;

	for (size_t i = 0; i < scan->n; i++) {
		if (scan->dists[i].prev_index)
			continue;
		for (size_t k = 0; k < EP_N_STAMPS; k++) {
			const struct ep_stamp *st = &scan->dists[i].st[k];
			int64_t c, until;

			if (!st->present)
				continue;
			c = st->csec * 1000000000LL + st->cnsec;
			if (c >= start || c < start - SETTLE_NS)
				continue;
			until = c + SETTLE_NS;
			if (until / 1000000000LL > *sec ||
			    (until / 1000000000LL == *sec &&
			     until % 1000000000LL > *nsec)) {
				*sec = until / 1000000000LL;
				*nsec = until % 1000000000LL;
			}
			young = true;
		}
	}
	return young;
}

/* Wait until the filesystem clock has moved past @sec.@nsec. */
static int
wait_for_tick(int fd, int64_t sec, int64_t nsec)
{
	struct timespec now, nap = {0, 1000000};
	int rc;

	for (int i = 0; i < 5000; i++) {
		if ((rc = fs_now(fd, &now)) < 0)
			return rc;
		if (ts_before(sec, nsec, &now))
			return 0;
		nanosleep(&nap, NULL);
	}
	return -EAGAIN;
}

/*
 * The messages of a scan attempt (warnings about bad distributions) are
 * held back and given to the caller's handler only if that attempt is the
 * one written: a rescan would otherwise repeat every warning.
 */
struct held_log {
	epcache_log_func_t handler;
	void *userdata;
	struct ep_buf msgs; /* priority byte, text, NUL; repeated */
};

static void
hold_message(struct epcache *ctx, enum epcache_log_priority prio, void *data,
	     const char *fmt, va_list args) EP_PRINTF(4, 0);

static void
hold_message(struct epcache *ctx, enum epcache_log_priority prio, void *data,
	     const char *fmt, va_list args)
{
	struct held_log *held = data;
	char tag = (char)prio;
	char msg[4096];

	vsnprintf(msg, sizeof(msg), fmt, args);
	/* out of memory: the message is lost, the rebuild is not */
	if (ep_buf_append(&held->msgs, &tag, 1) == 0)
		ep_buf_append(&held->msgs, msg, strlen(msg) + 1);
}

static void
hold_begin(struct epcache *ctx, struct held_log *held)
{
	held->handler = ctx->log_handler;
	held->userdata = ctx->log_userdata;
	held->msgs.len = 0;
	if (held->handler) {
		ctx->log_handler = hold_message;
		ctx->log_userdata = held;
	}
}

static void
hold_end(struct epcache *ctx, struct held_log *held)
{
	ctx->log_handler = held->handler;
	ctx->log_userdata = held->userdata;
}

static void
hold_replay(struct epcache *ctx, struct held_log *held)
{
	for (size_t i = 0; i < held->msgs.len;) {
		const char *msg = held->msgs.data + i + 1;

		ep_log(ctx, (enum epcache_log_priority)held->msgs.data[i], "%s",
		       msg);
		i += 1 + strlen(msg) + 1;
	}
	held->msgs.len = 0;
}

static bool
fsync_wanted(unsigned int flags)
{
	const char *env = getenv("PKGSYSTEM_ENABLE_FSYNC");

	if (flags & EPCACHE_REBUILD_NO_FSYNC)
		return false;
	return !(env && strcmp(env, "0") == 0);
}

/*
 * The previous cache's records, when a rebuild may take them over: a
 * cache we can trust (the same rules as a reader's), of the mode asked
 * for, written for this very directory and path entry name, with stamps.
 * Anything else means a full scan; that is never an error.
 */
static int
load_previous(struct epcache *ctx, const char *dir, int sitefd, int cachefd,
	      enum epcache_mode mode, struct ep_scan *prev)
{
	struct ep_cache_file cf = {.fd = -1};
	struct stat site, cdir, file;
	const char *why = NULL;
	char *egg = NULL;
	int fd, rc = 0;

	memset(prev, 0, sizeof(*prev));
	fd = openat(cachefd, EP_CACHE_FILE,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		why = errno == ENOENT ? "no previous cache"
				      : "previous cache unreadable";
		goto out;
	}
	if (fstat(sitefd, &site) < 0 || fstat(cachefd, &cdir) < 0 ||
	    fstat(fd, &file) < 0) {
		close(fd);
		why = "previous cache unreadable";
		goto out;
	}
	if (ep_trust_check(&site, &cdir, &file, &why) < 0) {
		close(fd);
		goto out;
	}
	rc = ep_cache_open(fd, &file, &cf, &why);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		goto out;
	why = NULL;
	egg = ep_egg_name_for_path(dir);
	if (cf.hdr.mode != mode) {
		why = "previous cache has another mode";
	} else if (strcmp(cf.hdr.generator, EP_CACHE_GENERATOR) != 0) {
		/* what is taken over is copied byte for byte: only from
		 * a cache this very writer wrote */
		why = "previous cache was written by another generator";
	} else if ((cf.hdr.egg_name || egg) &&
		   (!cf.hdr.egg_name || !egg ||
		    strcmp(cf.hdr.egg_name, egg) != 0)) {
		why = "previous cache was built for another path entry name";
	} else if (cf.hdr.id.names_only ||
		   cf.hdr.id.dev != (uint64_t)site.st_dev ||
		   cf.hdr.id.ino != (uint64_t)site.st_ino) {
		/* inode numbers are what the stamps compare: on another
		 * directory, or on FAT, they mean nothing */
		why = "previous cache is of another directory";
	} else if ((rc = ep_cache_read_dists(&cf, prev)) < 0) {
		if (rc == -ENOMEM)
			goto out;
		why = "previous cache has no usable records";
	}
out:
	if (why)
		ep_log_debug(ctx, "%s: full scan: %s", dir, why);
	free(egg);
	ep_cache_close(&cf);
	return rc == -ENOMEM ? rc : 0;
}

/*
 * One scan, bounded (see EP_SCAN_MAX_*) and with the identity of those who
 * may write the directory (util-creds.c): what the cache publishes is
 * what they could read themselves.
 */
static int
scan_bounded(struct epcache *ctx, const struct ep_creds *reader,
	     const char *dir, int sitefd, size_t n_stamps,
	     struct ep_scan *prev, struct ep_scan *scan)
{
	struct ep_scan_bounds bounds = {
		.max_file = EP_SCAN_MAX_FILE,
		.max_bytes = EP_SCAN_MAX_BYTES,
		.max_entries = EP_SCAN_MAX_ENTRIES,
	};
	struct ep_creds_saved saved;
	int rc;

	if ((rc = ep_creds_enter(reader, &saved)) < 0) {
		ep_log_error(ctx, "%s: cannot take on the identity of its "
			     "writers (uid %u): %s", dir, (unsigned)reader->uid,
			     strerror(-rc));
		memset(scan, 0, sizeof(*scan));
		return rc;
	}
	ctx->bounds = &bounds;
	rc = ep_scan_dir_reuse(ctx, dir, sitefd, n_stamps, prev, scan);
	ctx->bounds = NULL;
	ep_creds_leave(&saved);
	return rc;
}

static int
scan_stable(struct epcache *ctx, const char *dir, int sitefd, int lockfd,
	    enum epcache_mode mode, const struct ep_creds *reader,
	    struct ep_scan *prev, struct ep_scan *scan,
	    struct ep_buf *head, struct ep_buf *tail)
{
	struct ep_dir_identity idbuf, *id = &idbuf;
	struct held_log held = {0};
	struct ep_dir_identity after;
	struct timespec t0;
	int rc;

	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		int64_t sec, nsec;

		if ((rc = fs_now(lockfd, &t0)) < 0 ||
		    (rc = ep_dir_identity_get(sitefd, true, id)) < 0)
			goto out;
		/* Checked before scanning, so that the usual case (the
		 * installer has just written the directory) costs one wait,
		 * not a second scan. */
		if (!id->names_only && stamp_is_racy(id->sec, id->nsec, &t0)) {
			ep_log_debug(ctx, "%s: modified in the current "
				     "timestamp tick, waiting", dir);
			if ((rc = wait_for_tick(lockfd, id->sec, id->nsec)) < 0)
				goto out;
			continue;
		}
		/* Stamps in every mode: the next rebuild reuses what they
		 * show unchanged. */
		hold_begin(ctx, &held);
		rc = scan_bounded(ctx, reader, dir, sitefd,
				  ep_stamps_per_dist(mode), prev, scan);
		hold_end(ctx, &held);
		if (rc < 0) {
			hold_replay(ctx, &held);
			ep_scan_give_back(scan, prev);
			goto out;
		}
		/*
		 * Serialised before the checks below, so that they come as
		 * late as possible: an installer writing a new distribution
		 * in place, whose entry_points.txt appears after we read the
		 * directory, is caught if it appears before the checks (and
		 * only strict mode catches it after them).
		 */
		if ((rc = ep_cache_serialize_parts(scan, mode, id, head,
						   tail)) < 0 ||
		    (rc = ep_dir_identity_get(sitefd, false, &after)) < 0) {
			ep_scan_give_back(scan, prev);
			goto out;
		}
		sec = nsec = 0;
		if (!ep_dir_identity_equal(id, &after)) {
			ep_log_debug(ctx, "%s: changed during the scan, "
				     "rescanning", dir);
		} else if (stamps_racy(scan, &t0, &sec, &nsec) ||
			   dists_racy(sitefd, scan, &t0, &sec, &nsec)) {
			ep_log_debug(ctx, "%s: a distribution was modified in "
				     "the current timestamp tick, waiting", dir);
			rc = wait_for_tick(lockfd, sec, nsec);
			if (rc < 0) {
				ep_scan_give_back(scan, prev);
				goto out;
			}
		} else if (dists_young(scan, &t0, &sec, &nsec)) {
			ep_log_debug(ctx, "%s: a new distribution was written "
				     "moments ago, letting it settle", dir);
			rc = wait_for_tick(lockfd, sec, nsec);
			if (rc < 0) {
				ep_scan_give_back(scan, prev);
				goto out;
			}
		} else {
			hold_replay(ctx, &held);
			rc = 0;
			goto out;
		}
		ep_scan_give_back(scan, prev);
	}
	rc = -EAGAIN;
out:
	ep_buf_release(&held.msgs);
	return rc;
}

EP_EXPORT int
epcache_rebuild(struct epcache *ctx, const char *dir, enum epcache_mode mode,
		unsigned int flags, bool *rebuilt_out)
{
	struct ep_scan scan = {0}, prev = {0};
	struct ep_buf head = {0}, tail = {0};
	struct ep_span parts[2];
	struct ep_creds owner, reader;
	struct ep_creds_saved saved = {0};
	struct stat st;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int sitefd = -1, cachefd = -1, lockfd = -1, rc;

	if (rebuilt_out)
		*rebuilt_out = false;
	if (!ctx || !dir || !epcache_mode_to_str(mode))
		return -EINVAL;
	sitefd = open(*dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sitefd < 0)
		return -errno;
	if (fstat(sitefd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	/* Root writing into a user's tree (a venv) leaves user-owned files,
	 * so that the user can rebuild and remove them later: it makes them
	 * as the user, so nothing is ever chowned. */
	ep_creds_for_dir(&st, &owner, &reader);
	if ((rc = ep_creds_enter(&owner, &saved)) < 0) {
		ep_log_error(ctx, "%s: cannot take on the identity of its "
			     "owner (uid %u): %s", dir, (unsigned)owner.uid,
			     strerror(-rc));
		goto out;
	}
	/* The scan already runs as the owner: no second switch */
	if (owner.active && reader.uid == owner.uid &&
	    reader.gid == owner.gid)
		reader.active = false;
	if ((rc = ep_cachedir_open(sitefd, true, uid, gid, &cachefd)) < 0) {
		if (rc == -EPERM)
			ep_log_error(ctx, "%s/" EP_CACHE_SUBDIR ": not trusted "
				     "(owned by neither root nor the "
				     "directory's owner, or writable by "
				     "others); not written into", dir);
		goto out;
	}
	rc = ep_cache_lock_timeout(cachefd, uid, gid,
				   (flags & EPCACHE_REBUILD_NO_WAIT)
					   ? 0 : ctx->lock_timeout_ms,
				   &lockfd);
	if (rc < 0)
		goto out;

	if (flags & EPCACHE_REBUILD_IF_STALE) {
		struct ep_cache_file cf;
		enum epcache_status status;
		char reason[256];
		char *egg = ep_egg_name_for_path(dir);

		rc = ep_cache_evaluate(sitefd, egg, true, &cf, &status, reason,
				       sizeof(reason));
		free(egg);
		if (rc == 0 && status == EPCACHE_STATUS_FRESH &&
		    cf.hdr.mode == mode) {
			ep_cache_close(&cf);
			ep_log_debug(ctx, "%s: cache is fresh", dir);
			goto out;
		}
		if (rc == 0 && status == EPCACHE_STATUS_FRESH)
			ep_cache_close(&cf);
		rc = 0;
	}

	if (flags & EPCACHE_REBUILD_FULL)
		ep_log_debug(ctx, "%s: full scan: asked for", dir);
	else if ((rc = load_previous(ctx, dir, sitefd, cachefd, mode,
				     &prev)) < 0)
		goto out;
	rc = scan_stable(ctx, dir, sitefd, lockfd, mode, &reader, &prev,
			 &scan, &head, &tail);
	/* Readers must never be given what they reject (EP_CACHE_MAX_SIZE) */
	if (rc == 0 && head.len + tail.len > ctx->max_cache_size) {
		ep_log_warn(ctx, "%s: the cache would be %zu bytes, more than "
			    "readers accept", dir, head.len + tail.len);
		rc = -EFBIG;
	}
	if (rc == -EFBIG) {
		/* A cache that answered differently from a scan would be
		 * worse than none: readers scan this directory instead. */
		if (unlinkat(cachefd, EP_CACHE_FILE, 0) < 0 && errno != ENOENT)
			ep_log_warn(ctx, "%s: cannot remove the old cache: %s",
				    dir, strerror(errno));
		ep_log_warn(ctx, "%s: exceeds the rebuild's bounds; no cache "
			    "(readers scan it)", dir);
	}
	if (rc < 0)
		goto out;
	ep_log_info(ctx, "%s: %zu of %zu distributions reused from the "
		    "previous cache", dir, scan.n_reused, scan.n);
	parts[0] = (struct ep_span){head.data, head.len};
	parts[1] = (struct ep_span){tail.data, tail.len};
	rc = ep_write_parts_atomic(cachefd, EP_CACHE_FILE, parts, 2, uid, gid,
				   fsync_wanted(flags));
	if (rc < 0)
		goto out;
	if (rebuilt_out)
		*rebuilt_out = true;
	ep_log_debug(ctx, "%s: cache written (%zu distributions)", dir,
		     scan.n);
out:
	ep_buf_release(&head);
	ep_buf_release(&tail);
	ep_scan_release(&scan);
	ep_scan_release(&prev);
	/* Closing the lock fd releases the flock. */
	if (lockfd >= 0)
		close(lockfd);
	if (cachefd >= 0)
		close(cachefd);
	close(sitefd);
	ep_creds_leave(&saved);
	return rc;
}

EP_EXPORT int
epcache_set_lock_timeout(struct epcache *ctx, int timeout_ms)
{
	if (!ctx || timeout_ms < 0)
		return -EINVAL;
	ctx->lock_timeout_ms = timeout_ms;
	return 0;
}

EP_EXPORT int
epcache_remove(struct epcache *ctx, const char *dir)
{
	int sitefd, rc;

	if (!ctx || !dir)
		return -EINVAL;
	sitefd = open(*dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sitefd < 0)
		return -errno;
	rc = ep_cachedir_remove(sitefd);
	close(sitefd);
	return rc;
}
