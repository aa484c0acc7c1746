/*
 * test_store.c — the durable store: round trips, truncation, reopen, term
 * and vote files, torn tails against corruption, snapshots and compaction,
 * and injected disk errors (every failure must leave a log that is a
 * valid prefix and reopens).
 *
 * Each test gets a fresh directory from mkdtemp under /tmp, removed by the
 * teardown.  Tests look at the files with the format constants of
 * raft/store_int.h, so they damage exactly the byte they mean to.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft/store.h"
#include "raft/store_int.h"
#include "tests/unit/suites.h"

/* ---- scratch directory and captured log lines ---------------------------- */

static char base[64]; /* the mkdtemp directory */
static char dir[128]; /* the data directory inside it (created by open) */

struct logcap {
	int count[4];
	char last[2048];
};

static struct logcap logs;

static void log_cb(void *arg, int level, const char *msg)
{
	struct logcap *l = arg;

	if (level >= 1 && level <= 3)
		l->count[level]++;
	snprintf(l->last, sizeof(l->last), "%s", msg);
}

static void setup(void)
{
	snprintf(base, sizeof(base), "/tmp/tenure-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/data/node1", base);
	memset(&logs, 0, sizeof(logs));
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct store_options opts(size_t segment_size)
{
	struct store_options o;

	store_options_default(&o);
	o.segment_size = segment_size;
	o.log = log_cb;
	o.log_arg = &logs;
	return o;
}

static struct store *open_ok(const struct store_options *o)
{
	struct store *s = NULL;
	char err[2048];
	int rc = store_open(dir, o, &s, err, sizeof(err));

	ck_assert_msg(rc == 0, "store_open: %d %s", rc, err);
	return s;
}

/* ---- a model of what the log must contain --------------------------------- */

#define MAXI 20000

struct model {
	raft_term term[MAXI];
	uint32_t len[MAXI];
	raft_index last;
};

static unsigned char pattern(raft_index index, raft_term term, size_t i)
{
	return (unsigned char)(index * 131 + term * 7 + i * 3);
}

static size_t vary_len(raft_index index)
{
	return (size_t)((index * 37) % 300);
}

static uint8_t type_of(raft_index index)
{
	return index % 7 == 0 ? RAFT_ENTRY_NOOP : RAFT_ENTRY_NORMAL;
}

#define VARY ((size_t)-1)

/* Appends entries [first, first + n) of `term`; each `len` bytes long, or
 * vary_len(index) with VARY.  The model follows only on success. */
static int append(struct store *s, struct model *m, raft_index first,
		  unsigned n, raft_term term, size_t len)
{
	struct raft_entry *e = calloc(n ? n : 1, sizeof(*e));
	int rc;

	ck_assert_ptr_nonnull(e);
	for (unsigned i = 0; i < n; i++) {
		raft_index idx = first + i;
		size_t l = len == VARY ? vary_len(idx) : len;
		unsigned char *p = malloc(l ? l : 1);

		ck_assert_ptr_nonnull(p);
		for (size_t k = 0; k < l; k++)
			p[k] = pattern(idx, term, k);
		e[i].term = term;
		e[i].index = idx;
		e[i].type = type_of(idx);
		e[i].data.base = p;
		e[i].data.len = l;
	}
	rc = store_append(s, first, e, n);
	if (rc == 0 && m != NULL) {
		for (unsigned i = 0; i < n; i++) {
			m->term[first + i] = term;
			m->len[first + i] = (uint32_t)e[i].data.len;
		}
		m->last = first + n - 1;
	}
	for (unsigned i = 0; i < n; i++)
		free(e[i].data.base);
	free(e);
	return rc;
}

static void append_ok(struct store *s, struct model *m, raft_index first,
		      unsigned n, raft_term term, size_t len)
{
	int rc = append(s, m, first, n, term, len);

	ck_assert_msg(rc == 0, "append %llu+%u: %d %s",
		      (unsigned long long)first, n, rc, store_last_error(s));
}

static void check_entry(const struct raft_entry *e, raft_index idx,
			const struct model *m)
{
	const unsigned char *p = e->data.base;

	ck_assert_uint_eq(e->index, idx);
	ck_assert_uint_eq(e->term, m->term[idx]);
	ck_assert_uint_eq(e->type, type_of(idx));
	ck_assert_uint_eq(e->data.len, m->len[idx]);
	for (size_t k = 0; k < e->data.len; k++)
		if (p[k] != pattern(idx, e->term, k))
			ck_abort_msg("entry %llu byte %zu differs",
				     (unsigned long long)idx, k);
}

/* The loaded log is exactly m after snap_index. */
static void check_log(const struct raft_durable *d, const struct model *m)
{
	raft_index want = m->last > d->snap_index ? m->last - d->snap_index : 0;

	ck_assert_uint_eq(d->n_entries, want);
	for (unsigned i = 0; i < d->n_entries; i++)
		check_entry(&d->entries[i], d->snap_index + 1 + i, m);
}

static void load_check(struct store *s, const struct model *m)
{
	struct raft_durable d;
	int rc = store_load(s, &d);

	ck_assert_msg(rc == 0, "load: %s", store_last_error(s));
	check_log(&d, m);
}

static void reopen_check(struct store **s, const struct store_options *o,
			 const struct model *m)
{
	store_close(*s);
	*s = open_ok(o);
	load_check(*s, m);
}

/* ---- files ------------------------------------------------------------------ */

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static int count_files(const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* The open segment with the highest counter. */
static void newest_open(char *name, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned long long best = 0, c;
	bool found = false;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "open-%llu", &c) == 1 &&
		    (!found || c > best)) {
			best = c;
			found = true;
		}
	}
	closedir(d);
	ck_assert(found);
	snprintf(name, cap, "open-%llu", best);
}

