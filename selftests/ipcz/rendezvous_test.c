// SPDX-License-Identifier: MIT
/*
 * Rendezvous: IPCZ_IOC_LISTEN, IPCZ_IOC_CONNECT and IPCZ_IOC_ACCEPT. Named
 * listeners, connection and acceptance, the file-like permission check
 * (run in children that drop root for another uid), peer credentials
 * across users, name clashes, unknown names, backlogs, and bad input.
 */
#include "kselftest_harness.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fixture.h"

#define OTHER_UID	1000
#define OTHER_GID	1000
#define THIRD_UID	2000
#define THIRD_GID	2000
#define SHARED_GID	3000

#define SELF IPCZ_OWNER_SELF

/* Becomes uid/gid with only @extra_gid (if nonzero) as a supplementary group. */
static int become(uid_t uid, gid_t gid, gid_t extra_gid)
{
	gid_t groups[1] = { extra_gid };

	if (setgroups(extra_gid ? 1 : 0, groups))
		return -errno;
	if (setgid(gid) || setuid(uid))
		return -errno;
	return 0;
}

/*
 * In a child running as uid/gid (plus extra_gid), connects to @name.
 * Returns 0 if the connection was made, the positive errno if it was
 * refused, or -1 if the child could not run the check.
 */
static int connect_as(uid_t uid, gid_t gid, gid_t extra_gid,
		      const char *name)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* The node is opened first: /dev/ipcz may be root's only. */
		int node = ipcz_open_node(), fd;

		alarm(20);
		if (node < 0 || become(uid, gid, extra_gid))
			_exit(200);
		fd = dev_connect(node, name);
		_exit(fd >= 0 ? 0 : -fd);
	}
	status = wait_child_timeout(pid, 20000);
	return status == 200 ? -1 : status;
}

/* Accepts one pending connection, waiting for it a while. */
static int accept_wait(int listener)
{
	if (!(poll_events(listener, POLLIN, 5000) & POLLIN))
		return -ETIMEDOUT;
	return dev_accept(listener);
}

