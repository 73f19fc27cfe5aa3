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

static const int ser_flags = JSON_C_TO_STRING_PLAIN |
			     JSON_C_TO_STRING_NOSLASHESCAPE;

/* ------------------------------------------------------------ writing */

/*
 * Directory names need not be UTF-8, and json-c copies string bytes as
 * they are. The file must stay UTF-8 JSON, so each byte of an invalid
 * sequence is written as the escape "\udcXX": Python's surrogateescape,
 * which gives a Python reader exactly what os.listdir() gives. (JSON
 * syntax is ASCII, so invalid bytes can only be inside strings.)
 */
static int
append_utf8_safe(struct ep_buf *b, const char *s, size_t len)
{
	size_t i = 0, start = 0;
	int rc;

	while (i < len) {
		uint32_t cp;
		size_t n = (unsigned char)s[i] < 0x80
				   ? 1
				   : ep_utf8_decode(s + i, len - i, &cp);

		if (n > 0) {
			i += n;
			continue;
		}
		if ((rc = ep_buf_append(b, s + start, i - start)) < 0 ||
		    (rc = ep_buf_printf(b, "\\udc%02x",
					(unsigned char)s[i])) < 0)
			return rc;
		start = ++i;
	}
	return ep_buf_append(b, s + start, len - start);
}

static int
append_json(struct ep_buf *b, struct json_object *o)
{
	size_t len;
	const char *s;

	if (!o)
		return ep_buf_append_str(b, "null");
	s = json_object_to_json_string_length(o, ser_flags, &len);
	if (!s)
		return -ENOMEM;
	return append_utf8_safe(b, s, len);
}

static struct json_object *
jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static int
append_jstr(struct ep_buf *b, const char *s)
{
	struct json_object *o = jstr(s);
	int rc;

	if (s && !o)
		return -ENOMEM;
	rc = append_json(b, o);
	json_object_put(o);
	return rc;
}

static struct json_object *
jpair(int64_t a, int64_t b)
{
	struct json_object *arr = json_object_new_array_ext(2);

	if (!arr)
		return NULL;
	json_object_array_add(arr, json_object_new_int64(a));
	json_object_array_add(arr, json_object_new_int64(b));
	return arr;
}

static struct json_object *
jrange(size_t off, size_t len)
{
	return jpair((int64_t)off, (int64_t)len);
}

struct ref {
	const char *group;
	size_t dist;
	size_t entry;
	size_t seq;
};

