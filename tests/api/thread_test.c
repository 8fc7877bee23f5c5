// SPDX-License-Identifier: MIT
/*
 * API tests where threads meet: trap handlers run on the thread that
 * changed the portal, a thread can sleep until another thread's Put()
 * fires its trap, and a stress test of many threads putting and getting
 * (one- and two-phase) on many portals at once, checking that every parcel
 * arrives exactly once and in order. Built with ASan and with TSan.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>

#include "kselftest_harness.h"
#include "tests/api/api_test.h"

FIXTURE(threads) {
	IpczHandle node;
};

FIXTURE_SETUP(threads)
{
	ASSERT_EQ(IPCZ_RESULT_OK, api_test_init());
	self->node = new_node(IPCZ_NO_FLAGS);
	ASSERT_NE(IPCZ_INVALID_HANDLE, self->node);
}

FIXTURE_TEARDOWN(threads)
{
	ipcz.Close(self->node, IPCZ_NO_FLAGS, NULL);
	EXPECT_TRUE(no_leaks());
}

/* ---- a trap fired by another thread ---- */

struct fired {
	sem_t done;
	pthread_t thread;
	IpczTrapConditionFlags flags;
	size_t parcels;
};

static void IPCZ_API note_thread(const struct IpczTrapEvent *event)
{
	struct fired *fired = (struct fired *)event->context;

	if (event->condition_flags & IPCZ_TRAP_REMOVED)
		return;
	fired->thread = pthread_self();
	fired->flags = event->condition_flags;
	fired->parcels = event->status->num_local_parcels;
	sem_post(&fired->done);
}

/* Another thread's part: it acts on `portal` and says who it was. */
struct actor {
	IpczHandle portal;
	pthread_t thread;
	IpczResult result;
};

static void *put_from_thread(void *arg)
{
	struct actor *actor = arg;

	actor->thread = pthread_self();
	actor->result = put_str(actor->portal, "from afar");
	return NULL;
}

static void *close_from_thread(void *arg)
{
	struct actor *actor = arg;

	actor->thread = pthread_self();
	actor->result = ipcz.Close(actor->portal, IPCZ_NO_FLAGS, NULL);
	return NULL;
}

/*
 * Opens a pair a-b and traps `flags` on b into `fired`, then runs `act` on
 * a new thread with a as `actor->portal`; returns once the trap fired and
 * the thread ended. This thread sleeps until the other one wakes it.
 */
static void trap_then_act(struct __test_metadata *_metadata,
			  FIXTURE_DATA(threads) *self,
			  IpczTrapConditionFlags flags, struct fired *fired,
			  void *(*act)(void *), struct actor *actor,
			  IpczHandle *a, IpczHandle *b)
{
	const struct IpczTrapConditions conditions =
		trap_conditions(flags, 0, 0);
	pthread_t thread;

	ASSERT_EQ(0, sem_init(&fired->done, 0, 0));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS,
						   NULL, a, b));
	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.Trap(*b, &conditions, note_thread, (uintptr_t)fired,
			    IPCZ_NO_FLAGS, NULL, NULL, NULL));
	actor->portal = *a;
	ASSERT_EQ(0, pthread_create(&thread, NULL, act, actor));
	ASSERT_EQ(0, sem_wait(&fired->done));
	ASSERT_EQ(0, pthread_join(thread, NULL));
}

TEST_F(threads, trap_fires_on_the_putting_thread)
{
	struct fired fired = { 0 };
	struct actor putter = { 0 };
	IpczHandle a, b;
	char text[16];

	trap_then_act(_metadata, self, IPCZ_TRAP_NEW_LOCAL_PARCEL, &fired,
		      put_from_thread, &putter, &a, &b);
	EXPECT_EQ(IPCZ_RESULT_OK, putter.result);
	EXPECT_TRUE(pthread_equal(fired.thread, putter.thread));
	EXPECT_FALSE(pthread_equal(fired.thread, pthread_self()));
	EXPECT_EQ(IPCZ_TRAP_NEW_LOCAL_PARCEL | IPCZ_TRAP_WITHIN_API_CALL,
		  fired.flags);
	EXPECT_EQ(1, fired.parcels);
	ASSERT_EQ(IPCZ_RESULT_OK, get_str(b, text, sizeof(text)));
	EXPECT_STREQ("from afar", text);
	ipcz.Close(a, IPCZ_NO_FLAGS, NULL);
	ipcz.Close(b, IPCZ_NO_FLAGS, NULL);
	sem_destroy(&fired.done);
}

