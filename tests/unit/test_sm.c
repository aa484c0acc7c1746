/*
 * test_sm.c — the lease/key state machine (server/sm*.c): every command
 * and status, fencing tokens, the expiry/renewal race, keys freed with
 * their lease, cas, revisions, prefix listing, the command codec against
 * truncation and bad fields, snapshots against truncation and corruption,
 * a randomized comparison of machines that restored from a snapshot with
 * one that did not, and a 10,000-lease load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "server/sm.h"
#include "tests/unit/suites.h"

/* ---- harness ------------------------------------------------------------ */

/* Check records a mark point (a write to its pipe) on every ck_assert,
 * which dominates loops of thousands of applies; hot paths test first
 * and only call into Check on failure. */
#define REQUIRE(cond)                                                         \
	do {                                                                  \
		if (!(cond))                                                  \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond); \
	} while (0)

#define MAX_EVENTS 64

struct rec_event {
	uint8_t type;
	uint64_t revision;
	char name[64];   /* lease name or key */
	char holder[64]; /* lease events */
	uint64_t token;
};

/* One state machine and the log position of the next command. */
struct t {
	struct sm *sm;
	uint64_t index;
	struct sm_result res;
	struct rec_event ev[MAX_EVENTS];
	int nev;
};

static struct sm_str S(const char *s) {
	return (struct sm_str){ s, s ? strlen(s) : 0 };
}

static void
copy_str(char *dst, size_t cap, struct sm_str s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	memcpy(dst, s.p, n);
	dst[n] = 0;
}

static void record(void *arg, const struct sm_event *ev)
{
	struct t *t = arg;
	struct rec_event *r;

	REQUIRE(t->nev < MAX_EVENTS);
	r = &t->ev[t->nev++];
	memset(r, 0, sizeof(*r));
	r->type = ev->type;
	r->revision = ev->revision;
	if (ev->lease) {
		REQUIRE(ev->key == NULL);
		copy_str(r->name, sizeof(r->name), ev->lease->name);
		copy_str(r->holder, sizeof(r->holder), ev->lease->holder);
		r->token = ev->lease->token;
	} else {
		REQUIRE(ev->key != NULL);
		copy_str(r->name, sizeof(r->name), ev->key->key);
	}
}

static void t_init(struct t *t)
{
	memset(t, 0, sizeof(*t));
	t->sm = sm_new();
	ck_assert_ptr_nonnull(t->sm);
	t->index = 1;
}

static void t_fini(struct t *t)
{
	sm_free(t->sm);
}

/* Applies raw bytes as the next log entry; returns the status. */
static int apply_raw(struct t *t, const void *buf, size_t len)
{
	t->nev = 0;
	REQUIRE(sm_apply(t->sm, t->index, buf, len, &t->res, record, t) == 0);
	REQUIRE(sm_applied_index(t->sm) == t->index);
	REQUIRE(t->res.revision == sm_revision(t->sm));
	t->index++;
	return t->res.status;
}

static int apply_cmd(struct t *t, const struct sm_cmd *c)
{
	struct wire_writer w;
	int st;

	wire_writer_init(&w);
	REQUIRE(sm_cmd_encode(&w, c));
	st = apply_raw(t, w.buf, w.len);
	wire_writer_free(&w);
	return st;
}

static int acquire(struct t *t, const char *name, const char *holder,
		   uint64_t ttl)
{
	struct sm_cmd c = { .type = SM_CMD_LEASE_ACQUIRE,
			    .name = S(name),
			    .holder = S(holder),
			    .ttl_ms = ttl };
	return apply_cmd(t, &c);
}

static int renew(struct t *t, const char *name, const char *holder,
		 uint64_t token)
{
	struct sm_cmd c = { .type = SM_CMD_LEASE_RENEW,
			    .name = S(name),
			    .holder = S(holder),
			    .token = token };
	return apply_cmd(t, &c);
}

static int release(struct t *t, const char *name, const char *holder,
		   uint64_t token)
{
	struct sm_cmd c = { .type = SM_CMD_LEASE_RELEASE,
			    .name = S(name),
			    .holder = S(holder),
			    .token = token };
	return apply_cmd(t, &c);
}

static int expire(struct t *t, const char *name, uint64_t token,
		  uint64_t renew_rev)
{
	struct sm_cmd c = { .type = SM_CMD_LEASE_EXPIRE,
			    .name = S(name),
			    .token = token,
			    .revision = renew_rev };
	return apply_cmd(t, &c);
}

static int floor_lease(struct t *t, const char *name, uint64_t token)
{
	struct sm_cmd c = { .type = SM_CMD_LEASE_FLOOR,
			    .name = S(name),
			    .token = token };
	return apply_cmd(t, &c);
}

static int put(struct t *t, const char *key, const char *value,
	       const char *lease, uint64_t token)
{
	struct sm_cmd c = { .type = SM_CMD_PUT,
			    .key = S(key),
			    .value = S(value),
			    .name = S(lease),
			    .token = token };
	return apply_cmd(t, &c);
}

static int del(struct t *t, const char *key)
{
	struct sm_cmd c = { .type = SM_CMD_DELETE, .key = S(key) };
	return apply_cmd(t, &c);
}

static int cas(struct t *t, const char *key, uint64_t expected,
	       const char *value, const char *lease, uint64_t token)
{
	struct sm_cmd c = { .type = SM_CMD_CAS,
			    .key = S(key),
			    .value = S(value),
			    .name = S(lease),
			    .token = token,
			    .revision = expected };
	return apply_cmd(t, &c);
}

static bool str_is(struct sm_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static struct sm_lease get_lease(struct t *t, const char *name)
{
	struct sm_lease l;

	ck_assert_msg(sm_lease_get(t->sm, name, strlen(name), &l),
		      "lease %s missing", name);
	return l;
}

static bool has_key(struct t *t, const char *key)
{
	return sm_key_get(t->sm, key, strlen(key), NULL);
}

static void check_event(struct t *t, int i, uint8_t type, const char *name)
{
	ck_assert_int_lt(i, t->nev);
	ck_assert_int_eq(t->ev[i].type, type);
	ck_assert_str_eq(t->ev[i].name, name);
	ck_assert_uint_eq(t->ev[i].revision, t->index - 1);
}

/* The whole state as bytes (a snapshot), for equality checks. */
static void snap(const struct sm *sm, struct wire_writer *w)
{
	wire_writer_init(w);
	ck_assert(sm_snapshot(sm, w));
}

/* The per-scope counters as text ("main 2 17 1;..."), for comparisons. */
static bool scope_text(void *arg, const struct sm_scope *sc)
{
	char *out = arg;
	size_t n = strlen(out);

	REQUIRE(n + sc->name.len + 80 < 4096);
	snprintf(out + n, 4096 - n, "%.*s %llu %llu %llu;", (int)sc->name.len,
		 sc->name.p, (unsigned long long)sc->keys,
		 (unsigned long long)sc->bytes, (unsigned long long)sc->leases);
	return true;
}

static void scopes_of(const struct sm *sm, char out[4096])
{
	out[0] = 0;
	sm_scope_each(sm, scope_text, out);
}

static void assert_same_state(const struct sm *a, const struct sm *b)
{
	struct wire_writer wa, wb;
	char sa[4096], sb[4096];

	snap(a, &wa);
	snap(b, &wb);
	ck_assert_uint_eq(wa.len, wb.len);
	ck_assert_mem_eq(wa.buf, wb.buf, wa.len);
	wire_writer_free(&wa);
	wire_writer_free(&wb);
	scopes_of(a, sa);
	scopes_of(b, sb);
	ck_assert_str_eq(sa, sb);
}

/* ---- leases ------------------------------------------------------------- */

START_TEST(test_acquire_grants_then_held)
{
	struct t t;
	struct sm_lease l;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "pg", "a", 5000), SM_OK);
	check_event(&t, 0, SM_EV_GRANT, "pg");
	ck_assert_int_eq(t.nev, 1);
	ck_assert_str_eq(t.ev[0].holder, "a");
	ck_assert_uint_eq(t.ev[0].token, 1);
	ck_assert(str_is(t.res.lease.holder, "a"));
	ck_assert_uint_eq(t.res.lease.token, 1);
	ck_assert_uint_eq(t.res.revision, 1);

	ck_assert_int_eq(acquire(&t, "pg", "b", 5000), SM_HELD);
	ck_assert_int_eq(t.nev, 0);
	ck_assert(str_is(t.res.lease.holder, "a")); /* who holds it */
	ck_assert_uint_eq(t.res.revision, 1);       /* nothing changed */
	l = get_lease(&t, "pg");
	ck_assert(str_is(l.name, "pg"));
	ck_assert(str_is(l.holder, "a"));
	ck_assert_uint_eq(l.token, 1);
	ck_assert_uint_eq(l.ttl_ms, 5000);
	ck_assert_uint_eq(l.renew_revision, 1);
	ck_assert_uint_eq(sm_lease_count(t.sm), 1);
	ck_assert(!sm_lease_get(t.sm, "p", 1, &l));
	t_fini(&t);
}
END_TEST

START_TEST(test_reacquire_by_holder_is_renewal)
{
	struct t t;
	struct sm_lease l;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "pg", "a", 5000), SM_OK);
	ck_assert_int_eq(put(&t, "x", "1", NULL, 0), SM_OK);
	ck_assert_int_eq(acquire(&t, "pg", "a", 9000), SM_OK);
	check_event(&t, 0, SM_EV_RENEW, "pg");
	ck_assert_int_eq(t.nev, 1);
	l = get_lease(&t, "pg");
	ck_assert_uint_eq(l.token, 1);     /* the grant's token is kept */
	ck_assert_uint_eq(l.ttl_ms, 9000); /* the new TTL */
	ck_assert_uint_eq(l.renew_revision, 3);
	ck_assert_uint_eq(sm_revision(t.sm), 3);
	/* It makes an expiry decided before it stale, like a renew. */
	ck_assert_int_eq(expire(&t, "pg", 1, 1), SM_STALE);
	ck_assert(str_is(get_lease(&t, "pg").holder, "a"));
	t_fini(&t);
}
END_TEST

START_TEST(test_renew)
{
	struct t t;
	struct sm_lease l;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "pg", "a", 5000), SM_OK);
	ck_assert_int_eq(renew(&t, "pg", "a", 1), SM_OK);
	check_event(&t, 0, SM_EV_RENEW, "pg");
	l = get_lease(&t, "pg");
	ck_assert_uint_eq(l.renew_revision, 2);
	ck_assert_uint_eq(l.token, 1);
	ck_assert_uint_eq(l.ttl_ms, 5000);
	ck_assert_uint_eq(sm_revision(t.sm), 2);

	ck_assert_int_eq(renew(&t, "pg", "b", 1), SM_NOT_HOLDER);
	ck_assert_int_eq(t.nev, 0);
	ck_assert(str_is(t.res.lease.holder, "a"));
	ck_assert_int_eq(renew(&t, "pg", "a", 2), SM_NOT_HOLDER);
	ck_assert_int_eq(renew(&t, "nope", "a", 1), SM_NOT_FOUND);
	ck_assert_uint_eq(get_lease(&t, "pg").renew_revision, 2);
	ck_assert_uint_eq(sm_revision(t.sm), 2);

	ck_assert_int_eq(release(&t, "pg", "a", 1), SM_OK);
	/* Released, the lease is gone: renewing it finds nothing. */
	ck_assert_int_eq(renew(&t, "pg", "a", 1), SM_NOT_FOUND);
	t_fini(&t);
}
END_TEST

