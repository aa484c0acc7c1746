/*
 * agent_params.c — the Postgres parameters and pg_hba lines of the scope
 * settings (fencing/pg_params.h), written into this node's Postgres.
 *
 * What is wanted: SCOPE/config's pg. lines, with this node's own file's
 * pg. lines over them; on a standby, no hot-standby-critical parameter
 * below the primary's running value (published in its member record as
 * hs_params), or below its own running value while the primary's is not
 * known: PostgreSQL 15 pauses recovery, or refuses to start, with lower
 * ones.  So a lowering reaches a standby only after the primary restarted
 * with it, and a raising reaches the standby first.
 *
 * How: every value is checked against this server's pg_settings first; a
 * bad one (stored with `tenurectl put`, say) is logged once and nothing
 * is written: the settings in force stay.  Then postgresql.auto.conf gets
 * the parameters (the ones tenure set before and no longer wants are
 * removed; their names are kept in DATADIR/tenure_pg_params), the
 * pg_hba.conf block between tenure's markers gets the lines, and
 * pg_reload_conf() applies what a reload can.  pg_settings.pending_restart
 * is read every POLL_MS into the member record (cluster list, /patroni).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/pgconf.h"

#define POLL_MS 2000
#define QUERY_MS 5000
#define MANAGED_FILE "tenure_pg_params"
#define HBA_BEGIN                                                \
	"# BEGIN tenure: scope pg_hba lines (tenurectl cluster " \
	"edit-config); edited by tenure-agent"
#define HBA_END "# END tenure"

static const char settings_sql[] =
	"SELECT name, vartype, coalesce(unit, ''), coalesce(min_val, ''), "
	"coalesce(max_val, ''), coalesce(enumvals::text, ''), context, "
	"setting, pending_restart FROM pg_settings";

struct params_run {
	struct agent *a;
	struct pg_params want;
	bool apply; /* want differs from what was written */
};

void params_init(struct agent *a)
{
	char err[300];
	const char *text = a->conf->pg_parameters ? a->conf->pg_parameters : "";
	size_t len = strlen(text);
	char *rest = malloc(2 * len + 2);
	if (rest && pg_params_split(text, len, "config file", &a->params.node,
				    rest, 2 * len + 2, err, sizeof(err)) != 0)
		log_event(LOG_ERROR, "pg_params_refused",
			  "source=config_file err=\"%s\"", err);
	free(rest);
}

/* The primary's running hot-standby values from its record, else this
 * server's own: never lower than what runs. */
static void standby_floor(struct agent *a, struct pg_params *want)
{
	struct pg_params floor;
	char raised[MEMBER_STR_MAX], err[100];
	const struct member *p = a->view.holder[0]
					 ? keys_find_member(a, a->view.holder)
					 : NULL;
	const char *src = p && p->hs_params[0] ? p->hs_params
					       : a->params.hs_running;
	memset(&floor, 0, sizeof(floor));
	for (const char *s = src; *s;) {
		char item[200];
		size_t n = strcspn(s, ",");
		snprintf(item, sizeof(item), "%.*s", (int)n, s);
		char *eq = strchr(item, '=');
		if (eq) {
			*eq = '\0';
			(void)pg_params_set(&floor, item, eq + 1, err,
					    sizeof(err));
		}
		s += n + (s[n] == ',');
	}
	pg_params_floor(want, &floor, raised, sizeof(raised));
	if (raised[0] && strcmp(raised, a->params.floor_logged) != 0)
		log_event(LOG_INFO, "pg_params_standby_floor",
			  "kept=%s source=%s why=\"a hot standby needs these "
			  "at least as high as its primary's\"",
			  raised, p && p->hs_params[0] ? p->name : "self");
	snprintf(a->params.floor_logged, sizeof(a->params.floor_logged), "%s",
		 raised);
}

void params_wanted(struct agent *a, struct pg_params *want)
{
	pg_params_merge(want, &a->live.pg, &a->params.node);
	archive_params_add(a, want);
	if (a->pg_obs.state == PG_REPLICA)
		standby_floor(a, want);
}

/* ---- files -------------------------------------------------------------- */

/* The names tenure set in postgresql.auto.conf (its managed list). */
static void read_managed(struct agent *a, struct pg_params *out)
{
	char path[4096], line[PG_PARAM_NAME_MAX + 2], err[100];
	snprintf(path, sizeof(path), "%s/" MANAGED_FILE, a->conf->pg_data_dir);
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			(void)pg_params_set(out, line, "x", err, sizeof(err));
	}
	if (f)
		fclose(f);
}

