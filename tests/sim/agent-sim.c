/*
 * agent-sim.c — a deterministic simulation of the fencing layer: three
 * agents (real decide() and the agent's own input-building code), their
 * simulated Postgres servers and a lease store in one process, driven by
 * a seed, with faults and operator actions, the invariants checked after
 * every step (agentsim_check.c).  docs/agent-sim.md says what is modelled.
 *
 *   tests/sim/agent-sim --seed N [--steps K] [--verbose] [--bug NAME]
 *   tests/sim/agent-sim --seeds A-B [--steps K] [--bug NAME]
 *
 * A failing seed prints its violation and a replay line.  Exit status: 0
 * every seed passed, 1 one failed (the first is named), 2 usage.
 *
 * Layout: PRNG; setup; faults and operator actions; workload; the loop;
 * options and main.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fencing/flatjson.h"
#include "tests/sim/agentsim.h"

#define DEFAULT_STEPS 12000 /* x SIM_STEP_MS: one simulated minute */
#define DEFAULT_MAX_LAG 1048576
#define DEFAULT_RATE_BOUND 200

static const char *const bug_names[] = {
	[BUG_NONE] = "none",
	[BUG_FORGET_POSITION] = "forget-position",
	[BUG_PAUSE_STOP] = "pause-stop",
	[BUG_SAME_NAME] = "same-name",
	[BUG_FLOOD] = "flood",
	[BUG_SYNC_ROLLING] = "sync-rolling",
	[BUG_NOFAILOVER_BOOTSTRAP] = "nofailover-bootstrap",
	[BUG_STALE_REQUEST] = "stale-request",
	[BUG_RECLONE_LOOP] = "reclone-loop",
	[BUG_SYNC_QUORUM] = "sync-quorum",
	[BUG_STANDBY_IGNORED] = "standby-ignored",
};

/* ---- PRNG (splitmix64) ---------------------------------------------------- */

uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return lo + rng_next(r) % (hi - lo + 1);
}

bool rng_chance(struct rng *r, unsigned per_mille)
{
	return rng_next(r) % 1000 < per_mille;
}

/* ---- setup ----------------------------------------------------------------- */

static void setup(struct sim *s, const struct sim_opts *o, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->rng.s = seed * 0x2545f4914f6cdd1dull + 1;
	s->n_nodes = 3;
	s->next_tl = 1;
	bool sync = o->sync_mode || rng_chance(&s->rng, 500);
	/* --bug sync-rolling turns synchronous mode on node by node */
	if (o->bug == BUG_SYNC_ROLLING)
		sync = o->sync_mode;
	s->sync_setting = sync;
	for (int i = 0; i < SIM_MAX_HOSTS; i++) {
		struct sim_host *h = &s->hosts[i];
		h->drift_ppm = (int64_t)rng_range(&s->rng, 0,
						  2 * SIM_DRIFT_PPM / 2) -
			       SIM_DRIFT_PPM / 2;
		h->clock_base = rng_range(&s->rng, 1000, 100000000);
		h->up = true;
		h->pg.upstream = -1;
		struct sim_agent *a = &s->agents[i];
		a->host = i;
		a->sync_mode = sync;
		a->max_lag = o->max_lag;
		if (i < s->n_nodes) {
			snprintf(a->name, sizeof(a->name), "n%d", i + 1);
			a->exists = true;
			a->restart_at = 1 + rng_range(&s->rng, 0, 300);
		}
	}
	/* A node that is never promoted: n3 in every fourth seed and with
	 * --bug nofailover-bootstrap (no draw: other seeds are unchanged). */
	if (seed % 4 == 0 || o->bug == BUG_NOFAILOVER_BOOTSTRAP)
		s->agents[2].nofailover = true;
	/* A request left by a tenurectl interrupted ten minutes ago: the
	 * agents ignore it, the next tenurectl replaces it.  With
	 * --leftover-request and --bug stale-request. */
	if (o->leftover_request || o->bug == BUG_STALE_REQUEST) {
		char v[200];
		snprintf(v, sizeof(v),
			 "{\"candidate\":\"n2\",\"from\":\"n1\","
			 "\"kind\":\"switchover\",\"requested_ms\":%llu}",
			 (unsigned long long)(sim_op_wall(s) - 600000));
		store_put(s, -1, SIM_REQUEST_KEY, v, NULL, 0);
	}
	for (int t = 0; t < SIM_MAX_TL; t++)
		s->tls[t].host = -1;
	if (o->standby_cluster)
		standby_setup(s);
	/* Half the seeds have a standby whose starts fail, drawn from a
	 * PRNG of its own: the other draws of every seed are unchanged. */
	s->sf_rng.s = seed * 0x9e3779b97f4a7c15ull + 0x5f;
	if (rng_chance(&s->sf_rng, 500))
		s->sf_at = rng_range(&s->sf_rng, 22000, 42000);
}

