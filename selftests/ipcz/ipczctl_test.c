// SPDX-License-Identifier: MIT
/*
 * ipczctl against the live module: creates nodes, transports, listeners and
 * regions, runs the tool (tables and -j JSON) and checks that it shows
 * them with the right counters. The tool is found through $IPCZCTL, then
 * $PATH (the VM installs it in /bin).
 */
#include "kselftest_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

#define OUTPUT_MAX (1 << 20)

/* Full path of ipczctl, or NULL if it cannot be found. */
static const char *ipczctl_path(void)
{
	static char found[4096];
	const char *env = getenv("IPCZCTL");
	const char *path = getenv("PATH");
	const char *p;

	if (env && *env)
		return env;
	if (!path)
		path = "/bin:/usr/bin:/usr/local/bin";
	for (p = path; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(found, sizeof(found), "%.*s/ipczctl", (int)len, p);
		if (len && access(found, X_OK) == 0)
			return found;
		p += len;
		if (*p == ':')
			p++;
	}
	return NULL;
}

struct run_result {
	int status;		/* exit status, 128 + signal, or -1 */
	char *out;		/* stdout, NUL-terminated */
	char *err;		/* stderr, NUL-terminated */
};

/* Reads all of fd into a new NUL-terminated buffer. */
static char *slurp(int fd)
{
	char *buf = malloc(OUTPUT_MAX + 1);
	size_t len = 0;
	ssize_t n;

	if (!buf)
		return NULL;
	while (len < OUTPUT_MAX) {
		n = read(fd, buf + len, OUTPUT_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/*
 * Runs ipczctl with the given arguments (NULL-terminated). stderr is read
 * after stdout: the tool writes little there, far below a pipe's capacity.
 */
static struct run_result run_ipczctl(const char *const *args)
{
	struct run_result r = { .status = -1 };
	const char *tool = ipczctl_path();
	const char *argv[16];
	int out[2], err[2], i;
	pid_t pid;

	if (!tool || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return r;
	argv[0] = tool;
	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	if (pid < 0)
		return r;
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(tool, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	r.out = slurp(out[0]);
	r.err = slurp(err[0]);
	close(out[0]);
	close(err[0]);
	r.status = wait_child_timeout(pid, 20000);
	return r;
}

static void run_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
}

/* Minimal JSON reading, enough for the tool's own output. */

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *skip_string(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p + 1 : NULL;
}

/* Returns the end of the JSON value at p, or NULL if it is malformed. */
static const char *skip_value(const char *p)
{
	p = skip_space(p);
	if (*p == '"')
		return skip_string(p);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = skip_space(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (*p != '"')
					return NULL;
				p = skip_space(skip_string(p));
				if (!p || *p != ':')
					return NULL;
				p++;
			}
			p = skip_value(p);
			if (!p)
				return NULL;
			p = skip_space(p);
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p = skip_space(p + 1);
		}
	}
	if (!*p || strchr(",}]:", *p))
		return NULL;
	while (*p && !strchr(",}]\n\t\r ", *p))
		p++;
	return p;
}

/* True if text is exactly one valid JSON value (and a final newline). */
static bool json_valid(const char *text)
{
	const char *end = skip_value(text);

	return end && *skip_space(end) == '\0';
}

/* Start of the value of member key in the object at obj, or NULL. */
static const char *json_member(const char *obj, const char *key)
{
	const char *p = skip_space(obj);
	size_t klen = strlen(key);

	if (*p != '{')
		return NULL;
	p = skip_space(p + 1);
	while (*p == '"') {
		const char *kend = skip_string(p);
		bool match;

		if (!kend)
			return NULL;
		match = (size_t)(kend - p - 2) == klen &&
			!strncmp(p + 1, key, klen);
		p = skip_space(kend);
		if (*p != ':')
			return NULL;
		p = skip_space(p + 1);
		if (match)
			return p;
		p = skip_space(skip_value(p));
		if (!p || *p != ',')
			return NULL;
		p = skip_space(p + 1);
	}
	return NULL;
}

static bool json_int(const char *obj, const char *key, long long *value)
{
	const char *v = json_member(obj, key);
	char *end;

	if (!v)
		return false;
	*value = strtoll(v, &end, 10);
	return end != v;
}

/*
 * Iterates over the objects of an array: *cursor starts at the array and
 * moves past each object returned; NULL at the end (or on bad input).
 */
static const char *json_next(const char **cursor)
{
	const char *p = skip_space(*cursor), *end;

	if (*p == '[' || *p == ',')
		p = skip_space(p + 1);
	if (*p != '{')
		return NULL;
	end = skip_value(p);
	if (!end)
		return NULL;
	*cursor = end;
	return p;
}

/* Counts the objects of the array at arr whose member key equals value. */
static int json_count(const char *arr, const char *key, long long value)
{
	const char *cur = arr, *obj;
	long long v;
	int n = 0;

	if (!arr)
		return -1;
	while ((obj = json_next(&cur)))
		if (json_int(obj, key, &v) && v == value)
			n++;
	return n;
}

/* The object of the array whose member key equals value, or NULL. */
static const char *json_find(const char *arr, const char *key,
			     long long value)
{
	const char *cur = arr, *obj;
	long long v;

	while ((obj = json_next(&cur)))
		if (json_int(obj, key, &v) && v == value)
			return obj;
	return NULL;
}

/* Runs ipczctl and requires success; the result is r. */
#define RUN_OK(r, ...) do { \
	static const char *const __args[] = { __VA_ARGS__, NULL }; \
	(r) = run_ipczctl(__args); \
	ASSERT_EQ(0, (r).status) \
		TH_LOG("ipczctl failed: %s", (r).err ? (r).err : "?"); \
	ASSERT_NE(NULL, (r).out); \
} while (0)

static long long node_id_of(int node)
{
	struct ipcz_node_info info;

	return dev_node_info(node, &info) ? -1 : (long long)info.node_id;
}

TEST_F(ipcz, tool_present)
{
	ASSERT_NE(NULL, ipczctl_path())
		TH_LOG("ipczctl not found in $IPCZCTL or $PATH");
}

TEST_F(ipcz, stats_match_live_objects)
{
	struct run_result r;
	long long live, transports;
	int t[2];

	ASSERT_EQ(0, dev_pair(self->node, t));
	RUN_OK(r, "-j", "stats");
	ASSERT_TRUE(json_valid(r.out)) TH_LOG("bad JSON: %s", r.out);
	ASSERT_TRUE(json_int(r.out, "live_objects", &live));
	/* Nothing else runs: the tool and the parameter must agree. */
	EXPECT_EQ(ipcz_live_objects(), live);
	ASSERT_TRUE(json_int(r.out, "transports", &transports));
	EXPECT_LE(2, transports);
	run_free(&r);
}

TEST_F(ipcz, nodes_listed)
{
	long long id = node_id_of(self->node), v;
	struct run_result r;
	const char *obj;

	ASSERT_LT(0, id);
	RUN_OK(r, "-j", "node");
	ASSERT_TRUE(json_valid(r.out)) TH_LOG("bad JSON: %s", r.out);
	obj = json_find(r.out, "id", id);
	ASSERT_NE(NULL, obj) TH_LOG("node %lld missing: %s", id, r.out);
	ASSERT_TRUE(json_int(obj, "pid", &v));
	EXPECT_EQ(getpid(), v);
	ASSERT_TRUE(json_int(obj, "uid", &v));
	EXPECT_EQ(getuid(), v);
	ASSERT_TRUE(json_int(obj, "open", &v));
	EXPECT_EQ(1, v);
	EXPECT_NE(NULL, json_member(obj, "limit_queue_bytes"));
	run_free(&r);
}

TEST_F(ipcz, transports_listed_with_counters)
{
	long long id = node_id_of(self->node), v, peer, rid;
	struct run_result r;
	const char *obj, *cur;
	int t[2], u[2], i, with_queue = 0;

	ASSERT_EQ(0, dev_pair(self->node, t));
	ASSERT_EQ(0, dev_pair(self->node, u));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, dev_send_str(t[0], "queued"));
	ASSERT_EQ(0, dev_ring(t[0]));
	RUN_OK(r, "-j", "transport");
	ASSERT_TRUE(json_valid(r.out)) TH_LOG("bad JSON: %s", r.out);
	EXPECT_EQ(4, json_count(r.out, "node", id));

	/* The receiving end of t: three messages, 18 bytes, one ring. */
	for (cur = r.out; (obj = json_next(&cur));) {
		if (!json_int(obj, "node", &v) || v != id ||
		    !json_int(obj, "queue_messages", &v) || v != 3)
			continue;
		with_queue++;
		EXPECT_TRUE(json_int(obj, "queue_bytes", &v));
		EXPECT_EQ(18, v);
		EXPECT_TRUE(json_int(obj, "rings", &v));
		EXPECT_EQ(1, v);
		EXPECT_TRUE(json_int(obj, "doorbell", &v));
		EXPECT_EQ(1, v);
		/* Its peer sent those three, and names it as its peer. */
		ASSERT_TRUE(json_int(obj, "peer", &peer));
		ASSERT_TRUE(json_int(obj, "id", &rid));
		obj = json_find(r.out, "id", peer);
		ASSERT_NE(NULL, obj);
		EXPECT_TRUE(json_int(obj, "sent_messages", &v));
		EXPECT_EQ(3, v);
		EXPECT_TRUE(json_int(obj, "peer", &v));
		EXPECT_EQ(rid, v);
	}
	EXPECT_EQ(1, with_queue);
	run_free(&r);
}

