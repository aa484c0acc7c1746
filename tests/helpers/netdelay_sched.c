/* netdelay_sched.c — loss draws, jittered release times and a binary
 * min-heap of held packets (netdelay_sched.h has the contract). */
#include "tests/helpers/netdelay_sched.h"

#include <limits.h>
#include <stdlib.h>

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull

/* splitmix64: tiny, seedable with any value (0 included), and good
 * enough for test decisions; the same seed gives the same sequence on
 * every platform, which is what replaying a run needs. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* uniform in [0, 1), 53 bits */
static double rng_unit(uint64_t *state)
{
	return (double)(rng_next(state) >> 11) / (double)(1ull << 53);
}

/* uniform in [0, n] */
static uint64_t rng_upto(uint64_t *state, uint64_t n)
{
	uint64_t v = (uint64_t)(rng_unit(state) * (double)(n + 1));
	return v > n ? n : v; /* rounding at the top of a huge n */
}

int netdelay_sched_init(struct netdelay_sched *s,
			const struct netdelay_params *p)
{
	if (p->cap == 0 || !(p->loss_pct >= 0.0 && p->loss_pct <= 100.0))
		return -1;
	*s = (struct netdelay_sched){ .p = *p, .rng = p->seed };
	s->heap = calloc(p->cap, sizeof(*s->heap));
	return s->heap ? 0 : -1;
}

void netdelay_sched_free(struct netdelay_sched *s)
{
	free(s->heap);
	s->heap = NULL;
	s->held = 0;
}

static bool earlier(const struct netdelay_held *a,
		    const struct netdelay_held *b)
{
	if (a->release_ns != b->release_ns)
		return a->release_ns < b->release_ns;
	return a->seq < b->seq;
}

static void swap(struct netdelay_held *a, struct netdelay_held *b)
{
	struct netdelay_held t = *a;
	*a = *b;
	*b = t;
}

static void sift_up(struct netdelay_held *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!earlier(&h[i], &h[parent]))
			return;
		swap(&h[i], &h[parent]);
		i = parent;
	}
}

static void sift_down(struct netdelay_held *h, size_t n, size_t i)
{
	for (;;) {
		size_t first = i, l = 2 * i + 1, r = l + 1;
		if (l < n && earlier(&h[l], &h[first]))
			first = l;
		if (r < n && earlier(&h[r], &h[first]))
			first = r;
		if (first == i)
			return;
		swap(&h[i], &h[first]);
		i = first;
	}
}

/* arrival + delay + uniform [-jitter, +jitter], in microsecond steps,
 * never before arrival (a packet cannot leave before it came). */
static uint64_t release_time(struct netdelay_sched *s, uint64_t now_ns)
{
	uint64_t jitter_us = s->p.jitter_ns / NS_PER_US;
	uint64_t wait_ns = s->p.delay_ns;
	if (jitter_us > 0) {
		/* draw in [0, 2J]: below J shortens the wait, above lengthens */
		uint64_t draw = rng_upto(&s->rng, 2 * jitter_us);
		if (draw >= jitter_us) {
			wait_ns += (draw - jitter_us) * NS_PER_US;
		} else {
			uint64_t less = (jitter_us - draw) * NS_PER_US;
			wait_ns = less < wait_ns ? wait_ns - less : 0;
		}
	}
	return now_ns + wait_ns;
}

enum netdelay_fate netdelay_sched_admit(struct netdelay_sched *s,
					uint64_t now_ns, uint32_t id)
{
	s->counts.packets++;
	/* Draw for loss even at 0 % and 100 %, so that the jitter draws of a
	 * seed do not shift when only the loss rate changes. */
	double draw = rng_unit(&s->rng) * 100.0;
	if (draw < s->p.loss_pct) {
		s->counts.dropped_loss++;
		return NETDELAY_DROP_LOSS;
	}
	if (s->held == s->p.cap) {
		s->counts.dropped_cap++;
		return NETDELAY_DROP_CAP;
	}
	struct netdelay_held *slot = &s->heap[s->held];
	slot->release_ns = release_time(s, now_ns);
	slot->seq = s->next_seq++;
	slot->id = id;
	sift_up(s->heap, s->held++);
	if (s->held > s->counts.max_held)
		s->counts.max_held = s->held;
	return NETDELAY_HELD;
}

bool netdelay_sched_pop_any(struct netdelay_sched *s, struct netdelay_held *out)
{
	if (s->held == 0)
		return false;
	*out = s->heap[0];
	s->heap[0] = s->heap[--s->held];
	sift_down(s->heap, s->held, 0);
	s->counts.released++;
	return true;
}

bool netdelay_sched_pop_due(struct netdelay_sched *s, uint64_t now_ns,
			    struct netdelay_held *out)
{
	if (s->held == 0 || s->heap[0].release_ns > now_ns)
		return false;
	return netdelay_sched_pop_any(s, out);
}

int netdelay_sched_wait_ms(const struct netdelay_sched *s, uint64_t now_ns)
{
	if (s->held == 0)
		return -1;
	uint64_t due = s->heap[0].release_ns;
	if (due <= now_ns)
		return 0;
	uint64_t ms = (due - now_ns + NS_PER_MS - 1) / NS_PER_MS;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

size_t netdelay_sched_held(const struct netdelay_sched *s)
{
	return s->held;
}

const struct netdelay_counts *netdelay_sched_counts(
	const struct netdelay_sched *s)
{
	return &s->counts;
}
