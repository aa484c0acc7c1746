/* nemcheck.c — the checks of a pgnemesis history (contract in
 * nemcheck.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/nemcheck.h"

static const char *const kind_names[NEM_KINDS] = { "append", "transfer",
						   "read" };
static const char *const outcome_names[NEM_OUTCOMES] = { "ok", "failed",
							 "unknown" };
static const char *const check_names[NEM_CHECKS] = {
	"lost-append",   "lost-transfer",      "read-total",  "final-total",
	"final-balance", "two-primaries",      "token-order", "token-holder",
	"unleased-ack",  "lease-linearizable",
};

const char *nem_kind_name(enum nem_kind k)
{
	return kind_names[k];
}

const char *nem_outcome_name(enum nem_outcome o)
{
	return outcome_names[o];
}

const char *nem_check_name(enum nem_check_id c)
{
	return check_names[c];
}

/* ---- the history ------------------------------------------------------ */

void nem_history_init(struct nem_history *h)
{
	memset(h, 0, sizeof(*h));
}

void nem_history_free(struct nem_history *h)
{
	free(h->ops);
	free(h->leases);
	free(h->faults);
	free(h->final_appends);
	free(h->final_ledger);
	free(h->final_balances);
	free(h->final_balance_seen);
	lc_history_free(&h->lease_ops);
	nem_history_init(h);
}

/* Room for one more element of size sz in *arr (n used, *cap allocated). */
static int grow(void *arr, size_t n, size_t *cap, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*(void **)arr, ncap * sz);
	if (!p)
		return -1;
	*(void **)arr = p;
	*cap = ncap;
	return 0;
}

int nem_history_config(struct nem_history *h, int accounts, int64_t total,
		       uint64_t seed)
{
	if (accounts < 1 || total < 0 || total % accounts != 0) {
		errno = EINVAL;
		return -1;
	}
	free(h->final_balances);
	free(h->final_balance_seen);
	h->final_balances = calloc((size_t)accounts, sizeof(int64_t));
	h->final_balance_seen = calloc((size_t)accounts, sizeof(bool));
	if (!h->final_balances || !h->final_balance_seen)
		return -1;
	h->accounts = accounts;
	h->total = total;
	h->seed = seed;
	return 0;
}

int nem_history_add_op(struct nem_history *h, const struct nem_op *op)
{
	if (grow(&h->ops, h->n_ops, &h->cap_ops, sizeof(*op)) != 0)
		return -1;
	h->ops[h->n_ops++] = *op;
	return 0;
}

int nem_history_add_lease(struct nem_history *h, const struct nem_lease *l)
{
	if (grow(&h->leases, h->n_leases, &h->cap_leases, sizeof(*l)) != 0)
		return -1;
	h->leases[h->n_leases++] = *l;
	return 0;
}

int nem_history_add_fault(struct nem_history *h, const struct nem_fault *f)
{
	if (grow(&h->faults, h->n_faults, &h->cap_faults, sizeof(*f)) != 0)
		return -1;
	h->faults[h->n_faults++] = *f;
	return 0;
}

int nem_history_final_append(struct nem_history *h, int64_t id)
{
	if (grow(&h->final_appends, h->n_final_appends, &h->cap_final_appends,
		 sizeof(id)) != 0)
		return -1;
	h->final_appends[h->n_final_appends++] = id;
	h->have_final = true;
	return 0;
}

int nem_history_final_ledger(struct nem_history *h,
			     const struct nem_ledger_row *row)
{
	if (grow(&h->final_ledger, h->n_final_ledger, &h->cap_final_ledger,
		 sizeof(*row)) != 0)
		return -1;
	h->final_ledger[h->n_final_ledger++] = *row;
	h->have_final = true;
	return 0;
}

