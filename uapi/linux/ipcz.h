/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ipcz: kernel-assisted IPC for the ipcz library.
 *
 * The ABI of the /dev/ipcz character device and of the "ipcz" generic
 * netlink family. Documentation/uapi.rst describes every call.
 *
 * Conventions shared by every ioctl:
 *  - The argument is a pointer to a struct that starts with __u32 size and
 *    __u32 flags. size is sizeof() the struct as the caller knows it; the
 *    kernel accepts any size from the first published one (IPCZ_*_SIZE_VER0)
 *    up to one page, and bytes beyond the part it knows must be zero.
 *    Structs only ever grow at the end; the ioctl numbers never change.
 *  - Pointers travel as __u64, padding is explicit and must be zero.
 *  - Unknown flags, nonzero reserved fields and bad sizes fail with EINVAL.
 */
#ifndef _UAPI_LINUX_IPCZ_H
#define _UAPI_LINUX_IPCZ_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define IPCZ_DEVICE_NAME	"ipcz"
#define IPCZ_ABI_VERSION	1

/* Largest number of descriptors one message may carry. */
#define IPCZ_MAX_FDS		64
/* Longest rendezvous name, in bytes, without a terminating NUL. */
#define IPCZ_NAME_MAX		255
/* Largest listen backlog. */
#define IPCZ_BACKLOG_MAX	1024
/* For ipcz_listen.uid and .gid: use the caller's own fsuid/fsgid. */
#define IPCZ_OWNER_SELF		((__u32)-1)

/* Flag for every ioctl that creates descriptors: set FD_CLOEXEC on them. */
#define IPCZ_CLOEXEC		(1U << 0)

/* ipcz_limits.flags: read the module's caps instead of the node's limits. */
#define IPCZ_LIMITS_CAPS	(1U << 1)

/* ipcz_region_dup.flags (in) and ipcz_region_info.flags (out). */
#define IPCZ_REGION_READONLY	(1U << 1)

/* Descriptor types reported by IPCZ_IOC_RECV in the fd_types array. */
enum ipcz_fd_type {
	IPCZ_FD_TYPE_OTHER = 0,		/* any descriptor not made by ipcz */
	IPCZ_FD_TYPE_NODE = 1,		/* an open of /dev/ipcz */
	IPCZ_FD_TYPE_TRANSPORT = 2,	/* one end of a transport pair */
	IPCZ_FD_TYPE_REGION = 3,	/* a writable memory region handle */
	IPCZ_FD_TYPE_REGION_RO = 4,	/* a read-only memory region handle */
};

/* IPCZ_IOC_NODE_INFO, on a node fd. flags must be zero. */
struct ipcz_node_info {
	__u32 size;
	__u32 flags;
	__u32 abi_version;	/* out: IPCZ_ABI_VERSION */
	__u32 reserved;
	__u64 node_id;		/* out: as shown by netlink */
};

#define IPCZ_NODE_INFO_SIZE_VER0	24

/*
 * IPCZ_IOC_GET_LIMITS and IPCZ_IOC_SET_LIMITS, on a node fd.
 *
 * Queue limits apply to the receive queue of every transport end this node
 * creates from then on (by IPCZ_IOC_TRANSPORT_PAIR, IPCZ_IOC_CONNECT or
 * IPCZ_IOC_ACCEPT). The others bound the objects alive that this node
 * created. Every value must be nonzero and at most the module's cap.
 */
struct ipcz_limits {
	__u32 size;
	__u32 flags;		/* IPCZ_LIMITS_CAPS, GET only */
	__u64 queue_bytes;	/* payload bytes queued to one transport end */
	__u32 queue_messages;	/* messages queued to one transport end */
	__u32 max_transports;	/* live transport ends */
	__u32 max_regions;	/* live memory regions */
	__u32 max_listeners;	/* live rendezvous names */
	__u64 region_bytes;	/* total size of live memory regions */
};

#define IPCZ_LIMITS_SIZE_VER0		40

/* IPCZ_IOC_TRANSPORT_PAIR, on a node fd. flags: IPCZ_CLOEXEC. */
struct ipcz_transport_pair {
	__u32 size;
	__u32 flags;
	__s32 fds[2];		/* out: the two entangled ends */
};

