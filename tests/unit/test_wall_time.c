/* test_wall_time.c — ISO 8601 times (common/wall_time.c): UTC, offsets
 * in three spellings, fractions of a second and local time give the
 * instant meant; malformed and impossible dates are refused, and so is
 * a time without a zone where one is needed (the REST API's). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/wall_time.h"
#include "tests/unit/suites.h"

static uint64_t parse(const char *s, bool need_zone)
{
	uint64_t ms = 0;
	char err[256];
	ck_assert_msg(wall_time_parse(s, need_zone, &ms, err, sizeof(err)) ==
			      WALL_TIME_OK,
		      "%s: %s", s, err);
	return ms;
}

START_TEST(test_zones)
{
	uint64_t utc = 1796637600000ull; /* 2026-12-07T10:00:00Z */
	ck_assert_uint_eq(parse("2026-12-07T10:00:00Z", true), utc);
	ck_assert_uint_eq(parse("2026-12-07T10:00Z", true), utc);
	ck_assert_uint_eq(parse("2026-12-07 10:00:00z", true), utc);
	ck_assert_uint_eq(parse("2026-12-07T11:00:00+01:00", true), utc);
	ck_assert_uint_eq(parse("2026-12-07T11:00:00+0100", false), utc);
	ck_assert_uint_eq(parse("2026-12-07T05:30-04:30", true), utc);
	ck_assert_uint_eq(parse("2026-12-07T12:00+02", true), utc);
	ck_assert_uint_eq(parse("2024-02-29T00:00:00Z", true),
			  1709164800000ull);
}
END_TEST

/* Python's isoformat(), what patronictl sends: microseconds. */
START_TEST(test_fraction)
{
	uint64_t utc = 1796637600000ull;
	ck_assert_uint_eq(parse("2026-12-07T10:00:00.250+00:00", true),
			  utc + 250);
	ck_assert_uint_eq(parse("2026-12-07T10:00:00.123456+00:00", true),
			  utc + 123);
	ck_assert_uint_eq(parse("2026-12-07T10:00:00,5Z", true), utc + 500);
}
END_TEST

START_TEST(test_local)
{
	setenv("TZ", "UTC", 1);
	tzset();
	ck_assert_uint_eq(parse("2026-12-07T10:00:00", false),
			  1796637600000ull);
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	ck_assert_uint_eq(parse("2026-12-07T11:00", false), 1796637600000ull);
	unsetenv("TZ");
	tzset();
}
END_TEST

START_TEST(test_zone_needed)
{
	char err[256];
	uint64_t ms = 7;
	ck_assert_int_eq(wall_time_parse("2026-12-07T10:00", true, &ms, err,
					 sizeof(err)),
			 WALL_TIME_NO_ZONE);
	ck_assert_uint_eq(ms, 7);
	ck_assert_ptr_nonnull(strstr(err, "no time zone"));
	ck_assert_int_eq(wall_time_parse("tomorrow", true, &ms, err,
					 sizeof(err)),
			 WALL_TIME_MALFORMED);
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
			      "2026-12-07T10:00:00.Z",
			      "2026-12-07T10:00.5Z",
			      "1969-12-31T23:00Z" };
	char err[256];
	uint64_t ms;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(wall_time_parse(bad[i], false, &ms, err,
					      sizeof(err)) ==
				      WALL_TIME_MALFORMED,
			      "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_format)
{
	char buf[40];
	ck_assert_str_eq(wall_time_utc(1796637600000ull, buf, sizeof(buf)),
			 "2026-12-07T10:00:00Z");
	setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
	tzset();
	ck_assert_str_eq(wall_time_local(1796637600000ull, buf, sizeof(buf)),
			 "2026-12-07T11:00:00+0100");
	unsetenv("TZ");
	tzset();
	/* what it writes, it reads back */
	ck_assert_uint_eq(parse(wall_time_utc(1796637600000ull, buf,
					      sizeof(buf)),
				true),
			  1796637600000ull);
}
END_TEST

Suite *wall_time_suite(void)
{
	Suite *s = suite_create("wall_time");
	TCase *t = tcase_create("wall_time");
	tcase_add_test(t, test_zones);
	tcase_add_test(t, test_fraction);
	tcase_add_test(t, test_local);
	tcase_add_test(t, test_zone_needed);
	tcase_add_test(t, test_refused);
	tcase_add_test(t, test_format);
	suite_add_tcase(s, t);
	return s;
}
