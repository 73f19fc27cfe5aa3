/* SPDX-License-Identifier: MIT */
/*
 * libepcache - Python entry point caches for site-packages directories.
 *
 * The library answers the question importlib.metadata.entry_points()
 * answers, for an ordered list of path entries (sys.path), from per-directory
 * caches written by update-entrypoints-cache. A cache that is missing,
 * stale, untrusted or corrupt is never used: the library scans that
 * directory instead, so a cache makes an answer faster, never different.
 *
 * All functions that can fail return 0 on success or a negative errno.
 * Strings returned by the library stay valid until the object they were
 * obtained from is freed. No function keeps global state; a struct epcache
 * may be used from one thread at a time.
 */
#ifndef EPCACHE_H
#define EPCACHE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The library context: log handler and settings. Create it with
 * epcache_new(), free it with epcache_free() after every lookup made from
 * it has been freed.
 */
struct epcache;

/** The answer to one query over an ordered list of path entries. */
struct epcache_lookup;

/** The entry points selected from a lookup by group and/or name. */
struct epcache_selection;

/** One entry point of a selection. */
struct epcache_entry;

enum epcache_log_priority {
	EPCACHE_LOG_ERROR = 10,
	EPCACHE_LOG_WARNING = 20,
	EPCACHE_LOG_INFO = 30,
	EPCACHE_LOG_DEBUG = 40,
};

/**
 * Log handler. Warnings about bad input are formatted "PATH:LINE: reason"
 * (or "PATH: reason" where there is no line); the handler adds any program
 * prefix. The message has no trailing newline.
 */
typedef void (*epcache_log_func_t)(struct epcache *ctx,
				   enum epcache_log_priority priority,
				   void *userdata,
				   const char *format,
				   va_list args)
	__attribute__((format(printf, 4, 0)));

/**
 * How a cache is judged fresh.
 *
 * EPCACHE_MODE_MTIME: the directory's device, inode and mtime (seconds and
 * nanoseconds) equal those recorded when the cache was built (on FAT, a
 * checksum of the sorted entry names). Catches installs and removals.
 *
 * EPCACHE_MODE_STRICT: as MTIME, and every distribution directory,
 * entry_points.txt and metadata file still has the recorded identity.
 * Catches in-place upgrades that keep the dist-info name.
 *
 * EPCACHE_MODE_TRUST: no check at all, for immutable trees (images).
 */
enum epcache_mode {
	EPCACHE_MODE_MTIME = 0,
	EPCACHE_MODE_STRICT,
	EPCACHE_MODE_TRUST,
};

/** What a lookup found for one path entry. */
enum epcache_status {
	/** A trustworthy cache whose recorded identity matches: used. */
	EPCACHE_STATUS_FRESH = 0,
	/** A cache exists but the directory changed since: scanned. */
	EPCACHE_STATUS_STALE,
	/** No cache (or no directory at all): scanned, or skipped. */
	EPCACHE_STATUS_MISSING,
	/** Cache or its directory is writable by others or foreign-owned. */
	EPCACHE_STATUS_UNTRUSTED,
	/** The cache cannot be parsed, is truncated or of unknown version. */
	EPCACHE_STATUS_CORRUPT,
	/** Not a directory the C reader can read (a zip archive). */
	EPCACHE_STATUS_UNSUPPORTED,
};

/**
 * Flags for epcache_lookup_new().
 *
 * EPCACHE_LOOKUP_NO_CACHE: ignore every cache, scan every directory.
 */
enum epcache_lookup_flags {
	EPCACHE_LOOKUP_NO_CACHE = (1 << 0),
};

/**
 * Flags for epcache_rebuild().
 *
 * EPCACHE_REBUILD_IF_STALE: leave a cache that is fresh alone.
 * EPCACHE_REBUILD_NO_FSYNC: skip fsync (also when the environment has
 * PKGSYSTEM_ENABLE_FSYNC=0, like update-mime-database).
 * EPCACHE_REBUILD_FULL: read every distribution again. Without it, the
 * record of a distribution whose directory (in strict mode: whose
 * directory and files) still has the identity the previous cache
 * recorded is taken over unread. Installers replace files by rename,
 * which changes the directory; a file rewritten in place does not, and
 * needs this flag (or strict mode) to be read again.
 * EPCACHE_REBUILD_NO_WAIT: when another process holds the directory's
 * rebuild lock, give up at once (-EWOULDBLOCK) instead of waiting up to
 * the context's lock timeout (epcache_set_lock_timeout()).
 */
