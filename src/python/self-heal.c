/* SPDX-License-Identifier: MIT */
/*
 * Self-heal: pip has no post-install hook, so the reader re-caches what
 * pip changed. After an answer, each path entry whose cache is stale or
 * corrupt is rebuilt, when the directory is the caller's own and writable
 * (a virtualenv, the user site): the library's atomic, locked writer makes
 * the next process fast again. A missing cache is created only in a
 * directory named site-packages or dist-packages, so that a script's
 * directory or the current directory (both on sys.path) never gets one.
 * Anything else is never written: another user's directory, root's
 * directory for a user, a directory we cannot write.
 *
 * This runs inside applications: it is quiet (no log, no exception), skips
 * fsync (a cache torn by a crash is seen as corrupt and rebuilt), never
 * waits for the rebuild lock (another process holding it is rebuilding,
 * or is someone we must not wait for: healing is skipped), and
 * EPCACHE_NO_WRITE=1 turns it off.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epcache-python.h"

static bool
writes_disabled(void)
{
	const char *v = getenv("EPCACHE_NO_WRITE");

	return v && *v && strcmp(v, "0") != 0;
}

/* site-packages or dist-packages, with or without a trailing '/' */
static bool
is_site_dir_name(const char *path)
{
	size_t len = strlen(path);
	const char *base;

	while (len > 1 && path[len - 1] == '/')
		len--;
	base = path + len;
	while (base > path && base[-1] != '/')
		base--;
	len -= (size_t)(base - path);
	return (len == 13 && strncmp(base, "site-packages", 13) == 0) ||
	       (len == 13 && strncmp(base, "dist-packages", 13) == 0);
}

static bool
wants_rebuild(const struct epcache_lookup *lookup, size_t i)
{
	const char *path = epcache_lookup_get_path(lookup, i);
	struct stat st;

	switch (epcache_lookup_get_path_status(lookup, i)) {
	case EPCACHE_STATUS_STALE:
	case EPCACHE_STATUS_CORRUPT:
		break;
	case EPCACHE_STATUS_MISSING:
		if (!is_site_dir_name(path))
			return false;
		break;
	default:
		return false;
	}
	if (!*path)
		path = ".";
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_uid == geteuid() &&
	       faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0;
}

void
epy_self_heal(const struct epcache_lookup *lookup)
{
	size_t n = epcache_lookup_get_path_count(lookup);
	struct epcache *ctx = NULL;

	if (writes_disabled())
		return;
	for (size_t i = 0; i < n; i++) {
		const char *path = epcache_lookup_get_path(lookup, i);

		if (!wants_rebuild(lookup, i))
			continue;
		if (!ctx) {
			if (!(ctx = epcache_new()))
				return;
			epcache_set_log_handler(ctx, NULL, NULL);
		}
		/* IF_STALE: the same directory twice on the path, or another
		 * process that got there first, costs a check only. Failures
		 * leave the old cache, which is never used while stale. */
		(void)epcache_rebuild(ctx, *path ? path : ".",
				      EPCACHE_MODE_MTIME,
				      EPCACHE_REBUILD_IF_STALE |
					      EPCACHE_REBUILD_NO_FSYNC |
					      EPCACHE_REBUILD_NO_WAIT,
				      NULL);
	}
	epcache_free(ctx);
}