TEST_F(ipcz, listen_connect_accept)
{
	int listener, node2, c, a;
	char buf[16];

	listener = dev_listen(self->node, "st-basic", 0600, SELF, SELF, 4);
	ASSERT_LE(0, listener);
	EXPECT_NE(0, fcntl(listener, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, poll_events(listener, POLLIN, 0));
	EXPECT_EQ(-EAGAIN, dev_accept(listener));

	node2 = ipcz_open_node();
	ASSERT_LE(0, node2);
	c = dev_connect(node2, "st-basic");
	ASSERT_LE(0, c);
	/* The connecting side may speak before it is accepted. */
	ASSERT_EQ(0, dev_send_str(c, "early"));
	EXPECT_EQ(POLLIN, poll_events(listener, POLLIN, 1000));
	a = dev_accept(listener);
	ASSERT_LE(0, a);
	EXPECT_EQ(-EAGAIN, dev_accept(listener));

	ASSERT_EQ(5, dev_recv_bytes(a, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "early", 5));
	ASSERT_EQ(0, dev_send_str(a, "reply"));
	ASSERT_EQ(5, dev_recv_bytes(c, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "reply", 5));
}

TEST_F(ipcz, several_pending_in_order)
{
	int listener, c[3], a, i;
	char buf[4];

	listener = dev_listen(self->node, "st-order", 0600, SELF, SELF, 8);
	ASSERT_LE(0, listener);
	for (i = 0; i < 3; i++) {
		c[i] = dev_connect(self->node, "st-order");
		ASSERT_LE(0, c[i]);
		buf[0] = (char)('0' + i);
		ASSERT_EQ(0, dev_send(c[i], buf, 1, NULL, 0));
	}
	for (i = 0; i < 3; i++) {
		a = dev_accept(listener);
		ASSERT_LE(0, a);
		ASSERT_EQ(1, dev_recv_bytes(a, buf, sizeof(buf)));
		EXPECT_EQ('0' + i, buf[0]);
		close(a);
	}
}

TEST_F(ipcz, name_clash)
{
	int l1, node2;

	l1 = dev_listen(self->node, "st-clash", 0600, SELF, SELF, 1);
	ASSERT_LE(0, l1);
	EXPECT_EQ(-EADDRINUSE,
		  dev_listen(self->node, "st-clash", 0600, SELF, SELF, 1));
	node2 = ipcz_open_node();
	ASSERT_LE(0, node2);
	EXPECT_EQ(-EADDRINUSE,
		  dev_listen(node2, "st-clash", 0666, SELF, SELF, 1));
	/* The name is free again once its listener is closed. */
	close(l1);
	l1 = dev_listen(node2, "st-clash", 0600, SELF, SELF, 1);
	EXPECT_LE(0, l1);
}

TEST_F(ipcz, unknown_name)
{
	int l;

	EXPECT_EQ(-ENOENT, dev_connect(self->node, "st-nobody"));
	l = dev_listen(self->node, "st-gone", 0600, SELF, SELF, 1);
	ASSERT_LE(0, l);
	close(l);
	EXPECT_EQ(-ENOENT, dev_connect(self->node, "st-gone"));
	/* Names are exact: no prefixes, no case folding. */
	l = dev_listen(self->node, "st-exact", 0600, SELF, SELF, 1);
	ASSERT_LE(0, l);
	EXPECT_EQ(-ENOENT, dev_connect(self->node, "st-exac"));
	EXPECT_EQ(-ENOENT, dev_connect(self->node, "st-exactly"));
	EXPECT_EQ(-ENOENT, dev_connect(self->node, "ST-EXACT"));
}

TEST_F(ipcz, bad_names)
{
	char longname[IPCZ_NAME_MAX + 2];
	struct ipcz_listen arg;
	struct ipcz_connect conn;
	void *hole = unmapped_page();
	int l;

	ASSERT_NE(NULL, hole);
	memset(longname, 'n', sizeof(longname));
	longname[IPCZ_NAME_MAX + 1] = '\0';
	EXPECT_EQ(-EINVAL, dev_listen(self->node, "", 0600, SELF, SELF, 1));
	EXPECT_EQ(-EINVAL, dev_listen(self->node, longname, 0600, SELF, SELF,
				      1));
	EXPECT_EQ(-EINVAL, dev_connect(self->node, ""));
	EXPECT_EQ(-EINVAL, dev_connect(self->node, longname));
	/* The longest name is fine. */
	longname[IPCZ_NAME_MAX] = '\0';
	l = dev_listen(self->node, longname, 0600, SELF, SELF, 1);
	ASSERT_LE(0, l);
	close(l);

	/* A NUL inside the name. */
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.name = (uintptr_t)"st\0nul";
	arg.name_len = 6;
	arg.mode = 0600;
	arg.uid = SELF;
	arg.gid = SELF;
	arg.backlog = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_LISTEN, &arg));
	/* Unreadable names. */
	arg.name = (uintptr_t)hole;
	arg.name_len = 4;
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_LISTEN, &arg));
	arg.name = 0;
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_LISTEN, &arg));
	memset(&conn, 0, sizeof(conn));
	conn.size = sizeof(conn);
	conn.name = (uintptr_t)hole;
	conn.name_len = 4;
	EXPECT_EQ(-EFAULT, ioctl_err(self->node, IPCZ_IOC_CONNECT, &conn));
	munmap(hole, 4096);
}

TEST_F(ipcz, binary_names)
{
	const char *name = "st-\xc3\xa9t\xc3\xa9-\x01\x7f\xff";
	int l, c;

	l = dev_listen(self->node, name, 0600, SELF, SELF, 1);
	ASSERT_LE(0, l);
	c = dev_connect(self->node, name);
	ASSERT_LE(0, c);
	EXPECT_LE(0, dev_accept(l));
}

