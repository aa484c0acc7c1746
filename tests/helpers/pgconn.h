/*
 * pgconn.h — one libpq connection with a client-side deadline on every
 * step (tests only: tests/helpers/pgprobe and tests/helpers/pgnemesis).
 *
 * Contract
 * --------
 * A frozen (SIGSTOPped) or cut-off server must cost the caller a
 * "timeout", never a hung thread: connecting and every query wait with
 * poll() on the socket until a monotonic deadline.  Connecting takes at
 * most min(timeout, 1 s); the server side gets statement_timeout = 80 %
 * of the timeout and TCP keepalives of a few seconds.
 *
 * Outcomes (enum pgprobe_result, shared with the probe's log):
 *   ok       every result of the query said COMMAND_OK or TUPLES_OK, and
 *            no WARNING came with them;
 *   err      the server answered with an error, or the connection failed;
 *   timeout  no answer before the deadline, or an answer with a WARNING
 *            (a synchronous commit whose wait for the standby was
 *            cancelled: committed locally, maybe not replicated).
 * After err, pc->lost says whether the connection broke while the query
 * was on its way (the server may have run it: its outcome is unknown to
 * the caller, unlike a refusal).  After any outcome but ok, a connection
 * that is in doubt (timed out, broken, or inside a transaction) is
 * closed, so the next call starts afresh with pgconn_open.
 *
 * One struct pgconn per thread; no global state.
 */
#ifndef TENURE_TESTS_PGCONN_H
#define TENURE_TESTS_PGCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "tests/helpers/pgprobe_check.h"

struct pgconn {
	PGconn *conn; /* NULL: not connected */
	bool lost;    /* the last query's connection broke on the way */
	bool warned;  /* a WARNING came with the last answer */
	char warning[200];
};

int64_t pgconn_clock_us(clockid_t id);

/* Connects to conninfo (a libpq conninfo or URI) as application_name
 * app; ok or err/timeout with the reason in why. */
enum pgprobe_result pgconn_open(struct pgconn *pc, const char *conninfo,
				const char *app, long timeout_ms, char *why,
				size_t n);

/* Runs sql: with params (text, nparams of them) as one statement, or,
 * with nparams 0, as a simple query (several statements allowed).  When
 * rows is not NULL, the last TUPLES_OK result is left there for the
 * caller to PQclear (NULL if none). */
enum pgprobe_result pgconn_query(struct pgconn *pc, const char *sql,
				 int nparams, const char *const *params,
				 long timeout_ms, PGresult **rows, char *why,
				 size_t n);

void pgconn_close(struct pgconn *pc);

#endif
