/*
 * agent.c — see agent.h: start and stop, and the tick that observes,
 * decides and acts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/conf.h"
#include "common/fd_budget.h"
#include "common/http.h"
#include "common/log.h"
#include "fencing/agent_input.h"
#include "fencing/agent_int.h"
#include "fencing/roster.h"
#include "fencing/pgconf.h"
#include "fencing/scope_keys.h"

/* Descriptors the agent keeps for all but its HTTP API: the witnesses,
 * Postgres, the guard, the watchdog, the pipes of the commands it runs,
 * its log, libuv's own.  The API's connections come out of the rest
 * (common/fd_budget.h), so that a flood of health checks never leaves
 * the agent unable to renew its lease or fence. */
#define AGENT_FD_RESERVE 64

static void on_tick(uv_timer_t *t);

static void tick_soon(struct agent *a, uint64_t delay_ms)
{
	if (!a->stopping)
		uv_timer_start(&a->tick_timer, on_tick, delay_ms,
			       (uint64_t)a->live.renew_interval);
}

void agent_kick(struct agent *a)
{
	if (a->busy || a->observing)
		a->kick = true;
	else
		tick_soon(a, 0);
}

/* How soon a frozen standby looks again while its replay settles. */
#define SETTLE_TICK_MS 50

/* The tick a key event wants: at once if none was scheduled for an event
 * within renew_interval, else when that interval ends.  A tick due by
 * then, or within SETTLE_TICK_MS, reads the event as well: it is left as
 * it is and costs nothing of the budget. */
static void event_tick(struct agent *a)
{
	uint64_t now = clock_now_ms();
	uint64_t next = a->event_kick_ms + (uint64_t)a->conf->renew_interval;
	uint64_t delay = a->event_kick_ms && next > now ? next - now : 0;
	uint64_t soon = delay > SETTLE_TICK_MS ? delay : SETTLE_TICK_MS;
	if (uv_is_active((uv_handle_t *)&a->tick_timer) &&
	    uv_timer_get_due_in(&a->tick_timer) <= soon)
		return;
	a->event_kick_ms = now + delay;
	log_event(LOG_DEBUG, "event_tick", "delay_ms=%llu",
		  (unsigned long long)delay);
	tick_soon(a, delay);
}

/* While an action runs or a tick reads, the step (or act_done) after it
 * ticks again anyway or calls event_tick: an event then costs nothing. */
void agent_kick_event(struct agent *a)
{
	a->event_pending = true;
	if (!a->busy && !a->observing)
		event_tick(a);
}

void agent_log_action(struct agent *a, const struct decide_action *act)
{
	const struct decide_action *last = &a->last_action;
	if (act->kind == last->kind && act->reason == last->reason &&
	    strcmp(act->target, last->target) == 0 && act->kind == ACT_NONE)
		return; /* "still waiting for X" once, not every tick */
	log_event(act->kind == ACT_FENCE ? LOG_WARN : LOG_INFO, "decision",
		  "action=%s target=%s reason=\"%s\" role=%s lease_holder=%s",
		  decide_kind_name(act->kind),
		  act->target[0] ? act->target : "-", act->reason,
		  member_role_name(a->self.role),
		  a->view.holder[0] ? a->view.holder : "-");
	a->last_action = *act;
}

static void act_done(struct agent *a)
{
	if (a->req.action[0])
		requests_finished(a);
	a->busy = false;
	a->kick = false;
	tick_soon(a, 20);
}

/* An action changed what the witnesses or Postgres say: the tick after it
 * reads the scope, whatever the watches delivered by then. */
static void action_done(struct agent *a)
{
	view_currency_stale(&a->cur);
	act_done(a);
}

/* How often "the witnesses do not answer" is repeated in the log. */
#define WITNESS_WARN_MS 30000

/* One clear warning when the witnesses stop answering, repeated every
 * WITNESS_WARN_MS while it lasts, and one line when they answer again. */
