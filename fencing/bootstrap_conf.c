/*
 * bootstrap_conf.c — see bootstrap_conf.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/conf_lex.h"
#include "fencing/bootstrap_conf.h"

const char *const bootstrap_key_names[BOOTSTRAP_N_KEYS] = {
	"bootstrap_method",
	"bootstrap_target",
	"bootstrap_stanza",
	"bootstrap_command",
};

static const char *const method_names[BOOTSTRAP_N_METHODS] = {
	"initdb",
	"pgbackrest",
	"custom",
};

/* In enum bootstrap_target_kind's order: the prefix of bootstrap_target
 * (none for the latest) and pgBackRest's --type. */
static const char *const target_prefixes[] = { "", "time:", "lsn:", "name:" };
static const char *const target_types[] = { "default", "time", "lsn", "name" };

const char *bootstrap_method_name(enum bootstrap_method m)
{
	return (unsigned)m < BOOTSTRAP_N_METHODS ? method_names[m] : "?";
}

const char *bootstrap_target_type(enum bootstrap_target_kind k)
{
	return (unsigned)k <= TARGET_NAME ? target_types[k] : "?";
}

/* ---- target syntax -------------------------------------------------------- */

/* n digits at *s, as a number in [lo, hi]: *s moves past them. */
static bool digits(const char **s, int n, int lo, int hi)
{
	int v = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (!isdigit((unsigned char)**s))
			return false;
		v = v * 10 + (**s - '0');
	}
	return v >= lo && v <= hi;
}

static bool lit(const char **s, char ch)
{
	if (**s != ch)
		return false;
	(*s)++;
	return true;
}

/* +HH, +HH:MM, +HHMM (or -), Z or UTC, after an optional blank. */
static bool zone_ok(const char *s)
{
	if (*s == ' ')
		s++;
	if (strcmp(s, "Z") == 0 || strcasecmp(s, "UTC") == 0)
		return true;
	if (*s != '+' && *s != '-')
		return false;
	s++;
	if (!digits(&s, 2, 0, 15))
		return false;
	if (!*s)
		return true;
	lit(&s, ':');
	return digits(&s, 2, 0, 59) && !*s;
}

/* YYYY-MM-DD HH:MM[:SS[.frac]] and a zone (zone_ok). */
static bool time_ok(const char *s)
{
	if (!digits(&s, 4, 1, 9999) || !lit(&s, '-') || !digits(&s, 2, 1, 12) ||
	    !lit(&s, '-') || !digits(&s, 2, 1, 31))
		return false;
	if (!lit(&s, ' ') && !lit(&s, 'T'))
		return false;
	if (!digits(&s, 2, 0, 23) || !lit(&s, ':') || !digits(&s, 2, 0, 59))
		return false;
	if (lit(&s, ':')) {
		if (!digits(&s, 2, 0, 60))
			return false;
		if (lit(&s, '.') && !isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return zone_ok(s);
}

/* 1 to 8 hex digits, '/', 1 to 8 hex digits. */
static bool lsn_ok(const char *s)
{
	size_t hi = strspn(s, "0123456789abcdefABCDEF");
	if (hi < 1 || hi > 8 || s[hi] != '/')
		return false;
	s += hi + 1;
	size_t lo = strspn(s, "0123456789abcdefABCDEF");
	return lo >= 1 && lo <= 8 && !s[lo];
}

/* A restore point's name: as pg_create_restore_point takes it (under
 * 64 bytes), printable, without quotes or backslashes (it goes into
 * postgresql.auto.conf between quotes). */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 63)
		return false;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '\'' || *s == '\\')
			return false;
	return true;
}

int bootstrap_target_parse(const char *text, enum bootstrap_target_kind *kind,
			   char *value, size_t cap, char *err, size_t errlen)
{
	static const char *const wants[] = {
		"",
		"YYYY-MM-DD HH:MM[:SS[.frac]] with a zone (+00, +01:00, Z, "
		"UTC)",
		"a WAL position, hex/hex (0/3000000)",
		"a restore point's name: 1-63 printable characters, no quotes "
		"or backslashes",
	};
	for (int k = TARGET_TIME; k <= TARGET_NAME; k++) {
		size_t pl = strlen(target_prefixes[k]);
		if (strncmp(text, target_prefixes[k], pl) != 0)
			continue;
		const char *v = text + pl;
		bool ok = k == TARGET_TIME  ? time_ok(v)
			  : k == TARGET_LSN ? lsn_ok(v)
					    : name_ok(v);
		if (!ok || strlen(v) >= cap) {
			snprintf(err, errlen,
				 "bootstrap_target: \"%.80s\" after \"%s\" is "
				 "not %s",
				 v, target_prefixes[k], wants[k]);
			return -1;
		}
		*kind = (enum bootstrap_target_kind)k;
		snprintf(value, cap, "%s", v);
		return 0;
	}
	if (*text) {
		snprintf(err, errlen,
			 "bootstrap_target: \"%.80s\": expected time:..., "
			 "lsn:..., name:... or '' (the latest)",
			 text);
		return -1;
	}
	*kind = TARGET_LATEST;
	if (cap)
		value[0] = '\0';
	return 0;
}

