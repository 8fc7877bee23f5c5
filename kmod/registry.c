// SPDX-License-Identifier: GPL-2.0
/*
 * Global bookkeeping: the lists netlink dumps walk, object ids, the
 * live-object counts, and small helpers shared by every ioctl.
 */
#include <linux/atomic.h>
#include <linux/cred.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "internal.h"

static atomic_long_t ipcz_counts[IPCZ_KIND_COUNT];
static u64 ipcz_next_id;

DEFINE_MUTEX(ipcz_registry_lock);
LIST_HEAD(ipcz_registry_nodes);
LIST_HEAD(ipcz_registry_transports);
LIST_HEAD(ipcz_registry_regions);
LIST_HEAD(ipcz_registry_listeners);

void ipcz_kind_get(enum ipcz_kind kind)
{
	atomic_long_inc(&ipcz_counts[kind]);
}

void ipcz_kind_put(enum ipcz_kind kind)
{
	atomic_long_dec(&ipcz_counts[kind]);
}

long ipcz_kind_count(enum ipcz_kind kind)
{
	return atomic_long_read(&ipcz_counts[kind]);
}

long ipcz_live_objects(void)
{
	long sum = 0;
	int kind;

	for (kind = 0; kind < IPCZ_KIND_COUNT; kind++)
		sum += ipcz_kind_count(kind);
	return sum;
}

/*
 * Appends an object to its list and gives it the next id. Ids grow in list
 * order, which lets a netlink dump resume after the last id it sent.
 */
u64 ipcz_registry_add(struct list_head *entry, struct list_head *list)
{
	u64 id;

	mutex_lock(&ipcz_registry_lock);
	id = ++ipcz_next_id;
	list_add_tail(entry, list);
	mutex_unlock(&ipcz_registry_lock);
	return id;
}

void ipcz_registry_del(struct list_head *entry)
{
	mutex_lock(&ipcz_registry_lock);
	list_del_init(entry);
	mutex_unlock(&ipcz_registry_lock);
}

/*
 * Reads a versioned argument struct: its first word is the size userspace
 * knows. Smaller than the first published size is an error; a larger struct
 * from a newer userspace is fine as long as its extra bytes are zero.
 */
int ipcz_copy_args(void *args, size_t ksize, size_t ver0,
		   const void __user *uargs)
{
	u32 usize;
	int err;

	if (get_user(usize, (const u32 __user *)uargs))
		return -EFAULT;
	if (usize < ver0 || usize > PAGE_SIZE)
		return -EINVAL;
	err = copy_struct_from_user(args, ksize, uargs, usize);
	if (err == -E2BIG)
		return -EINVAL;
	if (err)
		return err;
	/* Answers are written back in the layout this module knows. */
	*(u32 *)args = min_t(u32, usize, ksize);
	return 0;
}

/* Writes back the part of an argument struct that userspace knows. */
int ipcz_return_args(void __user *uargs, const void *args, size_t ksize)
{
	size_t size = min_t(size_t, *(const u32 *)args, ksize);

	return copy_to_user(uargs, args, size) ? -EFAULT : 0;
}

void ipcz_creds_capture(struct ipcz_creds *creds)
{
	creds->pid = get_pid(task_tgid(current));
	creds->uid = current_euid();
	creds->gid = current_egid();
}

void ipcz_creds_copy(struct ipcz_creds *dst, const struct ipcz_creds *src)
{
	dst->pid = get_pid(src->pid);
	dst->uid = src->uid;
	dst->gid = src->gid;
}

void ipcz_creds_release(struct ipcz_creds *creds)
{
	put_pid(creds->pid);
	creds->pid = NULL;
}
