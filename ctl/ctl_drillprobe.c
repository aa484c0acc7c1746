/*
 * ctl_drillprobe.c — the write probe of `tenurectl cluster drill`: one
 * thread that inserts the next id into whichever node the drill names as
 * the primary, every interval, and remembers which node acknowledged
 * which id and when; afterwards, which acknowledged ids the new primary
 * lacks.  That is what RTO (time without an acknowledged write) and RPO
 * (acknowledged writes lost) are measured from.
 *
 * Why it is built this way:
 * - libpq's own blocking calls could hang on a frozen node (and its
 *   connect_timeout rounds anything under 2 s up to 2 s), so every
 *   connect and every INSERT is non-blocking with poll() and a deadline;
 *   a node that does not answer in time costs one failed write and a new
 *   connection, never a stuck probe.
 * - A write that ran out of time is closed, not cancelled: a cancel
 *   while Postgres waits for its synchronous standby turns the wait into
 *   "committed locally" and a success.  For the same reason an INSERT
 *   that comes back with the WARNING of a cancelled synchronous wait
 *   (statement_timeout, a backend terminated by a demotion) is not
 *   counted as acknowledged: its durability is unknown.
 * - Ids come from one counter that starts after the table's largest id,
 *   so every drill (and every attempt) writes ids never used before, and
 *   "acknowledged but missing" needs no bookkeeping on the server.
 * - Times are CLOCK_MONOTONIC milliseconds, the clock the drill measures
 *   its timeline on.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "common/clock.h"
#include "ctl/ctl.h"
#include "ctl/ctl_drill.h"
#include "fencing/roster.h"

#define PROBE_TABLE_SQL                                                    \
	"CREATE TABLE IF NOT EXISTS tenure_drill (id bigint PRIMARY KEY, " \
	"node text, at timestamptz DEFAULT now())"
#define PROBE_NEXT_SQL "SELECT coalesce(max(id), 0) + 1 FROM tenure_drill"
#define PROBE_INSERT_SQL "INSERT INTO tenure_drill (id, node) VALUES ($1, $2)"
#define PROBE_CHECK_SQL "SELECT id FROM tenure_drill WHERE id >= $1"
/* setup and the final check may wait for a synchronous standby */
#define PROBE_SLOW_MS 10000
#define PROBE_NODES 32

struct probe_write {
	uint64_t id;
	uint64_t send_ms, done_ms;
	unsigned node; /* index into nodes */
	bool acked;
};

struct ctl_probe {
	struct ctl_probe_conf conf;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	/* under mu: what the drill tells the probe and what it asks back */
	bool stop;
	char target[MEMBER_STR_MAX], target_addr[MEMBER_STR_MAX];
	uint64_t first_new_ms;
	/* the probe thread's own while it runs */
	PGconn *conn;
	char conn_addr[MEMBER_STR_MAX];
	bool unsure; /* a WARNING said the commit may not be replicated */
	uint64_t first_id, next_id;
	struct probe_write *w;
	size_t n, cap;
	char nodes[PROBE_NODES][MEMBER_STR_MAX];
	unsigned n_nodes;
	uint64_t errors;
	char last_error[256];
};

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
			       (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- libpq with deadlines ---------------------------------------------- */

/* libpq's message, its first line. */
static void pq_error(PGconn *pg, const char *what, char *err, size_t errlen)
{
	const char *m = pg ? PQerrorMessage(pg) : "out of memory";
	size_t len = strcspn(m, "\n"); /* its first line says what failed */
	while (len && m[len - 1] == ' ')
		len--;
	snprintf(err, errlen, "%s: %.*s", what, (int)len, m);
}

/* 1 when the socket is ready for events, 0 at the deadline, -1 on error. */
static int wait_socket(PGconn *pg, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = PQsocket(pg), .events = events };
	if (p.fd < 0)
		return -1;
	for (;;) {
		uint64_t now = clock_now_ms();
		if (now >= deadline)
			return 0;
		int rv = poll(&p, 1, (int)(deadline - now));
		if (rv >= 0)
			return rv > 0 ? 1 : 0;
		if (errno != EINTR)
			return -1;
	}
}

