/*
 * raftsim_run.c — one seed: set-up and bootstrap, the event loop
 * (dispatch by kind), the final audit and the report.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/raftsim.h"

/* ---- one seed ------------------------------------------------------------ */

static void sim_options(struct sim *s)
{
	static const unsigned batches[] = { 1, 2, 3, 8, 64 };
	struct raft_options *o = &s->ropt;
	raft_options_default(o);
	o->election_timeout = ELECTION_TIMEOUT_MS;
	o->heartbeat_interval = HEARTBEAT_MS;
	o->max_inflight = (unsigned)rng_between(&s->rng, 1, 16);
	o->max_batch_entries = batches[rng_below(&s->rng, 5)];
	o->max_batch_bytes = 64 << 10;
	o->max_entry_bytes = 4096;
	o->snapshot_chunk = (size_t)rng_between(&s->rng, 256, 2048);
}

static void sim_bootstrap(struct sim *s)
{
	struct raft_config cfg = { .n = s->n_initial };
	for (unsigned i = 0; i < s->n_initial; i++) {
		cfg.servers[i].id = i + 1;
		cfg.servers[i].role = RAFT_VOTER;
		snprintf(cfg.servers[i].addr, RAFT_ADDR_MAX, "n%u", i + 1);
	}
	struct raft_entry boot;
	if (raft_bootstrap_entry(&cfg, &boot) != 0) {
		violation(s, "api", "raft_bootstrap_entry failed");
		return;
	}
	for (raft_id id = 1; id < MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		n->id = id;
		n->rate_ppm = (uint32_t)rng_between(&s->rng, 990000, 1010000);
		disk_faults_clear(&n->df);
		if (id > s->n_initial)
			continue;
		n->disk.term = 1;
		disk_log_append(&n->disk, &boot);
	}
	free(boot.data.base);
	s->cluster_config = cfg;
	s->cluster_config_index = 1;
	for (raft_id id = 1; id <= s->n_initial && !s->failed; id++)
		node_start(s, &s->nodes[id]);
}

static void sim_init(struct sim *s, const struct sim_opts *opt, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->opt = opt;
	s->seed = seed;
	rng_seed(&s->rng, seed * 0x9E3779B97F4A7C15ull + opt->nodes);
	s->n_initial = opt->nodes;
	s->next_spare = opt->nodes + 1;
	net_clear(s);
	sim_options(s);
	s->heal_at = opt->time_ms * 1000;
	trace(s, "seed %" PRIu64 ": %u nodes, inflight %u, batch %u, chunk %zu",
	      seed, opt->nodes, s->ropt.max_inflight, s->ropt.max_batch_entries,
	      s->ropt.snapshot_chunk);
	sim_bootstrap(s);
	schedule(s, 1000, EV_PROPOSE, 0, 0, 0);
	schedule(s, 5000, EV_READ, 0, 0, 0);
	schedule(s, s->heal_at, EV_HEAL, 0, 0, 0);
	if (!opt->faults)
		return;
	schedule(s, 200000, EV_TRANSFER, 0, 0, 0);
	schedule(s, 300000, EV_MEMBERSHIP, 0, 0, 0);
	schedule(s, rng_between(&s->rng, 100000, 800000), EV_PHASE, 0, 0, 0);
	schedule(s, rng_between(&s->rng, 200000, 1500000), EV_CRASH, 0, 0, 0);
}

static void sim_free(struct sim *s)
{
	struct sim_event ev;
	while (queue_pop(&s->q, &ev))
		msg_free(ev.msg);
	free(s->q.heap);
	for (raft_id id = 1; id < MAX_NODES; id++) {
		struct sim_node *n = &s->nodes[id];
		raft_close(n->raft);
		disk_pending_free(n);
		free(n->writes);
		disk_free(&n->disk);
		shadow_free(&n->sh);
	}
	free(s->chk.reg);
	free(s->chk.committed);
	free(s->chk.state_hash);
	free(s->chk.leader_of);
	free(s->chk.reads);
}

static void dispatch(struct sim *s, struct sim_event *ev)
{
	switch (ev->kind) {
	case EV_TICK:
		on_tick(s, ev);
		break;
	case EV_DELIVER:
		on_deliver(s, ev);
		break;
	case EV_DISK:
		on_disk(s, ev);
		break;
	case EV_PROPOSE:
		on_propose(s);
		break;
	case EV_READ:
		on_read(s);
		break;
	case EV_TRANSFER:
		on_transfer(s);
		break;
	case EV_MEMBERSHIP:
		on_membership(s);
		break;
	case EV_PHASE:
		on_phase(s);
		break;
	case EV_CRASH:
		on_crash(s);
		break;
	case EV_RESTART:
		on_restart(s, ev);
		break;
	case EV_HEAL:
		on_heal(s);
		break;
	case EV_PROBE:
		on_probe(s);
		break;
	case EV_CHURN:
		on_churn(s, ev);
		break;
	case EV_PEER_DOWN:
		on_peer_down(s, ev);
		break;
	}
}

static void final_audit(struct sim *s)
{
	for (raft_id id = 1; id < MAX_NODES && !s->failed; id++)
		if (s->nodes[id].status == NODE_UP)
			audit_log(s, &s->nodes[id]);
}

/* Runs one seed; true when no invariant was violated. */
bool run_seed(const struct sim_opts *opt, uint64_t seed, struct seed_stats *st)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	sim_init(s, opt, seed);
	struct sim_event ev;
	while (!s->failed && !s->done && queue_pop(&s->q, &ev)) {
		s->now = ev.at;
		dispatch(s, &ev);
		msg_free(ev.msg);
		stop_pending_nodes(s);
	}
	if (!s->failed && !s->done)
		violation(s, "liveness", "the simulation ran out of events");
	final_audit(s);
	s->st.sim_ms = s->now / 1000;
	*st = s->st;
	bool ok = !s->failed;
	if (!ok)
		print_violation(s);
	else if (opt->verbose)
		printf("seed %" PRIu64 ": ok, %" PRIu64 " steps, %" PRIu64
		       " entries committed, %" PRIu64 " elections\n",
		       seed, s->st.steps, s->st.commits, s->st.elections);
	fflush(stdout);
	sim_free(s);
	free(s);
	return ok;
}
