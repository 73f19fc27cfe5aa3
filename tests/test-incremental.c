/* SPDX-License-Identifier: MIT */
/*
 * Incremental rebuilds: a rebuild takes over the previous cache's records
 * of distributions whose directory (strict mode: whose directory and
 * files) is unchanged, and must write exactly the
 * bytes a full rebuild writes. Every test changes a site, rebuilds on top
 * of the old cache, then removes the cache, rebuilds from nothing and
 * compares, and checks how many records were reused.
 */
#include "config.h"

#include <check.h>
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

static char *top, *site;

struct logbook {
	size_t warnings;
	long reused, total; /* from the last "N of M reused" message */
};

static void
log_handler(struct epcache *ctx, enum epcache_log_priority prio, void *data,
	    const char *fmt, va_list args)
	__attribute__((format(printf, 4, 0)));

static void
log_handler(struct epcache *ctx, enum epcache_log_priority prio, void *data,
	    const char *fmt, va_list args)
{
	struct logbook *lb = data;
	char msg[1024];
	const char *p;

	vsnprintf(msg, sizeof(msg), fmt, args);
	if (prio <= EPCACHE_LOG_WARNING)
		lb->warnings++;
	p = strstr(msg, ": ");
	if (strstr(msg, "distributions reused") && p)
		sscanf(p + 2, "%ld of %ld", &lb->reused, &lb->total);
}

static void
setup(void)
{
	top = fx_tmpdir();
	site = fx_path(top, "site");
	fx_mkdir(top, "site");
	for (int i = 0; i < 20; i++) {
		char dir[64], name[32], eps[128];

		snprintf(dir, sizeof(dir), "p%02d-1.0.dist-info", i);
		snprintf(name, sizeof(name), "p%02d", i);
		snprintf(eps, sizeof(eps),
			 "[console_scripts]\np%02d = p%02d:main\n[g%d]\nx = y\n",
			 i, i, i % 3);
		fx_dist(site, dir, name, "1.0", i % 4 ? eps : NULL);
	}
	/* an egg-info file, and a shadowed duplicate */
	fx_write(site, "old-0.1.egg-info", "Name: old\nVersion: 0.1\n");
	fx_dist(site, "P01-2.0.dist-info", "p01", "2.0",
		"[console_scripts]\nshadow = s:s\n");
}

static void
teardown(void)
{
	fx_rmrf(top);
	free(site);
	free(top);
}

/* Rebuild with @flags (and no fsync), and say how many records were
 * reused. */
static struct logbook
rebuild_with(enum epcache_mode mode, unsigned int flags)
{
	struct epcache *ctx = epcache_new();
	struct logbook lb = {0, -1, -1};

	epcache_set_log_handler(ctx, log_handler, &lb);
	epcache_set_log_priority(ctx, EPCACHE_LOG_INFO);
	ck_assert_int_eq(epcache_rebuild(ctx, site, mode,
					 flags | EPCACHE_REBUILD_NO_FSYNC,
					 NULL),
			 0);
	epcache_free(ctx);
	return lb;
}

static struct logbook
rebuild(enum epcache_mode mode)
{
	return rebuild_with(mode, 0);
}

static char *
cache_bytes(size_t *len)
{
	char *p = fx_path(site, ".epcache/entry-points.json");
	char *data = fx_read(p, len);

	free(p);
	return data;
}

/* Rebuild on top of the current cache, then from nothing: same bytes.
 * Returns the number of records the first rebuild reused. */
static long
rebuild_both_ways(enum epcache_mode mode)
{
	struct logbook inc = rebuild(mode), full;
	char *a, *b, *p;
	size_t alen, blen;

	a = cache_bytes(&alen);
	p = fx_path(site, ".epcache/entry-points.json");
	ck_assert_int_eq(unlink(p), 0);
	free(p);
	full = rebuild(mode);
	ck_assert_int_eq(full.reused, 0);
	ck_assert_int_eq(full.total, inc.total);
	b = cache_bytes(&blen);
	ck_assert_uint_eq(alen, blen);
	ck_assert_msg(memcmp(a, b, alen) == 0,
		      "incremental and full rebuilds differ");
	free(a);
	free(b);
	return inc.reused;
}

