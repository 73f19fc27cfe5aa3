/* SPDX-License-Identifier: MIT */
/*
 * Lookups over an ordered list of path entries: each entry answered from
 * its cache when that is fresh and trusted, else from a live scan, with
 * importlib.metadata's first-distribution-wins rule across the whole path.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epcache-private.h"

struct ep_path {
	char *path;
	enum epcache_status status;
	char reason[256];
	int dirfd; /* -1: nothing to read here */
	char *egg_name;
	bool use_cache;
	struct ep_cache_file cf;
	bool scanned;
	struct ep_scan scan;
	/* the cache's records, when @scan was made from them (a reordered
	 * cache): @scan's strings live in their arena */
	struct ep_scan records;
	/* every record of a cache in use, read once for
	 * epcache_lookup_select_distribution() */
	struct ep_scan dists;
	bool dists_read;
};

struct epcache_lookup {
	struct epcache *ctx;
	unsigned int flags;
	struct ep_path *p;
	size_t n;
	/* normalized name -> first path index it appears in, complete for
	 * the path entries [0, names_upto) */
	struct ep_strset first_seen;
	size_t names_upto;
};

struct epcache_entry {
	const char *group;
	const char *name;
	const char *value;
	const char *dist_name;
	const char *dist_version;
	const char *dist_normalized;
	size_t path_index;
	int parsed; /* 0: not yet, 1: ok, -1: value does not match */
	struct ep_value v;
};

struct epcache_selection {
	struct epcache_entry *v;
	size_t n, cap;
	/* group parts read from caches; the entries point into them */
	struct ep_scan *parts;
	size_t n_parts, cap_parts;
};

/* zipfile finds archives by their end-of-central-directory record, which
 * sits in the last 64 KiB + 22 bytes; so do we. */
static bool
is_zip_file(const char *path)
{
	unsigned char buf[65536 + 22];
	struct stat st;
	size_t n, off;
	bool zip = false;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < 22)
		goto out;
	n = st.st_size < (off_t)sizeof(buf) ? (size_t)st.st_size : sizeof(buf);
	off = (size_t)st.st_size - n;
	if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
		goto out;
	for (size_t i = n - 22 + 1; i-- > 0;) {
		if (memcmp(buf + i, "PK\005\006", 4) == 0) {
			zip = true;
			break;
		}
	}
out:
	close(fd);
	return zip;
}

/*
 * A fresh cache of a directory that lists its entries in another order
 * than when the cache was written (it travelled to another filesystem):
 * its group parts are in the old order, but its records are the
 * directory's. The answer is a scan that takes every record over from
 * the cache, in the listing's order, reading no file of the directory
 * (but those of records with warnings, which are never taken over).
 */
static int
scan_from_records(struct epcache_lookup *lk, struct ep_path *p)
{
	int rc;

	rc = ep_cache_read_dists(&p->cf, &p->records);
	ep_cache_close(&p->cf);
	p->use_cache = false;
	if (rc == 0)
		rc = ep_scan_dir_reuse(lk->ctx, p->path, p->dirfd, 0,
				       &p->records, &p->scan);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		ep_scan_give_back(&p->scan, &p->records);
		ep_scan_release(&p->records);
		p->status = EPCACHE_STATUS_CORRUPT;
		snprintf(p->reason, sizeof(p->reason),
			 "corrupt cache records");
		return 0;
	}
	p->scanned = true;
	return 0;
}

