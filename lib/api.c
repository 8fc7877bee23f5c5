// SPDX-License-Identifier: MIT
/*
 * The IpczAPI entry points: argument checks in upstream's order, then
 * dispatch to the object behind the handle. Every handle is resolved
 * through the handle table, which holds a reference for the duration of
 * the call, so a concurrent Close() of another handle cannot pull an
 * object away mid-call.
 */
#include <stddef.h>
#include <string.h>

#include "ipcz/ipcz.h"
#include "lib/box.h"
#include "lib/driver.h"
#include "lib/handle_table.h"
#include "lib/node.h"
#include "lib/node_link.h"
#include "lib/parcel_wrapper.h"
#include "lib/router.h"

/* The most initial portals ConnectNode() accepts, as upstream. */
#define MAX_INITIAL_PORTALS 12

static struct router *get_portal(IpczHandle handle)
{
	return (struct router *)handle_table_get(handle, API_OBJECT_PORTAL);
}

static struct node *get_node(IpczHandle handle)
{
	return (struct node *)handle_table_get(handle, API_OBJECT_NODE);
}

static struct parcel_wrapper *get_parcel(IpczHandle handle)
{
	return (struct parcel_wrapper *)handle_table_get(handle,
							 API_OBJECT_PARCEL);
}

static IpczResult IPCZ_API api_close(IpczHandle handle, uint32_t flags,
				     const void *options)
{
	struct api_object *object = handle_table_get(handle, API_OBJECT_ANY);
	IpczResult result;

	if (!object)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	/* A transport listener's handle is the driver's, not the caller's. */
	if (object->type == API_OBJECT_TRANSPORT_LISTENER) {
		api_object_unref(object);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	api_object_unref(object);
	object = handle_table_take(handle, API_OBJECT_ANY);
	if (!object)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = api_object_close(object);
	api_object_unref(object);
	return result;
}

/*
 * Stands in for ReportBadTransportActivity, the one optional driver
 * function, when a driver has none: Reject() then says the driver could
 * not be told, instead of calling through a null pointer.
 */
static IpczResult IPCZ_API no_bad_activity_report(IpczDriverHandle transport,
						  uintptr_t context,
						  uint32_t flags,
						  const void *options)
{
	return IPCZ_RESULT_UNIMPLEMENTED;
}

static IpczResult IPCZ_API
api_create_node(const struct IpczDriver *driver, IpczCreateNodeFlags flags,
		const struct IpczCreateNodeOptions *options, IpczHandle *out)
{
	struct IpczDriver table;
	struct node *node;
	IpczHandle handle;

	if (!out || !driver_is_valid(driver))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (options && options->size < sizeof(*options))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	/* Routing relies on lock-free 32- and 64-bit atomics. */
	if (!ATOMIC_INT_LOCK_FREE || ATOMIC_LLONG_LOCK_FREE != 2)
		return IPCZ_RESULT_UNIMPLEMENTED;
	/* The node keeps its own copy of the table (node_create()). */
	memcpy(&table, driver, sizeof(table));
	table.size = sizeof(table);
	if (!table.ReportBadTransportActivity)
		table.ReportBadTransportActivity = no_bad_activity_report;
	node = node_create(&table, (flags & IPCZ_CREATE_NODE_AS_BROKER) != 0,
			   options);
	if (!node)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	handle = handle_table_add(&node->object);
	if (handle == IPCZ_INVALID_HANDLE)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	*out = handle;
	return IPCZ_RESULT_OK;
}

/*
 * A non-broker that already has a broker (linked or still connecting):
 * INHERIT_BROKER is a flag it cannot use, as the header says; TO_BROKER
 * replaces the old broker, as upstream's reconnection does, so the node
 * starts over with no connection and a new name before connecting.
 */
static IpczResult prepare_for_broker(struct node *node,
				     IpczConnectNodeFlags flags)
{
	const IpczConnectNodeFlags roles = IPCZ_CONNECT_NODE_TO_BROKER |
					   IPCZ_CONNECT_NODE_INHERIT_BROKER |
					   IPCZ_CONNECT_NODE_SHARE_BROKER;

	if (!(flags & (IPCZ_CONNECT_NODE_TO_BROKER |
		       IPCZ_CONNECT_NODE_INHERIT_BROKER)) ||
	    !node_link_has_broker(node))
		return IPCZ_RESULT_OK;
	if ((flags & roles) != IPCZ_CONNECT_NODE_TO_BROKER)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	return node_start_over(node);
}

static IpczResult IPCZ_API
api_connect_node(IpczHandle node_handle, IpczDriverHandle transport,
		 size_t num_initial_portals, IpczConnectNodeFlags flags,
		 const void *options, IpczHandle *initial_portals)
{
	struct node *node = get_node(node_handle);
	IpczHandle portals[MAX_INITIAL_PORTALS];
	IpczResult result;

	if (!node)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (transport == IPCZ_INVALID_DRIVER_HANDLE ||
	    num_initial_portals == 0 || !initial_portals)
		result = IPCZ_RESULT_INVALID_ARGUMENT;
	else if (num_initial_portals > MAX_INITIAL_PORTALS)
		result = IPCZ_RESULT_OUT_OF_RANGE;
	else
		result = prepare_for_broker(node, flags);
	if (result == IPCZ_RESULT_OK)
		result = node_connect(node, transport, num_initial_portals,
				      flags, portals);
	node_unref(node);
	/* A failed call writes no output: the handles were taken back. */
	if (result == IPCZ_RESULT_OK)
		memcpy(initial_portals, portals,
		       num_initial_portals * sizeof(*portals));
	return result;
}

static IpczResult IPCZ_API api_open_portals(IpczHandle node_handle,
					    uint32_t flags,
					    const void *options,
					    IpczHandle *portal0,
					    IpczHandle *portal1)
{
	struct node *node = get_node(node_handle);
	struct router *a, *b;
	IpczHandle handle_a, handle_b;

	if (!node)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	node_unref(node);
	if (!portal0 || !portal1)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!router_create_pair(&a, &b))
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	handle_a = handle_table_add(&a->object);
	if (handle_a == IPCZ_INVALID_HANDLE) {
		router_close(b);
		router_unref(b);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	handle_b = handle_table_add(&b->object);
	if (handle_b == IPCZ_INVALID_HANDLE) {
		api_close(handle_a, IPCZ_NO_FLAGS, NULL);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	*portal0 = handle_a;
	*portal1 = handle_b;
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API api_merge_portals(IpczHandle first,
					     IpczHandle second,
					     uint32_t flags,
					     const void *options)
{
	struct router *a = get_portal(first);
	struct router *b = get_portal(second);
	IpczResult result = IPCZ_RESULT_INVALID_ARGUMENT;

	if (a && b)
		result = router_merge(a, b);
	if (result == IPCZ_RESULT_OK) {
		/* Both handles are consumed; the routers become a bridge. */
		router_unref((struct router *)handle_table_take(first,
							API_OBJECT_PORTAL));
		router_unref((struct router *)handle_table_take(second,
							API_OBJECT_PORTAL));
	}
	router_unref(a);
	router_unref(b);
	return result;
}

static IpczResult IPCZ_API
api_query_portal_status(IpczHandle portal, uint32_t flags, const void *options,
			struct IpczPortalStatus *status)
{
	struct router *router = get_portal(portal);

	if (!router)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!status || status->size < sizeof(*status)) {
		router_unref(router);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	router_query_status(router, status);
	router_unref(router);
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API api_put(IpczHandle portal, const void *data,
				   size_t num_bytes, const IpczHandle *handles,
				   size_t num_handles, uint32_t flags,
				   const void *options)
{
	struct router *router;
	IpczResult result;

	/* Bad arguments and a bad portal fail alike: check before a ref. */
	if ((num_bytes && !data) || (num_handles && !handles))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	router = get_portal(portal);
	if (!router)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = router_put(router, data, num_bytes, handles, num_handles);
	router_unref(router);
	return result;
}

static IpczResult IPCZ_API api_begin_put(IpczHandle portal,
					 IpczBeginPutFlags flags,
					 const void *options,
					 volatile void **data,
					 size_t *num_bytes,
					 IpczTransaction *transaction)
{
	struct router *router = transaction ? get_portal(portal) : NULL;
	IpczResult result;

	if (!router)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = router_begin_put(router, flags, data, num_bytes,
				  transaction);
	router_unref(router);
	return result;
}

static IpczResult IPCZ_API api_end_put(IpczHandle portal,
				       IpczTransaction transaction,
				       size_t num_bytes_produced,
				       const IpczHandle *handles,
				       size_t num_handles,
				       IpczEndPutFlags flags,
				       const void *options)
{
	struct router *router = get_portal(portal);
	IpczResult result;

	if (!router)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	/* An abort ignores everything but the transaction. */
	if (flags & IPCZ_END_PUT_ABORT) {
		num_bytes_produced = 0;
		handles = NULL;
		num_handles = 0;
	}
	if (!transaction || (num_handles && !handles))
		result = IPCZ_RESULT_INVALID_ARGUMENT;
	else
		result = router_end_put(router, transaction,
					num_bytes_produced, handles,
					num_handles, flags);
	router_unref(router);
	return result;
}

static IpczResult IPCZ_API api_get(IpczHandle source, IpczGetFlags flags,
				   const void *options, void *data,
				   size_t *num_bytes, IpczHandle *handles,
				   size_t *num_handles, IpczHandle *parcel)
{
	struct router *router = get_portal(source);
	struct parcel_wrapper *wrapper;
	IpczResult result;

	if (router) {
		result = router_get(router, flags, data, num_bytes, handles,
				    num_handles, parcel);
		router_unref(router);
		return result;
	}
	wrapper = get_parcel(source);
	if (!wrapper)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = parcel_wrapper_get(wrapper, flags, data, num_bytes, handles,
				    num_handles, parcel);
	api_object_unref(&wrapper->object);
	return result;
}

static IpczResult IPCZ_API api_begin_get(IpczHandle source,
					 IpczBeginGetFlags flags,
					 const void *options,
					 const volatile void **data,
					 size_t *num_bytes,
					 IpczHandle *handles,
					 size_t *num_handles,
					 IpczTransaction *transaction)
{
	struct router *router;
	struct parcel_wrapper *wrapper;
	IpczResult result;

	if (!transaction)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	router = get_portal(source);
	if (router) {
		result = router_begin_get(router, flags, data, num_bytes,
					  handles, num_handles, transaction);
		router_unref(router);
		return result;
	}
	wrapper = get_parcel(source);
	if (!wrapper)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = parcel_wrapper_begin_get(wrapper, flags, data, num_bytes,
					  handles, num_handles, transaction);
	api_object_unref(&wrapper->object);
	return result;
}

static IpczResult IPCZ_API api_end_get(IpczHandle source,
				       IpczTransaction transaction,
				       IpczEndGetFlags flags,
				       const void *options, IpczHandle *parcel)
{
	struct router *router = get_portal(source);
	struct parcel_wrapper *wrapper;
	IpczResult result;

	if (router) {
		result = router_end_get(router, transaction, flags, parcel);
		router_unref(router);
		return result;
	}
	wrapper = get_parcel(source);
	if (!wrapper)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = parcel_wrapper_end_get(wrapper, transaction, flags, parcel);
	api_object_unref(&wrapper->object);
	return result;
}

static IpczResult IPCZ_API
api_trap(IpczHandle portal, const struct IpczTrapConditions *conditions,
	 IpczTrapEventHandler handler, uintptr_t context, uint32_t flags,
	 const void *options, IpczTrapConditionFlags *satisfied,
	 struct IpczPortalStatus *status)
{
	struct router *router = get_portal(portal);
	IpczResult result;

	if (!router)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!handler || !conditions ||
	    conditions->size < sizeof(*conditions) ||
	    (status && status->size < sizeof(*status)))
		result = IPCZ_RESULT_INVALID_ARGUMENT;
	else
		result = router_trap(router, conditions, handler, context,
				     satisfied, status);
	router_unref(router);
	return result;
}

static IpczResult IPCZ_API api_reject(IpczHandle parcel, uintptr_t context,
				      uint32_t flags, const void *options)
{
	struct parcel_wrapper *wrapper = get_parcel(parcel);
	IpczResult result;

	if (!wrapper)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = parcel_wrapper_reject(wrapper, context);
	api_object_unref(&wrapper->object);
	return result;
}

static IpczResult IPCZ_API api_box(IpczHandle node_handle,
				   const struct IpczBoxContents *contents,
				   uint32_t flags, const void *options,
				   IpczHandle *out)
{
	struct node *node = get_node(node_handle);
	struct box *box;
	IpczResult result;
	IpczHandle handle;

	if (!node)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (!out || !contents || contents->size < sizeof(*contents)) {
		node_unref(node);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	result = box_create(node, contents, &box);
	node_unref(node);
	if (result != IPCZ_RESULT_OK)
		return result;
	handle = handle_table_add(&box->object);
	if (handle == IPCZ_INVALID_HANDLE)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	*out = handle;
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API api_unbox(IpczHandle handle, IpczUnboxFlags flags,
				     const void *options,
				     struct IpczBoxContents *contents)
{
	const bool peek = (flags & IPCZ_UNBOX_PEEK) != 0;
	struct api_object *box;
	IpczResult result;

	if (!contents || contents->size < sizeof(*contents))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (peek)
		box = handle_table_get(handle, API_OBJECT_BOX);
	else
		box = handle_table_take(handle, API_OBJECT_BOX);
	if (!box)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	result = box_extract((struct box *)box, peek, contents);
	api_object_unref(box);
	return result;
}

static const struct IpczAPI current_api = {
	.size = sizeof(struct IpczAPI),
	.Close = api_close,
	.CreateNode = api_create_node,
	.ConnectNode = api_connect_node,
	.OpenPortals = api_open_portals,
	.MergePortals = api_merge_portals,
	.QueryPortalStatus = api_query_portal_status,
	.Put = api_put,
	.BeginPut = api_begin_put,
	.EndPut = api_end_put,
	.Get = api_get,
	.BeginGet = api_begin_get,
	.EndGet = api_end_get,
	.Trap = api_trap,
	.Reject = api_reject,
	.Box = api_box,
	.Unbox = api_unbox,
};

/* Version 0 of the table ends with Unbox; later versions only append. */
#define API_V0_SIZE \
	(offsetof(struct IpczAPI, Unbox) + sizeof(current_api.Unbox))

/* Declared (and exported) by ipcz.h. */
IpczResult IPCZ_API IpczGetAPI(struct IpczAPI *api)
{
	if (!api || api->size < API_V0_SIZE)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	memcpy(api, &current_api, API_V0_SIZE);
	return IPCZ_RESULT_OK;
}
