// SPDX-License-Identifier: MIT
/*
 * What the kernel driver offers beyond the IpczDriver contract
 * (include/ipcz/kernel_driver.h): rendezvous by name, adoption of
 * descriptors, peer credentials, empty messages in line, wrapped
 * descriptors, and its defence against a peer that writes raw messages.
 * Runs inside the test VM; every test skips without /dev/ipcz.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include <ipcz/kernel_driver.h>

#include "tests/driver/activity_log.h"
#include "uapi/linux/ipcz.h"

#define WAIT_MS 20000

FIXTURE(kdrv) {
	const struct IpczDriver *d;
	struct activity_log log;
	char name[64];
};

/* The driver (null without a usable /dev/ipcz) and a log ready for it. */
static const struct IpczDriver *open_driver(struct activity_log *log)
{
	if (!ipcz_kernel_available())
		return NULL;
	activity_log_init(log, ipcz_kernel_driver());
	return ipcz_kernel_driver();
}

FIXTURE_SETUP(kdrv)
{
	self->d = open_driver(&self->log);
	snprintf(self->name, sizeof(self->name), "kdrv-test-%d",
		 (int)getpid());
}

FIXTURE_TEARDOWN(kdrv)
{
	if (self->d)
		activity_log_destroy(&self->log);
}

#define NEED_MODULE() \
	do { \
		if (!self->d) \
			SKIP(return, "/dev/ipcz is not usable here"); \
	} while (0)

static int status_of(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) :
				   1000 + WTERMSIG(status);
}

/* Activates `t` on the log and waits for one message equal to `text`. */
static bool receive_text(struct activity_log *log, IpczDriverHandle t,
			 const char *text)
{
	size_t index;
	struct activity a;

	if (activity_log_activate(log, t) != IPCZ_RESULT_OK ||
	    !activity_log_wait(log, &log->messages, 1, WAIT_MS))
		return false;
	index = activity_log_message_index(log, 0);
	a = activity_log_call(log, index);
	return a.num_bytes == strlen(text) &&
	       !memcmp(a.data, text, a.num_bytes);
}

static IpczResult send_text(const struct IpczDriver *d, IpczDriverHandle t,
			    const char *text)
{
	return d->Transmit(t, text, strlen(text), NULL, 0, 0, NULL);
}

/* Deactivating `b` must bring the DEACTIVATED call; then it is closed. */
static void deactivate_and_close(struct __test_metadata *_metadata,
				 FIXTURE_DATA(kdrv) *self, IpczDriverHandle b)
{
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(b, 0, NULL));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.deactivations,
				      1, WAIT_MS));
	self->d->Close(b, 0, NULL);
}

/*
 * Sends `count` messages of `len` bytes, each filled with its number, on
 * `a`, each followed by an empty one if `empties`; false if a Transmit()
 * failed. Sent to a peer that does not read, most of them wait in user
 * space: the receiving end's kernel queue holds 1 MiB.
 */
static bool send_numbered(const struct IpczDriver *d, IpczDriverHandle a,
			  size_t count, size_t len, bool empties)
{
	uint8_t *message = malloc(len);
	bool ok = message != NULL;

	for (size_t i = 0; ok && i < count; i++) {
		memset(message, (int)i, len);
		ok = d->Transmit(a, message, len, NULL, 0, 0, NULL) ==
		     IPCZ_RESULT_OK;
		if (ok && empties)
			ok = d->Transmit(a, NULL, 0, NULL, 0, 0, NULL) ==
			     IPCZ_RESULT_OK;
	}
	free(message);
	return ok;
}

