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
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "epcache-private.h"
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
	bool mode_given;
	enum verbosity verbosity;
	bool if_stale;
	bool full;
	bool all;
	const char *config_file;
	const char *root; /* --root, else DPKG_ROOT; NULL for none */
	int lock_timeout_ms; /* --lock-timeout, else EPCACHE_LOCK_TIMEOUT */
	char **dirs;
	size_t ndirs;
};

/* One directory to work on: ROOT/DIR, with the mode to write. */
struct target {
	char *path;
	enum epcache_mode mode;
};


static void
usage(FILE *fp)
{
	fprintf(fp,
		"Usage: " PROGRAM " [OPTIONS] DIR...\n"
		"       " PROGRAM " [OPTIONS] --all\n"
		"Write the entry point cache of each site directory DIR, or of every\n"
		"configured one.\n"
		"\n"
		"  -a, --all          every directory of the configuration that exists\n"
		"      --config FILE  read only FILE as the configuration (default:\n"
		"                     " EPCACHE_SYSCONFDIR "/" EP_CONFIG_FILE " and\n"
		"                     " EPCACHE_SYSCONFDIR "/" EP_CONFIG_DROPIN_DIR "/*.yaml)\n"
		"      --root DIR     prefix DIR to every directory and to the default\n"
		"                     configuration files (default: $DPKG_ROOT)\n"
		"  -n, --if-stale     only rebuild caches that are not fresh\n"
		"  -f, --full         read every distribution again, taking nothing over\n"
		"                     from the previous cache (after editing a file\n"
		"                     inside a distribution in place)\n"
		"      --check        write nothing; exit 0 iff every cache is fresh,\n"
		"                     3 if one is not\n"
		"      --remove       remove the caches\n"
		"      --mode MODE    how readers judge the cache fresh: mtime, strict or\n"
		"                     trust (default: the configured mode, or mtime)\n"
		"      --lock-timeout SEC  wait at most SEC seconds (default 10, or\n"
		"                     $EPCACHE_LOCK_TIMEOUT) for another rebuild of a DIR\n"
		"                     to finish; then that DIR is skipped (exit 2)\n"
		"  -v, --verbose      say what is done to each DIR\n"
		"  -q, --quiet        print errors only\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         print this help and exit\n"
		"\n"
		"Exit status: 0 success, 1 usage or configuration error, 2 a DIR failed,\n"
		"3 (--check) a cache is not fresh.\n"
		"PKGSYSTEM_ENABLE_FSYNC=0 in the environment skips fsync.\n");
}


/* SEC (decimals allowed) as milliseconds, 0 to an hour */
static int
parse_seconds(const char *str, int *ms)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(str, &end);
	if (errno || end == str || *end || !(v >= 0 && v <= 3600))
		return -EINVAL;
	*ms = (int)(v * 1000 + 0.5);
	return 0;
}

