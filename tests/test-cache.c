/* SPDX-License-Identifier: MIT */
/*
 * The cache format: round trips, reproducibility, and a reader that
 * survives every corruption thrown at it (truncation at every offset, bit
 * flips at every byte, hostile headers) by reporting "corrupt".
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epcache-private.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define VERSION_STR STR(EP_CACHE_VERSION)
#define ARRAY_LENGTH(a) (sizeof(a) / sizeof((a)[0]))
#include "fixtures.h"

static char *site;

static void
setup(void)
{
	site = fx_tmpdir();
}

static void
teardown(void)
{
	fx_rmrf(site);
	free(site);
}

static void
make_site(void)
{
	fx_dist(site, "alpha-1.0.dist-info", "Alpha", "1.0",
		"[console_scripts]\nalpha = alpha.cli:main\n"
		"[zeta]\nz1 = alpha.z:one [extra]\n");
	fx_dist(site, "beta-2.0.dist-info", "beta", "2.0",
		"[console_scripts]\nbeta = beta:run\nbeta2 = beta:run2\n");
	fx_dist(site, "Alpha-9.dist-info", "Alpha", "9",
		"[console_scripts]\nshadowed = nope:x\n");
	fx_dist(site, "gamma-3.dist-info", NULL, NULL, NULL);
	fx_dist(site, "uni-1.dist-info", "Üñí", "1",
		"[gröup]\nnäme = mod:attr\n");
}

static void
scan_site(struct ep_scan *s, size_t stamps)
{
	int fd = open(site, O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ep_scan_dir(NULL, site, fd, stamps, s), 0);
	close(fd);
}

static void
serialize_site(struct ep_buf *out, enum epcache_mode mode)
{
	struct ep_dir_identity id;
	struct ep_scan s;
	int fd = open(site, O_RDONLY | O_DIRECTORY);

	ck_assert_int_eq(ep_dir_identity_get(fd, false, &id), 0);
	close(fd);
	scan_site(&s, ep_stamps_per_dist(mode));
	ck_assert_int_eq(ep_cache_serialize(&s, mode, &id, out), 0);
	ep_scan_release(&s);
}

/* The cache bytes in an unlinked temp file, ready for ep_cache_open. */
static int
memfd_with(const void *data, size_t len)
{
	char *p = fx_path(site, "cachefile");
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	unlink(p);
	free(p);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	return fd;
}

static bool
has_group(struct ep_cache_file *cf, const char *g)
{
	struct ep_strset set = {0};
	bool has;

	ck_assert_int_eq(ep_cache_list_groups(cf, &set), 0);
	has = ep_strset_has(&set, g);
	ep_strset_release(&set);
	return has;
}

