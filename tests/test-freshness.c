/* SPDX-License-Identifier: MIT */
/*
 * Rebuilding and judging caches: every validation mode, the racy-timestamp
 * rule, trust (ownership and permissions), and the writer's failure paths
 * as seen through epcache_rebuild().
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "epcache-private.h"
#include "fixtures.h"
#include "test-skip.h"

static char *site;
static struct epcache *ctx;

static void
quiet(struct epcache *c, enum epcache_log_priority p, void *ud,
      const char *fmt, va_list args)
{
	(void)c;
	(void)p;
	(void)ud;
	(void)fmt;
	(void)args;
}

static void
setup(void)
{
	site = fx_tmpdir();
	ctx = epcache_new();
	epcache_set_log_handler(ctx, quiet, NULL);
	setenv("PKGSYSTEM_ENABLE_FSYNC", "0", 1);
}

static void
teardown(void)
{
	fx_rmrf(site);
	free(site);
	epcache_free(ctx);
}

static enum epcache_status
status_of(const char *dir, char *reason_out)
{
	struct ep_cache_file cf;
	enum epcache_status st;
	char reason[256];
	char *egg = ep_egg_name_for_path(dir);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ep_cache_evaluate(fd, egg, false, &cf, &st, reason,
					   sizeof(reason)),
			 0);
	if (st == EPCACHE_STATUS_FRESH)
		ep_cache_close(&cf);
	if (reason_out)
		strcpy(reason_out, reason);
	free(egg);
	close(fd);
	return st;
}

static void
rebuild(enum epcache_mode mode)
{
	bool rebuilt;

	ck_assert_int_eq(epcache_rebuild(ctx, site, mode, 0, &rebuilt), 0);
	ck_assert(rebuilt);
}

static char *
cache_path(void)
{
	return fx_path(site, EP_CACHE_SUBDIR "/" EP_CACHE_FILE);
}

/* The racy rule's guarantee: what the cache recorded of @path is strictly
 * older than the writer's t0, the last time it touched the lock. */
static void
assert_older_than_t0(const char *path)
{
	char *lockp = fx_path(site, EP_CACHE_SUBDIR "/" EP_CACHE_LOCK);
	struct stat st, lock;

	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(stat(lockp, &lock), 0);
	ck_assert_msg(st.st_mtim.tv_sec < lock.st_mtim.tv_sec ||
			      (st.st_mtim.tv_sec == lock.st_mtim.tv_sec &&
			       st.st_mtim.tv_nsec < lock.st_mtim.tv_nsec),
		      "%s not older than t0", path);
	free(lockp);
}

START_TEST(test_missing_then_fresh)
{
	char reason[256];

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_MISSING);
	ck_assert_str_eq(reason, "no cache");
	rebuild(EPCACHE_MODE_MTIME);
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_FRESH);
}
END_TEST

START_TEST(test_mtime_mode_install_and_remove)
{
	char *p;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	fx_dist(site, "b-1.dist-info", "b", "1", "[g]\nb = b\n");
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_STALE);
	rebuild(EPCACHE_MODE_MTIME);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
	p = fx_path(site, "b-1.dist-info");
	fx_rmrf(p);
	free(p);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_STALE);
}
END_TEST

/* An upgrade that keeps the dist-info name: only strict mode notices. */
START_TEST(test_in_place_upgrade)
{
	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	fx_write(site, "a-1.dist-info/entry_points.txt", "[g]\na = changed\n");
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);

	rebuild(EPCACHE_MODE_STRICT);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
	fx_write(site, "a-1.dist-info/entry_points.txt", "[g]\na = again!\n");
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_STALE);
	rebuild(EPCACHE_MODE_STRICT);
	fx_write(site, "a-1.dist-info/PKG-INFO", "Name: a\n");
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_STALE);
}
END_TEST

START_TEST(test_trust_mode)
{
	bool rebuilt;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_TRUST);
	fx_dist(site, "b-1.dist-info", "b", "1", "[g]\nb = b\n");
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
	/* but the writer's -n does not take trust on faith */
	ck_assert_int_eq(epcache_rebuild(ctx, site, EPCACHE_MODE_TRUST,
					 EPCACHE_REBUILD_IF_STALE, &rebuilt),
			 0);
	ck_assert(rebuilt);
	ck_assert_int_eq(epcache_rebuild(ctx, site, EPCACHE_MODE_TRUST,
					 EPCACHE_REBUILD_IF_STALE, &rebuilt),
			 0);
	ck_assert(!rebuilt);
}
END_TEST

