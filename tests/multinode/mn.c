// SPDX-License-Identifier: MIT
/*
 * The multi-node test runner: creates a test's nodes and transports and
 * runs its roles as coroutines, threads or processes (see mn.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "ipcz/introspect.h"
#include "tests/multinode/mn.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#define MN_ASAN 1
#else
#define MN_ASAN 0
#endif

struct IpczAPI ipcz = { .size = sizeof(ipcz) };

/*
 * Set when any role of the running test fails, in memory that forked
 * children share, so that the other roles stop waiting at once instead of
 * running into their own deadlines.
 */
static atomic_int *test_failed;

int64_t mn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mn_timeout_ms(void)
{
	const char *env = getenv("MN_TIMEOUT_MS");
	int value = env ? atoi(env) : 0;

	return value > 0 ? value : mn_variant.timeout_ms;
}

const struct IpczDriver *mn_driver(void)
{
	return mn_variant.driver();
}

void mn_fail_at(struct mn_ctx *ctx, const char *file, int line,
		const char *fmt, ...)
{
	char message[512];
	va_list args;

	va_start(args, fmt);
	vsnprintf(message, sizeof(message), fmt, args);
	va_end(args);
	ctx->failed = true;
	if (test_failed)
		atomic_store(test_failed, 1);
	fprintf(stderr, "# [%s] node %s: %s:%d: %s\n", mn_variant.name,
		ctx->name, file, line, message);
	fflush(stderr);
}

const char *mn_result_name(IpczResult result)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED",
	};

	if (result >= 0 && (size_t)result < sizeof(names) / sizeof(names[0]))
		return names[result];
	return "(not a result)";
}

bool mn_expect_result_at(struct mn_ctx *ctx, const char *file, int line,
			 IpczResult expected, IpczResult got,
			 const char *what)
{
	if (expected == got)
		return true;
	mn_fail_at(ctx, file, line, "%s: expected %s, got %s", what,
		   mn_result_name(expected), mn_result_name(got));
	return false;
}

/* Coroutines: every role of a test on its own stack, in one thread. */

#define MN_STACK_SIZE (1024 * 1024)

struct mn_coroutine {
	ucontext_t context;
	void *stack;
	bool done;
	void *fake_stack;	/* ASan's fake stack while switched away */
	struct mn_ctx *ctx;
};

static ucontext_t scheduler_context;
static struct mn_coroutine *current_coroutine;
static const void *scheduler_stack_bottom;
static size_t scheduler_stack_size;

static void switch_begin(void **fake_stack, const void *bottom, size_t size)
{
#if MN_ASAN
	__sanitizer_start_switch_fiber(fake_stack, bottom, size);
#else
	(void)fake_stack;
	(void)bottom;
	(void)size;
#endif
}

static void switch_end(void *fake_stack, const void **bottom, size_t *size)
{
#if MN_ASAN
	__sanitizer_finish_switch_fiber(fake_stack, bottom, size);
#else
	(void)fake_stack;
	(void)bottom;
	(void)size;
#endif
}

static void coroutine_main(void)
{
	struct mn_coroutine *self = current_coroutine;

	switch_end(NULL, &scheduler_stack_bottom, &scheduler_stack_size);
	self->ctx->runner = self;
	self->ctx->test->nodes[self->ctx->index].role(self->ctx);
	self->done = true;
	/* A finished coroutine's fake stack goes away with it. */
	switch_begin(NULL, scheduler_stack_bottom, scheduler_stack_size);
	setcontext(&scheduler_context);
}

static void coroutine_yield(struct mn_coroutine *self)
{
	switch_begin(&self->fake_stack, scheduler_stack_bottom,
		     scheduler_stack_size);
	swapcontext(&self->context, &scheduler_context);
	switch_end(self->fake_stack, &scheduler_stack_bottom,
		   &scheduler_stack_size);
}

