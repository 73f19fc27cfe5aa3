/* SPDX-License-Identifier: MIT */
/*
 * entrypoints-query: print the entry points importlib.metadata would see for
 * a path list, from the caches where they are fresh and from the
 * directories where they are not.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "epcache-private.h"
#include "output-yaml.h"
#include "tool-messages.h"

#define PROGRAM "entrypoints-query"

/* sys.path printed as JSON is a few kB; anything near this is not it. */
#define MAX_PYTHON_OUTPUT (16 * 1024 * 1024)

extern char **environ;

enum exit_code {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_INTERNAL = 2,
};

enum output_format {
	FORMAT_TEXT,
	FORMAT_JSON,
	FORMAT_YAML,
};

enum parse_result {
	PARSE_RUN,
	PARSE_EXIT_OK,
	PARSE_USAGE_ERROR,
	PARSE_INTERNAL_ERROR,
};

/* A growable list of owned strings. */
struct strv {
	char **v;
	size_t len;
	size_t cap;
};

struct options {
	struct strv paths;
	const char *python;
	const char *config_file;
	const char *root;
	const char *group;
	const char *name;
	enum output_format format;
	bool no_cache;
	bool status;
};

static int
strv_append(struct strv *s, const char *str)
{
	char *copy;

	if (s->len == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		char **v = reallocarray(s->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}

	copy = strdup(str);
	if (!copy)
		return -ENOMEM;
	s->v[s->len++] = copy;
	return 0;
}

static void
strv_release(struct strv *s)
{
	for (size_t i = 0; i < s->len; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct strv){ 0 };
}



static void
usage(FILE *fp)
{
	fprintf(fp,
		"Usage: " PROGRAM " [OPTIONS]\n"
		"Print the entry points importlib.metadata finds on a path list.\n"
		"\n"
		"      --path DIR        a path entry; repeat for more, earlier wins\n"
		"      --python PY       use the sys.path of interpreter PY\n"
		"                        (default: the configured directories)\n"
		"      --config FILE     read only FILE as the configuration (default:\n"
		"                        " EPCACHE_SYSCONFDIR "/" EP_CONFIG_FILE " and\n"
		"                        " EPCACHE_SYSCONFDIR "/" EP_CONFIG_DROPIN_DIR "/*.yaml)\n"
		"      --root DIR        prefix DIR to the configured directories, the\n"
		"                        default configuration files and each --path\n"
		"      --group G         only entry points of group G\n"
		"      --name N          only entry points named N\n"
		"      --format FORMAT   text (default), json or yaml\n"
		"      --no-cache        ignore every cache, scan every directory\n"
		"      --status          print each path entry's cache status instead\n"
		"  -V, --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n"
		"\n"
		"Text output: GROUP<TAB>NAME = VALUE<TAB>(DIST VERSION), '-' for an\n"
		"unknown DIST or VERSION; with --status: PATH<TAB>STATUS<TAB>REASON.\n"
		"Exit status: 0 success, 1 usage, input or configuration error,\n"
		"2 internal error.\n");
}


static enum parse_result
parse_options(int argc, char **argv, struct options *opts)
{
	enum {
		OPT_PATH = 256,
		OPT_PYTHON,
		OPT_GROUP,
		OPT_NAME,
		OPT_FORMAT,
		OPT_NO_CACHE,
		OPT_STATUS,
		OPT_CONFIG,
		OPT_ROOT,
	};
	static const struct option long_options[] = {
		{ "path", required_argument, NULL, OPT_PATH },
		{ "python", required_argument, NULL, OPT_PYTHON },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "Vh", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_PATH:
			if (strv_append(&opts->paths, optarg) < 0) {
				tool_error("out of memory");
				return PARSE_INTERNAL_ERROR;
			}
			break;
		case OPT_PYTHON:
			opts->python = optarg;
			break;
		case OPT_GROUP:
			opts->group = optarg;
			break;
		case OPT_NAME:
			opts->name = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0) {
				opts->format = FORMAT_TEXT;
			} else if (strcmp(optarg, "json") == 0) {
				opts->format = FORMAT_JSON;
			} else if (strcmp(optarg, "yaml") == 0) {
				opts->format = FORMAT_YAML;
			} else {
				tool_usage_error("invalid format '%s' (expected text, json or yaml)",
					    optarg);
				return PARSE_USAGE_ERROR;
			}
			break;
		case OPT_NO_CACHE:
			opts->no_cache = true;
			break;
		case OPT_STATUS:
			opts->status = true;
			break;
		case OPT_CONFIG:
			opts->config_file = optarg;
			break;
		case OPT_ROOT:
			opts->root = optarg;
			break;
		case 'V':
			printf(PROGRAM " (epcache) %s\n", epcache_get_version());
			return PARSE_EXIT_OK;
		case 'h':
			usage(stdout);
			return PARSE_EXIT_OK;
		default:
			/* getopt_long has said what was wrong */
			fprintf(stderr,
				"Try '" PROGRAM " --help' for more information.\n");
			return PARSE_USAGE_ERROR;
		}
	}

	if (optind < argc) {
		tool_usage_error("unexpected argument '%s'", argv[optind]);
		return PARSE_USAGE_ERROR;
	}

	/* Which list would win is anyone's guess: refuse rather than pick. */
	if (opts->paths.len > 0 && opts->python) {
		tool_usage_error("--path and --python are mutually exclusive");
		return PARSE_USAGE_ERROR;
	}
	/* The configuration names the default path list; with another list
	 * it would be read for nothing. An interpreter's sys.path is its
	 * own, never below a root. */
	if (opts->config_file && (opts->paths.len > 0 || opts->python)) {
		tool_usage_error("--config cannot be combined with --path or --python");
		return PARSE_USAGE_ERROR;
	}
	if (opts->root && opts->python) {
		tool_usage_error("--root and --python are mutually exclusive");
		return PARSE_USAGE_ERROR;
	}
	if (opts->config_file && opts->config_file[0] == '\0') {
		tool_usage_error("empty --config file name");
		return PARSE_USAGE_ERROR;
	}
	if (opts->root && opts->root[0] == '\0') {
		tool_usage_error("empty --root directory name");
		return PARSE_USAGE_ERROR;
	}

	return PARSE_RUN;
}

