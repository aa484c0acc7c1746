/*
 * raftsim_trace.c — the trace ring (the last TRACE_LINES events, printed
 * with a violation) and the first violation of a seed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "tests/sim/raftsim.h"

/* ---- trace ring and violations -------------------------------------------- */

void trace(struct sim *s, const char *fmt, ...)
{
	char *line = s->tr.line[s->tr.next];
	int k = snprintf(line, TRACE_WIDTH, "%6" PRIu64 ".%03u ", s->now / 1000,
			 (unsigned)(s->now % 1000));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + k, TRACE_WIDTH - (size_t)k, fmt, ap);
	va_end(ap);
	s->tr.next = (s->tr.next + 1) % TRACE_LINES;
	if (s->tr.n < TRACE_LINES)
		s->tr.n++;
	if (s->opt->verbose)
		printf("%s\n", line);
}

/* Only the first violation counts: later ones are usually its echoes. */
void violation(struct sim *s, const char *invariant, const char *fmt, ...)
{
	if (s->failed)
		return;
	s->failed = true;
	snprintf(s->invariant, sizeof(s->invariant), "%s", invariant);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	trace(s, "VIOLATION %s: %s", s->invariant, s->detail);
}

static void print_replay(const struct sim *s)
{
	printf("replay: %s --seed %" PRIu64
	       " --seeds 1 --nodes %u --time %" PRIu64 "%s --verbose\n",
	       s->opt->argv0, s->seed, s->opt->nodes, s->opt->time_ms,
	       s->opt->faults ? "" : " --no-faults");
}

void print_violation(const struct sim *s)
{
	printf("seed %" PRIu64 " (%u nodes): VIOLATION: %s\n", s->seed,
	       s->opt->nodes, s->invariant);
	printf("  %s\n", s->detail);
	printf("--- last %u trace lines ---\n", s->tr.n);
	unsigned start = (s->tr.next + TRACE_LINES - s->tr.n) % TRACE_LINES;
	for (unsigned i = 0; i < s->tr.n; i++)
		printf("%s\n", s->tr.line[(start + i) % TRACE_LINES]);
	printf("--- end of trace ---\n");
	print_replay(s);
}
