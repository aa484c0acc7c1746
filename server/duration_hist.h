/*
 * duration_hist.h — a histogram of durations for /metrics: a count, a
 * sum and DURATION_HIST_BUCKETS buckets whose upper bounds double from a
 * base (bucket k holds durations up to base << k; the last one, the rest).
 * Used for the durable writes (base 64 us: 64 us to 1 s) and for client
 * requests by type (base 125 us: 125 us to 2 s).
 */
#ifndef TENURE_SERVER_DURATION_HIST_H
#define TENURE_SERVER_DURATION_HIST_H

#include <stdint.h>

#define DURATION_HIST_BUCKETS 16

struct duration_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t buckets[DURATION_HIST_BUCKETS];
};

void duration_hist_add(struct duration_hist *h, uint64_t base_ns, uint64_t ns);

/* The upper bound of bucket k in seconds (k < DURATION_HIST_BUCKETS - 1;
 * the last bucket is +Inf). */
double duration_hist_bound(uint64_t base_ns, unsigned k);

#endif
