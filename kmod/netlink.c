// SPDX-License-Identifier: GPL-2.0
/*
 * The "ipcz" generic netlink family: a read-only view of every live object
 * for tools such as ipczctl. Dumps walk the registry lists in id order and
 * resume after the last id they sent.
 */
#include <linux/pid.h>
#include <linux/user_namespace.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "internal.h"

static struct genl_family ipcz_genl_family;

static int ipcz_nl_put_u64(struct sk_buff *skb, int type, u64 value, int pad)
{
	return nla_put_u64_64bit(skb, type, value, pad);
}

static int ipcz_nl_put_live(struct sk_buff *skb)
{
	return ipcz_nl_put_u64(skb, IPCZ_ATTR_LIVE_OBJECTS,
			       ipcz_live_objects(), IPCZ_ATTR_PAD);
}

static int ipcz_nl_put_creds(struct sk_buff *skb, const struct ipcz_creds *c,
			     int pid_attr, int uid_attr, int gid_attr)
{
	struct user_namespace *ns = current_user_ns();

	if (nla_put_u32(skb, pid_attr, pid_vnr(c->pid)) ||
	    nla_put_u32(skb, uid_attr, from_kuid_munged(ns, c->uid)) ||
	    nla_put_u32(skb, gid_attr, from_kgid_munged(ns, c->gid)))
		return -EMSGSIZE;
	return 0;
}

static int ipcz_nl_fill_node(struct sk_buff *skb, struct list_head *entry)
{
	struct ipcz_node *node = list_entry(entry, struct ipcz_node,
					    registry_entry);
	struct ipcz_node_limits limits;
	u32 transports, regions, listeners;
	u64 region_bytes;
	bool open;

	spin_lock(&node->lock);
	limits = node->limits;
	transports = node->transports;
	regions = node->regions;
	listeners = node->listeners;
	region_bytes = node->region_bytes;
	open = node->open;
	spin_unlock(&node->lock);

	if (ipcz_nl_put_u64(skb, IPCZ_NODE_ATTR_ID, node->id,
			    IPCZ_NODE_ATTR_PAD) ||
	    ipcz_nl_put_creds(skb, &node->owner, IPCZ_NODE_ATTR_PID,
			      IPCZ_NODE_ATTR_UID, IPCZ_NODE_ATTR_GID) ||
	    nla_put_string(skb, IPCZ_NODE_ATTR_COMM, node->comm) ||
	    nla_put_u32(skb, IPCZ_NODE_ATTR_OPEN, open) ||
	    nla_put_u32(skb, IPCZ_NODE_ATTR_TRANSPORTS, transports) ||
	    nla_put_u32(skb, IPCZ_NODE_ATTR_REGIONS, regions) ||
	    ipcz_nl_put_u64(skb, IPCZ_NODE_ATTR_REGION_BYTES, region_bytes,
			    IPCZ_NODE_ATTR_PAD) ||
	    nla_put_u32(skb, IPCZ_NODE_ATTR_LISTENERS, listeners) ||
	    ipcz_nl_put_u64(skb, IPCZ_NODE_ATTR_LIMIT_QUEUE_BYTES,
			    limits.queue_bytes, IPCZ_NODE_ATTR_PAD) ||
	    nla_put_u32(skb, IPCZ_NODE_ATTR_LIMIT_QUEUE_MESSAGES,
			limits.queue_messages) ||
	    nla_put_u32(skb, IPCZ_NODE_ATTR_LIMIT_TRANSPORTS,
			limits.max_transports) ||
	    nla_put_u32(skb, IPCZ_NODE_ATTR_LIMIT_REGIONS,
			limits.max_regions) ||
	    nla_put_u32(skb, IPCZ_NODE_ATTR_LIMIT_LISTENERS,
			limits.max_listeners) ||
	    ipcz_nl_put_u64(skb, IPCZ_NODE_ATTR_LIMIT_REGION_BYTES,
			    limits.region_bytes, IPCZ_NODE_ATTR_PAD))
		return -EMSGSIZE;
	return 0;
}

/* A consistent copy of what a dump shows of a transport end. */
struct ipcz_nl_transport {
	u64 peer_id;
	bool peer_open;
	u32 queue_count;
	u64 queue_bytes;
	u64 sent_messages, sent_bytes, recv_messages, recv_bytes;
	u64 rings, rings_total;
	unsigned long inflight;
};

