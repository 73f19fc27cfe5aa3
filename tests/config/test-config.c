/* SPDX-License-Identifier: MIT */
/*
 * Tests for the configuration loader: the schema and every way a file can
 * break it (each with its line and column), the merging of drop-ins, the
 * built-in list, and the expansion of configured directories below a root.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epcache-private.h"
#include "fixtures.h"

static char *tmp;

static void
setup(void)
{
	tmp = fx_tmpdir();
}

static void
teardown(void)
{
	fx_rmrf(tmp);
	free(tmp);
	tmp = NULL;
}

static int
load_str(struct ep_config *cfg, const char *yaml, char **error)
{
	return ep_config_load_buffer(cfg, "t.yaml", yaml, strlen(yaml), error);
}

START_TEST(test_full_schema)
{
	struct ep_config cfg;
	char *error = NULL;

	ep_config_init(&cfg);
	ck_assert(cfg.fsync);
	ck_assert_int_eq(cfg.mode, EPCACHE_MODE_MTIME);
	ck_assert_uint_eq(cfg.ndirs, 0);

	ck_assert_int_eq(load_str(&cfg,
				  "# comment\n"
				  "fsync: false\n"
				  "mode: strict\n"
				  "directories:\n"
				  "  - /usr/local/lib/python3*/dist-packages\n"
				  "  - path: /usr/lib/python3/dist-packages\n"
				  "    mode: trust\n"
				  "  - {path: '/opt/x', mode: mtime}\n"
				  "  - \"/opt/y\"\n",
				  &error),
			 0);
	ck_assert_ptr_null(error);
	ck_assert(!cfg.fsync);
	ck_assert_int_eq(cfg.mode, EPCACHE_MODE_STRICT);
	ck_assert_uint_eq(cfg.ndirs, 4);
	ck_assert_str_eq(cfg.dirs[0].path,
			 "/usr/local/lib/python3*/dist-packages");
	ck_assert(!cfg.dirs[0].has_mode);
	ck_assert_str_eq(cfg.dirs[1].path, "/usr/lib/python3/dist-packages");
	ck_assert(cfg.dirs[1].has_mode);
	ck_assert_int_eq(cfg.dirs[1].mode, EPCACHE_MODE_TRUST);
	ck_assert_str_eq(cfg.dirs[2].path, "/opt/x");
	ck_assert(cfg.dirs[2].has_mode);
	ck_assert_int_eq(cfg.dirs[2].mode, EPCACHE_MODE_MTIME);
	ck_assert_str_eq(cfg.dirs[3].path, "/opt/y");
	ep_config_release(&cfg);
	ck_assert_uint_eq(cfg.ndirs, 0);
	ck_assert_ptr_null(cfg.dirs);
}
END_TEST

START_TEST(test_empty_documents)
{
	static const char *const inputs[] = {
		"",
		"# only a comment\n",
		"---\n",
		"---\n...\n",
		"~\n",
		"{}\n",
		"directories:\n",
		"directories: []\n",
		"fsync: !!bool true\nmode: !!str mtime\n",
	};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct ep_config cfg;
		char *error = NULL;
		int rc;

		ep_config_init(&cfg);
		rc = load_str(&cfg, inputs[i], &error);
		ck_assert_msg(rc == 0, "input %zu: %d %s", i, rc,
			      error ? error : "");
		ck_assert_uint_eq(cfg.ndirs, 0);
		ck_assert(cfg.fsync);
		ck_assert_int_eq(cfg.mode, EPCACHE_MODE_MTIME);
		ep_config_release(&cfg);
	}
}
END_TEST

START_TEST(test_merge_later_wins)
{
	struct ep_config cfg;
	char *error = NULL;

	ep_config_init(&cfg);
	ck_assert_int_eq(load_str(&cfg,
				  "mode: strict\nfsync: false\n"
				  "directories: [/a, /b]\n",
				  &error),
			 0);
	ck_assert_int_eq(load_str(&cfg, "mode: trust\ndirectories: [/c]\n",
				  &error),
			 0);
	ck_assert_int_eq(load_str(&cfg, "fsync: TRUE\n", &error), 0);
	ck_assert_ptr_null(error);
	ck_assert(cfg.fsync);
	ck_assert_int_eq(cfg.mode, EPCACHE_MODE_TRUST);
	ck_assert_uint_eq(cfg.ndirs, 3);
	ck_assert_str_eq(cfg.dirs[0].path, "/a");
	ck_assert_str_eq(cfg.dirs[2].path, "/c");
	ep_config_release(&cfg);
}
END_TEST