int nem_history_final_balance(struct nem_history *h, int account,
			      int64_t balance)
{
	if (account < 0 || account >= h->accounts) {
		errno = EINVAL;
		return -1;
	}
	h->final_balances[account] = balance;
	h->final_balance_seen[account] = true;
	h->have_final = true;
	return 0;
}

/* ---- the history file -------------------------------------------------- */

static int name_of(const char *word, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(word, names[i]) == 0)
			return i;
	return -1;
}

static bool rest_empty(const char *p)
{
	return p[strspn(p, " \t\r\n")] == '\0';
}

#define NAMEF "%63s"

static int parse_op(struct nem_history *h, const char *p, char *err,
		    size_t errlen)
{
	struct nem_op op = { 0 };
	char kind[NEM_NAME], outcome[NEM_NAME];
	int end = 0;
	if (sscanf(p,
		   "op " NAMEF " " NAMEF " " NAMEF " %" SCNd64 " %" SCNd64
		   " " NAMEF " %" SCNd64 " %" SCNu64 "%n",
		   kind, op.endpoint, op.node, &op.start_us, &op.end_us,
		   outcome, &op.epoch, &op.token, &end) != 8)
		goto bad;
	int k = name_of(kind, kind_names, NEM_KINDS);
	int o = name_of(outcome, outcome_names, NEM_OUTCOMES);
	if (k < 0 || o < 0 || op.end_us < op.start_us)
		goto bad;
	op.kind = (enum nem_kind)k;
	op.outcome = (enum nem_outcome)o;
	p += end;
	int more = 0;
	if (op.kind == NEM_APPEND &&
	    sscanf(p, " %" SCNd64 "%n", &op.id, &more) != 1)
		goto bad;
	if (op.kind == NEM_TRANSFER &&
	    sscanf(p, " %" SCNd64 " %d %d %" SCNd64 "%n", &op.id, &op.from,
		   &op.to, &op.amount, &more) != 4)
		goto bad;
	if (op.kind == NEM_READ &&
	    sscanf(p, " %" SCNd64 "%n", &op.total, &more) != 1)
		goto bad;
	if (!rest_empty(p + more))
		goto bad;
	if (nem_history_add_op(h, &op) == 0)
		return 0;
	snprintf(err, errlen, "out of memory");
	return -1;
bad:
	snprintf(err, errlen,
		 "expected \"op KIND ENDPOINT NODE START END OUTCOME EPOCH "
		 "TOKEN ARGS\"");
	return -1;
}

static int parse_lease(struct nem_history *h, const char *p, char *err,
		       size_t errlen)
{
	struct nem_lease l = { 0 };
	int end = 0, more = 0;
	if (sscanf(p, "lease %" SCNd64 " %" SCNd64 " " NAMEF " %" SCNu64 "%n",
		   &l.t0_us, &l.t1_us, l.holder, &l.token, &end) != 4 ||
	    l.t1_us < l.t0_us) {
		snprintf(err, errlen,
			 "expected \"lease T0 T1 HOLDER|- TOKEN [M0 M1 "
			 "HOLDER_ID|-]\"");
		return -1;
	}
	/* the monotonic interval and the full holder id, for nemlease.h */
	if (sscanf(p + end, " %" SCNu64 " %" SCNu64 " " NAMEF "%n", &l.m0_ns,
		   &l.m1_ns, l.holder_id, &more) == 3)
		end += more;
	if (!rest_empty(p + end) || l.m1_ns < l.m0_ns) {
		snprintf(err, errlen,
			 "expected \"lease T0 T1 HOLDER|- TOKEN [M0 M1 "
			 "HOLDER_ID|-]\"");
		return -1;
	}
	if (strcmp(l.holder, "-") == 0)
		l.holder[0] = '\0';
	if (strcmp(l.holder_id, "-") == 0)
		l.holder_id[0] = '\0';
	return nem_history_add_lease(h, &l);
}

