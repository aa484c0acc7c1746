/*
 * agent_slots.c — the replication slots of this node (fencing/slots.h has
 * the names and the plan; this file reads Postgres and runs the plan).
 *
 * The primary (lease held) keeps a physical slot for every other member,
 * so that a standby that was down catches up from where it stopped
 * instead of being copied again, and the permanent slots of the scope
 * settings.  A member that streams from another standby (its record's
 * upstream names a replica) has its slot there instead: a standby keeps
 * the slots of the members whose upstream is this node, the cascading
 * hook, and drops at once the member slots left from its time as the
 * primary (they would hold WAL back here for nothing).
 *
 * A slot whose member's key is gone stays member_slots_ttl (30 min by
 * default): the member key lives under a lease of a few seconds, so an
 * agent restart, a host reboot or an upgrade removes it for a while; a
 * member away that long is likely gone for good, and a standby that comes
 * back later is copied again as before slots.  max_slot_wal_keep_size
 * bounds what all the slots together can hold back meanwhile.
 *
 * It runs between actions (agent.c marks the agent busy meanwhile, so a
 * promotion never interleaves with a standby's drops), whenever the
 * members, the settings or the role change, and every SLOTS_PERIOD_MS to
 * see the slots PostgreSQL invalidated and to refresh /metrics.  Logical
 * slots are created on their own connection (in their database), without
 * holding the agent busy: creating one waits for running transactions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/pgconf.h"

#define SLOTS_PERIOD_MS 5000
#define SLOTS_QUERY_MS 5000
#define SLOTS_LOGICAL_MS 30000

enum slots_role {
	SLOTS_NONE = 0,
	SLOTS_PRIMARY,
	SLOTS_STANDBY
};

static enum slots_role role_of(struct agent *a)
{
	if (a->pg_obs.state == PG_PRIMARY && lease_primary_valid(a))
		return SLOTS_PRIMARY;
	if (a->pg_obs.state == PG_REPLICA && !a->primary.held)
		return SLOTS_STANDBY;
	return SLOTS_NONE;
}

/* FNV-1a over more text. */
static uint32_t mix(uint32_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return (h ^ 0xff) * 16777619u;
}

static uint32_t digest(struct agent *a, enum slots_role role)
{
	uint32_t h = 2166136261u;
	char num[64];
	snprintf(num, sizeof(num), "%d %lld %lld", (int)role,
		 (long long)a->live.member_slots_ttl,
		 (long long)a->live.max_slot_wal_keep_size);
	h = mix(h, num);
	for (size_t i = 0; i < a->view.n_members; i++) {
		h = mix(h, a->view.members[i].name);
		h = mix(h, a->view.members[i].upstream);
		h = mix(h, a->view.members[i].slots ? "s" : "-");
		/* a promotion ends: a standby names its slot now */
		h = mix(h, member_role_name(a->view.members[i].role));
	}
	h = mix(h, a->self.upstream);
	h = mix(h, a->view.holder);
	for (size_t i = 0; i < a->live.n_slots; i++) {
		char v[160];
		slot_spec_value(&a->live.slots[i], v, sizeof(v));
		h = mix(mix(h, a->live.slots[i].name), v);
	}
	return h;
}

bool slots_due(struct agent *a)
{
	enum slots_role role = role_of(a);
	if (role == SLOTS_NONE)
		return false;
	return clock_now_ms() >= a->slots_next_ms ||
	       digest(a, role) != a->slots_digest;
}

const char *slots_follow_name(const struct agent *a, const struct member *m,
			      char *buf)
{
	buf[0] = '\0';
	/* A lease holder still in recovery creates the slots just before
	 * it promotes: a standby that named its slot now would be refused
	 * and retry only after wal_retrieve_retry_interval (5 s), with no
	 * synchronous standby meanwhile.  It streams without one until the
	 * holder's record says primary; the next look sets the slot. */
	bool promoting = m && m->role == MEMBER_REPLICA &&
			 strcmp(m->name, a->view.holder) == 0;
	if (m && m->slots && !promoting)
		slot_name_for_member(a->conf->name, buf);
	return buf;
}

/* ---- what this node should have --------------------------------------- */

