/* SPDX-License-Identifier: MIT */
/*
 * ipcz.h - the public C ABI of libipcz.
 *
 * This header is source- and binary-compatible with the public header of
 * upstream ipcz (Chromium, April 2024): every type, constant value, struct
 * layout and function-table order below is the same, so that a C (C99 or
 * later) or C++ (C++11 or later) program written against upstream's header
 * builds and runs against libipcz unchanged. Documentation/abi.rst explains
 * how that is checked.
 *
 * Vocabulary:
 *   node     one participant in an ipcz network, usually one per process.
 *            Exactly one node of a network is the broker.
 *   portal   an endpoint of a route. Portals come in entangled pairs; what
 *            is put into one comes out of the other, in order.
 *   parcel   the unit of transfer: bytes plus ipcz handles.
 *   trap     a one-shot observer of portal state changes.
 *   driver   an application-supplied table of I/O primitives (transports,
 *            shared memory, randomness) that ipcz runs on.
 *   box      a handle wrapping a driver object, an application object or a
 *            subparcel, so that it can travel inside parcels.
 *
 * The only symbol libipcz exports is IpczGetAPI(), which fills in an IpczAPI
 * function table; everything else is reached through that table.
 */
#ifndef IPCZ_INCLUDE_IPCZ_IPCZ_H_
#define IPCZ_INCLUDE_IPCZ_IPCZ_H_

#include <stddef.h>
#include <stdint.h>

/* The empty flag set, for any flags argument. */
#define IPCZ_NO_FLAGS ((uint32_t)0)

/* A flag value with only bit `bit` set. */
#define IPCZ_FLAG_BIT(bit) ((uint32_t)(1u << (bit)))

/*
 * An ipcz object handle: a node, portal, parcel, box or transport listener.
 * Zero is never a valid handle; other values are only valid when ipcz
 * returned them and they have not been closed since.
 */
typedef uintptr_t IpczHandle;

#define IPCZ_INVALID_HANDLE ((IpczHandle)0)

/* The result of every ipcz operation; one of the IPCZ_RESULT_* codes. */
typedef int IpczResult;

/*
 * Result codes, following the widespread "canonical status code" numbering.
 * What each one means for a given call is documented with the call; in
 * general:
 */
/* Success. */
#define IPCZ_RESULT_OK ((IpczResult)0)
/* The operation was cancelled. */
#define IPCZ_RESULT_CANCELLED ((IpczResult)1)
/* An error that fits no other code. */
#define IPCZ_RESULT_UNKNOWN ((IpczResult)2)
/* A bad handle, pointer, size, flag or combination of arguments. */
#define IPCZ_RESULT_INVALID_ARGUMENT ((IpczResult)3)
/* A deadline passed before the operation could finish. */
#define IPCZ_RESULT_DEADLINE_EXCEEDED ((IpczResult)4)
/* The other side is gone: a closed peer, a dead portal. */
#define IPCZ_RESULT_NOT_FOUND ((IpczResult)5)
/* Something that may exist only once already does (a transaction). */
#define IPCZ_RESULT_ALREADY_EXISTS ((IpczResult)6)
/* Not allowed (for a driver: not over this transport). */
#define IPCZ_RESULT_PERMISSION_DENIED ((IpczResult)7)
/* A buffer or resource is too small; sizes needed are reported. */
#define IPCZ_RESULT_RESOURCE_EXHAUSTED ((IpczResult)8)
/* The object is not in a state that allows the operation. */
#define IPCZ_RESULT_FAILED_PRECONDITION ((IpczResult)9)
/* The operation was abandoned (for a driver: depends on the transport). */
#define IPCZ_RESULT_ABORTED ((IpczResult)10)
/* A count or size beyond what is supported. */
#define IPCZ_RESULT_OUT_OF_RANGE ((IpczResult)11)
/* Not supported by this implementation or platform. */
#define IPCZ_RESULT_UNIMPLEMENTED ((IpczResult)12)
/* An internal invariant failed. */
#define IPCZ_RESULT_INTERNAL ((IpczResult)13)
/* Nothing there right now; try again later (an empty portal). */
#define IPCZ_RESULT_UNAVAILABLE ((IpczResult)14)
/* Data was lost or corrupted. */
#define IPCZ_RESULT_DATA_LOSS ((IpczResult)15)

/* Gives a struct an explicit alignment, in C and in C++ alike. */
#if defined(__cplusplus)
#define IPCZ_ALIGN(alignment) alignas(alignment)
#elif defined(__GNUC__)
#define IPCZ_ALIGN(alignment) __attribute__((aligned(alignment)))
#elif defined(_MSC_VER)
#define IPCZ_ALIGN(alignment) __declspec(align(alignment))
#else
#error "ipcz.h: no way to express IPCZ_ALIGN() with this compiler"
#endif

/* `value` rounded up to the next multiple of `alignment`. */
#define IPCZ_ALIGNED(value, alignment) \
	((((value) + ((alignment) - 1)) / (alignment)) * (alignment))

/*
 * Calling convention of every function in the API and driver tables. An
 * embedder may force one by defining IPCZ_API_OVERRIDE before inclusion.
 */
#if defined(IPCZ_API_OVERRIDE)
#define IPCZ_API IPCZ_API_OVERRIDE
#elif defined(_WIN32)
#define IPCZ_API __cdecl
#else
#define IPCZ_API
#endif

