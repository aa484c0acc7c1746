/*
 * fleet_pg.c — see fleet_pg.h: fencing/pg.h answered by simulated
 * servers instead of libpq.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fencing/pg.h"
#include "fencing/pgconf.h"
#include "tests/helpers/fleet_pg.h"

uint64_t fleet_pg_queries, fleet_pg_unknown;
char fleet_pg_unknown_sql[200];

static struct fleet_pg_server *registry[FLEET_PG_PORTS];
static struct fleet_pg_server *all[FLEET_PG_PORTS];
static size_t n_all;

int fleet_pg_register(struct fleet_pg_server *s)
{
	int i = s->port - FLEET_PG_PORT_BASE;
	if (i < 0 || i >= FLEET_PG_PORTS || registry[i])
		return -1;
	registry[i] = s;
	all[n_all++] = s;
	return 0;
}

static struct fleet_pg_server *find(int port)
{
	int i = port - FLEET_PG_PORT_BASE;
	return i < 0 || i >= FLEET_PG_PORTS ? NULL : registry[i];
}

/* The value of key in a libpq conninfo (key='value' or key=value). */
static void conninfo_get(const char *conninfo, const char *key, char *out,
			 size_t cap)
{
	char pat[64];
	out[0] = '\0';
	snprintf(pat, sizeof(pat), "%s=", key);
	const char *p = conninfo;
	size_t klen = strlen(pat);
	while ((p = strstr(p, pat)) && p != conninfo && p[-1] != ' ')
		p += klen;
	if (!p)
		return;
	p += klen;
	bool quoted = *p == '\'';
	p += quoted;
	size_t n = 0;
	while (*p && n + 1 < cap && (quoted ? *p != '\'' : *p != ' ')) {
		if (*p == '\\' && p[1])
			p++;
		out[n++] = *p++;
	}
	out[n] = '\0';
}

static struct fleet_pg_server *upstream_of(const struct fleet_pg_server *s)
{
	return s->upstream_port ? find(s->upstream_port) : NULL;
}

static bool up(const struct fleet_pg_server *s)
{
	return !s->down && s->running;
}

/* A standby receiving from a running primary. */
static bool streaming(const struct fleet_pg_server *s)
{
	const struct fleet_pg_server *u = upstream_of(s);
	return s->recovery && up(s) && u && u != s && up(u) && !u->recovery;
}

static bool file_in(const char *dir, const char *name)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static struct fleet_pg_server *find_dir(const char *datadir)
{
	for (size_t i = 0; i < n_all; i++)
		if (strcmp(all[i]->datadir, datadir) == 0)
			return all[i];
	return NULL;
}

/* A start reads standby.signal and the configuration, as Postgres
 * does. */
void fleet_pg_started(const char *datadir)
{
	struct fleet_pg_server *s = find_dir(datadir);
	if (!s)
		return;
	s->recovery = file_in(s->datadir, "standby.signal") ||
		      file_in(s->datadir, "recovery.signal");
	fleet_pg_reload(s);
	s->running = true;
}

void fleet_pg_stopped(const char *datadir)
{
	struct fleet_pg_server *s = find_dir(datadir);
	if (s)
		s->running = false;
}

void fleet_pg_reload(struct fleet_pg_server *s)
{
	if (pgconf_auto_get(s->datadir, "primary_conninfo", s->conninfo,
			    sizeof(s->conninfo)) != 1)
		s->conninfo[0] = '\0';
	char port[16];
	conninfo_get(s->conninfo, "port", port, sizeof(port));
	s->upstream_port = port[0] ? atoi(port) : 0;
	conninfo_get(s->conninfo, "application_name", s->app_name,
		     sizeof(s->app_name));
	if (pgconf_auto_get(s->datadir, "primary_slot_name", s->slot_name,
			    sizeof(s->slot_name)) != 1)
		s->slot_name[0] = '\0';
	if (pgconf_auto_get(s->datadir, "synchronous_standby_names",
			    s->sync_names, sizeof(s->sync_names)) != 1)
		s->sync_names[0] = '\0';
	if (pgconf_auto_get(s->datadir, "max_slot_wal_keep_size", s->keep_size,
			    sizeof(s->keep_size)) != 1)
		snprintf(s->keep_size, sizeof(s->keep_size), "-1");
}

/* ---- results ------------------------------------------------------------- */

struct pg_result {
	int nrows, ncols;
	char **cells; /* nrows x ncols; NULL: SQL NULL */
};

static struct pg_result *result_new(int nrows, int ncols)
{
	struct pg_result *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->nrows = nrows;
	r->ncols = ncols;
	r->cells = calloc((size_t)(nrows * ncols) + 1, sizeof(char *));
	if (!r->cells) {
		free(r);
		return NULL;
	}
	return r;
}

static void result_free(struct pg_result *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	free(r);
}