/* A closed segment holding index `idx`. */
static void closed_holding(raft_index idx, char *name, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned long long a, b;
	bool found = false;

	ck_assert_ptr_nonnull(d);
	while (!found && (de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "%llu-%llu", &a, &b) == 2 && a <= idx &&
		    idx <= b && strlen(de->d_name) < cap) {
			memcpy(name, de->d_name, strlen(de->d_name) + 1);
			found = true;
		}
	}
	closedir(d);
	ck_assert(found);
}

static unsigned char *read_all(const char *name, size_t *size)
{
	char path[256];
	struct stat st;
	unsigned char *p;
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	p = malloc((size_t)st.st_size + 1);
	ck_assert_int_eq(pread(fd, p, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return p;
}

static void write_at(const char *name, uint64_t off, const void *p, size_t len)
{
	char path[256];
	int fd;

	path_of(path, sizeof(path), name);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, p, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void flip_byte(const char *name, uint64_t off)
{
	size_t size;
	unsigned char *p = read_all(name, &size);
	unsigned char b;

	ck_assert_uint_lt(off, size);
	b = p[off] ^ 0x5a;
	write_at(name, off, &b, 1);
	free(p);
}

static void truncate_file(const char *name, uint64_t size)
{
	char path[256];

	path_of(path, sizeof(path), name);
	ck_assert_int_eq(truncate(path, (off_t)size), 0);
}

/* Offsets of the batches in a segment file, and where they end. */
static unsigned batches_of(const char *name, uint64_t *off, unsigned max,
			   uint64_t *end)
{
	size_t size;
	unsigned char *p = read_all(name, &size);
	uint64_t o = SEG_HDR;
	unsigned n = 0;

	while (o + BATCH_HDR <= size && get_u32(p + o) == BATCH_MAGIC &&
	       n < max) {
		off[n++] = o;
		o += get_u64(p + o + 16);
	}
	*end = o;
	free(p);
	return n;
}

struct faults {
	unsigned mask; /* ops that count (bit op) */
	int countdown; /* fail the countdown-th counted op; 0: off */
	int err;
	unsigned always; /* ops that always fail with always_err */
	int always_err;
	int fired;
};

static int fault_cb(void *arg, enum store_io op, const char *file)
{
	struct faults *f = arg;

	(void)file;
	if (f->always & (1u << op))
		return f->always_err;
	if (f->countdown > 0 && (f->mask & (1u << op)) && --f->countdown == 0) {
		f->fired++;
		return f->err;
	}
	return 0;
}

/* ---- basics ------------------------------------------------------------------ */

START_TEST(test_empty_store)
{
	struct store_options o = opts(0);
	struct store *s = open_ok(&o);
	struct raft_durable d;

	ck_assert_int_eq(store_load(s, &d), 0);
	ck_assert_uint_eq(d.term, 0);
	ck_assert_uint_eq(d.voted_for, 0);
	ck_assert_uint_eq(d.snap_index, 0);
	ck_assert_uint_eq(d.n_entries, 0);
	ck_assert_uint_eq(store_last_index(s), 0);
	store_close(s);
	s = open_ok(&o);
	ck_assert_int_eq(store_load(s, &d), 0);
	ck_assert_uint_eq(d.n_entries, 0);
	ck_assert_uint_eq(store_last_index(s), 0);
	store_close(s);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 0);
}
END_TEST

START_TEST(test_roundtrip_many_segments)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct store *s = open_ok(&o);
	raft_index next = 1;

	for (unsigned b = 0; b < 300; b++) {
		unsigned n = 1 + (b * 7) % 13;

		append_ok(s, &m, next, n, 1 + b / 100, VARY);
		next += n;
	}
	ck_assert_uint_eq(store_last_index(s), m.last);
	load_check(s, &m);
	ck_assert_int_gt(count_files("0000"), 20);
	ck_assert_int_eq(count_files("open-"), 1);
	reopen_check(&s, &o, &m);
	/* Appending after a reopen continues in the adopted segment. */
	append_ok(s, &m, next, 5, 4, 10);
	reopen_check(&s, &o, &m);
	store_close(s);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 0);
}
END_TEST

START_TEST(test_large_and_empty_entries)
{
	static struct model m;
	struct store_options o = opts(0);
	struct store *s = open_ok(&o);

	append_ok(s, &m, 1, 1, 1, 0);
	append_ok(s, &m, 2, 1, 1, (size_t)5 << 20);
	append_ok(s, &m, 3, 3, 1, (size_t)3 << 20); /* > one segment */
	append_ok(s, &m, 6, 4, 1, 0);
	append_ok(s, &m, 10, 2, 2, 1);
	load_check(s, &m);
	reopen_check(&s, &o, &m);
	store_close(s);
}
END_TEST

START_TEST(test_truncate_inside_open_segment)
{
	static struct model m;
	struct store_options o = opts(0);
	struct store *s = open_ok(&o);

	append_ok(s, &m, 1, 5, 1, VARY);
	append_ok(s, &m, 6, 5, 1, VARY);
	/* Mid-batch: 6 and 7 must be written again. */
	append_ok(s, &m, 8, 3, 2, VARY);
	load_check(s, &m);
	/* At a batch boundary. */
	append_ok(s, &m, 6, 2, 3, VARY);
	ck_assert_uint_eq(store_last_index(s), 7);
	load_check(s, &m);
	reopen_check(&s, &o, &m);
	/* Discard only (no new entries). */
	ck_assert_int_eq(append(s, NULL, 4, 0, 0, 0), 0);
	m.last = 3;
	ck_assert_uint_eq(store_last_index(s), 3);
	reopen_check(&s, &o, &m);
	append_ok(s, &m, 4, 3, 4, VARY);
	reopen_check(&s, &o, &m);
	store_close(s);
}
END_TEST

