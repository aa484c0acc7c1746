/*
 * agentsim_agent.c — the agent in the simulation (agentsim.h).
 *
 * The decisions are the real ones: each tick observes the simulated
 * Postgres into a struct decide_pg (as agent_observe.c does), reads the
 * scope from the store into a struct witness_view (as agent_keys.c does;
 * member and S/optime records go through the real encoders and
 * decoders), carries over what the agent remembers with the real
 * view_remember_primary(), builds its record with self_record_build(),
 * the input with agent_build_input() and asks the real decide().  The
 * actions (ACT_*) are modelled by their effect on the simulated Postgres
 * and store, taking simulated time.  Lease validity is agent_lease.c's
 * formula on the host's drifting clock; the guard is per host and keeps
 * counting while the agent is frozen.
 *
 * As on main: lease holders are NAME/INCARNATION, an agent decides
 * nothing but fencing before it holds its member lease once and refuses
 * to run when another process keeps it; member records are written when
 * member_write_reason() says so; synchronous_mode is read from S/config
 * (scope_conf_parse()) at every tick, the node's file's value when the key
 * does not set it.  Starts that do not come up are counted, classified
 * and backed off as agent_startfail.c does, into decide_pg's
 * start_failures, start_cause, start_wait_ms and copy_wait_ms.
 *
 * The bug switches (enum sim_bug) change what this model feeds the real
 * code, never the real code itself.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/agent_input.h"
#include "fencing/flatjson.h"
#include "fencing/member_lease.h"
#include "fencing/optime.h"
#include "fencing/roster.h"
#include "fencing/scope_conf.h"
#include "fencing/self_record.h"
#include "tests/sim/agentsim.h"

#define LEASE "sim/primary"
/* agent_keys.c's member write policy */
#define POSITION_BYTES (1024 * 1024)
#define POSITION_MS 5000
#define HEARTBEAT_MS 30000

static struct sim_agent *AG(struct sim *s, int slot)
{
	return &s->agents[slot];
}

uint64_t agent_local(struct sim *s, int slot)
{
	const struct sim_host *h = &s->hosts[AG(s, slot)->host];
	int64_t skew = (int64_t)s->now * h->drift_ppm / 1000000;
	return h->clock_base + s->now + (uint64_t)skew;
}

/* The host's wall clock: true time plus its drift (NTP keeps wall
 * clocks close; the monotonic clock's base is a boot time, no wall
 * time).  tenurectl's requested_ms is on the same scale (agent-sim.c). */
static uint64_t wall(struct sim *s, int slot)
{
	const struct sim_host *h = &s->hosts[AG(s, slot)->host];
	int64_t skew = (int64_t)s->now * h->drift_ppm / 1000000;
	return 1700000000000ull + s->now + (uint64_t)skew;
}

static void key(char *buf, size_t cap, const char *suffix)
{
	snprintf(buf, cap, "sim/%s", suffix);
}

static void member_lease_name(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "sim/member-lease/%s", name);
}

static uint64_t validity(uint64_t t_send)
{
	uint64_t drift = (uint64_t)SIM_TTL * 2 * SIM_DRIFT_PPM / 1000000;
	return t_send + SIM_TTL - drift - SIM_FENCE_TIME - SIM_PAUSE_MARGIN;
}

static bool lease_valid(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	return a->m.primary_held && agent_local(s, slot) < a->m.valid_until;
}

static void extend(struct sim *s, int slot, uint64_t until)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_host *h = &s->hosts[a->host];
	if (until > a->m.valid_until)
		a->m.valid_until = until;
	h->guard_armed = true;
	h->guard_deadline = a->m.valid_until;
	h->guard_slot = slot;
}

static void guard_disarm(struct sim *s, int slot)
{
	s->hosts[AG(s, slot)->host].guard_armed = false;
}

/* ---- store calls through the agent's network ---------------------------- */

static bool net(struct sim *s, int slot)
{
	const struct sim_host *h = &s->hosts[AG(s, slot)->host];
	return h->up && !h->cut && !h->isolated;
}

static bool put(struct sim *s, int slot, const char *suffix, const char *v)
{
	char k[MEMBER_STR_MAX + 64];
	key(k, sizeof(k), suffix);
	return net(s, slot) && store_put(s, slot, k, v, NULL, 0);
}

static void del(struct sim *s, int slot, const char *suffix)
{
	char k[MEMBER_STR_MAX + 64];
	key(k, sizeof(k), suffix);
	if (net(s, slot))
		store_delete(s, slot, k);
}

static void put_token(struct sim *s, int slot, const char *suffix)
{
	char v[MEMBER_STR_MAX + 32];
	snprintf(v, sizeof(v), "%s %llu", AG(s, slot)->name,
		 (unsigned long long)AG(s, slot)->m.primary_token);
	put(s, slot, suffix, v);
}

static void release_primary(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	if (!a->m.primary_held)
		return;
	a->m.primary_held = false;
	guard_disarm(s, slot);
	if (net(s, slot))
		store_release(s, slot, LEASE, a->m.holder_id,
			      a->m.primary_token);
}

/* lease_fence_now + act_fence: kill Postgres, say so in S/demoted. */
static void fence(struct sim *s, int slot, const char *why)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_pg *p = &s->hosts[a->host].pg;
	bool was = p->state == PG_PRIMARY;
	a->m.primary_held = false;
	pg_crash(s, a->host);
	guard_disarm(s, slot);
	put_token(s, slot, "demoted");
	if (was) {
		s->fences++;
		sim_log(s, "%s fenced: %s", a->name, why);
	}
	a->m.kick = true;
	a->m.kick_at = s->now;
}

/* ---- reading the scope ---------------------------------------------------- */

