/*
 * decide.c — see decide.h.  Each rule is one small function; decide()
 * only picks which one applies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/decide.h"
#include "fencing/roster.h"

/* A replica that has not streamed for this long while the primary is on a
 * newer timeline is stopped, rewound and restarted. */
#define DECIDE_STUCK_MS 10000

static const char *const kind_names[] = {
	[ACT_NONE] = "none",
	[ACT_FENCE] = "fence",
	[ACT_BOOTSTRAP] = "bootstrap",
	[ACT_BASEBACKUP] = "basebackup",
	[ACT_START] = "start",
	[ACT_RECOVER] = "recover",
	[ACT_REWIND] = "rewind",
	[ACT_REPOINT] = "repoint",
	[ACT_FREEZE] = "freeze",
	[ACT_ACQUIRE] = "acquire",
	[ACT_PROMOTE] = "promote",
	[ACT_SET_SYNC] = "set_sync",
	[ACT_SWITCHOVER] = "switchover",
	[ACT_RESTART_STANDBY] = "restart_standby",
	[ACT_RECLONE] = "reclone",
	[ACT_ADOPT] = "adopt",
	[ACT_MARK_INIT] = "mark_initialized",
	[ACT_RECLAIM] = "reclaim",
	[ACT_SYNC_KEY] = "sync_key",
	[ACT_PG_RESTART] = "restart",
	[ACT_PG_RELOAD] = "reload",
	[ACT_REINIT] = "reinit",
};

const char *decide_kind_name(enum decide_kind k)
{
	if ((size_t)k < sizeof(kind_names) / sizeof(kind_names[0]) &&
	    kind_names[k])
		return kind_names[k];
	return "?";
}

static const struct member *find_member(const struct decide_input *in,
					const char *name)
{
	for (size_t i = 0; i < in->n_members; i++)
		if (strcmp(in->members[i].name, name) == 0)
			return &in->members[i];
	return NULL;
}

static void set(struct decide_action *out, enum decide_kind k,
		const char *target, const char *reason)
{
	out->kind = k;
	snprintf(out->target, sizeof(out->target), "%s", target ? target : "");
	out->reason = reason;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void decide_sync_wanted(const struct decide_input *in, char *buf, size_t cap)
{
	const char *names[64];
	size_t n = 0;
	for (size_t i = 0; i < in->n_members && n < 64; i++) {
		const struct member *m = &in->members[i];
		/* A node that may never be promoted must not be the only one
		 * holding an acknowledged commit; one that does not stream
		 * from us cannot acknowledge anything, and listing it would
		 * make a failover wait for it. */
		/* nosync: the operator's word that it never is. */
		if (strcmp(m->name, in->name) == 0 || m->nofailover ||
		    m->nosync || m->role != MEMBER_REPLICA ||
		    strcmp(m->upstream, in->name) != 0 ||
		    strcmp(m->state, "streaming") != 0)
			continue;
		names[n++] = m->name;
	}
	qsort(names, n, sizeof(names[0]), cmp_names);
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(buf + len, cap - len, "%s%s", i ? "," : "",
				 names[i]);
		if (w < 0 || (size_t)w >= cap - len) {
			buf[len] = '\0';
			return;
		}
		len += (size_t)w;
	}
}

/* Better candidate: further ahead, then higher priority, then the smaller
 * name (so that every agent picks the same one). */
static bool better(const struct member *a, const struct member *b)
{
	if (!b)
		return true;
	if (a->received_lsn != b->received_lsn)
		return a->received_lsn > b->received_lsn;
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return strcmp(a->name, b->name) < 0;
}

static bool is_old_primary(const struct decide_input *in, const char *name)
{
	return in->last_primary && strcmp(in->last_primary, name) == 0;
}

/* Sync mode: every node that could have acknowledged a commit must have
 * stopped replicating and said where it stopped. */
