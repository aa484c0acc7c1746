/*
 * ctl_scopeconf.c — tenurectl cluster show-config|edit-config: the
 * settings every agent of a scope must agree on (fencing/scope_conf.h),
 * kept in the key S/config, plus maintenance mode (the key S/pause).
 *
 * edit-config validates the whole new text before anything is written (an
 * error: exit 2, nothing written) and writes S/config with a
 * compare-and-swap on the revision it read, so two operators editing at
 * once never overwrite each other silently: the second is told to run it
 * again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/conf_lex.h"
#include "ctl/ctl.h"
#include "ctl/ctl_pg.h"
#include "fencing/flatjson.h"
#include "fencing/scope_conf.h"
#include "proto/limits.h"

#define CONFIG_MAX 16000 /* the agents read up to 16383 bytes */

struct stored {
	char key[SM_KEY_MAX + 1];
	char text[CONFIG_MAX + 1];
	bool present, too_long;
	char bad[512];     /* why the agents refuse text ("" if fine) */
	uint64_t revision; /* mod_revision, 0 when absent */
	bool paused;
	struct scope_conf conf; /* parsed text, maintenance_mode from pause */
};

static int get_key(struct ctl *c, const char *key, char *buf, size_t cap,
		   bool *present, uint64_t *revision, bool *too_long)
{
	struct client_request q = { .op = CLIENT_OP_GET };
	struct tclient_result res;
	q.key = ctl_str(key);
	q.consistency = c->consistency;
	int code = ctl_call(c, &q, "get", &res);
	*present = code == CTL_EXIT_OK && res.r.present;
	buf[0] = '\0';
	if (*present) {
		size_t n = res.r.kv.value.len;
		if (too_long)
			*too_long = n >= cap;
		snprintf(buf, cap, "%.*s", (int)n, res.r.kv.value.p);
		if (revision)
			*revision = res.r.kv.mod_revision;
	}
	tclient_result_free(&res);
	return code == CTL_EXIT_ERROR ? code : 0;
}

/* The checks across keys, with the agents' defaults for what each
 * agent's file sets (fence_time, pause_margin). */
static int check(const struct scope_conf *c, char *err, size_t errlen)
{
	return scope_conf_check(c, SCOPE_DEFAULT_LEASE_TTL,
				SCOPE_DEFAULT_RENEW_INTERVAL,
				SCOPE_DEFAULT_FENCE_TIME,
				SCOPE_DEFAULT_PAUSE_MARGIN,
				SCOPE_CLOCK_DRIFT_PPM, err, errlen);
}

/* S/config and S/pause.  0, or the exit code after saying why; text the
 * agents would refuse is not an error here: s->bad says why. */
static int read_stored(struct ctl *c, const char *scope, struct stored *s)
{
	char pause_key[SM_KEY_MAX + 1], ignored[64];
	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s/config", scope);
	snprintf(pause_key, sizeof(pause_key), "%s/pause", scope);
	int code = get_key(c, s->key, s->text, sizeof(s->text), &s->present,
			   &s->revision, &s->too_long);
	if (!code)
		code = get_key(c, pause_key, ignored, sizeof(ignored),
			       &s->paused, NULL, NULL);
	if (code)
		return code;
	if (s->too_long)
		snprintf(s->bad, sizeof(s->bad), "longer than %d bytes",
			 CONFIG_MAX);
	else if (scope_conf_parse(s->text, strlen(s->text), s->key, &s->conf,
				  s->bad, sizeof(s->bad)) == 0 &&
		 check(&s->conf, s->bad, sizeof(s->bad)) == 0)
		s->bad[0] = '\0';
	s->conf.maintenance_mode = s->paused;
	s->conf.set[SCOPE_MAINTENANCE_MODE] = true;
	return 0;
}

/* ---- show-config ------------------------------------------------------ */

/* "postgresql": {"parameters": {name: value}, "pg_hba": [line, ...]}, the
 * shape of Patroni's dynamic configuration. */
