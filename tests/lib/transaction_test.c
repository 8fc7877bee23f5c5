// SPDX-License-Identifier: MIT
/*
 * Two-phase transactions: BeginPut/EndPut (partial, abort, overlapped
 * puts, oversized commits, handles) and BeginGet/EndGet (exclusive and
 * overlapped, partial handles, abort, parcels out), on portals and parcels.
 */
#include "kselftest_harness.h"
#include "lib_test.h"

FIXTURE(tx) {
	IpczHandle node, a, b;
};

FIXTURE_SETUP(tx)
{
	self->node = test_node();
	test_portals(self->node, &self->a, &self->b);
}

FIXTURE_TEARDOWN(tx)
{
	close_handle(self->a);
	close_handle(self->b);
	close_handle(self->node);
	EXPECT_EQ(0, ipcz_inprocess_live_objects());
	EXPECT_EQ(0, leaks_found());
}

static IpczResult begin_put(IpczHandle portal, size_t *n, volatile void **data,
			    IpczTransaction *t)
{
	return ipcz.BeginPut(portal, IPCZ_NO_FLAGS, NULL, data, n, t);
}

TEST_F(tx, begin_end_put)
{
	volatile void *data;
	IpczTransaction t;
	size_t n = 5;
	char buf[8];

	ASSERT_EQ(IPCZ_RESULT_OK, begin_put(self->a, &n, &data, &t));
	ASSERT_GE(n, 5);
	memcpy((void *)data, "hello", 5);
	/* Nothing is visible before EndPut. */
	ASSERT_EQ(IPCZ_RESULT_UNAVAILABLE, get_str(self->b, buf, sizeof(buf)));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndPut(self->a, t, 5, NULL, 0, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_STREQ("hello", buf);
	/* The transaction is over. */
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, t, 5, NULL, 0, IPCZ_NO_FLAGS, NULL));
}

TEST_F(tx, begin_put_allow_partial_and_no_data)
{
	volatile void *data = (void *)1;
	IpczTransaction t;
	size_t n = 100;

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(self->a, IPCZ_BEGIN_PUT_ALLOW_PARTIAL, NULL,
				&data, &n, &t));
	ASSERT_GT(n, 0);
	ASSERT_LE(n, 100);
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndPut(self->a, t, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
	/* No num_bytes: a transaction without data. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginPut(self->a, 0, NULL, NULL, NULL, &t));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, t, 1, NULL, 0, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndPut(self->a, t, 0, NULL, 0, IPCZ_NO_FLAGS, NULL));
}

TEST_F(tx, end_put_misuse_keeps_the_transaction)
{
	volatile void *data;
	IpczTransaction t;
	IpczHandle bad = IPCZ_INVALID_HANDLE;
	size_t n = 4;

	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginPut(IPCZ_INVALID_HANDLE, 0, NULL, &data, &n, &t));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginPut(self->a, 0, NULL, &data, &n, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, begin_put(self->a, &n, &data, &t));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(IPCZ_INVALID_HANDLE, t, 0, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, 0, 0, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, t + 8, 0, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, t, 0, NULL, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, t, n + 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, t, 0, &bad, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, t, 0, &self->b, 1, 0, NULL));
	/* Still open: it can be committed. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, t, 0, NULL, 0, 0, NULL));
}

TEST_F(tx, end_put_abort)
{
	volatile void *data;
	IpczTransaction t;
	size_t n = 4;
	char buf[4];

	ASSERT_EQ(IPCZ_RESULT_OK, begin_put(self->a, &n, &data, &t));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, t, 1000, NULL, 7,
					      IPCZ_END_PUT_ABORT, NULL));
	ASSERT_EQ(IPCZ_RESULT_UNAVAILABLE, get_str(self->b, buf, sizeof(buf)));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, t, 0, NULL, 0, 0, NULL));
}

TEST_F(tx, overlapped_puts_commit_in_end_order)
{
	volatile void *d1, *d2, *d3;
	IpczTransaction t1, t2, t3;
	size_t n1 = 2, n2 = 2, n3 = 2;
	char buf[4];

	ASSERT_EQ(IPCZ_RESULT_OK, begin_put(self->a, &n1, &d1, &t1));
	ASSERT_EQ(IPCZ_RESULT_OK, begin_put(self->a, &n2, &d2, &t2));
	ASSERT_EQ(IPCZ_RESULT_OK, begin_put(self->a, &n3, &d3, &t3));
	memcpy((void *)d1, "1", 1);
	memcpy((void *)d2, "2", 1);
	memcpy((void *)d3, "3", 1);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, t3, 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, t1, 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndPut(self->a, t2, 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_STREQ("3", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_STREQ("1", buf);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_STREQ("2", buf);
}

TEST_F(tx, put_to_closed_peer)
{
	volatile void *data;
	IpczTransaction t;
	size_t n = 4;
	IpczHandle c, d;

	test_portals(self->node, &c, &d);
	ASSERT_EQ(IPCZ_RESULT_OK, begin_put(self->a, &n, &data, &t));
	close_handle(self->b);
	self->b = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND, begin_put(self->a, &n, &data, &t));
	/* EndPut fails and the handle stays with the caller. */
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.EndPut(self->a, t, 1, &c, 1, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(c, "still mine"));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndPut(self->a, t, 1, NULL, 0, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND, put_str(self->a, "x"));
	close_handle(c);
	close_handle(d);
}

