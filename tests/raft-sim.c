/*
 * raft-sim.c — a whole tenure Raft cluster in one process, driven by a seed.
 *
 * The core is a pure function of its inputs (docs/design.md rule 1), so a
 * discrete-event simulation can put it through bad networks, crashing hosts,
 * failing disks and drifting clocks, check the Raft safety properties after
 * every single step, and replay any failure exactly from its seed.
 *
 *   tests/raft-sim --seed N --seeds K --nodes 3|5 [--verbose] [--time MS]
 *
 * Everything random comes from one PRNG seeded by the seed; events run in
 * (simulated time, sequence number) order, so a run is fully reproducible.
 * Each seed runs in a forked child: an assertion inside the core (abort) or
 * a hang (alarm) is reported with the seed instead of killing the whole run.
 *
 * Layout: PRNG and hashing; event queue; trace ring and violations; network;
 * disk (durable image, pending writes); application state machine; invariant
 * checker; node lifecycle and stepping; workload, faults and liveness probe;
 * seed driver and main.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raft/raft.h"

#define MAX_NODES 16 /* node ids 1..MAX_NODES-1; index == id */
#define ELECTION_TIMEOUT_MS 100
#define HEARTBEAT_MS 20
#define TICK_US 5000
#define LIVENESS_TIMEOUTS 20 /* election timeouts allowed after the heal */
#define TRACE_LINES 64
#define TRACE_WIDTH 200
#define SNAP_MAGIC 0x74656e7572655350ull
#define AUDIT_EVERY 4000 /* steps of one node between full log audits */

/* ---- options -------------------------------------------------------------- */

struct sim_opts {
	const char *argv0;
	uint64_t seed;
	uint64_t seeds;
	unsigned nodes;
	bool verbose;
	uint64_t time_ms; /* faulty part of each seed, before the heal */
	bool faults;
	unsigned jobs;
	bool fork;
	bool keep_going; /* survey: run every seed even after failures */
	unsigned seed_timeout_s;
};

/* Counters a seed reports to the parent, to show what the run covered. */
struct seed_stats {
	uint64_t steps;
	uint64_t elections;
	uint64_t commits;
	uint64_t crashes;
	uint64_t snapshots_taken;
	uint64_t snapshots_installed;
	uint64_t reads_ok;
	uint64_t disk_failures;
	uint64_t config_changes;
	uint64_t transfers;
	uint64_t sim_ms;
	uint64_t old_term_commits; /* leader commit landed on an older term */
};

/* ---- PRNG and hashing ---------------------------------------------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *g, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&seed);
}

static uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: fast, and its whole state is four words we own. */
static uint64_t rng_next(struct rng *g)
{
	uint64_t *s = g->s;
	uint64_t result = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

static uint64_t rng_below(struct rng *g, uint64_t n)
{
	return n ? rng_next(g) % n : 0;
}

static uint64_t rng_between(struct rng *g, uint64_t lo, uint64_t hi)
{
	return lo + rng_below(g, hi - lo + 1);
}

static bool rng_permille(struct rng *g, unsigned p)
{
	return rng_below(g, 1000) < p;
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdull;
	z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ull;
	return z ^ (z >> 33);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return mix64(h ^ n);
}

/* Hash of an entry and everything before it: equal chains at an index mean
 * equal logs up to there, which is what log matching is about. */
static uint64_t entry_chain(uint64_t prev, const struct raft_entry *e)
{
	uint64_t h = mix64(prev ^ 0x243F6A8885A308D3ull);
	h = mix64(h ^ e->index);
	h = mix64(h ^ e->term);
	h = mix64(h ^ e->type);
	h = mix64(h ^ hash_bytes(e->data.base, e->data.len));
	return h | 1; /* 0 means "unknown" everywhere below */
}

/* The application's state after applying e: content only, no log position
 * beyond the order of application. */
static uint64_t state_after(uint64_t state, const struct raft_entry *e)
{
	uint64_t h = mix64(state ^ 0x13198A2E03707344ull);
	h = mix64(h ^ ((uint64_t)e->type << 56 ^ e->term));
	h = mix64(h ^ hash_bytes(e->data.base, e->data.len));
	return h | 1;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fprintf(stderr, "raft-sim: out of memory\n");
		abort();
	}
	return q;
}

static void *xmemdup(const void *p, size_t n)
{
	if (!n)
		return NULL;
	void *q = xrealloc(NULL, n);
	memcpy(q, p, n);
	return q;
}

/* Grow *arr (elements of size elem) so that index i fits, zeroing new
 * space: the registries below are indexed by Raft index or term. */
static void grow_zeroed(void **arr, size_t *cap, size_t i, size_t elem)
{
	if (i < *cap)
		return;
	size_t ncap = *cap ? *cap : 64;
	while (ncap <= i)
		ncap *= 2;
	*arr = xrealloc(*arr, ncap * elem);
	memset((char *)*arr + *cap * elem, 0, (ncap - *cap) * elem);
	*cap = ncap;
}

/* ---- event queue: a min-heap on (time, sequence) -------------------------- */

enum ev_kind {
	EV_TICK = 1,
	EV_DELIVER,
	EV_DISK,
	EV_PROPOSE,
	EV_READ,
	EV_TRANSFER,
	EV_MEMBERSHIP,
	EV_PHASE,
	EV_CRASH,
	EV_RESTART,
	EV_HEAL,
	EV_CHURN,
	EV_PROBE,
};

struct net_msg {
	struct raft_message m; /* deep copy: owns entries and chunk */
};

struct sim_event {
	uint64_t at;  /* simulated microseconds */
	uint64_t seq; /* tie-break: insertion order */
	int kind;
	unsigned node;
	uint64_t inc; /* node incarnation the event belongs to */
	uint64_t arg;
	struct net_msg *msg;
};

struct event_queue {
	struct sim_event *heap;
	size_t n, cap;
	uint64_t next_seq;
};

static bool ev_before(const struct sim_event *a, const struct sim_event *b)
{
	return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static void queue_push(struct event_queue *q, struct sim_event ev)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 1024;
		q->heap = xrealloc(q->heap, q->cap * sizeof(*q->heap));
	}
	ev.seq = q->next_seq++;
	size_t i = q->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_before(&ev, &q->heap[parent]))
			break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = ev;
}

static bool queue_pop(struct event_queue *q, struct sim_event *out)
{
	if (q->n == 0)
		return false;
	*out = q->heap[0];
	struct sim_event last = q->heap[--q->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->n)
			break;
		if (c + 1 < q->n && ev_before(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!ev_before(&q->heap[c], &last))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (q->n)
		q->heap[i] = last;
	return true;
}

/* ---- the simulation's state ---------------------------------------------- */

struct trace_ring {
	char line[TRACE_LINES][TRACE_WIDTH];
	unsigned next, n;
};

struct net_faults {
	unsigned loss, dup, long_delay; /* permille per message */
	uint64_t delay_min_us, delay_max_us;
	bool cut[MAX_NODES][MAX_NODES];     /* [from][to] */
	uint64_t isolated_until[MAX_NODES]; /* churn: node cut off until */
	unsigned churn; /* permille of new leaders knocked out at once */
};

struct disk_faults {
	unsigned write_fail; /* permille per log/snapshot write */
	unsigned hs_fail;    /* permille per hard-state write */
	uint64_t fsync_min_us, fsync_max_us;
};

/* What survives a crash. */
struct disk_image {
	raft_term term;
	raft_id vote;
	raft_index snap_index;
	raft_term snap_term;
	struct raft_config snap_config;
	struct raft_buf snap_data;
	struct raft_entry *log; /* log[k].index == snap_index + 1 + k */
	size_t n, cap;
};

/* A write handed out by the core and not yet durable. */
struct disk_write {
	uint64_t seq;
	bool snapshot;
	bool fail; /* decided when queued: the fault plan */
	raft_index first;
	raft_term prev_term; /* term at first-1 when queued, 0 unknown */
	unsigned n;
	struct raft_entry *entries;
	raft_index snap_index;
	raft_term snap_term;
	struct raft_config snap_config;
	struct raft_buf snap_data;
};

struct app {
	raft_index applied;
	uint64_t state;
	struct raft_config config; /* as of .applied */
	raft_index snapshot_due;   /* take a snapshot once applied reaches it */
};

/* The checker's copy of one node's in-memory log: term and chain hash per
 * index above .base (the node's snapshot when the copy was rebuilt). */
struct shadow_log {
	raft_index base;
	raft_term base_term;
	uint64_t base_chain;
	raft_term *term;
	uint64_t *chain;
	size_t n, cap;
};

enum node_status {
	NODE_SPARE = 0,
	NODE_UP,
	NODE_DOWN,
	NODE_REMOVED
};

struct sim_node {
	raft_id id;
	int status;
	uint64_t inc; /* incarnation: bumps at each crash */
	struct raft *raft;
	uint32_t rate_ppm; /* clock rate, 1000000 = exact */
	struct disk_image disk;
	struct disk_write *writes;
	size_t n_writes, cap_writes;
	uint64_t disk_busy_until;
	bool disk_dropped_tail; /* stale writes dropped; later ones chain on */
	struct disk_faults df;
	struct app app;
	struct shadow_log sh;
	raft_index commit_seen;
	int role_seen;
	raft_term term_seen;
	unsigned steps_since_audit;
	bool hs_failed_todo; /* step PERSIST_FAILED{hard_state} next */
	bool stop_pending;   /* removed from the cluster: stop after event */
};

struct reg_slot {
	raft_index index;
	raft_term term;
	uint64_t chain;
};

struct commit_rec {
	raft_term term;
	uint64_t chain;        /* 0: only seen compacted */
	raft_term commit_term; /* observer's term when first seen committed */
};

struct pending_read {
	uint64_t id;
	raft_id node;
	uint64_t inc;
	raft_index required; /* highest commit anywhere when requested */
};

struct checker {
	struct reg_slot *reg; /* (index, term) -> chain, open addressing */
	size_t reg_cap, reg_n;
	struct commit_rec *committed; /* by index */
	size_t committed_cap;
	raft_index max_commit;
	uint64_t *state_hash; /* by index: app state after applying it */
	size_t state_cap;
	raft_id *leader_of; /* by term */
	size_t leader_cap;
	struct pending_read *reads;
	size_t n_reads, cap_reads;
};

struct sim {
	const struct sim_opts *opt;
	uint64_t seed;
	struct rng rng;
	uint64_t now; /* simulated microseconds */
	struct event_queue q;
	struct trace_ring tr;
	struct sim_node nodes[MAX_NODES];
	unsigned n_initial;
	raft_id next_spare;
	struct raft_options ropt;
	struct net_faults net;
	struct checker chk;
	struct raft_config cluster_config; /* newest applied anywhere */
	raft_index cluster_config_index;
	uint64_t heal_at;
	uint64_t liveness_deadline;
	bool healed;
	bool done;
	uint64_t next_value;
	uint64_t next_read_id;
	raft_id probe_node;
	raft_index probe_index;
	raft_term probe_term;
	struct seed_stats st;
	bool failed;
	char invariant[64];
	char detail[768];
};

/* ---- trace ring and violations -------------------------------------------- */

static void trace(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void trace(struct sim *s, const char *fmt, ...)
{
	char *line = s->tr.line[s->tr.next];
	int k = snprintf(line, TRACE_WIDTH, "%6" PRIu64 ".%03u ", s->now / 1000,
			 (unsigned)(s->now % 1000));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + k, TRACE_WIDTH - (size_t)k, fmt, ap);
	va_end(ap);
	s->tr.next = (s->tr.next + 1) % TRACE_LINES;
	if (s->tr.n < TRACE_LINES)
		s->tr.n++;
	if (s->opt->verbose)
		printf("%s\n", line);
}

static void violation(struct sim *s, const char *invariant, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/* Only the first violation counts: later ones are usually its echoes. */
static void violation(struct sim *s, const char *invariant, const char *fmt,
		      ...)
{
	if (s->failed)
		return;
	s->failed = true;
	snprintf(s->invariant, sizeof(s->invariant), "%s", invariant);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	trace(s, "VIOLATION %s: %s", s->invariant, s->detail);
}

static void print_replay(const struct sim *s)
{
	printf("replay: %s --seed %" PRIu64
	       " --seeds 1 --nodes %u --time %" PRIu64 "%s --verbose\n",
	       s->opt->argv0, s->seed, s->opt->nodes, s->opt->time_ms,
	       s->opt->faults ? "" : " --no-faults");
}

static void print_violation(const struct sim *s)
{
	printf("seed %" PRIu64 " (%u nodes): VIOLATION: %s\n", s->seed,
	       s->opt->nodes, s->invariant);
	printf("  %s\n", s->detail);
	printf("--- last %u trace lines ---\n", s->tr.n);
	unsigned start = (s->tr.next + TRACE_LINES - s->tr.n) % TRACE_LINES;
	for (unsigned i = 0; i < s->tr.n; i++)
		printf("%s\n", s->tr.line[(start + i) % TRACE_LINES]);
	printf("--- end of trace ---\n");
	print_replay(s);
}

/* ---- small helpers --------------------------------------------------------- */

static struct sim_node *node_of(struct sim *s, raft_id id)
{
	return (id > 0 && id < MAX_NODES) ? &s->nodes[id] : NULL;
}

static uint64_t node_now(const struct sim *s, const struct sim_node *n)
{
	return s->now * (uint64_t)n->rate_ppm / 1000000000ull;
}

static void schedule(struct sim *s, uint64_t after_us, int kind, unsigned node,
		     uint64_t inc, uint64_t arg)
{
	struct sim_event ev = { .at = s->now + after_us,
				.kind = kind,
				.node = node,
				.inc = inc,
				.arg = arg };
	queue_push(&s->q, ev);
}

static void entry_copy(struct raft_entry *dst, const struct raft_entry *src)
{
	*dst = *src;
	dst->data.base = xmemdup(src->data.base, src->data.len);
}

static void entries_free(struct raft_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].data.base);
	free(e);
}

