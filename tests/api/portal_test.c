// SPDX-License-Identifier: MIT
/*
 * API tests: portals within one node. Put, Get (partial, too-small buffers,
 * handles), QueryPortalStatus, peer closure, portal transfer and
 * MergePortals (including chains). Expected results follow upstream ipcz's
 * header and implementation (api.cc, router.cc).
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "tests/api/api_test.h"

API_PAIR_FIXTURE(portal)

static void open_pair(struct __test_metadata *_metadata, IpczHandle node,
		      IpczHandle *x, IpczHandle *y)
{
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, x, y));
}

static void close_handle(struct __test_metadata *_metadata, IpczHandle h)
{
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(h, IPCZ_NO_FLAGS, NULL));
}

TEST_F(portal, put_get_in_order)
{
	struct IpczPortalStatus status;
	char text[16];

	status = portal_status(self->b);
	EXPECT_EQ(sizeof(status), status.size);
	EXPECT_EQ(0, status.flags);
	EXPECT_EQ(0, status.num_local_parcels);
	EXPECT_EQ(0, status.num_local_bytes);

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "hi"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "bye"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, NULL, 0,
					   IPCZ_NO_FLAGS, NULL));
	status = portal_status(self->b);
	EXPECT_EQ(3, status.num_local_parcels);
	EXPECT_EQ(5, status.num_local_bytes);
	/* Nothing arrives at the sender's own portal. */
	EXPECT_EQ(0, portal_status(self->a).num_local_parcels);

	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("hi", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("bye", text);
	status = portal_status(self->b);
	EXPECT_EQ(1, status.num_local_parcels);
	EXPECT_EQ(0, status.num_local_bytes);

	/* An empty parcel needs no storage at all. */
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL,
					   NULL, NULL, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_UNAVAILABLE,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
			   NULL, NULL));
}

TEST_F(portal, both_directions)
{
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "ab"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "ba"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->a, text, sizeof(text)));
	EXPECT_STREQ("ba", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("ab", text);
}

TEST_F(portal, many_parcels_keep_their_order)
{
	enum { count = 2000 };

	for (unsigned int i = 0; i < count; i++)
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Put(self->a, &i, sizeof(i), NULL, 0,
				   IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(count, portal_status(self->b).num_local_parcels);
	EXPECT_EQ(count * sizeof(unsigned int),
		  portal_status(self->b).num_local_bytes);
	for (unsigned int i = 0; i < count; i++) {
		unsigned int value = ~0u;
		size_t num_bytes = sizeof(value);

		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, &value,
				   &num_bytes, NULL, NULL, NULL));
		ASSERT_EQ(sizeof(value), num_bytes);
		ASSERT_EQ(i, value);
	}
}

TEST_F(portal, large_parcel)
{
	const size_t size = 4u << 20;
	unsigned char *out = malloc(size), *in = malloc(size);
	size_t num_bytes = size;

	ASSERT_TRUE(out && in);
	for (size_t i = 0; i < size; i++)
		out[i] = (unsigned char)(i * 7 + (i >> 12));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, out, size, NULL, 0,
					   IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(size, portal_status(self->b).num_local_bytes);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, in,
					   &num_bytes, NULL, NULL, NULL));
	EXPECT_EQ(size, num_bytes);
	EXPECT_EQ(0, memcmp(out, in, size));
	free(out);
	free(in);
}

TEST_F(portal, get_reports_needed_sizes)
{
	IpczHandle box = box_test_object(self->node, test_object_new(5, true));
	char data[4] = { 0 };
	size_t num_bytes = 2, num_handles = 0;
	IpczHandle handle = IPCZ_INVALID_HANDLE;

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "four", 4, &box, 1,
					   IPCZ_NO_FLAGS, NULL));

	/* Too little room for data and handles: nothing is taken. */
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, data, &num_bytes,
			   NULL, &num_handles, NULL));
	EXPECT_EQ(4, num_bytes);
	EXPECT_EQ(1, num_handles);
	EXPECT_EQ(0, data[0]);
	EXPECT_EQ(1, portal_status(self->b).num_local_parcels);

	/* Enough data room but no handle room. */
	num_bytes = 4;
	num_handles = 0;
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, data, &num_bytes,
			   NULL, &num_handles, NULL));
	EXPECT_EQ(4, num_bytes);
	EXPECT_EQ(1, num_handles);

	/* No capacity pointers at all: still RESOURCE_EXHAUSTED. */
	EXPECT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
			   NULL, NULL));
	EXPECT_EQ(1, portal_status(self->b).num_local_parcels);

	num_bytes = sizeof(data);
	num_handles = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, data, &num_bytes,
			   &handle, &num_handles, NULL));
	EXPECT_EQ(4, num_bytes);
	EXPECT_EQ(0, memcmp(data, "four", 4));
	EXPECT_EQ(1, num_handles);
	EXPECT_NE(IPCZ_INVALID_HANDLE, handle);
	close_handle(_metadata, handle);
}

