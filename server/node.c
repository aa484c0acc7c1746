/*
 * node.c — see node.h.  The order of work for one update follows raft.h:
 * hard state (held messages), snapshot, log write, messages, apply, reads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/log_throttle.h"
#include "proto/wire.h"
#include "raft/store.h"
#include "server/disk.h"
#include "server/node.h"
#include "server/read_queue.h"
#include "server/snapshot_schedule.h"
#include "server/stall_grace.h"
#include "server/transport.h"

/* Entries kept in memory behind a snapshot, so slightly lagging followers
 * catch up from the log instead of a whole snapshot. */
#define SNAPSHOT_TRAILING 4096

struct proposal {
	raft_index index;
	raft_term term;
	node_propose_cb cb;
	void *arg;
};

/* A message deep-copied while a hard-state write is in flight. */
struct held_msg {
	struct raft_message m;
	struct raft_entry *entries;
	void *chunk;
};

struct node {
	uv_loop_t *loop;
	struct node_options opt;
	struct raft *raft;
	struct store *store;
	struct disk *disk;
	struct transport *transport;
	struct sm *sm;
	uv_timer_t tick;

	/* messages wait while term/vote are not yet durable */
	unsigned hs_inflight;
	struct held_msg *held;
	unsigned n_held, cap_held;

	/* a failed write is reported to the core once */
	uint64_t max_seq_issued;
	uint64_t fail_reported_upto;

	/* Proposals waiting for their entry to apply: a queue, props_head the
	 * oldest.  They are in index order unless leadership was lost and
	 * regained meanwhile (props_unsorted), which only costs a scan. */
	struct proposal *props;
	unsigned props_head, n_props, cap_props;
	bool props_unsorted;
	struct read_queue reads;

	raft_index last_snapshot;
	bool snapshot_inflight;
	uint64_t snapshot_encode_ns; /* of the one in flight, on the loop */

	node_event_cb on_event;
	node_role_cb on_role;
	void *cb_arg;

	struct disk_health disk_health;
	/* every durable write's time, fsync included: bucket k counts
	 * <= 2^k * 64 us */
	struct duration_hist syncs;
	uint64_t ticks_deferred; /* on_tick */
	uint64_t last_tick_ms, late_ticks, late_max_ms;
	struct stall_grace grace;
	struct log_throttle late_log;

	bool stopping;
	unsigned closing;
	void (*on_stopped)(void *arg);
	void *stopped_arg;
};

static void node_step(struct node *n, struct raft_event *ev, int *rv_out);

uint64_t node_now_ms(void)
{
	/* BOOTTIME keeps counting while the host is suspended: a lease
	 * must not look younger after a resume (docs/design.md rule 3). */
	return clock_now_ms();
}

/* ---- small growable arrays -------------------------------------------------- */

