/*
 * ctl_bench.c — tenurectl bench: N clients, each its own connection with
 * one request in flight, for a duration; prints throughput, latency
 * percentiles and errors.  A benchmark reports figures and never judges
 * them: the exit code is 2 only when nothing succeeded at all.
 *
 * Phases: setup (renew/acquire: one lease per client, or --leases N
 * shared out among the clients; put/get: one key per client), run,
 * teardown (release the leases, delete the keys), so a benchmark leaves
 * the cluster as it found it.  The setup also opens the
 * connections and stops a benchmark of an unreachable cluster before it
 * starts.  Latency is measured from handing the request to the client
 * library to its callback, which is what an application sees.
 *
 * --rate R paces the run: every lease (or key) gets R requests a second,
 * each client sending its own leases' requests evenly spaced, still one
 * at a time.  Latency is then counted from when a request was due, not
 * when it could be sent, so a cluster that falls behind shows it in the
 * percentiles (and ops/s stays under the target) instead of hiding it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/ctl_cluster.h"
#include "proto/limits.h"

#define BENCH_LEASE_TTL_MS 10000
#define BENCH_PAUSE_MS 100

/* ---- latency histogram -------------------------------------------------- */

/* Log-linear buckets of microseconds: exact below 128 us, then 64 buckets
 * per power of two (under 1.6 % error), up to 2^40 us. */
#define HIST_SUB 64
#define HIST_BUCKETS (128 + 34 * HIST_SUB)

struct hist {
	uint64_t counts[HIST_BUCKETS];
	uint64_t n, max_us;
};

static unsigned hist_bucket(uint64_t us)
{
	if (us < 128)
		return (unsigned)us;
	unsigned e = (unsigned)(63 - __builtin_clzll(us)) - 6; /* >= 1 */
	if (e > 34)
		return HIST_BUCKETS - 1;
	return 128 + (e - 1) * HIST_SUB + (unsigned)((us >> e) - HIST_SUB);
}

/* The largest value that falls in bucket b. */
static uint64_t hist_upper(unsigned b)
{
	if (b < 128)
		return b;
	unsigned e = (b - 128) / HIST_SUB + 1;
	uint64_t sub = (b - 128) % HIST_SUB + HIST_SUB;
	return ((sub + 1) << e) - 1;
}

static void hist_add(struct hist *h, uint64_t us)
{
	h->counts[hist_bucket(us)]++;
	h->n++;
	if (us > h->max_us)
		h->max_us = us;
}

/* The q-quantile (0 < q <= 1) in milliseconds. */
static double hist_quantile_ms(const struct hist *h, double q)
{
	if (h->n == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999);
	uint64_t seen = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen >= rank) {
			uint64_t v = hist_upper(b);
			return (double)(v < h->max_us ? v : h->max_us) / 1000.0;
		}
	}
	return (double)h->max_us / 1000.0;
}

/* ---- the run ------------------------------------------------------------ */

enum workload {
	W_PUT,
	W_RENEW,
	W_ACQUIRE,
	W_GET
};
static const char *const workload_names[] = { "put", "renew", "acquire",
					      "get" };

enum phase {
	P_SETUP,
	P_RUN,
	P_TEARDOWN,
	P_DONE
};

struct bench;

/* Client i owns the leases (keys) i, i+n, i+2n, ... of the b->names;
 * seq counts its requests in the current phase and picks the next one. */
struct bclient {
	struct bench *b;
	struct tclient *tc;
	char key[SM_KEY_MAX + 1]; /* current key, or lease and holder name */
	unsigned id;
	uint64_t cur; /* name index of the request in flight */
	uint64_t seq;
	uint64_t sent_ns; /* latency counts from here */
	uv_timer_t pause; /* after an error, or until the next is due */
};

struct bench {
	struct ctl *c;
	uv_loop_t loop;
	uv_timer_t tick;
	enum workload w;
	enum phase phase;
	unsigned n;
	struct bclient *cl;
	const char *value;
	size_t value_len;
	uint64_t names, key_size; /* leases or keys, and their name length */
	long pid;                 /* in every name: runs do not collide */
	uint64_t *tokens;         /* per lease; 0: not held */
	uint64_t rate; /* requests per lease per second; 0: unpaced */
	uint64_t duration_ms, start_ns, last_ns;
	size_t inflight;
	struct hist h;
	uint64_t ops, errors, ops_last_tick;
	int first_error;
	bool setup_failed, tty;
};

