/*
 * agent_act_promote.c — taking the primary lease and promoting: the
 * pre_promote hook, the STONITH step (fencing = required, a primary left
 * running in maintenance mode), the watchdog, synchronous mode at the
 * promotion, the history entry of each new primary, and the lease taken
 * back for a primary left running in maintenance mode.  The helpers and
 * the contract are in agent_act_int.h.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_act_int.h"
#include "fencing/flatjson.h"
#include "fencing/pgconf.h"
#include "fencing/roster.h"
#include "fencing/scope_keys.h"
#include "fencing/stonith.h"

/* ---- taking the lease and promoting ------------------------------------ */

void act_acquired(struct agent *a, bool ok, int status, void *arg)
{
	act_finish(arg);
}

/* The history stays bounded: the oldest entries beyond the newest
 * SCOPE_HISTORY_KEEP go once a new one is in. */
static void history_written(struct agent *a, int status, void *arg)
{
	if (status == CLIENT_OK)
		keys_prune(a, "history/", SCOPE_HISTORY_KEEP);
}

/* One entry per new primary, keyed by its token (so LIST returns them in
 * order): the cluster's history, and how a candidate knows whom to fence. */
void act_history_put(struct agent *a, const char *old, const char *reason,
		     uint64_t since_ms)
{
	uint64_t now = clock_wall_ms();
	char json[1024], key[64];
	struct flatjson_writer w;
	flatjson_begin(&w, json, sizeof(json));
	flatjson_put_u64(&w, "time_ms", now);
	flatjson_put_str(&w, "old", old);
	flatjson_put_str(&w, "new", a->conf->name);
	flatjson_put_str(&w, "reason", reason);
	flatjson_put_u64(&w, "token", a->primary.token);
	flatjson_put_u64(&w, "unavailable_ms",
			 since_ms && now > since_ms ? now - since_ms : 0);
	/* where the old timeline ended, as this node last saw it (the
	 * REST API's /history rows) */
	flatjson_put_u64(&w, "timeline", a->self.timeline);
	flatjson_put_u64(&w, "lsn", a->self.replayed_lsn);
	if (!flatjson_end(&w))
		return;
	snprintf(key, sizeof(key), "history/%020llu",
		 (unsigned long long)a->primary.token);
	keys_put(a, key, json, history_written, NULL);
}

/* A switchover to another node that did not happen: this node (the
 * last primary) took the role back, and the request ends here, with the
 * reason in the history for `tenurectl cluster switchover` to show. */
static void history_switch_failed(struct agent *a)
{
	const struct witness_view *v = &a->view;
	char reason[600];
	snprintf(reason, sizeof(reason),
		 "switchover to %s failed: it did "
		 "not take the primary lease within %lld ms (see its agent's "
		 "log); %s took the role back",
		 v->switch_candidate, (long long)(2 * a->live.lease_ttl),
		 a->conf->name);
	char q[800];
	log_event(LOG_WARN, "switchover_failed", "candidate=%s reason=%s",
		  v->switch_candidate, log_quote(reason, q, sizeof(q)));
	act_history_put(a, a->old_primary, reason, v->switch_requested_ms);
	keys_delete(a, "switchover", NULL, NULL);
}

