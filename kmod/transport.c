// SPDX-License-Identifier: GPL-2.0
/*
 * A transport: one end of an entangled pair, as an anon-inode fd.
 *
 * Each end owns the queue of messages its peer sent it, bounded by limits
 * fixed when the end was created, a doorbell (a count of rings that reads
 * as a single readiness event) and the credentials of its peer. The pair's
 * spinlock covers both ends' queues, doorbells and the link between them;
 * an end leaves the pair when its file is released, and the peer sees the
 * closure as EPOLLHUP and EPIPE on send.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "internal.h"

static const struct file_operations ipcz_transport_fops;

struct ipcz_transport *ipcz_transport_from_file(const struct file *file)
{
	if (file->f_op != &ipcz_transport_fops)
		return NULL;
	return file->private_data;
}

static struct ipcz_transport *
ipcz_transport_alloc(struct ipcz_node *node,
		     const struct ipcz_creds *peer_creds)
{
	struct ipcz_node_limits limits;
	struct ipcz_transport *t;
	int err;

	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return ERR_PTR(-ENOMEM);
	err = ipcz_node_charge_transport(node);
	if (err) {
		kfree(t);
		return ERR_PTR(err);
	}
	ipcz_node_get_limits(node, &limits);
	t->node = ipcz_node_get(node);
	ipcz_creds_copy(&t->peer_creds, peer_creds);
	init_waitqueue_head(&t->wait);
	mutex_init(&t->recv_mutex);
	INIT_LIST_HEAD(&t->queue.messages);
	t->queue.limit_bytes = limits.queue_bytes;
	t->queue.limit_messages = limits.queue_messages;
	INIT_LIST_HEAD(&t->gc_entry);
	ipcz_kind_get(IPCZ_KIND_TRANSPORT);
	t->id = ipcz_registry_add(&t->registry_entry,
				  &ipcz_registry_transports);
	return t;
}

static void ipcz_transport_free(struct ipcz_transport *t)
{
	ipcz_creds_release(&t->peer_creds);
	ipcz_node_uncharge_transport(t->node);
	ipcz_node_put(t->node);
	mutex_destroy(&t->recv_mutex);
	kfree(t);
	ipcz_kind_put(IPCZ_KIND_TRANSPORT);
}

/* Takes the queue's messages out, under pair->lock. */
static void ipcz_queue_take_all(struct ipcz_queue *queue,
				struct list_head *out)
{
	list_splice_tail_init(&queue->messages, out);
	queue->count = 0;
	queue->bytes = 0;
}

/*
 * Detaches an end from its pair and frees it with everything queued to it.
 * Called when its file is released (or was never made).
 */
static void ipcz_transport_destroy(struct ipcz_transport *t)
{
	struct ipcz_pair *pair = t->pair;
	struct ipcz_transport *peer;
	LIST_HEAD(purged);

	ipcz_registry_del(&t->registry_entry);
	spin_lock(&pair->lock);
	pair->end[t->side] = NULL;
	peer = pair->end[!t->side];
	if (peer) {
		peer->peer_closed = true;
		wake_up_interruptible_poll(&peer->wait,
					   EPOLLHUP | EPOLLRDHUP | EPOLLOUT);
	}
	ipcz_queue_take_all(&t->queue, &purged);
	spin_unlock(&pair->lock);

	ipcz_message_free_list(&purged);
	if (refcount_dec_and_test(&pair->ends))
		kfree(pair);
	ipcz_transport_free(t);
}

/*
 * Makes an entangled pair. creds_a are those of whoever holds end a, and
 * become end b's peer credentials, and the other way round.
 */
int ipcz_transport_pair_create(struct ipcz_node *node_a,
			       struct ipcz_node *node_b,
			       const struct ipcz_creds *creds_a,
			       const struct ipcz_creds *creds_b,
			       struct file **file_a, struct file **file_b)
{
	struct ipcz_transport *a, *b;
	struct ipcz_pair *pair;
	struct file *fa, *fb;
	int err;