TEST_F(threads, peer_closure_from_another_thread)
{
	struct fired fired = { 0 };
	struct actor closer = { 0 };
	IpczHandle a, b;

	trap_then_act(_metadata, self, IPCZ_TRAP_DEAD, &fired,
		      close_from_thread, &closer, &a, &b);
	EXPECT_TRUE(pthread_equal(fired.thread, closer.thread));
	EXPECT_TRUE(fired.flags & IPCZ_TRAP_DEAD);
	ipcz.Close(b, IPCZ_NO_FLAGS, NULL);
	sem_destroy(&fired.done);
}

/* ---- the stress test ---- */

enum {
	pairs = 16,
	producers = 4,
	consumers = 4,
	rounds = 1000,
};

struct message {
	uint32_t producer;
	uint32_t seq;
	uint32_t pair;
	uint32_t check;
};

static uint32_t check_of(const struct message *m)
{
	return (m->producer * 2654435761u) ^ (m->seq * 40503u) ^ m->pair;
}

struct pair_state {
	IpczHandle in;			/* producers put here */
	IpczHandle out;			/* one consumer gets here */
	atomic_bool armed;		/* a trap is installed on `out` */
	struct consumer *consumer;
	uint32_t next_seq[producers];	/* consumer's view */
	bool dead;
};

struct consumer {
	sem_t wake;
	struct pair_state *pairs[pairs];
	int num_pairs;
	long received;
	long errors;
};

struct stress {
	struct pair_state pair[pairs];
	struct consumer consumer[consumers];
	atomic_long put_failures;
	int id[producers];
};

static struct stress stress;

static void IPCZ_API wake_consumer(const struct IpczTrapEvent *event)
{
	struct pair_state *pair = (struct pair_state *)event->context;

	atomic_store(&pair->armed, false);
	sem_post(&pair->consumer->wake);
}

static IpczResult put_message(IpczHandle portal, const struct message *m,
			      bool two_phase)
{
	volatile void *out = NULL;
	size_t num_bytes = sizeof(*m);
	IpczTransaction txn;
	IpczResult result;

	if (!two_phase)
		return ipcz.Put(portal, m, sizeof(*m), NULL, 0, IPCZ_NO_FLAGS,
				NULL);
	result = ipcz.BeginPut(portal, IPCZ_NO_FLAGS, NULL, &out, &num_bytes,
			       &txn);
	if (result != IPCZ_RESULT_OK)
		return result;
	memcpy((void *)out, m, sizeof(*m));
	return ipcz.EndPut(portal, txn, sizeof(*m), NULL, 0, IPCZ_NO_FLAGS,
			   NULL);
}

static void *produce(void *arg)
{
	const uint32_t id = *(int *)arg;

	for (uint32_t seq = 0; seq < rounds; seq++) {
		for (uint32_t p = 0; p < pairs; p++) {
			struct message m = { id, seq, p, 0 };

			m.check = check_of(&m);
			if (put_message(stress.pair[p].in, &m,
					(seq + p + id) % 3 == 0) !=
			    IPCZ_RESULT_OK)
				atomic_fetch_add(&stress.put_failures, 1);
		}
	}
	return NULL;
}

static void accept_message(struct consumer *c, struct pair_state *pair,
			   const struct message *m, size_t num_bytes)
{
	if (num_bytes != sizeof(*m) || m->producer >= producers ||
	    m->check != check_of(m) ||
	    m->pair != (uint32_t)(pair - stress.pair) ||
	    m->seq != pair->next_seq[m->producer]) {
		c->errors++;
		return;
	}
	pair->next_seq[m->producer]++;
	c->received++;
}

