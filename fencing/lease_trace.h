/*
 * lease_trace.h — an optional record of the requests this agent makes on
 * SCOPE/primary (acquire, renew, release, get), for the nemesis tests:
 * they merge every agent's record with their own reads and check the
 * lease's history for linearizability (docs/nemesis.md).
 *
 * Contract
 * --------
 * Off unless lease_trace_file is set.  Each request is two lines, each
 * appended with one write(2) to a file opened O_APPEND (no fsync: a crash
 * may cut the last line, and readers drop a torn last line):
 *
 *   call PID SEQ OP LEASE HOLDER TTL_MS TOKEN T_NS
 *   ret  PID SEQ STATUS MAYBE PRESENT OUT_HOLDER OUT_TOKEN T_NS LOST
 *
 * OP is acquire, renew, release or get; HOLDER "-" for a get; T_NS is
 * CLOCK_MONOTONIC in nanoseconds (one clock for every process of a
 * machine, whatever its network namespace or faked wall clock), taken
 * just before the request is queued and when its callback runs.  STATUS
 * is client_status_name(); MAYBE 1 when no answer came but the request
 * may have run (tclient_outcome_unknown); PRESENT 1 when the answer
 * carried the lease, then OUT_HOLDER ("-" free) and OUT_TOKEN; LOST the
 * attempts that went down with their connection before the last one
 * (tclient_lost_attempts: each may have run).  A call line without its
 * ret line is a request still in flight when the agent died: its outcome
 * is unknown.  PID and SEQ name the request, across restarts of the
 * agent appending to the same file.
 *
 * Names are written as they are: scope and node names have no spaces.
 * A failed write is ignored (the trace is a test aid, never a reason to
 * stop leading).  Call from the loop's thread only.
 */
#ifndef TENURE_FENCING_LEASE_TRACE_H
#define TENURE_FENCING_LEASE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/client.h"

struct lease_trace {
	int fd; /* -1: off */
	long pid;
	uint64_t seq;
};

/* path NULL or "": off (still 0).  -1 with err when it cannot be opened. */
int lease_trace_open(struct lease_trace *t, const char *path, char *err,
		     size_t errlen);
void lease_trace_close(struct lease_trace *t);

/* Records the invocation of req; returns its SEQ for lease_trace_ret (0
 * when tracing is off). */
uint64_t lease_trace_call(struct lease_trace *t,
			  const struct client_request *req);

/* Records the outcome of request seq (0: nothing).  r may be NULL;
 * maybe and lost as the contract says. */
void lease_trace_ret(struct lease_trace *t, uint64_t seq, int status,
		     const struct client_response *r, bool maybe,
		     unsigned lost);

/* The lines themselves (with the newline), for the tests. */
void lease_trace_format_call(char *buf, size_t len, long pid, uint64_t seq,
			     const struct client_request *req, uint64_t t_ns);
void lease_trace_format_ret(char *buf, size_t len, long pid, uint64_t seq,
			    int status, const struct client_response *r,
			    bool maybe, unsigned lost, uint64_t t_ns);

#endif /* TENURE_FENCING_LEASE_TRACE_H */
