// SPDX-License-Identifier: MIT
/*
 * Memory regions: IPCZ_IOC_REGION_CREATE, IPCZ_IOC_REGION_INFO and
 * IPCZ_IOC_REGION_DUP; shared mappings between processes, read-only
 * handles that can never map writable, sizes, and bad input.
 */
#include "kselftest_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

#define PAGE 4096

/* Creates a region of len bytes into fd, or fails the test. */
#define REGION(fd, len) do { \
	uint64_t __len = (len); \
	(fd) = dev_region_create(self->node, &__len); \
	ASSERT_LE(0, (fd)); \
} while (0)

TEST_F(ipcz, create_rounds_to_pages)
{
	struct ipcz_region_info info;
	uint64_t len = 1;
	int fd;

	fd = dev_region_create(self->node, &len);
	ASSERT_LE(0, fd);
	EXPECT_EQ(PAGE, len);
	ASSERT_EQ(0, dev_region_info(fd, &info));
	EXPECT_EQ(PAGE, info.length);
	EXPECT_EQ(0, info.flags);
	EXPECT_NE(0, info.id);
	EXPECT_NE(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	len = 3 * PAGE + 5;
	fd = dev_region_create(self->node, &len);
	ASSERT_LE(0, fd);
	EXPECT_EQ(4 * PAGE, len);
	close(fd);
}

TEST_F(ipcz, create_bad_sizes)
{
	struct ipcz_limits caps;
	uint64_t len;

	len = 0;
	EXPECT_EQ(-EINVAL, dev_region_create(self->node, &len));
	len = ~0ULL;
	EXPECT_EQ(-EINVAL, dev_region_create(self->node, &len));
	len = ~0ULL - PAGE + 2;
	EXPECT_EQ(-EINVAL, dev_region_create(self->node, &len));
	/* More than this node may ever have. */
	ASSERT_EQ(0, dev_get_limits(self->node, &caps, IPCZ_LIMITS_CAPS));
	len = caps.region_bytes + PAGE;
	EXPECT_EQ(-ENOSPC, dev_region_create(self->node, &len));
}

TEST_F(ipcz, create_bad_args)
{
	struct ipcz_region_create arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.length = PAGE;
	arg.flags = 1U << 1;	/* READONLY makes no sense on create */
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_REGION_CREATE, &arg));
	arg.flags = 1U << 9;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_REGION_CREATE, &arg));
	arg.flags = 0;
	arg.reserved = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_REGION_CREATE, &arg));
	arg.reserved = 0;
	arg.size = IPCZ_REGION_CREATE_SIZE_VER0 - 8;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_REGION_CREATE, &arg));
}

TEST_F(ipcz, map_write_read)
{
	unsigned char *a, *b;
	int fd;

	REGION(fd, 4 * PAGE);
	a = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, a);
	/* Fresh regions are zeroed. */
	EXPECT_EQ(0, a[0]);
	EXPECT_EQ(0, a[4 * PAGE - 1]);
	fill_pattern(a, 4 * PAGE, 3);
	/* A second mapping, at an offset, sees the same memory. */
	b = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 2 * PAGE);
	ASSERT_NE(MAP_FAILED, b);
	EXPECT_EQ(0, memcmp(a + 2 * PAGE, b, PAGE));
	munmap(a, 4 * PAGE);
	munmap(b, PAGE);
}

TEST_F(ipcz, map_beyond_size)
{
	void *p;
	int fd;

	REGION(fd, 2 * PAGE);
	p = mmap(NULL, 3 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 2 * PAGE);
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 1ULL << 40);
	EXPECT_EQ(MAP_FAILED, p);
}