static bool issue(struct bclient *k);

/* How many of the names client i owns. */
static uint64_t owned(const struct bench *b, unsigned i)
{
	return (b->names - i + b->n - 1) / b->n;
}

/* Name number idx, padded to the requested size so that --key-size
 * measures what it says; unique to this process. */
static int name_of(const struct bench *b, uint64_t idx, char *buf)
{
	int len = snprintf(buf, SM_KEY_MAX + 1, "bench-%ld-%llu", b->pid,
			   (unsigned long long)idx);
	if (len < 0 || (uint64_t)len > b->key_size)
		return len < 0 ? SM_KEY_MAX + 1 : len;
	memset(buf + len, '.', (size_t)b->key_size - (size_t)len);
	buf[b->key_size] = '\0';
	return 0;
}

static bool is_lease_workload(enum workload w)
{
	return w == W_RENEW || w == W_ACQUIRE;
}

/* The request a client sends in the current phase. */
static void build(struct bclient *k, struct client_request *q)
{
	struct bench *b = k->b;
	k->cur = k->id + (k->seq % owned(b, k->id)) * b->n;
	name_of(b, k->cur, k->key); /* fits: checked by make_names */
	memset(q, 0, sizeof(*q));
	q->name = q->holder = q->key = ctl_str(k->key);
	q->value.p = b->value;
	q->value.len = b->value_len;
	q->consistency = b->c->consistency;
	q->ttl_ms = BENCH_LEASE_TTL_MS;
	q->lease_token = b->tokens[k->cur];
	if (b->phase == P_SETUP)
		q->op = is_lease_workload(b->w) ? CLIENT_OP_LEASE_ACQUIRE
						: CLIENT_OP_PUT;
	else if (b->phase == P_TEARDOWN)
		q->op = is_lease_workload(b->w) ? CLIENT_OP_LEASE_RELEASE
						: CLIENT_OP_DELETE;
	else
		q->op = b->w == W_PUT       ? CLIENT_OP_PUT
			: b->w == W_RENEW   ? CLIENT_OP_LEASE_RENEW
			: b->w == W_ACQUIRE ? CLIENT_OP_LEASE_ACQUIRE
					    : CLIENT_OP_GET;
}

static void next_phase(struct bench *b);

static void note_error(struct bench *b, int status,
		       const struct client_response *r)
{
	if (b->first_error)
		return;
	b->first_error = status ? status : CLIENT_EINTERNAL;
	fprintf(stderr, CTL_PROG ": bench: first error: %s%s%.*s\n",
		client_status_name(status), r && r->message.len ? ": " : "",
		r ? (int)r->message.len : 0, r ? r->message.p : "");
}

static bool run_open(const struct bench *b, uint64_t now)
{
	return b->phase == P_RUN &&
	       now < b->start_ns + b->duration_ms * 1000000;
}

static void on_pause(uv_timer_t *t);

/* With --rate: when the client's next request is due. */
static uint64_t due_ns(const struct bclient *k)
{
	const struct bench *b = k->b;
	double period = 1e9 / ((double)owned(b, k->id) * (double)b->rate);
	/* clients start spread over one period, not all at once */
	double offset = period * k->id / b->n;
	return b->start_ns + (uint64_t)(offset + period * (double)k->seq);
}

/* Set-up and teardown: the client's next lease or key, skipping leases
 * it does not hold at teardown; false when it has none left. */
static bool issue_setup_teardown(struct bclient *k)
{
	struct bench *b = k->b;
	if (b->phase == P_SETUP && b->setup_failed)
		return false;
	for (; k->seq < owned(b, k->id); k->seq++)
		if (b->phase == P_SETUP || !is_lease_workload(b->w) ||
		    b->tokens[k->id + k->seq * b->n])
			return issue(k);
	return false;
}

/* After an answer: the client's next request (at once, or with --rate
 * when it is due), a pause after an error (a cluster that fails fast
 * would otherwise be asked in a tight loop), or, once nothing is in
 * flight, the next phase.  A pausing or waiting client counts as in
 * flight. */
