/*
 * snapshot_schedule.c — see snapshot_schedule.h.
 */
#include <stdbool.h>

#include "server/snapshot_schedule.h"

uint64_t snapshot_offset(const struct raft_config *c, raft_id self,
			 uint64_t every)
{
	unsigned voters = 0, below = 0;
	bool self_votes = false;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->servers[i].role != RAFT_VOTER)
			continue;
		voters++;
		if (c->servers[i].id == self)
			self_votes = true;
		else if (c->servers[i].id < self)
			below++;
	}
	if (!self_votes)
		return 0;
	return every / voters * below;
}

uint64_t snapshot_next_at(uint64_t last, uint64_t every, uint64_t offset)
{
	uint64_t gap = every / 2 ? every / 2 : 1; /* never the same index */
	uint64_t earliest = last + gap;
	if (earliest <= offset)
		return offset;
	uint64_t rounds = (earliest - offset + every - 1) / every;
	return rounds * every + offset;
}
