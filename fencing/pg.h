/*
 * pg.h — one asynchronous PostgreSQL connection on a libuv loop, for the
 * agent's health checks and its promote/demote commands.
 *
 * Contract
 * --------
 * Loop thread only; nothing here blocks the loop.  libpq runs in
 * nonblocking mode (PQconnectStart/PQconnectPoll, PQsendQuery,
 * PQconsumeInput/PQisBusy/PQgetResult) driven by a uv_poll_t on its socket.
 * One exception is libpq's own: a host *name* in conninfo is resolved
 * synchronously by PQconnectStart, so give an IP address (host= or
 * hostaddr=) or a Unix socket directory.
 *
 * Queries run one at a time, in the order pg_query() was called.  The
 * connection is opened lazily by the first query that needs it, and
 * reopened by the next query after it was dropped.  Each query gets an
 * answer within timeout_ms of its pg_query() call (measured on the loop's
 * clock), whatever the server does, including being SIGSTOPped:
 *
 *   - in flight (connecting for it, or sent): a timeout fails it with
 *     PG_ERR_TIMEOUT and drops the connection, since its state is unknown;
 *   - still waiting behind another one: it fails with PG_ERR_TIMEOUT and
 *     the connection is kept.
 *
 * A lost connection fails the query in flight (PG_ERR_BROKEN); one lost
 * while idle (a restarted server) is noticed and dropped quietly, so the
 * next query reconnects instead of failing.  Multi-statement text is
 * allowed (simple query protocol): the callback gets the rows of the LAST
 * statement; an error in any statement fails the whole query with
 * PG_ERR_SQL and the server's message ("ERROR: ... (SQLSTATE 42P01)").
 * COPY is not supported (PG_ERR_BROKEN, connection dropped).
 *
 * The callback is called exactly once per accepted query, never from
 * inside pg_query(); rows (and error) are valid only during the call.  It
 * may call any function here, pg_conn_close() included.  Error texts are
 * one line.
 *
 * Errors: calls return 0 or a negative enum pg_error (PG_ERR_*); a query's
 * outcome reaches its callback as 0 or a PG_ERR_* with the server's
 * message.  Nothing is logged here.
 */
#ifndef TENURE_FENCING_PG_H
#define TENURE_FENCING_PG_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Callback status: 0 or one of these. */
enum pg_error {
	PG_ERR_SQL = -1,      /* the server refused a statement */
	PG_ERR_CONNECT = -2,  /* could not connect (refused, auth, ...) */
	PG_ERR_TIMEOUT = -3,  /* no answer within timeout_ms */
	PG_ERR_BROKEN = -4,   /* the connection broke during the query */
	PG_ERR_SHUTDOWN = -5, /* pg_conn_close() was called */
	PG_ERR_RESET = -6,    /* pg_conn_reset() was called */
	PG_ERR_NOMEM = -7,
	PG_ERR_INVALID = -8, /* bad argument to pg_query() */
};

struct pg_result; /* libpq's PGresult */

/* The rows of a query's last statement. */
struct pg_rows {
	int nrows, ncols;
	const struct pg_result *res; /* NULL when there were no rows */
};

typedef void (*pg_cb)(void *arg, int status, const char *error,
		      const struct pg_rows *rows);

struct pg_conn;

/* A connection object, not connected yet.  conninfo is a libpq
 * connection string (see pgconf_conninfo_append()).  0 or a pg_error. */
int pg_conn_new(uv_loop_t *loop, const char *conninfo, struct pg_conn **out);

/* Queue sql; cb gets the outcome.  timeout_ms must be > 0.  0, or
 * PG_ERR_INVALID / PG_ERR_NOMEM / PG_ERR_SHUTDOWN (cb never called). */
int pg_query(struct pg_conn *c, const char *sql, uint64_t timeout_ms, pg_cb cb,
	     void *arg);

/* A session is open (idle or running a query). */
bool pg_conn_connected(const struct pg_conn *c);

/* Drop the connection now; the query in flight and the queued ones fail
 * with PG_ERR_RESET (their callbacks run inside this call).  Queries
 * queued afterwards reconnect.  0, or PG_ERR_SHUTDOWN. */
int pg_conn_reset(struct pg_conn *c);

/* Fail every query with PG_ERR_SHUTDOWN (inside this call), close the
 * connection and free c once its handles are closed; on_closed (may be
 * NULL) runs after that, from the loop. */
void pg_conn_close(struct pg_conn *c, void (*on_closed)(void *arg), void *arg);

/* A value as text; NULL for SQL NULL or out of range. */
const char *pg_rows_get(const struct pg_rows *r, int row, int col);
/* A column's name; NULL out of range. */
const char *pg_rows_name(const struct pg_rows *r, int col);

/* "timed out", "connection lost", ... for log lines. */
const char *pg_strerror(int status);

#endif