TEST_F(ipcz, shared_between_processes)
{
	unsigned char *a;
	int fd, t[2], status;
	pid_t pid;

	REGION(fd, PAGE);
	ASSERT_EQ(0, dev_pair(self->node, t));
	a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, a);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int got, n;
		uint32_t len = 0, nfds = 1;
		unsigned char *c;

		/* Maps the handle it receives, not the one it inherited. */
		alarm(20);
		if (!(poll_events(t[1], POLLIN, 10000) & POLLIN))
			_exit(1);
		if (dev_recv(t[1], NULL, &len, &got, &nfds, NULL) || nfds != 1)
			_exit(2);
		c = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, got,
			 0);
		if (c == MAP_FAILED)
			_exit(3);
		/* Atomics: the other process writes this memory meanwhile. */
		for (n = 0; n < 1000 && __atomic_load_n(&c[0],
							__ATOMIC_ACQUIRE) != 0xab;
		     n++)
			sleep_ms(1);
		if (__atomic_load_n(&c[0], __ATOMIC_ACQUIRE) != 0xab)
			_exit(4);
		__atomic_store_n(&c[1], 0xcd, __ATOMIC_RELEASE);
		_exit(0);
	}
	ASSERT_EQ(0, dev_send(t[0], NULL, 0, &fd, 1));
	__atomic_store_n(&a[0], 0xab, __ATOMIC_RELEASE);
	status = wait_child_timeout(pid, 15000);
	EXPECT_EQ(0, status);
	EXPECT_EQ(0xcd, __atomic_load_n(&a[1], __ATOMIC_ACQUIRE));
	munmap(a, PAGE);
}

TEST_F(ipcz, readonly_dup)
{
	struct ipcz_region_info info;
	unsigned char *w, *r;
	int fd, ro;

	REGION(fd, PAGE);
	ro = dev_region_dup(fd, true);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, dev_region_info(ro, &info));
	EXPECT_EQ(IPCZ_REGION_READONLY, info.flags);
	EXPECT_EQ(PAGE, info.length);

	w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, w);
	r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
	ASSERT_NE(MAP_FAILED, r);
	w[10] = 0x5a;
	EXPECT_EQ(0x5a, r[10]);

	/* Never writable: not by mmap, not by mprotect afterwards. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, ro, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_WRITE, MAP_SHARED, ro, 0));
	EXPECT_EQ(-1, mprotect(r, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(w, PAGE);
	munmap(r, PAGE);
}

TEST_F(ipcz, readonly_private_write_stays_private)
{
	unsigned char *w, *p;
	int fd, ro;

	REGION(fd, PAGE);
	ro = dev_region_dup(fd, true);
	ASSERT_LE(0, ro);
	w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, w);
	/*
	 * A private writable mapping of a read-only handle may be refused;
	 * if it is allowed, its writes must never reach the region.
	 */
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	if (p != MAP_FAILED) {
		p[0] = 0x77;
		EXPECT_EQ(0, w[0]);
		munmap(p, PAGE);
	}
	munmap(w, PAGE);
}

TEST_F(ipcz, readonly_dup_stays_readonly)
{
	struct ipcz_region_info info;
	int fd, ro, again;

	REGION(fd, PAGE);
	ro = dev_region_dup(fd, true);
	ASSERT_LE(0, ro);
	/* A read-only handle cannot make a writable one. */
	EXPECT_EQ(-EACCES, dev_region_dup(ro, false));
	again = dev_region_dup(ro, true);
	ASSERT_LE(0, again);
	ASSERT_EQ(0, dev_region_info(again, &info));
	EXPECT_EQ(IPCZ_REGION_READONLY, info.flags);
}

TEST_F(ipcz, readonly_survives_passing)
{
	uint32_t len = 0, nfds = 1, type;
	int fd, ro, t[2], got;

	REGION(fd, PAGE);
	ro = dev_region_dup(fd, true);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, dev_pair(self->node, t));
	ASSERT_EQ(0, dev_send(t[0], NULL, 0, &ro, 1));
	ASSERT_EQ(0, dev_recv(t[1], NULL, &len, &got, &nfds, &type));
	EXPECT_EQ(IPCZ_FD_TYPE_REGION_RO, type);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED, got, 0));
}

