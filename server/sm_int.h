/*
 * sm_int.h — internals shared by the state machine's files (sm.c: state and
 * apply; sm_snap.c: snapshot and restore).  Not for other modules.
 *
 * Errors: constructors return NULL and setters -1 when out of memory (else
 * 0).
 */
#ifndef TENURE_SERVER_SM_INT_H
#define TENURE_SERVER_SM_INT_H

#include "server/sm.h"
#include "server/sm_map.h"

/* A lease owns its name (allocated with the entry) and its holder.  Free
 * leases stay in the table: their token is that of the last grant. */
struct sm_lease_ent {
	struct sm_node node; /* in sm->leases, keyed by name */
	struct sm_map keys;  /* attached keys (their by_lease nodes) */
	struct sm_lease pub; /* strings point into this entry */
	char *holder;        /* owned copy; NULL when free */
	char name[];
};

/* A key owns its bytes (allocated with the entry) and its value.  Being
 * in its lease's own map makes freeing a lease cost O(attached keys), and
 * in key order, so delete events come out alike on every witness. */
struct sm_key_ent {
	struct sm_node node;     /* in sm->keys */
	struct sm_node by_lease; /* in lease->keys while attached */
	struct sm_lease_ent *lease;
	struct sm_key pub; /* strings point into this entry/lease */
	char *value;       /* owned copy; NULL when empty */
	char key[];
};

/* A scope's counters, kept while it has a key or a lease. */
struct sm_scope_ent {
	struct sm_node node; /* in sm->scopes */
	struct sm_scope pub; /* name points into this entry */
	char name[];
};

struct sm {
	struct sm_map leases;
	struct sm_map keys;
	struct sm_map scopes;
	uint64_t applied;
	uint64_t revision;
	/* The key a delete removed, so that its result (like every result)
	 * points into the state machine until the next apply. */
	char deleted_key[SM_KEY_MAX];
	/* The same for the name of a lease that a release or expiry
	 * removed (free leases are not kept: see sm.h). */
	char freed_lease[SM_KEY_MAX];
};

/* Entries: constructors return NULL when out of memory. */
struct sm_lease_ent *sm_lease_ent_new(const char *name, size_t len);
/* Replace the holder (len 0: free); -1 when out of memory, unchanged. */
int sm_lease_ent_set_holder(struct sm_lease_ent *l, const char *holder,
			    size_t len);
struct sm_key_ent *sm_key_ent_new(const char *key, size_t len);
/* Replace the value; -1 when out of memory, unchanged. */
int sm_key_ent_set_value(struct sm_key_ent *k, const char *value, size_t len);
/* Move a key to lease l (NULL: none). */
void sm_key_ent_attach(struct sm_key_ent *k, struct sm_lease_ent *l);

struct sm_lease_ent *sm_lease_ent_find(const struct sm *sm, const char *name,
				       size_t len);
struct sm_key_ent *sm_key_ent_find(const struct sm *sm, const char *key,
				   size_t len);

/* Scopes (sm_scope.c).  The entry of a name's scope, created when
 * missing: NULL when the name has no scope, or when out of memory (then
 * *oom is set).  A created entry counts nothing until adjusted: give it
 * back with sm_scope_adjust(.., 0, 0, 0) when the apply does not go on. */
struct sm_scope_ent *sm_scope_ent_for(struct sm *sm, const char *name,
				      size_t len, bool *oom);
/* The existing entry of a name's scope, or NULL. */
struct sm_scope_ent *sm_scope_ent_find(const struct sm *sm, const char *name,
				       size_t len);
/* Add the deltas (sc may be NULL: no scope); an entry left counting
 * nothing is removed and freed. */
void sm_scope_adjust(struct sm *sm, struct sm_scope_ent *sc, int64_t keys,
		     int64_t bytes, int64_t leases);
void sm_scope_clear(struct sm *sm);

/* Free every entry, leaving an empty state (applied and revision kept). */
void sm_clear(struct sm *sm);

/* Shared validation of limits (commands and snapshots alike). */
static inline bool sm_ttl_valid(uint64_t ttl_ms)
{
	return ttl_ms >= SM_TTL_MIN_MS && ttl_ms <= SM_TTL_MAX_MS;
}

#endif /* TENURE_SERVER_SM_INT_H */
