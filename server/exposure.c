/*
 * exposure.c — see exposure.h.
 */
#include <stdio.h>
#include <string.h>

#include "common/addr.h"
#include "server/exposure.h"

static void add(char *out, size_t cap, const char *fmt, const char *addr,
		const char *missing)
{
	size_t used = strlen(out);
	snprintf(out + used, cap - used, "%s", used ? "; " : "");
	used = strlen(out);
	snprintf(out + used, cap - used, fmt, addr, missing);
}

int witness_exposures(const struct witness_guards *g, char *out, size_t cap)
{
	int n = 0;

	out[0] = '\0';
	if (addr_off_loopback(g->listen_client) &&
	    !(g->client_tls && g->credentials)) {
		add(out, cap,
		    "listen_client %s is not loopback and has no %s: anyone "
		    "who reaches it could steer failover",
		    g->listen_client,
		    !g->client_tls && !g->credentials
			    ? "TLS (tls_cert_file) and no credentials "
			      "(credentials_file)"
		    : !g->client_tls ? "TLS (tls_cert_file)"
				     : "credentials (credentials_file)");
		n++;
	}
	if (addr_off_loopback(g->listen_peer) && !g->peer_tls) {
		add(out, cap,
		    "listen_peer %s is not loopback and has no %s: anyone who "
		    "reaches it could pose as a witness",
		    g->listen_peer, "mutual TLS (peer_tls_cert_file)");
		n++;
	}
	return n;
}
