/*
 * scope_conf.c — see scope_conf.h.  The parsing is common/conf.c's, so
 * SCOPE/config reads exactly like the agent's own file and its errors
 * read alike too.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fencing/scope_conf.h"
#include "fencing/stanza_borrow.h"

static const char *const on_off[] = { "off", "on", NULL };

#define OPT(k, t, d, lo, hi, h, f)                                   \
	{                                                            \
		.key = k, .type = t, .def = d, .min = lo, .max = hi, \
		.help = h, .offset = offsetof(struct scope_conf, f)  \
	}

/* In enum scope_key's order. */
static const struct conf_option table[SCOPE_N_KEYS] = {
	{ .key = "synchronous_mode",
	  .type = CONF_ENUM,
	  .def = "on",
	  .help = "on: no acknowledged commit is lost in a failover",
	  .choices = on_off,
	  .offset = offsetof(struct scope_conf, synchronous_mode) },
	OPT("synchronous_node_count", CONF_INT, "1", 1, 16,
	    "synchronous mode: standbys each commit waits for",
	    synchronous_node_count),
	{ .key = "synchronous_mode_strict",
	  .type = CONF_ENUM,
	  .def = "off",
	  .help = "synchronous mode: on, with no synchronous standby "
		  "connected, writes wait; off: they go on unreplicated",
	  .choices = on_off,
	  .offset = offsetof(struct scope_conf, synchronous_mode_strict) },
	OPT("maximum_lag_on_failover", CONF_SIZE, "1MB", 0, INT64_MAX,
	    "asynchronous mode: a standby further behind is not promoted",
	    maximum_lag_on_failover),
	OPT("lease_ttl", CONF_DURATION_MS, "2500ms", 1000, 600000,
	    "primary and member lease TTL (new leases only)", lease_ttl),
	OPT("renew_interval", CONF_DURATION_MS, "500ms", 50, 60000,
	    "how often leases are renewed and nodes observed", renew_interval),
	OPT("member_slots_ttl", CONF_DURATION_MS, "30min", 0,
	    30LL * 24 * 3600 * 1000,
	    "a member whose key is gone this long loses its slot on the "
	    "primary",
	    member_slots_ttl),
	OPT("max_slot_wal_keep_size", CONF_SIZE, "10GB", 0, INT64_MAX,
	    "most WAL the slots may hold back on a node (0: no bound)",
	    max_slot_wal_keep_size),
	OPT("maintenance_mode", CONF_BOOL, "off", 0, 0,
	    "no automatic failover (the key SCOPE/pause)", maintenance_mode),
};

const struct conf_option *scope_conf_table(size_t *n)
{
	*n = SCOPE_N_KEYS;
	return table;
}

int scope_conf_set_slot(struct scope_conf *c, const char *name,
			const char *value, char *err, size_t errlen)
{
	struct slot_spec spec;
	size_t i = 0;
	while (i < c->n_slots && strcmp(c->slots[i].name, name) != 0)
		i++;
	if (!*value) {
		if (i < c->n_slots)
			memmove(&c->slots[i], &c->slots[i + 1],
				(c->n_slots - i - 1) * sizeof(c->slots[0]));
		c->n_slots -= i < c->n_slots;
		return 0;
	}
	if (slot_spec_parse(name, value, &spec, err, errlen) != 0)
		return -1;
	if (i == SCOPE_MAX_SLOTS) {
		snprintf(err, errlen, "more than %d permanent slots",
			 SCOPE_MAX_SLOTS);
		return -1;
	}
	c->slots[i] = spec;
	c->n_slots += i == c->n_slots;
	return 0;
}

/* Blanks and an optional pair of single quotes trimmed off [*s, *e). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s &&
	       ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r'))
		(*e)--;
	if (*e - *s >= 2 && **s == '\'' && (*e)[-1] == '\'') {
		(*s)++;
		(*e)--;
	}
}

/* One `slot.NAME = VALUE` line (with an optional '#' comment): into *out.
 * 1 taken, 0 not a slot line, -1 an error in err. */
static int slot_line(const char *line, const char *end, struct scope_conf *out,
		     char *err, size_t errlen)
{
	const char *s = line, *hash = memchr(line, '#', (size_t)(end - line));
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	size_t plen = strlen(SCOPE_SLOT_PREFIX);
	if ((size_t)(end - s) < plen || strncmp(s, SCOPE_SLOT_PREFIX, plen))
		return 0;
	if (hash)
		end = hash;
	const char *eq = memchr(s, '=', (size_t)(end - s));
	const char *ke = eq ? eq : end, *vs = eq ? eq + 1 : end;
	char name[SLOT_NAME_MAX + 8] = "", value[256] = "";
	s += plen;
	trim(&s, &ke);
	trim(&vs, &end);
	if (ke - s < (long)sizeof(name))
		snprintf(name, sizeof(name), "%.*s", (int)(ke - s), s);
	if (end - vs < (long)sizeof(value))
		snprintf(value, sizeof(value), "%.*s", (int)(end - vs), vs);
	if (!*value) {
		snprintf(err, errlen, "slot.%s: expected a value", name);
		return -1;
	}
	return scope_conf_set_slot(out, name, value, err, errlen) ? -1 : 1;
}