/* ---- faults and operator actions -------------------------------------- */

struct sched {
	uint64_t next_fault;
	/* --bug sync-rolling: the rolling change under way */
	bool rolled;
	int roll_step; /* 0, 1: standbys, 2: switchover, 3: primary */
	int roll_order[3];
	uint64_t roll_at;
	uint64_t resume_at;
	uint64_t stop_primary_at;
	uint64_t host_up_at[SIM_MAX_HOSTS];
	uint64_t uncut_at[SIM_MAX_HOSTS];
};

/* A writable primary of the scope (not --standby-cluster's main one). */
static int primary_host(struct sim *s)
{
	for (int h = 0; h < SIM_MAX_HOSTS; h++)
		if (sim_writable(s, h) &&
		    !(s->o->standby_cluster && h == SIM_MAIN_HOST))
			if (sim_writable(s, h))
				return h;
	return -1;
}

static int some_node(struct sim *s)
{
	return (int)rng_range(&s->rng, 0, (uint64_t)s->n_nodes - 1);
}

static int other_node(struct sim *s, int not )
{
	int h = some_node(s);
	return h == not ? (h + 1) % s->n_nodes : h;
}

static void mark(struct sim *s, int h)
{
	s->hosts[h].fault_ms = s->now;
	s->last_fault_ms = s->now;
}

static void host_crash(struct sim *s, struct sched *q, int h, uint64_t ms)
{
	if (!s->hosts[h].up)
		return;
	sim_log(s, "FAULT host %d crashes for %llu ms", h,
		(unsigned long long)ms);
	mark(s, h);
	s->hosts[h].up = false;
	s->hosts[h].guard_armed = false;
	pg_crash(s, h);
	s->agents[h].phase = AG_DOWN;
	s->agents[h].restart_at = 0;
	q->host_up_at[h] = s->now + ms;
}

static void cut(struct sim *s, struct sched *q, int h, bool isolate,
		uint64_t ms)
{
	sim_log(s, "FAULT host %d %s for %llu ms", h,
		isolate ? "isolated" : "cut from the store",
		(unsigned long long)ms);
	mark(s, h);
	s->hosts[h].cut = true;
	s->hosts[h].isolated = isolate;
	q->uncut_at[h] = s->now + ms;
}

/* tenurectl cluster switchover / failover (ctl_pgcluster.c
 * request_handover): S/switchover is written unless a request is
 * pending, a stale one is replaced; tenurectl waits TENURECTL_WAIT_MS
 * and withdraws its request if it was not carried out by then.
 * --bug stale-request: any pending request refuses, as before. */
#define TENURECTL_WAIT_MS 30000
static void put_switch(struct sim *s, const char *cand, const char *from,
		       const char *kind)
{
	char v[600];
	snprintf(v, sizeof(v),
		 "{\"candidate\":\"%s\",\"from\":\"%s\",\"kind\":"
		 "\"%s\",\"requested_ms\":%llu}",
		 cand, from, kind, (unsigned long long)sim_op_wall(s));
	s->op_request_ms = s->now;
	s->requests++;
	memset(&s->req, 0, sizeof(s->req));
	s->req.open = true;
	s->req.at = s->now;
	snprintf(s->req.candidate, sizeof(s->req.candidate), "%s", cand);
	const char *cur = store_get(s, -1, SIM_REQUEST_KEY);
	if (cur) {
		bool stale = sim_request_stale(s, cur);
		if (!stale || s->o->bug == BUG_STALE_REQUEST) {
			sim_log(s,
				"OPERATOR %s to %s refused by tenurectl: a "
				"request is already pending%s",
				kind, cand, stale ? " (stale)" : "");
			s->requests_refused++;
			/* a live request pending: answered with its reason */
			s->req.refused_stale = stale;
			s->req.open = stale;
			return;
		}
		sim_log(s, "tenurectl replaces a stale request");
	}
	store_put(s, -1, SIM_REQUEST_KEY, v, NULL, 0);
	snprintf(s->req.sent, sizeof(s->req.sent), "%s", v);
	s->req.withdraw_at = s->now + TENURECTL_WAIT_MS;
	sim_log(s, "OPERATOR %s to %s", kind, cand);
}

