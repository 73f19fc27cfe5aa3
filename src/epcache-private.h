/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces shared by the files of libepcache. Nothing here is
 * exported; see epcache.h for the public API.
 */
#ifndef EPCACHE_PRIVATE_H
#define EPCACHE_PRIVATE_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "epcache.h"

#define EP_EXPORT __attribute__((visibility("default")))
#define EP_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Where the cache lives inside a site directory. A dot directory is never a
 * package to the import system, nor a distribution to importlib.metadata, and
 * writing inside it leaves the site directory's own mtime alone. */
#define EP_CACHE_SUBDIR ".epcache"
#define EP_CACHE_FILE "entry-points.json"
#define EP_CACHE_LOCK "lock"
#define EP_CACHE_FORMAT "epcache-entry-points"
#define EP_CACHE_VERSION 4
/* What a cache records as its writer; a rebuild copies records only from
 * caches with this very value */
#define EP_CACHE_GENERATOR "epcache " EPCACHE_VERSION_STRING
/* Groups are found through a hash table of this many index parts, so that
 * finding one group costs the same in a cache of 10 groups or 10,000. */
#define EP_CACHE_BUCKETS 64

/* A cache larger than this is not read: no real site comes close. */
#define EP_CACHE_MAX_SIZE (1024LL * 1024 * 1024)

/* ------------------------------------------------------------------ log */

struct epcache {
	epcache_log_func_t log_handler;
	void *log_userdata;
	enum epcache_log_priority log_priority;
	/* how long a rebuild waits for the lock; 0: not at all */
	int lock_timeout_ms;
	/* set by a rebuild for its scan, NULL otherwise (scanner.c) */
	struct ep_scan_bounds *bounds;
	/* the largest cache a rebuild writes: EP_CACHE_MAX_SIZE, what
	 * readers accept (unit tests lower it) */
	size_t max_cache_size;
};

void ep_log(struct epcache *ctx, enum epcache_log_priority prio,
	    const char *fmt, ...) EP_PRINTF(3, 4);

#define ep_log_error(ctx_, ...) ep_log((ctx_), EPCACHE_LOG_ERROR, __VA_ARGS__)
#define ep_log_warn(ctx_, ...) ep_log((ctx_), EPCACHE_LOG_WARNING, __VA_ARGS__)
#define ep_log_info(ctx_, ...) ep_log((ctx_), EPCACHE_LOG_INFO, __VA_ARGS__)
#define ep_log_debug(ctx_, ...) ep_log((ctx_), EPCACHE_LOG_DEBUG, __VA_ARGS__)

/* -------------------------------------------------------------- buffers */

/* A growable byte buffer, always NUL-terminated when data != NULL. */
struct ep_buf {
	char *data;
	size_t len;
	size_t cap;
};

int ep_buf_append(struct ep_buf *b, const void *data, size_t len);
int ep_buf_append_str(struct ep_buf *b, const char *s);
/* Make the buffer @len bytes longer, the new bytes zero. */
int ep_buf_extend(struct ep_buf *b, size_t len);
int ep_buf_printf(struct ep_buf *b, const char *fmt, ...) EP_PRINTF(2, 3);
/* Replace the contents with "DIR/FILE", or "DIR" when FILE is "". */
int ep_buf_set_path(struct ep_buf *b, const char *dir, const char *file);
/* Hand the data over to the caller (never NULL on success; "" if empty). */
char *ep_buf_steal(struct ep_buf *b);
void ep_buf_release(struct ep_buf *b);

/* Read a whole file relative to dirfd (O_NOFOLLOW is NOT used: symlinks in
 * site directories are legitimate). Refuses non-regular files with -EISDIR
 * (directories) or -EINVAL (fifos, devices) so that a FIFO never blocks.
 * The result is NUL-terminated; *len excludes the NUL. @st (may be NULL)
 * gets the file's fstat(), taken before the data was read (a change while
 * it is read gives the file a later stamp than the one recorded). */
struct stat;
int ep_read_file_at(int dirfd, const char *name, char **data, size_t *len,
		    struct stat *st);

char *ep_strndup(const char *s, size_t n);

/* Open the directory @dirfd for reading from its start, on an fd of its
 * own; closedir() the result. */
int ep_opendir_at(int dirfd, DIR **out);

