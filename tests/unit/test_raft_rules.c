/*
 * test_raft_rules.c — the Raft core checked rule by rule against Figure 2
 * of the Raft paper ("In Search of an Understandable Consensus Algorithm",
 * Ongaro & Ousterhout), then against the extensions this core adds (PreVote,
 * CheckQuorum, leader stickiness, ReadIndex, leadership transfer, membership
 * changes, snapshots, pipelining) and the persistence order of raft.h.
 *
 * Every test drives a small cluster through tests/unit/raft_fixture.c: the test
 * decides which node ticks and which message is delivered, so each test
 * builds exactly the situation its rule talks about, starting from a
 * cluster described as data (CLUSTER: how many voters, who leads, what is
 * observed from when; see start_cluster).  Where a situation needs a
 * specific node to win an election while the others still follow a leader
 * (and would ignore it, see leader stickiness), the test injects a
 * TimeoutNow into that node: the transfer path skips PreVote and the lease,
 * which keeps the setup short and deterministic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "tests/unit/raft_fixture.h"
#include "tests/unit/suites.h"

#define ET 100 /* the fixture's election timeout, ms */
#define HB 10  /* the fixture's heartbeat interval, ms */

/* ---- observing updates --------------------------------------------------- */

/* What the hook saw; reset by observe(). */
struct observed {
	/* apply order: one past the last index each node applied */
	raft_index next_apply[FX_MAX_NODES + 1];
	bool apply_out_of_order;
	bool apply_uncommitted;
	/* state machine safety: the term applied at each index, anywhere */
	raft_term applied_term[512];
	bool apply_diverged;
	/* scalar fields of each node's latest update (pointers are stale) */
	struct raft_update last_up[FX_MAX_NODES + 1];
	/* latest log write requested by each node */
	raft_index persist_first[FX_MAX_NODES + 1];
	unsigned persist_n[FX_MAX_NODES + 1];
	unsigned n_persist[FX_MAX_NODES + 1];
	/* a message of a term that was not durable when it was sent */
	bool term_not_durable;
	/* votes granted, and whether one left before its vote was durable */
	unsigned votes_granted;
	bool vote_not_durable;
	/* AppendEntries from watch_from to watch_to, and rejections back */
	raft_id watch_from, watch_to;
	raft_index append_prev[256];
	unsigned n_appends;
	unsigned n_rejects;
	/* TimeoutNow sent, and whether one left before the target caught up */
	unsigned timeout_now_sent;
	bool timeout_now_early;
	/* InstallSnapshot chunks sent, and the snapshot a follower installed */
	uint64_t chunk_offsets[64];
	size_t chunk_max_len;
	unsigned n_chunks;
	bool snap_present;
	raft_index snap_index;
	raft_term snap_term;
	char snap_data[64];
	size_t snap_len;
};

static void observe_apply(struct fixture *f, struct observed *o, raft_id id,
			  const struct raft_update *up)
{
	/* the fixture's count is still the one before this update */
	raft_index expect = fx_node(f, id)->applied + 1;
	for (unsigned i = 0; i < up->n_apply; i++) {
		raft_index idx = up->apply[i].index;
		if (idx != expect++)
			o->apply_out_of_order = true;
		if (idx > raft_commit_index(fx_raft(f, id)))
			o->apply_uncommitted = true;
		o->next_apply[id] = idx + 1;
		if (idx >= 512)
			continue;
		if (o->applied_term[idx] == 0)
			o->applied_term[idx] = up->apply[i].term;
		else if (o->applied_term[idx] != up->apply[i].term)
			o->apply_diverged = true;
	}
}

/* A granted vote is durable if this very update writes it, or if the
 * durable image (not yet updated by this update) already holds it. */
static void observe_vote(struct fixture *f, struct observed *o, raft_id id,
			 const struct raft_update *up,
			 const struct raft_message *m)
{
	if (m->type != RAFT_MSG_VOTE_RESP || m->vote_resp.prevote ||
	    !m->vote_resp.granted)
		return;
	o->votes_granted++;
	const struct fx_node *nd = fx_node(f, id);
	bool written = up->hard_state_changed && up->term == m->term &&
		       up->voted_for == m->to;
	bool was_durable = nd->d_term == m->term && nd->d_vote == m->to;
	if (!written && !was_durable)
		o->vote_not_durable = true;
}

/* raft.h rule 1: the term a message carries is durable before it leaves.
 * PreVote traffic carries the term the candidate WOULD take, so it is
 * exempt (that is the point of PreVote: nothing is written). */
static void observe_term(struct fixture *f, struct observed *o, raft_id id,
			 const struct raft_update *up,
			 const struct raft_message *m)
{
	bool prevote = (m->type == RAFT_MSG_VOTE && m->vote.prevote) ||
		       (m->type == RAFT_MSG_VOTE_RESP && m->vote_resp.prevote);
	raft_term durable = up->hard_state_changed ? up->term
						   : fx_node(f, id)->d_term;
	if (!prevote && m->term > durable)
		o->term_not_durable = true;
}

static void observe_message(struct fixture *f, struct observed *o, raft_id id,
			    const struct raft_update *up,
			    const struct raft_message *m)
{
	observe_term(f, o, id, up, m);
	observe_vote(f, o, id, up, m);
	if (m->type == RAFT_MSG_APPEND && m->from == o->watch_from &&
	    m->to == o->watch_to && o->n_appends < 256)
		o->append_prev[o->n_appends++] = m->append.prev_index;
	if (m->type == RAFT_MSG_APPEND_RESP && m->from == o->watch_to &&
	    m->to == o->watch_from && !m->append_resp.success)
		o->n_rejects++;
	if (m->type == RAFT_MSG_TIMEOUT_NOW) {
		o->timeout_now_sent++;
		struct raft *r = fx_raft(f, id);
		if (raft_peer_match(r, m->to) < raft_last_index(r))
			o->timeout_now_early = true;
	}
	if (m->type == RAFT_MSG_SNAPSHOT && o->n_chunks < 64) {
		o->chunk_offsets[o->n_chunks++] = m->snapshot.offset;
		if (m->snapshot.chunk.len > o->chunk_max_len)
			o->chunk_max_len = m->snapshot.chunk.len;
	}
}

static void observe_snapshot(struct observed *o, const struct raft_update *up)
{
	if (!up->snapshot.present)
		return;
	o->snap_present = true;
	o->snap_index = up->snapshot.index;
	o->snap_term = up->snapshot.term;
	o->snap_len = up->snapshot.data.len;
	if (o->snap_len <= sizeof(o->snap_data))
		memcpy(o->snap_data, up->snapshot.data.base, o->snap_len);
}

static void hook(struct fixture *f, raft_id id, const struct raft_event *ev,
		 const struct raft_update *up)
{
	struct observed *o = f->hook_data;
	(void)ev;
	observe_apply(f, o, id, up);
	o->last_up[id] = *up;
	if (up->persist.seq) {
		o->persist_first[id] = up->persist.first;
		o->persist_n[id] = up->persist.n_entries;
		o->n_persist[id]++;
	}
	for (unsigned i = 0; i < up->n_messages; i++)
		observe_message(f, o, id, up, &up->messages[i]);
	observe_snapshot(o, up);
}

static void observe(struct fixture *f, struct observed *o)
{
	memset(o, 0, sizeof(*o));
	for (unsigned i = 0; i <= FX_MAX_NODES; i++)
		o->next_apply[i] = 1; /* index 1: the bootstrap configuration */
	f->on_update = hook;
	f->hook_data = o;
}

/* ---- small helpers ------------------------------------------------------- */

static struct raft_options test_options(void)
{
	struct raft_options o;
	raft_options_default(&o);
	o.election_timeout = ET;
	o.heartbeat_interval = HB;
	return o;
}

static int state_of(struct fixture *f, raft_id id)
{
	return raft_state(fx_raft(f, id));
}

static raft_term term_of(struct fixture *f, raft_id id)
{
	return raft_term_current(fx_raft(f, id));
}

static raft_index commit_of(struct fixture *f, raft_id id)
{
	return raft_commit_index(fx_raft(f, id));
}

static raft_index last_of(struct fixture *f, raft_id id)
{
	return raft_last_index(fx_raft(f, id));
}

static struct raft_message make_msg(uint8_t type, raft_id from, raft_term term)
{
	struct raft_message m;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.from = from;
	m.term = term;
	return m;
}

/* Hand a hand-made message to node `to`, as if it came off the network. */
static void inject(struct fixture *f, raft_id to, struct raft_message m)
{
	m.to = to;
	struct raft_event ev = { .type = RAFT_EV_RECEIVE,
				 .now = fx_node(f, to)->now };
	ev.receive.msg = &m;
	fx_step(f, to, &ev);
}

/* An AppendEntries of `n` empty NORMAL entries with the given terms,
 * following prev_index. */
static void inject_append(struct fixture *f, raft_id to, raft_id from,
			  raft_term term, raft_index prev_index,
			  raft_term prev_term, raft_index commit,
			  const raft_term *terms, unsigned n)
{
	struct raft_entry e[16];
	ck_assert_uint_le(n, 16);
	for (unsigned i = 0; i < n; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].term = terms[i];
		e[i].index = prev_index + 1 + i;
		e[i].type = RAFT_ENTRY_NORMAL;
	}
	struct raft_message m = make_msg(RAFT_MSG_APPEND, from, term);
	m.append.prev_index = prev_index;
	m.append.prev_term = prev_term;
	m.append.commit = commit;
	m.append.n_entries = n;
	m.append.entries = e;
	inject(f, to, m);
}

static void inject_vote(struct fixture *f, raft_id to, raft_id from,
			raft_term term, raft_index last_index,
			raft_term last_term)
{
	struct raft_message m = make_msg(RAFT_MSG_VOTE, from, term);
	m.vote.last_index = last_index;
	m.vote.last_term = last_term;
	inject(f, to, m);
}

/* Deliver the first queued (from, to, type) message; it must exist. */
static void deliver(struct fixture *f, raft_id from, raft_id to, int type)
{
	bool found = fx_deliver_one(f, from, to, type);
	ck_assert_msg(found, "no %s queued from %llu to %llu",
		      raft_msg_type_name((uint8_t)type),
		      (unsigned long long)from, (unsigned long long)to);
}

/* Deliver every queued message between `from` and `to`, one direction. */
static unsigned deliver_link(struct fixture *f, raft_id from, raft_id to)
{
	unsigned n = 0;
	while (fx_deliver_one(f, from, to, 0))
		n++;
	return n;
}

/* Deliver election traffic only, leaving AppendEntries queued. */
static void deliver_votes(struct fixture *f)
{
	while (fx_deliver_one(f, 0, 0, RAFT_MSG_VOTE) ||
	       fx_deliver_one(f, 0, 0, RAFT_MSG_VOTE_RESP))
		;
}

/* The first queued APPEND_RESP from -> to, or NULL. */
static const struct raft_message *append_resp(struct fixture *f, raft_id from,
					      raft_id to)
{
	return fx_peek(f, from, to, RAFT_MSG_APPEND_RESP);
}

/* Is there a queued successful APPEND_RESP acknowledging >= match? */
static bool acked(struct fixture *f, raft_id from, raft_id to, raft_index match)
{
	for (unsigned i = 0; i < f->n_queue; i++) {
		const struct raft_message *m = &f->queue[i].m;
		if (m->type == RAFT_MSG_APPEND_RESP && m->from == from &&
		    m->to == to && m->append_resp.success &&
		    m->append_resp.match >= match)
			return true;
	}
	return false;
}

static unsigned queued_appends_with_entries(struct fixture *f, raft_id from,
					    raft_id to)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->n_queue; i++) {
		const struct raft_message *m = &f->queue[i].m;
		n += m->type == RAFT_MSG_APPEND && m->from == from &&
		     m->to == to && m->append.n_entries > 0;
	}
	return n;
}

/* Make `id` campaign right now, as a leadership transfer would. */
static void campaign_now(struct fixture *f, raft_id id)
{
	raft_id other = id == 1 ? 2 : 1;
	inject(f, id, make_msg(RAFT_MSG_TIMEOUT_NOW, other, term_of(f, id)));
}