#define IPCZ_TRANSPORT_PAIR_SIZE_VER0	16

/*
 * IPCZ_IOC_REGION_CREATE, on a node fd. flags: IPCZ_CLOEXEC. length is
 * rounded up to a whole number of pages, and the rounded value is written
 * back.
 */
struct ipcz_region_create {
	__u32 size;
	__u32 flags;
	__u64 length;		/* in: bytes wanted; out: bytes allocated */
	__s32 fd;		/* out: a writable region handle */
	__u32 reserved;
};

#define IPCZ_REGION_CREATE_SIZE_VER0	24

/*
 * IPCZ_IOC_LISTEN, on a node fd. flags: IPCZ_CLOEXEC.
 *
 * Publishes name (name_len bytes, no NUL inside) until the returned listener
 * fd is closed. A connecting process needs write permission by mode
 * (0 to 0777) for owner uid / group gid, as for a file.
 */
struct ipcz_listen {
	__u32 size;
	__u32 flags;
	__u64 name;		/* pointer to the name bytes */
	__u32 name_len;		/* 1 to IPCZ_NAME_MAX */
	__u32 mode;		/* permission bits, at most 0777 */
	__u32 uid;		/* owner, or IPCZ_OWNER_SELF */
	__u32 gid;		/* group, or IPCZ_OWNER_SELF */
	__u32 backlog;		/* pending connections, 1..IPCZ_BACKLOG_MAX */
	__s32 fd;		/* out: the listener */
};

#define IPCZ_LISTEN_SIZE_VER0		40

/* IPCZ_IOC_CONNECT, on a node fd. flags: IPCZ_CLOEXEC. */
struct ipcz_connect {
	__u32 size;
	__u32 flags;
	__u64 name;
	__u32 name_len;
	__s32 fd;		/* out: this side's transport end */
};

#define IPCZ_CONNECT_SIZE_VER0		24

/* IPCZ_IOC_ACCEPT, on a listener fd. flags: IPCZ_CLOEXEC. */
struct ipcz_accept {
	__u32 size;
	__u32 flags;
	__s32 fd;		/* out: the listener side's transport end */
	__u32 reserved;
};

#define IPCZ_ACCEPT_SIZE_VER0		16

/*
 * IPCZ_IOC_SEND, on a transport fd. flags must be zero.
 *
 * Queues one message of data_len bytes and num_fds descriptors to the peer.
 * The message is queued whole or not at all; the sender keeps its own
 * descriptors either way.
 */
struct ipcz_send {
	__u32 size;
	__u32 flags;
	__u64 data;		/* pointer to the bytes */
	__u64 fds;		/* pointer to num_fds __s32 descriptors */
	__u32 data_len;
	__u32 num_fds;		/* 0 to IPCZ_MAX_FDS */
};

#define IPCZ_SEND_SIZE_VER0		32

/*
 * IPCZ_IOC_RECV, on a transport fd. flags: IPCZ_CLOEXEC, for the installed
 * descriptors.
 *
 * data_len and num_fds are capacities on input and the message's sizes on
 * output. If either capacity is too small the call fails with EMSGSIZE,
 * reports the sizes needed and leaves the message queued.
 */
struct ipcz_recv {
	__u32 size;
	__u32 flags;
	__u64 data;		/* pointer to the data buffer */
	__u64 fds;		/* pointer to an array of __s32 */
	__u64 fd_types;		/* optional (0): array of __u32 ipcz_fd_type */
	__u32 data_len;
	__u32 num_fds;
};

#define IPCZ_RECV_SIZE_VER0		40

/*
 * IPCZ_IOC_RING and IPCZ_IOC_TAKE_DOORBELL, on a transport fd. flags must
 * be zero. RING marks the peer's doorbell; TAKE clears this end's doorbell
 * and reports in rings how many rings it absorbed (0 if it was clear).
 */
struct ipcz_doorbell {
	__u32 size;
	__u32 flags;
	__u64 rings;		/* out, TAKE only */
};

#define IPCZ_DOORBELL_SIZE_VER0		16

/*
 * IPCZ_IOC_PEER_CRED, on a transport fd. flags must be zero. The peer's
 * credentials as captured when the transport was created or connected,
 * translated into the caller's pid and user namespaces.
 */
