// SPDX-License-Identifier: MIT
/*
 * abi_c.c - a C program written the way an application of upstream ipcz
 * would be: it includes only <ipcz/ipcz.h>, declares IpczGetAPI() itself
 * (upstream's header leaves that to the application), brings its own
 * driver, and names every type, constant and table field of the header.
 *
 * It must compile unchanged against upstream's header and against ours
 * (C99 and C11, -Wall -Wextra -Werror -pedantic), and, linked with
 * libipcz, it checks at run time that the function tables line up: that
 * IpczGetAPI() honours the caller's size, and that every IpczAPI entry and
 * every IpczDriver entry libipcz calls behaves as upstream's does. Output
 * is TAP.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcz/ipcz.h"
#include "tests/abi/abi_layout.h"

#if defined(__cplusplus)
#error "abi_c.c is the C half of the ABI check; abi_cxx.cc is the C++ one"
#endif

/* As an application of upstream's header declares the entry point. */
IpczResult IPCZ_API IpczGetAPI(struct IpczAPI *api);

/*
 * Type checks: each function below has exactly the type of one table
 * entry, so assigning it (in the driver table and in check_api_types())
 * fails to compile if an entry's signature differs from upstream's.
 */

/* ---- a small driver of our own: heap objects, no transports ---- */

enum object_kind { OBJECT_BLOB = 1, OBJECT_MEMORY, OBJECT_MAPPING };

struct driver_object {
	enum object_kind kind;
	size_t num_bytes;
	struct driver_object *region; /* a mapping's region */
	int refs;                     /* a region's mappings + handles */
	unsigned char *bytes;
};

static int objects_alive;
static int objects_closed;
static int serialize_queries;

static struct driver_object *new_object(enum object_kind kind, size_t n)
{
	struct driver_object *o = (struct driver_object *)calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->bytes = (unsigned char *)calloc(n ? n : 1, 1);
	if (!o->bytes) {
		free(o);
		return NULL;
	}
	o->kind = kind;
	o->num_bytes = n;
	o->refs = 1;
	objects_alive++;
	return o;
}

static void unref_object(struct driver_object *o)
{
	if (--o->refs > 0)
		return;
	free(o->bytes);
	free(o);
	objects_alive--;
}

static struct driver_object *from_driver_handle(IpczDriverHandle h)
{
	return (struct driver_object *)h;
}

static IpczResult IPCZ_API driver_close(IpczDriverHandle handle,
					uint32_t flags, const void *options)
{
	struct driver_object *o = from_driver_handle(handle);

	(void)flags;
	(void)options;
	if (!o)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	objects_closed++;
	if (o->kind == OBJECT_MAPPING) {
		unref_object(o->region);
		free(o);
		objects_alive--;
		return IPCZ_RESULT_OK;
	}
	unref_object(o);
	return IPCZ_RESULT_OK;
}

