/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the KUnit tests: they build the module's objects
 * directly, without file descriptors, from the test's kernel thread.
 */
#ifndef IPCZ_TEST_UTIL_H
#define IPCZ_TEST_UTIL_H

#include <kunit/test.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/string.h>

#include "internal.h"

/*
 * Waits until files whose last reference went are released. A release can
 * drop more files (a transport's queue), so repeat a few times.
 */
static inline void ipcz_test_settle(void)
{
	int i;

	for (i = 0; i < 8; i++)
		flush_delayed_fput();
}

static inline void ipcz_test_fput(struct file *file)
{
	fput(file);
	ipcz_test_settle();
}

static inline struct ipcz_node *ipcz_test_node(struct kunit *test)
{
	struct ipcz_node *node = ipcz_node_create();

	KUNIT_ASSERT_NOT_NULL(test, node);
	return node;
}

static inline void ipcz_test_pair(struct kunit *test, struct ipcz_node *node,
				  struct file **a, struct file **b)
{
	struct ipcz_creds creds;

	ipcz_creds_capture(&creds);
	KUNIT_ASSERT_EQ(test, 0, ipcz_transport_pair_create(node, node, &creds,
							    &creds, a, b));
	ipcz_creds_release(&creds);
}

static inline struct ipcz_transport *ipcz_test_t(struct file *file)
{
	return ipcz_transport_from_file(file);
}

/* Sends len bytes of 'x' and the given files from the end "from". */
static inline int ipcz_test_send(struct kunit *test, struct file *from,
				 u32 len, struct file **files, u32 nfds)
{
	struct ipcz_message *msg;
	int err;
	u32 i;

	msg = ipcz_message_alloc(len, nfds);
	KUNIT_ASSERT_NOT_NULL(test, msg);
	if (len)
		memset(msg->data, 'x', len);
	for (i = 0; i < nfds; i++) {
		err = ipcz_message_attach(msg, i, files[i]);
		if (err) {
			ipcz_message_free(msg);
			return err;
		}
	}
	err = ipcz_transport_enqueue(ipcz_test_t(from), msg);
	if (err)
		ipcz_message_free(msg);
	return err;
}

/* Takes the head message off an end's queue and frees it. */
static inline u32 ipcz_test_drop_head(struct kunit *test, struct file *end)
{
	struct ipcz_transport *t = ipcz_test_t(end);
	struct ipcz_message *msg;
	int err = 0;
	u32 len;

	msg = ipcz_transport_head(t, &err);
	KUNIT_ASSERT_NOT_NULL(test, msg);
	len = msg->len;
	ipcz_transport_dequeue(t, msg);
	ipcz_message_free(msg);
	return len;
}

#endif /* IPCZ_TEST_UTIL_H */