static enum parse_result
parse_options(int argc, char **argv, struct options *opts)
{
	enum {
		OPT_CHECK = 256,
		OPT_REMOVE,
		OPT_MODE,
		OPT_CONFIG,
		OPT_ROOT,
		OPT_LOCK_TIMEOUT,
	};
	static const struct option long_options[] = {
		{ "if-stale", no_argument, NULL, 'n' },
		{ "full", no_argument, NULL, 'f' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "all", no_argument, NULL, 'a' },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool do_check = false, do_remove = false;
	const char *timeout = getenv("EPCACHE_LOCK_TIMEOUT");
	int c;

	while ((c = getopt_long(argc, argv, "afnvqVh", long_options, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			opts->if_stale = true;
			break;
		case 'f':
			opts->full = true;
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
			opts->mode_given = true;
			break;
		case 'a':
			opts->all = true;
			break;
		case OPT_CONFIG:
			opts->config_file = optarg;
			break;
		case OPT_ROOT:
			opts->root = optarg;
			break;
		case OPT_LOCK_TIMEOUT:
			timeout = optarg;
			if (parse_seconds(optarg, &opts->lock_timeout_ms) < 0) {
				tool_usage_error("invalid --lock-timeout '%s' (expected seconds, 0 to 3600)",
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

	/* A bad value in the environment is no reason to wait forever, nor
	 * to fail a package manager's hook: the default applies. */
	if (timeout && *timeout &&
	    parse_seconds(timeout, &opts->lock_timeout_ms) < 0)
		opts->lock_timeout_ms = EP_LOCK_TIMEOUT_DEFAULT_MS;

	if (do_check && do_remove) {
		tool_usage_error("--check and --remove are mutually exclusive");
		return PARSE_USAGE_ERROR;
	}
	opts->action = do_check ? ACTION_CHECK :
		       do_remove ? ACTION_REMOVE :
				ACTION_REBUILD;

	if (opts->all && optind < argc) {
		tool_usage_error("--all and DIR arguments are mutually exclusive");
		return PARSE_USAGE_ERROR;
	}
	if (!opts->all && optind >= argc) {
		tool_usage_error("no directory given");
		return PARSE_USAGE_ERROR;
	}
	opts->dirs = argv + optind;
	opts->ndirs = (size_t)(argc - optind);

	if (opts->config_file && opts->config_file[0] == '\0') {
		tool_usage_error("empty --config file name");
		return PARSE_USAGE_ERROR;
	}
	/* An empty --root is a typo or an unset variable; an empty
	 * DPKG_ROOT is how dpkg says "no root". */
	if (opts->root && opts->root[0] == '\0') {
		tool_usage_error("empty --root directory name");
		return PARSE_USAGE_ERROR;
	}
	if (!opts->root) {
		const char *env = getenv("DPKG_ROOT");

		if (env && env[0] != '\0')
			opts->root = env;
	}

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
rebuild_flags(const struct options *opts, const struct ep_config *cfg)
{
	unsigned int flags = 0;
	const char *fsync_env;

	if (opts->if_stale)
		flags |= EPCACHE_REBUILD_IF_STALE;
	if (opts->full)
		flags |= EPCACHE_REBUILD_FULL;
	if (!cfg->fsync)
		flags |= EPCACHE_REBUILD_NO_FSYNC;

	/* The library checks this too; passing it on keeps the tool right
	 * whatever the library version does. */
	fsync_env = getenv("PKGSYSTEM_ENABLE_FSYNC");
	if (fsync_env && strcmp(fsync_env, "0") == 0)
		flags |= EPCACHE_REBUILD_NO_FSYNC;

	return flags;
}

/*
 * Who holds the lock, for the message: /proc/locks lists every flock with
 * the holder's pid and the file's device and inode ("1: FLOCK ADVISORY
 * WRITE 1234 08:01:5678 0 EOF"). Best effort: @out is "" when unknown.
 */
static void
lock_holder(const char *dir, char *out, size_t outlen)
{
	char path[4096], line[256], procpath[64];
	struct stat st;
	FILE *fp, *sfp;

	*out = '\0';
	snprintf(path, sizeof(path), "%s/.epcache/lock", dir);
	if (lstat(path, &st) < 0 || !(fp = fopen("/proc/locks", "re")))
		return;
	while (fgets(line, sizeof(line), fp)) {
		unsigned int maj, min;
		unsigned long long ino;
		char type[16];
		long pid;

		if (sscanf(line, "%*[^:]: %15s %*s %*s %ld %x:%x:%llu", type,
			   &pid, &maj, &min, &ino) != 5 ||
		    strcmp(type, "FLOCK") != 0 || ino != st.st_ino ||
		    maj != major(st.st_dev) || min != minor(st.st_dev) ||
		    pid <= 0)
			continue;
		snprintf(out, outlen, " (process %ld)", pid);
		/* its real uid: /proc/PID itself belongs to root when the
		 * holder changed uid without exec (not dumpable) */
		snprintf(procpath, sizeof(procpath), "/proc/%ld/status", pid);
		if ((sfp = fopen(procpath, "re"))) {
			unsigned int uid;

			while (fgets(line, sizeof(line), sfp)) {
				if (sscanf(line, "Uid: %u", &uid) == 1) {
					snprintf(out, outlen,
						 " (process %ld of uid %u)",
						 pid, uid);
					break;
				}
			}
			fclose(sfp);
		}
		break;
	}
	fclose(fp);
}

static int
rebuild_dir(struct epcache *ctx, const struct options *opts,
	    const struct ep_config *cfg, const char *dir,
	    enum epcache_mode mode)
{
	bool rebuilt = false;
	int rc;

	rc = epcache_rebuild(ctx, dir, mode, rebuild_flags(opts, cfg),
			     &rebuilt);
	if (rc == -ETIMEDOUT) {
		char holder[128];

		lock_holder(dir, holder, sizeof(holder));
		tool_error("%s: another rebuild holds %s/.epcache/lock%s "
			   "(waited %g s); skipped", dir, dir, holder,
			   opts->lock_timeout_ms / 1000.0);
		return rc;
	}
	if (rc == -EFBIG) {
		tool_error("%s: no cache written: the directory exceeds the "
			   "rebuild's bounds (readers scan it)", dir);
		return rc;
	}
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

/* Only what needs it reads the configuration: --all, a rebuild (modes,
 * fsync), or an explicit --config, which is then checked too. --check and
 * --remove of named directories work with a broken file. */
static bool
needs_config(const struct options *opts)
{
	return opts->all || opts->action == ACTION_REBUILD ||
	       opts->config_file;
}

static int
load_config(const struct options *opts, struct ep_config *cfg)
{
	char *error = NULL;
	int rc;

	rc = ep_config_load(cfg, opts->root, opts->config_file, &error);
	if (rc == -ENOMEM || (rc < 0 && !error))
		tool_error("cannot read the configuration: %s", strerror(-rc));
	else if (rc < 0)
		tool_error("%s", error);
	free(error);
	return rc;
}

static void
targets_release(struct target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].path);
	free(t);
}

/* The directories to work on and their modes: every configured one that
 * exists, or ROOT/DIR for each DIR, in its configured mode if it is a
 * configured one. --mode wins over both. */
static int
make_targets(const struct options *opts, const struct ep_config *cfg,
	     struct target **targets_out, size_t *n_out)
{
	struct ep_site_list sites = { 0 };
	struct target *t = NULL;
	size_t n = 0, cap;
	int rc;

	rc = ep_config_expand(cfg, opts->root, &sites);
	if (rc < 0)
		goto out;

	cap = opts->all ? sites.n : opts->ndirs;
	t = calloc(cap ? cap : 1, sizeof(*t));
	if (!t) {
		rc = -ENOMEM;
		goto out;
	}

	for (; n < cap; n++) {
		size_t idx;

		if (opts->all) {
			t[n].path = strdup(sites.v[n].path);
			t[n].mode = sites.v[n].mode;
		} else {
			t[n].path = ep_root_join(opts->root, opts->dirs[n]);
			t[n].mode = cfg->mode;
			if (t[n].path &&
			    ep_site_list_find(&sites, t[n].path, &idx))
				t[n].mode = sites.v[idx].mode;
		}
		if (!t[n].path) {
			rc = -ENOMEM;
			goto out;
		}
		if (opts->mode_given)
			t[n].mode = opts->mode;
	}

	*targets_out = t;
	*n_out = n;
	t = NULL;
	n = 0;
	rc = 0;
out:
	targets_release(t, n);
	ep_site_list_release(&sites);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options opts = {
		.action = ACTION_REBUILD,
		.mode = EPCACHE_MODE_MTIME,
		.verbosity = VERBOSITY_NORMAL,
		.lock_timeout_ms = EP_LOCK_TIMEOUT_DEFAULT_MS,
	};
	struct ep_config cfg;
	struct target *targets = NULL;
	size_t ntargets = 0;
	struct epcache *ctx = NULL;
	bool failed = false, all_fresh = true, quiet;
	struct stat st;
	int exit_code;

	ep_config_init(&cfg);

	switch (parse_options(argc, argv, &opts)) {
	case PARSE_RUN:
		break;
	case PARSE_EXIT_OK:
		return flush_stdout() < 0 ? EXIT_FAILED : EXIT_OK;
	case PARSE_USAGE_ERROR:
		return EXIT_USAGE;
	}

	/* A mistyped root would otherwise match nothing and "succeed". */
	if (opts.root) {
		int err = 0;

		if (stat(opts.root, &st) < 0)
			err = errno;
		else if (!S_ISDIR(st.st_mode))
			err = ENOTDIR;
		if (err) {
			tool_error("root %s: %s", opts.root, strerror(err));
			return EXIT_USAGE;
		}
	}

	/* Bad configuration stops everything before any cache is touched. */
	if (needs_config(&opts) && load_config(&opts, &cfg) < 0) {
		ep_config_release(&cfg);
		return EXIT_USAGE;
	}
	if (make_targets(&opts, &cfg, &targets, &ntargets) < 0) {
		tool_error("out of memory");
		exit_code = EXIT_FAILED;
		goto out;
	}
	if (opts.all && ntargets == 0 &&
	    opts.verbosity == VERBOSITY_VERBOSE)
		printf("no configured directory exists\n");

	ctx = epcache_new();
	if (!ctx) {
		tool_error("out of memory");
		exit_code = EXIT_FAILED;
		goto out;
	}
	quiet = opts.verbosity == VERBOSITY_QUIET;
	epcache_set_log_handler(ctx, tool_log_handler, &quiet);
	epcache_set_lock_timeout(ctx, opts.lock_timeout_ms);
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
	for (size_t i = 0; i < ntargets; i++) {
		const char *dir = targets[i].path;
		bool fresh = false;
		int rc = 0;

		switch (opts.action) {
		case ACTION_REBUILD:
			rc = rebuild_dir(ctx, &opts, &cfg, dir,
					 targets[i].mode);
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

	if (flush_stdout() < 0)
		failed = true;

	if (failed)
		exit_code = EXIT_FAILED;
	else if (!all_fresh)
		exit_code = EXIT_NOT_FRESH;
	else
		exit_code = EXIT_OK;
out:
	epcache_free(ctx);
	targets_release(targets, ntargets);
	ep_config_release(&cfg);
	return exit_code;
}
