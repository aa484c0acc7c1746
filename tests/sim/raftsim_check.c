/*
 * raftsim_check.c — the invariant checker, run after every step: an
 * entry registry and per-node shadow logs (log matching), commits and
 * leaders by term (election safety, leader completeness), applied states
 * (state machine safety), reads (linearizability) and persistence
 * before send (durability).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/raftsim.h"

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

raft_index shadow_last(const struct shadow_log *sh)
{
	return sh->base + sh->n;
}

raft_term shadow_term(const struct shadow_log *sh, raft_index i)
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

void shadow_reset(struct shadow_log *sh, raft_index base, raft_term term,
		  uint64_t chain)
{
	sh->base = base;
	sh->base_term = term;
	sh->base_chain = chain;
	sh->n = 0;
}

void shadow_free(struct shadow_log *sh)
{
	free(sh->term);
	free(sh->chain);
	memset(sh, 0, sizeof(*sh));
}

void shadow_truncate(struct shadow_log *sh, raft_index from)
{
	if (from <= sh->base)
		sh->n = 0;
	else if (from <= shadow_last(sh))
		sh->n = from - sh->base - 1;
}

void shadow_append(struct sim *s, struct sim_node *n,
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
uint64_t snapshot_chain(struct sim *s, raft_id node, raft_index idx,
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
void note_commit_rule(struct sim *s, struct sim_node *n, bool led_before)
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

void check_commit(struct sim *s, struct sim_node *n)
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
void check_role(struct sim *s, struct sim_node *n)
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
void check_log_tracking(struct sim *s, struct sim_node *n)
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
void audit_log(struct sim *s, struct sim_node *n)
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

void reads_add(struct sim *s, uint64_t id, struct sim_node *n,
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

void reads_drop_node(struct sim *s, raft_id node)
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
void check_read(struct sim *s, struct sim_node *n,
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
void check_durable_before_send(struct sim *s, struct sim_node *n,
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
