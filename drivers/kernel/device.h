/* SPDX-License-Identifier: MIT */
/*
 * The process's node: its one open of /dev/ipcz, made on first use, from
 * which the driver creates transport pairs, regions and listeners.
 */
#ifndef IPCZ_DRIVERS_KERNEL_DEVICE_H
#define IPCZ_DRIVERS_KERNEL_DEVICE_H

#include <stdbool.h>

#include <ipcz/ipcz.h>

#define KDRV_DEVICE_PATH "/dev/ipcz"

/* The node's descriptor, opening it if needed; or a negative errno. */
int kdrv_device_fd(void);

/* Whether the device opens and speaks IPCZ_ABI_VERSION. */
bool kdrv_device_usable(void);

/*
 * ioctl() on `fd`, retried on EINTR: 0 (or the ioctl's non-negative
 * result) or a negative errno.
 */
int kdrv_ioctl(int fd, unsigned long request, void *arg);

/* The IpczResult that best describes a negative errno. */
IpczResult kdrv_result_from_errno(int err);

/* fork(): in the child, forget the parent's node (a new one opens). */
void kdrv_device_lock(void);
void kdrv_device_unlock(void);
void kdrv_device_reset_in_child(void);

#endif