static const char *sync_complete(const struct decide_input *in,
				 uint64_t *max_lsn)
{
	static const char *const waiting = "waiting for every synchronous "
					   "standby to freeze";
	*max_lsn = 0;
	if (!in->sync_key_known)
		return "the synchronous standby list is not known";
	if (!in->sync_key || !in->sync_key[0])
		return NULL; /* nobody listed: the last primary only (eligible) */
	char name[MEMBER_STR_MAX];
	/* The old primary too, when it is listed (it was a synchronous
	 * standby before its promotion, and S/sync had not narrowed yet):
	 * it may hold commits acknowledged in that role that no other
	 * listed node has. */
	for (const char *p = in->sync_key;
	     (p = roster_list_next(p, name, sizeof(name)));) {
		if (!name[0])
			continue;
		const struct member *m = find_member(in, name);
		if (!m || !m->frozen_token)
			return waiting;
		if (m->received_lsn > *max_lsn)
			*max_lsn = m->received_lsn;
	}
	return NULL;
}

/* Promotions follow the synchronous rule once the primary has written
 * S/sync since synchronous mode was turned on. */
/* The synchronous failover rule applies while S/sync is there: in
 * synchronous mode once the primary wrote it, and also after the mode was
 * turned off until a primary, waiting for nobody any more, removed it
 * (commits acknowledged under the synchronous rule, also those of a
 * primary that had no standby to wait for while S/sync named nobody, must
 * not be lost because the setting changed during an outage). */
static bool sync_rule(const struct decide_input *in)
{
	return !in->sync_key_absent;
}

static bool eligible(const struct decide_input *in, const struct member *m,
		     uint64_t sync_max)
{
	if (m->role != MEMBER_REPLICA || !m->frozen_token || !m->healthy ||
	    m->nofailover)
		return false;
	/* Sync mode: a listed standby, or the old primary itself (back after
	 * a restart, it has every commit it acknowledged), and as far as
	 * every listed standby. */
	if (sync_rule(in))
		return (roster_in_list(in->sync_key, m->name) ||
			is_old_primary(in, m->name)) &&
		       m->received_lsn >= sync_max;
	uint64_t have = in->last_optime ? optime_usable_lsn(in->last_optime,
							    m->timeline,
							    m->received_lsn)
					: m->received_lsn;
	return in->last_primary_lsn <= have + in->max_lag;
}

/* failover --force: the named candidate once it has frozen, whatever the
 * lag and synchronous rules say. */
static const struct member *forced_winner(const struct decide_input *in,
					  const char **reason)
{
	const struct member *c = find_member(in, in->switch_candidate);
	if (c && c->role == MEMBER_REPLICA && c->frozen_token && c->healthy &&
	    !c->nofailover)
		return c;
	*reason = "forced failover: waiting for the candidate to freeze";
	return NULL;
}

const struct member *decide_winner(const struct decide_input *in,
				   const char **reason)
{
	uint64_t sync_max = 0;
	if (in->switch_force && in->switch_is_failover &&
	    in->switch_candidate && in->switch_candidate[0])
		return forced_winner(in, reason);
	if (in->switch_overdue && in->last_primary && in->last_primary[0]) {
		/* It stopped cleanly for the switchover: nobody has a commit
		 * it lacks, in either mode. */
		const struct member *o = find_member(in, in->last_primary);
		if (o && o->role == MEMBER_REPLICA && o->healthy &&
		    !o->nofailover && o->frozen_token)
			return o;
	}
	if (sync_rule(in)) {
		const char *why = sync_complete(in, &sync_max);
		if (why) {
			*reason = why;
			return NULL;
		}
	}
	for (size_t i = 0; i < in->n_members; i++) {
		const struct member *m = &in->members[i];
		if (m->role == MEMBER_REPLICA && !m->frozen_token &&
		    !is_old_primary(in, m->name)) {
			*reason = "waiting for every running standby to freeze";
			return NULL;
		}
	}
	const struct member *best = NULL;
	for (size_t i = 0; i < in->n_members; i++)
		if (eligible(in, &in->members[i], sync_max) &&
		    better(&in->members[i], best))
			best = &in->members[i];
	/* A requested candidate wins if it may; if it may not, the cluster
	 * still needs a primary: the request is ignored. */
	if (in->switch_candidate && in->switch_candidate[0]) {
		const struct member *c = find_member(in, in->switch_candidate);
		if (c && eligible(in, c, sync_max))
			return c;
	}
	if (!best && sync_rule(in) && (!in->sync_key || !in->sync_key[0]))
		*reason =
			"no synchronous standby: only the last primary may be "
			"promoted";
	else if (!best)
		*reason = "no eligible standby";
	return best;
}

