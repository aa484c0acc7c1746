/*
 * optime.h — the primary's last known position, kept durably in the
 * scope (SCOPE/optime) so that the lag rule of a failover never depends
 * on what one agent happened to remember (docs/design.md rule 8).
 *
 * Contract
 * --------
 * The record is a flat JSON object {"name","token","lsn","time_ms"}: the
 * primary NAME holding the primary lease with TOKEN had written up to LSN
 * (pg_current_wal_lsn, a byte position) at wall-clock TIME_MS.  Only the
 * holder of the primary lease writes it: after each observation in which
 * its position moved, at most once per renew interval, and at least once
 * per heartbeat (OPTIME_HEARTBEAT_MS) while it is primary (so TIME_MS says
 * when it was last seen writable).  It is a plain key, not attached to any lease: it outlives
 * the primary, every agent and every witness restart.
 *
 * The bar a failover candidate is measured against is the larger of this
 * record's LSN and the position the reading agent saw itself: larger is
 * the safe side (a lagging node can only be kept out, never let in).
 * Pure functions, no global state.
 *
 * Errors: optime_decode returns false on malformed input, optime_encode 0
 * when the buffer is too small; nothing is logged.
 */
#ifndef TENURE_FENCING_OPTIME_H
#define TENURE_FENCING_OPTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fencing/member.h"

struct optime {
	char name[MEMBER_STR_MAX];
	uint64_t token;
	uint64_t lsn;
	uint64_t time_ms;  /* wall clock (0: no record) */
	uint32_t timeline; /* the primary's timeline (0: not said) */
	uint64_t tl_start; /* the first position it published on that
			       timeline: about where the timeline forked */
};

/* JSON into buf; its length, or 0 when it does not fit. */
size_t optime_encode(const struct optime *o, char *buf, size_t cap);
/* false with a reason in err; *o is zeroed first. */
bool optime_decode(const char *json, size_t len, struct optime *o, char *err,
		   size_t errlen);

/* An unchanged record is written again this often, only so that its
 * time_ms does not look abandoned: the position is what failovers use,
 * and it is written whenever it moves.  The primary lease's renewals say
 * better when the primary was last alive (witness_view.h
 * last_primary_seen_ms); time_ms is the fallback of an agent that
 * started after the primary died. */
#define OPTIME_HEARTBEAT_MS 30000

/* Whether a primary at position lsn, now_ms (its own monotonic clock)
 * should write a new record, given the last one it wrote (sent_lsn at
 * sent_ms, 0: none).  At most one write per min_ms; a moved position is
 * written then, an unchanged one after heartbeat_ms. */
bool optime_due(uint64_t lsn, uint64_t now_ms, uint64_t sent_lsn,
		uint64_t sent_ms, uint64_t min_ms, uint64_t heartbeat_ms);

/* tl_start for a record at lsn on timeline: the previous record's when it
 * is of the same timeline (a restarted agent, a reclaim), else lsn. */
uint64_t optime_tl_start(const struct optime *prev, uint32_t timeline,
			 uint64_t lsn);

/* What a candidate on timeline tl with received position lsn holds of the
 * primary's history: all of it on the record's timeline (or when either
 * timeline is unknown); on an older one, nothing past the fork (WAL it
 * has beyond it is another history, not the primary's). */
uint64_t optime_usable_lsn(const struct optime *rec, uint32_t tl, uint64_t lsn);

/* The position a candidate must be within the lag limit of: the durable
 * record's or the one remembered in memory, whichever is further. */
uint64_t optime_bar(const struct optime *durable, uint64_t remembered);

#endif