TEST_F(portal, get_null_buffer_with_capacity)
{
	size_t num_bytes = 4, num_handles = 1;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "data"));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, &num_bytes,
			   NULL, NULL, NULL));
	num_bytes = 0;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, NULL, &num_bytes,
			   NULL, &num_handles, NULL));
	/* The parcel is still there. */
	EXPECT_EQ(1, portal_status(self->b).num_local_parcels);
}

TEST_F(portal, get_partial)
{
	IpczHandle boxes[2] = {
		box_test_object(self->node, test_object_new(1, true)),
		box_test_object(self->node, test_object_new(2, true)),
	};
	IpczHandle handle = IPCZ_INVALID_HANDLE, parcel = IPCZ_INVALID_HANDLE;
	IpczHandle rest[2] = { IPCZ_INVALID_HANDLE, IPCZ_INVALID_HANDLE };
	char data[8] = { 0 };
	size_t num_bytes = 3, num_handles = 1;

	ASSERT_NE(IPCZ_INVALID_HANDLE, boxes[0]);
	ASSERT_NE(IPCZ_INVALID_HANDLE, boxes[1]);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "partial", 7, boxes, 2,
					   IPCZ_NO_FLAGS, NULL));

	/* Takes what fits and removes the parcel from the portal. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, data, &num_bytes,
			   &handle, &num_handles, &parcel));
	EXPECT_EQ(3, num_bytes);
	EXPECT_EQ(0, memcmp(data, "par", 3));
	EXPECT_EQ(0, data[3]);
	EXPECT_EQ(1, num_handles);
	EXPECT_NE(IPCZ_INVALID_HANDLE, handle);
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);

	/* The kept parcel still has all its data and the handle not taken. */
	num_bytes = sizeof(data);
	num_handles = 2;
	ASSERT_NE(IPCZ_INVALID_HANDLE, parcel);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(parcel, IPCZ_NO_FLAGS, NULL, data, &num_bytes, rest,
			   &num_handles, NULL));
	EXPECT_EQ(7, num_bytes);
	EXPECT_EQ(0, memcmp(data, "partial", 7));
	EXPECT_EQ(1, num_handles);
	EXPECT_NE(IPCZ_INVALID_HANDLE, rest[0]);
	EXPECT_NE(handle, rest[0]);

	close_handle(_metadata, handle);
	close_handle(_metadata, rest[0]);
	close_handle(_metadata, parcel);
}

TEST_F(portal, get_partial_data_only_drops_the_rest)
{
	char data[2];
	size_t num_bytes = sizeof(data);
	char text[16];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "first"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "second"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, data, &num_bytes,
			   NULL, NULL, NULL));
	EXPECT_EQ(2, num_bytes);
	EXPECT_EQ(0, memcmp(data, "fi", 2));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("second", text);
}

TEST_F(portal, peer_closed_then_dead)
{
	struct IpczPortalStatus status;
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "last"));
	close_handle(_metadata, self->a);
	self->a = IPCZ_INVALID_HANDLE;

	status = portal_status(self->b);
	EXPECT_TRUE(status.flags & IPCZ_PORTAL_STATUS_PEER_CLOSED);
	EXPECT_FALSE(status.flags & IPCZ_PORTAL_STATUS_DEAD);
	EXPECT_EQ(1, status.num_local_parcels);

	/* Sending to a closed peer would be lost. */
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(self->b, "lost"));

	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("last", text);
	status = portal_status(self->b);
	EXPECT_TRUE(status.flags & IPCZ_PORTAL_STATUS_PEER_CLOSED);
	EXPECT_TRUE(status.flags & IPCZ_PORTAL_STATUS_DEAD);
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, NULL,
			   NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(self->b, "lost"));
}

