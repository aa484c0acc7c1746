/*
 * agentsim_pg.c — simulated Postgres servers (agentsim.h).
 *
 * What is modelled: a WAL as segments, each written by one timeline, so
 * that "does this node hold that commit" is exact across failovers; a
 * primary's position (written = flushed: a commit is acknowledged only
 * after its flush); standbys that receive from their upstream only while
 * their WAL is a prefix of the upstream's (otherwise they diverged and
 * need a rewind), at a bounded rate, and replay behind what they
 * received; synchronous_standby_names (ANY 1): a commit is acknowledged
 * once one listed standby streaming from the primary received it;
 * promotion (a new timeline), crash (loses nothing flushed) and start;
 * a start that fails (fail_on, set by the agent model as it starts a
 * standby): the server exits before it answers, its log naming the cause.
 */
#include <string.h>

#include "tests/sim/agentsim.h"

/* Bytes a standby receives per millisecond when the link is good. */
#define RECV_PER_MS 20000
#define REPLAY_PER_MS 20000

uint64_t wal_end(const struct wal *w)
{
	return w->n ? w->s[w->n - 1].end : 0;
}

uint64_t wal_common(const struct wal *a, const struct wal *b)
{
	uint64_t common = 0;
	int i = 0, j = 0;
	/* Adjacent segments never share a timeline (wal_append merges), so
	 * once one side's segment ends first the next comparison fails. */
	while (i < a->n && j < b->n && a->s[i].tl == b->s[j].tl) {
		uint64_t e = a->s[i].end < b->s[j].end ? a->s[i].end
						       : b->s[j].end;
		common = e;
		bool ai = a->s[i].end == e, bj = b->s[j].end == e;
		i += ai;
		j += bj;
	}
	return common;
}

void wal_truncate(struct wal *w, uint64_t at)
{
	while (w->n && (w->n == 1 ? 0 : w->s[w->n - 2].end) >= at)
		w->n--;
	if (w->n && w->s[w->n - 1].end > at)
		w->s[w->n - 1].end = at;
}

void wal_append(struct wal *w, uint32_t tl, uint64_t bytes)
{
	if (!bytes)
		return;
	if (w->n && w->s[w->n - 1].tl == tl) {
		w->s[w->n - 1].end += bytes;
		return;
	}
	if (w->n == SIM_MAX_SEGS) { /* merge the two oldest: keeps the end */
		memmove(&w->s[0], &w->s[1],
			sizeof(w->s[0]) * (SIM_MAX_SEGS - 1));
		w->n--;
	}
	uint64_t end = wal_end(w);
	w->s[w->n++] = (struct wal_seg){ .tl = tl, .end = end + bytes };
}

void wal_copy_upto(struct wal *dst, const struct wal *src, uint64_t upto)
{
	*dst = *src;
	wal_truncate(dst, upto);
}

uint64_t wal_extent_on(const struct wal *w, uint32_t tl)
{
	for (int i = 0; i < w->n; i++)
		if (w->s[i].tl == tl)
			return w->s[i].end;
	return 0;
}

/* A standby receives from its upstream while its WAL is a prefix of the
 * upstream's; a diverged one stops streaming (it needs a rewind). */
static void receive(struct sim *s, int h)
{
	struct sim_pg *p = &s->hosts[h].pg;
	p->streaming = false;
	int u = p->upstream;
	if (u < 0 || !p->conninfo || !s->hosts[u].up || s->hosts[u].isolated ||
	    s->hosts[h].isolated)
		return;
	struct sim_pg *up = &s->hosts[u].pg;
	if (up->state != PG_PRIMARY && up->state != PG_REPLICA)
		return;
	uint64_t mine = wal_end(&p->wal);
	if (wal_common(&p->wal, &up->wal) < mine)
		return; /* diverged */
	p->streaming = true;
	p->tl = up->tl;
	if (s->now < p->slow_until)
		return;
	uint64_t want = wal_end(&up->wal);
	uint64_t upto = mine + (uint64_t)RECV_PER_MS * SIM_STEP_MS;
	wal_copy_upto(&p->wal, &up->wal, upto < want ? upto : want);
}