static void coroutine_resume(struct mn_coroutine *co)
{
	void *fake_stack = NULL;

	current_coroutine = co;
	switch_begin(&fake_stack, co->stack, MN_STACK_SIZE);
	swapcontext(&scheduler_context, &co->context);
	switch_end(fake_stack, NULL, NULL);
	current_coroutine = NULL;
}

static bool run_coroutines(struct mn_ctx *ctxs, int count)
{
	struct mn_coroutine cos[MN_MAX_NODES];
	volatile int running = count;
	int i;

	memset(cos, 0, sizeof(cos));
	for (i = 0; i < count; i++) {
		cos[i].ctx = &ctxs[i];
		cos[i].stack = mmap(NULL, MN_STACK_SIZE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
				    -1, 0);
		if (cos[i].stack == MAP_FAILED) {
			fprintf(stderr, "# no memory for a coroutine stack\n");
			while (i--)
				munmap(cos[i].stack, MN_STACK_SIZE);
			return false;
		}
		getcontext(&cos[i].context);
		cos[i].context.uc_stack.ss_sp = cos[i].stack;
		cos[i].context.uc_stack.ss_size = MN_STACK_SIZE;
		cos[i].context.uc_link = NULL;
		makecontext(&cos[i].context, coroutine_main, 0);
	}
	/* Round robin, in node order, until every role has returned. */
	while (running > 0) {
		for (i = 0; i < count; i++) {
			if (cos[i].done)
				continue;
			coroutine_resume(&cos[i]);
			if (cos[i].done)
				running--;
		}
	}
	for (i = 0; i < count; i++)
		munmap(cos[i].stack, MN_STACK_SIZE);
	return true;
}

/* Threads: each role on its own thread. */

static void *thread_main(void *arg)
{
	struct mn_ctx *ctx = arg;

	ctx->test->nodes[ctx->index].role(ctx);
	return NULL;
}

static bool run_threads(struct mn_ctx *ctxs, int count)
{
	pthread_t threads[MN_MAX_NODES];
	int i, started;

	for (started = 0; started < count; started++) {
		if (pthread_create(&threads[started], NULL, thread_main,
				   &ctxs[started]) != 0) {
			fprintf(stderr, "# cannot start a role's thread\n");
			break;
		}
	}
	/* Every wait of a role is bounded, so every role ends. */
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	return started == count;
}

/* The in-process variants: all nodes in this process. */

static bool create_nodes(struct mn_ctx *ctxs, const struct mn_test *test)
{
	int i;

	for (i = 0; i < test->num_nodes; i++) {
		IpczCreateNodeFlags flags = test->nodes[i].broker ?
			IPCZ_CREATE_NODE_AS_BROKER : IPCZ_NO_FLAGS;
		IpczResult result = ipcz.CreateNode(mn_driver(), flags, NULL,
						    &ctxs[i].node);

		if (result != IPCZ_RESULT_OK) {
			fprintf(stderr, "# CreateNode: %s\n",
				mn_result_name(result));
			return false;
		}
	}
	return true;
}

static bool create_local_transports(struct mn_ctx *ctxs,
				    const struct mn_test *test)
{
	const struct IpczDriver *driver = mn_driver();
	int i;

	for (i = 0; i < test->num_links; i++) {
		const struct mn_link_spec *link = &test->links[i];
		IpczResult result = driver->CreateTransports(
			IPCZ_INVALID_DRIVER_HANDLE, IPCZ_INVALID_DRIVER_HANDLE,
			IPCZ_NO_FLAGS, NULL, &ctxs[link->a].transports[i],
			&ctxs[link->b].transports[i]);

		if (result != IPCZ_RESULT_OK) {
			fprintf(stderr, "# CreateTransports: %s\n",
				mn_result_name(result));
			return false;
		}
	}
	return true;
}

