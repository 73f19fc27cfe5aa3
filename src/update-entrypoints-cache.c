/* SPDX-License-Identifier: MIT */
/*
 * update-entrypoints-cache: (re)write, check or remove the entry point cache
 * of site directories. Installers run it after they change a directory, the
 * way they run update-mime-database.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "epcache.h"
#include "tool-messages.h"

#define PROGRAM "update-entrypoints-cache"

enum exit_code {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_FAILED = 2,
	/* --check only: kept apart from EXIT_FAILED so that a script can
	 * tell "rebuild needed" from "could not even look". */
	EXIT_NOT_FRESH = 3,
};

enum action {
	ACTION_REBUILD,
	ACTION_CHECK,
	ACTION_REMOVE,
};

enum verbosity {
	VERBOSITY_QUIET,
	VERBOSITY_NORMAL,
	VERBOSITY_VERBOSE,
};

enum parse_result {
	PARSE_RUN,
	PARSE_EXIT_OK,
	PARSE_USAGE_ERROR,
};

struct options {
	enum action action;
	enum epcache_mode mode;
	enum verbosity verbosity;
	bool if_stale;
	char **dirs;
	size_t ndirs;
};


static void
usage(FILE *fp)
{
	fprintf(fp,
		"Usage: " PROGRAM " [OPTIONS] DIR...\n"
		"Write the entry point cache of each site directory DIR.\n"
		"\n"
		"  -n, --if-stale     only rebuild caches that are not fresh\n"
		"      --check        write nothing; exit 0 iff every cache is fresh,\n"
		"                     3 if one is not\n"
		"      --remove       remove the caches\n"
		"      --mode MODE    how readers judge the cache fresh: mtime (default),\n"
		"                     strict or trust\n"
		"  -v, --verbose      say what is done to each DIR\n"
		"  -q, --quiet        print errors only\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"Exit status: 0 success, 1 usage error, 2 a DIR failed, 3 (--check)\n"
		"a cache is not fresh.\n"
		"PKGSYSTEM_ENABLE_FSYNC=0 in the environment skips fsync.\n");
}


