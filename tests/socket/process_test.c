// SPDX-License-Identifier: MIT
/*
 * Socket driver transports between processes: a child adopts one end of
 * ipcz_socket_pair() after fork(); messages, transports, memory regions
 * and plain descriptors cross; a killed peer is an ERROR.
 *
 * Each test forks before the driver starts its I/O thread.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tests/socket/recorder.h"

/* What a child does with its end; returns its exit status. */
typedef int (*child_body)(IpczDriverHandle transport, struct recorder *r);

/* Forks a child running `body` on one end; returns the other end's fd. */
static pid_t start_child(child_body body, int *parent_fd)
{
	int fds[2];
	pid_t pid;

	if (ipcz_socket_pair(fds))
		abort();
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		IpczDriverHandle t;
		struct recorder r;
		int status;

		close(fds[0]);
		recorder_init(&r);
		if (ipcz_socket_transport_from_fd(fds[1], &t) != IPCZ_RESULT_OK)
			_exit(90);
		status = body(t, &r);
		_exit(status);
	}
	close(fds[1]);
	*parent_fd = fds[0];
	return pid;
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static IpczResult echo_back(struct recorder *r,
			    const struct recorded_call *call)
{
	IpczDriverHandle *t = r->context;

	return driver()->Transmit(*t, call->data, call->num_bytes, NULL, 0, 0,
				  NULL);
}

/* Echoes everything until the parent goes away. */
static int echo_child(IpczDriverHandle t, struct recorder *r)
{
	r->hook = echo_back;
	r->context = &t;
	r->keep_data = false;
	if (activate(t, r) != IPCZ_RESULT_OK)
		return 1;
	if (!recorder_wait(r, &r->errors, 1, 60000))
		return 2;
	return 0;
}

static void parent_end(int fd, IpczDriverHandle *t, struct recorder *r)
{
	recorder_init(r);
	if (ipcz_socket_transport_from_fd(fd, t) != IPCZ_RESULT_OK ||
	    activate(*t, r) != IPCZ_RESULT_OK)
		abort();
}

static void finish(IpczDriverHandle t, struct recorder *r)
{
	if (driver()->DeactivateTransport(t, 0, NULL) == IPCZ_RESULT_OK)
		recorder_wait(r, &r->deactivations, 1, 5000);
	driver()->Close(t, 0, NULL);
	recorder_destroy(r);
}

TEST(echo_across_fork_in_order)
{
	enum { COUNT = 2000 };
	IpczDriverHandle t;
	struct recorder r;
	uint8_t big[70000];
	int fd;
	pid_t pid = start_child(echo_child, &fd);

	parent_end(fd, &t, &r);
	memset(big, 0x5a, sizeof(big));
	for (uint32_t i = 0; i < COUNT; i++) {
		if (i % 100 == 0) {
			memcpy(big, &i, sizeof(i));
			ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(t, big,
							     sizeof(big)));
		} else {
			ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(t, &i, sizeof(i)));
		}
	}
	ASSERT_TRUE(recorder_wait(&r, &r.messages, COUNT, 30000));
	for (uint32_t i = 0; i < COUNT; i++) {
		uint32_t seen;

		memcpy(&seen, r.calls[i].data, sizeof(seen));
		ASSERT_EQ(i, seen);
		ASSERT_EQ(i % 100 ? sizeof(i) : sizeof(big),
			  r.calls[i].num_bytes);
	}
	/* Our end closing is the child's ERROR, and its cue to exit. */
	finish(t, &r);
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * The driver's I/O thread does not survive fork(): a child forked while it
 * runs must get its own.
 */
