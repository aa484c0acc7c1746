/* pgconn.c — libpq with client-side deadlines (contract in pgconn.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "tests/helpers/pgconn.h"

#define CONNECT_MAX_MS 1000

int64_t pgconn_clock_us(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* 1: fd ready for events, 0: the monotonic deadline passed, -1: error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	if (fd < 0)
		return -1;
	for (;;) {
		int64_t left = deadline - pgconn_clock_us(CLOCK_MONOTONIC);
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)((left + 999) / 1000));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static void copy_message(char *why, size_t n, const char *msg)
{
	snprintf(why, n, "%s", msg && *msg ? msg : "unknown error");
	why[strcspn(why, "\n")] = '\0';
}

/* Notices arrive while a result is read: a WARNING means the answer is
 * not the plain success it looks like (see the contract). */
static void on_notice(void *arg, const PGresult *res)
{
	struct pgconn *pc = arg;
	const char *sev = PQresultErrorField(res,
					     PG_DIAG_SEVERITY_NONLOCALIZED);
	if (!sev || strcmp(sev, "WARNING") != 0)
		return;
	pc->warned = true;
	copy_message(pc->warning, sizeof(pc->warning),
		     PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
}

enum pgprobe_result pgconn_open(struct pgconn *pc, const char *conninfo,
				const char *app, long timeout_ms, char *why,
				size_t n)
{
	long ms = timeout_ms < CONNECT_MAX_MS ? timeout_ms : CONNECT_MAX_MS;
	int64_t deadline = pgconn_clock_us(CLOCK_MONOTONIC) + ms * 1000;
	char opts[64], user_to[32];
	snprintf(opts, sizeof(opts), "-c statement_timeout=%ld",
		 timeout_ms * 4 / 5);
	snprintf(user_to, sizeof(user_to), "%ld", timeout_ms);
	/* dbname (the caller's conninfo, expanded) comes last so it wins */
	const char *keys[] = { "connect_timeout",  "keepalives",
			       "keepalives_idle",  "keepalives_interval",
			       "keepalives_count", "tcp_user_timeout",
			       "options",          "application_name",
			       "dbname",           NULL };
	const char *vals[] = { "2",     "1",  "1", "1",      "2",
			       user_to, opts, app, conninfo, NULL };
	pgconn_close(pc);
	PGconn *c = PQconnectStartParams(keys, vals, 1);
	if (!c) {
		copy_message(why, n, "out of memory");
		return PGPROBE_ERR;
	}
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (st != PGRES_POLLING_OK) {
		if (st == PGRES_POLLING_FAILED ||
		    PQstatus(c) == CONNECTION_BAD) {
			copy_message(why, n, PQerrorMessage(c));
			PQfinish(c);
			return PGPROBE_ERR;
		}
		short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		int r = wait_fd(PQsocket(c), ev, deadline);
		if (r <= 0) {
			copy_message(why, n,
				     r == 0 ? "connection timed out"
					    : "poll failed");
			PQfinish(c);
			return r == 0 ? PGPROBE_TIMEOUT : PGPROBE_ERR;
		}
		st = PQconnectPoll(c);
	}
	PQsetnonblocking(c, 1);
	PQsetNoticeReceiver(c, on_notice, pc);
	pc->conn = c;
	return PGPROBE_OK;
}

static enum pgprobe_result flush_all(PGconn *c, int64_t deadline)
{
	int r;
	while ((r = PQflush(c)) == 1) {
		int ready = wait_fd(PQsocket(c), POLLIN | POLLOUT, deadline);
		if (ready == 0)
			return PGPROBE_TIMEOUT;
		if (ready < 0 || !PQconsumeInput(c))
			return PGPROBE_ERR;
	}
	return r == 0 ? PGPROBE_OK : PGPROBE_ERR;
}

static bool result_ok(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

static void keep_rows(PGresult **rows, PGresult *res)
{
	if (rows && PQresultStatus(res) == PGRES_TUPLES_OK) {
		PQclear(*rows);
		*rows = res;
	} else {
		PQclear(res);
	}
}

/* Reads every result of the query; ok only if all of them are. */
static enum pgprobe_result read_results(struct pgconn *pc, int64_t deadline,
					PGresult **rows, char *why, size_t n)
{
	PGconn *c = pc->conn;
	enum pgprobe_result out = PGPROBE_OK;
	bool got = false;
	for (;;) {
		while (PQisBusy(c)) {
			int r = wait_fd(PQsocket(c), POLLIN, deadline);
			if (r == 0) {
				copy_message(why, n,
					     "no answer before the deadline");
				return PGPROBE_TIMEOUT;
			}
			if (r < 0 || !PQconsumeInput(c)) {
				copy_message(why, n, PQerrorMessage(c));
				pc->lost = true;
				return PGPROBE_ERR;
			}
		}
		PGresult *res = PQgetResult(c);
		if (!res)
			break;
		if (!result_ok(res)) {
			copy_message(why, n, PQresultErrorMessage(res));
			out = PGPROBE_ERR;
		}
		got = true;
		keep_rows(rows, res);
	}
	if (!got) {
		copy_message(why, n, PQerrorMessage(c));
		pc->lost = true;
	}
	if (out == PGPROBE_ERR && PQstatus(c) != CONNECTION_OK)
		pc->lost = true;
	return got ? out : PGPROBE_ERR;
}

static enum pgprobe_result run_query(struct pgconn *pc, const char *sql,
				     int nparams, const char *const *params,
				     long timeout_ms, PGresult **rows,
				     char *why, size_t n)
{
	PGconn *c = pc->conn;
	int64_t deadline = pgconn_clock_us(CLOCK_MONOTONIC) + timeout_ms * 1000;
	int sent = nparams > 0 ? PQsendQueryParams(c, sql, nparams, NULL,
						   params, NULL, NULL, 0)
			       : PQsendQuery(c, sql);
	if (!sent) {
		copy_message(why, n, PQerrorMessage(c));
		return PGPROBE_ERR;
	}
	enum pgprobe_result r = flush_all(c, deadline);
	if (r != PGPROBE_OK) {
		copy_message(why, n,
			     r == PGPROBE_TIMEOUT ? "send timed out"
						  : PQerrorMessage(c));
		pc->lost = r == PGPROBE_ERR;
		return r;
	}
	r = read_results(pc, deadline, rows, why, n);
	if (r == PGPROBE_OK && pc->warned) {
		snprintf(why, n, "acknowledged with a warning: %s",
			 pc->warning);
		return PGPROBE_TIMEOUT;
	}
	return r;
}

enum pgprobe_result pgconn_query(struct pgconn *pc, const char *sql,
				 int nparams, const char *const *params,
				 long timeout_ms, PGresult **rows, char *why,
				 size_t n)
{
	pc->lost = false;
	pc->warned = false;
	if (rows)
		*rows = NULL;
	if (!pc->conn) {
		copy_message(why, n, "not connected");
		return PGPROBE_ERR;
	}
	enum pgprobe_result r = run_query(pc, sql, nparams, params, timeout_ms,
					  rows, why, n);
	if (r != PGPROBE_OK &&
	    (r == PGPROBE_TIMEOUT || PQstatus(pc->conn) != CONNECTION_OK ||
	     PQtransactionStatus(pc->conn) != PQTRANS_IDLE))
		pgconn_close(pc);
	if (r != PGPROBE_OK && rows) {
		PQclear(*rows);
		*rows = NULL;
	}
	return r;
}

void pgconn_close(struct pgconn *pc)
{
	if (pc->conn)
		PQfinish(pc->conn);
	pc->conn = NULL;
}
