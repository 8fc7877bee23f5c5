// SPDX-License-Identifier: GPL-2.0
/*
 * ipcz: kernel-assisted IPC for the ipcz library.
 *
 * The module's parameters (the caps on node limits, and the read-only
 * live-object count), the /dev/ipcz misc device, init and exit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "internal.h"

/* Caps: the most any node may set its limits to. */
static unsigned long long max_queue_bytes = 64ULL << 20;
module_param(max_queue_bytes, ullong, 0644);
MODULE_PARM_DESC(max_queue_bytes,
		 "Cap on a node's bytes queued to one transport end");

static unsigned int max_queue_messages = 65536;
module_param(max_queue_messages, uint, 0644);
MODULE_PARM_DESC(max_queue_messages,
		 "Cap on a node's messages queued to one transport end");

static unsigned int max_transports = 65536;
module_param(max_transports, uint, 0644);
MODULE_PARM_DESC(max_transports, "Cap on a node's live transport ends");

static unsigned int max_regions = 65536;
module_param(max_regions, uint, 0644);
MODULE_PARM_DESC(max_regions, "Cap on a node's live memory regions");

static unsigned int max_listeners = 1024;
module_param(max_listeners, uint, 0644);
MODULE_PARM_DESC(max_listeners, "Cap on a node's live rendezvous names");

static unsigned long long max_region_bytes = 16ULL << 30;
module_param(max_region_bytes, ullong, 0644);
MODULE_PARM_DESC(max_region_bytes,
		 "Cap on the total size of a node's live memory regions");

void ipcz_caps(struct ipcz_node_limits *caps)
{
	caps->queue_bytes = READ_ONCE(max_queue_bytes);
	caps->queue_messages = READ_ONCE(max_queue_messages);
	caps->max_transports = READ_ONCE(max_transports);
	caps->max_regions = READ_ONCE(max_regions);
	caps->max_listeners = READ_ONCE(max_listeners);
	caps->region_bytes = READ_ONCE(max_region_bytes);
}

/* What a new node starts with: modest defaults, never above the caps. */
void ipcz_default_limits(struct ipcz_node_limits *limits)
{
	struct ipcz_node_limits caps;

	ipcz_caps(&caps);
	limits->queue_bytes = min_t(u64, 1ULL << 20, caps.queue_bytes);
	limits->queue_messages = min_t(u32, 1024, caps.queue_messages);
	limits->max_transports = min_t(u32, 4096, caps.max_transports);
	limits->max_regions = min_t(u32, 1024, caps.max_regions);
	limits->max_listeners = min_t(u32, 64, caps.max_listeners);
	limits->region_bytes = min_t(u64, 1ULL << 30, caps.region_bytes);
}

/*
 * live_objects: read-only. Reading first lets the collector finish, so the
 * value is exact once userspace has closed its descriptors.
 */
static int ipcz_live_objects_get(char *buffer, const struct kernel_param *kp)
{
	ipcz_gc_settle();
	return sysfs_emit(buffer, "%ld\n", ipcz_live_objects());
}

static int ipcz_live_objects_set(const char *val,
				 const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops ipcz_live_objects_ops = {
	.get = ipcz_live_objects_get,
	.set = ipcz_live_objects_set,
};

module_param_cb(live_objects, &ipcz_live_objects_ops, NULL, 0444);
MODULE_PARM_DESC(live_objects,
		 "Nodes, transports, regions, listeners and messages alive");

static struct miscdevice ipcz_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = IPCZ_DEVICE_NAME,
	.fops = &ipcz_node_fops,
	.mode = 0666,
};

static int __init ipcz_init(void)
{
	int err;

	err = ipcz_rendezvous_init();
	if (err)
		return err;
	err = ipcz_netlink_init();
	if (err)
		goto rendezvous;
	err = misc_register(&ipcz_misc);
	if (err)
		goto netlink;
	return 0;

netlink:
	ipcz_netlink_exit();
rendezvous:
	ipcz_rendezvous_exit();
	return err;
}

static void __exit ipcz_exit(void)
{
	long live;

	misc_deregister(&ipcz_misc);
	ipcz_netlink_exit();
	ipcz_gc_exit();
	live = ipcz_live_objects();
	if (live)
		pr_err("leaked %ld objects\n", live);
	ipcz_rendezvous_exit();
}

module_init(ipcz_init);
module_exit(ipcz_exit);

MODULE_DESCRIPTION("ipcz: transports, memory regions and rendezvous for IPC");
MODULE_LICENSE("GPL");