/* tenurectl's wait ended: its request, still there, is withdrawn. */
static void tenurectl_wait(struct sim *s)
{
	if (!s->req.withdraw_at || s->now < s->req.withdraw_at)
		return;
	s->req.withdraw_at = 0;
	const char *cur = store_get(s, -1, SIM_REQUEST_KEY);
	if (cur && strcmp(cur, s->req.sent) == 0) {
		store_delete(s, -1, SIM_REQUEST_KEY);
		s->requests_withdrawn++;
		sim_log(s,
			"OPERATOR's request to %s withdrawn by tenurectl "
			"(not carried out in %d s)",
			s->req.candidate, TENURECTL_WAIT_MS / 1000);
	}
}

/* --bug sync-rolling: synchronous_mode turned on in each node's file, one
 * node at a time (its agent restarted), the standbys first, then a
 * switchover to the first of them, then the old primary. */
static void rolling(struct sim *s, struct sched *q)
{
	if (!q->rolled) {
		int p = primary_host(s), k = 0;
		for (int h = 0; h < s->n_nodes; h++)
			if (h != p)
				q->roll_order[k++] = h;
		q->roll_order[k] = p >= 0 ? p : s->n_nodes - 1;
		q->rolled = true;
		q->roll_step = 0;
		q->roll_at = s->now;
		sim_log(s, "OPERATOR rolling change: synchronous_mode = on in "
			   "each node's file");
	}
	if (!q->roll_at || s->now < q->roll_at)
		return;
	int step = q->roll_step++;
	q->roll_at = step < 3 ? s->now + rng_range(&s->rng, 4000, 6000) : 0;
	if (step == 2) {
		int p = primary_host(s), c = q->roll_order[0];
		if (p >= 0 && p != c)
			put_switch(s, s->agents[c].name, s->agents[p].name,
				   "switchover");
		return;
	}
	int h = q->roll_order[step < 2 ? step : 2];
	struct sim_agent *a = &s->agents[h];
	a->sync_mode = true;
	sim_log(s, "OPERATOR synchronous_mode = on in %s's file, restarts it",
		a->name);
	agent_stop(s, h);
	a->restart_at = s->now + rng_range(&s->rng, 300, 2000);
}

/* A standby's Postgres exits and its next starts fail (startfail.h),
 * the cause drawn from the seed's own PRNG for start failures: a setting
 * lower than the primary's, a bad setting (both fixed by the operator
 * after a while, the first also by the agent's raise of settings), a
 * missing resource or a cause its log does not name (gone after a
 * while), diverged or damaged data (gone only with the data). */
static void start_failure(struct sim *s)
{
	static const enum startfail_cause causes[] = {
		SF_SETTINGS_LOW, SF_CONFIG,  SF_RESOURCE,
		SF_DIVERGED,     SF_DAMAGED, SF_UNKNOWN,
	};
	struct rng *r = &s->sf_rng;
	int p = primary_host(s);
	int h = (int)rng_range(r, 0, (uint64_t)s->n_nodes - 1);
	if (h == p)
		h = (h + 1) % s->n_nodes;
	struct sim_pg *pg = &s->hosts[h].pg;
	pg->fail_cause = causes[rng_range(r, 0, 5)];
	pg->fail_on = true;
	pg->fail_seen = false;
	pg->fail_raise = pg->fail_cause == SF_SETTINGS_LOW &&
			 rng_chance(r, 700);
	pg->fail_until = startfail_needs_copy(pg->fail_cause)
				 ? 0
				 : s->now + rng_range(r, 3000, 15000);
	sim_log(s, "FAULT %s's Postgres exits, its starts fail: %s%s",
		s->agents[h].name, startfail_cause_name(pg->fail_cause),
		pg->fail_raise ? " (the agent's raise fixes it)" : "");
	mark(s, h);
	if (pg->state == PG_REPLICA || pg->state == PG_STARTING)
		pg_crash(s, h);
}

