/*
 * test_view_currency.c — fencing/view_currency.c, rule by rule of its
 * header: a complete read with both watches up and a holder stands while
 * the holder's renewals confirm it; a renewal of anyone else, an event
 * (also one during the read), a failed read, a watch not established or
 * no holder bring back a read every tick; and a full read comes at least
 * every VIEW_REFRESH_INTERVALS renew intervals however many renewals
 * confirm the view.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/view_currency.h"
#include "tests/unit/suites.h"

#define INTERVAL 500
#define T0 100000 /* monotonic ms of the first read */
#define WALL0 1700000000000ull

static struct view_currency cur;
static struct witness_view *view; /* large: on the heap */

static void reset(void)
{
	memset(&cur, 0, sizeof(cur));
	view = calloc(1, sizeof(*view));
	ck_assert_ptr_nonnull(view);
}

static void release(void)
{
	free(view);
	view = NULL;
}

/* A read of the scope ending at now, as the agent does one: complete (ok),
 * the view filled with holder "n1" (id "n1/7", token 12) when with_holder. */
static void read_at(uint64_t now, bool ok, bool with_holder)
{
	uint64_t gen = view_currency_read_begin(&cur);
	if (ok && with_holder) {
		strcpy(view->holder, "n1");
		strcpy(view->holder_id, "n1/7");
		view->token = 12;
	}
	if (ok)
		view->read_ms = now;
	view_currency_read_end(&cur, gen, ok, now);
}

static void watches_up(void)
{
	cur.keys_ready = cur.leases_ready = true;
}

static bool renewal(const char *id, uint64_t token, uint64_t now, uint64_t wall)
{
	return view_currency_renewal(&cur, view, id, strlen(id), token, now,
				     wall);
}

static bool current(uint64_t now)
{
	return view_currency_current(&cur, view, now, INTERVAL);
}

START_TEST(never_read_is_not_current)
{
	watches_up();
	ck_assert(!current(T0));
	ck_assert(!renewal("n1/7", 12, T0, WALL0)); /* no holder yet */
}
END_TEST

/* Without a renewal the view stands VIEW_CONFIRM_INTERVALS intervals. */
START_TEST(complete_read_stands_until_confirm_runs_out)
{
	read_at(T0, true, true);
	watches_up();
	ck_assert(current(T0));
	ck_assert(current(T0 + VIEW_CONFIRM_INTERVALS * INTERVAL - 1));
	ck_assert(!current(T0 + VIEW_CONFIRM_INTERVALS * INTERVAL));
}
END_TEST

START_TEST(renewal_of_holder_confirms)
{
	read_at(T0, true, true);
	watches_up();
	strcpy(view->last_primary, "n1");
	view->last_primary_seen_ms = WALL0 + 10;
	uint64_t now = T0 + INTERVAL, wall = WALL0 + INTERVAL;
	ck_assert(renewal("n1/7", 12, now, wall));
	ck_assert_uint_eq(view->read_ms, now);
	ck_assert_uint_eq(view->holder_renewed_ms, wall);
	ck_assert_uint_eq(view->last_primary_seen_ms, wall);
	ck_assert(current(now + VIEW_CONFIRM_INTERVALS * INTERVAL - 1));
	/* A wall clock stepped back never moves last_primary_seen_ms back. */
	ck_assert(renewal("n1/7", 12, now + 1, WALL0));
	ck_assert_uint_eq(view->last_primary_seen_ms, wall);
	ck_assert_uint_eq(view->holder_renewed_ms, WALL0);
}
END_TEST

START_TEST(renewal_of_other_primary_leaves_last_primary)
{
	read_at(T0, true, true);
	watches_up();
	strcpy(view->last_primary, "n2"); /* the holder is not the primary */
	view->last_primary_seen_ms = WALL0;
	ck_assert(renewal("n1/7", 12, T0 + 1, WALL0 + 500));
	ck_assert_uint_eq(view->last_primary_seen_ms, WALL0);
}
END_TEST

/* Renewals every interval keep it current, but never past
 * VIEW_REFRESH_INTERVALS intervals after the last complete read. */
