/*
 * ctl_pgoutput.c — how `tenurectl cluster list` and `cluster history`
 * print the Postgres cluster: a table shaped like `patronictl list` for
 * people, one JSON document for scripts.  Pure: everything comes in as
 * arguments, so tests/unit/test_ctl_pgcluster.c checks the exact output.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_pg.h"
#include "fencing/flatjson.h"
#include "fencing/roster.h"

/* ---- cluster list ------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name,
		      ((const struct member *)b)->name);
}

/* The records sorted by name, plus a row for a holder without one. */
static struct member *rows_of(const struct ctl_pg_list *l, size_t *n)
{
	bool holder_listed = !l->leader[0];
	struct member *rows = calloc(l->n + 1, sizeof(*rows));
	if (!rows) {
		fprintf(stderr, CTL_PROG ": out of memory\n");
		exit(CTL_EXIT_ERROR);
	}
	if (l->n)
		memcpy(rows, l->members, l->n * sizeof(*rows));
	*n = l->n;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(rows[i].name, l->leader) == 0)
			holder_listed = true;
	if (!holder_listed) {
		struct member *m = &rows[(*n)++];
		snprintf(m->name, sizeof(m->name), "%s", l->leader);
		snprintf(m->state, sizeof(m->state), "no record");
		m->priority = MEMBER_DEFAULT_PRIORITY; /* no tags known */
		m->lease_token = l->token;
	}
	qsort(rows, *n, sizeof(*rows), by_name);
	return rows;
}

static bool is_holder(const struct ctl_pg_list *l, const struct member *m)
{
	return l->leader[0] && strcmp(m->name, l->leader) == 0;
}

static void list_json(FILE *f, const struct ctl_pg_list *l,
		      const struct member *rows, size_t n)
{
	struct json j;
	json_init_file(&j, f, 0);
	json_list(&j);
	for (size_t i = 0; i < n; i++) {
		const struct member *m = &rows[i];
		json_object(&j);
		json_key(&j, "name");
		json_str(&j, m->name, strlen(m->name));
		json_key(&j, "role");
		const char *role = roster_role(m, l->leader);
		json_str(&j, role, strlen(role));
		json_key(&j, "state");
		json_str(&j, m->state, strlen(m->state));
		json_key(&j, "timeline");
		json_u64(&j, m->timeline);
		json_key(&j, "lag_bytes");
		json_u64(&j, m->lag_bytes);
		json_key(&j, "sync");
		json_bool(&j, roster_is_sync(m, l->leader, l->sync));
		json_key(&j, "healthy");
		json_bool(&j, m->healthy);
		json_key(&j, "api");
		json_str(&j, m->api, strlen(m->api));
		json_key(&j, "host");
		json_str(&j, m->pg, strlen(m->pg));
		if (m->upstream[0]) {
			json_key(&j, "upstream");
			json_str(&j, m->upstream, strlen(m->upstream));
		}
		json_key(&j, "tags");
		member_tags_json(m, &j);
		if (m->waiting[0]) {
			json_key(&j, "waiting");
			json_str(&j, m->waiting, strlen(m->waiting));
		}
		json_key(&j, "pending_restart");
		json_bool(&j, m->pending_restart);
		if (m->archived || m->archive_failed ||
		    m->archive_last_wal[0]) { /* pg_stat_archiver */
			json_key(&j, "archive");
			json_object(&j);
			json_key(&j, "archived");
			json_u64(&j, m->archived);
			json_key(&j, "failed");
			json_u64(&j, m->archive_failed);
			json_key(&j, "last_wal");
			json_str(&j, m->archive_last_wal,
				 strlen(m->archive_last_wal));
			json_end(&j);
		}
		if (m->reason[0]) { /* why it is down */
			json_key(&j, "reason");
			json_str(&j, m->reason, strlen(m->reason));
		}
		if (is_holder(l, m)) {
			json_key(&j, "lease_token");
			json_u64(&j, l->token);
		}
		json_end(&j);
	}
	json_end(&j);
}

static char *cell(const char *s)
{
	struct client_str c = { s, strlen(s) };
	return ctl_cell(c);
}

