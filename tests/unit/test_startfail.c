/*
 * test_startfail.c — fencing/startfail.c: the cause of a failed start
 * read from real PostgreSQL 15 log text (only diverged or damaged data
 * asks for a fresh copy), the line quoted to the operator, and the
 * back-off schedule.
 */
#include <check.h>
#include <string.h>

#include "fencing/startfail.h"
#include "tests/unit/suites.h"

#define TS "2026-12-07 00:04:42.226 UTC [6951] "

/* max_connections = 100 on a standby of a primary with 150 */
static const char settings_low[] =
	"server starting\n" TS
	"LOG:  database system was interrupted; last known up at x\n" TS
	"FATAL:  the database system is starting up\n" TS
	"LOG:  entering standby mode\n" TS
	"FATAL:  recovery aborted because of insufficient parameter "
	"settings\n" TS
	"DETAIL:  max_connections = 100 is a lower setting than on the "
	"primary server, where its value was 150.\n" TS
	"HINT:  You can restart the server after making the necessary "
	"configuration changes.\n" TS
	"LOG:  startup process (PID 6951) exited with exit code 1\n";

/* shared_buffers = 'nonsense' in postgresql.auto.conf */
static const char bad_setting[] = TS
	"LOG:  invalid value for parameter \"shared_buffers\": "
	"\"nonsense\"\n" TS
	"FATAL:  configuration file \"/d/postgresql.auto.conf\" contains "
	"errors\n";

static const char diverged[] = TS
	"LOG:  entering standby mode\n" TS
	"FATAL:  requested timeline 2 is not a child of this server's "
	"history\n" TS
	"DETAIL:  Latest checkpoint is at 0/3000060 on timeline 1.\n";

static const char damaged[] = TS
	"LOG:  invalid primary checkpoint record\n" TS
	"PANIC:  could not locate a valid checkpoint record\r\n";

static const char port_busy[] = TS
	"LOG:  could not bind IPv4 address \"127.0.0.1\": Address "
	"already in use\n" TS "FATAL:  could not create any TCP/IP sockets\n";

START_TEST(classifies_real_messages)
{
	static const struct {
		const char *text;
		enum startfail_cause cause;
		const char *line;
	} cases[] = {
		{ settings_low, SF_SETTINGS_LOW,
		  "DETAIL:  max_connections = 100 is a lower setting than on "
		  "the primary server, where its value was 150." },
		{ bad_setting, SF_CONFIG,
		  "LOG:  invalid value for parameter \"shared_buffers\": "
		  "\"nonsense\"" },
		{ diverged, SF_DIVERGED,
		  "FATAL:  requested timeline 2 is not a child of this "
		  "server's history" },
		{ damaged, SF_DAMAGED,
		  "PANIC:  could not locate a valid checkpoint record" },
		{ port_busy, SF_RESOURCE,
		  "LOG:  could not bind IPv4 address \"127.0.0.1\": Address "
		  "already in use" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct startfail f;
		startfail_classify(cases[i].text, &f);
		ck_assert_int_eq(f.cause, cases[i].cause);
		ck_assert_str_eq(f.line, cases[i].line);
	}
}
END_TEST

START_TEST(unknown_is_never_copied)
{
	struct startfail f;
	/* clients refused while it starts: not a cause */
	startfail_classify(TS "FATAL:  the database system is starting up\n",
			   &f);
	ck_assert_int_eq(f.cause, SF_UNKNOWN);
	ck_assert_str_eq(f.line, "");
	startfail_classify(NULL, &f);
	ck_assert_int_eq(f.cause, SF_UNKNOWN);
	ck_assert(!startfail_needs_copy(SF_UNKNOWN));
	ck_assert(!startfail_needs_copy(SF_SETTINGS_LOW));
	ck_assert(!startfail_needs_copy(SF_CONFIG));
	ck_assert(!startfail_needs_copy(SF_RESOURCE));
	ck_assert(startfail_needs_copy(SF_DIVERGED));
	ck_assert(startfail_needs_copy(SF_DAMAGED));
	ck_assert_str_eq(startfail_cause_name(SF_CONFIG), "bad_setting");
	ck_assert_str_eq(startfail_cause_name((enum startfail_cause)99),
			 "unknown");
	ck_assert_ptr_nonnull(strstr(startfail_reason(SF_CONFIG), "fix it"));
}
END_TEST

START_TEST(long_line_is_cut)
{
	char text[1000];
	memset(text, 'x', sizeof(text));
	memcpy(text + 500, "FATAL:  could not bind", 22);
	text[sizeof(text) - 1] = '\0';
	struct startfail f;
	startfail_classify(text, &f);
	ck_assert_int_eq(f.cause, SF_RESOURCE);
	ck_assert_uint_eq(strlen(f.line), STARTFAIL_LINE_MAX - 1);
	ck_assert(strncmp(f.line, "FATAL:  could not bind", 22) == 0);
}
END_TEST

START_TEST(backoff_doubles_up_to_the_cap)
{
	static const uint64_t want[] = { 0,     1000,  2000,  4000, 8000,
					 16000, 32000, 60000, 60000 };
	for (int n = 0; n < 9; n++)
		ck_assert_uint_eq(startfail_backoff_ms(n, 1000, 60000),
				  want[n]);
	ck_assert_uint_eq(startfail_backoff_ms(-3, 1000, 60000), 0);
	/* no overflow, however many failures */
	ck_assert_uint_eq(startfail_backoff_ms(1000000, 60000, 1800000),
			  1800000);
}
END_TEST

Suite *startfail_suite(void)
{
	Suite *s = suite_create("startfail");
	TCase *tc = tcase_create("classify");
	tcase_add_test(tc, classifies_real_messages);
	tcase_add_test(tc, unknown_is_never_copied);
	tcase_add_test(tc, long_line_is_cut);
	tcase_add_test(tc, backoff_doubles_up_to_the_cap);
	suite_add_tcase(s, tc);
	return s;
}
