/*
 * loop_helpers.h — driving a libuv loop in the unit tests that run real
 * sockets (test_transport.c, test_tclient.c).
 *
 * run_until() gives up at a deadline, so a bug fails the test instead of
 * hanging it.  uv_run(UV_RUN_ONCE) only returns when something happens,
 * so a test starts a ticking timer (loop_tick_start) that wakes it often
 * enough for the deadline to be seen.
 */
#ifndef TENURE_TESTS_LOOP_HELPERS_H
#define TENURE_TESTS_LOOP_HELPERS_H

#include <stdbool.h>
#include <uv.h>

typedef bool (*predicate)(void *arg);

/* Runs loop until done(arg) holds (true) or ms have passed (false). */
bool run_until(uv_loop_t *loop, predicate done, void *arg, unsigned ms);

/* A predicate that never holds. */
bool never(void *arg);

/* Lets ms pass with loop running. */
void run_for(uv_loop_t *loop, unsigned ms);

/* Starts tick on loop, firing every 5 ms and doing nothing else; the test
 * closes it. */
void loop_tick_start(uv_loop_t *loop, uv_timer_t *tick);

#endif