START_TEST(test_unchanged)
{
	struct logbook lb;

	ck_assert_int_eq(rebuild(EPCACHE_MODE_MTIME).reused, 0);
	lb = rebuild(EPCACHE_MODE_MTIME);
	ck_assert_int_eq(lb.total, 22);
	ck_assert_int_eq(lb.reused, 22);
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_MTIME), 22);
}
END_TEST

START_TEST(test_add_remove_change)
{
	enum epcache_mode mode = (enum epcache_mode)_i;
	char *p;

	rebuild(mode);
	/* add one */
	fx_dist(site, "new-1.0.dist-info", "new", "1.0",
		"[console_scripts]\nnew = new:main\n");
	ck_assert_int_eq(rebuild_both_ways(mode), 22);
	/* remove one */
	p = fx_path(site, "p05-1.0.dist-info");
	fx_rmrf(p);
	free(p);
	ck_assert_int_eq(rebuild_both_ways(mode), 22);
	/* upgrade one: a new directory name replaces the old */
	p = fx_path(site, "p06-1.0.dist-info");
	fx_rmrf(p);
	free(p);
	fx_dist(site, "p06-2.0.dist-info", "p06", "2.0",
		"[console_scripts]\np06 = p06:main2\n");
	ck_assert_int_eq(rebuild_both_ways(mode), 21);
	/* remove the shadowing first one: the shadowed one now counts */
	p = fx_path(site, "p01-1.0.dist-info");
	fx_rmrf(p);
	free(p);
	ck_assert_int_eq(rebuild_both_ways(mode), 21);
}
END_TEST

/* What installers do (dpkg, rpm, pip): a new file renamed into place,
 * which changes the distribution's directory. */
static void
replace_file(const char *rel, const char *data)
{
	char *tmp, *from, *to;

	ck_assert_int_gt(asprintf(&tmp, "%s.new", rel), 0);
	fx_write(site, tmp, data);
	from = fx_path(site, tmp);
	to = fx_path(site, rel);
	ck_assert_int_eq(rename(from, to), 0);
	free(from);
	free(to);
	free(tmp);
}

/* Same name, new files: a file replaced with a new size, in every mode. */
START_TEST(test_file_rewritten)
{
	enum epcache_mode mode = (enum epcache_mode)_i;

	rebuild(mode);
	replace_file("p02-1.0.dist-info/entry_points.txt",
		     "[console_scripts]\nrenamed = p02:other\n");
	ck_assert_int_eq(rebuild_both_ways(mode), 21);
	replace_file("p03-1.0.dist-info/METADATA",
		     "Name: p03-renamed\nVersion: 3.0\n");
	ck_assert_int_eq(rebuild_both_ways(mode), 21);
	/* the egg-info file is its own metadata */
	replace_file("old-0.1.egg-info", "Name: old\nVersion: 0.2\n");
	ck_assert_int_eq(rebuild_both_ways(mode), 21);
}
END_TEST

/* Rewritten in place: strict mode's file stamps see it. */
START_TEST(test_file_rewritten_in_place_strict)
{
	rebuild(EPCACHE_MODE_STRICT);
	fx_write(site, "p02-1.0.dist-info/entry_points.txt",
		 "[console_scripts]\nrenamed = p02:other\n");
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_STRICT), 21);
	fx_write(site, "p03-1.0.dist-info/METADATA",
		 "Name: p03-renamed\nVersion: 3.0\n");
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_STRICT), 21);
	fx_write(site, "old-0.1.egg-info", "Name: old\nVersion: 0.2\n");
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_STRICT), 21);
}
END_TEST

/*
 * Rewritten in place in mtime mode: the distribution's directory does not
 * change, so its record is taken over (as a reader in this mode serves the
 * cache), until a rebuild with EPCACHE_REBUILD_FULL reads it again.
 */