START_TEST(test_round_trip)
{
	struct ep_cache_file cf;
	struct ep_buf b = {0};
	struct ep_scan part = {0};
	const char *reason;
	char **names;
	size_t n;

	make_site();
	serialize_site(&b, EPCACHE_MODE_MTIME);
	ck_assert_int_eq(ep_cache_open(memfd_with(b.data, b.len), NULL, &cf, &reason),
			 0);
	ck_assert_int_eq(cf.hdr.mode, EPCACHE_MODE_MTIME);
	ck_assert_uint_eq(cf.hdr.n_groups, 3);
	ck_assert(has_group(&cf, "console_scripts"));
	ck_assert(has_group(&cf, "gröup"));
	ck_assert(has_group(&cf, "zeta"));
	ck_assert(!has_group(&cf, "nope"));
	/* a group the cache does not have: nothing, no error */
	ck_assert_int_eq(ep_cache_read_group(&cf, "nope", &part), 0);
	ck_assert_uint_eq(part.n, 0);

	ck_assert_int_eq(ep_cache_read_group(&cf, "console_scripts", &part), 0);
	/* alpha and beta; the second Alpha is shadowed in the directory */
	ck_assert_uint_eq(part.n, 2);
	for (size_t i = 0; i < part.n; i++) {
		const struct ep_dist *d = &part.dists[i];

		if (strcmp(d->normalized, "alpha") == 0) {
			ck_assert_str_eq(d->name, "Alpha");
			ck_assert_str_eq(d->version, "1.0");
			ck_assert_uint_eq(d->entries.n, 1);
			ck_assert_str_eq(d->entries.v[0].value, "alpha.cli:main");
		} else {
			ck_assert_str_eq(d->normalized, "beta");
			ck_assert_uint_eq(d->entries.n, 2);
			ck_assert_str_eq(d->entries.v[0].name, "beta");
			ck_assert_str_eq(d->entries.v[1].name, "beta2");
			ck_assert_str_eq(d->entries.v[1].group, "console_scripts");
		}
	}
	ep_scan_release(&part);

	ck_assert_int_eq(ep_cache_read_names(&cf, &names, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(names[0], "alpha");
	ck_assert_str_eq(names[1], "beta");
	ck_assert_str_eq(names[2], "gamma");
	ck_assert_str_eq(names[3], "uni");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	ep_cache_close(&cf);
	ep_buf_release(&b);
}
END_TEST

START_TEST(test_plain_json_reader)
{
	struct ep_buf b = {0};
	struct json_object *o, *v, *data, *dists;
	struct json_tokener *tok = json_tokener_new();

	make_site();
	serialize_site(&b, EPCACHE_MODE_STRICT);
	o = json_tokener_parse_ex(tok, b.data, (int)b.len);
	ck_assert_ptr_nonnull(o);
	/* the whole file is the one value (plus the newline) */
	ck_assert_uint_ge(json_tokener_get_parse_end(tok), b.len - 1);
	ck_assert_int_eq(b.data[b.len - 1], '\n');
	ck_assert(json_object_object_get_ex(o, "header", &v));
	ck_assert(json_object_object_get_ex(o, "data", &data));
	ck_assert(json_object_object_get_ex(data, "distributions", &dists));
	ck_assert_uint_eq(json_object_array_length(dists), 5);
	ck_assert(json_object_object_get_ex(data, "stamps", &v));
	ck_assert_uint_eq(json_object_array_length(v), 5 * EP_N_STAMPS);
	json_object_put(o);
	json_tokener_free(tok);
	ep_buf_release(&b);
}
END_TEST

/* The writer copies plain ASCII a word at a time and the tail as the word
 * that ends a string; an escape or a non-ASCII character at every offset
 * of those words must come back as it was, from the records (json-c) and
 * from the group part. */
START_TEST(test_string_offsets)
{
	static const char *const special[] = {
		"\"", "\\", "\001", "\002", "\177", "\303\251", "\342\202\254",
		"\360\237\230\200",
	};
	static const size_t tails[] = {0, 1, 7, 8, 9};
	struct ep_buf eps = {0}, b = {0};
	char **want = NULL;
	size_t n = 0;
	struct json_object *o, *data, *dists, *ents;
	struct ep_cache_file cf;
	struct ep_scan part = {0};
	const char *reason;

	ck_assert_int_eq(ep_buf_append_str(&eps, "[g]\n"), 0);
	for (size_t k = 0; k <= 17; k++)
		for (size_t t = 0; t < ARRAY_LENGTH(tails); t++)
			for (size_t x = 0; x < ARRAY_LENGTH(special); x++) {
				struct ep_buf v = {0};

				for (size_t i = 0; i < k; i++)
					ep_buf_append(&v, "a", 1);
				ep_buf_append_str(&v, special[x]);
				for (size_t i = 0; i < tails[t]; i++)
					ep_buf_append(&v, "b", 1);
				ck_assert_int_eq(ep_buf_printf(&eps, "n%zu = %s\n",
							       n, v.data), 0);
				want = realloc(want, (n + 1) * sizeof(*want));
				want[n++] = ep_buf_steal(&v);
			}
	fx_dist(site, "esc-1.dist-info", "esc", "1", eps.data);
	serialize_site(&b, EPCACHE_MODE_MTIME);

	o = json_tokener_parse(b.data);
	ck_assert_ptr_nonnull(o);
	ck_assert(json_object_object_get_ex(o, "data", &data));
	ck_assert(json_object_object_get_ex(data, "distributions", &dists));
	ck_assert(json_object_object_get_ex(json_object_array_get_idx(dists, 0),
					    "entry_points", &ents));
	ck_assert_uint_eq(json_object_array_length(ents), n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(ents, i);

		ck_assert_str_eq(json_object_get_string(
					 json_object_array_get_idx(e, 2)),
				 want[i]);
	}
	json_object_put(o);

	ck_assert_int_eq(ep_cache_open(memfd_with(b.data, b.len), NULL, &cf,
				       &reason), 0);
	ck_assert_int_eq(ep_cache_read_group(&cf, "g", &part), 0);
	ck_assert_uint_eq(part.n, 1);
	ck_assert_uint_eq(part.dists[0].entries.n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(part.dists[0].entries.v[i].value, want[i]);
	ep_scan_release(&part);
	ep_cache_close(&cf);
	for (size_t i = 0; i < n; i++)
		free(want[i]);
	free(want);
	ep_buf_release(&eps);
	ep_buf_release(&b);
}
END_TEST

/* A directory name that is not UTF-8 still gives a UTF-8 file: the bytes
 * become \udcXX escapes (Python's surrogateescape). */
START_TEST(test_non_utf8_names)
{
	struct ep_buf b = {0};

	fx_dist(site, "\xc1x-1.dist-info", NULL, NULL, "[g]\nx = y\n");
	serialize_site(&b, EPCACHE_MODE_MTIME);
	ck_assert(ep_utf8_valid(b.data, b.len));
	ck_assert_ptr_nonnull(strstr(b.data, "\"\\udcc1x-1.dist-info\""));
	ck_assert_ptr_nonnull(strstr(b.data, "\"\\udcc1x\""));
	ep_buf_release(&b);
}
END_TEST

START_TEST(test_reproducible)
{
	struct ep_buf a = {0}, b = {0};

	make_site();
	serialize_site(&a, EPCACHE_MODE_STRICT);
	serialize_site(&b, EPCACHE_MODE_STRICT);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert(memcmp(a.data, b.data, a.len) == 0);
	ep_buf_release(&a);
	ep_buf_release(&b);
}
END_TEST

/* A stamps row's callback: go on to the next row while the file is not
 * there, as a strict-mode check of a site that has none of them would. */
static int
stamp_row_absent(const char *path, const struct ep_stamp *st, void *data)
{
	struct stat sb;

	(void)data;
	if (fstatat(AT_FDCWD, path, &sb, 0) == 0)
		return 1;
	return st->present ? 1 : 0;
}

/* Open, then read every part; must never crash, only fail cleanly. */
static int
read_everything(const char *data, size_t len)
{
	struct ep_cache_file cf;
	const char *reason;
	int rc, fd = memfd_with(data, len);

	rc = ep_cache_open(fd, NULL, &cf, &reason);
	if (rc < 0) {
		ck_assert_msg(rc == -EBADMSG || rc == -EPROTO || rc == -ESTALE,
			      "rc %d", rc);
		ck_assert_ptr_nonnull(reason);
		return rc;
	}
	{
		struct ep_strset set = {0};

		if (ep_cache_list_groups(&cf, &set) < 0)
			rc = -EBADMSG;
		for (size_t i = 0; i < set.cap; i++) {
			struct ep_scan part = {0};

			if (!set.slots[i])
				continue;
			if (ep_cache_read_group(&cf, set.slots[i], &part) < 0)
				rc = -EBADMSG;
			ep_scan_release(&part);
		}
		ep_strset_release(&set);
	}
	{
		char **names;
		size_t n;

		if (ep_cache_read_names(&cf, &names, &n) < 0)
			rc = -EBADMSG;
		else {
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
		}
	}
	if (cf.hdr.mode == EPCACHE_MODE_STRICT &&
	    ep_cache_read_stamps(&cf, stamp_row_absent, NULL) < 0)
		rc = -EBADMSG;
	{
		/* what an incremental rebuild reads */
		struct ep_scan prev;
		int r = ep_cache_read_dists(&cf, &prev);

		if (r < 0 && r != -ENODATA)
			rc = -EBADMSG;
		ep_scan_release(&prev);
	}
	ep_cache_close(&cf);
	return rc;
}

START_TEST(test_truncated_everywhere)
{
	struct ep_buf b = {0};
	size_t failed = 0;

	make_site();
	serialize_site(&b, EPCACHE_MODE_STRICT);
	ck_assert_int_eq(read_everything(b.data, b.len), 0);
	for (size_t len = 0; len + 1 < b.len; len++)
		failed += read_everything(b.data, len) < 0;
	/* even the cuts that leave every indexed part whole: the header
	 * records the data's length */
	ck_assert_uint_eq(failed, b.len - 1);
	printf("truncation: %zu of %zu cut points detected\n", failed,
	       b.len - 1);
	ep_buf_release(&b);
}
END_TEST

/* The header's own CRC-32: a changed header is refused; the same change
 * with the CRC made right again is read (what is checked is the CRC). */
START_TEST(test_header_crc)
{
	struct ep_buf b = {0};
	char *gen, *crc;
	char hex[16];

	make_site();
	serialize_site(&b, EPCACHE_MODE_MTIME);
	ck_assert_int_eq(read_everything(b.data, b.len), 0);
	gen = strstr(b.data, "\"generator\":\"");
	crc = strstr(b.data, ",\"crc\":\"");
	ck_assert(gen && crc);
	gen[strlen("\"generator\":\"")] ^= 0x20;
	ck_assert_int_eq(read_everything(b.data, b.len), -EBADMSG);
	snprintf(hex, sizeof(hex), "%08" PRIx32,
		 ep_crc32(b.data, (size_t)(crc - b.data)));
	memcpy(crc + strlen(",\"crc\":\""), hex, 8);
	ck_assert_int_eq(read_everything(b.data, b.len), 0);
	ep_buf_release(&b);
}
END_TEST

START_TEST(test_bit_flips_everywhere)
{
	struct ep_buf b = {0};
	size_t detected = 0, total = 0;
	char *copy;

	make_site();
	serialize_site(&b, EPCACHE_MODE_STRICT);
	copy = malloc(b.len);
	for (size_t i = 0; i < b.len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(copy, b.data, b.len);
			copy[i] ^= (char)(1 << bit);
			detected += read_everything(copy, b.len) < 0;
			total++;
		}
	}
	/* Many flips land in strings (a different but well-formed cache):
	 * the point is that none of them crashes the reader. */
	printf("bit flips: %zu of %zu made the cache unreadable, 0 crashes\n",
	       detected, total);
	ck_assert_uint_gt(detected, 0);
	free(copy);
	ep_buf_release(&b);
}
END_TEST

/* A header of the right shape; %s are: mode, dev, mtime, names range,
 * stamps range, buckets, separator. */
/* The directory's names checksum, and that it is no FAT */
#define NAMES_ID "\"names\":\"0123456789abcdef\",\"names_only\":false"

#define HDR_FMT                                                              \
	"{\"header\":{\"format\":\"epcache-entry-points\",\"version\":" VERSION_STR ","     \
	"\"generator\":\"x\",\"mode\":\"%s\",\"directory\":{\"dev\":\"%s\","   \
	"\"ino\":\"2\",\"mtime\":%s," NAMES_ID "},\"egg\":null,"             \
	"\"data_size\":DSIZE,"                                                 \
	"\"counts\":{},\"index\":{\"names\":%s,\"distributions\":[0,2," FX_CRC "]," \
	"\"stamps\":%s,\"groups\":{\"count\":1,\"buckets\":%s}},"             \
	"\"crc\":" FX_CRC "}%s"                                                \
	"[\"a\",\"b\"]}\n"

/* "[a,b]" ranges in @s get a CRC placeholder: "[a,b,"????????"]" */
static char *
with_crcs(char *s)
{
	struct ep_buf b = {0};

	for (const char *p = s; *p; p++) {
		ep_buf_append(&b, p, 1);
		if (*p == '[' && p[1] != '[' && p[1] != '"') {
			size_t n = strcspn(p + 1, "]");

			if (memchr(p + 1, ',', n) &&
			    strspn(p + 1, "0123456789,-") == n) {
				ep_buf_append(&b, p + 1, n);
				ep_buf_append_str(&b, "," FX_CRC);
				p += n;
			}
		}
	}
	free(s);
	return ep_buf_steal(&b);
}

static char *
buckets_with(size_t bk, const char *range, size_t n)
{
	struct ep_buf b = {0};

	ep_buf_append_str(&b, "[");
	for (size_t i = 0; i < n; i++)
		ep_buf_printf(&b, "%s%s", i ? "," : "",
			      i == bk && range ? range : "null");
	ep_buf_append_str(&b, "]");
	return with_crcs(ep_buf_steal(&b));
}

static int
try_header(const char *mode, const char *dev, const char *mtime,
	   const char *names, const char *strict, const char *buckets,
	   const char *sep)
{
	struct ep_buf f = {0};
	char *nr = with_crcs(strdup(names));
	int rc;

	ep_buf_printf(&f, HDR_FMT, mode, dev, mtime, nr, strict, buckets, sep);
	fx_seal_cache(&f);
	rc = read_everything(f.data, f.len);
	ep_buf_release(&f);
	free(nr);
	return rc;
}

START_TEST(test_hostile_headers)
{
	static const char *const raw[] = {
		"", "{", "{\"header\":", "{\"header\":null,\n\"data\":{}}\n",
		"{\"header\":[],\n\"data\":{}}\n",
		"{\"header\":{\"format\":\"nope\",\"version\":1},\n\"data\":{}}\n",
	};
	const char *sep = ",\n\"data\":";
	char *ok = buckets_with(0, NULL, 64);
	char *b63 = buckets_with(0, NULL, 63);
	char *far = buckets_with(3, "[0,999999999]", 64);
	char *huge = buckets_with(3, "[18446744073709551615,2]", 64);
	char *empty = buckets_with(3, "[0,0]", 64);
	char *notarr = buckets_with(3, "{}", 64);

	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		ck_assert_msg(read_everything(raw[i], strlen(raw[i])) == -EBADMSG,
			      "raw case %zu accepted", i);
	/* the template itself is fine */
	ck_assert_int_eq(try_header("mtime", "1", "[3,4]", "[0,9]", "null", ok,
				    sep),
			 0);
	ck_assert_int_eq(try_header("mtime", "1", "[3,4]", "[-1,2]", "null", ok,
				    sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1", "[3,4]", "[0,99]", "null", ok,
				    sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1", "[3,4]", "[0,9]", "null", b63,
				    sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1", "[3,4]", "[0,9]", "null", far,
				    sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1", "[3,4]", "[0,9]", "null",
				    huge, sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1", "[3,4]", "[0,9]", "null",
				    empty, sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1", "[3,4]", "[0,9]", "null",
				    notarr, sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1", "[3,1000000000]", "[0,9]",
				    "null", ok, sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1", "[3]", "[0,9]", "null", ok,
				    sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("strict", "1", "[3,4]", "[0,9]", "null", ok,
				    sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "-1", "[3,4]", "[0,9]", "null", ok,
				    sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1x", "[3,4]", "[0,9]", "null", ok,
				    sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("sloppy", "1", "[3,4]", "[0,9]", "null", ok,
				    sep),
			 -EBADMSG);
	ck_assert_int_eq(try_header("mtime", "1", "[3,4]", "[0,9]", "null", ok,
				    ",\"data\":"),
			 -EBADMSG);
	free(ok);
	free(b63);
	free(far);
	free(huge);
	free(empty);
	free(notarr);
}
END_TEST

START_TEST(test_unknown_version)
{
	char v[256];

	/* 1: no stamps outside strict mode; 2: four in every mode; 3: no
	 * CRCs, a directory identity that did not travel. Older ones are
	 * told apart (a rebuild is due), newer or nonsense ones are not. */
	for (int i = -1; i <= 6; i++) {
		snprintf(v, sizeof(v),
			 "{\"header\":{\"format\":\"epcache-entry-points\","
			 "\"version\":%d},\n\"data\":{}}\n", i);
		ck_assert_int_eq(read_everything(v, strlen(v)),
				 i >= 1 && i < EP_CACHE_VERSION ? -ESTALE
				 : i == EP_CACHE_VERSION	 ? -EBADMSG
								 : -EPROTO);
	}
}
END_TEST

START_TEST(test_deep_nesting)
{
	struct ep_buf b = {0};

	ep_buf_append_str(&b, "{\"header\":");
	for (int i = 0; i < 100000; i++)
		ep_buf_append_str(&b, "[");
	ck_assert_int_eq(read_everything(b.data, b.len), -EBADMSG);
	ep_buf_release(&b);
}
END_TEST

/* Replace every OFF and LEN in @tmpl. */
static void
fill(struct ep_buf *out, const char *tmpl, size_t off, size_t len)
{
	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "OFF", 3) == 0) {
			ep_buf_printf(out, "%zu", off);
			p += 3;
		} else if (strncmp(p, "LEN", 3) == 0) {
			ep_buf_printf(out, "%zu", len);
			p += 3;
		} else {
			ep_buf_append(out, p++, 1);
		}
	}
}

/* A cache whose one group "g" has the part @part, found through the
 * bucket part @bucket (OFF and LEN stand for the part's range; NULL for
 * the correct bucket). */
static int
open_with_group(const char *part, const char *bucket, struct ep_cache_file *cf)
{
	struct ep_buf f = {0}, data = {0}, bpart = {0};
	const char *reason;
	size_t bk = ep_hash_str("g") & (EP_CACHE_BUCKETS - 1);
	size_t plen = strlen(part);
	char range[64], *buckets;
	int rc;

	/* data: [PART,BUCKET] */
	fill(&bpart, bucket ? bucket : "[[\"g\",OFF,LEN,1," FX_CRC "]]", 1, plen);
	ep_buf_printf(&data, "[%s,%s]", part, bpart.data);
	snprintf(range, sizeof(range), "[%zu,%zu]", plen + 2, bpart.len);
	buckets = buckets_with(bk, range, 64);
	ep_buf_printf(&f,
		      "{\"header\":{\"format\":\"epcache-entry-points\","
		      "\"version\":" VERSION_STR ",\"generator\":\"x\",\"mode\":\"mtime\","
		      "\"data_size\":DSIZE,"
		      "\"directory\":{\"dev\":\"1\",\"ino\":\"2\",\"mtime\":[3,4],"
		      NAMES_ID "},\"egg\":null,\"index\":{\"names\":"
		      "[1,%zu," FX_CRC "],\"distributions\":[1,%zu," FX_CRC "],"
		      "\"stamps\":null,"
		      "\"groups\":{\"count\":1,\"buckets\":%s}},\"crc\":" FX_CRC
		      "},\n\"data\":%s}\n",
		      plen, plen, buckets, data.data);
	fx_seal_cache(&f);
	rc = ep_cache_open(memfd_with(f.data, f.len), NULL, cf, &reason);
	free(buckets);
	ep_buf_release(&f);
	ep_buf_release(&data);
	ep_buf_release(&bpart);
	return rc;
}

/* A group part whose bytes are not those its row's CRC-32 was taken of:
 * a lookup refuses it (a listing reads the index alone). */
START_TEST(test_group_crc_mismatch)
{
	const char *good = "{\"dists\":[[\"a\",\"A\",\"1\"]],"
			   "\"entries\":[[0,\"n\",\"v\"]]}";
	struct ep_cache_file cf;
	struct ep_scan part = {0};

	ck_assert_int_eq(open_with_group(good, NULL, &cf), 0);
	ck_assert_int_eq(ep_cache_read_group(&cf, "g", &part), 0);
	ck_assert_uint_eq(part.n, 1);
	ep_scan_release(&part);
	ep_cache_close(&cf);
	ck_assert_int_eq(open_with_group(good, "[[\"g\",OFF,LEN,1,\"00000000\"]]",
					 &cf),
			 0);
	ck_assert_int_eq(ep_cache_read_group(&cf, "g", &part), -EBADMSG);
	ep_scan_release(&part);
	ep_cache_close(&cf);
}
END_TEST

/* A group part with valid JSON but entries out of distribution order, an
 * index past its dists, or wrong types: read_group must refuse it. */
START_TEST(test_hostile_group_parts)
{
	static const char *const parts[] = {
		"{\"dists\":[[\"a\",null,null]],\"entries\":[[1,\"n\",\"v\"]]}",
		("{\"dists\":[[\"a\",null,null],[\"b\",null,null]],"
		 "\"entries\":[[1,\"n\",\"v\"],[0,\"n\",\"v\"]]}"),
		"{\"dists\":[[null,null,null]],\"entries\":[[0,\"n\",\"v\"]]}",
		"{\"dists\":[[\"a\",1,null]],\"entries\":[[0,\"n\",\"v\"]]}",
		"{\"dists\":[[\"a\",null]],\"entries\":[]}",
		"{\"dists\":[],\"entries\":[[0,\"n\",\"v\"]]}",
		"{\"dists\":[[\"a\",null,null]],\"entries\":[[0,\"n\",2]]}",
		"{\"dists\":[[\"a\",null,null]],\"entries\":[[-1,\"n\",\"v\"]]}",
		"[]",
		"{\"dists\":{},\"entries\":[]}",
		"{\"dists\":[],\"entries\":[]}x",
	};
	const char *good = "{\"dists\":[[\"a\",\"A\",\"1\"]],"
			   "\"entries\":[[0,\"n\",\"v\"]]}";
	struct ep_cache_file cf;
	struct ep_scan part = {0};

	/* the construction itself is right */
	ck_assert_int_eq(open_with_group(good, NULL, &cf), 0);
	ck_assert_int_eq(ep_cache_read_group(&cf, "g", &part), 0);
	ck_assert_uint_eq(part.n, 1);
	ck_assert_str_eq(part.dists[0].entries.v[0].value, "v");
	ep_scan_release(&part);
	ep_cache_close(&cf);

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		ck_assert_int_eq(open_with_group(parts[i], NULL, &cf), 0);
		ck_assert_msg(ep_cache_read_group(&cf, "g", &part) < 0,
			      "part %zu accepted", i);
		ck_assert_uint_eq(part.n, 0);
		ep_scan_release(&part);
		ep_cache_close(&cf);
	}
}
END_TEST