/* Whatever a role did not hand to its node, and the node itself. */
static void release_node(struct mn_ctx *ctx)
{
	int i;

	for (i = 0; i < MN_MAX_LINKS; i++) {
		if (ctx->transports[i] != IPCZ_INVALID_DRIVER_HANDLE &&
		    !ctx->transport_consumed[i])
			mn_driver()->Close(ctx->transports[i], IPCZ_NO_FLAGS,
					   NULL);
		ctx->transports[i] = IPCZ_INVALID_DRIVER_HANDLE;
		if (ctx->fds[i] >= 0)
			close(ctx->fds[i]);
		ctx->fds[i] = -1;
	}
	if (ctx->node != IPCZ_INVALID_HANDLE)
		ipcz.Close(ctx->node, IPCZ_NO_FLAGS, NULL);
	ctx->node = IPCZ_INVALID_HANDLE;
}

static void init_ctx(struct mn_ctx *ctx, const struct mn_test *test, int i)
{
	int link;

	memset(ctx, 0, sizeof(*ctx));
	ctx->index = i;
	ctx->name = test->nodes[i].name;
	ctx->test = test;
	ctx->node = IPCZ_INVALID_HANDLE;
	for (link = 0; link < MN_MAX_LINKS; link++) {
		ctx->transports[link] = IPCZ_INVALID_DRIVER_HANDLE;
		ctx->fds[link] = -1;
	}
}

/*
 * With every node closed nothing of the test may remain. The harness ends
 * each test with _exit(), which skips LeakSanitizer's check at exit, so
 * the in-process variants ask for one here (the processes variants get it
 * when each child exits).
 */
static bool no_leaks(void)
{
#if MN_ASAN
	if (__lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "# [%s] LeakSanitizer found leaks (above)\n",
			mn_variant.name);
		return false;
	}
#endif
	return true;
}

static bool run_in_process(const struct mn_test *test)
{
	struct mn_ctx ctxs[MN_MAX_NODES];
	bool ok;
	int i;

	for (i = 0; i < test->num_nodes; i++)
		init_ctx(&ctxs[i], test, i);
	ok = create_nodes(ctxs, test) && create_local_transports(ctxs, test);
	if (ok && mn_variant.mode == MN_MODE_COROUTINES)
		ok = run_coroutines(ctxs, test->num_nodes);
	else if (ok)
		ok = run_threads(ctxs, test->num_nodes);
	for (i = 0; i < test->num_nodes; i++) {
		ok = ok && !ctxs[i].failed;
		release_node(&ctxs[i]);
	}
	return no_leaks() && ok;
}

/* The processes variants: one forked child per node. */

struct mn_child {
	pid_t pid;
	int report_fd;		/* parent reads the role's verdict here */
	int release_fd;		/* parent writes here when all are done */
	bool reported;
	char verdict;
};

static bool read_byte(int fd, char *byte, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return false;
	return read(fd, byte, 1) == 1;
}

/* In the child: run the role, report, wait for everyone, exit. */
static void __attribute__((noreturn))
child_main(struct mn_ctx *ctx, int report_fd, int release_fd)
{
	IpczCreateNodeFlags flags = ctx->test->nodes[ctx->index].broker ?
		IPCZ_CREATE_NODE_AS_BROKER : IPCZ_NO_FLAGS;
	IpczResult result;
	char verdict, release;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ctx->runner = &report_fd;
	result = ipcz.CreateNode(mn_driver(), flags, NULL, &ctx->node);
	if (result != IPCZ_RESULT_OK)
		MN_FAIL(ctx, "CreateNode: %s", mn_result_name(result));
	else
		ctx->test->nodes[ctx->index].role(ctx);
	verdict = ctx->failed ? 'F' : 'P';
	if (write(report_fd, &verdict, 1) != 1)
		_exit(2);
	/* Nodes stay up until every role is done: others may route via us. */
	if (!read_byte(release_fd, &release, 4 * mn_timeout_ms()))
		_exit(3);
	release_node(ctx);
	fflush(NULL);
	exit(ctx->failed ? 1 : 0);
}