	pair = kzalloc(sizeof(*pair), GFP_KERNEL_ACCOUNT);
	if (!pair)
		return -ENOMEM;
	a = ipcz_transport_alloc(node_a, creds_b);
	if (IS_ERR(a)) {
		kfree(pair);
		return PTR_ERR(a);
	}
	b = ipcz_transport_alloc(node_b, creds_a);
	if (IS_ERR(b)) {
		ipcz_registry_del(&a->registry_entry);
		ipcz_transport_free(a);
		kfree(pair);
		return PTR_ERR(b);
	}
	spin_lock_init(&pair->lock);
	refcount_set(&pair->ends, 2);
	pair->end[0] = a;
	pair->end[1] = b;
	a->pair = pair;
	a->side = 0;
	a->send_limit_bytes = b->queue.limit_bytes;
	b->pair = pair;
	b->side = 1;
	b->send_limit_bytes = a->queue.limit_bytes;

	fa = anon_inode_getfile("[ipcz-transport]", &ipcz_transport_fops, a,
				O_RDWR);
	if (IS_ERR(fa)) {
		err = PTR_ERR(fa);
		ipcz_transport_destroy(a);
		ipcz_transport_destroy(b);
		return err;
	}
	fb = anon_inode_getfile("[ipcz-transport]", &ipcz_transport_fops, b,
				O_RDWR);
	if (IS_ERR(fb)) {
		err = PTR_ERR(fb);
		ipcz_transport_destroy(b);
		fput(fa);
		return err;
	}
	a->file = fa;
	b->file = fb;
	*file_a = fa;
	*file_b = fb;
	return 0;
}

/* Queues msg to t's peer; on success the queue owns msg. */
int ipcz_transport_enqueue(struct ipcz_transport *t, struct ipcz_message *msg)
{
	struct ipcz_pair *pair = t->pair;
	struct ipcz_transport *peer;
	struct ipcz_queue *queue;
	int err = 0;

	if (msg->len > t->send_limit_bytes)
		return -EMSGSIZE;
	spin_lock(&pair->lock);
	peer = pair->end[!t->side];
	if (!peer) {
		err = -EPIPE;
		goto out;
	}
	queue = &peer->queue;
	if (queue->count >= queue->limit_messages ||
	    msg->len > queue->limit_bytes - queue->bytes) {
		err = -EAGAIN;
		goto out;
	}
	list_add_tail(&msg->entry, &queue->messages);
	queue->count++;
	queue->bytes += msg->len;
	t->sent_messages++;
	t->sent_bytes += msg->len;
	wake_up_interruptible_poll(&peer->wait, EPOLLIN | EPOLLRDNORM);
out:
	spin_unlock(&pair->lock);
	return err;
}

/*
 * The oldest message queued to t, left in place. Stable while the caller
 * holds t->recv_mutex and a reference to t's file.
 */
struct ipcz_message *ipcz_transport_head(struct ipcz_transport *t, int *err)
{
	struct ipcz_message *msg;

	spin_lock(&t->pair->lock);
	msg = list_first_entry_or_null(&t->queue.messages,
				       struct ipcz_message, entry);
	if (!msg)
		*err = t->peer_closed ? -EPIPE : -EAGAIN;
	spin_unlock(&t->pair->lock);
	return msg;
}

void ipcz_transport_dequeue(struct ipcz_transport *t, struct ipcz_message *msg)
{
	struct ipcz_pair *pair = t->pair;
	struct ipcz_transport *peer;

	spin_lock(&pair->lock);
	list_del_init(&msg->entry);
	t->queue.count--;
	t->queue.bytes -= msg->len;
	t->recv_messages++;
	t->recv_bytes += msg->len;
	peer = pair->end[!t->side];
	if (peer)
		wake_up_interruptible_poll(&peer->wait, EPOLLOUT | EPOLLWRNORM);
	spin_unlock(&pair->lock);
}

/*
 * Empties t's queue for the collector, which holds its own lock; the
 * messages go to *purged, for the caller to free without any lock held.
 */
