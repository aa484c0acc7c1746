/*
 * callback_queue.c — see callback_queue.h.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/callback_queue.h"

/* The i-th waiting call, 0 the oldest. */
static struct callback_req *at(struct callback_queue *q, int i)
{
	return &q->waiting[(q->head + i) % CALLBACK_QUEUE_MAX];
}

static void remove_at(struct callback_queue *q, int i)
{
	for (int k = i; k < q->count - 1; k++)
		*at(q, k) = *at(q, k + 1);
	q->count--;
}

static int to_drop(struct callback_queue *q)
{
	for (int i = 0; i < q->count; i++)
		if (strcmp(at(q, i)->name, "on_reload") == 0)
			return i;
	return 0;
}

enum callback_push callback_queue_push(struct callback_queue *q,
				       const char *name, const char *role,
				       struct callback_req *dropped)
{
	enum callback_push r = CALLBACK_QUEUED;
	if (q->count > 0 && strcmp(at(q, q->count - 1)->name, name) == 0 &&
	    strcmp(at(q, q->count - 1)->role, role) == 0)
		return CALLBACK_SAME_AS_LAST;
	if (q->count == CALLBACK_QUEUE_MAX) {
		int i = to_drop(q);
		*dropped = *at(q, i);
		remove_at(q, i);
		r = CALLBACK_QUEUED_DROPPING;
	}
	struct callback_req *req = at(q, q->count);
	snprintf(req->name, sizeof(req->name), "%s", name);
	snprintf(req->role, sizeof(req->role), "%s", role);
	q->count++;
	return r;
}

bool callback_queue_pop(struct callback_queue *q, struct callback_req *out)
{
	if (q->count == 0)
		return false;
	*out = *at(q, 0);
	q->head = (q->head + 1) % CALLBACK_QUEUE_MAX;
	q->count--;
	return true;
}