void mn_die(struct mn_ctx *ctx)
{
	if (mn_variant.mode == MN_MODE_PROCESSES) {
		int report_fd = *(int *)ctx->runner;
		char verdict = ctx->failed ? 'F' : 'P';

		if (write(report_fd, &verdict, 1) != 1)
			_exit(2);
		fflush(NULL);
		kill(getpid(), SIGKILL);
		for (;;)
			pause();
	}
	ipcz.Close(ctx->node, IPCZ_NO_FLAGS, NULL);
	ctx->node = IPCZ_INVALID_HANDLE;
}

static bool make_link_fds(int fds[][2], const struct mn_test *test)
{
	int i, err;

	for (i = 0; i < test->num_links; i++) {
		err = mn_variant.pair_fds(fds[i]);
		if (err < 0) {
			fprintf(stderr, "# transport pair: %s\n",
				strerror(-err));
			while (i--) {
				close(fds[i][0]);
				close(fds[i][1]);
			}
			return false;
		}
	}
	return true;
}

static bool start_child(struct mn_child *child, struct mn_ctx *ctx,
			int link_fds[][2])
{
	int report[2], release[2], i;
	const struct mn_test *test = ctx->test;

	if (pipe2(report, O_CLOEXEC) < 0)
		return false;
	if (pipe2(release, O_CLOEXEC) < 0) {
		close(report[0]);
		close(report[1]);
		return false;
	}
	fflush(NULL);
	child->pid = fork();
	if (child->pid == 0) {
		close(report[0]);
		close(release[1]);
		for (i = 0; i < test->num_links; i++) {
			if (test->links[i].a == ctx->index)
				ctx->fds[i] = dup(link_fds[i][0]);
			else if (test->links[i].b == ctx->index)
				ctx->fds[i] = dup(link_fds[i][1]);
			close(link_fds[i][0]);
			close(link_fds[i][1]);
		}
		child_main(ctx, report[1], release[0]);
	}
	close(report[1]);
	close(release[0]);
	child->report_fd = report[0];
	child->release_fd = release[1];
	if (child->pid < 0) {
		close(report[0]);
		close(release[1]);
		return false;
	}
	return true;
}

/* Collects every child's verdict; a child that dies unreported fails. */
static bool collect_verdicts(struct mn_child *children, int count,
			     const struct mn_test *test)
{
	int64_t deadline = mn_now_ms() + 6 * (int64_t)mn_timeout_ms();
	int pending = count, i;
	bool ok = true;

	while (pending > 0) {
		struct pollfd pfds[MN_MAX_NODES];
		int64_t left = deadline - mn_now_ms();

		for (i = 0; i < count; i++) {
			pfds[i].fd = children[i].reported ? -1 :
						  children[i].report_fd;
			pfds[i].events = POLLIN;
		}
		if (left <= 0 || poll(pfds, count, (int)left) <= 0) {
			for (i = 0; i < count; i++)
				if (!children[i].reported)
					fprintf(stderr,
						"# [%s] node %s: never finished\n",
						mn_variant.name,
						test->nodes[i].name);
			return false;
		}
		for (i = 0; i < count; i++) {
			if (children[i].reported || !pfds[i].revents)
				continue;
			children[i].reported = true;
			pending--;
			if (read(children[i].report_fd, &children[i].verdict,
				 1) != 1) {
				fprintf(stderr, "# [%s] node %s: died\n",
					mn_variant.name, test->nodes[i].name);
				ok = false;
			} else if (children[i].verdict != 'P') {
				ok = false;
			}
		}
	}
	return ok;
}

