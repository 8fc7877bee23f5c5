// SPDX-License-Identifier: MIT
/*
 * Host tests of ipczctl: the table and JSON writers (output.c) on made-up
 * rows, and the command line of the built tool ($IPCZCTL) where the
 * module is not loaded. The tool against the live module is tested in
 * the VM by selftests/ipcz/ipczctl_test.c.
 */
#include "kselftest_harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../output.h"

/* Captures what a writer prints into a string. */
struct capture {
	char *text;
	size_t len;
	FILE *f;
};

static FILE *capture_start(struct capture *c)
{
	c->text = NULL;
	c->len = 0;
	c->f = open_memstream(&c->text, &c->len);
	return c->f;
}

static const char *capture_end(struct capture *c)
{
	fclose(c->f);
	return c->text;
}

static char *json_of(const char *s, size_t len)
{
	struct capture c;

	json_write_string(capture_start(&c), s, len);
	return (char *)capture_end(&c);
}

#define EXPECT_JSON(expected, s, len) do { \
	char *__j = json_of((s), (len)); \
	EXPECT_STREQ((expected), __j); \
	free(__j); \
} while (0)

TEST(json_plain_and_escaped)
{
	EXPECT_JSON("\"abc\"", "abc", 3);
	EXPECT_JSON("\"\"", "", 0);
	EXPECT_JSON("\"a\\\"b\\\\c\"", "a\"b\\c", 5);
	EXPECT_JSON("\"\\n\\t\\u0001\\u001b\\u007f\"", "\n\t\x01\x1b\x7f", 5);
	/* Length, not NUL, ends the string. */
	EXPECT_JSON("\"ab\"", "abcdef", 2);
}