TEST_F(kdrv, rendezvous_in_one_process)
{
	IpczDriverHandle server, client, extra;
	int listener, second;

	NEED_MODULE();
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_listen(self->name, 0600,
						     &listener));
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz_kernel_listen(self->name, 0600, &second));
	EXPECT_EQ(IPCZ_RESULT_DEADLINE_EXCEEDED,
		  ipcz_kernel_accept(listener, 0, &server));
	/* The client may send before the server accepts. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_connect(self->name, &client));
	ASSERT_EQ(IPCZ_RESULT_OK, send_text(self->d, client, "early"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_accept(listener, 1000,
						     &server));
	EXPECT_TRUE(receive_text(&self->log, server, "early"));
	EXPECT_EQ(IPCZ_RESULT_DEADLINE_EXCEEDED,
		  ipcz_kernel_accept(listener, 50, &extra));
	close(listener);
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz_kernel_connect(self->name, &extra));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->DeactivateTransport(server, 0, NULL));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.deactivations,
				      1, WAIT_MS));
	self->d->Close(server, 0, NULL);
	self->d->Close(client, 0, NULL);
}

TEST_F(kdrv, rendezvous_names_are_checked)
{
	IpczDriverHandle t = 0;
	char long_name[300];
	int listener;

	NEED_MODULE();
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_kernel_listen("", 0600, &listener));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_kernel_listen(long_name, 0600, &listener));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_kernel_listen(self->name, 01000, &listener));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_kernel_connect(NULL, &t));
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND, ipcz_kernel_connect(self->name, &t));
	EXPECT_EQ(0, t);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, ipcz_kernel_accept(0, 0, &t));
}

/* An unrelated process (here: forked, then using only the name). */
TEST_F(kdrv, rendezvous_across_processes_with_credentials)
{
	struct ipcz_kernel_peer peer;
	IpczDriverHandle server;
	int listener;
	pid_t pid;

	NEED_MODULE();
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_listen(self->name, 0600,
						     &listener));
	pid = fork();
	if (pid == 0) {
		const struct IpczDriver *d = ipcz_kernel_driver();
		IpczDriverHandle client;

		close(listener);
		if (ipcz_kernel_connect(self->name, &client) != IPCZ_RESULT_OK)
			_exit(1);
		if (send_text(d, client, "hello by name") != IPCZ_RESULT_OK)
			_exit(2);
		/* Leave without closing: the message stays queued. */
		_exit(0);
	}
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_accept(listener, WAIT_MS,
						     &server));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_transport_peer(server, &peer));
	EXPECT_EQ(pid, peer.pid);
	EXPECT_EQ(getuid(), peer.uid);
	EXPECT_EQ(getgid(), peer.gid);
	EXPECT_TRUE(receive_text(&self->log, server, "hello by name"));
	EXPECT_EQ(0, status_of(pid));
	/* The peer exited: its end closed. */
	EXPECT_TRUE(activity_log_wait(&self->log, &self->log.errors, 1,
				      WAIT_MS));
	close(listener);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->DeactivateTransport(server, 0, NULL));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.deactivations,
				      1, WAIT_MS));
	self->d->Close(server, 0, NULL);
}

TEST_F(kdrv, rendezvous_mode_is_enforced)
{
	int listener;
	pid_t pid;

	NEED_MODULE();
	if (geteuid() != 0)
		SKIP(return, "needs root to switch to another user");
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_listen(self->name, 0600,
						     &listener));
	pid = fork();
	if (pid == 0) {
		IpczDriverHandle client;
		IpczResult result;

		if (setgid(65534) || setuid(65534))
			_exit(1);
		result = ipcz_kernel_connect(self->name, &client);
		_exit(result == IPCZ_RESULT_PERMISSION_DENIED ? 0 : 2);
	}
	EXPECT_EQ(0, status_of(pid));
	close(listener);
}

