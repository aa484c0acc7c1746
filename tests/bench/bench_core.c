/*
 * bench_core.c — commit throughput of the pure Raft core: three nodes in one
 * process, every message delivered at once, every write durable at once.
 * What is left is the core's own cost per entry (appending, replicating,
 * acknowledging, committing, applying), the ceiling any real I/O lowers.
 *
 * A client keeps the leader busy with batches of 128-byte proposals; between
 * batches the cluster runs until quiet.  Each node snapshots now and then so
 * memory stays flat however long the run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "raft/raft.h"
#include "tests/bench/bench.h"

#define BENCH_NODES 3
#define ENTRY_BYTES 128
#define PROPOSALS_PER_ROUND 64
#define SNAPSHOT_EVERY 8192
#define SNAPSHOT_TRAILING 1024

/* One unit of pending work: a message to deliver or a write to complete. */
struct work {
	raft_id node;
	bool persisted; /* else: deliver msg */
	uint64_t seq;
	struct raft_message msg; /* deep copy */
};

struct bench_cluster {
	struct raft *r[BENCH_NODES + 1];
	uint64_t now;
	struct work *q;
	size_t head, tail, cap;
	raft_index applied[BENCH_NODES + 1];
	raft_index last_snapshot[BENCH_NODES + 1];
	uint64_t committed; /* NORMAL entries applied by node 1's view */
	int err;
};

static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct work *work_push(struct bench_cluster *c)
{
	if (c->tail == c->cap) {
		if (c->head > 0) { /* reuse the consumed front */
			memmove(c->q, c->q + c->head,
				(c->tail - c->head) * sizeof(*c->q));
			c->tail -= c->head;
			c->head = 0;
		}
		if (c->tail == c->cap) {
			c->cap = c->cap ? c->cap * 2 : 1024;
			c->q = realloc(c->q, c->cap * sizeof(*c->q));
			if (!c->q)
				abort();
		}
	}
	struct work *w = &c->q[c->tail++];
	memset(w, 0, sizeof(*w));
	return w;
}

/* Pointers in an update die at the sender's next step: copy the payload. */
static void copy_message(struct raft_message *dst, const struct raft_message *m)
{
	*dst = *m;
	if (m->type == RAFT_MSG_APPEND && m->append.n_entries) {
		unsigned n = m->append.n_entries;
		struct raft_entry *e = malloc(n * sizeof(*e));
		if (!e)
			abort();
		for (unsigned i = 0; i < n; i++) {
			e[i] = m->append.entries[i];
			e[i].data.base = NULL;
			if (e[i].data.len) {
				e[i].data.base = malloc(e[i].data.len);
				if (!e[i].data.base)
					abort();
				memcpy(e[i].data.base,
				       m->append.entries[i].data.base,
				       e[i].data.len);
			}
		}
		dst->append.entries = e;
	}
	if (m->type == RAFT_MSG_SNAPSHOT && m->snapshot.chunk.len) {
		dst->snapshot.chunk.base = malloc(m->snapshot.chunk.len);
		if (!dst->snapshot.chunk.base)
			abort();
		memcpy(dst->snapshot.chunk.base, m->snapshot.chunk.base,
		       m->snapshot.chunk.len);
	}
}

static void free_message(struct raft_message *m)
{
	if (m->type == RAFT_MSG_APPEND && m->append.n_entries) {
		struct raft_entry *e = (struct raft_entry *)m->append.entries;
		for (unsigned i = 0; i < m->append.n_entries; i++)
			free(e[i].data.base);
		free(e);
	}
	if (m->type == RAFT_MSG_SNAPSHOT)
		free(m->snapshot.chunk.base);
}

static void maybe_snapshot(struct bench_cluster *c, raft_id id);

/* Persistence is instant: every write completes as the next piece of work. */
static void handle_update(struct bench_cluster *c, raft_id id,
			  const struct raft_update *up)
{
	if (up->snapshot.present) {
		struct work *w = work_push(c);
		w->node = id;
		w->persisted = true;
		w->seq = up->snapshot.seq;
		c->applied[id] = up->snapshot.index;
	}
	if (up->persist.seq) {
		struct work *w = work_push(c);
		w->node = id;
		w->persisted = true;
		w->seq = up->persist.seq;
	}
	for (unsigned i = 0; i < up->n_messages; i++) {
		struct work *w = work_push(c);
		w->node = up->messages[i].to;
		copy_message(&w->msg, &up->messages[i]);
	}
	for (unsigned i = 0; i < up->n_apply; i++) {
		c->applied[id] = up->apply[i].index;
		if (id == 1 && up->apply[i].type == RAFT_ENTRY_NORMAL)
			c->committed++;
	}
	maybe_snapshot(c, id);
}

static void step(struct bench_cluster *c, raft_id id, struct raft_event *ev)
{
	struct raft_update up;
	ev->now = c->now;
	int rv = raft_step(c->r[id], ev, &up);
	if (rv == RAFT_ENOMEM || (rv == RAFT_EINVAL && !c->err))
		c->err = rv;
	handle_update(c, id, &up);
}

static void maybe_snapshot(struct bench_cluster *c, raft_id id)
{
	if (c->applied[id] < c->last_snapshot[id] + SNAPSHOT_EVERY)
		return;
	static const char data[64] = "bench-core snapshot";
	struct raft_event ev = { .type = RAFT_EV_SNAPSHOT_TAKEN };
	ev.snapshot.index = c->applied[id];
	ev.snapshot.data.base = (void *)data;
	ev.snapshot.data.len = sizeof(data);
	ev.snapshot.trailing = SNAPSHOT_TRAILING;
	c->last_snapshot[id] = c->applied[id];
	step(c, id, &ev);
}