/* The slot lines and the replica creation lines (their values are
 * strings, kept in fixed buffers: conf.c's strings are malloc'ed) of buf
 * (len bytes, NUL-terminated) taken into out and
 * blanked, so that the next steps do not see them and the line numbers
 * of their messages stay right.  0 or -1 with the message in err. */
static int take_slot_lines(char *buf, size_t len, const char *origin,
			   struct scope_conf *out, char *err, size_t errlen)
{
	char why[300];
	int lineno = 1;
	for (char *p = buf; p < buf + len; lineno++) {
		char *nl = memchr(p, '\n', (size_t)(buf + len - p));
		char *end = nl ? nl : buf + len;
		int taken = slot_line(p, end, out, why, sizeof(why));
		if (taken == 0)
			taken = replica_conf_line(&out->replica, p, end, why,
						  sizeof(why));
		if (taken == 0)
			taken = standby_cluster_line(&out->standby, p, end, why,
						     sizeof(why));
		if (taken == 0)
			taken = bootstrap_conf_line(&out->bootstrap, p, end,
						    why, sizeof(why));
		if (taken < 0) {
			snprintf(err, errlen, "%s:%d: %s",
				 origin ? origin : "text", lineno, why);
			return -1;
		}
		if (taken)
			memset(p, ' ', (size_t)(end - p));
		p = end + 1;
	}
	return 0;
}