TEST(child_forked_while_the_driver_runs)
{
	IpczDriverHandle a, b, t;
	struct recorder ra, rb, r;
	int fd;
	pid_t pid;

	recorder_init(&ra);
	recorder_init(&rb);
	make_pair(&a, &b);
	ASSERT_EQ(IPCZ_RESULT_OK, activate(b, &rb));
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(a, "local", 5));
	ASSERT_TRUE(recorder_wait(&rb, &rb.messages, 1, 5000));

	pid = start_child(echo_child, &fd);
	parent_end(fd, &t, &r);
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(t, "remote", 6));
	ASSERT_TRUE(recorder_wait(&r, &r.messages, 1, 10000));
	ASSERT_EQ(0, memcmp(r.calls[0].data, "remote", 6));
	finish(t, &r);
	ASSERT_EQ(0, wait_child(pid));

	/* The parent's own transports are unaffected. */
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(a, "again", 5));
	ASSERT_TRUE(recorder_wait(&rb, &rb.messages, 2, 5000));
	driver()->Close(a, 0, NULL);
	finish(b, &rb);
	recorder_destroy(&ra);
}

static int ready_then_hang(IpczDriverHandle t, struct recorder *r)
{
	if (send_bytes(t, "ready", 5) != IPCZ_RESULT_OK)
		return 1;
	for (;;)
		pause();
}

TEST(killed_peer_is_an_error)
{
	IpczDriverHandle t;
	struct recorder r;
	int fd;
	pid_t pid = start_child(ready_then_hang, &fd);

	parent_end(fd, &t, &r);
	ASSERT_TRUE(recorder_wait(&r, &r.messages, 1, 10000));
	ASSERT_EQ(0, recorder_get(&r, &r.errors));
	kill(pid, SIGKILL);
	ASSERT_EQ(128 + SIGKILL, wait_child(pid));
	ASSERT_TRUE(recorder_wait(&r, &r.errors, 1, 10000));
	ASSERT_NE(IPCZ_RESULT_OK, send_bytes(t, "x", 1));
	finish(t, &r);
}

/* Waits for one message on `t` and deserializes its one object. */
static IpczResult receive_object(struct recorder *r, size_t index,
				 IpczDriverHandle carrier,
				 IpczDriverHandle *object)
{
	struct recorded_call *c;
	IpczResult result;

	if (!recorder_wait(r, &r->messages, index + 1, 10000))
		return IPCZ_RESULT_DEADLINE_EXCEEDED;
	c = &r->calls[index];
	result = driver()->Deserialize(c->data, c->num_bytes, c->handles,
				       c->num_handles, carrier, 0, NULL,
				       object);
	if (result == IPCZ_RESULT_OK)
		c->num_handles = 0;
	return result;
}

/* Serializes `object` and sends it as one message over `carrier`. */
static IpczResult send_object(IpczDriverHandle carrier,
			      IpczDriverHandle object)
{
	uint8_t data[64];
	IpczDriverHandle handles[4];
	size_t num_bytes = sizeof(data), num_handles = 4;
	IpczResult result;

	result = driver()->Serialize(object, carrier, 0, NULL, data,
				     &num_bytes, handles, &num_handles);
	if (result != IPCZ_RESULT_OK)
		return result;
	return driver()->Transmit(carrier, data, num_bytes, handles,
				  num_handles, 0, NULL);
}

/* Receives a transport and talks over it. */
static int transport_child(IpczDriverHandle carrier, struct recorder *r)
{
	IpczDriverHandle t;
	struct recorder rt;

	recorder_init(&rt);
	if (activate(carrier, r) != IPCZ_RESULT_OK)
		return 1;
	if (receive_object(r, 0, carrier, &t) != IPCZ_RESULT_OK)
		return 2;
	if (activate(t, &rt) != IPCZ_RESULT_OK)
		return 3;
	/* The parent wrote before we adopted the transport. */
	if (!recorder_wait(&rt, &rt.messages, 1, 10000) ||
	    rt.calls[0].num_bytes != 7 || memcmp(rt.calls[0].data, "early!", 7))
		return 4;
	if (send_bytes(t, "from child", 10) != IPCZ_RESULT_OK)
		return 5;
	if (!recorder_wait(r, &r->errors, 1, 10000))
		return 6;
	return 0;
}