static void history_promoted(struct agent *a)
{
	const struct witness_view *v = &a->view;
	bool planned = v->switch_candidate[0] &&
		       strcmp(v->switch_candidate, a->conf->name) == 0;
	a->switch_done_ms = v->switch_requested_ms;
	/* tenurectl cluster promote: a standby leader, still following
	 * the main cluster (streaming, or its archive alone) when the
	 * setting went: pg_obs, looked at since, no longer says so */
	if (a->followed_main ||
	    strcmp(a->pg_obs.upstream, STANDBY_CLUSTER_UPSTREAM) == 0) {
		a->followed_main = false;
		standby_cluster_promoted(a);
		act_history_put(a, "", "standby cluster promoted", 0);
		return;
	}
	if (v->switch_candidate[0] && !planned && !v->switch_is_failover &&
	    strcmp(a->old_primary, a->conf->name) == 0) {
		history_switch_failed(a);
		return;
	}
	if (planned) {
		/* A failover replaces a primary that may have died long
		 * before the request: the outage runs from its last sign of
		 * life. */
		uint64_t since = v->switch_at_ms > v->switch_requested_ms
					 ? v->switch_at_ms
					 : v->switch_requested_ms;
		uint64_t bar = optime_view_bar(v);
		if (v->switch_force)
			log_event(
				LOG_WARN, "forced_failover",
				"node=%s behind_bytes=%llu note=\"promoted "
				"as the operator forced: commits beyond "
				"this node's position are lost\"",
				a->conf->name,
				(unsigned long long)(bar > a->pg_obs.received_lsn
							     ? bar - a->pg_obs.received_lsn
							     : 0));
		if (v->switch_is_failover && a->old_seen_ms &&
		    a->old_seen_ms < since)
			since = a->old_seen_ms;
		act_history_put(a, a->old_primary,
				!v->switch_is_failover ? "switchover"
				: v->switch_force      ? "forced failover"
						       : "manual failover",
				since);
		keys_delete(a, "switchover", NULL, NULL);
		a->switchovers++;
		return;
	}
	/* The old primary's agent stopped it and said so (S/demoted): a
	 * planned handover, not a failure. */
	char confirmed[AGENT_KEY_MAX];
	snprintf(confirmed, sizeof(confirmed), "%s %llu", a->old_primary,
		 (unsigned long long)a->old_token);
	bool stopped = a->old_primary[0] && strcmp(v->demoted, confirmed) == 0;
	/* Never 0 after an outage: with no sign of life of the old primary
	 * known, its lease had at least a TTL to run out (a lower bound). */
	uint64_t since = a->old_seen_ms;
	if (!since && !stopped && a->old_primary[0])
		since = clock_wall_ms() - (uint64_t)a->live.lease_ttl;
	act_history_put(a, a->old_primary,
			stopped ? "primary stopped" : "primary lease expired",
			since);
	if (a->old_primary[0] && strcmp(a->old_primary, a->conf->name) != 0)
		a->failovers++;
}

static void checkpointed(struct act *x, int status, const char *error,
			 const struct pg_rows *rows)
{
	if (status != 0)
		log_event(LOG_WARN, "checkpoint_failed",
			  "after=promotion err=\"%s\"", error ? error : "");
	act_role_changed(x, "primary");
}

static void promoted(struct act *x, int status, const char *error,
		     const struct pg_rows *rows)
{
	const char *v = status == 0 ? pg_rows_get(rows, 0, 0) : NULL;
	if (!v || v[0] != 't') {
		act_fail(x, "promote_failed",
			 error ? error : "pg_promote said no");
		return;
	}
	struct agent *a = x->a;
	a->promotions++;
	a->promoted_ms = clock_wall_ms();
	a->rewound = false;
	log_event(LOG_INFO, "promoted", "node=%s token=%llu", a->conf->name,
		  (unsigned long long)a->primary.token);
	history_promoted(a);
	char left[MEMBER_STR_MAX];
	if (a->old_primary[0] &&
	    strcmp(unguarded_name(&a->view, left, sizeof(left)),
		   a->old_primary) == 0)
		keys_delete(a, "unguarded", NULL, NULL); /* switched off */
	/* PostgreSQL 15's pg_rewind reads the new timeline from pg_control,
	 * which only a checkpoint updates: without it the old primary would
	 * be told "no rewind required" and could never follow us. */
	act_query(x, "CHECKPOINT", 600000, checkpointed);
}

static void refuse_promotion(struct act *x, const char *why, bool veto_self);

/* Maintenance mode, the agent back: its running primary has the lease
 * again (and the watchdog, when configured: without it the lease goes
 * again and the next tick fences). */
void act_reclaimed(struct agent *a, bool ok, int status, void *arg)
{
	struct act *x = arg;
	if (!ok || !act_arm_watchdog(x)) {
		if (!ok)
			act_finish(x);
		return;
	}
	log_event(LOG_INFO, "reclaimed",
		  "node=%s token=%llu note=\"the "
		  "primary left running in maintenance mode has its lease "
		  "again\"",
		  a->conf->name, (unsigned long long)a->primary.token);
	act_history_put(a, a->conf->name, "agent restarted in maintenance mode",
			0);
	keys_delete(a, "unguarded", NULL, NULL);
	act_finish(x);
}