static bool switch_field(void *arg, const char *k,
			 const struct flatjson_value *v, char *err, size_t len)
{
	struct witness_view *w = arg;
	if (v->type == FLATJSON_STRING && strcmp(k, "candidate") == 0)
		snprintf(w->switch_candidate, sizeof(w->switch_candidate), "%s",
			 v->str);
	else if (v->type == FLATJSON_STRING && strcmp(k, "from") == 0)
		snprintf(w->switch_from, sizeof(w->switch_from), "%s", v->str);
	else if (v->type == FLATJSON_STRING && strcmp(k, "kind") == 0)
		w->switch_is_failover = strcmp(v->str, "failover") == 0;
	else if (v->type == FLATJSON_BOOL && strcmp(k, "force") == 0)
		w->switch_force = v->b;
	else if (strcmp(k, "requested_ms") == 0)
		return flatjson_u64(k, v, &w->switch_requested_ms, err, len);
	return true;
}

static bool history_field(void *arg, const char *k,
			  const struct flatjson_value *v, char *err, size_t len)
{
	struct witness_view *w = arg;
	if (v->type == FLATJSON_STRING && strcmp(k, "new") == 0)
		snprintf(w->hist_primary, sizeof(w->hist_primary), "%s",
			 v->str);
	else if (strcmp(k, "token") == 0)
		return flatjson_u64(k, v, &w->hist_token, err, len);
	return true;
}

static void take_key(struct witness_view *w, const struct store_key *k,
		     char *newest_hist)
{
	const char *n = k->key + 4; /* "sim/" */
	const char *v = k->value;
	char err[128];
	if (strncmp(n, "members/", 8) == 0) {
		if (w->n_members < AGENT_MAX_MEMBERS &&
		    member_decode(v, strlen(v), &w->members[w->n_members], err,
				  sizeof(err)))
			w->n_members++;
	} else if (strcmp(n, "sync") == 0) {
		snprintf(w->sync, sizeof(w->sync), "%s", v);
		w->sync_present = true;
	} else if (strcmp(n, "config") == 0) {
		snprintf(w->config, sizeof(w->config), "%s", v);
		w->config_present = true;
	} else if (strcmp(n, "pause") == 0) {
		w->paused = true;
	} else if (strcmp(n, "initialize") == 0) {
		w->initialized = true;
	} else if (strcmp(n, "unguarded") == 0) {
		snprintf(w->unguarded, sizeof(w->unguarded), "%s", v);
	} else if (strcmp(n, "demoted") == 0) {
		snprintf(w->demoted, sizeof(w->demoted), "%s", v);
	} else if (strcmp(n, "switchover") == 0) {
		flatjson_parse(v, strlen(v), switch_field, w, err, sizeof(err));
	} else if (strcmp(n, "optime") == 0) {
		optime_decode(v, strlen(v), &w->optime, err, sizeof(err));
	} else if (strncmp(n, "history/", 8) == 0 &&
		   strcmp(k->key, newest_hist) > 0) {
		snprintf(newest_hist, 128, "%s", k->key);
		w->hist_primary[0] = '\0';
		flatjson_parse(v, strlen(v), history_field, w, err,
			       sizeof(err));
	}
}

/* One tick's reads: the lease, S/demoted and S/drill by name, and one
 * page of the scope (four requests, as agent_keys.c makes). */
static void read_view(struct sim *s, int slot, struct witness_view *w)
{
	memset(w, 0, sizeof(*w));
	const struct store_lease *l = store_lease_get(s, slot, LEASE);
	if (l) {
		roster_holder_name(l->holder, strlen(l->holder), w->holder,
				   sizeof(w->holder));
		snprintf(w->holder_id, sizeof(w->holder_id), "%s", l->holder);
		w->token = l->token;
	}
	store_get(s, slot, "sim/demoted");
	store_get(s, slot, "sim/drill");
	AG(s, slot)->req_window++; /* the listing */
	char newest[128] = "";
	for (int i = 0; i < SIM_MAX_KEYS; i++)
		if (s->store.keys[i].used)
			take_key(w, &s->store.keys[i], newest);
}

/* ---- start failures (agent_startfail.c) -------------------------------- */

/* Starts: 1 s, 2 s, 4 s ... 60 s apart.  Copies: 1 min ... 30 min. */
#define START_BACKOFF_MS 1000
#define START_BACKOFF_CAP_MS 60000
#define COPY_BACKOFF_MS 60000
#define COPY_BACKOFF_CAP_MS (30 * 60000)

static uint64_t left(uint64_t since, uint64_t wait, uint64_t now)
{
	return since + wait > now ? since + wait - now : 0;
}

/* startfail_begin() as a standby start begins, and the server's side:
 * while a fault is on, a start other than the lease holder's own fails;
 * settings_too_low goes once a failed start replayed the primary's
 * values into pg_controldata, which the agent's raise of settings
 * (agent_standby.c) then reads, unless that raise cannot run. */
static void start_begin(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_pg *p = &s->hosts[a->host].pg;
	a->m.start_failures++;
	a->m.start_failed_ms = 0;
	if (p->fail_on && p->fail_cause == SF_SETTINGS_LOW && p->fail_raise &&
	    p->fail_seen) {
		p->fail_on = false;
		sim_log(s, "%s: settings raised to the primary's: it starts",
			a->name);
	}
	p->start_fails = p->fail_on && !lease_valid(s, slot);
}

/* startfail_observe() once per start seen down (the cause from the log
 * written since the start: "unknown" when it names none, as after a
 * crash), startfail_came_up() once it answers, startfail_fill().
 * --bug reclone-loop: every failed start reads as diverged data, as
 * before starts were classified. */
