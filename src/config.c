/* SPDX-License-Identifier: MIT */
/*
 * The configuration file: SYSCONFDIR/entrypoints-cache.yaml and the drop-ins
 * of SYSCONFDIR/entrypoints-cache.d, read with libyaml's event parser.
 *
 * The schema is small and fixed (see entrypoints-cache.yaml(5)), so the
 * loader walks the events itself instead of building a document: every
 * event is checked where it occurs, the first unexpected one is an error
 * with its line and column, and nothing nested deeper than the schema is
 * ever consumed. Unknown keys and values of the wrong type are errors: a
 * typo in a file that decides which caches exist must not be ignored.
 *
 * Plain scalars are typed by the YAML 1.2 core schema (true/false, null,
 * numbers); quoted ones are strings. "yes", "no", "on" and "off" are
 * strings in YAML 1.2 and booleans in YAML 1.1, so they are refused where
 * a boolean is expected rather than guessed at.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "epcache-private.h"

#define TAG_STR "tag:yaml.org,2002:str"
#define TAG_BOOL "tag:yaml.org,2002:bool"
#define TAG_MAP "tag:yaml.org,2002:map"
#define TAG_SEQ "tag:yaml.org,2002:seq"

/* What a scalar is, once its tag or (plain) its text has been looked at. */
enum scalar_kind {
	KIND_STR,
	KIND_NULL,
	KIND_BOOL,
	KIND_INT,
	KIND_FLOAT,
};

struct loader {
	yaml_parser_t parser;
	yaml_event_t ev; /* the current event */
	bool have_ev;
	const char *name;
	const char *data;
	size_t len;
	struct ep_config *cfg;
	char **error_out;
};