/* ---- keys ----------------------------------------------------------------- */

static int find_key(const char *key, size_t klen)
{
	for (int i = 0; i < BOOTSTRAP_N_KEYS; i++)
		if (strlen(bootstrap_key_names[i]) == klen &&
		    strncmp(bootstrap_key_names[i], key, klen) == 0)
			return i;
	return -1;
}

static int parse_method(struct bootstrap_conf *c, const char *value, char *err,
			size_t errlen)
{
	for (int i = 0; i < BOOTSTRAP_N_METHODS; i++)
		if (strcmp(method_names[i], value) == 0) {
			c->method = (enum bootstrap_method)i;
			return 0;
		}
	snprintf(err, errlen,
		 "bootstrap_method: unknown method \"%.64s\" (initdb, "
		 "pgbackrest, custom)",
		 value);
	return -1;
}

static int parse_stanza(struct bootstrap_conf *c, const char *value, char *err,
			size_t errlen)
{
	size_t n = strspn(value, "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.");
	if (value[n] || n >= sizeof(c->stanza)) {
		snprintf(err, errlen,
			 "bootstrap_stanza: letters, digits, '_', '-' and "
			 "'.' only, under %zu bytes",
			 sizeof(c->stanza));
		return -1;
	}
	snprintf(c->stanza, sizeof(c->stanza), "%s", value);
	return 0;
}

static int set_value(struct bootstrap_conf *c, int k, const char *value,
		     char *err, size_t errlen)
{
	switch (k) {
	case BOOTSTRAP_KEY_METHOD:
		return parse_method(c, value, err, errlen);
	case BOOTSTRAP_KEY_TARGET:
		return bootstrap_target_parse(value, &c->target_kind, c->target,
					      sizeof(c->target), err, errlen);
	case BOOTSTRAP_KEY_STANZA:
		return parse_stanza(c, value, err, errlen);
	default:
		if (strlen(value) >= sizeof(c->command)) {
			snprintf(err, errlen,
				 "bootstrap_command: longer than %zu bytes",
				 sizeof(c->command) - 1);
			return -1;
		}
		snprintf(c->command, sizeof(c->command), "%s", value);
		return 0;
	}
}

int bootstrap_conf_set(struct bootstrap_conf *c, const char *key, size_t klen,
		       const char *value, char *err, size_t errlen)
{
	int k = find_key(key, klen);
	if (k < 0)
		return 0;
	if (!*value) {
		c->set[k] = false;
		if (k == BOOTSTRAP_KEY_METHOD)
			c->method = BOOTSTRAP_INITDB;
		if (k == BOOTSTRAP_KEY_TARGET)
			c->target_kind = TARGET_LATEST;
		return 1;
	}
	if (set_value(c, k, value, err, errlen) != 0)
		return -1;
	c->set[k] = true;
	return 1;
}

int bootstrap_conf_line(struct bootstrap_conf *c, const char *line,
			const char *end, char *err, size_t errlen)
{
	char value[1100];
	int k = conf_lex_named(line, end, bootstrap_key_names, BOOTSTRAP_N_KEYS,
			       value, sizeof(value), err, errlen);
	if (k < 0)
		return k == -1 ? 0 : -1;
	/* an empty target is a value: the latest */
	if (!*value && k != BOOTSTRAP_KEY_TARGET) {
		snprintf(err, errlen, "%s: expected a value",
			 bootstrap_key_names[k]);
		return -1;
	}
	if (!*value) {
		c->set[k] = true;
		c->target_kind = TARGET_LATEST;
		c->target[0] = '\0';
		return 1;
	}
	const char *key = bootstrap_key_names[k];
	return bootstrap_conf_set(c, key, strlen(key), value, err, errlen);
}