TEST_F(portal, put_invalid_arguments)
{
	IpczHandle box = box_test_object(self->node, test_object_new(9, true));
	IpczHandle bogus = IPCZ_INVALID_HANDLE;
	IpczHandle mixed[2];
	uintptr_t value = 0;
	struct IpczBoxContents contents;

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(IPCZ_INVALID_HANDLE, "x", 1, NULL, 0, IPCZ_NO_FLAGS,
			   NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->node, "x", 1, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 1, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 0, NULL, 1, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 0, &bogus, 1, IPCZ_NO_FLAGS, NULL));
	/* A node cannot travel in a parcel. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 0, &self->node, 1, IPCZ_NO_FLAGS,
			   NULL));
	/* A portal cannot be sent through itself or its peer. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 0, &self->a, 1, IPCZ_NO_FLAGS,
			   NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 0, &self->b, 1, IPCZ_NO_FLAGS,
			   NULL));
	/* One bad handle among good ones fails the whole Put()... */
	mixed[0] = box;
	mixed[1] = self->b;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, "x", 1, mixed, 2, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);

	/* ...and the caller keeps every handle. */
	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &contents));
	EXPECT_TRUE(test_object_value(contents.object.driver_object, &value));
	EXPECT_EQ(9, value);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  test_driver()->Close(contents.object.driver_object,
				       IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, put_str(self->a, "still works"));
}

TEST_F(portal, put_handle_validation_comes_before_closed_peer)
{
	close_handle(_metadata, self->b);
	self->b = IPCZ_INVALID_HANDLE;
	/* Upstream validates the handles first, then the peer. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 0, &self->a, 1, IPCZ_NO_FLAGS,
			   NULL));
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(self->a, "x"));
}

TEST_F(portal, put_to_closed_peer_keeps_the_handles)
{
	IpczHandle box = box_test_object(self->node, test_object_new(4, true));
	struct IpczBoxContents contents;

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	close_handle(_metadata, self->b);
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.Put(self->a, "x", 1, &box, 1, IPCZ_NO_FLAGS, NULL));
	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &contents));
	close_handle(_metadata, box);
}

TEST_F(portal, send_a_portal)
{
	IpczHandle c, d, received = IPCZ_INVALID_HANDLE;
	size_t num_handles = 1;
	char text[8];

	open_pair(_metadata, self->node, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "early"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "p", 1, &d, 1,
					   IPCZ_NO_FLAGS, NULL));

	text[0] = 0;
	{
		size_t num_bytes = sizeof(text);

		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, text,
				   &num_bytes, &received, &num_handles, NULL));
		EXPECT_EQ(1, num_bytes);
	}
	ASSERT_EQ(1, num_handles);
	ASSERT_NE(IPCZ_INVALID_HANDLE, received);

	/* What was queued before the move, and what comes after, arrive. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "late"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(received, text, sizeof(text)));
	EXPECT_STREQ("early", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(received, text, sizeof(text)));
	EXPECT_STREQ("late", text);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(received, "back"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(c, text, sizeof(text)));
	EXPECT_STREQ("back", text);

	close_handle(_metadata, received);
	EXPECT_TRUE(portal_status(c).flags & IPCZ_PORTAL_STATUS_DEAD);
	close_handle(_metadata, c);
}

TEST_F(portal, send_both_ends_of_a_pair)
{
	IpczHandle pair[2], got[2] = { 0, 0 };
	size_t num_handles = 2;
	char text[8];

	open_pair(_metadata, self->node, &pair[0], &pair[1]);
	/* Only the sender and its peer are refused; a pair may travel. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, pair, 2,
					   IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, got,
			   &num_handles, NULL));
	ASSERT_EQ(2, num_handles);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(got[0], "still"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(got[1], text, sizeof(text)));
	EXPECT_STREQ("still", text);
	close_handle(_metadata, got[0]);
	close_handle(_metadata, got[1]);
}

TEST_F(portal, nested_portal_transfer)
{
	IpczHandle c, d, e, f, d2 = IPCZ_INVALID_HANDLE;
	IpczHandle f2 = IPCZ_INVALID_HANDLE;
	size_t num_handles = 1;
	char text[8];

	open_pair(_metadata, self->node, &c, &d);
	open_pair(_metadata, self->node, &e, &f);
	/* f waits in d's queue while d travels through a. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(c, NULL, 0, &f, 1, IPCZ_NO_FLAGS,
					   NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &d, 1,
					   IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, &d2,
			   &num_handles, NULL));
	EXPECT_EQ(1, portal_status(d2).num_local_parcels);
	num_handles = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(d2, IPCZ_NO_FLAGS, NULL, NULL, NULL, &f2,
			   &num_handles, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(e, "deep"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(f2, text, sizeof(text)));
	EXPECT_STREQ("deep", text);
	close_handle(_metadata, c);
	close_handle(_metadata, d2);
	close_handle(_metadata, e);
	close_handle(_metadata, f2);
}

TEST_F(portal, closing_releases_nested_portals)
{
	IpczHandle c, d, e, f;

	open_pair(_metadata, self->node, &c, &d);
	open_pair(_metadata, self->node, &e, &f);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(c, NULL, 0, &f, 1, IPCZ_NO_FLAGS,
					   NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &d, 1,
					   IPCZ_NO_FLAGS, NULL));
	/* b holds d, which holds f: closing b lets go of all of them. */
	close_handle(_metadata, self->b);
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_TRUE(portal_status(c).flags & IPCZ_PORTAL_STATUS_DEAD);
	EXPECT_TRUE(portal_status(e).flags & IPCZ_PORTAL_STATUS_DEAD);
	close_handle(_metadata, c);
	close_handle(_metadata, e);
}

