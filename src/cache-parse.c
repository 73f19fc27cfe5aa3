/* SPDX-License-Identifier: MIT */
/*
 * Reading the cache file (cache-format.md) without trusting a byte of it:
 * its header, and each part a lookup or a rebuild needs, checked against
 * its CRC-32 and parsed.
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

#include "cache-json.h"
#include "epcache-private.h"

#define HEADER_MAX (16 * 1024 * 1024)
#define HEADER_CHUNK 16384
/* Deepest legitimate nesting is 4 (header.index.groups.G); a group part
 * is 3 deep. Anything deeper is hostile. */
#define JSON_DEPTH 8
/* what ends the header: EP_CACHE_CRC_KEY, the CRC, "}" */
#define HEADER_CRC_TAIL (sizeof(EP_CACHE_CRC_KEY) - 1 + EP_CACHE_CRC_LEN + 1)

/* A fuzzer cannot forge CRC-32s: its build (tests/fuzz) checks only the
 * structure behind them, like every libFuzzer target with checksums. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define crc_matches(have, want) ((void)(have), (void)(want), true)
#else
#define crc_matches(have, want) ((have) == (want))
#endif

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

static bool
get_crc(struct json_object *o, uint32_t *crc)
{
	const char *h;
	uint32_t v = 0;

	if (!json_object_is_type(o, json_type_string) ||
	    json_object_get_string_len(o) != 8)
		return false;
	h = json_object_get_string(o);
	for (size_t i = 0; i < 8; i++) {
		int d = (h[i] >= '0' && h[i] <= '9')   ? h[i] - '0'
			: (h[i] >= 'a' && h[i] <= 'f') ? h[i] - 'a' + 10
						       : -1;

		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*crc = v;
	return true;
}

/* Elements [first, first + 2) of array @o are [off, len] within @avail;
 * with @count, element first + 2 is a count (>= 0); the last element is
 * the range's CRC-32. The array has exactly these elements. */
static bool
get_range_at(struct json_object *o, size_t first, size_t avail,
	     size_t *off, size_t *len, int64_t *count, uint32_t *crc)
{
	size_t n_int = count ? 3 : 2;
	int64_t a, b;

	if (!json_object_is_type(o, json_type_array) ||
	    json_object_array_length(o) != first + n_int + 1)
		return false;
	for (size_t i = first; i < first + n_int; i++)
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
	if (count) {
		*count = json_object_get_int64(
			json_object_array_get_idx(o, first + 2));
		if (*count < 0)
			return false;
	}
	return get_crc(json_object_array_get_idx(o, first + n_int), crc);
}

