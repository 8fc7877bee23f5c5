// SPDX-License-Identifier: MIT
#include "lib/node.h"

#include <stdlib.h>
#include <string.h>

#include "lib/allocation_delegate.h"
#include "lib/node_link.h"
#include "lib/relay.h"
#include "lib/router_link.h"

struct node *node_create(const struct IpczDriver *driver, bool is_broker,
			 const struct IpczCreateNodeOptions *options)
{
	struct IpczCreateNodeOptions copy = { .size = sizeof(copy) };
	struct node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	if (options) {
		size_t size = options->size < sizeof(copy) ? options->size :
							     sizeof(copy);

		memcpy(&copy, options, size);
	}
	api_object_init(&node->object, API_OBJECT_NODE);
	node->is_broker = is_broker;
	node->memory_flags = copy.memory_flags;
	memcpy(&node->driver, driver, sizeof(node->driver));
	node->driver.size = sizeof(node->driver);
	/*
	 * Every node names itself at random: the name is how brokers and
	 * bypasses refer to it (a broker refuses a name it already links).
	 */
	if (node->driver.GenerateRandomBytes(sizeof(node->name), IPCZ_NO_FLAGS,
					     NULL, node->name) !=
		    IPCZ_RESULT_OK) {
		free(node);
		return NULL;
	}
	return node;
}

static void drop_waiters(struct node_intro_waiter *waiters, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		router_link_unref(waiters[i].link);
	free(waiters);
}

void node_destroy(struct node *node)
{
	/* A node never closed (a failed creation) holds nothing else. */
	relay_forget(node, NULL);
	allocation_delegate_forget(node, NULL);
	drop_waiters(node->waiters, node->num_waiters);
	free(node->introduced);
	free(node->links);
	free(node);
}

bool node_add_intro_waiter(struct node *node, const uint8_t name[16],
			   struct router_link *link, bool *first)
{
	struct node_intro_waiter *grown;
	bool added = false;
	size_t i;

	*first = true;
	ipcz_lock(&node->lock);
	for (i = 0; i < node->num_waiters; i++)
		if (memcmp(node->waiters[i].name, name, 16) == 0)
			*first = false;
	grown = node->closed ? NULL :
			       realloc(node->waiters, (node->num_waiters + 1) *
							      sizeof(*grown));
	if (grown) {
		node->waiters = grown;
		memcpy(grown[node->num_waiters].name, name, 16);
		router_link_ref(link);
		grown[node->num_waiters++].link = link;
		added = true;
	}
	ipcz_unlock(&node->lock);
	return added;
}

size_t node_take_intro_waiters(struct node *node, const uint8_t name[16],
			       struct router_link ***links)
{
	size_t count = 0, kept = 0, i;

	ipcz_lock(&node->lock);
	*links = calloc(node->num_waiters ? node->num_waiters : 1,
			sizeof(**links));
	for (i = 0; i < node->num_waiters; i++) {
		if (*links && memcmp(node->waiters[i].name, name, 16) == 0)
			(*links)[count++] = node->waiters[i].link;
		else
			node->waiters[kept++] = node->waiters[i];
	}
	node->num_waiters = kept;
	ipcz_unlock(&node->lock);
	return count;
}

bool node_note_introduction(struct node *node, const uint8_t a[16],
			    const uint8_t b[16])
{
	uint8_t pair[32];
	uint8_t(*grown)[32];
	bool noted = false;
	size_t i;

	/* Sorted, so that requests from either end are one pair. */
	if (memcmp(a, b, 16) < 0) {
		memcpy(pair, a, 16);
		memcpy(pair + 16, b, 16);
	} else {
		memcpy(pair, b, 16);
		memcpy(pair + 16, a, 16);
	}
	ipcz_lock(&node->lock);
	for (i = 0; i < node->num_introduced; i++)
		if (memcmp(node->introduced[i], pair, 32) == 0)
			break;
	if (i == node->num_introduced && !node->closed) {
		grown = realloc(node->introduced,
				(node->num_introduced + 1) * sizeof(*grown));
		if (grown) {
			node->introduced = grown;
			memcpy(grown[node->num_introduced++], pair, 32);
			noted = true;
		}
	}
	ipcz_unlock(&node->lock);
	return noted;
}

