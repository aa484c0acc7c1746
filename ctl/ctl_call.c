/*
 * ctl_call.c — how tenurectl talks to the witnesses: endpoints, the auth
 * token, one-shot calls through the client library, and what a status
 * means for the exit code and the message on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/conf.h"
#include "ctl/ctl.h"
#include "proto/limits.h"

/* ---- endpoints ---------------------------------------------------------- */

static int endpoint_error(const char *ep, const char *why)
{
	fprintf(stderr,
		CTL_PROG ": endpoint '%s': %s\nHint: --endpoints (or "
			 "TENURE_ENDPOINTS) is a comma-separated list of "
			 "host:port, e.g. " CTL_DEFAULT_ENDPOINT
			 ",127.0.0.1:7102\n",
		ep, why);
	return CTL_EXIT_ERROR;
}

/* "host:port" or "[v6]:port" into host and port (in buf). */
static int split_endpoint(const char *ep, char *buf, size_t len,
			  const char **host, const char **port)
{
	if (strlen(ep) >= len)
		return endpoint_error(ep, "too long");
	strcpy(buf, ep);
	char *colon;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close || close[1] != ':')
			return endpoint_error(ep, "expected [address]:port");
		*close = '\0';
		*host = buf + 1;
		colon = close + 1;
	} else {
		colon = strrchr(buf, ':');
		if (!colon)
			return endpoint_error(ep,
					      "no port (expected host:port)");
		*colon = '\0';
		*host = buf;
	}
	*port = colon + 1;
	char *end;
	long p = strtol(*port, &end, 10);
	if (!**host)
		return endpoint_error(ep, "no host (expected host:port)");
	if (!**port || *end || p < 1 || p > 65535)
		return endpoint_error(ep, "the port must be 1..65535");
	return 0;
}

/* The client library wants IP literals: names are resolved here, once. */
static int resolve_endpoint(const char *ep, char **out)
{
	char buf[512];
	const char *host, *port;
	if (split_endpoint(ep, buf, sizeof(buf), &host, &port))
		return CTL_EXIT_ERROR;
	struct addrinfo hints, *ai;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int rv = getaddrinfo(host, port, &hints, &ai);
	if (rv)
		return endpoint_error(ep, gai_strerror(rv));
	char ip[INET6_ADDRSTRLEN];
	const void *addr =
		ai->ai_family == AF_INET6
			? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)
				  ->sin6_addr
			: (const void *)&((struct sockaddr_in *)ai->ai_addr)
				  ->sin_addr;
	bool v6 = ai->ai_family == AF_INET6;
	const char *ok = inet_ntop(ai->ai_family, addr, ip, sizeof(ip));
	freeaddrinfo(ai);
	if (!ok)
		return endpoint_error(ep, strerror(errno));
	size_t len = strlen(ip) + strlen(port) + 4;
	*out = malloc(len);
	if (!*out)
		return endpoint_error(ep, "out of memory");
	snprintf(*out, len, v6 ? "[%s]:%s" : "%s:%s", ip, port);
	return 0;
}

int ctl_set_endpoints(struct ctl *c, const char *list)
{
	/* The names point into a copy that lives as long as c. */
	char *copy = c->endpoints_copy = strdup(list);
	if (!copy)
		return endpoint_error(list, "out of memory");
	char *save = NULL;
	for (char *ep = strtok_r(copy, ",", &save); ep;
	     ep = strtok_r(NULL, ",", &save)) {
		ep += strspn(ep, " \t");
		if (!*ep)
			continue;
		if (c->n_endpoints == CTL_MAX_ENDPOINTS)
			return endpoint_error(ep, "too many endpoints (16 at "
						  "most)");
		if (resolve_endpoint(ep, &c->endpoints[c->n_endpoints]))
			return CTL_EXIT_ERROR;
		c->endpoint_names[c->n_endpoints++] = ep;
	}
	if (c->n_endpoints == 0)
		return endpoint_error(list, "no endpoint given");
	return 0;
}

