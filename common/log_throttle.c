/*
 * log_throttle.c — see log_throttle.h.
 */
#include "common/log_throttle.h"

bool log_throttle_due(struct log_throttle *t, uint64_t now_ms,
		      uint64_t every_ms, uint64_t *skipped)
{
	t->total++;
	if (t->logged && now_ms - t->logged_ms < every_ms) {
		t->unlogged++;
		return false;
	}
	if (skipped)
		*skipped = t->unlogged;
	t->unlogged = 0;
	t->logged = true;
	t->logged_ms = now_ms;
	return true;
}

void log_throttle_reset(struct log_throttle *t)
{
	t->logged = false;
	t->unlogged = 0;
}
