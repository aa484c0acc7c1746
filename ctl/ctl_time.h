/*
 * ctl_time.h — the times an operator gives tenurectl (--scheduled) and
 * the question it asks before changing the cluster.
 *
 * Contract
 * --------
 * ctl_parse_time() is pure but for the local time zone: ISO 8601 as
 * "2026-12-07T10:00:00Z" (UTC), "2026-12-07T11:00:00+01:00" (an offset,
 * also +0100 or +01), or without a zone "2026-12-07T10:00" (local time
 * of this machine, the TZ variable's).  A space may stand for the T;
 * seconds are optional.  ctl_confirm() reads stdin.
 *
 * Errors: ctl_parse_time returns 0 or -1 with a reason in err;
 * ctl_confirm returns 0 (go on) or the exit code after it said why not.
 */
#ifndef TENURE_CTL_TIME_H
#define TENURE_CTL_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Wall-clock milliseconds since the epoch into *out. */
int ctl_parse_time(const char *text, uint64_t *out, char *err, size_t errlen);
/* "2026-12-07T11:00:00+0100", local time, into buf (at least 32). */
const char *ctl_local_time(uint64_t ms, char *buf, size_t cap);

struct ctl;
/* Prints what (one paragraph) and asks "[y/N]" on the terminal; skip
 * (--force, --yes) goes on without asking.  Without a terminal and
 * without skip it refuses (exit 2) naming the option that skips it. */
int ctl_confirm(struct ctl *c, const char *what, bool skip,
		const char *skip_option);

#endif
