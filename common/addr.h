/*
 * addr.h — network addresses as tenure's users write them: "host:port"
 * with an IPv4 literal, or "[v6]:port" with an IPv6 literal.  No DNS: a
 * witness or agent must never stall on a resolver.  Shared by the server's
 * listeners and transport and by the client library.
 *
 * Errors: addr_parse returns 0 or UV_EINVAL (a negative libuv code);
 * nothing is logged.
 */
#ifndef TENURE_COMMON_ADDR_H
#define TENURE_COMMON_ADDR_H

#include <stdbool.h>
#include <uv.h>

#define ADDR_HOST_MAX 64

/* 0, or UV_EINVAL when s is not one of the two forms above. */
int addr_parse(const char *s, struct sockaddr_storage *out);
/* The reverse, for log lines: "1.2.3.4:5", "[::1]:5". */
void addr_format(const struct sockaddr_storage *sa, char *buf, size_t n);
/* Whether s ("host:port", as addr_parse takes it) is on loopback only:
 * 127.0.0.0/8 or ::1.  A wildcard (0.0.0.0, ::) or anything unparsable is
 * not: it reaches the network. */
bool addr_is_loopback(const char *s);
/* Whether s parses and is not on loopback: what reaches the network.  An
 * address that does not parse is neither (its own check says why). */
bool addr_off_loopback(const char *s);
/* Whether a and b are the same host (address family and IP; ports are
 * ignored): what the listeners' per-address shares count. */
bool addr_same_host(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b);

#endif
