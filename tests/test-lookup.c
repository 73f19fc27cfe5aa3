/* SPDX-License-Identifier: MIT */
/*
 * Lookups through the public API: order, first-distribution-wins across
 * path entries, selections, per-path status, fallbacks, and that cached
 * and uncached answers are the same.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epcache.h"
#include "epcache-private.h"
#include "fixtures.h"

static char *root, *a, *b;
static struct epcache *ctx;
static int n_warnings;

static void
count_warnings(struct epcache *c, enum epcache_log_priority p, void *ud,
	       const char *fmt, va_list args)
{
	(void)c;
	(void)ud;
	(void)fmt;
	(void)args;
	if (p == EPCACHE_LOG_WARNING)
		n_warnings++;
}

static void
setup(void)
{
	root = fx_tmpdir();
	a = fx_path(root, "a");
	b = fx_path(root, "b");
	fx_mkdir(root, "a");
	fx_mkdir(root, "b");
	ctx = epcache_new();
	n_warnings = 0;
	epcache_set_log_handler(ctx, count_warnings, NULL);
	setenv("PKGSYSTEM_ENABLE_FSYNC", "0", 1);
}

static void
teardown(void)
{
	fx_rmrf(root);
	free(root);
	free(a);
	free(b);
	epcache_free(ctx);
}

/* "group name=value (dist version)|..." for easy comparison; @unsorted:
 * epcache_lookup_select_unsorted() (@group unused) */
static char *
answer_of(const char *const *paths, size_t n, unsigned flags, bool unsorted,
	  const char *group, const char *name)
{
	struct epcache_lookup *lk;
	struct epcache_selection *sel;
	struct ep_buf out = {0};

	ck_assert_int_eq(epcache_lookup_new(ctx, paths, n, flags, &lk), 0);
	if (unsorted)
		ck_assert_int_eq(
			epcache_lookup_select_unsorted(lk, name, &sel), 0);
	else
		ck_assert_int_eq(
			epcache_lookup_select(lk, group, name, &sel), 0);
	for (size_t i = 0; i < epcache_selection_get_count(sel); i++) {
		const struct epcache_entry *e = epcache_selection_get_entry(sel, i);
		const char *dn = epcache_entry_get_dist_name(e);
		const char *dv = epcache_entry_get_dist_version(e);

		ep_buf_printf(&out, "%s %s=%s (%s %s)|",
			      epcache_entry_get_group(e),
			      epcache_entry_get_name(e),
			      epcache_entry_get_value(e), dn ? dn : "-",
			      dv ? dv : "-");
	}
	ck_assert_ptr_null(epcache_selection_get_entry(sel, 99999));
	epcache_selection_free(sel);
	epcache_lookup_free(lk);
	return ep_buf_steal(&out);
}

static char *
answer(const char *const *paths, size_t n, unsigned flags, const char *group,
       const char *name)
{
	return answer_of(paths, n, flags, false, group, name);
}

static enum epcache_status
status(const char *path)
{
	struct epcache_lookup *lk;
	enum epcache_status st;

	ck_assert_int_eq(epcache_lookup_new(ctx, &path, 1, 0, &lk), 0);
	st = epcache_lookup_get_path_status(lk, 0);
	epcache_lookup_free(lk);
	return st;
}

static void
rebuild(const char *dir)
{
	ck_assert_int_eq(epcache_rebuild(ctx, dir, EPCACHE_MODE_MTIME, 0, NULL),
			 0);
}

/* Same answer cached, uncached and (for a stale cache) live. */
static void
assert_answer(const char *const *paths, size_t n, const char *group,
	      const char *name, const char *want)
{
	char *live = answer(paths, n, EPCACHE_LOOKUP_NO_CACHE, group, name);
	char *any = answer(paths, n, 0, group, name);

	ck_assert_str_eq(live, want);
	ck_assert_str_eq(any, want);
	free(live);
	free(any);
}

