/*
 * core.c — lifecycle of a node, the single entry point raft_step(), role
 * transitions and assembly of the update handed back to the caller.
 *
 * Nothing here (or anywhere in the core) reads a clock, draws system
 * randomness or does I/O: `now` arrives with every event and the PRNG is
 * seeded by the caller, so a node's behaviour is a function of its inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

static const char *const error_messages[RAFT_ERROR_COUNT] = {
	[RAFT_OK] = "success",
	[RAFT_ENOTLEADER] = "this node is not the leader",
	[RAFT_EBUSY] = "a leadership transfer or membership change is in "
		       "progress, or the leader is new; retry shortly",
	[RAFT_ENOMEM] = "out of memory",
	[RAFT_EINVAL] = "invalid argument",
	[RAFT_ENOTCAUGHTUP] = "the learner has not caught up with the log "
			      "yet; retry later",
	[RAFT_ENOTFOUND] = "no such server in the configuration",
	[RAFT_ESHUTDOWN] = "the node is shutting down",
	[RAFT_ETOOBIG] = "entry larger than the configured maximum",
};

const char *raft_strerror(int code)
{
	if (code < 0 || code >= RAFT_ERROR_COUNT)
		return "unknown error";
	return error_messages[code];
}

const char *raft_state_name(int state)
{
	switch (state) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_PRECANDIDATE:
		return "precandidate";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	}
	return "unknown";
}

const char *raft_msg_type_name(uint8_t type)
{
	static const char *const names[RAFT_MSG_TYPE_COUNT] = {
		[RAFT_MSG_APPEND] = "append",
		[RAFT_MSG_APPEND_RESP] = "append_resp",
		[RAFT_MSG_HEARTBEAT] = "heartbeat",
		[RAFT_MSG_HEARTBEAT_RESP] = "heartbeat_resp",
		[RAFT_MSG_VOTE] = "vote",
		[RAFT_MSG_VOTE_RESP] = "vote_resp",
		[RAFT_MSG_SNAPSHOT] = "snapshot",
		[RAFT_MSG_SNAPSHOT_RESP] = "snapshot_resp",
		[RAFT_MSG_TIMEOUT_NOW] = "timeout_now",
	};
	if (type == 0 || type >= RAFT_MSG_TYPE_COUNT)
		return "invalid";
	return names[type];
}

_Noreturn void raft_fatal(const char *file, int line, const char *what)
{
	fprintf(stderr, "FATAL raft invariant violated at %s:%d: %s\n", file,
		line, what);
	abort();
}

void raft_options_default(struct raft_options *o)
{
	memset(o, 0, sizeof(*o));
	o->election_timeout = 1000;
	o->heartbeat_interval = 100;
	o->max_inflight = 64;
	o->max_batch_entries = 256;
	o->max_batch_bytes = 1 << 20;
	o->max_entry_bytes = 1 << 20;
	o->snapshot_chunk = 256 << 10;
}

/* splitmix64: small, fast, and good enough to spread election timeouts. */
uint64_t raft_random(struct raft *r)
{
	uint64_t z = (r->prng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void raft_reset_election_timer(struct raft *r)
{
	unsigned t = r->opt.election_timeout;
	r->election_deadline = r->now + t + raft_random(r) % t;
}

bool raft_is_voter(const struct raft *r, raft_id id)
{
	const struct raft_server *s = raft_config_get(&r->config, id);
	return s && s->role == RAFT_VOTER;
}

/* A voter of the newest configuration may campaign, and so may a voter of
 * the committed one: a node removed only by an uncommitted entry may hold
 * the most complete log, and if it could neither win nor let anyone else
 * win, the cluster would stall for good. */
bool raft_may_campaign(const struct raft *r)
{
	if (raft_is_voter(r, r->id))
		return true;
	struct raft_config c;
	if (!config_at(r, r->commit, &c))
		return false;
	const struct raft_server *s = raft_config_get(&c, r->id);
	return s && s->role == RAFT_VOTER;
}

unsigned raft_quorum(const struct raft *r)
{
	return raft_config_voters(&r->config) / 2 + 1;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int load_durable(struct raft *r, const struct raft_durable *d)
{
	r->term = d->term;
	r->voted_for = d->voted_for;
	r->snap_index = d->snap_index;
	r->snap_term = d->snap_term;
	r->snap_config = d->snap_config;
	if (d->snap_data.len) {
		r->snap_data.base = malloc(d->snap_data.len);
		if (!r->snap_data.base)
			return RAFT_ENOMEM;
		memcpy(r->snap_data.base, d->snap_data.base, d->snap_data.len);
		r->snap_data.len = d->snap_data.len;
	}
	log_init(&r->log, d->snap_index, d->snap_term);
	for (unsigned i = 0; i < d->n_entries; i++) {
		const struct raft_entry *e = &d->entries[i];
		if (e->index != log_last_index(&r->log) + 1)
			return RAFT_EINVAL;
		int rv = log_append(&r->log, e->term, e->type, e->data.base,
				    e->data.len);
		if (rv)
			return rv;
	}
	if (log_last_term(&r->log) > r->term)
		r->term = log_last_term(&r->log);
	r->persisted = log_last_index(&r->log);
	r->durable_snap_index = d->snap_index;
	r->commit = r->applied = d->snap_index;
	return RAFT_OK;
}

int raft_init(struct raft **out, const struct raft_options *o,
	      const struct raft_durable *d, uint64_t now)
{
	if (o->id == 0 || o->election_timeout == 0 ||
	    o->heartbeat_interval == 0 || o->max_inflight == 0 ||
	    o->max_inflight > RAFT_MAX_INFLIGHT || o->snapshot_chunk == 0 ||
	    o->max_batch_entries == 0)
		return RAFT_EINVAL;
	struct raft *r = calloc(1, sizeof(*r));
	if (!r)
		return RAFT_ENOMEM;
	r->opt = *o;
	r->id = o->id;
	r->prng = o->seed ^ (o->id * 0xD1B54A32D192ED03ull);
	r->now = now;
	r->state = RAFT_FOLLOWER;
	struct raft_durable empty = { 0 };
	int rv = load_durable(r, d ? d : &empty);
	if (rv) {
		raft_close(r);
		return rv;
	}
	r->config_index = 0;
	config_recompute(r);
	r->last_leader_contact = now;
	raft_reset_election_timer(r);
	*out = r;
	return RAFT_OK;
}

void raft_close(struct raft *r)
{
	if (!r)
		return;
	log_free(&r->log);
	free(r->snap_data.base);
	free(r->in_snap.data);
	free(r->writes);
	free(r->reads);
	free(r->out_msgs);
	free(r->out_msg_first);
	free(r->out_reads);
	free(r);
}

int raft_bootstrap_entry(const struct raft_config *c, struct raft_entry *e)
{
	size_t len = raft_config_encode(c, NULL, 0);
	void *buf = malloc(len);
	if (!buf)
		return RAFT_ENOMEM;
	raft_config_encode(c, buf, len);
	e->term = 1;
	e->index = 1;
	e->type = RAFT_ENTRY_CONFIG;
	e->data.base = buf;
	e->data.len = len;
	return RAFT_OK;
}

/* ---- roles ------------------------------------------------------------ */

static void set_state(struct raft *r, int state, raft_id leader)
{
	if (r->state != state || r->leader != leader)
		r->out_state_changed = true;
	if (r->state == RAFT_LEADER && state != RAFT_LEADER) {
		readindex_fail_all(r, RAFT_ENOTLEADER);
		r->transfer_to = 0;
		r->n_peers = 0;
	}
	if (r->leader != leader)
		r->leader_commit = 0;
	r->state = state;
	r->leader = leader;
}

void raft_become_follower(struct raft *r, raft_term term, raft_id leader)
{
	RAFT_ASSERT(term >= r->term); /* a term never goes back */
	RAFT_ASSERT(leader != r->id);
	if (term > r->term) {
		r->term = term;
		r->voted_for = 0;
		r->hs_dirty = true;
		r->out_state_changed = true;
	}
	if (leader != r->leader) {
		r->matched_upto = 0;
		r->acked_upto = 0;
	}
	set_state(r, RAFT_FOLLOWER, leader);
	raft_reset_election_timer(r);
}

static void reset_votes(struct raft *r)
{
	r->n_votes_for = r->n_votes_against = 0;
	/* A node campaigning on the strength of the committed configuration
	 * may be absent from the newest one; there its vote does not count. */
	if (raft_is_voter(r, r->id))
		r->votes_for_me[r->n_votes_for++] = r->id;
}

void raft_become_precandidate(struct raft *r)
{
	set_state(r, RAFT_PRECANDIDATE, 0);
	r->matched_upto = r->acked_upto = 0;
	reset_votes(r);
	raft_reset_election_timer(r);
}

void raft_become_candidate(struct raft *r, bool transfer)
{
	RAFT_ASSERT(r->state != RAFT_LEADER);
	r->term++;
	r->voted_for = r->id;
	r->hs_dirty = true;
	r->out_state_changed = true;
	r->campaign_transfer = transfer;
	set_state(r, RAFT_CANDIDATE, 0);
	r->matched_upto = r->acked_upto = 0;
	reset_votes(r);
	raft_reset_election_timer(r);
}

void raft_become_leader(struct raft *r)
{
	/* Only a candidate that voted for itself in this term can have won. */
	RAFT_ASSERT(r->state == RAFT_CANDIDATE && r->voted_for == r->id);
	/* The no-op below must not put an older term after a newer one. */
	RAFT_ASSERT(log_last_term(&r->log) <= r->term);
	set_state(r, RAFT_LEADER, r->id);
	r->n_peers = 0;
	r->transfer_to = 0;
	config_sync_peers(r);
	r->quorum_check_at = r->now + r->opt.election_timeout;
	/* No ReadIndex round is out: the new peers have answered none. */
	r->read_confirmed = r->read_seq;
	/* A no-op of the new term: committing it commits everything before
	 * it and lets ReadIndex use the commit index (thesis §6.4). */
	int rv = log_append(&r->log, r->term, RAFT_ENTRY_NOOP, NULL, 0);
	if (rv) {
		r->out_enomem = true;
		raft_become_follower(r, r->term, 0);
		return;
	}
	r->term_start_index = log_last_index(&r->log);
	replication_mark_dirty(r, r->term_start_index);
	replication_broadcast(r);
	r->heartbeat_due = r->now + r->opt.heartbeat_interval;
	replication_maybe_commit(r);
}

/* ---- update assembly --------------------------------------------------- */

static bool grow(void **arr, unsigned *cap, size_t elem)
{
	unsigned ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

struct raft_message *raft_msg_new(struct raft *r, uint8_t type, raft_id to)
{
	if (r->n_out_msgs == r->cap_out_msgs) {
		unsigned cap = r->cap_out_msgs;
		if (!grow((void **)&r->out_msgs, &cap, sizeof(*r->out_msgs))) {
			r->out_enomem = true;
			return NULL;
		}
		cap = r->cap_out_msgs;
		if (!grow((void **)&r->out_msg_first, &cap,
			  sizeof(*r->out_msg_first))) {
			r->out_enomem = true;
			return NULL;
		}
		r->cap_out_msgs = cap;
	}
	r->out_msg_first[r->n_out_msgs] = 0;
	struct raft_message *m = &r->out_msgs[r->n_out_msgs++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->id;
	m->to = to;
	m->term = r->term;
	return m;
}

void raft_read_result(struct raft *r, uint64_t id, raft_index index, int status)
{
	if (r->n_out_reads == r->cap_out_reads &&
	    !grow((void **)&r->out_reads, &r->cap_out_reads,
		  sizeof(*r->out_reads))) {
		r->out_enomem = true;
		return;
	}
	struct raft_read_result *rr = &r->out_reads[r->n_out_reads++];
	rr->id = id;
	rr->index = index;
	rr->status = status;
}

static void update_begin(struct raft *r, struct raft_update *up)
{
	memset(up, 0, sizeof(*up));
	r->n_out_msgs = 0;
	r->n_out_reads = 0;
	r->out_state_changed = false;
	r->snap_install_issue = false;
}

/* A received snapshot goes out before any log write that follows it.
 * After a failed write nothing goes out until the back-off has passed, so a
 * full disk is not hammered with retries. */
static void issue_writes(struct raft *r)
{
	if (!r->snap_dirty || r->now < r->disk_hold_until)
		return;
	r->snap_install_seq = replication_queue_write(r, r->snap_index + 1,
						      r->snap_index, true);
	r->snap_install_issue = true;
	r->snap_dirty = false;
}

/* Pointers into the log are resolved only now, after the step stopped
 * changing the log, so a realloc mid-step cannot leave them dangling. */
static void update_finish(struct raft *r, struct raft_update *up)
{
	if (r->hs_dirty) {
		up->hard_state_changed = true;
		up->term = r->term;
		up->voted_for = r->voted_for;
		r->hs_dirty = false;
	}
	issue_writes(r);
	if (r->snap_install_issue) {
		up->snapshot.present = true;
		up->snapshot.seq = r->snap_install_seq;
		up->snapshot.index = r->snap_index;
		up->snapshot.term = r->snap_term;
		up->snapshot.config = r->snap_config;
		up->snapshot.data = r->snap_data;
	}
	if (r->dirty_from && r->now >= r->disk_hold_until) {
		raft_index last = log_last_index(&r->log);
		/* Only the in-memory log can be written as entries. */
		RAFT_ASSERT(r->dirty_from > r->log.offset &&
			    r->dirty_from <= last + 1);
		up->persist.first = r->dirty_from;
		up->persist.seq = replication_queue_write(r, r->dirty_from,
							  last, false);
		up->persist.n_entries = (unsigned)(last + 1 - r->dirty_from);
		up->persist.entries = up->persist.n_entries
					      ? log_get(&r->log, r->dirty_from)
					      : NULL;
		r->dirty_from = 0;
	}
	for (unsigned i = 0; i < r->n_out_msgs; i++) {
		struct raft_message *m = &r->out_msgs[i];
		if (m->type == RAFT_MSG_APPEND && m->append.n_entries)
			m->append.entries = log_get(&r->log,
						    r->out_msg_first[i]);
	}
	up->n_messages = r->n_out_msgs;
	up->messages = r->out_msgs;
	if (!r->snap_installing && r->commit > r->applied) {
		up->apply = log_get(&r->log, r->applied + 1);
		/* Compaction keeps every entry not yet applied. */
		RAFT_ASSERT(up->apply != NULL);
		up->n_apply = (unsigned)(r->commit - r->applied);
		r->applied = r->commit;
	}
	readindex_collect(r);
	up->n_reads = r->n_out_reads;
	up->reads = r->out_reads;
	up->state_changed = r->out_state_changed;
	up->state = r->state;
	up->leader = r->leader;
}

/* ---- dispatch ----------------------------------------------------------- */

/* Term rules common to every message (Figure 2, "All Servers"), with the
 * PreVote and leader-stickiness exceptions.  False: drop the message. */
static bool check_term(struct raft *r, const struct raft_message *m)
{
	if (m->term > r->term) {
		if (m->type == RAFT_MSG_VOTE && !m->vote.transfer &&
		    election_in_lease(r))
			return false;
		if (m->type == RAFT_MSG_VOTE && m->vote.prevote)
			return true;
		if (m->type == RAFT_MSG_VOTE_RESP && m->vote_resp.prevote &&
		    m->vote_resp.granted)
			return true;
		bool from_leader = m->type == RAFT_MSG_APPEND ||
				   m->type == RAFT_MSG_HEARTBEAT ||
				   m->type == RAFT_MSG_SNAPSHOT ||
				   m->type == RAFT_MSG_TIMEOUT_NOW;
		raft_become_follower(r, m->term, from_leader ? m->from : 0);
		return true;
	}
	if (m->term < r->term) {
		/* Tell a stale leader or pre-candidate about the newer term
		 * so it steps down instead of disrupting (etcd does the
		 * same with CheckQuorum/PreVote on). */
		struct raft_message *resp = NULL;
		if (m->type == RAFT_MSG_APPEND ||
		    m->type == RAFT_MSG_HEARTBEAT ||
		    m->type == RAFT_MSG_SNAPSHOT)
			resp = raft_msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
		else if (m->type == RAFT_MSG_VOTE && m->vote.prevote) {
			resp = raft_msg_new(r, RAFT_MSG_VOTE_RESP, m->from);
			if (resp)
				resp->vote_resp.prevote = true;
		}
		(void)resp;
		return false;
	}
	return true;
}

static void recv_message(struct raft *r, const struct raft_message *m)
{
	if (m->to != r->id || m->from == r->id || m->type == 0 ||
	    m->type >= RAFT_MSG_TYPE_COUNT)
		return;
	if (!check_term(r, m))
		return;
	switch (m->type) {
	case RAFT_MSG_APPEND:
		replication_recv_append(r, m);
		break;
	case RAFT_MSG_APPEND_RESP:
		replication_recv_append_resp(r, m);
		break;
	case RAFT_MSG_HEARTBEAT:
		replication_recv_heartbeat(r, m);
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		replication_recv_heartbeat_resp(r, m);
		break;
	case RAFT_MSG_VOTE:
		election_recv_vote(r, m);
		break;
	case RAFT_MSG_VOTE_RESP:
		election_recv_vote_resp(r, m);
		break;
	case RAFT_MSG_SNAPSHOT:
		snapshot_recv(r, m);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		snapshot_recv_resp(r, m);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		election_recv_timeout_now(r, m);
		break;
	}
}

static void tick(struct raft *r)
{
	election_tick(r);
	replication_tick(r);
}

static int dispatch(struct raft *r, const struct raft_event *ev,
		    struct raft_update *up)
{
	switch (ev->type) {
	case RAFT_EV_TICK:
		return RAFT_OK;
	case RAFT_EV_RECEIVE:
		if (!ev->receive.msg)
			return RAFT_EINVAL;
		recv_message(r, ev->receive.msg);
		return RAFT_OK;
	case RAFT_EV_PERSISTED:
		replication_persisted(r, ev->persisted.seq);
		return RAFT_OK;
	case RAFT_EV_PERSIST_FAILED:
		replication_persist_failed(r, ev->persist_failed.seq,
					   ev->persist_failed.hard_state);
		return RAFT_OK;
	case RAFT_EV_PROPOSE:
		if (ev->propose.type != RAFT_ENTRY_NORMAL)
			return RAFT_EINVAL;
		return replication_propose(r, RAFT_ENTRY_NORMAL,
					   ev->propose.data.base,
					   ev->propose.data.len, up);
	case RAFT_EV_READ_INDEX:
		return readindex_request(r, ev->read.id);
	case RAFT_EV_TRANSFER:
		return election_transfer(r, ev->transfer.to);
	case RAFT_EV_SNAPSHOT_TAKEN:
		return snapshot_taken(r, ev);
	case RAFT_EV_CHANGE_CONFIG:
		return config_change(r, ev, up);
	case RAFT_EV_PEER_DOWN:
		election_peer_down(r, ev->peer_down.id);
		return RAFT_OK;
	}
	return RAFT_EINVAL;
}

/* ---- invariants after every step -------------------------------------- */

/* What a step must never undo. */
struct step_before {
	raft_term term;
	raft_id voted_for;
	raft_index commit, applied;
	bool leading;
	raft_index last;
};

static void step_before_take(const struct raft *r, struct step_before *b)
{
	b->term = r->term;
	b->voted_for = r->voted_for;
	b->commit = r->commit;
	b->applied = r->applied;
	b->leading = r->state == RAFT_LEADER;
	b->last = log_last_index(&r->log);
}

/* The leader's view of each peer: match is something the peer stores and
 * next is where the next AppendEntries starts; both lie within our log.
 * (match < next is not kept: a late snapshot answer may raise match past
 * next, which only costs a redundant probe.) */
static void check_peers(const struct raft *r)
{
	raft_index last = log_last_index(&r->log);
	RAFT_ASSERT(r->n_peers <= RAFT_MAX_SERVERS);
	for (unsigned i = 0; i < r->n_peers; i++) {
		const struct progress *p = &r->peers[i];
		RAFT_ASSERT(p->id != r->id);
		RAFT_ASSERT(p->match <= last);
		RAFT_ASSERT(p->next >= 1 && p->next <= last + 1);
		RAFT_ASSERT(p->inflight_n <= r->opt.max_inflight);
	}
}

/* Cheap checks of the whole node after each raft_step: the monotonic
 * quantities of Figure 2 and the consistency of the log's bookkeeping. */
static void check_invariants(const struct raft *r, const struct step_before *b)
{
	raft_index last = log_last_index(&r->log);
	RAFT_ASSERT(r->term >= b->term);
	/* One vote per term: only a first vote may be cast in a term. */
	RAFT_ASSERT(r->term != b->term || b->voted_for == 0 ||
		    r->voted_for == b->voted_for);
	RAFT_ASSERT(r->commit >= b->commit && r->applied >= b->applied);
	RAFT_ASSERT(r->applied <= r->commit && r->commit <= last);
	/* Compacted entries are covered by the snapshot, which is applied. */
	RAFT_ASSERT(r->log.offset <= r->snap_index &&
		    r->snap_index <= r->commit);
	RAFT_ASSERT(r->persisted <= last && r->config_index <= last);
	RAFT_ASSERT((r->state == RAFT_LEADER) == (r->leader == r->id));
	/* Leader Append-Only (Figure 3): within its term a leader only adds. */
	if (b->leading && r->state == RAFT_LEADER && r->term == b->term)
		RAFT_ASSERT(last >= b->last);
	if (r->state == RAFT_LEADER)
		check_peers(r);
	else
		RAFT_ASSERT(r->n_reads == 0); /* stepping down failed them */
}

int raft_step(struct raft *r, const struct raft_event *ev,
	      struct raft_update *up)
{
	struct step_before before;
	step_before_take(r, &before);
	update_begin(r, up);
	if (ev->now > r->now)
		r->now = ev->now;
	r->out_enomem = false;
	int rv = dispatch(r, ev, up);
	tick(r);
	update_finish(r, up);
	check_invariants(r, &before);
	if (rv == RAFT_OK && r->out_enomem)
		rv = RAFT_ENOMEM;
	return rv;
}

/* ---- introspection ----------------------------------------------------- */

int raft_state(const struct raft *r)
{
	return r->state;
}
raft_id raft_self(const struct raft *r)
{
	return r->id;
}
raft_id raft_leader(const struct raft *r)
{
	return r->leader;
}
raft_term raft_term_current(const struct raft *r)
{
	return r->term;
}
raft_id raft_voted_for(const struct raft *r)
{
	return r->voted_for;
}
raft_index raft_commit_index(const struct raft *r)
{
	return r->commit;
}
raft_index raft_leader_commit(const struct raft *r)
{
	if (r->state == RAFT_LEADER)
		return r->commit;
	if (!r->leader)
		return 0;
	return r->leader_commit > r->commit ? r->leader_commit : r->commit;
}
raft_index raft_last_index(const struct raft *r)
{
	return log_last_index(&r->log);
}
raft_term raft_last_term(const struct raft *r)
{
	return log_last_term(&r->log);
}
raft_index raft_first_index(const struct raft *r)
{
	return r->log.offset + 1;
}
raft_index raft_snapshot_index(const struct raft *r)
{
	return r->snap_index;
}
raft_index raft_persisted_index(const struct raft *r)
{
	return r->persisted;
}
raft_term raft_term_at(const struct raft *r, raft_index index)
{
	return log_term_at(&r->log, index);
}
const struct raft_entry *raft_entry_at(const struct raft *r, raft_index index)
{
	return log_get(&r->log, index);
}
const struct raft_config *raft_config_current(const struct raft *r)
{
	return &r->config;
}
bool raft_config_at(const struct raft *r, raft_index index,
		    struct raft_config *out)
{
	return config_at(r, index, out);
}
raft_index raft_peer_match(const struct raft *r, raft_id id)
{
	if (r->state != RAFT_LEADER)
		return 0;
	if (id == r->id)
		return replication_self_match(r);
	for (unsigned i = 0; i < r->n_peers; i++)
		if (r->peers[i].id == id)
			return r->peers[i].match;
	return 0;
}
