/*
 * agent_int.h — the agent's private state, shared by the files of the
 * agent (agent.h):
 *   agent.c          start and stop, the tick (observe, decide, act)
 *   agent_lease.c    the primary lease and the member lease
 *   agent_observe.c  what the local Postgres is doing; this node's record
 *   agent_keys.c     what is read from and written to the witnesses
 *   agent_pages.c    paged LIST walks of the scope
 *   agent_prune.c    keeping S/history/ bounded
 *   agent_act.c      the actions on Postgres that decide() asks for: the
 *                    helpers, start, stop, fencing and the dispatch;
 *                    agent_act_copy.c, agent_act_follow.c,
 *                    agent_act_promote.c and agent_act_sync.c the families
 *                    of actions (agent_act_int.h)
 *   agent_adopt.c    existing data in a new scope (S/initialize)
 * main.c creates the agent through agent.h only.
 *
 * Errors: the agent's steps log their failures (log_event) and are retried
 * on a later kick; pages_walk returns 0 or -1 when it cannot start (done
 * never runs then).
 */
#ifndef TENURE_FENCING_AGENT_INT_H
#define TENURE_FENCING_AGENT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "fencing/agent.h"
#include "fencing/callback_queue.h"
#include "fencing/lease_trace.h"
#include "fencing/agent_tls.h"
#include "fencing/api.h"
#include "fencing/decide.h"
#include "fencing/member.h"
#include "fencing/optime.h"
#include "fencing/pg.h"
#include "fencing/record_lease.h"
#include "fencing/scope_conf.h"
#include "fencing/slots.h"
#include "fencing/view_currency.h"
#include "fencing/watchdog.h"
#include "fencing/witness_view.h"
#include "proto/tclient.h"

/* A lease this agent holds: S/primary or its member lease. */
struct held_lease {
	char name[AGENT_KEY_MAX];
	bool held;
	bool in_flight; /* an acquire or renew is on its way */
	uint64_t token;
	uint64_t valid_until; /* clock_now_ms() deadline (docs/design.md
				   rule 3) */
	/* The TTL asked for at the last acquire: renewals keep it at the
	 * witnesses, so validity is computed from it, never from a newer
	 * lease_ttl (that applies from the next acquire on). */
	uint64_t ttl_ms;
	uint64_t renew_failures;
	/* clock_now_ms() of the last renewal resent at once after getting
	 * no answer (renew_retry.h); 0: none */
	uint64_t retried_at;
	/* the member lease: clock_now_ms() when the last acquire or renewal
	 * was sent (member_lease.h); 0: none */
	uint64_t sent_ms;
};

/* The operator's request being carried out (agent_requests.c). */
struct running_request {
	char action[16]; /* "restart", "reload", "reinit"; "" when none */
	uint64_t id;
	char role[16];    /* the role when it began */
	uint64_t stop_ms; /* clock_now_ms() when Postgres was stopped */
	uint64_t gap_ms;  /* a primary's: stop to accepting writes */
	char detail[MEMBER_STR_MAX];
};

/* The member record last sent to the witnesses (keys_publish_self). */
struct sent_record {
	struct member rec;
	uint64_t at_ms;          /* clock_now_ms() when sent (0: none) */
	enum record_lease lease; /* the lease it was attached to ... */
	uint64_t lease_token;    /* ... and its grant */
	bool acked;              /* the witnesses answered OK */
	uint64_t gen;            /* which write: an older one's failure
				    does not undo a newer one */
};

/* The callbacks (agent_callback.c): one running, a few waiting. */
struct agent_callbacks {
	struct callback_req running;
	struct callback_queue waiting;
	bool busy;       /* running is running */
	bool stopped;    /* on_stop was the last word on Postgres */
	char role[24];   /* the role the last start or role change told */
	bool restarting; /* a restart through the tool: on_restart only */
};

/* The Postgres parameters this agent writes (agent_params.c). */
struct params_state {
	struct pg_params node;    /* this node's file's pg. lines */
	struct pg_params applied; /* last written and reloaded */
	bool written_once;        /* since this agent started */
	bool in_flight;           /* a read of pg_settings is on its way */
	uint64_t checked_ms;      /* clock_now_ms() of the last read */
	bool pending_restart;     /* pg_settings.pending_restart, any row */
	char hs_running[MEMBER_STR_MAX]; /* "max_connections=100,..." */
	char floor_logged[MEMBER_STR_MAX];
	char refused[AGENT_CONFIG_MAX]; /* the wanted set refused (logged) */
};

