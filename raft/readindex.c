/*
 * readindex.c — linearizable reads without writing to the log (thesis
 * §6.4).  A read is answered at the commit index the leader had when the
 * read arrived, once (1) the leader has committed an entry of its own term,
 * so that commit index is really the cluster's, (2) a quorum answered a
 * heartbeat sent after the read arrived, so no newer leader existed then,
 * and (3) the state machine has applied up to that index.  A read index is
 * never carried across a leader change: stepping down fails every pending
 * read.
 *
 * One round at a time: a read that arrives while a round is out waits for
 * the next one, started when the round out is answered by a quorum.  A
 * round per read would send a heartbeat to every peer per read and check
 * every pending read at every answer: after a leader change, when
 * thousands of clients re-read at once, that is quadratic work in the
 * loop that must also keep the heartbeats on time.
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

static bool term_committed(const struct raft *r)
{
	return r->commit >= r->term_start_index;
}

/* Start a heartbeat round that confirms every read that has an index. */
static void start_round(struct raft *r)
{
	RAFT_ASSERT(r->state == RAFT_LEADER);
	r->read_seq++;
	for (unsigned i = 0; i < r->n_reads; i++)
		if (r->reads[i].index && !r->reads[i].seq)
			r->reads[i].seq = r->read_seq;
	replication_heartbeat(r);
	readindex_on_ack(r); /* a single voter confirms itself */
}

/* A round was started that no quorum has answered yet. */
static bool round_out(const struct raft *r)
{
	return r->read_seq > r->read_confirmed;
}

int readindex_request(struct raft *r, uint64_t id)
{
	if (r->state != RAFT_LEADER)
		return RAFT_ENOTLEADER;
	if (r->n_reads == r->cap_reads) {
		unsigned cap = r->cap_reads ? r->cap_reads * 2 : 16;
		void *p = realloc(r->reads, cap * sizeof(*r->reads));
		if (!p)
			return RAFT_ENOMEM;
		r->reads = p;
		r->cap_reads = cap;
	}
	struct pending_read *rd = &r->reads[r->n_reads++];
	memset(rd, 0, sizeof(*rd));
	rd->id = id;
	if (term_committed(r)) {
		rd->index = r->commit;
		if (!round_out(r))
			start_round(r);
	}
	return RAFT_OK;
}

/* The term's first entry committed: reads that waited for it get the
 * commit index and a confirmation round. */
void readindex_on_commit(struct raft *r)
{
	if (!term_committed(r))
		return;
	bool waiting = false;
	for (unsigned i = 0; i < r->n_reads; i++) {
		/* A read's index, once set, is this term's commit index. */
		RAFT_ASSERT(r->reads[i].index <= r->commit);
		if (!r->reads[i].index) {
			r->reads[i].index = r->commit;
			waiting = true;
		}
	}
	if (waiting && !round_out(r))
		start_round(r);
}

/* The newest round a quorum of voters has answered (the leader answers
 * its own at once); 0 when the voters here are fewer than a quorum. */
static uint64_t quorum_seq(const struct raft *r)
{
	uint64_t acks[RAFT_MAX_SERVERS + 1];
	unsigned n = 0, q = raft_quorum(r);

	if (raft_is_voter(r, r->id))
		acks[n++] = r->read_seq;
	for (unsigned i = 0; i < r->n_peers; i++)
		if (raft_is_voter(r, r->peers[i].id))
			acks[n++] = r->peers[i].read_ack;
	if (q == 0 || n < q)
		return 0;
	/* the q-th largest: sort descending (a handful of voters) */
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && acks[j] > acks[j - 1]; j--) {
			uint64_t t = acks[j];
			acks[j] = acks[j - 1];
			acks[j - 1] = t;
		}
	return acks[q - 1];
}

void readindex_on_ack(struct raft *r)
{
	uint64_t seq = quorum_seq(r);
	bool waiting = false;

	if (seq <= r->read_confirmed)
		return;
	r->read_confirmed = seq;
	for (unsigned i = 0; i < r->n_reads; i++) {
		struct pending_read *rd = &r->reads[i];
		if (rd->seq && rd->seq <= seq && !rd->confirmed) {
			rd->confirmed = true;
			r->reads_newly_confirmed = true;
		} else if (rd->index && !rd->seq)
			waiting = true;
	}
	if (waiting && !round_out(r))
		start_round(r);
}

void readindex_fail_all(struct raft *r, int status)
{
	for (unsigned i = 0; i < r->n_reads; i++)
		raft_read_result(r, r->reads[i].id, 0, status);
	r->n_reads = 0;
}

/* Hand out confirmed reads whose index the application has applied. */
void readindex_collect(struct raft *r)
{
	unsigned keep = 0;

	/* Called after every event: with thousands of reads pending (a
	 * reconnect storm), a scan each time would be quadratic.  Only a
	 * newly confirmed read or a newly applied entry can free one. */
	if (!r->reads_newly_confirmed && r->applied == r->reads_collected_at &&
	    !r->snap_installing)
		return;
	r->reads_newly_confirmed = false;
	r->reads_collected_at = r->applied;
	for (unsigned i = 0; i < r->n_reads; i++) {
		struct pending_read *rd = &r->reads[i];
		if (rd->confirmed && rd->index <= r->applied &&
		    !r->snap_installing)
			raft_read_result(r, rd->id, rd->index, RAFT_OK);
		else
			r->reads[keep++] = *rd;
	}
	r->n_reads = keep;
}