START_TEST(test_truncate_into_closed_segments)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct store *s = open_ok(&o);
	int before;

	for (raft_index i = 1; i <= 400; i += 10)
		append_ok(s, &m, i, 10, 1, 100);
	before = count_files("0000");
	ck_assert_int_gt(before, 10);
	/* Into the middle of an old closed segment. */
	append_ok(s, &m, 123, 4, 2, 50);
	load_check(s, &m);
	ck_assert_int_lt(count_files("0000"), before);
	reopen_check(&s, &o, &m);
	/* Exactly at a closed segment's first index. */
	{
		char name[64];
		unsigned long long a, b;

		closed_holding(60, name, sizeof(name));
		ck_assert_int_eq(sscanf(name, "%llu-%llu", &a, &b), 2);
		append_ok(s, &m, a, 2, 3, 20);
		load_check(s, &m);
	}
	for (raft_index i = m.last + 1; i <= 300; i += 7)
		append_ok(s, &m, i, 7, 3, VARY);
	reopen_check(&s, &o, &m);
	store_close(s);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 0);
}
END_TEST

/* Discarding with nothing to append writes a batch of no entries; the
 * segment holding it must outlive the entries it discarded. */
START_TEST(test_discard_only)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct faults f = { 0 };
	struct store *s;
	int rc;

	o.fault = fault_cb;
	o.fault_arg = &f;
	s = open_ok(&o);
	for (raft_index i = 1; i <= 100; i += 10)
		append_ok(s, &m, i, 10, 1, 100);
	ck_assert_int_eq(append(s, NULL, 95, 0, 0, 0), 0);
	m.last = 94;
	reopen_check(&s, &o, &m);
	/* Into a closed segment, with the open one then holding nothing. */
	ck_assert_int_eq(append(s, NULL, 40, 0, 0, 0), 0);
	m.last = 39;
	reopen_check(&s, &o, &m);
	append_ok(s, &m, 40, 30, 2, 100);
	reopen_check(&s, &o, &m);
	/* A discard that is the only batch of its segment: make the next
	 * segment fail to appear, so the discard starts a fresh one. */
	f.always = 1u << STORE_IO_ALLOC;
	f.always_err = ENOSPC;
	for (rc = 0; rc == 0;)
		rc = append(s, &m, m.last + 1, 5, 2, 100);
	ck_assert_int_eq(rc, -ENOSPC);
	f.always = 0;
	ck_assert_int_eq(append(s, NULL, 20, 0, 0, 0), 0);
	m.last = 19;
	reopen_check(&s, &o, &m);
	reopen_check(&s, &o, &m);
	append_ok(s, &m, 20, 50, 3, VARY);
	reopen_check(&s, &o, &m);
	store_close(s);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 0);
}
END_TEST

START_TEST(test_append_argument_errors)
{
	static struct model m;
	struct store_options o = opts(0);
	struct store *s = open_ok(&o);
	struct raft_entry e = { .term = 1, .index = 7, .type = 1 };

	append_ok(s, &m, 1, 3, 1, 8);
	ck_assert_int_eq(append(s, NULL, 5, 1, 1, 8), -EINVAL); /* gap */
	ck_assert_int_eq(store_append(s, 4, &e, 1), -EINVAL);   /* index */
	ck_assert_ptr_nonnull(strstr(store_last_error(s), "consecutive"));
	e.index = 4;
	e.term = 0;
	ck_assert_int_eq(store_append(s, 4, &e, 1), -EINVAL);
	ck_assert_int_eq(append(s, NULL, 0, 1, 1, 8), -EINVAL);
	load_check(s, &m);
	store_close(s);
}
END_TEST

START_TEST(test_directory_lock)
{
	struct store_options o = opts(0);
	struct store *s = open_ok(&o);
	struct store *t = NULL;
	char err[512];

	ck_assert_int_eq(store_open(dir, &o, &t, err, sizeof(err)), -EBUSY);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(err, "in use"));
	store_close(s);
	s = open_ok(&o);
	store_close(s);
}
END_TEST

/* ---- term and vote --------------------------------------------------------- */

static void check_hard_state(struct store *s, raft_term t, raft_id v)
{
	struct raft_durable d;

	ck_assert_int_eq(store_load(s, &d), 0);
	ck_assert_uint_eq(d.term, t);
	ck_assert_uint_eq(d.voted_for, v);
}

START_TEST(test_hard_state)
{
	struct store_options o = opts(0);
	struct store *s = open_ok(&o);

	ck_assert_int_eq(store_set_hard_state(s, 1, 0), 0);
	ck_assert_int_eq(count_files("metadata"), 1);
	ck_assert_int_eq(store_set_hard_state(s, 1, 3), 0);
	ck_assert_int_eq(count_files("metadata"), 2);
	ck_assert_int_eq(store_set_hard_state(s, 5, 2), 0);
	check_hard_state(s, 5, 2);
	store_close(s);
	s = open_ok(&o);
	check_hard_state(s, 5, 2);
	/* Never back in term; a cast vote stands for its term. */
	ck_assert_int_eq(store_set_hard_state(s, 4, 0), -EINVAL);
	ck_assert_int_eq(store_set_hard_state(s, 5, 3), -EINVAL);
	ck_assert_int_eq(store_set_hard_state(s, 5, 2), 0);
	ck_assert_int_eq(store_set_hard_state(s, 6, 0), 0);
	store_close(s);
	s = open_ok(&o);
	check_hard_state(s, 6, 0);
	store_close(s);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 0);
}
END_TEST

