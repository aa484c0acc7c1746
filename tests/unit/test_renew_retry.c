/*
 * test_renew_retry.c — fencing/renew_retry.c: a primary renewal waits at
 * most one renew interval, and one that got no answer is resent at once
 * at most once per interval, only while validity remains.
 */
#include <check.h>

#include "fencing/renew_retry.h"
#include "tests/unit/suites.h"

START_TEST(attempt_waits_at_most_one_interval)
{
	/* defaults: ttl 2500, interval 500 -> 500, not 1250 */
	ck_assert_uint_eq(renew_attempt_timeout_ms(2500, 500, 1995), 500);
	/* never longer than half the TTL (a long interval) */
	ck_assert_uint_eq(renew_attempt_timeout_ms(2500, 2000, 1995), 1250);
	/* never past the validity that remains */
	ck_assert_uint_eq(renew_attempt_timeout_ms(2500, 500, 120), 120);
	/* interval 0 is not "no limit" */
	ck_assert_uint_eq(renew_attempt_timeout_ms(2500, 0, 1995), 1250);
}
END_TEST

START_TEST(no_answer_is_retried_at_once)
{
	ck_assert(renew_retry_now(true, 1400, 10000, 0, 500));
	ck_assert(renew_retry_now(true, 1400, 10000, 9500, 500));
}
END_TEST

START_TEST(an_answer_or_no_validity_is_not_retried)
{
	/* an answer (even a refusal) says what the witnesses think */
	ck_assert(!renew_retry_now(false, 1400, 10000, 0, 500));
	/* the fence timer handles a lease with no validity left */
	ck_assert(!renew_retry_now(true, 0, 10000, 0, 500));
}
END_TEST

START_TEST(at_most_one_retry_per_interval)
{
	ck_assert(!renew_retry_now(true, 1400, 10000, 9501, 500));
	ck_assert(!renew_retry_now(true, 1400, 10000, 10000, 500));
}
END_TEST

Suite *renew_retry_suite(void)
{
	Suite *s = suite_create("renew_retry");
	TCase *tc = tcase_create("decide");
	tcase_add_test(tc, attempt_waits_at_most_one_interval);
	tcase_add_test(tc, no_answer_is_retried_at_once);
	tcase_add_test(tc, an_answer_or_no_validity_is_not_retried);
	tcase_add_test(tc, at_most_one_retry_per_interval);
	suite_add_tcase(s, tc);
	return s;
}
