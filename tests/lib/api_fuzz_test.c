// SPDX-License-Identifier: MIT
/*
 * Random sequences of API calls with random arguments: live, closed,
 * consumed, forged and wrong-kind handles, null pointers, odd sizes and
 * flags, on many portals at once. Every call must return one of the
 * results the API defines, and nothing may crash (ASan and UBSan watch).
 * The arguments respect what the API leaves undefined: buffers are as
 * large as the sizes given with them.
 */
#include <stdlib.h>

#include "kselftest_harness.h"
#include "lib_test.h"

#define POOL 64

struct fuzz {
	unsigned int seed;
	IpczHandle node;
	IpczHandle pool[POOL];	/* handles seen, live or not */
	IpczTransaction transactions[8];
};

static unsigned int next(struct fuzz *f)
{
	f->seed = f->seed * 1103515245u + 12345u;
	return (f->seed >> 8) & 0xffffff;
}

static IpczHandle any_handle(struct fuzz *f)
{
	switch (next(f) % 16) {
	case 0:
		return IPCZ_INVALID_HANDLE;
	case 1:
		return ((IpczHandle)next(f) << 32) | next(f);
	case 2:
		return f->node;
	default:
		return f->pool[next(f) % POOL];
	}
}

static void remember(struct fuzz *f, IpczHandle handle)
{
	if (handle != IPCZ_INVALID_HANDLE)
		f->pool[next(f) % POOL] = handle;
}

static bool known_result(IpczResult r)
{
	return r >= IPCZ_RESULT_OK && r <= IPCZ_RESULT_DATA_LOSS &&
	       r != IPCZ_RESULT_UNKNOWN && r != IPCZ_RESULT_INTERNAL;
}

static void on_trap(const struct IpczTrapEvent *event)
{
	(void)event;
}