START_TEST(test_hard_state_one_file_damaged)
{
	struct store_options o = opts(0);
	struct store *s = open_ok(&o);

	ck_assert_int_eq(store_set_hard_state(s, 1, 1), 0); /* metadata1 */
	ck_assert_int_eq(store_set_hard_state(s, 2, 1), 0); /* metadata2 */
	ck_assert_int_eq(store_set_hard_state(s, 3, 2), 0); /* metadata1 */
	store_close(s);
	/* The newest write was torn: fall back to the other file. */
	flip_byte("metadata1", 20);
	s = open_ok(&o);
	check_hard_state(s, 2, 1);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 1);
	ck_assert_ptr_nonnull(strstr(logs.last, "metadata1"));
	/* The next write goes to the damaged file, never the good one. */
	ck_assert_int_eq(store_set_hard_state(s, 3, 0), 0);
	store_close(s);
	s = open_ok(&o);
	check_hard_state(s, 3, 0);
	store_close(s);
	/* Both damaged: refuse to start. */
	flip_byte("metadata1", 20);
	flip_byte("metadata2", 20);
	{
		char err[2048];
		struct store *t = NULL;

		ck_assert_int_eq(store_open(dir, &o, &t, err, sizeof(err)),
				 -EUCLEAN);
		ck_assert_ptr_nonnull(strstr(err, "metadata1"));
	}
}
END_TEST

START_TEST(test_hard_state_empty_file)
{
	struct store_options o = opts(0);
	struct store *s = open_ok(&o);

	ck_assert_int_eq(store_set_hard_state(s, 1, 1), 0);
	store_close(s);
	/* A first write to metadata2 that never landed. */
	{
		char path[256];
		int fd;

		path_of(path, sizeof(path), "metadata2");
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		ck_assert_int_ge(fd, 0);
		close(fd);
	}
	s = open_ok(&o);
	check_hard_state(s, 1, 1);
	store_close(s);
}
END_TEST

/* ---- torn tails and corruption ---------------------------------------------- */

/* A log whose open segment holds 5 batches of 4 entries. */
static void five_batches(struct store_options *o, struct model *m)
{
	struct store *s = open_ok(o);

	for (raft_index i = 1; i <= 20; i += 4)
		append_ok(s, m, i, 4, 1, 200);
	store_close(s);
}

static void expect_torn(const struct store_options *o, struct model *m,
			const char *seg)
{
	struct store *s;

	m->last = 16; /* the fifth batch is gone */
	s = open_ok(o);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 1);
	ck_assert_ptr_nonnull(strstr(logs.last, seg));
	ck_assert_ptr_nonnull(strstr(logs.last, "offset"));
	load_check(s, m);
	/* Life goes on: append, reopen, no more warnings. */
	append_ok(s, m, 17, 6, 2, VARY);
	reopen_check(&s, o, m);
	store_close(s);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 1);
}

START_TEST(test_torn_tail_short_file)
{
	static struct model m;
	struct store_options o = opts(0);
	char seg[64];
	uint64_t off[8], end;

	five_batches(&o, &m);
	newest_open(seg, sizeof(seg));
	ck_assert_uint_eq(batches_of(seg, off, 8, &end), 5);
	truncate_file(seg, off[4] + 100);
	expect_torn(&o, &m, seg);
}
END_TEST

START_TEST(test_torn_tail_zeroed)
{
	static struct model m;
	static unsigned char zeros[4096];
	struct store_options o = opts(0);
	char seg[64];
	uint64_t off[8], end;

	five_batches(&o, &m);
	newest_open(seg, sizeof(seg));
	ck_assert_uint_eq(batches_of(seg, off, 8, &end), 5);
	/* The sector with the header landed, the rest did not. */
	write_at(seg, off[4] + 64, zeros, (size_t)(end - off[4] - 64));
	expect_torn(&o, &m, seg);
}
END_TEST

START_TEST(test_torn_tail_first_part_zero)
{
	static struct model m;
	static unsigned char zeros[64];
	struct store_options o = opts(0);
	char seg[64];
	uint64_t off[8], end;

	five_batches(&o, &m);
	newest_open(seg, sizeof(seg));
	ck_assert_uint_eq(batches_of(seg, off, 8, &end), 5);
	/* The later part landed, the header did not. */
	write_at(seg, off[4], zeros, sizeof(zeros));
	expect_torn(&o, &m, seg);
}
END_TEST

START_TEST(test_torn_tail_bad_crc)
{
	static struct model m;
	struct store_options o = opts(0);
	char seg[64];
	uint64_t off[8], end;

	five_batches(&o, &m);
	newest_open(seg, sizeof(seg));
	ck_assert_uint_eq(batches_of(seg, off, 8, &end), 5);
	flip_byte(seg, off[4] + BATCH_HDR + 30);
	expect_torn(&o, &m, seg);
}
END_TEST

START_TEST(test_garbage_after_tail)
{
	static struct model m;
	unsigned char junk[1000];
	struct store_options o = opts(0);
	char seg[64];
	uint64_t off[8], end;

	five_batches(&o, &m);
	newest_open(seg, sizeof(seg));
	ck_assert_uint_eq(batches_of(seg, off, 8, &end), 5);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 1);
	write_at(seg, end + 16, junk, sizeof(junk));
	m.last = 20;
	{
		struct store *s = open_ok(&o);

		ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 1);
		ck_assert_ptr_nonnull(strstr(logs.last, seg));
		load_check(s, &m);
		append_ok(s, &m, 21, 3, 1, VARY);
		reopen_check(&s, &o, &m);
		store_close(s);
	}
}
END_TEST

static void expect_corrupt(const struct store_options *o, const char *seg,
			   uint64_t off)
{
	char err[4096];
	char want[128];
	struct store *s = NULL;

	ck_assert_int_eq(store_open(dir, o, &s, err, sizeof(err)), -EUCLEAN);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, seg) != NULL, "%s", err);
	snprintf(want, sizeof(want), "offset %llu", (unsigned long long)off);
	ck_assert_msg(strstr(err, want) != NULL, "want %s: %s", want, err);
	ck_assert_ptr_nonnull(strstr(err, "data directory"));
}

