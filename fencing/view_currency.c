/*
 * view_currency.c — whether the last view still stands (view_currency.h).
 */
#include <string.h>

#include "fencing/view_currency.h"

void view_currency_stale(struct view_currency *c)
{
	c->gen++;
}

uint64_t view_currency_read_begin(const struct view_currency *c)
{
	return c->gen;
}

void view_currency_read_end(struct view_currency *c, uint64_t gen, bool ok,
			    uint64_t now)
{
	c->read_ok = ok;
	if (!ok)
		return;
	c->read_gen = gen;
	c->full_ms = now;
}

static bool unchanged(const struct view_currency *c)
{
	return c->read_ok && c->gen == c->read_gen;
}

bool view_currency_renewal(struct view_currency *c, struct witness_view *v,
			   const char *holder_id, size_t holder_len,
			   uint64_t token, uint64_t now, uint64_t wall)
{
	bool same = v->holder[0] && token == v->token &&
		    holder_len == strlen(v->holder_id) &&
		    memcmp(holder_id, v->holder_id, holder_len) == 0;
	if (!same) {
		view_currency_stale(c);
		return false;
	}
	if (!unchanged(c))
		return false; /* a read is due anyway: it will say */
	v->read_ms = now;
	v->holder_renewed_ms = wall;
	if (strcmp(v->last_primary, v->holder) == 0 &&
	    wall > v->last_primary_seen_ms)
		v->last_primary_seen_ms = wall;
	return true;
}

bool view_currency_current(const struct view_currency *c,
			   const struct witness_view *v, uint64_t now,
			   uint64_t interval)
{
	return unchanged(c) && c->keys_ready && c->leases_ready &&
	       v->holder[0] && v->read_ms &&
	       now - v->read_ms < VIEW_CONFIRM_INTERVALS * interval &&
	       now - c->full_ms < VIEW_REFRESH_INTERVALS * interval;
}
