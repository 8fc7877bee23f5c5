// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary node messages from a peer, fed to a broker
 * node over the in-process driver.
 *
 * Each input sets up a broker with a few initial portals on one end of a
 * transport pair; the fuzzer plays the other end. It answers the
 * handshake (the broker's primary buffer arrives with it and is mapped
 * here too), then runs a program read from the input:
 *
 *   - a driver message: arbitrary bytes, optionally with a well-formed
 *     header (size, a plausible type, the next link number), and up to
 *     two driver objects;
 *   - a ring message: the same, written by an honest side-B view of the
 *     pool into the peer-to-broker ring with the next link number;
 *   - a doorbell (an empty message);
 *   - a poke: bytes written anywhere in the shared primary buffer (ring
 *     positions, records, free lists);
 *   - application traffic on the broker's portals (put, get, close).
 *
 * AddressSanitizer and UndefinedBehaviorSanitizer catch bad accesses; on
 * top, every driver object must be released once the node is closed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcz/inprocess_driver.h"
#include "ipcz/ipcz.h"
#include "lib/link_memory.h"
#include "lib/node_message.h"

#define NUM_PORTALS 3
#define MAX_MESSAGE 4096

IpczResult IpczGetAPI(struct IpczAPI *api);

struct input {
	const uint8_t *data;
	size_t size;
};

/* The fuzzer's end of the link. */
struct peer {
	const struct IpczDriver *driver;
	IpczDriverHandle transport;
	IpczDriverHandle memory, mapping;
	unsigned char *base;		/* the primary buffer, once known */
	struct link_memory lm;		/* an honest side-B view of it */
	bool lm_open;
	uint64_t next_seq;
};

static struct IpczAPI ipcz = { .size = sizeof(ipcz) };
static struct peer *current;

static uint8_t take_u8(struct input *in)
{
	uint8_t v = 0;

	if (in->size) {
		v = *in->data++;
		in->size--;
	}
	return v;
}

static uint32_t take_u16(struct input *in)
{
	return take_u8(in) | (uint32_t)take_u8(in) << 8;
}

static uint32_t take_u32(struct input *in)
{
	return take_u16(in) | take_u16(in) << 16;
}

static size_t take_bytes(struct input *in, void *out, size_t size)
{
	if (size > in->size)
		size = in->size;
	memcpy(out, in->data, size);
	in->data += size;
	in->size -= size;
	return size;
}

/* The broker's handshake brings the primary buffer: map it here too. */
static void adopt_memory(struct peer *p, const uint8_t *bytes,
			 size_t num_bytes, const IpczDriverHandle *handles,
			 size_t num_handles)
{
	struct buffer_pool_config config = { 0 };
	volatile void *address = NULL;
	uintptr_t aligned;

	if (p->driver->Deserialize(bytes, num_bytes, handles, num_handles,
				   p->transport, IPCZ_NO_FLAGS, NULL,
				   &p->memory) != IPCZ_RESULT_OK)
		return;
	if (p->driver->MapSharedMemory(p->memory, IPCZ_NO_FLAGS, NULL,
				       &address, &p->mapping) !=
	    IPCZ_RESULT_OK)
		return;
	aligned = ((uintptr_t)address + 4095) & ~(uintptr_t)4095;
	p->base = (unsigned char *)aligned;
	p->lm_open = link_memory_open(&p->lm, NODE_LINK_SIDE_B, p->base,
				      LINK_MEMORY_PRIMARY_SIZE, &config) == 0;
}

static IpczResult IPCZ_API peer_activity(IpczHandle listener,
					 const void *data, size_t num_bytes,
					 const IpczDriverHandle *handles,
					 size_t num_handles,
					 IpczTransportActivityFlags flags,
					 const void *options)
{
	struct peer *p = current;
	struct msg_header header;
	size_t i;

	if (p && num_bytes >= sizeof(struct msg_connect) &&
	    p->memory == IPCZ_INVALID_DRIVER_HANDLE) {
		memcpy(&header, data, sizeof(header));
		if (header.type == MSG_CONNECT && num_handles) {
			adopt_memory(p, (const uint8_t *)data +
						sizeof(struct msg_connect),
				     num_bytes - sizeof(struct msg_connect),
				     handles, num_handles);
			return IPCZ_RESULT_OK;
		}
	}
	/* Whatever else the broker sends is read and dropped. */
	for (i = 0; i < num_handles; i++)
		p->driver->Close(handles[i], IPCZ_NO_FLAGS, NULL);
	return IPCZ_RESULT_OK;
}

/* A message of the program: bytes from the input, maybe a real header. */
static size_t build_message(struct peer *p, struct input *in, uint8_t *buf)
{
	uint8_t mode = take_u8(in);
	size_t size = take_u16(in) % MAX_MESSAGE;
	struct msg_header header;

	size = take_bytes(in, buf, size);
	if ((mode & 1) && size >= sizeof(header)) {
		memcpy(&header, buf, sizeof(header));
		header.size = (uint32_t)size;
		header.type = 1 + (header.type % 6);
		header.version = 0;
		header.seq = p->next_seq;
		memcpy(buf, &header, sizeof(header));
	}
	if (mode & 2)
		p->next_seq++;
	return size;
}

static void send_driver_message(struct peer *p, struct input *in)
{
	uint8_t buf[MAX_MESSAGE];
	IpczDriverHandle handles[2];
	size_t size = build_message(p, in, buf), count, i;

	count = take_u8(in) % 3;
	for (i = 0; i < count; i++)
		handles[i] = ipcz_inprocess_test_object_create(i, 1);
	if (p->driver->Transmit(p->transport, buf, size, handles, count,
				IPCZ_NO_FLAGS, NULL) != IPCZ_RESULT_OK) {
		for (i = 0; i < count; i++)
			p->driver->Close(handles[i], IPCZ_NO_FLAGS, NULL);
	}
}