/* The secret file follows the daemons' rule: its first line. */
int ctl_set_credential(struct ctl *c, const char *user, const char *path)
{
	char err[512];

	if (strlen(user) > CLIENT_NAME_MAX) {
		fprintf(stderr, CTL_PROG ": --user is longer than %d bytes\n",
			CLIENT_NAME_MAX);
		return CTL_EXIT_ERROR;
	}
	if (!path || !*path) {
		fprintf(stderr,
			CTL_PROG ": --user %s needs its secret: pass "
				 "--secret-file FILE (or TENURE_SECRET_FILE)\n",
			user);
		return CTL_EXIT_ERROR;
	}
	c->secret = conf_read_secret(path, err, sizeof(err));
	if (!c->secret) {
		fprintf(stderr, CTL_PROG ": --secret-file: %s\n", err);
		return CTL_EXIT_ERROR;
	}
	c->user = strdup(user);
	return c->user ? 0 : CTL_EXIT_ERROR;
}

int ctl_set_tls(struct ctl *c, const char *cacert, const char *cert,
		const char *key)
{
	static const struct tls_option_names names = { "--cert", "--key",
						       "--cacert" };
	struct tls_config cfg = { .cert_file = cert,
				  .key_file = key,
				  .ca_file = cacert };
	char err[1024];

	if (tls_options_check(&cfg, &names, err, sizeof(err))) {
		fprintf(stderr, CTL_PROG ": %s\n", err);
		return CTL_EXIT_ERROR;
	}
	if (!cacert)
		return 0;
	c->tls = tls_context_load(&cfg, err, sizeof(err));
	if (!c->tls) {
		fprintf(stderr,
			CTL_PROG ": TLS (--cacert, --cert, --key): %s\n", err);
		return CTL_EXIT_ERROR;
	}
	return 0;
}