TEST_F(ipcz, writable_dup)
{
	struct ipcz_region_info a, b;
	unsigned char *m1, *m2;
	int fd, dup;

	REGION(fd, PAGE);
	dup = dev_region_dup(fd, false);
	ASSERT_LE(0, dup);
	ASSERT_EQ(0, dev_region_info(fd, &a));
	ASSERT_EQ(0, dev_region_info(dup, &b));
	EXPECT_EQ(a.id, b.id);
	EXPECT_EQ(0, b.flags);
	m1 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m2 = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, dup, 0);
	ASSERT_NE(MAP_FAILED, m1);
	ASSERT_NE(MAP_FAILED, m2);
	m2[100] = 9;
	EXPECT_EQ(9, m1[100]);
	munmap(m1, PAGE);
	munmap(m2, PAGE);
}

TEST_F(ipcz, mapping_outlives_handles)
{
	unsigned char *m;
	long during;
	int fd;

	REGION(fd, PAGE);
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	close(fd);
	/* The mapping keeps the region alive and usable. */
	m[0] = 1;
	EXPECT_EQ(1, m[0]);
	during = ipcz_live_objects();
	EXPECT_LT(self->live_before, during);
	munmap(m, PAGE);
}

TEST_F(ipcz, info_and_dup_bad_args)
{
	struct ipcz_region_info info;
	struct ipcz_region_dup dup;
	int fd;

	REGION(fd, PAGE);
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.flags = IPCZ_REGION_READONLY;
	EXPECT_EQ(-EINVAL, ioctl_err(fd, IPCZ_IOC_REGION_INFO, &info));
	info.flags = 0;
	info.size = 8;
	EXPECT_EQ(-EINVAL, ioctl_err(fd, IPCZ_IOC_REGION_INFO, &info));

	memset(&dup, 0, sizeof(dup));
	dup.size = sizeof(dup);
	dup.flags = 1U << 8;
	EXPECT_EQ(-EINVAL, ioctl_err(fd, IPCZ_IOC_REGION_DUP, &dup));
	dup.flags = 0;
	dup.reserved = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(fd, IPCZ_IOC_REGION_DUP, &dup));
	EXPECT_EQ(-EFAULT, ioctl_err(fd, IPCZ_IOC_REGION_DUP, NULL));
	EXPECT_EQ(-EFAULT, ioctl_err(fd, IPCZ_IOC_REGION_INFO, NULL));
}

TEST_F(ipcz, wrong_descriptor_types)
{
	struct ipcz_region_info info;
	int p[2], t[2];

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, dev_pair(self->node, t));
	EXPECT_EQ(-ENOTTY, dev_region_info(p[0], &info));
	EXPECT_EQ(-ENOTTY, dev_region_info(t[0], &info));
	EXPECT_EQ(-ENOTTY, dev_region_info(self->node, &info));
	EXPECT_EQ(-ENOTTY, dev_region_dup(t[0], true));
	EXPECT_EQ(-EBADF, dev_region_dup(-1, true));
	/* A transport or node cannot be mapped. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
				   t[0], 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED,
				   self->node, 0));
}

TEST_F(ipcz, unknown_region_ioctls)
{
	struct ipcz_send send = { .size = sizeof(send) };
	int fd;

	REGION(fd, PAGE);
	EXPECT_EQ(-ENOTTY, ioctl_err(fd, IPCZ_IOC_SEND, &send));
	EXPECT_EQ(-ENOTTY, ioctl_err(fd, _IOWR(IPCZ_IOC_MAGIC, 0x2f,
					       struct ipcz_region_info),
				     &send));
}

TEST_F(ipcz, region_charged_and_released)
{
	struct ipcz_limits l;
	uint64_t len;
	int fd, fd2;

	ASSERT_EQ(0, dev_get_limits(self->node, &l, 0));
	l.region_bytes = 4 * PAGE;
	ASSERT_EQ(0, dev_set_limits(self->node, &l));
	REGION(fd, 4 * PAGE);
	len = PAGE;
	EXPECT_EQ(-ENOSPC, dev_region_create(self->node, &len));
	/* A duplicate is the same memory: it costs nothing more. */
	fd2 = dev_region_dup(fd, false);
	ASSERT_LE(0, fd2);
	close(fd);
	len = PAGE;
	EXPECT_EQ(-ENOSPC, dev_region_create(self->node, &len));
	close(fd2);
	/* The region is gone with its last handle. */
	REGION(fd, 4 * PAGE);
}