static int parse_fault(struct nem_history *h, const char *p, char *err,
		       size_t errlen)
{
	struct nem_fault f = { 0 };
	int end = 0;
	if (sscanf(p, "fault " NAMEF " " NAMEF " %" SCNd64 " %" SCNd64 " %d%n",
		   f.kind, f.node, &f.start_us, &f.end_us, &f.rc, &end) != 5 ||
	    !rest_empty(p + end)) {
		snprintf(err, errlen,
			 "expected \"fault KIND NODE START END RC\"");
		return -1;
	}
	return nem_history_add_fault(h, &f);
}

static int parse_final(struct nem_history *h, const char *p, char *err,
		       size_t errlen)
{
	int end = 0, a;
	int64_t v;
	struct nem_ledger_row row;
	if (sscanf(p, "final-append %" SCNd64 "%n", &v, &end) == 1 &&
	    rest_empty(p + end))
		return nem_history_final_append(h, v);
	if (sscanf(p, "final-ledger %" SCNd64 " %d %d %" SCNd64 "%n", &row.id,
		   &row.from, &row.to, &row.amount, &end) == 4 &&
	    rest_empty(p + end))
		return nem_history_final_ledger(h, &row);
	if (sscanf(p, "final-balance %d %" SCNd64 "%n", &a, &v, &end) == 2 &&
	    rest_empty(p + end)) {
		if (nem_history_final_balance(h, a, v) == 0)
			return 0;
		snprintf(err, errlen, "account %d out of range", a);
		return -1;
	}
	if (sscanf(p, "final " NAMEF "%n", h->final_node, &end) == 1 &&
	    rest_empty(p + end)) {
		h->have_final = true;
		return 0;
	}
	snprintf(err, errlen, "malformed final line");
	return -1;
}

int nem_parse_line(struct nem_history *h, const char *line, char *err,
		   size_t errlen)
{
	const char *p = line + strspn(line, " \t\r\n");
	if (*p == '\0' || *p == '#')
		return 1;
	if (strncmp(p, "op ", 3) == 0)
		return parse_op(h, p, err, errlen);
	if (strncmp(p, "lease ", 6) == 0)
		return parse_lease(h, p, err, errlen);
	if (strncmp(p, "fault ", 6) == 0)
		return parse_fault(h, p, err, errlen);
	if (strncmp(p, "final", 5) == 0) {
		if (h->accounts == 0) {
			snprintf(err, errlen, "final state before config");
			return -1;
		}
		return parse_final(h, p, err, errlen);
	}
	int accounts, end = 0;
	int64_t total;
	uint64_t seed;
	if (sscanf(p, "config %d %" SCNd64 " %" SCNu64 "%n", &accounts, &total,
		   &seed, &end) == 3 &&
	    rest_empty(p + end)) {
		if (nem_history_config(h, accounts, total, seed) == 0)
			return 0;
		snprintf(err, errlen, "bad config (total %% accounts != 0?)");
		return -1;
	}
	snprintf(err, errlen, "unknown line");
	return -1;
}

void nem_format_op(const struct nem_op *op, char *buf, size_t len)
{
	int n = snprintf(buf, len,
			 "op %s %s %s %" PRId64 " %" PRId64 " %s %" PRId64
			 " %" PRIu64,
			 kind_names[op->kind], op->endpoint,
			 op->node[0] ? op->node : "-", op->start_us, op->end_us,
			 outcome_names[op->outcome], op->epoch, op->token);
	if (n < 0 || (size_t)n >= len)
		return;
	if (op->kind == NEM_APPEND)
		snprintf(buf + n, len - n, " %" PRId64 "\n", op->id);
	else if (op->kind == NEM_TRANSFER)
		snprintf(buf + n, len - n, " %" PRId64 " %d %d %" PRId64 "\n",
			 op->id, op->from, op->to, op->amount);
	else
		snprintf(buf + n, len - n, " %" PRId64 "\n", op->total);
}