/* Lag in MB, rounded, as patronictl shows it; blank for the primary. */
static char *lag_cell(const struct ctl_pg_list *l, const struct member *m)
{
	char buf[32] = "";
	if (!is_holder(l, m))
		snprintf(buf, sizeof(buf), "%llu",
			 (unsigned long long)((m->lag_bytes + (1u << 19)) >>
					      20));
	return cell(buf); /* "-" when blank */
}

/* No primary: why each member does not take over, as it said itself. */
static void list_waiting(FILE *f, const struct ctl_pg_list *l,
			 const struct member *rows, size_t n)
{
	if (l->leader[0])
		return;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (!rows[i].waiting[0])
			continue;
		fprintf(f, "%s %s: %s\n",
			any ? "            " : "No failover:", rows[i].name,
			rows[i].waiting);
		any = true;
	}
}

/* The Tags column is there when some member has a tag, as in patronictl. */
static bool any_tags(const struct member *rows, size_t n)
{
	char buf[8];
	for (size_t i = 0; i < n; i++)
		if (member_tags_format(&rows[i], buf, sizeof(buf))[0])
			return true;
	return false;
}

static bool any_pending(const struct member *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].pending_restart)
			return true;
	return false;
}

static void list_table(FILE *f, const struct ctl_pg_list *l,
		       const struct member *rows, size_t n)
{
	/* as patronictl: PENDING_RESTART only when a member needs a
	 * restart, TAGS only when a member has a tag */
	const char *head[8] = { "MEMBER", "HOST", "ROLE",
				"STATE",  "TL",   "LAG_MB" };
	size_t cols = 6;
	bool pending = any_pending(rows, n), tagged = any_tags(rows, n);
	if (pending)
		head[cols++] = "PENDING_RESTART";
	if (tagged)
		head[cols++] = "TAGS";
	struct ctl_table t;
	if (l->leader[0])
		fprintf(f, "Cluster: %s (leader %s, token %llu)%s\n", l->scope,
			l->leader, (unsigned long long)l->token,
			l->paused ? " [paused: maintenance mode]" : "");
	else
		fprintf(f, "Cluster: %s (no leader)%s\n", l->scope,
			l->paused ? " [paused: maintenance mode]" : "");
	ctl_table_init(&t, cols, head);
	for (size_t i = 0; i < n; i++) {
		const struct member *m = &rows[i];
		const char *role = roster_role(m, l->leader);
		bool sync = roster_is_sync(m, l->leader, l->sync);
		char rolebuf[48], tags[MEMBER_STR_MAX * 2];
		snprintf(rolebuf, sizeof(rolebuf), "%s%s", role,
			 sync ? " (sync)" : "");
		char *cells[8] = { cell(m->name),
				   cell(m->pg),
				   cell(rolebuf),
				   cell(m->state),
				   ctl_cell_u64(m->timeline),
				   lag_cell(l, m) };
		size_t k = 6;
		if (pending)
			cells[k++] = cell(m->pending_restart ? "*" : "");
		if (tagged)
			cells[k++] = cell(
				member_tags_format(m, tags, sizeof(tags)));
		ctl_table_row(&t, (const char *const *)cells);
		for (k = 0; k < cols; k++)
			free(cells[k]);
	}
	ctl_table_print(&t, f);
	ctl_table_free(&t);
	list_waiting(f, l, rows, n);
}

void ctl_pg_print_list(FILE *f, enum ctl_format fmt,
		       const struct ctl_pg_list *l)
{
	size_t n;
	struct member *rows = rows_of(l, &n);
	if (fmt == CTL_JSON)
		list_json(f, l, rows, n);
	else
		list_table(f, l, rows, n);
	free(rows);
}

/* ---- history ------------------------------------------------------------ */

static bool copy_str(const char *key, const struct flatjson_value *v, char *dst,
		     char *err, size_t errlen)
{
	if (v->type == FLATJSON_NULL) {
		dst[0] = '\0';
		return true;
	}
	if (v->type != FLATJSON_STRING || v->len >= MEMBER_STR_MAX) {
		snprintf(err, errlen,
			 "\"%s\" must be a string of at most %d "
			 "bytes",
			 key, MEMBER_STR_MAX - 1);
		return false;
	}
	memcpy(dst, v->str, v->len + 1);
	return true;
}

