/* SPDX-License-Identifier: MIT */
/*
 * Kernel driver objects and the handle table that names them.
 *
 * Every object the driver hands out (transport, memory region, mapping,
 * descriptor) is reference counted. ipcz only ever sees handles: a handle
 * is a slot index and that slot's generation, so a handle that was closed,
 * never issued or belongs to another object type is refused rather than
 * followed into freed memory.
 */
#ifndef IPCZ_DRIVERS_KERNEL_OBJECT_H
#define IPCZ_DRIVERS_KERNEL_OBJECT_H

#include <stdatomic.h>
#include <stdbool.h>

#include <ipcz/ipcz.h>

enum kdrv_type {
	KDRV_ANY = 0,
	KDRV_TRANSPORT = 1,
	KDRV_MEMORY = 2,
	KDRV_MAPPING = 3,
	KDRV_DESCRIPTOR = 4,
};

struct kdrv_object {
	atomic_int refs;
	enum kdrv_type type;
	void (*destroy)(struct kdrv_object *object);
};

/* Starts `object` with one reference, the caller's. */
void kdrv_object_init(struct kdrv_object *object, enum kdrv_type type,
		      void (*destroy)(struct kdrv_object *object));
void kdrv_object_ref(struct kdrv_object *object);
void kdrv_object_unref(struct kdrv_object *object);

/*
 * Gives `object` a handle; the table takes over the caller's reference.
 * On failure the reference is dropped (which may destroy the object).
 */
IpczResult kdrv_handle_add(struct kdrv_object *object,
			   IpczDriverHandle *handle);

/* A new reference to the live object of `type` named by `handle`, or NULL. */
struct kdrv_object *kdrv_handle_get(IpczDriverHandle handle,
				    enum kdrv_type type);

/* Retires `handle` and hands its reference to the caller, or NULL. */
struct kdrv_object *kdrv_handle_take(IpczDriverHandle handle,
				     enum kdrv_type type);

/* Whether `handle` names a live object of `type` right now. */
bool kdrv_handle_is_live(IpczDriverHandle handle, enum kdrv_type type);

/* fork(): the table's lock is held across it (see kernel_driver.c). */
void kdrv_handles_lock(void);
void kdrv_handles_unlock(void);

#endif