START_TEST(test_file_rewritten_in_place_mtime)
{
	struct logbook lb;
	char *data;
	size_t len;

	rebuild(EPCACHE_MODE_MTIME);
	fx_write(site, "p02-1.0.dist-info/entry_points.txt",
		 "[console_scripts]\nrenamed = p02:other\n");
	ck_assert_int_eq(rebuild(EPCACHE_MODE_MTIME).reused, 22);
	data = cache_bytes(&len);
	ck_assert_ptr_null(strstr(data, "p02:other"));
	free(data);

	lb = rebuild_with(EPCACHE_MODE_MTIME, EPCACHE_REBUILD_FULL);
	ck_assert_int_eq(lb.reused, 0);
	ck_assert_int_eq(lb.total, 22);
	data = cache_bytes(&len);
	ck_assert_ptr_nonnull(strstr(data, "p02:other"));
	free(data);
	/* and that is what a rebuild from nothing writes */
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_MTIME), 22);
}
END_TEST

/*
 * Edited in place with the same size, and the old mtime put back (what
 * cp -p or tar do): the directory and the file keep their mtime, only
 * the ctime tells (strict mode). The new entry point must be there.
 */
START_TEST(test_edited_in_place_same_size_and_mtime)
{
	char *p = fx_path(site, "p05-1.0.dist-info/entry_points.txt");
	char *dir = fx_path(site, "p05-1.0.dist-info");
	struct stat before, dbefore, after, dafter;
	struct timespec ts[2];
	char *data;
	size_t len;
	int fd;

	rebuild(EPCACHE_MODE_STRICT);
	ck_assert_int_eq(stat(p, &before), 0);
	ck_assert_int_eq(stat(dir, &dbefore), 0);
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	/* "[console_scripts]\np05 = p05:main" -> "p05 = p05:MAIN" */
	ck_assert_int_eq(pwrite(fd, "MAIN", 4, 28), 4);
	ts[0] = before.st_atim;
	ts[1] = before.st_mtim;
	ck_assert_int_eq(futimens(fd, ts), 0);
	close(fd);
	ck_assert_int_eq(stat(p, &after), 0);
	ck_assert_int_eq(stat(dir, &dafter), 0);
	ck_assert_int_eq(after.st_size, before.st_size);
	ck_assert(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
		  after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
	ck_assert(dafter.st_mtim.tv_nsec == dbefore.st_mtim.tv_nsec);

	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_STRICT), 21);
	data = cache_bytes(&len);
	ck_assert_ptr_nonnull(strstr(data, "p05:MAIN"));
	ck_assert_ptr_null(strstr(data, "p05:main"));
	free(data);
	free(p);
	free(dir);
}
END_TEST

/* A metadata file appearing (PKG-INFO when METADATA is empty) */
START_TEST(test_metadata_file_appears)
{
	rebuild(EPCACHE_MODE_MTIME);
	fx_write(site, "p07-1.0.dist-info/METADATA", "");
	fx_write(site, "p07-1.0.dist-info/PKG-INFO",
		 "Name: p07\nVersion: 7.7\n");
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_MTIME), 21);
}
END_TEST

/* A record that gave warnings is read again, so that every rebuild
 * repeats them. */
START_TEST(test_warnings_repeated)
{
	struct logbook lb;

	fx_write(site, "p08-1.0.dist-info/entry_points.txt",
		 "[g]\nno equals sign here\n");
	lb = rebuild(EPCACHE_MODE_MTIME);
	ck_assert_uint_eq(lb.warnings, 1);
	lb = rebuild(EPCACHE_MODE_MTIME);
	ck_assert_uint_eq(lb.warnings, 1);
	ck_assert_int_eq(lb.reused, 21);
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_MTIME), 21);
}
END_TEST