static int write_managed(struct agent *a, const struct pg_params *p)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/" MANAGED_FILE, a->conf->pg_data_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	for (size_t i = 0; i < p->n; i++)
		fprintf(f, "%s\n", p->p[i].name);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -errno;
	return 0;
}

/* hba_file with tenure's block (first: the first matching line wins)
 * replaced by want's lines. */
static int write_hba(const char *path, const struct pg_params *want, char *err,
		     size_t errlen)
{
	char tmp[4200], *line = NULL;
	size_t cap = 0;
	bool inside = false;
	FILE *in = fopen(path, "r");
	snprintf(tmp, sizeof(tmp), "%s.tenure-tmp", path);
	FILE *out = in ? fopen(tmp, "w") : NULL;
	if (!out) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (in)
			fclose(in);
		return -1;
	}
	if (want->n_hba) {
		fprintf(out, "%s\n", HBA_BEGIN);
		for (size_t i = 0; i < want->n_hba; i++)
			fprintf(out, "%s\n", want->hba[i]);
		fprintf(out, "%s\n", HBA_END);
	}
	while (getline(&line, &cap, in) > 0) {
		if (strncmp(line, HBA_BEGIN, strlen(HBA_BEGIN)) == 0)
			inside = true;
		else if (inside && strncmp(line, HBA_END, strlen(HBA_END)) == 0)
			inside = false;
		else if (!inside)
			fputs(line, out);
	}
	free(line);
	fclose(in);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0 ||
	    rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int write_all(struct agent *a, const struct pg_params *want,
		     const char *hba_file, char *err, size_t errlen)
{
	struct pg_params managed;
	const char *dir = a->conf->pg_data_dir;
	read_managed(a, &managed);
	for (size_t i = 0; i < managed.n; i++)
		if (!pg_params_get(want, managed.p[i].name) &&
		    pgconf_auto_set(dir, managed.p[i].name, NULL, err,
				    errlen) != 0)
			return -1;
	for (size_t i = 0; i < want->n; i++)
		if (pgconf_auto_set(dir, want->p[i].name, want->p[i].value, err,
				    errlen) != 0)
			return -1;
	if (write_managed(a, want) != 0) {
		snprintf(err, errlen, "%s/%s: %s", dir, MANAGED_FILE,
			 strerror(errno));
		return -1;
	}
	bool hba_same = want->n_hba == a->params.applied.n_hba;
	for (size_t i = 0; hba_same && i < want->n_hba; i++)
		hba_same = strcmp(want->hba[i], a->params.applied.hba[i]) == 0;
	if ((!hba_same || !a->params.written_once) && hba_file[0])
		return write_hba(hba_file, want, err, errlen);
	return 0;
}

/* ---- the steps ---------------------------------------------------------- */

static void refuse(struct agent *a, const struct pg_params *want,
		   const char *err)
{
	char text[AGENT_CONFIG_MAX] = "", q[1400];
	size_t len = 0;
	(void)pg_params_format(want, text, sizeof(text), &len);
	if (strcmp(text, a->params.refused) == 0)
		return; /* said once */
	snprintf(a->params.refused, sizeof(a->params.refused), "%s", text);
	log_event(LOG_ERROR, "pg_params_refused",
		  "err=%s hint=\"nothing written: the settings in force stay; "
		  "fix it with 'tenurectl cluster edit-config --scope %s' or "
		  "this node's config file\"",
		  log_quote(err, q, sizeof(q)), a->conf->scope);
}

static void reloaded(void *arg, int status, const char *error,
		     const struct pg_rows *rows)
{
	struct params_run *r = arg;
	struct agent *a = r->a;
	a->params.in_flight = false;
	if (status == 0) {
		a->params.applied = r->want;
		a->params.written_once = true;
		a->params.refused[0] = '\0';
		a->params.checked_ms = 0; /* read pending_restart soon */
		log_event(LOG_INFO, "pg_params_applied",
			  "parameters=%zu pg_hba_lines=%zu", r->want.n,
			  r->want.n_hba);
	} else {
		char q[400];
		log_event(LOG_WARN, "pg_params_reload_failed", "err=%s",
			  log_quote(error ? error : pg_strerror(status), q,
				    sizeof(q)));
	}
	free(r);
}

