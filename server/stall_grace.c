/*
 * stall_grace.c — see stall_grace.h.
 */
#include "server/stall_grace.h"

bool stall_grace_holds(struct stall_grace *g, bool leader, uint64_t now,
		       uint64_t gap)
{
	if (leader)
		return false;
	/* a new grace only once the last one has been over for as long as
	 * it lasted: in between the core ticks */
	if (gap >= STALL_LATE_TICK_MS && now >= g->until + STALL_GRACE_MS)
		g->until = now + STALL_GRACE_MS;
	return now < g->until;
}
