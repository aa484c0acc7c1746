/*
 * lincheck.h — a linearizability checker for recorded histories of lease
 * and key operations (tests only).
 *
 * Contract
 * --------
 * A history is a list of operations, each with the client that made it,
 * its invocation and return times (monotonic nanoseconds) and its input and
 * output.  An operation whose outcome is unknown (timeout, lost connection)
 * has ret = LC_NEVER and status LC_UNKNOWN: it may have taken effect at any
 * point after its invocation, or never.  An operation whose answer says it
 * was not executed must not be recorded at all.
 *
 * Keys and leases are independent objects, so the history is split by
 * object name and every partition is checked on its own (linearizability
 * is compositional): that is what keeps the search small.  Each partition
 * is checked by the Wing–Gong search as improved by Lowe, with a cache of
 * (set of linearized operations, model state) pairs already explored.
 *
 * Models (they follow server/sm.h; see lincheck.c for why each rule holds):
 *   - key: absent or a value.  put(v) -> OK; get -> value or NOT_FOUND;
 *     delete -> OK or NOT_FOUND; cas(expected mod revision, v) -> OK or
 *     COMPARE_FAILED (0 expects the key to be absent).  Values should be
 *     unique per put: revisions are global Raft indices, so the model
 *     tracks the mod revision of the current value only as far as the
 *     history reveals it, and requires the revisions of successive writes
 *     to grow.
 *   - lease: never created, free, or held by a holder with a token.
 *     acquire(holder, ttl) -> OK (token) or HELD; renew(holder, token) ->
 *     OK, NOT_HOLDER or NOT_FOUND; release(holder, token) -> the same;
 *     get -> the lease (free: empty holder, last token) or NOT_FOUND.  A
 *     held lease may expire silently at any moment, but not before TTL
 *     after the invocation of the grant or renewal that last restarted its
 *     countdown (the witnesses count from when they applied it).  Tokens of
 *     new grants strictly increase.
 *
 * An operation may also be a "retry shadow" (shadow_of >= 0): an earlier
 * attempt of a retried idempotent request that may or may not have been
 * executed before the answered attempt.  It has the same input, an
 * unknown outcome and the answered attempt's return time.
 */
#ifndef TENURE_TESTS_LINCHECK_H
#define TENURE_TESTS_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LC_NEVER UINT64_MAX
#define LC_STR 48 /* object names, values and holders, NUL included */

enum lc_type {
	LC_PUT = 1,
	LC_GET,
	LC_DELETE,
	LC_CAS,
	LC_ACQUIRE,
	LC_RENEW,
	LC_RELEASE,
	LC_LEASE_GET,
};

enum lc_status {
	LC_OK = 0,
	LC_HELD,
	LC_NOT_HOLDER,
	LC_NOT_FOUND,
	LC_COMPARE_FAILED,
	LC_UNKNOWN,
};

struct lc_op {
	int client;
	uint64_t call, ret;  /* ns; ret LC_NEVER: outcome unknown */
	int type;            /* enum lc_type */
	char object[LC_STR]; /* key or lease name: the partition */
	/* input */
	char value[LC_STR];  /* put, cas */
	char holder[LC_STR]; /* acquire, renew, release */
	uint64_t rev;        /* cas: expected mod revision */
	uint64_t token;      /* renew, release */
	uint64_t ttl_ms;     /* acquire */
	/* output (status LC_UNKNOWN: none) */
	int status;              /* enum lc_status */
	bool present;            /* a kv or lease came with the answer */
	char out_value[LC_STR];  /* kv value */
	char out_holder[LC_STR]; /* lease holder ("" free) */
	uint64_t out_rev;        /* kv mod revision */
	uint64_t out_token;      /* lease token */
	long shadow_of;          /* -1, or index of the answered attempt */
};

/* An op with everything empty and shadow_of -1. */
void lc_op_init(struct lc_op *op);

/* A growable history. */
struct lc_history {
	struct lc_op *ops;
	size_t n, cap;
};
void lc_history_init(struct lc_history *h);
/* Appends a copy; returns its index, or -1 when out of memory. */
long lc_history_add(struct lc_history *h, const struct lc_op *op);
void lc_history_free(struct lc_history *h);

enum lc_verdict {
	LC_LINEARIZABLE = 0,
	LC_VIOLATION = 1,
	LC_UNDECIDED = 2, /* the budget ran out first */
};

struct lc_options {
	double budget_s; /* per partition; 0: 60 s */
	FILE *out;       /* per-partition lines and the failure; NULL: quiet */
	bool minimise;   /* look for a shorter failing prefix to print */
	uint64_t t0; /* times in reports are relative to it; 0: first call */
	/* A window cut out of a longer history (lc_check_windows): each
	 * lease starts in any state (absent, or held by any holder the
	 * history names, token unknown, its countdown free to end at once),
	 * its new grants above floor (the highest token seen before the
	 * window), renewals counting ttl_ms (0: unknown, so a renewed lease
	 * may expire at once until a grant in the window says its TTL).
	 * Keys ignore it. */
	bool open_start;
	uint64_t floor;
	uint64_t ttl_ms;
};

struct lc_summary {
	size_t ops, unknown, shadows, partitions;
	size_t failed, undecided;
	uint64_t states; /* explored (model state, set) pairs, all partitions */
	double seconds;
};

/* Checks the whole history; the worst verdict of its partitions. */
enum lc_verdict lc_check(const struct lc_op *ops, size_t n,
			 const struct lc_options *opt, struct lc_summary *sum);

/* Long histories (lincheck_window.c).  The search remembers a set of
 * linearized ops per explored state: for an hour of a lease's history
 * (tens of thousands of ops) that is too much memory and time.  So each
 * object's history is cut where no op with an answer is in flight
 * (quiescent points) into segments of at least `window` ops, and each
 * pair of consecutive segments is checked on its own, with open_start
 * (floor: the highest token any answer before it showed; ttl_ms: the
 * smallest TTL any acquire asked for).  Overlapping pairs catch a
 * violation that spans a cut.  An unknown outcome may take effect late,
 * so it stays in every later window that starts within carry_ns of its
 * call.  What is lost: a window learns nothing of the lease's state at
 * its start but the floor (a violation whose ops lie more than a
 * segment apart, or an effect later than carry_ns, goes unseen).
 * out gets one line per object and the report of every failing window
 * (opt->minimise: its shortest failing prefix too). */
struct lc_window_summary {
	size_t windows, failed, undecided, max_ops;
	uint64_t states;
	double seconds;
};
enum lc_verdict lc_check_windows(const struct lc_op *ops, size_t n,
				 const struct lc_options *opt, size_t window,
				 uint64_t carry_ns,
				 struct lc_window_summary *sum);

/* One line describing an op, for reports. */
void lc_op_format(const struct lc_op *op, uint64_t t0, char *buf, size_t len);

/* Shared by lincheck.c and lincheck_window.c: CLOCK_MONOTONIC seconds
 * (the search budgets), and the qsort order of op pointers by object,
 * then call time, then position. */
double lc_now_s(void);
int lc_op_ptr_order(const void *a, const void *b);

#endif /* TENURE_TESTS_LINCHECK_H */