/* Lets every child end, then reaps it; a bad exit status fails. */
static bool reap_children(struct mn_child *children, int count,
			  const struct mn_test *test)
{
	int64_t deadline = mn_now_ms() + mn_timeout_ms();
	bool ok = true;
	int i, status;

	for (i = 0; i < count; i++) {
		if (children[i].pid <= 0)
			continue;
		if (write(children[i].release_fd, "r", 1) != 1)
			(void)0;	/* already gone; reaped below */
	}
	for (i = 0; i < count; i++) {
		pid_t pid;

		if (children[i].pid <= 0)
			continue;
		while ((pid = waitpid(children[i].pid, &status, WNOHANG)) ==
		       0 && mn_now_ms() < deadline)
			usleep(1000);
		if (pid == 0) {
			kill(children[i].pid, SIGKILL);
			waitpid(children[i].pid, &status, 0);
			fprintf(stderr, "# [%s] node %s: did not exit\n",
				mn_variant.name, test->nodes[i].name);
			ok = false;
		} else if (WIFSIGNALED(status) &&
			   WTERMSIG(status) == SIGKILL &&
			   children[i].verdict == 'P') {
			/* mn_die(): killed on purpose after reporting. */
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
			   children[i].verdict == 'F') {
			/* The role's failure, already reported. */
			ok = false;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr,
				"# [%s] node %s: exit status 0x%x (a sanitizer report, or a crash while closing the node)\n",
				mn_variant.name, test->nodes[i].name, status);
			ok = false;
		}
		close(children[i].report_fd);
		close(children[i].release_fd);
	}
	return ok;
}

static bool run_processes(const struct mn_test *test)
{
	int link_fds[MN_MAX_LINKS][2];
	struct mn_child children[MN_MAX_NODES];
	struct mn_ctx ctx;
	int i, started;
	bool ok;

	/* A child that died must not kill us when we release it. */
	signal(SIGPIPE, SIG_IGN);
	if (!make_link_fds(link_fds, test))
		return false;
	memset(children, 0, sizeof(children));
	for (started = 0; started < test->num_nodes; started++) {
		init_ctx(&ctx, test, started);
		if (!start_child(&children[started], &ctx, link_fds))
			break;
	}
	for (i = 0; i < test->num_links; i++) {
		close(link_fds[i][0]);
		close(link_fds[i][1]);
	}
	ok = started == test->num_nodes &&
	     collect_verdicts(children, started, test);
	return reap_children(children, started, test) && ok;
}

bool mn_run(const struct mn_test *test)
{
	IpczResult result = IpczGetAPI(&ipcz);

	if (result != IPCZ_RESULT_OK) {
		fprintf(stderr, "# IpczGetAPI: %s\n", mn_result_name(result));
		return false;
	}
	if (test->num_nodes > MN_MAX_NODES || test->num_links > MN_MAX_LINKS)
		return false;
	if (!test_failed) {
		test_failed = mmap(NULL, sizeof(*test_failed),
				   PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (test_failed == MAP_FAILED) {
			test_failed = NULL;
			return false;
		}
	}
	atomic_store(test_failed, 0);
	if (mn_variant.mode == MN_MODE_PROCESSES)
		return run_processes(test);
	return run_in_process(test);
}

/*
 * Whether a wait should end early because another role already failed:
 * this role then fails too, quietly (the first failure said why).
 */
bool mn_other_failed(struct mn_ctx *ctx)
{
	if (!test_failed || !atomic_load(test_failed))
		return false;
	ctx->failed = true;
	return true;
}

/* Waiting. */

void mn_pause(struct mn_ctx *ctx)
{
	if (mn_variant.mode == MN_MODE_COROUTINES)
		coroutine_yield(ctx->runner);
	else
		sched_yield();
}

void mn_sleep_ms(struct mn_ctx *ctx, int ms)
{
	int64_t until = mn_now_ms() + ms;

	if (mn_variant.mode != MN_MODE_COROUTINES) {
		usleep(ms * 1000);
		return;
	}
	while (mn_now_ms() < until)
		coroutine_yield(ctx->runner);
}

/*
 * One step of a polling wait: other coroutines run, or this thread backs
 * off from yielding to short sleeps.
 */
static void wait_step(struct mn_ctx *ctx, int *round)
{
	if (mn_variant.mode == MN_MODE_COROUTINES) {
		coroutine_yield(ctx->runner);
		return;
	}
	if (++*round < 50)
		sched_yield();
	else
		usleep(*round < 200 ? 50 : 500);
}

IpczDriverHandle mn_transport(struct mn_ctx *ctx, int link)
{
	IpczResult result;

	if (link < 0 || link >= MN_MAX_LINKS)
		return IPCZ_INVALID_DRIVER_HANDLE;
	if (ctx->transports[link] == IPCZ_INVALID_DRIVER_HANDLE &&
	    ctx->fds[link] >= 0) {
		result = mn_variant.transport_from_fd(ctx->fds[link],
						      &ctx->transports[link]);
		ctx->fds[link] = -1;
		if (result != IPCZ_RESULT_OK)
			MN_FAIL(ctx, "adopting link %d: %s", link,
				mn_result_name(result));
	}
	return ctx->transports[link];
}

IpczResult mn_connect(struct mn_ctx *ctx, int link, size_t num_portals,
		      IpczConnectNodeFlags flags, IpczHandle *portals)
{
	IpczDriverHandle transport = mn_transport(ctx, link);
	IpczResult result;

	if (ctx->transport_consumed[link])
		return IPCZ_RESULT_FAILED_PRECONDITION;
	result = ipcz.ConnectNode(ctx->node, transport, num_portals, flags,
				  NULL, portals);
	if (result == IPCZ_RESULT_OK)
		ctx->transport_consumed[link] = true;
	return result;
}

void mn_close(struct mn_ctx *ctx, IpczHandle handle)
{
	IpczResult result = ipcz.Close(handle, IPCZ_NO_FLAGS, NULL);

	MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "Close");
}

