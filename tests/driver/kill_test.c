// SPDX-License-Identifier: MIT
/*
 * Peer death on the kernel driver, with libipcz on top. Two processes, a
 * broker node and a client node joined by a kernel transport pair, pass
 * parcels to each other without pause, some of them carrying new portals
 * that then carry parcels of their own. At a random moment one of the two
 * is killed with SIGKILL. The survivor must then find every portal whose
 * peer lived in the dead process PEER_CLOSED, and DEAD once drained,
 * within PROMPT_MS of the kill; and once both processes are gone the module
 * must hold no more objects than before the round (live_objects).
 *
 * Each test runs ROUNDS rounds with a fresh pair of processes. The random
 * moments come from a seed printed at the start; KILL_TEST_SEED=N repeats
 * a run. Runs inside the test VM (vm-tests/driver-kernel-kill); every test
 * skips without /dev/ipcz.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include <ipcz/ipcz.h>
#include <ipcz/kernel_driver.h>

#define ROUNDS 8
/* The longest random wait between traffic flowing and the kill. */
#define MAX_DELAY_MS 400
/* How soon after the kill the survivor must see every portal dead. */
#define PROMPT_MS 5000
/* How long a role may take to start exchanging parcels (TCG, ASan). */
#define START_MS 20000
/* How long the module may take to let go of a round's objects. */
#define RELEASE_MS 10000

#define LIVE_OBJECTS "/sys/module/ipcz/parameters/live_objects"

enum {
	MAX_KEPT = 24,		/* portals a role holds at once */
	MAX_HANDLES = 4,	/* handles one parcel may bring */
	BIG = 192 * 1024,	/* the largest parcel */
	WINDOW = 8,		/* the broker's parcels awaiting replies */
};

static struct IpczAPI ipcz = { .size = sizeof(ipcz) };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* xorshift64: every role draws from its own sequence. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* What the survivor tells the test, through a pipe. */
struct report {
	int all_dead;		/* every portal reached DEAD in time */
	int not_dead;		/* portals that did not */
	int64_t seen_ms;	/* when the last one did (CLOCK_MONOTONIC) */
	unsigned long parcels_in, parcels_out, portals_in, portals_out;
};

/* One side of the exchange, in its own process. */
struct role {
	bool broker;
	IpczHandle node;
	IpczHandle initial;
	IpczHandle kept[MAX_KEPT];
	size_t num_kept;
	int outstanding;	/* broker: parcels not yet answered */
	uint64_t random;
	uint8_t *buffer;
	struct report report;
};

/* Holds `portal`; the oldest one held is closed to make room. */
static void keep(struct role *r, IpczHandle portal)
{
	if (r->num_kept == MAX_KEPT) {
		ipcz.Close(r->kept[0], 0, NULL);
		memmove(r->kept, r->kept + 1,
			(MAX_KEPT - 1) * sizeof(r->kept[0]));
		r->num_kept--;
	}
	r->kept[r->num_kept++] = portal;
}

static void close_kept(struct role *r, size_t index)
{
	ipcz.Close(r->kept[index], 0, NULL);
	r->kept[index] = r->kept[--r->num_kept];
}

/* A parcel of a random size (now and then a large one). */
static size_t parcel_size(struct role *r)
{
	uint64_t x = next_random(&r->random);

	return x % 16 ? 16 + x % 2048 : BIG - x % 1024;
}

/* Puts a parcel on `portal`, carrying one end of a new pair if asked. */
static IpczResult put_parcel(struct role *r, IpczHandle portal,
			     bool with_portal)
{
	size_t len = parcel_size(r);
	IpczHandle ours = 0, theirs = 0;
	IpczResult result;

	memset(r->buffer, (int)(len & 0xff), len);
	if (with_portal &&
	    ipcz.OpenPortals(r->node, 0, NULL, &ours, &theirs) !=
		    IPCZ_RESULT_OK)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	result = ipcz.Put(portal, r->buffer, len, with_portal ? &theirs : NULL,
			  with_portal ? 1 : 0, 0, NULL);
	if (result != IPCZ_RESULT_OK) {
		if (with_portal) {
			ipcz.Close(ours, 0, NULL);
			ipcz.Close(theirs, 0, NULL);
		}
		return result;
	}
	r->report.parcels_out++;
	if (with_portal) {
		keep(r, ours);
		r->report.portals_out++;
	}
	return IPCZ_RESULT_OK;
}