static int
cmp_ref(const void *a, const void *b)
{
	const struct ref *ra = a, *rb = b;
	int c = strcmp(ra->group, rb->group);

	if (c)
		return c;
	return ra->seq < rb->seq ? -1 : ra->seq > rb->seq;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* {"dists":[[normalized,Name,Version],...],"entries":[[d,name,value],...]}
 * for the refs [from, to), which all share one group. */
static int
append_group(struct ep_buf *b, const struct ep_scan *scan,
	     const struct ref *refs, size_t from, size_t to)
{
	struct json_object *dists = json_object_new_array();
	struct json_object *entries = json_object_new_array();
	size_t last = SIZE_MAX;
	int64_t di = -1;
	int rc = -ENOMEM;

	if (!dists || !entries)
		goto out;
	for (size_t i = from; i < to; i++) {
		const struct ep_dist *d = &scan->dists[refs[i].dist];
		const struct ep_entry *e = &d->entries.v[refs[i].entry];
		struct json_object *row;

		if (refs[i].dist != last) {
			row = json_object_new_array_ext(3);
			if (!row)
				goto out;
			json_object_array_add(row, jstr(d->normalized));
			json_object_array_add(row, jstr(d->name));
			json_object_array_add(row, jstr(d->version));
			json_object_array_add(dists, row);
			last = refs[i].dist;
			di++;
		}
		row = json_object_new_array_ext(3);
		if (!row)
			goto out;
		json_object_array_add(row, json_object_new_int64(di));
		json_object_array_add(row, jstr(e->name));
		json_object_array_add(row, jstr(e->value));
		json_object_array_add(entries, row);
	}
	if ((rc = ep_buf_append_str(b, "{\"dists\":")) < 0 ||
	    (rc = append_json(b, dists)) < 0 ||
	    (rc = ep_buf_append_str(b, ",\"entries\":")) < 0 ||
	    (rc = append_json(b, entries)) < 0 ||
	    (rc = ep_buf_append_str(b, "}")) < 0)
		goto out;
out:
	json_object_put(dists);
	json_object_put(entries);
	return rc;
}

static struct json_object *
dists_json(const struct ep_scan *scan)
{
	struct json_object *arr = json_object_new_array_ext((int)scan->n);

	if (!arr)
		return NULL;
	for (size_t i = 0; i < scan->n; i++) {
		const struct ep_dist *d = &scan->dists[i];
		struct json_object *o = json_object_new_object();
		struct json_object *eps = json_object_new_array();

		if (!o || !eps) {
			json_object_put(o);
			json_object_put(eps);
			json_object_put(arr);
			return NULL;
		}
		json_object_object_add(o, "path", jstr(d->path));
		json_object_object_add(o, "normalized", jstr(d->normalized));
		json_object_object_add(o, "name", jstr(d->name));
		json_object_object_add(o, "version", jstr(d->version));
		json_object_object_add(o, "egg", json_object_new_boolean(d->egg));
		json_object_object_add(o, "shadowed",
				       json_object_new_boolean(d->shadowed));
		for (size_t j = 0; j < d->entries.n; j++) {
			const struct ep_entry *e = &d->entries.v[j];
			struct json_object *row = json_object_new_array_ext(3);

			json_object_array_add(row, jstr(e->group));
			json_object_array_add(row, jstr(e->name));
			json_object_array_add(row, jstr(e->value));
			json_object_array_add(eps, row);
		}
		json_object_object_add(o, "entry_points", eps);
		json_object_array_add(arr, o);
	}
	return arr;
}

static struct json_object *
strict_json(const struct ep_scan *scan)
{
	struct json_object *arr = json_object_new_array();
	struct ep_buf rel = {0};

	if (!arr)
		return NULL;
	for (size_t i = 0; i < scan->n; i++) {
		const struct ep_dist *d = &scan->dists[i];

		for (size_t k = 0; k < EP_N_STAMPS; k++) {
			const struct ep_stamp *st = &d->st[k];
			struct json_object *row = json_object_new_array_ext(5);
			char ino[32];

			if (!row ||
			    ep_buf_set_path(&rel, d->path, ep_stamp_names[k]) < 0) {
				json_object_put(row);
				json_object_put(arr);
				ep_buf_release(&rel);
				return NULL;
			}
			json_object_array_add(row, jstr(rel.data));
			if (st->present) {
				snprintf(ino, sizeof(ino), "%" PRIu64, st->ino);
				json_object_array_add(row, jstr(ino));
				json_object_array_add(
					row, json_object_new_int64(st->size));
				json_object_array_add(
					row, json_object_new_int64(st->sec));
				json_object_array_add(
					row, json_object_new_int64(st->nsec));
			} else {
				json_object_array_add(row, NULL);
			}
			json_object_array_add(arr, row);
		}
	}
	ep_buf_release(&rel);
	return arr;
}

static int
collect_refs(const struct ep_scan *scan, struct ref **out, size_t *nout)
{
	size_t n = 0, k = 0;
	struct ref *refs;

	for (size_t i = 0; i < scan->n; i++)
		if (!scan->dists[i].shadowed)
			n += scan->dists[i].entries.n;
	refs = calloc(n ? n : 1, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < scan->n; i++) {
		const struct ep_dist *d = &scan->dists[i];

		/* A dist shadowed inside its own directory contributes no
		 * entry points (importlib's _unique keeps the first). */
		if (d->shadowed)
			continue;
		for (size_t j = 0; j < d->entries.n; j++) {
			refs[k] = (struct ref){d->entries.v[j].group, i, j, k};
			k++;
		}
	}
	if (n)
		qsort(refs, n, sizeof(*refs), cmp_ref);
	*out = refs;
	*nout = n;
	return 0;
}

static struct json_object *
names_json(const struct ep_scan *scan)
{
	struct json_object *arr = json_object_new_array();
	const char **v = calloc(scan->n ? scan->n : 1, sizeof(*v));
	size_t n = 0;

	if (!arr || !v) {
		json_object_put(arr);
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < scan->n; i++)
		if (!scan->dists[i].shadowed)
			v[n++] = scan->dists[i].normalized;
	if (n)
		qsort(v, n, sizeof(*v), cmp_strp);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, jstr(v[i]));
	free(v);
	return arr;
}

