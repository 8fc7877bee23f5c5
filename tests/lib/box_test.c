// SPDX-License-Identifier: MIT
/*
 * Boxes: driver objects (serializable or not), application objects with
 * their destructor, subparcels, peeking, sending boxes through portals, and
 * the release of whatever a closed or undelivered box holds.
 */
#include "kselftest_harness.h"
#include "lib/box.h"
#include "lib/handle_table.h"
#include "lib/parcel_wrapper.h"
#include "lib_test.h"

/*
 * Boxes the parcel behind `parcel` as a subparcel, as ipcz does for an
 * application object arriving from another node (Box() itself refuses
 * subparcels, as upstream does). The parcel handle is consumed.
 */
static IpczHandle wrap_as_subparcel(IpczHandle parcel)
{
	struct api_object *wrapper = handle_table_take(parcel,
						       API_OBJECT_PARCEL);
	struct box *box;

	if (!wrapper)
		return IPCZ_INVALID_HANDLE;
	box = box_wrap_subparcel((struct parcel_wrapper *)wrapper);
	return box ? handle_table_add(&box->object) : IPCZ_INVALID_HANDLE;
}

static int destroyed;
static uintptr_t destroyed_value;

static void destroy_object(uintptr_t object, uint32_t flags,
			   const void *options)
{
	destroyed++;
	destroyed_value = object;
}

static IpczResult serialize_object(uintptr_t object, uint32_t flags,
				   const void *options, volatile void *data,
				   size_t *num_bytes, IpczHandle *handles,
				   size_t *num_handles)
{
	return IPCZ_RESULT_FAILED_PRECONDITION;
}

FIXTURE(box) {
	IpczHandle node, a, b;
};

FIXTURE_SETUP(box)
{
	self->node = test_node();
	test_portals(self->node, &self->a, &self->b);
	destroyed = 0;
	destroyed_value = 0;
}

FIXTURE_TEARDOWN(box)
{
	close_handle(self->a);
	close_handle(self->b);
	close_handle(self->node);
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
	EXPECT_EQ(0, leaks_found());
}

static IpczHandle box_driver_object(IpczHandle node, IpczDriverHandle object)
{
	struct IpczBoxContents contents = {
		.size = sizeof(contents),
		.type = IPCZ_BOX_TYPE_DRIVER_OBJECT,
		.object.driver_object = object,
	};
	IpczHandle box = IPCZ_INVALID_HANDLE;

	ipcz.Box(node, &contents, IPCZ_NO_FLAGS, NULL, &box);
	return box;
}

TEST_F(box, box_misuse)
{
	struct IpczBoxContents contents = { .size = 0 };
	IpczHandle box;

	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, NULL, 0, NULL, &box));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, &contents, 0, NULL, &box));
	contents.size = sizeof(contents);
	contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
	contents.object.driver_object = IPCZ_INVALID_DRIVER_HANDLE;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, &contents, 0, NULL, &box));
	contents.object.driver_object = 1;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(IPCZ_INVALID_HANDLE, &contents, 0, NULL, &box));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->a, &contents, 0, NULL, &box));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Box(self->node, &contents, 0, NULL, NULL));
	/* As upstream: only ipcz boxes subparcels; other types do not exist. */
	contents.type = 77;
	ASSERT_EQ(IPCZ_RESULT_UNIMPLEMENTED,
		  ipcz.Box(self->node, &contents, 0, NULL, &box));
	contents.type = IPCZ_BOX_TYPE_SUBPARCEL;
	contents.object.subparcel = self->a;
	ASSERT_EQ(IPCZ_RESULT_UNIMPLEMENTED,
		  ipcz.Box(self->node, &contents, 0, NULL, &box));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "still usable"));
}

TEST_F(box, unbox_misuse)
{
	IpczDriverHandle object = ipcz_inprocess_test_object_create(5, 1);
	IpczHandle box = box_driver_object(self->node, object);
	struct IpczBoxContents contents = { .size = sizeof(contents) };

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(IPCZ_INVALID_HANDLE, 0, NULL, &contents));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(self->node, 0, NULL, &contents));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, 0, NULL, NULL));
	contents.size = 1;
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box, 0, NULL, &contents));
	/* Closing the box closes the driver object. */
	ASSERT_EQ(1, ipcz_inprocess_live_objects());
	close_handle(box);
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
}

TEST_F(box, driver_object_round_trip)
{
	IpczDriverHandle object = ipcz_inprocess_test_object_create(42, 1);
	IpczHandle box = box_driver_object(self->node, object), got;
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	size_t h = 1;
	uintptr_t value;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &box, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, 0, NULL, NULL, NULL, &got, &h, NULL));
	ASSERT_EQ(1, h);
	/* Peek leaves the box intact. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(got, IPCZ_UNBOX_PEEK, NULL, &contents));
	ASSERT_EQ(IPCZ_BOX_TYPE_DRIVER_OBJECT, contents.type);
	ASSERT_EQ(object, contents.object.driver_object);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(got, 0, NULL, &contents));
	ASSERT_EQ(object, contents.object.driver_object);
	/* Unboxed: the handle is gone, the object is ours. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(got, 0, NULL, &contents));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz_inprocess_test_object_value(object, &value));
	ASSERT_EQ(42, value);
	ipcz_inprocess_driver()->Close(object, 0, NULL);
}

TEST_F(box, unserializable_driver_object_cannot_travel)
{
	IpczDriverHandle object = ipcz_inprocess_test_object_create(1, 0);
	IpczHandle box = box_driver_object(self->node, object);

	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(self->a, NULL, 0, &box, 1, 0, NULL));
	close_handle(box);
}

TEST_F(box, undelivered_boxes_are_released)
{
	IpczDriverHandle object = ipcz_inprocess_test_object_create(1, 1);
	IpczHandle box = box_driver_object(self->node, object);

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &box, 1, 0, NULL));
	ASSERT_EQ(1, ipcz_inprocess_live_objects());
	/* The receiver closes without reading: the box goes with it. */
	close_handle(self->b);
	self->b = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(0, ipcz_inprocess_live_objects());
}

