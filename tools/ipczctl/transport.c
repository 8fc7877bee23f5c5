// SPDX-License-Identifier: MIT
/*
 * `ipczctl transport`: every transport end, its peer, queue and counters.
 */
#include "objects.h"

#include <linux/ipcz.h>

static const struct column transport_columns[] = {
	{ "id", COLUMN_U64, IPCZ_TRANSPORT_ATTR_ID, false },
	{ "peer", COLUMN_U64, IPCZ_TRANSPORT_ATTR_PEER_ID, false },
	{ "node", COLUMN_U64, IPCZ_TRANSPORT_ATTR_NODE_ID, false },
	{ "peer_closed", COLUMN_U64, IPCZ_TRANSPORT_ATTR_PEER_CLOSED, false },
	{ "queue_messages", COLUMN_U64,
	  IPCZ_TRANSPORT_ATTR_QUEUE_MESSAGES, false },
	{ "queue_bytes", COLUMN_U64, IPCZ_TRANSPORT_ATTR_QUEUE_BYTES, false },
	{ "limit_messages", COLUMN_U64,
	  IPCZ_TRANSPORT_ATTR_LIMIT_MESSAGES, true },
	{ "limit_bytes", COLUMN_U64, IPCZ_TRANSPORT_ATTR_LIMIT_BYTES, true },
	{ "sent_messages", COLUMN_U64,
	  IPCZ_TRANSPORT_ATTR_SENT_MESSAGES, false },
	{ "sent_bytes", COLUMN_U64, IPCZ_TRANSPORT_ATTR_SENT_BYTES, true },
	{ "recv_messages", COLUMN_U64,
	  IPCZ_TRANSPORT_ATTR_RECV_MESSAGES, false },
	{ "recv_bytes", COLUMN_U64, IPCZ_TRANSPORT_ATTR_RECV_BYTES, true },
	{ "rings", COLUMN_U64, IPCZ_TRANSPORT_ATTR_RINGS, false },
	{ "doorbell", COLUMN_U64, IPCZ_TRANSPORT_ATTR_DOORBELL, false },
	{ "inflight", COLUMN_U64, IPCZ_TRANSPORT_ATTR_INFLIGHT, false },
	{ "peer_pid", COLUMN_U64, IPCZ_TRANSPORT_ATTR_PEER_PID, false },
	{ "peer_uid", COLUMN_U64, IPCZ_TRANSPORT_ATTR_PEER_UID, true },
	{ "peer_gid", COLUMN_U64, IPCZ_TRANSPORT_ATTR_PEER_GID, true },
};

const struct object_kind transport_kind = {
	.name = "transport",
	.json_name = "transports",
	.cmd = IPCZ_CMD_GET_TRANSPORTS,
	.dump = true,
	.nest_attr = IPCZ_ATTR_TRANSPORT,
	.columns = transport_columns,
	.ncolumns = ARRAY_LEN(transport_columns),
};