void nem_format_lease(const struct nem_lease *l, char *buf, size_t len)
{
	int n = snprintf(buf, len, "lease %" PRId64 " %" PRId64 " %s %" PRIu64,
			 l->t0_us, l->t1_us, l->holder[0] ? l->holder : "-",
			 l->token);
	if (n < 0 || (size_t)n >= len)
		return;
	if (l->m0_ns)
		snprintf(buf + n, len - (size_t)n,
			 " %" PRIu64 " %" PRIu64 " %s\n", l->m0_ns, l->m1_ns,
			 l->holder_id[0] ? l->holder_id : "-");
	else
		snprintf(buf + n, len - (size_t)n, "\n");
}

void nem_format_fault(const struct nem_fault *f, char *buf, size_t len)
{
	snprintf(buf, len, "fault %s %s %" PRId64 " %" PRId64 " %d\n", f->kind,
		 f->node, f->start_us, f->end_us, f->rc);
}

/* ---- the checks -------------------------------------------------------- */

static void violation(struct nem_report *r, enum nem_check_id c,
		      const char *fmt, ...)
{
	r->violations_by_check[c]++;
	if (r->n_violations < NEM_VIOLATIONS_KEPT) {
		char *buf = r->violations[r->n_violations];
		int n = snprintf(buf, sizeof(r->violations[0]),
				 "%s: ", check_names[c]);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(buf + n, sizeof(r->violations[0]) - (size_t)n, fmt,
			  ap);
		va_end(ap);
	}
	r->n_violations++;
}

static int cmp_i64(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
	return (a > b) - (a < b);
}

static int cmp_ledger(const void *pa, const void *pb)
{
	return cmp_i64(&((const struct nem_ledger_row *)pa)->id,
		       &((const struct nem_ledger_row *)pb)->id);
}

static bool is_write(const struct nem_op *op)
{
	return op->kind == NEM_APPEND || op->kind == NEM_TRANSFER;
}

static void check_ops_against_final(struct nem_history *h, struct nem_report *r)
{
	if (h->n_final_appends)
		qsort(h->final_appends, h->n_final_appends, sizeof(int64_t),
		      cmp_i64);
	if (h->n_final_ledger)
		qsort(h->final_ledger, h->n_final_ledger,
		      sizeof(*h->final_ledger), cmp_ledger);
	for (size_t i = 0; i < h->n_ops; i++) {
		const struct nem_op *op = &h->ops[i];
		if (op->outcome != NEM_OK)
			continue;
		if (op->kind == NEM_READ && op->total != h->total)
			violation(r, NEM_READ_TOTAL,
				  "%s read a total of %" PRId64 " at %" PRId64
				  ", expected %" PRId64,
				  op->node, op->total, op->end_us, h->total);
		if (!h->have_final)
			continue;
		if (op->kind == NEM_APPEND &&
		    !bsearch(&op->id, h->final_appends, h->n_final_appends,
			     sizeof(int64_t), cmp_i64))
			violation(r, NEM_LOST_APPEND,
				  "append %" PRId64 " acked by %s at %" PRId64
				  " is not on the final primary",
				  op->id, op->node, op->end_us);
		if (op->kind != NEM_TRANSFER)
			continue;
		struct nem_ledger_row key = { .id = op->id };
		const struct nem_ledger_row *row = bsearch(&key,
							   h->final_ledger,
							   h->n_final_ledger,
							   sizeof(key),
							   cmp_ledger);
		if (!row || row->from != op->from || row->to != op->to ||
		    row->amount != op->amount)
			violation(r, NEM_LOST_TRANSFER,
				  "transfer %" PRId64 " (%d -> %d, %" PRId64
				  ") acked by %s at %" PRId64 " is %s",
				  op->id, op->from, op->to, op->amount,
				  op->node, op->end_us,
				  row ? "recorded otherwise" : "missing");
	}
}