/* A set of strings with an optional value each (open addressing; keys are
 * copied; the first value put for a key stays). */
struct ep_strset {
	char **slots;
	size_t *vals;
	uint64_t *hashes; /* of the keys in slots, so probes seldom strcmp() */
	size_t n;
	size_t cap;
	bool borrowed; /* keys are the caller's, alive as long as the set */
};

int ep_strset_add(struct ep_strset *s, const char *key); /* 1 added, 0 had */
int ep_strset_put(struct ep_strset *s, const char *key, size_t value);
bool ep_strset_get(const struct ep_strset *s, const char *key, size_t *value);
/* FNV-1a 64 of a NUL-terminated string (the cache's group hash too) */
uint64_t ep_hash_str(const char *s);
bool ep_strset_has(const struct ep_strset *s, const char *key);
void ep_strset_release(struct ep_strset *s);

/* -------------------------------------------------------------- unicode */

/* Eight bytes at a time (SWAR): EP_BYTES(c) is c in every byte of a word.
 * EP_HAS_LESS(x, n), for n <= 0x80, is non-zero when a byte of @x is below
 * @n; EP_HAS_ZERO(x) when a byte is zero. Either may flag the wrong byte,
 * never miss one: callers then look at the word a byte at a time. */
#define EP_BYTES(c) (UINT64_C(0x0101010101010101) * (c))
#define EP_HAS_LESS(x, n) (((x) - EP_BYTES(n)) & ~(x) & EP_BYTES(0x80))
#define EP_HAS_ZERO(x) EP_HAS_LESS(x, 1)
#define EP_HAS_HIGH(x) ((x) & EP_BYTES(0x80))

/* Decode one UTF-8 sequence (strict: no overlongs, no surrogates, max
 * U+10FFFF). Returns the number of bytes consumed, 0 if invalid. */
size_t ep_utf8_decode(const char *s, size_t len, uint32_t *cp);
bool ep_utf8_valid(const char *s, size_t len);
/* Python's str.isspace() */
bool ep_uni_isspace(uint32_t cp);
/* Python's re "\w" for str patterns: str.isalnum() or '_' */
bool ep_uni_isword(uint32_t cp);
/* A line boundary of Python's str.splitlines() (\r\n is handled by callers) */
bool ep_uni_islinebreak(uint32_t cp);
/* Python's str.lower() of a UTF-8 string; bytes that are not valid UTF-8 are
 * copied unchanged (as os.listdir's surrogateescape would keep them). */
char *ep_str_lower(const char *s, size_t len);
/* importlib.metadata Prepared.normalize():
 * re.sub(r"[-_.]+", "-", name).lower().replace('-', '_') */
char *ep_name_normalize(const char *s, size_t len);
/* Prepared.legacy_normalize(): name.lower().replace('-', '_') */
char *ep_name_legacy_normalize(const char *s, size_t len);

/* ------------------------------------------------------- entry points */

/* In an ep_entry_list, the three strings are in the list's text chunks. */
struct ep_entry {
	char *group;
	char *name;
	char *value;
};

/* Text that never moves once written: entries point into it. */
struct ep_text_chunk {
	struct ep_text_chunk *next;
	size_t used;
	size_t cap;
	char data[];
};

struct ep_entry_list {
	struct ep_entry *v;
	size_t n;
	size_t cap;
	struct ep_text_chunk *text; /* NULL when another owner has the text */
};

int ep_entry_list_add(struct ep_entry_list *l, const char *group,
		      const char *name, const char *value);
void ep_entry_list_release(struct ep_entry_list *l);

/*
 * Parse the contents of an entry_points.txt as importlib.metadata's
 * Sectioned/Pair do, appending to @out in file order. Where importlib would
 * raise (no '=' in a line, invalid UTF-8, and NUL bytes, which a C string
 * cannot carry) the line is dropped with a warning "PATH:LINE: reason".
 * Returns the number of warnings (>= 0) or -ENOMEM.
 */
int ep_parse_entry_points(struct epcache *ctx, const char *path,
			  const char *buf, size_t len,
			  struct ep_entry_list *out);

/* The parts of an entry point value (EntryPoint.pattern). */
struct ep_value {
	char *module;
	char *attr; /* NULL if none */
	char **extras;
	size_t n_extras;
};

/* 0, -EINVAL if the value does not match the grammar, -ENOMEM */
int ep_value_parse(const char *value, struct ep_value *out);
void ep_value_release(struct ep_value *v);

