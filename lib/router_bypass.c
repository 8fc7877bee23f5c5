// SPDX-License-Identifier: MIT
/*
 * Proxy bypass across three nodes, driven by messages (see
 * router_bypass.h and Documentation/route-reduction.rst). Every cut is
 * taken under the lock of the router whose link changes, and every value
 * from a peer is checked against what this router knows before use.
 */
#include "lib/router_bypass.h"

#include <stdlib.h>
#include <string.h>

#include "lib/local_router_link.h"
#include "lib/node_link.h"
#include "lib/remote_router_link.h"
#include "lib/router.h"

/* Cuts stay far below the top of the 64-bit range, as sequence starts do. */
#define BYPASS_MAX_CUT (UINT64_C(1) << 62)

enum bypass_phase {
	PHASE_NONE,
	PHASE_REQUESTED,	/* as a proxy: asked the outward peer */
	PHASE_ACCEPTED,		/* as a proxy: handed the link inward */
	PHASE_DONE,		/* as a proxy: cuts known, draining */
	PHASE_FAILED,		/* as a proxy: stays one */
	PHASE_LOCAL,		/* as a proxy: gave local X a link to Z */
	PHASE_BRIDGE,		/* as a bridge's far end: the same */
	PHASE_PAIRED,		/* as a bridge end: the other end leads */
};

struct router_bypass {
	uint8_t phase;
	/*
	 * As an outward peer: a request was declined only because our edge
	 * was changing; ask the proxy to retry once it is stable.
	 */
	uint8_t retry_owed;
	uint64_t outward_cut;		/* n: what X sent us */
	/* As an outward peer: the link prepared for the inward peer. */
	struct router_link *pending;
};

static void start_decay(struct route_edge *edge, struct route_edge_decay *decay,
			uint64_t to, uint64_t from)
{
	route_edge_begin_decay(edge, decay);
	route_edge_set_cuts(edge, to, from);
}

static void deactivate_and_unref(struct router_link *link)
{
	if (link) {
		link->ops->deactivate(link);
		router_link_unref(link);
	}
}

static bool route_ending_locked(const struct router *router)
{
	return router->disconnected ||
	       seq_queue_final_known(&router->inbound) ||
	       seq_queue_final_known(&router->outbound);
}

static bool is_remote(const struct router_link *link)
{
	return link && remote_router_link_is_remote(link);
}

/* Whether this router never took part in a bypass as a proxy. */
static bool bypass_idle_locked(const struct router *router)
{
	return !router->bypass || (router->bypass->phase == PHASE_NONE &&
				   !router->bypass->pending);
}

/* Whether `router` is a proxy between two remote links, both stable. */
static bool is_bypassable_locked(const struct router *router)
{
	return router->inward && !router->bridge &&
	       bypass_idle_locked(router) &&
	       !route_ending_locked(router) &&
	       route_edge_is_stable(&router->outward) &&
	       route_edge_is_stable(router->inward) &&
	       is_remote(router->outward.primary) &&
	       router_link_is_central(router->outward.primary) &&
	       is_remote(router->inward->primary) &&
	       router->inward->primary->type == LINK_PERIPHERAL_INWARD;
}

static void send(struct router_link *link, enum op_context ctx,
		 uint32_t op, const uint8_t *name, uint64_t new_sublink,
		 uint64_t cut)
{
	struct bypass_message message = {
		.op = op,
		.new_sublink = new_sublink,
		.cut = cut,
	};
	uint64_t sublink;
	struct node_link *node_link = remote_router_link_node_link(link);

	if (!node_link ||
	    !remote_router_link_sublink_on(link, node_link, &sublink))
		return;
	if (name)
		memcpy(message.name, name, sizeof(message.name));
	node_link_send_bypass(node_link, ctx, sublink, &message);
}

static bool is_bypassable_with_local_peer_locked(const struct router *router);
static void start_with_local_peer(struct router *router, enum op_context ctx);

void router_bypass_maybe_start(struct router *router, enum op_context ctx)
{
	struct router_link *outward, *inward;
	uint8_t outward_name[16], inward_name[16];
	struct node_link *outward_node, *inward_node;
	struct router_bypass *bypass;
	uint64_t inward_sublink = 0;
	bool start, same_node;

	ipcz_lock(&router->lock);
	if (is_bypassable_with_local_peer_locked(router)) {
		ipcz_unlock(&router->lock);
		start_with_local_peer(router, ctx);
		return;
	}
	if (!is_bypassable_locked(router)) {
		ipcz_unlock(&router->lock);
		return;
	}
	outward = router->outward.primary;
	inward = router->inward->primary;
	router_link_ref(outward);
	router_link_ref(inward);
	ipcz_unlock(&router->lock);

	/*
	 * Between three named nodes; or with both neighbours on one other
	 * node, over one node link, where they are joined locally.
	 */
	outward_node = remote_router_link_node_link(outward);
	inward_node = remote_router_link_node_link(inward);
	start = remote_router_link_peer_name(outward, outward_name) &&
		remote_router_link_peer_name(inward, inward_name);
	same_node = start && memcmp(outward_name, inward_name,
				    sizeof(inward_name)) == 0;
	if (same_node)
		start = outward_node == inward_node &&
			remote_router_link_sublink_on(inward, inward_node,
						      &inward_sublink);
	bypass = start ? calloc(1, sizeof(*bypass)) : NULL;
	if (bypass) {
		ipcz_lock(&router->lock);
		start = is_bypassable_locked(router) &&
			router->outward.primary == outward &&
			router->inward->primary == inward;
		if (start && !router->bypass) {
			router->bypass = bypass;
			bypass = NULL;
		}
		if (start)
			router->bypass->phase = PHASE_REQUESTED;
		ipcz_unlock(&router->lock);
		free(bypass);
		if (start && same_node)
			send(outward, ctx, BYPASS_REQUEST_LOCAL, NULL,
			     inward_sublink, 0);
		else if (start)
			send(outward, ctx, BYPASS_REQUEST, inward_name, 0, 0);
	}
	router_link_unref(outward);
	router_link_unref(inward);
}

/*
 * ---- handing X a link to Z's node: the proxy's local peer, or a bridge's
 * ---- local peer (upstream's BypassPeerWithLink)
 *
 * The router on this node that stands between X (local) and Z (remote),
 * the "owner", registers a new central route for X on its link to Z's
 * node, starts every edge it changes decaying at X's cut k, and sends
 * LINK_LOCAL{route, k} to Z. Z answers CUT{m} (its own cut) or REFUSED.
 */

/*
 * The edges such a change makes decay. Each carries X's parcels below k
 * one way and Z's below m the other: a `k_out` edge sends below k (to =
 * k, from = m), the others send below m (to = m, from = k).
 */
struct cut_plan {
	struct route_edge *edges[5];
	bool k_out[5];
	int count;
};

static void plan_add(struct cut_plan *plan, struct route_edge *edge,
		     bool k_out)
{
	plan->edges[plan->count] = edge;
	plan->k_out[plan->count] = k_out;
	plan->count++;
}

/* Starts every edge decaying with k's cut set; m's stays unknown. */
static void plan_start(const struct cut_plan *plan,
		       struct route_edge_decay **decays, uint64_t k)
{
	int i;

