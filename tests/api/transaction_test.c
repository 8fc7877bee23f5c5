// SPDX-License-Identifier: MIT
/*
 * API tests: two-phase transactions (BeginPut/EndPut, BeginGet/EndGet,
 * exclusive and overlapped, partial, aborted), parcel handles and Reject().
 * Expected results follow upstream ipcz's header and implementation
 * (api.cc, router.cc, parcel_wrapper.cc).
 */
#include <string.h>

#include "kselftest_harness.h"
#include "tests/api/api_test.h"

API_PAIR_FIXTURE(txn)

/* Copies `n` bytes of volatile parcel memory into `out` (NUL-terminated). */
static void copy_out(char *out, const volatile void *data, size_t n)
{
	const volatile char *in = data;

	for (size_t i = 0; i < n; i++)
		out[i] = in[i];
	out[n] = '\0';
}

static void copy_in(volatile void *data, const char *text)
{
	volatile char *out = data;

	for (size_t i = 0; text[i]; i++)
		out[i] = text[i];
}

TEST_F(txn, two_phase_put_and_get)
{
	volatile void *out = NULL;
	const volatile void *in = NULL;
	size_t num_bytes = 5;
	IpczTransaction put = 0, get = 0;
	char text[16];

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL,
						&out, &num_bytes, &put));
	ASSERT_GE(num_bytes, 5);
	ASSERT_TRUE(out != NULL);
	copy_in(out, "ipcz!");
	/* Nothing is visible before EndPut(). */
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put, 5, NULL, 0,
					      IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(1, portal_status(self->b).num_local_parcels);
	EXPECT_EQ(5, portal_status(self->b).num_local_bytes);

	num_bytes = 0;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						&in, &num_bytes, NULL, NULL,
						&get));
	ASSERT_EQ(5, num_bytes);
	ASSERT_TRUE(in != NULL);
	copy_out(text, in, num_bytes);
	EXPECT_STREQ("ipcz!", text);

	/* Aborting leaves the parcel queued for the next get. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_END_GET_ABORT,
					      NULL, NULL));
	EXPECT_EQ(1, portal_status(self->b).num_local_parcels);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						&in, &num_bytes, NULL, NULL,
						&get));
	copy_out(text, in, num_bytes);
	EXPECT_STREQ("ipcz!", text);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS,
					      NULL, NULL));
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);
	EXPECT_EQ(IPCZ_RESULT_UNAVAILABLE,
		  ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
				NULL, &get));
}

TEST_F(txn, begin_put_without_data)
{
	IpczTransaction put = 0;
	const volatile void *in = (const volatile void *)&put;
	size_t num_bytes = 99;
	IpczTransaction get;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL,
						NULL, NULL, &put));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put, 0, NULL, 0,
					      IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						&in, &num_bytes, NULL, NULL,
						&get));
	/* An empty parcel exposes no data. */
	EXPECT_EQ(0, num_bytes);
	EXPECT_TRUE(in == NULL);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS,
					      NULL, NULL));
}

TEST_F(txn, begin_put_allow_partial)
{
	volatile void *out = NULL;
	size_t asked = 1u << 20, num_bytes = asked;
	IpczTransaction put = 0;

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(self->a, IPCZ_BEGIN_PUT_ALLOW_PARTIAL, NULL,
				&out, &num_bytes, &put));
	ASSERT_GT(num_bytes, 0);
	ASSERT_TRUE(out != NULL);
	/* Whatever capacity came back is all writable and all delivered. */
	memset((void *)out, 0xab, num_bytes);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put, num_bytes, NULL,
					      0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(num_bytes, portal_status(self->b).num_local_bytes);
	TH_LOG("asked %zu bytes with ALLOW_PARTIAL, got %zu", asked,
	       num_bytes);
}