TEST_F(tx, begin_end_get_exclusive)
{
	const volatile void *data;
	IpczTransaction t, t2;
	size_t n;
	char buf[8];

	ASSERT_EQ(IPCZ_RESULT_UNAVAILABLE,
		  ipcz.BeginGet(self->b, 0, NULL, &data, &n, NULL, NULL, &t));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "one"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "two"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, 0, NULL, &data, &n, NULL, NULL, &t));
	ASSERT_EQ(3, n);
	ASSERT_EQ(0, memcmp((const void *)data, "one", 3));
	/* Exclusive: no other get may start. */
	ASSERT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(self->b, 0, NULL, &data, &n, NULL, NULL, &t2));
	ASSERT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, &data,
				&n, NULL, NULL, &t2));
	ASSERT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  get_str(self->b, buf, sizeof(buf)));
	/* Abort leaves the parcel queued. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(self->b, t, IPCZ_END_GET_ABORT, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(self->b, t, 0, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, 0, NULL, &data, &n, NULL, NULL, &t));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, t, 0, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_STREQ("two", buf);
}

TEST_F(tx, begin_get_misuse)
{
	IpczTransaction t;
	size_t h = 1;

	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(IPCZ_INVALID_HANDLE, 0, NULL, NULL, NULL, NULL,
				NULL, &t));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(self->b, 0, NULL, NULL, NULL, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(self->b, 0, NULL, NULL, NULL, NULL, &h, &t));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(self->b, 1234, 0, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(IPCZ_INVALID_HANDLE, 1234, 0, NULL, NULL));
	close_handle(self->a);
	self->a = IPCZ_INVALID_HANDLE;
	ASSERT_EQ(IPCZ_RESULT_NOT_FOUND,
		  ipcz.BeginGet(self->b, 0, NULL, NULL, NULL, NULL, NULL, &t));
}

TEST_F(tx, overlapped_gets)
{
	const volatile void *d1, *d2;
	IpczTransaction t1, t2, t3;
	IpczHandle parcel;
	size_t n1, n2;
	char buf[8];
	size_t n = sizeof(buf);

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "first"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "second"));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "third"));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, &d1,
				&n1, NULL, NULL, &t1));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_OVERLAPPED, NULL, &d2,
				&n2, NULL, NULL, &t2));
	ASSERT_EQ(0, memcmp((const void *)d1, "first", 5));
	ASSERT_EQ(0, memcmp((const void *)d2, "second", 6));
	/* An exclusive get cannot start while overlapped ones are open. */
	ASSERT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(self->b, 0, NULL, NULL, NULL, NULL, NULL, &t3));
	/* But plain gets go on: overlapped parcels left the queue. */
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(self->b, buf, sizeof(buf)));
	ASSERT_STREQ("third", buf);
	/* Abort has no effect on an overlapped transaction: it ends. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(self->b, t2, IPCZ_END_GET_ABORT, NULL, &parcel));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, t1, 0, NULL, &parcel));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(parcel, 0, NULL, buf, &n, NULL,
					   NULL, NULL));
	ASSERT_EQ(5, n);
	ASSERT_EQ(0, memcmp(buf, "first", 5));
	close_handle(parcel);
}

TEST_F(tx, begin_get_handles)
{
	IpczHandle c, d, e, f, hs[2], got[2];
	const volatile void *data;
	IpczTransaction t;
	size_t h = 1;

	test_portals(self->node, &c, &d);
	test_portals(self->node, &e, &f);
	hs[0] = c;
	hs[1] = e;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Put(self->a, "x", 1, hs, 2, 0, NULL));
	ASSERT_EQ(IPCZ_RESULT_RESOURCE_EXHAUSTED,
		  ipcz.BeginGet(self->b, 0, NULL, &data, NULL, got, &h, &t));
	ASSERT_EQ(2, h);
	h = 1;
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->b, IPCZ_BEGIN_GET_PARTIAL, NULL, &data,
				NULL, got, &h, &t));
	ASSERT_EQ(1, h);
	/* Handles taken by BeginGet are ours even if we abort. */
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.EndGet(self->b, t, IPCZ_END_GET_ABORT, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(got[0], "hi"));
	h = 2;
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.BeginGet(self->b, 0, NULL, &data, NULL,
						&got[1], &h, &t));
	ASSERT_EQ(1, h);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(self->b, t, 0, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, put_str(got[1], "hi"));
	close_handle(got[0]);
	close_handle(got[1]);
	close_handle(d);
	close_handle(f);
}