struct IpczPortalStatus mn_status(IpczHandle portal)
{
	struct IpczPortalStatus status = { .size = sizeof(status) };

	if (ipcz.QueryPortalStatus(portal, IPCZ_NO_FLAGS, NULL, &status) !=
	    IPCZ_RESULT_OK)
		memset(&status, 0, sizeof(status));
	return status;
}

IpczResult mn_wait_parcel(struct mn_ctx *ctx, IpczHandle portal,
			  const char *what)
{
	int64_t deadline = mn_now_ms() + mn_timeout_ms();
	int round = 0;

	for (;;) {
		struct IpczPortalStatus status = mn_status(portal);

		if (status.num_local_parcels > 0)
			return IPCZ_RESULT_OK;
		if (status.flags & IPCZ_PORTAL_STATUS_DEAD)
			return IPCZ_RESULT_NOT_FOUND;
		if (status.size == 0) {
			MN_FAIL(ctx, "%s: not a portal", what);
			return IPCZ_RESULT_INVALID_ARGUMENT;
		}
		if (mn_other_failed(ctx))
			return IPCZ_RESULT_DEADLINE_EXCEEDED;
		if (mn_now_ms() > deadline) {
			MN_FAIL(ctx, "%s: no parcel within %d ms", what,
				mn_timeout_ms());
			return IPCZ_RESULT_DEADLINE_EXCEEDED;
		}
		wait_step(ctx, &round);
	}
}

bool mn_wait_status(struct mn_ctx *ctx, IpczHandle portal,
		    IpczPortalStatusFlags flags, const char *what)
{
	int64_t deadline = mn_now_ms() + mn_timeout_ms();
	int round = 0;

	for (;;) {
		struct IpczPortalStatus status = mn_status(portal);

		if ((status.flags & flags) == flags && status.size)
			return true;
		if (mn_other_failed(ctx))
			return false;
		if (mn_now_ms() > deadline) {
			MN_FAIL(ctx,
				"%s: status flags 0x%x, waited %d ms for 0x%x",
				what, status.flags, mn_timeout_ms(), flags);
			return false;
		}
		wait_step(ctx, &round);
	}
}

