/* test_conf.c — common/conf.c, conf_lex.c and conf_reload.c: the
 * postgresql.conf file syntax line by line, every value type accepted and
 * rejected, flags and their precedence over the file, the wording of every
 * error an operator can meet, and what a reload changes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/conf_lex.h"
#include "common/conf_reload.h"
#include "tests/unit/suites.h"

struct tconf {
	char *name;
	char *data_dir;
	int64_t port;
	bool verbose;
	int64_t election_timeout;
	int64_t max_size;
	int sync_mode;
	int64_t count;
	char *note;
	char *cluster_id;
};

static const char *const modes[] = { "fsync", "fdatasync", "none", NULL };

#define F(field) offsetof(struct tconf, field)
static const struct conf_option table[] = {
	{ .key = "name",
	  .type = CONF_STRING,
	  .help = "this node's name",
	  .offset = F(name),
	  .arg = "NAME" },
	{ .key = "data_dir",
	  .type = CONF_STRING,
	  .def = "/var/lib/tenure",
	  .help = "where the log lives",
	  .offset = F(data_dir),
	  .arg = "DIR" },
	{ .key = "port",
	  .type = CONF_INT,
	  .def = "7000",
	  .min = 1,
	  .max = 65535,
	  .help = "TCP port for peers",
	  .offset = F(port) },
	{ .key = "verbose",
	  .type = CONF_BOOL,
	  .def = "off",
	  .help = "log every message",
	  .offset = F(verbose) },
	{ .key = "election_timeout",
	  .type = CONF_DURATION_MS,
	  .def = "1s",
	  .min = 10,
	  .max = 3600 * 1000,
	  .help = "start an election after",
	  .offset = F(election_timeout) },
	{ .key = "max_size",
	  .type = CONF_SIZE,
	  .def = "64MB",
	  .help = "largest log segment",
	  .offset = F(max_size) },
	{ .key = "sync_mode",
	  .type = CONF_ENUM,
	  .def = "fsync",
	  .choices = modes,
	  .help = "how to flush",
	  .offset = F(sync_mode) },
	{ .key = "count",
	  .type = CONF_INT,
	  .help = "any integer",
	  .offset = F(count) },
	{ .key = "note",
	  .type = CONF_STRING,
	  .help = "free text",
	  .offset = F(note) },
	{ .key = "cluster.id",
	  .type = CONF_STRING,
	  .help = "dotted key",
	  .offset = F(cluster_id) },
};
#define N (sizeof(table) / sizeof(table[0]))

struct ctx {
	struct tconf c;
	char err[512];
	char path[32];
};

/* Write text to a fresh temp file; the path goes into x->path. */
static void write_temp(struct ctx *x, const char *text, size_t len)
{
	strcpy(x->path, "/tmp/test-conf-XXXXXX");
	int fd = mkstemp(x->path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* Run conf_parse_args over "tenured" + the NULL-terminated args.  With
 * text, a temp file holds it: "@CONF" in args stands for its path, and
 * without "@CONF" the args start with "--config <path>". */
static int vparse_n(struct ctx *x, const char *text, size_t len, va_list ap)
{
	const char *argv[32] = { "/usr/sbin/tenured" }, *a;
	int argc = 1, rc;
	bool placed = false;

	memset(x, 0x5a, sizeof(*x)); /* conf must not need a zeroed struct */
	x->err[0] = '\0';
	x->path[0] = '\0';
	if (text)
		write_temp(x, text, len);
	while ((a = va_arg(ap, const char *)) && argc < 29) {
		placed |= strcmp(a, "@CONF") == 0;
		argv[argc++] = strcmp(a, "@CONF") ? a : x->path;
	}
	if (text && !placed) {
		memmove(argv + 3, argv + 1, (size_t)(argc - 1) * sizeof(*argv));
		argv[1] = "--config";
		argv[2] = x->path;
		argc += 2;
	}
	rc = conf_parse_args(table, N, argc, (char **)argv, &x->c, x->err,
			     sizeof(x->err));
	if (text)
		unlink(x->path);
	return rc;
}

static int parse(struct ctx *x, const char *text, ...)
{
	va_list ap;
	va_start(ap, text);
	int rc = vparse_n(x, text, text ? strlen(text) : 0, ap);
	va_end(ap);
	return rc;
}

static int parse_bytes(struct ctx *x, const char *text, size_t len, ...)
{
	va_list ap;
	va_start(ap, len);
	int rc = vparse_n(x, text, len, ap);
	va_end(ap);
	return rc;
}

#define OK(x, ...)                                                         \
	ck_assert_msg(parse(x, __VA_ARGS__, NULL) == CONF_OK, "error: %s", \
		      (x)->err)

/* The call fails with exactly the message fmt (which may use x->path). */
#define FAILS(x, args, ...)                                                \
	do {                                                               \
		char want_[512];                                           \
		ck_assert_int_eq(parse args, CONF_ERROR);                  \
		snprintf(want_, sizeof want_, __VA_ARGS__);                \
		ck_assert_str_eq((x)->err, want_);                         \
		ck_assert_ptr_null((x)->c.data_dir); /* nothing to free */ \
	} while (0)

/* A file holding just "key = value", for one value of one type. */
static int parse_one(struct ctx *x, const char *key, const char *value)
{
	char text[256];
	snprintf(text, sizeof text, "%s = %s\n", key, value);
	return parse(x, text, NULL);
}

static void value_ok(const char *key, const char *value)
{
	struct ctx x;
	ck_assert_msg(parse_one(&x, key, value) == CONF_OK, "%s = %s: %s", key,
		      value, x.err);
	conf_free(table, N, &x.c);
}

static void value_fails(const char *key, const char *value, const char *msg)
{
	struct ctx x;
	char want[512];
	ck_assert_int_eq(parse_one(&x, key, value), CONF_ERROR);
	snprintf(want, sizeof want, "%s:1: %s", x.path, msg);
	ck_assert_str_eq(x.err, want);
}

/* "key = text" fails as an invalid value, quoting shown in the message. */
static void invalid(const char *key, const char *text, const char *shown,
		    const char *expected)
{
	char msg[512];
	snprintf(msg, sizeof msg,
		 "invalid value for parameter \"%s\": "
		 "\"%s\" (%s)",
		 key, shown, expected);
	value_fails(key, text, msg);
}

static int64_t int_of(const char *key, const char *value)
{
	struct ctx x;
	ck_assert_msg(parse_one(&x, key, value) == CONF_OK, "%s", x.err);
	int64_t v = strcmp(key, "port") == 0       ? x.c.port
		    : strcmp(key, "count") == 0    ? x.c.count
		    : strcmp(key, "max_size") == 0 ? x.c.max_size
						   : x.c.election_timeout;
	conf_free(table, N, &x.c);
	return v;
}

/* ---- defaults and file syntax ------------------------------------------- */

START_TEST(test_defaults)
{
	struct ctx x;
	OK(&x, NULL);
	ck_assert_ptr_null(x.c.name);
	ck_assert_str_eq(x.c.data_dir, "/var/lib/tenure");
	ck_assert_int_eq(x.c.port, 7000);
	ck_assert(!x.c.verbose);
	ck_assert_int_eq(x.c.election_timeout, 1000);
	ck_assert_int_eq(x.c.max_size, 64 << 20);
	ck_assert_int_eq(x.c.sync_mode, 0);
	ck_assert_int_eq(x.c.count, 0);
	ck_assert_ptr_null(x.c.note);
	conf_free(table, N, &x.c);
	ck_assert_ptr_null(x.c.data_dir);
	conf_free(table, N, &x.c); /* twice is harmless */
}
END_TEST

START_TEST(test_comments_blank_lines_whitespace)
{
	struct ctx x;
	OK(&x, "# a comment\n"
	       "\n"
	       "   \t \n"
	       "   # indented comment\n"
	       "port = 5432 # trailing comment\n"
	       "\tcount\t=\t-3\t\n"
	       "name=n1#comment right after the value\n"
	       "note = 'a # is not a comment in quotes' # but this is\n"
	       "data_dir = /srv/tenure   \n"
	       "cluster.id = c-1"); /* no newline at end of file */
	ck_assert_int_eq(x.c.port, 5432);
	ck_assert_int_eq(x.c.count, -3);
	ck_assert_str_eq(x.c.name, "n1");
	ck_assert_str_eq(x.c.note, "a # is not a comment in quotes");
	ck_assert_str_eq(x.c.data_dir, "/srv/tenure");
	ck_assert_str_eq(x.c.cluster_id, "c-1");
	conf_free(table, N, &x.c);
}
END_TEST

START_TEST(test_equals_is_optional)
{
	struct ctx x;
	OK(&x, "port 5433\nname\t'n 2'\nverbose on\n");
	ck_assert_int_eq(x.c.port, 5433);
	ck_assert_str_eq(x.c.name, "n 2");
	ck_assert(x.c.verbose);
	conf_free(table, N, &x.c);
}
END_TEST

START_TEST(test_quotes_and_escapes)
{
	struct ctx x;
	OK(&x, "name = 'it''s'\n"
	       "note = 'a\\'b\\\\c\\nd\\te\\qf'\n"
	       "data_dir = ''\n"
	       "cluster.id = ''''\n"
	       "port = '80'\n"
	       "max_size = '64 kB'\n");
	ck_assert_str_eq(x.c.name, "it's");
	ck_assert_str_eq(x.c.note, "a'b\\c\nd\teqf");
	ck_assert_str_eq(x.c.data_dir, "");
	ck_assert_str_eq(x.c.cluster_id, "'");
	ck_assert_int_eq(x.c.port, 80);
	ck_assert_int_eq(x.c.max_size, 64 * 1024);
	conf_free(table, N, &x.c);
}
END_TEST

START_TEST(test_keys_are_case_insensitive)
{
	struct ctx x;
	OK(&x, "PORT = 1\nData_Dir = /d\nVERBOSE = yes\nCluster.ID = x\n");
	ck_assert_int_eq(x.c.port, 1);
	ck_assert_str_eq(x.c.data_dir, "/d");
	ck_assert(x.c.verbose);
	ck_assert_str_eq(x.c.cluster_id, "x");
	conf_free(table, N, &x.c);
}
END_TEST

START_TEST(test_duplicates_last_wins)
{
	struct ctx x;
	OK(&x, "port = 1\nname = a\nport = 2\nname = b\nNAME = c\n");
	ck_assert_int_eq(x.c.port, 2);
	ck_assert_str_eq(x.c.name, "c"); /* earlier copies freed: see ASan */
	conf_free(table, N, &x.c);
}
END_TEST

START_TEST(test_crlf_line_endings)
{
	struct ctx x;
	OK(&x, "# windows\r\nport = 5\r\nname = 'n'\r\n\r\ndata_dir = /x\r\n");
	ck_assert_int_eq(x.c.port, 5);
	ck_assert_str_eq(x.c.name, "n");
	ck_assert_str_eq(x.c.data_dir, "/x");
	conf_free(table, N, &x.c);
}
END_TEST

START_TEST(test_syntax_errors)
{
	struct ctx x;
	FAILS(&x, (&x, "port = 1\nname = 'abc\n", NULL),
	      "%s:2: unterminated quoted string in the value of \"name\"; "
	      "close it with ' on the same line",
	      x.path);
	FAILS(&x, (&x, "name = 'ab\\'\n", NULL),
	      "%s:1: unterminated quoted string in the value of \"name\"; "
	      "close it with ' on the same line",
	      x.path);
	FAILS(&x, (&x, "\n\n\nport = 1 2\n", NULL),
	      "%s:4: syntax error: unexpected text \"2\" after the value of "
	      "\"port\"; quote values that contain spaces, quotes or '#': "
	      "key = 'a b'",
	      x.path);
	FAILS(&x, (&x, "name = 'a' b\n", NULL),
	      "%s:1: syntax error: unexpected text \"b\" after the value of "
	      "\"name\"; quote values that contain spaces, quotes or '#': "
	      "key = 'a b'",
	      x.path);
	FAILS(&x, (&x, "name = it's\n", NULL),
	      "%s:1: syntax error: unexpected text \"'s\" after the value of "
	      "\"name\"; quote values that contain spaces, quotes or '#': "
	      "key = 'a b'",
	      x.path);
	FAILS(&x, (&x, "port =\n", NULL),
	      "%s:1: missing value for parameter \"port\"; write port = VALUE",
	      x.path);
	FAILS(&x, (&x, "port # no value\n", NULL),
	      "%s:1: missing value for parameter \"port\"; write port = VALUE",
	      x.path);
	FAILS(&x, (&x, "= 5\n", NULL),
	      "%s:1: syntax error: expected a parameter name before \"=\"",
	      x.path);
	FAILS(&x, (&x, "include 'other.conf'\n", NULL),
	      "%s:1: \"include\" directives are not supported; put the "
	      "settings in this file",
	      x.path);
}
END_TEST

START_TEST(test_nul_byte_is_rejected)
{
	struct ctx x;
	static const char text[] = "port = 1\nna\0me = x\n";
	ck_assert_int_eq(parse_bytes(&x, text, sizeof(text) - 1, NULL),
			 CONF_ERROR);
	char want[128];
	snprintf(want, sizeof want,
		 "%s:2: unexpected NUL byte; the "
		 "configuration file must be text",
		 x.path);
	ck_assert_str_eq(x.err, want);
}
END_TEST

START_TEST(test_unknown_key_suggests)
{
	struct ctx x;
	FAILS(&x, (&x, "port = 1\n# x\ndata_dri = /x\n", NULL),
	      "%s:3: unrecognized configuration parameter \"data_dri\" "
	      "(did you mean \"data_dir\"?)",
	      x.path);
	FAILS(&x, (&x, "Election_Timeot = 1s\n", NULL),
	      "%s:1: unrecognized configuration parameter \"Election_Timeot\" "
	      "(did you mean \"election_timeout\"?)",
	      x.path);
	FAILS(&x, (&x, "data-dir = /x\n", NULL),
	      "%s:1: unrecognized configuration parameter \"data-dir\" "
	      "(did you mean \"data_dir\"?)",
	      x.path);
	FAILS(&x, (&x, "bananas = 1\n", NULL),
	      "%s:1: unrecognized configuration parameter \"bananas\"; see "
	      "--help for the known parameters",
	      x.path);
	FAILS(&x, (&x, "pt = 1\n", NULL), /* 2 edits from "port" but 2 long */
	      "%s:1: unrecognized configuration parameter \"pt\"; see "
	      "--help for the known parameters",
	      x.path);
	FAILS(&x, (&x, "config = /etc/x\n", NULL),
	      "%s:1: unrecognized configuration parameter \"config\"; see "
	      "--help for the known parameters",
	      x.path);
}
END_TEST

START_TEST(test_missing_config_file)
{
	struct ctx x;
	FAILS(&x,
	      (&x, NULL, "--config", "/tmp/no-such-dir-tenure/t.conf", NULL),
	      "could not open configuration file "
	      "\"/tmp/no-such-dir-tenure/t.conf\": No such file or directory");
	FAILS(&x, (&x, NULL, "--config", "/tmp", NULL),
	      "could not read configuration file \"/tmp\": Is a directory");
}
END_TEST

/* ---- value types -------------------------------------------------------- */

START_TEST(test_int_values)
{
	ck_assert_int_eq(int_of("count", "0"), 0);
	ck_assert_int_eq(int_of("count", "-42"), -42);
	ck_assert_int_eq(int_of("count", "+7"), 7);
	ck_assert_int_eq(int_of("count", "007"), 7); /* decimal, not octal */
	ck_assert_int_eq(int_of("count", "' 12 '"), 12);
	ck_assert(int_of("count", "9223372036854775807") == INT64_MAX);
	ck_assert(int_of("count", "-9223372036854775808") == INT64_MIN);
	ck_assert_int_eq(int_of("port", "1"), 1);
	ck_assert_int_eq(int_of("port", "65535"), 65535);

	invalid("count", "abc", "abc", "expected an integer");
	invalid("count", "12abc", "12abc", "expected an integer");
	invalid("count", "1.5", "1.5", "expected an integer");
	invalid("count", "''", "", "expected an integer");
	invalid("count", "0x10", "0x10", "expected an integer");
	invalid("count", "-", "-", "expected an integer");
	invalid("count", "5ms", "5ms", "expected an integer");
	invalid("count", "'1 2'", "1 2", "expected an integer");
	value_fails("count", "9223372036854775808",
		    "invalid value for parameter \"count\": "
		    "\"9223372036854775808\" (the number does not fit in 64 "
		    "bits)");
	value_fails("count", "-9223372036854775809",
		    "invalid value for parameter \"count\": "
		    "\"-9223372036854775809\" (the number does not fit in 64 "
		    "bits)");
}
END_TEST

START_TEST(test_int_range_with_file_line)
{
	struct ctx x;
	FAILS(&x, (&x, "# tenured.conf\nname = a\nport = 70000\n", NULL),
	      "%s:3: value 70000 for parameter \"port\" is out of range "
	      "(1 .. 65535)",
	      x.path);
	value_fails("port", "0",
		    "value 0 for parameter \"port\" is out of "
		    "range (1 .. 65535)");
	value_fails("port", "-1",
		    "value -1 for parameter \"port\" is out of "
		    "range (1 .. 65535)");
}
END_TEST

START_TEST(test_bool_values)
{
	static const char *const on[] = { "on",  "ON", "true", "True", "yes",
					  "YES", "1",  "'on'", NULL };
	static const char *const off[] = { "off", "Off", "false", "FALSE",
					   "no",  "No",  "0",     NULL };
	for (int i = 0; on[i]; i++) {
		struct ctx x;
		ck_assert_int_eq(parse_one(&x, "verbose", on[i]), CONF_OK);
		ck_assert_msg(x.c.verbose, "%s", on[i]);
		conf_free(table, N, &x.c);
	}
	for (int i = 0; off[i]; i++) {
		struct ctx x;
		char text[64];
		snprintf(text, sizeof text, "verbose = on\nverbose = %s\n",
			 off[i]);
		ck_assert_int_eq(parse(&x, text, NULL), CONF_OK);
		ck_assert_msg(!x.c.verbose, "%s", off[i]);
		conf_free(table, N, &x.c);
	}
	static const char *const bad[] = { "maybe", "2", "onn", "t", NULL };
	for (int i = 0; bad[i]; i++)
		invalid("verbose", bad[i], bad[i],
			"expected on/off, "
			"true/false, yes/no or 1/0");
	value_fails("verbose", "''",
		    "invalid value for parameter \"verbose\": "
		    "\"\" (expected on/off, true/false, yes/no or 1/0)");
}
END_TEST

START_TEST(test_duration_values)
{
	ck_assert_int_eq(int_of("election_timeout", "500"), 500);
	ck_assert_int_eq(int_of("election_timeout", "500ms"), 500);
	ck_assert_int_eq(int_of("election_timeout", "2s"), 2000);
	ck_assert_int_eq(int_of("election_timeout", "'2 s'"), 2000);
	ck_assert_int_eq(int_of("election_timeout", "1min"), 60000);
	ck_assert_int_eq(int_of("election_timeout", "1h"), 3600000);
	ck_assert_int_eq(int_of("election_timeout", "10ms"), 10);

	static const char *const bad[] = { "abc",  "1m",    "1S",
					   "1MS",  "1.5s",  "s",
					   "1sec", "1 s s", NULL };
	for (int i = 0; bad[i]; i++) {
		char text[64];
		snprintf(text, sizeof text, "'%s'", bad[i]);
		invalid("election_timeout", text, bad[i],
			"expected a duration "
			"like 1000ms or 1s; units: ms, s, min, h, d");
	}
	value_fails("election_timeout", "2h",
		    "value 2h for parameter \"election_timeout\" is out of "
		    "range (10ms .. 1h)");
	value_fails("election_timeout", "9ms",
		    "value 9ms for parameter \"election_timeout\" is out of "
		    "range (10ms .. 1h)");
	value_fails("election_timeout", "7200000",
		    "value 2h for parameter \"election_timeout\" is out of "
		    "range (10ms .. 1h)");
	value_fails("election_timeout", "106751991167301d",
		    "invalid value for parameter \"election_timeout\": "
		    "\"106751991167301d\" (the number does not fit in 64 "
		    "bits)");
}
END_TEST

START_TEST(test_size_values)
{
	ck_assert_int_eq(int_of("max_size", "1024"), 1024);
	ck_assert_int_eq(int_of("max_size", "10B"), 10);
	ck_assert_int_eq(int_of("max_size", "64kB"), 64 * 1024);
	ck_assert_int_eq(int_of("max_size", "1MB"), 1 << 20);
	ck_assert(int_of("max_size", "1GB") == INT64_C(1) << 30);
	ck_assert(int_of("max_size", "1TB") == INT64_C(1) << 40);
	ck_assert(int_of("max_size", "8388607TB") == INT64_C(8388607) << 40);

	static const char *const bad[] = { "64kb", "1mb",   "1K", "1KB", "1gb",
					   "abc",  "1.5MB", "MB", NULL };
	for (int i = 0; bad[i]; i++)
		invalid("max_size", bad[i], bad[i],
			"expected a size like 64kB "
			"or 1MB; units: B, kB, MB, GB, TB");
	value_fails("max_size", "8388608TB",
		    "invalid value for parameter \"max_size\": \"8388608TB\" "
		    "(the number does not fit in 64 bits)");
}
END_TEST

START_TEST(test_enum_values)
{
	struct ctx x;
	OK(&x, "sync_mode = none\n");
	ck_assert_int_eq(x.c.sync_mode, 2);
	conf_free(table, N, &x.c);
	OK(&x, "sync_mode = 'FDataSync'\n");
	ck_assert_int_eq(x.c.sync_mode, 1);
	conf_free(table, N, &x.c);
	value_fails("sync_mode", "fsnyc",
		    "invalid value for parameter "
		    "\"sync_mode\": \"fsnyc\" (expected one of: fsync, "
		    "fdatasync, none)");
}
END_TEST

START_TEST(test_string_values)
{
	value_ok("name", "''");
	value_ok("name", "'x y z'");
	struct ctx x;
	OK(&x, "note = 'caf\xc3\xa9 \\\\ \"quoted\"'\n");
	ck_assert_str_eq(x.c.note, "caf\xc3\xa9 \\ \"quoted\"");
	conf_free(table, N, &x.c);
}
END_TEST

/* ---- the command line --------------------------------------------------- */

START_TEST(test_flag_forms)
{
	struct ctx x;
	OK(&x, NULL, "--data-dir", "/a", "--port=81", "--name", "n",
	   "--election_timeout", "2s", "--MAX-SIZE=1GB", "--sync-mode", "none",
	   "--cluster.id=c", "--count", "-5");
	ck_assert_str_eq(x.c.data_dir, "/a");
	ck_assert_int_eq(x.c.port, 81);
	ck_assert_str_eq(x.c.name, "n");
	ck_assert_int_eq(x.c.election_timeout, 2000);
	ck_assert(x.c.max_size == INT64_C(1) << 30);
	ck_assert_int_eq(x.c.sync_mode, 2);
	ck_assert_str_eq(x.c.cluster_id, "c");
	ck_assert_int_eq(x.c.count, -5);
	conf_free(table, N, &x.c);

	OK(&x, NULL, "--data_dir=", "--note=a=b", "--port", "1", "--port", "2");
	ck_assert_str_eq(x.c.data_dir, "");
	ck_assert_str_eq(x.c.note, "a=b");
	ck_assert_int_eq(x.c.port, 2); /* last one wins */
	conf_free(table, N, &x.c);
}
END_TEST

START_TEST(test_flags_override_file)
{
	static const char text[] = "port = 1\nname = file\nverbose = on\n";
	struct ctx x;
	OK(&x, text, "--port", "2", "--config", "@CONF", "--verbose=off");
	ck_assert_int_eq(x.c.port, 2);
	ck_assert_str_eq(x.c.name, "file");
	ck_assert(!x.c.verbose);
	conf_free(table, N, &x.c);
}
END_TEST

START_TEST(test_config_equals_form)
{
	struct ctx x;
	char arg[64];
	write_temp(&x, "port = 3\n", 9);
	snprintf(arg, sizeof arg, "--config=%s", x.path);
	char *argv[] = { "tenured", "--name", "n", arg, NULL };
	int rc = conf_parse_args(table, N, 4, argv, &x.c, x.err, sizeof x.err);
	unlink(x.path);
	ck_assert_msg(rc == CONF_OK, "%s", x.err);
	ck_assert_int_eq(x.c.port, 3);
	ck_assert_str_eq(x.c.name, "n");
	conf_free(table, N, &x.c);
}
END_TEST

START_TEST(test_bare_boolean_flag)
{
	struct ctx x;
	OK(&x, NULL, "--verbose");
	ck_assert(x.c.verbose);
	conf_free(table, N, &x.c);
	OK(&x, "verbose = on\n", "--verbose", "off");
	ck_assert(!x.c.verbose);
	conf_free(table, N, &x.c);
	OK(&x, NULL, "--verbose", "--port", "5");
	ck_assert(x.c.verbose);
	ck_assert_int_eq(x.c.port, 5);
	conf_free(table, N, &x.c);
	OK(&x, NULL, "--verbose=no", "--verbose=YES");
	ck_assert(x.c.verbose);
	conf_free(table, N, &x.c);
	FAILS(&x, (&x, NULL, "--verbose", "maybe", NULL),
	      "invalid value for parameter \"verbose\": \"maybe\" (expected "
	      "on/off, true/false, yes/no or 1/0)");
}
END_TEST

START_TEST(test_flag_errors)
{
	struct ctx x;
	FAILS(&x, (&x, NULL, "--port", "1", "--data-dir", NULL),
	      "missing value for --data-dir");
	FAILS(&x, (&x, NULL, "--data-dir", "--port", "5", NULL),
	      "missing value for --data-dir");
	FAILS(&x, (&x, NULL, "--config", NULL), "missing value for --config");
	FAILS(&x, (&x, NULL, "--port=", NULL),
	      "invalid value for parameter \"port\": \"\" (expected an "
	      "integer)");
	FAILS(&x, (&x, NULL, "--port", "70000", NULL),
	      "value 70000 for parameter \"port\" is out of range (1 .. "
	      "65535)");
	FAILS(&x, (&x, NULL, "--election-timeout", "abc", NULL),
	      "invalid value for parameter \"election_timeout\": \"abc\" "
	      "(expected a duration like 1000ms or 1s; units: ms, s, min, h, "
	      "d)");
	FAILS(&x, (&x, NULL, "-x", NULL),
	      "unrecognized argument \"-x\"; try \"tenured --help\" for the "
	      "list of options");
	FAILS(&x, (&x, NULL, "--port", "1", "stray", NULL),
	      "unrecognized argument \"stray\"; try \"tenured --help\" for the "
	      "list of options");
	FAILS(&x, (&x, NULL, "--", NULL),
	      "unrecognized argument \"--\"; try \"tenured --help\" for the "
	      "list of options");
	FAILS(&x, (&x, NULL, "--data-dri", "/x", NULL),
	      "unrecognized option \"--data-dri\" (did you mean "
	      "\"--data-dir\"?)");
	FAILS(&x, (&x, NULL, "--DATA_DRI=/x", NULL),
	      "unrecognized option \"--DATA_DRI\" (did you mean "
	      "\"--data-dir\"?)");
	FAILS(&x, (&x, NULL, "--bananas", NULL),
	      "unrecognized argument \"--bananas\"; try \"tenured --help\" for "
	      "the list of options");
	/* a bad flag is reported even when the file is fine */
	FAILS(&x, (&x, "port = 1\n", "--port", "x", NULL),
	      "invalid value for parameter \"port\": \"x\" (expected an "
	      "integer)");
	/* an earlier bad value of a flag given twice still counts */
	FAILS(&x, (&x, NULL, "--port", "x", "--port", "2", NULL),
	      "invalid value for parameter \"port\": \"x\" (expected an "
	      "integer)");
}
END_TEST

START_TEST(test_help_flag)
{
	struct ctx x;
	ck_assert_int_eq(parse(&x, NULL, "--help", NULL), CONF_HELP);
	conf_free(table, N, &x.c);
	ck_assert_int_eq(parse(&x, NULL, "--port", "2", "-h", NULL), CONF_HELP);
	conf_free(table, N, &x.c);
}
END_TEST

/* A command-line-only switch (--check-config) leaves argv without it. */
START_TEST(test_take_switch)
{
	char a0[] = "prog", a1[] = "--check-config", a2[] = "--port",
	     a3[] = "2", a4[] = "--check-config";
	char *argv[] = { a0, a1, a2, a3, a4, NULL };
	int argc = 5;
	ck_assert(conf_take_switch(&argc, argv, "--check-config"));
	ck_assert_int_eq(argc, 3);
	ck_assert_str_eq(argv[1], "--port");
	ck_assert_str_eq(argv[2], "2");
	ck_assert_ptr_null(argv[3]);
	ck_assert(!conf_take_switch(&argc, argv, "--check-config"));
	ck_assert_int_eq(argc, 3);
}
END_TEST

/* ---- required parameters ------------------------------------------------ */

struct rconf {
	char *name;
	int64_t id;
};
static const struct conf_option rtable[] = {
	{ .key = "node_name",
	  .type = CONF_STRING,
	  .required = true,
	  .help = "required string",
	  .offset = offsetof(struct rconf, name) },
	{ .key = "id",
	  .type = CONF_INT,
	  .required = true,
	  .min = 1,
	  .max = 9,
	  .help = "required int",
	  .offset = offsetof(struct rconf, id) },
};

static int rparse(struct rconf *c, char *err, size_t errlen, int argc,
		  char **argv)
{
	return conf_parse_args(rtable, 2, argc, argv, c, err, errlen);
}

START_TEST(test_required)
{
	struct rconf c;
	char err[256];
	char *none[] = { "tenured", NULL };
	char *one[] = { "tenured", "--node-name", "a", NULL };
	char *both[] = { "tenured", "--id", "3", "--node-name", "a", NULL };

	ck_assert_int_eq(rparse(&c, err, sizeof err, 1, none), CONF_ERROR);
	ck_assert_str_eq(err, "parameter \"node_name\" is required: set "
			      "node_name in the configuration file or pass "
			      "--node-name");
	ck_assert_ptr_null(c.name);
	ck_assert_int_eq(rparse(&c, err, sizeof err, 3, one), CONF_ERROR);
	ck_assert_str_eq(err, "parameter \"id\" is required: set id in the "
			      "configuration file or pass --id");
	ck_assert_int_eq(rparse(&c, err, sizeof err, 5, both), CONF_OK);
	ck_assert_str_eq(c.name, "a");
	ck_assert_int_eq(c.id, 3);
	conf_free(rtable, 2, &c);

	/* the file counts as well as a flag */
	struct ctx x;
	write_temp(&x, "node_name = 'b'\nid = 4\n", 22);
	char *file[] = { "tenured", "--config", x.path, NULL };
	int rc = rparse(&c, err, sizeof err, 3, file);
	unlink(x.path);
	ck_assert_msg(rc == CONF_OK, "%s", err);
	ck_assert_str_eq(c.name, "b");
	ck_assert_int_eq(c.id, 4);
	conf_free(rtable, 2, &c);
}
END_TEST

START_TEST(test_bad_default_is_reported)
{
	static const struct conf_option bad[] = {
		{ .key = "port", .type = CONF_INT, .def = "lots", .offset = 0 },
	};
	int64_t port;
	char err[256];
	char *argv[] = { "tenured", NULL };
	ck_assert_int_eq(conf_parse_args(bad, 1, 1, argv, &port, err,
					 sizeof err),
			 CONF_ERROR);
	ck_assert_str_eq(err, "default value: invalid value for parameter "
			      "\"port\": \"lots\" (expected an integer)");
}
END_TEST

START_TEST(test_short_error_buffer)
{
	struct ctx x;
	char *argv[] = { "tenured", "--bananas", NULL };
	char small[8];
	ck_assert_int_eq(conf_parse_args(table, N, 2, argv, &x.c, small,
					 sizeof small),
			 CONF_ERROR);
	ck_assert_str_eq(small, "unrecog");
	ck_assert_int_eq(conf_parse_args(table, N, 2, argv, &x.c, NULL, 0),
			 CONF_ERROR);
}
END_TEST

/* ---- output ------------------------------------------------------------- */

static char *capture_help(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	conf_print_help(f, table, N);
	fclose(f);
	return buf;
}

START_TEST(test_help_output)
{
	char *help = capture_help();
	char flag[80];
	const char *col = NULL;

	ck_assert_ptr_nonnull(strstr(help, "  --config FILE "));
	ck_assert_ptr_nonnull(strstr(help, "  --help "));
	for (size_t i = 0; i < N; i++) {
		snprintf(flag, sizeof flag, "  --%s ", table[i].key);
		for (char *p = flag; *p; p++)
			*p = *p == '_' ? '-' : *p;
		ck_assert_msg(strstr(help, flag), "%s missing:\n%s", flag,
			      help);
		ck_assert_ptr_nonnull(strstr(help, table[i].help));
	}
	ck_assert_ptr_nonnull(strstr(help, "  --data-dir DIR "));
	ck_assert_ptr_nonnull(strstr(help, "where the log lives (default "
					   "/var/lib/tenure)\n"));
	ck_assert_ptr_nonnull(strstr(help, "--port INT "));
	ck_assert_ptr_nonnull(strstr(help, "--verbose [on|off] "));
	ck_assert_ptr_nonnull(strstr(help, "--election-timeout DURATION "));
	ck_assert_ptr_nonnull(strstr(help, "--max-size SIZE "));
	ck_assert_ptr_nonnull(
		strstr(help, "--sync-mode fsync|fdatasync|none "));
	ck_assert_ptr_nonnull(strstr(help, "(default 1s)"));
	/* every help text starts in the same column */
	for (char *line = help; *line; line = strchr(line, '\n') + 1) {
		const char *text = strstr(line, "  ");
		text = strstr(text + 2, "  ");
		while (text[2] == ' ')
			text++;
		if (!col)
			col = text;
		ck_assert_int_eq(text - line, col - help);
	}
	free(help);

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	conf_print_help(f, rtable, 2);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "--node-name STRING  required "
					  "string (required)\n"));
	free(buf);
}
END_TEST