/* Another member has a data directory (any state but "uninitialized"):
 * it may hold the database this scope is about to adopt. */
static bool other_has_data(const struct decide_input *in)
{
	for (size_t i = 0; i < in->n_members; i++) {
		const struct member *m = &in->members[i];
		if (strcmp(m->name, in->name) != 0 &&
		    strcmp(m->state, "uninitialized") != 0)
			return true;
	}
	return false;
}

/* A stopped data directory that last ran as a primary (running, crashed
 * or shut down cleanly: Postgres recovers a crash on start) and is not a
 * standby's. */
static bool adoptable(const struct decide_pg *pg)
{
	return pg->state == PG_STOPPED && pg->controldata_ok &&
	       pg->was_primary && !pg->standby_data;
}

static void decide_absent(const struct decide_input *in,
			  struct decide_action *out)
{
	const char *holder = in->lease.holder;
	if (!holder[0]) {
		/* initdb only when nobody has data to adopt: a second,
		 * unrelated database in the scope can never be merged. */
		if (in->initialized || in->paused)
			set(out, ACT_NONE, "", "no primary to copy from");
		else if (in->nofailover)
			set(out, ACT_NONE, "",
			    "nofailover: never bootstraps; "
			    "waiting for a primary to copy from");
		else if (other_has_data(in))
			set(out, ACT_NONE, "",
			    "another member has data: "
			    "waiting for a primary to adopt it");
		else if (in->bootstrap_grace)
			set(out, ACT_NONE, "",
			    "new cluster: waiting for "
			    "members with data to register");
		else
			set(out, ACT_BOOTSTRAP, "",
			    "new cluster: bootstrapping");
		return;
	}
	const struct member *p = find_member(in, holder);
	if (strcmp(holder, in->name) == 0 || !p)
		set(out, ACT_NONE, "", "waiting for the primary's record");
	else if (p->role != MEMBER_PRIMARY)
		/* it took the lease and is still starting (initdb, adopting
		 * or promoting): a copy now would only fail */
		set(out, ACT_NONE, "", "waiting for the primary to run");
	else
		set(out, ACT_BASEBACKUP, holder, "copying the primary");
}

int decide_sync_count(int count, const char *list)
{
	int n = 0;
	char name[MEMBER_STR_MAX];
	for (const char *p = list;
	     (p = roster_list_next(p, name, sizeof(name)));)
		n += name[0] != '\0';
	if (count < 1)
		count = 1;
	return n < count ? n : count;
}

static int sync_count_wanted(const struct decide_input *in, const char *list)
{
	return decide_sync_count(in->sync_count, list);
}

/* S/sync may name the standbys Postgres waits for once one of them has
 * every commit acknowledged before Postgres waited for them (those are
 * at or below sync_since_lsn): then every acknowledged commit is on a
 * node S/sync names, and a failover to the most advanced one loses none.
 * Before, S/sync keeps what it named (a wider list, or none). */
/* How far name has flushed, as the primary's pg_stat_replication says
 * ("NAME=LSN,..."; 0 when it is not there). */
static uint64_t standby_flushed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		if (strncmp(p, name, n) == 0 && p[n] == '=')
			return strtoull(p + n + 1, NULL, 10);
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return 0;
}

