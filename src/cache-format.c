/* SPDX-License-Identifier: MIT */
/*
 * The cache file format (cache-format.md): writing it from a scan, and
 * reading its header and single parts without trusting a byte of it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epcache-private.h"

#define PREFIX "{\"header\":"
#define DATA_SEP ",\n\"data\":"
#define HEADER_MAX (16 * 1024 * 1024)
#define HEADER_CHUNK 16384
/* Deepest legitimate nesting is 4 (header.index.groups.G); a group part
 * is 3 deep. Anything deeper is hostile. */
#define JSON_DEPTH 8

/* ------------------------------------------------------------ writing */

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
/* Bytes JSON takes as they are, with no escape and no UTF-8 check:
 * printable ASCII but '"' and '\\' (a table: most of a cache is these) */
#define ONES_16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char plain_table[256] = {
	[0x20] = 1, [0x21] = 1, [0x23] = 1, [0x24] = 1, [0x25] = 1,
	[0x26] = 1, [0x27] = 1, [0x28] = 1, [0x29] = 1, [0x2a] = 1,
	[0x2b] = 1, [0x2c] = 1, [0x2d] = 1, [0x2e] = 1, [0x2f] = 1,
	[0x30] = ONES_16, [0x40] = ONES_16,
	[0x50] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	[0x60] = ONES_16, [0x70] = ONES_16,
};

static inline bool
plain_ascii(unsigned char c)
{
	return plain_table[c];
}

/* The bytes of a word that end a plain run: the lowest flagged byte is
 * always a real one (a borrow only runs upwards), so on a little-endian
 * machine its index is the run's end. */
static inline uint64_t
plain_stops(uint64_t x)
{
	return EP_HAS_LESS(x, 0x20) | EP_HAS_HIGH(x) |
	       EP_HAS_ZERO(x ^ EP_BYTES('"')) | EP_HAS_ZERO(x ^ EP_BYTES('\\'));
}

/* The end of the run of plain_ascii() bytes at @p, eight at a time. */
static inline const char *
plain_run(const char *p, const char *end)
{
	while (end - p >= 8) {
		uint64_t x, m;

		memcpy(&x, p, 8);
		if ((m = plain_stops(x)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return p + (__builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
		p += 8;
	}
	while (p < end && plain_ascii((unsigned char)*p))
		p++;
	return p;
}

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

/* "[off,len]" */
static int
put_range(struct ep_buf *b, size_t off, size_t len)
{
	int rc;

	if ((rc = ep_buf_append(b, "[", 1)) < 0 ||
	    (rc = put_i64(b, (int64_t)off)) < 0 ||
	    (rc = ep_buf_append(b, ",", 1)) < 0 ||
	    (rc = put_i64(b, (int64_t)len)) < 0)
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
	if ((rc = PUT(&data, "}")) < 0)
		goto out;

	out->len = 0;
	if ((rc = PUT(b, PREFIX "{\"format\":")) < 0 ||
	    (rc = put_str(b, EP_CACHE_FORMAT)) < 0 ||
	    (rc = PUT(b, ",\"version\":")) < 0 ||
	    (rc = put_i64(b, EP_CACHE_VERSION)) < 0 ||
	    (rc = PUT(b, ",\"generator\":")) < 0 ||
	    (rc = put_str(b, EP_CACHE_GENERATOR)) < 0 ||
	    (rc = PUT(b, ",\"mode\":")) < 0 ||
	    (rc = put_str(b, epcache_mode_to_str(mode))) < 0 ||
	    (rc = PUT(b, ",\"directory\":{\"dev\":")) < 0 ||
	    (rc = put_u64_str(b, id->dev)) < 0 ||
	    (rc = PUT(b, ",\"ino\":")) < 0 ||
	    (rc = put_u64_str(b, id->ino)) < 0 ||
	    (rc = PUT(b, ",\"mtime\":[")) < 0 ||
	    (rc = put_i64(b, id->sec)) < 0 || (rc = PUT(b, ",")) < 0 ||
	    (rc = put_i64(b, id->nsec)) < 0 ||
	    (rc = PUT(b, "],\"names_checksum\":")) < 0)
		goto out;
	if (id->checksum_used) {
		char num[24];

		snprintf(num, sizeof(num), "%016" PRIx64, id->checksum);
		rc = put_str(b, num);
	} else {
		rc = PUT(b, "null");
	}
	if (rc < 0 || (rc = PUT(b, "},\"egg\":")) < 0 ||
	    (rc = put_str(b, scan->egg_name)) < 0 ||
	    (rc = PUT(b, ",\"counts\":{\"distributions\":")) < 0 ||
	    (rc = put_i64(b, (int64_t)scan->n)) < 0 ||
	    (rc = PUT(b, ",\"entry_points\":")) < 0 ||
	    (rc = put_i64(b, (int64_t)g.n_refs)) < 0 ||
	    (rc = PUT(b, "},\"index\":{\"names\":")) < 0 ||
	    (rc = put_range(b, names_off, names_len)) < 0 ||
	    (rc = PUT(b, ",\"distributions\":")) < 0 ||
	    (rc = put_range(b, dists_off, dists_len)) < 0 ||
	    (rc = PUT(b, ",\"stamps\":")) < 0 ||
	    (rc = put_range(b, stamps_off, stamps_len)) < 0 ||
	    (rc = PUT(b, ",\"groups\":{\"count\":")) < 0 ||
	    (rc = put_i64(b, (int64_t)g.n_names)) < 0 ||
	    (rc = PUT(b, ",\"buckets\":[")) < 0)
		goto out;
	for (size_t bk = 0; bk < EP_CACHE_BUCKETS; bk++) {
		if (bk > 0 && (rc = PUT(b, ",")) < 0)
			goto out;
		rc = bucket_len[bk] ? put_range(b, bucket_off[bk], bucket_len[bk])
				    : PUT(b, "null");
		if (rc < 0)
			goto out;
	}
	if ((rc = PUT(b, "]}}}" DATA_SEP)) < 0 ||
	    (rc = PUT(&data, "}\n")) < 0)
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

/* ------------------------------------------------------------ reading */

static int
pread_all(int fd, void *buf, size_t len, size_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EBADMSG; /* truncated under us */
		done += (size_t)r;
	}
	return 0;
}

/* Elements [first, first + 2) of array @o are [off, len] within @avail;
 * with @third, element first + 2 is a count (>= 0). The array has exactly
 * first + @want_len elements, all integers from @first on. */
static bool
get_range_at(struct json_object *o, size_t first, size_t avail,
	     size_t want_len, size_t *off, size_t *len, int64_t *third)
{
	int64_t a, b;

	if (!json_object_is_type(o, json_type_array) ||
	    json_object_array_length(o) != first + want_len)
		return false;
	for (size_t i = first; i < first + want_len; i++)
		if (!json_object_is_type(json_object_array_get_idx(o, i),
					 json_type_int))
			return false;
	a = json_object_get_int64(json_object_array_get_idx(o, first));
	b = json_object_get_int64(json_object_array_get_idx(o, first + 1));
	if (a < 0 || b < 0 || (uint64_t)a > avail ||
	    (uint64_t)b > avail - (uint64_t)a)
		return false;
	*off = (size_t)a;
	*len = (size_t)b;
	if (third) {
		*third = json_object_get_int64(
			json_object_array_get_idx(o, first + 2));
		if (*third < 0)
			return false;
	}
	return true;
}

static bool
get_range(struct json_object *o, size_t avail, size_t want_len, size_t *off,
	  size_t *len, int64_t *third)
{
	return get_range_at(o, 0, avail, want_len, off, len, third);
}

static bool
parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno == 0 && *end == '\0';
}

static const char *
member_str(struct json_object *o, const char *key, bool nullable, bool *ok)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v)) {
		*ok = false;
		return NULL;
	}
	if (!v) {
		if (!nullable)
			*ok = false;
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		*ok = false;
		return NULL;
	}
	return json_object_get_string(v);
}

