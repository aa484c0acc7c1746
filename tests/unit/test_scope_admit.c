/*
 * test_scope_admit.c — server/scope_admit.c: the leader's admission of
 * writes against the per-scope limits (what a command grows, now and at
 * most), the in-flight accounting (tracked in log order, dropped once
 * applied, forgotten on a new leadership), and, against random logs
 * applied late and in any interleaving with new admissions, that the
 * usage the state machine reaches never passes a limit.
 */
#include <stdlib.h>
#include <string.h>

#include "server/scope_admit.h"
#include "server/sm.h"
#include "tests/unit/suites.h"

#define S(s) ((struct sm_str){ (s), (s) ? strlen(s) : 0 })

struct leader {
	struct sm *sm;
	struct scope_admit admit;
	struct scope_quota lim;
	uint64_t last;        /* last index proposed */
	struct sm_cmd q[256]; /* proposed, not applied: a ring */
	int head, n;          /* (the strings are static) */
};

static void leader_init(struct leader *l, struct scope_quota lim)
{
	memset(l, 0, sizeof(*l));
	l->sm = sm_new();
	ck_assert_ptr_nonnull(l->sm);
	scope_admit_init(&l->admit);
	l->lim = lim;
}

static void leader_fini(struct leader *l)
{
	scope_admit_free(&l->admit);
	sm_free(l->sm);
}

static void apply_at(struct sm *sm, uint64_t index, const struct sm_cmd *c)
{
	struct wire_writer w;
	struct sm_result res;

	wire_writer_init(&w);
	ck_assert(sm_cmd_encode(&w, c));
	ck_assert_int_eq(sm_apply(sm, index, w.buf, w.len, &res, NULL, NULL),
			 0);
	wire_writer_free(&w);
}

/* Admit c (0) or refuse it (the kind); an admitted one is proposed. */
static int propose(struct leader *l, struct sm_cmd c)
{
	uint64_t limit;
	int kind = scope_admit_check(&l->admit, l->sm, &c, &l->lim, &limit);

	if (kind)
		return kind;
	ck_assert_int_lt(l->n, 256);
	l->q[(l->head + l->n++) % 256] = c;
	ck_assert_int_eq(scope_admit_track(&l->admit, l->sm, ++l->last, &c), 0);
	return 0;
}

/* Apply the oldest proposal. */
static void apply_one(struct leader *l)
{
	uint64_t index = l->last - (uint64_t)l->n + 1;

	ck_assert_int_gt(l->n, 0);
	apply_at(l->sm, index, &l->q[l->head]);
	l->head = (l->head + 1) % 256;
	l->n--;
}

static void apply_all(struct leader *l)
{
	while (l->n > 0)
		apply_one(l);
}

static struct sm_cmd put_cmd(const char *key, const char *value)
{
	return (struct sm_cmd){ .type = SM_CMD_PUT,
				.key = S(key),
				.value = S(value) };
}

static struct sm_cmd del_cmd(const char *key)
{
	return (struct sm_cmd){ .type = SM_CMD_DELETE, .key = S(key) };
}

static struct sm_cmd acquire_cmd(const char *name, const char *holder)
{
	return (struct sm_cmd){ .type = SM_CMD_LEASE_ACQUIRE,
				.name = S(name),
				.holder = S(holder),
				.ttl_ms = 5000 };
}

/* Proposed and applied at once (nothing in flight). */
static int write_now(struct leader *l, struct sm_cmd c)
{
	int kind = propose(l, c);

	apply_all(l);
	return kind;
}

static struct sm_scope usage(struct leader *l, const char *scope)
{
	struct sm_scope sc;

	memset(&sc, 0, sizeof(sc));
	sm_scope_get(l->sm, scope, strlen(scope), &sc);
	return sc;
}

START_TEST(test_keys_limit)
{
	struct leader l;

	leader_init(&l, (struct scope_quota){ .keys = 2 });
	ck_assert_int_eq(write_now(&l, put_cmd("main/a", "1")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("main/b", "2")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("main/c", "3")),
			 SCOPE_QUOTA_KEYS);
	ck_assert_uint_eq(usage(&l, "main").keys, 2);
	/* Overwrites that do not grow, other scopes, names with no scope:
	 * all go through. */
	ck_assert_int_eq(write_now(&l, put_cmd("main/a", "9")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("other/a", "1")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("noscope", "1")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("noscope2", "1")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("noscope3", "1")), 0);
	/* A delete at the limit works and makes room. */
	ck_assert_int_eq(write_now(&l, del_cmd("main/a")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("main/c", "3")), 0);
	/* A limit lowered below the usage: deletes still work, adds do
	 * not until the usage is under it. */
	l.lim.keys = 1;
	ck_assert_int_eq(write_now(&l, put_cmd("main/e", "5")),
			 SCOPE_QUOTA_KEYS);
	ck_assert_int_eq(write_now(&l, put_cmd("main/b", "2")), 0);
	ck_assert_int_eq(write_now(&l, del_cmd("main/b")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("main/e", "5")),
			 SCOPE_QUOTA_KEYS);
	ck_assert_int_eq(write_now(&l, del_cmd("main/c")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("main/e", "5")), 0);
	/* No limit: nothing refused. */
	l.lim.keys = 0;
	ck_assert_int_eq(write_now(&l, put_cmd("main/f", "6")), 0);
	leader_fini(&l);
}
END_TEST

