// SPDX-License-Identifier: MIT
//
// abi_cxx.cc - the C++ half of the ABI check: a C++11 program written the
// way an application of upstream ipcz's header would be. It includes only
// <ipcz/ipcz.h>, declares IpczGetAPI() itself, and checks at compile time
// the exact signature of every IpczAPI and IpczDriver entry and of every
// function typedef, so that any difference from upstream stops the build.
// Linked with libipcz, it runs a few calls through the table (TAP output).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <vector>

#include "ipcz/ipcz.h"
#include "tests/abi/abi_layout.h"

extern "C" IpczResult IPCZ_API IpczGetAPI(IpczAPI* api);

namespace {

// ---- exact signatures ----

template <typename Member, typename Expected>
constexpr bool same_type() {
  return std::is_same<Member, Expected>::value;
}

#define EXPECT_TYPE(member, ...) \
  static_assert(same_type<decltype(member), __VA_ARGS__>(), #member)
#define EXPECT_TYPEDEF(name, ...) \
  static_assert(same_type<name, __VA_ARGS__>(), #name)

EXPECT_TYPE(IpczAPI::size, size_t);
EXPECT_TYPE(IpczAPI::Close,
            IpczResult(IPCZ_API*)(IpczHandle, uint32_t, const void*));
EXPECT_TYPE(IpczAPI::CreateNode,
            IpczResult(IPCZ_API*)(const IpczDriver*, IpczCreateNodeFlags,
                                  const IpczCreateNodeOptions*, IpczHandle*));
EXPECT_TYPE(IpczAPI::ConnectNode,
            IpczResult(IPCZ_API*)(IpczHandle, IpczDriverHandle, size_t,
                                  IpczConnectNodeFlags, const void*,
                                  IpczHandle*));
EXPECT_TYPE(IpczAPI::OpenPortals,
            IpczResult(IPCZ_API*)(IpczHandle, uint32_t, const void*,
                                  IpczHandle*, IpczHandle*));
EXPECT_TYPE(IpczAPI::MergePortals,
            IpczResult(IPCZ_API*)(IpczHandle, IpczHandle, uint32_t,
                                  const void*));
EXPECT_TYPE(IpczAPI::QueryPortalStatus,
            IpczResult(IPCZ_API*)(IpczHandle, uint32_t, const void*,
                                  IpczPortalStatus*));
EXPECT_TYPE(IpczAPI::Put,
            IpczResult(IPCZ_API*)(IpczHandle, const void*, size_t,
                                  const IpczHandle*, size_t, uint32_t,
                                  const void*));
EXPECT_TYPE(IpczAPI::BeginPut,
            IpczResult(IPCZ_API*)(IpczHandle, IpczBeginPutFlags, const void*,
                                  volatile void**, size_t*,
                                  IpczTransaction*));
EXPECT_TYPE(IpczAPI::EndPut,
            IpczResult(IPCZ_API*)(IpczHandle, IpczTransaction, size_t,
                                  const IpczHandle*, size_t, IpczEndPutFlags,
                                  const void*));
EXPECT_TYPE(IpczAPI::Get,
            IpczResult(IPCZ_API*)(IpczHandle, IpczGetFlags, const void*,
                                  void*, size_t*, IpczHandle*, size_t*,
                                  IpczHandle*));
EXPECT_TYPE(IpczAPI::BeginGet,
            IpczResult(IPCZ_API*)(IpczHandle, IpczBeginGetFlags, const void*,
                                  const volatile void**, size_t*, IpczHandle*,
                                  size_t*, IpczTransaction*));
EXPECT_TYPE(IpczAPI::EndGet,
            IpczResult(IPCZ_API*)(IpczHandle, IpczTransaction,
                                  IpczEndGetFlags, const void*, IpczHandle*));
EXPECT_TYPE(IpczAPI::Trap,
            IpczResult(IPCZ_API*)(IpczHandle, const IpczTrapConditions*,
                                  IpczTrapEventHandler, uintptr_t, uint32_t,
                                  const void*, IpczTrapConditionFlags*,
                                  IpczPortalStatus*));
EXPECT_TYPE(IpczAPI::Reject,
            IpczResult(IPCZ_API*)(IpczHandle, uintptr_t, uint32_t,
                                  const void*));
EXPECT_TYPE(IpczAPI::Box,
            IpczResult(IPCZ_API*)(IpczHandle, const IpczBoxContents*,
                                  uint32_t, const void*, IpczHandle*));
EXPECT_TYPE(IpczAPI::Unbox,
            IpczResult(IPCZ_API*)(IpczHandle, IpczUnboxFlags, const void*,
                                  IpczBoxContents*));

EXPECT_TYPE(IpczDriver::size, size_t);
EXPECT_TYPE(IpczDriver::Close,
            IpczResult(IPCZ_API*)(IpczDriverHandle, uint32_t, const void*));
EXPECT_TYPE(IpczDriver::Serialize,
            IpczResult(IPCZ_API*)(IpczDriverHandle, IpczDriverHandle,
                                  uint32_t, const void*, volatile void*,
                                  size_t*, IpczDriverHandle*, size_t*));
EXPECT_TYPE(IpczDriver::Deserialize,
            IpczResult(IPCZ_API*)(const volatile void*, size_t,
                                  const IpczDriverHandle*, size_t,
                                  IpczDriverHandle, uint32_t, const void*,
                                  IpczDriverHandle*));
EXPECT_TYPE(IpczDriver::CreateTransports,
            IpczResult(IPCZ_API*)(IpczDriverHandle, IpczDriverHandle,
                                  uint32_t, const void*, IpczDriverHandle*,
                                  IpczDriverHandle*));
EXPECT_TYPE(IpczDriver::ActivateTransport,
            IpczResult(IPCZ_API*)(IpczDriverHandle, IpczHandle,
                                  IpczTransportActivityHandler, uint32_t,
                                  const void*));
EXPECT_TYPE(IpczDriver::DeactivateTransport,
            IpczResult(IPCZ_API*)(IpczDriverHandle, uint32_t, const void*));
EXPECT_TYPE(IpczDriver::Transmit,
            IpczResult(IPCZ_API*)(IpczDriverHandle, const void*, size_t,
                                  const IpczDriverHandle*, size_t, uint32_t,
                                  const void*));
EXPECT_TYPE(IpczDriver::ReportBadTransportActivity,
            IpczResult(IPCZ_API*)(IpczDriverHandle, uintptr_t, uint32_t,
                                  const void*));
EXPECT_TYPE(IpczDriver::AllocateSharedMemory,
            IpczResult(IPCZ_API*)(size_t, uint32_t, const void*,
                                  IpczDriverHandle*));
EXPECT_TYPE(IpczDriver::GetSharedMemoryInfo,
            IpczResult(IPCZ_API*)(IpczDriverHandle, uint32_t, const void*,
                                  IpczSharedMemoryInfo*));
EXPECT_TYPE(IpczDriver::DuplicateSharedMemory,
            IpczResult(IPCZ_API*)(IpczDriverHandle, uint32_t, const void*,
                                  IpczDriverHandle*));
EXPECT_TYPE(IpczDriver::MapSharedMemory,
            IpczResult(IPCZ_API*)(IpczDriverHandle, uint32_t, const void*,
                                  volatile void**, IpczDriverHandle*));
EXPECT_TYPE(IpczDriver::GenerateRandomBytes,
            IpczResult(IPCZ_API*)(size_t, uint32_t, const void*, void*));

EXPECT_TYPEDEF(IpczHandle, uintptr_t);
EXPECT_TYPEDEF(IpczDriverHandle, uintptr_t);
EXPECT_TYPEDEF(IpczTransaction, uintptr_t);
EXPECT_TYPEDEF(IpczResult, int);
EXPECT_TYPEDEF(IpczFeature, uint32_t);
EXPECT_TYPEDEF(IpczMemoryFlags, uint32_t);
EXPECT_TYPEDEF(IpczTransportActivityFlags, uint32_t);
EXPECT_TYPEDEF(IpczTransportActivityHandler,
            IpczResult(IPCZ_API*)(IpczHandle, const void*, size_t,
                                  const IpczDriverHandle*, size_t,
                                  IpczTransportActivityFlags, const void*));
EXPECT_TYPEDEF(IpczApplicationObjectSerializer,
            IpczResult (*)(uintptr_t, uint32_t, const void*, volatile void*,
                           size_t*, IpczHandle*, size_t*));
EXPECT_TYPEDEF(IpczApplicationObjectDestructor,
            void (*)(uintptr_t, uint32_t, const void*));
EXPECT_TYPEDEF(IpczTrapEventHandler, void(IPCZ_API*)(const IpczTrapEvent*));
EXPECT_TYPEDEF(IpczGetAPIFn, IpczResult(IPCZ_API*)(IpczAPI*));
EXPECT_TYPE(IpczTrapEvent::status, const IpczPortalStatus*);
EXPECT_TYPE(IpczCreateNodeOptions::enabled_features, const IpczFeature*);
EXPECT_TYPE(IpczCreateNodeOptions::disabled_features, const IpczFeature*);
EXPECT_TYPE(decltype(IpczBoxContents::object)::driver_object,
            IpczDriverHandle);
EXPECT_TYPE(decltype(IpczBoxContents::object)::application_object,
            uintptr_t);
EXPECT_TYPE(decltype(IpczBoxContents::object)::subparcel, IpczHandle);

// Structs are plain C data in C++ too.
static_assert(std::is_standard_layout<IpczAPI>::value, "IpczAPI");
static_assert(std::is_trivial<IpczDriver>::value, "IpczDriver");
static_assert(std::is_trivial<IpczBoxContents>::value, "IpczBoxContents");
static_assert(std::is_trivial<IpczPortalStatus>::value, "IpczPortalStatus");
static_assert(std::is_trivial<IpczTrapEvent>::value, "IpczTrapEvent");

// The helper macros are usable in constant expressions.
constexpr size_t kRounded = IPCZ_ALIGNED(13, 8);
static_assert(kRounded == 16, "IPCZ_ALIGNED");
constexpr uint32_t kAllTrapFlags =
    IPCZ_TRAP_REMOVED | IPCZ_TRAP_PEER_CLOSED | IPCZ_TRAP_DEAD |
    IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS | IPCZ_TRAP_ABOVE_MIN_LOCAL_BYTES |
    IPCZ_TRAP_NEW_LOCAL_PARCEL | IPCZ_TRAP_WITHIN_API_CALL;
static_assert(kAllTrapFlags == 0x29f, "trap flags");
struct IPCZ_ALIGN(16) AppAlignedHeader {
  IpczHandle portal;
};
static_assert(alignof(AppAlignedHeader) == 16, "IPCZ_ALIGN");

// ---- a minimal driver: heap blobs, no transports ----

struct Blob {
  std::vector<unsigned char> bytes;
};

int g_blobs_alive = 0;

Blob* BlobFrom(IpczDriverHandle handle) {
  return reinterpret_cast<Blob*>(handle);
}

IpczResult IPCZ_API DriverClose(IpczDriverHandle handle, uint32_t,
                                const void*) {
  Blob* blob = BlobFrom(handle);
  if (!blob) {
    return IPCZ_RESULT_INVALID_ARGUMENT;
  }
  delete blob;
  --g_blobs_alive;
  return IPCZ_RESULT_OK;
}

IpczResult IPCZ_API DriverSerialize(IpczDriverHandle handle,
                                    IpczDriverHandle transport, uint32_t,
                                    const void*, volatile void* data,
                                    size_t* num_bytes, IpczDriverHandle*,
                                    size_t* num_handles) {
  Blob* blob = BlobFrom(handle);
  if (!blob) {
    return IPCZ_RESULT_INVALID_ARGUMENT;
  }
  if (transport == IPCZ_INVALID_DRIVER_HANDLE) {
    return IPCZ_RESULT_ABORTED;
  }
  const size_t capacity = num_bytes ? *num_bytes : 0;
  if (num_bytes) {
    *num_bytes = blob->bytes.size();
  }
  if (num_handles) {
    *num_handles = 0;
  }
  if (capacity < blob->bytes.size()) {
    return IPCZ_RESULT_RESOURCE_EXHAUSTED;
  }
  auto* out = static_cast<volatile unsigned char*>(data);
  for (size_t i = 0; i < blob->bytes.size(); ++i) {
    out[i] = blob->bytes[i];
  }
  delete blob;
  --g_blobs_alive;
  return IPCZ_RESULT_OK;
}

IpczResult IPCZ_API DriverDeserialize(const volatile void* data,
                                      size_t num_bytes,
                                      const IpczDriverHandle*,
                                      size_t num_driver_handles,
                                      IpczDriverHandle, uint32_t, const void*,
                                      IpczDriverHandle* handle) {
  if (num_driver_handles != 0 || !handle) {
    return IPCZ_RESULT_INVALID_ARGUMENT;
  }
  Blob* blob = new Blob;
  ++g_blobs_alive;
  auto* in = static_cast<const volatile unsigned char*>(data);
  for (size_t i = 0; i < num_bytes; ++i) {
    const unsigned char byte = in[i];
    blob->bytes.push_back(byte);
  }
  *handle = reinterpret_cast<IpczDriverHandle>(blob);
  return IPCZ_RESULT_OK;
}

// This driver serves a node talking to itself: it has no transports.
IpczResult IPCZ_API DriverCreateTransports(IpczDriverHandle, IpczDriverHandle,
                                           uint32_t, const void*,
                                           IpczDriverHandle*,
                                           IpczDriverHandle*) {
  return IPCZ_RESULT_UNAVAILABLE;
}

IpczResult IPCZ_API DriverActivateTransport(IpczDriverHandle, IpczHandle,
                                            IpczTransportActivityHandler,
                                            uint32_t, const void*) {
  return IPCZ_RESULT_UNAVAILABLE;
}

IpczResult IPCZ_API DriverDeactivateTransport(IpczDriverHandle, uint32_t,
                                              const void*) {
  return IPCZ_RESULT_UNAVAILABLE;
}

IpczResult IPCZ_API DriverTransmit(IpczDriverHandle, const void*, size_t,
                                   const IpczDriverHandle*, size_t, uint32_t,
                                   const void*) {
  return IPCZ_RESULT_UNAVAILABLE;
}

// A region is a Blob too; its duplicate is the same Blob copied.
IpczResult IPCZ_API DriverAllocateSharedMemory(size_t num_bytes, uint32_t,
                                               const void*,
                                               IpczDriverHandle* memory) {
  Blob* blob = new Blob;
  ++g_blobs_alive;
  blob->bytes.resize(num_bytes);
  *memory = reinterpret_cast<IpczDriverHandle>(blob);
  return IPCZ_RESULT_OK;
}

IpczResult IPCZ_API DriverGetSharedMemoryInfo(IpczDriverHandle memory,
                                              uint32_t, const void*,
                                              IpczSharedMemoryInfo* info) {
  Blob* blob = BlobFrom(memory);
  if (!blob || !info || info->size < sizeof(*info)) {
    return IPCZ_RESULT_INVALID_ARGUMENT;
  }
  info->region_num_bytes = blob->bytes.size();
  return IPCZ_RESULT_OK;
}

// Heap regions cannot really be shared between handles that are closed
// independently, so this driver declines; a single node never asks.
IpczResult IPCZ_API DriverDuplicateSharedMemory(IpczDriverHandle, uint32_t,
                                                const void*,
                                                IpczDriverHandle*) {
  return IPCZ_RESULT_UNAVAILABLE;
}

IpczResult IPCZ_API DriverMapSharedMemory(IpczDriverHandle, uint32_t,
                                          const void*, volatile void**,
                                          IpczDriverHandle*) {
  return IPCZ_RESULT_UNAVAILABLE;
}

IpczResult IPCZ_API DriverGenerateRandomBytes(size_t num_bytes, uint32_t,
                                              const void*, void* buffer) {
  static uint32_t state = 2463534242u;
  auto* out = static_cast<unsigned char*>(buffer);
  for (size_t i = 0; i < num_bytes; ++i) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    out[i] = static_cast<unsigned char>(state);
  }
  return IPCZ_RESULT_OK;
}

// Aggregate initialisation in declaration order: the order is checked too.
const IpczDriver kDriver = {
    sizeof(kDriver),
    DriverClose,
    DriverSerialize,
    DriverDeserialize,
    DriverCreateTransports,
    DriverActivateTransport,
    DriverDeactivateTransport,
    DriverTransmit,
    nullptr,  // ReportBadTransportActivity is optional.
    DriverAllocateSharedMemory,
    DriverGetSharedMemoryInfo,
    DriverDuplicateSharedMemory,
    DriverMapSharedMemory,
    DriverGenerateRandomBytes,
};

// ---- TAP ----

int g_test_number = 0;
int g_failures = 0;

void Report(bool ok, const char* name) {
  ++g_test_number;
  if (!ok) {
    ++g_failures;
  }
  std::printf("%s %d - %s\n", ok ? "ok" : "not ok", g_test_number, name);
}

#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::printf("# %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
      ok = false;                                                      \
    }                                                                  \
  } while (0)

