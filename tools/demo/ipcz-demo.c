// SPDX-License-Identifier: MIT
/*
 * ipcz-demo: the demonstration of Documentation/demo.rst.
 *
 * Three processes: A (the broker, this process) connects to B and to C
 * over transport pairs made here before the fork (and keeps a plain socket
 * pair with B to mark B's last measurement, see sync.c); B sends one end of a new
 * portal pair to A, A forwards it to C, and route reduction then takes A
 * out of the route between B and C. Every step is printed as it happens,
 * by the process that takes it; the exit status is 0 only if every step
 * worked.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/demo/demo.h"

struct demo_options demo_options = {
	.kind = IPCZ_DRIVER_AUTO,
	.round_trips = 2000,
	.timeout_ms = 10000,
};

static void usage(FILE *to)
{
	fprintf(to,
		"usage: ipcz-demo [--driver socket|kernel|auto] "
		"[--round-trips N]\n"
		"                 [--timeout-ms MS] [--ipczctl[=PATH]]\n"
		"  --driver      the driver (default auto: kernel if /dev/ipcz "
		"is usable)\n"
		"  --round-trips round trips per latency measurement "
		"(default 2000)\n"
		"  --timeout-ms  bound of every single wait (default 10000)\n"
		"  --ipczctl     kernel driver: show the module's objects with "
		"ipczctl\n"
		"                (PATH, default \"ipczctl\") and check A's "
		"transports\n");
}

static bool parse_kind(const char *name, enum ipcz_driver_kind *kind)
{
	if (!strcmp(name, "socket"))
		*kind = IPCZ_DRIVER_SOCKET;
	else if (!strcmp(name, "kernel"))
		*kind = IPCZ_DRIVER_KERNEL;
	else if (!strcmp(name, "auto"))
		*kind = IPCZ_DRIVER_AUTO;
	else
		return false;
	return true;
}

static bool parse_positive(const char *text, int *value)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || n <= 0 || n > 100000000)
		return false;
	*value = (int)n;
	return true;
}

static bool parse_options(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "round-trips", required_argument, NULL, 'n' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "ipczctl", optional_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	bool ok = true;

	while (ok && (opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case 'd':
			ok = parse_kind(optarg, &demo_options.kind);
			break;
		case 'n':
			ok = parse_positive(optarg, &demo_options.round_trips);
			break;
		case 't':
			ok = parse_positive(optarg, &demo_options.timeout_ms);
			break;
		case 'i':
			demo_options.ipczctl = optarg ? optarg : "ipczctl";
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			ok = false;
		}
	}
	if (!ok || optind != argc) {
		usage(stderr);
		return false;
	}
	return true;
}

/* Resolves --driver to the kernel or the socket driver. */
static bool choose_driver(void)
{
	enum ipcz_driver_kind asked = demo_options.kind;

	const char *env = getenv(IPCZ_DRIVER_ENV);

	demo_options.kind = ipcz_default_driver_kind(asked);
	if (demo_options.kind == IPCZ_DRIVER_INVALID &&
	    asked == IPCZ_DRIVER_AUTO && env && strcmp(env, "kernel"))
		return demo_fail("%s=\"%s\": not kernel, socket or auto",
				 IPCZ_DRIVER_ENV, env);
	if (demo_options.kind == IPCZ_DRIVER_INVALID)
		return demo_fail("the kernel driver is unusable: /dev/ipcz "
				 "cannot be opened (is ipcz.ko loaded? see "
				 "Documentation/drivers.rst)");
	demo_say("driver: %s (asked for %s)",
		 ipcz_driver_kind_name(demo_options.kind),
		 ipcz_driver_kind_name(asked));
	if (demo_options.ipczctl && demo_options.kind != IPCZ_DRIVER_KERNEL)
		return demo_fail("--ipczctl shows kernel objects: it needs "
				 "the kernel driver");
	return true;
}