/* ---- checker: entry registry (log matching) ------------------------------- */

static size_t reg_hash(raft_index idx, raft_term term, size_t cap)
{
	return (size_t)(mix64(idx * 0x9E3779B97F4A7C15ull ^ term) & (cap - 1));
}

static void reg_grow(struct checker *c)
{
	size_t ncap = c->reg_cap ? c->reg_cap * 2 : 4096;
	struct reg_slot *old = c->reg;
	size_t ocap = c->reg_cap;
	c->reg = xrealloc(NULL, ncap * sizeof(*c->reg));
	memset(c->reg, 0, ncap * sizeof(*c->reg));
	c->reg_cap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].chain)
			continue;
		size_t h = reg_hash(old[i].index, old[i].term, ncap);
		while (c->reg[h].chain)
			h = (h + 1) & (ncap - 1);
		c->reg[h] = old[i];
	}
	free(old);
}

/* The slot for (idx, term); a fresh one has chain 0. */
static struct reg_slot *reg_slot(struct checker *c, raft_index idx,
				 raft_term term)
{
	if ((c->reg_n + 1) * 10 >= c->reg_cap * 7)
		reg_grow(c);
	size_t h = reg_hash(idx, term, c->reg_cap);
	while (c->reg[h].chain &&
	       (c->reg[h].index != idx || c->reg[h].term != term))
		h = (h + 1) & (c->reg_cap - 1);
	if (!c->reg[h].chain) {
		c->reg[h].index = idx;
		c->reg[h].term = term;
	}
	return &c->reg[h];
}

static uint64_t reg_lookup(struct checker *c, raft_index idx, raft_term term)
{
	return reg_slot(c, idx, term)->chain;
}

/* Log matching: the first node to hold (idx, term) fixes what comes before
 * it; every later holder must agree. */
static void reg_check(struct sim *s, raft_id node, raft_index idx,
		      raft_term term, uint64_t chain)
{
	struct reg_slot *slot = reg_slot(&s->chk, idx, term);
	if (!slot->chain) {
		slot->chain = chain;
		s->chk.reg_n++;
		return;
	}
	if (slot->chain != chain)
		violation(s, "log matching",
			  "n%" PRIu64 " holds entry %" PRIu64
			  " of term %" PRIu64
			  " but its log up to there differs from another "
			  "node's entry %" PRIu64 " of term %" PRIu64,
			  node, idx, term, idx, term);
}

/* ---- checker: shadow logs --------------------------------------------------- */

static raft_index shadow_last(const struct shadow_log *sh)
{
	return sh->base + sh->n;
}

static raft_term shadow_term(const struct shadow_log *sh, raft_index i)
{
	if (i == sh->base)
		return sh->base_term;
	if (i < sh->base || i > shadow_last(sh))
		return 0;
	return sh->term[i - sh->base - 1];
}

static uint64_t shadow_chain(const struct shadow_log *sh, raft_index i)
{
	if (i == sh->base)
		return sh->base_chain;
	if (i < sh->base || i > shadow_last(sh))
		return 0;
	return sh->chain[i - sh->base - 1];
}

static void shadow_reset(struct shadow_log *sh, raft_index base, raft_term term,
			 uint64_t chain)
{
	sh->base = base;
	sh->base_term = term;
	sh->base_chain = chain;
	sh->n = 0;
}

static void shadow_free(struct shadow_log *sh)
{
	free(sh->term);
	free(sh->chain);
	memset(sh, 0, sizeof(*sh));
}

static void shadow_truncate(struct shadow_log *sh, raft_index from)
{
	if (from <= sh->base)
		sh->n = 0;
	else if (from <= shadow_last(sh))
		sh->n = from - sh->base - 1;
}

static void shadow_append(struct sim *s, struct sim_node *n,
			  const struct raft_entry *e)
{
	struct shadow_log *sh = &n->sh;
	if (e->index != shadow_last(sh) + 1) {
		violation(s, "log tracking",
			  "n%" PRIu64 " appended entry %" PRIu64
			  " after its log ended at %" PRIu64,
			  n->id, e->index, shadow_last(sh));
		return;
	}
	if (sh->n == sh->cap) {
		sh->cap = sh->cap ? sh->cap * 2 : 256;
		sh->term = xrealloc(sh->term, sh->cap * sizeof(*sh->term));
		sh->chain = xrealloc(sh->chain, sh->cap * sizeof(*sh->chain));
	}
	uint64_t chain = entry_chain(shadow_chain(sh, e->index - 1), e);
	sh->term[sh->n] = e->term;
	sh->chain[sh->n] = chain;
	sh->n++;
	reg_check(s, n->id, e->index, e->term, chain);
}

/* Chain hash of a snapshot's last entry: some node held that entry in its
 * log before anyone could snapshot it, so the registry knows it. */
static uint64_t snapshot_chain(struct sim *s, raft_id node, raft_index idx,
			       raft_term term, const char *what)
{
	if (idx == 0)
		return 0;
	uint64_t chain = reg_lookup(&s->chk, idx, term);
	if (!chain)
		violation(s, "log matching",
			  "n%" PRIu64 " %s a snapshot at %" PRIu64
			  " term %" PRIu64 ", an entry no node ever held",
			  node, what, idx, term);
	return chain;
}

/* ---- checker: commits, leaders, applies, reads --------------------------- */

static struct commit_rec *commit_rec(struct checker *c, raft_index i)
{
	grow_zeroed((void **)&c->committed, &c->committed_cap, i,
		    sizeof(*c->committed));
	return &c->committed[i];
}

/* Node n counts index i as committed.  No two nodes may ever commit
 * different entries at one index. */
static void record_commit(struct sim *s, struct sim_node *n, raft_index i)
{
	struct commit_rec *rec = commit_rec(&s->chk, i);
	if (!rec->commit_term)
		rec->commit_term = raft_term_current(n->raft);
	if (i > shadow_last(&n->sh)) {
		violation(s, "log tracking",
			  "n%" PRIu64 " commits %" PRIu64
			  " beyond its last entry %" PRIu64,
			  n->id, i, shadow_last(&n->sh));
		return;
	}
	uint64_t chain = shadow_chain(&n->sh, i);
	if (!chain)
		return; /* compacted before this node could see it */
	if (!rec->chain) {
		rec->chain = chain;
		rec->term = shadow_term(&n->sh, i);
		s->st.commits++;
	} else if (rec->chain != chain) {
		violation(s, "leader completeness",
			  "n%" PRIu64 " (term %" PRIu64
			  ") commits entry %" PRIu64 " of term %" PRIu64
			  ", but entry %" PRIu64 " of term %" PRIu64
			  " was committed there before "
			  "(in term %" PRIu64 ")",
			  n->id, raft_term_current(n->raft), i,
			  shadow_term(&n->sh, i), i, rec->term,
			  rec->commit_term);
	}
}

/* Figure 2 says a leader advances its commit index only onto an entry of
 * its own term (older ones commit implicitly, under it).  Breaking that
 * rule is the Figure 8 bug; it is counted here, and the safety invariants
 * catch its consequences. */
static void note_commit_rule(struct sim *s, struct sim_node *n, bool led_before)
{
	raft_index c = raft_commit_index(n->raft);
	raft_term term = raft_term_current(n->raft);
	if (!led_before || c <= n->commit_seen ||
	    raft_state(n->raft) != RAFT_LEADER ||
	    shadow_term(&n->sh, c) == term)
		return;
	s->st.old_term_commits++;
	trace(s,
	      "n%" PRIu64 " leader of term %" PRIu64 " commits %" PRIu64
	      " of older term %" PRIu64,
	      n->id, term, c, shadow_term(&n->sh, c));
}

/* Churn also strikes a leader the moment it commits: whatever it sent in
 * that step is lost with it, so followers are left with entries it counted
 * but without what would have followed them. */
static void maybe_knock_out_committer(struct sim *s, struct sim_node *n)
{
	if (!s->net.churn || s->healed || raft_state(n->raft) != RAFT_LEADER ||
	    !rng_permille(&s->rng, s->net.churn / 2))
		return;
	uint64_t len = rng_between(&s->rng, 20000, 400000);
	s->net.isolated_until[n->id] = s->now + len;
	trace(s, "churn: isolate n%" PRIu64 " as it commits, for %" PRIu64 "ms",
	      n->id, len / 1000);
}

static void check_commit(struct sim *s, struct sim_node *n)
{
	raft_index c = raft_commit_index(n->raft);
	if (c > n->commit_seen)
		maybe_knock_out_committer(s, n);
	if (c < n->commit_seen) {
		violation(s, "log tracking",
			  "n%" PRIu64 " commit index went back from %" PRIu64
			  " to %" PRIu64,
			  n->id, n->commit_seen, c);
		return;
	}
	for (raft_index i = n->commit_seen + 1; i <= c && !s->failed; i++)
		record_commit(s, n, i);
	n->commit_seen = c;
	if (c > s->chk.max_commit)
		s->chk.max_commit = c;
}

/* Leader completeness, checked when a node becomes leader of term: every
 * entry committed in an earlier term is in its log.  Chains make it enough
 * to look at the newest such entry. */
static void check_leader_completeness(struct sim *s, struct sim_node *n,
				      raft_term term)
{
	struct checker *c = &s->chk;
	raft_index m = c->max_commit;
	for (unsigned guard = 0; m > 0 && guard < 100000; m--, guard++) {
		if (m < c->committed_cap && c->committed[m].chain &&
		    c->committed[m].commit_term < term)
			break;
	}
	if (m == 0 || m >= c->committed_cap || !c->committed[m].chain)
		return;
	const struct commit_rec *rec = &c->committed[m];
	const struct shadow_log *sh = &n->sh;
	if (m > shadow_last(sh)) {
		violation(s, "leader completeness",
			  "n%" PRIu64 " became leader of term %" PRIu64
			  " but its log ends at %" PRIu64
			  ", before entry %" PRIu64 " (term %" PRIu64
			  ") committed in term %" PRIu64,
			  n->id, term, shadow_last(sh), m, rec->term,
			  rec->commit_term);
		return;
	}
	raft_index at = m < sh->base ? sh->base : m;
	const struct commit_rec *want = at < c->committed_cap
						? &c->committed[at]
						: NULL;
	if (!want || !want->chain)
		return;
	if (shadow_chain(sh, at) != want->chain)
		violation(s, "leader completeness",
			  "n%" PRIu64 " became leader of term %" PRIu64
			  " with entry %" PRIu64 " of term %" PRIu64
			  " where entry of term %" PRIu64
			  " was committed (in term %" PRIu64 ")",
			  n->id, term, at, shadow_term(sh, at), want->term,
			  want->commit_term);
}

/* Leader churn: knock a new leader out within a few milliseconds, before
 * its no-op reaches a majority, so that logs are left with partially
 * replicated entries of several terms — the ground Figure 8 of the Raft
 * paper grows on. */