/* The operator fixes the setting (a configuration file changes: the
 * agent starts again at once), or the resource comes back. */
static void start_failure_heal(struct sim *s)
{
	for (int h = 0; h < s->n_nodes; h++) {
		struct sim_pg *pg = &s->hosts[h].pg;
		if (!pg->fail_on || !pg->fail_until || s->now < pg->fail_until)
			continue;
		bool edit = pg->fail_cause == SF_SETTINGS_LOW ||
			    pg->fail_cause == SF_CONFIG;
		pg->fail_on = false;
		pg->conf_gen += edit;
		sim_log(s, "%s: %s gone (%s)", s->agents[h].name,
			startfail_cause_name(pg->fail_cause),
			edit ? "the operator edited postgresql.conf"
			     : "by itself");
	}
}

/* One fault or operator action, chosen by weight. */
static void fault(struct sim *s, struct sched *q)
{
	int p = primary_host(s), h = some_node(s);
	struct sim_agent *a = &s->agents[h];
	switch (rng_range(&s->rng, 0, 15)) {
	case 0:
	case 1:
		host_crash(s, q, p >= 0 && rng_chance(&s->rng, 600) ? p : h,
			   rng_range(&s->rng, 2000, 12000));
		break;
	case 2: { /* power loss: two hosts, a survivor's agent restarts */
		int other = other_node(s, h);
		host_crash(s, q, h, rng_range(&s->rng, 3000, 15000));
		host_crash(s, q, other, rng_range(&s->rng, 3000, 15000));
		int third = 3 - h - other;
		if (rng_chance(&s->rng, 500) &&
		    s->agents[third].phase == AG_RUNNING) {
			sim_log(s, "FAULT agent %s killed",
				s->agents[third].name);
			mark(s, third);
			agent_crash(s, third);
			s->agents[third].restart_at = s->now +
						      rng_range(&s->rng, 2500,
								6000);
		}
		break;
	}
	case 3:
		sim_log(s, "FAULT agent %s killed", a->name);
		mark(s, h);
		agent_crash(s, h);
		a->restart_at = s->now + rng_range(&s->rng, 500, 3000);
		break;
	case 4:
	case 5:
		sim_log(s, "OPERATOR restarts agent %s", a->name);
		agent_stop(s, h);
		a->restart_at = s->now + rng_range(&s->rng, 300, 2000);
		break;
	case 6:
		sim_log(s, "FAULT agent %s frozen", a->name);
		mark(s, h);
		a->frozen_until = s->now + rng_range(&s->rng, 300, 6000);
		break;
	case 7:
		cut(s, q, h, false, rng_range(&s->rng, 1000, 8000));
		break;
	case 8:
		cut(s, q, h, true, rng_range(&s->rng, 1000, 8000));
		break;
	case 9:
	case 10:
		if (h != p) {
			sim_log(s, "FAULT replication to %s slow", a->name);
			s->hosts[h].pg.slow_until = s->now + rng_range(&s->rng,
								       2000,
								       10000);
		}
		break;
	case 11:
		if (s->paused)
			break;
		sim_log(s, "OPERATOR pause");
		store_put(s, -1, "sim/pause", "1", NULL, 0);
		s->paused = true;
		q->resume_at = s->now + rng_range(&s->rng, 3000, 15000);
		/* maintenance is for upgrades: the primary's agent restarts */
		if (rng_chance(&s->rng, 700))
			q->stop_primary_at = s->now + 1000;
		break;
	case 12:
		if (p >= 0 && !s->o->standby_cluster)
			put_switch(s, s->agents[other_node(s, p)].name,
				   s->agents[p].name, "switchover");
		break;
	case 13:
		if (!s->o->standby_cluster) /* no request has a candidate */
			put_switch(s, a->name, "", "failover");
		break;
	case 14: { /* scope-wide: one key, every agent reads it */
		if (s->o->bug == BUG_SYNC_ROLLING)
			break;
		bool on = !s->sync_setting;
		s->sync_setting = on;
		sim_log(s, "OPERATOR synchronous_mode = %s (S/config)",
			on ? "on" : "off");
		if (s->o->standby_cluster) {
			standby_put_config(s);
			break;
		}
		store_put(s, -1, "sim/config",
			  on ? "synchronous_mode = on\n"
			     : "synchronous_mode = off\n",
			  NULL, 0);
		break;
	}
	case 15:
		if (s->dup_started || !rng_chance(&s->rng, 400))
			break;
		s->dup_started = true;
		struct sim_agent *d = &s->agents[s->n_nodes];
		memcpy(d->name, a->name, sizeof(d->name));
		d->nofailover = a->nofailover;
		d->exists = true;
		sim_log(s, "OPERATOR starts a second agent named %s on host %d",
			d->name, d->host);
		agent_start(s, s->n_nodes);
		break;
	}
}