/* campaign_now, then deliver everything until the election is over. */
static void force_elect(struct fixture *f, raft_id id)
{
	campaign_now(f, id);
	fx_deliver(f, 100000);
	ck_assert_int_eq(state_of(f, id), RAFT_LEADER);
}

/* Elect `id` and let a few heartbeats spread the commit index. */
static void elect_settled(struct fixture *f, raft_id id)
{
	fx_elect(f, id);
	ck_assert_int_eq(state_of(f, id), RAFT_LEADER);
	fx_run(f, 3 * HB, 5);
}

static void propose_n(struct fixture *f, raft_id id, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(fx_propose(f, id, "cmd"), 0);
}

static int read_index(struct fixture *f, raft_id id, uint64_t rid)
{
	struct raft_event ev = { .type = RAFT_EV_READ_INDEX,
				 .now = fx_node(f, id)->now };
	ev.read.id = rid;
	return fx_step(f, id, &ev);
}

static int change(struct fixture *f, raft_id leader, uint8_t op, raft_id id)
{
	struct raft_event ev = { .type = RAFT_EV_CHANGE_CONFIG,
				 .now = fx_node(f, leader)->now };
	ev.change.op = op;
	ev.change.id = id;
	snprintf(ev.change.addr, RAFT_ADDR_MAX, "node%llu",
		 (unsigned long long)id);
	return fx_step(f, leader, &ev);
}

static int transfer(struct fixture *f, raft_id leader, raft_id to)
{
	struct raft_event ev = { .type = RAFT_EV_TRANSFER,
				 .now = fx_node(f, leader)->now };
	ev.transfer.to = to;
	return fx_step(f, leader, &ev);
}

/* ---- the cluster a test starts from -------------------------------------- */

/* A test's starting point as data, every field optional:
 *
 *   CLUSTER(&f)                      three fresh voters, nobody elected
 *   CLUSTER(&f, .voters = 5)         five fresh voters
 *   CLUSTER(&f, .leader = 1)         node 1 leads term 2 and heartbeats have
 *                                    spread the commit of its no-op
 *                                    (elect_settled)
 *   CLUSTER(&f, .leader = 1, .next_leader = 2)
 *                                    then node 2 leads term 3 (force_elect)
 *
 * .unsettled: the leader's election timeout only runs out and everything is
 * delivered (fx_elect): it is not checked, nor are heartbeats run.
 * .watch: observe() every update from the start, elections included;
 * .watch_after: from the end of the set-up on.  The raft_options fields,
 * when not 0, replace those of test_options(). */
struct cluster {
	unsigned voters; /* 3 when 0 */
	raft_id leader;
	bool unsettled;
	raft_id next_leader;
	struct observed *watch;
	struct observed *watch_after;
	unsigned max_inflight;
	unsigned max_batch_entries;
	size_t snapshot_chunk;
};

#define CLUSTER(f, ...) start_cluster((f), (struct cluster){ __VA_ARGS__ })

static void start_cluster(struct fixture *f, struct cluster c)
{
	struct raft_options opt = test_options();
	if (c.max_inflight)
		opt.max_inflight = c.max_inflight;
	if (c.max_batch_entries)
		opt.max_batch_entries = c.max_batch_entries;
	if (c.snapshot_chunk)
		opt.snapshot_chunk = c.snapshot_chunk;
	fx_init_opts(f, c.voters ? c.voters : 3, &opt);
	if (c.watch)
		observe(f, c.watch);
	if (c.leader && c.unsettled)
		fx_elect(f, c.leader);
	else if (c.leader)
		elect_settled(f, c.leader);
	if (c.next_leader)
		force_elect(f, c.next_leader);
	if (c.watch_after)
		observe(f, c.watch_after);
}

/* =========================================================================
 * All servers
 * ========================================================================= */

/* Figure 2, All Servers: "If commitIndex > lastApplied: increment
 * lastApplied, apply log[lastApplied] to state machine" — every committed
 * entry exactly once, in index order, and never an uncommitted one. */
START_TEST(test_apply_committed_in_order)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o, .leader = 1);
	propose_n(&f, 1, 5);
	fx_run(&f, 5 * HB, 5);
	ck_assert(!o.apply_out_of_order);
	ck_assert(!o.apply_uncommitted);
	for (raft_id id = 1; id <= 3; id++) {
		ck_assert_uint_eq(commit_of(&f, id), 7);
		ck_assert_uint_eq(o.next_apply[id], 8);
	}
	fx_close(&f);
}
END_TEST

/* Figure 2, All Servers: "If RPC request or response contains term T >
 * currentTerm: set currentTerm = T, convert to follower" — checked for every
 * message type arriving at a leader of term 2.  A RequestVote is sent with
 * .transfer so that leader stickiness (tested on its own below) does not
 * apply; a TimeoutNow from the new term's leader first makes the node a
 * follower of that term and then starts its election (term 6). */
static const uint8_t higher_term_types[] = {
	RAFT_MSG_APPEND,         RAFT_MSG_APPEND_RESP,   RAFT_MSG_HEARTBEAT,
	RAFT_MSG_HEARTBEAT_RESP, RAFT_MSG_VOTE,          RAFT_MSG_VOTE_RESP,
	RAFT_MSG_SNAPSHOT,       RAFT_MSG_SNAPSHOT_RESP, RAFT_MSG_TIMEOUT_NOW,
};

START_TEST(test_higher_term_makes_follower)
{
	struct fixture f;
	uint8_t type = higher_term_types[_i];
	CLUSTER(&f, .leader = 1);
	ck_assert_uint_eq(term_of(&f, 1), 2);
	struct raft_message m = make_msg(type, 2, 5);
	m.vote.transfer = type == RAFT_MSG_VOTE;
	m.vote.last_index = 100; /* an up-to-date candidate */
	m.vote.last_term = 4;
	inject(&f, 1, m);
	if (type == RAFT_MSG_TIMEOUT_NOW) {
		ck_assert_uint_ge(term_of(&f, 1), 5);
		ck_assert_int_ne(state_of(&f, 1), RAFT_LEADER);
	} else {
		ck_assert_uint_eq(term_of(&f, 1), 5);
		ck_assert_int_eq(state_of(&f, 1), RAFT_FOLLOWER);
		/* the new term is durable (hard state written) */
		ck_assert_uint_eq(fx_node(&f, 1)->d_term, 5);
	}
	bool from_leader = type == RAFT_MSG_APPEND ||
			   type == RAFT_MSG_HEARTBEAT ||
			   type == RAFT_MSG_SNAPSHOT;
	if (from_leader)
		ck_assert_uint_eq(raft_leader(fx_raft(&f, 1)), 2);
	if (type == RAFT_MSG_VOTE)
		ck_assert_uint_eq(raft_voted_for(fx_raft(&f, 1)), 2);
	fx_close(&f);
}
END_TEST

/* Figure 2, RequestVote/AppendEntries receivers, "Reply false if term <
 * currentTerm": a message of an older term changes nothing at a leader of
 * term 3 — no step-down, no log change, no progress update, no vote.  An
 * AppendEntries/heartbeat/InstallSnapshot of the old term is answered with
 * the newer term (so its sender steps down); a stale PreVote is denied. */
static const struct {
	uint8_t type;
	bool prevote;
} stale_cases[] = {
	{ RAFT_MSG_APPEND, false },        { RAFT_MSG_APPEND_RESP, false },
	{ RAFT_MSG_HEARTBEAT, false },     { RAFT_MSG_HEARTBEAT_RESP, false },
	{ RAFT_MSG_VOTE, false },          { RAFT_MSG_VOTE, true },
	{ RAFT_MSG_VOTE_RESP, false },     { RAFT_MSG_SNAPSHOT, false },
	{ RAFT_MSG_SNAPSHOT_RESP, false }, { RAFT_MSG_TIMEOUT_NOW, false },
};

static struct raft_message stale_message(struct fixture *f, int i)
{
	uint8_t type = stale_cases[i].type;
	struct raft_message m = make_msg(type, 1, 2);
	raft_index last = last_of(f, 2);
	struct raft_entry e = { .term = 2,
				.index = last + 1,
				.type = RAFT_ENTRY_NORMAL };
	if (type == RAFT_MSG_APPEND) {
		m.append.prev_index = last;
		m.append.prev_term = raft_last_term(fx_raft(f, 2));
		m.append.commit = last + 1;
		m.append.n_entries = 1;
		m.append.entries = &e; /* copied by the core during the step */
	} else if (type == RAFT_MSG_APPEND_RESP) {
		m.append_resp.success = true;
		m.append_resp.match = last;
	} else if (type == RAFT_MSG_VOTE) {
		m.vote.last_index = 100;
		m.vote.last_term = 2;
		m.vote.prevote = stale_cases[i].prevote;
	} else if (type == RAFT_MSG_VOTE_RESP) {
		m.vote_resp.granted = true;
	} else if (type == RAFT_MSG_SNAPSHOT_RESP) {
		m.snapshot_resp.index = last;
		m.snapshot_resp.done = true;
	}
	return m;
}

START_TEST(test_stale_term_rejected)
{
	struct fixture f;
	uint8_t type = stale_cases[_i].type;
	CLUSTER(&f, .leader = 1, .next_leader = 2); /* node 2 leads term 3 */
	fx_isolate(&f, 1, true);
	ck_assert_int_eq(fx_propose(&f, 2, "x"), 0); /* node 1 lags */
	fx_drop_all(&f);
	raft_index last = last_of(&f, 2), commit = commit_of(&f, 2);
	raft_index match1 = raft_peer_match(fx_raft(&f, 2), 1);
	ck_assert_uint_lt(match1, last);

	inject(&f, 2, stale_message(&f, _i));
	ck_assert_int_eq(state_of(&f, 2), RAFT_LEADER);
	ck_assert_uint_eq(term_of(&f, 2), 3);
	ck_assert_uint_eq(raft_voted_for(fx_raft(&f, 2)), 2);
	ck_assert_uint_eq(last_of(&f, 2), last);
	ck_assert_uint_eq(commit_of(&f, 2), commit);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 2), 1), match1);
	const struct raft_message *vr = fx_peek(&f, 2, 1, RAFT_MSG_VOTE_RESP);
	ck_assert(vr == NULL || !vr->vote_resp.granted);
	if (type == RAFT_MSG_APPEND || type == RAFT_MSG_HEARTBEAT ||
	    type == RAFT_MSG_SNAPSHOT) {
		const struct raft_message *r = append_resp(&f, 2, 1);
		ck_assert_ptr_nonnull(r);
		ck_assert_uint_eq(r->term, 3);
		ck_assert(!r->append_resp.success);
	}
	fx_close(&f);
}
END_TEST

/* Figure 2, "term < currentTerm" plus "T > currentTerm: convert to
 * follower", together: a leader cut off while a new leader was elected
 * sends a heartbeat of its old term when it comes back; the answer carries
 * the newer term and the old leader steps down, while the new leader and
 * its term are untouched. */
START_TEST(test_stale_leader_steps_down_on_newer_term_reply)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_isolate(&f, 1, true);
	force_elect(&f, 2);
	ck_assert_uint_eq(term_of(&f, 2), 3);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER); /* still believes */
	fx_isolate(&f, 1, false);
	fx_tick(&f, 1, HB); /* its heartbeat of term 2 */
	ck_assert_uint_gt(fx_count(&f, 1, 2, RAFT_MSG_HEARTBEAT), 0);
	fx_deliver(&f, 100000);
	ck_assert_int_eq(state_of(&f, 1), RAFT_FOLLOWER);
	ck_assert_uint_eq(term_of(&f, 1), 3);
	ck_assert_int_eq(state_of(&f, 2), RAFT_LEADER);
	ck_assert_uint_eq(term_of(&f, 2), 3);
	ck_assert_uint_eq(term_of(&f, 3), 3);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * Followers
 * ========================================================================= */

