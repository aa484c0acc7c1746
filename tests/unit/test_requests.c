/* test_requests.c — the operator's requests (fencing/requests.c): the
 * records survive a round trip and garbage is refused; the rolling order
 * puts replicas first in name order and the primary last, honours --role
 * and --pending; a node's turn comes only when every node before it is
 * done and, for a replica, streaming again; a scheduled one waits. */
#include <check.h>
#include <string.h>

#include "fencing/requests.h"
#include "tests/unit/suites.h"

START_TEST(test_round_trips)
{
	struct restart_request r = { .id = 1700000000123ull,
				     .at_ms = 1700000100000ull,
				     .pending = true },
			       rb;
	strcpy(r.nodes, "pg1,pg2");
	strcpy(r.role, "replica");
	strcpy(r.by, "ann");
	char buf[2048], err[128];
	size_t n = restart_request_encode(&r, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert(restart_request_decode(buf, n, &rb, err, sizeof(err)));
	ck_assert_uint_eq(rb.id, r.id);
	ck_assert_uint_eq(rb.at_ms, r.at_ms);
	ck_assert_str_eq(rb.nodes, "pg1,pg2");
	ck_assert(rb.pending);
	ck_assert_str_eq(rb.role, "replica");

	struct node_request q = { .id = 7 }, qb;
	strcpy(q.from, "pg3");
	n = node_request_encode(&q, buf, sizeof(buf));
	ck_assert(node_request_decode(buf, n, &qb, err, sizeof(err)));
	ck_assert_uint_eq(qb.id, 7);
	ck_assert_str_eq(qb.from, "pg3");

	struct node_result s = { .id = 9, .ok = true, .gap_ms = 1234 }, sb;
	strcpy(s.action, "restart");
	strcpy(s.role, "primary");
	n = node_result_encode(&s, buf, sizeof(buf));
	ck_assert(node_result_decode(buf, n, &sb, err, sizeof(err)));
	ck_assert_str_eq(sb.action, "restart");
	ck_assert_uint_eq(sb.gap_ms, 1234);
	ck_assert(sb.ok);
	ck_assert_uint_eq(restart_request_encode(&r, buf, 10), 0);
}
END_TEST

START_TEST(test_garbage_refused)
{
	struct restart_request r;
	struct node_request q;
	char err[128];
	const char *no_id = "{\"nodes\":\"a\"}";
	ck_assert(!restart_request_decode(no_id, strlen(no_id), &r, err,
					  sizeof(err)));
	const char *bad = "{\"id\":1,\"pending\":\"yes\"}";
	ck_assert(!restart_request_decode(bad, strlen(bad), &r, err,
					  sizeof(err)));
	ck_assert(!node_request_decode("{\"id\":-1}", 9, &q, err, sizeof(err)));
	ck_assert(!node_request_decode("[1]", 3, &q, err, sizeof(err)));
}
END_TEST

static struct member ms[3];

static void cluster(void)
{
	memset(ms, 0, sizeof(ms));
	const char *names[] = { "pg3", "pg1", "pg2" };
	for (int i = 0; i < 3; i++) {
		strcpy(ms[i].name, names[i]);
		strcpy(ms[i].state, "streaming");
		ms[i].role = MEMBER_REPLICA;
	}
	ms[1].role = MEMBER_PRIMARY; /* pg1 */
	strcpy(ms[1].state, "running");
}

static void done(struct named_result *r, const char *name, uint64_t id)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->name, name);
	strcpy(r->res.action, "restart");
	r->res.id = id;
	r->res.ok = true;
}

START_TEST(test_order)
{
	struct restart_request r = { .id = 5 };
	char out[256];
	cluster();
	strcpy(r.nodes, "pg1,pg2,pg3,gone");
	restart_order(&r, ms, 3, "pg1", NULL, 0, out, sizeof(out));
	ck_assert_str_eq(out, "pg2,pg3,pg1");
	strcpy(r.role, "replica");
	restart_order(&r, ms, 3, "pg1", NULL, 0, out, sizeof(out));
	ck_assert_str_eq(out, "pg2,pg3");
	strcpy(r.role, "primary");
	restart_order(&r, ms, 3, "pg1", NULL, 0, out, sizeof(out));
	ck_assert_str_eq(out, "pg1");
	r.role[0] = '\0';
	r.pending = true;
	ms[0].pending_restart = true; /* pg3 */
	restart_order(&r, ms, 3, "pg1", NULL, 0, out, sizeof(out));
	ck_assert_str_eq(out, "pg3");
	/* done already: its pending flag went, its place stays */
	struct named_result res[1];
	done(&res[0], "pg2", 5);
	restart_order(&r, ms, 3, "pg1", res, 1, out, sizeof(out));
	ck_assert_str_eq(out, "pg2,pg3");
}
END_TEST

START_TEST(test_turns)
{
	struct restart_request r = { .id = 5 };
	struct named_result res[3];
	cluster();
	strcpy(r.nodes, "pg1,pg2,pg3");
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 0, "pg2", 0),
			 RESTART_MINE);
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 0, "pg3", 0),
			 RESTART_WAIT);
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 0, "pg1", 0),
			 RESTART_WAIT);
	/* pg2 done but not streaming yet: nobody goes on */
	done(&res[0], "pg2", 5);
	strcpy(ms[2].state, "starting");
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 1, "pg3", 0),
			 RESTART_WAIT);
	strcpy(ms[2].state, "streaming");
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 1, "pg3", 0),
			 RESTART_MINE);
	/* a result of another request does not count */
	done(&res[1], "pg3", 4);
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 2, "pg3", 0),
			 RESTART_MINE);
	done(&res[1], "pg3", 5);
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 2, "pg1", 0),
			 RESTART_MINE);
	done(&res[2], "pg1", 5);
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 3, "pg1", 0),
			 RESTART_DONE);
	/* scheduled: nobody before its time */
	r.at_ms = 1000;
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 0, "pg2", 999),
			 RESTART_WAIT);
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 0, "pg2", 1000),
			 RESTART_MINE);
	strcpy(r.nodes, "pg1");
	ck_assert_int_eq(restart_turn(&r, ms, 3, "pg1", res, 0, "pg2", 1000),
			 RESTART_NOT_MINE);
}
END_TEST

Suite *requests_suite(void)
{
	Suite *s = suite_create("requests");
	TCase *t = tcase_create("requests");
	tcase_add_test(t, test_round_trips);
	tcase_add_test(t, test_garbage_refused);
	tcase_add_test(t, test_order);
	tcase_add_test(t, test_turns);
	suite_add_tcase(s, t);
	return s;
}
