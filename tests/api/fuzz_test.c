// SPDX-License-Identifier: MIT
/*
 * API tests: random sequences of calls. Each seed drives thousands of API
 * calls on a pool of handles that mixes live objects of every kind with
 * stale, consumed and forged ones, random sizes, flags and transactions.
 * Every answer must be one that call can give (per upstream's header), and
 * nothing may crash or trip ASan/UBSan. Deterministic: a failing seed
 * replays exactly.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "tests/api/api_test.h"

enum { pool_size = 48, txn_pool = 16, steps = 10000 };

struct fuzz {
	uint64_t rng;
	IpczHandle node;
	/* Shared between threads in the threaded test: atomic accesses. */
	IpczHandle *pool;
	IpczTransaction txns[txn_pool];
	/*
	 * A pool shared between threads. The header makes it the
	 * application's job never to close or give away a handle while
	 * another thread uses it, so shared fuzzers do neither: no Close(),
	 * MergePortals() or consuming Unbox(), no handles in parcels.
	 */
	bool shared;
	long bad_results;
	long calls;
	long succeeded;
};

static uint32_t next(struct fuzz *f)
{
	/* xorshift64* */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return (uint32_t)((f->rng * 0x2545F4914F6CDD1Dull) >> 32);
}

static uint32_t below(struct fuzz *f, uint32_t n)
{
	return next(f) % n;
}

/* A handle to use: from the pool, or now and then zero or a forgery. */
static IpczHandle pick(struct fuzz *f)
{
	switch (below(f, 16)) {
	case 0:
		return IPCZ_INVALID_HANDLE;
	case 1:
		return (IpczHandle)next(f) << below(f, 33);
	default:
		return __atomic_load_n(&f->pool[below(f, pool_size)],
				       __ATOMIC_RELAXED);
	}
}

static void keep(struct fuzz *f, IpczHandle h)
{
	if (h != IPCZ_INVALID_HANDLE)
		__atomic_store_n(&f->pool[below(f, pool_size)], h,
				 __ATOMIC_RELAXED);
}

static IpczTransaction pick_txn(struct fuzz *f)
{
	if (below(f, 8) == 0)
		return (IpczTransaction)next(f);
	return f->txns[below(f, txn_pool)];
}

/* The result must be one of the listed codes. */
static void expect_one_of(struct fuzz *f, const char *call, IpczResult r,
			  uint32_t allowed)
{
	f->calls++;
	if (r == IPCZ_RESULT_OK)
		f->succeeded++;
	if (r < 0 || r > 31 || !(allowed & (1u << r))) {
		f->bad_results++;
		fprintf(stderr, "# %s answered %d\n", call, r);
	}
}

#define R(code) (1u << IPCZ_RESULT_##code)

static void IPCZ_API quiet_handler(const struct IpczTrapEvent *event)
{
}

static void destroy_token(uintptr_t object, uint32_t flags,
			  const void *options)
{
	free((void *)object);
}

static IpczResult serialize_nothing(uintptr_t object, uint32_t flags,
				    const void *options, volatile void *data,
				    size_t *num_bytes, IpczHandle *handles,
				    size_t *num_handles)
{
	return IPCZ_RESULT_FAILED_PRECONDITION;
}

/* Releases what an Unbox() handed over. */
static void dispose(struct fuzz *f, const struct IpczBoxContents *c)
{
	switch (c->type) {
	case IPCZ_BOX_TYPE_DRIVER_OBJECT:
		test_driver()->Close(c->object.driver_object, IPCZ_NO_FLAGS,
				     NULL);
		break;
	case IPCZ_BOX_TYPE_APPLICATION_OBJECT:
		if (c->destructor)
			c->destructor(c->object.application_object,
				      IPCZ_NO_FLAGS, NULL);
		break;
	case IPCZ_BOX_TYPE_SUBPARCEL:
		keep(f, c->object.subparcel);
		break;
	}
}

