/*
 * read_queue.h — the linearizable reads a witness has handed to the Raft
 * core and not yet answered, found by id.
 *
 * Ids only grow, so the queue stays sorted by appending: a result is found
 * by binary search, and a finished read is only marked, the front of
 * the queue dropped once finished.  After a leader change thousands of
 * agents read at once and their results come in one update; a scan of
 * all pending reads per result made that quadratic in the loop that must
 * keep the heartbeats on time.
 */
#ifndef TENURE_SERVER_READ_QUEUE_H
#define TENURE_SERVER_READ_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*read_queue_cb)(void *arg, int status);

struct pending_read {
	uint64_t id;
	read_queue_cb cb; /* NULL: finished */
	void *arg;
};

struct read_queue {
	struct pending_read *reads; /* [head, n): sorted by id */
	unsigned head, n, cap;
	uint64_t next_id;
};

void read_queue_init(struct read_queue *q);
void read_queue_free(struct read_queue *q);
/* A new read with the next id (0 when out of memory). */
uint64_t read_queue_add(struct read_queue *q, read_queue_cb cb, void *arg);
/* Takes read id out of the queue into *out; false when it is not there
 * (finished, or never added). */
bool read_queue_take(struct read_queue *q, uint64_t id,
		     struct pending_read *out);
/* Takes the oldest read not finished; false when none is left. */
bool read_queue_take_any(struct read_queue *q, struct pending_read *out);

#endif
