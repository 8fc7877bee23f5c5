// SPDX-License-Identifier: GPL-2.0
/*
 * Rendezvous: a node listens on a name; any process may connect to that
 * name, subject to the listener's owner, group and mode as for writing a
 * file, and gets one end of a new transport at once. The other end waits
 * in the listener's backlog until the listener accepts it; messages sent
 * meanwhile wait in its queue.
 *
 * Names live in one table for the whole system. Each listener is an
 * anon-inode fd: closing it withdraws the name and drops every connection
 * not yet accepted, which their connectors see as a closed peer.
 */
#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/jhash.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/stat.h>
#include <linux/uaccess.h>

#include "internal.h"

#define IPCZ_NAME_HASH_BITS	7

struct ipcz_name_table {
	struct mutex lock;
	DECLARE_HASHTABLE(buckets, IPCZ_NAME_HASH_BITS);
};

static struct ipcz_name_table *ipcz_names;
static const struct file_operations ipcz_listener_fops;

struct ipcz_name_table *ipcz_name_table_alloc(void)
{
	struct ipcz_name_table *table;

	table = kzalloc(sizeof(*table), GFP_KERNEL);
	if (!table)
		return NULL;
	mutex_init(&table->lock);
	hash_init(table->buckets);
	return table;
}

void ipcz_name_table_free(struct ipcz_name_table *table)
{
	if (!table)
		return;
	WARN_ON(!hash_empty(table->buckets));
	mutex_destroy(&table->lock);
	kfree(table);
}

static u32 ipcz_name_hash(const u8 *name, u32 len)
{
	return jhash(name, len, 0);
}

static struct ipcz_listener *
ipcz_name_table_find(struct ipcz_name_table *table, const u8 *name, u32 len)
{
	struct ipcz_listener *l;

	hash_for_each_possible(table->buckets, l, name_entry,
			       ipcz_name_hash(name, len)) {
		if (l->name_len == len && !memcmp(l->name, name, len))
			return l;
	}
	return NULL;
}

int ipcz_name_table_insert(struct ipcz_name_table *table,
			   struct ipcz_listener *l)
{
	int err = 0;

	mutex_lock(&table->lock);
	if (ipcz_name_table_find(table, l->name, l->name_len))
		err = -EADDRINUSE;
	else
		hash_add(table->buckets, &l->name_entry,
			 ipcz_name_hash(l->name, l->name_len));
	mutex_unlock(&table->lock);
	return err;
}

static void ipcz_listener_free(struct kref *ref)
{
	struct ipcz_listener *l = container_of(ref, struct ipcz_listener, ref);

	ipcz_registry_del(&l->registry_entry);
	ipcz_creds_release(&l->creds);
	ipcz_node_uncharge_listener(l->node);
	ipcz_node_put(l->node);
	kfree(l);
	ipcz_kind_put(IPCZ_KIND_LISTENER);
}

static void ipcz_listener_put(struct ipcz_listener *l)
{
	kref_put(&l->ref, ipcz_listener_free);
}

/* Finds a listener by name and takes a reference to it. */
struct ipcz_listener *ipcz_name_table_lookup(struct ipcz_name_table *table,
					     const u8 *name, u32 len)
{
	struct ipcz_listener *l;

	mutex_lock(&table->lock);
	l = ipcz_name_table_find(table, name, len);
	if (l)
		kref_get(&l->ref);
	mutex_unlock(&table->lock);
	return l;
}

void ipcz_name_table_remove(struct ipcz_name_table *table,
			    struct ipcz_listener *l)
{
	mutex_lock(&table->lock);
	if (!hlist_unhashed(&l->name_entry))
		hash_del(&l->name_entry);
	mutex_unlock(&table->lock);
}

/* File-like permission: the owner's, group's or others' write bit. */
bool ipcz_mode_permits_write(umode_t mode, bool owner, bool group)
{
	if (owner)
		mode >>= 6;
	else if (group)
		mode >>= 3;
	return mode & 0002;
}

static bool ipcz_listener_permits(const struct ipcz_listener *l)
{
	bool owner = uid_eq(current_fsuid(), l->uid);
	bool group = !owner && in_group_p(l->gid);

	return ipcz_mode_permits_write(l->mode, owner, group) ||
	       capable(CAP_DAC_OVERRIDE);
}

bool ipcz_is_listener_file(const struct file *file)
{
	return file->f_op == &ipcz_listener_fops;
}

static struct ipcz_listener *ipcz_listener_alloc(struct ipcz_node *node)
{
	struct ipcz_listener *l;