void ipcz_transport_purge(struct ipcz_transport *t, struct list_head *purged)
{
	struct ipcz_pair *pair = t->pair;
	struct ipcz_transport *peer;

	spin_lock(&pair->lock);
	ipcz_queue_take_all(&t->queue, purged);
	peer = pair->end[!t->side];
	if (peer)
		wake_up_interruptible_poll(&peer->wait, EPOLLOUT | EPOLLWRNORM);
	spin_unlock(&pair->lock);
}

int ipcz_transport_ring(struct ipcz_transport *t)
{
	struct ipcz_pair *pair = t->pair;
	struct ipcz_transport *peer;
	int err = 0;

	spin_lock(&pair->lock);
	peer = pair->end[!t->side];
	if (peer) {
		peer->rings++;
		peer->rings_total++;
		wake_up_interruptible_poll(&peer->wait, EPOLLPRI);
	} else {
		err = -EPIPE;
	}
	spin_unlock(&pair->lock);
	return err;
}

u64 ipcz_transport_take_doorbell(struct ipcz_transport *t)
{
	u64 rings;

	spin_lock(&t->pair->lock);
	rings = t->rings;
	t->rings = 0;
	spin_unlock(&t->pair->lock);
	return rings;
}

static bool ipcz_queue_has_room(const struct ipcz_queue *queue)
{
	return queue->count < queue->limit_messages &&
	       queue->bytes < queue->limit_bytes;
}

__poll_t ipcz_transport_readiness(struct ipcz_transport *t)
{
	struct ipcz_pair *pair = t->pair;
	struct ipcz_transport *peer;
	__poll_t mask = 0;

	spin_lock(&pair->lock);
	if (t->queue.count)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (t->rings)
		mask |= EPOLLPRI;
	peer = pair->end[!t->side];
	if (!peer)
		mask |= EPOLLHUP | EPOLLRDHUP;
	else if (ipcz_queue_has_room(&peer->queue))
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock(&pair->lock);
	return mask;
}

static __poll_t ipcz_transport_poll(struct file *file, poll_table *wait)
{
	struct ipcz_transport *t = file->private_data;

	poll_wait(file, &t->wait, wait);
	return ipcz_transport_readiness(t);
}

/* Every close of an fd may be what leaves a cycle unreachable. */
static int ipcz_transport_flush(struct file *file, fl_owner_t id)
{
	ipcz_gc_run(file);
	return 0;
}

static int ipcz_transport_release(struct inode *inode, struct file *file)
{
	ipcz_transport_destroy(file->private_data);
	/* The queue just dropped may have held a cycle's last way out. */
	ipcz_gc_run(NULL);
	return 0;
}

int ipcz_transport_ioctl_pair(struct ipcz_node *node, void __user *uargs)
{
	struct ipcz_transport_pair args;
	struct file *fa, *fb;
	struct ipcz_creds creds;
	unsigned int fd_flags;
	int fd_a, fd_b, err;

	err = ipcz_copy_args(&args, sizeof(args),
			     IPCZ_TRANSPORT_PAIR_SIZE_VER0, uargs);
	if (err)
		return err;
	if (args.flags & ~IPCZ_CLOEXEC)
		return -EINVAL;
	fd_flags = args.flags & IPCZ_CLOEXEC ? O_CLOEXEC : 0;
	fd_a = get_unused_fd_flags(fd_flags);
	if (fd_a < 0)
		return fd_a;
	fd_b = get_unused_fd_flags(fd_flags);
	if (fd_b < 0) {
		err = fd_b;
		goto put_a;
	}
	ipcz_creds_capture(&creds);
	err = ipcz_transport_pair_create(node, node, &creds, &creds, &fa, &fb);
	ipcz_creds_release(&creds);
	if (err)
		goto put_b;
	args.fds[0] = fd_a;
	args.fds[1] = fd_b;
	err = ipcz_return_args(uargs, &args, sizeof(args));
	if (err) {
		fput(fa);
		fput(fb);
		goto put_b;
	}
	fd_install(fd_a, fa);
	fd_install(fd_b, fb);
	return 0;

put_b:
	put_unused_fd(fd_b);
put_a:
	put_unused_fd(fd_a);
	return err;
}

