/*
 * raftsim_disk.c — the simulated disk: what survives a crash (the durable
 * image) and the writes the core handed out that are not durable yet,
 * with slow fsync and failed writes.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/raftsim.h"

/* ---- disk ----------------------------------------------------------------- */

void disk_faults_clear(struct disk_faults *df)
{
	df->write_fail = 0;
	df->hs_fail = 0;
	df->fsync_min_us = 100;
	df->fsync_max_us = 2000;
}

void disk_log_truncate(struct disk_image *d, raft_index from)
{
	raft_index keep = from <= d->snap_index ? 0 : from - d->snap_index - 1;
	while (d->n > keep)
		free(d->log[--d->n].data.base);
}

void disk_log_append(struct disk_image *d, const struct raft_entry *e)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 256;
		d->log = xrealloc(d->log, d->cap * sizeof(*d->log));
	}
	entry_copy(&d->log[d->n++], e);
}

void disk_free(struct disk_image *d)
{
	disk_log_truncate(d, 0);
	free(d->log);
	free(d->snap_data.base);
	memset(d, 0, sizeof(*d));
}

void disk_write_free(struct disk_write *w)
{
	entries_free(w->entries, w->n);
	free(w->snap_data.base);
}

void disk_pending_free(struct sim_node *n)
{
	for (size_t i = 0; i < n->n_writes; i++)
		disk_write_free(&n->writes[i]);
	n->n_writes = 0;
	n->disk_busy_until = 0;
	n->disk_dropped_tail = false;
}

/* Replace the durable snapshot.  The log after it survives only if the
 * durable entry at its index is the one the snapshot covers: otherwise the
 * durable tail belongs to a branch the node already truncated in memory
 * (the truncating write is still pending) and must not outlive a crash
 * behind a snapshot it does not follow. */
bool disk_set_snapshot(struct disk_image *d, raft_index idx, raft_term term,
		       const struct raft_config *cfg, struct raft_buf data)
{
	bool keep_tail = false;
	bool dropped = d->snap_index + d->n > idx;
	if (idx > d->snap_index && idx <= d->snap_index + d->n)
		keep_tail = d->log[idx - d->snap_index - 1].term == term;
	if (keep_tail) {
		size_t drop = idx - d->snap_index;
		for (size_t i = 0; i < drop; i++)
			free(d->log[i].data.base);
		memmove(d->log, d->log + drop, (d->n - drop) * sizeof(*d->log));
		d->n -= drop;
		dropped = false;
	} else {
		disk_log_truncate(d, 0);
	}
	free(d->snap_data.base);
	d->snap_index = idx;
	d->snap_term = term;
	d->snap_config = *cfg;
	d->snap_data = data;
	return dropped;
}

bool disk_write_hard_state(struct sim *s, struct sim_node *n,
			   const struct raft_update *up)
{
	if (rng_permille(&s->rng, n->df.hs_fail)) {
		s->st.disk_failures++;
		trace(s,
		      "n%" PRIu64 " hard state write FAILED (term %" PRIu64
		      " vote %" PRIu64 "): dropping %u messages",
		      n->id, up->term, up->voted_for, up->n_messages);
		return false;
	}
	if (up->term < n->disk.term)
		violation(s, "durability",
			  "n%" PRIu64 " asked to write term %" PRIu64
			  " over durable term %" PRIu64,
			  n->id, up->term, n->disk.term);
	n->disk.term = up->term;
	n->disk.vote = up->voted_for;
	return true;
}

static struct disk_write *disk_queue(struct sim *s, struct sim_node *n,
				     uint64_t seq)
{
	if (n->n_writes && seq <= n->writes[n->n_writes - 1].seq)
		violation(s, "api",
			  "n%" PRIu64 " write seq %" PRIu64
			  " does not follow %" PRIu64,
			  n->id, seq, n->writes[n->n_writes - 1].seq);
	if (n->n_writes == n->cap_writes) {
		n->cap_writes = n->cap_writes ? n->cap_writes * 2 : 16;
		n->writes = xrealloc(n->writes,
				     n->cap_writes * sizeof(*n->writes));
	}
	struct disk_write *w = &n->writes[n->n_writes++];
	memset(w, 0, sizeof(*w));
	w->seq = seq;
	w->fail = rng_permille(&s->rng, n->df.write_fail);
	uint64_t start = n->disk_busy_until > s->now ? n->disk_busy_until
						     : s->now;
	uint64_t done = start + rng_between(&s->rng, n->df.fsync_min_us,
					    n->df.fsync_max_us);
	n->disk_busy_until = done;
	struct sim_event ev = { .at = done,
				.kind = EV_DISK,
				.node = (unsigned)n->id,
				.inc = n->inc,
				.arg = seq };
	queue_push(&s->q, ev);
	return w;
}

