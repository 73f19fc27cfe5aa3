/* SPDX-License-Identifier: MIT */
/*
 * Messages of the command-line programs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "tool-messages.h"

/* glibc's name of the running program, as error(3) uses it: no global of
 * ours to set up. */
#define PROGRAM program_invocation_short_name

void
tool_log_handler(struct epcache *ctx, enum epcache_log_priority priority,
		 void *userdata, const char *format, va_list args)
{
	const bool *quiet = userdata;

	(void)ctx;
	/* The library filters by priority already; this keeps -q quiet even
	 * if someone raises the priority later. */
	if (quiet && *quiet && priority > EPCACHE_LOG_ERROR)
		return;
	if (priority <= EPCACHE_LOG_ERROR)
		fprintf(stderr, "%s: error: ", PROGRAM);
	else if (priority <= EPCACHE_LOG_WARNING)
		fprintf(stderr, "%s: warning: ", PROGRAM);
	else
		fprintf(stderr, "%s: ", PROGRAM);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

static void
vmessage(const char *format, va_list args) __attribute__((format(printf, 1, 0)));

static void
vmessage(const char *format, va_list args)
{
	fprintf(stderr, "%s: ", PROGRAM);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

void
tool_error(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vmessage(format, args);
	va_end(args);
}

void
tool_usage_error(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vmessage(format, args);
	va_end(args);
	fprintf(stderr, "Try '%s --help' for more information.\n", PROGRAM);
}
