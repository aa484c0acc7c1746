/* test_pgprobe.c — tests/helpers/pgprobe_check.c on crafted probe
 * histories: a clean handover (no violation, the gap measured), two nodes writable at
 * once (a violation), acknowledged writes missing from the final primary,
 * and the log-line parser. */
#include <stdio.h>
#include <string.h>

#include "tests/helpers/pgprobe_check.h"
#include "tests/unit/suites.h"

#define MS 1000 /* the histories below are written in ms, stored in µs */

/* n attempts of node, seq from seq0, one every step_ms from t0_ms, each
 * answered 2 ms after it was sent. */
static void add_run(struct pgprobe_history *h, const char *node, int64_t seq0,
		    int64_t t0_ms, int n, int64_t step_ms,
		    enum pgprobe_result r)
{
	for (int i = 0; i < n; i++) {
		int64_t send = (t0_ms + i * step_ms) * MS;
		ck_assert_int_eq(pgprobe_history_add(h, node, seq0 + i, send,
						     send + 2 * MS, r),
				 0);
	}
}

START_TEST(clean_handover)
{
	struct pgprobe_history h;
	struct pgprobe_report r;
	pgprobe_history_init(&h);
	/* pg2 is a replica refusing writes while pg1 takes them; pg1 then
	 * hangs, and pg2 is promoted 1.5 s after pg1's last ack.  Added
	 * replica-first, as two probe threads interleave in a log. */
	add_run(&h, "pg2", 1, 0, 125, 20, PGPROBE_ERR);
	add_run(&h, "pg1", 1, 0, 50, 20, PGPROBE_OK); /* last ack 982 */
	add_run(&h, "pg1", 51, 1000, 3, 1000, PGPROBE_TIMEOUT);
	add_run(&h, "pg2", 126, 2500, 75, 20, PGPROBE_OK); /* from 2500 */
	ck_assert_int_eq(pgprobe_analyze(&h, &r), 0);
	ck_assert_uint_eq(r.attempts, 253);
	ck_assert_uint_eq(r.acked, 125);
	ck_assert_uint_eq(r.errors, 125);
	ck_assert_uint_eq(r.timeouts, 3);
	ck_assert_uint_eq(r.n_spans, 2);
	ck_assert_uint_eq(r.n_overlaps, 0);
	ck_assert(r.ever_writable);
	const struct pgprobe_span *s1 = &r.spans[0], *s2 = &r.spans[1];
	ck_assert_str_eq(h.nodes[s1->node], "pg1");
	ck_assert_int_eq(s1->start_us, 0);
	ck_assert_int_eq(s1->end_us, 982 * MS);
	ck_assert_int_eq(s1->first_seq, 1);
	ck_assert_int_eq(s1->last_seq, 50);
	ck_assert_uint_eq(s1->oks, 50);
	ck_assert_str_eq(h.nodes[s2->node], "pg2");
	ck_assert_int_eq(s2->start_us, 2500 * MS);
	ck_assert_int_eq(s2->first_seq, 126);
	ck_assert_int_eq(r.gap_us, (2500 - 982) * MS);
	ck_assert_int_eq(r.gap_start_us, 982 * MS);
	ck_assert_int_eq(r.gap_end_us, 2500 * MS);
	pgprobe_report_free(&r);
	pgprobe_history_free(&h);
}
END_TEST

START_TEST(overlap_is_a_violation)
{
	struct pgprobe_history h;
	struct pgprobe_report r;
	pgprobe_history_init(&h);
	add_run(&h, "pg1", 1, 0, 51, 20, PGPROBE_OK);   /* 0 .. 1002 */
	add_run(&h, "pg2", 1, 900, 55, 20, PGPROBE_OK); /* 900 .. 1982 */
	add_run(&h, "pg3", 1, 0, 100, 20, PGPROBE_ERR);
	ck_assert_int_eq(pgprobe_analyze(&h, &r), 0);
	ck_assert_uint_eq(r.n_spans, 2);
	ck_assert_uint_eq(r.n_overlaps, 1);
	const struct pgprobe_overlap *o = &r.overlaps[0];
	ck_assert_str_eq(h.nodes[r.spans[o->a].node], "pg1");
	ck_assert_str_eq(h.nodes[r.spans[o->b].node], "pg2");
	ck_assert_int_eq(o->overlap_us, (1002 - 900) * MS);
	ck_assert_int_eq(r.gap_us, 0);
	pgprobe_report_free(&r);
	pgprobe_history_free(&h);
}
END_TEST

