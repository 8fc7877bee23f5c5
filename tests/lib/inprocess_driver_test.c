// SPDX-License-Identifier: MIT
/*
 * The in-process driver on its own: transport pairs (queueing until
 * activation, synchronous and serialized delivery, errors on peer closure,
 * deactivation), serialization of its objects, heap shared memory, random
 * bytes, the bad-activity hook, and concurrent use.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "kselftest_harness.h"
#include "lib_test.h"

static const struct IpczDriver *driver;

struct received {
	int messages;
	int errors;
	int deactivated;
	int depth, max_depth;	/* handler nesting on one transport */
	char last[32];
	size_t last_handles;
	IpczDriverHandle handle;
	IpczDriverHandle reply_to;	/* transmit from inside the handler */
};

static IpczResult IPCZ_API on_activity(IpczHandle listener, const void *data,
				       size_t num_bytes,
				       const IpczDriverHandle *handles,
				       size_t num_handles,
				       IpczTransportActivityFlags flags,
				       const void *options)
{
	struct received *r = (struct received *)listener;

	if (flags & IPCZ_TRANSPORT_ACTIVITY_ERROR) {
		r->errors++;
		return IPCZ_RESULT_OK;
	}
	if (flags & IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED) {
		r->deactivated++;
		return IPCZ_RESULT_OK;
	}
	r->depth++;
	if (r->depth > r->max_depth)
		r->max_depth = r->depth;
	r->messages++;
	memset(r->last, 0, sizeof(r->last));
	memcpy(r->last, data, num_bytes < 31 ? num_bytes : 31);
	r->last_handles = num_handles;
	if (num_handles)
		r->handle = handles[0];
	if (r->reply_to && r->messages < 3)
		driver->Transmit(r->reply_to, "echo", 4, NULL, 0, 0, NULL);
	r->depth--;
	return IPCZ_RESULT_OK;
}

FIXTURE(pair) {
	IpczDriverHandle t0, t1;
	struct received r0, r1;
};

FIXTURE_SETUP(pair)
{
	driver = ipcz_inprocess_driver();
	memset(&self->r0, 0, sizeof(self->r0));
	memset(&self->r1, 0, sizeof(self->r1));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
					   IPCZ_INVALID_DRIVER_HANDLE, 0, NULL,
					   &self->t0, &self->t1));
}

FIXTURE_TEARDOWN(pair)
{
	if (self->t0)
		driver->Close(self->t0, 0, NULL);
	if (self->t1)
		driver->Close(self->t1, 0, NULL);
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
	EXPECT_EQ(0, leaks_found());
}

static IpczResult activate(IpczDriverHandle t, struct received *r)
{
	return driver->ActivateTransport(t, (IpczHandle)r, on_activity, 0,
					 NULL);
}

TEST_F(pair, messages_wait_for_activation)
{
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Transmit(self->t0, "one", 3, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Transmit(self->t0, "two", 3, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t0, &self->r0));
	ASSERT_EQ(0, self->r1.messages);
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t1, &self->r1));
	/* Delivered in order on activation. */
	ASSERT_EQ(2, self->r1.messages);
	ASSERT_STREQ("two", self->r1.last);
	/* From now on, synchronously. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Transmit(self->t0, "three", 5, NULL, 0, 0, NULL));
	ASSERT_EQ(3, self->r1.messages);
	ASSERT_STREQ("three", self->r1.last);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Transmit(self->t1, "back", 4, NULL, 0, 0, NULL));
	ASSERT_STREQ("back", self->r0.last);
}

TEST_F(pair, reentrant_deliveries_are_serialized)
{
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t0, &self->r0));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t1, &self->r1));
	/* Each side echoes from inside its handler, twice. */
	self->r0.reply_to = self->t0;
	self->r1.reply_to = self->t1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Transmit(self->t0, "ping", 4, NULL, 0, 0, NULL));
	ASSERT_EQ(1, self->r0.max_depth);
	ASSERT_EQ(1, self->r1.max_depth);
	ASSERT_EQ(3, self->r1.messages);
	ASSERT_EQ(2, self->r0.messages);
}