static int
read_all(int fd, char **data_out, size_t *len_out)
{
	char *data = NULL;
	size_t len = 0, cap = 0;
	int rc;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			size_t newcap = cap ? cap * 2 : 8192;
			char *p;

			if (newcap > MAX_PYTHON_OUTPUT + 1) {
				rc = -EFBIG;
				goto out;
			}
			p = realloc(data, newcap);
			if (!p) {
				rc = -ENOMEM;
				goto out;
			}
			data = p;
			cap = newcap;
		}

		n = read(fd, data + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}

	data[len] = '\0';
	*data_out = data;
	*len_out = len;
	data = NULL;
	rc = 0;
out:
	free(data);
	return rc;
}

/* Runs PY and collects what it prints. Diagnostics other than ENOMEM are
 * printed here, where it is known what went wrong. */
static int
run_python(const char *python, char **output, size_t *len)
{
	/* The argv of exec is char *const[] for historical reasons; nothing
	 * writes to these strings. */
	char *const argv[] = {
		(char *)python,
		(char *)"-c",
		(char *)"import sys, json; print(json.dumps(sys.path))",
		NULL,
	};
	posix_spawn_file_actions_t actions;
	bool have_actions = false;
	int fds[2] = { -1, -1 };
	pid_t pid = -1;
	int rc, wstatus;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		rc = -errno;
		tool_error("cannot run %s: %s", python, strerror(-rc));
		goto out;
	}

	rc = -posix_spawn_file_actions_init(&actions);
	if (rc < 0)
		goto out;
	have_actions = true;

	/* dup2 clears close-on-exec on the child's stdout; the pipe's own
	 * descriptors stay close-on-exec so that EOF arrives when PY exits. */
	rc = -posix_spawn_file_actions_adddup2(&actions, fds[1],
					       STDOUT_FILENO);
	if (rc < 0)
		goto out;

	rc = -posix_spawnp(&pid, python, &actions, NULL, argv, environ);
	if (rc < 0) {
		pid = -1;
		tool_error("cannot run %s: %s", python, strerror(-rc));
		goto out;
	}

	close(fds[1]);
	fds[1] = -1;

	rc = read_all(fds[0], output, len);
	if (rc < 0 && rc != -ENOMEM)
		tool_error("%s: cannot read its output: %s", python, strerror(-rc));

	/* Closing first lets PY die of SIGPIPE if we stopped reading early
	 * instead of blocking us both. */
	close(fds[0]);
	fds[0] = -1;

	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			int err = -errno;

			if (rc == 0) {
				rc = err;
				tool_error("%s: cannot wait for it: %s", python,
				      strerror(-rc));
			}
			goto out;
		}
	}

	if (rc < 0)
		goto out;

	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0) {
		tool_error("%s exited with status %d", python,
		      WEXITSTATUS(wstatus));
		rc = -EINVAL;
	} else if (WIFSIGNALED(wstatus)) {
		tool_error("%s was killed by signal %d (%s)", python,
		      WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
		rc = -EINVAL;
	}

out:
	if (rc < 0 && *output) {
		free(*output);
		*output = NULL;
	}
	if (have_actions)
		posix_spawn_file_actions_destroy(&actions);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return rc;
}

