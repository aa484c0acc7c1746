/*
 * pg.c — see pg.h.
 *
 * The connection is a small state machine (DOWN -> CONNECTING -> IDLE <->
 * BUSY, back to DOWN on any failure) driven from three places: the poll
 * handle on libpq's socket, one timer (deadlines, and a zero-delay kick
 * after pg_query() so that callbacks never run inside it), and the
 * callers' pg_conn_reset()/pg_conn_close().  Every path that finishes a
 * query pops it from the queue *before* calling its callback, and reads
 * the queue afresh afterwards, so a callback may queue, reset or close.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/pg.h"

enum conn_state {
	ST_DOWN,       /* no PGconn */
	ST_CONNECTING, /* PQconnectPoll in progress, for the queue's head */
	ST_IDLE,       /* session open, nothing sent */
	ST_BUSY,       /* the queue's head was sent, results pending */
};

struct pg_item {
	struct pg_item *next;
	uint64_t deadline; /* loop time, ms */
	uint64_t timeout_ms;
	bool started; /* a connection was opened or it was sent */
	bool retried; /* it already got a second connection */
	pg_cb cb;
	void *arg;
	char sql[];
};

/* Poll handles live apart from the connection: libpq may move to another
 * socket while connecting, and a closing handle outlives its socket. */
struct pg_poll {
	uv_poll_t h;
	struct pg_conn *c;
};

struct pg_conn {
	uv_loop_t *loop;
	char *conninfo;
	PGconn *pq;
	enum conn_state state;
	struct pg_poll *poll; /* watching PQsocket(pq), or NULL */
	int poll_events;
	uv_timer_t timer;
	struct pg_item *head, *tail;
	PGresult *last; /* result of the latest statement so far */
	bool failed;    /* a statement of the query in flight failed */
	bool flushing;  /* libpq still holds unsent query bytes */
	bool closing;
	int handles; /* open uv handles; c is freed at zero */
	void (*on_closed)(void *arg);
	void *closed_arg;
	char err[512];
};

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);
static void pump(struct pg_conn *c);

/* ---- messages ----------------------------------------------------------- */

/* prefix + msg into c->err on one line: libpq's line breaks (and the
 * indentation after them) become "; ". */
static void set_error(struct pg_conn *c, const char *prefix, const char *msg)
{
	size_t n = (size_t)snprintf(c->err, sizeof(c->err), "%s", prefix);
	const char *sep = NULL;
	if (n >= sizeof(c->err))
		return;
	for (const char *p = msg ? msg : ""; *p; p++) {
		if (*p == '\n' || *p == '\r') {
			sep = "; ";
			continue;
		}
		if (sep && (*p == '\t' || *p == ' '))
			continue;
		for (; sep && *sep && n + 1 < sizeof(c->err); sep++)
			c->err[n++] = *sep;
		sep = NULL;
		if (n + 1 < sizeof(c->err))
			c->err[n++] = *p;
	}
	c->err[n] = '\0';
}

static void set_pq_error(struct pg_conn *c, const char *prefix)
{
	set_error(c, prefix, c->pq ? PQerrorMessage(c->pq) : "no connection");
}

/* "ERROR: relation "x" does not exist (SQLSTATE 42P01)" */
static void set_sql_error(struct pg_conn *c, const PGresult *r)
{
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	char text[sizeof(c->err)];
	if (!msg) {
		set_error(c, "", PQresultErrorMessage(r));
		return;
	}
	snprintf(text, sizeof(text), "%s: %s (SQLSTATE %s)",
		 sev ? sev : "ERROR", msg, code ? code : "?");
	set_error(c, "", text);
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* libpq would print it on stderr */
}

/* ---- handles ------------------------------------------------------------ */

static void handle_gone(struct pg_conn *c)
{
	if (--c->handles > 0 || !c->closing)
		return;
	void (*cb)(void *) = c->on_closed;
	void *arg = c->closed_arg;
	free(c->conninfo);
	free(c);
	if (cb)
		cb(arg);
}

