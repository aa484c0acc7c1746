/*
 * agentsim.h — the deterministic simulation of the fencing layer
 * (tests/sim/agent-sim, docs/agent-sim.md): the pieces shared by its files.
 *
 *   agent-sim.c       options, seeds, faults, operator, workload, the loop
 *   agentsim_pg.c     simulated Postgres servers and their WAL
 *   agentsim_store.c  the witnesses as one linearizable lease/key store
 *   agentsim_agent.c  the agent: real decide(), agent_build_input(),
 *                     self_record_build(), view_remember_primary(),
 *                     optime_due(); actions modelled by their effects
 *   agentsim_check.c  the invariants, checked after every step
 *   agentsim_standby.c  --standby-cluster: a main cluster to follow
 *
 * Contract: everything random comes from the seed's PRNG, time is the
 * simulation's, nothing touches the real clock, disk or network, so a
 * seed replays exactly.
 */
#ifndef TENURE_TESTS_AGENTSIM_H
#define TENURE_TESTS_AGENTSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "fencing/decide.h"
#include "fencing/record_lease.h"
#include "fencing/view_currency.h"
#include "fencing/witness_view.h"

#define SIM_MAX_HOSTS 5 /* 3 nodes, one spare host for a duplicate */
/* --standby-cluster: the main cluster's primary (no agent of ours) */
#define SIM_MAIN_HOST (SIM_MAX_HOSTS - 1)
#define SIM_STEP_MS 5
#define SIM_TTL 2500
#define SIM_RENEW 500
#define SIM_FENCE_TIME 200
#define SIM_PAUSE_MARGIN 300
#define SIM_DRIFT_PPM 1000
#define SIM_MAX_SEGS 96
#define SIM_MAX_TL 512
#define SIM_MAX_KEYS 160
#define SIM_VAL_MAX 2048

/* ---- bug switches: known, fixed bugs re-created in the model ---------- */
enum sim_bug {
	BUG_NONE = 0,
	BUG_FORGET_POSITION, /* lag bar from memory only (no S/optime) */
	BUG_PAUSE_STOP,      /* a paused agent's stop stops Postgres */
	BUG_SAME_NAME,       /* lease holders are plain names again */
	BUG_FLOOD,           /* every key event ticks, every tick writes */
	BUG_SYNC_ROLLING,    /* per-node sync mode; S/sync absent = empty */
	BUG_NOFAILOVER_BOOTSTRAP, /* a nofailover node bootstraps */
	BUG_STALE_REQUEST,   /* tenurectl refuses while any request exists */
	BUG_RECLONE_LOOP,    /* every failed start read as diverged data */
	BUG_SYNC_QUORUM,     /* a quorum of S/sync frozen is enough (k-N+1) */
	BUG_STANDBY_IGNORED, /* --standby-cluster: the agent ignores it */
};

/* ---- PRNG ------------------------------------------------------------- */
struct rng {
	uint64_t s;
};
uint64_t rng_next(struct rng *r);
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi); /* [lo,hi] */
bool rng_chance(struct rng *r, unsigned per_mille);

/* ---- WAL: which timeline wrote each byte ------------------------------ */
struct wal_seg {
	uint32_t tl;
	uint64_t end; /* covers [previous end, end) */
};
struct wal {
	int n;
	struct wal_seg s[SIM_MAX_SEGS];
};
uint64_t wal_end(const struct wal *w);
uint64_t wal_common(const struct wal *a, const struct wal *b);
void wal_truncate(struct wal *w, uint64_t at);
void wal_append(struct wal *w, uint32_t tl, uint64_t bytes);
/* dst becomes src's first upto bytes (upto <= wal_end(src)). */
void wal_copy_upto(struct wal *dst, const struct wal *src, uint64_t upto);
/* How far w holds what timeline tl wrote (0: none of it). */
uint64_t wal_extent_on(const struct wal *w, uint32_t tl);