TEST_F(ipcz, listen_bad_args)
{
	struct ipcz_listen arg;

	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.name = (uintptr_t)"st-args";
	arg.name_len = 7;
	arg.uid = SELF;
	arg.gid = SELF;
	arg.backlog = 1;

	arg.mode = 01777;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_LISTEN, &arg));
	arg.mode = 0600;
	arg.backlog = 0;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_LISTEN, &arg));
	arg.backlog = IPCZ_BACKLOG_MAX + 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_LISTEN, &arg));
	arg.backlog = 1;
	arg.flags = 1U << 3;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_LISTEN, &arg));
	arg.flags = 0;
	arg.size = IPCZ_LISTEN_SIZE_VER0 - 4;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_LISTEN, &arg));
	/* None of these published the name. */
	EXPECT_EQ(-ENOENT, dev_connect(self->node, "st-args"));
}

TEST_F(ipcz, connect_and_accept_bad_args)
{
	struct ipcz_connect conn;
	struct ipcz_accept acc;
	int l;

	l = dev_listen(self->node, "st-cargs", 0600, SELF, SELF, 2);
	ASSERT_LE(0, l);
	memset(&conn, 0, sizeof(conn));
	conn.size = sizeof(conn);
	conn.name = (uintptr_t)"st-cargs";
	conn.name_len = 8;
	conn.flags = 1U << 2;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_CONNECT, &conn));
	conn.flags = 0;
	conn.size = 12;
	EXPECT_EQ(-EINVAL, ioctl_err(self->node, IPCZ_IOC_CONNECT, &conn));
	/* Nothing was queued to the listener by the failures. */
	EXPECT_EQ(0, poll_events(l, POLLIN, 0));

	ASSERT_LE(0, dev_connect(self->node, "st-cargs"));
	memset(&acc, 0, sizeof(acc));
	acc.size = sizeof(acc);
	acc.flags = 1U << 4;
	EXPECT_EQ(-EINVAL, ioctl_err(l, IPCZ_IOC_ACCEPT, &acc));
	acc.flags = 0;
	acc.reserved = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(l, IPCZ_IOC_ACCEPT, &acc));
	EXPECT_EQ(-EFAULT, ioctl_err(l, IPCZ_IOC_ACCEPT, NULL));
	/* The pending connection is still there. */
	EXPECT_LE(0, dev_accept(l));
}

TEST_F(ipcz, backlog_full)
{
	int l, c1, c2;

	l = dev_listen(self->node, "st-backlog", 0600, SELF, SELF, 2);
	ASSERT_LE(0, l);
	c1 = dev_connect(self->node, "st-backlog");
	ASSERT_LE(0, c1);
	c2 = dev_connect(self->node, "st-backlog");
	ASSERT_LE(0, c2);
	EXPECT_EQ(-EAGAIN, dev_connect(self->node, "st-backlog"));
	ASSERT_LE(0, dev_accept(l));
	EXPECT_LE(0, dev_connect(self->node, "st-backlog"));
}

TEST_F(ipcz, connect_charged_to_both_nodes)
{
	struct ipcz_limits lim;
	int l, node2, c;

	/* Each connection makes one end on each side's node. */
	l = dev_listen(self->node, "st-charge", 0600, IPCZ_OWNER_SELF,
		       IPCZ_OWNER_SELF, 8);
	ASSERT_LE(0, l);
	node2 = ipcz_open_node();
	ASSERT_LE(0, node2);
	ASSERT_EQ(0, dev_get_limits(node2, &lim, 0));
	lim.max_transports = 1;
	ASSERT_EQ(0, dev_set_limits(node2, &lim));
	c = dev_connect(node2, "st-charge");
	ASSERT_LE(0, c);
	EXPECT_EQ(-ENOSPC, dev_connect(node2, "st-charge"));
	ASSERT_LE(0, dev_accept(l));
	/* The refused connection left nothing in the backlog. */
	EXPECT_EQ(-EAGAIN, dev_accept(l));
	/* The listener's node is at its limit too. */
	ASSERT_EQ(0, dev_get_limits(self->node, &lim, 0));
	lim.max_transports = 1;
	ASSERT_EQ(0, dev_set_limits(self->node, &lim));
	close(c);
	EXPECT_EQ(-ENOSPC, dev_connect(node2, "st-charge"));
	EXPECT_EQ(-EAGAIN, dev_accept(l));
}

