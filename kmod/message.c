// SPDX-License-Identifier: GPL-2.0
/*
 * A message: bytes plus descriptors, built whole from the sender's buffers
 * and fds before it is queued, and handed over whole to the receiver.
 *
 * A message owns one file reference per descriptor. A transport whose file
 * sits in a message is "in flight", which the collector (gc.c) counts.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <net/sock.h>

#include "internal.h"

struct ipcz_message *ipcz_message_alloc(u32 len, u32 nfds)
{
	struct ipcz_message *msg;

	msg = kzalloc(struct_size(msg, descs, nfds), GFP_KERNEL_ACCOUNT);
	if (!msg)
		return NULL;
	if (len) {
		msg->data = kvmalloc(len, GFP_KERNEL_ACCOUNT);
		if (!msg->data) {
			kfree(msg);
			return NULL;
		}
	}
	INIT_LIST_HEAD(&msg->entry);
	msg->len = len;
	ipcz_kind_get(IPCZ_KIND_MESSAGE);
	return msg;
}

u32 ipcz_file_type(const struct file *file)
{
	if (ipcz_is_node_file(file))
		return IPCZ_FD_TYPE_NODE;
	if (ipcz_transport_from_file(file))
		return IPCZ_FD_TYPE_TRANSPORT;
	if (ipcz_is_region_file(file))
		return file->f_mode & FMODE_WRITE ? IPCZ_FD_TYPE_REGION :
						    IPCZ_FD_TYPE_REGION_RO;
	return IPCZ_FD_TYPE_OTHER;
}

/*
 * Descriptors that can themselves hold descriptors could close a reference
 * cycle that no collector sees whole (ours only follows transports, the
 * AF_UNIX one only sockets), so they may not travel: listeners (their
 * backlog holds transports), AF_UNIX sockets and io_uring instances.
 */
static bool ipcz_file_may_travel(struct file *file)
{
	struct socket *sock;

	if (ipcz_is_listener_file(file))
		return false;
	sock = sock_from_file(file);
	if (sock && sock->sk && sock->sk->sk_family == AF_UNIX)
		return false;
	/* io_uring's file operations are not exported; its name is fixed. */
	if (!strcmp(file->f_path.dentry->d_name.name, "[io_uring]"))
		return false;
	return true;
}

/* Adds a descriptor to the message, which takes its own reference. */
int ipcz_message_attach(struct ipcz_message *msg, u32 index,
			struct file *file)
{
	struct ipcz_desc *desc = &msg->descs[index];

	if (WARN_ON_ONCE(index != msg->nfds))
		return -EINVAL;
	if (!ipcz_file_may_travel(file))
		return -EINVAL;
	desc->file = get_file(file);
	desc->type = ipcz_file_type(file);
	/* Counted only after the reference exists: see gc.c. */
	if (desc->type == IPCZ_FD_TYPE_TRANSPORT)
		ipcz_gc_inflight_add(ipcz_transport_from_file(file));
	msg->nfds++;
	return 0;
}

static void ipcz_message_free_shell(struct ipcz_message *msg)
{
	kvfree(msg->data);
	kfree(msg);
	ipcz_kind_put(IPCZ_KIND_MESSAGE);
}

/* Drops the message and every reference it holds. */
void ipcz_message_free(struct ipcz_message *msg)
{
	u32 i;

	for (i = 0; i < msg->nfds; i++) {
		struct file *file = msg->descs[i].file;

		/* Uncounted before the reference goes: see gc.c. */
		if (msg->descs[i].type == IPCZ_FD_TYPE_TRANSPORT)
			ipcz_gc_inflight_remove(ipcz_transport_from_file(file));
		fput(file);
	}
	ipcz_message_free_shell(msg);
}

void ipcz_message_free_list(struct list_head *messages)
{
	struct ipcz_message *msg, *next;

	list_for_each_entry_safe(msg, next, messages, entry) {
		list_del(&msg->entry);
		ipcz_message_free(msg);
	}
}

/* Builds a message from a sender's buffer and descriptor numbers. */
struct ipcz_message *ipcz_message_from_user(const void __user *data,
					    u32 len, const int __user *fds,
					    u32 nfds)
{
	struct ipcz_message *msg;
	int err = -EFAULT;
	u32 i;

	msg = ipcz_message_alloc(len, nfds);
	if (!msg)
		return ERR_PTR(-ENOMEM);
	if (len && copy_from_user(msg->data, data, len))
		goto fail;
	for (i = 0; i < nfds; i++) {
		struct file *file;
		int fd;

		err = -EFAULT;
		if (get_user(fd, &fds[i]))
			goto fail;
		err = -EBADF;
		file = fget(fd);
		if (!file)
			goto fail;
		err = ipcz_message_attach(msg, i, file);
		fput(file);
		if (err)
			goto fail;
	}
	return msg;

fail:
	ipcz_message_free(msg);
	return ERR_PTR(err);
}

static void ipcz_put_fds(const int *fds, u32 count)
{
	while (count--)
		put_unused_fd(fds[count]);
}

/*
 * Hands the message at the head of t's queue to the caller: reserves every
 * descriptor number, writes everything userspace is to see, and only then
 * takes the message off the queue and installs the files. Any failure
 * before that point leaves the message queued and the caller's table as it
 * was. The caller holds t->recv_mutex, so the head cannot change.
 */
int ipcz_message_to_user(struct ipcz_transport *t, struct ipcz_message *msg,
			 struct ipcz_recv *args, void __user *uargs)
{
	unsigned int fd_flags = args->flags & IPCZ_CLOEXEC ? O_CLOEXEC : 0;
	int fds[IPCZ_MAX_FDS];
	u32 types[IPCZ_MAX_FDS];
	u32 i, reserved = 0;
	int err;

	for (i = 0; i < msg->nfds; i++) {
		err = get_unused_fd_flags(fd_flags);
		if (err < 0)
			goto fail;
		fds[i] = err;
		types[i] = msg->descs[i].type;
		reserved++;
	}
	err = -EFAULT;
	if (msg->len &&
	    copy_to_user(u64_to_user_ptr(args->data), msg->data, msg->len))
		goto fail;
	if (msg->nfds &&
	    copy_to_user(u64_to_user_ptr(args->fds), fds,
			 msg->nfds * sizeof(fds[0])))
		goto fail;
	if (msg->nfds && args->fd_types &&
	    copy_to_user(u64_to_user_ptr(args->fd_types), types,
			 msg->nfds * sizeof(types[0])))
		goto fail;
	args->data_len = msg->len;
	args->num_fds = msg->nfds;
	err = ipcz_return_args(uargs, args, sizeof(*args));
	if (err)
		goto fail;

	/* Nothing can fail from here on. */
	ipcz_transport_dequeue(t, msg);
	for (i = 0; i < msg->nfds; i++) {
		struct file *file = msg->descs[i].file;

		if (msg->descs[i].type == IPCZ_FD_TYPE_TRANSPORT)
			ipcz_gc_inflight_remove(ipcz_transport_from_file(file));
		/* The message's reference moves into the fd table. */
		fd_install(fds[i], file);
	}
	ipcz_message_free_shell(msg);
	return 0;

fail:
	ipcz_put_fds(fds, reserved);
	return err;
}
