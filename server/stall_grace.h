/*
 * stall_grace.h — a follower back from a stall of its own does not take
 * its leader for silent at once.
 *
 * A follower whose loop did not run for a while (CPU starved, a burst
 * of work: the tick came late) has not heard its leader for that long
 * because it did not listen, not because the leader is gone.  It gives
 * the leader STALL_GRACE_MS (two heartbeats and more) to be heard before
 * its Raft core is ticked again (the tick is what counts the election
 * timeout).  Never two graces in a row, so a follower late at every tick
 * still ticks, and elects when the leader is really gone, at most that
 * much later.  A leader never waits: its ticks send the heartbeats.
 */
#ifndef TENURE_SERVER_STALL_GRACE_H
#define TENURE_SERVER_STALL_GRACE_H

#include <stdbool.h>
#include <stdint.h>

/* A tick this late (ms since the one before) was a stall. */
#define STALL_LATE_TICK_MS 100
#define STALL_GRACE_MS 100

struct stall_grace {
	uint64_t until; /* ms; 0: none yet */
};

/* At a tick at now (ms), gap ms after the one before: whether the Raft
 * tick waits (the grace runs). */
bool stall_grace_holds(struct stall_grace *g, bool leader, uint64_t now,
		       uint64_t gap);

#endif