/* Shorter than what is left of the lease: a host that stops feeding it
 * is reset before anyone else can be promoted.  False when the device
 * cannot be armed: then this node must not become primary, and it must
 * not sit on the lease either (a cluster without a primary while a
 * standby with a working watchdog waits): it releases the lease. */
bool act_arm_watchdog(struct act *x)
{
	struct agent *a = x->a;
	if (!a->conf->watchdog_device || !a->conf->watchdog_device[0] ||
	    a->wd_on)
		return true;
	char note[256];
	uint64_t left = lease_primary_left_ms(a);
	int timeout_s = left >= 2000 ? (int)(left / 1000) : 1;
	if (watchdog_open(a->conf->watchdog_device, timeout_s, &a->wd, note,
			  sizeof(note)) != 0) {
		char why[400], q[600];
		log_event(LOG_ERROR, "watchdog_failed", "device=%s detail=%s",
			  a->conf->watchdog_device,
			  act_one_line(note, q, sizeof(q)));
		snprintf(why, sizeof(why), "watchdog %s cannot be armed: %s",
			 a->conf->watchdog_device, note);
		/* out of the running for a while: another standby, whose
		 * watchdog works, becomes the candidate meanwhile */
		refuse_promotion(x, why, true);
		return false;
	}
	a->wd_on = true;
	log_event(LOG_INFO, "watchdog_armed",
		  "device=%s timeout_s=%d note=\"%s\"",
		  a->conf->watchdog_device, timeout_s, note);
	return true;
}

static void promote_reloaded(struct act *x, int status, const char *error,
			     const struct pg_rows *rows)
{
	if (status != 0) {
		act_fail(x, "reload_failed", error);
		return;
	}
	act_query(x, "SELECT pg_promote(true, 60)", 70000, promoted);
}

/* Synchronous mode: the first commit after the promotion already waits
 * for a standby S/sync names (the others, once they follow): none is
 * acknowledged on this node alone while S/sync still promises a failover
 * to one of them.  The primary's first sync step then narrows as usual. */
static void promote_with_sync(struct act *x)
{
	struct agent *a = x->a;
	char others[512] = "", name[MEMBER_STR_MAX], setting[600], err[256];
	size_t len = 0;
	for (const char *p = a->view.sync;
	     len < sizeof(others) &&
	     (p = roster_list_next(p, name, sizeof(name)));)
		if (name[0] && strcmp(name, a->conf->name) != 0)
			len += (size_t)snprintf(others + len,
						sizeof(others) - len, "%s%s",
						len ? "," : "", name);
	act_format_sync(others, (int)a->live.synchronous_node_count,
			a->live.synchronous_mode_strict != 0, setting,
			sizeof(setting));
	a->sync_since_lsn = 0;
	if (pgconf_auto_set(a->conf->pg_data_dir, "synchronous_standby_names",
			    setting, err, sizeof(err)) != 0) {
		act_fail(x, "pgconf_failed", err);
		return;
	}
	log_event(LOG_INFO, "sync_standbys", "names=\"%s\" when=promotion",
		  others);
	act_query(x, "SELECT pg_reload_conf()", 5000, promote_reloaded);
}

static void promote_slots_made(struct act *x, int status, const char *error,
			       const struct pg_rows *rows)
{
	/* never a reason not to promote: the primary's first look at its
	 * slots creates what is missing, a little later */
	if (status != 0)
		log_event(LOG_WARN, "slots_failed", "when=promotion err=\"%s\"",
			  error ? error : pg_strerror(status));
	else
		log_event(LOG_INFO, "slots_created", "when=promotion count=%s",
			  pg_rows_get(rows, 0, 0) ? pg_rows_get(rows, 0, 0)
						  : "0");
	if (x->a->live.synchronous_mode)
		promote_with_sync(x);
	else
		act_query(x, "SELECT pg_promote(true, 60)", 70000, promoted);
}