static void maybe_churn(struct sim *s, struct sim_node *n)
{
	if (!s->net.churn || s->healed || !rng_permille(&s->rng, s->net.churn))
		return;
	if (rng_permille(&s->rng, 500)) {
		/* At once: even its no-op, already sent, is lost. */
		uint64_t len = rng_between(&s->rng, 20000, 400000);
		s->net.isolated_until[n->id] = s->now + len;
		trace(s,
		      "churn: isolate n%" PRIu64 " as it wins, for %" PRIu64
		      "ms",
		      n->id, len / 1000);
		return;
	}
	schedule(s, rng_between(&s->rng, 500, 30000), EV_CHURN, (unsigned)n->id,
		 n->inc, 0);
}

/* Election safety: one leader per term, over the whole history. */
static void check_role(struct sim *s, struct sim_node *n)
{
	int role = raft_state(n->raft);
	raft_term term = raft_term_current(n->raft);
	if (term < n->term_seen)
		violation(s, "durability",
			  "n%" PRIu64 " term went back from %" PRIu64
			  " to %" PRIu64,
			  n->id, n->term_seen, term);
	bool changed = role != n->role_seen || term != n->term_seen;
	if (changed)
		trace(s,
		      "n%" PRIu64 " %s term %" PRIu64 " leader %" PRIu64
		      " last %" PRIu64 "/%" PRIu64 " commit %" PRIu64,
		      n->id, raft_state_name(role), term, raft_leader(n->raft),
		      raft_last_index(n->raft), raft_last_term(n->raft),
		      raft_commit_index(n->raft));
	if (role == RAFT_LEADER) {
		struct checker *c = &s->chk;
		grow_zeroed((void **)&c->leader_of, &c->leader_cap, term,
			    sizeof(*c->leader_of));
		if (!c->leader_of[term]) {
			c->leader_of[term] = n->id;
			s->st.elections++;
			maybe_churn(s, n);
		} else if (c->leader_of[term] != n->id) {
			violation(s, "election safety",
				  "n%" PRIu64 " and n%" PRIu64
				  " are both leaders of term %" PRIu64,
				  c->leader_of[term], n->id, term);
		}
		if (changed)
			check_leader_completeness(s, n, term);
	}
	n->role_seen = role;
	n->term_seen = term;
}

/* The core must tell the caller about every change to its log (persist),
 * otherwise what is durable and what it acts on drift apart. */
static void check_log_tracking(struct sim *s, struct sim_node *n)
{
	raft_index last = raft_last_index(n->raft);
	raft_term lt = raft_last_term(n->raft);
	if (last != shadow_last(&n->sh) || lt != shadow_term(&n->sh, last))
		violation(s, "log tracking",
			  "n%" PRIu64 " log ends at %" PRIu64 "/%" PRIu64
			  " but its updates described a log ending at %" PRIu64
			  "/%" PRIu64,
			  n->id, last, lt, shadow_last(&n->sh),
			  shadow_term(&n->sh, shadow_last(&n->sh)));
}

/* Every entry in memory, recomputed from the core: catches changes the
 * incremental checks were never told about. */
static void audit_log(struct sim *s, struct sim_node *n)
{
	raft_index first = raft_first_index(n->raft);
	raft_index last = raft_last_index(n->raft);
	if (first <= n->sh.base)
		first = n->sh.base + 1;
	for (raft_index i = first; i <= last && !s->failed; i++) {
		const struct raft_entry *e = raft_entry_at(n->raft, i);
		uint64_t prev = shadow_chain(&n->sh, i - 1);
		if (!e || !prev)
			break;
		if (entry_chain(prev, e) != shadow_chain(&n->sh, i) ||
		    e->index != i)
			violation(s, "log tracking",
				  "n%" PRIu64 " entry %" PRIu64
				  " changed without a persist in any update",
				  n->id, i);
	}
	n->steps_since_audit = 0;
}

static void reads_add(struct sim *s, uint64_t id, struct sim_node *n,
		      raft_index required)
{
	struct checker *c = &s->chk;
	if (c->n_reads == c->cap_reads) {
		c->cap_reads = c->cap_reads ? c->cap_reads * 2 : 64;
		c->reads = xrealloc(c->reads, c->cap_reads * sizeof(*c->reads));
	}
	c->reads[c->n_reads++] = (struct pending_read){
		.id = id, .node = n->id, .inc = n->inc, .required = required
	};
}

static void reads_drop_node(struct sim *s, raft_id node)
{
	struct checker *c = &s->chk;
	size_t k = 0;
	for (size_t i = 0; i < c->n_reads; i++)
		if (c->reads[i].node != node)
			c->reads[k++] = c->reads[i];
	c->n_reads = k;
}

/* Read linearizability: a read sees every write committed before it was
 * requested, i.e. the state it is served from includes them. */
static void check_read(struct sim *s, struct sim_node *n,
		       const struct raft_read_result *rr)
{
	struct checker *c = &s->chk;
	size_t i = 0;
	while (i < c->n_reads && c->reads[i].id != rr->id)
		i++;
	if (i == c->n_reads || c->reads[i].node != n->id) {
		violation(s, "api",
			  "n%" PRIu64 " answered read %" PRIu64
			  " that it was never asked",
			  n->id, rr->id);
		return;
	}
	struct pending_read pr = c->reads[i];
	c->reads[i] = c->reads[--c->n_reads];
	if (rr->status != 0) {
		trace(s, "n%" PRIu64 " read %" PRIu64 " failed: %s", n->id,
		      rr->id, raft_strerror(rr->status));
		return;
	}
	s->st.reads_ok++;
	trace(s,
	      "n%" PRIu64 " read %" PRIu64 " at %" PRIu64 " (needs %" PRIu64
	      ", applied %" PRIu64 ")",
	      n->id, rr->id, rr->index, pr.required, n->app.applied);
	if (rr->index < pr.required || n->app.applied < pr.required)
		violation(s, "read linearizability",
			  "n%" PRIu64 " served read %" PRIu64
			  " at index %" PRIu64 " with %" PRIu64
			  " applied, but %" PRIu64
			  " was committed before the read was requested",
			  n->id, rr->id, rr->index, n->app.applied,
			  pr.required);
	else if (n->app.applied < rr->index)
		violation(s, "read linearizability",
			  "n%" PRIu64 " served read %" PRIu64
			  " at index %" PRIu64
			  " before applying it (applied %" PRIu64 ")",
			  n->id, rr->id, rr->index, n->app.applied);
}

/* docs/design.md rule 2, seen from the wire: nothing leaves a node that
 * depends on state that is not durable yet. */
static void check_durable_before_send(struct sim *s, struct sim_node *n,
				      const struct raft_message *m)
{
	const struct disk_image *d = &n->disk;
	bool prevote = (m->type == RAFT_MSG_VOTE && m->vote.prevote) ||
		       (m->type == RAFT_MSG_VOTE_RESP && m->vote_resp.prevote);
	if (!prevote && m->term > d->term) {
		violation(s, "durability",
			  "n%" PRIu64 " sent %s of term %" PRIu64
			  " while its durable term is %" PRIu64,
			  n->id, raft_msg_type_name(m->type), m->term, d->term);
		return;
	}
	if (m->type == RAFT_MSG_VOTE_RESP && !prevote && m->vote_resp.granted &&
	    (d->vote != m->to || d->term != m->term)) {
		violation(s, "durability",
			  "n%" PRIu64 " granted its vote to n%" PRIu64
			  " in term %" PRIu64 " before the vote was durable",
			  n->id, m->to, m->term);
		return;
	}
	if (m->type != RAFT_MSG_APPEND_RESP || !m->append_resp.success)
		return;
	raft_index match = m->append_resp.match;
	if (match <= d->snap_index)
		return;
	/* Below a snapshot being installed the node's own log is gone: the
	 * committed registry knows which entry belongs there. */
	raft_term want = shadow_term(&n->sh, match);
	if (match < n->sh.base)
		want = match < s->chk.committed_cap
			       ? s->chk.committed[match].term
			       : 0;
	size_t k = match - d->snap_index - 1;
	if (k >= d->n || (want && d->log[k].term != want))
		violation(s, "durability",
			  "n%" PRIu64 " acknowledged entries up to %" PRIu64
			  " to n%" PRIu64 " before they were durable "
			  "(durable log ends at %" PRIu64 ")",
			  n->id, match, m->to, d->snap_index + d->n);
}

/* ---- network ---------------------------------------------------------------- */

static struct net_msg *msg_copy(const struct raft_message *m)
{
	struct net_msg *nm = xrealloc(NULL, sizeof(*nm));
	nm->m = *m;
	if (m->type == RAFT_MSG_APPEND && m->append.n_entries) {
		unsigned cnt = m->append.n_entries;
		struct raft_entry *e = xrealloc(NULL, cnt * sizeof(*e));
		for (unsigned i = 0; i < cnt; i++)
			entry_copy(&e[i], &m->append.entries[i]);
		nm->m.append.entries = e;
	} else if (m->type == RAFT_MSG_APPEND) {
		nm->m.append.entries = NULL;
	}
	if (m->type == RAFT_MSG_SNAPSHOT)
		nm->m.snapshot.chunk.base = xmemdup(m->snapshot.chunk.base,
						    m->snapshot.chunk.len);
	return nm;
}

static void msg_free(struct net_msg *nm)
{
	if (!nm)
		return;
	if (nm->m.type == RAFT_MSG_APPEND)
		entries_free((struct raft_entry *)nm->m.append.entries,
			     nm->m.append.n_entries);
	if (nm->m.type == RAFT_MSG_SNAPSHOT)
		free(nm->m.snapshot.chunk.base);
	free(nm);
}

static void describe_msg(const struct raft_message *m, char *buf, size_t cap)
{
	int k = snprintf(buf, cap, "%s n%" PRIu64 "->n%" PRIu64 " t%" PRIu64,
			 raft_msg_type_name(m->type), m->from, m->to, m->term);
	size_t rest = cap - (size_t)k;
	switch (m->type) {
	case RAFT_MSG_APPEND:
		snprintf(buf + k, rest,
			 " prev %" PRIu64 "/%" PRIu64 " n %u commit %" PRIu64,
			 m->append.prev_index, m->append.prev_term,
			 m->append.n_entries, m->append.commit);
		break;
	case RAFT_MSG_APPEND_RESP:
		snprintf(buf + k, rest,
			 " %s match %" PRIu64 " hint %" PRIu64 "/%" PRIu64,
			 m->append_resp.success ? "ok" : "reject",
			 m->append_resp.match, m->append_resp.hint_index,
			 m->append_resp.hint_term);
		break;
	case RAFT_MSG_HEARTBEAT:
		snprintf(buf + k, rest, " commit %" PRIu64 " read %" PRIu64,
			 m->heartbeat.commit, m->heartbeat.read_seq);
		break;
	case RAFT_MSG_VOTE:
		snprintf(buf + k, rest, "%s%s last %" PRIu64 "/%" PRIu64,
			 m->vote.prevote ? " pre" : "",
			 m->vote.transfer ? " transfer" : "",
			 m->vote.last_index, m->vote.last_term);
		break;
	case RAFT_MSG_VOTE_RESP:
		snprintf(buf + k, rest, "%s %s",
			 m->vote_resp.prevote ? " pre" : "",
			 m->vote_resp.granted ? "granted" : "denied");
		break;
	case RAFT_MSG_SNAPSHOT:
		snprintf(buf + k, rest,
			 " %" PRIu64 "/%" PRIu64 " off %" PRIu64 " len %zu%s",
			 m->snapshot.index, m->snapshot.term,
			 m->snapshot.offset, m->snapshot.chunk.len,
			 m->snapshot.done ? " done" : "");
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		snprintf(buf + k, rest, " %" PRIu64 " received %" PRIu64 "%s",
			 m->snapshot_resp.index, m->snapshot_resp.received,
			 m->snapshot_resp.done ? " done" : "");
		break;
	}
}

static uint64_t net_delay(struct sim *s)
{
	uint64_t d = rng_between(&s->rng, s->net.delay_min_us,
				 s->net.delay_max_us);
	if (rng_permille(&s->rng, s->net.long_delay))
		d += rng_between(&s->rng, 50000, 500000);
	return d;
}

static bool net_blocked(const struct sim *s, raft_id from, raft_id to)
{
	return s->net.cut[from][to] || s->net.isolated_until[from] > s->now ||
	       s->net.isolated_until[to] > s->now;
}

