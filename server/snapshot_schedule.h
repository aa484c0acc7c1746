/*
 * snapshot_schedule.h — when a witness takes its next snapshot.
 *
 * Every witness applies the same entries at nearly the same moment, so a
 * rule of "every `every` applied entries" made all three write their
 * snapshot (megabytes and an fsync, on the worker that also appends the
 * log) within a few milliseconds of each other.  For those milliseconds
 * no quorum could make an entry durable, and every client write waited.
 *
 * So each voter snapshots at its own points of the index line: voter k
 * (0-based, voters ordered by id) of n at the indexes i * every +
 * k * every / n.  While a snapshot write takes less than every / n
 * entries' time, at most one voter writes one at a time and the other
 * voters, a quorum of three, keep committing.  Two snapshots of one node
 * are at least every / 2 entries apart (after a restart, an installed
 * snapshot or a membership change moved its points), and at most
 * 1.5 * every: the log behind a snapshot stays bounded as before.
 */
#ifndef TENURE_SERVER_SNAPSHOT_SCHEDULE_H
#define TENURE_SERVER_SNAPSHOT_SCHEDULE_H

#include <stdint.h>

#include "raft/raft.h"

/* This node's offset on the index line: k * every / n for voter k of n
 * (by id); 0 for a node that is not a voter. */
uint64_t snapshot_offset(const struct raft_config *c, raft_id self,
			 uint64_t every);

/* The first index at which a node whose last snapshot is at `last` takes
 * the next one: the first point i * every + offset at or after
 * last + every / 2 (last + 1 when every < 2).  every > 0, offset < every. */
uint64_t snapshot_next_at(uint64_t last, uint64_t every, uint64_t offset);

#endif
