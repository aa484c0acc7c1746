/*
 * view_currency.h — whether the view an agent read last still stands, so
 * that a tick at rest decides on it instead of reading the scope again
 * (docs/design.md §4, "Reads at rest").
 *
 * The agent watches its scope's keys and its primary lease on one
 * connection, and the witnesses send events in the order they apply
 * them.  So after a complete read, as long as no key event and no lease
 * event other than a renewal of the same holder and token has come, the
 * scope is what the read saw; and each such renewal (every renew
 * interval, from the holder) says so afresh: it proves the watches still
 * deliver, and that nothing before it changed.
 *
 * The view is current when:
 *   - the last read was complete, and no event that may change the scope
 *     came since it began (one during the read: read again);
 *   - both watches are established (READY seen, no RESYNC or ENDED since
 *     without a read);
 *   - the view names a holder (without one, candidates compare each
 *     other's records: every tick reads, as before);
 *   - a renewal of that holder confirmed it within VIEW_CONFIRM_INTERVALS
 *     renew intervals (a holder that stops renewing, or watches that stop
 *     delivering, bring back a read every tick within that time);
 *   - the last complete read is younger than VIEW_REFRESH_INTERVALS renew
 *     intervals: a safety net that bounds what a watch could miss
 *     without anyone noticing (a bug, an event dropped) to that long.
 *
 * Contract
 * --------
 * Pure functions over the agent's clock (now, monotonic ms) and wall
 * clock (wall, ms); the agent and tests/sim/agent-sim use them alike.
 * view_currency_read_begin() returns the generation to hand to
 * view_currency_read_end().  view_currency_renewal() is given each
 * renewal event of the primary lease: it confirms the view (read_ms,
 * holder_renewed_ms and, when the holder is the last primary,
 * last_primary_seen_ms move to now) and returns true, or marks the view
 * stale and returns false when the renewal is not of the view's holder
 * and token.
 *
 * Errors: none.
 */
#ifndef TENURE_FENCING_VIEW_CURRENCY_H
#define TENURE_FENCING_VIEW_CURRENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fencing/witness_view.h"

#define VIEW_CONFIRM_INTERVALS 2
#define VIEW_REFRESH_INTERVALS 10

struct view_currency {
	uint64_t gen;      /* events that may have changed the scope */
	uint64_t read_gen; /* gen when the last complete read began */
	bool read_ok;      /* the last read was complete */
	uint64_t full_ms;  /* when it ended */
	bool keys_ready, leases_ready; /* each watch established */
};

/* An event that may change the scope, a watch re-established or ended:
 * the next tick reads. */
void view_currency_stale(struct view_currency *c);
uint64_t view_currency_read_begin(const struct view_currency *c);
void view_currency_read_end(struct view_currency *c, uint64_t gen, bool ok,
			    uint64_t now);
bool view_currency_renewal(struct view_currency *c, struct witness_view *v,
			   const char *holder_id, size_t holder_len,
			   uint64_t token, uint64_t now, uint64_t wall);
bool view_currency_current(const struct view_currency *c,
			   const struct witness_view *v, uint64_t now,
			   uint64_t interval);

#endif /* TENURE_FENCING_VIEW_CURRENCY_H */
