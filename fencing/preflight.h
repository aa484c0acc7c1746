/*
 * preflight.h — tenure-agent's start-up checks of the host: the
 * PostgreSQL programs in pg_bin_dir and the data directory in pg_data_dir,
 * before anything runs, so that an operator's mistake stops the agent
 * with a sentence saying what is wrong and what to do, instead of a
 * failing initdb or pg_ctl in a loop.
 *
 * Contract
 * --------
 * preflight_check() returns 0 when the agent may start, or -1 with one
 * line in err (what is wrong, then what to do).  It refuses:
 *
 *   - a pg_bin_dir without an executable pg_ctl, postgres, initdb,
 *     pg_controldata, pg_basebackup or pg_rewind (PostgreSQL not
 *     installed, or the wrong directory);
 *   - a pg_data_dir that is not a directory, or is owned by another user
 *     than the one the agent runs as (Postgres requires the owner);
 *   - a missing pg_data_dir whose parent is missing or not writable (the
 *     agent creates it for initdb or pg_basebackup);
 *   - a pg_data_dir that is neither empty nor a PostgreSQL data directory
 *     (no PG_VERSION): initdb and pg_basebackup would refuse it anyway,
 *     and nothing in it is touched;
 *   - a data directory of another major version than `postgres -V` in
 *     pg_bin_dir.
 *
 * It only reads (stat, access, PG_VERSION) and runs `postgres -V`; it
 * writes nothing.  preflight_major() and preflight_version_major() are
 * its pure parts, exposed for the unit tests.
 *
 * Errors: 0 or -1 with one line in err (above); the version helpers return
 * 0 when unknown.
 */
#ifndef TENURE_FENCING_PREFLIGHT_H
#define TENURE_FENCING_PREFLIGHT_H

#include <stddef.h>

int preflight_check(const char *pg_bin_dir, const char *pg_data_dir, char *err,
		    size_t errlen);

/* The major version in a PG_VERSION file's text ("15\n" -> 15, "9.6"
 * -> 9); 0 when it is not one. */
int preflight_major(const char *pg_version_text);

/* The major version in `postgres -V` output ("postgres (PostgreSQL)
 * 15.4 (Debian 15.4-1)" -> 15); 0 when there is none. */
int preflight_version_major(const char *version_output);

#endif
