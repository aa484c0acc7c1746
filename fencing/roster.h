/*
 * roster.h — how the cluster's member records are shown to people and to
 * routers: the same rules for the agent's /cluster endpoint and for
 * `tenurectl cluster list`, so the two never disagree.
 *
 * Contract
 * --------
 * The lease decides who is primary, not a member's own record: only the
 * holder of SCOPE/primary is shown as "primary".  A record that still says
 * primary without the lease is shown as "demoting" (its agent must fence
 * it, or the record is stale); other records show their own role.  Pure
 * functions, no global state.
 *
 * Errors: none; parsers return false on malformed input.
 */
#ifndef TENURE_FENCING_ROSTER_H
#define TENURE_FENCING_ROSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "fencing/member.h"

/* "primary", "demoting", "replica", "stopped" or "unknown"; leader is the
 * lease holder ("" or NULL when the lease is free).  The holder of a
 * standby cluster's lease, in recovery from the main cluster (its
 * upstream STANDBY_CLUSTER_UPSTREAM), is "standby_leader". */
const char *roster_role(const struct member *m, const char *leader);
/* name appears in a comma-separated list (spaces around names ignored). */
bool roster_in_list(const char *list, const char *name);
/* Walks a comma-separated list: copies the item at p into name (cut to
 * cap, empty for ",,") and returns where the next one starts; NULL at
 * the end.  for (p = list; (p = roster_list_next(p, n, sizeof(n)));) */
const char *roster_list_next(const char *p, char *name, size_t cap);
/* The member is a synchronous standby: its record or the list says so
 * (never the primary itself). */
bool roster_is_sync(const struct member *m, const char *leader,
		    const char *sync_list);
/* "host:port" or "[v6]:port" into host (without brackets) and port.
 * False when addr has no valid port; host then holds addr as it is and
 * port is 0. */
bool roster_split_addr(const char *addr, char *host, size_t hostcap,
		       unsigned *port);
/* A Postgres "HOST:PORT" (pg_listen, a record's "pg") for libpq: split
 * at the last colon, both as text; without a colon the port is 5432. */
void roster_split_pg(const char *addr, char *host, size_t cap, char *port,
		     size_t pcap);
/* A replica that may take over: running, healthy, not nofailover. */
bool roster_can_take_over(const struct member *m);
/* The best replica of the n members for a switchover: one of the sync
 * list when there is one (the primary waits for those), then the least
 * lag, then the highest priority; NULL when none may take over. */
const struct member *roster_best_candidate(const struct member *m, size_t n,
					   const char *sync);
/* Where a standby's copy (pg_basebackup) comes from: the most advanced of
 * the members tagged clonefrom that stream healthy (not self, not skip:
 * one a copy just failed from), else the primary; NULL when neither has
 * a record.  A copy from a replica spares the primary the read. */
const struct member *roster_clone_source(const struct member *m, size_t n,
					 const char *self, const char *primary,
					 const char *skip);
/* Lease holders are "NAME/INCARNATION": the node's name and a random id
 * its agent chose at start (names cannot hold '/'), so that a second
 * process with the same name can neither renew nor take over the first
 * one's lease.  Copies the name part of the len bytes at holder into out
 * (the whole of an older agent's plain "NAME"). */
void roster_holder_name(const char *holder, size_t len, char *out, size_t cap);

#endif
