/* SPDX-License-Identifier: MIT */
/*
 * The live scan of one path entry, reproducing importlib.metadata's
 * FastPath/Lookup discovery and PathDistribution reads (Python 3.11).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epcache-private.h"

/* Relative to the distribution; "" is the distribution path itself. */
struct child {
	char *name;
	size_t group; /* index of the first appearance of its lookup key */
	size_t pos;
	bool egg;
};

static bool
ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* os.path.basename(p).lower().rpartition(".")[0].partition("-")[0] for a
 * name known to contain a '.', i.e. the project part of a metadata name. */
static char *
project_part(const char *low)
{
	const char *dot = strrchr(low, '.');
	size_t n = dot ? (size_t)(dot - low) : 0;
	const char *dash = memchr(low, '-', n);

	if (dash)
		n = (size_t)(dash - low);
	return ep_strndup(low, n);
}

char *
ep_egg_name_for_path(const char *path_entry)
{
	const char *slash = strrchr(path_entry, '/');
	const char *base = slash ? slash + 1 : path_entry;
	char *low, *proj, *name = NULL;

	low = ep_str_lower(base, strlen(base));
	if (!low)
		return NULL;
	if (!ends_with(low, strlen(low), ".egg"))
		goto out;
	proj = project_part(low);
	if (proj) {
		name = ep_name_legacy_normalize(proj, strlen(proj));
		free(proj);
	}
out:
	free(low);
	return name;
}

/* PathDistribution._name_from_stem(): posixpath.splitext() semantics,
 * where leading dots do not start an extension. NULL when the extension
 * is not exactly ".dist-info" or ".egg-info". */
static char *
name_from_stem(const char *stem)
{
	const char *dot = strrchr(stem, '.');
	const char *p, *dash;

	if (!dot)
		return NULL;
	for (p = stem; p < dot && *p == '.'; p++)
		;
	if (p == dot)
		return NULL;
	if (strcmp(dot, ".dist-info") != 0 && strcmp(dot, ".egg-info") != 0)
		return NULL;
	dash = memchr(stem, '-', (size_t)(dot - stem));
	return ep_strndup(stem, (size_t)((dash ? dash : dot) - stem));
}

static int
cmp_child(const void *a, const void *b)
{
	const struct child *ca = a, *cb = b;

	/* infos before eggs, then first appearance of the key, then listing
	 * order: Lookup.search() chains infos.values() then eggs.values(). */
	if (ca->egg != cb->egg)
		return ca->egg ? 1 : -1;
	if (ca->group != cb->group)
		return ca->group < cb->group ? -1 : 1;
	return ca->pos < cb->pos ? -1 : ca->pos > cb->pos;
}

/* Lookup.infos keys -> index of their first appearance */
static int
key_group(struct ep_strset *keys, const char *key, size_t *group)
{
	int rc;

	if (ep_strset_get(keys, key, group))
		return 0;
	*group = keys->n;
	rc = ep_strset_put(keys, key, *group);
	return rc < 0 ? rc : 0;
}

static int
list_children(int dirfd, bool is_egg, struct child **out, size_t *nout)
{
	struct ep_strset keys = {0};
	struct child *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = NULL;
	int rc;

	if ((rc = ep_opendir_at(dirfd, &d)) < 0)
		return rc;
	while ((errno = 0, de = readdir(d))) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		char *low = NULL, *proj = NULL, *key = NULL;
		bool info, egg;

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		low = ep_str_lower(nm, len);
		if (!low) {
			rc = -ENOMEM;
			goto out;
		}
		len = strlen(low);
		info = ends_with(low, len, ".dist-info") ||
		       ends_with(low, len, ".egg-info");
		egg = !info && is_egg && strcmp(low, "egg-info") == 0;
		if (info) {
			proj = project_part(low);
			key = proj ? ep_name_normalize(proj, strlen(proj))
				   : NULL;
		}
		free(low);
		free(proj);
		if (!info && !egg)
			continue;
		if (info && !key) {
			rc = -ENOMEM;
			goto out;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct child *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				free(key);
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[n] = (struct child){.pos = n, .egg = egg};
		v[n].name = strdup(nm);
		rc = v[n].name ? 0 : -ENOMEM;
		if (rc == 0 && info)
			rc = key_group(&keys, key, &v[n].group);
		free(key);
		n++;
		if (rc < 0)
			goto out;
	}
	if (errno) {
		rc = -errno;
		goto out;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_child);
out:
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			free(v[i].name);
		free(v);
		v = NULL;
		n = 0;
	}
	ep_strset_release(&keys);
	closedir(d);
	*out = v;
	*nout = n;
	return rc;
}