static void ipcz_nl_snapshot_transport(struct ipcz_transport *t,
				       struct ipcz_nl_transport *s)
{
	struct ipcz_transport *peer;

	spin_lock(&t->pair->lock);
	peer = t->pair->end[!t->side];
	s->peer_open = peer;
	s->peer_id = peer ? peer->id : 0;
	s->queue_count = t->queue.count;
	s->queue_bytes = t->queue.bytes;
	s->sent_messages = t->sent_messages;
	s->sent_bytes = t->sent_bytes;
	s->recv_messages = t->recv_messages;
	s->recv_bytes = t->recv_bytes;
	s->rings = t->rings;
	s->rings_total = t->rings_total;
	spin_unlock(&t->pair->lock);
	/* Read without the collector's lock: a statistic, not a decision. */
	s->inflight = READ_ONCE(t->inflight);
}

static int ipcz_nl_fill_transport(struct sk_buff *skb,
				  struct list_head *entry)
{
	struct ipcz_transport *t = list_entry(entry, struct ipcz_transport,
					      registry_entry);
	struct ipcz_nl_transport s;
	const int pad = IPCZ_TRANSPORT_ATTR_PAD;

	ipcz_nl_snapshot_transport(t, &s);
	if (ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_ID, t->id, pad) ||
	    (s.peer_open &&
	     ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_PEER_ID, s.peer_id,
			     pad)) ||
	    ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_NODE_ID, t->node->id,
			    pad) ||
	    nla_put_u32(skb, IPCZ_TRANSPORT_ATTR_PEER_CLOSED, !s.peer_open) ||
	    nla_put_u32(skb, IPCZ_TRANSPORT_ATTR_QUEUE_MESSAGES,
			s.queue_count) ||
	    ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_QUEUE_BYTES,
			    s.queue_bytes, pad) ||
	    nla_put_u32(skb, IPCZ_TRANSPORT_ATTR_LIMIT_MESSAGES,
			t->queue.limit_messages) ||
	    ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_LIMIT_BYTES,
			    t->queue.limit_bytes, pad) ||
	    ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_SENT_MESSAGES,
			    s.sent_messages, pad) ||
	    ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_SENT_BYTES,
			    s.sent_bytes, pad) ||
	    ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_RECV_MESSAGES,
			    s.recv_messages, pad) ||
	    ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_RECV_BYTES,
			    s.recv_bytes, pad) ||
	    ipcz_nl_put_u64(skb, IPCZ_TRANSPORT_ATTR_RINGS, s.rings_total,
			    pad) ||
	    nla_put_u32(skb, IPCZ_TRANSPORT_ATTR_DOORBELL, s.rings != 0) ||
	    nla_put_u32(skb, IPCZ_TRANSPORT_ATTR_INFLIGHT, s.inflight) ||
	    ipcz_nl_put_creds(skb, &t->peer_creds,
			      IPCZ_TRANSPORT_ATTR_PEER_PID,
			      IPCZ_TRANSPORT_ATTR_PEER_UID,
			      IPCZ_TRANSPORT_ATTR_PEER_GID))
		return -EMSGSIZE;
	return 0;
}

static int ipcz_nl_fill_listener(struct sk_buff *skb, struct list_head *entry)
{
	struct ipcz_listener *l = list_entry(entry, struct ipcz_listener,
					     registry_entry);
	struct user_namespace *ns = current_user_ns();
	u32 pending;

	spin_lock(&l->lock);
	pending = l->npending;
	spin_unlock(&l->lock);
	if (ipcz_nl_put_u64(skb, IPCZ_RENDEZVOUS_ATTR_ID, l->id,
			    IPCZ_RENDEZVOUS_ATTR_PAD) ||
	    nla_put(skb, IPCZ_RENDEZVOUS_ATTR_NAME, l->name_len, l->name) ||
	    ipcz_nl_put_u64(skb, IPCZ_RENDEZVOUS_ATTR_NODE_ID, l->node->id,
			    IPCZ_RENDEZVOUS_ATTR_PAD) ||
	    nla_put_u32(skb, IPCZ_RENDEZVOUS_ATTR_UID,
			from_kuid_munged(ns, l->uid)) ||
	    nla_put_u32(skb, IPCZ_RENDEZVOUS_ATTR_GID,
			from_kgid_munged(ns, l->gid)) ||
	    nla_put_u32(skb, IPCZ_RENDEZVOUS_ATTR_MODE, l->mode) ||
	    nla_put_u32(skb, IPCZ_RENDEZVOUS_ATTR_PENDING, pending) ||
	    nla_put_u32(skb, IPCZ_RENDEZVOUS_ATTR_BACKLOG, l->backlog))
		return -EMSGSIZE;
	return 0;
}

