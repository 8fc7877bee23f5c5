// SPDX-License-Identifier: MIT
/*
 * The IpczDriver table of the kernel driver and its public entry points
 * (include/ipcz/kernel_driver.h). Each table function checks its handles
 * through the handle table and hands the work to the object concerned.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <ipcz/kernel_driver.h>

#include "drivers/common/driver_table.h"
#include "drivers/kernel/descriptor.h"
#include "drivers/kernel/device.h"
#include "drivers/kernel/io_thread.h"
#include "drivers/kernel/memory.h"
#include "drivers/kernel/transport.h"
#include "uapi/linux/ipcz.h"

struct drv_handle_table kdrv_handles = DRV_HANDLE_TABLE_INIT;

/*
 * A serialized transport, memory region or descriptor: this header, and
 * exactly one descriptor object carrying its file descriptor. What the
 * descriptor is comes from the module (its fd type), not from the bytes.
 */
struct serialized_object {
	uint32_t magic;
	uint32_t type;		/* enum drv_type */
};

#define SERIALIZED_MAGIC 0x4f4b4349u	/* "ICKO" little-endian */

/*
 * A descriptor for a transport or region that can leave the process: a
 * duplicate of its own, so that a thread still using the object keeps a
 * valid one. -EBUSY if the object cannot go now, another negative errno
 * if it cannot go at all.
 */
