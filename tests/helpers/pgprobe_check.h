/*
 * pgprobe_check.h — the analysis behind `pgprobe check` (tests only): a
 * probe log of write attempts against several Postgres nodes turned into
 * writable spans, overlaps between nodes (split brain), the longest time
 * with no writable node, and acknowledged writes missing from the final
 * primary (lost commits).
 *
 * Contract
 * --------
 * A history is every attempt of every node's probe thread: node name,
 * per-node sequence number (strictly increasing in the thread's order),
 * the time the attempt was sent and the time its outcome was known (both
 * microseconds on one clock, whichever the log used), and the outcome:
 * ok (the INSERT was acknowledged), err (refused, or no connection) or
 * timeout (no answer before the client's deadline; it may or may not have
 * committed).
 *
 * A writable span of a node is a maximal run of consecutive ok attempts
 * of that node (in seq order), from the first one's send time to the last
 * one's ack time; any err or timeout ends it.  Two spans of different
 * nodes that intersect (start < other's end, both ways) are an overlap:
 * both nodes acknowledged writes in the same stretch of time, which is
 * what "at most one writable primary" forbids.  Spans only ever widen the
 * true writable interval (a commit happens between send and ack), so the
 * check errs on the side of reporting.
 *
 * The longest gap is measured from the start of the first span to the
 * last outcome in the log: the longest stretch covered by no span of any
 * node (so a cluster that never became writable again after a failure
 * shows the whole tail as its gap).  With no span at all, the gap is the
 * whole log.
 *
 * Lost commits: every ok attempt whose (node, seq) is not among the rows
 * read from the final primary.  Rows that are present but were never
 * acknowledged (timeouts that did commit) are counted apart, as are rows
 * of nodes or seqs this log does not know (another run's).
 *
 * Pure functions over caller memory: no clocks, no I/O, no global state.
 * Functions returning int give 0 on success and -1 on allocation failure
 * (or, for parsing, a malformed line, with the reason in err).
 */
#ifndef TENURE_TESTS_PGPROBE_CHECK_H
#define TENURE_TESTS_PGPROBE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGPROBE_NODE_MAX 64 /* node names: 1..63 of [A-Za-z0-9_.-] */

enum pgprobe_result {
	PGPROBE_OK,
	PGPROBE_ERR,
	PGPROBE_TIMEOUT
};

struct pgprobe_attempt {
	int node; /* index into history.nodes */
	int64_t seq;
	int64_t send_us, ack_us;
	enum pgprobe_result result;
};

struct pgprobe_history {
	char **nodes; /* distinct names, in order of appearance */
	size_t n_nodes;
	struct pgprobe_attempt *at;
	size_t n, cap;
	bool sorted; /* at[] in (node, seq) order */
};

struct pgprobe_span {
	int node;
	int64_t start_us, end_us; /* first ok's send, last ok's ack */
	int64_t first_seq, last_seq;
	size_t oks;
};

struct pgprobe_overlap {
	size_t a, b;        /* indices into report.spans, a < b:
				      a started first */
	int64_t overlap_us; /* length of the common stretch */
};

struct pgprobe_report {
	struct pgprobe_span *spans; /* in order of start time */
	size_t n_spans;
	struct pgprobe_overlap *overlaps;
	size_t n_overlaps;
	size_t attempts, acked, errors, timeouts;
	int64_t first_us, last_us; /* earliest send, latest ack in the log */
	int64_t gap_us;            /* longest stretch with no writable node */
	int64_t gap_start_us, gap_end_us;
	bool ever_writable;
};

/* One (node, seq) row read back from the final primary. */
struct pgprobe_row {
	char node[PGPROBE_NODE_MAX];
	int64_t seq;
};

struct pgprobe_final {
	size_t n_lost;
	size_t *lost;             /* indices into history.at of lost acks */
	size_t n_unacked_present; /* rows of our attempts that were not ok */
	size_t n_foreign;         /* rows no attempt of this log made */
};

void pgprobe_history_init(struct pgprobe_history *h);
void pgprobe_history_free(struct pgprobe_history *h);

/* True if name is a valid node name (see PGPROBE_NODE_MAX). */
bool pgprobe_node_valid(const char *name);

/* Index of node name in h, or -1 if h has no attempt of it. */
int pgprobe_node_index(const struct pgprobe_history *h, const char *name);

/* Appends one attempt; the name must be valid (else -1, errno EINVAL). */
int pgprobe_history_add(struct pgprobe_history *h, const char *node,
			int64_t seq, int64_t send_us, int64_t ack_us,
			enum pgprobe_result result);

/* Parses one log line "node seq send_us ack_us ok|err|timeout" into h.
 * Returns 0 (added), 1 (blank or '#' comment: skipped) or -1 with a
 * reason in err (malformed line, or out of memory). */
int pgprobe_parse_line(struct pgprobe_history *h, const char *line, char *err,
		       size_t errlen);

/* Builds r from h (sorting h's attempts by node and seq). */
int pgprobe_analyze(struct pgprobe_history *h, struct pgprobe_report *r);
void pgprobe_report_free(struct pgprobe_report *r);

/* Compares h (analyzed, i.e. sorted) with the final primary's rows
 * (reordered in place). */
int pgprobe_compare_final(const struct pgprobe_history *h,
			  struct pgprobe_row *rows, size_t n_rows,
			  struct pgprobe_final *f);
void pgprobe_final_free(struct pgprobe_final *f);

const char *pgprobe_result_name(enum pgprobe_result r);

#endif