START_TEST(test_print_values_round_trip)
{
	struct ctx x, y;
	char *buf = NULL;
	size_t len = 0;

	OK(&x, NULL, "--name", "it's a \\ test\n\t", "--port", "99",
	   "--verbose", "--election-timeout", "90s", "--max-size", "3kB",
	   "--sync-mode", "none", "--count", "-1");
	FILE *f = open_memstream(&buf, &len);
	conf_print_values(f, table, N, &x.c);
	fclose(f);
	ck_assert_str_eq(buf, "name = 'it''s a \\\\ test\\n\\t'\n"
			      "data_dir = '/var/lib/tenure'\n"
			      "port = 99\n"
			      "verbose = on\n"
			      "election_timeout = 90s\n"
			      "max_size = 3kB\n"
			      "sync_mode = none\n"
			      "count = -1\n"
			      "# note is not set\n"
			      "# cluster.id is not set\n");
	OK(&y, buf, NULL);
	ck_assert_str_eq(y.c.name, x.c.name);
	ck_assert_str_eq(y.c.data_dir, x.c.data_dir);
	ck_assert_int_eq(y.c.port, x.c.port);
	ck_assert(y.c.verbose);
	ck_assert_int_eq(y.c.election_timeout, 90000);
	ck_assert_int_eq(y.c.max_size, 3072);
	ck_assert_int_eq(y.c.sync_mode, x.c.sync_mode);
	ck_assert_int_eq(y.c.count, -1);
	free(buf);
	conf_free(table, N, &x.c);
	conf_free(table, N, &y.c);
}
END_TEST

