/*
 * lincheck.c — Wing–Gong/Lowe linearizability search with memoisation over
 * per-object partitions of a history (contract in lincheck.h).
 *
 * The search keeps the history as a time-ordered doubly linked list of call
 * and return events.  It walks the list from the front: at a call it tries
 * to linearize that operation now (the model must accept it and the pair
 * (linearized set, new state) must not have been explored before); at a
 * return it has met an operation that should already be linearized, so it
 * backtracks.  Unknown outcomes have no return event: they may be
 * linearized whenever their call is passed, or never, and the search ends
 * when every operation with a return event is linearized.
 *
 * Model steps may have several successor states (a silent lease expiry, a
 * retry shadow that did or did not run); the search tries them in turn.
 */
#include "tests/helpers/lincheck.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The witnesses count lease time in whole milliseconds (node_now_ms): a
 * countdown may start up to a millisecond before the apply it follows. */
#define LC_EXPIRY_SLACK_NS 2000000ull

/* ---- history ----------------------------------------------------------- */

void lc_op_init(struct lc_op *op)
{
	memset(op, 0, sizeof(*op));
	op->ret = LC_NEVER;
	op->status = LC_UNKNOWN;
	op->shadow_of = -1;
}

void lc_history_init(struct lc_history *h)
{
	memset(h, 0, sizeof(*h));
}

long lc_history_add(struct lc_history *h, const struct lc_op *op)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		struct lc_op *p = realloc(h->ops, cap * sizeof(*p));
		if (!p)
			return -1;
		h->ops = p;
		h->cap = cap;
	}
	h->ops[h->n] = *op;
	return (long)h->n++;
}

void lc_history_free(struct lc_history *h)
{
	free(h->ops);
	lc_history_init(h);
}

/* ---- formatting ---------------------------------------------------------- */

static const char *status_name(int s)
{
	static const char *names[] = {
		"ok", "held", "not-holder", "not-found", "compare-failed", "?"
	};
	return s >= 0 && s <= LC_UNKNOWN ? names[s] : "bad-status";
}

static int format_input(const struct lc_op *op, char *b, size_t len)
{
	const char *o = op->object;
	switch (op->type) {
	case LC_PUT:
		return snprintf(b, len, "put(%s, %s)", o, op->value);
	case LC_GET:
		return snprintf(b, len, "get(%s)", o);
	case LC_DELETE:
		return snprintf(b, len, "delete(%s)", o);
	case LC_CAS:
		return snprintf(b, len, "cas(%s, rev %llu, %s)", o,
				(unsigned long long)op->rev, op->value);
	case LC_ACQUIRE:
		return snprintf(b, len, "acquire(%s, %s, %llums)", o,
				op->holder, (unsigned long long)op->ttl_ms);
	case LC_RENEW:
	case LC_RELEASE:
		return snprintf(b, len, "%s(%s, %s, token %llu)",
				op->type == LC_RENEW ? "renew" : "release", o,
				op->holder, (unsigned long long)op->token);
	case LC_LEASE_GET:
		return snprintf(b, len, "lease-get(%s)", o);
	}
	return snprintf(b, len, "op%d(%s)", op->type, o);
}

static bool is_lease_type(int type)
{
	return type >= LC_ACQUIRE;
}

static void format_output(const struct lc_op *op, char *b, size_t len)
{
	if (op->status == LC_UNKNOWN || !op->present)
		snprintf(b, len, "%s", status_name(op->status));
	else if (is_lease_type(op->type))
		snprintf(b, len, "%s {%s, token %llu}", status_name(op->status),
			 op->out_holder[0] ? op->out_holder : "free",
			 (unsigned long long)op->out_token);
	else
		snprintf(b, len, "%s {%s, rev %llu}", status_name(op->status),
			 op->out_value, (unsigned long long)op->out_rev);
}

void lc_op_format(const struct lc_op *op, uint64_t t0, char *buf, size_t len)
{
	char in[160], out[160], ret[32];
	format_input(op, in, sizeof(in));
	format_output(op, out, sizeof(out));
	if (op->ret == LC_NEVER)
		snprintf(ret, sizeof(ret), "%9s", "never");
	else
		snprintf(ret, sizeof(ret), "%9.3f", (op->ret - t0) / 1e6);
	snprintf(buf, len, "c%-3d [%9.3f, %s ms] %s -> %s%s", op->client,
		 (op->call - t0) / 1e6, ret, in, out,
		 op->shadow_of >= 0 ? "  (earlier attempt, maybe run)" : "");
}

/* ---- a partition, prepared for the search --------------------------------- */

struct xop {
	const struct lc_op *src;
	int type, status;
	bool unknown;
	long parent;      /* local index of the answered attempt, or -1 */
	long prev_shadow; /* the previous shadow of the same parent, or -1 */
	uint64_t call, ret;
	int val, holder;         /* input ids */
	int out_val, out_holder; /* output ids; -1: free / none */
	bool present;
	uint64_t rev, token, ttl_ns, out_rev, out_token;
};

