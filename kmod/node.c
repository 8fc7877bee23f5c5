// SPDX-License-Identifier: GPL-2.0
/*
 * A node: one open of /dev/ipcz. It owns the limits that bound what it
 * creates and counts what it has alive. Objects it created keep it (but not
 * its fd) alive, so that their accounting can be returned when they die.
 */
#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"

struct ipcz_node *ipcz_node_create(void)
{
	struct ipcz_node *node;

	node = kzalloc(sizeof(*node), GFP_KERNEL_ACCOUNT);
	if (!node)
		return NULL;
	kref_init(&node->ref);
	spin_lock_init(&node->lock);
	node->open = true;
	ipcz_default_limits(&node->limits);
	ipcz_creds_capture(&node->owner);
	get_task_comm(node->comm, current);
	ipcz_kind_get(IPCZ_KIND_NODE);
	node->id = ipcz_registry_add(&node->registry_entry,
				     &ipcz_registry_nodes);
	return node;
}

static void ipcz_node_free(struct kref *ref)
{
	struct ipcz_node *node = container_of(ref, struct ipcz_node, ref);

	ipcz_registry_del(&node->registry_entry);
	ipcz_creds_release(&node->owner);
	kfree(node);
	ipcz_kind_put(IPCZ_KIND_NODE);
}

struct ipcz_node *ipcz_node_get(struct ipcz_node *node)
{
	kref_get(&node->ref);
	return node;
}

void ipcz_node_put(struct ipcz_node *node)
{
	if (node)
		kref_put(&node->ref, ipcz_node_free);
}

void ipcz_node_close(struct ipcz_node *node)
{
	spin_lock(&node->lock);
	node->open = false;
	spin_unlock(&node->lock);
	ipcz_node_put(node);
}

void ipcz_node_get_limits(struct ipcz_node *node,
			  struct ipcz_node_limits *limits)
{
	spin_lock(&node->lock);
	*limits = node->limits;
	spin_unlock(&node->lock);
}

static bool ipcz_limits_within(const struct ipcz_node_limits *l,
			       const struct ipcz_node_limits *cap)
{
	return l->queue_bytes && l->queue_bytes <= cap->queue_bytes &&
	       l->queue_messages && l->queue_messages <= cap->queue_messages &&
	       l->max_transports && l->max_transports <= cap->max_transports &&
	       l->max_regions && l->max_regions <= cap->max_regions &&
	       l->max_listeners && l->max_listeners <= cap->max_listeners &&
	       l->region_bytes && l->region_bytes <= cap->region_bytes;
}

/*
 * New limits apply to what is created from now on; objects already alive
 * stay, even if they now exceed a lowered limit.
 */
int ipcz_node_set_limits(struct ipcz_node *node,
			 const struct ipcz_node_limits *limits)
{
	struct ipcz_node_limits caps;

	ipcz_caps(&caps);
	if (!ipcz_limits_within(limits, &caps))
		return -EINVAL;
	spin_lock(&node->lock);
	node->limits = *limits;
	spin_unlock(&node->lock);
	return 0;
}

/*
 * Counts one more object in *count, one of the node's counters, unless
 * that would pass *max, its limit; both are read under the node's lock.
 */
static int ipcz_node_charge_one(struct ipcz_node *node, u32 *count,
				const u32 *max)
{
	int err = -ENOSPC;

	spin_lock(&node->lock);
	if (*count < *max) {
		(*count)++;
		err = 0;
	}
	spin_unlock(&node->lock);
	return err;
}

static void ipcz_node_uncharge_one(struct ipcz_node *node, u32 *count)
{
	spin_lock(&node->lock);
	(*count)--;
	spin_unlock(&node->lock);
}

int ipcz_node_charge_transport(struct ipcz_node *node)
{
	return ipcz_node_charge_one(node, &node->transports,
				    &node->limits.max_transports);
}

void ipcz_node_uncharge_transport(struct ipcz_node *node)
{
	ipcz_node_uncharge_one(node, &node->transports);
}

int ipcz_node_charge_region(struct ipcz_node *node, u64 size)
{
	int err = -ENOSPC;

	spin_lock(&node->lock);
	if (node->regions < node->limits.max_regions &&
	    size <= node->limits.region_bytes - min(node->region_bytes,
						    node->limits.region_bytes)) {
		node->regions++;
		node->region_bytes += size;
		err = 0;
	}
	spin_unlock(&node->lock);
	return err;
}