TEST_F(ipcz, peer_closed_shown)
{
	long long id = node_id_of(self->node), v;
	struct run_result r;
	const char *obj;
	int t[2];

	ASSERT_EQ(0, dev_pair(self->node, t));
	close(t[1]);
	RUN_OK(r, "-j", "transport");
	ASSERT_EQ(1, json_count(r.out, "node", id));
	obj = json_find(r.out, "node", id);
	ASSERT_NE(NULL, obj);
	ASSERT_TRUE(json_int(obj, "peer_closed", &v));
	EXPECT_EQ(1, v);
	run_free(&r);
}

TEST_F(ipcz, inflight_and_closed_node_shown)
{
	long long id, v, inflight;
	struct run_result r;
	const char *obj;
	int node2, t[2], u[2];

	/* u[0] waits inside a message queued to t[1]. */
	node2 = ipcz_open_node();
	ASSERT_LE(0, node2);
	id = node_id_of(node2);
	ASSERT_EQ(0, dev_pair(self->node, t));
	ASSERT_EQ(0, dev_pair(node2, u));
	ASSERT_EQ(0, dev_send(t[0], "u", 1, &u[0], 1));
	/* node2's fd closes; its transports keep it alive, shown closed. */
	close(node2);

	RUN_OK(r, "-j", "show");
	obj = json_find(json_member(r.out, "nodes"), "id", id);
	ASSERT_NE(NULL, obj);
	ASSERT_TRUE(json_int(obj, "open", &v));
	EXPECT_EQ(0, v);
	ASSERT_TRUE(json_int(obj, "transports", &v));
	EXPECT_EQ(2, v);
	EXPECT_EQ(1, json_count(json_member(r.out, "transports"), "inflight",
				1));
	ASSERT_TRUE(json_int(json_member(r.out, "stats"), "inflight",
			     &inflight));
	EXPECT_LE(1, inflight);
	run_free(&r);
}

