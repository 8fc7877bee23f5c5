/* SPDX-License-Identifier: MIT */
/*
 * Kernel driver objects: the common reference-counted objects and handle
 * table (drivers/common/object.h), in a table of the kernel driver's own
 * so that no handle of another driver in the process is ever taken for
 * one of its objects.
 */
#ifndef IPCZ_DRIVERS_KERNEL_OBJECT_H
#define IPCZ_DRIVERS_KERNEL_OBJECT_H

#include "drivers/common/object.h"

/* Defined in kernel_driver.c. */
extern struct drv_handle_table kdrv_handles;

#endif