static void on_poll_closed(uv_handle_t *h)
{
	struct pg_poll *p = (struct pg_poll *)h;
	struct pg_conn *c = p->c;
	free(p);
	handle_gone(c);
}

static void on_timer_closed(uv_handle_t *h)
{
	handle_gone(h->data);
}

/* uv_close stops the watcher at once (and removes the fd from epoll), so
 * the socket may be closed or reused right after. */
static void poll_close(struct pg_conn *c)
{
	if (!c->poll)
		return;
	uv_close((uv_handle_t *)&c->poll->h, on_poll_closed);
	c->poll = NULL;
	c->poll_events = 0;
}

/* Watch libpq's socket for events.  fresh: a new handle, because after
 * PQconnectPoll the socket may be another one, even under the same
 * number, and libuv must not keep the old registration. */
static int poll_watch(struct pg_conn *c, int events, bool fresh)
{
	int fd = PQsocket(c->pq), rc;
	if (fd < 0) {
		set_error(c, "", "libpq has no socket");
		return -1;
	}
	if (fresh)
		poll_close(c);
	if (!c->poll) {
		struct pg_poll *p = malloc(sizeof(*p));
		if (!p) {
			set_error(c, "", "out of memory");
			return -1;
		}
		if ((rc = uv_poll_init(c->loop, &p->h, fd)) < 0) {
			free(p);
			set_error(c,
				  "cannot watch the socket: ", uv_strerror(rc));
			return -1;
		}
		p->c = c;
		p->h.data = c;
		c->handles++;
		c->poll = p;
	}
	if (events == c->poll_events)
		return 0;
	if ((rc = uv_poll_start(&c->poll->h, events, on_poll)) < 0) {
		set_error(c, "cannot watch the socket: ", uv_strerror(rc));
		return -1;
	}
	c->poll_events = events;
	return 0;
}

/* ---- the queue ---------------------------------------------------------- */

static struct pg_item *pop_head(struct pg_conn *c)
{
	struct pg_item *q = c->head;
	c->head = q->next;
	if (!c->head)
		c->tail = NULL;
	return q;
}

static void finish(struct pg_item *q, int status, const char *error,
		   const struct pg_rows *rows)
{
	q->cb(q->arg, status, error, rows);
	free(q);
}

static void fail_head(struct pg_conn *c, int status, const char *error)
{
	if (c->head)
		finish(pop_head(c), status, error, NULL);
}

static void fail_list(struct pg_item *q, int status, const char *error)
{
	while (q) {
		struct pg_item *next = q->next;
		finish(q, status, error, NULL);
		q = next;
	}
}

static void arm_timer(struct pg_conn *c)
{
	uint64_t first = UINT64_MAX, now = uv_now(c->loop);
	for (struct pg_item *q = c->head; q; q = q->next)
		if (q->deadline < first)
			first = q->deadline;
	if (first == UINT64_MAX)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timer,
			       first > now ? first - now : 0, 0);
}

/* ---- the connection ----------------------------------------------------- */

static void drop_conn(struct pg_conn *c)
{
	poll_close(c); /* before PQfinish closes the socket */
	if (c->pq)
		PQfinish(c->pq);
	c->pq = NULL;
	PQclear(c->last);
	c->last = NULL;
	c->state = ST_DOWN;
	c->failed = false;
	c->flushing = false;
}

/* PQconnectStart for the queue's head: 0, or a pg_error with c->err. */
static int conn_start(struct pg_conn *c)
{
	c->pq = PQconnectStart(c->conninfo);
	if (!c->pq) {
		set_error(c, "cannot connect to PostgreSQL: ", "out of memory");
		return PG_ERR_NOMEM;
	}
	PQsetNoticeProcessor(c->pq, ignore_notice, NULL);
	c->state = ST_CONNECTING;
	/* libpq's rule: poll for writing first. */
	if (PQstatus(c->pq) != CONNECTION_BAD &&
	    poll_watch(c, UV_WRITABLE, true) == 0)
		return 0;
	if (PQstatus(c->pq) == CONNECTION_BAD)
		set_pq_error(c, "cannot connect to PostgreSQL: ");
	drop_conn(c);
	return PG_ERR_CONNECT;
}

