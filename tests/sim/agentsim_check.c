/*
 * agentsim_check.c — the invariants of the fencing layer, checked after
 * every simulated step (agentsim.h, docs/agent-sim.md):
 *
 *  - one writable primary: at no instant do two Postgres servers run as
 *    primaries that accept writes (docs/design.md rule 7);
 *  - no acknowledged commit lost beyond what the mode allows: none that a
 *    synchronous standby acknowledged (sync mode); at most
 *    maximum_lag_on_failover plus what the primary wrote after its last
 *    S/optime record (async mode, rule 8); checked at each promotion;
 *  - liveness: with every node up and reachable, no agent frozen and the
 *    cluster not paused, a primary exists again within LIVE_MS;
 *  - maintenance: a primary running when S/pause appeared is still
 *    running while paused, unless a fault hit its host or an operator
 *    asked for a switchover or failover;
 *  - bounded work: requests per second per agent to the store stay under
 *    the bound (rule 10), counted per state;
 *  - nofailover: a node so configured never runs as the primary (it never
 *    bootstraps, adopts, takes the lease or is promoted);
 *  - requests answered: an operator's switchover or failover request is
 *    written (then carried out, or withdrawn by tenurectl with the
 *    candidate's reason), or refused because a request the agents still
 *    act on is pending, within REQUEST_ANSWER_MS; a refusal for a request
 *    the agents ignore (stale) is no answer;
 *  - copies afresh: a node's existing data is copied afresh only when it
 *    diverged or is damaged (any other start failure would fail the same
 *    after a full copy), and at most SIM_COPIES_PER_MIN times in a
 *    simulated minute (checked as each copy begins).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fencing/flatjson.h"
#include "fencing/scope_keys.h"
#include "tests/sim/agentsim.h"

#define LIVE_MS 20000
/* tenurectl's wait (30 s) and a margin */
#define REQUEST_ANSWER_MS 35000
/* a refused request is answered at once, or never: the operator tries
 * again for this long */
#define REQUEST_RETRY_MS 10000
/* how long after its start a fault may still cost a primary its lease
 * (the longest freeze, plus a TTL) */
#define FAULT_REACH_MS (6000 + SIM_TTL)

static const char *const state_names[3] = { "primary", "no holder",
					    "follower" };

void sim_fail(struct sim *s, const char *fmt, ...)
{
	if (s->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->failure, sizeof(s->failure), fmt, ap);
	va_end(ap);
	s->failed = true;
}