/* ---- simulated Postgres ----------------------------------------------- */
struct sim_pg {
	enum pg_state state;
	struct wal wal; /* written = flushed (commits wait for it) */
	uint32_t tl;    /* current timeline */
	bool was_primary, clean, backup_label;
	int upstream;  /* host streamed from, -1: none */
	bool conninfo; /* primary_conninfo set */
	bool streaming;
	uint64_t replayed;
	uint64_t ready_at;    /* STARTING until then (true ms) */
	char sync_names[512]; /* primary: synchronous_standby_names */
	int sync_count;       /* ... its ANY N */
	uint64_t slow_until;  /* replication to this standby stalls */
	/* start failures (startfail.h): while fail_on, a standby's start
	 * fails with fail_cause, as its log says.  Diverged or damaged
	 * data goes only with the data (a copy); the rest by itself or by
	 * the operator at fail_until, settings_too_low also by the agent's
	 * raise of settings once a failed start has read the primary's
	 * values (fail_raise). */
	bool fail_on;
	enum startfail_cause fail_cause;
	uint64_t fail_until; /* true ms, 0: only a copy clears it */
	bool fail_raise;     /* settings_too_low: the raise can fix it */
	bool fail_seen;      /* a start failed since the fault */
	bool start_fails;    /* this start fails (set as it begins) */
	bool start_logged;   /* the last start's failure is in the log */
	enum startfail_cause logged_cause; /* ... and what it says */
	uint32_t conf_gen; /* bumped when the operator edits the config */
};
struct sim;
void pg_step(struct sim *s, int h);
void pg_crash(struct sim *s, int h); /* kill -9, host crash */
void pg_stop_clean(struct sim *s, int h);
void pg_start(struct sim *s, int h, int upstream, uint64_t delay_ms);
void pg_promote(struct sim *s, int h);
/* The primary's acknowledged position now (sync: a listed standby has
 * received it; async: all of it). */
uint64_t pg_ack_point(struct sim *s, int h);

/* ---- the lease and key store ------------------------------------------ */
struct store_lease {
	bool held;
	char name[64];
	char holder[MEMBER_STR_MAX];
	uint64_t token, deadline, ttl;
};
struct store_key {
	bool used;
	char key[128];
	char value[SIM_VAL_MAX];
	int lease;  /* attached lease, -1 */
	int writer; /* agent slot that wrote it (-1 operator) */
};
#define STORE_LEASES 8
struct store {
	uint64_t index; /* bumps on every write: fencing tokens */
	struct store_lease leases[STORE_LEASES];
	struct store_key keys[SIM_MAX_KEYS];
};
/* Every call is one request by agent slot who (-1: operator), counted. */
uint64_t store_acquire(struct sim *s, int who, const char *lease,
		       const char *holder, uint64_t ttl);
bool store_renew(struct sim *s, int who, const char *lease, const char *holder,
		 uint64_t token);
void store_release(struct sim *s, int who, const char *lease,
		   const char *holder, uint64_t token);
const struct store_lease *store_lease_get(struct sim *s, int who,
					  const char *lease);
const char *store_get(struct sim *s, int who, const char *key);
bool store_put(struct sim *s, int who, const char *key, const char *value,
	       const char *lease, uint64_t token);
void store_delete(struct sim *s, int who, const char *key);
bool store_cas(struct sim *s, int who, const char *key, const char *expect,
	       const char *value);
void store_expire(struct sim *s); /* leases past their deadline */

