/*
 * raft.h — the Raft core of tenure: a pure, deterministic state machine.
 *
 * Contract
 * --------
 * The core does no I/O, reads no clock, draws no randomness of its own and
 * starts no threads.  Everything that happens to a node enters through one
 * call, raft_step(r, event, update): the current monotonic time (every event
 * carries it), received messages, completions of durable writes, proposals,
 * ReadIndex requests, leadership-transfer and membership requests.  What the
 * node wants done leaves through the update:
 *
 *   1. hard_state  — if update->hard_state_changed, write term and vote
 *                    DURABLY before sending any message of this update.  If
 *                    that write fails, drop this update's messages and step
 *                    RAFT_EV_PERSIST_FAILED with .hard_state = true.
 *   2. persist     — if update->persist.n_entries or .truncate: append these
 *                    entries to the durable log in the order the updates were
 *                    produced, after discarding every entry with index >=
 *                    persist.first.  When the write is durable, step
 *                    RAFT_EV_PERSISTED with its seq (completions in seq
 *                    order).  On failure, leave the durable log as it was
 *                    before this write (a prefix), fail every later write,
 *                    and step RAFT_EV_PERSIST_FAILED with the first failed
 *                    seq.  Writes may run off the caller's thread, in
 *                    parallel with sending messages: the core never
 *                    acknowledges an entry before its PERSISTED event.
 *   3. snapshot    — if update->snapshot.present: a snapshot received from
 *                    the leader.  Persist it (replacing the whole log), load
 *                    it into the state machine, then step RAFT_EV_PERSISTED
 *                    with its seq (it is ordered with the log writes).
 *   4. messages    — send them (best effort; Raft tolerates loss).
 *   5. apply       — apply these committed entries to the state machine, in
 *                    order, before the reads below are served.
 *   6. reads       — ReadIndex results: serve read `id` now (status 0), or
 *                    fail it (status RAFT_ENOTLEADER / RAFT_ESHUTDOWN).
 *
 * Every pointer in the update stays valid until the next raft_step() or
 * raft_close() on the same node; copy what must live longer.  One raft
 * struct must not be stepped from two threads at once.
 *
 * Time is milliseconds on a monotonic clock chosen by the caller (the
 * simulator uses simulated time).  Randomness (election timeouts) comes from
 * a PRNG seeded by raft_init().
 *
 * Errors: functions return RAFT_OK (0) or a positive enum raft_error
 * (raft_strerror words it); nothing is logged, as the core does no I/O.
 *
 * Assertions (RAFT_ASSERT, on in every build) check the preconditions each
 * handler relies on and, after every raft_step, that term, vote, commit and
 * applied never go back and the log's bookkeeping is consistent; also caller
 * errors such as completing a write never handed out.  A failed one prints
 * the condition and aborts the process on purpose: stopping is safer than
 * handing out leases from a state the core believes impossible.
 */
#ifndef TENURE_RAFT_H
#define TENURE_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t raft_id; /* node id, never 0 */
typedef uint64_t raft_term;
typedef uint64_t raft_index;

#define RAFT_MAX_SERVERS 9
#define RAFT_ADDR_MAX 64

/* Error codes: one enum, one message table (raft_strerror). */
enum raft_error {
	RAFT_OK = 0,
	RAFT_ENOTLEADER = 1, /* request must go to the leader */
	RAFT_EBUSY = 2,      /* transfer or config change in progress, or
			      * (config change) no entry of the
			      * leader's term committed yet */
	RAFT_ENOMEM = 3,
	RAFT_EINVAL = 4,       /* malformed event or argument */
	RAFT_ENOTCAUGHTUP = 5, /* learner too far behind to become a voter */
	RAFT_ENOTFOUND = 6,    /* no such server in the configuration */
	RAFT_ESHUTDOWN = 7,    /* node is closing */
	RAFT_ETOOBIG = 8,      /* entry larger than the configured maximum */
	RAFT_ERROR_COUNT
};
const char *raft_strerror(int code);

/* ---- Log entries -------------------------------------------------------- */

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 1, /* application command */
	RAFT_ENTRY_NOOP = 2,   /* appended by each new leader */
	RAFT_ENTRY_CONFIG = 3, /* encoded struct raft_config */
};

