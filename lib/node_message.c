// SPDX-License-Identifier: MIT
#include "lib/node_message.h"

#include <stdlib.h>
#include <string.h>

void message_builder_init(struct message_builder *b)
{
	memset(b, 0, sizeof(*b));
}

void message_builder_free(struct message_builder *b)
{
	free(b->bytes);
	free(b->handles);
	message_builder_init(b);
}

static bool grow(void **buffer, size_t *capacity, size_t needed, size_t unit)
{
	size_t capacity_now = *capacity ? *capacity : 64;
	void *grown;

	if (needed <= *capacity)
		return true;
	while (capacity_now < needed)
		capacity_now *= 2;
	grown = realloc(*buffer, capacity_now * unit);
	if (!grown)
		return false;
	*buffer = grown;
	*capacity = capacity_now;
	return true;
}

size_t message_builder_append(struct message_builder *b, const void *data,
			      size_t size)
{
	size_t offset = b->size;

	if (size == 0)
		return offset;
	if (b->failed ||
	    !grow((void **)&b->bytes, &b->capacity, b->size + size, 1)) {
		b->failed = true;
		return offset;
	}
	if (data)
		memcpy(b->bytes + offset, data, size);
	else
		memset(b->bytes + offset, 0, size);
	b->size += size;
	return offset;
}

size_t message_builder_add_handles(struct message_builder *b,
				   const IpczDriverHandle *handles,
				   size_t count)
{
	size_t first = b->num_handles;

	if (count == 0)
		return first;
	if (b->failed ||
	    !grow((void **)&b->handles, &b->handle_capacity,
		  b->num_handles + count, sizeof(*handles))) {
		b->failed = true;
		return first;
	}
	memcpy(b->handles + first, handles, count * sizeof(*handles));
	b->num_handles += count;
	return first;
}

bool node_message_check(const void *data, size_t num_bytes, size_t min_size)
{
	struct msg_header header;

	if (!data || num_bytes < sizeof(header) || num_bytes < min_size)
		return false;
	memcpy(&header, data, sizeof(header));
	return header.size == num_bytes && header.version == 0;
}