static void cell(struct pg_result *r, int row, int col, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(r->cells[row * r->ncols + col]);
	r->cells[row * r->ncols + col] = strdup(buf);
}

static struct pg_result *one_value(const char *v)
{
	struct pg_result *r = result_new(1, 1);
	if (r)
		cell(r, 0, 0, "%s", v);
	return r;
}

/* ---- the statements -------------------------------------------------------- */

/* "name=flush,..." of the standbys streaming from s (NULL: none). */
static void standby_flush(const struct fleet_pg_server *s, struct pg_result *r)
{
	char list[1024] = "";
	size_t len = 0;
	for (size_t i = 0; i < n_all; i++) {
		const struct fleet_pg_server *x = all[i];
		if (x == s || upstream_of(x) != s || !streaming(x))
			continue;
		len += (size_t)snprintf(list + len, sizeof(list) - len,
					"%s%s=%llu", len ? "," : "",
					x->app_name[0] ? x->app_name : x->name,
					(unsigned long long)s->lsn);
		if (len >= sizeof(list))
			break;
	}
	if (list[0])
		cell(r, 0, 9, "%s", list);
}

static struct pg_result *status_row(struct fleet_pg_server *s)
{
	struct pg_result *r = result_new(1, 10);
	if (!r)
		return NULL;
	bool rx = streaming(s);
	if (rx) {
		const struct fleet_pg_server *u = upstream_of(s);
		s->lsn = u->lsn;
		s->timeline = u->timeline;
	}
	cell(r, 0, 0, s->recovery ? "t" : "f");
	cell(r, 0, 1, "%llu", (unsigned long long)s->lsn);
	cell(r, 0, 2, "%llu", (unsigned long long)s->lsn);
	cell(r, 0, 3, "%u", s->timeline);
	if (rx) {
		cell(r, 0, 4, "streaming");
		cell(r, 0, 7, "%u", s->timeline);
	}
	cell(r, 0, 5, "%s", s->conninfo);
	cell(r, 0, 6, "%s", s->sync_names);
	cell(r, 0, 8, "%llu", (unsigned long long)s->sysid);
	if (!s->recovery)
		standby_flush(s, r);
	return r;
}

/* pg_settings: what the agent looks at (hot-standby values, hba_file). */
static struct pg_result *settings_rows(const struct fleet_pg_server *s)
{
	static const char *const rows[][2] = {
		{ "max_connections", "100" },
		{ "max_worker_processes", "8" },
		{ "max_wal_senders", "10" },
		{ "max_prepared_transactions", "0" },
		{ "max_locks_per_transaction", "64" },
		{ "hba_file", NULL },
	};
	int n = (int)(sizeof(rows) / sizeof(rows[0]));
	struct pg_result *r = result_new(n, 9);
	if (!r)
		return NULL;
	for (int i = 0; i < n; i++) {
		bool hba = !rows[i][1];
		cell(r, i, 0, "%s", rows[i][0]);
		cell(r, i, 1, hba ? "string" : "integer");
		cell(r, i, 2, "");
		cell(r, i, 3, hba ? "" : "-1");
		cell(r, i, 4, hba ? "" : "262143");
		cell(r, i, 5, "");
		cell(r, i, 6, "postmaster");
		if (hba)
			cell(r, i, 7, "%s/pg_hba.conf", s->datadir);
		else
			cell(r, i, 7, "%s", rows[i][1]);
		cell(r, i, 8, "f");
	}
	return r;
}

static bool slot_active(const struct fleet_pg_server *s, const char *slot)
{
	for (size_t i = 0; i < n_all; i++)
		if (upstream_of(all[i]) == s && streaming(all[i]) &&
		    strcmp(all[i]->slot_name, slot) == 0)
			return true;
	return false;
}

static struct pg_result *slot_rows(const struct fleet_pg_server *s)
{
	int n = s->n_slots ? s->n_slots : 1;
	struct pg_result *r = result_new(n, 10);
	if (!r)
		return NULL;
	for (int i = 0; i < n; i++) {
		cell(r, i, 0, "%s", s->keep_size);
		cell(r, i, 1, "%s", s->slot_name);
		if (!s->n_slots)
			break;
		cell(r, i, 2, "%s", s->slots[i]);
		cell(r, i, 3, "physical");
		cell(r, i, 4, "");
		cell(r, i, 5, "");
		cell(r, i, 6, slot_active(s, s->slots[i]) ? "t" : "f");
		cell(r, i, 7, "f");
		cell(r, i, 8, "0");
		cell(r, i, 9, "reserved");
	}
	return r;
}

static int slot_index(const struct fleet_pg_server *s, const char *name)
{
	for (int i = 0; i < s->n_slots; i++)
		if (strcmp(s->slots[i], name) == 0)
			return i;
	return -1;
}

