/* clock.c — see clock.h. */
#include <time.h>

#include "common/clock.h"

static uint64_t ms_of(clockid_t id)
{
	struct timespec ts;
	/* Cannot fail with a valid clock id and pointer. */
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t clock_now_ms(void)
{
	return ms_of(CLOCK_BOOTTIME);
}

uint64_t clock_wall_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

uint64_t clock_mono_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}