static bool on_event_field(void *arg, const char *key,
			   const struct flatjson_value *v, char *err,
			   size_t errlen)
{
	struct ctl_pg_event *e = arg;
	if (strcmp(key, "old") == 0)
		return copy_str(key, v, e->old, err, errlen);
	if (strcmp(key, "new") == 0)
		return copy_str(key, v, e->new_name, err, errlen);
	if (strcmp(key, "reason") == 0)
		return copy_str(key, v, e->reason, err, errlen);
	if (v->type == FLATJSON_NULL)
		return true;
	if (strcmp(key, "time_ms") == 0)
		return flatjson_u64(key, v, &e->time_ms, err, errlen);
	if (strcmp(key, "token") == 0)
		return flatjson_u64(key, v, &e->token, err, errlen);
	if (strcmp(key, "unavailable_ms") == 0)
		return flatjson_u64(key, v, &e->unavailable_ms, err, errlen);
	return true;
}

bool ctl_pg_event_decode(const char *json, size_t len, struct ctl_pg_event *e,
			 char *err, size_t errlen)
{
	memset(e, 0, sizeof(*e));
	return flatjson_parse(json, len, on_event_field, e, err, errlen);
}

const char *ctl_pg_iso_time(uint64_t ms, char *buf, size_t cap)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char day[24];
	if (!gmtime_r(&s, &tm) ||
	    !strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, cap, "?");
		return buf;
	}
	snprintf(buf, cap, "%s.%03uZ", day, (unsigned)(ms % 1000));
	return buf;
}

static void json_str_or_null(struct json *j, const char *s)
{
	struct client_str c = { s, strlen(s) };
	ctl_json_cstr_or_null(j, c);
}

void ctl_pg_json_event(struct json *j, const struct ctl_pg_event *e)
{
	char when[40];
	json_object(j);
	json_key(j, "time_ms");
	json_u64(j, e->time_ms);
	json_key(j, "time");
	ctl_pg_iso_time(e->time_ms, when, sizeof(when));
	json_str(j, when, strlen(when));
	json_key(j, "old");
	json_str_or_null(j, e->old);
	json_key(j, "new");
	json_str_or_null(j, e->new_name);
	json_key(j, "reason");
	json_str(j, e->reason, strlen(e->reason));
	json_key(j, "token");
	json_u64(j, e->token);
	json_key(j, "unavailable_ms");
	json_u64(j, e->unavailable_ms);
	json_end(j);
}

static void history_json(FILE *f, const struct ctl_pg_event *e, size_t n)
{
	struct json j;
	json_init_file(&j, f, 0);
	json_list(&j);
	for (size_t i = 0; i < n; i++)
		ctl_pg_json_event(&j, &e[i]);
	json_end(&j);
}

static void history_table(FILE *f, const struct ctl_pg_event *e, size_t n)
{
	static const char *const head[] = {
		"TIME", "OLD", "NEW", "REASON", "TOKEN", "UNAVAILABLE_S"
	};
	struct ctl_table t;
	char when[40], secs[32];
	ctl_table_init(&t, 6, head);
	for (size_t i = 0; i < n; i++) {
		ctl_pg_iso_time(e[i].time_ms, when, sizeof(when));
		snprintf(secs, sizeof(secs), "%.2f",
			 (double)e[i].unavailable_ms / 1000.0);
		char *cells[6] = { cell(when),
				   cell(e[i].old),
				   cell(e[i].new_name),
				   cell(e[i].reason),
				   ctl_cell_u64(e[i].token),
				   cell(secs) };
		ctl_table_row(&t, (const char *const *)cells);
		for (size_t k = 0; k < 6; k++)
			free(cells[k]);
	}
	ctl_table_print(&t, f);
	ctl_table_free(&t);
}

void ctl_pg_print_history(FILE *f, enum ctl_format fmt,
			  const struct ctl_pg_event *e, size_t n)
{
	if (fmt == CTL_JSON)
		history_json(f, e, n);
	else
		history_table(f, e, n);
}