static int
path_init(struct epcache_lookup *lk, struct ep_path *p, const char *path)
{
	const char *open_path = *path ? path : ".";
	int rc;

	p->dirfd = -1;
	p->cf.fd = -1;
	p->path = strdup(path);
	if (!p->path)
		return -ENOMEM;
	p->status = EPCACHE_STATUS_MISSING;
	p->dirfd = open(open_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dirfd < 0) {
		int err = errno;

		if (err == ENOTDIR && is_zip_file(open_path)) {
			p->status = EPCACHE_STATUS_UNSUPPORTED;
			snprintf(p->reason, sizeof(p->reason),
				 "zip archive: not read by the C reader");
		} else if (err == ENOENT) {
			snprintf(p->reason, sizeof(p->reason),
				 "no such directory");
		} else {
			snprintf(p->reason, sizeof(p->reason),
				 "cannot open: %s", strerror(err));
		}
		return 0;
	}
	p->egg_name = ep_egg_name_for_path(path);
	rc = ep_cache_evaluate(p->dirfd, p->egg_name, false, &p->cf,
			       &p->status,
			       p->reason, sizeof(p->reason));
	if (rc < 0) {
		/* An unreadable cache is no reason to fail the lookup. */
		p->status = EPCACHE_STATUS_MISSING;
		snprintf(p->reason, sizeof(p->reason), "cannot read cache: %s",
			 strerror(-rc));
		return 0;
	}
	p->use_cache = p->status == EPCACHE_STATUS_FRESH &&
		       !(lk->flags & EPCACHE_LOOKUP_NO_CACHE);
	if (p->use_cache && p->cf.reordered)
		return scan_from_records(lk, p);
	if (!p->use_cache)
		ep_cache_close(&p->cf);
	return 0;
}

static void
path_release(struct ep_path *p)
{
	free(p->path);
	free(p->egg_name);
	ep_cache_close(&p->cf);
	ep_scan_give_back(&p->scan, &p->records);
	ep_scan_release(&p->records);
	ep_scan_release(&p->dists);
	if (p->dirfd >= 0)
		close(p->dirfd);
}

EP_EXPORT int
epcache_lookup_new(struct epcache *ctx, const char *const *paths,
		   size_t npaths, unsigned int flags,
		   struct epcache_lookup **lookup_out)
{
	struct epcache_lookup *lk;
	int rc = 0;

	if (!ctx || (!paths && npaths) || !lookup_out ||
	    (flags & ~(unsigned int)EPCACHE_LOOKUP_NO_CACHE))
		return -EINVAL;
	lk = calloc(1, sizeof(*lk));
	if (!lk)
		return -ENOMEM;
	lk->ctx = ctx;
	lk->flags = flags;
	lk->p = calloc(npaths ? npaths : 1, sizeof(*lk->p));
	if (!lk->p) {
		free(lk);
		return -ENOMEM;
	}
	for (size_t i = 0; i < npaths; i++) {
		lk->n = i + 1;
		if (!paths[i]) {
			rc = -EINVAL;
			goto out;
		}
		if ((rc = path_init(lk, &lk->p[i], paths[i])) < 0)
			goto out;
	}
	*lookup_out = lk;
	return 0;
out:
	epcache_lookup_free(lk);
	return rc;
}

EP_EXPORT void
epcache_lookup_free(struct epcache_lookup *lk)
{
	if (!lk)
		return;
	for (size_t i = 0; i < lk->n; i++)
		path_release(&lk->p[i]);
	free(lk->p);
	ep_strset_release(&lk->first_seen);
	free(lk);
}

EP_EXPORT size_t
epcache_lookup_get_path_count(const struct epcache_lookup *lk)
{
	return lk->n;
}

EP_EXPORT const char *
epcache_lookup_get_path(const struct epcache_lookup *lk, size_t idx)
{
	return idx < lk->n ? lk->p[idx].path : NULL;
}

EP_EXPORT enum epcache_status
epcache_lookup_get_path_status(const struct epcache_lookup *lk, size_t idx)
{
	return idx < lk->n ? lk->p[idx].status : EPCACHE_STATUS_MISSING;
}

EP_EXPORT const char *
epcache_lookup_get_path_reason(const struct epcache_lookup *lk, size_t idx)
{
	return idx < lk->n ? lk->p[idx].reason : NULL;
}

static int ensure_scanned(struct epcache_lookup *lk, struct ep_path *p);
static int fall_back(struct epcache_lookup *lk, struct ep_path *p, int err);