TEST_F(txn, end_put_abort_sends_nothing)
{
	volatile void *out = NULL;
	size_t num_bytes = 8;
	IpczTransaction put = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL,
						&out, &num_bytes, &put));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put, 0, NULL, 0,
					      IPCZ_END_PUT_ABORT, NULL));
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);
	/* The transaction is over. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, put, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, put, 0, NULL, 0, IPCZ_END_PUT_ABORT,
			      NULL));
}

TEST_F(txn, put_refusals)
{
	enum { size = 64 };
	volatile void *out = NULL;
	size_t num_bytes = size;
	IpczTransaction put = 0;
	IpczHandle bogus = IPCZ_INVALID_HANDLE;
	char text[16];

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginPut(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL, &out,
				&num_bytes, &put));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginPut(self->node, IPCZ_NO_FLAGS, NULL, &out,
				&num_bytes, &put));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL, &out, &num_bytes,
				NULL));

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL,
						&out, &num_bytes, &put));
	copy_in(out, "kept");
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(IPCZ_INVALID_HANDLE, put, 4, NULL, 0,
			      IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, 0, 4, NULL, 0, IPCZ_NO_FLAGS, NULL));
	/* A transaction of `a` is unknown to `b`. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->b, put, 4, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, put, 4, NULL, 1, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, put, num_bytes + 1, NULL, 0,
			      IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, put, 4, &bogus, 1, IPCZ_NO_FLAGS,
			      NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, put, 4, &self->a, 1, IPCZ_NO_FLAGS,
			      NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, put, 4, &self->b, 1, IPCZ_NO_FLAGS,
			      NULL));
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);

	/* After all that, the transaction is still open, data intact. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put, 4, NULL, 0,
					      IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("kept", text);
}

TEST_F(txn, overlapped_puts_arrive_in_commit_order)
{
	static const char *const words[] = { "Hello.", "World?", "OK!" };
	volatile void *out[3];
	IpczTransaction put[3];
	char text[16];

	for (int i = 0; i < 3; i++) {
		size_t num_bytes = strlen(words[i]);

		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL, &out[i],
					&num_bytes, &put[i]));
		ASSERT_GE(num_bytes, strlen(words[i]));
		copy_in(out[i], words[i]);
	}
	EXPECT_NE(put[0], put[1]);
	EXPECT_NE(put[1], put[2]);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put[2], 3, NULL, 0,
					      IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put[0], 6, NULL, 0,
					      IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put[1], 6, NULL, 0,
					      IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, put[0], 6, NULL, 0, IPCZ_NO_FLAGS,
			      NULL));

	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("OK!", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("Hello.", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("World?", text);
}

TEST_F(txn, puts_after_peer_closed)
{
	volatile void *out = NULL;
	size_t num_bytes = 4;
	IpczTransaction put = 0;
	IpczHandle box = box_test_object(self->node, test_object_new(3, true));
	struct IpczBoxContents contents;

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL,
						&out, &num_bytes, &put));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->b, IPCZ_NO_FLAGS, NULL));
	self->b = IPCZ_INVALID_HANDLE;

	/* The open transaction ends, unsent, and the box stays ours. */
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.EndPut(self->a, put, 0, &box, 1, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, put, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &contents));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, IPCZ_NO_FLAGS, NULL));

	num_bytes = 4;
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL, &out, &num_bytes,
				&put));
}

TEST_F(txn, end_put_with_handles)
{
	IpczHandle box = box_test_object(self->node, test_object_new(77, true));
	IpczHandle received = IPCZ_INVALID_HANDLE;
	volatile void *out = NULL;
	size_t num_bytes = 1, num_handles = 1;
	IpczTransaction put = 0;
	struct IpczBoxContents contents;
	uintptr_t value = 0;
	char byte = 0;

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL,
						&out, &num_bytes, &put));
	copy_in(out, "h");
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put, 1, &box, 1,
					      IPCZ_NO_FLAGS, NULL));
	num_bytes = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, &byte, &num_bytes,
			   &received, &num_handles, NULL));
	EXPECT_EQ('h', byte);
	ASSERT_EQ(1, num_handles);
	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(received, IPCZ_NO_FLAGS, NULL, &contents));
	EXPECT_TRUE(test_object_value(contents.object.driver_object, &value));
	EXPECT_EQ(77, value);
	test_driver()->Close(contents.object.driver_object, IPCZ_NO_FLAGS,
			     NULL);
}