TEST_F(portal, closing_a_parcel_closes_its_handles)
{
	IpczHandle c, d, parcel = IPCZ_INVALID_HANDLE;

	open_pair(_metadata, self->node, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &d, 1,
					   IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, NULL, NULL, NULL,
			   NULL, &parcel));
	EXPECT_FALSE(portal_status(c).flags & IPCZ_PORTAL_STATUS_PEER_CLOSED);
	close_handle(_metadata, parcel);
	EXPECT_TRUE(portal_status(c).flags & IPCZ_PORTAL_STATUS_DEAD);
	close_handle(_metadata, c);
}

TEST_F(portal, closing_a_portal_closes_queued_handles)
{
	IpczHandle c, d;

	open_pair(_metadata, self->node, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &d, 1,
					   IPCZ_NO_FLAGS, NULL));
	close_handle(_metadata, self->b);
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_TRUE(portal_status(c).flags & IPCZ_PORTAL_STATUS_DEAD);
	close_handle(_metadata, c);
}

TEST_F(portal, query_status_honours_size)
{
	struct {
		struct IpczPortalStatus status;
		char later[16];
	} newer;
	struct IpczPortalStatus status;

	memset(&status, 0, sizeof(status));
	status.size = sizeof(status) - 1;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(self->a, IPCZ_NO_FLAGS, NULL,
					 &status));
	status.size = 0;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(self->a, IPCZ_NO_FLAGS, NULL,
					 &status));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(self->a, IPCZ_NO_FLAGS, NULL, NULL));
	status.size = sizeof(status);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(self->node, IPCZ_NO_FLAGS, NULL,
					 &status));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.QueryPortalStatus(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS,
					 NULL, &status));

	/* A caller with a larger struct learns how much was filled in. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "xyz"));
	memset(&newer, 0x33, sizeof(newer));
	newer.status.size = sizeof(newer);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.QueryPortalStatus(self->a, IPCZ_NO_FLAGS, NULL,
					 &newer.status));
	EXPECT_EQ(sizeof(struct IpczPortalStatus), newer.status.size);
	EXPECT_EQ(0, newer.status.flags);
	EXPECT_EQ(1, newer.status.num_local_parcels);
	EXPECT_EQ(3, newer.status.num_local_bytes);
	for (size_t i = 0; i < sizeof(newer.later); i++)
		EXPECT_EQ(0x33, newer.later[i]);
}

TEST_F(portal, merge)
{
	IpczHandle c, d;
	char text[8];

	open_pair(_metadata, self->node, &c, &d);
	/* Parcels queued in the merged portals are not lost. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "a1"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(d, "d1"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.MergePortals(self->b, c, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "a2"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(d, "d2"));

	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, text, sizeof(text)));
	EXPECT_STREQ("a1", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, text, sizeof(text)));
	EXPECT_STREQ("a2", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->a, text, sizeof(text)));
	EXPECT_STREQ("d1", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->a, text, sizeof(text)));
	EXPECT_STREQ("d2", text);

	/* The merged handles are consumed. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(self->b, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(c, IPCZ_NO_FLAGS, NULL));
	self->b = IPCZ_INVALID_HANDLE;

	/* Closure crosses the merge too. */
	close_handle(_metadata, d);
	EXPECT_TRUE(portal_status(self->a).flags &
		    IPCZ_PORTAL_STATUS_PEER_CLOSED);
}