static int ipcz_transport_ioctl_send(struct ipcz_transport *t,
				     void __user *uargs)
{
	struct ipcz_message *msg;
	struct ipcz_send args;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_SEND_SIZE_VER0, uargs);
	if (err)
		return err;
	if (args.flags || args.num_fds > IPCZ_MAX_FDS)
		return -EINVAL;
	if (args.data_len > t->send_limit_bytes)
		return -EMSGSIZE;
	msg = ipcz_message_from_user(u64_to_user_ptr(args.data), args.data_len,
				     u64_to_user_ptr(args.fds), args.num_fds);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	err = ipcz_transport_enqueue(t, msg);
	if (err)
		ipcz_message_free(msg);
	return err;
}

static int ipcz_transport_ioctl_recv(struct ipcz_transport *t,
				     void __user *uargs)
{
	struct ipcz_message *msg;
	struct ipcz_recv args;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_RECV_SIZE_VER0, uargs);
	if (err)
		return err;
	if (args.flags & ~IPCZ_CLOEXEC)
		return -EINVAL;
	if (mutex_lock_interruptible(&t->recv_mutex))
		return -EINTR;
	msg = ipcz_transport_head(t, &err);
	if (!msg)
		goto out;
	if (args.data_len < msg->len || args.num_fds < msg->nfds) {
		/* Report what is needed; the message stays queued. */
		args.data_len = msg->len;
		args.num_fds = msg->nfds;
		err = ipcz_return_args(uargs, &args, sizeof(args));
		if (!err)
			err = -EMSGSIZE;
		goto out;
	}
	err = ipcz_message_to_user(t, msg, &args, uargs);
out:
	mutex_unlock(&t->recv_mutex);
	return err;
}

static int ipcz_transport_ioctl_doorbell(struct ipcz_transport *t,
					 void __user *uargs, bool take)
{
	struct ipcz_doorbell args;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_DOORBELL_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	if (args.flags)
		return -EINVAL;
	if (!take)
		return ipcz_transport_ring(t);
	args.rings = ipcz_transport_take_doorbell(t);
	err = ipcz_return_args(uargs, &args, sizeof(args));
	if (err) {
		/* Put the rings back so that nothing is lost. */
		spin_lock(&t->pair->lock);
		t->rings += args.rings;
		spin_unlock(&t->pair->lock);
	}
	return err;
}

static int ipcz_transport_ioctl_peer_cred(struct ipcz_transport *t,
					  void __user *uargs)
{
	struct user_namespace *ns = current_user_ns();
	struct ipcz_peer_cred args;
	int err;

	err = ipcz_copy_args(&args, sizeof(args), IPCZ_PEER_CRED_SIZE_VER0,
			     uargs);
	if (err)
		return err;
	if (args.flags || args.reserved)
		return -EINVAL;
	args.pid = pid_vnr(t->peer_creds.pid);
	args.uid = from_kuid_munged(ns, t->peer_creds.uid);
	args.gid = from_kgid_munged(ns, t->peer_creds.gid);
	return ipcz_return_args(uargs, &args, sizeof(args));
}

static long ipcz_transport_ioctl(struct file *file, unsigned int cmd,
				 unsigned long arg)
{
	struct ipcz_transport *t = file->private_data;
	void __user *uargs = (void __user *)arg;

	switch (cmd) {
	case IPCZ_IOC_SEND:
		return ipcz_transport_ioctl_send(t, uargs);
	case IPCZ_IOC_RECV:
		return ipcz_transport_ioctl_recv(t, uargs);
	case IPCZ_IOC_RING:
		return ipcz_transport_ioctl_doorbell(t, uargs, false);
	case IPCZ_IOC_TAKE_DOORBELL:
		return ipcz_transport_ioctl_doorbell(t, uargs, true);
	case IPCZ_IOC_PEER_CRED:
		return ipcz_transport_ioctl_peer_cred(t, uargs);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations ipcz_transport_fops = {
	.owner = THIS_MODULE,
	.poll = ipcz_transport_poll,
	.flush = ipcz_transport_flush,
	.release = ipcz_transport_release,
	.unlocked_ioctl = ipcz_transport_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};