START_TEST(test_checksum_identity)
{
	struct ep_dir_identity a, b;
	int fd = open(site, O_RDONLY | O_DIRECTORY);

	fx_mkdir(site, "x.dist-info");
	ck_assert_int_eq(ep_dir_identity_get(fd, true, &a), 0);
	ck_assert(a.has_names);
	ck_assert(!a.names_only); /* not FAT */
	ck_assert_int_eq(ep_dir_identity_get(fd, false, &b), 0);
	ck_assert(!b.has_names);
	/* unchanged: equal, whether the names were listed or not */
	ck_assert(ep_dir_identity_equal(&a, &b));
	fx_mkdir(site, "y.dist-info");
	ck_assert_int_eq(ep_dir_identity_get(fd, true, &b), 0);
	ck_assert(a.names_sum != b.names_sum);
	/* and the cache subdirectory does not count */
	ck_assert_int_eq(ep_dir_identity_get(fd, true, &a), 0);
	fx_mkdir(site, EP_CACHE_SUBDIR);
	ck_assert_int_eq(ep_dir_identity_get(fd, true, &b), 0);
	ck_assert(a.names_sum == b.names_sum);
	close(fd);
}
END_TEST

static void
run(const char *cmd)
{
	int rc = system(cmd);

	ck_assert_msg(rc == 0, "%s: %d", cmd, rc);
}

