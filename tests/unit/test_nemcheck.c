/* test_nemcheck.c — tests/helpers/nemcheck.c on hand-made pgnemesis
 * histories: a clean failover passes, and each check fails the history
 * made to break it (a lost append, a lost or altered transfer, a read of
 * another total, money made, a half transfer, two primaries at once,
 * tokens going down, one token with two holders, a write by a node that
 * did not hold the lease); the file format round-trips. */
#include <stdio.h>
#include <string.h>

#include "tests/helpers/nemcheck.h"
#include "tests/unit/suites.h"

#define MS 1000 /* times below are in ms, stored in µs */

static void op_add(struct nem_history *h, enum nem_kind kind, const char *node,
		   int64_t start_ms, enum nem_outcome o, int64_t epoch,
		   int64_t id)
{
	struct nem_op op = {
		.kind = kind,
		.outcome = o,
		.start_us = start_ms * MS,
		.end_us = (start_ms + 2) * MS,
		.epoch = o == NEM_OK ? epoch : 0,
	};
	if (kind == NEM_READ) {
		op.total = 400;
	} else {
		op.id = id;
	}
	if (kind == NEM_TRANSFER) {
		op.from = (int)(id % 4);
		op.to = (int)((id + 1) % 4);
		op.amount = 5;
	}
	snprintf(op.endpoint, sizeof(op.endpoint), "%s", node);
	snprintf(op.node, sizeof(op.node), "%s", o == NEM_OK ? node : "-");
	ck_assert_int_eq(nem_history_add_op(h, &op), 0);
}

static void lease_add(struct nem_history *h, int64_t t_ms, const char *holder,
		      uint64_t token)
{
	struct nem_lease l = { .t0_us = t_ms * MS,
			       .t1_us = (t_ms + 1) * MS,
			       .token = token };
	snprintf(l.holder, sizeof(l.holder), "%s", holder);
	ck_assert_int_eq(nem_history_add_lease(h, &l), 0);
}

/* The final primary holds exactly what the acked writes of h made. */
static void final_from_acks(struct nem_history *h)
{
	int64_t bal[4] = { 100, 100, 100, 100 };
	for (size_t i = 0; i < h->n_ops; i++) {
		const struct nem_op *op = &h->ops[i];
		if (op->outcome != NEM_OK)
			continue;
		if (op->kind == NEM_APPEND)
			ck_assert_int_eq(nem_history_final_append(h, op->id),
					 0);
		if (op->kind != NEM_TRANSFER)
			continue;
		struct nem_ledger_row row = { op->id, op->amount, op->from,
					      op->to };
		ck_assert_int_eq(nem_history_final_ledger(h, &row), 0);
		bal[op->from] -= op->amount;
		bal[op->to] += op->amount;
	}
	for (int a = 0; a < 4; a++)
		ck_assert_int_eq(nem_history_final_balance(h, a, bal[a]), 0);
	snprintf(h->final_node, sizeof(h->final_node), "pg2");
}

/* pg1 (timeline 1, token 3) takes writes until 1000 ms, then pg2
 * (timeline 2, token 4) from 2500 ms; pg3 refuses writes (a standby);
 * every 100 ms the poller sees who holds the lease. */
static void clean_history(struct nem_history *h)
{
	nem_history_init(h);
	ck_assert_int_eq(nem_history_config(h, 4, 400, 42), 0);
	for (int64_t t = 0; t < 4000; t += 100)
		lease_add(h, t,
			  t < 1500   ? "pg1"
			  : t < 2400 ? ""
				     : "pg2",
			  t < 2400 ? 3 : 4);
	int64_t id = 1;
	for (int64_t t = 10; t < 1000; t += 20, id++)
		op_add(h, id % 2 ? NEM_APPEND : NEM_TRANSFER, "pg1", t, NEM_OK,
		       1, id);
	op_add(h, NEM_APPEND, "pg1", 1000, NEM_UNKNOWN, 0, id++);
	for (int64_t t = 10; t < 4000; t += 200, id++)
		op_add(h, NEM_TRANSFER, "pg3", t, NEM_FAILED, 0, id);
	for (int64_t t = 2500; t < 4000; t += 20, id++)
		op_add(h, id % 2 ? NEM_APPEND : NEM_TRANSFER, "pg2", t, NEM_OK,
		       2, id);
	for (int64_t t = 5; t < 4000; t += 50)
		op_add(h, NEM_READ, "pg3", t, NEM_OK, 0, 0);
	final_from_acks(h);
	struct nem_fault f = { "crash", "pg1", 1000 * MS, 5000 * MS, 0 };
	ck_assert_int_eq(nem_history_add_fault(h, &f), 0);
}

