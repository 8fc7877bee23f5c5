// SPDX-License-Identifier: GPL-2.0
/*
 * The collector of transports that only reference each other.
 *
 * A transport's file can sit inside messages queued to transports,
 * including to itself or its peer. When userspace closes every fd, such a
 * cycle keeps its own files alive. As for AF_UNIX sockets, every transport
 * counts how many queued messages hold its file ("in flight"); one whose
 * file count equals that number is reachable only through queues. Among
 * those candidates, the references found in candidates' own queues are
 * subtracted; a candidate with references left is held from outside, and so
 * is everything in its queue, transitively. The candidates not reached that
 * way are garbage: their queues are emptied, which drops the last
 * references of the cycle.
 *
 * Ordering rules that keep the counts conservative: a message takes its
 * file reference before counting the transport in flight, and uncounts it
 * before dropping (or handing over) the reference, so a transport never
 * looks less referenced than it is. Counting happens when a message is
 * built, before it is queued, and under ipcz_gc_lock, which the collector
 * holds for its whole marking: no message holding a candidate can be
 * queued unseen while it marks.
 *
 * Lock order: ipcz_gc_mutex, ipcz_gc_lock, pair->lock.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/workqueue.h>

#include "internal.h"

enum ipcz_gc_state {
	IPCZ_GC_IDLE,
	IPCZ_GC_CANDIDATE,
	IPCZ_GC_REACHABLE,
};

static DEFINE_MUTEX(ipcz_gc_mutex);
static DEFINE_SPINLOCK(ipcz_gc_lock);
static LIST_HEAD(ipcz_gc_inflight);
static unsigned long ipcz_gc_inflight_total;
static u64 ipcz_gc_run_count;
static u64 ipcz_gc_collected_count;

void ipcz_gc_inflight_add(struct ipcz_transport *t)
{
	spin_lock(&ipcz_gc_lock);
	if (!t->inflight++)
		list_add_tail(&t->gc_entry, &ipcz_gc_inflight);
	WRITE_ONCE(ipcz_gc_inflight_total, ipcz_gc_inflight_total + 1);
	spin_unlock(&ipcz_gc_lock);
}

void ipcz_gc_inflight_remove(struct ipcz_transport *t)
{
	spin_lock(&ipcz_gc_lock);
	if (!WARN_ON_ONCE(!t->inflight) && !--t->inflight)
		list_del_init(&t->gc_entry);
	WRITE_ONCE(ipcz_gc_inflight_total, ipcz_gc_inflight_total - 1);
	spin_unlock(&ipcz_gc_lock);
}

/* Calls fn for every transport whose file is queued to t. */
static void ipcz_gc_scan(struct ipcz_transport *t,
			 void (*fn)(struct ipcz_transport *held,
				    struct list_head *reachable),
			 struct list_head *reachable)
{
	struct ipcz_message *msg;
	u32 i;

	spin_lock(&t->pair->lock);
	list_for_each_entry(msg, &t->queue.messages, entry) {
		for (i = 0; i < msg->nfds; i++) {
			struct file *file = msg->descs[i].file;

			if (msg->descs[i].type == IPCZ_FD_TYPE_TRANSPORT)
				fn(file->private_data, reachable);
		}
	}
	spin_unlock(&t->pair->lock);
}

static void ipcz_gc_unref(struct ipcz_transport *held,
			  struct list_head *reachable)
{
	if (held->gc_state == IPCZ_GC_CANDIDATE)
		held->gc_refs--;
}

static void ipcz_gc_reach(struct ipcz_transport *held,
			  struct list_head *reachable)
{
	if (held->gc_state == IPCZ_GC_CANDIDATE) {
		held->gc_state = IPCZ_GC_REACHABLE;
		list_move_tail(&held->gc_entry, reachable);
	}
}

/* Moves the in-flight transports referenced only from queues. */
static void ipcz_gc_find_candidates(struct file *closing,
				    struct list_head *candidates)
{
	struct ipcz_transport *t, *next;