/* PathDistribution.read_text(): these errors mean "no such file". */
static bool
suppressed_error(int err)
{
	return err == -ENOENT || err == -EISDIR || err == -ENOTDIR ||
	       err == -EACCES || err == -EPERM;
}

/* The file is there but cannot be read now: importlib raises, and a cache
 * written without it would be judged fresh with its entry points missing
 * until the next install. The rebuild fails instead (the old cache stays). */
static bool
transient_error(int err)
{
	return err == -EIO || err == -EMFILE || err == -ENFILE ||
	       err == -ENOBUFS || err == -EINTR;
}

/* The stamps of the distribution's files by stat() alone (@from on).
 * @rel, here and below, is the scan's buffer for "DIST/FILE": one for
 * the whole directory, not an allocation per file. */
static int
fill_stamps(int dirfd, struct ep_buf *rel, struct ep_dist *dist, size_t from,
	    size_t to)
{
	int rc = 0;

	for (size_t i = from; i < to; i++) {
		if ((rc = ep_buf_set_path(rel, dist->path,
					  ep_stamp_names[i])) < 0 ||
		    (rc = ep_stamp_get(dirfd, rel->data, &dist->st[i])) < 0)
			break;
	}
	return rc;
}

/*
 * A rebuild's scan (ctx->bounds set) reads no file of more than
 * max_file bytes, nor more than max_bytes of entry_points.txt (@counted)
 * in all: a planted sparse file of gigabytes, or one large file
 * hard-linked into every distribution, would otherwise cost that much
 * memory and time, and a cache of that size. -EFBIG, with a warning
 * naming the file, ends the scan.
 */
static int
read_bounded(struct epcache *ctx, const char *display, int dirfd,
	     const char *name, bool counted, char **data, size_t *len,
	     struct stat *st)
{
	struct ep_scan_bounds *b = ctx ? ctx->bounds : NULL;
	long long max;
	int rc;

	if (!b)
		return ep_read_file_at(dirfd, name, data, len, st);
	max = b->max_file;
	if (counted && max > b->max_bytes - b->bytes)
		max = b->max_bytes - b->bytes;
	rc = ep_read_file_at_max(dirfd, name, max, data, len, st);
	if (rc == -EFBIG) {
		if (max < b->max_file)
			ep_log_warn(ctx, "%s/%s: the entry_points.txt files "
				    "exceed %lld bytes in all", display, name,
				    b->max_bytes);
		else
			ep_log_warn(ctx, "%s/%s: larger than %lld bytes",
				    display, name, b->max_file);
	} else if (rc == 0 && counted) {
		b->bytes += (long long)*len;
	}
	return rc;
}

/*
 * Read DIST/FILE; @st (may be NULL) gets its stamp as read, or "absent"
 * when there is no such file. A file that cannot be opened is stat()ed
 * on its own for its stamp: strict mode must see it change when it
 * becomes readable.
 */
static int
read_dist_file(struct epcache *ctx, const char *display, int dirfd,
	       struct ep_buf *rel, const char *dist, const char *file,
	       char **data, size_t *len, size_t *n_warnings,
	       struct ep_stamp *st)
{
	struct stat sb;
	int rc;

