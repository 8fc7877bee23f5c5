/* SPDX-License-Identifier: MIT */
/*
 * The kinds of object ipczctl shows, one file each.
 */
#ifndef IPCZCTL_OBJECTS_H
#define IPCZCTL_OBJECTS_H

#include "netlink.h"

extern const struct object_kind stats_kind;
extern const struct object_kind node_kind;
extern const struct object_kind transport_kind;
extern const struct object_kind rendezvous_kind;
extern const struct object_kind region_kind;

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* IPCZCTL_OBJECTS_H */
