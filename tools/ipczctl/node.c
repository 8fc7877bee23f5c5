// SPDX-License-Identifier: MIT
/*
 * `ipczctl node`: every open of /dev/ipcz, its owner, usage and limits.
 */
#include "objects.h"

#include <linux/ipcz.h>

static const struct column node_columns[] = {
	{ "id", COLUMN_U64, IPCZ_NODE_ATTR_ID, false },
	{ "pid", COLUMN_U64, IPCZ_NODE_ATTR_PID, false },
	{ "comm", COLUMN_STRING, IPCZ_NODE_ATTR_COMM, false },
	{ "uid", COLUMN_U64, IPCZ_NODE_ATTR_UID, false },
	{ "gid", COLUMN_U64, IPCZ_NODE_ATTR_GID, false },
	{ "open", COLUMN_U64, IPCZ_NODE_ATTR_OPEN, false },
	{ "transports", COLUMN_U64, IPCZ_NODE_ATTR_TRANSPORTS, false },
	{ "regions", COLUMN_U64, IPCZ_NODE_ATTR_REGIONS, false },
	{ "region_bytes", COLUMN_U64, IPCZ_NODE_ATTR_REGION_BYTES, false },
	{ "listeners", COLUMN_U64, IPCZ_NODE_ATTR_LISTENERS, false },
	{ "limit_queue_bytes", COLUMN_U64,
	  IPCZ_NODE_ATTR_LIMIT_QUEUE_BYTES, true },
	{ "limit_queue_messages", COLUMN_U64,
	  IPCZ_NODE_ATTR_LIMIT_QUEUE_MESSAGES, true },
	{ "limit_transports", COLUMN_U64,
	  IPCZ_NODE_ATTR_LIMIT_TRANSPORTS, true },
	{ "limit_regions", COLUMN_U64, IPCZ_NODE_ATTR_LIMIT_REGIONS, true },
	{ "limit_listeners", COLUMN_U64,
	  IPCZ_NODE_ATTR_LIMIT_LISTENERS, true },
	{ "limit_region_bytes", COLUMN_U64,
	  IPCZ_NODE_ATTR_LIMIT_REGION_BYTES, true },
};

const struct object_kind node_kind = {
	.name = "node",
	.json_name = "nodes",
	.cmd = IPCZ_CMD_GET_NODES,
	.dump = true,
	.nest_attr = IPCZ_ATTR_NODE,
	.columns = node_columns,
	.ncolumns = ARRAY_LEN(node_columns),
};
