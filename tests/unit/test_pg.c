/* test_pg.c — fencing/pg.c against a real PostgreSQL (tests/pg/pg-unit.sh
 * starts one and passes PGTEST_CONNINFO and PGTEST_PID): rows and NULLs,
 * multi-statement text, SQL errors, FIFO order, connect failures, close
 * and reset with queries queued or in flight, a server that terminates
 * the session, and a SIGSTOPped server: the query times out, the next one
 * reconnects once the server is continued. */
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "fencing/pg.h"
#include "tests/unit/suites.h"

#define MAXR 4
#define MAXC 4

struct env;

/* What one query's callback saw. */
struct outcome {
	struct env *e;
	int calls;
	int status;
	int seq; /* completion order, from 1 */
	char error[512];
	int nrows, ncols;
	char v[MAXR][MAXC][64];
	bool null[MAXR][MAXC];
	char name[MAXC][32];
	void (*then)(struct outcome *o); /* runs inside the callback */
	void *data;
};

struct env {
	uv_loop_t loop;
	struct pg_conn *c;
	int done;
	bool closed;
	bool expired;
	uv_timer_t guard;
};

static const char *conninfo(void)
{
	const char *s = getenv("PGTEST_CONNINFO");
	ck_assert_msg(s != NULL, "PGTEST_CONNINFO is not set: run "
				 "tests/pg/pg-unit.sh (make check does)");
	return s;
}

static void collect(void *arg, int status, const char *error,
		    const struct pg_rows *rows)
{
	struct outcome *o = arg;
	o->calls++;
	o->status = status;
	o->seq = ++o->e->done;
	snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
	if (error && getenv("PGTEST_VERBOSE")) /* to review the wording */
		fprintf(stderr, "pg: %s: %s\n", pg_strerror(status), error);
	ck_assert(status == 0 ? error == NULL && rows != NULL
			      : error != NULL && rows == NULL);
	if (rows) {
		o->nrows = rows->nrows;
		o->ncols = rows->ncols;
		for (int r = 0; r < rows->nrows && r < MAXR; r++)
			for (int col = 0; col < rows->ncols && col < MAXC;
			     col++) {
				const char *v = pg_rows_get(rows, r, col);
				o->null[r][col] = v == NULL;
				snprintf(o->v[r][col], 64, "%s", v ? v : "");
			}
		for (int col = 0; col < rows->ncols && col < MAXC; col++)
			snprintf(o->name[col], 32, "%s",
				 pg_rows_name(rows, col));
	}
	if (o->then)
		o->then(o);
}

static void env_open_with(struct env *e, const char *info)
{
	memset(e, 0, sizeof(*e));
	ck_assert_int_eq(uv_loop_init(&e->loop), 0);
	ck_assert_int_eq(uv_timer_init(&e->loop, &e->guard), 0);
	e->guard.data = e;
	ck_assert_int_eq(pg_conn_new(&e->loop, info, &e->c), 0);
	ck_assert(!pg_conn_connected(e->c));
}

static void env_open(struct env *e)
{
	env_open_with(e, conninfo());
}

static void on_guard(uv_timer_t *t)
{
	((struct env *)t->data)->expired = true;
}

/* Run the loop until n callbacks in all have run, at most ms. */
static void wait_done(struct env *e, int n, uint64_t ms)
{
	e->expired = false;
	uv_timer_start(&e->guard, on_guard, ms, 0);
	while (e->done < n && !e->expired)
		uv_run(&e->loop, UV_RUN_ONCE);
	uv_timer_stop(&e->guard);
	ck_assert_msg(e->done >= n, "only %d of %d queries answered in %llu ms",
		      e->done, n, (unsigned long long)ms);
}

/* Run the loop for ms. */
static void run_for(struct env *e, uint64_t ms)
{
	e->expired = false;
	uv_timer_start(&e->guard, on_guard, ms, 0);
	while (!e->expired)
		uv_run(&e->loop, UV_RUN_ONCE);
}

static void on_closed(void *arg)
{
	((struct env *)arg)->closed = true;
}

static void env_close(struct env *e)
{
	if (e->c)
		pg_conn_close(e->c, on_closed, e);
	uv_close((uv_handle_t *)&e->guard, NULL);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	ck_assert(e->closed || !e->c);
	ck_assert_int_eq(uv_loop_close(&e->loop), 0); /* no handle left */
}