static void check_final_balances(const struct nem_history *h,
				 struct nem_report *r)
{
	if (!h->have_final)
		return;
	int64_t *want = calloc((size_t)h->accounts, sizeof(*want));
	if (!want)
		return;
	int64_t sum = 0;
	for (int a = 0; a < h->accounts; a++)
		want[a] = h->total / h->accounts;
	for (size_t i = 0; i < h->n_final_ledger; i++) {
		const struct nem_ledger_row *row = &h->final_ledger[i];
		if (row->from >= 0 && row->from < h->accounts)
			want[row->from] -= row->amount;
		if (row->to >= 0 && row->to < h->accounts)
			want[row->to] += row->amount;
	}
	for (int a = 0; a < h->accounts; a++) {
		sum += h->final_balances[a];
		if (h->final_balance_seen[a] && h->final_balances[a] == want[a])
			continue;
		violation(r, NEM_FINAL_BALANCE,
			  "account %d holds %" PRId64
			  "%s, the ledger says %" PRId64,
			  a, h->final_balances[a],
			  h->final_balance_seen[a] ? "" : " (missing)",
			  want[a]);
	}
	if (sum != h->total)
		violation(r, NEM_FINAL_TOTAL,
			  "the final balances add up to %" PRId64
			  ", expected %" PRId64,
			  sum, h->total);
	free(want);
}

static int term_find_or_add(struct nem_report *r, size_t *cap,
			    const struct nem_op *op)
{
	for (size_t i = 0; i < r->n_terms; i++)
		if (r->terms[i].epoch == op->epoch &&
		    strcmp(r->terms[i].node, op->node) == 0)
			return (int)i;
	if (grow(&r->terms, r->n_terms, cap, sizeof(*r->terms)) != 0)
		return -1;
	struct nem_term *t = &r->terms[r->n_terms];
	*t = (struct nem_term){ .epoch = op->epoch,
				.first_start_us = op->start_us,
				.first_end_us = op->end_us,
				.last_end_us = op->end_us };
	snprintf(t->node, sizeof(t->node), "%s", op->node);
	return (int)r->n_terms++;
}

static void term_add(struct nem_term *t, const struct nem_op *op)
{
	if (op->start_us < t->first_start_us)
		t->first_start_us = op->start_us;
	if (op->end_us < t->first_end_us)
		t->first_end_us = op->end_us;
	if (op->end_us > t->last_end_us)
		t->last_end_us = op->end_us;
	if (op->token && (!t->token_min || op->token < t->token_min))
		t->token_min = op->token;
	if (op->token > t->token_max)
		t->token_max = op->token;
	t->acks++;
}

static int cmp_term(const void *pa, const void *pb)
{
	const struct nem_term *a = pa, *b = pb;
	return cmp_i64(&a->first_end_us, &b->first_end_us);
}

/* The terms are few (one per promotion), so every pair is compared. */
static int build_terms(const struct nem_history *h, struct nem_report *r)
{
	size_t cap = 0;
	for (size_t i = 0; i < h->n_ops; i++) {
		const struct nem_op *op = &h->ops[i];
		if (op->outcome != NEM_OK || !is_write(op))
			continue;
		r->acked_writes++;
		int t = term_find_or_add(r, &cap, op);
		if (t < 0)
			return -1;
		term_add(&r->terms[t], op);
	}
	if (r->n_terms)
		qsort(r->terms, r->n_terms, sizeof(*r->terms), cmp_term);
	for (size_t i = 0; i < r->n_terms; i++)
		for (size_t j = i + 1; j < r->n_terms; j++) {
			const struct nem_term *a = &r->terms[i],
					      *b = &r->terms[j];
			if (a->first_start_us >= b->last_end_us ||
			    b->first_start_us >= a->last_end_us)
				continue;
			violation(r, NEM_TWO_PRIMARIES,
				  "%s (timeline %" PRId64
				  ") acked writes from %" PRId64 " to %" PRId64
				  ", %s (timeline %" PRId64 ") from %" PRId64
				  " to %" PRId64,
				  a->node, a->epoch, a->first_start_us,
				  a->last_end_us, b->node, b->epoch,
				  b->first_start_us, b->last_end_us);
		}
	return 0;
}