/* Figure 2, Followers: "Respond to RPCs from candidates and leaders". */
START_TEST(test_follower_responds_to_rpcs)
{
	struct fixture f;
	CLUSTER(&f);
	inject_vote(&f, 2, 3, 2, 1, 1);
	ck_assert_ptr_nonnull(fx_peek(&f, 2, 3, RAFT_MSG_VOTE_RESP));
	inject_append(&f, 2, 3, 2, 1, 1, 0, NULL, 0);
	ck_assert_ptr_nonnull(append_resp(&f, 2, 3));
	struct raft_message hb = make_msg(RAFT_MSG_HEARTBEAT, 3, 2);
	inject(&f, 2, hb);
	ck_assert_ptr_nonnull(fx_peek(&f, 2, 3, RAFT_MSG_HEARTBEAT_RESP));
	fx_close(&f);
}
END_TEST

/* Figure 2, Followers: the election timeout only fires "without receiving
 * AppendEntries RPC from current leader": regular heartbeats keep every
 * follower quiet for many timeouts. */
START_TEST(test_follower_hearing_leader_does_not_campaign)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_run(&f, 10 * ET, 5);
	for (raft_id id = 1; id <= 3; id++)
		ck_assert_uint_eq(term_of(&f, id), 2);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	fx_close(&f);
}
END_TEST

/* Figure 2, Followers: "If election timeout elapses ... convert to
 * candidate" — here through PreVote (thesis §9.6): the node first becomes a
 * pre-candidate that asks for votes for term+1 WITHOUT bumping its own term
 * or voting, so nothing reaches the disk, and the nodes it asks keep their
 * term too. */
START_TEST(test_timeout_starts_prevote_without_term_bump)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o);
	fx_tick(&f, 1, 2 * ET + 1);
	ck_assert_int_eq(state_of(&f, 1), RAFT_PRECANDIDATE);
	ck_assert_uint_eq(term_of(&f, 1), 1);
	ck_assert_uint_eq(raft_voted_for(fx_raft(&f, 1)), 0);
	ck_assert(!o.last_up[1].hard_state_changed);
	const struct raft_message *m = fx_peek(&f, 1, 2, RAFT_MSG_VOTE);
	ck_assert_ptr_nonnull(m);
	ck_assert(m->vote.prevote);
	ck_assert_uint_eq(m->term, 2);
	ck_assert_uint_eq(fx_count(&f, 1, 3, RAFT_MSG_VOTE), 1);
	deliver(&f, 1, 2, RAFT_MSG_VOTE);
	ck_assert_uint_eq(term_of(&f, 2), 1);
	ck_assert_uint_eq(raft_voted_for(fx_raft(&f, 2)), 0);
	m = fx_peek(&f, 2, 1, RAFT_MSG_VOTE_RESP);
	ck_assert_ptr_nonnull(m);
	ck_assert(m->vote_resp.prevote && m->vote_resp.granted);
	fx_close(&f);
}
END_TEST

/* PreVote, second half: once a majority granted the pre-vote, the node
 * becomes a real candidate: term+1, voted_for = self, and that hard state
 * is in the same update as its RequestVotes (durable before they leave). */
START_TEST(test_prevote_win_becomes_candidate)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o);
	fx_tick(&f, 1, 2 * ET + 1);
	deliver(&f, 1, 2, RAFT_MSG_VOTE);
	deliver(&f, 2, 1, RAFT_MSG_VOTE_RESP);
	ck_assert_int_eq(state_of(&f, 1), RAFT_CANDIDATE);
	ck_assert_uint_eq(term_of(&f, 1), 2);
	ck_assert_uint_eq(raft_voted_for(fx_raft(&f, 1)), 1);
	const struct raft_update *up = &o.last_up[1];
	ck_assert(up->hard_state_changed);
	ck_assert_uint_eq(up->term, 2);
	ck_assert_uint_eq(up->voted_for, 1);
	ck_assert_uint_gt(up->n_messages, 0);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * Candidates
 * ========================================================================= */

/* Figure 2, Candidates: "On conversion to candidate, start election:
 * increment currentTerm, vote for self, ... send RequestVote RPCs to all
 * other servers". */
START_TEST(test_candidate_votes_for_self_and_asks_all)
{
	struct fixture f;
	CLUSTER(&f, .voters = 5);
	fx_tick(&f, 1, 2 * ET + 1);
	deliver(&f, 1, 2, RAFT_MSG_VOTE);
	deliver(&f, 1, 3, RAFT_MSG_VOTE);
	deliver(&f, 2, 1, RAFT_MSG_VOTE_RESP);
	deliver(&f, 3, 1, RAFT_MSG_VOTE_RESP);
	ck_assert_int_eq(state_of(&f, 1), RAFT_CANDIDATE);
	ck_assert_uint_eq(raft_voted_for(fx_raft(&f, 1)), 1);
	ck_assert_uint_eq(fx_node(&f, 1)->d_vote, 1);
	for (raft_id id = 2; id <= 5; id++) {
		unsigned real = 0;
		for (unsigned i = 0; i < f.n_queue; i++) {
			const struct raft_message *m = &f.queue[i].m;
			real += m->type == RAFT_MSG_VOTE && m->to == id &&
				!m->vote.prevote && m->term == 2;
		}
		ck_assert_uint_eq(real, 1);
	}
	fx_close(&f);
}
END_TEST

/* Figure 2, Candidates: "If votes received from majority of servers:
 * become leader" — 3 of 5 (itself and two others) is enough, 2 is not. */
START_TEST(test_candidate_wins_with_majority)
{
	struct fixture f;
	CLUSTER(&f, .voters = 5);
	fx_tick(&f, 1, 2 * ET + 1);
	deliver(&f, 1, 2, RAFT_MSG_VOTE);
	deliver(&f, 1, 3, RAFT_MSG_VOTE);
	deliver(&f, 2, 1, RAFT_MSG_VOTE_RESP);
	deliver(&f, 3, 1, RAFT_MSG_VOTE_RESP);
	ck_assert_int_eq(state_of(&f, 1), RAFT_CANDIDATE);
	deliver(&f, 1, 2, RAFT_MSG_VOTE); /* the real RequestVote now */
	deliver(&f, 2, 1, RAFT_MSG_VOTE_RESP);
	ck_assert_int_eq(state_of(&f, 1), RAFT_CANDIDATE); /* 2 of 5 */
	deliver(&f, 1, 3, RAFT_MSG_VOTE);
	deliver(&f, 3, 1, RAFT_MSG_VOTE_RESP);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER); /* 3 of 5 */
	ck_assert_uint_eq(term_of(&f, 1), 2);
	fx_close(&f);
}
END_TEST

/* Puts node 1 of a fresh 3-node cluster in the candidate state of term 2
 * with its RequestVotes lost. */
static void make_candidate(struct fixture *f)
{
	fx_tick(f, 1, 2 * ET + 1);
	deliver(f, 1, 2, RAFT_MSG_VOTE);
	deliver(f, 2, 1, RAFT_MSG_VOTE_RESP);
	ck_assert_int_eq(state_of(f, 1), RAFT_CANDIDATE);
	fx_drop_all(f);
}

/* Figure 2, Candidates: "If AppendEntries RPC received from new leader:
 * convert to follower" — even when its term equals the candidate's own. */
START_TEST(test_candidate_follows_leader_of_same_term)
{
	struct fixture f;
	CLUSTER(&f);
	make_candidate(&f);
	inject_append(&f, 1, 3, 2, 1, 1, 1, NULL, 0);
	ck_assert_int_eq(state_of(&f, 1), RAFT_FOLLOWER);
	ck_assert_uint_eq(term_of(&f, 1), 2);
	ck_assert_uint_eq(raft_leader(fx_raft(&f, 1)), 3);
	const struct raft_message *r = append_resp(&f, 1, 3);
	ck_assert_ptr_nonnull(r);
	ck_assert(r->append_resp.success);
	fx_close(&f);
}
END_TEST

/* Figure 2, Candidates: "If election timeout elapses: start new election"
 * (again through PreVote, then a candidate of the next term). */
START_TEST(test_candidate_new_election_on_timeout)
{
	struct fixture f;
	CLUSTER(&f);
	make_candidate(&f);
	fx_tick(&f, 1, 2 * ET + 1);
	ck_assert_int_eq(state_of(&f, 1), RAFT_PRECANDIDATE);
	ck_assert_uint_eq(term_of(&f, 1), 2);
	deliver(&f, 1, 2, RAFT_MSG_VOTE);
	deliver(&f, 2, 1, RAFT_MSG_VOTE_RESP);
	ck_assert_int_eq(state_of(&f, 1), RAFT_CANDIDATE);
	ck_assert_uint_eq(term_of(&f, 1), 3);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * Leaders
 * ========================================================================= */

/* Leaders: a new leader appends a no-op of its term at once (thesis §6.4,
 * needed so it can commit and serve ReadIndex) and sends it out in its
 * first AppendEntries. */
START_TEST(test_leader_appends_noop)
{
	struct fixture f;
	CLUSTER(&f);
	fx_tick(&f, 1, 2 * ET + 1);
	deliver_votes(&f);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	ck_assert_uint_eq(last_of(&f, 1), 2);
	const struct raft_entry *e = raft_entry_at(fx_raft(&f, 1), 2);
	ck_assert_int_eq(e->type, RAFT_ENTRY_NOOP);
	ck_assert_uint_eq(e->term, 2);
	const struct raft_message *m = fx_peek(&f, 1, 2, RAFT_MSG_APPEND);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->append.n_entries, 1);
	ck_assert_int_eq(m->append.entries[0].type, RAFT_ENTRY_NOOP);
	fx_close(&f);
}
END_TEST

/* Figure 2, Leaders: "Upon election: send initial empty AppendEntries RPCs
 * (heartbeat) to each server; repeat during idle periods". */
START_TEST(test_leader_heartbeats_when_idle)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_drop_all(&f);
	fx_tick(&f, 1, HB);
	ck_assert_uint_eq(fx_count(&f, 1, 2, RAFT_MSG_HEARTBEAT), 1);
	ck_assert_uint_eq(fx_count(&f, 1, 3, RAFT_MSG_HEARTBEAT), 1);
	ck_assert_uint_eq(queued_appends_with_entries(&f, 1, 2), 0);
	ck_assert_uint_eq(queued_appends_with_entries(&f, 1, 3), 0);
	fx_close(&f);
}
END_TEST

/* Figure 2, Leaders: "If command received from client: append entry to
 * local log" and "If last log index >= nextIndex for a follower: send
 * AppendEntries RPC with log entries starting at nextIndex". */
START_TEST(test_leader_appends_proposal_then_replicates)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .leader = 1, .watch_after = &o);
	fx_node(&f, 1)->manual_persist = true;
	fx_drop_all(&f);
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0);
	ck_assert_uint_eq(fx_node(&f, 1)->proposed_index, 3);
	ck_assert_uint_eq(fx_node(&f, 1)->proposed_term, 2);
	const struct raft_entry *e = raft_entry_at(fx_raft(&f, 1), 3);
	ck_assert_uint_eq(e->term, 2);
	ck_assert_int_eq(e->type, RAFT_ENTRY_NORMAL);
	ck_assert_uint_eq(o.persist_first[1], 3);
	ck_assert_uint_eq(o.persist_n[1], 1);
	for (raft_id id = 2; id <= 3; id++) {
		const struct raft_message *m = fx_peek(&f, 1, id,
						       RAFT_MSG_APPEND);
		ck_assert_ptr_nonnull(m);
		ck_assert_uint_eq(m->append.prev_index, 2);
		ck_assert_uint_eq(m->append.n_entries, 1);
		ck_assert_uint_eq(m->append.entries[0].index, 3);
	}
	ck_assert_uint_eq(commit_of(&f, 1), 2);
	fx_close(&f);
}
END_TEST

/* Figure 2, Leaders: "If AppendEntries fails because of log inconsistency:
 * decrement nextIndex and retry".  Node 3 missed five entries; the next
 * leader starts at its own last index, is refused, and retries lower until
 * node 3's log equals its own. */