/* Set the mtime of @dir (not following links) to @sec.@nsec. */
static void
set_mtime(const char *dir, time_t sec, long nsec)
{
	struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};

	ck_assert_int_eq(utimensat(AT_FDCWD, dir, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static struct timespec
mtime_of(const char *dir)
{
	struct stat st;

	ck_assert_int_eq(lstat(dir, &st), 0);
	return st.st_mtim;
}

/* A copy of the site made with cp -a, beside it: another inode, the same
 * nanosecond mtimes. */
static char *
copy_site(void)
{
	char *copy = fx_path(site, "../copy-XXXXXX");
	char cmd[4096];

	ck_assert_ptr_nonnull(mkdtemp(copy));
	snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", site, copy);
	run(cmd);
	/* cp -a sets the top directory's mtime last, as it was */
	ck_assert_int_eq(mtime_of(copy).tv_nsec, mtime_of(site).tv_nsec);
	return copy;
}

static void
free_copy(char *copy)
{
	fx_rmrf(copy);
	free(copy);
}

/* A site directory that travels with its cache: copied, its mtimes cut
 * to whole seconds or set back; fresh, in one listing. */
START_TEST(test_moved_fresh)
{
	char reason[256];
	struct timespec t;
	char *copy;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	fx_dist(site, "b-2.egg-info", "b", "2", "[g]\nb = b\n");
	rebuild(EPCACHE_MODE_MTIME);
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_FRESH);
	ck_assert_str_eq(reason, "directory unchanged");
	copy = copy_site();
	ck_assert_int_eq(status_of(copy, reason), EPCACHE_STATUS_FRESH);
	ck_assert_msg(strstr(reason, "moved"), "%s", reason);
	/* whole seconds (GNU tar, image layers) */
	t = mtime_of(copy);
	set_mtime(copy, t.tv_sec, 0);
	ck_assert_int_eq(status_of(copy, NULL), EPCACHE_STATUS_FRESH);
	/* ostree's 0 and 1, SOURCE_DATE_EPOCH's clamp */
	set_mtime(copy, 0, 0);
	ck_assert_int_eq(status_of(copy, NULL), EPCACHE_STATUS_FRESH);
	set_mtime(copy, 1, 0);
	ck_assert_int_eq(status_of(copy, NULL), EPCACHE_STATUS_FRESH);
	set_mtime(copy, t.tv_sec - 3600, 0);
	ck_assert_int_eq(status_of(copy, NULL), EPCACHE_STATUS_FRESH);
	/* in place too: the same directory with its mtime set back */
	set_mtime(site, 1, 0);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
	/* a later mtime is a change since the cache was written, even
	 * with the same names */
	set_mtime(copy, t.tv_sec, t.tv_nsec + (t.tv_nsec < 999999999 ? 1 : -1));
	if (t.tv_nsec < 999999999) {
		ck_assert_int_eq(status_of(copy, reason), EPCACHE_STATUS_STALE);
		ck_assert_str_eq(reason,
				 "directory modified since the cache was built");
	}
	set_mtime(copy, t.tv_sec + 1, 0);
	ck_assert_int_eq(status_of(copy, NULL), EPCACHE_STATUS_STALE);
	free_copy(copy);
}
END_TEST

/* After the move, what an installer that ran no hook does is seen: an
 * install, an upgrade, a removal change the names; the mtime set back
 * afterwards (a normalized tree) does not hide that. */
START_TEST(test_moved_then_changed)
{
	char reason[256];

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	fx_dist(site, "b-2.egg-info", "b", "2", "[g]\nb = b\n");
	rebuild(EPCACHE_MODE_MTIME);
	for (int i = 0; i < 3; i++) {
		char *copy = copy_site();
		char cmd[4096];

		/* an install, an upgrade, a removal */
		if (i == 0)
			snprintf(cmd, sizeof(cmd), "mkdir '%s/c-1.dist-info'",
				 copy);
		else if (i == 1)
			snprintf(cmd, sizeof(cmd),
				 "mv '%s/a-1.dist-info' '%s/a-2.dist-info'",
				 copy, copy);
		else
			snprintf(cmd, sizeof(cmd), "rm -r '%s/b-2.egg-info'",
				 copy);
		run(cmd);
		ck_assert_int_eq(status_of(copy, reason), EPCACHE_STATUS_STALE);
		ck_assert_str_eq(reason, "directory modified since the cache "
					 "was built");
		set_mtime(copy, 1, 0);
		ck_assert_int_eq(status_of(copy, reason), EPCACHE_STATUS_STALE);
		ck_assert_str_eq(reason, "directory entries changed since the "
					 "cache was built");
		free_copy(copy);
	}
}
END_TEST

/* In place, a reinstall of the same version (the same names) is a later
 * mtime: caught, as before the rule knew of moves. Once the timestamps
 * are set back after it, nothing in mtime mode can see it: the limit the
 * man page states. */
START_TEST(test_same_version_reinstall)
{
	char reason[256];

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	run("sleep 0.01");
	{
		char cmd[4096];

		snprintf(cmd, sizeof(cmd), "rm -r '%s/a-1.dist-info'", site);
		run(cmd);
	}
	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\nother = b\n");
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_STALE);
	ck_assert_str_eq(reason, "directory modified since the cache was built");
	set_mtime(site, 0, 0);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
}
END_TEST

/* Strict mode on a moved directory compares each file's presence, size
 * and mtime (not later): inodes and ctimes are new wherever it lands. */
START_TEST(test_moved_strict)
{
	char reason[256];
	char *copy, *ep;
	struct timespec t;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_STRICT);
	copy = copy_site();
	ck_assert_int_eq(status_of(copy, reason), EPCACHE_STATUS_FRESH);
	ck_assert_msg(strstr(reason, "every distribution's files"), "%s",
		      reason);
	/* a file rewritten in the copy, the directory's mtime put back */
	t = mtime_of(copy);
	ep = fx_path(copy, "a-1.dist-info/entry_points.txt");
	fx_write(copy, "a-1.dist-info/entry_points.txt", "[g]\na = a\nb = b\n");
	set_mtime(copy, t.tv_sec, t.tv_nsec);
	ck_assert_int_eq(status_of(copy, reason), EPCACHE_STATUS_STALE);
	ck_assert_str_eq(reason, "a distribution changed since the cache was "
				 "built");
	/* the same size, but a later mtime */
	fx_write(copy, "a-1.dist-info/entry_points.txt", "[g]\na = b\n");
	set_mtime(copy, t.tv_sec, t.tv_nsec);
	ck_assert_int_eq(status_of(copy, NULL), EPCACHE_STATUS_STALE);
	/* every mtime set back: the same size passes (the stated limit) */
	set_mtime(ep, 1, 0);
	ck_assert_int_eq(status_of(copy, NULL), EPCACHE_STATUS_FRESH);
	/* another size does not, whatever the mtime */
	fx_write(copy, "a-1.dist-info/entry_points.txt", "[g]\na = bb\n");
	set_mtime(ep, 1, 0);
	set_mtime(copy, t.tv_sec, t.tv_nsec);
	ck_assert_int_eq(status_of(copy, reason), EPCACHE_STATUS_STALE);
	free(ep);
	free_copy(copy);
}
END_TEST