static void start_observe(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_pg *p = &s->hosts[a->host].pg;
	struct decide_pg *o = &a->m.obs;
	uint64_t now = agent_local(s, slot);
	if (p->state == PG_REPLICA || p->state == PG_PRIMARY) {
		a->m.start_failures = 0;
		a->m.start_failed_ms = 0;
		a->m.copies = 0;
		a->m.start_cause = SF_UNKNOWN;
	} else if (p->state == PG_STOPPED && a->m.start_failures > 0 &&
		   !a->m.start_failed_ms) {
		a->m.start_cause = p->start_logged ? p->logged_cause
						   : SF_UNKNOWN;
		a->m.start_failed_ms = now;
		a->m.start_conf_gen = p->conf_gen;
	}
	o->start_failures = a->m.start_failures;
	o->start_cause = a->m.start_cause;
	o->start_wait_ms = 0;
	if (a->m.start_failures > 0 && a->m.start_failed_ms &&
	    p->conf_gen == a->m.start_conf_gen)
		o->start_wait_ms =
			left(a->m.start_failed_ms,
			     startfail_backoff_ms(a->m.start_failures,
						  START_BACKOFF_MS,
						  START_BACKOFF_CAP_MS),
			     now);
	o->copy_wait_ms =
		a->m.copies ? left(a->m.copied_ms,
				   startfail_backoff_ms(a->m.copies,
							COPY_BACKOFF_MS,
							COPY_BACKOFF_CAP_MS),
				   now)
			    : 0;
	if (s->o->bug == BUG_RECLONE_LOOP && o->start_failures > 0)
		o->start_cause = SF_DIVERGED;
}

/* ---- observing Postgres (agent_observe.c) -------------------------------- */

static const char *name_on(struct sim *s, int host)
{
	if (host == SIM_MAIN_HOST && s->o->standby_cluster)
		return STANDBY_CLUSTER_UPSTREAM;
	return host >= 0 && AG(s, host)->exists ? AG(s, host)->name : "?";
}

static void observe(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_pg *p = &s->hosts[a->host].pg;
	struct decide_pg *o = &a->m.obs;
	enum pg_state prev = o->state;
	uint64_t now = agent_local(s, slot);
	o->rewound = a->m.rewound;
	o->state = p->state;
	a->m.frozen_settling = false;
	start_observe(s, slot);
	if (p->state == PG_ABSENT || p->state == PG_STARTING)
		return;
	if (p->state == PG_STOPPED) {
		o->was_primary = p->was_primary && !p->backup_label;
		o->clean = p->clean;
		o->timeline = p->tl;
		o->controldata_ok = true;
		o->standby_data = !p->was_primary;
		a->m.not_streaming_since = 0;
		return;
	}
	bool recovery = p->state == PG_REPLICA;
	o->received_lsn = wal_end(&p->wal);
	o->replayed_lsn = recovery ? p->replayed : o->received_lsn;
	o->timeline = p->tl;
	o->streaming = p->streaming;
	snprintf(o->upstream, sizeof(o->upstream), "%s",
		 p->conninfo ? name_on(s, p->upstream) : "");
	bool frozen = recovery && !p->conninfo;
	bool settled = frozen && o->frozen && prev == PG_REPLICA &&
		       o->replayed_lsn == a->m.last_replayed &&
		       o->received_lsn == a->m.last_received;
	a->m.last_replayed = o->replayed_lsn;
	a->m.last_received = o->received_lsn;
	a->m.frozen_settling = frozen && !settled;
	o->frozen = frozen;
	o->frozen_settled = settled;
	memcpy(o->sync_names, p->sync_names, sizeof(o->sync_names));
	o->sync_count = p->sync_names[0] ? p->sync_count : 0;
	if (o->streaming || !recovery || !a->m.not_streaming_since)
		a->m.not_streaming_since = now;
	o->not_streaming_ms = now - a->m.not_streaming_since;
}

/* ---- publishing --------------------------------------------------------- */

static void tend_member(struct sim *s, int slot);

/* agent_lease.c lease_record_facts(): what the real record_lease.c
 * decides on. */
static struct record_lease_facts record_facts(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	const struct witness_view *v = &a->m.view;
	return (struct record_lease_facts){
		.primary_valid = lease_valid(s, slot),
		.runs_primary = a->m.self.role == MEMBER_PRIMARY,
		.member_held = a->m.member_held,
		.other_incarnation = v->holder[0] &&
				     strcmp(v->holder, a->name) == 0 &&
				     strcmp(v->holder_id, a->m.holder_id) != 0,
	};
}

/* agent_keys.c keys_record_on_primary(): the store answers at once, so a
 * record sent is a record acknowledged. */
static bool record_on_primary(const struct sim_agent *a)
{
	return a->m.primary_held && a->m.sent_ms &&
	       a->m.sent_lease == RECORD_ON_PRIMARY &&
	       a->m.sent_token == a->m.primary_token;
}

/* The member record, when the real member_write_reason() says so (as
 * keys_publish_self() does), on the lease the real record_lease_target()
 * names (a running primary's rides the primary lease); --bug flood writes
 * it at every tick, as agents did before. */
static void publish_self(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct record_lease_facts facts = record_facts(s, slot);
	enum record_lease where = record_lease_target(&facts);
	if (where == RECORD_NOWHERE || !net(s, slot))
		return;
	bool on_primary = where == RECORD_ON_PRIMARY;
	uint64_t token = on_primary ? a->m.primary_token : a->m.member_token;
	uint64_t now = agent_local(s, slot);
	struct member_write_policy policy = {
		.primary_ms = SIM_RENEW,
		.position_bytes = POSITION_BYTES,
		.position_ms = POSITION_MS,
		.heartbeat_ms = on_primary ? UINT64_MAX : HEARTBEAT_MS,
	};
	const struct member *last = a->m.sent_ms && a->m.sent_lease == where &&
						    a->m.sent_token == token
					    ? &a->m.sent
					    : NULL;
	if (s->o->bug != BUG_FLOOD &&
	    !member_write_reason(last, &a->m.self,
				 last ? now - a->m.sent_ms : 0, &policy))
		return;
	char json[SIM_VAL_MAX], k[128], ln[128];
	if (!member_encode(&a->m.self, json, sizeof(json)))
		return;
	snprintf(k, sizeof(k), "sim/members/%s", a->name);
	if (on_primary)
		snprintf(ln, sizeof(ln), "%s", LEASE);
	else
		member_lease_name(ln, sizeof(ln), a->name);
	if (store_put(s, slot, k, json, ln, token)) {
		a->m.sent = a->m.self;
		a->m.sent_ms = now;
		a->m.sent_lease = where;
		a->m.sent_token = token;
	} else if (!on_primary) {
		a->m.member_held = false;
	} else {
		a->m.sent_ms = 0; /* the renewal says what became of it */
	}
}

