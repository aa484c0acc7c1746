/*
 * lincheck_window.c — long histories checked in overlapping windows cut
 * at quiescent points (contract in lincheck.h, lc_check_windows).
 */
#include "tests/helpers/lincheck.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Segment starts of one object's ops (in call order), starts[k] = n: a
 * cut before op i when every op before it that has an answer returned
 * before i was called, and the segment has window ops already. */
static size_t cut_segments(const struct lc_op *const *v, size_t n,
			   size_t window, size_t *starts)
{
	size_t k = 0;
	uint64_t max_ret = 0;
	starts[k++] = 0;
	for (size_t i = 0; i < n; i++) {
		if (i - starts[k - 1] >= window && max_ret < v[i]->call)
			starts[k++] = i;
		if (v[i]->ret != LC_NEVER && v[i]->ret > max_ret)
			max_ret = v[i]->ret;
	}
	starts[k] = n;
	return k;
}

struct object_run {
	const struct lc_op *base; /* the whole history */
	const struct lc_op **v;   /* this object's ops, in call order */
	size_t n;
	long *map;         /* history index -> window index, or -1 */
	size_t *idx;       /* window index -> history index */
	struct lc_op *buf; /* the window's copies */
	const struct lc_options *opt;
	uint64_t carry_ns, t0;
};

static void add_to_window(struct object_run *r, size_t *m,
			  const struct lc_op *op)
{
	r->map[op - r->base] = (long)*m;
	r->idx[*m] = (size_t)(op - r->base);
	r->buf[(*m)++] = *op;
}

/* A retry shadow keeps its tie to its answered attempt only if that is in
 * the window too; otherwise it is a plain unknown outcome (which allows
 * more, never less). */
static void relink_shadows(struct object_run *r, size_t m)
{
	for (size_t i = 0; i < m; i++) {
		struct lc_op *op = &r->buf[i];
		if (op->shadow_of < 0)
			continue;
		long parent = r->map[op->shadow_of];
		op->shadow_of = parent;
		if (parent < 0) {
			op->ret = LC_NEVER;
			op->status = LC_UNKNOWN;
		}
	}
}

/* The window of ops [from, to) plus the unknown outcomes called within
 * carry_ns before it; returns its size. */
static size_t build_window(struct object_run *r, size_t from, size_t to)
{
	size_t m = 0;
	uint64_t start = r->v[from]->call;
	for (size_t i = from; i-- > 0;) {
		if (r->v[i]->call + r->carry_ns < start)
			break;
		if (r->v[i]->ret == LC_NEVER)
			add_to_window(r, &m, r->v[i]);
	}
	for (size_t i = from; i < to; i++)
		add_to_window(r, &m, r->v[i]);
	relink_shadows(r, m);
	return m;
}

static void clear_map(struct object_run *r, size_t m)
{
	for (size_t i = 0; i < m; i++)
		r->map[r->idx[i]] = -1;
}

/* What answers before op i showed: the highest token, the smallest TTL
 * asked for; advanced op by op as windows move on. */
struct before {
	size_t upto;
	uint64_t floor, ttl_ms;
};

static void learn_upto(struct before *b, const struct object_run *r, size_t i)
{
	for (; b->upto < i; b->upto++) {
		const struct lc_op *op = r->v[b->upto];
		if (op->status != LC_UNKNOWN && op->present &&
		    op->out_token > b->floor)
			b->floor = op->out_token;
		if (op->type == LC_ACQUIRE && op->ttl_ms &&
		    (!b->ttl_ms || op->ttl_ms < b->ttl_ms))
			b->ttl_ms = op->ttl_ms;
	}
}

static enum lc_verdict check_window(struct object_run *r, size_t m,
				    uint64_t from, const struct before *b,
				    size_t index, size_t count,
				    struct lc_window_summary *s)
{
	struct lc_options o = *r->opt;
	struct lc_summary sum;
	o.open_start = true;
	o.floor = b->floor;
	o.ttl_ms = b->ttl_ms;
	o.t0 = r->t0;
	o.out = NULL;
	o.minimise = false;
	enum lc_verdict v = lc_check(r->buf, m, &o, &sum);
	s->states += sum.states;
	if (v == LC_VIOLATION && r->opt->out) {
		/* again, to print the offending window */
		fprintf(r->opt->out,
			"  window %zu of %zu (%zu ops from %.3f ms; floor "
			"token %llu): NOT LINEARIZABLE\n",
			index + 1, count, m, (from - r->t0) / 1e6,
			(unsigned long long)b->floor);
		o.out = r->opt->out;
		o.minimise = r->opt->minimise;
		lc_check(r->buf, m, &o, &sum);
	}
	return v;
}

