/*
 * raftsim_workload.c — the clients and the operator: proposals, reads,
 * leadership transfers and membership changes.
 */
#include <inttypes.h>
#include <stdio.h>

#include "tests/sim/raftsim.h"

/* ---- workload ----------------------------------------------------------- */

struct sim_node *find_leader(struct sim *s)
{
	struct sim_node *best = NULL;
	for (raft_id id = 1; id < MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->status != NODE_UP || raft_state(n->raft) != RAFT_LEADER)
			continue;
		if (!best ||
		    raft_term_current(n->raft) > raft_term_current(best->raft))
			best = n;
	}
	return best;
}

struct sim_node *random_up_node(struct sim *s)
{
	raft_id up[MAX_NODES];
	unsigned k = 0;
	for (raft_id id = 1; id < MAX_NODES; id++)
		if (s->nodes[id].status == NODE_UP)
			up[k++] = id;
	return k ? &s->nodes[up[rng_below(&s->rng, k)]] : NULL;
}

/* Clients mostly find the leader; some ask whoever they reach. */
static struct sim_node *client_target(struct sim *s)
{
	struct sim_node *l = find_leader(s);
	if (l && rng_permille(&s->rng, 800))
		return l;
	return random_up_node(s);
}

static bool workload_running(const struct sim *s)
{
	return !s->done && !s->failed;
}

int propose_value(struct sim *s, struct sim_node *n, struct step_out *out)
{
	unsigned char buf[128];
	uint64_t v = ++s->next_value;
	size_t len = (size_t)rng_between(&s->rng, 8, sizeof(buf));
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(v >> (8 * (i % 8)));
	struct raft_event ev = { .type = RAFT_EV_PROPOSE };
	ev.propose.type = RAFT_ENTRY_NORMAL;
	ev.propose.data.base = buf;
	ev.propose.data.len = len;
	int rv = node_step(s, n, &ev, out);
	if (rv == 0)
		trace(s,
		      "n%" PRIu64 " propose v%" PRIu64 " -> %" PRIu64
		      "/%" PRIu64,
		      n->id, v, out->proposed_index, out->proposed_term);
	return rv;
}

void on_propose(struct sim *s)
{
	struct sim_node *n = client_target(s);
	if (n) {
		struct step_out out;
		propose_value(s, n, &out);
	}
	if (workload_running(s))
		schedule(s, rng_between(&s->rng, 1000, 15000), EV_PROPOSE, 0, 0,
			 0);
}

void on_read(struct sim *s)
{
	struct sim_node *n = client_target(s);
	if (n) {
		struct raft_event ev = { .type = RAFT_EV_READ_INDEX };
		ev.read.id = ++s->next_read_id;
		int rv = node_step(s, n, &ev, NULL);
		trace(s,
		      "n%" PRIu64 " read %" PRIu64
		      " requested: %s (needs %" PRIu64 ")",
		      n->id, ev.read.id, raft_strerror(rv), s->chk.max_commit);
	}
	if (workload_running(s))
		schedule(s, rng_between(&s->rng, 3000, 40000), EV_READ, 0, 0,
			 0);
}

static raft_id random_voter_except(struct sim *s, const struct raft_config *c,
				   raft_id not )
{
	raft_id ids[RAFT_MAX_SERVERS];
	unsigned k = 0;
	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].role == RAFT_VOTER &&
		    c->servers[i].id != not )
			ids[k++] = c->servers[i].id;
	return k ? ids[rng_below(&s->rng, k)] : 0;
}

void on_transfer(struct sim *s)
{
	struct sim_node *l = find_leader(s);
	if (l && !s->healed) {
		raft_id to = rng_permille(&s->rng, 300)
				     ? 0
				     : random_voter_except(s,
							   raft_config_current(
								   l->raft),
							   l->id);
		struct raft_event ev = { .type = RAFT_EV_TRANSFER };
		ev.transfer.to = to;
		int rv = node_step(s, l, &ev, NULL);
		s->st.transfers += rv == 0;
		trace(s, "n%" PRIu64 " transfer to n%" PRIu64 ": %s", l->id, to,
		      raft_strerror(rv));
	}
	if (workload_running(s) && !s->healed)
		schedule(s, rng_between(&s->rng, 300000, 3000000), EV_TRANSFER,
			 0, 0, 0);
}

static int change_config(struct sim *s, struct sim_node *l, uint8_t op,
			 raft_id id)
{
	struct raft_event ev = { .type = RAFT_EV_CHANGE_CONFIG };
	ev.change.op = op;
	ev.change.id = id;
	snprintf(ev.change.addr, sizeof(ev.change.addr), "n%" PRIu64, id);
	struct step_out out;
	int rv = node_step(s, l, &ev, &out);
	static const char *const names[] = { "?", "add learner", "promote",
					     "remove" };
	trace(s,
	      "n%" PRIu64 " config change: %s n%" PRIu64 ": %s (at %" PRIu64
	      ")",
	      l->id, names[op <= 3 ? op : 0], id, raft_strerror(rv),
	      rv == 0 ? out.proposed_index : 0);
	s->st.config_changes += rv == 0;
	return rv;
}

/* Membership: grow by one learner, promote it, then remove some voter, so
 * the cluster swings between N and N+1 voters and always has a workable
 * majority. */
static void membership_step(struct sim *s, struct sim_node *l)
{
	const struct raft_config *c = raft_config_current(l->raft);
	unsigned voters = raft_config_voters(c);
	for (unsigned i = 0; i < c->n; i++)
		if (c->servers[i].role == RAFT_LEARNER) {
			change_config(s, l, RAFT_CHANGE_PROMOTE,
				      c->servers[i].id);
			return;
		}
	if (voters > s->n_initial) {
		raft_id victim = rng_permille(&s->rng, 250)
					 ? l->id
					 : random_voter_except(s, c, l->id);
		if (victim)
			change_config(s, l, RAFT_CHANGE_REMOVE, victim);
		return;
	}
	if (c->n >= RAFT_MAX_SERVERS || s->next_spare >= MAX_NODES)
		return;
	raft_id id = s->next_spare;
	if (change_config(s, l, RAFT_CHANGE_ADD_LEARNER, id) == 0 &&
	    !s->failed) {
		s->next_spare++;
		struct sim_node *n = &s->nodes[id];
		n->id = id;
		node_start(s, n); /* empty: learns everything from the leader */
	}
}

void on_membership(struct sim *s)
{
	struct sim_node *l = find_leader(s);
	if (l && !s->healed)
		membership_step(s, l);
	if (workload_running(s) && !s->healed)
		schedule(s, rng_between(&s->rng, 500000, 3000000),
			 EV_MEMBERSHIP, 0, 0, 0);
}
