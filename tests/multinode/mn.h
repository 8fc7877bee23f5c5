/* SPDX-License-Identifier: MIT */
/*
 * The multi-node test harness (tests/multinode/).
 *
 * A test is a small network: up to MN_MAX_NODES nodes, each with a role (a
 * function that drives that node), and up to MN_MAX_LINKS transport pairs,
 * each joining two nodes. Roles talk to each other only through portals,
 * so the same test runs unchanged in every variant:
 *
 *   inprocess  in-process driver, every node in one process and one
 *              thread: each role is a coroutine, switched only when it
 *              waits (deterministic order, synchronous delivery)
 *   threaded   in-process driver, each role on its own thread
 *   socket     socket driver, each role in its own forked process
 *   kernel     kernel driver (/dev/ipcz), each role in its own process
 *
 * Which variant a program runs is fixed when it is linked (one small
 * object per variant defines `mn_variant`). Every wait has a deadline
 * (mn_timeout_ms()); a role that misses one records a failure and gives
 * up, so a broken library fails a test instead of hanging the suite.
 */
#ifndef IPCZ_TESTS_MULTINODE_MN_H
#define IPCZ_TESTS_MULTINODE_MN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipcz/ipcz.h"

#define MN_MAX_NODES 8
#define MN_MAX_LINKS 16

enum mn_mode {
	MN_MODE_COROUTINES,	/* one thread, roles switch when they wait */
	MN_MODE_THREADS,	/* one thread per role */
	MN_MODE_PROCESSES,	/* one forked process per role */
};

/* A driver and a way to run roles. */
struct mn_variant {
	const char *name;
	enum mn_mode mode;
	const struct IpczDriver *(*driver)(void);
	/* Processes only: a transport pair as two descriptors... */
	int (*pair_fds)(int fds[2]);
	/* ...and the adoption of one end as a transport. */
	IpczResult (*transport_from_fd)(int fd, IpczDriverHandle *transport);
	/* Processes only: descriptors as driver objects, and back. */
	IpczResult (*descriptor_wrap)(int fd, IpczDriverHandle *object);
	IpczResult (*descriptor_unwrap)(IpczDriverHandle object, int *fd);
	/* Default deadline of one wait, in milliseconds. */
	int timeout_ms;
};

/* The variant this program runs, defined by variant_<name>.c. */
extern const struct mn_variant mn_variant;

struct mn_ctx;
typedef void (*mn_role_fn)(struct mn_ctx *ctx);

struct mn_node_spec {
	const char *name;
	bool broker;
	mn_role_fn role;
};

/* A transport pair: end 0 belongs to node `a`, end 1 to node `b`. */
struct mn_link_spec {
	int a, b;
};

struct mn_test {
	int num_nodes;
	struct mn_node_spec nodes[MN_MAX_NODES];
	int num_links;
	struct mn_link_spec links[MN_MAX_LINKS];
};

/* What a role sees of its node. */
struct mn_ctx {
	int index;			/* in mn_test.nodes */
	const char *name;
	const struct mn_test *test;
	IpczHandle node;		/* IPCZ_INVALID_HANDLE once dead */
	bool failed;
	/*
	 * This node's end of each link (IPCZ_INVALID_DRIVER_HANDLE if none
	 * or not yet adopted).
	 */
	IpczDriverHandle transports[MN_MAX_LINKS];
	bool transport_consumed[MN_MAX_LINKS];
	int fds[MN_MAX_LINKS];		/* processes: this node's descriptors */
	void *runner;			/* the harness's own per-role state */
};

/* The ipcz function table, filled in by mn_run(). */
extern struct IpczAPI ipcz;

/*
 * Runs the test: creates the nodes and transports, runs every role to its
 * end and tears everything down. True if no role recorded a failure.
 */
bool mn_run(const struct mn_test *test);

/* The deadline of one wait, in milliseconds (MN_TIMEOUT_MS overrides). */
int mn_timeout_ms(void);

/* Milliseconds on a monotonic clock. */
int64_t mn_now_ms(void);

/*
 * True once another role of the test has failed: a role waiting on its own
 * should stop (this role is then marked failed, without a message).
 */
bool mn_other_failed(struct mn_ctx *ctx);

/* Lets the other roles run (coroutines) or sleeps a little (otherwise). */
void mn_pause(struct mn_ctx *ctx);

/* Pauses for about `ms` milliseconds of wall time, letting others run. */
void mn_sleep_ms(struct mn_ctx *ctx, int ms);

/*
 * Records a failure of this role, printed as a TAP comment with the
 * variant, the role and where it happened.
 */