static void query(struct env *e, struct outcome *o, const char *sql,
		  uint64_t timeout_ms)
{
	o->e = e;
	ck_assert_int_eq(pg_query(e->c, sql, timeout_ms, collect, o), 0);
	ck_assert_int_eq(o->calls, 0); /* never from inside pg_query */
}

/* Run one query to its end. */
static void run(struct env *e, struct outcome *o, const char *sql,
		uint64_t timeout_ms)
{
	memset(o, 0, sizeof(*o));
	int before = e->done;
	query(e, o, sql, timeout_ms);
	wait_done(e, before + 1, timeout_ms + 2000);
	ck_assert_int_eq(o->calls, 1);
}

static int backend_pid(struct env *e)
{
	struct outcome o;
	run(e, &o, "SELECT pg_backend_pid()", 5000);
	ck_assert_msg(o.status == 0, "%s", o.error);
	return atoi(o.v[0][0]);
}

START_TEST(select_rows)
{
	struct env e;
	struct outcome o;
	env_open(&e);
	run(&e, &o,
	    "SELECT * FROM (VALUES (1, 'one'), (2, 'two'), (3, 'it''s'))"
	    " AS t(n, word) ORDER BY n",
	    5000);
	ck_assert_msg(o.status == 0, "%s", o.error);
	ck_assert_int_eq(o.nrows, 3);
	ck_assert_int_eq(o.ncols, 2);
	ck_assert_str_eq(o.name[0], "n");
	ck_assert_str_eq(o.name[1], "word");
	ck_assert_str_eq(o.v[0][0], "1");
	ck_assert_str_eq(o.v[1][1], "two");
	ck_assert_str_eq(o.v[2][1], "it's");
	ck_assert(pg_conn_connected(e.c));
	env_close(&e);
}
END_TEST

/* pg_rows_get's edges, checked while the rows are valid. */
static void edges(void *arg, int status, const char *error,
		  const struct pg_rows *rows)
{
	struct outcome *o = arg;
	ck_assert_msg(status == 0, "%s", error);
	ck_assert_ptr_null(pg_rows_get(rows, 0, 0));
	ck_assert_str_eq(pg_rows_get(rows, 0, 1), "");
	ck_assert_ptr_null(pg_rows_get(rows, 1, 0));
	ck_assert_ptr_null(pg_rows_get(rows, 0, 3));
	ck_assert_ptr_null(pg_rows_get(rows, -1, 0));
	ck_assert_ptr_null(pg_rows_get(rows, 0, -1));
	ck_assert_ptr_null(pg_rows_name(rows, 3));
	ck_assert_ptr_null(pg_rows_get(NULL, 0, 0));
	collect(o, status, error, rows);
}

START_TEST(null_values)
{
	struct env e;
	struct outcome o = { 0 };
	env_open(&e);
	o.e = &e;
	ck_assert_int_eq(pg_query(e.c,
				  "SELECT NULL::text AS a, '' AS b, "
				  "'x' AS c",
				  5000, edges, &o),
			 0);
	wait_done(&e, 1, 7000);
	ck_assert_int_eq(o.status, 0);
	ck_assert(o.null[0][0]);
	ck_assert(!o.null[0][1]);
	ck_assert_str_eq(o.v[0][1], "");
	ck_assert_str_eq(o.v[0][2], "x");
	env_close(&e);
}
END_TEST

START_TEST(multi_statement_gives_the_last)
{
	struct env e;
	struct outcome o;
	env_open(&e);
	run(&e, &o,
	    "CREATE TEMP TABLE t (x int); "
	    "INSERT INTO t VALUES (1), (2), (4); "
	    "SELECT sum(x), count(*) FROM t",
	    5000);
	ck_assert_msg(o.status == 0, "%s", o.error);
	ck_assert_int_eq(o.nrows, 1);
	ck_assert_str_eq(o.v[0][0], "7");
	ck_assert_str_eq(o.v[0][1], "3");
	/* A command last: no rows, no columns. */
	run(&e, &o, "SELECT 1; SET work_mem = '8MB'", 5000);
	ck_assert_msg(o.status == 0, "%s", o.error);
	ck_assert_int_eq(o.nrows, 0);
	ck_assert_int_eq(o.ncols, 0);
	run(&e, &o, "", 5000); /* empty text: fine, nothing */
	ck_assert_msg(o.status == 0, "%s", o.error);
	ck_assert_int_eq(o.nrows, 0);
	run(&e, &o, "SHOW work_mem", 5000);
	ck_assert_str_eq(o.v[0][0], "8MB"); /* same session */
	env_close(&e);
}
END_TEST

