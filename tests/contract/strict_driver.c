// SPDX-License-Identifier: MIT
/*
 * The strict driver (strict_driver.h): an asynchronous in-process driver
 * that records every break of the IpczDriver contract by libipcz.
 *
 * One process-wide lock guards all driver state; it is never held while
 * the activity handler runs, so libipcz may call back into the driver
 * from its handler. Nothing is freed before the process ends: entries of
 * closed handles stay as tombstones, which is what lets a late use of a
 * handle be named precisely instead of reading freed memory.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tests/contract/strict_driver.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#include <sanitizer/common_interface_defs.h>
#define SD_HAVE_STACKS 1
#else
#define SD_HAVE_STACKS 0
#endif

enum sd_kind {
	SD_TRANSPORT,
	SD_MEMORY,
	SD_MAPPING,
	SD_OBJECT,
	SD_WIRE,	/* a serialized object, travelling in a message */
};

static const char *const kind_names[] = {
	"transport", "memory", "mapping", "object", "wire handle",
};

enum sd_state {
	SD_LIVE,	/* owned by whoever holds the handle */
	SD_CLOSED,	/* Close()d */
	SD_RELINQUISHED, /* given back by a successful Serialize() */
	SD_IN_MESSAGE,	/* a wire handle inside a queued message */
	SD_CONSUMED,	/* a wire handle Deserialize() turned back */
	SD_DROPPED,	/* closed by the driver (message discarded) */
};

static const char *const state_names[] = {
	"live", "closed", "relinquished by Serialize()",
	"inside a transmitted message", "consumed by Deserialize()",
	"dropped with an undelivered message",
};

struct sd_transport;

/* What a handle names; a wire handle carries another kind's payload. */
struct sd_payload {
	enum sd_kind kind;
	struct sd_transport *transport;
	int fd;			/* memory */
	size_t size;		/* memory, mapping */
	void *address;		/* mapping */
	uint64_t value;		/* object */
	bool serializable;	/* object */
};

struct sd_entry {
	enum sd_state state;
	enum sd_kind kind;	/* SD_WIRE for wire handles */
	struct sd_payload payload;
};

struct sd_message {
	struct sd_message *next;
	IpczTransportActivityFlags flags;	/* ERROR, or 0 for data */
	size_t num_bytes;
	size_t num_handles;
	IpczDriverHandle *handles;
	uint8_t *data;
};

struct sd_transport {
	struct sd_transport *peer;
	bool local_broker, remote_broker;
	bool activated, deactivate_requested, deactivated, closed;
	bool worker_running;
	bool delivering;	/* synchronous delivery in progress */
	pthread_t worker;
	IpczHandle listener;
	IpczTransportActivityHandler handler;
	struct sd_message *head, *tail;
	pthread_cond_t wake;
};

/* Handles are (index << 4) | 0xd: a value of another origin rarely fits. */
#define SD_HANDLE_TAG 0xdu
#define SERIAL_MAGIC 0x5d5e7a11u
#define SERIAL_BYTES 16
#define MAX_RECORDED 64
#define DEACTIVATE_WAIT_MS 10000

static pthread_mutex_t sd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sd_changed = PTHREAD_COND_INITIALIZER;
static struct sd_entry *entries;
static size_t num_entries, entries_capacity;
static struct sd_options options;
static bool abort_on_violation;
static struct sd_stats stats;
static char *recorded[MAX_RECORDED];