static void note_witnesses(struct agent *a, bool view_ok, uint64_t now)
{
	char q[600];
	if (view_ok) {
		if (a->witnesses_down_since)
			log_event(
				LOG_INFO, "witnesses_reachable",
				"after_ms=%llu",
				(unsigned long long)(now -
						     a->witnesses_down_since));
		a->witnesses_down_since = 0;
		return;
	}
	if (!a->witnesses_down_since) {
		a->witnesses_down_since = now;
		a->witnesses_warned_ms = 0;
	}
	if (a->witnesses_warned_ms &&
	    now - a->witnesses_warned_ms < WITNESS_WARN_MS)
		return;
	a->witnesses_warned_ms = now;
	log_event(LOG_WARN, "witnesses_unreachable",
		  "for_ms=%llu witnesses=%s last_error=%s hint=\"check that "
		  "tenured runs at these addresses (their listen_client) and "
		  "that this host reaches them; the agent keeps retrying, and "
		  "no node is promoted until they answer\"",
		  (unsigned long long)(now - a->witnesses_down_since),
		  a->conf->witnesses,
		  log_quote(a->witness_error[0] ? a->witness_error : "none", q,
			    sizeof(q)));
}

static void set_waiting(struct decide_action *act, const char *why)
{
	act->kind = ACT_NONE;
	act->target[0] = '\0';
	act->reason = why;
}

static void step(struct agent *a, bool view_ok)
{
	static struct agent_input_bufs bufs;
	note_witnesses(a, view_ok, clock_now_ms());
	/* Before any lease is taken here: a scope moved to another trio
	 * must never get a primary from these witnesses too. */
	if (view_ok && a->view.moved[0]) {
		agent_moved(a);
		return;
	}
	if (view_ok && !a->scope_checked)
		a->scope_checked = true;
	observe_build_self(a);
	/* the member lease without waiting: at the start, and when the
	 * record leaves the primary lease (record_lease.h) */
	lease_member_tend(a);
	if (a->refused)
		return; /* another process has this name (agent_lease.c) */
	keys_publish_self(a);
	optime_publish(a);
	if (view_ok && a->member_held_once)
		unguarded_clear_if_stale(a);
	const struct witness_view *v = &a->view;
	uint64_t now = clock_now_ms();
	if (view_ok && a->primary.held && v->holder[0] &&
	    strcmp(v->holder, a->conf->name) != 0) {
		lease_fence_now(a, "the witnesses name another holder");
		return;
	}
	if (view_ok && a->primary.held && v->drill_token == a->primary.token &&
	    strcmp(v->drill_target, a->conf->name) == 0) {
		/* A failover rehearsal: stop as a dead host would (no release,
		 * the lease runs out at the witnesses), and do not take the
		 * lease again before it has. */
		log_event(LOG_WARN, "drill", "kind=failover token=%llu",
			  (unsigned long long)a->primary.token);
		a->retry_after = now + (uint64_t)a->live.lease_ttl + 500;
		lease_fence_now(a, "drill: the primary plays dead");
		return;
	}
	if (view_ok) {
		scope_apply(a);
		params_step(a);
		archive_step(a);
	}
	/* Not known (just promoted, or this agent restarted): the position
	 * now is at or above any commit acknowledged so far. */
	if (a->pg_obs.state != PG_PRIMARY)
		a->sync_since_lsn = 0;
	else if (!a->sync_since_lsn)
		a->sync_since_lsn = a->pg_obs.received_lsn;
	if (v->holder[0] || !a->lease_free_since)
		a->lease_free_since = v->holder[0] ? 0 : now;
	struct agent_facts f = {
		.name = a->conf->name,
		.holder_id = a->holder_id,
		.sync_mode = a->live.synchronous_mode != 0,
		.max_lag = (uint64_t)a->live.maximum_lag_on_failover,
		.sync_count = (int)a->live.synchronous_node_count,
		.sync_strict = a->live.synchronous_mode_strict != 0,
		.lease_ttl = (uint64_t)a->live.lease_ttl,
		.nofailover = a->conf->nofailover != 0,
		.standby_cluster = standby_cluster_active(&a->live.standby),
		.standby_streams = a->live.standby.set[STANDBY_KEY_HOSTS],
		.now_ms = now,
		.wall_ms = clock_wall_ms(),
		.started_ms = a->started_ms,
		.veto_until = a->veto_until,
		.lease_free_since = a->lease_free_since,
		.switch_done_ms = a->switch_done_ms,
		.view_ok = view_ok,
		.lease_valid = lease_primary_valid(a),
		.sync_since_lsn = a->sync_since_lsn,
		.pg = &a->pg_obs,
		.self = &a->self,
	};
	struct decide_input in;
	agent_build_input(&f, v, &bufs, &in);
	struct decide_action act;
	decide(&in, &act);
	/* Nothing but fencing before this process holds its member lease:
	 * another agent with this name may be alive (agent_lease.c). */
	if (!a->member_held_once && act.kind != ACT_FENCE)
		set_waiting(&act, "waiting for this node's member lease");
	if (act.kind != ACT_FENCE && now < a->retry_after)
		act.kind = ACT_NONE; /* the last attempt failed just now */
	else if (act.kind == ACT_NONE && view_ok && a->member_held_once &&
		 requests_next(a, &act))
		agent_log_action(a, &act); /* an operator's request */
	else
		agent_log_action(a, &act);
	a->status_reason = act.reason;
	if (act.kind == ACT_NONE && slots_due(a)) {
		/* between actions: never while a promotion runs */
		a->busy = true;
		slots_reconcile(a, act_done);
		return;
	}
	if (act.kind == ACT_NONE) {
		if (a->kick || a->frozen_settling) {
			a->kick = false;
			tick_soon(a, a->frozen_settling ? SETTLE_TICK_MS : 10);
		} else if (a->event_pending) {
			event_tick(a);
		}
		return;
	}
	a->busy = true;
	act_run(a, &act, action_done);
}

