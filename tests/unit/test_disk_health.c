/* test_disk_health.c — a witness that cannot write its data directory:
 * health, the error count, the rate-limited log (server/disk_health.c). */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "server/disk_health.h"
#include "tests/unit/suites.h"

START_TEST(failure_makes_unhealthy_with_reason)
{
	struct disk_health h;
	uint64_t unlogged = 99;
	memset(&h, 0, sizeof(h));
	ck_assert(disk_health_ok(&h));
	ck_assert(disk_health_failed(&h, DISK_WRITE_LOG, ENOSPC, 1000,
				     &unlogged));
	ck_assert_uint_eq(unlogged, 0);
	ck_assert(!disk_health_ok(&h));
	ck_assert_uint_eq(h.errors, 1);
	ck_assert_str_eq(h.reason,
			 "disk write failed: No space left on device");
	disk_health_failed(&h, DISK_WRITE_LOG, EIO, 1001, &unlogged);
	ck_assert_str_eq(h.reason, "disk write failed: Input/output error");
}
END_TEST

/* A full disk fails every retry: the first line at once, then at most one
 * per DISK_HEALTH_LOG_EVERY_MS, saying how many were left out. */
START_TEST(log_is_rate_limited)
{
	struct disk_health h;
	uint64_t unlogged = 0, now = 5000;
	unsigned lines = 0;
	memset(&h, 0, sizeof(h));
	for (unsigned i = 0; i < 300; i++, now += 50) /* 20 a second, 15 s */
		if (disk_health_failed(&h, DISK_WRITE_LOG, ENOSPC, now,
				       &unlogged)) {
			lines++;
			if (lines > 1)
				ck_assert_uint_eq(unlogged, 99);
		}
	ck_assert_uint_eq(lines, 3); /* at 0 s, 5 s, 10 s */
	ck_assert_uint_eq(h.errors, 300);
}
END_TEST

START_TEST(recovers_when_the_failing_kind_succeeds)
{
	struct disk_health h;
	uint64_t unlogged;
	memset(&h, 0, sizeof(h));
	disk_health_failed(&h, DISK_WRITE_LOG, ENOSPC, 0, &unlogged);
	disk_health_failed(&h, DISK_WRITE_LOG, ENOSPC, 10, &unlogged);
	/* A small hard-state write that still fits proves nothing about
	 * the log. */
	ck_assert(!disk_health_succeeded(&h, DISK_WRITE_HARD_STATE));
	ck_assert(!disk_health_ok(&h));
	ck_assert(disk_health_succeeded(&h, DISK_WRITE_LOG));
	ck_assert(disk_health_ok(&h));
	ck_assert(!disk_health_succeeded(&h, DISK_WRITE_LOG));
	ck_assert_uint_eq(h.errors, 2); /* a counter: it never goes back */
	/* The next failure is news: logged at once. */
	ck_assert(disk_health_failed(&h, DISK_WRITE_SNAPSHOT, ENOSPC, 20,
				     &unlogged));
	ck_assert_uint_eq(unlogged, 0);
	ck_assert(!disk_health_ok(&h));
}
END_TEST

Suite *disk_health_suite(void)
{
	Suite *s = suite_create("disk_health");
	TCase *tc = tcase_create("health");
	tcase_add_test(tc, failure_makes_unhealthy_with_reason);
	tcase_add_test(tc, log_is_rate_limited);
	tcase_add_test(tc, recovers_when_the_failing_kind_succeeds);
	suite_add_tcase(s, tc);
	return s;
}
