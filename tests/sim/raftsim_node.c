/*
 * raftsim_node.c — one simulated node: start (from its durable image),
 * crash, stop once removed, stepping the core and handling its update,
 * and the events addressed to a node (tick, delivery, disk completion).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/raftsim.h"

struct sim_node *node_of(struct sim *s, raft_id id)
{
	return (id > 0 && id < MAX_NODES) ? &s->nodes[id] : NULL;
}

static uint64_t node_now(const struct sim *s, const struct sim_node *n)
{
	return s->now * (uint64_t)n->rate_ppm / 1000000000ull;
}

/* ---- node lifecycle and stepping ------------------------------------------ */

static void node_handle_update(struct sim *s, struct sim_node *n,
			       const struct raft_update *up);

static int step_raw(struct sim *s, struct sim_node *n, struct raft_event *ev,
		    struct raft_update *up)
{
	ev->now = node_now(s, n);
	s->st.steps++;
	return raft_step(n->raft, ev, up);
}

static void node_take_snapshot(struct sim *s, struct sim_node *n)
{
	struct app *a = &n->app;
	a->snapshot_due = a->applied + rng_between(&s->rng, 50, 200);
	raft_term term = raft_term_at(n->raft, a->applied);
	if (!term || a->applied <= n->disk.snap_index)
		return;
	struct raft_buf data = app_snapshot_data(s, a);
	struct raft_event ev = { .type = RAFT_EV_SNAPSHOT_TAKEN };
	ev.snapshot.index = a->applied;
	ev.snapshot.data = data;
	ev.snapshot.trailing = rng_between(&s->rng, 0, 64);
	struct raft_update up;
	int rv = step_raw(s, n, &ev, &up);
	if (rv == 0) {
		s->st.snapshots_taken++;
		trace(s,
		      "n%" PRIu64 " snapshot taken at %" PRIu64 " term %" PRIu64
		      " (%zu bytes, trailing %" PRIu64 ")",
		      n->id, a->applied, term, data.len, ev.snapshot.trailing);
		if (disk_set_snapshot(&n->disk, a->applied, term, &a->config,
				      data))
			n->disk_dropped_tail = true;
	} else {
		trace(s, "n%" PRIu64 " snapshot at %" PRIu64 " refused: %s",
		      n->id, a->applied, raft_strerror(rv));
		free(data.base);
	}
	node_handle_update(s, n, &up);
}

static bool app_wants_snapshot(const struct sim_node *n)
{
	return n->app.applied >= n->app.snapshot_due &&
	       n->app.applied > raft_snapshot_index(n->raft);
}

/* Work an update leaves behind that needs another step: a failed hard
 * state write, a snapshot the application decided to take. */
static void node_follow_ups(struct sim *s, struct sim_node *n)
{
	for (unsigned guard = 0; guard < 64; guard++) {
		if (n->status != NODE_UP || s->failed)
			return;
		if (n->hs_failed_todo) {
			n->hs_failed_todo = false;
			struct raft_event ev = {
				.type = RAFT_EV_PERSIST_FAILED
			};
			ev.persist_failed.hard_state = true;
			ev.persist_failed.err = EIO;
			struct raft_update up;
			step_raw(s, n, &ev, &up);
			node_handle_update(s, n, &up);
			continue;
		}
		if (app_wants_snapshot(n)) {
			node_take_snapshot(s, n);
			continue;
		}
		return;
	}
}