static void net_send(struct sim *s, struct sim_node *from,
		     const struct raft_message *m)
{
	if (!node_of(s, m->to) || m->from != from->id) {
		violation(s, "api",
			  "n%" PRIu64 " sent %s from n%" PRIu64
			  " to invalid node %" PRIu64,
			  from->id, raft_msg_type_name(m->type), m->from,
			  m->to);
		return;
	}
	if (net_blocked(s, m->from, m->to) ||
	    rng_permille(&s->rng, s->net.loss))
		return;
	unsigned copies = rng_permille(&s->rng, s->net.dup) ? 2 : 1;
	for (unsigned i = 0; i < copies; i++) {
		struct sim_event ev = { .at = s->now + net_delay(s),
					.kind = EV_DELIVER,
					.node = (unsigned)m->to,
					.msg = msg_copy(m) };
		queue_push(&s->q, ev);
	}
}

static void net_clear(struct sim *s)
{
	memset(&s->net, 0, sizeof(s->net));
	s->net.delay_min_us = 200;
	s->net.delay_max_us = 3000;
}

/* ---- disk ----------------------------------------------------------------- */

static void disk_faults_clear(struct disk_faults *df)
{
	df->write_fail = 0;
	df->hs_fail = 0;
	df->fsync_min_us = 100;
	df->fsync_max_us = 2000;
}

static void disk_log_truncate(struct disk_image *d, raft_index from)
{
	raft_index keep = from <= d->snap_index ? 0 : from - d->snap_index - 1;
	while (d->n > keep)
		free(d->log[--d->n].data.base);
}

static void disk_log_append(struct disk_image *d, const struct raft_entry *e)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 256;
		d->log = xrealloc(d->log, d->cap * sizeof(*d->log));
	}
	entry_copy(&d->log[d->n++], e);
}

static void disk_free(struct disk_image *d)
{
	disk_log_truncate(d, 0);
	free(d->log);
	free(d->snap_data.base);
	memset(d, 0, sizeof(*d));
}

static void disk_write_free(struct disk_write *w)
{
	entries_free(w->entries, w->n);
	free(w->snap_data.base);
}

static void disk_pending_free(struct sim_node *n)
{
	for (size_t i = 0; i < n->n_writes; i++)
		disk_write_free(&n->writes[i]);
	n->n_writes = 0;
	n->disk_busy_until = 0;
	n->disk_dropped_tail = false;
}

/* Replace the durable snapshot.  The log after it survives only if the
 * durable entry at its index is the one the snapshot covers: otherwise the
 * durable tail belongs to a branch the node already truncated in memory
 * (the truncating write is still pending) and must not outlive a crash
 * behind a snapshot it does not follow. */
static bool disk_set_snapshot(struct disk_image *d, raft_index idx,
			      raft_term term, const struct raft_config *cfg,
			      struct raft_buf data)
{
	bool keep_tail = false;
	bool dropped = d->snap_index + d->n > idx;
	if (idx > d->snap_index && idx <= d->snap_index + d->n)
		keep_tail = d->log[idx - d->snap_index - 1].term == term;
	if (keep_tail) {
		size_t drop = idx - d->snap_index;
		for (size_t i = 0; i < drop; i++)
			free(d->log[i].data.base);
		memmove(d->log, d->log + drop, (d->n - drop) * sizeof(*d->log));
		d->n -= drop;
		dropped = false;
	} else {
		disk_log_truncate(d, 0);
	}
	free(d->snap_data.base);
	d->snap_index = idx;
	d->snap_term = term;
	d->snap_config = *cfg;
	d->snap_data = data;
	return dropped;
}

static bool disk_write_hard_state(struct sim *s, struct sim_node *n,
				  const struct raft_update *up)
{
	if (rng_permille(&s->rng, n->df.hs_fail)) {
		s->st.disk_failures++;
		trace(s,
		      "n%" PRIu64 " hard state write FAILED (term %" PRIu64
		      " vote %" PRIu64 "): dropping %u messages",
		      n->id, up->term, up->voted_for, up->n_messages);
		return false;
	}
	if (up->term < n->disk.term)
		violation(s, "durability",
			  "n%" PRIu64 " asked to write term %" PRIu64
			  " over durable term %" PRIu64,
			  n->id, up->term, n->disk.term);
	n->disk.term = up->term;
	n->disk.vote = up->voted_for;
	return true;
}

static struct disk_write *disk_queue(struct sim *s, struct sim_node *n,
				     uint64_t seq)
{
	if (n->n_writes && seq <= n->writes[n->n_writes - 1].seq)
		violation(s, "api",
			  "n%" PRIu64 " write seq %" PRIu64
			  " does not follow %" PRIu64,
			  n->id, seq, n->writes[n->n_writes - 1].seq);
	if (n->n_writes == n->cap_writes) {
		n->cap_writes = n->cap_writes ? n->cap_writes * 2 : 16;
		n->writes = xrealloc(n->writes,
				     n->cap_writes * sizeof(*n->writes));
	}
	struct disk_write *w = &n->writes[n->n_writes++];
	memset(w, 0, sizeof(*w));
	w->seq = seq;
	w->fail = rng_permille(&s->rng, n->df.write_fail);
	uint64_t start = n->disk_busy_until > s->now ? n->disk_busy_until
						     : s->now;
	uint64_t done = start + rng_between(&s->rng, n->df.fsync_min_us,
					    n->df.fsync_max_us);
	n->disk_busy_until = done;
	struct sim_event ev = { .at = done,
				.kind = EV_DISK,
				.node = (unsigned)n->id,
				.inc = n->inc,
				.arg = seq };
	queue_push(&s->q, ev);
	return w;
}

static void disk_queue_log_write(struct sim *s, struct sim_node *n,
				 const struct raft_update *up)
{
	struct disk_write *w = disk_queue(s, n, up->persist.seq);
	w->first = up->persist.first;
	w->prev_term = raft_term_at(n->raft, w->first - 1);
	w->n = up->persist.n_entries;
	w->entries = xrealloc(NULL, (w->n ? w->n : 1) * sizeof(*w->entries));
	for (unsigned i = 0; i < w->n; i++)
		entry_copy(&w->entries[i], &up->persist.entries[i]);
	trace(s,
	      "n%" PRIu64 " write seq %" PRIu64 ": from %" PRIu64
	      ", %u entries%s",
	      n->id, w->seq, w->first, w->n, w->fail ? " (will fail)" : "");
}

static void disk_queue_snapshot(struct sim *s, struct sim_node *n,
				const struct raft_update *up)
{
	struct disk_write *w = disk_queue(s, n, up->snapshot.seq);
	w->snapshot = true;
	w->snap_index = up->snapshot.index;
	w->snap_term = up->snapshot.term;
	w->snap_config = up->snapshot.config;
	w->snap_data.base = xmemdup(up->snapshot.data.base,
				    up->snapshot.data.len);
	w->snap_data.len = up->snapshot.data.len;
}

/* Term the write gives to index i (its predecessor included), 0 if it
 * does not cover i. */
static raft_term write_term_at(const struct disk_write *w, raft_index i)
{
	if (i + 1 == w->first)
		return w->prev_term;
	if (i >= w->first && i < w->first + w->n)
		return w->entries[i - w->first].term;
	return 0;
}

/* A write queued before the application saved a snapshot may carry
 * entries of a branch the snapshot does not follow (the write truncating
 * them is still behind it in the queue).  They must not land after the
 * snapshot: the durable log would then hold a sequence no log ever had. */
static bool write_follows_durable(struct sim *s, struct sim_node *n,
				  const struct disk_write *w)
{
	const struct disk_image *d = &n->disk;
	if (!w->n || w->first + w->n - 1 <= d->snap_index)
		return true;
	if (w->first <= d->snap_index + 1) {
		raft_term t = write_term_at(w, d->snap_index);
		if (t && d->snap_index && t != d->snap_term) {
			trace(s,
			      "n%" PRIu64 " write seq %" PRIu64
			      " is from a branch its snapshot %" PRIu64
			      " does not follow: entries dropped",
			      n->id, w->seq, d->snap_index);
			n->disk_dropped_tail = true;
			return false;
		}
		return true;
	}
	raft_index prev = w->first - 1;
	if (prev <= d->snap_index + d->n && w->prev_term &&
	    d->log[prev - d->snap_index - 1].term != w->prev_term)
		violation(s, "durability",
			  "n%" PRIu64 " write seq %" PRIu64 " appends after "
			  "%" PRIu64 "/%" PRIu64 " but the durable entry there "
			  "has term %" PRIu64,
			  n->id, w->seq, prev, w->prev_term,
			  d->log[prev - d->snap_index - 1].term);
	return true;
}

/* Apply a completed log write to the durable image: discard entries >=
 * first, then append (entries a local snapshot already covers are skipped). */
static void disk_apply_log_write(struct sim *s, struct sim_node *n,
				 const struct disk_write *w)
{
	struct disk_image *d = &n->disk;
	raft_index last = d->snap_index + d->n;
	if (w->n && w->first > last + 1 && n->disk_dropped_tail) {
		trace(s,
		      "n%" PRIu64 " write seq %" PRIu64 " follows dropped "
		      "stale entries: dropped too",
		      n->id, w->seq);
		return;
	}
	if (w->n && w->first > last + 1 && w->first > d->snap_index + 1) {
		violation(s, "durability",
			  "n%" PRIu64 " write %" PRIu64 " starts at %" PRIu64
			  " but the durable log ends at %" PRIu64,
			  n->id, w->seq, w->first, last);
		return;
	}
	disk_log_truncate(d, w->first);
	if (!write_follows_durable(s, n, w))
		return;
	n->disk_dropped_tail = false;
	for (unsigned i = 0; i < w->n; i++) {
		const struct raft_entry *e = &w->entries[i];
		if (e->index <= d->snap_index)
			continue;
		if (e->index != d->snap_index + d->n + 1) {
			violation(s, "durability",
				  "n%" PRIu64 " write %" PRIu64
				  " would leave a hole before %" PRIu64,
				  n->id, w->seq, e->index);
			return;
		}
		disk_log_append(d, e);
	}
}

/* ---- application state machine and snapshots ------------------------------ */

struct snap_header {
	uint64_t magic;
	uint64_t index;
	uint64_t state;
	uint64_t pad;
};

static void cluster_config_applied(struct sim *s, raft_index idx,
				   const struct raft_config *cfg);

static void app_apply(struct sim *s, struct sim_node *n,
		      const struct raft_entry *e)
{
	struct app *a = &n->app;
	if (e->index != a->applied + 1) {
		violation(s, "state machine safety",
			  "n%" PRIu64 " asked to apply %" PRIu64
			  " after applying %" PRIu64,
			  n->id, e->index, a->applied);
		return;
	}
	if (e->index > raft_commit_index(n->raft))
		violation(s, "state machine safety",
			  "n%" PRIu64 " asked to apply %" PRIu64
			  " beyond its commit index %" PRIu64,
			  n->id, e->index, raft_commit_index(n->raft));
	a->state = state_after(a->state, e);
	a->applied = e->index;
	struct checker *c = &s->chk;
	grow_zeroed((void **)&c->state_hash, &c->state_cap, e->index,
		    sizeof(*c->state_hash));
	if (!c->state_hash[e->index])
		c->state_hash[e->index] = a->state;
	else if (c->state_hash[e->index] != a->state)
		violation(s, "state machine safety",
			  "n%" PRIu64 " applied entry %" PRIu64
			  " (term %" PRIu64
			  ") and reached a state no other node had there",
			  n->id, e->index, e->term);
	if (e->type == RAFT_ENTRY_CONFIG) {
		struct raft_config cfg;
		if (raft_config_decode(e->data.base, e->data.len, &cfg) != 0) {
			violation(s, "api",
				  "n%" PRIu64 " config entry %" PRIu64
				  " does not decode",
				  n->id, e->index);
			return;
		}
		a->config = cfg;
		cluster_config_applied(s, e->index, &cfg);
	}
}

/* Restore the state machine from snapshot data: it must be the state every
 * node reached at that index. */