/* ---- the agent -------------------------------------------------------- */
enum agent_phase {
	AG_DOWN = 0,
	AG_RUNNING,
	AG_STOPPING
};
struct sim_action {
	bool busy;
	struct decide_action what;
	uint64_t done_at;   /* local clock */
	uint64_t final_lsn; /* switchover: where the primary stopped */
	int polls;
};
struct sim_agent {
	/* configuration: survives restarts */
	char name[MEMBER_STR_MAX];
	int host;
	bool sync_mode;  /* its file's synchronous_mode */
	bool nofailover; /* its file's nofailover */
	uint64_t max_lag;
	bool exists; /* a configured agent on this slot */
	/* process */
	enum agent_phase phase;
	uint64_t restart_at;   /* true ms, 0: not scheduled */
	uint64_t frozen_until; /* true ms: process paused */
	uint64_t instance;     /* which start this is */
	bool refused;          /* stopped itself: its name is in use */
	/* memory: lost at every restart (the model of struct agent) */
	struct {
		uint64_t started_ms;
		char holder_id[MEMBER_STR_MAX + 24]; /* NAME/INCARNATION */
		bool live_sync;    /* S/config's, else the file's */
		bool live_standby; /* S/config makes it a standby cluster */
		bool member_held_once;
		uint64_t name_taken_since;
		uint64_t lease_free_since;
		uint64_t sync_since_lsn; /* agent_int.h */
		uint64_t switch_done_ms;
		struct member sent; /* the record last written */
		uint64_t sent_ms, sent_token;
		enum record_lease sent_lease; /* where it was attached */
		uint64_t next_tick;           /* local */
		bool kick;
		uint64_t kick_at;        /* true ms */
		uint64_t member_tick_ms; /* last tick a member event caused */
		bool primary_held;
		uint64_t primary_token, valid_until;
		bool member_held;
		uint64_t member_token;
		uint64_t member_sent; /* local: last member renewal sent */
		uint64_t next_renew;  /* local */
		struct witness_view view;
		struct view_currency cur; /* a tick at rest reads nothing */
		bool view_ok;
		struct decide_pg obs;
		uint64_t last_replayed, last_received;
		uint64_t not_streaming_since;
		bool frozen_settling;
		bool rewound;
		struct member self;
		struct decide_action last_action;
		const char *status_reason;
		uint64_t retry_after;
		uint64_t optime_sent_lsn, optime_sent_ms, optime_sent_token;
		char old_primary[MEMBER_STR_MAX];
		struct sim_action act;
		/* agent_startfail.c */
		int start_failures;
		enum startfail_cause start_cause;
		uint64_t start_failed_ms; /* local, 0: not seen down yet */
		uint32_t start_conf_gen;
		int copies;
		uint64_t copied_ms; /* local */
	} m;
	/* counters for the rate check (not memory: the simulator's) */
	uint64_t req_window, req_window_start;
	uint64_t req_by_state[3], ms_by_state[3];
};
uint64_t agent_local(struct sim *s, int slot); /* its host's clock */
void agent_start(struct sim *s, int slot);
void agent_crash(struct sim *s, int slot); /* process killed */
void agent_stop(struct sim *s, int slot);  /* SIGTERM, clean */
void agent_step(struct sim *s, int slot);
void agent_kick(struct sim *s, int slot, int writer, bool member_key);
/* A renewal of lease by holder with token, as its watchers see it. */
void agent_renewal_event(struct sim *s, int slot, const char *lease,
			 const char *holder, uint64_t token);

/* ---- hosts ------------------------------------------------------------- */
struct sim_host {
	bool up;
	int64_t drift_ppm;   /* its clock's rate error */
	uint64_t clock_base; /* local ms at true 0 */
	bool cut;            /* agent <-> store cut */
	bool isolated;       /* replication to and from it cut too */
	uint64_t cut_until;
	bool guard_armed;
	uint64_t guard_deadline; /* local */
	int guard_slot;          /* the agent that armed it */
	uint64_t fault_ms;       /* true ms of the last fault on this host */
	struct sim_pg pg;
};

/* ---- per timeline bookkeeping for the loss check ------------------------ */
struct sim_tl {
	int host;            /* the primary that wrote it, -1 */
	uint64_t start;      /* where it branched */
	uint64_t max_pos;    /* how far it was written */
	uint64_t acked;      /* acknowledged commits up to (async class) */
	uint64_t acked_sync; /* acknowledged by a sync standby */
	uint64_t optime_lsn; /* the last S/optime its primary wrote */
};

