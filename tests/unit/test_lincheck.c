/* test_lincheck.c — the linearizability checker on histories whose verdict
 * is known: each model's classic anomalies must be caught, and the
 * freedoms of unknown outcomes, retries and expiry must be allowed. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/lincheck.h"
#include "tests/unit/suites.h"

#define NEVER (-1)
#define MS 1000000ull

static struct lc_history h;

static void setup(void)
{
	lc_history_init(&h);
}

static void teardown(void)
{
	lc_history_free(&h);
}

/* An op from call to ret (ms; NEVER: unknown outcome). */
static struct lc_op base(int client, int call, int ret, int type,
			 const char *obj)
{
	struct lc_op o;
	lc_op_init(&o);
	o.client = client;
	o.call = (uint64_t)call * MS;
	o.type = type;
	snprintf(o.object, sizeof(o.object), "%s", obj);
	if (ret != NEVER) {
		o.ret = (uint64_t)ret * MS;
		o.status = LC_OK;
	}
	return o;
}

static long add(struct lc_op *o)
{
	if (o->ret == LC_NEVER)
		o->status = LC_UNKNOWN;
	long i = lc_history_add(&h, o);
	ck_assert_int_ge(i, 0);
	return i;
}

static void out_kv(struct lc_op *o, const char *val, uint64_t rev)
{
	o->present = val != NULL;
	snprintf(o->out_value, sizeof(o->out_value), "%s", val ? val : "");
	o->out_rev = rev;
}

static void put(int c, int t0, int t1, const char *val, uint64_t rev)
{
	struct lc_op o = base(c, t0, t1, LC_PUT, "k");
	snprintf(o.value, sizeof(o.value), "%s", val);
	out_kv(&o, val, rev);
	add(&o);
}

/* val NULL: not found */
static void get(int c, int t0, int t1, const char *val, uint64_t rev)
{
	struct lc_op o = base(c, t0, t1, LC_GET, "k");
	out_kv(&o, val, rev);
	if (!val)
		o.status = LC_NOT_FOUND;
	add(&o);
}

static void del(int c, int t0, int t1, int status, uint64_t rev)
{
	struct lc_op o = base(c, t0, t1, LC_DELETE, "k");
	o.status = status;
	o.present = status == LC_OK;
	o.out_rev = rev;
	add(&o);
}

/* status OK: now val at rev; COMPARE_FAILED: the key is cur at rev */
static void cas(int c, int t0, int t1, uint64_t expect, const char *val,
		int status, const char *cur, uint64_t rev)
{
	struct lc_op o = base(c, t0, t1, LC_CAS, "k");
	o.rev = expect;
	snprintf(o.value, sizeof(o.value), "%s", val);
	out_kv(&o, status == LC_OK ? val : cur, rev);
	o.status = status;
	add(&o);
}

static void out_lease(struct lc_op *o, const char *holder, uint64_t token)
{
	o->present = true;
	snprintf(o->out_holder, sizeof(o->out_holder), "%s", holder);
	o->out_token = token;
}

/* status OK: granted token; HELD: holder has it with token */
static long acquire(int c, int t0, int t1, const char *who, int status,
		    const char *holder, uint64_t token)
{
	struct lc_op o = base(c, t0, t1, LC_ACQUIRE, "L");
	snprintf(o.holder, sizeof(o.holder), "%s", who);
	o.ttl_ms = 1000;
	o.status = status;
	out_lease(&o, holder, token);
	return add(&o);
}

/* renew/release of who's token; the answer shows holder/token (holder
 * NULL: no lease in the answer, as with NOT_FOUND) */
static void holder_op(int type, int c, int t0, int t1, const char *who,
		      uint64_t token, int status, const char *holder,
		      uint64_t out_token)
{
	struct lc_op o = base(c, t0, t1, type, "L");
	snprintf(o.holder, sizeof(o.holder), "%s", who);
	o.token = token;
	o.status = status;
	if (holder)
		out_lease(&o, holder, out_token);
	add(&o);
}

/* holder NULL: not found; "" free */
static void lget(int c, int t0, int t1, const char *holder, uint64_t token)
{
	struct lc_op o = base(c, t0, t1, LC_LEASE_GET, "L");
	if (holder)
		out_lease(&o, holder, token);
	else
		o.status = LC_NOT_FOUND;
	add(&o);
}