TEST_F(ipcz, many_regions)
{
	int fds[32], i;

	for (i = 0; i < 32; i++)
		REGION(fds[i], PAGE * (i % 4 + 1));
	for (i = 0; i < 32; i++)
		close(fds[i]);
}

/* Memory cgroup accounting. */

#define CGROUP_ROOT "/sys/fs/cgroup"

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static long long read_number(const char *path)
{
	long long value = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

/* Makes a memory cgroup under cgroup2, mounting it if needed. */
static int make_memory_cgroup(char *dir, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", CGROUP_ROOT);
	if (access(path, F_OK) &&
	    mount("none", CGROUP_ROOT, "cgroup2", 0, NULL))
		return -errno;
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", CGROUP_ROOT);
	if (write_file(path, "+memory"))
		return -ENOTSUP;
	snprintf(dir, len, "%s/ipcz-selftest-%d", CGROUP_ROOT, getpid());
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/memory.current", dir);
	return read_number(path) < 0 ? -ENOTSUP : 0;
}

TEST_F(ipcz, charged_to_creator_memory_cgroup)
{
	const size_t len = 4 << 20;
	char dir[200], path[256], procs[256], pidtext[32];
	long long before, after;
	int t[2], status, got;
	uint32_t dlen = 0, nfds = 1;
	unsigned char *m;
	size_t i;
	pid_t pid;

	if (make_memory_cgroup(dir, sizeof(dir)))
		SKIP(return, "no cgroup2 memory controller");
	snprintf(path, sizeof(path), "%s/memory.current", dir);
	ASSERT_EQ(0, dev_pair(self->node, t));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t rlen = len;
		int fd;

		/*
		 * Once the parent has moved it into the cgroup, creates the
		 * region there and hands it to the parent.
		 */
		alarm(30);
		if (!(poll_events(t[1], POLLIN, 20000) & POLLIN) ||
		    dev_recv_any(t[1]) != 2)
			_exit(2);
		fd = dev_region_create(self->node, &rlen);
		if (fd < 0 || dev_send(t[1], NULL, 0, &fd, 1))
			_exit(1);
		close(fd);
		/* Stays in its cgroup until the parent is done. */
		poll_events(t[1], POLLIN, 20000);
		_exit(0);
	}
	snprintf(pidtext, sizeof(pidtext), "%d", pid);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	ASSERT_EQ(0, write_file(procs, pidtext));
	ASSERT_EQ(0, dev_send_str(t[0], "go"));
	ASSERT_NE(0, poll_events(t[0], POLLIN, 10000) & POLLIN);
	ASSERT_EQ(0, dev_recv(t[0], NULL, &dlen, &got, &nfds, NULL));
	before = read_number(path);
	/* The parent, in another cgroup, is the one that touches the pages. */
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, got, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (i = 0; i < len; i += PAGE)
		m[i] = 1;
	after = read_number(path);
	EXPECT_LE((long long)len, after - before)
		TH_LOG("creator's cgroup grew by %lld bytes", after - before);
	munmap(m, len);
	close(got);
	ASSERT_EQ(0, dev_send_str(t[0], "done"));
	status = wait_child_timeout(pid, 20000);
	EXPECT_EQ(0, status);
	rmdir(dir);
}

TEST_HARNESS_MAIN