/* \udcXX escapes give back raw bytes in normalized names; an escaped
 * backslash followed by "udcc1" stays text; entry strings must be UTF-8. */
START_TEST(test_surrogate_escapes)
{
	const char *part = "{\"dists\":[[\"\\udcc1x\",null,null]],"
			   "\"entries\":[[0,\"n\\\\udcc1\",\"v\"]]}";
	const char *bad = "{\"dists\":[[\"x\",null,null]],"
			  "\"entries\":[[0,\"\\udcc1\",\"v\"]]}";
	struct ep_cache_file cf;
	struct ep_scan part_out = {0};

	ck_assert_int_eq(open_with_group(part, NULL, &cf), 0);
	ck_assert_int_eq(ep_cache_read_group(&cf, "g", &part_out), 0);
	ck_assert_uint_eq(part_out.n, 1);
	ck_assert_str_eq(part_out.dists[0].normalized, "\xc1x");
	ck_assert_str_eq(part_out.dists[0].entries.v[0].name, "n\\udcc1");
	ep_scan_release(&part_out);
	ep_cache_close(&cf);

	ck_assert_int_eq(open_with_group(bad, NULL, &cf), 0);
	ck_assert_int_lt(ep_cache_read_group(&cf, "g", &part_out), 0);
	ep_scan_release(&part_out);
	ep_cache_close(&cf);
}
END_TEST