/* Rewriting a cache that is fresh by the moved rule would only churn an
 * image's layers: -n leaves it, byte for byte and inode. */
START_TEST(test_moved_not_rewritten)
{
	struct stat a, b;
	bool rebuilt;
	char *copy, *p;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	copy = copy_site();
	p = fx_path(copy, EP_CACHE_SUBDIR "/" EP_CACHE_FILE);
	ck_assert_int_eq(stat(p, &a), 0);
	ck_assert_int_eq(epcache_rebuild(ctx, copy, EPCACHE_MODE_MTIME,
					 EPCACHE_REBUILD_IF_STALE, &rebuilt),
			 0);
	ck_assert(!rebuilt);
	ck_assert_int_eq(stat(p, &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	/* a changed copy is rebuilt, from scratch: no record is taken over
	 * from a cache of another directory */
	fx_dist(copy, "c-1.dist-info", "c", "1", "[g]\nc = c\n");
	ck_assert_int_eq(epcache_rebuild(ctx, copy, EPCACHE_MODE_MTIME,
					 EPCACHE_REBUILD_IF_STALE, &rebuilt),
			 0);
	ck_assert(rebuilt);
	ck_assert_int_eq(status_of(copy, NULL), EPCACHE_STATUS_FRESH);
	free(p);
	free_copy(copy);
}
END_TEST

/* The listing's order as "a,b,..." */
static void
listing_of(const char *dir, char *out, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	out[0] = '\0';
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".dist-info"))
			snprintf(out + strlen(out), len - strlen(out), "%s,",
				 de->d_name);
	closedir(d);
}

/* The values of group g, as "v,v,..." */
static void
answer_of(const char *dir, char *out, size_t len)
{
	struct epcache_lookup *lk;
	struct epcache_selection *sel;

	ck_assert_int_eq(epcache_lookup_new(ctx, &dir, 1, 0, &lk), 0);
	ck_assert_int_eq(epcache_lookup_select(lk, "g", NULL, &sel), 0);
	out[0] = '\0';
	for (size_t i = 0; i < epcache_selection_get_count(sel); i++)
		snprintf(out + strlen(out), len - strlen(out), "%s,",
			 epcache_entry_get_value(
				 epcache_selection_get_entry(sel, i)));
	epcache_selection_free(sel);
	epcache_lookup_free(lk);
}

/*
 * importlib follows the listing's order, and which of two distributions
 * of one name wins follows it too; on another filesystem the same names
 * come in another order (tmpfs lists the newest first). A cache that
 * travelled there is fresh, and answers in the new order, from its
 * records: the dist that wins there, not the one that won here.
 */
