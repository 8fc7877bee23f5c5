// SPDX-License-Identifier: MIT
/*
 * The pieces route reduction stands on, alone: a route edge's decaying
 * link and its cuts (which link each parcel takes, when the decaying link
 * may go, deferred decay), and the link state word (stable and waiting
 * bits, the lock shared by bypass and closure).
 */
#include "kselftest_harness.h"
#include "lib/route_edge.h"
#include "lib/router_link_state.h"

/* A link that only counts references; the edge never calls anything else. */
struct fake_link {
	struct router_link base;
	int refs;
};

static void fake_ref(struct router_link *link)
{
	((struct fake_link *)link)->refs++;
}

static void fake_unref(struct router_link *link)
{
	((struct fake_link *)link)->refs--;
}

static const struct router_link_ops fake_ops = {
	.ref = fake_ref,
	.unref = fake_unref,
};

static void fake_init(struct fake_link *link)
{
	link->base.ops = &fake_ops;
	link->base.type = LINK_CENTRAL;
	link->base.side = LINK_SIDE_A;
	link->refs = 1;
}

TEST(a_stable_edge_sends_everything_on_its_primary)
{
	struct fake_link primary;
	struct route_edge edge;

	fake_init(&primary);
	route_edge_init(&edge);
	route_edge_set_primary(&edge, &primary.base);
	EXPECT_TRUE(route_edge_is_stable(&edge));
	EXPECT_FALSE(route_edge_use_decaying(&edge, 0));
	EXPECT_FALSE(route_edge_use_decaying(&edge, 1000));
	EXPECT_EQ(&primary.base, route_edge_release_primary(&edge));
}

TEST(parcels_below_the_cut_take_the_decaying_link)
{
	struct fake_link old_link, new_link;
	struct route_edge edge;
	struct router_link *dropped = NULL;

	fake_init(&old_link);
	fake_init(&new_link);
	route_edge_init(&edge);
	route_edge_set_primary(&edge, &old_link.base);
	ASSERT_TRUE(route_edge_begin_decay(&edge, route_edge_decay_alloc()));
	EXPECT_FALSE(route_edge_is_stable(&edge));
	/* Cuts unknown: everything waits for the decaying link. */
	EXPECT_TRUE(route_edge_use_decaying(&edge, 1u << 30));
	EXPECT_FALSE(route_edge_maybe_finish_decay(&edge, 100, 100, &dropped));
	route_edge_set_primary(&edge, &new_link.base);
	route_edge_set_cuts(&edge, 5, 7);
	EXPECT_TRUE(route_edge_use_decaying(&edge, 4));
	EXPECT_FALSE(route_edge_use_decaying(&edge, 5));
	EXPECT_EQ(&old_link.base, route_edge_decaying_link(&edge));
	EXPECT_EQ(&new_link.base, edge.primary);
	/* Not before both cuts are reached. */
	EXPECT_FALSE(route_edge_maybe_finish_decay(&edge, 4, 7, &dropped));
	EXPECT_FALSE(route_edge_maybe_finish_decay(&edge, 5, 6, &dropped));
	EXPECT_EQ(NULL, dropped);
	EXPECT_TRUE(route_edge_maybe_finish_decay(&edge, 5, 7, &dropped));
	EXPECT_EQ(&old_link.base, dropped);
	EXPECT_TRUE(route_edge_is_stable(&edge));
	EXPECT_FALSE(route_edge_use_decaying(&edge, 0));
	route_edge_release_primary(&edge);
}

