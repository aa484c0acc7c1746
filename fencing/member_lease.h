/*
 * member_lease.h — how long an agent's member lease lives and how often it
 * is renewed (docs/design.md §4, "A dead agent's record").
 *
 * The member lease carries the record S/members/NAME: when the agent dies,
 * the record goes with the lease.  Nothing renews it faster than that
 * bound needs: its TTL is twice lease_ttl, and it is renewed once a
 * quarter of that TTL has passed since the last renewal was sent, so
 * three more attempts fit in before it runs out.  At the defaults (TTL
 * 2.5 s, renew interval 0.5 s) that is a 5 s lease renewed every 1.5 s
 * (the lease timer's third tick): 0.67 Raft entries a second per agent
 * instead of 2.  A running primary holds no member lease: its record
 * rides the primary lease (record_lease.h), whose renewal is then its
 * only write each interval.
 *
 * What the longer TTL costs: the record of an agent that died (host
 * crash) stays up to 2 x lease_ttl after its last renewal instead of one
 * lease_ttl, so a failover that waits for a standby that died with the
 * primary (asynchronous mode: "every running standby has frozen") waits
 * that long, and an agent restarted after a crash waits up to that long
 * for its old incarnation's lease before it acts.
 *
 * Contract
 * --------
 * member_lease_ttl_ms(lease_ttl): 2 x lease_ttl, at most SM_TTL_MAX_MS
 * (the witnesses' longest TTL).
 * member_renew_due(now, last_sent, ttl): a renewal is due when last_sent
 * is 0 (none yet) or ttl / 4 has passed since it.
 * member_renew_timeout_ms(ttl): one attempt waits ttl / 4 at most, so that
 * one that gets no answer leaves time for the next.
 * Pure functions.
 */
#ifndef TENURE_FENCING_MEMBER_LEASE_H
#define TENURE_FENCING_MEMBER_LEASE_H

#include <stdbool.h>
#include <stdint.h>

uint64_t member_lease_ttl_ms(uint64_t lease_ttl_ms);
bool member_renew_due(uint64_t now_ms, uint64_t last_sent_ms,
		      uint64_t member_ttl_ms);
uint64_t member_renew_timeout_ms(uint64_t member_ttl_ms);

#endif /* TENURE_FENCING_MEMBER_LEASE_H */
