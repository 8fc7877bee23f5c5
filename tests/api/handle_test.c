// SPDX-License-Identifier: MIT
/*
 * API tests: bad handles. Every call that takes a handle is given zero,
 * stale handles (closed, consumed, merged, sent away), forged values and
 * handles of the wrong kind; each must answer IPCZ_RESULT_INVALID_ARGUMENT
 * and change nothing. Forged transactions likewise. The harness runs each
 * test in its own process, so a crash fails only that test.
 */
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "tests/api/api_test.h"

/* Kinds of handle a call accepts. */
enum {
	KIND_NODE = 1 << 0,
	KIND_PORTAL = 1 << 1,
	KIND_BOX = 1 << 2,
	KIND_PARCEL = 1 << 3,
};

FIXTURE(handles) {
	IpczHandle node;
	IpczHandle a;
	IpczHandle b;
	IpczHandle box;
	IpczHandle parcel;
};

FIXTURE_SETUP(handles)
{
	ASSERT_EQ(IPCZ_RESULT_OK,
		  open_node_and_pair(&self->node, &self->a, &self->b));
	self->box = box_test_object(self->node, test_object_new(1, true));
	ASSERT_NE(IPCZ_INVALID_HANDLE, self->box);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "parcel"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(self->b, IPCZ_GET_PARTIAL, NULL, NULL, NULL, NULL,
			   NULL, &self->parcel));
	ASSERT_NE(IPCZ_INVALID_HANDLE, self->parcel);
}

FIXTURE_TEARDOWN(handles)
{
	ipcz.Close(self->parcel, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(self->box, IPCZ_NO_FLAGS, NULL);
	EXPECT_TRUE(close_node_and_pair(self->node, self->a, self->b));
}

static void IPCZ_API ignore_event(const struct IpczTrapEvent *event)
{
}

static bool is_live(FIXTURE_DATA(handles) *self, IpczHandle h)
{
	return h == self->node || h == self->a || h == self->b ||
	       h == self->box || h == self->parcel;
}

/*
 * Calls every function that takes a handle with `h` in that place and
 * checks the answer: INVALID_ARGUMENT wherever `h`'s kind (`kinds`, zero
 * for no valid handle at all) is not accepted. Close() is left out: it
 * accepts every kind and is checked by the callers.
 */
static void expect_refused_everywhere(struct __test_metadata *_metadata,
				      FIXTURE_DATA(handles) *self,
				      IpczHandle h, unsigned int kinds)
{
	const struct IpczTrapConditions conditions =
		trap_conditions(IPCZ_TRAP_NEW_LOCAL_PARCEL, 0, 0);
	struct IpczPortalStatus status;
	struct IpczBoxContents contents;
	IpczHandle x = IPCZ_INVALID_HANDLE, y = IPCZ_INVALID_HANDLE;
	IpczTransaction txn = 0;
	volatile void *out = NULL;
	const volatile void *in = NULL;
	size_t num_bytes = 0, num_handles = 0;
	char byte;

	if (!(kinds & KIND_NODE)) {
		IpczDriverHandle object = test_object_new(2, true);

		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.OpenPortals(h, IPCZ_NO_FLAGS, NULL, &x, &y));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.ConnectNode(h, object, 1,
					   IPCZ_CONNECT_NODE_TO_BROKER, NULL,
					   &x));
		memset(&contents, 0, sizeof(contents));
		contents.size = sizeof(contents);
		contents.type = IPCZ_BOX_TYPE_DRIVER_OBJECT;
		contents.object.driver_object = object;
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Box(h, &contents, IPCZ_NO_FLAGS, NULL, &x));
		EXPECT_EQ(IPCZ_INVALID_HANDLE, x);
		test_driver()->Close(object, IPCZ_NO_FLAGS, NULL);
	}
	if (!(kinds & KIND_PORTAL)) {
		memset(&status, 0, sizeof(status));
		status.size = sizeof(status);
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.QueryPortalStatus(h, IPCZ_NO_FLAGS, NULL,
						 &status));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Put(h, "x", 1, NULL, 0, IPCZ_NO_FLAGS, NULL));
		num_bytes = 1;
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.BeginPut(h, IPCZ_NO_FLAGS, NULL, &out,
					&num_bytes, &txn));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.EndPut(h, 1, 0, NULL, 0, IPCZ_END_PUT_ABORT,
				      NULL));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Trap(h, &conditions, ignore_event, 0,
				    IPCZ_NO_FLAGS, NULL, NULL, NULL));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.MergePortals(h, self->a, IPCZ_NO_FLAGS, NULL));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.MergePortals(self->a, h, IPCZ_NO_FLAGS, NULL));
	}
	if (!(kinds & (KIND_PORTAL | KIND_PARCEL))) {
		num_bytes = 1;
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Get(h, IPCZ_GET_PARTIAL, NULL, &byte,
				   &num_bytes, NULL, &num_handles, &x));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.BeginGet(h, IPCZ_NO_FLAGS, NULL, &in,
					&num_bytes, NULL, &num_handles, &txn));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.EndGet(h, 1, IPCZ_NO_FLAGS, NULL, &x));
	}
	if (!(kinds & KIND_PARCEL))
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Reject(h, 0, IPCZ_NO_FLAGS, NULL));
	if (!(kinds & KIND_BOX)) {
		memset(&contents, 0, sizeof(contents));
		contents.size = sizeof(contents);
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Unbox(h, IPCZ_NO_FLAGS, NULL, &contents));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Unbox(h, IPCZ_UNBOX_PEEK, NULL, &contents));
	}
	/* Only portals, boxes (and, for Close, nodes) may travel. */
	if (!(kinds & (KIND_PORTAL | KIND_BOX)))
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Put(self->a, NULL, 0, &h, 1, IPCZ_NO_FLAGS,
				   NULL));
}

