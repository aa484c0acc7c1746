/*
 * nemcheck.h — the checker behind tests/helpers/pgnemesis (tests only):
 * a recorded history of bank transfers, bank reads and appends against
 * several Postgres nodes, the primary lease as the witnesses showed it,
 * the faults injected and the final primary's tables, checked for lost
 * commits, two primaries at once, money made or lost, and a lease history
 * that no correct lease service could give.
 *
 * Contract
 * --------
 * Ops.  Every op has the endpoint it was sent to, the node that
 * acknowledged it (its cluster_name, read in the same statement: set by
 * the agent to the node's name), the real-time interval [start, end] in
 * which its commit happened (CLOCK_REALTIME µs: the send of the statement
 * that commits, and its answer), an outcome (ok: acknowledged; failed:
 * refused, so it did not commit; unknown: timeout or connection lost on
 * the way) and, when ok, its epoch: the Postgres timeline the
 * acknowledging server was writing on, read in the same transaction.
 * Every promotion starts a new timeline, so (node, epoch) names one term
 * of one primary, observed by the very transaction that was acknowledged
 * (the fencing token the harness last saw that node hold is recorded
 * beside it, for the report only: it is a second observation, made at
 * another time).
 *
 * Checks (each failure is one violation, with a line saying why):
 *   lost-append     an acked append's id is not on the final primary;
 *   lost-transfer   an acked transfer's ledger row is not there, or says
 *                   other accounts or another amount;
 *   read-total      an acked read of the bank saw another total;
 *   final-total     the final balances do not add up to the total;
 *   final-balance   an account's final balance is not its initial one
 *                   plus the ledger rows present (a transfer half done);
 *   two-primaries   acked writes of two terms (node, epoch) interleave:
 *                   each term's interval runs from its first ack's start
 *                   to its last ack's end, and two of them intersect;
 *   token-order     two lease observations, one after the other, whose
 *                   tokens go down;
 *   token-holder    one token shown with two different holders;
 *   unleased-ack    a write acked by node N whose whole interval lies
 *                   between two lease observations showing the same
 *                   token held by another node, or free (tokens grow
 *                   with every grant, so no grant came in between: N
 *                   wrote while it did not hold the lease);
 *   lease-linearizable  the agents' own requests on the primary lease
 *                   (their lease_trace_file) and the lease observations
 *                   together are not a linearizable history of one lease
 *                   (tests/helpers/nemlease.h).
 * The lease observations come from one poller, one request at a time:
 * sorted by start, each ends before the next starts.
 *
 * Failovers: the terms in order of their first ack; each change of term
 * is a failover, its duration the time from the last ack of the old term
 * to the first ack of the new one.
 *
 * Pure functions over caller memory: no clocks, no I/O but the FILE the
 * caller passes to nem_report_print.  Functions returning int give 0 on
 * success and -1 on allocation failure or a malformed line (reason in
 * err).
 */
#ifndef TENURE_TESTS_NEMCHECK_H
#define TENURE_TESTS_NEMCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/helpers/lincheck.h"
#include "tests/helpers/nemlease.h"

#define NEM_NAME 64 /* endpoint, node and fault kind names, NUL included */
#define NEM_VIOLATIONS_KEPT 50

enum nem_kind {
	NEM_APPEND,
	NEM_TRANSFER,
	NEM_READ,
	NEM_KINDS
};

enum nem_outcome {
	NEM_OK,
	NEM_FAILED,
	NEM_UNKNOWN,
	NEM_OUTCOMES
};

/* The checks (see the contract), in the order of violations_by_check. */
enum nem_check_id {
	NEM_LOST_APPEND,
	NEM_LOST_TRANSFER,
	NEM_READ_TOTAL,
	NEM_FINAL_TOTAL,
	NEM_FINAL_BALANCE,
	NEM_TWO_PRIMARIES,
	NEM_TOKEN_ORDER,
	NEM_TOKEN_HOLDER,
	NEM_UNLEASED_ACK,
	NEM_LEASE_LINEARIZABLE,
	NEM_CHECKS
};
struct nem_op {
	enum nem_kind kind;
	enum nem_outcome outcome;
	char endpoint[NEM_NAME];
	char node[NEM_NAME]; /* the acknowledging node, "-" unless ok */
	int64_t start_us, end_us;
	int64_t epoch;  /* timeline, 0 unless ok */
	uint64_t token; /* for the report; 0 unknown */
	int64_t id;     /* append, transfer */
	int from, to;   /* transfer */
	int64_t amount; /* transfer */
	int64_t total;  /* read */
};

