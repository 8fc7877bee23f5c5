/* SPDX-License-Identifier: MIT */
/*
 * ipcz-demo: three processes, a portal sent from B through A to C, and
 * the route B-C reduced until A is no longer on it. Shared declarations of
 * the program's files; Documentation/demo.rst describes what it shows.
 */
#ifndef IPCZ_TOOLS_DEMO_DEMO_H
#define IPCZ_TOOLS_DEMO_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ipcz/default_driver.h>
#include <ipcz/ipcz.h>

/* What the command line chose. */
struct demo_options {
	enum ipcz_driver_kind kind;	/* resolved: KERNEL or SOCKET */
	int round_trips;		/* per latency measurement */
	int timeout_ms;			/* bound of every single wait */
	const char *ipczctl;		/* run it at checkpoints, or NULL */
};

extern struct demo_options demo_options;

/* The ipcz function table, filled in once per process by demo_node_up(). */
extern struct IpczAPI ipcz;

/* The size of every latency probe parcel. */
#define DEMO_PING_BYTES 64

/* log.c: every line this program prints. */

/* Names this process in its lines ("A", "B", "C") and marks time zero. */
void demo_log_start(const char *name, int64_t epoch_ns);

/* Nanoseconds on the monotonic clock. */
int64_t demo_now_ns(void);

/* The deadline of one wait that starts now. */
int64_t demo_deadline(void);

/* Prints one line: elapsed time, this process's name, the message. */
void demo_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints one "error:" line and returns false, for `return demo_fail(...)`. */
bool demo_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "OK", "UNAVAILABLE", ... */
const char *demo_result_name(IpczResult result);

/* node.c: this process's node and its connection to the broker. */

/* Creates this process's node on the chosen driver. */
bool demo_node_up(bool broker, IpczHandle *node);

/*
 * Adopts `fd` as a transport and connects `node` over it with one initial
 * portal; `peer` names the other side in messages.
 */
bool demo_node_connect(IpczHandle node, int fd, IpczConnectNodeFlags flags,
		       const char *peer, IpczHandle *portal);

/* portal_io.c: bounded waits and small text messages. */

/*
 * Waits until `portal` holds a parcel (OK), is dead (NOT_FOUND) or the
 * deadline passes (DEADLINE_EXCEEDED).
 */
IpczResult demo_wait_parcel(IpczHandle portal, int64_t deadline_ns);

/* Puts `text` (without its NUL) and `num_handles` handles on `portal`. */
bool demo_send(IpczHandle portal, const char *text, IpczHandle *handles,
	       size_t num_handles);

/*
 * Waits (bounded) for the next parcel on `portal`, which must be `text`
 * with `num_handles` handles (0 or 1), stored in `*handle`.
 */
bool demo_expect(IpczHandle portal, const char *text, size_t num_handles,
		 IpczHandle *handle);

/* latency.c: round trips of DEMO_PING_BYTES parcels. */

/*
 * Timed round trips. A route only ever gets shorter, so the round trips
 * that began on a direct route are the last `direct_before` ones.
 */
struct demo_latency {
	int count;		/* round trips timed */
	int64_t *ns;		/* each one's time */
	int direct_before;	/* round trips that began on a direct route */
};

/*
 * Times `n` round trips on `portal`. Before each (outside the timed part)
 * it asks whether the route is direct and counts those that were.
 */
bool demo_ping(IpczHandle portal, int n, struct demo_latency *latency);

/* Prints the median and 99th percentile of `count` timings. */
void demo_latency_report(const char *what, const int64_t *ns, int count);

/*
 * The echo side: returns every ping until a parcel "bye" comes, then
 * returns true. Any other parcel, or a wait past four times the deadline
 * of one wait (B pauses between measurements), fails.
 */
bool demo_echo(IpczHandle portal);

/* route.c: the library's own view of routes and nodes. */

/*
 * Learns A's node name from this node's initial portal to A (once the
 * connection is up), so that a link to A is told from a link to B or C.
 */
bool demo_route_learn_broker(IpczHandle to_a);

/*
 * Whether the route of `portal` is direct: this side says DIRECT and its
 * link does not lead to A. False on error.
 */
bool demo_route_direct(IpczHandle portal, bool *direct);

/* Prints the route of `portal`, as the introspection call sees it. */
bool demo_route_report(const char *when, IpczHandle portal);

/* The node's count of proxies, or -1 on error. */
long demo_node_proxies(IpczHandle node);

/* Prints the node's routers, proxies, links and pool bytes. */
bool demo_node_report(const char *when, IpczHandle node);

/* ipczctl.c: the kernel's view, through tools/ipczctl (kernel driver). */

#define DEMO_MAX_TRANSPORTS 64

/* Counters of one transport end, as ipczctl prints them. */
struct demo_transport {
	long id, sent_messages, recv_messages, rings;
	const char *label;	/* which link it belongs to, if known */
};

struct demo_transports {
	int count;
	struct demo_transport t[DEMO_MAX_TRANSPORTS];
};

/* Runs `ipczctl ARGS` with its output going to ours. */
bool demo_ipczctl_show(const char *args);

/* Reads every transport end's counters through `ipczctl -j transport`. */
bool demo_ipczctl_transports(struct demo_transports *out);

/* Labels the ends in `now` that `before` does not have. */
void demo_ipczctl_label_new(struct demo_transports *now,
			    const struct demo_transports *before,
			    const char *label);

/*
 * Prints how each transport's counters moved from `before` to `after`
 * (labels from `known`). True if no end labelled in `known` moved.
 */
bool demo_ipczctl_compare(const struct demo_transports *known,
			  const struct demo_transports *before,
			  const struct demo_transports *after);

/*
 * sync.c: A and B mark B's last measurement over a socket pair of their
 * own, outside ipcz. The steps, each one byte:
 */
#define DEMO_SYNC_DIRECT 'r'	/* B: my route to C is direct */
#define DEMO_SYNC_GO 'g'	/* A: counters read, measure */
#define DEMO_SYNC_DONE 'd'	/* B: measured */
#define DEMO_SYNC_CHECKED 'c'	/* A: counters read again */

bool demo_sync_pair(int fds[2]);
bool demo_sync_send(int fd, char step);
/*
 * Waits for `step` from the other side, for as long as `waits` single
 * waits: the other side may have that many of its own to do first.
 */
bool demo_sync_expect(int fd, char step, int waits);

/* The roles, one per process. Each returns true if all went well. */
bool demo_role_a(int fd_b, int fd_c, int sync_b,
		 const struct demo_transports *links);
bool demo_role_b(int fd, int sync_a);
bool demo_role_c(int fd);

#endif /* IPCZ_TOOLS_DEMO_DEMO_H */
