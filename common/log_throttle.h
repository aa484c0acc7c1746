/*
 * log_throttle.h — one rule for every log line a flood could repeat
 * (refused connections, failed logins, failing disk writes): the first
 * is logged at once, later ones at most once per period, each logged
 * line saying how many went unlogged since the previous one.  A flood
 * then costs a line every period, not one per event, and nothing is
 * hidden: the counts add up.
 *
 * Contract
 * --------
 * Pure: the caller passes the time (any monotonic milliseconds, 0
 * included) and does the logging.  A zeroed struct is ready.
 *
 * Errors: none.
 */
#ifndef TENURE_COMMON_LOG_THROTTLE_H
#define TENURE_COMMON_LOG_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

struct log_throttle {
	uint64_t total;     /* events counted */
	uint64_t unlogged;  /* since the last logged one */
	uint64_t logged_ms; /* when that one was logged */
	bool logged;        /* one was */
};

/* Counts one event at now_ms.  true: log it now, and *skipped (when not
 * NULL) gets how many went unlogged before it; false: counted only. */
bool log_throttle_due(struct log_throttle *t, uint64_t now_ms,
		      uint64_t every_ms, uint64_t *skipped);

/* The next event is news again (the failure cleared): logged at once. */
void log_throttle_reset(struct log_throttle *t);

#endif