START_TEST(test_release)
{
	struct t t;
	struct sm_lease l;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "pg", "a", 5000), SM_OK);
	ck_assert_int_eq(release(&t, "pg", "b", 1), SM_NOT_HOLDER);
	ck_assert_int_eq(release(&t, "pg", "a", 7), SM_NOT_HOLDER);
	ck_assert_int_eq(release(&t, "zz", "a", 1), SM_NOT_FOUND);
	ck_assert(str_is(get_lease(&t, "pg").holder, "a"));

	ck_assert_int_eq(release(&t, "pg", "a", 1), SM_OK);
	check_event(&t, 0, SM_EV_RELEASE, "pg");
	ck_assert_int_eq(t.nev, 1);
	ck_assert_str_eq(t.ev[0].holder, "a"); /* who lost it */
	ck_assert_uint_eq(t.ev[0].token, 1);
	/* The result shows it free, with the token it lost; the table no
	 * longer has it (free leases are removed). */
	ck_assert_uint_eq(t.res.lease.holder.len, 0);
	ck_assert(str_is(t.res.lease.name, "pg"));
	ck_assert_uint_eq(t.res.lease.token, 1);
	ck_assert(!sm_lease_get(t.sm, "pg", 2, &l));
	ck_assert_uint_eq(sm_revision(t.sm), 5);
	ck_assert_int_eq(release(&t, "pg", "a", 1), SM_NOT_FOUND);
	ck_assert_uint_eq(sm_lease_count(t.sm), 0);

	/* Anyone may take a free lease. */
	ck_assert_int_eq(acquire(&t, "pg", "b", 5000), SM_OK);
	check_event(&t, 0, SM_EV_GRANT, "pg");
	ck_assert_uint_eq(get_lease(&t, "pg").token, 7);
	t_fini(&t);
}
END_TEST

START_TEST(test_tokens_strictly_increase)
{
	struct t t;
	uint64_t last = 0, tok;

	t_init(&t);
	for (int round = 0; round < 20; round++) {
		const char *holder = round % 2 ? "a" : "b";
		struct sm_lease l;

		/* Unrelated entries in between, as in a real log. */
		for (int k = 0; k < round % 3; k++)
			ck_assert_int_eq(put(&t, "noise", "x", NULL, 0), SM_OK);
		ck_assert_int_eq(acquire(&t, "pg", holder, 1000), SM_OK);
		tok = t.res.lease.token;
		ck_assert_uint_eq(tok, t.index - 1);
		ck_assert_uint_gt(tok, last);
		last = tok;
		ck_assert_int_eq(renew(&t, "pg", holder, tok), SM_OK);
		l = get_lease(&t, "pg");
		if (round % 2)
			ck_assert_int_eq(release(&t, "pg", holder, tok), SM_OK);
		else
			ck_assert_int_eq(expire(&t, "pg", tok,
						l.renew_revision),
					 SM_OK);
	}
	t_fini(&t);
}
END_TEST

/* Free leases are removed, so client-chosen names do not pile up; a name
 * granted again after its removal still gets a token above every earlier
 * grant of it (the token is the grant's own index), and its attached keys
 * went with it. */
START_TEST(test_freed_leases_removed_tokens_still_increase)
{
	struct t t;
	uint64_t last = 0;
	char name[16];

	t_init(&t);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		ck_assert_int_eq(acquire(&t, name, "h", 1000), SM_OK);
		uint64_t tok = t.res.lease.token;
		if (i % 2) {
			ck_assert_int_eq(release(&t, name, "h", tok), SM_OK);
		} else {
			struct sm_lease l = get_lease(&t, name);
			ck_assert_int_eq(expire(&t, name, tok,
						l.renew_revision),
					 SM_OK);
		}
	}
	ck_assert_uint_eq(sm_lease_count(t.sm), 0);
	for (int round = 0; round < 10; round++) {
		ck_assert_int_eq(acquire(&t, "pg", "a", 1000), SM_OK);
		uint64_t tok = t.res.lease.token;
		ck_assert_uint_gt(tok, last);
		last = tok;
		ck_assert_int_eq(put(&t, "pg/k", "v", "pg", tok), SM_OK);
		ck_assert_int_eq(release(&t, "pg", "a", tok), SM_OK);
		ck_assert_uint_eq(sm_lease_count(t.sm), 0);
		ck_assert(!has_key(&t, "pg/k"));
		/* The old grant's token means nothing to the new one. */
		ck_assert_int_eq(acquire(&t, "pg", "b", 1000), SM_OK);
		ck_assert_int_eq(renew(&t, "pg", "a", tok), SM_NOT_HOLDER);
		ck_assert_int_eq(put(&t, "pg/k", "v", "pg", tok), SM_NO_LEASE);
		struct sm_lease l = get_lease(&t, "pg");
		ck_assert_uint_gt(l.token, tok);
		last = l.token;
		ck_assert_int_eq(release(&t, "pg", "b", l.token), SM_OK);
	}
	t_fini(&t);
}
END_TEST

/* A floor carries another trio's tokens on: the next grant is above it
 * although this log's index is far lower, the lease stays in the table
 * (free) while a freed token is not below the freeing index, and tokens
 * keep strictly increasing until the index catches up and the lease is
 * removed as usual. */
START_TEST(test_floor_lifts_grants_above_it)
{
	struct t t;
	uint64_t last;

	t_init(&t);
	ck_assert_int_eq(floor_lease(&t, "pg", 1000), SM_OK);
	ck_assert_int_eq(t.nev, 0); /* nothing granted or freed */
	ck_assert(t.res.lease.holder.len == 0);
	ck_assert_uint_eq(t.res.lease.token, 1000);
	ck_assert_uint_eq(get_lease(&t, "pg").token, 1000);
	ck_assert_int_eq(floor_lease(&t, "pg", 10), SM_OK); /* greater wins */
	ck_assert_uint_eq(get_lease(&t, "pg").token, 1000);
	ck_assert_int_eq(acquire(&t, "pg", "a", 1000), SM_OK);
	ck_assert_uint_eq(t.res.lease.token, 1001);
	ck_assert_uint_eq(t.ev[0].token, 1001);
	ck_assert_int_eq(floor_lease(&t, "pg", 5000), SM_HELD);
	ck_assert(str_is(t.res.lease.holder, "a"));
	ck_assert_uint_eq(get_lease(&t, "pg").token, 1001); /* untouched */
	ck_assert_int_eq(put(&t, "pg/k", "v", "pg", 1001), SM_OK);
	ck_assert_int_eq(release(&t, "pg", "a", 1001), SM_OK);
	ck_assert(!has_key(&t, "pg/k"));
	ck_assert(get_lease(&t, "pg").holder.len == 0); /* kept, free */
	ck_assert_int_eq(acquire(&t, "pg", "b", 1000), SM_OK);
	ck_assert_uint_eq(t.res.lease.token, 1002);
	last = 1002;
	struct sm_lease l = get_lease(&t, "pg");
	ck_assert_int_eq(expire(&t, "pg", last, l.renew_revision), SM_OK);
	ck_assert_uint_eq(sm_lease_count(t.sm), 1);
	/* The index catches up: a lease freed below its index goes. */
	while (t.index <= 1100)
		ck_assert_int_eq(put(&t, "noise", "x", NULL, 0), SM_OK);
	ck_assert_int_eq(acquire(&t, "pg", "a", 1000), SM_OK);
	ck_assert_uint_eq(t.res.lease.token, t.index - 1);
	ck_assert_uint_gt(t.res.lease.token, last);
	last = t.res.lease.token;
	ck_assert_int_eq(release(&t, "pg", "a", last), SM_OK);
	ck_assert_uint_eq(sm_lease_count(t.sm), 0);
	ck_assert_int_eq(acquire(&t, "pg", "a", 1000), SM_OK);
	ck_assert_uint_gt(t.res.lease.token, last);
	t_fini(&t);
}
END_TEST

/* A floor survives a snapshot, and a restored machine grants the same
 * token above it as the one that applied the floor itself. */
START_TEST(test_floor_survives_snapshot)
{
	struct t a, b;
	struct wire_writer w;

	t_init(&a);
	t_init(&b);
	ck_assert_int_eq(floor_lease(&a, "pg", 777), SM_OK);
	ck_assert_int_eq(acquire(&a, "held", "h", 1000), SM_OK);
	snap(a.sm, &w);
	ck_assert_int_eq(sm_restore(b.sm, w.buf, w.len, NULL), 0);
	wire_writer_free(&w);
	b.index = a.index;
	assert_same_state(a.sm, b.sm);
	ck_assert_int_eq(acquire(&a, "pg", "x", 1000), SM_OK);
	ck_assert_int_eq(acquire(&b, "pg", "x", 1000), SM_OK);
	ck_assert_uint_eq(a.res.lease.token, 778);
	ck_assert_uint_eq(b.res.lease.token, 778);
	snap(a.sm, &w); /* a held token above every index restores too */
	ck_assert_int_eq(sm_restore(b.sm, w.buf, w.len, NULL), 0);
	wire_writer_free(&w);
	t_fini(&a);
	t_fini(&b);
}
END_TEST

START_TEST(test_expire)
{
	struct t t;
	struct sm_lease l;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "pg", "a", 5000), SM_OK);
	ck_assert_int_eq(expire(&t, "pg", 2, 1), SM_STALE); /* token */
	ck_assert_int_eq(expire(&t, "pg", 1, 2), SM_STALE); /* renew rev */
	ck_assert_int_eq(expire(&t, "nope", 1, 1), SM_NOT_FOUND);
	ck_assert_int_eq(t.nev, 0);
	ck_assert(str_is(get_lease(&t, "pg").holder, "a"));
	ck_assert_uint_eq(sm_revision(t.sm), 1);

	ck_assert_int_eq(expire(&t, "pg", 1, 1), SM_OK);
	check_event(&t, 0, SM_EV_EXPIRE, "pg");
	ck_assert_str_eq(t.ev[0].holder, "a");
	ck_assert_int_eq(t.nev, 1);
	ck_assert_uint_eq(t.res.lease.holder.len, 0);
	ck_assert_uint_eq(t.res.lease.token, 1);
	ck_assert(!sm_lease_get(t.sm, "pg", 2, &l)); /* removed */
	ck_assert_uint_eq(sm_lease_count(t.sm), 0);
	ck_assert_uint_eq(sm_revision(t.sm), 5);
	/* A second expiry of the same grant no longer applies. */
	ck_assert_int_eq(expire(&t, "pg", 1, 1), SM_NOT_FOUND);
	t_fini(&t);
}
END_TEST

/* The leader decides at renew revision R that the lease ran out and
 * proposes expire(R); the holder's renewal is committed first.  The
 * expiry must then be a no-op and the lease stays with its holder. */
START_TEST(test_expire_loses_race_with_renewal)
{
	struct t t;
	struct sm_lease seen, l;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "pg", "a", 5000), SM_OK);
	seen = get_lease(&t, "pg"); /* what the leader's clock judged */
	ck_assert_int_eq(renew(&t, "pg", "a", seen.token), SM_OK);
	ck_assert_int_eq(expire(&t, "pg", seen.token, seen.renew_revision),
			 SM_STALE);
	ck_assert_int_eq(t.nev, 0);
	l = get_lease(&t, "pg");
	ck_assert(str_is(l.holder, "a"));
	ck_assert_uint_eq(l.token, seen.token);
	ck_assert_uint_eq(l.renew_revision, 2);
	ck_assert_uint_eq(sm_revision(t.sm), 2);
	ck_assert(str_is(t.res.lease.holder, "a"));

	/* A later expiry decided on the current renewal does apply. */
	ck_assert_int_eq(expire(&t, "pg", l.token, l.renew_revision), SM_OK);

	/* An expiry of an old grant never cuts a new grant, even one that
	 * happens to have the same renew revision history length. */
	ck_assert_int_eq(acquire(&t, "pg", "b", 5000), SM_OK);
	ck_assert_int_eq(expire(&t, "pg", l.token, l.renew_revision), SM_STALE);
	ck_assert(str_is(get_lease(&t, "pg").holder, "b"));
	t_fini(&t);
}
END_TEST

