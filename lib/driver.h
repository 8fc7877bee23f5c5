/* SPDX-License-Identifier: MIT */
/*
 * The node's copy of the application's IpczDriver table, and the calls the
 * core makes through it. The core never assumes which driver it runs on.
 */
#ifndef IPCZ_LIB_DRIVER_H
#define IPCZ_LIB_DRIVER_H

#include <stdbool.h>

#include "ipcz/ipcz.h"

/* Whether `driver` is a complete table: right size, every call present. */
bool driver_is_valid(const struct IpczDriver *driver);

/*
 * A driver object can travel in a parcel iff the driver can serialize it:
 * asked without a transport, Serialize() answers ABORTED (serializable, but
 * not for no transport) or RESOURCE_EXHAUSTED (the sizes it needs).
 */
bool driver_object_is_serializable(const struct IpczDriver *driver,
				   IpczDriverHandle handle);

void driver_close_object(const struct IpczDriver *driver,
			 IpczDriverHandle handle);

#endif