static void read_done(struct agent *a, bool view_ok)
{
	a->view_ok = a->view_ok && view_ok;
	if (--a->pending_reads > 0)
		return;
	a->observing = false;
	if (!a->stopping)
		step(a, a->view_ok);
}

static void pg_observed(struct agent *a)
{
	read_done(a, true);
}

static void on_tick(uv_timer_t *t)
{
	struct agent *a = t->data;
	if (a->busy || a->observing || a->stopping) {
		a->kick = true;
		return;
	}
	/* At rest the view read last still stands (view_currency.h): only
	 * Postgres is looked at. */
	bool current = view_currency_current(&a->cur, &a->view, clock_now_ms(),
					     (uint64_t)a->live.renew_interval);
	a->observing = true;
	a->event_pending = false; /* these reads see it */
	a->view_ok = true;
	a->pending_reads = current ? 1 : 2;
	observe_pg(a, pg_observed);
	if (!current)
		keys_read_view(a, read_done);
}

/* ---- HTTP view ---------------------------------------------------------- */

/* What /health says is wrong, and what to do, or NULL. */
static const char *problem(struct agent *a)
{
	const struct decide_pg *o = &a->pg_obs;
	if (a->witnesses_down_since) {
		snprintf(a->problem, sizeof(a->problem),
			 "the witnesses (%s) have not answered for %llu ms "
			 "(last error: %s): check that tenured runs there and "
			 "that this host reaches them; the agent keeps "
			 "retrying",
			 a->conf->witnesses,
			 (unsigned long long)(clock_now_ms() -
					      a->witnesses_down_since),
			 a->witness_error[0] ? a->witness_error : "none");
		return a->problem;
	}
	if (o->state == PG_PRIMARY || o->state == PG_REPLICA ||
	    !a->status_reason)
		return NULL;
	char start[400];
	const char *why = startfail_problem(a, start, sizeof(start));
	snprintf(a->problem, sizeof(a->problem),
		 "Postgres is %s: %s%s%s; see "
		 "the agent's log and %s",
		 a->self.state, a->status_reason, why ? "; " : "",
		 why ? why : "",
		 a->conf->pg_log_file ? a->conf->pg_log_file : "Postgres' log");
	return a->problem;
}