int
ep_cache_serialize(const struct ep_scan *scan, enum epcache_mode mode,
		   const struct ep_dir_identity *id, struct ep_buf *out)
{
	struct json_object *hdr = NULL, *index = NULL, *groups_idx = NULL;
	struct json_object *dir = NULL, *part = NULL, *counts = NULL;
	struct ep_buf data = {0};
	struct ref *refs = NULL;
	struct json_object *buckets[EP_CACHE_BUCKETS] = {0};
	size_t nrefs = 0, off, n_eps = 0, n_groups = 0;
	char num[32];
	int rc;

	if ((rc = collect_refs(scan, &refs, &nrefs)) < 0)
		goto out;
	rc = -ENOMEM;
	index = json_object_new_object();
	groups_idx = json_object_new_object();
	if (!index || !groups_idx)
		goto out;

	if ((rc = ep_buf_append_str(&data, "{\"groups\":{")) < 0)
		goto out;
	for (size_t i = 0; i < nrefs;) {
		size_t j = i;
		struct json_object *r;

		while (j < nrefs && strcmp(refs[j].group, refs[i].group) == 0)
			j++;
		if (i > 0 && (rc = ep_buf_append_str(&data, ",")) < 0)
			goto out;
		if ((rc = append_jstr(&data, refs[i].group)) < 0 ||
		    (rc = ep_buf_append_str(&data, ":")) < 0)
			goto out;
		off = data.len;
		if ((rc = append_group(&data, scan, refs, i, j)) < 0)
			goto out;
		{
			size_t bk = ep_hash_str(refs[i].group) &
				    (EP_CACHE_BUCKETS - 1);

			if (!buckets[bk] &&
			    !(buckets[bk] = json_object_new_array())) {
				rc = -ENOMEM;
				goto out;
			}
			r = json_object_new_array_ext(4);
			if (!r) {
				rc = -ENOMEM;
				goto out;
			}
			/* groups come sorted, so every bucket is sorted too */
			json_object_array_add(r, jstr(refs[i].group));
			json_object_array_add(r, json_object_new_int64((int64_t)off));
			json_object_array_add(
				r, json_object_new_int64((int64_t)(data.len - off)));
			json_object_array_add(r, json_object_new_int64((int64_t)(j - i)));
			json_object_array_add(buckets[bk], r);
		}
		n_eps += j - i;
		n_groups++;
		i = j;
	}
	if ((rc = ep_buf_append_str(&data, "},\"group_index\":[")) < 0)
		goto out;
	{
		struct json_object *ranges = json_object_new_array_ext(EP_CACHE_BUCKETS);

		if (!ranges) {
			rc = -ENOMEM;
			goto out;
		}
		json_object_object_add(groups_idx, "count",
				       json_object_new_int64((int64_t)n_groups));
		json_object_object_add(groups_idx, "buckets", ranges);
		for (size_t bk = 0; bk < EP_CACHE_BUCKETS; bk++) {
			if (bk > 0 && (rc = ep_buf_append_str(&data, ",")) < 0)
				goto out;
			off = data.len;
			if ((rc = append_json(&data, buckets[bk])) < 0)
				goto out;
			json_object_array_add(ranges, buckets[bk]
						      ? jrange(off, data.len - off)
						      : NULL);
		}
	}
	rc = -ENOMEM;
	if (ep_buf_append_str(&data, "],\"names\":") < 0)
		goto out;
	off = data.len;
	if (!(part = names_json(scan)) || append_json(&data, part) < 0)
		goto out;
	json_object_put(part);
	json_object_object_add(index, "names", jrange(off, data.len - off));

	if (ep_buf_append_str(&data, ",\"distributions\":") < 0)
		goto out;
	off = data.len;
	if (!(part = dists_json(scan)) || append_json(&data, part) < 0)
		goto out;
	json_object_put(part);
	json_object_object_add(index, "distributions",
			       jrange(off, data.len - off));

	if (ep_buf_append_str(&data, ",\"strict\":") < 0)
		goto out;
	off = data.len;
	if (mode == EPCACHE_MODE_STRICT) {
		if (!(part = strict_json(scan)) || append_json(&data, part) < 0)
			goto out;
		json_object_put(part);
		json_object_object_add(index, "strict",
				       jrange(off, data.len - off));
	} else {
		if (ep_buf_append_str(&data, "null") < 0)
			goto out;
		json_object_object_add(index, "strict", NULL);
	}
	part = NULL;
	if (ep_buf_append_str(&data, "}") < 0)
		goto out;
	json_object_object_add(index, "groups", groups_idx);
	groups_idx = NULL;

	hdr = json_object_new_object();
	dir = json_object_new_object();
	counts = json_object_new_object();
	if (!hdr || !dir || !counts)
		goto out;
	json_object_object_add(hdr, "format", jstr(EP_CACHE_FORMAT));
	json_object_object_add(hdr, "version",
			       json_object_new_int(EP_CACHE_VERSION));
	json_object_object_add(hdr, "generator",
			       jstr("epcache " EPCACHE_VERSION_STRING));
	json_object_object_add(hdr, "mode", jstr(epcache_mode_to_str(mode)));
	snprintf(num, sizeof(num), "%" PRIu64, id->dev);
	json_object_object_add(dir, "dev", jstr(num));
	snprintf(num, sizeof(num), "%" PRIu64, id->ino);
	json_object_object_add(dir, "ino", jstr(num));
	json_object_object_add(dir, "mtime", jpair(id->sec, id->nsec));
	if (id->checksum_used) {
		snprintf(num, sizeof(num), "%016" PRIx64, id->checksum);
		json_object_object_add(dir, "names_checksum", jstr(num));
	} else {
		json_object_object_add(dir, "names_checksum", NULL);
	}
	json_object_object_add(hdr, "directory", dir);
	dir = NULL;
	json_object_object_add(hdr, "egg", jstr(scan->egg_name));
	json_object_object_add(counts, "distributions",
			       json_object_new_int64((int64_t)scan->n));
	json_object_object_add(counts, "entry_points",
			       json_object_new_int64((int64_t)n_eps));
	json_object_object_add(hdr, "counts", counts);
	counts = NULL;
	json_object_object_add(hdr, "index", index);
	index = NULL;

	out->len = 0;
	if ((rc = ep_buf_append_str(out, PREFIX)) < 0 ||
	    (rc = append_json(out, hdr)) < 0 ||
	    (rc = ep_buf_append_str(out, DATA_SEP)) < 0 ||
	    (rc = ep_buf_append(out, data.data, data.len)) < 0 ||
	    (rc = ep_buf_append_str(out, "}\n")) < 0)
		goto out;
	rc = 0;
out:
	json_object_put(part);
	json_object_put(hdr);
	json_object_put(dir);
	json_object_put(counts);
	json_object_put(index);
	json_object_put(groups_idx);
	for (size_t bk = 0; bk < EP_CACHE_BUCKETS; bk++)
		json_object_put(buckets[bk]);
	ep_buf_release(&data);
	free(refs);
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
	if (!json_object_object_get_ex(index, "strict", &v))
		return -EBADMSG;
	if (v) {
		if (!get_range(v, avail, 2, &hdr->strict_off, &hdr->strict_len,
			       NULL))
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

/* Strings the reader hands out (entry points, Name, Version) were valid
 * UTF-8 when written; only normalized names may carry raw bytes. */
static int
dup_nullable(struct json_object *v, char **out)
{
	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    !ep_utf8_valid(json_object_get_string(v),
			   (size_t)json_object_get_string_len(v)))
		return -EBADMSG;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -ENOMEM;
}

static bool
is_utf8_string(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) &&
	       ep_utf8_valid(json_object_get_string(v),
			     (size_t)json_object_get_string_len(v));
}