static void
populate(void)
{
	fx_dist(a, "foo-1.0.dist-info", "Foo", "1.0",
		"[console_scripts]\nfoo = foo:main\n[g]\nx = foo.x\n");
	/* (one dist per group and directory where the order within a
	 * directory would depend on readdir order) */
	fx_dist(a, "only_a-1.dist-info", "only-a", "1", "[o]\noa = oa:main\n");
	/* shadowed by a's foo: contributes nothing, in any group */
	fx_dist(b, "FOO-2.0.dist-info", "FOO", "2.0",
		"[console_scripts]\nfoo2 = foo2:main\n[h]\nnever = n\n");
	fx_dist(b, "bar-3.dist-info", "bar", "3",
		"[console_scripts]\nbar = bar:main\n[g]\ny = bar.y [e1, e2]\n");
	/* no entry points, but still shadows b's baz */
	fx_dist(a, "baz-1.dist-info", "baz", "1", NULL);
	fx_dist(b, "baz-2.dist-info", "baz", "2", "[g]\nz = baz\n");
}

static const char *g_want =
	"g x=foo.x (Foo 1.0)|g y=bar.y [e1, e2] (bar 3)|";

START_TEST(test_first_dist_wins_across_path)
{
	const char *paths[] = {a, b};
	char *got;

	populate();
	assert_answer(paths, 2, "g", NULL, g_want);
	rebuild(a);
	assert_answer(paths, 2, "g", NULL, g_want);
	rebuild(b);
	assert_answer(paths, 2, "g", NULL, g_want);
	ck_assert_int_eq(status(a), EPCACHE_STATUS_FRESH);
	/* h only exists in a shadowed dist */
	assert_answer(paths, 2, "h", NULL, "");
	/* reversed path: b's FOO wins now */
	{
		const char *rev[] = {b, a};

		got = answer(rev, 2, 0, "h", NULL);
		ck_assert_str_eq(got, "h never=n (FOO 2.0)|");
		free(got);
		got = answer(rev, 2, 0, "console_scripts", "foo");
		ck_assert_str_eq(got, "");
		free(got);
		got = answer(rev, 2, 0, "o", NULL);
		ck_assert_str_eq(got, "o oa=oa:main (only-a 1)|");
		free(got);
	}
}
END_TEST

START_TEST(test_all_groups_sorted)
{
	const char *paths[] = {a, b};
	char *live, *cached;

	populate();
	fx_dist(b, "uni-1.dist-info", "uni", "1", "[Zed]\nq = q\n[é]\nr = r\n");
	live = answer(paths, 2, EPCACHE_LOOKUP_NO_CACHE, NULL, NULL);
	rebuild(a);
	rebuild(b);
	cached = answer(paths, 2, 0, NULL, NULL);
	ck_assert_str_eq(live, cached);
	/* code point order: 'Z' < 'c' < 'g' < 'o' < 'é' */
	ck_assert_str_eq(live, "Zed q=q (uni 1)|"
			       "console_scripts foo=foo:main (Foo 1.0)|"
			       "console_scripts bar=bar:main (bar 3)|"
			       "g x=foo.x (Foo 1.0)|g y=bar.y [e1, e2] (bar 3)|"
			       "o oa=oa:main (only-a 1)|"
			       "é r=r (uni 1)|");
	free(live);
	free(cached);
}
END_TEST

/* Python 3.12's order: distributions in path order, each one's entries in
 * file order, groups interleaved; from the cache's records as from a scan. */
