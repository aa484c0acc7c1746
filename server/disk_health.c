/*
 * disk_health.c — see disk_health.h.
 */
#include <stdio.h>
#include <string.h>

#include "server/disk_health.h"

bool disk_health_failed(struct disk_health *h, enum disk_write_kind kind,
			int err, uint64_t now_ms, uint64_t *unlogged)
{
	h->errors++;
	h->failing |= 1u << kind;
	snprintf(h->reason, sizeof(h->reason), "disk write failed: %s",
		 strerror(err));
	return log_throttle_due(&h->log, now_ms, DISK_HEALTH_LOG_EVERY_MS,
				unlogged);
}

bool disk_health_succeeded(struct disk_health *h, enum disk_write_kind kind)
{
	bool was_failing = h->failing != 0;
	h->failing &= ~(1u << kind);
	if (!was_failing || h->failing)
		return false;
	/* The next failure is news again: logged at once. */
	log_throttle_reset(&h->log);
	return true;
}

bool disk_health_ok(const struct disk_health *h)
{
	return h->failing == 0;
}