/* Three keys on "pg" (put out of order), one on "other", one free key:
 * freeing "pg" deletes exactly its keys, in key order, after the lease
 * event, all at the same revision. */
static void check_lease_frees_keys(bool by_expiry)
{
	struct t t;
	uint64_t tok;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "pg", "a", 5000), SM_OK);
	tok = t.res.lease.token;
	ck_assert_int_eq(acquire(&t, "other", "b", 5000), SM_OK);
	ck_assert_int_eq(put(&t, "k/2", "v", "pg", tok), SM_OK);
	ck_assert_int_eq(put(&t, "k/1", "v", "pg", tok), SM_OK);
	ck_assert_int_eq(cas(&t, "k/3", 0, "v", "pg", tok), SM_OK);
	ck_assert_int_eq(put(&t, "k/o", "v", "other", 2), SM_OK);
	ck_assert_int_eq(put(&t, "k/free", "v", NULL, 0), SM_OK);
	ck_assert(str_is(t.res.key.lease, ""));
	ck_assert_uint_eq(sm_key_count(t.sm), 5);

	if (by_expiry)
		ck_assert_int_eq(expire(&t, "pg", tok,
					get_lease(&t, "pg").renew_revision),
				 SM_OK);
	else
		ck_assert_int_eq(release(&t, "pg", "a", tok), SM_OK);
	ck_assert_int_eq(t.nev, 4);
	check_event(&t, 0, by_expiry ? SM_EV_EXPIRE : SM_EV_RELEASE, "pg");
	check_event(&t, 1, SM_EV_DELETE, "k/1");
	check_event(&t, 2, SM_EV_DELETE, "k/2");
	check_event(&t, 3, SM_EV_DELETE, "k/3");
	ck_assert_uint_eq(sm_key_count(t.sm), 2);
	ck_assert(!has_key(&t, "k/1") && !has_key(&t, "k/2") &&
		  !has_key(&t, "k/3"));
	ck_assert(has_key(&t, "k/o") && has_key(&t, "k/free"));
	ck_assert_uint_eq(sm_revision(t.sm), t.index - 1);

	/* A new grant starts with no keys; releasing it deletes nothing. */
	ck_assert_int_eq(acquire(&t, "pg", "c", 5000), SM_OK);
	tok = t.res.lease.token;
	ck_assert_int_eq(release(&t, "pg", "c", tok), SM_OK);
	ck_assert_int_eq(t.nev, 1);
	ck_assert_uint_eq(sm_key_count(t.sm), 2);
	t_fini(&t);
}

START_TEST(test_release_deletes_attached_keys)
{
	check_lease_frees_keys(false);
}
END_TEST

START_TEST(test_expire_deletes_attached_keys)
{
	check_lease_frees_keys(true);
}
END_TEST

/* ---- keys --------------------------------------------------------------- */

START_TEST(test_put)
{
	struct t t;
	struct sm_key k;

	t_init(&t);
	ck_assert_int_eq(put(&t, "a", "1", NULL, 0), SM_OK);
	check_event(&t, 0, SM_EV_PUT, "a");
	ck_assert(str_is(t.res.key.value, "1"));
	ck_assert_uint_eq(t.res.key.create_revision, 1);
	ck_assert_uint_eq(t.res.key.mod_revision, 1);
	ck_assert_int_eq(put(&t, "a", "", NULL, 0), SM_OK); /* empty value */
	ck_assert(sm_key_get(t.sm, "a", 1, &k));
	ck_assert_uint_eq(k.value.len, 0);
	ck_assert_uint_eq(k.create_revision, 1);
	ck_assert_uint_eq(k.mod_revision, 2);
	ck_assert_uint_eq(sm_revision(t.sm), 2);
	ck_assert(!sm_key_get(t.sm, "b", 1, &k));
	ck_assert_uint_eq(sm_key_count(t.sm), 1);
	t_fini(&t);
}
END_TEST

START_TEST(test_put_needs_held_lease_and_its_token)
{
	struct t t;
	uint64_t old_tok, new_tok;

	t_init(&t);
	ck_assert_int_eq(put(&t, "k", "v", "pg", 1), SM_NO_LEASE); /* none */
	ck_assert_int_eq(acquire(&t, "pg", "a", 5000), SM_OK);
	old_tok = t.res.lease.token;
	ck_assert_int_eq(release(&t, "pg", "a", old_tok), SM_OK);
	ck_assert_int_eq(put(&t, "k", "v", "pg", old_tok), SM_NO_LEASE);
	ck_assert_int_eq(acquire(&t, "pg", "b", 5000), SM_OK);
	new_tok = t.res.lease.token;
	/* A late write of the previous holder cannot ride the new grant. */
	ck_assert_int_eq(put(&t, "k", "v", "pg", old_tok), SM_NO_LEASE);
	ck_assert_int_eq(t.nev, 0);
	ck_assert(str_is(t.res.lease.holder, "b"));
	ck_assert(!has_key(&t, "k"));
	ck_assert_uint_eq(sm_revision(t.sm), 5);
	ck_assert_int_eq(put(&t, "k", "v", "pg", new_tok), SM_OK);
	ck_assert(str_is(t.res.key.lease, "pg"));
	t_fini(&t);
}
END_TEST

START_TEST(test_put_moves_key_between_leases)
{
	struct t t;
	struct sm_key k;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "a", "x", 5000), SM_OK); /* token 1 */
	ck_assert_int_eq(acquire(&t, "b", "x", 5000), SM_OK); /* token 2 */
	ck_assert_int_eq(put(&t, "k1", "v", "a", 1), SM_OK);
	ck_assert_int_eq(put(&t, "k2", "v", "a", 1), SM_OK);
	ck_assert_int_eq(put(&t, "k1", "w", "b", 2), SM_OK);  /* moved */
	ck_assert_int_eq(put(&t, "k2", "w", NULL, 0), SM_OK); /* detached */
	ck_assert(sm_key_get(t.sm, "k2", 2, &k));
	ck_assert_uint_eq(k.lease.len, 0);
	ck_assert_int_eq(release(&t, "a", "x", 1), SM_OK);
	ck_assert_int_eq(t.nev, 1); /* no keys left on "a" */
	ck_assert(has_key(&t, "k1") && has_key(&t, "k2"));
	ck_assert_int_eq(release(&t, "b", "x", 2), SM_OK);
	ck_assert_int_eq(t.nev, 2);
	check_event(&t, 1, SM_EV_DELETE, "k1");
	ck_assert(!has_key(&t, "k1") && has_key(&t, "k2"));
	t_fini(&t);
}
END_TEST

START_TEST(test_delete)
{
	struct t t;

	t_init(&t);
	ck_assert_int_eq(del(&t, "a"), SM_NOT_FOUND);
	ck_assert_uint_eq(sm_revision(t.sm), 0);
	ck_assert_int_eq(acquire(&t, "pg", "h", 5000), SM_OK);
	ck_assert_int_eq(put(&t, "a", "1", "pg", 2), SM_OK);
	ck_assert_int_eq(put(&t, "b", "1", "pg", 2), SM_OK);
	ck_assert_int_eq(del(&t, "a"), SM_OK);
	check_event(&t, 0, SM_EV_DELETE, "a");
	ck_assert(str_is(t.res.key.key, "a"));
	ck_assert_uint_eq(t.res.key.value.len, 0);
	ck_assert_uint_eq(t.res.key.create_revision, 3);
	ck_assert_uint_eq(t.res.key.mod_revision, 5);
	ck_assert_uint_eq(sm_revision(t.sm), 5);
	ck_assert(!has_key(&t, "a"));
	ck_assert_int_eq(del(&t, "a"), SM_NOT_FOUND);
	/* The deleted key is no longer on the lease. */
	ck_assert_int_eq(release(&t, "pg", "h", 2), SM_OK);
	ck_assert_int_eq(t.nev, 2);
	check_event(&t, 1, SM_EV_DELETE, "b");
	ck_assert_uint_eq(sm_key_count(t.sm), 0);
	t_fini(&t);
}
END_TEST

START_TEST(test_cas)
{
	struct t t;
	uint64_t rev;

	t_init(&t);
	ck_assert_int_eq(cas(&t, "k", 5, "v", NULL, 0), SM_COMPARE_FAILED);
	ck_assert_uint_eq(t.res.key.key.len, 0); /* no such key */
	ck_assert_int_eq(cas(&t, "k", 0, "v1", NULL, 0), SM_OK); /* create */
	check_event(&t, 0, SM_EV_PUT, "k");
	rev = t.res.key.mod_revision;
	ck_assert_uint_eq(rev, 2);
	ck_assert_int_eq(cas(&t, "k", 0, "v2", NULL, 0), SM_COMPARE_FAILED);
	ck_assert_uint_eq(t.res.key.mod_revision, rev); /* the current one */
	ck_assert_int_eq(cas(&t, "k", rev + 1, "v2", NULL, 0),
			 SM_COMPARE_FAILED);
	ck_assert_int_eq(t.nev, 0);
	ck_assert_uint_eq(sm_revision(t.sm), 2);
	ck_assert_int_eq(cas(&t, "k", rev, "v2", NULL, 0), SM_OK);
	ck_assert(str_is(t.res.key.value, "v2"));
	ck_assert_uint_eq(t.res.key.create_revision, 2);
	ck_assert_uint_eq(t.res.key.mod_revision, 5);
	/* Compare passes, lease does not: nothing written. */
	ck_assert_int_eq(cas(&t, "k", 5, "v3", "pg", 1), SM_NO_LEASE);
	ck_assert_uint_eq(t.res.key.mod_revision, 5);
	ck_assert_int_eq(cas(&t, "new", 0, "v3", "pg", 1), SM_NO_LEASE);
	ck_assert(!has_key(&t, "new"));
	ck_assert_int_eq(acquire(&t, "pg", "h", 5000), SM_OK); /* token 8 */
	ck_assert_int_eq(cas(&t, "k", 5, "v3", "pg", 7), SM_NO_LEASE);
	ck_assert_int_eq(cas(&t, "k", 5, "v3", "pg", 8), SM_OK);
	ck_assert(str_is(t.res.key.lease, "pg"));
	ck_assert(str_is(t.res.lease.holder, "h"));
	/* Delete, then create-only works again. */
	ck_assert_int_eq(del(&t, "k"), SM_OK);
	ck_assert_int_eq(cas(&t, "k", 0, "v4", NULL, 0), SM_OK);
	ck_assert_uint_eq(t.res.key.create_revision, 12);
	ck_assert_uint_eq(t.res.key.lease.len, 0);
	t_fini(&t);
}
END_TEST

