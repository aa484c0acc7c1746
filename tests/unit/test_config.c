/* test_config.c — membership configuration encoding (raft/config.c). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft.h"
#include "tests/unit/suites.h"

static struct raft_config three(void)
{
	struct raft_config c = { .n = 3 };
	for (unsigned i = 0; i < 3; i++) {
		c.servers[i].id = i + 1;
		c.servers[i].role = i == 2 ? RAFT_LEARNER : RAFT_VOTER;
		snprintf(c.servers[i].addr, RAFT_ADDR_MAX, "127.0.0.1:700%u",
			 i);
	}
	return c;
}

START_TEST(roundtrip)
{
	struct raft_config c = three(), d;
	unsigned char buf[512];
	size_t n = raft_config_encode(&c, buf, sizeof(buf));
	ck_assert_uint_eq(n, raft_config_encode(&c, NULL, 0));
	ck_assert_int_eq(raft_config_decode(buf, n, &d), RAFT_OK);
	ck_assert_uint_eq(d.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(d.servers[i].id, c.servers[i].id);
		ck_assert_uint_eq(d.servers[i].role, c.servers[i].role);
		ck_assert_str_eq(d.servers[i].addr, c.servers[i].addr);
	}
	ck_assert_uint_eq(raft_config_voters(&d), 2);
	ck_assert_ptr_nonnull(raft_config_get(&d, 3));
	ck_assert_ptr_null(raft_config_get(&d, 4));
}
END_TEST

START_TEST(every_truncation_rejected)
{
	struct raft_config c = three(), d;
	unsigned char buf[512];
	size_t n = raft_config_encode(&c, buf, sizeof(buf));
	for (size_t len = 0; len < n; len++)
		ck_assert_int_eq(raft_config_decode(buf, len, &d), RAFT_EINVAL);
}
END_TEST

START_TEST(garbage_rejected)
{
	struct raft_config c = three(), d;
	unsigned char buf[512];
	size_t n = raft_config_encode(&c, buf, sizeof(buf));
	unsigned char bad[512];
	/* bad magic */
	memcpy(bad, buf, n);
	bad[0] ^= 0xff;
	ck_assert_int_eq(raft_config_decode(bad, n, &d), RAFT_EINVAL);
	/* too many servers */
	memcpy(bad, buf, n);
	bad[4] = RAFT_MAX_SERVERS + 1;
	ck_assert_int_eq(raft_config_decode(bad, n, &d), RAFT_EINVAL);
	/* invalid role of the first server (after 8-byte header + id) */
	memcpy(bad, buf, n);
	bad[16] = 9;
	ck_assert_int_eq(raft_config_decode(bad, n, &d), RAFT_EINVAL);
	/* trailing bytes */
	memcpy(bad, buf, n);
	bad[n] = 0;
	ck_assert_int_eq(raft_config_decode(bad, n + 1, &d), RAFT_EINVAL);
	/* duplicate id */
	struct raft_config dup = c;
	dup.servers[1].id = 1;
	n = raft_config_encode(&dup, buf, sizeof(buf));
	ck_assert_int_eq(raft_config_decode(buf, n, &d), RAFT_EINVAL);
}
END_TEST

START_TEST(small_buffer_reports_size)
{
	struct raft_config c = three();
	unsigned char buf[4];
	size_t need = raft_config_encode(&c, NULL, 0);
	ck_assert_uint_eq(raft_config_encode(&c, buf, sizeof(buf)), need);
}
END_TEST

START_TEST(bootstrap_entry)
{
	struct raft_config c = three(), d;
	struct raft_entry e;
	ck_assert_int_eq(raft_bootstrap_entry(&c, &e), RAFT_OK);
	ck_assert_uint_eq(e.index, 1);
	ck_assert_uint_eq(e.term, 1);
	ck_assert_uint_eq(e.type, RAFT_ENTRY_CONFIG);
	ck_assert_int_eq(raft_config_decode(e.data.base, e.data.len, &d), 0);
	ck_assert_uint_eq(d.n, 3);
	free(e.data.base);
}
END_TEST

/* A violated precondition stops the process (raft_fatal aborts) instead of
 * reading past the log: the configuration at an index beyond the last
 * entry is not known yet. */
START_TEST(config_at_past_log_end_aborts)
{
	struct raft_config c = three(), at;
	struct raft_entry e;
	ck_assert_int_eq(raft_bootstrap_entry(&c, &e), RAFT_OK);
	struct raft_durable d = { .term = 1, .n_entries = 1, .entries = &e };
	struct raft_options o;
	raft_options_default(&o);
	o.id = 1;
	struct raft *r;
	ck_assert_int_eq(raft_init(&r, &o, &d, 0), RAFT_OK);
	free(e.data.base);
	ck_assert(raft_config_at(r, 1, &at)); /* the last entry: fine */
	ck_assert_uint_eq(at.n, 3);
	raft_config_at(r, 2, &at); /* one past it: must abort */
	raft_close(r);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("encoding");
	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, every_truncation_rejected);
	tcase_add_test(tc, garbage_rejected);
	tcase_add_test(tc, small_buffer_reports_size);
	tcase_add_test(tc, bootstrap_entry);
	suite_add_tcase(s, tc);
	TCase *pre = tcase_create("preconditions");
	tcase_add_test_raise_signal(pre, config_at_past_log_end_aborts,
				    SIGABRT);
	suite_add_tcase(s, pre);
	return s;
}