static int build_failovers(struct nem_report *r)
{
	if (r->n_terms < 2)
		return 0;
	r->failovers = calloc(r->n_terms - 1, sizeof(*r->failovers));
	if (!r->failovers)
		return -1;
	for (size_t i = 0; i + 1 < r->n_terms; i++)
		r->failovers[r->n_failovers++] = (struct nem_failover){
			.from = i,
			.to = i + 1,
			.gap_us = r->terms[i + 1].first_end_us -
				  r->terms[i].last_end_us,
		};
	return 0;
}

static int cmp_lease_t0(const void *pa, const void *pb)
{
	const struct nem_lease *a = pa, *b = pb;
	return cmp_i64(&a->t0_us, &b->t0_us);
}

static int cmp_lease_token(const void *pa, const void *pb)
{
	const struct nem_lease *a = pa, *b = pb;
	return (a->token > b->token) - (a->token < b->token);
}

static void check_lease_tokens(struct nem_history *h, struct nem_report *r)
{
	for (size_t i = 1; i < h->n_leases; i++) {
		const struct nem_lease *a = &h->leases[i - 1],
				       *b = &h->leases[i];
		if (a->t1_us <= b->t0_us && b->token < a->token)
			violation(r, NEM_TOKEN_ORDER,
				  "token %" PRIu64 " (%s) seen at %" PRId64
				  " after token %" PRIu64 " at %" PRId64,
				  b->token, b->holder[0] ? b->holder : "free",
				  b->t0_us, a->token, a->t1_us);
	}
	struct nem_lease *by_token = malloc(h->n_leases * sizeof(*by_token) +
					    1);
	if (!by_token)
		return;
	memcpy(by_token, h->leases, h->n_leases * sizeof(*by_token));
	if (h->n_leases)
		qsort(by_token, h->n_leases, sizeof(*by_token),
		      cmp_lease_token);
	/* one report per token: the first holder against each other one */
	const char *holder = NULL;
	for (size_t i = 0; i < h->n_leases; i++) {
		const struct nem_lease *l = &by_token[i];
		if (i == 0 || l->token != by_token[i - 1].token)
			holder = NULL;
		if (!l->token || !l->holder[0])
			continue;
		if (!holder)
			holder = l->holder;
		else if (strcmp(holder, l->holder) != 0) {
			violation(r, NEM_TOKEN_HOLDER,
				  "token %" PRIu64 " held by %s and by %s",
				  l->token, holder, l->holder);
			holder = l->holder;
		}
	}
	free(by_token);
}

/* Index of the last observation ended by t (-1: none), leases sorted by
 * t0 and (one poller) by t1 too. */