enum epcache_rebuild_flags {
	EPCACHE_REBUILD_IF_STALE = (1 << 0),
	EPCACHE_REBUILD_NO_FSYNC = (1 << 1),
	EPCACHE_REBUILD_FULL = (1 << 2),
	EPCACHE_REBUILD_NO_WAIT = (1 << 3),
};

/**
 * Create a library context. The default log handler prints warnings and
 * errors to stderr.
 *
 * @return a new context, or NULL when out of memory
 */
struct epcache *epcache_new(void);

/** Free a context. NULL is allowed. */
void epcache_free(struct epcache *ctx);

/**
 * Replace the log handler. A NULL handler silences the library.
 */
void epcache_set_log_handler(struct epcache *ctx,
			     epcache_log_func_t handler,
			     void *userdata);

/** Messages less important than @p priority are dropped. */
void epcache_set_log_priority(struct epcache *ctx,
			      enum epcache_log_priority priority);

enum epcache_log_priority epcache_get_log_priority(const struct epcache *ctx);

/** @return "fresh", "stale", "missing", "untrusted", "corrupt", "unsupported" */
const char *epcache_status_to_str(enum epcache_status status);

/** @return "mtime", "strict" or "trust" */
const char *epcache_mode_to_str(enum epcache_mode mode);

/**
 * Parse a mode name.
 *
 * @return 0, or -EINVAL for an unknown name
 */
int epcache_mode_from_str(const char *str, enum epcache_mode *mode);

/** @return the library version, e.g. "0.1.0" */
const char *epcache_get_version(void);

/**
 * Start a lookup over an ordered list of path entries, earlier entries
 * winning as in sys.path. This checks each entry's cache (a few stat calls
 * per entry); directories are scanned only when a selection needs them.
 * An empty string means the current directory, as in sys.path.
 *
 * @param ctx the library context
 * @param paths the path entries
 * @param npaths number of path entries
 * @param flags a bitmask of enum epcache_lookup_flags
 * @param[out] lookup_out the new lookup, to be freed with
 *	       epcache_lookup_free()
 * @return 0 or a negative errno (-ENOMEM, -EINVAL)
 */
int epcache_lookup_new(struct epcache *ctx,
		       const char *const *paths,
		       size_t npaths,
		       unsigned int flags,
		       struct epcache_lookup **lookup_out);

/** Free a lookup. NULL is allowed. */
void epcache_lookup_free(struct epcache_lookup *lookup);

/** @return the number of path entries of the lookup */
size_t epcache_lookup_get_path_count(const struct epcache_lookup *lookup);

/** @return path entry @p idx as given, or NULL if out of range */
const char *epcache_lookup_get_path(const struct epcache_lookup *lookup,
				    size_t idx);

/** @return the cache status of path entry @p idx */
enum epcache_status
epcache_lookup_get_path_status(const struct epcache_lookup *lookup, size_t idx);

/**
 * @return a human-readable reason for the status of path entry @p idx,
 * e.g. "directory modified since the cache was built"
 */
const char *epcache_lookup_get_path_reason(const struct epcache_lookup *lookup,
					   size_t idx);

/**
 * How many problems reading path entry @p idx's distributions gave: lines
 * of entry_points.txt left out (where importlib.metadata raises, or keeps
 * a NUL), unreadable files. For a cache in use, what its writer recorded
 * (this reads the whole cache); else from a scan. Where it is not 0 the
 * answer for that entry is not importlib's exactly (since EPCACHE_0.3).
 *
 * @return 0 with *@p count set, -EINVAL, -ENOMEM, -ENODATA when the cache
 * does not say
 */
int epcache_lookup_get_path_warnings(struct epcache_lookup *lookup,
				     size_t idx, size_t *count);