START_TEST(test_corrupt_middle_batch_data)
{
	static struct model m;
	struct store_options o = opts(0);
	char seg[64];
	uint64_t off[8], end;

	five_batches(&o, &m);
	newest_open(seg, sizeof(seg));
	ck_assert_uint_eq(batches_of(seg, off, 8, &end), 5);
	flip_byte(seg, off[2] + BATCH_HDR + 100);
	expect_corrupt(&o, seg, off[2]);
	/* Refusing must not have changed anything: still refused. */
	expect_corrupt(&o, seg, off[2]);
}
END_TEST

START_TEST(test_corrupt_middle_batch_header)
{
	static struct model m;
	struct store_options o = opts(0);
	char seg[64];
	uint64_t off[8], end;

	five_batches(&o, &m);
	newest_open(seg, sizeof(seg));
	ck_assert_uint_eq(batches_of(seg, off, 8, &end), 5);
	flip_byte(seg, off[3] + 17); /* the length field */
	expect_corrupt(&o, seg, off[3]);
}
END_TEST

START_TEST(test_corrupt_closed_segment)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct store *s = open_ok(&o);
	char seg[64];
	uint64_t off[64], end;
	unsigned n;

	for (raft_index i = 1; i <= 200; i += 10)
		append_ok(s, &m, i, 10, 1, 100);
	store_close(s);
	closed_holding(50, seg, sizeof(seg));
	n = batches_of(seg, off, 64, &end);
	ck_assert_uint_gt(n, 0);
	/* Even the last batch of a closed segment is not a torn tail. */
	flip_byte(seg, off[n - 1] + BATCH_HDR + 5);
	expect_corrupt(&o, seg, off[n - 1]);
}
END_TEST

START_TEST(test_missing_segment_is_a_gap)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct store *s = open_ok(&o);
	char seg[64], path[256];
	char err[4096];

	for (raft_index i = 1; i <= 200; i += 10)
		append_ok(s, &m, i, 10, 1, 100);
	store_close(s);
	closed_holding(100, seg, sizeof(seg));
	path_of(path, sizeof(path), seg);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(store_open(dir, &o, &s, err, sizeof(err)), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, "missing"));
}
END_TEST

START_TEST(test_leftovers_removed)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct store *s = open_ok(&o);
	char seg[64], from[256], to[256];
	static unsigned char junk[4096];
	int fd;

	for (raft_index i = 1; i <= 100; i += 10)
		append_ok(s, &m, i, 10, 1, 100);
	store_close(s);
	/* A closed segment whose rename never reached the disk. */
	closed_holding(30, seg, sizeof(seg));
	path_of(from, sizeof(from), seg);
	{
		size_t size;
		unsigned char *p = read_all(seg, &size);

		snprintf(to, sizeof(to), "%s/open-%llu", dir,
			 (unsigned long long)get_u64(p + 8));
		free(p);
	}
	ck_assert_int_eq(rename(from, to), 0);
	/* A new segment whose first write never landed, one whose
	 * first write was torn, and an unfinished snapshot. */
	path_of(to, sizeof(to), "open-1000");
	fd = open(to, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	path_of(to, sizeof(to), "open-1001");
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 13 + 5);
	fd = open(to, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	path_of(to, sizeof(to), "snapshot-1-5.tmp");
	fd = open(to, O_WRONLY | O_CREAT, 0600);
	close(fd);
	s = open_ok(&o);
	load_check(s, &m);
	/* The real open segment is no longer the newest: it was closed. */
	ck_assert_int_eq(count_files("open-"), 0);
	ck_assert_int_eq(count_files("snapshot"), 0);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 1); /* open-1001 */
	append_ok(s, &m, 101, 50, 2, VARY);
	reopen_check(&s, &o, &m);
	store_close(s);
}
END_TEST

/* ---- snapshots ------------------------------------------------------------------ */

static struct raft_config three_servers(void)
{
	struct raft_config c;

	memset(&c, 0, sizeof(c));
	c.n = 3;
	for (unsigned i = 0; i < 3; i++) {
		c.servers[i].id = i + 1;
		c.servers[i].role = i == 2 ? RAFT_LEARNER : RAFT_VOTER;
		snprintf(c.servers[i].addr, RAFT_ADDR_MAX, "10.0.0.%u:7400",
			 i + 1);
	}
	return c;
}

/* Half compressible text, half noise. */
static unsigned char *snapshot_data(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint64_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = i < len / 2 ? (unsigned char)("lease "[i % 6])
				   : (unsigned char)x;
	}
	return p;
}

static void check_snapshot(const struct raft_durable *d, raft_index index,
			   raft_term term, const unsigned char *data,
			   size_t len)
{
	struct raft_config c = three_servers();

	ck_assert_uint_eq(d->snap_index, index);
	ck_assert_uint_eq(d->snap_term, term);
	ck_assert_uint_eq(d->snap_config.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(d->snap_config.servers[i].id,
				  c.servers[i].id);
		ck_assert_uint_eq(d->snap_config.servers[i].role,
				  c.servers[i].role);
		ck_assert_str_eq(d->snap_config.servers[i].addr,
				 c.servers[i].addr);
	}
	ck_assert_uint_eq(d->snap_data.len, len);
	ck_assert(len == 0 || memcmp(d->snap_data.base, data, len) == 0);
}