int node_step(struct sim *s, struct sim_node *n, struct raft_event *ev,
	      struct step_out *out)
{
	raft_index required = s->chk.max_commit;
	struct raft_update up;
	int rv = step_raw(s, n, ev, &up);
	if (ev->type == RAFT_EV_READ_INDEX && rv == 0)
		reads_add(s, ev->read.id, n, required);
	if (out) {
		out->rv = rv;
		out->proposed_index = up.proposed_index;
		out->proposed_term = up.proposed_term;
	}
	if (rv == RAFT_ENOMEM ||
	    (rv != 0 &&
	     (ev->type == RAFT_EV_TICK || ev->type == RAFT_EV_RECEIVE ||
	      ev->type == RAFT_EV_PERSISTED ||
	      ev->type == RAFT_EV_PERSIST_FAILED)))
		violation(s, "api", "n%" PRIu64 " step of event %u: %s", n->id,
			  ev->type, raft_strerror(rv));
	node_handle_update(s, n, &up);
	node_follow_ups(s, n);
	return rv;
}

static bool check_persist_shape(struct sim *s, struct sim_node *n,
				const struct raft_update *up)
{
	raft_index first = up->persist.first;
	if (up->persist.n_entries && !up->persist.entries) {
		violation(s, "api",
			  "n%" PRIu64 " persist seq %" PRIu64
			  " claims %u entries "
			  "from %" PRIu64 " but gives none (snapshot %" PRIu64
			  ", first in memory %" PRIu64 ")",
			  n->id, up->persist.seq, up->persist.n_entries, first,
			  raft_snapshot_index(n->raft),
			  raft_first_index(n->raft));
		return false;
	}
	for (unsigned i = 0; i < up->persist.n_entries; i++)
		if (up->persist.entries[i].index != first + i) {
			violation(s, "api",
				  "n%" PRIu64 " persist %" PRIu64
				  " entry %u has "
				  "index %" PRIu64 ", expected %" PRIu64,
				  n->id, up->persist.seq, i,
				  up->persist.entries[i].index, first + i);
			return false;
		}
	return true;
}

/* Bring the shadow in line with the core's in-memory log.  The core may
 * change its log without writing it yet (it holds writes back while its
 * disk is failing), so the shadow follows memory, not the persist stream:
 * find where the terms diverge from the top, rewrite from there (or from
 * the persist range, which also covers same-term rewrites), and register
 * every new entry.  Periodic audits catch changes neither would show. */
static void shadow_sync(struct sim *s, struct sim_node *n,
			const struct raft_update *up)
{
	struct shadow_log *sh = &n->sh;
	const struct raft *r = n->raft;
	raft_index last = raft_last_index(r);
	/* A snapshot replaced the log in memory (its write may come later,
	 * once a failed disk is retried). */
	raft_index off = raft_first_index(r) - 1;
	if (off > sh->base && (off > shadow_last(sh) ||
			       raft_term_at(r, off) != shadow_term(sh, off))) {
		raft_term t = raft_term_at(r, off);
		shadow_reset(sh, off, t,
			     snapshot_chain(s, n->id, off, t, "installed"));
	}
	raft_index from = (last < shadow_last(sh) ? last : shadow_last(sh)) + 1;
	while (from - 1 > sh->base &&
	       raft_term_at(r, from - 1) != shadow_term(sh, from - 1))
		from--;
	if (up->persist.seq && up->persist.first > sh->base &&
	    up->persist.first < from)
		from = up->persist.first;
	if (from <= sh->base) {
		violation(s, "log tracking",
			  "n%" PRIu64 " rewrote entry %" PRIu64
			  " at or below its snapshot %" PRIu64,
			  n->id, from, sh->base);
		return;
	}
	shadow_truncate(sh, from);
	for (raft_index i = from; i <= last && !s->failed; i++) {
		const struct raft_entry *e = raft_entry_at(r, i);
		if (!e) {
			violation(s, "log tracking",
				  "n%" PRIu64 " has no entry %" PRIu64
				  " though its log runs to %" PRIu64,
				  n->id, i, last);
			return;
		}
		shadow_append(s, n, e);
	}
}