/* SIGHUP (common/conf_reload.h): the live keys take their new values,
 * other changes are named and left as they were, unchanged keys are not
 * named at all. */
START_TEST(test_take_live)
{
	static const char *const live_keys[] = { "port", "note", "sync_mode",
						 NULL };
	struct ctx live, next;
	char changed[64], ignored[64];

	OK(&live, "port = 7000\nnote = 'old'\ncount = 1\n");
	OK(&next, "port = 7001\nnote = 'new'\ncount = 2\nverbose = on\n");
	conf_take_live(table, N, live_keys, &live.c, &next.c, changed, ignored,
		       sizeof(changed));
	ck_assert_str_eq(changed, "port,note");
	ck_assert_str_eq(ignored, "verbose,count");
	ck_assert_int_eq(live.c.port, 7001);
	ck_assert_str_eq(live.c.note, "new");
	ck_assert_int_eq(live.c.count, 1);
	ck_assert(!live.c.verbose);
	ck_assert_str_eq(next.c.note, "old"); /* freed with next */
	conf_free(table, N, &next.c);
	/* Nothing changed: both lists empty; a list too short is cut at a
	 * key, never mid-name. */
	OK(&next, "port = 7001\nnote = 'new'\ncount = 1\n");
	conf_take_live(table, N, live_keys, &live.c, &next.c, changed, ignored,
		       sizeof(changed));
	ck_assert_str_eq(changed, "");
	ck_assert_str_eq(ignored, "");
	conf_free(table, N, &next.c);
	OK(&next, "port = 7002\nnote = 'newer'\n");
	conf_take_live(table, N, live_keys, &live.c, &next.c, changed, ignored,
		       8);
	ck_assert_str_eq(changed, "port");
	ck_assert_str_eq(live.c.note, "newer"); /* applied, if not named */
	conf_free(table, N, &next.c);
	conf_free(table, N, &live.c);
}
END_TEST

