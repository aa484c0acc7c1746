/*
 * pgprobe — writes against several Postgres nodes at once, and the check
 * that no two of them were writable at the same time and that no
 * acknowledged write is missing from the final primary (tests only).
 *
 *   pgprobe run --node NAME=CONNINFO [--node ...] --out FILE
 *               [--interval-ms 20] [--timeout-ms 2500] [--duration S]
 *   pgprobe check --log FILE --final CONNINFO [--sync] [-o text|json]
 *
 * run: one thread per node, each in a loop: (re)connect, then
 *   INSERT INTO tenure_probe(node, seq) VALUES ($1, $2)
 * with a new seq for every attempt, and one line appended to FILE per
 * attempt:
 *   node seq send_us ack_us ok|err|timeout
 * Times are CLOCK_REALTIME microseconds (so that a script can line them
 * up with `date +%s%6N`); one process writes the whole log, so its spans
 * compare on one clock.  send_us is taken just before the INSERT is sent
 * (or before connecting, for an attempt that failed to connect), ack_us
 * when its outcome is known.  A failed connection is an attempt too (err
 * or timeout).  Every attempt has a client-side deadline (--timeout-ms;
 * connecting: at most 1 s of it) enforced by poll() on the socket, so a
 * SIGSTOPped server costs a "timeout" and a new connection, never a hung
 * thread; the server side gets statement_timeout = 80 % of it.  An INSERT
 * acknowledged with a WARNING (a synchronous commit whose wait for the
 * standby was cancelled: committed locally, maybe not replicated) counts
 * as a timeout: its durability is unknown.  Seqs start, for every node,
 * at the run's start time in µs, so that two runs into one table never
 * reuse a (node, seq).  The table must exist on the primary:
 *   CREATE TABLE tenure_probe (node text NOT NULL, seq bigint NOT NULL)
 * Runs until SIGTERM or SIGINT (or --duration seconds), lets every
 * thread finish its attempt, exits 0.
 *
 * check: reads the log, builds each node's writable spans and reports
 * every overlap of two nodes' spans as a VIOLATION; reads every row of
 * tenure_probe on the final primary and counts the acknowledged attempts
 * missing there (lost commits); prints the totals, the longest time with
 * no writable node and every node's spans (see tests/helpers/pgprobe_check.h).
 * Exit 1 on a violation, or on a lost commit with --sync; 2 on a usage,
 * log or connection error; 0 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "tests/helpers/pgconn.h"
#include "tests/helpers/pgprobe_check.h"

#define INSERT_SQL "INSERT INTO tenure_probe(node, seq) VALUES ($1, $2)"
#define MAX_NODES 16
#define LOST_SHOWN 20

static void usage(FILE *f)
{
	fprintf(f, "usage: pgprobe run --node NAME=CONNINFO [--node ...] --out "
		   "FILE\n"
		   "                   [--interval-ms 20] [--timeout-ms 2500] "
		   "[--duration S]\n"
		   "       pgprobe check --log FILE --final CONNINFO [--sync] "
		   "[-o text|json]\n");
}

/* ---- run ------------------------------------------------------------ */

struct run_opts {
	const char *names[MAX_NODES], *conninfos[MAX_NODES];
	int n_nodes;
	const char *out;
	long interval_ms, timeout_ms;
	double duration_s; /* 0: until signalled */
};

struct probe_log {
	FILE *f;
	pthread_mutex_t mu; /* one writer at a time, whole lines */
};

struct worker {
	const char *name, *conninfo;
	const struct run_opts *o;
	struct probe_log *log;
	atomic_bool *stop;
	struct pgconn pc;
	int64_t seq;
	bool failing; /* last attempt failed: report changes only */
	pthread_t tid;
};

/* One attempt: connect if needed, insert; a connection in doubt is
 * dropped by pgconn, so the next attempt starts afresh. */