struct nem_lease {
	int64_t t0_us, t1_us;
	char holder[NEM_NAME]; /* "" free */
	uint64_t token;
	/* For the linearizability check (nemlease.h), 0 and "" when not
	 * recorded: the read's CLOCK_MONOTONIC interval and the full holder
	 * id (NAME/INCARNATION, as the agents' traces name it). */
	uint64_t m0_ns, m1_ns;
	char holder_id[NEM_NAME];
};

struct nem_fault {
	char kind[NEM_NAME], node[NEM_NAME];
	int64_t start_us, end_us; /* end: when it was healed */
	int rc;                   /* the fault command's exit status */
};

struct nem_ledger_row {
	int64_t id, amount;
	int from, to;
};

struct nem_history {
	int accounts;
	int64_t total;
	uint64_t seed;
	struct nem_op *ops;
	size_t n_ops, cap_ops;
	struct nem_lease *leases;
	size_t n_leases, cap_leases;
	struct nem_fault *faults;
	size_t n_faults, cap_faults;
	bool have_final;
	char final_node[NEM_NAME];
	int64_t *final_appends;
	size_t n_final_appends, cap_final_appends;
	struct nem_ledger_row *final_ledger;
	size_t n_final_ledger, cap_final_ledger;
	int64_t *final_balances; /* accounts of them, once read */
	bool *final_balance_seen;
	/* The agents' requests on the primary lease (nemlease.h). */
	struct lc_history lease_ops;
	size_t lease_traces, lease_torn;
};

struct nem_term {
	char node[NEM_NAME];
	int64_t epoch;
	uint64_t token_min, token_max; /* 0: none known */
	int64_t first_start_us, first_end_us, last_end_us;
	size_t acks;
};

struct nem_failover {
	size_t from, to; /* indices into report.terms */
	int64_t gap_us;
};

struct nem_fault_count {
	char kind[NEM_NAME];
	size_t n, failed;
};

struct nem_report {
	size_t ops[NEM_KINDS][NEM_OUTCOMES];
	size_t acked_writes;
	struct nem_term *terms;
	size_t n_terms;
	struct nem_failover *failovers;
	size_t n_failovers;
	struct nem_fault_count *fault_kinds;
	size_t n_fault_kinds;
	/* The primary lease's linearizability (nemlease.h). */
	bool lease_checked;
	int lease_verdict; /* enum lc_verdict */
	size_t lease_agent_ops, lease_reads, lease_unknown, lease_shadows;
	struct lc_window_summary lease_windows;
	char *lease_detail;  /* the failing windows, or NULL */
	size_t n_violations; /* all of them; the first few kept in text */
	char violations[NEM_VIOLATIONS_KEPT][256];
	size_t violations_by_check[NEM_CHECKS];
};

void nem_history_init(struct nem_history *h);
void nem_history_free(struct nem_history *h);

/* Sets the bank's shape (accounts >= 1, total divisible by accounts). */
int nem_history_config(struct nem_history *h, int accounts, int64_t total,
		       uint64_t seed);
int nem_history_add_op(struct nem_history *h, const struct nem_op *op);
int nem_history_add_lease(struct nem_history *h, const struct nem_lease *l);
int nem_history_add_fault(struct nem_history *h, const struct nem_fault *f);
int nem_history_final_append(struct nem_history *h, int64_t id);
int nem_history_final_ledger(struct nem_history *h,
			     const struct nem_ledger_row *row);
int nem_history_final_balance(struct nem_history *h, int account,
			      int64_t balance);

/* One line of the history file (the format is in tests/helpers/pgnemesis.c
 * and docs/nemesis.md).  0 added, 1 blank or comment, -1 with err. */
int nem_parse_line(struct nem_history *h, const char *line, char *err,
		   size_t errlen);
/* Writes one op / lease / fault as a history line (with its newline). */
void nem_format_op(const struct nem_op *op, char *buf, size_t len);
void nem_format_lease(const struct nem_lease *l, char *buf, size_t len);
void nem_format_fault(const struct nem_fault *f, char *buf, size_t len);

/* Runs every check (sorting h's arrays). */
int nem_check(struct nem_history *h, struct nem_report *r);
void nem_report_free(struct nem_report *r);

/* The summary: ops, faults by kind, terms, failovers, violations. */
void nem_report_print(const struct nem_history *h, const struct nem_report *r,
		      FILE *out);

const char *nem_kind_name(enum nem_kind k);
const char *nem_outcome_name(enum nem_outcome o);

const char *nem_check_name(enum nem_check_id c);

#endif