void ipcz_node_uncharge_region(struct ipcz_node *node, u64 size)
{
	spin_lock(&node->lock);
	node->regions--;
	node->region_bytes -= size;
	spin_unlock(&node->lock);
}

int ipcz_node_charge_listener(struct ipcz_node *node)
{
	return ipcz_node_charge_one(node, &node->listeners,
				    &node->limits.max_listeners);
}

void ipcz_node_uncharge_listener(struct ipcz_node *node)
{
	ipcz_node_uncharge_one(node, &node->listeners);
}

static int ipcz_node_open(struct inode *inode, struct file *file)
{
	struct ipcz_node *node = ipcz_node_create();

	if (!node)
		return -ENOMEM;
	file->private_data = node;
	return 0;
}

static int ipcz_node_release(struct inode *inode, struct file *file)
{
	ipcz_node_close(file->private_data);
	return 0;
}

static int ipcz_node_ioctl_info(struct ipcz_node *node, void __user *uargs)
{
	struct ipcz_node_info args;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_NODE_INFO_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	if (args.flags || args.reserved)
		return -EINVAL;
	args.abi_version = IPCZ_ABI_VERSION;
	args.node_id = node->id;
	return ipcz_return_args(uargs, &args, sizeof(args));
}

static void ipcz_limits_to_user(struct ipcz_limits *args,
				const struct ipcz_node_limits *l)
{
	args->queue_bytes = l->queue_bytes;
	args->queue_messages = l->queue_messages;
	args->max_transports = l->max_transports;
	args->max_regions = l->max_regions;
	args->max_listeners = l->max_listeners;
	args->region_bytes = l->region_bytes;
}

static int ipcz_node_ioctl_get_limits(struct ipcz_node *node,
				      void __user *uargs)
{
	struct ipcz_node_limits limits;
	struct ipcz_limits args;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_LIMITS_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	if (args.flags & ~IPCZ_LIMITS_CAPS)
		return -EINVAL;
	if (args.flags & IPCZ_LIMITS_CAPS)
		ipcz_caps(&limits);
	else
		ipcz_node_get_limits(node, &limits);
	ipcz_limits_to_user(&args, &limits);
	return ipcz_return_args(uargs, &args, sizeof(args));
}

static int ipcz_node_ioctl_set_limits(struct ipcz_node *node,
				      void __user *uargs)
{
	struct ipcz_node_limits limits;
	struct ipcz_limits args;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_LIMITS_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	if (args.flags)
		return -EINVAL;
	limits.queue_bytes = args.queue_bytes;
	limits.queue_messages = args.queue_messages;
	limits.max_transports = args.max_transports;
	limits.max_regions = args.max_regions;
	limits.max_listeners = args.max_listeners;
	limits.region_bytes = args.region_bytes;
	return ipcz_node_set_limits(node, &limits);
}

static long ipcz_node_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct ipcz_node *node = file->private_data;
	void __user *uargs = (void __user *)arg;

	switch (cmd) {
	case IPCZ_IOC_NODE_INFO:
		return ipcz_node_ioctl_info(node, uargs);
	case IPCZ_IOC_GET_LIMITS:
		return ipcz_node_ioctl_get_limits(node, uargs);
	case IPCZ_IOC_SET_LIMITS:
		return ipcz_node_ioctl_set_limits(node, uargs);
	case IPCZ_IOC_TRANSPORT_PAIR:
		return ipcz_transport_ioctl_pair(node, uargs);
	case IPCZ_IOC_REGION_CREATE:
		return ipcz_region_ioctl_create(node, uargs);
	case IPCZ_IOC_LISTEN:
		return ipcz_rendezvous_ioctl_listen(node, uargs);
	case IPCZ_IOC_CONNECT:
		return ipcz_rendezvous_ioctl_connect(node, uargs);
	default:
		return -ENOTTY;
	}
}

const struct file_operations ipcz_node_fops = {
	.owner = THIS_MODULE,
	.open = ipcz_node_open,
	.release = ipcz_node_release,
	.unlocked_ioctl = ipcz_node_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

bool ipcz_is_node_file(const struct file *file)
{
	return file->f_op == &ipcz_node_fops;
}
