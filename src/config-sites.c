/* SPDX-License-Identifier: MIT */
/*
 * The configured site directories as they exist: each pattern expanded
 * with glob(3) below the root, directories only, each directory once.
 */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "epcache-private.h"

/* The root is a path, not a pattern: "/srv/img[1]" must match itself. */
static char *
glob_escape(const char *s)
{
	size_t len = strlen(s);
	char *out = malloc(len * 2 + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		if (strchr("*?[]\\", *s))
			*p++ = '\\';
		*p++ = *s;
	}
	*p = '\0';
	return out;
}

/* Identity of a directory for deduplication: its realpath, or the string
 * when that cannot be had (a component that cannot be searched). */
static char *
site_key(const char *path)
{
	char *key = realpath(path, NULL);

	return key ? key : strdup(path);
}

static int
site_add(struct ep_site_list *l, const char *path, enum epcache_mode mode)
{
	struct ep_site site = { .mode = mode };

	site.key = site_key(path);
	if (!site.key)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		/* first occurrence wins: its place and its mode */
		if (strcmp(l->v[i].key, site.key) == 0) {
			free(site.key);
			return 0;
		}
	}

	site.path = strdup(path);
	if (!site.path)
		goto oom;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct ep_site *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v)
			goto oom;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = site;
	return 0;
oom:
	free(site.path);
	free(site.key);
	return -ENOMEM;
}

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
ep_config_expand(const struct ep_config *cfg, const char *root,
		 struct ep_site_list *out)
{
	char *eroot = NULL, *pattern = NULL;
	int rc = 0;

	eroot = glob_escape(root ? root : "");
	if (!eroot)
		return -ENOMEM;

	for (size_t i = 0; i < cfg->ndirs; i++) {
		const struct ep_config_dir *d = &cfg->dirs[i];
		enum epcache_mode mode = d->has_mode ? d->mode : cfg->mode;
		glob_t g = { 0 };
		int grc;

		free(pattern);
		pattern = ep_root_join(eroot, d->path);
		if (!pattern) {
			rc = -ENOMEM;
			goto out;
		}

		/* Sorted (in the C locale the programs run in, by bytes) so
		 * that python3.11 comes before python3.12 every time. Errors
		 * reading a directory on the way just mean fewer matches. */
		grc = glob(pattern, 0, NULL, &g);
		if (grc == GLOB_NOSPACE) {
			globfree(&g);
			rc = -ENOMEM;
			goto out;
		}
		for (size_t j = 0; grc == 0 && j < g.gl_pathc; j++) {
			if (!is_dir(g.gl_pathv[j]))
				continue;
			rc = site_add(out, g.gl_pathv[j], mode);
			if (rc < 0)
				break;
		}
		globfree(&g);
		if (rc < 0)
			goto out;
	}
out:
	free(pattern);
	free(eroot);
	return rc;
}

bool
ep_site_list_find(const struct ep_site_list *l, const char *dir, size_t *idx)
{
	char *key = site_key(dir);
	bool found = false;

	for (size_t i = 0; i < l->n && !found; i++) {
		if (strcmp(l->v[i].path, dir) == 0 ||
		    (key && strcmp(l->v[i].key, key) == 0)) {
			*idx = i;
			found = true;
		}
	}
	free(key);
	return found;
}

void
ep_site_list_release(struct ep_site_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].key);
	}
	free(l->v);
	*l = (struct ep_site_list){ 0 };
}