/* agent_optime.c with the real optime_due(). */
static void publish_optime(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_pg *p = &s->hosts[a->host].pg;
	if (!lease_valid(s, slot) || a->m.obs.state != PG_PRIMARY ||
	    p->state != PG_PRIMARY || !net(s, slot))
		return;
	uint64_t now = agent_local(s, slot), lsn = a->m.obs.received_lsn;
	if (a->m.optime_sent_token != a->m.primary_token)
		a->m.optime_sent_ms = 0;
	if (!optime_due(lsn, now, a->m.optime_sent_lsn, a->m.optime_sent_ms,
			SIM_RENEW, OPTIME_HEARTBEAT_MS))
		return;
	uint32_t tl = a->m.obs.timeline;
	struct optime o = { .token = a->m.primary_token,
			    .lsn = lsn,
			    .time_ms = wall(s, slot),
			    .timeline = tl,
			    .tl_start = optime_tl_start(&a->m.view.optime, tl,
							lsn) };
	snprintf(o.name, sizeof(o.name), "%s", a->name);
	char json[MEMBER_STR_MAX + 128];
	if (!optime_encode(&o, json, sizeof(json)) ||
	    !put(s, slot, "optime", json))
		return;
	a->m.optime_sent_lsn = lsn;
	a->m.optime_sent_ms = now;
	a->m.optime_sent_token = a->m.primary_token;
	struct sim_tl *t = &s->tls[p->tl];
	if (t->host == a->host && lsn > t->optime_lsn)
		t->optime_lsn = lsn;
}

/* ---- actions ------------------------------------------------------------ */

static void history_put(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	char k[64], v[MEMBER_STR_MAX + 64];
	snprintf(k, sizeof(k), "history/%020llu",
		 (unsigned long long)a->m.primary_token);
	snprintf(v, sizeof(v), "{\"new\":\"%s\",\"token\":%llu}", a->name,
		 (unsigned long long)a->m.primary_token);
	put(s, slot, k, v);
}

static bool acquire(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	uint64_t t_send = agent_local(s, slot);
	uint64_t tok = net(s, slot) ? store_acquire(s, slot, LEASE,
						    a->m.holder_id, SIM_TTL)
				    : 0;
	if (!tok)
		return false;
	a->m.primary_held = true;
	a->m.primary_token = tok;
	a->m.valid_until = 0;
	extend(s, slot, validity(t_send));
	return true;
}

/* Effects at the start of an action; the duration until it is done. */
static uint64_t act_begin(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_action *x = &a->m.act;
	int h = a->host;
	switch (x->what.kind) {
	case ACT_FENCE:
		fence(s, slot, x->what.reason);
		return 1;
	case ACT_ACQUIRE: {
		const struct witness_view *v = &a->m.view;
		snprintf(a->m.old_primary, sizeof(a->m.old_primary), "%s",
			 v->hist_primary[0] ? v->hist_primary
					    : v->last_primary);
		acquire(s, slot);
		return 10;
	}
	case ACT_RECLAIM:
		if (acquire(s, slot)) {
			history_put(s, slot);
			del(s, slot, "unguarded");
		}
		return 10;
	case ACT_BOOTSTRAP:
		return acquire(s, slot) ? 300 : 10;
	case ACT_SET_SYNC: {
		/* agent_act_sync.c act_set_sync: emptied first, or widened if
		 * it names anyone; narrowed later by ACT_SYNC_KEY */
		char u[1100];
		snprintf(u, sizeof(u), "%s%s%s", a->m.view.sync,
			 a->m.view.sync[0] && x->what.target[0] ? "," : "",
			 x->what.target);
		if (a->m.live_sync && !x->what.target[0] && a->m.view.sync[0])
			put(s, slot, "sync", "");
		else if (a->m.live_sync && a->m.view.sync[0])
			put(s, slot, "sync", u);
		return 30;
	}
	case ACT_SYNC_KEY:
		put(s, slot, "sync", x->what.target);
		return 10;
	case ACT_SWITCHOVER:
		pg_stop_clean(s, h);
		x->final_lsn = wal_end(&s->hosts[h].pg.wal);
		guard_disarm(s, slot);
		return 100;
	case ACT_START:
		pg_start(s, h, sim_host_of(s, x->what.target), 200);
		start_begin(s, slot);
		return 200;
	case ACT_BASEBACKUP:
		if (s->hosts[h].pg.state != PG_ABSENT)
			check_copy_afresh(s, h, x->what.kind);
		return 500;
	case ACT_RECLONE:
		check_copy_afresh(s, h, x->what.kind);
		return 50;
	case ACT_RECOVER:
		return 300;
	case ACT_REWIND:
		return 400;
	case ACT_RESTART_STANDBY:
		pg_stop_clean(s, h);
		return 600;
	case ACT_REPOINT:
		return 50;
	case ACT_FREEZE:
		return 100;
	case ACT_PROMOTE:
		return 100;
	default:
		return 10;
	}
}

static bool reachable_pg(struct sim *s, int h)
{
	return h >= 0 && s->hosts[h].up && !s->hosts[h].isolated &&
	       (s->hosts[h].pg.state == PG_PRIMARY ||
		s->hosts[h].pg.state == PG_REPLICA);
}