/* Model state; every field is 64-bit so that states compare and hash as
 * bytes without padding.  Key: a is the value id (-1 absent), x the mod
 * revision of that value (0 unknown), floor the highest revision written
 * so far, wfloor the floor when the current value was written.  Lease: a
 * is the holder id (-1 free), exists, x the token (0 unknown), floor the
 * highest granted token, wfloor the floor at the current grant, exp the
 * earliest time an expiry may happen, ttl_ns the lease's TTL. */
struct state {
	int64_t a, exists;
	uint64_t x, floor, wfloor, exp, ttl_ns;
};

struct revval {
	uint64_t rev;
	int val;
};

struct part {
	struct xop *ops;
	size_t n;
	char **strs; /* interned values and holders, sorted */
	size_t n_strs;
	struct revval *revs; /* key partitions: revision -> value */
	size_t n_revs;
	bool lease;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int intern(const struct part *p, const char *s)
{
	char **hit = bsearch(&s, p->strs, p->n_strs, sizeof(char *), cmp_str);
	return hit ? (int)(hit - p->strs) : -1;
}

static bool collect_strings(struct part *p, const struct lc_op *const *ops)
{
	p->strs = malloc(p->n * 4 * sizeof(char *) + 1);
	if (!p->strs)
		return false;
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		const char *c[4] = { ops[i]->value, ops[i]->holder,
				     ops[i]->out_value, ops[i]->out_holder };
		for (int j = 0; j < 4; j++)
			if (c[j][0])
				p->strs[k++] = (char *)c[j];
	}
	qsort(p->strs, k, sizeof(char *), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || strcmp(p->strs[u - 1], p->strs[i]))
			p->strs[u++] = p->strs[i];
	p->n_strs = u;
	return true;
}

static int cmp_revval(const void *a, const void *b)
{
	const struct revval *x = a, *y = b;
	return x->rev < y->rev ? -1 : x->rev > y->rev;
}

/* Every revision the history shows next to a value.  A revision is one log
 * entry, so it can name only one value: two values under one revision is a
 * violation on its own (*clash set). */
static bool collect_revs(struct part *p, FILE *out, bool *clash)
{
	p->revs = malloc((p->n + 1) * sizeof(*p->revs));
	if (!p->revs)
		return false;
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct xop *o = &p->ops[i];
		if (o->unknown || !o->present || !o->out_rev || o->out_val < 0)
			continue;
		p->revs[k].rev = o->out_rev;
		p->revs[k++].val = o->out_val;
	}
	qsort(p->revs, k, sizeof(*p->revs), cmp_revval);
	size_t u = 0;
	for (size_t i = 0; i < k; i++) {
		if (u && p->revs[u - 1].rev == p->revs[i].rev) {
			if (p->revs[u - 1].val != p->revs[i].val) {
				*clash = true;
				if (out)
					fprintf(out,
						"  revision %llu shows two "
						"values: %s and %s\n",
						(unsigned long long)p->revs[i]
							.rev,
						p->strs[p->revs[u - 1].val],
						p->strs[p->revs[i].val]);
			}
			continue;
		}
		p->revs[u++] = p->revs[i];
	}
	p->n_revs = u;
	return true;
}

static int rev_value(const struct part *p, uint64_t rev)
{
	struct revval key = { rev, 0 };
	struct revval *hit = bsearch(&key, p->revs, p->n_revs, sizeof(*p->revs),
				     cmp_revval);
	return hit ? hit->val : -2;
}

static void prepare_op(struct part *p, struct xop *x, const struct lc_op *o)
{
	memset(x, 0, sizeof(*x));
	x->src = o;
	x->type = o->type;
	x->status = o->status;
	x->unknown = o->status == LC_UNKNOWN;
	x->call = o->call;
	x->ret = x->unknown && o->shadow_of < 0 ? LC_NEVER : o->ret;
	x->parent = -1;
	x->val = intern(p, o->value);
	x->holder = intern(p, o->holder);
	x->out_val = intern(p, o->out_value);
	x->out_holder = intern(p, o->out_holder);
	x->present = o->present;
	x->rev = o->rev;
	x->token = o->token;
	x->ttl_ns = o->ttl_ms * 1000000ull;
	x->out_rev = o->out_rev;
	x->out_token = o->out_token;
}

/* Shadows of one attempt are identical: requiring them to be linearized in
 * order removes permutations that cannot differ (k shadows would otherwise
 * multiply the search by k!). */
static void link_shadows(struct part *p)
{
	for (size_t i = 0; i < p->n; i++) {
		p->ops[i].prev_shadow = -1;
		if (p->ops[i].parent < 0)
			continue;
		for (size_t j = i; j-- > 0;)
			if (p->ops[j].parent == p->ops[i].parent) {
				p->ops[i].prev_shadow = (long)j;
				break;
			}
	}
}

/* ops: the partition's operations; local[] maps a history index to the
 * local one (for shadows), or is NULL when there are none. */
