/* SPDX-License-Identifier: MIT */
/*
 * Tables of introspection records, printed either as aligned text columns
 * or as JSON (an array of objects per table, as iproute2 does with -j).
 */
#ifndef IPCZCTL_OUTPUT_H
#define IPCZCTL_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum column_kind {
	COLUMN_U64,
	COLUMN_OCTAL,		/* a number shown in octal in text (modes) */
	COLUMN_STRING,
};

struct column {
	const char *name;	/* header in text mode, key in JSON */
	enum column_kind kind;
	unsigned int attr;	/* netlink attribute that fills it */
	bool detail;		/* text mode shows it only with -d */
};

struct cell {
	bool present;		/* false: attribute absent from the record */
	uint64_t u64;
	char *string;
};

struct table {
	const char *name;	/* JSON key when several tables are printed */
	const struct column *columns;
	size_t ncolumns;
	struct cell *cells;	/* nrows * ncolumns */
	size_t nrows;
	size_t capacity;
	bool failed;		/* out of memory while filling */
};

struct output_style {
	bool json;
	bool pretty;		/* JSON indented over several lines */
	bool details;		/* text mode shows every column */
};

void table_init(struct table *t, const char *name,
		const struct column *columns, size_t ncolumns);
void table_free(struct table *t);

/* Appends an empty row; the setters below fill the last row. */
int table_add_row(struct table *t);
void table_set_u64(struct table *t, size_t column, uint64_t value);
void table_set_string(struct table *t, size_t column, const char *value,
		      size_t len);

/* Text: a header line and aligned rows. JSON: an array of objects. */
void table_print(const struct table *t, const struct output_style *style,
		 FILE *out);
/* Text: "name: value" lines of the first row. JSON: one object. */
void table_print_single(const struct table *t,
			const struct output_style *style, FILE *out);

/* Several tables as one JSON object keyed by table name, or text sections. */
void tables_print(struct table *const *tables, const bool *single,
		  size_t ntables, const struct output_style *style, FILE *out);

/* Writes s (len bytes) as a JSON string literal, quotes included. */
void json_write_string(FILE *out, const char *s, size_t len);

#endif /* IPCZCTL_OUTPUT_H */
