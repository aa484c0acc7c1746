/*
 * raft_fixture.c — see raft_fixture.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/raft_fixture.h"

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		perror("fixture");
		abort();
	}
	return p;
}

static struct raft_entry *copy_entries(const struct raft_entry *e, unsigned n)
{
	struct raft_entry *c = xmalloc(n * sizeof(*c));
	for (unsigned i = 0; i < n; i++) {
		c[i] = e[i];
		c[i].data.base = xmalloc(e[i].data.len);
		if (e[i].data.len)
			memcpy(c[i].data.base, e[i].data.base, e[i].data.len);
	}
	return c;
}

static void free_entries(struct raft_entry *e, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(e[i].data.base);
	free(e);
}

struct fx_node *fx_node(struct fixture *f, raft_id id)
{
	if (id == 0 || id > FX_MAX_NODES) {
		fprintf(stderr, "fixture: bad node id %llu\n",
			(unsigned long long)id);
		abort();
	}
	return &f->nodes[id - 1];
}

struct raft *fx_raft(struct fixture *f, raft_id id)
{
	return fx_node(f, id)->r;
}

static void start_node(struct fixture *f, struct fx_node *nd)
{
	struct raft_options o = f->opt;
	o.id = nd->id;
	o.seed = nd->id * 7919 + nd->now;
	struct raft_durable d = {
		.term = nd->d_term,
		.voted_for = nd->d_vote,
		.snap_index = nd->d_snap_index,
		.snap_term = nd->d_snap_term,
		.snap_config = nd->d_snap_config,
		.snap_data = nd->d_snap_data,
		.n_entries = nd->d_n,
		.entries = nd->d_log,
	};
	int rv = raft_init(&nd->r, &o, &d, nd->now);
	if (rv) {
		fprintf(stderr, "fixture: raft_init: %s\n", raft_strerror(rv));
		abort();
	}
	nd->up = true;
	nd->applied = nd->d_snap_index;
}

void fx_init(struct fixture *f, unsigned n_voters)
{
	struct raft_options opt;
	raft_options_default(&opt);
	opt.election_timeout = 100;
	opt.heartbeat_interval = 10;
	fx_init_opts(f, n_voters, &opt);
}

void fx_init_opts(struct fixture *f, unsigned n_voters,
		  const struct raft_options *opt)
{
	memset(f, 0, sizeof(*f));
	f->n = FX_MAX_NODES;
	f->queue = xmalloc(FX_MAX_MSGS * sizeof(*f->queue));
	f->opt = *opt;
	struct raft_config c = { 0 };
	for (unsigned i = 0; i < n_voters; i++) {
		c.servers[i].id = i + 1;
		c.servers[i].role = RAFT_VOTER;
		snprintf(c.servers[i].addr, RAFT_ADDR_MAX, "node%u", i + 1);
	}
	c.n = n_voters;
	for (unsigned i = 0; i < FX_MAX_NODES; i++)
		f->nodes[i].id = i + 1;
	for (unsigned i = 0; i < n_voters; i++) {
		struct fx_node *nd = &f->nodes[i];
		struct raft_entry e;
		raft_bootstrap_entry(&c, &e);
		nd->d_log = copy_entries(&e, 1);
		free(e.data.base);
		nd->d_n = 1;
		nd->d_term = 1;
		start_node(f, nd);
	}
}

static void free_write(struct fx_write *w)
{
	free_entries(w->entries, w->n);
	free(w->snap_data.base);
}

static void drop_runtime(struct fx_node *nd)
{
	raft_close(nd->r);
	nd->r = NULL;
	nd->up = false;
	for (unsigned i = 0; i < nd->n_writes; i++)
		free_write(&nd->writes[i]);
	free(nd->writes);
	nd->writes = NULL;
	nd->n_writes = 0;
}

static void free_msg(struct fx_msg *m)
{
	if (m->entries)
		free_entries(m->entries, m->m.append.n_entries);
	free(m->chunk);
}

void fx_close(struct fixture *f)
{
	for (unsigned i = 0; i < FX_MAX_NODES; i++) {
		struct fx_node *nd = &f->nodes[i];
		drop_runtime(nd);
		free_entries(nd->d_log, nd->d_n);
		free(nd->d_snap_data.base);
	}
	for (unsigned i = 0; i < f->n_queue; i++)
		free_msg(&f->queue[i]);
	free(f->queue);
}

/* ---- durable image ------------------------------------------------------ */

static void image_write(struct fx_node *nd, const struct fx_write *w)
{
	if (w->snapshot) {
		free_entries(nd->d_log, nd->d_n);
		nd->d_log = NULL;
		nd->d_n = 0;
		nd->d_snap_index = w->snap_index;
		nd->d_snap_term = w->snap_term;
		nd->d_snap_config = w->snap_config;
		free(nd->d_snap_data.base);
		nd->d_snap_data.base = xmalloc(w->snap_data.len);
		memcpy(nd->d_snap_data.base, w->snap_data.base,
		       w->snap_data.len);
		nd->d_snap_data.len = w->snap_data.len;
		return;
	}
	unsigned keep = (unsigned)(w->first - 1 - nd->d_snap_index);
	if (keep > nd->d_n)
		abort(); /* the core asked for a gap in the log */
	for (unsigned i = keep; i < nd->d_n; i++)
		free(nd->d_log[i].data.base);
	nd->d_n = keep;
	struct raft_entry *c = copy_entries(w->entries, w->n);
	nd->d_log = realloc(nd->d_log, (keep + w->n + 1) * sizeof(*c));
	memcpy(nd->d_log + keep, c, w->n * sizeof(*c));
	free(c);
	nd->d_n = keep + w->n;
}

