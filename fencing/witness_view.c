/*
 * witness_view.c — see witness_view.h: facts derived from a view, moved
 * out of the agent's I/O files so that the simulator runs them too.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/witness_view.h"

/* Things worth remembering across failovers: who the primary was and how
 * far it had written (the lag limit is measured against it). */
void view_remember_primary(struct witness_view *next,
			   const struct witness_view *prev)
{
	next->last_primary_lsn = prev->last_primary_lsn;
	next->last_token = prev->last_token;
	memcpy(next->last_primary, prev->last_primary,
	       sizeof(next->last_primary));
	next->last_primary_seen_ms = prev->last_primary_seen_ms;
	if (next->holder[0])
		next->last_token = next->token;
	/* A holder counts as the primary once its record says it runs as
	 * one: a candidate that took the lease and gave it back never
	 * accepted a write. */
	for (size_t i = 0; i < next->n_members; i++) {
		const struct member *m = &next->members[i];
		if (m->role == MEMBER_PRIMARY && next->holder[0] &&
		    strcmp(m->name, next->holder) == 0) {
			snprintf(next->last_primary, sizeof(next->last_primary),
				 "%s", next->holder);
			next->last_primary_lsn = m->received_lsn;
			/* Its record is written only when it changes: its
			 * last renewal says better when it was alive. */
			next->last_primary_seen_ms =
				m->updated_ms > next->holder_renewed_ms
					? m->updated_ms
					: next->holder_renewed_ms;
		}
	}
}

uint64_t optime_view_bar(const struct witness_view *v)
{
	return optime_bar(&v->optime, v->last_primary_lsn);
}

uint64_t optime_last_seen_ms(const struct witness_view *v, const char *old)
{
	uint64_t seen = v->last_primary_seen_ms;
	if (old && old[0] && strcmp(v->optime.name, old) == 0 &&
	    v->optime.time_ms > seen)
		seen = v->optime.time_ms;
	return seen;
}

void unguarded_format(char *buf, size_t cap, const char *name, uint64_t token,
		      const char *where)
{
	snprintf(buf, cap, "%s %llu %s", name, (unsigned long long)token,
		 where);
}

bool unguarded_is_stale(const struct witness_view *v, const char *name,
			const char *where, enum pg_state state)
{
	char who[MEMBER_STR_MAX];
	const char *sp = strchr(v->unguarded, ' ');
	const char *at = sp ? strchr(sp + 1, ' ') : NULL;
	return at && where && where[0] && strcmp(at + 1, where) == 0 &&
	       strcmp(unguarded_name(v, who, sizeof(who)), name) == 0 &&
	       (state == PG_STOPPED || state == PG_REPLICA);
}

const char *unguarded_name(const struct witness_view *v, char *buf, size_t cap)
{
	size_t n = strcspn(v->unguarded, " ");
	if (n >= cap)
		n = 0;
	memcpy(buf, v->unguarded, n);
	buf[n] = '\0';
	return buf;
}