	*data = NULL;
	if (st)
		memset(st, 0, sizeof(*st));
	if ((rc = ep_buf_set_path(rel, dist, file)) < 0)
		goto out;
	rc = read_bounded(ctx, display, dirfd, rel->data,
			  strcmp(file, "entry_points.txt") == 0, data, len,
			  st ? &sb : NULL);
	if (rc == -EFBIG)
		goto out;
	if (rc == 0 && st)
		ep_stamp_from_stat(&sb, st);
	else if (rc < 0 && rc != -ENOENT && rc != -ENOTDIR && rc != -ENOMEM &&
		 st) {
		int src = ep_stamp_get(dirfd, rel->data, st);

		if (src == -ENOMEM) {
			rc = src;
			goto out;
		}
		/* EIO and friends fail the rebuild below anyway */
	}
	if (rc == -ENOMEM)
		goto out;
	if (transient_error(rc)) {
		ep_log_error(ctx, "%s/%s: cannot read: %s", display, rel->data,
			     strerror(-rc));
		goto out;
	}
	if (rc < 0) {
		if (!suppressed_error(rc)) {
			ep_log_warn(ctx, "%s/%s: cannot read: %s", display,
				    rel->data, strerror(-rc));
			(*n_warnings)++;
		}
		rc = 0;
	}
out:
	return rc;
}

/* Distribution.metadata: METADATA, else PKG-INFO, else the path itself
 * (an egg-info file); an empty file counts as absent, as `or` does.
 * With @n_stamps, the stamps of METADATA and PKG-INFO are filled in from
 * the reads; strict mode also stat()s a PKG-INFO it did not need. */
static int
read_metadata(struct epcache *ctx, const char *display, int dirfd,
	      struct ep_buf *rel, struct ep_dist *dist, size_t n_stamps,
	      size_t *n_warnings)
{
	static const char *const files[] = {"METADATA", "PKG-INFO", ""};
	static const int stamp_of[] = {EP_STAMP_METADATA, EP_STAMP_PKG_INFO,
				       -1};
	char *data = NULL;
	size_t len = 0, i;
	int rc = 0;

	for (i = 0; i < 3; i++) {
		struct ep_stamp *st = NULL;

		/* free with the read: the rebuild's racy checks use them in
		 * every mode, even where the cache does not record them */
		if (n_stamps > 0 && stamp_of[i] >= 0)
			st = &dist->st[stamp_of[i]];
		rc = read_dist_file(ctx, display, dirfd, rel, dist->path,
				    files[i], &data, &len, n_warnings, st);
		if (rc < 0)
			return rc;
		if (data && len > 0)
			break;
		free(data);
		data = NULL;
	}
	/* METADATA was enough: PKG-INFO still has a stamp to record */
	if (i == 0 && n_stamps == EP_N_STAMPS &&
	    (rc = fill_stamps(dirfd, rel, dist, EP_STAMP_PKG_INFO,
			      EP_STAMP_PKG_INFO + 1)) < 0)
		goto out;
	if (!data)
		return 0;
	rc = ep_metadata_parse(data, len, &dist->name, &dist->version);
	if (rc == -EILSEQ) {
		/* importlib raises on bad UTF-8; a NUL it would keep, but a C
		 * string cannot: either way Name/Version are unknown to us */
		ep_log_warn(ctx, "%s/%s%s%s: %s", display, dist->path,
			    *files[i] ? "/" : "", files[i],
			    ep_utf8_valid(data, len)
				    ? "NUL byte in the metadata; Name and "
				      "Version ignored"
				    : "metadata is not valid UTF-8");
		(*n_warnings)++;
		rc = 0;
	}
out:
	free(data);
	return rc;
}

