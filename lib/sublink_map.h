/* SPDX-License-Identifier: MIT */
/*
 * The routes a node link carries: for each sublink number, the router on
 * this node at that end, the link type (which says whether messages on it
 * come from the router's outward or inward side) and the link object.
 * An open-addressing hash table; the node link's lock guards it.
 */
#ifndef IPCZ_LIB_SUBLINK_MAP_H
#define IPCZ_LIB_SUBLINK_MAP_H

#include <stdbool.h>
#include <stdint.h>

struct router;
struct router_link;

struct sublink_entry {
	uint64_t sublink;
	struct router *router;		/* a reference; NULL: free slot */
	struct router_link *link;	/* not a reference */
	uint8_t link_type;
	uint8_t tombstone;
};

struct sublink_map {
	struct sublink_entry *slots;
	uint32_t capacity;	/* a power of two, or 0 */
	uint32_t used;		/* live entries plus tombstones */
	uint32_t live;
};

/* Adds an entry taking a reference to `router`; false if present or OOM. */
bool sublink_map_add(struct sublink_map *map, uint64_t sublink,
		     struct router *router, struct router_link *link,
		     uint8_t link_type);

/* The entry for `sublink`, or NULL. */
struct sublink_entry *sublink_map_find(struct sublink_map *map,
				       uint64_t sublink);

/*
 * Removes the entry for `sublink` if its link is `link`, returning the
 * router reference it held (NULL if none).
 */
struct router *sublink_map_remove(struct sublink_map *map, uint64_t sublink,
				  struct router_link *link);

/*
 * Empties the map into a new array of its entries (the caller owns their
 * router references and frees the array); *count receives their number.
 */
struct sublink_entry *sublink_map_take_all(struct sublink_map *map,
					   uint32_t *count);

/*
 * Stores a new reference to the router of up to `max` live entries in
 * `out` (a router bound by two sublinks appears twice); returns how many.
 */
uint32_t sublink_map_collect_routers(struct sublink_map *map,
				     struct router **out, uint32_t max);

#endif