static void show_json_pg(struct json *j, const struct pg_params *p)
{
	json_key(j, "postgresql");
	json_object(j);
	json_key(j, "parameters");
	json_object(j);
	for (size_t i = 0; i < p->n; i++) {
		json_key(j, p->p[i].name);
		json_str(j, p->p[i].value, strlen(p->p[i].value));
	}
	json_end(j);
	json_key(j, "pg_hba");
	json_list(j);
	for (size_t i = 0; i < p->n_hba; i++)
		json_str(j, p->hba[i], strlen(p->hba[i]));
	json_end(j);
	json_end(j);
}

static void show_text_pg(FILE *f, const struct pg_params *p)
{
	char buf[CONFIG_MAX + 1];
	size_t len = 0;
	fprintf(f, "# Postgres parameters (pg.NAME = VALUE) and pg_hba lines "
		   "(pg_hba = 'LINE', in order,\n# before the node's own "
		   "pg_hba.conf): every agent writes them; a node's own file\n"
		   "# may override a parameter.  Example:\n"
		   "#pg.work_mem = '8MB'\n"
		   "#pg_hba = 'host all all 10.0.0.0/8 scram-sha-256'\n");
	buf[0] = '\0';
	if (pg_params_format(p, buf, sizeof(buf), &len))
		fputs(buf, f);
}

/* ---- the keys kept outside the option table ------------------------------ */

/* A group of string keys with a parser of its own (replica_conf.h,
 * standby_cluster.h, bootstrap_conf.h): shown, written and compared
 * alike. */
struct key_group {
	const char *const *names;
	const char *const *hints; /* what an unset key does, for edit-config */
	int n;
	bool (*is_set)(const struct scope_conf *c, int k);
	void (*value)(const struct scope_conf *c, int k, char *buf, size_t cap);
};

static bool replica_is_set(const struct scope_conf *c, int k)
{
	return c->replica.set[k];
}

static void replica_value(const struct scope_conf *c, int k, char *buf,
			  size_t cap)
{
	replica_conf_value(&c->replica, (enum replica_key)k, buf, cap);
}

static bool standby_is_set(const struct scope_conf *c, int k)
{
	return c->standby.set[k];
}

static void standby_value(const struct scope_conf *c, int k, char *buf,
			  size_t cap)
{
	standby_cluster_value(&c->standby, (enum standby_key)k, buf, cap);
}

static bool bootstrap_is_set(const struct scope_conf *c, int k)
{
	return c->bootstrap.set[k];
}

static void bootstrap_value(const struct scope_conf *c, int k, char *buf,
			    size_t cap)
{
	bootstrap_conf_value(&c->bootstrap, (enum bootstrap_key)k, buf, cap);
}

static const char *const replica_hints[REPLICA_N_KEYS] = {
	"'basebackup'\t# not set: pg_basebackup; or e.g. "
	"'pgbackrest,basebackup' (pgbackrest, basebackup, custom)",
	"''\t# pgBackRest's stanza (create_replica_methods pgbackrest)",
	"''\t# pgBackRest's config file (not set: its default)",
	"''\t# custom: run with DATADIR SCOPE NAME",
	"on\t# not set: on when pgbackrest_stanza is set (the agent "
	"sets archive_mode and archive_command)",
};

static const char *const standby_hints[STANDBY_N_KEYS] = {
	"'h1:5432,h2:5432'\t# this scope follows the cluster of these "
	"hosts (tenurectl cluster promote ends it)",
	"''\t# WAL from the main cluster's archive",
	"''\t# the standby leader's slot on the main cluster",
};

static const char *const bootstrap_hints[BOOTSTRAP_N_KEYS] = {
	"'initdb'\t# or pgbackrest (a restore), custom (a command): "
	"a new scope's first primary",
	"''\t# pgbackrest: the latest; or 'time:2026-12-07 "
	"12:00:00+00', 'lsn:0/3000000', 'name:POINT'",
	"''\t# the stanza restored from (not set: pgbackrest_stanza)",
	"''\t# custom: run with DATADIR SCOPE NAME",
};

static const struct key_group replica_group = {
	replica_key_names, replica_hints, REPLICA_N_KEYS,
	replica_is_set,    replica_value,
};
static const struct key_group standby_group = {
	standby_key_names, standby_hints, STANDBY_N_KEYS,
	standby_is_set,    standby_value,
};
static const struct key_group bootstrap_group = {
	bootstrap_key_names, bootstrap_hints, BOOTSTRAP_N_KEYS,
	bootstrap_is_set,    bootstrap_value,
};

