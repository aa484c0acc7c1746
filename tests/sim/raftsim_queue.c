/*
 * raftsim_queue.c — the event queue, a min-heap on (simulated time,
 * insertion sequence): equal times run in the order they were scheduled,
 * which is what makes a seed replay exactly.
 */

#include "tests/sim/raftsim.h"

static bool ev_before(const struct sim_event *a, const struct sim_event *b)
{
	return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

void queue_push(struct event_queue *q, struct sim_event ev)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 1024;
		q->heap = xrealloc(q->heap, q->cap * sizeof(*q->heap));
	}
	ev.seq = q->next_seq++;
	size_t i = q->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_before(&ev, &q->heap[parent]))
			break;
		q->heap[i] = q->heap[parent];
		i = parent;
	}
	q->heap[i] = ev;
}

bool queue_pop(struct event_queue *q, struct sim_event *out)
{
	if (q->n == 0)
		return false;
	*out = q->heap[0];
	struct sim_event last = q->heap[--q->n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->n)
			break;
		if (c + 1 < q->n && ev_before(&q->heap[c + 1], &q->heap[c]))
			c++;
		if (!ev_before(&q->heap[c], &last))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	if (q->n)
		q->heap[i] = last;
	return true;
}

void schedule(struct sim *s, uint64_t after_us, int kind, unsigned node,
	      uint64_t inc, uint64_t arg)
{
	struct sim_event ev = { .at = s->now + after_us,
				.kind = kind,
				.node = node,
				.inc = inc,
				.arg = arg };
	queue_push(&s->q, ev);
}