int mn_wait_any(struct mn_ctx *ctx, const IpczHandle *portals, int count,
		const char *what)
{
	int64_t deadline = mn_now_ms() + mn_timeout_ms();
	int round = 0, i;

	for (;;) {
		for (i = 0; i < count; i++)
			if (mn_status(portals[i]).num_local_parcels > 0)
				return i;
		if (mn_other_failed(ctx))
			return -1;
		if (mn_now_ms() > deadline) {
			MN_FAIL(ctx, "%s: no parcel on any of %d portals within %d ms",
				what, count, mn_timeout_ms());
			return -1;
		}
		wait_step(ctx, &round);
	}
}

void mn_drop_transport(struct mn_ctx *ctx, int link)
{
	IpczDriverHandle transport = mn_transport(ctx, link);

	if (transport == IPCZ_INVALID_DRIVER_HANDLE ||
	    ctx->transport_consumed[link])
		return;
	mn_driver()->Close(transport, IPCZ_NO_FLAGS, NULL);
	ctx->transport_consumed[link] = true;
}

IpczResult mn_get(struct mn_ctx *ctx, IpczHandle portal, void *data,
		  size_t *num_bytes, IpczHandle *handles,
		  size_t *num_handles, const char *what)
{
	IpczResult result = mn_wait_parcel(ctx, portal, what);

	if (result != IPCZ_RESULT_OK)
		return result;
	return ipcz.Get(portal, IPCZ_NO_FLAGS, NULL, data, num_bytes, handles,
			num_handles, NULL);
}

IpczResult mn_put_str(IpczHandle portal, const char *text,
		      const IpczHandle *handles, size_t num_handles)
{
	return ipcz.Put(portal, text, strlen(text), handles, num_handles,
			IPCZ_NO_FLAGS, NULL);
}

bool mn_expect_str(struct mn_ctx *ctx, IpczHandle portal, const char *text,
		   IpczHandle *handles, size_t num_handles)
{
	char buffer[256];
	IpczHandle got[8];
	size_t num_bytes = sizeof(buffer) - 1;
	size_t got_handles = 8, i;
	IpczResult result = mn_get(ctx, portal, buffer, &num_bytes, got,
				   &got_handles, text);

	if (result == IPCZ_RESULT_DEADLINE_EXCEEDED)
		return false;
	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, text))
		return false;
	buffer[num_bytes] = '\0';
	if (strcmp(buffer, text) != 0 || got_handles != num_handles) {
		MN_FAIL(ctx, "expected \"%s\" with %zu handles, got \"%s\" with %zu",
			text, num_handles, buffer, got_handles);
		for (i = 0; i < got_handles; i++)
			ipcz.Close(got[i], IPCZ_NO_FLAGS, NULL);
		return false;
	}
	for (i = 0; i < got_handles; i++)
		handles[i] = got[i];
	return true;
}

IpczResult mn_put_u32(IpczHandle portal, uint32_t value)
{
	return ipcz.Put(portal, &value, sizeof(value), NULL, 0, IPCZ_NO_FLAGS,
			NULL);
}

bool mn_get_u32(struct mn_ctx *ctx, IpczHandle portal, uint32_t *value,
		const char *what)
{
	size_t num_bytes = sizeof(*value), num_handles = 0;
	IpczResult result = mn_get(ctx, portal, value, &num_bytes, NULL,
				   &num_handles, what);

	if (result == IPCZ_RESULT_DEADLINE_EXCEEDED)
		return false;
	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, what))
		return false;
	if (num_bytes != sizeof(*value)) {
		MN_FAIL(ctx, "%s: a parcel of %zu bytes", what, num_bytes);
		return false;
	}
	return true;
}

bool mn_ping(struct mn_ctx *ctx, IpczHandle portal)
{
	IpczResult result = mn_put_str(portal, "ping", NULL, 0);

	if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK, result, "Put(ping)"))
		return false;
	return mn_expect_str(ctx, portal, "pong", NULL, 0);
}

