// SPDX-License-Identifier: MIT
/*
 * Reading the ipcz generic netlink family with libnl.
 *
 * Every object arrives as one nest of attributes; each attribute fills the
 * table column that names it. Attributes this tool does not know are
 * skipped, so a newer module still works with an older ipczctl.
 */
#include "netlink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/ipcz.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

struct fill_state {
	const struct object_kind *kind;
	struct table *table;
};

int ipcz_netlink_open(struct ipcz_netlink *nl)
{
	int err;

	nl->family = -1;
	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		fprintf(stderr, "ipczctl: cannot allocate a netlink socket\n");
		return -ENOMEM;
	}
	err = genl_connect(nl->sock);
	if (err < 0) {
		fprintf(stderr, "ipczctl: cannot open generic netlink: %s\n",
			nl_geterror(err));
		goto fail;
	}
	/*
	 * A "do" request then gets just its reply (or an error), with no
	 * separate acknowledgement left behind to confuse the next request.
	 */
	nl_socket_disable_auto_ack(nl->sock);
	nl->family = genl_ctrl_resolve(nl->sock, IPCZ_GENL_NAME);
	if (nl->family < 0) {
		err = nl->family;
		if (err == -NLE_OBJ_NOTFOUND) {
			ipcz_netlink_close(nl);
			return -ENOENT;
		}
		fprintf(stderr, "ipczctl: cannot resolve family \"%s\": %s\n",
			IPCZ_GENL_NAME, nl_geterror(err));
		goto fail;
	}
	return 0;
fail:
	ipcz_netlink_close(nl);
	return -EIO;
}

void ipcz_netlink_close(struct ipcz_netlink *nl)
{
	if (nl->sock)
		nl_socket_free(nl->sock);
	nl->sock = NULL;
}

/* Unsigned integers of any width the kernel chose to send. */
static bool attr_unsigned(const struct nlattr *a, uint64_t *value)
{
	switch (nla_len(a)) {
	case 1:
		*value = nla_get_u8((struct nlattr *)a);
		return true;
	case 2:
		*value = nla_get_u16((struct nlattr *)a);
		return true;
	case 4:
		*value = nla_get_u32((struct nlattr *)a);
		return true;
	case 8:
		*value = nla_get_u64((struct nlattr *)a);
		return true;
	}
	return false;
}

static void fill_cell(struct table *t, size_t column,
		      const struct column *col, struct nlattr *a)
{
	uint64_t value;

	if (col->kind == COLUMN_STRING) {
		const char *s = nla_data(a);

		table_set_string(t, column, s, strnlen(s, nla_len(a)));
	} else if (attr_unsigned(a, &value)) {
		table_set_u64(t, column, value);
	}
}

static void fill_row(struct table *t, const struct object_kind *kind,
		     struct nlattr *nest)
{
	struct nlattr *a;
	size_t column;
	int rem;

	if (table_add_row(t))
		return;
	nla_for_each_nested(a, nest, rem) {
		for (column = 0; column < kind->ncolumns; column++) {
			const struct column *col = &kind->columns[column];

			if (col->attr == (unsigned int)nla_type(a)) {
				fill_cell(t, column, col, a);
				break;
			}
		}
	}
}

static int on_message(struct nl_msg *msg, void *arg)
{
	struct fill_state *state = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gnlh = nlmsg_data(nlh);
	struct nlattr *a;
	int rem;

	nla_for_each_attr(a, genlmsg_attrdata(gnlh, 0),
			  genlmsg_attrlen(gnlh, 0), rem) {
		if ((unsigned int)nla_type(a) == state->kind->nest_attr)
			fill_row(state->table, state->kind, a);
	}
	return NL_OK;
}

int ipcz_netlink_fill(struct ipcz_netlink *nl, const struct object_kind *kind,
		      struct table *t)
{
	struct fill_state state = { .kind = kind, .table = t };
	struct nl_msg *msg;
	int err;

	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 kind->dump ? NLM_F_DUMP : 0, kind->cmd,
			 IPCZ_GENL_VERSION)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	err = nl_socket_modify_cb(nl->sock, NL_CB_VALID, NL_CB_CUSTOM,
				  on_message, &state);
	if (err >= 0)
		err = nl_send_auto(nl->sock, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_recvmsgs_default(nl->sock);
	if (err < 0) {
		fprintf(stderr, "ipczctl: reading %s objects: %s\n",
			kind->name, nl_geterror(err));
		return -EIO;
	}
	if (t->failed) {
		fprintf(stderr, "ipczctl: out of memory\n");
		return -ENOMEM;
	}
	return 0;
}