#define N_GROUPS 3
/* show-config's order, and the change summary's (as before). */
static const struct key_group *const shown_groups[N_GROUPS] = {
	&replica_group, &standby_group, &bootstrap_group
};
static const struct key_group *const changed_groups[N_GROUPS] = {
	&standby_group, &replica_group, &bootstrap_group
};

static void json_group(struct json *j, const struct scope_conf *c,
		       const struct key_group *g)
{
	char v[1100];
	for (int k = 0; k < g->n; k++) {
		if (!g->is_set(c, k))
			continue;
		g->value(c, k, v, sizeof(v));
		json_key(j, g->names[k]);
		json_str(j, v, strlen(v));
	}
}

/* "  key: before -> after" for each key of g that changed. */
static bool print_group_changes(FILE *f, const struct scope_conf *old,
				const struct scope_conf *now,
				const struct key_group *g)
{
	bool any = false;
	for (int k = 0; k < g->n; k++) {
		char a[1100] = "(not set)", b[1100] = "(not set)";
		if (g->is_set(old, k))
			g->value(old, k, a, sizeof(a));
		if (g->is_set(now, k))
			g->value(now, k, b, sizeof(b));
		if (strcmp(a, b) != 0) {
			fprintf(f, "  %s: %s -> %s\n", g->names[k], a, b);
			any = true;
		}
	}
	return any;
}

static void show_json(const char *scope, const struct stored *s)
{
	size_t n;
	const struct conf_option *t = scope_conf_table(&n);
	struct json j;
	json_init_file(&j, stdout, 0);
	json_object(&j);
	json_key(&j, "scope");
	json_str(&j, scope, strlen(scope));
	json_key(&j, "revision");
	json_u64(&j, s->revision);
	json_key(&j, "settings");
	json_object(&j);
	for (size_t i = 0; i < n; i++) {
		char v[64];
		if (!s->conf.set[i])
			continue;
		scope_conf_value(&s->conf, (enum scope_key)i, v, sizeof(v));
		json_key(&j, t[i].key);
		json_str(&j, v, strlen(v));
	}
	for (size_t i = 0; i < s->conf.n_slots; i++) {
		char k[SLOT_NAME_MAX + 8], v[160];
		snprintf(k, sizeof(k), SCOPE_SLOT_PREFIX "%s",
			 s->conf.slots[i].name);
		slot_spec_value(&s->conf.slots[i], v, sizeof(v));
		json_key(&j, k);
		json_str(&j, v, strlen(v));
	}
	for (size_t g = 0; g < N_GROUPS; g++)
		json_group(&j, &s->conf, shown_groups[g]);
	json_end(&j);
	show_json_pg(&j, &s->conf.pg);
	json_end(&j);
	printf("\n");
}

/* A group's keys: those set as stored, quoted (as the group's own
 * formatter writes them); the others commented, with what they do. */
static void show_text_group(FILE *f, const struct scope_conf *c,
			    const struct key_group *g)
{
	char v[1100], line[2400];
	for (int k = 0; k < g->n; k++) {
		size_t len = 0;
		line[0] = '\0';
		if (g->is_set(c, k))
			g->value(c, k, v, sizeof(v));
		if (g->is_set(c, k) &&
		    conf_lex_put_quoted(line, sizeof(line), &len, g->names[k],
					v))
			fputs(line, f);
		else
			fprintf(f, "#%s = %s\n", g->names[k], g->hints[k]);
	}
}