static void on_notice(void *arg, const PGresult *res)
{
	bool *unsure = arg;
	const char *sev = PQresultErrorField(res,
					     PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (unsure && sev && strcmp(sev, "WARNING") == 0 && msg &&
	    strstr(msg, "synchronous replication"))
		*unsure = true;
}

/* A connection to addr ("host:port") by the deadline, or NULL with err. */
static PGconn *pq_open(const struct ctl_probe_conf *conf, const char *addr,
		       uint64_t deadline, bool *unsure, char *err,
		       size_t errlen)
{
	char host[MEMBER_STR_MAX], port[8], options[64];
	unsigned p;
	if (!roster_split_addr(addr, host, sizeof(host), &p)) {
		snprintf(err, errlen, "'%s' is not a host:port address", addr);
		return NULL;
	}
	snprintf(port, sizeof(port), "%u", p);
	snprintf(options, sizeof(options), "-c statement_timeout=%llu",
		 (unsigned long long)conf->deadline_ms);
	const char *const keys[] = {
		"host",    "port", "user", "dbname", "application_name",
		"options", NULL
	};
	const char *const vals[] = {
		host,    port, conf->user, conf->database, "tenurectl-drill",
		options, NULL
	};
	PGconn *pg = PQconnectStartParams(keys, vals, 0);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	if (!pg || PQstatus(pg) == CONNECTION_BAD)
		st = PGRES_POLLING_FAILED;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		int ready = wait_socket(pg,
					st == PGRES_POLLING_READING ? POLLIN
								    : POLLOUT,
					deadline);
		if (ready <= 0) {
			snprintf(err, errlen, "connecting to %s: %s", addr,
				 ready ? "poll failed" : "no answer in time");
			PQfinish(pg);
			return NULL;
		}
		st = PQconnectPoll(pg);
	}
	if (st == PGRES_POLLING_FAILED || PQsetnonblocking(pg, 1) != 0) {
		char what[MEMBER_STR_MAX + 32];
		snprintf(what, sizeof(what), "connecting to %s", addr);
		pq_error(pg, what, err, errlen);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeReceiver(pg, on_notice, unsure);
	return pg;
}

/* Sends the query and waits for its last result by the deadline: the
 * result (PQclear it), or NULL with err when the connection failed or ran
 * out of time (close it then: its state is unknown). */
static PGresult *pq_exec(PGconn *pg, const char *sql, int n,
			 const char *const *params, uint64_t deadline,
			 char *err, size_t errlen)
{
	if (!PQsendQueryParams(pg, sql, n, NULL, params, NULL, NULL, 0)) {
		pq_error(pg, "sending", err, errlen);
		return NULL;
	}
	int f;
	while ((f = PQflush(pg)) > 0)
		if (wait_socket(pg, POLLOUT | POLLIN, deadline) <= 0 ||
		    !PQconsumeInput(pg))
			break;
	if (f != 0) {
		snprintf(err, errlen, "sending: no progress in time");
		return NULL;
	}
	PGresult *last = NULL;
	for (;;) {
		while (!PQisBusy(pg)) {
			PGresult *r = PQgetResult(pg);
			if (!r) {
				if (!last)
					pq_error(pg, "no result", err, errlen);
				return last;
			}
			PQclear(last);
			last = r;
		}
		int ready = wait_socket(pg, POLLIN, deadline);
		if (ready <= 0 || !PQconsumeInput(pg)) {
			if (ready == 0)
				snprintf(err, errlen, "no answer in time");
			else
				pq_error(pg, "reading", err, errlen);
			PQclear(last);
			return NULL;
		}
	}
}

/* The result's error message, shortened to its first line. */
static void result_error(const PGresult *r, char *err, size_t errlen)
{
	const char *m = PQresultErrorMessage(r);
	size_t len = strcspn(m, "\n");
	snprintf(err, errlen, "%.*s", (int)len,
		 len ? m : PQresStatus(PQresultStatus(r)));
}

/* ---- setup ------------------------------------------------------------- */

static int setup_table(struct ctl_probe *p, const char *addr, char *err,
		       size_t errlen)
{
	uint64_t deadline = clock_now_ms() + PROBE_SLOW_MS;
	PGconn *pg = pq_open(&p->conf, addr, deadline, NULL, err, errlen);
	if (!pg)
		return -1;
	int rv = -1;
	PGresult *r = pq_exec(pg, PROBE_TABLE_SQL, 0, NULL, deadline, err,
			      errlen);
	if (r && PQresultStatus(r) != PGRES_COMMAND_OK)
		result_error(r, err, errlen);
	else if (r) {
		PQclear(r);
		r = pq_exec(pg, PROBE_NEXT_SQL, 0, NULL, deadline, err, errlen);
		if (r &&
		    (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1))
			result_error(r, err, errlen);
		else if (r) {
			p->first_id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
			p->next_id = p->first_id;
			rv = 0;
		}
	}
	PQclear(r);
	PQfinish(pg);
	return rv;
}

int ctl_probe_new(const struct ctl_probe_conf *conf, const char *primary_addr,
		  struct ctl_probe **out, char *err, size_t errlen)
{
	struct ctl_probe *p = calloc(1, sizeof(*p));
	*out = NULL;
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	p->conf = *conf;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		snprintf(err, errlen, "pthread_mutex_init failed");
		free(p);
		return -1;
	}
	if (setup_table(p, primary_addr, err, errlen) != 0) {
		ctl_probe_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

/* ---- the probe thread -------------------------------------------------- */

static unsigned intern_node(struct ctl_probe *p, const char *name)
{
	for (unsigned i = 0; i < p->n_nodes; i++)
		if (strcmp(p->nodes[i], name) == 0)
			return i;
	if (p->n_nodes == PROBE_NODES)
		return PROBE_NODES - 1; /* more nodes than any real cluster */
	snprintf(p->nodes[p->n_nodes], sizeof(p->nodes[0]), "%s", name);
	return p->n_nodes++;
}

static void note_error(struct ctl_probe *p, const char *node, const char *e)
{
	p->errors++;
	/* cut to fit: a message for people, not data */
	snprintf(p->last_error, sizeof(p->last_error), "%.60s: %.180s", node,
		 e);
}

static void close_conn(struct ctl_probe *p)
{
	PQfinish(p->conn);
	p->conn = NULL;
	p->conn_addr[0] = '\0';
}

static bool keep(struct ctl_probe *p, const struct probe_write *w)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		struct probe_write *nw = realloc(p->w, cap * sizeof(*nw));
		if (!nw)
			return false;
		p->w = nw;
		p->cap = cap;
	}
	p->w[p->n++] = *w;
	return true;
}