EP_EXPORT int
epcache_lookup_get_path_warnings(struct epcache_lookup *lk, size_t idx,
				 size_t *count)
{
	struct ep_path *p;
	struct ep_scan dists;
	int rc;

	if (!lk || idx >= lk->n || !count)
		return -EINVAL;
	*count = 0;
	p = &lk->p[idx];
	if (p->dirfd < 0)
		return 0;
	if (p->use_cache) {
		rc = ep_cache_read_dists(&p->cf, &dists);
		if (rc == 0) {
			for (size_t i = 0; i < dists.n; i++)
				*count += dists.dists[i].n_warnings;
		}
		ep_scan_release(&dists);
		if (rc == 0 || rc == -ENODATA)
			return rc;
		if ((rc = fall_back(lk, p, rc)) < 0)
			return rc;
	}
	if ((rc = ensure_scanned(lk, p)) < 0)
		return rc;
	*count = p->scan.n_warnings;
	return 0;
}

/*
 * An installer renaming a distribution in or out while the directory is
 * read can leave the scan with a mix of two states (a dist-info listed, its
 * METADATA gone by the time it is opened): a state the directory never
 * had. As the writer does, scan again while the directory's identity
 * changed under the scan, a bounded number of times.
 */
static int
scan_unchanged(struct epcache_lookup *lk, struct ep_path *p)
{
	struct ep_dir_identity before, after;
	int rc;

	for (int attempt = 0;; attempt++) {
		if ((rc = ep_dir_identity_get(p->dirfd, false, &before)) < 0)
			return ep_scan_dir(lk->ctx, p->path, p->dirfd, 0,
					   &p->scan);
		if ((rc = ep_scan_dir(lk->ctx, p->path, p->dirfd, 0,
				      &p->scan)) < 0)
			return rc;
		if (attempt == 4 ||
		    ep_dir_identity_get(p->dirfd, false, &after) < 0 ||
		    ep_dir_identity_equal(&before, &after))
			return 0;
		ep_scan_release(&p->scan);
	}
}

static int
ensure_scanned(struct epcache_lookup *lk, struct ep_path *p)
{
	int rc;

	if (p->scanned)
		return 0;
	rc = scan_unchanged(lk, p);
	if (rc < 0) {
		/* importlib swallows listing errors: nothing is found here */
		if (rc == -ENOMEM)
			return rc;
		ep_log_warn(lk->ctx, "%s: cannot scan: %s", p->path,
			    strerror(-rc));
	}
	p->scanned = true;
	return 0;
}

/* A part of a fresh cache turned out unreadable: answer from a scan. */
static int
fall_back(struct epcache_lookup *lk, struct ep_path *p, int err)
{
	if (err == -ENOMEM)
		return err;
	ep_log_warn(lk->ctx, "%s/%s/%s: corrupt cache part, scanning instead",
		    p->path, EP_CACHE_SUBDIR, EP_CACHE_FILE);
	p->status = EPCACHE_STATUS_CORRUPT;
	snprintf(p->reason, sizeof(p->reason), "corrupt cache part");
	p->use_cache = false;
	ep_cache_close(&p->cf);
	return ensure_scanned(lk, p);
}