START_TEST(test_next_index_backs_off_on_reject)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .leader = 1);
	fx_isolate(&f, 3, true);
	propose_n(&f, 1, 5);
	fx_deliver(&f, 100000);
	force_elect(&f, 2); /* knows nothing about node 3's log */
	observe(&f, &o);
	o.watch_from = 2;
	o.watch_to = 3;
	fx_isolate(&f, 3, false);
	fx_tick(&f, 2, HB);
	for (int round = 0; round < 10; round++) {
		deliver_link(&f, 2, 3);
		deliver_link(&f, 3, 2);
	}
	ck_assert_uint_ge(o.n_rejects, 1);
	ck_assert_uint_ge(o.n_appends, 2);
	ck_assert_uint_eq(o.append_prev[0], 7);
	ck_assert_uint_lt(o.append_prev[o.n_appends - 1], 7);
	ck_assert_uint_eq(last_of(&f, 3), last_of(&f, 2));
	ck_assert_uint_eq(raft_last_term(fx_raft(&f, 3)), 3);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 2), 3), last_of(&f, 2));
	fx_close(&f);
}
END_TEST

/* Node 1, an old leader of term 2, is cut off and writes 50 entries
 * (3..52) nobody else has; nodes 2 and 3 move on to term 4 with 31 entries
 * of term 3 at the same indexes (3..33) and the term-4 no-op at 34.  Node
 * 3 leads, and its nextIndex for node 1 starts at 34.  Node 1 is still cut
 * off when this returns. */
static void make_divergent_tail(struct fixture *f)
{
	CLUSTER(f, .leader = 1);
	fx_isolate(f, 1, true);
	propose_n(f, 1, 50);
	fx_drop_all(f);
	force_elect(f, 2);   /* term 3, no-op at 3 */
	propose_n(f, 2, 30); /* 4..33 */
	fx_deliver(f, 100000);
	force_elect(f, 3); /* term 4 */
	fx_deliver(f, 100000);
	ck_assert_uint_eq(last_of(f, 3), 34);
	ck_assert_uint_eq(commit_of(f, 3), 34);
	ck_assert_uint_eq(last_of(f, 1), 52);
}

/* Fast back-off (§5.3's optimisation: a reject carries a hint of the
 * follower's log so the leader skips whole terms).  Decrementing nextIndex
 * by one would take ~31 round trips to repair node 1's divergent tail; with
 * the hint one reject is enough. */
START_TEST(test_fast_backoff_skips_divergent_term)
{
	struct fixture f;
	struct observed o;
	make_divergent_tail(&f);
	observe(&f, &o);
	o.watch_from = 3;
	o.watch_to = 1;
	fx_isolate(&f, 1, false);
	fx_tick(&f, 3, HB); /* the heartbeat that restarts the probe */
	unsigned rounds = 0;
	while (rounds < 50 && raft_peer_match(fx_raft(&f, 3), 1) < 34) {
		rounds++;
		deliver_link(&f, 3, 1);
		deliver_link(&f, 1, 3);
	}
	/* heartbeat, probe at 33 rejected, entries from 3 accepted */
	ck_assert_uint_le(rounds, 4);
	ck_assert_uint_le(o.n_rejects, 2);
	ck_assert_uint_eq(last_of(&f, 1), 34);
	for (raft_index i = 3; i <= 33; i++)
		ck_assert_uint_eq(raft_term_at(fx_raft(&f, 1), i), 3);
	fx_close(&f);
}
END_TEST

/* Figure 2, AppendEntries receiver 5 bounds the follower's commit by "index
 * of last NEW entry", i.e. by what it verified against the leader.  A
 * heartbeat carries no entries, so the leader must not tell node 1 (whose
 * divergent tail 3..52 is of term 2) a commit index above what node 1 is
 * known to match, or node 1 would apply its own stale entries.  State
 * machine safety: every index is applied with the same entry everywhere. */
START_TEST(test_heartbeat_commit_bounded_by_match)
{
	struct fixture f;
	struct observed o;
	make_divergent_tail(&f);
	observe(&f, &o);
	fx_isolate(&f, 1, false);
	fx_tick(&f, 3, HB);
	deliver(&f, 3, 1, RAFT_MSG_HEARTBEAT);
	ck_assert_uint_le(commit_of(&f, 1), 2);
	fx_run(&f, ET, 5);
	ck_assert_uint_eq(commit_of(&f, 1), 34);
	ck_assert_uint_eq(fx_node(&f, 1)->applied, 34);
	ck_assert(!o.apply_diverged);
	ck_assert(!o.apply_out_of_order);
	fx_close(&f);
}
END_TEST

/* Figure 2, Leaders: "If successful: update nextIndex and matchIndex for
 * follower" — matchIndex moves when that follower answers, not before, and
 * only for that follower. */
START_TEST(test_match_index_updated_on_success)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_drop_all(&f);
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 1), 2), 2);
	deliver(&f, 1, 2, RAFT_MSG_APPEND);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 1), 2), 2);
	deliver(&f, 2, 1, RAFT_MSG_APPEND_RESP);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 1), 2), 3);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 1), 3), 2);
	fx_close(&f);
}
END_TEST

/* Deliver leader -> follower AppendEntries one at a time, with every
 * answer, as long as none would give the follower an entry above `upto`
 * (one the follower will refuse for a missing prev entry is fine). */
static void replicate_upto(struct fixture *f, raft_id leader, raft_id follower,
			   raft_index upto)
{
	for (int guard = 0; guard < 32; guard++) {
		const struct raft_message *m = fx_peek(f, leader, follower,
						       RAFT_MSG_APPEND);
		if (!m)
			return;
		raft_index prev = m->append.prev_index;
		bool refused = raft_term_at(fx_raft(f, follower), prev) !=
			       m->append.prev_term;
		if (!refused && prev + m->append.n_entries > upto)
			return;
		deliver(f, leader, follower, RAFT_MSG_APPEND);
		deliver_link(f, follower, leader);
	}
}

/* Figure 2, Leaders: "If there exists an N such that N > commitIndex, a
 * majority of matchIndex[i] >= N, and log[N].term == currentTerm: set
 * commitIndex = N" — the Figure 8 situation, on 5 nodes:
 *  (a) S1 leads term 2 and gets entry X (index 3) only to S2;
 *  (b) S1 crashes; S5 wins term 3 with S3, S4 and writes its own index 3;
 *  (c) S1 restarts, wins term 4 and copies X to S3: X is on S1, S2, S3, a
 *      majority, and the leader knows it — yet X must not be committed,
 *      because S5 could still win (S3, S4 would vote for it) and
 *      overwrite X;
 *  (d) once the term-4 no-op is on a majority, both commit. */
START_TEST(test_figure8_old_term_not_committed_by_counting)
{
	struct fixture f;
	/* one entry per AppendEntries: X travels alone */
	CLUSTER(&f, .voters = 5, .max_batch_entries = 1, .leader = 1);
	/* (a) */
	fx_isolate(&f, 1, true);
	fx_cut(&f, 1, 2, false);
	ck_assert_int_eq(fx_propose(&f, 1, "X"), 0);
	fx_deliver(&f, 100000);
	ck_assert_uint_eq(raft_term_at(fx_raft(&f, 2), 3), 2);
	ck_assert_uint_eq(commit_of(&f, 1), 2);
	/* (b) */
	fx_crash(&f, 1);
	fx_isolate(&f, 1, false);
	fx_cut(&f, 5, 2, true);
	campaign_now(&f, 5);
	deliver_votes(&f);
	ck_assert_int_eq(state_of(&f, 5), RAFT_LEADER);
	ck_assert_uint_eq(raft_term_at(fx_raft(&f, 5), 3), 3);
	fx_drop_all(&f);
	fx_crash(&f, 5);
	fx_cut(&f, 5, 2, false);
	/* (c) term 3 is taken (S3, S4 voted for S5), so S1 needs two tries */
	fx_restart(&f, 1);
	campaign_now(&f, 1);
	deliver_votes(&f);
	campaign_now(&f, 1);
	deliver_votes(&f);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	ck_assert_uint_eq(term_of(&f, 1), 4);
	ck_assert_uint_eq(raft_term_at(fx_raft(&f, 1), 3), 2);
	replicate_upto(&f, 1, 2, 4); /* S2 has X already: takes the no-op */
	replicate_upto(&f, 1, 3, 3); /* S3 gets X, not the no-op */
	ck_assert_uint_eq(raft_term_at(fx_raft(&f, 3), 3), 2);
	ck_assert_uint_eq(raft_term_at(fx_raft(&f, 3), 4), 0);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 1), 2), 4);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 1), 3), 3);
	/* (S1 restarted, so its volatile commit index starts from 0) */
	ck_assert_uint_lt(commit_of(&f, 1), 3);
	ck_assert_uint_lt(fx_node(&f, 1)->applied, 3);
	/* (d) */
	replicate_upto(&f, 1, 3, 4);
	ck_assert_uint_eq(commit_of(&f, 1), 4);
	fx_close(&f);
}
END_TEST

/* Figure 2, AppendEntries "leaderCommit" argument: once the leader's commit
 * index advances, followers learn it with the next AppendEntries or
 * heartbeat and apply up to it. */
START_TEST(test_followers_learn_commit_index)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_drop_all(&f);
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0);
	deliver(&f, 1, 2, RAFT_MSG_APPEND);
	deliver(&f, 2, 1, RAFT_MSG_APPEND_RESP);
	ck_assert_uint_eq(commit_of(&f, 1), 3);
	ck_assert_uint_eq(fx_node(&f, 1)->applied, 3);
	ck_assert_uint_eq(commit_of(&f, 2), 2); /* not told yet */
	ck_assert_uint_eq(fx_node(&f, 2)->applied, 2);
	fx_drop_all(&f);
	fx_tick(&f, 1, HB);
	fx_deliver(&f, 100000);
	ck_assert_uint_eq(commit_of(&f, 2), 3);
	ck_assert_uint_eq(fx_node(&f, 2)->applied, 3);
	fx_close(&f);
}
END_TEST

/* Extension: a follower that lost entries it had acknowledged (its data
 * dir was emptied to rebuild it) is caught up again without waiting for a
 * new proposal: its heartbeat answer says where its log ends, and the
 * leader forgets the match it can no longer trust. */
static void wipe_and_restart(struct fixture *f, raft_id id)
{
	struct fx_node *nd = fx_node(f, id);
	fx_crash(f, id);
	for (unsigned i = 0; i < nd->d_n; i++)
		free(nd->d_log[i].data.base);
	free(nd->d_log);
	nd->d_log = NULL;
	nd->d_n = 0;
	nd->d_term = 0;
	nd->d_vote = 0;
	nd->applied = 0;
	fx_start_empty(f, id);
}

START_TEST(test_wiped_follower_is_caught_up)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(fx_propose(&f, 1, "x"), 0);
	fx_run(&f, 5 * HB, HB);
	raft_index last = raft_last_index(fx_raft(&f, 1));
	ck_assert_uint_eq(raft_last_index(fx_raft(&f, 3)), last);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 1), 3), last);

	wipe_and_restart(&f, 3);
	ck_assert_uint_eq(raft_last_index(fx_raft(&f, 3)), 0);
	/* No proposal: only heartbeats may bring it back. */
	fx_run(&f, 10 * HB, HB);
	ck_assert_uint_eq(raft_last_index(fx_raft(&f, 3)), last);
	ck_assert_uint_eq(commit_of(&f, 3), last);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 1), 3), last);
	ck_assert_int_eq(raft_state(fx_raft(&f, 1)), RAFT_LEADER);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * RequestVote receiver
 * ========================================================================= */

/* Figure 2, RequestVote receiver 1: "Reply false if term < currentTerm". */
START_TEST(test_vote_denied_for_stale_term)
{
	struct fixture f;
	CLUSTER(&f);
	inject_vote(&f, 3, 2, 3, 1, 1); /* node 3 moves to term 3 */
	ck_assert_uint_eq(term_of(&f, 3), 3);
	fx_drop_all(&f);
	inject_vote(&f, 3, 1, 2, 50, 2);
	ck_assert_uint_eq(term_of(&f, 3), 3);
	ck_assert_uint_eq(raft_voted_for(fx_raft(&f, 3)), 2);
	const struct raft_message *r = fx_peek(&f, 3, 1, RAFT_MSG_VOTE_RESP);
	ck_assert(r == NULL || !r->vote_resp.granted);
	fx_close(&f);
}
END_TEST

