// SPDX-License-Identifier: MIT
#include "lib/node.h"

#include <stdlib.h>
#include <string.h>

#include "lib/node_link.h"

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
	/* Only a broker names itself; others are named by their broker. */
	if (is_broker &&
	    node->driver.GenerateRandomBytes(sizeof(node->name), IPCZ_NO_FLAGS,
					     NULL, node->name) !=
		    IPCZ_RESULT_OK) {
		free(node);
		return NULL;
	}
	return node;
}

void node_destroy(struct node *node)
{
	free(node->links);
	free(node);
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

IpczResult node_close(struct node *node)
{
	struct node_link **links;
	size_t count, i;

	ipcz_lock(&node->lock);
	node->closed = true;
	links = node->links;
	count = node->num_links;
	node->links = NULL;
	node->num_links = node->links_capacity = 0;
	ipcz_unlock(&node->lock);
	/* Routes through the node's links break; their peers see closure. */
	for (i = 0; i < count; i++) {
		node_link_disconnect(links[i], OP_API_CALL);
		node_link_unref(links[i]);
	}
	free(links);
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