static void promote(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_pg *p = &s->hosts[a->host].pg;
	char ug[MEMBER_STR_MAX];
	unguarded_name(&a->m.view, ug, sizeof(ug));
	if (!lease_valid(s, slot) || p->state != PG_REPLICA)
		return;
	if (a->m.old_primary[0] && strcmp(a->m.old_primary, a->name) != 0 &&
	    strcmp(ug, a->m.old_primary) == 0) {
		/* left running without its agent, no stonith_command */
		sim_log(s, "%s refuses to promote: S/unguarded names %s",
			a->name, ug);
		a->m.retry_after = agent_local(s, slot) + 2000;
		release_primary(s, slot);
		return;
	}
	int h = a->host;
	bool failover = a->m.old_primary[0] &&
			strcmp(a->m.old_primary, a->name) != 0;
	if (a->m.live_sync) {
		/* agent_act_promote.c promote_with_sync: S/sync's others first */
		char others[512] = "", n[MEMBER_STR_MAX];
		size_t len = 0;
		for (const char *q = a->m.view.sync;
		     len < sizeof(others) &&
		     (q = roster_list_next(q, n, sizeof(n)));)
			if (n[0] && strcmp(n, a->name) != 0)
				len += (size_t)snprintf(others + len,
							sizeof(others) - len,
							"%s%s", len ? "," : "",
							n);
		memcpy(p->sync_names, others, sizeof(p->sync_names));
		p->sync_count = decide_sync_count(s->o->sync_count, others);
		a->m.sync_since_lsn = 0;
	}
	pg_promote(s, h);
	s->promotions++;
	if (a->m.view.switch_candidate[0] && !a->m.view.switch_is_failover)
		s->switchovers++;
	else if (failover)
		s->failovers++;
	sim_log(s, "%s promoted, timeline %u at %llu (token %llu)", a->name,
		p->tl, (unsigned long long)wal_end(&p->wal),
		(unsigned long long)a->m.primary_token);
	check_promotion(s, h, a->sync_mode);
	history_put(s, slot);
	a->m.switch_done_ms = a->m.view.switch_requested_ms;
	if (a->m.view.switch_candidate[0])
		del(s, slot, "switchover");
	if (a->m.old_primary[0] && strcmp(ug, a->m.old_primary) == 0)
		del(s, slot, "unguarded");
}

static void switchover_poll(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_action *x = &a->m.act;
	char k[MEMBER_STR_MAX + 64];
	snprintf(k, sizeof(k), "sim/members/%s", x->what.target);
	const char *v = net(s, slot) ? store_get(s, slot, k) : NULL;
	struct member m;
	char err[64];
	bool done = v && member_decode(v, strlen(v), &m, err, sizeof(err)) &&
		    m.replayed_lsn >= x->final_lsn;
	if (!done && ++x->polls < 100) {
		x->done_at = agent_local(s, slot) + 100;
		return;
	}
	put_token(s, slot, "demoted");
	release_primary(s, slot);
	x->busy = false;
}

/* Effects when the action is done. */
static void act_end(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_action *x = &a->m.act;
	int h = a->host, t = sim_host_of(s, x->what.target);
	struct sim_pg *p = &s->hosts[h].pg;
	x->busy = false;
	/* agent.c action_done: the tick after an action reads */
	view_currency_stale(&a->m.cur);
	switch (x->what.kind) {
	case ACT_BOOTSTRAP:
		if (!lease_valid(s, slot))
			break;
		memset(&p->wal, 0, sizeof(p->wal));
		pg_start(s, h, -1, 0);
		p->state = PG_REPLICA;
		pg_promote(s, h);
		history_put(s, slot);
		put(s, slot, "initialize", a->name);
		break;
	case ACT_RECLONE:
		/* agent_act_copy.c act_move_aside(): the directory kept aside
		 * (what ailed it with it), copy_begins(); the copy is the
		 * ACT_BASEBACKUP of the empty directory that follows */
		if (p->state != PG_STOPPED)
			break;
		memset(&p->wal, 0, sizeof(p->wal));
		p->tl = 0;
		p->replayed = 0;
		p->state = PG_ABSENT;
		p->was_primary = p->clean = p->backup_label = false;
		if (p->fail_on && startfail_needs_copy(p->fail_cause))
			p->fail_on = false;
		a->m.copies++;
		a->m.copied_ms = agent_local(s, slot);
		a->m.start_failures = 0;
		a->m.start_failed_ms = 0;
		a->m.rewound = false;
		break;
	case ACT_BASEBACKUP:
		if (!reachable_pg(s, t) || !s->hosts[t].pg.wal.n)
			break;
		if (p->state != PG_ABSENT && p->state != PG_STOPPED)
			pg_stop_clean(s, h);
		p->wal = s->hosts[t].pg.wal;
		p->tl = s->hosts[t].pg.tl;
		p->replayed = wal_end(&p->wal);
		p->state = PG_STOPPED;
		p->was_primary = false;
		p->backup_label = true;
		p->clean = true;
		break;
	case ACT_RECOVER:
		if (p->state == PG_STOPPED)
			p->clean = true;
		break;
	case ACT_REWIND:
	case ACT_RESTART_STANDBY:
		if (!reachable_pg(s, t) || p->state != PG_STOPPED) {
			a->m.retry_after = agent_local(s, slot) + 1000;
			break;
		}
		wal_truncate(&p->wal, wal_common(&p->wal, &s->hosts[t].pg.wal));
		p->tl = s->hosts[t].pg.tl;
		a->m.rewound = true;
		if (x->what.kind == ACT_RESTART_STANDBY) {
			pg_start(s, h, t, 200);
			start_begin(s, slot);
		}
		break;
	case ACT_REPOINT:
		if (p->state == PG_REPLICA) {
			p->upstream = t;
			p->conninfo = t >= 0;
		}
		break;
	case ACT_FREEZE:
		if (p->state == PG_REPLICA) {
			p->upstream = -1;
			p->conninfo = false;
			p->streaming = false;
		}
		break;
	case ACT_PROMOTE:
		promote(s, slot);
		break;
	case ACT_SET_SYNC:
		if (p->state != PG_PRIMARY || !lease_valid(s, slot))
			break;
		memcpy(p->sync_names, x->what.target, sizeof(p->sync_names));
		p->sync_count = decide_sync_count(s->o->sync_count,
						  x->what.target);
		/* Postgres waits for the new list: its position now bounds
		 * every commit acknowledged before; in asynchronous mode
		 * S/sync goes */
		if (a->m.live_sync)
			a->m.sync_since_lsn = wal_end(&p->wal);
		else if (a->m.view.sync_present)
			del(s, slot, "sync");
		break;
	case ACT_SWITCHOVER:
		x->busy = true;
		switchover_poll(s, slot);
		break;
	case ACT_MARK_INIT:
		put(s, slot, "initialize", a->name);
		break;
	default:
		break;
	}
	if (!x->busy)
		a->m.next_tick = agent_local(s, slot) + 20;
}