/* A previous cache that a reader would not use is not reused either. */
START_TEST(test_previous_not_reused)
{
	char *cache = fx_path(site, ".epcache/entry-points.json");
	char *data;
	size_t len;

	rebuild(EPCACHE_MODE_MTIME);
	/* another mode */
	ck_assert_int_eq(rebuild(EPCACHE_MODE_STRICT).reused, 0);
	ck_assert_int_eq(rebuild(EPCACHE_MODE_STRICT).reused, 22);
	ck_assert_int_eq(rebuild(EPCACHE_MODE_TRUST).reused, 0);
	ck_assert_int_eq(rebuild(EPCACHE_MODE_MTIME).reused, 0);
	/* untrusted: writable by others */
	ck_assert_int_eq(chmod(cache, 0666), 0);
	ck_assert_int_eq(rebuild(EPCACHE_MODE_MTIME).reused, 0);
	/* written by another generator (what is taken over is copied) */
	data = cache_bytes(&len);
	{
		char *d = strstr(data, "\"generator\":\"epcache ");

		ck_assert_ptr_nonnull(d);
		d[strlen("\"generator\":\"e")] = 'X';
	}
	fx_write_len(site, ".epcache/entry-points.json", data, len);
	free(data);
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_MTIME), 0);
	/* corrupt: a valid header, a broken distributions part */
	data = cache_bytes(&len);
	{
		char *d = strstr(data, "\"distributions\":[{\"path\"");

		ck_assert_ptr_nonnull(d);
		d[strlen("\"distributions\":[{")] = 'X';
	}
	fx_write_len(site, ".epcache/entry-points.json", data, len);
	ck_assert_int_eq(chmod(cache, 0644), 0);
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_MTIME), 0);
	/* a stamp row that names another file */
	free(data);
	data = cache_bytes(&len);
	{
		char *d = strstr(data, "[\"p00-1.0.dist-info\",\"");

		ck_assert_ptr_nonnull(d);
		d[strlen("[\"p00-1.0.")] = 'X';
	}
	fx_write_len(site, ".epcache/entry-points.json", data, len);
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_MTIME), 0);
	/* truncated */
	free(data);
	data = cache_bytes(&len);
	fx_write_len(site, ".epcache/entry-points.json", data, len / 2);
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_MTIME), 0);
	free(data);
	free(cache);
}
END_TEST

/* Another directory moved into the place of the site: inode numbers of
 * the old one mean nothing here. */
START_TEST(test_directory_replaced)
{
	char *moved = fx_path(top, "moved");
	char *cache = fx_path(site, ".epcache/entry-points.json");
	char *newcache = fx_path(moved, ".epcache/entry-points.json");
	char *data;
	size_t len;

	rebuild(EPCACHE_MODE_MTIME);
	data = cache_bytes(&len);
	fx_mkdir(top, "moved");
	fx_dist(moved, "p00-1.0.dist-info", "p00", "1.0", "[g]\nother = o:o\n");
	fx_write_len(moved, ".epcache/entry-points.json", data, len);
	fx_rmrf(site);
	ck_assert_int_eq(rename(moved, site), 0);
	ck_assert_int_eq(rebuild_both_ways(EPCACHE_MODE_MTIME), 0);
	free(data);
	free(moved);
	free(cache);
	free(newcache);
}
END_TEST

/*
 * The racy rule: every recorded stamp must be older than the scan's start
 * (the lock's mtime, touched at the start), or a change in the same tick
 * could later look unchanged. Rebuilding right after writing must wait.
 */