static void continue_client(struct bclient *k, bool pause)
{
	struct bench *b = k->b;
	uint64_t now = uv_hrtime();
	if (run_open(b, now)) {
		uint64_t wait_ms = pause ? BENCH_PAUSE_MS : 0;
		if (!pause && b->rate) {
			uint64_t due = due_ns(k);
			/* timers have 1 ms steps: closer than that is now */
			wait_ms = due > now + 1000000
					  ? (due - now + 999999) / 1000000
					  : 0;
		}
		if (pause || wait_ms) {
			b->inflight++;
			uv_timer_start(&k->pause, on_pause, wait_ms, 0);
			return;
		}
		if (issue(k))
			return;
	} else if (b->phase == P_SETUP || b->phase == P_TEARDOWN) {
		k->seq++;
		if (issue_setup_teardown(k))
			return;
	}
	if (b->inflight == 0)
		next_phase(b);
}

static void on_pause(uv_timer_t *t)
{
	struct bclient *k = t->data;
	k->b->inflight--;
	continue_client(k, false);
}

/* Latency and throughput count successful requests; failures are
 * counted as errors, whatever their latency. */
static void on_answer(void *arg, int status, const struct client_response *r)
{
	struct bclient *k = arg;
	struct bench *b = k->b;
	uint64_t now = uv_hrtime();
	b->inflight--;
	if (b->phase == P_RUN && status == CLIENT_OK) {
		hist_add(&b->h, (now - k->sent_ns) / 1000);
		b->ops++;
		b->last_ns = now;
	} else if (b->phase == P_RUN) {
		b->errors++;
		b->last_ns = now;
		note_error(b, status, r);
	} else if (b->phase == P_SETUP && status != CLIENT_OK) {
		note_error(b, status, r);
		b->setup_failed = true;
	} else if (b->phase == P_SETUP && is_lease_workload(b->w)) {
		b->tokens[k->cur] = r->lease.token;
	}
	continue_client(k, status != CLIENT_OK);
}

/* False only when out of memory: counted, and the client stops. */
static bool issue(struct bclient *k)
{
	struct bench *b = k->b;
	struct client_request q;
	build(k, &q);
	k->sent_ns = uv_hrtime();
	if (b->phase == P_RUN && b->rate) {
		uint64_t due = due_ns(k);
		if (due < k->sent_ns)
			k->sent_ns = due;
	}
	if (tclient_request(k->tc, &q, b->c->timeout_ms, on_answer, k) == 0) {
		if (b->phase == P_RUN)
			k->seq++;
		b->inflight++;
		return true;
	}
	b->errors++;
	note_error(b, CLIENT_EINTERNAL, NULL);
	return false;
}

static void issue_all(struct bench *b)
{
	for (unsigned i = 0; i < b->n; i++) {
		struct bclient *k = &b->cl[i];
		k->seq = 0;
		if (b->phase == P_RUN)
			continue_client(
				k, false); /* issues, or waits with --rate */
		else
			issue_setup_teardown(
				k); /* skips leases never acquired */
	}
	if (b->inflight == 0)
		next_phase(b);
}

static void on_closed(void *arg)
{
	(void)arg;
}

static void finish(struct bench *b)
{
	b->phase = P_DONE;
	for (unsigned i = 0; i < b->n; i++) {
		tclient_close(b->cl[i].tc, on_closed, NULL);
		uv_close((uv_handle_t *)&b->cl[i].pause, NULL);
	}
	uv_close((uv_handle_t *)&b->tick, NULL);
}

static void next_phase(struct bench *b)
{
	if (b->phase == P_SETUP && !b->setup_failed) {
		b->phase = P_RUN;
		b->start_ns = b->last_ns = uv_hrtime();
		issue_all(b);
	} else if (b->phase == P_SETUP || b->phase == P_RUN) {
		/* Tear down also after a failed setup: undo what worked. */
		b->phase = P_TEARDOWN;
		issue_all(b);
	} else if (b->phase == P_TEARDOWN) {
		finish(b);
	}
}

