/*
 * nemlease.h — the primary lease's history as the agents made it and as
 * the harness read it, checked for linearizability (tests only; part of
 * tests/helpers/nemcheck.h's checks).
 *
 * Contract
 * --------
 * nem_read_lease_trace() reads one agent's lease_trace_file
 * (fencing/lease_trace.h: a "call" and a "ret" line per request) into
 * h->lease_ops as lincheck operations (tests/helpers/lincheck.h):
 *   - an answer OK, HELD, NOT_HOLDER or NOT_FOUND is a known outcome; each
 *     earlier attempt lost with its connection (LOST) adds a retry shadow
 *     of an acquire or renew (the client library resent it, and the lost
 *     attempt may have run first);
 *   - no answer but maybe run (MAYBE 1, or LOST > 0) is an unknown outcome
 *     (ret LC_NEVER), and so is a call line without a ret line: the agent
 *     died with the request in flight (kill -9, a crash); each lost
 *     attempt adds another unknown outcome of an acquire (two executions
 *     of one acquire can be two grants, if the lease expired in between);
 *   - any other answer (the library says it did not run) is left out, and
 *     so are reads without an answer: they tell nothing.
 * Lines that do not parse (a torn line: a crash cuts at most the last) and
 * ret lines without their call are counted in h->lease_torn, not fatal.
 * client numbers the file, for reports.
 *
 * nem_check_lease() adds the harness's own reads (lease observations with
 * monotonic times and the full holder id: nem_lease.m0_ns != 0) as
 * lease-gets of the same lease, then checks the whole with
 * lc_check_windows (NEM_LEASE_WINDOW ops per segment; unknown outcomes
 * may land up to NEM_LEASE_CARRY_S later).  A violation is one
 * "lease-linearizable" violation; the windows that failed are printed
 * into r->lease_detail (malloc'd, freed by nem_report_free).  Without any
 * agent operation the check is not made (r->lease_checked false).
 */
#ifndef TENURE_TESTS_NEMLEASE_H
#define TENURE_TESTS_NEMLEASE_H

#include <stdio.h>

#define NEM_LEASE_WINDOW 400
#define NEM_LEASE_CARRY_S 30

struct nem_history;
struct nem_report;

int nem_read_lease_trace(struct nem_history *h, FILE *f, int client, char *err,
			 size_t errlen);
int nem_check_lease(const struct nem_history *h, struct nem_report *r);

#endif /* TENURE_TESTS_NEMLEASE_H */
