/*
 * loop_helpers.c — driving a libuv loop in the unit tests (see
 * loop_helpers.h).
 */
#include "tests/unit/loop_helpers.h"

#include <stdint.h>

bool run_until(uv_loop_t *loop, predicate done, void *arg, unsigned ms)
{
	uint64_t deadline = uv_hrtime() + (uint64_t)ms * 1000000;

	while (!done(arg)) {
		if (uv_hrtime() > deadline)
			return false;
		uv_run(loop, UV_RUN_ONCE);
	}
	return true;
}

bool never(void *arg)
{
	(void)arg;
	return false;
}

void run_for(uv_loop_t *loop, unsigned ms)
{
	run_until(loop, never, NULL, ms);
}

static void on_tick(uv_timer_t *t)
{
	(void)t;
}

void loop_tick_start(uv_loop_t *loop, uv_timer_t *tick)
{
	uv_timer_init(loop, tick);
	uv_timer_start(tick, on_tick, 5, 5);
}