/* ---- settings ------------------------------------------------------------ */

/* agent_scope.c: S/config's synchronous_mode when it sets it, else the
 * node's file's; a text that does not parse leaves the setting as it
 * was. */
static void scope_apply(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	const struct witness_view *v = &a->m.view;
	struct scope_conf c;
	char err[256];
	/* --bug sync-rolling: a per-node setting, as before S/config */
	if (!v->config_present || s->o->bug == BUG_SYNC_ROLLING) {
		a->m.live_sync = a->sync_mode;
		return;
	}
	if (scope_conf_parse(v->config, strlen(v->config), "SCOPE/config", &c,
			     err, sizeof(err)) != 0)
		return;
	a->m.live_sync = c.set[SCOPE_SYNCHRONOUS_MODE] ? c.synchronous_mode
						       : a->sync_mode;
	a->m.live_standby = standby_cluster_active(&c.standby);
}

/* ---- the tick (agent.c step()) ------------------------------------------ */

/* --bug sync-quorum: the failover rule weakened to a quorum.  With k
 * nodes in S/sync and ANY N, any k-N+1 of them would hold every commit
 * IF Postgres always waited for N of exactly those k; so decide() is
 * shown only the frozen members of S/sync once that many have frozen
 * (it then picks the most advanced of them).  It does not hold: the
 * count in force is capped at the standbys streaming, and S/sync is
 * wider than Postgres' list during every change (docs/safety.md). */
static void quorum_rule(struct sim *s, struct decide_input *in, char *buf,
			size_t cap)
{
	if (!in->sync_mode || in->sync_key_absent || in->lease.holder[0] ||
	    !in->sync_key || !in->sync_key[0])
		return;
	int listed = 0, frozen = 0;
	size_t len = 0;
	char n[MEMBER_STR_MAX];
	buf[0] = '\0';
	for (const char *q = in->sync_key;
	     (q = roster_list_next(q, n, sizeof(n)));) {
		if (!n[0])
			continue;
		listed++;
		for (size_t i = 0; i < in->n_members; i++)
			if (strcmp(in->members[i].name, n) == 0 &&
			    in->members[i].frozen_token && len < cap) {
				frozen++;
				len += (size_t)snprintf(buf + len, cap - len,
							"%s%s", len ? "," : "",
							n);
			}
	}
	int quorum = listed - s->o->sync_count + 1;
	if (quorum < 1)
		quorum = 1;
	if (frozen >= quorum && frozen < listed)
		in->sync_key = buf;
}

static void tick(struct sim *s, int slot)
{
	static struct witness_view next;
	static struct agent_input_bufs bufs;
	struct sim_agent *a = AG(s, slot);
	uint64_t now = agent_local(s, slot);
	observe(s, slot);
	bool ok = net(s, slot);
	/* agent.c on_tick: at rest the last view stands, nothing is read */
	if (ok &&
	    !view_currency_current(&a->m.cur, &a->m.view, now, SIM_RENEW)) {
		uint64_t gen = view_currency_read_begin(&a->m.cur);
		read_view(s, slot, &next);
		if (s->o->bug == BUG_FORGET_POSITION)
			memset(&next.optime, 0, sizeof(next.optime));
		next.read_ms = now;
		next.sync_known = true;
		view_remember_primary(&next, &a->m.view);
		a->m.view = next;
		view_currency_read_end(&a->m.cur, gen, true, now);
	} else if (!ok) {
		view_currency_read_end(&a->m.cur, 0, false, now);
	}
	a->m.view_ok = ok;
	const struct witness_view *v = &a->m.view;
	if (ok)
		scope_apply(s, slot);
	bool waiting = a->m.last_action.kind == ACT_NONE && a->m.status_reason;
	/* agent.c startfail_problem(): why it is down */
	char down[MEMBER_STR_MAX] = "";
	bool start_failed = a->m.start_failures > 0 && a->m.start_failed_ms;
	if (start_failed)
		snprintf(down, sizeof(down), "start %d failed (%s)",
			 a->m.start_failures,
			 startfail_cause_name(a->m.start_cause));
	struct self_facts sf = {
		.name = a->name,
		.api = "",
		.pg_addr = "",
		.pg = &a->m.obs,
		.start_failed = start_failed,
		.down_reason = down[0] ? down : NULL,
		.nofailover = a->nofailover,
		.lease_token = lease_valid(s, slot) ? a->m.primary_token : 0,
		.waiting = waiting ? a->m.status_reason : NULL,
		.wall_ms = wall(s, slot),
	};
	self_record_build(&sf, v, &a->m.self);
	tend_member(s, slot); /* agent.c step(): at once, not at the timer */
	if (a->refused)
		return;
	publish_self(s, slot);
	publish_optime(s, slot);
	/* agent_unguarded.c: a false mark is cleared by the node it names */
	char where[32];
	snprintf(where, sizeof(where), "host%d:data", a->host);
	if (ok && a->m.member_held &&
	    unguarded_is_stale(v, a->name, where, a->m.obs.state))
		del(s, slot, "unguarded");
	if (ok && a->m.primary_held && v->holder[0] &&
	    strcmp(v->holder, a->name) != 0) {
		fence(s, slot, "the witnesses name another holder");
		return;
	}
	if (v->holder[0] || !a->m.lease_free_since)
		a->m.lease_free_since = v->holder[0] ? 0 : now;
	/* agent.c: not known yet, the position now bounds every ack */
	if (a->m.obs.state != PG_PRIMARY)
		a->m.sync_since_lsn = 0;
	else if (!a->m.sync_since_lsn)
		a->m.sync_since_lsn = a->m.obs.received_lsn;
	struct agent_facts f = {
		.name = a->name,
		.holder_id = a->m.holder_id,
		.sync_mode = a->m.live_sync,
		.max_lag = a->max_lag,
		.sync_count = s->o->sync_count,
		.lease_ttl = SIM_TTL,
		.nofailover = a->nofailover,
		/* --bug standby-ignored: the setting is not passed on */
		.standby_cluster = a->m.live_standby &&
				   s->o->bug != BUG_STANDBY_IGNORED,
		.standby_streams = true,
		.now_ms = now,
		.wall_ms = wall(s, slot),
		.started_ms = a->m.started_ms,
		.lease_free_since = a->m.lease_free_since,
		.switch_done_ms = a->m.switch_done_ms,
		.view_ok = ok,
		.lease_valid = lease_valid(s, slot),
		.sync_since_lsn = a->m.sync_since_lsn,
		.pg = &a->m.obs,
		.self = &a->m.self,
	};
	struct decide_input in;
	char quorum_list[512];
	agent_build_input(&f, v, &bufs, &in);
	/* --bug sync-rolling: S/sync absent reads as S/sync empty, and an
	 * empty S/sync lets nobody be promoted, not even the last primary
	 * (as before the synchronous rule waited for the primary's first
	 * S/sync and let the last primary take back its role) */
	if (s->o->bug == BUG_SYNC_ROLLING && in.sync_mode) {
		in.sync_key_absent = false;
		if (!in.sync_key || !in.sync_key[0])
			in.last_primary = "";
	}
	if (s->o->bug == BUG_SYNC_QUORUM)
		quorum_rule(s, &in, quorum_list, sizeof(quorum_list));
	/* --bug nofailover-bootstrap: the setting was not passed on for an
	 * empty data directory */
	if (s->o->bug == BUG_NOFAILOVER_BOOTSTRAP && in.pg.state == PG_ABSENT)
		in.nofailover = false;
	struct decide_action act;
	decide(&in, &act);
	/* agent.c: nothing but fencing before this process held its member
	 * lease once (another agent with this name may be alive) */
	if (!a->m.member_held_once && act.kind != ACT_FENCE &&
	    s->o->bug != BUG_SAME_NAME) {
		act.kind = ACT_NONE;
		act.target[0] = '\0';
		act.reason = "waiting for this node's member lease";
	}
	if (act.kind != ACT_FENCE && now < a->m.retry_after)
		act.kind = ACT_NONE;
	else if (s->o->verbose && (act.kind != a->m.last_action.kind ||
				   act.reason != a->m.last_action.reason))
		sim_log(s, "%s: %s %s (%s)", a->name,
			decide_kind_name(act.kind), act.target, act.reason);
	if (act.kind == ACT_ACQUIRE)
		sim_log(s,
			"%s: at %llu, bar %llu (S/optime %s %llu), last "
			"primary %s",
			a->name, (unsigned long long)a->m.obs.received_lsn,
			(unsigned long long)in.last_primary_lsn, v->optime.name,
			(unsigned long long)v->optime.lsn, in.last_primary);
	a->m.last_action = act;
	a->m.status_reason = act.reason;
	if (act.kind == ACT_NONE) {
		if (a->m.frozen_settling)
			a->m.next_tick = now + 50;
		return;
	}
	a->m.act = (struct sim_action){ .busy = true, .what = act };
	a->m.act.done_at = now + act_begin(s, slot);
}

