/* SPDX-License-Identifier: MIT */
/*
 * The live scanner: discovery, order, names, metadata fallbacks, shadowing
 * and warnings, as importlib.metadata (Python 3.11) does them. The
 * conformance suite compares whole answers with Python itself; these tests
 * pin the individual rules.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epcache-private.h"
#include "fixtures.h"

static char *site;
static struct epcache *ctx;
static int n_warnings;
static char last_warning[1024];

static void
log_capture(struct epcache *c, enum epcache_log_priority prio, void *ud,
	    const char *fmt, va_list args)
	__attribute__((format(printf, 4, 0)));

static void
log_capture(struct epcache *c, enum epcache_log_priority prio, void *ud,
	    const char *fmt, va_list args)
{
	(void)c;
	(void)ud;
	if (prio == EPCACHE_LOG_WARNING) {
		n_warnings++;
		vsnprintf(last_warning, sizeof(last_warning), fmt, args);
	}
}

static void
setup(void)
{
	site = fx_tmpdir();
	ctx = epcache_new();
	epcache_set_log_handler(ctx, log_capture, NULL);
	n_warnings = 0;
	last_warning[0] = '\0';
}

static void
teardown(void)
{
	fx_rmrf(site);
	free(site);
	epcache_free(ctx);
}

static void
scan(const char *dir, size_t stamps, struct ep_scan *s)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ep_scan_dir(ctx, dir, fd, stamps, s), 0);
	close(fd);
}

static const struct ep_dist *
find(const struct ep_scan *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->dists[i].path, path) == 0)
			return &s->dists[i];
	ck_abort_msg("%s not found", path);
	return NULL;
}

static size_t
index_of(const struct ep_scan *s, const char *path)
{
	return (size_t)(find(s, path) - s->dists);
}

START_TEST(test_discovery)
{
	struct ep_scan s;

	fx_dist(site, "foo-1.0.dist-info", "foo", "1.0", "[g]\na = b\n");
	fx_dist(site, "Bar-2.0.EGG-INFO", "Bar", "2.0", NULL);
	fx_mkdir(site, "baz");
	fx_write(site, "dist-info.txt", "x");
	fx_mkdir(site, "qux.dist-info.old");
	fx_mkdir(site, "EGG-INFO"); /* only special in a .egg path entry */
	scan(site, 0, &s);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_ptr_null(s.egg_name);
	ck_assert_str_eq(find(&s, "foo-1.0.dist-info")->normalized, "foo");
	ck_assert_str_eq(find(&s, "foo-1.0.dist-info")->version, "1.0");
	ck_assert_uint_eq(find(&s, "foo-1.0.dist-info")->entries.n, 1);
	ck_assert_str_eq(find(&s, "foo-1.0.dist-info")->entries.v[0].group, "g");
	/* splitext gives ".EGG-INFO", not ".egg-info": name from metadata */
	ck_assert_str_eq(find(&s, "Bar-2.0.EGG-INFO")->normalized, "bar");
	ep_scan_release(&s);
}
END_TEST