/*
 * A handle minted by the driver (a transport, a memory region, a mapping or
 * any other driver object). ipcz never interprets it; zero is invalid.
 */
typedef uintptr_t IpczDriverHandle;

#define IPCZ_INVALID_DRIVER_HANDLE ((IpczDriverHandle)0)

/* Flags a driver passes to an IpczTransportActivityHandler. */
typedef uint32_t IpczTransportActivityFlags;

/*
 * The transport failed beyond repair. ipcz drops every link that uses it
 * and deactivates it.
 */
#define IPCZ_TRANSPORT_ACTIVITY_ERROR IPCZ_FLAG_BIT(0)

/*
 * The driver has stopped listening on the transport: this is its last call
 * to the handler for this listener, after which ipcz frees the listener.
 */
#define IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED IPCZ_FLAG_BIT(1)

#if defined(__cplusplus)
extern "C" {
#endif

/*
 * Called by a driver to hand ipcz what arrived on a transport (bytes and
 * driver handles), or to report an error or the end of activity (`flags`).
 * `listener` is the handle ipcz gave to ActivateTransport(); `options` must
 * be null. Calls for one listener must never overlap in time.
 *
 * Returns IPCZ_RESULT_OK if the message was accepted. Any other result
 * (typically IPCZ_RESULT_INVALID_ARGUMENT for a malformed message) means
 * ipcz rejected the data, and the driver should treat the transport as
 * broken and report IPCZ_TRANSPORT_ACTIVITY_ERROR.
 */
typedef IpczResult(IPCZ_API *IpczTransportActivityHandler)(
	IpczHandle listener, const void *data, size_t num_bytes,
	const IpczDriverHandle *driver_handles, size_t num_driver_handles,
	IpczTransportActivityFlags flags, const void *options);

/* Filled in by the driver's GetSharedMemoryInfo(). */
struct IPCZ_ALIGN(8) IpczSharedMemoryInfo {
	/* Size of this struct in bytes, set by ipcz before the call. */
	size_t size;

	/* Size of the memory region in bytes. */
	size_t region_num_bytes;
};

/*
 * IpczDriver: the I/O primitives ipcz runs on, supplied by the application
 * to CreateNode(). All functions are required except
 * ReportBadTransportActivity. Each returns IPCZ_RESULT_OK on success; on
 * failure, no output argument has been written. ipcz never holds one of its
 * own locks while calling into the driver, so a driver may call back into
 * ipcz (for example a driver that delivers messages synchronously).
 */
struct IPCZ_ALIGN(8) IpczDriver {
	/* Size of this struct in bytes, set by the application. */
	size_t size;

	/* Releases the driver object `handle`. */
	IpczResult(IPCZ_API *Close)(IpczDriverHandle handle, uint32_t flags,
				    const void *options);

	/*
	 * Turns the driver object `handle` into bytes and transmissible driver
	 * handles, to be sent over `transport`. Outcomes, in order:
	 *  - `handle` invalid or not serializable at all: return
	 *    IPCZ_RESULT_INVALID_ARGUMENT and touch nothing.
	 *  - `transport` is IPCZ_INVALID_DRIVER_HANDLE (a query whether the
	 *    object can ever be sent) and the answer depends on the transport:
	 *    return IPCZ_RESULT_ABORTED.
	 *  - the object cannot cross this particular `transport` (neither side
	 *    may transfer it): return IPCZ_RESULT_PERMISSION_DENIED; ipcz may
	 *    then relay it through the broker.
	 *  - otherwise store the capacities needed in every non-null
	 *    `*num_bytes` / `*num_handles` (null means zero capacity). If the
	 *    capacities given on input were too small, return
	 *    IPCZ_RESULT_RESOURCE_EXHAUSTED without writing `data` or
	 *    `handles`; else fill them and return IPCZ_RESULT_OK, after which
	 *    `handle` belongs to the driver again and ipcz forgets it.
	 */
	IpczResult(IPCZ_API *Serialize)(IpczDriverHandle handle,
					IpczDriverHandle transport,
					uint32_t flags, const void *options,
					volatile void *data, size_t *num_bytes,
					IpczDriverHandle *handles,
					size_t *num_handles);

	/*
	 * Rebuilds a driver object from what Serialize() produced on the other
	 * side of `transport`, storing it in `*handle`. Any result other than
	 * IPCZ_RESULT_OK means failure and leaves `*handle` untouched.
	 */
	IpczResult(IPCZ_API *Deserialize)(
		const volatile void *data, size_t num_bytes,
		const IpczDriverHandle *driver_handles,
		size_t num_driver_handles, IpczDriverHandle transport,
		uint32_t flags, const void *options, IpczDriverHandle *handle);

	/*
	 * Creates two connected transports. `new_transport0` will be sent over
	 * `transport0` and `new_transport1` over `transport1`, so that the
	 * two remote nodes get a direct link. ipcz may Transmit() on the new
	 * transports before it activates them. On failure the outputs are
	 * untouched.
	 */
	IpczResult(IPCZ_API *CreateTransports)(
		IpczDriverHandle transport0, IpczDriverHandle transport1,
		uint32_t flags, const void *options,
		IpczDriverHandle *new_transport0,
		IpczDriverHandle *new_transport1);

	/*
	 * Starts delivering what arrives on `transport` to `activity_handler`,
	 * passing `listener` with every call. From this call until the driver
	 * reports IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED, the handler may be
	 * called from any thread, never concurrently for one listener. A
	 * failure result makes ipcz give up and close the transport.
	 */
	IpczResult(IPCZ_API *ActivateTransport)(
		IpczDriverHandle transport, IpczHandle listener,
		IpczTransportActivityHandler activity_handler, uint32_t flags,
		const void *options);

	/*
	 * Asks the driver to stop delivering on `transport`. The driver may
	 * finish asynchronously but must soon make a last handler call with
	 * IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED. ipcz may still use the
	 * transport (Transmit, Serialize) until it calls Close() on it.
	 */
	IpczResult(IPCZ_API *DeactivateTransport)(IpczDriverHandle transport,
						  uint32_t flags,
						  const void *options);

	/*
	 * Sends bytes and driver handles (all obtained from this driver's
	 * Serialize()) over `transport`. Every call, even an empty one, must
	 * produce exactly one handler call on the peer, and calls made from
	 * one thread must arrive in the order made. A failure result severs
	 * the connection.
	 */
	IpczResult(IPCZ_API *Transmit)(IpczDriverHandle transport,
				       const void *data, size_t num_bytes,
				       const IpczDriverHandle *driver_handles,
				       size_t num_driver_handles,
				       uint32_t flags, const void *options);

	/*
	 * Told by ipcz, on the application's Reject() of a parcel, which
	 * `transport` brought that parcel. `context` is the value given to
	 * Reject().
	 */
	IpczResult(IPCZ_API *ReportBadTransportActivity)(
		IpczDriverHandle transport, uintptr_t context, uint32_t flags,
		const void *options);

	/*
	 * Allocates a shared memory region of at least `num_bytes` bytes and
	 * returns a handle to it in `*driver_memory`.
	 */
	IpczResult(IPCZ_API *AllocateSharedMemory)(
		size_t num_bytes, uint32_t flags, const void *options,
		IpczDriverHandle *driver_memory);

	/* Describes the region `driver_memory` in `*info`. */
	IpczResult(IPCZ_API *GetSharedMemoryInfo)(
		IpczDriverHandle driver_memory, uint32_t flags,
		const void *options, struct IpczSharedMemoryInfo *info);

	/* Returns a second, independent handle to the same region. */
	IpczResult(IPCZ_API *DuplicateSharedMemory)(
		IpczDriverHandle driver_memory, uint32_t flags,
		const void *options, IpczDriverHandle *new_driver_memory);

	/*
	 * Maps the region `driver_memory`, returning its address and a mapping
	 * handle whose Close() unmaps it. The mapping outlives any later
	 * Close() of `driver_memory`.
	 */
	IpczResult(IPCZ_API *MapSharedMemory)(
		IpczDriverHandle driver_memory, uint32_t flags,
		const void *options, volatile void **address,
		IpczDriverHandle *driver_mapping);

	/* Fills `buffer` with `num_bytes` random bytes. */
	IpczResult(IPCZ_API *GenerateRandomBytes)(size_t num_bytes,
						  uint32_t flags,
						  const void *options,
						  void *buffer);
};

#if defined(__cplusplus)
} /* extern "C" */
#endif