static void step(struct fuzz *f)
{
	char data[64];
	IpczHandle handles[4], x = IPCZ_INVALID_HANDLE, y = IPCZ_INVALID_HANDLE;
	size_t num_bytes = below(f, 2) ? below(f, sizeof(data)) : 0;
	size_t num_handles = below(f, 5);
	uint32_t op;
	IpczResult r;

	memset(data, 'f', sizeof(data));
	for (size_t i = 0; i < 4; i++)
		handles[i] = pick(f);
	op = below(f, 16);
	if (f->shared) {
		if (op == 1 || op == 2)
			op = 3;
		if (op == 4 || op == 6)
			num_handles = 0;
	}

	switch (op) {
	case 0:
		r = ipcz.OpenPortals(below(f, 4) ? f->node : pick(f),
				     IPCZ_NO_FLAGS, NULL, &x, &y);
		expect_one_of(f, "OpenPortals", r, R(OK) | R(INVALID_ARGUMENT));
		keep(f, x);
		keep(f, y);
		break;
	case 1:
		r = ipcz.Close(pick(f), IPCZ_NO_FLAGS, NULL);
		expect_one_of(f, "Close", r, R(OK) | R(INVALID_ARGUMENT));
		break;
	case 2:
		r = ipcz.MergePortals(pick(f), pick(f), IPCZ_NO_FLAGS, NULL);
		expect_one_of(f, "MergePortals", r,
			      R(OK) | R(INVALID_ARGUMENT) |
				      R(FAILED_PRECONDITION));
		break;
	case 3: {
		struct IpczPortalStatus status;

		memset(&status, 0, sizeof(status));
		status.size = below(f, 2) ? sizeof(status) : below(f, 40);
		r = ipcz.QueryPortalStatus(pick(f), IPCZ_NO_FLAGS, NULL,
					   &status);
		expect_one_of(f, "QueryPortalStatus", r,
			      R(OK) | R(INVALID_ARGUMENT));
		break;
	}
	case 4:
		r = ipcz.Put(pick(f), data, num_bytes, handles, num_handles,
			     IPCZ_NO_FLAGS, NULL);
		expect_one_of(f, "Put", r,
			      R(OK) | R(INVALID_ARGUMENT) | R(NOT_FOUND));
		break;
	case 5: {
		volatile void *out = NULL;
		IpczTransaction txn = 0;

		r = ipcz.BeginPut(pick(f), below(f, 2), NULL, &out, &num_bytes,
				  &txn);
		expect_one_of(f, "BeginPut", r,
			      R(OK) | R(INVALID_ARGUMENT) | R(NOT_FOUND));
		if (r == IPCZ_RESULT_OK) {
			if (out && num_bytes)
				memset((void *)out, 'p', num_bytes);
			f->txns[below(f, txn_pool)] = txn;
		}
		break;
	}
	case 6:
		r = ipcz.EndPut(pick(f), pick_txn(f), below(f, 80), handles,
				num_handles,
				below(f, 3) ? 0 : IPCZ_END_PUT_ABORT, NULL);
		expect_one_of(f, "EndPut", r,
			      R(OK) | R(INVALID_ARGUMENT) | R(NOT_FOUND));
		break;
	case 7:
	case 8: {
		IpczHandle parcel = IPCZ_INVALID_HANDLE;

		r = ipcz.Get(pick(f), below(f, 2), NULL, data, &num_bytes,
			     handles, &num_handles,
			     below(f, 2) ? &parcel : NULL);
		expect_one_of(f, "Get", r,
			      R(OK) | R(INVALID_ARGUMENT) |
				      R(RESOURCE_EXHAUSTED) | R(UNAVAILABLE) |
				      R(NOT_FOUND) | R(ALREADY_EXISTS));
		if (r == IPCZ_RESULT_OK) {
			for (size_t i = 0; i < num_handles && i < 4; i++)
				keep(f, handles[i]);
			keep(f, parcel);
		}
		break;
	}
	case 9: {
		const volatile void *in = NULL;
		IpczTransaction txn = 0;

		r = ipcz.BeginGet(pick(f), below(f, 4), NULL, &in, &num_bytes,
				  handles, &num_handles, &txn);
		expect_one_of(f, "BeginGet", r,
			      R(OK) | R(INVALID_ARGUMENT) |
				      R(RESOURCE_EXHAUSTED) | R(UNAVAILABLE) |
				      R(NOT_FOUND) | R(ALREADY_EXISTS));
		if (r == IPCZ_RESULT_OK) {
			volatile char sink = 0;

			for (size_t i = 0; in && i < num_bytes; i++)
				sink ^= ((const volatile char *)in)[i];
			for (size_t i = 0; i < num_handles && i < 4; i++)
				keep(f, handles[i]);
			f->txns[below(f, txn_pool)] = txn;
			(void)sink;
		}
		break;
	}
	case 10: {
		IpczHandle parcel = IPCZ_INVALID_HANDLE;

		r = ipcz.EndGet(pick(f), pick_txn(f),
				below(f, 2) ? 0 : IPCZ_END_GET_ABORT, NULL,
				below(f, 2) ? &parcel : NULL);
		expect_one_of(f, "EndGet", r, R(OK) | R(INVALID_ARGUMENT));
		keep(f, parcel);
		break;
	}
	case 11: {
		const struct IpczTrapConditions conditions =
			trap_conditions(next(f) & 0x9f, below(f, 3),
					below(f, 40));

		r = ipcz.Trap(pick(f), &conditions, quiet_handler, 0,
			      IPCZ_NO_FLAGS, NULL, NULL, NULL);
		expect_one_of(f, "Trap", r,
			      R(OK) | R(INVALID_ARGUMENT) |
				      R(FAILED_PRECONDITION));
		break;
	}
	case 12:
		r = ipcz.Reject(pick(f), next(f), IPCZ_NO_FLAGS, NULL);
		/* Within one node nothing came from another node. */
		expect_one_of(f, "Reject", r,
			      R(INVALID_ARGUMENT) | R(FAILED_PRECONDITION));
		break;
	case 13: {
		struct IpczBoxContents contents;
		IpczDriverHandle object = IPCZ_INVALID_DRIVER_HANDLE;
		void *token = NULL;

		memset(&contents, 0, sizeof(contents));
		contents.size = sizeof(contents);
		contents.type = below(f, 4);
		if (contents.type == IPCZ_BOX_TYPE_APPLICATION_OBJECT) {
			token = malloc(8);
			contents.object.application_object = (uintptr_t)token;
			contents.serializer = serialize_nothing;
			contents.destructor = destroy_token;
		} else {
			object = test_object_new(next(f), below(f, 2));
			contents.object.driver_object = object;
		}
		r = ipcz.Box(below(f, 4) ? f->node : pick(f), &contents,
			     IPCZ_NO_FLAGS, NULL, &x);
		expect_one_of(f, "Box", r,
			      R(OK) | R(INVALID_ARGUMENT) | R(UNIMPLEMENTED));
		if (r == IPCZ_RESULT_OK) {
			keep(f, x);
		} else {
			free(token);
			if (object != IPCZ_INVALID_DRIVER_HANDLE)
				test_driver()->Close(object, IPCZ_NO_FLAGS,
						     NULL);
		}
		break;
	}
	case 14: {
		struct IpczBoxContents contents;
		const IpczUnboxFlags flags =
			below(f, 2) || f->shared ? IPCZ_UNBOX_PEEK : 0;

		memset(&contents, 0, sizeof(contents));
		contents.size = below(f, 8) ? sizeof(contents) : below(f, 40);
		r = ipcz.Unbox(pick(f), flags, NULL, &contents);
		expect_one_of(f, "Unbox", r, R(OK) | R(INVALID_ARGUMENT));
		if (r == IPCZ_RESULT_OK && !(flags & IPCZ_UNBOX_PEEK))
			dispose(f, &contents);
		break;
	}
	default: {
		IpczDriverHandle t0, t1;
		IpczHandle portals[2];

		/* Refusals only: a forged transport or bad flags. */
		if (test_driver()->CreateTransports(
			    IPCZ_INVALID_DRIVER_HANDLE,
			    IPCZ_INVALID_DRIVER_HANDLE, IPCZ_NO_FLAGS, NULL,
			    &t0, &t1) != IPCZ_RESULT_OK)
			break;
		r = ipcz.ConnectNode(pick(f), t0, below(f, 3),
				     IPCZ_CONNECT_NODE_SHARE_BROKER |
					     IPCZ_CONNECT_NODE_TO_BROKER,
				     NULL, portals);
		expect_one_of(f, "ConnectNode", r, R(INVALID_ARGUMENT));
		test_driver()->Close(t0, IPCZ_NO_FLAGS, NULL);
		test_driver()->Close(t1, IPCZ_NO_FLAGS, NULL);
		break;
	}
	}
}

