/*
 * mem_out.h — a FILE that writes to memory, for the tests of what
 * tenurectl prints (test_ctl_output.c, test_ctl_pgcluster.c).
 */
#ifndef TENURE_TESTS_MEM_OUT_H
#define TENURE_TESTS_MEM_OUT_H

#include <stddef.h>
#include <stdio.h>

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

/* Opens m->f (open_memstream); fails the test if it cannot. */
void mem_open(struct mem *m);

/* Closes the stream, fails the test unless exactly want was written (and
 * shows both), and frees the buffer. */
void mem_expect(struct mem *m, const char *want);

#endif