/* The fixture's objects still work after a barrage of refusals. */
static void expect_everything_intact(struct __test_metadata *_metadata,
				     FIXTURE_DATA(handles) *self)
{
	struct IpczBoxContents contents;
	char text[8];

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "alive"));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, text, sizeof(text)));
	EXPECT_STREQ("alive", text);
	EXPECT_EQ(0, portal_status(self->a).num_local_parcels);
	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	EXPECT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(self->box, IPCZ_UNBOX_PEEK, NULL, &contents));
	EXPECT_EQ(IPCZ_RESULT_OK, get_str(self->parcel, text, sizeof(text)));
	EXPECT_STREQ("parcel", text);
}

TEST_F(handles, wrong_kinds)
{
	expect_refused_everywhere(_metadata, self, self->node, KIND_NODE);
	expect_refused_everywhere(_metadata, self, self->a, KIND_PORTAL);
	expect_refused_everywhere(_metadata, self, self->box, KIND_BOX);
	expect_refused_everywhere(_metadata, self, self->parcel, KIND_PARCEL);
	expect_everything_intact(_metadata, self);
}

TEST_F(handles, zero)
{
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(IPCZ_INVALID_HANDLE, IPCZ_NO_FLAGS, NULL));
	expect_refused_everywhere(_metadata, self, IPCZ_INVALID_HANDLE, 0);
	expect_everything_intact(_metadata, self);
}