static void handle_snapshot_install(struct sim *s, struct sim_node *n,
				    const struct raft_update *up)
{
	trace(s,
	      "n%" PRIu64 " installing snapshot %" PRIu64 " term %" PRIu64
	      " (%zu bytes, seq %" PRIu64 ")",
	      n->id, up->snapshot.index, up->snapshot.term,
	      up->snapshot.data.len, up->snapshot.seq);
	uint64_t chain = snapshot_chain(s, n->id, up->snapshot.index,
					up->snapshot.term, "received");
	shadow_reset(&n->sh, up->snapshot.index, up->snapshot.term, chain);
	disk_queue_snapshot(s, n, up);
}

static void handle_messages(struct sim *s, struct sim_node *n,
			    const struct raft_update *up)
{
	for (unsigned i = 0; i < up->n_messages && !s->failed; i++) {
		const struct raft_message *m = &up->messages[i];
		check_durable_before_send(s, n, m);
		net_send(s, n, m);
	}
}

static void node_handle_update(struct sim *s, struct sim_node *n,
			       const struct raft_update *up)
{
	bool hs_ok = true;
	if (up->hard_state_changed)
		hs_ok = disk_write_hard_state(s, n, up);
	if (up->snapshot.present)
		handle_snapshot_install(s, n, up);
	if (up->persist.seq && check_persist_shape(s, n, up))
		disk_queue_log_write(s, n, up);
	if (!s->failed)
		shadow_sync(s, n, up);
	if (hs_ok)
		handle_messages(s, n, up);
	else
		n->hs_failed_todo = true;
	for (unsigned i = 0; i < up->n_apply && !s->failed; i++)
		app_apply(s, n, &up->apply[i]);
	for (unsigned i = 0; i < up->n_reads && !s->failed; i++)
		check_read(s, n, &up->reads[i]);
	bool led_before = n->role_seen == RAFT_LEADER &&
			  n->term_seen == raft_term_current(n->raft);
	check_role(s, n);
	note_commit_rule(s, n, led_before);
	check_commit(s, n);
	check_log_tracking(s, n);
	if (++n->steps_since_audit >= AUDIT_EVERY)
		audit_log(s, n);
}

static void schedule_tick(struct sim *s, struct sim_node *n)
{
	/* TICK_US of the node's own clock, in simulated time. */
	uint64_t us = (uint64_t)TICK_US * 1000000ull / n->rate_ppm;
	schedule(s, us + rng_below(&s->rng, 500), EV_TICK, (unsigned)n->id,
		 n->inc, 0);
}

/* Rebuild the checker's view of a node from its durable image, as the core
 * does at start. */
static void shadow_from_disk(struct sim *s, struct sim_node *n)
{
	const struct disk_image *d = &n->disk;
	uint64_t chain = snapshot_chain(s, n->id, d->snap_index, d->snap_term,
					"restarts from");
	shadow_reset(&n->sh, d->snap_index, d->snap_term, chain);
	for (size_t i = 0; i < d->n && !s->failed; i++)
		shadow_append(s, n, &d->log[i]);
}

void node_start(struct sim *s, struct sim_node *n)
{
	const struct disk_image *d = &n->disk;
	struct raft_durable dur = { .term = d->term,
				    .voted_for = d->vote,
				    .snap_index = d->snap_index,
				    .snap_term = d->snap_term,
				    .snap_config = d->snap_config,
				    .snap_data = d->snap_data,
				    .n_entries = (unsigned)d->n,
				    .entries = d->log };
	struct raft_options o = s->ropt;
	o.id = n->id;
	o.seed = rng_next(&s->rng);
	int rv = raft_init(&n->raft, &o, &dur, node_now(s, n));
	if (rv != 0) {
		violation(s, "api", "n%" PRIu64 " raft_init: %s", n->id,
			  raft_strerror(rv));
		return;
	}
	n->status = NODE_UP;
	memset(&n->app, 0, sizeof(n->app));
	n->app.snapshot_due = rng_between(&s->rng, 50, 200);
	if (d->snap_index)
		app_restore(s, n, d->snap_index, &d->snap_data,
			    &d->snap_config);
	shadow_from_disk(s, n);
	n->commit_seen = raft_commit_index(n->raft);
	n->role_seen = raft_state(n->raft);
	n->term_seen = raft_term_current(n->raft);
	n->steps_since_audit = 0;
	n->hs_failed_todo = false;
	check_log_tracking(s, n);
	schedule_tick(s, n);
	trace(s,
	      "n%" PRIu64 " started: term %" PRIu64 " vote %" PRIu64
	      " snapshot %" PRIu64 " log to %" PRIu64,
	      n->id, d->term, d->vote, d->snap_index, d->snap_index + d->n);
}