START_TEST(sql_error_surfaces)
{
	struct env e;
	struct outcome o;
	env_open(&e);
	int pid = backend_pid(&e);
	run(&e, &o, "SELECT * FROM no_such_table", 5000);
	ck_assert_int_eq(o.status, PG_ERR_SQL);
	ck_assert_msg(strstr(o.error, "relation \"no_such_table\" does not "
				      "exist") != NULL,
		      "%s", o.error);
	ck_assert_msg(strstr(o.error, "ERROR") && strstr(o.error, "42P01"),
		      "%s", o.error);
	ck_assert_ptr_null(strchr(o.error, '\n'));
	/* An error in any statement fails the whole text. */
	run(&e, &o, "SELECT 1; SELECT 1/0; SELECT 3", 5000);
	ck_assert_int_eq(o.status, PG_ERR_SQL);
	ck_assert_msg(strstr(o.error, "division by zero"), "%s", o.error);
	run(&e, &o, "SELEC 1", 5000);
	ck_assert_int_eq(o.status, PG_ERR_SQL);
	ck_assert_msg(strstr(o.error, "syntax error"), "%s", o.error);
	/* The session survives SQL errors. */
	ck_assert(pg_conn_connected(e.c));
	ck_assert_int_eq(backend_pid(&e), pid);
	ck_assert_str_eq(pg_strerror(PG_ERR_SQL), "SQL error");
	env_close(&e);
}
END_TEST

START_TEST(queue_answered_in_order)
{
	struct env e;
	struct outcome o[3] = { { 0 } };
	env_open(&e);
	query(&e, &o[0], "SELECT 'first'", 5000);
	query(&e, &o[1], "SELECT pg_sleep(0.2), 'second'", 5000);
	query(&e, &o[2], "SELECT 'third'", 5000);
	wait_done(&e, 3, 7000);
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(o[i].status == 0, "%s", o[i].error);
		ck_assert_int_eq(o[i].calls, 1);
		ck_assert_int_eq(o[i].seq, i + 1);
	}
	ck_assert_str_eq(o[0].v[0][0], "first");
	ck_assert_str_eq(o[1].v[0][1], "second");
	ck_assert_str_eq(o[2].v[0][0], "third");
	env_close(&e);
}
END_TEST

/* A loopback port nothing listens on (bound, then released). */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

START_TEST(connect_failure_is_clear)
{
	struct env e;
	struct outcome o;
	char info[128];
	snprintf(info, sizeof(info),
		 "host=127.0.0.1 port=%d user=postgres "
		 "dbname=postgres",
		 closed_port());
	env_open_with(&e, info);
	run(&e, &o, "SELECT 1", 3000);
	ck_assert_int_eq(o.status, PG_ERR_CONNECT);
	ck_assert_msg(strstr(o.error, "cannot connect to PostgreSQL") &&
			      strstr(o.error, "Connection refused"),
		      "%s", o.error);
	ck_assert_ptr_null(strchr(o.error, '\n'));
	ck_assert(!pg_conn_connected(e.c));
	/* The next query tries again, and fails the same way. */
	run(&e, &o, "SELECT 1", 3000);
	ck_assert_int_eq(o.status, PG_ERR_CONNECT);
	env_close(&e);

	env_open_with(&e, "host=127.0.0.1 no_such_option=1");
	run(&e, &o, "SELECT 1", 3000);
	ck_assert_int_eq(o.status, PG_ERR_CONNECT);
	ck_assert_msg(strstr(o.error, "no_such_option"), "%s", o.error);
	env_close(&e);

	/* Bad credentials: the server's refusal is the message. */
	char bad[512];
	snprintf(bad, sizeof(bad), "%s user=no_such_role", conninfo());
	env_open_with(&e, bad);
	run(&e, &o, "SELECT 1", 5000);
	ck_assert_int_eq(o.status, PG_ERR_CONNECT);
	ck_assert_msg(strstr(o.error, "no_such_role"), "%s", o.error);
	env_close(&e);
}
END_TEST

