/*
 * snapsend.c — snapshots inside the core: compaction when the application
 * has snapshotted its state, InstallSnapshot sent in chunks (stop-and-wait,
 * resumable at the offset the follower reports), and installation of a
 * received snapshot.  The core keeps the newest snapshot's bytes so it can
 * serve them to lagging followers without asking the caller.
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

/* Refuse snapshots larger than this from a peer: a corrupt total must not
 * make us allocate the machine's memory. */
#define SNAPSHOT_MAX_BYTES (1ull << 32)

int snapshot_taken(struct raft *r, const struct raft_event *ev)
{
	raft_index index = ev->snapshot.index;
	if (r->snap_installing)
		return RAFT_EBUSY;
	if (index > r->applied)
		return RAFT_EINVAL;
	if (index <= r->snap_index)
		return RAFT_OK;
	struct raft_config c;
	if (!config_at(r, index, &c))
		return RAFT_EINVAL;
	void *copy = NULL;
	if (ev->snapshot.data.len) {
		copy = malloc(ev->snapshot.data.len);
		if (!copy)
			return RAFT_ENOMEM;
		memcpy(copy, ev->snapshot.data.base, ev->snapshot.data.len);
	}
	r->snap_term = log_term_at(&r->log, index);
	r->snap_index = index;
	r->snap_config = c;
	free(r->snap_data.base);
	r->snap_data.base = copy;
	r->snap_data.len = ev->snapshot.data.len;
	r->durable_snap_index = index; /* the caller stored it */
	/* Keep `trailing` entries, and every entry not yet durable: it
	 * still has to be handed out for writing. */
	raft_index trailing = ev->snapshot.trailing;
	raft_index upto = index > trailing ? index - trailing : 0;
	if (upto > r->persisted)
		upto = r->persisted;
	if (upto > r->log.offset)
		log_compact_upto(&r->log, upto);
	return RAFT_OK;
}

static void send_chunk(struct raft *r, struct progress *p)
{
	struct raft_message *m = raft_msg_new(r, RAFT_MSG_SNAPSHOT, p->id);
	if (!m)
		return;
	uint64_t total = r->snap_data.len;
	RAFT_ASSERT(p->snap_offset <= total); /* checked on each answer */
	uint64_t len = total - p->snap_offset;
	if (len > r->opt.snapshot_chunk)
		len = r->opt.snapshot_chunk;
	m->snapshot.index = r->snap_index;
	m->snapshot.term = r->snap_term;
	m->snapshot.config = r->snap_config;
	m->snapshot.offset = p->snap_offset;
	m->snapshot.total = total;
	m->snapshot.chunk.base = total ? (unsigned char *)r->snap_data.base +
						 p->snap_offset
				       : NULL;
	m->snapshot.chunk.len = len;
	m->snapshot.done = p->snap_offset + len == total;
	p->snap_sent_at = r->now;
}

void snapshot_send(struct raft *r, struct progress *p)
{
	RAFT_ASSERT(r->state == RAFT_LEADER);
	/* Whatever was compacted away is covered by the snapshot we hold. */
	RAFT_ASSERT(r->snap_index >= r->log.offset && r->snap_index > 0);
	p->mode = PROGRESS_SNAPSHOT;
	p->snap_index = r->snap_index;
	p->snap_offset = 0;
	p->inflight_head = p->inflight_n = 0;
	send_chunk(r, p);
}

/* Resend a chunk whose answer was lost; restart when a newer snapshot
 * replaced the one being sent. */
void snapshot_tick(struct raft *r, struct progress *p)
{
	if (p->mode != PROGRESS_SNAPSHOT)
		return;
	if (p->snap_index != r->snap_index) {
		snapshot_send(r, p);
		return;
	}
	if (r->now >= p->snap_sent_at + r->opt.election_timeout / 2)
		send_chunk(r, p);
}

static void send_resp(struct raft *r, raft_id to, raft_index index,
		      uint64_t received, bool done)
{
	struct raft_message *m = raft_msg_new(r, RAFT_MSG_SNAPSHOT_RESP, to);
	if (!m)
		return;
	m->snapshot_resp.index = index;
	m->snapshot_resp.received = received;
	m->snapshot_resp.done = done;
}