struct ipcz_peer_cred {
	__u32 size;
	__u32 flags;
	__s32 pid;		/* thread group id, 0 if not visible */
	__u32 uid;
	__u32 gid;
	__u32 reserved;
};

#define IPCZ_PEER_CRED_SIZE_VER0	24

/* IPCZ_IOC_REGION_INFO, on a region fd. flags: 0 in, READONLY out. */
struct ipcz_region_info {
	__u32 size;
	__u32 flags;
	__u64 length;		/* out: bytes, a multiple of the page size */
	__u64 id;		/* out: as shown by netlink */
};

#define IPCZ_REGION_INFO_SIZE_VER0	24

/*
 * IPCZ_IOC_REGION_DUP, on a region fd. flags: IPCZ_CLOEXEC,
 * IPCZ_REGION_READONLY. A read-only handle only makes read-only handles.
 */
struct ipcz_region_dup {
	__u32 size;
	__u32 flags;
	__s32 fd;		/* out: the new handle */
	__u32 reserved;
};

#define IPCZ_REGION_DUP_SIZE_VER0	16

#define IPCZ_IOC_MAGIC		0xC7

/* On a node fd (an open of /dev/ipcz). */
#define IPCZ_IOC_NODE_INFO	_IOWR(IPCZ_IOC_MAGIC, 0x00, struct ipcz_node_info)
#define IPCZ_IOC_GET_LIMITS	_IOWR(IPCZ_IOC_MAGIC, 0x01, struct ipcz_limits)
#define IPCZ_IOC_SET_LIMITS	_IOWR(IPCZ_IOC_MAGIC, 0x02, struct ipcz_limits)
#define IPCZ_IOC_TRANSPORT_PAIR	\
	_IOWR(IPCZ_IOC_MAGIC, 0x03, struct ipcz_transport_pair)
#define IPCZ_IOC_REGION_CREATE	\
	_IOWR(IPCZ_IOC_MAGIC, 0x04, struct ipcz_region_create)
#define IPCZ_IOC_LISTEN		_IOWR(IPCZ_IOC_MAGIC, 0x05, struct ipcz_listen)
#define IPCZ_IOC_CONNECT	_IOWR(IPCZ_IOC_MAGIC, 0x06, struct ipcz_connect)

/* On a transport fd. */
#define IPCZ_IOC_SEND		_IOWR(IPCZ_IOC_MAGIC, 0x10, struct ipcz_send)
#define IPCZ_IOC_RECV		_IOWR(IPCZ_IOC_MAGIC, 0x11, struct ipcz_recv)
#define IPCZ_IOC_RING		_IOWR(IPCZ_IOC_MAGIC, 0x12, struct ipcz_doorbell)
#define IPCZ_IOC_TAKE_DOORBELL	\
	_IOWR(IPCZ_IOC_MAGIC, 0x13, struct ipcz_doorbell)
#define IPCZ_IOC_PEER_CRED	_IOWR(IPCZ_IOC_MAGIC, 0x14, struct ipcz_peer_cred)

/* On a region fd. */
#define IPCZ_IOC_REGION_INFO	\
	_IOWR(IPCZ_IOC_MAGIC, 0x20, struct ipcz_region_info)
#define IPCZ_IOC_REGION_DUP	_IOWR(IPCZ_IOC_MAGIC, 0x21, struct ipcz_region_dup)

/* On a listener fd. */
#define IPCZ_IOC_ACCEPT		_IOWR(IPCZ_IOC_MAGIC, 0x30, struct ipcz_accept)

/*
 * Generic netlink family "ipcz", for introspection. Any process may read.
 *
 * IPCZ_CMD_GET_STATS (do): replies with one IPCZ_ATTR_STATS nest.
 * IPCZ_CMD_GET_NODES, _TRANSPORTS, _RENDEZVOUS, _REGIONS (dump): one
 * message per object, each with one IPCZ_ATTR_NODE, IPCZ_ATTR_TRANSPORT,
 * IPCZ_ATTR_RENDEZVOUS or IPCZ_ATTR_REGION nest.
 * Every reply message also carries IPCZ_ATTR_LIVE_OBJECTS.
 * __u64 attributes are 64-bit aligned with the family's *_PAD attribute.
 */