static IpczResult one_call(struct fuzz *f)
{
	char data[64];
	IpczHandle handles[4] = { 0 };
	size_t num_bytes = next(f) % (sizeof(data) + 1);
	size_t num_handles = next(f) % 5;
	uint32_t flags = next(f) % 4;
	IpczTransaction *t = &f->transactions[next(f) % 8];
	IpczResult r;
	size_t i;

	for (i = 0; i < num_handles; i++)
		handles[i] = any_handle(f);
	memset(data, 'z', sizeof(data));
	switch (next(f) % 14) {
	case 0: {
		IpczHandle a, b;

		r = ipcz.OpenPortals(any_handle(f), 0, NULL, &a, &b);
		if (r == IPCZ_RESULT_OK) {
			remember(f, a);
			remember(f, b);
		}
		return r;
	}
	case 1: {
		/* Closing the node would end the run early. */
		IpczHandle victim = any_handle(f);

		return ipcz.Close(victim == f->node ? 0 : victim, 0, NULL);
	}
	case 2:
		if (next(f) % 2)
			num_handles = 0;
		return ipcz.Put(any_handle(f), next(f) % 8 ? data : NULL,
				num_bytes, next(f) % 8 ? handles : NULL,
				num_handles, 0, NULL);
	case 3: {
		IpczHandle parcel = 0;
		IpczHandle *out = next(f) % 2 ? handles : NULL;

		r = ipcz.Get(any_handle(f), flags & IPCZ_GET_PARTIAL, NULL,
			     next(f) % 2 ? data : NULL, &num_bytes, out,
			     &num_handles, next(f) % 2 ? &parcel : NULL);
		if (r == IPCZ_RESULT_OK) {
			for (i = 0; out && i < num_handles; i++)
				remember(f, out[i]);
			remember(f, parcel);
		}
		return r;
	}
	case 4: {
		volatile void *out;

		return ipcz.BeginPut(any_handle(f), flags, NULL, &out,
				     next(f) % 2 ? &num_bytes : NULL,
				     next(f) % 2 ? t : NULL);
	}
	case 5:
		return ipcz.EndPut(any_handle(f), next(f) % 4 ? *t : next(f),
				   num_bytes, next(f) % 2 ? handles : NULL,
				   num_handles, flags % 2, NULL);
	case 6: {
		const volatile void *in;
		IpczHandle *out = next(f) % 2 ? handles : NULL;

		r = ipcz.BeginGet(any_handle(f), flags, NULL, &in, &num_bytes,
				  out, &num_handles, next(f) % 2 ? t : NULL);
		for (i = 0; r == IPCZ_RESULT_OK && out && i < num_handles; i++)
			remember(f, out[i]);
		return r;
	}
	case 7: {
		IpczHandle parcel = 0;

		r = ipcz.EndGet(any_handle(f), next(f) % 4 ? *t : next(f),
				flags % 2, NULL, next(f) % 2 ? &parcel : NULL);
		remember(f, parcel);
		return r;
	}
	case 8: {
		struct IpczTrapConditions c = {
			.size = next(f) % 8 ? sizeof(c) : 3,
			.flags = next(f) & 0x9f,
			.min_local_parcels = next(f) % 3,
			.min_local_bytes = next(f) % 10,
		};
		struct IpczPortalStatus status = { .size = sizeof(status) };
		IpczTrapConditionFlags satisfied;

		return ipcz.Trap(any_handle(f), next(f) % 8 ? &c : NULL,
				 next(f) % 8 ? on_trap : NULL, 0, 0, NULL,
				 &satisfied, next(f) % 2 ? &status : NULL);
	}
	case 9: {
		struct IpczPortalStatus status = {
			.size = next(f) % 8 ? sizeof(status) : 1,
		};

		return ipcz.QueryPortalStatus(any_handle(f), 0, NULL,
					      next(f) % 8 ? &status : NULL);
	}
	case 10:
		return ipcz.MergePortals(any_handle(f), any_handle(f), 0, NULL);
	case 11: {
		struct IpczBoxContents contents = {
			.size = sizeof(contents),
			.type = next(f) % 4,
		};
		IpczHandle box;

		if (contents.type == IPCZ_BOX_TYPE_DRIVER_OBJECT)
			contents.object.driver_object =
				ipcz_inprocess_test_object_create(1,
								  next(f) % 2);
		else
			contents.object.application_object = next(f);
		r = ipcz.Box(any_handle(f), &contents, 0, NULL, &box);
		if (r == IPCZ_RESULT_OK)
			remember(f, box);
		else if (contents.type == IPCZ_BOX_TYPE_DRIVER_OBJECT)
			ipcz_inprocess_driver()->Close(
				contents.object.driver_object, 0, NULL);
		return r;
	}
	case 12: {
		struct IpczBoxContents contents = { .size = sizeof(contents) };

		r = ipcz.Unbox(any_handle(f), flags % 2, NULL, &contents);
		if (r == IPCZ_RESULT_OK && !(flags % 2) &&
		    contents.type == IPCZ_BOX_TYPE_DRIVER_OBJECT)
			ipcz_inprocess_driver()->Close(
				contents.object.driver_object, 0, NULL);
		return r;
	}
	default:
		return ipcz.Reject(any_handle(f), 0, 0, NULL);
	}
}

static void run(struct __test_metadata *_metadata, unsigned int seed)
{
	struct fuzz f = { .seed = seed };
	int results[IPCZ_RESULT_DATA_LOSS + 1] = { 0 };
	int i;

	f.node = test_node();
	for (i = 0; i < POOL; i += 2)
		test_portals(f.node, &f.pool[i], &f.pool[i + 1]);
	for (i = 0; i < 20000; i++) {
		IpczResult r;

		/* Keep live portals coming: calls consume and close them. */
		if (next(&f) % 4 == 0) {
			IpczHandle a, b;

			test_portals(f.node, &a, &b);
			remember(&f, a);
			remember(&f, b);
		}
		r = one_call(&f);

		ASSERT_TRUE(known_result(r));
		results[r]++;
	}
	for (i = 0; i <= IPCZ_RESULT_DATA_LOSS; i++)
		if (results[i])
			TH_LOG("result %d: %d calls", i, results[i]);
	for (i = 0; i < POOL; i++)
		close_handle(f.pool[i]);
	close_handle(f.node);
}

TEST(seed_1) { run(_metadata, 1); }
TEST(seed_2) { run(_metadata, 2); }
TEST(seed_3) { run(_metadata, 3); }
TEST(seed_4) { run(_metadata, 4); }
TEST(seed_5) { run(_metadata, 5); }

TEST_HARNESS_MAIN