static int
parse_header(struct json_object *h, size_t avail, struct ep_cache_header *hdr,
	     const char **reason)
{
	struct json_object *v, *dir, *index, *groups;
	const char *s;
	bool ok = true;
	uint64_t u;
	size_t n;

	*reason = "bad cache header";
	if (!json_object_is_type(h, json_type_object))
		return -EBADMSG;
	s = member_str(h, "format", false, &ok);
	if (!ok || strcmp(s, EP_CACHE_FORMAT) != 0) {
		*reason = "not an entry point cache";
		return -EBADMSG;
	}
	if (!json_object_object_get_ex(h, "version", &v) ||
	    !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	if (json_object_get_int64(v) != EP_CACHE_VERSION) {
		*reason = "unknown cache format version";
		return -EPROTO;
	}
	hdr->version = EP_CACHE_VERSION;
	s = member_str(h, "generator", false, &ok);
	if (!ok || !(hdr->generator = strdup(s)))
		return ok ? -ENOMEM : -EBADMSG;
	s = member_str(h, "mode", false, &ok);
	if (!ok || epcache_mode_from_str(s, &hdr->mode) < 0) {
		*reason = "unknown validation mode";
		return -EBADMSG;
	}
	s = member_str(h, "egg", true, &ok);
	if (!ok)
		return -EBADMSG;
	if (s && !(hdr->egg_name = strdup(s)))
		return -ENOMEM;

	if (!json_object_object_get_ex(h, "directory", &dir) ||
	    !json_object_is_type(dir, json_type_object))
		return -EBADMSG;
	if (!parse_u64(member_str(dir, "dev", false, &ok), 10, &hdr->id.dev) ||
	    !parse_u64(member_str(dir, "ino", false, &ok), 10, &hdr->id.ino) ||
	    !ok)
		return -EBADMSG;
	if (!json_object_object_get_ex(dir, "mtime", &v) ||
	    !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != 2 ||
	    !json_object_is_type(json_object_array_get_idx(v, 0), json_type_int) ||
	    !json_object_is_type(json_object_array_get_idx(v, 1), json_type_int))
		return -EBADMSG;
	hdr->id.sec = json_object_get_int64(json_object_array_get_idx(v, 0));
	hdr->id.nsec = json_object_get_int64(json_object_array_get_idx(v, 1));
	if (hdr->id.nsec < 0 || hdr->id.nsec > 999999999)
		return -EBADMSG;
	s = member_str(dir, "names_checksum", true, &ok);
	if (!ok)
		return -EBADMSG;
	if (s) {
		if (strlen(s) != 16 || !parse_u64(s, 16, &u))
			return -EBADMSG;
		hdr->id.checksum_used = true;
		hdr->id.checksum = u;
	}

	*reason = "bad cache index";
	if (!json_object_object_get_ex(h, "index", &index) ||
	    !json_object_is_type(index, json_type_object))
		return -EBADMSG;
	if (!json_object_object_get_ex(index, "names", &v) ||
	    !get_range(v, avail, 2, &hdr->names_off, &hdr->names_len, NULL))
		return -EBADMSG;
	if (!json_object_object_get_ex(index, "distributions", &v) ||
	    !get_range(v, avail, 2, &hdr->dists_off, &hdr->dists_len, NULL))
		return -EBADMSG;
	/* Written in every mode since version 2; needed in strict mode. */
	if (!json_object_object_get_ex(index, "stamps", &v))
		return -EBADMSG;
	if (v) {
		if (!get_range(v, avail, 2, &hdr->stamps_off, &hdr->stamps_len,
			       NULL) ||
		    hdr->stamps_len == 0)
			return -EBADMSG;
	} else if (hdr->mode == EPCACHE_MODE_STRICT) {
		return -EBADMSG;
	}
	if (!json_object_object_get_ex(index, "groups", &groups) ||
	    !json_object_is_type(groups, json_type_object) ||
	    !json_object_object_get_ex(groups, "count", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 ||
	    !json_object_object_get_ex(groups, "buckets", &v) ||
	    !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) != EP_CACHE_BUCKETS)
		return -EBADMSG;
	hdr->n_groups = (size_t)json_object_get_int64(
		json_object_object_get(groups, "count"));
	for (n = 0; n < EP_CACHE_BUCKETS; n++) {
		struct json_object *r = json_object_array_get_idx(v, n);

		if (r && !get_range(r, avail, 2, &hdr->bucket_off[n],
				    &hdr->bucket_len[n], NULL))
			return -EBADMSG;
		if (r && hdr->bucket_len[n] == 0)
			return -EBADMSG;
	}
	return 0;
}

static void
header_release(struct ep_cache_header *hdr)
{
	free(hdr->egg_name);
	free(hdr->generator);
	memset(hdr, 0, sizeof(*hdr));
}

int
ep_cache_open(int fd, const struct stat *st_in, struct ep_cache_file *cf,
	      const char **reason)
{
	struct json_tokener *tok = NULL;
	struct json_object *h = NULL;
	char *buf = NULL;
	size_t pos, end = 0, prefix = strlen(PREFIX), sep = strlen(DATA_SEP);
	struct stat st;
	int rc = -EBADMSG;

	memset(cf, 0, sizeof(*cf));
	cf->fd = fd;
	*reason = "truncated cache";
	if (st_in) {
		st = *st_in;
	} else if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (st.st_size > EP_CACHE_MAX_SIZE) {
		*reason = "cache file too large";
		goto out;
	}
	cf->size = (size_t)st.st_size;
	if (cf->size < prefix + sep)
		goto out;
	buf = malloc(HEADER_CHUNK);
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!buf || !tok) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = pread_all(fd, buf, prefix, 0)) < 0)
		goto out;
	rc = -EBADMSG;
	if (memcmp(buf, PREFIX, prefix) != 0) {
		*reason = "not an entry point cache";
		goto out;
	}
	for (pos = prefix; !h;) {
		size_t n = cf->size - pos;
		enum json_tokener_error err;

		if (n == 0 || pos - prefix >= HEADER_MAX)
			goto out;
		if (n > HEADER_CHUNK)
			n = HEADER_CHUNK;
		if ((rc = pread_all(fd, buf, n, pos)) < 0)
			goto out;
		rc = -EBADMSG;
		h = json_tokener_parse_ex(tok, buf, (int)n);
		err = json_tokener_get_error(tok);
		if (!h && err != json_tokener_continue) {
			*reason = "bad cache header";
			goto out;
		}
		if (h)
			end = pos + json_tokener_get_parse_end(tok);
		pos += n;
	}
	if (end + sep > cf->size)
		goto out;
	if ((rc = pread_all(fd, buf, sep, end)) < 0)
		goto out;
	rc = -EBADMSG;
	if (memcmp(buf, DATA_SEP, sep) != 0) {
		*reason = "bad cache layout";
		goto out;
	}
	cf->hdr.data_start = end + sep;
	rc = parse_header(h, cf->size - cf->hdr.data_start, &cf->hdr, reason);
