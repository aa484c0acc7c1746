/*
 * disk.h — the storage worker of tenured: every write to the data directory
 * runs on one worker thread, off the libuv loop, so a slow fsync never
 * stalls heartbeats.
 *
 * Contract
 * --------
 * Jobs run strictly in submission order (the order the Raft core produced
 * them) and complete in that order: the loop thread gets each finished job
 * back through on_done, on the loop thread.  Consecutive log appends that
 * are queued together are merged into one store_append() call: one fsync
 * for all of them (group commit).
 *
 * After a log write fails, every job already queued behind it fails with
 * the same error without touching the disk (the core expects "a failed
 * write fails every later write"), until the loop thread acknowledges the
 * failure with disk_clear_failure().  A failed hard-state write does not
 * affect log writes.
 *
 * Jobs own their memory (entries and snapshot data are copied in by the
 * constructors below) and are freed with disk_job_free().
 *
 * Errors: disk_start returns 0 or a negative errno (libuv's or its own); a
 * job's outcome is job->result (0 or a negative errno from store.h) with
 * job->error, delivered through on_done.  Nothing is logged here.
 */
#ifndef TENURE_SERVER_DISK_H
#define TENURE_SERVER_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "raft/raft.h"
#include "raft/store.h"

enum disk_op {
	DISK_HARD_STATE = 1,
	DISK_APPEND,
	DISK_SNAPSHOT_INSTALL, /* from the leader: replaces the log */
	DISK_SNAPSHOT_PUT,     /* taken by this node: compacts the log */
};

struct disk_job {
	int op;
	uint64_t seq;   /* the core's write seq (append, install) */
	raft_term term; /* hard state; snapshot term */
	raft_id voted_for;
	raft_index first; /* append: discard >= first, then append */
	struct raft_entry *entries;
	unsigned n_entries;
	raft_index index; /* snapshot index */
	struct raft_config config;
	void *data; /* snapshot bytes */
	size_t len;
	raft_index trailing; /* snapshot put */
	void *ctx;           /* caller's, e.g. messages held back */
	int result;          /* 0 or negative errno, set by the worker */
	char error[256];     /* store_last_error() on failure */
	uint64_t started_ns; /* when the worker began it */
	uint64_t sync_ns;    /* how long the store call took */
	struct disk_job *next;
};

struct disk_job *disk_job_hard_state(raft_term term, raft_id vote);
struct disk_job *disk_job_append(uint64_t seq, raft_index first,
				 const struct raft_entry *e, unsigned n);
struct disk_job *disk_job_snapshot(int op, uint64_t seq, raft_index index,
				   raft_term term, const struct raft_config *c,
				   const void *data, size_t len,
				   raft_index trailing);
void disk_job_free(struct disk_job *j);

struct disk;

int disk_start(uv_loop_t *loop, struct store *store,
	       void (*on_done)(void *arg, struct disk_job *j), void *arg,
	       struct disk **out);
/* Takes ownership of j; NULL jobs (allocation failure) are refused. */
void disk_submit(struct disk *d, struct disk_job *j);
void disk_clear_failure(struct disk *d);
/* Jobs submitted and not yet handed back. */
unsigned disk_pending(const struct disk *d);
/* Stop after the queued jobs ran; on_done is called for all of them
 * first.  Then joins the thread and closes the async handle; on_closed
 * runs on the loop when that is done. */
void disk_stop(struct disk *d, void (*on_closed)(void *arg), void *arg);

#endif /* TENURE_SERVER_DISK_H */