/* A normalized name: any bytes but NUL (non-UTF-8 directory names) */
static int
dup_name(struct json_object *v, char **out)
{
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : -ENOMEM;
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

int
ep_cache_read_group(struct ep_cache_file *cf, const char *group,
		    struct ep_scan *out)
{
	struct find_data fd = {.group = group};
	struct json_object *o = NULL, *dists, *entries;
	size_t base = out->n, nd, ne;
	int64_t last = 0;
	int rc;

	rc = walk_bucket(cf, ep_hash_str(group) & (EP_CACHE_BUCKETS - 1),
			 find_row, &fd);
	if (rc < 0 || !fd.found)
		return rc;
	rc = read_part(cf, fd.off, fd.len, &o);
	if (rc < 0)
		return rc;
	rc = -EBADMSG;
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "dists", &dists) ||
	    !json_object_object_get_ex(o, "entries", &entries) ||
	    !json_object_is_type(dists, json_type_array) ||
	    !json_object_is_type(entries, json_type_array))
		goto out;
	nd = json_object_array_length(dists);
	ne = json_object_array_length(entries);
	for (size_t i = 0; i < nd; i++) {
		struct json_object *row = json_object_array_get_idx(dists, i);
		struct ep_dist *d;

		if (!json_object_is_type(row, json_type_array) ||
		    json_object_array_length(row) != 3)
			goto out;
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 16;
			struct ep_dist *v = realloc(out->dists, cap * sizeof(*v));

			if (!v) {
				rc = -ENOMEM;
				goto out;
			}
			out->dists = v;
			out->cap = cap;
		}
		d = &out->dists[out->n++];
		memset(d, 0, sizeof(*d));
		if ((rc = dup_name(json_object_array_get_idx(row, 0),
				   &d->normalized)) < 0 ||
		    (rc = dup_nullable(json_object_array_get_idx(row, 1),
				       &d->name)) < 0 ||
		    (rc = dup_nullable(json_object_array_get_idx(row, 2),
				       &d->version)) < 0)
			goto out;
		rc = -EBADMSG;
	}
	for (size_t i = 0; i < ne; i++) {
		struct json_object *row = json_object_array_get_idx(entries, i);
		struct json_object *di, *name, *value;
		int64_t idx;

		if (!json_object_is_type(row, json_type_array) ||
		    json_object_array_length(row) != 3)
			goto out;
		di = json_object_array_get_idx(row, 0);
		name = json_object_array_get_idx(row, 1);
		value = json_object_array_get_idx(row, 2);
		if (!json_object_is_type(di, json_type_int) ||
		    !is_utf8_string(name) || !is_utf8_string(value))
			goto out;
		idx = json_object_get_int64(di);
		/* Entries come in distribution order; anything else would
		 * reorder importlib's answer. */
		if (idx < last || idx < 0 || (uint64_t)idx >= nd)
			goto out;
		last = idx;
		rc = ep_entry_list_add(&out->dists[base + (size_t)idx].entries,
				       group, json_object_get_string(name),
				       json_object_get_string(value));
		if (rc < 0)
			goto out;
		rc = -EBADMSG;
	}
	rc = 0;
