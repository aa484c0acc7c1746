/*
 * clock.h — the agent's and the guard's one clock: CLOCK_BOOTTIME in
 * milliseconds.
 *
 * Contract
 * --------
 * Monotonic, never steps with wall-clock changes, and (unlike
 * CLOCK_MONOTONIC) keeps counting while the host is suspended, so a lease
 * deadline measured on it passes during a suspend instead of being
 * silently extended by it (docs/design.md rule 3).  The same clock in
 * every process of the host: the agent computes a deadline and the guard
 * compares it.
 */
#ifndef TENURE_FENCING_CLOCK_H
#define TENURE_FENCING_CLOCK_H

#include <stdint.h>

uint64_t clock_now_ms(void);
/* Wall-clock milliseconds (CLOCK_REALTIME): only for times written for
 * other hosts or people to read, never for deadlines. */
uint64_t clock_wall_ms(void);

#endif
