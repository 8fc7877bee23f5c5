// SPDX-License-Identifier: MIT
/*
 * Text and JSON rendering of introspection tables.
 *
 * Strings come from the kernel (rendezvous names chosen by any local user),
 * so they are escaped in both forms: a name must never be able to move the
 * terminal cursor or break the JSON syntax.
 */
#include "output.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void table_init(struct table *t, const char *name,
		const struct column *columns, size_t ncolumns)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->columns = columns;
	t->ncolumns = ncolumns;
}

void table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncolumns; i++)
		free(t->cells[i].string);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
	t->capacity = 0;
}

int table_add_row(struct table *t)
{
	struct cell *row;

	if (t->nrows == t->capacity) {
		size_t capacity = t->capacity ? t->capacity * 2 : 16;
		struct cell *cells;

		cells = reallocarray(t->cells, capacity * t->ncolumns,
				     sizeof(*cells));
		if (!cells) {
			t->failed = true;
			return -1;
		}
		t->cells = cells;
		t->capacity = capacity;
	}
	row = &t->cells[t->nrows * t->ncolumns];
	memset(row, 0, t->ncolumns * sizeof(*row));
	t->nrows++;
	return 0;
}

static struct cell *last_row_cell(struct table *t, size_t column)
{
	if (!t->nrows || column >= t->ncolumns)
		return NULL;
	return &t->cells[(t->nrows - 1) * t->ncolumns + column];
}

void table_set_u64(struct table *t, size_t column, uint64_t value)
{
	struct cell *c = last_row_cell(t, column);

	if (c) {
		c->present = true;
		c->u64 = value;
	}
}

void table_set_string(struct table *t, size_t column, const char *value,
		      size_t len)
{
	struct cell *c = last_row_cell(t, column);

	if (!c)
		return;
	free(c->string);
	c->string = strndup(value, len);
	if (!c->string) {
		t->failed = true;
		c->present = false;
		return;
	}
	c->present = true;
}

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one. */
static size_t utf8_sequence_length(const unsigned char *s, size_t len)
{
	size_t need, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

void json_write_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	fputc('"', out);
	while (i < len) {
		unsigned char ch = p[i];

		if (ch == '"' || ch == '\\') {
			fprintf(out, "\\%c", ch);
			i++;
		} else if (ch == '\n') {
			fputs("\\n", out);
			i++;
		} else if (ch == '\t') {
			fputs("\\t", out);
			i++;
		} else if (ch < 0x20 || ch == 0x7f) {
			fprintf(out, "\\u%04x", ch);
			i++;
		} else {
			n = utf8_sequence_length(p + i, len - i);
			if (!n) {
				/* Not UTF-8: keep the JSON valid. */
				fputs("\\ufffd", out);
				i++;
			} else {
				fwrite(p + i, 1, n, out);
				i += n;
			}
		}
	}
	fputc('"', out);
}

/* Text form of a string: printable ASCII kept, the rest as \xNN. */
static char *text_escape(const char *s)
{
	size_t len = strlen(s), i, o = 0;
	char *r = malloc(len * 4 + 1);

	if (!r)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (isprint(ch) && ch < 0x80 && ch != '\\')
			r[o++] = (char)ch;
		else
			o += (size_t)sprintf(r + o, "\\x%02x", ch);
	}
	r[o] = '\0';
	return r;
}

static char *cell_text(const struct column *col, const struct cell *c)
{
	char *r = NULL;

	if (!c->present)
		return strdup("-");
	switch (col->kind) {
	case COLUMN_U64:
		if (asprintf(&r, "%" PRIu64, c->u64) < 0)
			r = NULL;
		break;
	case COLUMN_OCTAL:
		if (asprintf(&r, "%04" PRIo64, c->u64) < 0)
			r = NULL;
		break;
	case COLUMN_STRING:
		r = text_escape(c->string);
		break;
	}
	return r;
}

static void json_write_cell(FILE *out, const struct column *col,
			    const struct cell *c)
{
	if (!c->present) {
		fputs("null", out);
		return;
	}
	switch (col->kind) {
	case COLUMN_U64:
	case COLUMN_OCTAL:
		fprintf(out, "%" PRIu64, c->u64);
		break;
	case COLUMN_STRING:
		json_write_string(out, c->string, strlen(c->string));
		break;
	}
}

static void json_newline(FILE *out, const struct output_style *style,
			 int depth)
{
	if (!style->pretty)
		return;
	fputc('\n', out);
	while (depth-- > 0)
		fputs("    ", out);
}

static void json_write_row(const struct table *t, size_t row,
			   const struct output_style *style, int depth,
			   FILE *out)
{
	const struct cell *cells = &t->cells[row * t->ncolumns];
	size_t col;

	fputc('{', out);
	for (col = 0; col < t->ncolumns; col++) {
		if (col)
			fputc(',', out);
		json_newline(out, style, depth + 1);
		json_write_string(out, t->columns[col].name,
				  strlen(t->columns[col].name));
		fputs(style->pretty ? ": " : ":", out);
		json_write_cell(out, &t->columns[col], &cells[col]);
	}
	json_newline(out, style, depth);
	fputc('}', out);
}

