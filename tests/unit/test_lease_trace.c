/* test_lease_trace.c — fencing/lease_trace.c writes the lines that
 * tests/helpers/nemlease.c reads back as lincheck operations: a known
 * answer, a retried one (a retry shadow), a lost answer (unknown), one
 * the library did not send (left out), a request in flight when the agent
 * died (unknown), and a torn last line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fencing/lease_trace.h"
#include "tests/helpers/nemcheck.h"
#include "tests/unit/suites.h"

static struct client_request req(uint32_t op, const char *holder, uint64_t ttl,
				 uint64_t token)
{
	return (struct client_request){
		.op = op,
		.name = { "main/primary", 12 },
		.holder = { holder, strlen(holder) },
		.ttl_ms = ttl,
		.lease_token = token,
	};
}

static struct client_response lease_answer(const char *holder, uint64_t tok)
{
	struct client_response r = { .present = true };
	r.lease.holder = (struct client_str){ holder, strlen(holder) };
	r.lease.token = tok;
	return r;
}

/* Appends a call line (and a ret line unless status < 0) to buf. */
static void request(char *buf, size_t cap, uint64_t seq,
		    struct client_request q, int status,
		    const struct client_response *r, bool maybe, unsigned lost)
{
	size_t n = strlen(buf);
	lease_trace_format_call(buf + n, cap - n, 77, seq, &q, seq * 1000000);
	n = strlen(buf);
	if (status >= 0)
		lease_trace_format_ret(buf + n, cap - n, 77, seq, status, r,
				       maybe, lost, seq * 1000000 + 500000);
}

static void read_back(const char *text, struct nem_history *h)
{
	char err[128];
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	ck_assert_ptr_nonnull(f);
	nem_history_init(h);
	ck_assert_int_eq(nem_read_lease_trace(h, f, 3, err, sizeof(err)), 0);
	fclose(f);
}

START_TEST(lines_read_back_as_operations)
{
	char buf[4096] = "";
	struct client_response held = lease_answer("n1/aa", 7);
	struct client_response none = { .present = false };
	request(buf, sizeof(buf), 1,
		req(CLIENT_OP_LEASE_ACQUIRE, "n1/aa", 2500, 0), CLIENT_OK,
		&held, false, 1);
	request(buf, sizeof(buf), 2, req(CLIENT_OP_LEASE_RENEW, "n1/aa", 0, 7),
		CLIENT_ETIMEOUT, NULL, true, 0);
	request(buf, sizeof(buf), 3, req(CLIENT_OP_LEASE_RENEW, "n1/aa", 0, 7),
		CLIENT_ECIRCUIT, NULL, false, 0);
	request(buf, sizeof(buf), 4, req(CLIENT_OP_LEASE_GET, "", 0, 0),
		CLIENT_NOT_FOUND, &none, false, 0);
	request(buf, sizeof(buf), 5,
		req(CLIENT_OP_LEASE_RELEASE, "n1/aa", 0, 7), -1, NULL, false,
		0);
	strcat(buf, "call 77 6 renew main/pri"); /* torn by a crash */
	struct nem_history h;
	read_back(buf, &h);
	ck_assert_uint_eq(h.lease_torn, 1);
	ck_assert_uint_eq(h.lease_ops.n, 5);
	const struct lc_op *o = h.lease_ops.ops;
	/* the acquire, answered, and its lost first attempt */
	ck_assert_int_eq(o[0].type, LC_ACQUIRE);
	ck_assert_str_eq(o[0].object, "main/primary");
	ck_assert_str_eq(o[0].holder, "n1/aa");
	ck_assert_uint_eq(o[0].ttl_ms, 2500);
	ck_assert_int_eq(o[0].status, LC_OK);
	ck_assert(o[0].present);
	ck_assert_str_eq(o[0].out_holder, "n1/aa");
	ck_assert_uint_eq(o[0].out_token, 7);
	ck_assert_uint_eq(o[0].call, 1000000);
	ck_assert_uint_eq(o[0].ret, 1500000);
	ck_assert_int_eq(o[0].client, 3);
	ck_assert_int_eq(o[1].shadow_of, 0);
	ck_assert_int_eq(o[1].status, LC_UNKNOWN);
	/* the renew that timed out: unknown; the one never sent: left out */
	ck_assert_int_eq(o[2].type, LC_RENEW);
	ck_assert_uint_eq(o[2].token, 7);
	ck_assert_int_eq(o[2].status, LC_UNKNOWN);
	ck_assert_uint_eq(o[2].ret, LC_NEVER);
	/* the read that found nothing */
	ck_assert_int_eq(o[3].type, LC_LEASE_GET);
	ck_assert_int_eq(o[3].status, LC_NOT_FOUND);
	ck_assert(!o[3].present);
	ck_assert_str_eq(o[3].holder, "");
	/* the release in flight when the agent died */
	ck_assert_int_eq(o[4].type, LC_RELEASE);
	ck_assert_int_eq(o[4].status, LC_UNKNOWN);
	ck_assert_uint_eq(o[4].ret, LC_NEVER);
	nem_history_free(&h);
}
END_TEST

START_TEST(file_gets_one_line_per_call_and_answer)
{
	char path[] = "/tmp/tenure-lease-trace-XXXXXX", err[128];
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct lease_trace t;
	ck_assert_int_eq(lease_trace_open(&t, path, err, sizeof(err)), 0);
	struct client_request q = req(CLIENT_OP_LEASE_RENEW, "n2/bb", 0, 9);
	uint64_t seq = lease_trace_call(&t, &q);
	ck_assert_uint_eq(seq, 1);
	struct client_response r = lease_answer("n2/bb", 9);
	lease_trace_ret(&t, seq, CLIENT_OK, &r, false, 0);
	lease_trace_close(&t);
	struct nem_history h;
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	nem_history_init(&h);
	ck_assert_int_eq(nem_read_lease_trace(&h, f, 0, err, sizeof(err)), 0);
	fclose(f);
	ck_assert_uint_eq(h.lease_ops.n, 1);
	ck_assert_uint_eq(h.lease_torn, 0);
	ck_assert_int_eq(h.lease_ops.ops[0].status, LC_OK);
	ck_assert_uint_le(h.lease_ops.ops[0].call, h.lease_ops.ops[0].ret);
	nem_history_free(&h);
	unlink(path);
	/* off: nothing opened, nothing written */
	ck_assert_int_eq(lease_trace_open(&t, NULL, err, sizeof(err)), 0);
	ck_assert_uint_eq(lease_trace_call(&t, &q), 0);
	ck_assert_int_eq(lease_trace_open(&t, "/nonexistent/dir/trace", err,
					  sizeof(err)),
			 -1);
}
END_TEST

Suite *lease_trace_suite(void)
{
	Suite *s = suite_create("lease_trace");
	TCase *tc = tcase_create("lines");
	tcase_add_test(tc, lines_read_back_as_operations);
	tcase_add_test(tc, file_gets_one_line_per_call_and_answer);
	suite_add_tcase(s, tc);
	return s;
}
