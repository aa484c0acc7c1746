/*
 * test_ctl_pgmove.c — what `tenurectl cluster move` decides
 * (ctl/ctl_pgmove_plan.c), rule by rule of its header: the refusals on
 * the old trio (moved elsewhere, not paused, an agent running) and on the
 * new one (an agent, a differing key), a re-run after a half-way failure,
 * a move already made whose agents ran on, and which keys the copy takes.
 */
#include <check.h>
#include <string.h>

#include "ctl/ctl_pgmove_plan.h"
#include "tests/unit/suites.h"

#define NEW_TRIO "10.0.1.1:7101,10.0.1.2:7101,10.0.1.3:7101"

static struct client_str s(const char *p)
{
	return (struct client_str){ p, strlen(p) };
}

static struct client_kv kv(const char *key, const char *value)
{
	return (struct client_kv){ .key = s(key), .value = s(value) };
}

/* A member record: held by the agent's lease. */
static struct client_kv member(const char *key)
{
	struct client_kv m = kv(key, "{\"role\":\"replica\"}");
	m.lease = s(key);
	return m;
}

static struct move_keys k;
static char detail[256];

static void setup(void)
{
	move_keys_init(&k, "main");
	detail[0] = '\0';
}

/* A paused, stopped cluster on the old trio. */
static struct client_kv paused[] = {
	{ .key = { "main/pause", 10 }, .value = { "1", 1 } },
	{ .key = { "main/config", 11 }, .value = { "{}", 2 } },
	{ .key = { "main/history/1", 14 }, .value = { "pg1 1", 5 } },
};
#define N_PAUSED (sizeof(paused) / sizeof(paused[0]))

static struct move_side side(const struct client_kv *kvs, size_t n,
			     const char *holder)
{
	return (struct move_side){ kvs, n, holder };
}

/* The verdicts on a side, detail filled. */
static enum move_verdict on_old(const struct move_side *old)
{
	return move_check_old(&k, NEW_TRIO, old, detail, sizeof(detail));
}

static enum move_verdict on_new(const struct move_side *old,
				const struct move_side *new)
{
	return move_check_new(&k, old, new, detail, sizeof(detail));
}

START_TEST(keys_of_scope)
{
	ck_assert_str_eq(k.prefix, "main/");
	ck_assert_str_eq(k.moved, "main/moved");
	ck_assert_str_eq(k.pause, "main/pause");
	ck_assert_str_eq(k.primary, "main/primary");
}
END_TEST

START_TEST(old_ready_when_paused_and_stopped)
{
	struct move_side old = side(paused, N_PAUSED, "");
	ck_assert_int_eq(on_old(&old), MOVE_READY);
}
END_TEST

START_TEST(old_not_paused)
{
	struct move_side old = side(paused + 1, N_PAUSED - 1, "");
	ck_assert_int_eq(on_old(&old), MOVE_NOT_PAUSED);
}
END_TEST

/* S/primary held, or only a member record left: an agent still runs. */
START_TEST(old_agent_running)
{
	struct move_side old = side(paused, N_PAUSED, "pg1/3");
	ck_assert_int_eq(on_old(&old), MOVE_OLD_AGENT);
	ck_assert_str_eq(detail, "pg1/3");
	struct client_kv with_member[] = { paused[0], paused[1],
					   member("main/members/pg2") };
	old = side(with_member, 3, "");
	ck_assert_int_eq(on_old(&old), MOVE_OLD_AGENT);
	ck_assert_str_eq(detail, "main/members/pg2");
}
END_TEST

/* S/moved naming this --to: a re-run goes on; another trio: refused
 * before anything else is looked at (even an unpaused scope). */
START_TEST(old_moved)
{
	struct client_kv here[] = { paused[0], kv("main/moved", NEW_TRIO) };
	struct move_side old = side(here, 2, "");
	ck_assert_int_eq(on_old(&old), MOVE_READY);
	struct client_kv elsewhere[] = { kv("main/moved", "10.9.9.9:7101") };
	old = side(elsewhere, 1, "");
	ck_assert_int_eq(on_old(&old), MOVE_MOVED_ELSEWHERE);
	ck_assert_str_eq(detail, "10.9.9.9:7101");
	/* a prefix of --to is another trio */
	struct client_kv prefix[] = { paused[0],
				      kv("main/moved", "10.0.1.1:7101") };
	old = side(prefix, 2, "");
	ck_assert_int_eq(on_old(&old), MOVE_MOVED_ELSEWHERE);
}
END_TEST

START_TEST(new_empty_is_ready)
{
	struct move_side old = side(paused, N_PAUSED, "");
	struct move_side new = side(NULL, 0, "");
	ck_assert_int_eq(on_new(&old, &new), MOVE_READY);
}
END_TEST

/* An earlier run copied some keys, then failed: the same values are
 * ready, and the copy skips them. */