	for (i = 0; i < plan->count; i++) {
		start_decay(plan->edges[i], decays[i],
			    plan->k_out[i] ? k : SEQ_NONE,
			    plan->k_out[i] ? SEQ_NONE : k);
		decays[i] = NULL;
	}
}

static void plan_finish(const struct cut_plan *plan, uint64_t k, uint64_t m)
{
	int i;

	for (i = 0; i < plan->count; i++)
		route_edge_set_cuts(plan->edges[i], plan->k_out[i] ? k : m,
				    plan->k_out[i] ? m : k);
}

/* Puts a decaying link whose cuts were never set back as primary. */
static void undo_decay(struct route_edge *edge)
{
	if (!edge->primary && edge->decay)
		route_edge_set_primary(edge, route_edge_release_decaying(edge));
}

static void plan_undo(const struct cut_plan *plan)
{
	int i;

	for (i = 0; i < plan->count; i++)
		undo_decay(plan->edges[i]);
}

static bool alloc_decays(struct route_edge_decay **decays, int count)
{
	bool ok = true;
	int i;

	for (i = 0; i < count; i++) {
		decays[i] = route_edge_decay_alloc();
		ok = ok && decays[i];
	}
	return ok;
}

static void free_decays(struct route_edge_decay **decays, int count)
{
	int i;

	for (i = 0; i < count; i++)
		free(decays[i]);
}

/* The router's bypass state, taking `*spare` if it had none. */
static struct router_bypass *bypass_state_locked(struct router *router,
						 struct router_bypass **spare)
{
	if (!router->bypass) {
		router->bypass = *spare;
		*spare = NULL;
	}
	return router->bypass;
}

/*
 * A new central route for `router` on `node_link`, registered before any
 * message names it: a new reference to its link, or NULL.
 */
static struct router_link *new_central_route(struct node_link *node_link,
					     struct router *router,
					     uint64_t *sublink)
{
	struct router_link *link;

	*sublink = node_link_allocate_sublink(node_link);
	link = remote_router_link_create(node_link, *sublink, LINK_CENTRAL,
					 node_link_side(node_link));
	if (link && !node_link_add_route(node_link, *sublink, router, link)) {
		router_link_unref(link);
		link = NULL;
	}
	return link;
}

/* What a handover needs before its routers are locked. */
struct handover {
	struct router *owner;		/* stays until Z answers */
	struct router *peer;		/* X, which gets the new link */
	struct router_link *remote;	/* the owner's link towards Z */
	struct router_link *new_link;
	uint64_t sublink;
	struct route_edge_decay *decays[5];
	struct router_bypass *spares[2];
};

/* Allocates what `count` decays need and registers X's new route. */
static bool handover_prepare(struct handover *h, int count)
{
	bool ok = alloc_decays(h->decays, count);

	h->spares[0] = calloc(1, sizeof(*h->spares[0]));
	h->spares[1] = calloc(1, sizeof(*h->spares[1]));
	if (!ok || !h->spares[0] || !h->spares[1])
		return false;
	h->new_link = new_central_route(remote_router_link_node_link(h->remote),
					h->peer, &h->sublink);
	return h->new_link != NULL;
}

/*
 * With the routers locked and the change allowed: takes k, starts the
 * plan's decays, makes X wait for its new link (its parcels from k on)
 * and the owner wait for Z in `phase`.
 */
static uint64_t handover_begin_locked(struct handover *h,
				      const struct cut_plan *plan,
				      uint8_t phase)
{
	uint64_t k = seq_queue_length(&h->peer->outbound);

	plan_start(plan, h->decays, k);
	bypass_state_locked(h->peer, &h->spares[0])->pending = h->new_link;
	router_link_ref(h->new_link);
	bypass_state_locked(h->owner, &h->spares[1])->phase = phase;
	h->owner->bypass->outward_cut = k;
	return k;
}

static bool is_disconnected(struct router *router)
{
	bool disconnected;

	ipcz_lock(&router->lock);
	disconnected = router->disconnected;
	ipcz_unlock(&router->lock);
	return disconnected;
}

/*
 * After the routers were unlocked: sends LINK_LOCAL if the change began,
 * else forgets X's route, and releases what the handover held.
 */
static void handover_end(struct handover *h, enum op_context ctx, bool begun,
			 uint64_t k)
{
	/* No link towards Z if the handover stopped before finding one. */
	struct node_link *to_z =
		h->remote ? remote_router_link_node_link(h->remote) : NULL;

	if (!begun && h->new_link)
		node_link_remove_route(to_z, h->sublink, h->new_link);
	free_decays(h->decays, 5);
	free(h->spares[0]);
	free(h->spares[1]);
	router_link_unref(h->new_link);
	if (begun)
		send(h->remote, ctx, BYPASS_LINK_LOCAL, NULL, h->sublink, k);
	/*
	 * X's route may have broken since X got the prepared link: its
	 * disconnection over that link then went ahead of LINK_LOCAL, found
	 * no route at Z's node and was lost. Sent again now, it follows
	 * LINK_LOCAL on the same node link and Z hears it. (X breaking after
	 * this look sends its own, after LINK_LOCAL too.)
	 */
	if (begun && is_disconnected(h->peer))
		node_link_send_route_disconnected(to_z, ctx, h->sublink);
	router_link_unref(h->remote);
	router_unref(h->peer);
}

/*
 * Z's answer, the routers locked and the owner still waiting for it: on
 * CUT{m} every edge of the plan gets its cuts and X its new link; on
 * REFUSED everything is undone (no decay had its cuts, so nothing went
 * either way) and `*refused` gets X's prepared link to release. `from_z`
 * is what the owner already received from Z: m cannot be below it.
 */
static enum bypass_result handover_answer_locked(const struct cut_plan *plan,
						 struct router *owner,
						 struct router *peer,
						 const struct bypass_message *m,
						 uint64_t from_z,
						 struct router_link **refused)
{
	if (m->op == BYPASS_REFUSED) {
		plan_undo(plan);
		*refused = router_bypass_take_pending(peer);
		owner->bypass->phase = PHASE_FAILED;
		return BYPASS_OK;
	}
	if (m->cut > BYPASS_MAX_CUT || from_z > m->cut)
		return BYPASS_INVALID;
	plan_finish(plan, owner->bypass->outward_cut, m->cut);
	route_edge_set_primary(&peer->outward,
			       router_bypass_take_pending(peer));
	owner->bypass->phase = PHASE_DONE;
	return BYPASS_OK;
}

/* ---- a proxy whose outward peer X is on its own node ---- */

static bool is_bypassable_with_local_peer_locked(const struct router *router)
{
	return router->inward && !router->bridge &&
	       bypass_idle_locked(router) && !route_ending_locked(router) &&
	       route_edge_is_stable(&router->outward) &&
	       route_edge_is_stable(router->inward) &&
	       router->outward.primary &&
	       router_link_is_central(router->outward.primary) &&
	       !is_remote(router->outward.primary) &&
	       is_remote(router->inward->primary) &&
	       router->inward->primary->type == LINK_PERIPHERAL_INWARD;
}

static bool links_to_locked(struct router *a, struct router *b)
{
	struct router *peer = route_edge_local_peer(&a->outward);

	router_unref(peer);
	return peer == b;
}

/* X's side of the bypass: stable, open, terminal or proxy, not busy. */
static bool may_take_new_link_locked(struct router *router)
{
	return !router->bridge && route_edge_is_stable(&router->outward) &&
	       !route_ending_locked(router) &&
	       !(router->bypass && router->bypass->pending);
}

