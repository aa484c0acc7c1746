/*
 * test_watch_index.c — server/watch_index.c and server/turn_budget.c:
 * watches found by event (a scope's bucket, wide prefixes, kinds, a
 * prefix that only looks alike), by session (count, find, remove all),
 * emptied at shutdown in one walk,
 * and removal from the middle of a chain; a fleet-sized index answers an
 * event with its scope's watches only.  The turn's budget starts at the
 * first work, is spent at its limit, and starts again after the turn ends.
 */
#include <stdio.h>
#include <string.h>

#include "server/turn_budget.h"
#include "server/watch_index.h"
#include "tests/unit/suites.h"

/* Sessions are opaque to the index: any distinct addresses do. */
static char sessions[8];
#define SESS(i) ((struct session *)(void *)&sessions[i])

static size_t match(struct watch_index *x, bool lease_kind, const char *name,
		    struct watch_ref *out, size_t cap)
{
	return watch_index_match(x, lease_kind, name, strlen(name), out, cap);
}

static struct watch_entry *add(struct watch_index *x, int sess, uint64_t id,
			       bool lease_kind, const char *prefix)
{
	struct watch_entry *w = watch_index_add(x, SESS(sess), id, lease_kind,
						prefix, strlen(prefix));
	ck_assert_ptr_nonnull(w);
	return w;
}

static int cleared;

/* watch_index_clear's callback: counts the watches of session ctx. */
static void count_cleared(void *ctx, struct session *sess)
{
	ck_assert_ptr_eq(sess, ctx);
	cleared++;
}

static bool holds(struct watch_ref *m, size_t n, struct watch_entry *w)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].sess == w->sess && m[i].id == w->id)
			return true;
	return false;
}

