/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Objects of the ipcz module and the calls between its files.
 *
 * node.c        an open of /dev/ipcz: limits and accounting
 * transport.c   one end of an entangled pair, its receive queue, doorbell
 * message.c     a queued message: bytes plus descriptors
 * region.c      a shmem-backed memory region and its handles
 * rendezvous.c  named listeners and connection by name
 * gc.c          in-flight accounting and the cycle collector
 * registry.c    global lists for introspection, ids, live-object counts
 * netlink.c     the "ipcz" generic netlink family
 * main.c        module parameters, the misc device, init and exit
 */
#ifndef IPCZ_INTERNAL_H
#define IPCZ_INTERNAL_H

#include <linux/cred.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/ipcz.h>

struct file;
struct mem_cgroup;

/* Kinds of objects counted in the live-object count. */
enum ipcz_kind {
	IPCZ_KIND_NODE,
	IPCZ_KIND_TRANSPORT,
	IPCZ_KIND_REGION,
	IPCZ_KIND_LISTENER,
	IPCZ_KIND_MESSAGE,
	IPCZ_KIND_COUNT,
};

/* The limits of a node, and the module-wide caps on them. */
struct ipcz_node_limits {
	u64 queue_bytes;
	u32 queue_messages;
	u32 max_transports;
	u32 max_regions;
	u32 max_listeners;
	u64 region_bytes;
};

/* Who created or connected a transport end, as SO_PEERCRED would say. */
struct ipcz_creds {
	struct pid *pid;
	kuid_t uid;
	kgid_t gid;
};

struct ipcz_node {
	struct kref ref;
	u64 id;
	struct list_head registry_entry;
	struct ipcz_creds owner;
	char comm[TASK_COMM_LEN];

	/* Protects everything below. */
	spinlock_t lock;
	bool open;
	struct ipcz_node_limits limits;
	u32 transports;
	u32 regions;
	u32 listeners;
	u64 region_bytes;
};

/* What the receive side of a transport end holds; under pair->lock. */
struct ipcz_queue {
	struct list_head messages;
	u32 count;
	u64 bytes;
	u32 limit_messages;
	u64 limit_bytes;
};

struct ipcz_pair;

struct ipcz_transport {
	u64 id;
	struct list_head registry_entry;
	struct ipcz_pair *pair;
	unsigned int side;
	/* The anon-inode file of this end; not a reference. */
	struct file *file;
	/* The node charged for this end; a reference. */
	struct ipcz_node *node;
	struct ipcz_creds peer_creds;
	/* The peer's queue limit: no message larger can ever be sent. */
	u64 send_limit_bytes;
	wait_queue_head_t wait;
	/* Serialises receivers so the head message stays theirs. */
	struct mutex recv_mutex;

	/* Under pair->lock. */
	struct ipcz_queue queue;
	u64 rings;
	bool peer_closed;
	u64 sent_messages;
	u64 sent_bytes;
	u64 recv_messages;
	u64 recv_bytes;
	u64 rings_total;

	/* Under the collector's lock (gc.c). */
	unsigned long inflight;
	struct list_head gc_entry;
	long gc_refs;
	unsigned int gc_state;
};

/* The two ends of an entangled pair; freed with the second end. */
struct ipcz_pair {
	spinlock_t lock;
	struct ipcz_transport *end[2];
	refcount_t ends;
};

struct ipcz_desc {
	struct file *file;
	u32 type;		/* enum ipcz_fd_type */
};

struct ipcz_message {
	struct list_head entry;
	u32 len;
	u32 nfds;
	void *data;
	struct ipcz_desc descs[];
};

struct ipcz_region {
	struct kref ref;
	u64 id;
	struct list_head registry_entry;
	struct file *shmem;
	u64 size;
	struct ipcz_node *node;
	struct mem_cgroup *memcg;
	atomic_t handles;
	atomic_t mappings;
};

struct ipcz_listener {
	struct kref ref;
	u64 id;
	struct list_head registry_entry;
	struct hlist_node name_entry;
	u8 name[IPCZ_NAME_MAX];
	u32 name_len;
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
	u32 backlog;
	struct ipcz_node *node;
	struct ipcz_creds creds;
	wait_queue_head_t wait;

	/* Protects the fields below. */
	spinlock_t lock;
	bool closed;
	struct list_head pending;
	u32 npending;
};

/* A connection waiting in a listener's backlog. */
struct ipcz_pending {
	struct list_head entry;
	struct file *file;
};

/* registry.c */
void ipcz_kind_get(enum ipcz_kind kind);
void ipcz_kind_put(enum ipcz_kind kind);
long ipcz_kind_count(enum ipcz_kind kind);
long ipcz_live_objects(void);
extern struct mutex ipcz_registry_lock;
extern struct list_head ipcz_registry_nodes;
extern struct list_head ipcz_registry_transports;
extern struct list_head ipcz_registry_regions;
extern struct list_head ipcz_registry_listeners;
u64 ipcz_registry_add(struct list_head *entry, struct list_head *list);
void ipcz_registry_del(struct list_head *entry);