static bool
get_range(struct json_object *o, size_t avail, size_t *off, size_t *len,
	  uint32_t *crc)
{
	return get_range_at(o, 0, avail, off, len, NULL, crc);
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
	if (json_object_get_int64(v) >= 1 &&
	    json_object_get_int64(v) < EP_CACHE_VERSION) {
		*reason = "cache written in an older format version";
		return -ESTALE;
	}
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
	if (!json_object_object_get_ex(h, "data_size", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 ||
	    (uint64_t)json_object_get_int64(v) != avail) {
		*reason = "cache file has another length than recorded";
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
	s = member_str(dir, "names", false, &ok);
	if (!ok || strlen(s) != 16 || !parse_u64(s, 16, &u))
		return -EBADMSG;
	hdr->id.has_names = true;
	hdr->id.names_sum = u;
	s = member_str(dir, "order", false, &ok);
	if (!ok || strlen(s) != 16 || !parse_u64(s, 16, &u))
		return -EBADMSG;
	hdr->id.order_sum = u;
	if (!json_object_object_get_ex(dir, "names_only", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return -EBADMSG;
	hdr->id.names_only = json_object_get_boolean(v);

	*reason = "bad cache index";
	if (!json_object_object_get_ex(h, "index", &index) ||
	    !json_object_is_type(index, json_type_object))
		return -EBADMSG;
	if (!json_object_object_get_ex(index, "names", &v) ||
	    !get_range(v, avail, &hdr->names_off, &hdr->names_len,
		       &hdr->names_crc))
		return -EBADMSG;
	if (!json_object_object_get_ex(index, "distributions", &v) ||
	    !get_range(v, avail, &hdr->dists_off, &hdr->dists_len,
		       &hdr->dists_crc))
		return -EBADMSG;
	/* Written in every mode since version 2; needed in strict mode. */
	if (!json_object_object_get_ex(index, "stamps", &v))
		return -EBADMSG;
	if (v) {
		if (!get_range(v, avail, &hdr->stamps_off, &hdr->stamps_len,
			       &hdr->stamps_crc) ||
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

		if (r && !get_range(r, avail, &hdr->bucket_off[n],
				    &hdr->bucket_len[n], &hdr->bucket_crc[n]))
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

/*
 * The header's own CRC-32: the header object ends with EP_CACHE_CRC_KEY and
 * the CRC of every byte of the file before that key. @hb holds the file
 * from its start to the end of the header object.
 */
static bool
header_crc_ok(struct json_object *h, const char *hb, size_t end)
{
	struct json_object *v;
	uint32_t want;
	size_t key = sizeof(EP_CACHE_CRC_KEY) - 1;

	if (end < strlen(EP_CACHE_PREFIX) + HEADER_CRC_TAIL ||
	    !json_object_object_get_ex(h, "crc", &v) || !get_crc(v, &want))
		return false;
	/* the member must be the header's last, written as the writer does */
	if (memcmp(hb + end - HEADER_CRC_TAIL, EP_CACHE_CRC_KEY, key) != 0 ||
	    hb[end - HEADER_CRC_TAIL + key] != '"' || hb[end - 1] != '}')
		return false;
	return crc_matches(ep_crc32(hb, end - HEADER_CRC_TAIL), want);
}

int
ep_cache_open(int fd, const struct stat *st_in, struct ep_cache_file *cf,
	      const char **reason)
{
	struct json_tokener *tok = NULL;
	struct json_object *h = NULL;
	struct ep_buf hb = {0};
	size_t pos, end = 0, prefix = strlen(EP_CACHE_PREFIX), sep = strlen(EP_CACHE_DATA_SEP);
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
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok) {
		rc = -ENOMEM;
		goto out;
	}
	/* the header's bytes are kept: its CRC covers them */
	for (pos = 0; !h;) {
		size_t n = cf->size - pos, at = hb.len;
		enum json_tokener_error err;

		if (n == 0 || pos >= HEADER_MAX)
			goto out;
		if (n > HEADER_CHUNK)
			n = HEADER_CHUNK;
		if (ep_buf_extend(&hb, n) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		if ((rc = pread_all(fd, hb.data + at, n, pos)) < 0)
			goto out;
		rc = -EBADMSG;
		if (pos == 0) {
			if (n < prefix || memcmp(hb.data, EP_CACHE_PREFIX, prefix) != 0) {
				*reason = "not an entry point cache";
				goto out;
			}
			h = json_tokener_parse_ex(tok, hb.data + prefix,
						  (int)(n - prefix));
		} else {
			h = json_tokener_parse_ex(tok, hb.data + at, (int)n);
		}
		err = json_tokener_get_error(tok);
		if (!h && err != json_tokener_continue) {
			*reason = "bad cache header";
			goto out;
		}
		if (h)
			end = (pos ? at : prefix) +
			      json_tokener_get_parse_end(tok);
		pos += n;
	}
	if (end + sep > cf->size)
		goto out;
	if (end + sep > hb.len) {
		size_t at = hb.len;

		if (ep_buf_extend(&hb, end + sep - at) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		if ((rc = pread_all(fd, hb.data + at, end + sep - at, at)) < 0)
			goto out;
		rc = -EBADMSG;
	}
	if (memcmp(hb.data + end, EP_CACHE_DATA_SEP, sep) != 0) {
		*reason = "bad cache layout";
		goto out;
	}
	cf->hdr.data_start = end + sep;
	rc = parse_header(h, cf->size - cf->hdr.data_start, &cf->hdr, reason);
	/* an older version is told by its version alone: no CRC then */
	if (rc == 0 && !header_crc_ok(h, hb.data, end)) {
		*reason = "cache header does not match its checksum";
		rc = -EBADMSG;
	}
out:
	json_object_put(h);
	if (tok) /* json-c 0.16 crashes on NULL */
		json_tokener_free(tok);
	ep_buf_release(&hb);
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

/*
 * Read the part [off, off + len) of the data into @buf and check it
 * against the CRC-32 its index gives: a flipped bit or a part cut short
 * makes the cache corrupt instead of another answer.
 */
static int
pread_part(struct ep_cache_file *cf, char *buf, size_t off, size_t len,
	   uint32_t crc)
{
	int rc;

	if ((rc = pread_all(cf->fd, buf, len, cf->hdr.data_start + off)) < 0)
		return rc;
	if (!crc_matches(ep_crc32(buf, len), crc))
		return -EBADMSG;
	return 0;
}

/* Read and parse the part [off, off + len) of the data. */
static int
read_part(struct ep_cache_file *cf, size_t off, size_t len, uint32_t crc,
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
	if ((rc = pread_part(cf, buf, off, len, crc)) < 0)
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
	    int (*fn)(const char *name, size_t off, size_t len, uint32_t crc,
		      void *data),
	    void *data)
{
	size_t avail = cf->size - cf->hdr.data_start;
	struct json_object *o = NULL;
	const char *prev = NULL;
	size_t n;
	int rc;

	if (cf->hdr.bucket_len[bk] == 0)
		return 0;
	rc = read_part(cf, cf->hdr.bucket_off[bk], cf->hdr.bucket_len[bk],
		       cf->hdr.bucket_crc[bk], &o);
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
		uint32_t crc;

		if (!get_range_at(row, 1, avail, &off, &len, &count, &crc))
			goto out;
		name = json_object_array_get_idx(row, 0);
		if (!json_object_is_type(name, json_type_string))
			goto out;
		if ((prev && strcmp(prev, json_object_get_string(name)) >= 0) ||
		    (ep_hash_str(json_object_get_string(name)) &
		     (EP_CACHE_BUCKETS - 1)) != bk)
			goto out;
		prev = json_object_get_string(name);
		rc = fn(prev, off, len, crc, data);
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
	uint32_t crc;
};

static int
find_row(const char *name, size_t off, size_t len, uint32_t crc, void *data)
{
	struct find_data *fd = data;

	if (strcmp(name, fd->group) != 0)
		return 0;
	fd->found = true;
	fd->off = off;
	fd->len = len;
	fd->crc = crc;
	return 1;
}

static int
list_row(const char *name, size_t off, size_t len, uint32_t crc, void *data)
{
	(void)off;
	(void)len;
	(void)crc;
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
read_raw(struct ep_cache_file *cf, size_t off, size_t len, uint32_t crc,
	 char **out)
{
	char *buf;
	int rc;

	*out = NULL;
	if (len == 0)
		return -EBADMSG;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	if ((rc = pread_part(cf, buf, off, len, crc)) < 0) {
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
ep_cache_read_stamps(struct ep_cache_file *cf,
		     int (*fn)(const char *path, const struct ep_stamp *st,
			       void *data),
		     void *data)
{
	struct jp j;
	char *buf = NULL;
	bool more;
	int rc;

	if (cf->hdr.stamps_len == 0)
		return -EBADMSG;
	rc = read_raw(cf, cf->hdr.stamps_off, cf->hdr.stamps_len,
		      cf->hdr.stamps_crc, &buf);
	if (rc < 0)
		return rc == -ENOMEM ? rc : -EBADMSG;
	j = (struct jp){buf, buf + cf->hdr.stamps_len};
	rc = -EBADMSG;
	if (!jp_lit(&j, '['))
		goto out;
	for (bool first = true;; first = false) {
		struct ep_stamp st;
		char *path;

		if (!jp_next(&j, first, &more))
			goto out;
		if (!more)
			break;
		if (!jp_stamp_row(&j, &path, &st))
			goto out;
		if ((rc = fn(path, &st, data)) != 0)
			goto out;
		rc = -EBADMSG;
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
			   cf->hdr.dists_crc, &dbuf)) < 0)
		goto out;
	/* every string of the records stays in the decoded buffer */
	out->arena = dbuf;
	if ((rc = read_raw(cf, cf->hdr.stamps_off, cf->hdr.stamps_len,
			   cf->hdr.stamps_crc, &sbuf)) < 0)
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
	if ((rc = pread_part(cf, buf, fd.off, fd.len, fd.crc)) < 0) {
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
	rc = read_raw(cf, cf->hdr.names_off, cf->hdr.names_len,
		      cf->hdr.names_crc, &buf);
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