static enum lc_verdict check(void)
{
	struct lc_options opt = { .budget_s = 10 };
	return lc_check(h.ops, h.n, &opt, NULL);
}

#define LINEARIZABLE() ck_assert_int_eq(check(), LC_LINEARIZABLE)
#define VIOLATION() ck_assert_int_eq(check(), LC_VIOLATION)

/* ---- keys ------------------------------------------------------------------ */

START_TEST(kv_sequential_ok)
{
	get(1, 0, 1, NULL, 0);
	put(1, 2, 3, "a", 5);
	get(2, 4, 5, "a", 5);
	del(1, 6, 7, LC_OK, 8);
	get(2, 8, 9, NULL, 0);
	del(2, 10, 11, LC_NOT_FOUND, 0);
	LINEARIZABLE();
}
END_TEST

START_TEST(kv_stale_read)
{
	put(1, 0, 1, "a", 5);
	put(1, 2, 3, "b", 6);
	get(2, 4, 5, "a", 5);
	VIOLATION();
}
END_TEST

START_TEST(kv_concurrent_read_may_see_either)
{
	put(1, 0, 1, "a", 5);
	put(1, 2, 10, "b", 6);
	get(2, 3, 4, "a", 5);
	get(2, 5, 6, "b", 6);
	get(3, 7, 8, "b", 6);
	LINEARIZABLE();
}
END_TEST

START_TEST(kv_read_flips_back)
{
	put(1, 0, 1, "a", 5);
	put(1, 2, 10, "b", 6);
	get(2, 3, 4, "b", 6);
	get(3, 5, 6, "a", 5);
	VIOLATION();
}
END_TEST

START_TEST(kv_lost_write)
{
	/* Both writes acknowledged, but the later reads show the "earlier"
	 * one after the other: one write was lost and came back. */
	put(1, 0, 5, "a", 5);
	put(2, 0, 5, "b", 6);
	get(3, 6, 7, "b", 6);
	get(3, 8, 9, "a", 5);
	VIOLATION();
}
END_TEST

START_TEST(kv_revisions_must_grow)
{
	put(1, 0, 1, "a", 10);
	put(1, 2, 3, "b", 8);
	VIOLATION();
}
END_TEST

START_TEST(kv_one_revision_one_value)
{
	put(1, 0, NEVER, "a", 0);
	get(2, 1, 2, "a", 5);
	get(2, 3, 4, "b", 5);
	VIOLATION();
}
END_TEST

START_TEST(kv_unknown_put_takes_effect_late)
{
	put(1, 0, 1, "a", 3);
	put(2, 2, NEVER, "b", 0);
	get(3, 3, 4, "a", 3);
	get(3, 100, 101, "a", 3);
	get(3, 200, 201, "b", 9);
	LINEARIZABLE();
}
END_TEST

START_TEST(kv_unknown_put_never_takes_effect)
{
	put(1, 0, 1, "a", 3);
	put(2, 2, NEVER, "b", 0);
	get(3, 300, 301, "a", 3);
	LINEARIZABLE();
}
END_TEST

START_TEST(kv_unknown_put_takes_effect_once)
{
	put(1, 0, 1, "a", 3);
	put(2, 2, NEVER, "b", 0);
	get(3, 10, 11, "b", 9);
	get(3, 20, 21, "a", 3);
	VIOLATION();
}
END_TEST

START_TEST(kv_deleted_value_back)
{
	put(1, 0, 1, "a", 3);
	del(2, 2, 3, LC_OK, 4);
	get(3, 4, 5, "a", 3);
	VIOLATION();
}
END_TEST

START_TEST(kv_cas)
{
	put(1, 0, 1, "a", 5);
	cas(2, 2, 3, 5, "b", LC_OK, NULL, 7);
	cas(3, 4, 5, 5, "c", LC_COMPARE_FAILED, "b", 7);
	cas(3, 6, 7, 0, "c", LC_COMPARE_FAILED, "b", 7);
	get(1, 8, 9, "b", 7);
	del(1, 10, 11, LC_OK, 9);
	cas(3, 12, 13, 0, "d", LC_OK, NULL, 10);
	LINEARIZABLE();
}
END_TEST

START_TEST(kv_cas_on_stale_revision)
{
	put(1, 0, 1, "a", 5);
	cas(2, 2, 3, 5, "b", LC_OK, NULL, 7);
	cas(3, 4, 5, 5, "c", LC_OK, NULL, 8);
	VIOLATION();
}
END_TEST

