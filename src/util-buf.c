/* SPDX-License-Identifier: MIT */
/*
 * Growable buffers, and reading whole files and directories.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "epcache-private.h"

static int
buf_reserve(struct ep_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
ep_buf_append(struct ep_buf *b, const void *data, size_t len)
{
	int rc = buf_reserve(b, len);

	if (rc < 0)
		return rc;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
ep_buf_extend(struct ep_buf *b, size_t len)
{
	int rc = buf_reserve(b, len);

	if (rc < 0)
		return rc;
	memset(b->data + b->len, 0, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
ep_buf_append_str(struct ep_buf *b, const char *s)
{
	return ep_buf_append(b, s, strlen(s));
}

int
ep_buf_printf(struct ep_buf *b, const char *fmt, ...)
{
	va_list args;
	int n, rc;

	va_start(args, fmt);
	n = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	if (n < 0)
		return -EINVAL;
	rc = buf_reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(args, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, args);
	va_end(args);
	b->len += (size_t)n;
	return 0;
}

int
ep_buf_set_path(struct ep_buf *b, const char *dir, const char *file)
{
	int rc;

	b->len = 0;
	if ((rc = ep_buf_append_str(b, dir)) < 0 || !*file)
		return rc;
	if ((rc = ep_buf_append_str(b, "/")) < 0)
		return rc;
	return ep_buf_append_str(b, file);
}

char *
ep_buf_steal(struct ep_buf *b)
{
	char *p;

	if (!b->data) {
		if (buf_reserve(b, 0) < 0)
			return NULL;
		b->data[0] = '\0';
	}
	p = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void
ep_buf_release(struct ep_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *
ep_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * open, fstat, read, close: four system calls for the usual file. The
 * type is checked before anything is read: a FIFO or a device planted
 * (or symlinked) as a metadata file is never read from. The size fstat
 * gives sizes the buffer one byte larger, so that one short read of
 * exactly that size is the end; anything else (a file growing, FUSE,
 * procfs) reads on until read() returns 0, as Python does.
 */
int
ep_read_file_at(int dirfd, const char *name, char **data, size_t *len,
		struct stat *st_out)
{
	return ep_read_file_at_max(dirfd, name, -1, data, len, st_out);
}

/* @max < 0: no bound. The size fstat reports is checked first (a sparse
 * file of gigabytes costs nothing to make), then every read, for a file
 * that grows while read, or reports no size (procfs, FUSE). */
int
ep_read_file_at_max(int dirfd, const char *name, long long max, char **data,
		    size_t *len, struct stat *st_out)
{
	struct ep_buf b = {0};
	struct stat st;
	size_t size;
	int fd, rc = 0;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
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
	if (max >= 0 && st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	size = st.st_size > 0 ? (size_t)st.st_size : 0;
	if ((rc = buf_reserve(&b, size + 1)) < 0)
		goto out;
	for (;;) {
		size_t want;
		ssize_t r;

		if (b.cap - b.len - 1 == 0 &&
		    (rc = buf_reserve(&b, 65536)) < 0)
			goto out;
		want = b.cap - b.len - 1;
		r = read(fd, b.data + b.len, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		b.len += (size_t)r;
		if (max >= 0 && b.len > (size_t)max) {
			rc = -EFBIG;
			goto out;
		}
		if (b.len == size && (size_t)r < want)
			break;
	}
	b.data[b.len] = '\0';
	*len = b.len;
	*data = ep_buf_steal(&b);
	if (!*data)
		rc = -ENOMEM;
	else if (st_out)
		*st_out = st;
out:
	if (rc < 0)
		ep_buf_release(&b);
	close(fd);
	return rc;
}

int
ep_opendir_at(int dirfd, DIR **out)
{
	int fd, rc;

	/* A fresh fd: a dup would share (and move) the caller's offset. */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*out = fdopendir(fd);
	if (!*out) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return 0;
}