/*
 * The Name: and Version: headers of a METADATA/PKG-INFO text, as
 * email.message_from_string(text)['Name'] gives them (first occurrence,
 * case-insensitive, folded values re-dented like importlib's adapter).
 * Absent headers give NULL. Returns 0, -EILSEQ for invalid UTF-8 (importlib
 * raises), -ENOMEM.
 */
int ep_metadata_parse(const char *buf, size_t len, char **name_out,
		      char **version_out);

/* -------------------------------------------------------------- scanner */

/* The identity of a file: strict mode compares it at lookup, and a
 * rebuild reuses a distribution's previous record only while all of its
 * stamps are equal. The ctime is there because no one can set it: a file
 * rewritten in place with its old size and mtime put back (cp -p, tar)
 * still gets a new ctime, and so does a chmod that makes it unreadable. */
struct ep_stamp {
	bool present;
	uint64_t ino;
	int64_t size;
	int64_t sec;
	int64_t nsec;
	int64_t csec;
	int64_t cnsec;
	bool dir; /* from the stat(), not recorded: sizes of directories are
		   * the filesystem's, not the content's */
};

/* Strict mode records these paths below each distribution (see scanner.c);
 * the other modes only the first, the distribution itself. */
#define EP_N_STAMPS 4
enum {
	EP_STAMP_DIST,
	EP_STAMP_ENTRY_POINTS,
	EP_STAMP_METADATA,
	EP_STAMP_PKG_INFO,
};
extern const char *const ep_stamp_names[EP_N_STAMPS];

/* Bytes of a previous cache, for a rebuild that takes a record over: it
 * copies them instead of writing the same bytes again. */
struct ep_span {
	const char *p;
	size_t len;
};

struct ep_dist_raw {
	struct ep_span record;	   /* {"path":...} in DISTS */
	size_t shadowed_at;	   /* the "shadowed" value inside it */
	size_t shadowed_len;
	struct ep_span stamps;	   /* its STAMPS rows, with the commas between */
	const struct ep_span *tails; /* per entry: "name","value" */
};

struct ep_dist {
	char *path;	  /* child name: "foo-1.0.dist-info", "EGG-INFO" */
	char *normalized; /* importlib's _normalized_name */
	char *name;	  /* Name: header or NULL */
	char *version;	  /* Version: header or NULL */
	bool egg;	  /* EGG-INFO of a .egg path entry */
	bool shadowed;	  /* an earlier dist of this directory has the name */
	struct ep_entry_list entries;
	/* identities of the files the answer was read from (rebuilds) */
	struct ep_stamp st[EP_N_STAMPS];
	/* warnings its files gave: such a record is never reused, so that
	 * every rebuild repeats them */
	size_t n_warnings;
	/* 1 + its index in the previous scan it was taken from, or 0; then
	 * all but the path live in that scan's arena */
	size_t prev_index;
	/* read back from a cache: where it was (NULL in a scan) */
	const struct ep_dist_raw *raw;
};

struct ep_scan {
	struct ep_dist *dists; /* importlib's order */
	size_t n;
	size_t cap;
	char *egg_name; /* legacy-normalized egg name when the entry is .egg */
	size_t n_warnings;
	size_t n_reused; /* records taken over from @prev (ep_scan_dir_reuse) */
	/* A group part read from a cache: every string of the dists points
	 * into @arena, every entries.v into @arena_entries. */
	char *arena;
	struct ep_entry *arena_entries;
	/* ep_cache_read_dists(): the part's bytes as they were, and where
	 * each record and entry was in them */
	char *raw_dists, *raw_stamps;
	struct ep_dist_raw *raws;
	struct ep_span *raw_tails;
};

/*
 * Scan one path entry as importlib.metadata's FastPath/Lookup would.
 * @display is the path entry as given (used for messages and to decide
 * whether it is a .egg); @dirfd an open directory fd for it.
 * The first @n_stamps stamps of each dist are filled in (0, 1 or
 * EP_N_STAMPS; see ep_stamps_per_dist()).
 */
int ep_scan_dir(struct epcache *ctx, const char *display, int dirfd,
		size_t n_stamps, struct ep_scan *out);