TEST_F(kdrv, only_transports_are_adopted)
{
	IpczDriverHandle t = 0;
	int pipe_fds[2], fds[2];

	NEED_MODULE();
	ASSERT_EQ(0, pipe(pipe_fds));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_kernel_transport_from_fd(pipe_fds[0], &t));
	/* It was closed, as documented. */
	EXPECT_EQ(-1, fcntl(pipe_fds[0], F_GETFD));
	close(pipe_fds[1]);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz_kernel_transport_from_fd(-1, &t));
	EXPECT_EQ(0, t);
	ASSERT_EQ(0, ipcz_kernel_transport_pair_fds(fds));
	EXPECT_NE(0, fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_transport_from_fd(fds[0], &t));
	close(fds[1]);
	self->d->Close(t, 0, NULL);
}

/*
 * Empty Transmits are messages, not doorbell rings: while the peer's kernel
 * queue is full they wait in user space behind the messages before them,
 * and each reaches the peer as its own call, in its place.
 */
TEST_F(kdrv, empties_wait_in_line_behind_full_output)
{
	const size_t count = 48, len = 64 * 1024;
	IpczDriverHandle a, b;
	size_t index = 0;

	NEED_MODULE();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->CreateTransports(0, 0, 0, NULL, &a, &b));
	/* Three times what the receiving end's kernel queue holds. */
	ASSERT_TRUE(send_numbered(self->d, a, count, len, true));
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(&self->log, b));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.empties, count,
				      WAIT_MS));
	ASSERT_EQ(count, activity_log_get(&self->log, &self->log.messages));
	ASSERT_EQ(2 * count, activity_log_get(&self->log, &self->log.count));
	for (size_t i = 0; i < count; i++) {
		struct activity m = activity_log_call(&self->log, index++);
		struct activity e = activity_log_call(&self->log, index++);

		ASSERT_EQ(len, m.num_bytes);
		EXPECT_EQ((uint8_t)i, m.data[len - 1]);
		EXPECT_EQ(0, e.num_bytes);
		EXPECT_EQ(0, e.num_handles);
	}
	deactivate_and_close(_metadata, self, b);
	self->d->Close(a, 0, NULL);
}

/* Output still queued in user space when the sender closes is delivered. */
TEST_F(kdrv, close_flushes_queued_output)
{
	const size_t count = 64, len = 64 * 1024;
	IpczDriverHandle a, b;

	NEED_MODULE();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->CreateTransports(0, 0, 0, NULL, &a, &b));
	/* Four times what the receiving end's kernel queue holds. */
	ASSERT_TRUE(send_numbered(self->d, a, count, len, false));
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->Close(a, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(&self->log, b));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.errors, 1,
				      WAIT_MS));
	ASSERT_EQ(count, activity_log_get(&self->log, &self->log.messages));
	for (size_t i = 0; i < count; i++) {
		struct activity m = activity_log_call(
			&self->log, activity_log_message_index(&self->log, i));

		ASSERT_EQ(len, m.num_bytes);
		EXPECT_EQ((uint8_t)i, m.data[0]);
		EXPECT_EQ((uint8_t)i, m.data[len - 1]);
	}
	deactivate_and_close(_metadata, self, b);
}

/* A new pair, and a pipe's write end wrapped and serialized for `a`. */
struct wrapped_pipe {
	IpczDriverHandle a, b;
	int read_fd;
	uint8_t bytes[64];
	size_t num_bytes;
	IpczDriverHandle handles[4];
	size_t num_handles;
};

static void wrap_pipe(struct __test_metadata *_metadata,
		      FIXTURE_DATA(kdrv) *self, struct wrapped_pipe *w)
{
	IpczDriverHandle object;
	int pipe_fds[2];

	ASSERT_EQ(0, pipe(pipe_fds));
	w->read_fd = pipe_fds[0];
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz_kernel_descriptor_wrap(pipe_fds[1], &object));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->CreateTransports(0, 0, 0, NULL, &w->a, &w->b));
	w->num_bytes = sizeof(w->bytes);
	w->num_handles = 4;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->Serialize(object, w->a, 0, NULL, w->bytes,
				     &w->num_bytes, w->handles,
				     &w->num_handles));
}

