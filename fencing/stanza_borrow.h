/*
 * stanza_borrow.h — a scope never archives into a stanza it only
 * borrows: the main cluster's, in a standby cluster (standby_cluster.h),
 * or the one another cluster's backup is restored from (bootstrap_stanza,
 * bootstrap_conf.h).  Pure: no I/O, no allocation.
 *
 * archive_via_pgbackrest is on by default once pgbackrest_stanza is set
 * (replica_conf.h).  In a standby cluster that stanza is usually the
 * main cluster's: the one its members are copied from.  A standby
 * archives nothing, but `tenurectl cluster promote` removes the
 * standby_cluster keys, the cluster becomes a primary on a new timeline,
 * and with the default it would push that timeline into the main
 * cluster's archive: both clusters have one system identifier and count
 * timelines on from the same number, so the main cluster's next
 * failover, or a restore of its backups, could take WAL that is not its
 * own.  A scope bootstrapped from another cluster's backup is such a
 * cluster from its first start.
 *
 * Contract
 * --------
 * stanza_borrow_check() refuses, while a standby_cluster key is set:
 *   - pgbackrest_stanza set and archive_via_pgbackrest not set: the
 *     operator says whether the stanza is this cluster's own (on) or the
 *     main cluster's (off); the default is never taken, so nothing
 *     changes silently at promote;
 *   - archive_via_pgbackrest = on with the stanza that
 *     standby_cluster_restore_command names (--stanza=S or --stanza S):
 *     that is the main cluster's archive.
 * A restore command that names no stanza (a script) is not read further.
 * And, whatever the scope: archiving into the stanza bootstrap_stanza
 * names (bootstrap_method pgbackrest).  bootstrap_stanza names another
 * cluster's stanza; a scope restored from its own backup leaves it unset
 * (pgbackrest_stanza serves both).
 *
 * Once promoted, a standby cluster restores WAL (as a standby of itself,
 * after a switchover) only from a stanza it archives into
 * (stanza_borrow_own): the main cluster's archive offers history files
 * of timelines that are not its own.
 *
 * Errors: 0 or -1 with one line in err.
 */
#ifndef TENURE_FENCING_STANZA_BORROW_H
#define TENURE_FENCING_STANZA_BORROW_H

#include <stdbool.h>
#include <stddef.h>

#include "fencing/bootstrap_conf.h"
#include "fencing/replica_conf.h"
#include "fencing/standby_cluster.h"

/* The stanza a restore command names (--stanza=S or --stanza S, the
 * last one given) into buf; false when it names none or it does not
 * fit. */
bool stanza_borrow_named_in(const char *command, char *buf, size_t cap);

int stanza_borrow_check(const struct standby_cluster *s,
			const struct bootstrap_conf *b,
			const struct replica_conf *r, char *err, size_t errlen);

/* r's stanza is the promoted cluster's own archive: it archives there. */
bool stanza_borrow_own(const struct replica_conf *r);

#endif
