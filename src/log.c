/* SPDX-License-Identifier: MIT */
/*
 * The library context and its log hook.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "epcache-private.h"

static void
default_log_handler(struct epcache *ctx, enum epcache_log_priority prio,
		    void *userdata, const char *format, va_list args)
	EP_PRINTF(4, 0);

static void
default_log_handler(struct epcache *ctx, enum epcache_log_priority prio,
		    void *userdata, const char *format, va_list args)
{
	const char *what = prio <= EPCACHE_LOG_ERROR	 ? "error"
			   : prio <= EPCACHE_LOG_WARNING ? "warning"
							 : "info";

	(void)ctx;
	(void)userdata;
	fprintf(stderr, "epcache: %s: ", what);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

EP_EXPORT struct epcache *
epcache_new(void)
{
	struct epcache *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->log_handler = default_log_handler;
	ctx->log_priority = EPCACHE_LOG_WARNING;
	ctx->lock_timeout_ms = EP_LOCK_TIMEOUT_DEFAULT_MS;
	ctx->max_cache_size = EP_CACHE_MAX_SIZE;
	return ctx;
}

EP_EXPORT void
epcache_free(struct epcache *ctx)
{
	free(ctx);
}

EP_EXPORT void
epcache_set_log_handler(struct epcache *ctx, epcache_log_func_t handler,
			void *userdata)
{
	ctx->log_handler = handler;
	ctx->log_userdata = userdata;
}

EP_EXPORT void
epcache_set_log_priority(struct epcache *ctx, enum epcache_log_priority prio)
{
	ctx->log_priority = prio;
}

EP_EXPORT enum epcache_log_priority
epcache_get_log_priority(const struct epcache *ctx)
{
	return ctx->log_priority;
}

EP_EXPORT const char *
epcache_get_version(void)
{
	return EPCACHE_VERSION_STRING;
}

void
ep_log(struct epcache *ctx, enum epcache_log_priority prio, const char *fmt,
       ...)
{
	va_list args;

	/* Unit tests call internal functions without a context. */
	if (!ctx || !ctx->log_handler || prio > ctx->log_priority)
		return;
	va_start(args, fmt);
	ctx->log_handler(ctx, prio, ctx->log_userdata, fmt, args);
	va_end(args);
}