static size_t count_of(struct nem_history *h, enum nem_check_id c)
{
	struct nem_report r;
	ck_assert_int_eq(nem_check(h, &r), 0);
	size_t n = r.violations_by_check[c];
	size_t all = r.n_violations;
	nem_report_free(&r);
	ck_assert_uint_eq(all, n); /* nothing else fails */
	return n;
}

START_TEST(clean_failover_passes)
{
	struct nem_history h;
	struct nem_report r;
	clean_history(&h);
	ck_assert_int_eq(nem_check(&h, &r), 0);
	ck_assert_uint_eq(r.n_violations, 0);
	ck_assert_uint_eq(r.n_terms, 2);
	ck_assert_str_eq(r.terms[0].node, "pg1");
	ck_assert_str_eq(r.terms[1].node, "pg2");
	ck_assert_uint_eq(r.n_failovers, 1);
	/* pg1's last ack at 990 + 2 ms, pg2's first at 2500 + 2 ms */
	ck_assert_int_eq(r.failovers[0].gap_us, (2502 - 992) * MS);
	ck_assert_uint_eq(r.ops[NEM_READ][NEM_OK], 80);
	ck_assert_uint_eq(r.ops[NEM_APPEND][NEM_UNKNOWN], 1);
	ck_assert_uint_eq(r.n_fault_kinds, 1);
	nem_report_free(&r);
	nem_history_free(&h);
}
END_TEST

START_TEST(lost_append)
{
	struct nem_history h;
	clean_history(&h);
	h.final_appends[0] = 999999; /* the first acked append is gone */
	ck_assert_uint_eq(count_of(&h, NEM_LOST_APPEND), 1);
	nem_history_free(&h);
}
END_TEST

START_TEST(lost_or_altered_transfer)
{
	struct nem_history h;
	clean_history(&h);
	/* one ledger row says another amount, and its money moved so */
	h.final_ledger[0].amount += 1;
	h.final_balances[h.final_ledger[0].from] -= 1;
	h.final_balances[h.final_ledger[0].to] += 1;
	ck_assert_uint_eq(count_of(&h, NEM_LOST_TRANSFER), 1);
	nem_history_free(&h);
}
END_TEST

START_TEST(read_of_another_total)
{
	struct nem_history h;
	clean_history(&h);
	op_add(&h, NEM_READ, "pg3", 3000, NEM_OK, 0, 0);
	h.ops[h.n_ops - 1].total = 395; /* a torn transfer seen */
	ck_assert_uint_eq(count_of(&h, NEM_READ_TOTAL), 1);
	nem_history_free(&h);
}
END_TEST

START_TEST(money_made_and_half_transfer)
{
	struct nem_history h;
	struct nem_report r;
	clean_history(&h);
	h.final_balances[0] += 7; /* money made */
	ck_assert_int_eq(nem_check(&h, &r), 0);
	ck_assert_uint_eq(r.violations_by_check[NEM_FINAL_TOTAL], 1);
	ck_assert_uint_eq(r.violations_by_check[NEM_FINAL_BALANCE], 1);
	nem_report_free(&r);
	nem_history_free(&h);

	clean_history(&h); /* half a transfer: money moved, no ledger row */
	h.final_balances[0] -= 5;
	h.final_balances[1] += 5;
	ck_assert_uint_eq(count_of(&h, NEM_FINAL_BALANCE), 2);
	nem_history_free(&h);
}
END_TEST