/* Arguments of ioctls: versioned structs (see uapi/linux/ipcz.h). */
int ipcz_copy_args(void *args, size_t ksize, size_t ver0,
		   const void __user *uargs);
int ipcz_return_args(void __user *uargs, const void *args, size_t ksize);
void ipcz_creds_capture(struct ipcz_creds *creds);
void ipcz_creds_copy(struct ipcz_creds *dst, const struct ipcz_creds *src);
void ipcz_creds_release(struct ipcz_creds *creds);

/* main.c: module-wide caps on node limits. */
void ipcz_caps(struct ipcz_node_limits *caps);
void ipcz_default_limits(struct ipcz_node_limits *limits);

/* node.c */
struct ipcz_node *ipcz_node_create(void);
void ipcz_node_put(struct ipcz_node *node);
struct ipcz_node *ipcz_node_get(struct ipcz_node *node);
void ipcz_node_close(struct ipcz_node *node);
int ipcz_node_set_limits(struct ipcz_node *node,
			 const struct ipcz_node_limits *limits);
void ipcz_node_get_limits(struct ipcz_node *node,
			  struct ipcz_node_limits *limits);
int ipcz_node_charge_transport(struct ipcz_node *node);
void ipcz_node_uncharge_transport(struct ipcz_node *node);
int ipcz_node_charge_region(struct ipcz_node *node, u64 size);
void ipcz_node_uncharge_region(struct ipcz_node *node, u64 size);
int ipcz_node_charge_listener(struct ipcz_node *node);
void ipcz_node_uncharge_listener(struct ipcz_node *node);
extern const struct file_operations ipcz_node_fops;
bool ipcz_is_node_file(const struct file *file);

/* transport.c */
int ipcz_transport_pair_create(struct ipcz_node *node_a,
			       struct ipcz_node *node_b,
			       const struct ipcz_creds *creds_a,
			       const struct ipcz_creds *creds_b,
			       struct file **file_a, struct file **file_b);
struct ipcz_transport *ipcz_transport_from_file(const struct file *file);
int ipcz_transport_enqueue(struct ipcz_transport *t, struct ipcz_message *msg);
struct ipcz_message *ipcz_transport_head(struct ipcz_transport *t, int *err);
void ipcz_transport_dequeue(struct ipcz_transport *t,
			    struct ipcz_message *msg);
int ipcz_transport_ring(struct ipcz_transport *t);
u64 ipcz_transport_take_doorbell(struct ipcz_transport *t);
__poll_t ipcz_transport_readiness(struct ipcz_transport *t);
int ipcz_transport_ioctl_pair(struct ipcz_node *node, void __user *uargs);
void ipcz_transport_purge(struct ipcz_transport *t,
			  struct list_head *purged);

/* message.c */
struct ipcz_message *ipcz_message_alloc(u32 len, u32 nfds);
int ipcz_message_attach(struct ipcz_message *msg, u32 index,
			struct file *file);
void ipcz_message_free(struct ipcz_message *msg);
void ipcz_message_free_list(struct list_head *messages);
struct ipcz_message *ipcz_message_from_user(const void __user *data,
					    u32 len, const int __user *fds,
					    u32 nfds);
int ipcz_message_to_user(struct ipcz_transport *t, struct ipcz_message *msg,
			 struct ipcz_recv *args, void __user *uargs);
u32 ipcz_file_type(const struct file *file);

/* region.c */
int ipcz_region_create(struct ipcz_node *node, u64 *length, bool readonly,
		       struct file **handle);
bool ipcz_is_region_file(const struct file *file);
int ipcz_region_ioctl_create(struct ipcz_node *node, void __user *uargs);

/* rendezvous.c */
struct ipcz_name_table;
struct ipcz_name_table *ipcz_name_table_alloc(void);
void ipcz_name_table_free(struct ipcz_name_table *table);
int ipcz_name_table_insert(struct ipcz_name_table *table,
			   struct ipcz_listener *l);
struct ipcz_listener *ipcz_name_table_lookup(struct ipcz_name_table *table,
					     const u8 *name, u32 len);
void ipcz_name_table_remove(struct ipcz_name_table *table,
			    struct ipcz_listener *l);
bool ipcz_mode_permits_write(umode_t mode, bool owner, bool group);
int ipcz_rendezvous_init(void);
void ipcz_rendezvous_exit(void);
bool ipcz_is_listener_file(const struct file *file);
int ipcz_rendezvous_ioctl_listen(struct ipcz_node *node, void __user *uargs);
int ipcz_rendezvous_ioctl_connect(struct ipcz_node *node,
				  void __user *uargs);

/* gc.c */
void ipcz_gc_inflight_add(struct ipcz_transport *t);
void ipcz_gc_inflight_remove(struct ipcz_transport *t);
void ipcz_gc_run(struct file *closing);
void ipcz_gc_settle(void);
void ipcz_gc_exit(void);
u64 ipcz_gc_runs(void);
u64 ipcz_gc_collected(void);
unsigned long ipcz_gc_total_inflight(void);

/* netlink.c */
int ipcz_netlink_init(void);
void ipcz_netlink_exit(void);

#endif /* IPCZ_INTERNAL_H */
