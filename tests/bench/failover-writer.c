/*
 * failover-writer.c — a long-lived client that writes the way a primary's
 * agent does, for tests/bench/witness-failover: it logs every answer, and
 * the script finds in that log how long the writes stopped around each
 * kill of the witness leader.
 *
 *   failover-writer ENDPOINTS [INTERVAL_MS]
 *
 * One tclient with tenure-agent's options (fencing/agent.c,
 * connect_witnesses, at the default lease_ttl 2500 ms and renew_interval
 * 500 ms): each request's default deadline one TTL, connect timeout one
 * renew interval, backoff from 20 ms to a fifth of the renew interval, no
 * circuit breaker.
 * It acquires the lease "wfail/primary" (TTL 2500 ms), then alternates a
 * renewal of it and a put of "wfail/key", one request at a time,
 * INTERVAL_MS (default 20) after the previous answer.  Each attempt waits
 * at most one renew interval (fencing/renew_retry.h), and one that got no
 * answer is followed at once by the next request, as the agent's renewal
 * retry does.  So the log shows what a renewing agent would have seen,
 * sampled every INTERVAL_MS instead of every 500 ms.
 *
 * stdout, one line per answer: "MS RESULT OP STATUS LATENCY_MS", MS the
 * CLOCK_REALTIME of the answer in ms (the clock of the script's `date
 * +%s%N`), RESULT ok, fail or lost (a renewal the witnesses answered "not
 * the holder": the lease lapsed at the witnesses, which a leader change
 * must never cause; the lease is then acquired again).  Runs until SIGTERM
 * or SIGINT; exit 0, or 1 when it could not start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "proto/tclient.h"

#define MAX_ENDPOINTS 16
#define LEASE_NAME "wfail/primary"
#define KEY_NAME "wfail/key"
#define LEASE_TTL_MS 2500
#define RENEW_INTERVAL_MS 500

struct writer {
	uv_loop_t *loop;
	struct tclient *tc;
	uv_timer_t next;
	uv_signal_t sigterm, sigint;
	uint64_t interval_ms;
	uint64_t token; /* 0: the lease is not held */
	uint64_t sent_ms;
	unsigned long long count;
	bool put_next; /* alternate renewals and puts */
	bool stopping;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *op_word(uint32_t op)
{
	return op == CLIENT_OP_LEASE_ACQUIRE ? "acquire"
	       : op == CLIENT_OP_LEASE_RENEW ? "renew"
					     : "put";
}

static void send_next(struct writer *w);

/* The library's own lines (redirects, lost connections), timed like the
 * answers, on stderr: what explains a gap. */
static void on_log(void *arg, const char *level, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%llu %s %s\n", (unsigned long long)wall_ms(), level,
		msg);
}

static void on_next_timer(uv_timer_t *t)
{
	send_next(t->data);
}

/* The next request goes after the interval, or at once when this one got
 * no answer (the agent's immediate renewal retry). */
static void schedule(struct writer *w, bool no_answer)
{
	if (!w->stopping)
		uv_timer_start(&w->next, on_next_timer,
			       no_answer ? 0 : w->interval_ms, 0);
}

struct call {
	struct writer *w;
	uint32_t op;
};

static void on_answer(void *arg, int status, const struct client_response *r)
{
	struct call *c = arg;
	struct writer *w = c->w;
	uint64_t now = wall_ms();
	const char *result = status == CLIENT_OK ? "ok" : "fail";

	if (c->op == CLIENT_OP_LEASE_ACQUIRE && status == CLIENT_OK && r)
		w->token = r->lease.token;
	if (c->op == CLIENT_OP_LEASE_RENEW && client_status_is_no(status)) {
		result = "lost";
		w->token = 0;
	}
	if (status != CLIENT_ESHUTDOWN)
		printf("%llu %s %s %s %llu\n", (unsigned long long)now, result,
		       op_word(c->op), client_status_name(status),
		       (unsigned long long)(wall_ms() - w->sent_ms));
	schedule(w, status == CLIENT_ETIMEOUT || status == CLIENT_EUNKNOWN);
	free(c);
}

static void send_next(struct writer *w)
{
	char value[32];
	struct call *c = malloc(sizeof(*c));
	struct client_request q = {
		.name = { LEASE_NAME, strlen(LEASE_NAME) },
		.holder = { "wfail/1", 7 },
		.lease_token = w->token,
		.ttl_ms = LEASE_TTL_MS,
	};

	if (!c || w->stopping) {
		free(c);
		return;
	}
	if (!w->token) {
		q.op = CLIENT_OP_LEASE_ACQUIRE;
	} else if (w->put_next) {
		snprintf(value, sizeof(value), "%llu", ++w->count);
		q = (struct client_request){ .op = CLIENT_OP_PUT };
		q.key = (struct client_str){ KEY_NAME, strlen(KEY_NAME) };
		q.value = (struct client_str){ value, strlen(value) };
	} else {
		q.op = CLIENT_OP_LEASE_RENEW;
	}
	if (w->token)
		w->put_next = !w->put_next;
	c->w = w;
	c->op = q.op;
	w->sent_ms = wall_ms();
	if (tclient_request(w->tc, &q, RENEW_INTERVAL_MS, on_answer, c)) {
		free(c);
		schedule(w, false);
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct writer *w = s->data;

	(void)signum;
	w->stopping = true;
	uv_close((uv_handle_t *)&w->sigterm, NULL);
	uv_close((uv_handle_t *)&w->sigint, NULL);
	uv_close((uv_handle_t *)&w->next, NULL);
	tclient_close(w->tc, NULL, NULL);
}

static size_t split_endpoints(char *list, const char **out)
{
	char *save = NULL;
	size_t n = 0;

	for (char *e = strtok_r(list, ",", &save); e && n < MAX_ENDPOINTS;
	     e = strtok_r(NULL, ",", &save))
		out[n++] = e;
	return n;
}

int main(int argc, char **argv)
{
	const char *endpoints[MAX_ENDPOINTS];
	struct writer w = { .interval_ms = 20 };
	uv_loop_t loop;

	if (argc < 2 || argc > 3) {
		fprintf(stderr,
			"usage: failover-writer ENDPOINTS [INTERVAL_MS]\n");
		return 1;
	}
	if (argc == 3)
		w.interval_ms = strtoull(argv[2], NULL, 10);
	char *eps = strdup(argv[1]);
	struct tclient_options o = {
		.endpoints = endpoints,
		.n_endpoints = eps ? split_endpoints(eps, endpoints) : 0,
		.client_name = "failover-writer",
		.timeout_ms = LEASE_TTL_MS,
		.connect_timeout_ms = RENEW_INTERVAL_MS,
		.backoff_base_ms = 20,
		.backoff_cap_ms = RENEW_INTERVAL_MS / 5,
		.breaker_threshold = 1000000,
		.log = on_log,
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	uv_loop_init(&loop);
	w.loop = &loop;
	if (tclient_new(&loop, &o, &w.tc) != 0) {
		fprintf(stderr, "failover-writer: bad endpoints '%s'\n",
			argv[1]);
		return 1;
	}
	uv_timer_init(&loop, &w.next);
	w.next.data = &w;
	uv_signal_init(&loop, &w.sigterm);
	uv_signal_init(&loop, &w.sigint);
	w.sigterm.data = w.sigint.data = &w;
	uv_signal_start(&w.sigterm, on_signal, SIGTERM);
	uv_signal_start(&w.sigint, on_signal, SIGINT);
	send_next(&w);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	free(eps);
	return 0;
}