/*
 * Takes every parcel waiting on `portal`; the portals they bring are kept
 * if `keep_portals`, else closed. Returns how many parcels there were.
 */
static int drain(struct role *r, IpczHandle portal, bool keep_portals)
{
	int count = 0;

	for (;;) {
		IpczHandle handles[MAX_HANDLES];
		size_t num_bytes = BIG, num_handles = MAX_HANDLES;

		if (ipcz.Get(portal, 0, NULL, r->buffer, &num_bytes, handles,
			     &num_handles, NULL) != IPCZ_RESULT_OK)
			return count;
		count++;
		r->report.parcels_in++;
		for (size_t i = 0; i < num_handles; i++) {
			r->report.portals_in++;
			if (keep_portals)
				keep(r, handles[i]);
			else
				ipcz.Close(handles[i], 0, NULL);
		}
	}
}

static IpczPortalStatusFlags status_of_portal(IpczHandle portal)
{
	struct IpczPortalStatus status = { .size = sizeof(status) };

	if (ipcz.QueryPortalStatus(portal, 0, NULL, &status) !=
	    IPCZ_RESULT_OK)
		return 0;
	return status.flags;
}

/* Traffic on the portals that travelled: a parcel, now and then a close. */
static void use_kept(struct role *r)
{
	uint64_t x = next_random(&r->random);
	size_t i;

	if (!r->num_kept)
		return;
	i = x % r->num_kept;
	if ((x >> 32) % 16 == 0)
		close_kept(r, i);
	else
		put_parcel(r, r->kept[i], false);
	for (i = 0; i < r->num_kept; i++)
		drain(r, r->kept[i], false);
}

/*
 * One round of the exchange: the broker keeps up to WINDOW parcels in
 * flight on the initial portal, the client answers each with one of its
 * own, and a third of them carry a portal. Returns how many parcels came
 * in on the initial portal.
 */
static int exchange(struct role *r)
{
	int got;

	if (r->broker && r->outstanding < WINDOW &&
	    put_parcel(r, r->initial, next_random(&r->random) % 3 == 0) ==
		    IPCZ_RESULT_OK)
		r->outstanding++;
	got = drain(r, r->initial, true);
	if (r->broker)
		r->outstanding -= got;
	for (int i = 0; !r->broker && i < got; i++)
		put_parcel(r, r->initial, next_random(&r->random) % 3 == 0);
	use_kept(r);
	return got;
}

/* Runs the exchange until the peer is seen closed; says when it starts. */
static void run_until_peer_closed(struct role *r, int ready_fd)
{
	bool told = false;

	while (!(status_of_portal(r->initial) &
		 IPCZ_PORTAL_STATUS_PEER_CLOSED)) {
		int got = exchange(r);

		if (got && !told) {
			told = write(ready_fd, "r", 1) == 1;
			close(ready_fd);
		}
		if (!got)
			sleep_us(300);
	}
	if (!told)
		close(ready_fd);
}

static bool all_dead(struct role *r, int *not_dead)
{
	*not_dead = !(status_of_portal(r->initial) & IPCZ_PORTAL_STATUS_DEAD);
	for (size_t i = 0; i < r->num_kept; i++) {
		if (!(status_of_portal(r->kept[i]) & IPCZ_PORTAL_STATUS_DEAD))
			(*not_dead)++;
	}
	return *not_dead == 0;
}

/*
 * The survivor's part: drains what is left and waits for every portal to
 * be DEAD (every one's peer was in the dead process or went with it).
 */
static void wait_all_dead(struct role *r)
{
	int64_t deadline = now_ms() + PROMPT_MS;

	for (;;) {
		drain(r, r->initial, true);
		for (size_t i = 0; i < r->num_kept; i++)
			drain(r, r->kept[i], false);
		if (all_dead(r, &r->report.not_dead)) {
			r->report.all_dead = 1;
			break;
		}
		if (now_ms() > deadline)
			break;
		sleep_us(1000);
	}
	r->report.seen_ms = now_ms();
}