START_TEST(kv_cas_failure_shows_stale_value)
{
	put(1, 0, 1, "a", 5);
	put(1, 2, 3, "b", 7);
	cas(3, 4, 5, 3, "c", LC_COMPARE_FAILED, "a", 5);
	VIOLATION();
}
END_TEST

START_TEST(kv_unknown_cas_takes_effect_late)
{
	put(1, 0, 1, "a", 5);
	cas(2, 2, NEVER, 5, "b", LC_UNKNOWN, NULL, 0);
	get(3, 50, 51, "a", 5);
	get(3, 60, 61, "b", 9);
	LINEARIZABLE();
}
END_TEST

START_TEST(kv_unknown_cas_that_cannot_match)
{
	put(1, 0, 1, "a", 5);
	put(1, 2, 3, "x", 6);
	cas(2, 4, NEVER, 5, "b", LC_UNKNOWN, NULL, 0);
	get(3, 60, 61, "b", 9);
	VIOLATION();
}
END_TEST

START_TEST(kv_keys_are_independent)
{
	put(1, 0, 1, "a", 5);
	struct lc_op o = base(1, 2, 3, LC_GET, "other");
	o.status = LC_NOT_FOUND;
	add(&o);
	get(2, 4, 5, "a", 5);
	LINEARIZABLE();
}
END_TEST

/* ---- leases ------------------------------------------------------------------ */

START_TEST(lease_lifecycle)
{
	lget(1, 0, 1, NULL, 0);
	acquire(1, 2, 3, "h1", LC_OK, "h1", 3);
	acquire(2, 4, 5, "h2", LC_HELD, "h1", 3);
	holder_op(LC_RENEW, 1, 6, 7, "h1", 3, LC_OK, "h1", 3);
	acquire(1, 8, 9, "h1", LC_OK, "h1", 3);
	holder_op(LC_RENEW, 2, 10, 11, "h2", 3, LC_NOT_HOLDER, "h1", 3);
	holder_op(LC_RELEASE, 1, 12, 13, "h1", 3, LC_OK, "", 3);
	lget(2, 14, 15, NULL, 0); /* released: removed (server/sm.h) */
	holder_op(LC_RELEASE, 1, 16, 17, "h1", 3, LC_NOT_FOUND, NULL, 0);
	acquire(2, 18, 19, "h2", LC_OK, "h2", 9);
	lget(1, 20, 21, "h2", 9);
	LINEARIZABLE();
}
END_TEST

START_TEST(lease_double_grant)
{
	acquire(1, 0, 1, "h1", LC_OK, "h1", 3);
	acquire(2, 100, 101, "h2", LC_OK, "h2", 5);
	VIOLATION();
}
END_TEST

START_TEST(lease_grant_after_expiry)
{
	acquire(1, 0, 1, "h1", LC_OK, "h1", 3);
	acquire(2, 1100, 1101, "h2", LC_OK, "h2", 5);
	holder_op(LC_RENEW, 1, 1200, 1201, "h1", 3, LC_NOT_HOLDER, "h2", 5);
	LINEARIZABLE();
}
END_TEST

START_TEST(lease_renewal_postpones_expiry)
{
	acquire(1, 0, 1, "h1", LC_OK, "h1", 3);
	holder_op(LC_RENEW, 1, 800, 801, "h1", 3, LC_OK, "h1", 3);
	acquire(2, 1100, 1101, "h2", LC_OK, "h2", 5);
	VIOLATION();
}
END_TEST

/* The countdown restarts with the re-acquire's TTL, shorter or not. */
static void reacquire_shorter(int other_at)
{
	acquire(1, 0, 1, "h1", LC_OK, "h1", 3);
	long i = acquire(1, 10, 11, "h1", LC_OK, "h1", 3);
	h.ops[i].ttl_ms = 300;
	acquire(2, other_at, other_at + 1, "h2", LC_OK, "h2", 7);
}

START_TEST(lease_reacquire_shortens_ttl)
{
	reacquire_shorter(400);
	LINEARIZABLE();
}
END_TEST

START_TEST(lease_reacquire_ttl_still_holds)
{
	reacquire_shorter(200);
	VIOLATION();
}
END_TEST