	l = kzalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);
	if (!l)
		return ERR_PTR(-ENOMEM);
	if (ipcz_node_charge_listener(node)) {
		kfree(l);
		return ERR_PTR(-ENOSPC);
	}
	kref_init(&l->ref);
	INIT_HLIST_NODE(&l->name_entry);
	spin_lock_init(&l->lock);
	INIT_LIST_HEAD(&l->pending);
	init_waitqueue_head(&l->wait);
	l->node = ipcz_node_get(node);
	ipcz_creds_capture(&l->creds);
	ipcz_kind_get(IPCZ_KIND_LISTENER);
	l->id = ipcz_registry_add(&l->registry_entry,
				  &ipcz_registry_listeners);
	return l;
}

/* Withdraws the name and drops the connections nobody accepted. */
static void ipcz_listener_close(struct ipcz_listener *l)
{
	struct ipcz_pending *p, *next;
	LIST_HEAD(dropped);

	ipcz_name_table_remove(ipcz_names, l);
	spin_lock(&l->lock);
	l->closed = true;
	list_splice_init(&l->pending, &dropped);
	l->npending = 0;
	spin_unlock(&l->lock);
	list_for_each_entry_safe(p, next, &dropped, entry) {
		fput(p->file);
		kfree(p);
	}
	ipcz_listener_put(l);
}

static int ipcz_listener_release(struct inode *inode, struct file *file)
{
	ipcz_listener_close(file->private_data);
	return 0;
}

static __poll_t ipcz_listener_poll(struct file *file, poll_table *wait)
{
	struct ipcz_listener *l = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &l->wait, wait);
	spin_lock(&l->lock);
	if (l->npending)
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock(&l->lock);
	return mask;
}

static int ipcz_listener_ioctl_accept(struct ipcz_listener *l,
				      void __user *uargs)
{
	struct ipcz_pending *p;
	struct ipcz_accept args;
	int fd, err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_ACCEPT_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	if (args.flags & ~IPCZ_CLOEXEC || args.reserved)
		return -EINVAL;
	fd = get_unused_fd_flags(args.flags & IPCZ_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0)
		return fd;
	spin_lock(&l->lock);
	p = list_first_entry_or_null(&l->pending, struct ipcz_pending, entry);
	if (p) {
		list_del(&p->entry);
		l->npending--;
	}
	spin_unlock(&l->lock);
	if (!p) {
		put_unused_fd(fd);
		return -EAGAIN;
	}
	args.fd = fd;
	err = ipcz_return_args(uargs, &args, sizeof(args));
	if (err) {
		/* Our fd keeps the listener open: it can take it back. */
		spin_lock(&l->lock);
		list_add(&p->entry, &l->pending);
		l->npending++;
		spin_unlock(&l->lock);
		put_unused_fd(fd);
		return err;
	}
	fd_install(fd, p->file);
	kfree(p);
	return 0;
}

static long ipcz_listener_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	if (cmd != IPCZ_IOC_ACCEPT)
		return -ENOTTY;
	return ipcz_listener_ioctl_accept(file->private_data,
					  (void __user *)arg);
}