/* A handle named twice is refused before anything is taken from it. */
TEST_F(kdrv, transmit_refuses_a_handle_twice)
{
	IpczDriverHandle twice[2];
	struct wrapped_pipe w;

	NEED_MODULE();
	wrap_pipe(_metadata, self, &w);
	ASSERT_EQ(1, w.num_handles);
	twice[0] = w.handles[0];
	twice[1] = w.handles[0];
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  self->d->Transmit(w.a, w.bytes, w.num_bytes, twice, 2, 0,
				    NULL));
	/* Still the caller's: it travels once named once. */
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(&self->log, w.b));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->Transmit(w.a, w.bytes, w.num_bytes, w.handles, 1, 0,
				    NULL));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.messages, 1,
				      WAIT_MS));
	EXPECT_EQ(1, activity_log_call(&self->log,
			activity_log_message_index(&self->log, 0)).num_handles);
	close(w.read_fd);
	deactivate_and_close(_metadata, self, w.b);
	self->d->Close(w.a, 0, NULL);
}

TEST_F(kdrv, wrapped_descriptor_travels)
{
	IpczDriverHandle handles[1], rebuilt;
	struct wrapped_pipe w;
	struct activity m;
	char c = 0;
	int fd;

	NEED_MODULE();
	wrap_pipe(_metadata, self, &w);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(&self->log, w.b));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->Transmit(w.a, w.bytes, w.num_bytes, w.handles,
				    w.num_handles, 0, NULL));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.messages, 1,
				      WAIT_MS));
	m = activity_log_call(&self->log,
			      activity_log_message_index(&self->log, 0));
	ASSERT_EQ(1, m.num_handles);
	handles[0] = activity_log_take_handle(
		&self->log, activity_log_message_index(&self->log, 0), 0);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  self->d->Deserialize(m.data, m.num_bytes, handles, 1, w.b, 0,
				       NULL, &rebuilt));
	/* A descriptor object is neither a transport nor a region. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  self->d->Transmit(rebuilt, "x", 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_descriptor_unwrap(rebuilt, &fd));
	ASSERT_EQ(1, write(fd, "z", 1));
	ASSERT_EQ(1, read(w.read_fd, &c, 1));
	EXPECT_EQ('z', c);
	close(fd);
	close(w.read_fd);
	deactivate_and_close(_metadata, self, w.b);
	self->d->Close(w.a, 0, NULL);
}

/* ---- a peer that writes raw kernel messages ---- */

FIXTURE(hostile) {
	const struct IpczDriver *d;
	struct activity_log log;
};

static int raw_send(int fd, const void *data, size_t len, const int *fds,
		    size_t nfds)
{
	struct ipcz_send args = {
		.size = sizeof(args),
		.data = (uintptr_t)data,
		.fds = (uintptr_t)fds,
		.data_len = (uint32_t)len,
		.num_fds = (uint32_t)nfds,
	};

	return ioctl(fd, IPCZ_IOC_SEND, &args);
}

struct raw_header {
	uint32_t magic;
	uint16_t kind;
	uint16_t num_fds;
	uint32_t message_bytes;
	uint32_t message_fds;
};

#define RAW_MAGIC 0x4b5a4349u

/*
 * Adopts one end of a raw pair, lets `hostile` write on the other, and
 * checks that the listener gets exactly ERROR (after any good message),
 * and that the transport still deactivates cleanly.
 */
static void expect_error_from(struct __test_metadata *_metadata,
			      FIXTURE_DATA(hostile) *self,
			      void (*hostile)(int fd), size_t good)
{
	IpczDriverHandle t;
	int fds[2];

	ASSERT_EQ(0, ipcz_kernel_transport_pair_fds(fds));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_kernel_transport_from_fd(fds[0], &t));
	hostile(fds[1]);
	ASSERT_EQ(IPCZ_RESULT_OK, activity_log_activate(&self->log, t));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.errors, 1,
				      WAIT_MS));
	EXPECT_EQ(good, activity_log_get(&self->log, &self->log.messages));
	ASSERT_EQ(IPCZ_RESULT_OK, self->d->DeactivateTransport(t, 0, NULL));
	ASSERT_TRUE(activity_log_wait(&self->log, &self->log.deactivations,
				      1, WAIT_MS));
	EXPECT_EQ(1, activity_log_get(&self->log, &self->log.errors));
	self->d->Close(t, 0, NULL);
	close(fds[1]);
}

