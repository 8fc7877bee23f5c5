// SPDX-License-Identifier: MIT
#include "lib/sublink_map.h"

#include <stdlib.h>
#include <string.h>

#include "lib/router.h"

static uint32_t hash(uint64_t sublink, uint32_t capacity)
{
	sublink *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(sublink >> 32) & (capacity - 1);
}

static bool rehash(struct sublink_map *map, uint32_t capacity)
{
	struct sublink_entry *old = map->slots;
	uint32_t old_capacity = map->capacity, i;

	map->slots = calloc(capacity, sizeof(*map->slots));
	if (!map->slots) {
		map->slots = old;
		return false;
	}
	map->capacity = capacity;
	map->used = map->live = 0;
	for (i = 0; i < old_capacity; i++) {
		struct sublink_entry *e = &old[i];
		uint32_t j;

		if (!e->router)
			continue;
		j = hash(e->sublink, capacity);
		while (map->slots[j].router)
			j = (j + 1) & (capacity - 1);
		map->slots[j] = *e;
		map->used++;
		map->live++;
	}
	free(old);
	return true;
}

struct sublink_entry *sublink_map_find(struct sublink_map *map,
				       uint64_t sublink)
{
	uint32_t i, probes;

	if (!map->capacity)
		return NULL;
	i = hash(sublink, map->capacity);
	for (probes = 0; probes < map->capacity; probes++) {
		struct sublink_entry *e = &map->slots[i];

		if (!e->router && !e->tombstone)
			return NULL;
		if (e->router && e->sublink == sublink)
			return e;
		i = (i + 1) & (map->capacity - 1);
	}
	return NULL;
}

bool sublink_map_add(struct sublink_map *map, uint64_t sublink,
		     struct router *router, struct router_link *link,
		     uint8_t link_type)
{
	struct sublink_entry *e;
	uint32_t i;

	if (sublink_map_find(map, sublink))
		return false;
	if ((map->used + 1) * 4 > map->capacity * 3 &&
	    !rehash(map, map->capacity ? map->capacity * 2 : 16))
		return false;
	i = hash(sublink, map->capacity);
	while (map->slots[i].router)
		i = (i + 1) & (map->capacity - 1);
	e = &map->slots[i];
	if (!e->tombstone)
		map->used++;
	router_ref(router);
	e->sublink = sublink;
	e->router = router;
	e->link = link;
	e->link_type = link_type;
	e->tombstone = 0;
	map->live++;
	return true;
}

struct router *sublink_map_remove(struct sublink_map *map, uint64_t sublink,
				  struct router_link *link)
{
	struct sublink_entry *e = sublink_map_find(map, sublink);
	struct router *router;

	if (!e || e->link != link)
		return NULL;
	router = e->router;
	memset(e, 0, sizeof(*e));
	e->tombstone = 1;
	map->live--;
	return router;
}

struct sublink_entry *sublink_map_take_all(struct sublink_map *map,
					   uint32_t *count)
{
	struct sublink_entry *all = calloc(map->live ? map->live : 1,
					   sizeof(*all));
	uint32_t i, n = 0;

	if (!all) {
		*count = 0;
		return NULL;
	}
	for (i = 0; i < map->capacity; i++) {
		if (map->slots[i].router)
			all[n++] = map->slots[i];
	}
	free(map->slots);
	memset(map, 0, sizeof(*map));
	*count = n;
	return all;
}

uint32_t sublink_map_collect_routers(struct sublink_map *map,
				     struct router **out, uint32_t max)
{
	uint32_t i, n = 0;

	for (i = 0; i < map->capacity && n < max; i++) {
		if (!map->slots[i].router)
			continue;
		router_ref(map->slots[i].router);
		out[n++] = map->slots[i].router;
	}
	return n;
}
