/*
 * exposure.c — see exposure.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"
#include "fencing/exposure.h"

static bool set(const char *s)
{
	return s && s[0];
}

static void add(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add(char *out, size_t cap, const char *fmt, ...)
{
	size_t used = strlen(out);
	va_list ap;

	if (used && used + 2 < cap) {
		memcpy(out + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(out + used, cap - used, fmt, ap);
	va_end(ap);
}

/* The first witness that is not on loopback, or NULL. */
static const char *remote_witness(const char *list, char *buf, size_t cap)
{
	const char *p = list;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		snprintf(buf, cap, "%.*s", (int)n, p);
		char *q = buf + strspn(buf, " \t");
		if (addr_off_loopback(q))
			return q;
		p += n + (p[n] == ',');
	}
	return NULL;
}

int agent_exposures(const struct agent_conf *c, char *out, size_t cap)
{
	char buf[256];
	const char *w;
	int n = 0;

	out[0] = '\0';
	if (addr_off_loopback(c->listen_http) && !set(c->http_tls_cert_file)) {
		add(out, cap,
		    "listen_http %s is not loopback and has no HTTPS "
		    "(http_tls_cert_file)",
		    c->listen_http);
		n++;
	}
	w = remote_witness(c->witnesses, buf, sizeof(buf));
	if (w && !(set(c->witness_ca_file) && set(c->witness_user))) {
		add(out, cap,
		    "witness %s is not on loopback and is reached without %s",
		    w,
		    !set(c->witness_ca_file) && !set(c->witness_user)
			    ? "TLS (witness_ca_file) or a credential "
			      "(witness_user)"
		    : !set(c->witness_ca_file) ? "TLS (witness_ca_file)"
					       : "a credential (witness_user)");
		n++;
	}
	if (addr_off_loopback(c->pg_listen) &&
	    !(set(c->pg_superuser_password_file) &&
	      set(c->replication_password_file))) {
		add(out, cap,
		    "pg_listen %s is not loopback and Postgres logins have no "
		    "passwords (pg_superuser_password_file, "
		    "replication_password_file): bootstrap would trust them",
		    c->pg_listen);
		n++;
	}
	return n;
}
