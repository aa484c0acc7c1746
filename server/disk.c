/*
 * disk.c — see disk.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/disk.h"

struct disk {
	uv_loop_t *loop;
	struct store *store;
	uv_async_t async;
	uv_thread_t thread;
	uv_mutex_t lock;
	uv_cond_t cond;
	/* under lock */
	struct disk_job *todo_head, *todo_tail;
	struct disk_job *done_head, *done_tail;
	bool stopping;
	bool log_failed;
	int fail_err;
	char fail_msg[256];
	/* loop thread only */
	unsigned pending;
	void (*on_done)(void *arg, struct disk_job *j);
	void *arg;
	void (*on_closed)(void *arg);
	void *closed_arg;
};

/* ---- jobs ----------------------------------------------------------------- */

static struct raft_entry *copy_entries(const struct raft_entry *e, unsigned n)
{
	struct raft_entry *c = calloc(n ? n : 1, sizeof(*c));
	if (!c)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		c[i] = e[i];
		c[i].data.base = NULL;
		if (!e[i].data.len)
			continue;
		c[i].data.base = malloc(e[i].data.len);
		if (!c[i].data.base) {
			for (unsigned k = 0; k < i; k++)
				free(c[k].data.base);
			free(c);
			return NULL;
		}
		memcpy(c[i].data.base, e[i].data.base, e[i].data.len);
	}
	return c;
}

struct disk_job *disk_job_hard_state(raft_term term, raft_id vote)
{
	struct disk_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->op = DISK_HARD_STATE;
	j->term = term;
	j->voted_for = vote;
	return j;
}

struct disk_job *disk_job_append(uint64_t seq, raft_index first,
				 const struct raft_entry *e, unsigned n)
{
	struct disk_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->op = DISK_APPEND;
	j->seq = seq;
	j->first = first;
	j->n_entries = n;
	j->entries = copy_entries(e, n);
	if (!j->entries) {
		free(j);
		return NULL;
	}
	return j;
}

struct disk_job *disk_job_snapshot(int op, uint64_t seq, raft_index index,
				   raft_term term, const struct raft_config *c,
				   const void *data, size_t len,
				   raft_index trailing)
{
	struct disk_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->op = op;
	j->seq = seq;
	j->index = index;
	j->term = term;
	j->config = *c;
	j->trailing = trailing;
	j->len = len;
	j->data = malloc(len ? len : 1);
	if (!j->data) {
		free(j);
		return NULL;
	}
	if (len)
		memcpy(j->data, data, len);
	return j;
}

void disk_job_free(struct disk_job *j)
{
	if (!j)
		return;
	for (unsigned i = 0; i < j->n_entries; i++)
		free(j->entries[i].data.base);
	free(j->entries);
	free(j->data);
	free(j);
}

/* ---- the worker ------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	return uv_hrtime();
}

static void job_failed(struct disk *d, struct disk_job *j, int err)
{
	j->result = err;
	snprintf(j->error, sizeof(j->error), "%s", store_last_error(d->store));
}

/* A run of appends each starting inside or right after the previous one
 * becomes one store_append: the later ones overwrite the tails they
 * replace, exactly as if run one by one, for one fsync. */
static struct disk_job *merge_run(struct disk_job *j, struct raft_entry **out,
				  unsigned *n_out)
{
	unsigned total = 0;
	struct disk_job *end = j;
	raft_index first = j->first;
	for (struct disk_job *k = j; k && k->op == DISK_APPEND; k = k->next) {
		if (k != j && (k->first < first || k->first > first + total))
			break;
		if (k != j)
			total = (unsigned)(k->first - first);
		total += k->n_entries;
		end = k->next;
	}
	struct raft_entry *merged = malloc((total ? total : 1) *
					   sizeof(*merged));
	if (!merged) {
		*out = NULL;
		return j->next; /* run j alone */
	}
	unsigned n = 0;
	for (struct disk_job *k = j; k != end; k = k->next) {
		n = (unsigned)(k->first - first);
		memcpy(merged + n, k->entries, k->n_entries * sizeof(*merged));
		n += k->n_entries;
	}
	*out = merged;
	*n_out = n;
	return end;
}

static void run_appends(struct disk *d, struct disk_job *j,
			struct disk_job *end, struct raft_entry *merged,
			unsigned n)
{
	uint64_t t0 = now_ns();
	int rv = merged ? store_append(d->store, j->first, merged, n)
			: store_append(d->store, j->first, j->entries,
				       j->n_entries);
	uint64_t dt = now_ns() - t0;
	for (struct disk_job *k = j; k != end; k = k->next) {
		k->started_ns = t0;
		k->sync_ns = dt;
		if (rv)
			job_failed(d, k, rv);
	}
	if (rv) {
		uv_mutex_lock(&d->lock);
		d->log_failed = true;
		d->fail_err = rv;
		uv_mutex_unlock(&d->lock);
	}
}

static int run_one(struct disk *d, struct disk_job *j)
{
	switch (j->op) {
	case DISK_HARD_STATE:
		return store_set_hard_state(d->store, j->term, j->voted_for);
	case DISK_SNAPSHOT_INSTALL:
		return store_snapshot_install(d->store, j->index, j->term,
					      &j->config, j->data, j->len);
	case DISK_SNAPSHOT_PUT:
		return store_snapshot_put(d->store, j->index, j->term,
					  &j->config, j->data, j->len,
					  j->trailing);
	}
	return -EINVAL;
}