/* common/conf_lex.h: one line of a text, bounded by its length. */
static int lex(const char *line, struct conf_lexed *l, char *value, size_t cap,
	       char *why)
{
	return conf_lex(line, strlen(line), l, value, cap, why, 200);
}

START_TEST(test_lex_line)
{
	struct conf_lexed l;
	char v[32], why[200];

	ck_assert_int_eq(lex("  # only a comment", &l, v, sizeof(v), why), 0);
	ck_assert_uint_eq(l.key_len, 0);
	ck_assert_int_eq(lex("pg.Work_Mem = 8MB # c", &l, v, sizeof(v), why),
			 0);
	ck_assert(conf_lex_key_is(&l, "PG.work_mem"));
	ck_assert(!conf_lex_key_is(&l, "pg.work_me"));
	ck_assert_str_eq(v, "8MB");
	ck_assert_int_eq(lex("k 'a''b\\'c\\\\d\\n'", &l, v, sizeof(v), why), 0);
	ck_assert_str_eq(v, "a'b'c\\d\n");
	ck_assert_int_eq(lex("k =", &l, v, sizeof(v), why), 0);
	ck_assert(!l.has_value);
	ck_assert_str_eq(v, "");
	/* bounded by len, not by a NUL: the next line is not read */
	ck_assert_int_eq(conf_lex("k = v\nnext", 5, &l, v, sizeof(v), why,
				  sizeof(why)),
			 0);
	ck_assert_str_eq(v, "v");
	ck_assert_int_eq(conf_lex("k = 'v\nnext'", 6, &l, v, sizeof(v), why,
				  sizeof(why)),
			 -1);
	ck_assert_str_eq(why, "unterminated quoted value for \"k\"");
}
END_TEST