START_TEST(test_all_groups_unsorted)
{
	const char *paths[] = {a, b};
	const char *want =
		"g x=foo.x (Foo 1.0)|c foo=foo:main (Foo 1.0)|"
		"g x2=foo.x2 (Foo 1.0)|b bar=bar (bar 3)|a bb=bar.b (bar 3)|";
	char *live, *cached, *named;

	fx_dist(a, "foo-1.0.dist-info", "Foo", "1.0",
		"[g]\nx = foo.x\n[c]\nfoo = foo:main\n[g]\nx2 = foo.x2\n");
	/* shadowed by a's foo: nothing, wherever readdir puts it */
	fx_dist(b, "FOO-2.0.dist-info", "FOO", "2.0", "[a]\nnever = n\n");
	fx_dist(b, "bar-3.dist-info", "bar", "3",
		"[b]\nbar = bar\n[a]\nbb = bar.b\n");
	live = answer_of(paths, 2, EPCACHE_LOOKUP_NO_CACHE, true, NULL, NULL);
	ck_assert_str_eq(live, want);
	rebuild(a);
	rebuild(b);
	ck_assert_int_eq(status(a), EPCACHE_STATUS_FRESH);
	n_warnings = 0;
	cached = answer_of(paths, 2, 0, true, NULL, NULL);
	ck_assert_str_eq(cached, want);
	ck_assert_int_eq(n_warnings, 0);
	named = answer_of(paths, 2, 0, true, NULL, "bb");
	ck_assert_str_eq(named, "a bb=bar.b (bar 3)|");
	ck_assert_int_eq(status(b), EPCACHE_STATUS_FRESH);
	free(live);
	free(cached);
	free(named);
}
END_TEST

/* Two distributions of one name in one directory: the one importlib
 * finds first counts (which one is readdir's to say), the other not at
 * all, cached or not. */
START_TEST(test_unsorted_shadowed_in_directory)
{
	const char *paths[] = {a};
	char *live, *cached;

	fx_dist(a, "dup-1.dist-info", "dup", "1",
		"[g]\nx = one\n[h]\ny = one\n");
	fx_dist(a, "DUP-2.dist-info", "DUP", "2",
		"[g]\nx = two\n[h]\ny = two\n");
	live = answer_of(paths, 1, EPCACHE_LOOKUP_NO_CACHE, true, NULL, NULL);
	ck_assert(strcmp(live, "g x=one (dup 1)|h y=one (dup 1)|") == 0 ||
		  strcmp(live, "g x=two (DUP 2)|h y=two (DUP 2)|") == 0);
	rebuild(a);
	cached = answer_of(paths, 1, 0, true, NULL, NULL);
	ck_assert_str_eq(cached, live);
	free(live);
	free(cached);
}
END_TEST

/* "EmptyKey.DIST-INFO" with "Name: " has importlib's name "": a cache's
 * records with it are read like any other */
START_TEST(test_unsorted_empty_normalized_name)
{
	const char *paths[] = {a};
	char *cached;

	fx_dist(a, "EmptyKey.DIST-INFO", "", "1", "[g]\ne = e\n");
	rebuild(a);
	n_warnings = 0;
	cached = answer_of(paths, 1, 0, true, NULL, NULL);
	ck_assert_str_eq(cached, "g e=e ( 1)|");
	ck_assert_int_eq(n_warnings, 0);
	free(cached);
}
END_TEST

START_TEST(test_name_filter)
{
	const char *paths[] = {a, b};

	populate();
	rebuild(b);
	assert_answer(paths, 2, "console_scripts", "bar",
		      "console_scripts bar=bar:main (bar 3)|");
	assert_answer(paths, 2, NULL, "y", "g y=bar.y [e1, e2] (bar 3)|");
	assert_answer(paths, 2, "g", "nope", "");
	assert_answer(paths, 2, "nope", NULL, "");
}
END_TEST

START_TEST(test_stale_and_corrupt_fall_back)
{
	const char *paths[] = {a, b};

	populate();
	rebuild(a);
	rebuild(b);
	fx_dist(b, "new-1.dist-info", "new", "1", "[g]\nn = new\n");
	ck_assert_int_eq(status(b), EPCACHE_STATUS_STALE);
	assert_answer(paths, 2, "g", NULL,
		      "g x=foo.x (Foo 1.0)|g y=bar.y [e1, e2] (bar 3)|"
		      "g n=new (new 1)|");
	rebuild(b);
	fx_write(b, EP_CACHE_SUBDIR "/" EP_CACHE_FILE, "{\"header\":{}}");
	ck_assert_int_eq(status(b), EPCACHE_STATUS_CORRUPT);
	assert_answer(paths, 2, "g", NULL,
		      "g x=foo.x (Foo 1.0)|g y=bar.y [e1, e2] (bar 3)|"
		      "g n=new (new 1)|");
}
END_TEST

