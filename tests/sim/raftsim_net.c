/*
 * raftsim_net.c — the simulated network: deep-copied messages with
 * delay, loss, duplication and reordering, and cut links (partitions,
 * one-way and symmetric).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/raftsim.h"

/* ---- network ---------------------------------------------------------------- */

static struct net_msg *msg_copy(const struct raft_message *m)
{
	struct net_msg *nm = xrealloc(NULL, sizeof(*nm));
	nm->m = *m;
	if (m->type == RAFT_MSG_APPEND && m->append.n_entries) {
		unsigned cnt = m->append.n_entries;
		struct raft_entry *e = xrealloc(NULL, cnt * sizeof(*e));
		for (unsigned i = 0; i < cnt; i++)
			entry_copy(&e[i], &m->append.entries[i]);
		nm->m.append.entries = e;
	} else if (m->type == RAFT_MSG_APPEND) {
		nm->m.append.entries = NULL;
	}
	if (m->type == RAFT_MSG_SNAPSHOT)
		nm->m.snapshot.chunk.base = xmemdup(m->snapshot.chunk.base,
						    m->snapshot.chunk.len);
	return nm;
}

void msg_free(struct net_msg *nm)
{
	if (!nm)
		return;
	if (nm->m.type == RAFT_MSG_APPEND)
		entries_free((struct raft_entry *)nm->m.append.entries,
			     nm->m.append.n_entries);
	if (nm->m.type == RAFT_MSG_SNAPSHOT)
		free(nm->m.snapshot.chunk.base);
	free(nm);
}

void describe_msg(const struct raft_message *m, char *buf, size_t cap)
{
	int k = snprintf(buf, cap, "%s n%" PRIu64 "->n%" PRIu64 " t%" PRIu64,
			 raft_msg_type_name(m->type), m->from, m->to, m->term);
	size_t rest = cap - (size_t)k;
	switch (m->type) {
	case RAFT_MSG_APPEND:
		snprintf(buf + k, rest,
			 " prev %" PRIu64 "/%" PRIu64 " n %u commit %" PRIu64,
			 m->append.prev_index, m->append.prev_term,
			 m->append.n_entries, m->append.commit);
		break;
	case RAFT_MSG_APPEND_RESP:
		snprintf(buf + k, rest,
			 " %s match %" PRIu64 " hint %" PRIu64 "/%" PRIu64,
			 m->append_resp.success ? "ok" : "reject",
			 m->append_resp.match, m->append_resp.hint_index,
			 m->append_resp.hint_term);
		break;
	case RAFT_MSG_HEARTBEAT:
		snprintf(buf + k, rest, " commit %" PRIu64 " read %" PRIu64,
			 m->heartbeat.commit, m->heartbeat.read_seq);
		break;
	case RAFT_MSG_VOTE:
		snprintf(buf + k, rest, "%s%s last %" PRIu64 "/%" PRIu64,
			 m->vote.prevote ? " pre" : "",
			 m->vote.transfer ? " transfer" : "",
			 m->vote.last_index, m->vote.last_term);
		break;
	case RAFT_MSG_VOTE_RESP:
		snprintf(buf + k, rest, "%s %s",
			 m->vote_resp.prevote ? " pre" : "",
			 m->vote_resp.granted ? "granted" : "denied");
		break;
	case RAFT_MSG_SNAPSHOT:
		snprintf(buf + k, rest,
			 " %" PRIu64 "/%" PRIu64 " off %" PRIu64 " len %zu%s",
			 m->snapshot.index, m->snapshot.term,
			 m->snapshot.offset, m->snapshot.chunk.len,
			 m->snapshot.done ? " done" : "");
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		snprintf(buf + k, rest, " %" PRIu64 " received %" PRIu64 "%s",
			 m->snapshot_resp.index, m->snapshot_resp.received,
			 m->snapshot_resp.done ? " done" : "");
		break;
	}
}

static uint64_t net_delay(struct sim *s)
{
	uint64_t d = rng_between(&s->rng, s->net.delay_min_us,
				 s->net.delay_max_us);
	if (rng_permille(&s->rng, s->net.long_delay))
		d += rng_between(&s->rng, 50000, 500000);
	return d;
}

bool net_blocked(const struct sim *s, raft_id from, raft_id to)
{
	return s->net.cut[from][to] || s->net.isolated_until[from] > s->now ||
	       s->net.isolated_until[to] > s->now;
}

void net_send(struct sim *s, struct sim_node *from,
	      const struct raft_message *m)
{
	if (!node_of(s, m->to) || m->from != from->id) {
		violation(s, "api",
			  "n%" PRIu64 " sent %s from n%" PRIu64
			  " to invalid node %" PRIu64,
			  from->id, raft_msg_type_name(m->type), m->from,
			  m->to);
		return;
	}
	if (net_blocked(s, m->from, m->to) ||
	    rng_permille(&s->rng, s->net.loss))
		return;
	unsigned copies = rng_permille(&s->rng, s->net.dup) ? 2 : 1;
	for (unsigned i = 0; i < copies; i++) {
		struct sim_event ev = { .at = s->now + net_delay(s),
					.kind = EV_DELIVER,
					.node = (unsigned)m->to,
					.msg = msg_copy(m) };
		queue_push(&s->q, ev);
	}
}

void net_clear(struct sim *s)
{
	memset(&s->net, 0, sizeof(s->net));
	s->net.delay_min_us = 200;
	s->net.delay_max_us = 3000;
}