START_TEST(lease_renew_after_loss)
{
	acquire(1, 0, 1, "h1", LC_OK, "h1", 3);
	acquire(2, 1100, 1101, "h2", LC_OK, "h2", 5);
	holder_op(LC_RENEW, 1, 1200, 1201, "h1", 3, LC_OK, "h1", 3);
	VIOLATION();
}
END_TEST

START_TEST(lease_token_backwards)
{
	acquire(1, 0, 1, "h1", LC_OK, "h1", 10);
	holder_op(LC_RELEASE, 1, 2, 3, "h1", 10, LC_OK, "", 10);
	acquire(2, 4, 5, "h2", LC_OK, "h2", 7);
	VIOLATION();
}
END_TEST

START_TEST(lease_get_shows_ungranted_holder)
{
	acquire(1, 0, 1, "h1", LC_OK, "h1", 3);
	lget(2, 2, 3, "h3", 4);
	VIOLATION();
}
END_TEST

START_TEST(lease_unknown_acquire_takes_effect_late)
{
	acquire(1, 0, NEVER, "h1", LC_UNKNOWN, "", 0);
	lget(2, 5, 6, NULL, 0);
	lget(2, 50, 51, "h1", 4);
	acquire(3, 60, 61, "h2", LC_HELD, "h1", 4);
	LINEARIZABLE();
}
END_TEST

START_TEST(lease_unknown_release_never_takes_effect)
{
	acquire(1, 0, 1, "h1", LC_OK, "h1", 3);
	holder_op(LC_RELEASE, 1, 10, NEVER, "h1", 3, LC_UNKNOWN, "", 0);
	lget(2, 20, 21, "h1", 3);
	holder_op(LC_RENEW, 1, 30, 31, "h1", 3, LC_OK, "h1", 3);
	LINEARIZABLE();
}
END_TEST

START_TEST(lease_unknown_release_takes_effect_late)
{
	acquire(1, 0, 1, "h1", LC_OK, "h1", 3);
	holder_op(LC_RELEASE, 1, 10, NEVER, "h1", 3, LC_UNKNOWN, "", 0);
	lget(2, 20, 21, "h1", 3);
	acquire(2, 30, 31, "h2", LC_OK, "h2", 6);
	LINEARIZABLE();
}
END_TEST

START_TEST(lease_expiry_not_moved_by_unknown_op)
{
	/* The unknown acquire may land late, but not after the get that
	 * shows its grant: the expiry it needs would be at 11 ms. */
	acquire(1, 0, 1, "h1", LC_OK, "h1", 3);
	acquire(3, 2, NEVER, "h3", LC_UNKNOWN, "", 0);
	lget(2, 10, 11, "h3", 6);
	VIOLATION();
}
END_TEST

/* The answered attempt of a retried acquire says HELD, but an earlier
 * attempt was granted, then expired and went to h2. */
static long retried_acquire(void)
{
	long parent = acquire(1, 0, 2000, "h1", LC_HELD, "h2", 8);
	acquire(2, 100, 101, "h3", LC_HELD, "h1", 5);
	acquire(2, 1400, 1401, "h2", LC_OK, "h2", 8);
	return parent;
}

START_TEST(lease_retry_shadow_allows_earlier_attempt)
{
	long parent = retried_acquire();
	struct lc_op o = h.ops[parent];
	o.status = LC_UNKNOWN;
	o.present = false;
	o.shadow_of = parent;
	add(&o);
	LINEARIZABLE();
}
END_TEST

START_TEST(lease_without_shadow_the_retry_is_a_violation)
{
	retried_acquire();
	VIOLATION();
}
END_TEST

/* ---- generated histories -------------------------------------------------------- */

/* Serial execution of random key ops by concurrent clients: each op takes
 * effect at a random point inside its interval, some answers are lost.
 * Whatever the interleaving, the history is linearizable. */