START_TEST(test_recorded_stamps_are_older_than_the_scan)
{
	char *lock = fx_path(site, ".epcache/lock");
	struct ep_cache_file cf;
	struct ep_scan prev;
	struct stat lk;
	const char *why;
	char *cache;
	int fd;

	rebuild(EPCACHE_MODE_MTIME);
	for (int round = 0; round < 5; round++) {
		fx_write(site, "p09-1.0.dist-info/entry_points.txt",
			 round % 2 ? "[a]\nb = c\n" : "[a]\nb = cd\n");
		fx_dist(site, "fresh-1.0.dist-info", "fresh", "1.0",
			round % 2 ? "[x]\ny = z\n" : "[x]\ny = zz\n");
		rebuild(EPCACHE_MODE_MTIME);
		ck_assert_int_eq(stat(lock, &lk), 0);
		cache = fx_path(site, ".epcache/entry-points.json");
		fd = open(cache, O_RDONLY);
		free(cache);
		ck_assert_int_eq(ep_cache_open(fd, NULL, &cf, &why), 0);
		ck_assert_int_eq(ep_cache_read_dists(&cf, &prev), 0);
		for (size_t i = 0; i < prev.n; i++) {
			for (size_t k = 0; k < EP_N_STAMPS; k++) {
				const struct ep_stamp *st = &prev.dists[i].st[k];

				if (!st->present)
					continue;
				ck_assert(st->sec < lk.st_mtim.tv_sec ||
					  (st->sec == lk.st_mtim.tv_sec &&
					   st->nsec < lk.st_mtim.tv_nsec));
				ck_assert(st->csec < lk.st_mtim.tv_sec ||
					  (st->csec == lk.st_mtim.tv_sec &&
					   st->cnsec < lk.st_mtim.tv_nsec));
			}
		}
		ep_scan_release(&prev);
		ep_cache_close(&cf);
	}
	free(lock);
}
END_TEST

/* The records read back are what the scan had. */
START_TEST(test_read_dists_round_trip)
{
	struct ep_cache_file cf;
	struct ep_scan scan, back;
	const char *why;
	char *cache;
	int fd;

	rebuild(EPCACHE_MODE_MTIME);
	fd = open(site, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(ep_scan_dir(NULL, site, fd, 1, &scan), 0);
	close(fd);
	cache = fx_path(site, ".epcache/entry-points.json");
	fd = open(cache, O_RDONLY);
	free(cache);
	ck_assert_int_eq(ep_cache_open(fd, NULL, &cf, &why), 0);
	ck_assert_int_eq(ep_cache_read_dists(&cf, &back), 0);
	ck_assert_uint_eq(back.n, scan.n);
	for (size_t i = 0; i < scan.n; i++) {
		const struct ep_dist *a = &scan.dists[i], *b = &back.dists[i];

		ck_assert_str_eq(a->path, b->path);
		ck_assert_str_eq(a->normalized, b->normalized);
		ck_assert_pstr_eq(a->name, b->name);
		ck_assert_pstr_eq(a->version, b->version);
		ck_assert_int_eq(a->egg, b->egg);
		ck_assert_int_eq(a->shadowed, b->shadowed);
		ck_assert_uint_eq(a->entries.n, b->entries.n);
		for (size_t j = 0; j < a->entries.n; j++) {
			ck_assert_str_eq(a->entries.v[j].group,
					 b->entries.v[j].group);
			ck_assert_str_eq(a->entries.v[j].name,
					 b->entries.v[j].name);
			ck_assert_str_eq(a->entries.v[j].value,
					 b->entries.v[j].value);
		}
		ck_assert(ep_stamp_equal(&a->st[0], &b->st[0]));
	}
	ep_scan_release(&scan);
	ep_scan_release(&back);
	ep_cache_close(&cf);
}
END_TEST

static Suite *
incremental_suite(void)
{
	Suite *s = suite_create("incremental");
	TCase *tc = tcase_create("rebuild");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unchanged);
	tcase_add_loop_test(tc, test_add_remove_change, EPCACHE_MODE_MTIME,
			    EPCACHE_MODE_STRICT + 1);
	tcase_add_loop_test(tc, test_file_rewritten, EPCACHE_MODE_MTIME,
			    EPCACHE_MODE_TRUST + 1);
	tcase_add_test(tc, test_file_rewritten_in_place_strict);
	tcase_add_test(tc, test_file_rewritten_in_place_mtime);
	tcase_add_test(tc, test_edited_in_place_same_size_and_mtime);
	tcase_add_test(tc, test_metadata_file_appears);
	tcase_add_test(tc, test_warnings_repeated);
	tcase_add_test(tc, test_previous_not_reused);
	tcase_add_test(tc, test_directory_replaced);
	tcase_add_test(tc, test_recorded_stamps_are_older_than_the_scan);
	tcase_add_test(tc, test_read_dists_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(incremental_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