static bool
only_whitespace(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	}
	return true;
}

/* Interpreter output is input like any other: a sitecustomize that prints,
 * a wrapper script that is not Python at all. Accept exactly one JSON array
 * of strings. */
static int
parse_sys_path(const char *python, const char *data, size_t len,
	       struct strv *paths)
{
	struct json_tokener *tok = NULL;
	struct json_object *array = NULL;
	enum json_tokener_error jerr;
	size_t n, end;
	int rc;

	if (only_whitespace(data, len)) {
		tool_error("%s printed no sys.path", python);
		rc = -EINVAL;
		goto out;
	}
	if (len > INT_MAX) {
		rc = -EFBIG;
		goto out;
	}

	tok = json_tokener_new();
	if (!tok) {
		rc = -ENOMEM;
		goto out;
	}

	array = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		tool_error("%s: sys.path output is truncated", python);
		rc = -EINVAL;
		goto out;
	}
	if (jerr != json_tokener_success) {
		tool_error("%s: cannot parse sys.path output: %s", python,
		      json_tokener_error_desc(jerr));
		rc = -EINVAL;
		goto out;
	}
	end = json_tokener_get_parse_end(tok);
	if (end > len || !only_whitespace(data + end, len - end)) {
		tool_error("%s: unexpected output after sys.path", python);
		rc = -EINVAL;
		goto out;
	}
	if (!json_object_is_type(array, json_type_array)) {
		tool_error("%s: sys.path output is not a JSON array", python);
		rc = -EINVAL;
		goto out;
	}

	n = json_object_array_length(array);
	for (size_t i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(array, i);
		const char *str;

		if (!json_object_is_type(item, json_type_string)) {
			tool_error("%s: sys.path item %zu is not a string", python,
			      i);
			rc = -EINVAL;
			goto out;
		}
		str = json_object_get_string(item);
		/* A path with a NUL in it cannot be opened: a C string would
		 * silently name a different file. */
		if ((size_t)json_object_get_string_len(item) != strlen(str)) {
			tool_error("%s: sys.path item %zu contains a NUL byte",
			      python, i);
			rc = -EINVAL;
			goto out;
		}
		rc = strv_append(paths, str);
		if (rc < 0)
			goto out;
	}

	rc = 0;
out:
	json_object_put(array);
	if (tok)
		json_tokener_free(tok);
	return rc;
}

static int
python_sys_path(const char *python, struct strv *paths)
{
	char *output = NULL;
	size_t len = 0;
	int rc;

	rc = run_python(python, &output, &len);
	if (rc < 0)
		goto out;

	rc = parse_sys_path(python, output, len, paths);
out:
	free(output);
	return rc;
}

