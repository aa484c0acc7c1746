/*
 * pg_params.c — see pg_params.h.  The value checks follow guc.c's
 * parse_bool, parse_int, parse_real and the enum lookup of PostgreSQL 15,
 * with its messages, so an operator reads what the server would say.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/conf_lex.h"
#include "fencing/pg_params.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- one line ----------------------------------------------------------- */

int pg_params_line(struct pg_params *p, const char *line, size_t len, char *err,
		   size_t errlen)
{
	struct conf_lexed l;
	char value[PG_HBA_LINE_MAX + PG_PARAM_VALUE_MAX];
	if (conf_lex(line, len, &l, value, sizeof(value), err, errlen) != 0)
		return -1;
	bool hba = conf_lex_key_is(&l, "pg_hba");
	if (l.key_len == 0 ||
	    (!hba && (l.key_len < 3 || strncasecmp(l.key, "pg.", 3) != 0)))
		return 0;
	if (!l.has_value)
		return fail(err, errlen,
			    "missing value for parameter \"%.*s\"; write "
			    "%.*s = VALUE",
			    (int)l.key_len, l.key, (int)l.key_len, l.key);
	char name[PG_PARAM_NAME_MAX + 4];
	snprintf(name, sizeof(name), "%.*s", (int)l.key_len, l.key);
	int rc = hba ? pg_params_hba_add(p, value, err, errlen)
		     : pg_params_set(p, name, value, err, errlen);
	return rc == 0 ? 1 : -1;
}

int pg_params_split(const char *text, size_t len, const char *origin,
		    struct pg_params *p, char *rest, size_t restcap, char *err,
		    size_t errlen)
{
	char why[400];
	size_t out = 0;
	int lineno = 0;
	memset(p, 0, sizeof(*p));
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t l = nl ? (size_t)(nl - (text + at)) : len - at;
		lineno++;
		int rc = pg_params_line(p, text + at, l, why, sizeof(why));
		if (rc < 0)
			return fail(err, errlen, "%s:%d: %s",
				    origin ? origin : "text", lineno, why);
		size_t keep = rc == 1 ? 0 : l;
		if (out + keep + 2 > restcap)
			return fail(err, errlen, "%s: too long",
				    origin ? origin : "text");
		memcpy(rest + out, text + at, keep);
		out += keep;
		rest[out++] = '\n';
		at += l + (nl ? 1 : 0);
	}
	rest[out] = '\0';
	return 0;
}

/* ---- the set ------------------------------------------------------------ */

/* Written by the agent as the roles change (agent_act*.c). */
static const char *const agent_owned[] = {
	"primary_conninfo",
	"primary_slot_name",
	"synchronous_standby_names",
	NULL,
};

static int find(const struct pg_params *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->p[i].name, name) == 0)
			return (int)i;
	return -1;
}

int pg_params_set(struct pg_params *p, const char *name, const char *value,
		  char *err, size_t errlen)
{
	char low[PG_PARAM_NAME_MAX];
	if (strncasecmp(name, "pg.", 3) == 0)
		name += 3;
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(low))
		return fail(err, errlen, "bad parameter name \"pg.%s\"", name);
	for (size_t i = 0; i <= n; i++) {
		char c = (char)tolower((unsigned char)name[i]);
		if (c && !isalnum((unsigned char)c) && c != '_' && c != '.')
			return fail(err, errlen,
				    "bad parameter name \"pg.%s\": letters, "
				    "digits and _ only",
				    name);
		low[i] = c;
	}
	for (size_t k = 0; agent_owned[k]; k++)
		if (strcmp(low, agent_owned[k]) == 0)
			return fail(err, errlen,
				    "pg.%s is set by the agents themselves "
				    "(replication and synchronous standbys)",
				    low);
	int i = find(p, low);
	if (!value || !*value) {
		if (i >= 0) {
			memmove(&p->p[i], &p->p[i + 1],
				(p->n - (size_t)i - 1) * sizeof(p->p[0]));
			p->n--;
		}
		return 0;
	}
	if (strlen(value) >= PG_PARAM_VALUE_MAX || strchr(value, '\n'))
		return fail(err, errlen,
			    "value of pg.%s: at most %d bytes, one line", low,
			    PG_PARAM_VALUE_MAX - 1);
	if (i < 0) {
		if (p->n == PG_PARAMS_MAX)
			return fail(err, errlen,
				    "more than %d Postgres parameters",
				    PG_PARAMS_MAX);
		i = (int)p->n++;
		snprintf(p->p[i].name, sizeof(p->p[i].name), "%s", low);
	}
	snprintf(p->p[i].value, sizeof(p->p[i].value), "%s", value);
	return 0;
}

