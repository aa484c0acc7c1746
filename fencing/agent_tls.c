/*
 * agent_tls.c — see agent_tls.h.
 */
#include <stdio.h>

#include "common/log.h"
#include "fencing/agent_tls.h"

static const struct tls_option_names witness_names = { "witness_cert_file",
						       "witness_key_file",
						       "witness_ca_file" };
static const struct tls_option_names http_names = { "http_tls_cert_file",
						    "http_tls_key_file",
						    "(none)" };

static struct tls_config witness_config(const struct agent_conf *c)
{
	return (struct tls_config){ .cert_file = c->witness_cert_file,
				    .key_file = c->witness_key_file,
				    .ca_file = c->witness_ca_file };
}

static struct tls_config http_config(const struct agent_conf *c)
{
	return (struct tls_config){ .cert_file = c->http_tls_cert_file,
				    .key_file = c->http_tls_key_file,
				    .server = true };
}

int agent_tls_check(const struct agent_conf *c, char *err, size_t errlen)
{
	struct tls_config w = witness_config(c), h = http_config(c);

	if (tls_options_check(&w, &witness_names, err, errlen) ||
	    tls_options_check(&h, &http_names, err, errlen))
		return -1;
	return 0;
}

int agent_tls_load(const struct agent_conf *c, struct agent_tls *out, char *err,
		   size_t errlen)
{
	struct tls_config w = witness_config(c), h = http_config(c);
	char why[800];

	out->witness = out->http = NULL;
	if (agent_tls_check(c, err, errlen))
		return -1;
	if (w.ca_file &&
	    !(out->witness = tls_context_load(&w, why, sizeof(why)))) {
		snprintf(err, errlen,
			 "TLS to the witnesses (witness_ca_file, "
			 "witness_cert_file, witness_key_file): %s",
			 why);
		return -1;
	}
	if (h.cert_file &&
	    !(out->http = tls_context_load(&h, why, sizeof(why)))) {
		snprintf(err, errlen,
			 "TLS of the HTTP API (http_tls_cert_file, "
			 "http_tls_key_file): %s",
			 why);
		agent_tls_free(out);
		return -1;
	}
	return 0;
}

void agent_tls_free(struct agent_tls *t)
{
	tls_context_free(t->witness);
	tls_context_free(t->http);
	t->witness = t->http = NULL;
}

static void reload_one(struct tls_context *ctx, const char *what)
{
	char err[512], q[600];

	if (!ctx)
		return;
	if (tls_context_reload(ctx, NULL, err, sizeof(err)) == 0)
		log_event(LOG_INFO, "reloaded", "what=%s", what);
	else
		log_event(LOG_ERROR, "reload_failed",
			  "what=%s reason=%s (the previous certificate stays "
			  "in force)",
			  what, log_quote(err, q, sizeof(q)));
}

void agent_tls_reload(struct agent_tls *t)
{
	if (!t->witness && !t->http) {
		log_event(LOG_INFO, "reloaded",
			  "what=nothing reason=\"no TLS files\"");
		return;
	}
	reload_one(t->witness, "witness-tls");
	reload_one(t->http, "http-tls");
}