START_TEST(two_primaries_at_once)
{
	struct nem_history h;
	clean_history(&h);
	/* pg1 still acks at 2600 ms, on its old timeline, after pg2 began;
	 * the lease observations around it are pg2's (token 4): both the
	 * overlap and the unleased ack are reported */
	op_add(&h, NEM_APPEND, "pg1", 2600, NEM_OK, 1, 777777);
	ck_assert_int_eq(nem_history_final_append(&h, 777777), 0);
	struct nem_report r;
	ck_assert_int_eq(nem_check(&h, &r), 0);
	ck_assert_uint_eq(r.violations_by_check[NEM_TWO_PRIMARIES], 1);
	ck_assert_uint_eq(r.violations_by_check[NEM_UNLEASED_ACK], 1);
	ck_assert_uint_eq(r.n_violations, 2);
	nem_report_free(&r);
	nem_history_free(&h);
}
END_TEST

START_TEST(same_node_new_timeline_is_a_new_term)
{
	struct nem_history h;
	struct nem_report r;
	clean_history(&h);
	/* pg1 promoted again later, on timeline 3: no overlap with its
	 * first term, a second failover */
	for (int64_t t = 4000; t < 4100; t += 20)
		op_add(&h, NEM_APPEND, "pg1", t, NEM_OK, 3, 800000 + t);
	for (int64_t t = 4000; t < 4100; t += 20)
		ck_assert_int_eq(nem_history_final_append(&h, 800000 + t), 0);
	ck_assert_int_eq(nem_check(&h, &r), 0);
	ck_assert_uint_eq(r.n_violations, 0);
	ck_assert_uint_eq(r.n_terms, 3);
	ck_assert_uint_eq(r.n_failovers, 2);
	nem_report_free(&r);
	nem_history_free(&h);
}
END_TEST

START_TEST(tokens_going_down)
{
	struct nem_history h;
	clean_history(&h);
	lease_add(&h, 5000, "pg2", 2);
	ck_assert_uint_eq(count_of(&h, NEM_TOKEN_ORDER), 1);
	nem_history_free(&h);
}
END_TEST

START_TEST(one_token_two_holders)
{
	struct nem_history h;
	clean_history(&h);
	lease_add(&h, 5000, "pg3", 4);
	ck_assert_uint_eq(count_of(&h, NEM_TOKEN_HOLDER), 1);
	nem_history_free(&h);
}
END_TEST

START_TEST(ack_while_the_lease_was_free)
{
	struct nem_history h;
	clean_history(&h);
	/* pg2 acks at 1800 ms on timeline 2 before it got token 4: the
	 * lease was free with token 3 on both sides */
	op_add(&h, NEM_APPEND, "pg2", 1800, NEM_OK, 2, 888888);
	ck_assert_int_eq(nem_history_final_append(&h, 888888), 0);
	ck_assert_uint_eq(count_of(&h, NEM_UNLEASED_ACK), 1);
	nem_history_free(&h);
}
END_TEST