TEST_F(pair, closing_one_end_is_an_error_on_the_other)
{
	IpczDriverHandle object = ipcz_inprocess_test_object_create(3, 1);

	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t1, &self->r1));
	/* A queued message's handles are closed with the transport. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Transmit(self->t1, "x", 1, &object, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, driver->Close(self->t1, 0, NULL));
	self->t1 = IPCZ_INVALID_DRIVER_HANDLE;
	ASSERT_EQ(1, self->r1.deactivated);
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t0, &self->r0));
	ASSERT_EQ(1, self->r0.errors);
	ASSERT_EQ(0, self->r0.messages);
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  driver->Transmit(self->t0, "x", 1, NULL, 0, 0, NULL));
}

TEST_F(pair, peer_closing_while_active)
{
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t0, &self->r0));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t1, &self->r1));
	ASSERT_EQ(IPCZ_RESULT_OK, driver->Close(self->t1, 0, NULL));
	self->t1 = IPCZ_INVALID_DRIVER_HANDLE;
	ASSERT_EQ(1, self->r0.errors);
}

TEST_F(pair, deactivation)
{
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t0, &self->r0));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t1, &self->r1));
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  activate(self->t1, &self->r1));
	ASSERT_EQ(IPCZ_RESULT_OK, driver->DeactivateTransport(self->t1, 0,
							      NULL));
	ASSERT_EQ(1, self->r1.deactivated);
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  driver->DeactivateTransport(self->t1, 0, NULL));
	/* Nobody listens: the message (and its handles) are dropped. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Transmit(self->t0, "lost", 4, NULL, 0, 0, NULL));
	ASSERT_EQ(0, self->r1.messages);
}

TEST_F(pair, handles_travel)
{
	IpczDriverHandle object = ipcz_inprocess_test_object_create(77, 1);
	uintptr_t value;

	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t0, &self->r0));
	ASSERT_EQ(IPCZ_RESULT_OK, activate(self->t1, &self->r1));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Transmit(self->t0, "obj", 3, &object, 1, 0, NULL));
	ASSERT_EQ(1, self->r1.last_handles);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz_inprocess_test_object_value(self->r1.handle, &value));
	ASSERT_EQ(77, value);
	driver->Close(self->r1.handle, 0, NULL);
}

TEST(bad_arguments)
{
	IpczDriverHandle t0, t1;
	struct received r = { 0 };

	driver = ipcz_inprocess_driver();
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->CreateTransports(0, 0, 0, NULL, NULL, &t1));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->CreateTransports(0, 0, 0, NULL, &t0, &t1));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->ActivateTransport(t0, (IpczHandle)&r, NULL, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->Transmit(t0, NULL, 3, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->Transmit(0, "x", 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, driver->Close(0, 0, NULL));
	driver->Close(t0, 0, NULL);
	driver->Close(t1, 0, NULL);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
}

TEST(serialization)
{
	IpczDriverHandle sendable = ipcz_inprocess_test_object_create(1, 1);
	IpczDriverHandle stuck = ipcz_inprocess_test_object_create(2, 0);
	IpczDriverHandle handles[2], back;
	size_t num_bytes = 0, num_handles = 0;

	driver = ipcz_inprocess_driver();
	/* The sendability probe: no transport, no room. */
	ASSERT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  driver->Serialize(sendable, 0, 0, NULL, NULL, NULL, NULL,
				    NULL));
	ASSERT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  driver->Serialize(stuck, 0, 0, NULL, NULL, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  driver->Serialize(sendable, 0, 0, NULL, NULL, &num_bytes,
				    handles, &num_handles));
	ASSERT_EQ(0, num_bytes);
	ASSERT_EQ(1, num_handles);
	num_handles = 2;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Serialize(sendable, 0, 0, NULL, NULL, &num_bytes,
				    handles, &num_handles));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->Deserialize(NULL, 0, handles, 1, 0, 0, NULL, &back));
	ASSERT_EQ(sendable, back);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->Deserialize("x", 1, handles, 1, 0, 0, NULL, &back));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->Deserialize(NULL, 0, handles, 2, 0, 0, NULL, &back));
	driver->Close(sendable, 0, NULL);
	driver->Close(stuck, 0, NULL);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
}

