/*
 * record_lease.h — which lease carries this agent's member record
 * (S/members/NAME), and what becomes of its member lease meanwhile
 * (docs/design.md §4, "A dead agent's record"; docs/agent-traffic.md).
 *
 * A record is attached to a lease so that it goes when its agent dies.  A
 * standby's rides its member lease (member_lease.h).  A running primary's
 * rides the primary lease it holds: that lease is renewed every renew
 * interval anyway, so once the record is on it the member lease is
 * released and not renewed, and the primary's renewals are its only
 * writes at rest (one per renew interval, instead of those plus the
 * member lease's).
 *
 * Only a record that says "primary" rides the primary lease: it goes with
 * that lease, so the one record that may vanish when the lease is
 * released or runs out is the primary's, which no failover rule reads once
 * the lease is free (a free lease has no primary: decide.c reads the
 * standbys' records then, and the old primary's only when it is back as a
 * standby, written again under its member lease).  As soon as the agent no
 * longer runs a primary (switchover, demotion) or no longer holds a valid
 * lease, it takes its member lease again and writes its record there, as
 * a demoted node must anyway: before the release when it can.
 *
 * Names: the member lease kept another process with this node's name from
 * running (agent_lease.c).  While the primary is held under this name by
 * another process, the member lease may be free: an agent then neither
 * takes it nor writes its record, and counts the name as taken, as when
 * the member lease is held by another process.
 *
 * Contract
 * --------
 * record_lease_target(f): RECORD_ON_PRIMARY when f->primary_valid and
 * f->runs_primary; otherwise RECORD_NOWHERE when f->other_incarnation;
 * otherwise RECORD_ON_MEMBER when f->member_held, RECORD_NOWHERE if not.
 * member_lease_step(f, on_primary): what to do with the member lease this
 * renew interval.  on_primary: the witnesses acknowledged the record
 * attached to the primary lease the agent holds now.
 *   - the record rides the primary lease (as above): RELEASE when the
 *     member lease is held and on_primary, KEEP (renew when due) when it
 *     is held but not on_primary yet, IDLE when not held;
 *   - else other_incarnation: NAME_TAKEN (never take it; a held one is
 *     kept);
 *   - else KEEP when held, ACQUIRE when not.
 * Pure functions.
 */
#ifndef TENURE_FENCING_RECORD_LEASE_H
#define TENURE_FENCING_RECORD_LEASE_H

#include <stdbool.h>

enum record_lease {
	RECORD_NOWHERE,    /* no lease to attach it to: not written */
	RECORD_ON_MEMBER,  /* S/members/NAME, the member lease */
	RECORD_ON_PRIMARY, /* S/primary, held and valid */
};

struct record_lease_facts {
	bool primary_valid;     /* this process holds S/primary, valid */
	bool runs_primary;      /* its record says role primary */
	bool member_held;       /* this process holds its member lease */
	bool other_incarnation; /* S/primary is held under this node's
				   name by another process */
};

enum member_lease_step {
	MEMBER_LEASE_KEEP,       /* renew when due (member_lease.h) */
	MEMBER_LEASE_ACQUIRE,    /* take it */
	MEMBER_LEASE_RELEASE,    /* give it back: the record moved */
	MEMBER_LEASE_IDLE,       /* not held, not wanted */
	MEMBER_LEASE_NAME_TAKEN, /* another process runs under this name */
};

enum record_lease record_lease_target(const struct record_lease_facts *f);
enum member_lease_step member_lease_step(const struct record_lease_facts *f,
					 bool on_primary);

#endif /* TENURE_FENCING_RECORD_LEASE_H */