START_TEST(test_hostile_group_index)
{
	static const char *const buckets[] = {
		/* a name that does not hash to this bucket */
		"[[\"not-g\",OFF,LEN,1," FX_CRC "]]",
		/* unsorted */
		"[[\"g\",OFF,LEN,1," FX_CRC "],[\"g\",1,1,1," FX_CRC "]]",
		/* out of range, short rows, wrong types */
		"[[\"g\",OFF,99999LEN,1," FX_CRC "]]",
		"[[\"g\",OFF,LEN," FX_CRC "]]",
		"[[\"g\",\"OFF\",LEN,1," FX_CRC "]]",
		"[[1,OFF,LEN,1," FX_CRC "]]",
		"{\"g\":[OFF,LEN,1," FX_CRC "]}",
		"[[\"g\",OFF,LEN,-1," FX_CRC "]]",
		/* no CRC, or not one */
		"[[\"g\",OFF,LEN,1]]",
		"[[\"g\",OFF,LEN,1,\"0000000\"]]",
		"[[\"g\",OFF,LEN,1,\"0000000G\"]]",
		"[[\"g\",OFF,LEN,1,305419896]]",
	};
	const char *good = "{\"dists\":[[\"a\",\"A\",\"1\"]],"
			   "\"entries\":[[0,\"n\",\"v\"]]}";

	for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++) {
		struct ep_cache_file cf;
		struct ep_scan part = {0};
		struct ep_strset set = {0};

		ck_assert_int_eq(open_with_group(good, buckets[i], &cf), 0);
		/* a lookup may stop at the first match (cases 0 and 1), a
		 * listing checks every row */
		ck_assert_msg(ep_cache_read_group(&cf, "g", &part) < 0 || i <= 1,
			      "bucket %zu accepted", i);
		ck_assert_msg(ep_cache_list_groups(&cf, &set) < 0,
			      "bucket %zu listed", i);
		ep_strset_release(&set);
		ep_scan_release(&part);
		ep_cache_close(&cf);
	}
}
END_TEST