TEST_F(box, application_object)
{
	const struct IpczBoxContents in = {
		.size = sizeof(in),
		.type = IPCZ_BOX_TYPE_APPLICATION_OBJECT,
		.object.application_object = 0xabc,
		.serializer = serialize_object,
		.destructor = destroy_object,
	};
	struct IpczBoxContents out = { .size = sizeof(out) };
	IpczHandle box, got;
	size_t h = 1;

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Box(self->node, &in, 0, NULL, &box));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &box, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, 0, NULL, NULL, NULL, &got, &h, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(got, IPCZ_UNBOX_PEEK, NULL, &out));
	ASSERT_EQ(IPCZ_BOX_TYPE_APPLICATION_OBJECT, out.type);
	ASSERT_EQ(0xabc, out.object.application_object);
	ASSERT_TRUE(out.serializer == serialize_object);
	ASSERT_TRUE(out.destructor == destroy_object);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(got, 0, NULL, &out));
	/* Unboxed objects are the caller's: no destructor call. */
	ASSERT_EQ(0, destroyed);

	/* A closed box destroys its object. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Box(self->node, &in, 0, NULL, &box));
	close_handle(box);
	ASSERT_EQ(1, destroyed);
	ASSERT_EQ(0xabc, destroyed_value);

	/* So does a box lost with an unread parcel. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Box(self->node, &in, 0, NULL, &box));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &box, 1, 0, NULL));
	close_handle(self->b);
	self->b = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(2, destroyed);
}

TEST_F(box, subparcel)
{
	IpczHandle c, d, parcel, box, got, portal;
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	char buf[8];
	size_t n = sizeof(buf), h = 1;

	/* A parcel holding data and a portal... */
	test_portals(self->node, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "sub", 3, &d, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL,
					   buf, &n, NULL, NULL, &parcel));
	/* ...boxed as a subparcel and sent on. */
	box = wrap_as_subparcel(parcel);
	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(parcel, 0, NULL, NULL, NULL, NULL, NULL, NULL));
	/* The boxed parcel holds d, whose peer c is the sender: refused. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Put(c, NULL, 0, &box, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &box, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, 0, NULL, NULL, NULL, &got, &h, NULL));
	/* Peek twice gives the same parcel handle; the box keeps it. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(got, IPCZ_UNBOX_PEEK, NULL, &contents));
	ASSERT_EQ(IPCZ_BOX_TYPE_SUBPARCEL, contents.type);
	parcel = contents.object.subparcel;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(got, IPCZ_UNBOX_PEEK, NULL, &contents));
	ASSERT_EQ(parcel, contents.object.subparcel);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Unbox(got, 0, NULL, &contents));
	ASSERT_EQ(parcel, contents.object.subparcel);
	n = sizeof(buf);
	h = 1;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(parcel, 0, NULL, buf, &n, &portal,
					   &h, NULL));
	ASSERT_EQ(3, n);
	ASSERT_EQ(0, memcmp(buf, "sub", 3));
	ASSERT_EQ(1, h);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(portal, "end"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(c, buf, sizeof(buf)));
	ASSERT_STREQ("end", buf);
	close_handle(parcel);
	close_handle(portal);
	close_handle(c);
}

TEST_F(box, closing_a_peeked_subparcel_box)
{
	IpczHandle parcel, box;
	struct IpczBoxContents contents = { .size = sizeof(contents) };
	char buf[4];
	size_t n = sizeof(buf);

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "x"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, 0, NULL, buf, &n, NULL,
					   NULL, &parcel));
	box = wrap_as_subparcel(parcel);
	ASSERT_NE(IPCZ_INVALID_HANDLE, box);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box, IPCZ_UNBOX_PEEK, NULL, &contents));
	parcel = contents.object.subparcel;
	close_handle(box);
	/* The box owned the parcel: the peeked handle went with it. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Get(parcel, 0, NULL, NULL, NULL, NULL, NULL, NULL));
}

TEST_F(box, boxes_inside_boxes_inside_portals)
{
	IpczHandle c, d, box, got;
	IpczDriverHandle object = ipcz_inprocess_test_object_create(9, 1);
	size_t h = 1;

	/* A portal carrying a box travels through another portal. */
	test_portals(self->node, &c, &d);
	box = box_driver_object(self->node, object);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(c, NULL, 0, &box, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, &d, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, 0, NULL, NULL, NULL, &got, &h, NULL));
	h = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(got, 0, NULL, NULL, NULL, &box, &h, NULL));
	close_handle(got);
	close_handle(c);
	ASSERT_EQ(1, ipcz_inprocess_live_objects());
	close_handle(box);
}

TEST_HARNESS_MAIN
