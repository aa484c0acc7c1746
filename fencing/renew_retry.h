/*
 * renew_retry.h — how long one renewal of SCOPE/primary may wait for an
 * answer, and whether one that got none is sent again at once.
 *
 * A witness leader cut off without a reset (packets dropped) answers
 * nothing; the client library drops a connection only when a request
 * expires on it in complete silence, then moves to the next endpoint.
 * A renewal that waited half the TTL there left the holder too little
 * validity to reach the new leader, and it fenced itself for nothing.
 * So an attempt waits at most one renew interval, and an attempt that
 * got no answer is followed by another one at once (on the next
 * connection) instead of at the next tick.
 *
 * Contract
 * --------
 * renew_attempt_timeout_ms(ttl, interval, left): the per-attempt deadline:
 * min(ttl / 2, interval, left); left is the validity that remains (the
 * caller does not renew with none).
 *
 * renew_retry_now(no_answer, left, now, last_retry_at, interval): true
 * when a renewal that just ended should be sent again at once: it got
 * no answer (timeout or a lost connection), validity remains, and no
 * immediate retry was sent in the last interval ms (last_retry_at 0:
 * none yet).  At most one extra attempt per interval: a silent cluster
 * never turns this into a loop.  Safety does not depend on it: validity
 * is extended only from the send time of a renewal that was answered.
 */
#ifndef TENURE_FENCING_RENEW_RETRY_H
#define TENURE_FENCING_RENEW_RETRY_H

#include <stdbool.h>
#include <stdint.h>

uint64_t renew_attempt_timeout_ms(uint64_t ttl_ms, uint64_t interval_ms,
				  uint64_t left_ms);
bool renew_retry_now(bool no_answer, uint64_t left_ms, uint64_t now_ms,
		     uint64_t last_retry_at_ms, uint64_t interval_ms);

#endif /* TENURE_FENCING_RENEW_RETRY_H */