IpczAPI g_api = {};

void TestGetAPI() {
  bool ok = true;
  EXPECT(IpczGetAPI(nullptr) == IPCZ_RESULT_INVALID_ARGUMENT);

  IpczAPI small = {};
  small.size = offsetof(IpczAPI, Unbox);
  EXPECT(IpczGetAPI(&small) == IPCZ_RESULT_INVALID_ARGUMENT);
  EXPECT(small.Close == nullptr);

  g_api.size = sizeof(g_api);
  EXPECT(IpczGetAPI(&g_api) == IPCZ_RESULT_OK);
  EXPECT(g_api.size == sizeof(IpczAPI));
  EXPECT(g_api.Close && g_api.CreateNode && g_api.ConnectNode &&
         g_api.OpenPortals && g_api.MergePortals && g_api.QueryPortalStatus &&
         g_api.Put && g_api.BeginPut && g_api.EndPut && g_api.Get &&
         g_api.BeginGet && g_api.EndGet && g_api.Trap && g_api.Reject &&
         g_api.Box && g_api.Unbox);

  struct {
    IpczAPI table;
    void* later_entries[4];
  } newer;
  std::memset(&newer, 0, sizeof(newer));
  newer.table.size = sizeof(newer);
  EXPECT(IpczGetAPI(&newer.table) == IPCZ_RESULT_OK);
  EXPECT(newer.table.size == sizeof(IpczAPI));
  for (void* entry : newer.later_entries) {
    EXPECT(entry == nullptr);
  }
  Report(ok, "IpczGetAPI honours the caller's size (C++)");
}