/* pg_stat_archiver as last read (agent_archive.c). */
struct archive_state {
	bool in_flight;
	uint64_t checked_ms; /* clock_now_ms() of the last read */
	uint64_t archived, failed;
	char last_wal[MEMBER_STR_MAX];
	uint64_t last_archived_ms; /* wall clock, 0: never */
	bool command_refused;      /* archive_command_refused logged */
};

struct agent {
	uv_loop_t *loop;
	const struct agent_conf *conf;
	/* The scope-wide settings in force (agent_scope.c): S/config's,
	 * else this node's file's.  Read these, not conf's fields. */
	struct scope_conf live;
	char scope_applied[AGENT_CONFIG_MAX]; /* S/config last applied */
	bool scope_applied_present;
	char scope_refused[AGENT_CONFIG_MAX]; /* last one refused (logged) */
	bool scope_dirty; /* the file changed (SIGHUP): apply again */
	struct params_state params;
	struct archive_state archive;
	uint64_t lease_free_since; /* clock_now_ms(): no holder seen since */
	uint64_t switch_done_ms;   /* requested_ms of the S/switchover request
				    this node's last promotion ended */
	struct guard *guard;
	struct tclient *tc;
	struct pg_conn *pg;
	struct api_server *api;
	struct http_auth *http_auth; /* http_credentials_file, or NULL */
	struct watchdog wd;
	bool wd_on; /* the watchdog device is armed */
	struct tclient_watch *lease_watch, *key_watch;
	char *witness_secret;
	/* Postgres passwords (pg_superuser_password_file,
	 * replication_password_file), or NULL: trust. */
	char *pg_password, *replication_password;
	struct agent_tls tls; /* the process's: kept until it exits */
	/* "NAME/INCARNATION": this process's holder of both leases, a
	 * random id chosen at start (fencing/roster.h) */
	char holder_id[MEMBER_STR_MAX + 24];
	/* The member lease held by another process with this name: since
	 * when (0: not), and whether it held the lease once at least.
	 * One that keeps it beyond a TTL is alive: this one refuses. */
	uint64_t name_taken_since;
	bool member_held_once;
	bool refused; /* stopped itself: exit status 2 */
	/* A view was read and S/moved was not in it: only then may this
	 * agent take a lease on these witnesses (agent_moved). */
	bool scope_checked;
	bool unguarded_clearing; /* a delete of S/unguarded is on its way */
	/* Postgres, in recovery, followed the main cluster of a standby
	 * cluster; kept once the setting is gone, until it follows a member:
	 * its promotion ends the standby cluster (standby_cluster_observed) */
	bool followed_main;
	/* primary: its position when Postgres last changed whom it waits
	 * for (decide.h; 0: not known yet) */
	uint64_t sync_since_lsn;
	char pg_host[256];
	int pg_port;

	uv_timer_t tick_timer, lease_timer, fence_timer;
	bool busy;      /* an action is running */
	bool observing; /* a tick's reads are in flight */
	int pending_reads;
	bool view_ok;    /* every read of this tick succeeded */
	char *endpoints; /* the witnesses list, split in place */
	bool kick;       /* tick again as soon as possible */
	bool stopping;

	struct held_lease primary, member;
	struct lease_trace trace; /* requests on primary (lease_trace.h) */
	struct witness_view view;
	/* whether a tick may decide on view without reading (agent_keys.c) */
	struct view_currency cur;
	struct decide_pg pg_obs;
	uint64_t not_streaming_since;
	bool rewound;
	struct member self; /* the record published */
	struct sent_record sent;
	/* A key event came while the scope had no primary and no tick has
	 * read the scope since; when the last tick for such an event was
	 * scheduled (clock_now_ms()): one per renew_interval at most. */
	bool event_pending;
	uint64_t event_kick_ms;
	struct decide_action last_action;
	uint64_t promoted_ms;   /* wall clock, for history */
	uint64_t veto_until;    /* pre_promote said no: not a candidate */
	struct act *switch_act; /* the switchover waiting for a view */
	uint64_t retry_after;   /* an action failed: none before this */
	int rewind_failures;
	int start_failures; /* ACT_START in a row without it coming up */
	/* The last start that did not come up (agent_startfail.c). */
	struct startfail start_fail;
	uint64_t start_log_offset; /* pg_log_file's size when it began */
	uint64_t start_failed_ms;  /* when it was seen down (0: not yet) */
	int64_t start_conf_mtime;  /* the configuration files' mtime then */
	/* Fresh copies of the data directory (agent_act_copy.c act_move_aside) in a
	 * row that never came up, the last one's start, what the last one
	 * needed (bytes: the size of the directory it replaced, 0 unknown)
	 * and why one was refused ("" when it was not). */
	int copies;
	uint64_t copied_ms;
	uint64_t copy_need_bytes;
	/* A clonefrom replica a copy just failed from: not the source of the
	 * next one (agent_act_copy.c), "" */
	char clone_skip[MEMBER_STR_MAX];
	char copy_problem[300];
	uint64_t last_replayed, last_received; /* at the last observation */
	bool frozen_settling; /* frozen, replay still moving: look again */
	/* The primary this candidate replaces, as seen when it took the
	 * lease (afterwards the view names this node). */
	char old_primary[MEMBER_STR_MAX];
	uint64_t old_token, old_seen_ms;