/* A fresh cache whose header is fine but whose group part is not: the
 * lookup notices while reading it and scans instead. */
START_TEST(test_corrupt_part_falls_back)
{
	const char *paths[] = {a};
	char *p, *data, *hit;
	size_t len;
	struct stat st;
	struct timespec times[2];

	fx_dist(a, "foo-1.dist-info", "Foo", "1", "[g]\nx = foo.x\n");
	rebuild(a);
	p = fx_path(a, EP_CACHE_SUBDIR "/" EP_CACHE_FILE);
	data = fx_read(p, &len);
	hit = strstr(data, "\"entries\":[[0,");
	ck_assert_ptr_nonnull(hit);
	hit[11] = '7'; /* index past the dists */
	ck_assert_int_eq(stat(a, &st), 0);
	fx_write_len(a, EP_CACHE_SUBDIR "/" EP_CACHE_FILE, data, len);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	ck_assert_int_eq(utimensat(AT_FDCWD, a, times, 0), 0);
	ck_assert_int_eq(status(a), EPCACHE_STATUS_FRESH);
	n_warnings = 0;
	assert_answer(paths, 1, "g", NULL, "g x=foo.x (Foo 1)|");
	ck_assert_int_eq(n_warnings, 1);
	free(data);
	free(p);
}
END_TEST

START_TEST(test_path_statuses)
{
	char *zip = fx_path(root, "lib.zip"), *txt = fx_path(root, "x.txt");
	char *missing = fx_path(root, "nope");
	const char *paths[] = {a, zip, txt, missing, ""};
	struct epcache_lookup *lk;
	/* an empty zip archive: just the end-of-central-directory record */
	static const char eocd[22] = "PK\005\006";

	fx_write_len(root, "lib.zip", eocd, sizeof(eocd));
	fx_write(root, "x.txt", "not a zip, not a directory");
	rebuild(a);
	ck_assert_int_eq(epcache_lookup_new(ctx, paths, 5, 0, &lk), 0);
	ck_assert_uint_eq(epcache_lookup_get_path_count(lk), 5);
	ck_assert_str_eq(epcache_lookup_get_path(lk, 1), zip);
	ck_assert_ptr_null(epcache_lookup_get_path(lk, 5));
	ck_assert_int_eq(epcache_lookup_get_path_status(lk, 0),
			 EPCACHE_STATUS_FRESH);
	ck_assert_int_eq(epcache_lookup_get_path_status(lk, 1),
			 EPCACHE_STATUS_UNSUPPORTED);
	ck_assert_int_eq(epcache_lookup_get_path_status(lk, 2),
			 EPCACHE_STATUS_MISSING);
	ck_assert_int_eq(epcache_lookup_get_path_status(lk, 3),
			 EPCACHE_STATUS_MISSING);
	ck_assert_str_eq(epcache_lookup_get_path_reason(lk, 3),
			 "no such directory");
	ck_assert_ptr_nonnull(epcache_lookup_get_path_reason(lk, 4));
	epcache_lookup_free(lk);
	free(zip);
	free(txt);
	free(missing);
}
END_TEST

START_TEST(test_entry_value_parts)
{
	const char *paths[] = {a};
	struct epcache_lookup *lk;
	struct epcache_selection *sel;
	const struct epcache_entry *e;

	fx_dist(a, "v-1.dist-info", "v", "1",
		"[g]\n"
		"full = pkg.mod:obj.attr [extra1, extra2]\n"
		"modonly = pkg.mod\n"
		"bad = not a value!\n");
	ck_assert_int_eq(epcache_lookup_new(ctx, paths, 1, 0, &lk), 0);
	ck_assert_int_eq(epcache_lookup_select(lk, "g", NULL, &sel), 0);
	ck_assert_uint_eq(epcache_selection_get_count(sel), 3);
	e = epcache_selection_get_entry(sel, 0);
	ck_assert_str_eq(epcache_entry_get_module(e), "pkg.mod");
	ck_assert_str_eq(epcache_entry_get_attr(e), "obj.attr");
	ck_assert_uint_eq(epcache_entry_get_extras_count(e), 2);
	ck_assert_str_eq(epcache_entry_get_extra(e, 1), "extra2");
	ck_assert_ptr_null(epcache_entry_get_extra(e, 2));
	ck_assert_uint_eq(epcache_entry_get_path_index(e), 0);
	e = epcache_selection_get_entry(sel, 1);
	ck_assert_str_eq(epcache_entry_get_module(e), "pkg.mod");
	ck_assert_ptr_null(epcache_entry_get_attr(e));
	ck_assert_uint_eq(epcache_entry_get_extras_count(e), 0);
	e = epcache_selection_get_entry(sel, 2);
	ck_assert_ptr_null(epcache_entry_get_module(e));
	ck_assert_str_eq(epcache_entry_get_value(e), "not a value!");
	epcache_selection_free(sel);
	epcache_lookup_free(lk);
}
END_TEST

