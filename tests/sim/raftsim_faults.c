/*
 * raftsim_faults.c — the fault plan: phases of partitions, loss, churn
 * and failing disks, crashes and restarts, then the heal and the liveness
 * probe (a leader and progress after the faults stop).
 */
#include <inttypes.h>
#include <stdio.h>

#include "tests/sim/raftsim.h"

/* ---- faults --------------------------------------------------------------- */

static unsigned count_status(const struct sim *s, int status)
{
	unsigned k = 0;
	for (raft_id id = 1; id < MAX_NODES; id++)
		k += s->nodes[id].status == status;
	return k;
}

static void cut_link(struct sim *s, raft_id a, raft_id b)
{
	s->net.cut[a][b] = true;
}

static void fault_partition(struct sim *s)
{
	/* Random side for every node; both sides non-empty often enough. */
	bool side[MAX_NODES];
	for (raft_id id = 1; id < MAX_NODES; id++)
		side[id] = rng_permille(&s->rng, 500);
	for (raft_id a = 1; a < MAX_NODES; a++)
		for (raft_id b = 1; b < MAX_NODES; b++)
			if (side[a] != side[b])
				cut_link(s, a, b);
	trace(s, "fault: symmetric partition");
}

static void fault_isolate_leader(struct sim *s)
{
	struct sim_node *l = find_leader(s);
	if (!l)
		return;
	bool one_way = rng_permille(&s->rng, 300);
	for (raft_id id = 1; id < MAX_NODES; id++) {
		cut_link(s, l->id, id);
		if (!one_way)
			cut_link(s, id, l->id);
	}
	trace(s, "fault: isolate leader n%" PRIu64 "%s", l->id,
	      one_way ? " (outbound only)" : "");
}

static void fault_one_way(struct sim *s)
{
	unsigned k = (unsigned)rng_between(&s->rng, 1, 6);
	for (unsigned i = 0; i < k; i++) {
		raft_id a = rng_between(&s->rng, 1, s->next_spare - 1);
		raft_id b = rng_between(&s->rng, 1, s->next_spare - 1);
		cut_link(s, a, b);
		trace(s, "fault: one-way cut n%" PRIu64 " -> n%" PRIu64, a, b);
	}
}

static void fault_lossy(struct sim *s)
{
	s->net.loss = (unsigned)rng_between(&s->rng, 10, 300);
	s->net.dup = (unsigned)rng_between(&s->rng, 0, 100);
	s->net.long_delay = (unsigned)rng_between(&s->rng, 0, 50);
	s->net.delay_max_us = rng_between(&s->rng, 3000, 60000);
	trace(s, "fault: network loss %u%% dup %u%% delay up to %" PRIu64 "ms",
	      s->net.loss / 10, s->net.dup / 10, s->net.delay_max_us / 1000);
}

static void fault_disks(struct sim *s)
{
	unsigned k = (unsigned)rng_between(&s->rng, 1, 2);
	for (unsigned i = 0; i < k; i++) {
		struct sim_node *n = random_up_node(s);
		if (!n)
			return;
		n->df.write_fail = (unsigned)rng_between(&s->rng, 0, 150);
		n->df.hs_fail = (unsigned)rng_between(&s->rng, 0, 60);
		if (rng_permille(&s->rng, 600)) {
			n->df.fsync_min_us = 1000;
			n->df.fsync_max_us = rng_between(&s->rng, 5000, 200000);
		}
		trace(s,
		      "fault: n%" PRIu64 " disk: write errors %u%%, "
		      "hard state errors %u%%, fsync up to %" PRIu64 "ms",
		      n->id, n->df.write_fail / 10, n->df.hs_fail / 10,
		      n->df.fsync_max_us / 1000);
	}
}

void on_churn(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_if_current(s, ev);
	if (!n || s->healed)
		return;
	unsigned max_down = (s->n_initial - 1) / 2;
	if (rng_permille(&s->rng, 500) &&
	    count_status(s, NODE_DOWN) < max_down) {
		trace(s, "churn: crash new leader n%" PRIu64, n->id);
		node_crash(s, n);
		schedule(s, rng_between(&s->rng, 1000, 400000), EV_RESTART,
			 (unsigned)n->id, n->inc, 0);
		return;
	}
	uint64_t len = rng_between(&s->rng, 20000, 400000);
	s->net.isolated_until[n->id] = s->now + len;
	trace(s, "churn: isolate new leader n%" PRIu64 " for %" PRIu64 "ms",
	      n->id, len / 1000);
}

static void fault_churn(struct sim *s)
{
	s->net.churn = (unsigned)rng_between(&s->rng, 300, 900);
	trace(s, "fault: leader churn %u%%", s->net.churn / 10);
}

/* Faults come and go in phases: each phase clears the previous faults and
 * draws a new mix. */