	/* The last SCOPE/optime this agent wrote as the primary: position
	 * and clock_now_ms() (0: none yet), and one write at a time. */
	uint64_t optime_sent_lsn, optime_sent_ms, optime_sent_token;
	bool optime_in_flight;

	/* The operator's request running, the last action's failure
	 * (act_fail), the ids of the requests done (a result may not be
	 * in the next view yet: never twice) and of the S/restart deleted. */
	struct running_request req;
	bool act_failed;
	uint64_t restart_done_id, reload_done_id, reinit_done_id;
	uint64_t restart_deleted_id;

	uint64_t started_ms; /* clock_now_ms() at agent_start */
	uint64_t pg_sysid;   /* the data's system identifier (0: unknown) */

	uint64_t failovers, switchovers, promotions, demotions;
	uint64_t fence_actions;
	const char *status_reason;
	/* The witnesses not answering: since when (clock_now_ms(), 0 while
	 * they answer), the last warning about it, and the client library's
	 * last complaint, for the log and /health. */
	uint64_t witnesses_down_since, witnesses_warned_ms;
	char witness_error[256];
	char problem[768]; /* /health's "problem", rebuilt per request */

	struct agent_callbacks callbacks;
	/* Replication slots (agent_slots.c): what the plan remembers, the
	 * slots last read (for /metrics), when to look again, a digest of
	 * what they depend on (a change looks at once), and a logical slot
	 * being created on its own connection. */
	struct slot_memory slot_mem;
	struct slot_actual slots_seen[SLOTS_MAX];
	size_t n_slots_seen;
	uint64_t slots_next_ms;
	uint32_t slots_digest;
	bool slots_logical_busy;

	void (*on_stopped)(void *arg);
	void *on_stopped_arg;
	int closing_handles;
};

/* agent.c */
void agent_kick(struct agent *a);
/* Stop at once, leaving Postgres alone: another agent has this name. */
void agent_refuse(struct agent *a, const char *why);
/* S/moved: the scope lives on another trio now.  Log it, stop as for
 * SIGTERM (nothing held, the usual case: Postgres is not touched), exit
 * status 2. */
void agent_moved(struct agent *a);
/* A key event worth a tick soon, at most one per renew_interval. */
void agent_kick_event(struct agent *a);
void agent_log_action(struct agent *a, const struct decide_action *act);

/* agent_callback.c (agent_callback() is in agent.h). */
/* "primary" when this node holds the lease or its Postgres runs as one,
 * else "replica": the role a callback is told. */
const char *agent_role_name(const struct agent *a);
/* This agent stopped (or fenced) Postgres: on_stop, unless that was
 * said already. */
void agent_callback_stopped(struct agent *a, const char *role);
/* This agent started Postgres as ROLE: on_start, or on_role_change when
 * the last role told was another (an old primary back as a standby). */
void agent_callback_started(struct agent *a, const char *role);
/* A restart through the tool begins (begun) or ended without a start:
 * while it runs, the stop is not said and the start is on_restart. */
void agent_callback_restart(struct agent *a, bool begun);

/* agent_lease.c: the primary lease (docs/design.md rule 3) and the member
 * lease. */
void lease_init(struct agent *a);
typedef void (*lease_done_cb)(struct agent *a, bool ok, int status, void *arg);
void lease_acquire_primary(struct agent *a, lease_done_cb cb, void *arg);
void lease_release_primary(struct agent *a, lease_done_cb cb, void *arg);
void lease_release_member(struct agent *a, lease_done_cb cb, void *arg);
bool lease_primary_valid(struct agent *a);
uint64_t lease_primary_left_ms(struct agent *a);
void lease_on_timer(struct agent *a); /* renewals, every renew_interval */
/* The member lease: taken, renewed, or given back while the record rides
 * the primary lease (record_lease.h).  Each renew interval, and from a
 * tick so that a demoted node writes its record again at once. */