START_TEST(kv_generated_histories_pass)
{
	unsigned seed = 12345;
	for (int round = 0; round < 20; round++) {
		lc_history_free(&h);
		int cur = -1, n_vals = 0;
		uint64_t cur_rev = 0, rev = 1;
		uint64_t t = 0;
		for (int i = 0; i < 300; i++) {
			/* every op overlaps the next few: ops run in
			 * [point - r1, point + r2] */
			t += 1 + rand_r(&seed) % 3;
			struct lc_op o = base(i % 6, 0, 0, LC_PUT, "k");
			int back = rand_r(&seed) % 8, fwd = rand_r(&seed) % 8;
			o.call = (t > (uint64_t)back ? t - back : 0) * MS;
			o.ret = (t + fwd) * MS;
			o.status = LC_OK;
			int kind = rand_r(&seed) % 4;
			if (kind == 0 || cur < 0) {
				snprintf(o.value, sizeof(o.value), "v%d",
					 n_vals);
				cur = n_vals++;
				cur_rev = ++rev;
				out_kv(&o, o.value, cur_rev);
			} else if (kind == 1) {
				o.type = LC_GET;
				snprintf(o.out_value, sizeof(o.out_value),
					 "v%d", cur);
				o.present = true;
				o.out_rev = cur_rev;
			} else if (kind == 2) {
				o.type = LC_CAS;
				o.rev = rand_r(&seed) % 2 ? cur_rev
							  : cur_rev - 1;
				snprintf(o.value, sizeof(o.value), "v%d",
					 n_vals);
				if (o.rev == cur_rev) {
					cur = n_vals++;
					cur_rev = ++rev;
					out_kv(&o, o.value, cur_rev);
				} else {
					char v[16];
					snprintf(v, sizeof(v), "v%d", cur);
					out_kv(&o, v, cur_rev);
					o.status = LC_COMPARE_FAILED;
				}
			} else {
				o.type = LC_PUT;
				snprintf(o.value, sizeof(o.value), "v%d",
					 n_vals++);
				o.ret = LC_NEVER; /* lost answer, never ran */
			}
			rev += rand_r(&seed) % 3; /* other keys' entries */
			add(&o);
		}
		LINEARIZABLE();
	}
}
END_TEST

Suite *lincheck_suite(void)
{
	Suite *s = suite_create("lincheck");
	TCase *kv = tcase_create("keys");
	tcase_add_checked_fixture(kv, setup, teardown);
	tcase_add_test(kv, kv_sequential_ok);
	tcase_add_test(kv, kv_stale_read);
	tcase_add_test(kv, kv_concurrent_read_may_see_either);
	tcase_add_test(kv, kv_read_flips_back);
	tcase_add_test(kv, kv_lost_write);
	tcase_add_test(kv, kv_revisions_must_grow);
	tcase_add_test(kv, kv_one_revision_one_value);
	tcase_add_test(kv, kv_unknown_put_takes_effect_late);
	tcase_add_test(kv, kv_unknown_put_never_takes_effect);
	tcase_add_test(kv, kv_unknown_put_takes_effect_once);
	tcase_add_test(kv, kv_deleted_value_back);
	tcase_add_test(kv, kv_cas);
	tcase_add_test(kv, kv_cas_on_stale_revision);
	tcase_add_test(kv, kv_cas_failure_shows_stale_value);
	tcase_add_test(kv, kv_unknown_cas_takes_effect_late);
	tcase_add_test(kv, kv_unknown_cas_that_cannot_match);
	tcase_add_test(kv, kv_keys_are_independent);
	tcase_add_test(kv, kv_generated_histories_pass);
	suite_add_tcase(s, kv);
	TCase *le = tcase_create("leases");
	tcase_add_checked_fixture(le, setup, teardown);
	tcase_add_test(le, lease_lifecycle);
	tcase_add_test(le, lease_double_grant);
	tcase_add_test(le, lease_grant_after_expiry);
	tcase_add_test(le, lease_renewal_postpones_expiry);
	tcase_add_test(le, lease_reacquire_shortens_ttl);
	tcase_add_test(le, lease_reacquire_ttl_still_holds);
	tcase_add_test(le, lease_renew_after_loss);
	tcase_add_test(le, lease_token_backwards);
	tcase_add_test(le, lease_get_shows_ungranted_holder);
	tcase_add_test(le, lease_unknown_acquire_takes_effect_late);
	tcase_add_test(le, lease_unknown_release_never_takes_effect);
	tcase_add_test(le, lease_unknown_release_takes_effect_late);
	tcase_add_test(le, lease_expiry_not_moved_by_unknown_op);
	tcase_add_test(le, lease_retry_shadow_allows_earlier_attempt);
	tcase_add_test(le, lease_without_shadow_the_retry_is_a_violation);
	suite_add_tcase(s, le);
	return s;
}
