/*
 * agent_input.c — see agent_input.h.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/agent_input.h"
#include "fencing/scope_keys.h"

/* The members as decide() sees them: the view, with this node's own
 * record replaced by the one just built (the published one may lag). */
static size_t members_with_self(const struct agent_facts *f,
				const struct witness_view *v,
				struct member *out)
{
	size_t n = 0;
	for (size_t i = 0; i < v->n_members; i++)
		if (strcmp(v->members[i].name, f->name) != 0)
			out[n++] = v->members[i];
	out[n++] = *f->self;
	return n;
}

/* A switchover (not a failover: there the old primary is gone) whose
 * candidate has not taken the free lease within 2 x lease_ttl: it cannot
 * or will not (a veto, a rule it fails), and the cluster must not stay
 * without a primary. */
static bool switch_overdue(const struct agent_facts *f,
			   const struct witness_view *v)
{
	return v->switch_candidate[0] && !v->switch_is_failover &&
	       !v->holder[0] && f->lease_free_since &&
	       f->now_ms - f->lease_free_since > 2 * f->lease_ttl;
}

/* When a request's age starts: at its time when it was scheduled. */
static uint64_t request_since(const struct witness_view *v)
{
	return v->switch_at_ms > v->switch_requested_ms
		       ? v->switch_at_ms
		       : v->switch_requested_ms;
}

void agent_build_input(const struct agent_facts *f,
		       const struct witness_view *v,
		       struct agent_input_bufs *bufs, struct decide_input *in)
{
	*in = (struct decide_input){
		.name = f->name,
		.sync_mode = f->sync_mode,
		.max_lag = f->max_lag,
		.pg = *f->pg,
		.members = bufs->members,
		.n_members = members_with_self(f, v, bufs->members),
		.initialized = v->initialized,
		/* vetoed for a while (no watchdog, no guard, pre_promote):
		 * not even a lease still held under its name is taken again */
		.nofailover = f->nofailover || f->now_ms < f->veto_until,
		.paused = v->paused,
		/* members with data register within a lease or so: an empty
		 * node must not initdb before it could have seen them */
		.bootstrap_grace = f->now_ms - f->started_ms < 2 * f->lease_ttl,
		.sync_key = v->sync,
		.sync_key_known = v->sync_known,
		.sync_key_absent = v->sync_known && !v->sync_present,
		.sync_count = f->sync_count,
		.sync_strict = f->sync_strict,
		.switch_candidate = v->switch_candidate,
		.switch_is_failover = v->switch_is_failover,
		.switch_force = v->switch_force,
		.switch_from_me = strcmp(v->switch_from, f->name) == 0 ||
				  !v->switch_from[0],
		/* durable: no restart can lower it (docs/design.md rule 8) */
		.last_primary_lsn = optime_view_bar(v),
		.last_optime = &v->optime,
		.sync_since_lsn = f->sync_since_lsn,
		.standby_cluster = f->standby_cluster,
		.standby_streams = f->standby_streams,
		/* who became primary last: the history says it even to an
		 * agent that just started */
		.last_primary = v->hist_primary[0] ? v->hist_primary
						   : v->last_primary,
		/* a reclaim vetoed just now (no watchdog) must not retry
		 * at every tick: the primary is fenced instead */
		.unguarded = f->now_ms < f->veto_until
				     ? ""
				     : unguarded_name(v, bufs->unguarded,
						      sizeof(bufs->unguarded)),
	};
	/* A stale request must not hold back an automatic failover forever
	 * (tenurectl replaces it by the same rule). */
	if (v->switch_requested_ms &&
	    f->wall_ms > request_since(v) + SCOPE_REQUEST_MAX_AGE_MS)
		in->switch_candidate = "";
	/* A scheduled switchover waits for its time, by this node's wall
	 * clock (docs/operations.md: clocks must agree to a second or so). */
	if (v->switch_at_ms && f->wall_ms < v->switch_at_ms)
		in->switch_candidate = "";
	/* Carried out already: this node was promoted after the request
	 * (its deletion may not be visible yet). */
	if (v->switch_requested_ms &&
	    v->switch_requested_ms == f->switch_done_ms)
		in->switch_candidate = "";
	/* only a live request can be overdue: a stale one is no request at
	 * all (found by tests/sim/agent-sim --leftover-request) */
	in->switch_overdue = in->switch_candidate[0] && switch_overdue(f, v);
	if (in->switch_overdue)
		in->switch_candidate = "";
	in->lease.known = f->view_ok && v->read_ms &&
			  f->now_ms - v->read_ms < f->lease_ttl;
	snprintf(in->lease.holder, sizeof(in->lease.holder), "%s", v->holder);
	in->lease.mine_valid = f->lease_valid;
	in->lease.other_incarnation = v->holder[0] &&
				      strcmp(v->holder, f->name) == 0 &&
				      strcmp(v->holder_id, f->holder_id) != 0;
}