/* Figure 2, RequestVote receiver 2: "If votedFor is null or candidateId
 * ... grant vote" — at most one candidate per term; the same candidate
 * asking again (a lost reply) gets the same answer. */
START_TEST(test_one_vote_per_term)
{
	struct fixture f;
	CLUSTER(&f);
	inject_vote(&f, 3, 1, 2, 1, 1);
	const struct raft_message *r = fx_peek(&f, 3, 1, RAFT_MSG_VOTE_RESP);
	ck_assert(r && r->vote_resp.granted);
	inject_vote(&f, 3, 2, 2, 1, 1);
	r = fx_peek(&f, 3, 2, RAFT_MSG_VOTE_RESP);
	ck_assert(r == NULL || !r->vote_resp.granted);
	ck_assert_uint_eq(raft_voted_for(fx_raft(&f, 3)), 1);
	fx_drop_all(&f);
	inject_vote(&f, 3, 1, 2, 1, 1);
	r = fx_peek(&f, 3, 1, RAFT_MSG_VOTE_RESP);
	ck_assert(r && r->vote_resp.granted);
	fx_close(&f);
}
END_TEST

static bool vote_granted(struct fixture *f, raft_id voter, raft_id cand)
{
	const struct raft_message *r = fx_peek(f, voter, cand,
					       RAFT_MSG_VOTE_RESP);
	bool granted = r && r->vote_resp.granted;
	fx_drop_all(f);
	return granted;
}

/* Figure 2, RequestVote receiver 2: "...and candidate's log is at least as
 * up-to-date as receiver's log" (§5.4.1: last terms compared first, then
 * lengths).  Node 3 holds (index 2, term 2); each ask uses a fresh term so
 * the one-vote rule is not what decides. */
START_TEST(test_vote_denied_if_log_less_up_to_date)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_restart(&f, 3); /* forgets the leader: no stickiness in the way */
	fx_drop_all(&f);
	ck_assert_uint_eq(last_of(&f, 3), 2);
	inject_vote(&f, 3, 2, 3, 50, 1); /* longer, older last term */
	ck_assert(!vote_granted(&f, 3, 2));
	inject_vote(&f, 3, 2, 4, 1, 2); /* same last term, shorter */
	ck_assert(!vote_granted(&f, 3, 2));
	inject_vote(&f, 3, 2, 5, 2, 2); /* equal */
	ck_assert(vote_granted(&f, 3, 2));
	inject_vote(&f, 3, 1, 6, 1, 3); /* newer last term, shorter */
	ck_assert(vote_granted(&f, 3, 1));
	fx_close(&f);
}
END_TEST

/* Figure 2, Persistent state ("Updated on stable storage before responding
 * to RPCs") and raft.h rule 1: every granted vote leaves in an update whose
 * hard state carries that term and vote (or that was already durable). */
START_TEST(test_vote_durable_before_response)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o, .leader = 1, .unsettled = true);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	ck_assert_uint_ge(o.votes_granted, 2);
	ck_assert(!o.vote_not_durable);
	ck_assert_uint_eq(fx_node(&f, 2)->d_vote, 1);
	ck_assert_uint_eq(fx_node(&f, 2)->d_term, 2);
	fx_close(&f);
}
END_TEST

/* The same rule when the term is already known and durable, so that only
 * voted_for changes: node 3 learns term 2 from a candidate it refuses
 * (log too old), then grants node 1 in that term — the grant still needs
 * the vote written first. */
START_TEST(test_vote_in_known_term_durable_before_response)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o);
	inject_vote(&f, 3, 2, 2, 0, 0);
	ck_assert_uint_eq(term_of(&f, 3), 2);
	ck_assert_uint_eq(raft_voted_for(fx_raft(&f, 3)), 0);
	ck_assert(!vote_granted(&f, 3, 2));
	inject_vote(&f, 3, 1, 2, 1, 1);
	ck_assert_uint_eq(o.votes_granted, 1);
	ck_assert(!o.vote_not_durable);
	ck_assert(o.last_up[3].hard_state_changed);
	ck_assert_uint_eq(o.last_up[3].voted_for, 1);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * AppendEntries receiver (node 2 of a fresh cluster, fed by hand)
 * ========================================================================= */

static const raft_term T2[] = { 2, 2, 2, 2, 2, 2, 2, 2 };

/* Figure 2, AppendEntries receiver 2: "Reply false if log doesn't contain
 * an entry at prevLogIndex whose term matches prevLogTerm" — index
 * missing, or present with another term. */
START_TEST(test_append_rejected_without_prev_entry)
{
	struct fixture f;
	CLUSTER(&f);
	inject_append(&f, 2, 1, 2, 3, 2, 0, T2, 1); /* we only have index 1 */
	const struct raft_message *r = append_resp(&f, 2, 1);
	ck_assert(r && !r->append_resp.success);
	ck_assert_uint_eq(last_of(&f, 2), 1);
	fx_drop_all(&f);
	inject_append(&f, 2, 1, 2, 1, 5, 0, T2, 1); /* index 1 has term 1 */
	r = append_resp(&f, 2, 1);
	ck_assert(r && !r->append_resp.success);
	ck_assert_uint_eq(last_of(&f, 2), 1);
	fx_close(&f);
}
END_TEST

/* Figure 2, AppendEntries receiver 3: "If an existing entry conflicts with
 * a new one (same index but different terms), delete the existing entry
 * and all that follow it" — and the write asked of the caller starts at the
 * first replaced index, so the durable log is cut there too. */
START_TEST(test_append_conflict_truncates_suffix)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o);
	inject_append(&f, 2, 1, 2, 1, 1, 0, T2, 3); /* 2..4, term 2 */
	ck_assert_uint_eq(last_of(&f, 2), 4);
	static const raft_term t3[] = { 3 };
	inject_append(&f, 2, 3, 3, 2, 2, 0, t3, 1); /* index 3, term 3 */
	ck_assert_uint_eq(last_of(&f, 2), 3);
	ck_assert_uint_eq(raft_term_at(fx_raft(&f, 2), 3), 3);
	ck_assert_uint_eq(o.persist_first[2], 3);
	ck_assert_uint_eq(o.persist_n[2], 1);
	ck_assert_uint_eq(fx_node(&f, 2)->d_n, 3); /* durable image cut */
	ck_assert_uint_eq(fx_node(&f, 2)->d_log[2].term, 3);
	fx_close(&f);
}
END_TEST

/* Figure 2, AppendEntries receiver 4: "Append any new entries not already
 * in the log" — entries already present are not rewritten. */
START_TEST(test_append_only_new_entries)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o);
	inject_append(&f, 2, 1, 2, 1, 1, 0, T2, 2); /* 2..3 */
	inject_append(&f, 2, 1, 2, 1, 1, 0, T2, 4); /* 2..5 */
	ck_assert_uint_eq(last_of(&f, 2), 5);
	ck_assert_uint_eq(o.persist_first[2], 4);
	ck_assert_uint_eq(o.persist_n[2], 2);
	fx_close(&f);
}
END_TEST

/* Figure 2, AppendEntries receiver 5: "If leaderCommit > commitIndex, set
 * commitIndex = min(leaderCommit, index of last new entry)". */
START_TEST(test_append_commit_is_min_of_leader_commit_and_last_new)
{
	struct fixture f;
	CLUSTER(&f);
	inject_append(&f, 2, 1, 2, 1, 1, 10, T2, 2); /* last new: 3 */
	ck_assert_uint_eq(commit_of(&f, 2), 3);
	inject_append(&f, 2, 1, 2, 3, 2, 4, T2, 3); /* 4..6, leader at 4 */
	ck_assert_uint_eq(commit_of(&f, 2), 4);
	ck_assert_uint_eq(fx_node(&f, 2)->applied, 4);
	fx_close(&f);
}
END_TEST

/* Figure 2, AppendEntries receiver 3 read carefully: only a CONFLICT
 * truncates.  A duplicated, delayed AppendEntries holding a prefix of what
 * the log already has must neither drop the later entries nor write. */
START_TEST(test_duplicate_append_keeps_log)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o);
	inject_append(&f, 2, 1, 2, 1, 1, 0, T2, 4); /* 2..5 */
	unsigned writes = o.n_persist[2];
	fx_drop_all(&f);
	inject_append(&f, 2, 1, 2, 1, 1, 0, T2, 2); /* old: 2..3 */
	ck_assert_uint_eq(last_of(&f, 2), 5);
	ck_assert_uint_eq(o.n_persist[2], writes);
	ck_assert_uint_eq(fx_node(&f, 2)->d_n, 5);
	const struct raft_message *r = append_resp(&f, 2, 1);
	ck_assert(r && r->append_resp.success);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * Persistence order (raft.h contract, docs/design.md rule 2)
 * ========================================================================= */

/* A follower acknowledges an entry only after its RAFT_EV_PERSISTED:
 * otherwise the leader could count a copy that a crash erases. */
START_TEST(test_follower_acks_only_after_persisted)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_node(&f, 2)->manual_persist = true;
	fx_drop_all(&f);
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0);
	deliver(&f, 1, 2, RAFT_MSG_APPEND);
	ck_assert_uint_eq(last_of(&f, 2), 3);
	ck_assert(!acked(&f, 2, 1, 3));
	fx_persist(&f, 2, 0);
	ck_assert(acked(&f, 2, 1, 3));
	fx_close(&f);
}
END_TEST

/* The leader writes in parallel with replication but counts itself only
 * once its own write is durable: with its write pending and one follower's
 * ack, only one durable copy of 3 exists — not committed; the leader's
 * PERSISTED makes two — committed.  Cut off from both followers, its own
 * write alone never commits anything. */
START_TEST(test_leader_counts_itself_only_when_persisted)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_node(&f, 1)->manual_persist = true;
	fx_drop_all(&f);
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0); /* index 3 */
	deliver(&f, 1, 2, RAFT_MSG_APPEND);
	deliver(&f, 2, 1, RAFT_MSG_APPEND_RESP);
	ck_assert_uint_eq(commit_of(&f, 1), 2);
	fx_persist(&f, 1, 0);
	ck_assert_uint_eq(commit_of(&f, 1), 3);

	fx_isolate(&f, 1, true);
	ck_assert_int_eq(fx_propose(&f, 1, "y"), 0); /* index 4 */
	fx_deliver(&f, 100000);
	ck_assert_uint_eq(commit_of(&f, 1), 3);
	fx_persist(&f, 1, 0);
	ck_assert_uint_eq(commit_of(&f, 1), 3);
	fx_close(&f);
}
END_TEST

/* The other side of the same rule: two followers' durable copies are a
 * majority of three, so the entry commits while the leader's own write is
 * still pending. */
START_TEST(test_leader_commits_on_followers_while_own_write_pending)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_node(&f, 1)->manual_persist = true;
	fx_drop_all(&f);
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0);
	fx_deliver(&f, 100000);
	ck_assert_uint_lt(raft_persisted_index(fx_raft(&f, 1)), 3);
	ck_assert_uint_eq(commit_of(&f, 1), 3);
	fx_close(&f);
}
END_TEST

/* A failed log write makes a leader step down (docs/design.md rule 2): it
 * can no longer promise what it replicates. */
START_TEST(test_persist_failure_makes_leader_step_down)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_node(&f, 1)->manual_persist = true;
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0);
	ck_assert(fx_fail_write(&f, 1, 5 /* EIO */));
	ck_assert_int_ne(state_of(&f, 1), RAFT_LEADER);
	fx_close(&f);
}
END_TEST

/* raft.h contract 1: when the hard-state write fails, the caller reports
 * RAFT_EV_PERSIST_FAILED{.hard_state = true} and the core asks for the
 * same term and vote again in its next update. */
START_TEST(test_failed_hard_state_write_is_requested_again)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o);
	inject_vote(&f, 3, 1, 2, 1, 1);
	ck_assert(o.last_up[3].hard_state_changed);
	struct raft_event ev = { .type = RAFT_EV_PERSIST_FAILED,
				 .now = fx_node(&f, 3)->now };
	ev.persist_failed.hard_state = true;
	ev.persist_failed.err = 5;
	fx_step(&f, 3, &ev);
	ck_assert(o.last_up[3].hard_state_changed);
	ck_assert_uint_eq(o.last_up[3].term, 2);
	ck_assert_uint_eq(o.last_up[3].voted_for, 1);
	fx_close(&f);
}
END_TEST

