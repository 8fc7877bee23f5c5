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
/* C99: a negative array size stops the build. */
#define ABI_CONCAT2(a, b) a##b
#define ABI_CONCAT(a, b) ABI_CONCAT2(a, b)
#define ABI_ASSERT(cond) \
	typedef char ABI_CONCAT(abi_assert_line_, __LINE__)[(cond) ? 1 : -1]
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

ABI_ASSERT(IPCZ_RESULT_OK == 0);
ABI_ASSERT(IPCZ_RESULT_CANCELLED == 1);
ABI_ASSERT(IPCZ_RESULT_UNKNOWN == 2);
ABI_ASSERT(IPCZ_RESULT_INVALID_ARGUMENT == 3);
ABI_ASSERT(IPCZ_RESULT_DEADLINE_EXCEEDED == 4);
ABI_ASSERT(IPCZ_RESULT_NOT_FOUND == 5);
ABI_ASSERT(IPCZ_RESULT_ALREADY_EXISTS == 6);
ABI_ASSERT(IPCZ_RESULT_PERMISSION_DENIED == 7);
ABI_ASSERT(IPCZ_RESULT_RESOURCE_EXHAUSTED == 8);
ABI_ASSERT(IPCZ_RESULT_FAILED_PRECONDITION == 9);
ABI_ASSERT(IPCZ_RESULT_ABORTED == 10);
ABI_ASSERT(IPCZ_RESULT_OUT_OF_RANGE == 11);
ABI_ASSERT(IPCZ_RESULT_UNIMPLEMENTED == 12);
ABI_ASSERT(IPCZ_RESULT_INTERNAL == 13);
ABI_ASSERT(IPCZ_RESULT_UNAVAILABLE == 14);
ABI_ASSERT(IPCZ_RESULT_DATA_LOSS == 15);

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
ABI_ASSERT(sizeof(IpczTransportActivityFlags) == 4);
ABI_ASSERT(sizeof(IpczMemoryFlags) == 4);
ABI_ASSERT(sizeof(IpczFeature) == 4);
ABI_ASSERT(sizeof(IpczCreateNodeFlags) == 4);
ABI_ASSERT(sizeof(IpczConnectNodeFlags) == 4);
ABI_ASSERT(sizeof(IpczBeginPutFlags) == 4);
ABI_ASSERT(sizeof(IpczEndPutFlags) == 4);
ABI_ASSERT(sizeof(IpczGetFlags) == 4);
ABI_ASSERT(sizeof(IpczBeginGetFlags) == 4);
ABI_ASSERT(sizeof(IpczEndGetFlags) == 4);
ABI_ASSERT(sizeof(IpczBoxType) == 4);
ABI_ASSERT(sizeof(IpczUnboxFlags) == 4);
ABI_ASSERT(sizeof(IpczPortalStatusFlags) == 4);
ABI_ASSERT(sizeof(IpczTrapConditionFlags) == 4);

/* Every struct is 8-byte aligned, on every target. */
ABI_ASSERT(ABI_ALIGNOF(struct IpczSharedMemoryInfo) == 8);
ABI_ASSERT(ABI_ALIGNOF(struct IpczDriver) == 8);
ABI_ASSERT(ABI_ALIGNOF(struct IpczCreateNodeOptions) == 8);
ABI_ASSERT(ABI_ALIGNOF(struct IpczBoxContents) == 8);
ABI_ASSERT(ABI_ALIGNOF(struct IpczPortalStatus) == 8);
ABI_ASSERT(ABI_ALIGNOF(struct IpczTrapConditions) == 8);
ABI_ASSERT(ABI_ALIGNOF(struct IpczTrapEvent) == 8);
ABI_ASSERT(ABI_ALIGNOF(struct IpczAPI) == 8);

#if UINTPTR_MAX == 0xffffffffffffffffu && SIZE_MAX == 0xffffffffffffffffu
/* Layouts on 64-bit targets (x86_64, aarch64, ...). */
ABI_ASSERT(sizeof(struct IpczSharedMemoryInfo) == 16);
ABI_FIELD(IpczSharedMemoryInfo, size, 0, 8);
ABI_FIELD(IpczSharedMemoryInfo, region_num_bytes, 8, 8);

ABI_ASSERT(sizeof(struct IpczDriver) == 112);
ABI_FIELD(IpczDriver, size, 0, 8);
ABI_FIELD(IpczDriver, Close, 8, 8);
ABI_FIELD(IpczDriver, Serialize, 16, 8);
ABI_FIELD(IpczDriver, Deserialize, 24, 8);
ABI_FIELD(IpczDriver, CreateTransports, 32, 8);
ABI_FIELD(IpczDriver, ActivateTransport, 40, 8);
ABI_FIELD(IpczDriver, DeactivateTransport, 48, 8);
ABI_FIELD(IpczDriver, Transmit, 56, 8);
ABI_FIELD(IpczDriver, ReportBadTransportActivity, 64, 8);
ABI_FIELD(IpczDriver, AllocateSharedMemory, 72, 8);
ABI_FIELD(IpczDriver, GetSharedMemoryInfo, 80, 8);
ABI_FIELD(IpczDriver, DuplicateSharedMemory, 88, 8);
ABI_FIELD(IpczDriver, MapSharedMemory, 96, 8);
ABI_FIELD(IpczDriver, GenerateRandomBytes, 104, 8);

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
ABI_FIELD(IpczAPI, size, 0, 8);
ABI_FIELD(IpczAPI, Close, 8, 8);
ABI_FIELD(IpczAPI, CreateNode, 16, 8);
ABI_FIELD(IpczAPI, ConnectNode, 24, 8);
ABI_FIELD(IpczAPI, OpenPortals, 32, 8);
ABI_FIELD(IpczAPI, MergePortals, 40, 8);
ABI_FIELD(IpczAPI, QueryPortalStatus, 48, 8);
ABI_FIELD(IpczAPI, Put, 56, 8);
ABI_FIELD(IpczAPI, BeginPut, 64, 8);
ABI_FIELD(IpczAPI, EndPut, 72, 8);
ABI_FIELD(IpczAPI, Get, 80, 8);
ABI_FIELD(IpczAPI, BeginGet, 88, 8);
ABI_FIELD(IpczAPI, EndGet, 96, 8);
ABI_FIELD(IpczAPI, Trap, 104, 8);
ABI_FIELD(IpczAPI, Reject, 112, 8);
ABI_FIELD(IpczAPI, Box, 120, 8);
ABI_FIELD(IpczAPI, Unbox, 128, 8);
#endif

#endif /* IPCZ_TESTS_ABI_LAYOUT_H */