struct wanted {
	struct slot_spec want[SLOTS_MAX];
	size_t n_want;
	char keep[SLOTS_MAX][SLOT_NAME_MAX];
	size_t n_keep;
	char prompt[SLOTS_MAX][SLOT_NAME_MAX];
	size_t n_prompt;
};

static bool wanted_has(const struct wanted *w, const char *name)
{
	for (size_t i = 0; i < w->n_want; i++)
		if (strcmp(w->want[i].name, name) == 0)
			return true;
	return false;
}

static void want_physical(struct wanted *w, const char *member)
{
	struct slot_spec s = { .kind = SLOT_PHYSICAL };
	slot_name_for_member(member, s.name);
	if (w->n_want < SLOTS_MAX && !wanted_has(w, s.name))
		w->want[w->n_want++] = s;
}

/* m streams from another standby: its slot lives there. */
static bool cascades(const struct agent *a, const struct member *m)
{
	if (!m->upstream[0] || strcmp(m->upstream, a->conf->name) == 0)
		return false;
	const struct member *up = keys_find_member(a, m->upstream);
	return up && up->role == MEMBER_REPLICA;
}

static void wanted_primary(struct agent *a, struct wanted *w)
{
	for (size_t i = 0; i < a->view.n_members; i++) {
		const struct member *m = &a->view.members[i];
		if (strcmp(m->name, a->conf->name) != 0 && !cascades(a, m))
			want_physical(w, m->name);
	}
	for (size_t i = 0; i < a->live.n_slots; i++)
		if (w->n_want < SLOTS_MAX &&
		    !wanted_has(w, a->live.slots[i].name))
			w->want[w->n_want++] = a->live.slots[i];
}

static void wanted_standby(struct agent *a, struct wanted *w)
{
	for (size_t i = 0; i < a->view.n_members; i++) {
		const struct member *m = &a->view.members[i];
		if (strcmp(m->upstream, a->conf->name) == 0)
			want_physical(w, m->name); /* cascading from here */
		else if (w->n_prompt < SLOTS_MAX)
			slot_name_for_member(m->name, w->prompt[w->n_prompt++]);
	}
	for (size_t i = 0; i < a->live.n_slots; i++) {
		const struct slot_spec *s = &a->live.slots[i];
		/* a demoted primary's logical slot is stale: the new primary
		 * has its own */
		char(*list)[SLOT_NAME_MAX] = s->kind == SLOT_LOGICAL ? w->prompt
								     : w->keep;
		size_t *n = s->kind == SLOT_LOGICAL ? &w->n_prompt : &w->n_keep;
		if (*n < SLOTS_MAX)
			snprintf(list[(*n)++], SLOT_NAME_MAX, "%s", s->name);
	}
}

/* ---- logical slots, on their own connection ---------------------------- */

struct logical {
	struct agent *a;
	struct pg_conn *pg;
	struct slot_spec spec;
};

static void logical_closed(void *arg)
{
	free(arg);
}

static void logical_made(void *arg, int status, const char *error,
			 const struct pg_rows *rows)
{
	struct logical *l = arg;
	(void)rows;
	if (status == 0)
		log_event(LOG_INFO, "slot_created",
			  "slot=%s type=logical database=%s plugin=%s",
			  l->spec.name, l->spec.database, l->spec.plugin);
	else
		log_event(LOG_WARN, "slot_create_failed",
			  "slot=%s type=logical database=%s err=\"%s\"",
			  l->spec.name, l->spec.database,
			  error ? error : pg_strerror(status));
	l->a->slots_logical_busy = false;
	pg_conn_close(l->pg, logical_closed, l);
}

/* One at a time: the next look creates the next one. */
static void create_logical(struct agent *a, const struct slot_spec *s)
{
	char conninfo[1024], sql[300];
	struct logical *l = calloc(1, sizeof(*l));
	if (!l)
		return;
	l->a = a;
	l->spec = *s;
	agent_local_conninfo(a, s->database, conninfo, sizeof(conninfo));
	snprintf(sql, sizeof(sql),
		 "SELECT pg_create_logical_replication_slot('%s', '%s')",
		 s->name, s->plugin);
	if (pg_conn_new(a->loop, conninfo, &l->pg) != 0) {
		free(l);
		return;
	}
	a->slots_logical_busy = true;
	if (pg_query(l->pg, sql, SLOTS_LOGICAL_MS, logical_made, l) != 0) {
		a->slots_logical_busy = false;
		pg_conn_close(l->pg, logical_closed, l);
	}
}