static int ipcz_nl_fill_region(struct sk_buff *skb, struct list_head *entry)
{
	struct ipcz_region *r = list_entry(entry, struct ipcz_region,
					   registry_entry);

	if (ipcz_nl_put_u64(skb, IPCZ_REGION_ATTR_ID, r->id,
			    IPCZ_REGION_ATTR_PAD) ||
	    ipcz_nl_put_u64(skb, IPCZ_REGION_ATTR_NODE_ID, r->node->id,
			    IPCZ_REGION_ATTR_PAD) ||
	    ipcz_nl_put_u64(skb, IPCZ_REGION_ATTR_SIZE, r->size,
			    IPCZ_REGION_ATTR_PAD) ||
	    nla_put_u32(skb, IPCZ_REGION_ATTR_HANDLES,
			atomic_read(&r->handles)) ||
	    nla_put_u32(skb, IPCZ_REGION_ATTR_MAPPINGS,
			atomic_read(&r->mappings)))
		return -EMSGSIZE;
	return 0;
}

static u64 ipcz_nl_node_id(struct list_head *entry)
{
	return list_entry(entry, struct ipcz_node, registry_entry)->id;
}

static u64 ipcz_nl_transport_id(struct list_head *entry)
{
	return list_entry(entry, struct ipcz_transport, registry_entry)->id;
}

static u64 ipcz_nl_listener_id(struct list_head *entry)
{
	return list_entry(entry, struct ipcz_listener, registry_entry)->id;
}

static u64 ipcz_nl_region_id(struct list_head *entry)
{
	return list_entry(entry, struct ipcz_region, registry_entry)->id;
}

/* How to dump one kind of object. */
struct ipcz_nl_kind {
	struct list_head *list;
	u8 cmd;
	int attr;
	u64 (*id)(struct list_head *entry);
	int (*fill)(struct sk_buff *skb, struct list_head *entry);
};

static const struct ipcz_nl_kind ipcz_nl_kinds[] = {
	{ &ipcz_registry_nodes, IPCZ_CMD_GET_NODES, IPCZ_ATTR_NODE,
	  ipcz_nl_node_id, ipcz_nl_fill_node },
	{ &ipcz_registry_transports, IPCZ_CMD_GET_TRANSPORTS,
	  IPCZ_ATTR_TRANSPORT, ipcz_nl_transport_id, ipcz_nl_fill_transport },
	{ &ipcz_registry_listeners, IPCZ_CMD_GET_RENDEZVOUS,
	  IPCZ_ATTR_RENDEZVOUS, ipcz_nl_listener_id, ipcz_nl_fill_listener },
	{ &ipcz_registry_regions, IPCZ_CMD_GET_REGIONS, IPCZ_ATTR_REGION,
	  ipcz_nl_region_id, ipcz_nl_fill_region },
};

/* Adds one object's message; false if the skb is full. */
static bool ipcz_nl_dump_one(struct sk_buff *skb, struct netlink_callback *cb,
			     const struct ipcz_nl_kind *kind,
			     struct list_head *entry)
{
	struct nlattr *nest;
	void *hdr;

	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &ipcz_genl_family, NLM_F_MULTI, kind->cmd);
	if (!hdr)
		return false;
	nest = nla_nest_start(skb, kind->attr);
	if (!nest || kind->fill(skb, entry))
		goto cancel;
	nla_nest_end(skb, nest);
	if (ipcz_nl_put_live(skb))
		goto cancel;
	genlmsg_end(skb, hdr);
	return true;

cancel:
	genlmsg_cancel(skb, hdr);
	return false;
}

