/*
 * bench_store.c — durable append throughput and latency of raft/store.c,
 * with real fdatasync, beside the disk's own cost of one small synced
 * write, so the store's overhead over a bare fsync is visible.
 *
 * Everything runs in a fresh directory under o->dir, removed afterwards.
 * Each append call is one batch and one fdatasync; its latency is what a
 * follower adds to a commit.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "raft/store.h"
#include "tests/bench/bench.h"

#define ENTRY_BYTES 128
#define RAW_BYTES 4096
#define RAW_FILE_BYTES ((off_t)8 << 20)

struct samples {
	double *ms;
	size_t n;
	size_t cap;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int samples_add(struct samples *s, double ms)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		double *v = realloc(s->ms, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		s->ms = v;
		s->cap = cap;
	}
	s->ms[s->n++] = ms;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double percentile(const struct samples *s, double p)
{
	size_t k;

	if (s->n == 0)
		return 0;
	k = (size_t)(p / 100.0 * (double)s->n);
	return s->ms[k < s->n ? k : s->n - 1];
}

struct figures {
	double ops_per_sec;
	double p50;
	double p99;
};

static void summarize(struct samples *s, double elapsed_ms, struct figures *f)
{
	qsort(s->ms, s->n, sizeof(*s->ms), cmp_double);
	f->ops_per_sec = elapsed_ms > 0 ? (double)s->n * 1e3 / elapsed_ms : 0;
	f->p50 = percentile(s, 50);
	f->p99 = percentile(s, 99);
}

/*
 * ---- baseline: 4 KiB pwrite + fdatasync ---------------------------------
 *
 * Two flavours: overwriting blocks that were written before (the cheapest
 * durable write there is: data only), and writing into fallocate'd space,
 * where the file system must also record that the block is now written,
 * as it does for the store's pre-allocated segments.
 */

static int raw_loop(int fd, double seconds, struct samples *s, double *el)
{
	static unsigned char buf[RAW_BYTES];
	double start = now_ms(), t;
	off_t off = 0;

	memset(buf, 0xab, sizeof(buf));
	do {
		t = now_ms();
		if (pwrite(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf) ||
		    fdatasync(fd) < 0)
			return -errno;
		if (samples_add(s, now_ms() - t) < 0)
			return -ENOMEM;
		off = (off + RAW_BYTES) % RAW_FILE_BYTES;
	} while (now_ms() - start < seconds * 1e3);
	*el = now_ms() - start;
	return 0;
}

/* Writes the whole file once, so later writes are overwrites. */
static int fill_file(int fd)
{
	static unsigned char zeros[1 << 16];

	for (off_t off = 0; off < RAW_FILE_BYTES; off += sizeof(zeros))
		if (pwrite(fd, zeros, sizeof(zeros), off) !=
		    (ssize_t)sizeof(zeros))
			return -errno;
	return 0;
}

static int bench_raw(const char *root, const struct bench_opts *o, bool written,
		     struct figures *f)
{
	struct samples s = { 0 };
	char path[PATH_MAX];
	double elapsed = 0;
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s/raw", root) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	rc = written ? fill_file(fd) : -posix_fallocate(fd, 0, RAW_FILE_BYTES);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc == 0)
		rc = raw_loop(fd, o->seconds, &s, &elapsed);
	close(fd);
	unlink(path);
	if (rc == 0)
		summarize(&s, elapsed, f);
	free(s.ms);
	if (rc < 0)
		fprintf(stderr, "bench store: raw write in %s: %s\n", root,
			strerror(-rc));
	return rc;
}

/* ---- store appends -------------------------------------------------------- */

struct append_run {
	struct store *st;
	struct raft_entry *e;
	unsigned batch;
	raft_index next;
};

static int append_loop(struct append_run *r, double seconds, struct samples *s,
		       double *el)
{
	double start = now_ms(), t;
	int rc;

	do {
		for (unsigned i = 0; i < r->batch; i++)
			r->e[i].index = r->next + i;
		t = now_ms();
		rc = store_append(r->st, r->next, r->e, r->batch);
		if (rc < 0) {
			fprintf(stderr, "bench store: %s\n",
				store_last_error(r->st));
			return rc;
		}
		if (samples_add(s, now_ms() - t) < 0)
			return -ENOMEM;
		r->next += r->batch;
	} while (now_ms() - start < seconds * 1e3);
	*el = now_ms() - start;
	return 0;
}

