/*
 * test_read_queue.c — server/read_queue.c: results found by id in any
 * order, a result for a finished or unknown id ignored, the finished front
 * dropped so the queue does not grow while reads keep coming, and the
 * oldest unfinished taken first when everything fails.
 */
#include "server/read_queue.h"
#include "tests/unit/suites.h"

static void noop(void *arg, int status)
{
	(void)arg;
	(void)status;
}

START_TEST(test_take_by_id_in_any_order)
{
	struct read_queue q;
	struct pending_read pr;
	int tags[5];

	read_queue_init(&q);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(read_queue_add(&q, noop, &tags[i]),
				  (uint64_t)i + 1);
	ck_assert(read_queue_take(&q, 3, &pr));
	ck_assert_ptr_eq(pr.arg, &tags[2]);
	ck_assert(!read_queue_take(&q, 3, &pr)); /* finished */
	ck_assert(!read_queue_take(&q, 9, &pr)); /* never added */
	ck_assert(read_queue_take(&q, 1, &pr));
	ck_assert(read_queue_take(&q, 5, &pr));
	ck_assert(read_queue_take_any(&q, &pr));
	ck_assert_ptr_eq(pr.arg, &tags[1]); /* the oldest left: id 2 */
	ck_assert(read_queue_take_any(&q, &pr));
	ck_assert_ptr_eq(pr.arg, &tags[3]);
	ck_assert(!read_queue_take_any(&q, &pr));
	read_queue_free(&q);
}
END_TEST

/* Reads that finish keep coming: the array stays the size of what is
 * pending at once, not of everything ever read.  (Finished reads behind
 * one still pending are kept until it finishes: reads finish within a
 * heartbeat round, or all fail with the leadership.) */
START_TEST(test_finished_front_is_dropped)
{
	struct read_queue q;
	struct pending_read pr;

	read_queue_init(&q);
	uint64_t first = read_queue_add(&q, noop, NULL); /* stays pending */
	for (int round = 0; round < 10000; round++) {
		uint64_t a = read_queue_add(&q, noop, NULL);
		uint64_t b = read_queue_add(&q, noop, NULL);
		ck_assert(read_queue_take(&q, b, &pr));
		ck_assert(read_queue_take(&q, a, &pr));
	}
	ck_assert(read_queue_take(&q, first, &pr));
	ck_assert_uint_eq(q.n, 0); /* all finished: emptied */
	unsigned cap = q.cap;
	for (int i = 0; i < 100000; i++) {
		uint64_t a = read_queue_add(&q, noop, NULL);
		uint64_t b = read_queue_add(&q, noop, NULL);
		ck_assert(read_queue_take(&q, a, &pr));
		ck_assert(read_queue_take(&q, b, &pr));
	}
	ck_assert_uint_eq(q.cap, cap);
	ck_assert_uint_eq(q.n, 0);
	read_queue_free(&q);
}
END_TEST

Suite *read_queue_suite(void)
{
	Suite *s = suite_create("read_queue");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_take_by_id_in_any_order);
	tcase_add_test(tc, test_finished_front_is_dropped);
	suite_add_tcase(s, tc);
	return s;
}