/*
 * As ep_scan_dir(), but a distribution whose child name is in @prev (a
 * previous scan of this directory with the same @n_stamps, e.g. from
 * ep_cache_read_dists()) and whose @n_stamps stamps all still equal the
 * recorded ones is taken over from @prev instead of being read again;
 * the records taken are moved out of @prev (left with their path only)
 * and still live in its arena, so @prev must outlive @out;
 * ep_scan_give_back() returns them before a scan is thrown away.
 * The caller guarantees that every stamp in @prev was taken after the
 * filesystem clock had passed it (the racy rule, see rebuild.c): then an
 * equal stamp means an unchanged file.
 */
int ep_scan_dir_reuse(struct epcache *ctx, const char *display, int dirfd,
		      size_t n_stamps, struct ep_scan *prev,
		      struct ep_scan *out);
/* Move the records @scan took from @prev back, then release @scan. */
void ep_scan_give_back(struct ep_scan *scan, struct ep_scan *prev);
void ep_scan_release(struct ep_scan *s);
/* The legacy-normalized egg name for a path entry, or NULL if not a .egg */
char *ep_egg_name_for_path(const char *path_entry);

/* ---------------------------------------------------- dir-identity.c */

/* What a cache records of its site directory. */
struct ep_dir_identity {
	uint64_t dev;
	uint64_t ino;
	int64_t sec;
	int64_t nsec;
	bool names_only; /* FAT-like: mtime and inode are unreliable */
	bool has_names;	 /* names_sum and order_sum were computed */
	uint64_t names_sum; /* FNV-1a 64 of the sorted entry names */
	uint64_t order_sum; /* ... of the names in readdir(3) order */
};

/* The identity of @dirfd (@st: its fstat()); the names' checksum (one
 * listing) only @with_names or on FAT-like filesystems. */
int ep_dir_identity_from_stat(int dirfd, const struct stat *st,
			      bool with_names, struct ep_dir_identity *id);
int ep_dir_identity_get(int dirfd, bool with_names,
			struct ep_dir_identity *id);
/* FNV-1a 64 of @dirfd's entry names (but .epcache) sorted, and (@order
 * may be NULL) in the order readdir(3) gives them. */
int ep_dir_names_checksum(int dirfd, uint64_t *sum, uint64_t *order);
/* The same directory, unchanged: device, inode and mtime (on FAT-like
 * filesystems, the names) equal. */
bool ep_dir_identity_equal(const struct ep_dir_identity *a,
			   const struct ep_dir_identity *b);
bool ep_fs_needs_checksum(int dirfd);
int ep_stamp_get(int dirfd, const char *name, struct ep_stamp *st);
void ep_stamp_from_stat(const struct stat *sb, struct ep_stamp *st);
/* How many stamps per distribution a cache of @mode records: strict mode
 * compares every file at lookup; the others need the distribution's
 * directory alone, for a rebuild to decide what it may take over. */
size_t ep_stamps_per_dist(enum epcache_mode mode);
bool ep_stamp_equal(const struct ep_stamp *a, const struct ep_stamp *b);

/* ------------------------------------------------------- freshness.c */

/* How a site directory compares with what its cache recorded. */
enum ep_dir_match {
	EP_DIR_CHANGED, /* not the directory the cache describes */
	EP_DIR_SAME,	/* same device, inode and mtime */
	EP_DIR_MOVED,	/* travelled with its cache: another device or
			 * inode, an mtime not later, the same names */
	EP_DIR_REORDERED, /* as moved, but listed in another order (another
			   * filesystem): the cache's order is not importlib's */
};

struct ep_cache_file;

/*
 * Decide whether the cache of the open site directory @sitefd may be used:
 * present, trusted, parseable, of a known version and fresh. On
 * EPCACHE_STATUS_FRESH @cf is left open for reading (close it with
 * ep_cache_close()); otherwise it is closed. @reason gets a message.
 * @egg_name is ep_egg_name_for_path() of the path entry (may be NULL).
 * With @check_trust_mode, a cache of mode trust is checked like mtime
 * (a writer deciding whether to rebuild must not take trust on faith).
 * Returns 0 or a negative errno for failures that are not a status.
 */
int ep_cache_evaluate(int sitefd, const char *egg_name, bool check_trust_mode,
		      struct ep_cache_file *cf, enum epcache_status *status,
		      char *reason, size_t reason_len);