static int
read_entry_points(struct epcache *ctx, const char *display, int dirfd,
		  struct ep_buf *rel, struct ep_dist *dist, size_t n_stamps,
		  size_t *n_warnings)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = read_dist_file(ctx, display, dirfd, rel, dist->path,
			    "entry_points.txt", &data, &len, n_warnings,
			    n_stamps > 0 ? &dist->st[EP_STAMP_ENTRY_POINTS]
				    : NULL);
	if (rc < 0 || !data)
		return rc;
	/* the file's full name, for the parser's messages */
	if ((rc = ep_buf_set_path(rel, display, dist->path)) < 0 ||
	    (rc = ep_buf_append_str(rel, "/entry_points.txt")) < 0)
		goto out;
	rc = ep_parse_entry_points(ctx, rel->data, data, len, &dist->entries);
	if (rc > 0) {
		*n_warnings += (size_t)rc;
		rc = 0;
	}
out:
	free(data);
	return rc;
}

static void
dist_release(struct ep_dist *d)
{
	free(d->path);
	/* the rest belongs to the previous scan's arena */
	if (d->prev_index)
		return;
	free(d->normalized);
	free(d->name);
	free(d->version);
	ep_entry_list_release(&d->entries);
}

static int
scan_add(struct ep_scan *s, struct ep_dist *d)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct ep_dist *v = realloc(s->dists, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->dists = v;
		s->cap = cap;
	}
	s->dists[s->n++] = *d;
	return 0;
}

/* The previous record of @c, if the stamps a cache of this mode keeps
 * are unchanged (then so is what was read last time). */
static struct ep_dist *
reusable(struct ep_scan *prev, const struct ep_strset *prev_paths,
	 size_t n_stamps, const struct child *c, const struct ep_dist *d)
{
	struct ep_dist *p;
	size_t idx;

	if (!prev || !ep_strset_get(prev_paths, d->path, &idx))
		return NULL;
	p = &prev->dists[idx];
	if (!p->normalized || p->egg != c->egg || p->n_warnings > 0)
		return NULL;
	for (size_t k = 0; k < n_stamps; k++)
		if (!ep_stamp_equal(&p->st[k], &d->st[k]))
			return NULL;
	return p;
}

/*
 * One distribution. The stamp of its directory comes first, by stat(),
 * in both cases: an installer writing into it afterwards changes it, and
 * the rebuild's late check catches that. The file stamps come from the
 * reads themselves (the fstat of the open file), or, for strict mode to
 * decide about reuse, from stat() beforehand.
 */
static int
scan_one(struct epcache *ctx, const char *display, int dirfd,
	 struct ep_buf *rel, size_t n_stamps, struct ep_scan *prev,
	 const struct ep_strset *prev_paths, struct ep_strset *seen,
	 struct child *c, struct ep_scan *out)
{
	struct ep_dist d = {0}, *p;
	char *stem_name = NULL;
	size_t warnings = out->n_warnings;
	int rc;

	/* the record takes the listing's copy of the name */
	d.path = c->name;
	c->name = NULL;
	d.egg = c->egg;
	if (n_stamps > 0 &&
	    (rc = fill_stamps(dirfd, rel, &d, 0, prev ? n_stamps : 1)) < 0)
		goto out;
	if ((p = reusable(prev, prev_paths, n_stamps, c, &d))) {
		d.normalized = p->normalized;
		d.name = p->name;
		d.version = p->version;
		d.entries = p->entries;
		d.raw = p->raw;
		d.prev_index = (size_t)(p - prev->dists) + 1;
		p->normalized = p->name = p->version = NULL;
		memset(&p->entries, 0, sizeof(p->entries));
		out->n_reused++;
		goto dedup;
	}
	if ((rc = read_entry_points(ctx, display, dirfd, rel, &d, n_stamps,
				    &out->n_warnings)) < 0 ||
	    (rc = read_metadata(ctx, display, dirfd, rel, &d, n_stamps,
				  &out->n_warnings)) < 0)
		goto out;
	d.n_warnings = out->n_warnings - warnings;