/* Send the queue's head: 0, or -1 with c->err (connection dropped). */
static int send_query(struct pg_conn *c, struct pg_item *q)
{
	int r;
	if (!PQsendQuery(c->pq, q->sql) || (r = PQflush(c->pq)) < 0) {
		set_pq_error(c, "connection to PostgreSQL lost: ");
		drop_conn(c);
		return -1;
	}
	c->state = ST_BUSY;
	c->failed = false;
	c->flushing = r == 1;
	if (poll_watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0),
		       false) < 0) {
		drop_conn(c);
		return -1;
	}
	return 0;
}

/* Start the queue's head if the connection is free; fail what cannot
 * start.  Ends with the timer armed for the earliest deadline. */
static void pump(struct pg_conn *c)
{
	while (!c->closing && c->head &&
	       (c->state == ST_DOWN || c->state == ST_IDLE)) {
		struct pg_item *q = c->head;
		int status;
		q->started = true;
		if (c->state == ST_DOWN) {
			if ((status = conn_start(c)) == 0)
				break;
			fail_head(c, status, c->err);
			continue;
		}
		if (send_query(c, q) == 0)
			break;
		/* Never sent, so safe to try once on a new connection: the
		 * old one died while idle before we noticed. */
		if (!q->retried) {
			q->retried = true;
			continue;
		}
		fail_head(c, PG_ERR_BROKEN, c->err);
	}
	if (c->closing)
		return;
	if (c->state == ST_IDLE && poll_watch(c, UV_READABLE, false) < 0)
		drop_conn(c);
	arm_timer(c);
}

/* The connection failed while the query in flight needed it. */
static void fail_in_flight(struct pg_conn *c, int status)
{
	drop_conn(c);
	fail_head(c, status, c->err);
	pump(c);
}

static void connect_step(struct pg_conn *c)
{
	int rc = -1;
	switch (PQconnectPoll(c->pq)) {
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(c->pq, 1) != 0) {
			set_pq_error(c, "cannot connect to PostgreSQL: ");
			break;
		}
		c->state = ST_IDLE;
		if (poll_watch(c, UV_READABLE, true) < 0)
			break;
		pump(c);
		return;
	case PGRES_POLLING_READING:
		rc = poll_watch(c, UV_READABLE, true);
		break;
	case PGRES_POLLING_WRITING:
		rc = poll_watch(c, UV_WRITABLE, true);
		break;
	default:
		set_pq_error(c, "cannot connect to PostgreSQL: ");
		break;
	}
	if (rc < 0)
		fail_in_flight(c, PG_ERR_CONNECT);
}

/* Keep the last statement's rows, or the first error; false for results
 * this module cannot finish (COPY). */
static bool take_result(struct pg_conn *c, PGresult *r)
{
	switch (PQresultStatus(r)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
	case PGRES_EMPTY_QUERY:
		if (!c->failed) {
			PQclear(c->last);
			c->last = r;
			return true;
		}
		break;
	case PGRES_COPY_IN:
	case PGRES_COPY_OUT:
	case PGRES_COPY_BOTH:
		PQclear(r);
		set_error(c, "",
			  "COPY is not supported by tenure's "
			  "PostgreSQL client");
		return false;
	default:
		if (!c->failed)
			set_sql_error(c, r);
		c->failed = true;
		break;
	}
	PQclear(r);
	return true;
}

