/* test_ctl_time.c — --scheduled TIME (ctl/ctl_time.c): UTC, offsets in
 * three spellings and local time give the instant meant; malformed and
 * impossible dates are refused. */
#include <check.h>
#include <stdlib.h>
#include <time.h>

#include "ctl/ctl_time.h"
#include "tests/unit/suites.h"

static uint64_t parse(const char *s)
{
	uint64_t ms = 0;
	char err[256];
	ck_assert_msg(ctl_parse_time(s, &ms, err, sizeof(err)) == 0, "%s: %s",
		      s, err);
	return ms;
}

START_TEST(test_zones)
{
	uint64_t utc = 1796637600000ull; /* 2026-12-07T10:00:00Z */
	ck_assert_uint_eq(parse("2026-12-07T10:00:00Z"), utc);
	ck_assert_uint_eq(parse("2026-12-07T10:00Z"), utc);
	ck_assert_uint_eq(parse("2026-12-07 10:00:00z"), utc);
	ck_assert_uint_eq(parse("2026-12-07T11:00:00+01:00"), utc);
	ck_assert_uint_eq(parse("2026-12-07T11:00:00+0100"), utc);
	ck_assert_uint_eq(parse("2026-12-07T05:30-04:30"), utc);
	ck_assert_uint_eq(parse("2026-12-07T12:00+02"), utc);
	ck_assert_uint_eq(parse("2024-02-29T00:00:00Z"), 1709164800000ull);
}
END_TEST

START_TEST(test_local)
{
	setenv("TZ", "UTC", 1);
	tzset();
	ck_assert_uint_eq(parse("2026-12-07T10:00:00"), 1796637600000ull);
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	ck_assert_uint_eq(parse("2026-12-07T11:00"), 1796637600000ull);
	unsetenv("TZ");
	tzset();
}
END_TEST

START_TEST(test_refused)
{
	const char *bad[] = { "",
			      "tomorrow",
			      "2026-12-07",
			      "2026-13-07T10:00Z",
			      "2026-02-29T10:00Z",
			      "2026-12-07T24:00Z",
			      "2026-12-07T10:00:00+25:00",
			      "2026-12-07T10:00:00 UTC",
			      "1969-12-31T23:00Z" };
	char err[256];
	uint64_t ms;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(ctl_parse_time(bad[i], &ms, err, sizeof(err)) ==
				      -1,
			      "'%s' accepted", bad[i]);
}
END_TEST

Suite *ctl_time_suite(void)
{
	Suite *s = suite_create("ctl_time");
	TCase *t = tcase_create("ctl_time");
	tcase_add_test(t, test_zones);
	tcase_add_test(t, test_local);
	tcase_add_test(t, test_refused);
	suite_add_tcase(s, t);
	return s;
}