int pg_params_hba_add(struct pg_params *p, const char *line, char *err,
		      size_t errlen)
{
	if (!*line) {
		p->n_hba = 0;
		return 0;
	}
	if (pg_hba_line_check(line, err, errlen) != 0)
		return -1;
	if (p->n_hba == PG_HBA_MAX)
		return fail(err, errlen, "more than %d pg_hba lines",
			    PG_HBA_MAX);
	snprintf(p->hba[p->n_hba++], PG_HBA_LINE_MAX, "%s", line);
	return 0;
}

const char *pg_params_get(const struct pg_params *p, const char *name)
{
	int i = find(p, name);
	return i < 0 ? NULL : p->p[i].value;
}

/* 'text' with ' doubled. */
static bool put_quoted(char *buf, size_t cap, size_t *len, const char *pre,
		       const char *text)
{
	int w = snprintf(buf + *len, cap - *len, "%s'", pre);
	if (w < 0 || (size_t)w >= cap - *len)
		return false;
	*len += (size_t)w;
	for (const char *s = text; *s; s++) {
		if (*len + 3 >= cap)
			return false;
		if (*s == '\'' || *s == '\\')
			buf[(*len)++] = *s;
		buf[(*len)++] = *s;
	}
	if (*len + 3 >= cap)
		return false;
	buf[(*len)++] = '\'';
	buf[(*len)++] = '\n';
	buf[*len] = '\0';
	return true;
}

bool pg_params_format(const struct pg_params *p, char *buf, size_t cap,
		      size_t *len)
{
	char pre[PG_PARAM_NAME_MAX + 8];
	for (size_t i = 0; i < p->n; i++) {
		snprintf(pre, sizeof(pre), "pg.%s = ", p->p[i].name);
		if (!put_quoted(buf, cap, len, pre, p->p[i].value))
			return false;
	}
	for (size_t i = 0; i < p->n_hba; i++)
		if (!put_quoted(buf, cap, len, "pg_hba = ", p->hba[i]))
			return false;
	return true;
}

bool pg_params_equal(const struct pg_params *a, const struct pg_params *b)
{
	if (a->n != b->n || a->n_hba != b->n_hba)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const char *v = pg_params_get(b, a->p[i].name);
		if (!v || strcmp(v, a->p[i].value) != 0)
			return false;
	}
	for (size_t i = 0; i < a->n_hba; i++)
		if (strcmp(a->hba[i], b->hba[i]) != 0)
			return false;
	return true;
}

void pg_params_merge(struct pg_params *out, const struct pg_params *scope,
		     const struct pg_params *node)
{
	char ignored[8];
	*out = *scope;
	for (size_t i = 0; i < node->n; i++)
		(void)pg_params_set(out, node->p[i].name, node->p[i].value,
				    ignored, sizeof(ignored));
}

/* ---- hot standby -------------------------------------------------------- */

const char *const pg_hot_standby_critical[] = {
	"max_connections",           "max_prepared_transactions",
	"max_locks_per_transaction", "max_wal_senders",
	"max_worker_processes",      NULL,
};

bool pg_param_hot_standby_critical(const char *name)
{
	for (size_t i = 0; pg_hot_standby_critical[i]; i++)
		if (strcmp(pg_hot_standby_critical[i], name) == 0)
			return true;
	return false;
}

void pg_params_floor(struct pg_params *p, const struct pg_params *floor,
		     char *raised, size_t cap)
{
	size_t len = 0;
	char ignored[8];
	raised[0] = '\0';
	for (size_t i = 0; pg_hot_standby_critical[i]; i++) {
		const char *name = pg_hot_standby_critical[i];
		const char *min = pg_params_get(floor, name);
		const char *own = pg_params_get(p, name);
		if (!min || !own)
			continue; /* not set here: the node's own file's */
		/* a value with a unit or junk cannot be compared: the
		 * primary's wins, it is the one known to run */
		char *end;
		long want = strtol(min, &end, 10);
		if (*end)
			continue;
		long have = strtol(own, &end, 10);
		if (!*end && have >= want)
			continue;
		(void)pg_params_set(p, name, min, ignored, sizeof(ignored));
		int w = snprintf(raised + len, cap - len, "%s%s=%s",
				 len ? "," : "", name, min);
		if (w > 0 && (size_t)w < cap - len)
			len += (size_t)w;
	}
}

/* ---- checks against pg_settings ---------------------------------------- */

static const char memory_hint[] =
	"Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", "
	"and \"TB\".";
static const char time_hint[] =
	"Valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", "
	"\"h\", and \"d\".";

struct unit {
	const char *name;
	double size; /* bytes, or milliseconds */
};
static const struct unit memory_units[] = {
	{ "TB", 1099511627776.0 }, { "GB", 1073741824.0 }, { "MB", 1048576.0 },
	{ "kB", 1024.0 },          { "B", 1.0 },           { NULL, 0 },
};
static const struct unit time_units[] = {
	{ "d", 86400000.0 }, { "h", 3600000.0 }, { "min", 60000.0 },
	{ "s", 1000.0 },     { "ms", 1.0 },      { "us", 0.001 },
	{ NULL, 0 },
};

