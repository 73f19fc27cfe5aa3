/* SPDX-License-Identifier: MIT */
/*
 * Acting as a directory's owner: root's rebuild of a directory someone
 * else can write reads and writes with their filesystem credentials.
 *
 * A user who owns (or may write) a site directory can plant symlinks and
 * hard links in it. importlib running as root follows them too, but keeps
 * what it reads inside its process; a rebuild publishes it in a 0644
 * cache. Reading with the credentials of those who can write the
 * directory means a planted link to a file they cannot read reads as
 * unreadable, exactly as it would for them.
 *
 * Only the filesystem identity of the calling thread changes: setfsuid()
 * and setfsgid() are per thread, and setgroups() is called as the raw
 * system call, which (unlike glibc's wrapper, which applies it to every
 * thread of the process) changes the calling thread alone. A Python
 * process healing its caches in one thread leaves its other threads as
 * they were. Changing the fsuid away from 0 also drops the filesystem
 * capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER...) from
 * the thread's effective set; changing it back to 0 restores them.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "epcache-private.h"

/* The kernel's overflow ids, Debian's and Fedora's nobody/nogroup: an
 * identity that owns nothing worth reading. */
#define EP_NOBODY_UID 65534
#define EP_NOGROUP_GID 65534

static int
thread_setgroups(size_t n, const gid_t *groups)
{
	if (syscall(SYS_setgroups, n, groups) < 0)
		return errno > 0 ? -errno : -EPERM;
	return 0;
}

/* setfsuid() reports no error: it returns the previous fsuid, and a call
 * with an invalid id asks without changing anything. */
static int
set_fs_ids(uid_t uid, gid_t gid)
{
	setfsgid(gid);
	setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid ||
	    (gid_t)setfsgid((gid_t)-1) != gid)
		return -EPERM;
	return 0;
}

void
ep_creds_for_dir(const struct stat *site, struct ep_creds *owner,
		 struct ep_creds *reader)
{
	bool others_write = site->st_mode & S_IWOTH;
	bool group_write = site->st_mode & S_IWGRP;

	*owner = (struct ep_creds){.active = false};
	*reader = (struct ep_creds){.active = false};
	if (geteuid() != 0)
		return;
	/* Files in the cache directory are made by the directory's owner:
	 * they belong to them without a chown (and no chown can be turned
	 * onto another directory swapped in meanwhile). */
	if (site->st_uid != 0)
		*owner = (struct ep_creds){true, site->st_uid, site->st_gid};
	/*
	 * What is read: what every writer of the directory could read. Its
	 * owner alone: the owner's identity. Group or others too: nobody,
	 * with the directory's group when only the group may write (its
	 * members can read what that group can), so that root-owned
	 * group-writable site-packages (Debian's /usr/local, staff) publish
	 * nothing a member of the group could not read themselves.
	 */
	if (others_write)
		*reader = (struct ep_creds){true, EP_NOBODY_UID, EP_NOGROUP_GID};
	else if (group_write)
		*reader = (struct ep_creds){true, EP_NOBODY_UID, site->st_gid};
	else
		*reader = *owner;
}

int
ep_creds_enter(const struct ep_creds *to, struct ep_creds_saved *saved)
{
	int n, rc;

	saved->active = false;
	saved->groups = NULL;
	saved->n_groups = 0;
	if (!to->active)
		return 0;
	saved->uid = (uid_t)setfsuid((uid_t)-1);
	saved->gid = (gid_t)setfsgid((gid_t)-1);
	n = getgroups(0, NULL);
	if (n < 0)
		return -errno;
	if (n > 0) {
		saved->groups = calloc((size_t)n, sizeof(gid_t));
		if (!saved->groups)
			return -ENOMEM;
		n = getgroups(n, saved->groups);
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
	}
	saved->n_groups = (size_t)n;
	/* From here on the thread is changed: restore on any failure. */
	saved->active = true;
	if ((rc = thread_setgroups(0, NULL)) < 0 ||
	    (rc = set_fs_ids(to->uid, to->gid)) < 0) {
		ep_creds_leave(saved);
		return rc;
	}
	return 0;
fail:
	free(saved->groups);
	saved->groups = NULL;
	return rc;
}

void
ep_creds_leave(struct ep_creds_saved *saved)
{
	if (!saved->active)
		return;
	/* As root (which entering needed) none of these can fail. */
	setfsuid(saved->uid);
	setfsgid(saved->gid);
	(void)thread_setgroups(saved->n_groups, saved->groups);
	free(saved->groups);
	saved->groups = NULL;
	saved->active = false;
}