TEST_F(ipcz, rendezvous_listed)
{
	char name[64], quoted[80];
	struct run_result r;
	int l;

	snprintf(name, sizeof(name), "st-ctl-%d", getpid());
	l = dev_listen(self->node, name, 0640, IPCZ_OWNER_SELF,
		       IPCZ_OWNER_SELF, 3);
	ASSERT_LE(0, l);
	ASSERT_LE(0, dev_connect(self->node, name));

	RUN_OK(r, "-j", "rendezvous");
	ASSERT_TRUE(json_valid(r.out)) TH_LOG("bad JSON: %s", r.out);
	snprintf(quoted, sizeof(quoted), "\"%s\"", name);
	ASSERT_NE(NULL, strstr(r.out, quoted)) TH_LOG("%s", r.out);
	EXPECT_EQ(1, json_count(r.out, "mode", 0640));
	EXPECT_EQ(1, json_count(r.out, "pending", 1));
	EXPECT_EQ(1, json_count(r.out, "backlog", 3));
	run_free(&r);

	/* The table shows the name and the mode in octal. */
	RUN_OK(r, "rendezvous");
	EXPECT_NE(NULL, strstr(r.out, name));
	EXPECT_NE(NULL, strstr(r.out, "0640"));
	EXPECT_NE(NULL, strstr(r.out, "NAME"));
	run_free(&r);
}

TEST_F(ipcz, rendezvous_names_escaped)
{
	struct run_result r;
	int l;

	l = dev_listen(self->node, "st-\"odd\\\x01\x1b[2J", 0600,
		       IPCZ_OWNER_SELF, IPCZ_OWNER_SELF, 1);
	ASSERT_LE(0, l);
	RUN_OK(r, "-j", "rendezvous");
	ASSERT_TRUE(json_valid(r.out)) TH_LOG("bad JSON: %s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\"st-\\\"odd\\\\\\u0001\\u001b[2J\""))
		TH_LOG("%s", r.out);
	run_free(&r);
	/* No raw escape sequence reaches a terminal. */
	RUN_OK(r, "rendezvous");
	EXPECT_EQ(NULL, strchr(r.out, '\x1b'));
	EXPECT_NE(NULL, strstr(r.out, "\\x1b[2J"));
	run_free(&r);
}