/* Lookup groups children by key in order of first appearance. */
START_TEST(test_order_groups_by_key)
{
	const char *names[] = {"a_b-1.dist-info", "c-1.dist-info",
			       "A.B-2.dist-info", "a-b-3.egg-info",
			       "d-1.dist-info"};
	char *order[8];
	size_t n = 0, key_of[8];
	struct dirent *de;
	struct ep_scan s;
	DIR *d;

	for (size_t i = 0; i < 5; i++)
		fx_dist(site, names[i], NULL, NULL, NULL);
	/* The expected order follows the real listing order. */
	d = opendir(site);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			order[n++] = strdup(de->d_name);
	closedir(d);
	ck_assert_uint_eq(n, 5);
	for (size_t i = 0; i < n; i++)
		key_of[i] = order[i][0] == 'c'	      ? 1
			    : order[i][0] == 'd'      ? 2
			    : strcmp(order[i], "a-b-3.egg-info") == 0 ? 3
						      : 0;
	scan(site, 0, &s);
	ck_assert_uint_eq(s.n, 5);
	for (size_t i = 0; i + 1 < s.n; i++) {
		size_t a = 0, b = 0, fa = 99, fb = 99;

		for (size_t j = 0; j < n; j++) {
			if (strcmp(order[j], s.dists[i].path) == 0)
				a = j;
			if (strcmp(order[j], s.dists[i + 1].path) == 0)
				b = j;
		}
		/* first appearance of each one's key */
		for (size_t j = 0; j < n; j++) {
			if (key_of[j] == key_of[a] && fa == 99)
				fa = j;
			if (key_of[j] == key_of[b] && fb == 99)
				fb = j;
		}
		ck_assert_msg(fa < fb || (fa == fb && a < b),
			      "%s before %s", s.dists[i].path,
			      s.dists[i + 1].path);
	}
	/* a_b and A.B normalize alike and only the first wins; a-b-3 is
	 * project "a" (the name ends at the first '-'). */
	ck_assert_str_eq(s.dists[index_of(&s, "a_b-1.dist-info")].normalized,
			 "a_b");
	ck_assert_str_eq(s.dists[index_of(&s, "A.B-2.dist-info")].normalized,
			 "a_b");
	{
		size_t shadowed = 0;

		for (size_t i = 0; i < s.n; i++)
			shadowed += s.dists[i].shadowed;
		ck_assert_uint_eq(shadowed, 1);
		ck_assert_str_eq(find(&s, "a-b-3.egg-info")->normalized, "a");
		for (size_t i = 0; i < s.n; i++)
			if (strcmp(s.dists[i].normalized, "a_b") == 0) {
				ck_assert(!s.dists[i].shadowed);
				break;
			}
	}
	for (size_t i = 0; i < n; i++)
		free(order[i]);
	ep_scan_release(&s);
}
END_TEST

START_TEST(test_names_from_stem_and_metadata)
{
	struct ep_scan s;

	fx_dist(site, "Foo.Bar-1.0.dist-info", "Other-Name", "1", NULL);
	fx_dist(site, "nover.dist-info", "NoVer", NULL, NULL);
	fx_dist(site, "-1.0.dist-info", "Empty_Stem", "1", NULL);
	fx_dist(site, "..dist-info", "Dots", "1", NULL);
	scan(site, 0, &s);
	ck_assert_uint_eq(s.n, 4);
	/* The directory name wins over Name: for the normalized name */
	ck_assert_str_eq(find(&s, "Foo.Bar-1.0.dist-info")->normalized,
			 "foo_bar");
	ck_assert_str_eq(find(&s, "Foo.Bar-1.0.dist-info")->name, "Other-Name");
	ck_assert_str_eq(find(&s, "nover.dist-info")->normalized, "nover");
	ck_assert_ptr_null(find(&s, "nover.dist-info")->version);
	/* An empty stem name is falsy in Python: Name: is used */
	ck_assert_str_eq(find(&s, "-1.0.dist-info")->normalized, "empty_stem");
	/* Leading dots are not an extension for splitext */
	ck_assert_str_eq(find(&s, "..dist-info")->normalized, "dots");
	ep_scan_release(&s);
}
END_TEST

START_TEST(test_metadata_fallbacks)
{
	struct ep_scan s;

	/* empty METADATA: PKG-INFO is read (`or` in Distribution.metadata) */
	fx_write(site, "a-1.dist-info/METADATA", "");
	fx_write(site, "a-1.dist-info/PKG-INFO", "Name: A-From-PKG\nVersion: 7\n");
	/* egg-info file: the file itself is PKG-INFO */
	fx_write(site, "b-2.egg-info", "Metadata-Version: 1.0\nName: B\nVersion: 2\n");
	/* no metadata at all */
	fx_mkdir(site, "c-3.dist-info");
	fx_write(site, "c-3.dist-info/entry_points.txt", "[g]\nc = c\n");
	scan(site, 0, &s);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(find(&s, "a-1.dist-info")->name, "A-From-PKG");
	ck_assert_str_eq(find(&s, "a-1.dist-info")->version, "7");
	ck_assert_str_eq(find(&s, "b-2.egg-info")->name, "B");
	ck_assert_uint_eq(find(&s, "b-2.egg-info")->entries.n, 0);
	ck_assert_ptr_null(find(&s, "c-3.dist-info")->name);
	ck_assert_ptr_null(find(&s, "c-3.dist-info")->version);
	ck_assert_uint_eq(find(&s, "c-3.dist-info")->entries.n, 1);
	ck_assert_int_eq(n_warnings, 0);
	ep_scan_release(&s);
}
END_TEST

