/*
 * scope_rate.h — this witness's accounting of client requests per scope:
 * a token bucket per scope (the requests/s limit), the requests and
 * refusals seen, and the rate over the last whole second.
 *
 * Contract
 * --------
 * Pure: time comes in as an argument, nothing is logged.  A scope is as
 * sm.h defines it (sm_scope_len); requests that name none are not
 * accounted.  The bucket holds one second of the rate (the burst) and
 * refills continuously; limit 0 admits everything.  The table is bounded
 * (SCOPE_RATE_MAX entries): a new scope past that replaces the least
 * recently seen one, so clients naming ever new scopes cannot grow it,
 * and what is lost is the history of a scope idle the longest (its
 * bucket was full again anyway unless the table churns within a second).
 * Counts are this witness's own, not replicated: the leader's are the
 * ones that matter, since it serves every write and linearizable read.
 *
 * Errors: scope_rate_admit and scope_rate_refused fail open (admit, not
 * counted) when out of memory: limiting is a defence, not a guarantee.
 */
#ifndef TENURE_SERVER_SCOPE_RATE_H
#define TENURE_SERVER_SCOPE_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/sm_map.h"

#define SCOPE_RATE_MAX 1024

struct scope_rate_stats {
	uint64_t requests;      /* admitted or not */
	uint64_t refused_rate;  /* answered busy: over the requests/s */
	uint64_t refused_quota; /* refused by a key/byte/lease limit */
	uint64_t last_second;   /* requests in the last whole second */
};

struct scope_rate_ent;

struct scope_rate {
	uint64_t per_second; /* 0: unlimited */
	struct sm_map by_name;
	uint64_t seq; /* recency, for replacing the idlest entry */
};

void scope_rate_init(struct scope_rate *r, uint64_t per_second);
/* A new limit (SIGHUP): counts are kept; a bucket fuller than the new
 * burst is cut down to it at its next request. */
void scope_rate_set_limit(struct scope_rate *r, uint64_t per_second);
void scope_rate_free(struct scope_rate *r);
/* One request of scope (len > 0) at now_ms: false when it is over the
 * rate (count it refused and answer busy).  exempt: counted, never
 * refused and takes no token (lease renewals: refusing them would turn
 * a flood into a failover of the flooding cluster). */
bool scope_rate_admit(struct scope_rate *r, const char *scope, size_t len,
		      uint64_t now_ms, bool exempt);
/* A request of scope refused by a quota. */
void scope_rate_refused(struct scope_rate *r, const char *scope, size_t len,
			uint64_t now_ms);
/* The counts of scope; false (zeroes) when never seen or replaced. */
bool scope_rate_get(const struct scope_rate *r, const char *scope, size_t len,
		    uint64_t now_ms, struct scope_rate_stats *out);

#endif /* TENURE_SERVER_SCOPE_RATE_H */
