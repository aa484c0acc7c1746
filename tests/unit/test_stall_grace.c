/*
 * test_stall_grace.c — server/stall_grace.c: a follower back from a late
 * tick holds its Raft tick for the grace, never two graces in a row (a
 * follower late at every tick still ticks every other one), and a
 * leader never holds.
 */
#include "server/stall_grace.h"
#include "tests/unit/suites.h"

START_TEST(test_leader_never_holds)
{
	struct stall_grace g = { 0 };
	ck_assert(!stall_grace_holds(&g, true, 1000, 5000));
	ck_assert(!stall_grace_holds(&g, true, 1010, 10));
}
END_TEST

START_TEST(test_on_time_never_holds)
{
	struct stall_grace g = { 0 };
	for (uint64_t t = 1000; t < 3000; t += 10)
		ck_assert(!stall_grace_holds(&g, false, t, 10));
}
END_TEST

/* A late tick opens a grace of STALL_GRACE_MS from its time. */
START_TEST(test_grace_after_a_late_tick)
{
	struct stall_grace g = { 0 };
	ck_assert(!stall_grace_holds(&g, false, 1000, 10));
	ck_assert(stall_grace_holds(&g, false, 1200, STALL_LATE_TICK_MS));
	ck_assert(stall_grace_holds(&g, false, 1250, 10));
	ck_assert(stall_grace_holds(&g, false, 1299, 10));
	ck_assert(!stall_grace_holds(&g, false, 1300, 10));
	/* late again right after: no second grace yet, it ticks */
	ck_assert(!stall_grace_holds(&g, false, 1350, 150));
	/* once the last grace has been over for its length, a new one */
	ck_assert(stall_grace_holds(&g, false, 1400, 150));
}
END_TEST

/* A follower whose every tick is late (150 ms apart) still ticks at
 * least every other time: it elects when the leader is really gone. */
START_TEST(test_late_at_every_tick_still_ticks)
{
	struct stall_grace g = { 0 };
	unsigned held = 0, ticked = 0;
	bool last_held = false;
	for (uint64_t t = 150; t <= 15000; t += 150) {
		bool h = stall_grace_holds(&g, false, t, 150);
		ck_assert_msg(!(h && last_held), "two graces in a row at %llu",
			      (unsigned long long)t);
		last_held = h;
		held += h;
		ticked += !h;
	}
	ck_assert_uint_gt(held, 0);
	ck_assert_uint_ge(ticked, held);
}
END_TEST

Suite *stall_grace_suite(void)
{
	Suite *s = suite_create("stall_grace");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_leader_never_holds);
	tcase_add_test(tc, test_on_time_never_holds);
	tcase_add_test(tc, test_grace_after_a_late_tick);
	tcase_add_test(tc, test_late_at_every_tick_still_ticks);
	suite_add_tcase(s, tc);
	return s;
}
