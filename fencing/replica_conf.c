/*
 * replica_conf.c — see replica_conf.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/conf_lex.h"
#include "fencing/replica_conf.h"

const char *const replica_key_names[REPLICA_N_KEYS] = {
	"create_replica_methods", "pgbackrest_stanza",      "pgbackrest_config",
	"create_replica_command", "archive_via_pgbackrest",
};

static const char *const method_names[REPLICA_N_METHODS] = {
	"basebackup",
	"pgbackrest",
	"custom",
};

const char *replica_method_name(enum replica_method m)
{
	return (unsigned)m < REPLICA_N_METHODS ? method_names[m] : "?";
}

size_t replica_methods(const struct replica_conf *c,
		       enum replica_method out[REPLICA_N_METHODS])
{
	if (!c->set[REPLICA_KEY_METHODS] || c->n_methods == 0) {
		out[0] = REPLICA_BASEBACKUP;
		return 1;
	}
	memcpy(out, c->methods, c->n_methods * sizeof(out[0]));
	return c->n_methods;
}

static int find_key(const char *key, size_t klen)
{
	for (int i = 0; i < REPLICA_N_KEYS; i++)
		if (strlen(replica_key_names[i]) == klen &&
		    strncmp(replica_key_names[i], key, klen) == 0)
			return i;
	return -1;
}

/* "pgbackrest, basebackup" into c->methods. */
static int parse_methods(struct replica_conf *c, const char *value, char *err,
			 size_t errlen)
{
	size_t n = 0;
	for (const char *p = value; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t l = strcspn(p, " ,");
		if (l == 0)
			break;
		int m = -1;
		for (int i = 0; i < REPLICA_N_METHODS; i++)
			if (strlen(method_names[i]) == l &&
			    strncmp(method_names[i], p, l) == 0)
				m = i;
		if (m < 0) {
			snprintf(err, errlen,
				 "create_replica_methods: unknown method "
				 "\"%.*s\" (pgbackrest, basebackup, custom)",
				 (int)(l < 64 ? l : 64), p);
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			if (c->methods[i] == (enum replica_method)m) {
				snprintf(err, errlen,
					 "create_replica_methods: \"%s\" "
					 "given twice",
					 method_names[m]);
				return -1;
			}
		c->methods[n++] = (enum replica_method)m;
		p += l;
	}
	if (n == 0) {
		snprintf(err, errlen, "create_replica_methods: no method");
		return -1;
	}
	c->n_methods = n;
	return 0;
}

/* A stanza name goes on pgBackRest's command line and into
 * restore_command: no blanks, quotes or shell characters. */
static bool stanza_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      *s == '.'))
			return false;
	return true;
}

/* A config path goes into restore_command (a shell line): an absolute
 * path without quotes, blanks or shell characters. */
static bool path_ok(const char *s)
{
	if (*s != '/')
		return false;
	return strcspn(s, " \t'\"\\$`;&|<>(){}*?!%\n") == strlen(s);
}

static int set_string(char *dst, size_t cap, const char *key, const char *value,
		      char *err, size_t errlen)
{
	if (strlen(value) >= cap) {
		snprintf(err, errlen, "%s: longer than %zu bytes", key,
			 cap - 1);
		return -1;
	}
	snprintf(dst, cap, "%s", value);
	return 0;
}