int g_events = 0;
IpczTrapConditionFlags g_event_flags = 0;

void TestRoundTrip() {
  bool ok = true;
  IpczHandle node = IPCZ_INVALID_HANDLE;
  IpczCreateNodeOptions options = {};
  options.size = sizeof(options);
  options.memory_flags = IPCZ_MEMORY_FIXED_PARCEL_CAPACITY;
  EXPECT(g_api.CreateNode(&kDriver, IPCZ_CREATE_NODE_AS_BROKER, &options,
                          &node) == IPCZ_RESULT_OK);

  IpczHandle a = IPCZ_INVALID_HANDLE, b = IPCZ_INVALID_HANDLE;
  EXPECT(g_api.OpenPortals(node, IPCZ_NO_FLAGS, nullptr, &a, &b) ==
         IPCZ_RESULT_OK);

  const IpczTrapConditions conditions = {sizeof(conditions),
                                         IPCZ_TRAP_NEW_LOCAL_PARCEL, 0, 0};
  IpczTrapEventHandler handler = [](const IpczTrapEvent* event) {
    ++g_events;
    g_event_flags = event->condition_flags;
  };
  EXPECT(g_api.Trap(b, &conditions, handler, 0, IPCZ_NO_FLAGS, nullptr,
                    nullptr, nullptr) == IPCZ_RESULT_OK);

  Blob* blob = new Blob;
  ++g_blobs_alive;
  blob->bytes.assign(3, 7);
  IpczBoxContents contents = {};
  contents.size = sizeof(contents);
  contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
  contents.object.driver_object = reinterpret_cast<IpczDriverHandle>(blob);
  IpczHandle box = IPCZ_INVALID_HANDLE;
  EXPECT(g_api.Box(node, &contents, IPCZ_NO_FLAGS, nullptr, &box) ==
         IPCZ_RESULT_OK);

  const char message[] = "c++";
  EXPECT(g_api.Put(a, message, sizeof(message), &box, 1, IPCZ_NO_FLAGS,
                   nullptr) == IPCZ_RESULT_OK);
  EXPECT(g_events == 1);
  EXPECT((g_event_flags & IPCZ_TRAP_NEW_LOCAL_PARCEL) != 0);
  EXPECT((g_event_flags & IPCZ_TRAP_WITHIN_API_CALL) != 0);

  char buffer[sizeof(message)] = {};
  size_t num_bytes = sizeof(buffer);
  IpczHandle handles[1] = {};
  size_t num_handles = 1;
  EXPECT(g_api.Get(b, IPCZ_NO_FLAGS, nullptr, buffer, &num_bytes, handles,
                   &num_handles, nullptr) == IPCZ_RESULT_OK);
  EXPECT(num_bytes == sizeof(message) && num_handles == 1);
  EXPECT(std::memcmp(buffer, message, sizeof(message)) == 0);

  IpczBoxContents out = {};
  out.size = sizeof(out);
  EXPECT(g_api.Unbox(handles[0], IPCZ_NO_FLAGS, nullptr, &out) ==
         IPCZ_RESULT_OK);
  EXPECT(out.type == IPCZ_BOX_TYPE_DRIVER_OBJECT);
  EXPECT(out.object.driver_object == reinterpret_cast<IpczDriverHandle>(blob));
  EXPECT(kDriver.Close(out.object.driver_object, IPCZ_NO_FLAGS, nullptr) ==
         IPCZ_RESULT_OK);

  IpczPortalStatus status = {};
  status.size = sizeof(status);
  EXPECT(g_api.Close(a, IPCZ_NO_FLAGS, nullptr) == IPCZ_RESULT_OK);
  EXPECT(g_api.QueryPortalStatus(b, IPCZ_NO_FLAGS, nullptr, &status) ==
         IPCZ_RESULT_OK);
  EXPECT((status.flags & IPCZ_PORTAL_STATUS_DEAD) != 0);
  EXPECT(g_api.Close(b, IPCZ_NO_FLAGS, nullptr) == IPCZ_RESULT_OK);
  EXPECT(g_api.Close(node, IPCZ_NO_FLAGS, nullptr) == IPCZ_RESULT_OK);
  EXPECT(g_blobs_alive == 0);
  Report(ok, "a parcel with a boxed driver object, through the C++ table");
}

}  // namespace

int main() {
  std::printf("TAP version 13\n1..2\n");
  TestGetAPI();
  TestRoundTrip();
  return g_failures ? 1 : 0;
}
