/*
 * raft_fixture.h — a small, fully controlled cluster for unit tests of the
 * Raft core.  Unlike the simulator it makes no random choices: the test
 * decides which node ticks, which messages are delivered or dropped, and
 * when durable writes complete.  Every node has its own clock.
 *
 * Messages are deep-copied out of each update into one FIFO queue; the
 * durable image of each node (hard state and log) is kept so a node can be
 * crashed and restarted with exactly what it had made durable.
 */
#ifndef TENURE_TESTS_RAFT_FIXTURE_H
#define TENURE_TESTS_RAFT_FIXTURE_H

#include <stdbool.h>
#include "raft/raft.h"

#define FX_MAX_NODES 7
#define FX_MAX_MSGS 4096

struct fx_write {
	uint64_t seq;
	bool snapshot;
	raft_index first;
	unsigned n;
	struct raft_entry *entries; /* copies */
	raft_index snap_index;
	raft_term snap_term;
	struct raft_config snap_config;
	struct raft_buf snap_data;
};

struct fx_node {
	raft_id id;
	struct raft *r;
	bool up;
	uint64_t now;
	bool manual_persist; /* writes wait for fx_persist() */
	/* durable image */
	raft_term d_term;
	raft_id d_vote;
	struct raft_entry *d_log; /* entries d_snap_index+1 .. */
	unsigned d_n;
	raft_index d_snap_index;
	raft_term d_snap_term;
	struct raft_config d_snap_config;
	struct raft_buf d_snap_data;
	/* writes handed out, not completed */
	struct fx_write *writes;
	unsigned n_writes;
	/* state machine: applied entries */
	raft_index applied;
	unsigned n_applied_normal;
	/* read results seen */
	uint64_t read_ids[64];
	raft_index read_index[64];
	int read_status[64];
	unsigned n_reads;
	/* last update's proposal result */
	raft_index proposed_index;
	raft_term proposed_term;
};

struct fx_msg {
	struct raft_message m;
	struct raft_entry *entries; /* copies for APPEND */
	void *chunk;                /* copy for SNAPSHOT */
};

struct fixture;

/* Called with every update a node produces, before the fixture processes
 * it (the pointers in up are valid only during the call).  Lets a test see
 * exactly what one step asked for: hard state, writes, messages. */
typedef void (*fx_update_hook)(struct fixture *f, raft_id id,
			       const struct raft_event *ev,
			       const struct raft_update *up);

struct fixture {
	unsigned n;
	struct fx_node nodes[FX_MAX_NODES];
	struct fx_msg *queue;
	unsigned n_queue;
	struct raft_options opt;
	/* per (from, to) link: deliver or drop */
	bool cut[FX_MAX_NODES + 1][FX_MAX_NODES + 1];
	/* optional observer of every update; set after fx_init */
	fx_update_hook on_update;
	void *hook_data;
};

/* n voters with ids 1..n, bootstrapped with the same config entry; spare
 * slots up to FX_MAX_NODES may be started empty with fx_start_empty(). */
void fx_init(struct fixture *f, unsigned n_voters);
/* Same, with the caller's options (id and seed are set per node). */
void fx_init_opts(struct fixture *f, unsigned n_voters,
		  const struct raft_options *opt);
void fx_close(struct fixture *f);
struct fx_node *fx_node(struct fixture *f, raft_id id);
struct raft *fx_raft(struct fixture *f, raft_id id);

/* Step one event on a node and process its update. Returns raft_step's. */
int fx_step(struct fixture *f, raft_id id, struct raft_event *ev);
/* Advance the node's clock by ms and tick it. */
void fx_tick(struct fixture *f, raft_id id, uint64_t ms);
/* Advance every running node's clock by ms, ticking in steps of `step`,
 * delivering messages between steps. */
void fx_run(struct fixture *f, uint64_t ms, uint64_t step);
/* Deliver queued messages (and those they cause) until none is left or
 * max deliveries were made; returns deliveries. */
unsigned fx_deliver(struct fixture *f, unsigned max);
/* Deliver only the first queued message matching (from, to, type); 0 for
 * any.  Returns false if none was queued. */
bool fx_deliver_one(struct fixture *f, raft_id from, raft_id to, int type);
/* Drop every queued message. */
void fx_drop_all(struct fixture *f);
/* Count queued messages matching (from, to, type). */
unsigned fx_count(struct fixture *f, raft_id from, raft_id to, int type);
/* The first queued matching message, or NULL. */
const struct raft_message *fx_peek(struct fixture *f, raft_id from, raft_id to,
				   int type);
/* Cut or restore the link both ways. */
void fx_cut(struct fixture *f, raft_id a, raft_id b, bool cut);
void fx_isolate(struct fixture *f, raft_id id, bool isolated);

/* Make node id leader: time out its election and deliver. */
void fx_elect(struct fixture *f, raft_id id);
int fx_propose(struct fixture *f, raft_id id, const char *text);
/* Complete the node's oldest pending writes (all if n == 0). */
void fx_persist(struct fixture *f, raft_id id, unsigned n);
/* Fail the node's oldest pending write and every later one (the contract:
 * a failed write fails all that follow), leaving the durable image as it
 * was; steps RAFT_EV_PERSIST_FAILED with the first failed seq.  Returns
 * false if no write was pending. */
bool fx_fail_write(struct fixture *f, raft_id id, int err);
void fx_crash(struct fixture *f, raft_id id);
void fx_restart(struct fixture *f, raft_id id);
void fx_start_empty(struct fixture *f, raft_id id);

#endif
