/* bench.h — the parts of tests/bench/raft-bench.  Each prints its own
 * figures to stdout; none fails on speed. */
#ifndef TENURE_BENCH_H
#define TENURE_BENCH_H
#include <stdbool.h>

struct bench_opts {
	const char *dir; /* scratch directory for storage benchmarks */
	double seconds;  /* rough duration of each measurement */
	bool json;       /* one JSON object per figure instead of text */
};

int bench_core(const struct bench_opts *o);  /* bench_core.c */
int bench_store(const struct bench_opts *o); /* bench_store.c */

#endif
