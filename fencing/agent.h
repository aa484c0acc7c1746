/*
 * agent.h — tenure-agent: one per PostgreSQL host.  It keeps its node's
 * record under SCOPE/members/NAME, holds or contends for the lease
 * SCOPE/primary, and drives Postgres (start, stop, promote, rewind,
 * re-point) so that only the lease holder's Postgres ever accepts writes.
 *
 * Contract
 * --------
 * Everything runs on one libuv loop.  Every tick (renew_interval) the agent
 * observes (Postgres through libpq, the witnesses through the client
 * library), asks decide() (decide.h, a pure function) for the next step,
 * and runs at most one Postgres action at a time.  Lease holding
 * (agent_lease.c) is independent of the tick: renewals, the validity
 * deadline and the guard are driven by their own timers, so a slow action
 * never delays a renewal or the fencing that follows a missed one
 * (docs/design.md rules 3 and 7).
 *
 * Keys (scope S): lease S/primary (holder = node name), lease and key
 * S/members/NAME (the member record, member.h), key S/sync (comma list of
 * nodes that may acknowledge synchronous commits), S/pause, S/switchover,
 * S/initialize, S/demoted (an old primary's "NAME TOKEN": it stopped),
 * S/moved (the scope lives on another trio now: the agent exits 2,
 * agent_moved), S/drill (a failover drill: the primary it names, with
 * that token, fences itself as a dead host would), S/history/<token>; the
 * operator's requests (fencing/requests.h) S/restart (a rolling restart),
 * S/reload/NAME, S/reinit/NAME, and each agent's result S/results/NAME;
 * S/switchover may carry "at_ms" (scheduled: not before that wall-clock
 * time).  The drill results under S/drills/ are never read by the agent.
 *
 * Errors: agent_start returns 0 or -1 with a message in err; after start,
 * failures are logged (log_event) and retried, never returned.
 */
#ifndef TENURE_FENCING_AGENT_H
#define TENURE_FENCING_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "fencing/decide.h"
#include "fencing/guard.h"
#include "fencing/member.h"
#include "fencing/scope_conf.h"

struct agent_conf {
	char *scope;
	char *name;
	char *witnesses;
	char *witness_user;
	char *witness_secret_file;
	char *witness_ca_file;   /* TLS to the witnesses (agent_tls.h) */
	char *witness_cert_file; /* ... with a client certificate */
	char *witness_key_file;
	int64_t lease_ttl;      /* ms */
	int64_t renew_interval; /* ms */
	int64_t fence_time;     /* ms: S of docs/design.md rule 3 */
	int64_t pause_margin;   /* ms: δ of docs/design.md rule 3 */
	char *pg_bin_dir;
	char *pg_data_dir;
	char *pg_listen;
	char *pg_superuser;
	char *pg_superuser_password_file;
	char *pg_database;
	char *replication_user;
	char *replication_password_file;
	char *pg_options;
	char *pg_log_file;
	char *listen_http;
	/* Not a key: what --insecure let through (exposure.h), "" or NULL
	 * when nothing; shown by the API's health bodies. */
	const char *insecure;
	char *http_tls_cert_file; /* HTTPS for the API (agent_tls.h) */
	char *http_tls_key_file;
	char *http_credentials_file; /* who may write (http_auth.h) */
	/* Scope-wide (fencing/scope_conf.h): SCOPE/config's value wins over
	 * these five; the agent reads them through struct agent's live. */
	int synchronous_mode; /* 0 off, 1 on */
	int64_t synchronous_node_count;
	int synchronous_mode_strict;     /* 0 off, 1 on */
	int64_t maximum_lag_on_failover; /* bytes */
	bool nofailover;
	int64_t failover_priority;
	bool nosync; /* tags: member.h */
	bool noloadbalance;
	bool clonefrom;
	char *replicatefrom; /* "" none */
	int fencing;         /* 0 off, 1 required */
	char *stonith_command;
	char *watchdog_device;
	char *pre_promote;
	/* Callbacks (agent_callback below), Patroni's names. */
	char *on_start;
	char *on_stop;
	char *on_restart;
	char *on_reload;
	char *on_role_change;
	int64_t callback_timeout; /* ms: a callback is killed after it */
	int log_level;
	/* Not one key: every `pg.NAME = VALUE` line of the file, as such
	 * lines (pg_params.h): this node's Postgres parameters, over
	 * SCOPE/config's. */
	char *pg_parameters;
};

/* The agent's clock-rate bound ρ of docs/design.md rule 3, in parts per
 * million (fencing/scope_conf.h, where tenurectl finds it too). */
#define AGENT_CLOCK_DRIFT_PPM SCOPE_CLOCK_DRIFT_PPM

struct agent;

/* Starts the agent on loop; guard is the already-forked fence guard.
 * 0, or -1 with a message in err. */
int agent_start(uv_loop_t *loop, const struct agent_conf *conf,
		struct guard *guard, struct agent **out, char *err,
		size_t errlen);
/* Graceful stop: a primary hands over nothing (that is switchover's job);
 * it fences its Postgres if it is the primary, releases its leases and
 * closes everything; on_done runs when the loop can end. */
/* SIGHUP: re-reads the TLS files in force (agent_tls.h); nothing else
 * (settings are read at start). */
void agent_reload(struct agent *a);
/* SIGHUP changed live settings of the agent_conf it runs with (main.c
 * swapped them in): the scope-wide fallbacks and this node's Postgres
 * parameters are applied again at the next tick. */
void agent_config_changed(struct agent *a);
void agent_stop(struct agent *a, void (*on_done)(void *arg), void *arg);
/* Runs the callback NAME (on_start, on_stop, on_restart, on_reload,
 * on_role_change) when this node's file sets one, as `CMD NAME ROLE
 * SCOPE` with the TENURE_* environment (hook_cmd.h); ROLE is "primary" or
 * "replica".  It returns at once: callbacks run in the background, one at
 * a time in the order asked, each killed after callback_timeout; a failure
 * is logged and changes nothing (agent_callback.c). */
void agent_callback(struct agent *a, const char *name, const char *role);
/* The agent stopped itself because another live agent has its name
 * (exit status 2). */
bool agent_refused(const struct agent *a);
/* on_done(arg) once the agent has stopped by itself (it refused). */
void agent_on_stopped(struct agent *a, void (*on_done)(void *arg), void *arg);

#endif