static const struct file_operations ipcz_listener_fops = {
	.owner = THIS_MODULE,
	.poll = ipcz_listener_poll,
	.release = ipcz_listener_release,
	.unlocked_ioctl = ipcz_listener_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* Copies a name from userspace: 1 to IPCZ_NAME_MAX bytes, no NUL. */
static int ipcz_name_from_user(u8 *name, u64 uname, u32 len)
{
	if (!len || len > IPCZ_NAME_MAX)
		return -EINVAL;
	if (copy_from_user(name, u64_to_user_ptr(uname), len))
		return -EFAULT;
	if (memchr(name, 0, len))
		return -EINVAL;
	return 0;
}

/* The owner and group a listener asks for, with chown()'s rules. */
static int ipcz_listen_owner(const struct ipcz_listen *args, kuid_t *uid,
			     kgid_t *gid)
{
	*uid = args->uid == IPCZ_OWNER_SELF ? current_fsuid() :
		make_kuid(current_user_ns(), args->uid);
	*gid = args->gid == IPCZ_OWNER_SELF ? current_fsgid() :
		make_kgid(current_user_ns(), args->gid);
	if (!uid_valid(*uid) || !gid_valid(*gid))
		return -EINVAL;
	if (!uid_eq(*uid, current_fsuid()) && !capable(CAP_CHOWN))
		return -EPERM;
	if (!in_group_p(*gid) && !capable(CAP_CHOWN))
		return -EPERM;
	return 0;
}

static int ipcz_listen_check(const struct ipcz_listen *args)
{
	if (args->flags & ~IPCZ_CLOEXEC)
		return -EINVAL;
	if (args->mode & ~0777)
		return -EINVAL;
	if (!args->backlog || args->backlog > IPCZ_BACKLOG_MAX)
		return -EINVAL;
	return 0;
}

int ipcz_rendezvous_ioctl_listen(struct ipcz_node *node, void __user *uargs)
{
	struct ipcz_listener *l;
	struct ipcz_listen args;
	struct file *file;
	kuid_t uid;
	kgid_t gid;
	int fd, err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_LISTEN_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	err = ipcz_listen_check(&args);
	if (err)
		return err;
	err = ipcz_listen_owner(&args, &uid, &gid);
	if (err)
		return err;
	l = ipcz_listener_alloc(node);
	if (IS_ERR(l))
		return PTR_ERR(l);
	err = ipcz_name_from_user(l->name, args.name, args.name_len);
	if (err)
		goto put;
	l->name_len = args.name_len;
	l->uid = uid;
	l->gid = gid;
	l->mode = args.mode;
	l->backlog = args.backlog;

	fd = get_unused_fd_flags(args.flags & IPCZ_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0) {
		err = fd;
		goto put;
	}
	err = ipcz_name_table_insert(ipcz_names, l);
	if (err)
		goto put_fd;
	file = anon_inode_getfile("[ipcz-listener]", &ipcz_listener_fops, l,
				  O_RDWR);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		ipcz_name_table_remove(ipcz_names, l);
		goto put_fd;
	}
	args.fd = fd;
	err = ipcz_return_args(uargs, &args, sizeof(args));
	if (err) {
		/* Releasing the file withdraws the name and frees l. */
		fput(file);
		put_unused_fd(fd);
		return err;
	}
	fd_install(fd, file);
	return 0;

put_fd:
	put_unused_fd(fd);
put:
	ipcz_listener_put(l);
	return err;
}

/* Queues the listener's end of a new connection in its backlog. */
static int ipcz_listener_enqueue(struct ipcz_listener *l,
				 struct ipcz_pending *p)
{
	int err = 0;

	spin_lock(&l->lock);
	if (l->closed) {
		err = -ECONNREFUSED;
	} else if (l->npending >= l->backlog) {
		err = -EAGAIN;
	} else {
		list_add_tail(&p->entry, &l->pending);
		l->npending++;
		wake_up_interruptible_poll(&l->wait, EPOLLIN | EPOLLRDNORM);
	}
	spin_unlock(&l->lock);
	return err;
}

static int ipcz_connect_to(struct ipcz_node *node, struct ipcz_listener *l,
			   struct ipcz_connect *args, void __user *uargs)
{
	struct ipcz_pending *p;
	struct ipcz_creds creds;
	struct file *mine;
	int fd, err;

	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	fd = get_unused_fd_flags(args->flags & IPCZ_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0) {
		kfree(p);
		return fd;
	}
	ipcz_creds_capture(&creds);
	err = ipcz_transport_pair_create(node, l->node, &creds, &l->creds,
					 &mine, &p->file);
	ipcz_creds_release(&creds);
	if (err)
		goto put_fd;
	args->fd = fd;
	err = ipcz_return_args(uargs, args, sizeof(*args));
	if (!err)
		err = ipcz_listener_enqueue(l, p);
	if (err) {
		fput(p->file);
		fput(mine);
		goto put_fd;
	}
	fd_install(fd, mine);
	return 0;

put_fd:
	put_unused_fd(fd);
	kfree(p);
	return err;
}

int ipcz_rendezvous_ioctl_connect(struct ipcz_node *node, void __user *uargs)
{
	u8 name[IPCZ_NAME_MAX];
	struct ipcz_listener *l;
	struct ipcz_connect args;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_CONNECT_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	if (args.flags & ~IPCZ_CLOEXEC)
		return -EINVAL;
	err = ipcz_name_from_user(name, args.name, args.name_len);
	if (err)
		return err;
	l = ipcz_name_table_lookup(ipcz_names, name, args.name_len);
	if (!l)
		return -ENOENT;
	if (ipcz_listener_permits(l))
		err = ipcz_connect_to(node, l, &args, uargs);
	else
		err = -EACCES;
	ipcz_listener_put(l);
	return err;
}

int ipcz_rendezvous_init(void)
{
	ipcz_names = ipcz_name_table_alloc();
	return ipcz_names ? 0 : -ENOMEM;
}

void ipcz_rendezvous_exit(void)
{
	ipcz_name_table_free(ipcz_names);
	ipcz_names = NULL;
}