int scope_conf_parse(const char *text, size_t len, const char *origin,
		     struct scope_conf *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	size_t cap = 2 * len + 2; /* every line may gain its newline */
	char *slotless = malloc(len + 1), *rest = malloc(cap);
	if (!slotless || !rest) {
		free(slotless);
		free(rest);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(slotless, text, len);
	slotless[len] = '\0';
	/* slot lines, then pg. and pg_hba lines, then conf.c's keys */
	int rc = take_slot_lines(slotless, len, origin, out, err, errlen);
	if (rc == 0)
		rc = pg_params_split(slotless, len, origin, &out->pg, rest, cap,
				     err, errlen);
	if (rc == 0 &&
	    conf_parse_text(table, SCOPE_N_KEYS, rest, strlen(rest), origin,
			    out, out->set, err, errlen) != CONF_OK)
		rc = -1;
	free(slotless);
	free(rest);
	return rc;
}

/* Key name as typed ("renew-interval", "Lease_TTL") into table form. */
static const struct conf_option *find_key(const char *name, size_t len)
{
	char key[64];
	if (len == 0 || len >= sizeof(key))
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		key[i] = ch == '-'                ? '_'
			 : ch >= 'A' && ch <= 'Z' ? ch + 32
						  : ch;
	}
	key[len] = '\0';
	for (size_t i = 0; i < SCOPE_N_KEYS; i++)
		if (strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

/* conf.c's message for a key it does not know (with "did you mean"). */
static int unknown(const char *name, size_t len, char *err, size_t errlen)
{
	struct scope_conf scratch;
	char line[160];
	snprintf(line, sizeof(line), "%.*s = 0", (int)(len < 100 ? len : 100),
		 name);
	memset(&scratch, 0, sizeof(scratch));
	if (conf_parse_text(table, SCOPE_N_KEYS, line, strlen(line), NULL,
			    &scratch, scratch.set, err, errlen) == CONF_OK)
		snprintf(err, errlen, "unrecognized setting \"%.*s\"", (int)len,
			 name);
	return -1;
}

int scope_conf_assign(struct scope_conf *c, const char *assignment, char *err,
		      size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	if (!eq) {
		snprintf(err, errlen,
			 "--set '%s': expected KEY=VALUE (KEY= "
			 "removes the key)",
			 assignment);
		return -1;
	}
	size_t klen = (size_t)(eq - assignment);
	while (klen > 0 && assignment[klen - 1] == ' ')
		klen--;
	const char *value = eq + 1;
	while (*value == ' ')
		value++;
	size_t plen = strlen(SCOPE_SLOT_PREFIX);
	if (klen > plen && strncmp(assignment, SCOPE_SLOT_PREFIX, plen) == 0) {
		char name[SLOT_NAME_MAX + 8];
		snprintf(name, sizeof(name), "%.*s", (int)(klen - plen),
			 assignment + plen);
		return scope_conf_set_slot(c, name, value, err, errlen);
	}
	if (klen == 6 && strncasecmp(assignment, "pg_hba", 6) == 0)
		return pg_params_hba_add(&c->pg, value, err, errlen);
	if (klen > 3 && strncasecmp(assignment, "pg.", 3) == 0) {
		char name[PG_PARAM_NAME_MAX + 4];
		snprintf(name, sizeof(name), "%.*s", (int)klen, assignment);
		return pg_params_set(&c->pg, name, value, err, errlen);
	}
	char rkey[64];
	snprintf(rkey, sizeof(rkey), "%.*s", (int)(klen < 63 ? klen : 63),
		 assignment);
	for (char *k = rkey; *k; k++)
		*k = *k == '-' ? '_' : *k >= 'A' && *k <= 'Z' ? *k + 32 : *k;
	int taken = replica_conf_set(&c->replica, rkey, strlen(rkey), value,
				     err, errlen);
	if (!taken)
		taken = standby_cluster_set(&c->standby, rkey, strlen(rkey),
					    value, err, errlen);
	if (!taken)
		taken = bootstrap_conf_set(&c->bootstrap, rkey, strlen(rkey),
					   value, err, errlen);
	if (taken)
		return taken < 0 ? -1 : 0;
	const struct conf_option *o = find_key(assignment, klen);
	if (!o)
		return unknown(assignment, klen, err, errlen);
	size_t i = (size_t)(o - table);
	if (!*value) {
		c->set[i] = false;
		return 0;
	}
	if (conf_set_value(o, value, c, err, errlen) != CONF_OK)
		return -1;
	c->set[i] = true;
	return 0;
}

int scope_conf_check(const struct scope_conf *c, int64_t ttl, int64_t renew,
		     int64_t fence_time, int64_t pause_margin,
		     int64_t drift_ppm, char *err, size_t errlen)
{
	if (c->set[SCOPE_LEASE_TTL])
		ttl = c->lease_ttl;
	if (c->set[SCOPE_RENEW_INTERVAL])
		renew = c->renew_interval;
	int64_t usable = ttl - ttl * 2 * drift_ppm / 1000000 - fence_time -
			 pause_margin;
	if (usable < 3 * renew) {
		snprintf(err, errlen,
			 "lease_ttl %lld ms leaves %lld ms of "
			 "validity after fence_time (%lld ms) and pause_margin "
			 "(%lld ms): that must be at least 3 x renew_interval "
			 "(%lld ms); raise lease_ttl or lower renew_interval",
			 (long long)ttl, (long long)usable,
			 (long long)fence_time, (long long)pause_margin,
			 (long long)renew);
		return -1;
	}
	if (replica_conf_check(&c->replica, err, errlen) != 0)
		return -1;
	if (standby_cluster_check(&c->standby, err, errlen) != 0 ||
	    stanza_borrow_check(&c->standby, &c->bootstrap, &c->replica, err,
				errlen) != 0)
		return -1;
	return bootstrap_conf_check(&c->bootstrap, &c->replica, err, errlen);
}

void scope_conf_value(const struct scope_conf *c, enum scope_key i, char *buf,
		      size_t cap)
{
	if (!conf_format_value(&table[i], c, buf, cap) && cap)
		buf[0] = '\0';
}

bool scope_conf_format(const struct scope_conf *c, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < SCOPE_N_KEYS; i++) {
		if (!c->set[i] || i == SCOPE_MAINTENANCE_MODE)
			continue;
		char v[64];
		scope_conf_value(c, (enum scope_key)i, v, sizeof(v));
		int w = snprintf(buf + len, cap - len, "%s = %s\n",
				 table[i].key, v);
		if (w < 0 || (size_t)w >= cap - len)
			return false;
		len += (size_t)w;
	}
	if (!replica_conf_format(&c->replica, buf, cap, &len) ||
	    !standby_cluster_format(&c->standby, buf, cap, &len) ||
	    !bootstrap_conf_format(&c->bootstrap, buf, cap, &len))
		return false;
	for (size_t i = 0; i < c->n_slots; i++) {
		char v[160];
		slot_spec_value(&c->slots[i], v, sizeof(v));
		int w = snprintf(buf + len, cap - len, "%s%s = %s\n",
				 SCOPE_SLOT_PREFIX, c->slots[i].name, v);
		if (w < 0 || (size_t)w >= cap - len)
			return false;
		len += (size_t)w;
	}
	return pg_params_format(&c->pg, buf, cap, &len);
}
