/*
 * standby_cluster.c — see standby_cluster.h.
 */
#include <stdio.h>
#include <string.h>

#include "common/conf_lex.h"
#include "fencing/standby_cluster.h"

const char *const standby_key_names[STANDBY_N_KEYS] = {
	"standby_cluster_hosts",
	"standby_cluster_restore_command",
	"standby_cluster_slot",
};

bool standby_cluster_active(const struct standby_cluster *c)
{
	return c->set[STANDBY_KEY_HOSTS] || c->set[STANDBY_KEY_RESTORE_COMMAND];
}

static int find_key(const char *key, size_t klen)
{
	for (int i = 0; i < STANDBY_N_KEYS; i++)
		if (strlen(standby_key_names[i]) == klen &&
		    strncmp(standby_key_names[i], key, klen) == 0)
			return i;
	return -1;
}

static bool host_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
}

/* One "host[:port]" of len bytes: a host name or IPv4 address (libpq's
 * host list is split at commas, so nothing fancier), a port 1..65535. */
static bool host_ok(const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);
	size_t hlen = colon ? (size_t)(colon - p) : len;
	if (hlen == 0)
		return false;
	for (size_t i = 0; i < hlen; i++)
		if (!host_char(p[i]))
			return false;
	if (!colon)
		return true;
	size_t plen = len - hlen - 1;
	unsigned port = 0;
	if (plen == 0 || plen > 5)
		return false;
	for (size_t i = 0; i < plen; i++) {
		char ch = colon[1 + i];
		if (ch < '0' || ch > '9')
			return false;
		port = port * 10 + (unsigned)(ch - '0');
	}
	return port >= 1 && port <= 65535;
}

/* "h1:5432, h2" into c->hosts as "h1:5432,h2" (blanks dropped). */
static int parse_hosts(struct standby_cluster *c, const char *value, char *err,
		       size_t errlen)
{
	char out[STANDBY_CLUSTER_HOSTS_MAX];
	size_t n = 0, count = 0;
	for (const char *p = value; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t l = strcspn(p, " \t,");
		if (l == 0)
			break;
		if (!host_ok(p, l)) {
			snprintf(err, errlen,
				 "standby_cluster_hosts: \"%.*s\" is not "
				 "HOST or HOST:PORT",
				 (int)(l < 64 ? l : 64), p);
			return -1;
		}
		if (n + l + 2 > sizeof(out)) {
			snprintf(err, errlen,
				 "standby_cluster_hosts: longer than %zu "
				 "bytes",
				 sizeof(out) - 1);
			return -1;
		}
		if (n)
			out[n++] = ',';
		memcpy(out + n, p, l);
		n += l;
		count++;
		p += l;
	}
	if (!count) {
		snprintf(err, errlen, "standby_cluster_hosts: no host");
		return -1;
	}
	out[n] = '\0';
	memcpy(c->hosts, out, n + 1);
	return 0;
}

/* A slot name as Postgres takes one: lower-case letters, digits, '_'. */
static int parse_slot(struct standby_cluster *c, const char *value, char *err,
		      size_t errlen)
{
	size_t len = strlen(value);
	if (len >= sizeof(c->slot) ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_") != len) {
		snprintf(err, errlen,
			 "standby_cluster_slot: lower-case letters, digits "
			 "and '_', at most %zu",
			 sizeof(c->slot) - 1);
		return -1;
	}
	memcpy(c->slot, value, len + 1);
	return 0;
}

static int set_value(struct standby_cluster *c, int k, const char *value,
		     char *err, size_t errlen)
{
	switch (k) {
	case STANDBY_KEY_HOSTS:
		return parse_hosts(c, value, err, errlen);
	case STANDBY_KEY_SLOT:
		return parse_slot(c, value, err, errlen);
	default:
		if (strlen(value) >= sizeof(c->restore_command)) {
			snprintf(err, errlen, "%s: longer than %zu bytes",
				 standby_key_names[k],
				 sizeof(c->restore_command) - 1);
			return -1;
		}
		snprintf(c->restore_command, sizeof(c->restore_command), "%s",
			 value);
		return 0;
	}
}