START_TEST(test_strict_relpaths_checked)
{
	static const char *const rows[] = {
		"[[\"/etc/passwd\",null]]",
		"[[\"../x\",null]]",
		"[[\"a//b\",null]]",
		"[[\"a/../../b\",null]]",
		"[[\"a\",\"1\",2,3]]",
		"[[\"a\",\"x\",2,3,4]]",
		/* version 1's row, without the ctime */
		"[[\"a\",\"1\",2,3,4]]",
		"[[\"a\",\"1\",2,3,1000000000,5,6]]",
		"[[\"a\",\"1\",2,3,4,5,-1]]",
		"[[\"a\",\"1\",2,3.5,4,5,6]]",
		"[[\"a\",\"1\",2,3,4,5,6,7]]",
		/* a first row that matches (absent), then bad syntax */
		"[[\"zz-absent\",null]",
		"[[\"zz-absent\",null]]x",
		"[[\"zz-absent\",null],]",
		"[[\"a\\u0000b\",null]]",
	};

	char *nulls = buckets_with(0, NULL, 64);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ep_buf f = {0};
		struct ep_cache_file cf;
		const char *reason;
		size_t len = strlen(rows[i]);

		ep_buf_printf(&f,
			      "{\"header\":{\"format\":\"epcache-entry-points\","
			      "\"version\":" VERSION_STR ",\"generator\":\"x\",\"mode\":"
			      "\"strict\",\"data_size\":DSIZE,\"directory\":{\"dev\":"
			      "\"1\",\"ino\":\"2\",\"mtime\":[3,4]," NAMES_ID "},"
			      "\"egg\":null,\"index\":{\"names\":[0,%zu," FX_CRC "],"
			      "\"distributions\":[0,%zu," FX_CRC "],\"stamps\":[0,%zu,"
			      FX_CRC "],\"groups\":{\"count\":0,\"buckets\":%s}},"
			      "\"crc\":" FX_CRC "},\n\"data\":%s}\n",
			      len, len, len, nulls, rows[i]);
		fx_seal_cache(&f);
		ck_assert_int_eq(
			ep_cache_open(memfd_with(f.data, f.len), NULL, &cf, &reason), 0);
		ck_assert_msg(ep_cache_read_stamps(&cf, stamp_row_absent, NULL) < 0,
			      "row %zu accepted", i);
		ep_cache_close(&cf);
		ep_buf_release(&f);
	}
	free(nulls);
}
END_TEST

