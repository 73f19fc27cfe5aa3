/* SPDX-License-Identifier: MIT */
/* The public header compiles on its own as strict C99 (and as C++ would
 * via its extern "C" guard); built with -std=c99 -pedantic -Werror. */
#include <epcache.h>

int
main(void)
{
	struct epcache *ctx = epcache_new();
	int ok = ctx != 0 && epcache_get_version() != 0;

	epcache_free(ctx);
	return ok ? 0 : 1;
}