struct raft_buf {
	void *base;
	size_t len;
};

struct raft_entry {
	raft_term term;
	raft_index index;
	uint8_t type;
	struct raft_buf data;
};

/* ---- Cluster configuration ---------------------------------------------- */

enum raft_server_role {
	RAFT_VOTER = 1,
	RAFT_LEARNER = 2, /* receives the log, does not vote or count */
};

struct raft_server {
	raft_id id;
	uint8_t role;
	char addr[RAFT_ADDR_MAX]; /* opaque to the core, NUL-terminated */
};

struct raft_config {
	unsigned n;
	struct raft_server servers[RAFT_MAX_SERVERS];
};

/* Deterministic encoding used inside RAFT_ENTRY_CONFIG entries and in
 * snapshots.  encode returns the bytes written (buf may be NULL to size). */
size_t raft_config_encode(const struct raft_config *c, void *buf, size_t cap);
int raft_config_decode(const void *buf, size_t len, struct raft_config *c);
const struct raft_server *raft_config_get(const struct raft_config *c,
					  raft_id id);
unsigned raft_config_voters(const struct raft_config *c);

/* ---- Messages ----------------------------------------------------------- */

enum raft_msg_type {
	RAFT_MSG_APPEND = 1,
	RAFT_MSG_APPEND_RESP,
	RAFT_MSG_HEARTBEAT,
	RAFT_MSG_HEARTBEAT_RESP,
	RAFT_MSG_VOTE, /* also PreVote, see .prevote */
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_SNAPSHOT, /* one chunk of InstallSnapshot */
	RAFT_MSG_SNAPSHOT_RESP,
	RAFT_MSG_TIMEOUT_NOW,
	RAFT_MSG_TYPE_COUNT
};

struct raft_msg_append {
	raft_index prev_index;
	raft_term prev_term;
	raft_index commit;
	unsigned n_entries;
	const struct raft_entry *entries;
};

struct raft_msg_append_resp {
	bool success;
	raft_index match;      /* success: last index known to match */
	raft_index hint_index; /* reject: where the leader should look */
	raft_term hint_term;   /* reject: follower's term at hint_index, or 0 */
};

struct raft_msg_heartbeat {
	raft_index commit; /* never above the receiver's known match */
	uint64_t read_seq; /* ReadIndex round being confirmed */
};

struct raft_msg_heartbeat_resp {
	uint64_t read_seq;
};

struct raft_msg_vote {
	raft_index last_index;
	raft_term last_term;
	bool prevote;  /* .term is the term the candidate would take */
	bool transfer; /* election forced by a leadership transfer */
};

struct raft_msg_vote_resp {
	bool granted;
	bool prevote;
};

struct raft_msg_snapshot {
	raft_index index; /* last index covered by the snapshot */
	raft_term term;   /* its term */
	struct raft_config config;
	uint64_t offset; /* of this chunk in the snapshot data */
	uint64_t total;  /* size of the whole snapshot data */
	struct raft_buf chunk;
	bool done; /* last chunk */
};

struct raft_msg_snapshot_resp {
	raft_index index;  /* snapshot being acknowledged */
	uint64_t received; /* bytes received so far (next offset wanted) */
	bool done;         /* installed and durable; .index is the match */
};

struct raft_message {
	uint8_t type;
	raft_id from;
	raft_id to;
	raft_term term;
	union {
		struct raft_msg_append append;
		struct raft_msg_append_resp append_resp;
		struct raft_msg_heartbeat heartbeat;
		struct raft_msg_heartbeat_resp heartbeat_resp;
		struct raft_msg_vote vote;
		struct raft_msg_vote_resp vote_resp;
		struct raft_msg_snapshot snapshot;
		struct raft_msg_snapshot_resp snapshot_resp;
	};
};

const char *raft_msg_type_name(uint8_t type);

/* ---- Events ------------------------------------------------------------- */