/* The base unit "8kB", "MB", "ms" ... : its size and table; false when
 * the parameter has none. */
static bool base_unit(const char *unit, double *size, const struct unit **table)
{
	if (!unit || !*unit)
		return false;
	char *end;
	double mult = strtod(unit, &end);
	if (end == unit)
		mult = 1;
	for (const struct unit *t = memory_units; t->name; t++)
		if (strcmp(end, t->name) == 0) {
			*size = mult * t->size;
			*table = memory_units;
			return true;
		}
	for (const struct unit *t = time_units; t->name; t++)
		if (strcmp(end, t->name) == 0) {
			*size = mult * t->size;
			*table = time_units;
			return true;
		}
	return false;
}

/* "8MB" with trailing spaces into the base unit; false: unit unknown. */
static bool convert(double v, const char *u, const struct unit *table,
		    double base, double *out)
{
	size_t n = 0;
	while (u[n] && !isspace((unsigned char)u[n]))
		n++;
	for (size_t i = n; u[i]; i++)
		if (!isspace((unsigned char)u[i]))
			return false;
	for (const struct unit *t = table; t->name; t++)
		if (strlen(t->name) == n && strncmp(u, t->name, n) == 0) {
			*out = v * t->size / base;
			return true;
		}
	return false;
}

static int invalid(const char *name, const char *value, const char *hint,
		   char *err, size_t errlen)
{
	return fail(err, errlen,
		    "invalid value for parameter \"%s\": \"%s\"%s%s", name,
		    value, hint ? "; HINT: " : "", hint ? hint : "");
}

/* parse_int / parse_real: the number in the base unit. */
static int parse_number(const struct pg_setting_def *d, const char *value,
			bool integer, double *out, char *err, size_t errlen)
{
	char *end;
	double v;
	errno = 0;
	long iv = strtol(value, &end, 0);
	v = (double)iv;
	if (!integer || *end == '.' || *end == 'e' || *end == 'E' ||
	    errno == ERANGE) {
		errno = 0;
		v = strtod(value, &end);
	}
	if (end == value || errno == ERANGE || isnan(v))
		return invalid(d->name, value, NULL, err, errlen);
	while (isspace((unsigned char)*end))
		end++;
	double base;
	const struct unit *table;
	bool has_unit = base_unit(d->unit, &base, &table);
	if (*end) {
		if (!has_unit)
			return invalid(d->name, value, NULL, err, errlen);
		if (!convert(v, end, table, base, &v))
			return invalid(d->name, value,
				       table == memory_units ? memory_hint
							     : time_hint,
				       err, errlen);
	}
	if (integer) {
		v = rint(v);
		if (v > INT_MAX || v < INT_MIN)
			return invalid(d->name, value,
				       "Value exceeds integer range.", err,
				       errlen);
	}
	*out = v;
	return 0;
}

static int check_number(const struct pg_setting_def *d, const char *value,
			bool integer, char *err, size_t errlen)
{
	double v = 0;
	if (parse_number(d, value, integer, &v, err, errlen) != 0)
		return -1;
	double lo = d->min_val && *d->min_val ? strtod(d->min_val, NULL)
					      : -INFINITY;
	double hi = d->max_val && *d->max_val ? strtod(d->max_val, NULL)
					      : INFINITY;
	if (v >= lo && v <= hi)
		return 0;
	bool unit = d->unit && *d->unit;
	if (integer)
		return fail(err, errlen,
			    "%d%s%s is outside the valid range for parameter "
			    "\"%s\" (%d .. %d)",
			    (int)v, unit ? " " : "", unit ? d->unit : "",
			    d->name, (int)lo, (int)hi);
	return fail(err, errlen,
		    "%g%s%s is outside the valid range for parameter \"%s\" "
		    "(%g .. %g)",
		    v, unit ? " " : "", unit ? d->unit : "", d->name, lo, hi);
}

/* parse_bool: on/off, true/false, yes/no, 1/0 and their unique prefixes. */
static bool parse_bool(const char *v)
{
	static const char *const words[] = { "true", "false", "yes", "no",
					     NULL };
	size_t n = strlen(v);
	if (n == 0)
		return false;
	for (size_t i = 0; words[i]; i++)
		if (strncasecmp(v, words[i], n) == 0)
			return true;
	if (n >= 2 &&
	    (strncasecmp(v, "on", n) == 0 || strncasecmp(v, "off", n) == 0))
		return true;
	return strcmp(v, "1") == 0 || strcmp(v, "0") == 0;
}

