/*
 * ctl_pgtopo.c — tenurectl cluster topology (who streams from whom, as a
 * tree) and cluster dsn (a libpq connection string for a member): how
 * they are shaped.  Pure (tests/unit/test_ctl_pgcluster.c checks it): the
 * commands, in ctl_pgcluster.c, read the scope and print through these.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/ctl_pg.h"
#include "fencing/roster.h"

/* ---- the tree ------------------------------------------------------------ */

struct topo {
	const struct ctl_pg_list *l;
	const struct member **order; /* by name: the primary first */
	int *parent;                 /* index in order, -1: a root */
	size_t n;
};

static int find(const struct topo *t, const char *name)
{
	for (size_t i = 0; name[0] && i < t->n; i++)
		if (strcmp(t->order[i]->name, name) == 0)
			return (int)i;
	return -1;
}

static int by_name(const void *a, const void *b)
{
	const struct member *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* A member under its upstream, unless that is no member or the chain
 * comes back to it (records written at different times may disagree). */
static void link_parents(struct topo *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct member *m = t->order[i];
		bool leader = t->l->leader[0] &&
			      strcmp(m->name, t->l->leader) == 0;
		t->parent[i] = leader ? -1 : find(t, m->upstream);
		if (t->parent[i] == (int)i)
			t->parent[i] = -1;
	}
	for (size_t i = 0; i < t->n; i++) {
		int p = t->parent[i];
		for (size_t steps = 0; p >= 0 && steps <= t->n; steps++)
			p = t->parent[p];
		if (p >= 0) /* more steps than members: a loop, cut here */
			t->parent[i] = -1;
	}
}

static bool topo_init(struct topo *t, const struct ctl_pg_list *l)
{
	t->l = l;
	t->n = l->n;
	t->order = calloc(l->n + 1, sizeof(*t->order));
	t->parent = calloc(l->n + 1, sizeof(*t->parent));
	if (!t->order || !t->parent) {
		free(t->order);
		free(t->parent);
		return false;
	}
	for (size_t i = 0; i < l->n; i++)
		t->order[i] = &l->members[i];
	qsort(t->order, t->n, sizeof(*t->order), by_name);
	int leader = find(t, l->leader);
	if (leader > 0) { /* the primary first: the tree's root */
		const struct member *m = t->order[leader];
		memmove(t->order + 1, t->order,
			(size_t)leader * sizeof(*t->order));
		t->order[0] = m;
	}
	link_parents(t);
	return true;
}

static void topo_free(struct topo *t)
{
	free(t->order);
	free(t->parent);
}

static char *cell(const char *s)
{
	struct client_str c = { s, strlen(s) };
	return ctl_cell(c);
}

static void table_rows(const struct topo *t, struct ctl_table *tab, int root,
		       int depth)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->parent[i] != root)
			continue;
		const struct member *m = t->order[i];
		char name[MEMBER_STR_MAX + 64] = "", lag[32] = "";
		for (int d = 1; d < depth && strlen(name) + 3 < sizeof(name);
		     d++)
			strcat(name, "  ");
		snprintf(name + strlen(name), sizeof(name) - strlen(name),
			 "%s%s", depth ? "+ " : "", m->name);
		const char *role = roster_role(m, t->l->leader);
		if (strcmp(role, "primary") != 0)
			snprintf(lag, sizeof(lag), "%llu",
				 (unsigned long long)((m->lag_bytes +
						       (1u << 19)) >>
						      20));
		char *cells[5] = { cell(name), cell(m->pg), cell(role),
				   cell(m->state), cell(lag) };
		ctl_table_row(tab, (const char *const *)cells);
		for (size_t k = 0; k < 5; k++)
			free(cells[k]);
		table_rows(t, tab, (int)i, depth + 1);
	}
}