/* Timed ends of faults and the second half of operator actions. */
static void heal(struct sim *s, struct sched *q)
{
	tenurectl_wait(s);
	if (s->sf_at && s->now >= s->sf_at) {
		s->sf_at = 0;
		start_failure(s);
	}
	start_failure_heal(s);
	if (q->rolled)
		rolling(s, q);
	for (int h = 0; h < SIM_MAX_HOSTS; h++) {
		if (q->host_up_at[h] && s->now >= q->host_up_at[h]) {
			q->host_up_at[h] = 0;
			s->hosts[h].up = true;
			s->agents[h].restart_at = s->now + 300;
			sim_log(s, "host %d back", h);
		}
		if (q->uncut_at[h] && s->now >= q->uncut_at[h]) {
			q->uncut_at[h] = 0;
			s->hosts[h].cut = s->hosts[h].isolated = false;
		}
	}
	if (q->stop_primary_at && s->now >= q->stop_primary_at) {
		q->stop_primary_at = 0;
		int p = primary_host(s);
		if (p >= 0 && s->agents[p].phase == AG_RUNNING) {
			sim_log(s, "OPERATOR restarts agent %s (maintenance)",
				s->agents[p].name);
			agent_stop(s, p);
			s->agents[p].restart_at = s->now +
						  rng_range(&s->rng, 500, 4000);
		}
	}
	if (q->resume_at && s->now >= q->resume_at) {
		q->resume_at = 0;
		store_delete(s, -1, "sim/pause");
		s->paused = false;
		sim_log(s, "OPERATOR resume");
	}
}

/* ---- workload ------------------------------------------------------------- */

/* Clients write to every server that runs as a primary; each commit's
 * acknowledgement is recorded against its timeline. */
static void workload(struct sim *s)
{
	for (int h = 0; h < SIM_MAX_HOSTS; h++) {
		if (!sim_writable(s, h))
			continue;
		struct sim_pg *p = &s->hosts[h].pg;
		if (rng_chance(&s->rng, 600)) {
			wal_append(&p->wal, p->tl,
				   rng_range(&s->rng, 512, 65536));
			s->commits++;
		}
		struct sim_tl *t = &s->tls[p->tl];
		uint64_t end = wal_end(&p->wal), ack = pg_ack_point(s, h);
		if (end > t->max_pos)
			t->max_pos = end;
		if (ack > t->acked)
			t->acked = ack;
		/* sync mode promises every commit acknowledged once the
		 * primary wrote S/sync (also while it lists nobody); before,
		 * the asynchronous rule applies (decide.h rule 6) */
		if (s->agents[h].m.live_sync && store_get(s, -2, "sim/sync") &&
		    ack > t->acked_sync)
			t->acked_sync = ack;
	}
}

/* ---- the loop -------------------------------------------------------------- */

static void guards(struct sim *s)
{
	for (int h = 0; h < SIM_MAX_HOSTS; h++) {
		struct sim_host *x = &s->hosts[h];
		if (x->up && x->guard_armed &&
		    agent_local(s, x->guard_slot) >= x->guard_deadline) {
			x->guard_armed = false;
			if (x->pg.state == PG_PRIMARY)
				sim_log(s, "guard of host %d fences", h);
			pg_crash(s, h);
		}
	}
}