	/* PathDistribution._normalized_name: from the directory name when
	 * that gives a non-empty name, else from the Name header. */
	stem_name = c->egg ? NULL : name_from_stem(d.path);
	if (stem_name && *stem_name)
		d.normalized = ep_name_normalize(stem_name, strlen(stem_name));
	else if (d.name)
		d.normalized = ep_name_normalize(d.name, strlen(d.name));
	else {
		/* importlib raises TypeError for the whole process here */
		ep_log_warn(ctx,
			    "%s/%s: no Name in the metadata and no name in "
			    "the directory name; distribution ignored",
			    display, d.path);
		out->n_warnings++;
		rc = 0;
		goto out;
	}
	if (!d.normalized) {
		rc = -ENOMEM;
		goto out;
	}
dedup:
	if (ctx && ctx->bounds) {
		ctx->bounds->entries += d.entries.n;
		if (ctx->bounds->entries > ctx->bounds->max_entries) {
			ep_log_warn(ctx, "%s/%s: more than %zu entry points "
				    "in the directory", display, d.path,
				    ctx->bounds->max_entries);
			rc = -EFBIG;
			goto out;
		}
	}
	rc = ep_strset_add(seen, d.normalized);
	if (rc < 0)
		goto out;
	d.shadowed = rc == 0;
	rc = scan_add(out, &d);
	if (rc == 0) {
		free(stem_name);
		return 0;
	}
out:
	free(stem_name);
	dist_release(&d);
	return rc;
}

static int
scan_dir(struct epcache *ctx, const char *display, int dirfd,
	 size_t n_stamps, struct ep_scan *prev, struct ep_scan *out)
{
	/* keys that outlive the sets: the names of the records */
	struct ep_strset seen = {.borrowed = true};
	struct ep_strset prev_paths = {.borrowed = true};
	struct ep_buf rel = {0};
	struct child *children = NULL;
	size_t n = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (prev && prev->n == 0)
		prev = NULL;
	for (size_t i = 0; prev && i < prev->n && rc >= 0; i++)
		if (prev->dists[i].path)
			rc = ep_strset_put(&prev_paths, prev->dists[i].path, i);
	if (rc < 0)
		goto out;
	out->egg_name = ep_egg_name_for_path(display);
	rc = list_children(dirfd, out->egg_name != NULL, &children, &n);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		rc = scan_one(ctx, display, dirfd, &rel, n_stamps, prev,
			      &prev_paths, &seen, &children[i], out);
		if (rc < 0)
			goto out;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(children[i].name);
	free(children);
	ep_strset_release(&seen);
	ep_strset_release(&prev_paths);
	ep_buf_release(&rel);
	if (rc < 0)
		ep_scan_release(out);
	return rc;
}

int
ep_scan_dir(struct epcache *ctx, const char *display, int dirfd,
	    size_t n_stamps, struct ep_scan *out)
{
	return scan_dir(ctx, display, dirfd, n_stamps, NULL, out);
}

int
ep_scan_dir_reuse(struct epcache *ctx, const char *display, int dirfd,
		  size_t n_stamps, struct ep_scan *prev, struct ep_scan *out)
{
	return scan_dir(ctx, display, dirfd, n_stamps, prev, out);
}

void
ep_scan_give_back(struct ep_scan *scan, struct ep_scan *prev)
{
	for (size_t i = 0; prev && i < scan->n; i++) {
		struct ep_dist *d = &scan->dists[i], *p;

		if (!d->prev_index || d->prev_index > prev->n)
			continue;
		p = &prev->dists[d->prev_index - 1];
		p->normalized = d->normalized;
		p->name = d->name;
		p->version = d->version;
		p->entries = d->entries;
		d->normalized = d->name = d->version = NULL;
		memset(&d->entries, 0, sizeof(d->entries));
	}
	ep_scan_release(scan);
}

void
ep_scan_release(struct ep_scan *s)
{
	for (size_t i = 0; i < s->n && !s->arena; i++)
		dist_release(&s->dists[i]);
	free(s->arena);
	free(s->arena_entries);
	free(s->raw_dists);
	free(s->raw_stamps);
	free(s->raws);
	free(s->raw_tails);
	free(s->dists);
	free(s->egg_name);
	memset(s, 0, sizeof(*s));
}