static void app_restore(struct sim *s, struct sim_node *n, raft_index idx,
			const struct raft_buf *data,
			const struct raft_config *cfg)
{
	struct snap_header h;
	if (data->len < sizeof(h)) {
		violation(s, "state machine safety",
			  "n%" PRIu64 " snapshot %" PRIu64
			  " has %zu bytes, too short",
			  n->id, idx, data->len);
		return;
	}
	memcpy(&h, data->base, sizeof(h));
	if (h.magic != SNAP_MAGIC || h.index != idx ||
	    sizeof(h) + h.pad != data->len) {
		violation(s, "state machine safety",
			  "n%" PRIu64 " snapshot %" PRIu64
			  " data is garbled (says index %" PRIu64 ")",
			  n->id, idx, h.index);
		return;
	}
	const unsigned char *pad = (const unsigned char *)data->base +
				   sizeof(h);
	for (uint64_t i = 0; i < h.pad; i++)
		if (pad[i] != (unsigned char)(h.state + i)) {
			violation(s, "state machine safety",
				  "n%" PRIu64 " snapshot %" PRIu64
				  " data corrupted at byte %" PRIu64,
				  n->id, idx, sizeof(h) + i);
			return;
		}
	uint64_t known = idx < s->chk.state_cap ? s->chk.state_hash[idx] : 0;
	if (known && known != h.state)
		violation(s, "state machine safety",
			  "n%" PRIu64 " restored a snapshot at %" PRIu64
			  " whose state differs from the state applied there",
			  n->id, idx);
	n->app.applied = idx;
	n->app.state = h.state;
	n->app.config = *cfg;
	n->app.snapshot_due = idx + rng_between(&s->rng, 50, 200);
}

static struct raft_buf app_snapshot_data(struct sim *s, const struct app *a)
{
	struct snap_header h = { .magic = SNAP_MAGIC,
				 .index = a->applied,
				 .state = a->state,
				 .pad = rng_between(&s->rng, 512, 6144) };
	struct raft_buf b = { .len = sizeof(h) + h.pad };
	b.base = xrealloc(NULL, b.len);
	memcpy(b.base, &h, sizeof(h));
	unsigned char *pad = (unsigned char *)b.base + sizeof(h);
	/* A pattern derived from the state, so a chunk put back at the wrong
	 * offset is noticed at restore. */
	for (uint64_t i = 0; i < h.pad; i++)
		pad[i] = (unsigned char)(h.state + i);
	return b;
}

/* ---- node lifecycle and stepping ------------------------------------------ */

static void node_handle_update(struct sim *s, struct sim_node *n,
			       const struct raft_update *up);

static int step_raw(struct sim *s, struct sim_node *n, struct raft_event *ev,
		    struct raft_update *up)
{
	ev->now = node_now(s, n);
	s->st.steps++;
	return raft_step(n->raft, ev, up);
}

static void node_take_snapshot(struct sim *s, struct sim_node *n)
{
	struct app *a = &n->app;
	a->snapshot_due = a->applied + rng_between(&s->rng, 50, 200);
	raft_term term = raft_term_at(n->raft, a->applied);
	if (!term || a->applied <= n->disk.snap_index)
		return;
	struct raft_buf data = app_snapshot_data(s, a);
	struct raft_event ev = { .type = RAFT_EV_SNAPSHOT_TAKEN };
	ev.snapshot.index = a->applied;
	ev.snapshot.data = data;
	ev.snapshot.trailing = rng_between(&s->rng, 0, 64);
	struct raft_update up;
	int rv = step_raw(s, n, &ev, &up);
	if (rv == 0) {
		s->st.snapshots_taken++;
		trace(s,
		      "n%" PRIu64 " snapshot taken at %" PRIu64 " term %" PRIu64
		      " (%zu bytes, trailing %" PRIu64 ")",
		      n->id, a->applied, term, data.len, ev.snapshot.trailing);
		if (disk_set_snapshot(&n->disk, a->applied, term, &a->config,
				      data))
			n->disk_dropped_tail = true;
	} else {
		trace(s, "n%" PRIu64 " snapshot at %" PRIu64 " refused: %s",
		      n->id, a->applied, raft_strerror(rv));
		free(data.base);
	}
	node_handle_update(s, n, &up);
}

static bool app_wants_snapshot(const struct sim_node *n)
{
	return n->app.applied >= n->app.snapshot_due &&
	       n->app.applied > raft_snapshot_index(n->raft);
}

/* Work an update leaves behind that needs another step: a failed hard
 * state write, a snapshot the application decided to take. */
static void node_follow_ups(struct sim *s, struct sim_node *n)
{
	for (unsigned guard = 0; guard < 64; guard++) {
		if (n->status != NODE_UP || s->failed)
			return;
		if (n->hs_failed_todo) {
			n->hs_failed_todo = false;
			struct raft_event ev = {
				.type = RAFT_EV_PERSIST_FAILED
			};
			ev.persist_failed.hard_state = true;
			ev.persist_failed.err = EIO;
			struct raft_update up;
			step_raw(s, n, &ev, &up);
			node_handle_update(s, n, &up);
			continue;
		}
		if (app_wants_snapshot(n)) {
			node_take_snapshot(s, n);
			continue;
		}
		return;
	}
}

struct step_out {
	int rv;
	raft_index proposed_index;
	raft_term proposed_term;
};

static int node_step(struct sim *s, struct sim_node *n, struct raft_event *ev,
		     struct step_out *out)
{
	raft_index required = s->chk.max_commit;
	struct raft_update up;
	int rv = step_raw(s, n, ev, &up);
	if (ev->type == RAFT_EV_READ_INDEX && rv == 0)
		reads_add(s, ev->read.id, n, required);
	if (out) {
		out->rv = rv;
		out->proposed_index = up.proposed_index;
		out->proposed_term = up.proposed_term;
	}
	if (rv == RAFT_ENOMEM ||
	    (rv != 0 &&
	     (ev->type == RAFT_EV_TICK || ev->type == RAFT_EV_RECEIVE ||
	      ev->type == RAFT_EV_PERSISTED ||
	      ev->type == RAFT_EV_PERSIST_FAILED)))
		violation(s, "api", "n%" PRIu64 " step of event %u: %s", n->id,
			  ev->type, raft_strerror(rv));
	node_handle_update(s, n, &up);
	node_follow_ups(s, n);
	return rv;
}

static bool check_persist_shape(struct sim *s, struct sim_node *n,
				const struct raft_update *up)
{
	raft_index first = up->persist.first;
	if (up->persist.n_entries && !up->persist.entries) {
		violation(s, "api",
			  "n%" PRIu64 " persist seq %" PRIu64
			  " claims %u entries "
			  "from %" PRIu64 " but gives none (snapshot %" PRIu64
			  ", first in memory %" PRIu64 ")",
			  n->id, up->persist.seq, up->persist.n_entries, first,
			  raft_snapshot_index(n->raft),
			  raft_first_index(n->raft));
		return false;
	}
	for (unsigned i = 0; i < up->persist.n_entries; i++)
		if (up->persist.entries[i].index != first + i) {
			violation(s, "api",
				  "n%" PRIu64 " persist %" PRIu64
				  " entry %u has "
				  "index %" PRIu64 ", expected %" PRIu64,
				  n->id, up->persist.seq, i,
				  up->persist.entries[i].index, first + i);
			return false;
		}
	return true;
}

/* Bring the shadow in line with the core's in-memory log.  The core may
 * change its log without writing it yet (it holds writes back while its
 * disk is failing), so the shadow follows memory, not the persist stream:
 * find where the terms diverge from the top, rewrite from there (or from
 * the persist range, which also covers same-term rewrites), and register
 * every new entry.  Periodic audits catch changes neither would show. */
static void shadow_sync(struct sim *s, struct sim_node *n,
			const struct raft_update *up)
{
	struct shadow_log *sh = &n->sh;
	const struct raft *r = n->raft;
	raft_index last = raft_last_index(r);
	/* A snapshot replaced the log in memory (its write may come later,
	 * once a failed disk is retried). */
	raft_index off = raft_first_index(r) - 1;
	if (off > sh->base && (off > shadow_last(sh) ||
			       raft_term_at(r, off) != shadow_term(sh, off))) {
		raft_term t = raft_term_at(r, off);
		shadow_reset(sh, off, t,
			     snapshot_chain(s, n->id, off, t, "installed"));
	}
	raft_index from = (last < shadow_last(sh) ? last : shadow_last(sh)) + 1;
	while (from - 1 > sh->base &&
	       raft_term_at(r, from - 1) != shadow_term(sh, from - 1))
		from--;
	if (up->persist.seq && up->persist.first > sh->base &&
	    up->persist.first < from)
		from = up->persist.first;
	if (from <= sh->base) {
		violation(s, "log tracking",
			  "n%" PRIu64 " rewrote entry %" PRIu64
			  " at or below its snapshot %" PRIu64,
			  n->id, from, sh->base);
		return;
	}
	shadow_truncate(sh, from);
	for (raft_index i = from; i <= last && !s->failed; i++) {
		const struct raft_entry *e = raft_entry_at(r, i);
		if (!e) {
			violation(s, "log tracking",
				  "n%" PRIu64 " has no entry %" PRIu64
				  " though its log runs to %" PRIu64,
				  n->id, i, last);
			return;
		}
		shadow_append(s, n, e);
	}
}

static void handle_snapshot_install(struct sim *s, struct sim_node *n,
				    const struct raft_update *up)
{
	trace(s,
	      "n%" PRIu64 " installing snapshot %" PRIu64 " term %" PRIu64
	      " (%zu bytes, seq %" PRIu64 ")",
	      n->id, up->snapshot.index, up->snapshot.term,
	      up->snapshot.data.len, up->snapshot.seq);
	uint64_t chain = snapshot_chain(s, n->id, up->snapshot.index,
					up->snapshot.term, "received");
	shadow_reset(&n->sh, up->snapshot.index, up->snapshot.term, chain);
	disk_queue_snapshot(s, n, up);
}

static void handle_messages(struct sim *s, struct sim_node *n,
			    const struct raft_update *up)
{
	for (unsigned i = 0; i < up->n_messages && !s->failed; i++) {
		const struct raft_message *m = &up->messages[i];
		check_durable_before_send(s, n, m);
		net_send(s, n, m);
	}
}

static void node_handle_update(struct sim *s, struct sim_node *n,
			       const struct raft_update *up)
{
	bool hs_ok = true;
	if (up->hard_state_changed)
		hs_ok = disk_write_hard_state(s, n, up);
	if (up->snapshot.present)
		handle_snapshot_install(s, n, up);
	if (up->persist.seq && check_persist_shape(s, n, up))
		disk_queue_log_write(s, n, up);
	if (!s->failed)
		shadow_sync(s, n, up);
	if (hs_ok)
		handle_messages(s, n, up);
	else
		n->hs_failed_todo = true;
	for (unsigned i = 0; i < up->n_apply && !s->failed; i++)
		app_apply(s, n, &up->apply[i]);
	for (unsigned i = 0; i < up->n_reads && !s->failed; i++)
		check_read(s, n, &up->reads[i]);
	bool led_before = n->role_seen == RAFT_LEADER &&
			  n->term_seen == raft_term_current(n->raft);
	check_role(s, n);
	note_commit_rule(s, n, led_before);
	check_commit(s, n);
	check_log_tracking(s, n);
	if (++n->steps_since_audit >= AUDIT_EVERY)
		audit_log(s, n);
}

static void schedule_tick(struct sim *s, struct sim_node *n)
{
	/* TICK_US of the node's own clock, in simulated time. */
	uint64_t us = (uint64_t)TICK_US * 1000000ull / n->rate_ppm;
	schedule(s, us + rng_below(&s->rng, 500), EV_TICK, (unsigned)n->id,
		 n->inc, 0);
}

/* Rebuild the checker's view of a node from its durable image, as the core
 * does at start. */
static void shadow_from_disk(struct sim *s, struct sim_node *n)
{
	const struct disk_image *d = &n->disk;
	uint64_t chain = snapshot_chain(s, n->id, d->snap_index, d->snap_term,
					"restarts from");
	shadow_reset(&n->sh, d->snap_index, d->snap_term, chain);
	for (size_t i = 0; i < d->n && !s->failed; i++)
		shadow_append(s, n, &d->log[i]);
}

static void node_start(struct sim *s, struct sim_node *n)
{
	const struct disk_image *d = &n->disk;
	struct raft_durable dur = { .term = d->term,
				    .voted_for = d->vote,
				    .snap_index = d->snap_index,
				    .snap_term = d->snap_term,
				    .snap_config = d->snap_config,
				    .snap_data = d->snap_data,
				    .n_entries = (unsigned)d->n,
				    .entries = d->log };
	struct raft_options o = s->ropt;
	o.id = n->id;
	o.seed = rng_next(&s->rng);
	int rv = raft_init(&n->raft, &o, &dur, node_now(s, n));
	if (rv != 0) {
		violation(s, "api", "n%" PRIu64 " raft_init: %s", n->id,
			  raft_strerror(rv));
		return;
	}
	n->status = NODE_UP;
	memset(&n->app, 0, sizeof(n->app));
	n->app.snapshot_due = rng_between(&s->rng, 50, 200);
	if (d->snap_index)
		app_restore(s, n, d->snap_index, &d->snap_data,
			    &d->snap_config);
	shadow_from_disk(s, n);
	n->commit_seen = raft_commit_index(n->raft);
	n->role_seen = raft_state(n->raft);
	n->term_seen = raft_term_current(n->raft);
	n->steps_since_audit = 0;
	n->hs_failed_todo = false;
	check_log_tracking(s, n);
	schedule_tick(s, n);
	trace(s,
	      "n%" PRIu64 " started: term %" PRIu64 " vote %" PRIu64
	      " snapshot %" PRIu64 " log to %" PRIu64,
	      n->id, d->term, d->vote, d->snap_index, d->snap_index + d->n);
}

