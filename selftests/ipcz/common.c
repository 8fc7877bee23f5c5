// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the /dev/ipcz selftests.
 */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long ipcz_live_objects(void)
{
	FILE *f = fopen(IPCZ_LIVE_OBJECTS_PATH, "re");
	long value;
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%ld", &value);
	fclose(f);
	return n == 1 ? value : -1;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

long ipcz_wait_live_objects(long want, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	long value;

	for (;;) {
		value = ipcz_live_objects();
		if (value == want || now_ms() >= deadline)
			return value;
		sleep_ms(5);
	}
}

int ipcz_open_node(void)
{
	return open(IPCZ_DEV_PATH, O_RDWR | O_CLOEXEC);
}

bool ipcz_missing(void)
{
	struct stat st;

	return stat(IPCZ_DEV_PATH, &st) != 0 && errno == ENOENT;
}

static int decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

pid_t fork_child(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return decode_status(status);
}

int wait_child_timeout(pid_t pid, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return decode_status(status);
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			wait_child(pid);
			return -1;
		}
		sleep_ms(2);
	}
}

bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	/* The directory stream itself was open while counting. */
	return n - 1;
}

void close_all_fds(void)
{
	int fd;

	if (!close_range(3, ~0U, 0))
		return;
	for (fd = 3; fd < 4096; fd++)
		close(fd);
}

void *unmapped_page(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static unsigned char pattern_byte(size_t i, unsigned int seed)
{
	return (unsigned char)((i * 131u + seed * 7u + (i >> 8)) ^ seed);
}

void fill_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
}

bool check_pattern(const void *buf, size_t len, unsigned int seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern_byte(i, seed))
			return false;
	return true;
}