/* Checks every wanted value against the rows; -1 with the first error. */
static int check_rows(const struct pg_rows *rows, const struct pg_params *want,
		      char *err, size_t errlen)
{
	for (size_t i = 0; i < want->n; i++) {
		const struct pg_setting_def *d = NULL;
		struct pg_setting_def def;
		for (int k = 0; k < rows->nrows && !d; k++)
			if (strcmp(pg_rows_get(rows, k, 0), want->p[i].name) ==
			    0) {
				def = (struct pg_setting_def){
					pg_rows_get(rows, k, 0),
					pg_rows_get(rows, k, 1),
					pg_rows_get(rows, k, 2),
					pg_rows_get(rows, k, 3),
					pg_rows_get(rows, k, 4),
					pg_rows_get(rows, k, 5),
					pg_rows_get(rows, k, 6),
				};
				d = &def;
			}
		char why[600];
		if (pg_param_check(d, want->p[i].name, want->p[i].value, why,
				   sizeof(why)) != 0) {
			snprintf(err, errlen, "pg.%s: %s", want->p[i].name,
				 why);
			return -1;
		}
	}
	return 0;
}

/* pending_restart, this server's hot-standby values and hba_file. */
static void note_rows(struct agent *a, const struct pg_rows *rows,
		      char *hba_file, size_t cap)
{
	bool pending = false;
	size_t len = 0;
	char hs[MEMBER_STR_MAX] = "";
	for (int k = 0; k < rows->nrows; k++) {
		const char *name = pg_rows_get(rows, k, 0);
		const char *setting = pg_rows_get(rows, k, 7);
		const char *p = pg_rows_get(rows, k, 8);
		pending = pending || (p && strcmp(p, "t") == 0);
		if (setting && strcmp(name, "hba_file") == 0)
			snprintf(hba_file, cap, "%s", setting);
		if (setting && pg_param_hot_standby_critical(name)) {
			int w = snprintf(hs + len, sizeof(hs) - len, "%s%s=%s",
					 len ? "," : "", name, setting);
			if (w > 0 && (size_t)w < sizeof(hs) - len)
				len += (size_t)w;
		}
	}
	if (pending != a->params.pending_restart)
		log_event(LOG_INFO, "pending_restart", "value=%s",
			  pending ? "true" : "false");
	a->params.pending_restart = pending;
	snprintf(a->params.hs_running, sizeof(a->params.hs_running), "%s", hs);
}

static void settings_read(void *arg, int status, const char *error,
			  const struct pg_rows *rows)
{
	struct params_run *r = arg;
	struct agent *a = r->a;
	char err[1400], hba_file[4096] = "";
	a->params.checked_ms = clock_now_ms();
	if (status != 0 || !rows->res || a->stopping) {
		a->params.in_flight = false;
		free(r);
		return;
	}
	note_rows(a, rows, hba_file, sizeof(hba_file));
	/* an action on Postgres (a stop, a promotion) runs: next time */
	if (!r->apply || a->busy) {
		a->params.in_flight = false;
		free(r);
		return;
	}
	if (check_rows(rows, &r->want, err, sizeof(err)) != 0 ||
	    write_all(a, &r->want, hba_file, err, sizeof(err)) != 0) {
		refuse(a, &r->want, err);
		a->params.in_flight = false;
		free(r);
		return;
	}
	if (pg_query(a->pg, "SELECT pg_reload_conf()", QUERY_MS, reloaded, r) !=
	    0) {
		a->params.in_flight = false;
		free(r);
	}
}

void params_step(struct agent *a)
{
	if (a->params.in_flight || a->busy ||
	    (a->pg_obs.state != PG_PRIMARY && a->pg_obs.state != PG_REPLICA))
		return;
	struct params_run *r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->a = a;
	params_wanted(a, &r->want);
	r->apply = !a->params.written_once ||
		   !pg_params_equal(&r->want, &a->params.applied);
	uint64_t now = clock_now_ms();
	if ((!r->apply && now - a->params.checked_ms < POLL_MS) ||
	    (r->apply && a->params.refused[0] &&
	     now - a->params.checked_ms < POLL_MS)) {
		free(r);
		return;
	}
	a->params.in_flight = true;
	if (pg_query(a->pg, settings_sql, QUERY_MS, settings_read, r) != 0) {
		a->params.in_flight = false;
		free(r);
	}
}