/* Flags in IpczCreateNodeOptions.memory_flags. */
typedef uint32_t IpczMemoryFlags;

/*
 * Never grow the shared pools used for parcel data: the node's memory stays
 * about constant, at the cost of more parcels travelling through the
 * driver. Pools may still grow to make room for new links between portals.
 */
#define IPCZ_MEMORY_FIXED_PARCEL_CAPACITY ((IpczMemoryFlags)(1 << 0))

/* Identifies a runtime feature that a node can enable or disable. */
typedef uint32_t IpczFeature;

/* A newer layout and allocation scheme for shared memory between nodes. */
#define IPCZ_FEATURE_MEM_V2 ((IpczFeature)0xA110C002)

/* Optional settings for CreateNode(). */
struct IPCZ_ALIGN(8) IpczCreateNodeOptions {
	/* Size of this struct in bytes, set by the application. */
	size_t size;

	/* IPCZ_MEMORY_* flags. */
	IpczMemoryFlags memory_flags;

	/* Features to turn on. */
	const IpczFeature *enabled_features;
	size_t num_enabled_features;

	/* Features to turn off; this list wins over `enabled_features`. */
	const IpczFeature *disabled_features;
	size_t num_disabled_features;
};

/* Flags for CreateNode(). */
typedef uint32_t IpczCreateNodeFlags;

/*
 * The new node is the broker of its network: the trusted node that
 * introduces other nodes to each other and may relay driver objects between
 * them. Every network needs exactly one; it belongs in the most trusted
 * process. Destroying it may make later cross-node transfers fail.
 */
#define IPCZ_CREATE_NODE_AS_BROKER IPCZ_FLAG_BIT(0)

/* Flags for ConnectNode(). */
typedef uint32_t IpczConnectNodeFlags;

/*
 * The remote node is a broker and is trusted as one. When the local node is
 * a broker too, the two networks are joined while both brokers live.
 */
#define IPCZ_CONNECT_NODE_TO_BROKER IPCZ_FLAG_BIT(0)

/*
 * The remote node is not a broker but already has one, which the calling
 * node (that has none yet) adopts. The remote side must pass
 * IPCZ_CONNECT_NODE_SHARE_BROKER. Only for trusted peers.
 */
#define IPCZ_CONNECT_NODE_INHERIT_BROKER IPCZ_FLAG_BIT(1)