out:
	if (rc < 0) {
		for (size_t i = base; i < out->n; i++) {
			struct ep_dist *d = &out->dists[i];

			free(d->normalized);
			free(d->name);
			free(d->version);
			ep_entry_list_release(&d->entries);
		}
		out->n = base;
	}
	json_object_put(o);
	return rc;
}

int
ep_cache_read_names(struct ep_cache_file *cf, char ***names, size_t *n)
{
	struct json_object *o = NULL;
	char **v = NULL;
	size_t len = 0;
	int rc;

	*names = NULL;
	*n = 0;
	rc = read_part(cf, cf->hdr.names_off, cf->hdr.names_len, &o);
	if (rc < 0)
		return rc;
	rc = -EBADMSG;
	if (!json_object_is_type(o, json_type_array))
		goto out;
	len = json_object_array_length(o);
	v = calloc(len ? len : 1, sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		if ((rc = dup_name(json_object_array_get_idx(o, i), &v[i])) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0 && v) {
		for (size_t i = 0; i < len; i++)
			free(v[i]);
		free(v);
		v = NULL;
		len = 0;
	}
	*names = v;
	*n = len;
	json_object_put(o);
	return rc;
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

int
ep_cache_check_stamps(struct ep_cache_file *cf, int sitefd)
{
	struct json_object *o = NULL;
	size_t n;
	int rc;

	rc = read_part(cf, cf->hdr.strict_off, cf->hdr.strict_len, &o);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -EBADMSG;
	rc = -EBADMSG;
	if (!json_object_is_type(o, json_type_array))
		goto out;
	n = json_object_array_length(o);
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(o, i);
		struct ep_stamp want = {0}, have;
		struct json_object *p;
		size_t len;

		if (!json_object_is_type(row, json_type_array))
			goto out;
		len = json_object_array_length(row);
		p = json_object_array_get_idx(row, 0);
		if (!json_object_is_type(p, json_type_string) ||
		    !safe_relpath(json_object_get_string(p)))
			goto out;
		if (len == 5) {
			struct json_object *ino = json_object_array_get_idx(row, 1);

			want.present = true;
			if (!json_object_is_type(ino, json_type_string) ||
			    !parse_u64(json_object_get_string(ino), 10, &want.ino))
				goto out;
			for (size_t k = 2; k < 5; k++)
				if (!json_object_is_type(
					    json_object_array_get_idx(row, k),
					    json_type_int))
					goto out;
			want.size = json_object_get_int64(
				json_object_array_get_idx(row, 2));
			want.sec = json_object_get_int64(
				json_object_array_get_idx(row, 3));
			want.nsec = json_object_get_int64(
				json_object_array_get_idx(row, 4));
		} else if (len != 2 || json_object_array_get_idx(row, 1)) {
			goto out;
		}
		if ((rc = ep_stamp_get(sitefd, json_object_get_string(p),
				       &have)) < 0)
			goto out;
		rc = -EBADMSG;
		if (!ep_stamp_equal(&want, &have)) {
			rc = 1;
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}