/* The records an incremental rebuild takes over: anything off is refused,
 * so that the rebuild scans instead. data: [DISTS,STAMPS] */
static int
read_dists_of(const char *mode, const char *dists, const char *stamps,
	      struct ep_scan *out)
{
	struct ep_buf f = {0};
	struct ep_cache_file cf;
	const char *reason;
	char *nulls = buckets_with(0, NULL, 64);
	size_t dl = strlen(dists), sl = strlen(stamps);
	int rc;

	ep_buf_printf(&f,
		      "{\"header\":{\"format\":\"epcache-entry-points\","
		      "\"version\":" VERSION_STR ",\"generator\":\"x\",\"mode\":\"%s\","
		      "\"data_size\":DSIZE,"
		      "\"directory\":{\"dev\":\"1\",\"ino\":\"2\",\"mtime\":[3,4],"
		      NAMES_ID "},\"egg\":null,\"index\":{\"names\":"
		      "[1,%zu," FX_CRC "],\"distributions\":[1,%zu," FX_CRC "],"
		      "\"stamps\":[%zu,%zu," FX_CRC "],"
		      "\"groups\":{\"count\":0,\"buckets\":%s}},\"crc\":" FX_CRC
		      "},\n\"data\":[%s,%s]}\n",
		      mode, dl, dl, dl + 2, sl, nulls, dists, stamps);
	fx_seal_cache(&f);
	ck_assert_int_eq(ep_cache_open(memfd_with(f.data, f.len), NULL, &cf,
				       &reason), 0);
	rc = ep_cache_read_dists(&cf, out);
	ep_cache_close(&cf);
	ep_buf_release(&f);
	free(nulls);
	return rc;
}

