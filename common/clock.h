/*
 * clock.h — tenure's clocks in milliseconds: CLOCK_BOOTTIME, the one clock
 * of leases (the witnesses', the agent's and the guard's), the wall clock
 * for times people read, CLOCK_MONOTONIC for short local waits.
 *
 * Contract
 * --------
 * Monotonic, never steps with wall-clock changes, and (unlike
 * CLOCK_MONOTONIC) keeps counting while the host is suspended, so a lease
 * deadline measured on it passes during a suspend instead of being
 * silently extended by it (docs/design.md rule 3).  The same clock in
 * every process of the host: the agent computes a deadline and the guard
 * compares it.
 *
 * Errors: none; these clocks cannot fail on Linux, so nothing is checked or
 * returned.
 */
#ifndef TENURE_COMMON_CLOCK_H
#define TENURE_COMMON_CLOCK_H

#include <stdint.h>

uint64_t clock_now_ms(void);
/* Wall-clock milliseconds (CLOCK_REALTIME): only for times written for
 * other hosts or people to read, never for deadlines. */
uint64_t clock_wall_ms(void);
/* CLOCK_MONOTONIC milliseconds: for timing short local waits only. */
uint64_t clock_mono_ms(void);

#endif