TEST(shared_memory)
{
	IpczDriverHandle memory, copy, mapping1, mapping2;
	struct IpczSharedMemoryInfo info = { .size = sizeof(info) };
	volatile void *address1, *address2;

	driver = ipcz_inprocess_driver();
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->AllocateSharedMemory(0, 0, NULL, &memory));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->AllocateSharedMemory(4096, 0, NULL, &memory));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->GetSharedMemoryInfo(memory, 0, NULL, &info));
	ASSERT_EQ(4096, info.region_num_bytes);
	info.size = 1;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->GetSharedMemoryInfo(memory, 0, NULL, &info));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->DuplicateSharedMemory(memory, 0, NULL, &copy));
	ASSERT_EQ(IPCZ_RESULT_OK, driver->MapSharedMemory(memory, 0, NULL,
							  &address1,
							  &mapping1));
	ASSERT_EQ(IPCZ_RESULT_OK, driver->MapSharedMemory(copy, 0, NULL,
							  &address2,
							  &mapping2));
	/* Zeroed, and one region behind both. */
	ASSERT_EQ(0, ((volatile char *)address1)[100]);
	((volatile char *)address1)[100] = 9;
	ASSERT_EQ(9, ((volatile char *)address2)[100]);
	/* Mappings outlive the memory handles. */
	driver->Close(memory, 0, NULL);
	driver->Close(copy, 0, NULL);
	((volatile char *)address2)[0] = 1;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->MapSharedMemory(mapping1, 0, NULL, &address1,
					  &mapping2));
	driver->Close(mapping1, 0, NULL);
	driver->Close(mapping2, 0, NULL);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
	ASSERT_EQ(0, leaks_found());
}

TEST(random_bytes)
{
	unsigned char a[32] = { 0 }, b[32] = { 0 };

	driver = ipcz_inprocess_driver();
	ASSERT_EQ(IPCZ_RESULT_OK, driver->GenerateRandomBytes(32, 0, NULL, a));
	ASSERT_EQ(IPCZ_RESULT_OK, driver->GenerateRandomBytes(32, 0, NULL, b));
	ASSERT_NE(0, memcmp(a, b, 32));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->GenerateRandomBytes(4, 0, NULL, NULL));
}

static IpczDriverHandle hooked_transport;
static uintptr_t hooked_context;

static void hook(IpczDriverHandle transport, uintptr_t context)
{
	hooked_transport = transport;
	hooked_context = context;
}

TEST(bad_activity_hook)
{
	IpczDriverHandle t0, t1;

	driver = ipcz_inprocess_driver();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->CreateTransports(0, 0, 0, NULL, &t0, &t1));
	ipcz_inprocess_set_bad_activity_hook(hook);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->ReportBadTransportActivity(t1, 42, 0, NULL));
	ASSERT_EQ(t1, hooked_transport);
	ASSERT_EQ(42, hooked_context);
	ipcz_inprocess_set_bad_activity_hook(NULL);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  driver->ReportBadTransportActivity(0, 42, 0, NULL));
	driver->Close(t0, 0, NULL);
	driver->Close(t1, 0, NULL);
}

/* Both ends transmitting from several threads at once. */
struct counter {
	_Atomic int messages;
	_Atomic int inside;
	_Atomic int overlapped;
};

static IpczResult IPCZ_API count_activity(IpczHandle listener,
					  const void *data, size_t num_bytes,
					  const IpczDriverHandle *handles,
					  size_t num_handles,
					  IpczTransportActivityFlags flags,
					  const void *options)
{
	struct counter *c = (struct counter *)listener;

	if (flags)
		return IPCZ_RESULT_OK;
	if (atomic_fetch_add(&c->inside, 1) != 0)
		atomic_fetch_add(&c->overlapped, 1);
	atomic_fetch_add(&c->messages, 1);
	atomic_fetch_sub(&c->inside, 1);
	return IPCZ_RESULT_OK;
}

static void *blast(void *arg)
{
	IpczDriverHandle t = *(IpczDriverHandle *)arg;
	int i;

	for (i = 0; i < 2000; i++)
		driver->Transmit(t, "m", 1, NULL, 0, 0, NULL);
	return NULL;
}

TEST(concurrent_transmits)
{
	IpczDriverHandle t[2];
	struct counter c[2] = { 0 };
	pthread_t threads[4];
	int i;

	driver = ipcz_inprocess_driver();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  driver->CreateTransports(0, 0, 0, NULL, &t[0], &t[1]));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(IPCZ_RESULT_OK,
			  driver->ActivateTransport(t[i], (IpczHandle)&c[i],
						    count_activity, 0, NULL));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, blast,
					    &t[i % 2]));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	ASSERT_EQ(4000, atomic_load(&c[0].messages));
	ASSERT_EQ(4000, atomic_load(&c[1].messages));
	/* A transport's handler never runs twice at once. */
	ASSERT_EQ(0, atomic_load(&c[0].overlapped));
	ASSERT_EQ(0, atomic_load(&c[1].overlapped));
	driver->Close(t[0], 0, NULL);
	driver->Close(t[1], 0, NULL);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
}

TEST_HARNESS_MAIN
