/*
 * controldata.h — what `pg_controldata DATADIR` says about a stopped (or
 * running) PostgreSQL: the cluster state, timeline and checkpoint LSNs the
 * agent needs to decide whether a data directory ran as a primary, shut
 * down cleanly, and where its WAL ends.
 *
 * Contract
 * --------
 * controldata_parse() reads the text output of pg_controldata run with
 * LANG=C / LC_ALL=C (the labels are translated otherwise): one
 * "Label:   value" per line; unknown labels are ignored, so newer
 * PostgreSQL versions that add lines still parse.  These labels are
 * required, and their absence or a malformed value fails the parse with a
 * reason in err:
 *
 *   Database system identifier, Database cluster state,
 *   Latest checkpoint location, Latest checkpoint's REDO location,
 *   Latest checkpoint's TimeLineID, Minimum recovery ending location,
 *   Min recovery ending loc's timeline
 *
 * The others below are optional (zero / false when absent).  A state text
 * this module does not know ("unrecognized status code") parses as
 * CD_UNKNOWN rather than failing: the caller then treats the directory as
 * "not known to be clean".  Pure functions, no I/O, no global state.
 *
 * Errors: the parsers return false (controldata_parse with a reason in
 * err); nothing is logged.
 */
#ifndef TENURE_FENCING_CONTROLDATA_H
#define TENURE_FENCING_CONTROLDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum controldata_state {
	CD_UNKNOWN = 0,           /* anything else */
	CD_STARTING,              /* "starting up" */
	CD_SHUT_DOWN,             /* "shut down": clean stop as a primary */
	CD_SHUT_DOWN_IN_RECOVERY, /* "shut down in recovery": clean stop as
				      a standby */
	CD_SHUTTING_DOWN,         /* "shutting down" */
	CD_IN_CRASH_RECOVERY,     /* "in crash recovery" */
	CD_IN_ARCHIVE_RECOVERY,   /* "in archive recovery": a standby */
	CD_IN_PRODUCTION,         /* "in production": a running primary,
				      or one that crashed */
};

struct controldata {
	enum controldata_state state;
	uint64_t system_identifier; /* "Database system identifier" */
	uint64_t checkpoint_lsn;    /* "Latest checkpoint location" */
	uint64_t redo_lsn;          /* "Latest checkpoint's REDO location" */
	uint32_t timeline;          /* "Latest checkpoint's TimeLineID" */
	uint32_t prev_timeline;     /* "Latest checkpoint's PrevTimeLineID" */
	uint64_t min_recovery_end_lsn; /* "Minimum recovery ending location" */
	uint32_t
		min_recovery_end_tli; /* "Min recovery ending loc's timeline" */
	bool full_page_writes;     /* "Latest checkpoint's full_page_writes" */
	bool wal_log_hints;        /* "wal_log_hints setting" (pg_rewind) */
	uint32_t checksum_version; /* "Data page checksum version" (pg_rewind
					   works when non-zero) */
	uint32_t wal_segment_size; /* "Bytes per WAL segment" */
	/* The settings of the primary whose WAL this directory replays (a
	 * standby's), or its own (a primary's): a hot standby must run with
	 * at least these values or its startup process aborts. */
	uint32_t max_connections;      /* "max_connections setting" */
	uint32_t max_worker_processes; /* "max_worker_processes setting" */
	uint32_t max_wal_senders;      /* "max_wal_senders setting" */
	uint32_t max_prepared_xacts;   /* "max_prepared_xacts setting" */
	uint32_t max_locks_per_xact;   /* "max_locks_per_xact setting" */
};

/* Fill *out from pg_controldata's text; false with a reason in err. */
bool controldata_parse(const char *text, struct controldata *out, char *err,
		       size_t errlen);

/* The pg_controldata wording of a state ("in production"), "unknown". */
const char *controldata_state_name(enum controldata_state s);

/* The directory last ran as a primary: "in production" (running, or
 * crashed while primary) or "shut down" (stopped cleanly as primary). */
bool controldata_was_primary(const struct controldata *cd);

/* It was stopped cleanly: "shut down" or "shut down in recovery". */
bool controldata_clean(const struct controldata *cd);

/* PostgreSQL's pg_lsn text "16/B374D848" (two groups of 1 to 8 hex
 * digits) into 0x16B374D848; false when malformed. */
bool pg_lsn_parse(const char *s, uint64_t *out);

#endif