TEST_F(tx, two_phase_get_on_parcel)
{
	const volatile void *data;
	IpczTransaction t, t2;
	IpczHandle parcel, same;
	size_t n;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->a, "data"));
	n = 8;
	{
		char buf[8];

		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(self->b, 0, NULL, buf, &n,
						   NULL, NULL, &parcel));
	}
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.BeginGet(parcel, IPCZ_BEGIN_GET_OVERLAPPED, NULL, &data,
				&n, NULL, NULL, &t));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(parcel, 0, NULL, &data, &n, NULL, NULL, &t));
	ASSERT_EQ(4, n);
	ASSERT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.BeginGet(parcel, 0, NULL, &data, &n, NULL, NULL, &t2));
	ASSERT_EQ(IPCZ_RESULT_ALREADY_EXISTS,
		  ipcz.Get(parcel, 0, NULL, NULL, NULL, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_INVALID_ARGUMENT,
		  ipcz.EndGet(parcel, t + 1, 0, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.EndGet(parcel, t, 0, NULL, &same));
	/* A second handle to the same parcel: both must be closed. */
	ASSERT_NE(parcel, same);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Get(same, IPCZ_GET_PARTIAL, NULL, NULL,
					   NULL, NULL, NULL, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(parcel, IPCZ_NO_FLAGS, NULL));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(same, IPCZ_NO_FLAGS, NULL));
}

TEST_F(tx, close_aborts_open_transactions)
{
	volatile void *data;
	const volatile void *in;
	IpczTransaction tp, tg;
	size_t n = 16;

	ASSERT_EQ(IPCZ_RESULT_OK, put_str(self->b, "pending"));
	ASSERT_EQ(IPCZ_RESULT_OK, begin_put(self->a, &n, &data, &tp));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.BeginGet(self->a, IPCZ_BEGIN_GET_OVERLAPPED, NULL, &in,
				&n, NULL, NULL, &tg));
	close_handle(self->a);
	self->a = IPCZ_INVALID_HANDLE;
	/* ASan reports if the parcels leaked. */
}

TEST_HARNESS_MAIN