/* Takes one parcel from `pair`; false when there is none now. */
static bool take_one(struct consumer *c, struct pair_state *pair,
		     bool two_phase)
{
	struct message m;
	size_t num_bytes = sizeof(m);
	IpczResult result;

	if (two_phase) {
		const volatile void *data = NULL;
		IpczTransaction txn;

		result = ipcz.BeginGet(pair->out, IPCZ_NO_FLAGS, NULL, &data,
				       &num_bytes, NULL, NULL, &txn);
		if (result == IPCZ_RESULT_OK) {
			if (num_bytes == sizeof(m))
				memcpy(&m, (const void *)data, sizeof(m));
			result = ipcz.EndGet(pair->out, txn, IPCZ_NO_FLAGS,
					     NULL, NULL);
			if (result != IPCZ_RESULT_OK)
				c->errors++;
			accept_message(c, pair, &m, num_bytes);
			return true;
		}
	} else {
		result = ipcz.Get(pair->out, IPCZ_NO_FLAGS, NULL, &m,
				  &num_bytes, NULL, NULL, NULL);
		if (result == IPCZ_RESULT_OK) {
			accept_message(c, pair, &m, num_bytes);
			return true;
		}
	}
	if (result == IPCZ_RESULT_NOT_FOUND)
		pair->dead = true;
	else if (result != IPCZ_RESULT_UNAVAILABLE)
		c->errors++;
	return false;
}

/* Arms a trap on an empty pair; false if it has parcels or died meanwhile. */
static bool arm(struct pair_state *pair)
{
	const struct IpczTrapConditions conditions = trap_conditions(
		IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS | IPCZ_TRAP_DEAD, 0, 0);
	IpczResult result;

	if (atomic_load(&pair->armed))
		return true;
	atomic_store(&pair->armed, true);
	result = ipcz.Trap(pair->out, &conditions, wake_consumer,
			   (uintptr_t)pair, IPCZ_NO_FLAGS, NULL, NULL, NULL);
	if (result == IPCZ_RESULT_OK)
		return true;
	atomic_store(&pair->armed, false);
	return false;
}

static void *consume(void *arg)
{
	struct consumer *c = arg;
	int live = c->num_pairs;
	unsigned int turn = 0;

	while (live > 0) {
		bool progress = false;

		live = 0;
		for (int i = 0; i < c->num_pairs; i++) {
			struct pair_state *pair = c->pairs[i];

			if (pair->dead)
				continue;
			while (take_one(c, pair, (turn++ % 4) == 0))
				progress = true;
			if (!pair->dead)
				live++;
		}
		if (progress || live == 0)
			continue;
		/* Everything is empty: sleep until a trap fires. */
		bool all_armed = true;

		for (int i = 0; i < c->num_pairs; i++)
			if (!c->pairs[i]->dead && !arm(c->pairs[i]))
				all_armed = false;
		if (all_armed)
			sem_wait(&c->wake);
	}
	return NULL;
}

TEST_F_TIMEOUT(threads, stress_many_threads_many_portals, 300)
{
	pthread_t producer_threads[producers], consumer_threads[consumers];
	long received = 0, errors = 0;

	memset(&stress, 0, sizeof(stress));
	for (int c = 0; c < consumers; c++)
		ASSERT_EQ(0, sem_init(&stress.consumer[c].wake, 0, 0));
	for (int p = 0; p < pairs; p++) {
		struct pair_state *pair = &stress.pair[p];
		struct consumer *c = &stress.consumer[p % consumers];

		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL,
					   &pair->in, &pair->out));
		pair->consumer = c;
		c->pairs[c->num_pairs++] = pair;
	}

	for (int c = 0; c < consumers; c++)
		ASSERT_EQ(0, pthread_create(&consumer_threads[c], NULL,
					    consume, &stress.consumer[c]));
	for (int p = 0; p < producers; p++) {
		stress.id[p] = p;
		ASSERT_EQ(0, pthread_create(&producer_threads[p], NULL,
					    produce, &stress.id[p]));
	}
	for (int p = 0; p < producers; p++)
		ASSERT_EQ(0, pthread_join(producer_threads[p], NULL));
	/* Closing the producing side ends each route once it drains. */
	for (int p = 0; p < pairs; p++)
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.Close(stress.pair[p].in, IPCZ_NO_FLAGS, NULL));
	for (int c = 0; c < consumers; c++)
		ASSERT_EQ(0, pthread_join(consumer_threads[c], NULL));

	for (int c = 0; c < consumers; c++) {
		received += stress.consumer[c].received;
		errors += stress.consumer[c].errors;
	}
	EXPECT_EQ(0, atomic_load(&stress.put_failures));
	EXPECT_EQ(0, errors);
	EXPECT_EQ((long)pairs * producers * rounds, received);
	for (int p = 0; p < pairs; p++) {
		for (int q = 0; q < producers; q++)
			EXPECT_EQ(rounds, stress.pair[p].next_seq[q]);
		EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(stress.pair[p].out,
						     IPCZ_NO_FLAGS, NULL));
	}
	for (int c = 0; c < consumers; c++)
		sem_destroy(&stress.consumer[c].wake);
}