START_TEST(test_snapshot_put_and_compaction)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct store *s = open_ok(&o);
	struct raft_config c = three_servers();
	size_t len = 300000;
	unsigned char *data = snapshot_data(len, 1);
	struct raft_durable d;
	char seg[64];

	for (raft_index i = 1; i <= 400; i += 10)
		append_ok(s, &m, i, 10, 1, 100);
	ck_assert_int_eq(store_snapshot_put(s, 300, 1, &c, data, len, 50), 0);
	/* Segments wholly at or below 250 are gone; 251.. stay. */
	{
		DIR *dd = opendir(dir);
		struct dirent *de;
		unsigned long long a, b;

		while ((de = readdir(dd)) != NULL)
			if (sscanf(de->d_name, "%llu-%llu", &a, &b) == 2)
				ck_assert_uint_gt(b, 250);
		closedir(dd);
	}
	closed_holding(260, seg, sizeof(seg));
	ck_assert_int_eq(store_load(s, &d), 0);
	check_snapshot(&d, 300, 1, data, len);
	check_log(&d, &m);
	store_close(s);
	s = open_ok(&o);
	ck_assert_int_eq(store_load(s, &d), 0);
	check_snapshot(&d, 300, 1, data, len);
	check_log(&d, &m);
	/* Truncation above the snapshot still works with the kept tail. */
	append_ok(s, &m, 350, 5, 2, VARY);
	/* A newer snapshot replaces the file of the older one. */
	free(data);
	data = snapshot_data(0, 2);
	ck_assert_int_eq(store_snapshot_put(s, 354, 2, &c, data, 0, 0), 0);
	ck_assert_int_eq(count_files("snapshot-"), 1);
	ck_assert_int_eq(count_files("snapshot-2-354"), 1);
	ck_assert_int_eq(append(s, NULL, 354, 1, 2, 1), -EINVAL);
	append_ok(s, &m, 355, 5, 2, VARY);
	store_close(s);
	s = open_ok(&o);
	ck_assert_int_eq(store_load(s, &d), 0);
	check_snapshot(&d, 354, 2, data, 0);
	check_log(&d, &m);
	store_close(s);
	free(data);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 0);
}
END_TEST

START_TEST(test_snapshot_install_discards_log)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct store *s = open_ok(&o);
	struct raft_config c = three_servers();
	unsigned char *data = snapshot_data(5000, 3);
	struct raft_durable d;

	for (raft_index i = 1; i <= 100; i += 10)
		append_ok(s, &m, i, 10, 1, 100);
	/* Behind our last index: our entries after it go too. */
	ck_assert_int_eq(store_snapshot_install(s, 60, 3, &c, data, 5000), 0);
	ck_assert_uint_eq(store_last_index(s), 60);
	ck_assert_int_eq(count_files("open-"), 0);
	ck_assert_int_eq(count_files("0000"), 0);
	ck_assert_int_eq(store_load(s, &d), 0);
	check_snapshot(&d, 60, 3, data, 5000);
	ck_assert_uint_eq(d.n_entries, 0);
	ck_assert_int_eq(append(s, NULL, 62, 1, 3, 1), -EINVAL);
	append_ok(s, &m, 61, 20, 3, VARY);
	store_close(s);
	s = open_ok(&o);
	ck_assert_int_eq(store_load(s, &d), 0);
	check_snapshot(&d, 60, 3, data, 5000);
	check_log(&d, &m);
	/* Ahead of our log. */
	ck_assert_int_eq(store_snapshot_install(s, 500, 4, &c, data, 10), 0);
	append_ok(s, &m, 501, 3, 4, VARY);
	store_close(s);
	s = open_ok(&o);
	ck_assert_int_eq(store_load(s, &d), 0);
	check_snapshot(&d, 500, 4, data, 10);
	check_log(&d, &m);
	store_close(s);
	free(data);
}
END_TEST

/* A crash half-way through removing the old log after an install. */
START_TEST(test_install_leftovers_ignored)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct faults f = { .always = 1u << STORE_IO_UNLINK,
			    .always_err = EIO };
	struct raft_config c = three_servers();
	struct raft_durable d;
	struct store *s;

	o.fault = fault_cb;
	o.fault_arg = &f;
	s = open_ok(&o);
	for (raft_index i = 1; i <= 100; i += 10)
		append_ok(s, &m, i, 10, 1, 100);
	ck_assert_int_eq(store_snapshot_install(s, 50, 2, &c, "x", 1), 0);
	ck_assert_int_ge(logs.count[STORE_LOG_WARNING], 1);
	ck_assert_int_gt(count_files("0000"), 0);
	append_ok(s, &m, 51, 5, 2, VARY);
	store_close(s);
	f.always = 0;
	s = open_ok(&o);
	ck_assert_int_eq(store_load(s, &d), 0);
	ck_assert_uint_eq(d.snap_index, 50);
	check_log(&d, &m);
	ck_assert_int_eq(count_files("0000"), 0);
	store_close(s);
}
END_TEST

START_TEST(test_snapshot_checksum_detects_damage)
{
	struct store_options o = opts(0);
	struct store *s = open_ok(&o);
	struct raft_config c = three_servers();
	size_t len = 200000, size;
	unsigned char *data = snapshot_data(len, 4);
	unsigned char *file;
	char err[4096];

	append_ok(s, NULL, 1, 10, 1, 10);
	ck_assert_int_eq(store_snapshot_put(s, 10, 1, &c, data, len, 0), 0);
	store_close(s);
	file = read_all("snapshot-1-10", &size);
	free(file);
	/* In the incompressible half of the data. */
	flip_byte("snapshot-1-10", size - 1000);
	ck_assert_int_eq(store_open(dir, &o, &s, err, sizeof(err)), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, "snapshot-1-10"));
	flip_byte("snapshot-1-10", size - 1000);
	s = open_ok(&o);
	store_close(s);
	/* The content checksum itself (last 4 bytes of the frame). */
	flip_byte("snapshot-1-10", size - 2);
	ck_assert_int_eq(store_open(dir, &o, &s, err, sizeof(err)), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, "snapshot-1-10"));
	flip_byte("snapshot-1-10", size - 2);
	/* The header. */
	flip_byte("snapshot-1-10", 9);
	ck_assert_int_eq(store_open(dir, &o, &s, err, sizeof(err)), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(err, "offset 0"));
	free(data);
}
END_TEST

