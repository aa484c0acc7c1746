/*
 * store_int.h — internals shared by the store's files: on-disk formats,
 * the store struct, I/O wrappers, and the functions each file exports to
 * the others.  Nothing here is part of the store's API.
 *
 * On-disk layout of a data directory
 * ----------------------------------
 *   metadata1, metadata2      term and vote, written alternately
 *   open-<counter>            the segment being appended to
 *   <first>-<last>            closed segments (16-digit, zero-padded)
 *   snapshot-<term>-<index>   the latest snapshot
 *   *.tmp                     snapshot being written; removed at open
 *
 * Every integer is little-endian.  Every segment (open or closed) starts
 * with a segment header; its counter, taken from a per-directory sequence,
 * orders segments in the order they were created, which is the order in
 * which their batches must be replayed.  A batch is one append call:
 *
 *   segment header (32 bytes)
 *     0 u32 magic "TSEG"   4 u16 version   6 u16 zero
 *     8 u64 counter       16 u64 nonce    24 u32 zero   28 u32 crc[0,28)
 *   batch header (48 bytes), batches start 8-byte aligned
 *     0 u32 magic "TBAT"   4 u16 version   6 u16 zero   8 u32 n_entries
 *    12 u32 zero          16 u64 length of the whole batch (header, entries,
 *                            padding)    24 u64 first index
 *    32 u64 segment nonce 40 u32 crc of bytes [48, length)
 *    44 u32 crc of bytes [0, 44)
 *   per entry: 24-byte header, then data padded with zeros to 8 bytes
 *     0 u64 term   8 u64 index   16 u32 length   20 u8 type   21 3 x zero
 *
 * Replaying batches in (segment counter, offset) order with the rule
 * "discard entries >= first, then append" rebuilds the log.  So the log
 * is only ever appended to: discarding a suffix is writing a batch whose
 * first index is at or below the last one (with no entries if there is
 * nothing to put in its place), and old data is never touched before the
 * batch that replaces it is durable.  The nonce is random per
 * segment: a batch header found inside entry data (which clients choose)
 * never passes for a real one, which matters when recovery looks past a
 * damaged batch for valid data to tell corruption from a torn tail.
 *
 * Errors: like store.h, 0 or a negative errno; the io_* wrappers record the
 * message for store_last_error() themselves.  The batch checks return enum
 * check_result, not an error.
 */
#ifndef TENURE_STORE_INT_H
#define TENURE_STORE_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "raft/raft.h"
#include "raft/store.h"

/* ---- formats ------------------------------------------------------------ */

#define SEG_MAGIC 0x47455354u /* "TSEG" */
#define SEG_VERSION 1
#define SEG_HDR 32
#define BATCH_MAGIC 0x54414254u /* "TBAT" */
#define BATCH_VERSION 1
#define BATCH_HDR 48
#define ENTRY_HDR 24
#define META_MAGIC 0x54454d54u /* "TMET" */
#define META_VERSION 1
#define META_SIZE 40
#define SNAP_MAGIC 0x504e5354u /* "TSNP" */
#define SNAP_VERSION 1
#define SNAP_HDR 64

/* Sanity bounds that keep a damaged length from turning into a huge
 * allocation; far above anything Raft sends. */
#define BATCH_MAX_ENTRIES (1u << 24)
#define ENTRY_MAX_BYTES ((uint64_t)1 << 31)
#define SNAP_MAX_CONFIG 65536

#define STORE_NAME_MAX 64
#define STORE_ERR_MAX 1024

static inline uint64_t pad8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

static inline void put_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t get_u16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_u32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---- in-memory state ------------------------------------------------------ */

/* Where one batch lies in a segment file (recovery). */
struct seg_batch {
	uint64_t off;
	uint64_t len;
	raft_index first;
	uint32_t n;
};

struct seg_batches {
	struct seg_batch *b;
	unsigned n;
	unsigned cap;
};

/* A closed segment: immutable; [first, last] are its entries still in the
 * log (a later batch may have superseded the rest). */
struct seg_closed {
	char name[STORE_NAME_MAX];
	uint64_t counter;
	raft_index first;
	raft_index last;
};

/* The segment being appended to.  Bytes [0, used) hold the header and the
 * batches; [used, alloc) are pre-allocated zeros. */
struct seg_open {
	int fd; /* -1: none yet */
	char name[STORE_NAME_MAX];
	uint64_t counter;
	uint64_t nonce;
	uint64_t used;
	uint64_t alloc;
	unsigned nb;      /* batches written */
	raft_index first; /* lowest first index of its batches */
	raft_index last;  /* last index of its last batch */
};

/* What store_load hands out, kept until the next call. */
struct store_loaded {
	bool valid;
	struct raft_durable d;
	struct raft_entry *entries;
	unsigned char **bufs; /* file contents the entries point into */
	unsigned nbufs;
	void *snap_data;
};

struct store {
	char *dir;
	int dirfd;
	struct store_options opt;

	/* term and vote (store_meta.c) */
	raft_term term;
	raft_id vote;
	uint64_t meta_seq;   /* version of the newest metadata file */
	bool meta_exists[2]; /* metadata1, metadata2 */