/* One INSERT of the next id into node at addr. */
static void write_once(struct ctl_probe *p, const char *node, const char *addr)
{
	char err[512], id[24];
	uint64_t start = clock_now_ms();
	if (p->conn && (strcmp(p->conn_addr, addr) != 0 ||
			PQstatus(p->conn) != CONNECTION_OK))
		close_conn(p);
	if (!p->conn) {
		p->conn = pq_open(&p->conf, addr, start + p->conf.deadline_ms,
				  &p->unsure, err, sizeof(err));
		if (!p->conn) {
			note_error(p, node, err);
			return;
		}
		snprintf(p->conn_addr, sizeof(p->conn_addr), "%s", addr);
	}
	struct probe_write w = { .id = p->next_id++,
				 .node = intern_node(p, node) };
	snprintf(id, sizeof(id), "%llu", (unsigned long long)w.id);
	const char *const params[] = { id, node };
	p->unsure = false;
	w.send_ms = clock_now_ms();
	PGresult *r = pq_exec(p->conn, PROBE_INSERT_SQL, 2, params,
			      w.send_ms + p->conf.deadline_ms, err,
			      sizeof(err));
	w.done_ms = clock_now_ms();
	w.acked = r && PQresultStatus(r) == PGRES_COMMAND_OK && !p->unsure;
	if (!w.acked) {
		if (r && !p->unsure)
			result_error(r, err, sizeof(err));
		else if (r)
			snprintf(err, sizeof(err),
				 "committed locally, maybe "
				 "not replicated (not counted)");
		note_error(p, node, err);
	}
	if (!r || PQstatus(p->conn) != CONNECTION_OK)
		close_conn(p);
	PQclear(r);
	if (!keep(p, &w)) {
		note_error(p, node, "out of memory: write not recorded");
		return;
	}
	if (w.acked && strcmp(node, p->conf.old) != 0) {
		pthread_mutex_lock(&p->mu);
		if (!p->first_new_ms)
			p->first_new_ms = w.done_ms;
		pthread_mutex_unlock(&p->mu);
	}
}

/* The target under the lock; true when asked to stop. */
static bool next_target(struct ctl_probe *p, char *node, char *addr)
{
	pthread_mutex_lock(&p->mu);
	bool stop = p->stop;
	memcpy(node, p->target, sizeof(p->target));
	memcpy(addr, p->target_addr, sizeof(p->target_addr));
	pthread_mutex_unlock(&p->mu);
	return stop;
}