static int parse_on_off(bool *out, const char *key, const char *value,
			char *err, size_t errlen)
{
	static const char *const on[] = { "on", "true", "yes", "1" };
	static const char *const off[] = { "off", "false", "no", "0" };
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (strcasecmp(value, on[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(value, off[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	snprintf(err, errlen, "%s: on or off, not \"%.64s\"", key, value);
	return -1;
}

static int set_value(struct replica_conf *c, int k, const char *value,
		     char *err, size_t errlen)
{
	const char *key = replica_key_names[k];
	switch (k) {
	case REPLICA_KEY_METHODS:
		return parse_methods(c, value, err, errlen);
	case REPLICA_KEY_STANZA:
		if (!stanza_ok(value)) {
			snprintf(err, errlen,
				 "%s: letters, digits, '_', '-' and '.' only",
				 key);
			return -1;
		}
		return set_string(c->stanza, sizeof(c->stanza), key, value, err,
				  errlen);
	case REPLICA_KEY_CONFIG:
		if (!path_ok(value)) {
			snprintf(err, errlen,
				 "%s: an absolute path without blanks, "
				 "quotes or shell characters",
				 key);
			return -1;
		}
		return set_string(c->config, sizeof(c->config), key, value, err,
				  errlen);
	case REPLICA_KEY_ARCHIVE:
		return parse_on_off(&c->archive, key, value, err, errlen);
	default:
		return set_string(c->command, sizeof(c->command), key, value,
				  err, errlen);
	}
}

int replica_conf_set(struct replica_conf *c, const char *key, size_t klen,
		     const char *value, char *err, size_t errlen)
{
	int k = find_key(key, klen);
	if (k < 0)
		return 0;
	if (!*value) {
		c->set[k] = false;
		if (k == REPLICA_KEY_METHODS)
			c->n_methods = 0;
		return 1;
	}
	if (set_value(c, k, value, err, errlen) != 0)
		return -1;
	c->set[k] = true;
	return 1;
}

/* The line's syntax is common/conf_lex.h's, as every other line of the
 * scope's settings: a line that is not ours is left to the others, even
 * one they will refuse. */
int replica_conf_line(struct replica_conf *c, const char *line, const char *end,
		      char *err, size_t errlen)
{
	char value[1100];
	int k = conf_lex_named(line, end, replica_key_names, REPLICA_N_KEYS,
			       value, sizeof(value), err, errlen);
	if (k < 0)
		return k == -1 ? 0 : -1;
	if (!*value) {
		snprintf(err, errlen, "%s: expected a value",
			 replica_key_names[k]);
		return -1;
	}
	const char *key = replica_key_names[k];
	return replica_conf_set(c, key, strlen(key), value, err, errlen);
}

int replica_conf_check(const struct replica_conf *c, char *err, size_t errlen)
{
	enum replica_method m[REPLICA_N_METHODS];
	size_t n = replica_methods(c, m);
	if (c->set[REPLICA_KEY_ARCHIVE] && c->archive &&
	    !c->set[REPLICA_KEY_STANZA]) {
		snprintf(err, errlen,
			 "archive_via_pgbackrest: needs pgbackrest_stanza");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (m[i] == REPLICA_PGBACKREST && !c->set[REPLICA_KEY_STANZA]) {
			snprintf(err, errlen,
				 "create_replica_methods: pgbackrest needs "
				 "pgbackrest_stanza");
			return -1;
		}
		if (m[i] == REPLICA_CUSTOM && !c->set[REPLICA_KEY_COMMAND]) {
			snprintf(err, errlen,
				 "create_replica_methods: custom needs "
				 "create_replica_command");
			return -1;
		}
	}
	return 0;
}

void replica_conf_value(const struct replica_conf *c, enum replica_key k,
			char *buf, size_t cap)
{
	const char *values[REPLICA_N_KEYS] = { "", c->stanza, c->config,
					       c->command,
					       c->archive ? "on" : "off" };
	if (!cap)
		return;
	buf[0] = '\0';
	if (!c->set[k])
		return;
	if (k != REPLICA_KEY_METHODS) {
		snprintf(buf, cap, "%s", values[k]);
		return;
	}
	for (size_t i = 0; i < c->n_methods; i++)
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s",
			 i ? "," : "", method_names[c->methods[i]]);
}

bool replica_conf_format(const struct replica_conf *c, char *buf, size_t cap,
			 size_t *len)
{
	char v[1100];
	for (int k = 0; k < REPLICA_N_KEYS; k++) {
		replica_conf_value(c, (enum replica_key)k, v, sizeof(v));
		if (c->set[k] && !conf_lex_put_quoted(buf, cap, len,
						      replica_key_names[k], v))
			return false;
	}
	return true;
}

bool replica_conf_equal(const struct replica_conf *a,
			const struct replica_conf *b)
{
	char x[4096], y[4096];
	size_t lx = 0, ly = 0;
	x[0] = y[0] = '\0';
	replica_conf_format(a, x, sizeof(x), &lx);
	replica_conf_format(b, y, sizeof(y), &ly);
	return strcmp(x, y) == 0;
}

void replica_pgbackrest_argv(struct replica_argv *v,
			     const struct replica_conf *c, const char *datadir)
{
	size_t i = 0;
	snprintf(v->stanza, sizeof(v->stanza), "--stanza=%s", c->stanza);
	snprintf(v->config, sizeof(v->config), "--config=%s", c->config);
	snprintf(v->path, sizeof(v->path), "--pg1-path=%s", datadir);
	v->argv[i++] = "pgbackrest";
	v->argv[i++] = v->stanza;
	if (c->config[0])
		v->argv[i++] = v->config;
	v->argv[i++] = "--type=standby";
	v->argv[i++] = "--delta";
	v->argv[i++] = v->path;
	v->argv[i++] = "restore";
	v->argv[i] = NULL;
}

/* pgbackrest with c's stanza and config, this data directory, then
 * what: a command line for Postgres's restore_command or
 * archive_command; false when too long, or datadir holds a character the
 * shell would read inside "". */
static bool pgbackrest_wal_command(const struct replica_conf *c,
				   const char *datadir, const char *what,
				   char *buf, size_t cap)
{
	char config[600] = "";
	if (c->config[0])
		snprintf(config, sizeof(config), " --config=%s", c->config);
	int w = snprintf(buf, cap,
			 "pgbackrest --stanza=%s%s --pg1-path=\"%s\" %s",
			 c->stanza, config, datadir, what);
	return w >= 0 && (size_t)w < cap && !strpbrk(datadir, "\"\\$`");
}

bool replica_restore_command(const struct replica_conf *c, const char *datadir,
			     char *buf, size_t cap)
{
	return pgbackrest_wal_command(c, datadir, "archive-get %f \"%p\"", buf,
				      cap);
}

bool replica_archives(const struct replica_conf *c)
{
	if (!c->set[REPLICA_KEY_STANZA])
		return false;
	return !c->set[REPLICA_KEY_ARCHIVE] || c->archive;
}

bool replica_archive_command(const struct replica_conf *c, const char *datadir,
			     char *buf, size_t cap)
{
	return pgbackrest_wal_command(c, datadir, "archive-push \"%p\"", buf,
				      cap);
}
