/*
 * replication.c — AppendEntries, commit, and tracking of durable writes.
 *
 * The leader appends to its log and sends to followers in the same step;
 * its own write runs in parallel (thesis §10.2.1) and it counts itself in
 * the commit quorum only for entries whose PERSISTED event arrived.  A
 * follower acknowledges an entry only after it is durable.  An entry is
 * committed by counting replicas only if it belongs to the leader's current
 * term (Figure 2; thesis §3.6.2 "Figure 8").
 *
 * Peers are probed one message at a time until their log matches, then
 * replicated to optimistically with a bounded number of messages in flight.
 * Rejections carry a hint (the follower's conflicting term and its first
 * index) so the leader skips a whole term per round trip.
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

struct progress *replication_peer(struct raft *r, raft_id id)
{
	for (unsigned i = 0; i < r->n_peers; i++)
		if (r->peers[i].id == id)
			return &r->peers[i];
	return NULL;
}

raft_index replication_self_match(const struct raft *r)
{
	return r->persisted;
}

/* The log changed from index `from` on: it must be (re)written. */
void replication_mark_dirty(struct raft *r, raft_index from)
{
	/* Below the in-memory log only a snapshot can be written, and a
	 * pending one is tracked by snap_dirty. */
	if (from <= r->log.offset)
		from = r->log.offset + 1;
	if (r->dirty_from == 0 || from < r->dirty_from)
		r->dirty_from = from;
	if (r->persisted >= from)
		r->persisted = from - 1;
}

/* ---- durable write tracking ------------------------------------------- */

uint64_t replication_queue_write(struct raft *r, raft_index first,
				 raft_index last, bool snapshot)
{
	/* A log write covers [first, last], possibly empty; a snapshot
	 * write is (snap_index + 1, snap_index]. */
	RAFT_ASSERT(first >= 1 && first <= last + 1);
	if (r->n_writes == r->cap_writes) {
		unsigned cap = r->cap_writes ? r->cap_writes * 2 : 16;
		void *p = realloc(r->writes, cap * sizeof(*r->writes));
		RAFT_ASSERT(p != NULL); /* cannot drop a write silently */
		r->writes = p;
		r->cap_writes = cap;
	}
	struct pending_write *w = &r->writes[r->n_writes++];
	w->seq = ++r->next_seq;
	w->first = first;
	w->last = last;
	w->snapshot = snapshot;
	return w->seq;
}

/* After write `done` completed, the disk holds its result; entries of the
 * in-memory log equal the disk's up to the first index a later, still
 * pending write is going to replace. */
static raft_index durable_prefix(const struct raft *r,
				 const struct pending_write *done)
{
	raft_index p = done->last;
	for (unsigned i = 0; i < r->n_writes; i++) {
		const struct pending_write *w = &r->writes[i];
		/* A pending snapshot replaces the whole log: until it lands,
		 * only what the disk's current snapshot covers is ours. */
		raft_index keep = w->snapshot ? r->durable_snap_index
					      : w->first - 1;
		if (keep < p)
			p = keep;
	}
	return p;
}

void replication_persisted(struct raft *r, uint64_t seq)
{
	/* The caller completes only writes it was handed (raft.h, 2.). */
	RAFT_ASSERT(seq <= r->next_seq);
	struct pending_write done = { 0 };
	bool any = false;
	while (r->n_writes && r->writes[0].seq <= seq) {
		done = r->writes[0];
		memmove(r->writes, r->writes + 1,
			(r->n_writes - 1) * sizeof(*r->writes));
		r->n_writes--;
		any = true;
		if (done.snapshot) {
			r->durable_snap_index = done.last;
			if (r->snap_installing &&
			    done.seq == r->snap_install_seq)
				snapshot_installed(r);
		}
	}
	if (!any)
		return;
	r->persisted = durable_prefix(r, &done);
	if (r->n_writes == 0 && !r->dirty_from && !r->snap_dirty)
		r->disk_failed = false;
	if (r->state == RAFT_LEADER)
		replication_maybe_commit(r);
	else
		replication_follower_ack(r);
}

/* A failed write leaves the disk as it was before it (the contract), and
 * every later write fails too.  The node stops leading and rewrites the
 * missing part later; until then it neither campaigns nor acknowledges. */