START_TEST(touching_spans_do_not_overlap)
{
	struct pgprobe_history h;
	struct pgprobe_report r;
	pgprobe_history_init(&h);
	ck_assert_int_eq(pgprobe_history_add(&h, "a", 1, 0, 10, PGPROBE_OK), 0);
	ck_assert_int_eq(pgprobe_history_add(&h, "b", 1, 10, 20, PGPROBE_OK),
			 0);
	ck_assert_int_eq(pgprobe_analyze(&h, &r), 0);
	ck_assert_uint_eq(r.n_overlaps, 0);
	ck_assert_int_eq(r.gap_us, 0);
	pgprobe_report_free(&r);
	pgprobe_history_free(&h);
}
END_TEST

START_TEST(error_ends_a_span)
{
	struct pgprobe_history h;
	struct pgprobe_report r;
	pgprobe_history_init(&h);
	add_run(&h, "pg1", 1, 0, 10, 20, PGPROBE_OK); /* 0 .. 182 */
	add_run(&h, "pg1", 11, 200, 1, 20, PGPROBE_ERR);
	add_run(&h, "pg1", 12, 300, 10, 20, PGPROBE_OK); /* 300 .. 482 */
	ck_assert_int_eq(pgprobe_analyze(&h, &r), 0);
	ck_assert_uint_eq(r.n_spans, 2);
	ck_assert_uint_eq(r.n_overlaps, 0); /* one node never overlaps itself */
	ck_assert_int_eq(r.spans[0].last_seq, 10);
	ck_assert_int_eq(r.spans[1].first_seq, 12);
	ck_assert_int_eq(r.gap_us, (300 - 182) * MS);
	pgprobe_report_free(&r);
	pgprobe_history_free(&h);
}
END_TEST

START_TEST(never_writable_again_is_a_tail_gap)
{
	struct pgprobe_history h;
	struct pgprobe_report r;
	pgprobe_history_init(&h);
	add_run(&h, "pg1", 1, 0, 10, 20, PGPROBE_OK);          /* to 182 */
	add_run(&h, "pg1", 11, 200, 50, 100, PGPROBE_TIMEOUT); /* to 5102 */
	add_run(&h, "pg2", 1, 0, 250, 20, PGPROBE_ERR);        /* to 4982 */
	ck_assert_int_eq(pgprobe_analyze(&h, &r), 0);
	ck_assert_int_eq(r.last_us, 5102 * MS);
	ck_assert_int_eq(r.gap_start_us, 182 * MS);
	ck_assert_int_eq(r.gap_us, (5102 - 182) * MS);
	pgprobe_report_free(&r);
	pgprobe_history_free(&h);
}
END_TEST

START_TEST(no_span_at_all)
{
	struct pgprobe_history h;
	struct pgprobe_report r;
	pgprobe_history_init(&h);
	add_run(&h, "pg1", 1, 100, 10, 20, PGPROBE_ERR); /* 100 .. 282 */
	ck_assert_int_eq(pgprobe_analyze(&h, &r), 0);
	ck_assert(!r.ever_writable);
	ck_assert_uint_eq(r.n_spans, 0);
	ck_assert_int_eq(r.gap_us, 182 * MS);
	pgprobe_report_free(&r);
	pgprobe_history_free(&h);
}
END_TEST