static void query_done(struct pg_conn *c)
{
	struct pg_item *q = pop_head(c);
	PGresult *res = c->last;
	bool failed = c->failed;
	c->last = NULL;
	c->failed = false;
	c->state = ST_IDLE;
	if (failed) {
		finish(q, PG_ERR_SQL, c->err, NULL);
	} else {
		struct pg_rows rows = {
			.nrows = res ? PQntuples(res) : 0,
			.ncols = res ? PQnfields(res) : 0,
			.res = res,
		};
		finish(q, 0, NULL, &rows);
	}
	PQclear(res);
	pump(c);
}

static void busy_io(struct pg_conn *c, int events)
{
	if ((events & UV_READABLE) && !PQconsumeInput(c->pq))
		goto lost;
	if (c->flushing) {
		int r = PQflush(c->pq);
		if (r < 0)
			goto lost;
		c->flushing = r == 1;
	}
	while (!PQisBusy(c->pq)) {
		PGresult *r = PQgetResult(c->pq);
		if (!r) {
			query_done(c);
			return;
		}
		if (!take_result(c, r)) {
			fail_in_flight(c, PG_ERR_BROKEN);
			return;
		}
	}
	if (poll_watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0),
		       false) < 0)
		fail_in_flight(c, PG_ERR_BROKEN);
	return;
lost:
	set_pq_error(c, "connection to PostgreSQL lost: ");
	fail_in_flight(c, PG_ERR_BROKEN);
}

/* Input while idle: notifications, or the server closing the session
 * (restart, pg_terminate_backend).  The latter is dropped quietly. */
static void idle_io(struct pg_conn *c)
{
	PGnotify *n;
	if (!PQconsumeInput(c->pq) || PQstatus(c->pq) == CONNECTION_BAD) {
		drop_conn(c);
		pump(c);
		return;
	}
	while ((n = PQnotifies(c->pq)))
		PQfreemem(n);
}

/* libuv reports POLLERR as an error and stops the handle.  libpq knows
 * what went wrong (connection refused, reset by peer): ask it. */