TEST_F(txn, get_refusals)
{
	IpczTransaction get = 0;
	size_t num_handles = 1;

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL, NULL,
				NULL, NULL, NULL, &get));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(self->node, IPCZ_NO_FLAGS, NULL, NULL, NULL,
				NULL, NULL, &get));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
				NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
				&num_handles, &get));
	EXPECT_EQ(IPCZ_RESULT_UNAVAILABLE,
		  ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
				NULL, &get));

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "ipcz"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						NULL, NULL, NULL, NULL, &get));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(IPCZ_INVALID_HANDLE, get, IPCZ_NO_FLAGS, NULL,
			      NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(self->b, 0, IPCZ_NO_FLAGS, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(self->a, get, IPCZ_NO_FLAGS, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS, NULL, NULL));
	/* A finished transaction cannot be ended again. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS, NULL, NULL));
}

TEST_F(txn, begin_get_on_dead_portal)
{
	IpczTransaction get = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->a, IPCZ_NO_FLAGS, NULL));
	self->a = IPCZ_INVALID_HANDLE;
	/* As documented for BeginGet(): empty and the peer is closed. */
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
				NULL, &get));
}

TEST_F(txn, exclusive_get_blocks_other_gets)
{
	IpczTransaction get = 0, other = 0;
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "one"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "two"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						NULL, NULL, NULL, NULL, &get));
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
				NULL, &other));
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, NULL,
				NULL, NULL, NULL, &other));
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  get_str(self->b, text, sizeof(text)));
	/* The other direction is independent. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "back"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->a, text, sizeof(text)));
	EXPECT_STREQ("back", text);

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("two", text);
}

TEST_F(txn, overlapped_gets)
{
	IpczTransaction first = 0, second = 0, exclusive = 0;
	const volatile void *d1 = NULL, *d2 = NULL;
	size_t n1 = 0, n2 = 0;
	IpczHandle parcel = IPCZ_INVALID_HANDLE;
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "one"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "two"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "three"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, &d1,
				&n1, NULL, NULL, &first));
	/* An overlapped get takes its parcel off the queue at once. */
	EXPECT_EQ(2, portal_status(self->b).num_local_parcels);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, &d2,
				&n2, NULL, NULL, &second));
	EXPECT_EQ(1, portal_status(self->b).num_local_parcels);
	EXPECT_NE(first, second);
	copy_out(text, d1, n1);
	EXPECT_STREQ("one", text);
	copy_out(text, d2, n2);
	EXPECT_STREQ("two", text);

	/* An exclusive get must wait for the overlapped ones... */
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
				NULL, &exclusive));

	/* ...they end in any order; aborting one does not requeue it. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, second,
					      IPCZ_END_GET_ABORT, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, first, IPCZ_NO_FLAGS,
					      NULL, &parcel));
	ASSERT_NE(IPCZ_INVALID_HANDLE, parcel);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(parcel, text, sizeof(text)));
	EXPECT_STREQ("one", text);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(parcel, IPCZ_NO_FLAGS, NULL));

	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("three", text);
	EXPECT_EQ(IPCZ_RESULT_UNAVAILABLE,
		  get_str(self->b, text, sizeof(text)));
}

TEST_F(txn, get_during_overlapped_get)
{
	IpczTransaction get = 0;
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "one"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "two"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, NULL,
				NULL, NULL, NULL, &get));
	/* Only exclusive transactions block a plain Get(). */
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("two", text);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS, NULL, NULL));
}