void lease_member_tend(struct agent *a);
/* What record_lease.h decides on, as this agent stands now. */
struct record_lease_facts lease_record_facts(struct agent *a);
void lease_interval_changed(struct agent *a); /* renew_interval changed */
/* Postgres must stop accepting writes now (lost or doubtful lease). */
void lease_fence_now(struct agent *a, const char *why);

/* agent_keys.c: reads of the scope, writes of records and keys. */
void keys_read_view(struct agent *a, void (*done)(struct agent *a, bool ok));
void keys_publish_self(struct agent *a);
/* The record the witnesses acknowledged is attached to the primary lease
 * held now (record_lease.h: the member lease may go). */
bool keys_record_on_primary(const struct agent *a);
typedef void (*keys_done_cb)(struct agent *a, int status, void *arg);
void keys_put(struct agent *a, const char *suffix, const char *value,
	      keys_done_cb cb, void *arg);
void keys_delete(struct agent *a, const char *suffix, keys_done_cb cb,
		 void *arg);
void keys_watch_start(struct agent *a);
/* agent_prune.c: deletes the oldest keys of S/DIR (e.g. "history/")
 * beyond the newest keep, in the background; a failure is logged, never
 * fatal (the next prune catches up). */
void keys_prune(struct agent *a, const char *dir, size_t keep);
const struct member *keys_find_member(const struct agent *a, const char *name);

/* agent_pages.c: LIST_PAGE page after page, each from the last key of the
 * one before, within timeout_ms in all.  on_kv gets every key in order
 * (false: stop there, the walk succeeded); done runs once, with ok false
 * when a page failed.  0, or -1 when it could not start (done never runs). */
typedef bool (*pages_kv_cb)(void *arg, const struct client_kv *kv);
typedef void (*pages_done_cb)(void *arg, bool ok);
int pages_walk(struct agent *a, const char *prefix, const char *start_after,
	       uint64_t timeout_ms, pages_kv_cb on_kv, pages_done_cb done,
	       void *arg);

/* agent_act*.c: one Postgres action at a time; done() when finished. */
void act_run(struct agent *a, const struct decide_action *act,
	     void (*done)(struct agent *a));
void act_fence(struct agent *a, const char *why);
/* primary_conninfo for following node m. */
void act_conninfo(struct agent *a, const struct member *m, char *buf,
		  size_t cap);
void act_stop_pg(struct agent *a, void (*done)(struct agent *a));

/* agent_standby_cluster.c: a standby cluster's leader following the main
 * cluster (fencing/standby_cluster.h, decide.h rule 7). */
/* The main cluster's primary_conninfo: its hosts, read-write. */
void standby_cluster_conninfo(struct agent *a, char *buf, size_t cap);
/* primary_conninfo for target: the main cluster when target is
 * STANDBY_CLUSTER_UPSTREAM, else member target's ("" when unknown). */
void act_target_conninfo(struct agent *a, const char *target, char *buf,
			 size_t cap);
/* postgresql.auto.conf of the standby leader: primary_conninfo,
 * primary_slot_name and restore_command of the settings.  0 or -1. */
int standby_cluster_follow(struct agent *a, char *err, size_t errlen);
/* The settings in force changed: one log line. */
void standby_cluster_log(const struct standby_cluster *c);
/* A standby leader promoted (the setting removed): what pointed at the
 * main cluster goes from postgresql.auto.conf. */
void standby_cluster_promoted(struct agent *a);
/* After each look at Postgres (pg_obs set, with the primary_conninfo it
 * runs with): an archive-only standby cluster's member in recovery with
 * no primary_conninfo follows the main cluster (its upstream is
 * STANDBY_CLUSTER_UPSTREAM); a->followed_main kept up to date. */
void standby_cluster_observed(struct agent *a, const char *conninfo);

/* agent_scope.c: the scope-wide settings (fencing/scope_conf.h). */
void scope_init(struct agent *a);  /* the file's values, at start */
void scope_apply(struct agent *a); /* after each complete view */

/* agent_params.c: Postgres parameters and pg_hba lines (pg_params.h). */
void params_init(struct agent *a);  /* this node's file's pg. lines */
void params_step(struct agent *a);  /* after scope_apply: write, poll */
void archive_step(struct agent *a); /* pg_stat_archiver, every few s */
/* What this node's Postgres should have now. */
void params_wanted(struct agent *a, struct pg_params *want);
/* agent_archiving.c: archive_mode and archive_command for the scope's
 * pgBackRest repository (replica_archives), added to want where the pg.
 * lines do not set them; and written into postgresql.auto.conf before a
 * start (0, or -1 with err). */