static bool grow(void **arr, unsigned *cap, unsigned n, size_t elem)
{
	if (n < *cap)
		return true;
	unsigned ncap = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

/* ---- messages ------------------------------------------------------------------ */

static void held_free(struct held_msg *h)
{
	if (h->entries) {
		for (unsigned i = 0; i < h->m.append.n_entries; i++)
			free(h->entries[i].data.base);
		free(h->entries);
	}
	free(h->chunk);
}

static bool hold_message(struct node *n, const struct raft_message *m)
{
	if (!grow((void **)&n->held, &n->cap_held, n->n_held, sizeof(*n->held)))
		return false;
	struct held_msg *h = &n->held[n->n_held];
	memset(h, 0, sizeof(*h));
	h->m = *m;
	if (m->type == RAFT_MSG_APPEND && m->append.n_entries) {
		unsigned k = m->append.n_entries;
		h->entries = calloc(k, sizeof(*h->entries));
		if (!h->entries)
			return false;
		for (unsigned i = 0; i < k; i++) {
			h->entries[i] = m->append.entries[i];
			size_t len = m->append.entries[i].data.len;
			h->entries[i].data.base = len ? malloc(len) : NULL;
			if (len && !h->entries[i].data.base) {
				h->m.append.n_entries = i;
				held_free(h);
				return false;
			}
			if (len)
				memcpy(h->entries[i].data.base,
				       m->append.entries[i].data.base, len);
		}
		h->m.append.entries = h->entries;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		size_t len = m->snapshot.chunk.len;
		h->chunk = malloc(len ? len : 1);
		if (!h->chunk)
			return false;
		if (len)
			memcpy(h->chunk, m->snapshot.chunk.base, len);
		h->m.snapshot.chunk.base = h->chunk;
	}
	n->n_held++;
	return true;
}

/* Held messages leave once term and vote are durable, or are dropped when
 * that write failed (Raft tolerates the loss; docs/design.md rule 2
 * forbids sending). */
static void release_held(struct node *n, bool send)
{
	for (unsigned i = 0; i < n->n_held; i++) {
		if (send)
			transport_send(n->transport, &n->held[i].m);
		held_free(&n->held[i]);
	}
	n->n_held = 0;
}

static void send_messages(struct node *n, const struct raft_update *up)
{
	for (unsigned i = 0; i < up->n_messages; i++) {
		if (n->hs_inflight == 0)
			transport_send(n->transport, &up->messages[i]);
		else if (!hold_message(n, &up->messages[i]))
			log_event(LOG_WARN, "message_dropped",
				  "reason=out_of_memory");
	}
}

/* ---- applying ----------------------------------------------------------------- */

static void on_sm_event(void *arg, const struct sm_event *ev)
{
	struct node *n = arg;
	if (n->on_event)
		n->on_event(n->cb_arg, ev);
}

static void finish_one(struct proposal p, const struct raft_entry *e,
		       const struct sm_result *res)
{
	/* Our entry, or another one took its index: it is lost. */
	bool ours = p.index == e->index && p.term == e->term;
	p.cb(p.arg, ours ? 0 : RAFT_ENOTLEADER, ours ? res : NULL, e->index);
}

/* Answer every proposal whose index is now applied.  In order, that is a
 * prefix of the queue: O(answered), not O(pending), per entry. */
static void finish_proposals(struct node *n, const struct raft_entry *e,
			     const struct sm_result *res)
{
	if (!n->props_unsorted) {
		while (n->props_head < n->n_props &&
		       n->props[n->props_head].index <= e->index)
			finish_one(n->props[n->props_head++], e, res);
	} else {
		unsigned keep = n->props_head;
		for (unsigned i = n->props_head; i < n->n_props; i++) {
			struct proposal p = n->props[i];
			if (p.index > e->index)
				n->props[keep++] = p;
			else
				finish_one(p, e, res);
		}
		n->n_props = keep;
	}
	if (n->props_head == n->n_props) {
		n->props_head = n->n_props = 0;
		n->props_unsorted = false;
	}
}

/* A committed command this binary does not know comes from a newer
 * witness: the others apply it.  Skipping it would part this witness's
 * state from theirs without a word; stopping makes it a crashed witness,
 * which the trio tolerates, and nothing past the entry is applied (the
 * entry stays in the log: a restart stops here again until upgraded). */
static _Noreturn void stop_at_unknown_command(const struct raft_entry *e)
{
	const unsigned char *p = e->data.base;
	unsigned version = e->data.len > 0 ? p[0] : 0;
	unsigned type = e->data.len > 1 ? p[1] : 0;

	log_event(LOG_ERROR, "unknown_command",
		  "index=%llu version=%u type=%u msg=\"log entry %llu holds a "
		  "command this tenured does not know (version %u, type %u): "
		  "upgrade this witness to the version of the others; nothing "
		  "was applied from entry %llu on\"",
		  (unsigned long long)e->index, version, type,
		  (unsigned long long)e->index, version, type,
		  (unsigned long long)e->index);
	exit(3); /* tenured.8 EXIT STATUS */
}

static void apply_entry(struct node *n, const struct raft_entry *e)
{
	struct sm_result res;
	memset(&res, 0, sizeof(res));
	if (e->type == RAFT_ENTRY_NORMAL) {
		int rv = sm_apply(n->sm, e->index, e->data.base, e->data.len,
				  &res, on_sm_event, n);
		if (rv == SM_APPLY_UNKNOWN)
			stop_at_unknown_command(e);
		if (rv) {
			log_event(LOG_ERROR, "apply_failed",
				  "index=%llu reason=out_of_memory",
				  (unsigned long long)e->index);
			abort(); /* cannot follow the log any more */
		}
	} else {
		sm_skip(n->sm, e->index);
		if (e->type == RAFT_ENTRY_CONFIG)
			transport_set_peers(n->transport,
					    raft_config_current(n->raft));
	}
	finish_proposals(n, e, &res);
}

static void maybe_snapshot(struct node *n)
{
	raft_index applied = sm_applied_index(n->sm);
	uint64_t every = n->opt.snapshot_every;
	if (n->snapshot_inflight || every == 0)
		return;
	uint64_t offset = snapshot_offset(raft_config_current(n->raft),
					  raft_self(n->raft), every);
	if (applied < snapshot_next_at(n->last_snapshot, every, offset))
		return;
	struct raft_config c;
	if (!raft_config_at(n->raft, applied, &c))
		return;
	uint64_t t0 = uv_hrtime();
	struct wire_writer w;
	wire_writer_init(&w);
	if (!sm_snapshot(n->sm, &w)) {
		wire_writer_free(&w);
		return;
	}
	struct disk_job *j = disk_job_snapshot(DISK_SNAPSHOT_PUT, 0, applied,
					       raft_term_at(n->raft, applied),
					       &c, w.buf, w.len,
					       SNAPSHOT_TRAILING);
	wire_writer_free(&w);
	if (!j)
		return;
	n->snapshot_encode_ns = uv_hrtime() - t0;
	n->snapshot_inflight = true;
	disk_submit(n->disk, j);
}

static void finish_reads(struct node *n, const struct raft_update *up)
{
	struct pending_read pr;

	for (unsigned i = 0; i < up->n_reads; i++)
		if (read_queue_take(&n->reads, up->reads[i].id, &pr))
			pr.cb(pr.arg, up->reads[i].status);
}

/* ---- the update --------------------------------------------------------------- */

static void submit(struct node *n, struct disk_job *j)
{
	if (!j) {
		log_event(LOG_ERROR, "disk_job_failed", "reason=out_of_memory");
		/* dropping a write silently would break docs/design.md
		 * rule 2 */
		abort();
	}
	if (j->seq > n->max_seq_issued)
		n->max_seq_issued = j->seq;
	disk_submit(n->disk, j);
}

static void process_update(struct node *n, const struct raft_update *up)
{
	if (up->hard_state_changed) {
		n->hs_inflight++;
		submit(n, disk_job_hard_state(up->term, up->voted_for));
	}
	if (up->snapshot.present)
		submit(n,
		       disk_job_snapshot(DISK_SNAPSHOT_INSTALL,
					 up->snapshot.seq, up->snapshot.index,
					 up->snapshot.term,
					 &up->snapshot.config,
					 up->snapshot.data.base,
					 up->snapshot.data.len, 0));
	if (up->persist.seq)
		submit(n, disk_job_append(up->persist.seq, up->persist.first,
					  up->persist.entries,
					  up->persist.n_entries));
	send_messages(n, up);
	for (unsigned i = 0; i < up->n_apply; i++)
		apply_entry(n, &up->apply[i]);
	finish_reads(n, up);
	if (up->state_changed) {
		log_event(LOG_INFO, "role_change",
			  "name=%s role=%s term=%llu leader=%llu", n->opt.name,
			  raft_state_name(up->state),
			  (unsigned long long)raft_term_current(n->raft),
			  (unsigned long long)up->leader);
		if (n->on_role)
			n->on_role(n->cb_arg, up->state,
				   raft_term_current(n->raft), up->leader);
	}
	if (up->n_apply)
		maybe_snapshot(n);
}

static void node_step(struct node *n, struct raft_event *ev, int *rv_out)
{
	struct raft_update up;
	ev->now = node_now_ms();
	int rv = raft_step(n->raft, ev, &up);
	process_update(n, &up);
	if (rv_out)
		*rv_out = rv;
}

/* ---- disk completions ----------------------------------------------------------- */

static void record_sync(struct node *n, const struct disk_job *j)
{
	duration_hist_add(&n->syncs, NODE_SYNC_HIST_BASE_NS, j->sync_ns);
}

/* Every durable write's outcome goes to the health record; a failure is
 * logged through its rate limit (a full disk fails every retry). */
static bool note_failure(struct node *n, enum disk_write_kind kind,
			 const struct disk_job *j, unsigned long long *unlogged)
{
	uint64_t u = 0;
	bool log_now = disk_health_failed(&n->disk_health, kind, -j->result,
					  node_now_ms(), &u);
	*unlogged = u;
	return log_now;
}

static void note_success(struct node *n, enum disk_write_kind kind)
{
	if (disk_health_succeeded(&n->disk_health, kind))
		log_event(LOG_INFO, "disk_write_recovered",
			  "errors=%llu reason=\"writes succeed again\"",
			  (unsigned long long)n->disk_health.errors);
}

const struct disk_health *node_disk_health(const struct node *n)
{
	return &n->disk_health;
}

static void report_failure(struct node *n, struct disk_job *j)
{
	unsigned long long unlogged;
	if (j->seq <= n->fail_reported_upto)
		return; /* the core already dropped this write */
	if (note_failure(n, DISK_WRITE_LOG, j, &unlogged))
		log_event(LOG_ERROR, "disk_write_failed",
			  "seq=%llu errno=%d error=\"%s\" unlogged=%llu "
			  "hint=\"free space in the data dir; repeats "
			  "are logged at most every %d s\"",
			  (unsigned long long)j->seq, -j->result, j->error,
			  unlogged, DISK_HEALTH_LOG_EVERY_MS / 1000);
	n->fail_reported_upto = n->max_seq_issued;
	disk_clear_failure(n->disk);
	struct raft_event ev = { .type = RAFT_EV_PERSIST_FAILED };
	ev.persist_failed.seq = j->seq;
	ev.persist_failed.err = -j->result;
	node_step(n, &ev, NULL);
}

static void hard_state_done(struct node *n, struct disk_job *j)
{
	unsigned long long unlogged;
	n->hs_inflight--;
	if (j->result) {
		if (note_failure(n, DISK_WRITE_HARD_STATE, j, &unlogged))
			log_event(LOG_ERROR, "hard_state_write_failed",
				  "errno=%d error=\"%s\" unlogged=%llu",
				  -j->result, j->error, unlogged);
		release_held(n, false);
		struct raft_event ev = { .type = RAFT_EV_PERSIST_FAILED };
		ev.persist_failed.hard_state = true;
		ev.persist_failed.err = -j->result;
		node_step(n, &ev, NULL);
		return;
	}
	note_success(n, DISK_WRITE_HARD_STATE);
	if (n->hs_inflight == 0)
		release_held(n, true);
}

static void install_done(struct node *n, struct disk_job *j)
{
	const char *why = NULL;
	if (sm_restore(n->sm, j->data, j->len, &why)) {
		/* The leader checksummed it; a snapshot that still does not
		 * load means this node cannot follow the log safely. */
		log_event(LOG_ERROR, "snapshot_restore_failed",
			  "index=%llu reason=\"%s\"",
			  (unsigned long long)j->index, why ? why : "?");
		abort();
	}
	n->last_snapshot = j->index;
	log_event(LOG_INFO, "snapshot_installed", "index=%llu term=%llu",
		  (unsigned long long)j->index, (unsigned long long)j->term);
	struct raft_event ev = { .type = RAFT_EV_PERSISTED };
	ev.persisted.seq = j->seq;
	node_step(n, &ev, NULL);
}

static void put_done(struct node *n, struct disk_job *j)
{
	unsigned long long unlogged;
	n->snapshot_inflight = false;
	if (j->result) {
		if (note_failure(n, DISK_WRITE_SNAPSHOT, j, &unlogged))
			log_event(LOG_WARN, "snapshot_write_failed",
				  "index=%llu errno=%d error=\"%s\" "
				  "unlogged=%llu",
				  (unsigned long long)j->index, -j->result,
				  j->error, unlogged);
		disk_clear_failure(n->disk);
		return;
	}
	note_success(n, DISK_WRITE_SNAPSHOT);
	n->last_snapshot = j->index;
	struct raft_event ev = { .type = RAFT_EV_SNAPSHOT_TAKEN };
	ev.snapshot.index = j->index;
	ev.snapshot.data.base = j->data;
	ev.snapshot.data.len = j->len;
	ev.snapshot.trailing = SNAPSHOT_TRAILING;
	node_step(n, &ev, NULL);
	log_event(LOG_INFO, "snapshot_taken",
		  "index=%llu bytes=%zu encode_ms=%.1f write_ms=%.1f",
		  (unsigned long long)j->index, j->len,
		  n->snapshot_encode_ns / 1e6, j->sync_ns / 1e6);
}

static void on_disk_done(void *arg, struct disk_job *j)
{
	struct node *n = arg;
	record_sync(n, j);
	switch (j->op) {
	case DISK_HARD_STATE:
		hard_state_done(n, j);
		break;
	case DISK_APPEND:
	case DISK_SNAPSHOT_INSTALL:
		if (!j->result)
			note_success(n, DISK_WRITE_LOG);
		if (j->result)
			report_failure(n, j);
		else if (j->op == DISK_SNAPSHOT_INSTALL)
			install_done(n, j);
		else {
			struct raft_event ev = { .type = RAFT_EV_PERSISTED };
			ev.persisted.seq = j->seq;
			node_step(n, &ev, NULL);
		}
		break;
	case DISK_SNAPSHOT_PUT:
		put_done(n, j);
		break;
	}
	disk_job_free(j);
}

/* ---- network and time ------------------------------------------------------------ */

static void on_message(void *arg, const struct raft_message *m)
{
	struct node *n = arg;
	struct raft_event ev = { .type = RAFT_EV_RECEIVE };
	ev.receive.msg = m;
	node_step(n, &ev, NULL);
}

/* A peer's process most likely died: if it led us, the core campaigns
 * soon rather than after a whole election timeout (raft.h). */
static void on_peer_down(void *arg, raft_id id)
{
	struct node *n = arg;
	struct raft_event ev = { .type = RAFT_EV_PEER_DOWN };
	ev.peer_down.id = id;
	node_step(n, &ev, NULL);
}

/* Who may connect with peer TLS: the members of the configuration in
 * force (appended entries included), or of --initial-cluster while the
 * log holds none (a joining witness accepts the leader that adds it). */
static const struct raft_config *peer_members(void *arg)
{
	struct node *n = arg;
	const struct raft_config *c = raft_config_current(n->raft);

	return c->n ? c : &n->opt.initial;
}

static void on_transport_log(void *arg, const char *level, const char *msg)
{
	int l = strcmp(level, "error") == 0  ? LOG_ERROR
		: strcmp(level, "warn") == 0 ? LOG_WARN
					     : LOG_INFO;
	log_event(l, "transport", "msg=\"%s\"", msg);
}

/* A follower whose loop ran late (a burst of client work: thousands of
 * agents reconnecting after a leader change) must read what the leader
 * sent before it judges the leader silent.  libuv runs due timers before
 * it polls, so the heartbeat may be waiting in the kernel while the tick
 * says the election timeout has passed, and an election started for that
 * deposes a live leader.  The tick is skipped then; the poll of this very
 * loop iteration reads those bytes, so skips cannot go on while the
 * leader is silent.  Delaying a tick only ever delays an election. */
static bool leader_input_unread(const struct node *n)
{
	raft_id leader = raft_leader(n->raft);

	return raft_state(n->raft) != RAFT_LEADER && leader &&
	       transport_input_waiting(n->transport, leader);
}

/* A tick far behind its schedule means this loop was busy (or the
 * process not scheduled) that long: heartbeats and answers were late too.
 * Counted, and logged at most every 10 s, so that an election or a slow
 * answer can be traced to it. */
static uint64_t note_tick_pace(struct node *n, uint64_t now)
{
	uint64_t gap = n->last_tick_ms ? now - n->last_tick_ms : 0;
	uint64_t skipped = 0;

	n->last_tick_ms = now;
	if (gap < STALL_LATE_TICK_MS)
		return gap;
	n->late_ticks++;
	if (gap > n->late_max_ms)
		n->late_max_ms = gap;
	if (log_throttle_due(&n->late_log, now, 10000, &skipped))
		log_event(LOG_WARN, "loop_late",
			  "ms=%llu role=%s more_since_last=%llu "
			  "hint=\"this witness did not run for that long "
			  "(CPU starved, or a burst of work): a gap near the "
			  "election timeout costs elections\"",
			  (unsigned long long)gap,
			  raft_state(n->raft) == RAFT_LEADER ? "leader"
							     : "follower",
			  (unsigned long long)skipped);
	return gap;
}

static void on_tick(uv_timer_t *t)
{
	struct node *n = t->data;
	struct raft_event ev = { .type = RAFT_EV_TICK };
	uint64_t now = node_now_ms();
	uint64_t gap = note_tick_pace(n, now);

	if (stall_grace_holds(&n->grace, raft_state(n->raft) == RAFT_LEADER,
			      now, gap) ||
	    leader_input_unread(n)) {
		n->ticks_deferred++;
		return;
	}
	node_step(n, &ev, NULL);
}

/* ---- start-up --------------------------------------------------------------------- */

static int bootstrap(struct node *n, char *err, size_t errlen)
{
	if (!raft_config_get(&n->opt.initial, n->opt.id))
		return 0; /* a joining node starts empty */
	struct raft_entry e;
	if (raft_bootstrap_entry(&n->opt.initial, &e))
		return -ENOMEM;
	int rv = store_append(n->store, 1, &e, 1);
	free(e.data.base);
	if (rv == 0)
		rv = store_set_hard_state(n->store, 1, 0);
	if (rv)
		snprintf(err, errlen, "cannot initialise %s: %s",
			 n->opt.data_dir, store_last_error(n->store));
	else
		log_event(LOG_INFO, "bootstrapped", "name=%s members=%u",
			  n->opt.name, n->opt.initial.n);
	return rv;
}

static int open_raft(struct node *n, char *err, size_t errlen)
{
	struct raft_durable d;
	int rv = store_load(n->store, &d);
	if (rv == 0 && d.n_entries == 0 && d.snap_index == 0) {
		rv = bootstrap(n, err, errlen);
		if (rv == 0)
			rv = store_load(n->store, &d);
	}
	if (rv) {
		if (!*err)
			snprintf(err, errlen, "cannot read %s: %s",
				 n->opt.data_dir, store_last_error(n->store));
		return rv;
	}
	if (d.snap_index) {
		const char *why = NULL;
		if (sm_restore(n->sm, d.snap_data.base, d.snap_data.len,
			       &why)) {
			snprintf(err, errlen,
				 "snapshot %llu in %s does not load (%s): "
				 "restore this witness from a peer by emptying "
				 "its data directory",
				 (unsigned long long)d.snap_index,
				 n->opt.data_dir, why ? why : "invalid");
			return -EINVAL;
		}
		n->last_snapshot = d.snap_index;
	}
	struct raft_options o;
	raft_options_default(&o);
	o.id = n->opt.id;
	o.seed = uv_hrtime() ^ (n->opt.id << 32);
	if (n->opt.election_timeout_ms)
		o.election_timeout = n->opt.election_timeout_ms;
	if (n->opt.heartbeat_ms)
		o.heartbeat_interval = n->opt.heartbeat_ms;
	size_t limit = n->opt.frame_limit ? n->opt.frame_limit : (1 << 20);
	/* Leave room for headers inside one frame. */
	o.max_batch_bytes = limit / 2;
	o.max_entry_bytes = limit / 4;
	o.snapshot_chunk = limit / 4;
	rv = raft_init(&n->raft, &o, &d, node_now_ms());
	if (rv)
		snprintf(err, errlen, "cannot start Raft from %s: %s",
			 n->opt.data_dir, raft_strerror(rv));
	return rv ? -EINVAL : 0;
}

int node_start(uv_loop_t *loop, const struct node_options *o, struct node **out,
	       char *err, size_t errlen)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	err[0] = '\0';
	n->loop = loop;
	n->opt = *o;
	n->sm = sm_new();
	int rv = n->sm ? 0 : -ENOMEM;
	if (rv == 0)
		rv = store_open(o->data_dir, NULL, &n->store, err, errlen);
	if (rv == 0)
		rv = open_raft(n, err, errlen);
	if (rv == 0)
		rv = disk_start(loop, n->store, on_disk_done, n, &n->disk);
	if (rv == 0) {
		struct transport_options t = {
			.self = o->id,
			.listen_addr = o->listen_peer,
			.cluster_id = o->cluster_id,
			.auth_token = o->auth_token,
			.advertise_client = o->advertise_client,
			.frame_limit = o->frame_limit,
			.tls = o->peer_tls,
			.members = peer_members,
			.on_message = on_message,
			.on_peer_down = on_peer_down,
			.log = on_transport_log,
			.arg = n,
		};
		rv = transport_start(loop, &t, &n->transport, err, errlen);
	}
	if (rv) {
		/* Only reached before the loop owns any handle of ours but
		 * the disk worker's: stop it synchronously. */
		if (n->disk)
			disk_stop(n->disk, NULL, NULL);
		raft_close(n->raft);
		if (n->store)
			store_close(n->store);
		sm_free(n->sm);
		free(n);
		return rv;
	}
	/* A joining witness has no configuration yet: it learns one only
	 * from entries it must first acknowledge, and it sends only on
	 * connections it dialled.  Until its log holds a configuration it
	 * dials the members of --initial-cluster, so that its answers to
	 * the leader's first appends reach the leader. */
	const struct raft_config *c = raft_config_current(n->raft);
	transport_set_peers(n->transport, c->n ? c : &n->opt.initial);
	uv_timer_init(loop, &n->tick);
	n->tick.data = n;
	unsigned tick = o->tick_ms ? o->tick_ms : 10;
	uv_timer_start(&n->tick, on_tick, tick, tick);
	*out = n;
	return 0;
}