/* X's parcels below k leave through the proxy; Z's below m come back. */
static void plan_local(struct cut_plan *plan, struct router *proxy,
		       struct router *peer)
{
	plan->count = 0;
	plan_add(plan, &peer->outward, true);
	plan_add(plan, &proxy->outward, false);
	plan_add(plan, proxy->inward, true);
}

static bool may_hand_over_local_locked(struct handover *h)
{
	return is_bypassable_with_local_peer_locked(h->owner) &&
	       h->owner->inward->primary == h->remote &&
	       links_to_locked(h->owner, h->peer) &&
	       links_to_locked(h->peer, h->owner) &&
	       may_take_new_link_locked(h->peer) &&
	       router_link_try_lock(h->owner->outward.primary);
}

static void start_with_local_peer(struct router *router, enum op_context ctx)
{
	struct handover h = { .owner = router };
	struct cut_plan plan;
	uint64_t k = 0;
	bool ok;

	ipcz_lock(&router->lock);
	ok = is_bypassable_with_local_peer_locked(router);
	if (ok) {
		h.peer = route_edge_local_peer(&router->outward);
		h.remote = router->inward->primary;
		router_link_ref(h.remote);
	}
	ipcz_unlock(&router->lock);
	ok = ok && h.peer && h.peer != router && handover_prepare(&h, 3);
	if (ok) {
		ipcz_lock_pair(&router->lock, &h.peer->lock);
		ok = may_hand_over_local_locked(&h);
		if (ok) {
			plan_local(&plan, router, h.peer);
			k = handover_begin_locked(&h, &plan, PHASE_LOCAL);
		}
		ipcz_unlock_pair(&router->lock, &h.peer->lock);
	}
	handover_end(&h, ctx, ok, k);
}

static bool local_phase(struct router *router)
{
	bool local;

	ipcz_lock(&router->lock);
	local = router->bypass && router->bypass->phase == PHASE_LOCAL;
	ipcz_unlock(&router->lock);
	return local;
}

/* Z answered a BYPASS_LINK_LOCAL: finish it, or undo it. */
static enum bypass_result accept_local_answer(struct router *router,
					      struct router_link *link,
					      enum op_context ctx,
					      const struct bypass_message *m)
{
	struct router_link *refused = NULL, *old_link = NULL;
	struct router *peer = NULL;
	enum bypass_result result;
	struct cut_plan plan;

	ipcz_lock(&router->lock);
	if (router->bypass && router->bypass->phase == PHASE_LOCAL &&
	    router->inward &&
	    route_edge_decaying_link(router->inward) == link) {
		old_link = route_edge_decaying_link(&router->outward);
		peer = old_link ? old_link->ops->get_local_peer(old_link) :
				  NULL;
	}
	ipcz_unlock(&router->lock);
	if (!peer)
		return router->disconnected ? BYPASS_OK : BYPASS_INVALID;

	ipcz_lock_pair(&router->lock, &peer->lock);
	if (router->bypass->phase != PHASE_LOCAL || !peer->bypass ||
	    !peer->bypass->pending ||
	    route_edge_decaying_link(&router->outward) != old_link) {
		result = router->disconnected ? BYPASS_OK : BYPASS_INVALID;
	} else {
		plan_local(&plan, router, peer);
		result = handover_answer_locked(&plan, router, peer, m,
						seq_queue_length(
							&router->outbound),
						&refused);
		if (refused)
			router_link_unlock(router->outward.primary);
	}
	ipcz_unlock_pair(&router->lock, &peer->lock);
	deactivate_and_unref(refused);
	router_flush(peer, ctx, false);
	router_flush(router, ctx, false);
	router_unref(peer);
	return result;
}

/* ---- merged portals with one remote peer ---- */

