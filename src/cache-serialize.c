/* SPDX-License-Identifier: MIT */
/*
 * Writing the cache file (cache-format.md) from a scan: records to bytes,
 * every part with its CRC-32.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache-json.h"
#include "epcache-private.h"

/*
 * The writer produces JSON by hand: a json-c tree of a 10,000-distribution
 * site costs more than reading the site, and an incremental rebuild
 * serialises the whole cache again.
 *
 * Directory names need not be UTF-8. The file must stay UTF-8 JSON, so
 * each byte of an invalid sequence is written as the escape "\udcXX":
 * Python's surrogateescape, which gives a Python reader exactly what
 * os.listdir() gives.
 */

/* Room for @n more bytes (and the NUL) at the end of @b. */
static int
reserve(struct ep_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->cap - b->len > n)
		return 0;
	if (n > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

static inline int
put_raw(struct ep_buf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n && reserve(b, n) < 0)
		return -ENOMEM;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static int
put_str(struct ep_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, len;
	char *w;
	int rc;

	if (!s)
		return ep_buf_append(b, "null", 4);
	len = strlen(s);
	/* the worst case: every byte a 6-byte escape */
	if (len > SIZE_MAX / 8 || (rc = reserve(b, len * 6 + 2)) < 0)
		return -ENOMEM;
	w = b->data + b->len;
	*w++ = '"';
	while (i < len) {
		unsigned char c;
		size_t n;
		uint32_t cp;

		/* runs of plain ASCII, most of a cache: copied a word at a
		 * time as they are checked (the room reserved is ample) */
		while (len - i >= 8) {
			uint64_t x;

			memcpy(&x, s + i, 8);
			if (plain_stops(x))
				break;
			memcpy(w, &x, 8);
			w += 8;
			i += 8;
		}
		/* the last few bytes as the word that ends the string: when
		 * all eight are plain, the ones before @i were copied as they
		 * are, so the word can be stored over them */
		if (i < len && len - i < 8 && len >= 8) {
			uint64_t x;

			memcpy(&x, s + len - 8, 8);
			if (!plain_stops(x)) {
				memcpy(w - (8 - (len - i)), &x, 8);
				w += len - i;
				break;
			}
		}
		if (i == len)
			break;
		c = (unsigned char)s[i];
		if (plain_ascii(c)) {
			*w++ = (char)c;
			i++;
		} else if (c >= 0x80 &&
			   (n = ep_utf8_decode(s + i, len - i, &cp)) > 0) {
			memcpy(w, s + i, n);
			w += n;
			i += n;
		} else if (c == '"' || c == '\\') {
			*w++ = '\\';
			*w++ = (char)c;
			i++;
		} else {
			/* control characters; and bytes of invalid UTF-8
			 * as lone surrogates */
			memcpy(w, c >= 0x80 ? "\\udc" : "\\u00", 4);
			w[4] = hex[c >> 4];
			w[5] = hex[c & 15];
			w += 6;
			i++;
		}
	}
	*w++ = '"';
	*w = '\0';
	b->len = (size_t)(w - b->data);
	return 0;
}

/* Decimal digits of @u, optionally quoted, with a sign. */
static int
put_num(struct ep_buf *b, uint64_t u, bool neg, bool quoted)
{
	char tmp[24], *p = tmp + sizeof(tmp);

	if (quoted)
		*--p = '"';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (neg)
		*--p = '-';
	if (quoted)
		*--p = '"';
	return put_raw(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static int
put_i64(struct ep_buf *b, int64_t v)
{
	return put_num(b, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, false);
}

/* A decimal string, for numbers that may not fit a double (dev, ino). */
static int
put_u64_str(struct ep_buf *b, uint64_t v)
{
	return put_num(b, v, false, true);
}

/* "XXXXXXXX": a CRC-32, fixed width */
static int
put_crc(struct ep_buf *b, uint32_t crc)
{
	char hex[16];

	snprintf(hex, sizeof(hex), "\"%08" PRIx32 "\"", crc);
	return ep_buf_append(b, hex, EP_CACHE_CRC_LEN);
}

/* "[off,len,CRC]": a part of @data, at @off for @len bytes */
static int
put_range(struct ep_buf *b, const struct ep_buf *data, size_t off, size_t len)
{
	int rc;

	if ((rc = ep_buf_append(b, "[", 1)) < 0 ||
	    (rc = put_i64(b, (int64_t)off)) < 0 ||
	    (rc = ep_buf_append(b, ",", 1)) < 0 ||
	    (rc = put_i64(b, (int64_t)len)) < 0 ||
	    (rc = ep_buf_append(b, ",", 1)) < 0 ||
	    (rc = put_crc(b, ep_crc32(data->data + off, len))) < 0)
		return rc;
	return ep_buf_append(b, "]", 1);
}

#define PUT(b_, lit_) put_raw((b_), (lit_), sizeof(lit_) - 1)

struct ref {
	size_t dist;
	size_t entry;
};

/* The groups of a scan, sorted, and every entry point (of dists not
 * shadowed) ordered by group, then in importlib's order. A counting sort
 * over interned groups: a comparison sort of 60,000 strcmp-ed entries was
 * most of a rebuild's time. */
struct grouping {
	char **names;	/* sorted group names (owned by @set) */
	size_t n_names;
	size_t *first;	/* refs of group g: [first[g], first[g + 1]) */
	struct ref *refs;
	size_t n_refs;
	struct ep_strset set;
};

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
grouping_release(struct grouping *g)
{
	free(g->names);
	free(g->first);
	free(g->refs);
	ep_strset_release(&g->set);
}

static int
group_refs(const struct ep_scan *scan, struct grouping *g)
{
	size_t *rank = NULL, *fill = NULL, *ids = NULL, k = 0, n = 0;
	int rc = -ENOMEM;

	memset(g, 0, sizeof(*g));
	/* A dist shadowed inside its own directory contributes no entry
	 * points (importlib's _unique keeps the first). */
	for (size_t i = 0; i < scan->n; i++)
		if (!scan->dists[i].shadowed)
			g->n_refs += scan->dists[i].entries.n;
	ids = calloc(g->n_refs + 1, sizeof(*ids));
	if (!ids)
		goto out;
	/* intern the groups; ids[] follows the refs in importlib's order */
	for (size_t i = 0; i < scan->n; i++) {
		const struct ep_dist *d = &scan->dists[i];
		const char *last = NULL;
		size_t id = 0;

		if (d->shadowed)
			continue;
		for (size_t j = 0; j < d->entries.n; j++) {
			const char *grp = d->entries.v[j].group;

			/* entries come in sections: mostly the last group */
			if (!last || strcmp(grp, last) != 0) {
				if (!ep_strset_get(&g->set, grp, &id)) {
					id = g->set.n;
					if ((rc = ep_strset_put(&g->set, grp,
								id)) < 0)
						goto out;
				}
				last = grp;
			}
			ids[n++] = id;
		}
	}
	rc = -ENOMEM;
	g->n_names = g->set.n;
	g->names = calloc(g->n_names + 1, sizeof(*g->names));
	g->first = calloc(g->n_names + 1, sizeof(*g->first));
	g->refs = calloc(g->n_refs + 1, sizeof(*g->refs));
	rank = calloc(g->n_names + 1, sizeof(*rank));
	fill = calloc(g->n_names + 1, sizeof(*fill));
	if (!g->names || !g->first || !g->refs || !rank || !fill)
		goto out;
	for (size_t i = 0; i < g->set.cap; i++)
		if (g->set.slots[i])
			g->names[k++] = g->set.slots[i];
	if (k)
		qsort(g->names, k, sizeof(*g->names), cmp_strp);
	/* rank[interned id] = sorted position */
	for (size_t i = 0; i < k; i++) {
		size_t id = 0;

		ep_strset_get(&g->set, g->names[i], &id);
		rank[id] = i;
	}
	/* a counting sort by rank, stable */
	for (size_t r = 0; r < n; r++)
		g->first[rank[ids[r]] + 1]++;
	for (size_t r = 0; r < k; r++) {
		g->first[r + 1] += g->first[r];
		fill[r] = g->first[r];
	}
	n = 0;
	for (size_t i = 0; i < scan->n; i++) {
		const struct ep_dist *d = &scan->dists[i];

		if (d->shadowed)
			continue;
		for (size_t j = 0; j < d->entries.n; j++, n++)
			g->refs[fill[rank[ids[n]]]++] = (struct ref){i, j};
	}
	rc = 0;
out:
	free(ids);
	free(rank);
	free(fill);
	if (rc < 0)
		grouping_release(g);
	return rc;
}

/*
 * Where each entry's "name","value" is in the records just written, for the
 * group parts to copy instead of escaping both strings again: entry j of
 * dist i is at base + off[first[i] + j]. Dists taken over from the previous
 * cache use their own copied tails (ep_dist_raw).
 */
struct tails {
	const char *base;
	size_t *first;
	size_t *off;
	size_t *len;
};

static void
tails_release(struct tails *t)
{
	free(t->first);
	free(t->off);
	free(t->len);
}

static int
tails_init(struct tails *t, const struct ep_scan *scan)
{
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	t->first = calloc(scan->n + 1, sizeof(*t->first));
	if (!t->first)
		return -ENOMEM;
	for (size_t i = 0; i < scan->n; i++) {
		t->first[i] = n;
		n += scan->dists[i].entries.n;
	}
	t->off = calloc(n + 1, sizeof(*t->off));
	t->len = calloc(n + 1, sizeof(*t->len));
	if (!t->off || !t->len) {
		tails_release(t);
		return -ENOMEM;
	}
	return 0;
}

/* {"dists":[[normalized,Name,Version],...],"entries":[[d,name,value],...]}
 * for the refs [from, to), which all share one group. */
static int
put_group(struct ep_buf *b, const struct ep_scan *scan,
	  const struct tails *tails, const struct ref *refs, size_t from,
	  size_t to)
{
	size_t last = SIZE_MAX;
	int64_t di = -1;
	int rc;

	if ((rc = PUT(b, "{\"dists\":[")) < 0)
		return rc;
	for (size_t i = from; i < to; i++) {
		const struct ep_dist *d = &scan->dists[refs[i].dist];

		if (refs[i].dist == last)
			continue;
		last = refs[i].dist;
		if ((di >= 0 && (rc = PUT(b, ",")) < 0) ||
		    (rc = PUT(b, "[")) < 0 ||
		    (rc = put_str(b, d->normalized)) < 0 ||
		    (rc = PUT(b, ",")) < 0 || (rc = put_str(b, d->name)) < 0 ||
		    (rc = PUT(b, ",")) < 0 ||
		    (rc = put_str(b, d->version)) < 0 || (rc = PUT(b, "]")) < 0)
			return rc;
		di++;
	}
	if ((rc = PUT(b, "],\"entries\":[")) < 0)
		return rc;
	last = SIZE_MAX;
	di = -1;
	for (size_t i = from; i < to; i++) {
		const struct ep_dist *d = &scan->dists[refs[i].dist];

		if (refs[i].dist != last) {
			last = refs[i].dist;
			di++;
		}
		if ((i > from && (rc = PUT(b, ",")) < 0) ||
		    (rc = PUT(b, "[")) < 0 || (rc = put_i64(b, di)) < 0 ||
		    (rc = PUT(b, ",")) < 0)
			return rc;
		if (d->raw) {
			const struct ep_span *t = &d->raw->tails[refs[i].entry];

			rc = put_raw(b, t->p, t->len);
		} else {
			/* as the record has it */
			size_t k = tails->first[refs[i].dist] + refs[i].entry;

			rc = put_raw(b, tails->base + tails->off[k],
				     tails->len[k]);
		}
		if (rc < 0 || (rc = PUT(b, "]")) < 0)
			return rc;
	}
	return PUT(b, "]}");
}

static int
put_dists(struct ep_buf *b, const struct ep_scan *scan, struct tails *tails)
{
	int rc;

	if ((rc = PUT(b, "[")) < 0)
		return rc;
	for (size_t i = 0; i < scan->n; i++) {
		const struct ep_dist *d = &scan->dists[i];

		if (i > 0 && (rc = PUT(b, ",")) < 0)
			return rc;
		if (d->raw) {
			/* taken over: the same bytes, but whether it is
			 * shadowed depends on the others */
			const struct ep_span *r = &d->raw->record;
			size_t at = d->raw->shadowed_at;
			size_t after = at + d->raw->shadowed_len;

			if ((rc = put_raw(b, r->p, at)) < 0 ||
			    (rc = ep_buf_append_str(b, d->shadowed
								? "true"
								: "false")) < 0 ||
			    (rc = put_raw(b, r->p + after, r->len - after)) < 0)
				return rc;
			continue;
		}
		if ((rc = PUT(b, "{\"path\":")) < 0 ||
		    (rc = put_str(b, d->path)) < 0 ||
		    (rc = PUT(b, ",\"normalized\":")) < 0 ||
		    (rc = put_str(b, d->normalized)) < 0 ||
		    (rc = PUT(b, ",\"name\":")) < 0 ||
		    (rc = put_str(b, d->name)) < 0 ||
		    (rc = PUT(b, ",\"version\":")) < 0 ||
		    (rc = put_str(b, d->version)) < 0 ||
		    (rc = PUT(b, ",\"egg\":")) < 0 ||
		    (rc = ep_buf_append_str(b, d->egg ? "true" : "false")) < 0 ||
		    (rc = PUT(b, ",\"shadowed\":")) < 0 ||
		    (rc = ep_buf_append_str(b, d->shadowed ? "true"
							    : "false")) < 0 ||
		    (rc = PUT(b, ",\"warnings\":")) < 0 ||
		    (rc = put_i64(b, (int64_t)d->n_warnings)) < 0 ||
		    (rc = PUT(b, ",\"entry_points\":[")) < 0)
			return rc;
		for (size_t j = 0; j < d->entries.n; j++) {
			const struct ep_entry *e = &d->entries.v[j];
			size_t k = tails->first[i] + j;

			if ((j > 0 && (rc = PUT(b, ",")) < 0) ||
			    (rc = PUT(b, "[")) < 0 ||
			    (rc = put_str(b, e->group)) < 0 ||
			    (rc = PUT(b, ",")) < 0)
				return rc;
			tails->off[k] = b->len;
			if ((rc = put_str(b, e->name)) < 0 ||
			    (rc = PUT(b, ",")) < 0 ||
			    (rc = put_str(b, e->value)) < 0)
				return rc;
			tails->len[k] = b->len - tails->off[k];
			if ((rc = PUT(b, "]")) < 0)
				return rc;
		}
		if ((rc = PUT(b, "]}")) < 0)
			return rc;
	}
	return PUT(b, "]");
}

static int
put_stamps(struct ep_buf *b, const struct ep_scan *scan, size_t n_stamps)
{
	struct ep_buf rel = {0};
	int rc;

	if ((rc = PUT(b, "[")) < 0)
		return rc;
	for (size_t i = 0; i < scan->n; i++) {
		const struct ep_dist *d = &scan->dists[i];

		/* taken over because these very stamps were equal */
		if (d->raw) {
			if ((i > 0 && (rc = PUT(b, ",")) < 0) ||
			    (rc = put_raw(b, d->raw->stamps.p,
					  d->raw->stamps.len)) < 0)
				goto out;
			continue;
		}
		for (size_t k = 0; k < n_stamps; k++) {
			const struct ep_stamp *st = &d->st[k];

			if ((rc = ep_buf_set_path(&rel, d->path,
						  ep_stamp_names[k])) < 0 ||
			    ((i > 0 || k > 0) && (rc = PUT(b, ",")) < 0) ||
			    (rc = PUT(b, "[")) < 0 ||
			    (rc = put_str(b, rel.data)) < 0)
				goto out;
			if (!st->present)
				rc = PUT(b, ",null]");
			else if ((rc = PUT(b, ",")) < 0 ||
				 (rc = put_u64_str(b, st->ino)) < 0 ||
				 (rc = PUT(b, ",")) < 0 ||
				 (rc = put_i64(b, st->size)) < 0 ||
				 (rc = PUT(b, ",")) < 0 ||
				 (rc = put_i64(b, st->sec)) < 0 ||
				 (rc = PUT(b, ",")) < 0 ||
				 (rc = put_i64(b, st->nsec)) < 0 ||
				 (rc = PUT(b, ",")) < 0 ||
				 (rc = put_i64(b, st->csec)) < 0 ||
				 (rc = PUT(b, ",")) < 0 ||
				 (rc = put_i64(b, st->cnsec)) < 0)
				goto out;
			else
				rc = PUT(b, "]");
			if (rc < 0)
				goto out;
		}
	}
	rc = PUT(b, "]");
out:
	ep_buf_release(&rel);
	return rc;
}

static int
put_names(struct ep_buf *b, const struct ep_scan *scan)
{
	const char **v = calloc(scan->n ? scan->n : 1, sizeof(*v));
	size_t n = 0;
	int rc;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < scan->n; i++)
		if (!scan->dists[i].shadowed)
			v[n++] = scan->dists[i].normalized;
	if (n)
		qsort(v, n, sizeof(*v), cmp_strp);
	rc = PUT(b, "[");
	for (size_t i = 0; i < n && rc >= 0; i++)
		if ((i == 0 || (rc = PUT(b, ",")) >= 0))
			rc = put_str(b, v[i]);
	if (rc >= 0)
		rc = PUT(b, "]");
	free(v);
	return rc;
}

struct group_row {
	const char *name;
	size_t off, len, count, bucket;
	uint32_t crc;
};

int
ep_cache_serialize(const struct ep_scan *scan, enum epcache_mode mode,
		   const struct ep_dir_identity *id, struct ep_buf *out)
{
	struct ep_buf data = {0};
	int rc;

	if ((rc = ep_cache_serialize_parts(scan, mode, id, out, &data)) == 0)
		rc = ep_buf_append(out, data.data, data.len);
	ep_buf_release(&data);
	return rc;
}

int
ep_cache_serialize_parts(const struct ep_scan *scan, enum epcache_mode mode,
			 const struct ep_dir_identity *id, struct ep_buf *out,
			 struct ep_buf *tail)
{
	struct ep_buf data = {0}, recs = {0}, *b = out;
	struct tails tails;
	struct grouping g;
	struct group_row *rows = NULL;
	size_t names_off, names_len, dists_off, dists_len, stamps_off,
		stamps_len;
	size_t bucket_off[EP_CACHE_BUCKETS] = {0};
	size_t bucket_len[EP_CACHE_BUCKETS] = {0};
	char num[24];
	int rc;

	if ((rc = tails_init(&tails, scan)) < 0)
		return rc;
	if ((rc = group_refs(scan, &g)) < 0) {
		tails_release(&tails);
		return rc;
	}
	rc = -ENOMEM;
	rows = calloc(g.n_names + 1, sizeof(*rows));
	if (!rows)
		goto out;
	/* the records first, so that the group parts can copy from them */
	if ((rc = put_dists(&recs, scan, &tails)) < 0)
		goto out;
	tails.base = recs.data;

	if ((rc = PUT(&data, "{\"groups\":{")) < 0)
		goto out;
	for (size_t r = 0; r < g.n_names; r++) {
		if ((r > 0 && (rc = PUT(&data, ",")) < 0) ||
		    (rc = put_str(&data, g.names[r])) < 0 ||
		    (rc = PUT(&data, ":")) < 0)
			goto out;
		rows[r].name = g.names[r];
		rows[r].bucket = ep_hash_str(g.names[r]) &
				 (EP_CACHE_BUCKETS - 1);
		rows[r].off = data.len;
		rows[r].count = g.first[r + 1] - g.first[r];
		if ((rc = put_group(&data, scan, &tails, g.refs, g.first[r],
				    g.first[r + 1])) < 0)
			goto out;
		rows[r].len = data.len - rows[r].off;
		rows[r].crc = ep_crc32(data.data + rows[r].off, rows[r].len);
	}
	if ((rc = PUT(&data, "},\"group_index\":[")) < 0)
		goto out;
	for (size_t bk = 0; bk < EP_CACHE_BUCKETS; bk++) {
		bool any = false;

		if (bk > 0 && (rc = PUT(&data, ",")) < 0)
			goto out;
		bucket_off[bk] = data.len;
		/* rows come sorted, so every bucket is sorted too */
		for (size_t r = 0; r < g.n_names; r++) {
			if (rows[r].bucket != bk)
				continue;
			if ((rc = ep_buf_append_str(&data, any ? ",[" : "[[")) < 0 ||
			    (rc = put_str(&data, rows[r].name)) < 0 ||
			    (rc = PUT(&data, ",")) < 0 ||
			    (rc = put_i64(&data, (int64_t)rows[r].off)) < 0 ||
			    (rc = PUT(&data, ",")) < 0 ||
			    (rc = put_i64(&data, (int64_t)rows[r].len)) < 0 ||
			    (rc = PUT(&data, ",")) < 0 ||
			    (rc = put_i64(&data, (int64_t)rows[r].count)) < 0 ||
			    (rc = PUT(&data, ",")) < 0 ||
			    (rc = put_crc(&data, rows[r].crc)) < 0 ||
			    (rc = PUT(&data, "]")) < 0)
				goto out;
			any = true;
		}
		rc = any ? PUT(&data, "]") : PUT(&data, "null");
		if (rc < 0)
			goto out;
		bucket_len[bk] = any ? data.len - bucket_off[bk] : 0;
	}
	if ((rc = PUT(&data, "],\"names\":")) < 0)
		goto out;
	names_off = data.len;
	if ((rc = put_names(&data, scan)) < 0)
		goto out;
	names_len = data.len - names_off;
	if ((rc = PUT(&data, ",\"distributions\":")) < 0)
		goto out;
	dists_off = data.len;
	if ((rc = put_raw(&data, recs.data, recs.len)) < 0)
		goto out;
	dists_len = data.len - dists_off;
	if ((rc = PUT(&data, ",\"stamps\":")) < 0)
		goto out;
	stamps_off = data.len;
	if ((rc = put_stamps(&data, scan, ep_stamps_per_dist(mode))) < 0)
		goto out;
	stamps_len = data.len - stamps_off;
	/* the data object, then the file's */
	if ((rc = PUT(&data, "}}\n")) < 0)
		goto out;

	out->len = 0;
	if ((rc = PUT(b, EP_CACHE_PREFIX "{\"format\":")) < 0 ||
	    (rc = put_str(b, EP_CACHE_FORMAT)) < 0 ||
	    (rc = PUT(b, ",\"version\":")) < 0 ||
	    (rc = put_i64(b, EP_CACHE_VERSION)) < 0 ||
	    (rc = PUT(b, ",\"generator\":")) < 0 ||
	    (rc = put_str(b, EP_CACHE_GENERATOR)) < 0 ||
	    (rc = PUT(b, ",\"mode\":")) < 0 ||
	    (rc = put_str(b, epcache_mode_to_str(mode))) < 0 ||
	    (rc = PUT(b, ",\"data_size\":")) < 0 ||
	    (rc = put_i64(b, (int64_t)data.len)) < 0 ||
	    (rc = PUT(b, ",\"directory\":{\"dev\":")) < 0 ||
	    (rc = put_u64_str(b, id->dev)) < 0 ||
	    (rc = PUT(b, ",\"ino\":")) < 0 ||
	    (rc = put_u64_str(b, id->ino)) < 0 ||
	    (rc = PUT(b, ",\"mtime\":[")) < 0 ||
	    (rc = put_i64(b, id->sec)) < 0 || (rc = PUT(b, ",")) < 0 ||
	    (rc = put_i64(b, id->nsec)) < 0 ||
	    (rc = PUT(b, "],\"names\":")) < 0)
		goto out;
	snprintf(num, sizeof(num), "%016" PRIx64, id->names_sum);
	if ((rc = put_str(b, num)) < 0 || (rc = PUT(b, ",\"order\":")) < 0)
		goto out;
	snprintf(num, sizeof(num), "%016" PRIx64, id->order_sum);
	if ((rc = put_str(b, num)) < 0 ||
	    (rc = PUT(b, ",\"names_only\":")) < 0 ||
	    (rc = (id->names_only ? PUT(b, "true") : PUT(b, "false"))) < 0 ||
	    (rc = PUT(b, "},\"egg\":")) < 0 ||
	    (rc = put_str(b, scan->egg_name)) < 0 ||
	    (rc = PUT(b, ",\"counts\":{\"distributions\":")) < 0 ||
	    (rc = put_i64(b, (int64_t)scan->n)) < 0 ||
	    (rc = PUT(b, ",\"entry_points\":")) < 0 ||
	    (rc = put_i64(b, (int64_t)g.n_refs)) < 0 ||
	    (rc = PUT(b, "},\"index\":{\"names\":")) < 0 ||
	    (rc = put_range(b, &data, names_off, names_len)) < 0 ||
	    (rc = PUT(b, ",\"distributions\":")) < 0 ||
	    (rc = put_range(b, &data, dists_off, dists_len)) < 0 ||
	    (rc = PUT(b, ",\"stamps\":")) < 0 ||
	    (rc = put_range(b, &data, stamps_off, stamps_len)) < 0 ||
	    (rc = PUT(b, ",\"groups\":{\"count\":")) < 0 ||
	    (rc = put_i64(b, (int64_t)g.n_names)) < 0 ||
	    (rc = PUT(b, ",\"buckets\":[")) < 0)
		goto out;
	for (size_t bk = 0; bk < EP_CACHE_BUCKETS; bk++) {
		if (bk > 0 && (rc = PUT(b, ",")) < 0)
			goto out;
		rc = bucket_len[bk] ? put_range(b, &data, bucket_off[bk],
						bucket_len[bk])
				    : PUT(b, "null");
		if (rc < 0)
			goto out;
	}
	if ((rc = PUT(b, "]}}" EP_CACHE_CRC_KEY)) < 0)
		goto out;
	/* everything before the key: a flipped bit anywhere in the header,
	 * an offset or a part's CRC included, is seen */
	if ((rc = put_crc(b, ep_crc32(b->data,
				      b->len - (sizeof(EP_CACHE_CRC_KEY) - 1)))) < 0 ||
	    (rc = PUT(b, "}" EP_CACHE_DATA_SEP)) < 0)
		goto out;
	/* handed over, not copied: it is most of the file */
	ep_buf_release(tail);
	*tail = data;
	memset(&data, 0, sizeof(data));
	rc = 0;
out:
	free(rows);
	grouping_release(&g);
	tails_release(&tails);
	ep_buf_release(&recs);
	ep_buf_release(&data);
	return rc;
}

