/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: the YAML configuration loader (ep_config_load_buffer),
 * fed one document as a drop-in file would be. Two loads into one
 * configuration exercise the merge of a second document too.
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
	struct ep_config cfg;
	char *error = NULL;
	/* Exact size, no NUL after it: the length is the contract. */
	char *buf = malloc(size ? size : 1);
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	ep_config_init(&cfg);
	for (int round = 0; round < 2; round++) {
		rc = ep_config_load_buffer(&cfg, "fuzz.yaml", buf, size, &error);
		/* The documented results: 0, or -EINVAL with a message */
		if (rc == -EINVAL && !error)
			abort();
		if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
			abort();
		free(error);
		error = NULL;
		if (rc != 0)
			break;
		for (size_t i = 0; i < cfg.ndirs; i++)
			if (!cfg.dirs[i].path)
				abort();
	}
	ep_config_release(&cfg);
	free(buf);
	return 0;
}