/* The text edit-config starts from: every key, unset ones commented. */
static void show_text(FILE *f, const char *scope, const struct stored *s)
{
	size_t n;
	const struct conf_option *t = scope_conf_table(&n);
	fprintf(f,
		"# cluster '%s': settings every agent applies (%s, "
		"revision %llu)\n",
		scope, s->key, (unsigned long long)s->revision);
	for (size_t i = 0; i < n; i++) {
		char v[64];
		scope_conf_value(&s->conf, (enum scope_key)i, v, sizeof(v));
		if (i == SCOPE_MAINTENANCE_MODE)
			fprintf(f, "%s = %s\t# %s/pause\n", t[i].key, v, scope);
		else if (s->conf.set[i])
			fprintf(f, "%s = %s\n", t[i].key, v);
		else
			fprintf(f,
				"#%s = %s\t# not set: each agent's config "
				"file decides (default %s)\n",
				t[i].key, t[i].def, t[i].def);
	}
	for (size_t g = 0; g < N_GROUPS; g++)
		show_text_group(f, &s->conf, shown_groups[g]);
	for (size_t i = 0; i < s->conf.n_slots; i++) {
		char v[160];
		slot_spec_value(&s->conf.slots[i], v, sizeof(v));
		fprintf(f, SCOPE_SLOT_PREFIX "%s = %s\n", s->conf.slots[i].name,
			v);
	}
	if (!s->conf.n_slots)
		fprintf(f, "#" SCOPE_SLOT_PREFIX "NAME = physical | "
			   "logical:DATABASE:PLUGIN\t# a permanent slot\n");
	show_text_pg(f, &s->conf.pg);
}

static int refused(const char *scope, const struct stored *s)
{
	fprintf(stderr,
		CTL_PROG ": %s holds settings the agents refuse "
			 "(they keep the ones in force): %s\nHint: rewrite it "
			 "with '" CTL_PROG
			 " cluster edit-config --scope %s' (without --set: the "
			 "editor shows the text as stored).\n",
		s->key, s->bad, scope);
	return CTL_EXIT_ERROR;
}

int ctl_cmd_pg_show_config(struct ctl *c)
{
	const char *scope;
	struct stored s;
	int code = ctl_pg_scope(c, &scope);
	if (!code)
		code = read_stored(c, scope, &s);
	if (code)
		return code;
	if (s.bad[0])
		return refused(scope, &s);
	if (c->format == CTL_JSON)
		show_json(scope, &s);
	else
		show_text(stdout, scope, &s);
	return CTL_EXIT_OK;
}

/* ---- edit-config: the new settings ----------------------------------- */

/* Every --set, in order, applied to *next. */
static int apply_sets(struct ctl *c, struct scope_conf *next)
{
	char err[512];
	for (size_t i = 0; i < c->n_opts; i++) {
		if (strcmp(c->opts[i].name, "set") != 0)
			continue;
		if (scope_conf_assign(next, c->opts[i].value, err,
				      sizeof(err)) != 0) {
			fprintf(stderr, CTL_PROG ": %s; nothing written\n",
				err);
			return CTL_EXIT_ERROR;
		}
	}
	return 0;
}

/* $EDITOR (default vi) on the current text; *next from what it saved. */
static int run_editor(struct ctl *c, const char *scope, const struct stored *s,
		      struct scope_conf *next)
{
	char path[] = "/tmp/tenurectl-config-XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		fprintf(stderr,
			CTL_PROG ": cannot create a temporary file: %m\n");
		return CTL_EXIT_ERROR;
	}
	if (s->bad[0]) /* the text as stored, to be fixed */
		fprintf(f, "# %s is refused by the agents: %s\n%s\n", s->key,
			s->bad, s->text);
	else
		show_text(f, scope, s);
	fclose(f);
	const char *editor = getenv("EDITOR");
	char cmd[1200];
	/* through the shell: EDITOR may carry arguments ("code --wait") */
	snprintf(cmd, sizeof(cmd), "${EDITOR:-vi} '%s'", path);
	int st = system(cmd);
	int code = 0;
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr,
			CTL_PROG ": the editor (%s) failed; nothing "
				 "written\n",
			editor && *editor ? editor : "vi");
		code = CTL_EXIT_ERROR;
	}
	char text[CONFIG_MAX * 2];
	size_t len = 0;
	if (!code && (f = fopen(path, "r"))) {
		len = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	unlink(path);
	if (!code && scope_conf_parse(text, len, "edited text", next, err,
				      sizeof(err)) != 0) {
		fprintf(stderr, CTL_PROG ": %s; nothing written\n", err);
		code = CTL_EXIT_ERROR;
	}
	return code;
}

