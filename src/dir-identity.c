/* SPDX-License-Identifier: MIT */
/*
 * What a cache records of the filesystem, to tell later whether it still
 * describes it: the site directory's identity (device, inode, mtime and a
 * checksum of its names) and the stamps of each distribution's files.
 * The bottom layer: the scanner fills these in, the cache format stores
 * them, freshness compares them.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "epcache-private.h"

const char *const ep_stamp_names[EP_N_STAMPS] = {
	"",
	"entry_points.txt",
	"METADATA",
	"PKG-INFO",
};

/* linux/magic.h values; FAT timestamps have 2 s resolution and no
 * directory mtime worth trusting, so fontconfig hashes the names there. */
#define MSDOS_SUPER_MAGIC 0x4d44
#define EXFAT_SUPER_MAGIC 0x2011BAB0

bool
ep_fs_needs_checksum(int dirfd)
{
	struct statfs sfs;

	if (fstatfs(dirfd, &sfs) < 0)
		return false;
	return sfs.f_type == MSDOS_SUPER_MAGIC ||
	       (unsigned long)sfs.f_type == EXFAT_SUPER_MAGIC;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ep_dir_names_checksum(int dirfd, uint64_t *sum)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int rc;

	if ((rc = ep_opendir_at(dirfd, &d)) < 0)
		return rc;
	while ((errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, EP_CACHE_SUBDIR) == 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nv = realloc(names, ncap * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			names = nv;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			rc = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (errno) {
		rc = -errno;
		goto out;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		/* NUL included, so that "ab","c" and "a","bc" differ */
		for (const char *p = names[i];; p++) {
			h ^= (unsigned char)*p;
			h *= 0x100000001b3ULL;
			if (!*p)
				break;
		}
	}
	*sum = h;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* The identity of @dirfd, whose fstat() the caller already has in @st. */
int
ep_dir_identity_from_stat(int dirfd, const struct stat *st, bool with_names,
		       struct ep_dir_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->dev = (uint64_t)st->st_dev;
	id->ino = (uint64_t)st->st_ino;
	id->sec = (int64_t)st->st_mtim.tv_sec;
	id->nsec = (int64_t)st->st_mtim.tv_nsec;
	id->names_only = ep_fs_needs_checksum(dirfd);
	if (with_names || id->names_only) {
		id->has_names = true;
		return ep_dir_names_checksum(dirfd, &id->names_sum);
	}
	return 0;
}

int
ep_dir_identity_get(int dirfd, bool with_names, struct ep_dir_identity *id)
{
	struct stat st;

	if (fstat(dirfd, &st) < 0)
		return -errno;
	return ep_dir_identity_from_stat(dirfd, &st, with_names, id);
}

bool
ep_dir_identity_equal(const struct ep_dir_identity *a,
		      const struct ep_dir_identity *b)
{
	if (a->names_only != b->names_only)
		return false;
	/* FAT inode numbers and devices are not stable across mounts, nor
	 * its timestamps worth trusting; the names are what matters there. */
	if (a->names_only)
		return a->has_names && b->has_names &&
		       a->names_sum == b->names_sum;
	return a->dev == b->dev && a->ino == b->ino && a->sec == b->sec &&
	       a->nsec == b->nsec;
}

int
ep_stamp_get(int dirfd, const char *name, struct ep_stamp *st)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (fstatat(dirfd, name, &sb, 0) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		/* Unreadable or looping: record it as absent; strict mode
		 * then notices when it becomes readable. */
		if (errno == EACCES || errno == ELOOP || errno == ENAMETOOLONG)
			return 0;
		return -errno;
	}
	ep_stamp_from_stat(&sb, st);
	return 0;
}

void
ep_stamp_from_stat(const struct stat *sb, struct ep_stamp *st)
{
	st->present = true;
	st->ino = (uint64_t)sb->st_ino;
	st->size = (int64_t)sb->st_size;
	st->sec = (int64_t)sb->st_mtim.tv_sec;
	st->nsec = (int64_t)sb->st_mtim.tv_nsec;
	st->csec = (int64_t)sb->st_ctim.tv_sec;
	st->cnsec = (int64_t)sb->st_ctim.tv_nsec;
}

size_t
ep_stamps_per_dist(enum epcache_mode mode)
{
	return mode == EPCACHE_MODE_STRICT ? EP_N_STAMPS : 1;
}

bool
ep_stamp_equal(const struct ep_stamp *a, const struct ep_stamp *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	return a->ino == b->ino && a->size == b->size && a->sec == b->sec &&
	       a->nsec == b->nsec && a->csec == b->csec && a->cnsec == b->cnsec;
}