/*
 * The calling node lends its broker to the remote node, which must pass
 * IPCZ_CONNECT_NODE_INHERIT_BROKER.
 */
#define IPCZ_CONNECT_NODE_SHARE_BROKER IPCZ_FLAG_BIT(2)

/*
 * The calling node cannot allocate shared memory itself (a sandbox, say):
 * every allocation it needs is done on its behalf by the remote node.
 */
#define IPCZ_CONNECT_NODE_TO_ALLOCATION_DELEGATE IPCZ_FLAG_BIT(3)

/* Names a two-phase transaction begun by BeginPut() or BeginGet(). */
typedef uintptr_t IpczTransaction;

/* Flags for BeginPut(). */
typedef uint32_t IpczBeginPutFlags;

/*
 * The caller accepts a buffer smaller than it asked for, rather than the
 * call failing with IPCZ_RESULT_RESOURCE_EXHAUSTED.
 */
#define IPCZ_BEGIN_PUT_ALLOW_PARTIAL IPCZ_FLAG_BIT(0)

/* Flags for EndPut(). */
typedef uint32_t IpczEndPutFlags;

/* Discard the transaction: nothing is sent. */
#define IPCZ_END_PUT_ABORT IPCZ_FLAG_BIT(0)

/* Flags for Get(). */
typedef uint32_t IpczGetFlags;

/*
 * Copy out whatever fits in the caller's buffers and succeed, instead of
 * failing with IPCZ_RESULT_RESOURCE_EXHAUSTED when the parcel is larger.
 */
#define IPCZ_GET_PARTIAL IPCZ_FLAG_BIT(0)

/* Flags for BeginGet(). */
typedef uint32_t IpczBeginGetFlags;

/*
 * Hand over only as many of the parcel's handles as the caller's handle
 * buffer holds; the rest stay attached to the parcel.
 */
#define IPCZ_BEGIN_GET_PARTIAL IPCZ_FLAG_BIT(0)

/*
 * Take the parcel off the portal's queue at once, so that further
 * overlapped get-transactions can start on the same portal while this one
 * is open. Valid only when the source is a portal.
 */
#define IPCZ_BEGIN_GET_OVERLAPPED IPCZ_FLAG_BIT(1)

/* Flags for EndGet(). */
typedef uint32_t IpczEndGetFlags;

/*
 * For a non-overlapped transaction on a portal: leave the parcel at the
 * head of the queue. Handles already handed out by BeginGet() stay with
 * the caller.
 */
#define IPCZ_END_GET_ABORT IPCZ_FLAG_BIT(0)

/* What a box holds; see IpczBoxContents. */
typedef uint32_t IpczBoxType;

/* A driver object (IpczBoxContents.object.driver_object). */
#define IPCZ_BOX_TYPE_DRIVER_OBJECT ((IpczBoxType)0)

/*
 * An application object (IpczBoxContents.object.application_object) with
 * its own serializer and destructor.
 */
#define IPCZ_BOX_TYPE_APPLICATION_OBJECT ((IpczBoxType)1)

/*
 * A parcel of bytes and handles (IpczBoxContents.object.subparcel): how an
 * application object arrives after its serializer ran on another node.
 */
#define IPCZ_BOX_TYPE_SUBPARCEL ((IpczBoxType)2)

/*
 * Serializes a boxed application object, with the same capacity protocol
 * as IpczDriver.Serialize(): store the needed sizes in the non-null
 * `*num_bytes` / `*num_handles`; return IPCZ_RESULT_RESOURCE_EXHAUSTED if
 * they exceed the capacities given, IPCZ_RESULT_OK once `data` and
 * `handles` are filled, or IPCZ_RESULT_FAILED_PRECONDITION (touching
 * nothing) if the object cannot be serialized.
 */
typedef IpczResult (*IpczApplicationObjectSerializer)(uintptr_t object,
						       uint32_t flags,
						       const void *options,
						       volatile void *data,
						       size_t *num_bytes,
						       IpczHandle *handles,
						       size_t *num_handles);

/* Frees a boxed application object when ipcz no longer needs it. */
typedef void (*IpczApplicationObjectDestructor)(uintptr_t object,
						uint32_t flags,
						const void *options);

/* What goes into Box() and comes out of Unbox(). */
struct IPCZ_ALIGN(8) IpczBoxContents {
	/* Size of this struct in bytes, set by the application. */
	size_t size;

	/* IPCZ_BOX_TYPE_*: which member of `object` is meaningful. */
	IpczBoxType type;

	union {
		/* IPCZ_BOX_TYPE_DRIVER_OBJECT: the driver's handle. */
		IpczDriverHandle driver_object;

		/*
		 * IPCZ_BOX_TYPE_APPLICATION_OBJECT: an opaque value passed to
		 * `serializer` and `destructor`.
		 */
		uintptr_t application_object;

		/*
		 * IPCZ_BOX_TYPE_SUBPARCEL: a parcel handle, readable with
		 * Get() or BeginGet()/EndGet().
		 */
		IpczHandle subparcel;
	} object;

	/* IPCZ_BOX_TYPE_APPLICATION_OBJECT only: how to send and free it. */
	IpczApplicationObjectSerializer serializer;
	IpczApplicationObjectDestructor destructor;
};

/* Flags for Unbox(). */
typedef uint32_t IpczUnboxFlags;

