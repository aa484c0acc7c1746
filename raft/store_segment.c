/*
 * store_segment.c — the log while the node runs: appending batches to the
 * open segment, closing it when full, compaction.
 *
 * Every store_append is one pwrite of one batch into pre-allocated space
 * at the end of the open segment, and one fdatasync.  Discarding entries
 * >= X (a follower whose log diverged from the leader's) is the same
 * write: the batch starts at X, and replay lets it supersede the older
 * entries wherever they are (store_int.h).  Old data is never changed, so
 * a crash at any point shows either the old log or the new one, and
 * entries below X are never at risk.  Closed segments left without a live
 * entry are removed afterwards; one that comes back after a crash is
 * still superseded and recovery removes it again.
 *
 * If the write or the sync fails, the file is cut back to where the batch
 * started (ftruncate also drops whatever part of it reached the page
 * cache) and that cut is synced: the log is exactly what it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "raft/store_int.h"

/* ---- bookkeeping ------------------------------------------------------------ */

int seg_closed_push(struct store *s, const struct seg_closed *c)
{
	if (s->n_closed == s->cap_closed) {
		unsigned cap = s->cap_closed ? 2 * s->cap_closed : 16;
		struct seg_closed *v = realloc(s->closed, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		s->closed = v;
		s->cap_closed = cap;
	}
	s->closed[s->n_closed++] = *c;
	return 0;
}

int seg_batch_push(struct seg_batches *v, const struct seg_batch *b)
{
	if (v->n == v->cap) {
		unsigned cap = v->cap ? 2 * v->cap : 64;
		struct seg_batch *nb = realloc(v->b, cap * sizeof(*nb));

		if (nb == NULL)
			return -ENOMEM;
		v->b = nb;
		v->cap = cap;
	}
	v->b[v->n++] = *b;
	return 0;
}

void seg_closed_name(char *name, raft_index first, raft_index last)
{
	snprintf(name, STORE_NAME_MAX, "%016llu-%016llu",
		 (unsigned long long)first, (unsigned long long)last);
}

void seg_open_reset(struct store *s)
{
	struct seg_open *o = &s->open;

	if (o->fd >= 0)
		close(o->fd);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
}

static int wbuf_reserve(struct store *s, uint64_t len)
{
	unsigned char *p;

	if (len <= s->wcap)
		return 0;
	if (len > SIZE_MAX / 2)
		return -ENOMEM;
	p = realloc(s->wbuf, (size_t)len);
	if (p == NULL)
		return -ENOMEM;
	s->wbuf = p;
	s->wcap = (size_t)len;
	return 0;
}

/* ---- the open segment -------------------------------------------------------- */

static uint64_t seg_target(const struct store *s, uint64_t need)
{
	return need > s->opt.segment_size ? pad8(need) : s->opt.segment_size;
}

static int open_create(struct store *s, uint64_t need)
{
	struct seg_open *o = &s->open;
	unsigned char hdr[SEG_HDR];
	uint64_t size = seg_target(s, SEG_HDR + need);
	uint64_t counter = s->next_counter;
	uint64_t nonce;
	int rc = io_random_u64(&nonce);
	int fd;

	if (rc < 0) {
		store_set_error(s, "no random bytes for a segment nonce");
		return rc;
	}
	snprintf(o->name, sizeof(o->name), "open-%llu",
		 (unsigned long long)counter);
	/* The counter is used up even if creation fails, so a leftover file
	 * never blocks the next attempt. */
	s->next_counter++;
	rc = io_open(s, o->name, O_RDWR | O_CREAT | O_EXCL, &fd);
	if (rc < 0)
		return rc;
	seg_header_encode(hdr, counter, nonce);
	rc = io_fallocate(s, fd, o->name, size);
	if (rc == 0)
		rc = io_pwrite(s, fd, o->name, hdr, SEG_HDR, 0);
	/* The file must exist after a crash before anything in it counts;
	 * this also makes the rename of the previous segment durable. */
	if (rc == 0)
		rc = io_sync_dir(s);
	if (rc < 0) {
		close(fd);
		unlinkat(s->dirfd, o->name, 0);
		return rc;
	}
	o->fd = fd;
	o->counter = counter;
	o->nonce = nonce;
	o->used = SEG_HDR;
	o->alloc = size;
	o->nb = 0;
	o->first = o->last = 0;
	return 0;
}

/* The full open segment becomes <first>-<last>.  Its data is durable
 * already; until the directory sync that creates the next segment makes
 * the rename durable, replay finds it as open-N, which reads the same. */
static int open_close(struct store *s)
{
	struct seg_open *o = &s->open;
	struct seg_closed c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.counter = o->counter;
	c.first = o->first;
	c.last = o->last;
	seg_closed_name(c.name, o->first, o->last);
	/* Room first: after the rename there is no way back. */
	rc = seg_closed_push(s, &c);
	if (rc < 0)
		return rc;
	s->n_closed--;
	/* Trailing zeros are valid in a closed segment, so this cut needs
	 * no sync and its failure only wastes space. */
	if (io_ftruncate(s, o->fd, o->name, o->used) < 0)
		store_log(s, STORE_LOG_WARNING, "%s", s->err);
	rc = io_rename(s, o->name, c.name);
	if (rc < 0)
		return rc;
	s->n_closed++;
	seg_open_reset(s);
	return 0;
}

/* Makes room for a batch of len bytes at open.used. */
static int open_ensure(struct store *s, uint64_t len)
{
	struct seg_open *o = &s->open;
	uint64_t cap = o->alloc > s->opt.segment_size ? o->alloc
						      : s->opt.segment_size;
	int rc;

	/* A segment is closed only while it holds live entries: one whose
	 * batches were all discarded may still carry the discard itself
	 * (a batch of no entries), which must stay in the newest segment
	 * until a later batch repeats it. */
	if (o->fd >= 0 && o->nb > 0 && o->first <= o->last &&
	    o->used + len > cap) {
		rc = open_close(s);
		if (rc < 0)
			return rc;
	}
	if (o->fd < 0)
		return open_create(s, len);
	if (o->used + len <= o->alloc)
		return 0;
	cap = seg_target(s, o->used + len);
	rc = io_fallocate(s, o->fd, o->name, cap);
	if (rc == 0)
		o->alloc = cap;
	return rc;
}

/* Cuts the open segment back to `used` after a failed write.  If even
 * that fails, what is on disk is unknown: refuse further writes until a
 * restart lets recovery look at it. */
static int rollback(struct store *s, int cause)
{
	struct seg_open *o = &s->open;
	char first[STORE_ERR_MAX];
	int rc;

	memcpy(first, s->err, sizeof(first));
	rc = io_ftruncate(s, o->fd, o->name, o->used);
	if (rc == 0)
		rc = io_fdatasync(s, o->fd, o->name);
	if (rc < 0) {
		char now[STORE_ERR_MAX];

		memcpy(now, s->err, sizeof(now));
		s->broken = cause;
		store_set_error(s,
				"%s; undoing it failed too (%s): the store "
				"refuses further writes, restart the node",
				first, now);
		store_log(s, STORE_LOG_ERROR, "%s", s->err);
		return cause;
	}
	/* The cut dropped the pre-allocation; the next append re-makes it. */
	o->alloc = o->used;
	memcpy(s->err, first, sizeof(first));
	return cause;
}

static int write_batch(struct store *s, raft_index first,
		       const struct raft_entry *e, unsigned n)
{
	struct seg_open *o = &s->open;
	uint64_t len = batch_size(e, n);
	int rc = wbuf_reserve(s, len);

	if (rc == -ENOMEM)
		store_set_error(s, "append: out of memory");
	if (rc == 0)
		rc = open_ensure(s, len);
	if (rc < 0)
		return rc;
	batch_encode(s->wbuf, o->nonce, first, e, n, len);
	rc = io_pwrite(s, o->fd, o->name, s->wbuf, (size_t)len, o->used);
	if (rc == 0)
		rc = io_fdatasync(s, o->fd, o->name);
	if (rc < 0)
		return rollback(s, rc);
	o->used += len;
	if (o->nb++ == 0 || first < o->first)
		o->first = first;
	o->last = first + n - 1;
	return 0;
}

/* ---- after discarding entries >= x ------------------------------------------- */

/* Closed segments whose entries are all >= x are dead; the highest one
 * left loses its entries >= x.  Removing the dead files only frees space:
 * replay makes the new batch win over them, and recovery removes one that
 * comes back after a crash.  So no directory sync, and failures only
 * warn. */
static void closed_discard(struct store *s, raft_index x)
{
	while (s->n_closed > 0 && s->closed[s->n_closed - 1].first >= x) {
		const char *name = s->closed[s->n_closed - 1].name;

		if (io_unlink(s, name) < 0)
			store_log(s, STORE_LOG_WARNING, "%s", s->err);
		s->n_closed--;
	}
	if (s->n_closed > 0 && s->closed[s->n_closed - 1].last >= x)
		s->closed[s->n_closed - 1].last = x - 1;
}

static int append_args(struct store *s, raft_index first,
		       const struct raft_entry *e, unsigned n)
{
	const char *why = NULL;

	if (first <= s->snap_index)
		why = "first index is covered by the snapshot";
	else if (first > s->last + 1)
		why = "first index leaves a gap after the last entry";
	else if (n > BATCH_MAX_ENTRIES)
		why = "too many entries in one call";
	for (unsigned i = 0; why == NULL && i < n; i++) {
		if (e[i].index != first + i)
			why = "entry indexes are not consecutive from first";
		else if (e[i].term == 0)
			why = "entry with term 0";
		else if (e[i].data.len > ENTRY_MAX_BYTES)
			why = "entry larger than 2 GiB";
		else if (e[i].data.len > 0 && e[i].data.base == NULL)
			why = "entry data is NULL";
	}
	if (why == NULL)
		return 0;
	store_set_error(s,
			"append at %llu of %u entries (log ends at %llu, "
			"snapshot at %llu): %s",
			(unsigned long long)first, n,
			(unsigned long long)s->last,
			(unsigned long long)s->snap_index, why);
	return -EINVAL;
}

int store_append(struct store *s, raft_index first, const struct raft_entry *e,
		 unsigned n)
{
	bool discards;
	int rc = store_begin_write(s);

	if (rc == 0)
		rc = append_args(s, first, e, n);
	if (rc < 0)
		return rc;
	discards = first <= s->last;
	if (n == 0 && !discards)
		return 0;
	rc = write_batch(s, first, e, n);
	if (rc < 0)
		return rc;
	if (discards)
		closed_discard(s, first);
	s->last = first + n - 1;
	return 0;
}

/* ---- compaction and install ------------------------------------------------ */

/*
 * Removes closed segments wholly at or below `upto`, oldest first, each
 * removal synced before the next: a newer segment may hold the batch that
 * discarded part of an older one, and if a crash kept the older file but
 * not the newer, those discarded entries would come back.  Failures only
 * warn: the snapshot is durable, and the files are removed next time.
 */
void seg_compact(struct store *s, raft_index upto)
{
	unsigned k = 0;

	while (k < s->n_closed && s->closed[k].last <= upto) {
		/* Still there: keep it, and every newer one, for next time. */
		if (io_unlink(s, s->closed[k].name) < 0)
			goto warn;
		k++;
		if (io_sync_dir(s) < 0)
			goto warn;
	}
	goto out;
warn:
	store_log(s, STORE_LOG_WARNING, "%s", s->err);
out:
	if (k == 0)
		return;
	s->n_closed -= k;
	memmove(s->closed, s->closed + k, s->n_closed * sizeof(*s->closed));
}

/* After an install the snapshot's epoch already hides every segment from
 * recovery; removing them only frees space, so failures only warn. */
void seg_drop_all(struct store *s)
{
	bool failed = false;

	if (s->open.fd >= 0 && io_unlink(s, s->open.name) < 0)
		failed = true;
	seg_open_reset(s);
	while (s->n_closed > 0) {
		if (io_unlink(s, s->closed[s->n_closed - 1].name) < 0)
			failed = true;
		s->n_closed--;
	}
	if (io_sync_dir(s) < 0)
		failed = true;
	if (failed)
		store_log(s, STORE_LOG_WARNING,
			  "%s (left for the next start "
			  "to remove)",
			  s->err);
}
