/* SPDX-License-Identifier: MIT */
/*
 * Socket driver objects and the handle table that names them.
 *
 * Every object the driver hands out (transport, memory region, mapping,
 * descriptor) is reference counted and reached through a handle table
 * entry. A handle encodes the entry's index and a generation number, so a
 * stale, forged or doubly closed handle is refused instead of touching
 * freed memory.
 */
#ifndef IPCZ_DRIVERS_SOCKET_OBJECT_H
#define IPCZ_DRIVERS_SOCKET_OBJECT_H

#include <stdatomic.h>
#include <stdbool.h>

#include <ipcz/ipcz.h>

enum sockdrv_type {
	SOCKDRV_ANY = 0,
	SOCKDRV_TRANSPORT = 1,
	SOCKDRV_MEMORY = 2,
	SOCKDRV_MAPPING = 3,
	SOCKDRV_DESCRIPTOR = 4,
};

struct sockdrv_object {
	atomic_int refs;
	enum sockdrv_type type;
	void (*destroy)(struct sockdrv_object *object);
};

void sockdrv_object_init(struct sockdrv_object *object, enum sockdrv_type type,
			 void (*destroy)(struct sockdrv_object *object));
void sockdrv_object_ref(struct sockdrv_object *object);
void sockdrv_object_unref(struct sockdrv_object *object);

/*
 * Gives `object` a handle. The table keeps the caller's reference, which
 * goes back to the caller of sockdrv_handle_take().
 */
IpczResult sockdrv_handle_add(struct sockdrv_object *object,
			      IpczDriverHandle *handle);

/* A new reference to the live object named by `handle`, or NULL. */
struct sockdrv_object *sockdrv_handle_get(IpczDriverHandle handle,
					  enum sockdrv_type type);

/* Retires `handle` and returns the table's reference, or NULL. */
struct sockdrv_object *sockdrv_handle_take(IpczDriverHandle handle,
					   enum sockdrv_type type);

/* Whether `handle` currently names a live object of `type`. */
bool sockdrv_handle_is_live(IpczDriverHandle handle, enum sockdrv_type type);

/* Fork support: the table lock is held across fork(). */
void sockdrv_handles_lock_for_fork(void);
void sockdrv_handles_unlock_after_fork(void);

#endif
