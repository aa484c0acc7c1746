/*
 * pg_params.h — PostgreSQL parameters and pg_hba lines kept with the
 * scope-wide settings (SCOPE/config) and in an agent's own file:
 *
 *   pg.work_mem = 8MB                 # any postgresql.conf parameter
 *   pg.shared_buffers = '256MB'
 *   pg_hba = 'host all all 10.0.0.0/8 scram-sha-256'   # repeatable, in order
 *
 * Contract
 * --------
 * Lines use the file syntax of common/conf.h (`key = value`, '=' optional,
 * '#' comments, single-quoted values).  A name is [a-z0-9_] after "pg.",
 * lower-cased as PostgreSQL does; a name given twice keeps its last value.
 * pg_hba lines keep their order and are not merged with anything.
 *
 * The values are checked against the server's own pg_settings rows
 * (pg_param_check): unknown names, booleans, integers and reals with their
 * units and ranges, and enums are refused with PostgreSQL's own wording
 * (guc.c).  String parameters are accepted as they are: only the server
 * knows their checks (a bad one is logged by it at reload).
 *
 * Precedence (pg_params_merge): the node's own file wins over SCOPE/config;
 * then, on a standby, the hot-standby-critical parameters never go below
 * the primary's running values (pg_params_floor), since PostgreSQL 15
 * refuses to run a hot standby with lower ones.
 *
 * Pure functions, no I/O, no global state.  Errors: 0 or -1 with one line
 * in err.
 */
#ifndef TENURE_FENCING_PG_PARAMS_H
#define TENURE_FENCING_PG_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#define PG_PARAMS_MAX 64
#define PG_PARAM_NAME_MAX 64
#define PG_PARAM_VALUE_MAX 256
#define PG_HBA_MAX 32
#define PG_HBA_LINE_MAX 256

struct pg_param {
	char name[PG_PARAM_NAME_MAX]; /* without "pg." */
	char value[PG_PARAM_VALUE_MAX];
};

struct pg_params {
	size_t n;
	struct pg_param p[PG_PARAMS_MAX];
	size_t n_hba;
	char hba[PG_HBA_MAX][PG_HBA_LINE_MAX];
};

/* One line of text: 1 when its key is pg.NAME or pg_hba (added to *p), 0
 * when it is another key, a comment or blank, -1 on an error. */
int pg_params_line(struct pg_params *p, const char *line, size_t len, char *err,
		   size_t errlen);

/* Every pg line of text into *p (zeroed first); rest gets text with those
 * lines blanked (line numbers kept) for common/conf.h.  Errors are
 * "origin:LINE: ...". */
int pg_params_split(const char *text, size_t len, const char *origin,
		    struct pg_params *p, char *rest, size_t restcap, char *err,
		    size_t errlen);

/* name (with or without "pg.") to value; value NULL or "" removes it. */
int pg_params_set(struct pg_params *p, const char *name, const char *value,
		  char *err, size_t errlen);
/* Appends one pg_hba line; "" removes them all. */
int pg_params_hba_add(struct pg_params *p, const char *line, char *err,
		      size_t errlen);
/* The value of name, or NULL. */
const char *pg_params_get(const struct pg_params *p, const char *name);

/* `pg.NAME = 'value'` then `pg_hba = '...'` lines appended at buf+*len;
 * false when they do not fit. */
bool pg_params_format(const struct pg_params *p, char *buf, size_t cap,
		      size_t *len);
bool pg_params_equal(const struct pg_params *a, const struct pg_params *b);

/* scope's parameters with node's over them (node's file wins); pg_hba
 * lines are scope's. */
void pg_params_merge(struct pg_params *out, const struct pg_params *scope,
		     const struct pg_params *node);

/* The parameters a hot standby needs at least as high as its primary's. */
bool pg_param_hot_standby_critical(const char *name);
extern const char *const pg_hot_standby_critical[];

/* On a standby: each hot-standby-critical parameter *p sets becomes
 * max(its value, floor's value) when floor (the primary's running value,
 * plain integers) names it.  Values added or raised are listed in
 * raised ("name=value,..."), "" when none. */
void pg_params_floor(struct pg_params *p, const struct pg_params *floor,
		     char *raised, size_t cap);

/* One pg_settings row (text as the server returns it). */
struct pg_setting_def {
	const char *name;
	const char *vartype;  /* bool, integer, real, string, enum */
	const char *unit;     /* "", "8kB", "kB", "MB", "ms", "s", "min" */
	const char *min_val;  /* "" when none */
	const char *max_val;  /* "" when none */
	const char *enumvals; /* "{a,b,c}" or "" */
	const char *context;  /* postmaster, sighup, user, ... */
};

/* value for the parameter d describes (d NULL: no such parameter):
 * 0, or -1 with the server's message, as guc.c words it ("invalid value
 * for parameter \"work_mem\": \"8XB\"; HINT: Valid units ..."). */
int pg_param_check(const struct pg_setting_def *d, const char *name,
		   const char *value, char *err, size_t errlen);

/* A pg_hba line has a connection type and enough fields: 0 or -1. */
int pg_hba_line_check(const char *line, char *err, size_t errlen);

#endif