START_TEST(test_lex_errors)
{
	struct conf_lexed l;
	char v[8], why[200];

	ck_assert_int_eq(lex("k = a b", &l, v, sizeof(v), why), -1);
	ck_assert_str_eq(why, "syntax error: unexpected text \"b\" after the "
			      "value of \"k\"; quote values that contain "
			      "spaces, quotes or '#': key = 'a b'");
	ck_assert_int_eq(lex("-k = 1", &l, v, sizeof(v), why), -1);
	ck_assert_str_eq(why, "syntax error near \"-k = 1\"");
	ck_assert_int_eq(lex("k = 12345678", &l, v, sizeof(v), why), -1);
	ck_assert_str_eq(why, "value too long for \"k\" (7 bytes at most)");
	ck_assert_int_eq(lex("k = '12345678'", &l, v, sizeof(v), why), -1);
	ck_assert_str_eq(why, "value too long for \"k\" (7 bytes at most)");
	ck_assert_int_eq(lex("k = '1234567'", &l, v, sizeof(v), why), 0);
}
END_TEST

Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *file = tcase_create("file");
	TCase *types = tcase_create("types");
	TCase *args = tcase_create("args");
	TCase *output = tcase_create("output");

	tcase_add_test(file, test_defaults);
	tcase_add_test(file, test_comments_blank_lines_whitespace);
	tcase_add_test(file, test_equals_is_optional);
	tcase_add_test(file, test_quotes_and_escapes);
	tcase_add_test(file, test_keys_are_case_insensitive);
	tcase_add_test(file, test_duplicates_last_wins);
	tcase_add_test(file, test_crlf_line_endings);
	tcase_add_test(file, test_syntax_errors);
	tcase_add_test(file, test_nul_byte_is_rejected);
	tcase_add_test(file, test_unknown_key_suggests);
	tcase_add_test(file, test_missing_config_file);
	tcase_add_test(file, test_lex_line);
	tcase_add_test(file, test_lex_errors);
	tcase_add_test(types, test_int_values);
	tcase_add_test(types, test_int_range_with_file_line);
	tcase_add_test(types, test_bool_values);
	tcase_add_test(types, test_duration_values);
	tcase_add_test(types, test_size_values);
	tcase_add_test(types, test_enum_values);
	tcase_add_test(types, test_string_values);
	tcase_add_test(args, test_flag_forms);
	tcase_add_test(args, test_flags_override_file);
	tcase_add_test(args, test_config_equals_form);
	tcase_add_test(args, test_bare_boolean_flag);
	tcase_add_test(args, test_flag_errors);
	tcase_add_test(args, test_help_flag);
	tcase_add_test(args, test_take_switch);
	tcase_add_test(args, test_required);
	tcase_add_test(args, test_bad_default_is_reported);
	tcase_add_test(args, test_short_error_buffer);
	tcase_add_test(args, test_take_live);
	tcase_add_test(output, test_help_output);
	tcase_add_test(output, test_print_values_round_trip);
	suite_add_tcase(s, file);
	suite_add_tcase(s, types);
	suite_add_tcase(s, args);
	suite_add_tcase(s, output);
	return s;
}