#define D_OK "{\"path\":\"a-1.dist-info\",\"normalized\":\"a\",\"name\":\"A\"," \
	"\"version\":\"1\",\"egg\":false,\"shadowed\":false,\"warnings\":0," \
	"\"entry_points\":[[\"g\",\"n\",\"v\"]]}"
#define S_OK "[[\"a-1.dist-info\",\"5\",1,2,3,4,5]," \
	"[\"a-1.dist-info/entry_points.txt\",null]," \
	"[\"a-1.dist-info/METADATA\",\"6\",1,2,3,4,5]," \
	"[\"a-1.dist-info/PKG-INFO\",null]]"

START_TEST(test_hostile_dists)
{
	static const char *const dists[] = {
		/* a path that is not one child name */
		"[{\"path\":\"a/b\",\"normalized\":\"a\",\"name\":null,"
		"\"version\":null,\"egg\":false,\"shadowed\":false,\"warnings\":0,"
		"\"entry_points\":[]}]",
		"[{\"path\":\"..\",\"normalized\":\"a\",\"name\":null,"
		"\"version\":null,\"egg\":false,\"shadowed\":false,\"warnings\":0,"
		"\"entry_points\":[]}]",
		/* a key missing, twice, unknown, a wrong type */
		"[{\"path\":\"a-1.dist-info\",\"normalized\":\"a\",\"name\":null,"
		"\"version\":null,\"egg\":false,\"shadowed\":false,"
		"\"entry_points\":[]}]",
		"[{\"path\":\"a-1.dist-info\",\"path\":\"a-1.dist-info\","
		"\"normalized\":\"a\",\"name\":null,\"version\":null,\"egg\":false,"
		"\"shadowed\":false,\"warnings\":0,\"entry_points\":[]}]",
		"[{\"path\":\"a-1.dist-info\",\"normalized\":\"a\",\"name\":null,"
		"\"version\":null,\"egg\":false,\"shadowed\":false,\"warnings\":0,"
		"\"entry_points\":[],\"x\":1}]",
		"[{\"path\":\"a-1.dist-info\",\"normalized\":\"a\",\"name\":null,"
		"\"version\":null,\"egg\":0,\"shadowed\":false,\"warnings\":0,"
		"\"entry_points\":[]}]",
		"[{\"path\":\"a-1.dist-info\",\"normalized\":\"a\",\"name\":null,"
		"\"version\":null,\"egg\":false,\"shadowed\":false,\"warnings\":-1,"
		"\"entry_points\":[]}]",
		/* entry strings must be UTF-8; rows of three */
		"[{\"path\":\"a-1.dist-info\",\"normalized\":\"a\",\"name\":null,"
		"\"version\":null,\"egg\":false,\"shadowed\":false,\"warnings\":0,"
		"\"entry_points\":[[\"g\",\"\\udcc1\",\"v\"]]}]",
		"[{\"path\":\"a-1.dist-info\",\"normalized\":\"a\",\"name\":null,"
		"\"version\":null,\"egg\":false,\"shadowed\":false,\"warnings\":0,"
		"\"entry_points\":[[\"g\",\"n\"]]}]",
		/* a lone high surrogate, a NUL */
		"[{\"path\":\"a-1.dist-info\",\"normalized\":\"\\ud800\","
		"\"name\":null,\"version\":null,\"egg\":false,\"shadowed\":false,"
		"\"warnings\":0,\"entry_points\":[]}]",
		"[{\"path\":\"a-1.dist-info\",\"normalized\":\"a\\u0000\","
		"\"name\":null,\"version\":null,\"egg\":false,\"shadowed\":false,"
		"\"warnings\":0,\"entry_points\":[]}]",
		"[" D_OK "," D_OK,
		"[" D_OK "]]",
		"{}",
	};
	static const char *const stamps[] = {
		/* too few, too many rows; another dist's path; v1 rows */
		"[[\"a-1.dist-info\",null]]",
		"[" "[\"a-1.dist-info\",null],[\"a-1.dist-info/entry_points.txt\",null],"
		"[\"a-1.dist-info/METADATA\",null],[\"a-1.dist-info/PKG-INFO\",null],"
		"[\"a-1.dist-info\",null]]",
		"[[\"b-1.dist-info\",null],[\"a-1.dist-info/entry_points.txt\",null],"
		"[\"a-1.dist-info/METADATA\",null],[\"a-1.dist-info/PKG-INFO\",null]]",
		"[[\"a-1.dist-info\",\"5\",1,2,3],"
		"[\"a-1.dist-info/entry_points.txt\",null],"
		"[\"a-1.dist-info/METADATA\",null],[\"a-1.dist-info/PKG-INFO\",null]]",
		"[[\"a-1.dist-info\",null],[\"a-1.dist-info/PKG-INFO\",null],"
		"[\"a-1.dist-info/METADATA\",null],"
		"[\"a-1.dist-info/entry_points.txt\",null]]",
	};
	struct ep_scan s;

	/* the construction itself is right */
	ck_assert_int_eq(read_dists_of("strict", "[" D_OK "]", S_OK, &s), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.dists[0].path, "a-1.dist-info");
	ck_assert_str_eq(s.dists[0].name, "A");
	ck_assert_uint_eq(s.dists[0].entries.n, 1);
	ck_assert_str_eq(s.dists[0].entries.v[0].value, "v");
	ck_assert(s.dists[0].st[2].present);
	ck_assert_uint_eq(s.dists[0].st[2].ino, 6);
	ck_assert_int_eq(s.dists[0].st[2].cnsec, 5);
	ck_assert(!s.dists[0].st[3].present);
	ep_scan_release(&s);

	/* the other modes record the distribution alone: one row, no more */
	ck_assert_int_eq(read_dists_of("mtime", "[" D_OK "]",
				       "[[\"a-1.dist-info\",\"5\",1,2,3,4,5]]", &s),
			 0);
	ck_assert(s.dists[0].st[0].present);
	ck_assert_uint_eq(s.dists[0].st[0].ino, 5);
	ck_assert(!s.dists[0].st[1].present);
	ep_scan_release(&s);
	ck_assert_int_eq(read_dists_of("trust", "[" D_OK "]", S_OK, &s),
			 -EBADMSG);
	ep_scan_release(&s);
	ck_assert_int_eq(read_dists_of("mtime", "[" D_OK "]", "[]", &s),
			 -EBADMSG);
	ep_scan_release(&s);

	for (size_t i = 0; i < sizeof(dists) / sizeof(dists[0]); i++) {
		ck_assert_msg(read_dists_of("strict", dists[i], S_OK, &s) == -EBADMSG,
			      "dists %zu accepted", i);
		ck_assert_uint_eq(s.n, 0);
		ep_scan_release(&s);
	}
	for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
		ck_assert_msg(read_dists_of("strict", "[" D_OK "]", stamps[i], &s) ==
				      -EBADMSG,
			      "stamps %zu accepted", i);
		ep_scan_release(&s);
	}
}
END_TEST

