/* SPDX-License-Identifier: MIT */
/*
 * Messages of the command-line programs, "PROGRAM: ..." on stderr, shared
 * by update-entrypoints-cache and entrypoints-query (not the library).
 */
#ifndef EPCACHE_TOOL_MESSAGES_H
#define EPCACHE_TOOL_MESSAGES_H

#include <stdarg.h>
#include <stdbool.h>

#include "epcache.h"

/* A log handler for the library; @userdata is a const bool *: when it
 * points to true, only errors are printed. NULL is allowed. */
void tool_log_handler(struct epcache *ctx, enum epcache_log_priority priority,
		      void *userdata, const char *format, va_list args)
	__attribute__((format(printf, 4, 0)));

/* "PROGRAM: message" */
void tool_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* "PROGRAM: message" and a pointer to --help */
void tool_usage_error(const char *format, ...)
	__attribute__((format(printf, 1, 2)));

#endif