void node_set_callbacks(struct node *n, node_event_cb on_event,
			node_role_cb on_role, void *arg)
{
	n->on_event = on_event;
	n->on_role = on_role;
	n->cb_arg = arg;
}

/* ---- client work ------------------------------------------------------------------- */

/* Step a proposal or configuration change; when the core accepted it,
 * remember where it landed so the apply can answer it. */
static int step_proposal(struct node *n, struct raft_event *ev,
			 node_propose_cb cb, void *arg)
{
	if (n->stopping)
		return RAFT_ESHUTDOWN;
	if (n->props_head > 0 && n->n_props == n->cap_props) {
		memmove(n->props, n->props + n->props_head,
			(n->n_props - n->props_head) * sizeof(*n->props));
		n->n_props -= n->props_head;
		n->props_head = 0;
	}
	if (!grow((void **)&n->props, &n->cap_props, n->n_props,
		  sizeof(*n->props)))
		return RAFT_ENOMEM;
	struct raft_update up;
	ev->now = node_now_ms();
	int rv = raft_step(n->raft, ev, &up);
	if (rv == 0) {
		if (n->n_props > n->props_head &&
		    n->props[n->n_props - 1].index >= up.proposed_index)
			n->props_unsorted = true;
		struct proposal *p = &n->props[n->n_props++];
		p->index = up.proposed_index;
		p->term = up.proposed_term;
		p->cb = cb;
		p->arg = arg;
	}
	process_update(n, &up);
	return rv;
}