enum raft_event_type {
	RAFT_EV_TICK = 1,       /* only time passes */
	RAFT_EV_RECEIVE,        /* .receive: a message from a peer */
	RAFT_EV_PERSISTED,      /* .persisted: write .seq is durable */
	RAFT_EV_PERSIST_FAILED, /* .persist_failed */
	RAFT_EV_PROPOSE,        /* .propose: leader only */
	RAFT_EV_READ_INDEX,     /* .read: linearizable read, leader only */
	RAFT_EV_TRANSFER,       /* .transfer: hand leadership to .to */
	RAFT_EV_SNAPSHOT_TAKEN, /* .snapshot: app snapshotted its state */
	RAFT_EV_CHANGE_CONFIG,  /* .change: single-server change */
	RAFT_EV_PEER_DOWN,      /* .peer_down: its connection ended */
};

enum raft_change_op {
	RAFT_CHANGE_ADD_LEARNER = 1, /* add .id/.addr as a non-voter */
	RAFT_CHANGE_PROMOTE,         /* learner .id becomes a voter once
				      * caught up (else RAFT_ENOTCAUGHTUP) */
	RAFT_CHANGE_REMOVE,          /* remove .id (voter or learner) */
};

struct raft_event {
	uint8_t type;
	uint64_t now; /* monotonic milliseconds, never decreasing */
	union {
		struct {
			const struct raft_message *msg;
		} receive;
		struct {
			uint64_t seq;
		} persisted;
		struct {
			uint64_t seq; /* first failed write, if !hard_state */
			bool hard_state;
			int err; /* errno-style, for logging only */
		} persist_failed;
		struct {
			uint8_t type;         /* RAFT_ENTRY_NORMAL */
			struct raft_buf data; /* copied by the core */
		} propose;
		struct {
			uint64_t id; /* caller's handle, echoed in the result */
		} read;
		struct {
			raft_id to; /* 0: pick the most caught-up voter */
		} transfer;
		/* The caller's connection to peer .id ended, as the kernel
		 * ends it when that process dies.  When .id is this
		 * follower's leader, it no longer counts that leader as heard
		 * (it grants PreVotes), and the voter with the lowest id
		 * other than .id campaigns an eighth of an election timeout
		 * later instead of after a whole one (one only: the
		 * followers learn it at the same moment and would split the
		 * vote).  Safe to send
		 * spuriously: a leader that lives is still heard by the
		 * others, who refuse the PreVote, and its next message makes
		 * this node its follower again. */
		struct {
			raft_id id;
		} peer_down;
		struct {
			raft_index index; /* last entry included */
			/* Snapshot bytes, copied by the core, sent to lagging
			 * followers in chunks. */
			struct raft_buf data;
			/* Entries to keep in memory before .index so that
			 * slightly lagging followers need no snapshot. */
			raft_index trailing;
		} snapshot;
		struct {
			uint8_t op;
			raft_id id;
			char addr[RAFT_ADDR_MAX];
		} change;
	};
};

/* ---- Updates ------------------------------------------------------------ */

enum raft_state {
	RAFT_FOLLOWER = 1,
	RAFT_PRECANDIDATE,
	RAFT_CANDIDATE,
	RAFT_LEADER,
};
const char *raft_state_name(int state);

struct raft_read_result {
	uint64_t id;
	raft_index index; /* the read sees every entry up to here */
	int status;       /* 0, RAFT_ENOTLEADER or RAFT_ESHUTDOWN */
};

struct raft_update {
	/* 1. durable before any message of this update is sent */
	bool hard_state_changed;
	raft_term term;
	raft_id voted_for;

	/* 2. log write (see contract above) */
	struct {
		uint64_t seq;     /* 0: nothing to write */
		raft_index first; /* discard entries >= first, then append */
		unsigned n_entries;
		const struct raft_entry *entries;
	} persist;

	/* 3. snapshot received from the leader, to persist and install */
	struct {
		bool present;
		uint64_t seq;
		raft_index index;
		raft_term term;
		struct raft_config config;
		struct raft_buf data;
	} snapshot;

	/* 4. messages to send */
	unsigned n_messages;
	const struct raft_message *messages;

	/* 5. committed entries to apply, in order */
	unsigned n_apply;
	const struct raft_entry *apply;

	/* 6. read results */
	unsigned n_reads;
	const struct raft_read_result *reads;

	/* The node's role, term or known leader changed in this step. */
	bool state_changed;
	int state;
	raft_id leader; /* 0 when unknown */

