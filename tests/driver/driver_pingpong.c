// SPDX-License-Identifier: MIT
/*
 * driver-pingpong: round-trip latency between two processes through each
 * available driver's IpczDriver table (64-byte messages, and empty
 * Transmits), beside a plain AF_UNIX socketpair for reference.
 *
 *	driver-pingpong [round_trips]
 *
 * Prints one line per measurement: median and mean microseconds.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ipcz/kernel_driver.h>
#include <ipcz/socket_driver.h>

struct side {
	const struct IpczDriver *d;
	IpczDriverHandle t;
	size_t len;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned long received;
	int echo;
};

static IpczResult IPCZ_API on_activity(IpczHandle listener, const void *data,
				       size_t num_bytes,
				       const IpczDriverHandle *handles,
				       size_t num_handles, uint32_t flags,
				       const void *options)
{
	struct side *s = (struct side *)(uintptr_t)listener;

	if (flags)
		return IPCZ_RESULT_OK;
	if (s->echo)
		return s->d->Transmit(s->t, data, num_bytes, NULL, 0, 0, NULL);
	pthread_mutex_lock(&s->lock);
	s->received++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return IPCZ_RESULT_OK;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *samples, int n)
{
	double sum = 0;

	for (int i = 0; i < n; i++)
		sum += samples[i];
	qsort(samples, n, sizeof(*samples), compare);
	printf("%-34s median %8.1f us   mean %8.1f us\n", what, samples[n / 2],
	       sum / n);
}

static void measure_driver(const char *name, const struct IpczDriver *d,
			   int (*pair)(int[2]),
			   IpczResult (*adopt)(int, IpczDriverHandle *),
			   size_t len, int n)
{
	static struct side s = { .lock = PTHREAD_MUTEX_INITIALIZER,
				 .cond = PTHREAD_COND_INITIALIZER };
	uint8_t message[64] = { 0 };
	double *samples = calloc(n, sizeof(*samples));
	char what[64];
	int fds[2];
	pid_t pid;

	if (!samples || pair(fds))
		return;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		s.d = d;
		s.echo = 1;
		if (adopt(fds[1], &s.t) != IPCZ_RESULT_OK ||
		    d->ActivateTransport(s.t, (IpczHandle)(uintptr_t)&s,
					 on_activity, 0, NULL))
			_exit(1);
		pause();
		_exit(0);
	}
	close(fds[1]);
	s.d = d;
	s.echo = 0;
	s.received = 0;
	if (adopt(fds[0], &s.t) != IPCZ_RESULT_OK ||
	    d->ActivateTransport(s.t, (IpczHandle)(uintptr_t)&s, on_activity,
				 0, NULL))
		return;
	for (int i = -n / 10; i < n; i++) {
		double start = now_us();

		d->Transmit(s.t, message, len, NULL, 0, 0, NULL);
		pthread_mutex_lock(&s.lock);
		while (s.received == 0)
			pthread_cond_wait(&s.cond, &s.lock);
		s.received = 0;
		pthread_mutex_unlock(&s.lock);
		if (i >= 0)
			samples[i] = now_us() - start;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	d->DeactivateTransport(s.t, 0, NULL);
	snprintf(what, sizeof(what), "%s driver, %zu bytes", name, len);
	report(what, samples, n);
	free(samples);
}

static void measure_socketpair(int n)
{
	double *samples = calloc(n, sizeof(*samples));
	char buffer[64] = { 0 };
	int fds[2];
	pid_t pid;

	if (!samples || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds))
		return;
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		while (read(fds[1], buffer, sizeof(buffer)) > 0)
			if (write(fds[1], buffer, 64) != 64)
				break;
		_exit(0);
	}
	close(fds[1]);
	for (int i = -n / 10; i < n; i++) {
		double start = now_us();

		if (write(fds[0], buffer, 64) != 64 ||
		    read(fds[0], buffer, sizeof(buffer)) != 64)
			break;
		if (i >= 0)
			samples[i] = now_us() - start;
	}
	close(fds[0]);
	waitpid(pid, NULL, 0);
	report("AF_UNIX socketpair, 64 bytes", samples, n);
	free(samples);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;

	if (n < 10)
		n = 10;
	printf("round trips between two processes (%d each)\n", n);
	if (ipcz_kernel_available()) {
		measure_driver("kernel", ipcz_kernel_driver(),
			       ipcz_kernel_transport_pair_fds,
			       ipcz_kernel_transport_from_fd, 64, n);
		measure_driver("kernel", ipcz_kernel_driver(),
			       ipcz_kernel_transport_pair_fds,
			       ipcz_kernel_transport_from_fd, 0, n);
	} else {
		printf("kernel driver: /dev/ipcz not usable, skipped\n");
	}
	measure_driver("socket", ipcz_socket_driver(), ipcz_socket_pair,
		       ipcz_socket_transport_from_fd, 64, n);
	measure_driver("socket", ipcz_socket_driver(), ipcz_socket_pair,
		       ipcz_socket_transport_from_fd, 0, n);
	measure_socketpair(n);
	return 0;
}
