/* SPDX-License-Identifier: MIT */
/*
 * Reading the ipcz generic netlink family with libnl.
 */
#ifndef IPCZCTL_NETLINK_H
#define IPCZCTL_NETLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "output.h"

struct nl_sock;

struct ipcz_netlink {
	struct nl_sock *sock;
	int family;
};

/* One kind of object the family reports, and how to show it. */
struct object_kind {
	const char *name;		/* command-line name, singular */
	const char *json_name;		/* key in `show -j` output */
	uint8_t cmd;			/* IPCZ_CMD_GET_* */
	bool dump;			/* one message per object */
	unsigned int nest_attr;		/* IPCZ_ATTR_* nest of one object */
	const struct column *columns;
	size_t ncolumns;
};

/*
 * Connects and resolves the "ipcz" family. Returns 0, -ENOENT when the
 * family is not registered (the module is not loaded), or another negative
 * errno; prints its own message on failures other than -ENOENT.
 */
int ipcz_netlink_open(struct ipcz_netlink *nl);
void ipcz_netlink_close(struct ipcz_netlink *nl);

/*
 * Asks for every object of @kind and adds one row to @t for each. Returns
 * 0 or a negative errno, after printing why.
 */
int ipcz_netlink_fill(struct ipcz_netlink *nl, const struct object_kind *kind,
		      struct table *t);

#endif /* IPCZCTL_NETLINK_H */