TEST_F(ipcz, listener_closed_with_pending)
{
	int l, c;

	l = dev_listen(self->node, "st-pending", 0600, SELF, SELF, 2);
	ASSERT_LE(0, l);
	c = dev_connect(self->node, "st-pending");
	ASSERT_LE(0, c);
	ASSERT_EQ(0, dev_send_str(c, "never read"));
	close(l);
	/* The connection that was never accepted sees its peer gone. */
	EXPECT_NE(0, poll_events(c, POLLHUP, 5000) & POLLHUP);
	EXPECT_EQ(-EPIPE, dev_send_str(c, "x"));
}

TEST_F(ipcz, wrong_descriptor_types)
{
	struct ipcz_listen lis = { .size = sizeof(lis) };
	int t[2], l, p[2];

	ASSERT_EQ(0, dev_pair(self->node, t));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	l = dev_listen(self->node, "st-types", 0600, SELF, SELF, 1);
	ASSERT_LE(0, l);
	EXPECT_EQ(-ENOTTY, dev_accept(t[0]));
	EXPECT_EQ(-ENOTTY, dev_accept(self->node));
	EXPECT_EQ(-ENOTTY, dev_accept(p[0]));
	EXPECT_EQ(-EBADF, dev_accept(-1));
	EXPECT_EQ(-ENOTTY, dev_connect(t[0], "st-types"));
	EXPECT_EQ(-ENOTTY, dev_connect(l, "st-types"));
	EXPECT_EQ(-ENOTTY, ioctl_err(l, IPCZ_IOC_LISTEN, &lis));
	EXPECT_EQ(-ENOTTY, ioctl_err(l, IPCZ_IOC_SEND, &lis));
}

TEST_F(ipcz, permission_owner_only)
{
	int l;

	/* Owner root, 0600: another user is refused, root is not. */
	l = dev_listen(self->node, "st-perm-owner", 0600, 0, 0, 4);
	ASSERT_LE(0, l);
	EXPECT_EQ(EACCES, connect_as(OTHER_UID, OTHER_GID, 0,
				     "st-perm-owner"));
	EXPECT_EQ(0, poll_events(l, POLLIN, 0));
	EXPECT_LE(0, dev_connect(self->node, "st-perm-owner"));
}

TEST_F(ipcz, permission_other_user_owner)
{
	int l;

	/* Owned by OTHER_UID, writable by owner only. */
	l = dev_listen(self->node, "st-perm-uid", 0200, OTHER_UID, OTHER_GID,
		       4);
	ASSERT_LE(0, l);
	EXPECT_EQ(0, connect_as(OTHER_UID, OTHER_GID, 0, "st-perm-uid"));
	EXPECT_EQ(EACCES, connect_as(THIRD_UID, THIRD_GID, 0, "st-perm-uid"));
	/* Read permission alone is not enough. */
	close(l);
	l = dev_listen(self->node, "st-perm-uid", 0444, OTHER_UID, OTHER_GID,
		       4);
	ASSERT_LE(0, l);
	EXPECT_EQ(EACCES, connect_as(OTHER_UID, OTHER_GID, 0, "st-perm-uid"));
}

TEST_F(ipcz, permission_group)
{
	int l;

	l = dev_listen(self->node, "st-perm-group", 0620, 0, SHARED_GID, 4);
	ASSERT_LE(0, l);
	/* Primary group, supplementary group, and neither. */
	EXPECT_EQ(0, connect_as(OTHER_UID, SHARED_GID, 0, "st-perm-group"));
	EXPECT_EQ(0, connect_as(OTHER_UID, OTHER_GID, SHARED_GID,
				"st-perm-group"));
	EXPECT_EQ(EACCES, connect_as(THIRD_UID, THIRD_GID, 0,
				     "st-perm-group"));
}