/* ---- many threads creating and destroying objects at once ---- */

struct churn {
	IpczHandle node;
	long failures;
};

static void *churn_objects(void *arg)
{
	struct churn *churn = arg;

	for (int i = 0; i < 300; i++) {
		IpczHandle a, b, box, got = IPCZ_INVALID_HANDLE;
		size_t num_handles = 1;
		struct IpczBoxContents contents;

		if (ipcz.OpenPortals(churn->node, IPCZ_NO_FLAGS, NULL, &a,
				     &b) != IPCZ_RESULT_OK) {
			churn->failures++;
			continue;
		}
		box = box_test_object(churn->node,
				      test_object_new((uintptr_t)i, true));
		if (ipcz.Put(a, "c", 1, &box, 1, IPCZ_NO_FLAGS, NULL) !=
		    IPCZ_RESULT_OK)
			churn->failures++;
		if (ipcz.Get(b, IPCZ_GET_PARTIAL, NULL, NULL, NULL, &got,
			     &num_handles, NULL) != IPCZ_RESULT_OK ||
		    num_handles != 1)
			churn->failures++;
		memset(&contents, 0, sizeof(contents));
		contents.size = sizeof(contents);
		if (i % 2) {
			if (ipcz.Unbox(got, IPCZ_NO_FLAGS, NULL, &contents) !=
			    IPCZ_RESULT_OK)
				churn->failures++;
			else
				test_driver()->Close(
					contents.object.driver_object,
					IPCZ_NO_FLAGS, NULL);
		} else if (ipcz.Close(got, IPCZ_NO_FLAGS, NULL) !=
			   IPCZ_RESULT_OK) {
			churn->failures++;
		}
		if (ipcz.Close(i % 3 ? a : b, IPCZ_NO_FLAGS, NULL) !=
			    IPCZ_RESULT_OK ||
		    ipcz.Close(i % 3 ? b : a, IPCZ_NO_FLAGS, NULL) !=
			    IPCZ_RESULT_OK)
			churn->failures++;
	}
	return NULL;
}

TEST_F_TIMEOUT(threads, concurrent_open_put_get_close, 300)
{
	enum { workers = 4 };
	pthread_t thread[workers];
	struct churn churn[workers];
	const size_t objects_before = driver_objects_alive();

	for (int i = 0; i < workers; i++) {
		churn[i].node = self->node;
		churn[i].failures = 0;
		ASSERT_EQ(0, pthread_create(&thread[i], NULL, churn_objects,
					    &churn[i]));
	}
	for (int i = 0; i < workers; i++) {
		ASSERT_EQ(0, pthread_join(thread[i], NULL));
		EXPECT_EQ(0, churn[i].failures);
	}
	EXPECT_EQ(objects_before, driver_objects_alive());
}

/* Two threads ping-pong over one pair, each waiting on its own trap. */
struct player {
	IpczHandle portal;
	sem_t wake;
	int hits;
	long errors;
	bool serves;
};

static void IPCZ_API wake_player(const struct IpczTrapEvent *event)
{
	struct player *player = (struct player *)event->context;

	if (!(event->condition_flags & IPCZ_TRAP_REMOVED))
		sem_post(&player->wake);
}

static void *play(void *arg)
{
	struct player *player = arg;
	const struct IpczTrapConditions conditions =
		trap_conditions(IPCZ_TRAP_ABOVE_MIN_LOCAL_PARCELS, 0, 0);
	uint32_t ball = 0;

	if (player->serves && ipcz.Put(player->portal, &ball, sizeof(ball),
				       NULL, 0, IPCZ_NO_FLAGS, NULL) !=
				      IPCZ_RESULT_OK)
		player->errors++;
	while (player->hits < 500) {
		size_t num_bytes = sizeof(ball);
		IpczResult result;

		result = ipcz.Trap(player->portal, &conditions, wake_player,
				   (uintptr_t)player, IPCZ_NO_FLAGS, NULL, NULL,
				   NULL);
		if (result == IPCZ_RESULT_OK)
			sem_wait(&player->wake);
		else if (result != IPCZ_RESULT_FAILED_PRECONDITION)
			player->errors++;
		if (ipcz.Get(player->portal, IPCZ_NO_FLAGS, NULL, &ball,
			     &num_bytes, NULL, NULL, NULL) != IPCZ_RESULT_OK) {
			player->errors++;
			break;
		}
		ball++;
		player->hits++;
		if (ipcz.Put(player->portal, &ball, sizeof(ball), NULL, 0,
			     IPCZ_NO_FLAGS, NULL) != IPCZ_RESULT_OK)
			player->errors++;
	}
	return NULL;
}