static void send_ring_message(struct peer *p, struct input *in)
{
	uint8_t buf[MAX_MESSAGE];
	struct message_ring *ring;
	struct msg_header header;
	size_t size;

	if (!p->lm_open)
		return;
	ring = link_memory_outgoing_ring(&p->lm);
	size = build_message(p, in, buf);
	if (size < sizeof(header))
		return;
	memcpy(&header, buf, sizeof(header));
	if (message_ring_write(ring, header.seq, buf, (uint32_t)size) == 0 &&
	    message_ring_should_signal(ring))
		p->driver->Transmit(p->transport, NULL, 0, NULL, 0,
				    IPCZ_NO_FLAGS, NULL);
}

static void poke(struct peer *p, struct input *in)
{
	uint8_t bytes[16];
	uint32_t offset = take_u32(in) % LINK_MEMORY_PRIMARY_SIZE;
	size_t size = take_u8(in) % sizeof(bytes);

	size = take_bytes(in, bytes, size);
	if (p->base && size <= LINK_MEMORY_PRIMARY_SIZE - offset)
		memcpy(p->base + offset, bytes, size);
}

static void application(IpczHandle *portals, struct input *in)
{
	uint8_t op = take_u8(in);
	IpczHandle *portal = &portals[op % NUM_PORTALS];
	char buf[64];
	size_t n = sizeof(buf);

	if (*portal == IPCZ_INVALID_HANDLE)
		return;
	switch ((op >> 2) % 3) {
	case 0:
		ipcz.Put(*portal, "parcel", 6, NULL, 0, IPCZ_NO_FLAGS, NULL);
		break;
	case 1:
		ipcz.Get(*portal, IPCZ_GET_PARTIAL, NULL, buf, &n, NULL, NULL,
			 NULL);
		break;
	default:
		ipcz.Close(*portal, IPCZ_NO_FLAGS, NULL);
		*portal = IPCZ_INVALID_HANDLE;
		break;
	}
}

static void answer_handshake(struct peer *p, struct input *in)
{
	struct msg_connect connect = {
		.header = { .size = sizeof(connect), .type = MSG_CONNECT,
			    .seq = p->next_seq++ },
		.flags = IPCZ_CONNECT_NODE_TO_BROKER,
		.num_initial_portals = 1 + take_u8(in) % NUM_PORTALS,
	};

	connect.name[0] = 1;
	p->driver->Transmit(p->transport, &connect, sizeof(connect), NULL, 0,
			    IPCZ_NO_FLAGS, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { .data = data, .size = size };
	struct peer p = { .driver = ipcz_inprocess_driver(),
			  .memory = IPCZ_INVALID_DRIVER_HANDLE,
			  .mapping = IPCZ_INVALID_DRIVER_HANDLE };
	IpczHandle node, portals[NUM_PORTALS];
	IpczDriverHandle t0;
	int steps, i;

	if (!ipcz.CreateNode && IpczGetAPI(&ipcz) != IPCZ_RESULT_OK)
		abort();
	current = &p;
	if (ipcz.CreateNode(p.driver, IPCZ_CREATE_NODE_AS_BROKER, NULL,
			    &node) != IPCZ_RESULT_OK ||
	    p.driver->CreateTransports(IPCZ_INVALID_DRIVER_HANDLE,
				       IPCZ_INVALID_DRIVER_HANDLE,
				       IPCZ_NO_FLAGS, NULL, &t0,
				       &p.transport) != IPCZ_RESULT_OK ||
	    p.driver->ActivateTransport(p.transport, 1, peer_activity,
					IPCZ_NO_FLAGS, NULL) !=
		    IPCZ_RESULT_OK ||
	    ipcz.ConnectNode(node, t0, NUM_PORTALS, IPCZ_NO_FLAGS, NULL,
			     portals) != IPCZ_RESULT_OK)
		abort();
	if (take_u8(&in) % 8)
		answer_handshake(&p, &in);
	for (steps = 0; in.size && steps < 256; steps++) {
		switch (take_u8(&in) % 6) {
		case 0:
		case 1:
			send_driver_message(&p, &in);
			break;
		case 2:
			send_ring_message(&p, &in);
			break;
		case 3:
			p.driver->Transmit(p.transport, NULL, 0, NULL, 0,
					   IPCZ_NO_FLAGS, NULL);
			break;
		case 4:
			poke(&p, &in);
			break;
		default:
			application(portals, &in);
			break;
		}
	}
	for (i = 0; i < NUM_PORTALS; i++)
		if (portals[i] != IPCZ_INVALID_HANDLE)
			ipcz.Close(portals[i], IPCZ_NO_FLAGS, NULL);
	ipcz.Close(node, IPCZ_NO_FLAGS, NULL);
	p.driver->DeactivateTransport(p.transport, IPCZ_NO_FLAGS, NULL);
	p.driver->Close(p.transport, IPCZ_NO_FLAGS, NULL);
	if (p.lm_open)
		link_memory_close(&p.lm);
	if (p.mapping != IPCZ_INVALID_DRIVER_HANDLE)
		p.driver->Close(p.mapping, IPCZ_NO_FLAGS, NULL);
	if (p.memory != IPCZ_INVALID_DRIVER_HANDLE)
		p.driver->Close(p.memory, IPCZ_NO_FLAGS, NULL);
	current = NULL;
	if (ipcz_inprocess_live_objects() != 0) {
		fprintf(stderr, "%zu driver objects leaked\n",
			ipcz_inprocess_live_objects());
		abort();
	}
	return 0;
}