static bool run_seed(const struct sim_opts *o, uint64_t seed, struct sim *s)
{
	struct sched q = { 0 };
	setup(s, o, seed);
	uint64_t quiet_from = o->steps * SIM_STEP_MS * 3 / 4;
	q.next_fault = 20000 + rng_range(&s->rng, 0, 3000);
	for (s->step = 0; s->step < o->steps && !s->failed; s->step++) {
		s->now += SIM_STEP_MS;
		if (o->standby_cluster && s->standby_set &&
		    s->now >= quiet_from)
			standby_promote(s);
		if (s->now >= q.next_fault && s->now < quiet_from) {
			if (o->bug == BUG_SYNC_ROLLING && !q.rolled)
				rolling(s, &q);
			else
				fault(s, &q);
			q.next_fault =
				s->now +
				(rng_chance(&s->rng, 200)
					 ? rng_range(&s->rng, 20000, 30000)
					 : rng_range(&s->rng, 500, 4000));
		}
		heal(s, &q);
		store_expire(s);
		guards(s);
		for (int h = 0; h < SIM_MAX_HOSTS; h++)
			pg_step(s, h);
		for (int i = 0; i < SIM_MAX_HOSTS; i++)
			agent_step(s, i);
		workload(s);
		check_step(s);
	}
	return !s->failed;
}

/* ---- options and main ------------------------------------------------------ */

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s (--seed N | --seeds A-B) [--steps K] [--verbose]\n"
		"       [--bug "
		"none|forget-position|pause-stop|same-name|flood|\n"
		"              "
		"sync-rolling|nofailover-bootstrap|stale-request|\n"
		"              reclone-loop|sync-quorum|standby-ignored]\n"
		"       [--sync] [--sync-count N] [--max-lag BYTES]\n"
		"       [--rate-bound REQ_PER_S]\n"
		"       [--keep-going] (every seed, even after a failure)\n"
		"       [--leftover-request] (a stale S/switchover at the "
		"start)\n"
		"       [--standby-cluster] (the agents follow a main "
		"cluster, promoted at the end)\n"
		"  one step is %d simulated ms; --steps defaults to %d\n",
		argv0, SIM_STEP_MS, DEFAULT_STEPS);
	exit(2);
}

static enum sim_bug parse_bug(const char *v, const char *argv0)
{
	for (size_t i = 0; i < sizeof(bug_names) / sizeof(bug_names[0]); i++)
		if (strcmp(v, bug_names[i]) == 0)
			return (enum sim_bug)i;
	fprintf(stderr, "%s: unknown bug '%s'\n", argv0, v);
	usage(argv0);
	return BUG_NONE;
}

static void parse(int argc, char **argv, struct sim_opts *o)
{
	bool have = false;
	*o = (struct sim_opts){ .steps = DEFAULT_STEPS,
				.max_lag = DEFAULT_MAX_LAG,
				.rate_bound = DEFAULT_RATE_BOUND,
				.sync_count = 1 };
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(k, "--verbose") == 0) {
			o->verbose = true;
			continue;
		}
		if (strcmp(k, "--keep-going") == 0) {
			o->keep_going = true;
			continue;
		}
		if (strcmp(k, "--leftover-request") == 0) {
			o->leftover_request = true;
			continue;
		}
		if (strcmp(k, "--standby-cluster") == 0) {
			o->standby_cluster = true;
			continue;
		}
		if (strcmp(k, "--sync") == 0) {
			o->sync_mode = true;
			continue;
		}
		if (!v)
			usage(argv[0]);
		i++;
		if (strcmp(k, "--seed") == 0) {
			o->seed = o->seeds_to = strtoull(v, NULL, 10);
			have = true;
		} else if (strcmp(k, "--seeds") == 0) {
			char *end;
			o->seed = strtoull(v, &end, 10);
			o->seeds_to = *end == '-' ? strtoull(end + 1, NULL, 10)
						  : o->seed;
			have = true;
		} else if (strcmp(k, "--steps") == 0) {
			o->steps = strtoull(v, NULL, 10);
		} else if (strcmp(k, "--bug") == 0) {
			o->bug = parse_bug(v, argv[0]);
		} else if (strcmp(k, "--max-lag") == 0) {
			o->max_lag = strtoull(v, NULL, 10);
		} else if (strcmp(k, "--sync-count") == 0) {
			o->sync_count = atoi(v);
			if (o->sync_count < 1 || o->sync_count > 16)
				usage(argv[0]);
		} else if (strcmp(k, "--rate-bound") == 0) {
			o->rate_bound = (unsigned)strtoul(v, NULL, 10);
		} else {
			usage(argv[0]);
		}
	}
	if (!have || o->seeds_to < o->seed)
		usage(argv[0]);
}

