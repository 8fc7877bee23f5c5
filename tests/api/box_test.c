// SPDX-License-Identifier: MIT
/*
 * API tests: Box() and Unbox(). Driver objects (through the driver),
 * application objects (serializer and destructor), subparcels,
 * IPCZ_UNBOX_PEEK, sending boxes, and every refusal. Expected results
 * follow upstream ipcz's header and implementation (api.cc, box.cc,
 * box_test.cc).
 */
#include <string.h>

#include "kselftest_harness.h"
#include "tests/api/api_test.h"

API_PAIR_FIXTURE(box)

static struct IpczBoxContents empty_contents(void)
{
	struct IpczBoxContents contents;

	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	return contents;
}

/* ---- an application object: a counted token ---- */

struct token {
	uintptr_t value;
	int serialized;
	int destroyed;
	uint32_t destroy_flags;
};

static IpczResult serialize_token(uintptr_t object, uint32_t flags,
				  const void *options, volatile void *data,
				  size_t *num_bytes, IpczHandle *handles,
				  size_t *num_handles)
{
	struct token *token = (struct token *)object;
	const size_t capacity = num_bytes ? *num_bytes : 0;
	volatile unsigned char *out = data;

	if (num_bytes)
		*num_bytes = sizeof(token->value);
	if (num_handles)
		*num_handles = 0;
	if (capacity < sizeof(token->value))
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	for (size_t i = 0; i < sizeof(token->value); i++)
		out[i] = (unsigned char)(token->value >> (8 * i));
	token->serialized++;
	return IPCZ_RESULT_OK;
}

static void destroy_token(uintptr_t object, uint32_t flags,
			  const void *options)
{
	struct token *token = (struct token *)object;

	token->destroyed++;
	token->destroy_flags = flags;
}

static IpczHandle box_token(struct __test_metadata *_metadata,
			    IpczHandle node, struct token *token,
			    bool with_serializer)
{
	struct IpczBoxContents contents = empty_contents();
	IpczHandle box = IPCZ_INVALID_HANDLE;

	contents.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT;
	contents.object.application_object = (uintptr_t)token;
	contents.serializer = with_serializer ? serialize_token : NULL;
	contents.destructor = destroy_token;
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	return box;
}

/* ---- driver objects ---- */

TEST_F(box, driver_object_round_trip)
{
	IpczDriverHandle object = test_object_new(1234, true);
	struct IpczBoxContents contents = empty_contents();
	IpczHandle box = IPCZ_INVALID_HANDLE;
	uintptr_t value = 0;

	ASSERT_NE(IPCZ_INVALID_DRIVER_HANDLE, object);
	contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	contents.object.driver_object = object;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Box(self->node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	ASSERT_NE(IPCZ_INVALID_HANDLE, box);

	contents = empty_contents();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &contents));
	EXPECT_EQ(IPCZ_BOX_TYPE_DRIVER_OBJECT, contents.type);
	EXPECT_EQ(object, contents.object.driver_object);
	EXPECT_TRUE(test_object_value(object, &value));
	EXPECT_EQ(1234, value);
	/* Unboxing consumed the box; the object is ours again. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(box, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &contents));
	EXPECT_TRUE(test_object_value(object, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  test_driver()->Close(object, IPCZ_NO_FLAGS, NULL));
}

TEST_F(box, peek)
{
	const size_t before = driver_objects_alive();
	IpczDriverHandle object = test_object_new(5, true);
	IpczHandle box = box_test_object(self->node, object);
	struct IpczBoxContents contents;

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	for (int i = 0; i < 3; i++) {
		contents = empty_contents();
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &contents));
		EXPECT_EQ(IPCZ_BOX_TYPE_DRIVER_OBJECT, contents.type);
		EXPECT_EQ(object, contents.object.driver_object);
	}
	/* Still boxed: closing the box releases the object. */
	EXPECT_EQ(before + 1, driver_objects_alive());
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(before, driver_objects_alive());
}

TEST_F(box, close_releases_the_driver_object)
{
	const size_t before = driver_objects_alive();
	IpczDriverHandle object = test_object_new(6, true);
	IpczHandle box = box_test_object(self->node, object);

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	EXPECT_EQ(before + 1, driver_objects_alive());
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(before, driver_objects_alive());
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(box, IPCZ_NO_FLAGS, NULL));
}