START_TEST(test_revisions_and_skip)
{
	struct t t;
	/* Version 1, a delete whose key length runs past the end. */
	unsigned char junk[3] = { 1, SM_CMD_DELETE, 9 };

	t_init(&t);
	ck_assert_uint_eq(sm_revision(t.sm), 0);
	ck_assert_uint_eq(sm_applied_index(t.sm), 0);
	sm_skip(t.sm, 1); /* a Raft no-op entry */
	t.index = 2;
	ck_assert_uint_eq(sm_applied_index(t.sm), 1);
	ck_assert_uint_eq(sm_revision(t.sm), 0);
	ck_assert_int_eq(put(&t, "a", "1", NULL, 0), SM_OK);
	ck_assert_uint_eq(sm_revision(t.sm), 2);
	ck_assert_int_eq(apply_raw(&t, junk, sizeof(junk)), SM_INVALID);
	ck_assert_int_eq(t.nev, 0);
	ck_assert_uint_eq(sm_applied_index(t.sm), 3);
	ck_assert_uint_eq(sm_revision(t.sm), 2);
	ck_assert_int_eq(del(&t, "zz"), SM_NOT_FOUND);
	ck_assert_uint_eq(sm_revision(t.sm), 2);
	/* Indexes may jump (entries without commands were skipped). */
	t.index = 100;
	ck_assert_int_eq(put(&t, "a", "2", NULL, 0), SM_OK);
	ck_assert_uint_eq(sm_revision(t.sm), 100);
	ck_assert_uint_eq(sm_applied_index(t.sm), 100);
	/* A NULL result and no callback are allowed. */
	ck_assert_int_eq(sm_apply(t.sm, 101, junk, 1, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(sm_applied_index(t.sm), 101);
	t_fini(&t);
}
END_TEST

START_TEST(test_status_names)
{
	static const char *const want[] = {
		"ok",        "held",           "not_holder",
		"not_found", "compare_failed", "no_lease",
		"stale",     "invalid"
	};

	for (int i = SM_OK; i <= SM_INVALID; i++)
		ck_assert_str_eq(sm_status_name(i), want[i]);
	ck_assert_str_eq(sm_status_name(-1), "unknown");
	ck_assert_str_eq(sm_status_name(SM_INVALID + 1), "unknown");
}
END_TEST

/* ---- listing ------------------------------------------------------------ */

struct listing {
	char keys[64][16];
	size_t lens[64];
	int n;
	int stop_after; /* 0: never */
};

static bool collect_key(void *arg, const struct sm_key *k)
{
	struct listing *l = arg;

	ck_assert_int_lt(l->n, 64);
	ck_assert_uint_lt(k->key.len, sizeof(l->keys[0]));
	memcpy(l->keys[l->n], k->key.p, k->key.len);
	l->lens[l->n++] = k->key.len;
	return l->stop_after == 0 || l->n < l->stop_after;
}

/* Keys as (bytes, length): some contain NUL and high bytes. */
static const struct sm_str list_keys[] = {
	{ "a", 1 },    { "a\0", 2 },      { "a/b", 3 },          { "a/c", 3 },
	{ "ab", 2 },   { "b", 1 },        { "\x7f", 1 },         { "\x80", 1 },
	{ "\xff", 1 }, { "\xff\xff", 2 }, { "\xff\xff\x00", 3 },
};
#define N_LIST_KEYS (sizeof(list_keys) / sizeof(list_keys[0]))

static void check_prefix(struct t *t, const char *p, size_t plen,
			 const int *want, int nwant)
{
	struct listing l;

	memset(&l, 0, sizeof(l));
	sm_key_each(t->sm, p, plen, collect_key, &l);
	ck_assert_int_eq(l.n, nwant);
	for (int i = 0; i < nwant; i++) {
		ck_assert_uint_eq(l.lens[i], list_keys[want[i]].len);
		ck_assert_mem_eq(l.keys[i], list_keys[want[i]].p, l.lens[i]);
	}
}

START_TEST(test_key_each_prefix)
{
	struct t t;
	/* Insert in a scrambled order. */
	static const int order[] = { 7, 2, 9, 0, 10, 4, 1, 8, 3, 6, 5 };
	static const int all[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	static const int a[] = { 0, 1, 2, 3, 4 };
	static const int a_slash[] = { 2, 3 };
	static const int ff[] = { 8, 9, 10 };
	static const int ffff[] = { 9, 10 };
	static const int a0[] = { 1 };
	struct listing l;

	t_init(&t);
	for (size_t i = 0; i < N_LIST_KEYS; i++) {
		struct sm_cmd c = { .type = SM_CMD_PUT,
				    .key = list_keys[order[i]],
				    .value = S("v") };
		ck_assert_int_eq(apply_cmd(&t, &c), SM_OK);
	}
	check_prefix(&t, NULL, 0, all, 11);
	check_prefix(&t, "a", 1, a, 5);
	check_prefix(&t, "a/", 2, a_slash, 2);
	check_prefix(&t, "a\0", 2, a0, 1);  /* prefix equal to a key */
	check_prefix(&t, "\xff", 1, ff, 3); /* highest byte */
	check_prefix(&t, "\xff\xff", 2, ffff, 2);
	check_prefix(&t, "\xff\xff\x00\x00", 4, NULL, 0); /* longer */
	check_prefix(&t, "a/bc", 4, NULL, 0);
	check_prefix(&t, "c", 1, NULL, 0);    /* between keys */
	check_prefix(&t, "\x00", 1, NULL, 0); /* below every key */
	/* Stopping early. */
	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	sm_key_each(t.sm, "a", 1, collect_key, &l);
	ck_assert_int_eq(l.n, 2);
	ck_assert_uint_eq(l.lens[1], 2);
	t_fini(&t);
}
END_TEST

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

struct count_prefix {
	const char *p;
	size_t len;
	int n;
	char last[8];
	size_t last_len;
};

static bool count_key(void *arg, const struct sm_key *k)
{
	struct count_prefix *c = arg;
	size_t n = k->key.len < c->last_len ? k->key.len : c->last_len;
	int cmp = memcmp(c->last, k->key.p, n);

	ck_assert_uint_ge(k->key.len, c->len);
	ck_assert_mem_eq(k->key.p, c->p, c->len);
	/* Strictly ascending. */
	ck_assert(c->n == 0 || cmp < 0 ||
		  (cmp == 0 && c->last_len < k->key.len));
	memcpy(c->last, k->key.p, k->key.len);
	c->last_len = k->key.len;
	c->n++;
	return true;
}

/* Listing against brute force over random keys of a tiny alphabet, so
 * that prefixes collide a lot; keys are inserted and deleted. */
START_TEST(test_key_each_matches_brute_force)
{
	struct t t;
	uint64_t x = 12345;
	char buf[8];

	t_init(&t);
	for (int step = 0; step < 3000; step++) {
		size_t len = 1 + xorshift(&x) % 4;
		for (size_t i = 0; i < len; i++)
			buf[i] = "ab\0\xff"[xorshift(&x) % 4];
		struct sm_cmd c = { .type = xorshift(&x) % 3 ? SM_CMD_PUT
							     : SM_CMD_DELETE,
				    .key = { buf, len } };
		if (c.type == SM_CMD_PUT)
			c.value = S("v");
		apply_cmd(&t, &c);
	}
	for (int plen = 0; plen <= 3; plen++) {
		for (int pi = 0; pi < 64; pi++) {
			struct count_prefix cp = {
				buf, (size_t)plen, 0, { 0 }, 0
			};
			int want = 0, code = pi;
			for (int i = 0; i < plen; i++, code /= 4)
				buf[i] = "ab\0\xff"[code % 4];
			sm_key_each(t.sm, buf, (size_t)plen, count_key, &cp);
			/* Brute force: look up every possible key. */
			for (size_t len = 1; len <= 4; len++) {
				int total = 1;
				for (size_t i = 0; i < len; i++)
					total *= 4;
				for (int kc = 0; kc < total; kc++) {
					char k[4];
					int cc = kc;
					for (size_t i = 0; i < len;
					     i++, cc /= 4)
						k[i] = "ab\0\xff"[cc % 4];
					if (len >= (size_t)plen &&
					    !memcmp(k, buf, (size_t)plen) &&
					    sm_key_get(t.sm, k, len, NULL))
						want++;
				}
			}
			ck_assert_int_eq(cp.n, want);
		}
	}
	t_fini(&t);
}
END_TEST

struct lease_list {
	char names[8][8];
	int n;
};

static bool collect_lease(void *arg, const struct sm_lease *l)
{
	struct lease_list *ll = arg;

	copy_str(ll->names[ll->n++], sizeof(ll->names[0]), l->name);
	return ll->n < 3;
}

START_TEST(test_lease_each_in_order)
{
	struct t t;
	struct lease_list ll;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "m", "h", 1000), SM_OK);
	ck_assert_int_eq(acquire(&t, "b", "h", 1000), SM_OK);
	ck_assert_int_eq(acquire(&t, "z", "h", 1000), SM_OK);
	ck_assert_int_eq(acquire(&t, "a", "h", 1000), SM_OK);
	ck_assert_int_eq(acquire(&t, "c", "h", 1000), SM_OK);
	ck_assert_int_eq(release(&t, "a", "h", 4), SM_OK); /* gone */
	memset(&ll, 0, sizeof(ll));
	sm_lease_each(t.sm, collect_lease, &ll);
	ck_assert_int_eq(ll.n, 3); /* stopped early */
	ck_assert_str_eq(ll.names[0], "b");
	ck_assert_str_eq(ll.names[1], "c");
	ck_assert_str_eq(ll.names[2], "m");
	ck_assert_uint_eq(sm_lease_count(t.sm), 4);
	/* From a name on: "c" and after. */
	memset(&ll, 0, sizeof(ll));
	sm_lease_each_from(t.sm, "bb", 2, collect_lease, &ll);
	ck_assert_int_eq(ll.n, 3);
	ck_assert_str_eq(ll.names[0], "c");
	ck_assert_str_eq(ll.names[2], "z");
	t_fini(&t);
}
END_TEST

/* ---- command codec ------------------------------------------------------ */

/* One valid command of every shape (a put and cas with and without a
 * lease). */
#define N_SAMPLE_CMDS 11
static void sample_cmds(struct sm_cmd *c, int *n)
{
	static char big[SM_VALUE_MAX];
	int i = 0;

	memset(big, 'v', sizeof(big));
	memset(c, 0, N_SAMPLE_CMDS * sizeof(*c));
	c[i++] = (struct sm_cmd){ .type = SM_CMD_LEASE_ACQUIRE,
				  .name = S("pg"),
				  .holder = S("node-1"),
				  .ttl_ms = SM_TTL_MIN_MS };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_LEASE_RENEW,
				  .name = S("pg"),
				  .holder = S("node-1"),
				  .token = 1 };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_LEASE_RELEASE,
				  .name = S("pg"),
				  .holder = S("n"),
				  .token = UINT64_MAX };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_LEASE_EXPIRE,
				  .name = S("pg"),
				  .token = 3,
				  .revision = 4 };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_PUT,
				  .key = S("k"),
				  .value = S("") };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_PUT,
				  .key = S("k"),
				  .value = { big, sizeof(big) },
				  .name = S("pg"),
				  .token = 7 };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_DELETE, .key = S("k") };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_CAS,
				  .key = S("k"),
				  .value = S("v") };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_CAS,
				  .key = S("k"),
				  .value = S("v"),
				  .name = S("pg"),
				  .token = 2,
				  .revision = 9 };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_LEASE_ACQUIRE,
				  .name = S("p"),
				  .holder = S("h"),
				  .ttl_ms = SM_TTL_MAX_MS };
	c[i++] = (struct sm_cmd){ .type = SM_CMD_LEASE_FLOOR,
				  .name = S("pg"),
				  .token = UINT64_MAX };
	*n = i;
}

static bool same_str(struct sm_str a, struct sm_str b)
{
	return a.len == b.len && (a.len == 0 || !memcmp(a.p, b.p, a.len));
}

static void assert_same_cmd(const struct sm_cmd *a, const struct sm_cmd *b)
{
	ck_assert_uint_eq(a->type, b->type);
	ck_assert(same_str(a->name, b->name));
	ck_assert(same_str(a->holder, b->holder));
	ck_assert(same_str(a->key, b->key));
	ck_assert(same_str(a->value, b->value));
	ck_assert_uint_eq(a->token, b->token);
	ck_assert_uint_eq(a->ttl_ms, b->ttl_ms);
	ck_assert_uint_eq(a->revision, b->revision);
}