static void json_node(const struct topo *t, struct json *j, size_t i)
{
	const struct member *m = t->order[i];
	const char *role = roster_role(m, t->l->leader);
	json_object(j);
	json_key(j, "name");
	json_str(j, m->name, strlen(m->name));
	json_key(j, "role");
	json_str(j, role, strlen(role));
	json_key(j, "state");
	json_str(j, m->state, strlen(m->state));
	json_key(j, "host");
	json_str(j, m->pg, strlen(m->pg));
	json_key(j, "lag_bytes");
	json_u64(j, m->lag_bytes);
	json_key(j, "replicas");
	json_list(j);
	for (size_t k = 0; k < t->n; k++)
		if (t->parent[k] == (int)i)
			json_node(t, j, k);
	json_end(j);
	json_end(j);
}

void ctl_pg_print_topology(FILE *f, enum ctl_format fmt,
			   const struct ctl_pg_list *l)
{
	struct topo t;
	if (!topo_init(&t, l)) {
		fprintf(stderr, CTL_PROG ": out of memory\n");
		exit(CTL_EXIT_ERROR);
	}
	if (fmt == CTL_JSON) {
		struct json j;
		json_init_file(&j, f, 0);
		json_list(&j);
		for (size_t i = 0; i < t.n; i++)
			if (t.parent[i] < 0)
				json_node(&t, &j, i);
		json_end(&j);
	} else {
		static const char *const head[] = { "MEMBER", "HOST", "ROLE",
						    "STATE", "LAG_MB" };
		struct ctl_table tab;
		fprintf(f, "Cluster: %s (%s%s)\n", l->scope,
			l->leader[0] ? "leader " : "no leader", l->leader);
		ctl_table_init(&tab, 5, head);
		table_rows(&t, &tab, -1, 0);
		ctl_table_print(&tab, f);
		ctl_table_free(&tab);
	}
	topo_free(&t);
}

/* ---- dsn ----------------------------------------------------------------- */

const struct member *ctl_pg_dsn_member(const struct ctl_pg_list *l,
				       const char *node, const char *role)
{
	const struct member *best = NULL;
	for (size_t i = 0; i < l->n; i++) {
		const struct member *m = &l->members[i];
		const char *r = roster_role(m, l->leader);
		if (node) {
			if (strcmp(m->name, node) == 0)
				return m;
			continue;
		}
		if (strcmp(role, "primary") == 0) {
			if (strcmp(r, "primary") == 0)
				return m;
			continue;
		}
		if (strcmp(r, "replica") != 0 || !m->healthy ||
		    strcmp(m->state, "streaming") != 0)
			continue;
		if (!best || m->lag_bytes < best->lag_bytes ||
		    (m->lag_bytes == best->lag_bytes &&
		     strcmp(m->name, best->name) < 0))
			best = m;
	}
	return best;
}

/* " key=value", the value quoted only when libpq needs it (empty, spaces,
 * quotes, backslashes): what a person types, and what libpq reads. */
static void dsn_append(char *buf, size_t cap, const char *key,
		       const char *value)
{
	size_t o = strlen(buf);
	bool plain = value[0] && !strpbrk(value, " \t\n'\\");
	o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, "%s%s=%s",
			      o ? " " : "", key, plain ? "" : "'");
	for (const char *v = value; !plain && *v && o + 2 < cap; v++) {
		if (*v == '\'' || *v == '\\')
			buf[o++] = '\\';
		buf[o++] = *v;
		buf[o] = '\0';
	}
	if (plain)
		snprintf(buf + o, o < cap ? cap - o : 0, "%s", value);
	else if (o + 1 < cap)
		snprintf(buf + o, cap - o, "'");
}

const char *ctl_pg_dsn_format(const struct member *m, const char *dbname,
			      const char *user, char *buf, size_t cap)
{
	char host[MEMBER_STR_MAX];
	const char *colon = strrchr(m->pg, ':');
	size_t n = colon ? (size_t)(colon - m->pg) : strlen(m->pg);
	snprintf(host, sizeof(host), "%.*s", (int)n, m->pg);
	/* "[::1]:5432": libpq wants the address without brackets */
	if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	buf[0] = '\0';
	dsn_append(buf, cap, "host", host);
	dsn_append(buf, cap, "port", colon ? colon + 1 : "5432");
	if (dbname)
		dsn_append(buf, cap, "dbname", dbname);
	if (user)
		dsn_append(buf, cap, "user", user);
	return buf;
}