TEST_F(portal, merge_chain)
{
	enum { pairs = 6 };
	IpczHandle left[pairs], right[pairs];
	char text[8];

	/* p0.l - p0.r + p1.l - p1.r + ... : merge each r with the next l. */
	for (int i = 0; i < pairs; i++)
		open_pair(_metadata, self->node, &left[i], &right[i]);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(left[0], "one"));
	for (int i = 0; i + 1 < pairs; i++) {
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.MergePortals(right[i], left[i + 1],
					    IPCZ_NO_FLAGS, NULL));
		if (i == pairs / 2)
			ASSERT_EQ(IPCZ_RESULT_OK,
				  put_str(right[pairs - 1], "back"));
	}
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(left[0], "two"));

	ASSERT_EQ(IPCZ_RESULT_OK, get_str(right[pairs - 1], text,
					  sizeof(text)));
	EXPECT_STREQ("one", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(right[pairs - 1], text,
					  sizeof(text)));
	EXPECT_STREQ("two", text);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(left[0], text, sizeof(text)));
	EXPECT_STREQ("back", text);

	close_handle(_metadata, left[0]);
	EXPECT_TRUE(portal_status(right[pairs - 1]).flags &
		    IPCZ_PORTAL_STATUS_DEAD);
	close_handle(_metadata, right[pairs - 1]);
}

TEST_F(portal, merge_with_closed_peer)
{
	IpczHandle c, d;

	open_pair(_metadata, self->node, &c, &d);
	close_handle(_metadata, self->a);
	self->a = IPCZ_INVALID_HANDLE;
	/* b's peer is gone, which does not prevent the merge. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.MergePortals(self->b, c, IPCZ_NO_FLAGS, NULL));
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_TRUE(portal_status(d).flags & IPCZ_PORTAL_STATUS_PEER_CLOSED);
	EXPECT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(d, "nobody"));
	close_handle(_metadata, d);
}

TEST_F(portal, merge_refusals)
{
	IpczHandle c, d, e, f, g, h;
	char text[4];

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(self->a, IPCZ_INVALID_HANDLE,
				    IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(IPCZ_INVALID_HANDLE, self->a,
				    IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(self->a, self->node, IPCZ_NO_FLAGS,
				    NULL));
	/* Not with its own peer, not with itself. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(self->a, self->b, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.MergePortals(self->a, self->a, IPCZ_NO_FLAGS, NULL));

	/* Not once a parcel was put into, or taken out of, either one. */
	open_pair(_metadata, self->node, &c, &d);
	open_pair(_metadata, self->node, &e, &f);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "!"));
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.MergePortals(self->a, c, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.MergePortals(c, self->a, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, text, sizeof(text)));
	EXPECT_EQ(IPCZ_RESULT_FAILED_PRECONDITION,
		  ipcz.MergePortals(self->a, d, IPCZ_NO_FLAGS, NULL));

	/* Refusals leave every portal working. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "ok"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("ok", text);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "ok"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(d, text, sizeof(text)));
	EXPECT_STREQ("ok", text);

	/* A portal that merely has parcels waiting can still merge. */
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(e, "q"));
	open_pair(_metadata, self->node, &g, &h);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(f, g, IPCZ_NO_FLAGS,
						    NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(h, text, sizeof(text)));
	EXPECT_STREQ("q", text);

	close_handle(_metadata, c);
	close_handle(_metadata, d);
	close_handle(_metadata, e);
	close_handle(_metadata, h);
}

TEST_HARNESS_MAIN