START_TEST(test_cmd_round_trip)
{
	struct sm_cmd cmds[N_SAMPLE_CMDS], out;
	struct wire_writer w;
	const char *why = "unset";
	int n;

	sample_cmds(cmds, &n);
	wire_writer_init(&w);
	for (int i = 0; i < n; i++) {
		wire_writer_reset(&w);
		ck_assert(sm_cmd_encode(&w, &cmds[i]));
		ck_assert_uint_eq(w.buf[0], 1); /* format version */
		ck_assert_uint_eq(w.buf[1], cmds[i].type);
		ck_assert_int_eq(sm_cmd_decode(w.buf, w.len, &out, &why), 0);
		ck_assert_ptr_null(why);
		assert_same_cmd(&cmds[i], &out);
	}
	wire_writer_free(&w);
}
END_TEST

/* Every proper prefix of every command is rejected by the decoder, and by
 * sm_apply as SM_INVALID without touching the state; so is any extra byte
 * at the end. */
START_TEST(test_cmd_every_truncation_rejected)
{
	struct sm_cmd cmds[N_SAMPLE_CMDS], out;
	struct wire_writer w, before, after;
	const char *why;
	struct t t;
	int n;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "pg", "node-1", 1000), SM_OK);
	ck_assert_int_eq(put(&t, "k", "v", "pg", 1), SM_OK);
	snap(t.sm, &before);
	sample_cmds(cmds, &n);
	wire_writer_init(&w);
	for (int i = 0; i < n; i++) {
		wire_writer_reset(&w);
		ck_assert(sm_cmd_encode(&w, &cmds[i]));
		/* Large values: every length near the ends, a stride between. */
		for (size_t len = 0; len < w.len;
		     len += (len > 64 && len + 64 < w.len) ? 97 : 1) {
			why = NULL;
			ck_assert_int_eq(sm_cmd_decode(w.buf, len, &out, &why),
					 -1);
			ck_assert_ptr_nonnull(why);
			ck_assert_uint_eq(out.type, 0); /* zeroed */
			if (len < 300 || len + 300 > w.len)
				ck_assert_int_eq(apply_raw(&t, w.buf, len),
						 SM_INVALID);
		}
		wire_put_u8(&w, 0);
		ck_assert_int_eq(sm_cmd_decode(w.buf, w.len, &out, &why), -1);
		ck_assert_int_eq(apply_raw(&t, w.buf, w.len), SM_INVALID);
		ck_assert_int_eq(t.nev, 0);
	}
	ck_assert_int_eq(sm_cmd_decode(NULL, 0, &out, NULL), -1);
	/* Nothing changed but the applied index. */
	snap(t.sm, &after);
	ck_assert_uint_eq(before.len, after.len);
	ck_assert_mem_eq(before.buf + 24, after.buf + 24, before.len - 28);
	ck_assert_uint_eq(sm_revision(t.sm), 2);
	wire_writer_free(&w);
	wire_writer_free(&before);
	wire_writer_free(&after);
	t_fini(&t);
}
END_TEST

/* Commands the encoder refuses (it checks what the decoder checks). */
START_TEST(test_cmd_encode_refuses_invalid)
{
	static char big[SM_VALUE_MAX + 1];
	static char longkey[SM_KEY_MAX + 1];
	static char longholder[SM_HOLDER_MAX + 1];
	const struct sm_cmd bad[] = {
		{ .type = 0, .key = S("k") },
		{ .type = SM_CMD_LEASE_FLOOR + 1, .key = S("k") },
		/* acquire */
		{ .type = SM_CMD_LEASE_ACQUIRE,
		  .holder = S("h"),
		  .ttl_ms = 1000 },
		{ .type = SM_CMD_LEASE_ACQUIRE,
		  .name = S("n"),
		  .ttl_ms = 1000 },
		{ .type = SM_CMD_LEASE_ACQUIRE,
		  .name = S("n"),
		  .holder = S("h"),
		  .ttl_ms = SM_TTL_MIN_MS - 1 },
		{ .type = SM_CMD_LEASE_ACQUIRE,
		  .name = S("n"),
		  .holder = S("h"),
		  .ttl_ms = SM_TTL_MAX_MS + 1ull },
		{ .type = SM_CMD_LEASE_ACQUIRE,
		  .name = { longkey, SM_KEY_MAX + 1 },
		  .holder = S("h"),
		  .ttl_ms = 1000 },
		{ .type = SM_CMD_LEASE_ACQUIRE,
		  .name = S("n"),
		  .holder = { longholder, SM_HOLDER_MAX + 1 },
		  .ttl_ms = 1000 },
		{ .type = SM_CMD_LEASE_ACQUIRE,
		  .name = S("n"),
		  .holder = S("h"),
		  .ttl_ms = 1000,
		  .token = 1 },
		{ .type = SM_CMD_LEASE_ACQUIRE,
		  .name = S("n"),
		  .holder = S("h"),
		  .ttl_ms = 1000,
		  .key = S("k") },
		/* renew, release, expire */
		{ .type = SM_CMD_LEASE_RENEW,
		  .name = S("n"),
		  .holder = S("h") },
		{ .type = SM_CMD_LEASE_RENEW,
		  .name = S("n"),
		  .holder = S("h"),
		  .token = 1,
		  .ttl_ms = 1000 },
		{ .type = SM_CMD_LEASE_RELEASE, .name = S("n"), .token = 1 },
		{ .type = SM_CMD_LEASE_RELEASE,
		  .name = S("n"),
		  .holder = S("h"),
		  .token = 1,
		  .revision = 3 },
		{ .type = SM_CMD_LEASE_EXPIRE, .name = S("n"), .token = 1 },
		{ .type = SM_CMD_LEASE_EXPIRE, .name = S("n"), .revision = 1 },
		{ .type = SM_CMD_LEASE_EXPIRE,
		  .name = S("n"),
		  .token = 1,
		  .revision = 1,
		  .holder = S("h") },
		/* put, delete, cas */
		{ .type = SM_CMD_PUT, .value = S("v") },
		{ .type = SM_CMD_PUT, .key = { longkey, SM_KEY_MAX + 1 } },
		{ .type = SM_CMD_PUT,
		  .key = S("k"),
		  .value = { big, SM_VALUE_MAX + 1 } },
		{ .type = SM_CMD_PUT, .key = S("k"), .name = S("pg") },
		{ .type = SM_CMD_PUT, .key = S("k"), .token = 1 },
		{ .type = SM_CMD_PUT, .key = S("k"), .holder = S("h") },
		{ .type = SM_CMD_PUT, .key = S("k"), .revision = 1 },
		{ .type = SM_CMD_PUT, .key = S("k"), .ttl_ms = 1000 },
		{ .type = SM_CMD_DELETE },
		{ .type = SM_CMD_DELETE, .key = S("k"), .value = S("v") },
		{ .type = SM_CMD_DELETE,
		  .key = S("k"),
		  .name = S("pg"),
		  .token = 1 },
		{ .type = SM_CMD_CAS, .key = S("k"), .name = S("pg") },
		{ .type = SM_CMD_CAS, .key = S("k"), .holder = S("h") },
		{ .type = SM_CMD_CAS, .key = { NULL, 3 } },
	};
	struct wire_writer w;

	wire_writer_init(&w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wire_writer_reset(&w);
		ck_assert_msg(!sm_cmd_encode(&w, &bad[i]), "bad[%zu] encoded",
			      i);
		ck_assert_uint_eq(w.len, 0);
	}
	wire_writer_free(&w);
}
END_TEST

/* Hand-made encodings the decoder (and so sm_apply) must reject: the
 * field checks hold even when the encoder was bypassed. */
static void put_str(struct wire_writer *w, const char *s)
{
	wire_put_blob(w, s, strlen(s));
}

static void expect_invalid(struct wire_writer *w, const char *what)
{
	struct sm_cmd out;
	const char *why = NULL;
	struct t t;

	ck_assert_msg(!w->failed, "%s: writer failed", what);
	ck_assert_msg(sm_cmd_decode(w->buf, w->len, &out, &why) == -1,
		      "%s: decoded", what);
	ck_assert_ptr_nonnull(why);
	t_init(&t);
	ck_assert_int_eq(apply_raw(&t, w->buf, w->len), SM_INVALID);
	ck_assert_uint_eq(sm_lease_count(t.sm) + sm_key_count(t.sm), 0);
	t_fini(&t);
	wire_writer_reset(w);
}

/* A version or type this binary does not know: the decoder says so, and
 * sm_apply applies nothing, not even the index (the node stops there). */
static void expect_unknown(struct wire_writer *w, const char *what)
{
	struct sm_cmd out;
	const char *why = NULL;
	struct t t;

	ck_assert_msg(!w->failed, "%s: writer failed", what);
	ck_assert_msg(sm_cmd_decode(w->buf, w->len, &out, &why) ==
			      SM_CMD_UNKNOWN,
		      "%s: not unknown", what);
	ck_assert_ptr_nonnull(why);
	t_init(&t);
	ck_assert_int_eq(sm_apply(t.sm, 1, w->buf, w->len, &t.res, NULL, NULL),
			 SM_APPLY_UNKNOWN);
	ck_assert_uint_eq(sm_applied_index(t.sm), 0);
	ck_assert_uint_eq(sm_revision(t.sm), 0);
	t_fini(&t);
	wire_writer_reset(w);
}

static void header(struct wire_writer *w, uint8_t version, uint8_t type)
{
	wire_put_u8(w, version);
	wire_put_u8(w, type);
}

START_TEST(test_cmd_decode_rejects_bad_fields)
{
	static char big[SM_VALUE_MAX + 1];
	struct wire_writer w;

	wire_writer_init(&w);
	header(&w, 0, SM_CMD_DELETE);
	put_str(&w, "k");
	expect_unknown(&w, "version 0");
	header(&w, 2, SM_CMD_DELETE);
	put_str(&w, "k");
	expect_unknown(&w, "version 2");
	header(&w, 1, 0);
	put_str(&w, "k");
	expect_unknown(&w, "type 0");
	header(&w, 1, SM_CMD_LEASE_FLOOR + 1);
	put_str(&w, "k");
	expect_unknown(&w, "type 9");
	wire_put_u8(&w, 1);
	expect_invalid(&w, "version 1, no type (truncated)");
	header(&w, 1, SM_CMD_DELETE);
	put_str(&w, "");
	expect_invalid(&w, "empty key");
	header(&w, 1, SM_CMD_DELETE);
	wire_put_u32(&w, 0xffffffffu);
	expect_invalid(&w, "huge length");
	header(&w, 1, SM_CMD_DELETE);
	wire_put_blob(&w, big, SM_KEY_MAX + 1);
	expect_invalid(&w, "key too long");
	header(&w, 1, SM_CMD_PUT);
	put_str(&w, "k");
	wire_put_blob(&w, big, SM_VALUE_MAX + 1);
	put_str(&w, "");
	wire_put_u64(&w, 0);
	expect_invalid(&w, "value too long");
	header(&w, 1, SM_CMD_PUT);
	put_str(&w, "k");
	put_str(&w, "v");
	put_str(&w, "pg");
	wire_put_u64(&w, 0);
	expect_invalid(&w, "lease without token");
	header(&w, 1, SM_CMD_PUT);
	put_str(&w, "k");
	put_str(&w, "v");
	put_str(&w, "");
	wire_put_u64(&w, 5);
	expect_invalid(&w, "token without lease");
	header(&w, 1, SM_CMD_LEASE_ACQUIRE);
	put_str(&w, "pg");
	put_str(&w, "h");
	wire_put_u64(&w, SM_TTL_MIN_MS - 1);
	expect_invalid(&w, "ttl too short");
	header(&w, 1, SM_CMD_LEASE_ACQUIRE);
	put_str(&w, "pg");
	put_str(&w, "h");
	wire_put_u64(&w, (uint64_t)SM_TTL_MAX_MS + 1);
	expect_invalid(&w, "ttl too long");
	header(&w, 1, SM_CMD_LEASE_ACQUIRE);
	put_str(&w, "pg");
	put_str(&w, "");
	wire_put_u64(&w, 1000);
	expect_invalid(&w, "empty holder");
	header(&w, 1, SM_CMD_LEASE_ACQUIRE);
	put_str(&w, "pg");
	wire_put_blob(&w, big, SM_HOLDER_MAX + 1);
	wire_put_u64(&w, 1000);
	expect_invalid(&w, "holder too long");
	header(&w, 1, SM_CMD_LEASE_RENEW);
	put_str(&w, "pg");
	put_str(&w, "h");
	wire_put_u64(&w, 0);
	expect_invalid(&w, "renew token 0");
	header(&w, 1, SM_CMD_LEASE_RELEASE);
	put_str(&w, "");
	put_str(&w, "h");
	wire_put_u64(&w, 1);
	expect_invalid(&w, "release empty name");
	header(&w, 1, SM_CMD_LEASE_EXPIRE);
	put_str(&w, "pg");
	wire_put_u64(&w, 1);
	wire_put_u64(&w, 0);
	expect_invalid(&w, "expire renew revision 0");
	header(&w, 1, SM_CMD_LEASE_EXPIRE);
	put_str(&w, "pg");
	wire_put_u64(&w, 0);
	wire_put_u64(&w, 1);
	expect_invalid(&w, "expire token 0");
	wire_writer_free(&w);
}
END_TEST