START_TEST(test_moved_reordered)
{
	char *shm = strdup("/dev/shm/epcache-test-XXXXXX");
	char cmd[4096], reason[256], order[256], ans[256], live[256];
	static const char *const names[] = {"Foo-1.dist-info", "foo-2.dist-info",
					    "b-1.dist-info"};
	struct timespec t;

	ck_assert_ptr_nonnull(mkdtemp(shm));
	for (int i = 0; i < 3; i++) {
		char ep[64];

		snprintf(ep, sizeof(ep), "[g]\nx = %s\n", names[i]);
		fx_dist(site, names[i], i < 2 ? "foo" : "b", "1", ep);
	}
	rebuild(EPCACHE_MODE_MTIME);
	t = mtime_of(site);
	/* the copy, its entries made in the order the site lists them: tmpfs
	 * lists them the other way round, so that the other "foo" wins */
	listing_of(site, order, sizeof(order));
	for (char *n = order, *end; (end = strchr(n, ',')); n = end + 1) {
		*end = '\0';
		snprintf(cmd, sizeof(cmd), "cp -a '%s/%s' '%s/'", site, n, shm);
		run(cmd);
	}
	snprintf(cmd, sizeof(cmd), "cp -a '%s/" EP_CACHE_SUBDIR "' '%s/'",
		 site, shm);
	run(cmd);
	set_mtime(shm, t.tv_sec, t.tv_nsec);
	listing_of(site, order, sizeof(order));
	listing_of(shm, reason, sizeof(reason));
	ck_assert_str_ne(order, reason);
	answer_of(site, live, sizeof(live));
	ck_assert_int_eq(status_of(shm, reason), EPCACHE_STATUS_FRESH);
	ck_assert_msg(strstr(reason, "another order"), "%s", reason);
	answer_of(shm, ans, sizeof(ans));
	/* what a scan of the copy gives */
	snprintf(cmd, sizeof(cmd), "rm -r '%s/" EP_CACHE_SUBDIR "'", shm);
	run(cmd);
	ck_assert_str_ne(ans, live); /* the site's answer is not the copy's */
	answer_of(shm, live, sizeof(live));
	ck_assert_str_eq(ans, live);
	/* and the first of the two "foo" in the copy's listing wins there */
	listing_of(shm, order, sizeof(order));
	ck_assert_msg(strstr(ans, strstr(order, "oo-1") &&
					  (!strstr(order, "oo-2") ||
					   strstr(order, "oo-1") < strstr(order, "oo-2"))
				  ? "Foo-1" : "foo-2"),
		      "%s for %s", ans, order);
	fx_rmrf(shm);
	free(shm);
}
END_TEST

/* A cache of an older format is stale ("rebuild me"), not corrupt. */
START_TEST(test_older_version_is_stale)
{
	char reason[256];
	char *p = cache_path(), *data, *v;
	size_t len;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	data = fx_read(p, &len);
	v = strstr(data, "\"version\":" );
	ck_assert_ptr_nonnull(v);
	v[10] = '3';
	fx_write_len(site, EP_CACHE_SUBDIR "/" EP_CACHE_FILE, data, len);
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_STALE);
	ck_assert_str_eq(reason, "cache written in an older format version");
	free(data);
	free(p);
}
END_TEST