/* ---- one look ------------------------------------------------------------ */

struct look {
	struct agent *a;
	void (*done)(struct agent *a);
	enum slots_role role;
	uint32_t digest;
};

static void look_end(struct look *k, bool ok)
{
	struct agent *a = k->a;
	void (*done)(struct agent *) = k->done;
	a->slots_next_ms = clock_now_ms() + SLOTS_PERIOD_MS;
	if (ok)
		a->slots_digest = k->digest;
	free(k);
	done(a);
}

static void applied(void *arg, int status, const char *error,
		    const struct pg_rows *rows)
{
	struct look *k = arg;
	(void)rows;
	if (status != 0)
		log_event(LOG_WARN, "slots_failed", "err=\"%s\"",
			  error ? error : pg_strerror(status));
	look_end(k, status == 0);
}

/* unnest(ARRAY['a','b']::text[]) of names (valid slot names: no quoting
 * needed) into sql. */
static void names_array(char *sql, size_t cap,
			const char (*names)[SLOT_NAME_MAX], size_t n)
{
	size_t len = strlen(sql);
	len += (size_t)snprintf(sql + len, cap - len, "unnest(ARRAY[");
	for (size_t i = 0; i < n && len < cap; i++)
		len += (size_t)snprintf(sql + len, cap - len, "%s'%s'",
					i ? "," : "", names[i]);
	if (len < cap)
		snprintf(sql + len, cap - len, "]::text[]) n");
}

static void append(char *sql, size_t cap, const char *text)
{
	size_t len = strlen(sql);
	if (len < cap)
		snprintf(sql + len, cap - len, "%s", text);
}

/* The physical creates and the drops, as statements into sql. */
static void plan_sql(const struct slots_plan *p, char *sql, size_t cap)
{
	char names[SLOTS_MAX][SLOT_NAME_MAX];
	size_t n = 0;
	for (size_t i = 0; i < p->n_drop; i++)
		log_event(LOG_INFO, "slot_drop", "slot=%s", p->drop[i]);
	if (p->n_drop) {
		append(sql, cap,
		       "SELECT count(pg_drop_replication_slot(n)) FROM ");
		names_array(sql, cap, p->drop, p->n_drop);
		append(sql, cap,
		       " WHERE n IN (SELECT slot_name FROM "
		       "pg_replication_slots WHERE NOT active);");
	}
	for (size_t i = 0; i < p->n_create; i++)
		if (p->create[i].kind == SLOT_PHYSICAL) {
			snprintf(names[n++], SLOT_NAME_MAX, "%s",
				 p->create[i].name);
			log_event(LOG_INFO, "slot_created",
				  "slot=%s type=physical", p->create[i].name);
		}
	if (n) {
		append(sql, cap,
		       "SELECT count(pg_create_physical_replication_slot(n, "
		       "true)) FROM ");
		names_array(sql, cap, (const char(*)[SLOT_NAME_MAX])names, n);
		append(sql, cap,
		       " WHERE n NOT IN (SELECT slot_name FROM "
		       "pg_replication_slots);");
	}
}

/* max_slot_wal_keep_size in MB as Postgres takes it (-1: no bound). */
static long long keep_mb(const struct agent *a)
{
	int64_t b = a->live.max_slot_wal_keep_size;
	return b <= 0 ? -1 : (long long)((b + (1 << 20) - 1) >> 20);
}

/* A setting of postgresql.auto.conf that differs from what it should be:
 * written, and a reload added to sql. */
static void fix_setting(struct agent *a, const char *name, const char *now,
			const char *want, char *sql, size_t cap)
{
	char err[256];
	if (!now || strcmp(now, want) == 0)
		return;
	if (pgconf_auto_set(a->conf->pg_data_dir, name, want, err,
			    sizeof(err)) != 0) {
		log_event(LOG_WARN, "pgconf_failed", "setting=%s err=\"%s\"",
			  name, err);
		return;
	}
	log_event(LOG_INFO, "slot_setting", "setting=%s old=\"%s\" new=\"%s\"",
		  name, now, want);
	if (!strstr(sql, "pg_reload_conf"))
		append(sql, cap, "SELECT pg_reload_conf();");
}