/**
 * Select entry points, as importlib.metadata.entry_points(group=, name=).
 * With a group, entries come in importlib's order: path entry order, then
 * distribution order within a directory, then file order. Without a group,
 * all groups are returned sorted by group name (code point order), each in
 * importlib's order. The first distribution of each normalized name across
 * the whole path wins; later ones contribute nothing.
 *
 * @param lookup the lookup
 * @param group the group, or NULL for all groups
 * @param name the entry point name, or NULL for all names
 * @param[out] selection_out the selection, to be freed with
 *	       epcache_selection_free()
 * @return 0 or a negative errno
 */
int epcache_lookup_select(struct epcache_lookup *lookup,
			  const char *group,
			  const char *name,
			  struct epcache_selection **selection_out);

/**
 * Select entry points of every group in importlib's distribution order,
 * as Python 3.12 and later's importlib.metadata.entry_points() and
 * entry_points(name=) give them: path entry order, then distribution
 * order, then file order, the groups interleaved as in the files (not
 * sorted by group). Which distributions count is as with
 * epcache_lookup_select(). Since EPCACHE_0.3.
 *
 * @param lookup the lookup
 * @param name the entry point name, or NULL for all names
 * @param[out] selection_out the selection, to be freed with
 *	       epcache_selection_free()
 * @return 0 or a negative errno
 */
int epcache_lookup_select_unsorted(struct epcache_lookup *lookup,
				   const char *name,
				   struct epcache_selection **selection_out);

/**
 * Select the entry points of one distribution of path entry @p idx, as
 * importlib.metadata's PathDistribution of that directory's child @p child
 * gives them in its entry_points property: every entry of its
 * entry_points.txt, every group, in file order, whether or not another
 * distribution of the same normalized name comes first (that rule is
 * entry_points()'s, not the distribution's). From the cache when it is
 * used, else from a scan. Since EPCACHE_0.4.
 *
 * @param lookup the lookup
 * @param idx the path entry
 * @param child the distribution's name in that directory, e.g.
 *	  "foo-1.0.dist-info", or "EGG-INFO" in a .egg path entry
 * @param[out] selection_out the selection (possibly empty), to be freed
 *	       with epcache_selection_free()
 * @return 0, -ENOENT when @p child is not a distribution of that path
 * entry, -EILSEQ when reading its files gave a warning (importlib's answer
 * is not the one left after it: it raises, or keeps a NUL), -EINVAL,
 * -ENOMEM
 */
int epcache_lookup_select_distribution(struct epcache_lookup *lookup,
				       size_t idx, const char *child,
				       struct epcache_selection **selection_out);

/** Free a selection. NULL is allowed. */
void epcache_selection_free(struct epcache_selection *selection);

/** @return the number of entries in the selection */
size_t epcache_selection_get_count(const struct epcache_selection *selection);

/** @return entry @p idx of the selection, or NULL if out of range */
const struct epcache_entry *
epcache_selection_get_entry(const struct epcache_selection *selection,
			    size_t idx);

/** @return the entry point group, e.g. "console_scripts" */
const char *epcache_entry_get_group(const struct epcache_entry *entry);

/** @return the entry point name */
const char *epcache_entry_get_name(const struct epcache_entry *entry);

/** @return the entry point value, e.g. "pkg.mod:obj.attr [extra]" */
const char *epcache_entry_get_value(const struct epcache_entry *entry);

/**
 * @return the module part of the value, or NULL when the value does not
 * match the entry point grammar (importlib raises in that case)
 */
const char *epcache_entry_get_module(const struct epcache_entry *entry);

/** @return the attribute part of the value, or NULL when there is none */
const char *epcache_entry_get_attr(const struct epcache_entry *entry);

/** @return the number of extras of the value */
size_t epcache_entry_get_extras_count(const struct epcache_entry *entry);

/** @return extra @p idx of the value, or NULL if out of range */
const char *epcache_entry_get_extra(const struct epcache_entry *entry,
				    size_t idx);

/** @return the distribution's Name: header, or NULL when it has none */
const char *epcache_entry_get_dist_name(const struct epcache_entry *entry);

/** @return the distribution's Version: header, or NULL when it has none */
const char *epcache_entry_get_dist_version(const struct epcache_entry *entry);