static void fill_pool(struct __test_metadata *_metadata, IpczHandle node,
		      IpczHandle *pool)
{
	memset(pool, 0, pool_size * sizeof(*pool));
	for (int i = 0; i + 1 < pool_size / 2; i += 2)
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.OpenPortals(node, IPCZ_NO_FLAGS, NULL, &pool[i],
					   &pool[i + 1]));
}

static void run_seed(struct __test_metadata *_metadata, uint64_t seed)
{
	IpczHandle pool[pool_size];
	struct fuzz f;

	memset(&f, 0, sizeof(f));
	f.rng = seed * 0x9E3779B97F4A7C15ull + 1;
	f.pool = pool;
	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	f.node = new_node(seed % 2 ? IPCZ_CREATE_NODE_AS_BROKER : 0);
	ASSERT_NE(IPCZ_INVALID_HANDLE, f.node);
	fill_pool(_metadata, f.node, pool);
	for (int i = 0; i < steps; i++)
		step(&f);
	TH_LOG("seed %llu: %ld calls, %ld succeeded",
	       (unsigned long long)seed, f.calls, f.succeeded);
	EXPECT_EQ(0, f.bad_results) {
		TH_LOG("seed %llu: %ld unexpected results in %ld calls",
		       (unsigned long long)seed, f.bad_results, f.calls);
	}
	/* Let go of everything still alive; stale entries just refuse. */
	for (int i = 0; i < pool_size; i++)
		ipcz.Close(pool[i], IPCZ_NO_FLAGS, NULL);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(f.node, IPCZ_NO_FLAGS, NULL));
}