/* A crash loses everything not yet durable: the raft struct, pending
 * writes, the application's memory. */
static void node_crash(struct sim *s, struct sim_node *n)
{
	raft_close(n->raft);
	n->raft = NULL;
	disk_pending_free(n);
	n->status = NODE_DOWN;
	n->inc++;
	reads_drop_node(s, n->id);
	s->st.crashes++;
	trace(s,
	      "n%" PRIu64 " CRASH (durable: term %" PRIu64 " snapshot %" PRIu64
	      " log to %" PRIu64 ")",
	      n->id, n->disk.term, n->disk.snap_index,
	      n->disk.snap_index + n->disk.n);
}

static void node_stop_removed(struct sim *s, struct sim_node *n)
{
	if (n->status == NODE_UP) {
		raft_close(n->raft);
		n->raft = NULL;
		disk_pending_free(n);
		reads_drop_node(s, n->id);
	}
	n->status = NODE_REMOVED;
	n->inc++;
	n->stop_pending = false;
	trace(s, "n%" PRIu64 " stopped: removed from the cluster", n->id);
}

static void stop_pending_nodes(struct sim *s)
{
	for (raft_id id = 1; id < MAX_NODES; id++)
		if (s->nodes[id].stop_pending)
			node_stop_removed(s, &s->nodes[id]);
}

/* A committed configuration without a node means that node is gone for
 * good: stop it (ids are never reused). */
static void cluster_config_applied(struct sim *s, raft_index idx,
				   const struct raft_config *cfg)
{
	if (idx <= s->cluster_config_index)
		return;
	const struct raft_config *old = &s->cluster_config;
	for (unsigned i = 0; i < old->n; i++) {
		raft_id id = old->servers[i].id;
		struct sim_node *n = node_of(s, id);
		if (raft_config_get(cfg, id) || !n)
			continue;
		if (n->status == NODE_UP)
			n->stop_pending = true;
		else if (n->status == NODE_DOWN)
			n->status = NODE_REMOVED;
	}
	s->cluster_config = *cfg;
	s->cluster_config_index = idx;
	char buf[128];
	int k = 0;
	for (unsigned i = 0; i < cfg->n && k < 100; i++)
		k += snprintf(buf + k, sizeof(buf) - (size_t)k,
			      " n%" PRIu64 "%s", cfg->servers[i].id,
			      cfg->servers[i].role == RAFT_VOTER ? "" : "(l)");
	buf[k] = 0;
	trace(s, "config %" PRIu64 " committed:%s", idx, buf);
}

/* ---- event handlers --------------------------------------------------------- */

static struct sim_node *node_if_current(struct sim *s,
					const struct sim_event *ev)
{
	struct sim_node *n = node_of(s, ev->node);
	if (!n || n->status != NODE_UP || n->inc != ev->inc)
		return NULL;
	return n;
}

static void on_tick(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_if_current(s, ev);
	if (!n)
		return;
	struct raft_event rev = { .type = RAFT_EV_TICK };
	node_step(s, n, &rev, NULL);
	if (n->status == NODE_UP && n->inc == ev->inc)
		schedule_tick(s, n);
}

static void on_deliver(struct sim *s, struct sim_event *ev)
{
	struct sim_node *n = node_of(s, ev->node);
	const struct raft_message *m = &ev->msg->m;
	char desc[160];
	describe_msg(m, desc, sizeof(desc));
	if (!n || n->status != NODE_UP || net_blocked(s, m->from, m->to)) {
		trace(s, "drop %s", desc);
		return;
	}
	trace(s, "recv %s", desc);
	struct raft_event rev = { .type = RAFT_EV_RECEIVE };
	rev.receive.msg = m;
	node_step(s, n, &rev, NULL);
}

static void disk_complete_ok(struct sim *s, struct sim_node *n,
			     struct disk_write *w)
{
	if (w->snapshot) {
		app_restore(s, n, w->snap_index, &w->snap_data,
			    &w->snap_config);
		if (w->snap_index < n->app.applied)
			violation(s, "state machine safety",
				  "n%" PRIu64 " installed snapshot %" PRIu64
				  " behind what it had applied (%" PRIu64 ")",
				  n->id, w->snap_index, n->app.applied);
		disk_set_snapshot(&n->disk, w->snap_index, w->snap_term,
				  &w->snap_config, w->snap_data);
		disk_log_truncate(&n->disk, 0); /* replaces the whole log */
		w->snap_data.base = NULL;
		s->st.snapshots_installed++;
		trace(s,
		      "n%" PRIu64 " snapshot %" PRIu64 " durable, seq %" PRIu64,
		      n->id, w->snap_index, w->seq);
	} else {
		disk_apply_log_write(s, n, w);
	}
	struct raft_event rev = { .type = RAFT_EV_PERSISTED };
	rev.persisted.seq = w->seq;
	disk_write_free(w);
	node_step(s, n, &rev, NULL);
}

/* A failed write leaves the durable image as it was and fails every write
 * queued behind it. */
static void disk_complete_failed(struct sim *s, struct sim_node *n,
				 struct disk_write *w)
{
	uint64_t seq = w->seq;
	s->st.disk_failures++;
	trace(s, "n%" PRIu64 " write seq %" PRIu64 " FAILED (+%zu queued)",
	      n->id, seq, n->n_writes);
	disk_write_free(w);
	disk_pending_free(n);
	struct raft_event rev = { .type = RAFT_EV_PERSIST_FAILED };
	rev.persist_failed.seq = seq;
	rev.persist_failed.err = EIO;
	node_step(s, n, &rev, NULL);
}

static void on_disk(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_if_current(s, ev);
	if (!n || n->n_writes == 0 || n->writes[0].seq != ev->arg)
		return; /* flushed by an earlier failure */
	struct disk_write w = n->writes[0];
	memmove(n->writes, n->writes + 1,
		(n->n_writes - 1) * sizeof(*n->writes));
	n->n_writes--;
	if (w.fail)
		disk_complete_failed(s, n, &w);
	else
		disk_complete_ok(s, n, &w);
}

/* ---- workload ----------------------------------------------------------- */

static struct sim_node *find_leader(struct sim *s)
{
	struct sim_node *best = NULL;
	for (raft_id id = 1; id < MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->status != NODE_UP || raft_state(n->raft) != RAFT_LEADER)
			continue;
		if (!best ||
		    raft_term_current(n->raft) > raft_term_current(best->raft))
			best = n;
	}
	return best;
}

static struct sim_node *random_up_node(struct sim *s)
{
	raft_id up[MAX_NODES];
	unsigned k = 0;
	for (raft_id id = 1; id < MAX_NODES; id++)
		if (s->nodes[id].status == NODE_UP)
			up[k++] = id;
	return k ? &s->nodes[up[rng_below(&s->rng, k)]] : NULL;
}

/* Clients mostly find the leader; some ask whoever they reach. */
static struct sim_node *client_target(struct sim *s)
{
	struct sim_node *l = find_leader(s);
	if (l && rng_permille(&s->rng, 800))
		return l;
	return random_up_node(s);
}

static bool workload_running(const struct sim *s)
{
	return !s->done && !s->failed;
}

static int propose_value(struct sim *s, struct sim_node *n,
			 struct step_out *out)
{
	unsigned char buf[128];
	uint64_t v = ++s->next_value;
	size_t len = (size_t)rng_between(&s->rng, 8, sizeof(buf));
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(v >> (8 * (i % 8)));
	struct raft_event ev = { .type = RAFT_EV_PROPOSE };
	ev.propose.type = RAFT_ENTRY_NORMAL;
	ev.propose.data.base = buf;
	ev.propose.data.len = len;
	int rv = node_step(s, n, &ev, out);
	if (rv == 0)
		trace(s,
		      "n%" PRIu64 " propose v%" PRIu64 " -> %" PRIu64
		      "/%" PRIu64,
		      n->id, v, out->proposed_index, out->proposed_term);
	return rv;
}

static void on_propose(struct sim *s)
{
	struct sim_node *n = client_target(s);
	if (n) {
		struct step_out out;
		propose_value(s, n, &out);
	}
	if (workload_running(s))
		schedule(s, rng_between(&s->rng, 1000, 15000), EV_PROPOSE, 0, 0,
			 0);
}

static void on_read(struct sim *s)
{
	struct sim_node *n = client_target(s);
	if (n) {
		struct raft_event ev = { .type = RAFT_EV_READ_INDEX };
		ev.read.id = ++s->next_read_id;
		int rv = node_step(s, n, &ev, NULL);
		trace(s,
		      "n%" PRIu64 " read %" PRIu64
		      " requested: %s (needs %" PRIu64 ")",
		      n->id, ev.read.id, raft_strerror(rv), s->chk.max_commit);
	}
	if (workload_running(s))
		schedule(s, rng_between(&s->rng, 3000, 40000), EV_READ, 0, 0,
			 0);
}

static raft_id random_voter_except(struct sim *s, const struct raft_config *c,
				   raft_id not )
{
	raft_id ids[RAFT_MAX_SERVERS];
	unsigned k = 0;
	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].role == RAFT_VOTER &&
		    c->servers[i].id != not )
			ids[k++] = c->servers[i].id;
	return k ? ids[rng_below(&s->rng, k)] : 0;
}

static void on_transfer(struct sim *s)
{
	struct sim_node *l = find_leader(s);
	if (l && !s->healed) {
		raft_id to = rng_permille(&s->rng, 300)
				     ? 0
				     : random_voter_except(s,
							   raft_config_current(
								   l->raft),
							   l->id);
		struct raft_event ev = { .type = RAFT_EV_TRANSFER };
		ev.transfer.to = to;
		int rv = node_step(s, l, &ev, NULL);
		s->st.transfers += rv == 0;
		trace(s, "n%" PRIu64 " transfer to n%" PRIu64 ": %s", l->id, to,
		      raft_strerror(rv));
	}
	if (workload_running(s) && !s->healed)
		schedule(s, rng_between(&s->rng, 300000, 3000000), EV_TRANSFER,
			 0, 0, 0);
}

static int change_config(struct sim *s, struct sim_node *l, uint8_t op,
			 raft_id id)
{
	struct raft_event ev = { .type = RAFT_EV_CHANGE_CONFIG };
	ev.change.op = op;
	ev.change.id = id;
	snprintf(ev.change.addr, sizeof(ev.change.addr), "n%" PRIu64, id);
	struct step_out out;
	int rv = node_step(s, l, &ev, &out);
	static const char *const names[] = { "?", "add learner", "promote",
					     "remove" };
	trace(s,
	      "n%" PRIu64 " config change: %s n%" PRIu64 ": %s (at %" PRIu64
	      ")",
	      l->id, names[op <= 3 ? op : 0], id, raft_strerror(rv),
	      rv == 0 ? out.proposed_index : 0);
	s->st.config_changes += rv == 0;
	return rv;
}

/* Membership: grow by one learner, promote it, then remove some voter, so
 * the cluster swings between N and N+1 voters and always has a workable
 * majority. */
static void membership_step(struct sim *s, struct sim_node *l)
{
	const struct raft_config *c = raft_config_current(l->raft);
	unsigned voters = raft_config_voters(c);
	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].role == RAFT_LEARNER) {
			change_config(s, l, RAFT_CHANGE_PROMOTE,
				      c->servers[i].id);
			return;
		}
	if (voters > s->n_initial) {
		raft_id victim = rng_permille(&s->rng, 250)
					 ? l->id
					 : random_voter_except(s, c, l->id);
		if (victim)
			change_config(s, l, RAFT_CHANGE_REMOVE, victim);
		return;
	}
	if (c->n >= RAFT_MAX_SERVERS || s->next_spare >= MAX_NODES)
		return;
	raft_id id = s->next_spare;
	if (change_config(s, l, RAFT_CHANGE_ADD_LEARNER, id) == 0 &&
	    !s->failed) {
		s->next_spare++;
		struct sim_node *n = &s->nodes[id];
		n->id = id;
		node_start(s, n); /* empty: learns everything from the leader */
	}
}

