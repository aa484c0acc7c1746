/* test_callback_queue.c — the callbacks waiting behind a running one: in
 * order; a call equal to the last one waiting not queued twice; when full,
 * a waiting on_reload gives way before anything else (a run of reloads
 * while a callback hung once pushed an on_role_change out). */
#include <string.h>

#include "fencing/callback_queue.h"
#include "tests/unit/suites.h"

static void push(struct callback_queue *q, const char *name, const char *role,
		 enum callback_push want)
{
	struct callback_req dropped;
	ck_assert_int_eq(callback_queue_push(q, name, role, &dropped), want);
}

static void pop(struct callback_queue *q, const char *name, const char *role)
{
	struct callback_req r;
	ck_assert(callback_queue_pop(q, &r));
	ck_assert_str_eq(r.name, name);
	ck_assert_str_eq(r.role, role);
}

START_TEST(test_in_order)
{
	struct callback_queue q = { 0 };
	push(&q, "on_stop", "primary", CALLBACK_QUEUED);
	push(&q, "on_start", "replica", CALLBACK_QUEUED);
	pop(&q, "on_stop", "primary");
	pop(&q, "on_start", "replica");
	struct callback_req r;
	ck_assert(!callback_queue_pop(&q, &r));
}
END_TEST

START_TEST(test_a_run_of_reloads_keeps_the_role_change)
{
	struct callback_queue q = { 0 };
	push(&q, "on_role_change", "primary", CALLBACK_QUEUED);
	push(&q, "on_reload", "primary", CALLBACK_QUEUED);
	for (int i = 0; i < 10; i++)
		push(&q, "on_reload", "primary", CALLBACK_SAME_AS_LAST);
	pop(&q, "on_role_change", "primary");
	pop(&q, "on_reload", "primary");
}
END_TEST

START_TEST(test_full_drops_a_reload_first)
{
	struct callback_queue q = { 0 };
	struct callback_req dropped;
	push(&q, "on_role_change", "primary", CALLBACK_QUEUED);
	push(&q, "on_reload", "primary", CALLBACK_QUEUED);
	push(&q, "on_stop", "primary", CALLBACK_QUEUED);
	push(&q, "on_start", "replica", CALLBACK_QUEUED);
	ck_assert_int_eq(callback_queue_push(&q, "on_reload", "replica",
					     &dropped),
			 CALLBACK_QUEUED_DROPPING);
	ck_assert_str_eq(dropped.name, "on_reload");
	ck_assert_str_eq(dropped.role, "primary");
	pop(&q, "on_role_change", "primary");
	pop(&q, "on_stop", "primary");
	pop(&q, "on_start", "replica");
	pop(&q, "on_reload", "replica");
	/* no reload waiting: the oldest gives way */
	push(&q, "on_stop", "replica", CALLBACK_QUEUED);
	push(&q, "on_start", "replica", CALLBACK_QUEUED);
	push(&q, "on_role_change", "primary", CALLBACK_QUEUED);
	push(&q, "on_stop", "primary", CALLBACK_QUEUED);
	ck_assert_int_eq(callback_queue_push(&q, "on_start", "primary",
					     &dropped),
			 CALLBACK_QUEUED_DROPPING);
	ck_assert_str_eq(dropped.name, "on_stop");
	ck_assert_str_eq(dropped.role, "replica");
	pop(&q, "on_start", "replica");
}
END_TEST

Suite *callback_queue_suite(void)
{
	Suite *s = suite_create("callback_queue");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_in_order);
	tcase_add_test(tc, test_a_run_of_reloads_keeps_the_role_change);
	tcase_add_test(tc, test_full_drops_a_reload_first);
	suite_add_tcase(s, tc);
	return s;
}