/* The path list used when the command line names none: the configured
 * directories that exist, in configuration order. Errors are printed here;
 * -EINVAL stands for every bad-configuration case. */
static int
config_path_list(const struct options *opts, struct strv *paths)
{
	struct ep_config cfg;
	struct ep_site_list sites = { 0 };
	char *error = NULL;
	int rc;

	ep_config_init(&cfg);
	rc = ep_config_load(&cfg, opts->root, opts->config_file, &error);
	if (rc < 0) {
		if (error)
			tool_error("%s", error);
		if (rc != -ENOMEM)
			rc = -EINVAL;
		goto out;
	}

	rc = ep_config_expand(&cfg, opts->root, &sites);
	for (size_t i = 0; rc == 0 && i < sites.n; i++)
		rc = strv_append(paths, sites.v[i].path);
out:
	free(error);
	ep_site_list_release(&sites);
	ep_config_release(&cfg);
	return rc;
}

/* --path under --root: ROOT/DIR, as update-entrypoints-cache does. */
static int
root_paths(const char *root, struct strv *paths)
{
	for (size_t i = 0; root && i < paths->len; i++) {
		char *joined = ep_root_join(root, paths->v[i]);

		if (!joined)
			return -ENOMEM;
		free(paths->v[i]);
		paths->v[i] = joined;
	}
	return 0;
}

static void
warn_unsupported(const struct epcache_lookup *lookup)
{
	size_t n = epcache_lookup_get_path_count(lookup);

	for (size_t i = 0; i < n; i++) {
		const char *path = epcache_lookup_get_path(lookup, i);
		bool seen = false;

		if (epcache_lookup_get_path_status(lookup, i) !=
		    EPCACHE_STATUS_UNSUPPORTED)
			continue;

		/* A path list may name the same archive twice; say it once. */
		for (size_t j = 0; j < i && !seen; j++) {
			seen = epcache_lookup_get_path_status(lookup, j) ==
				       EPCACHE_STATUS_UNSUPPORTED &&
			       strcmp(epcache_lookup_get_path(lookup, j),
				      path) == 0;
		}
		if (seen)
			continue;

		tool_error("warning: %s: zip archives are not read by the C "
			   "reader; its entry points are missing from this "
			   "answer",
			   path);
	}
}

/* json-c has no distinct error for "out of memory" from its constructors;
 * a NULL result for a non-NULL input is exactly that. A NULL input becomes
 * a JSON null, which json-c represents as a NULL object. */
static int
json_add_string(struct json_object *obj, const char *key, const char *value)
{
	struct json_object *str = NULL;

	if (value) {
		str = json_object_new_string(value);
		if (!str)
			return -ENOMEM;
	}

	if (json_object_object_add(obj, key, str) < 0) {
		json_object_put(str);
		return -ENOMEM;
	}
	return 0;
}

static int
json_array_add(struct json_object *array, struct json_object *obj)
{
	if (json_object_array_add(array, obj) < 0) {
		json_object_put(obj);
		return -ENOMEM;
	}
	return 0;
}

static int
json_print(struct json_object *json)
{
	const char *str;

	str = json_object_to_json_string_ext(
		json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!str)
		return -ENOMEM;

	fputs(str, stdout);
	fputc('\n', stdout);
	return 0;
}

static int
entry_to_json(const struct epcache_entry *entry, struct json_object **out)
{
	struct json_object *obj = NULL, *dist = NULL;
	int rc = -ENOMEM;

	obj = json_object_new_object();
	dist = json_object_new_object();
	if (!obj || !dist)
		goto out;

	/* Keys in this order: the output is read by eye as often as by
	 * programs, and the tests compare it byte for byte. */
	if (json_add_string(obj, "group", epcache_entry_get_group(entry)) < 0 ||
	    json_add_string(obj, "name", epcache_entry_get_name(entry)) < 0 ||
	    json_add_string(obj, "value", epcache_entry_get_value(entry)) < 0 ||
	    json_add_string(dist, "name",
			    epcache_entry_get_dist_name(entry)) < 0 ||
	    json_add_string(dist, "version",
			    epcache_entry_get_dist_version(entry)) < 0)
		goto out;

	if (json_object_object_add(obj, "dist", dist) < 0)
		goto out;
	dist = NULL;

	*out = obj;
	obj = NULL;
	rc = 0;
out:
	json_object_put(dist);
	json_object_put(obj);
	return rc;
}