static void send_bad_magic(int fd)
{
	struct raw_header h = { 0x12345678, 1, 0, 0, 0 };

	raw_send(fd, &h, sizeof(h), NULL, 0);
}

static void send_too_short(int fd)
{
	raw_send(fd, "abc", 3, NULL, 0);
}

/* A continuation chunk with no first chunk before it. */
static void send_orphan_more(int fd)
{
	struct raw_header h = { RAW_MAGIC, 2, 0, 0, 0 };
	uint8_t m[sizeof(h) + 4] = { 0 };

	memcpy(m, &h, sizeof(h));
	raw_send(fd, m, sizeof(m), NULL, 0);
}

/* One good message, then a chunk longer than its message announced. */
static void send_overlong(int fd)
{
	struct raw_header good = { RAW_MAGIC, 1, 0, 2, 0 };
	struct raw_header bad = { RAW_MAGIC, 1, 0, 2, 0 };
	uint8_t m[sizeof(good) + 8] = { 0 };

	memcpy(m, &good, sizeof(good));
	raw_send(fd, m, sizeof(good) + 2, NULL, 0);
	memcpy(m, &bad, sizeof(bad));
	raw_send(fd, m, sizeof(m), NULL, 0);
}

/* Announces a descriptor but attaches none, then ends the stream. */
static void send_missing_fd(int fd)
{
	struct raw_header h = { RAW_MAGIC, 1, 1, 0, 1 };
	int pipe_fds[2];

	if (pipe(pipe_fds))
		return;
	raw_send(fd, &h, sizeof(h), NULL, 0);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
}

/* A first chunk that announces an absurd size. */
static void send_huge_size(int fd)
{
	struct raw_header h = { RAW_MAGIC, 1, 0, 0xffffffffu, 0 };

	raw_send(fd, &h, sizeof(h), NULL, 0);
}

/* More than any chunk holds. */
static void send_oversized(int fd)
{
	size_t len = 512 * 1024;
	uint8_t *m = calloc(1, len);

	if (m)
		raw_send(fd, m, len, NULL, 0);
	free(m);
}

/* Each variant is one way a peer breaks the chunk protocol. */
FIXTURE_VARIANT(hostile) {
	void (*send)(int fd);
	size_t good;	/* well-formed messages it sends first */
};

FIXTURE_VARIANT_ADD(hostile, bad_magic) { .send = send_bad_magic };

FIXTURE_VARIANT_ADD(hostile, too_short) { .send = send_too_short };

FIXTURE_VARIANT_ADD(hostile, orphan_continuation) { .send = send_orphan_more };

FIXTURE_VARIANT_ADD(hostile, overlong_chunk) {
	.send = send_overlong,
	.good = 1,
};

FIXTURE_VARIANT_ADD(hostile, missing_fd) { .send = send_missing_fd };

FIXTURE_VARIANT_ADD(hostile, huge_size) { .send = send_huge_size };

FIXTURE_VARIANT_ADD(hostile, oversized_chunk) { .send = send_oversized };

FIXTURE_SETUP(hostile)
{
	self->d = open_driver(&self->log);
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->d)
		activity_log_destroy(&self->log);
}

TEST_F(hostile, peer_is_an_error)
{
	if (!self->d)
		SKIP(return, "/dev/ipcz is not usable here");
	expect_error_from(_metadata, self, variant->send, variant->good);
}

TEST_HARNESS_MAIN