/*
 * Trust: the cache directory and file (their fstat() results) must be a
 * directory and a regular file, not writable by group or others, and owned
 * by root or by the owner of the site directory. Returns 0 if trusted,
 * -EPERM with *reason set otherwise.
 */
int ep_trust_check(const struct stat *site, const struct stat *dir,
		   const struct stat *file, const char **reason);
/* The cache directory's part of ep_trust_check(), checked on its own
 * before anything in it is looked at (or, by a writer, written). */
int ep_trust_check_dir(const struct stat *site, const struct stat *dir,
		       const char **reason);

/* -------------------------------------------------------- cache writer */

/*
 * Open (and with @create, make, mode 0755) the cache subdirectory of the
 * site directory @sitefd, refusing a symlink or non-directory. When @uid is
 * not (uid_t)-1 a created directory is chowned to @uid:@gid -- only if
 * what was opened is owned by our fsuid and empty, i.e. what mkdirat made.
 * An existing directory (or one swapped in) must pass
 * ep_trust_check_dir(), else -EPERM.
 */
int ep_cachedir_open(int sitefd, bool create, uid_t uid, gid_t gid,
		     int *fd_out);
/* Take the rebuild lock (flock on EP_CACHE_LOCK, created 0644, no symlinks). */
int ep_cache_lock(int cachedirfd, uid_t uid, gid_t gid, int *lockfd_out);
/* The same, waiting at most @timeout_ms (ep_cache_lock() waits
 * EP_LOCK_TIMEOUT_DEFAULT_MS): -ETIMEDOUT after it, -EWOULDBLOCK at once
 * when @timeout_ms is 0 and the lock is held. */
int ep_cache_lock_timeout(int cachedirfd, uid_t uid, gid_t gid,
			  int timeout_ms, int *lockfd_out);
/*
 * Atomically replace @name in @dirfd with @data: temp file through openat
 * with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644 whatever the umask, write,
 * fsync, rename, fsync the directory (the fsyncs only with @do_fsync).
 * On failure the old file is untouched and no temp file remains.
 */
int ep_write_file_atomic(int dirfd, const char *name, const void *data,
			 size_t len, uid_t uid, gid_t gid, bool do_fsync);
/* The same, with the file's contents the concatenation of @parts. */
int ep_write_parts_atomic(int dirfd, const char *name,
			  const struct ep_span *parts, size_t n_parts,
			  uid_t uid, gid_t gid, bool do_fsync);
/* Remove the cache subdirectory (cache file, lock, stray temp files). */
int ep_cachedir_remove(int sitefd);

/* --------------------------------------------------------- cache format */

struct ep_cache_header {
	int version;
	enum epcache_mode mode;
	struct ep_dir_identity id;
	char *egg_name;
	char *generator;
	/* byte ranges of the data part, relative to data_start */
	size_t data_start;
	size_t names_off, names_len;
	size_t dists_off, dists_len;
	size_t stamps_off, stamps_len; /* len 0: none recorded */
	uint32_t names_crc, dists_crc, stamps_crc; /* CRC-32 of each part */
	size_t n_groups; /* informational */
	/* the group index, hashed: EP_CACHE_BUCKETS parts, len 0 = empty */
	size_t bucket_off[EP_CACHE_BUCKETS];
	size_t bucket_len[EP_CACHE_BUCKETS];
	uint32_t bucket_crc[EP_CACHE_BUCKETS];
};

/* The file's fixed bytes: it starts with EP_CACHE_PREFIX, the header
 * object follows, then EP_CACHE_DATA_SEP and the data object. */
#define EP_CACHE_PREFIX "{\"header\":"
#define EP_CACHE_DATA_SEP ",\n\"data\":"
/* A CRC-32 as JSON: a quoted string of 8 hex digits */
#define EP_CACHE_CRC_LEN 10
/* The header's last member, the CRC-32 of every byte of the file before */
#define EP_CACHE_CRC_KEY ",\"crc\":"

/* CRC-32 (ISO-HDLC, zlib's crc32()) of @len bytes: every part of a cache
 * carries one, checked when the part is read. */
uint32_t ep_crc32(const void *data, size_t len);

/* Serialise a scan into cache bytes (layout in cache-format.md). */
int ep_cache_serialize(const struct ep_scan *scan, enum epcache_mode mode,
		       const struct ep_dir_identity *id, struct ep_buf *out);