/* ---- snapshots ---------------------------------------------------------- */

/* A state with every kind of thing in it. */
static void build_state(struct t *t)
{
	ck_assert_int_eq(acquire(t, "pg", "node-1", 5000), SM_OK);   /* 1 */
	ck_assert_int_eq(acquire(t, "free", "node-2", 1000), SM_OK); /* 2 */
	ck_assert_int_eq(release(t, "free", "node-2", 2), SM_OK);
	ck_assert_int_eq(acquire(t, "aux", "node-3", 100), SM_OK); /* 4 */
	ck_assert_int_eq(renew(t, "pg", "node-1", 1), SM_OK);
	ck_assert_int_eq(put(t, "leader", "node-1", "pg", 1), SM_OK);
	ck_assert_int_eq(put(t, "config", "{}", NULL, 0), SM_OK);
	ck_assert_int_eq(put(t, "empty", "", NULL, 0), SM_OK);
	ck_assert_int_eq(put(t, "aux/1", "x", "aux", 4), SM_OK);
	ck_assert_int_eq(put(t, "config", "{1}", NULL, 0), SM_OK);
	sm_skip(t->sm, t->index++);
}

static bool same_lease_in(void *arg, const struct sm_lease *l)
{
	struct sm_lease o;

	ck_assert(sm_lease_get(arg, l->name.p, l->name.len, &o));
	ck_assert(same_str(l->holder, o.holder));
	ck_assert_uint_eq(l->token, o.token);
	ck_assert_uint_eq(l->ttl_ms, o.ttl_ms);
	ck_assert_uint_eq(l->renew_revision, o.renew_revision);
	return true;
}

static bool same_key_in(void *arg, const struct sm_key *k)
{
	struct sm_key o;

	ck_assert(sm_key_get(arg, k->key.p, k->key.len, &o));
	ck_assert(same_str(k->value, o.value));
	ck_assert(same_str(k->lease, o.lease));
	ck_assert_uint_eq(k->create_revision, o.create_revision);
	ck_assert_uint_eq(k->mod_revision, o.mod_revision);
	return true;
}