static int
add_names_of(struct epcache_lookup *lk, size_t k)
{
	struct ep_path *p = &lk->p[k];
	int rc = 0;

	if (p->dirfd < 0)
		return 0;
	if (p->use_cache) {
		char **names;
		size_t n;

		rc = ep_cache_read_names(&p->cf, &names, &n);
		if (rc < 0) {
			if ((rc = fall_back(lk, p, rc)) < 0)
				return rc;
			return add_names_of(lk, k);
		}
		for (size_t i = 0; i < n; i++) {
			if (rc >= 0)
				rc = ep_strset_put(&lk->first_seen, names[i], k);
			free(names[i]);
		}
		free(names);
		return rc < 0 ? rc : 0;
	}
	if ((rc = ensure_scanned(lk, p)) < 0)
		return rc;
	for (size_t i = 0; i < p->scan.n; i++) {
		rc = ep_strset_put(&lk->first_seen, p->scan.dists[i].normalized,
				   k);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Make first_seen complete for the path entries before @k. */
static int
names_before(struct epcache_lookup *lk, size_t k)
{
	int rc;

	while (lk->names_upto < k) {
		if ((rc = add_names_of(lk, lk->names_upto)) < 0)
			return rc;
		lk->names_upto++;
	}
	return 0;
}

static int
sel_add(struct epcache_selection *sel, const struct ep_dist *d,
	const struct ep_entry *e, size_t k)
{
	if (sel->n == sel->cap) {
		size_t cap = sel->cap ? sel->cap * 2 : 32;
		struct epcache_entry *v = realloc(sel->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sel->v = v;
		sel->cap = cap;
	}
	sel->v[sel->n++] = (struct epcache_entry){
		.group = e->group,
		.name = e->name,
		.value = e->value,
		.dist_name = d->name,
		.dist_version = d->version,
		.dist_normalized = d->normalized,
		.path_index = k,
	};
	return 0;
}

static struct ep_scan *
sel_new_part(struct epcache_selection *sel)
{
	if (sel->n_parts == sel->cap_parts) {
		size_t cap = sel->cap_parts ? sel->cap_parts * 2 : 8;
		struct ep_scan *v = realloc(sel->parts, cap * sizeof(*v));

		if (!v)
			return NULL;
		sel->parts = v;
		sel->cap_parts = cap;
	}
	memset(&sel->parts[sel->n_parts], 0, sizeof(*sel->parts));
	return &sel->parts[sel->n_parts++];
}

/* @group NULL: every group */
static bool
entry_matches(const struct ep_entry *e, const char *group, const char *name)
{
	return (!group || strcmp(e->group, group) == 0) &&
	       (!name || strcmp(e->name, name) == 0);
}

/*
 * The entries of @group (and @name) that path entry @k contributes. With
 * @group NULL, every group in one pass: distribution order, each
 * distribution's entries in file order; a cache gives its distribution
 * records for this, which keep the file order the group parts do not.
 */
static int
select_from(struct epcache_lookup *lk, struct epcache_selection *sel,
	    size_t k, const char *group, const char *name)
{
	struct ep_path *p = &lk->p[k];
	const struct ep_scan *src;
	int rc;

	if (p->dirfd < 0)
		return 0;
	if (p->use_cache) {
		struct ep_scan *part;

		if (!(part = sel_new_part(sel)))
			return -ENOMEM;
		rc = group ? ep_cache_read_group(&p->cf, group, part)
			   : ep_cache_read_dists(&p->cf, part);
		if (rc < 0) {
			ep_scan_release(part);
			sel->n_parts--;
			if ((rc = fall_back(lk, p, rc)) < 0)
				return rc;
			return select_from(lk, sel, k, group, name);
		}
		src = part;
	} else {
		if ((rc = ensure_scanned(lk, p)) < 0)
			return rc;
		src = &p->scan;
	}
	for (size_t i = 0; i < src->n; i++) {
		const struct ep_dist *d = &src->dists[i];
		bool judged = false;

		if (d->shadowed)
			continue;
		for (size_t j = 0; j < d->entries.n; j++) {
			const struct ep_entry *e = &d->entries.v[j];
			size_t first;

			if (!entry_matches(e, group, name))
				continue;
			/* Only with something to contribute do the names of
			 * earlier path entries matter: usually the big
			 * directory comes last and the small ones before it
			 * are cheap to read. */
			if (!judged) {
				if ((rc = names_before(lk, k)) < 0)
					return rc;
				if (ep_strset_get(&lk->first_seen,
						  d->normalized, &first) &&
				    first < k)
					break;
				judged = true;
			}
			if ((rc = sel_add(sel, d, e, k)) < 0)
				return rc;
		}
	}
	return 0;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every group any path entry has, sorted by code point (= UTF-8 bytes). */
static int
all_groups(struct epcache_lookup *lk, char ***out, size_t *nout)
{
	struct ep_strset set = {0};
	char **v = NULL;
	size_t n = 0;
	int rc = 0;

	for (size_t k = 0; k < lk->n && rc >= 0; k++) {
		struct ep_path *p = &lk->p[k];

		if (p->dirfd < 0)
			continue;
		if (p->use_cache) {
			rc = ep_cache_list_groups(&p->cf, &set);
			if (rc >= 0)
				continue;
			/* a bad index part: this entry is scanned instead */
			if ((rc = fall_back(lk, p, rc)) < 0)
				break;
		}
		if ((rc = ensure_scanned(lk, p)) < 0)
			break;
		for (size_t i = 0; i < p->scan.n && rc >= 0; i++) {
			const struct ep_dist *d = &p->scan.dists[i];

			for (size_t j = 0; j < d->entries.n && rc >= 0; j++)
				rc = ep_strset_add(&set, d->entries.v[j].group);
		}
	}
	if (rc < 0)
		goto out;
	v = calloc(set.n ? set.n : 1, sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set.cap; i++) {
		if (set.slots[i]) {
			v[n++] = set.slots[i];
			set.slots[i] = NULL;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_strp);
	rc = 0;
out:
	ep_strset_release(&set);
	*out = v;
	*nout = n;
	return rc;
}

EP_EXPORT int
epcache_lookup_select(struct epcache_lookup *lk, const char *group,
		      const char *name, struct epcache_selection **sel_out)
{
	struct epcache_selection *sel;
	char **groups = NULL;
	size_t ngroups = 0;
	int rc = 0;

	if (!lk || !sel_out)
		return -EINVAL;
	sel = calloc(1, sizeof(*sel));
	if (!sel)
		return -ENOMEM;
	if (group) {
		for (size_t k = 0; k < lk->n && rc >= 0; k++)
			rc = select_from(lk, sel, k, group, name);
	} else {
		rc = all_groups(lk, &groups, &ngroups);
		for (size_t g = 0; g < ngroups && rc >= 0; g++)
			for (size_t k = 0; k < lk->n && rc >= 0; k++)
				rc = select_from(lk, sel, k, groups[g], name);
	}
	for (size_t g = 0; g < ngroups; g++)
		free(groups[g]);
	free(groups);
	if (rc < 0) {
		epcache_selection_free(sel);
		return rc;
	}
	*sel_out = sel;
	return 0;
}

EP_EXPORT int
epcache_lookup_select_unsorted(struct epcache_lookup *lk, const char *name,
			       struct epcache_selection **sel_out)
{
	struct epcache_selection *sel;
	int rc = 0;

	if (!lk || !sel_out)
		return -EINVAL;
	sel = calloc(1, sizeof(*sel));
	if (!sel)
		return -ENOMEM;
	for (size_t k = 0; k < lk->n && rc >= 0; k++)
		rc = select_from(lk, sel, k, NULL, name);
	if (rc < 0) {
		epcache_selection_free(sel);
		return rc;
	}
	*sel_out = sel;
	return 0;
}

/*
 * One distribution's own entry points, as importlib's
 * PathDistribution(DIR/child).entry_points reads them: every line of its
 * entry_points.txt, every group, in file order, whether an earlier
 * distribution of the same name shadows it or not. A cache in use gives
 * its records (read once per lookup: programs ask for every distribution
 * in turn), any other directory its scan.
 */
EP_EXPORT int
epcache_lookup_select_distribution(struct epcache_lookup *lk, size_t idx,
				   const char *child,
				   struct epcache_selection **sel_out)
{
	struct epcache_selection *sel;
	const struct ep_scan *src;
	const struct ep_dist *d = NULL;
	struct ep_path *p;
	int rc;

	if (!lk || idx >= lk->n || !child || !sel_out)
		return -EINVAL;
	p = &lk->p[idx];
	if (p->dirfd < 0)
		return -ENOENT;
	if (p->use_cache && !p->dists_read) {
		rc = ep_cache_read_dists(&p->cf, &p->dists);
		if (rc < 0) {
			ep_scan_release(&p->dists);
			if ((rc = fall_back(lk, p, rc)) < 0)
				return rc;
		} else {
			p->dists_read = true;
		}
	}
	if (p->use_cache) {
		src = &p->dists;
	} else {
		if ((rc = ensure_scanned(lk, p)) < 0)
			return rc;
		src = &p->scan;
	}
	for (size_t i = 0; i < src->n && !d; i++)
		if (strcmp(src->dists[i].path, child) == 0)
			d = &src->dists[i];
	if (!d)
		return -ENOENT;
	/* importlib raises on what was left out, or keeps a NUL */
	if (d->n_warnings)
		return -EILSEQ;
	sel = calloc(1, sizeof(*sel));
	if (!sel)
		return -ENOMEM;
	for (size_t j = 0; j < d->entries.n; j++) {
		if ((rc = sel_add(sel, d, &d->entries.v[j], idx)) < 0) {
			epcache_selection_free(sel);
			return rc;
		}
	}
	*sel_out = sel;
	return 0;
}

EP_EXPORT void
epcache_selection_free(struct epcache_selection *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++)
		if (sel->v[i].parsed == 1)
			ep_value_release(&sel->v[i].v);
	for (size_t i = 0; i < sel->n_parts; i++)
		ep_scan_release(&sel->parts[i]);
	free(sel->parts);
	free(sel->v);
	free(sel);
}

EP_EXPORT size_t
epcache_selection_get_count(const struct epcache_selection *sel)
{
	return sel->n;
}

EP_EXPORT const struct epcache_entry *
epcache_selection_get_entry(const struct epcache_selection *sel, size_t idx)
{
	return idx < sel->n ? &sel->v[idx] : NULL;
}

EP_EXPORT const char *
epcache_entry_get_group(const struct epcache_entry *e)
{
	return e->group;
}

EP_EXPORT const char *
epcache_entry_get_name(const struct epcache_entry *e)
{
	return e->name;
}

EP_EXPORT const char *
epcache_entry_get_value(const struct epcache_entry *e)
{
	return e->value;
}

EP_EXPORT const char *
epcache_entry_get_dist_name(const struct epcache_entry *e)
{
	return e->dist_name;
}

EP_EXPORT const char *
epcache_entry_get_dist_version(const struct epcache_entry *e)
{
	return e->dist_version;
}

EP_EXPORT const char *
epcache_entry_get_dist_normalized_name(const struct epcache_entry *e)
{
	return e->dist_normalized;
}

EP_EXPORT size_t
epcache_entry_get_path_index(const struct epcache_entry *e)
{
	return e->path_index;
}

/* The value is parsed on first use: most callers never ask. The entry is
 * only const towards the caller; it lives in a mutable array. */
static const struct ep_value *
entry_value(const struct epcache_entry *ce)
{
	struct epcache_entry *e = (struct epcache_entry *)ce;

	if (e->parsed == 0)
		e->parsed = ep_value_parse(e->value, &e->v) == 0 ? 1 : -1;
	return e->parsed == 1 ? &e->v : NULL;
}

EP_EXPORT const char *
epcache_entry_get_module(const struct epcache_entry *e)
{
	const struct ep_value *v = entry_value(e);

	return v ? v->module : NULL;
}

EP_EXPORT const char *
epcache_entry_get_attr(const struct epcache_entry *e)
{
	const struct ep_value *v = entry_value(e);

	return v ? v->attr : NULL;
}

EP_EXPORT size_t
epcache_entry_get_extras_count(const struct epcache_entry *e)
{
	const struct ep_value *v = entry_value(e);

	return v ? v->n_extras : 0;
}

EP_EXPORT const char *
epcache_entry_get_extra(const struct epcache_entry *e, size_t idx)
{
	const struct ep_value *v = entry_value(e);

	return v && idx < v->n_extras ? v->extras[idx] : NULL;
}