#define IPCZ_GENL_NAME		"ipcz"
#define IPCZ_GENL_VERSION	1

enum ipcz_cmd {
	IPCZ_CMD_UNSPEC,
	IPCZ_CMD_GET_STATS,
	IPCZ_CMD_GET_NODES,
	IPCZ_CMD_GET_TRANSPORTS,
	IPCZ_CMD_GET_RENDEZVOUS,
	IPCZ_CMD_GET_REGIONS,
	__IPCZ_CMD_MAX,
};

#define IPCZ_CMD_MAX	(__IPCZ_CMD_MAX - 1)

enum ipcz_attr {
	IPCZ_ATTR_UNSPEC,
	IPCZ_ATTR_PAD,
	IPCZ_ATTR_LIVE_OBJECTS,		/* u64 */
	IPCZ_ATTR_STATS,		/* nest of IPCZ_STATS_ATTR_* */
	IPCZ_ATTR_NODE,			/* nest of IPCZ_NODE_ATTR_* */
	IPCZ_ATTR_TRANSPORT,		/* nest of IPCZ_TRANSPORT_ATTR_* */
	IPCZ_ATTR_RENDEZVOUS,		/* nest of IPCZ_RENDEZVOUS_ATTR_* */
	IPCZ_ATTR_REGION,		/* nest of IPCZ_REGION_ATTR_* */
	__IPCZ_ATTR_MAX,
};

#define IPCZ_ATTR_MAX	(__IPCZ_ATTR_MAX - 1)

/* Counts of live objects by kind, and collector counters. All u64. */
enum ipcz_stats_attr {
	IPCZ_STATS_ATTR_UNSPEC,
	IPCZ_STATS_ATTR_PAD,
	IPCZ_STATS_ATTR_LIVE_OBJECTS,	/* the sum of the five below */
	IPCZ_STATS_ATTR_NODES,
	IPCZ_STATS_ATTR_TRANSPORTS,
	IPCZ_STATS_ATTR_REGIONS,
	IPCZ_STATS_ATTR_LISTENERS,
	IPCZ_STATS_ATTR_MESSAGES,	/* queued or being received */
	IPCZ_STATS_ATTR_INFLIGHT,	/* transport refs inside messages */
	IPCZ_STATS_ATTR_GC_RUNS,
	IPCZ_STATS_ATTR_GC_COLLECTED,	/* transports freed by the collector */
	__IPCZ_STATS_ATTR_MAX,
};

#define IPCZ_STATS_ATTR_MAX	(__IPCZ_STATS_ATTR_MAX - 1)

enum ipcz_node_attr {
	IPCZ_NODE_ATTR_UNSPEC,
	IPCZ_NODE_ATTR_PAD,
	IPCZ_NODE_ATTR_ID,			/* u64 */
	IPCZ_NODE_ATTR_PID,			/* u32, opener's tgid */
	IPCZ_NODE_ATTR_UID,			/* u32 */
	IPCZ_NODE_ATTR_GID,			/* u32 */
	IPCZ_NODE_ATTR_COMM,			/* string */
	IPCZ_NODE_ATTR_OPEN,			/* u32, 1 while the fd is open */
	IPCZ_NODE_ATTR_TRANSPORTS,		/* u32, live ends it created */
	IPCZ_NODE_ATTR_REGIONS,			/* u32 */
	IPCZ_NODE_ATTR_REGION_BYTES,		/* u64 */
	IPCZ_NODE_ATTR_LISTENERS,		/* u32 */
	IPCZ_NODE_ATTR_LIMIT_QUEUE_BYTES,	/* u64 */
	IPCZ_NODE_ATTR_LIMIT_QUEUE_MESSAGES,	/* u32 */
	IPCZ_NODE_ATTR_LIMIT_TRANSPORTS,	/* u32 */
	IPCZ_NODE_ATTR_LIMIT_REGIONS,		/* u32 */
	IPCZ_NODE_ATTR_LIMIT_LISTENERS,		/* u32 */
	IPCZ_NODE_ATTR_LIMIT_REGION_BYTES,	/* u64 */
	__IPCZ_NODE_ATTR_MAX,
};