START_TEST(test_checksum_order_independent)
{
	uint64_t a, b;
	char *other = fx_tmpdir();
	int fa, fb;

	/* same names, created in opposite orders */
	fx_mkdir(site, "p");
	fx_mkdir(site, "q");
	fx_mkdir(other, "q");
	fx_mkdir(other, "p");
	fa = open(site, O_RDONLY | O_DIRECTORY);
	fb = open(other, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(ep_dir_names_checksum(fa, &a, NULL), 0);
	ck_assert_int_eq(ep_dir_names_checksum(fb, &b, NULL), 0);
	ck_assert(a == b);
	fx_mkdir(other, "pq");
	ck_assert_int_eq(ep_dir_names_checksum(fb, &b, NULL), 0);
	ck_assert(a != b);
	close(fa);
	close(fb);
	fx_rmrf(other);
	free(other);
}
END_TEST

/* The writer never records a directory mtime from the tick the scan
 * started in: a dist created right after the rebuild is always seen. */
START_TEST(test_racy_rounds)
{
	for (int i = 0; i < 200; i++) {
		char name[64], *p;

		snprintf(name, sizeof(name), "r%d-1.dist-info", i);
		fx_dist(site, name, "r", "1", "[g]\nr = r\n");
		rebuild(EPCACHE_MODE_MTIME);
		fx_mkdir(site, "extra");
		ck_assert_msg(status_of(site, NULL) == EPCACHE_STATUS_STALE,
			      "round %d: change after rebuild not seen", i);
		p = fx_path(site, "extra");
		rmdir(p);
		free(p);
		/* what the rule guarantees, directly */
		rebuild(EPCACHE_MODE_MTIME);
		assert_older_than_t0(site);
	}
}
END_TEST

/* A distribution directory written into just before the rebuild (an
 * installer filling a dist-info in place) makes the writer wait for the
 * next tick and rescan: the snapshot it records is older than its t0.
 * Kernels with multigrain timestamps rarely produce the same-tick case by
 * themselves, so the dist directory's mtime is set a little ahead. */
START_TEST(test_racy_dist_dir)
{
	for (int i = 0; i < 20; i++) {
		char name[64], *p;

		snprintf(name, sizeof(name), "d%d-1.dist-info", i);
		fx_dist(site, name, "d", "1", NULL);
		rebuild(EPCACHE_MODE_MTIME);
		/* the dist-info is filled in after its mkdir */
		snprintf(name, sizeof(name), "d%d-1.dist-info/entry_points.txt",
			 i);
		fx_write(site, name, "[g]\nd = d\n");
		snprintf(name, sizeof(name), "d%d-1.dist-info", i);
		p = fx_path(site, name);
		fx_set_mtime_ahead(p, 20);
		rebuild(EPCACHE_MODE_MTIME);
		assert_older_than_t0(p);
		free(p);
	}
}
END_TEST

/* The site directory itself stamped in (or after) the tick the rebuild
 * starts in: the writer waits for the clock, so that no later change can
 * share the recorded mtime. */
START_TEST(test_racy_site_dir)
{
	for (int i = 0; i < 10; i++) {
		char name[64];

		snprintf(name, sizeof(name), "s%d-1.dist-info", i);
		fx_dist(site, name, "s", "1", NULL);
		fx_set_mtime_ahead(site, 20);
		rebuild(EPCACHE_MODE_MTIME);
		assert_older_than_t0(site);
		ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
	}
}
END_TEST

START_TEST(test_if_stale)
{
	bool rebuilt;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	ck_assert_int_eq(epcache_rebuild(ctx, site, EPCACHE_MODE_MTIME,
					 EPCACHE_REBUILD_IF_STALE, &rebuilt),
			 0);
	ck_assert(rebuilt);
	ck_assert_int_eq(epcache_rebuild(ctx, site, EPCACHE_MODE_MTIME,
					 EPCACHE_REBUILD_IF_STALE, &rebuilt),
			 0);
	ck_assert(!rebuilt);
	/* a different mode is a reason to rebuild */
	ck_assert_int_eq(epcache_rebuild(ctx, site, EPCACHE_MODE_STRICT,
					 EPCACHE_REBUILD_IF_STALE, &rebuilt),
			 0);
	ck_assert(rebuilt);
	fx_dist(site, "b-1.dist-info", "b", "1", NULL);
	ck_assert_int_eq(epcache_rebuild(ctx, site, EPCACHE_MODE_STRICT,
					 EPCACHE_REBUILD_IF_STALE, &rebuilt),
			 0);
	ck_assert(rebuilt);
}
END_TEST

START_TEST(test_reproducible_rebuild)
{
	char *p = cache_path();
	char *a, *b;
	size_t la, lb;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	fx_dist(site, "b-1.dist-info", "b", "1", "[h]\nb = b\n");
	rebuild(EPCACHE_MODE_STRICT);
	a = fx_read(p, &la);
	rebuild(EPCACHE_MODE_STRICT);
	b = fx_read(p, &lb);
	ck_assert_uint_eq(la, lb);
	ck_assert(memcmp(a, b, la) == 0);
	free(a);
	free(b);
	free(p);
}
END_TEST

START_TEST(test_untrusted_modes)
{
	char *p = cache_path(), *d = fx_path(site, EP_CACHE_SUBDIR);
	char reason[256];

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	ck_assert_int_eq(chmod(p, 0664), 0);
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_UNTRUSTED);
	ck_assert_str_eq(reason, "cache file is writable by group or others");
	ck_assert_int_eq(chmod(p, 0646), 0);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_UNTRUSTED);
	ck_assert_int_eq(chmod(p, 0644), 0);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
	ck_assert_int_eq(chmod(d, 0777), 0);
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_UNTRUSTED);
	ck_assert_str_eq(reason, "cache directory is writable by group or others");
	ck_assert_int_eq(chmod(d, 0755), 0);
	free(p);
	free(d);
}
END_TEST

/* The writer never writes a cache its readers would reject: a
 * directory whose cache would be larger gets none (the old one goes
 * too), and readers scan it. The limit is lowered here; the real one
 * (EP_CACHE_MAX_SIZE) takes a gigabyte to reach. */