static void row_to_actual(const struct pg_rows *r, int i, struct slot_actual *s)
{
	const char *type = pg_rows_get(r, i, 3);
	const char *active = pg_rows_get(r, i, 6);
	const char *temp = pg_rows_get(r, i, 7);
	const char *bytes = pg_rows_get(r, i, 8);
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", pg_rows_get(r, i, 2));
	s->kind = type && strcmp(type, "logical") == 0 ? SLOT_LOGICAL
						       : SLOT_PHYSICAL;
	snprintf(s->database, sizeof(s->database), "%s", pg_rows_get(r, i, 4));
	snprintf(s->plugin, sizeof(s->plugin), "%s", pg_rows_get(r, i, 5));
	s->active = active && active[0] == 't';
	s->temporary = temp && temp[0] == 't';
	long long rb = bytes ? atoll(bytes) : 0;
	s->retained_bytes = rb > 0 ? (uint64_t)rb : 0;
	snprintf(s->wal_status, sizeof(s->wal_status), "%s",
		 pg_rows_get(r, i, 9) ? pg_rows_get(r, i, 9) : "");
}

/* A slot PostgreSQL gave up on or is about to: said once per change. */
static void warn_status(struct agent *a, const struct slot_actual *s)
{
	for (size_t i = 0; i < a->n_slots_seen; i++)
		if (strcmp(a->slots_seen[i].name, s->name) == 0 &&
		    strcmp(a->slots_seen[i].wal_status, s->wal_status) == 0)
			return;
	if (strcmp(s->wal_status, "lost") == 0 ||
	    strcmp(s->wal_status, "unreserved") == 0)
		log_event(LOG_WARN, "slot_wal_status",
			  "slot=%s wal_status=%s retained_bytes=%llu "
			  "note=\"max_slot_wal_keep_size reached: a standby "
			  "using it needs a new copy once it is lost\"",
			  s->name, s->wal_status,
			  (unsigned long long)s->retained_bytes);
}

static void read_slots(struct agent *a, const struct pg_rows *r)
{
	struct slot_actual seen[SLOTS_MAX];
	size_t n = 0;
	for (int i = 0; i < r->nrows && n < SLOTS_MAX; i++) {
		if (!pg_rows_get(r, i, 2))
			continue; /* the one row of a node without slots */
		row_to_actual(r, i, &seen[n]);
		warn_status(a, &seen[n]);
		log_event(LOG_DEBUG, "slot",
			  "slot=%s type=%s active=%d retained_bytes=%llu "
			  "wal_status=%s",
			  seen[n].name,
			  seen[n].kind == SLOT_LOGICAL ? "logical" : "physical",
			  seen[n].active,
			  (unsigned long long)seen[n].retained_bytes,
			  seen[n].wal_status);
		n++;
	}
	memcpy(a->slots_seen, seen, n * sizeof(seen[0]));
	a->n_slots_seen = n;
}