START_TEST(close_fails_queued_queries)
{
	struct env e;
	struct outcome o[3] = { { 0 } };
	env_open(&e);
	/* Queued, nothing run yet. */
	for (int i = 0; i < 3; i++)
		query(&e, &o[i], "SELECT 1", 5000);
	pg_conn_close(e.c, on_closed, &e);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(o[i].calls, 1);
		ck_assert_int_eq(o[i].status, PG_ERR_SHUTDOWN);
		ck_assert_int_eq(o[i].seq, i + 1);
		ck_assert_msg(strstr(o[i].error, "closed"), "%s", o[i].error);
	}
	ck_assert_int_eq(pg_query(e.c, "SELECT 1", 5000, collect, &o[0]),
			 PG_ERR_SHUTDOWN);
	ck_assert(!e.closed); /* on_closed comes from the loop */
	e.c = NULL;
	env_close(&e);
	ck_assert(e.closed);

	/* One in flight, two behind it. */
	struct env f;
	env_open(&f);
	memset(o, 0, sizeof(o));
	query(&f, &o[0], "SELECT pg_sleep(10)", 15000);
	query(&f, &o[1], "SELECT 2", 15000);
	query(&f, &o[2], "SELECT 3", 15000);
	run_for(&f, 300);
	ck_assert(pg_conn_connected(f.c));
	ck_assert_int_eq(f.done, 0);
	pg_conn_close(f.c, on_closed, &f);
	ck_assert_int_eq(f.done, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(o[i].status, PG_ERR_SHUTDOWN);
	f.c = NULL;
	env_close(&f);
	ck_assert(f.closed);
}
END_TEST

START_TEST(reset_then_reconnect)
{
	struct env e;
	struct outcome o[2] = { { 0 } }, p;
	env_open(&e);
	int pid = backend_pid(&e);
	query(&e, &o[0], "SELECT pg_sleep(10)", 15000);
	query(&e, &o[1], "SELECT 2", 15000);
	run_for(&e, 200);
	int done = e.done;
	ck_assert_int_eq(pg_conn_reset(e.c), 0);
	ck_assert_int_eq(e.done, done + 2);
	ck_assert_int_eq(o[0].status, PG_ERR_RESET);
	ck_assert_int_eq(o[1].status, PG_ERR_RESET);
	ck_assert(!pg_conn_connected(e.c));
	run(&e, &p, "SELECT 1", 5000);
	ck_assert_msg(p.status == 0, "%s", p.error);
	ck_assert_int_ne(backend_pid(&e), pid);
	env_close(&e);
}
END_TEST

/* Callbacks that queue the next query, and one that closes. */
static struct outcome chain[3];
static void chain_next(struct outcome *o)
{
	struct env *e = o->e;
	int i = (int)(o - chain);
	if (i < 2) {
		chain[i + 1].e = e;
		chain[i + 1].then = chain_next;
		ck_assert_int_eq(pg_query(e->c, "SELECT 1", 5000, collect,
					  &chain[i + 1]),
				 0);
		ck_assert_int_eq(chain[i + 1].calls, 0);
	} else {
		pg_conn_close(e->c, on_closed, e);
		e->c = NULL;
	}
}

START_TEST(callbacks_may_queue_and_close)
{
	struct env e;
	env_open(&e);
	memset(chain, 0, sizeof(chain));
	chain[0].then = chain_next;
	query(&e, &chain[0], "SELECT 1", 5000);
	wait_done(&e, 3, 10000);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(chain[i].status == 0, "%s", chain[i].error);
	ck_assert_ptr_null(e.c);
	env_close(&e);
	ck_assert(e.closed);
}
END_TEST

START_TEST(terminated_sessions)
{
	struct env a, b;
	struct outcome o, k;
	char sql[128];
	env_open(&a);
	env_open(&b);
	/* Idle: noticed and dropped quietly; the next query reconnects. */
	int pid = backend_pid(&a);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pid);
	run(&b, &k, sql, 5000);
	ck_assert_msg(k.status == 0, "%s", k.error);
	run_for(&a, 300);
	ck_assert(!pg_conn_connected(a.c));
	run(&a, &o, "SELECT 1", 5000);
	ck_assert_msg(o.status == 0, "%s", o.error);
	int pid2 = backend_pid(&a);
	ck_assert_int_ne(pid2, pid);

	/* In flight: the query fails as lost, with the server's reason. */
	memset(&o, 0, sizeof(o));
	query(&a, &o, "SELECT pg_sleep(10)", 15000);
	run_for(&a, 300);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", pid2);
	run(&b, &k, sql, 5000);
	wait_done(&a, a.done + 1, 5000);
	ck_assert_int_eq(o.status, PG_ERR_BROKEN);
	ck_assert_msg(strstr(o.error, "terminating connection"), "%s", o.error);
	ck_assert_ptr_null(strchr(o.error, '\n'));
	run(&a, &o, "SELECT 1", 5000);
	ck_assert_msg(o.status == 0, "%s", o.error);
	env_close(&a);
	env_close(&b);
}
END_TEST

