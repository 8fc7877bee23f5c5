// SPDX-License-Identifier: MIT
/*
 * `ipczctl rendezvous`: every published rendezvous name, its owner, mode
 * and pending connections.
 */
#include "objects.h"

#include <linux/ipcz.h>

static const struct column rendezvous_columns[] = {
	{ "id", COLUMN_U64, IPCZ_RENDEZVOUS_ATTR_ID, false },
	{ "name", COLUMN_STRING, IPCZ_RENDEZVOUS_ATTR_NAME, false },
	{ "node", COLUMN_U64, IPCZ_RENDEZVOUS_ATTR_NODE_ID, false },
	{ "uid", COLUMN_U64, IPCZ_RENDEZVOUS_ATTR_UID, false },
	{ "gid", COLUMN_U64, IPCZ_RENDEZVOUS_ATTR_GID, false },
	{ "mode", COLUMN_OCTAL, IPCZ_RENDEZVOUS_ATTR_MODE, false },
	{ "pending", COLUMN_U64, IPCZ_RENDEZVOUS_ATTR_PENDING, false },
	{ "backlog", COLUMN_U64, IPCZ_RENDEZVOUS_ATTR_BACKLOG, false },
};

const struct object_kind rendezvous_kind = {
	.name = "rendezvous",
	.json_name = "rendezvous",
	.cmd = IPCZ_CMD_GET_RENDEZVOUS,
	.dump = true,
	.nest_attr = IPCZ_ATTR_RENDEZVOUS,
	.columns = rendezvous_columns,
	.ncolumns = ARRAY_LEN(rendezvous_columns),
};