	/* snapshot (store_snapshot.c) */
	raft_index snap_index;
	raft_term snap_term;
	uint64_t epoch; /* segments with a lower counter are discarded */
	char snap_name[STORE_NAME_MAX];

	/* log (store_segment.c) */
	raft_index last; /* last index; snap_index when the log is empty */
	struct seg_closed *closed;
	unsigned n_closed;
	unsigned cap_closed;
	struct seg_open open;
	uint64_t next_counter;
	unsigned char *wbuf; /* batch being encoded */
	size_t wcap;

	struct store_loaded loaded;
	int broken; /* negative errno that made the store unusable, or 0 */
	char err[STORE_ERR_MAX];
};

/* ---- store.c: errors, log lines, helpers -------------------------------- */

void store_set_error(struct store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void store_log(struct store *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The advice appended to every corruption message. */
extern const char store_corrupt_hint[];
void store_loaded_free(struct store *s);
/* Refuses mutating calls once the store is broken; frees load results. */
int store_begin_write(struct store *s);

/* ---- store_io.c: system calls with fault injection and messages ---------- */

int io_open(struct store *s, const char *name, int flags, int *fd);
int io_pwrite(struct store *s, int fd, const char *name, const void *buf,
	      size_t len, uint64_t off);
int io_pread(struct store *s, int fd, const char *name, void *buf, size_t len,
	     uint64_t off);
int io_read_file(struct store *s, const char *name, unsigned char **buf,
		 uint64_t *size);
int io_fdatasync(struct store *s, int fd, const char *name);
int io_sync_dir(struct store *s);
int io_fallocate(struct store *s, int fd, const char *name, uint64_t size);
int io_ftruncate(struct store *s, int fd, const char *name, uint64_t size);
int io_rename(struct store *s, const char *from, const char *to);
int io_unlink(struct store *s, const char *name);
int io_random_u64(uint64_t *out);

/* Names in the directory, sorted into kinds. */
struct dir_list {
	char (*seg)[STORE_NAME_MAX]; /* open-N and A-B */
	unsigned n_seg;
	char (*snap)[STORE_NAME_MAX]; /* snapshot-T-I */
	unsigned n_snap;
	char (*tmp)[STORE_NAME_MAX]; /* *.tmp */
	unsigned n_tmp;
};
int dir_list_read(struct store *s, struct dir_list *l);
void dir_list_free(struct dir_list *l);
bool name_parse_open(const char *name, uint64_t *counter);
bool name_parse_closed(const char *name, raft_index *first, raft_index *last);
bool name_parse_snapshot(const char *name, raft_term *term, raft_index *index);

/* ---- store_batch.c: batch and segment header codec ---------------------- */

struct batch_info {
	uint64_t len;
	raft_index first;
	uint32_t n;
};

enum check_status {
	CHECK_OK = 0,
	CHECK_BAD,   /* damaged or torn: see why */
	CHECK_NEWER, /* intact, but a format this build does not know */
};

uint64_t batch_size(const struct raft_entry *e, unsigned n);
void batch_encode(unsigned char *p, uint64_t nonce, raft_index first,
		  const struct raft_entry *e, unsigned n, uint64_t len);
int batch_check(const unsigned char *p, uint64_t avail, uint64_t nonce,
		bool any_nonce, struct batch_info *bi, const char **why);
void batch_decode(const unsigned char *p, const struct batch_info *bi,
		  struct raft_entry *out);
bool batch_header_plausible(const unsigned char *p, uint64_t avail,
			    uint64_t nonce, bool any_nonce);
void seg_header_encode(unsigned char *p, uint64_t counter, uint64_t nonce);
int seg_header_check(const unsigned char *p, uint64_t avail, uint64_t *counter,
		     uint64_t *nonce, const char **why);
bool all_zero(const unsigned char *p, uint64_t len);

/* ---- store_meta.c --------------------------------------------------------- */

int meta_load(struct store *s);

/* ---- store_snapshot.c ---------------------------------------------------- */

struct snap_read {
	raft_index index;
	raft_term term;
	uint64_t epoch;
	struct raft_config config;
	void *data;
	size_t len;
};

int snap_read(struct store *s, const char *name, struct snap_read *out);
/* At open: pick and verify the newest snapshot; remove older ones. */
int snap_recover(struct store *s, const struct dir_list *l,
		 struct snap_read *out, bool repair);

/* ---- store_segment.c: the log while running ------------------------------ */

int seg_closed_push(struct store *s, const struct seg_closed *c);
void seg_open_reset(struct store *s);
int seg_batch_push(struct seg_batches *v, const struct seg_batch *b);
/* The name a segment with these batches gets when closed. */
void seg_closed_name(char *name, raft_index first, raft_index last);
/* Remove closed segments whose entries are all <= upto. */
void seg_compact(struct store *s, raft_index upto);
/* Remove every segment (after a snapshot install). */
void seg_drop_all(struct store *s);

/* ---- store_recover.c: the scan at open and behind store_load ------------ */

/* Reads every segment and replays it.  With repair (at open) it also cuts
 * a torn tail, removes leftovers, and sets up the running state. */
int recover_log(struct store *s, const struct dir_list *l,
		const struct snap_read *snap, bool repair);

#endif /* TENURE_STORE_INT_H */