static void json_write_table(const struct table *t,
			     const struct output_style *style, int depth,
			     FILE *out)
{
	size_t row;

	fputc('[', out);
	for (row = 0; row < t->nrows; row++) {
		if (row)
			fputc(',', out);
		json_newline(out, style, depth + 1);
		json_write_row(t, row, style, depth + 1, out);
	}
	if (t->nrows)
		json_newline(out, style, depth);
	fputc(']', out);
}

static void json_write_single(const struct table *t,
			      const struct output_style *style, int depth,
			      FILE *out)
{
	if (t->nrows)
		json_write_row(t, 0, style, depth, out);
	else
		fputs("{}", out);
}

static bool column_shown(const struct column *col,
			  const struct output_style *style)
{
	return style->details || !col->detail;
}

/* Index of the last column shown, so that it gets no trailing padding. */
static size_t last_shown_column(const struct table *t,
				const struct output_style *style)
{
	size_t col, last = 0;

	for (col = 0; col < t->ncolumns; col++)
		if (column_shown(&t->columns[col], style))
			last = col;
	return last;
}

static void text_write_header(const struct table *t, const size_t *widths,
			      const struct output_style *style, FILE *out)
{
	size_t last = last_shown_column(t, style), col, k;

	for (col = 0; col < t->ncolumns; col++) {
		const char *name = t->columns[col].name;

		if (!column_shown(&t->columns[col], style))
			continue;
		for (k = 0; name[k]; k++)
			fputc(toupper((unsigned char)name[k]), out);
		if (col != last)
			fprintf(out, "%*s", (int)(widths[col] - k + 2), "");
	}
	fputc('\n', out);
}

static void text_write_table(const struct table *t,
			     const struct output_style *style, FILE *out)
{
	size_t ncells = t->nrows * t->ncolumns, i, row, col;
	size_t last = last_shown_column(t, style);
	char **texts = calloc(ncells ? ncells : 1, sizeof(*texts));
	size_t *widths = calloc(t->ncolumns, sizeof(*widths));

	if (!texts || !widths)
		goto out;
	for (col = 0; col < t->ncolumns; col++)
		widths[col] = strlen(t->columns[col].name);
	for (i = 0; i < ncells; i++) {
		col = i % t->ncolumns;
		texts[i] = cell_text(&t->columns[col], &t->cells[i]);
		if (texts[i] && strlen(texts[i]) > widths[col])
			widths[col] = strlen(texts[i]);
	}
	text_write_header(t, widths, style, out);
	for (row = 0; row < t->nrows; row++) {
		for (col = 0; col < t->ncolumns; col++) {
			const char *s = texts[row * t->ncolumns + col];

			if (!column_shown(&t->columns[col], style))
				continue;
			if (!s)
				s = "?";
			if (col != last)
				fprintf(out, "%-*s  ", (int)widths[col], s);
			else
				fputs(s, out);
		}
		fputc('\n', out);
	}
out:
	if (texts)
		for (i = 0; i < ncells; i++)
			free(texts[i]);
	free(texts);
	free(widths);
}

static void text_write_single(const struct table *t, FILE *out)
{
	size_t col, width = 0;

	for (col = 0; col < t->ncolumns; col++)
		if (strlen(t->columns[col].name) > width)
			width = strlen(t->columns[col].name);
	for (col = 0; t->nrows && col < t->ncolumns; col++) {
		char *s = cell_text(&t->columns[col], &t->cells[col]);

		fprintf(out, "%s:%*s %s\n", t->columns[col].name,
			(int)(width - strlen(t->columns[col].name)), "",
			s ? s : "?");
		free(s);
	}
}

void table_print(const struct table *t, const struct output_style *style,
		 FILE *out)
{
	if (style->json) {
		json_write_table(t, style, 0, out);
		fputc('\n', out);
	} else {
		text_write_table(t, style, out);
	}
}

void table_print_single(const struct table *t,
			const struct output_style *style, FILE *out)
{
	if (style->json) {
		json_write_single(t, style, 0, out);
		fputc('\n', out);
	} else {
		text_write_single(t, out);
	}
}

void tables_print(struct table *const *tables, const bool *single,
		  size_t ntables, const struct output_style *style, FILE *out)
{
	size_t i;

	if (!style->json) {
		for (i = 0; i < ntables; i++) {
			if (i)
				fputc('\n', out);
			fprintf(out, "%s:\n", tables[i]->name);
			if (single[i])
				text_write_single(tables[i], out);
			else
				text_write_table(tables[i], style, out);
		}
		return;
	}
	fputc('{', out);
	for (i = 0; i < ntables; i++) {
		if (i)
			fputc(',', out);
		json_newline(out, style, 1);
		json_write_string(out, tables[i]->name,
				  strlen(tables[i]->name));
		fputs(style->pretty ? ": " : ":", out);
		if (single[i])
			json_write_single(tables[i], style, 1, out);
		else
			json_write_table(tables[i], style, 1, out);
	}
	json_newline(out, style, 0);
	fputs("}\n", out);
}