TEST_F(ipcz, permission_others)
{
	int l;

	l = dev_listen(self->node, "st-perm-others", 0602, 0, 0, 4);
	ASSERT_LE(0, l);
	EXPECT_EQ(0, connect_as(OTHER_UID, OTHER_GID, 0, "st-perm-others"));
	EXPECT_EQ(0, connect_as(THIRD_UID, THIRD_GID, 0, "st-perm-others"));
	/* The owner's own bits apply to the owner, as for files. */
	close(l);
	l = dev_listen(self->node, "st-perm-others", 0062, OTHER_UID,
		       OTHER_GID, 4);
	ASSERT_LE(0, l);
	EXPECT_EQ(EACCES, connect_as(OTHER_UID, OTHER_GID, 0,
				     "st-perm-others"));
}

TEST_F(ipcz, listen_owner_needs_privilege)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* As chown(): only a privileged caller gives names away. */
		int node = ipcz_open_node(), l;

		alarm(20);
		if (node < 0 || become(OTHER_UID, OTHER_GID, 0))
			_exit(1);
		if (dev_listen(node, "st-owner", 0600, 0, SELF, 1) != -EPERM)
			_exit(2);
		if (dev_listen(node, "st-owner", 0600, SELF, 0, 1) != -EPERM)
			_exit(3);
		l = dev_listen(node, "st-owner", 0600, OTHER_UID, OTHER_GID,
			       1);
		_exit(l >= 0 ? 0 : 4);
	}
	status = wait_child_timeout(pid, 20000);
	EXPECT_EQ(0, status);
}

TEST_F(ipcz, peer_credentials_across_users)
{
	struct ipcz_peer_cred cred;
	int l, a, status;
	char buf[8];
	pid_t pid;

	l = dev_listen(self->node, "st-cred", 0666, SELF, SELF, 1);
	ASSERT_LE(0, l);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ipcz_peer_cred mine;
		int node = ipcz_open_node(), c;

		alarm(20);
		if (node < 0 || become(OTHER_UID, OTHER_GID, 0))
			_exit(1);
		c = dev_connect(node, "st-cred");
		if (c < 0)
			_exit(2);
		/* The listener's side is root, in the parent. */
		if (dev_peer_cred(c, &mine))
			_exit(3);
		if (mine.uid != 0 || mine.gid != 0 || mine.pid != getppid())
			_exit(4);
		if (dev_send_str(c, "hi"))
			_exit(5);
		/* Wait for the parent's answer before exiting. */
		if (!(poll_events(c, POLLIN, 10000) & POLLIN))
			_exit(6);
		_exit(0);
	}
	a = accept_wait(l);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, dev_peer_cred(a, &cred));
	EXPECT_EQ(pid, cred.pid);
	EXPECT_EQ(OTHER_UID, cred.uid);
	EXPECT_EQ(OTHER_GID, cred.gid);
	ASSERT_NE(0, poll_events(a, POLLIN, 10000) & POLLIN);
	ASSERT_EQ(2, dev_recv_bytes(a, buf, sizeof(buf)));
	ASSERT_EQ(0, dev_send_str(a, "bye"));
	status = wait_child_timeout(pid, 20000);
	EXPECT_EQ(0, status);
}

TEST_F(ipcz, unrelated_processes)
{
	int l, a, status;
	char buf[32];
	pid_t pid;

	l = dev_listen(self->node, "st-unrelated", 0600, SELF, SELF, 1);
	ASSERT_LE(0, l);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Forgets everything inherited; finds the parent by name. */
		int node, c, n;

		alarm(20);
		close_all_fds();
		node = ipcz_open_node();
		c = dev_connect(node, "st-unrelated");
		if (c < 0)
			_exit(1);
		if (!(poll_events(c, POLLIN, 10000) & POLLIN))
			_exit(2);
		n = dev_recv_bytes(c, buf, sizeof(buf));
		if (n <= 0 || dev_send(c, buf, (size_t)n, NULL, 0))
			_exit(3);
		_exit(0);
	}
	a = accept_wait(l);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, dev_send_str(a, "echo me"));
	ASSERT_NE(0, poll_events(a, POLLIN, 10000) & POLLIN);
	ASSERT_EQ(7, dev_recv_bytes(a, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "echo me", 7));
	status = wait_child_timeout(pid, 20000);
	EXPECT_EQ(0, status);
}

TEST_HARNESS_MAIN