static bool part_init(struct part *p, const struct lc_op *const *ops, size_t n,
		      const long *local, FILE *out, bool *clash)
{
	memset(p, 0, sizeof(*p));
	p->n = n;
	p->lease = n && is_lease_type(ops[0]->type);
	p->ops = calloc(n + 1, sizeof(*p->ops));
	if (!p->ops || !collect_strings(p, ops))
		return false;
	for (size_t i = 0; i < n; i++) {
		prepare_op(p, &p->ops[i], ops[i]);
		if (ops[i]->shadow_of >= 0 && local)
			p->ops[i].parent = local[ops[i]->shadow_of];
	}
	link_shadows(p);
	return p->lease || collect_revs(p, out, clash);
}

static void part_free(struct part *p)
{
	free(p->ops);
	free(p->strs);
	free(p->revs);
}

/* ---- the key model --------------------------------------------------------- */

/* A write of value v (-1: a delete) with revision rev (0: unknown).  Log
 * order is linearization order, so known revisions of writes must grow. */
static bool kv_write(struct state *t, int v, uint64_t rev)
{
	t->wfloor = t->floor;
	if (rev) {
		if (rev <= t->floor)
			return false;
		t->floor = rev;
	}
	t->a = v;
	t->x = rev;
	return true;
}

/* A read of the key: absent, or value v with mod revision rev.  An unknown
 * revision is learnt here; it must be later than any write before it. */
static bool kv_observe(struct state *t, bool present, int v, uint64_t rev)
{
	if (!present)
		return t->a == -1;
	if (t->a != v)
		return false;
	if (t->x)
		return t->x == rev;
	if (rev <= t->wfloor)
		return false;
	t->x = rev;
	if (rev > t->floor)
		t->floor = rev;
	return true;
}

enum {
	NO = 0,
	YES = 1,
	MAYBE = 2
};

/* Does the current mod revision equal e?  Unknown when the current value's
 * revision was never seen, unless e is known to be another value's. */
static int kv_match(const struct part *p, const struct state *s, uint64_t e)
{
	if (e == 0)
		return s->a == -1 ? YES : NO;
	if (s->a == -1)
		return NO;
	if (s->x)
		return s->x == e ? YES : NO;
	int v = rev_value(p, e);
	if ((v >= 0 && v != s->a) || e <= s->wfloor)
		return NO;
	return MAYBE;
}

static int kv_delete(const struct xop *o, const struct state *s,
		     struct state *out)
{
	struct state t = *s;
	if (o->unknown) {
		if (s->a != -1)
			kv_write(&t, -1, 0);
		out[0] = t;
		return 1;
	}
	if (o->status == LC_NOT_FOUND)
		return s->a == -1 ? (out[0] = t, 1) : 0;
	if (o->status != LC_OK || s->a == -1)
		return 0;
	return kv_write(&t, -1, o->out_rev) ? (out[0] = t, 1) : 0;
}

static int kv_cas(const struct part *p, const struct xop *o,
		  const struct state *s, struct state *out)
{
	struct state t = *s;
	int m = kv_match(p, s, o->rev);
	if (o->unknown || o->status == LC_OK) {
		/* A failed CAS changes nothing: an unknown one that did not
		 * match is simply never linearized. */
		if (m == NO)
			return 0;
		uint64_t rev = o->unknown ? 0 : o->out_rev;
		return kv_write(&t, o->val, rev) ? (out[0] = t, 1) : 0;
	}
	if (o->status != LC_COMPARE_FAILED || m == YES)
		return 0;
	/* The refusal shows the key as it is. */
	return kv_observe(&t, o->present, o->out_val, o->out_rev)
		       ? (out[0] = t, 1)
		       : 0;
}

static int kv_step(const struct part *p, const struct xop *o,
		   const struct state *s, struct state *out)
{
	struct state t = *s;
	switch (o->type) {
	case LC_PUT:
		if (!o->unknown && o->status != LC_OK)
			return 0;
		return kv_write(&t, o->val, o->unknown ? 0 : o->out_rev)
			       ? (out[0] = t, 1)
			       : 0;
	case LC_GET:
		if (o->status != LC_OK && o->status != LC_NOT_FOUND)
			return 0;
		return kv_observe(&t, o->status == LC_OK && o->present,
				  o->out_val, o->out_rev)
			       ? (out[0] = t, 1)
			       : 0;
	case LC_DELETE:
		return kv_delete(o, s, out);
	case LC_CAS:
		return kv_cas(p, o, s, out);
	}
	return 0;
}

/* ---- the lease model ---------------------------------------------------------- */

/* Learn a token the history shows for the current grant. */
static bool lease_token(struct state *t, uint64_t token)
{
	if (t->x)
		return t->x == token;
	if (token <= t->wfloor)
		return false;
	t->x = token;
	if (token > t->floor)
		t->floor = token;
	return true;
}

/* A lease as an answer shows it: absent, or holder h (-1 free) and token. */
static bool lease_observe(struct state *t, bool present, int h, uint64_t tok)
{
	if (!present)
		return !t->exists;
	return t->exists && t->a == h && lease_token(t, tok);
}