START_TEST(test_cache_too_large_not_written)
{
	char *p = cache_path();
	struct stat st;
	bool rebuilt = true;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	ck_assert_int_eq(stat(p, &st), 0);
	fx_dist(site, "b-1.dist-info", "b", "1", "[g]\nb = b\n");
	ctx->max_cache_size = (size_t)st.st_size - 1;
	ck_assert_int_eq(epcache_rebuild(ctx, site, EPCACHE_MODE_MTIME, 0,
					 &rebuilt),
			 -EFBIG);
	ck_assert(!rebuilt);
	ck_assert_int_eq(stat(p, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ctx->max_cache_size = EP_CACHE_MAX_SIZE;
	rebuild(EPCACHE_MODE_MTIME);
	ck_assert_int_eq(stat(p, &st), 0);
	free(p);
}
END_TEST

START_TEST(test_untrusted_owner)
{
	char *p = cache_path();
	char reason[256];

	if (geteuid() != 0) {
		test_skip("test_untrusted_owner", "needs root to chown");
		free(p);
		return;
	}
	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	/* root-owned site, cache owned by somebody else */
	ck_assert_int_eq(chown(p, 65534, 65534), 0);
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_UNTRUSTED);
	ck_assert_str_eq(reason, "cache file is owned by neither root nor the "
				 "directory's owner");
	/* ... unless that somebody owns the site directory */
	ck_assert_int_eq(chown(site, 65534, 65534), 0);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
	free(p);
}
END_TEST

START_TEST(test_symlinked_cache_refused)
{
	char *d = fx_path(site, EP_CACHE_SUBDIR);
	char *elsewhere = fx_tmpdir(), *target;
	char reason[256];
	bool rebuilt;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	target = fx_path(elsewhere, "c");
	fx_mkdir(elsewhere, "c");
	ck_assert_int_eq(symlink(target, d), 0);
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_UNTRUSTED);
	ck_assert_int_lt(epcache_rebuild(ctx, site, EPCACHE_MODE_MTIME, 0,
					 &rebuilt),
			 0);
	ck_assert(!rebuilt);
	{
		char *lock = fx_path(target, EP_CACHE_LOCK);

		ck_assert(!fx_exists(lock)); /* nothing created over there */
		free(lock);
	}
	free(target);
	free(d);
	fx_rmrf(elsewhere);
	free(elsewhere);
}
END_TEST

START_TEST(test_corrupt_and_unknown_version)
{
	char reason[256];

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	fx_write(site, EP_CACHE_SUBDIR "/" EP_CACHE_FILE, "garbage");
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_CORRUPT);
	fx_write(site, EP_CACHE_SUBDIR "/" EP_CACHE_FILE,
		 "{\"header\":{\"format\":\"epcache-entry-points\",\"version\":9}"
		 ",\n\"data\":{}}\n");
	ck_assert_int_eq(status_of(site, reason), EPCACHE_STATUS_CORRUPT);
	ck_assert_str_eq(reason, "unknown cache format version");
	/* the next rebuild repairs it */
	rebuild(EPCACHE_MODE_MTIME);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
}
END_TEST

static int
rebuild_as_nobody(void *data)
{
	struct epcache *c = epcache_new();
	int rc;

	epcache_set_log_handler(c, quiet, NULL);
	rc = epcache_rebuild(c, data, EPCACHE_MODE_MTIME, 0, NULL);
	epcache_free(c);
	return rc == -EACCES ? 0 : 1;
}

START_TEST(test_unwritable_dir_keeps_cache)
{
	char *p = cache_path();
	char *before, *after;
	size_t lb, la;
	int rc;

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	before = fx_read(p, &lb);
	fx_dist(site, "b-1.dist-info", "b", "1", "[g]\nb = b\n");
	rc = fx_as_nobody(rebuild_as_nobody, site);
	if (rc < 0) {
		test_skip("test_unwritable_dir_keeps_cache", "not root");
	} else {
		ck_assert_int_eq(rc, 0);
		after = fx_read(p, &la);
		ck_assert_uint_eq(la, lb);
		ck_assert(memcmp(before, after, la) == 0);
		free(after);
	}
	free(before);
	free(p);
}
END_TEST

