/* SPDX-License-Identifier: MIT */
/*
 * Driver objects and the handle tables that name them, shared by the
 * socket and the kernel driver.
 *
 * Every object a driver hands out (transport, memory region, mapping,
 * descriptor) is reference counted and reached only through a handle: a
 * slot index plus that slot's generation, bumped whenever the slot is
 * retired. A stale, forged or doubly closed handle, or one of the wrong
 * type, is therefore refused instead of followed into freed memory.
 *
 * Each driver keeps a table of its own: both drivers can live in one
 * process (the default driver links both), and a handle of one must never
 * name an object of the other, whose types share the same numbers.
 */
#ifndef IPCZ_DRIVERS_COMMON_OBJECT_H
#define IPCZ_DRIVERS_COMMON_OBJECT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ipcz/ipcz.h>

/* The values travel in serialized objects: never renumber them. */
enum drv_type {
	DRV_ANY = 0,
	DRV_TRANSPORT = 1,
	DRV_MEMORY = 2,
	DRV_MAPPING = 3,
	DRV_DESCRIPTOR = 4,
};

struct drv_object {
	atomic_int refs;
	enum drv_type type;
	void (*destroy)(struct drv_object *object);
};

/* Starts `object` with one reference, the caller's. */
void drv_object_init(struct drv_object *object, enum drv_type type,
		     void (*destroy)(struct drv_object *object));
void drv_object_ref(struct drv_object *object);
void drv_object_unref(struct drv_object *object);

struct drv_handle_slot;

struct drv_handle_table {
	pthread_mutex_t lock;
	struct drv_handle_slot *slots;
	uint32_t slot_count;
	uint32_t slot_capacity;
	uint32_t first_free;	/* index + 1, or 0 when none is free */
};

#define DRV_HANDLE_TABLE_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

/*
 * Gives `object` a handle; the table takes over the caller's reference,
 * which drv_handle_take() hands back. On failure the reference is dropped
 * (which may destroy the object), so callers need no cleanup path.
 */
IpczResult drv_handle_add(struct drv_handle_table *table,
			  struct drv_object *object, IpczDriverHandle *handle);

/* A new reference to the live object of `type` named by `handle`, or NULL. */
struct drv_object *drv_handle_get(struct drv_handle_table *table,
				  IpczDriverHandle handle, enum drv_type type);

/* Retires `handle` and hands its reference to the caller, or NULL. */
struct drv_object *drv_handle_take(struct drv_handle_table *table,
				   IpczDriverHandle handle, enum drv_type type);

/*
 * Retires each of `handles` that is live and drops its reference: for the
 * objects made for a delivery that the handler refused or never saw.
 */
void drv_handles_release(struct drv_handle_table *table,
			 const IpczDriverHandle *handles, size_t count);

/* Whether `handle` names a live object of `type` right now. */
bool drv_handle_is_live(struct drv_handle_table *table,
			IpczDriverHandle handle, enum drv_type type);

/*
 * Whether a handle appears twice in `handles`: a Transmit naming one
 * object twice would take it once too often, so the drivers refuse the
 * call before taking anything. Also true if the check cannot be made.
 */
bool drv_handles_have_duplicates(const IpczDriverHandle *handles,
				 size_t count);

/*
 * Takes the descriptors out of the descriptor objects `handles` of `table`
 * into `fds`, with `take_fd` (the driver's way to take one). All are
 * checked first (each live, none twice), so a bad handle leaves every
 * handle as it was. INVALID_ARGUMENT if any is refused.
 */
IpczResult drv_handles_take_descriptors(struct drv_handle_table *table,
					const IpczDriverHandle *handles,
					size_t count, int *fds,
					int (*take_fd)(IpczDriverHandle));

/* fork(): the drivers hold the table's lock across it. */
void drv_handles_lock(struct drv_handle_table *table);
void drv_handles_unlock(struct drv_handle_table *table);

#endif