/* A process that dies has its connections ended by its kernel: the
 * others' transports report it (RAFT_EV_PEER_DOWN) a moment later, unless
 * the network between them drops everything.  A host that dies ends
 * nothing: half the crashes are those. */
static void report_connections_ended(struct sim *s, const struct sim_node *n)
{
	if (rng_permille(&s->rng, 500))
		return;
	for (raft_id id = 1; id < MAX_NODES; id++) {
		const struct sim_node *o = &s->nodes[id];
		if (id == n->id || o->status != NODE_UP)
			continue;
		schedule(s, rng_between(&s->rng, 100, 3000), EV_PEER_DOWN,
			 (unsigned)id, o->inc, n->id);
	}
}

void on_peer_down(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_if_current(s, ev);
	if (!n || n->status != NODE_UP || net_blocked(s, ev->arg, n->id))
		return;
	trace(s, "n%" PRIu64 " hears n%" PRIu64 "'s connection end", n->id,
	      ev->arg);
	struct raft_event rev = { .type = RAFT_EV_PEER_DOWN };
	rev.peer_down.id = ev->arg;
	node_step(s, n, &rev, NULL);
}

/* A crash loses everything not yet durable: the raft struct, pending
 * writes, the application's memory. */
void node_crash(struct sim *s, struct sim_node *n)
{
	report_connections_ended(s, n);
	raft_close(n->raft);
	n->raft = NULL;
	disk_pending_free(n);
	n->status = NODE_DOWN;
	n->inc++;
	reads_drop_node(s, n->id);
	s->st.crashes++;
	trace(s,
	      "n%" PRIu64 " CRASH (durable: term %" PRIu64 " snapshot %" PRIu64
	      " log to %" PRIu64 ")",
	      n->id, n->disk.term, n->disk.snap_index,
	      n->disk.snap_index + n->disk.n);
}

static void node_stop_removed(struct sim *s, struct sim_node *n)
{
	if (n->status == NODE_UP) {
		raft_close(n->raft);
		n->raft = NULL;
		disk_pending_free(n);
		reads_drop_node(s, n->id);
	}
	n->status = NODE_REMOVED;
	n->inc++;
	n->stop_pending = false;
	trace(s, "n%" PRIu64 " stopped: removed from the cluster", n->id);
}

void stop_pending_nodes(struct sim *s)
{
	for (raft_id id = 1; id < MAX_NODES; id++)
		if (s->nodes[id].stop_pending)
			node_stop_removed(s, &s->nodes[id]);
}

/* A committed configuration without a node means that node is gone for
 * good: stop it (ids are never reused). */
void cluster_config_applied(struct sim *s, raft_index idx,
			    const struct raft_config *cfg)
{
	if (idx <= s->cluster_config_index)
		return;
	const struct raft_config *old = &s->cluster_config;
	for (unsigned i = 0; i < old->n; i++) {
		raft_id id = old->servers[i].id;
		struct sim_node *n = node_of(s, id);
		if (raft_config_get(cfg, id) || !n)
			continue;
		if (n->status == NODE_UP)
			n->stop_pending = true;
		else if (n->status == NODE_DOWN)
			n->status = NODE_REMOVED;
	}
	s->cluster_config = *cfg;
	s->cluster_config_index = idx;
	char buf[128];
	int k = 0;
	for (unsigned i = 0; i < cfg->n && k < 100; i++)
		k += snprintf(buf + k, sizeof(buf) - (size_t)k,
			      " n%" PRIu64 "%s", cfg->servers[i].id,
			      cfg->servers[i].role == RAFT_VOTER ? "" : "(l)");
	buf[k] = 0;
	trace(s, "config %" PRIu64 " committed:%s", idx, buf);
}

