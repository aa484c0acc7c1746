/*
 * renew_retry.c — the per-attempt deadline of a primary renewal and the
 * immediate-retry decision (renew_retry.h).
 */
#include "fencing/renew_retry.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t renew_attempt_timeout_ms(uint64_t ttl_ms, uint64_t interval_ms,
				  uint64_t left_ms)
{
	uint64_t t = ttl_ms / 2;
	/* an interval of 0 would mean "the library's default": not that */
	if (interval_ms)
		t = min_u64(t, interval_ms);
	return min_u64(t, left_ms);
}

bool renew_retry_now(bool no_answer, uint64_t left_ms, uint64_t now_ms,
		     uint64_t last_retry_at_ms, uint64_t interval_ms)
{
	if (!no_answer || left_ms == 0)
		return false;
	if (last_retry_at_ms == 0)
		return true;
	return now_ms - last_retry_at_ms >= interval_ms;
}