/* A new grant: its token (0 unknown) is above every earlier one. */
static bool lease_grant(struct state *t, const struct xop *o, uint64_t tok)
{
	if (tok && tok <= t->floor)
		return false;
	t->wfloor = t->floor;
	if (tok)
		t->floor = tok;
	t->exists = 1;
	t->a = o->holder;
	t->x = tok;
	t->ttl_ns = o->ttl_ns;
	t->exp = o->call + o->ttl_ns - LC_EXPIRY_SLACK_NS;
	return true;
}

/* A renewal replaces the countdown (with the lease's current TTL, which a
 * re-acquire may have just shortened), and the leader starts it no earlier
 * than the request was sent. */
static void lease_restart(struct state *t, uint64_t call)
{
	t->exp = call + t->ttl_ns - LC_EXPIRY_SLACK_NS;
}

/* A release or expiry removes the lease (server/sm.h): it no longer
 * exists, but floor keeps the highest token ever granted, so the next
 * grant must still be above it. */
static void lease_remove(struct state *t)
{
	t->a = -1;
	t->exists = 0;
	t->x = 0;
}

static int holder_match(const struct state *s, int h, uint64_t tok)
{
	if (!s->exists || s->a != h || h < 0)
		return NO;
	if (s->x)
		return s->x == tok ? YES : NO;
	return tok > s->wfloor ? MAYBE : NO;
}

static bool lease_acquire(const struct xop *o, struct state *t)
{
	bool is_free = !t->exists || t->a == -1;
	if (o->unknown) {
		if (is_free)
			return lease_grant(t, o, 0);
		if (t->a == o->holder) {
			t->ttl_ns = o->ttl_ns;
			lease_restart(t, o->call);
		}
		return true; /* held by another: answered HELD */
	}
	if (o->status == LC_HELD)
		return !is_free && t->a != o->holder &&
		       lease_observe(t, o->present, o->out_holder,
				     o->out_token);
	if (o->status != LC_OK)
		return false;
	if (is_free) {
		if (!lease_grant(t, o, o->out_token))
			return false;
	} else if (t->a == o->holder) {
		/* Re-acquiring keeps the token and may change the TTL. */
		t->ttl_ns = o->ttl_ns;
		lease_restart(t, o->call);
	} else {
		return false;
	}
	return lease_observe(t, o->present, o->out_holder, o->out_token);
}

/* Renew and release: the same checks, different effects. */
static bool lease_holder_op(const struct xop *o, struct state *t)
{
	int m = holder_match(t, o->holder, o->token);
	bool effect = o->unknown || o->status == LC_OK;
	if (effect) {
		if (m == NO)
			return false;
		lease_token(t, o->token);
		if (o->type == LC_RENEW)
			lease_restart(t, o->call);
		else
			t->a = -1;
		/* A release answers the lease as it left it (free, with the
		 * token it lost); then it is gone. */
		bool seen = o->unknown ||
			    lease_observe(t, o->present, o->out_holder,
					  o->out_token);
		if (o->type == LC_RELEASE)
			lease_remove(t);
		return seen;
	}
	if (o->status == LC_NOT_FOUND)
		return !t->exists;
	if (o->status != LC_NOT_HOLDER || !t->exists || m == YES)
		return false;
	return lease_observe(t, o->present, o->out_holder, o->out_token);
}

static bool lease_apply(const struct xop *o, struct state *t)
{
	switch (o->type) {
	case LC_ACQUIRE:
		return lease_acquire(o, t);
	case LC_RENEW:
	case LC_RELEASE:
		return lease_holder_op(o, t);
	case LC_LEASE_GET:
		if (o->status == LC_NOT_FOUND)
			return !t->exists;
		return o->status == LC_OK &&
		       lease_observe(t, o->present, o->out_holder,
				     o->out_token);
	}
	return false;
}

static int add_unique(struct state *out, int n, const struct state *t)
{
	for (int i = 0; i < n; i++)
		if (!memcmp(&out[i], t, sizeof(*t)))
			return n;
	out[n] = *t;
	return n + 1;
}

/* The op as is, or after a silent expiry.  An expiry must come before this
 * op's linearization point, which is before its return and before the
 * return of every op still to be linearized (deadline). */
static int lease_step(const struct xop *o, const struct state *s,
		      uint64_t deadline, struct state *out)
{
	int n = 0;
	struct state t = *s;
	if (lease_apply(o, &t))
		n = add_unique(out, n, &t);
	if (s->exists && s->a != -1 && deadline >= s->exp) {
		t = *s;
		lease_remove(&t);
		if (lease_apply(o, &t))
			n = add_unique(out, n, &t);
	}
	return n;
}

/* ---- the search ------------------------------------------------------------------ */

struct entry {
	bool is_call;
	size_t op;
	uint64_t time;
	struct entry *prev, *next, *match;
};

struct frame {
	struct entry *e;
	struct state prev;
	int branch;
	uint64_t rmin;
};

/* Memo of explored (linearized set, state) pairs: open addressing, the
 * sets stored in one arena indexed by slot. */