static bool sync_caught_up(const struct decide_input *in, const char *wanted)
{
	char name[MEMBER_STR_MAX];
	for (const char *p = wanted;
	     (p = roster_list_next(p, name, sizeof(name)));) {
		const struct member *m = find_member(in, name);
		uint64_t at = standby_flushed(in->pg.standby_flush, name);
		if (m && m->received_lsn > at)
			at = m->received_lsn;
		if (at >= in->sync_since_lsn)
			return true;
	}
	return false;
}

const char *decide_sync_names(bool strict, const char *wanted)
{
	return wanted[0] || !strict ? wanted : DECIDE_SYNC_NOBODY;
}

static void decide_holder(const struct decide_input *in,
			  struct decide_action *out)
{
	const struct decide_pg *pg = &in->pg;
	switch (pg->state) {
	case PG_STOPPED:
		/* Adopting and restarted (or failed) half-way: go on. */
		if (!in->initialized && adoptable(pg))
			set(out, ACT_ADOPT, "",
			    "lease holder: adopting existing data");
		else
			set(out, ACT_START, "",
			    "lease holder: starting Postgres");
		return;
	case PG_STARTING:
		set(out, ACT_NONE, "", "waiting for Postgres to start");
		return;
	case PG_REPLICA:
		set(out, ACT_PROMOTE, "", "lease holder: promoting");
		return;
	default:
		break;
	}
	char wanted[512] = "";
	if (in->sync_mode)
		decide_sync_wanted(in, wanted, sizeof(wanted));
	if (in->sync_mode && !in->sync_key_known) {
		set(out, ACT_NONE, "", "primary (sync list unknown)");
		return;
	}
	if (strcmp(decide_sync_names(in->sync_mode && in->sync_strict, wanted),
		   pg->sync_names) != 0 ||
	    (wanted[0] && pg->sync_count != sync_count_wanted(in, wanted)) ||
	    (in->sync_mode && !wanted[0] && in->sync_key && in->sync_key[0])) {
		set(out, ACT_SET_SYNC, wanted, "synchronous standbys changed");
		return;
	}
	if (in->sync_mode &&
	    strcmp(wanted, in->sync_key ? in->sync_key : "") != 0) {
		if (!sync_caught_up(in, wanted)) {
			set(out, ACT_NONE, "",
			    "waiting for a synchronous "
			    "standby to catch up before S/sync names it");
			return;
		}
		set(out, ACT_SYNC_KEY, wanted, "synchronous standbys changed");
		return;
	}
	if (!in->sync_mode && !in->sync_key_absent) {
		/* Postgres waits for nobody now: S/sync may go. */
		set(out, ACT_SET_SYNC, "", "asynchronous mode: S/sync removed");
		return;
	}
	/* After the sync list: in synchronous mode the candidate must be
	 * listed (it then holds every acknowledged commit) before we stop. */
	if (in->switch_from_me && in->switch_candidate &&
	    in->switch_candidate[0] && !in->switch_is_failover &&
	    strcmp(in->switch_candidate, in->name) != 0) {
		const struct member *c = find_member(in, in->switch_candidate);
		if (c && c->role == MEMBER_REPLICA && c->healthy &&
		    !c->nofailover &&
		    (!in->sync_mode || roster_in_list(in->sync_key, c->name))) {
			set(out, ACT_SWITCHOVER, c->name,
			    "switchover requested");
			return;
		}
	}
	/* Last: a key that cannot be written must not hold back the sync
	 * list.  Without it, a failover would wait for an adoption. */
	if (!in->initialized)
		set(out, ACT_MARK_INIT, "", "primary: S/initialize missing");
	else
		set(out, ACT_NONE, "", "primary");
}

/* Starts of a standby that did not come up: copy diverged or damaged
 * data afresh (not too often), wait out the back-off otherwise.  True
 * when it decided. */