static int check_enum(const struct pg_setting_def *d, const char *value,
		      char *err, size_t errlen)
{
	char list[1024], hint[1100];
	size_t n = 0;
	const char *s = d->enumvals ? d->enumvals : "";
	if (*s == '{')
		s++;
	while (*s && *s != '}') {
		size_t w = strcspn(s, ",}");
		const char *word = s;
		size_t wl = w;
		if (wl >= 2 && word[0] == '"') {
			word++;
			wl -= 2;
		}
		if (strlen(value) == wl && strncasecmp(value, word, wl) == 0)
			return 0;
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%.*s",
				      n ? ", " : "", (int)wl, word);
		if (n >= sizeof(list))
			n = sizeof(list) - 1;
		s += w + (s[w] == ',');
	}
	list[n] = '\0';
	snprintf(hint, sizeof(hint), "Available values: %s.", list);
	return invalid(d->name, value, hint, err, errlen);
}

int pg_param_check(const struct pg_setting_def *d, const char *name,
		   const char *value, char *err, size_t errlen)
{
	if (!d)
		return fail(err, errlen,
			    "unrecognized configuration parameter \"%s\"",
			    name);
	if (strcmp(d->vartype, "bool") == 0)
		return parse_bool(value)
			       ? 0
			       : fail(err, errlen,
				      "parameter \"%s\" requires a Boolean "
				      "value",
				      d->name);
	if (strcmp(d->vartype, "integer") == 0)
		return check_number(d, value, true, err, errlen);
	if (strcmp(d->vartype, "real") == 0)
		return check_number(d, value, false, err, errlen);
	if (strcmp(d->vartype, "enum") == 0)
		return check_enum(d, value, err, errlen);
	return 0;
}

/* The n-th whitespace-separated field of line into buf ("" past the
 * end). */
static void hba_field(const char *line, int n, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (const char *s = line; *s;) {
		while (*s && isspace((unsigned char)*s))
			s++;
		size_t w = strcspn(s, " \t");
		if (!w)
			return;
		if (n-- == 0) {
			snprintf(buf, cap, "%.*s", (int)w, s);
			return;
		}
		s += w;
	}
}

/* A host line whose method is trust for an address beyond loopback:
 * the agents refuse Postgres off loopback without passwords, and so
 * does this line. */
static bool trusts_the_network(const char *line)
{
	static const char *const loopback[] = { "127.0.0.1/32", "::1/128",
						"localhost", NULL };
	char addr[128], next[128], method[32];
	hba_field(line, 3, addr, sizeof(addr));
	hba_field(line, 4, next, sizeof(next));
	/* "ADDRESS MASK METHOD" or "ADDRESS/BITS METHOD" */
	bool mask = !strchr(addr, '/') && strpbrk(next, ".:") != NULL;
	hba_field(line, mask ? 5 : 4, method, sizeof(method));
	if (strcmp(method, "trust") != 0)
		return false;
	for (size_t i = 0; loopback[i]; i++)
		if (strcmp(addr, loopback[i]) == 0)
			return false;
	return !(mask && strncmp(addr, "127.", 4) == 0 &&
		 strcmp(next, "255.255.255.255") == 0);
}

int pg_hba_line_check(const char *line, char *err, size_t errlen)
{
	static const char *const types[] = { "local",      "host",
					     "hostssl",    "hostnossl",
					     "hostgssenc", "hostnogssenc",
					     NULL };
	char first[16];
	int fields = 0;
	if (strchr(line, '\n'))
		return fail(err, errlen, "pg_hba: one line per value");
	for (const char *s = line; *s;) {
		while (*s && isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			break;
		size_t w = strcspn(s, " \t");
		if (fields++ == 0)
			snprintf(first, sizeof(first), "%.*s",
				 (int)(w < 15 ? w : 15), s);
		s += w;
	}
	if (fields == 0)
		return fail(err, errlen, "pg_hba: empty line");
	bool known = false;
	for (size_t i = 0; types[i]; i++)
		known = known || strcmp(first, types[i]) == 0;
	if (!known)
		return fail(err, errlen,
			    "pg_hba '%s': invalid connection type \"%s\" "
			    "(local, host, hostssl, hostnossl, hostgssenc, "
			    "hostnogssenc)",
			    line, first);
	if (fields < (strcmp(first, "local") == 0 ? 4 : 5))
		return fail(err, errlen,
			    "pg_hba '%s': too few fields (TYPE DATABASE USER "
			    "%sMETHOD)",
			    line,
			    strcmp(first, "local") == 0 ? "" : "ADDRESS ");
	if (strcmp(first, "local") != 0 && trusts_the_network(line))
		return fail(err, errlen,
			    "pg_hba '%s': trust for addresses beyond loopback "
			    "lets anyone on the network in without a password; "
			    "use scram-sha-256",
			    line);
	return 0;
}
