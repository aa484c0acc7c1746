/*
 * duration_hist.c — see duration_hist.h.
 */
#include "server/duration_hist.h"

void duration_hist_add(struct duration_hist *h, uint64_t base_ns, uint64_t ns)
{
	unsigned k = 0;
	while (k < DURATION_HIST_BUCKETS - 1 && ns > (base_ns << k))
		k++;
	h->buckets[k]++;
	h->count++;
	h->sum_ns += ns;
}

double duration_hist_bound(uint64_t base_ns, unsigned k)
{
	return (double)(base_ns << k) / 1e9;
}