static void queue_write(struct fx_node *nd, struct fx_write *w)
{
	nd->writes = realloc(nd->writes, (nd->n_writes + 1) * sizeof(*w));
	nd->writes[nd->n_writes++] = *w;
}

static void process_update(struct fixture *f, struct fx_node *nd,
			   struct raft_update *up);

void fx_persist(struct fixture *f, raft_id id, unsigned n)
{
	struct fx_node *nd = fx_node(f, id);
	if (n == 0)
		n = nd->n_writes;
	while (n-- && nd->up && nd->n_writes) {
		struct fx_write w = nd->writes[0];
		memmove(nd->writes, nd->writes + 1,
			(nd->n_writes - 1) * sizeof(w));
		nd->n_writes--;
		image_write(nd, &w);
		free_write(&w);
		struct raft_event ev = { .type = RAFT_EV_PERSISTED,
					 .now = nd->now };
		ev.persisted.seq = w.seq;
		fx_step(f, id, &ev);
	}
}

bool fx_fail_write(struct fixture *f, raft_id id, int err)
{
	struct fx_node *nd = fx_node(f, id);
	if (!nd->up || nd->n_writes == 0)
		return false;
	uint64_t first = nd->writes[0].seq;
	for (unsigned i = 0; i < nd->n_writes; i++)
		free_write(&nd->writes[i]);
	nd->n_writes = 0;
	struct raft_event ev = { .type = RAFT_EV_PERSIST_FAILED,
				 .now = nd->now };
	ev.persist_failed.seq = first;
	ev.persist_failed.err = err;
	fx_step(f, id, &ev);
	return true;
}

/* ---- update processing --------------------------------------------------- */

static void enqueue_msg(struct fixture *f, const struct raft_message *m)
{
	if (f->n_queue == FX_MAX_MSGS)
		return; /* a full network drops: Raft copes */
	struct fx_msg *q = &f->queue[f->n_queue++];
	memset(q, 0, sizeof(*q));
	q->m = *m;
	if (m->type == RAFT_MSG_APPEND && m->append.n_entries) {
		q->entries = copy_entries(m->append.entries,
					  m->append.n_entries);
		q->m.append.entries = q->entries;
	}
	if (m->type == RAFT_MSG_SNAPSHOT) {
		q->chunk = xmalloc(m->snapshot.chunk.len);
		if (m->snapshot.chunk.len)
			memcpy(q->chunk, m->snapshot.chunk.base,
			       m->snapshot.chunk.len);
		q->m.snapshot.chunk.base = q->chunk;
	}
}

static void apply_entries(struct fx_node *nd, struct raft_update *up)
{
	for (unsigned i = 0; i < up->n_apply; i++) {
		const struct raft_entry *e = &up->apply[i];
		if (e->index != nd->applied + 1)
			abort(); /* applied out of order */
		nd->applied = e->index;
		if (e->type == RAFT_ENTRY_NORMAL)
			nd->n_applied_normal++;
	}
	for (unsigned i = 0; i < up->n_reads && nd->n_reads < 64; i++) {
		nd->read_ids[nd->n_reads] = up->reads[i].id;
		nd->read_index[nd->n_reads] = up->reads[i].index;
		nd->read_status[nd->n_reads] = up->reads[i].status;
		nd->n_reads++;
	}
}

static void process_update(struct fixture *f, struct fx_node *nd,
			   struct raft_update *up)
{
	if (up->hard_state_changed) {
		nd->d_term = up->term;
		nd->d_vote = up->voted_for;
	}
	unsigned n_done = 0;
	if (up->snapshot.present) {
		struct fx_write w = { .seq = up->snapshot.seq,
				      .snapshot = true };
		w.snap_index = up->snapshot.index;
		w.snap_term = up->snapshot.term;
		w.snap_config = up->snapshot.config;
		w.snap_data.base = xmalloc(up->snapshot.data.len);
		memcpy(w.snap_data.base, up->snapshot.data.base,
		       up->snapshot.data.len);
		w.snap_data.len = up->snapshot.data.len;
		nd->applied = up->snapshot.index;
		queue_write(nd, &w);
		n_done++;
	}
	if (up->persist.seq) {
		struct fx_write w = { .seq = up->persist.seq };
		w.first = up->persist.first;
		w.n = up->persist.n_entries;
		w.entries = copy_entries(up->persist.entries, w.n);
		queue_write(nd, &w);
		n_done++;
	}
	for (unsigned i = 0; i < up->n_messages; i++)
		enqueue_msg(f, &up->messages[i]);
	apply_entries(nd, up);
	if (!nd->manual_persist && n_done)
		fx_persist(f, nd->id, 0);
}