/* The same bytes in two parts, @head then @tail (the file is their
 * concatenation): the large part is never copied. */
int ep_cache_serialize_parts(const struct ep_scan *scan,
			     enum epcache_mode mode,
			     const struct ep_dir_identity *id,
			     struct ep_buf *head, struct ep_buf *tail);

struct ep_cache_file {
	int fd;
	size_t size;
	struct ep_cache_header hdr;
	/* fresh, but the directory lists its entries in another order than
	 * the cache's: its group parts are in the wrong order, its records
	 * are right (ep_cache_evaluate) */
	bool reordered;
};

/* Parse the header of an open cache file; @st is its fstat() if the
 * caller has it, else NULL. -EBADMSG when corrupt, -ESTALE for an older
 * format version, -EPROTO for an unknown one. */
int ep_cache_open(int fd, const struct stat *st, struct ep_cache_file *cf,
		  const char **reason);
void ep_cache_close(struct ep_cache_file *cf);
/* Read the part of a group: appends its dists (entries filled for that
 * group only; shadowed dists never appear) to @out, whose strings then
 * live in its arena (so @out can take one part only). A group the cache
 * does not have appends nothing and returns 0. */
int ep_cache_read_group(struct ep_cache_file *cf, const char *group,
			struct ep_scan *out);
/* Add the name of every group of the cache to @into. */
int ep_cache_list_groups(struct ep_cache_file *cf, struct ep_strset *into);
/* The sorted normalized names of every distribution in the directory. */
int ep_cache_read_names(struct ep_cache_file *cf, char ***names, size_t *n);
/* Call @fn for every STAMPS row, in order, until it returns non-zero
 * (returned). 0 when done, -EBADMSG when the part is corrupt. */
int ep_cache_read_stamps(struct ep_cache_file *cf,
			 int (*fn)(const char *path, const struct ep_stamp *st,
				   void *data),
			 void *data);
/* Every distribution record with its stamps, in the directory's order,
 * as ep_scan_dir() with stamps made them (for incremental rebuilds), its
 * strings in @out's arena. -ENODATA when the cache has no stamps. */
int ep_cache_read_dists(struct ep_cache_file *cf, struct ep_scan *out);

/* ------------------------------------------------------- configuration */

/*
 * The configuration of the programs (not of the library): which site
 * directories update-entrypoints-cache --all manages and entrypoints-query
 * reads by default, with their validation modes. Read from
 * SYSCONFDIR/entrypoints-cache.yaml and SYSCONFDIR/entrypoints-cache.d/
 * (see entrypoints-cache.yaml(5)). These functions live in a static
 * library of their own (config.c, config-sites.c) that links libyaml and
 * libc only, so that the programs can use it next to the shared library
 * and libepcache.so does not depend on libyaml.
 */

/* The main file and the drop-in directory below SYSCONFDIR. */
#define EP_CONFIG_FILE "entrypoints-cache.yaml"
#define EP_CONFIG_DROPIN_DIR "entrypoints-cache.d"
/* A configuration file larger than this is refused, not read. */
#define EP_CONFIG_MAX_SIZE (1024 * 1024)

struct ep_config_dir {
	char *path;		/* absolute, glob pattern allowed */
	enum epcache_mode mode;
	bool has_mode;		/* else the global mode applies */
};

struct ep_config {
	bool fsync;
	enum epcache_mode mode;
	struct ep_config_dir *dirs;
	size_t ndirs;
	size_t capdirs;
};

/* Defaults: fsync true, mode mtime, no directories. */
void ep_config_init(struct ep_config *cfg);
void ep_config_release(struct ep_config *cfg);

/*
 * Merge one YAML document into @cfg as a drop-in is merged: its
 * directories are appended, the scalars it sets replace earlier values.
 * @name is the file name used in messages. Returns 0; -EINVAL for bad
 * configuration, with *@error_out set to a malloc'd "NAME:LINE:COLUMN:
 * message"; -ENOMEM. On error @cfg may hold part of the document.
 */
int ep_config_load_buffer(struct ep_config *cfg, const char *name,
			  const char *data, size_t len, char **error_out);

/*
 * Merge the file @path. Errors as ep_config_load_buffer(); a file that
 * cannot be read gives its negative errno with *@error_out "PATH: reason".
 */
