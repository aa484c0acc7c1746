/*
 * nemlease.c — the agents' lease traces and the harness's lease reads as
 * one lincheck history (contract in nemlease.h).
 */
#include "tests/helpers/nemlease.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/nemcheck.h"

#define MAX_LOST 4 /* extra possible executions recorded per request */

struct call {
	long pid;
	uint64_t seq;
	struct lc_op op;
};

struct ret {
	long pid;
	uint64_t seq;
	char status[32];
	int maybe, present;
	char holder[LC_STR];
	uint64_t token, t_ns;
	unsigned lost;
	bool used;
};

struct trace {
	struct call *calls;
	size_t n_calls, cap_calls;
	struct ret *rets;
	size_t n_rets, cap_rets;
};

static int push(void **arr, size_t *n, size_t *cap, size_t sz)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		void *p = realloc(*arr, c * sz);
		if (!p)
			return -1;
		*arr = p;
		*cap = c;
	}
	(*n)++;
	return 0;
}

static int op_type(const char *w)
{
	static const char *const names[] = { "acquire", "renew", "release",
					     "get" };
	static const int types[] = { LC_ACQUIRE, LC_RENEW, LC_RELEASE,
				     LC_LEASE_GET };
	for (int i = 0; i < 4; i++)
		if (!strcmp(w, names[i]))
			return types[i];
	return 0;
}

#define WORD "%47s"

static bool parse_call(const char *line, struct call *c, int client)
{
	char op[16], holder[LC_STR];
	unsigned long long seq, ttl, token, t;
	int end = 0;
	lc_op_init(&c->op);
	if (sscanf(line,
		   "call %ld %llu %15s " WORD " " WORD " %llu %llu %llu%n",
		   &c->pid, &seq, op, c->op.object, holder, &ttl, &token, &t,
		   &end) != 8 ||
	    line[end] != '\n' || !(c->op.type = op_type(op)))
		return false;
	c->seq = seq;
	c->op.client = client;
	c->op.call = t;
	c->op.ttl_ms = ttl;
	c->op.token = token;
	if (strcmp(holder, "-"))
		snprintf(c->op.holder, sizeof(c->op.holder), "%s", holder);
	return true;
}

static bool parse_ret(const char *line, struct ret *r)
{
	unsigned long long seq, token, t;
	int end = 0;
	memset(r, 0, sizeof(*r));
	if (sscanf(line, "ret %ld %llu %31s %d %d " WORD " %llu %llu %u%n",
		   &r->pid, &seq, r->status, &r->maybe, &r->present, r->holder,
		   &token, &t, &r->lost, &end) != 9 ||
	    line[end] != '\n')
		return false;
	r->seq = seq;
	r->token = token;
	r->t_ns = t;
	if (!strcmp(r->holder, "-"))
		r->holder[0] = '\0';
	return true;
}

static int cmp_ret(const void *a, const void *b)
{
	const struct ret *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int known_status(const char *s)
{
	if (!strcmp(s, "OK"))
		return LC_OK;
	if (!strcmp(s, "HELD"))
		return LC_HELD;
	if (!strcmp(s, "NOT_HOLDER"))
		return LC_NOT_HOLDER;
	if (!strcmp(s, "NOT_FOUND"))
		return LC_NOT_FOUND;
	return -1;
}

static int add(struct nem_history *h, const struct lc_op *op, long *index)
{
	long i = lc_history_add(&h->lease_ops, op);
	if (index)
		*index = i;
	return i < 0 ? -1 : 0;
}

/* One request with its answer (r NULL: none came) into the history. */
static int add_request(struct nem_history *h, struct lc_op op,
		       const struct ret *r)
{
	bool write = op.type != LC_LEASE_GET;
	unsigned lost = r ? (r->lost < MAX_LOST ? r->lost : MAX_LOST) : 0;
	int st = r ? known_status(r->status) : -1;
	if (st >= 0) {
		long parent;
		op.status = st;
		op.ret = r->t_ns;
		op.present = r->present != 0;
		snprintf(op.out_holder, sizeof(op.out_holder), "%s", r->holder);
		op.out_token = r->token;
		if (add(h, &op, &parent))
			return -1;
		struct lc_op sh = op;
		sh.status = LC_UNKNOWN;
		sh.present = false;
		sh.shadow_of = parent;
		for (unsigned i = 0; write && op.type != LC_RELEASE && i < lost;
		     i++)
			if (add(h, &sh, NULL))
				return -1;
		return 0;
	}
	if (!write || (r && !r->maybe && !r->lost))
		return 0; /* a read with no answer, or not run */
	if (add(h, &op, NULL))
		return -1;
	for (unsigned i = 0; op.type == LC_ACQUIRE && i < lost; i++)
		if (add(h, &op, NULL))
			return -1;
	return 0;
}

static int read_lines(struct trace *t, FILE *f, int client, size_t *torn)
{
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		if (!strncmp(line, "call ", 5)) {
			if (push((void **)&t->calls, &t->n_calls, &t->cap_calls,
				 sizeof(*t->calls))) {
				rc = -1;
			} else if (!parse_call(line, &t->calls[t->n_calls - 1],
					       client)) {
				t->n_calls--;
				(*torn)++;
			}
		} else if (!strncmp(line, "ret ", 4)) {
			if (push((void **)&t->rets, &t->n_rets, &t->cap_rets,
				 sizeof(*t->rets))) {
				rc = -1;
			} else if (!parse_ret(line, &t->rets[t->n_rets - 1])) {
				t->n_rets--;
				(*torn)++;
			}
		} else {
			(*torn)++;
		}
	}
	free(line);
	return rc;
}

