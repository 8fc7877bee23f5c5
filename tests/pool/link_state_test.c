// SPDX-License-Identifier: MIT
/*
 * Tests of the shared RouterLinkState: stability, the waiting bit and its
 * flush, the bypass/closure lock, allowed bypass sources, corrupted words,
 * and mutual exclusion between two racing sides (threads and processes).
 */
#include <pthread.h>
#include <stdlib.h>

#include "kselftest_harness.h"
#include "lib/link_state.h"
#include "tests/pool/pool_test_util.h"

#define A NODE_LINK_SIDE_A
#define B NODE_LINK_SIDE_B

FIXTURE(state)
{
	struct shm_link_state *s;
};

FIXTURE_SETUP(state)
{
	self->s = shared_map(4096);
	ASSERT_NE(NULL, self->s);
	shm_link_state_init(self->s);
}

FIXTURE_TEARDOWN(state)
{
	shared_unmap(self->s, 4096);
}

TEST_F(state, lock_needs_both_sides_stable)
{
	bool flush;

	EXPECT_EQ(-EAGAIN, shm_link_state_try_lock(self->s, A));
	EXPECT_EQ(0, shm_link_state_status(self->s));
	ASSERT_EQ(0, shm_link_state_set_stable(self->s, A, &flush));
	EXPECT_FALSE(flush);
	/* Only A is stable: A leaves its waiting bit. */
	EXPECT_EQ(-EAGAIN, shm_link_state_try_lock(self->s, A));
	EXPECT_EQ(LINK_STATE_STABLE_A | LINK_STATE_WAITING_A,
		  shm_link_state_status(self->s));
	EXPECT_EQ(-EAGAIN, shm_link_state_try_lock(self->s, A));
	/* B is not stable: it cannot lock and does not wait. */
	EXPECT_EQ(-EAGAIN, shm_link_state_try_lock(self->s, B));
	EXPECT_EQ(LINK_STATE_STABLE_A | LINK_STATE_WAITING_A,
		  shm_link_state_status(self->s));
	/* B becomes stable and learns that it must flush A. */
	ASSERT_EQ(0, shm_link_state_set_stable(self->s, B, &flush));
	EXPECT_TRUE(flush);
	EXPECT_EQ(LINK_STATE_STABLE_A | LINK_STATE_STABLE_B,
		  shm_link_state_status(self->s));
	ASSERT_EQ(0, shm_link_state_set_stable(self->s, B, &flush));
	EXPECT_FALSE(flush);
	/* A retries and wins; B is now shut out. */
	EXPECT_EQ(0, shm_link_state_try_lock(self->s, A));
	EXPECT_TRUE(shm_link_state_is_locked_by(self->s, A));
	EXPECT_FALSE(shm_link_state_is_locked_by(self->s, B));
	EXPECT_EQ(-EBUSY, shm_link_state_try_lock(self->s, B));
	EXPECT_EQ(-EBUSY, shm_link_state_try_lock(self->s, A));
	EXPECT_EQ(-EPROTO, shm_link_state_unlock(self->s, B));
	EXPECT_EQ(0, shm_link_state_unlock(self->s, A));
	EXPECT_EQ(-EPROTO, shm_link_state_unlock(self->s, A));
	EXPECT_EQ(0, shm_link_state_try_lock(self->s, B));
	EXPECT_EQ(0, shm_link_state_unlock(self->s, B));
}

TEST_F(state, allowed_source)
{
	const uint64_t z[2] = { 0x1234, 0x5678 };
	const uint64_t other[2] = { 0x1234, 0x5679 };
	const uint64_t zero[2] = { 0, 0 };

	EXPECT_FALSE(shm_link_state_is_allowed_source(self->s, zero));
	EXPECT_FALSE(shm_link_state_is_allowed_source(self->s, z));
	shm_link_state_set_allowed_source(self->s, z);
	EXPECT_TRUE(shm_link_state_is_allowed_source(self->s, z));
	EXPECT_FALSE(shm_link_state_is_allowed_source(self->s, other));
	shm_link_state_set_allowed_source(self->s, zero);
	EXPECT_FALSE(shm_link_state_is_allowed_source(self->s, zero));
}

TEST_F(state, corrupt_status_refused)
{
	static const uint32_t garbage[] = {
		LINK_STATE_LOCKED_A | LINK_STATE_LOCKED_B,
		LINK_STATE_STABLE_A | LINK_STATE_STABLE_B | 0x40,
		0xffffffffu,
	};
	bool flush;
	size_t i;

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		atomic_store(&self->s->status, garbage[i]);
		EXPECT_EQ(-EPROTO, shm_link_state_try_lock(self->s, A));
		EXPECT_EQ(-EPROTO, shm_link_state_try_lock(self->s, B));
		EXPECT_EQ(-EPROTO,
			  shm_link_state_set_stable(self->s, A, &flush));
		EXPECT_EQ(-EPROTO, shm_link_state_unlock(self->s, A));
		EXPECT_FALSE(shm_link_state_is_locked_by(self->s, A));
		EXPECT_FALSE(shm_link_state_is_locked_by(self->s, B));
	}
}