START_TEST(test_match_by_event)
{
	static struct watch_index x;
	struct watch_ref m[8];

	watch_index_init(&x);
	struct watch_entry *scope = add(&x, 0, 1, false, "main/");
	struct watch_entry *deep = add(&x, 1, 2, false, "main/members/");
	struct watch_entry *all = add(&x, 2, 3, false, "");
	struct watch_entry *bare = add(&x, 3, 4, false, "ma");
	struct watch_entry *lease = add(&x, 0, 5, true, "main/primary");
	struct watch_entry *other = add(&x, 4, 6, false, "mainx/");

	size_t n = match(&x, false, "main/members/m1", m, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert(holds(m, n, scope) && holds(m, n, deep) && holds(m, n, all) &&
		  holds(m, n, bare));
	n = match(&x, false, "main/optime", m, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert(!holds(m, n, deep));
	/* "mainx/" shares no bucket logic with "main/": not a match */
	n = match(&x, false, "mainx/k", m, 8);
	ck_assert_uint_eq(n, 3); /* other, all, bare ("ma") */
	ck_assert(holds(m, n, other) && !holds(m, n, scope));
	/* a name without '/': only wide watches can match */
	n = match(&x, false, "main", m, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert(holds(m, n, all) && holds(m, n, bare));
	/* kinds apart */
	n = match(&x, true, "main/primary", m, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert(holds(m, 1, lease));
	/* too little room: the count says how many */
	ck_assert_uint_eq(match(&x, false, "main/members/m1", m, 2), 4);
	ck_assert_uint_eq(x.n, 6);
}
END_TEST

START_TEST(test_by_session_and_removal)
{
	static struct watch_index x;
	struct watch_ref m[8];

	watch_index_init(&x);
	struct watch_entry *a = add(&x, 0, 1, false, "s/");
	struct watch_entry *b = add(&x, 0, 2, false, "s/");
	struct watch_entry *c = add(&x, 0, 3, false, "s/");
	add(&x, 1, 1, false, "s/");
	ck_assert_uint_eq(watch_index_count_of(&x, SESS(0)), 3);
	ck_assert_uint_eq(watch_index_count_of(&x, SESS(1)), 1);
	ck_assert_ptr_eq(watch_index_find(&x, SESS(0), 2), b);
	ck_assert_ptr_null(watch_index_find(&x, SESS(2), 2));
	/* from the middle of both chains */
	watch_index_remove(&x, b);
	ck_assert_ptr_null(watch_index_find(&x, SESS(0), 2));
	size_t n = match(&x, false, "s/k", m, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert(holds(m, n, a) && holds(m, n, c));
	/* all of one session, as a closed connection does */
	struct watch_entry *w;
	while ((w = watch_index_any_of(&x, SESS(0))))
		watch_index_remove(&x, w);
	ck_assert_uint_eq(watch_index_count_of(&x, SESS(0)), 0);
	ck_assert_uint_eq(match(&x, false, "s/k", m, 8), 1);
	cleared = 0;
	watch_index_clear(&x, count_cleared, SESS(1));
	ck_assert_int_eq(cleared, 1); /* the one watch left, of session 1 */
	ck_assert_uint_eq(x.n, 0);
	ck_assert_uint_eq(match(&x, false, "s/k", m, 8), 0);
}
END_TEST

/* Emptying at shutdown: watches wide and in many buckets, of several
 * sessions, each reported once; the index is usable afterwards. */
START_TEST(test_clear)
{
	static struct watch_index x;
	struct watch_ref m[4];
	char p[32];

	watch_index_init(&x);
	for (int i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "scope-%d/", i);
		add(&x, 2, (uint64_t)i, i % 2, i % 50 ? p : "");
	}
	cleared = 0;
	watch_index_clear(&x, count_cleared, SESS(2));
	ck_assert_int_eq(cleared, 300);
	ck_assert_uint_eq(x.n, 0);
	ck_assert_uint_eq(match(&x, false, "scope-2/k", m, 4), 0);
	ck_assert_ptr_null(watch_index_any_of(&x, SESS(2)));
	struct watch_entry *w = add(&x, 3, 7, false, "scope-2/");
	ck_assert_uint_eq(match(&x, false, "scope-2/k", m, 4), 1);
	ck_assert(holds(m, 1, w));
	watch_index_remove(&x, w);
}
END_TEST

/* 3,000 agents' watches (1,000 scopes): an event reaches its scope's six
 * and no other, and closing every session empties the index. */
START_TEST(test_fleet_sized)
{
	static struct watch_index x;
	static char sess[3000];
	struct watch_ref m[16];
	char p[32];

	watch_index_init(&x);
	for (int i = 0; i < 3000; i++) {
		snprintf(p, sizeof(p), "fleet-%d/", i / 3);
		ck_assert_ptr_nonnull(
			watch_index_add(&x, (struct session *)(void *)&sess[i],
					1, false, p, strlen(p)));
		snprintf(p, sizeof(p), "fleet-%d/primary", i / 3);
		ck_assert_ptr_nonnull(
			watch_index_add(&x, (struct session *)(void *)&sess[i],
					2, true, p, strlen(p)));
	}
	ck_assert_uint_eq(match(&x, false, "fleet-417/members/m2", m, 16), 3);
	ck_assert_uint_eq(match(&x, true, "fleet-417/primary", m, 16), 3);
	/* scope 417 is agents 1251, 1252 and 1253 */
	for (size_t i = 0; i < 3; i++) {
		const char *at = (const char *)(const void *)m[i].sess;
		ck_assert(at >= &sess[1251] && at <= &sess[1253]);
	}
	for (int i = 0; i < 3000; i++) {
		struct session *s = (struct session *)(void *)&sess[i];
		ck_assert_uint_eq(watch_index_count_of(&x, s), 2);
		struct watch_entry *w;
		while ((w = watch_index_any_of(&x, s)))
			watch_index_remove(&x, w);
	}
	ck_assert_uint_eq(x.n, 0);
}
END_TEST

START_TEST(test_turn_budget)
{
	struct turn_budget t;

	turn_budget_init(&t, 10);
	/* the clock starts at the first work, not before */
	ck_assert(!turn_budget_spent(&t, 1000));
	ck_assert(!turn_budget_spent(&t, 1009));
	ck_assert(turn_budget_spent(&t, 1010));
	turn_budget_end(&t);
	ck_assert(!turn_budget_spent(&t, 5000));
	ck_assert(turn_budget_spent(&t, 5011));
}
END_TEST

Suite *watch_index_suite(void)
{
	Suite *s = suite_create("watch_index");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_match_by_event);
	tcase_add_test(tc, test_by_session_and_removal);
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_fleet_sized);
	tcase_add_test(tc, test_turn_budget);
	suite_add_tcase(s, tc);
	return s;
}