/* The names of "unnest(ARRAY['a','b']::text[])": created or dropped. */
static int slot_change(struct fleet_pg_server *s, const char *stmt, bool create)
{
	const char *p = strstr(stmt, "ARRAY[");
	const char *end = p ? strchr(p, ']') : NULL;
	int changed = 0;
	while (p && end && (p = strchr(p, '\'')) && p < end) {
		const char *q = strchr(p + 1, '\'');
		if (!q)
			break;
		char name[FLEET_PG_NAME];
		snprintf(name, sizeof(name), "%.*s", (int)(q - p - 1), p + 1);
		int i = slot_index(s, name);
		if (create && i < 0 && s->n_slots < FLEET_PG_SLOTS) {
			snprintf(s->slots[s->n_slots++], FLEET_PG_NAME, "%s",
				 name);
			changed++;
		} else if (!create && i >= 0) {
			memmove(s->slots[i], s->slots[i + 1],
				(size_t)(s->n_slots - i - 1) * FLEET_PG_NAME);
			s->n_slots--;
			changed++;
		}
		p = q + 1;
	}
	return changed;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* One statement: its rows (*rows, NULL for none) or -1 unknown. */
static int statement(struct fleet_pg_server *s, const char *stmt,
		     struct pg_result **rows)
{
	char n[16];
	*rows = NULL;
	if (starts(stmt, "SELECT pg_is_in_recovery(),"))
		*rows = status_row(s);
	else if (starts(stmt, "SELECT name, vartype,"))
		*rows = settings_rows(s);
	else if (starts(stmt, "SELECT s.setting, s.psn,"))
		*rows = slot_rows(s);
	else if (starts(stmt, "SELECT pg_reload_conf()")) {
		fleet_pg_reload(s);
		*rows = one_value("t");
	} else if (starts(stmt, "SELECT pg_promote(")) {
		s->recovery = false;
		s->timeline++;
		s->lsn += 4096;
		s->promotions++;
		*rows = one_value("t");
	} else if (strstr(stmt, "pg_create_physical_replication_slot(")) {
		snprintf(n, sizeof(n), "%d", slot_change(s, stmt, true));
		*rows = one_value(n);
	} else if (strstr(stmt, "pg_drop_replication_slot(")) {
		snprintf(n, sizeof(n), "%d", slot_change(s, stmt, false));
		*rows = one_value(n);
	} else if (starts(stmt,
			  "SELECT pid, status FROM pg_stat_wal_receiver")) {
		*rows = result_new(streaming(s) ? 1 : 0, 2);
		if (*rows && streaming(s)) {
			cell(*rows, 0, 0, "4242");
			cell(*rows, 0, 1, "streaming");
		}
	} else if (starts(stmt, "SELECT archived_count, failed_count,")) {
		/* a server that does not archive: nothing archived, nothing
		 * failed (agent_archive.c) */
		*rows = result_new(1, 4);
		if (*rows) {
			cell(*rows, 0, 0, "0");
			cell(*rows, 0, 1, "0");
			cell(*rows, 0, 2, "");
			cell(*rows, 0, 3, "0");
		}
	} else if (!starts(stmt, "CHECKPOINT") && !starts(stmt, "DO $$")) {
		/* DO: the adoption's CREATE ROLE of the replication user */
		return -1;
	}
	return 0;
}

/* The end of the statement at p: its ';' (outside '...' and $$...$$,
 * as in the adoption's DO block) or its NUL. */
static char *statement_end(char *p)
{
	bool quote = false, dollar = false;
	for (; *p; p++) {
		if (!dollar && *p == '\'')
			quote = !quote;
		else if (!quote && p[0] == '$' && p[1] == '$')
			dollar = !dollar, p++;
		else if (!quote && !dollar && *p == ';')
			return p;
	}
	return p;
}

/* Every statement of sql, in order; the last one's rows into *rows.
 * 0, or -1 (a statement not simulated: *rows NULL). */
static int run_sql(struct fleet_pg_server *s, const char *sql,
		   struct pg_result **rows)
{
	char *copy = strdup(sql);
	*rows = NULL;
	if (!copy)
		return -1;
	int rc = 0;
	for (char *st = copy; *st && rc == 0;) {
		char *end = statement_end(st);
		bool last = !*end;
		*end = '\0';
		while (*st == ' ' || *st == '\n')
			st++;
		if (*st) {
			result_free(*rows);
			rc = statement(s, st, rows);
			if (rc != 0 && !fleet_pg_unknown++)
				snprintf(fleet_pg_unknown_sql,
					 sizeof(fleet_pg_unknown_sql), "%s",
					 st);
		}
		st = last ? end : end + 1;
	}
	if (rc != 0) {
		result_free(*rows);
		*rows = NULL;
	}
	free(copy);
	return rc;
}

/* ---- connections (fencing/pg.h) ------------------------------------------ */

struct query {
	struct query *next;
	char *sql;
	pg_cb cb;
	void *arg;
};

struct pg_conn {
	uv_loop_t *loop;
	int port;
	uv_timer_t timer;
	struct query *head, *tail;
	bool connected, closing;
	void (*on_closed)(void *arg);
	void *closed_arg;
};

int pg_conn_new(uv_loop_t *loop, const char *conninfo, struct pg_conn **out)
{
	char port[16];
	struct pg_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return PG_ERR_NOMEM;
	c->loop = loop;
	conninfo_get(conninfo, "port", port, sizeof(port));
	c->port = atoi(port);
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	*out = c;
	return 0;
}

static void answer(struct pg_conn *c, struct query *q)
{
	struct fleet_pg_server *s = find(c->port);
	struct pg_result *res = NULL;
	struct pg_rows rows = { 0, 0, NULL };
	fleet_pg_queries++;
	if (!s || !up(s)) {
		c->connected = false;
		q->cb(q->arg, PG_ERR_CONNECT, "connection refused", &rows);
		return;
	}
	c->connected = true;
	if (run_sql(s, q->sql, &res) != 0) {
		q->cb(q->arg, PG_ERR_SQL,
		      "ERROR: not simulated by fleet_pg (SQLSTATE 0A000)",
		      &rows);
		return;
	}
	if (res) {
		rows.nrows = res->nrows;
		rows.ncols = res->ncols;
		rows.res = res->nrows ? res : NULL;
	}
	q->cb(q->arg, 0, NULL, &rows);
	result_free(res);
}

static void on_timer(uv_timer_t *t)
{
	struct pg_conn *c = t->data;
	/* only those queued now: a callback's new query waits its turn */
	struct query *q = c->head, *last = c->tail;
	c->head = c->tail = NULL;
	while (q) {
		struct query *next = q == last ? NULL : q->next;
		answer(c, q);
		free(q->sql);
		free(q);
		q = next;
		if (c->closing)
			break;
	}
	struct pg_rows none = { 0, 0, NULL };
	while (q) { /* closed by a callback: the rest fail */
		struct query *next = q == last ? NULL : q->next;
		q->cb(q->arg, PG_ERR_SHUTDOWN, pg_strerror(PG_ERR_SHUTDOWN),
		      &none);
		free(q->sql);
		free(q);
		q = next;
	}
}

int pg_query(struct pg_conn *c, const char *sql, uint64_t timeout_ms, pg_cb cb,
	     void *arg)
{
	if (c->closing)
		return PG_ERR_SHUTDOWN;
	if (!sql || !cb || timeout_ms == 0)
		return PG_ERR_INVALID;
	struct query *q = calloc(1, sizeof(*q));
	if (!q || !(q->sql = strdup(sql))) {
		free(q);
		return PG_ERR_NOMEM;
	}
	q->cb = cb;
	q->arg = arg;
	if (c->tail)
		c->tail->next = q;
	else
		c->head = q;
	c->tail = q;
	if (!uv_is_active((uv_handle_t *)&c->timer))
		uv_timer_start(&c->timer, on_timer, 0, 0);
	return 0;
}

bool pg_conn_connected(const struct pg_conn *c)
{
	return c->connected;
}

static void fail_all(struct pg_conn *c, int status)
{
	struct pg_rows rows = { 0, 0, NULL };
	struct query *q = c->head;
	c->head = c->tail = NULL;
	while (q) {
		struct query *next = q->next;
		q->cb(q->arg, status, pg_strerror(status), &rows);
		free(q->sql);
		free(q);
		q = next;
	}
}

int pg_conn_reset(struct pg_conn *c)
{
	if (c->closing)
		return PG_ERR_SHUTDOWN;
	c->connected = false;
	fail_all(c, PG_ERR_RESET);
	return 0;
}

static void conn_closed(uv_handle_t *h)
{
	struct pg_conn *c = h->data;
	if (c->on_closed)
		c->on_closed(c->closed_arg);
	free(c);
}

void pg_conn_close(struct pg_conn *c, void (*on_closed)(void *arg), void *arg)
{
	c->closing = true;
	c->on_closed = on_closed;
	c->closed_arg = arg;
	fail_all(c, PG_ERR_SHUTDOWN);
	uv_close((uv_handle_t *)&c->timer, conn_closed);
}

const char *pg_rows_get(const struct pg_rows *r, int row, int col)
{
	const struct pg_result *res = r ? r->res : NULL;
	if (!res || row < 0 || col < 0 || row >= res->nrows ||
	    col >= res->ncols)
		return NULL;
	return res->cells[row * res->ncols + col];
}

const char *pg_rows_name(const struct pg_rows *r, int col)
{
	(void)r;
	(void)col;
	return NULL;
}