out:
	json_object_put(h);
	if (tok) /* json-c 0.16 crashes on NULL */
		json_tokener_free(tok);
	free(buf);
	if (rc < 0)
		ep_cache_close(cf);
	return rc;
}

void
ep_cache_close(struct ep_cache_file *cf)
{
	if (cf->fd >= 0)
		close(cf->fd);
	cf->fd = -1;
	header_release(&cf->hdr);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Undo the writer's \udcXX escapes (bytes of non-UTF-8 directory names)
 * in place, before json-c sees them: json-c would turn a lone surrogate
 * into U+FFFD and lose the byte, and with it the name's identity. json-c
 * passes raw bytes inside strings through. Other escapes are left alone;
 * outside strings a backslash is a syntax error either way.
 */
static size_t
unescape_surrogates(char *buf, size_t len)
{
	size_t r = 0, w = 0;

	while (r < len) {
		if (buf[r] != '\\' || r + 1 >= len) {
			buf[w++] = buf[r++];
			continue;
		}
		if (buf[r + 1] == 'u' && r + 5 < len &&
		    (buf[r + 2] == 'd' || buf[r + 2] == 'D') &&
		    (buf[r + 3] == 'c' || buf[r + 3] == 'C') &&
		    hexval(buf[r + 4]) >= 8 && hexval(buf[r + 5]) >= 0) {
			buf[w++] = (char)(hexval(buf[r + 4]) << 4 |
					  hexval(buf[r + 5]));
			r += 6;
			continue;
		}
		buf[w++] = buf[r++];
		buf[w++] = buf[r++];
	}
	return w;
}

/* Read and parse the part [off, off + len) of the data. */
static int
read_part(struct ep_cache_file *cf, size_t off, size_t len,
	  struct json_object **out)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	size_t plen;
	char *buf;
	int rc;

	*out = NULL;
	if (len == 0 || len > (size_t)INT32_MAX)
		return -EBADMSG;
	buf = malloc(len);
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!buf || !tok) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = pread_all(cf->fd, buf, len, cf->hdr.data_start + off)) < 0)
		goto out;
	plen = unescape_surrogates(buf, len);
	o = json_tokener_parse_ex(tok, buf, (int)plen);
	/* The part must be exactly one JSON value filling the range. */
	if (!o || json_tokener_get_parse_end(tok) != plen) {
		json_object_put(o);
		o = NULL;
		rc = -EBADMSG;
		goto out;
	}
	*out = o;
	rc = 0;