/* spec of slot NAME in c as text, or "(not set)". */
static void slot_text(const struct scope_conf *c, const char *name, char *buf,
		      size_t cap)
{
	snprintf(buf, cap, "(not set)");
	for (size_t i = 0; i < c->n_slots; i++)
		if (strcmp(c->slots[i].name, name) == 0)
			slot_spec_value(&c->slots[i], buf, cap);
}

/* "slot.NAME: old -> new" for every permanent slot that differs. */
static bool print_slot_changes(FILE *f, const struct scope_conf *old,
			       const struct scope_conf *now)
{
	bool any = false;
	const struct scope_conf *both[2] = { old, now };
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < both[s]->n_slots; i++) {
			const char *name = both[s]->slots[i].name;
			char a[160], b[160];
			slot_text(old, name, a, sizeof(a));
			slot_text(now, name, b, sizeof(b));
			/* each change once: from old's list, or new in now's */
			if (strcmp(a, b) == 0 ||
			    (s == 1 && strcmp(a, "(not set)") != 0))
				continue;
			fprintf(f, "  " SCOPE_SLOT_PREFIX "%s: %s -> %s\n",
				name, a, b);
			any = true;
		}
	return any;
}

/* "pg.NAME: old -> new" for every parameter that differs, and the
 * pg_hba lines when they do; false when nothing does. */
static bool print_pg_changes(FILE *f, const struct pg_params *old,
			     const struct pg_params *now)
{
	bool any = false;
	for (int pass = 0; pass < 2; pass++) {
		const struct pg_params *from = pass ? now : old;
		for (size_t i = 0; i < from->n; i++) {
			const char *name = from->p[i].name;
			const char *a = pg_params_get(old, name);
			const char *b = pg_params_get(now, name);
			if ((pass && a) || (a && b && strcmp(a, b) == 0))
				continue;
			fprintf(f, "  pg.%s: %s -> %s\n", name,
				a ? a : "(not set)", b ? b : "(not set)");
			any = true;
		}
	}
	bool hba_same = old->n_hba == now->n_hba;
	for (size_t i = 0; hba_same && i < old->n_hba; i++)
		hba_same = strcmp(old->hba[i], now->hba[i]) == 0;
	if (!hba_same) {
		fprintf(f, "  pg_hba: %zu line(s) -> %zu line(s)\n", old->n_hba,
			now->n_hba);
		any = true;
	}
	return any;
}

/* "key: old -> new" for every difference; false when there is none. */
static bool print_changes(FILE *f, const struct scope_conf *old,
			  const struct scope_conf *now)
{
	size_t n;
	const struct conf_option *t = scope_conf_table(&n);
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		char a[64] = "(not set)", b[64] = "(not set)";
		if (old->set[i])
			scope_conf_value(old, (enum scope_key)i, a, sizeof(a));
		if (now->set[i])
			scope_conf_value(now, (enum scope_key)i, b, sizeof(b));
		if (strcmp(a, b) != 0) {
			fprintf(f, "  %s: %s -> %s\n", t[i].key, a, b);
			any = true;
		}
	}
	for (size_t g = 0; g < N_GROUPS; g++)
		any |= print_group_changes(f, old, now, changed_groups[g]);
	bool slots = print_slot_changes(f, old, now);
	bool pg = print_pg_changes(f, &old->pg, &now->pg);
	return slots || pg || any;
}

/* ---- edit-config: writing ------------------------------------------- */

static int write_config(struct ctl *c, const char *scope,
			const struct stored *s, const char *text)
{
	struct client_request q = { .op = CLIENT_OP_CAS };
	struct tclient_result res;
	q.key = ctl_str(s->key);
	q.value = ctl_str(text);
	q.expected_revision = s->revision; /* 0: only if still absent */
	int code = ctl_call(c, &q, "cluster edit-config", &res);
	tclient_result_free(&res);
	if (code == CTL_EXIT_NO)
		fprintf(stderr,
			CTL_PROG
			": %s changed since it was read "
			"(revision %llu); nothing written\nHint: run '" CTL_PROG
			" cluster edit-config --scope %s' again.\n",
			s->key, (unsigned long long)s->revision, scope);
	return code;
}