static int transferable_fd(struct drv_object *object, uint32_t *fd_type)
{
	int fd;

	switch (object->type) {
	case DRV_TRANSPORT:
		*fd_type = IPCZ_FD_TYPE_TRANSPORT;
		return kdrv_transport_dup_fd((struct kdrv_transport *)object);
	case DRV_MEMORY: {
		struct drv_memory *memory = (struct drv_memory *)object;

		*fd_type = memory->read_only ? IPCZ_FD_TYPE_REGION_RO :
					      IPCZ_FD_TYPE_REGION;
		fd = fcntl(memory->fd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	default:
		return -EINVAL;
	}
}

static bool serializable_type(enum drv_type type)
{
	return type == DRV_TRANSPORT || type == DRV_MEMORY ||
	       type == DRV_DESCRIPTOR;
}

/* Serialize() once the capacities are known to suffice. */
static IpczResult serialize_object(IpczDriverHandle handle,
				   struct drv_object *object,
				   volatile void *data,
				   IpczDriverHandle *handles)
{
	struct serialized_object header = {
		.magic = SERIALIZED_MAGIC,
		.type = object->type,
	};
	struct drv_object *retired;
	uint32_t fd_type = IPCZ_FD_TYPE_OTHER;
	IpczResult result;
	int fd;

	if (object->type == DRV_DESCRIPTOR) {
		/* The descriptor object travels as it is. */
		drv_copy_to_volatile(data, &header, sizeof(header));
		handles[0] = handle;
		return IPCZ_RESULT_OK;
	}
	fd = transferable_fd(object, &fd_type);
	if (fd == -EBUSY)
		return IPCZ_RESULT_FAILED_PRECONDITION;
	if (fd < 0)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	result = kdrv_descriptor_create(fd, fd_type, &handles[0]);
	if (result != IPCZ_RESULT_OK)
		return result;
	/* The object now lives on in the descriptor: retire its handle. */
	retired = drv_handle_take(&kdrv_handles, handle, object->type);
	if (retired && retired->type == DRV_TRANSPORT)
		kdrv_transport_close(retired);
	else if (retired)
		drv_object_unref(retired);
	drv_copy_to_volatile(data, &header, sizeof(header));
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API driver_serialize(IpczDriverHandle handle,
					    IpczDriverHandle transport,
					    uint32_t flags,
					    const void *options,
					    volatile void *data,
					    size_t *num_bytes,
					    IpczDriverHandle *handles,
					    size_t *num_handles)
{
	struct drv_object *object;
	IpczResult result;

	object = drv_handle_get(&kdrv_handles, handle, DRV_ANY);
	if (!object)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!serializable_type(object->type)) {
		drv_object_unref(object);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (drv_serialized_fits(sizeof(struct serialized_object), data,
				num_bytes, handles, num_handles))
		result = serialize_object(handle, object, data, handles);
	else
		result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
	drv_object_unref(object);
	return result;
}

/* Whether descriptor `fd_type` can be the object `type` in a header. */
static bool type_fits(uint32_t type, int fd_type)
{
	switch (type) {
	case DRV_TRANSPORT:
		return fd_type == IPCZ_FD_TYPE_TRANSPORT;
	case DRV_MEMORY:
		return fd_type == IPCZ_FD_TYPE_REGION ||
		       fd_type == IPCZ_FD_TYPE_REGION_RO;
	case DRV_DESCRIPTOR:
		return fd_type >= 0;
	default:
		return false;
	}
}

static IpczResult IPCZ_API driver_deserialize(
	const volatile void *data, size_t num_bytes,
	const IpczDriverHandle *driver_handles, size_t num_driver_handles,
	IpczDriverHandle transport, uint32_t flags, const void *options,
	IpczDriverHandle *handle)
{
	struct serialized_object header;
	int fd;

	if (!drv_serialized_read_header(data, num_bytes, driver_handles,
					num_driver_handles, handle, &header,
					sizeof(header)) ||
	    header.magic != SERIALIZED_MAGIC ||
	    !type_fits(header.type, kdrv_descriptor_type(driver_handles[0])))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (header.type == DRV_DESCRIPTOR) {
		*handle = driver_handles[0];
		return IPCZ_RESULT_OK;
	}
	fd = kdrv_descriptor_take_fd(driver_handles[0]);
	if (fd < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (header.type == DRV_TRANSPORT)
		return kdrv_transport_adopt(fd, handle);
	return kdrv_memory_adopt(fd, handle);
}

static struct kdrv_transport *get_transport(IpczDriverHandle handle)
{
	return (struct kdrv_transport *)drv_handle_get(&kdrv_handles, handle,
						       DRV_TRANSPORT);
}

static const struct drv_backend backend = {
	.handles = &kdrv_handles,
	.duplicate_read_only_flag = IPCZ_KERNEL_DUPLICATE_READ_ONLY,
	.create_transport_pair = kdrv_transport_create_pair,
	.transport_state = kdrv_transport_state,
	.transmit = kdrv_transport_transmit,
	.report_bad_transport = kdrv_transport_report_bad,
	.close_transport = kdrv_transport_close,
	.allocate_memory = kdrv_memory_allocate,
	.duplicate_memory = kdrv_memory_duplicate,
	.map_memory = kdrv_memory_map,
};

DRV_DEFINE_IPCZ_DRIVER(kernel_driver, backend, driver_serialize,
		       driver_deserialize);

/*
 * fork(): hold every lock the driver has across it, so that the child
 * gets them in a consistent state, then give the child a fresh start.
 */
static void before_fork(void)
{
	drv_handles_lock(&kdrv_handles);
	drv_io_lock(&kdrv_io);
	kdrv_device_lock();
}

static void after_fork_in_parent(void)
{
	kdrv_device_unlock();
	drv_io_unlock(&kdrv_io);
	drv_handles_unlock(&kdrv_handles);
}

static void after_fork_in_child(void)
{
	kdrv_device_reset_in_child();
	drv_io_reset_in_child(&kdrv_io);
	after_fork_in_parent();
}

__attribute__((constructor)) static void register_fork_handlers(void)
{
	pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
}

const struct IpczDriver *ipcz_kernel_driver(void)
{
	return &kernel_driver;
}

int ipcz_kernel_available(void)
{
	return kdrv_device_usable();
}

int ipcz_kernel_transport_pair_fds(int fds[2])
{
	struct ipcz_transport_pair args = {
		.size = sizeof(args),
		.flags = IPCZ_CLOEXEC,
	};
	int node = kdrv_device_fd();
	int err;

	if (!fds)
		return -EINVAL;
	if (node < 0)
		return node;
	err = kdrv_ioctl(node, IPCZ_IOC_TRANSPORT_PAIR, &args);
	if (err)
		return err;
	fds[0] = args.fds[0];
	fds[1] = args.fds[1];
	return 0;
}

IpczResult ipcz_kernel_transport_from_fd(int fd, IpczDriverHandle *transport)
{
	if (!transport) {
		if (fd >= 0)
			close(fd);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	return kdrv_transport_adopt(fd, transport);
}

IpczResult ipcz_kernel_transport_peer(IpczDriverHandle transport,
				      struct ipcz_kernel_peer *peer)
{
	struct ipcz_peer_cred cred = { .size = sizeof(cred) };
	struct kdrv_transport *t;
	int err;

	if (!peer)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	t = get_transport(transport);
	if (!t)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	/* The reference keeps the descriptor open during the call. */
	err = kdrv_ioctl(kdrv_transport_fd(t), IPCZ_IOC_PEER_CRED, &cred);
	drv_object_unref(&t->base);
	if (err)
		return kdrv_result_from_errno(err);
	peer->pid = cred.pid;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	return IPCZ_RESULT_OK;
}

IpczResult ipcz_kernel_descriptor_wrap(int fd, IpczDriverHandle *object)
{
	if (fd < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!object) {
		close(fd);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	return kdrv_descriptor_create(fd, IPCZ_FD_TYPE_OTHER, object);
}

IpczResult ipcz_kernel_descriptor_unwrap(IpczDriverHandle object, int *fd)
{
	int taken;

	if (!fd)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	taken = kdrv_descriptor_take_fd(object);
	if (taken < 0)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	*fd = taken;
	return IPCZ_RESULT_OK;
}