void sim_log(struct sim *s, const char *fmt, ...)
{
	if (!s->o->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("%8llu.%03llu ", (unsigned long long)(s->now / 1000),
	       (unsigned long long)(s->now % 1000));
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

int sim_host_of(struct sim *s, const char *name)
{
	if (!name || !name[0])
		return -1;
	if (s->o->standby_cluster && standby_host_of(name) >= 0)
		return standby_host_of(name);
	/* the first running agent of that name (a duplicate comes later) */
	for (int i = 0; i < SIM_MAX_HOSTS; i++)
		if (s->agents[i].exists && s->agents[i].phase == AG_RUNNING &&
		    strcmp(s->agents[i].name, name) == 0)
			return s->agents[i].host;
	for (int i = 0; i < SIM_MAX_HOSTS; i++)
		if (s->agents[i].exists && strcmp(s->agents[i].name, name) == 0)
			return s->agents[i].host;
	return -1;
}

uint64_t sim_op_wall(struct sim *s)
{
	return 1700000000000ull + s->now;
}

static bool request_time(void *arg, const char *k,
			 const struct flatjson_value *v, char *err, size_t len)
{
	if (strcmp(k, "requested_ms") == 0)
		return flatjson_u64(k, v, arg, err, len);
	return true;
}

bool sim_request_stale(struct sim *s, const char *v)
{
	uint64_t at = 0;
	char err[128];
	if (!flatjson_parse(v, strlen(v), request_time, &at, err,
			    sizeof(err)) ||
	    at == 0)
		return true;
	return sim_op_wall(s) > at + SCOPE_REQUEST_MAX_AGE_MS;
}

bool sim_writable(struct sim *s, int h)
{
	return s->hosts[h].up && s->hosts[h].pg.state == PG_PRIMARY;
}

static void one_primary(struct sim *s)
{
	int first = -1;
	for (int h = 0; h < SIM_MAX_HOSTS; h++) {
		if (!sim_writable(s, h))
			continue;
		if (first >= 0) {
			sim_fail(s,
				 "VIOLATION: two writable primaries: host %d "
				 "(%s, timeline %u) and host %d (%s, timeline "
				 "%u)",
				 first, s->agents[first].name,
				 s->hosts[first].pg.tl, h, s->agents[h].name,
				 s->hosts[h].pg.tl);
			return;
		}
		first = h;
	}
}

void check_promotion(struct sim *s, int h, bool sync_promoter)
{
	const struct wal *w = &s->hosts[h].pg.wal;
	uint32_t mine = s->hosts[h].pg.tl;
	for (uint32_t t = 1; t < s->next_tl && t < SIM_MAX_TL; t++) {
		struct sim_tl *x = &s->tls[t];
		if (t == mine || x->host < 0)
			continue;
		uint64_t held = wal_extent_on(w, t);
		if (held < x->start)
			held = x->start;
		uint64_t lost = x->acked > held ? x->acked - held : 0;
		uint64_t lost_sync = x->acked_sync > held ? x->acked_sync - held
							  : 0;
		uint64_t window = x->max_pos > x->optime_lsn
					  ? x->max_pos - x->optime_lsn
					  : 0;
		uint64_t allowed = s->o->max_lag + window;
		if (lost && s->config_mixed) {
			s->mixed_config_losses++;
		} else if (lost_sync && sync_promoter) {
			sim_fail(s,
				 "VIOLATION: acknowledged commit lost in "
				 "sync mode: %llu bytes of timeline %u (acked "
				 "to "
				 "%llu) missing on %s",
				 (unsigned long long)lost_sync, t,
				 (unsigned long long)x->acked_sync,
				 s->agents[h].name);
		} else if (lost > allowed) {
			sim_fail(s,
				 "VIOLATION: acknowledged commits lost beyond "
				 "the async allowance: %llu bytes of timeline "
				 "%u "
				 "missing on %s (allowed %llu = max_lag %llu + "
				 "%llu since the last S/optime)",
				 (unsigned long long)lost, t, s->agents[h].name,
				 (unsigned long long)allowed,
				 (unsigned long long)s->o->max_lag,
				 (unsigned long long)window);
		}
		if (lost)
			s->lost_async += lost;
		if (x->acked > held)
			x->acked = held;
		if (x->acked_sync > held)
			x->acked_sync = held;
	}
}

/* Sync mode with S/sync present and empty: decide() promotes nobody, not
 * even the old primary back (sync_complete comes first): the cluster
 * waits rather than lose a commit.  Counted, not failed. */
static bool sync_stuck(struct sim *s)
{
	for (int i = 0; i < s->n_nodes; i++)
		if (!s->agents[i].m.live_sync)
			return false;
	for (int i = 0; i < SIM_MAX_KEYS; i++)
		if (s->store.keys[i].used &&
		    strcmp(s->store.keys[i].key, "sim/sync") == 0)
			return !s->store.keys[i].value[0];
	return false;
}

/* Running agents that disagree on synchronous_mode: one tick after a
 * change of S/config at most. */
static void settings_agree(struct sim *s)
{
	int seen = -1;
	s->config_mixed = false;
	for (int i = 0; i < s->n_nodes; i++) {
		const struct sim_agent *a = &s->agents[i];
		if (a->phase != AG_RUNNING)
			continue;
		if (seen >= 0 && seen != (int)a->m.live_sync)
			s->config_mixed = true;
		seen = (int)a->m.live_sync;
	}
}

void check_copy_afresh(struct sim *s, int h, enum decide_kind kind)
{
	const struct sim_pg *p = &s->hosts[h].pg;
	const char *who = s->agents[h].name;
	s->copies_afresh++;
	sim_log(s, "%s: data copied afresh (%s)", who, decide_kind_name(kind));
	if (!p->fail_on || !startfail_needs_copy(p->fail_cause)) {
		sim_fail(s,
			 "VIOLATION: %s's data copied afresh (%s) though it "
			 "neither diverged nor is damaged: %s",
			 who, decide_kind_name(kind),
			 p->fail_on ? startfail_cause_name(p->fail_cause)
				    : "its data is sound");
		return;
	}
	uint64_t *t = s->copy_times[h];
	int n = (int)(sizeof(s->copy_times[h]) / sizeof(t[0])), recent = 1;
	for (int i = 0; i < n; i++)
		recent += t[i] && t[i] + 60000 > s->now;
	memmove(t + 1, t, (size_t)(n - 1) * sizeof(t[0]));
	t[0] = s->now;
	if (recent > SIM_COPIES_PER_MIN)
		sim_fail(s,
			 "VIOLATION: %s's data copied afresh %d times in a "
			 "simulated minute (bound %d)",
			 who, recent, SIM_COPIES_PER_MIN);
}

/* A node whose Postgres cannot start for a fault is down, as far as
 * liveness goes. */
static bool start_faulted(const struct sim_pg *p)
{
	return p->fail_on && p->state != PG_REPLICA && p->state != PG_PRIMARY;
}

static bool calm(struct sim *s)
{
	if (s->config_mixed || s->paused)
		return false;
	if (sync_stuck(s)) {
		s->sync_stuck_ms += SIM_STEP_MS;
		return false;
	}
	for (int i = 0; i < s->n_nodes; i++) {
		const struct sim_host *h = &s->hosts[i];
		const struct sim_agent *a = &s->agents[i];
		if (!h->up || h->cut || h->isolated || a->phase != AG_RUNNING ||
		    s->now < a->frozen_until || start_faulted(&h->pg))
			return false;
	}
	return true;
}

static bool any_primary(struct sim *s)
{
	for (int h = 0; h < SIM_MAX_HOSTS; h++)
		if (sim_writable(s, h))
			return true;
	return false;
}

static void liveness(struct sim *s)
{
	bool up = any_primary(s);
	if (up) {
		s->no_primary_since = 0;
		return;
	}
	if (!s->no_primary_since)
		s->no_primary_since = s->now;
	if (!calm(s)) {
		s->calm_since = s->now;
		return;
	}
	uint64_t from = s->no_primary_since > s->calm_since
				? s->no_primary_since
				: s->calm_since;
	uint64_t out = s->now - from;
	if (out > s->max_outage_ms)
		s->max_outage_ms = out;
	if (out > LIVE_MS)
		sim_fail(s,
			 "VIOLATION: no primary for %llu ms with every node "
			 "up and reachable and the cluster not paused",
			 (unsigned long long)out);
}

static void maintenance(struct sim *s)
{
	if (!s->paused) {
		s->pause_began = 0;
		return;
	}
	if (!s->pause_began) {
		s->pause_began = s->now;
		s->paused_primary = -1;
		for (int h = 0; h < SIM_MAX_HOSTS; h++)
			if (sim_writable(s, h))
				s->paused_primary = h;
		return;
	}
	/* a request pending while paused is carried out (rule 9); one the
	 * agents ignore is none */
	const char *r = store_get(s, -2, SIM_REQUEST_KEY);
	if (r && !sim_request_stale(s, r))
		s->op_request_ms = s->now;
	int h = s->paused_primary;
	const struct sim_host *x = h >= 0 ? &s->hosts[h] : NULL;
	/* a fault shortly before the pause may still take the lease away */
	if (!x || !x->up || x->cut || x->isolated ||
	    x->fault_ms + FAULT_REACH_MS >= s->pause_began ||
	    s->op_request_ms >= s->pause_began)
		return;
	if (!sim_writable(s, h))
		sim_fail(s,
			 "VIOLATION: primary lost during maintenance: %s "
			 "stopped accepting writes while paused, with no fault "
			 "on its host and no operator request",
			 s->agents[h].name);
}

/* A node configured nofailover never runs as the primary. */
static void nofailover(struct sim *s)
{
	for (int h = 0; h < SIM_MAX_HOSTS; h++)
		if (sim_writable(s, h) && s->agents[h].exists &&
		    s->agents[h].nofailover)
			sim_fail(s,
				 "VIOLATION: nofailover node %s runs as the "
				 "primary (host %d, timeline %u)",
				 s->agents[h].name, h, s->hosts[h].pg.tl);
}

/* The operator's last request is answered: written and then gone (carried
 * out, taken back by the old primary or withdrawn by tenurectl), or
 * refused for a pending request the agents act on (agent-sim.c). */
static void request_answered(struct sim *s)
{
	if (!s->req.open)
		return;
	if (s->req.sent[0]) {
		const char *cur = store_get(s, -2, SIM_REQUEST_KEY);
		if (!cur || strcmp(cur, s->req.sent) != 0) {
			s->req.open = false;
			return;
		}
	}
	uint64_t bound = s->req.refused_stale ? REQUEST_RETRY_MS
					      : REQUEST_ANSWER_MS;
	if (s->now - s->req.at > bound)
		sim_fail(s,
			 "VIOLATION: the operator's request to %s was "
			 "neither carried out nor answered in %llu ms%s",
			 s->req.candidate, (unsigned long long)bound,
			 s->req.refused_stale
				 ? ": tenurectl refuses it for a request the "
				   "agents ignore"
				 : "");
}

/* Once per simulated second: each agent's requests, against the bound. */
static void rate(struct sim *s)
{
	if (s->now % 1000 != 0)
		return;
	for (int i = 0; i < SIM_MAX_HOSTS; i++) {
		struct sim_agent *a = &s->agents[i];
		if (!a->exists)
			continue;
		int st = a->m.primary_held ? 0 : a->m.view.holder[0] ? 2 : 1;
		if (a->phase == AG_RUNNING) {
			a->req_by_state[st] += a->req_window;
			a->ms_by_state[st] += 1000;
		}
		if (a->req_window > s->max_window)
			s->max_window = a->req_window;
		if (a->req_window > s->o->rate_bound)
			sim_fail(s,
				 "VIOLATION: %s made %llu requests to the "
				 "store in one second (bound %u), state '%s'",
				 a->name, (unsigned long long)a->req_window,
				 s->o->rate_bound, state_names[st]);
		a->req_window = 0;
	}
}

void check_step(struct sim *s)
{
	settings_agree(s);
	one_primary(s);
	liveness(s);
	maintenance(s);
	rate(s);
	nofailover(s);
	request_answered(s);
	standby_check(s);
}

void check_rate_report(struct sim *s)
{
	for (int i = 0; i < SIM_MAX_HOSTS; i++) {
		struct sim_agent *a = &s->agents[i];
		if (!a->exists)
			continue;
		printf("  rate %s@%d:", a->name, a->host);
		for (int st = 0; st < 3; st++)
			if (a->ms_by_state[st])
				printf(" %s %.1f/s", state_names[st],
				       (double)a->req_by_state[st] * 1000.0 /
					       (double)a->ms_by_state[st]);
		printf("\n");
	}
}
