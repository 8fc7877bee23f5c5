/* SPDX-License-Identifier: MIT */
/*
 * Thin wrappers around the /dev/ipcz ioctls, named dev_<ioctl>. Each returns 0 (or the new
 * descriptor) on success and -errno on failure, so that a test can assert
 * on the exact error in one expression. Descriptors are made close-on-exec.
 */
#ifndef IPCZ_SELFTEST_OPS_H
#define IPCZ_SELFTEST_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/ipcz.h>

/* ioctl() returning -errno instead of -1. */
int ioctl_err(int fd, unsigned long request, void *arg);

int dev_node_info(int node, struct ipcz_node_info *info);
int dev_get_limits(int node, struct ipcz_limits *limits, uint32_t flags);
int dev_set_limits(int node, const struct ipcz_limits *limits);

/* Fills @fds with a new entangled pair. */
int dev_pair(int node, int fds[2]);

int dev_send(int transport, const void *data, size_t len, const int *fds,
	      unsigned int num_fds);
/* Sends a short text, without descriptors. */
int dev_send_str(int transport, const char *text);

/*
 * Receives one message. *len and *num_fds are capacities in, sizes out;
 * @types may be NULL.
 */
int dev_recv(int transport, void *data, uint32_t *len, int *fds,
	      uint32_t *num_fds, uint32_t *types);
/* Receives a message without descriptors into @buf; returns its length. */
int dev_recv_bytes(int transport, void *buf, uint32_t cap);
/* Receives a short message (up to 64 bytes) and discards it: its length. */
int dev_recv_any(int transport);

int dev_ring(int transport);
int dev_take_doorbell(int transport, uint64_t *rings);
int dev_peer_cred(int transport, struct ipcz_peer_cred *cred);

/* A new region of *length bytes; the rounded length is written back. */
int dev_region_create(int node, uint64_t *length);
int dev_region_info(int region, struct ipcz_region_info *info);
int dev_region_dup(int region, bool readonly);

int dev_listen(int node, const char *name, uint32_t mode, uint32_t uid,
		uint32_t gid, uint32_t backlog);
int dev_connect(int node, const char *name);
int dev_accept(int listener);

/* Waits up to @timeout_ms for @events on @fd; returns revents or -errno. */
int poll_events(int fd, short events, int timeout_ms);

#endif /* IPCZ_SELFTEST_OPS_H */
