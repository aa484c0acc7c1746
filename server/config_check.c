/*
 * config_check.c — see config_check.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "server/config_check.h"
#include "server/transport.h"

static bool parse(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	return s && transport_parse_addr(s, ss) == 0;
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(
		&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static unsigned port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET
			     ? ((const struct sockaddr_in *)ss)->sin_port
			     : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static bool same_ip(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr,
		      sizeof(struct in6_addr)) == 0;
}

static bool same_endpoint(const struct sockaddr_storage *a,
			  const struct sockaddr_storage *b)
{
	return same_ip(a, b) && port_of(a) == port_of(b);
}

/* Would two listeners collide on bind? */
static bool overlap(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b)
{
	return port_of(a) == port_of(b) &&
	       (same_ip(a, b) || is_wildcard(a) || is_wildcard(b));
}

/* The "host:port" half of an initial_cluster entry "name=host:port". */
static const char *entry_addr(const char *entry)
{
	const char *eq = strchr(entry, '=');
	return eq ? eq + 1 : entry;
}

static bool entry_is(const char *entry, const char *name)
{
	size_t n = strlen(name);
	return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

static int check_duplicate_peers(const struct raft_config *c, char *err,
				 size_t errlen)
{
	for (unsigned i = 0; i < c->n; i++)
		for (unsigned j = i + 1; j < c->n; j++) {
			struct sockaddr_storage a, b;
			const char *ai = entry_addr(c->servers[i].addr);
			const char *aj = entry_addr(c->servers[j].addr);
			if (!parse(ai, &a) || !parse(aj, &b) ||
			    !same_endpoint(&a, &b))
				continue;
			snprintf(err, errlen,
				 "initial_cluster gives %.*s and %.*s the same "
				 "peer address %s: each witness needs its own "
				 "host:port (its listen_peer)",
				 (int)(ai - 1 - c->servers[i].addr),
				 c->servers[i].addr,
				 (int)(aj - 1 - c->servers[j].addr),
				 c->servers[j].addr, ai);
			return -1;
		}
	return 0;
}

static int check_listeners(const struct config_addrs *a, char *err,
			   size_t errlen)
{
	const char *const keys[] = { "listen_peer", "listen_client",
				     "listen_http" };
	const char *const vals[] = { a->listen_peer, a->listen_client,
				     a->listen_http };
	struct sockaddr_storage ss[3];
	bool have[3];
	for (int i = 0; i < 3; i++)
		have[i] = parse(vals[i], &ss[i]);
	for (int i = 0; i < 3; i++)
		for (int j = i + 1; j < 3; j++) {
			if (!have[i] || !have[j] || !overlap(&ss[i], &ss[j]))
				continue;
			snprintf(err, errlen,
				 "%s %s and %s %s are the same address: "
				 "each listener needs a port of its own; pick "
				 "another %s",
				 keys[i], vals[i], keys[j], vals[j], keys[j]);
			return -1;
		}
	return 0;
}

static int check_own_entry(const struct config_addrs *a, char *err,
			   size_t errlen)
{
	const char *entry = NULL;
	for (unsigned i = 0; i < a->initial->n && !entry; i++)
		if (entry_is(a->initial->servers[i].addr, a->name))
			entry = entry_addr(a->initial->servers[i].addr);
	struct sockaddr_storage want, have;
	if (!entry || !parse(entry, &want))
		return 0; /* waiting to be added: nothing to compare */
	if (a->advertise_peer) {
		if (parse(a->advertise_peer, &have) &&
		    same_endpoint(&have, &want))
			return 0;
		snprintf(err, errlen,
			 "advertise_peer %s is not %s's address in "
			 "initial_cluster (%s): set advertise_peer to the "
			 "address the other witnesses dial, %s",
			 a->advertise_peer, a->name, entry, entry);
		return -1;
	}
	if (!parse(a->listen_peer, &have) ||
	    (port_of(&have) == port_of(&want) &&
	     (same_ip(&have, &want) || is_wildcard(&have))))
		return 0;
	snprintf(err, errlen,
		 "listen_peer %s is not %s's address in initial_cluster "
		 "(%s), which the other witnesses dial: set listen_peer to "
		 "%s or fix %s's entry in initial_cluster; if %s forwards to "
		 "this listen_peer (a NAT, a proxy), set advertise_peer = "
		 "'%s'",
		 a->listen_peer, a->name, entry, entry, a->name, entry, entry);
	return -1;
}

int config_check_addrs(const struct config_addrs *a, char *err, size_t errlen)
{
	if (check_duplicate_peers(a->initial, err, errlen) ||
	    check_listeners(a, err, errlen) || check_own_entry(a, err, errlen))
		return -1;
	return 0;
}