static void *probe_main(void *arg)
{
	struct ctl_probe *p = arg;
	char node[MEMBER_STR_MAX], addr[MEMBER_STR_MAX];
	uint64_t due = clock_now_ms();
	while (!next_target(p, node, addr)) {
		uint64_t now = clock_now_ms();
		if (now < due) {
			sleep_ms(due - now);
			continue;
		}
		/* a slow write delays the next one; no burst to catch up */
		due = now > due + p->conf.interval_ms ? now : due;
		due += p->conf.interval_ms;
		if (node[0] && addr[0])
			write_once(p, node, addr);
	}
	close_conn(p);
	return NULL;
}

int ctl_probe_start(struct ctl_probe *p)
{
	if (pthread_create(&p->thread, NULL, probe_main, p) != 0)
		return -1;
	p->started = true;
	return 0;
}

void ctl_probe_target(struct ctl_probe *p, const char *node, const char *addr)
{
	pthread_mutex_lock(&p->mu);
	snprintf(p->target, sizeof(p->target), "%s", node);
	snprintf(p->target_addr, sizeof(p->target_addr), "%s", addr);
	pthread_mutex_unlock(&p->mu);
}

uint64_t ctl_probe_first_new_ack(struct ctl_probe *p)
{
	pthread_mutex_lock(&p->mu);
	uint64_t t = p->first_new_ms;
	pthread_mutex_unlock(&p->mu);
	return t;
}

void ctl_probe_stop(struct ctl_probe *p)
{
	if (!p || !p->started)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	p->started = false;
}

void ctl_probe_free(struct ctl_probe *p)
{
	if (!p)
		return;
	ctl_probe_stop(p);
	close_conn(p);
	pthread_mutex_destroy(&p->mu);
	free(p->w);
	free(p);
}

/* ---- after the run ------------------------------------------------------ */

void ctl_probe_stats(const struct ctl_probe *p, struct ctl_probe_stats *s)
{
	uint64_t prev = 0;
	memset(s, 0, sizeof(*s));
	s->first_id = p->first_id;
	s->writes = p->n;
	s->errors = p->errors;
	snprintf(s->last_error, sizeof(s->last_error), "%s", p->last_error);
	for (size_t i = 0; i < p->n; i++) {
		const struct probe_write *w = &p->w[i];
		if (!w->acked)
			continue;
		s->acked++;
		if (prev && w->done_ms - prev > s->longest_gap_ms)
			s->longest_gap_ms = w->done_ms - prev;
		const char *node = p->nodes[w->node];
		if (!s->first_new_ms && strcmp(node, p->conf.old) != 0) {
			s->first_new_ms = w->done_ms;
			s->last_before_ms = prev;
			snprintf(s->new_node, sizeof(s->new_node), "%s", node);
		}
		prev = w->done_ms;
	}
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The ids of rows the query returned, sorted; NULL with err. */
static uint64_t *ids_of(const PGresult *r, size_t *n, char *err, size_t errlen)
{
	*n = (size_t)PQntuples(r);
	uint64_t *ids = malloc((*n ? *n : 1) * sizeof(*ids));
	if (!ids) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < *n; i++)
		ids[i] = strtoull(PQgetvalue(r, (int)i, 0), NULL, 10);
	qsort(ids, *n, sizeof(*ids), by_u64);
	return ids;
}

int ctl_probe_count_lost(const struct ctl_probe *p, const char *addr,
			 uint64_t *lost, uint64_t *first_lost, char *err,
			 size_t errlen)
{
	uint64_t deadline = clock_now_ms() + PROBE_SLOW_MS;
	char from[24];
	const char *const params[] = { from };
	size_t n = 0;
	uint64_t *ids = NULL;
	*lost = *first_lost = 0;
	PGconn *pg = pq_open(&p->conf, addr, deadline, NULL, err, errlen);
	if (!pg)
		return -1;
	snprintf(from, sizeof(from), "%llu", (unsigned long long)p->first_id);
	PGresult *r = pq_exec(pg, PROBE_CHECK_SQL, 1, params, deadline, err,
			      errlen);
	if (r && PQresultStatus(r) != PGRES_TUPLES_OK)
		result_error(r, err, errlen);
	else if (r)
		ids = ids_of(r, &n, err, errlen);
	PQclear(r);
	PQfinish(pg);
	if (!ids)
		return -1;
	for (size_t i = 0; i < p->n; i++) {
		const struct probe_write *w = &p->w[i];
		if (w->acked &&
		    !bsearch(&w->id, ids, n, sizeof(*ids), by_u64) &&
		    !(*lost)++)
			*first_lost = w->id;
	}
	free(ids);
	return 0;
}