/* ---- lifecycle ----------------------------------------------------------- */

void agent_start(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	a->restart_at = 0;
	if (a->refused)
		return;
	memset(&a->m, 0, sizeof(a->m));
	a->phase = AG_RUNNING;
	a->frozen_until = 0;
	a->instance++;
	uint64_t now = agent_local(s, slot);
	a->m.started_ms = now;
	a->m.next_tick = now;
	a->m.next_renew = now;
	a->m.live_sync = a->sync_mode;
	/* its watches (keys_watch_start) are established at once */
	a->m.cur.keys_ready = a->m.cur.leases_ready = true;
	/* agent.c make_holder_id(); --bug same-name: the plain name, as
	 * before incarnations */
	char name[MEMBER_STR_MAX];
	memcpy(name, a->name, sizeof(name));
	if (s->o->bug == BUG_SAME_NAME)
		snprintf(a->m.holder_id, sizeof(a->m.holder_id), "%s", name);
	else
		snprintf(a->m.holder_id, sizeof(a->m.holder_id), "%s/%016llx",
			 name, (unsigned long long)rng_next(&s->rng));
	sim_log(s, "%s started on host %d (sync_mode %d%s)", a->name, a->host,
		a->sync_mode, a->nofailover ? ", nofailover" : "");
}

void agent_crash(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_host *h = &s->hosts[a->host];
	if (a->phase == AG_DOWN)
		return;
	a->phase = AG_DOWN;
	/* the guard sees its agent die and fences at once */
	if (h->guard_armed && h->guard_slot == slot) {
		pg_crash(s, a->host);
		h->guard_armed = false;
	}
}

/* SIGTERM (agent.c agent_stop): in maintenance mode a running Postgres is
 * left running (a primary marked in S/unguarded first); otherwise it is
 * stopped cleanly, S/demoted written and the lease released. */
void agent_stop(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	struct sim_pg *p = &s->hosts[a->host].pg;
	if (a->phase != AG_RUNNING)
		return;
	bool running = p->state == PG_PRIMARY || p->state == PG_REPLICA;
	bool leave = a->m.view.paused && a->m.view_ok && running &&
		     s->o->bug != BUG_PAUSE_STOP;
	if (leave && a->m.primary_held) {
		char v[MEMBER_STR_MAX + 64], where[32];
		snprintf(where, sizeof(where), "host%d:data", a->host);
		unguarded_format(v, sizeof(v), a->name, a->m.primary_token,
				 where);
		leave = put(s, slot, "unguarded", v);
	}
	if (leave) {
		release_primary(s, slot);
	} else {
		pg_stop_clean(s, a->host);
		if (a->m.primary_held)
			put_token(s, slot, "demoted");
		release_primary(s, slot);
	}
	char k[MEMBER_STR_MAX + 16], ln[128];
	snprintf(k, sizeof(k), "members/%s", a->name);
	del(s, slot, k);
	/* a clean stop releases the member lease: the record goes at once */
	member_lease_name(ln, sizeof(ln), a->name);
	if (a->m.member_held && net(s, slot))
		store_release(s, slot, ln, a->m.holder_id, a->m.member_token);
	a->phase = AG_DOWN;
	sim_log(s, "%s stopped (%s)", a->name,
		leave ? "Postgres left running" : "Postgres stopped");
}