START_TEST(test_bad_dists_warn)
{
	struct ep_scan s;

	/* no usable name anywhere: importlib raises TypeError; we skip it */
	fx_mkdir(site, "X-1.DIST-INFO");
	fx_write(site, "X-1.DIST-INFO/entry_points.txt", "[g]\nx = x\n");
	/* a line without '=' */
	fx_dist(site, "y-1.dist-info", "y", "1", "[g]\nok = m\nbroken\n");
	/* metadata that is not UTF-8 */
	fx_dist(site, "z-1.dist-info", NULL, NULL, "[g]\nz = z\n");
	fx_write(site, "z-1.dist-info/METADATA", "Name: \xff\xfe\n");
	/* entry_points.txt is a directory: read_text swallows it */
	fx_dist(site, "w-1.dist-info", "w", "1", NULL);
	fx_mkdir(site, "w-1.dist-info/entry_points.txt");
	scan(site, 0, &s);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(find(&s, "y-1.dist-info")->entries.n, 1);
	ck_assert_ptr_null(find(&s, "z-1.dist-info")->name);
	ck_assert_uint_eq(find(&s, "z-1.dist-info")->entries.n, 1);
	ck_assert_uint_eq(find(&s, "w-1.dist-info")->entries.n, 0);
	ck_assert_int_eq(n_warnings, 3);
	ck_assert_uint_eq(s.n_warnings, 3);
	ep_scan_release(&s);
}
END_TEST

START_TEST(test_bad_line_warning_names_file_and_line)
{
	struct ep_scan s;
	char *want;

	fx_dist(site, "y-1.dist-info", "y", "1", "[g]\n\nok = m\nbroken\n");
	scan(site, 0, &s);
	ck_assert_int_eq(n_warnings, 1);
	ck_assert_int_gt(asprintf(&want, "%s/y-1.dist-info/entry_points.txt:4:",
				  site), 0);
	ck_assert_msg(strncmp(last_warning, want, strlen(want)) == 0,
		      "warning '%s'", last_warning);
	free(want);
	ep_scan_release(&s);
}
END_TEST

START_TEST(test_metadata_warning_names_file)
{
	struct ep_scan s;

	fx_write(site, "z-1.dist-info/METADATA", "Name: \xff\n");
	fx_write_len(site, "n-1.egg-info", "Name: a\0b\nVersion: 1\n", 21);
	scan(site, 0, &s);
	ck_assert_int_eq(n_warnings, 2);
	ck_assert_ptr_null(find(&s, "n-1.egg-info")->name);
	ep_scan_release(&s);
	n_warnings = 0;
	fx_rmrf(site);
	fx_mkdir(site, "");
	fx_write(site, "z-1.dist-info/METADATA", "Name: \xff\n");
	scan(site, 0, &s);
	ck_assert_msg(strstr(last_warning,
			     "z-1.dist-info/METADATA: metadata is not valid "
			     "UTF-8") != NULL,
		      "%s", last_warning);
	ep_scan_release(&s);
	/* bad UTF-8 is the reason even with a harmless NUL in the body */
	fx_write_len(site, "z-1.dist-info/METADATA",
		     "Name: \xff\n\nbody \0 text\n", 21);
	scan(site, 0, &s);
	ck_assert_msg(strstr(last_warning, "metadata is not valid UTF-8"),
		      "%s", last_warning);
	ep_scan_release(&s);
}
END_TEST