int standby_cluster_set(struct standby_cluster *c, const char *key, size_t klen,
			const char *value, char *err, size_t errlen)
{
	int k = find_key(key, klen);
	if (k < 0)
		return 0;
	if (!*value) {
		c->set[k] = false;
		return 1;
	}
	if (set_value(c, k, value, err, errlen) != 0)
		return -1;
	c->set[k] = true;
	return 1;
}

int standby_cluster_line(struct standby_cluster *c, const char *line,
			 const char *end, char *err, size_t errlen)
{
	char value[1100];
	int k = conf_lex_named(line, end, standby_key_names, STANDBY_N_KEYS,
			       value, sizeof(value), err, errlen);
	if (k < 0)
		return k == -1 ? 0 : -1;
	if (!*value) {
		snprintf(err, errlen, "%s: expected a value",
			 standby_key_names[k]);
		return -1;
	}
	const char *key = standby_key_names[k];
	return standby_cluster_set(c, key, strlen(key), value, err, errlen);
}

int standby_cluster_check(const struct standby_cluster *c, char *err,
			  size_t errlen)
{
	if (c->set[STANDBY_KEY_SLOT] && !c->set[STANDBY_KEY_HOSTS]) {
		snprintf(err, errlen,
			 "standby_cluster_slot needs standby_cluster_hosts "
			 "(the slot is on the main cluster it streams from)");
		return -1;
	}
	return 0;
}

void standby_cluster_value(const struct standby_cluster *c, enum standby_key k,
			   char *buf, size_t cap)
{
	const char *values[STANDBY_N_KEYS] = { c->hosts, c->restore_command,
					       c->slot };
	if (!cap)
		return;
	snprintf(buf, cap, "%s",
		 (unsigned)k < STANDBY_N_KEYS && c->set[k] ? values[k] : "");
}

bool standby_cluster_format(const struct standby_cluster *c, char *buf,
			    size_t cap, size_t *len)
{
	char v[1100];
	for (int k = 0; k < STANDBY_N_KEYS; k++) {
		standby_cluster_value(c, (enum standby_key)k, v, sizeof(v));
		if (c->set[k] && !conf_lex_put_quoted(buf, cap, len,
						      standby_key_names[k], v))
			return false;
	}
	return true;
}

bool standby_cluster_equal(const struct standby_cluster *a,
			   const struct standby_cluster *b)
{
	char x[2048], y[2048];
	size_t lx = 0, ly = 0;
	x[0] = y[0] = '\0';
	return standby_cluster_format(a, x, sizeof(x), &lx) &&
	       standby_cluster_format(b, y, sizeof(y), &ly) &&
	       strcmp(x, y) == 0;
}

static bool append(char *buf, size_t cap, size_t *len, const char *p, size_t n)
{
	if (*len + n + 2 > cap)
		return false;
	if (*len)
		buf[(*len)++] = ',';
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
	return true;
}

bool standby_cluster_host_lists(const struct standby_cluster *c, char *hosts,
				size_t hcap, char *ports, size_t pcap)
{
	size_t hl = 0, pl = 0;
	if (!hcap || !pcap)
		return false;
	hosts[0] = ports[0] = '\0';
	for (const char *p = c->hosts; *p;) {
		size_t l = strcspn(p, ",");
		const char *colon = memchr(p, ':', l);
		size_t h = colon ? (size_t)(colon - p) : l;
		const char *port = colon ? colon + 1
					 : STANDBY_CLUSTER_DEFAULT_PORT;
		size_t portlen = colon ? l - h - 1 : strlen(port);
		if (!append(hosts, hcap, &hl, p, h) ||
		    !append(ports, pcap, &pl, port, portlen))
			return false;
		p += l;
		if (*p == ',')
			p++;
	}
	return hl > 0;
}