static void on_tick(uv_timer_t *t)
{
	struct bench *b = t->data;
	if (b->phase != P_RUN)
		return;
	double secs = (double)(uv_hrtime() - b->start_ns) / 1e9;
	fprintf(stderr,
		"%sbench %s: %.0f/%llu s  %llu ops  %llu ops/s  "
		"%llu errors%s",
		b->tty ? "\r" : "", workload_names[b->w], secs,
		(unsigned long long)(b->duration_ms + 999) / 1000,
		(unsigned long long)b->ops,
		(unsigned long long)(b->ops - b->ops_last_tick),
		(unsigned long long)b->errors, b->tty ? "   " : "\n");
	b->ops_last_tick = b->ops;
}

/* ---- set-up and results ------------------------------------------------- */

static int parse_workload(struct ctl *c, enum workload *w)
{
	const char *s = ctl_opt(c, "workload");
	if (!s)
		s = "put";
	for (unsigned i = 0; i < 4; i++)
		if (strcmp(s, workload_names[i]) == 0) {
			*w = (enum workload)i;
			return 0;
		}
	return ctl_usage_error(c,
			       "--workload wants put, renew, acquire or "
			       "get, not '%s'",
			       s);
}

#define BENCH_LEASES_MAX 1000000

static int parse_options(struct ctl *c, struct bench *b)
{
	uint64_t n, value_size;
	if (parse_workload(c, &b->w) ||
	    ctl_opt_u64(c, "clients", false, 8, 1, 1000, &n) ||
	    ctl_opt_duration(c, "duration", false, 5000, 1000,
			     &b->duration_ms) ||
	    ctl_opt_u64(c, "key-size", false, 16, 1, SM_KEY_MAX,
			&b->key_size) ||
	    ctl_opt_u64(c, "value-size", false, 64, 0, SM_VALUE_MAX,
			&value_size) ||
	    ctl_opt_u64(c, "leases", false, n, 1, BENCH_LEASES_MAX,
			&b->names) ||
	    ctl_opt_u64(c, "rate", false, 0, 0, 1000000, &b->rate))
		return CTL_EXIT_ERROR;
	if (b->duration_ms == 0)
		return ctl_usage_error(c, "--duration must be more than 0");
	if (is_lease_workload(b->w) && b->key_size > SM_HOLDER_MAX)
		return ctl_usage_error(c,
				       "--key-size is at most %u for the "
				       "lease workloads (it sizes the lease "
				       "and "
				       "holder names)",
				       SM_HOLDER_MAX);
	if (ctl_opt(c, "leases") && !is_lease_workload(b->w))
		return ctl_usage_error(c, "--leases is for the renew and "
					  "acquire workloads");
	if (b->names < n)
		return ctl_usage_error(c,
				       "--leases %llu is fewer than "
				       "--clients %llu: each client needs one",
				       (unsigned long long)b->names,
				       (unsigned long long)n);
	b->n = (unsigned)n;
	b->value_len = (size_t)value_size;
	return 0;
}

/* The longest name (the last) must fit in --key-size. */
static int make_names(struct ctl *c, struct bench *b)
{
	char buf[SM_KEY_MAX + 1];
	int need = name_of(b, b->names - 1, buf);
	if (need)
		return ctl_usage_error(c,
				       "--key-size %llu is too small for "
				       "unique names (%d needed)",
				       (unsigned long long)b->key_size, need);
	for (unsigned i = 0; i < b->n; i++) {
		b->cl[i].b = b;
		b->cl[i].id = i;
	}
	return 0;
}