TEST_F(txn, begin_get_handles)
{
	IpczHandle boxes[2] = {
		box_test_object(self->node, test_object_new(10, true)),
		box_test_object(self->node, test_object_new(20, true)),
	};
	IpczHandle got[2] = { IPCZ_INVALID_HANDLE, IPCZ_INVALID_HANDLE };
	IpczTransaction get = 0;
	size_t num_handles = 0;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "x", 1, boxes, 2,
					   IPCZ_NO_FLAGS, NULL));

	/* Too little handle room: the number needed is reported. */
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
				&num_handles, &get));
	EXPECT_EQ(2, num_handles);
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
				NULL, &get));

	/* A partial get with no room takes nothing. */
	num_handles = 0;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_PARTIAL, NULL, NULL,
				NULL, NULL, &num_handles, &get));
	EXPECT_EQ(0, num_handles);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_END_GET_ABORT,
					      NULL, NULL));

	/* Handles taken by an aborted transaction stay with the caller. */
	num_handles = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_PARTIAL, NULL, NULL,
				NULL, got, &num_handles, &get));
	EXPECT_EQ(1, num_handles);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_END_GET_ABORT,
					      NULL, NULL));
	EXPECT_EQ(1, portal_status(self->b).num_local_parcels);

	num_handles = 2;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						NULL, NULL, &got[1],
						&num_handles, &get));
	EXPECT_EQ(1, num_handles);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS, NULL, NULL));

	for (int i = 0; i < 2; i++) {
		struct IpczBoxContents contents;
		uintptr_t value = 0;

		memset(&contents, 0, sizeof(contents));
		contents.size = sizeof(contents);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Unbox(got[i], IPCZ_NO_FLAGS, NULL, &contents));
		EXPECT_TRUE(test_object_value(contents.object.driver_object,
					      &value));
		EXPECT_EQ((uintptr_t)(10 * (i + 1)), value);
		test_driver()->Close(contents.object.driver_object,
				     IPCZ_NO_FLAGS, NULL);
	}
}

TEST_F(txn, parcel_handles)
{
	IpczHandle box = box_test_object(self->node, test_object_new(1, true));
	IpczHandle parcel = IPCZ_INVALID_HANDLE, again = IPCZ_INVALID_HANDLE;
	IpczHandle handle = IPCZ_INVALID_HANDLE, spare = IPCZ_INVALID_HANDLE;
	IpczTransaction get = 0, other = 0;
	const volatile void *data = NULL;
	size_t num_bytes = 0, num_handles = 0;
	char text[16];

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "contents", 8, &box, 1,
					   IPCZ_NO_FLAGS, NULL));
	/* A partial Get() with no room at all still yields the parcel. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, NULL, NULL, NULL,
			   NULL, &parcel));
	ASSERT_NE(IPCZ_INVALID_HANDLE, parcel);
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);

	/* Sizes are reported as for portals. */
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, NULL, &num_bytes, NULL,
			   &num_handles, NULL));
	EXPECT_EQ(8, num_bytes);
	EXPECT_EQ(1, num_handles);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, NULL, &num_bytes, NULL,
			   NULL, NULL));

	/* A parcel's own two-phase get: exclusive, never overlapped. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(parcel, IPCZ_BEGIN_GET_OVERLAPPED, NULL, &data,
				&num_bytes, &handle, &num_handles, &get));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(parcel, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				&handle, &num_handles, &get));
	EXPECT_EQ(8, num_bytes);
	EXPECT_EQ(1, num_handles);
	copy_out(text, data, num_bytes);
	EXPECT_STREQ("contents", text);
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(parcel, IPCZ_NO_FLAGS, NULL, &data, &num_bytes,
				NULL, NULL, &other));
	EXPECT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  get_str(parcel, text, sizeof(text)));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(parcel, get, IPCZ_END_GET_ABORT,
					      NULL, NULL));

	/* Data can be read again; the handle was taken for good. */
	num_bytes = sizeof(text);
	num_handles = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, text, &num_bytes,
			   &spare, &num_handles, &again));
	EXPECT_EQ(8, num_bytes);
	EXPECT_EQ(0, num_handles);
	EXPECT_EQ(IPCZ_INVALID_HANDLE, spare);
	ASSERT_NE(IPCZ_INVALID_HANDLE, again);

	/* Reject() of a parcel that never left this node. */
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.Reject(parcel, 42, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Reject(self->a, 42, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Reject(IPCZ_INVALID_HANDLE, 42, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(0, bad_activity_reports().count);

	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(handle, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(again, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(parcel, IPCZ_NO_FLAGS, NULL));
}

TEST_F(txn, partial_get_from_a_parcel)
{
	IpczHandle parcel = IPCZ_INVALID_HANDLE;
	char data[4] = { 0 };
	size_t num_bytes = 3;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "abcdef"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, NULL, NULL, NULL,
			   NULL, &parcel));
	/* Data is never used up: partial reads start at the beginning. */
	for (int i = 0; i < 2; i++) {
		num_bytes = 3;
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Get(parcel, IPCZ_GET_PARTIAL, NULL, data,
				   &num_bytes, NULL, NULL, NULL));
		EXPECT_EQ(3, num_bytes);
		EXPECT_EQ(0, memcmp(data, "abc", 3));
	}
	num_bytes = 3;
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, data, &num_bytes, NULL,
			   NULL, NULL));
	EXPECT_EQ(6, num_bytes);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(parcel, IPCZ_NO_FLAGS, NULL));
}