	/* RAFT_EV_PROPOSE / RAFT_EV_CHANGE_CONFIG: where the entry landed.
	 * It is committed when an applied entry has this index AND term. */
	raft_index proposed_index;
	raft_term proposed_term;
};

/* ---- Node lifecycle ----------------------------------------------------- */

struct raft_options {
	raft_id id;
	uint64_t seed;               /* PRNG seed for election timeouts */
	unsigned election_timeout;   /* ms; randomized in [t, 2t) */
	unsigned heartbeat_interval; /* ms */
	unsigned max_inflight;       /* AppendEntries in flight per peer */
	unsigned max_batch_entries;  /* entries per AppendEntries */
	size_t max_batch_bytes;      /* payload bytes per AppendEntries */
	size_t max_entry_bytes;      /* larger proposals: RAFT_ETOOBIG */
	size_t snapshot_chunk;       /* bytes per InstallSnapshot chunk */
};

/* Defaults for every option but id and seed. */
void raft_options_default(struct raft_options *o);

/* Durable state read back at start.  entries are copied. */
struct raft_durable {
	raft_term term;
	raft_id voted_for;
	/* last snapshot (index 0: none) */
	raft_index snap_index;
	raft_term snap_term;
	struct raft_config snap_config;
	struct raft_buf snap_data; /* copied, to serve InstallSnapshot */
	/* log entries after snap_index, consecutive */
	unsigned n_entries;
	const struct raft_entry *entries;
};

struct raft; /* opaque */

/* Create a node.  A brand-new cluster is bootstrapped by giving every
 * initial member the same durable state: one RAFT_ENTRY_CONFIG entry at
 * index 1, term 1 (see raft_bootstrap_entry).  A node that joins later
 * starts empty and learns the log from the leader. */
int raft_init(struct raft **out, const struct raft_options *o,
	      const struct raft_durable *d, uint64_t now);
void raft_close(struct raft *r);

/* The entry every initial member persists before its first start; data is
 * malloc'ed, the caller frees it. */
int raft_bootstrap_entry(const struct raft_config *c, struct raft_entry *e);

/* Feed one event.  Returns 0 or a raft_error (the update is still valid and
 * must be processed either way). */
int raft_step(struct raft *r, const struct raft_event *ev,
	      struct raft_update *up);

/* ---- Read-only introspection (for metrics, tests, the simulator) -------- */

int raft_state(const struct raft *r);
raft_id raft_self(const struct raft *r);
raft_id raft_leader(const struct raft *r);
/* The voter that campaigns first when r's peer connections end
 * (RAFT_EV_PEER_DOWN on the others: election.c), so the likely next
 * leader if r, the leader, dies: the lowest-id voter other than r.  0
 * when r is the only voter. */
raft_id raft_successor(const struct raft *r);
raft_term raft_term_current(const struct raft *r);
raft_id raft_voted_for(const struct raft *r);
raft_index raft_commit_index(const struct raft *r);
/* How far the leader has committed, as far as this node knows: the
 * commit index on the leader; on a follower the highest commit its
 * current leader sent it (AppendEntries carry the leader's commit,
 * heartbeats a lower bound), never below its own; 0 with no leader.  A
 * node whose applied index is well below this is catching up (/health). */
raft_index raft_leader_commit(const struct raft *r);
raft_index raft_last_index(const struct raft *r);
raft_term raft_last_term(const struct raft *r);
raft_index raft_first_index(const struct raft *r); /* first in memory */
raft_index raft_snapshot_index(const struct raft *r);
raft_index raft_persisted_index(const struct raft *r);
/* Term of the entry at index, 0 if unknown (compacted or beyond). */
raft_term raft_term_at(const struct raft *r, raft_index index);
const struct raft_entry *raft_entry_at(const struct raft *r, raft_index index);
const struct raft_config *raft_config_current(const struct raft *r);
/* The configuration in force at index (for snapshots taken there); false
 * when index is below the in-memory log and the snapshot. */
bool raft_config_at(const struct raft *r, raft_index index,
		    struct raft_config *out);
/* Leader's view of a peer: match index (0 if unknown or not leader). */
raft_index raft_peer_match(const struct raft *r, raft_id id);

#endif /* TENURE_RAFT_H */