/* "group name=value|..." of one distribution, or "-E" for an error */
static char *
dist_answer(const char *path, unsigned flags, const char *child)
{
	struct epcache_lookup *lk;
	struct epcache_selection *sel = NULL;
	struct ep_buf out = {0};
	int rc;

	ck_assert_int_eq(epcache_lookup_new(ctx, &path, 1, flags, &lk), 0);
	rc = epcache_lookup_select_distribution(lk, 0, child, &sel);
	if (rc < 0) {
		ep_buf_printf(&out, "%d", rc);
	} else {
		for (size_t i = 0; i < epcache_selection_get_count(sel); i++) {
			const struct epcache_entry *e =
				epcache_selection_get_entry(sel, i);

			ck_assert_int_eq(epcache_entry_get_path_index(e), 0);
			ep_buf_printf(&out, "%s %s=%s|",
				      epcache_entry_get_group(e),
				      epcache_entry_get_name(e),
				      epcache_entry_get_value(e));
		}
	}
	epcache_selection_free(sel);
	epcache_lookup_free(lk);
	return ep_buf_steal(&out);
}

/* One distribution's entries as its entry_points.txt has them: file
 * order across groups, shadowed or not; the same from a cache and a scan;
 * a distribution whose file gave a warning is importlib's to read. */
START_TEST(test_select_distribution)
{
	static const struct {
		const char *child, *want;
	} cases[] = {
		{ "dup-1.dist-info", "h y=one|g x=one|h z=one|" },
		{ "DUP-2.dist-info", "g x=two|" },
		{ "noeps-1.dist-info", "" },
		{ "bad-1.dist-info", "-84" /* -EILSEQ */ },
		{ "absent-1.dist-info", "-2" /* -ENOENT */ },
		{ "", "-2" },
		{ "sub", "-2" },
	};
	char *got;

	fx_dist(a, "dup-1.dist-info", "dup", "1",
		"[h]\ny = one\n[g]\nx = one\n[h]\nz = one\n");
	fx_dist(a, "DUP-2.dist-info", "DUP", "2", "[g]\nx = two\n");
	fx_dist(a, "noeps-1.dist-info", "noeps", "1", NULL);
	fx_dist(a, "bad-1.dist-info", "bad", "1", "[g]\nno equals sign\n");
	fx_mkdir(a, "sub");
	for (int cached = 0; cached < 2; cached++) {
		if (cached) {
			rebuild(a);
			ck_assert_int_eq(status(a), EPCACHE_STATUS_FRESH);
		}
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			got = dist_answer(a, 0, cases[i].child);
			ck_assert_msg(strcmp(got, cases[i].want) == 0,
				      "%s, %s: got \"%s\", want \"%s\"",
				      cached ? "cached" : "scanned",
				      cases[i].child, got, cases[i].want);
			free(got);
		}
	}
	/* no directory there: nothing of it */
	got = dist_answer(b, 0, "dup-1.dist-info");
	ck_assert_str_eq(got, "-2");
	free(got);
}
END_TEST

