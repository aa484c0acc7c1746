/*
 * record_lease.c — which lease carries the member record
 * (record_lease.h).
 */
#include "fencing/record_lease.h"

static bool rides_primary(const struct record_lease_facts *f)
{
	return f->primary_valid && f->runs_primary;
}

enum record_lease record_lease_target(const struct record_lease_facts *f)
{
	if (rides_primary(f))
		return RECORD_ON_PRIMARY;
	if (f->other_incarnation)
		return RECORD_NOWHERE;
	return f->member_held ? RECORD_ON_MEMBER : RECORD_NOWHERE;
}

enum member_lease_step member_lease_step(const struct record_lease_facts *f,
					 bool on_primary)
{
	if (rides_primary(f)) {
		if (!f->member_held)
			return MEMBER_LEASE_IDLE;
		/* until the record has moved, it still needs this lease */
		return on_primary ? MEMBER_LEASE_RELEASE : MEMBER_LEASE_KEEP;
	}
	if (f->other_incarnation)
		return MEMBER_LEASE_NAME_TAKEN;
	return f->member_held ? MEMBER_LEASE_KEEP : MEMBER_LEASE_ACQUIRE;
}