/* Blobs serialize as their bytes; nothing else can be sent. */
static IpczResult IPCZ_API driver_serialize(IpczDriverHandle handle,
					    IpczDriverHandle transport,
					    uint32_t flags, const void *options,
					    volatile void *data,
					    size_t *num_bytes,
					    IpczDriverHandle *handles,
					    size_t *num_handles)
{
	struct driver_object *o = from_driver_handle(handle);
	size_t byte_capacity = num_bytes ? *num_bytes : 0;
	size_t i;

	(void)flags;
	(void)options;
	(void)handles;
	if (!o || o->kind != OBJECT_BLOB)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (transport == IPCZ_INVALID_DRIVER_HANDLE) {
		serialize_queries++;
		return IPCZ_RESULT_ABORTED;
	}
	if (num_bytes)
		*num_bytes = o->num_bytes;
	if (num_handles)
		*num_handles = 0;
	if (byte_capacity < o->num_bytes)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	for (i = 0; i < o->num_bytes; i++)
		((volatile unsigned char *)data)[i] = o->bytes[i];
	unref_object(o);
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API driver_deserialize(
	const volatile void *data, size_t num_bytes,
	const IpczDriverHandle *driver_handles, size_t num_driver_handles,
	IpczDriverHandle transport, uint32_t flags, const void *options,
	IpczDriverHandle *handle)
{
	struct driver_object *o;
	size_t i;

	(void)driver_handles;
	(void)transport;
	(void)flags;
	(void)options;
	if (num_driver_handles != 0 || !handle)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	o = new_object(OBJECT_BLOB, num_bytes);
	if (!o)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	for (i = 0; i < num_bytes; i++)
		o->bytes[i] = ((const volatile unsigned char *)data)[i];
	*handle = (IpczDriverHandle)o;
	return IPCZ_RESULT_OK;
}

/*
 * This driver serves nodes that talk only to themselves: it has no
 * transports, which upstream allows a driver to refuse.
 */
static IpczResult IPCZ_API driver_create_transports(
	IpczDriverHandle transport0, IpczDriverHandle transport1,
	uint32_t flags, const void *options, IpczDriverHandle *new_transport0,
	IpczDriverHandle *new_transport1)
{
	(void)transport0;
	(void)transport1;
	(void)flags;
	(void)options;
	(void)new_transport0;
	(void)new_transport1;
	return IPCZ_RESULT_UNAVAILABLE;
}

static IpczResult IPCZ_API driver_activate_transport(
	IpczDriverHandle transport, IpczHandle listener,
	IpczTransportActivityHandler activity_handler, uint32_t flags,
	const void *options)
{
	(void)transport;
	(void)listener;
	(void)activity_handler;
	(void)flags;
	(void)options;
	return IPCZ_RESULT_UNAVAILABLE;
}

static IpczResult IPCZ_API driver_deactivate_transport(
	IpczDriverHandle transport, uint32_t flags, const void *options)
{
	(void)transport;
	(void)flags;
	(void)options;
	return IPCZ_RESULT_UNAVAILABLE;
}

static IpczResult IPCZ_API driver_transmit(
	IpczDriverHandle transport, const void *data, size_t num_bytes,
	const IpczDriverHandle *driver_handles, size_t num_driver_handles,
	uint32_t flags, const void *options)
{
	(void)transport;
	(void)data;
	(void)num_bytes;
	(void)driver_handles;
	(void)num_driver_handles;
	(void)flags;
	(void)options;
	return IPCZ_RESULT_UNAVAILABLE;
}

static int bad_activity_reports;

static IpczResult IPCZ_API driver_report_bad_transport_activity(
	IpczDriverHandle transport, uintptr_t context, uint32_t flags,
	const void *options)
{
	(void)transport;
	(void)context;
	(void)flags;
	(void)options;
	bad_activity_reports++;
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API driver_allocate_shared_memory(
	size_t num_bytes, uint32_t flags, const void *options,
	IpczDriverHandle *driver_memory)
{
	struct driver_object *o;

	(void)flags;
	(void)options;
	o = new_object(OBJECT_MEMORY, num_bytes);
	if (!o)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	*driver_memory = (IpczDriverHandle)o;
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API driver_get_shared_memory_info(
	IpczDriverHandle driver_memory, uint32_t flags, const void *options,
	struct IpczSharedMemoryInfo *info)
{
	struct driver_object *o = from_driver_handle(driver_memory);

	(void)flags;
	(void)options;
	if (!o || o->kind != OBJECT_MEMORY || !info ||
	    info->size < sizeof(*info))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	info->region_num_bytes = o->num_bytes;
	return IPCZ_RESULT_OK;
}

/* A duplicate is one more reference to the same heap region. */
static IpczResult IPCZ_API driver_duplicate_shared_memory(
	IpczDriverHandle driver_memory, uint32_t flags, const void *options,
	IpczDriverHandle *new_driver_memory)
{
	struct driver_object *o = from_driver_handle(driver_memory);

	(void)flags;
	(void)options;
	if (!o || o->kind != OBJECT_MEMORY)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	o->refs++;
	*new_driver_memory = driver_memory;
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API driver_map_shared_memory(
	IpczDriverHandle driver_memory, uint32_t flags, const void *options,
	volatile void **address, IpczDriverHandle *driver_mapping)
{
	struct driver_object *o = from_driver_handle(driver_memory);
	struct driver_object *m;

	(void)flags;
	(void)options;
	if (!o || o->kind != OBJECT_MEMORY)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	m = (struct driver_object *)calloc(1, sizeof(*m));
	if (!m)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	objects_alive++;
	m->kind = OBJECT_MAPPING;
	m->region = o;
	o->refs++;
	*address = o->bytes;
	*driver_mapping = (IpczDriverHandle)m;
	return IPCZ_RESULT_OK;
}

/* Not cryptographic: enough for node names inside one test process. */
static IpczResult IPCZ_API driver_generate_random_bytes(size_t num_bytes,
							uint32_t flags,
							const void *options,
							void *buffer)
{
	static uint64_t state = 0x9e3779b97f4a7c15u;
	unsigned char *out = (unsigned char *)buffer;
	size_t i;

	(void)flags;
	(void)options;
	for (i = 0; i < num_bytes; i++) {
		state ^= state << 13;
		state ^= state >> 7;
		state ^= state << 17;
		out[i] = (unsigned char)state;
	}
	return IPCZ_RESULT_OK;
}

/* Positional initialisation: the order of the table is checked too. */
static const struct IpczDriver test_driver = {
	sizeof(struct IpczDriver),
	driver_close,
	driver_serialize,
	driver_deserialize,
	driver_create_transports,
	driver_activate_transport,
	driver_deactivate_transport,
	driver_transmit,
	driver_report_bad_transport_activity,
	driver_allocate_shared_memory,
	driver_get_shared_memory_info,
	driver_duplicate_shared_memory,
	driver_map_shared_memory,
	driver_generate_random_bytes,
};

/* An IpczTransportActivityHandler, to check that typedef's signature. */
static IpczResult IPCZ_API unused_activity_handler(
	IpczHandle listener, const void *data, size_t num_bytes,
	const IpczDriverHandle *driver_handles, size_t num_driver_handles,
	IpczTransportActivityFlags flags, const void *options)
{
	(void)listener;
	(void)data;
	(void)num_bytes;
	(void)driver_handles;
	(void)num_driver_handles;
	(void)flags;
	(void)options;
	return IPCZ_RESULT_OK;
}

/* ---- TAP ---- */

static int test_number;
static int tests_failed;

static void report(int ok, const char *name)
{
	test_number++;
	if (!ok)
		tests_failed++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", test_number, name);
}

#define EXPECT(cond)                                                  \
	do {                                                          \
		if (!(cond)) {                                        \
			printf("# %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			ok = 0;                                       \
		}                                                     \
	} while (0)

static struct IpczAPI api;

/* ---- IpczGetAPI() and the size of the table ---- */

static void test_get_api_rejects_null(void)
{
	int ok = 1;

	EXPECT(IpczGetAPI(NULL) == IPCZ_RESULT_INVALID_ARGUMENT);
	report(ok, "IpczGetAPI(NULL) is INVALID_ARGUMENT");
}

static void test_get_api_rejects_small_size(void)
{
	struct IpczAPI table;
	const size_t version0 =
		offsetof(struct IpczAPI, Unbox) + sizeof(table.Unbox);
	const size_t sizes[] = { 0, 1, sizeof(size_t), version0 - 1 };
	size_t i;
	int ok = 1;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&table, 0, sizeof(table));
		table.size = sizes[i];
		EXPECT(IpczGetAPI(&table) == IPCZ_RESULT_INVALID_ARGUMENT);
		EXPECT(table.size == sizes[i]);
		EXPECT(table.Close == NULL && table.Unbox == NULL);
	}
	report(ok, "IpczGetAPI refuses a size below the first table version");
}

static int table_is_complete(const struct IpczAPI *t)
{
	return t->Close && t->CreateNode && t->ConnectNode && t->OpenPortals &&
	       t->MergePortals && t->QueryPortalStatus && t->Put &&
	       t->BeginPut && t->EndPut && t->Get && t->BeginGet &&
	       t->EndGet && t->Trap && t->Reject && t->Box && t->Unbox;
}

static void test_get_api_exact_size(void)
{
	int ok = 1;

	memset(&api, 0, sizeof(api));
	api.size = sizeof(api);
	EXPECT(IpczGetAPI(&api) == IPCZ_RESULT_OK);
	EXPECT(api.size == sizeof(struct IpczAPI));
	EXPECT(table_is_complete(&api));
	report(ok, "IpczGetAPI fills the whole table at its exact size");
}

static void test_get_api_larger_size(void)
{
	/* A caller built against a later header with a longer table. */
	struct {
		struct IpczAPI table;
		unsigned char later_entries[64];
	} newer;
	size_t i;
	int ok = 1;

	memset(&newer, 0xa5, sizeof(newer));
	newer.table.size = sizeof(newer);
	EXPECT(IpczGetAPI(&newer.table) == IPCZ_RESULT_OK);
	EXPECT(newer.table.size == sizeof(struct IpczAPI));
	EXPECT(table_is_complete(&newer.table));
	for (i = 0; i < sizeof(newer.later_entries); i++)
		EXPECT(newer.later_entries[i] == 0xa5);
	EXPECT(memcmp(&newer.table, &api, sizeof(api)) == 0);
	report(ok, "IpczGetAPI reports a smaller size to a newer caller and "
		   "writes nothing past its table");
}

/* ---- every IpczAPI entry, reached through the table ---- */

static IpczHandle node;

static void test_create_node(void)
{
	const IpczFeature enabled[] = { IPCZ_FEATURE_MEM_V2 };
	const IpczFeature disabled[] = { IPCZ_FEATURE_MEM_V2 };
	struct IpczCreateNodeOptions options;
	IpczHandle broker = IPCZ_INVALID_HANDLE;
	IpczCreateNodeFlags flags = IPCZ_CREATE_NODE_AS_BROKER;
	int ok = 1;

	memset(&options, 0, sizeof(options));
	options.size = sizeof(options);
	options.memory_flags = IPCZ_MEMORY_FIXED_PARCEL_CAPACITY;
	options.enabled_features = enabled;
	options.num_enabled_features = 1;
	options.disabled_features = disabled;
	options.num_disabled_features = 1;
	EXPECT(api.CreateNode(&test_driver, flags, &options, &broker) ==
	       IPCZ_RESULT_OK);
	EXPECT(broker != IPCZ_INVALID_HANDLE);
	EXPECT(api.Close(broker, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);

	EXPECT(api.CreateNode(&test_driver, IPCZ_NO_FLAGS, NULL, &node) ==
	       IPCZ_RESULT_OK);
	EXPECT(node != IPCZ_INVALID_HANDLE);
	report(ok, "CreateNode with our own driver, options and flags");
}

static void test_connect_node_without_transport(void)
{
	const IpczConnectNodeFlags all_flags =
		IPCZ_CONNECT_NODE_TO_BROKER | IPCZ_CONNECT_NODE_INHERIT_BROKER |
		IPCZ_CONNECT_NODE_SHARE_BROKER |
		IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE;
	IpczHandle portals[2];
	int ok = 1;

	EXPECT(api.ConnectNode(node, IPCZ_INVALID_DRIVER_HANDLE, 2,
			       IPCZ_CONNECT_NODE_TO_BROKER, NULL,
			       portals) == IPCZ_RESULT_INVALID_ARGUMENT);
	EXPECT(api.ConnectNode(IPCZ_INVALID_HANDLE, IPCZ_INVALID_DRIVER_HANDLE,
			       2, all_flags, NULL,
			       portals) == IPCZ_RESULT_INVALID_ARGUMENT);
	report(ok, "ConnectNode refuses an invalid transport");
}

static void test_put_get_status(void)
{
	IpczHandle a, b, parcel = IPCZ_INVALID_HANDLE;
	struct IpczPortalStatus status;
	char buffer[8] = { 0 };
	size_t num_bytes = sizeof(buffer), num_handles = 0;
	IpczPortalStatusFlags peer_gone =
		IPCZ_PORTAL_STATUS_PEER_CLOSED | IPCZ_PORTAL_STATUS_DEAD;
	int ok = 1;

	EXPECT(api.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &a, &b) ==
	       IPCZ_RESULT_OK);
	EXPECT(api.Put(a, "hello", 5, NULL, 0, IPCZ_NO_FLAGS, NULL) ==
	       IPCZ_RESULT_OK);

	memset(&status, 0, sizeof(status));
	status.size = sizeof(status);
	EXPECT(api.QueryPortalStatus(b, IPCZ_NO_FLAGS, NULL, &status) ==
	       IPCZ_RESULT_OK);
	EXPECT(status.num_local_parcels == 1 && status.num_local_bytes == 5);
	EXPECT((status.flags & peer_gone) == 0);

	EXPECT(api.Get(b, IPCZ_GET_PARTIAL, NULL, buffer, &num_bytes, NULL,
		       &num_handles, &parcel) == IPCZ_RESULT_OK);
	EXPECT(num_bytes == 5 && memcmp(buffer, "hello", 5) == 0);
	EXPECT(num_handles == 0);
	/* A parcel that never left this node cannot be rejected. */
	EXPECT(api.Reject(parcel, 42, IPCZ_NO_FLAGS, NULL) ==
	       IPCZ_RESULT_FAILED_PRECONDITION);
	EXPECT(bad_activity_reports == 0);
	EXPECT(api.Close(parcel, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);

	EXPECT(api.Close(a, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	EXPECT(api.QueryPortalStatus(b, IPCZ_NO_FLAGS, NULL, &status) ==
	       IPCZ_RESULT_OK);
	EXPECT((status.flags & peer_gone) == peer_gone);
	EXPECT(api.Close(b, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	report(ok, "OpenPortals, Put, QueryPortalStatus, Get, Reject, Close");
}

static void test_two_phase(void)
{
	IpczHandle a, b;
	volatile void *out = NULL;
	const volatile void *in = NULL;
	size_t num_bytes = 4, num_handles = 0;
	IpczTransaction put, get;
	IpczBeginPutFlags put_flags = IPCZ_BEGIN_PUT_ALLOW_PARTIAL;
	IpczEndPutFlags end_put_flags = IPCZ_NO_FLAGS;
	IpczBeginGetFlags get_flags =
		IPCZ_BEGIN_GET_PARTIAL | IPCZ_BEGIN_GET_OVERLAPPED;
	IpczEndGetFlags end_get_flags = IPCZ_END_GET_ABORT;
	int ok = 1;

	EXPECT(api.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &a, &b) ==
	       IPCZ_RESULT_OK);

	/* An aborted put sends nothing. */
	EXPECT(api.BeginPut(a, IPCZ_NO_FLAGS, NULL, &out, &num_bytes, &put) ==
	       IPCZ_RESULT_OK);
	EXPECT(api.EndPut(a, put, 0, NULL, 0, IPCZ_END_PUT_ABORT, NULL) ==
	       IPCZ_RESULT_OK);

	num_bytes = 4;
	EXPECT(api.BeginPut(a, put_flags, NULL, &out, &num_bytes, &put) ==
	       IPCZ_RESULT_OK);
	EXPECT(out != NULL && num_bytes >= 1);
	if (out && num_bytes >= 1)
		((volatile char *)out)[0] = 'z';
	EXPECT(api.EndPut(a, put, 1, NULL, 0, end_put_flags, NULL) ==
	       IPCZ_RESULT_OK);

	num_bytes = 0;
	EXPECT(api.BeginGet(b, get_flags, NULL, &in, &num_bytes, NULL,
			    &num_handles, &get) == IPCZ_RESULT_OK);
	EXPECT(num_bytes == 1 && in && ((const volatile char *)in)[0] == 'z');
	EXPECT(api.EndGet(b, get, end_get_flags, NULL, NULL) ==
	       IPCZ_RESULT_OK);

	EXPECT(api.Close(a, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	EXPECT(api.Close(b, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	report(ok, "BeginPut/EndPut and BeginGet/EndGet");
}

static void test_merge(void)
{
	IpczHandle a, b, c, d;
	char byte = 0;
	size_t num_bytes = 1;
	int ok = 1;

	EXPECT(api.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &a, &b) ==
	       IPCZ_RESULT_OK);
	EXPECT(api.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &c, &d) ==
	       IPCZ_RESULT_OK);
	EXPECT(api.MergePortals(b, c, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	EXPECT(api.Put(a, "m", 1, NULL, 0, IPCZ_NO_FLAGS, NULL) ==
	       IPCZ_RESULT_OK);
	EXPECT(api.Get(d, IPCZ_NO_FLAGS, NULL, &byte, &num_bytes, NULL, NULL,
		       NULL) == IPCZ_RESULT_OK);
	EXPECT(byte == 'm');
	EXPECT(api.Close(a, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	EXPECT(api.Close(d, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	report(ok, "MergePortals joins two routes");
}

static struct IpczTrapEvent last_event;
static struct IpczPortalStatus last_status;
static int trap_events;

static void IPCZ_API record_event(const struct IpczTrapEvent *event)
{
	last_event = *event;
	last_status = *event->status;
	trap_events++;
}

static void test_trap(void)
{
	IpczHandle a, b;
	struct IpczTrapConditions conditions;
	IpczTrapConditionFlags satisfied = 0;
	struct IpczPortalStatus status;
	IpczTrapEventHandler handler = record_event;
	const IpczTrapConditionFlags level =
		IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_DEAD |
		IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS |
		IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES;
	int ok = 1;

	EXPECT(api.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &a, &b) ==
	       IPCZ_RESULT_OK);
	memset(&conditions, 0, sizeof(conditions));
	conditions.size = sizeof(conditions);
	conditions.flags = IPCZ_TRAP_NEW_LOCAL_PARCEL | level;
	conditions.min_local_parcels = 5;
	conditions.min_local_bytes = 100;
	EXPECT(api.Trap(b, &conditions, handler, 0x5eed, IPCZ_NO_FLAGS, NULL,
			&satisfied, NULL) == IPCZ_RESULT_OK);
	EXPECT(api.Put(a, "t", 1, NULL, 0, IPCZ_NO_FLAGS, NULL) ==
	       IPCZ_RESULT_OK);
	EXPECT(trap_events == 1);
	EXPECT(last_event.size >= sizeof(struct IpczTrapEvent));
	EXPECT(last_event.context == 0x5eed);
	EXPECT(last_event.condition_flags & IPCZ_TRAP_NEW_LOCAL_PARCEL);
	EXPECT(last_event.condition_flags & IPCZ_TRAP_WITHIN_API_CALL);
	EXPECT(last_status.size >= sizeof(struct IpczPortalStatus));
	EXPECT(last_status.num_local_parcels == 1);

	/* Now one parcel is queued: ABOVE_MIN_LOCAL_PARCELS(0) holds. */
	conditions.flags = IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS;
	conditions.min_local_parcels = 0;
	memset(&status, 0, sizeof(status));
	status.size = sizeof(status);
	EXPECT(api.Trap(b, &conditions, handler, 1, IPCZ_NO_FLAGS, NULL,
			&satisfied, &status) ==
	       IPCZ_RESULT_FAILED_PRECONDITION);
	EXPECT(satisfied == IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS);
	EXPECT(status.num_local_parcels == 1);

	/* A trap still installed at Close() sees IPCZ_TRAP_REMOVED. */
	conditions.flags = IPCZ_TRAP_PEER_CLOSED;
	EXPECT(api.Trap(b, &conditions, handler, 2, IPCZ_NO_FLAGS, NULL,
			NULL, NULL) == IPCZ_RESULT_OK);
	EXPECT(api.Close(b, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	EXPECT(trap_events == 2);
	EXPECT(last_event.context == 2);
	EXPECT(last_event.condition_flags & IPCZ_TRAP_REMOVED);
	EXPECT(api.Close(a, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	report(ok, "Trap: event fields, FAILED_PRECONDITION, REMOVED");
}

static void test_box_driver_object(void)
{
	struct driver_object *blob = new_object(OBJECT_BLOB, 3);
	struct IpczBoxContents contents;
	IpczHandle a, b, box = IPCZ_INVALID_HANDLE;
	size_t num_handles = 1;
	IpczBoxType type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	IpczUnboxFlags peek = IPCZ_UNBOX_PEEK;
	int closed_before = objects_closed;
	int ok = 1;

	EXPECT(blob != NULL);
	if (!blob) {
		report(ok, "Box/Unbox a driver object through a portal");
		return;
	}
	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	contents.type = type;
	contents.object.driver_object = (IpczDriverHandle)blob;
	EXPECT(api.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box) ==
	       IPCZ_RESULT_OK);

	EXPECT(api.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &a, &b) ==
	       IPCZ_RESULT_OK);
	EXPECT(api.Put(a, NULL, 0, &box, 1, IPCZ_NO_FLAGS, NULL) ==
	       IPCZ_RESULT_OK);
	EXPECT(serialize_queries > 0);
	box = IPCZ_INVALID_HANDLE;
	EXPECT(api.Get(b, IPCZ_NO_FLAGS, NULL, NULL, NULL, &box, &num_handles,
		       NULL) == IPCZ_RESULT_OK);
	EXPECT(num_handles == 1);

	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	EXPECT(api.Unbox(box, peek, NULL, &contents) == IPCZ_RESULT_OK);
	EXPECT(contents.type == IPCZ_BOX_TYPE_DRIVER_OBJECT);
	EXPECT(contents.object.driver_object == (IpczDriverHandle)blob);
	EXPECT(api.Unbox(box, IPCZ_NO_FLAGS, NULL, &contents) ==
	       IPCZ_RESULT_OK);
	EXPECT(contents.object.driver_object == (IpczDriverHandle)blob);
	EXPECT(objects_closed == closed_before);
	EXPECT(test_driver.Close(contents.object.driver_object, IPCZ_NO_FLAGS,
				 NULL) == IPCZ_RESULT_OK);

	/* Closing a box closes its driver object through the driver. */
	blob = new_object(OBJECT_BLOB, 1);
	EXPECT(blob != NULL);
	contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	contents.object.driver_object = (IpczDriverHandle)blob;
	closed_before = objects_closed;
	EXPECT(api.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box) ==
	       IPCZ_RESULT_OK);
	EXPECT(api.Close(box, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	EXPECT(objects_closed == closed_before + 1);

	EXPECT(api.Close(a, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	EXPECT(api.Close(b, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	report(ok, "Box/Unbox a driver object through a portal");
}

static uintptr_t destroyed_object;

static IpczResult serialize_app_object(uintptr_t object, uint32_t flags,
				       const void *options,
				       volatile void *data, size_t *num_bytes,
				       IpczHandle *handles,
				       size_t *num_handles)
{
	(void)object;
	(void)flags;
	(void)options;
	(void)data;
	(void)num_bytes;
	(void)handles;
	(void)num_handles;
	return IPCZ_RESULT_FAILED_PRECONDITION;
}

static void destroy_app_object(uintptr_t object, uint32_t flags,
			       const void *options)
{
	(void)flags;
	(void)options;
	destroyed_object = object;
}

static void test_box_application_object(void)
{
	struct IpczBoxContents contents;
	IpczApplicationObjectSerializer serializer = serialize_app_object;
	IpczApplicationObjectDestructor destructor = destroy_app_object;
	IpczHandle box = IPCZ_INVALID_HANDLE;
	int ok = 1;

	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	contents.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT;
	contents.object.application_object = 0xab;
	contents.serializer = serializer;
	contents.destructor = destructor;
	EXPECT(api.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box) ==
	       IPCZ_RESULT_OK);
	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	EXPECT(api.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &contents) ==
	       IPCZ_RESULT_OK);
	EXPECT(contents.type == IPCZ_BOX_TYPE_APPLICATION_OBJECT);
	EXPECT(contents.object.application_object == 0xab);
	EXPECT(contents.serializer == serializer);
	EXPECT(contents.destructor == destructor);
	EXPECT(api.Close(box, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	EXPECT(destroyed_object == 0xab);
	/* IPCZ_BOX_TYPE_SUBPARCEL is only ever made by ipcz itself. */
	EXPECT(IPCZ_BOX_TYPE_SUBPARCEL != contents.type);
	report(ok, "Box/Unbox an application object; Close runs its "
		   "destructor");
}

static void test_close_node(void)
{
	int ok = 1;

	EXPECT(api.Close(node, IPCZ_NO_FLAGS, NULL) == IPCZ_RESULT_OK);
	EXPECT(objects_alive == 0);
	report(ok, "Close the node; every driver object was released");
}

/* The driver's remaining typedefs, used the way an application would. */
static void check_driver_types(void)
{
	IpczTransportActivityHandler handler = unused_activity_handler;
	IpczTransportActivityFlags flags =
		IPCZ_TRANSPORT_ACTIVITY_ERROR |
		IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED;
	struct IpczSharedMemoryInfo info;
	IpczDriverHandle memory = IPCZ_INVALID_DRIVER_HANDLE;
	IpczDriverHandle duplicate = IPCZ_INVALID_DRIVER_HANDLE;
	IpczDriverHandle mapping = IPCZ_INVALID_DRIVER_HANDLE;
	volatile void *address = NULL;
	IpczGetAPIFn get_api = IpczGetAPI;
	int ok = 1;

	EXPECT(handler(IPCZ_INVALID_HANDLE, NULL, 0, NULL, 0, flags, NULL) ==
	       IPCZ_RESULT_OK);
	EXPECT(get_api == IpczGetAPI);
	EXPECT(test_driver.AllocateSharedMemory(64, IPCZ_NO_FLAGS, NULL,
						&memory) == IPCZ_RESULT_OK);
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	EXPECT(test_driver.GetSharedMemoryInfo(memory, IPCZ_NO_FLAGS, NULL,
					       &info) == IPCZ_RESULT_OK);
	EXPECT(info.region_num_bytes == 64);
	EXPECT(test_driver.DuplicateSharedMemory(memory, IPCZ_NO_FLAGS, NULL,
						 &duplicate) ==
	       IPCZ_RESULT_OK);
	EXPECT(test_driver.MapSharedMemory(duplicate, IPCZ_NO_FLAGS, NULL,
					   &address, &mapping) ==
	       IPCZ_RESULT_OK);
	EXPECT(test_driver.Close(memory, IPCZ_NO_FLAGS, NULL) ==
	       IPCZ_RESULT_OK);
	EXPECT(test_driver.Close(duplicate, IPCZ_NO_FLAGS, NULL) ==
	       IPCZ_RESULT_OK);
	if (address)
		((volatile char *)address)[63] = 1;
	EXPECT(test_driver.Close(mapping, IPCZ_NO_FLAGS, NULL) ==
	       IPCZ_RESULT_OK);
	EXPECT(objects_alive == 0);
	report(ok, "the test driver's own memory functions");
}

int main(void)
{
	printf("TAP version 13\n1..14\n");
	test_get_api_rejects_null();
	test_get_api_rejects_small_size();
	test_get_api_exact_size();
	test_get_api_larger_size();
	check_driver_types();
	if (!table_is_complete(&api)) {
		printf("Bail out! IpczGetAPI gave no usable table\n");
		return 1;
	}
	test_create_node();
	test_connect_node_without_transport();
	test_put_get_status();
	test_two_phase();
	test_merge();
	test_trap();
	test_box_driver_object();
	test_box_application_object();
	test_close_node();
	return tests_failed ? 1 : 0;
}
