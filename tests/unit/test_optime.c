/* test_optime.c — the primary's durable position (fencing/optime.c): the
 * record survives a round trip, garbage is refused, the primary writes it
 * at a bounded rate, and the lag rule's bar never drops below either
 * source. */
#include <check.h>
#include <string.h>

#include "fencing/optime.h"
#include "tests/unit/suites.h"

START_TEST(test_round_trip)
{
	struct optime o = { .token = 42,
			    .lsn = 0x16B374D848ull,
			    .time_ms = 1700000000123ull },
		      back;
	strcpy(o.name, "pg \"2\"");
	char buf[512], err[128];
	size_t n = optime_encode(&o, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert(optime_decode(buf, n, &back, err, sizeof(err)));
	ck_assert_str_eq(back.name, o.name);
	ck_assert_uint_eq(back.token, 42);
	ck_assert_uint_eq(back.lsn, o.lsn);
	ck_assert_uint_eq(back.time_ms, o.time_ms);
	ck_assert_uint_eq(optime_encode(&o, buf, 10), 0); /* does not fit */
}
END_TEST

START_TEST(test_bad_records_refused)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"lsn\":-1}",
		"{\"lsn\":1.5}",
		"{\"name\":3}",
		"{\"token\":\"7\"}",
		"{\"lsn\":1} x",
	};
	struct optime o;
	char err[128];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(!optime_decode(bad[i], strlen(bad[i]), &o, err,
					     sizeof(err)),
			      "%s", bad[i]);
		ck_assert_msg(err[0], "no reason for %s", bad[i]);
		ck_assert_uint_eq(o.lsn, 0);
	}
	/* a newer agent's extra field is ignored */
	const char *newer = "{\"lsn\":9,\"extra\":true}";
	ck_assert(optime_decode(newer, strlen(newer), &o, err, sizeof(err)));
	ck_assert_uint_eq(o.lsn, 9);
}
END_TEST

START_TEST(test_due_bounded)
{
	/* the first write at once */
	ck_assert(optime_due(100, 5000, 0, 0, 500, 2500));
	/* never more often than min_ms, moved or not */
	ck_assert(!optime_due(200, 5100, 100, 5000, 500, 2500));
	/* moved: written after min_ms */
	ck_assert(optime_due(200, 5500, 100, 5000, 500, 2500));
	/* unchanged: only the heartbeat */
	ck_assert(!optime_due(100, 7499, 100, 5000, 500, 2500));
	ck_assert(optime_due(100, 7500, 100, 5000, 500, 2500));
	/* at most one write per min_ms over a busy second */
	int writes = 0;
	uint64_t sent = 0, sent_ms = 0;
	for (uint64_t t = 1; t <= 10000; t += 10)
		if (optime_due(t * 8, t, sent, sent_ms, 500, 2500)) {
			writes++;
			sent = t * 8;
			sent_ms = t;
		}
	ck_assert_int_le(writes, 21);
}
END_TEST

/* A candidate on an older timeline holds nothing of the newer one: its
 * WAL past the fork is another history (an old primary that wrote while
 * cut off), however far its position goes. */
START_TEST(test_older_timeline_counts_to_the_fork)
{
	struct optime rec = { .lsn = 5000, .timeline = 3, .tl_start = 4000 };
	ck_assert_uint_eq(optime_usable_lsn(&rec, 3, 4900), 4900);
	ck_assert_uint_eq(optime_usable_lsn(&rec, 2, 9000), 4000);
	ck_assert_uint_eq(optime_usable_lsn(&rec, 2, 3000), 3000);
	ck_assert_uint_eq(optime_usable_lsn(&rec, 0, 9000), 9000);
	struct optime old = { .lsn = 5000 }; /* an older agent's record */
	ck_assert_uint_eq(optime_usable_lsn(&old, 1, 9000), 9000);
	/* the fork is kept across records of one timeline */
	ck_assert_uint_eq(optime_tl_start(&rec, 3, 6000), 4000);
	ck_assert_uint_eq(optime_tl_start(&rec, 4, 6000), 6000);
	struct optime none = { 0 };
	ck_assert_uint_eq(optime_tl_start(&none, 1, 10), 10);
	/* round trip of the new fields */
	char buf[256], err[64];
	size_t n = optime_encode(&rec, buf, sizeof(buf));
	struct optime back;
	ck_assert(optime_decode(buf, n, &back, err, sizeof(err)));
	ck_assert_uint_eq(back.timeline, 3);
	ck_assert_uint_eq(back.tl_start, 4000);
}
END_TEST

START_TEST(test_bar_takes_the_further)
{
	struct optime o = { .lsn = 1000 };
	ck_assert_uint_eq(optime_bar(&o, 0), 1000);    /* agent restarted */
	ck_assert_uint_eq(optime_bar(&o, 1500), 1500); /* record not yet */
	struct optime none = { 0 };
	ck_assert_uint_eq(optime_bar(&none, 700), 700);
}
END_TEST

Suite *optime_suite(void)
{
	Suite *s = suite_create("optime");
	TCase *t = tcase_create("optime");
	tcase_add_test(t, test_round_trip);
	tcase_add_test(t, test_bad_records_refused);
	tcase_add_test(t, test_due_bounded);
	tcase_add_test(t, test_bar_takes_the_further);
	tcase_add_test(t, test_older_timeline_counts_to_the_fork);
	suite_add_tcase(s, t);
	return s;
}