void pg_step(struct sim *s, int h)
{
	struct sim_pg *p = &s->hosts[h].pg;
	if (!s->hosts[h].up)
		return;
	if (p->state == PG_STARTING && s->now >= p->ready_at &&
	    p->start_fails) {
		p->state = PG_STOPPED;
		p->start_fails = false;
		p->start_logged = true;
		p->logged_cause = p->fail_cause;
		p->fail_seen = true;
		s->start_failures++;
		sim_log(s, "host %d: Postgres does not start (%s)", h,
			startfail_cause_name(p->fail_cause));
		return;
	}
	if (p->state == PG_STARTING && s->now >= p->ready_at)
		p->state = p->upstream == -2 ? PG_PRIMARY : PG_REPLICA;
	if (p->state != PG_REPLICA)
		return;
	receive(s, h);
	uint64_t end = wal_end(&p->wal);
	uint64_t r = p->replayed + (uint64_t)REPLAY_PER_MS * SIM_STEP_MS;
	p->replayed = r < end ? r : end;
	if (p->replayed > end)
		p->replayed = end;
}

void pg_crash(struct sim *s, int h)
{
	struct sim_pg *p = &s->hosts[h].pg;
	if (p->state == PG_ABSENT || p->state == PG_STOPPED)
		return;
	if (p->state != PG_STARTING)
		p->was_primary = p->state == PG_PRIMARY;
	p->clean = false;
	p->state = PG_STOPPED;
	p->streaming = false;
	p->sync_names[0] = '\0';
}

void pg_stop_clean(struct sim *s, int h)
{
	struct sim_pg *p = &s->hosts[h].pg;
	if (p->state == PG_ABSENT || p->state == PG_STOPPED)
		return;
	p->was_primary = p->state == PG_PRIMARY;
	p->clean = true;
	p->state = PG_STOPPED;
	p->streaming = false;
	p->replayed = wal_end(&p->wal);
}

/* upstream: host to follow, -1 none (a standby without primary_conninfo,
 * frozen), -2 back as the primary it was (maintenance restarts). */
void pg_start(struct sim *s, int h, int upstream, uint64_t delay_ms)
{
	struct sim_pg *p = &s->hosts[h].pg;
	p->state = PG_STARTING;
	p->ready_at = s->now + delay_ms;
	p->upstream = upstream;
	p->conninfo = upstream >= 0;
	p->streaming = false;
	p->backup_label = false;
	p->start_fails = false;
	p->start_logged = false;
	p->sync_names[0] = '\0';
	p->replayed = p->replayed < wal_end(&p->wal) ? p->replayed
						     : wal_end(&p->wal);
}

void pg_promote(struct sim *s, int h)
{
	struct sim_pg *p = &s->hosts[h].pg;
	uint32_t tl = s->next_tl++;
	if (tl >= SIM_MAX_TL)
		tl = SIM_MAX_TL - 1;
	p->state = PG_PRIMARY;
	p->tl = tl;
	p->upstream = -1;
	p->conninfo = false;
	p->streaming = false;
	p->was_primary = true;
	p->replayed = wal_end(&p->wal);
	s->tls[tl] = (struct sim_tl){ .host = h,
				      .start = wal_end(&p->wal),
				      .max_pos = wal_end(&p->wal) };
}

static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *q = list; (q = strstr(q, name)); q += n)
		if ((q == list || q[-1] == ',') && (q[n] == ',' || !q[n]))
			return true;
	return false;
}

/* ANY N: the N-th furthest of the listed standbys streaming from h. */
uint64_t pg_ack_point(struct sim *s, int h)
{
	struct sim_pg *p = &s->hosts[h].pg;
	if (!p->sync_names[0])
		return wal_end(&p->wal);
	uint64_t got[SIM_MAX_HOSTS];
	int n = 0, need = p->sync_count > 0 ? p->sync_count : 1;
	for (int i = 0; i < SIM_MAX_HOSTS; i++) {
		struct sim_agent *a = &s->agents[i];
		struct sim_pg *q = &s->hosts[i].pg;
		if (!a->exists || i == h || !listed(p->sync_names, a->name) ||
		    q->state != PG_REPLICA || q->upstream != h || !q->streaming)
			continue;
		got[n++] = wal_common(&q->wal, &p->wal);
	}
	if (n < need)
		return 0;
	for (int i = 0; i < n; i++) /* descending */
		for (int j = i + 1; j < n; j++)
			if (got[j] > got[i]) {
				uint64_t t = got[i];
				got[i] = got[j];
				got[j] = t;
			}
	return got[need - 1];
}
