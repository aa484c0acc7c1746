/* clock.c — see clock.h. */
#include <time.h>

#include "fencing/clock.h"

uint64_t clock_now_ms(void)
{
	struct timespec ts;
	/* Cannot fail with a valid clock id and pointer. */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