TEST_F(ipcz, regions_listed)
{
	struct ipcz_region_info info;
	long long v, id;
	struct run_result r;
	uint64_t len = 3 * 4096;
	const char *obj;
	int fd, ro;
	void *m;

	fd = dev_region_create(self->node, &len);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, dev_region_info(fd, &info));
	ro = dev_region_dup(fd, true);
	ASSERT_LE(0, ro);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);

	RUN_OK(r, "-j", "region");
	ASSERT_TRUE(json_valid(r.out)) TH_LOG("bad JSON: %s", r.out);
	id = (long long)info.id;
	obj = json_find(r.out, "id", id);
	ASSERT_NE(NULL, obj) TH_LOG("region %lld missing: %s", id, r.out);
	ASSERT_TRUE(json_int(obj, "size", &v));
	EXPECT_EQ(3 * 4096, v);
	ASSERT_TRUE(json_int(obj, "handles", &v));
	EXPECT_EQ(2, v);
	ASSERT_TRUE(json_int(obj, "mappings", &v));
	EXPECT_EQ(1, v);
	ASSERT_TRUE(json_int(obj, "node", &v));
	EXPECT_EQ(node_id_of(self->node), v);
	run_free(&r);
	munmap(m, len);
}

TEST_F(ipcz, show_everything)
{
	static const char *const keys[] = {
		"stats", "nodes", "transports", "rendezvous", "regions", NULL,
	};
	const char *const *key;
	struct run_result r;
	int t[2];

	ASSERT_EQ(0, dev_pair(self->node, t));
	RUN_OK(r, "-j");
	ASSERT_TRUE(json_valid(r.out)) TH_LOG("bad JSON: %s", r.out);
	for (key = keys; *key; key++) {
		const char *name = *key;

		if (!json_member(r.out, name)) {
			TH_LOG("no \"%s\" in the output", name);
			_metadata->passed = 0;
		}
	}
	EXPECT_EQ(2, json_count(json_member(r.out, "transports"), "node",
				node_id_of(self->node)));
	run_free(&r);

	/* Pretty JSON is the same JSON. */
	RUN_OK(r, "-j", "-p", "show");
	ASSERT_TRUE(json_valid(r.out)) TH_LOG("bad JSON: %s", r.out);
	EXPECT_NE(NULL, strchr(r.out, '\n'));
	EXPECT_EQ(2, json_count(json_member(r.out, "transports"), "node",
				node_id_of(self->node)));
	run_free(&r);

	/* Tables, with the details. */
	RUN_OK(r, "-d");
	EXPECT_NE(NULL, strstr(r.out, "transports:"));
	EXPECT_NE(NULL, strstr(r.out, "LIMIT_QUEUE_BYTES"));
	run_free(&r);
}

TEST_F(ipcz, long_dump)
{
	enum { PAIRS = 400 };
	long long id = node_id_of(self->node);
	struct run_result r;
	int t[2], i;

	/* Hundreds of transports take a dump of many netlink messages. */
	for (i = 0; i < PAIRS; i++)
		ASSERT_EQ(0, dev_pair(self->node, t));
	RUN_OK(r, "-j", "transport");
	ASSERT_TRUE(json_valid(r.out));
	EXPECT_EQ(2 * PAIRS, json_count(r.out, "node", id));
	run_free(&r);
	RUN_OK(r, "-j", "node");
	EXPECT_EQ(1, json_count(r.out, "transports", 2 * PAIRS));
	run_free(&r);
}

TEST_F(ipcz, text_tables)
{
	struct run_result r;
	int t[2], lines = 0;
	const char *p;

	ASSERT_EQ(0, dev_pair(self->node, t));
	RUN_OK(r, "transport", "show");
	ASSERT_EQ(0, strncmp(r.out, "ID", 2)) TH_LOG("%s", r.out);
	for (p = r.out; (p = strchr(p, '\n')); p++)
		lines++;
	/* A header and at least our two ends. */
	EXPECT_LE(3, lines);
	run_free(&r);
}

TEST_F(ipcz, bad_usage)
{
	static const char *const bogus[] = { "bogus", NULL };
	static const char *const extra[] = { "node", "extra", NULL };
	static const char *const badopt[] = { "-Z", NULL };
	struct run_result r;

	r = run_ipczctl(bogus);
	EXPECT_EQ(2, r.status);
	EXPECT_NE(NULL, strstr(r.err, "unknown object"));
	run_free(&r);
	r = run_ipczctl(extra);
	EXPECT_EQ(2, r.status);
	run_free(&r);
	r = run_ipczctl(badopt);
	EXPECT_EQ(2, r.status);
	run_free(&r);
}

TEST_HARNESS_MAIN
