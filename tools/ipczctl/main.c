// SPDX-License-Identifier: MIT
/*
 * ipczctl: shows the objects of the ipcz kernel module (nodes, transports,
 * rendezvous names, memory regions and counters), read from its generic
 * netlink family, as tables or as JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"

#define EXIT_USAGE 2

struct command {
	const char *names[3];
	const struct object_kind *kind;	/* NULL: every kind */
};

static const struct command commands[] = {
	{ { "show", "all", "list" }, NULL },
	{ { "stats", "stat", NULL }, &stats_kind },
	{ { "node", "nodes", NULL }, &node_kind },
	{ { "transport", "transports", NULL }, &transport_kind },
	{ { "rendezvous", NULL, NULL }, &rendezvous_kind },
	{ { "region", "regions", NULL }, &region_kind },
};

static const struct object_kind *const all_kinds[] = {
	&stats_kind, &node_kind, &transport_kind, &rendezvous_kind,
	&region_kind,
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ipczctl [OPTIONS] [OBJECT [show]]\n"
		"OBJECT := { show | stats | node | transport | rendezvous | region }\n"
		"OPTIONS:\n"
		"  -j, --json     print JSON\n"
		"  -p, --pretty   indent the JSON\n"
		"  -d, --details  show every column in tables\n"
		"  -h, --help     print this help\n"
		"Without OBJECT, shows everything.\n");
}

static const struct command *find_command(const char *word)
{
	size_t i, n;

	for (i = 0; i < ARRAY_LEN(commands); i++)
		for (n = 0; n < ARRAY_LEN(commands[i].names); n++)
			if (commands[i].names[n] &&
			    !strcmp(commands[i].names[n], word))
				return &commands[i];
	return NULL;
}

static int show_one(struct ipcz_netlink *nl, const struct object_kind *kind,
		    const struct output_style *style)
{
	struct table t;
	int err;

	table_init(&t, kind->json_name, kind->columns, kind->ncolumns);
	err = ipcz_netlink_fill(nl, kind, &t);
	if (!err) {
		if (kind->dump)
			table_print(&t, style, stdout);
		else
			table_print_single(&t, style, stdout);
	}
	table_free(&t);
	return err;
}

static int show_all(struct ipcz_netlink *nl, const struct output_style *style)
{
	struct table tables[ARRAY_LEN(all_kinds)];
	struct table *list[ARRAY_LEN(all_kinds)];
	bool single[ARRAY_LEN(all_kinds)];
	size_t i, filled = 0;
	int err = 0;

	for (i = 0; i < ARRAY_LEN(all_kinds); i++) {
		const struct object_kind *kind = all_kinds[i];

		table_init(&tables[i], kind->json_name, kind->columns,
			   kind->ncolumns);
		list[i] = &tables[i];
		single[i] = !kind->dump;
		filled++;
		err = ipcz_netlink_fill(nl, kind, &tables[i]);
		if (err)
			break;
	}
	if (!err)
		tables_print(list, single, ARRAY_LEN(all_kinds), style,
			     stdout);
	for (i = 0; i < filled; i++)
		table_free(&tables[i]);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "details", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct output_style style = { 0 };
	const struct command *cmd = &commands[0];
	struct ipcz_netlink nl;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "jpdh", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			style.json = true;
			break;
		case 'p':
			style.pretty = true;
			break;
		case 'd':
			style.details = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cmd = find_command(argv[optind]);
		if (!cmd) {
			fprintf(stderr, "ipczctl: unknown object \"%s\"\n",
				argv[optind]);
			usage(stderr);
			return EXIT_USAGE;
		}
		optind++;
	}
	/* iproute2 habit: "ipczctl node show" means "ipczctl node". */
	if (optind < argc && (!strcmp(argv[optind], "show") ||
			      !strcmp(argv[optind], "list")))
		optind++;
	if (optind < argc) {
		fprintf(stderr, "ipczctl: unexpected argument \"%s\"\n",
			argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}

	err = ipcz_netlink_open(&nl);
	if (err == -ENOENT) {
		fprintf(stderr,
			"ipczctl: ipcz module not loaded (no generic netlink family \"ipcz\")\n");
		return EXIT_FAILURE;
	}
	if (err)
		return EXIT_FAILURE;
	if (cmd->kind)
		err = show_one(&nl, cmd->kind, &style);
	else
		err = show_all(&nl, &style);
	ipcz_netlink_close(&nl);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "ipczctl: writing output: %s\n",
			strerror(errno));
		return EXIT_FAILURE;
	}
	return err ? EXIT_FAILURE : EXIT_SUCCESS;
}