void replication_persist_failed(struct raft *r, uint64_t seq, bool hard_state)
{
	if (hard_state) {
		r->hs_dirty = true; /* retried with the next update */
	} else {
		unsigned keep = 0;
		while (keep < r->n_writes && r->writes[keep].seq < seq)
			keep++;
		/* The disk will hold the writes before `seq`; everything
		 * from the first index a dropped write covered is redone. */
		for (unsigned i = keep; i < r->n_writes; i++) {
			struct pending_write *w = &r->writes[i];
			if (w->snapshot)
				r->snap_dirty = true;
			raft_index end = log_last_index(&r->log) + 1;
			replication_mark_dirty(r,
					       w->first < end ? w->first : end);
		}
		r->n_writes = keep;
		r->disk_failed = true;
		r->disk_hold_until = r->now + r->opt.heartbeat_interval;
	}
	if (r->state != RAFT_FOLLOWER)
		raft_become_follower(r, r->term, 0);
}

/* ---- leader side ---------------------------------------------------------- */

static bool inflight_full(const struct raft *r, const struct progress *p)
{
	return p->inflight_n >= r->opt.max_inflight;
}

static void inflight_add(struct progress *p, raft_index last)
{
	RAFT_ASSERT(p->inflight_n < RAFT_MAX_INFLIGHT);
	/* Pipelined messages go out in log order. */
	RAFT_ASSERT(p->inflight_n == 0 ||
		    p->inflight[(p->inflight_head + p->inflight_n - 1) %
				RAFT_MAX_INFLIGHT] < last);
	unsigned slot = (p->inflight_head + p->inflight_n) % RAFT_MAX_INFLIGHT;
	p->inflight[slot] = last;
	p->inflight_n++;
}

static void inflight_free_upto(struct progress *p, raft_index match)
{
	while (p->inflight_n && p->inflight[p->inflight_head] <= match) {
		p->inflight_head = (p->inflight_head + 1) % RAFT_MAX_INFLIGHT;
		p->inflight_n--;
	}
}

static void inflight_reset(struct progress *p)
{
	p->inflight_head = p->inflight_n = 0;
}

static void become_probe(struct progress *p, raft_index next)
{
	p->mode = PROGRESS_PROBE;
	p->next = next > p->match ? next : p->match + 1;
	p->probe_sent = false;
	inflight_reset(p);
}

/* How many entries from `next` fit in one message. */
static unsigned batch_size(const struct raft *r, raft_index next)
{
	raft_index last = log_last_index(&r->log);
	size_t bytes = 0;
	unsigned n = 0;
	while (next + n <= last && n < r->opt.max_batch_entries) {
		bytes += log_get(&r->log, next + n)->data.len;
		if (n > 0 && bytes > r->opt.max_batch_bytes)
			break;
		n++;
	}
	return n;
}

static bool send_one_append(struct raft *r, struct progress *p)
{
	RAFT_ASSERT(r->state == RAFT_LEADER); /* only a leader appends */
	raft_index prev = p->next - 1;
	if (prev < r->log.offset) {
		snapshot_send(r, p); /* compacted away: only a snapshot helps */
		return false;
	}
	unsigned n = batch_size(r, p->next);
	struct raft_message *m = raft_msg_new(r, RAFT_MSG_APPEND, p->id);
	if (!m)
		return false;
	m->append.prev_index = prev;
	m->append.prev_term = log_term_at(&r->log, prev);
	m->append.commit = r->commit;
	m->append.n_entries = n;
	r->out_msg_first[r->n_out_msgs - 1] = p->next;
	if (p->mode == PROGRESS_REPLICATE && n) {
		p->next += n;
		inflight_add(p, p->next - 1);
	}
	return n > 0;
}

void replication_send_append(struct raft *r, struct progress *p)
{
	switch (p->mode) {
	case PROGRESS_SNAPSHOT:
		return;
	case PROGRESS_PROBE:
		if (p->probe_sent)
			return;
		send_one_append(r, p);
		p->probe_sent = p->mode == PROGRESS_PROBE;
		return;
	case PROGRESS_REPLICATE:
		while (p->next <= log_last_index(&r->log) &&
		       !inflight_full(r, p))
			if (!send_one_append(r, p))
				return;
		return;
	}
}

void replication_broadcast(struct raft *r)
{
	for (unsigned i = 0; i < r->n_peers; i++)
		replication_send_append(r, &r->peers[i]);
}