int node_propose(struct node *n, const void *cmd, size_t len,
		 node_propose_cb cb, void *arg)
{
	struct raft_event ev = { .type = RAFT_EV_PROPOSE };
	ev.propose.type = RAFT_ENTRY_NORMAL;
	ev.propose.data.base = (void *)cmd;
	ev.propose.data.len = len;
	return step_proposal(n, &ev, cb, arg);
}

int node_change(struct node *n, int op, raft_id id, const char *addr,
		node_propose_cb cb, void *arg)
{
	struct raft_event ev = { .type = RAFT_EV_CHANGE_CONFIG };
	ev.change.op = (uint8_t)op;
	ev.change.id = id;
	snprintf(ev.change.addr, sizeof(ev.change.addr), "%s",
		 addr ? addr : "");
	return step_proposal(n, &ev, cb, arg);
}

int node_read(struct node *n, node_read_cb cb, void *arg)
{
	if (n->stopping)
		return RAFT_ESHUTDOWN;
	uint64_t id = read_queue_add(&n->reads, cb, arg);
	if (!id)
		return RAFT_ENOMEM;
	struct raft_event ev = { .type = RAFT_EV_READ_INDEX };
	ev.read.id = id;
	int rv;
	node_step(n, &ev, &rv);
	struct pending_read pr;
	if (rv) /* refused: no result will come */
		read_queue_take(&n->reads, id, &pr);
	return rv;
}

