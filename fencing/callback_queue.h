/*
 * callback_queue.h — the callbacks waiting while one runs (agent
 * callbacks run one at a time, in the order of the events).
 *
 * Contract
 * --------
 * At most CALLBACK_QUEUE_MAX wait.  A call equal to the one queued just
 * before it is not queued again: a run of reloads while a callback hangs
 * says nothing new.  When the queue is full, the oldest waiting on_reload
 * gives way (reloads come in runs and say the least: a script moving a
 * virtual IP must not lose an on_role_change to them), else the oldest.
 * Pure: no I/O, no logging (the caller logs what was dropped).
 *
 * Errors: none.
 */
#ifndef TENURE_FENCING_CALLBACK_QUEUE_H
#define TENURE_FENCING_CALLBACK_QUEUE_H

#include <stdbool.h>

#define CALLBACK_QUEUE_MAX 4

struct callback_req {
	char name[24]; /* on_start, ... */
	char role[24];
};

struct callback_queue {
	struct callback_req waiting[CALLBACK_QUEUE_MAX];
	int head, count;
};

enum callback_push {
	CALLBACK_QUEUED,
	CALLBACK_SAME_AS_LAST,    /* not queued: equal to the last one */
	CALLBACK_QUEUED_DROPPING, /* queued; *dropped gave way */
};

enum callback_push callback_queue_push(struct callback_queue *q,
				       const char *name, const char *role,
				       struct callback_req *dropped);
/* The oldest waiting call into *out; false when none waits. */
bool callback_queue_pop(struct callback_queue *q, struct callback_req *out);

#endif
