/*
 * test_duration_hist.c — server/duration_hist.c: the bucket a duration
 * lands in, its bounds, and the count and sum.
 */
#include <check.h>

#include "server/duration_hist.h"
#include "suites.h"

#define BASE 125000ull /* 125 us */

START_TEST(test_bucket_edges)
{
	struct duration_hist h = { 0 };
	duration_hist_add(&h, BASE, 0);
	duration_hist_add(&h, BASE, BASE);     /* the bound is inclusive */
	duration_hist_add(&h, BASE, BASE + 1); /* the next one */
	duration_hist_add(&h, BASE, 2 * BASE);
	duration_hist_add(&h, BASE, 3 * BASE);
	ck_assert_uint_eq(h.buckets[0], 2);
	ck_assert_uint_eq(h.buckets[1], 2);
	ck_assert_uint_eq(h.buckets[2], 1);
	ck_assert_uint_eq(h.count, 5);
	ck_assert_uint_eq(h.sum_ns, 7 * BASE + 1);
}
END_TEST

START_TEST(test_beyond_the_last_bound)
{
	struct duration_hist h = { 0 };
	unsigned last = DURATION_HIST_BUCKETS - 1;
	duration_hist_add(&h, BASE, BASE << (last - 1)); /* 2.048 s */
	duration_hist_add(&h, BASE, (BASE << (last - 1)) + 1);
	duration_hist_add(&h, BASE, 3600ull * 1000000000ull);
	ck_assert_uint_eq(h.buckets[last - 1], 1);
	ck_assert_uint_eq(h.buckets[last], 2); /* +Inf */
}
END_TEST

START_TEST(test_bounds_in_seconds)
{
	ck_assert_double_eq_tol(duration_hist_bound(BASE, 0), 0.000125, 1e-12);
	ck_assert_double_eq_tol(duration_hist_bound(BASE, 3), 0.001, 1e-12);
	ck_assert_double_eq_tol(duration_hist_bound(64000, 14), 1.048576,
				1e-12);
}
END_TEST

Suite *duration_hist_suite(void)
{
	Suite *s = suite_create("duration_hist");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_bucket_edges);
	tcase_add_test(tc, test_beyond_the_last_bound);
	tcase_add_test(tc, test_bounds_in_seconds);
	suite_add_tcase(s, tc);
	return s;
}
