/*
 * lease_clock.h — the leader's countdowns for held leases (docs/design.md
 * rule 3, and §3 for the formula).
 *
 * Contract
 * --------
 * Only the leader keeps countdowns; they live in memory, on the leader's
 * monotonic clock, and never in the replicated state.  A countdown starts
 * when the leader applies a grant or renewal (after commit, so later than
 * the holder's send time) and, for every lease held when a node becomes
 * leader, at a full TTL from that moment.  So a witness never considers a
 * lease over before its holder does.  lease_clock_due() lists the leases
 * whose countdown ran out; the caller must confirm leadership with a quorum
 * round and propose an expiry carrying the token and renewal revision it
 * saw (sm.h), so that a renewal that lands first wins.
 *
 * Errors: lease_clock_set returns false when out of memory; nothing else
 * fails or logs.
 */
#ifndef TENURE_SERVER_LEASE_CLOCK_H
#define TENURE_SERVER_LEASE_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lease_clock_entry {
	char *name;
	size_t len;
	uint64_t deadline_ms;
	uint64_t token;
	uint64_t renew_revision;
};

struct lease_clock {
	struct lease_clock_entry *slots; /* open addressing, linear probe */
	size_t cap;                      /* power of two */
	size_t n;
	size_t tombstones;
};

void lease_clock_init(struct lease_clock *c);
void lease_clock_free(struct lease_clock *c);
void lease_clock_clear(struct lease_clock *c);
/* Start or restart the countdown of a lease; false when out of memory. */
bool lease_clock_set(struct lease_clock *c, const char *name, size_t len,
		     uint64_t deadline_ms, uint64_t token,
		     uint64_t renew_revision);
void lease_clock_remove(struct lease_clock *c, const char *name, size_t len);
const struct lease_clock_entry *lease_clock_get(const struct lease_clock *c,
						const char *name, size_t len);
/* Visit every lease whose deadline is <= now; stop when fn returns false. */
void lease_clock_due(const struct lease_clock *c, uint64_t now,
		     bool (*fn)(void *arg, const struct lease_clock_entry *e),
		     void *arg);

#endif
