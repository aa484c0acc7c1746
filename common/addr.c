/*
 * addr.c — see addr.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"

static int parse_port(const char *s, int *port)
{
	long v = 0;

	if (*s == '\0')
		return UV_EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return UV_EINVAL;
		v = v * 10 + (*s - '0');
		if (v > 65535)
			return UV_EINVAL;
	}
	*port = (int)v;
	return 0;
}

int addr_parse(const char *s, struct sockaddr_storage *out)
{
	char host[ADDR_HOST_MAX];
	const char *colon;
	int port;

	memset(out, 0, sizeof(*out));
	if (!s)
		return UV_EINVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		size_t len = end ? (size_t)(end - s - 1) : 0;
		if (!end || end[1] != ':' || len >= sizeof(host))
			return UV_EINVAL;
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (parse_port(end + 2, &port))
			return UV_EINVAL;
		return uv_ip6_addr(host, port, (struct sockaddr_in6 *)out);
	}
	/* Without brackets only IPv4: "::1:7001" would be ambiguous. */
	colon = strchr(s, ':');
	if (!colon || strchr(colon + 1, ':') ||
	    (size_t)(colon - s) >= sizeof(host))
		return UV_EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (parse_port(colon + 1, &port))
		return UV_EINVAL;
	return uv_ip4_addr(host, port, (struct sockaddr_in *)out);
}

void addr_format(const struct sockaddr_storage *sa, char *buf, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		uv_ip4_name(in, host, sizeof(host));
		snprintf(buf, n, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		uv_ip6_name(in6, host, sizeof(host));
		snprintf(buf, n, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, n, "(unknown address)");
	}
}

bool addr_is_loopback(const char *s)
{
	struct sockaddr_storage ss;

	if (!s || addr_parse(s, &ss) != 0)
		return false;
	if (ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)&ss)
				      ->sin_addr.s_addr) >>
			24) == 127;
	return ss.ss_family == AF_INET6 &&
	       IN6_IS_ADDR_LOOPBACK(
		       &((const struct sockaddr_in6 *)&ss)->sin6_addr);
}

bool addr_same_host(const struct sockaddr_storage *a,
		    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return a->ss_family == AF_INET6 &&
	       memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

bool addr_off_loopback(const char *s)
{
	struct sockaddr_storage ss;
	return s && s[0] && addr_parse(s, &ss) == 0 && !addr_is_loopback(s);
}