TEST_F(handles, forged_values)
{
	static const unsigned char junk[64] = {
		0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00,
		0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80,
	};
	unsigned char *heap = calloc(1, 256);
	const IpczHandle real[] = { self->node, self->a, self->b, self->box,
				    self->parcel };
	IpczHandle forged[64];
	size_t n = 0;

	ASSERT_TRUE(heap != NULL);
	memset(heap, 0xa5, 256);
	forged[n++] = 1;
	forged[n++] = 2;
	forged[n++] = 0xfff;
	forged[n++] = 0xdeadbeef;
	forged[n++] = (IpczHandle)-1;
	forged[n++] = (IpczHandle)-2;
	forged[n++] = (IpczHandle)1 << (sizeof(IpczHandle) * 8 - 1);
	forged[n++] = (IpczHandle)junk;
	forged[n++] = (IpczHandle)&junk[8];
	forged[n++] = (IpczHandle)heap;
	forged[n++] = (IpczHandle)(heap + 64);
	forged[n++] = (IpczHandle)&n;
	forged[n++] = (IpczHandle)expect_refused_everywhere;
	/* Near misses of real handles: other bits, other generations. */
	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		const IpczHandle h = real[i];

		forged[n++] = h ^ ((IpczHandle)1 << 40);
		forged[n++] = h ^ ((IpczHandle)1 << 63);
		forged[n++] = h + ((IpczHandle)1 << 32);
		forged[n++] = h ^ 0x5555;
		forged[n++] = ~h;
	}
	ASSERT_LE(n, sizeof(forged) / sizeof(forged[0]));

	for (size_t i = 0; i < n; i++) {
		if (forged[i] == IPCZ_INVALID_HANDLE ||
		    is_live(self, forged[i]))
			continue;
		expect_refused_everywhere(_metadata, self, forged[i], 0);
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.Close(forged[i], IPCZ_NO_FLAGS, NULL)) {
			TH_LOG("forged handle %#lx accepted",
			       (unsigned long)forged[i]);
		}
	}
	expect_everything_intact(_metadata, self);
	free(heap);
}

TEST_F(handles, closed_handles_stay_dead)
{
	IpczHandle c, d, node2, box2, parcel2 = IPCZ_INVALID_HANDLE;
	IpczHandle fresh[32];

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS,
						   NULL, &c, &d));
	node2 = new_node(IPCZ_NO_FLAGS);
	ASSERT_NE(IPCZ_INVALID_HANDLE, node2);
	box2 = box_test_object(self->node, test_object_new(3, true));
	ASSERT_NE(IPCZ_INVALID_HANDLE, box2);
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(d, "x"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Get(c, IPCZ_GET_PARTIAL, NULL, NULL, NULL, NULL, NULL,
			   &parcel2));

	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(c, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(d, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(node2, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(box2, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(parcel2, IPCZ_NO_FLAGS, NULL));

	/* Reuse the freed room: new objects must not answer to old names. */
	for (int i = 0; i < 32; i += 2)
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL,
					   &fresh[i], &fresh[i + 1]));

	{
		const IpczHandle stale[] = { c, d, node2, box2, parcel2 };

		for (size_t i = 0; i < 5; i++) {
			bool reused = is_live(self, stale[i]);

			for (int j = 0; j < 32; j++)
				reused |= stale[i] == fresh[j];
			if (reused) {
				/*
				 * Same value handed out again: then it simply
				 * names the new object. Nothing to test.
				 */
				TH_LOG("handle value %#lx was reused",
				       (unsigned long)stale[i]);
				continue;
			}
			EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
				  ipcz.Close(stale[i], IPCZ_NO_FLAGS, NULL));
			expect_refused_everywhere(_metadata, self, stale[i],
						  0);
		}
	}
	for (int i = 0; i < 32; i += 2) {
		char text[4];

		ASSERT_EQ(IPCZ_RESULT_OK, put_str(fresh[i], "ok"));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  get_str(fresh[i + 1], text, sizeof(text)));
		EXPECT_STREQ("ok", text);
	}
	for (int i = 0; i < 32; i++)
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(fresh[i], IPCZ_NO_FLAGS, NULL));
	expect_everything_intact(_metadata, self);
}