static void install(struct raft *r)
{
	struct incoming_snapshot *in = &r->in_snap;
	/* Never back: snapshot_recv answers older snapshots without
	 * installing them, so commit and applied only grow. */
	RAFT_ASSERT(in->index > r->commit && r->commit >= r->applied);
	RAFT_ASSERT(in->received == in->total && !r->snap_installing);
	free(r->snap_data.base);
	r->snap_data.base = in->data;
	r->snap_data.len = in->total;
	in->data = NULL;
	r->snap_index = in->index;
	r->snap_term = in->term;
	r->snap_config = in->config;
	log_reset(&r->log, in->index, in->term);
	r->commit = r->applied = in->index;
	/* Nothing of the new log is durable before the snapshot write
	 * completes; what the disk's current snapshot covers stays. */
	if (r->persisted > r->durable_snap_index)
		r->persisted = r->durable_snap_index;
	if (in->index > r->matched_upto)
		r->matched_upto = in->index;
	config_recompute(r);
	r->dirty_from = 0; /* the log is gone; nothing of it to write */
	r->snap_dirty = true;
	r->snap_installing = true;
	memset(in, 0, sizeof(*in));
}

void snapshot_recv(struct raft *r, const struct raft_message *m)
{
	const struct raft_msg_snapshot *s = &m->snapshot;
	struct incoming_snapshot *in = &r->in_snap;
	replication_heard_from_leader(r, m);
	if (s->index <= r->commit) {
		/* Already have it; claim only what is durable here. */
		raft_index d = r->persisted < r->commit ? r->persisted
							: r->commit;
		send_resp(r, m->from, d, 0, true);
		return;
	}
	if (r->snap_installing)
		return; /* answered when the install is durable */
	if (s->total > SNAPSHOT_MAX_BYTES || s->offset > s->total ||
	    s->chunk.len > s->total - s->offset || s->index == 0)
		return;
	if (s->offset == 0 && (in->index != s->index || in->received)) {
		free(in->data);
		memset(in, 0, sizeof(*in));
		in->data = malloc(s->total ? s->total : 1);
		if (!in->data) {
			r->out_enomem = true;
			return;
		}
		in->index = s->index;
		in->term = s->term;
		in->config = s->config;
		in->total = s->total;
	}
	if (in->index != s->index || s->offset != in->received ||
	    in->total != s->total) {
		send_resp(r, m->from, s->index,
			  in->index == s->index ? in->received : 0, false);
		return;
	}
	if (s->chunk.len)
		memcpy(in->data + in->received, s->chunk.base, s->chunk.len);
	in->received += s->chunk.len;
	if (in->received < in->total || !s->done) {
		send_resp(r, m->from, s->index, in->received, false);
		return;
	}
	install(r);
}

/* The received snapshot is durable and loaded: tell the leader. */
void snapshot_installed(struct raft *r)
{
	RAFT_ASSERT(r->snap_installing);
	r->snap_installing = false;
	if (r->state == RAFT_FOLLOWER && r->leader)
		send_resp(r, r->leader, r->snap_index, r->snap_data.len, true);
}

void snapshot_recv_resp(struct raft *r, const struct raft_message *m)
{
	if (r->state != RAFT_LEADER)
		return;
	struct progress *p = replication_peer(r, m->from);
	if (!p)
		return;
	const struct raft_msg_snapshot_resp *s = &m->snapshot_resp;
	p->last_contact = r->now;
	if (s->done) {
		if (s->index > log_last_index(&r->log))
			return;
		if (s->index > p->match) {
			p->match = s->index;
			p->last_progress = r->now;
		}
		if (p->mode == PROGRESS_SNAPSHOT) {
			p->mode = PROGRESS_PROBE;
			p->probe_sent = false;
			p->next = p->match + 1;
		}
		replication_maybe_commit(r);
		if (r->state == RAFT_LEADER)
			replication_send_append(r, p);
		return;
	}
	if (p->mode != PROGRESS_SNAPSHOT || s->index != p->snap_index)
		return;
	if (s->received > r->snap_data.len)
		return;
	p->snap_offset = s->received;
	if (p->snap_offset < r->snap_data.len)
		send_chunk(r, p);
}
