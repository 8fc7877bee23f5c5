// SPDX-License-Identifier: MIT
/*
 * Introspection entry points (include/ipcz/introspect.h): snapshots of a
 * portal's route and of a node's links and routers. Each object is looked
 * at under its own lock, one at a time, never nested.
 */
#include <ipcz/introspect.h>

#include <stdlib.h>
#include <string.h>

#include "lib/handle_table.h"
#include "lib/node.h"
#include "lib/node_link.h"
#include "lib/remote_router_link.h"
#include "lib/router.h"

/* The part both structs start with: size and one 32-bit field. */
#define INTROSPECT_MIN_SIZE 8

/* Copies what fits of `full` into the caller's struct and records it. */
static void copy_out(void *info, void *full, uint32_t full_size)
{
	uint32_t size;

	memcpy(&size, info, sizeof(size));
	if (size > full_size)
		size = full_size;
	memcpy(full, &size, sizeof(size));
	memcpy(info, full, size);
}

static bool is_proxy_locked(const struct router *router)
{
	return router->inward || router->bridge;
}

/* Looks at the local peer on its own, after the portal's lock is gone. */
static bool local_peer_is_proxy(struct router *peer)
{
	bool proxy;

	ipcz_lock(&peer->lock);
	proxy = is_proxy_locked(peer);
	ipcz_unlock(&peer->lock);
	return proxy;
}

static void describe_route(struct router *router,
			   struct ipcz_portal_route_info *out)
{
	struct router_link *link;
	struct router *peer = NULL;
	bool central = false, stable;

	ipcz_lock(&router->lock);
	link = router->outward.primary;
	if (link) {
		router_link_ref(link);
		central = router_link_is_central(link);
		peer = link->ops->get_local_peer(link);
	}
	stable = route_edge_is_stable(&router->outward) &&
		 !is_proxy_locked(router);
	if (router->peer_closed)
		out->flags |= IPCZ_ROUTE_PEER_CLOSED;
	if (router->disconnected)
		out->flags |= IPCZ_ROUTE_DISCONNECTED;
	ipcz_unlock(&router->lock);

	if (!stable)
		out->flags |= IPCZ_ROUTE_DECAYING;
	if (!link)
		return;
	if (peer) {
		out->flags |= IPCZ_ROUTE_PEER_LOCAL;
		if (local_peer_is_proxy(peer)) {
			out->known_proxies++;
			central = false;
		}
		router_unref(peer);
	} else if (remote_router_link_is_remote(link)) {
		out->flags |= IPCZ_ROUTE_PEER_REMOTE;
		if (remote_router_link_peer_name(link, out->peer_node_name))
			out->flags |= IPCZ_ROUTE_PEER_NAME_KNOWN;
		if (!router_link_is_central(link))
			out->known_proxies++;
	}
	if (central && stable)
		out->flags |= IPCZ_ROUTE_DIRECT;
	router_link_unref(link);
}

IPCZ_INTROSPECT_EXPORT IpczResult
ipcz_introspect_portal(IpczHandle portal, struct ipcz_portal_route_info *info)
{
	struct ipcz_portal_route_info full;
	struct router *router;

	if (!info || info->size < INTROSPECT_MIN_SIZE)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	router = (struct router *)handle_table_get(portal, API_OBJECT_PORTAL);
	if (!router)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memset(&full, 0, sizeof(full));
	describe_route(router, &full);
	router_unref(router);
	copy_out(info, &full, sizeof(full));
	return IPCZ_RESULT_OK;
}

static int compare_pointers(const void *a, const void *b)
{
	const char *x = *(const char *const *)a;
	const char *y = *(const char *const *)b;

	return (x > y) - (x < y);
}

/* New references to the node's links, in a malloc'ed array. */
static size_t collect_links(struct node *node, struct node_link ***links)
{
	size_t i, n = 0;

	*links = NULL;
	ipcz_lock(&node->lock);
	if (node->num_links)
		*links = malloc(node->num_links * sizeof(**links));
	if (*links) {
		n = node->num_links;
		for (i = 0; i < n; i++) {
			node_link_ref(node->links[i]);
			(*links)[i] = node->links[i];
		}
	}
	ipcz_unlock(&node->lock);
	return n;
}

/* Appends `more` to `all`; on failure `more`'s references are dropped. */
static bool append_routers(struct router ***all, size_t *count,
			   struct router **more, size_t num_more)
{
	struct router **grown;
	size_t i;

	grown = realloc(*all, (*count + num_more + 1) * sizeof(*grown));
	if (!grown) {
		for (i = 0; i < num_more; i++)
			router_unref(more[i]);
		return false;
	}
	memcpy(grown + *count, more, num_more * sizeof(*more));
	*all = grown;
	*count += num_more;
	return true;
}

static IpczResult count_routers(struct node_link **links, size_t num_links,
				struct ipcz_node_info *out)
{
	struct router **all = NULL, **some;
	size_t count = 0, i, n;
	bool ok = true;

	for (i = 0; i < num_links; i++) {
		n = node_link_collect_routers(links[i], &some);
		if (n && !append_routers(&all, &count, some, n))
			ok = false;
		free(some);
	}
	if (count)
		qsort(all, count, sizeof(*all), compare_pointers);
	for (i = 0; i < count; i++) {
		if (i == 0 || all[i] != all[i - 1]) {
			out->linked_routers++;
			ipcz_lock(&all[i]->lock);
			if (is_proxy_locked(all[i]))
				out->proxies++;
			ipcz_unlock(&all[i]->lock);
		}
	}
	for (i = 0; i < count; i++)
		router_unref(all[i]);
	free(all);
	return ok ? IPCZ_RESULT_OK : IPCZ_RESULT_RESOURCE_EXHAUSTED;
}

IPCZ_INTROSPECT_EXPORT IpczResult
ipcz_introspect_node(IpczHandle node_handle, struct ipcz_node_info *info)
{
	struct ipcz_node_info full;
	struct node_link **links;
	struct node *node;
	IpczResult result;
	size_t n, i;

	if (!info || info->size < INTROSPECT_MIN_SIZE)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	node = (struct node *)handle_table_get(node_handle, API_OBJECT_NODE);
	if (!node)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memset(&full, 0, sizeof(full));
	ipcz_lock(&node->lock);
	memcpy(full.name, node->name, sizeof(full.name));
	ipcz_unlock(&node->lock);
	n = collect_links(node, &links);
	full.node_links = (uint32_t)n;
	result = count_routers(links, n, &full);
	for (i = 0; i < n; i++) {
		full.pool_bytes += node_link_pool_bytes(links[i]);
		node_link_unref(links[i]);
	}
	free(links);
	node_unref(node);
	if (result == IPCZ_RESULT_OK)
		copy_out(info, &full, sizeof(full));
	return result;
}
