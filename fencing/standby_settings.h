/*
 * standby_settings.h — the settings a hot standby must run with at least
 * at its primary's values (max_connections, max_worker_processes,
 * max_wal_senders, max_prepared_transactions, max_locks_per_transaction):
 * with a lower one PostgreSQL's startup process aborts ("recovery aborted
 * because of insufficient parameter settings"), however often it is
 * started or copied.
 *
 * Contract
 * --------
 * The primary's values come from pg_controldata of the standby's own data
 * directory (its "max_connections setting:" lines hold the values of the
 * primary whose WAL it replays: controldata.h).  The values the standby
 * would run with come from `postgres -C NAME` lines printed as
 * "local NAME: VALUE" (anything else, or a missing line, is "unknown").
 * standby_settings_raise() writes a `-c NAME=VALUE` option for every
 * setting below (or not known to be at least) the primary's value, and a
 * note naming each one as "NAME LOCAL -> PRIMARY" ("?" for unknown).  A
 * value the standby already has at or above the primary's is left alone
 * (an operator may give a standby more).  Pure functions, no I/O.
 *
 * Errors: none returned; standby_settings_raise returns a count (0 when
 * nothing fits).
 */
#ifndef TENURE_FENCING_STANDBY_SETTINGS_H
#define TENURE_FENCING_STANDBY_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "fencing/controldata.h"

#define STANDBY_SETTINGS_N 5

/* The GUC names, in the order of the arrays below. */
extern const char *const standby_setting_names[STANDBY_SETTINGS_N];

struct standby_settings {
	uint32_t primary[STANDBY_SETTINGS_N]; /* 0: not in pg_controldata */
	int64_t local[STANDBY_SETTINGS_N];    /* -1: unknown */
};

/* primary[] from pg_controldata's lines; local[] all unknown. */
void standby_settings_from_controldata(const struct controldata *cd,
				       struct standby_settings *s);

/* local[] from the "local NAME: VALUE" lines of text. */
void standby_settings_parse_local(const char *text, struct standby_settings *s);

/* The options (" -c max_connections=150 ...") into opts and the note
 * ("max_connections 100 -> 150, ...") into note; both "" when nothing is
 * raised.  Returns how many settings are raised (0 when they do not fit
 * in cap: then nothing is written). */
int standby_settings_raise(const struct standby_settings *s, char *opts,
			   size_t cap, char *note, size_t ncap);

#endif
