/*
 * roster.c — see roster.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/roster.h"
#include "fencing/standby_cluster.h"

static bool is_leader(const struct member *m, const char *leader)
{
	return leader && leader[0] && strcmp(m->name, leader) == 0;
}

const char *roster_role(const struct member *m, const char *leader)
{
	if (is_leader(m, leader) && m->role == MEMBER_REPLICA &&
	    strcmp(m->upstream, STANDBY_CLUSTER_UPSTREAM) == 0)
		return "standby_leader";
	if (is_leader(m, leader))
		return "primary";
	if (m->role == MEMBER_PRIMARY)
		return "demoting";
	return member_role_name(m->role);
}

bool roster_in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	if (!list || n == 0)
		return false;
	for (const char *p = list; *p;) {
		p += strspn(p, " \t");
		size_t len = strcspn(p, ",");
		size_t k = len;
		while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
			k--;
		if (k == n && memcmp(p, name, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

const char *roster_list_next(const char *p, char *name, size_t cap)
{
	if (!p || !*p)
		return NULL;
	size_t len = strcspn(p, ",");
	snprintf(name, cap, "%.*s", (int)len, p);
	return p[len] == ',' ? p + len + 1 : p + len;
}

bool roster_is_sync(const struct member *m, const char *leader,
		    const char *sync_list)
{
	if (is_leader(m, leader))
		return false;
	return m->sync || roster_in_list(sync_list, m->name);
}

bool roster_can_take_over(const struct member *m)
{
	return m->role == MEMBER_REPLICA && m->healthy && !m->nofailover;
}

const struct member *roster_best_candidate(const struct member *m, size_t n,
					   const char *sync)
{
	const struct member *best = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct member *c = &m[i];
		if (!roster_can_take_over(c) ||
		    (sync && sync[0] && !roster_in_list(sync, c->name)))
			continue;
		if (!best || c->lag_bytes < best->lag_bytes ||
		    (c->lag_bytes == best->lag_bytes &&
		     c->priority > best->priority))
			best = c;
	}
	return best;
}

void roster_holder_name(const char *holder, size_t len, char *out, size_t cap)
{
	const char *slash = memchr(holder, '/', len);
	if (slash)
		len = (size_t)(slash - holder);
	snprintf(out, cap, "%.*s", (int)len, holder);
}

bool roster_split_addr(const char *addr, char *host, size_t hostcap,
		       unsigned *port)
{
	const char *colon, *h = addr;
	size_t hlen;
	*port = 0;
	snprintf(host, hostcap, "%s", addr);
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return false;
		h = addr + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return false;
		hlen = (size_t)(colon - addr);
	}
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (hlen == 0 || !colon[1] || *end || p < 1 || p > 65535 ||
	    colon[1] == '-' || colon[1] == '+' || colon[1] == ' ')
		return false;
	if (hlen >= hostcap)
		return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned)p;
	return true;
}

static bool clone_source_ok(const struct member *m, const char *self,
			    const char *skip)
{
	return m->clonefrom && m->role == MEMBER_REPLICA && m->healthy &&
	       !m->frozen_token && strcmp(m->state, "streaming") == 0 &&
	       strcmp(m->name, self) != 0 && strcmp(m->name, skip) != 0;
}

const struct member *roster_clone_source(const struct member *m, size_t n,
					 const char *self, const char *primary,
					 const char *skip)
{
	const struct member *best = NULL, *p = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m[i].name, primary) == 0)
			p = &m[i];
		else if (clone_source_ok(&m[i], self, skip ? skip : "") &&
			 (!best || m[i].received_lsn > best->received_lsn ||
			  (m[i].received_lsn == best->received_lsn &&
			   strcmp(m[i].name, best->name) < 0)))
			best = &m[i];
	}
	return best ? best : p;
}

void roster_split_pg(const char *addr, char *host, size_t cap, char *port,
		     size_t pcap)
{
	const char *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : strlen(addr);
	if (n >= cap)
		n = cap - 1;
	memcpy(host, addr, n);
	host[n] = '\0';
	snprintf(port, pcap, "%s", colon ? colon + 1 : "5432");
}