static enum pgprobe_result probe_once(struct worker *w, int64_t seq,
				      int64_t *send_us, char *why, size_t n)
{
	*send_us = pgconn_clock_us(CLOCK_REALTIME);
	if (!w->pc.conn) {
		enum pgprobe_result r = pgconn_open(&w->pc, w->conninfo,
						    "pgprobe", w->o->timeout_ms,
						    why, n);
		if (r != PGPROBE_OK)
			return r;
		*send_us = pgconn_clock_us(CLOCK_REALTIME);
	}
	char seqs[24];
	snprintf(seqs, sizeof(seqs), "%" PRId64, seq);
	const char *params[2] = { w->name, seqs };
	return pgconn_query(&w->pc, INSERT_SQL, 2, params, w->o->timeout_ms,
			    NULL, why, n);
}

static void log_attempt(struct worker *w, int64_t seq, int64_t send_us,
			int64_t ack_us, enum pgprobe_result r)
{
	pthread_mutex_lock(&w->log->mu);
	fprintf(w->log->f, "%s %" PRId64 " %" PRId64 " %" PRId64 " %s\n",
		w->name, seq, send_us, ack_us, pgprobe_result_name(r));
	fflush(w->log->f);
	pthread_mutex_unlock(&w->log->mu);
}

/* stderr gets the changes only: the first failure of a run of them (with
 * its reason) and the first success after one. */
static void report_change(struct worker *w, enum pgprobe_result r,
			  const char *why)
{
	bool failed = r != PGPROBE_OK;
	if (failed && !w->failing)
		fprintf(stderr, "pgprobe: %s: %s: %s\n", w->name,
			pgprobe_result_name(r), why);
	else if (!failed && w->failing)
		fprintf(stderr, "pgprobe: %s: writable\n", w->name);
	w->failing = failed;
}

