// SPDX-License-Identifier: MIT
/*
 * The node descriptor. It is opened once and kept for the life of the
 * process: the module ties limits and accounting to it, and every object
 * the driver creates is charged to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "drivers/kernel/device.h"
#include "uapi/linux/ipcz.h"

static pthread_mutex_t device_lock = PTHREAD_MUTEX_INITIALIZER;
static int device_fd = -1;

int kdrv_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static int open_and_check(void)
{
	struct ipcz_node_info info = { .size = sizeof(info) };
	int fd, err;

	fd = open(KDRV_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = kdrv_ioctl(fd, IPCZ_IOC_NODE_INFO, &info);
	if (!err && info.abi_version != IPCZ_ABI_VERSION)
		err = -EPROTONOSUPPORT;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int kdrv_device_fd(void)
{
	int fd;

	pthread_mutex_lock(&device_lock);
	if (device_fd < 0)
		device_fd = open_and_check();
	fd = device_fd;
	/* A failure is not cached: the module may be loaded later. */
	if (device_fd < 0)
		device_fd = -1;
	pthread_mutex_unlock(&device_lock);
	return fd;
}

bool kdrv_device_usable(void)
{
	return kdrv_device_fd() >= 0;
}

IpczResult kdrv_result_from_errno(int err)
{
	switch (-err) {
	case 0:
		return IPCZ_RESULT_OK;
	case EINVAL:
	case EBADF:
	case ENOTTY:
	case EFAULT:
	case ENAMETOOLONG:
		return IPCZ_RESULT_INVALID_ARGUMENT;
	case ENOENT:
	case ECONNREFUSED:
		return IPCZ_RESULT_NOT_FOUND;
	case EEXIST:
	case EADDRINUSE:
		return IPCZ_RESULT_ALREADY_EXISTS;
	case EACCES:
	case EPERM:
		return IPCZ_RESULT_PERMISSION_DENIED;
	case ENOMEM:
	case ENOSPC:
	case EMFILE:
	case ENFILE:
	case EAGAIN:
	case EDQUOT:
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	case EMSGSIZE:
		return IPCZ_RESULT_OUT_OF_RANGE;
	default:
		return IPCZ_RESULT_UNAVAILABLE;
	}
}

void kdrv_device_lock(void)
{
	pthread_mutex_lock(&device_lock);
}

void kdrv_device_unlock(void)
{
	pthread_mutex_unlock(&device_lock);
}

/*
 * The child shares the parent's open file; closing our copy leaves the
 * parent's node untouched, and the child's next use opens its own.
 */
void kdrv_device_reset_in_child(void)
{
	if (device_fd >= 0)
		close(device_fd);
	device_fd = -1;
}