TEST_F_TIMEOUT(threads, ping_pong_with_traps, 300)
{
	struct player players[2] = { { .serves = true }, { .serves = false } };
	pthread_t thread[2];

	ASSERT_EQ(IPCZ_RESULT_OK,
		  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL,
				   &players[0].portal, &players[1].portal));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, sem_init(&players[i].wake, 0, 0));
		ASSERT_EQ(0, pthread_create(&thread[i], NULL, play,
					    &players[i]));
	}
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_join(thread[i], NULL));
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(0, players[i].errors);
		EXPECT_EQ(500, players[i].hits);
		ipcz.Close(players[i].portal, IPCZ_NO_FLAGS, NULL);
		sem_destroy(&players[i].wake);
	}
}

/* ---- merging routes while parcels flow through them ---- */

enum { chain = 8, flow = 2000 };

struct flow_state {
	IpczHandle source;
	IpczHandle sink;
	atomic_bool merged;
	long put_errors;
	long get_errors;
	uint32_t received;
};

static void *feed_source(void *arg)
{
	struct flow_state *st = arg;

	for (uint32_t i = 0; i < flow; i++)
		if (ipcz.Put(st->source, &i, sizeof(i), NULL, 0, IPCZ_NO_FLAGS,
			     NULL) != IPCZ_RESULT_OK)
			st->put_errors++;
	return NULL;
}

static void *drain_sink(void *arg)
{
	struct flow_state *st = arg;

	while (st->received < flow) {
		uint32_t value = 0;
		size_t num_bytes = sizeof(value);
		IpczResult result;

		result = ipcz.Get(st->sink, IPCZ_NO_FLAGS, NULL, &value,
				  &num_bytes, NULL, NULL, NULL);
		if (result == IPCZ_RESULT_UNAVAILABLE) {
			sched_yield();
			continue;
		}
		if (result != IPCZ_RESULT_OK || value != st->received) {
			st->get_errors++;
			break;
		}
		st->received++;
	}
	return NULL;
}

TEST_F_TIMEOUT(threads, merge_while_parcels_flow, 300)
{
	struct flow_state st = { 0 };
	IpczHandle left[chain], right[chain];
	pthread_t feeder, drainer;

	for (int i = 0; i < chain; i++)
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL,
					   &left[i], &right[i]));
	/* The source feeds left[0]; the sink reads right[chain - 1]. */
	st.source = left[0];
	st.sink = right[chain - 1];
	ASSERT_EQ(0, pthread_create(&feeder, NULL, feed_source, &st));
	ASSERT_EQ(0, pthread_create(&drainer, NULL, drain_sink, &st));
	/* Let some parcels pile up in the first pair before any merge. */
	for (int spins = 0; spins < 1000000 &&
	     portal_status(right[0]).num_local_parcels < 10; spins++)
		sched_yield();
	/* Join the chain from both ends toward the middle, mid-flow. */
	for (int i = 0, j = chain - 2; i <= j; i++, j--) {
		EXPECT_EQ(IPCZ_RESULT_OK,
			  ipcz.MergePortals(right[i], left[i + 1],
					    IPCZ_NO_FLAGS, NULL));
		if (j != i)
			EXPECT_EQ(IPCZ_RESULT_OK,
				  ipcz.MergePortals(right[j], left[j + 1],
						    IPCZ_NO_FLAGS, NULL));
	}
	ASSERT_EQ(0, pthread_join(feeder, NULL));
	ASSERT_EQ(0, pthread_join(drainer, NULL));
	EXPECT_EQ(0, st.put_errors);
	EXPECT_EQ(0, st.get_errors);
	EXPECT_EQ(flow, st.received);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(st.source, IPCZ_NO_FLAGS, NULL));
	EXPECT_TRUE(portal_status(st.sink).flags & IPCZ_PORTAL_STATUS_DEAD);
	EXPECT_EQ(IPCZ_RESULT_OK, ipcz.Close(st.sink, IPCZ_NO_FLAGS, NULL));
}

/* ---- closing one end while the other sends ---- */