struct sim_opts {
	uint64_t seed, seeds_to;
	uint64_t steps;
	bool verbose;
	bool keep_going;
	enum sim_bug bug;
	bool sync_mode;        /* initial synchronous_mode of every node */
	bool leftover_request; /* a stale S/switchover at the start */
	uint64_t max_lag;
	unsigned rate_bound; /* requests per second per agent */
	int sync_count;      /* synchronous_node_count (ANY N) */
	/* a standby cluster (decide.h rule 7) of a main cluster whose
	 * primary is host SIM_MAIN_HOST, promoted after that host's loss */
	bool standby_cluster;
};

struct sim {
	const struct sim_opts *o;
	struct rng rng;
	uint64_t now; /* true ms */
	uint64_t step;
	int n_nodes; /* real nodes (hosts 0..n-1) */
	struct sim_host hosts[SIM_MAX_HOSTS];
	struct sim_agent agents[SIM_MAX_HOSTS];
	struct store store;
	uint32_t next_tl;
	struct sim_tl tls[SIM_MAX_TL];
	const char *scope;
	/* workload */
	uint64_t commits, acked_bytes;
	/* check state */
	bool failed;
	char failure[512];
	uint64_t last_fault_ms;
	uint64_t no_primary_since;
	bool paused_had_primary;
	int paused_primary;
	uint64_t pause_began;
	uint64_t promotions, fences, failovers, switchovers, lost_async;
	uint64_t mixed_config_losses;
	uint64_t max_outage_ms;
	uint64_t calm_since;
	uint64_t sync_stuck_ms; /* no primary, sync mode, S/sync empty */
	uint64_t max_window;    /* most requests of one agent in a second */
	bool paused;            /* S/pause exists */
	bool config_mixed;      /* running agents disagree on sync mode */
	bool sync_setting;      /* what the operator set last */
	uint64_t op_request_ms; /* last switchover or failover request */
	bool dup_started;
	bool standby_set; /* --standby-cluster: S/config says so still */
	/* the operator's last request through tenurectl (agent-sim.c), for
	 * the check that every request is answered */
	struct {
		bool open;   /* not answered yet */
		uint64_t at; /* true ms it was made */
		char candidate[MEMBER_STR_MAX];
		char sent[600];       /* what tenurectl wrote, "" refused */
		uint64_t withdraw_at; /* tenurectl's wait ends, 0 */
		bool refused_stale;   /* refused for a request the agents
				       ignore */
	} req;
	uint64_t requests, requests_refused, requests_withdrawn;
	/* start failures: their own PRNG, so that seeds without one draw
	 * the same faults as before */
	struct rng sf_rng;
	uint64_t sf_at; /* true ms of the seed's start failure fault, 0 */
	uint64_t start_failures, copies_afresh;
	uint64_t copy_times[SIM_MAX_HOSTS][4]; /* recent copies afresh */
};

/* agentsim_standby.c: --standby-cluster */
void standby_setup(struct sim *s);
void standby_put_config(struct sim *s); /* S/config as the operator has it */
void standby_promote(struct sim *s);    /* the main host lost, promote */
int standby_host_of(const char *name);  /* SIM_MAIN_HOST, or -1 */
void standby_check(struct sim *s);

/* agentsim_check.c */
void check_step(struct sim *s);
void check_promotion(struct sim *s, int h, bool sync_promoter);
void check_rate_report(struct sim *s);
/* A copy afresh of host h's existing data (ACT_RECLONE, or ACT_BASEBACKUP
 * over data) begins: only for diverged or damaged data, and at most
 * SIM_COPIES_PER_MIN in a simulated minute. */
void check_copy_afresh(struct sim *s, int h, enum decide_kind kind);
#define SIM_COPIES_PER_MIN 2
void sim_fail(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sim_log(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The host a name's agent runs on, -1. */
int sim_host_of(struct sim *s, const char *name);
bool sim_writable(struct sim *s, int h);
/* The operator's (tenurectl's) wall clock and S/switchover's key. */
uint64_t sim_op_wall(struct sim *s);
/* A request the agents ignore (older than SCOPE_REQUEST_MAX_AGE_MS by the
 * operator's clock, or unreadable): tenurectl's request_stale(). */
bool sim_request_stale(struct sim *s, const char *value);
#define SIM_REQUEST_KEY "sim/switchover"

#endif
