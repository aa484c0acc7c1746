/* test_log_throttle.c — the rule for lines a flood could repeat: the
 * first at once (at time 0 too), then one per period with the count of
 * the skipped ones; a reset makes the next one news again. */
#include "common/log_throttle.h"
#include "tests/unit/suites.h"

START_TEST(test_first_at_once_then_one_per_period)
{
	struct log_throttle t = { 0 };
	uint64_t skipped = 99;
	ck_assert(log_throttle_due(&t, 0, 10000, &skipped));
	ck_assert_uint_eq(skipped, 0);
	for (uint64_t ms = 1; ms < 10000; ms += 1000)
		ck_assert(!log_throttle_due(&t, ms, 10000, &skipped));
	ck_assert(log_throttle_due(&t, 10000, 10000, &skipped));
	ck_assert_uint_eq(skipped, 10);
	ck_assert(!log_throttle_due(&t, 19999, 10000, NULL));
	ck_assert(log_throttle_due(&t, 20000, 10000, &skipped));
	ck_assert_uint_eq(skipped, 1);
	ck_assert_uint_eq(t.total, 14);
}
END_TEST

START_TEST(test_reset_makes_the_next_one_news)
{
	struct log_throttle t = { 0 };
	uint64_t skipped;
	ck_assert(log_throttle_due(&t, 5000, 10000, NULL));
	ck_assert(!log_throttle_due(&t, 6000, 10000, NULL));
	log_throttle_reset(&t);
	ck_assert(log_throttle_due(&t, 7000, 10000, &skipped));
	ck_assert_uint_eq(skipped, 0);
	ck_assert_uint_eq(t.total, 3);
}
END_TEST

Suite *log_throttle_suite(void)
{
	Suite *s = suite_create("log_throttle");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_first_at_once_then_one_per_period);
	tcase_add_test(tc, test_reset_makes_the_next_one_news);
	suite_add_tcase(s, tc);
	return s;
}