START_TEST(test_claimed_huge_size)
{
	struct ep_cache_file cf;
	const char *reason;
	char *p = fx_path(site, "big");
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);

	/* A sparse 2 GiB file: refused before anything is read */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{\"header\":", 10), 10);
	ck_assert_int_eq(ftruncate(fd, 2LL * 1024 * 1024 * 1024), 0);
	ck_assert_int_eq(ep_cache_open(fd, NULL, &cf, &reason), -EBADMSG);
	ck_assert_str_eq(reason, "cache file too large");
	unlink(p);
	free(p);
}
END_TEST

static Suite *
cache_suite(void)
{
	Suite *s = suite_create("cache-format");
	TCase *tc = tcase_create("format");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_plain_json_reader);
	tcase_add_test(tc, test_non_utf8_names);
	tcase_add_test(tc, test_string_offsets);
	tcase_add_test(tc, test_reproducible);
	tcase_add_test(tc, test_truncated_everywhere);
	tcase_add_test(tc, test_header_crc);
	tcase_add_test(tc, test_bit_flips_everywhere);
	tcase_add_test(tc, test_hostile_headers);
	tcase_add_test(tc, test_unknown_version);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_hostile_group_parts);
	tcase_add_test(tc, test_hostile_group_index);
	tcase_add_test(tc, test_group_crc_mismatch);
	tcase_add_test(tc, test_surrogate_escapes);
	tcase_add_test(tc, test_strict_relpaths_checked);
	tcase_add_test(tc, test_hostile_dists);
	tcase_add_test(tc, test_claimed_huge_size);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cache_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