START_TEST(file_round_trip)
{
	struct nem_history h, back;
	char line[512], err[160];
	clean_history(&h);
	nem_history_init(&back);
	ck_assert_int_eq(nem_parse_line(&back, "config 4 400 42", err,
					sizeof(err)),
			 0);
	for (size_t i = 0; i < h.n_ops; i++) {
		nem_format_op(&h.ops[i], line, sizeof(line));
		ck_assert_msg(nem_parse_line(&back, line, err, sizeof(err)) ==
				      0,
			      "%s: %s", line, err);
	}
	for (size_t i = 0; i < h.n_leases; i++) {
		nem_format_lease(&h.leases[i], line, sizeof(line));
		ck_assert_int_eq(nem_parse_line(&back, line, err, sizeof(err)),
				 0);
	}
	nem_format_fault(&h.faults[0], line, sizeof(line));
	ck_assert_int_eq(nem_parse_line(&back, line, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n_ops, h.n_ops);
	ck_assert_int_eq(memcmp(back.ops, h.ops, h.n_ops * sizeof(*h.ops)), 0);
	ck_assert_str_eq(back.leases[15].holder, "");
	ck_assert_str_eq(back.faults[0].kind, "crash");
	ck_assert_int_eq(nem_parse_line(&back, "# a comment", err, sizeof(err)),
			 1);
	ck_assert_int_eq(nem_parse_line(&back, "final pg2", err, sizeof(err)),
			 0);
	ck_assert_int_eq(nem_parse_line(&back, "final-balance 3 100", err,
					sizeof(err)),
			 0);
	const char *bad[] = {
		"op append pg1 pg1 10 5 ok 1 0 7", /* ends before it starts */
		"op append pg1 pg1 1 5 maybe 1 0 7",
		"op transfer pg1 pg1 1 5 ok 1 0 7 1",
		"op read pg1 pg1 1 5 ok 1 0 400 extra",
		"lease 1 2 pg1",
		"final-balance 4 100", /* no account 4 */
		"config 3 400 1",      /* 400 is not divisible by 3 */
		"nonsense",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ck_assert_msg(nem_parse_line(&back, bad[i], err, sizeof(err)) ==
				      -1,
			      "accepted: %s", bad[i]);
	nem_history_free(&back);
	nem_history_free(&h);
}
END_TEST

/* ---- the agents' requests on the lease (nemlease.h) ---------------------- */

/* An agent's request as its trace would give it (times in ms). */
static void agent_op(struct nem_history *h, int type, const char *holder,
		     int64_t call_ms, int64_t ret_ms, int status,
		     const char *out_holder, uint64_t token)
{
	struct lc_op op;
	lc_op_init(&op);
	op.type = type;
	snprintf(op.object, sizeof(op.object), "main/primary");
	snprintf(op.holder, sizeof(op.holder), "%s", holder);
	op.ttl_ms = type == LC_ACQUIRE ? 2500 : 0;
	op.token = type == LC_RENEW || type == LC_RELEASE ? token : 0;
	op.call = (uint64_t)call_ms * 1000000;
	op.ret = ret_ms < 0 ? LC_NEVER : (uint64_t)ret_ms * 1000000;
	op.status = status;
	op.present = status != LC_UNKNOWN && out_holder != NULL;
	if (op.present) {
		snprintf(op.out_holder, sizeof(op.out_holder), "%s",
			 out_holder);
		op.out_token = token;
	}
	ck_assert_int_ge(lc_history_add(&h->lease_ops, &op), 0);
}

/* n1 holds the lease with token 5 from 0 ms, renewing every 500 ms, until
 * `until` ms; then (crashed: its last renewal in flight forever) n2 takes
 * it after the TTL, with token 6, and renews it; the other agents' reads
 * and acquires see whoever holds it.  Long enough to be cut in windows. */
static void agent_history(struct nem_history *h, int64_t until)
{
	agent_op(h, LC_ACQUIRE, "n1/a", 0, 3, LC_OK, "n1/a", 5);
	int64_t t = 500;
	for (; t < until; t += 500) {
		agent_op(h, LC_RENEW, "n1/a", t, t + 3, LC_OK, "n1/a", 5);
		agent_op(h, LC_ACQUIRE, "n2/b", t + 100, t + 103, LC_HELD,
			 "n1/a", 5);
		agent_op(h, LC_LEASE_GET, "", t + 200, t + 202, LC_OK, "n1/a",
			 5);
	}
	agent_op(h, LC_RENEW, "n1/a", t, -1, LC_UNKNOWN, NULL, 5);
	t += 2600; /* a TTL after the last renewal that may have run */
	agent_op(h, LC_ACQUIRE, "n2/b", t, t + 3, LC_OK, "n2/b", 6);
	for (t += 500; t < 2 * until; t += 500) {
		agent_op(h, LC_RENEW, "n2/b", t, t + 3, LC_OK, "n2/b", 6);
		agent_op(h, LC_LEASE_GET, "", t + 200, t + 202, LC_OK, "n2/b",
			 6);
	}
	h->lease_traces = 2;
}

START_TEST(agents_lease_history_linearizable)
{
	struct nem_history h;
	struct nem_report r;
	clean_history(&h);
	agent_history(&h, 200000);
	ck_assert_int_eq(nem_check(&h, &r), 0);
	ck_assert_msg(r.n_violations == 0, "%s",
		      r.lease_detail ? r.lease_detail : r.violations[0]);
	ck_assert(r.lease_checked);
	ck_assert_int_eq(r.lease_verdict, LC_LINEARIZABLE);
	ck_assert_uint_gt(r.lease_windows.windows, 3); /* it was cut */
	ck_assert_uint_eq(r.lease_unknown, 1);
	nem_report_free(&r);
	nem_history_free(&h);
}
END_TEST

/* Two acquires granted while both were in force: n3 is given the lease
 * with a new token though n1 renewed it 100 ms before (TTL 2500 ms). */
START_TEST(agents_two_grants_overlapping)
{
	struct nem_history h;
	struct nem_report r;
	clean_history(&h);
	agent_history(&h, 200000);
	agent_op(&h, LC_ACQUIRE, "n3/c", 150000 + 100, 150000 + 103, LC_OK,
		 "n3/c", 7);
	ck_assert_uint_eq(count_of(&h, NEM_LEASE_LINEARIZABLE), 1);
	ck_assert_int_eq(nem_check(&h, &r), 0);
	ck_assert_int_eq(r.lease_verdict, LC_VIOLATION);
	ck_assert_uint_ge(r.lease_windows.failed, 1);
	ck_assert_ptr_nonnull(r.lease_detail);
	ck_assert_ptr_nonnull(strstr(r.lease_detail, "NOT LINEARIZABLE"));
	ck_assert_ptr_nonnull(strstr(r.lease_detail, "n3/c"));
	nem_report_free(&r);
	nem_history_free(&h);
}
END_TEST

/* The harness's poller sees n2 holding the lease while n1 still renews
 * it successfully: a read of the lease contradicts the agents. */
START_TEST(poller_read_contradicts_agents)
{
	struct nem_history h;
	clean_history(&h);
	agent_history(&h, 20000);
	struct nem_lease l = { .t0_us = 4100 * MS,
			       .t1_us = 4101 * MS,
			       .token = 6 };
	l.m0_ns = 10250ull * 1000000;
	l.m1_ns = 10252ull * 1000000;
	snprintf(l.holder, sizeof(l.holder), "n2");
	snprintf(l.holder_id, sizeof(l.holder_id), "n2/b");
	ck_assert_int_eq(nem_history_add_lease(&h, &l), 0);
	ck_assert_uint_eq(count_of(&h, NEM_LEASE_LINEARIZABLE), 1);
	nem_history_free(&h);
}
END_TEST

/* The same with a read of the right holder: fine; and an acquire still in
 * flight when its agent died, that took effect: fine too. */
START_TEST(unknown_acquire_may_have_run)
{
	struct nem_history h;
	clean_history(&h);
	agent_op(&h, LC_ACQUIRE, "n1/a", 0, -1, LC_UNKNOWN, NULL, 0);
	agent_op(&h, LC_ACQUIRE, "n2/b", 100, 103, LC_HELD, "n1/a", 5);
	agent_op(&h, LC_ACQUIRE, "n2/b", 2700, 2703, LC_OK, "n2/b", 6);
	ck_assert_uint_eq(count_of(&h, NEM_LEASE_LINEARIZABLE), 0);
	nem_history_free(&h);
}
END_TEST

Suite *nemcheck_suite(void)
{
	Suite *s = suite_create("nemcheck");
	TCase *tc = tcase_create("check");
	tcase_add_test(tc, clean_failover_passes);
	tcase_add_test(tc, lost_append);
	tcase_add_test(tc, lost_or_altered_transfer);
	tcase_add_test(tc, read_of_another_total);
	tcase_add_test(tc, money_made_and_half_transfer);
	tcase_add_test(tc, two_primaries_at_once);
	tcase_add_test(tc, same_node_new_timeline_is_a_new_term);
	tcase_add_test(tc, tokens_going_down);
	tcase_add_test(tc, one_token_two_holders);
	tcase_add_test(tc, ack_while_the_lease_was_free);
	tcase_add_test(tc, file_round_trip);
	tcase_add_test(tc, agents_lease_history_linearizable);
	tcase_add_test(tc, agents_two_grants_overlapping);
	tcase_add_test(tc, poller_read_contradicts_agents);
	tcase_add_test(tc, unknown_acquire_may_have_run);
	suite_add_tcase(s, tc);
	return s;
}