/* ---- a frozen server ---------------------------------------------------- */

/* The postmaster and its children (backends, checkpointer, ...): what a
 * frozen VM would stop. */
static void signal_server(int sig)
{
	const char *s = getenv("PGTEST_PID");
	ck_assert_msg(s != NULL,
		      "PGTEST_PID is not set: run tests/pg/pg-unit.sh");
	int pm = atoi(s);
	ck_assert_int_gt(pm, 1);
	DIR *d = opendir("/proc");
	struct dirent *de;
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char path[64], buf[512];
		int pid = atoi(de->d_name), ppid = 0;
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *rp = strrchr(buf, ')'); /* comm may hold spaces */
		if (rp && sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == pm)
			kill(pid, sig);
	}
	closedir(d);
	ck_assert_int_eq(kill(pm, sig), 0);
}

static void continue_server(void)
{
	if (getenv("PGTEST_PID"))
		signal_server(SIGCONT);
}

START_TEST(timeout_on_stopped_server)
{
	struct env e;
	struct outcome o, w[2] = { { 0 } };
	env_open(&e);
	int pid = backend_pid(&e);

	signal_server(SIGSTOP);
	/* Sent, never answered. */
	uint64_t t0 = uv_hrtime();
	run(&e, &o, "SELECT 1", 300);
	uint64_t ms = (uv_hrtime() - t0) / 1000000;
	ck_assert_int_eq(o.status, PG_ERR_TIMEOUT);
	ck_assert_msg(strstr(o.error, "did not answer within 300 ms") &&
			      strstr(o.error, "sent"),
		      "%s", o.error);
	ck_assert_msg(ms >= 250 && ms < 1500, "timed out after %llu ms",
		      (unsigned long long)ms);
	ck_assert(!pg_conn_connected(e.c));
	/* Connecting to a frozen postmaster: the kernel accepts, nobody
	 * answers the startup packet. */
	run(&e, &o, "SELECT 1", 300);
	ck_assert_int_eq(o.status, PG_ERR_TIMEOUT);
	ck_assert_msg(strstr(o.error, "while connecting"), "%s", o.error);
	/* One waiting behind a stuck one fails at its own deadline. */
	int done = e.done;
	query(&e, &w[0], "SELECT 1", 600);
	query(&e, &w[1], "SELECT 2", 150);
	wait_done(&e, done + 2, 3000);
	ck_assert_int_eq(w[1].seq, done + 1);
	ck_assert_int_eq(w[1].status, PG_ERR_TIMEOUT);
	ck_assert_msg(strstr(w[1].error, "waiting behind"), "%s", w[1].error);
	ck_assert_int_eq(w[0].status, PG_ERR_TIMEOUT);

	signal_server(SIGCONT);
	run(&e, &o, "SELECT 42", 5000);
	ck_assert_msg(o.status == 0, "%s", o.error);
	ck_assert_str_eq(o.v[0][0], "42");
	ck_assert(pg_conn_connected(e.c));
	ck_assert_int_ne(backend_pid(&e), pid);
	env_close(&e);
}
END_TEST

Suite *pg_suite(void)
{
	Suite *s = suite_create("pg");
	TCase *tc = tcase_create("queries");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, select_rows);
	tcase_add_test(tc, null_values);
	tcase_add_test(tc, multi_statement_gives_the_last);
	tcase_add_test(tc, sql_error_surfaces);
	tcase_add_test(tc, queue_answered_in_order);
	tcase_add_test(tc, connect_failure_is_clear);
	tcase_add_test(tc, close_fails_queued_queries);
	tcase_add_test(tc, reset_then_reconnect);
	tcase_add_test(tc, callbacks_may_queue_and_close);
	tcase_add_test(tc, terminated_sessions);
	suite_add_tcase(s, tc);

	/* Last, and the server is continued even when it fails. */
	TCase *frozen = tcase_create("frozen");
	tcase_set_timeout(frozen, 60);
	tcase_add_unchecked_fixture(frozen, NULL, continue_server);
	tcase_add_test(frozen, timeout_on_stopped_server);
	suite_add_tcase(s, frozen);
	return s;
}