START_TEST(test_root_writes_user_owned)
{
	char *p = cache_path(), *d = fx_path(site, EP_CACHE_SUBDIR);
	struct stat st;

	if (geteuid() != 0) {
		test_skip("test_root_writes_user_owned", "needs root");
		free(p);
		free(d);
		return;
	}
	ck_assert_int_eq(chown(site, 65534, 65534), 0);
	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(stat(d, &st), 0);
	ck_assert_uint_eq(st.st_uid, 65534);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_FRESH);
	free(p);
	free(d);
}
END_TEST

START_TEST(test_rebuild_errors)
{
	char *f = fx_path(site, "file");

	ck_assert_int_eq(epcache_rebuild(ctx, "/nonexistent/epcache", 0, 0, NULL),
			 -ENOENT);
	fx_write(site, "file", "x");
	ck_assert_int_eq(epcache_rebuild(ctx, f, 0, 0, NULL), -ENOTDIR);
	ck_assert_int_eq(epcache_rebuild(ctx, site, (enum epcache_mode)7, 0,
					 NULL),
			 -EINVAL);
	free(f);
}
END_TEST

START_TEST(test_remove)
{
	char *d = fx_path(site, EP_CACHE_SUBDIR);

	fx_dist(site, "a-1.dist-info", "a", "1", "[g]\na = a\n");
	rebuild(EPCACHE_MODE_MTIME);
	ck_assert(fx_exists(d));
	ck_assert_int_eq(epcache_remove(ctx, site), 0);
	ck_assert(!fx_exists(d));
	ck_assert_int_eq(epcache_remove(ctx, site), 0);
	ck_assert_int_eq(status_of(site, NULL), EPCACHE_STATUS_MISSING);
	free(d);
}
END_TEST

START_TEST(test_mode_strings)
{
	enum epcache_mode m;

	ck_assert_str_eq(epcache_mode_to_str(EPCACHE_MODE_STRICT), "strict");
	ck_assert_int_eq(epcache_mode_from_str("trust", &m), 0);
	ck_assert_int_eq(m, EPCACHE_MODE_TRUST);
	ck_assert_int_eq(epcache_mode_from_str("MTIME", &m), -EINVAL);
	ck_assert_int_eq(epcache_mode_from_str(NULL, &m), -EINVAL);
	ck_assert_ptr_null(epcache_mode_to_str((enum epcache_mode)3));
	ck_assert_str_eq(epcache_status_to_str(EPCACHE_STATUS_UNSUPPORTED),
			 "unsupported");
	ck_assert_ptr_null(epcache_status_to_str((enum epcache_status)6));
}
END_TEST

static Suite *
freshness_suite(void)
{
	Suite *s = suite_create("freshness");
	TCase *tc = tcase_create("rebuild");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_missing_then_fresh);
	tcase_add_test(tc, test_mtime_mode_install_and_remove);
	tcase_add_test(tc, test_in_place_upgrade);
	tcase_add_test(tc, test_trust_mode);
	tcase_add_test(tc, test_checksum_identity);
	tcase_add_test(tc, test_checksum_order_independent);
	tcase_add_test(tc, test_moved_fresh);
	tcase_add_test(tc, test_moved_then_changed);
	tcase_add_test(tc, test_same_version_reinstall);
	tcase_add_test(tc, test_moved_strict);
	tcase_add_test(tc, test_moved_not_rewritten);
	tcase_add_test(tc, test_moved_reordered);
	tcase_add_test(tc, test_older_version_is_stale);
	tcase_add_test(tc, test_racy_rounds);
	tcase_add_test(tc, test_racy_dist_dir);
	tcase_add_test(tc, test_racy_site_dir);
	tcase_add_test(tc, test_if_stale);
	tcase_add_test(tc, test_reproducible_rebuild);
	tcase_add_test(tc, test_untrusted_modes);
	tcase_add_test(tc, test_untrusted_owner);
	tcase_add_test(tc, test_cache_too_large_not_written);
	tcase_add_test(tc, test_symlinked_cache_refused);
	tcase_add_test(tc, test_corrupt_and_unknown_version);
	tcase_add_test(tc, test_unwritable_dir_keeps_cache);
	tcase_add_test(tc, test_root_writes_user_owned);
	tcase_add_test(tc, test_rebuild_errors);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_mode_strings);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	test_skip_init();
	sr = srunner_create(freshness_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return test_skip_exit(failed);
}