int nem_read_lease_trace(struct nem_history *h, FILE *f, int client, char *err,
			 size_t errlen)
{
	struct trace t = { 0 };
	int rc = read_lines(&t, f, client, &h->lease_torn);
	if (t.n_rets)
		qsort(t.rets, t.n_rets, sizeof(*t.rets), cmp_ret);
	for (size_t i = 0; rc == 0 && i < t.n_calls; i++) {
		struct ret key = { .pid = t.calls[i].pid,
				   .seq = t.calls[i].seq };
		struct ret *r = t.n_rets ? bsearch(&key, t.rets, t.n_rets,
						   sizeof(*t.rets), cmp_ret)
					 : NULL;
		if (r)
			r->used = true;
		rc = add_request(h, t.calls[i].op, r);
	}
	for (size_t i = 0; i < t.n_rets; i++)
		h->lease_torn += !t.rets[i].used;
	if (rc)
		snprintf(err, errlen, "out of memory");
	h->lease_traces++;
	free(t.calls);
	free(t.rets);
	return rc;
}

/* ---- the check ------------------------------------------------------------ */

/* The harness's reads of the lease the agents name. */
static int add_reads(const struct nem_history *h, struct lc_history *all,
		     const char *object, size_t *n)
{
	for (size_t i = 0; i < h->n_leases; i++) {
		const struct nem_lease *l = &h->leases[i];
		if (!l->m0_ns)
			continue;
		struct lc_op op;
		lc_op_init(&op);
		op.client = -1;
		op.type = LC_LEASE_GET;
		snprintf(op.object, sizeof(op.object), "%s", object);
		op.call = l->m0_ns;
		op.ret = l->m1_ns;
		op.status = LC_OK;
		op.present = true;
		snprintf(op.out_holder, sizeof(op.out_holder), "%.*s",
			 (int)sizeof(op.out_holder) - 1, l->holder_id);
		op.out_token = l->token;
		if (lc_history_add(all, &op) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

static void count(const struct lc_history *all, struct nem_report *r)
{
	for (size_t i = 0; i < all->n; i++) {
		const struct lc_op *op = &all->ops[i];
		r->lease_unknown += op->status == LC_UNKNOWN &&
				    op->shadow_of < 0;
		r->lease_shadows += op->shadow_of >= 0;
	}
}

int nem_check_lease(const struct nem_history *h, struct nem_report *r)
{
	const struct lc_history *agents = &h->lease_ops;
	struct lc_history all;
	char *text = NULL;
	size_t len = 0;
	if (!agents->n)
		return 0;
	lc_history_init(&all);
	for (size_t i = 0; i < agents->n; i++)
		if (lc_history_add(&all, &agents->ops[i]) < 0)
			goto fail;
	if (add_reads(h, &all, agents->ops[0].object, &r->lease_reads))
		goto fail;
	r->lease_agent_ops = agents->n;
	count(&all, r);
	FILE *out = open_memstream(&text, &len);
	if (!out)
		goto fail;
	struct lc_options o = { .budget_s = 60, .out = out, .minimise = true };
	r->lease_verdict = lc_check_windows(all.ops, all.n, &o,
					    NEM_LEASE_WINDOW,
					    NEM_LEASE_CARRY_S * 1000000000ull,
					    &r->lease_windows);
	fclose(out);
	r->lease_checked = true;
	if (r->lease_verdict == LC_VIOLATION)
		r->lease_detail = text;
	else
		free(text);
	lc_history_free(&all);
	return 0;
fail:
	lc_history_free(&all);
	return -1;
}
