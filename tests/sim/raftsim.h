/*
 * raftsim.h — the deterministic Raft cluster simulator (tests/sim/raft-sim):
 * the model of the simulated cluster and the functions its files share.
 *
 *   raft-sim.c          options, the seed driver (a forked child per seed), main
 *   raftsim_run.c       one seed: set-up, the event loop, the final audit
 *   raftsim_node.c      a node: start, crash, stepping the core, its events
 *   raftsim_app.c       the application state machine and its snapshots
 *   raftsim_net.c       the network: delay, loss, duplication, partitions
 *   raftsim_disk.c      the disk: the durable image and pending writes
 *   raftsim_check.c     the invariants, checked after every step
 *   raftsim_workload.c  proposals, reads, transfers, membership changes
 *   raftsim_faults.c    fault phases, crashes, the heal, the liveness probe
 *   raftsim_queue.c     the event queue and schedule()
 *   raftsim_trace.c     the trace ring and violations
 *   raftsim_rng.c       PRNG, hashing, allocation helpers
 *
 * Contract: everything random comes from the seed's PRNG (struct sim's
 * .rng), and time is the simulation's (.now, advanced only by the event
 * loop); nothing reads the real clock or touches a real disk or network,
 * so a seed replays exactly.  The core under test sees only raft_step().
 * The same files build tests/sim/raft-sim-broken, against a core compiled
 * with -DRAFT_BROKEN_COMMIT_OLD_TERM.
 */
#ifndef TENURE_TESTS_RAFTSIM_H
#define TENURE_TESTS_RAFTSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	EV_PEER_DOWN, /* .node hears that .arg's connection ended */
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

struct step_out {
	int rv;
	raft_index proposed_index;
	raft_term proposed_term;
};

/* ---- raftsim_rng.c ---- */

void rng_seed(struct rng *g, uint64_t seed);
uint64_t rng_next(struct rng *g);
uint64_t rng_below(struct rng *g, uint64_t n);
uint64_t rng_between(struct rng *g, uint64_t lo, uint64_t hi);
bool rng_permille(struct rng *g, unsigned p);
uint64_t mix64(uint64_t z);
uint64_t entry_chain(uint64_t prev, const struct raft_entry *e);
uint64_t state_after(uint64_t state, const struct raft_entry *e);
void *xrealloc(void *p, size_t n);
void *xmemdup(const void *p, size_t n);
void grow_zeroed(void **arr, size_t *cap, size_t i, size_t elem);
void entry_copy(struct raft_entry *dst, const struct raft_entry *src);
void entries_free(struct raft_entry *e, size_t n);

/* ---- raftsim_queue.c ---- */

void queue_push(struct event_queue *q, struct sim_event ev);
bool queue_pop(struct event_queue *q, struct sim_event *out);
void schedule(struct sim *s, uint64_t after_us, int kind, unsigned node,
	      uint64_t inc, uint64_t arg);

/* ---- raftsim_trace.c ---- */

void trace(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void violation(struct sim *s, const char *invariant, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void print_violation(const struct sim *s);

/* ---- raftsim_check.c ---- */

raft_index shadow_last(const struct shadow_log *sh);
raft_term shadow_term(const struct shadow_log *sh, raft_index i);
void shadow_reset(struct shadow_log *sh, raft_index base, raft_term term,
		  uint64_t chain);
void shadow_free(struct shadow_log *sh);
void shadow_truncate(struct shadow_log *sh, raft_index from);
void shadow_append(struct sim *s, struct sim_node *n,
		   const struct raft_entry *e);
uint64_t snapshot_chain(struct sim *s, raft_id node, raft_index idx,
			raft_term term, const char *what);
void note_commit_rule(struct sim *s, struct sim_node *n, bool led_before);
void check_commit(struct sim *s, struct sim_node *n);
void check_role(struct sim *s, struct sim_node *n);
void check_log_tracking(struct sim *s, struct sim_node *n);
void audit_log(struct sim *s, struct sim_node *n);
void reads_add(struct sim *s, uint64_t id, struct sim_node *n,
	       raft_index required);
void reads_drop_node(struct sim *s, raft_id node);
void check_read(struct sim *s, struct sim_node *n,
		const struct raft_read_result *rr);
void check_durable_before_send(struct sim *s, struct sim_node *n,
			       const struct raft_message *m);

/* ---- raftsim_net.c ---- */

void msg_free(struct net_msg *nm);
void describe_msg(const struct raft_message *m, char *buf, size_t cap);
bool net_blocked(const struct sim *s, raft_id from, raft_id to);
void net_send(struct sim *s, struct sim_node *from,
	      const struct raft_message *m);
void net_clear(struct sim *s);

/* ---- raftsim_disk.c ---- */

void disk_faults_clear(struct disk_faults *df);
void disk_log_truncate(struct disk_image *d, raft_index from);
void disk_log_append(struct disk_image *d, const struct raft_entry *e);
void disk_free(struct disk_image *d);
void disk_write_free(struct disk_write *w);
void disk_pending_free(struct sim_node *n);
bool disk_set_snapshot(struct disk_image *d, raft_index idx, raft_term term,
		       const struct raft_config *cfg, struct raft_buf data);
bool disk_write_hard_state(struct sim *s, struct sim_node *n,
			   const struct raft_update *up);
void disk_queue_log_write(struct sim *s, struct sim_node *n,
			  const struct raft_update *up);
void disk_queue_snapshot(struct sim *s, struct sim_node *n,
			 const struct raft_update *up);
void disk_apply_log_write(struct sim *s, struct sim_node *n,
			  const struct disk_write *w);

/* ---- raftsim_app.c ---- */

void app_apply(struct sim *s, struct sim_node *n, const struct raft_entry *e);
void app_restore(struct sim *s, struct sim_node *n, raft_index idx,
		 const struct raft_buf *data, const struct raft_config *cfg);
struct raft_buf app_snapshot_data(struct sim *s, const struct app *a);

/* ---- raftsim_node.c ---- */

struct sim_node *node_of(struct sim *s, raft_id id);
int node_step(struct sim *s, struct sim_node *n, struct raft_event *ev,
	      struct step_out *out);
void node_start(struct sim *s, struct sim_node *n);
void node_crash(struct sim *s, struct sim_node *n);
void stop_pending_nodes(struct sim *s);
void cluster_config_applied(struct sim *s, raft_index idx,
			    const struct raft_config *cfg);
struct sim_node *node_if_current(struct sim *s, const struct sim_event *ev);
void on_tick(struct sim *s, const struct sim_event *ev);
void on_deliver(struct sim *s, struct sim_event *ev);
void on_peer_down(struct sim *s, const struct sim_event *ev);
void on_disk(struct sim *s, const struct sim_event *ev);

/* ---- raftsim_workload.c ---- */

struct sim_node *find_leader(struct sim *s);
struct sim_node *random_up_node(struct sim *s);
int propose_value(struct sim *s, struct sim_node *n, struct step_out *out);
void on_propose(struct sim *s);
void on_read(struct sim *s);
void on_transfer(struct sim *s);
void on_membership(struct sim *s);

/* ---- raftsim_faults.c ---- */

void on_churn(struct sim *s, const struct sim_event *ev);
void on_phase(struct sim *s);
void on_crash(struct sim *s);
void on_restart(struct sim *s, const struct sim_event *ev);
void on_heal(struct sim *s);
void on_probe(struct sim *s);

/* ---- raftsim_run.c ---- */

bool run_seed(const struct sim_opts *opt, uint64_t seed, struct seed_stats *st);

#endif