struct bad_case {
	const char *yaml;
	size_t len; /* 0: strlen */
	const char *error;
};

/* Every error class, with the line and column it must name. */
static const struct bad_case bad_cases[] = {
	/* syntax, from libyaml's problem and mark */
	{ "mode: [x\n", 0, "t.yaml:2:1: did not find expected ',' or ']'" },
	{ "fsync: true\nmode: strict\n  x: 1\n", 0,
	  "t.yaml:3:4: mapping values are not allowed in this context" },
	{ "directories:\n  - /a\n - /b\n", 0, "t.yaml:3:2: " },
	{ "mode: \"mtime\n", 0, "t.yaml:2:1: found unexpected end of stream" },
	/* unknown keys */
	{ "fsync: true\nfoo: 1\n", 0,
	  "t.yaml:2:1: unknown key 'foo' (expected fsync, mode or directories)" },
	{ "directories:\n  - path: /a\n    moed: strict\n", 0,
	  "t.yaml:3:5: unknown key 'moed' in a directory (expected path or mode)" },
	{ "Mode: strict\n", 0, "t.yaml:1:1: unknown key 'Mode'" },
	{ "? [a]\n: 1\n", 0,
	  "t.yaml:1:3: configuration: expected a key, got a sequence" },
	{ "1: x\n", 0, "t.yaml:1:1: configuration: expected a key, got an integer" },
	/* duplicates within one file */
	{ "mode: mtime\nmode: strict\n", 0, "t.yaml:2:1: duplicate key 'mode'" },
	{ "directories:\n  - {path: /a, path: /b}\n", 0,
	  "t.yaml:2:16: duplicate key 'path'" },
	{ "directories:\n  - {path: /a, mode: trust, mode: trust}\n", 0,
	  "t.yaml:2:29: duplicate key 'mode'" },
	/* the root */
	{ "- /usr\n", 0,
	  "t.yaml:1:1: configuration: expected a mapping of fsync, mode and directories, got a sequence" },
	{ "42\n", 0, "t.yaml:1:1: configuration: expected a mapping of fsync, mode and directories, got an integer" },
	{ "mode: mtime\n---\nmode: strict\n", 0,
	  "t.yaml:2:1: more than one document" },
	/* fsync: wrong types */
	{ "fsync: 1\n", 0, "t.yaml:1:8: fsync: expected true or false, got an integer" },
	{ "fsync: yes\n", 0, "t.yaml:1:8: fsync: expected true or false, got a string" },
	{ "fsync: \"true\"\n", 0, "t.yaml:1:8: fsync: expected true or false, got a string" },
	{ "fsync:\n", 0, "t.yaml:1:7: fsync: expected true or false, got null" },
	{ "fsync: [true]\n", 0, "t.yaml:1:8: fsync: expected true or false, got a sequence" },
	{ "fsync: !!bool yes\n", 0, "t.yaml:1:8: invalid boolean 'yes'" },
	/* mode: wrong types and bad values */
	{ "mode: 3\n", 0, "t.yaml:1:7: mode: expected a string, got an integer" },
	{ "mode: 1.5e3\n", 0, "t.yaml:1:7: mode: expected a string, got a number" },
	{ "mode: true\n", 0, "t.yaml:1:7: mode: expected a string, got a boolean" },
	{ "mode: ~\n", 0, "t.yaml:1:7: mode: expected a string, got null" },
	{ "mode: {a: b}\n", 0, "t.yaml:1:7: mode: expected a string, got a mapping" },
	{ "mode: fast\n", 0,
	  "t.yaml:1:7: mode: invalid mode 'fast' (expected mtime, strict or trust)" },
	{ "mode: MTIME\n", 0, "t.yaml:1:7: mode: invalid mode 'MTIME'" },
	{ "directories:\n  - path: /a\n    mode: 0x10\n", 0,
	  "t.yaml:3:11: mode: expected a string, got an integer" },
	{ "directories:\n  - {path: /a, mode: lazy}\n", 0,
	  "t.yaml:2:22: mode: invalid mode 'lazy'" },
	{ "mode: !foo mtime\n", 0, "t.yaml:1:7: unsupported tag '!foo'" },
	/* directories: wrong types */
	{ "directories: /usr\n", 0,
	  "t.yaml:1:14: directories: expected a sequence, got a string" },
	{ "directories: {path: /a}\n", 0,
	  "t.yaml:1:14: directories: expected a sequence, got a mapping" },
	{ "directories:\n  - 5\n", 0, "t.yaml:2:5: path: expected a string, got an integer" },
	{ "directories:\n  -\n", 0, "t.yaml:2:4: path: expected a string, got null" },
	{ "directories:\n  - [/a]\n", 0,
	  "t.yaml:2:5: directories: expected a path or a mapping of path and mode, got a sequence" },
	{ "directories:\n  - path: [/a]\n", 0,
	  "t.yaml:2:11: path: expected a string, got a sequence" },
	{ "directories:\n  - mode: strict\n", 0, "t.yaml:2:5: directory without a path" },
	{ "directories: !!set [/a]\n", 0, "t.yaml:1:14: unsupported tag 'tag:yaml.org,2002:set'" },
	/* paths */
	{ "directories:\n  - ''\n", 0, "t.yaml:2:5: path: empty path" },
	{ "directories:\n  - path: \"\"\n", 0, "t.yaml:2:11: path: empty path" },
	{ "directories:\n  - usr/lib\n", 0, "t.yaml:2:5: path: 'usr/lib' is not absolute" },
	{ "directories: [\"/a\\0b\"]\n", 0, "t.yaml:1:15: path: contains a NUL character" },
	/* not UTF-8, NUL bytes: the reader's offset turned into line:col */
	{ "mode: strict\nfsync: \xff\n", 0,
	  "t.yaml:2:8: invalid leading UTF-8 octet (0xFF)" },
	{ "directories: [/\xc3\xa9t\xc3\xa9, /\xc3(]\n", 0,
	  "t.yaml:1:23: invalid trailing UTF-8 octet (0x28)" },
	{ "mode: mtime\n\0\n", 14, "t.yaml:2:1: control characters are not allowed (0x0)" },
	{ "\xfe\xff\0m\0o\0d\0e", 10, "t.yaml:1:1: invalid leading UTF-8 octet (0xFE)" },
	/* anchors are fine, aliases are not */
	{ "directories: [&d /a, *d]\n", 0, "t.yaml:1:22: aliases are not supported" },
};

