/*
 * decide_standby.c — decide.h rule 7, a standby cluster: the lease holder
 * is the standby leader, in recovery from the main cluster; nobody is
 * ever promoted, bootstrapped or adopted while the setting is there.
 * decide() asks here first; what is not decided here (a member following
 * the standby leader, the lease still held under this node's name, a
 * running primary) goes on by the ordinary rules, which cascade from the
 * holder and never promote a node that does not hold a valid lease.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/decide.h"
#include "fencing/standby_cluster.h"

static void set(struct decide_action *out, enum decide_kind k,
		const char *target, const char *reason)
{
	out->kind = k;
	snprintf(out->target, sizeof(out->target), "%s", target ? target : "");
	out->reason = reason;
}

static const struct member *find(const struct decide_input *in,
				 const char *name)
{
	for (size_t i = 0; i < in->n_members; i++)
		if (strcmp(in->members[i].name, name) == 0)
			return &in->members[i];
	return NULL;
}

static bool other_has_data(const struct decide_input *in)
{
	for (size_t i = 0; i < in->n_members; i++)
		if (strcmp(in->members[i].name, in->name) != 0 &&
		    strcmp(in->members[i].state, "uninitialized") != 0)
			return true;
	return false;
}

/* No data directory: the first member takes the lease and copies the
 * main cluster; the others copy the standby leader once it runs. */
static void absent(const struct decide_input *in, struct decide_action *out)
{
	const char *holder = in->lease.holder;
	const struct member *p = holder[0] ? find(in, holder) : NULL;
	if (in->lease.mine_valid)
		set(out, ACT_BASEBACKUP, STANDBY_CLUSTER_UPSTREAM,
		    "standby leader: copying the main cluster");
	else if (strcmp(holder, in->name) == 0)
		set(out, ACT_NONE, "", "waiting for the lease");
	else if (holder[0] && (!p || !p->healthy))
		set(out, ACT_NONE, "", "waiting for the standby leader to run");
	else if (holder[0])
		set(out, ACT_BASEBACKUP, holder, "copying the standby leader");
	else if (in->paused)
		set(out, ACT_NONE, "",
		    "paused: no standby leader to copy from");
	else if (in->nofailover)
		set(out, ACT_NONE, "",
		    "nofailover: never the standby leader; "
		    "waiting for one to copy from");
	else if (other_has_data(in))
		set(out, ACT_NONE, "",
		    "another member has data: waiting for "
		    "it to become the standby leader");
	else if (in->bootstrap_grace)
		set(out, ACT_NONE, "",
		    "new standby cluster: waiting for "
		    "members with data to register");
	else
		set(out, ACT_ACQUIRE, "",
		    "new standby cluster: taking the lease to copy the main "
		    "cluster");
}

/* This node holds the lease: Postgres in recovery from the main cluster,
 * never promoted.  A running primary is left to the ordinary rules
 * (false). */
static bool leader(const struct decide_input *in, struct decide_action *out)
{
	const struct decide_pg *pg = &in->pg;
	switch (pg->state) {
	case PG_STOPPED:
		set(out, ACT_START, STANDBY_CLUSTER_UPSTREAM,
		    "standby leader: starting in recovery from the main "
		    "cluster");
		return true;
	case PG_STARTING:
		set(out, ACT_NONE, "", "waiting for Postgres to start");
		return true;
	case PG_REPLICA:
		break;
	default:
		return false;
	}
	bool wrong = in->standby_streams
			     ? pg->frozen ||
				       strcmp(pg->upstream,
					      STANDBY_CLUSTER_UPSTREAM) != 0
			     : pg->upstream[0] != '\0' &&
				       strcmp(pg->upstream,
					      STANDBY_CLUSTER_UPSTREAM) != 0;
	if (wrong)
		set(out, ACT_REPOINT, STANDBY_CLUSTER_UPSTREAM,
		    "standby leader: following the main cluster");
	else if (!in->initialized)
		set(out, ACT_MARK_INIT, "",
		    "standby leader: S/initialize missing");
	else
		set(out, ACT_NONE, "", "standby leader");
	return true;
}

/* The lease free: no freeze and no lag rule (nothing is lost: every
 * member only has what the main cluster sent), the most advanced healthy
 * member takes it, then follows the main cluster from where it is. */
static void free_lease(const struct decide_input *in, struct decide_action *out)
{
	const struct member *best = NULL;
	if (in->paused) {
		set(out, ACT_NONE, "", "paused: no new standby leader");
		return;
	}
	for (size_t i = 0; i < in->n_members; i++) {
		const struct member *m = &in->members[i];
		bool self = strcmp(m->name, in->name) == 0;
		/* in->nofailover: also a veto for a while (watchdog, hook) */
		if (m->role != MEMBER_REPLICA || !m->healthy || m->nofailover ||
		    (self && in->nofailover))
			continue;
		if (!best || m->received_lsn > best->received_lsn ||
		    (m->received_lsn == best->received_lsn &&
		     (m->priority > best->priority ||
		      (m->priority == best->priority &&
		       strcmp(m->name, best->name) < 0))))
			best = m;
	}
	if (in->pg.state == PG_STOPPED)
		set(out, ACT_START, "", "no standby leader: starting");
	else if (in->pg.state != PG_REPLICA)
		set(out, ACT_NONE, "", "waiting for Postgres");
	else if (!best)
		set(out, ACT_NONE, "",
		    "no member may become the standby leader");
	else if (strcmp(best->name, in->name) == 0)
		set(out, ACT_ACQUIRE, "",
		    "no standby leader: the most advanced member takes the "
		    "lease");
	else
		set(out, ACT_NONE, best->name,
		    "another member becomes the standby leader");
}

bool decide_standby_cluster(const struct decide_input *in,
			    struct decide_action *out)
{
	if (!in->standby_cluster)
		return false;
	if (in->pg.state == PG_ABSENT) {
		absent(in, out);
		return true;
	}
	if (in->lease.mine_valid)
		return leader(in, out);
	if (!in->lease.holder[0] && in->pg.state != PG_PRIMARY) {
		free_lease(in, out);
		return true;
	}
	return false;
}