START_TEST(test_bytes_limit)
{
	struct leader l;
	struct sm_cmd cas = { .type = SM_CMD_CAS,
			      .key = S("s/k"),
			      .value = S("0123456789abcdef") };
	struct sm_key k;

	leader_init(&l, (struct scope_quota){ .bytes = 20 });
	ck_assert_int_eq(write_now(&l, put_cmd("s/k", "0123456789")), 0);
	ck_assert_uint_eq(usage(&l, "s").bytes, 13); /* key and value */
	ck_assert_int_eq(write_now(&l, put_cmd("s/x", "12345")),
			 SCOPE_QUOTA_BYTES);                        /* 21 */
	ck_assert_int_eq(write_now(&l, put_cmd("s/x", "1234")), 0); /* 20 */
	/* Growing a value is refused, by cas too; shrinking works. */
	ck_assert(sm_key_get(l.sm, "s/k", 3, &k));
	cas.revision = k.mod_revision;
	ck_assert_int_eq(write_now(&l, cas), SCOPE_QUOTA_BYTES);
	ck_assert_int_eq(write_now(&l, put_cmd("s/k", "01234567890")),
			 SCOPE_QUOTA_BYTES);
	ck_assert_int_eq(write_now(&l, put_cmd("s/k", "0123456789")), 0);
	ck_assert_int_eq(write_now(&l, put_cmd("s/k", "")), 0);
	ck_assert_uint_eq(usage(&l, "s").bytes, 10);
	leader_fini(&l);
}
END_TEST

START_TEST(test_leases_limit)
{
	struct leader l;
	struct sm_cmd floor = { .type = SM_CMD_LEASE_FLOOR,
				.name = S("main/moved"),
				.token = 1000 };

	leader_init(&l, (struct scope_quota){ .leases = 1 });
	ck_assert_int_eq(write_now(&l, acquire_cmd("main/primary", "a")), 0);
	ck_assert_int_eq(write_now(&l, acquire_cmd("main/member", "a")),
			 SCOPE_QUOTA_LEASES);
	ck_assert_int_eq(write_now(&l, floor), SCOPE_QUOTA_LEASES);
	/* Re-acquires are no new lease; other scopes are their own. */
	ck_assert_int_eq(write_now(&l, acquire_cmd("main/primary", "a")), 0);
	ck_assert_int_eq(write_now(&l, acquire_cmd("main/primary", "b")), 0);
	ck_assert_int_eq(write_now(&l, acquire_cmd("other/primary", "a")), 0);
	ck_assert_uint_eq(usage(&l, "main").leases, 1);
	/* A free lease a floor left in the table counts, and acquiring it
	 * is no new lease. */
	l.lim.leases = 2;
	ck_assert_int_eq(write_now(&l, floor), 0);
	ck_assert_uint_eq(usage(&l, "main").leases, 2);
	ck_assert_int_eq(write_now(&l, acquire_cmd("main/moved", "a")), 0);
	ck_assert_int_eq(write_now(&l, acquire_cmd("main/third", "a")),
			 SCOPE_QUOTA_LEASES);
	leader_fini(&l);
}
END_TEST

/* What is in flight counts until applied, by its most: an overwrite
 * behind a delete of the same key is a new key. */
START_TEST(test_inflight_accounting)
{
	struct leader l;
	struct scope_growth g;

	leader_init(&l, (struct scope_quota){ .keys = 3, .bytes = 1000 });
	ck_assert_int_eq(write_now(&l, put_cmd("m/a", "1")), 0);
	ck_assert_int_eq(propose(&l, put_cmd("m/b", "22")), 0);
	ck_assert_int_eq(propose(&l, put_cmd("m/a", "1")), 0); /* grows 0 */
	ck_assert_int_eq(propose(&l, del_cmd("m/a")), 0);
	scope_admit_pending(&l.admit, "m", 1, &g);
	ck_assert_uint_eq(g.keys, 2);
	ck_assert_uint_eq(g.bytes, 5 + 4);
	ck_assert_uint_eq(g.leases, 0);
	/* 1 applied + 2 in flight: a third new key passes the limit. */
	ck_assert_int_eq(propose(&l, put_cmd("m/c", "3")), SCOPE_QUOTA_KEYS);
	/* Applied one by one, each entry's part goes. */
	apply_one(&l);
	scope_admit_applied(&l.admit, l.sm);
	scope_admit_pending(&l.admit, "m", 1, &g);
	ck_assert_uint_eq(g.keys, 1);
	apply_one(&l);
	apply_one(&l); /* the delete: 1 key left (m/b) */
	scope_admit_applied(&l.admit, l.sm);
	scope_admit_pending(&l.admit, "m", 1, &g);
	ck_assert_uint_eq(g.keys, 0);
	ck_assert_uint_eq(usage(&l, "m").keys, 1);
	ck_assert_int_eq(propose(&l, put_cmd("m/c", "3")), 0);
	/* Other scopes are apart; a new leadership starts from nothing
	 * (then tracks its log's tail: test_new_leader_tracks_tail). */
	scope_admit_pending(&l.admit, "n", 1, &g);
	ck_assert_uint_eq(g.keys, 0);
	scope_admit_reset(&l.admit);
	scope_admit_pending(&l.admit, "m", 1, &g);
	ck_assert_uint_eq(g.keys, 0);
	leader_fini(&l);
}
END_TEST

