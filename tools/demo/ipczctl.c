// SPDX-License-Identifier: MIT
/*
 * The kernel's own view of the demo, through tools/ipczctl (kernel driver
 * only): its tables are printed as they are, and its JSON list of
 * transport ends is read for the counters that show which transports
 * carry traffic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/demo/demo.h"

bool demo_ipczctl_show(const char *args)
{
	char command[256];
	int status;

	snprintf(command, sizeof(command), "%s %s", demo_options.ipczctl,
		 args);
	demo_say("$ ipczctl %s", args);
	fflush(stdout);
	status = system(command);
	fflush(stdout);
	if (status != 0)
		return demo_fail("\"%s\" failed (status %d)", command, status);
	return true;
}

/* The number after "key": inside [object, end); -1 if absent or null. */
static long json_field(const char *object, const char *end, const char *key)
{
	char pattern[64];
	const char *at;
	size_t length = (size_t)(end - object);
	char *copy = strndup(object, length);
	long value = -1;

	if (!copy)
		return -1;
	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	at = strstr(copy, pattern);
	if (at && at[strlen(pattern)] != 'n')
		value = strtol(at + strlen(pattern), NULL, 10);
	free(copy);
	return value;
}

/* Reads all of `file` into a NUL-terminated buffer, or NULL. */
static char *read_all(FILE *file)
{
	size_t size = 0, capacity = 4096, n;
	char *text = malloc(capacity), *bigger;

	while (text && (n = fread(text + size, 1, capacity - size - 1, file))) {
		size += n;
		if (capacity - size > 1)
			continue;
		capacity *= 2;
		bigger = realloc(text, capacity);
		if (!bigger)
			free(text);
		text = bigger;
	}
	if (text)
		text[size] = '\0';
	return text;
}

/* Fills `out` from the JSON array of transport objects in `json`. */
static bool parse_transports(const char *json, struct demo_transports *out)
{
	const char *object = json, *end;
	struct demo_transport *t;

	out->count = 0;
	while ((object = strchr(object, '{'))) {
		end = strchr(object, '}');
		if (!end)
			return demo_fail("ipczctl: unterminated JSON object");
		if (out->count == DEMO_MAX_TRANSPORTS)
			return demo_fail("ipczctl: more than %d transports",
					 DEMO_MAX_TRANSPORTS);
		t = &out->t[out->count++];
		t->id = json_field(object, end, "id");
		t->sent_messages = json_field(object, end, "sent_messages");
		t->recv_messages = json_field(object, end, "recv_messages");
		t->rings = json_field(object, end, "rings");
		if (t->id < 0)
			return demo_fail("ipczctl: a transport without an id");
		object = end;
	}
	return true;
}

bool demo_ipczctl_transports(struct demo_transports *out)
{
	char command[256];
	FILE *pipe;
	char *json;
	int status;
	bool ok;

	snprintf(command, sizeof(command), "%s -j transport",
		 demo_options.ipczctl);
	fflush(stdout);
	pipe = popen(command, "r");
	if (!pipe)
		return demo_fail("cannot run \"%s\"", command);
	json = read_all(pipe);
	status = pclose(pipe);
	if (!json)
		return demo_fail("no memory for the output of \"%s\"", command);
	if (status != 0) {
		free(json);
		return demo_fail("\"%s\" failed (status %d)", command, status);
	}
	ok = parse_transports(json, out);
	free(json);
	return ok;
}

static const struct demo_transport *find(const struct demo_transports *list,
					 long id)
{
	int i;

	for (i = 0; i < list->count; i++)
		if (list->t[i].id == id)
			return &list->t[i];
	return NULL;
}

void demo_ipczctl_label_new(struct demo_transports *now,
			    const struct demo_transports *before,
			    const char *label)
{
	int i;

	for (i = 0; i < now->count; i++)
		if (!find(before, now->t[i].id))
			now->t[i].label = label;
}

/* Prints one end's movement; true if any counter moved. */
static bool print_delta(const struct demo_transport *was,
			const struct demo_transport *is, const char *label)
{
	long sent = is->sent_messages - (was ? was->sent_messages : 0);
	long recv = is->recv_messages - (was ? was->recv_messages : 0);
	long rings = is->rings - (was ? was->rings : 0);

	demo_say("  transport %-4ld %-16s sent %+ld, received %+ld, "
		 "doorbell rings %+ld", is->id, label, sent, recv, rings);
	return sent || recv || rings;
}

bool demo_ipczctl_compare(const struct demo_transports *known,
			  const struct demo_transports *before,
			  const struct demo_transports *after)
{
	const struct demo_transport *link;
	bool quiet = true;
	int i;

	for (i = 0; i < after->count; i++) {
		link = find(known, after->t[i].id);
		if (link && link->label) {
			if (print_delta(find(before, after->t[i].id),
					&after->t[i], link->label))
				quiet = false;
		} else {
			print_delta(find(before, after->t[i].id),
				    &after->t[i], "new since start");
		}
	}
	return quiet;
}
