// SPDX-License-Identifier: MIT
/*
 * `ipczctl region`: every memory region, its size, handles and mappings.
 */
#include "objects.h"

#include <linux/ipcz.h>

static const struct column region_columns[] = {
	{ "id", COLUMN_U64, IPCZ_REGION_ATTR_ID, false },
	{ "node", COLUMN_U64, IPCZ_REGION_ATTR_NODE_ID, false },
	{ "size", COLUMN_U64, IPCZ_REGION_ATTR_SIZE, false },
	{ "handles", COLUMN_U64, IPCZ_REGION_ATTR_HANDLES, false },
	{ "mappings", COLUMN_U64, IPCZ_REGION_ATTR_MAPPINGS, false },
};

const struct object_kind region_kind = {
	.name = "region",
	.json_name = "regions",
	.cmd = IPCZ_CMD_GET_REGIONS,
	.dump = true,
	.nest_attr = IPCZ_ATTR_REGION,
	.columns = region_columns,
	.ncolumns = ARRAY_LEN(region_columns),
};