static void drain(struct bench_cluster *c)
{
	while (c->head < c->tail && !c->err) {
		struct work w = c->q[c->head++];
		if (w.node < 1 || w.node > BENCH_NODES) {
			if (!w.persisted)
				free_message(&w.msg);
			continue;
		}
		struct raft_event ev;
		memset(&ev, 0, sizeof(ev));
		if (w.persisted) {
			ev.type = RAFT_EV_PERSISTED;
			ev.persisted.seq = w.seq;
		} else {
			ev.type = RAFT_EV_RECEIVE;
			ev.receive.msg = &w.msg;
		}
		step(c, w.node, &ev);
		if (!w.persisted)
			free_message(&w.msg);
	}
	c->head = c->tail = 0;
}

static void tick_all(struct bench_cluster *c, uint64_t ms)
{
	c->now += ms;
	for (raft_id id = 1; id <= BENCH_NODES; id++) {
		struct raft_event ev = { .type = RAFT_EV_TICK };
		step(c, id, &ev);
	}
	drain(c);
}

static int cluster_start(struct bench_cluster *c)
{
	struct raft_config cfg = { .n = BENCH_NODES };
	for (unsigned i = 0; i < BENCH_NODES; i++) {
		cfg.servers[i].id = i + 1;
		cfg.servers[i].role = RAFT_VOTER;
		snprintf(cfg.servers[i].addr, RAFT_ADDR_MAX, "n%u", i + 1);
	}
	struct raft_entry boot;
	int rv = raft_bootstrap_entry(&cfg, &boot);
	if (rv)
		return rv;
	struct raft_durable d = { .term = 1, .n_entries = 1, .entries = &boot };
	for (raft_id id = 1; id <= BENCH_NODES && !rv; id++) {
		struct raft_options o;
		raft_options_default(&o);
		o.id = id;
		o.seed = id * 7919;
		rv = raft_init(&c->r[id], &o, &d, c->now);
	}
	free(boot.data.base);
	/* Time passes until someone is elected. */
	for (int i = 0; i < 1000 && !rv; i++) {
		tick_all(c, 10);
		if (raft_state(c->r[1]) == RAFT_LEADER ||
		    raft_state(c->r[2]) == RAFT_LEADER ||
		    raft_state(c->r[3]) == RAFT_LEADER)
			return c->err;
	}
	return rv ? rv : RAFT_ENOTLEADER;
}

static raft_id leader_of(const struct bench_cluster *c)
{
	for (raft_id id = 1; id <= BENCH_NODES; id++)
		if (raft_state(c->r[id]) == RAFT_LEADER)
			return id;
	return 0;
}

static void propose_round(struct bench_cluster *c, raft_id leader,
			  uint64_t *next_value)
{
	unsigned char buf[ENTRY_BYTES];
	for (unsigned i = 0; i < PROPOSALS_PER_ROUND; i++) {
		uint64_t v = (*next_value)++;
		memset(buf, (int)(v & 0xff), sizeof(buf));
		memcpy(buf, &v, sizeof(v));
		struct raft_event ev = { .type = RAFT_EV_PROPOSE };
		ev.propose.type = RAFT_ENTRY_NORMAL;
		ev.propose.data.base = buf;
		ev.propose.data.len = sizeof(buf);
		step(c, leader, &ev);
	}
	drain(c);
}

static void cluster_free(struct bench_cluster *c)
{
	for (size_t i = c->head; i < c->tail; i++)
		if (!c->q[i].persisted)
			free_message(&c->q[i].msg);
	free(c->q);
	for (raft_id id = 1; id <= BENCH_NODES; id++)
		raft_close(c->r[id]);
}

int bench_core(const struct bench_opts *o)
{
	struct bench_cluster c;
	memset(&c, 0, sizeof(c));
	c.now = 1000;
	int rv = cluster_start(&c);
	if (rv) {
		fprintf(stderr, "bench core: cluster did not start: %s\n",
			raft_strerror(rv));
		cluster_free(&c);
		return 1;
	}
	uint64_t next_value = 1, rounds = 0;
	double start = wall_seconds(), elapsed = 0;
	uint64_t committed_at_start = c.committed;
	while (elapsed < o->seconds && !c.err) {
		raft_id leader = leader_of(&c);
		if (!leader) {
			tick_all(&c, 10);
			continue;
		}
		propose_round(&c, leader, &next_value);
		/* One simulated millisecond per round keeps heartbeats and
		 * CheckQuorum honest without stalling the pipeline. */
		if (++rounds % 4 == 0)
			tick_all(&c, 1);
		if (rounds % 64 == 0)
			elapsed = wall_seconds() - start;
	}
	elapsed = wall_seconds() - start;
	uint64_t n = c.committed - committed_at_start;
	double rate = elapsed > 0 ? (double)n / elapsed : 0;
	if (c.err)
		fprintf(stderr, "bench core: core error: %s\n",
			raft_strerror(c.err));
	if (o->json)
		printf("{\"bench\":\"core_commit\",\"nodes\":%d,"
		       "\"entry_bytes\":%d,\"entries\":%" PRIu64 ","
		       "\"seconds\":%.3f,\"entries_per_sec\":%.0f}\n",
		       BENCH_NODES, ENTRY_BYTES, n, elapsed, rate);
	else
		printf("core: %d nodes in memory, %d-byte entries: %" PRIu64
		       " entries committed in %.2fs = %.0f entries/s\n",
		       BENCH_NODES, ENTRY_BYTES, n, elapsed, rate);
	cluster_free(&c);
	return c.err ? 1 : 0;
}
