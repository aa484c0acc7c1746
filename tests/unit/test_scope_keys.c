/* test_scope_keys.c — fencing/scope_keys.c: the start_after key that lets
 * the agent list only the new part of S/history/, the walk's decisions,
 * and how many entries are pruned. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "fencing/scope_keys.h"
#include "tests/unit/suites.h"

static void hist_key(char *buf, size_t cap, unsigned long long token)
{
	snprintf(buf, cap, "main/history/%020llu", token);
}

START_TEST(before_is_the_previous_token)
{
	char k[64], prev[64], out[64];
	hist_key(k, sizeof(k), 123);
	hist_key(prev, sizeof(prev), 122);
	ck_assert(scope_key_before(k, strlen(k), out, sizeof(out)));
	ck_assert_str_eq(out, prev);
	/* ...0120 -> ...012/ : below ...0120, above ...0119 */
	hist_key(k, sizeof(k), 120);
	ck_assert(scope_key_before(k, strlen(k), out, sizeof(out)));
	hist_key(prev, sizeof(prev), 119);
	ck_assert(strcmp(out, k) < 0 && strcmp(out, prev) > 0);
}
END_TEST

START_TEST(before_a_nul_byte_drops_it)
{
	char out[8];
	ck_assert(scope_key_before("ab\0", 3, out, sizeof(out)));
	ck_assert_str_eq(out, "ab");
}
END_TEST

START_TEST(before_refuses_what_does_not_fit)
{
	char out[4];
	ck_assert(!scope_key_before("abcd", 4, out, sizeof(out)));
	ck_assert(!scope_key_before("", 0, out, sizeof(out)));
	ck_assert(scope_key_before("abc", 3, out, sizeof(out)));
	ck_assert_str_eq(out, "abb");
}
END_TEST

START_TEST(full_walk_takes_everything)
{
	struct scope_walk w;
	scope_walk_init(&w, NULL);
	ck_assert_int_eq(scope_walk_step(&w, "main/history/1", 14), SCOPE_TAKE);
	ck_assert_int_eq(scope_walk_step(&w, "main/sync", 9), SCOPE_TAKE);
	ck_assert_int_eq(scope_walk_end(&w), SCOPE_TAKE);
	scope_walk_init(&w, "");
	ck_assert_int_eq(scope_walk_end(&w), SCOPE_TAKE);
}
END_TEST

START_TEST(incremental_walk_confirms_the_known_key)
{
	char k[64], newer[64];
	struct scope_walk w;
	hist_key(k, sizeof(k), 500);
	hist_key(newer, sizeof(newer), 731);
	scope_walk_init(&w, k);
	ck_assert_int_eq(scope_walk_step(&w, "main/history/0", 14), SCOPE_SKIP);
	ck_assert_int_eq(scope_walk_step(&w, k, strlen(k)), SCOPE_AGAIN);
	ck_assert_int_eq(scope_walk_step(&w, newer, strlen(newer)), SCOPE_TAKE);
	ck_assert_int_eq(scope_walk_step(&w, "main/members/a", 14), SCOPE_TAKE);
	ck_assert_int_eq(scope_walk_end(&w), SCOPE_TAKE);
}
END_TEST

START_TEST(incremental_walk_restarts_when_the_known_key_is_gone)
{
	char k[64], newer[80];
	struct scope_walk w;
	hist_key(k, sizeof(k), 500);
	hist_key(newer, sizeof(newer), 731);
	/* a newer entry first: K was deleted */
	scope_walk_init(&w, k);
	ck_assert_int_eq(scope_walk_step(&w, newer, strlen(newer)),
			 SCOPE_RESTART);
	/* no history after it, the rest of the scope first */
	scope_walk_init(&w, k);
	ck_assert_int_eq(scope_walk_step(&w, "main/initialize", 15),
			 SCOPE_RESTART);
	/* nothing at all listed from K on */
	scope_walk_init(&w, k);
	ck_assert_int_eq(scope_walk_end(&w), SCOPE_RESTART);
	/* a longer key with K as its prefix is after K, not K */
	scope_walk_init(&w, k);
	snprintf(newer, sizeof(newer), "%sx", k);
	ck_assert_int_eq(scope_walk_step(&w, newer, strlen(newer)),
			 SCOPE_RESTART);
}
END_TEST

START_TEST(prune_keeps_the_newest)
{
	ck_assert_uint_eq(scope_prune_count(0, SCOPE_HISTORY_KEEP), 0);
	ck_assert_uint_eq(scope_prune_count(1000, SCOPE_HISTORY_KEEP), 0);
	ck_assert_uint_eq(scope_prune_count(1001, SCOPE_HISTORY_KEEP), 1);
	ck_assert_uint_eq(scope_prune_count(1500, SCOPE_HISTORY_KEEP), 500);
	ck_assert_uint_eq(scope_prune_count(101, SCOPE_DRILLS_KEEP), 1);
}
END_TEST

/* The one staleness rule tenurectl and the REST API apply to a pending
 * S/switchover: unreadable or over a minute old, a scheduled one counted
 * from its time. */
START_TEST(request_stale_rule)
{
	const char *now = "{\"requested_ms\":1000000}";
	const char *sched = "{\"requested_ms\":1000000,\"at_ms\":2000000}";
	ck_assert(!scope_request_stale(now, strlen(now), 1000000 + 60000));
	ck_assert(scope_request_stale(now, strlen(now), 1000000 + 60001));
	ck_assert(!scope_request_stale(sched, strlen(sched), 2000000 + 60000));
	ck_assert(scope_request_stale(sched, strlen(sched), 2000000 + 60001));
	ck_assert(scope_request_stale("{}", 2, 0));
	ck_assert(scope_request_stale("garbage", 7, 0));
}
END_TEST

Suite *scope_keys_suite(void)
{
	Suite *s = suite_create("scope_keys");
	TCase *t = tcase_create("keys");
	tcase_add_test(t, before_is_the_previous_token);
	tcase_add_test(t, before_a_nul_byte_drops_it);
	tcase_add_test(t, before_refuses_what_does_not_fit);
	tcase_add_test(t, full_walk_takes_everything);
	tcase_add_test(t, incremental_walk_confirms_the_known_key);
	tcase_add_test(t, incremental_walk_restarts_when_the_known_key_is_gone);
	tcase_add_test(t, prune_keeps_the_newest);
	tcase_add_test(t, request_stale_rule);
	suite_add_tcase(s, t);
	return s;
}