/* A watch event.  agent_keys.c on_key_event: member records matter at
 * once only while no primary holds the lease.  By default an agent's own
 * record is no event for it and member events tick at most once per
 * renew interval (agent.c event_tick); --bug flood ticks on every one,
 * as agents did before. */
void agent_kick(struct sim *s, int slot, int writer, bool member_key)
{
	struct sim_agent *a = AG(s, slot);
	bool flood = s->o->bug == BUG_FLOOD;
	/* Any event makes the next tick read (agent_keys.c); one this agent
	 * missed, cut off, does too: its watches resync when it is back. */
	view_currency_stale(&a->m.cur);
	if (!a->exists || a->phase != AG_RUNNING || !net(s, slot))
		return;
	if (member_key && a->m.view.holder[0])
		return;
	uint64_t at = s->now + rng_range(&s->rng, 1, 10);
	if (member_key && !flood) {
		if (writer == slot)
			return;
		if (at < a->m.member_tick_ms + SIM_RENEW)
			at = a->m.member_tick_ms + SIM_RENEW;
		a->m.member_tick_ms = at;
	}
	if (a->m.kick && a->m.kick_at <= at)
		return;
	a->m.kick = true;
	a->m.kick_at = at;
}

/* agent_keys.c on_lease_event: a renewal of the view's holder confirms
 * the view (view_currency.h).  A frozen agent takes it too, as the
 * events queued on its connection would be read when it runs again. */
void agent_renewal_event(struct sim *s, int slot, const char *lease,
			 const char *holder, uint64_t token)
{
	struct sim_agent *a = AG(s, slot);
	if (!a->exists || a->phase != AG_RUNNING || !net(s, slot) ||
	    strcmp(lease, LEASE) != 0)
		return;
	view_currency_renewal(&a->m.cur, &a->m.view, holder, strlen(holder),
			      token, agent_local(s, slot), wall(s, slot));
}

/* agent_lease.c: another process keeps this name's member lease (or
 * S/primary under this name) beyond two member lease TTLs: this agent
 * refuses to run (exit status 2). */
static void name_taken(struct sim *s, int slot, uint64_t now)
{
	struct sim_agent *a = AG(s, slot);
	if (!a->m.name_taken_since) {
		a->m.name_taken_since = now;
	} else if (now - a->m.name_taken_since >
		   2 * member_lease_ttl_ms(SIM_TTL)) {
		sim_log(s, "%s on host %d refuses to run: name in use", a->name,
			a->host);
		agent_crash(s, slot);
		a->refused = true;
	}
}

static void renew_member_if_due(struct sim *s, int slot, uint64_t now)
{
	struct sim_agent *a = AG(s, slot);
	char ln[128];
	member_lease_name(ln, sizeof(ln), a->name);
	/* member_lease.h: a longer TTL, renewed each quarter of it */
	if (!a->m.member_held ||
	    !member_renew_due(now, a->m.member_sent,
			      member_lease_ttl_ms(SIM_TTL)))
		return;
	a->m.member_sent = now;
	a->m.member_held = store_renew(s, slot, ln, a->m.holder_id,
				       a->m.member_token);
}

/* agent_lease.c lease_member_tend() with the real member_lease_step() */
static void tend_member(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	uint64_t now = agent_local(s, slot);
	char ln[128];
	member_lease_name(ln, sizeof(ln), a->name);
	if (!net(s, slot))
		return;
	struct record_lease_facts f = record_facts(s, slot);
	switch (member_lease_step(&f, record_on_primary(a))) {
	case MEMBER_LEASE_ACQUIRE:
		a->m.member_sent = now;
		a->m.member_token = store_acquire(s, slot, ln, a->m.holder_id,
						  member_lease_ttl_ms(SIM_TTL));
		a->m.member_held = a->m.member_token != 0;
		if (a->m.member_held) {
			a->m.member_held_once = true;
			a->m.name_taken_since = 0;
		} else {
			name_taken(s, slot, now);
		}
		break;
	case MEMBER_LEASE_KEEP:
		renew_member_if_due(s, slot, now);
		break;
	case MEMBER_LEASE_RELEASE:
		store_release(s, slot, ln, a->m.holder_id, a->m.member_token);
		a->m.member_held = false;
		break;
	case MEMBER_LEASE_NAME_TAKEN:
		name_taken(s, slot, now);
		renew_member_if_due(s, slot, now);
		break;
	case MEMBER_LEASE_IDLE:
		break;
	}
}

static void renew(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	uint64_t now = agent_local(s, slot);
	if (!net(s, slot))
		return;
	tend_member(s, slot);
	if (a->refused)
		return;
	if (!a->m.primary_held)
		return;
	if (store_renew(s, slot, LEASE, a->m.holder_id, a->m.primary_token))
		extend(s, slot, validity(now));
	else
		fence(s, slot, "renewal refused: not the holder");
}

void agent_step(struct sim *s, int slot)
{
	struct sim_agent *a = AG(s, slot);
	if (!a->exists)
		return;
	if (a->phase == AG_DOWN) {
		if (a->restart_at && s->now >= a->restart_at &&
		    s->hosts[a->host].up)
			agent_start(s, slot);
		return;
	}
	if (s->now < a->frozen_until)
		return;
	uint64_t now = agent_local(s, slot);
	if (a->m.primary_held && now >= a->m.valid_until)
		fence(s, slot, "lease validity ran out before a renewal");
	if (now >= a->m.next_renew) {
		a->m.next_renew = now + SIM_RENEW;
		renew(s, slot);
	}
	if (a->m.act.busy) {
		if (now >= a->m.act.done_at)
			act_end(s, slot);
		return;
	}
	bool kicked = a->m.kick && s->now >= a->m.kick_at;
	if (now >= a->m.next_tick || kicked) {
		a->m.kick = false;
		a->m.next_tick = now + SIM_RENEW;
		tick(s, slot);
	}
}
