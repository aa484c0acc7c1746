/*
 * test_member_lease.c — fencing/member_lease.c: the member lease lives
 * twice lease_ttl and is renewed each quarter of that, so an idle agent
 * writes less than once per renew interval for it.
 */
#include <check.h>

#include "fencing/member_lease.h"
#include "proto/limits.h"
#include "tests/unit/suites.h"

START_TEST(ttl_is_twice_the_lease_ttl)
{
	ck_assert_uint_eq(member_lease_ttl_ms(2500), 5000);
	ck_assert_uint_eq(member_lease_ttl_ms(1000), 2000);
	/* never beyond what the witnesses accept */
	ck_assert_uint_eq(member_lease_ttl_ms(SM_TTL_MAX_MS), SM_TTL_MAX_MS);
}
END_TEST

START_TEST(renewed_each_quarter_ttl)
{
	/* none sent yet: now */
	ck_assert(member_renew_due(100, 0, 5000));
	/* defaults: a 5 s lease renewed 1.25 s after the last one, which
	 * the 500 ms lease timer makes every third tick (1.5 s) */
	ck_assert(!member_renew_due(10500, 10000, 5000));
	ck_assert(!member_renew_due(11000, 10000, 5000));
	ck_assert(member_renew_due(11500, 10000, 5000));
	/* three more attempts fit before it runs out */
	ck_assert_uint_le(3 * 1500, 5000);
}
END_TEST

START_TEST(an_attempt_leaves_room_for_the_next)
{
	ck_assert_uint_eq(member_renew_timeout_ms(5000), 1250);
}
END_TEST

Suite *member_lease_suite(void)
{
	Suite *s = suite_create("member_lease");
	TCase *tc = tcase_create("cadence");
	tcase_add_test(tc, ttl_is_twice_the_lease_ttl);
	tcase_add_test(tc, renewed_each_quarter_ttl);
	tcase_add_test(tc, an_attempt_leaves_room_for_the_next);
	suite_add_tcase(s, tc);
	return s;
}