static void promote_now(struct act *x)
{
	struct agent *a = x->a;
	static char sql[4096];
	if (!lease_primary_valid(a)) {
		act_fail(x, "promote_refused", "the lease is no longer valid");
		return;
	}
	if (!act_arm_watchdog(x))
		return;
	/* the slots of the others first, while still a standby: they hold
	 * WAL from this node's last restartpoint on, and exist before any
	 * standby connects to the new primary */
	slots_promotion_sql(a, sql, sizeof(sql));
	if (sql[0])
		act_query(x, sql, 5000, promote_slots_made);
	else
		promote_slots_made(x, 0, NULL, &(struct pg_rows){ 0 });
}

/* Releasing after a refused promotion lets another standby try.  A node
 * its own pre_promote hook vetoed (or whose watchdog cannot be armed)
 * stays out of the running for a while;
 * one that could not fence the old primary tries again shortly (the old
 * primary must be fenced by someone before anyone is promoted). */
static void refuse_promotion(struct act *x, const char *why, bool veto_self)
{
	struct agent *a = x->a;
	log_event(LOG_ERROR, "promotion_refused", "node=%s why=\"%s\"",
		  a->conf->name, why);
	if (veto_self)
		a->veto_until = clock_now_ms() + 30000;
	else
		a->retry_after = clock_now_ms() + 2000;
	lease_release_primary(a, act_acquired, x);
}

static void fenced_old(void *arg, bool ok, const char *message)
{
	struct act *x = arg;
	log_event(ok ? LOG_WARN : LOG_ERROR, "stonith",
		  "target=%s ok=%d message=\"%s\"", x->a->old_primary, ok,
		  message);
	if (ok)
		promote_now(x);
	else
		refuse_promotion(x,
				 "STONITH of the old primary failed: NOT "
				 "promoting (fencing = required)",
				 false);
}

/* Fencing required: unless the old primary's agent wrote that it stopped
 * (S/demoted = "NAME TOKEN"), it is switched off before we promote. */
static void promote_fence_step(struct act *x)
{
	struct agent *a = x->a;
	char confirmed[AGENT_KEY_MAX], left[MEMBER_STR_MAX];
	snprintf(confirmed, sizeof(confirmed), "%s %llu", a->old_primary,
		 (unsigned long long)a->old_token);
	/* Maintenance mode left the old primary running without its agent:
	 * nothing stops it but a switch, whatever `fencing` says. */
	bool running = a->old_primary[0] &&
		       strcmp(a->old_primary, a->conf->name) != 0 &&
		       strcmp(unguarded_name(&a->view, left, sizeof(left)),
			      a->old_primary) == 0;
	if (running &&
	    (!a->conf->stonith_command || !a->conf->stonith_command[0])) {
		refuse_promotion(x,
				 "the old primary was left running without "
				 "its agent in maintenance mode and no "
				 "stonith_command can switch it off: start its "
				 "agent again (it takes its lease back), or "
				 "stop "
				 "its Postgres and delete S/unguarded",
				 false);
		return;
	}
	if (!running && (a->conf->fencing == 0 || !a->old_primary[0] ||
			 strcmp(a->old_primary, a->conf->name) == 0 ||
			 strcmp(a->view.demoted, confirmed) == 0)) {
		promote_now(x);
		return;
	}
	if (!a->conf->stonith_command || !a->conf->stonith_command[0]) {
		refuse_promotion(x, "fencing = required but no stonith_command",
				 false);
		return;
	}
	a->fence_actions++;
	if (stonith_fence(a->loop, a->conf->stonith_command, a->old_primary,
			  60000, fenced_old, x) != 0)
		refuse_promotion(x, "could not run stonith_command", false);
}

static void pre_promote_done(struct act *x, const struct spawn_result *r)
{
	if (r->exit_status != 0 || r->term_signal || r->timed_out)
		refuse_promotion(x, "the pre_promote hook vetoed it", true);
	else
		promote_fence_step(x);
}

void act_promote(struct act *x)
{
	const char *hook = x->a->conf->pre_promote;
	if (hook && hook[0])
		act_run_hook(x, hook, "pre_promote", "replica",
			     pre_promote_done);
	else
		promote_fence_step(x);
}