static int bench_append(const char *root, unsigned batch,
			const struct bench_opts *o, struct figures *f)
{
	static unsigned char payload[ENTRY_BYTES];
	struct append_run r = { .batch = batch, .next = 1 };
	struct samples s = { 0 };
	char path[PATH_MAX], err[1024];
	double elapsed = 0;
	int rc;

	memset(payload, 0x5c, sizeof(payload));
	if (snprintf(path, sizeof(path), "%s/append-%u", root, batch) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	r.e = calloc(batch, sizeof(*r.e));
	if (r.e == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < batch; i++) {
		r.e[i].term = 1;
		r.e[i].type = RAFT_ENTRY_NORMAL;
		r.e[i].data.base = payload;
		r.e[i].data.len = sizeof(payload);
	}
	rc = store_open(path, NULL, &r.st, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "bench store: %s\n", err);
	else
		rc = append_loop(&r, o->seconds, &s, &elapsed);
	store_close(r.st);
	if (rc == 0)
		summarize(&s, elapsed, f);
	free(s.ms);
	free(r.e);
	return rc;
}

/* ---- output ------------------------------------------------------------------ */

static void print_raw(const struct bench_opts *o, bool written,
		      const struct figures *f)
{
	if (o->json)
		printf("{\"bench\":\"raw_fdatasync\",\"write_bytes\":%d,"
		       "\"into\":\"%s\",\"ops_per_sec\":%.1f,"
		       "\"fsync_p50_ms\":%.3f,\"fsync_p99_ms\":%.3f}\n",
		       RAW_BYTES, written ? "written" : "fallocated",
		       f->ops_per_sec, f->p50, f->p99);
	else
		printf("store: raw %d B pwrite+fdatasync into %s blocks: "
		       "%.0f ops/s, p50 %.3f ms, p99 %.3f ms\n",
		       RAW_BYTES, written ? "written" : "fallocated",
		       f->ops_per_sec, f->p50, f->p99);
}

static void print_append(const struct bench_opts *o, unsigned batch,
			 const struct figures *f, const struct figures *raw)
{
	if (o->json)
		printf("{\"bench\":\"store_append\",\"batch\":%u,"
		       "\"entry_bytes\":%d,\"entries_per_sec\":%.1f,"
		       "\"batches_per_sec\":%.1f,\"fsync_p50_ms\":%.3f,"
		       "\"fsync_p99_ms\":%.3f,\"overhead_p50_ms\":%.3f}\n",
		       batch, ENTRY_BYTES, f->ops_per_sec * batch,
		       f->ops_per_sec, f->p50, f->p99, f->p50 - raw->p50);
	else
		printf("store: append %3u x %d B per fdatasync: %.0f "
		       "entries/s, "
		       "%.0f batches/s, p50 %.3f ms, p99 %.3f ms "
		       "(p50 %+.3f ms over a raw overwrite)\n",
		       batch, ENTRY_BYTES, f->ops_per_sec * batch,
		       f->ops_per_sec, f->p50, f->p99, f->p50 - raw->p50);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int bench_store(const struct bench_opts *o)
{
	static const unsigned batches[] = { 1, 16, 256 };
	struct figures raw, fal, f;
	char root[PATH_MAX];
	int rc;

	if (snprintf(root, sizeof(root), "%s/tenure-bench-store-XXXXXX",
		     o->dir) >= (int)sizeof(root) ||
	    mkdtemp(root) == NULL) {
		fprintf(stderr,
			"bench store: cannot create a directory in "
			"%s: %s\n",
			o->dir, strerror(errno));
		return 1;
	}
	rc = bench_raw(root, o, true, &raw);
	if (rc == 0)
		print_raw(o, true, &raw);
	if (rc == 0)
		rc = bench_raw(root, o, false, &fal);
	if (rc == 0)
		print_raw(o, false, &fal);
	for (size_t i = 0; rc == 0 && i < sizeof(batches) / sizeof(*batches);
	     i++) {
		rc = bench_append(root, batches[i], o, &f);
		if (rc == 0)
			print_append(o, batches[i], &f, &raw);
	}
	fflush(stdout);
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc == 0 ? 0 : 1;
}