/**
 * @return the distribution's normalized name, as importlib.metadata's
 * _normalized_name: the name by which it shadows, and is shadowed by,
 * distributions of other path entries (since EPCACHE_0.2)
 */
const char *
epcache_entry_get_dist_normalized_name(const struct epcache_entry *entry);

/** @return the index of the path entry the entry point came from */
size_t epcache_entry_get_path_index(const struct epcache_entry *entry);

/**
 * The parts of an entry point value that did not come from a lookup, as
 * importlib.metadata's EntryPoint.pattern matches them (since EPCACHE_0.2).
 */
struct epcache_value;

/**
 * Parse an entry point value, e.g. "pkg.mod:obj.attr [extra]".
 *
 * @param value the value (a C string: a value containing NUL cannot be
 *	  given, and such a value never matches here)
 * @param[out] value_out the parts, to be freed with epcache_value_free()
 * @return 0, -EINVAL when the value does not match the grammar (importlib
 *	   raises in that case), -ENOMEM
 */
int epcache_value_parse(const char *value, struct epcache_value **value_out);

/** Free parsed value parts. NULL is allowed. */
void epcache_value_free(struct epcache_value *value);

/** @return the module part, never NULL */
const char *epcache_value_get_module(const struct epcache_value *value);

/** @return the attribute part, or NULL when there is none */
const char *epcache_value_get_attr(const struct epcache_value *value);

/** @return the number of extras */
size_t epcache_value_get_extras_count(const struct epcache_value *value);

/** @return extra @p idx, or NULL if out of range */
const char *epcache_value_get_extra(const struct epcache_value *value,
				    size_t idx);

/**
 * Scan @p dir and atomically (re)write its cache. Concurrent rebuilds of
 * one directory are serialised; a failed rebuild leaves the previous cache
 * as it was. Bad distributions are logged as warnings and left out.
 *
 * @param ctx the library context
 * @param dir the site directory
 * @param mode the validation mode recorded in the cache
 * @param flags a bitmask of enum epcache_rebuild_flags
 * @param[out] rebuilt_out if not NULL, set to true when a cache was written,
 *	       false when EPCACHE_REBUILD_IF_STALE found it fresh
 * Run as root on a directory owned by another user, the cache directory
 * and files are made with that user's filesystem credentials (they own
 * them), and the directory is read with them: a symlink planted there to a
 * file the user cannot read reads as unreadable. A directory writable by
 * its group or by others is read as nobody (with the directory's group
 * when only the group may write). A directory whose files exceed the
 * rebuild's bounds (one file over 64 MiB, 64 MiB of entry_points.txt in
 * all, two million entry points, or a cache larger than readers accept)
 * gets no cache: the previous one is removed, readers scan it, and
 * -EFBIG is returned.
 *
 * @return 0 or a negative errno (e.g. -EACCES, -ENOSPC, -EROFS, -ENOENT,
 *	   -ENOTDIR, -EAGAIN when the directory kept changing, -ETIMEDOUT
 *	   when another rebuild held the lock for the whole lock timeout,
 *	   -EWOULDBLOCK when it held it and EPCACHE_REBUILD_NO_WAIT was
 *	   given, -EPERM when an existing cache directory is not trusted
 *	   (owned by neither root nor the directory's owner, or writable by
 *	   group or others), -EFBIG when a bound was exceeded)
 */
int epcache_rebuild(struct epcache *ctx,
		    const char *dir,
		    enum epcache_mode mode,
		    unsigned int flags,
		    bool *rebuilt_out);

/**
 * Bound the time epcache_rebuild() waits for another process's rebuild of
 * the same directory to finish (it polls the lock). The default is 10
 * seconds; 0 does not wait at all.
 *
 * @param ctx the library context
 * @param timeout_ms the bound in milliseconds, 0 or more
 * @return 0, or -EINVAL for a negative @p timeout_ms
 */
int epcache_set_lock_timeout(struct epcache *ctx, int timeout_ms);

/**
 * Remove the cache of @p dir (the cache subdirectory and what the library
 * put in it). A directory without a cache is not an error.
 *
 * @return 0 or a negative errno
 */
int epcache_remove(struct epcache *ctx, const char *dir);

#ifdef __cplusplus
}
#endif

#endif /* EPCACHE_H */
