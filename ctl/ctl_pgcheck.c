/*
 * ctl_pgcheck.c — edit-config asks the primary's Postgres whether the
 * parameters it is about to write are valid, before anything is written:
 * its own pg_settings rows (pg_params.h words the refusals as the server
 * does), and for the parameters a session may set, the server itself
 * (set_config in a transaction rolled back), which also runs their check
 * hooks.  The agents check again when they apply.
 *
 * Connects with libpq to the primary's "pg" address from its member
 * record, as --pg-user (default PGUSER, else postgres) to --pg-database
 * (default postgres); a password comes from PGPASSWORD or ~/.pgpass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ctl/ctl.h"
#include "ctl/ctl_pg.h"
#include "fencing/pg_params.h"

#define SETTINGS_SQL                                                        \
	"SELECT name, vartype, coalesce(unit, ''), coalesce(min_val, ''), " \
	"coalesce(max_val, ''), coalesce(enumvals::text, ''), context "     \
	"FROM pg_settings"

/* "host:port" or "[v6]:port" into host and port. */
static bool split_addr(const char *addr, char *host, size_t hcap, char *port,
		       size_t pcap)
{
	const char *colon = strrchr(addr, ':');
	if (!colon)
		return false;
	const char *h = addr;
	size_t hl = (size_t)(colon - addr);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	snprintf(host, hcap, "%.*s", (int)hl, h);
	snprintf(port, pcap, "%s", colon + 1);
	return hl > 0 && colon[1];
}

static PGconn *connect_to(struct ctl *c, const struct member *m, char *err,
			  size_t errlen)
{
	char host[MEMBER_STR_MAX], port[16];
	if (!split_addr(m->pg, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "%s has no Postgres address", m->name);
		return NULL;
	}
	const char *user = ctl_opt(c, "pg-user");
	if (!user)
		user = getenv("PGUSER");
	const char *db = ctl_opt(c, "pg-database");
	const char *const keys[] = { "host",
				     "port",
				     "user",
				     "dbname",
				     "connect_timeout",
				     "application_name",
				     NULL };
	const char *const vals[] = { host,
				     port,
				     user && *user ? user : "postgres",
				     db ? db : "postgres",
				     "5",
				     "tenurectl-edit-config",
				     NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 0);
	if (!pg || PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, errlen, "connecting to %s's Postgres (%s): %s",
			 m->name, m->pg, pg ? PQerrorMessage(pg) : "no memory");
		char *nl = strchr(err, '\n');
		if (nl)
			*nl = '\0';
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

static const struct pg_setting_def *find_def(struct pg_setting_def *defs, int n,
					     const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

/* The server's own verdict on a value a session may set (its check hooks
 * included): "" when it accepts it. */
static void server_verdict(PGconn *pg, const char *name, const char *value,
			   char *err, size_t errlen)
{
	const char *params[] = { name, value };
	err[0] = '\0';
	PQclear(PQexec(pg, "BEGIN"));
	PGresult *r = PQexecParams(pg, "SELECT set_config($1, $2, true)", 2,
				   NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *msg = PQresultErrorField(r,
						     PG_DIAG_MESSAGE_PRIMARY);
		const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
		const char *detail = PQresultErrorField(r,
							PG_DIAG_MESSAGE_DETAIL);
		snprintf(err, errlen, "%s%s%s%s%s", msg ? msg : "refused",
			 detail ? "; DETAIL: " : "", detail ? detail : "",
			 hint ? "; HINT: " : "", hint ? hint : "");
	}
	PQclear(r);
	PQclear(PQexec(pg, "ROLLBACK"));
}

/* Every parameter of p checked; the refusals printed.  0 or -1. */
static int check_all(PGconn *pg, PGresult *rows, const struct pg_params *p,
		     const char *node)
{
	int n = PQntuples(rows), bad = 0;
	struct pg_setting_def *defs = calloc((size_t)n + 1, sizeof(*defs));
	if (!defs)
		return -1;
	for (int i = 0; i < n; i++)
		defs[i] = (struct pg_setting_def){
			PQgetvalue(rows, i, 0), PQgetvalue(rows, i, 1),
			PQgetvalue(rows, i, 2), PQgetvalue(rows, i, 3),
			PQgetvalue(rows, i, 4), PQgetvalue(rows, i, 5),
			PQgetvalue(rows, i, 6),
		};
	for (size_t i = 0; i < p->n; i++) {
		char err[1200];
		const struct pg_setting_def *d = find_def(defs, n,
							  p->p[i].name);
		int rc = pg_param_check(d, p->p[i].name, p->p[i].value, err,
					sizeof(err));
		if (rc == 0 && (strcmp(d->context, "user") == 0 ||
				strcmp(d->context, "superuser") == 0)) {
			server_verdict(pg, p->p[i].name, p->p[i].value, err,
				       sizeof(err));
			rc = err[0] ? -1 : 0;
		}
		if (rc != 0) {
			fprintf(stderr,
				CTL_PROG
				": pg.%s: %s (said by %s's Postgres)\n",
				p->p[i].name, err, node);
			bad++;
		}
	}
	free(defs);
	return bad ? -1 : 0;
}

int ctl_pg_check_params(struct ctl *c, const char *scope,
			const struct pg_params *p)
{
	struct member primary;
	bool found;
	char err[600];
	if (p->n == 0)
		return 0;
	int code = ctl_pg_primary_member(c, scope, &primary, &found);
	if (code)
		return code;
	if (!found) {
		fprintf(stderr, CTL_PROG
			": no primary to check the Postgres parameters "
			"with; nothing written\nHint: --no-pg-check "
			"writes them unchecked (each agent checks "
			"them and refuses bad ones).\n");
		return CTL_EXIT_ERROR;
	}
	PGconn *pg = connect_to(c, &primary, err, sizeof(err));
	if (!pg) {
		fprintf(stderr,
			CTL_PROG ": %s; nothing written\nHint: --pg-user, "
				 "PGPASSWORD or ~/.pgpass let tenurectl check "
				 "the parameters; --no-pg-check writes them "
				 "unchecked (each agent checks them and "
				 "refuses bad ones).\n",
			err);
		return CTL_EXIT_ERROR;
	}
	PGresult *rows = PQexec(pg, SETTINGS_SQL);
	int rc = -1;
	if (PQresultStatus(rows) == PGRES_TUPLES_OK)
		rc = check_all(pg, rows, p, primary.name);
	else
		fprintf(stderr, CTL_PROG ": reading pg_settings on %s: %s",
			primary.name, PQerrorMessage(pg));
	PQclear(rows);
	PQfinish(pg);
	if (rc != 0) {
		fprintf(stderr, CTL_PROG ": nothing written\n");
		return CTL_EXIT_ERROR;
	}
	return 0;
}
