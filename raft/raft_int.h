/*
 * raft_int.h — internals shared by the files of the Raft core.  Nothing here
 * is part of the public contract (see raft.h).
 *
 * File map: core.c (lifecycle, event dispatch, update assembly, roles),
 * log.c (in-memory log), config.c (membership), election.c (PreVote, votes,
 * CheckQuorum, TimeoutNow), replication.c (AppendEntries, commit, durable
 * write tracking), readindex.c (linearizable reads), snapsend.c (snapshots:
 * compaction, InstallSnapshot in chunks).
 *
 * Errors: as raft.h, RAFT_OK or a positive RAFT_E* code; what only a core
 * bug can cause is a RAFT_ASSERT, which aborts.
 */
#ifndef TENURE_RAFT_INT_H
#define TENURE_RAFT_INT_H

#include "raft/raft.h"

/* Invariant checks stay on in release builds: a lease service must stop
 * rather than continue in a state it believes impossible. */
#define RAFT_ASSERT(cond)                                      \
	do {                                                   \
		if (!(cond))                                   \
			raft_fatal(__FILE__, __LINE__, #cond); \
	} while (0)
_Noreturn void raft_fatal(const char *file, int line, const char *what);

/* ---- log.c: entries (offset, last], contiguous, each owning its data ---- */
struct raft_log {
	struct raft_entry *entries;
	size_t n;
	size_t cap;
	raft_index offset;     /* index just before entries[0] */
	raft_term offset_term; /* its term (0 when offset is 0) */
};

void log_init(struct raft_log *l, raft_index offset, raft_term offset_term);
void log_free(struct raft_log *l);
raft_index log_last_index(const struct raft_log *l);
raft_term log_last_term(const struct raft_log *l);
raft_term log_term_at(const struct raft_log *l, raft_index i); /* 0: n/a */
struct raft_entry *log_get(const struct raft_log *l, raft_index i);
/* Copies data; the entry gets index last+1. */
int log_append(struct raft_log *l, raft_term term, uint8_t type,
	       const void *data, size_t len);
void log_truncate_from(struct raft_log *l, raft_index i); /* drop >= i */
void log_compact_upto(struct raft_log *l, raft_index i);  /* drop <= i */
void log_reset(struct raft_log *l, raft_index offset, raft_term term);

/* ---- leader's view of one peer --------------------------------------- */
enum progress_mode {
	PROGRESS_PROBE = 1, /* one AppendEntries at a time, find next */
	PROGRESS_REPLICATE, /* optimistic pipeline, bounded in flight */
	PROGRESS_SNAPSHOT,  /* InstallSnapshot chunks, stop-and-wait */
};

#define RAFT_MAX_INFLIGHT 256

struct progress {
	raft_id id;
	int mode;
	raft_index match;
	raft_index next;
	bool probe_sent;
	uint64_t last_contact;  /* any response in this term */
	uint64_t last_progress; /* match last increased */
	uint64_t read_ack;      /* highest ReadIndex round confirmed */
	/* Last index of each AppendEntries in flight, oldest first. */
	raft_index inflight[RAFT_MAX_INFLIGHT];
	unsigned inflight_head, inflight_n;
	/* snapshot transfer */
	raft_index snap_index;
	uint64_t snap_offset;
	uint64_t snap_sent_at;
};

/* A durable write handed to the caller and not yet completed. */
struct pending_write {
	uint64_t seq;
	raft_index first; /* log after the write: snapshot/log up to .last */
	raft_index last;
	bool snapshot;
};

struct pending_read {
	uint64_t id;
	raft_index index; /* 0 until the term's first entry commits */
	uint64_t seq;     /* heartbeat round confirming it, 0 if none yet */
	bool confirmed;
};

struct incoming_snapshot {
	raft_index index;
	raft_term term;
	struct raft_config config;
	uint64_t total;
	uint64_t received;
	unsigned char *data;
};

struct raft {
	struct raft_options opt;
	raft_id id;
	uint64_t prng;
	uint64_t now;

	/* persistent state (durable copy may lag while hs_dirty) */
	raft_term term;
	raft_id voted_for;
	bool hs_dirty; /* in-memory hard state not yet durable */

	int state;
	raft_id leader;
	raft_index commit;
	raft_index applied; /* handed to the application */

	struct raft_log log;

	/* snapshot: the newest one this node holds, served to followers */
	raft_index snap_index;
	raft_term snap_term;
	struct raft_config snap_config;
	struct raft_buf snap_data;

	/* membership: the newest configuration in the log is in force */
	struct raft_config config;
	raft_index config_index; /* entry holding it; snap_index if none */

	/* durable writes */
	uint64_t next_seq;
	struct pending_write *writes;
	unsigned n_writes, cap_writes;
	raft_index persisted;     /* durable prefix of the in-memory log */
	raft_index dirty_from;    /* lowest index not yet handed out for
				  * writing, 0 when none */
	bool disk_failed;         /* a write failed and is not yet redone */
	uint64_t disk_hold_until; /* after a failure, writes wait until */
	raft_index durable_snap_index;
	bool snap_installing; /* received snapshot not yet durable */
	bool snap_dirty;      /* it must (still) be handed out */
	uint64_t snap_install_seq;
	bool snap_install_issue; /* emitted in this step's update */

	/* follower */
	uint64_t election_deadline;
	uint64_t last_leader_contact;
	bool leader_down; /* RAFT_EV_PEER_DOWN of r->leader, not heard since */
	/* The first campaigner after a PEER_DOWN asks again soon, until
	 * then, when a PreVote is refused (election.c) */
	uint64_t early_until;
	raft_index matched_upto;  /* verified equal to the leader's log */
	raft_index acked_upto;    /* highest match acknowledged to it */
	raft_index leader_commit; /* highest commit the current leader has
				   * told us, 0 until it tells (reset when
				   * the leader changes) */
	struct incoming_snapshot in_snap;

	/* candidate */
	raft_id votes_for_me[RAFT_MAX_SERVERS];
	raft_id votes_against[RAFT_MAX_SERVERS];
	unsigned n_votes_for, n_votes_against;
	bool campaign_transfer;

	/* leader */
	struct progress peers[RAFT_MAX_SERVERS];
	unsigned n_peers;
	uint64_t heartbeat_due;
	uint64_t quorum_check_at;
	raft_index term_start_index; /* the no-op of this term */
	raft_id transfer_to;
	uint64_t transfer_deadline;

	/* reads */
	struct pending_read *reads;
	unsigned n_reads, cap_reads;
	uint64_t read_seq;
	uint64_t read_confirmed;     /* newest round a quorum answered */
	bool reads_newly_confirmed;  /* since the last readindex_collect */
	uint64_t reads_collected_at; /* applied at the last collect */

	/* update under construction */
	struct raft_message *out_msgs;
	raft_index *out_msg_first; /* APPEND: index of entries[0] */
	unsigned n_out_msgs, cap_out_msgs;
	struct raft_read_result *out_reads;
	unsigned n_out_reads, cap_out_reads;
	bool out_state_changed;
	bool out_enomem;
};

/* ---- core.c ------------------------------------------------------------ */
uint64_t raft_random(struct raft *r);
void raft_reset_election_timer(struct raft *r);
void raft_become_follower(struct raft *r, raft_term term, raft_id leader);
void raft_become_precandidate(struct raft *r);
void raft_become_candidate(struct raft *r, bool transfer);
void raft_become_leader(struct raft *r);
struct raft_message *raft_msg_new(struct raft *r, uint8_t type, raft_id to);
void raft_read_result(struct raft *r, uint64_t id, raft_index index,
		      int status);
bool raft_is_voter(const struct raft *r, raft_id id);
bool raft_may_campaign(const struct raft *r);
unsigned raft_quorum(const struct raft *r);

/* ---- config.c ------------------------------------------------------------ */
void config_recompute(struct raft *r);
int config_change(struct raft *r, const struct raft_event *ev,
		  struct raft_update *up);
void config_sync_peers(struct raft *r);
bool config_at(const struct raft *r, raft_index index, struct raft_config *out);

/* ---- election.c -------------------------------------------------------- */
void election_tick(struct raft *r);
void election_recv_vote(struct raft *r, const struct raft_message *m);
void election_recv_vote_resp(struct raft *r, const struct raft_message *m);
void election_recv_timeout_now(struct raft *r, const struct raft_message *m);
bool election_in_lease(const struct raft *r);
void election_peer_down(struct raft *r, raft_id id);
void election_check_quorum(struct raft *r);
int election_transfer(struct raft *r, raft_id to);
void election_transfer_progress(struct raft *r, struct progress *p);

/* ---- replication.c ----------------------------------------------------- */
struct progress *replication_peer(struct raft *r, raft_id id);
void replication_send_append(struct raft *r, struct progress *p);
void replication_broadcast(struct raft *r);
void replication_heartbeat(struct raft *r);
void replication_tick(struct raft *r);
void replication_recv_append(struct raft *r, const struct raft_message *m);
void replication_recv_append_resp(struct raft *r, const struct raft_message *m);
void replication_recv_heartbeat(struct raft *r, const struct raft_message *m);
void replication_recv_heartbeat_resp(struct raft *r,
				     const struct raft_message *m);
void replication_maybe_commit(struct raft *r);
void replication_heard_from_leader(struct raft *r,
				   const struct raft_message *m);
void replication_mark_dirty(struct raft *r, raft_index from);
void replication_persisted(struct raft *r, uint64_t seq);
void replication_persist_failed(struct raft *r, uint64_t seq, bool hard_state);
void replication_follower_ack(struct raft *r);
raft_index replication_self_match(const struct raft *r);
int replication_propose(struct raft *r, uint8_t type, const void *data,
			size_t len, struct raft_update *up);
uint64_t replication_queue_write(struct raft *r, raft_index first,
				 raft_index last, bool snapshot);

/* ---- readindex.c ------------------------------------------------------- */
int readindex_request(struct raft *r, uint64_t id);
void readindex_on_commit(struct raft *r);
void readindex_on_ack(struct raft *r);
void readindex_fail_all(struct raft *r, int status);
void readindex_collect(struct raft *r);

/* ---- snapsend.c -------------------------------------------------------- */
int snapshot_taken(struct raft *r, const struct raft_event *ev);
void snapshot_send(struct raft *r, struct progress *p);
void snapshot_tick(struct raft *r, struct progress *p);
void snapshot_recv(struct raft *r, const struct raft_message *m);
void snapshot_recv_resp(struct raft *r, const struct raft_message *m);
void snapshot_installed(struct raft *r);

#endif /* TENURE_RAFT_INT_H */