#define IPCZ_NODE_ATTR_MAX	(__IPCZ_NODE_ATTR_MAX - 1)

enum ipcz_transport_attr {
	IPCZ_TRANSPORT_ATTR_UNSPEC,
	IPCZ_TRANSPORT_ATTR_PAD,
	IPCZ_TRANSPORT_ATTR_ID,			/* u64 */
	IPCZ_TRANSPORT_ATTR_PEER_ID,		/* u64, absent once closed */
	IPCZ_TRANSPORT_ATTR_NODE_ID,		/* u64, the creating node */
	IPCZ_TRANSPORT_ATTR_PEER_CLOSED,	/* u32, 0 or 1 */
	IPCZ_TRANSPORT_ATTR_QUEUE_MESSAGES,	/* u32, waiting to be received */
	IPCZ_TRANSPORT_ATTR_QUEUE_BYTES,	/* u64 */
	IPCZ_TRANSPORT_ATTR_LIMIT_MESSAGES,	/* u32 */
	IPCZ_TRANSPORT_ATTR_LIMIT_BYTES,	/* u64 */
	IPCZ_TRANSPORT_ATTR_SENT_MESSAGES,	/* u64 */
	IPCZ_TRANSPORT_ATTR_SENT_BYTES,		/* u64 */
	IPCZ_TRANSPORT_ATTR_RECV_MESSAGES,	/* u64 */
	IPCZ_TRANSPORT_ATTR_RECV_BYTES,		/* u64 */
	IPCZ_TRANSPORT_ATTR_RINGS,		/* u64, doorbell rings received */
	IPCZ_TRANSPORT_ATTR_DOORBELL,		/* u32, 1 if pending */
	IPCZ_TRANSPORT_ATTR_INFLIGHT,		/* u32, copies inside messages */
	IPCZ_TRANSPORT_ATTR_PEER_PID,		/* u32 */
	IPCZ_TRANSPORT_ATTR_PEER_UID,		/* u32 */
	IPCZ_TRANSPORT_ATTR_PEER_GID,		/* u32 */
	__IPCZ_TRANSPORT_ATTR_MAX,
};

#define IPCZ_TRANSPORT_ATTR_MAX	(__IPCZ_TRANSPORT_ATTR_MAX - 1)

enum ipcz_rendezvous_attr {
	IPCZ_RENDEZVOUS_ATTR_UNSPEC,
	IPCZ_RENDEZVOUS_ATTR_PAD,
	IPCZ_RENDEZVOUS_ATTR_NAME,		/* binary, name_len bytes */
	IPCZ_RENDEZVOUS_ATTR_NODE_ID,		/* u64 */
	IPCZ_RENDEZVOUS_ATTR_UID,		/* u32 */
	IPCZ_RENDEZVOUS_ATTR_GID,		/* u32 */
	IPCZ_RENDEZVOUS_ATTR_MODE,		/* u32 */
	IPCZ_RENDEZVOUS_ATTR_PENDING,		/* u32 */
	IPCZ_RENDEZVOUS_ATTR_BACKLOG,		/* u32 */
	IPCZ_RENDEZVOUS_ATTR_ID,		/* u64 */
	__IPCZ_RENDEZVOUS_ATTR_MAX,
};

#define IPCZ_RENDEZVOUS_ATTR_MAX	(__IPCZ_RENDEZVOUS_ATTR_MAX - 1)

enum ipcz_region_attr {
	IPCZ_REGION_ATTR_UNSPEC,
	IPCZ_REGION_ATTR_PAD,
	IPCZ_REGION_ATTR_ID,			/* u64 */
	IPCZ_REGION_ATTR_NODE_ID,		/* u64, the creating node */
	IPCZ_REGION_ATTR_SIZE,			/* u64 */
	IPCZ_REGION_ATTR_HANDLES,		/* u32, handles incl. in flight */
	IPCZ_REGION_ATTR_MAPPINGS,		/* u32 */
	__IPCZ_REGION_ATTR_MAX,
};

#define IPCZ_REGION_ATTR_MAX	(__IPCZ_REGION_ATTR_MAX - 1)

#endif /* _UAPI_LINUX_IPCZ_H */