bool node_add_link(struct node *node, struct node_link *link)
{
	bool added = false;

	ipcz_lock(&node->lock);
	if (!node->closed && node->num_links == node->links_capacity) {
		size_t capacity = node->links_capacity ?
					  node->links_capacity * 2 : 4;
		struct node_link **grown = realloc(node->links,
						   capacity * sizeof(*grown));

		if (grown) {
			node->links = grown;
			node->links_capacity = capacity;
		}
	}
	if (!node->closed && node->num_links < node->links_capacity) {
		node_link_ref(link);
		node->links[node->num_links++] = link;
		added = true;
	}
	ipcz_unlock(&node->lock);
	return added;
}

void node_remove_link(struct node *node, struct node_link *link)
{
	bool found = false;
	size_t i;

	ipcz_lock(&node->lock);
	for (i = 0; i < node->num_links; i++) {
		if (node->links[i] == link) {
			node->links[i] = node->links[--node->num_links];
			found = true;
			break;
		}
	}
	ipcz_unlock(&node->lock);
	if (found)
		node_link_unref(link);
}

/*
 * Drops every connection of the node, and with them what waited on them:
 * routes through the links break and their peers see closure. A closing
 * node also refuses new links from then on.
 */
static void drop_connections(struct node *node, bool closing)
{
	struct node_intro_waiter *waiters;
	struct node_link **links;
	size_t count, num_waiters, i;

	ipcz_lock(&node->lock);
	if (closing)
		node->closed = true;
	links = node->links;
	count = node->num_links;
	node->links = NULL;
	node->num_links = node->links_capacity = 0;
	waiters = node->waiters;
	num_waiters = node->num_waiters;
	node->waiters = NULL;
	node->num_waiters = 0;
	ipcz_unlock(&node->lock);
	drop_waiters(waiters, num_waiters);
	relay_forget(node, NULL);
	allocation_delegate_forget(node, NULL);
	for (i = 0; i < count; i++) {
		node_link_disconnect(links[i], OP_API_CALL);
		node_link_unref(links[i]);
	}
	free(links);
}

IpczResult node_close(struct node *node)
{
	drop_connections(node, true);
	return IPCZ_RESULT_OK;
}

IpczResult node_start_over(struct node *node)
{
	uint8_t name[sizeof(node->name)];

	if (node->driver.GenerateRandomBytes(sizeof(name), IPCZ_NO_FLAGS,
					     NULL, name) != IPCZ_RESULT_OK)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	drop_connections(node, false);
	/*
	 * A name of its own again: the broker may not have seen the old
	 * links go yet, and refuses a name it still links.
	 */
	ipcz_lock(&node->lock);
	memcpy(node->name, name, sizeof(name));
	ipcz_unlock(&node->lock);
	return IPCZ_RESULT_OK;
}

/*
 * The flag rules of ConnectNode(): SHARE_BROKER excludes every other role
 * flag; a broker, or a node connecting to a broker, neither inherits nor
 * shares one; and a non-broker must say which of the three it does.
 */
static IpczResult check_connect_flags(const struct node *node,
				      IpczConnectNodeFlags flags)
{
	const bool to_broker = flags & IPCZ_CONNECT_NODE_TO_BROKER;
	const bool inherit = flags & IPCZ_CONNECT_NODE_INHERIT_BROKER;
	const bool share = flags & IPCZ_CONNECT_NODE_SHARE_BROKER;

	if (share && (node->is_broker || to_broker || inherit))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if ((to_broker || node->is_broker) && (inherit || share))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!node->is_broker && !to_broker && !share && !inherit)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	return IPCZ_RESULT_OK;
}

IpczResult node_connect(struct node *node, IpczDriverHandle transport,
			size_t num_initial_portals, IpczConnectNodeFlags flags,
			IpczHandle *initial_portals)
{
	IpczResult result = check_connect_flags(node, flags);

	if (result != IPCZ_RESULT_OK)
		return result;
	return node_link_connect(node, transport, flags, num_initial_portals,
				 initial_portals);
}