struct sender {
	IpczHandle portal;
	long ok;
	long not_found;
	long other;
};

static void *send_until_gone(void *arg)
{
	struct sender *sender = arg;

	for (;;) {
		IpczResult result = put_str(sender->portal, "x");

		if (result == IPCZ_RESULT_OK) {
			sender->ok++;
		} else if (result == IPCZ_RESULT_NOT_FOUND) {
			sender->not_found++;
			break;
		} else {
			sender->other++;
			break;
		}
	}
	return NULL;
}

static atomic_int dead_events;

static void IPCZ_API count_dead(const struct IpczTrapEvent *event)
{
	if (event->condition_flags & IPCZ_TRAP_PEER_CLOSED)
		atomic_fetch_add(&dead_events, 1);
}

TEST_F_TIMEOUT(threads, close_while_the_peer_sends, 300)
{
	for (int round = 0; round < 20; round++) {
		struct sender sender = { 0 };
		const struct IpczTrapConditions conditions =
			trap_conditions(IPCZ_TRAP_PEER_CLOSED, 0, 0);
		pthread_t thread;
		IpczHandle a, b;

		atomic_store(&dead_events, 0);
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS, NULL,
					   &a, &b));
		ASSERT_EQ(IPCZ_RESULT_OK,
			  ipcz.Trap(a, &conditions, count_dead, 0,
				    IPCZ_NO_FLAGS, NULL, NULL, NULL));
		sender.portal = a;
		ASSERT_EQ(0, pthread_create(&thread, NULL, send_until_gone,
					    &sender));
		for (int spin = 0; spin < round; spin++)
			sched_yield();
		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(b, IPCZ_NO_FLAGS, NULL));
		ASSERT_EQ(0, pthread_join(thread, NULL));
		/* Every Put succeeded until one saw the closed peer. */
		EXPECT_EQ(1, sender.not_found);
		EXPECT_EQ(0, sender.other);
		EXPECT_EQ(1, atomic_load(&dead_events));
		EXPECT_TRUE(portal_status(a).flags & IPCZ_PORTAL_STATUS_DEAD);
		ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
	}
}

/* ---- traps installed and fired concurrently: each fires exactly once ---- */

static atomic_long trap_calls;

static void IPCZ_API count_call(const struct IpczTrapEvent *event)
{
	atomic_fetch_add(&trap_calls, 1);
}

struct trapper {
	IpczHandle portal;
	long installed;
	long refused;
};

static void *install_traps(void *arg)
{
	struct trapper *trapper = arg;
	const struct IpczTrapConditions conditions =
		trap_conditions(IPCZ_TRAP_NEW_LOCAL_PARCEL, 0, 0);

	for (int i = 0; i < 5000; i++) {
		IpczResult result = ipcz.Trap(trapper->portal, &conditions,
					      count_call, 0, IPCZ_NO_FLAGS,
					      NULL, NULL, NULL);

		if (result == IPCZ_RESULT_OK)
			trapper->installed++;
		else
			trapper->refused++;
	}
	return NULL;
}

static void *put_many(void *arg)
{
	IpczHandle portal = *(IpczHandle *)arg;

	for (int i = 0; i < 5000; i++)
		put_str(portal, "t");
	return NULL;
}

TEST_F_TIMEOUT(threads, every_installed_trap_fires_once, 300)
{
	struct trapper trapper = { 0 };
	pthread_t installer, putter;
	IpczHandle a, b;

	atomic_store(&trap_calls, 0);
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.OpenPortals(self->node, IPCZ_NO_FLAGS,
						   NULL, &a, &b));
	trapper.portal = b;
	ASSERT_EQ(0, pthread_create(&installer, NULL, install_traps,
				    &trapper));
	ASSERT_EQ(0, pthread_create(&putter, NULL, put_many, &a));
	ASSERT_EQ(0, pthread_join(installer, NULL));
	ASSERT_EQ(0, pthread_join(putter, NULL));
	/* Those still armed fire IPCZ_TRAP_REMOVED now. */
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(b, IPCZ_NO_FLAGS, NULL));
	EXPECT_EQ(0, trapper.refused);
	EXPECT_EQ(trapper.installed, atomic_load(&trap_calls));
	ASSERT_EQ(IPCZ_RESULT_OK, ipcz.Close(a, IPCZ_NO_FLAGS, NULL));
}

TEST_HARNESS_MAIN