static int ipcz_nl_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	const struct ipcz_nl_kind *kind = NULL;
	struct list_head *entry;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ipcz_nl_kinds); i++)
		if (ipcz_nl_kinds[i].cmd == info->op.cmd)
			kind = &ipcz_nl_kinds[i];
	if (!kind)
		return -EOPNOTSUPP;

	mutex_lock(&ipcz_registry_lock);
	list_for_each(entry, kind->list) {
		u64 id = kind->id(entry);

		if (id <= cb->args[0])
			continue;
		if (!ipcz_nl_dump_one(skb, cb, kind, entry))
			break;
		cb->args[0] = id;
	}
	mutex_unlock(&ipcz_registry_lock);
	return skb->len;
}

static int ipcz_nl_put_stats(struct sk_buff *skb)
{
	static const struct {
		int attr;
		enum ipcz_kind kind;
	} counts[] = {
		{ IPCZ_STATS_ATTR_NODES, IPCZ_KIND_NODE },
		{ IPCZ_STATS_ATTR_TRANSPORTS, IPCZ_KIND_TRANSPORT },
		{ IPCZ_STATS_ATTR_REGIONS, IPCZ_KIND_REGION },
		{ IPCZ_STATS_ATTR_LISTENERS, IPCZ_KIND_LISTENER },
		{ IPCZ_STATS_ATTR_MESSAGES, IPCZ_KIND_MESSAGE },
	};
	const int pad = IPCZ_STATS_ATTR_PAD;
	struct nlattr *nest;
	size_t i;

	nest = nla_nest_start(skb, IPCZ_ATTR_STATS);
	if (!nest)
		return -EMSGSIZE;
	if (ipcz_nl_put_u64(skb, IPCZ_STATS_ATTR_LIVE_OBJECTS,
			    ipcz_live_objects(), pad))
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(counts); i++)
		if (ipcz_nl_put_u64(skb, counts[i].attr,
				    ipcz_kind_count(counts[i].kind), pad))
			return -EMSGSIZE;
	if (ipcz_nl_put_u64(skb, IPCZ_STATS_ATTR_INFLIGHT,
			    ipcz_gc_total_inflight(), pad) ||
	    ipcz_nl_put_u64(skb, IPCZ_STATS_ATTR_GC_RUNS, ipcz_gc_runs(), pad) ||
	    ipcz_nl_put_u64(skb, IPCZ_STATS_ATTR_GC_COLLECTED,
			    ipcz_gc_collected(), pad))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return ipcz_nl_put_live(skb);
}

static int ipcz_nl_get_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *reply;
	void *hdr;

	/*
	 * Collect first, but do not wait for the releases that follow: this
	 * runs under the genetlink locks, which a released file may want.
	 * /sys/module/ipcz/parameters/live_objects gives the settled count.
	 */
	ipcz_gc_run(NULL);
	reply = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!reply)
		return -ENOMEM;
	hdr = genlmsg_put_reply(reply, info, &ipcz_genl_family, 0,
				IPCZ_CMD_GET_STATS);
	if (!hdr || ipcz_nl_put_stats(reply)) {
		nlmsg_free(reply);
		return -EMSGSIZE;
	}
	genlmsg_end(reply, hdr);
	return genlmsg_reply(reply, info);
}

static const struct genl_small_ops ipcz_nl_ops[] = {
	{ .cmd = IPCZ_CMD_GET_STATS, .doit = ipcz_nl_get_stats },
	{ .cmd = IPCZ_CMD_GET_NODES, .dumpit = ipcz_nl_dump },
	{ .cmd = IPCZ_CMD_GET_TRANSPORTS, .dumpit = ipcz_nl_dump },
	{ .cmd = IPCZ_CMD_GET_RENDEZVOUS, .dumpit = ipcz_nl_dump },
	{ .cmd = IPCZ_CMD_GET_REGIONS, .dumpit = ipcz_nl_dump },
};

static struct genl_family ipcz_genl_family __ro_after_init = {
	.name = IPCZ_GENL_NAME,
	.version = IPCZ_GENL_VERSION,
	.module = THIS_MODULE,
	.small_ops = ipcz_nl_ops,
	.n_small_ops = ARRAY_SIZE(ipcz_nl_ops),
};

int ipcz_netlink_init(void)
{
	return genl_register_family(&ipcz_genl_family);
}

void ipcz_netlink_exit(void)
{
	genl_unregister_family(&ipcz_genl_family);
}