static bool connect_role(struct role *r, int fd)
{
	IpczDriverHandle transport;
	IpczConnectNodeFlags flags =
		r->broker ? 0 : IPCZ_CONNECT_NODE_TO_BROKER;

	if (ipcz.CreateNode(ipcz_kernel_driver(),
			    r->broker ? IPCZ_CREATE_NODE_AS_BROKER : 0, NULL,
			    &r->node) != IPCZ_RESULT_OK)
		return false;
	if (ipcz_kernel_transport_from_fd(fd, &transport) != IPCZ_RESULT_OK)
		return false;
	return ipcz.ConnectNode(r->node, transport, 1, flags, NULL,
				&r->initial) == IPCZ_RESULT_OK;
}

/* A role's process: never returns. Exit status 0 if it did its part. */
static void run_role(bool broker, int fd, uint64_t seed, int ready_fd,
		     int report_fd)
{
	struct role r = { .broker = broker, .random = seed | 1 };
	bool ok;

	r.buffer = malloc(BIG);
	if (!r.buffer || !connect_role(&r, fd))
		_exit(2);
	run_until_peer_closed(&r, ready_fd);
	wait_all_dead(&r);
	ok = write(report_fd, &r.report, sizeof(r.report)) ==
	     sizeof(r.report);
	close(report_fd);
	while (r.num_kept)
		close_kept(&r, 0);
	ipcz.Close(r.initial, 0, NULL);
	ipcz.Close(r.node, 0, NULL);
	free(r.buffer);
	/* exit(), not _exit(): LeakSanitizer checks the survivor. */
	exit(ok && r.report.all_dead ? 0 : 1);
}

static pid_t start_role(bool broker, const int pair[2], uint64_t seed,
			const int ready[2], const int report[2])
{
	pid_t pid = fork();

	if (pid)
		return pid;
	close(pair[broker ? 1 : 0]);
	close(ready[0]);
	close(report[0]);
	run_role(broker, pair[broker ? 0 : 1], seed, ready[1], report[1]);
	_exit(3);
}

/* Reads exactly `len` bytes from `fd` within `ms`; false if not. */
static bool read_within(int fd, void *buffer, size_t len, int ms)
{
	int64_t deadline = now_ms() + ms;
	size_t done = 0;

	while (done < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		n = read(fd, (char *)buffer + done, len - done);
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* The process's wait status, waiting at most `ms`; -1 if it did not end. */
static int wait_within(pid_t pid, int ms)
{
	int64_t deadline = now_ms() + ms;
	int status;

	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_us(5000);
	}
	return status;
}

static long live_objects(void)
{
	FILE *f = fopen(LIVE_OBJECTS, "r");
	long value = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &value) != 1)
		value = -1;
	fclose(f);
	return value;
}

/* Waits for live_objects to come back to `baseline`; its last value. */
static long wait_live_objects(long baseline)
{
	int64_t deadline = now_ms() + RELEASE_MS;
	long value;

	while ((value = live_objects()) != baseline && now_ms() < deadline)
		sleep_us(10000);
	return value;
}

static uint64_t test_seed(void)
{
	const char *env = getenv("KILL_TEST_SEED");

	if (env && *env)
		return strtoull(env, NULL, 0);
	return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
}

FIXTURE(kill) {
	bool usable;
	uint64_t seed;
	long baseline;
	int64_t worst_ms;
};

FIXTURE_SETUP(kill)
{
	int fds[2];

	ASSERT_EQ(IPCZ_RESULT_OK, IpczGetAPI(&ipcz));
	if (!ipcz_kernel_available())
		return;
	/* This process's own node: opened once, before the baseline. */
	ASSERT_EQ(0, ipcz_kernel_transport_pair_fds(fds));
	close(fds[0]);
	close(fds[1]);
	self->baseline = live_objects();
	ASSERT_LE(0, self->baseline);
	self->seed = test_seed();
	self->usable = true;
	TH_LOG("seed %llu (KILL_TEST_SEED repeats it)",
	       (unsigned long long)self->seed);
}