START_TEST(test_bad_input)
{
	const struct bad_case *c = &bad_cases[_i];
	size_t len = c->len ? c->len : strlen(c->yaml);
	struct ep_config cfg;
	char *error = NULL;
	int rc;

	ep_config_init(&cfg);
	rc = ep_config_load_buffer(&cfg, "t.yaml", c->yaml, len, &error);
	ck_assert_msg(rc == -EINVAL, "case %d: rc %d", _i, rc);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strncmp(error, c->error, strlen(c->error)) == 0,
		      "case %d: got \"%s\", want \"%s\"", _i, error, c->error);
	free(error);
	ep_config_release(&cfg);
}
END_TEST

START_TEST(test_error_replaces_earlier_error)
{
	struct ep_config cfg;
	char *error = NULL;

	ep_config_init(&cfg);
	ck_assert_int_eq(load_str(&cfg, "x: 1\n", &error), -EINVAL);
	ck_assert_int_eq(load_str(&cfg, "\n\nmode: 2\n", &error), -EINVAL);
	ck_assert_str_eq(error, "t.yaml:3:7: mode: expected a string, got an integer");
	free(error);
	ep_config_release(&cfg);
}
END_TEST

START_TEST(test_load_file_errors)
{
	struct ep_config cfg;
	char *error = NULL, *path, *want;
	char *big;

	ep_config_init(&cfg);

	path = fx_path(tmp, "missing.yaml");
	ck_assert_int_eq(ep_config_load_file(&cfg, path, &error), -ENOENT);
	ck_assert_int_ne(asprintf(&want, "%s: No such file or directory", path), -1);
	ck_assert_str_eq(error, want);
	free(want);
	free(path);

	fx_mkdir(tmp, "dir.yaml");
	path = fx_path(tmp, "dir.yaml");
	ck_assert_int_eq(ep_config_load_file(&cfg, path, &error), -EISDIR);
	ck_assert_int_ne(asprintf(&want, "%s: Is a directory", path), -1);
	ck_assert_str_eq(error, want);
	free(want);
	free(path);

	path = fx_path(tmp, "fifo.yaml");
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	ck_assert_int_eq(ep_config_load_file(&cfg, path, &error), -EINVAL);
	ck_assert_int_ne(asprintf(&want, "%s: not a regular file", path), -1);
	ck_assert_str_eq(error, want);
	free(want);
	free(path);

	big = calloc(EP_CONFIG_MAX_SIZE + 2, 1);
	ck_assert_ptr_nonnull(big);
	memset(big, '#', EP_CONFIG_MAX_SIZE + 1);
	fx_write(tmp, "big.yaml", big);
	free(big);
	path = fx_path(tmp, "big.yaml");
	ck_assert_int_eq(ep_config_load_file(&cfg, path, &error), -EFBIG);
	ck_assert_ptr_nonnull(strstr(error, ": larger than 1048576 bytes"));
	free(path);

	/* a syntax error names the file as given */
	fx_write(tmp, "bad.yaml", "mode: strict\nfsync: maybe\n");
	path = fx_path(tmp, "bad.yaml");
	ck_assert_int_eq(ep_config_load_file(&cfg, path, &error), -EINVAL);
	ck_assert_int_ne(asprintf(&want, "%s:2:8: fsync: expected true or false, got a string", path), -1);
	ck_assert_str_eq(error, want);
	free(want);
	free(path);

	free(error);
	ep_config_release(&cfg);
}
END_TEST