/* Makes a transport pair, labelling its ends in `links` (ipczctl). */
static bool make_pair(int fds[2], const char *label,
		      struct demo_transports *links)
{
	struct demo_transports before = *links;
	int rc = ipcz_driver_transport_pair_fds(demo_options.kind, fds);

	if (rc < 0)
		return demo_fail("making the %s transport pair: %s", label,
				 strerror(-rc));
	demo_say("made the %s transport pair", label);
	if (!demo_options.ipczctl)
		return true;
	if (!demo_ipczctl_transports(links))
		return false;
	demo_ipczctl_label_new(links, &before, label);
	return true;
}

/* Every descriptor made before the fork; each process keeps its own. */
struct demo_fds {
	int ab[2];	/* transport pair A-B: [0] for A, [1] for B */
	int ac[2];	/* transport pair A-C */
	int sync[2];	/* A-B sync socket pair, outside ipcz */
};

static void close_all_but(const struct demo_fds *fds, int keep1, int keep2)
{
	const int *all = &fds->ab[0];
	size_t i;

	for (i = 0; i < sizeof(*fds) / sizeof(int); i++)
		if (all[i] != keep1 && all[i] != keep2)
			close(all[i]);
}

static bool run_child(const char *name, const struct demo_fds *fds)
{
	if (!strcmp(name, "B")) {
		close_all_but(fds, fds->ab[1], fds->sync[1]);
		return demo_role_b(fds->ab[1], fds->sync[1]);
	}
	close_all_but(fds, fds->ac[1], -1);
	return demo_role_c(fds->ac[1]);
}

static pid_t start(const char *name, const struct demo_fds *fds,
		   int64_t epoch)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		demo_fail("fork() for %s: %s", name, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		demo_log_start(name, epoch);
		exit(run_child(name, fds) ? 0 : 1);
	}
	demo_say("started %s (pid %d)", name, (int)pid);
	return pid;
}

/* Waits, bounded, for a child; kills it if it outstays the bound. */
static bool reap(const char *name, pid_t pid)
{
	int64_t deadline = demo_deadline();
	int status;
	pid_t got;

	if (pid < 0)
		return false;
	while ((got = waitpid(pid, &status, WNOHANG)) == 0) {
		if (demo_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return demo_fail("%s still running after %d ms: "
					 "killed", name,
					 demo_options.timeout_ms);
		}
		usleep(10000);
	}
	if (got < 0)
		return demo_fail("waitpid(%s): %s", name, strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFSIGNALED(status))
		return demo_fail("%s died of signal %d", name,
				 WTERMSIG(status));
	return demo_fail("%s failed (exit status %d)", name,
			 WEXITSTATUS(status));
}

int main(int argc, char **argv)
{
	static struct demo_transports links;
	int64_t epoch = demo_now_ns();
	struct demo_fds fds;
	pid_t b, c;
	bool ok;

	demo_log_start("A", epoch);
	if (!parse_options(argc, argv))
		return 2;
	if (!choose_driver())
		return 1;
	if (demo_options.ipczctl && !demo_ipczctl_transports(&links))
		return 1;
	if (!make_pair(fds.ab, "A-B", &links) ||
	    !make_pair(fds.ac, "A-C", &links) || !demo_sync_pair(fds.sync))
		return 1;
	b = start("B", &fds, epoch);
	c = b < 0 ? -1 : start("C", &fds, epoch);
	close(fds.ab[1]);
	close(fds.ac[1]);
	close(fds.sync[1]);
	if (b < 0 || c < 0)
		ok = false;
	else
		ok = demo_role_a(fds.ab[0], fds.ac[0], fds.sync[0], &links);
	/* B, if still waiting for A, sees the sync socket close at once. */
	close(fds.sync[0]);
	ok = reap("B", b) && ok;
	ok = reap("C", c) && ok;
	if (ok)
		demo_say("demo: every step worked");
	else
		demo_say("demo: FAILED (see the errors above)");
	return ok ? 0 : 1;
}