int node_transfer(struct node *n, raft_id to)
{
	struct raft_event ev = { .type = RAFT_EV_TRANSFER };
	ev.transfer.to = to;
	int rv;
	node_step(n, &ev, &rv);
	return rv;
}

struct raft *node_raft(struct node *n)
{
	return n->raft;
}

const char *node_client_addr(const struct node *n, raft_id id)
{
	if (id == n->opt.id)
		return n->opt.advertise_client;
	return transport_peer_client_addr(n->transport, id);
}

bool node_peer_stats(const struct node *n, raft_id id,
		     struct transport_peer_stats *out)
{
	return transport_peer_stats(n->transport, id, out);
}

bool node_peer_connected(const struct node *n, raft_id id)
{
	struct transport_peer_stats st;
	if (id == raft_self(n->raft))
		return true;
	return transport_peer_stats(n->transport, id, &st) && st.connected;
}

struct sm *node_sm(struct node *n)
{
	return n->sm;
}

uint64_t node_ticks_deferred(const struct node *n)
{
	return n->ticks_deferred;
}

void node_late_ticks(const struct node *n, uint64_t *count, uint64_t *max_ms)
{
	*count = n->late_ticks;
	*max_ms = n->late_max_ms;
}

const struct duration_hist *node_disk_syncs(const struct node *n)
{
	return &n->syncs;
}