static void
write_etc(const char *root, const char *rel, const char *content)
{
	char *etc = fx_path(root, EPCACHE_SYSCONFDIR);

	fx_write(etc, rel, content);
	free(etc);
}

START_TEST(test_dropins_in_name_order)
{
	struct ep_config cfg;
	char *error = NULL, *etc, *d, *link;

	write_etc(tmp, EP_CONFIG_FILE, "mode: strict\ndirectories: [/main]\n");
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/20-b.yaml",
		  "mode: trust\ndirectories: [/b]\n");
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/10-a.yaml",
		  "fsync: false\ndirectories: [/a]\n");
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/Z-upper.yaml",
		  "directories: [/upper]\n");
	/* not drop-ins: other suffixes, dot files, non-regular files */
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/30-c.yml", "bad: 1\n");
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/40-d.yaml.dpkg-old", "bad: 1\n");
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/.50-e.yaml", "bad: 1\n");
	etc = fx_path(tmp, EPCACHE_SYSCONFDIR);
	d = fx_path(etc, EP_CONFIG_DROPIN_DIR);
	fx_mkdir(d, "60-dir.yaml");
	link = fx_path(d, "70-masked.yaml");
	ck_assert_int_eq(symlink("/dev/null", link), 0);

	ep_config_init(&cfg);
	ck_assert_int_eq(ep_config_load(&cfg, tmp, NULL, &error), 0);
	ck_assert_ptr_null(error);
	ck_assert_uint_eq(cfg.ndirs, 4);
	/* strcmp order: digits, then upper case */
	ck_assert_str_eq(cfg.dirs[0].path, "/main");
	ck_assert_str_eq(cfg.dirs[1].path, "/a");
	ck_assert_str_eq(cfg.dirs[2].path, "/b");
	ck_assert_str_eq(cfg.dirs[3].path, "/upper");
	ck_assert_int_eq(cfg.mode, EPCACHE_MODE_TRUST);
	ck_assert(!cfg.fsync);
	ep_config_release(&cfg);

	/* a bad drop-in is an error naming it */
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/15-bad.yaml", "\nmode: 7\n");
	ep_config_init(&cfg);
	ck_assert_int_eq(ep_config_load(&cfg, tmp, NULL, &error), -EINVAL);
	ck_assert_ptr_nonnull(strstr(error, EP_CONFIG_DROPIN_DIR
				     "/15-bad.yaml:2:7: mode: expected a string"));
	free(error);
	error = NULL;
	ep_config_release(&cfg);

	/* --config: only that file, no drop-in */
	fx_write(tmp, "only.yaml", "directories: [/only]\n");
	free(link);
	link = fx_path(tmp, "only.yaml");
	ep_config_init(&cfg);
	ck_assert_int_eq(ep_config_load(&cfg, tmp, link, &error), 0);
	ck_assert_uint_eq(cfg.ndirs, 1);
	ck_assert_str_eq(cfg.dirs[0].path, "/only");
	ck_assert_int_eq(cfg.mode, EPCACHE_MODE_MTIME);
	ep_config_release(&cfg);

	free(link);
	free(d);
	free(etc);
}
END_TEST