TEST(transport_moves_to_another_process)
{
	IpczDriverHandle carrier, x, y;
	struct recorder r, ry;
	int fd;
	pid_t pid = start_child(transport_child, &fd);

	parent_end(fd, &carrier, &r);
	recorder_init(&ry);
	make_pair(&x, &y);
	ASSERT_EQ(IPCZ_RESULT_OK, send_bytes(y, "early!", 7));
	ASSERT_EQ(IPCZ_RESULT_OK, send_object(carrier, x));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(y, &ry));
	ASSERT_TRUE(recorder_wait(&ry, &ry.messages, 1, 10000));
	ASSERT_EQ(10, ry.calls[0].num_bytes);
	ASSERT_EQ(0, memcmp(ry.calls[0].data, "from child", 10));
	finish(carrier, &r);
	ASSERT_EQ(0, wait_child(pid));
	/* The child is gone, and with it the other end of y. */
	ASSERT_TRUE(recorder_wait(&ry, &ry.errors, 1, 10000));
	finish(y, &ry);
}

#define REGION_SIZE (1u << 20)

static uint8_t pattern_at(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* Receives a writable region, checks it and writes an answer. */
static int memory_child(IpczDriverHandle carrier, struct recorder *r)
{
	IpczDriverHandle memory, mapping;
	struct IpczSharedMemoryInfo info = { .size = sizeof(info) };
	volatile uint8_t *p;

	if (activate(carrier, r) != IPCZ_RESULT_OK)
		return 1;
	if (receive_object(r, 0, carrier, &memory) != IPCZ_RESULT_OK)
		return 2;
	if (driver()->GetSharedMemoryInfo(memory, 0, NULL, &info) !=
		    IPCZ_RESULT_OK || info.region_num_bytes != REGION_SIZE)
		return 3;
	if (driver()->MapSharedMemory(memory, 0, NULL,
				      (volatile void **)&p, &mapping) !=
	    IPCZ_RESULT_OK)
		return 4;
	for (size_t i = 0; i < REGION_SIZE; i += 4093) {
		if (p[i] != pattern_at(i))
			return 5;
	}
	p[REGION_SIZE - 1] = 0xee;
	driver()->Close(memory, 0, NULL);
	if (send_bytes(carrier, "done", 4) != IPCZ_RESULT_OK)
		return 6;
	if (!recorder_wait(r, &r->errors, 1, 10000))
		return 7;
	driver()->Close(mapping, 0, NULL);
	return 0;
}

/* A new region of REGION_SIZE bytes, mapped; NULL if that failed. */
static volatile uint8_t *new_mapped_region(IpczDriverHandle *memory,
					   IpczDriverHandle *mapping)
{
	volatile void *address = NULL;

	if (driver()->AllocateSharedMemory(REGION_SIZE, 0, NULL, memory) !=
	    IPCZ_RESULT_OK)
		return NULL;
	if (driver()->MapSharedMemory(*memory, 0, NULL, &address, mapping) !=
	    IPCZ_RESULT_OK) {
		driver()->Close(*memory, 0, NULL);
		return NULL;
	}
	return address;
}

static void close_region(IpczDriverHandle memory, IpczDriverHandle mapping)
{
	driver()->Close(mapping, 0, NULL);
	driver()->Close(memory, 0, NULL);
}

TEST(memory_is_shared_with_another_process)
{
	IpczDriverHandle carrier, memory, copy, mapping;
	volatile uint8_t *p;
	struct recorder r;
	int fd;
	pid_t pid = start_child(memory_child, &fd);

	parent_end(fd, &carrier, &r);
	p = new_mapped_region(&memory, &mapping);
	ASSERT_NE(NULL, p);
	for (size_t i = 0; i < REGION_SIZE; i++)
		p[i] = pattern_at(i);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->DuplicateSharedMemory(memory, 0, NULL, &copy));
	ASSERT_EQ(IPCZ_RESULT_OK, send_object(carrier, copy));
	ASSERT_TRUE(recorder_wait(&r, &r.messages, 1, 10000));
	ASSERT_EQ(0xee, p[REGION_SIZE - 1]);
	finish(carrier, &r);
	ASSERT_EQ(0, wait_child(pid));
	close_region(memory, mapping);
}