struct cache {
	size_t words, cap, n;
	uint64_t *hashes; /* 0: empty */
	struct state *states;
	uint64_t *sets;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

static uint64_t key_hash(const uint64_t *set, size_t words,
			 const struct state *s)
{
	const uint64_t *w = (const uint64_t *)s;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < words; i++)
		h = mix(h, set[i]);
	for (size_t i = 0; i < sizeof(*s) / 8; i++)
		h = mix(h, w[i]);
	return h ? h : 1;
}

static bool cache_alloc(struct cache *c, size_t cap)
{
	c->cap = cap;
	c->n = 0;
	c->hashes = calloc(cap, sizeof(*c->hashes));
	c->states = malloc(cap * sizeof(*c->states));
	c->sets = malloc(cap * c->words * sizeof(uint64_t));
	return c->hashes && c->states && c->sets;
}

static void cache_free(struct cache *c)
{
	free(c->hashes);
	free(c->states);
	free(c->sets);
}

/* Inserts without checking for presence (used when growing too). */
static void cache_put(struct cache *c, uint64_t h, const uint64_t *set,
		      const struct state *s)
{
	size_t i = h & (c->cap - 1);
	while (c->hashes[i])
		i = (i + 1) & (c->cap - 1);
	c->hashes[i] = h;
	c->states[i] = *s;
	memcpy(&c->sets[i * c->words], set, c->words * 8);
	c->n++;
}

static bool cache_grow(struct cache *c)
{
	struct cache old = *c;
	if (!cache_alloc(c, old.cap * 2)) {
		cache_free(c);
		*c = old;
		return false;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.hashes[i])
			cache_put(c, old.hashes[i], &old.sets[i * c->words],
				  &old.states[i]);
	cache_free(&old);
	return true;
}

/* True when (set, s) is new (and now recorded); -1 when out of memory. */
static int cache_add(struct cache *c, const uint64_t *set,
		     const struct state *s)
{
	uint64_t h = key_hash(set, c->words, s);
	for (size_t i = h & (c->cap - 1); c->hashes[i];
	     i = (i + 1) & (c->cap - 1))
		if (c->hashes[i] == h &&
		    !memcmp(&c->states[i], s, sizeof(*s)) &&
		    !memcmp(&c->sets[i * c->words], set, c->words * 8))
			return 0;
	if (2 * (c->n + 1) > c->cap && !cache_grow(c))
		return -1;
	cache_put(c, h, set, s);
	return 1;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	/* Calls first at equal times: touching operations count as
	 * concurrent, the permissive reading. */
	if (x->is_call != y->is_call)
		return x->is_call ? -1 : 1;
	return x->op < y->op ? -1 : x->op > y->op;
}

/* The events in time order, linked behind a sentinel; returns the number of
 * return events (ops that must be linearized). */
static struct entry *build_list(const struct part *p, size_t *n_ret)
{
	struct entry *e = calloc(2 * p->n + 1, sizeof(*e));
	if (!e)
		return NULL;
	size_t k = 1;
	for (size_t i = 0; i < p->n; i++) {
		e[k++] = (struct entry){ true, i, p->ops[i].call, 0, 0, 0 };
		if (p->ops[i].ret != LC_NEVER)
			e[k++] = (struct entry){ false, i, p->ops[i].ret,
						 0,     0, 0 };
	}
	qsort(e + 1, k - 1, sizeof(*e), cmp_entry);
	struct entry **calls = calloc(p->n + 1, sizeof(*calls));
	if (!calls) {
		free(e);
		return NULL;
	}
	*n_ret = 0;
	for (size_t i = 0; i < k; i++) {
		e[i].prev = i ? &e[i - 1] : NULL;
		e[i].next = i + 1 < k ? &e[i + 1] : NULL;
		if (i && e[i].is_call)
			calls[e[i].op] = &e[i];
		else if (i)
			(*n_ret)++;
	}
	for (size_t i = 1; i < k; i++)
		if (!e[i].is_call)
			calls[e[i].op]->match = &e[i];
	free(calls);
	return e;
}

static void unlink_entry(struct entry *e)
{
	e->prev->next = e->next;
	if (e->next)
		e->next->prev = e->prev;
}

static void relink_entry(struct entry *e)
{
	e->prev->next = e;
	if (e->next)
		e->next->prev = e;
}

static void lift(struct entry *call)
{
	unlink_entry(call);
	if (call->match)
		unlink_entry(call->match);
}

static void unlift(struct entry *call)
{
	if (call->match)
		relink_entry(call->match);
	relink_entry(call);
}

static uint64_t first_return(const struct entry *head)
{
	for (const struct entry *e = head->next; e; e = e->next)
		if (!e->is_call)
			return e->time;
	return LC_NEVER;
}

struct search {
	const struct part *p;
	struct entry *list;
	struct cache cache;
	struct frame *stack;
	size_t depth, best_depth;
	size_t *best; /* the longest linearization found */
	struct state best_state;
	uint64_t *set;
	double deadline; /* CLOCK_MONOTONIC seconds */
	uint64_t steps;
};