START_TEST(test_defaults_only_without_files)
{
	struct ep_config cfg;
	char *error = NULL;

	/* nothing at all: the built-in list */
	ep_config_init(&cfg);
	ck_assert_int_eq(ep_config_load(&cfg, tmp, NULL, &error), 0);
	ck_assert_uint_eq(cfg.ndirs, 4);
	ck_assert_str_eq(cfg.dirs[0].path,
			 "/usr/local/lib/python3*/dist-packages");
	ck_assert_str_eq(cfg.dirs[1].path, "/usr/lib/python3/dist-packages");
	ck_assert_str_eq(cfg.dirs[2].path, "/usr/lib64/python3*/site-packages");
	ck_assert_str_eq(cfg.dirs[3].path, "/usr/lib/python3*/site-packages");
	ep_config_release(&cfg);

	/* an empty drop-in directory changes nothing */
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/x.yml", "");
	ep_config_init(&cfg);
	ck_assert_int_eq(ep_config_load(&cfg, tmp, NULL, &error), 0);
	ck_assert_uint_eq(cfg.ndirs, 4);
	ep_config_release(&cfg);

	/* a drop-in alone replaces the built-in list */
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/x.yaml", "directories: [/x]\n");
	ep_config_init(&cfg);
	ck_assert_int_eq(ep_config_load(&cfg, tmp, NULL, &error), 0);
	ck_assert_uint_eq(cfg.ndirs, 1);
	ck_assert_str_eq(cfg.dirs[0].path, "/x");
	ep_config_release(&cfg);

	/* so does an empty main file */
	write_etc(tmp, EP_CONFIG_DROPIN_DIR "/x.yaml", "");
	write_etc(tmp, EP_CONFIG_FILE, "# nothing\n");
	ep_config_init(&cfg);
	ck_assert_int_eq(ep_config_load(&cfg, tmp, NULL, &error), 0);
	ck_assert_uint_eq(cfg.ndirs, 0);
	ep_config_release(&cfg);
	ck_assert_ptr_null(error);
}
END_TEST

/* root/rel as a directory; returns the joined path */
static char *
mkdir_root(const char *rel)
{
	fx_mkdir(tmp, rel);
	return fx_path(tmp, rel);
}

