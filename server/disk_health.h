/*
 * disk_health.h — whether a witness can write its data directory, and how
 * loudly to say it cannot.
 *
 * Contract
 * --------
 * Pure bookkeeping (time is passed in; no I/O, no logging): node.c tells
 * it every durable write's outcome, status.c and service.c read it.
 *   - A failed write (ENOSPC, EIO, ...) counts in `errors` (ever, for
 *     /metrics) and makes its kind failing; the witness is unhealthy
 *     while any kind is failing, the reason naming the last error
 *     ("disk write failed: No space left on device").
 *   - A successful write of a kind clears that kind only: a small
 *     hard-state write that still fits on a full disk does not make a
 *     witness whose log appends fail look healthy.
 *   - The log line for failures is rate-limited: the first failure is
 *     logged at once, later ones at most once per DISK_HEALTH_LOG_EVERY_MS,
 *     with the number left unlogged since the last line (a full disk fails
 *     every retry, tens of times a second).
 */
#ifndef TENURE_SERVER_DISK_HEALTH_H
#define TENURE_SERVER_DISK_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/log_throttle.h"

#define DISK_HEALTH_LOG_EVERY_MS 5000

enum disk_write_kind {
	DISK_WRITE_HARD_STATE, /* term and vote */
	DISK_WRITE_LOG,        /* appends, installed snapshots */
	DISK_WRITE_SNAPSHOT,   /* snapshots this witness takes */
	DISK_WRITE_KINDS,
};

struct disk_health {
	uint64_t errors;         /* failed writes, since start */
	unsigned failing;        /* bit per kind whose last write failed */
	char reason[160];        /* of the last failure */
	struct log_throttle log; /* the failure lines */
};

/* A failed write of kind with errno err (positive).  True when the
 * caller should log it now; then *unlogged is how many failures were not
 * logged since the previous line. */
bool disk_health_failed(struct disk_health *h, enum disk_write_kind kind,
			int err, uint64_t now_ms, uint64_t *unlogged);
/* A write of kind succeeded.  True when that made the witness healthy
 * again (worth a log line). */
bool disk_health_succeeded(struct disk_health *h, enum disk_write_kind kind);
bool disk_health_ok(const struct disk_health *h);

#endif /* TENURE_SERVER_DISK_HEALTH_H */
