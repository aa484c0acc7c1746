/*
 * netdelay_sched.h — the scheduling core of tests/helpers/netdelay: which
 * packets to drop, when to release the others, and the order in which
 * they come due.
 *
 * Contract
 * --------
 * Each packet is admitted once, with the monotonic time it arrived (ns,
 * any origin, never decreasing between calls) and the id the kernel gave
 * it.  Admission decides its fate, in this order:
 *   - loss: dropped with probability loss_pct / 100 (a seeded PRNG, so a
 *     seed replays the same decisions for the same packet sequence);
 *   - cap: dropped when `cap` packets are already held (memory stays
 *     bounded whatever the traffic; counted apart from loss);
 *   - held: released at arrival + delay + a uniform offset in
 *     [-jitter, +jitter] (microsecond steps), never before arrival.
 * Held packets come out of netdelay_sched_pop_due() in release order;
 * two packets with the same release time come out in admission order.
 * Jitter reorders packets, as netem's jitter does: a packet may overtake
 * one admitted before it by up to 2 * jitter.
 *
 * Pure: no clock, no I/O, no global state; the only allocation is the
 * heap, in netdelay_sched_init.  One caller at a time.
 */
#ifndef TENURE_NETDELAY_SCHED_H
#define TENURE_NETDELAY_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The default cap on held packets (netdelay --help says it). */
#define NETDELAY_DEFAULT_CAP 65536

struct netdelay_params {
	uint64_t delay_ns;
	uint64_t jitter_ns;
	double loss_pct; /* 0 .. 100 */
	uint64_t seed;
	size_t cap; /* at most this many held at once; > 0 */
};

enum netdelay_fate {
	NETDELAY_HELD,
	NETDELAY_DROP_LOSS,
	NETDELAY_DROP_CAP,
};

struct netdelay_held {
	uint64_t release_ns;
	uint64_t seq; /* admission order: ties keep it */
	uint32_t id;  /* the kernel's packet id, for the verdict */
};

struct netdelay_counts {
	uint64_t packets;      /* admitted */
	uint64_t released;     /* popped (their verdict: accept) */
	uint64_t dropped_loss; /* the loss draw said so */
	uint64_t dropped_cap;  /* the cap was full */
	size_t max_held;       /* the most held at any one time */
};

struct netdelay_sched {
	struct netdelay_params p;
	uint64_t rng;
	uint64_t next_seq;
	struct netdelay_held *heap;
	size_t held;
	struct netdelay_counts counts;
};

/* 0, or -1 when the heap cannot be allocated or params are out of range
 * (cap 0, loss outside 0..100). */
int netdelay_sched_init(struct netdelay_sched *s,
			const struct netdelay_params *p);
void netdelay_sched_free(struct netdelay_sched *s);

/* Decides one packet's fate (above); a held one is kept until popped. */
enum netdelay_fate netdelay_sched_admit(struct netdelay_sched *s,
					uint64_t now_ns, uint32_t id);

/* The held packet due first, if its release time is <= now_ns: true and
 * *out filled (and it is no longer held); false otherwise. */
bool netdelay_sched_pop_due(struct netdelay_sched *s, uint64_t now_ns,
			    struct netdelay_held *out);

/* The held packet due first, whatever the time (used to flush on exit):
 * false when nothing is held. */
bool netdelay_sched_pop_any(struct netdelay_sched *s,
			    struct netdelay_held *out);

/* Milliseconds until the first held packet is due, rounded up so that a
 * poll() of that length never wakes early; -1 when nothing is held (wait
 * for packets only); 0 when one is due already. */
int netdelay_sched_wait_ms(const struct netdelay_sched *s, uint64_t now_ns);

size_t netdelay_sched_held(const struct netdelay_sched *s);
const struct netdelay_counts *netdelay_sched_counts(
	const struct netdelay_sched *s);

#endif
