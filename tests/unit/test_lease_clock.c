/* test_lease_clock.c — the leader's lease countdowns (server/lease_clock.c). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "server/lease_clock.h"
#include "tests/unit/suites.h"

static bool count_due(void *arg, const struct lease_clock_entry *e)
{
	(void)e;
	(*(unsigned *)arg)++;
	return true;
}

static bool stop_at_first(void *arg, const struct lease_clock_entry *e)
{
	(void)e;
	(*(unsigned *)arg)++;
	return false;
}

START_TEST(set_get_remove)
{
	struct lease_clock c;
	lease_clock_init(&c);
	ck_assert_ptr_null(lease_clock_get(&c, "a", 1));
	ck_assert(lease_clock_set(&c, "a", 1, 100, 7, 9));
	const struct lease_clock_entry *e = lease_clock_get(&c, "a", 1);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->deadline_ms, 100);
	ck_assert_uint_eq(e->token, 7);
	ck_assert_uint_eq(e->renew_revision, 9);
	/* a renewal moves the deadline in place */
	ck_assert(lease_clock_set(&c, "a", 1, 250, 7, 12));
	ck_assert_uint_eq(lease_clock_get(&c, "a", 1)->deadline_ms, 250);
	ck_assert_uint_eq(c.n, 1);
	lease_clock_remove(&c, "a", 1);
	ck_assert_ptr_null(lease_clock_get(&c, "a", 1));
	ck_assert_uint_eq(c.n, 0);
	lease_clock_remove(&c, "missing", 7); /* harmless */
	lease_clock_free(&c);
}
END_TEST

START_TEST(names_are_bytes)
{
	struct lease_clock c;
	lease_clock_init(&c);
	ck_assert(lease_clock_set(&c, "ab", 2, 1, 1, 1));
	ck_assert(lease_clock_set(&c, "abc", 3, 2, 2, 2));
	ck_assert(lease_clock_set(&c, "a\0b", 3, 3, 3, 3));
	ck_assert_uint_eq(lease_clock_get(&c, "ab", 2)->token, 1);
	ck_assert_uint_eq(lease_clock_get(&c, "abc", 3)->token, 2);
	ck_assert_uint_eq(lease_clock_get(&c, "a\0b", 3)->token, 3);
	lease_clock_free(&c);
}
END_TEST

START_TEST(due_only_past_deadline)
{
	struct lease_clock c;
	lease_clock_init(&c);
	char name[32];
	for (unsigned i = 0; i < 1000; i++) {
		int len = snprintf(name, sizeof(name), "lease-%u", i);
		ck_assert(lease_clock_set(&c, name, (size_t)len, i, i, i));
	}
	unsigned n = 0;
	lease_clock_due(&c, 499, count_due, &n);
	ck_assert_uint_eq(n, 500); /* deadlines 0..499 */
	n = 0;
	lease_clock_due(&c, 499, stop_at_first, &n);
	ck_assert_uint_eq(n, 1);
	lease_clock_free(&c);
}
END_TEST

START_TEST(churn_keeps_every_live_entry)
{
	/* Many inserts and removals: tombstones must not lose entries or
	 * fill the table. */
	struct lease_clock c;
	lease_clock_init(&c);
	char name[32];
	for (unsigned round = 0; round < 50; round++) {
		for (unsigned i = 0; i < 200; i++) {
			int len = snprintf(name, sizeof(name), "%u-%u", round,
					   i);
			ck_assert(lease_clock_set(&c, name, (size_t)len, 5, i,
						  i));
		}
		for (unsigned i = 0; i < 200; i += 2) {
			int len = snprintf(name, sizeof(name), "%u-%u", round,
					   i);
			lease_clock_remove(&c, name, (size_t)len);
		}
	}
	ck_assert_uint_eq(c.n, 50 * 100);
	for (unsigned round = 0; round < 50; round++)
		for (unsigned i = 1; i < 200; i += 2) {
			int len = snprintf(name, sizeof(name), "%u-%u", round,
					   i);
			ck_assert_ptr_nonnull(
				lease_clock_get(&c, name, (size_t)len));
		}
	ck_assert(c.n + c.tombstones <= c.cap / 2 + 1);
	lease_clock_clear(&c);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_ptr_null(lease_clock_get(&c, "0-1", 3));
	lease_clock_free(&c);
}
END_TEST

Suite *lease_clock_suite(void)
{
	Suite *s = suite_create("lease_clock");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, set_get_remove);
	tcase_add_test(tc, names_are_bytes);
	tcase_add_test(tc, due_only_past_deadline);
	tcase_add_test(tc, churn_keeps_every_live_entry);
	suite_add_tcase(s, tc);
	return s;
}