/* A failed log write is not forgotten: the node rewrites what was lost
 * (from its durable prefix on) on a later tick, and acknowledges nothing
 * meanwhile. */
START_TEST(test_failed_write_is_retried)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .leader = 1, .watch_after = &o);
	fx_node(&f, 1)->manual_persist = true;
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0); /* index 3 */
	unsigned writes = o.n_persist[1];
	ck_assert(fx_fail_write(&f, 1, 5));
	ck_assert_uint_eq(raft_persisted_index(fx_raft(&f, 1)), 2);
	for (int i = 0; i < 10 && o.n_persist[1] == writes; i++)
		fx_tick(&f, 1, HB);
	ck_assert_uint_gt(o.n_persist[1], writes);
	ck_assert_uint_eq(o.persist_first[1], 3);
	fx_persist(&f, 1, 0);
	ck_assert_uint_eq(raft_persisted_index(fx_raft(&f, 1)), 3);
	ck_assert_uint_eq(fx_node(&f, 1)->d_n, 3);
	fx_close(&f);
}
END_TEST

/* raft.h rule 1 as an invariant over a busy history (elections, a
 * partition, a divergent log repaired, a transfer): no message ever carries
 * a term that was not durable at its sender. */
START_TEST(test_term_durable_before_any_message)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .watch = &o, .leader = 1, .unsettled = true);
	fx_isolate(&f, 1, true);
	propose_n(&f, 1, 5);
	fx_run(&f, 5 * ET, 5);
	fx_isolate(&f, 1, false);
	fx_run(&f, 5 * ET, 5);
	raft_id leader = state_of(&f, 2) == RAFT_LEADER ? 2 : 3;
	ck_assert_int_eq(state_of(&f, leader), RAFT_LEADER);
	ck_assert_int_eq(transfer(&f, leader, 1), 0);
	fx_run(&f, 2 * ET, 5);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	ck_assert(!o.term_not_durable);
	ck_assert(!o.vote_not_durable);
	ck_assert(!o.apply_diverged);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * Extensions: CheckQuorum, leader stickiness, PreVote
 * ========================================================================= */

/* CheckQuorum (thesis §6.2): a leader that hears from no quorum steps down
 * within about two election timeouts of its own clock. */
START_TEST(test_check_quorum_isolated_leader_steps_down)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_run(&f, ET, 5);
	fx_isolate(&f, 1, true);
	uint64_t elapsed = 0;
	while (state_of(&f, 1) == RAFT_LEADER && elapsed < 10 * ET) {
		fx_tick(&f, 1, 5);
		fx_deliver(&f, 100000);
		elapsed += 5;
	}
	ck_assert_int_ne(state_of(&f, 1), RAFT_LEADER);
	ck_assert_uint_le(elapsed, 2 * ET);
	fx_close(&f);
}
END_TEST

/* Leader stickiness (thesis §4.2.3): a follower that heard from its leader
 * within the election timeout ignores RequestVote of a higher term, so a
 * removed or flapping server cannot depose a healthy leader; once that
 * lease runs out, the same request is granted. */
START_TEST(test_leader_stickiness_ignores_vote)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_drop_all(&f);
	inject_vote(&f, 2, 3, 5, 100, 2);
	ck_assert_uint_eq(term_of(&f, 2), 2);
	ck_assert_uint_eq(raft_leader(fx_raft(&f, 2)), 1);
	ck_assert_uint_eq(fx_count(&f, 2, 3, RAFT_MSG_VOTE_RESP), 0);
	inject_vote(&f, 1, 3, 5, 100, 2); /* the leader itself too */
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	ck_assert_uint_eq(term_of(&f, 1), 2);

	fx_isolate(&f, 2, true);
	fx_tick(&f, 2, ET + 1);
	fx_drop_all(&f);
	inject_vote(&f, 2, 3, 5, 100, 2);
	ck_assert_uint_eq(term_of(&f, 2), 5);
	ck_assert(vote_granted(&f, 2, 3));
	fx_close(&f);
}
END_TEST

/* PreVote (thesis §9.6): a node cut off for many election timeouts keeps
 * its term (its pre-votes fail, it never becomes a candidate), so when it
 * rejoins the majority's leader and term are undisturbed. */
START_TEST(test_prevote_rejoining_node_does_not_disrupt)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_isolate(&f, 3, true);
	fx_run(&f, 10 * ET, 5);
	ck_assert_uint_eq(term_of(&f, 3), 2);
	ck_assert_int_ne(state_of(&f, 3), RAFT_CANDIDATE);
	fx_isolate(&f, 3, false);
	fx_run(&f, 5 * ET, 5);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	for (raft_id id = 1; id <= 3; id++)
		ck_assert_uint_eq(term_of(&f, id), 2);
	ck_assert_uint_eq(raft_leader(fx_raft(&f, 3)), 1);
	fx_close(&f);
}
END_TEST

static void peer_down(struct fixture *f, raft_id at, raft_id gone)
{
	struct raft_event ev = { .type = RAFT_EV_PEER_DOWN };
	ev.peer_down.id = gone;
	ck_assert_int_eq(fx_step(f, at, &ev), RAFT_OK);
}

/* The leader's process dies (its connections end): both followers learn
 * it from their transport; the one with the lowest id campaigns an eighth
 * of an election timeout later, not after a whole one, and the other
 * grants its PreVote and vote (no split: it does not campaign itself). */
/* Leader 1 crashes; node 2 hears its connection end at once, node 3
 * at late_report ms (0: at once too).  Ticks 2 and 3 a millisecond at
 * a time until one leads (4 ET at most); returns the time that took.
 * Before a late report node 2 has campaigned at ET/8 and been ignored:
 * still a precandidate, no term taken. */
static uint64_t elect_after_crash(struct fixture *f, uint64_t late_report)
{
	CLUSTER(f, .leader = 1);
	fx_run(f, ET, 5);
	fx_crash(f, 1);
	peer_down(f, 2, 1);
	if (!late_report)
		peer_down(f, 3, 1);
	uint64_t elapsed = 0;
	while (raft_state(fx_raft(f, 2)) != RAFT_LEADER &&
	       raft_state(fx_raft(f, 3)) != RAFT_LEADER && elapsed < 4 * ET) {
		fx_tick(f, 2, 1);
		fx_tick(f, 3, 1);
		fx_deliver(f, 100000);
		elapsed++;
		if (!late_report || elapsed != late_report)
			continue;
		ck_assert_int_eq(raft_state(fx_raft(f, 2)), RAFT_PRECANDIDATE);
		ck_assert_uint_eq(term_of(f, 2), 2);
		peer_down(f, 3, 1);
	}
	return elapsed;
}

START_TEST(test_leader_connection_lost_campaigns_soon)
{
	struct fixture f;
	uint64_t elapsed = elect_after_crash(&f, 0);
	ck_assert_int_eq(raft_state(fx_raft(&f, 2)), RAFT_LEADER);
	ck_assert_uint_eq(term_of(&f, 2), 3); /* one election */
	/* a whole election timeout is ET at least */
	ck_assert_uint_lt(elapsed, ET / 4);
	fx_close(&f);
}
END_TEST

/* The other follower's loop sees the end of the leader's connection a
 * little later: it refuses the first campaigner's PreVote (it still
 * counts the leader as heard).  The campaigner asks again an eighth of a
 * timeout later, not a whole timeout later, and wins: the clients that
 * went to it (the successor the leader named) need not move. */
START_TEST(test_refused_early_prevote_is_asked_again_soon)
{
	struct fixture f;
	uint64_t elapsed = elect_after_crash(&f, ET / 4);
	ck_assert_int_eq(raft_state(fx_raft(&f, 2)), RAFT_LEADER);
	ck_assert_uint_eq(term_of(&f, 2), 3); /* one election */
	ck_assert_uint_lt(elapsed, ET / 2);
	fx_close(&f);
}
END_TEST

/* The successor a leader names (client op SUCCESSOR) is the one that
 * campaigns first when it dies: leader 1 names 2, and 2 won above;
 * leader 2 names 1, leader 3 names 1. */
START_TEST(test_successor_is_the_first_campaigner)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	ck_assert_uint_eq(raft_successor(fx_raft(&f, 1)), 2);
	ck_assert_uint_eq(raft_successor(fx_raft(&f, 2)), 1);
	ck_assert_uint_eq(raft_successor(fx_raft(&f, 3)), 1);
	fx_close(&f);
}
END_TEST

/* Only the leader's connection counts, and only for a follower; a
 * spurious report while the leader lives costs a refused PreVote: the
 * other follower and the leader itself still hear it, nothing changes
 * term, and the leader's next heartbeat makes the node its follower. */
START_TEST(test_peer_down_while_leader_lives_does_not_disrupt)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_run(&f, ET, 5);
	peer_down(&f, 2, 3); /* not its leader: ignored */
	peer_down(&f, 1, 2); /* the leader: ignored */
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	peer_down(&f, 2, 1); /* spurious: its leader lives */
	fx_run(&f, 5 * ET, 5);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	for (raft_id id = 1; id <= 3; id++)
		ck_assert_uint_eq(term_of(&f, id), 2);
	ck_assert_uint_eq(raft_leader(fx_raft(&f, 2)), 1);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * Extensions: ReadIndex (thesis §6.4)
 * ========================================================================= */

/* A new leader does not know the commit index until its no-op commits: a
 * read arriving before that waits, then gets the commit index. */
START_TEST(test_read_waits_for_noop_commit)
{
	struct fixture f;
	CLUSTER(&f);
	fx_tick(&f, 1, 2 * ET + 1);
	deliver_votes(&f);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	ck_assert_int_eq(read_index(&f, 1, 7), 0);
	ck_assert_uint_eq(fx_node(&f, 1)->n_reads, 0);
	ck_assert_uint_eq(fx_count(&f, 1, 0, RAFT_MSG_HEARTBEAT), 0);
	fx_deliver(&f, 100000);
	ck_assert_uint_eq(commit_of(&f, 1), 2);
	ck_assert_uint_eq(fx_node(&f, 1)->n_reads, 1);
	ck_assert_uint_eq(fx_node(&f, 1)->read_ids[0], 7);
	ck_assert_int_eq(fx_node(&f, 1)->read_status[0], 0);
	ck_assert_uint_eq(fx_node(&f, 1)->read_index[0], 2);
	fx_close(&f);
}
END_TEST

/* The read is served only after a quorum answered a heartbeat round sent
 * after the read arrived: no newer leader can have existed at that point. */
START_TEST(test_read_confirmed_by_quorum_heartbeat)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_drop_all(&f);
	ck_assert_int_eq(read_index(&f, 1, 9), 0);
	const struct raft_message *hb = fx_peek(&f, 1, 2, RAFT_MSG_HEARTBEAT);
	ck_assert_ptr_nonnull(hb);
	ck_assert_uint_gt(hb->heartbeat.read_seq, 0);
	ck_assert_uint_eq(fx_node(&f, 1)->n_reads, 0);
	deliver(&f, 1, 2, RAFT_MSG_HEARTBEAT);
	ck_assert_uint_eq(fx_node(&f, 1)->n_reads, 0);
	deliver(&f, 2, 1, RAFT_MSG_HEARTBEAT_RESP);
	ck_assert_uint_eq(fx_node(&f, 1)->n_reads, 1);
	ck_assert_uint_eq(fx_node(&f, 1)->read_ids[0], 9);
	ck_assert_int_eq(fx_node(&f, 1)->read_status[0], 0);
	ck_assert_uint_eq(fx_node(&f, 1)->read_index[0], 2);
	fx_close(&f);
}
END_TEST

/* One round at a time: reads that arrive while a round is out send no
 * heartbeats of their own, and are not served by that round's answers
 * (its heartbeats left before they arrived); the round after it, started
 * when the first is answered, serves them all. */