static void pause_ms(atomic_bool *stop, long ms)
{
	while (ms > 0 && !atomic_load(stop)) {
		long step = ms < 50 ? ms : 50;
		struct timespec ts = { .tv_sec = 0,
				       .tv_nsec = step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	while (!atomic_load(w->stop)) {
		char why[256] = "";
		int64_t seq = w->seq++, send_us;
		enum pgprobe_result r = probe_once(w, seq, &send_us, why,
						   sizeof(why));
		log_attempt(w, seq, send_us, pgconn_clock_us(CLOCK_REALTIME),
			    r);
		report_change(w, r, why);
		pause_ms(w->stop, w->o->interval_ms);
	}
	pgconn_close(&w->pc);
	return NULL;
}

static int parse_long(const char *s, long min, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

static int parse_node(struct run_opts *o, char *arg)
{
	char *eq = strchr(arg, '=');
	if (!eq || o->n_nodes == MAX_NODES)
		return -1;
	*eq = '\0';
	if (!pgprobe_node_valid(arg)) {
		*eq = '=';
		return -1;
	}
	o->names[o->n_nodes] = arg;
	o->conninfos[o->n_nodes++] = eq + 1;
	return 0;
}

static int parse_run(int argc, char **argv, struct run_opts *o)
{
	*o = (struct run_opts){ .interval_ms = 20, .timeout_ms = 2500 };
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end;
		if (!v)
			goto bad;
		if (strcmp(a, "--node") == 0) {
			if (parse_node(o, argv[i + 1]) != 0) {
				fprintf(stderr,
					"pgprobe run: --node %s: expected "
					"NAME=CONNINFO, "
					"NAME of A-Z a-z 0-9 _ . - (at most %d "
					"nodes)\n",
					v, MAX_NODES);
				return -1;
			}
		} else if (strcmp(a, "--out") == 0)
			o->out = v;
		else if (strcmp(a, "--interval-ms") == 0 &&
			 parse_long(v, 0, &o->interval_ms) == 0)
			;
		else if (strcmp(a, "--timeout-ms") == 0 &&
			 parse_long(v, 10, &o->timeout_ms) == 0)
			;
		else if (strcmp(a, "--duration") == 0 &&
			 (o->duration_s = strtod(v, &end)) > 0 && *end == '\0')
			;
		else
			goto bad;
		i++;
		continue;
	bad:
		fprintf(stderr,
			"pgprobe run: bad or incomplete option %s%s%s\n", a,
			v ? " " : "", v ? v : "");
		return -1;
	}
	if (o->n_nodes == 0 || !o->out) {
		fprintf(stderr, "pgprobe run: needs --node NAME=CONNINFO and "
				"--out FILE\n");
		return -1;
	}
	return 0;
}

/* Blocks until SIGTERM or SIGINT, or until duration_s has passed. */
static void wait_for_end(const sigset_t *set, double duration_s)
{
	if (duration_s <= 0) {
		int sig;
		sigwait(set, &sig);
		return;
	}
	int64_t end = pgconn_clock_us(CLOCK_MONOTONIC) +
		      (int64_t)(duration_s * 1e6);
	for (;;) {
		int64_t left = end - pgconn_clock_us(CLOCK_MONOTONIC);
		if (left <= 0)
			return;
		struct timespec ts = { .tv_sec = left / 1000000,
				       .tv_nsec = (left % 1000000) * 1000 };
		if (sigtimedwait(set, NULL, &ts) >= 0)
			return;
	}
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	if (parse_run(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	/* Every thread inherits the mask: the signals wait for main. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	struct probe_log log = { .f = fopen(o.out, "a") };
	if (!log.f) {
		fprintf(stderr, "pgprobe run: cannot open %s: %s\n", o.out,
			strerror(errno));
		return 2;
	}
	setvbuf(log.f, NULL, _IOLBF, 0);
	pthread_mutex_init(&log.mu, NULL);
	atomic_bool stop;
	atomic_init(&stop, false);
	struct worker w[MAX_NODES];
	int64_t seq0 = pgconn_clock_us(CLOCK_REALTIME);
	int started = 0, rc = 0;
	fprintf(log.f, "# pgprobe run: node seq send_us ack_us result "
		       "(CLOCK_REALTIME us)\n");
	for (int i = 0; i < o.n_nodes; i++) {
		w[i] = (struct worker){
			.name = o.names[i],
			.conninfo = o.conninfos[i],
			.o = &o,
			.log = &log,
			.stop = &stop,
			.seq = seq0,
		};
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "pgprobe run: cannot start a thread\n");
			rc = 2;
			break;
		}
		started++;
	}
	if (rc == 0)
		wait_for_end(&set, o.duration_s);
	atomic_store(&stop, true);
	for (int i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	pthread_mutex_destroy(&log.mu);
	if (fclose(log.f) != 0 && rc == 0) {
		fprintf(stderr, "pgprobe run: writing %s: %s\n", o.out,
			strerror(errno));
		rc = 2;
	}
	return rc;
}

/* ---- check ---------------------------------------------------------- */

struct check_opts {
	const char *log, *final;
	bool sync, json;
};

static int parse_check(int argc, char **argv, struct check_opts *o)
{
	*o = (struct check_opts){ 0 };
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--sync") == 0) {
			o->sync = true;
			continue;
		}
		if (!v)
			goto bad;
		if (strcmp(a, "--log") == 0)
			o->log = v;
		else if (strcmp(a, "--final") == 0)
			o->final = v;
		else if (strcmp(a, "-o") == 0 && strcmp(v, "json") == 0)
			o->json = true;
		else if (strcmp(a, "-o") == 0 && strcmp(v, "text") == 0)
			o->json = false;
		else
			goto bad;
		i++;
		continue;
	bad:
		fprintf(stderr,
			"pgprobe check: bad or incomplete option %s%s%s\n", a,
			v ? " " : "", v ? v : "");
		return -1;
	}
	if (!o->log || !o->final) {
		fprintf(stderr, "pgprobe check: needs --log FILE and --final "
				"CONNINFO\n");
		return -1;
	}
	return 0;
}

/* A last line without its newline is one the probe was writing when it
 * was killed: skipped with a warning.  Any other bad line is an error. */
static int read_log(const char *path, struct pgprobe_history *h)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "pgprobe check: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	char *line = NULL, err[160];
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	for (long no = 1; rc == 0 && (len = getline(&line, &cap, f)) >= 0;
	     no++) {
		if (pgprobe_parse_line(h, line, err, sizeof(err)) >= 0)
			continue;
		if (line[len - 1] != '\n') {
			fprintf(stderr,
				"pgprobe check: %s:%ld: skipping a torn last "
				"line\n",
				path, no);
			continue;
		}
		fprintf(stderr, "pgprobe check: %s:%ld: %s\n", path, no, err);
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Every (node, seq) of tenure_probe on the final primary. */
static int read_final(const char *conninfo, struct pgprobe_row **rows,
		      size_t *n)
{
	const char *keys[] = { "connect_timeout", "application_name", "dbname",
			       NULL };
	const char *vals[] = { "5", "pgprobe-check", conninfo, NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	PGresult *res = NULL;
	int rc = -1;
	*rows = NULL;
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr,
			"pgprobe check: cannot connect to the final primary: "
			"%s",
			PQerrorMessage(c));
		goto out;
	}
	res = PQexec(c, "SELECT node, seq FROM tenure_probe");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "pgprobe check: reading tenure_probe: %s",
			PQresultErrorMessage(res));
		goto out;
	}
	*n = (size_t)PQntuples(res);
	*rows = calloc(*n ? *n : 1, sizeof(**rows));
	if (!*rows)
		goto out;
	for (size_t i = 0; i < *n; i++) {
		const char *node = PQgetvalue(res, (int)i, 0);
		/* a name too long to be ours stays "": it never matches */
		if (strlen(node) < PGPROBE_NODE_MAX)
			snprintf((*rows)[i].node, PGPROBE_NODE_MAX, "%s", node);
		(*rows)[i].seq = strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
	}
	rc = 0;
out:
	PQclear(res);
	PQfinish(c);
	return rc;
}

static double rel_s(const struct pgprobe_report *r, int64_t us)
{
	return (double)(us - r->first_us) / 1e6;
}

static void print_span_text(const struct pgprobe_history *h,
			    const struct pgprobe_report *r,
			    const struct pgprobe_span *s)
{
	printf("%s [%.3f s .. %.3f s] %.3f s, %zu ok, seq %" PRId64
	       "..%" PRId64,
	       h->nodes[s->node], rel_s(r, s->start_us), rel_s(r, s->end_us),
	       (double)(s->end_us - s->start_us) / 1e6, s->oks, s->first_seq,
	       s->last_seq);
}

static void print_text(const struct pgprobe_history *h,
		       const struct pgprobe_report *r,
		       const struct pgprobe_final *f)
{
	printf("pgprobe check: attempts=%zu acked=%zu errors=%zu timeouts=%zu "
	       "lost=%zu unacked_committed=%zu foreign_rows=%zu violations=%zu "
	       "longest_gap_s=%.3f\n",
	       r->attempts, r->acked, r->errors, r->timeouts, f->n_lost,
	       f->n_unacked_present, f->n_foreign, r->n_overlaps,
	       (double)r->gap_us / 1e6);
	printf("times are seconds from the first attempt (%" PRId64 " us)\n",
	       r->first_us);
	printf("longest gap with no writable node: %.3f s [%.3f s .. %.3f s]\n",
	       (double)r->gap_us / 1e6, rel_s(r, r->gap_start_us),
	       rel_s(r, r->gap_end_us));
	for (size_t i = 0; i < r->n_spans; i++) {
		printf("span ");
		print_span_text(h, r, &r->spans[i]);
		printf("\n");
	}
	for (size_t i = 0; i < r->n_overlaps; i++) {
		const struct pgprobe_overlap *o = &r->overlaps[i];
		printf("VIOLATION: two writable nodes for %.3f s: ",
		       (double)o->overlap_us / 1e6);
		print_span_text(h, r, &r->spans[o->a]);
		printf(" overlaps ");
		print_span_text(h, r, &r->spans[o->b]);
		printf("\n");
	}
	for (size_t i = 0; i < f->n_lost && i < LOST_SHOWN; i++) {
		const struct pgprobe_attempt *a = &h->at[f->lost[i]];
		printf("LOST: %s seq %" PRId64 " acknowledged at %.3f s\n",
		       h->nodes[a->node], a->seq, rel_s(r, a->ack_us));
	}
	if (f->n_lost > LOST_SHOWN)
		printf("LOST: ... and %zu more\n", f->n_lost - LOST_SHOWN);
}

static void print_span_json(const struct pgprobe_history *h,
			    const struct pgprobe_span *s)
{
	printf("{\"node\":\"%s\",\"start_us\":%" PRId64 ",\"end_us\":%" PRId64
	       ",\"oks\":%zu,\"first_seq\":%" PRId64 ",\"last_seq\":%" PRId64
	       "}",
	       h->nodes[s->node], s->start_us, s->end_us, s->oks, s->first_seq,
	       s->last_seq);
}

/* Node names are [A-Za-z0-9_.-] (checked on parse): no escaping needed. */
static void print_json(const struct pgprobe_history *h,
		       const struct pgprobe_report *r,
		       const struct pgprobe_final *f)
{
	printf("{\"attempts\":%zu,\"acked\":%zu,\"errors\":%zu,\"timeouts\":%"
	       "zu,"
	       "\"lost\":%zu,\"unacked_committed\":%zu,\"foreign_rows\":%zu,"
	       "\"first_us\":%" PRId64 ",\"last_us\":%" PRId64 ","
	       "\"longest_gap_s\":%.6f,\"gap_start_us\":%" PRId64
	       ",\"gap_end_us\":%" PRId64 ",\"ever_writable\":%s,\"spans\":[",
	       r->attempts, r->acked, r->errors, r->timeouts, f->n_lost,
	       f->n_unacked_present, f->n_foreign, r->first_us, r->last_us,
	       (double)r->gap_us / 1e6, r->gap_start_us, r->gap_end_us,
	       r->ever_writable ? "true" : "false");
	for (size_t i = 0; i < r->n_spans; i++) {
		printf(i ? "," : "");
		print_span_json(h, &r->spans[i]);
	}
	printf("],\"violations\":[");
	for (size_t i = 0; i < r->n_overlaps; i++) {
		const struct pgprobe_overlap *o = &r->overlaps[i];
		printf("%s{\"overlap_s\":%.6f,\"a\":", i ? "," : "",
		       (double)o->overlap_us / 1e6);
		print_span_json(h, &r->spans[o->a]);
		printf(",\"b\":");
		print_span_json(h, &r->spans[o->b]);
		printf("}");
	}
	printf("],\"lost_commits\":[");
	for (size_t i = 0; i < f->n_lost; i++) {
		const struct pgprobe_attempt *a = &h->at[f->lost[i]];
		printf("%s{\"node\":\"%s\",\"seq\":%" PRId64
		       ",\"ack_us\":%" PRId64 "}",
		       i ? "," : "", h->nodes[a->node], a->seq, a->ack_us);
	}
	printf("]}\n");
}

static int cmd_check(int argc, char **argv)
{
	struct check_opts o;
	struct pgprobe_history h;
	struct pgprobe_report r = { 0 };
	struct pgprobe_final f = { 0 };
	struct pgprobe_row *rows = NULL;
	size_t n_rows = 0;
	int rc = 2;
	pgprobe_history_init(&h);
	if (parse_check(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	if (read_log(o.log, &h) != 0 ||
	    read_final(o.final, &rows, &n_rows) != 0)
		goto out;
	if (pgprobe_analyze(&h, &r) != 0 ||
	    pgprobe_compare_final(&h, rows, n_rows, &f) != 0) {
		fprintf(stderr, "pgprobe check: out of memory\n");
		goto out;
	}
	if (o.json)
		print_json(&h, &r, &f);
	else
		print_text(&h, &r, &f);
	rc = r.n_overlaps > 0 || (o.sync && f.n_lost > 0) ? 1 : 0;
	if (!o.json)
		printf("result: %s\n",
		       r.n_overlaps ? "VIOLATION"
		       : f.n_lost   ? (o.sync ? "LOST"
					      : "ok (lost commits allowed "
						"without --sync)")
				    : "ok");
out:
	free(rows);
	pgprobe_final_free(&f);
	pgprobe_report_free(&r);
	pgprobe_history_free(&h);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv);
	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