static void socket_error(struct pg_conn *c, int status)
{
	c->poll_events = 0;
	if (c->state == ST_CONNECTING) {
		connect_step(c); /* fails with libpq's reason */
		return;
	}
	if (!PQconsumeInput(c->pq))
		set_pq_error(c, "connection to PostgreSQL lost: ");
	else
		set_error(c, "connection to PostgreSQL lost: ",
			  uv_strerror(status));
	if (c->state == ST_BUSY) {
		fail_in_flight(c, PG_ERR_BROKEN);
	} else {
		drop_conn(c);
		pump(c);
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct pg_conn *c = h->data;
	if (status < 0 && c->state != ST_DOWN) {
		socket_error(c, status);
		return;
	}
	switch (c->state) {
	case ST_CONNECTING:
		connect_step(c);
		break;
	case ST_BUSY:
		busy_io(c, events);
		break;
	case ST_IDLE:
		idle_io(c);
		break;
	case ST_DOWN:
		break;
	}
}

/* ---- deadlines ---------------------------------------------------------- */

static void expire_in_flight(struct pg_conn *c, uint64_t now)
{
	struct pg_item *q = c->head;
	if (!q || !q->started || q->deadline > now)
		return;
	snprintf(c->err, sizeof(c->err),
		 "PostgreSQL did not answer within %llu ms (%s); the "
		 "connection was dropped",
		 (unsigned long long)q->timeout_ms,
		 c->state == ST_CONNECTING ? "while connecting"
					   : "after the query was sent");
	drop_conn(c);
	fail_head(c, PG_ERR_TIMEOUT, c->err);
}

/* Queries still waiting behind another one fail alone. */
static void expire_waiting(struct pg_conn *c, uint64_t now)
{
	struct pg_item *expired = NULL, **etail = &expired, **pp = &c->head;
	c->tail = NULL;
	while (*pp) {
		struct pg_item *q = *pp;
		if (!q->started && q->deadline <= now) {
			*pp = q->next;
			q->next = NULL;
			*etail = q;
			etail = &q->next;
			continue;
		}
		c->tail = q;
		pp = &q->next;
	}
	while (expired) {
		struct pg_item *q = expired;
		char msg[160];
		expired = q->next;
		snprintf(msg, sizeof(msg),
			 "no answer within %llu ms: the query was still "
			 "waiting behind an earlier one",
			 (unsigned long long)q->timeout_ms);
		finish(q, PG_ERR_TIMEOUT, msg, NULL);
	}
}

static void on_timer(uv_timer_t *t)
{
	struct pg_conn *c = t->data;
	uint64_t now = uv_now(c->loop);
	expire_in_flight(c, now);
	if (!c->closing)
		expire_waiting(c, now);
	pump(c);
}

/* ---- public ------------------------------------------------------------- */

int pg_conn_new(uv_loop_t *loop, const char *conninfo, struct pg_conn **out)
{
	struct pg_conn *c;
	if (!loop || !conninfo || !out)
		return PG_ERR_INVALID;
	if (!(c = calloc(1, sizeof(*c))))
		return PG_ERR_NOMEM;
	if (!(c->conninfo = strdup(conninfo))) {
		free(c);
		return PG_ERR_NOMEM;
	}
	c->loop = loop;
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->handles = 1;
	*out = c;
	return 0;
}

int pg_query(struct pg_conn *c, const char *sql, uint64_t timeout_ms, pg_cb cb,
	     void *arg)
{
	struct pg_item *q;
	size_t len;
	if (!c || !sql || !cb || timeout_ms == 0)
		return PG_ERR_INVALID;
	if (c->closing)
		return PG_ERR_SHUTDOWN;
	len = strlen(sql);
	if (!(q = calloc(1, sizeof(*q) + len + 1)))
		return PG_ERR_NOMEM;
	memcpy(q->sql, sql, len + 1);
	q->cb = cb;
	q->arg = arg;
	q->timeout_ms = timeout_ms;
	uint64_t now = uv_now(c->loop);
	q->deadline = timeout_ms < UINT64_MAX - 1 - now ? now + timeout_ms
							: UINT64_MAX - 1;
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	uv_timer_start(&c->timer, on_timer, 0, 0); /* pump from the loop */
	return 0;
}

bool pg_conn_connected(const struct pg_conn *c)
{
	return c->state == ST_IDLE || c->state == ST_BUSY;
}

int pg_conn_reset(struct pg_conn *c)
{
	if (c->closing)
		return PG_ERR_SHUTDOWN;
	struct pg_item *list = c->head;
	c->head = c->tail = NULL;
	drop_conn(c);
	fail_list(list, PG_ERR_RESET, "the connection to PostgreSQL was reset");
	if (!c->closing) /* queries queued by those callbacks */
		uv_timer_start(&c->timer, on_timer, 0, 0);
	return 0;
}

void pg_conn_close(struct pg_conn *c, void (*on_closed)(void *arg), void *arg)
{
	if (c->closing)
		return;
	c->closing = true;
	c->on_closed = on_closed;
	c->closed_arg = arg;
	struct pg_item *list = c->head;
	c->head = c->tail = NULL;
	drop_conn(c);
	uv_close((uv_handle_t *)&c->timer, on_timer_closed);
	fail_list(list, PG_ERR_SHUTDOWN,
		  "the connection to PostgreSQL is being closed");
}

const char *pg_rows_get(const struct pg_rows *r, int row, int col)
{
	if (!r || !r->res || row < 0 || row >= r->nrows || col < 0 ||
	    col >= r->ncols || PQgetisnull(r->res, row, col))
		return NULL;
	return PQgetvalue(r->res, row, col);
}

const char *pg_rows_name(const struct pg_rows *r, int col)
{
	if (!r || !r->res || col < 0 || col >= r->ncols)
		return NULL;
	return PQfname(r->res, col);
}