static int
print_entries_json(const struct epcache_selection *sel)
{
	size_t n = sel ? epcache_selection_get_count(sel) : 0;
	struct json_object *array;
	int rc;

	array = json_object_new_array();
	if (!array)
		return -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		struct json_object *obj = NULL;

		rc = entry_to_json(epcache_selection_get_entry(sel, i), &obj);
		if (rc < 0)
			goto out;
		rc = json_array_add(array, obj);
		if (rc < 0)
			goto out;
	}

	rc = json_print(array);
out:
	json_object_put(array);
	return rc;
}

static const char *
or_dash(const char *s)
{
	return s ? s : "-";
}

static int
print_entries_text(const struct epcache_selection *sel)
{
	size_t n = sel ? epcache_selection_get_count(sel) : 0;

	for (size_t i = 0; i < n; i++) {
		const struct epcache_entry *e =
			epcache_selection_get_entry(sel, i);

		printf("%s\t%s = %s\t(%s %s)\n",
		       or_dash(epcache_entry_get_group(e)),
		       or_dash(epcache_entry_get_name(e)),
		       or_dash(epcache_entry_get_value(e)),
		       or_dash(epcache_entry_get_dist_name(e)),
		       or_dash(epcache_entry_get_dist_version(e)));
	}
	return 0;
}

static int
print_status_json(const struct epcache_lookup *lookup)
{
	size_t n = lookup ? epcache_lookup_get_path_count(lookup) : 0;
	struct json_object *array;
	int rc;

	array = json_object_new_array();
	if (!array)
		return -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		enum epcache_status status =
			epcache_lookup_get_path_status(lookup, i);
		struct json_object *obj = json_object_new_object();

		rc = -ENOMEM;
		if (!obj)
			goto out;
		if (json_add_string(obj, "path",
				    epcache_lookup_get_path(lookup, i)) < 0 ||
		    json_add_string(obj, "status",
				    epcache_status_to_str(status)) < 0 ||
		    json_add_string(obj, "reason",
				    epcache_lookup_get_path_reason(lookup, i)) <
			    0) {
			json_object_put(obj);
			goto out;
		}
		rc = json_array_add(array, obj);
		if (rc < 0)
			goto out;
	}

	rc = json_print(array);
out:
	json_object_put(array);
	return rc;
}

static int
print_status_text(const struct epcache_lookup *lookup)
{
	size_t n = lookup ? epcache_lookup_get_path_count(lookup) : 0;

	for (size_t i = 0; i < n; i++) {
		const char *reason = epcache_lookup_get_path_reason(lookup, i);

		printf("%s\t%s\t%s\n", epcache_lookup_get_path(lookup, i),
		       epcache_status_to_str(
			       epcache_lookup_get_path_status(lookup, i)),
		       reason ? reason : "");
	}
	return 0;
}

static int
flush_stdout(void)
{
	int rc;

	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;

	rc = errno ? -errno : -EIO;
	tool_error("write error: %s", strerror(-rc));
	return rc;
}

/* Exit code for a failure to get the path list: what went wrong was
 * already said, except running out of memory. */
static int
path_list_exit_code(int rc)
{
	if (rc == -ENOMEM) {
		tool_error("out of memory");
		return EXIT_INTERNAL;
	}
	return EXIT_USAGE;
}

static int
internal_error(int rc, const char *what)
{
	if (rc == -ENOMEM)
		tool_error("out of memory");
	else
		tool_error("%s: %s", what, strerror(-rc));
	return EXIT_INTERNAL;
}