/* The entries of the old leader still in the new one's log count: the
 * scope does not overshoot across a leader change. */
START_TEST(test_new_leader_tracks_tail)
{
	struct leader old, fresh;

	leader_init(&old, (struct scope_quota){ .keys = 2 });
	leader_init(&fresh, (struct scope_quota){ .keys = 2 });
	ck_assert_int_eq(propose(&old, put_cmd("m/a", "1")), 0);
	ck_assert_int_eq(propose(&old, put_cmd("m/b", "1")), 0);
	/* The new leader has both entries, applied neither: without its
	 * tail it would admit a third key. */
	for (int i = 0; i < old.n; i++) {
		fresh.q[fresh.n++] = old.q[(old.head + i) % 256];
		ck_assert_int_eq(scope_admit_track(&fresh.admit, fresh.sm,
						   ++fresh.last, &fresh.q[i]),
				 0);
	}
	ck_assert_int_eq(propose(&fresh, put_cmd("m/c", "1")),
			 SCOPE_QUOTA_KEYS);
	apply_all(&fresh);
	ck_assert_uint_eq(usage(&fresh, "m").keys, 2);
	leader_fini(&old);
	leader_fini(&fresh);
}
END_TEST

static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static const char *const r_keys[] = { "s/a", "s/b", "s/c", "s/d",
				      "s/e", "t/a", "top" };
static const char *const r_values[] = { "", "x", "xxxxxxxx",
					"xxxxxxxxxxxxxxxx" };
static const char *const r_leases[] = { "s/l0", "s/l1", "s/l2", "s/l3" };
#define R_PICK(a, x) ((a)[next_rand(x) % (sizeof(a) / sizeof((a)[0]))])

static struct sm_cmd random_cmd(const struct sm *sm, uint64_t *x)
{
	struct sm_lease le;
	struct sm_cmd c;

	switch (next_rand(x) % 6) {
	case 0:
		return del_cmd(R_PICK(r_keys, x));
	case 1:
		return acquire_cmd(R_PICK(r_leases, x), "h");
	case 2:
		c = (struct sm_cmd){ .type = SM_CMD_LEASE_RELEASE,
				     .name = S(R_PICK(r_leases, x)),
				     .holder = S("h") };
		c.token = sm_lease_get(sm, c.name.p, c.name.len, &le) ? le.token
								      : 1;
		return c;
	default:
		return put_cmd(R_PICK(r_keys, x), R_PICK(r_values, x));
	}
}

/* Writes admitted while others are in flight (deletes, releases,
 * overwrites of the same keys), applied at random moments: after every
 * apply the scope is within its limits. */
START_TEST(test_random_never_over)
{
	uint64_t x = 0x2545f4914f6cdd1dull + (uint64_t)_i;
	struct leader l;
	int admitted = 0, refused = 0;

	leader_init(&l, (struct scope_quota){
				.keys = 3, .bytes = 30, .leases = 2 });
	for (int step = 0; step < 20000; step++) {
		if (l.n < 200 && next_rand(&x) % 3) {
			if (propose(&l, random_cmd(l.sm, &x)))
				refused++;
			else
				admitted++;
			continue;
		}
		if (l.n == 0)
			continue;
		apply_one(&l);
		struct sm_scope u = usage(&l, "s");
		ck_assert_uint_le(u.keys, 3);
		ck_assert_uint_le(u.bytes, 30);
		ck_assert_uint_le(u.leases, 2);
	}
	/* Both outcomes came up often (the test means something). */
	ck_assert_int_gt(admitted, 1000);
	ck_assert_int_gt(refused, 1000);
	leader_fini(&l);
}
END_TEST

Suite *scope_admit_suite(void)
{
	Suite *s = suite_create("scope_admit");
	TCase *tc = tcase_create("admit");

	tcase_add_test(tc, test_keys_limit);
	tcase_add_test(tc, test_bytes_limit);
	tcase_add_test(tc, test_leases_limit);
	tcase_add_test(tc, test_inflight_accounting);
	tcase_add_test(tc, test_new_leader_tracks_tail);
	tcase_add_loop_test(tc, test_random_never_over, 0, 8);
	suite_add_tcase(s, tc);
	return s;
}