START_TEST(test_reads_share_the_next_round)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_drop_all(&f);
	ck_assert_int_eq(read_index(&f, 1, 21), 0);
	ck_assert_uint_eq(fx_count(&f, 1, 2, RAFT_MSG_HEARTBEAT), 1);
	for (uint64_t id = 22; id < 62; id++)
		ck_assert_int_eq(read_index(&f, 1, id), 0);
	ck_assert_uint_eq(fx_count(&f, 1, 2, RAFT_MSG_HEARTBEAT), 1);
	ck_assert_uint_eq(fx_count(&f, 1, 3, RAFT_MSG_HEARTBEAT), 1);
	/* the first round answered by a quorum: read 21 only */
	deliver(&f, 1, 2, RAFT_MSG_HEARTBEAT);
	deliver(&f, 2, 1, RAFT_MSG_HEARTBEAT_RESP);
	ck_assert_uint_eq(fx_node(&f, 1)->n_reads, 1);
	ck_assert_uint_eq(fx_node(&f, 1)->read_ids[0], 21);
	/* ... and the next round went out, one heartbeat per peer */
	ck_assert_uint_eq(fx_count(&f, 1, 2, RAFT_MSG_HEARTBEAT), 1);
	ck_assert_uint_eq(fx_count(&f, 1, 3, RAFT_MSG_HEARTBEAT), 2);
	deliver(&f, 1, 2, RAFT_MSG_HEARTBEAT);
	deliver(&f, 2, 1, RAFT_MSG_HEARTBEAT_RESP);
	ck_assert_uint_eq(fx_node(&f, 1)->n_reads, 41);
	for (unsigned i = 1; i < 41; i++) {
		ck_assert_uint_eq(fx_node(&f, 1)->read_ids[i], 21 + i);
		ck_assert_int_eq(fx_node(&f, 1)->read_status[i], 0);
	}
	ck_assert_uint_eq(fx_count(&f, 1, 2, RAFT_MSG_HEARTBEAT), 0);
	fx_close(&f);
}
END_TEST

/* A pending read fails with RAFT_ENOTLEADER when the leader steps down:
 * its read index means nothing under the next leader. */
START_TEST(test_read_fails_when_leader_steps_down)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	ck_assert_int_eq(read_index(&f, 1, 11), 0);
	fx_drop_all(&f);
	inject(&f, 1, make_msg(RAFT_MSG_HEARTBEAT_RESP, 2, 9));
	ck_assert_int_eq(state_of(&f, 1), RAFT_FOLLOWER);
	ck_assert_uint_eq(fx_node(&f, 1)->n_reads, 1);
	ck_assert_uint_eq(fx_node(&f, 1)->read_ids[0], 11);
	ck_assert_int_eq(fx_node(&f, 1)->read_status[0], RAFT_ENOTLEADER);
	fx_close(&f);
}
END_TEST

/* A follower refuses ReadIndex outright: the caller must ask the leader. */
START_TEST(test_read_on_follower_is_refused)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	ck_assert_int_eq(read_index(&f, 2, 1), RAFT_ENOTLEADER);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * Extensions: leadership transfer (thesis §3.10)
 * ========================================================================= */

/* The leader stops taking proposals (RAFT_EBUSY), brings the target up to
 * date, and only then sends TimeoutNow; the target wins the next term. */
START_TEST(test_transfer_waits_for_catch_up)
{
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .leader = 1);
	fx_cut(&f, 1, 2, true);
	propose_n(&f, 1, 3);
	fx_deliver(&f, 100000);
	fx_cut(&f, 1, 2, false);
	observe(&f, &o);
	ck_assert_int_eq(transfer(&f, 1, 2), 0);
	ck_assert_uint_eq(fx_count(&f, 1, 2, RAFT_MSG_TIMEOUT_NOW), 0);
	ck_assert_int_eq(fx_propose(&f, 1, "late"), RAFT_EBUSY);
	fx_run(&f, ET / 2, 5);
	ck_assert_uint_ge(o.timeout_now_sent, 1);
	ck_assert(!o.timeout_now_early);
	ck_assert_int_eq(state_of(&f, 2), RAFT_LEADER);
	ck_assert_uint_eq(term_of(&f, 2), 3);
	ck_assert_int_eq(state_of(&f, 1), RAFT_FOLLOWER);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * Extensions: membership changes (thesis §4)
 * ========================================================================= */

static const struct raft_server *member(struct fixture *f, raft_id on,
					raft_id id)
{
	return raft_config_get(raft_config_current(fx_raft(f, on)), id);
}

/* Adds empty node 4 as a learner and lets it catch up. */
static void add_learner_4(struct fixture *f)
{
	fx_start_empty(f, 4);
	ck_assert_int_eq(change(f, 1, RAFT_CHANGE_ADD_LEARNER, 4), 0);
	fx_run(f, ET, 5);
}

/* A learner receives the log but neither votes nor counts toward commit. */
START_TEST(test_learner_replicates_but_does_not_count)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	add_learner_4(&f);
	ck_assert_uint_eq(last_of(&f, 4), last_of(&f, 1));
	ck_assert_int_eq(member(&f, 4, 4)->role, RAFT_LEARNER);
	/* with both voters gone, leader + learner is no majority */
	fx_cut(&f, 1, 2, true);
	fx_cut(&f, 1, 3, true);
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0);
	fx_run(&f, 3 * HB, 5);
	ck_assert_uint_eq(raft_peer_match(fx_raft(&f, 1), 4), last_of(&f, 1));
	ck_assert_uint_lt(commit_of(&f, 1), last_of(&f, 1));
	fx_close(&f);
}
END_TEST

/* A learner never campaigns, and candidates do not ask it for a vote. */
START_TEST(test_learner_does_not_vote)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	add_learner_4(&f);
	fx_isolate(&f, 4, true);
	for (int i = 0; i < 100; i++)
		fx_tick(&f, 4, 10);
	ck_assert_int_eq(state_of(&f, 4), RAFT_FOLLOWER);
	ck_assert_uint_eq(term_of(&f, 4), 2);
	fx_drop_all(&f);
	fx_tick(&f, 2, 3 * ET);
	ck_assert_uint_eq(fx_count(&f, 2, 3, RAFT_MSG_VOTE), 1);
	ck_assert_uint_eq(fx_count(&f, 2, 4, RAFT_MSG_VOTE), 0);
	fx_close(&f);
}
END_TEST

/* Promotion waits until the learner holds the committed log, so the new
 * voter cannot stall commits (RAFT_ENOTCAUGHTUP before, accepted after). */
START_TEST(test_promote_only_when_caught_up)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_start_empty(&f, 4);
	fx_isolate(&f, 4, true);
	ck_assert_int_eq(change(&f, 1, RAFT_CHANGE_ADD_LEARNER, 4), 0);
	fx_run(&f, 3 * HB, 5);
	ck_assert_uint_eq(commit_of(&f, 1), last_of(&f, 1));
	ck_assert_int_eq(change(&f, 1, RAFT_CHANGE_PROMOTE, 4),
			 RAFT_ENOTCAUGHTUP);
	fx_isolate(&f, 4, false);
	fx_run(&f, ET, 5);
	ck_assert_int_eq(change(&f, 1, RAFT_CHANGE_PROMOTE, 4), 0);
	fx_run(&f, ET, 5);
	for (raft_id id = 1; id <= 4; id++) {
		ck_assert_int_eq(member(&f, id, 4)->role, RAFT_VOTER);
		ck_assert_uint_eq(raft_config_voters(
					  raft_config_current(fx_raft(&f, id))),
				  4);
	}
	fx_close(&f);
}
END_TEST

/* Removing a server: once committed it is gone from every configuration,
 * the leader stops sending to it, and the quorum shrinks with it. */
START_TEST(test_remove_server)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	ck_assert_int_eq(change(&f, 1, RAFT_CHANGE_REMOVE, 3), 0);
	fx_run(&f, 3 * HB, 5);
	ck_assert_uint_eq(commit_of(&f, 1), last_of(&f, 1));
	ck_assert_ptr_null(member(&f, 1, 3));
	ck_assert_ptr_null(member(&f, 2, 3));
	fx_drop_all(&f);
	fx_tick(&f, 1, HB);
	ck_assert_uint_eq(fx_count(&f, 1, 3, 0), 0);
	fx_crash(&f, 3);
	ck_assert_int_eq(fx_propose(&f, 1, "x"), 0);
	fx_run(&f, 3 * HB, 5);
	ck_assert_uint_eq(commit_of(&f, 1), last_of(&f, 1));
	fx_close(&f);
}
END_TEST

/* A configuration is in force as soon as its entry is in the log (thesis
 * §4.1), so when a new leader's AppendEntries truncates an uncommitted
 * configuration entry, the follower falls back to the previous one. */
START_TEST(test_truncated_config_entry_reverts)
{
	struct fixture f;
	CLUSTER(&f);
	struct raft_config c = *raft_config_current(fx_raft(&f, 2));
	c.servers[c.n].id = 4;
	c.servers[c.n].role = RAFT_LEARNER;
	snprintf(c.servers[c.n].addr, RAFT_ADDR_MAX, "node4");
	c.n++;
	unsigned char buf[1024];
	size_t len = raft_config_encode(&c, buf, sizeof(buf));
	struct raft_entry e = { .term = 2,
				.index = 2,
				.type = RAFT_ENTRY_CONFIG,
				.data = { .base = buf, .len = len } };
	struct raft_message m = make_msg(RAFT_MSG_APPEND, 1, 2);
	m.append.prev_index = 1;
	m.append.prev_term = 1;
	m.append.n_entries = 1;
	m.append.entries = &e;
	inject(&f, 2, m);
	ck_assert_ptr_nonnull(member(&f, 2, 4));
	static const raft_term t3[] = { 3 };
	inject_append(&f, 2, 3, 3, 1, 1, 0, t3, 1); /* index 2 replaced */
	ck_assert_uint_eq(raft_term_at(fx_raft(&f, 2), 2), 3);
	ck_assert_ptr_null(member(&f, 2, 4));
	ck_assert_uint_eq(raft_config_current(fx_raft(&f, 2))->n, 3);
	fx_close(&f);
}
END_TEST

/* Single-server changes are safe only one at a time: while one is
 * uncommitted, another is refused with RAFT_EBUSY. */
START_TEST(test_one_config_change_at_a_time)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_isolate(&f, 1, true); /* the first change cannot commit */
	ck_assert_int_eq(change(&f, 1, RAFT_CHANGE_ADD_LEARNER, 4), 0);
	ck_assert_int_eq(change(&f, 1, RAFT_CHANGE_REMOVE, 3), RAFT_EBUSY);
	ck_assert_int_eq(change(&f, 1, RAFT_CHANGE_ADD_LEARNER, 5), RAFT_EBUSY);
	fx_close(&f);
}
END_TEST

/* A new leader appends a configuration only once an entry of its own term
 * has committed (thesis §4.1 and its 2015 correction).  Otherwise two
 * single-server changes made by leaders of different terms from the same
 * committed configuration {1,2,3,4} can have disjoint quorums: here node 1
 * (term 2) holds "remove 4" alone, node 2 (term 3) commits "remove 1" and
 * an entry with node 4 only, and node 1 then wins term 4 with node 3's vote
 * in its {1,2,3}, without the entry node 2 committed. */
START_TEST(test_config_change_waits_for_own_term_commit)
{
	struct fixture f;
	CLUSTER(&f, .voters = 4, .leader = 1);
	fx_isolate(&f, 1, true);
	ck_assert_int_eq(change(&f, 1, RAFT_CHANGE_REMOVE, 4), 0);
	/* node 2 wins term 3 with the votes of 3 and 4, then loses node 3 */
	campaign_now(&f, 2);
	deliver_votes(&f);
	ck_assert_int_eq(state_of(&f, 2), RAFT_LEADER);
	fx_isolate(&f, 3, true);
	/* its no-op has not committed yet: "remove 1" must wait (EBUSY) */
	int rv = change(&f, 2, RAFT_CHANGE_REMOVE, 1);
	ck_assert(rv == RAFT_OK || rv == RAFT_EBUSY);
	ck_assert_int_eq(fx_propose(&f, 2, "x"), 0);
	fx_run(&f, 3 * HB, 5);
	raft_index committed = commit_of(&f, 2);
	raft_term committed_term = raft_term_at(fx_raft(&f, 2), committed);
	/* nodes 1 and 3 now hear only each other: node 1 may win term 4 in
	 * its {1,2,3}, but must then hold everything node 2 committed */
	fx_cut(&f, 1, 3, false);
	fx_run(&f, 10 * ET, 5);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	ck_assert_uint_eq(raft_term_at(fx_raft(&f, 1), committed),
			  committed_term);
	fx_close(&f);
}
END_TEST