START_TEST(test_expand_globs_below_root)
{
	struct ep_config cfg;
	struct ep_site_list sites = { 0 };
	char *error = NULL, *p, *want;
	size_t idx;

	free(mkdir_root("usr/lib/python3.12/site-packages"));
	free(mkdir_root("usr/lib/python3.11/site-packages"));
	free(mkdir_root("usr/lib/python3/dist-packages"));
	fx_write(tmp, "usr/lib/python3.13/site-packages", "a file\n");
	free(mkdir_root("real"));
	p = fx_path(tmp, "usr/lib/python3.10");
	fx_mkdir(p, "");
	free(p);
	/* python3.10/site-packages -> ../../../real: the same as /real */
	p = fx_path(tmp, "usr/lib/python3.10/site-packages");
	ck_assert_int_eq(symlink("../../../real", p), 0);
	free(p);

	ep_config_init(&cfg);
	ck_assert_int_eq(load_str(&cfg,
				  "mode: strict\n"
				  "directories:\n"
				  "  - /real\n"
				  "  - path: /usr/lib/python3*/site-packages\n"
				  "    mode: trust\n"
				  "  - /usr/lib/python3/dist-packages\n"
				  "  - /usr/lib/python3/dist-packages/\n"
				  "  - /usr/lib/python3.11/site-packages\n"
				  "  - /nonexistent\n",
				  &error),
			 0);
	ck_assert_int_eq(ep_config_expand(&cfg, tmp, &sites), 0);
	ck_assert_uint_eq(sites.n, 4);

	ck_assert_int_ne(asprintf(&want, "%s/real", tmp), -1);
	ck_assert_str_eq(sites.v[0].path, want);
	ck_assert_int_eq(sites.v[0].mode, EPCACHE_MODE_STRICT);
	free(want);
	/* python3.10 is /real again; 3.13 is a file; byte order */
	ck_assert_int_ne(asprintf(&want, "%s/usr/lib/python3.11/site-packages", tmp), -1);
	ck_assert_str_eq(sites.v[1].path, want);
	ck_assert_int_eq(sites.v[1].mode, EPCACHE_MODE_TRUST);
	free(want);
	ck_assert_int_ne(asprintf(&want, "%s/usr/lib/python3.12/site-packages", tmp), -1);
	ck_assert_str_eq(sites.v[2].path, want);
	free(want);
	ck_assert_int_ne(asprintf(&want, "%s/usr/lib/python3/dist-packages", tmp), -1);
	ck_assert_str_eq(sites.v[3].path, want);
	ck_assert_int_eq(sites.v[3].mode, EPCACHE_MODE_STRICT);

	/* a named directory is found by string and by realpath */
	ck_assert(ep_site_list_find(&sites, want, &idx));
	ck_assert_uint_eq(idx, 3);
	free(want);
	ck_assert_int_ne(asprintf(&want, "%s/usr/lib/../lib/python3/dist-packages", tmp), -1);
	ck_assert(ep_site_list_find(&sites, want, &idx));
	ck_assert_uint_eq(idx, 3);
	free(want);
	ck_assert_int_ne(asprintf(&want, "%s/usr/lib/python3.10/site-packages", tmp), -1);
	ck_assert(ep_site_list_find(&sites, want, &idx));
	ck_assert_uint_eq(idx, 0);
	free(want);
	ck_assert(!ep_site_list_find(&sites, "/nonexistent", &idx));

	ep_site_list_release(&sites);
	ep_config_release(&cfg);
}
END_TEST

START_TEST(test_expand_root_is_not_a_pattern)
{
	struct ep_config cfg;
	struct ep_site_list sites = { 0 };
	char *error = NULL, *root, *want;

	/* "[x]" in the root is literal; the pattern's own glob is not */
	root = mkdir_root("img[x]*");
	fx_mkdir(root, "usr/lib/python3.11/site-packages");
	free(mkdir_root("imgx/usr/lib/python3.11/site-packages"));

	ep_config_init(&cfg);
	ck_assert_int_eq(load_str(&cfg, "directories: [/usr/lib/python3.1?/site-packages]\n",
				  &error), 0);
	ck_assert_int_eq(ep_config_expand(&cfg, root, &sites), 0);
	ck_assert_uint_eq(sites.n, 1);
	ck_assert_int_ne(asprintf(&want, "%s/usr/lib/python3.11/site-packages", root), -1);
	ck_assert_str_eq(sites.v[0].path, want);
	free(want);
	ep_site_list_release(&sites);
	ep_config_release(&cfg);
	free(root);
}
END_TEST

START_TEST(test_root_join)
{
	static const struct {
		const char *root, *path, *want;
	} cases[] = {
		{ NULL, "/usr/lib", "/usr/lib" },
		{ "", "/usr/lib", "/usr/lib" },
		{ "/", "/usr/lib", "/usr/lib" },
		{ "///", "/usr/lib", "/usr/lib" },
		{ "/r", "/usr/lib", "/r/usr/lib" },
		{ "/r//", "/usr/lib", "/r/usr/lib" },
		{ "/r", "usr/lib", "/r/usr/lib" },
		{ "rel", "/x", "rel/x" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = ep_root_join(cases[i].root, cases[i].path);

		ck_assert_str_eq(got, cases[i].want);
		free(got);
	}
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_full_schema);
	tcase_add_test(tc, test_empty_documents);
	tcase_add_test(tc, test_merge_later_wins);
	tcase_add_loop_test(tc, test_bad_input, 0,
			    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_error_replaces_earlier_error);
	tcase_add_test(tc, test_load_file_errors);
	tcase_add_test(tc, test_dropins_in_name_order);
	tcase_add_test(tc, test_defaults_only_without_files);
	tcase_add_test(tc, test_expand_globs_below_root);
	tcase_add_test(tc, test_expand_root_is_not_a_pattern);
	tcase_add_test(tc, test_root_join);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