/*
 * Only look: the box stays valid and keeps its contents; the caller does
 * not take ownership of what is reported.
 */
#define IPCZ_UNBOX_PEEK IPCZ_FLAG_BIT(0)

/* Flags in IpczPortalStatus.flags. */
typedef uint32_t IpczPortalStatusFlags;

/*
 * The peer portal is closed. Put() will fail with IPCZ_RESULT_NOT_FOUND;
 * parcels already queued here can still be read.
 */
#define IPCZ_PORTAL_STATUS_PEER_CLOSED IPCZ_FLAG_BIT(0)

/*
 * The peer is closed and every parcel it sent has been read: the portal
 * can neither send nor receive any more (IPCZ_RESULT_NOT_FOUND).
 */
#define IPCZ_PORTAL_STATUS_DEAD IPCZ_FLAG_BIT(1)

/* A portal's state, from QueryPortalStatus() or with a trap event. */
struct IPCZ_ALIGN(8) IpczPortalStatus {
	/* Size of this struct in bytes, set by whoever provides it. */
	size_t size;

	/* IPCZ_PORTAL_STATUS_* flags. */
	IpczPortalStatusFlags flags;

	/* Parcels queued on this portal, not yet read. */
	size_t num_local_parcels;

	/* Total data bytes of those parcels. */
	size_t num_local_bytes;
};

/*
 * Conditions a trap watches for, and that its event reports. A level
 * condition holds as long as a state lasts (Trap() refuses to install a
 * trap whose level condition already holds); an edge condition is a single
 * change.
 */
typedef uint32_t IpczTrapConditionFlags;

/*
 * The trap is gone without its conditions being met: its portal was closed
 * or sent elsewhere. Every trap watches this implicitly, so every installed
 * trap's handler eventually runs exactly once.
 */
#define IPCZ_TRAP_REMOVED IPCZ_FLAG_BIT(0)

/* Level: the peer portal is closed. */
#define IPCZ_TRAP_PEER_CLOSED IPCZ_FLAG_BIT(1)

/* Level: the peer is closed and nothing is left to read (portal dead). */
#define IPCZ_TRAP_DEAD IPCZ_FLAG_BIT(2)

/* Level: more than `min_local_parcels` parcels are queued. */
#define IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS IPCZ_FLAG_BIT(3)

/* Level: more than `min_local_bytes` data bytes are queued. */
#define IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES IPCZ_FLAG_BIT(4)

/* Edge: the number of queued parcels grew. */
#define IPCZ_TRAP_NEW_LOCAL_PARCEL IPCZ_FLAG_BIT(7)

/*
 * Set in an event, never watched: the handler runs inside an ipcz API call
 * made by the application (for example a Put() on the peer in the same
 * node), rather than from a driver's transport notification.
 */
#define IPCZ_TRAP_WITHIN_API_CALL IPCZ_FLAG_BIT(9)

/* What Trap() should watch for. */
struct IPCZ_ALIGN(8) IpczTrapConditions {
	/* Size of this struct in bytes, set by the application. */
	size_t size;

	/* IPCZ_TRAP_* conditions to watch. */
	IpczTrapConditionFlags flags;

	/* Threshold for IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, else ignored. */
	size_t min_local_parcels;

	/* Threshold for IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES, else ignored. */
	size_t min_local_bytes;
};

/* What a trap's handler receives. */
struct IPCZ_ALIGN(8) IpczTrapEvent {
	/* Size of this struct in bytes, as filled in by ipcz. */
	size_t size;

	/* The `context` given to Trap(). */
	uintptr_t context;

	/* The conditions that fired the trap (IPCZ_TRAP_*). */
	IpczTrapConditionFlags condition_flags;

	/* The portal's state; valid only while the handler runs. */
	const struct IpczPortalStatus *status;
};

/* An application's trap handler. */
typedef void(IPCZ_API *IpczTrapEventHandler)(const struct IpczTrapEvent *event);

