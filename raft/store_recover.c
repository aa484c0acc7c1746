/*
 * store_recover.c — reading the log back: at open (with repairs) and for
 * a later store_load (read only).
 *
 * Every segment is read whole and checked batch by batch.  Segments are
 * then replayed in counter order, each batch discarding entries >= its
 * first index before appending its own (see store_int.h).
 *
 * Torn tail or corruption?  Only the newest segment, and only if it is
 * still open, can end in a torn write: each append is synced before the
 * next one starts and before a segment is closed.  So when a batch there
 * fails its checks, we look at every 8-byte aligned offset after it for a
 * batch header with a good checksum and this segment's nonce.  None: the
 * batch was being written when the node stopped, and is cut off.  One:
 * something damaged data that had been acknowledged, and we stop.  A bad
 * batch anywhere else, a gap in the indexes, or a log that does not reach
 * back to the snapshot is damage too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "raft/store_int.h"

struct rseg {
	char name[STORE_NAME_MAX];
	bool is_open;
	bool hdr_ok;
	bool stale; /* created before the snapshot's epoch */
	bool torn;  /* bytes from `end` on are a torn write */
	uint64_t counter;
	uint64_t nonce;
	unsigned char *buf;
	uint64_t size;
	uint64_t end; /* after the last good batch */
	struct seg_batches batches;
	raft_index first, last; /* lowest first, last of last batch */
	raft_index keep_first, keep_last;
	uint64_t n_keep; /* its entries still in the log */
	bool dominated;  /* a later batch discards all it could discard */
};

/* Where an entry of the replayed log was read. */
struct rfrom {
	uint32_t seg;
	uint64_t off; /* of its batch */
};

struct rlog {
	struct raft_entry *e;
	struct rfrom *from;
	size_t n;
	size_t cap;
};

struct recovery {
	struct store *s;
	const struct snap_read *snap;
	struct rseg *g;
	unsigned ng;
	int newest; /* the segment with the highest live counter, or -1 */
	struct rlog r;
	size_t skip; /* entries of r at or below the snapshot */
};

static int corrupt_at(struct store *s, const char *name, uint64_t off,
		      const char *why)
{
	store_set_error(s,
			"log segment %s/%s is damaged at offset %llu: %s. "
			"%s",
			s->dir, name, (unsigned long long)off, why,
			store_corrupt_hint);
	return -EUCLEAN;
}

static int newer_format(struct store *s, const char *name)
{
	store_set_error(s,
			"log segment %s/%s was written by a newer version "
			"of tenure; run that version",
			s->dir, name);
	return -EUCLEAN;
}

/* ---- reading ------------------------------------------------------------------ */

static int read_segment(struct recovery *rc, struct rseg *g)
{
	struct store *s = rc->s;
	uint64_t counter = 0;
	const char *why = "";
	int st;
	int err = io_read_file(s, g->name, &g->buf, &g->size);

	if (err < 0)
		return err;
	g->is_open = name_parse_open(g->name, &g->counter);
	st = seg_header_check(g->buf, g->size, &counter, &g->nonce, &why);
	if (st == CHECK_NEWER)
		return newer_format(s, g->name);
	g->hdr_ok = st == CHECK_OK;
	if (!g->hdr_ok && !g->is_open)
		return corrupt_at(s, g->name, 0, why);
	if (g->hdr_ok && g->is_open && counter != g->counter)
		return corrupt_at(s, g->name, 8,
				  "segment header does not "
				  "match the file name");
	if (!g->is_open)
		g->counter = counter;
	return 0;
}

static int cmp_counter(const void *pa, const void *pb)
{
	const struct rseg *a = pa, *b = pb;

	return a->counter < b->counter ? -1 : a->counter > b->counter;
}