TEST_F(box, box_refusals)
{
	IpczDriverHandle object = test_object_new(7, true);
	struct IpczBoxContents contents = empty_contents();
	IpczHandle box = IPCZ_INVALID_HANDLE;

	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, NULL, IPCZ_NO_FLAGS, NULL, &box));
	contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	contents.object.driver_object = object;
	contents.size = 0;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	contents.size = sizeof(contents) - 1;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	contents.size = sizeof(contents);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(IPCZ_INVALID_HANDLE, &contents, IPCZ_NO_FLAGS, NULL,
			   &box));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->a, &contents, IPCZ_NO_FLAGS, NULL, &box));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, &contents, IPCZ_NO_FLAGS, NULL, NULL));
	contents.object.driver_object = IPCZ_INVALID_DRIVER_HANDLE;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, &contents, IPCZ_NO_FLAGS, NULL, &box));

	/*
	 * Subparcels are only ever boxed by ipcz itself; other types do not
	 * exist. Upstream answers both with UNIMPLEMENTED.
	 */
	contents.type = IPCZ_BOX_TYPE_SUBPARCEL;
	contents.object.subparcel = self->a;
	EXPECT_EQ(IPCZ_RESULT_UNIMPLEMENTED,
		  ipcz.Box(self->node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	contents.type = 77;
	contents.object.driver_object = object;
	EXPECT_EQ(IPCZ_RESULT_UNIMPLEMENTED,
		  ipcz.Box(self->node, &contents, IPCZ_NO_FLAGS, NULL, &box));
	EXPECT_EQ(IPCZ_INVALID_HANDLE, box);

	/* Nothing was taken: the object is still the caller's. */
	EXPECT_TRUE(test_object_value(object, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK,
		  test_driver()->Close(object, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, put_str(self->a, "portal untouched"));
}

TEST_F(box, unbox_refusals)
{
	IpczDriverHandle object = test_object_new(8, true);
	IpczHandle box = box_test_object(self->node, object);
	struct IpczBoxContents contents = empty_contents();

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL,
			     &contents));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(self->node, IPCZ_NO_FLAGS, NULL, &contents));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(self->a, IPCZ_NO_FLAGS, NULL, &contents));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, NULL));
	contents.size = sizeof(contents) - 1;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &contents));
	contents.size = 0;
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &contents));

	/* The box survived every refusal. */
	contents = empty_contents();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &contents));
	EXPECT_EQ(object, contents.object.driver_object);
	test_driver()->Close(object, IPCZ_NO_FLAGS, NULL);
}

TEST_F(box, larger_contents_struct)
{
	struct {
		struct IpczBoxContents contents;
		char later[16];
	} newer;
	IpczDriverHandle object = test_object_new(9, true);
	IpczHandle box = IPCZ_INVALID_HANDLE;

	memset(&newer, 0, sizeof(newer));
	newer.contents.size = sizeof(newer);
	newer.contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	newer.contents.object.driver_object = object;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Box(self->node, &newer.contents,
					   IPCZ_NO_FLAGS, NULL, &box));
	memset(&newer, 0, sizeof(newer));
	newer.contents.size = sizeof(newer);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &newer.contents));
	EXPECT_EQ(object, newer.contents.object.driver_object);
	test_driver()->Close(object, IPCZ_NO_FLAGS, NULL);
}

TEST_F(box, send_a_driver_object)
{
	IpczDriverHandle object = test_object_new(10, true);
	IpczHandle box = box_test_object(self->node, object);
	IpczHandle received = IPCZ_INVALID_HANDLE;
	struct IpczBoxContents contents = empty_contents();
	size_t num_handles = 1;
	uintptr_t value = 0;

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "box", 3, &box, 1,
					   IPCZ_NO_FLAGS, NULL));
	{
		char text[4];
		size_t num_bytes = sizeof(text);

		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, text,
				   &num_bytes, &received, &num_handles, NULL));
	}
	ASSERT_EQ(1, num_handles);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(received, IPCZ_NO_FLAGS, NULL, &contents));
	EXPECT_EQ(IPCZ_BOX_TYPE_DRIVER_OBJECT, contents.type);
	EXPECT_TRUE(test_object_value(contents.object.driver_object, &value));
	EXPECT_EQ(10, value);
	test_driver()->Close(contents.object.driver_object, IPCZ_NO_FLAGS,
			     NULL);
}

TEST_F(box, unsendable_driver_object)
{
	const size_t before = driver_objects_alive();
	IpczDriverHandle object = test_object_new(11, false);
	IpczHandle box = box_test_object(self->node, object);
	struct IpczBoxContents contents = empty_contents();

	/* Boxing is fine; sending is refused and the box stays ours. */
	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 0, &box, 1, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(0, portal_status(self->b).num_local_parcels);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &contents));
	EXPECT_EQ(object, contents.object.driver_object);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(before, driver_objects_alive());
}

