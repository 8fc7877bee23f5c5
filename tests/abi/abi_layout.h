/* SPDX-License-Identifier: MIT */
/*
 * Compile-time facts about the ipcz ABI, shared by the C and the C++ ABI
 * programs. Every number here was measured on upstream ipcz's public header
 * (krockot/ipcz 61a1ab7, April 2024) with gcc on x86_64, and must hold for
 * include/ipcz/ipcz.h as well: a program built against either header gets
 * the same layout.
 */
#ifndef IPCZ_TESTS_ABI_LAYOUT_H
#define IPCZ_TESTS_ABI_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"

#if defined(__cplusplus)
#define ABI_ASSERT(cond) static_assert(cond, #cond)
#define ABI_ALIGNOF(t) alignof(t)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define ABI_ASSERT(cond) _Static_assert(cond, #cond)
#define ABI_ALIGNOF(t) _Alignof(t)
#else
/*
 * C99: a negative array size stops the build. The typedef needs a name of
 * its own even when a list below puts several assertions on one line.
 */
#define ABI_CONCAT2(a, b) a##b
#define ABI_CONCAT(a, b) ABI_CONCAT2(a, b)
#if defined(__COUNTER__)
#define ABI_UNIQUE __COUNTER__
#else
#define ABI_UNIQUE __LINE__
#endif
#define ABI_ASSERT(cond) \
	typedef char ABI_CONCAT(abi_assert_, ABI_UNIQUE)[(cond) ? 1 : -1]
#define ABI_ALIGNOF(t) offsetof(struct { char c; t m; }, m)
#endif

/* Field `f` of struct `s` lies at byte `off` and is `sz` bytes wide. */
#define ABI_FIELD(s, f, off, sz)                     \
	ABI_ASSERT(offsetof(struct s, f) == (off) && \
		   sizeof(((struct s *)0)->f) == (sz))

/* Values, the same on every target. */
ABI_ASSERT(IPCZ_NO_FLAGS == 0);
ABI_ASSERT(IPCZ_INVALID_HANDLE == 0);
ABI_ASSERT(IPCZ_INVALID_DRIVER_HANDLE == 0);

/* The result codes, numbered from 0 in this order. */
#define ABI_RESULTS(X) \
	X(OK) X(CANCELLED) X(UNKNOWN) X(INVALID_ARGUMENT) \
	X(DEADLINE_EXCEEDED) X(NOT_FOUND) X(ALREADY_EXISTS) \
	X(PERMISSION_DENIED) X(RESOURCE_EXHAUSTED) X(FAILED_PRECONDITION) \
	X(ABORTED) X(OUT_OF_RANGE) X(UNIMPLEMENTED) X(INTERNAL) \
	X(UNAVAILABLE) X(DATA_LOSS)

