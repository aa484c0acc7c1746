/* test_api_body.c — the REST API's Patroni bodies (fencing/api_body.c):
 * scheduled times need a zone (400 without, 422 unreadable or past),
 * POST /restart's keys ("master" is "primary", unknown keys and wrong
 * types refused with Patroni's codes), POST /reinitialize's "force" in
 * Patroni's spellings, and an empty body is {}. */
#include <check.h>
#include <string.h>

#include "fencing/api_body.h"
#include "tests/unit/suites.h"

#define NOW 1796637600000ull /* 2026-12-07T10:00:00Z */

static int restart(const char *json, struct api_restart_body *b)
{
	char why[400];
	why[0] = '\0';
	return api_body_restart(json, strlen(json), NOW, b, why, sizeof(why));
}

START_TEST(test_schedule)
{
	char why[400];
	uint64_t at = 0;
	ck_assert_int_eq(api_body_schedule("2026-12-07T10:05:00+00:00",
					   "switchover", NOW, &at, why,
					   sizeof(why)),
			 0);
	ck_assert_uint_eq(at, NOW + 300000);
	ck_assert_int_eq(api_body_schedule("2026-12-07T11:05", "switchover",
					   NOW, &at, why, sizeof(why)),
			 400);
	ck_assert_ptr_nonnull(strstr(why, "Timezone information is mandatory"));
	ck_assert_int_eq(api_body_schedule("2026-12-07T09:59Z", "restart", NOW,
					   &at, why, sizeof(why)),
			 422);
	ck_assert_str_eq(why, "Cannot schedule restart in the past");
	ck_assert_int_eq(api_body_schedule("next tuesday", "restart", NOW, &at,
					   why, sizeof(why)),
			 422);
}
END_TEST

START_TEST(test_restart_keys)
{
	struct api_restart_body b;
	ck_assert_int_eq(restart("", &b), 0);
	ck_assert_uint_eq(b.at_ms, 0);
	ck_assert(!b.pending);
	ck_assert_str_eq(b.role, "");
	ck_assert_int_eq(restart(" \n", &b), 0);
	ck_assert_int_eq(restart("{\"schedule\":\"2026-12-07T13:00+02:00\","
				 "\"restart_pending\":true,\"role\":"
				 "\"master\",\"timeout\":30}",
				 &b),
			 0);
	ck_assert_uint_eq(b.at_ms, NOW + 3600000);
	ck_assert(b.pending);
	ck_assert_str_eq(b.role, "primary");
	ck_assert_uint_eq(b.timeout_ms, 30000);
	ck_assert_int_eq(restart("{\"role\":\"replica\",\"timeout\":\"5\"}",
				 &b),
			 0);
	ck_assert_str_eq(b.role, "replica");
	ck_assert_uint_eq(b.timeout_ms, 5000);
	ck_assert_int_eq(restart("{\"schedule\":null}", &b), 0);
	ck_assert_uint_eq(b.at_ms, 0);
}
END_TEST

START_TEST(test_restart_refused)
{
	struct api_restart_body b;
	ck_assert_int_eq(restart("{\"role\":\"standby\"}", &b), 400);
	ck_assert_int_eq(restart("{\"restart_pending\":\"yes\"}", &b), 400);
	ck_assert_int_eq(restart("{\"timeout\":0}", &b), 400);
	ck_assert_int_eq(restart("{\"timeout\":-3}", &b), 400);
	ck_assert_int_eq(restart("{\"postgres_version\":\"15.2\"}", &b), 400);
	ck_assert_int_eq(restart("{\"when\":\"now\"}", &b), 400);
	ck_assert_int_eq(restart("{\"schedule\":\"2026-12-07T12:00\"}", &b),
			 400);
	ck_assert_int_eq(restart("{\"schedule\":\"2026-12-07T09:00Z\"}", &b),
			 422);
	ck_assert_int_eq(restart("{\"schedule\":\"soon\"}", &b), 422);
	ck_assert_int_eq(restart("{\"schedule\":5}", &b), 400);
	ck_assert_int_eq(restart("[1]", &b), 400);
	/* a refusal after a good schedule leaves nothing half-read */
	ck_assert_int_eq(restart("{\"schedule\":\"2026-12-08T00:00Z\","
				 "\"role\":\"x\"}",
				 &b),
			 400);
	ck_assert_uint_eq(b.at_ms, 0);
}
END_TEST

static bool force_of(const char *json)
{
	char why[400];
	bool force = true;
	ck_assert_int_eq(api_body_reinit(json, strlen(json), &force, why,
					 sizeof(why)),
			 0);
	return force;
}

START_TEST(test_reinit)
{
	ck_assert(!force_of(""));
	ck_assert(!force_of("{}"));
	ck_assert(force_of("{\"force\":true}"));
	ck_assert(force_of("{\"force\":\"Yes\"}"));
	ck_assert(force_of("{\"force\":1}"));
	ck_assert(!force_of("{\"force\":false}"));
	ck_assert(!force_of("{\"force\":\"off\"}"));
	ck_assert(!force_of("{\"other\":true}"));
	char why[400];
	bool force = true;
	ck_assert_int_eq(api_body_reinit("{force}", 7, &force, why,
					 sizeof(why)),
			 400);
	ck_assert(!force);
}
END_TEST

Suite *api_body_suite(void)
{
	Suite *s = suite_create("api_body");
	TCase *t = tcase_create("api_body");
	tcase_add_test(t, test_schedule);
	tcase_add_test(t, test_restart_keys);
	tcase_add_test(t, test_restart_refused);
	tcase_add_test(t, test_reinit);
	suite_add_tcase(s, t);
	return s;
}