START_TEST(test_snapshot_round_trip)
{
	struct t a, b;
	struct wire_writer w;
	const char *why = "unset";

	t_init(&a);
	t_init(&b);
	build_state(&a);
	ck_assert_int_eq(put(&b, "other", "state", NULL, 0), SM_OK);
	snap(a.sm, &w);
	ck_assert_int_eq(sm_restore(b.sm, w.buf, w.len, &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_uint_eq(sm_applied_index(b.sm), sm_applied_index(a.sm));
	ck_assert_uint_eq(sm_revision(b.sm), sm_revision(a.sm));
	ck_assert_uint_eq(sm_lease_count(b.sm), 2); /* the freed one is gone */
	ck_assert_uint_eq(sm_key_count(b.sm), 4);
	ck_assert(!has_key(&b, "other"));
	sm_lease_each(a.sm, same_lease_in, b.sm);
	sm_key_each(a.sm, NULL, 0, same_key_in, b.sm);
	assert_same_state(a.sm, b.sm);
	/* Both go on alike, attachments included. */
	b.index = a.index;
	ck_assert_int_eq(release(&a, "pg", "node-1", 1), SM_OK);
	ck_assert_int_eq(release(&b, "pg", "node-1", 1), SM_OK);
	ck_assert_int_eq(b.nev, 2);
	check_event(&b, 1, SM_EV_DELETE, "leader");
	ck_assert_int_eq(expire(&a, "aux", 4, 4), SM_OK);
	ck_assert_int_eq(expire(&b, "aux", 4, 4), SM_OK);
	ck_assert_int_eq(b.nev, 2);
	assert_same_state(a.sm, b.sm);
	ck_assert_uint_eq(sm_key_count(b.sm), 2);
	wire_writer_free(&w);
	t_fini(&a);
	t_fini(&b);
}
END_TEST

START_TEST(test_snapshot_empty_and_appends)
{
	struct t a, b;
	struct wire_writer w;

	t_init(&a);
	t_init(&b);
	build_state(&b);
	/* A snapshot appended after other bytes covers only its own. */
	wire_writer_init(&w);
	wire_put_bytes(&w, "prefix", 6);
	ck_assert(sm_snapshot(a.sm, &w));
	ck_assert_int_eq(sm_restore(b.sm, w.buf + 6, w.len - 6, NULL), 0);
	ck_assert_uint_eq(sm_lease_count(b.sm) + sm_key_count(b.sm), 0);
	ck_assert_uint_eq(sm_applied_index(b.sm), 0);
	assert_same_state(a.sm, b.sm);
	wire_writer_free(&w);
	t_fini(&a);
	t_fini(&b);
}
END_TEST

/* Equal states reached by different histories (different junk keys put
 * and deleted in between, so the trees are shaped differently) give equal
 * bytes. */
START_TEST(test_snapshot_independent_of_history)
{
	struct t a, b;
	char key[16];

	t_init(&a);
	t_init(&b);
	for (int i = 1; i <= 200; i++) {
		if (i % 2) {
			snprintf(key, sizeof(key), "k%03d", (i * 37) % 200);
			ck_assert_int_eq(put(&a, key, "v", NULL, 0), SM_OK);
			ck_assert_int_eq(put(&b, key, "v", NULL, 0), SM_OK);
			continue;
		}
		snprintf(key, sizeof(key), "a%03d", i);
		ck_assert_int_eq(put(&a, key, "junk", NULL, 0), SM_OK);
		snprintf(key, sizeof(key), "z%03d", 200 - i);
		ck_assert_int_eq(put(&b, key, "junk", NULL, 0), SM_OK);
	}
	for (int i = 2; i <= 200; i += 2) {
		snprintf(key, sizeof(key), "a%03d", i);
		ck_assert_int_eq(del(&a, key), SM_OK);
		snprintf(key, sizeof(key), "z%03d", i - 2);
		ck_assert_int_eq(del(&b, key), SM_OK);
	}
	ck_assert_uint_eq(sm_key_count(a.sm), 100);
	assert_same_state(a.sm, b.sm);
	ck_assert_int_eq(sm_restore(b.sm, NULL, 0, NULL), -1);
	t_fini(&a);
	t_fini(&b);
}
END_TEST

/* Every truncation, every single-byte change and any extra byte are
 * rejected, and the machine restored into keeps its old state. */
START_TEST(test_snapshot_damage_rejected)
{
	struct t a, b;
	struct wire_writer w, before, after;
	unsigned char *copy;
	const char *why;
	static const unsigned char flips[] = { 0x01, 0x80, 0xff };

	t_init(&a);
	t_init(&b);
	build_state(&a);
	ck_assert_int_eq(put(&b, "mine", "v", NULL, 0), SM_OK);
	snap(a.sm, &w);
	snap(b.sm, &before);
	copy = malloc(w.len + 1);
	ck_assert_ptr_nonnull(copy);
	for (size_t len = 0; len < w.len; len++) {
		memcpy(copy, w.buf, len);
		why = NULL;
		ck_assert_int_eq(sm_restore(b.sm, copy, len, &why), -1);
		ck_assert_ptr_nonnull(why);
	}
	for (size_t i = 0; i < w.len; i++) {
		for (size_t f = 0; f < sizeof(flips); f++) {
			memcpy(copy, w.buf, w.len);
			copy[i] ^= flips[f];
			ck_assert_msg(sm_restore(b.sm, copy, w.len, NULL) == -1,
				      "byte %zu ^ %02x accepted", i, flips[f]);
		}
	}
	memcpy(copy, w.buf, w.len);
	copy[w.len] = 0;
	ck_assert_int_eq(sm_restore(b.sm, copy, w.len + 1, &why), -1);
	snap(b.sm, &after);
	ck_assert_uint_eq(before.len, after.len);
	ck_assert_mem_eq(before.buf, after.buf, before.len);
	ck_assert(has_key(&b, "mine"));
	/* And the intact copy still restores. */
	ck_assert_int_eq(sm_restore(b.sm, w.buf, w.len, NULL), 0);
	assert_same_state(a.sm, b.sm);
	free(copy);
	wire_writer_free(&w);
	wire_writer_free(&before);
	wire_writer_free(&after);
	t_fini(&a);
	t_fini(&b);
}
END_TEST

/* Snapshots with a valid checksum but impossible contents: built by hand
 * so that only the semantic checks can catch them. */
struct snapb {
	struct wire_writer w;
};

static void sb_header(struct snapb *s, uint64_t applied, uint64_t rev,
		      uint64_t nleases, uint64_t nkeys)
{
	wire_writer_init(&s->w);
	wire_put_u32(&s->w, 0x534d5354u);
	wire_put_u16(&s->w, 1);
	wire_put_u16(&s->w, 0);
	wire_put_u64(&s->w, applied);
	wire_put_u64(&s->w, rev);
	wire_put_u64(&s->w, nleases);
	wire_put_u64(&s->w, nkeys);
}

static void sb_lease(struct snapb *s, const char *name, const char *holder,
		     uint64_t token, uint64_t ttl, uint64_t rr)
{
	put_str(&s->w, name);
	put_str(&s->w, holder);
	wire_put_u64(&s->w, token);
	wire_put_u64(&s->w, ttl);
	wire_put_u64(&s->w, rr);
}

static void sb_key(struct snapb *s, const char *key, const char *lease,
		   uint64_t create, uint64_t mod)
{
	put_str(&s->w, key);
	put_str(&s->w, "v");
	put_str(&s->w, lease);
	wire_put_u64(&s->w, create);
	wire_put_u64(&s->w, mod);
}

/* Seals with the checksum and expects restore to say `ok`. */
static void sb_check(struct snapb *s, bool ok, const char *what)
{
	struct sm *sm = sm_new();
	const char *why = NULL;
	int rc;

	wire_put_u32(&s->w, crc32c(0, s->w.buf, s->w.len));
	rc = sm_restore(sm, s->w.buf, s->w.len, &why);
	ck_assert_msg(rc == (ok ? 0 : -1), "%s: rc %d (%s)", what, rc,
		      why ? why : "-");
	sm_free(sm);
	wire_writer_free(&s->w);
}

START_TEST(test_snapshot_semantic_checks)
{
	struct snapb s;

	sb_header(&s, 10, 9, 2, 1);
	sb_lease(&s, "a", "h", 1, 1000, 2);
	sb_lease(&s, "b", "", 3, 1000, 3);
	sb_key(&s, "k", "a", 4, 9);
	sb_check(&s, true, "valid");

	sb_header(&s, 10, 9, 2, 0);
	sb_lease(&s, "b", "h", 1, 1000, 2);
	sb_lease(&s, "a", "h", 3, 1000, 3);
	sb_check(&s, false, "leases out of order");
	sb_header(&s, 10, 9, 2, 0);
	sb_lease(&s, "a", "h", 1, 1000, 2);
	sb_lease(&s, "a", "h", 3, 1000, 3);
	sb_check(&s, false, "duplicate lease");
	sb_header(&s, 10, 9, 0, 2);
	sb_key(&s, "k", "", 1, 1);
	sb_key(&s, "k", "", 2, 2);
	sb_check(&s, false, "duplicate key");
	sb_header(&s, 10, 9, 0, 2);
	sb_key(&s, "k2", "", 1, 1);
	sb_key(&s, "k1", "", 2, 2);
	sb_check(&s, false, "keys out of order");
	sb_header(&s, 10, 9, 1, 1);
	sb_lease(&s, "a", "", 1, 1000, 2);
	sb_key(&s, "k", "a", 4, 9);
	sb_check(&s, false, "key on a free lease");
	sb_header(&s, 10, 9, 1, 1);
	sb_lease(&s, "a", "h", 1, 1000, 2);
	sb_key(&s, "k", "b", 4, 9);
	sb_check(&s, false, "key on a missing lease");
	sb_header(&s, 10, 11, 0, 0);
	sb_check(&s, false, "revision beyond applied");
	sb_header(&s, 10, 9, 1, 0);
	sb_lease(&s, "a", "h", 1, SM_TTL_MIN_MS - 1, 2);
	sb_check(&s, false, "ttl");
	sb_header(&s, 10, 9, 1, 0);
	sb_lease(&s, "a", "h", 0, 1000, 2);
	sb_check(&s, false, "token 0");
	sb_header(&s, 10, 9, 1, 0);
	sb_lease(&s, "a", "h", 30, 1000, 2);
	sb_check(&s, true, "token above the log: granted above a floor");
	sb_header(&s, 10, 9, 1, 0);
	sb_lease(&s, "a", "", 30, 0, 2);
	sb_check(&s, true, "a floor: free, no ttl");
	sb_header(&s, 10, 9, 1, 0);
	sb_lease(&s, "a", "h", 30, 0, 2);
	sb_check(&s, false, "held without a ttl");
	sb_header(&s, 10, 9, 1, 0);
	sb_lease(&s, "a", "", 3, 0, 0);
	sb_check(&s, false, "renew revision 0");
	sb_header(&s, 10, 9, 1, 0);
	sb_lease(&s, "a", "h", 3, 1000, 10);
	sb_check(&s, false, "renewed after the revision");
	sb_header(&s, 10, 9, 1, 0);
	sb_lease(&s, "", "h", 3, 1000, 3);
	sb_check(&s, false, "empty lease name");
	sb_header(&s, 10, 9, 0, 1);
	sb_key(&s, "k", "", 5, 4);
	sb_check(&s, false, "created after modified");
	sb_header(&s, 10, 9, 0, 1);
	sb_key(&s, "k", "", 0, 4);
	sb_check(&s, false, "created at 0");
	sb_header(&s, 10, 9, 0, 1);
	sb_key(&s, "k", "", 1, 10);
	sb_check(&s, false, "modified after the revision");
	sb_header(&s, 10, 9, 0, 1);
	sb_key(&s, "", "", 1, 1);
	sb_check(&s, false, "empty key");
	sb_header(&s, 10, 9, 1000000, 0);
	sb_check(&s, false, "lease count larger than the bytes");
	sb_header(&s, 10, 9, 0, UINT64_MAX);
	sb_check(&s, false, "key count larger than the bytes");
	sb_header(&s, 10, 9, 0, 0);
	wire_put_u8(&s.w, 0);
	sb_check(&s, false, "trailing byte");
	sb_header(&s, 10, 9, 0, 0);
	s.w.buf[4] = 2;
	sb_check(&s, false, "version 2");
	sb_header(&s, 10, 9, 0, 0);
	s.w.buf[6] = 1;
	sb_check(&s, false, "flags");
	sb_header(&s, 10, 9, 0, 0);
	s.w.buf[0] = 'X';
	sb_check(&s, false, "magic");
}
END_TEST

/* ---- randomized: restored machines end identical ------------------------ */

static const char *const r_names[] = { "l0", "l1", "l2", "l3" };
static const char *const r_holders[] = { "h0", "h1", "h2" };
static const char *const r_keys[] = { "k/a", "k/b",   "k/c", "k/d",
				      "k",   "k/a/x", "z" };
#define PICK(arr, x) ((arr)[xorshift(x) % (sizeof(arr) / sizeof((arr)[0]))])

/* A lease's token now and then right (from the state), else a near miss,
 * so that every status comes up often. */
static uint64_t r_token(struct sm *sm, const char *name, uint64_t *x)
{
	struct sm_lease l;

	if (!sm_lease_get(sm, name, strlen(name), &l) || xorshift(x) % 4 == 0)
		return 1 + xorshift(x) % 8;
	return l.token;
}

static void r_cmd(struct sm *sm, uint64_t *x, struct sm_cmd *c)
{
	struct sm_lease l;
	struct sm_key k;
	uint64_t r = xorshift(x);

	memset(c, 0, sizeof(*c));
	c->type = (uint8_t)(1 + r % 8);
	switch (c->type) {
	case SM_CMD_LEASE_ACQUIRE:
		c->name = S(PICK(r_names, x));
		c->holder = S(PICK(r_holders, x));
		c->ttl_ms = 100 + xorshift(x) % 10000;
		break;
	case SM_CMD_LEASE_RENEW:
	case SM_CMD_LEASE_RELEASE:
		c->name = S(PICK(r_names, x));
		c->holder = S(PICK(r_holders, x));
		c->token = r_token(sm, c->name.p, x);
		break;
	case SM_CMD_LEASE_EXPIRE:
		c->name = S(PICK(r_names, x));
		c->token = r_token(sm, c->name.p, x);
		c->revision = 1 + xorshift(x) % 50;
		if (sm_lease_get(sm, c->name.p, c->name.len, &l) &&
		    xorshift(x) % 2)
			c->revision = l.renew_revision;
		break;
	case SM_CMD_CAS:
		c->revision = xorshift(x) % 3 ? 0 : 1 + xorshift(x) % 50;
		/* fall through */
	case SM_CMD_PUT:
		c->key = S(PICK(r_keys, x));
		c->value = S(PICK(r_holders, x));
		if (xorshift(x) % 2) {
			c->name = S(PICK(r_names, x));
			c->token = r_token(sm, c->name.p, x);
		}
		if (c->type == SM_CMD_CAS && xorshift(x) % 2 &&
		    sm_key_get(sm, c->key.p, c->key.len, &k))
			c->revision = k.mod_revision;
		break;
	case SM_CMD_DELETE:
		c->key = S(PICK(r_keys, x));
		break;
	case SM_CMD_LEASE_FLOOR:
		/* Sometimes far above the log (a moved scope's), else below. */
		c->name = S(PICK(r_names, x));
		c->token = 1 + xorshift(x) % (xorshift(x) % 2 ? 100000 : 50);
		break;
	}
}

/* The scope counters against a count from scratch (tiny states only). */
struct brute {
	char name[64];
	uint64_t keys, bytes, leases;
};

static struct brute *brute_at(struct brute *b, int *n, struct sm_str name)
{
	size_t len = sm_scope_len(name.p, name.len);

	if (len == 0)
		return NULL;
	for (int i = 0; i < *n; i++)
		if (strlen(b[i].name) == len && !memcmp(b[i].name, name.p, len))
			return &b[i];
	REQUIRE(*n < 16 && len < 64);
	memset(&b[*n], 0, sizeof(b[*n]));
	memcpy(b[*n].name, name.p, len);
	return &b[(*n)++];
}

struct brute_all {
	struct brute b[16];
	int n;
};

static bool brute_key(void *arg, const struct sm_key *k)
{
	struct brute_all *all = arg;
	struct brute *b = brute_at(all->b, &all->n, k->key);

	if (b) {
		b->keys++;
		b->bytes += k->key.len + k->value.len;
	}
	return true;
}

static bool brute_lease(void *arg, const struct sm_lease *l)
{
	struct brute_all *all = arg;
	struct brute *b = brute_at(all->b, &all->n, l->name);

	if (b)
		b->leases++;
	return true;
}

static void assert_scopes_counted(const struct sm *sm)
{
	struct brute_all all = { .n = 0 };
	struct sm_scope sc;

	sm_key_each(sm, NULL, 0, brute_key, &all);
	sm_lease_each(sm, brute_lease, &all);
	REQUIRE(sm_scope_count(sm) == (size_t)all.n);
	for (int i = 0; i < all.n; i++) {
		REQUIRE(sm_scope_get(sm, all.b[i].name, strlen(all.b[i].name),
				     &sc));
		REQUIRE(sc.keys == all.b[i].keys);
		REQUIRE(sc.bytes == all.b[i].bytes);
		REQUIRE(sc.leases == all.b[i].leases);
	}
}

/* Invariants after every step: attached keys sit on held leases. */
static bool key_lease_held(void *arg, const struct sm_key *k)
{
	struct sm_lease l;

	if (k->lease.len == 0)
		return true;
	REQUIRE(sm_lease_get(arg, k->lease.p, k->lease.len, &l));
	REQUIRE(l.holder.len > 0);
	return true;
}

/* Applies the same log to three machines: `a` straight through, `b`
 * restored from a's snapshot at random points (after having drifted on
 * its own), `c` restored from a snapshot of a snapshot.  After every step
 * each result and event sequence must agree, and at the end the states. */
START_TEST(test_random_restore_converges)
{
	struct t a, b;
	uint64_t x = 0x9e3779b97f4a7c15ull + (uint64_t)_i;
	uint64_t last_token[4] = { 0 };
	int counts[SM_INVALID + 1] = { 0 };
	struct wire_writer w, enc;
	const int steps = 4000;

	t_init(&a);
	t_init(&b);
	wire_writer_init(&w);
	wire_writer_init(&enc);
	for (int step = 0; step < steps; step++) {
		struct sm_cmd c;
		int sa, sb;

		if (step % 997 == 500) {
			/* b drifts, then is brought back by a snapshot. */
			ck_assert_int_eq(put(&b, "drift", "x", NULL, 0), SM_OK);
			wire_writer_reset(&w);
			ck_assert(sm_snapshot(a.sm, &w));
			ck_assert_int_eq(sm_restore(b.sm, w.buf, w.len, NULL),
					 0);
			b.index = a.index;
			assert_same_state(a.sm, b.sm);
		}
		if (xorshift(&x) % 50 == 0) {
			sm_skip(a.sm, a.index++);
			sm_skip(b.sm, b.index++);
			continue;
		}
		r_cmd(a.sm, &x, &c);
		wire_writer_reset(&enc);
		REQUIRE(sm_cmd_encode(&enc, &c));
		if (xorshift(&x) % 40 == 0) /* a damaged entry */
			enc.len = xorshift(&x) % enc.len;
		sa = apply_raw(&a, enc.buf, enc.len);
		sb = apply_raw(&b, enc.buf, enc.len);
		REQUIRE(sa == sb);
		counts[sa]++;
		REQUIRE(a.nev == b.nev);
		for (int i = 0; i < a.nev; i++) {
			REQUIRE(a.ev[i].type == b.ev[i].type);
			REQUIRE(a.ev[i].revision == b.ev[i].revision);
			REQUIRE(!strcmp(a.ev[i].name, b.ev[i].name));
			REQUIRE(!strcmp(a.ev[i].holder, b.ev[i].holder));
			if (a.ev[i].type == SM_EV_GRANT) {
				int li = a.ev[i].name[1] - '0';
				REQUIRE(a.ev[i].token > last_token[li]);
				last_token[li] = a.ev[i].token;
			}
		}
		sm_key_each(a.sm, NULL, 0, key_lease_held, a.sm);
		assert_scopes_counted(a.sm);
	}
	assert_same_state(a.sm, b.sm);
	/* Every status came up (the log is rich enough to mean something). */
	for (int st = SM_OK; st <= SM_INVALID; st++)
		ck_assert_msg(counts[st] > 0, "status %s never seen",
			      sm_status_name(st));
	wire_writer_free(&w);
	wire_writer_free(&enc);
	t_fini(&a);
	t_fini(&b);
}
END_TEST

/* ---- load --------------------------------------------------------------- */

/* 10,000 leases, each with a key, renewed ten times: must run in well
 * under a second (measured by hand, not asserted; see the report). */
START_TEST(test_ten_thousand_leases)
{
	enum {
		N = 10000,
		ROUNDS = 10
	};
	struct t t;
	char name[32], key[32];
	uint64_t *tokens = calloc(N, sizeof(*tokens));
	struct wire_writer w;

	ck_assert_ptr_nonnull(tokens);
	t_init(&t);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "lease-%05d", (i * 7919) % N);
		REQUIRE(acquire(&t, name, "agent", 10000) == SM_OK);
		tokens[(i * 7919) % N] = t.res.lease.token;
		snprintf(key, sizeof(key), "member/%05d", (i * 7919) % N);
		REQUIRE(put(&t, key, "up", name, t.res.lease.token) == SM_OK);
	}
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < N; i++) {
			snprintf(name, sizeof(name), "lease-%05d", i);
			REQUIRE(renew(&t, name, "agent", tokens[i]) == SM_OK);
		}
	}
	ck_assert_uint_eq(sm_lease_count(t.sm), N);
	ck_assert_uint_eq(sm_key_count(t.sm), N);
	/* Expire half: their keys go with them. */
	for (int i = 0; i < N; i += 2) {
		struct sm_lease l;
		snprintf(name, sizeof(name), "lease-%05d", i);
		REQUIRE(sm_lease_get(t.sm, name, strlen(name), &l));
		REQUIRE(expire(&t, name, l.token, l.renew_revision) == SM_OK);
		REQUIRE(t.nev == 2);
	}
	ck_assert_uint_eq(sm_key_count(t.sm), N / 2);
	snap(t.sm, &w);
	{
		struct sm *copy = sm_new();
		ck_assert_int_eq(sm_restore(copy, w.buf, w.len, NULL), 0);
		assert_same_state(t.sm, copy);
		sm_free(copy);
	}
	wire_writer_free(&w);
	free(tokens);
	t_fini(&t);
}
END_TEST

