/*
 * test_scope_rate.c — server/scope_rate.c and server/scope_limits.c: the
 * token bucket per scope (burst, refill, exempt renewals, scopes apart, a
 * limit changed while running), the last-second rate, the bounded table,
 * and which scope a request names, with the refusal's words.
 */
#include <stdio.h>
#include <string.h>

#include "server/scope_admit.h"
#include "server/scope_limits.h"
#include "server/scope_rate.h"
#include "server/sm.h"
#include "tests/unit/suites.h"

static int admitted(struct scope_rate *r, const char *scope, int n,
		    uint64_t now)
{
	int ok = 0;
	for (int i = 0; i < n; i++)
		ok += scope_rate_admit(r, scope, strlen(scope), now, false);
	return ok;
}

START_TEST(test_bucket_burst_and_refill)
{
	struct scope_rate r;
	struct scope_rate_stats st;

	scope_rate_init(&r, 100);
	ck_assert_int_eq(admitted(&r, "a", 150, 1000), 100); /* one second */
	ck_assert_int_eq(admitted(&r, "b", 10, 1000), 10);   /* its own */
	ck_assert_int_eq(admitted(&r, "a", 10, 1050), 5);    /* 50 ms: 5 */
	/* Renewals are counted, never refused, and take no token. */
	ck_assert(scope_rate_admit(&r, "a", 1, 1050, true));
	ck_assert(scope_rate_get(&r, "a", 1, 1050, &st));
	ck_assert_uint_eq(st.requests, 161);
	ck_assert_uint_eq(st.refused_rate, 55);
	scope_rate_refused(&r, "a", 1, 1050);
	ck_assert(scope_rate_get(&r, "a", 1, 1050, &st));
	ck_assert_uint_eq(st.refused_quota, 1);
	/* The last whole second. */
	ck_assert(scope_rate_get(&r, "a", 1, 2100, &st));
	ck_assert_uint_eq(st.last_second, 161);
	ck_assert(scope_rate_get(&r, "a", 1, 3100, &st));
	ck_assert_uint_eq(st.last_second, 0);
	/* Long idle: a full bucket, no more. */
	ck_assert_int_eq(admitted(&r, "a", 150, 100000), 100);
	ck_assert(!scope_rate_get(&r, "zz", 2, 1000, &st));
	scope_rate_free(&r);
}
END_TEST

/* SIGHUP: a lowered limit holds at once (a bucket filled under the old
 * one is cut to the new burst), a raised one refills to its own burst,
 * and the counts so far stay. */
START_TEST(test_limit_changed)
{
	struct scope_rate r;
	struct scope_rate_stats st;

	scope_rate_init(&r, 100);
	ck_assert_int_eq(admitted(&r, "a", 10, 1000), 10);
	scope_rate_set_limit(&r, 5);
	ck_assert_int_eq(admitted(&r, "a", 20, 1000), 5);
	ck_assert_int_eq(admitted(&r, "a", 20, 1200), 1); /* 5/s: 1 in 200 ms */
	scope_rate_set_limit(&r, 50);
	ck_assert_int_eq(admitted(&r, "a", 100, 3000), 50);
	ck_assert(scope_rate_get(&r, "a", 1, 3000, &st));
	ck_assert_uint_eq(st.requests, 150);
	scope_rate_set_limit(&r, 0);
	ck_assert_int_eq(admitted(&r, "a", 100, 3000), 100);
	scope_rate_free(&r);
}
END_TEST

START_TEST(test_unlimited_and_bounded)
{
	struct scope_rate r;
	struct scope_rate_stats st;
	char name[16];

	scope_rate_init(&r, 0);
	ck_assert_int_eq(admitted(&r, "a", 5000, 1), 5000);
	/* Ever new scopes: the table keeps its bound, the idlest goes. */
	for (int i = 0; i < SCOPE_RATE_MAX + 10; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		admitted(&r, name, 1, 2);
		admitted(&r, "a", 1, 2); /* "a" stays recent */
	}
	ck_assert_uint_eq(r.by_name.count, SCOPE_RATE_MAX);
	ck_assert(scope_rate_get(&r, "a", 1, 2, &st));
	ck_assert(!scope_rate_get(&r, "s0", 2, 2, &st));
	scope_rate_free(&r);
}
END_TEST

START_TEST(test_scope_of_request_and_message)
{
	struct client_request q;
	const char *p;
	char msg[256];

	memset(&q, 0, sizeof(q));
	q.op = CLIENT_OP_PUT;
	q.key = (struct client_str){ "main/members/a", 14 };
	ck_assert_uint_eq(scope_of_request(&q, &p), 4);
	ck_assert(!memcmp(p, "main", 4));
	q.op = CLIENT_OP_LIST_PAGE;
	q.prefix = (struct client_str){ "", 0 };
	ck_assert_uint_eq(scope_of_request(&q, &p), 0); /* everything */
	q.op = CLIENT_OP_LEASE_RENEW;
	q.name = (struct client_str){ "x/primary", 9 };
	ck_assert_uint_eq(scope_of_request(&q, &p), 1);
	q.op = CLIENT_OP_STATUS;
	ck_assert_uint_eq(scope_of_request(&q, &p), 0);
	scope_quota_message(msg, sizeof(msg), "main", 4, SCOPE_QUOTA_KEYS, 10);
	ck_assert_str_eq(msg, "scope main is at its quota of 10 keys (witness "
			      "setting scope_max_keys); delete keys or raise "
			      "it");
	scope_quota_message(msg, sizeof(msg), "main", 4, SCOPE_QUOTA_LEASES, 2);
	ck_assert(strstr(msg, "scope_max_leases); release leases or raise"));
}
END_TEST

Suite *scope_rate_suite(void)
{
	Suite *s = suite_create("scope_rate");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_bucket_burst_and_refill);
	tcase_add_test(tc, test_limit_changed);
	tcase_add_test(tc, test_unlimited_and_bounded);
	tcase_add_test(tc, test_scope_of_request_and_message);
	suite_add_tcase(s, tc);
	return s;
}