static void violation(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static bool is_tolerated(const char *text);

/* Called with sd_lock held or not: it takes a lock of its own. */
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t violation_count;

static void violation(const char *fmt, ...)
{
	char text[400];
	va_list args;

	va_start(args, fmt);
	vsnprintf(text, sizeof(text), fmt, args);
	va_end(args);
	pthread_mutex_lock(&record_lock);
	if (violation_count < MAX_RECORDED)
		recorded[violation_count] = strdup(text);
	violation_count++;
	pthread_mutex_unlock(&record_lock);
#if SD_HAVE_STACKS
	/* SD_STACKS=1 shows where libipcz made the call. */
	if (getenv("SD_STACKS")) {
		fprintf(stderr, "# strict driver: %s, from:\n", text);
		__sanitizer_print_stack_trace();
	}
#endif
	if (abort_on_violation && !is_tolerated(text)) {
		fprintf(stderr, "# strict driver: contract broken: %s\n",
			text);
		abort();
	}
}

void sd_print_violations(void)
{
	size_t i;

	pthread_mutex_lock(&record_lock);
	for (i = 0; i < violation_count && i < MAX_RECORDED; i++)
		fprintf(stderr, "# strict driver: contract broken: %s\n",
			recorded[i]);
	if (violation_count > MAX_RECORDED)
		fprintf(stderr, "# strict driver: ... %zu more\n",
			violation_count - MAX_RECORDED);
	pthread_mutex_unlock(&record_lock);
}

size_t sd_violations_matching(const char *text)
{
	size_t i, count = 0;

	pthread_mutex_lock(&record_lock);
	for (i = 0; i < violation_count && i < MAX_RECORDED; i++)
		count += recorded[i] && strstr(recorded[i], text);
	pthread_mutex_unlock(&record_lock);
	return count;
}

void sd_set_options(const struct sd_options *o)
{
	pthread_mutex_lock(&sd_lock);
	options = *o;
	pthread_mutex_unlock(&sd_lock);
}

void sd_set_abort_on_violation(bool abort_now)
{
	abort_on_violation = abort_now;
}

static const char *tolerated[8];

void sd_tolerate(const char *text)
{
	size_t i;

	for (i = 0; i < 8; i++) {
		if (!tolerated[i]) {
			tolerated[i] = text;
			return;
		}
	}
}

static bool is_tolerated(const char *text)
{
	size_t i;

	for (i = 0; i < 8 && tolerated[i]; i++) {
		if (strstr(text, tolerated[i]))
			return true;
	}
	return false;
}

/* ---- the handle registry (sd_lock held) ---- */

static IpczDriverHandle issue(enum sd_kind kind,
			      const struct sd_payload *payload)
{
	struct sd_entry *e;

	if (num_entries == entries_capacity) {
		size_t cap = entries_capacity ? entries_capacity * 2 : 256;
		struct sd_entry *grown = realloc(entries, cap * sizeof(*e));

		if (!grown)
			return IPCZ_INVALID_DRIVER_HANDLE;
		entries = grown;
		entries_capacity = cap;
	}
	e = &entries[num_entries++];
	e->state = SD_LIVE;
	e->kind = kind;
	e->payload = *payload;
	return ((IpczDriverHandle)num_entries << 4) | SD_HANDLE_TAG;
}

static struct sd_entry *entry_of(IpczDriverHandle handle)
{
	size_t index = handle >> 4;

	if ((handle & 0xf) != SD_HANDLE_TAG || index == 0 ||
	    index > num_entries)
		return NULL;
	return &entries[index - 1];
}

/*
 * The live entry of kind `kind` that `handle` names for libipcz's call
 * `what`, or NULL after recording why it is not one.
 */
static struct sd_entry *lookup(IpczDriverHandle handle, enum sd_kind kind,
			       const char *what)
{
	struct sd_entry *e = entry_of(handle);

	if (!e) {
		violation("%s: handle %#lx was never issued by the driver",
			  what, (unsigned long)handle);
		return NULL;
	}
	if (e->state != SD_LIVE) {
		violation("%s: %s handle %#lx used after it was %s", what,
			  kind_names[e->kind], (unsigned long)handle,
			  state_names[e->state]);
		return NULL;
	}
	if (e->kind != kind) {
		violation("%s: handle %#lx is a %s, not a %s", what,
			  (unsigned long)handle, kind_names[e->kind],
			  kind_names[kind]);
		return NULL;
	}
	return e;
}

static void check_no_flags(const char *what, uint32_t flags,
			   const void *opts)
{
	if (flags != IPCZ_NO_FLAGS)
		violation("%s: flags %#x (ipcz defines none)", what, flags);
	if (opts)
		violation("%s: non-null options (reserved)", what);
}

/* ---- transports (sd_lock held) ---- */

static void release_payload(struct sd_payload *p, bool by_driver);

static void drop_message(struct sd_message *m)
{
	size_t i;

	for (i = 0; i < m->num_handles; i++) {
		struct sd_entry *e = entry_of(m->handles[i]);

		if (e && e->state == SD_IN_MESSAGE) {
			e->state = SD_DROPPED;
			release_payload(&e->payload, true);
		}
	}
	free(m->handles);
	free(m->data);
	free(m);
}

static void drop_queue(struct sd_transport *t)
{
	while (t->head) {
		struct sd_message *m = t->head;

		t->head = m->next;
		drop_message(m);
	}
	t->tail = NULL;
}

/* Whether `t` still takes deliveries. */
static bool accepting(const struct sd_transport *t)
{
	return !t->closed && !t->deactivate_requested && !t->deactivated;
}

static void pump(struct sd_transport *t);

static void enqueue(struct sd_transport *t, struct sd_message *m)
{
	if (!accepting(t)) {
		drop_message(m);
		return;
	}
	m->next = NULL;
	if (t->tail)
		t->tail->next = m;
	else
		t->head = m;
	t->tail = m;
	pthread_cond_signal(&t->wake);
	pump(t);
}

static void close_transport(struct sd_transport *t)
{
	struct sd_message *error;

	t->closed = true;
	if (!t->activated)
		drop_queue(t);
	if (t->peer && !t->peer->closed) {
		error = calloc(1, sizeof(*error));
		if (error) {
			error->flags = IPCZ_TRANSPORT_ACTIVITY_ERROR;
			enqueue(t->peer, error);
		}
	}
	pthread_cond_signal(&t->wake);
}

/* Releases what a payload holds, when its last handle goes. */
static void release_payload(struct sd_payload *p, bool by_driver)
{
	(void)by_driver;
	switch (p->kind) {
	case SD_TRANSPORT:
		close_transport(p->transport);
		break;
	case SD_MEMORY:
		close(p->fd);
		break;
	case SD_MAPPING:
		munmap(p->address, p->size);
		break;
	default:
		break;
	}
}

static void jitter(void)
{
	if (options.jitter && (rand() & 3) == 0)
		sched_yield();
}

/* SD_TRACE=1: what a handler refused (the first bytes name the message). */
static void trace_refusal(const struct sd_message *m, IpczResult result)
{
	size_t i;

	fprintf(stderr, "# strict driver: handler refused %zu bytes and %zu "
		"handles (result %d):", m->num_bytes, m->num_handles, result);
	for (i = 0; i < m->num_bytes && i < 16; i++)
		fprintf(stderr, " %02x", m->data[i]);
	fprintf(stderr, "\n");
}

/* sd_lock held: the next queued message of `t`, or NULL. */
static struct sd_message *pop(struct sd_transport *t)
{
	struct sd_message *m = t->head;

	if (m) {
		t->head = m->next;
		if (!t->head)
			t->tail = NULL;
	}
	return m;
}

/*
 * sd_lock held (dropped around the handler): hands `m` to the handler and
 * frees it. False if the handler refused a data message, after which it
 * has been told ERROR.
 */
static bool deliver(struct sd_transport *t, struct sd_message *m)
{
	IpczResult result;
	bool refused;
	size_t i;

	/* The receiving ipcz owns the message's objects now. */
	for (i = 0; i < m->num_handles; i++) {
		struct sd_entry *e = entry_of(m->handles[i]);

		if (e && e->state == SD_IN_MESSAGE)
			e->state = SD_LIVE;
	}
	pthread_mutex_unlock(&sd_lock);
	jitter();
	result = t->handler(t->listener, m->data, m->num_bytes, m->handles,
			    m->num_handles, m->flags, NULL);
	refused = result != IPCZ_RESULT_OK && !m->flags;
	if (refused && getenv("SD_TRACE"))
		trace_refusal(m, result);
	free(m->handles);
	free(m->data);
	free(m);
	if (refused)
		t->handler(t->listener, NULL, 0, NULL, 0,
			   IPCZ_TRANSPORT_ACTIVITY_ERROR, NULL);
	pthread_mutex_lock(&sd_lock);
	return !refused;
}

/* sd_lock held (dropped around the handler): the last handler call. */
static void deliver_deactivated(struct sd_transport *t)
{
	t->deactivated = true;
	drop_queue(t);
	pthread_mutex_unlock(&sd_lock);
	jitter();
	t->handler(t->listener, NULL, 0, NULL, 0,
		   IPCZ_TRANSPORT_ACTIVITY_DEACTIVATED, NULL);
	pthread_mutex_lock(&sd_lock);
	stats.deactivated_delivered++;
	pthread_cond_broadcast(&sd_changed);
}

/*
 * The worker of one activated transport (asynchronous delivery): the
 * queue in order, then the last (DEACTIVATED) call.
 */
static void *worker_main(void *arg)
{
	struct sd_transport *t = arg;

	pthread_mutex_lock(&sd_lock);
	for (;;) {
		while (!t->deactivate_requested && !t->head)
			pthread_cond_wait(&t->wake, &sd_lock);
		if (t->deactivate_requested || !deliver(t, pop(t)))
			break;
	}
	deliver_deactivated(t);
	t->worker_running = false;
	pthread_cond_broadcast(&sd_changed);
	pthread_mutex_unlock(&sd_lock);
	return NULL;
}

/*
 * Synchronous delivery (sd_set_sync_delivery()), sd_lock held: delivers
 * `t`'s queue on the calling thread, like upstream's synchronous driver.
 * A call that finds a delivery to `t` in progress (re-entered from the
 * handler, or on another thread) only leaves its message queued: the
 * delivery in progress drains it, so calls never overlap.
 */
static bool sync_delivery;

static void pump(struct sd_transport *t)
{
	struct sd_message *m;

	if (!sync_delivery || t->delivering || !t->activated ||
	    t->deactivated)
		return;
	t->delivering = true;
	for (;;) {
		if (t->deactivate_requested) {
			deliver_deactivated(t);
			break;
		}
		m = pop(t);
		if (!m)
			break;
		deliver(t, m);
	}
	t->delivering = false;
}

void sd_set_sync_delivery(bool sync)
{
	sync_delivery = sync;
}

static struct sd_transport *transport_new(bool local_broker,
					  bool remote_broker)
{
	struct sd_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->local_broker = local_broker;
	t->remote_broker = remote_broker;
	pthread_cond_init(&t->wake, NULL);
	return t;
}

/* sd_lock held. */
static IpczResult make_pair(bool a_broker, bool b_broker,
			    IpczDriverHandle *a, IpczDriverHandle *b)
{
	struct sd_payload pa = { .kind = SD_TRANSPORT };
	struct sd_payload pb = { .kind = SD_TRANSPORT };

	pa.transport = transport_new(a_broker, b_broker);
	pb.transport = transport_new(b_broker, a_broker);
	if (!pa.transport || !pb.transport) {
		free(pa.transport);
		free(pb.transport);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	pa.transport->peer = pb.transport;
	pb.transport->peer = pa.transport;
	*a = issue(SD_TRANSPORT, &pa);
	*b = issue(SD_TRANSPORT, &pb);
	return IPCZ_RESULT_OK;
}

IpczResult sd_transport_pair(bool a_is_broker, bool b_is_broker,
			     IpczDriverHandle *a, IpczDriverHandle *b)
{
	IpczResult result;

	pthread_mutex_lock(&sd_lock);
	result = make_pair(a_is_broker, b_is_broker, a, b);
	pthread_mutex_unlock(&sd_lock);
	return result;
}

/* ---- the driver functions ---- */

static IpczResult IPCZ_API sd_close(IpczDriverHandle handle, uint32_t flags,
				    const void *opts)
{
	struct sd_entry *e;

	check_no_flags("Close", flags, opts);
	pthread_mutex_lock(&sd_lock);
	e = entry_of(handle);
	if (!e) {
		violation("Close: handle %#lx was never issued",
			  (unsigned long)handle);
	} else if (e->state != SD_LIVE) {
		violation("Close: %s handle %#lx closed after it was %s",
			  kind_names[e->kind], (unsigned long)handle,
			  state_names[e->state]);
	} else {
		struct sd_transport *t = e->payload.transport;

		if (e->kind == SD_TRANSPORT && t->activated &&
		    !t->deactivate_requested && !t->deactivated)
			violation("Close: transport %#lx closed while active "
				  "(never deactivated)",
				  (unsigned long)handle);
		e->state = SD_CLOSED;
		release_payload(&e->payload, false);
		pthread_cond_broadcast(&sd_changed);
		pthread_mutex_unlock(&sd_lock);
		return IPCZ_RESULT_OK;
	}
	pthread_mutex_unlock(&sd_lock);
	return IPCZ_RESULT_INVALID_ARGUMENT;
}

/* Whether `p` may cross `t` (forced brokering only refuses). */
static bool may_cross(const struct sd_transport *t)
{
	return !options.forced_brokering || t->local_broker ||
	       t->remote_broker;
}

/* sd_lock held; the checks of Serialize() before any output. */
static IpczResult serialize_checks(struct sd_entry *e,
				   IpczDriverHandle handle,
				   IpczDriverHandle transport)
{
	struct sd_entry *via = NULL;

	if (transport != IPCZ_INVALID_DRIVER_HANDLE) {
		via = lookup(transport, SD_TRANSPORT, "Serialize (transport)");
		if (!via)
			return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (e->kind == SD_MAPPING || e->kind == SD_WIRE ||
	    (e->kind == SD_OBJECT && !e->payload.serializable))
		return IPCZ_RESULT_INVALID_ARGUMENT;
	if (e->kind == SD_TRANSPORT) {
		struct sd_transport *t = e->payload.transport;

		if (t->activated && !t->deactivated)
			violation("Serialize: transport %#lx is still "
				  "active", (unsigned long)handle);
		if (handle == transport)
			violation("Serialize: transport %#lx sent over "
				  "itself", (unsigned long)handle);
	}
	if (!via)
		return options.forced_brokering ? IPCZ_RESULT_ABORTED :
						  IPCZ_RESULT_OK;
	if (!may_cross(via->payload.transport)) {
		stats.permission_denied++;
		return IPCZ_RESULT_PERMISSION_DENIED;
	}
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API
sd_serialize(IpczDriverHandle handle, IpczDriverHandle transport,
	     uint32_t flags, const void *opts, volatile void *data,
	     size_t *num_bytes, IpczDriverHandle *handles,
	     size_t *num_handles)
{
	size_t byte_capacity = num_bytes ? *num_bytes : 0;
	size_t handle_capacity = num_handles ? *num_handles : 0;
	struct sd_entry *e;
	struct sd_payload payload;
	IpczDriverHandle wire;
	IpczResult result;
	uint32_t header[2];
	uint64_t id;

	check_no_flags("Serialize", flags, opts);
	pthread_mutex_lock(&sd_lock);
	e = entry_of(handle);
	if (!e || e->state != SD_LIVE) {
		/* A dead handle is a violation; a foreign value is not. */
		if (e)
			lookup(handle, e->kind, "Serialize");
		pthread_mutex_unlock(&sd_lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	result = serialize_checks(e, handle, transport);
	if (result != IPCZ_RESULT_OK) {
		pthread_mutex_unlock(&sd_lock);
		return result;
	}
	if ((byte_capacity && !data) || (handle_capacity && !handles))
		violation("Serialize: a null buffer with a non-zero capacity");
	if (num_bytes)
		*num_bytes = SERIAL_BYTES;
	if (num_handles)
		*num_handles = 1;
	if (byte_capacity < SERIAL_BYTES || handle_capacity < 1 || !data ||
	    !handles) {
		stats.serialize_exhausted++;
		pthread_mutex_unlock(&sd_lock);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	payload = e->payload;
	e->state = SD_RELINQUISHED;
	wire = issue(SD_WIRE, &payload);
	stats.serialized++;
	pthread_mutex_unlock(&sd_lock);
	header[0] = SERIAL_MAGIC;
	header[1] = payload.kind;
	id = wire;
	memcpy((void *)data, header, sizeof(header));
	memcpy((uint8_t *)data + sizeof(header), &id, sizeof(id));
	handles[0] = wire;
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API
sd_deserialize(const volatile void *data, size_t num_bytes,
	       const IpczDriverHandle *driver_handles,
	       size_t num_driver_handles, IpczDriverHandle transport,
	       uint32_t flags, const void *opts, IpczDriverHandle *handle)
{
	uint32_t header[2];
	uint64_t id;
	struct sd_entry *e;
	IpczResult result = IPCZ_RESULT_INVALID_ARGUMENT;

	check_no_flags("Deserialize", flags, opts);
	if (!handle) {
		violation("Deserialize: null output");
		return result;
	}
	if (num_bytes != SERIAL_BYTES || num_driver_handles != 1 || !data ||
	    !driver_handles) {
		violation("Deserialize: %zu bytes and %zu handles, not what "
			  "Serialize() produced", num_bytes,
			  num_driver_handles);
		return result;
	}
	memcpy(header, (const void *)data, sizeof(header));
	memcpy(&id, (const uint8_t *)data + sizeof(header), sizeof(id));
	pthread_mutex_lock(&sd_lock);
	lookup(transport, SD_TRANSPORT, "Deserialize (transport)");
	e = lookup(driver_handles[0], SD_WIRE, "Deserialize");
	if (e && (header[0] != SERIAL_MAGIC || header[1] != e->payload.kind ||
		  id != driver_handles[0])) {
		violation("Deserialize: bytes do not match the handle "
			  "(corrupted by ipcz?)");
		e = NULL;
	}
	if (e) {
		/* issue() may move the entries: copy the payload first. */
		struct sd_payload payload = e->payload;

		e->state = SD_CONSUMED;
		*handle = issue(payload.kind, &payload);
		result = IPCZ_RESULT_OK;
	}
	pthread_mutex_unlock(&sd_lock);
	return result;
}

static IpczResult IPCZ_API
sd_create_transports(IpczDriverHandle transport0,
		     IpczDriverHandle transport1, uint32_t flags,
		     const void *opts, IpczDriverHandle *new_transport0,
		     IpczDriverHandle *new_transport1)
{
	struct sd_entry *e0 = NULL, *e1 = NULL;
	bool broker0 = true, broker1 = true;
	IpczResult result;

	check_no_flags("CreateTransports", flags, opts);
	if (!new_transport0 || !new_transport1) {
		violation("CreateTransports: null output");
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	pthread_mutex_lock(&sd_lock);
	if (transport0 != IPCZ_INVALID_DRIVER_HANDLE ||
	    transport1 != IPCZ_INVALID_DRIVER_HANDLE) {
		e0 = lookup(transport0, SD_TRANSPORT,
			    "CreateTransports (transport0)");
		e1 = lookup(transport1, SD_TRANSPORT,
			    "CreateTransports (transport1)");
		if (!e0 || !e1) {
			pthread_mutex_unlock(&sd_lock);
			return IPCZ_RESULT_INVALID_ARGUMENT;
		}
		broker0 = e0->payload.transport->remote_broker;
		broker1 = e1->payload.transport->remote_broker;
	}
	result = make_pair(broker0, broker1, new_transport0, new_transport1);
	pthread_mutex_unlock(&sd_lock);
	return result;
}

static IpczResult IPCZ_API
sd_activate_transport(IpczDriverHandle transport, IpczHandle listener,
		      IpczTransportActivityHandler handler, uint32_t flags,
		      const void *opts)
{
	struct sd_entry *e;
	struct sd_transport *t;
	IpczResult result = IPCZ_RESULT_INVALID_ARGUMENT;

	check_no_flags("ActivateTransport", flags, opts);
	pthread_mutex_lock(&sd_lock);
	e = lookup(transport, SD_TRANSPORT, "ActivateTransport");
	if (!e)
		goto out;
	t = e->payload.transport;
	if (t->activated) {
		violation("ActivateTransport: transport %#lx activated twice",
			  (unsigned long)transport);
		goto out;
	}
	if (!handler || listener == IPCZ_INVALID_HANDLE) {
		violation("ActivateTransport: no handler or listener");
		goto out;
	}
	if (options.fail_activations > 0) {
		options.fail_activations--;
		result = IPCZ_RESULT_UNKNOWN;
		goto out;
	}
	t->activated = true;
	t->listener = listener;
	t->handler = handler;
	stats.activations++;
	if (sync_delivery) {
		/* What was sent before activation arrives now. */
		pump(t);
		result = IPCZ_RESULT_OK;
		goto out;
	}
	t->worker_running = true;
	if (pthread_create(&t->worker, NULL, worker_main, t) != 0) {
		t->activated = false;
		t->worker_running = false;
		stats.activations--;
		result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
		goto out;
	}
	pthread_detach(t->worker);
	result = IPCZ_RESULT_OK;
out:
	pthread_mutex_unlock(&sd_lock);
	return result;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static IpczResult IPCZ_API sd_deactivate_transport(IpczDriverHandle transport,
						   uint32_t flags,
						   const void *opts)
{
	struct sd_entry *e;
	struct sd_transport *t;
	struct timespec deadline;

	check_no_flags("DeactivateTransport", flags, opts);
	pthread_mutex_lock(&sd_lock);
	e = lookup(transport, SD_TRANSPORT, "DeactivateTransport");
	if (!e) {
		pthread_mutex_unlock(&sd_lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	t = e->payload.transport;
	if (!t->activated || t->deactivate_requested) {
		violation("DeactivateTransport: transport %#lx %s",
			  (unsigned long)transport,
			  t->activated ? "deactivated twice" :
					 "was never activated");
		pthread_mutex_unlock(&sd_lock);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	t->deactivate_requested = true;
	stats.deactivations_requested++;
	pthread_cond_signal(&t->wake);
	/* Synchronous: the last call now, or after the handler in progress. */
	pump(t);
	/*
	 * Like upstream's async driver, wait for the worker unless this is
	 * the worker (then DEACTIVATED follows the current handler call).
	 */
	if (t->worker_running && !pthread_equal(t->worker, pthread_self())) {
		deadline_in(&deadline, DEACTIVATE_WAIT_MS);
		while (t->worker_running) {
			if (pthread_cond_timedwait(&sd_changed, &sd_lock,
						   &deadline) == ETIMEDOUT) {
				violation("DeactivateTransport: the handler "
					  "did not finish in %d ms (ipcz holds "
					  "what its handler waits for?)",
					  DEACTIVATE_WAIT_MS);
				break;
			}
		}
	}
	pthread_mutex_unlock(&sd_lock);
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API
sd_transmit(IpczDriverHandle transport, const void *data, size_t num_bytes,
	    const IpczDriverHandle *driver_handles, size_t num_driver_handles,
	    uint32_t flags, const void *opts)
{
	struct sd_message *m;
	struct sd_entry *e;
	size_t i;

	check_no_flags("Transmit", flags, opts);
	if ((num_bytes && !data) || (num_driver_handles && !driver_handles)) {
		violation("Transmit: a null buffer with a non-zero count");
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	m->data = malloc(num_bytes ? num_bytes : 1);
	m->handles = calloc(num_driver_handles ? num_driver_handles : 1,
			    sizeof(*m->handles));
	if (!m->data || !m->handles) {
		free(m->data);
		free(m->handles);
		free(m);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	if (num_bytes)
		memcpy(m->data, data, num_bytes);
	pthread_mutex_lock(&sd_lock);
	e = lookup(transport, SD_TRANSPORT, "Transmit");
	for (i = 0; e && i < num_driver_handles; i++) {
		if (!lookup(driver_handles[i], SD_WIRE, "Transmit (handle)"))
			e = NULL;
	}
	if (!e) {
		pthread_mutex_unlock(&sd_lock);
		free(m->data);
		free(m->handles);
		free(m);
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	for (i = 0; i < num_driver_handles; i++) {
		entry_of(driver_handles[i])->state = SD_IN_MESSAGE;
		m->handles[i] = driver_handles[i];
	}
	m->num_bytes = num_bytes;
	m->num_handles = num_driver_handles;
	stats.transmits++;
	enqueue(e->payload.transport->peer, m);
	pthread_mutex_unlock(&sd_lock);
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API
sd_report_bad_transport_activity(IpczDriverHandle transport,
				 uintptr_t context, uint32_t flags,
				 const void *opts)
{
	check_no_flags("ReportBadTransportActivity", flags, opts);
	pthread_mutex_lock(&sd_lock);
	lookup(transport, SD_TRANSPORT, "ReportBadTransportActivity");
	stats.bad_activity_reports++;
	stats.last_bad_activity_context = context;
	pthread_mutex_unlock(&sd_lock);
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API sd_allocate_shared_memory(size_t num_bytes,
						     uint32_t flags,
						     const void *opts,
						     IpczDriverHandle *out)
{
	struct sd_payload p = { .kind = SD_MEMORY };

	check_no_flags("AllocateSharedMemory", flags, opts);
	if (!out) {
		violation("AllocateSharedMemory: null output");
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	if (!num_bytes)
		return IPCZ_RESULT_INVALID_ARGUMENT;
	p.fd = memfd_create("ipcz-strict", MFD_CLOEXEC);
	if (p.fd < 0)
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	if (ftruncate(p.fd, (off_t)num_bytes) != 0) {
		close(p.fd);
		return IPCZ_RESULT_RESOURCE_EXHAUSTED;
	}
	p.size = num_bytes;
	pthread_mutex_lock(&sd_lock);
	*out = issue(SD_MEMORY, &p);
	pthread_mutex_unlock(&sd_lock);
	return IPCZ_RESULT_OK;
}

static IpczResult IPCZ_API
sd_get_shared_memory_info(IpczDriverHandle memory, uint32_t flags,
			  const void *opts, struct IpczSharedMemoryInfo *info)
{
	struct sd_entry *e;

	check_no_flags("GetSharedMemoryInfo", flags, opts);
	if (!info || info->size < sizeof(*info)) {
		violation("GetSharedMemoryInfo: %s",
			  info ? "info.size not set by ipcz" : "null info");
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	pthread_mutex_lock(&sd_lock);
	e = lookup(memory, SD_MEMORY, "GetSharedMemoryInfo");
	if (e)
		info->region_num_bytes = e->payload.size;
	pthread_mutex_unlock(&sd_lock);
	return e ? IPCZ_RESULT_OK : IPCZ_RESULT_INVALID_ARGUMENT;
}

static IpczResult IPCZ_API
sd_duplicate_shared_memory(IpczDriverHandle memory, uint32_t flags,
			   const void *opts, IpczDriverHandle *out)
{
	struct sd_entry *e;
	struct sd_payload p;
	IpczResult result = IPCZ_RESULT_INVALID_ARGUMENT;

	check_no_flags("DuplicateSharedMemory", flags, opts);
	if (!out) {
		violation("DuplicateSharedMemory: null output");
		return result;
	}
	pthread_mutex_lock(&sd_lock);
	e = lookup(memory, SD_MEMORY, "DuplicateSharedMemory");
	if (e) {
		p = e->payload;
		p.fd = dup(e->payload.fd);
		if (p.fd < 0) {
			result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
		} else {
			*out = issue(SD_MEMORY, &p);
			result = IPCZ_RESULT_OK;
		}
	}
	pthread_mutex_unlock(&sd_lock);
	return result;
}

static IpczResult IPCZ_API
sd_map_shared_memory(IpczDriverHandle memory, uint32_t flags,
		     const void *opts, volatile void **address,
		     IpczDriverHandle *mapping)
{
	struct sd_entry *e;
	struct sd_payload p = { .kind = SD_MAPPING };
	IpczResult result = IPCZ_RESULT_INVALID_ARGUMENT;

	check_no_flags("MapSharedMemory", flags, opts);
	if (!address || !mapping) {
		violation("MapSharedMemory: null output");
		return result;
	}
	pthread_mutex_lock(&sd_lock);
	e = lookup(memory, SD_MEMORY, "MapSharedMemory");
	if (e) {
		p.size = e->payload.size;
		p.address = mmap(NULL, p.size, PROT_READ | PROT_WRITE,
				 MAP_SHARED, e->payload.fd, 0);
		if (p.address == MAP_FAILED) {
			result = IPCZ_RESULT_RESOURCE_EXHAUSTED;
		} else {
			*address = p.address;
			*mapping = issue(SD_MAPPING, &p);
			result = IPCZ_RESULT_OK;
		}
	}
	pthread_mutex_unlock(&sd_lock);
	return result;
}

static IpczResult IPCZ_API sd_generate_random_bytes(size_t num_bytes,
						    uint32_t flags,
						    const void *opts,
						    void *buffer)
{
	static unsigned int seed = 1;
	size_t i;

	check_no_flags("GenerateRandomBytes", flags, opts);
	if (num_bytes && !buffer) {
		violation("GenerateRandomBytes: null buffer");
		return IPCZ_RESULT_INVALID_ARGUMENT;
	}
	pthread_mutex_lock(&sd_lock);
	for (i = 0; i < num_bytes; i++)
		((uint8_t *)buffer)[i] = (uint8_t)(rand_r(&seed) >> 7);
	pthread_mutex_unlock(&sd_lock);
	return IPCZ_RESULT_OK;
}

static const struct IpczDriver strict_driver = {
	.size = sizeof(struct IpczDriver),
	.Close = sd_close,
	.Serialize = sd_serialize,
	.Deserialize = sd_deserialize,
	.CreateTransports = sd_create_transports,
	.ActivateTransport = sd_activate_transport,
	.DeactivateTransport = sd_deactivate_transport,
	.Transmit = sd_transmit,
	.ReportBadTransportActivity = sd_report_bad_transport_activity,
	.AllocateSharedMemory = sd_allocate_shared_memory,
	.GetSharedMemoryInfo = sd_get_shared_memory_info,
	.DuplicateSharedMemory = sd_duplicate_shared_memory,
	.MapSharedMemory = sd_map_shared_memory,
	.GenerateRandomBytes = sd_generate_random_bytes,
};

const struct IpczDriver *sd_driver(void)
{
	return &strict_driver;
}

/* ---- test objects and helpers ---- */

IpczDriverHandle sd_object_new(uint64_t value, bool serializable)
{
	struct sd_payload p = { .kind = SD_OBJECT, .value = value,
				.serializable = serializable };
	IpczDriverHandle handle;

	pthread_mutex_lock(&sd_lock);
	handle = issue(SD_OBJECT, &p);
	pthread_mutex_unlock(&sd_lock);
	return handle;
}

bool sd_object_value(IpczDriverHandle object, uint64_t *value)
{
	struct sd_entry *e;

	pthread_mutex_lock(&sd_lock);
	e = entry_of(object);
	if (e && (e->state != SD_LIVE || e->kind != SD_OBJECT))
		e = NULL;
	if (e && value)
		*value = e->payload.value;
	pthread_mutex_unlock(&sd_lock);
	return e != NULL;
}

void sd_inject(IpczDriverHandle end, const void *data, size_t num_bytes,
	       bool with_object)
{
	struct sd_message *m = calloc(1, sizeof(*m));
	struct sd_payload p = { .kind = SD_OBJECT, .value = 0xbad,
				.serializable = true };
	struct sd_entry *e;

	if (!m)
		return;
	m->data = malloc(num_bytes ? num_bytes : 1);
	m->handles = calloc(1, sizeof(*m->handles));
	if (!m->data || !m->handles) {
		free(m->data);
		free(m->handles);
		free(m);
		return;
	}
	memcpy(m->data, data, num_bytes);
	m->num_bytes = num_bytes;
	pthread_mutex_lock(&sd_lock);
	if (with_object) {
		m->handles[0] = issue(SD_WIRE, &p);
		entry_of(m->handles[0])->state = SD_IN_MESSAGE;
		m->num_handles = 1;
	}
	e = entry_of(end);
	if (e && e->kind == SD_TRANSPORT)
		enqueue(e->payload.transport, m);
	else
		drop_message(m);
	pthread_mutex_unlock(&sd_lock);
}

/* sd_lock held. */
static void count_live(struct sd_stats *s)
{
	size_t i;

	s->live_objects = s->live_transports = 0;
	s->live_memory = s->live_mappings = 0;
	s->running_workers = stats.activations - stats.deactivated_delivered;
	for (i = 0; i < num_entries; i++) {
		const struct sd_entry *e = &entries[i];
		enum sd_kind kind = e->kind == SD_WIRE ? e->payload.kind :
							 e->kind;

		if (e->state != SD_LIVE && e->state != SD_IN_MESSAGE)
			continue;
		s->live_objects++;
		if (kind == SD_TRANSPORT)
			s->live_transports++;
		else if (kind == SD_MEMORY)
			s->live_memory++;
		else if (kind == SD_MAPPING)
			s->live_mappings++;
	}
}

struct sd_stats sd_stats(void)
{
	struct sd_stats s;

	pthread_mutex_lock(&sd_lock);
	s = stats;
	count_live(&s);
	pthread_mutex_unlock(&sd_lock);
	pthread_mutex_lock(&record_lock);
	s.violations = violation_count;
	pthread_mutex_unlock(&record_lock);
	return s;
}

/* sd_lock held: whether anything is still alive or running. */
static bool settled(void)
{
	struct sd_stats s = stats;

	count_live(&s);
	return s.live_objects == 0 &&
	       stats.activations == stats.deactivated_delivered;
}

size_t sd_finish(int timeout_ms)
{
	struct timespec deadline;
	size_t i, count;

	deadline_in(&deadline, timeout_ms);
	pthread_mutex_lock(&sd_lock);
	while (!settled()) {
		if (pthread_cond_timedwait(&sd_changed, &sd_lock,
					   &deadline) == ETIMEDOUT)
			break;
	}
	for (i = 0; i < num_entries; i++) {
		const struct sd_entry *e = &entries[i];
		IpczDriverHandle handle =
			((IpczDriverHandle)(i + 1) << 4) | SD_HANDLE_TAG;

		if (e->kind == SD_TRANSPORT && e->state == SD_LIVE &&
		    e->payload.transport->activated &&
		    !e->payload.transport->deactivate_requested &&
		    !e->payload.transport->deactivated)
			violation("end: transport %#lx still active "
				  "(DeactivateTransport never called)",
				  (unsigned long)handle);
		if (e->state == SD_LIVE || e->state == SD_IN_MESSAGE)
			violation("end: %s %#lx%s%s never closed (leaked)",
				  kind_names[e->kind], (unsigned long)handle,
				  e->kind == SD_WIRE ? " carrying a " : "",
				  e->kind == SD_WIRE ?
					  kind_names[e->payload.kind] : "");
	}
	pthread_mutex_unlock(&sd_lock);
	pthread_mutex_lock(&record_lock);
	count = violation_count;
	pthread_mutex_unlock(&record_lock);
	return count;
}