START_TEST(full_read_at_least_every_refresh_intervals)
{
	read_at(T0, true, true);
	watches_up();
	uint64_t now = T0;
	while (now + INTERVAL < T0 + VIEW_REFRESH_INTERVALS * INTERVAL) {
		now += INTERVAL;
		ck_assert(renewal("n1/7", 12, now, WALL0 + now));
		ck_assert_msg(current(now),
			      "not current %llu ms after the read",
			      (unsigned long long)(now - T0));
	}
	ck_assert(current(T0 + VIEW_REFRESH_INTERVALS * INTERVAL - 1));
	ck_assert(!current(T0 + VIEW_REFRESH_INTERVALS * INTERVAL));
	/* The read that follows starts the count again. */
	read_at(T0 + VIEW_REFRESH_INTERVALS * INTERVAL, true, true);
	ck_assert(current(T0 + VIEW_REFRESH_INTERVALS * INTERVAL));
}
END_TEST

/* Another holder, token or incarnation: the scope changed. */
START_TEST(renewal_of_someone_else_makes_stale)
{
	const char *ids[] = { "n2/7", "n1/8", "n1/70", "n1/", "n1" };
	const uint64_t tokens[] = { 12, 12, 12, 12, 12 };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		read_at(T0, true, true);
		watches_up();
		ck_assert(current(T0));
		ck_assert_msg(!renewal(ids[i], tokens[i], T0 + 1, WALL0),
			      "renewal by %s confirmed n1/7", ids[i]);
		ck_assert_msg(!current(T0 + 1), "current after %s", ids[i]);
		/* and a renewal of the right holder does not bring it
		 * back: only a read does */
		ck_assert(!renewal("n1/7", 12, T0 + 2, WALL0));
		ck_assert(!current(T0 + 2));
	}
	read_at(T0, true, true);
	ck_assert(!renewal("n1/7", 13, T0 + 1, WALL0)); /* a new token */
	ck_assert(!current(T0 + 1));
}
END_TEST

START_TEST(event_makes_stale_until_next_read)
{
	read_at(T0, true, true);
	watches_up();
	view_currency_stale(&cur);
	ck_assert(!current(T0 + 1));
	read_at(T0 + 2, true, true);
	ck_assert(current(T0 + 2));
}
END_TEST

/* An event between the read's start and its end may be missing from
 * what it saw: the read does not count. */
START_TEST(event_during_read_needs_another)
{
	watches_up();
	uint64_t gen = view_currency_read_begin(&cur);
	strcpy(view->holder, "n1");
	strcpy(view->holder_id, "n1/7");
	view->token = 12;
	view->read_ms = T0;
	view_currency_stale(&cur);
	view_currency_read_end(&cur, gen, true, T0);
	ck_assert(!current(T0));
	ck_assert(!renewal("n1/7", 12, T0 + 1, WALL0));
	read_at(T0 + 2, true, true);
	ck_assert(current(T0 + 2));
}
END_TEST

START_TEST(failed_read_is_not_current)
{
	read_at(T0, true, true);
	watches_up();
	read_at(T0 + 1, false, true);
	ck_assert(!current(T0 + 1));
	ck_assert(!renewal("n1/7", 12, T0 + 2, WALL0));
	ck_assert_uint_eq(view->read_ms, T0); /* not confirmed */
}
END_TEST

START_TEST(watches_must_be_established)
{
	read_at(T0, true, true);
	ck_assert(!current(T0));
	cur.keys_ready = true;
	ck_assert(!current(T0));
	cur.keys_ready = false;
	cur.leases_ready = true;
	ck_assert(!current(T0));
	cur.keys_ready = true;
	ck_assert(current(T0));
}
END_TEST

/* Without a holder, candidates compare each other's records: every tick
 * reads. */
START_TEST(no_holder_reads_every_tick)
{
	read_at(T0, true, false);
	watches_up();
	ck_assert(!current(T0));
	ck_assert(!renewal("n1/7", 12, T0 + 1, WALL0));
}
END_TEST

Suite *view_currency_suite(void)
{
	Suite *s = suite_create("view_currency");
	TCase *tc = tcase_create("rules");

	tcase_add_checked_fixture(tc, reset, release);
	tcase_add_test(tc, never_read_is_not_current);
	tcase_add_test(tc, complete_read_stands_until_confirm_runs_out);
	tcase_add_test(tc, renewal_of_holder_confirms);
	tcase_add_test(tc, renewal_of_other_primary_leaves_last_primary);
	tcase_add_test(tc, full_read_at_least_every_refresh_intervals);
	tcase_add_test(tc, renewal_of_someone_else_makes_stale);
	tcase_add_test(tc, event_makes_stale_until_next_read);
	tcase_add_test(tc, event_during_read_needs_another);
	tcase_add_test(tc, failed_read_is_not_current);
	tcase_add_test(tc, watches_must_be_established);
	tcase_add_test(tc, no_holder_reads_every_tick);
	suite_add_tcase(s, tc);
	return s;
}
