/* SPDX-License-Identifier: MIT */
/*
 * A parcel the application holds by handle: one returned by Get() or
 * EndGet(), or a subparcel taken out of a box. It can be read again (its
 * data stays, its handles go to whoever takes them), read in two phases,
 * rejected, boxed or closed.
 */
#ifndef IPCZ_LIB_PARCEL_WRAPPER_H
#define IPCZ_LIB_PARCEL_WRAPPER_H

#include <stdbool.h>

#include "lib/api_object.h"
#include "lib/lock.h"
#include "lib/parcel.h"

struct parcel_wrapper {
	struct api_object object;
	struct ipcz_lock lock;
	bool in_get;		/* a two-phase get is open */
	struct parcel *parcel;
};

/*
 * Wraps `parcel` (taking it) and returns a new handle to it, or
 * IPCZ_INVALID_HANDLE without memory (the parcel is then freed).
 */
IpczHandle parcel_wrapper_wrap(struct parcel *parcel);

/* A further handle to the same parcel (a new reference). */
IpczHandle parcel_wrapper_new_handle(struct parcel_wrapper *wrapper);

void parcel_wrapper_destroy(struct parcel_wrapper *wrapper);

bool parcel_wrapper_can_send_from(struct parcel_wrapper *wrapper,
				  struct router *sender);

IpczResult parcel_wrapper_get(struct parcel_wrapper *wrapper,
			      IpczGetFlags flags, void *data,
			      size_t *num_bytes, IpczHandle *handles,
			      size_t *num_handles, IpczHandle *parcel_out);

IpczResult parcel_wrapper_begin_get(struct parcel_wrapper *wrapper,
				    IpczBeginGetFlags flags,
				    const volatile void **data,
				    size_t *num_bytes, IpczHandle *handles,
				    size_t *num_handles,
				    IpczTransaction *transaction);

IpczResult parcel_wrapper_end_get(struct parcel_wrapper *wrapper,
				  IpczTransaction transaction,
				  IpczEndGetFlags flags, IpczHandle *parcel_out);

IpczResult parcel_wrapper_reject(struct parcel_wrapper *wrapper,
				 uintptr_t context);

#endif
