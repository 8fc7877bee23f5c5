// SPDX-License-Identifier: MIT
/*
 * A and B agree on when B's last measurement starts and ends over a plain
 * socket pair, not over ipcz: A reads the counters of its own transports
 * around that measurement, and a message of ours on them would spoil the
 * very figure it checks.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/demo/demo.h"

bool demo_sync_pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds))
		return demo_fail("socketpair() for A-B sync: %s",
				 strerror(errno));
	return true;
}

bool demo_sync_send(int fd, char step)
{
	if (write(fd, &step, 1) != 1)
		return demo_fail("sync '%c': %s", step, strerror(errno));
	return true;
}

bool demo_sync_expect(int fd, char step, int waits)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t deadline = demo_now_ns() +
			   (int64_t)waits * demo_options.timeout_ms * 1000000;
	int64_t left_ms;
	char got;
	int n;

	do {
		left_ms = (deadline - demo_now_ns()) / 1000000;
		n = poll(&p, 1, left_ms > 0 ? (int)left_ms : 0);
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		return demo_fail("no sync '%c' within %d ms", step,
				 waits * demo_options.timeout_ms);
	if (n < 0 || read(fd, &got, 1) != 1)
		return demo_fail("sync '%c': the other side is gone", step);
	if (got != step)
		return demo_fail("sync: '%c' instead of '%c'", got, step);
	return true;
}