TEST_F(handles, consumed_handles_are_gone)
{
	IpczHandle c, d, e, f, g, h, box2, box3, sent[2];
	struct IpczBoxContents contents;

	/* Unboxed. */
	box2 = box_test_object(self->node, test_object_new(4, true));
	ASSERT_NE(IPCZ_INVALID_HANDLE, box2);
	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Unbox(box2, IPCZ_NO_FLAGS, NULL, &contents));
	test_driver()->Close(contents.object.driver_object, IPCZ_NO_FLAGS,
			     NULL);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(box2, IPCZ_NO_FLAGS, NULL));

	/* Merged. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS,
						   NULL, &c, &d));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS,
						   NULL, &e, &f));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.MergePortals(d, e, IPCZ_NO_FLAGS,
						    NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  put_str(d, "merged away"));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Close(e, IPCZ_NO_FLAGS, NULL));

	/* Sent in a parcel (before it is taken out again). */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS,
						   NULL, &g, &h));
	box3 = box_test_object(self->node, test_object_new(5, true));
	ASSERT_NE(IPCZ_INVALID_HANDLE, box3);
	sent[0] = h;
	sent[1] = box3;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, NULL, 0, sent, 2,
					   IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT, put_str(h, "sent away"));
	memset(&contents, 0, sizeof(contents));
	contents.size = sizeof(contents);
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.Unbox(box3, IPCZ_UNBOX_PEEK, NULL, &contents));

	/* Taken out again, they are new handles and work. */
	{
		IpczHandle got[2] = { 0, 0 };
		size_t num_handles = 2;

		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Get(self->b, IPCZ_NO_FLAGS, NULL, NULL, NULL,
				   got, &num_handles, NULL));
		ASSERT_EQ(2, num_handles);
		EXPECT_EQ(IPCZ_RESULT_OK, put_str(got[0], "back"));
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Unbox(got[1], IPCZ_UNBOX_PEEK, NULL,
				     &contents));
		ipcz.Close(got[0], IPCZ_NO_FLAGS, NULL);
		ipcz.Close(got[1], IPCZ_NO_FLAGS, NULL);
	}
	ipcz.Close(c, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(f, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(g, IPCZ_NO_FLAGS, NULL);
	expect_everything_intact(_metadata, self);
}

TEST_F(handles, forged_transactions)
{
	volatile void *out = NULL;
	size_t num_bytes = 4;
	IpczTransaction put = 0, get = 0;
	char stack_junk[32];
	const IpczTransaction forged[] = {
		1, 2, 0xdeadbeef, (IpczTransaction)-1,
		(IpczTransaction)stack_junk, (IpczTransaction)self,
	};

	memset(stack_junk, 0xee, sizeof(stack_junk));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginPut(self->a, IPCZ_NO_FLAGS, NULL,
						&out, &num_bytes, &put));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "g"));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, IPCZ_NO_FLAGS, NULL,
						NULL, NULL, NULL, NULL, &get));
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		if (forged[i] == put || forged[i] == get)
			continue;
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.EndPut(self->a, forged[i], 0, NULL, 0,
				      IPCZ_NO_FLAGS, NULL));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.EndPut(self->a, forged[i], 0, NULL, 0,
				      IPCZ_END_PUT_ABORT, NULL));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.EndGet(self->b, forged[i], IPCZ_NO_FLAGS, NULL,
				      NULL));
		EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
			  ipcz.EndGet(self->parcel, forged[i], IPCZ_NO_FLAGS,
				      NULL, NULL));
	}
	/* Each transaction belongs to its own portal. */
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(self->a, get, IPCZ_NO_FLAGS, NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->b, put, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(self->parcel, get, IPCZ_NO_FLAGS, NULL, NULL));
	/* The real ones still finish. */
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, get, IPCZ_NO_FLAGS,
					      NULL, NULL));
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, put, 0, NULL, 0,
					      IPCZ_END_PUT_ABORT, NULL));
	expect_everything_intact(_metadata, self);
}

TEST_HARNESS_MAIN
