// SPDX-License-Identifier: MIT
/*
 * The demo's output. Three processes share one standard output, so each
 * line is formatted whole and written with a single write(): lines of
 * different processes never tear each other. Times count from one epoch
 * taken before the fork, so they compare across processes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/demo/demo.h"

static const char *log_name = "?";
static int64_t log_epoch_ns;

int64_t demo_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t demo_deadline(void)
{
	return demo_now_ns() + (int64_t)demo_options.timeout_ms * 1000000;
}

void demo_log_start(const char *name, int64_t epoch_ns)
{
	log_name = name;
	log_epoch_ns = epoch_ns;
}

static void log_line(const char *prefix, const char *fmt, va_list args)
{
	char line[512];
	int64_t ms = (demo_now_ns() - log_epoch_ns) / 1000000;
	int n = snprintf(line, sizeof(line), "%4lld.%03lld  %s  %s",
			 (long long)(ms / 1000), (long long)(ms % 1000),
			 log_name, prefix);

	n += vsnprintf(line + n, sizeof(line) - n, fmt, args);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* Anything printed through stdio (ipczctl's pipe) goes first. */
	fflush(stdout);
	if (write(STDOUT_FILENO, line, n) < 0)
		return;		/* nowhere left to report it */
}

void demo_say(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_line("", fmt, args);
	va_end(args);
}

bool demo_fail(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	log_line("error: ", fmt, args);
	va_end(args);
	return false;
}

const char *demo_result_name(IpczResult result)
{
	static const char *const names[] = {
		[IPCZ_RESULT_OK] = "OK",
		[IPCZ_RESULT_CANCELLED] = "CANCELLED",
		[IPCZ_RESULT_UNKNOWN] = "UNKNOWN",
		[IPCZ_RESULT_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
		[IPCZ_RESULT_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
		[IPCZ_RESULT_NOT_FOUND] = "NOT_FOUND",
		[IPCZ_RESULT_ALREADY_EXISTS] = "ALREADY_EXISTS",
		[IPCZ_RESULT_PERMISSION_DENIED] = "PERMISSION_DENIED",
		[IPCZ_RESULT_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
		[IPCZ_RESULT_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
		[IPCZ_RESULT_ABORTED] = "ABORTED",
		[IPCZ_RESULT_OUT_OF_RANGE] = "OUT_OF_RANGE",
		[IPCZ_RESULT_UNIMPLEMENTED] = "UNIMPLEMENTED",
		[IPCZ_RESULT_INTERNAL] = "INTERNAL",
		[IPCZ_RESULT_UNAVAILABLE] = "UNAVAILABLE",
		[IPCZ_RESULT_DATA_LOSS] = "DATA_LOSS",
	};

	if (result < 0 || (size_t)result >= sizeof(names) / sizeof(names[0]))
		return "(unknown result)";
	return names[result];
}