static int read_all(struct recovery *rc, const struct dir_list *l)
{
	int err = 0;

	rc->g = calloc(l->n_seg > 0 ? l->n_seg : 1, sizeof(*rc->g));
	if (rc->g == NULL)
		return -ENOMEM;
	rc->ng = l->n_seg;
	for (unsigned i = 0; i < rc->ng && err == 0; i++) {
		snprintf(rc->g[i].name, STORE_NAME_MAX, "%s", l->seg[i]);
		err = read_segment(rc, &rc->g[i]);
	}
	if (err < 0)
		return err;
	qsort(rc->g, rc->ng, sizeof(*rc->g), cmp_counter);
	rc->newest = -1;
	for (unsigned i = 0; i < rc->ng; i++) {
		struct rseg *g = &rc->g[i];

		if (i > 0 && g->counter == rc->g[i - 1].counter)
			return corrupt_at(rc->s, g->name, 8,
					  "another segment "
					  "has the same counter");
		g->stale = g->counter < rc->s->epoch;
		if (!g->stale)
			rc->newest = (int)i;
	}
	return 0;
}

/* ---- checking one segment ------------------------------------------------ */

/* Is there an intact batch header of this segment past `off`? */
static bool valid_after(const struct rseg *g, uint64_t off, bool any_nonce)
{
	for (uint64_t q = off + 8; q + BATCH_HDR <= g->size; q += 8)
		if (batch_header_plausible(g->buf + q, g->size - q, g->nonce,
					   any_nonce))
			return true;
	return false;
}

/* A batch continues its file's log or discards part of it; it never
 * leaves a gap, except one the snapshot covers. */
static bool follows(const struct recovery *rc, const struct rseg *g,
		    raft_index first)
{
	return g->batches.n == 0 || first <= g->last + 1 ||
	       first <= rc->s->snap_index + 1;
}

static int bad_batch(struct recovery *rc, struct rseg *g, uint64_t off,
		     const char *why, bool tail_ok)
{
	if (tail_ok && !valid_after(g, off, false)) {
		g->torn = true;
		return 0;
	}
	return corrupt_at(rc->s, g->name, off, why);
}

static int parse_batches(struct recovery *rc, struct rseg *g, bool tail_ok)
{
	uint64_t off = SEG_HDR;
	struct batch_info bi;
	struct seg_batch b;
	const char *why = "";
	int st;

	while (off < g->size && !all_zero(g->buf + off, g->size - off)) {
		st = batch_check(g->buf + off, g->size - off, g->nonce, false,
				 &bi, &why);
		if (st == CHECK_NEWER)
			return newer_format(rc->s, g->name);
		if (st == CHECK_BAD)
			return bad_batch(rc, g, off, why, tail_ok);
		if (!follows(rc, g, bi.first))
			return corrupt_at(rc->s, g->name, off,
					  "batch does "
					  "not follow the previous one");
		b.off = off;
		b.len = bi.len;
		b.first = bi.first;
		b.n = bi.n;
		if (seg_batch_push(&g->batches, &b) < 0)
			return -ENOMEM;
		if (g->batches.n == 1 || bi.first < g->first)
			g->first = bi.first;
		g->last = bi.first + bi.n - 1;
		off += bi.len;
	}
	return 0;
}

static int check_segment(struct recovery *rc, struct rseg *g, bool newest)
{
	bool tail_ok = newest && g->is_open;
	raft_index a, b;
	int err;

	if (!g->hdr_ok) {
		/* Only an open segment gets here: a new one whose first
		 * write did not land is empty or torn. */
		if (all_zero(g->buf, g->size))
			return 0;
		if (tail_ok && !valid_after(g, 0, true)) {
			g->torn = true;
			return 0;
		}
		return corrupt_at(rc->s, g->name, 0, "bad segment header");
	}
	err = parse_batches(rc, g, tail_ok);
	if (err < 0)
		return err;
	g->end = g->batches.n > 0 ? g->batches.b[g->batches.n - 1].off +
					    g->batches.b[g->batches.n - 1].len
				  : SEG_HDR;
	if (!g->is_open && name_parse_closed(g->name, &a, &b) &&
	    (a != g->first || b != g->last))
		return corrupt_at(rc->s, g->name, 0,
				  "entries do not match "
				  "the range in the file name");
	return 0;
}