START_TEST(test_fifo_does_not_block)
{
	struct ep_scan s;
	char *p;

	fx_dist(site, "f-1.dist-info", "f", "1", NULL);
	p = fx_path(site, "f-1.dist-info/entry_points.txt");
	ck_assert_int_eq(mkfifo(p, 0644), 0);
	free(p);
	scan(site, 0, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.dists[0].entries.n, 0);
	ck_assert_int_eq(n_warnings, 1);
	ep_scan_release(&s);
}
END_TEST

START_TEST(test_egg_path_entry)
{
	struct ep_scan s;
	char *egg;

	egg = fx_path(site, "My_Pkg-1.0-py3.11.egg");
	fx_mkdir(site, "My_Pkg-1.0-py3.11.egg");
	fx_write(egg, "EGG-INFO/PKG-INFO", "Name: My-Pkg\nVersion: 1.0\n");
	fx_write(egg, "EGG-INFO/entry_points.txt", "[console_scripts]\nmy = my.cli:main\n");
	fx_dist(egg, "inner-1.dist-info", "inner", "1", "[g]\ni = i\n");
	scan(egg, false, &s);
	ck_assert_str_eq(s.egg_name, "my_pkg");
	ck_assert_uint_eq(s.n, 2);
	/* infos first, EGG-INFO last */
	ck_assert_str_eq(s.dists[0].path, "inner-1.dist-info");
	ck_assert_str_eq(s.dists[1].path, "EGG-INFO");
	ck_assert(s.dists[1].egg);
	ck_assert_str_eq(s.dists[1].normalized, "my_pkg");
	ck_assert_uint_eq(s.dists[1].entries.n, 1);
	ep_scan_release(&s);
	free(egg);
}
END_TEST

START_TEST(test_egg_name_for_path)
{
	char *n;

	ck_assert_ptr_null(ep_egg_name_for_path("/usr/lib/python3/dist-packages"));
	ck_assert_ptr_null(ep_egg_name_for_path("/x/foo.egg/"));
	n = ep_egg_name_for_path("/x/Foo.Bar-1.0-py3.11.EGG");
	ck_assert_str_eq(n, "foo.bar"); /* legacy: dots stay */
	free(n);
	n = ep_egg_name_for_path("a-b.egg");
	ck_assert_str_eq(n, "a");
	free(n);
}
END_TEST

START_TEST(test_stamps)
{
	struct ep_scan s;

	fx_dist(site, "s-1.dist-info", "s", "1", "[g]\ns = s\n");
	scan(site, EP_N_STAMPS, &s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert(s.dists[0].st[0].present);
	ck_assert(s.dists[0].st[1].present);
	ck_assert(s.dists[0].st[2].present);
	ck_assert(!s.dists[0].st[3].present); /* no PKG-INFO */
	ck_assert_int_eq(s.dists[0].st[1].size, (int64_t)strlen("[g]\ns = s\n"));
	ep_scan_release(&s);
}
END_TEST

START_TEST(test_unreadable_dir)
{
	struct ep_scan s;
	int fd = open(site, O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(fd, 0);
	fx_dist(site, "a-1.dist-info", "a", "1", NULL);
	/* A path entry that is not a directory fd at all */
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_lt(ep_scan_dir(ctx, "/dev/null", fd, 0, &s), 0);
	close(fd);
}
END_TEST

static Suite *
scanner_suite(void)
{
	Suite *s = suite_create("scanner");
	TCase *tc = tcase_create("scan");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_discovery);
	tcase_add_test(tc, test_order_groups_by_key);
	tcase_add_test(tc, test_names_from_stem_and_metadata);
	tcase_add_test(tc, test_metadata_fallbacks);
	tcase_add_test(tc, test_bad_dists_warn);
	tcase_add_test(tc, test_bad_line_warning_names_file_and_line);
	tcase_add_test(tc, test_metadata_warning_names_file);
	tcase_add_test(tc, test_fifo_does_not_block);
	tcase_add_test(tc, test_egg_path_entry);
	tcase_add_test(tc, test_egg_name_for_path);
	tcase_add_test(tc, test_stamps);
	tcase_add_test(tc, test_unreadable_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(scanner_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