/* ---- disk errors ------------------------------------------------------------- */

START_TEST(test_enospc_on_new_segment)
{
	static struct model m;
	struct store_options o = opts(4096);
	struct faults f = { 0 };
	struct store *s;
	int rc;

	o.fault = fault_cb;
	o.fault_arg = &f;
	s = open_ok(&o);
	append_ok(s, &m, 1, 10, 1, 100);
	f.always = 1u << STORE_IO_ALLOC;
	f.always_err = ENOSPC;
	/* Fill the segment until the next batch needs a new one. */
	for (rc = 0; rc == 0;)
		rc = append(s, &m, m.last + 1, 5, 1, 100);
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_ptr_nonnull(strstr(store_last_error(s), "No space"));
	ck_assert_int_eq(append(s, &m, m.last + 1, 5, 1, 100), -ENOSPC);
	load_check(s, &m);
	/* Space is back: the same store carries on. */
	f.always = 0;
	append_ok(s, &m, m.last + 1, 5, 1, 100);
	reopen_check(&s, &o, &m);
	store_close(s);
}
END_TEST

static void fail_once(enum store_io op, int err)
{
	static struct model m;
	struct store_options o = opts(0);
	struct faults f = { .mask = 1u << op, .err = err };
	struct store *s;

	o.fault = fault_cb;
	o.fault_arg = &f;
	s = open_ok(&o);
	append_ok(s, &m, 1, 10, 1, 100);
	f.countdown = 1;
	ck_assert_int_eq(append(s, &m, 11, 10, 1, 100), -err);
	ck_assert_int_eq(f.fired, 1);
	load_check(s, &m);
	append_ok(s, &m, 11, 10, 2, 100);
	load_check(s, &m);
	reopen_check(&s, &o, &m);
	store_close(s);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 0);
}

START_TEST(test_eio_on_write)
{
	fail_once(STORE_IO_WRITE, EIO);
}
END_TEST

START_TEST(test_enospc_on_write)
{
	fail_once(STORE_IO_WRITE, ENOSPC);
}
END_TEST

START_TEST(test_eio_on_sync)
{
	fail_once(STORE_IO_SYNC, EIO);
}
END_TEST

/* The write fails and so does cutting it off: refuse further writes, and
 * a restart cuts the half batch as a torn tail. */
START_TEST(test_failed_rollback_breaks_store)
{
	static struct model m;
	struct store_options o = opts(0);
	struct faults f = { .mask = 1u << STORE_IO_WRITE, .err = EIO };
	struct store *s;

	o.fault = fault_cb;
	o.fault_arg = &f;
	s = open_ok(&o);
	append_ok(s, &m, 1, 10, 1, 100);
	f.countdown = 1;
	f.always = 1u << STORE_IO_TRUNCATE;
	f.always_err = EIO;
	ck_assert_int_eq(append(s, NULL, 11, 10, 1, 100), -EIO);
	ck_assert_ptr_nonnull(strstr(store_last_error(s), "restart"));
	f.always = 0;
	ck_assert_int_eq(append(s, NULL, 11, 10, 1, 100), -EIO);
	ck_assert_int_eq(store_set_hard_state(s, 1, 1), -EIO);
	store_close(s);
	s = open_ok(&o);
	ck_assert_int_eq(logs.count[STORE_LOG_WARNING], 1);
	load_check(s, &m);
	store_close(s);
}
END_TEST

START_TEST(test_hard_state_write_failure)
{
	struct store_options o = opts(0);
	struct faults f = { .mask = 1u << STORE_IO_WRITE, .err = EIO };
	struct store *s;

	o.fault = fault_cb;
	o.fault_arg = &f;
	s = open_ok(&o);
	ck_assert_int_eq(store_set_hard_state(s, 1, 1), 0);
	ck_assert_int_eq(store_set_hard_state(s, 2, 1), 0);
	f.countdown = 1;
	ck_assert_int_eq(store_set_hard_state(s, 3, 1), -EIO);
	check_hard_state(s, 2, 1);
	store_close(s);
	s = open_ok(&o);
	check_hard_state(s, 2, 1);
	ck_assert_int_eq(store_set_hard_state(s, 3, 2), 0);
	store_close(s);
	s = open_ok(&o);
	check_hard_state(s, 3, 2);
	store_close(s);
}
END_TEST

/*
 * The sweep: run one workload (appends, truncations into the open and the
 * closed segments, snapshots, term changes) and fail its k-th I/O
 * operation, for every k until the workload runs clean.  After the
 * failure the directory must reopen without complaint and hold a log that
 * keeps every entry the failed call was not allowed to discard: the old
 * log or a prefix of it down to the call's first index, or the new log.
 */
struct step {
	char op; /* 'a' append, 's' snapshot put, 'h' hard state */
	raft_index first;
	unsigned n;
	raft_term term;
};

static const struct step workload[] = {
	{ 'h', 0, 0, 1 },   { 'a', 1, 20, 1 },  { 'a', 21, 30, 1 },
	{ 'a', 51, 5, 1 },  { 'a', 45, 20, 2 }, { 'h', 0, 0, 3 },
	{ 'a', 65, 40, 3 }, { 'a', 30, 3, 3 },  { 's', 25, 0, 0 },
	{ 'a', 33, 60, 3 }, { 'a', 90, 1, 4 },  { 'a', 91, 30, 4 },
};