static int
set_error(char **error_out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
set_error(char **error_out, const char *fmt, ...)
{
	va_list args;
	char *msg = NULL;
	int n;

	va_start(args, fmt);
	n = vasprintf(&msg, fmt, args);
	va_end(args);
	if (n < 0)
		return -ENOMEM;
	free(*error_out);
	*error_out = msg;
	return -EINVAL;
}

/* "NAME:LINE:COLUMN: message", libyaml's marks counting from 0. */
static int
fail_at(struct loader *l, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail_at(struct loader *l, const yaml_mark_t *mark, const char *fmt, ...)
{
	va_list args;
	char *msg = NULL;
	int n, rc;

	va_start(args, fmt);
	n = vasprintf(&msg, fmt, args);
	va_end(args);
	if (n < 0)
		return -ENOMEM;
	rc = set_error(l->error_out, "%s:%zu:%zu: %s", l->name,
		       mark->line + 1, mark->column + 1, msg);
	free(msg);
	return rc;
}

static int
parser_error(struct loader *l)
{
	yaml_parser_t *p = &l->parser;
	yaml_mark_t mark = p->problem_mark;
	const char *problem = p->problem ? p->problem : "cannot parse";

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;

	if (p->error == YAML_READER_ERROR) {
		/* The reader knows only the byte offset: count lines and
		 * characters up to it, as the marks of the other errors do. */
		size_t end = p->problem_offset < l->len ? p->problem_offset :
							   l->len;

		mark = (yaml_mark_t){ 0 };
		for (size_t i = 0; i < end; i++) {
			unsigned char c = (unsigned char)l->data[i];

			if (c == '\n') {
				mark.line++;
				mark.column = 0;
			} else if ((c & 0xC0) != 0x80) {
				mark.column++;
			}
		}
		if (p->problem_value >= 0)
			return fail_at(l, &mark, "%s (0x%X)", problem,
				       (unsigned int)p->problem_value);
	}
	return fail_at(l, &mark, "%s", problem);
}

static int
next(struct loader *l)
{
	if (l->have_ev) {
		yaml_event_delete(&l->ev);
		l->have_ev = false;
	}
	if (!yaml_parser_parse(&l->parser, &l->ev))
		return parser_error(l);
	l->have_ev = true;

	/* Anchors are harmless; an alias would need the node it names kept
	 * around, which this schema never needs. */
	if (l->ev.type == YAML_ALIAS_EVENT)
		return fail_at(l, &l->ev.start_mark,
			       "aliases are not supported");
	return 0;
}

static bool
str_in(const char *s, const char *const *list)
{
	for (; *list; list++) {
		if (strcmp(s, *list) == 0)
			return true;
	}
	return false;
}

/* [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ */
static bool
is_core_int(const char *s)
{
	const char *digits;

	if (strncmp(s, "0o", 2) == 0)
		return s[2] && strspn(s + 2, "01234567") == strlen(s + 2);
	if (strncmp(s, "0x", 2) == 0)
		return s[2] && strspn(s + 2, "0123456789abcdefABCDEF") ==
				       strlen(s + 2);
	digits = (*s == '-' || *s == '+') ? s + 1 : s;
	return *digits && strspn(digits, "0123456789") == strlen(digits);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? and inf/nan */
static bool
is_core_float(const char *s)
{
	static const char *const special[] = {
		".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
		"-.Inf", "-.INF", ".nan", ".NaN", ".NAN", NULL,
	};
	size_t n_int, n_frac = 0;

	if (str_in(s, special))
		return true;
	if (*s == '-' || *s == '+')
		s++;
	n_int = strspn(s, "0123456789");
	s += n_int;
	if (*s == '.') {
		s++;
		n_frac = strspn(s, "0123456789");
		s += n_frac;
	}
	if (n_int == 0 && n_frac == 0)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (strspn(s, "0123456789") == 0)
			return false;
		s += strspn(s, "0123456789");
	}
	return *s == '\0';
}

static const char *const true_words[] = { "true", "True", "TRUE", NULL };
static const char *const false_words[] = { "false", "False", "FALSE", NULL };

static int
scalar_kind(struct loader *l, enum scalar_kind *kind)
{
	const yaml_event_t *ev = &l->ev;
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *value = (const char *)ev->data.scalar.value;
	static const char *const null_words[] = { "", "~", "null", "Null",
						  "NULL", NULL };

	if (tag) {
		/* "!" is the non-specific tag of a quoted-like scalar */
		if (strcmp(tag, TAG_STR) == 0 || strcmp(tag, "!") == 0) {
			*kind = KIND_STR;
			return 0;
		}
		if (strcmp(tag, TAG_BOOL) == 0) {
			if (!str_in(value, true_words) &&
			    !str_in(value, false_words))
				return fail_at(l, &ev->start_mark,
					       "invalid boolean '%s'", value);
			*kind = KIND_BOOL;
			return 0;
		}
		return fail_at(l, &ev->start_mark, "unsupported tag '%s'", tag);
	}

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		*kind = KIND_STR;
	else if (str_in(value, null_words))
		*kind = KIND_NULL;
	else if (str_in(value, true_words) || str_in(value, false_words))
		*kind = KIND_BOOL;
	else if (is_core_int(value))
		*kind = KIND_INT;
	else if (is_core_float(value))
		*kind = KIND_FLOAT;
	else
		*kind = KIND_STR;
	return 0;
}

/* What the current event is, for "expected X, got Y" messages. */
static int
describe(struct loader *l, const char **what)
{
	static const char *const kinds[] = {
		[KIND_STR] = "a string",	[KIND_NULL] = "null",
		[KIND_BOOL] = "a boolean",	[KIND_INT] = "an integer",
		[KIND_FLOAT] = "a number",
	};
	enum scalar_kind kind;
	int rc;

	switch (l->ev.type) {
	case YAML_SCALAR_EVENT:
		rc = scalar_kind(l, &kind);
		if (rc < 0)
			return rc;
		*what = kinds[kind];
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		*what = "a sequence";
		return 0;
	case YAML_MAPPING_START_EVENT:
		*what = "a mapping";
		return 0;
	default:
		*what = "nothing";
		return 0;
	}
}

static int
wrong_type(struct loader *l, const char *key, const char *expected)
{
	const char *what;
	int rc;

	rc = describe(l, &what);
	if (rc < 0)
		return rc;
	return fail_at(l, &l->ev.start_mark, "%s: expected %s, got %s", key,
		       expected, what);
}

static int
check_collection_tag(struct loader *l, const char *allowed)
{
	const char *tag = l->ev.type == YAML_MAPPING_START_EVENT ?
				  (const char *)l->ev.data.mapping_start.tag :
				  (const char *)l->ev.data.sequence_start.tag;

	if (tag && strcmp(tag, allowed) != 0)
		return fail_at(l, &l->ev.start_mark, "unsupported tag '%s'",
			       tag);
	return 0;
}

/* The current event must be a string scalar; *@out points into it. */
static int
expect_string(struct loader *l, const char *key, const char **out)
{
	enum scalar_kind kind = KIND_NULL;
	int rc;

	if (l->ev.type == YAML_SCALAR_EVENT) {
		rc = scalar_kind(l, &kind);
		if (rc < 0)
			return rc;
	}
	if (l->ev.type != YAML_SCALAR_EVENT || kind != KIND_STR)
		return wrong_type(l, key, "a string");

	/* "\0" in a double-quoted scalar: a C string would name something
	 * else than what the file says. */
	if (strlen((const char *)l->ev.data.scalar.value) !=
	    l->ev.data.scalar.length)
		return fail_at(l, &l->ev.start_mark,
			       "%s: contains a NUL character", key);
	*out = (const char *)l->ev.data.scalar.value;
	return 0;
}

static int
parse_mode(struct loader *l, const char *key, enum epcache_mode *mode)
{
	const char *value;
	int rc;

	rc = expect_string(l, key, &value);
	if (rc < 0)
		return rc;
	if (epcache_mode_from_str(value, mode) < 0)
		return fail_at(l, &l->ev.start_mark,
			       "%s: invalid mode '%s' (expected mtime, strict or trust)",
			       key, value);
	return 0;
}

static int
parse_path(struct loader *l, char **path)
{
	const char *value;
	int rc;

	rc = expect_string(l, "path", &value);
	if (rc < 0)
		return rc;
	/* An empty or relative path would name whatever directory the
	 * program happens to run in: never what a system file means. */
	if (value[0] == '\0')
		return fail_at(l, &l->ev.start_mark, "path: empty path");
	if (value[0] != '/')
		return fail_at(l, &l->ev.start_mark,
			       "path: '%s' is not absolute", value);
	*path = strdup(value);
	return *path ? 0 : -ENOMEM;
}

static int
add_dir(struct ep_config *cfg, char *path, bool has_mode,
	enum epcache_mode mode)
{
	if (cfg->ndirs == cfg->capdirs) {
		size_t cap = cfg->capdirs ? cfg->capdirs * 2 : 8;
		struct ep_config_dir *v =
			reallocarray(cfg->dirs, cap, sizeof(*v));

		if (!v) {
			free(path);
			return -ENOMEM;
		}
		cfg->dirs = v;
		cfg->capdirs = cap;
	}
	cfg->dirs[cfg->ndirs++] = (struct ep_config_dir){
		.path = path,
		.mode = mode,
		.has_mode = has_mode,
	};
	return 0;
}

/* The current event is a mapping key scalar; a complex key is not. */
static int
expect_key(struct loader *l, const char *where, const char **key)
{
	enum scalar_kind kind = KIND_NULL;
	int rc;

	if (l->ev.type == YAML_SCALAR_EVENT) {
		rc = scalar_kind(l, &kind);
		if (rc < 0)
			return rc;
	}
	if (l->ev.type != YAML_SCALAR_EVENT || kind != KIND_STR)
		return wrong_type(l, where, "a key");
	*key = (const char *)l->ev.data.scalar.value;
	return 0;
}

/* One item of directories: a path, or a mapping of path and mode. The
 * current event is its first; on return, its last. */
static int
parse_dir_item(struct loader *l)
{
	yaml_mark_t start = l->ev.start_mark;
	enum epcache_mode mode = EPCACHE_MODE_MTIME;
	bool has_mode = false;
	char *path = NULL;
	int rc;

	if (l->ev.type == YAML_SCALAR_EVENT) {
		rc = parse_path(l, &path);
		if (rc < 0)
			return rc;
		return add_dir(l->cfg, path, false, mode);
	}
	if (l->ev.type != YAML_MAPPING_START_EVENT)
		return wrong_type(l, "directories",
				  "a path or a mapping of path and mode");
	rc = check_collection_tag(l, TAG_MAP);
	if (rc < 0)
		return rc;

	for (;;) {
		const char *key;
		yaml_mark_t key_mark;

		rc = next(l);
		if (rc < 0)
			goto out;
		if (l->ev.type == YAML_MAPPING_END_EVENT)
			break;
		rc = expect_key(l, "directories", &key);
		if (rc < 0)
			goto out;
		key_mark = l->ev.start_mark;

		if (strcmp(key, "path") == 0) {
			if (path) {
				rc = fail_at(l, &key_mark,
					     "duplicate key 'path'");
				goto out;
			}
			rc = next(l);
			if (rc < 0)
				goto out;
			rc = parse_path(l, &path);
		} else if (strcmp(key, "mode") == 0) {
			if (has_mode) {
				rc = fail_at(l, &key_mark,
					     "duplicate key 'mode'");
				goto out;
			}
			rc = next(l);
			if (rc < 0)
				goto out;
			rc = parse_mode(l, "mode", &mode);
			has_mode = true;
		} else {
			rc = fail_at(l, &key_mark,
				     "unknown key '%s' in a directory (expected path or mode)",
				     key);
		}
		if (rc < 0)
			goto out;
	}

	if (!path) {
		rc = fail_at(l, &start, "directory without a path");
		goto out;
	}
	rc = add_dir(l->cfg, path, has_mode, mode);
	path = NULL;
out:
	free(path);
	return rc;
}

static int
parse_directories(struct loader *l)
{
	enum scalar_kind kind;
	int rc;

	/* "directories:" with every item commented out */
	if (l->ev.type == YAML_SCALAR_EVENT) {
		rc = scalar_kind(l, &kind);
		if (rc < 0)
			return rc;
		if (kind == KIND_NULL)
			return 0;
	}
	if (l->ev.type != YAML_SEQUENCE_START_EVENT)
		return wrong_type(l, "directories", "a sequence");
	rc = check_collection_tag(l, TAG_SEQ);
	if (rc < 0)
		return rc;

	for (;;) {
		rc = next(l);
		if (rc < 0)
			return rc;
		if (l->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		rc = parse_dir_item(l);
		if (rc < 0)
			return rc;
	}
}

static int
parse_fsync(struct loader *l)
{
	enum scalar_kind kind = KIND_NULL;
	const char *value;
	int rc;

	if (l->ev.type == YAML_SCALAR_EVENT) {
		rc = scalar_kind(l, &kind);
		if (rc < 0)
			return rc;
	}
	if (l->ev.type != YAML_SCALAR_EVENT || kind != KIND_BOOL)
		return wrong_type(l, "fsync", "true or false");
	value = (const char *)l->ev.data.scalar.value;
	l->cfg->fsync = str_in(value, true_words);
	return 0;
}

static int
parse_top(struct loader *l)
{
	bool seen_fsync = false, seen_mode = false, seen_dirs = false;
	int rc;

	rc = check_collection_tag(l, TAG_MAP);
	if (rc < 0)
		return rc;

	for (;;) {
		const char *key;
		yaml_mark_t key_mark;
		bool *seen;

		rc = next(l);
		if (rc < 0)
			return rc;
		if (l->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		rc = expect_key(l, "configuration", &key);
		if (rc < 0)
			return rc;
		key_mark = l->ev.start_mark;

		if (strcmp(key, "fsync") == 0)
			seen = &seen_fsync;
		else if (strcmp(key, "mode") == 0)
			seen = &seen_mode;
		else if (strcmp(key, "directories") == 0)
			seen = &seen_dirs;
		else
			return fail_at(l, &key_mark,
				       "unknown key '%s' (expected fsync, mode or directories)",
				       key);
		/* Within one file a repeated key is a mistake; across files
		 * the later one wins, by design. */
		if (*seen)
			return fail_at(l, &key_mark, "duplicate key '%s'", key);
		*seen = true;

		rc = next(l);
		if (rc < 0)
			return rc;
		if (seen == &seen_fsync)
			rc = parse_fsync(l);
		else if (seen == &seen_mode)
			rc = parse_mode(l, "mode", &l->cfg->mode);
		else
			rc = parse_directories(l);
		if (rc < 0)
			return rc;
	}
}

static int
parse_stream(struct loader *l)
{
	enum scalar_kind kind;
	int rc;

	rc = next(l); /* STREAM-START */
	if (rc < 0)
		return rc;
	rc = next(l);
	if (rc < 0)
		return rc;
	if (l->ev.type == YAML_STREAM_END_EVENT)
		return 0; /* an empty file, or only comments */

	/* DOCUMENT-START, then the root node */
	rc = next(l);
	if (rc < 0)
		return rc;
	kind = KIND_STR;
	if (l->ev.type == YAML_SCALAR_EVENT) {
		rc = scalar_kind(l, &kind);
		if (rc < 0)
			return rc;
	}
	if (l->ev.type == YAML_MAPPING_START_EVENT)
		rc = parse_top(l);
	else if (l->ev.type == YAML_SCALAR_EVENT && kind == KIND_NULL)
		rc = 0; /* "---" and nothing else */
	else
		rc = wrong_type(l, "configuration",
				"a mapping of fsync, mode and directories");
	if (rc < 0)
		return rc;

	rc = next(l); /* DOCUMENT-END */
	if (rc < 0)
		return rc;
	rc = next(l);
	if (rc < 0)
		return rc;
	if (l->ev.type != YAML_STREAM_END_EVENT)
		return fail_at(l, &l->ev.start_mark,
			       "more than one document");
	return 0;
}

static int
loader_start(struct loader *l)
{
	if (!yaml_parser_initialize(&l->parser))
		return -ENOMEM;
	/* UTF-8 only: a BOM-less UTF-16 guess would turn bad bytes into
	 * some other text instead of an error. */
	yaml_parser_set_encoding(&l->parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&l->parser,
				     (const unsigned char *)l->data, l->len);
	return 0;
}

static void
loader_finish(struct loader *l)
{
	if (l->have_ev)
		yaml_event_delete(&l->ev);
	l->have_ev = false;
	yaml_parser_delete(&l->parser);
}

/* The whole stream, for its syntax only: "mode: [x" is an unclosed flow
 * sequence, which is what its author needs to hear, not that a sequence
 * is no mode. */
static int
check_syntax(struct loader *l)
{
	do {
		if (l->have_ev)
			yaml_event_delete(&l->ev);
		l->have_ev = false;
		if (!yaml_parser_parse(&l->parser, &l->ev))
			return parser_error(l);
		l->have_ev = true;
	} while (l->ev.type != YAML_STREAM_END_EVENT);
	return 0;
}

int
ep_config_load_buffer(struct ep_config *cfg, const char *name,
		      const char *data, size_t len, char **error_out)
{
	struct loader l = {
		.name = name,
		.data = data,
		.len = len,
		.cfg = cfg,
		.error_out = error_out,
	};
	int rc;

	rc = loader_start(&l);
	if (rc < 0)
		return rc;
	rc = check_syntax(&l);
	loader_finish(&l);
	if (rc < 0)
		return rc;

	rc = loader_start(&l);
	if (rc < 0)
		return rc;
	rc = parse_stream(&l);
	loader_finish(&l);
	return rc;
}

/* Read @path whole, refusing what is not a regular file so that a FIFO
 * never blocks and a huge file is not slurped. */
static int
read_config_file(const char *path, char **data_out, size_t *len_out)
{
	char *data = NULL;
	size_t len = 0;
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if (st.st_size > EP_CONFIG_MAX_SIZE) {
		rc = -EFBIG;
		goto out;
	}

	data = malloc(EP_CONFIG_MAX_SIZE + 1);
	if (!data) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, data + len, EP_CONFIG_MAX_SIZE + 1 - len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		/* it grew since fstat */
		if (len > EP_CONFIG_MAX_SIZE) {
			rc = -EFBIG;
			goto out;
		}
	}

	*data_out = data;
	*len_out = len;
	data = NULL;
	rc = 0;
out:
	free(data);
	close(fd);
	return rc;
}

int
ep_config_load_file(struct ep_config *cfg, const char *path,
		    char **error_out)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = read_config_file(path, &data, &len);
	if (rc == -EINVAL) {
		set_error(error_out, "%s: not a regular file", path);
		return rc;
	}
	if (rc == -EFBIG) {
		set_error(error_out, "%s: larger than %d bytes", path,
			  EP_CONFIG_MAX_SIZE);
		return rc;
	}
	if (rc < 0) {
		if (rc != -ENOMEM)
			set_error(error_out, "%s: %s", path, strerror(-rc));
		return rc;
	}

	rc = ep_config_load_buffer(cfg, path, data, len, error_out);
	free(data);
	return rc;
}

char *
ep_root_join(const char *root, const char *path)
{
	size_t rlen = root ? strlen(root) : 0;
	char *joined = NULL;

	while (rlen > 0 && root[rlen - 1] == '/')
		rlen--;
	if (rlen == 0)
		return strdup(path);
	if (asprintf(&joined, "%.*s%s%s", (int)rlen, root,
		     path[0] == '/' ? "" : "/", path) < 0)
		return NULL;
	return joined;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_dropin_name(const char *name)
{
	size_t len = strlen(name);
	const char *ext = ".yaml";

	/* dot files are editor and package manager leftovers
	 * (.foo.yaml.swp, .dpkg-new are caught by the suffix anyway) */
	return name[0] != '.' && len > strlen(ext) &&
	       strcmp(name + len - strlen(ext), ext) == 0;
}

/* The "*.yaml" names of @dir in strcmp order; a missing directory has
 * none. */
static int
list_dropins(const char *dir, char ***names_out, size_t *n_out,
	     char **error_out)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR) {
			*names_out = NULL;
			*n_out = 0;
			return 0;
		}
		rc = -errno;
		set_error(error_out, "%s: %s", dir, strerror(-rc));
		return rc;
	}

	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				rc = -errno;
				set_error(error_out, "%s: %s", dir,
					  strerror(-rc));
				goto out;
			}
			break;
		}
		if (!is_dropin_name(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **v = reallocarray(names, ncap, sizeof(*v));

			if (!v) {
				rc = -ENOMEM;
				goto out;
			}
			names = v;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			goto out;
		}
		n++;
	}

	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	*names_out = names;
	*n_out = n;
	names = NULL;
	n = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