static void listed(void *arg, int status, const char *error,
		   const struct pg_rows *rows)
{
	struct look *k = arg;
	struct agent *a = k->a;
	if (status != 0 || rows->nrows < 1) {
		log_event(LOG_WARN, "slots_failed", "err=\"%s\"",
			  error ? error : pg_strerror(status));
		look_end(k, false);
		return;
	}
	read_slots(a, rows);
	struct wanted w;
	memset(&w, 0, sizeof(w));
	if (k->role == SLOTS_PRIMARY)
		wanted_primary(a, &w);
	else
		wanted_standby(a, &w);
	struct slots_input in = {
		.want = w.want,
		.n_want = w.n_want,
		.keep = w.keep,
		.n_keep = w.n_keep,
		.prompt = w.prompt,
		.n_prompt = w.n_prompt,
		.have = a->slots_seen,
		.n_have = a->n_slots_seen,
		.now_ms = clock_now_ms(),
		.grace_ms = (uint64_t)a->live.member_slots_ttl,
		.logical_ok = k->role == SLOTS_PRIMARY,
	};
	static struct slots_plan plan;
	slots_plan(&in, &a->slot_mem, &plan);
	for (size_t i = 0; i < plan.n_conflict; i++)
		log_event(LOG_WARN, "slot_conflict",
			  "slot=%s note=\"a slot of that name exists with "
			  "another type, database or plugin: left alone; drop "
			  "it or rename the permanent slot\"",
			  plan.conflict[i]);
	for (size_t i = 0; i < plan.n_create && !a->slots_logical_busy; i++)
		if (plan.create[i].kind == SLOT_LOGICAL)
			create_logical(a, &plan.create[i]);
	static char sql[8192];
	sql[0] = '\0';
	plan_sql(&plan, sql, sizeof(sql));
	char mb[32], follow[SLOT_NAME_MAX];
	snprintf(mb, sizeof(mb), "%lld", keep_mb(a));
	fix_setting(a, "max_slot_wal_keep_size", pg_rows_get(rows, 0, 0), mb,
		    sql, sizeof(sql));
	if (k->role == SLOTS_STANDBY)
		fix_setting(a, "primary_slot_name", pg_rows_get(rows, 0, 1),
			    slots_follow_name(
				    a, keys_find_member(a, a->self.upstream),
				    follow),
			    sql, sizeof(sql));
	if (!sql[0]) {
		look_end(k, true);
		return;
	}
	if (pg_query(a->pg, sql, SLOTS_QUERY_MS, applied, k) != 0)
		look_end(k, false);
}

static const char list_sql[] =
	"SELECT s.setting, s.psn, r.slot_name, r.slot_type, "
	"coalesce(r.database, ''), coalesce(r.plugin, ''), r.active, "
	"r.temporary, coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() "
	"THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, "
	"r.restart_lsn), 0)::bigint, coalesce(r.wal_status, '') "
	"FROM (SELECT (SELECT setting FROM pg_settings WHERE name = "
	"'max_slot_wal_keep_size') AS setting, "
	"current_setting('primary_slot_name') AS psn) s "
	"LEFT JOIN pg_replication_slots r ON true";

void slots_reconcile(struct agent *a, void (*done)(struct agent *a))
{
	struct look *k = calloc(1, sizeof(*k));
	if (!k) {
		done(a);
		return;
	}
	k->a = a;
	k->done = done;
	k->role = role_of(a);
	k->digest = digest(a, k->role);
	if (k->role == SLOTS_NONE ||
	    pg_query(a->pg, list_sql, SLOTS_QUERY_MS, listed, k) != 0)
		look_end(k, false);
}

void slots_promotion_sql(struct agent *a, char *buf, size_t cap)
{
	struct wanted w;
	char names[SLOTS_MAX][SLOT_NAME_MAX];
	size_t n = 0;
	memset(&w, 0, sizeof(w));
	buf[0] = '\0';
	for (size_t i = 0; i < a->view.n_members; i++)
		if (strcmp(a->view.members[i].name, a->conf->name) != 0)
			want_physical(&w, a->view.members[i].name);
	/* the old primary, whose key may be gone with its host: it is
	 * rewound and follows this node when it comes back */
	if (a->old_primary[0] && strcmp(a->old_primary, a->conf->name) != 0)
		want_physical(&w, a->old_primary);
	for (size_t i = 0; i < a->live.n_slots; i++)
		if (a->live.slots[i].kind == SLOT_PHYSICAL &&
		    w.n_want < SLOTS_MAX &&
		    !wanted_has(&w, a->live.slots[i].name))
			w.want[w.n_want++] = a->live.slots[i];
	for (size_t i = 0; i < w.n_want; i++)
		snprintf(names[n++], SLOT_NAME_MAX, "%s", w.want[i].name);
	if (!n)
		return;
	append(buf, cap,
	       "SELECT count(pg_create_physical_replication_slot(n, true)) "
	       "FROM ");
	names_array(buf, cap, (const char(*)[SLOT_NAME_MAX])names, n);
	append(buf, cap,
	       " WHERE n NOT IN (SELECT slot_name FROM pg_replication_slots)");
}