const char *bootstrap_stanza(const struct bootstrap_conf *c,
			     const struct replica_conf *r)
{
	if (c->set[BOOTSTRAP_KEY_STANZA])
		return c->stanza;
	return r->set[REPLICA_KEY_STANZA] ? r->stanza : "";
}

int bootstrap_conf_check(const struct bootstrap_conf *c,
			 const struct replica_conf *r, char *err, size_t errlen)
{
	bool targeted = c->set[BOOTSTRAP_KEY_TARGET] &&
			c->target_kind != TARGET_LATEST;
	if (c->method == BOOTSTRAP_PGBACKREST && !*bootstrap_stanza(c, r)) {
		snprintf(err, errlen,
			 "bootstrap_method: pgbackrest needs bootstrap_stanza "
			 "or pgbackrest_stanza");
		return -1;
	}
	if (c->method == BOOTSTRAP_CUSTOM && !c->set[BOOTSTRAP_KEY_COMMAND]) {
		snprintf(err, errlen,
			 "bootstrap_method: custom needs bootstrap_command");
		return -1;
	}
	if (targeted && c->method == BOOTSTRAP_INITDB) {
		snprintf(err, errlen,
			 "bootstrap_target: needs bootstrap_method = "
			 "pgbackrest (or custom, whose command reads it from "
			 "TENURE_BOOTSTRAP_TARGET)");
		return -1;
	}
	return 0;
}

/* ---- text ----------------------------------------------------------------- */

void bootstrap_conf_value(const struct bootstrap_conf *c, enum bootstrap_key k,
			  char *buf, size_t cap)
{
	if (!cap)
		return;
	buf[0] = '\0';
	if (!c->set[k])
		return;
	switch (k) {
	case BOOTSTRAP_KEY_METHOD:
		snprintf(buf, cap, "%s", method_names[c->method]);
		break;
	case BOOTSTRAP_KEY_TARGET:
		snprintf(buf, cap, "%s%s", target_prefixes[c->target_kind],
			 c->target);
		break;
	case BOOTSTRAP_KEY_STANZA:
		snprintf(buf, cap, "%s", c->stanza);
		break;
	default:
		snprintf(buf, cap, "%s", c->command);
		break;
	}
}

bool bootstrap_conf_format(const struct bootstrap_conf *c, char *buf,
			   size_t cap, size_t *len)
{
	char v[1100];
	for (int k = 0; k < BOOTSTRAP_N_KEYS; k++) {
		if (!c->set[k])
			continue;
		bootstrap_conf_value(c, (enum bootstrap_key)k, v, sizeof(v));
		if (!conf_lex_put_quoted(buf, cap, len, bootstrap_key_names[k],
					 v))
			return false;
	}
	return true;
}

bool bootstrap_conf_equal(const struct bootstrap_conf *a,
			  const struct bootstrap_conf *b)
{
	char x[2400], y[2400];
	size_t lx = 0, ly = 0;
	x[0] = y[0] = '\0';
	bootstrap_conf_format(a, x, sizeof(x), &lx);
	bootstrap_conf_format(b, y, sizeof(y), &ly);
	return strcmp(x, y) == 0;
}

/* ---- the restore ---------------------------------------------------------- */

void bootstrap_pgbackrest_argv(struct bootstrap_argv *v,
			       const struct bootstrap_conf *c,
			       const struct replica_conf *r,
			       const char *datadir)
{
	size_t i = 0;
	snprintf(v->stanza, sizeof(v->stanza), "--stanza=%s",
		 bootstrap_stanza(c, r));
	snprintf(v->config, sizeof(v->config), "--config=%s", r->config);
	snprintf(v->path, sizeof(v->path), "--pg1-path=%s", datadir);
	snprintf(v->type, sizeof(v->type), "--type=%s",
		 target_types[c->target_kind]);
	snprintf(v->target, sizeof(v->target), "--target=%s", c->target);
	v->argv[i++] = "pgbackrest";
	v->argv[i++] = v->stanza;
	if (r->set[REPLICA_KEY_CONFIG] && r->config[0])
		v->argv[i++] = v->config;
	v->argv[i++] = v->path;
	v->argv[i++] = "--delta";
	v->argv[i++] = v->type;
	if (c->target_kind != TARGET_LATEST) {
		v->argv[i++] = v->target;
		v->argv[i++] = "--target-action=promote";
	}
	v->argv[i++] = "restore";
	v->argv[i] = NULL;
}