void disk_queue_log_write(struct sim *s, struct sim_node *n,
			  const struct raft_update *up)
{
	struct disk_write *w = disk_queue(s, n, up->persist.seq);
	w->first = up->persist.first;
	w->prev_term = raft_term_at(n->raft, w->first - 1);
	w->n = up->persist.n_entries;
	w->entries = xrealloc(NULL, (w->n ? w->n : 1) * sizeof(*w->entries));
	for (unsigned i = 0; i < w->n; i++)
		entry_copy(&w->entries[i], &up->persist.entries[i]);
	trace(s,
	      "n%" PRIu64 " write seq %" PRIu64 ": from %" PRIu64
	      ", %u entries%s",
	      n->id, w->seq, w->first, w->n, w->fail ? " (will fail)" : "");
}

void disk_queue_snapshot(struct sim *s, struct sim_node *n,
			 const struct raft_update *up)
{
	struct disk_write *w = disk_queue(s, n, up->snapshot.seq);
	w->snapshot = true;
	w->snap_index = up->snapshot.index;
	w->snap_term = up->snapshot.term;
	w->snap_config = up->snapshot.config;
	w->snap_data.base = xmemdup(up->snapshot.data.base,
				    up->snapshot.data.len);
	w->snap_data.len = up->snapshot.data.len;
}

/* Term the write gives to index i (its predecessor included), 0 if it
 * does not cover i. */
static raft_term write_term_at(const struct disk_write *w, raft_index i)
{
	if (i + 1 == w->first)
		return w->prev_term;
	if (i >= w->first && i < w->first + w->n)
		return w->entries[i - w->first].term;
	return 0;
}

/* A write queued before the application saved a snapshot may carry
 * entries of a branch the snapshot does not follow (the write truncating
 * them is still behind it in the queue).  They must not land after the
 * snapshot: the durable log would then hold a sequence no log ever had. */
static bool write_follows_durable(struct sim *s, struct sim_node *n,
				  const struct disk_write *w)
{
	const struct disk_image *d = &n->disk;
	if (!w->n || w->first + w->n - 1 <= d->snap_index)
		return true;
	if (w->first <= d->snap_index + 1) {
		raft_term t = write_term_at(w, d->snap_index);
		if (t && d->snap_index && t != d->snap_term) {
			trace(s,
			      "n%" PRIu64 " write seq %" PRIu64
			      " is from a branch its snapshot %" PRIu64
			      " does not follow: entries dropped",
			      n->id, w->seq, d->snap_index);
			n->disk_dropped_tail = true;
			return false;
		}
		return true;
	}
	raft_index prev = w->first - 1;
	if (prev <= d->snap_index + d->n && w->prev_term &&
	    d->log[prev - d->snap_index - 1].term != w->prev_term)
		violation(s, "durability",
			  "n%" PRIu64 " write seq %" PRIu64 " appends after "
			  "%" PRIu64 "/%" PRIu64 " but the durable entry there "
			  "has term %" PRIu64,
			  n->id, w->seq, prev, w->prev_term,
			  d->log[prev - d->snap_index - 1].term);
	return true;
}

/* Apply a completed log write to the durable image: discard entries >=
 * first, then append (entries a local snapshot already covers are skipped). */
void disk_apply_log_write(struct sim *s, struct sim_node *n,
			  const struct disk_write *w)
{
	struct disk_image *d = &n->disk;
	raft_index last = d->snap_index + d->n;
	if (w->n && w->first > last + 1 && n->disk_dropped_tail) {
		trace(s,
		      "n%" PRIu64 " write seq %" PRIu64 " follows dropped "
		      "stale entries: dropped too",
		      n->id, w->seq);
		return;
	}
	if (w->n && w->first > last + 1 && w->first > d->snap_index + 1) {
		violation(s, "durability",
			  "n%" PRIu64 " write %" PRIu64 " starts at %" PRIu64
			  " but the durable log ends at %" PRIu64,
			  n->id, w->seq, w->first, last);
		return;
	}
	disk_log_truncate(d, w->first);
	if (!write_follows_durable(s, n, w))
		return;
	n->disk_dropped_tail = false;
	for (unsigned i = 0; i < w->n; i++) {
		const struct raft_entry *e = &w->entries[i];
		if (e->index <= d->snap_index)
			continue;
		if (e->index != d->snap_index + d->n + 1) {
			violation(s, "durability",
				  "n%" PRIu64 " write %" PRIu64
				  " would leave a hole before %" PRIu64,
				  n->id, w->seq, e->index);
			return;
		}
		disk_log_append(d, e);
	}
}
