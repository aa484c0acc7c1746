/*
 * fleet_stats.c — see fleet_stats.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "proto/client.h"
#include "proto/tclient.h"
#include "tests/helpers/fleet_stats.h"

#define FINE_US 100     /* step below 100 ms */
#define COARSE_US 10000 /* step above */
#define N_FINE 1000
#define N_COARSE 990
#define N_BUCKETS (N_FINE + N_COARSE + 1)
#define N_OPS 0x400

struct latency {
	uint64_t bucket[N_BUCKETS];
	uint64_t answered, failed; /* failed: any status but OK */
	uint64_t max_us;
};

static struct latency primary_renew, member_renew;
static uint64_t ops[N_OPS];
static uint64_t window_start_ns;

/* The renewal log: every answered primary renewal while it is on.  A
 * lease is named by a hash of its name (no string kept per renewal);
 * wall-clock times so the benchmark can set them beside its own. */
struct renewal {
	uint64_t sent_ms, answered_ms, lease;
};
static struct renewal *log_v;
static size_t log_n, log_cap;
static bool log_on;

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t lease_hash(const struct client_str *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	for (size_t i = 0; i < s->len; i++)
		h = (h ^ (unsigned char)s->p[i]) * 1099511628211ULL;
	return h;
}

static void log_renewal(uint64_t sent_ms, uint64_t lease)
{
	if (log_n == log_cap) {
		size_t cap = log_cap ? 2 * log_cap : 4096;
		struct renewal *v = realloc(log_v, cap * sizeof(*v));
		if (!v)
			return; /* a renewal less in the log, not a crash */
		log_v = v;
		log_cap = cap;
	}
	log_v[log_n++] = (struct renewal){ sent_ms, wall_ms(), lease };
}

void fleet_stats_log_start(void)
{
	log_n = 0;
	log_on = true;
}

bool fleet_stats_log_write(FILE *f)
{
	if (!log_on)
		return false;
	for (size_t i = 0; i < log_n; i++)
		fprintf(f, "%llu %llu %016llx\n",
			(unsigned long long)log_v[i].sent_ms,
			(unsigned long long)log_v[i].answered_ms,
			(unsigned long long)log_v[i].lease);
	free(log_v);
	log_v = NULL;
	log_n = log_cap = 0;
	log_on = false;
	return true;
}

void fleet_stats_reset(void)
{
	memset(&primary_renew, 0, sizeof(primary_renew));
	memset(&member_renew, 0, sizeof(member_renew));
	memset(ops, 0, sizeof(ops));
	window_start_ns = uv_hrtime();
}

static size_t bucket_of(uint64_t us)
{
	if (us < (uint64_t)N_FINE * FINE_US)
		return (size_t)(us / FINE_US);
	uint64_t k = (us - (uint64_t)N_FINE * FINE_US) / COARSE_US;
	return k < N_COARSE ? N_FINE + (size_t)k : N_BUCKETS - 1;
}

/* The upper edge of bucket i, in µs. */
static uint64_t bucket_top(size_t i)
{
	if (i < N_FINE)
		return (uint64_t)(i + 1) * FINE_US;
	return (uint64_t)N_FINE * FINE_US +
	       (uint64_t)(i - N_FINE + 1) * COARSE_US;
}

static void record(struct latency *l, uint64_t us, int status)
{
	l->bucket[bucket_of(us)]++;
	l->answered++;
	if (status != CLIENT_OK)
		l->failed++;
	if (us > l->max_us)
		l->max_us = us;
}

/* ---- the wrap ------------------------------------------------------------ */

int __real_tclient_request(struct tclient *c, const struct client_request *req,
			   uint64_t timeout_ms, tclient_cb cb, void *arg);

struct timed {
	tclient_cb cb;
	void *arg;
	uint64_t t0_ns, sent_ms, lease;
	struct latency *into;
};

static void timed_done(void *arg, int status, const struct client_response *r)
{
	struct timed *t = arg;
	record(t->into, (uv_hrtime() - t->t0_ns) / 1000, status);
	if (log_on && t->into == &primary_renew && status == CLIENT_OK)
		log_renewal(t->sent_ms, t->lease);
	t->cb(t->arg, status, r);
	free(t);
}

static bool ends_with(const struct client_str *s, const char *suffix)
{
	size_t n = strlen(suffix);
	return s->len >= n && memcmp(s->p + s->len - n, suffix, n) == 0;
}

int __wrap_tclient_request(struct tclient *c, const struct client_request *req,
			   uint64_t timeout_ms, tclient_cb cb, void *arg);
int __wrap_tclient_request(struct tclient *c, const struct client_request *req,
			   uint64_t timeout_ms, tclient_cb cb, void *arg)
{
	ops[req->op % N_OPS]++;
	if (req->op != CLIENT_OP_LEASE_RENEW)
		return __real_tclient_request(c, req, timeout_ms, cb, arg);
	struct timed *t = malloc(sizeof(*t));
	if (!t)
		return UV_ENOMEM;
	bool primary = ends_with(&req->name, "/primary");
	*t = (struct timed){ cb,
			     arg,
			     uv_hrtime(),
			     primary && log_on ? wall_ms() : 0,
			     primary && log_on ? lease_hash(&req->name) : 0,
			     primary ? &primary_renew : &member_renew };
	int rc = __real_tclient_request(c, req, timeout_ms, timed_done, t);
	if (rc != 0)
		free(t);
	return rc;
}

/* ---- output -------------------------------------------------------------- */

static double percentile_ms(const struct latency *l, double q)
{
	uint64_t want = (uint64_t)(q * (double)l->answered + 0.999999),
		 seen = 0;
	if (!l->answered)
		return -1;
	if (want < 1)
		want = 1;
	for (size_t i = 0; i < N_BUCKETS; i++)
		if ((seen += l->bucket[i]) >= want)
			return (double)bucket_top(i) / 1000.0;
	return (double)l->max_us / 1000.0;
}

static void write_latency(FILE *f, const char *name, const struct latency *l)
{
	fprintf(f,
		"\"%s\":{\"n\":%llu,\"failed\":%llu,\"max_ms\":%.3f,"
		"\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"hist\":[",
		name, (unsigned long long)l->answered,
		(unsigned long long)l->failed, (double)l->max_us / 1000.0,
		percentile_ms(l, 0.5), percentile_ms(l, 0.99),
		percentile_ms(l, 0.999));
	bool first = true;
	for (size_t i = 0; i < N_BUCKETS; i++)
		if (l->bucket[i]) {
			fprintf(f, "%s[%llu,%llu]", first ? "" : ",",
				(unsigned long long)bucket_top(i),
				(unsigned long long)l->bucket[i]);
			first = false;
		}
	fprintf(f, "]}");
}

void fleet_stats_write(FILE *f)
{
	fprintf(f, "{\"window_ms\":%llu,",
		(unsigned long long)((uv_hrtime() - window_start_ns) /
				     1000000));
	write_latency(f, "renew", &primary_renew);
	fprintf(f, ",");
	write_latency(f, "member_renew", &member_renew);
	fprintf(f, ",\"ops\":{");
	bool first = true;
	for (size_t i = 0; i < N_OPS; i++)
		if (ops[i]) {
			fprintf(f, "%s\"%s\":%llu", first ? "" : ",",
				client_op_name((uint32_t)i),
				(unsigned long long)ops[i]);
			first = false;
		}
	fprintf(f, "}");
}