static void fill_view(void *arg, struct api_view *v)
{
	static const char *history[AGENT_MAX_HISTORY];
	struct agent *a = arg;
	memset(v, 0, sizeof(*v));
	v->scope = a->conf->scope;
	v->self = &a->self;
	v->members = a->view.members;
	v->n_members = a->view.n_members;
	v->leader = a->view.holder;
	v->writable_primary = a->pg_obs.state == PG_PRIMARY &&
			      lease_primary_valid(a);
	v->lease_valid_ms = lease_primary_left_ms(a);
	v->lease_token = a->primary.held ? a->primary.token : 0;
	v->paused = a->view.paused;
	v->standby_cluster = standby_cluster_active(&a->live.standby);
	v->pg_running = a->pg_obs.state == PG_PRIMARY ||
			a->pg_obs.state == PG_REPLICA;
	v->agent_ready = !a->stopping;
	for (size_t i = 0; i < a->view.n_history; i++)
		history[i] = a->view.history[i];
	v->history = history;
	v->n_history = a->view.n_history;
	v->failovers = a->failovers;
	v->switchovers = a->switchovers;
	v->promotions = a->promotions;
	v->demotions = a->demotions;
	v->fence_actions = a->fence_actions;
	v->renew_failures = a->primary.renew_failures;
	v->ttl_ms = (uint64_t)a->live.lease_ttl;
	v->sync_standbys = a->view.sync;
	v->conf = &a->live;
	v->problem = problem(a);
	v->insecure = a->conf->insecure;
	v->slots = a->slots_seen;
	v->n_slots = a->n_slots_seen;
	for (size_t i = 0; i < a->view.n_results; i++)
		if (strcmp(a->view.results[i].name, a->conf->name) == 0)
			v->result = &a->view.results[i].res;
}

/* ---- start ------------------------------------------------------------------ */

static void tclient_log(void *arg, const char *level, const char *msg)
{
	struct agent *a = arg;
	char q[600];
	bool warn = strcmp(level, "warn") == 0;
	if (warn)
		snprintf(a->witness_error, sizeof(a->witness_error), "%s", msg);
	/* While none answers, witnesses_unreachable repeats the last
	 * complaint every WITNESS_WARN_MS: not one line per retry. */
	log_event(warn && !a->witnesses_down_since ? LOG_WARN : LOG_DEBUG,
		  "witnesses", "msg=%s", log_quote(msg, q, sizeof(q)));
}

static int split_endpoints(char *list, const char **eps, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *p = strtok_r(list, ",", &save); p && n < max;
	     p = strtok_r(NULL, ",", &save))
		eps[n++] = p;
	return (int)n;
}

static int connect_witnesses(struct agent *a, char *err, size_t errlen)
{
	const char *eps[16];
	a->endpoints = strdup(a->conf->witnesses);
	if (!a->endpoints)
		return -1;
	int n = split_endpoints(a->endpoints, eps, 16);
	struct tclient_options o = {
		.endpoints = eps,
		.n_endpoints = (size_t)n,
		.user = a->conf->witness_user,
		.secret = a->witness_secret,
		.tls = a->tls.witness,
		.client_name = a->conf->name,
		.timeout_ms = (uint64_t)a->live.lease_ttl,
		.connect_timeout_ms = (uint64_t)a->live.renew_interval,
		.backoff_base_ms = 20,
		/* A fifth of the interval: while the witnesses elect a
		 * leader (0.2-0.4 s), a renewal's retries find the new one
		 * within 100 ms instead of sleeping past their one-interval
		 * deadline; still a few requests a second (rule 10). */
		.backoff_cap_ms = (uint64_t)a->live.renew_interval / 5,
		/* A quarter of the interval (125 ms at 500 ms): below the
		 * witnesses' election timeout (200 ms and more), so a lost
		 * leader's clients spread their reconnects at no cost. */
		.reconnect_spread_ms = (uint64_t)a->live.renew_interval / 4,
		/* A lost witness leader: straight to the one that campaigns
		 * first, not half the fleet to a follower. */
		.ask_successor = true,
		/* A breaker would fail renewals fast while the witnesses
		 * elect a leader: the lease's own deadline is the limit. */
		.breaker_threshold = 1000000,
		.log = tclient_log,
		.log_arg = a,
	};
	if (n == 0 || tclient_new(a->loop, &o, &a->tc) != 0) {
		snprintf(err, errlen,
			 "witnesses '%s': expected a comma-separated list of "
			 "IP:port client addresses of the tenured witnesses",
			 a->conf->witnesses);
		return -1;
	}
	return 0;
}