FIXTURE_TEARDOWN(kill)
{
}

/* Everything about one round that the test checks. */
struct round {
	int victim_status;
	int survivor_status;
	bool ready;
	bool reported;
	struct report report;
	int64_t latency_ms;
	int delay_ms;
};

/* Starts both roles, kills one at a random moment, collects the rest. */
static void run_round(uint64_t seed, bool kill_broker, struct round *out)
{
	int pair[2], ready[2], report[2];
	pid_t pids[2], victim, survivor;
	int64_t killed_at;
	char tokens[2];

	memset(out, 0, sizeof(*out));
	out->delay_ms = (int)(seed % MAX_DELAY_MS);
	if (ipcz_kernel_transport_pair_fds(pair) || pipe(ready) ||
	    pipe(report))
		return;
	pids[0] = start_role(true, pair, next_random(&seed), ready, report);
	pids[1] = start_role(false, pair, next_random(&seed), ready, report);
	close(pair[0]);
	close(pair[1]);
	close(ready[1]);
	close(report[1]);
	victim = pids[kill_broker ? 0 : 1];
	survivor = pids[kill_broker ? 1 : 0];

	out->ready = read_within(ready[0], tokens, 2, START_MS);
	usleep((useconds_t)out->delay_ms * 1000);
	kill(victim, SIGKILL);
	killed_at = now_ms();
	out->reported = out->ready &&
			read_within(report[0], &out->report,
				    sizeof(out->report), START_MS + PROMPT_MS);
	out->latency_ms = out->report.seen_ms - killed_at;
	out->victim_status = wait_within(victim, START_MS);
	out->survivor_status = wait_within(survivor, START_MS);
	close(ready[0]);
	close(report[0]);
}

static void run_rounds(struct __test_metadata *_metadata,
		       FIXTURE_DATA(kill) *self, bool kill_broker)
{
	uint64_t seed = self->seed;

	if (!self->usable)
		SKIP(return, "/dev/ipcz is not usable here");
	for (int i = 0; i < ROUNDS; i++) {
		struct round r;

		run_round(next_random(&seed), kill_broker, &r);
		TH_LOG("round %d: killed after %d ms; survivor took %lld ms: "
		       "%lu/%lu parcels, %lu/%lu portals in/out", i,
		       r.delay_ms, (long long)r.latency_ms,
		       r.report.parcels_in, r.report.parcels_out,
		       r.report.portals_in, r.report.portals_out);
		ASSERT_TRUE(r.ready) TH_LOG("round %d: no traffic", i);
		ASSERT_TRUE(r.reported) TH_LOG("round %d: no report", i);
		EXPECT_TRUE(r.report.all_dead)
			TH_LOG("round %d: %d portals not DEAD after %d ms", i,
			       r.report.not_dead, PROMPT_MS);
		EXPECT_LE(r.latency_ms, PROMPT_MS);
		EXPECT_TRUE(WIFSIGNALED(r.victim_status) &&
			    WTERMSIG(r.victim_status) == SIGKILL)
			TH_LOG("round %d: victim status 0x%x", i,
			       r.victim_status);
		EXPECT_EQ(0, r.survivor_status)
			TH_LOG("round %d: survivor status 0x%x", i,
			       r.survivor_status);
		EXPECT_EQ(self->baseline, wait_live_objects(self->baseline))
			TH_LOG("round %d: module objects not released", i);
		if (r.latency_ms > self->worst_ms)
			self->worst_ms = r.latency_ms;
	}
	TH_LOG("slowest detection of a death: %lld ms",
	       (long long)self->worst_ms);
}

TEST_F_TIMEOUT(kill, client_killed_at_random_moments, 300)
{
	run_rounds(_metadata, self, false);
}

TEST_F_TIMEOUT(kill, broker_killed_at_random_moments, 300)
{
	run_rounds(_metadata, self, true);
}

TEST_HARNESS_MAIN