static enum lc_verdict check_object(struct object_run *r, size_t window,
				    struct lc_window_summary *s)
{
	size_t *starts = malloc((r->n + 2) * sizeof(*starts));
	if (!starts)
		return LC_UNDECIDED;
	size_t k = cut_segments(r->v, r->n, window ? window : r->n, starts);
	size_t count = k > 1 ? k - 1 : 1;
	enum lc_verdict worst = LC_LINEARIZABLE;
	struct before b = { 0, 0, 0 };
	for (size_t j = 0; j < count; j++) {
		size_t to = starts[k > 1 ? j + 2 : 1];
		learn_upto(&b, r, starts[j]);
		size_t m = build_window(r, starts[j], to);
		enum lc_verdict v = check_window(r, m, r->v[starts[j]]->call,
						 &b, j, count, s);
		clear_map(r, m);
		s->windows++;
		s->max_ops = m > s->max_ops ? m : s->max_ops;
		s->failed += v == LC_VIOLATION;
		s->undecided += v == LC_UNDECIDED;
		if (v == LC_VIOLATION ||
		    (v == LC_UNDECIDED && worst == LC_LINEARIZABLE))
			worst = v;
	}
	free(starts);
	return worst;
}

static uint64_t first_call(const struct lc_op *ops, size_t n)
{
	uint64_t t0 = LC_NEVER;
	for (size_t i = 0; i < n; i++)
		if (ops[i].call < t0)
			t0 = ops[i].call;
	return t0;
}

enum lc_verdict lc_check_windows(const struct lc_op *ops, size_t n,
				 const struct lc_options *opt, size_t window,
				 uint64_t carry_ns,
				 struct lc_window_summary *sum)
{
	struct lc_options none = { 0 };
	struct lc_window_summary dummy;
	struct object_run r = { .base = ops, .opt = opt ? opt : &none };
	enum lc_verdict worst = LC_LINEARIZABLE;
	double start = lc_now_s();
	sum = sum ? sum : &dummy;
	memset(sum, 0, sizeof(*sum));
	const struct lc_op **v = malloc((n + 1) * sizeof(*v));
	r.map = malloc((n + 1) * sizeof(*r.map));
	r.buf = malloc((n + 1) * sizeof(*r.buf));
	r.idx = malloc((n + 1) * sizeof(*r.idx));
	if (!v || !r.map || !r.buf || !r.idx) {
		worst = LC_UNDECIDED;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		v[i] = &ops[i];
		r.map[i] = -1;
	}
	qsort(v, n, sizeof(*v), lc_op_ptr_order);
	r.carry_ns = carry_ns ? carry_ns : 60000000000ull;
	r.t0 = r.opt->t0 ? r.opt->t0 : first_call(ops, n);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && !strcmp(v[j]->object, v[i]->object); j++)
			;
		struct lc_window_summary s = { 0 };
		double t = lc_now_s();
		r.v = v + i;
		r.n = j - i;
		enum lc_verdict w = check_object(&r, window, &s);
		if (r.opt->out)
			fprintf(r.opt->out,
				"  %-12s %6zu ops  %zu windows (at most %zu "
				"ops)  %s  %llu states  %.3f s\n",
				v[i]->object, j - i, s.windows, s.max_ops,
				w == LC_LINEARIZABLE ? "linearizable"
				: w == LC_VIOLATION  ? "NOT LINEARIZABLE"
						     : "undecided",
				(unsigned long long)s.states, lc_now_s() - t);
		sum->windows += s.windows;
		sum->failed += s.failed;
		sum->undecided += s.undecided;
		sum->states += s.states;
		if (s.max_ops > sum->max_ops)
			sum->max_ops = s.max_ops;
		if (w == LC_VIOLATION ||
		    (w == LC_UNDECIDED && worst == LC_LINEARIZABLE))
			worst = w;
	}
out:
	sum->seconds = lc_now_s() - start;
	free(v);
	free(r.map);
	free(r.buf);
	free(r.idx);
	return worst;
}