/* A password goes into a conninfo, a primary_conninfo and a CREATE ROLE
 * statement: refuse what would need quoting in any of them, rather than
 * quote three ways (a generated password is hex anyway). */
static const char *password_problem(const char *pw)
{
	if (strlen(pw) < 8)
		return "is shorter than 8 characters";
	for (const char *p = pw; *p; p++)
		if (*p <= ' ' || *p > '~' || strchr("'\\\"$", *p))
			return "holds a blank, a quote, a backslash, a '$' or "
			       "a "
			       "non-ASCII character";
	return NULL;
}

static int read_password(const char *key, const char *path, char **out,
			 char *err, size_t errlen)
{
	char why[600];
	const char *problem;

	*out = NULL;
	if (!path || !path[0])
		return 0;
	if (!(*out = conf_read_secret(path, why, sizeof(why)))) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	if ((problem = password_problem(*out))) {
		snprintf(err, errlen,
			 "%s %s: the password %s (use letters, digits and "
			 "punctuation such as -_.+=/; e.g. openssl rand -hex "
			 "24)",
			 key, path, problem);
		return -1;
	}
	return 0;
}

static int read_pg_passwords(struct agent *a, char *err, size_t errlen)
{
	const struct agent_conf *c = a->conf;
	return read_password("pg_superuser_password_file",
			     c->pg_superuser_password_file, &a->pg_password,
			     err, errlen) ||
	       read_password("replication_password_file",
			     c->replication_password_file,
			     &a->replication_password, err, errlen);
}

void agent_local_conninfo(const struct agent *a, const char *dbname,
			  char *conninfo, size_t cap)
{
	char host[256], port[16];
	roster_split_pg(a->conf->pg_listen, host, sizeof(host), port,
			sizeof(port));
	conninfo[0] = '\0';
	pgconf_conninfo_append(conninfo, cap, "host", host);
	pgconf_conninfo_append(conninfo, cap, "port", port);
	pgconf_conninfo_append(conninfo, cap, "user", a->conf->pg_superuser);
	if (a->pg_password)
		pgconf_conninfo_append(conninfo, cap, "password",
				       a->pg_password);
	pgconf_conninfo_append(conninfo, cap, "dbname", dbname);
	pgconf_conninfo_append(conninfo, cap, "connect_timeout", "2");
	pgconf_conninfo_append(conninfo, cap, "application_name",
			       "tenure-agent");
	/* Its own Postgres, on this host: encryption buys nothing here, and
	 * not loading OpenSSL and Kerberos keeps the agent's memory small. */
	pgconf_conninfo_append(conninfo, cap, "sslmode", "disable");
	pgconf_conninfo_append(conninfo, cap, "gssencmode", "disable");
}