/* Locks three distinct routers in address order. */
static void lock_three(struct router *r[3])
{
	struct router *s[3] = { r[0], r[1], r[2] }, *t;
	int i, j;

	for (i = 1; i < 3; i++) {
		for (j = i; j > 0 && s[j - 1] > s[j]; j--) {
			t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	}
	for (i = 0; i < 3; i++)
		ipcz_lock(&s[i]->lock);
}

static void unlock_three(struct router *r[3])
{
	int i;

	for (i = 0; i < 3; i++)
		ipcz_unlock(&r[i]->lock);
}

/*
 * With a the near bridge end's local peer, A the near end, B the far end
 * (outward to d on another node): a's parcels below k reach d through
 * A, the bridge and B; d's below m come back the same way.
 */
static void plan_bridge(struct cut_plan *plan, struct router *peer,
			struct router *near, struct router *far)
{
	plan->count = 0;
	plan_add(plan, &peer->outward, true);
	plan_add(plan, &near->outward, false);
	plan_add(plan, near->bridge, true);
	plan_add(plan, far->bridge, false);
	plan_add(plan, &far->outward, true);
}

/* Both outward links stay locked until d answers. */
static bool may_hand_over_bridge_locked(struct handover *h,
					struct router *near)
{
	struct router *far = h->owner;
	bool ok;

	ok = near->bridge && far->bridge &&
	     route_edge_is_stable(near->bridge) &&
	     route_edge_is_stable(far->bridge) &&
	     route_edge_is_stable(&near->outward) &&
	     route_edge_is_stable(&far->outward) &&
	     far->outward.primary == h->remote && bypass_idle_locked(far) &&
	     !route_ending_locked(far) && !route_ending_locked(near) &&
	     links_to_locked(near, h->peer) &&
	     links_to_locked(h->peer, near) &&
	     may_take_new_link_locked(h->peer) &&
	     router_link_try_lock(near->outward.primary);
	if (ok && !router_link_try_lock(h->remote)) {
		router_link_unlock(near->outward.primary);
		ok = false;
	}
	return ok;
}

void router_bypass_start_bridge(struct router *near, struct router *far,
				enum op_context ctx)
{
	struct handover h = { .owner = far };
	struct router *all[3];
	struct cut_plan plan;
	uint64_t k = 0;
	bool ok;

	ipcz_lock_pair(&near->lock, &far->lock);
	ok = near->bridge && far->bridge && bypass_idle_locked(far) &&
	     near->outward.primary && far->outward.primary &&
	     is_remote(far->outward.primary) &&
	     router_link_is_central(far->outward.primary);
	if (ok) {
		h.peer = route_edge_local_peer(&near->outward);
		h.remote = far->outward.primary;
		router_link_ref(h.remote);
	}
	ipcz_unlock_pair(&near->lock, &far->lock);
	ok = ok && h.peer && h.peer != near && h.peer != far &&
	     handover_prepare(&h, 5);
	if (ok) {
		all[0] = h.peer;
		all[1] = near;
		all[2] = far;
		lock_three(all);
		ok = may_hand_over_bridge_locked(&h, near);
		if (ok) {
			plan_bridge(&plan, h.peer, near, far);
			k = handover_begin_locked(&h, &plan, PHASE_BRIDGE);
		}
		unlock_three(all);
	}
	handover_end(&h, ctx, ok, k);
}

/* d answered: finish the bridge's bypass, or undo it. */
static enum bypass_result accept_bridge_answer(struct router *far,
					       struct router_link *link,
					       enum op_context ctx,
					       const struct bypass_message *m)
{
	struct router_link *refused = NULL, *bridge, *old;
	struct router *near = NULL, *peer = NULL, *all[3];
	enum bypass_result result;
	struct cut_plan plan;

	ipcz_lock(&far->lock);
	if (far->bypass && far->bypass->phase == PHASE_BRIDGE &&
	    far->bridge && route_edge_decaying_link(&far->outward) == link) {
		bridge = route_edge_decaying_link(far->bridge);
		near = bridge ? bridge->ops->get_local_peer(bridge) : NULL;
	}
	ipcz_unlock(&far->lock);
	if (near) {
		ipcz_lock(&near->lock);
		old = route_edge_decaying_link(&near->outward);
		peer = old ? old->ops->get_local_peer(old) : NULL;
		ipcz_unlock(&near->lock);
	}
	if (!near || !peer) {
		router_unref(near);
		return far->disconnected ? BYPASS_OK : BYPASS_INVALID;
	}
	all[0] = peer;
	all[1] = near;
	all[2] = far;
	lock_three(all);
	if (far->bypass->phase != PHASE_BRIDGE || !peer->bypass ||
	    !peer->bypass->pending || !near->bridge || !far->bridge ||
	    route_edge_decaying_link(&far->outward) != link) {
		result = far->disconnected ? BYPASS_OK : BYPASS_INVALID;
	} else {
		plan_bridge(&plan, peer, near, far);
		result = handover_answer_locked(&plan, far, peer, m,
						seq_queue_length(&far->inbound),
						&refused);
		if (refused) {
			router_link_unlock(near->outward.primary);
			router_link_unlock(far->outward.primary);
		}
	}
	unlock_three(all);
	deactivate_and_unref(refused);
	router_flush(peer, ctx, false);
	router_flush(near, ctx, false);
	router_flush(far, ctx, false);
	router_unref(peer);
	router_unref(near);
	return result;
}

/*
 * Whether an answer over `link` is the one our request waits for. The
 * request went over our outward link; closure may have released that
 * link since (the route ends), and X still answers over it.
 */
static bool answers_our_request_locked(const struct router *router,
				       const struct router_link *link)
{
	if (!router->bypass || router->bypass->phase != PHASE_REQUESTED)
		return false;
	return router->outward.primary == link ||
	       (!router->outward.primary && !router->outward.decay &&
		route_ending_locked(router));
}

/*
 * No usable link to the node named `name` yet: asks for an introduction,
 * `waiter` (the link a bypass was declined or refused on) being sent a
 * retry once the link is connected. The link may have connected while we
 * looked, its waiters already retried, so look once more.
 */
static void wait_for_link(struct node_link *node_link, enum op_context ctx,
			  const uint8_t *name, struct router_link *waiter)
{
	struct node_link *found;

	node_link_request_introduction(node_link, ctx, name, waiter);
	found = node_link_find_sibling(node_link, name);
	if (found) {
		router_bypass_send_retry(waiter, ctx);
		node_link_unref(found);
	}
}

/* ---- merged portals with both peers remote ---- */

/*
 * The bridge pair stands where a proxy would: `near`'s outward peer a is
 * X, `far`'s outward peer d is Z. near asks a (REQUEST); a answers near;
 * near hands a's new route to d over far's link (LINK_TO); d answers far
 * (CUT{m}); the pair then drains at the cuts: a's parcels below n cross
 * near, the bridge and far to d, d's below m come back the same way.
 */
static void plan_remote_bridge(struct cut_plan *plan, struct router *near,
			       struct router *far)
{
	plan->count = 0;
	plan_add(plan, &near->outward, false);
	plan_add(plan, near->bridge, true);
	plan_add(plan, far->bridge, false);
	plan_add(plan, &far->outward, true);
}

static bool is_remote_central(const struct router_link *link)
{
	return is_remote(link) && router_link_is_central(link);
}

/* A new reference to the router merged with `router`, or NULL. */
static struct router *bridge_partner(struct router *router)
{
	struct router *partner = NULL;

	ipcz_lock(&router->lock);
	if (router->bridge)
		partner = route_edge_local_peer(router->bridge);
	ipcz_unlock(&router->lock);
	return partner;
}

static bool bridged_locked(struct router *a, struct router *b)
{
	struct router *partner = a->bridge ? route_edge_local_peer(a->bridge) :
					     NULL;

	router_unref(partner);
	return partner == b;
}

/* Both ends merged, stable and open, each with a remote central link. */
static bool remote_pair_ready_locked(struct router *near, struct router *far)
{
	return bridged_locked(near, far) && bridged_locked(far, near) &&
	       route_edge_is_stable(near->bridge) &&
	       route_edge_is_stable(far->bridge) &&
	       route_edge_is_stable(&near->outward) &&
	       route_edge_is_stable(&far->outward) &&
	       is_remote_central(near->outward.primary) &&
	       is_remote_central(far->outward.primary) &&
	       !route_ending_locked(near) && !route_ending_locked(far);
}

static void set_pair_phase_locked(struct router *near, struct router *far,
				  uint8_t phase)
{
	near->bypass->phase = phase;
	far->bypass->phase = phase == PHASE_REQUESTED ? PHASE_PAIRED : phase;
}

/* The names of a's and d's nodes, which must differ; false if unknown. */
static bool far_node_names(struct router_link *to_x, struct router_link *to_z,
			   uint8_t x_name[16], uint8_t z_name[16])
{
	return remote_router_link_peer_name(to_x, x_name) &&
	       remote_router_link_peer_name(to_z, z_name) &&
	       memcmp(x_name, z_name, 16) != 0;
}

void router_bypass_start_remote_bridge(struct router *near, struct router *far,
				       enum op_context ctx)
{
	struct router_bypass *spares[2] = { calloc(1, sizeof(*spares[0])),
					    calloc(1, sizeof(*spares[1])) };
	struct router_link *to_x = NULL, *to_z = NULL;
	uint8_t x_name[16], z_name[16];
	bool ok;

	ipcz_lock_pair(&near->lock, &far->lock);
	ok = remote_pair_ready_locked(near, far) && bypass_idle_locked(near) &&
	     bypass_idle_locked(far);
	if (ok) {
		to_x = near->outward.primary;
		to_z = far->outward.primary;
		router_link_ref(to_x);
		router_link_ref(to_z);
	}
	ipcz_unlock_pair(&near->lock, &far->lock);
	/*
	 * a and d on one node would be joined there (as REQUEST_LOCAL does
	 * for a proxy); that is not built, so such a bridge stays.
	 */
	ok = ok && spares[0] && spares[1] &&
	     far_node_names(to_x, to_z, x_name, z_name);
	if (ok) {
		ipcz_lock_pair(&near->lock, &far->lock);
		ok = remote_pair_ready_locked(near, far) &&
		     bypass_idle_locked(near) && bypass_idle_locked(far) &&
		     near->outward.primary == to_x &&
		     far->outward.primary == to_z;
		if (ok) {
			bypass_state_locked(near, &spares[0]);
			bypass_state_locked(far, &spares[1]);
			set_pair_phase_locked(near, far, PHASE_REQUESTED);
		}
		ipcz_unlock_pair(&near->lock, &far->lock);
	}
	free(spares[0]);
	free(spares[1]);
	if (ok)
		send(to_x, ctx, BYPASS_REQUEST, z_name, 0, 0);
	router_link_unref(to_x);
	router_link_unref(to_z);
}

/* Whether `near` and `far` still wait as `near_phase` / PHASE_PAIRED. */
static bool pair_waits_locked(struct router *near, struct router *far,
			      uint8_t near_phase)
{
	return near->bypass && far->bypass &&
	       near->bypass->phase == near_phase &&
	       far->bypass->phase == PHASE_PAIRED && bridged_locked(near, far);
}

/* a answered near's request. */
static enum bypass_result accept_pair_answer(struct node_link *node_link,
					     struct router *near,
					     struct router *far,
					     struct router_link *link,
					     enum op_context ctx,
					     const struct bypass_message *m)
{
	struct router_link *to_z = NULL;
	enum bypass_result result = BYPASS_OK;
	uint8_t name[16];
	bool named = node_link_remote_name(node_link, name);

	ipcz_lock_pair(&near->lock, &far->lock);
	if (!pair_waits_locked(near, far, PHASE_REQUESTED) ||
	    !answers_our_request_locked(near, link)) {
		result = near->disconnected || m->op == BYPASS_DECLINED ?
				 BYPASS_OK :
				 BYPASS_INVALID;
	} else if (m->op == BYPASS_DECLINED || !named ||
		   !remote_pair_ready_locked(near, far)) {
		/* Declined, or the route changed meanwhile: the pair stays. */
		set_pair_phase_locked(near, far, PHASE_FAILED);
	} else if (m->cut > BYPASS_MAX_CUT ||
		   seq_queue_length(&near->inbound) > m->cut) {
		result = BYPASS_INVALID;
	} else {
		near->bypass->phase = PHASE_ACCEPTED;
		near->bypass->outward_cut = m->cut;
		to_z = far->outward.primary;
		router_link_ref(to_z);
	}
	ipcz_unlock_pair(&near->lock, &far->lock);
	if (result == BYPASS_OK && m->op == BYPASS_ACCEPTED) {
		if (to_z)
			send(to_z, ctx, BYPASS_LINK_TO, name, m->new_sublink,
			     m->cut);
		else
			send(link, ctx, BYPASS_CANCEL, NULL, 0, 0);
	}
	router_link_unref(to_z);
	return result;
}

/* d answered far: the pair drains at the cuts, or a takes its link back. */
static enum bypass_result accept_pair_cut(struct router *far,
					  struct router *near,
					  struct router_link *link,
					  enum op_context ctx,
					  const struct bypass_message *m)
{
	struct route_edge_decay *decays[4];
	bool allocated = alloc_decays(decays, 4), done = false;
	enum bypass_result result = BYPASS_OK;
	struct router_link *to_x = NULL;
	struct cut_plan plan;

	ipcz_lock_pair(&near->lock, &far->lock);
	if (!pair_waits_locked(near, far, PHASE_ACCEPTED) ||
	    far->outward.primary != link) {
		result = far->disconnected ? BYPASS_OK : BYPASS_INVALID;
	} else if (m->op == BYPASS_REFUSED) {
		set_pair_phase_locked(near, far, PHASE_FAILED);
		to_x = near->outward.primary;
		if (to_x)
			router_link_ref(to_x);
	} else if (!allocated || m->cut > BYPASS_MAX_CUT ||
		   seq_queue_length(&far->inbound) > m->cut ||
		   seq_queue_length(&near->outbound) > m->cut) {
		result = BYPASS_INVALID;
	} else {
		plan_remote_bridge(&plan, near, far);
		plan_start(&plan, decays, near->bypass->outward_cut);
		plan_finish(&plan, near->bypass->outward_cut, m->cut);
		set_pair_phase_locked(near, far, PHASE_DONE);
		done = true;
	}
	ipcz_unlock_pair(&near->lock, &far->lock);
	free_decays(decays, 4);
	if (to_x) {
		send(to_x, ctx, BYPASS_CANCEL, NULL, 0, 0);
		router_link_unref(to_x);
	}
	if (done) {
		router_flush(near, ctx, false);
		router_flush(far, ctx, false);
	}
	return result;
}

/* d's answer to a bridge end: one local peer, or both remote. */
static enum bypass_result accept_cut_on_central(struct router *router,
						struct router_link *link,
						enum op_context ctx,
						const struct bypass_message *m)
{
	struct router *near = NULL;
	enum bypass_result result;

	ipcz_lock(&router->lock);
	if (router->bypass && router->bypass->phase == PHASE_PAIRED &&
	    router->bridge)
		near = route_edge_local_peer(router->bridge);
	ipcz_unlock(&router->lock);
	if (!near)
		return accept_bridge_answer(router, link, ctx, m);
	result = accept_pair_cut(router, near, link, ctx, m);
	router_unref(near);
	return result;
}


/* ---- the outward peer X ---- */

/*
 * Requests crossing on one central link (both ends are proxies): side A's
 * wins, side B's is declined. The side is the node link's, which the two
 * ends always see as opposite; a router link's own side is not (both ends
 * of a direct transfer's central link carry the sender's).
 */
static bool may_accept_request_locked(struct router *router,
				      struct router_link *link,
				      enum link_side our_side)
{
	const struct router_bypass *bypass = router->bypass;

	if (router->outward.primary != link || router->bridge ||
	    !route_edge_is_stable(&router->outward) ||
	    route_ending_locked(router))
		return false;
	if (!bypass)
		return true;
	if (bypass->pending || bypass->phase == PHASE_ACCEPTED ||
	    bypass->phase == PHASE_DONE)
		return false;
	return bypass->phase != PHASE_REQUESTED || our_side == LINK_SIDE_B;
}

/*
 * Accepting the other proxy's crossing request settles our own: it is
 * declined, and that decline reaches us on a link that is no longer our
 * primary, so accept_answer() ignores it. Once our new link is stable we
 * may ask again, towards our new neighbour.
 */
static void settle_own_request_locked(struct router *router)
{
	if (router->bypass->phase == PHASE_REQUESTED)
		router->bypass->phase = PHASE_NONE;
}

/*
 * Whether a request (or handover) refused over `link` was refused only
 * because our own edge was changing: the asker is then owed a retry once
 * the edge is stable. So is one that came over a link registered for us
 * that we have not adopted yet (a direct transfer's new central link:
 * its far end may ask before we took it).
 */
static bool changing_locked(const struct router *router,
			    const struct router_link *link)
{
	bool changing = router->outward.primary == link ?
				!route_edge_is_stable(&router->outward) :
				!router->outward.primary;

	return changing && !route_ending_locked(router);
}

/*
 * Records the retry owed for a refusal explained by changing_locked(),
 * once the refusal went out. Recorded before, it could be paid by a
 * flush on another thread (the edge turning stable) ahead of the refusal
 * itself: the asker would take the retry while still waiting for its
 * answer, then the refusal, and stay a proxy for good. If the edge is
 * stable by now, the retry goes at once; else router_flush() or
 * router_set_outward_link() pays it when the edge is.
 */
static void owe_retry(struct router *router, enum op_context ctx)
{
	struct router_bypass *spare = calloc(1, sizeof(*spare));
	struct router_link *stable = NULL;
	struct router_bypass *bypass;

	ipcz_lock(&router->lock);
	if (route_ending_locked(router)) {
		/* Nothing is worth retrying on a route that ends. */
	} else if (router->outward.primary &&
		   route_edge_is_stable(&router->outward)) {
		stable = router->outward.primary;
		router_link_ref(stable);
	} else {
		bypass = bypass_state_locked(router, &spare);
		if (bypass)
			bypass->retry_owed = 1;
	}
	ipcz_unlock(&router->lock);
	free(spare);
	if (stable) {
		router_bypass_send_retry(stable, ctx);
		router_link_unref(stable);
	}
}

/* X takes the request: its parcels from the returned cut on wait. */
static uint64_t take_request_locked(struct router *router,
				    struct route_edge_decay *decay,
				    struct router_bypass **spare,
				    struct router_link *new_link)
{
	uint64_t cut = seq_queue_length(&router->outbound);

	start_decay(&router->outward, decay, cut, SEQ_NONE);
	bypass_state_locked(router, spare)->pending = new_link;
	router_link_ref(new_link);
	settle_own_request_locked(router);
	return cut;
}

static void accept_request(struct node_link *node_link, struct router *router,
			   struct router_link *link, enum op_context ctx,
			   const struct bypass_message *message)
{
	struct route_edge_decay *decay = route_edge_decay_alloc();
	struct router_bypass *bypass = calloc(1, sizeof(*bypass));
	struct router_link *new_link = NULL;
	enum link_side our_side = node_link_side(node_link);
	struct node_link *target;
	uint64_t sublink = 0, cut = 0;
	bool ok, owed = false;

	target = node_link_find_sibling(node_link, message->name);
	ok = decay && bypass && target && target != node_link &&
	     (new_link = new_central_route(target, router, &sublink));
	if (ok) {
		ipcz_lock(&router->lock);
		ok = may_accept_request_locked(router, link, our_side);
		if (ok) {
			cut = take_request_locked(router, decay, &bypass,
						  new_link);
			decay = NULL;
		} else {
			owed = changing_locked(router, link);
		}
		ipcz_unlock(&router->lock);
		if (!ok)
			node_link_remove_route(target, sublink, new_link);
	}
	free(decay);
	free(bypass);
	router_link_unref(new_link);
	if (target)
		node_link_unref(target);
	if (ok)
		send(link, ctx, BYPASS_ACCEPTED, NULL, sublink, cut);
	else
		send(link, ctx, BYPASS_DECLINED, NULL, 0, 0);
	if (owed)
		owe_retry(router, ctx);
	/*
	 * No link to Z's node yet: the broker may introduce us. Asked only
	 * after the decline went, so that the retry follows it.
	 */
	if (!target)
		wait_for_link(node_link, ctx, message->name, link);
}

/* Whether the inward peer Z may be joined to X; Z's lock held. */
static bool may_join_locked(struct router *router, struct router_link *link)
{
	return router->outward.primary == link && !router->bridge &&
	       !(router->bypass && router->bypass->pending) &&
	       route_edge_is_stable(&router->outward) &&
	       !route_ending_locked(router);
}

/*
 * X and Z on one node, the proxy Y on another: X joins itself and Z with
 * a local link at once and tells Y both cuts.
 */
static void accept_request_local(struct node_link *node_link,
				 struct router *router,
				 struct router_link *link, enum op_context ctx,
				 uint64_t inward_sublink)
{
	struct route_edge_decay *decays[2] = { route_edge_decay_alloc(),
					       route_edge_decay_alloc() };
	struct router_link *to_peer = NULL, *to_router = NULL;
	struct router_link *peer_link = NULL;
	enum link_side our_side = node_link_side(node_link);
	struct router *peer;
	uint64_t n = 0, m = 0;
	bool ok, owed = false, peer_owed = false;

	peer = node_link_route(node_link, inward_sublink,
			       LINK_PERIPHERAL_OUTWARD, &peer_link);
	ok = peer && peer != router && decays[0] && decays[1] &&
	     local_router_link_create_pair(LINK_CENTRAL, router, peer, false,
					   &to_peer, &to_router);
	if (ok) {
		ipcz_lock_pair(&router->lock, &peer->lock);
		ok = may_accept_request_locked(router, link, our_side) &&
		     may_join_locked(peer, peer_link);
		if (!ok) {
			/* Z retries over its link to the proxy, X over its. */
			owed = changing_locked(router, link);
			peer_owed = changing_locked(peer, peer_link);
		}
		if (ok) {
			n = seq_queue_length(&router->outbound);
			m = seq_queue_length(&peer->outbound);
			start_decay(&router->outward, decays[0], n, m);
			route_edge_set_primary(&router->outward, to_peer);
			start_decay(&peer->outward, decays[1], m, n);
			route_edge_set_primary(&peer->outward, to_router);
			decays[0] = decays[1] = NULL;
			if (router->bypass)
				settle_own_request_locked(router);
			to_peer = to_router = NULL;
		}
		ipcz_unlock_pair(&router->lock, &peer->lock);
	}
	free(decays[0]);
	free(decays[1]);
	deactivate_and_unref(to_peer);
	deactivate_and_unref(to_router);
	if (ok) {
		send(link, ctx, BYPASS_JOINED, NULL, m, n);
		router_flush(router, ctx, false);
		router_flush(peer, ctx, false);
	} else {
		send(link, ctx, BYPASS_DECLINED, NULL, 0, 0);
	}
	if (owed)
		owe_retry(router, ctx);
	if (peer_owed)
		owe_retry(peer, ctx);
	router_link_unref(peer_link);
	router_unref(peer);
}

static enum bypass_result accept_ready(struct router *router,
				       struct router_link *link,
				       enum op_context ctx, uint64_t cut)
{
	struct router_bypass *bypass;
	bool ok = false, stale = false;

	ipcz_lock(&router->lock);
	bypass = router->bypass;
	if (router->disconnected || !bypass || bypass->pending != link) {
		stale = router->disconnected;
	} else if (router->outward.decay &&
		   router->outward.decay->length_from == SEQ_NONE &&
		   seq_queue_length(&router->inbound) <= cut) {
		route_edge_set_cuts(&router->outward,
				    router->outward.decay->length_to, cut);
		bypass->pending = NULL;
		ok = true;
	}
	ipcz_unlock(&router->lock);
	if (stale) {
		/*
		 * Our route broke while Z was taking the link: the
		 * disconnection we sent over it may have come before Z had
		 * the route, and was then lost. Z must hear it now.
		 */
		send(link, ctx, BYPASS_GONE, NULL, 0, 0);
		return BYPASS_OK;
	}
	if (!ok)
		return BYPASS_INVALID;
	/* The reference `pending` held goes to the edge. */
	router_set_outward_link(router, ctx, link);
	return BYPASS_OK;
}

/*
 * GONE, over a link prepared for a bypass. As X: the node we prepared
 * `link` for has no route on it, so the proxy died before passing the
 * link on, the inward peer never learns of us and the route, whose old
 * link is lost too, is broken. As Z: X's node answered our READY so, X's
 * route having broken (X let go of the link we took, or is letting go);
 * its disconnection may have reached our node before we had the route.
 * Losing that link is judged as losing any link.
 */
static void accept_gone(struct router *router, struct router_link *link,
			enum op_context ctx)
{
	bool prepared, broken;

	ipcz_lock(&router->lock);
	prepared = router->bypass && router->bypass->pending == link;
	broken = !router->disconnected && prepared && router->outward.decay &&
		 router->outward.decay->lost;
	ipcz_unlock(&router->lock);
	if (broken)
		router_accept_route_disconnected(router, ctx, LINK_CENTRAL);
	else if (!prepared)
		router_accept_link_disconnected(router, ctx, LINK_CENTRAL,
						link);
}

static enum bypass_result accept_cancel(struct router *router,
					struct router_link *link,
					enum op_context ctx)
{
	struct router_link *pending = NULL;
	struct router_bypass *bypass;

	ipcz_lock(&router->lock);
	bypass = router->bypass;
	if (bypass && bypass->pending && !router->outward.primary &&
	    route_edge_decaying_link(&router->outward) == link) {
		route_edge_set_primary(&router->outward,
				       route_edge_release_decaying(
					       &router->outward));
		pending = bypass->pending;
		bypass->pending = NULL;
	}
	ipcz_unlock(&router->lock);
	if (!pending)
		return BYPASS_INVALID;
	deactivate_and_unref(pending);
	router_flush(router, ctx, false);
	return BYPASS_OK;
}

/* ---- the proxy Y ---- */

/* Forgets a failed bypass, so that it may be asked for again. */
static bool forget_failure_locked(struct router *router)
{
	if (!router->bypass || router->bypass->phase != PHASE_FAILED)
		return false;
	router->bypass->phase = PHASE_NONE;
	return true;
}

/*
 * A retry owed to a proxy or a bridge end, by its outward peer (which
 * declined while its edge changed) or by its inward peer (which refused
 * for the same reason). A bridge end starts again from router_flush().
 */
static void accept_retry(struct router *router, struct router_link *link,
			 enum op_context ctx)
{
	struct router *partner = bridge_partner(router);
	struct router *other = partner ? partner : router;
	bool retry;

	ipcz_lock_pair(&router->lock, &other->lock);
	retry = (router->outward.primary == link ||
		 (router->inward && router->inward->primary == link)) &&
		forget_failure_locked(router);
	if (partner && router->outward.primary == link)
		retry = forget_failure_locked(partner) || retry;
	ipcz_unlock_pair(&router->lock, &other->lock);
	if (retry && partner)
		router_flush(router, ctx, false);
	else if (retry)
		router_bypass_maybe_start(router, ctx);
	router_unref(partner);
}

static enum bypass_result accept_answer(struct node_link *node_link,
					struct router *router,
					struct router_link *link,
					enum op_context ctx,
					const struct bypass_message *message)
{
	struct router_link *inward = NULL;
	struct router *far = bridge_partner(router);
	uint8_t name[16];
	bool named = node_link_remote_name(node_link, name);
	enum bypass_result result = BYPASS_OK;

	if (far) {
		result = accept_pair_answer(node_link, router, far, link, ctx,
					    message);
		router_unref(far);
		return result;
	}
	ipcz_lock(&router->lock);
	if (!answers_our_request_locked(router, link)) {
		/*
		 * A decline may be stale: when two proxies on one central
		 * link ask at once, side A's request is accepted and side
		 * B's declined, and that decline reaches a router that is
		 * already past its own request. It asks for nothing.
		 */
		result = router->disconnected ||
					 message->op == BYPASS_DECLINED ?
				 BYPASS_OK :
				 BYPASS_INVALID;
	} else if (message->op == BYPASS_DECLINED) {
		router->bypass->phase = PHASE_FAILED;
	} else if (!named || !router->inward || !router->inward->primary ||
		   !route_edge_is_stable(router->inward) ||
		   route_ending_locked(router)) {
		/* The route changed meanwhile: X goes back to its link. */
		router->bypass->phase = PHASE_FAILED;
	} else if (message->cut > BYPASS_MAX_CUT ||
		   seq_queue_length(&router->inbound) > message->cut) {
		result = BYPASS_INVALID;
	} else {
		router->bypass->phase = PHASE_ACCEPTED;
		router->bypass->outward_cut = message->cut;
		inward = router->inward->primary;
		router_link_ref(inward);
	}
	ipcz_unlock(&router->lock);
	if (result == BYPASS_OK && message->op == BYPASS_ACCEPTED) {
		if (inward)
			send(inward, ctx, BYPASS_LINK_TO, name,
			     message->new_sublink, message->cut);
		else
			send(link, ctx, BYPASS_CANCEL, NULL, 0, 0);
	}
	router_link_unref(inward);
	return result;
}

/* X joined itself and Z: X sent below n through us, Z below m. */
/*
 * X sent below n through the proxy, Z below m: both of its edges decay at
 * those cuts, and it disappears once they are drained.
 */
static void drain_proxy_locked(struct router *router,
			       struct route_edge_decay **out,
			       struct route_edge_decay **in, uint64_t n,
			       uint64_t m)
{
	start_decay(&router->outward, *out, m, n);
	start_decay(router->inward, *in, n, m);
	*out = *in = NULL;
	router->bypass->phase = PHASE_DONE;
}

static enum bypass_result accept_joined(struct router *router,
					struct router_link *link,
					enum op_context ctx, uint64_t n,
					uint64_t m)
{
	struct route_edge_decay *out = route_edge_decay_alloc();
	struct route_edge_decay *in = route_edge_decay_alloc();
	enum bypass_result result = BYPASS_OK;
	bool done = false;

	ipcz_lock(&router->lock);
	if (!router->bypass || router->bypass->phase != PHASE_REQUESTED ||
	    router->outward.primary != link || !router->inward ||
	    !router->inward->primary ||
	    !route_edge_is_stable(router->inward)) {
		result = router->disconnected ? BYPASS_OK : BYPASS_INVALID;
	} else if (!out || !in || n > BYPASS_MAX_CUT || m > BYPASS_MAX_CUT ||
		   seq_queue_length(&router->inbound) > n ||
		   seq_queue_length(&router->outbound) > m) {
		result = BYPASS_INVALID;
	} else {
		drain_proxy_locked(router, &out, &in, n, m);
		done = true;
	}
	ipcz_unlock(&router->lock);
	free(out);
	free(in);
	if (done)
		router_flush(router, ctx, false);
	return result;
}

static enum bypass_result accept_inward_answer(struct router *router,
					       struct router_link *link,
					       enum op_context ctx,
					       const struct bypass_message *m)
{
	struct route_edge_decay *out = route_edge_decay_alloc();
	struct route_edge_decay *in = route_edge_decay_alloc();
	struct router_link *outward = NULL;
	enum bypass_result result = BYPASS_OK;
	bool done = false;

	ipcz_lock(&router->lock);
	if (!router->bypass || router->bypass->phase != PHASE_ACCEPTED ||
	    !router->inward || router->inward->primary != link) {
		result = router->disconnected ? BYPASS_OK : BYPASS_INVALID;
	} else if (m->op == BYPASS_REFUSED) {
		router->bypass->phase = PHASE_FAILED;
		outward = router->outward.primary;
		if (outward)
			router_link_ref(outward);
	} else if (!out || !in || m->cut > BYPASS_MAX_CUT ||
		   seq_queue_length(&router->outbound) > m->cut) {
		result = BYPASS_INVALID;
	} else {
		drain_proxy_locked(router, &out, &in,
				   router->bypass->outward_cut, m->cut);
		done = true;
	}
	ipcz_unlock(&router->lock);
	free(out);
	free(in);
	if (outward) {
		send(outward, ctx, BYPASS_CANCEL, NULL, 0, 0);
		router_link_unref(outward);
	}
	if (done)
		router_flush(router, ctx, false);
	return result;
}

/* ---- the inward peer Z ---- */

static bool may_link_to_locked(struct router *router, struct router_link *link,
			       uint64_t cut)
{
	return router->outward.primary == link && !router->bridge &&
	       !(router->bypass && router->bypass->pending) &&
	       route_edge_is_stable(&router->outward) &&
	       !route_ending_locked(router) &&
	       seq_queue_length(&router->inbound) <= cut;
}

static enum bypass_result accept_link_to(struct node_link *node_link,
					 struct router *router,
					 struct router_link *link,
					 enum op_context ctx,
					 const struct bypass_message *message)
{
	struct route_edge_decay *decay = route_edge_decay_alloc();
	struct router_link *new_link = NULL;
	struct node_link *target;
	uint64_t cut = 0;
	bool ok, owed = false;

	if (message->cut > BYPASS_MAX_CUT) {
		free(decay);
		return BYPASS_INVALID;
	}
	if (message->op == BYPASS_LINK_LOCAL) {
		/* X is on the proxy's node: the new route is on this link. */
		target = node_link;
		node_link_ref(target);
	} else {
		target = node_link_find_sibling(node_link, message->name);
	}
	ok = decay && target &&
	     (target != node_link) == (message->op == BYPASS_LINK_TO);
	if (ok && !node_link_valid_peer_sublink(target, message->new_sublink)) {
		free(decay);
		node_link_unref(target);
		return BYPASS_INVALID;
	}
	if (ok) {
		new_link = remote_router_link_create(target,
						     message->new_sublink,
						     LINK_CENTRAL,
						     node_link_side(target));
		ok = new_link && node_link_add_route(target,
						     message->new_sublink,
						     router, new_link);
	}
	if (ok) {
		ipcz_lock(&router->lock);
		ok = may_link_to_locked(router, link, message->cut);
		if (ok) {
			/* We sent below `cut` through the proxy. */
			cut = seq_queue_length(&router->outbound);
			start_decay(&router->outward, decay, cut,
				    message->cut);
			decay = NULL;
		} else {
			/* Refused only while our edge changes: retry then. */
			owed = changing_locked(router, link);
		}
		ipcz_unlock(&router->lock);
		if (!ok)
			node_link_remove_route(target, message->new_sublink,
					       new_link);
	}
	free(decay);
	if (ok) {
		if (message->op == BYPASS_LINK_TO)
			send(new_link, ctx, BYPASS_READY, NULL, 0, cut);
		send(link, ctx, BYPASS_CUT, NULL, 0, cut);
		router_set_outward_link(router, ctx, new_link);
		new_link = NULL;
	} else {
		send(link, ctx, BYPASS_REFUSED, NULL, 0, 0);
	}
	if (owed)
		owe_retry(router, ctx);
	router_link_unref(new_link);
	if (target)
		node_link_unref(target);
	else if (message->op == BYPASS_LINK_TO)
		wait_for_link(node_link, ctx, message->name, link);
	return BYPASS_OK;
}

enum bypass_result router_bypass_accept(struct node_link *node_link,
					struct router *router,
					struct router_link *link,
					uint8_t type,
					const struct bypass_message *message)
{
	switch (message->op) {
	case BYPASS_REQUEST:
		if (type != LINK_CENTRAL)
			return BYPASS_INVALID;
		accept_request(node_link, router, link, OP_TRANSPORT, message);
		return BYPASS_OK;
	case BYPASS_ACCEPTED:
	case BYPASS_DECLINED:
		if (type != LINK_CENTRAL)
			return BYPASS_INVALID;
		return accept_answer(node_link, router, link, OP_TRANSPORT,
				     message);
	case BYPASS_LINK_TO:
	case BYPASS_LINK_LOCAL:
		/* From a proxy, or from a bridge end. */
		if (type != LINK_PERIPHERAL_OUTWARD && type != LINK_CENTRAL)
			return BYPASS_INVALID;
		return accept_link_to(node_link, router, link, OP_TRANSPORT,
				      message);
	case BYPASS_READY:
		if (type != LINK_CENTRAL || message->cut > BYPASS_MAX_CUT)
			return BYPASS_INVALID;
		return accept_ready(router, link, OP_TRANSPORT, message->cut);
	case BYPASS_CUT:
	case BYPASS_REFUSED:
		if (type == LINK_CENTRAL)
			return accept_cut_on_central(router, link,
						     OP_TRANSPORT, message);
		if (type != LINK_PERIPHERAL_INWARD)
			return BYPASS_INVALID;
		if (local_phase(router))
			return accept_local_answer(router, link, OP_TRANSPORT,
						   message);
		return accept_inward_answer(router, link, OP_TRANSPORT,
					    message);
	case BYPASS_CANCEL:
		if (type != LINK_CENTRAL)
			return BYPASS_INVALID;
		return accept_cancel(router, link, OP_TRANSPORT);
	case BYPASS_REQUEST_LOCAL:
		if (type != LINK_CENTRAL)
			return BYPASS_INVALID;
		accept_request_local(node_link, router, link, OP_TRANSPORT,
				     message->new_sublink);
		return BYPASS_OK;
	case BYPASS_JOINED:
		if (type != LINK_CENTRAL)
			return BYPASS_INVALID;
		return accept_joined(router, link, OP_TRANSPORT, message->cut,
				     message->new_sublink);
	case BYPASS_RETRY:
		if (type != LINK_CENTRAL && type != LINK_PERIPHERAL_INWARD)
			return BYPASS_INVALID;
		accept_retry(router, link, OP_TRANSPORT);
		return BYPASS_OK;
	case BYPASS_PROBE:
		/* We took the link: our READY went before this. */
		return type == LINK_CENTRAL ? BYPASS_OK : BYPASS_INVALID;
	case BYPASS_GONE:
		if (type != LINK_CENTRAL)
			return BYPASS_INVALID;
		accept_gone(router, link, OP_TRANSPORT);
		return BYPASS_OK;
	default:
		return BYPASS_INVALID;
	}
}

bool router_bypass_take_retry_locked(struct router *router)
{
	bool owed = router->bypass && router->bypass->retry_owed;

	if (owed)
		router->bypass->retry_owed = 0;
	return owed;
}

void router_bypass_send_retry(struct router_link *link, enum op_context ctx)
{
	send(link, ctx, BYPASS_RETRY, NULL, 0, 0);
}

void router_bypass_links_changed_locked(struct router *router)
{
	if (router->bypass && router->bypass->phase == PHASE_FAILED)
		router->bypass->phase = PHASE_NONE;
}

struct router_link *router_bypass_pending_ref_locked(struct router *router)
{
	struct router_link *pending = router->bypass ? router->bypass->pending :
						       NULL;

	if (pending)
		router_link_ref(pending);
	return pending;
}

void router_bypass_send_probe(struct router_link *link, enum op_context ctx)
{
	send(link, ctx, BYPASS_PROBE, NULL, 0, 0);
}

struct router_link *router_bypass_take_pending(struct router *router)
{
	struct router_link *pending = NULL;

	if (router->bypass) {
		pending = router->bypass->pending;
		router->bypass->pending = NULL;
	}
	return pending;
}

void router_bypass_free(struct router *router)
{
	deactivate_and_unref(router_bypass_take_pending(router));
	free(router->bypass);
	router->bypass = NULL;
}