void on_phase(struct sim *s)
{
	if (s->healed)
		return;
	net_clear(s);
	for (raft_id id = 1; id < MAX_NODES; id++)
		disk_faults_clear(&s->nodes[id].df);
	switch (rng_below(&s->rng, 8)) {
	case 0:
		trace(s, "fault: calm");
		break;
	case 1:
		fault_lossy(s);
		break;
	case 2:
		fault_partition(s);
		break;
	case 3:
		fault_isolate_leader(s);
		break;
	case 4:
		fault_one_way(s);
		break;
	case 5:
		fault_disks(s);
		break;
	case 6:
	case 7:
		fault_churn(s);
		break;
	}
	if (rng_permille(&s->rng, 300))
		fault_lossy(s);
	if (rng_permille(&s->rng, 200))
		fault_disks(s);
	uint64_t len = rng_between(&s->rng, 100000, 2000000);
	if (s->now + len < s->heal_at)
		schedule(s, len, EV_PHASE, 0, 0, 0);
}

void on_crash(struct sim *s)
{
	if (s->healed)
		return;
	unsigned max_down = (s->n_initial - 1) / 2;
	struct sim_node *victim = rng_permille(&s->rng, 400) ? find_leader(s)
							     : NULL;
	if (!victim)
		victim = random_up_node(s);
	if (victim && count_status(s, NODE_DOWN) < max_down) {
		node_crash(s, victim);
		schedule(s, rng_between(&s->rng, 1000, 1500000), EV_RESTART,
			 (unsigned)victim->id, victim->inc, 0);
	}
	schedule(s, rng_between(&s->rng, 100000, 1500000), EV_CRASH, 0, 0, 0);
}

void on_restart(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_of(s, ev->node);
	if (n && n->status == NODE_DOWN && n->inc == ev->inc)
		node_start(s, n);
}

/* ---- heal and liveness ---------------------------------------------------- */

void on_heal(struct sim *s)
{
	s->healed = true;
	net_clear(s);
	for (raft_id id = 1; id < MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		disk_faults_clear(&n->df);
		if (n->status == NODE_DOWN)
			node_start(s, n);
	}
	s->liveness_deadline = s->now + LIVENESS_TIMEOUTS *
						ELECTION_TIMEOUT_MS * 1000ull;
	trace(s, "heal: all faults cleared, every node up");
	schedule(s, 1000, EV_PROBE, 0, 0, 0);
}

/* The probe entry is committed once a majority of the committed
 * configuration's voters applied it. */
static bool probe_committed(struct sim *s)
{
	if (!s->probe_index || s->probe_index >= s->chk.committed_cap ||
	    s->chk.committed[s->probe_index].term != s->probe_term)
		return false;
	const struct raft_config *c = &s->cluster_config;
	unsigned voters = 0, have = 0;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->servers[i].role != RAFT_VOTER)
			continue;
		voters++;
		struct sim_node *n = node_of(s, c->servers[i].id);
		if (n && n->status == NODE_UP &&
		    n->app.applied >= s->probe_index)
			have++;
	}
	return have > voters / 2;
}

static void liveness_failed(struct sim *s)
{
	char buf[600];
	int k = 0;
	for (raft_id id = 1; id < MAX_NODES && k < 480; id++) {
		struct sim_node *n = &s->nodes[id];
		if (n->status != NODE_UP)
			continue;
		/* Its own view of its membership: (v)oter, (l)earner or
		 * (-) not a member. */
		const struct raft_server *me =
			raft_config_get(raft_config_current(n->raft), id);
		char role = !me ? '-' : me->role == RAFT_VOTER ? 'v' : 'l';
		k += snprintf(buf + k, sizeof(buf) - (size_t)k,
			      " n%" PRIu64 "(%c):%s/t%" PRIu64 "/c%" PRIu64
			      "/l%" PRIu64 "/%" PRIu64,
			      id, role, raft_state_name(raft_state(n->raft)),
			      raft_term_current(n->raft),
			      raft_commit_index(n->raft),
			      raft_last_index(n->raft),
			      raft_last_term(n->raft));
	}
	violation(s, "liveness",
		  "no new entry committed on a majority within %u election "
		  "timeouts after the heal;%s",
		  LIVENESS_TIMEOUTS, buf);
}

void on_probe(struct sim *s)
{
	if (probe_committed(s)) {
		trace(s,
		      "liveness: probe %" PRIu64 "/%" PRIu64
		      " committed on a majority",
		      s->probe_index, s->probe_term);
		s->done = true;
		return;
	}
	if (s->now > s->liveness_deadline) {
		liveness_failed(s);
		return;
	}
	struct sim_node *l = find_leader(s);
	struct sim_node *p = node_of(s, s->probe_node);
	bool probe_alive = p && p->status == NODE_UP &&
			   raft_state(p->raft) == RAFT_LEADER &&
			   raft_term_current(p->raft) == s->probe_term;
	if (l && !probe_alive) {
		struct step_out out;
		if (propose_value(s, l, &out) == 0) {
			s->probe_node = l->id;
			s->probe_index = out.proposed_index;
			s->probe_term = out.proposed_term;
		}
	}
	schedule(s, 10000, EV_PROBE, 0, 0, 0);
}