TEST(deferred_decay_takes_the_next_link)
{
	struct fake_link decaying, primary;
	struct route_edge edge;
	struct router_link *dropped = NULL;

	fake_init(&decaying);
	fake_init(&primary);
	route_edge_init(&edge);
	/* Decay begun before any link: the first link set decays. */
	ASSERT_TRUE(route_edge_begin_decay(&edge, route_edge_decay_alloc()));
	route_edge_set_cuts(&edge, 3, 9);
	EXPECT_EQ(NULL, route_edge_decaying_link(&edge));
	/* Without its link, nothing below the cut can leave. */
	EXPECT_TRUE(route_edge_use_decaying(&edge, 2));
	EXPECT_FALSE(route_edge_maybe_finish_decay(&edge, 3, 9, &dropped));
	route_edge_set_primary(&edge, &decaying.base);
	route_edge_set_primary(&edge, &primary.base);
	EXPECT_EQ(&decaying.base, route_edge_decaying_link(&edge));
	EXPECT_EQ(&primary.base, edge.primary);
	EXPECT_TRUE(route_edge_maybe_finish_decay(&edge, 3, 9, &dropped));
	EXPECT_EQ(&decaying.base, dropped);
	route_edge_release_primary(&edge);
}

TEST(one_decay_at_a_time)
{
	struct fake_link link;
	struct route_edge edge;

	fake_init(&link);
	route_edge_init(&edge);
	route_edge_set_primary(&edge, &link.base);
	ASSERT_TRUE(route_edge_begin_decay(&edge, route_edge_decay_alloc()));
	/* A second decay is refused and its memory freed. */
	EXPECT_FALSE(route_edge_begin_decay(&edge, route_edge_decay_alloc()));
	EXPECT_EQ(&link.base, route_edge_release_decaying(&edge));
	EXPECT_TRUE(route_edge_is_stable(&edge));
}

TEST(lock_needs_both_sides_stable)
{
	struct router_link_state state = { 0 };

	/* Neither side stable: no lock, no waiting bit. */
	EXPECT_FALSE(link_state_try_lock(&state, LINK_SIDE_A));
	EXPECT_EQ(0, atomic_load(&state.status));
	/* Only A stable: A waits for B. */
	link_state_set_side_stable(&state, LINK_SIDE_A);
	EXPECT_FALSE(link_state_try_lock(&state, LINK_SIDE_A));
	EXPECT_EQ(LINK_STATUS_A_STABLE | LINK_STATUS_A_WAITING,
		  atomic_load(&state.status));
	/* Asking again changes nothing. */
	EXPECT_FALSE(link_state_try_lock(&state, LINK_SIDE_A));
	/* B becomes stable and answers A's waiting bit (FlushRouter). */
	link_state_set_side_stable(&state, LINK_SIDE_B);
	EXPECT_TRUE(link_state_reset_waiting(&state, LINK_SIDE_A));
	EXPECT_FALSE(link_state_reset_waiting(&state, LINK_SIDE_A));
	EXPECT_EQ(LINK_STATUS_STABLE, atomic_load(&state.status));
	/* Now A locks; nobody else can until A unlocks. */
	EXPECT_TRUE(link_state_try_lock(&state, LINK_SIDE_A));
	EXPECT_FALSE(link_state_try_lock(&state, LINK_SIDE_B));
	EXPECT_FALSE(link_state_try_lock(&state, LINK_SIDE_A));
	link_state_unlock(&state, LINK_SIDE_A);
	EXPECT_TRUE(link_state_try_lock(&state, LINK_SIDE_B));
	EXPECT_EQ(LINK_STATUS_STABLE | LINK_STATUS_LOCKED_BY_B,
		  atomic_load(&state.status));
}

TEST(a_locked_link_is_not_waited_on)
{
	struct router_link_state state = { 0 };

	link_state_set_side_stable(&state, LINK_SIDE_A);
	link_state_set_side_stable(&state, LINK_SIDE_B);
	ASSERT_TRUE(link_state_try_lock(&state, LINK_SIDE_B));
	EXPECT_FALSE(link_state_reset_waiting(&state, LINK_SIDE_A));
	EXPECT_FALSE(link_state_try_lock(&state, LINK_SIDE_A));
	EXPECT_EQ(0, atomic_load(&state.status) & LINK_STATUS_A_WAITING);
}

TEST_HARNESS_MAIN
