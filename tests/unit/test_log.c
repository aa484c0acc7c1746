/* test_log.c — the in-memory log (raft/log.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"
#include "tests/unit/suites.h"

static void fill(struct raft_log *l, unsigned n, raft_term term)
{
	char buf[32];
	for (unsigned i = 0; i < n; i++) {
		int len = snprintf(buf, sizeof(buf), "e%u", i);
		ck_assert_int_eq(log_append(l, term, RAFT_ENTRY_NORMAL, buf,
					    (size_t)len),
				 RAFT_OK);
	}
}

START_TEST(append_and_get)
{
	struct raft_log l;
	log_init(&l, 0, 0);
	ck_assert_uint_eq(log_last_index(&l), 0);
	ck_assert_uint_eq(log_last_term(&l), 0);
	fill(&l, 100, 3);
	ck_assert_uint_eq(log_last_index(&l), 100);
	ck_assert_uint_eq(log_last_term(&l), 3);
	struct raft_entry *e = log_get(&l, 42);
	ck_assert_uint_eq(e->index, 42);
	ck_assert_int_eq(memcmp(e->data.base, "e41", 3), 0);
	ck_assert_ptr_null(log_get(&l, 0));
	ck_assert_ptr_null(log_get(&l, 101));
	ck_assert_uint_eq(log_term_at(&l, 0), 0);
	ck_assert_uint_eq(log_term_at(&l, 101), 0);
	log_free(&l);
}
END_TEST

START_TEST(data_is_copied)
{
	struct raft_log l;
	log_init(&l, 0, 0);
	char buf[4] = "abc";
	log_append(&l, 1, RAFT_ENTRY_NORMAL, buf, 3);
	buf[0] = 'z';
	ck_assert_int_eq(memcmp(log_get(&l, 1)->data.base, "abc", 3), 0);
	log_free(&l);
}
END_TEST

START_TEST(truncate_suffix)
{
	struct raft_log l;
	log_init(&l, 0, 0);
	fill(&l, 10, 1);
	fill(&l, 10, 2);
	log_truncate_from(&l, 15);
	ck_assert_uint_eq(log_last_index(&l), 14);
	ck_assert_uint_eq(log_last_term(&l), 2);
	log_truncate_from(&l, 11);
	ck_assert_uint_eq(log_last_term(&l), 1);
	fill(&l, 1, 5);
	ck_assert_uint_eq(log_get(&l, 11)->index, 11);
	ck_assert_uint_eq(log_term_at(&l, 11), 5);
	log_free(&l);
}
END_TEST

START_TEST(compact_prefix_keeps_offset_term)
{
	struct raft_log l;
	log_init(&l, 0, 0);
	fill(&l, 10, 1);
	fill(&l, 10, 2);
	log_compact_upto(&l, 12);
	ck_assert_uint_eq(l.offset, 12);
	ck_assert_uint_eq(log_term_at(&l, 12), 2);
	ck_assert_uint_eq(log_term_at(&l, 11), 0); /* gone */
	ck_assert_ptr_null(log_get(&l, 12));
	ck_assert_uint_eq(log_get(&l, 13)->index, 13);
	ck_assert_uint_eq(log_last_index(&l), 20);
	log_compact_upto(&l, 20); /* everything */
	ck_assert_uint_eq(log_last_index(&l), 20);
	ck_assert_uint_eq(log_last_term(&l), 2);
	fill(&l, 1, 3);
	ck_assert_uint_eq(log_last_index(&l), 21);
	log_free(&l);
}
END_TEST

START_TEST(reset_to_snapshot)
{
	struct raft_log l;
	log_init(&l, 0, 0);
	fill(&l, 5, 1);
	log_reset(&l, 100, 7);
	ck_assert_uint_eq(log_last_index(&l), 100);
	ck_assert_uint_eq(log_last_term(&l), 7);
	fill(&l, 1, 8);
	ck_assert_uint_eq(log_get(&l, 101)->term, 8);
	log_free(&l);
}
END_TEST

START_TEST(empty_entries)
{
	struct raft_log l;
	log_init(&l, 0, 0);
	ck_assert_int_eq(log_append(&l, 1, RAFT_ENTRY_NOOP, NULL, 0), RAFT_OK);
	ck_assert_ptr_null(log_get(&l, 1)->data.base);
	ck_assert_uint_eq(log_get(&l, 1)->data.len, 0);
	log_free(&l);
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("memory");
	tcase_add_test(tc, append_and_get);
	tcase_add_test(tc, data_is_copied);
	tcase_add_test(tc, truncate_suffix);
	tcase_add_test(tc, compact_prefix_keeps_offset_term);
	tcase_add_test(tc, reset_to_snapshot);
	tcase_add_test(tc, empty_entries);
	suite_add_tcase(s, tc);
	return s;
}