void mn_fail_at(struct mn_ctx *ctx, const char *file, int line,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define MN_FAIL(ctx, ...) mn_fail_at((ctx), __FILE__, __LINE__, __VA_ARGS__)

/* Records a failure unless `cond` holds, and goes on. */
#define MN_EXPECT(ctx, cond, ...)					\
	do {								\
		if (!(cond))						\
			MN_FAIL((ctx), "expected " #cond ": " __VA_ARGS__); \
	} while (0)

/* Records a failure unless `cond` holds, and ends the role. */
#define MN_REQUIRE(ctx, cond, ...)					\
	do {								\
		if (!(cond)) {						\
			MN_FAIL((ctx), "required " #cond ": " __VA_ARGS__); \
			return;						\
		}							\
	} while (0)

/* Compares two IpczResults by name. */
#define MN_EXPECT_RESULT(ctx, expected, got, what)			\
	mn_expect_result_at((ctx), __FILE__, __LINE__, (expected), (got), \
			    (what))
#define MN_REQUIRE_RESULT(ctx, expected, got, what)			\
	do {								\
		if (!MN_EXPECT_RESULT((ctx), (expected), (got), (what))) \
			return;						\
	} while (0)
bool mn_expect_result_at(struct mn_ctx *ctx, const char *file, int line,
			 IpczResult expected, IpczResult got,
			 const char *what);

/* The name of an IpczResult ("OK", "NOT_FOUND", ...). */
const char *mn_result_name(IpczResult result);

/* The driver of this variant. */
const struct IpczDriver *mn_driver(void);

/*
 * This node's end of link `link` as a driver transport (adopting the
 * inherited descriptor in the processes variants). The caller passes it
 * to ConnectNode(); mn_connect() does both and records that the node
 * now owns it.
 */
IpczDriverHandle mn_transport(struct mn_ctx *ctx, int link);

/* ConnectNode() over this node's end of `link`. */
IpczResult mn_connect(struct mn_ctx *ctx, int link, size_t num_portals,
		      IpczConnectNodeFlags flags, IpczHandle *portals);

/*
 * The star most tests use: a broker with one initial portal on each of
 * its links, in link order, and clients connected TO_BROKER with one.
 * Each reports a failed ConnectNode() and returns false.
 */
bool mn_connect_client(struct mn_ctx *ctx, int link, IpczHandle *portal);
bool mn_connect_broker(struct mn_ctx *ctx, int num_links,
		       IpczHandle *portals);

/*
 * The matching ends: a client says "done" and waits for the broker to
 * close; the broker waits for every client's "done", then closes.
 */
void mn_client_finish(struct mn_ctx *ctx, IpczHandle broker);
void mn_broker_finish(struct mn_ctx *ctx, IpczHandle *portals, int n);

/*
 * Ends this node abruptly, as if its process were killed: in the
 * processes variants the process reports success and dies by SIGKILL
 * (never returns); in the in-process variants the node is closed, which
 * disconnects all its links, and the call returns so the role can close
 * the portal handles it still holds.
 */
void mn_die(struct mn_ctx *ctx);

/* Closes a handle, recording a failure if Close() refuses it. */
void mn_close(struct mn_ctx *ctx, IpczHandle handle);

/* QueryPortalStatus(), all zero on failure. */
struct IpczPortalStatus mn_status(IpczHandle portal);

/*
 * Waits until `portal` has a parcel to read, or is dead. Returns OK,
 * NOT_FOUND (dead, nothing left) or DEADLINE_EXCEEDED (recorded as a
 * failure, naming `what`).
 */
IpczResult mn_wait_parcel(struct mn_ctx *ctx, IpczHandle portal,
			  const char *what);

/*
 * Waits until all of `flags` (IPCZ_PORTAL_STATUS_*) hold on `portal`.
 * False after recording a failure at the deadline.
 */
bool mn_wait_status(struct mn_ctx *ctx, IpczHandle portal,
		    IpczPortalStatusFlags flags, const char *what);

/*
 * Waits for the next parcel and reads it: at most `*num_bytes` bytes into
 * `data` and `*num_handles` handles, both updated to what was read.
 * Returns Get()'s result, or DEADLINE_EXCEEDED (recorded as a failure).
 */
IpczResult mn_get(struct mn_ctx *ctx, IpczHandle portal, void *data,
		  size_t *num_bytes, IpczHandle *handles,
		  size_t *num_handles, const char *what);

/*
 * Waits until one of `portals` has a parcel to read and returns its index,
 * or -1 after recording a failure at the deadline.
 */
int mn_wait_any(struct mn_ctx *ctx, const IpczHandle *portals, int count,
		const char *what);

/*
 * Closes this node's end of `link` without ever connecting it: the other
 * node sees its transport disconnected.
 */
void mn_drop_transport(struct mn_ctx *ctx, int link);

/* Put() of a NUL-terminated string (without the NUL) and handles. */
IpczResult mn_put_str(IpczHandle portal, const char *text,
		      const IpczHandle *handles, size_t num_handles);

/*
 * Reads the next parcel and checks that it is exactly `text` with
 * `num_handles` handles, returned in `handles`. False after recording a
 * failure.
 */
bool mn_expect_str(struct mn_ctx *ctx, IpczHandle portal, const char *text,
		   IpczHandle *handles, size_t num_handles);

/* Put() of one 32-bit number. */
IpczResult mn_put_u32(IpczHandle portal, uint32_t value);

/*
 * Reads the next parcel as one 32-bit number. False after recording a
 * failure (timeout, wrong size, handles, or a dead portal).
 */
bool mn_get_u32(struct mn_ctx *ctx, IpczHandle portal, uint32_t *value,
		const char *what);

/*
 * Route reduction, through libipcz's introspection call: waits until
 * `portal`'s route is direct on this side (IPCZ_ROUTE_DIRECT, no proxy
 * known) with its peer on another node (`remote`) or on this one. False
 * after recording a failure with the last flags seen.
 */
bool mn_wait_direct(struct mn_ctx *ctx, IpczHandle portal, bool remote,
		    const char *what);

/* Waits until this node reports no proxies. */
bool mn_wait_no_proxies(struct mn_ctx *ctx, const char *what);

/* Sends "ping", expects "pong"; false after recording a failure. */
bool mn_ping(struct mn_ctx *ctx, IpczHandle portal);

/* Expects "ping", answers "pong"; false after recording a failure. */
bool mn_pong(struct mn_ctx *ctx, IpczHandle portal);

#endif /* IPCZ_TESTS_MULTINODE_MN_H */