static bool model_prefix_of(const struct raft_durable *d, const struct model *m,
			    raft_index min_last)
{
	raft_index last = d->snap_index + d->n_entries;

	if (last < min_last || last > m->last)
		return false;
	for (unsigned i = 0; i < d->n_entries; i++) {
		raft_index idx = d->snap_index + 1 + i;

		if (d->entries[i].term != m->term[idx] ||
		    d->entries[i].data.len != m->len[idx])
			return false;
	}
	return true;
}

static int run_step(struct store *s, struct model *m, const struct step *w)
{
	struct raft_config c = three_servers();

	switch (w->op) {
	case 'h':
		return store_set_hard_state(s, w->term, 0);
	case 's':
		return store_snapshot_put(s, w->first, m->term[w->first], &c,
					  "state", 5, 10);
	default:
		return append(s, m, w->first, w->n, w->term, VARY);
	}
}

/* Returns whether the k-th operation was reached. */
static bool sweep_once(int k)
{
	static struct model before, after;
	struct store_options o = opts(4096);
	struct faults f = { .mask = ~0u, .err = EIO };
	struct raft_durable d;
	struct store *s;
	size_t i;
	int rc = 0;

	memset(&after, 0, sizeof(after));
	o.fault = fault_cb;
	o.fault_arg = &f;
	s = open_ok(&o);
	f.countdown = k;
	for (i = 0; i < sizeof(workload) / sizeof(*workload); i++) {
		before = after;
		rc = run_step(s, &after, &workload[i]);
		if (rc != 0)
			break;
	}
	store_close(s);
	if (f.fired == 0) {
		ck_assert_int_eq(rc, 0);
		return false;
	}
	o.fault = NULL;
	s = open_ok(&o);
	ck_assert_int_eq(store_load(s, &d), 0);
	if (rc == 0) {
		/* Only cleanup failed (removing a file that is no longer
		 * needed): said so, and lost nothing. */
		ck_assert_int_gt(logs.count[STORE_LOG_WARNING], 0);
		ck_assert(model_prefix_of(&d, &after, after.last));
	} else if (workload[i].op == 'a') {
		raft_index keep = workload[i].first - 1;

		if (keep > before.last)
			keep = before.last;
		ck_assert_msg(model_prefix_of(&d, &before, keep) ||
				      model_prefix_of(&d, &after, after.last),
			      "k=%d step %zu: log ends at %llu", k, i,
			      (unsigned long long)(d.snap_index + d.n_entries));
	} else {
		ck_assert(model_prefix_of(&d, &before, before.last));
	}
	/* And the store takes writes again. */
	append_ok(s, NULL, d.snap_index + d.n_entries + 1, 3, 9, 10);
	store_close(s);
	return true;
}

START_TEST(test_fault_sweep)
{
	int k = 1;

	/* Each round in a fresh directory. */
	while (sweep_once(k)) {
		teardown();
		setup();
		k++;
	}
	ck_assert_int_gt(k, 50);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *basic = tcase_create("log");
	TCase *meta = tcase_create("hard_state");
	TCase *damage = tcase_create("damage");
	TCase *snap = tcase_create("snapshot");
	TCase *faults = tcase_create("faults");

	tcase_add_checked_fixture(basic, setup, teardown);
	tcase_add_checked_fixture(meta, setup, teardown);
	tcase_add_checked_fixture(damage, setup, teardown);
	tcase_add_checked_fixture(snap, setup, teardown);
	tcase_add_checked_fixture(faults, setup, teardown);
	tcase_set_timeout(basic, 120);
	tcase_set_timeout(damage, 60);
	tcase_set_timeout(snap, 60);
	tcase_set_timeout(faults, 300);

	tcase_add_test(basic, test_empty_store);
	tcase_add_test(basic, test_roundtrip_many_segments);
	tcase_add_test(basic, test_large_and_empty_entries);
	tcase_add_test(basic, test_truncate_inside_open_segment);
	tcase_add_test(basic, test_truncate_into_closed_segments);
	tcase_add_test(basic, test_discard_only);
	tcase_add_test(basic, test_append_argument_errors);
	tcase_add_test(basic, test_directory_lock);

	tcase_add_test(meta, test_hard_state);
	tcase_add_test(meta, test_hard_state_one_file_damaged);
	tcase_add_test(meta, test_hard_state_empty_file);

	tcase_add_test(damage, test_torn_tail_short_file);
	tcase_add_test(damage, test_torn_tail_zeroed);
	tcase_add_test(damage, test_torn_tail_first_part_zero);
	tcase_add_test(damage, test_torn_tail_bad_crc);
	tcase_add_test(damage, test_garbage_after_tail);
	tcase_add_test(damage, test_corrupt_middle_batch_data);
	tcase_add_test(damage, test_corrupt_middle_batch_header);
	tcase_add_test(damage, test_corrupt_closed_segment);
	tcase_add_test(damage, test_missing_segment_is_a_gap);
	tcase_add_test(damage, test_leftovers_removed);

	tcase_add_test(snap, test_snapshot_put_and_compaction);
	tcase_add_test(snap, test_snapshot_install_discards_log);
	tcase_add_test(snap, test_install_leftovers_ignored);
	tcase_add_test(snap, test_snapshot_checksum_detects_damage);

	tcase_add_test(faults, test_enospc_on_new_segment);
	tcase_add_test(faults, test_eio_on_write);
	tcase_add_test(faults, test_enospc_on_write);
	tcase_add_test(faults, test_eio_on_sync);
	tcase_add_test(faults, test_failed_rollback_breaks_store);
	tcase_add_test(faults, test_hard_state_write_failure);
	tcase_add_test(faults, test_fault_sweep);
	suite_add_tcase(s, basic);
	suite_add_tcase(s, meta);
	suite_add_tcase(s, damage);
	suite_add_tcase(s, snap);
	suite_add_tcase(s, faults);
	return s;
}