double lc_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool is_set(const uint64_t *set, size_t i)
{
	return set[i / 64] >> (i % 64) & 1;
}

static int successors(struct search *s, size_t i, const struct state *st,
		      uint64_t rmin, struct state *out)
{
	const struct xop *o = &s->p->ops[i];
	int n = 0;
	if (o->prev_shadow >= 0 && !is_set(s->set, (size_t)o->prev_shadow))
		return 0;
	if (o->parent >= 0) {
		/* A retry shadow ran before its answered attempt or not at
		 * all. */
		out[n++] = *st;
		if (is_set(s->set, (size_t)o->parent))
			return n;
	}
	uint64_t deadline = o->ret < rmin ? o->ret : rmin;
	struct state tmp[4];
	int k = s->p->lease ? lease_step(o, st, deadline, tmp)
			    : kv_step(s->p, o, st, tmp);
	for (int j = 0; j < k; j++)
		n = add_unique(out, n, &tmp[j]);
	return n;
}

static void note_best(struct search *s, const struct state *st)
{
	if (s->depth <= s->best_depth && s->best_depth)
		return;
	s->best_depth = s->depth;
	for (size_t i = 0; i < s->depth; i++)
		s->best[i] = s->stack[i].e->op;
	s->best_state = *st;
}

static bool search_init(struct search *s, const struct part *p, size_t *n_ret,
			double budget)
{
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->list = build_list(p, n_ret);
	s->cache.words = (p->n + 63) / 64 + 1;
	s->stack = calloc(p->n + 1, sizeof(*s->stack));
	s->best = calloc(p->n + 1, sizeof(*s->best));
	s->set = calloc(s->cache.words, sizeof(uint64_t));
	s->deadline = lc_now_s() + budget;
	s->best_state.a = -1;
	return s->list && s->stack && s->best && s->set &&
	       cache_alloc(&s->cache, 1024);
}

static void search_free(struct search *s)
{
	free(s->list);
	cache_free(&s->cache);
	free(s->stack);
	free(s->best);
	free(s->set);
}

/* Tries the branches of the call at e from *branch on; true when one was
 * taken (pushed). */
static int try_call(struct search *s, struct entry *e, int branch,
		    struct state *st, uint64_t rmin)
{
	struct state out[8];
	size_t i = e->op;
	int n = successors(s, i, st, rmin, out);
	for (int b = branch; b < n; b++) {
		s->set[i / 64] |= 1ull << (i % 64);
		int r = cache_add(&s->cache, s->set, &out[b]);
		if (r < 0)
			return -1;
		if (r) {
			s->stack[s->depth++] = (struct frame){ e, *st, b,
							       rmin };
			*st = out[b];
			lift(e);
			return 1;
		}
		s->set[i / 64] &= ~(1ull << (i % 64));
	}
	return 0;
}

static enum lc_verdict search_run(struct search *s, size_t n_ret,
				  const struct state *init)
{
	struct entry *head = &s->list[0];
	struct state st = *init;
	struct entry *e = head->next;
	uint64_t rmin = first_return(head);
	int branch = 0;

	while (n_ret) {
		if ((++s->steps & 1023) == 0 && lc_now_s() > s->deadline)
			return LC_UNDECIDED;
		if (e && e->is_call) {
			int r = try_call(s, e, branch, &st, rmin);
			if (r < 0)
				return LC_UNDECIDED;
			branch = 0;
			if (!r) {
				e = e->next;
				continue;
			}
			if (e->match)
				n_ret--;
			note_best(s, &st);
			e = head->next;
			rmin = first_return(head);
			continue;
		}
		if (!s->depth)
			return LC_VIOLATION;
		struct frame f = s->stack[--s->depth];
		unlift(f.e);
		s->set[f.e->op / 64] &= ~(1ull << (f.e->op % 64));
		if (f.e->match)
			n_ret++;
		st = f.prev;
		e = f.e;
		branch = f.branch + 1;
		rmin = f.rmin;
	}
	return LC_LINEARIZABLE;
}

/* ---- reporting ------------------------------------------------------------------- */

static void print_state(FILE *out, const struct part *p, const struct state *s)
{
	const char *name = s->a >= 0 ? p->strs[s->a] : NULL;
	if (p->lease && !s->exists)
		fprintf(out, "never created");
	else if (p->lease)
		fprintf(out, "%s, token %s%llu", name ? name : "free",
			s->x ? "" : "unknown > ",
			(unsigned long long)(s->x ? s->x : s->wfloor));
	else if (!name)
		fprintf(out, "absent");
	else
		fprintf(out, "%s, rev %llu%s", name, (unsigned long long)s->x,
			s->x ? "" : " (unknown)");
}

static void print_op(FILE *out, const char *tag, const struct lc_op *op,
		     uint64_t t0)
{
	char line[512];
	lc_op_format(op, t0, line, sizeof(line));
	fprintf(out, "    %s %s\n", tag, line);
}

