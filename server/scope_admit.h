/*
 * scope_admit.h — the per-scope key, byte and lease limits, checked by
 * the leader before it proposes a write.
 *
 * Contract
 * --------
 * The limits are in no log entry and the state machine refuses nothing
 * for them (it only counts, sm.h "Scopes"): every witness, whatever its
 * version or its settings, applies the same log alike.  Instead the
 * leader admits a command that would grow a scope only while
 *
 *     applied usage + in-flight growth + this command's growth <= limit
 *
 * for each kind (keys, bytes of keys and values, leases) the command
 * grows; a command that grows nothing of a kind (a delete, a release, a
 * renewal, an overwrite by a value no longer) passes for that kind,
 * even over a limit lowered since.  "This command's growth" is against
 * the applied state (a new key: one key and its bytes; an existing one:
 * the bytes its value gains; an acquire or floor of a name not in the
 * table: one lease).
 *
 * In-flight growth is the sum, over the scope's entries in the leader's
 * log not yet applied, of what each could add at most whatever runs
 * before it: a put or cas one key and its key and value bytes, an
 * acquire or floor one lease.  At most, because an entry ahead of it may
 * delete the key it overwrites (or free the lease it re-acquires): were
 * an overwrite counted as nothing, the room that delete frees would be
 * handed out twice.  With that, the usage the state machine reaches never
 * passes a limit the leader held while admitting (tests/unit/
 * test_scope_admit.c checks it against random logs).  Entries are
 * tracked by index in log order and dropped once applied; a new leader
 * starts by tracking every entry of its log past its applied index (its
 * predecessor's proposals that may still commit: in Raft, only entries
 * of the new leader's log can), so a leader change does not let a scope
 * overshoot.  What can: limits that differ between witnesses (each
 * leader admits by its own settings: set them alike), and an entry the
 * leader could not track (out of memory: admission fails open, as the
 * rate limit does).  Then a scope passes its limit by at most that
 * entry's growth.
 *
 * Cost: a check walks the entries in flight (a handful: they commit in
 * a round trip), never the keys.
 *
 * Errors: scope_admit_track returns -1 when out of memory (nothing
 * tracked).  Nothing is logged.
 */
#ifndef TENURE_SERVER_SCOPE_ADMIT_H
#define TENURE_SERVER_SCOPE_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#include "server/sm.h"

/* Per-scope limits (0: unlimited). */
struct scope_quota {
	uint64_t keys;
	uint64_t bytes;
	uint64_t leases;
};

enum scope_quota_kind {
	SCOPE_QUOTA_KEYS = 1,
	SCOPE_QUOTA_BYTES,
	SCOPE_QUOTA_LEASES,
};

struct scope_growth {
	uint64_t keys;
	uint64_t bytes;
	uint64_t leases;
};

/* The scope a command may grow (its length returned, 0: none, then the
 * growths are zero): now against sm's applied state, worst whatever
 * entries run before it. */
size_t scope_growth_of(const struct sm *sm, const struct sm_cmd *c,
		       const char **scope, struct scope_growth *now,
		       struct scope_growth *worst);

struct scope_inflight;

/* The entries in flight, in log order. */
struct scope_admit {
	struct scope_inflight *q;
	size_t head, n, cap;
};

void scope_admit_init(struct scope_admit *a);
void scope_admit_free(struct scope_admit *a);
/* Forget everything (leadership gained: the log tail is tracked anew). */
void scope_admit_reset(struct scope_admit *a);
/* Track entry `index` (above every one tracked) holding command c; 0, or
 * -1 when out of memory.  A command that can grow no scope is not kept. */
int scope_admit_track(struct scope_admit *a, const struct sm *sm,
		      uint64_t index, const struct sm_cmd *c);
/* Drop the entries sm has applied. */
void scope_admit_applied(struct scope_admit *a, const struct sm *sm);
/* The in-flight growth of one scope. */
void scope_admit_pending(const struct scope_admit *a, const char *scope,
			 size_t len, struct scope_growth *out);
/* 0: c may be proposed; else the enum scope_quota_kind it would pass,
 * with that limit in *limit. */
int scope_admit_check(struct scope_admit *a, const struct sm *sm,
		      const struct sm_cmd *c, const struct scope_quota *lim,
		      uint64_t *limit);

#endif /* TENURE_SERVER_SCOPE_ADMIT_H */