#if defined(__cplusplus)
extern "C" {
#endif

/*
 * IpczAPI: the table of ipcz functions, filled in by IpczGetAPI().
 *
 * Arguments always come in this order: the object, plain inputs, flags,
 * options (reserved for future use: pass null), in/out values, outputs.
 * Unless a function says otherwise, flags must be IPCZ_NO_FLAGS. A struct
 * with a `size` field must have it set to at least the size of the struct
 * as defined here, or the call fails with IPCZ_RESULT_INVALID_ARGUMENT.
 * A handle that is zero, closed, never issued or of the wrong kind for the
 * call is IPCZ_RESULT_INVALID_ARGUMENT. Functions are only ever appended,
 * so the order below is fixed.
 */
struct IPCZ_ALIGN(8) IpczAPI {
	/*
	 * Size of this struct in bytes: set by the caller before IpczGetAPI(),
	 * which lowers it to the size it actually filled in.
	 */
	size_t size;

	/*
	 * Close() releases `handle`: a portal is closed (its peer sees
	 * PEER_CLOSED, its traps fire IPCZ_TRAP_REMOVED, open transactions are
	 * aborted), a node is shut down, a parcel freed, a box destroyed
	 * together with its contents (driver Close() for a driver object, the
	 * destructor for an application object). Close() must not race with
	 * other uses of the same handle.
	 *
	 * Returns IPCZ_RESULT_OK, or IPCZ_RESULT_INVALID_ARGUMENT if `handle`
	 * is not a valid handle.
	 */
	IpczResult(IPCZ_API *Close)(IpczHandle handle, uint32_t flags,
				    const void *options);

	/*
	 * CreateNode() creates a node that does its I/O through `driver`. With
	 * IPCZ_CREATE_NODE_AS_BROKER the node is its network's broker.
	 * `options` may be null.
	 *
	 * Returns IPCZ_RESULT_OK with the node in `*node`;
	 * IPCZ_RESULT_INVALID_ARGUMENT if `node` or `driver` is null, a
	 * `size` is too small, or a required driver function is missing;
	 * IPCZ_RESULT_UNIMPLEMENTED if the platform lacks what ipcz needs
	 * (lock-free 32- and 64-bit atomics).
	 */
	IpczResult(IPCZ_API *CreateNode)(
		const struct IpczDriver *driver, IpczCreateNodeFlags flags,
		const struct IpczCreateNodeOptions *options, IpczHandle *node);

	/*
	 * ConnectNode() connects `node` to another node over the driver
	 * transport `transport`, whose other end the application hands to that
	 * node's own ConnectNode(). It returns `num_initial_portals` portals at
	 * once, usable immediately; each is paired with the remote node's
	 * portal of the same index, and portals without a counterpart behave
	 * as if their peer were closed. If the connection later fails, all of
	 * them see their peer closed. `flags` are IPCZ_CONNECT_NODE_*.
	 *
	 * Returns IPCZ_RESULT_OK; IPCZ_RESULT_INVALID_ARGUMENT for an invalid
	 * node or transport, zero portals, a null `initial_portals`, or flags
	 * that are invalid for this node or together;
	 * IPCZ_RESULT_OUT_OF_RANGE if more initial portals are asked for than
	 * supported (at least 8 always are).
	 */
	IpczResult(IPCZ_API *ConnectNode)(IpczHandle node,
					  IpczDriverHandle transport,
					  size_t num_initial_portals,
					  IpczConnectNodeFlags flags,
					  const void *options,
					  IpczHandle *initial_portals);

	/*
	 * OpenPortals() creates two entangled portals on `node`: parcels put
	 * into one are read, in order, from the other.
	 *
	 * Returns IPCZ_RESULT_OK with the pair in `*portal0` and `*portal1`,
	 * or IPCZ_RESULT_INVALID_ARGUMENT if `node` is invalid or an output
	 * pointer is null.
	 */
	IpczResult(IPCZ_API *OpenPortals)(IpczHandle node, uint32_t flags,
					  const void *options,
					  IpczHandle *portal0,
					  IpczHandle *portal1);

	/*
	 * MergePortals() joins two routes into one: given pairs A-B and C-D,
	 * merging B with C leaves A-D, with everything put into A (before or
	 * after) arriving at D and the other way round. Both handles are
	 * consumed on success.
	 *
	 * Returns IPCZ_RESULT_OK; IPCZ_RESULT_INVALID_ARGUMENT if either is
	 * not a portal, they are the same portal or each other's peer;
	 * IPCZ_RESULT_FAILED_PRECONDITION if a parcel was already put into or
	 * read from either of them.
	 */
	IpczResult(IPCZ_API *MergePortals)(IpczHandle first, IpczHandle second,
					   uint32_t flags,
					   const void *options);

	/*
	 * QueryPortalStatus() reports a portal's current state in `*status`
	 * (a snapshot: other threads and nodes may change it at any time),
	 * and lowers `status->size` to the size it filled in.
	 *
	 * Returns IPCZ_RESULT_OK, or IPCZ_RESULT_INVALID_ARGUMENT if `portal`
	 * is invalid or `status` is null or has too small a `size`.
	 */
	IpczResult(IPCZ_API *QueryPortalStatus)(
		IpczHandle portal, uint32_t flags, const void *options,
		struct IpczPortalStatus *status);

	/*
	 * Put() sends a parcel of `num_bytes` bytes from `data` and
	 * `num_handles` handles from `handles` through `portal`. On success
	 * ipcz owns the handles; on failure they remain the caller's.
	 *
	 * Returns IPCZ_RESULT_OK; IPCZ_RESULT_INVALID_ARGUMENT if `portal` is
	 * invalid, `data` or `handles` is null with a non-zero count, a handle
	 * is invalid or cannot be sent, or a handle is `portal` itself or its
	 * local peer; IPCZ_RESULT_NOT_FOUND if the peer is known to be closed.
	 */
	IpczResult(IPCZ_API *Put)(IpczHandle portal, const void *data,
				  size_t num_bytes, const IpczHandle *handles,
				  size_t num_handles, uint32_t flags,
				  const void *options);

	/*
	 * BeginPut() starts a two-phase put on `portal`: the caller writes its
	 * data straight into the buffer returned in `*data`, then commits it
	 * with EndPut(). `*num_bytes` is the size wanted on input and the
	 * buffer's capacity on output: at least the size wanted, unless
	 * IPCZ_BEGIN_PUT_ALLOW_PARTIAL allows less. A null `num_bytes` means
	 * no data. Handles are given to EndPut().
	 *
	 * Returns IPCZ_RESULT_OK with the transaction in `*transaction`;
	 * IPCZ_RESULT_INVALID_ARGUMENT if `portal` is invalid or
	 * `transaction` is null; IPCZ_RESULT_NOT_FOUND if the peer is known to
	 * be closed.
	 */
	IpczResult(IPCZ_API *BeginPut)(IpczHandle portal,
				       IpczBeginPutFlags flags,
				       const void *options,
				       volatile void **data, size_t *num_bytes,
				       IpczTransaction *transaction);

	/*
	 * EndPut() finishes the put `transaction` on `portal`, sending the
	 * first `num_bytes_produced` bytes of its buffer with `num_handles`
	 * handles from `handles`. With IPCZ_END_PUT_ABORT the transaction is
	 * dropped and everything else is ignored. On success ipcz owns the
	 * handles; on failure they remain the caller's.
	 *
	 * Returns IPCZ_RESULT_OK; IPCZ_RESULT_INVALID_ARGUMENT if `portal` or
	 * `transaction` is invalid, `handles` is null with a non-zero count,
	 * `num_bytes_produced` exceeds the buffer, or a handle is invalid or
	 * cannot be sent (the transaction then stays open);
	 * IPCZ_RESULT_NOT_FOUND if the peer is known to be closed (the
	 * transaction is then aborted).
	 */
	IpczResult(IPCZ_API *EndPut)(IpczHandle portal,
				     IpczTransaction transaction,
				     size_t num_bytes_produced,
				     const IpczHandle *handles,
				     size_t num_handles, IpczEndPutFlags flags,
				     const void *options);

	/*
	 * Get() copies out the next parcel of `source` (a portal: the head of
	 * its queue, which is then removed; or a parcel handle) into `data`
	 * and `handles`. `*num_bytes` and `*num_handles` give the capacities
	 * on input (null means zero) and the amounts copied on output. If the
	 * parcel does not fit, nothing is copied unless IPCZ_GET_PARTIAL is
	 * set, in which case what fits is copied and the rest is lost unless
	 * the caller keeps the parcel: data stays in a parcel and can be read
	 * again, handles received are removed from it. If `parcel` is not
	 * null it receives a handle to the parcel read (from a parcel
	 * handle: one more handle to that parcel, to be closed separately).
	 *
	 * Returns IPCZ_RESULT_OK; IPCZ_RESULT_INVALID_ARGUMENT if `source` is
	 * not a portal or parcel, or a buffer is null with a non-zero
	 * capacity; IPCZ_RESULT_RESOURCE_EXHAUSTED if the parcel does not fit
	 * (the sizes needed are then stored in the non-null `*num_bytes` and
	 * `*num_handles`); IPCZ_RESULT_UNAVAILABLE if the portal's queue is
	 * empty for now; IPCZ_RESULT_NOT_FOUND if it is empty and the peer is
	 * closed, for good; IPCZ_RESULT_ALREADY_EXISTS if a non-overlapped
	 * two-phase get is open on `source`.
	 */
	IpczResult(IPCZ_API *Get)(IpczHandle source, IpczGetFlags flags,
				  const void *options, void *data,
				  size_t *num_bytes, IpczHandle *handles,
				  size_t *num_handles, IpczHandle *parcel);

	/*
	 * BeginGet() starts a two-phase get on `source` (a portal's next
	 * parcel, or a parcel handle), exposing the parcel's data in place:
	 * `*data` and `*num_bytes` (when non-null) are its address and size,
	 * null and 0 for an empty parcel, valid until the transaction ends.
	 * That memory may be shared with the sending process: copy before
	 * validating. The parcel's handles are moved into `handles`, whose
	 * capacity is `*num_handles`, and belong to the caller from then on,
	 * even if the transaction is aborted; with IPCZ_BEGIN_GET_PARTIAL only
	 * as many as fit are moved. `*num_handles` is set to the number moved.
	 *
	 * A get-transaction is exclusive, except that with
	 * IPCZ_BEGIN_GET_OVERLAPPED (portals only) the parcel leaves the queue
	 * at once, and more overlapped transactions may start on the portal.
	 *
	 * Returns IPCZ_RESULT_OK with the transaction in `*transaction`;
	 * IPCZ_RESULT_INVALID_ARGUMENT if `source` is not a portal or parcel,
	 * `handles` is null with a non-zero capacity, `transaction` is null,
	 * or IPCZ_BEGIN_GET_OVERLAPPED is given for a parcel;
	 * IPCZ_RESULT_RESOURCE_EXHAUSTED if the handles do not fit and
	 * IPCZ_BEGIN_GET_PARTIAL is not set (`*num_handles`, if non-null, is
	 * set to the number needed); IPCZ_RESULT_UNAVAILABLE if the portal's
	 * queue is empty for now; IPCZ_RESULT_NOT_FOUND if it is empty and the
	 * peer is closed; IPCZ_RESULT_ALREADY_EXISTS if an exclusive
	 * transaction is open on `source`, or an overlapped one is and this
	 * call does not ask for IPCZ_BEGIN_GET_OVERLAPPED.
	 */
	IpczResult(IPCZ_API *BeginGet)(IpczHandle source,
				       IpczBeginGetFlags flags,
				       const void *options,
				       const volatile void **data,
				       size_t *num_bytes, IpczHandle *handles,
				       size_t *num_handles,
				       IpczTransaction *transaction);

	/*
	 * EndGet() finishes the get `transaction` on `source`. For an
	 * exclusive transaction on a portal the parcel is removed from the
	 * queue, unless IPCZ_END_GET_ABORT leaves it there; for any other
	 * transaction IPCZ_END_GET_ABORT changes nothing. If `parcel` is not
	 * null it receives a handle to the parcel, for Reject() or another
	 * get-transaction.
	 *
	 * Returns IPCZ_RESULT_OK, or IPCZ_RESULT_INVALID_ARGUMENT if `source`
	 * or `transaction` is invalid.
	 */
	IpczResult(IPCZ_API *EndGet)(IpczHandle source,
				     IpczTransaction transaction,
				     IpczEndGetFlags flags,
				     const void *options, IpczHandle *parcel);

	/*
	 * Trap() installs a one-shot trap on `portal`: the first time one of
	 * `conditions` is met, the trap is removed and `handler` runs once,
	 * with `context` in its event, on whichever thread changed the
	 * portal's state (an API call on the portal or its peer, or a driver
	 * notification). Closing or sending the portal fires
	 * IPCZ_TRAP_REMOVED instead, so every installed trap runs its handler
	 * exactly once.
	 *
	 * Returns IPCZ_RESULT_OK; IPCZ_RESULT_INVALID_ARGUMENT if `portal` is
	 * invalid, `conditions` or `handler` is null, or a `size` is too
	 * small; IPCZ_RESULT_FAILED_PRECONDITION, installing nothing, if some
	 * condition already holds: the conditions that hold are stored in a
	 * non-null `*satisfied_condition_flags`, and the portal's state in a
	 * non-null `*status` (whose `size` is lowered to the size filled in).
	 */
	IpczResult(IPCZ_API *Trap)(
		IpczHandle portal, const struct IpczTrapConditions *conditions,
		IpczTrapEventHandler handler, uintptr_t context,
		uint32_t flags, const void *options,
		IpczTrapConditionFlags *satisfied_condition_flags,
		struct IpczPortalStatus *status);

	/*
	 * Reject() tells ipcz the application found `parcel` (from Get() or
	 * EndGet()) malformed. If the parcel came from another node, the
	 * driver's ReportBadTransportActivity() is called with `context` and
	 * the transport it arrived on.
	 *
	 * Returns IPCZ_RESULT_OK once the driver has been told;
	 * IPCZ_RESULT_INVALID_ARGUMENT if `parcel` is not a parcel handle;
	 * IPCZ_RESULT_FAILED_PRECONDITION if the parcel did not come from
	 * another node.
	 */
	IpczResult(IPCZ_API *Reject)(IpczHandle parcel, uintptr_t context,
				     uint32_t flags, const void *options);

	/*
	 * Box() wraps a driver object or an application object, described by
	 * `contents`, in a new box handle on `node` that can be put into
	 * parcels. The box owns the object from then on. (Subparcel boxes are
	 * only ever made by ipcz itself.)
	 *
	 * Returns IPCZ_RESULT_OK with the box in `*handle`;
	 * IPCZ_RESULT_INVALID_ARGUMENT if `node` is invalid, `contents` is
	 * null or too small, the driver object is IPCZ_INVALID_DRIVER_HANDLE,
	 * or `handle` is null; IPCZ_RESULT_UNIMPLEMENTED for any other box
	 * type.
	 */
	IpczResult(IPCZ_API *Box)(IpczHandle node,
				  const struct IpczBoxContents *contents,
				  uint32_t flags, const void *options,
				  IpczHandle *handle);

	/*
	 * Unbox() describes a box's contents in `*contents` and, unless
	 * IPCZ_UNBOX_PEEK is set, consumes the box, giving the object to the
	 * caller. An application object boxed on another node arrives as
	 * IPCZ_BOX_TYPE_SUBPARCEL holding what its serializer wrote.
	 *
	 * Returns IPCZ_RESULT_OK, or IPCZ_RESULT_INVALID_ARGUMENT if `handle`
	 * is not a box or `contents` is null or too small.
	 */
	IpczResult(IPCZ_API *Unbox)(IpczHandle handle, IpczUnboxFlags flags,
				    const void *options,
				    struct IpczBoxContents *contents);
};

/*
 * The type of IpczGetAPI(). It fills in `api`, whose `size` the caller
 * sets to sizeof(struct IpczAPI) as it knows it. On return `api->size` is
 * the size of the table actually filled in: never more than the caller's
 * size (a newer library fills only what an older caller knows), and
 * possibly less (an older library fills only what it has).
 *
 * Returns IPCZ_RESULT_OK, or IPCZ_RESULT_INVALID_ARGUMENT if `api` is null
 * or its `size` is smaller than the first version of the table (through
 * Unbox).
 */
typedef IpczResult(IPCZ_API *IpczGetAPIFn)(struct IpczAPI *api);

/*
 * libipcz's entry point, an IpczGetAPIFn and its only exported symbol.
 * Upstream's header leaves this declaration to the embedder; define
 * IPCZ_NO_GET_API_DECLARATION before inclusion if a program declares or
 * names IpczGetAPI differently (for example a pointer from dlsym()).
 */
#if !defined(IPCZ_NO_GET_API_DECLARATION)
#if defined(__GNUC__)
#define IPCZ_GET_API_EXPORT __attribute__((visibility("default")))
#else
#define IPCZ_GET_API_EXPORT
#endif

IPCZ_GET_API_EXPORT IpczResult IPCZ_API IpczGetAPI(struct IpczAPI *api);
#endif

#if defined(__cplusplus)
} /* extern "C" */
#endif

#endif /* IPCZ_INCLUDE_IPCZ_IPCZ_H_ */
