/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: entry_points.txt parsing (ep_parse_entry_points) and,
 * for every entry it yields, the value grammar (ep_value_parse), which is
 * what a reader applies to the same bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "epcache-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ep_entry_list list = { 0 };
	/* An exact-size copy without a terminating NUL: the parser takes a
	 * length, so reading past it is a bug ASan must see. */
	char *buf = malloc(size ? size : 1);
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* No context: warnings are dropped (ep_log allows NULL). */
	rc = ep_parse_entry_points(NULL, "fuzz/entry_points.txt", buf, size,
				   &list);
	if (rc >= 0) {
		for (size_t i = 0; i < list.n; i++) {
			struct ep_value v = { 0 };

			if (!list.v[i].group || !list.v[i].name ||
			    !list.v[i].value)
				abort();
			if (ep_value_parse(list.v[i].value, &v) == 0)
				ep_value_release(&v);
		}
	}
	ep_entry_list_release(&list);
	free(buf);
	return 0;
}
