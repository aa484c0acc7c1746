/*
 * read_queue.c — see read_queue.h.
 */
#include <stdlib.h>
#include <string.h>

#include "server/read_queue.h"

void read_queue_init(struct read_queue *q)
{
	memset(q, 0, sizeof(*q));
}

void read_queue_free(struct read_queue *q)
{
	free(q->reads);
	read_queue_init(q);
}

/* Room at the end: the finished front is dropped first. */
static bool make_room(struct read_queue *q)
{
	if (q->head && q->n == q->cap) {
		memmove(q->reads, q->reads + q->head,
			(q->n - q->head) * sizeof(*q->reads));
		q->n -= q->head;
		q->head = 0;
	}
	if (q->n < q->cap)
		return true;
	unsigned cap = q->cap ? q->cap * 2 : 16;
	void *p = realloc(q->reads, (size_t)cap * sizeof(*q->reads));
	if (!p)
		return false;
	q->reads = p;
	q->cap = cap;
	return true;
}

uint64_t read_queue_add(struct read_queue *q, read_queue_cb cb, void *arg)
{
	if (!make_room(q))
		return 0;
	struct pending_read *r = &q->reads[q->n++];
	r->id = ++q->next_id;
	r->cb = cb;
	r->arg = arg;
	return r->id;
}

static void drop_finished_front(struct read_queue *q)
{
	while (q->head < q->n && !q->reads[q->head].cb)
		q->head++;
	if (q->head == q->n)
		q->head = q->n = 0;
}

static void finish(struct read_queue *q, struct pending_read *r,
		   struct pending_read *out)
{
	*out = *r;
	r->cb = NULL;
	drop_finished_front(q);
}

bool read_queue_take(struct read_queue *q, uint64_t id,
		     struct pending_read *out)
{
	unsigned lo = q->head, hi = q->n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (q->reads[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == q->n || q->reads[lo].id != id || !q->reads[lo].cb)
		return false;
	finish(q, &q->reads[lo], out);
	return true;
}

bool read_queue_take_any(struct read_queue *q, struct pending_read *out)
{
	drop_finished_front(q);
	if (q->head == q->n)
		return false;
	finish(q, &q->reads[q->head], out);
	return true;
}
