/*
 * member_lease.c — the member lease's TTL and renewal cadence
 * (member_lease.h).
 */
#include "fencing/member_lease.h"
#include "proto/limits.h"

uint64_t member_lease_ttl_ms(uint64_t lease_ttl_ms)
{
	uint64_t ttl = 2 * lease_ttl_ms;
	return ttl < SM_TTL_MAX_MS ? ttl : SM_TTL_MAX_MS;
}

bool member_renew_due(uint64_t now_ms, uint64_t last_sent_ms,
		      uint64_t member_ttl_ms)
{
	return !last_sent_ms || now_ms - last_sent_ms >= member_ttl_ms / 4;
}

uint64_t member_renew_timeout_ms(uint64_t member_ttl_ms)
{
	return member_ttl_ms / 4;
}
