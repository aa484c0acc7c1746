/*
 * store.h — the durable state of one Raft node: term and vote, the log, and
 * the latest snapshot, in one data directory.
 *
 * Contract
 * --------
 * Every call is synchronous: when a mutating call returns 0, what it wrote
 * is on stable storage (fdatasync'ed, and the directory fsync'ed when files
 * were created, renamed or removed).  A store is used by one thread at a
 * time; different stores share nothing, so several can live in one process.
 *
 * Errors: functions return 0 or a negative errno value:
 *   -EUCLEAN   the data directory is damaged (store_open only); the message
 *              names the file and byte offset and says what to do
 *   -EBUSY     the directory is locked by another store (another process)
 *   -EINVAL    an argument breaks the rules below (a caller bug)
 *   -ENOMEM    out of memory
 *   other      the errno of the system call that failed (-ENOSPC, -EIO...)
 * store_last_error() then says what failed, on which file and at which
 * offset.  The store never aborts on an I/O error.
 *
 * The log.  store_append(s, first, e, n) discards every entry with index
 * >= first, then appends e[0..n) (e[i].index must be first + i, and first
 * must lie in (snapshot index, last index + 1]).  One call is one batch
 * with its CRCs, written with one pwrite and one fdatasync (group commit:
 * give it many entries), discarding included: a batch starting at or
 * below the last index supersedes the older entries when the log is read
 * back, so nothing already durable is touched before the new batch is.
 * Creating a new segment file adds a directory fsync.
 *
 * When store_append fails, the durable log is exactly what it was before
 * the call: the partial write is cut off again and that cut is synced.
 * If even the cut fails, the store refuses every later mutating call with
 * the same error: restart the node, and store_open rebuilds a consistent
 * state from disk (the write's own fate is then decided by its checksums).
 * Otherwise the store stays usable: after -ENOSPC, retry once space is
 * free.
 *
 * Term and vote: store_set_hard_state() writes them durably, alternating
 * between two files so a torn write always leaves the previous value.  It
 * refuses (-EINVAL) a lower term, or another vote in the same term: either
 * would let this node vote twice.
 *
 * Snapshots: store_snapshot_put() stores a snapshot the application took of
 * its state up to `index` (which must be in the log), then removes log
 * segments wholly at or below index - trailing.  store_snapshot_install()
 * stores a snapshot received from the leader and discards the whole log;
 * the next append then starts at index + 1.  Each is atomic: after a crash
 * either the old or the new snapshot (with its log) is found.
 *
 * Recovery (store_open): a torn write at the very end of the log (the batch
 * that was being written when the machine stopped) is cut off and reported
 * through the log callback.  Any other damage (a bad checksum or malformed
 * batch with valid data after it, a gap, a snapshot whose checksum fails)
 * makes store_open fail with -EUCLEAN: the node must not start with a log
 * it cannot trust.
 */
#ifndef TENURE_STORE_H
#define TENURE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

struct store; /* opaque */

/* Operations a fault hook can make fail (tests only). */
enum store_io {
	STORE_IO_OPEN = 1, /* open/create a file */
	STORE_IO_READ,
	STORE_IO_WRITE, /* a failed write has written about half */
	STORE_IO_SYNC,  /* fsync/fdatasync of a file or the directory */
	STORE_IO_ALLOC, /* pre-allocation of a segment */
	STORE_IO_TRUNCATE,
	STORE_IO_RENAME,
	STORE_IO_UNLINK,
};

enum store_log_level {
	STORE_LOG_INFO = 1,
	STORE_LOG_WARNING,
	STORE_LOG_ERROR,
};

struct store_options {
	/* Bytes pre-allocated for each open segment (a larger batch gets a
	 * segment of its own size).  0: STORE_SEGMENT_SIZE_DEFAULT. */
	size_t segment_size;
	/* lz4 acceleration for snapshots: 0 (and below) is lz4's default,
	 * higher is faster and compresses less. */
	int snapshot_lz4_level;
	/* One line per event worth an operator's attention (torn tail cut,
	 * leftover file removed).  NULL: "tenure store: LEVEL: msg" on
	 * stderr. */
	void (*log)(void *arg, int level, const char *msg);
	void *log_arg;
	/* Fault injection for tests: called before each I/O operation; a
	 * non-zero return is an errno that the operation then fails with.
	 * `file` is the name inside the data directory ("." for it). */
	int (*fault)(void *arg, enum store_io op, const char *file);
	void *fault_arg;
};

#define STORE_SEGMENT_SIZE_DEFAULT ((size_t)8 << 20)

void store_options_default(struct store_options *o);

/* Open (creating `dir` and its parents if missing) and recover.  o may be
 * NULL for the defaults.  On failure *out is NULL and err (if errlen > 0)
 * holds the reason. */
int store_open(const char *dir, const struct store_options *o,
	       struct store **out, char *err, size_t errlen);

/* Everything durable: term, vote, the latest snapshot (snap_index 0: none)
 * and the entries after it.  The memory behind *out belongs to the store
 * and stays valid until the next call on the store other than
 * store_last_error() and store_last_index(), or store_close().  The first
 * load after store_open hands out what recovery read; a later one reads
 * the files again. */
int store_load(struct store *s, struct raft_durable *out);

int store_set_hard_state(struct store *s, raft_term term, raft_id voted_for);

int store_append(struct store *s, raft_index first, const struct raft_entry *e,
		 unsigned n);

int store_snapshot_put(struct store *s, raft_index index, raft_term term,
		       const struct raft_config *c, const void *data,
		       size_t len, raft_index trailing);

int store_snapshot_install(struct store *s, raft_index index, raft_term term,
			   const struct raft_config *c, const void *data,
			   size_t len);

/* Last index in the log (the snapshot index when the log is empty). */
raft_index store_last_index(const struct store *s);

void store_close(struct store *s);

/* What the last failed call failed on: file, offset, reason, what to do.
 * "" when nothing failed yet. */
const char *store_last_error(const struct store *s);

#endif /* TENURE_STORE_H */