static bool start_failed(const struct decide_input *in,
			 struct decide_action *out)
{
	const struct decide_pg *pg = &in->pg;
	if (pg->start_failures <= 0)
		return false;
	if (startfail_needs_copy(pg->start_cause) &&
	    pg->start_failures >= DECIDE_START_FAILURES &&
	    in->lease.holder[0]) {
		if (pg->copy_wait_ms)
			set(out, ACT_NONE, "",
			    pg->start_cause == SF_DIVERGED
				    ? "data diverged from the primary's: "
				      "waiting before "
				      "copying it afresh again"
				    : "data damaged: waiting before copying it "
				      "afresh "
				      "again");
		else
			set(out, ACT_RECLONE, in->lease.holder,
			    pg->start_cause == SF_DIVERGED
				    ? "data diverged from the primary's: "
				      "copying it "
				      "afresh"
				    : "data damaged: copying it afresh");
		return true;
	}
	if (!pg->start_wait_ms)
		return false;
	set(out, ACT_NONE, "", startfail_reason(pg->start_cause));
	return true;
}

/* A replica this node may stream from instead of the primary: healthy,
 * streaming from the primary itself (one level only: a chain of tags
 * could loop and never reach the primary) and not frozen. */
static bool cascade_source(const struct decide_input *in,
			   const struct member *u)
{
	return u && strcmp(u->name, in->name) != 0 &&
	       u->role == MEMBER_REPLICA && u->healthy && !u->frozen_token &&
	       strcmp(u->state, "streaming") == 0 &&
	       strcmp(u->upstream, in->lease.holder) == 0;
}

const char *decide_upstream(const struct decide_input *in)
{
	const struct member *self = find_member(in, in->name);
	if (self && self->replicatefrom[0] &&
	    cascade_source(in, find_member(in, self->replicatefrom)))
		return self->replicatefrom;
	return in->lease.holder;
}

static void decide_follower(const struct decide_input *in,
			    struct decide_action *out)
{
	const struct decide_pg *pg = &in->pg;
	const char *holder = in->lease.holder;
	const char *upstream = decide_upstream(in);
	const struct member *p = find_member(in, holder);
	switch (pg->state) {
	case PG_STOPPED:
		if (p && start_failed(in, out))
			return;
		if (pg->was_primary && !pg->rewound) {
			if (!pg->clean)
				set(out, ACT_RECOVER, "",
				    "old primary: crash recovery before "
				    "rewind");
			else if (p)
				set(out, ACT_REWIND, holder,
				    "old primary: rewinding");
			else
				set(out, ACT_NONE, "",
				    "waiting for the primary's record");
			return;
		}
		if (p)
			set(out, ACT_START, upstream, "starting as a standby");
		else
			set(out, ACT_NONE, "",
			    "waiting for the primary's record");
		return;
	case PG_REPLICA:
		if (!p) {
			set(out, ACT_NONE, "",
			    "waiting for the primary's record");
		} else if (pg->frozen || strcmp(pg->upstream, upstream) != 0) {
			set(out, ACT_REPOINT, upstream,
			    strcmp(upstream, holder) != 0
				    ? "cascading: following the replica "
				      "replicatefrom names"
				    : "following the primary");
		} else if (!pg->streaming &&
			   pg->not_streaming_ms >= DECIDE_STUCK_MS &&
			   p->timeline > pg->timeline) {
			set(out, ACT_RESTART_STANDBY, holder,
			    "not streaming from a newer timeline: rewinding");
		} else {
			set(out, ACT_NONE, "", "replica");
		}
		return;
	default:
		set(out, ACT_NONE, "", "waiting for Postgres");
		return;
	}
}

/* Lease free in a scope never initialised: no failover (there was no
 * primary to fail over from), only an adoption. */
static void decide_uninitialized(const struct decide_input *in,
				 struct decide_action *out)
{
	if (in->paused)
		set(out, ACT_NONE, "", "paused: not adopting existing data");
	else if (in->nofailover)
		set(out, ACT_NONE, "",
		    "nofailover: never adopts; waiting for "
		    "a primary");
	else if (adoptable(&in->pg))
		set(out, ACT_ADOPT, "", "existing primary data: adopting it");
	else
		set(out, ACT_NONE, "",
		    "waiting for a primary to adopt or bootstrap");
}

