/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the Name:/Version: reader of METADATA and PKG-INFO
 * (ep_metadata_parse), fed exactly the bytes of a file.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = NULL, *version = NULL;
	/* Exact size, no NUL after it: the length is the contract. */
	char *buf = malloc(size ? size : 1);
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	rc = ep_metadata_parse(buf, size, &name, &version);
	/* The documented results only; anything else is a bug. */
	if (rc != 0 && rc != -EILSEQ && rc != -ENOMEM)
		abort();
	/* A value is a C string: it must not run into a NUL it hides. */
	if (name)
		(void)strlen(name);
	if (version)
		(void)strlen(version);
	free(name);
	free(version);
	free(buf);
	return 0;
}