void archive_params_add(struct agent *a, struct pg_params *want);
int archive_before_start(struct agent *a, char *err, size_t errlen);
/* archive_mode and archive_command in postgresql.auto.conf exactly as
 * this scope wants them, or removed: never what a copy brought from
 * another cluster, which would archive into its stanza.  0 or -1. */
int archive_settings_own(struct agent *a, char *err, size_t errlen);

/* agent_unguarded.c: maintenance mode and a stopped agent. */
/* Stop leaving Postgres running (paused cluster): mark a primary in
 * S/unguarded, then release the lease; done() then.  A failed mark stops
 * Postgres instead, as outside maintenance mode. */
/* S/unguarded names this node but its Postgres does not run as a primary
 * (its host crashed meanwhile, say): the mark is false, clear it. */
void unguarded_clear_if_stale(struct agent *a);
void unguarded_leave_running(struct agent *a, void (*stop_pg)(struct agent *a),
			     void (*done)(struct agent *a, bool ok, int status,
					  void *arg));

/* agent_optime.c: the primary writes SCOPE/optime when due (optime.h). */
void optime_publish(struct agent *a);

/* agent_adopt.c: existing data in a new scope (decide.h rule 3b). */
/* DATADIR holds standby.signal or recovery.signal: a standby's data. */
bool adopt_standby_data(const char *datadir);
/* Writes S/initialize = "NAME SYSID" (cb may be NULL). */
void adopt_mark_initialized(struct agent *a, keys_done_cb cb, void *arg);
/* The "adopted" log line. */
void adopt_log(const struct agent *a);

/* agent_startfail.c: starts that do not come up (startfail.h). */
/* A start begins now: remember where Postgres' log ends. */
void startfail_begin(struct agent *a);
/* Postgres is down after a start: classify it from its log, once. */
void startfail_observe(struct agent *a);
/* The log written since the start names a known cause already. */
bool startfail_log_fatal(const struct agent *a);
/* It answers: the failures, back-offs and copies in a row are over. */
void startfail_came_up(struct agent *a);
/* The cause and the back-offs left, for decide(). */
void startfail_fill(struct agent *a, struct decide_pg *o);
/* The reason an operator reads, or NULL when no start failed. */
const char *startfail_problem(const struct agent *a, char *buf, size_t cap);

/* agent_standby.c: a standby's hot-standby settings raised to its
 * primary's before it starts (standby_settings.h).  done gets the extra
 * postgres options ("" when none). */
typedef void (*standby_opts_cb)(void *arg, const char *opts);
void standby_settings_check(struct agent *a, const char *base_opts,
			    standby_opts_cb done, void *arg);

/* agent_slots.c: the replication slots of this node (slots.h). */
/* The slots need a look: this node is the primary (lease held) or a
 * standby, and what they depend on changed or the period is over. */
bool slots_due(struct agent *a);
/* Creates and drops what the plan says; done(a) when finished (failures
 * are logged and retried at the next look). */
void slots_reconcile(struct agent *a, void (*done)(struct agent *a));
/* A standby about to be promoted: the SQL that creates, while it is still
 * in recovery, the physical slots of every other member (the old primary
 * included) and the permanent physical ones, so that they hold WAL from
 * before the promotion and exist when the standbys connect ("" when
 * there are none). */
void slots_promotion_sql(struct agent *a, char *buf, size_t cap);
/* primary_slot_name for following m: this node's slot, or "" when m's
 * agent does not keep slots (an older version: it would never stream) or
 * m holds the lease but still runs as a standby (its slots come at
 * promotion). */
const char *slots_follow_name(const struct agent *a, const struct member *m,
			      char *buf);

/* agent.c: a conninfo for this node's Postgres, database dbname. */
void agent_local_conninfo(const struct agent *a, const char *dbname,
			  char *conninfo, size_t cap);
/* agent_requests.c: the operator's requests (fencing/requests.h). */
/* decide() had nothing to do: a request's action due now into out
 * (false: none). */
bool requests_next(struct agent *a, struct decide_action *out);
/* The request's action ended: its result is written. */
void requests_finished(struct agent *a);

/* agent_observe.c: what Postgres is doing right now. */
void observe_pg(struct agent *a, void (*done)(struct agent *a));
void observe_build_self(struct agent *a);

#endif