static void on_membership(struct sim *s)
{
	struct sim_node *l = find_leader(s);
	if (l && !s->healed)
		membership_step(s, l);
	if (workload_running(s) && !s->healed)
		schedule(s, rng_between(&s->rng, 500000, 3000000),
			 EV_MEMBERSHIP, 0, 0, 0);
}

/* ---- faults --------------------------------------------------------------- */

static unsigned count_status(const struct sim *s, int status)
{
	unsigned k = 0;
	for (raft_id id = 1; id < MAX_NODES; id++)
		k += s->nodes[id].status == status;
	return k;
}

static void cut_link(struct sim *s, raft_id a, raft_id b)
{
	s->net.cut[a][b] = true;
}

static void fault_partition(struct sim *s)
{
	/* Random side for every node; both sides non-empty often enough. */
	bool side[MAX_NODES];
	for (raft_id id = 1; id < MAX_NODES; id++)
		side[id] = rng_permille(&s->rng, 500);
	for (raft_id a = 1; a < MAX_NODES; a++)
		for (raft_id b = 1; b < MAX_NODES; b++)
			if (side[a] != side[b])
				cut_link(s, a, b);
	trace(s, "fault: symmetric partition");
}

static void fault_isolate_leader(struct sim *s)
{
	struct sim_node *l = find_leader(s);
	if (!l)
		return;
	bool one_way = rng_permille(&s->rng, 300);
	for (raft_id id = 1; id < MAX_NODES; id++) {
		cut_link(s, l->id, id);
		if (!one_way)
			cut_link(s, id, l->id);
	}
	trace(s, "fault: isolate leader n%" PRIu64 "%s", l->id,
	      one_way ? " (outbound only)" : "");
}

static void fault_one_way(struct sim *s)
{
	unsigned k = (unsigned)rng_between(&s->rng, 1, 6);
	for (unsigned i = 0; i < k; i++) {
		raft_id a = rng_between(&s->rng, 1, s->next_spare - 1);
		raft_id b = rng_between(&s->rng, 1, s->next_spare - 1);
		cut_link(s, a, b);
		trace(s, "fault: one-way cut n%" PRIu64 " -> n%" PRIu64, a, b);
	}
}

static void fault_lossy(struct sim *s)
{
	s->net.loss = (unsigned)rng_between(&s->rng, 10, 300);
	s->net.dup = (unsigned)rng_between(&s->rng, 0, 100);
	s->net.long_delay = (unsigned)rng_between(&s->rng, 0, 50);
	s->net.delay_max_us = rng_between(&s->rng, 3000, 60000);
	trace(s, "fault: network loss %u%% dup %u%% delay up to %" PRIu64 "ms",
	      s->net.loss / 10, s->net.dup / 10, s->net.delay_max_us / 1000);
}

static void fault_disks(struct sim *s)
{
	unsigned k = (unsigned)rng_between(&s->rng, 1, 2);
	for (unsigned i = 0; i < k; i++) {
		struct sim_node *n = random_up_node(s);
		if (!n)
			return;
		n->df.write_fail = (unsigned)rng_between(&s->rng, 0, 150);
		n->df.hs_fail = (unsigned)rng_between(&s->rng, 0, 60);
		if (rng_permille(&s->rng, 600)) {
			n->df.fsync_min_us = 1000;
			n->df.fsync_max_us = rng_between(&s->rng, 5000, 200000);
		}
		trace(s,
		      "fault: n%" PRIu64 " disk: write errors %u%%, "
		      "hard state errors %u%%, fsync up to %" PRIu64 "ms",
		      n->id, n->df.write_fail / 10, n->df.hs_fail / 10,
		      n->df.fsync_max_us / 1000);
	}
}

static void on_churn(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_if_current(s, ev);
	if (!n || s->healed)
		return;
	unsigned max_down = (s->n_initial - 1) / 2;
	if (rng_permille(&s->rng, 500) &&
	    count_status(s, NODE_DOWN) < max_down) {
		trace(s, "churn: crash new leader n%" PRIu64, n->id);
		node_crash(s, n);
		schedule(s, rng_between(&s->rng, 1000, 400000), EV_RESTART,
			 (unsigned)n->id, n->inc, 0);
		return;
	}
	uint64_t len = rng_between(&s->rng, 20000, 400000);
	s->net.isolated_until[n->id] = s->now + len;
	trace(s, "churn: isolate new leader n%" PRIu64 " for %" PRIu64 "ms",
	      n->id, len / 1000);
}

static void fault_churn(struct sim *s)
{
	s->net.churn = (unsigned)rng_between(&s->rng, 300, 900);
	trace(s, "fault: leader churn %u%%", s->net.churn / 10);
}

/* Faults come and go in phases: each phase clears the previous faults and
 * draws a new mix. */
static void on_phase(struct sim *s)
{
	if (s->healed)
		return;
	net_clear(s);
	for (raft_id id = 1; id < MAX_NODES; id++)
		disk_faults_clear(&s->nodes[id].df);
	switch (rng_below(&s->rng, 8)) {
	case 0:
		trace(s, "fault: calm");
		break;
	case 1:
		fault_lossy(s);
		break;
	case 2:
		fault_partition(s);
		break;
	case 3:
		fault_isolate_leader(s);
		break;
	case 4:
		fault_one_way(s);
		break;
	case 5:
		fault_disks(s);
		break;
	case 6:
	case 7:
		fault_churn(s);
		break;
	}
	if (rng_permille(&s->rng, 300))
		fault_lossy(s);
	if (rng_permille(&s->rng, 200))
		fault_disks(s);
	uint64_t len = rng_between(&s->rng, 100000, 2000000);
	if (s->now + len < s->heal_at)
		schedule(s, len, EV_PHASE, 0, 0, 0);
}

static void on_crash(struct sim *s)
{
	if (s->healed)
		return;
	unsigned max_down = (s->n_initial - 1) / 2;
	struct sim_node *victim = rng_permille(&s->rng, 400) ? find_leader(s)
							     : NULL;
	if (!victim)
		victim = random_up_node(s);
	if (victim && count_status(s, NODE_DOWN) < max_down) {
		node_crash(s, victim);
		schedule(s, rng_between(&s->rng, 1000, 1500000), EV_RESTART,
			 (unsigned)victim->id, victim->inc, 0);
	}
	schedule(s, rng_between(&s->rng, 100000, 1500000), EV_CRASH, 0, 0, 0);
}

static void on_restart(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_of(s, ev->node);
	if (n && n->status == NODE_DOWN && n->inc == ev->inc)
		node_start(s, n);
}

/* ---- heal and liveness ---------------------------------------------------- */

static void on_heal(struct sim *s)
{
	s->healed = true;
	net_clear(s);
	for (raft_id id = 1; id < MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		disk_faults_clear(&n->df);
		if (n->status == NODE_DOWN)
			node_start(s, n);
	}
	s->liveness_deadline = s->now + LIVENESS_TIMEOUTS *
						ELECTION_TIMEOUT_MS * 1000ull;
	trace(s, "heal: all faults cleared, every node up");
	schedule(s, 1000, EV_PROBE, 0, 0, 0);
}

/* The probe entry is committed once a majority of the committed
 * configuration's voters applied it. */
static bool probe_committed(struct sim *s)
{
	if (!s->probe_index || s->probe_index >= s->chk.committed_cap ||
	    s->chk.committed[s->probe_index].term != s->probe_term)
		return false;
	const struct raft_config *c = &s->cluster_config;
	unsigned voters = 0, have = 0;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->servers[i].role != RAFT_VOTER)
			continue;
		voters++;
		struct sim_node *n = node_of(s, c->servers[i].id);
		if (n && n->status == NODE_UP &&
		    n->app.applied >= s->probe_index)
			have++;
	}
	return have > voters / 2;
}

static void liveness_failed(struct sim *s)
{
	char buf[600];
	int k = 0;
	for (raft_id id = 1; id < MAX_NODES && k < 480; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->status != NODE_UP)
			continue;
		/* Its own view of its membership: (v)oter, (l)earner or
		 * (-) not a member. */
		const struct raft_server *me =
			raft_config_get(raft_config_current(n->raft), id);
		char role = !me ? '-' : me->role == RAFT_VOTER ? 'v' : 'l';
		k += snprintf(buf + k, sizeof(buf) - (size_t)k,
			      " n%" PRIu64 "(%c):%s/t%" PRIu64 "/c%" PRIu64
			      "/l%" PRIu64 "/%" PRIu64,
			      id, role, raft_state_name(raft_state(n->raft)),
			      raft_term_current(n->raft),
			      raft_commit_index(n->raft),
			      raft_last_index(n->raft),
			      raft_last_term(n->raft));
	}
	violation(s, "liveness",
		  "no new entry committed on a majority within %u election "
		  "timeouts after the heal;%s",
		  LIVENESS_TIMEOUTS, buf);
}

static void on_probe(struct sim *s)
{
	if (probe_committed(s)) {
		trace(s,
		      "liveness: probe %" PRIu64 "/%" PRIu64
		      " committed on a majority",
		      s->probe_index, s->probe_term);
		s->done = true;
		return;
	}
	if (s->now > s->liveness_deadline) {
		liveness_failed(s);
		return;
	}
	struct sim_node *l = find_leader(s);
	struct sim_node *p = node_of(s, s->probe_node);
	bool probe_alive = p && p->status == NODE_UP &&
			   raft_state(p->raft) == RAFT_LEADER &&
			   raft_term_current(p->raft) == s->probe_term;
	if (l && !probe_alive) {
		struct step_out out;
		if (propose_value(s, l, &out) == 0) {
			s->probe_node = l->id;
			s->probe_index = out.proposed_index;
			s->probe_term = out.proposed_term;
		}
	}
	schedule(s, 10000, EV_PROBE, 0, 0, 0);
}

/* ---- one seed ------------------------------------------------------------ */

static void sim_options(struct sim *s)
{
	static const unsigned batches[] = { 1, 2, 3, 8, 64 };
	struct raft_options *o = &s->ropt;
	raft_options_default(o);
	o->election_timeout = ELECTION_TIMEOUT_MS;
	o->heartbeat_interval = HEARTBEAT_MS;
	o->max_inflight = (unsigned)rng_between(&s->rng, 1, 16);
	o->max_batch_entries = batches[rng_below(&s->rng, 5)];
	o->max_batch_bytes = 64 << 10;
	o->max_entry_bytes = 4096;
	o->snapshot_chunk = (size_t)rng_between(&s->rng, 256, 2048);
}

static void sim_bootstrap(struct sim *s)
{
	struct raft_config cfg = { .n = s->n_initial };
	for (unsigned i = 0; i < s->n_initial; i++) {
		cfg.servers[i].id = i + 1;
		cfg.servers[i].role = RAFT_VOTER;
		snprintf(cfg.servers[i].addr, RAFT_ADDR_MAX, "n%u", i + 1);
	}
	struct raft_entry boot;
	if (raft_bootstrap_entry(&cfg, &boot) != 0) {
		violation(s, "api", "raft_bootstrap_entry failed");
		return;
	}
	for (raft_id id = 1; id < MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		n->id = id;
		n->rate_ppm = (uint32_t)rng_between(&s->rng, 990000, 1010000);
		disk_faults_clear(&n->df);
		if (id > s->n_initial)
			continue;
		n->disk.term = 1;
		disk_log_append(&n->disk, &boot);
	}
	free(boot.data.base);
	s->cluster_config = cfg;
	s->cluster_config_index = 1;
	for (raft_id id = 1; id <= s->n_initial && !s->failed; id++)
		node_start(s, &s->nodes[id]);
}