/* ---- replay ------------------------------------------------------------------ */

static int rlog_reserve(struct rlog *r, size_t n)
{
	size_t cap = r->cap ? r->cap : 1024;
	struct raft_entry *e;
	struct rfrom *from;

	if (n <= r->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	e = realloc(r->e, cap * sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	r->e = e;
	from = realloc(r->from, cap * sizeof(*from));
	if (from == NULL)
		return -ENOMEM;
	r->from = from;
	r->cap = cap;
	return 0;
}

/*
 * The replayed log is kept sorted by index but not necessarily gap-free
 * while replay runs: a batch that was superseded later may sit after
 * segments already removed (store_segment.c), and only the superseding
 * batch closes that gap.  Whether the final log is whole is checked once,
 * at the end.
 */
static int replay_segment(struct recovery *rc, unsigned gi)
{
	struct rseg *g = &rc->g[gi];
	struct rlog *r = &rc->r;

	for (unsigned i = 0; i < g->batches.n; i++) {
		const struct seg_batch *b = &g->batches.b[i];
		struct batch_info bi = { b->len, b->first, b->n };

		while (r->n > 0 && r->e[r->n - 1].index >= b->first)
			r->n--;
		if (rlog_reserve(r, r->n + b->n) < 0)
			return -ENOMEM;
		batch_decode(g->buf + b->off, &bi, r->e + r->n);
		for (uint32_t k = 0; k < b->n; k++) {
			r->from[r->n + k].seg = gi;
			r->from[r->n + k].off = b->off;
		}
		r->n += b->n;
	}
	return 0;
}

static int missing(struct recovery *rc, size_t k, raft_index want)
{
	struct store *s = rc->s;

	store_set_error(s,
			"log segment %s/%s, batch at offset %llu: entries "
			"%llu to %llu are missing before it (a segment file "
			"was lost). %s",
			s->dir, rc->g[rc->r.from[k].seg].name,
			(unsigned long long)rc->r.from[k].off,
			(unsigned long long)want,
			(unsigned long long)(rc->r.e[k].index - 1),
			store_corrupt_hint);
	return -EUCLEAN;
}

/* Entries after the snapshot must follow it without a gap, and agree with
 * it where they overlap.  Below it, gaps are compaction at work. */
static int check_whole(struct recovery *rc)
{
	struct store *s = rc->s;
	struct rlog *r = &rc->r;
	raft_index want = s->snap_index + 1;
	size_t k = 0;

	while (k < r->n && r->e[k].index <= s->snap_index)
		k++;
	rc->skip = k;
	if (k > 0 && r->e[k - 1].index == s->snap_index &&
	    r->e[k - 1].term != s->snap_term) {
		store_set_error(s,
				"log entry %llu in %s/%s has term %llu but "
				"snapshot %s says %llu. %s",
				(unsigned long long)s->snap_index, s->dir,
				rc->g[r->from[k - 1].seg].name,
				(unsigned long long)r->e[k - 1].term,
				s->snap_name, (unsigned long long)s->snap_term,
				store_corrupt_hint);
		return -EUCLEAN;
	}
	for (; k < r->n; k++, want++)
		if (r->e[k].index != want)
			return missing(rc, k, want);
	return 0;
}

static void count_kept(struct recovery *rc)
{
	struct rlog *r = &rc->r;

	for (size_t i = 0; i < r->n; i++) {
		struct rseg *g = &rc->g[r->from[i].seg];

		if (g->n_keep == 0)
			g->keep_first = r->e[i].index;
		g->keep_last = r->e[i].index;
		g->n_keep++;
	}
}

/*
 * A segment without live entries can go only if its batches have no
 * effect left either: each discards entries >= its first index in older
 * segments, and that only stays done if a newer batch starts at or below
 * the lowest of them.  (A segment whose entries were all superseded always
 * qualifies; one holding only a discard may not.)
 */
static void mark_dominated(struct recovery *rc)
{
	raft_index lowest = 0; /* lowest first index in newer segments */
	bool any = false;

	for (unsigned i = rc->ng; i-- > 0;) {
		struct rseg *g = &rc->g[i];

		if (g->stale || g->batches.n == 0)
			continue;
		g->dominated = any && lowest <= g->first;
		if (!any || g->first < lowest)
			lowest = g->first;
		any = true;
	}
}

/* Nothing in it matters any more. */
static bool removable(const struct rseg *g)
{
	return g->stale || g->batches.n == 0 ||
	       (g->n_keep == 0 && g->dominated);
}

static int replay(struct recovery *rc)
{
	int err = 0;

	for (unsigned i = 0; i < rc->ng && err == 0; i++) {
		if (rc->g[i].stale)
			continue;
		err = check_segment(rc, &rc->g[i], (int)i == rc->newest);
		if (err == 0)
			err = replay_segment(rc, i);
	}
	if (err == 0)
		err = check_whole(rc);
	if (err == 0) {
		count_kept(rc);
		mark_dominated(rc);
	}
	return err;
}

/* ---- repairs at open ------------------------------------------------------- */

static int cut_torn(struct recovery *rc, struct rseg *g)
{
	struct store *s = rc->s;
	uint64_t stop = g->size;
	int fd;
	int err;

	/* Pre-allocated zeros after the partial batch are not news. */
	while (stop > g->end && g->buf[stop - 1] == 0)
		stop--;
	store_log(s, STORE_LOG_WARNING,
		  "torn write at the end of the log "
		  "cut off: %s/%s at offset %llu (%llu bytes of a partial "
		  "batch discarded)",
		  s->dir, g->name, (unsigned long long)g->end,
		  (unsigned long long)(stop - g->end));
	if (removable(g))
		return 0; /* the whole file goes in remove_unneeded() */
	err = io_open(s, g->name, O_RDWR, &fd);
	if (err < 0)
		return err;
	err = io_ftruncate(s, fd, g->name, g->end);
	if (err == 0)
		err = io_fdatasync(s, fd, g->name);
	close(fd);
	g->size = g->end;
	return err;
}

static int remove_unneeded(struct recovery *rc)
{
	struct store *s = rc->s;
	int err = 0;

	for (unsigned i = 0; i < rc->ng && err == 0; i++) {
		struct rseg *g = &rc->g[i];

		if (!removable(g))
			continue;
		err = io_unlink(s, g->name);
		if (err == 0 && (g->stale || g->batches.n > 0))
			store_log(s, STORE_LOG_INFO,
				  "removed segment %s/%s: "
				  "%s",
				  s->dir, g->name,
				  g->stale ? "from before the last snapshot "
					     "install"
					   : "its entries were replaced");
	}
	return err;
}

/* Older open segments become closed ones, so only one stays open. */
static int close_old_open(struct recovery *rc)
{
	int err = 0;

	for (unsigned i = 0; i < rc->ng && err == 0; i++) {
		struct rseg *g = &rc->g[i];
		char name[STORE_NAME_MAX];

		if (!g->is_open || g->stale || g->n_keep == 0 ||
		    (int)i == rc->newest)
			continue;
		seg_closed_name(name, g->first, g->last);
		err = io_rename(rc->s, g->name, name);
		if (err == 0) {
			snprintf(g->name, sizeof(g->name), "%s", name);
			g->is_open = false;
		}
	}
	return err;
}

static int repair(struct recovery *rc)
{
	int err = 0;

	if (rc->newest >= 0 && rc->g[rc->newest].torn)
		err = cut_torn(rc, &rc->g[rc->newest]);
	/* Replaced segments go before renames: names then never clash. */
	if (err == 0)
		err = remove_unneeded(rc);
	if (err == 0)
		err = close_old_open(rc);
	if (err == 0)
		err = io_sync_dir(rc->s);
	return err;
}

/* ---- running state ----------------------------------------------------------- */

static int adopt_open(struct recovery *rc, struct rseg *g)
{
	struct store *s = rc->s;
	struct seg_open *o = &s->open;
	int err = io_open(s, g->name, O_RDWR, &o->fd);

	if (err < 0)
		return err;
	snprintf(o->name, sizeof(o->name), "%s", g->name);
	o->counter = g->counter;
	o->nonce = g->nonce;
	o->used = g->end;
	o->alloc = g->size;
	o->nb = g->batches.n;
	o->first = g->first;
	o->last = g->last;
	return 0;
}

static int setup_running(struct recovery *rc)
{
	struct store *s = rc->s;
	raft_index last = rc->r.n > 0 ? rc->r.e[rc->r.n - 1].index : 0;
	int err = 0;

	s->next_counter = s->epoch;
	for (unsigned i = 0; i < rc->ng && err == 0; i++) {
		struct rseg *g = &rc->g[i];
		struct seg_closed c;

		if (g->counter >= s->next_counter)
			s->next_counter = g->counter + 1;
		if (removable(g))
			continue;
		/* The newest open segment goes on, even if it holds only a
		 * discard; see mark_dominated(). */
		if (g->is_open && (int)i == rc->newest) {
			err = adopt_open(rc, g);
			continue;
		}
		/* A segment whose only effect is a discard stays on disk,
		 * untouched, for replay. */
		if (g->n_keep == 0)
			continue;
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "%s", g->name);
		c.counter = g->counter;
		c.first = g->keep_first;
		c.last = g->keep_last;
		err = seg_closed_push(s, &c);
	}
	s->last = last > s->snap_index ? last : s->snap_index;
	return err;
}

/* ---- the result ---------------------------------------------------------------- */

static int hand_out(struct recovery *rc)
{
	struct store_loaded *l = &rc->s->loaded;
	struct raft_durable *d = &l->d;
	struct rlog *r = &rc->r;
	raft_index snap = rc->s->snap_index;
	size_t skip = rc->skip;

	l->bufs = calloc(rc->ng > 0 ? rc->ng : 1, sizeof(*l->bufs));
	if (l->bufs == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < rc->ng; i++) {
		l->bufs[l->nbufs++] = rc->g[i].buf;
		rc->g[i].buf = NULL;
	}
	memset(d, 0, sizeof(*d));
	d->snap_index = snap;
	d->snap_term = rc->s->snap_term;
	if (rc->snap != NULL && snap > 0) {
		d->snap_config = rc->snap->config;
		d->snap_data.base = rc->snap->data;
		d->snap_data.len = rc->snap->len;
		l->snap_data = rc->snap->data;
	}
	d->n_entries = (unsigned)(r->n - skip);
	d->entries = r->e != NULL ? r->e + skip : NULL;
	l->entries = r->e;
	r->e = NULL;
	l->valid = true;
	return 0;
}

static void recovery_free(struct recovery *rc)
{
	for (unsigned i = 0; i < rc->ng; i++) {
		free(rc->g[i].buf);
		free(rc->g[i].batches.b);
	}
	free(rc->g);
	free(rc->r.e);
	free(rc->r.from);
}

int recover_log(struct store *s, const struct dir_list *l,
		const struct snap_read *snap, bool repair_it)
{
	struct recovery rc;
	int err;

	memset(&rc, 0, sizeof(rc));
	rc.s = s;
	rc.snap = snap;
	err = read_all(&rc, l);
	if (err == 0)
		err = replay(&rc);
	if (err == 0 && repair_it)
		err = repair(&rc);
	if (err == 0 && repair_it)
		err = setup_running(&rc);
	if (err == 0)
		err = hand_out(&rc);
	if (err == -ENOMEM)
		store_set_error(s, "reading the log of %s: out of memory",
				s->dir);
	if (err < 0)
		free(snap->data);
	recovery_free(&rc);
	return err;
}