TEST_F(box, queued_boxes_are_released_with_their_portal)
{
	const size_t before = driver_objects_alive();
	IpczHandle boxes[3];

	for (int i = 0; i < 3; i++) {
		boxes[i] = box_test_object(self->node,
					   test_object_new(i, true));
		ASSERT_NE(IPCZ_INVALID_HANDLE, boxes[i]);
	}
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, boxes, 3,
					   IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(before + 3, driver_objects_alive());
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->b, IPCZ_NO_FLAGS, NULL));
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_EQ(before, driver_objects_alive());
}

/* ---- application objects ---- */

TEST_F(box, application_object)
{
	struct token token = { .value = 0xfeed };
	IpczHandle box = box_token(_metadata, self->node, &token, true);
	struct IpczBoxContents contents = empty_contents();

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &contents));
	EXPECT_EQ(IPCZ_BOX_TYPE_APPLICATION_OBJECT, contents.type);
	EXPECT_EQ((uintptr_t)&token, contents.object.application_object);
	EXPECT_TRUE(contents.serializer == serialize_token);
	EXPECT_TRUE(contents.destructor == destroy_token);
	EXPECT_EQ(0, token.destroyed);

	/* Unboxing hands the object back: no destructor call. */
	contents = empty_contents();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_NO_FLAGS, NULL, &contents));
	EXPECT_EQ((uintptr_t)&token, contents.object.application_object);
	EXPECT_EQ(0, token.destroyed);
	EXPECT_EQ(0, token.serialized);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(box, IPCZ_NO_FLAGS, NULL));
}

TEST_F(box, closing_an_application_box_destroys_the_object)
{
	struct token token = { .value = 1 };
	IpczHandle box = box_token(_metadata, self->node, &token, true);

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(box, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(1, token.destroyed);
	EXPECT_EQ(IPCZ_NO_FLAGS, token.destroy_flags);
	EXPECT_EQ(0, token.serialized);
}

TEST_F(box, application_object_within_a_node)
{
	struct token with = { .value = 2 }, without = { .value = 3 };
	IpczHandle boxes[2] = {
		box_token(_metadata, self->node, &with, true),
		/* No serializer: fine as long as it stays in this node. */
		box_token(_metadata, self->node, &without, false),
	};
	IpczHandle received[2] = { IPCZ_INVALID_HANDLE, IPCZ_INVALID_HANDLE };
	size_t num_handles = 2;

	ASSERT_NE(IPCZ_INVALID_HANDLE, boxes[0]);
	ASSERT_NE(IPCZ_INVALID_HANDLE, boxes[1]);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, boxes, 2,
					   IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL, received,
			   &num_handles, NULL));
	ASSERT_EQ(2, num_handles);
	for (int i = 0; i < 2; i++) {
		struct IpczBoxContents contents = empty_contents();

		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(received[i],
						     IPCZ_NO_FLAGS, NULL,
						     &contents));
		EXPECT_EQ(IPCZ_BOX_TYPE_APPLICATION_OBJECT, contents.type);
		EXPECT_EQ((uintptr_t)(i ? &without : &with),
			  contents.object.application_object);
	}
	/* Passed by reference: never serialized, never destroyed. */
	EXPECT_EQ(0, with.serialized);
	EXPECT_EQ(0, with.destroyed);
	EXPECT_EQ(0, without.destroyed);
}

TEST_F(box, queued_application_boxes_are_destroyed_with_their_portal)
{
	struct token token = { .value = 4 };
	IpczHandle box = box_token(_metadata, self->node, &token, true);

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &box, 1,
					   IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(0, token.destroyed);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(self->b, IPCZ_NO_FLAGS, NULL));
	self->b = IPCZ_INVALID_HANDLE;
	EXPECT_EQ(1, token.destroyed);
}

/* ---- subparcels: an application object arriving from another node ---- */

