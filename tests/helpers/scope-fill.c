/*
 * scope-fill.c — fills the witnesses with many keys fast, for the tests of
 * big scopes (tests/process/ctl-scope.sh, tests/pg/pg-failover.sh,
 * tests/pg/pg-drill.sh):
 * one tenurectl per key costs a process and a connection each, far too
 * slow for thousands.
 *
 *   scope-fill ENDPOINTS PREFIX FIRST LAST TEMPLATE
 *
 * Puts PREFIX%020llu for every number from FIRST to LAST, with TEMPLATE as
 * the value where each "@N@" becomes the number, 32 requests in flight on
 * one connection (ENDPOINTS: "ip:port,ip:port,...", as TENURE_ENDPOINTS).
 * Exits 0 when every put succeeded, 1 (saying which failed) otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/conf.h"
#include "proto/tclient.h"

#define IN_FLIGHT 32
#define MAX_ENDPOINTS 16

struct fill {
	struct tclient *tc;
	const char *prefix, *tmpl;
	unsigned long long next, last;
	int in_flight;
	int failed;
};

static void put_next(struct fill *f);

static void on_put(void *arg, int status, const struct client_response *r)
{
	struct fill *f = arg;
	f->in_flight--;
	if (status != CLIENT_OK) {
		fprintf(stderr, "scope-fill: put failed: %s %.*s\n",
			client_status_name(status), r ? (int)r->message.len : 0,
			r ? r->message.p : "");
		f->failed = 1;
	}
	put_next(f);
	if (f->in_flight == 0)
		tclient_close(f->tc, NULL, NULL);
}

/* TEMPLATE with "@N@" replaced by n (malloc'ed). */
static char *value_of(const char *tmpl, unsigned long long n)
{
	char num[24];
	size_t nlen = (size_t)snprintf(num, sizeof(num), "%llu", n);
	size_t cap = strlen(tmpl) + 1, len = 0;
	for (const char *p = strstr(tmpl, "@N@"); p; p = strstr(p + 3, "@N@"))
		cap += nlen;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "@N@", 3) == 0) {
			memcpy(out + len, num, nlen);
			len += nlen;
			p += 3;
		} else {
			out[len++] = *p++;
		}
	}
	out[len] = '\0';
	return out;
}

static void put_next(struct fill *f)
{
	while (!f->failed && f->next <= f->last && f->in_flight < IN_FLIGHT) {
		char key[600];
		snprintf(key, sizeof(key), "%s%020llu", f->prefix, f->next);
		char *value = value_of(f->tmpl, f->next);
		if (!value) {
			f->failed = 1;
			return;
		}
		struct client_request q = {
			.op = CLIENT_OP_PUT,
			.key = { key, strlen(key) },
			.value = { value, strlen(value) },
		};
		/* The library copies the request: value may go at once. */
		int rv = tclient_request(f->tc, &q, 10000, on_put, f);
		free(value);
		if (rv != 0) {
			fprintf(stderr, "scope-fill: %s\n", uv_strerror(rv));
			f->failed = 1;
			return;
		}
		f->in_flight++;
		f->next++;
	}
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* TLS as tenurectl's environment says: TENURE_CACERT (then TENURE_CERT,
 * TENURE_KEY).  0, or 1 after saying why. */
static int tls_from_env(struct tls_context **out)
{
	static const struct tls_option_names names = { "TENURE_CERT",
						       "TENURE_KEY",
						       "TENURE_CACERT" };
	struct tls_config cfg = { .cert_file = env("TENURE_CERT"),
				  .key_file = env("TENURE_KEY"),
				  .ca_file = env("TENURE_CACERT") };
	char err[1024];

	*out = NULL;
	if (tls_options_check(&cfg, &names, err, sizeof(err)) == 0 &&
	    (!cfg.ca_file || (*out = tls_context_load(&cfg, err, sizeof(err)))))
		return 0;
	fprintf(stderr, "scope-fill: %s\n", err);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: scope-fill ENDPOINTS PREFIX FIRST LAST "
				"TEMPLATE\n");
		return 1;
	}
	char *eps = strdup(argv[1]), *save = NULL;
	const char *endpoints[MAX_ENDPOINTS];
	size_t n = 0;
	for (char *e = strtok_r(eps, ",", &save); e && n < MAX_ENDPOINTS;
	     e = strtok_r(NULL, ",", &save))
		endpoints[n++] = e;
	struct fill f = {
		.prefix = argv[2],
		.tmpl = argv[5],
		.next = strtoull(argv[3], NULL, 10),
		.last = strtoull(argv[4], NULL, 10),
	};
	/* The witnesses may want credentials: tenurectl's environment. */
	char err[512], *secret = NULL;
	const char *user = getenv("TENURE_USER");
	if (user && *user &&
	    !(secret = conf_read_secret(getenv("TENURE_SECRET_FILE")
						? getenv("TENURE_SECRET_FILE")
						: "",
					err, sizeof(err)))) {
		fprintf(stderr, "scope-fill: TENURE_SECRET_FILE: %s\n", err);
		return 1;
	}
	struct tls_context *tls = NULL;
	if (tls_from_env(&tls))
		return 1;
	struct tclient_options o = {
		.endpoints = endpoints,
		.n_endpoints = n,
		.user = user,
		.secret = secret,
		.tls = tls,
		.client_name = "scope-fill",
	};
	uv_loop_t loop;
	uv_loop_init(&loop);
	if (tclient_new(&loop, &o, &f.tc) != 0) {
		fprintf(stderr, "scope-fill: bad endpoints '%s'\n", argv[1]);
		return 1;
	}
	put_next(&f);
	if (f.in_flight == 0)
		tclient_close(f.tc, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	free(eps);
	free(secret);
	tls_context_free(tls);
	return f.failed ? 1 : 0;
}