TEST(seeds_1_to_8)
{
	for (uint64_t seed = 1; seed <= 8; seed++)
		run_seed(_metadata, seed);
}

TEST(seeds_9_to_16)
{
	for (uint64_t seed = 9; seed <= 16; seed++)
		run_seed(_metadata, seed);
}

TEST(seeds_17_to_24)
{
	for (uint64_t seed = 17; seed <= 24; seed++)
		run_seed(_metadata, seed);
}

/*
 * Four threads share one pool of handles and call everything that does not
 * consume a handle on it, all at once: every answer must still be one the
 * call can give, and TSan must see no race.
 */
static void *fuzz_thread(void *arg)
{
	struct fuzz *f = arg;

	for (int i = 0; i < steps / 2; i++)
		step(f);
	return NULL;
}

FIXTURE(shared) {
	int unused;
};

FIXTURE_SETUP(shared)
{
	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
}

FIXTURE_TEARDOWN(shared)
{
}

TEST_F_TIMEOUT(shared, threads_share_a_pool, 300)
{
	enum { threads = 4 };
	IpczHandle pool[pool_size];
	struct fuzz f[threads];
	pthread_t thread[threads];
	IpczHandle node;
	long bad = 0;

	node = new_node(IPCZ_NO_FLAGS);
	ASSERT_NE(IPCZ_INVALID_HANDLE, node);
	fill_pool(_metadata, node, pool);
	for (int t = 0; t < threads; t++) {
		memset(&f[t], 0, sizeof(f[t]));
		f[t].rng = (t + 100) * 0x9E3779B97F4A7C15ull + 1;
		f[t].node = node;
		f[t].pool = pool;
		f[t].shared = true;
		ASSERT_EQ(0, pthread_create(&thread[t], NULL, fuzz_thread,
					    &f[t]));
	}
	for (int t = 0; t < threads; t++) {
		ASSERT_EQ(0, pthread_join(thread[t], NULL));
		bad += f[t].bad_results;
	}
	EXPECT_EQ(0, bad);
	for (int i = 0; i < pool_size; i++)
		ipcz.Close(pool[i], IPCZ_NO_FLAGS, NULL);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(node, IPCZ_NO_FLAGS, NULL));
}

TEST_HARNESS_MAIN