/* ---- shutdown ---------------------------------------------------------------------- */

static void fail_pending(struct node *n)
{
	for (unsigned i = n->props_head; i < n->n_props; i++)
		n->props[i].cb(n->props[i].arg, RAFT_ESHUTDOWN, NULL, 0);
	n->props_head = n->n_props = 0;
	struct pending_read pr;
	while (read_queue_take_any(&n->reads, &pr))
		pr.cb(pr.arg, RAFT_ESHUTDOWN);
}

static void one_closed(void *arg)
{
	struct node *n = arg;
	if (--n->closing)
		return;
	release_held(n, false);
	free(n->held);
	raft_close(n->raft);
	store_close(n->store);
	sm_free(n->sm);
	free(n->props);
	read_queue_free(&n->reads);
	void (*cb)(void *) = n->on_stopped;
	void *cb_arg = n->stopped_arg;
	free(n);
	if (cb)
		cb(cb_arg);
}

static void on_tick_closed(uv_handle_t *h)
{
	one_closed(h->data);
}

void node_stop(struct node *n, void (*on_stopped)(void *arg), void *arg)
{
	n->stopping = true;
	n->on_stopped = on_stopped;
	n->stopped_arg = arg;
	fail_pending(n);
	n->closing = 3;
	uv_timer_stop(&n->tick);
	uv_close((uv_handle_t *)&n->tick, on_tick_closed);
	/* The disk worker finishes what was queued: nothing acknowledged
	 * is lost, and its completions still reach the core. */
	disk_stop(n->disk, one_closed, n);
	transport_close(n->transport, one_closed, n);
}
