/*
 * startfail.h — why a Postgres that was started did not come up, read
 * from the tail of its log, and how long to wait before the next try.
 * Only a standby whose data diverged from its primary's or is damaged is
 * helped by a fresh copy; every other cause (a setting too low for a hot
 * standby, a bad setting, a busy port, a full disk) would make a copy
 * fail the same way, each copy a full pg_basebackup and each old
 * directory kept aside: a full disk.
 *
 * Contract
 * --------
 * startfail_classify() looks for known PostgreSQL 15 messages (in C
 * locale, as the agent starts it) in text, the log written since the
 * start; the first entry of its table that matches decides, so the line
 * that names the cause (`invalid value for parameter "shared_buffers"`)
 * wins over the line that follows it (`configuration file ... contains
 * errors`).  out->line is that log line from its severity tag on
 * ("FATAL:  ..."), at most STARTFAIL_LINE_MAX - 1 bytes; "" with
 * SF_UNKNOWN when nothing matched.  SF_UNKNOWN is never copied: a copy
 * is only for what is known to need one.
 *
 * startfail_backoff_ms(n, base, cap): the wait after the n-th failure in
 * a row: 0 for n <= 0, then base, 2 base, 4 base, ..., at most cap.
 * Pure functions, no I/O.
 *
 * Errors: none (pure functions of the log text).
 */
#ifndef TENURE_FENCING_STARTFAIL_H
#define TENURE_FENCING_STARTFAIL_H

#include <stdbool.h>
#include <stdint.h>

#define STARTFAIL_LINE_MAX 200

enum startfail_cause {
	SF_UNKNOWN = 0,  /* nothing known in the log */
	SF_SETTINGS_LOW, /* below the primary's settings (hot standby) */
	SF_CONFIG,       /* a bad setting or configuration file */
	SF_RESOURCE,     /* port, memory, disk, permissions, lock file */
	SF_DIVERGED,     /* not on the primary's history */
	SF_DAMAGED,      /* control file, checkpoint or WAL unreadable */
};

struct startfail {
	enum startfail_cause cause;
	char line[STARTFAIL_LINE_MAX];
};

void startfail_classify(const char *text, struct startfail *out);

/* "settings_too_low", "bad_setting", "resource", "diverged", "damaged",
 * "unknown": for logs. */
const char *startfail_cause_name(enum startfail_cause c);

/* What the operator reads (/health, cluster list): what happened and
 * what the agent does about it.  Static text. */
const char *startfail_reason(enum startfail_cause c);

/* Only diverged or damaged data is copied afresh. */
bool startfail_needs_copy(enum startfail_cause c);

uint64_t startfail_backoff_ms(int failures, uint64_t base_ms, uint64_t cap_ms);

#endif