START_TEST(acked_then_lost)
{
	struct pgprobe_history h;
	struct pgprobe_report r;
	struct pgprobe_final f;
	pgprobe_history_init(&h);
	add_run(&h, "pg1", 1, 0, 10, 20, PGPROBE_OK); /* seqs 1..10 */
	add_run(&h, "pg1", 11, 200, 1, 20, PGPROBE_TIMEOUT);
	add_run(&h, "pg2", 1, 1000, 5, 20, PGPROBE_OK);
	ck_assert_int_eq(pgprobe_analyze(&h, &r), 0);
	/* The new primary has pg1's writes up to 7 (8..10 were acked by the
	 * old primary and never reached it), the timed-out 11 (it did
	 * commit), all of pg2's, and a row of some other run. */
	struct pgprobe_row rows[24];
	size_t n = 0;
	for (int i = 1; i <= 5; i++)
		rows[n++] = (struct pgprobe_row){ .node = "pg2", .seq = i };
	for (int i = 7; i >= 1; i--)
		rows[n++] = (struct pgprobe_row){ .node = "pg1", .seq = i };
	rows[n++] = (struct pgprobe_row){ .node = "pg1", .seq = 11 };
	rows[n++] = (struct pgprobe_row){ .node = "pg9", .seq = 1 };
	ck_assert_int_eq(pgprobe_compare_final(&h, rows, n, &f), 0);
	ck_assert_uint_eq(f.n_lost, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct pgprobe_attempt *a = &h.at[f.lost[i]];
		ck_assert_str_eq(h.nodes[a->node], "pg1");
		ck_assert_int_eq(a->seq, 8 + (int64_t)i);
	}
	ck_assert_uint_eq(f.n_unacked_present, 1);
	ck_assert_uint_eq(f.n_foreign, 1);
	pgprobe_final_free(&f);

	/* Everything there: nothing lost. */
	for (int i = 8; i <= 10; i++)
		rows[n++] = (struct pgprobe_row){ .node = "pg1", .seq = i };
	ck_assert_int_eq(pgprobe_compare_final(&h, rows, n, &f), 0);
	ck_assert_uint_eq(f.n_lost, 0);
	pgprobe_final_free(&f);
	pgprobe_report_free(&r);
	pgprobe_history_free(&h);
}
END_TEST

START_TEST(compare_needs_analyzed_history)
{
	struct pgprobe_history h;
	struct pgprobe_final f;
	pgprobe_history_init(&h);
	add_run(&h, "pg1", 1, 0, 2, 20, PGPROBE_OK);
	ck_assert_int_eq(pgprobe_compare_final(&h, NULL, 0, &f), -1);
	pgprobe_history_free(&h);
}
END_TEST

START_TEST(parse_lines)
{
	struct pgprobe_history h;
	char err[128];
	pgprobe_history_init(&h);
	ck_assert_int_eq(pgprobe_parse_line(&h, "pg1 7 1000 1500 ok\n", err,
					    sizeof(err)),
			 0);
	ck_assert_int_eq(pgprobe_parse_line(&h, "pg-2 8 1000 1500 timeout", err,
					    sizeof(err)),
			 0);
	ck_assert_int_eq(pgprobe_parse_line(&h, "  \n", err, sizeof(err)), 1);
	ck_assert_int_eq(pgprobe_parse_line(&h, "# pgprobe run", err,
					    sizeof(err)),
			 1);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_uint_eq(h.n_nodes, 2);
	ck_assert_int_eq(h.at[0].seq, 7);
	ck_assert_int_eq(h.at[0].send_us, 1000);
	ck_assert_int_eq(h.at[0].ack_us, 1500);
	ck_assert_int_eq(h.at[0].result, PGPROBE_OK);
	ck_assert_int_eq(h.at[1].result, PGPROBE_TIMEOUT);

	static const char *const bad[] = {
		"pg1 7 1000 1500",          /* no result */
		"pg1 7 1000 1500 maybe",    /* unknown result */
		"pg1 7 1000 1500 ok extra", /* trailing word */
		"pg1 x 1000 1500 ok",       /* seq not a number */
		"pg1 7 1500 1000 ok",       /* answered before sent */
		"p/g 7 1000 1500 ok",       /* bad character in the name */
		"a1234567890123456789012345678901234567890123456789012345678901"
		"23"
		" 7 1000 1500 ok", /* name too long */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		err[0] = '\0';
		ck_assert_msg(pgprobe_parse_line(&h, bad[i], err,
						 sizeof(err)) == -1,
			      "accepted: %s", bad[i]);
		ck_assert(err[0] != '\0');
	}
	ck_assert_uint_eq(h.n, 2);
	pgprobe_history_free(&h);
}
END_TEST

Suite *pgprobe_suite(void)
{
	Suite *s = suite_create("pgprobe");
	TCase *tc = tcase_create("check");
	tcase_add_test(tc, clean_handover);
	tcase_add_test(tc, overlap_is_a_violation);
	tcase_add_test(tc, touching_spans_do_not_overlap);
	tcase_add_test(tc, error_ends_a_span);
	tcase_add_test(tc, never_writable_again_is_a_tail_gap);
	tcase_add_test(tc, no_span_at_all);
	tcase_add_test(tc, acked_then_lost);
	tcase_add_test(tc, compare_needs_analyzed_history);
	tcase_add_test(tc, parse_lines);
	suite_add_tcase(s, tc);
	return s;
}