int ep_config_load_file(struct ep_config *cfg, const char *path,
			char **error_out);

/*
 * The whole configuration. With @file, only that file is read. Otherwise
 * ROOT/SYSCONFDIR/entrypoints-cache.yaml (a missing one is no error), then
 * every "*.yaml" of ROOT/SYSCONFDIR/entrypoints-cache.d in strcmp order;
 * when neither exists, the built-in directory list. @root may be NULL.
 */
int ep_config_load(struct ep_config *cfg, const char *root, const char *file,
		   char **error_out);

/* Append the built-in directory list (used when no file exists). */
int ep_config_add_defaults(struct ep_config *cfg);

/* A configured directory that exists, after glob expansion. */
struct ep_site {
	char *path;	/* ROOT + the matched path */
	char *key;	/* its realpath, or path when that fails */
	enum epcache_mode mode;
};

struct ep_site_list {
	struct ep_site *v;
	size_t n;
	size_t cap;
};

/*
 * Expand every configured directory below @root (NULL or "" for none; a
 * root of "/" is no root) and keep the existing directories, each once
 * (by realpath, else by string), first occurrence first. Each gets its
 * own mode or the global one. Returns 0 or -ENOMEM.
 */
int ep_config_expand(const struct ep_config *cfg, const char *root,
		     struct ep_site_list *out);
/* The index of the site that is the directory @dir, by realpath or string. */
bool ep_site_list_find(const struct ep_site_list *l, const char *dir,
		       size_t *idx);
void ep_site_list_release(struct ep_site_list *l);

/*
 * ROOT/PATH as one string (ROOT's trailing slashes dropped; a NULL or
 * empty root gives PATH). NULL when out of memory.
 */
char *ep_root_join(const char *root, const char *path);

/* ------------------------------------------------- credentials, bounds */

/* A filesystem identity a thread takes on (util-creds.c). */
struct ep_creds {
	bool active; /* false: stay as we are */
	uid_t uid;
	gid_t gid;
};

struct ep_creds_saved {
	bool active;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
};

/*
 * Root's identities for the site directory whose fstat() is @site:
 * @owner makes the cache directory, lock and file (the directory's owner
 * when not root); @reader scans (the owner, or nobody -- with the
 * directory's group when only the group may write -- when others than
 * the owner may write). Both inactive when not running as root.
 */
void ep_creds_for_dir(const struct stat *site, struct ep_creds *owner,
		      struct ep_creds *reader);
/* Switch the calling thread's fsuid, fsgid and supplementary groups
 * (none) to @to, saving the current ones; 0 or -errno (nothing changed). */
int ep_creds_enter(const struct ep_creds *to, struct ep_creds_saved *saved);
/* Undo ep_creds_enter() (a no-op when it changed nothing). */
void ep_creds_leave(struct ep_creds_saved *saved);

/*
 * What one rebuild may cost (rebuild.c): a directory beyond any of these
 * gets no cache, and readers scan it as importlib would. No real site
 * comes near: the largest METADATA files on PyPI are a few MiB, and a
 * site of 10,000 distributions has some 200,000 entry points in a few
 * MiB of entry_points.txt. METADATA is read and dropped (only Name and
 * Version stay), so only entry_points.txt counts towards the total: it
 * is what stays in memory and goes into the cache.
 */
#define EP_SCAN_MAX_FILE (64LL * 1024 * 1024)	/* one file read */
#define EP_SCAN_MAX_BYTES (64LL * 1024 * 1024)	/* entry_points.txt, in all */
#define EP_SCAN_MAX_ENTRIES (2 * 1000 * 1000)	/* entry points of a scan */

/* A bounded scan's running costs; a scan without one (a reader's) is
 * unbounded, as importlib is. */
struct ep_scan_bounds {
	long long max_file, max_bytes;
	size_t max_entries;
	long long bytes;
	size_t entries;
};

/* ep_read_file_at(), refusing with -EFBIG a file of more than @max bytes
 * (by its size before reading, and while reading) */
int ep_read_file_at_max(int dirfd, const char *name, long long max,
			char **data, size_t *len, struct stat *st);

/* The default bound of a rebuild's wait for the lock, in milliseconds
 * (epcache_set_lock_timeout()). */
#define EP_LOCK_TIMEOUT_DEFAULT_MS 10000

#endif /* EPCACHE_PRIVATE_H */