void replication_heartbeat(struct raft *r)
{
	RAFT_ASSERT(r->state == RAFT_LEADER);
	for (unsigned i = 0; i < r->n_peers; i++) {
		struct progress *p = &r->peers[i];
		struct raft_message *m = raft_msg_new(r, RAFT_MSG_HEARTBEAT,
						      p->id);
		if (!m)
			return;
		/* Never beyond what the follower is known to match: its log
		 * past that point may still hold entries of older leaders. */
		m->heartbeat.commit = p->match < r->commit ? p->match
							   : r->commit;
		m->heartbeat.read_seq = r->read_seq;
	}
	r->heartbeat_due = r->now + r->opt.heartbeat_interval;
}

void replication_tick(struct raft *r)
{
	if (r->state != RAFT_LEADER)
		return;
	for (unsigned i = 0; i < r->n_peers; i++)
		snapshot_tick(r, &r->peers[i]);
	if (r->now >= r->heartbeat_due)
		replication_heartbeat(r);
}

static int cmp_index_desc(const void *a, const void *b)
{
	raft_index x = *(const raft_index *)a, y = *(const raft_index *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The highest index stored on a quorum of voters. */
static raft_index quorum_match(const struct raft *r)
{
	raft_index m[RAFT_MAX_SERVERS];
	unsigned n = 0;
	if (raft_is_voter(r, r->id))
		m[n++] = replication_self_match(r);
	for (unsigned i = 0; i < r->n_peers; i++)
		if (raft_is_voter(r, r->peers[i].id))
			m[n++] = r->peers[i].match;
	unsigned q = raft_quorum(r);
	if (n < q)
		return 0;
	qsort(m, n, sizeof(m[0]), cmp_index_desc);
	return m[q - 1];
}

void replication_maybe_commit(struct raft *r)
{
	RAFT_ASSERT(r->state == RAFT_LEADER); /* only a leader counts */
	raft_index n = quorum_match(r);
	if (n <= r->commit)
		return;
	/* Matches are what followers acknowledged of this leader's log. */
	RAFT_ASSERT(n <= log_last_index(&r->log));
#ifndef RAFT_BROKEN_COMMIT_OLD_TERM
	/* Figure 2: only entries of the current term commit by counting. */
	if (log_term_at(&r->log, n) != r->term)
		return;
#endif
	r->commit = n;
	readindex_on_commit(r);
	/* A leader removed from the configuration leads until the change
	 * commits, then steps down (thesis §4.2.2). */
	if (r->config_index <= r->commit && !raft_is_voter(r, r->id))
		raft_become_follower(r, r->term, 0);
}

void replication_recv_append_resp(struct raft *r, const struct raft_message *m)
{
	if (r->state != RAFT_LEADER)
		return;
	struct progress *p = replication_peer(r, m->from);
	if (!p)
		return;
	p->last_contact = r->now;
	const struct raft_msg_append_resp *a = &m->append_resp;
	if (a->success) {
		if (a->match > log_last_index(&r->log))
			return; /* impossible for a follower of this term */
		/* In a term, a match only grows; it is reset only on a
		 * rejection below (a follower that lost its log). */
		if (a->match > p->match) {
			p->match = a->match;
			p->last_progress = r->now;
		}
		if (p->next <= p->match)
			p->next = p->match + 1;
		inflight_free_upto(p, p->match);
		if (p->mode == PROGRESS_PROBE) {
			p->mode = PROGRESS_REPLICATE;
			inflight_reset(p);
			p->next = p->match + 1;
		}
		replication_maybe_commit(r);
		if (r->state != RAFT_LEADER)
			return;
		election_transfer_progress(r, p);
		replication_send_append(r, p);
		return;
	}
	if (p->mode == PROGRESS_SNAPSHOT)
		return;
	/* A follower that still has what it acknowledged never hints below
	 * it (its terms there equal ours).  It lost entries it had made
	 * durable: its data dir was emptied to rejoin (what the damaged-log
	 * message tells the operator to do), or its disk lied about a sync.
	 * Forget its match, which only ever counted towards commits already
	 * made; kept, it would pin `next` above the follower's log and the
	 * follower would never get another entry from this leader. */
	if (a->hint_index < p->match)
		p->match = 0;
	/* Rejected: probe next at our last index at or before the hint
	 * whose term is no newer than the follower's there; each round trip
	 * skips at least a whole term of one of the two logs. */
	raft_index j = a->hint_index < log_last_index(&r->log)
			       ? a->hint_index
			       : log_last_index(&r->log);
	while (j > r->log.offset && log_term_at(&r->log, j) > a->hint_term)
		j--;
	raft_index next = j + 1;
	if (next >= p->next)
		next = p->next - 1; /* stale answer: still move back */
	become_probe(p, next);
	replication_send_append(r, p);
}

void replication_recv_heartbeat_resp(struct raft *r,
				     const struct raft_message *m)
{
	if (r->state != RAFT_LEADER)
		return;
	struct progress *p = replication_peer(r, m->from);
	if (!p)
		return;
	p->last_contact = r->now;
	if (m->heartbeat_resp.read_seq > p->read_ack) {
		p->read_ack = m->heartbeat_resp.read_seq;
		readindex_on_ack(r);
	}
	if (p->match >= log_last_index(&r->log))
		return;
	/* Lost messages: a stalled pipeline or probe is restarted from the
	 * last known match. */
	uint64_t stall = 2 * (uint64_t)r->opt.heartbeat_interval;
	if (p->mode == PROGRESS_PROBE) {
		p->probe_sent = false;
	} else if (p->mode == PROGRESS_REPLICATE &&
		   r->now >= p->last_progress + stall) {
		become_probe(p, p->match + 1);
		p->last_progress = r->now;
	}
	replication_send_append(r, p);
}

/* ---- follower side ------------------------------------------------------- */

void replication_heard_from_leader(struct raft *r, const struct raft_message *m)
{
	if (r->state != RAFT_FOLLOWER || r->leader != m->from)
		raft_become_follower(r, m->term, m->from);
	r->last_leader_contact = r->now;
	r->leader_down = false;
	r->early_until = 0;
	raft_reset_election_timer(r);
}

static void send_append_resp(struct raft *r, raft_id to, bool ok,
			     raft_index match, raft_index hint_index,
			     raft_term hint_term)
{
	struct raft_message *resp = raft_msg_new(r, RAFT_MSG_APPEND_RESP, to);
	if (!resp)
		return;
	resp->append_resp.success = ok;
	resp->append_resp.match = match;
	resp->append_resp.hint_index = hint_index;
	resp->append_resp.hint_term = hint_term;
}

/* Acknowledge what is both durable and verified equal to the leader's. */
void replication_follower_ack(struct raft *r)
{
	if (r->state != RAFT_FOLLOWER || !r->leader)
		return;
	raft_index m = r->persisted < r->matched_upto ? r->persisted
						      : r->matched_upto;
	if (m <= r->acked_upto)
		return;
	r->acked_upto = m;
	send_append_resp(r, r->leader, true, m, 0, 0);
}

/* Reject with a hint that lets the leader skip whole terms: our last
 * index at or before prev whose term is no newer than the leader's term at
 * prev.  Below that point the two logs may agree. */
static void reject_append(struct raft *r, const struct raft_message *m)
{
	raft_index hint = m->append.prev_index;
	if (hint > log_last_index(&r->log))
		hint = log_last_index(&r->log);
	while (hint > r->commit && hint > r->log.offset &&
	       log_term_at(&r->log, hint) > m->append.prev_term)
		hint--;
	send_append_resp(r, m->from, false, 0, hint,
			 log_term_at(&r->log, hint));
}

/* Store the entries of an accepted AppendEntries; drop our conflicting
 * suffix first (never a committed entry: that would break Raft). */
static bool store_entries(struct raft *r, const struct raft_message *m,
			  bool *config_touched)
{
	for (unsigned k = 0; k < m->append.n_entries; k++) {
		const struct raft_entry *e = &m->append.entries[k];
		if (e->index != m->append.prev_index + 1 + k)
			return false;
		if (e->index <= r->log.offset)
			continue; /* compacted, hence committed and equal */
		raft_term have = log_term_at(&r->log, e->index);
		if (have == e->term)
			continue;
		if (have != 0) {
			RAFT_ASSERT(e->index > r->commit);
			log_truncate_from(&r->log, e->index);
			replication_mark_dirty(r, e->index);
			if (e->index <= r->config_index)
				*config_touched = true;
		}
		if (e->type == RAFT_ENTRY_CONFIG) {
			*config_touched = true;
			struct raft_config c;
			if (raft_config_decode(e->data.base, e->data.len, &c))
				return false;
		}
		if (log_append(&r->log, e->term, e->type, e->data.base,
			       e->data.len)) {
			r->out_enomem = true;
			return false;
		}
		replication_mark_dirty(r, e->index);
	}
	return true;
}

/* What the leader says its commit is (a heartbeat's is a lower bound):
 * how far behind we are, for health checks (raft_leader_commit). */
static void note_leader_commit(struct raft *r, raft_index c)
{
	if (c > r->leader_commit)
		r->leader_commit = c;
}

void replication_recv_append(struct raft *r, const struct raft_message *m)
{
	replication_heard_from_leader(r, m);
	/* Only a follower of the sender, in its term, stores entries. */
	RAFT_ASSERT(r->state == RAFT_FOLLOWER && r->leader == m->from &&
		    r->term == m->term);
	note_leader_commit(r, m->append.commit);
	raft_index prev = m->append.prev_index;
	if (prev < r->commit) {
		/* Everything up to our commit already matches the leader's
		 * log; skip that part of the message. */
		if (r->commit > r->matched_upto)
			r->matched_upto = r->commit;
		if (prev + m->append.n_entries <= r->commit) {
			/* Claim only what is durable here: the leader's view
			 * of our log must survive our crash. */
			raft_index d = r->persisted < r->commit ? r->persisted
								: r->commit;
			send_append_resp(r, m->from, true, d, 0, 0);
			return;
		}
	} else if (prev > log_last_index(&r->log) ||
		   (prev >= r->log.offset &&
		    log_term_at(&r->log, prev) != m->append.prev_term)) {
		reject_append(r, m);
		return;
	}
	bool config_touched = false;
	bool ok = store_entries(r, m, &config_touched);
	if (config_touched)
		config_recompute(r);
	if (!ok)
		return; /* malformed or out of memory: the leader retries */
	raft_index last_new = prev + m->append.n_entries;
	if (last_new > r->matched_upto)
		r->matched_upto = last_new;
	raft_index c = m->append.commit < last_new ? m->append.commit
						   : last_new;
	if (c > r->commit)
		r->commit = c;
	/* Commit only what this log holds and matches the leader's. */
	RAFT_ASSERT(r->commit <= log_last_index(&r->log) &&
		    r->commit <= r->matched_upto);
	if (r->persisted >= last_new) {
		/* Answer even a duplicate: the first answer may be lost. */
		if (last_new > r->acked_upto)
			r->acked_upto = last_new;
		send_append_resp(r, m->from, true, last_new, 0, 0);
	} else
		replication_follower_ack(r);
}

void replication_recv_heartbeat(struct raft *r, const struct raft_message *m)
{
	replication_heard_from_leader(r, m);
	note_leader_commit(r, m->heartbeat.commit);
	raft_index c = m->heartbeat.commit;
	raft_index last = log_last_index(&r->log);
	if (c > last) {
		/* The leader sends min(commit, what we acknowledged): we lost
		 * acknowledged entries (an emptied data dir).  Say where our
		 * log ends, as a rejection does, or the leader, believing us
		 * caught up, would send nothing until its next proposal. */
		send_append_resp(r, m->from, false, 0, last,
				 log_term_at(&r->log, last));
		c = last;
	}
	if (c > r->commit)
		r->commit = c;
	struct raft_message *resp = raft_msg_new(r, RAFT_MSG_HEARTBEAT_RESP,
						 m->from);
	if (resp)
		resp->heartbeat_resp.read_seq = m->heartbeat.read_seq;
}

int replication_propose(struct raft *r, uint8_t type, const void *data,
			size_t len, struct raft_update *up)
{
	if (r->state != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (r->transfer_to)
		return RAFT_EBUSY;
	if (r->opt.max_entry_bytes && len > r->opt.max_entry_bytes)
		return RAFT_ETOOBIG;
	/* At most one uncommitted configuration (config_change checks). */
	RAFT_ASSERT(type != RAFT_ENTRY_CONFIG || r->config_index <= r->commit);
	if (log_append(&r->log, r->term, type, data, len))
		return RAFT_ENOMEM;
	raft_index index = log_last_index(&r->log);
	replication_mark_dirty(r, index);
	if (type == RAFT_ENTRY_CONFIG)
		config_recompute(r);
	up->proposed_index = index;
	up->proposed_term = r->term;
	replication_broadcast(r);
	replication_maybe_commit(r);
	return RAFT_OK;
}