static void decide_free(const struct decide_input *in,
			struct decide_action *out)
{
	const struct decide_pg *pg = &in->pg;
	bool requested = (in->switch_candidate && in->switch_candidate[0]) ||
			 in->switch_overdue;
	if (pg->state == PG_STOPPED) {
		if (!start_failed(in, out))
			set(out, ACT_START, "",
			    "no primary: starting as a standby");
		return;
	}
	/* Paused: nothing automatic, but an operator's switchover or
	 * failover request is carried out. */
	if (in->paused && !requested) {
		set(out, ACT_NONE, "", "paused: no automatic failover");
		return;
	}
	if (pg->state != PG_REPLICA) {
		set(out, ACT_NONE, "", "waiting for Postgres");
		return;
	}
	if (!pg->frozen) {
		set(out, ACT_FREEZE, "", "no primary: stopping replication");
		return;
	}
	const char *why = "";
	const struct member *w = decide_winner(in, &why);
	/* An overdue switchover's take-back is the operator's request
	 * ending: paused or not, the cluster gets its primary back. */
	if (w && in->paused && !in->switch_overdue &&
	    strcmp(w->name, in->switch_candidate) != 0) {
		w = NULL;
		why = "paused: only the requested candidate may be promoted";
	}
	if (!w)
		set(out, ACT_NONE, "", why);
	else if (strcmp(w->name, in->name) == 0)
		set(out, ACT_ACQUIRE, "", "most advanced eligible standby");
	else
		set(out, ACT_NONE, w->name, "another standby is the candidate");
}

/* A primary left running in maintenance mode while its agent was down:
 * still paused, nobody else holds the lease, and S/unguarded names this
 * node (so no failover was carried out meanwhile: a candidate replacing
 * it switches it off first and then clears the key). */
static bool may_reclaim(const struct decide_input *in)
{
	const char *holder = in->lease.holder;
	return in->lease.known && in->paused && in->unguarded &&
	       !in->lease.other_incarnation &&
	       strcmp(in->unguarded, in->name) == 0 &&
	       (!holder[0] || strcmp(holder, in->name) == 0);
}

void decide(const struct decide_input *in, struct decide_action *out)
{
	const struct decide_pg *pg = &in->pg;
	const char *holder = in->lease.holder;
	set(out, ACT_NONE, "", "");
	if (pg->state == PG_PRIMARY && !in->lease.mine_valid) {
		if (may_reclaim(in))
			set(out, ACT_RECLAIM, "",
			    "maintenance mode: taking the "
			    "lease back for the running primary");
		else
			set(out, ACT_FENCE, "",
			    "primary without a valid lease");
		return;
	}
	if (!in->lease.known) {
		set(out, ACT_NONE, "", "witnesses unreachable");
		return;
	}
	if (decide_standby_cluster(in, out))
		return;
	if (pg->state == PG_ABSENT) {
		decide_absent(in, out);
		return;
	}
	if (in->lease.mine_valid) {
		decide_holder(in, out);
		return;
	}
	if (strcmp(holder, in->name) == 0) {
		/* Held under this node's name by another process: it runs
		 * out unless that process is alive (then this one is
		 * refused, agent_lease.c); it can never be taken over. */
		if (in->lease.other_incarnation) {
			set(out, ACT_NONE, "",
			    "the lease is held by another "
			    "process with this node's name: waiting for it "
			    "to run out");
			return;
		}
		/* Still ours at the witnesses (this agent lost track of a
		 * renewal): taking it again is safe, nobody else can have
		 * it. */
		if (in->nofailover)
			set(out, ACT_NONE, "",
			    "nofailover: not taking the "
			    "lease again");
		else if (pg->state == PG_STOPPED || pg->state == PG_REPLICA)
			set(out, ACT_ACQUIRE, "", "the lease is still mine");
		else
			set(out, ACT_NONE, "", "waiting for Postgres");
		return;
	}
	if (holder[0])
		decide_follower(in, out);
	else if (!in->initialized)
		decide_uninitialized(in, out);
	else
		decide_free(in, out);
}
