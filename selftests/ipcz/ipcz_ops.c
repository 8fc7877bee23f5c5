// SPDX-License-Identifier: MIT
/*
 * Thin wrappers around the /dev/ipcz ioctls for the selftests.
 */
#include "ipcz_ops.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>

int ioctl_err(int fd, unsigned long request, void *arg)
{
	int ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}

int dev_node_info(int node, struct ipcz_node_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl_err(node, IPCZ_IOC_NODE_INFO, info);
}

int dev_get_limits(int node, struct ipcz_limits *limits, uint32_t flags)
{
	memset(limits, 0, sizeof(*limits));
	limits->size = sizeof(*limits);
	limits->flags = flags;
	return ioctl_err(node, IPCZ_IOC_GET_LIMITS, limits);
}

int dev_set_limits(int node, const struct ipcz_limits *limits)
{
	struct ipcz_limits copy = *limits;

	copy.size = sizeof(copy);
	copy.flags = 0;
	return ioctl_err(node, IPCZ_IOC_SET_LIMITS, &copy);
}

int dev_pair(int node, int fds[2])
{
	struct ipcz_transport_pair arg = {
		.size = sizeof(arg),
		.flags = IPCZ_CLOEXEC,
	};
	int ret = ioctl_err(node, IPCZ_IOC_TRANSPORT_PAIR, &arg);

	if (ret < 0)
		return ret;
	fds[0] = arg.fds[0];
	fds[1] = arg.fds[1];
	return 0;
}

int dev_send(int transport, const void *data, size_t len, const int *fds,
	      unsigned int num_fds)
{
	struct ipcz_send arg = {
		.size = sizeof(arg),
		.data = (uintptr_t)data,
		.fds = (uintptr_t)fds,
		.data_len = (uint32_t)len,
		.num_fds = num_fds,
	};

	return ioctl_err(transport, IPCZ_IOC_SEND, &arg);
}

int dev_send_str(int transport, const char *text)
{
	return dev_send(transport, text, strlen(text), NULL, 0);
}

int dev_recv(int transport, void *data, uint32_t *len, int *fds,
	      uint32_t *num_fds, uint32_t *types)
{
	struct ipcz_recv arg = {
		.size = sizeof(arg),
		.flags = IPCZ_CLOEXEC,
		.data = (uintptr_t)data,
		.fds = (uintptr_t)fds,
		.fd_types = (uintptr_t)types,
		.data_len = *len,
		.num_fds = num_fds ? *num_fds : 0,
	};
	int ret = ioctl_err(transport, IPCZ_IOC_RECV, &arg);

	/* Sizes are reported on success and on EMSGSIZE alike. */
	if (ret >= 0 || ret == -EMSGSIZE) {
		*len = arg.data_len;
		if (num_fds)
			*num_fds = arg.num_fds;
	}
	return ret < 0 ? ret : 0;
}

int dev_recv_bytes(int transport, void *buf, uint32_t cap)
{
	uint32_t len = cap, num_fds = 0;
	int ret = dev_recv(transport, buf, &len, NULL, &num_fds, NULL);

	return ret < 0 ? ret : (int)len;
}

int dev_recv_any(int transport)
{
	char buf[64];

	return dev_recv_bytes(transport, buf, sizeof(buf));
}

int dev_ring(int transport)
{
	struct ipcz_doorbell arg = { .size = sizeof(arg) };

	return ioctl_err(transport, IPCZ_IOC_RING, &arg);
}

int dev_take_doorbell(int transport, uint64_t *rings)
{
	struct ipcz_doorbell arg = { .size = sizeof(arg) };
	int ret = ioctl_err(transport, IPCZ_IOC_TAKE_DOORBELL, &arg);

	if (ret >= 0 && rings)
		*rings = arg.rings;
	return ret < 0 ? ret : 0;
}

int dev_peer_cred(int transport, struct ipcz_peer_cred *cred)
{
	memset(cred, 0, sizeof(*cred));
	cred->size = sizeof(*cred);
	return ioctl_err(transport, IPCZ_IOC_PEER_CRED, cred);
}

int dev_region_create(int node, uint64_t *length)
{
	struct ipcz_region_create arg = {
		.size = sizeof(arg),
		.flags = IPCZ_CLOEXEC,
		.length = *length,
	};
	int ret = ioctl_err(node, IPCZ_IOC_REGION_CREATE, &arg);

	if (ret < 0)
		return ret;
	*length = arg.length;
	return arg.fd;
}

int dev_region_info(int region, struct ipcz_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl_err(region, IPCZ_IOC_REGION_INFO, info);
}

int dev_region_dup(int region, bool readonly)
{
	struct ipcz_region_dup arg = {
		.size = sizeof(arg),
		.flags = IPCZ_CLOEXEC | (readonly ? IPCZ_REGION_READONLY : 0),
	};
	int ret = ioctl_err(region, IPCZ_IOC_REGION_DUP, &arg);

	return ret < 0 ? ret : arg.fd;
}

int dev_listen(int node, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, uint32_t backlog)
{
	struct ipcz_listen arg = {
		.size = sizeof(arg),
		.flags = IPCZ_CLOEXEC,
		.name = (uintptr_t)name,
		.name_len = (uint32_t)strlen(name),
		.mode = mode,
		.uid = uid,
		.gid = gid,
		.backlog = backlog,
	};
	int ret = ioctl_err(node, IPCZ_IOC_LISTEN, &arg);

	return ret < 0 ? ret : arg.fd;
}

int dev_connect(int node, const char *name)
{
	struct ipcz_connect arg = {
		.size = sizeof(arg),
		.flags = IPCZ_CLOEXEC,
		.name = (uintptr_t)name,
		.name_len = (uint32_t)strlen(name),
	};
	int ret = ioctl_err(node, IPCZ_IOC_CONNECT, &arg);

	return ret < 0 ? ret : arg.fd;
}

int dev_accept(int listener)
{
	struct ipcz_accept arg = {
		.size = sizeof(arg),
		.flags = IPCZ_CLOEXEC,
	};
	int ret = ioctl_err(listener, IPCZ_IOC_ACCEPT, &arg);

	return ret < 0 ? ret : arg.fd;
}

int poll_events(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int ret;

	do {
		ret = poll(&p, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	return ret ? p.revents : 0;
}