TEST(application_object_to_another_node_is_a_subparcel)
{
	IpczHandle broker, client, a = IPCZ_INVALID_HANDLE;
	IpczHandle b = IPCZ_INVALID_HANDLE, box, received = IPCZ_INVALID_HANDLE;
	IpczDriverHandle t0, t1;
	struct token token = { .value = 0x0102030405060708u };
	struct IpczBoxContents contents = empty_contents();
	unsigned char bytes[sizeof(uintptr_t)];
	size_t num_bytes = sizeof(bytes), num_handles = 1;
	IpczHandle subparcel;
	uintptr_t value = 0;
	char text[4];
	size_t text_bytes = sizeof(text);

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	client = new_node(IPCZ_NO_FLAGS);
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

	box = box_token(_metadata, broker, &token, true);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(a, "app", 3, &box, 1,
					   IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(1, token.serialized);
	EXPECT_EQ(1, token.destroyed);

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, text, &text_bytes,
			   &received, &num_handles, NULL));
	ASSERT_EQ(1, num_handles);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(received, IPCZ_UNBOX_PEEK, NULL, &contents));
	EXPECT_EQ(IPCZ_BOX_TYPE_SUBPARCEL, contents.type);
	contents = empty_contents();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(received, IPCZ_NO_FLAGS, NULL, &contents));
	ASSERT_EQ(IPCZ_BOX_TYPE_SUBPARCEL, contents.type);
	subparcel = contents.object.subparcel;
	ASSERT_NE(IPCZ_INVALID_HANDLE, subparcel);

	/* What the serializer wrote is the subparcel's data. */
	num_handles = 0;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(subparcel, IPCZ_NO_FLAGS, NULL, bytes, &num_bytes,
			   NULL, &num_handles, NULL));
	ASSERT_EQ(sizeof(bytes), num_bytes);
	for (size_t i = 0; i < sizeof(bytes); i++)
		value |= (uintptr_t)bytes[i] << (8 * i);
	EXPECT_EQ(token.value, value);

	ipcz.Close(subparcel, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(a, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(b, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(client, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(broker, IPCZ_NO_FLAGS, NULL);
}

/*
 * Peeking at a subparcel box hands out a handle to the boxed parcel that
 * the box keeps owning: the same handle every time, usable for gets, and
 * the very handle a later Unbox() gives away (upstream's peek hands out
 * the parcel's own handle too).
 */
TEST(peek_at_a_subparcel)
{
	IpczHandle broker, client, a, b, box, received, peeked, again;
	IpczDriverHandle t0, t1;
	struct token token = { .value = 0x1122334455667788u };
	struct IpczBoxContents contents = empty_contents();
	unsigned char bytes[sizeof(uintptr_t)];
	size_t num_bytes = sizeof(bytes), num_handles = 1;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	client = new_node(IPCZ_NO_FLAGS);
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
	box = box_token(_metadata, broker, &token, true);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(a, NULL, 0, &box, 1,
					   IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, NULL, NULL, &received,
			   &num_handles, NULL));

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(received, IPCZ_UNBOX_PEEK, NULL, &contents));
	ASSERT_EQ(IPCZ_BOX_TYPE_SUBPARCEL, contents.type);
	peeked = contents.object.subparcel;
	num_handles = 0;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(peeked, IPCZ_NO_FLAGS, NULL, bytes, &num_bytes,
			   NULL, &num_handles, NULL));
	EXPECT_EQ(sizeof(bytes), num_bytes);
	contents = empty_contents();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(received, IPCZ_UNBOX_PEEK, NULL, &contents));
	EXPECT_EQ(peeked, contents.object.subparcel);
	contents = empty_contents();
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(received, IPCZ_NO_FLAGS, NULL, &contents));
	again = contents.object.subparcel;
	EXPECT_EQ(peeked, again);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(received, IPCZ_UNBOX_PEEK, NULL, &contents));
	/* The parcel's data is read again as often as asked. */
	num_bytes = sizeof(bytes);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(again, IPCZ_NO_FLAGS, NULL, bytes, &num_bytes,
			   NULL, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(again, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(b, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(client, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(broker, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(no_leaks());
}

/* Closing a peeked subparcel box takes the peeked handle with it. */
TEST(closing_a_peeked_subparcel_box)
{
	IpczHandle broker, client, a, b, box, received, peeked;
	IpczDriverHandle t0, t1;
	struct token token = { .value = 7 };
	struct IpczBoxContents contents = empty_contents();
	size_t num_handles = 1;

	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	broker = new_node(IPCZ_CREATE_NODE_AS_BROKER);
	client = new_node(IPCZ_NO_FLAGS);
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
	box = box_token(_metadata, broker, &token, true);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(a, NULL, 0, &box, 1,
					   IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(b, IPCZ_NO_FLAGS, NULL, NULL, NULL, &received,
			   &num_handles, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(received, IPCZ_UNBOX_PEEK, NULL, &contents));
	peeked = contents.object.subparcel;
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(received, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(peeked, IPCZ_GET_PARTIAL, NULL, NULL, NULL, NULL,
			   NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(b, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(client, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(broker, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(no_leaks());
}

TEST_HARNESS_MAIN