static void print_results(struct bench *b, double secs)
{
	double rate = secs > 0 ? (double)b->ops / secs : 0;
	double p50 = hist_quantile_ms(&b->h, 0.5);
	double p99 = hist_quantile_ms(&b->h, 0.99);
	double p999 = hist_quantile_ms(&b->h, 0.999);
	double max = (double)b->h.max_us / 1000.0;
	if (b->c->format != CTL_JSON) {
		printf("workload     %s\nclients      %u\nduration     %.2f s\n"
		       "ops          %llu\nops/s        %.1f\np50          "
		       "%.3f ms\n"
		       "p99          %.3f ms\np99.9        %.3f ms\n"
		       "max          %.3f ms\nerrors       %llu\n",
		       workload_names[b->w], b->n, secs,
		       (unsigned long long)b->ops, rate, p50, p99, p999, max,
		       (unsigned long long)b->errors);
		if (ctl_opt(b->c, "leases") || b->rate)
			printf("leases       %llu\nrate         %llu/s each "
			       "(target %llu ops/s)\n",
			       (unsigned long long)b->names,
			       (unsigned long long)b->rate,
			       (unsigned long long)(b->names * b->rate));
		return;
	}
	struct json j;
	json_init_file(&j, stdout, 0);
	json_object(&j);
	json_key(&j, "workload");
	ctl_json_cstr(&j, ctl_str(workload_names[b->w]));
	json_key(&j, "clients");
	json_u64(&j, b->n);
	json_key(&j, "duration_s");
	json_double(&j, secs);
	json_key(&j, "ops");
	json_u64(&j, b->ops);
	const char *keys[] = { "ops_per_sec", "p50_ms", "p99_ms", "p999_ms",
			       "max_ms" };
	const double vals[] = { rate, p50, p99, p999, max };
	for (size_t i = 0; i < 5; i++) {
		json_key(&j, keys[i]);
		json_double(&j, vals[i]);
	}
	json_key(&j, "errors");
	json_u64(&j, b->errors);
	if (ctl_opt(b->c, "leases") || b->rate) {
		json_key(&j, "leases");
		json_u64(&j, b->names);
		json_key(&j, "rate");
		json_u64(&j, b->rate);
	}
	json_end(&j);
}

static int start_clients(struct bench *b)
{
	struct tclient_options o;
	ctl_client_options(b->c, &o);
	for (unsigned i = 0; i < b->n; i++) {
		uv_timer_init(&b->loop, &b->cl[i].pause);
		b->cl[i].pause.data = &b->cl[i];
		int rv = tclient_new(&b->loop, &o, &b->cl[i].tc);
		if (rv) {
			fprintf(stderr,
				CTL_PROG ": bench: cannot start client "
					 "%u: %s\n",
				i, uv_strerror(rv));
			for (unsigned k = 0; k <= i; k++) {
				if (k < i)
					tclient_close(b->cl[k].tc, on_closed,
						      NULL);
				uv_close((uv_handle_t *)&b->cl[k].pause, NULL);
			}
			return CTL_EXIT_ERROR;
		}
	}
	return 0;
}

static int run_bench(struct bench *b)
{
	if (start_clients(b)) {
		uv_run(&b->loop, UV_RUN_DEFAULT);
		return CTL_EXIT_ERROR;
	}
	uv_timer_init(&b->loop, &b->tick);
	b->tick.data = b;
	uv_timer_start(&b->tick, on_tick, 1000, 1000);
	/* put's set-up writes each client's key once: it also opens the
	 * connections, so that connecting is not measured. */
	b->phase = P_SETUP;
	b->start_ns = b->last_ns = uv_hrtime();
	issue_all(b);
	uv_run(&b->loop, UV_RUN_DEFAULT);
	if (b->tty)
		fputc('\n', stderr);
	if (b->setup_failed) {
		fprintf(stderr,
			CTL_PROG ": bench: the set-up (%s) failed; "
				 "nothing was measured\n",
			is_lease_workload(b->w) ? "acquiring the leases"
						: "writing the keys");
		return CTL_EXIT_ERROR;
	}
	print_results(b, (double)(b->last_ns - b->start_ns) / 1e9);
	if (b->ops == 0 && b->errors > 0) {
		fprintf(stderr, CTL_PROG ": bench: every request failed\n");
		return CTL_EXIT_ERROR;
	}
	return CTL_EXIT_OK;
}

int ctl_cmd_bench(struct ctl *c)
{
	struct bench *b = calloc(1, sizeof(*b));
	int code = CTL_EXIT_ERROR;
	if (!b)
		return CTL_EXIT_ERROR;
	b->c = c;
	b->tty = isatty(2);
	b->pid = (long)getpid();
	if (parse_options(c, b))
		goto out;
	b->cl = calloc(b->n, sizeof(*b->cl));
	b->tokens = calloc(b->names, sizeof(*b->tokens));
	char *value = malloc(b->value_len + 1);
	b->value = value;
	if (!b->cl || !b->tokens || !value || make_names(c, b))
		goto out;
	memset(value, 'v', b->value_len);
	if (uv_loop_init(&b->loop))
		goto out;
	code = run_bench(b);
	uv_loop_close(&b->loop);
out:
	free(b->cl);
	free(b->tokens);
	free((char *)b->value);
	free(b);
	return code;
}