static long lease_before(const struct nem_history *h, int64_t t)
{
	long lo = 0, hi = (long)h->n_leases; /* first with t1 > t */
	while (lo < hi) {
		long mid = (lo + hi) / 2;
		if (h->leases[mid].t1_us <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

/* The first observation started at or after t (n_leases: none). */
static size_t lease_after(const struct nem_history *h, int64_t t)
{
	size_t lo = 0, hi = h->n_leases;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->leases[mid].t0_us < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void check_unleased_acks(const struct nem_history *h,
				struct nem_report *r)
{
	for (size_t i = 0; i < h->n_ops; i++) {
		const struct nem_op *op = &h->ops[i];
		if (op->outcome != NEM_OK || !is_write(op))
			continue;
		long a = lease_before(h, op->start_us);
		size_t b = lease_after(h, op->end_us);
		if (a < 0 || b >= h->n_leases)
			continue;
		const struct nem_lease *la = &h->leases[a], *lb = &h->leases[b];
		if (!la->token || la->token != lb->token ||
		    strcmp(la->holder, lb->holder) != 0 ||
		    strcmp(la->holder, op->node) == 0)
			continue;
		violation(r, NEM_UNLEASED_ACK,
			  "%s acked %s %" PRId64 " in [%" PRId64 ", %" PRId64
			  "] while token %" PRIu64 " was %s%s from %" PRId64
			  " to %" PRId64,
			  op->node, kind_names[op->kind], op->id, op->start_us,
			  op->end_us, la->token,
			  la->holder[0] ? "held by " : "free", la->holder,
			  la->t1_us, lb->t0_us);
	}
}

static int count_faults(const struct nem_history *h, struct nem_report *r)
{
	size_t cap = 0;
	for (size_t i = 0; i < h->n_faults; i++) {
		const struct nem_fault *f = &h->faults[i];
		size_t k = 0;
		while (k < r->n_fault_kinds &&
		       strcmp(r->fault_kinds[k].kind, f->kind) != 0)
			k++;
		if (k == r->n_fault_kinds) {
			if (grow(&r->fault_kinds, k, &cap,
				 sizeof(*r->fault_kinds)) != 0)
				return -1;
			r->fault_kinds[k] = (struct nem_fault_count){ 0 };
			snprintf(r->fault_kinds[k].kind, NEM_NAME, "%s",
				 f->kind);
			r->n_fault_kinds++;
		}
		r->fault_kinds[k].n++;
		r->fault_kinds[k].failed += f->rc != 0;
	}
	return 0;
}

int nem_check(struct nem_history *h, struct nem_report *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < h->n_ops; i++)
		r->ops[h->ops[i].kind][h->ops[i].outcome]++;
	if (h->n_leases)
		qsort(h->leases, h->n_leases, sizeof(*h->leases), cmp_lease_t0);
	check_ops_against_final(h, r);
	check_final_balances(h, r);
	if (build_terms(h, r) != 0 || build_failovers(r) != 0 ||
	    count_faults(h, r) != 0) {
		nem_report_free(r);
		return -1;
	}
	check_lease_tokens(h, r);
	check_unleased_acks(h, r);
	if (nem_check_lease(h, r) != 0) {
		nem_report_free(r);
		return -1;
	}
	if (r->lease_checked && r->lease_verdict == LC_VIOLATION)
		violation(r, NEM_LEASE_LINEARIZABLE,
			  "the agents' requests on the primary lease and "
			  "the lease observations are not linearizable "
			  "(%zu of %zu windows fail, printed above)",
			  r->lease_windows.failed, r->lease_windows.windows);
	return 0;
}

void nem_report_free(struct nem_report *r)
{
	free(r->terms);
	free(r->failovers);
	free(r->fault_kinds);
	free(r->lease_detail);
	memset(r, 0, sizeof(*r));
}

/* ---- the summary ------------------------------------------------------- */

static double secs(int64_t us)
{
	return (double)us / 1e6;
}

static void print_ops(const struct nem_report *r, FILE *out)
{
	fprintf(out, "operations (ok / failed / unknown):");
	for (int k = 0; k < NEM_KINDS; k++)
		fprintf(out, " %s %zu/%zu/%zu%s", kind_names[k],
			r->ops[k][NEM_OK], r->ops[k][NEM_FAILED],
			r->ops[k][NEM_UNKNOWN], k + 1 < NEM_KINDS ? "," : "\n");
}

static void print_faults(const struct nem_report *r, FILE *out)
{
	fprintf(out, "faults:");
	if (!r->n_fault_kinds)
		fprintf(out, " none");
	for (size_t i = 0; i < r->n_fault_kinds; i++)
		fprintf(out, " %s %zu%s", r->fault_kinds[i].kind,
			r->fault_kinds[i].n,
			r->fault_kinds[i].failed ? " (some failed)" : "");
	fprintf(out, "\n");
}

static void print_terms(const struct nem_report *r, int64_t t0, FILE *out)
{
	for (size_t i = 0; i < r->n_terms; i++) {
		const struct nem_term *t = &r->terms[i];
		fprintf(out,
			"term %s timeline %" PRId64 " token %" PRIu64
			"..%" PRIu64 ": %zu acks from %.3f s to %.3f s\n",
			t->node, t->epoch, t->token_min, t->token_max, t->acks,
			secs(t->first_start_us - t0),
			secs(t->last_end_us - t0));
	}
	int64_t lo = 0, hi = 0;
	for (size_t i = 0; i < r->n_failovers; i++) {
		const struct nem_failover *f = &r->failovers[i];
		if (i == 0 || f->gap_us < lo)
			lo = f->gap_us;
		if (i == 0 || f->gap_us > hi)
			hi = f->gap_us;
		fprintf(out,
			"failover %s -> %s at %.3f s: %.3f s without acks\n",
			r->terms[f->from].node, r->terms[f->to].node,
			secs(r->terms[f->from].last_end_us - t0),
			secs(f->gap_us));
	}
	fprintf(out, "failovers: %zu", r->n_failovers);
	if (r->n_failovers)
		fprintf(out, " (shortest %.3f s, longest %.3f s)", secs(lo),
			secs(hi));
	fprintf(out, "\n");
}

static void print_lease_check(const struct nem_history *h,
			      const struct nem_report *r, FILE *out)
{
	static const char *const verdicts[] = { "linearizable",
						"NOT LINEARIZABLE",
						"undecided (budget ran out)" };
	if (!r->lease_checked) {
		fprintf(out, "lease linearizability: not checked (no agent "
			     "lease trace)\n");
		return;
	}
	const struct lc_window_summary *w = &r->lease_windows;
	fprintf(out,
		"lease linearizability: %s: %zu agent ops from %zu traces "
		"(%zu unknown outcomes, %zu retry shadows, %zu torn lines) "
		"and %zu reads; %zu windows (at most %zu ops), %llu states, "
		"%.3f s\n",
		verdicts[r->lease_verdict], r->lease_agent_ops, h->lease_traces,
		r->lease_unknown, r->lease_shadows, h->lease_torn,
		r->lease_reads, w->windows, w->max_ops,
		(unsigned long long)w->states, w->seconds);
	if (r->lease_detail)
		fputs(r->lease_detail, out);
}

void nem_report_print(const struct nem_history *h, const struct nem_report *r,
		      FILE *out)
{
	int64_t t0 = h->n_ops ? h->ops[0].start_us : 0;
	for (size_t i = 0; i < h->n_ops; i++)
		if (h->ops[i].start_us < t0)
			t0 = h->ops[i].start_us;
	fprintf(out,
		"times are seconds from the first operation (%" PRId64 " us)\n",
		t0);
	print_ops(r, out);
	print_faults(r, out);
	print_terms(r, t0, out);
	fprintf(out,
		"lease observations: %zu; final primary: %s "
		"(%zu appends, %zu transfers)\n",
		h->n_leases, h->final_node[0] ? h->final_node : "none read",
		h->n_final_appends, h->n_final_ledger);
	print_lease_check(h, r, out);
	for (size_t i = 0; i < r->n_violations && i < NEM_VIOLATIONS_KEPT; i++)
		fprintf(out, "VIOLATION %s\n", r->violations[i]);
	if (r->n_violations > NEM_VIOLATIONS_KEPT)
		fprintf(out, "VIOLATION ... and %zu more\n",
			r->n_violations - NEM_VIOLATIONS_KEPT);
	fprintf(out, "violations: %zu", r->n_violations);
	for (int c = 0; c < NEM_CHECKS; c++)
		if (r->violations_by_check[c])
			fprintf(out, " %s=%zu", check_names[c],
				r->violations_by_check[c]);
	fprintf(out, "\nseed: %" PRIu64 "\n", h->seed);
}