static void replay_line(const struct sim_opts *o, uint64_t seed)
{
	char count[32] = "";
	if (o->sync_count != 1)
		snprintf(count, sizeof(count), " --sync-count %d",
			 o->sync_count);
	printf("replay: tests/sim/agent-sim --seed %" PRIu64 " --steps %" PRIu64
	       "%s%s%s%s%s%s%s --verbose\n",
	       seed, o->steps, o->bug ? " --bug " : "",
	       o->bug ? bug_names[o->bug] : "", o->sync_mode ? " --sync" : "",
	       count, o->leftover_request ? " --leftover-request" : "",
	       o->standby_cluster ? " --standby-cluster" : "",
	       o->max_lag != DEFAULT_MAX_LAG ? " (with the same --max-lag)"
					     : "");
}

int main(int argc, char **argv)
{
	struct sim_opts o;
	parse(argc, argv, &o);
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		return 2;
	uint64_t n = 0, promotions = 0, failovers = 0, fences = 0, failed = 0;
	uint64_t req[3] = { 0 }, ms[3] = { 0 }, max_window = 0;
	uint64_t start_failures = 0, copies = 0;
	for (uint64_t seed = o.seed; seed <= o.seeds_to; seed++, n++) {
		bool ok = run_seed(&o, seed, s);
		promotions += s->promotions;
		failovers += s->failovers;
		fences += s->fences;
		start_failures += s->start_failures;
		copies += s->copies_afresh;
		for (int i = 0; i < SIM_MAX_HOSTS; i++)
			for (int st = 0; st < 3; st++) {
				req[st] += s->agents[i].req_by_state[st];
				ms[st] += s->agents[i].ms_by_state[st];
			}
		if (s->max_window > max_window)
			max_window = s->max_window;
		if (o.verbose || !ok) {
			printf("seed %" PRIu64 " %s: %s\n", seed,
			       ok ? "ok" : "FAILED",
			       ok ? "all invariants held" : s->failure);
			printf("  at %llu ms (step %llu): %llu promotions, "
			       "%llu failovers, %llu switchovers, %llu fences, "
			       "%llu commits, longest calm outage %llu ms, "
			       "async loss %llu bytes, mixed-settings losses "
			       "%llu, no primary for want of S/sync %llu ms, "
			       "failed starts %llu, copies afresh %llu\n",
			       (unsigned long long)s->now,
			       (unsigned long long)s->step,
			       (unsigned long long)s->promotions,
			       (unsigned long long)s->failovers,
			       (unsigned long long)s->switchovers,
			       (unsigned long long)s->fences,
			       (unsigned long long)s->commits,
			       (unsigned long long)s->max_outage_ms,
			       (unsigned long long)s->lost_async,
			       (unsigned long long)s->mixed_config_losses,
			       (unsigned long long)s->sync_stuck_ms,
			       (unsigned long long)s->start_failures,
			       (unsigned long long)s->copies_afresh);
			check_rate_report(s);
		}
		if (!ok && o.keep_going) {
			replay_line(&o, seed);
			failed++;
			continue;
		}
		if (!ok) {
			replay_line(&o, seed);
			printf("first failing seed %" PRIu64 " (after %" PRIu64
			       " passed)\n",
			       seed, n);
			free(s);
			return 1;
		}
	}
	printf("agent-sim: %" PRIu64 " seeds passed (bug %s): %" PRIu64
	       " promotions, %" PRIu64 " failovers, %" PRIu64 " fences\n",
	       n - failed, bug_names[o.bug], promotions, failovers, fences);
	printf("  requests/s per agent: primary %.1f, no holder %.1f, "
	       "follower %.1f; most in one second %" PRIu64 " (bound %u)\n",
	       ms[0] ? (double)req[0] * 1000.0 / (double)ms[0] : 0.0,
	       ms[1] ? (double)req[1] * 1000.0 / (double)ms[1] : 0.0,
	       ms[2] ? (double)req[2] * 1000.0 / (double)ms[2] : 0.0,
	       max_window, o.rate_bound);
	printf("  failed starts %" PRIu64 ", copies afresh %" PRIu64 "\n",
	       start_failures, copies);
	free(s);
	if (failed)
		printf("agent-sim: %" PRIu64 " seeds FAILED\n", failed);
	return failed ? 1 : 0;
}