/* ---- event handlers --------------------------------------------------------- */

struct sim_node *node_if_current(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_of(s, ev->node);
	if (!n || n->status != NODE_UP || n->inc != ev->inc)
		return NULL;
	return n;
}

void on_tick(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_if_current(s, ev);
	if (!n)
		return;
	struct raft_event rev = { .type = RAFT_EV_TICK };
	node_step(s, n, &rev, NULL);
	if (n->status == NODE_UP && n->inc == ev->inc)
		schedule_tick(s, n);
}

void on_deliver(struct sim *s, struct sim_event *ev)
{
	struct sim_node *n = node_of(s, ev->node);
	const struct raft_message *m = &ev->msg->m;
	char desc[160];
	describe_msg(m, desc, sizeof(desc));
	if (!n || n->status != NODE_UP || net_blocked(s, m->from, m->to)) {
		trace(s, "drop %s", desc);
		return;
	}
	trace(s, "recv %s", desc);
	struct raft_event rev = { .type = RAFT_EV_RECEIVE };
	rev.receive.msg = m;
	node_step(s, n, &rev, NULL);
}

static void disk_complete_ok(struct sim *s, struct sim_node *n,
			     struct disk_write *w)
{
	if (w->snapshot) {
		app_restore(s, n, w->snap_index, &w->snap_data,
			    &w->snap_config);
		if (w->snap_index < n->app.applied)
			violation(s, "state machine safety",
				  "n%" PRIu64 " installed snapshot %" PRIu64
				  " behind what it had applied (%" PRIu64 ")",
				  n->id, w->snap_index, n->app.applied);
		disk_set_snapshot(&n->disk, w->snap_index, w->snap_term,
				  &w->snap_config, w->snap_data);
		disk_log_truncate(&n->disk, 0); /* replaces the whole log */
		w->snap_data.base = NULL;
		s->st.snapshots_installed++;
		trace(s,
		      "n%" PRIu64 " snapshot %" PRIu64 " durable, seq %" PRIu64,
		      n->id, w->snap_index, w->seq);
	} else {
		disk_apply_log_write(s, n, w);
	}
	struct raft_event rev = { .type = RAFT_EV_PERSISTED };
	rev.persisted.seq = w->seq;
	disk_write_free(w);
	node_step(s, n, &rev, NULL);
}

/* A failed write leaves the durable image as it was and fails every write
 * queued behind it. */
static void disk_complete_failed(struct sim *s, struct sim_node *n,
				 struct disk_write *w)
{
	uint64_t seq = w->seq;
	s->st.disk_failures++;
	trace(s, "n%" PRIu64 " write seq %" PRIu64 " FAILED (+%zu queued)",
	      n->id, seq, n->n_writes);
	disk_write_free(w);
	disk_pending_free(n);
	struct raft_event rev = { .type = RAFT_EV_PERSIST_FAILED };
	rev.persist_failed.seq = seq;
	rev.persist_failed.err = EIO;
	node_step(s, n, &rev, NULL);
}

void on_disk(struct sim *s, const struct sim_event *ev)
{
	struct sim_node *n = node_if_current(s, ev);
	if (!n || n->n_writes == 0 || n->writes[0].seq != ev->arg)
		return; /* flushed by an earlier failure */
	struct disk_write w = n->writes[0];
	memmove(n->writes, n->writes + 1,
		(n->n_writes - 1) * sizeof(*n->writes));
	n->n_writes--;
	if (w.fail)
		disk_complete_failed(s, n, &w);
	else
		disk_complete_ok(s, n, &w);
}