/* A leader removing itself keeps leading until the change commits (it is
 * needed to replicate it), then steps down (thesis §4.2.2); the remaining
 * voters elect a leader among themselves. */
START_TEST(test_leader_removing_itself_steps_down)
{
	struct fixture f;
	CLUSTER(&f, .leader = 1);
	fx_drop_all(&f);
	ck_assert_int_eq(change(&f, 1, RAFT_CHANGE_REMOVE, 1), 0);
	ck_assert_int_eq(state_of(&f, 1), RAFT_LEADER);
	fx_deliver(&f, 100000);
	ck_assert_uint_eq(commit_of(&f, 1), last_of(&f, 1));
	ck_assert_int_ne(state_of(&f, 1), RAFT_LEADER);
	fx_run(&f, 5 * ET, 5);
	ck_assert_int_ne(state_of(&f, 1), RAFT_LEADER);
	ck_assert(state_of(&f, 2) == RAFT_LEADER ||
		  state_of(&f, 3) == RAFT_LEADER);
	fx_close(&f);
}
END_TEST

/* =========================================================================
 * Extensions: snapshots and pipelining
 * ========================================================================= */

static bool chunk_sent(const struct observed *o, uint64_t offset)
{
	for (unsigned i = 0; i < o->n_chunks; i++)
		if (o->chunk_offsets[i] == offset)
			return true;
	return false;
}

/* After the leader compacted its log (RAFT_EV_SNAPSHOT_TAKEN, small
 * trailing), a follower that was down gets InstallSnapshot in chunks of
 * snapshot_chunk bytes, and its update hands over the whole snapshot. */
START_TEST(test_snapshot_install_in_chunks)
{
	static const char data[] = "state-machine-image!"; /* 20 bytes */
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .snapshot_chunk = 4, .leader = 1);
	fx_crash(&f, 3);
	propose_n(&f, 1, 10);
	fx_run(&f, 3 * HB, 5);
	ck_assert_uint_eq(commit_of(&f, 1), 12);
	struct raft_event ev = { .type = RAFT_EV_SNAPSHOT_TAKEN,
				 .now = fx_node(&f, 1)->now };
	ev.snapshot.index = 12;
	ev.snapshot.data.base = (void *)data;
	ev.snapshot.data.len = 20;
	ev.snapshot.trailing = 2;
	ck_assert_int_eq(fx_step(&f, 1, &ev), 0);
	ck_assert_uint_eq(raft_first_index(fx_raft(&f, 1)), 11);

	observe(&f, &o);
	fx_restart(&f, 3);
	fx_run(&f, 2 * ET, 5);
	ck_assert_uint_ge(o.n_chunks, 5);
	ck_assert_uint_le(o.chunk_max_len, 4);
	for (uint64_t off = 0; off < 20; off += 4)
		ck_assert(chunk_sent(&o, off));
	ck_assert(o.snap_present);
	ck_assert_uint_eq(o.snap_index, 12);
	ck_assert_uint_eq(o.snap_term, 2);
	ck_assert_uint_eq(o.snap_len, 20);
	ck_assert(memcmp(o.snap_data, data, 20) == 0);
	ck_assert_uint_eq(raft_snapshot_index(fx_raft(&f, 3)), 12);
	ck_assert_uint_eq(commit_of(&f, 3), 12);
	ck_assert_int_eq(fx_propose(&f, 1, "after"), 0);
	fx_run(&f, 3 * HB, 5);
	ck_assert_uint_eq(last_of(&f, 3), 13);
	ck_assert_uint_eq(commit_of(&f, 3), 13);
	fx_close(&f);
}
END_TEST

/* A lost InstallSnapshot chunk stalls nothing for long: the leader
 * resends the chunk the follower still needs, and the install completes. */
START_TEST(test_snapshot_lost_chunk_is_resent)
{
	static const char data[] = "state-machine-image!";
	struct fixture f;
	struct observed o;
	CLUSTER(&f, .snapshot_chunk = 4, .leader = 1);
	fx_crash(&f, 3);
	propose_n(&f, 1, 10);
	fx_run(&f, 3 * HB, 5);
	struct raft_event ev = { .type = RAFT_EV_SNAPSHOT_TAKEN,
				 .now = fx_node(&f, 1)->now };
	ev.snapshot.index = 12;
	ev.snapshot.data.base = (void *)data;
	ev.snapshot.data.len = 20;
	ev.snapshot.trailing = 2;
	ck_assert_int_eq(fx_step(&f, 1, &ev), 0);
	observe(&f, &o);
	fx_restart(&f, 3);
	/* run until the first chunk is on the wire, then lose the second */
	for (int i = 0; i < 1000 && !fx_peek(&f, 1, 3, RAFT_MSG_SNAPSHOT);
	     i++) {
		if (f.n_queue) {
			fx_deliver(&f, 1);
			continue;
		}
		for (raft_id id = 1; id <= 3; id++)
			fx_tick(&f, id, 5);
	}
	deliver(&f, 1, 3, RAFT_MSG_SNAPSHOT);
	deliver(&f, 3, 1, RAFT_MSG_SNAPSHOT_RESP);
	const struct raft_message *m = fx_peek(&f, 1, 3, RAFT_MSG_SNAPSHOT);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->snapshot.offset, 4);
	fx_cut(&f, 1, 3, true);
	fx_deliver(&f, 100000);
	fx_cut(&f, 1, 3, false);
	fx_run(&f, 2 * ET, 5);
	ck_assert(o.snap_present);
	ck_assert_uint_eq(o.snap_index, 12);
	ck_assert(memcmp(o.snap_data, data, 20) == 0);
	ck_assert_uint_eq(commit_of(&f, 3), 12);
	fx_close(&f);
}
END_TEST

/* Pipelining: with max_inflight = N the leader sends at most N
 * AppendEntries ahead of a follower's answers, however much is proposed
 * and however long it waits. */
START_TEST(test_pipeline_bounded_by_max_inflight)
{
	struct fixture f;
	CLUSTER(&f, .max_inflight = 3, .max_batch_entries = 1, .leader = 1);
	fx_drop_all(&f);
	propose_n(&f, 1, 10);
	ck_assert_uint_eq(queued_appends_with_entries(&f, 1, 2), 3);
	for (int i = 0; i < 5; i++)
		fx_tick(&f, 1, HB);
	ck_assert_uint_eq(queued_appends_with_entries(&f, 1, 2), 3);
	fx_close(&f);
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

#define N_ELEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *raft_rules_suite(void)
{
	Suite *s = suite_create("raft_rules");
	TCase *tc = tcase(s, "all_servers");
	tcase_add_test(tc, test_apply_committed_in_order);
	tcase_add_loop_test(tc, test_higher_term_makes_follower, 0,
			    N_ELEMS(higher_term_types));
	tcase_add_loop_test(tc, test_stale_term_rejected, 0,
			    N_ELEMS(stale_cases));
	tcase_add_test(tc, test_stale_leader_steps_down_on_newer_term_reply);

	tc = tcase(s, "followers");
	tcase_add_test(tc, test_follower_responds_to_rpcs);
	tcase_add_test(tc, test_follower_hearing_leader_does_not_campaign);
	tcase_add_test(tc, test_timeout_starts_prevote_without_term_bump);
	tcase_add_test(tc, test_prevote_win_becomes_candidate);

	tc = tcase(s, "candidates");
	tcase_add_test(tc, test_candidate_votes_for_self_and_asks_all);
	tcase_add_test(tc, test_candidate_wins_with_majority);
	tcase_add_test(tc, test_candidate_follows_leader_of_same_term);
	tcase_add_test(tc, test_candidate_new_election_on_timeout);

	tc = tcase(s, "leaders");
	tcase_add_test(tc, test_leader_appends_noop);
	tcase_add_test(tc, test_leader_heartbeats_when_idle);
	tcase_add_test(tc, test_leader_appends_proposal_then_replicates);
	tcase_add_test(tc, test_next_index_backs_off_on_reject);
	tcase_add_test(tc, test_fast_backoff_skips_divergent_term);
	tcase_add_test(tc, test_heartbeat_commit_bounded_by_match);
	tcase_add_test(tc, test_match_index_updated_on_success);
	tcase_add_test(tc, test_figure8_old_term_not_committed_by_counting);
	tcase_add_test(tc, test_followers_learn_commit_index);
	tcase_add_test(tc, test_wiped_follower_is_caught_up);

	tc = tcase(s, "request_vote");
	tcase_add_test(tc, test_vote_denied_for_stale_term);
	tcase_add_test(tc, test_one_vote_per_term);
	tcase_add_test(tc, test_vote_denied_if_log_less_up_to_date);
	tcase_add_test(tc, test_vote_durable_before_response);
	tcase_add_test(tc, test_vote_in_known_term_durable_before_response);

	tc = tcase(s, "append_entries");
	tcase_add_test(tc, test_append_rejected_without_prev_entry);
	tcase_add_test(tc, test_append_conflict_truncates_suffix);
	tcase_add_test(tc, test_append_only_new_entries);
	tcase_add_test(tc,
		       test_append_commit_is_min_of_leader_commit_and_last_new);
	tcase_add_test(tc, test_duplicate_append_keeps_log);

	tc = tcase(s, "persistence");
	tcase_add_test(tc, test_follower_acks_only_after_persisted);
	tcase_add_test(tc, test_leader_counts_itself_only_when_persisted);
	tcase_add_test(
		tc, test_leader_commits_on_followers_while_own_write_pending);
	tcase_add_test(tc, test_persist_failure_makes_leader_step_down);
	tcase_add_test(tc, test_failed_hard_state_write_is_requested_again);
	tcase_add_test(tc, test_failed_write_is_retried);
	tcase_add_test(tc, test_term_durable_before_any_message);

	tc = tcase(s, "check_quorum_prevote");
	tcase_add_test(tc, test_check_quorum_isolated_leader_steps_down);
	tcase_add_test(tc, test_leader_stickiness_ignores_vote);
	tcase_add_test(tc, test_prevote_rejoining_node_does_not_disrupt);
	tcase_add_test(tc, test_leader_connection_lost_campaigns_soon);
	tcase_add_test(tc, test_successor_is_the_first_campaigner);
	tcase_add_test(tc, test_refused_early_prevote_is_asked_again_soon);
	tcase_add_test(tc, test_peer_down_while_leader_lives_does_not_disrupt);

	tc = tcase(s, "read_index");
	tcase_add_test(tc, test_read_waits_for_noop_commit);
	tcase_add_test(tc, test_read_confirmed_by_quorum_heartbeat);
	tcase_add_test(tc, test_reads_share_the_next_round);
	tcase_add_test(tc, test_read_fails_when_leader_steps_down);
	tcase_add_test(tc, test_read_on_follower_is_refused);

	tc = tcase(s, "transfer");
	tcase_add_test(tc, test_transfer_waits_for_catch_up);

	tc = tcase(s, "membership");
	tcase_add_test(tc, test_learner_replicates_but_does_not_count);
	tcase_add_test(tc, test_learner_does_not_vote);
	tcase_add_test(tc, test_promote_only_when_caught_up);
	tcase_add_test(tc, test_remove_server);
	tcase_add_test(tc, test_truncated_config_entry_reverts);
	tcase_add_test(tc, test_one_config_change_at_a_time);
	tcase_add_test(tc, test_config_change_waits_for_own_term_commit);
	tcase_add_test(tc, test_leader_removing_itself_steps_down);

	tc = tcase(s, "snapshot_pipeline");
	tcase_add_test(tc, test_snapshot_install_in_chunks);
	tcase_add_test(tc, test_snapshot_lost_chunk_is_resent);
	tcase_add_test(tc, test_pipeline_bounded_by_max_inflight);
	return s;
}