int
main(int argc, char **argv)
{
	struct options opts = {
		.format = FORMAT_TEXT,
	};
	struct strv paths = { 0 };
	struct epcache *ctx = NULL;
	struct epcache_lookup *lookup = NULL;
	struct epcache_selection *sel = NULL;
	unsigned int flags = 0;
	int exit_code;
	int rc;

	switch (parse_options(argc, argv, &opts)) {
	case PARSE_RUN:
		break;
	case PARSE_EXIT_OK:
		exit_code = flush_stdout() < 0 ? EXIT_INTERNAL : EXIT_OK;
		goto out;
	case PARSE_USAGE_ERROR:
		exit_code = EXIT_USAGE;
		goto out;
	case PARSE_INTERNAL_ERROR:
		exit_code = EXIT_INTERNAL;
		goto out;
	}

	/* A mistyped root would otherwise find nothing and "succeed". */
	if (opts.root) {
		struct stat st;
		int err = 0;

		if (stat(opts.root, &st) < 0)
			err = errno;
		else if (!S_ISDIR(st.st_mode))
			err = ENOTDIR;
		if (err) {
			tool_error("root %s: %s", opts.root, strerror(err));
			exit_code = EXIT_USAGE;
			goto out;
		}
	}

	if (opts.paths.len > 0) {
		paths = opts.paths;
		opts.paths = (struct strv){ 0 };
		rc = root_paths(opts.root, &paths);
	} else if (opts.python) {
		rc = python_sys_path(opts.python, &paths);
	} else {
		rc = config_path_list(&opts, &paths);
	}
	if (rc < 0) {
		exit_code = path_list_exit_code(rc);
		goto out;
	}

	ctx = epcache_new();
	if (!ctx) {
		exit_code = internal_error(-ENOMEM, "");
		goto out;
	}
	epcache_set_log_handler(ctx, tool_log_handler, NULL);
	epcache_set_log_priority(ctx, EPCACHE_LOG_WARNING);

	if (opts.no_cache)
		flags |= EPCACHE_LOOKUP_NO_CACHE;

	/* An interpreter may legitimately report an empty sys.path: the
	 * answer is then empty, with no lookup to ask. */
	if (paths.len > 0) {
		rc = epcache_lookup_new(ctx, (const char *const *)paths.v,
					paths.len, flags, &lookup);
		/* a failed constructor hands nothing over */
		if (rc < 0)
			lookup = NULL;
		if (rc == -EINVAL) {
			/* the library refused the path list itself */
			tool_error("invalid path list: %s", strerror(-rc));
			exit_code = EXIT_USAGE;
			goto out;
		}
		if (rc < 0) {
			exit_code = internal_error(rc, "cannot start the lookup");
			goto out;
		}
	}

	if (opts.status) {
		switch (opts.format) {
		case FORMAT_TEXT:
			rc = print_status_text(lookup);
			break;
		case FORMAT_JSON:
			rc = print_status_json(lookup);
			break;
		case FORMAT_YAML:
			rc = output_yaml_status(stdout, lookup);
			break;
		}
	} else {
		if (lookup) {
			warn_unsupported(lookup);
			rc = epcache_lookup_select(lookup, opts.group,
						   opts.name, &sel);
			if (rc < 0) {
				sel = NULL;
				exit_code = internal_error(
					rc, "cannot read entry points");
				goto out;
			}
		}
		switch (opts.format) {
		case FORMAT_TEXT:
			rc = print_entries_text(sel);
			break;
		case FORMAT_JSON:
			rc = print_entries_json(sel);
			break;
		case FORMAT_YAML:
			rc = output_yaml_entries(stdout, sel);
			break;
		}
	}
	if (rc == -EILSEQ) {
		tool_error("cannot print the answer: a string is not UTF-8, "
			   "which YAML cannot carry (--format json can)");
		exit_code = EXIT_INTERNAL;
		goto out;
	}
	if (rc < 0) {
		exit_code = internal_error(rc, "cannot print the answer");
		goto out;
	}

	exit_code = flush_stdout() < 0 ? EXIT_INTERNAL : EXIT_OK;
out:
	epcache_selection_free(sel);
	epcache_lookup_free(lookup);
	epcache_free(ctx);
	strv_release(&paths);
	strv_release(&opts.paths);
	return exit_code;
}