TEST(json_utf8)
{
	/* Valid sequences of 2, 3 and 4 bytes pass through. */
	EXPECT_JSON("\"\xc3\xa9\"", "\xc3\xa9", 2);
	EXPECT_JSON("\"\xe2\x82\xac\"", "\xe2\x82\xac", 3);
	EXPECT_JSON("\"\xf0\x9f\x98\x80\"", "\xf0\x9f\x98\x80", 4);
	/* Stray, truncated, overlong and surrogate bytes become U+FFFD. */
	EXPECT_JSON("\"\\ufffd\"", "\xff", 1);
	EXPECT_JSON("\"a\\ufffdb\"", "a\200b", 3);
	EXPECT_JSON("\"\\ufffd\"", "\xc3", 1);
	EXPECT_JSON("\"\\ufffd\\ufffd\"", "\xc0\xaf", 2);
	EXPECT_JSON("\"\\ufffd\\ufffd\\ufffd\"", "\xed\xa0\x80", 3);
	EXPECT_JSON("\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "\xf4\x90\x80\x80", 4);
}

static const struct column test_columns[] = {
	{ "id", COLUMN_U64, 1, false },
	{ "name", COLUMN_STRING, 2, false },
	{ "mode", COLUMN_OCTAL, 3, false },
	{ "hidden", COLUMN_U64, 4, true },
};

/* Two rows: a full one and one with only an id. */
static void fill_test_table(struct table *t)
{
	table_init(t, "things", test_columns, 4);
	table_add_row(t);
	table_set_u64(t, 0, 7);
	table_set_string(t, 1, "seven\x1b", 6);
	table_set_u64(t, 2, 0640);
	table_set_u64(t, 3, 99);
	table_add_row(t);
	table_set_u64(t, 0, 12345678901234ULL);
}

TEST(table_as_json)
{
	struct output_style style = { .json = true };
	struct capture c;
	struct table t;

	fill_test_table(&t);
	table_print(&t, &style, capture_start(&c));
	EXPECT_STREQ("[{\"id\":7,\"name\":\"seven\\u001b\",\"mode\":416,"
		     "\"hidden\":99},{\"id\":12345678901234,\"name\":null,"
		     "\"mode\":null,\"hidden\":null}]\n", capture_end(&c));
	free(c.text);
	table_free(&t);
}

TEST(table_as_pretty_json)
{
	struct output_style style = { .json = true, .pretty = true };
	struct capture c;
	struct table t;

	table_init(&t, "things", test_columns, 2);
	table_add_row(&t);
	table_set_u64(&t, 0, 1);
	table_set_string(&t, 1, "x", 1);
	table_print(&t, &style, capture_start(&c));
	EXPECT_STREQ("[\n    {\n        \"id\": 1,\n        \"name\": \"x\"\n"
		     "    }\n]\n", capture_end(&c));
	free(c.text);
	table_free(&t);
}

TEST(table_as_text)
{
	struct output_style style = { 0 };
	struct capture c;
	struct table t;

	fill_test_table(&t);
	table_print(&t, &style, capture_start(&c));
	/* Detail columns hidden, control bytes escaped, octal modes. */
	EXPECT_STREQ("ID              NAME       MODE\n"
		     "7               seven\\x1b  0640\n"
		     "12345678901234  -          -\n", capture_end(&c));
	free(c.text);

	style.details = true;
	table_print(&t, &style, capture_start(&c));
	EXPECT_STREQ("ID              NAME       MODE  HIDDEN\n"
		     "7               seven\\x1b  0640  99\n"
		     "12345678901234  -          -     -\n", capture_end(&c));
	free(c.text);
	table_free(&t);
}

TEST(empty_table)
{
	struct output_style json = { .json = true }, text = { 0 };
	struct capture c;
	struct table t;

	table_init(&t, "things", test_columns, 4);
	table_print(&t, &json, capture_start(&c));
	EXPECT_STREQ("[]\n", capture_end(&c));
	free(c.text);
	table_print(&t, &text, capture_start(&c));
	EXPECT_STREQ("ID  NAME  MODE\n", capture_end(&c));
	free(c.text);
	table_print_single(&t, &json, capture_start(&c));
	EXPECT_STREQ("{}\n", capture_end(&c));
	free(c.text);
	table_free(&t);
}

TEST(single_row)
{
	struct output_style json = { .json = true }, text = { 0 };
	struct capture c;
	struct table t;

	table_init(&t, "stats", test_columns, 3);
	table_add_row(&t);
	table_set_u64(&t, 0, 3);
	table_set_string(&t, 1, "n", 1);
	table_set_u64(&t, 2, 0755);
	table_print_single(&t, &json, capture_start(&c));
	EXPECT_STREQ("{\"id\":3,\"name\":\"n\",\"mode\":493}\n",
		     capture_end(&c));
	free(c.text);
	table_print_single(&t, &text, capture_start(&c));
	EXPECT_STREQ("id:   3\nname: n\nmode: 0755\n", capture_end(&c));
	free(c.text);
	table_free(&t);
}

TEST(several_tables)
{
	struct output_style json = { .json = true }, text = { 0 };
	struct table a, b, *list[2] = { &a, &b };
	bool single[2] = { true, false };
	struct capture c;

	table_init(&a, "stats", test_columns, 1);
	table_add_row(&a);
	table_set_u64(&a, 0, 5);
	table_init(&b, "things", test_columns, 1);
	tables_print(list, single, 2, &json, capture_start(&c));
	EXPECT_STREQ("{\"stats\":{\"id\":5},\"things\":[]}\n",
		     capture_end(&c));
	free(c.text);
	tables_print(list, single, 2, &text, capture_start(&c));
	EXPECT_STREQ("stats:\nid: 5\n\nthings:\nID\n", capture_end(&c));
	free(c.text);
	table_free(&a);
	table_free(&b);
}

TEST(many_rows)
{
	struct output_style json = { .json = true };
	struct capture c;
	struct table t;
	const char *out;
	size_t i, n = 0;

	table_init(&t, "things", test_columns, 1);
	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(0, table_add_row(&t));
		table_set_u64(&t, 0, i);
	}
	ASSERT_FALSE(t.failed);
	table_print(&t, &json, capture_start(&c));
	out = capture_end(&c);
	for (; (out = strstr(out, "\"id\":")); out++)
		n++;
	EXPECT_EQ(1000, n);
	EXPECT_NE(NULL, strstr(c.text, "{\"id\":999}]"));
	free(c.text);
	table_free(&t);
}

/* Runs $IPCZCTL with one argument; returns its exit status. */
static int run_tool(const char *arg, char *err, size_t errlen)
{
	const char *tool = getenv("IPCZCTL");
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	if (!tool || pipe(pipefd))
		return -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(pipefd[1], 2);
		execl(tool, tool, arg, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	n = read(pipefd[0], err, errlen - 1);
	err[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(cli_without_module)
{
	struct stat st;
	char err[512];

	if (!getenv("IPCZCTL"))
		SKIP(return, "IPCZCTL not set");
	if (stat("/sys/module/ipcz", &st) == 0)
		SKIP(return, "the ipcz module is loaded here");
	EXPECT_EQ(1, run_tool("show", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "ipcz module not loaded")) TH_LOG("%s", err);
	EXPECT_EQ(1, run_tool("-j", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "ipcz module not loaded"));
}

TEST(cli_usage)
{
	char err[512];

	if (!getenv("IPCZCTL"))
		SKIP(return, "IPCZCTL not set");
	EXPECT_EQ(0, run_tool("--help", err, sizeof(err)));
	EXPECT_EQ(2, run_tool("frobnicate", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "unknown object \"frobnicate\""));
	EXPECT_EQ(2, run_tool("-x", err, sizeof(err)));
}

TEST_HARNESS_MAIN