START_TEST(new_half_copied_is_ready)
{
	struct move_side old = side(paused, N_PAUSED, "");
	struct client_kv half[] = { paused[0], paused[2] };
	struct move_side new = side(half, 2, "");
	ck_assert_int_eq(on_new(&old, &new), MOVE_READY);
	ck_assert(!move_copies(&k, &new, &paused[0]));
	ck_assert(move_copies(&k, &new, &paused[1]));
	ck_assert(!move_copies(&k, &new, &paused[2]));
}
END_TEST

START_TEST(new_differs)
{
	struct move_side old = side(paused, N_PAUSED, "");
	struct client_kv other[] = { kv("main/config", "{\"ttl\":30}") };
	struct move_side new = side(other, 1, "");
	ck_assert_int_eq(on_new(&old, &new), MOVE_NEW_DIFFERS);
	ck_assert_str_eq(detail, "main/config");
	/* a key the old trio does not have */
	struct client_kv extra[] = { kv("main/sync", "pg2") };
	new = side(extra, 1, "");
	ck_assert_int_eq(on_new(&old, &new), MOVE_NEW_DIFFERS);
	ck_assert_str_eq(detail, "main/sync");
	/* the tombstone is never copied: one on the new trio differs */
	struct client_kv tomb[] = { kv("main/moved", NEW_TRIO) };
	struct client_kv old_tomb[] = { paused[0], kv("main/moved", NEW_TRIO) };
	struct move_side old2 = side(old_tomb, 2, "");
	new = side(tomb, 1, "");
	ck_assert_int_eq(on_new(&old2, &new), MOVE_MOVED_ON);
	ck_assert_int_eq(on_new(&old, &new), MOVE_NEW_DIFFERS);
}
END_TEST

START_TEST(new_agent_running)
{
	struct move_side old = side(paused, N_PAUSED, "");
	struct move_side new = side(NULL, 0, "pg1/4");
	ck_assert_int_eq(on_new(&old, &new), MOVE_NEW_AGENT);
	ck_assert_str_eq(detail, "pg1/4");
	struct client_kv rec[] = { member("main/members/pg3") };
	new = side(rec, 1, "");
	ck_assert_int_eq(on_new(&old, &new), MOVE_NEW_AGENT);
	ck_assert_str_eq(detail, "main/members/pg3");
}
END_TEST

/* The tombstone is on the old trio and the new one has moved on (agents,
 * keys changed): the move was made, nothing to do — not a refusal. */
START_TEST(moved_on)
{
	struct client_kv old_kvs[] = { paused[0], paused[1],
				       kv("main/moved", NEW_TRIO) };
	struct move_side old = side(old_kvs, 3, "");
	struct client_kv new_kvs[] = { paused[1], kv("main/sync", "pg2"),
				       member("main/members/pg1") };
	struct move_side new = side(new_kvs, 3, "pg1/5");
	ck_assert_int_eq(on_new(&old, &new), MOVE_MOVED_ON);
	/* The same old trio and an untouched new one: a re-run goes on. */
	new = side(NULL, 0, "");
	ck_assert_int_eq(on_new(&old, &new), MOVE_READY);
}
END_TEST

/* The copy takes what no lease holds, and never the tombstone. */
START_TEST(copy_takes_unleased_keys)
{
	struct move_side new = side(NULL, 0, "");
	struct client_kv rec = member("main/members/pg1");
	struct client_kv tomb = kv("main/moved", NEW_TRIO);
	struct client_kv hist = kv("main/history/2", "pg2 7");
	ck_assert(!move_copies(&k, &new, &rec));
	ck_assert(!move_copies(&k, &new, &tomb));
	ck_assert(move_copies(&k, &new, &hist));
	for (size_t i = 0; i < N_PAUSED; i++)
		ck_assert(move_copies(&k, &new, &paused[i]));
}
END_TEST

/* No detail buffer: the verdict alone. */
START_TEST(detail_optional)
{
	struct move_side old = side(paused, N_PAUSED, "pg1/3");
	struct move_side new = side(NULL, 0, "pg1/4");
	ck_assert_int_eq(move_check_old(&k, NEW_TRIO, &old, NULL, 0),
			 MOVE_OLD_AGENT);
	ck_assert_int_eq(move_check_new(&k, &old, &new, NULL, 0),
			 MOVE_NEW_AGENT);
}
END_TEST

Suite *ctl_pgmove_suite(void)
{
	Suite *su = suite_create("ctl_pgmove");
	TCase *tc = tcase_create("plan");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, keys_of_scope);
	tcase_add_test(tc, old_ready_when_paused_and_stopped);
	tcase_add_test(tc, old_not_paused);
	tcase_add_test(tc, old_agent_running);
	tcase_add_test(tc, old_moved);
	tcase_add_test(tc, new_empty_is_ready);
	tcase_add_test(tc, new_half_copied_is_ready);
	tcase_add_test(tc, new_differs);
	tcase_add_test(tc, new_agent_running);
	tcase_add_test(tc, moved_on);
	tcase_add_test(tc, copy_takes_unleased_keys);
	tcase_add_test(tc, detail_optional);
	suite_add_tcase(su, tc);
	return su;
}
