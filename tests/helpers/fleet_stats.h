/*
 * fleet_stats.h — what tests/helpers/fleet-agents measures of the agents
 * it hosts: every request they send (tclient_request is wrapped at link
 * time, -Wl,--wrap=tclient_request), by operation, and the latency of
 * each primary-lease renewal from the call to its answer, in a histogram.
 *
 * Contract
 * --------
 * Counting starts at once; fleet_stats_reset() begins a new window and
 * fleet_stats_write() writes the window so far as one JSON object.  The
 * histogram has 100 µs steps up to 100 ms, then 10 ms steps up to 10 s
 * (and one bucket above): percentiles come out to that precision.  Loop
 * thread only; global state.
 *
 * The renewal log, for the witness-leader kills of bench-fleet: from
 * fleet_stats_log_start() on, every primary renewal answered OK is kept
 * (sent and answered, wall-clock ms, and the lease); the benchmark
 * computes the gaps around its kill time from them, which no window
 * statistic here could give (it needs the kill time, which only the
 * benchmark knows).
 */
#ifndef TENURE_TESTS_FLEET_STATS_H
#define TENURE_TESTS_FLEET_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

void fleet_stats_reset(void);
/* Writes {"window_ms":..., "renew": {...}, "member_renew": {...},
 * "ops": {...}} without the closing brace, for the caller to add its own
 * fields. */
void fleet_stats_write(FILE *f);
/* Starts (or restarts, empty) the renewal log. */
void fleet_stats_log_start(void);
/* Writes the log, a line "SENT_MS ANSWERED_MS LEASE" per renewal in the
 * order answered, and ends it; false (nothing written) when it was off. */
bool fleet_stats_log_write(FILE *f);

#endif