static int write_pause(struct ctl *c, const char *scope, bool on)
{
	char key[SM_KEY_MAX + 1], value[256];
	struct client_request q = { .op = on ? CLIENT_OP_PUT
					     : CLIENT_OP_DELETE };
	struct tclient_result res;
	struct flatjson_writer w;
	snprintf(key, sizeof(key), "%s/pause", scope);
	flatjson_begin(&w, value, sizeof(value));
	flatjson_put_str(&w, "by", "edit-config");
	flatjson_put_u64(&w, "time_ms", clock_wall_ms());
	flatjson_end(&w);
	q.key = ctl_str(key);
	q.value = ctl_str(on ? value : "");
	int code = ctl_call(c, &q, "maintenance_mode", &res);
	tclient_result_free(&res);
	return code == CTL_EXIT_NO ? CTL_EXIT_OK : code;
}

int ctl_scope_conf_edit(struct ctl *c, const char *scope, ctl_conf_edit_fn edit,
			void *arg)
{
	static struct stored s; /* one command per process; 16 KiB */
	char err[512], text[CONFIG_MAX + 1];
	int code = read_stored(c, scope, &s);
	if (code)
		return code;
	if (s.bad[0])
		return refused(scope, &s);
	struct scope_conf next = s.conf;
	if ((code = edit(&next, arg)) != 0)
		return code;
	if (check(&next, err, sizeof(err)) != 0) {
		fprintf(stderr, CTL_PROG ": %s; nothing written\n", err);
		return CTL_EXIT_ERROR;
	}
	if (!scope_conf_format(&next, text, sizeof(text))) {
		fprintf(stderr, CTL_PROG ": the settings are too long; nothing "
					 "written\n");
		return CTL_EXIT_ERROR;
	}
	printf("cluster '%s':\n", scope);
	print_changes(stdout, &s.conf, &next);
	return strcmp(text, s.text) ? write_config(c, scope, &s, text) : 0;
}

int ctl_cmd_pg_edit_config(struct ctl *c)
{
	const char *scope;
	struct stored s;
	char err[512], text[CONFIG_MAX + 1];
	int code = ctl_pg_scope(c, &scope);
	if (!code)
		code = read_stored(c, scope, &s);
	if (code)
		return code;
	struct scope_conf next = s.conf;
	if (ctl_opt(c, "set") && s.bad[0])
		return refused(scope, &s);
	if (ctl_opt(c, "set"))
		code = apply_sets(c, &next);
	else
		code = run_editor(c, scope, &s, &next);
	if (code)
		return code;
	if (!next.set[SCOPE_MAINTENANCE_MODE]) /* line removed: unchanged */
		next.maintenance_mode = s.paused;
	next.set[SCOPE_MAINTENANCE_MODE] = true;
	if (check(&next, err, sizeof(err)) != 0) {
		fprintf(stderr,
			CTL_PROG
			": %s (checked with the default "
			"fence_time and pause_margin); nothing written\n",
			err);
		return CTL_EXIT_ERROR;
	}
	if (!scope_conf_format(&next, text, sizeof(text))) {
		fprintf(stderr, CTL_PROG ": the settings are too long; nothing "
					 "written\n");
		return CTL_EXIT_ERROR;
	}
	printf("cluster '%s':\n", scope);
	if (!print_changes(stdout, &s.conf, &next)) {
		printf("  no changes; nothing written\n");
		return CTL_EXIT_OK;
	}
	if (!ctl_opt(c, "no-pg-check") &&
	    !pg_params_equal(&s.conf.pg, &next.pg) &&
	    (code = ctl_pg_check_params(c, scope, &next.pg)) != 0)
		return code;
	if (strcmp(text, s.text) != 0 &&
	    (code = write_config(c, scope, &s, text)) != 0)
		return code;
	if (next.maintenance_mode != s.paused &&
	    (code = write_pause(c, scope, next.maintenance_mode)) != 0)
		return code;
	printf("written: every agent applies it at its next tick, without a "
	       "restart (see '" CTL_PROG " cluster show-config --scope %s')\n",
	       scope);
	return CTL_EXIT_OK;
}