static void report_failure(FILE *out, const struct search *s, uint64_t t0)
{
	const struct part *p = s->p;
	size_t from = s->best_depth > 12 ? s->best_depth - 12 : 0;
	fprintf(out, "  longest linearization: %zu of %zu ops; its end:\n",
		s->best_depth, p->n);
	for (size_t i = from; i < s->best_depth; i++)
		print_op(out, " ", p->ops[s->best[i]].src, t0);
	fprintf(out, "  state then: ");
	print_state(out, p, &s->best_state);
	fprintf(out,
		"\n  none of these could come next (pending, in call "
		"order; '!' must be linearized before the others return):\n");
	bool *done = calloc(p->n + 1, 1);
	if (!done)
		return;
	for (size_t i = 0; i < s->best_depth; i++)
		done[s->best[i]] = true;
	uint64_t rmin = LC_NEVER;
	for (size_t i = 0; i < p->n; i++)
		if (!done[i] && p->ops[i].ret < rmin)
			rmin = p->ops[i].ret;
	for (size_t i = 0; i < p->n; i++)
		if (!done[i] && p->ops[i].call <= rmin)
			print_op(out, p->ops[i].ret == rmin ? "!" : " ",
				 p->ops[i].src, t0);
	free(done);
}

/* ---- partitions ---------------------------------------------------------------- */

struct pcheck {
	enum lc_verdict verdict;
	uint64_t states;
	double seconds;
};

/* Where a search starts.  A whole history starts with nothing created;
 * a window of a lease history (open) starts from any state the history
 * before it allows: absent, or held by any holder of the window with an
 * unknown token, a countdown that may end at once, and the lease's TTL;
 * new grants stay above every token seen before the window (floor). */
struct start {
	bool open;
	uint64_t floor, ttl_ns;
};

static size_t start_states(const struct part *p, const struct start *from,
			   struct state *out, size_t cap)
{
	size_t n = 0;
	out[n++] = (struct state){ .a = -1 };
	if (!from || !from->open || !p->lease)
		return n;
	out[0].floor = from->floor;
	for (size_t h = 0; h < p->n_strs && n < cap; h++)
		out[n++] = (struct state){ .a = (int64_t)h,
					   .exists = 1,
					   .floor = from->floor,
					   .ttl_ns = from->ttl_ns };
	return n;
}

#define MAX_STARTS 32

/* Every start state in turn; the first that linearizes wins.  On a
 * violation the report follows the search that got furthest. */
static enum lc_verdict search_starts(const struct part *p,
				     const struct start *from, double budget,
				     FILE *out, uint64_t t0, uint64_t *states)
{
	struct state init[MAX_STARTS];
	size_t n_init = start_states(p, from, init, MAX_STARTS);
	enum lc_verdict v = LC_VIOLATION;
	struct search best;
	bool have_best = false;
	for (size_t i = 0; i < n_init && v == LC_VIOLATION; i++) {
		struct search s;
		size_t n_ret = 0;
		if (!search_init(&s, p, &n_ret, budget)) {
			search_free(&s);
			v = LC_UNDECIDED;
			break;
		}
		v = search_run(&s, n_ret, &init[i]);
		*states += s.cache.n;
		if (v == LC_VIOLATION &&
		    (!have_best || s.best_depth > best.best_depth)) {
			if (have_best)
				search_free(&best);
			best = s;
			have_best = true;
		} else {
			search_free(&s);
		}
	}
	if (v == LC_VIOLATION && out && have_best)
		report_failure(out, &best, t0);
	if (have_best)
		search_free(&best);
	return v;
}

static struct pcheck check_part(const struct lc_op *const *ops, size_t n,
				const long *local, const struct lc_options *o,
				FILE *out, uint64_t t0,
				const struct start *from)
{
	struct pcheck r = { LC_UNDECIDED, 0, 0 };
	double start = lc_now_s();
	struct part p;
	bool clash = false;
	if (part_init(&p, ops, n, local, out, &clash)) {
		r.verdict = search_starts(&p, from,
					  o->budget_s > 0 ? o->budget_s : 60,
					  clash ? NULL : out, t0, &r.states);
		if (clash)
			r.verdict = LC_VIOLATION;
	}
	part_free(&p);
	r.seconds = lc_now_s() - start;
	return r;
}

int lc_op_ptr_order(const void *a, const void *b)
{
	const struct lc_op *x = *(const struct lc_op *const *)a;
	const struct lc_op *y = *(const struct lc_op *const *)b;
	int c = strcmp(x->object, y->object);
	if (c)
		return c;
	if (x->call != y->call)
		return x->call < y->call ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* An unknown read tells nothing: leave it out. */
static bool useful(const struct lc_op *op)
{
	return !(op->status == LC_UNKNOWN &&
		 (op->type == LC_GET || op->type == LC_LEASE_GET));
}

/* The prefix of the first k ops (call order) with every later one turned
 * into an unknown outcome (reads dropped): linearizable whenever the whole
 * partition is, so a failing prefix is a smaller witness of the failure. */
static size_t make_prefix(const struct lc_op *const *ops, size_t n, size_t k,
			  struct lc_op *buf, const struct lc_op **view)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		bool cut = i >= k;
		int t = ops[i]->type;
		if (cut && (t == LC_GET || t == LC_LEASE_GET))
			continue;
		buf[i] = *ops[i];
		buf[i].shadow_of = -1;
		if (cut || ops[i]->shadow_of >= 0) {
			buf[i].status = LC_UNKNOWN;
			buf[i].ret = LC_NEVER;
			buf[i].present = false;
		}
		view[m++] = &buf[i];
	}
	return m;
}