bool mn_pong(struct mn_ctx *ctx, IpczHandle portal)
{
	if (!mn_expect_str(ctx, portal, "ping", NULL, 0))
		return false;
	return MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				mn_put_str(portal, "pong", NULL, 0),
				"Put(pong)");
}

/*
 * Reduction checks give up at a quarter of the usual deadline: so that
 * they, not the other roles waiting on them, report the failure, and
 * because a route that is reduced at all is reduced within a few round
 * trips.
 */
static int reduction_timeout_ms(void)
{
	return mn_timeout_ms() / 4;
}

bool mn_wait_direct(struct mn_ctx *ctx, IpczHandle portal, bool remote,
		    const char *what)
{
	const uint32_t want = IPCZ_ROUTE_DIRECT |
		(remote ? IPCZ_ROUTE_PEER_REMOTE : IPCZ_ROUTE_PEER_LOCAL);
	int64_t deadline = mn_now_ms() + reduction_timeout_ms();
	struct ipcz_portal_route_info info;
	IpczResult result;
	int round = 0;

	for (;;) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		result = ipcz_introspect_portal(portal, &info);
		if (result != IPCZ_RESULT_OK) {
			MN_FAIL(ctx, "%s: ipcz_introspect_portal: %s", what,
				mn_result_name(result));
			return false;
		}
		if ((info.flags & want) == want && info.known_proxies == 0)
			return true;
		if (mn_other_failed(ctx))
			return false;
		if (mn_now_ms() > deadline) {
			MN_FAIL(ctx,
				"%s: route not direct to a %s peer within %d ms (flags 0x%x, %u proxies known)",
				what, remote ? "remote" : "local",
				reduction_timeout_ms(), info.flags,
				info.known_proxies);
			return false;
		}
		wait_step(ctx, &round);
	}
}

bool mn_wait_no_proxies(struct mn_ctx *ctx, const char *what)
{
	int64_t deadline = mn_now_ms() + reduction_timeout_ms();
	struct ipcz_node_info info;
	IpczResult result;
	int round = 0;

	for (;;) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		result = ipcz_introspect_node(ctx->node, &info);
		if (result != IPCZ_RESULT_OK) {
			MN_FAIL(ctx, "%s: ipcz_introspect_node: %s", what,
				mn_result_name(result));
			return false;
		}
		if (info.proxies == 0)
			return true;
		if (mn_other_failed(ctx))
			return false;
		if (mn_now_ms() > deadline) {
			MN_FAIL(ctx,
				"%s: %llu proxies left on this node after %d ms (%llu linked routers)",
				what, (unsigned long long)info.proxies,
				reduction_timeout_ms(),
				(unsigned long long)info.linked_routers);
			return false;
		}
		wait_step(ctx, &round);
	}
}

bool mn_connect_client(struct mn_ctx *ctx, int link, IpczHandle *portal)
{
	return MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				mn_connect(ctx, link, 1,
					   IPCZ_CONNECT_NODE_TO_BROKER,
					   portal),
				"client ConnectNode");
}

bool mn_connect_broker(struct mn_ctx *ctx, int num_links,
		       IpczHandle *portals)
{
	for (int i = 0; i < num_links; i++) {
		if (!MN_EXPECT_RESULT(ctx, IPCZ_RESULT_OK,
				      mn_connect(ctx, i, 1, IPCZ_NO_FLAGS,
						 &portals[i]),
				      "broker ConnectNode"))
			return false;
	}
	return true;
}

void mn_client_finish(struct mn_ctx *ctx, IpczHandle broker)
{
	mn_put_str(broker, "done", NULL, 0);
	mn_wait_status(ctx, broker, IPCZ_PORTAL_STATUS_DEAD, "broker closed");
	mn_close(ctx, broker);
}

void mn_broker_finish(struct mn_ctx *ctx, IpczHandle *portals, int n)
{
	for (int i = 0; i < n; i++)
		mn_expect_str(ctx, portals[i], "done", NULL, 0);
	for (int i = 0; i < n; i++)
		mn_close(ctx, portals[i]);
}