static bool log_failed(struct disk *d, int *err)
{
	uv_mutex_lock(&d->lock);
	bool failed = d->log_failed;
	*err = d->fail_err;
	uv_mutex_unlock(&d->lock);
	return failed;
}

static void run_batch(struct disk *d, struct disk_job *j)
{
	while (j) {
		int err;
		if (j->op != DISK_HARD_STATE && log_failed(d, &err)) {
			j->result = err;
			snprintf(j->error, sizeof(j->error),
				 "not written: an earlier log write failed");
			j = j->next;
			continue;
		}
		if (j->op == DISK_APPEND) {
			struct raft_entry *merged;
			unsigned n = 0;
			struct disk_job *end = merge_run(j, &merged, &n);
			run_appends(d, j, end, merged, n);
			free(merged);
			j = end;
			continue;
		}
		uint64_t t0 = now_ns();
		int rv = run_one(d, j);
		j->started_ns = t0;
		j->sync_ns = now_ns() - t0;
		if (rv) {
			job_failed(d, j, rv);
			if (j->op != DISK_HARD_STATE) {
				uv_mutex_lock(&d->lock);
				d->log_failed = true;
				d->fail_err = rv;
				uv_mutex_unlock(&d->lock);
			}
		}
		j = j->next;
	}
}

static void worker(void *arg)
{
	struct disk *d = arg;
	uv_mutex_lock(&d->lock);
	for (;;) {
		while (!d->todo_head && !d->stopping)
			uv_cond_wait(&d->cond, &d->lock);
		struct disk_job *batch = d->todo_head, *tail = d->todo_tail;
		if (!batch)
			break; /* stopping and drained */
		d->todo_head = d->todo_tail = NULL;
		uv_mutex_unlock(&d->lock);
		run_batch(d, batch);
		uv_mutex_lock(&d->lock);
		if (d->done_tail)
			d->done_tail->next = batch;
		else
			d->done_head = batch;
		d->done_tail = tail;
		uv_mutex_unlock(&d->lock);
		uv_async_send(&d->async);
		uv_mutex_lock(&d->lock);
	}
	uv_mutex_unlock(&d->lock);
}

/* ---- loop side -------------------------------------------------------------- */

static void deliver_done(struct disk *d)
{
	uv_mutex_lock(&d->lock);
	struct disk_job *j = d->done_head;
	d->done_head = d->done_tail = NULL;
	uv_mutex_unlock(&d->lock);
	while (j) {
		struct disk_job *next = j->next;
		j->next = NULL;
		d->pending--;
		d->on_done(d->arg, j);
		j = next;
	}
}

static void on_async(uv_async_t *a)
{
	deliver_done(a->data);
}

int disk_start(uv_loop_t *loop, struct store *store,
	       void (*on_done)(void *arg, struct disk_job *j), void *arg,
	       struct disk **out)
{
	struct disk *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->loop = loop;
	d->store = store;
	d->on_done = on_done;
	d->arg = arg;
	int rv = uv_mutex_init(&d->lock);
	if (rv)
		goto err_free;
	rv = uv_cond_init(&d->cond);
	if (rv)
		goto err_mutex;
	rv = uv_async_init(loop, &d->async, on_async);
	if (rv)
		goto err_cond;
	d->async.data = d;
	rv = uv_thread_create(&d->thread, worker, d);
	if (rv)
		goto err_async;
	*out = d;
	return 0;
err_async:
	uv_close((uv_handle_t *)&d->async, NULL);
	uv_run(loop, UV_RUN_NOWAIT); /* let the close finish before free */
err_cond:
	uv_cond_destroy(&d->cond);
err_mutex:
	uv_mutex_destroy(&d->lock);
err_free:
	free(d);
	return rv;
}

void disk_submit(struct disk *d, struct disk_job *j)
{
	if (!j)
		return;
	j->next = NULL;
	d->pending++;
	uv_mutex_lock(&d->lock);
	if (d->todo_tail)
		d->todo_tail->next = j;
	else
		d->todo_head = j;
	d->todo_tail = j;
	uv_cond_signal(&d->cond);
	uv_mutex_unlock(&d->lock);
}

void disk_clear_failure(struct disk *d)
{
	uv_mutex_lock(&d->lock);
	d->log_failed = false;
	d->fail_err = 0;
	uv_mutex_unlock(&d->lock);
}

unsigned disk_pending(const struct disk *d)
{
	return d->pending;
}

static void on_async_closed(uv_handle_t *h)
{
	struct disk *d = h->data;
	void (*cb)(void *) = d->on_closed;
	void *arg = d->closed_arg;
	uv_cond_destroy(&d->cond);
	uv_mutex_destroy(&d->lock);
	free(d);
	if (cb)
		cb(arg);
}

void disk_stop(struct disk *d, void (*on_closed)(void *arg), void *arg)
{
	uv_mutex_lock(&d->lock);
	d->stopping = true;
	uv_cond_signal(&d->cond);
	uv_mutex_unlock(&d->lock);
	uv_thread_join(&d->thread); /* runs what was queued */
	deliver_done(d);
	d->on_closed = on_closed;
	d->closed_arg = arg;
	uv_close((uv_handle_t *)&d->async, on_async_closed);
}