static enum parse_result
parse_options(int argc, char **argv, struct options *opts)
{
	enum {
		OPT_CHECK = 256,
		OPT_REMOVE,
		OPT_MODE,
	};
	static const struct option long_options[] = {
		{ "if-stale", no_argument, NULL, 'n' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool do_check = false, do_remove = false;
	int c;

	while ((c = getopt_long(argc, argv, "nvqVh", long_options, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			opts->if_stale = true;
			break;
		case OPT_CHECK:
			do_check = true;
			break;
		case OPT_REMOVE:
			do_remove = true;
			break;
		case OPT_MODE:
			if (epcache_mode_from_str(optarg, &opts->mode) < 0) {
				tool_usage_error("invalid mode '%s' (expected mtime, strict or trust)",
					    optarg);
				return PARSE_USAGE_ERROR;
			}
			break;
		case 'v':
			opts->verbosity = VERBOSITY_VERBOSE;
			break;
		case 'q':
			opts->verbosity = VERBOSITY_QUIET;
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

	if (do_check && do_remove) {
		tool_usage_error("--check and --remove are mutually exclusive");
		return PARSE_USAGE_ERROR;
	}
	opts->action = do_check ? ACTION_CHECK :
		       do_remove ? ACTION_REMOVE :
				ACTION_REBUILD;

	if (optind >= argc) {
		tool_usage_error("no directory given");
		return PARSE_USAGE_ERROR;
	}
	opts->dirs = argv + optind;
	opts->ndirs = (size_t)(argc - optind);

	/* An empty DIR is almost always an unset shell variable in a
	 * maintainer script; caching the current directory by accident
	 * would be worse than refusing. */
	for (size_t i = 0; i < opts->ndirs; i++) {
		if (opts->dirs[i][0] == '\0') {
			tool_usage_error("empty directory name");
			return PARSE_USAGE_ERROR;
		}
	}

	return PARSE_RUN;
}

static unsigned int
rebuild_flags(const struct options *opts)
{
	unsigned int flags = 0;
	const char *fsync_env;

	if (opts->if_stale)
		flags |= EPCACHE_REBUILD_IF_STALE;

	/* The library checks this too; passing it on keeps the tool right
	 * whatever the library version does. */
	fsync_env = getenv("PKGSYSTEM_ENABLE_FSYNC");
	if (fsync_env && strcmp(fsync_env, "0") == 0)
		flags |= EPCACHE_REBUILD_NO_FSYNC;

	return flags;
}

static int
rebuild_dir(struct epcache *ctx, const struct options *opts, const char *dir)
{
	bool rebuilt = false;
	int rc;

	rc = epcache_rebuild(ctx, dir, opts->mode, rebuild_flags(opts),
			     &rebuilt);
	if (rc < 0) {
		tool_error("%s: cannot write cache: %s", dir,
			strerror(-rc));
		return rc;
	}

	if (opts->verbosity == VERBOSITY_VERBOSE)
		printf("%s: %s\n", dir,
		       rebuilt ? "cache written" : "cache is fresh, left alone");
	return 0;
}

static int
remove_dir(struct epcache *ctx, const struct options *opts, const char *dir)
{
	int rc;

	rc = epcache_remove(ctx, dir);
	if (rc < 0) {
		tool_error("%s: cannot remove cache: %s", dir,
			strerror(-rc));
		return rc;
	}

	if (opts->verbosity == VERBOSITY_VERBOSE)
		printf("%s: cache removed\n", dir);
	return 0;
}

/* A lookup over this one directory: the reader's own verdict is the only
 * one that matters, so --check asks exactly what an application would. */
static int
check_dir(struct epcache *ctx, const struct options *opts, const char *dir,
	  bool *fresh_out)
{
	struct epcache_lookup *lookup = NULL;
	enum epcache_status status;
	const char *reason;
	int rc;

	rc = epcache_lookup_new(ctx, &dir, 1, 0, &lookup);
	if (rc < 0) {
		/* a failed constructor hands nothing over */
		lookup = NULL;
		tool_error("%s: cannot check cache: %s", dir,
			strerror(-rc));
		goto out;
	}

	status = epcache_lookup_get_path_status(lookup, 0);
	reason = epcache_lookup_get_path_reason(lookup, 0);
	*fresh_out = status == EPCACHE_STATUS_FRESH;

	if (opts->verbosity == VERBOSITY_VERBOSE ||
	    (opts->verbosity == VERBOSITY_NORMAL && !*fresh_out)) {
		if (reason && *reason)
			printf("%s: %s (%s)\n", dir,
			       epcache_status_to_str(status), reason);
		else
			printf("%s: %s\n", dir, epcache_status_to_str(status));
	}

	rc = 0;
out:
	epcache_lookup_free(lookup);
	return rc;
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

int
main(int argc, char **argv)
{
	struct options opts = {
		.action = ACTION_REBUILD,
		.mode = EPCACHE_MODE_MTIME,
		.verbosity = VERBOSITY_NORMAL,
	};
	struct epcache *ctx = NULL;
	bool failed = false, all_fresh = true, quiet;
	int exit_code;

	switch (parse_options(argc, argv, &opts)) {
	case PARSE_RUN:
		break;
	case PARSE_EXIT_OK:
		return flush_stdout() < 0 ? EXIT_FAILED : EXIT_OK;
	case PARSE_USAGE_ERROR:
		return EXIT_USAGE;
	}

	ctx = epcache_new();
	if (!ctx) {
		tool_error("out of memory");
		return EXIT_FAILED;
	}
	quiet = opts.verbosity == VERBOSITY_QUIET;
	epcache_set_log_handler(ctx, tool_log_handler, &quiet);
	switch (opts.verbosity) {
	case VERBOSITY_QUIET:
		epcache_set_log_priority(ctx, EPCACHE_LOG_ERROR);
		break;
	case VERBOSITY_NORMAL:
		epcache_set_log_priority(ctx, EPCACHE_LOG_WARNING);
		break;
	case VERBOSITY_VERBOSE:
		epcache_set_log_priority(ctx, EPCACHE_LOG_INFO);
		break;
	}

	/* One bad directory must not keep the others stale: dpkg hands us
	 * every triggered directory in one call. */
	for (size_t i = 0; i < opts.ndirs; i++) {
		const char *dir = opts.dirs[i];
		bool fresh = false;
		int rc = 0;

		switch (opts.action) {
		case ACTION_REBUILD:
			rc = rebuild_dir(ctx, &opts, dir);
			break;
		case ACTION_REMOVE:
			rc = remove_dir(ctx, &opts, dir);
			break;
		case ACTION_CHECK:
			rc = check_dir(ctx, &opts, dir, &fresh);
			if (rc == 0 && !fresh)
				all_fresh = false;
			break;
		}
		if (rc < 0)
			failed = true;
	}

	epcache_free(ctx);

	if (flush_stdout() < 0)
		failed = true;

	if (failed)
		exit_code = EXIT_FAILED;
	else if (!all_fresh)
		exit_code = EXIT_NOT_FRESH;
	else
		exit_code = EXIT_OK;

	return exit_code;
}