	list_for_each_entry_safe(t, next, &ipcz_gc_inflight, gc_entry) {
		long refs = file_count(t->file);

		/* The fd being closed still holds the reference it drops. */
		if (t->file == closing)
			refs--;
		if (refs != t->inflight)
			continue;
		t->gc_refs = refs;
		t->gc_state = IPCZ_GC_CANDIDATE;
		list_move_tail(&t->gc_entry, candidates);
	}
}

static void ipcz_gc_mark(struct list_head *candidates,
			 struct list_head *reachable)
{
	struct ipcz_transport *t, *next;

	list_for_each_entry(t, candidates, gc_entry)
		ipcz_gc_scan(t, ipcz_gc_unref, NULL);
	list_for_each_entry_safe(t, next, candidates, gc_entry) {
		if (t->gc_refs > 0) {
			t->gc_state = IPCZ_GC_REACHABLE;
			list_move_tail(&t->gc_entry, reachable);
		}
	}
	/* Entries appended while walking are walked too. */
	list_for_each_entry(t, reachable, gc_entry)
		ipcz_gc_scan(t, ipcz_gc_reach, reachable);
}

static void ipcz_gc_return(struct list_head *list)
{
	struct ipcz_transport *t;

	list_for_each_entry(t, list, gc_entry)
		t->gc_state = IPCZ_GC_IDLE;
	list_splice_tail_init(list, &ipcz_gc_inflight);
}

/*
 * Collects unreachable cycles. closing is a transport file whose fd is
 * being closed (from ->flush), or NULL.
 */
void ipcz_gc_run(struct file *closing)
{
	LIST_HEAD(candidates);
	LIST_HEAD(reachable);
	LIST_HEAD(purged);
	struct ipcz_transport *t;
	u64 collected = 0;

	if (!READ_ONCE(ipcz_gc_inflight_total))
		return;
	mutex_lock(&ipcz_gc_mutex);
	spin_lock(&ipcz_gc_lock);
	ipcz_gc_find_candidates(closing, &candidates);
	ipcz_gc_mark(&candidates, &reachable);
	list_for_each_entry(t, &candidates, gc_entry) {
		ipcz_transport_purge(t, &purged);
		collected++;
	}
	ipcz_gc_return(&candidates);
	ipcz_gc_return(&reachable);
	ipcz_gc_run_count++;
	ipcz_gc_collected_count += collected;
	spin_unlock(&ipcz_gc_lock);

	/* Drops the cycles' references; their files are released later. */
	ipcz_message_free_list(&purged);
	mutex_unlock(&ipcz_gc_mutex);
}

static void ipcz_gc_settle_work(struct work_struct *work)
{
	u64 before;
	int round;

	/*
	 * In a kernel thread, dropped files are released by a delayed work;
	 * flushing it makes the collected objects really gone. A release can
	 * drop further files (a transport's queue), and those releases more,
	 * so flush a few rounds, and more while the collector finds work.
	 */
	for (round = 0; round < 16; round++) {
		before = ipcz_gc_collected();
		ipcz_gc_run(NULL);
		flush_delayed_fput();
		if (round >= 3 && ipcz_gc_collected() == before)
			break;
	}
}

static DECLARE_WORK(ipcz_gc_work, ipcz_gc_settle_work);

/*
 * Collects and waits until what was collected is freed, so that counts
 * read right after are exact.
 */
void ipcz_gc_settle(void)
{
	queue_work(system_unbound_wq, &ipcz_gc_work);
	flush_work(&ipcz_gc_work);
}

void ipcz_gc_exit(void)
{
	cancel_work_sync(&ipcz_gc_work);
}

/* One of the collector's statistics, read under its lock. */
static u64 ipcz_gc_read(const u64 *counter)
{
	u64 value;

	spin_lock(&ipcz_gc_lock);
	value = *counter;
	spin_unlock(&ipcz_gc_lock);
	return value;
}

u64 ipcz_gc_runs(void)
{
	return ipcz_gc_read(&ipcz_gc_run_count);
}

u64 ipcz_gc_collected(void)
{
	return ipcz_gc_read(&ipcz_gc_collected_count);
}

unsigned long ipcz_gc_total_inflight(void)
{
	return READ_ONCE(ipcz_gc_inflight_total);
}