out:
	if (tok) /* json-c 0.16 crashes on NULL */
		json_tokener_free(tok);
	free(buf);
	return rc;
}

/* Parse one bucket of the group index: rows [name, off, len, count],
 * sorted, each name hashing to this bucket. @fn is called for each row;
 * a positive return stops the walk. */
static int
walk_bucket(struct ep_cache_file *cf, size_t bk,
	    int (*fn)(const char *name, size_t off, size_t len, void *data),
	    void *data)
{
	size_t avail = cf->size - cf->hdr.data_start;
	struct json_object *o = NULL;
	const char *prev = NULL;
	size_t n;
	int rc;

	if (cf->hdr.bucket_len[bk] == 0)
		return 0;
	rc = read_part(cf, cf->hdr.bucket_off[bk], cf->hdr.bucket_len[bk], &o);
	if (rc < 0)
		return rc;
	rc = -EBADMSG;
	if (!json_object_is_type(o, json_type_array))
		goto out;
	n = json_object_array_length(o);
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(o, i);
		struct json_object *name;
		size_t off, len;
		int64_t count;

		if (!get_range_at(row, 1, avail, 3, &off, &len, &count))
			goto out;
		name = json_object_array_get_idx(row, 0);
		if (!json_object_is_type(name, json_type_string))
			goto out;
		if ((prev && strcmp(prev, json_object_get_string(name)) >= 0) ||
		    (ep_hash_str(json_object_get_string(name)) &
		     (EP_CACHE_BUCKETS - 1)) != bk)
			goto out;
		prev = json_object_get_string(name);
		rc = fn(prev, off, len, data);
		if (rc != 0)
			goto out;
		rc = -EBADMSG;
	}
	rc = 0;
out:
	json_object_put(o);
	return rc < 0 ? rc : 0;
}

struct find_data {
	const char *group;
	bool found;
	size_t off, len;
};

static int
find_row(const char *name, size_t off, size_t len, void *data)
{
	struct find_data *fd = data;

	if (strcmp(name, fd->group) != 0)
		return 0;
	fd->found = true;
	fd->off = off;
	fd->len = len;
	return 1;
}

static int
list_row(const char *name, size_t off, size_t len, void *data)
{
	(void)off;
	(void)len;
	return ep_strset_add(data, name) < 0 ? -ENOMEM : 0;
}

int
ep_cache_list_groups(struct ep_cache_file *cf, struct ep_strset *into)
{
	int rc;

	for (size_t bk = 0; bk < EP_CACHE_BUCKETS; bk++)
		if ((rc = walk_bucket(cf, bk, list_row, into)) < 0)
			return rc;
	return 0;
}

/* A relative path below the site directory, never leaving it. */
static bool
safe_relpath(const char *p)
{
	const char *s = p;

	if (!*p || *p == '/')
		return false;
	while (*s) {
		size_t n = strcspn(s, "/");

		if ((n == 2 && s[0] == '.' && s[1] == '.') || n == 0)
			return false;
		s += n;
		if (*s == '/')
			s++;
	}
	return true;
}

/*
 * A small pull parser for the big parts (group parts, distributions,
 * stamps), where a json-c tree costs several allocations per value. It
 * accepts exactly JSON (RFC 8259) for the shapes it is asked for, and
 * decodes strings in place: the decoded form is never longer than the
 * escaped one, so the closing quote leaves room for the NUL.
 */
struct jp {
	char *p;
	char *end;
};