/*
 * Takes and releases the lock @rounds times as @side and checks nobody
 * else holds it meanwhile (owner is a separate shared word).
 */
static int lock_loop(struct shm_link_state *s, _Atomic int *owner,
		     enum node_link_side side, int rounds)
{
	int me = side == A ? 1 : 2, wins = 0, violations = 0;

	while (wins < rounds) {
		int err = shm_link_state_try_lock(s, side);

		if (err == -EBUSY)
			continue;
		if (err)
			return -1000;
		wins++;
		if (atomic_exchange(owner, me) != 0)
			violations++;
		if (atomic_exchange(owner, 0) != me)
			violations++;
		if (shm_link_state_unlock(s, side))
			return -1000;
	}
	return violations;
}

struct loop_args {
	struct shm_link_state *s;
	_Atomic int *owner;
	enum node_link_side side;
	int result;
};

static void *loop_thread(void *arg)
{
	struct loop_args *a = arg;

	a->result = lock_loop(a->s, a->owner, a->side, 20000);
	return NULL;
}

TEST_F(state, mutual_exclusion_threads)
{
	_Atomic int *owner = (_Atomic int *)((char *)self->s + 2048);
	struct loop_args args[2] = {
		{ self->s, owner, A, 0 },
		{ self->s, owner, B, 0 },
	};
	pthread_t t[2];
	bool flush;
	int i;

	ASSERT_EQ(0, shm_link_state_set_stable(self->s, A, &flush));
	ASSERT_EQ(0, shm_link_state_set_stable(self->s, B, &flush));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0,
			  pthread_create(&t[i], NULL, loop_thread, &args[i]));
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, args[i].result);
	}
	EXPECT_EQ(LINK_STATE_STABLE_A | LINK_STATE_STABLE_B,
		  shm_link_state_status(self->s));
}

TEST_F(state, mutual_exclusion_processes)
{
	_Atomic int *owner = (_Atomic int *)((char *)self->s + 2048);
	bool flush;
	pid_t child;
	int result;

	ASSERT_EQ(0, shm_link_state_set_stable(self->s, A, &flush));
	ASSERT_EQ(0, shm_link_state_set_stable(self->s, B, &flush));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		_exit(lock_loop(self->s, owner, B, 50000) ? 1 : 0);
	result = lock_loop(self->s, owner, A, 50000);
	EXPECT_EQ(0, wait_child(child));
	EXPECT_EQ(0, result);
}

/* Both sides race to become stable while each tries to lock: no waiter
 * may be left without a flush, and at most one lock is held at a time. */
static int stabilise_and_lock(struct shm_link_state *s,
			      enum node_link_side side, bool *flush,
			      bool *locked)
{
	int err;

	*locked = false;
	err = shm_link_state_set_stable(s, side, flush);
	if (err)
		return err;
	err = shm_link_state_try_lock(s, side);
	if (err == 0)
		*locked = true;
	return err == -EAGAIN || err == -EBUSY ? 0 : err;
}

struct race_args {
	struct shm_link_state *s;
	enum node_link_side side;
	bool flush, locked;
	int err;
};

static void *race_thread(void *arg)
{
	struct race_args *r = arg;

	r->err = stabilise_and_lock(r->s, r->side, &r->flush, &r->locked);
	return NULL;
}

TEST_F(state, no_stranded_waiter)
{
	int round;

	for (round = 0; round < 2000; round++) {
		struct race_args r[2] = { { self->s, A, false, false, 0 },
					  { self->s, B, false, false, 0 } };
		pthread_t t[2];
		uint32_t status;
		int i;

		shm_link_state_init(self->s);
		for (i = 0; i < 2; i++)
			ASSERT_EQ(0, pthread_create(&t[i], NULL, race_thread,
						    &r[i]));
		for (i = 0; i < 2; i++) {
			pthread_join(t[i], NULL);
			ASSERT_EQ(0, r[i].err);
		}
		ASSERT_FALSE(r[0].locked && r[1].locked);
		status = shm_link_state_status(self->s);
		/*
		 * A side still waiting must have been promised a flush by
		 * the other side, or got the lock itself later: a waiting
		 * bit nobody will answer is a stranded proxy.
		 */
		if (status & LINK_STATE_WAITING_A)
			ASSERT_TRUE(!(status & LINK_STATE_STABLE_B));
		if (status & LINK_STATE_WAITING_B)
			ASSERT_TRUE(!(status & LINK_STATE_STABLE_A));
		if (!r[0].locked && !r[1].locked)
			ASSERT_TRUE(r[0].flush || r[1].flush);
	}
}

TEST_HARNESS_MAIN