START_TEST(test_invalid_arguments)
{
	const char *paths[] = {a, NULL};
	struct epcache_lookup *lk = NULL;

	ck_assert_int_eq(epcache_lookup_new(NULL, paths, 1, 0, &lk), -EINVAL);
	ck_assert_int_eq(epcache_lookup_new(ctx, NULL, 1, 0, &lk), -EINVAL);
	ck_assert_int_eq(epcache_lookup_new(ctx, paths, 2, 0, &lk), -EINVAL);
	ck_assert_int_eq(epcache_lookup_new(ctx, paths, 1, 0x80, &lk), -EINVAL);
	ck_assert_int_eq(epcache_lookup_new(ctx, paths, 0, 0, &lk), 0);
	ck_assert_int_eq(epcache_lookup_select(lk, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(epcache_lookup_select_unsorted(lk, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(epcache_lookup_select_unsorted(NULL, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(epcache_lookup_select_distribution(lk, 0, "x",
							    &(struct epcache_selection *){NULL}),
			 -EINVAL);
	ck_assert_int_eq(epcache_lookup_select_distribution(NULL, 0, "x", NULL),
			 -EINVAL);
	epcache_lookup_free(lk);
	epcache_lookup_free(NULL);
	epcache_selection_free(NULL);
	epcache_free(NULL);
}
END_TEST

START_TEST(test_egg_entry_cache_name_mismatch)
{
	char *egg = fx_path(root, "Egg_Pkg-1.0.egg"), *slash;
	const char *paths[1];

	fx_mkdir(root, "Egg_Pkg-1.0.egg");
	fx_write(egg, "EGG-INFO/PKG-INFO", "Name: Egg-Pkg\nVersion: 1.0\n");
	fx_write(egg, "EGG-INFO/entry_points.txt", "[g]\ne = egg:main\n");
	rebuild(egg);
	ck_assert_int_eq(status(egg), EPCACHE_STATUS_FRESH);
	paths[0] = egg;
	assert_answer(paths, 1, "g", NULL, "g e=egg:main (Egg-Pkg 1.0)|");
	/* with a trailing slash, importlib does not see an egg at all */
	ck_assert_int_gt(asprintf(&slash, "%s/", egg), 0);
	ck_assert_int_eq(status(slash), EPCACHE_STATUS_STALE);
	paths[0] = slash;
	assert_answer(paths, 1, "g", NULL, "");
	free(slash);
	free(egg);
}
END_TEST

/* Non-UTF-8 directory names dedup across a cached and a live entry. */
START_TEST(test_non_utf8_names_across_path)
{
	const char *paths[] = {a, b};

	fx_dist(a, "\xc1x-1.dist-info", "X", "1", "[g]\nfirst = a\n");
	fx_dist(b, "\xc1x-2.dist-info", "X", "2", "[g]\nsecond = b\n");
	fx_dist(b, "\xc2x-2.dist-info", "Y", "2", "[g]\nthird = c\n");
	rebuild(a);
	ck_assert_int_eq(status(a), EPCACHE_STATUS_FRESH);
	assert_answer(paths, 2, "g", NULL,
		      "g first=a (X 1)|g third=c (Y 2)|");
}
END_TEST

static Suite *
lookup_suite(void)
{
	Suite *s = suite_create("lookup");
	TCase *tc = tcase_create("lookup");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_first_dist_wins_across_path);
	tcase_add_test(tc, test_all_groups_sorted);
	tcase_add_test(tc, test_all_groups_unsorted);
	tcase_add_test(tc, test_unsorted_empty_normalized_name);
	tcase_add_test(tc, test_unsorted_shadowed_in_directory);
	tcase_add_test(tc, test_name_filter);
	tcase_add_test(tc, test_stale_and_corrupt_fall_back);
	tcase_add_test(tc, test_corrupt_part_falls_back);
	tcase_add_test(tc, test_path_statuses);
	tcase_add_test(tc, test_entry_value_parts);
	tcase_add_test(tc, test_select_distribution);
	tcase_add_test(tc, test_invalid_arguments);
	tcase_add_test(tc, test_egg_entry_cache_name_mismatch);
	tcase_add_test(tc, test_non_utf8_names_across_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lookup_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