static void
jp_ws(struct jp *j)
{
	while (j->p < j->end &&
	       (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool
jp_lit(struct jp *j, char c)
{
	jp_ws(j);
	if (j->p >= j->end || *j->p != c)
		return false;
	j->p++;
	return true;
}

/* The next non-space byte is @c (not consumed). */
static bool
jp_peek(struct jp *j, char c)
{
	jp_ws(j);
	return j->p < j->end && *j->p == c;
}

static bool
jp_word(struct jp *j, const char *w, size_t n)
{
	jp_ws(j);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool
jp_bool(struct jp *j, bool *v)
{
	if (jp_word(j, "true", 4))
		*v = true;
	else if (jp_word(j, "false", 5))
		*v = false;
	else
		return false;
	return true;
}

static bool
jp_int(struct jp *j, int64_t *v)
{
	bool neg = false;
	uint64_t u = 0;
	char *start;

	jp_ws(j);
	if (j->p < j->end && *j->p == '-') {
		neg = true;
		j->p++;
	}
	start = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		unsigned d = (unsigned)(*j->p - '0');

		if (u > (UINT64_C(1) << 63) / 10)
			return false;
		u = u * 10 + d;
		j->p++;
	}
	if (j->p == start || (*start == '0' && j->p - start > 1) ||
	    u > (UINT64_C(1) << 63) - (neg ? 0 : 1))
		return false;
	/* fractions and exponents are not integers */
	if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
		return false;
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return true;
}

static int
hex4(const char *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

static char *
put_utf8(char *w, uint32_t cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/*
 * A string, decoded in place and NUL-terminated. "\udcXX" (80..ff) gives
 * the raw byte XX back (the writer's surrogateescape); other lone
 * surrogates and NUL cannot be carried and fail. With @utf8 the result
 * must be valid UTF-8 (everything but names taken from directory names).
 */
static bool
jp_str(struct jp *j, bool utf8, char **out, size_t *len_out)
{
	bool high = false;
	char *w, *s;

	jp_ws(j);
	if (j->p >= j->end || *j->p != '"')
		return false;
	s = w = ++j->p;
	/* the usual case: no escape, nothing to move */
	j->p = (char *)plain_run(j->p, j->end);
	w = j->p;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;
		int cp, lo;

		if (c < 0x20)
			return false;
		if (c != '\\') {
			high |= c >= 0x80;
			*w++ = *j->p++;
			continue;
		}
		/* an escape may produce any byte */
		high = true;
		if (j->end - j->p < 2)
			return false;
		switch (j->p[1]) {
		case '"': case '\\': case '/':
			*w++ = j->p[1];
			break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u':
			if (j->end - j->p < 6 || (cp = hex4(j->p + 2)) <= 0)
				return false;
			if (cp >= 0xdc80 && cp <= 0xdcff) {
				*w++ = (char)(cp & 0xff);
			} else if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->end - j->p < 12 || j->p[6] != '\\' ||
				    j->p[7] != 'u' ||
				    (lo = hex4(j->p + 8)) < 0xdc00 || lo > 0xdfff)
					return false;
				w = put_utf8(w, 0x10000 +
					((uint32_t)(cp - 0xd800) << 10) +
					(uint32_t)(lo - 0xdc00));
				j->p += 6;
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				return false;
			} else {
				w = put_utf8(w, (uint32_t)cp);
			}
			j->p += 4;
			break;
		default:
			return false;
		}
		j->p += 2;
	}
	if (j->p >= j->end)
		return false;
	j->p++;
	*w = '\0';
	if (utf8 && high && !ep_utf8_valid(s, (size_t)(w - s)))
		return false;
	*out = s;
	if (len_out)
		*len_out = (size_t)(w - s);
	return true;
}

static bool
jp_str_or_null(struct jp *j, bool utf8, char **out)
{
	if (jp_word(j, "null", 4)) {
		*out = NULL;
		return true;
	}
	return jp_str(j, utf8, out, NULL);
}

/* Between the elements of an array: true with *more when another one
 * follows (the ',' consumed), true without when it ended (']' consumed). */
static bool
jp_next(struct jp *j, bool first, bool *more)
{
	if (first) {
		*more = !jp_peek(j, ']');
		if (!*more)
			j->p++;
		return true;
	}
	if (jp_lit(j, ',')) {
		*more = true;
		return true;
	}
	*more = false;
	return jp_lit(j, ']');
}

/* The whole range was the one value. */
static bool
jp_done(struct jp *j)
{
	jp_ws(j);
	return j->p == j->end;
}

/* Read the raw bytes of the part [off, off + len) of the data. */
static int
read_raw(struct ep_cache_file *cf, size_t off, size_t len, char **out)
{
	char *buf;
	int rc;

	*out = NULL;
	if (len == 0)
		return -EBADMSG;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	if ((rc = pread_all(cf->fd, buf, len, cf->hdr.data_start + off)) < 0) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* One stamps row: [PATH, null] or [PATH, "ino", size, s, ns, cs, cns] */
static bool
jp_stamp_row(struct jp *j, char **path, struct ep_stamp *st)
{
	int64_t v[5];
	char *ino;

	memset(st, 0, sizeof(*st));
	if (!jp_lit(j, '[') || !jp_str(j, false, path, NULL) ||
	    !safe_relpath(*path) || !jp_lit(j, ','))
		return false;
	if (jp_word(j, "null", 4))
		return jp_lit(j, ']');
	if (!jp_str(j, false, &ino, NULL) || !parse_u64(ino, 10, &st->ino))
		return false;
	for (size_t k = 0; k < 5; k++)
		if (!jp_lit(j, ',') || !jp_int(j, &v[k]))
			return false;
	if (v[2] < 0 || v[2] > 999999999 || v[4] < 0 || v[4] > 999999999)
		return false;
	st->present = true;
	st->size = v[0];
	st->sec = v[1];
	st->nsec = v[2];
	st->csec = v[3];
	st->cnsec = v[4];
	return jp_lit(j, ']');
}

int
ep_cache_check_stamps(struct ep_cache_file *cf, int sitefd)
{
	struct jp j;
	char *buf = NULL;
	bool more;
	int rc;

	if (cf->hdr.stamps_len == 0)
		return -EBADMSG;
	rc = read_raw(cf, cf->hdr.stamps_off, cf->hdr.stamps_len, &buf);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -EBADMSG;
	j = (struct jp){buf, buf + cf->hdr.stamps_len};
	rc = -EBADMSG;
	if (!jp_lit(&j, '['))
		goto out;
	for (bool first = true;; first = false) {
		struct ep_stamp want, have;
		char *path;

		if (!jp_next(&j, first, &more))
			goto out;
		if (!more)
			break;
		if (!jp_stamp_row(&j, &path, &want))
			goto out;
		if ((rc = ep_stamp_get(sitefd, path, &have)) < 0)
			goto out;
		rc = -EBADMSG;
		if (!ep_stamp_equal(&want, &have)) {
			rc = 1;
			goto out;
		}
	}
	rc = jp_done(&j) ? 0 : -EBADMSG;
out:
	free(buf);
	return rc;
}

/* A child name of the site directory: one path component. */
static bool
is_child_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

/* What ep_cache_read_dists() gathers: the entries of every record, and
 * where each record and entry sits in the part's bytes. */
struct dists_acc {
	struct ep_entry *ents;
	struct ep_span *tails; /* "name","value" of each entry */
	size_t n_ents, cap_ents;
	struct ep_dist_raw *raws;
};

/* Append an entry to the growing block of a scan's arena entries. */
static int
ents_add(struct dists_acc *a, char *group, char *name, char *value,
	 const char *tail, size_t tail_len)
{
	if (a->n_ents == a->cap_ents) {
		size_t ncap = a->cap_ents ? a->cap_ents * 2 : 256;
		struct ep_entry *v = realloc(a->ents, ncap * sizeof(*v));
		struct ep_span *t;

		if (!v)
			return -ENOMEM;
		a->ents = v;
		t = realloc(a->tails, ncap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		a->tails = t;
		a->cap_ents = ncap;
	}
	a->tails[a->n_ents] = (struct ep_span){tail, tail_len};
	a->ents[a->n_ents++] = (struct ep_entry){group, name, value};
	return 0;
}

enum dist_key {
	K_PATH = 1, K_NORM = 2, K_NAME = 4, K_VERSION = 8, K_EGG = 16,
	K_SHADOWED = 32, K_WARN = 64, K_EPS = 128, K_ALL = 255
};

/* A DISTS key, or 0: one strcmp() (a cache has nine keys a distribution,
 * and comparing each against the list was a tenth of an incremental
 * rebuild). */
static unsigned
dist_key(const char *key)
{
	static const struct {
		const char *name;
		unsigned k;
	} keys[] = {
		{"egg", K_EGG}, {"entry_points", K_EPS}, {"name", K_NAME},
		{"normalized", K_NORM}, {"path", K_PATH}, {"shadowed", K_SHADOWED},
		{"version", K_VERSION}, {"warnings", K_WARN},
	};
	size_t i;

	switch (key[0]) {
	case 'e': i = key[1] == 'g' ? 0 : 1; break;
	case 'n': i = key[1] == 'a' ? 2 : 3; break;
	case 'p': i = 4; break;
	case 's': i = 5; break;
	case 'v': i = 6; break;
	case 'w': i = 7; break;
	default: return 0;
	}
	return strcmp(key, keys[i].name) == 0 ? keys[i].k : 0;
}

/* One DISTS object, keys in any order, each exactly once. Its strings
 * stay in the buffer; its entry points are appended to @a (the caller
 * points entries.v into that block once it stops moving); @raw gets
 * where its "shadowed" value is, relative to @start. */
static int
jp_dist(struct jp *j, struct ep_dist *d, struct dists_acc *a,
	const char *start, struct ep_dist_raw *raw)
{
	unsigned seen = 0;
	bool more;
	int rc;

	if (!jp_lit(j, '{'))
		return -EBADMSG;
	for (bool first = true;; first = false) {
		char *key, *s;
		unsigned k;
		int64_t n;

		if (first ? jp_peek(j, '}') : !jp_lit(j, ','))
			break;
		if (!jp_str(j, true, &key, NULL) || !jp_lit(j, ':'))
			return -EBADMSG;
		k = dist_key(key);
		if (k == K_PATH) {
			if (!jp_str(j, false, &s, NULL) || !is_child_name(s))
				return -EBADMSG;
			d->path = s;
			rc = 0;
		} else if (k == K_NORM) {
			/* may be empty: importlib's name of "K.DIST-INFO"
			 * with "Name: " (the group parts take it too) */
			if (!jp_str(j, false, &s, NULL))
				return -EBADMSG;
			d->normalized = s;
			rc = 0;
		} else if (k == K_NAME) {
			if (!jp_str_or_null(j, true, &s))
				return -EBADMSG;
			d->name = s;
			rc = 0;
		} else if (k == K_VERSION) {
			if (!jp_str_or_null(j, true, &s))
				return -EBADMSG;
			d->version = s;
			rc = 0;
		} else if (k == K_EGG) {
			rc = jp_bool(j, &d->egg) ? 0 : -EBADMSG;
		} else if (k == K_SHADOWED) {
			jp_ws(j);
			raw->shadowed_at = (size_t)(j->p - start);
			rc = jp_bool(j, &d->shadowed) ? 0 : -EBADMSG;
			raw->shadowed_len = (size_t)(j->p - start) -
					    raw->shadowed_at;
		} else if (k == K_WARN) {
			rc = jp_int(j, &n) && n >= 0 ? 0 : -EBADMSG;
			d->n_warnings = (size_t)n;
		} else if (k == K_EPS) {
			rc = jp_lit(j, '[') ? 0 : -EBADMSG;
			for (bool f = true; rc == 0; f = false) {
				char *g, *nm, *v, *tail;

				if (!jp_next(j, f, &more)) {
					rc = -EBADMSG;
					break;
				}
				if (!more)
					break;
				rc = -EBADMSG;
				if (!jp_lit(j, '[') || !jp_str(j, true, &g, NULL) ||
				    !jp_lit(j, ','))
					break;
				jp_ws(j);
				tail = j->p; /* "name","value" */
				if (!jp_str(j, true, &nm, NULL) ||
				    !jp_lit(j, ',') || !jp_str(j, true, &v, NULL))
					break;
				if ((rc = ents_add(a, g, nm, v, tail,
						   (size_t)(j->p - tail))) < 0)
					break;
				rc = jp_lit(j, ']') ? 0 : -EBADMSG;
				if (rc == 0)
					d->entries.n++;
			}
		} else {
			return -EBADMSG;
		}
		if (rc < 0)
			return rc;
		if (seen & k)
			return -EBADMSG;
		seen |= k;
	}
	if (!jp_lit(j, '}') || seen != K_ALL)
		return -EBADMSG;
	return 0;
}

/* A copy of the bytes before they are decoded in place, and the spans
 * found in the decoded buffer moved over to it. */
static const char *
moved(const char *p, const char *from, const char *to)
{
	return to + (p - from);
}

int
ep_cache_read_dists(struct ep_cache_file *cf, struct ep_scan *out)
{
	struct ep_buf want = {0};
	struct dists_acc a = {0};
	char *dbuf = NULL, *sbuf = NULL, *rd = NULL, *rs = NULL;
	struct jp j;
	size_t k = 0;
	size_t per = ep_stamps_per_dist(cf->hdr.mode);
	bool more;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cf->hdr.stamps_len == 0)
		return -ENODATA;
	if ((rc = read_raw(cf, cf->hdr.dists_off, cf->hdr.dists_len,
			   &dbuf)) < 0)
		goto out;
	/* every string of the records stays in the decoded buffer */
	out->arena = dbuf;
	if ((rc = read_raw(cf, cf->hdr.stamps_off, cf->hdr.stamps_len,
			   &sbuf)) < 0)
		goto out;
	rc = -ENOMEM;
	rd = malloc(cf->hdr.dists_len);
	rs = malloc(cf->hdr.stamps_len);
	if (!rd || !rs)
		goto out;
	memcpy(rd, dbuf, cf->hdr.dists_len);
	memcpy(rs, sbuf, cf->hdr.stamps_len);
	out->raw_dists = rd;
	out->raw_stamps = rs;
	rd = rs = NULL;
	rc = -EBADMSG;
	j = (struct jp){dbuf, dbuf + cf->hdr.dists_len};
	if (!jp_lit(&j, '['))
		goto out;
	for (bool first = true;; first = false) {
		struct ep_dist_raw *raw;
		struct ep_dist *d;
		char *start;

		if (!jp_next(&j, first, &more))
			goto out;
		if (!more)
			break;
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 64;
			struct ep_dist *v = realloc(out->dists, cap * sizeof(*v));
			struct ep_dist_raw *r;

			if (!v) {
				rc = -ENOMEM;
				goto out;
			}
			out->dists = v;
			out->cap = cap;
			r = realloc(a.raws, cap * sizeof(*r));
			if (!r) {
				rc = -ENOMEM;
				goto out;
			}
			a.raws = r;
		}
		d = &out->dists[out->n];
		raw = &a.raws[out->n++];
		memset(d, 0, sizeof(*d));
		memset(raw, 0, sizeof(*raw));
		jp_ws(&j);
		start = j.p;
		if ((rc = jp_dist(&j, d, &a, start, raw)) < 0)
			goto out;
		raw->record = (struct ep_span){
			moved(start, dbuf, out->raw_dists),
			(size_t)(j.p - start)};
		rc = -EBADMSG;
	}
	if (!jp_done(&j))
		goto out;
	out->arena_entries = a.ents;
	out->raw_tails = a.tails;
	out->raws = a.raws;
	a.ents = NULL;
	a.tails = NULL;
	a.raws = NULL;
	for (size_t i = 0; i < a.n_ents; i++)
		out->raw_tails[i].p =
			moved(out->raw_tails[i].p, dbuf, out->raw_dists);
	for (size_t i = 0, e = 0; i < out->n; i++) {
		out->dists[i].entries.v = out->arena_entries + e;
		out->dists[i].entries.cap = out->dists[i].entries.n;
		out->raws[i].tails = out->raw_tails + e;
		out->dists[i].raw = &out->raws[i];
		e += out->dists[i].entries.n;
	}

	/* ep_stamps_per_dist() rows per distribution, in its order, with
	 * its paths */
	j = (struct jp){sbuf, sbuf + cf->hdr.stamps_len};
	if (!jp_lit(&j, '['))
		goto out;
	for (bool first = true;; first = false, k++) {
		struct ep_dist *d;
		char *path, *row;

		if (!jp_next(&j, first, &more))
			goto out;
		if (!more)
			break;
		if (k >= out->n * per)
			goto out;
		d = &out->dists[k / per];
		jp_ws(&j);
		row = j.p;
		if (!jp_stamp_row(&j, &path, &d->st[k % per]))
			goto out;
		if (k % per == 0)
			out->raws[k / per].stamps.p =
				moved(row, sbuf, out->raw_stamps);
		out->raws[k / per].stamps.len =
			(size_t)(moved(j.p, sbuf, out->raw_stamps) -
				 out->raws[k / per].stamps.p);
		if ((rc = ep_buf_set_path(&want, d->path,
					  ep_stamp_names[k % per])) < 0)
			goto out;
		rc = -EBADMSG;
		if (strcmp(path, want.data) != 0)
			goto out;
	}
	if (k != out->n * per || !jp_done(&j))
		goto out;
	rc = 0;
out:
	if (rc < 0)
		ep_scan_release(out);
	ep_buf_release(&want);
	free(a.ents);
	free(a.tails);
	free(a.raws);
	free(rd);
	free(rs);
	free(sbuf);
	return rc;
}

/*
 * A group part: {"dists":[[normalized,Name,Version],...],
 * "entries":[[dist,name,value],...]}. The strings stay in the decoded
 * buffer, which @out owns (its arena): one allocation for the text and one
 * for the entries, however large the group.
 */
static int
parse_group_part(char *buf, size_t len, const char *group, struct ep_scan *out)
{
	struct jp j = {buf, buf + len};
	struct ep_entry *ents = NULL;
	size_t base = out->n, n_ents = 0, cap_ents = 0, cap_d = 0;
	struct ep_dist *dists = NULL;
	size_t nd = 0;
	int64_t last = 0;
	char *key;
	bool more;
	int rc = -EBADMSG;

	/* The keys in either order, each once */
	if (!jp_lit(&j, '{'))
		goto out;
	for (int part = 0; part < 2; part++) {
		bool is_dists;

		if ((part > 0 && !jp_lit(&j, ',')) || !jp_str(&j, true, &key, NULL) ||
		    !jp_lit(&j, ':'))
			goto out;
		is_dists = strcmp(key, "dists") == 0;
		if ((!is_dists && strcmp(key, "entries") != 0) ||
		    (is_dists && dists) || (!is_dists && ents) ||
		    !jp_lit(&j, '['))
			goto out;
		if (!is_dists && !dists)
			goto out; /* entries index dists: they come first */
		if (is_dists && !(dists = calloc(1, sizeof(*dists)))) {
			rc = -ENOMEM;
			goto out;
		}
		if (!is_dists && !(ents = calloc(1, sizeof(*ents)))) {
			rc = -ENOMEM;
			goto out;
		}
		for (bool first = true;; first = false) {
			if (!jp_next(&j, first, &more))
				goto out;
			if (!more)
				break;
			if (is_dists) {
				struct ep_dist *d;
				char *norm, *name, *version;

				if (!jp_lit(&j, '[') ||
				    !jp_str(&j, false, &norm, NULL) ||
				    !jp_lit(&j, ',') ||
				    !jp_str_or_null(&j, true, &name) ||
				    !jp_lit(&j, ',') ||
				    !jp_str_or_null(&j, true, &version) ||
				    !jp_lit(&j, ']'))
					goto out;
				if (nd == cap_d) {
					size_t cap = cap_d ? cap_d * 2 : 16;
					struct ep_dist *v =
						realloc(dists, cap * sizeof(*v));

					if (!v) {
						rc = -ENOMEM;
						goto out;
					}
					dists = v;
					cap_d = cap;
				}
				d = &dists[nd++];
				memset(d, 0, sizeof(*d));
				d->normalized = norm;
				d->name = name;
				d->version = version;
			} else {
				int64_t idx;
				char *name, *value;

				if (!jp_lit(&j, '[') || !jp_int(&j, &idx) ||
				    !jp_lit(&j, ',') ||
				    !jp_str(&j, true, &name, NULL) ||
				    !jp_lit(&j, ',') ||
				    !jp_str(&j, true, &value, NULL) ||
				    !jp_lit(&j, ']'))
					goto out;
				/* Entries come in distribution order; anything
				 * else would reorder importlib's answer. */
				if (idx < last || idx < 0 || (uint64_t)idx >= nd)
					goto out;
				last = idx;
				if (n_ents == cap_ents) {
					size_t cap = cap_ents ? cap_ents * 2 : 32;
					struct ep_entry *v =
						realloc(ents, cap * sizeof(*v));

					if (!v) {
						rc = -ENOMEM;
						goto out;
					}
					ents = v;
					cap_ents = cap;
				}
				ents[n_ents++] = (struct ep_entry){
					(char *)group, name, value};
				/* the dist's slice: fixed below, once ents
				 * no longer moves */
				dists[idx].entries.n++;
			}
		}
	}
	if (!jp_lit(&j, '}') || !jp_done(&j))
		goto out;

	/* Hand over: dists append to @out; each one's entries are a slice of
	 * the one entries block. */
	rc = -ENOMEM;
	if (out->n + nd > out->cap) {
		size_t cap = out->n + nd;
		struct ep_dist *v = realloc(out->dists, cap * sizeof(*v));

		if (!v)
			goto out;
		out->dists = v;
		out->cap = cap;
	}
	for (size_t i = 0, k = 0; i < nd; i++) {
		dists[i].entries.v = ents + k;
		dists[i].entries.cap = dists[i].entries.n;
		k += dists[i].entries.n;
	}
	memcpy(out->dists + base, dists, nd * sizeof(*dists));
	out->n += nd;
	out->arena = buf;
	out->arena_entries = ents;
	ents = NULL;
	rc = 0;
out:
	free(dists);
	free(ents);
	return rc;
}

int
ep_cache_read_group(struct ep_cache_file *cf, const char *group,
		    struct ep_scan *out)
{
	struct find_data fd = {.group = group};
	size_t glen = strlen(group);
	char *buf;
	int rc;

	/* the arena holds one part: @out must be empty */
	if (out->arena || out->n)
		return -EINVAL;
	rc = walk_bucket(cf, ep_hash_str(group) & (EP_CACHE_BUCKETS - 1),
			 find_row, &fd);
	if (rc < 0 || !fd.found)
		return rc;
	if (fd.len == 0 || fd.len > SIZE_MAX - glen - 2)
		return -EBADMSG;
	/* the part, then a copy of the group the entries point to */
	buf = malloc(fd.len + glen + 2);
	if (!buf)
		return -ENOMEM;
	if ((rc = pread_all(cf->fd, buf, fd.len,
			    cf->hdr.data_start + fd.off)) < 0) {
		free(buf);
		return rc;
	}
	buf[fd.len] = '\0';
	memcpy(buf + fd.len + 1, group, glen + 1);
	rc = parse_group_part(buf, fd.len, buf + fd.len + 1, out);
	if (rc < 0)
		free(buf);
	return rc;
}

int
ep_cache_read_names(struct ep_cache_file *cf, char ***names, size_t *n)
{
	char *buf = NULL, **v = NULL;
	size_t len = 0, cap = 0;
	struct jp j;
	bool more;
	int rc;

	*names = NULL;
	*n = 0;
	rc = read_raw(cf, cf->hdr.names_off, cf->hdr.names_len, &buf);
	if (rc < 0)
		return rc;
	j = (struct jp){buf, buf + cf->hdr.names_len};
	rc = -EBADMSG;
	if (!jp_lit(&j, '['))
		goto out;
	for (bool first = true;; first = false) {
		char *s;

		if (!jp_next(&j, first, &more))
			goto out;
		if (!more)
			break;
		if (!jp_str(&j, false, &s, NULL))
			goto out;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		if (!(v[len] = strdup(s))) {
			rc = -ENOMEM;
			goto out;
		}
		len++;
		rc = -EBADMSG;
	}
	if (!jp_done(&j))
		goto out;
	rc = 0;
out:
	if (rc < 0) {
		for (size_t i = 0; i < len; i++)
			free(v[i]);
		free(v);
		v = NULL;
		len = 0;
	}
	free(buf);
	*names = v;
	*n = len;
	return rc;
}