static void sim_init(struct sim *s, const struct sim_opts *opt, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->opt = opt;
	s->seed = seed;
	rng_seed(&s->rng, seed * 0x9E3779B97F4A7C15ull + opt->nodes);
	s->n_initial = opt->nodes;
	s->next_spare = opt->nodes + 1;
	net_clear(s);
	sim_options(s);
	s->heal_at = opt->time_ms * 1000;
	trace(s, "seed %" PRIu64 ": %u nodes, inflight %u, batch %u, chunk %zu",
	      seed, opt->nodes, s->ropt.max_inflight, s->ropt.max_batch_entries,
	      s->ropt.snapshot_chunk);
	sim_bootstrap(s);
	schedule(s, 1000, EV_PROPOSE, 0, 0, 0);
	schedule(s, 5000, EV_READ, 0, 0, 0);
	schedule(s, s->heal_at, EV_HEAL, 0, 0, 0);
	if (!opt->faults)
		return;
	schedule(s, 200000, EV_TRANSFER, 0, 0, 0);
	schedule(s, 300000, EV_MEMBERSHIP, 0, 0, 0);
	schedule(s, rng_between(&s->rng, 100000, 800000), EV_PHASE, 0, 0, 0);
	schedule(s, rng_between(&s->rng, 200000, 1500000), EV_CRASH, 0, 0, 0);
}

static void sim_free(struct sim *s)
{
	struct sim_event ev;
	while (queue_pop(&s->q, &ev))
		msg_free(ev.msg);
	free(s->q.heap);
	for (raft_id id = 1; id < MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		raft_close(n->raft);
		disk_pending_free(n);
		free(n->writes);
		disk_free(&n->disk);
		shadow_free(&n->sh);
	}
	free(s->chk.reg);
	free(s->chk.committed);
	free(s->chk.state_hash);
	free(s->chk.leader_of);
	free(s->chk.reads);
}

static void dispatch(struct sim *s, struct sim_event *ev)
{
	switch (ev->kind) {
	case EV_TICK:
		on_tick(s, ev);
		break;
	case EV_DELIVER:
		on_deliver(s, ev);
		break;
	case EV_DISK:
		on_disk(s, ev);
		break;
	case EV_PROPOSE:
		on_propose(s);
		break;
	case EV_READ:
		on_read(s);
		break;
	case EV_TRANSFER:
		on_transfer(s);
		break;
	case EV_MEMBERSHIP:
		on_membership(s);
		break;
	case EV_PHASE:
		on_phase(s);
		break;
	case EV_CRASH:
		on_crash(s);
		break;
	case EV_RESTART:
		on_restart(s, ev);
		break;
	case EV_HEAL:
		on_heal(s);
		break;
	case EV_PROBE:
		on_probe(s);
		break;
	case EV_CHURN:
		on_churn(s, ev);
		break;
	}
}

static void final_audit(struct sim *s)
{
	for (raft_id id = 1; id < MAX_NODES && !s->failed; id++)
		if (s->nodes[id].status == NODE_UP)
			audit_log(s, &s->nodes[id]);
}

/* Runs one seed; true when no invariant was violated. */
static bool run_seed(const struct sim_opts *opt, uint64_t seed,
		     struct seed_stats *st)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	sim_init(s, opt, seed);
	struct sim_event ev;
	while (!s->failed && !s->done && queue_pop(&s->q, &ev)) {
		s->now = ev.at;
		dispatch(s, &ev);
		msg_free(ev.msg);
		stop_pending_nodes(s);
	}
	if (!s->failed && !s->done)
		violation(s, "liveness", "the simulation ran out of events");
	final_audit(s);
	s->st.sim_ms = s->now / 1000;
	*st = s->st;
	bool ok = !s->failed;
	if (!ok)
		print_violation(s);
	else if (opt->verbose)
		printf("seed %" PRIu64 ": ok, %" PRIu64 " steps, %" PRIu64
		       " entries committed, %" PRIu64 " elections\n",
		       seed, s->st.steps, s->st.commits, s->st.elections);
	fflush(stdout);
	sim_free(s);
	free(s);
	return ok;
}

/* ---- driver: one forked child per seed ------------------------------------- */

struct child {
	pid_t pid;
	uint64_t seed;
	int fd; /* read end of the child's stats pipe */
};

struct totals {
	uint64_t seeds_done;
	uint64_t failed_seed;
	uint64_t n_failed;
	bool failed;
	struct seed_stats sum;
	uint64_t seeds_with_install;
	uint64_t seeds_with_config;
};

static void totals_add(struct totals *t, const struct seed_stats *st)
{
	uint64_t *dst = (uint64_t *)&t->sum;
	const uint64_t *src = (const uint64_t *)st;
	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] += src[i];
	t->seeds_with_install += st->snapshots_installed > 0;
	t->seeds_with_config += st->config_changes > 0;
	t->seeds_done++;
}

static void child_main(const struct sim_opts *opt, uint64_t seed, int fd)
{
	alarm(opt->seed_timeout_s); /* a hung core is a failure too */
	struct seed_stats st;
	memset(&st, 0, sizeof(st));
	bool ok = run_seed(opt, seed, &st);
	if (write(fd, &st, sizeof(st)) != (ssize_t)sizeof(st))
		_exit(3);
	_exit(ok ? 0 : 1);
}

static bool spawn(const struct sim_opts *opt, uint64_t seed, struct child *c)
{
	int p[2];
	if (pipe(p) != 0) {
		perror("raft-sim: pipe");
		return false;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("raft-sim: fork");
		return false;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(opt, seed, p[1]);
	}
	close(p[1]);
	c->pid = pid;
	c->seed = seed;
	c->fd = p[0];
	return true;
}

static void reap(const struct sim_opts *opt, struct child *c, int status,
		 struct totals *t)
{
	struct seed_stats st;
	memset(&st, 0, sizeof(st));
	bool got = read(c->fd, &st, sizeof(st)) == (ssize_t)sizeof(st);
	close(c->fd);
	if (got)
		totals_add(t, &st);
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (ok)
		return;
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		printf("seed %" PRIu64
		       " (%u nodes): VIOLATION: %s (signal %d)\n",
		       c->seed, opt->nodes,
		       sig == SIGALRM ? "hang: the seed did not finish in time"
				      : "crash: the process died (core "
					"assertion?)",
		       sig);
		printf("replay: %s --seed %" PRIu64 " --seeds 1 --nodes %u "
		       "--time %" PRIu64 " --verbose --no-fork\n",
		       opt->argv0, c->seed, opt->nodes, opt->time_ms);
	}
	if (!t->failed || c->seed < t->failed_seed)
		t->failed_seed = c->seed;
	t->failed = true;
	t->n_failed++;
	if (!got)
		t->seeds_done++;
}

static void progress(const struct sim_opts *opt, const struct totals *t,
		     time_t started)
{
	if (opt->seeds < 200 || t->seeds_done % 100 != 0 || opt->verbose)
		return;
	fprintf(stderr,
		"raft-sim: %" PRIu64 "/%" PRIu64 " seeds (%u nodes), %lds\n",
		t->seeds_done, opt->seeds, opt->nodes,
		(long)(time(NULL) - started));
}

static void run_forked(const struct sim_opts *opt, struct totals *t)
{
	struct child kids[64];
	unsigned running = 0;
	uint64_t next = opt->seed, end = opt->seed + opt->seeds;
	time_t started = time(NULL);
	while ((next < end && (!t->failed || opt->keep_going)) || running > 0) {
		if (next < end && (!t->failed || opt->keep_going) &&
		    running < opt->jobs) {
			if (!spawn(opt, next, &kids[running])) {
				t->failed = true;
				t->failed_seed = next;
				continue;
			}
			next++;
			running++;
			continue;
		}
		int status;
		pid_t pid = wait(&status);
		if (pid < 0)
			break;
		for (unsigned i = 0; i < running; i++) {
			if (kids[i].pid != pid)
				continue;
			reap(opt, &kids[i], status, t);
			kids[i] = kids[--running];
			progress(opt, t, started);
			break;
		}
	}
}

static void run_inline(const struct sim_opts *opt, struct totals *t)
{
	for (uint64_t seed = opt->seed; seed < opt->seed + opt->seeds; seed++) {
		struct seed_stats st;
		memset(&st, 0, sizeof(st));
		bool ok = run_seed(opt, seed, &st);
		totals_add(t, &st);
		if (!ok) {
			if (!t->failed)
				t->failed_seed = seed;
			t->failed = true;
			t->n_failed++;
			if (!opt->keep_going)
				return;
		}
	}
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--seed N] [--seeds K] [--nodes 3|5] [--time MS]\n"
		"          [--verbose] [--no-faults] [--jobs J] [--no-fork]\n"
		"          [--keep-going]\n"
		"\n"
		"Simulates a tenure Raft cluster for seeds N..N+K-1 and "
		"checks\n"
		"election safety, log matching, leader completeness, state\n"
		"machine safety, read linearizability, durability and "
		"liveness\n"
		"after every step.\n"
		"\n"
		"  --seed N      first seed (default 1)\n"
		"  --seeds K     number of seeds (default 1)\n"
		"  --nodes 3|5   initial cluster size (default 3)\n"
		"  --time MS     simulated milliseconds of faults per seed "
		"before\n"
		"                the final heal (default 20000)\n"
		"  --verbose     print every traced event\n"
		"  --no-faults   no network, disk or crash faults\n"
		"  --jobs J      seeds run in parallel (default 1)\n"
		"  --no-fork     run seeds in this process (for a debugger)\n"
		"  --keep-going  run every seed even after violations "
		"(survey)\n"
		"\n"
		"On a violation it prints the seed, the invariant, the last "
		"trace\n"
		"lines and the command that replays it, and exits 1.\n",
		argv0);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, struct sim_opts *o)
{
	*o = (struct sim_opts){ .argv0 = argv[0],
				.seed = 1,
				.seeds = 1,
				.nodes = 3,
				.time_ms = 20000,
				.faults = true,
				.jobs = 1,
				.fork = true,
				.seed_timeout_s = 300 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x = 0;
		if (!strcmp(a, "--verbose")) {
			o->verbose = true;
		} else if (!strcmp(a, "--no-faults")) {
			o->faults = false;
		} else if (!strcmp(a, "--no-fork")) {
			o->fork = false;
		} else if (!strcmp(a, "--keep-going")) {
			o->keep_going = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout, argv[0]);
			exit(0);
		} else if (v && parse_u64(v, &x) &&
			   (!strcmp(a, "--seed") || !strcmp(a, "--seeds") ||
			    !strcmp(a, "--nodes") || !strcmp(a, "--time") ||
			    !strcmp(a, "--jobs"))) {
			i++;
			if (!strcmp(a, "--seed"))
				o->seed = x;
			else if (!strcmp(a, "--seeds"))
				o->seeds = x;
			else if (!strcmp(a, "--nodes"))
				o->nodes = (unsigned)x;
			else if (!strcmp(a, "--time"))
				o->time_ms = x;
			else
				o->jobs = (unsigned)x;
		} else {
			fprintf(stderr,
				"raft-sim: bad or incomplete option '%s'\n", a);
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (o->nodes != 3 && o->nodes != 5) {
		fprintf(stderr, "raft-sim: --nodes must be 3 or 5\n");
		return -1;
	}
	if (o->jobs < 1 || o->jobs > 64) {
		fprintf(stderr, "raft-sim: --jobs must be 1..64\n");
		return -1;
	}
	if (o->time_ms < 100 || o->time_ms > 10000000) {
		fprintf(stderr, "raft-sim: --time must be 100..10000000 ms\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sim_opts opt;
	if (parse_args(argc, argv, &opt) != 0)
		return 2;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	struct totals t;
	memset(&t, 0, sizeof(t));
	if (opt.fork)
		run_forked(&opt, &t);
	else
		run_inline(&opt, &t);
	const struct seed_stats *sum = &t.sum;
	printf("coverage: %" PRIu64 " steps, %" PRIu64 " elections, %" PRIu64
	       " entries committed, %" PRIu64 " crashes, %" PRIu64
	       " disk failures, %" PRIu64 " snapshots taken, %" PRIu64
	       " installed (in %" PRIu64 " seeds), %" PRIu64
	       " config changes (in %" PRIu64 " seeds), %" PRIu64
	       " transfers, %" PRIu64 " linearizable reads, %" PRIu64
	       " old-term commits\n",
	       sum->steps, sum->elections, sum->commits, sum->crashes,
	       sum->disk_failures, sum->snapshots_taken,
	       sum->snapshots_installed, t.seeds_with_install,
	       sum->config_changes, t.seeds_with_config, sum->transfers,
	       sum->reads_ok, sum->old_term_commits);
	if (t.failed) {
		printf("%" PRIu64 " seeds, %" PRIu64
		       " violation%s (first failing "
		       "seed %" PRIu64 ")\n",
		       t.seeds_done, t.n_failed, t.n_failed == 1 ? "" : "s",
		       t.failed_seed);
		return 1;
	}
	printf("%" PRIu64 " seeds, 0 violations\n", t.seeds_done);
	return 0;
}