static int connect_pg(struct agent *a, char *err, size_t errlen)
{
	const char *addr = a->conf->pg_listen;
	const char *colon = strrchr(addr, ':');
	if (!colon || colon == addr || atoi(colon + 1) <= 0) {
		snprintf(err, errlen,
			 "pg_listen '%s': expected host:port, the address "
			 "this node's Postgres listens on",
			 addr);
		return -1;
	}
	char conninfo[1024];
	agent_local_conninfo(a, a->conf->pg_database, conninfo,
			     sizeof(conninfo));
	if (pg_conn_new(a->loop, conninfo, &a->pg) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void closed_nothing(void *arg)
{
	(void)arg;
}

/* A start that failed half way: close what did open and let the loop
 * finish those closes, so that the process (which exits next, status 2)
 * leaves nothing allocated behind it. */
static void abandon_start(uv_loop_t *loop, struct agent *a)
{
	if (a->api)
		api_close(a->api, closed_nothing, NULL);
	if (a->pg)
		pg_conn_close(a->pg, closed_nothing, NULL);
	if (a->tc)
		tclient_close(a->tc, closed_nothing, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	free(a->endpoints);
	free(a->witness_secret);
	http_auth_free(a->http_auth);
	free(a->pg_password);
	free(a->replication_password);
	agent_tls_free(&a->tls);
	lease_trace_close(&a->trace);
	free(a);
}

/* "NAME/INCARNATION" with 64 random bits: unique per process. */
static void make_holder_id(struct agent *a)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = clock_now_ms() ^ ((uint64_t)getpid() << 32) ^
		    (uint64_t)(uintptr_t)a;
	snprintf(a->holder_id, sizeof(a->holder_id), "%s/%016llx",
		 a->conf->name, (unsigned long long)r);
}

int agent_start(uv_loop_t *loop, const struct agent_conf *conf,
		struct guard *guard, struct agent **out, char *err,
		size_t errlen)
{
	struct agent *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	a->loop = loop;
	a->conf = conf;
	a->trace.fd = -1;
	make_holder_id(a);
	a->guard = guard;
	a->started_ms = clock_now_ms();
	scope_init(a);
	params_init(a);
	if (conf->witness_user && conf->witness_user[0] &&
	    (!conf->witness_secret_file || !conf->witness_secret_file[0])) {
		snprintf(err, errlen,
			 "witness_user is set but witness_secret_file is not: "
			 "name the file holding its secret");
		goto fail;
	}
	if (conf->witness_user && conf->witness_user[0] &&
	    !(a->witness_secret = conf_read_secret(conf->witness_secret_file,
						   err, errlen)))
		goto fail;
	if (read_pg_passwords(a, err, errlen) != 0)
		goto fail;
	if (conf->http_credentials_file && conf->http_credentials_file[0] &&
	    !(a->http_auth = http_auth_load(conf->http_credentials_file, err,
					    errlen)))
		goto fail;
	if (lease_trace_open(&a->trace, conf->lease_trace_file, err, errlen) !=
		    0 ||
	    agent_tls_load(conf, &a->tls, err, errlen) != 0 ||
	    connect_witnesses(a, err, errlen) != 0 ||
	    connect_pg(a, err, errlen) != 0)
		goto fail;
	if (api_start(loop, conf->listen_http, a->tls.http,
		      http_connection_cap(fd_budget(AGENT_FD_RESERVE)),
		      fill_view, a, &a->api, err, errlen) != 0)
		goto fail;
	api_set_writes(a->api, &(struct api_writes){
				       .tc = a->tc,
				       .scope = conf->scope,
				       .auth = a->http_auth,
				       .fence_time = conf->fence_time,
				       .pause_margin = conf->pause_margin,
			       });
	lease_init(a);
	keys_watch_start(a);
	uv_timer_init(loop, &a->tick_timer);
	a->tick_timer.data = a;
	tick_soon(a, 0);
	log_event(LOG_INFO, "agent_started",
		  "name=%s scope=%s ttl_ms=%lld witnesses=%s", conf->name,
		  conf->scope, (long long)conf->lease_ttl, conf->witnesses);
	*out = a;
	return 0;
fail:
	abandon_start(loop, a);
	return -1;
}

/* ---- stop ------------------------------------------------------------------- */

bool agent_refused(const struct agent *a)
{
	return a->refused;
}

void agent_reload(struct agent *a)
{
	agent_tls_reload(&a->tls);
}

void agent_config_changed(struct agent *a)
{
	a->scope_dirty = true;
	memset(&a->params.node, 0, sizeof(a->params.node));
	params_init(a);
	agent_kick(a);
}

void agent_on_stopped(struct agent *a, void (*on_done)(void *arg), void *arg)
{
	a->on_stopped = on_done;
	a->on_stopped_arg = arg;
}

static void close_all(struct agent *a);

/* Another live agent has this node's name: stop without touching
 * Postgres (it may be that agent's), except to fence a primary this one
 * ran (its guard would on exit anyway). */
void agent_refuse(struct agent *a, const char *why)
{
	if (a->stopping)
		return;
	log_event(LOG_ERROR, "name_conflict",
		  "name=%s holder=%s why=\"%s\" "
		  "hint=\"two agents must not share a name: stop the other "
		  "one, or give this one another name\"",
		  a->conf->name, a->holder_id, why);
	a->refused = true;
	a->stopping = true;
	if (a->primary.held)
		lease_fence_now(a, "another agent has this node's name");
	uv_timer_stop(&a->lease_timer);
	uv_timer_stop(&a->fence_timer);
	close_all(a);
}

void agent_moved(struct agent *a)
{
	if (a->stopping)
		return;
	char q[AGENT_KEY_MAX + 32];
	log_event(LOG_ERROR, "scope_moved",
		  "scope=%s to=%s note=\"scope %s moved to trio %s: point "
		  "`witnesses` there\" hint=\"this agent does nothing to "
		  "Postgres and exits 2; change witnesses in its "
		  "configuration file and start it again\"",
		  a->conf->scope, log_quote(a->view.moved, q, sizeof(q)),
		  a->conf->scope, a->view.moved);
	a->refused = true;
	if (a->primary.held || a->member.held) {
		/* Started before the move was written (cluster move refuses
		 * while an agent runs): the stop of a SIGTERM, which while
		 * paused leaves Postgres running. */
		agent_stop(a, a->on_stopped, a->on_stopped_arg);
		return;
	}
	a->stopping = true;
	uv_timer_stop(&a->lease_timer);
	uv_timer_stop(&a->fence_timer);
	close_all(a);
}

static void closed_part(void *arg)
{
	struct agent *a = arg;
	if (--a->closing_handles == 0 && a->on_stopped)
		a->on_stopped(a->on_stopped_arg);
}

static void closed_one(uv_handle_t *h)
{
	closed_part(h->data);
}

static void close_all(struct agent *a)
{
	a->closing_handles = 6;
	uv_close((uv_handle_t *)&a->tick_timer, closed_one);
	uv_close((uv_handle_t *)&a->lease_timer, closed_one);
	uv_close((uv_handle_t *)&a->fence_timer, closed_one);
	tclient_close(a->tc, closed_part, a);
	pg_conn_close(a->pg, closed_part, a);
	api_close(a->api, closed_part, a);
}

static void member_released(struct agent *a, bool ok, int status, void *arg)
{
	close_all(a);
}

/* A clean stop takes this node out of `cluster list` at once (its record
 * would otherwise say "streaming" until its member lease ran out). */
static void stop_released(struct agent *a, bool ok, int status, void *arg)
{
	lease_release_member(a, member_released, NULL);
}

static void stop_pg_done(struct agent *a)
{
	if (a->primary.held) {
		char demoted[AGENT_KEY_MAX];
		snprintf(demoted, sizeof(demoted), "%s %llu", a->conf->name,
			 (unsigned long long)a->primary.token);
		keys_put(a, "demoted", demoted, NULL, NULL);
	}
	lease_release_primary(a, stop_released, NULL);
}

static void stop_pg_now(struct agent *a)
{
	act_stop_pg(a, stop_pg_done);
}

static void stop_when_idle(uv_timer_t *t)
{
	struct agent *a = t->data;
	if (a->busy || a->observing)
		return; /* an action finishes first */
	uv_timer_stop(t);
	log_event(LOG_INFO, "agent_stopping", "name=%s primary=%d paused=%d",
		  a->conf->name, a->primary.held, a->view.paused);
	if (a->view.paused && a->view_ok &&
	    (a->pg_obs.state == PG_PRIMARY || a->pg_obs.state == PG_REPLICA))
		unguarded_leave_running(a, stop_pg_now, stop_released);
	else
		stop_pg_now(a);
}

void agent_stop(struct agent *a, void (*on_done)(void *arg), void *arg)
{
	if (a->stopping)
		return;
	a->stopping = true;
	a->on_stopped = on_done;
	a->on_stopped_arg = arg;
	uv_timer_stop(&a->lease_timer);
	/* Renewals go on (lease_on_timer checks stopping) only until
	 * Postgres is down: keep the fence timer. */
	uv_timer_start(&a->tick_timer, stop_when_idle, 0, 50);
}
