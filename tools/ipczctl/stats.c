// SPDX-License-Identifier: MIT
/*
 * `ipczctl stats`: counts of live kernel objects and collector counters.
 */
#include "objects.h"

#include <linux/ipcz.h>

static const struct column stats_columns[] = {
	{ "live_objects", COLUMN_U64, IPCZ_STATS_ATTR_LIVE_OBJECTS, false },
	{ "nodes", COLUMN_U64, IPCZ_STATS_ATTR_NODES, false },
	{ "transports", COLUMN_U64, IPCZ_STATS_ATTR_TRANSPORTS, false },
	{ "regions", COLUMN_U64, IPCZ_STATS_ATTR_REGIONS, false },
	{ "listeners", COLUMN_U64, IPCZ_STATS_ATTR_LISTENERS, false },
	{ "messages", COLUMN_U64, IPCZ_STATS_ATTR_MESSAGES, false },
	{ "inflight", COLUMN_U64, IPCZ_STATS_ATTR_INFLIGHT, false },
	{ "gc_runs", COLUMN_U64, IPCZ_STATS_ATTR_GC_RUNS, false },
	{ "gc_collected", COLUMN_U64, IPCZ_STATS_ATTR_GC_COLLECTED, false },
};

const struct object_kind stats_kind = {
	.name = "stats",
	.json_name = "stats",
	.cmd = IPCZ_CMD_GET_STATS,
	.dump = false,
	.nest_attr = IPCZ_ATTR_STATS,
	.columns = stats_columns,
	.ncolumns = ARRAY_LEN(stats_columns),
};