/*
 * Receives a read-only region: it maps read-only, and no way of reopening
 * it gives a writable mapping.
 */
static int read_only_child(IpczDriverHandle carrier, struct recorder *r)
{
	IpczDriverHandle memory, mapping;
	volatile uint8_t *p;
	int fd, memfds = 0;
	char path[64];

	if (activate(carrier, r) != IPCZ_RESULT_OK)
		return 1;
	if (receive_object(r, 0, carrier, &memory) != IPCZ_RESULT_OK)
		return 2;
	if (driver()->MapSharedMemory(memory, 0, NULL,
				      (volatile void **)&p, &mapping) !=
	    IPCZ_RESULT_OK)
		return 3;
	if (p[100] != pattern_at(100))
		return 4;
	/* Find the region's descriptor the hard way and try to write. */
	for (fd = 3; fd < 1024; fd++) {
		int seals = fcntl(fd, F_GET_SEALS);
		void *w;
		int rw;

		if (seals < 0)
			continue;
		memfds++;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		rw = open(path, O_RDWR);
		if (rw < 0)
			continue;
		w = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 rw, 0);
		close(rw);
		if (w != MAP_FAILED)
			return 5;
	}
	if (!memfds)
		return 6;
	send_bytes(carrier, "checked", 7);
	recorder_wait(r, &r->errors, 1, 10000);
	return 0;
}

TEST(read_only_memory_stays_read_only_in_another_process)
{
	IpczDriverHandle carrier, memory, ro, mapping;
	volatile uint8_t *p;
	struct recorder r;
	int fd;
	pid_t pid = start_child(read_only_child, &fd);

	parent_end(fd, &carrier, &r);
	p = new_mapped_region(&memory, &mapping);
	ASSERT_NE(NULL, p);
	p[100] = pattern_at(100);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver()->DuplicateSharedMemory(
			  memory, IPCZ_SOCKET_DUPLICATE_READ_ONLY, NULL, &ro));
	ASSERT_EQ(IPCZ_RESULT_OK, send_object(carrier, ro));
	ASSERT_TRUE(recorder_wait(&r, &r.messages, 1, 10000));
	ASSERT_EQ(0, memcmp(r.calls[0].data, "checked", 7));
	/* Our mapping made before the duplicate is still writable. */
	p[101] = 1;
	finish(carrier, &r);
	ASSERT_EQ(0, wait_child(pid));
	close_region(memory, mapping);
}

/* Receives a boxed descriptor (a pipe's write end) and writes to it. */
static int descriptor_child(IpczDriverHandle carrier, struct recorder *r)
{
	IpczDriverHandle object;
	int fd;

	if (activate(carrier, r) != IPCZ_RESULT_OK)
		return 1;
	if (receive_object(r, 0, carrier, &object) != IPCZ_RESULT_OK)
		return 2;
	if (ipcz_socket_descriptor_unwrap(object, &fd) != IPCZ_RESULT_OK)
		return 3;
	if (write(fd, "pipe!", 5) != 5)
		return 4;
	close(fd);
	recorder_wait(r, &r->errors, 1, 10000);
	return 0;
}

TEST(any_descriptor_crosses_as_a_driver_object)
{
	IpczDriverHandle carrier, object;
	struct recorder r;
	char buf[8] = { 0 };
	int fd, p[2];
	pid_t pid = start_child(descriptor_child, &fd);

	parent_end(fd, &carrier, &r);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz_socket_descriptor_wrap(p[1], &object));
	ASSERT_EQ(IPCZ_RESULT_OK, send_object(carrier, object));
	ASSERT_EQ(5, read(p[0], buf, 5));
	ASSERT_EQ(0, memcmp(buf, "pipe!", 5));
	close(p[0]);
	finish(carrier, &r);
	ASSERT_EQ(0, wait_child(pid));
}

TEST_HARNESS_MAIN