/* ---- scope limits ------------------------------------------------------- */

static struct sm_scope scope(struct t *t, const char *name)
{
	struct sm_scope sc;

	memset(&sc, 0, sizeof(sc));
	sm_scope_get(t->sm, name, strlen(name), &sc);
	return sc;
}

START_TEST(test_scope_of_names)
{
	ck_assert_uint_eq(sm_scope_len("main/primary", 12), 4);
	ck_assert_uint_eq(sm_scope_len("main/a/b", 8), 4);
	ck_assert_uint_eq(sm_scope_len("main", 4), 0);  /* no '/' */
	ck_assert_uint_eq(sm_scope_len("/main", 5), 0); /* empty scope */
	ck_assert_uint_eq(sm_scope_len("", 0), 0);
}
END_TEST

/* Keys count their key and value bytes; a lease's attached keys go with
 * it; a scope is gone when empty. */
START_TEST(test_scope_counts_keys_and_leases)
{
	struct t t;
	uint64_t token;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "main/primary", "a", 5000), SM_OK);
	token = t.res.lease.token;
	ck_assert_int_eq(put(&t, "main/members/a", "x", "main/primary", token),
			 SM_OK);
	ck_assert_int_eq(put(&t, "main/k", "0123456789", NULL, 0), SM_OK);
	ck_assert_uint_eq(scope(&t, "main").keys, 2);
	ck_assert_uint_eq(scope(&t, "main").bytes, 15 + 16);
	ck_assert_uint_eq(scope(&t, "main").leases, 1);
	ck_assert_int_eq(put(&t, "main/k", "", NULL, 0), SM_OK);
	ck_assert_uint_eq(scope(&t, "main").bytes, 15 + 6);
	ck_assert_int_eq(put(&t, "noscope", "1", NULL, 0), SM_OK);
	ck_assert_uint_eq(sm_scope_count(t.sm), 1);
	ck_assert_int_eq(release(&t, "main/primary", "a", token), SM_OK);
	ck_assert_uint_eq(scope(&t, "main").keys, 1);
	ck_assert_uint_eq(scope(&t, "main").leases, 0);
	ck_assert_int_eq(del(&t, "main/k"), SM_OK);
	ck_assert(!sm_scope_get(t.sm, "main", 4, NULL));
	t_fini(&t);
}
END_TEST

/* A floor that makes a free lease counts it in its scope, so that the
 * lease's grant and its removal later keep the count right (a count
 * going below zero stops the witness). */
START_TEST(test_floor_lease_counts_in_scope)
{
	struct t t;
	struct wire_writer w;
	struct sm *copy = sm_new();
	char live[4096], restored[4096];

	t_init(&t);
	ck_assert_int_eq(put(&t, "main/config", "{}", NULL, 0), SM_OK);
	ck_assert_int_eq(floor_lease(&t, "main/primary", 1), SM_OK);
	ck_assert_uint_eq(scope(&t, "main").leases, 1);
	/* Counted as a restore counts it. */
	scopes_of(t.sm, live);
	snap(t.sm, &w);
	ck_assert_int_eq(sm_restore(copy, w.buf, w.len, NULL), 0);
	scopes_of(copy, restored);
	ck_assert_str_eq(live, restored);
	/* Granted (no new lease), then released and removed. */
	ck_assert_int_eq(acquire(&t, "main/primary", "a", 5000), SM_OK);
	ck_assert_uint_eq(scope(&t, "main").leases, 1);
	ck_assert_int_eq(release(&t, "main/primary", "a", t.res.lease.token),
			 SM_OK);
	ck_assert(!sm_lease_get(t.sm, "main/primary", 12, NULL));
	ck_assert_uint_eq(scope(&t, "main").leases, 0);
	ck_assert_uint_eq(scope(&t, "main").keys, 1);
	wire_writer_free(&w);
	sm_free(copy);
	t_fini(&t);
}
END_TEST

/* The counters are not in the snapshot: a restore counts them again. */
START_TEST(test_scope_counters_rebuilt_after_restore)
{
	struct t t;
	struct wire_writer w;
	struct sm *copy = sm_new();
	char before[4096], after[4096];
	uint64_t token;

	t_init(&t);
	ck_assert_int_eq(acquire(&t, "main/primary", "a", 5000), SM_OK);
	token = t.res.lease.token;
	ck_assert_int_eq(put(&t, "main/leader", "node-1", "main/primary",
			     token),
			 SM_OK);
	ck_assert_int_eq(put(&t, "main/config", "{}", NULL, 0), SM_OK);
	ck_assert_int_eq(put(&t, "b/x", "1234", NULL, 0), SM_OK);
	ck_assert_int_eq(acquire(&t, "c/only-a-lease", "a", 5000), SM_OK);
	ck_assert_int_eq(put(&t, "top", "no scope", NULL, 0), SM_OK);
	ck_assert_int_eq(put(&t, "gone/x", "1", NULL, 0), SM_OK);
	ck_assert_int_eq(del(&t, "gone/x"), SM_OK);
	scopes_of(t.sm, before);
	ck_assert_str_eq(before, "b 1 7 0;c 0 0 1;main 2 30 1;");
	snap(t.sm, &w);
	/* Counters the copy had before are replaced, not added to. */
	{
		struct t junk = { .sm = copy, .index = 1 };
		ck_assert_int_eq(put(&junk, "main/junk", "x", NULL, 0), SM_OK);
	}
	ck_assert_int_eq(sm_restore(copy, w.buf, w.len, NULL), 0);
	scopes_of(copy, after);
	ck_assert_str_eq(after, before);
	/* And the restored machine goes on counting. */
	{
		struct t r = t;
		r.sm = copy;
		ck_assert_int_eq(put(&r, "main/x", "1", NULL, 0), SM_OK);
		ck_assert_uint_eq(scope(&r, "main").keys, 3);
		ck_assert_int_eq(expire(&r, "main/primary", token, token),
				 SM_OK);
		ck_assert_uint_eq(scope(&r, "main").keys, 2);
	}
	wire_writer_free(&w);
	sm_free(copy);
	t_fini(&t);
}
END_TEST

Suite *sm_suite(void)
{
	Suite *s = suite_create("sm");
	TCase *lease = tcase_create("lease");
	TCase *key = tcase_create("key");
	TCase *cmd = tcase_create("cmd");
	TCase *snapshot = tcase_create("snapshot");
	TCase *random = tcase_create("random");

	tcase_add_test(lease, test_acquire_grants_then_held);
	tcase_add_test(lease, test_reacquire_by_holder_is_renewal);
	tcase_add_test(lease, test_renew);
	tcase_add_test(lease, test_release);
	tcase_add_test(lease, test_tokens_strictly_increase);
	tcase_add_test(lease, test_freed_leases_removed_tokens_still_increase);
	tcase_add_test(lease, test_floor_lifts_grants_above_it);
	tcase_add_test(lease, test_floor_survives_snapshot);
	tcase_add_test(lease, test_expire);
	tcase_add_test(lease, test_expire_loses_race_with_renewal);
	tcase_add_test(lease, test_release_deletes_attached_keys);
	tcase_add_test(lease, test_expire_deletes_attached_keys);
	tcase_add_test(key, test_put);
	tcase_add_test(key, test_put_needs_held_lease_and_its_token);
	tcase_add_test(key, test_put_moves_key_between_leases);
	tcase_add_test(key, test_delete);
	tcase_add_test(key, test_cas);
	tcase_add_test(key, test_revisions_and_skip);
	tcase_add_test(key, test_status_names);
	tcase_add_test(key, test_key_each_prefix);
	tcase_add_test(key, test_key_each_matches_brute_force);
	tcase_add_test(key, test_lease_each_in_order);
	tcase_add_test(key, test_scope_of_names);
	tcase_add_test(key, test_scope_counts_keys_and_leases);
	tcase_add_test(lease, test_floor_lease_counts_in_scope);
	tcase_add_test(snapshot, test_scope_counters_rebuilt_after_restore);
	tcase_add_test(cmd, test_cmd_round_trip);
	tcase_add_test(cmd, test_cmd_every_truncation_rejected);
	tcase_add_test(cmd, test_cmd_encode_refuses_invalid);
	tcase_add_test(cmd, test_cmd_decode_rejects_bad_fields);
	tcase_add_test(snapshot, test_snapshot_round_trip);
	tcase_add_test(snapshot, test_snapshot_empty_and_appends);
	tcase_add_test(snapshot, test_snapshot_independent_of_history);
	tcase_add_test(snapshot, test_snapshot_damage_rejected);
	tcase_add_test(snapshot, test_snapshot_semantic_checks);
	tcase_add_loop_test(random, test_random_restore_converges, 0, 4);
	tcase_add_test(random, test_ten_thousand_leases);
	tcase_set_timeout(snapshot, 60);
	tcase_set_timeout(random, 120);
	suite_add_tcase(s, lease);
	suite_add_tcase(s, key);
	suite_add_tcase(s, cmd);
	suite_add_tcase(s, snapshot);
	suite_add_tcase(s, random);
	return s;
}