TEST_F(txn, end_get_hands_out_the_parcel)
{
	IpczTransaction get = 0;
	IpczHandle parcel = IPCZ_INVALID_HANDLE;
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "kept"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						NULL, NULL, NULL, NULL, &get));
	/* Aborted: the parcel stays queued, no handle comes out. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_END_GET_ABORT,
					      NULL, &parcel));
	EXPECT_EQ(IPCZ_INVALID_HANDLE, parcel);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						NULL, NULL, NULL, NULL, &get));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS,
					      NULL, &parcel));
	ASSERT_NE(IPCZ_INVALID_HANDLE, parcel);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(parcel, text, sizeof(text)));
	EXPECT_STREQ("kept", text);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(parcel, IPCZ_NO_FLAGS, NULL));
}

TEST_F(txn, close_aborts_open_transactions)
{
	IpczTransaction put = 0, get = 0, over = 0;
	volatile void *out = NULL;
	size_t num_bytes = 16;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "one"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "two"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "three"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->b, IPCZ_NO_FLAGS, NULL,
						&out, &num_bytes, &put));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, NULL,
				NULL, NULL, NULL, &over));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->a, IPCZ_NO_FLAGS, NULL,
						NULL, NULL, NULL, NULL, &get));
	/* Closing with transactions open releases them (ASan checks). */
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->b, IPCZ_NO_FLAGS, NULL));
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->a, IPCZ_NO_FLAGS, NULL));
	self->a = IPCZ_INVALID_HANDLE;
}

TEST(reject_remote_parcel)
{
	IpczHandle broker, client, a = IPCZ_INVALID_HANDLE;
	IpczHandle b = IPCZ_INVALID_HANDLE, parcel = IPCZ_INVALID_HANDLE;
	IpczDriverHandle t0, t1;
	struct bad_activity_report before, after;
	char byte = 0;
	size_t num_bytes = 1;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	client = new_node(IPCZ_NO_FLAGS);
	ASSERT_NE(IPCZ_INVALID_HANDLE, broker);
	ASSERT_NE(IPCZ_INVALID_HANDLE, client);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  test_driver()->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
						  IPCZ_INVALID_DRIVER_HANDLE,
						  IPCZ_NO_FLAGS, NULL, &t0,
						  &t1));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.ConnectNode(broker, t0, 1,
						   IPCZ_NO_FLAGS, NULL, &a));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.ConnectNode(client, t1, 1, IPCZ_CONNECT_NODE_TO_BROKER,
				   NULL, &b));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(a, "!"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(b, IPCZ_NO_FLAGS, NULL, &byte,
					   &num_bytes, NULL, NULL, &parcel));
	EXPECT_EQ('!', byte);

	before = bad_activity_reports();
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Reject(parcel, 42, IPCZ_NO_FLAGS, NULL));
	after = bad_activity_reports();
	EXPECT_EQ(before.count + 1, after.count);
	/* The driver hears about the client's end of the transport. */
	EXPECT_EQ(t1, after.transport);
	EXPECT_EQ(42, after.context);

	ipcz.Close(parcel, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(a, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(b, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(client, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(broker, IPCZ_NO_FLAGS, NULL);
}

TEST_HARNESS_MAIN
