/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the cache reader. The input is a whole cache file,
 * handed over on a memfd exactly as a reader gets one; everything a
 * lookup does with an opened cache is then exercised: the group index for
 * every listed group and a few fixed ones, the names part, and the strict
 * stamps against an empty directory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "epcache-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sitefd = -1;

static void
read_group(struct ep_cache_file *cf, const char *group)
{
	struct ep_scan scan = { 0 };

	(void)ep_cache_read_group(cf, group, &scan);
	ep_scan_release(&scan);
}

/* What a strict-mode check does with a row: stat the path below the
 * (empty) site directory. */
static int
stamp_row(const char *path, const struct ep_stamp *st, void *data)
{
	struct ep_stamp now;

	(void)data;
	if (ep_stamp_get(sitefd, path, &now) < 0)
		return 1;
	return ep_stamp_equal(st, &now) ? 0 : 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = { "console_scripts", "g", "", "race" };
	struct ep_cache_file cf;
	struct ep_strset groups = { 0 };
	char **names = NULL;
	size_t nnames = 0;
	const char *reason = NULL;
	int fd;

	if (sitefd < 0) {
		/* An empty directory for the strict stamps: every recorded
		 * path is then missing, which the reader must handle. */
		char tmpl[] = "/tmp/epcache-fuzz-XXXXXX";

		if (!mkdtemp(tmpl))
			abort();
		sitefd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rmdir(tmpl);
		if (sitefd < 0)
			abort();
	}

	fd = memfd_create("fuzz-cache", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();

	/* ep_cache_open takes the fd, and closes it on failure. */
	if (ep_cache_open(fd, NULL, &cf, &reason) < 0) {
		if (!reason)
			abort();
		return 0;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		read_group(&cf, fixed[i]);
	if (ep_cache_list_groups(&cf, &groups) == 0) {
		for (size_t i = 0; i < groups.cap; i++)
			if (groups.slots[i])
				read_group(&cf, groups.slots[i]);
	}
	ep_strset_release(&groups);
	if (ep_cache_read_names(&cf, &names, &nnames) == 0) {
		for (size_t i = 0; i < nnames; i++)
			free(names[i]);
		free(names);
	}
	(void)ep_cache_read_stamps(&cf, stamp_row, NULL);
	ep_cache_close(&cf);
	return 0;
}