#define ABI_RESULT_NUMBER(name) abi_result_##name,
enum abi_result_number { ABI_RESULTS(ABI_RESULT_NUMBER) ABI_NUM_RESULTS };
#define ABI_RESULT_VALUE(name) \
	ABI_ASSERT(IPCZ_RESULT_##name == abi_result_##name);
ABI_RESULTS(ABI_RESULT_VALUE)
ABI_ASSERT(ABI_NUM_RESULTS == 16);

ABI_ASSERT(IPCZ_FLAG_BIT(0) == 1u);
ABI_ASSERT(IPCZ_FLAG_BIT(31) == 0x80000000u);
ABI_ASSERT(IPCZ_ALIGNED(0, 8) == 0);
ABI_ASSERT(IPCZ_ALIGNED(1, 8) == 8);
ABI_ASSERT(IPCZ_ALIGNED(8, 8) == 8);
ABI_ASSERT(IPCZ_ALIGNED(13, 16) == 16);

ABI_ASSERT(IPCZ_TRANSPORT_ACTIVITY_ERROR == 0x1);
ABI_ASSERT(IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED == 0x2);
ABI_ASSERT(IPCZ_MEMORY_FIXED_PARCEL_CAPACITY == 0x1);
ABI_ASSERT(IPCZ_FEATURE_MEM_V2 == 0xA110C002u);
ABI_ASSERT(IPCZ_CREATE_NODE_AS_BROKER == 0x1);
ABI_ASSERT(IPCZ_CONNECT_NODE_TO_BROKER == 0x1);
ABI_ASSERT(IPCZ_CONNECT_NODE_INHERIT_BROKER == 0x2);
ABI_ASSERT(IPCZ_CONNECT_NODE_SHARE_BROKER == 0x4);
ABI_ASSERT(IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE == 0x8);
ABI_ASSERT(IPCZ_BEGIN_PUT_ALLOW_PARTIAL == 0x1);
ABI_ASSERT(IPCZ_END_PUT_ABORT == 0x1);
ABI_ASSERT(IPCZ_GET_PARTIAL == 0x1);
ABI_ASSERT(IPCZ_BEGIN_GET_PARTIAL == 0x1);
ABI_ASSERT(IPCZ_BEGIN_GET_OVERLAPPED == 0x2);
ABI_ASSERT(IPCZ_END_GET_ABORT == 0x1);
ABI_ASSERT(IPCZ_BOX_TYPE_DRIVER_OBJECT == 0);
ABI_ASSERT(IPCZ_BOX_TYPE_APPLICATION_OBJECT == 1);
ABI_ASSERT(IPCZ_BOX_TYPE_SUBPARCEL == 2);
ABI_ASSERT(IPCZ_UNBOX_PEEK == 0x1);
ABI_ASSERT(IPCZ_PORTAL_STATUS_PEER_CLOSED == 0x1);
ABI_ASSERT(IPCZ_PORTAL_STATUS_DEAD == 0x2);
ABI_ASSERT(IPCZ_TRAP_REMOVED == 0x1);
ABI_ASSERT(IPCZ_TRAP_PEER_CLOSED == 0x2);
ABI_ASSERT(IPCZ_TRAP_DEAD == 0x4);
ABI_ASSERT(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS == 0x8);
ABI_ASSERT(IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES == 0x10);
ABI_ASSERT(IPCZ_TRAP_NEW_LOCAL_PARCEL == 0x80);
ABI_ASSERT(IPCZ_TRAP_WITHIN_API_CALL == 0x200);

/* Scalar types. */
ABI_ASSERT(sizeof(IpczHandle) == sizeof(uintptr_t));
ABI_ASSERT(sizeof(IpczDriverHandle) == sizeof(uintptr_t));
ABI_ASSERT(sizeof(IpczTransaction) == sizeof(uintptr_t));
ABI_ASSERT(sizeof(IpczResult) == sizeof(int));

/* The flag and enumeration types: 32 bits each. */
#define ABI_32_BIT_TYPES(X) \
	X(IpczTransportActivityFlags) X(IpczMemoryFlags) X(IpczFeature) \
	X(IpczCreateNodeFlags) X(IpczConnectNodeFlags) X(IpczBeginPutFlags) \
	X(IpczEndPutFlags) X(IpczGetFlags) X(IpczBeginGetFlags) \
	X(IpczEndGetFlags) X(IpczBoxType) X(IpczUnboxFlags) \
	X(IpczPortalStatusFlags) X(IpczTrapConditionFlags)

#define ABI_32_BITS(type) ABI_ASSERT(sizeof(type) == 4);
ABI_32_BIT_TYPES(ABI_32_BITS)

/* Every struct is 8-byte aligned, on every target. */
#define ABI_STRUCTS(X) \
	X(IpczSharedMemoryInfo) X(IpczDriver) X(IpczCreateNodeOptions) \
	X(IpczBoxContents) X(IpczPortalStatus) X(IpczTrapConditions) \
	X(IpczTrapEvent) X(IpczAPI)

#define ABI_ALIGNED_8(s) ABI_ASSERT(ABI_ALIGNOF(struct s) == 8);
ABI_STRUCTS(ABI_ALIGNED_8)

/*
 * The function tables: `size`, then one pointer per function, in this
 * order (only ever appended to).
 */
#define ABI_DRIVER_FUNCTIONS(X) \
	X(Close) X(Serialize) X(Deserialize) X(CreateTransports) \
	X(ActivateTransport) X(DeactivateTransport) X(Transmit) \
	X(ReportBadTransportActivity) X(AllocateSharedMemory) \
	X(GetSharedMemoryInfo) X(DuplicateSharedMemory) X(MapSharedMemory) \
	X(GenerateRandomBytes)

#define ABI_API_FUNCTIONS(X) \
	X(Close) X(CreateNode) X(ConnectNode) X(OpenPortals) \
	X(MergePortals) X(QueryPortalStatus) X(Put) X(BeginPut) X(EndPut) \
	X(Get) X(BeginGet) X(EndGet) X(Trap) X(Reject) X(Box) X(Unbox)

#define ABI_DRIVER_SLOT(f) abi_driver_slot_##f,
#define ABI_API_SLOT(f) abi_api_slot_##f,
enum abi_driver_slot {
	ABI_DRIVER_FUNCTIONS(ABI_DRIVER_SLOT) ABI_DRIVER_NUM_FUNCTIONS
};
enum abi_api_slot { ABI_API_FUNCTIONS(ABI_API_SLOT) ABI_API_NUM_FUNCTIONS };

#if UINTPTR_MAX == 0xffffffffffffffffu && SIZE_MAX == 0xffffffffffffffffu
/* Layouts on 64-bit targets (x86_64, aarch64, ...). */
ABI_ASSERT(sizeof(struct IpczSharedMemoryInfo) == 16);
ABI_FIELD(IpczSharedMemoryInfo, size, 0, 8);
ABI_FIELD(IpczSharedMemoryInfo, region_num_bytes, 8, 8);

ABI_ASSERT(sizeof(struct IpczDriver) == 112);
ABI_ASSERT(sizeof(struct IpczDriver) == 8 + 8 * ABI_DRIVER_NUM_FUNCTIONS);
ABI_FIELD(IpczDriver, size, 0, 8);
#define ABI_DRIVER_FIELD(f) \
	ABI_FIELD(IpczDriver, f, 8 + 8 * abi_driver_slot_##f, 8);
ABI_DRIVER_FUNCTIONS(ABI_DRIVER_FIELD)

ABI_ASSERT(sizeof(struct IpczCreateNodeOptions) == 48);
ABI_FIELD(IpczCreateNodeOptions, size, 0, 8);
ABI_FIELD(IpczCreateNodeOptions, memory_flags, 8, 4);
ABI_FIELD(IpczCreateNodeOptions, enabled_features, 16, 8);
ABI_FIELD(IpczCreateNodeOptions, num_enabled_features, 24, 8);
ABI_FIELD(IpczCreateNodeOptions, disabled_features, 32, 8);
ABI_FIELD(IpczCreateNodeOptions, num_disabled_features, 40, 8);

ABI_ASSERT(sizeof(struct IpczBoxContents) == 40);
ABI_FIELD(IpczBoxContents, size, 0, 8);
ABI_FIELD(IpczBoxContents, type, 8, 4);
ABI_FIELD(IpczBoxContents, object, 16, 8);
ABI_FIELD(IpczBoxContents, object.driver_object, 16, 8);
ABI_FIELD(IpczBoxContents, object.application_object, 16, 8);
ABI_FIELD(IpczBoxContents, object.subparcel, 16, 8);
ABI_FIELD(IpczBoxContents, serializer, 24, 8);
ABI_FIELD(IpczBoxContents, destructor, 32, 8);

ABI_ASSERT(sizeof(struct IpczPortalStatus) == 32);
ABI_FIELD(IpczPortalStatus, size, 0, 8);
ABI_FIELD(IpczPortalStatus, flags, 8, 4);
ABI_FIELD(IpczPortalStatus, num_local_parcels, 16, 8);
ABI_FIELD(IpczPortalStatus, num_local_bytes, 24, 8);

ABI_ASSERT(sizeof(struct IpczTrapConditions) == 32);
ABI_FIELD(IpczTrapConditions, size, 0, 8);
ABI_FIELD(IpczTrapConditions, flags, 8, 4);
ABI_FIELD(IpczTrapConditions, min_local_parcels, 16, 8);
ABI_FIELD(IpczTrapConditions, min_local_bytes, 24, 8);

ABI_ASSERT(sizeof(struct IpczTrapEvent) == 32);
ABI_FIELD(IpczTrapEvent, size, 0, 8);
ABI_FIELD(IpczTrapEvent, context, 8, 8);
ABI_FIELD(IpczTrapEvent, condition_flags, 16, 4);
ABI_FIELD(IpczTrapEvent, status, 24, 8);

ABI_ASSERT(sizeof(struct IpczAPI) == 136);
ABI_ASSERT(sizeof(struct IpczAPI) == 8 + 8 * ABI_API_NUM_FUNCTIONS);
ABI_FIELD(IpczAPI, size, 0, 8);
#define ABI_API_FIELD(f) ABI_FIELD(IpczAPI, f, 8 + 8 * abi_api_slot_##f, 8);
ABI_API_FUNCTIONS(ABI_API_FIELD)
#endif

#endif /* IPCZ_TESTS_ABI_LAYOUT_H */