/* Shadows lose their tie to the answered attempt in a prefix (they become
 * plain unknown outcomes when cut, or when they were shadows: both only
 * widen what is allowed, so the prefix stays a sound witness). */
static void minimise(const struct lc_op *const *ops, size_t n,
		     const struct lc_options *o, FILE *out, uint64_t t0,
		     const struct start *from)
{
	struct lc_op *buf = malloc((n + 1) * sizeof(*buf));
	const struct lc_op **view = malloc((n + 1) * sizeof(*view));
	struct lc_options q = *o;
	size_t lo = 0, hi = n, m;
	if (!buf || !view)
		goto out;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		m = make_prefix(ops, n, mid, buf, view);
		if (check_part(view, m, NULL, &q, NULL, t0, from).verdict ==
		    LC_VIOLATION)
			hi = mid;
		else
			lo = mid;
	}
	m = make_prefix(ops, n, hi, buf, view);
	fprintf(out,
		"  minimal failing prefix: the first %zu ops in call "
		"order (later ones as unknown outcomes); the last to join:\n",
		hi);
	print_op(out, ">", ops[hi - 1], t0);
	if (check_part(view, m, NULL, &q, out, t0, from).verdict !=
	    LC_VIOLATION)
		fprintf(out, "  (the prefix did not fail on its own: see the "
			     "full partition above)\n");
out:
	free(buf);
	free(view);
}

static void count_ops(const struct lc_op *ops, size_t n, struct lc_summary *s)
{
	for (size_t i = 0; i < n; i++) {
		s->ops++;
		s->unknown += ops[i].status == LC_UNKNOWN &&
			      ops[i].shadow_of < 0;
		s->shadows += ops[i].shadow_of >= 0;
	}
}

static void report_part(FILE *out, const char *name, size_t n,
			const struct pcheck *r)
{
	static const char *v[] = { "linearizable", "NOT LINEARIZABLE",
				   "undecided (budget ran out)" };
	fprintf(out, "  %-12s %6zu ops  %-16s %8llu states  %.3f s\n", name, n,
		v[r->verdict], (unsigned long long)r->states, r->seconds);
}

static void fold(struct lc_summary *sum, const struct pcheck *r,
		 enum lc_verdict *worst)
{
	sum->partitions++;
	sum->states += r->states;
	sum->failed += r->verdict == LC_VIOLATION;
	sum->undecided += r->verdict == LC_UNDECIDED;
	if (r->verdict == LC_VIOLATION ||
	    (r->verdict == LC_UNDECIDED && *worst == LC_LINEARIZABLE))
		*worst = r->verdict;
}

enum lc_verdict lc_check(const struct lc_op *ops, size_t n,
			 const struct lc_options *opt, struct lc_summary *sum)
{
	struct lc_options o = opt ? *opt : (struct lc_options){ 0 };
	struct lc_summary dummy;
	enum lc_verdict worst = LC_LINEARIZABLE;
	const struct lc_op **v = malloc((n + 1) * sizeof(*v));
	long *local = malloc((n + 1) * sizeof(*local));
	uint64_t t0 = o.t0 ? o.t0 : LC_NEVER;
	size_t m = 0;
	double start = lc_now_s();

	sum = sum ? sum : &dummy;
	memset(sum, 0, sizeof(*sum));
	if (!v || !local) {
		free(v);
		free(local);
		return LC_UNDECIDED;
	}
	count_ops(ops, n, sum);
	for (size_t i = 0; i < n; i++) {
		if (useful(&ops[i]))
			v[m++] = &ops[i];
		if (!o.t0 && ops[i].call < t0)
			t0 = ops[i].call;
	}
	qsort(v, m, sizeof(*v), lc_op_ptr_order);
	struct start from = { o.open_start, o.floor, o.ttl_ms * 1000000ull };
	for (size_t i = 0, j; i < m; i = j) {
		for (j = i; j < m && !strcmp(v[j]->object, v[i]->object); j++)
			local[v[j] - ops] = (long)(j - i);
		struct pcheck r = check_part(v + i, j - i, local, &o, o.out, t0,
					     &from);
		if (o.out)
			report_part(o.out, v[i]->object, j - i, &r);
		if (o.out && o.minimise && r.verdict == LC_VIOLATION)
			minimise(v + i, j - i, &o, o.out, t0, &from);
		fold(sum, &r, &worst);
	}
	sum->seconds = lc_now_s() - start;
	free(v);
	free(local);
	return worst;
}