void ctl_free(struct ctl *c)
{
	for (size_t i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	c->n_endpoints = 0;
	free(c->user);
	c->user = NULL;
	if (c->secret)
		memset(c->secret, 0, strlen(c->secret));
	free(c->secret);
	c->secret = NULL;
	free(c->endpoints_copy);
	c->endpoints_copy = NULL;
	tls_context_free(c->tls);
	c->tls = NULL;
}

/* ---- client options ----------------------------------------------------- */

/* Keeps the library's last warning: it is the best explanation of an
 * unreachable cluster ("connect 127.0.0.1:7101: connection refused"). */
void ctl_keep_warning(char *buf, size_t len, const char *level, const char *msg)
{
	if (strcmp(level, "warn") != 0)
		return;
	/* "circuit breaker open" is a consequence: keep the cause */
	if (buf[0] && strncmp(msg, "circuit breaker", 15) == 0)
		return;
	snprintf(buf, len, "%s", msg);
}

static void on_log(void *arg, const char *level, const char *msg)
{
	struct ctl *c = arg;
	ctl_keep_warning(c->last_warning, sizeof(c->last_warning), level, msg);
}

void ctl_client_options(struct ctl *c, struct tclient_options *o)
{
	memset(o, 0, sizeof(*o));
	o->endpoints = (const char *const *)c->endpoints;
	o->n_endpoints = c->n_endpoints;
	o->user = c->user;
	o->secret = c->secret;
	o->tls = c->tls;
	o->client_name = CTL_PROG;
	o->timeout_ms = c->timeout_ms;
	if (c->timeout_ms < TCLIENT_CONNECT_TIMEOUT_DEFAULT_MS)
		o->connect_timeout_ms = c->timeout_ms;
	o->log = on_log;
	o->log_arg = c;
}

void ctl_client_options_one(struct ctl *c, size_t i, struct tclient_options *o)
{
	ctl_client_options(c, o);
	o->endpoints = (const char *const *)&c->endpoints[i];
	o->n_endpoints = 1;
}

struct client_str ctl_str(const char *s)
{
	struct client_str r = { s ? s : "", s ? strlen(s) : 0 };
	return r;
}

/* ---- statuses ----------------------------------------------------------- */

int ctl_exit_for(int status)
{
	if (status == CLIENT_OK)
		return CTL_EXIT_OK;
	return client_status_is_no(status) ? CTL_EXIT_NO : CTL_EXIT_ERROR;
}

bool ctl_answered(int code)
{
	return code == CTL_EXIT_OK || code == CTL_EXIT_NO;
}

static void endpoint_list(const struct ctl *c, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < c->n_endpoints && off < len; i++) {
		int n = snprintf(buf + off, len - off, "%s%s", i ? "," : "",
				 c->endpoint_names[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* The explanation and the hint for an error status. */
static void explain(int status, const char **why, const char **hint)
{
	*hint = NULL;
	switch (status) {
	case CLIENT_ECIRCUIT:
		/* The library gave up after repeated failed connects. */
		*why = "no witness reachable";
		*hint = "check --endpoints and that tenured runs there";
		break;
	case CLIENT_ETIMEOUT:
		*why = "no answer within --timeout";
		*hint = "check --endpoints and that tenured runs there "
			"(tenurectl status); a slow cluster may need a "
			"larger --timeout";
		break;
	case CLIENT_ENOTLEADER:
	case CLIENT_ENOQUORUM:
		*why = "the witnesses have no leader (no quorum)";
		*hint = "a majority of the witnesses must run and reach each "
			"other; see tenurectl status";
		break;
	case CLIENT_EUNAUTHORIZED:
		*why = "the witness refused our credentials";
		*hint = "authenticate with --user NAME --secret-file FILE (a "
			"credential of the witnesses' credentials_file)";
		break;
	case CLIENT_EINVAL:
		*why = "the witness refused the request as invalid";
		break;
	case CLIENT_EBUSY:
		*why = "the witness is busy";
		*hint = "retry in a moment";
		break;
	case CLIENT_EQUOTA:
		*why = "the witnesses refused it: the scope is at a quota";
		*hint = "see '" CTL_PROG
			" status --scopes'; delete keys of the "
			"scope, or raise the witness setting named above on "
			"every witness (docs/operations.md)";
		break;
	case CLIENT_ESHUTDOWN:
		*why = "the witness is shutting down";
		*hint = "retry; another witness will answer";
		break;
	case CLIENT_EUNKNOWN:
		*why = "the connection was lost before the answer: the request "
		       "may or may not have taken effect";
		*hint = "read the current state before retrying";
		break;
	default:
		*why = "the witness failed the request";
		break;
	}
}

void ctl_report_error(struct ctl *c, const char *what, int status,
		      const char *message, size_t message_len)
{
	const char *why, *hint;
	char eps[512];
	explain(status, &why, &hint);
	endpoint_list(c, eps, sizeof(eps));
	fprintf(stderr, CTL_PROG ": %s: %s (%s)", what, why,
		client_status_name(status));
	if (message_len)
		fprintf(stderr, ": %.*s", (int)message_len, message);
	fprintf(stderr, "\n");
	if (status == CLIENT_ETIMEOUT || status == CLIENT_ECIRCUIT)
		fprintf(stderr, "  endpoints: %s%s%s\n", eps,
			c->last_warning[0] ? "\n  last connection error: " : "",
			c->last_warning);
	/* A refused authentication fails the request without an answer of
	 * its own: the library's warning carries the witness's reason. */
	if (status == CLIENT_EUNAUTHORIZED && !message_len &&
	    c->last_warning[0])
		fprintf(stderr, "  %s\n", c->last_warning);
	if (status == CLIENT_ETIMEOUT)
		ctl_diagnose(c);
	if (hint)
		fprintf(stderr, "Hint: %s.\n", hint);
}

/* ---- writes whose outcome is unknown -------------------------------------- */

/* A log write, or a leader transfer (leadership may have moved). */
static bool op_writes(uint32_t op)
{
	return client_op_writes_log(op) || op == CLIENT_OP_TRANSFER;
}

/* A write that may have been applied though nothing says so: lost with
 * its connection, timed out after it was sent (tclient_outcome_unknown),
 * or timed out by the witness itself (its request_timeout: the entry may
 * still commit).  Reporting it as a plain failure would invite a blind
 * retry of something that perhaps happened. */
static bool write_outcome_unknown(const struct client_request *q,
				  const struct tclient_result *res)
{
	if (!op_writes(q->op))
		return false;
	if (res->status == CLIENT_EUNKNOWN)
		return true;
	return res->status == CLIENT_ETIMEOUT &&
	       (res->has_response || res->outcome_unknown);
}

/* How to find out what happened. */
static void check_hint(const struct client_request *q, char *buf, size_t len)
{
	switch (q->op) {
	case CLIENT_OP_PUT:
	case CLIENT_OP_DELETE:
	case CLIENT_OP_CAS:
		snprintf(buf, len, "'" CTL_PROG " get %.*s'", (int)q->key.len,
			 q->key.p);
		break;
	case CLIENT_OP_LEASE_ACQUIRE:
	case CLIENT_OP_LEASE_RENEW:
	case CLIENT_OP_LEASE_RELEASE:
	case CLIENT_OP_LEASE_FLOOR:
		snprintf(buf, len, "'" CTL_PROG " lease get %.*s'",
			 (int)q->name.len, q->name.p);
		break;
	case CLIENT_OP_TRANSFER:
		snprintf(buf, len, "'" CTL_PROG " status'");
		break;
	default:
		snprintf(buf, len, "'" CTL_PROG " member list'");
		break;
	}
}

static int report_unknown(struct ctl *c, const struct client_request *q,
			  const char *what, const struct tclient_result *res)
{
	char hint[SM_KEY_MAX + 64];
	char how[128];
	check_hint(q, hint, sizeof(hint));
	if (res->status == CLIENT_EUNKNOWN)
		snprintf(how, sizeof(how),
			 "the connection was lost before its answer");
	else if (res->has_response)
		snprintf(how, sizeof(how),
			 "the witness did not commit it within its "
			 "request_timeout");
	else
		snprintf(how, sizeof(how), "no answer came within %.1fs",
			 (double)c->timeout_ms / 1000.0);
	fprintf(stderr,
		CTL_PROG ": %s: outcome unknown: the write was sent but %s; "
			 "it may or may not have been applied — check with "
			 "%s before retrying\n",
		what, how, hint);
	if (res->status == CLIENT_ETIMEOUT)
		ctl_diagnose(c);
	return CTL_EXIT_UNKNOWN;
}

int ctl_call_with(struct ctl *c, const struct tclient_options *o,
		  const struct client_request *q, const char *what,
		  struct tclient_result *res)
{
	int rv = tclient_call_sync(o, q, c->timeout_ms, res);
	if (rv < 0) {
		fprintf(stderr, CTL_PROG ": %s: cannot start the client: %s\n",
			what, uv_strerror(rv));
		return CTL_EXIT_ERROR;
	}
	if (write_outcome_unknown(q, res))
		return report_unknown(c, q, what, res);
	int code = ctl_exit_for(res->status);
	if (code == CTL_EXIT_ERROR)
		ctl_report_error(c, what, res->status,
				 res->has_response ? res->r.message.p : NULL,
				 res->has_response ? res->r.message.len : 0);
	return code;
}

int ctl_call(struct ctl *c, const struct client_request *q, const char *what,
	     struct tclient_result *res)
{
	struct tclient_options o;
	ctl_client_options(c, &o);
	return ctl_call_with(c, &o, q, what, res);
}

/* ---- paged lists ------------------------------------------------------------ */

static bool pages_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 8;
	while (n < need)
		n *= 2;
	void *p = realloc(*arr, n * size);
	if (!p)
		return false;
	*arr = p;
	*cap = n;
	return true;
}

/* Appends a page's items (copies of the structs: their strings stay in
 * the page's own memory, kept until ctl_pages_free). */
static bool pages_append(struct ctl_pages *p, const struct client_response *r)
{
	size_t need = p->count + r->n;
	if (!r->n)
		return true;
	if (r->leases) {
		if (!pages_grow((void **)&p->leases, &p->cap, need,
				sizeof(*p->leases)))
			return false;
		memcpy(p->leases + p->count, r->leases,
		       r->n * sizeof(*r->leases));
	} else {
		if (!pages_grow((void **)&p->kvs, &p->cap, need,
				sizeof(*p->kvs)))
			return false;
		memcpy(p->kvs + p->count, r->kvs, r->n * sizeof(*r->kvs));
	}
	p->count = need;
	return true;
}

/* One page: loud (ctl_call) when quiet_ms is 0, else without a word and
 * bounded by quiet_ms (a poll while the cluster changes hands). */
static int page_call(struct ctl *c, const struct client_request *q,
		     const char *what, uint64_t quiet_ms,
		     struct tclient_result *res)
{
	if (!quiet_ms)
		return ctl_call(c, q, what, res);
	struct tclient_options o;
	ctl_client_options(c, &o);
	o.log = NULL;
	o.timeout_ms = quiet_ms;
	int st = tclient_call_sync(&o, q, quiet_ms, res);
	return st < 0 ? CTL_EXIT_ERROR : ctl_exit_for(st);
}

static int pages_loop(struct ctl *c, const struct client_request *q0,
		      const char *what, uint64_t quiet_ms, struct ctl_pages *p)
{
	struct client_request q = *q0;
	bool leases = q.op == CLIENT_OP_LEASE_LIST_PAGE;
	memset(p, 0, sizeof(*p));
	for (;;) {
		if (!pages_grow((void **)&p->pages, &p->cap_pages, p->n + 1,
				sizeof(*p->pages)))
			goto oom;
		struct tclient_result *pg = &p->pages[p->n++];
		int code = page_call(c, &q, what, quiet_ms, pg);
		if (code != CTL_EXIT_OK)
			return code;
		const struct client_response *r = &pg->r;
		if (!pages_append(p, r))
			goto oom;
		if (!r->more)
			return CTL_EXIT_OK;
		if (!r->n) {
			if (!quiet_ms)
				fprintf(stderr,
					CTL_PROG
					": %s: the witness says "
					"there is more but sent an empty "
					"page\n",
					what);
			return CTL_EXIT_ERROR;
		}
		/* The next page starts after the last item of this one (its
		 * bytes live in this page's memory until ctl_pages_free). */
		q.start_after = leases ? r->leases[r->n - 1].name
				       : r->kvs[r->n - 1].key;
	}
oom:
	if (!quiet_ms)
		fprintf(stderr, CTL_PROG ": %s: out of memory\n", what);
	return CTL_EXIT_ERROR;
}

int ctl_call_pages(struct ctl *c, const struct client_request *q,
		   const char *what, struct ctl_pages *p)
{
	return pages_loop(c, q, what, 0, p);
}

int ctl_call_pages_quiet(struct ctl *c, const struct client_request *q,
			 uint64_t timeout_ms, struct ctl_pages *p)
{
	return pages_loop(c, q, "list", timeout_ms ? timeout_ms : 1, p);
}

void ctl_pages_free(struct ctl_pages *p)
{
	for (size_t i = 0; i < p->n; i++)
		tclient_result_free(&p->pages[i]);
	free(p->pages);
	free(p->leases);
	free(p->kvs);
	memset(p, 0, sizeof(*p));
}