int fx_step(struct fixture *f, raft_id id, struct raft_event *ev)
{
	struct fx_node *nd = fx_node(f, id);
	if (!nd->up)
		return RAFT_ESHUTDOWN;
	if (ev->now < nd->now)
		ev->now = nd->now;
	struct raft_update up;
	int rv = raft_step(nd->r, ev, &up);
	if (f->on_update)
		f->on_update(f, id, ev, &up);
	if (ev->type == RAFT_EV_PROPOSE || ev->type == RAFT_EV_CHANGE_CONFIG) {
		nd->proposed_index = up.proposed_index;
		nd->proposed_term = up.proposed_term;
	}
	process_update(f, nd, &up);
	return rv;
}

void fx_tick(struct fixture *f, raft_id id, uint64_t ms)
{
	struct fx_node *nd = fx_node(f, id);
	if (!nd->up)
		return;
	nd->now += ms;
	struct raft_event ev = { .type = RAFT_EV_TICK, .now = nd->now };
	fx_step(f, id, &ev);
}

static bool matches(const struct fx_msg *q, raft_id from, raft_id to, int type)
{
	return (!from || q->m.from == from) && (!to || q->m.to == to) &&
	       (!type || q->m.type == type);
}

static void deliver_at(struct fixture *f, unsigned i)
{
	struct fx_msg q = f->queue[i];
	memmove(f->queue + i, f->queue + i + 1,
		(f->n_queue - i - 1) * sizeof(q));
	f->n_queue--;
	struct fx_node *to = q.m.to <= FX_MAX_NODES ? fx_node(f, q.m.to) : NULL;
	if (to && to->up && !f->cut[q.m.from][q.m.to]) {
		struct raft_event ev = { .type = RAFT_EV_RECEIVE,
					 .now = to->now };
		ev.receive.msg = &q.m;
		fx_step(f, to->id, &ev);
	}
	free_msg(&q);
}

unsigned fx_deliver(struct fixture *f, unsigned max)
{
	unsigned n = 0;
	while (f->n_queue && n < max) {
		deliver_at(f, 0);
		n++;
	}
	return n;
}

bool fx_deliver_one(struct fixture *f, raft_id from, raft_id to, int type)
{
	for (unsigned i = 0; i < f->n_queue; i++) {
		if (matches(&f->queue[i], from, to, type)) {
			deliver_at(f, i);
			return true;
		}
	}
	return false;
}

void fx_drop_all(struct fixture *f)
{
	for (unsigned i = 0; i < f->n_queue; i++)
		free_msg(&f->queue[i]);
	f->n_queue = 0;
}

unsigned fx_count(struct fixture *f, raft_id from, raft_id to, int type)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->n_queue; i++)
		n += matches(&f->queue[i], from, to, type);
	return n;
}

const struct raft_message *fx_peek(struct fixture *f, raft_id from, raft_id to,
				   int type)
{
	for (unsigned i = 0; i < f->n_queue; i++)
		if (matches(&f->queue[i], from, to, type))
			return &f->queue[i].m;
	return NULL;
}

void fx_cut(struct fixture *f, raft_id a, raft_id b, bool cut)
{
	f->cut[a][b] = f->cut[b][a] = cut;
}

void fx_isolate(struct fixture *f, raft_id id, bool isolated)
{
	for (raft_id o = 1; o <= FX_MAX_NODES; o++)
		if (o != id)
			fx_cut(f, id, o, isolated);
}

void fx_run(struct fixture *f, uint64_t ms, uint64_t step)
{
	for (uint64_t t = 0; t < ms; t += step) {
		for (raft_id id = 1; id <= FX_MAX_NODES; id++)
			fx_tick(f, id, step);
		fx_deliver(f, 100000);
	}
}

void fx_elect(struct fixture *f, raft_id id)
{
	/* Past the longest randomized timeout (2x), and nobody else ticks. */
	fx_tick(f, id, 2 * (uint64_t)f->opt.election_timeout + 1);
	fx_deliver(f, 100000);
}

int fx_propose(struct fixture *f, raft_id id, const char *text)
{
	struct fx_node *nd = fx_node(f, id);
	struct raft_event ev = { .type = RAFT_EV_PROPOSE, .now = nd->now };
	ev.propose.type = RAFT_ENTRY_NORMAL;
	ev.propose.data.base = (void *)text;
	ev.propose.data.len = strlen(text);
	return fx_step(f, id, &ev);
}

void fx_crash(struct fixture *f, raft_id id)
{
	drop_runtime(fx_node(f, id));
}

void fx_restart(struct fixture *f, raft_id id)
{
	struct fx_node *nd = fx_node(f, id);
	if (nd->up)
		drop_runtime(nd);
	nd->n_applied_normal = 0;
	start_node(f, nd);
}

void fx_start_empty(struct fixture *f, raft_id id)
{
	struct fx_node *nd = fx_node(f, id);
	start_node(f, nd);
}
