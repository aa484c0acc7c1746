/*
 * pgconf.h — the files of a PostgreSQL data directory that the agent reads
 * or edits directly, with the server stopped or running:
 * postgresql.auto.conf (the settings it owns, such as primary_conninfo),
 * standby.signal, PG_VERSION and postmaster.pid.
 *
 * Contract
 * --------
 * postgresql.auto.conf is rewritten the way ALTER SYSTEM does it: other
 * lines are kept as they are, the setting's line is replaced (later
 * duplicates of it dropped: the last one would win in PostgreSQL) or
 * appended, as `key = 'value'` with ' and \ doubled (PostgreSQL's config
 * scanner reads \ as an escape).  The new file is written beside the old
 * one, fsynced, renamed over it, and the directory fsynced, so a crash
 * leaves either the old or the new file, never half of one.  The file
 * keeps its mode and owner (a new file gets 0600 and the data directory's
 * owner), so a root agent does not leave files the server cannot read.
 * Settings change in a running server only after the caller's
 * SELECT pg_reload_conf() (or a restart, for the settings that need one).
 *
 * Setting names are [A-Za-z0-9_.]+ and compared case-insensitively, as
 * PostgreSQL does; values may not hold newlines.  Blocking file I/O: call
 * these from the agent's worker, or accept a few milliseconds of fsync.
 * No global state.
 *
 * Errors: 0 or a negative errno, with one line in err naming the file and
 * what failed (pgconf_auto_get: 1 found, 0 absent, or -errno); nothing is
 * logged here.
 */
#ifndef TENURE_FENCING_PGCONF_H
#define TENURE_FENCING_PGCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Set key to value in DATADIR/postgresql.auto.conf; value NULL removes
 * the setting.  0, or -errno with a message in err. */
int pgconf_auto_set(const char *datadir, const char *key, const char *value,
		    char *err, size_t errlen);

/* The value of key in DATADIR/postgresql.auto.conf, unquoted, into out:
 * 1 found, 0 absent (or no file), -ERANGE when cap is too small, another
 * -errno when the file cannot be read. */
int pgconf_auto_get(const char *datadir, const char *key, char *out,
		    size_t cap);

/* Create (fsynced, with the directory) or remove DATADIR/standby.signal.
 * Removing one that is not there is not an error. */
int pgconf_standby_signal(const char *datadir, bool present, char *err,
			  size_t errlen);

/* DATADIR/standby.signal exists. */
bool pgconf_standby_signal_exists(const char *datadir);

/* DATADIR/PG_VERSION exists: initdb (or pg_basebackup) has run. */
bool pgconf_is_initialized(const char *datadir);

/* The postmaster's PID from the first line of DATADIR/postmaster.pid; 0
 * when there is no such file or it does not start with a PID.  The PID
 * may be stale (a crashed server leaves its file): check it with
 * kill(pid, 0) and the data directory on the file's second line. */
pid_t pgconf_postmaster_pid(const char *datadir);

/* Append " key='value'" (the leading space only when buf is not empty)
 * to the libpq connection string in buf, quoting ' and \ with a
 * backslash as libpq expects.  false, buf unchanged, when it does not
 * fit in cap. */
bool pgconf_conninfo_append(char *buf, size_t cap, const char *key,
			    const char *value);

#endif
