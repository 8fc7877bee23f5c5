/* SPDX-License-Identifier: MIT */
/*
 * Socket driver objects: the common reference-counted objects and handle
 * table (drivers/common/object.h), in a table of the socket driver's own
 * so that no handle of another driver in the process is ever taken for
 * one of its objects.
 */
#ifndef IPCZ_DRIVERS_SOCKET_OBJECT_H
#define IPCZ_DRIVERS_SOCKET_OBJECT_H

#include "drivers/common/object.h"

/* Defined in socket_driver.c. */
extern struct drv_handle_table sockdrv_handles;

#endif