static int
load_dropins(struct ep_config *cfg, const char *dir, size_t *nread,
	     char **error_out)
{
	char **names = NULL;
	char *path = NULL;
	size_t n = 0;
	int rc;

	rc = list_dropins(dir, &names, &n, error_out);
	if (rc < 0)
		return rc;

	for (size_t i = 0; i < n; i++) {
		struct stat st;

		free(path);
		path = NULL;
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			path = NULL;
			rc = -ENOMEM;
			goto out;
		}
		/* A drop-in that is not a regular file (a symlink to
		 * /dev/null, a directory) masks nothing and adds nothing:
		 * skipped, as systemd does with its drop-ins. One removed
		 * since the listing is skipped too. */
		if (stat(path, &st) < 0) {
			if (errno == ENOENT)
				continue;
			rc = -errno;
			set_error(error_out, "%s: %s", path, strerror(-rc));
			goto out;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		rc = ep_config_load_file(cfg, path, error_out);
		if (rc < 0)
			goto out;
		(*nread)++;
	}
	rc = 0;
out:
	free(path);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

int
ep_config_load(struct ep_config *cfg, const char *root, const char *file,
	       char **error_out)
{
	char *main_file = NULL, *dropin_dir = NULL;
	size_t nread = 0;
	int rc;

	if (file)
		return ep_config_load_file(cfg, file, error_out);

	main_file = ep_root_join(root, EPCACHE_SYSCONFDIR "/" EP_CONFIG_FILE);
	dropin_dir = ep_root_join(root,
				  EPCACHE_SYSCONFDIR "/" EP_CONFIG_DROPIN_DIR);
	if (!main_file || !dropin_dir) {
		rc = -ENOMEM;
		goto out;
	}

	rc = ep_config_load_file(cfg, main_file, error_out);
	if (rc == -ENOENT) {
		/* a missing main file is no error: only drop-ins, or the
		 * built-in list */
		free(*error_out);
		*error_out = NULL;
	} else if (rc < 0) {
		goto out;
	} else {
		nread++;
	}

	rc = load_dropins(cfg, dropin_dir, &nread, error_out);
	if (rc < 0)
		goto out;

	if (nread == 0)
		rc = ep_config_add_defaults(cfg);
out:
	free(main_file);
	free(dropin_dir);
	return rc;
}

int
ep_config_add_defaults(struct ep_config *cfg)
{
	/* sys.path order where more than one exists: /usr/local before
	 * /usr on Debian, lib64 (platform) before lib on Fedora. */
	static const char *const defaults[] = {
		"/usr/local/lib/python3*/dist-packages",
		"/usr/lib/python3/dist-packages",
		"/usr/lib64/python3*/site-packages",
		"/usr/lib/python3*/site-packages",
	};

	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		char *path = strdup(defaults[i]);
		int rc;

		if (!path)
			return -ENOMEM;
		rc = add_dir(cfg, path, false, EPCACHE_MODE_MTIME);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void
ep_config_init(struct ep_config *cfg)
{
	*cfg = (struct ep_config){
		.fsync = true,
		.mode = EPCACHE_MODE_MTIME,
	};
}

void
ep_config_release(struct ep_config *cfg)
{
	for (size_t i = 0; i < cfg->ndirs; i++)
		free(cfg->dirs[i].path);
	free(cfg->dirs);
	ep_config_init(cfg);
}
