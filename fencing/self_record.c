/*
 * self_record.c — see self_record.h.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/roster.h"
#include "fencing/self_record.h"

static enum member_role role_of(enum pg_state s)
{
	switch (s) {
	case PG_PRIMARY:
		return MEMBER_PRIMARY;
	case PG_REPLICA:
		return MEMBER_REPLICA;
	case PG_STOPPED:
	case PG_ABSENT:
		return MEMBER_STOPPED;
	default:
		return MEMBER_UNKNOWN;
	}
}

static const char *state_of(const struct self_facts *f)
{
	const struct decide_pg *o = f->pg;
	switch (o->state) {
	case PG_ABSENT:
		return "uninitialized";
	case PG_STOPPED:
		return f->start_failed ? "start failed" : "stopped";
	case PG_STARTING:
		return "starting";
	case PG_PRIMARY:
		return "running";
	case PG_REPLICA:
		if (o->frozen)
			return "frozen";
		return o->streaming ? "streaming" : "in archive recovery";
	}
	return "unknown";
}

void self_record_build(const struct self_facts *f, const struct witness_view *v,
		       struct member *m)
{
	const struct decide_pg *o = f->pg;
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", f->name);
	m->role = role_of(o->state);
	snprintf(m->state, sizeof(m->state), "%s", state_of(f));
	m->timeline = o->timeline;
	m->received_lsn = o->received_lsn;
	m->replayed_lsn = o->replayed_lsn;
	uint64_t top = optime_view_bar(v);
	m->lag_bytes = o->state == PG_REPLICA && top > o->received_lsn
			       ? top - o->received_lsn
			       : 0;
	m->healthy = o->state == PG_PRIMARY || o->state == PG_REPLICA;
	snprintf(m->api, sizeof(m->api), "%s", f->api);
	snprintf(m->pg, sizeof(m->pg), "%s", f->pg_addr);
	snprintf(m->upstream, sizeof(m->upstream), "%s", o->upstream);
	m->nofailover = f->nofailover;
	m->priority = f->priority;
	m->nosync = f->nosync;
	m->noloadbalance = f->noloadbalance;
	m->clonefrom = f->clonefrom;
	snprintf(m->replicatefrom, sizeof(m->replicatefrom), "%s",
		 f->replicatefrom ? f->replicatefrom : "");
	if (o->state == PG_REPLICA && o->frozen_settled)
		m->frozen_token = v->last_token ? v->last_token : 1;
	m->lease_token = f->lease_token;
	m->sync = roster_in_list(v->sync, f->name);
	if (!m->healthy && f->down_reason)
		snprintf(m->reason, sizeof(m->reason), "%s", f->down_reason);
	m->updated_ms = f->wall_ms;
	/* The reason of the last decision to wait, while the lease is free:
	 * `cluster list` and /metrics say why nobody takes over. */
	if (!v->holder[0] && v->read_ms && f->waiting)
		snprintf(m->waiting, sizeof(m->waiting), "%s", f->waiting);
}
