/*
 * pgnemesis — a checked workload against a tenure-managed Postgres
 * cluster under faults (tests only): bank transfers, bank reads and
 * appends through every node and HAProxy, a seeded schedule of faults
 * made by an external command, the primary lease polled from the
 * witnesses; then the whole history is checked (tests/helpers/nemcheck.h).
 *
 *   pgnemesis run --node NAME=CONNINFO [--node ...] [--haproxy CONNINFO]
 *                 --history FILE [--duration 60] [--seed S]
 *                 [--clients 2] [--accounts 8] [--total 8000]
 *                 [--timeout-ms 2500] [--fault-cmd PATH]
 *                 [--faults KIND,...] [--fault-gap-s 3:8]
 *                 [--fault-hold-s 1:5] [--lease-cmd 'SHELL COMMAND']
 *                 [--settle-s 60] [--min-ok 50] [--every-kind]
 *                 [--split-hosts HOST,...] [--lease-trace FILE ...]
 *   pgnemesis check --history FILE [--min-ok N] [--lease-trace FILE ...]
 *
 * run: makes the tables on the node that takes writes (dropping any of an
 * earlier run), then --clients threads per endpoint (each --node, and
 * HAProxy) do, at random: a transfer (one transaction moving money
 * between two of --accounts accounts and writing its ledger row), a read
 * of the bank's total, or an append of a new unique id.  Every write
 * returns current_setting('cluster_name') (the agent sets it to the node's
 * name) and its timeline, in the same statement: who acknowledged it and
 * in which term.  --lease-cmd (e.g. `tenurectl lease get main/primary -o
 * json`) runs every 100 ms; each answer (holder, token) is a lease
 * observation, and each acked write also records the token the poller
 * last saw its node hold.  Meanwhile one fault at a time: after a random
 * pause (--fault-gap-s MIN:MAX) a kind drawn from --faults (weighted, see
 * fault_kinds) hits the current primary or a random node:
 *   FAULTCMD KIND NODE [ARGS]
 * and, for a kind that has one, its undoing follows within --fault-hold-s
 * (partition, partition-one-way, partition-primary-from-witnesses, delay,
 * loss: heal NODE; isolate-witness-leader, partition-split: heal all;
 * freeze: thaw NODE; crash: restart NODE; skew NODE 30: skew NODE 0).
 * NODE is a --node name ("leader" for isolate-witness-leader).
 * partition-split NODE HOSTS splits the network in two: NODE with HOSTS
 * (a comma list drawn from --split-hosts, default the other --node
 * names, each with probability 1/2, never none nor all) against the
 * rest.  --every-kind draws the kinds from a shuffled deck, each allowed
 * kind once per round, instead of by weight: a short run makes every
 * kind.  After --duration
 * the clients stop, the last fault is undone, and the final primary (the
 * first node found writable within --settle-s) is read in one snapshot.
 *
 * The history file, one line each (times CLOCK_REALTIME µs):
 *   config ACCOUNTS TOTAL SEED
 *   op append|transfer|read ENDPOINT NODE START END ok|failed|unknown
 *      TIMELINE TOKEN  then ID | ID FROM TO AMOUNT | TOTAL
 *   lease T0 T1 HOLDER|- TOKEN M0 M1 HOLDER_ID|-
 *      (M0 M1: CLOCK_MONOTONIC ns; HOLDER_ID the agent's NAME/INCARNATION)
 *   fault KIND NODE START END RC
 *   final NODE / final-append ID / final-ledger ID FROM TO AMOUNT /
 *   final-balance ACCOUNT BALANCE
 * check reads such a file (a run's, or one edited by hand) and checks it.
 * --lease-trace names an agent's lease_trace_file (one per agent): the
 * agents' own requests on the primary lease and the lease observations
 * are then checked for linearizability too (tests/helpers/nemlease.h);
 * no agent request in them, or an undecided check, exits 2.
 *
 * Both print the summary (faults by kind, operations ok / failed /
 * unknown, terms and failovers, violations, the seed) and exit 0 when
 * clean, 1 on a violation, 2 when the run could not be made or tested too
 * little: fewer than --min-ok acknowledged writes, no final state, no
 * lease observation with --lease-cmd, or every fault command failed.
 * Replaying a seed draws the same pauses, kinds and choices (primary or
 * random node), not the same cluster: timing still differs.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/helpers/nemcheck.h"
#include "tests/helpers/pgconn.h"

#define MAX_ENDPOINTS 16
#define MAX_CLIENTS 8
#define MAX_TRACES 16
#define LEASE_POLL_MS 100
#define WHO_SQL                             \
	"current_setting('cluster_name'), " \
	"substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"

struct opts {
	const char *names[MAX_ENDPOINTS], *conninfos[MAX_ENDPOINTS];
	int n_nodes, n_endpoints; /* endpoints: the nodes, then haproxy */
	const char *history, *fault_cmd, *lease_cmd;
	const char *traces[MAX_TRACES]; /* --lease-trace: agents' files */
	int n_traces;
	char faults[512], split_hosts[512];
	bool every_kind;
	double duration_s, gap_min_s, gap_max_s, hold_min_s, hold_max_s;
	double settle_s;
	uint64_t seed;
	long clients, accounts, total, timeout_ms, min_ok;
};

/* What every thread shares: the history file and what the lease poller
 * and the writers last saw. */
struct shared {
	const struct opts *o;
	FILE *f;
	pthread_mutex_t mu;
	atomic_bool stop;
	atomic_llong next_id;
	char holder[NEM_NAME]; /* the lease as last polled */
	uint64_t token;
	char primary[NEM_NAME]; /* the node of the last acked write */
	size_t leases_seen;
};

/* xorshift64*: every random choice comes from the seed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static double rnd_between(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * (double)(rnd(s) >> 11) / (double)(1ULL << 53);
}

static int64_t now_us(void)
{
	return pgconn_clock_us(CLOCK_REALTIME);
}

static uint64_t mono_ns(void)
{
	return (uint64_t)pgconn_clock_us(CLOCK_MONOTONIC) * 1000;
}

static void pause_s(atomic_bool *stop, double s)
{
	int64_t end = pgconn_clock_us(CLOCK_MONOTONIC) + (int64_t)(s * 1e6);
	while (!(stop && atomic_load(stop))) {
		int64_t left = end - pgconn_clock_us(CLOCK_MONOTONIC);
		if (left <= 0)
			return;
		if (left > 50000)
			left = 50000;
		struct timespec ts = { 0, (long)left * 1000 };
		nanosleep(&ts, NULL);
	}
}

static void history_line(struct shared *sh, const char *line)
{
	pthread_mutex_lock(&sh->mu);
	fputs(line, sh->f);
	fflush(sh->f);
	pthread_mutex_unlock(&sh->mu);
}

/* ---- the clients ------------------------------------------------------ */

struct client {
	struct shared *sh;
	int endpoint;
	uint64_t rng;
	struct pgconn pc;
	pthread_t tid;
};

/* Who acknowledged, and on which timeline: the RETURNING columns. */
static void who_from(struct nem_op *op, PGresult *rows, int col)
{
	if (!rows || PQntuples(rows) < 1 || PQnfields(rows) < col + 2)
		return;
	snprintf(op->node, sizeof(op->node), "%s", PQgetvalue(rows, 0, col));
	op->epoch = strtoll(PQgetvalue(rows, 0, col + 1), NULL, 16);
}

static enum pgprobe_result do_transfer(struct client *c, struct nem_op *op,
				       PGresult **rows, char *why, size_t n)
{
	const struct opts *o = c->sh->o;
	op->kind = NEM_TRANSFER;
	op->id = atomic_fetch_add(&c->sh->next_id, 1);
	op->from = (int)(rnd(&c->rng) % (uint64_t)o->accounts);
	op->to = (int)((op->from + 1 +
			rnd(&c->rng) % (uint64_t)(o->accounts - 1)) %
		       o->accounts);
	op->amount = 1 + (int64_t)(rnd(&c->rng) % 50);
	char sql[600];
	/* one UPDATE for both rows: they are locked in one scan, in index
	 * order, so two opposite transfers wait rather than deadlock */
	snprintf(sql, sizeof(sql),
		 "BEGIN; UPDATE nemesis_accounts SET balance = balance + "
		 "CASE id WHEN %d THEN -%" PRId64 " ELSE %" PRId64 " END "
		 "WHERE id IN (%d, %d); INSERT INTO nemesis_ledger VALUES "
		 "(%" PRId64 ", %d, %d, %" PRId64 ") RETURNING " WHO_SQL
		 "; COMMIT",
		 op->from, op->amount, op->amount, op->from, op->to, op->id,
		 op->from, op->to, op->amount);
	op->start_us = now_us();
	return pgconn_query(&c->pc, sql, 0, NULL, o->timeout_ms, rows, why, n);
}

static enum pgprobe_result do_append(struct client *c, struct nem_op *op,
				     PGresult **rows, char *why, size_t n)
{
	char id[24];
	op->kind = NEM_APPEND;
	op->id = atomic_fetch_add(&c->sh->next_id, 1);
	snprintf(id, sizeof(id), "%" PRId64, op->id);
	const char *params[1] = { id };
	op->start_us = now_us();
	return pgconn_query(&c->pc,
			    "INSERT INTO nemesis_append VALUES ($1) "
			    "RETURNING " WHO_SQL,
			    1, params, c->sh->o->timeout_ms, rows, why, n);
}

static enum pgprobe_result do_read(struct client *c, struct nem_op *op,
				   PGresult **rows, char *why, size_t n)
{
	op->kind = NEM_READ;
	op->start_us = now_us();
	enum pgprobe_result r =
		pgconn_query(&c->pc,
			     "SELECT current_setting('cluster_name'), 0, "
			     "sum(balance), "
			     "count(*) FROM nemesis_accounts",
			     0, NULL, c->sh->o->timeout_ms, rows, why, n);
	if (r == PGPROBE_OK && *rows && PQntuples(*rows) == 1) {
		op->total = strtoll(PQgetvalue(*rows, 0, 2), NULL, 10);
		/* a missing account is money gone too */
		if (strtol(PQgetvalue(*rows, 0, 3), NULL, 10) !=
		    c->sh->o->accounts)
			op->total = -1;
	}
	return r;
}

static void record(struct client *c, struct nem_op *op, enum pgprobe_result r,
		   PGresult *rows)
{
	struct shared *sh = c->sh;
	op->end_us = now_us();
	op->outcome = r == PGPROBE_OK                   ? NEM_OK
		      : r == PGPROBE_ERR && !c->pc.lost ? NEM_FAILED
							: NEM_UNKNOWN;
	if (op->kind == NEM_READ && op->outcome == NEM_UNKNOWN)
		op->outcome = NEM_FAILED; /* a read changes nothing */
	if (op->outcome == NEM_OK)
		who_from(op, rows, 0);
	if (op->kind == NEM_READ)
		op->epoch = 0;
	if (op->outcome != NEM_OK || !op->node[0])
		snprintf(op->node, sizeof(op->node), "-");
	if (op->outcome == NEM_OK && !strcmp(op->node, "-"))
		op->outcome = NEM_UNKNOWN; /* acked, but by whom? */
	char line[512];
	pthread_mutex_lock(&sh->mu);
	if (op->outcome == NEM_OK && op->kind != NEM_READ) {
		if (strcmp(sh->holder, op->node) == 0)
			op->token = sh->token;
		snprintf(sh->primary, sizeof(sh->primary), "%s", op->node);
	}
	pthread_mutex_unlock(&sh->mu);
	nem_format_op(op, line, sizeof(line));
	history_line(sh, line);
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	const struct opts *o = c->sh->o;
	while (!atomic_load(&c->sh->stop)) {
		char why[256] = "";
		struct nem_op op = { 0 };
		PGresult *rows = NULL;
		enum pgprobe_result r = PGPROBE_OK;
		snprintf(op.endpoint, sizeof(op.endpoint), "%s",
			 o->names[c->endpoint]);
		if (!c->pc.conn)
			r = pgconn_open(&c->pc, o->conninfos[c->endpoint],
					"pgnemesis", o->timeout_ms, why,
					sizeof(why));
		if (r != PGPROBE_OK) { /* nothing sent: no op */
			pause_s(&c->sh->stop, 0.1);
			continue;
		}
		uint64_t pick = rnd(&c->rng) % 10;
		r = pick < 4   ? do_transfer(c, &op, &rows, why, sizeof(why))
		    : pick < 7 ? do_append(c, &op, &rows, why, sizeof(why))
			       : do_read(c, &op, &rows, why, sizeof(why));
		record(c, &op, r, rows);
		PQclear(rows);
		pause_s(&c->sh->stop, 0.01);
	}
	pgconn_close(&c->pc);
	return NULL;
}

/* ---- the lease poller ---------------------------------------------------- */

/* holder (its node name) and token out of `tenurectl lease get -o json`;
 * false if the answer has neither. */
static bool parse_lease_json(const char *s, struct nem_lease *l)
{
	const char *h = strstr(s, "\"holder\":");
	const char *t = strstr(s, "\"token\":");
	if (!h || !t)
		return false;
	h += strlen("\"holder\":");
	h += strspn(h, " ");
	l->holder[0] = '\0';
	l->holder_id[0] = '\0';
	if (*h == '"') {
		/* the agents hold it as NAME/INSTANCE: the node is NAME */
		size_t n = strcspn(h + 1, "\"/");
		size_t id = strcspn(h + 1, "\"");
		if (n >= sizeof(l->holder) || id >= sizeof(l->holder_id))
			return false;
		memcpy(l->holder, h + 1, n);
		l->holder[n] = '\0';
		memcpy(l->holder_id, h + 1, id);
		l->holder_id[id] = '\0';
	}
	l->token = strtoull(t + strlen("\"token\":"), NULL, 10);
	return true;
}

static void *poller_main(void *arg)
{
	struct shared *sh = arg;
	while (!atomic_load(&sh->stop)) {
		/* both clocks: the wall clock for the writes' checks, the
		 * monotonic one for the agents' traces (nemlease.h) */
		struct nem_lease l = { .t0_us = now_us(), .m0_ns = mono_ns() };
		char out[2048] = "", line[256];
		FILE *p = popen(sh->o->lease_cmd, "r");
		size_t n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
		out[n] = '\0';
		int rc = p ? pclose(p) : -1;
		l.m1_ns = mono_ns();
		l.t1_us = now_us();
		if (rc == 0 && parse_lease_json(out, &l)) {
			pthread_mutex_lock(&sh->mu);
			snprintf(sh->holder, sizeof(sh->holder), "%s",
				 l.holder);
			sh->token = l.token;
			sh->leases_seen++;
			pthread_mutex_unlock(&sh->mu);
			nem_format_lease(&l, line, sizeof(line));
			history_line(sh, line);
		}
		pause_s(&sh->stop, LEASE_POLL_MS / 1000.0);
	}
	return NULL;
}

/* ---- the faults -------------------------------------------------------- */

struct fault_kind {
	const char *kind, *args; /* args: "" or extra words; NULL: drawn */
	int weight;
	const char *undo, *undo_args; /* NULL: nothing to undo */
	const char *undo_node;        /* NULL: the fault's node */
};

/* isolate-witness-leader's node is "leader", not a host, and a split
 * puts drop rules on every host of one side: both are undone by healing
 * every host (one fault at a time, so nothing else is healed). */
static const struct fault_kind fault_kinds[] = {
	{ "partition", "", 2, "heal", "", NULL },
	{ "partition-one-way", "", 1, "heal", "", NULL },
	{ "partition-primary-from-witnesses", "", 2, "heal", "", NULL },
	{ "isolate-witness-leader", "", 1, "heal", "", "all" },
	{ "partition-split", NULL, 2, "heal", "", "all" },
	{ "delay", "50 20", 1, "heal", "", NULL },
	{ "loss", "10", 1, "heal", "", NULL },
	{ "crash", "", 2, "restart", "", NULL },
	{ "freeze", "", 2, "thaw", "", NULL },
	{ "restart", "", 1, NULL, NULL, NULL },
	{ "skew", "30", 1, "skew", "0", NULL },
};
#define N_FAULT_KINDS (sizeof(fault_kinds) / sizeof(*fault_kinds))

static bool fault_allowed(const struct opts *o, const char *kind)
{
	if (!o->faults[0])
		return true;
	size_t n = strlen(kind);
	for (const char *p = o->faults; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, kind, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* FAULTCMD KIND NODE [ARGS]: its exit status (127: could not run). */
static int fault_run(const char *cmd, const char *kind, const char *node,
		     const char *args)
{
	char a1[256] = "", a2[256] = "";
	sscanf(args, "%255s %255s", a1, a2);
	fprintf(stderr, "pgnemesis: fault: %s %s %s\n", kind, node, args);
	pid_t pid = fork();
	if (pid == 0) {
		const char *argv[] = {
			cmd, kind, node, a1[0] ? a1 : NULL, a2[0] ? a2 : NULL,
			NULL
		};
		execv(cmd, (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 127;
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
	if (rc)
		fprintf(stderr, "pgnemesis: fault %s %s exited %d\n", kind,
			node, rc);
	return rc;
}

static const struct fault_kind *fault_pick(const struct opts *o, uint64_t *rng)
{
	int sum = 0;
	for (size_t i = 0; i < N_FAULT_KINDS; i++)
		if (fault_allowed(o, fault_kinds[i].kind))
			sum += fault_kinds[i].weight;
	if (sum == 0)
		return NULL;
	int x = (int)(rnd(rng) % (uint64_t)sum);
	for (size_t i = 0; i < N_FAULT_KINDS; i++) {
		if (!fault_allowed(o, fault_kinds[i].kind))
			continue;
		if (x < fault_kinds[i].weight)
			return &fault_kinds[i];
		x -= fault_kinds[i].weight;
	}
	return NULL;
}

/* --every-kind: the next kind of a deck that holds every allowed kind
 * once, shuffled (from rng) whenever it runs out. */
static const struct fault_kind *fault_deal(const struct opts *o, uint64_t *rng)
{
	static size_t deck[N_FAULT_KINDS], left;
	if (left == 0) {
		for (size_t i = 0; i < N_FAULT_KINDS; i++)
			if (fault_allowed(o, fault_kinds[i].kind))
				deck[left++] = i;
		if (left == 0)
			return NULL;
		for (size_t i = left - 1; i > 0; i--) { /* Fisher-Yates */
			size_t j = (size_t)(rnd(rng) % (i + 1)), t = deck[i];
			deck[i] = deck[j];
			deck[j] = t;
		}
	}
	return &fault_kinds[deck[--left]];
}

/* partition-split's HOSTS: each of --split-hosts (the other nodes by
 * default) but NODE on NODE's side with probability 1/2, at least one
 * and never all (both sides hold a host). */
static void split_args(const struct opts *o, uint64_t *rng, const char *node,
		       char *out, size_t n)
{
	char list[512], *cand[64], *save = NULL;
	size_t nc = 0, len = 0;
	if (o->split_hosts[0])
		snprintf(list, sizeof(list), "%s", o->split_hosts);
	else
		for (int i = 0; i < o->n_nodes; i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%s", len ? "," : "",
						o->names[i]);
	for (char *t = strtok_r(list, ",", &save); t && nc < 64;
	     t = strtok_r(NULL, ",", &save))
		if (strcmp(t, node) != 0)
			cand[nc++] = t;
	out[0] = '\0';
	if (nc == 0)
		return;
	uint64_t mask = rnd(rng) & ((nc < 64 ? 1ULL << nc : 0) - 1);
	if (mask == 0) /* none: one at random */
		mask = 1ULL << (rnd(rng) % nc);
	if (mask == (nc < 64 ? 1ULL << nc : 0) - 1) /* all: one stays out */
		mask &= ~(1ULL << (rnd(rng) % nc));
	len = 0;
	for (size_t i = 0; i < nc && len < n; i++)
		if (mask & (1ULL << i))
			len += (size_t)snprintf(out + len, n - len, "%s%s",
						len ? "," : "", cand[i]);
}

/* Half the time the node that acknowledged the last write: faults on
 * standbys alone would never test a failover. */
static void fault_target(struct shared *sh, uint64_t *rng,
			 const struct fault_kind *k, char *node, size_t n)
{
	const struct opts *o = sh->o;
	bool primary = rnd(rng) % 2 == 0;
	int other = (int)(rnd(rng) % (uint64_t)o->n_nodes);
	if (strcmp(k->kind, "isolate-witness-leader") == 0) {
		snprintf(node, n, "leader");
		return;
	}
	pthread_mutex_lock(&sh->mu);
	snprintf(node, n, "%s",
		 primary && sh->primary[0] ? sh->primary : o->names[other]);
	pthread_mutex_unlock(&sh->mu);
}

/* The schedule, until the duration is over; returns how many faults ran
 * and how many of them failed. */
static void fault_schedule(struct shared *sh, int64_t end_mono, size_t *ran,
			   size_t *failed)
{
	const struct opts *o = sh->o;
	uint64_t rng = o->seed * 2654435761ULL + 1;
	for (;;) {
		pause_s(NULL, rnd_between(&rng, o->gap_min_s, o->gap_max_s));
		if (pgconn_clock_us(CLOCK_MONOTONIC) >= end_mono)
			return;
		const struct fault_kind *k = o->every_kind
						     ? fault_deal(o, &rng)
						     : fault_pick(o, &rng);
		double hold = rnd_between(&rng, o->hold_min_s, o->hold_max_s);
		if (!k)
			continue;
		struct nem_fault f = { .start_us = now_us() };
		char args[512];
		snprintf(f.kind, sizeof(f.kind), "%s", k->kind);
		fault_target(sh, &rng, k, f.node, sizeof(f.node));
		if (k->args)
			snprintf(args, sizeof(args), "%s", k->args);
		else
			split_args(o, &rng, f.node, args, sizeof(args));
		f.rc = fault_run(o->fault_cmd, k->kind, f.node, args);
		if (k->undo) {
			pause_s(NULL, hold);
			int rc = fault_run(o->fault_cmd, k->undo,
					   k->undo_node ? k->undo_node : f.node,
					   k->undo_args);
			f.rc = f.rc ? f.rc : rc;
		}
		f.end_us = now_us();
		char line[256];
		nem_format_fault(&f, line, sizeof(line));
		history_line(sh, line);
		(*ran)++;
		*failed += f.rc != 0;
	}
}

/* ---- set-up and the final state ----------------------------------------- */

/* Runs sql on the first node that takes it, within settle_s; that
 * node's index, or -1. */
static int on_writable_node(const struct opts *o, const char *sql,
			    double settle_s, struct pgconn *keep)
{
	int64_t end = pgconn_clock_us(CLOCK_MONOTONIC) +
		      (int64_t)(settle_s * 1e6);
	char why[256] = "";
	do {
		for (int i = 0; i < o->n_nodes; i++) {
			struct pgconn pc = { 0 };
			if (pgconn_open(&pc, o->conninfos[i], "pgnemesis",
					o->timeout_ms * 4, why,
					sizeof(why)) == PGPROBE_OK &&
			    pgconn_query(&pc, sql, 0, NULL, o->timeout_ms * 4,
					 NULL, why,
					 sizeof(why)) == PGPROBE_OK) {
				if (keep)
					*keep = pc;
				else
					pgconn_close(&pc);
				return i;
			}
			pgconn_close(&pc);
		}
		pause_s(NULL, 0.5);
	} while (pgconn_clock_us(CLOCK_MONOTONIC) < end);
	fprintf(stderr, "pgnemesis: no node took a write within %.0f s: %s\n",
		settle_s, why);
	return -1;
}

static int setup_tables(const struct opts *o)
{
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "BEGIN; DROP TABLE IF EXISTS nemesis_accounts, "
		 "nemesis_ledger, nemesis_append; "
		 "CREATE TABLE nemesis_accounts (id int PRIMARY KEY, "
		 "balance bigint NOT NULL); "
		 "CREATE TABLE nemesis_ledger (id bigint PRIMARY KEY, "
		 "src int NOT NULL, dst int NOT NULL, amount bigint NOT NULL); "
		 "CREATE TABLE nemesis_append (id bigint PRIMARY KEY); "
		 "INSERT INTO nemesis_accounts SELECT g, %ld FROM "
		 "generate_series(0, %ld) g; COMMIT",
		 o->total / o->accounts, o->accounts - 1);
	return on_writable_node(o, sql, o->settle_s, NULL) < 0 ? -1 : 0;
}

static int final_query(struct pgconn *pc, const struct opts *o, const char *sql,
		       PGresult **rows)
{
	char why[256];
	if (pgconn_query(pc, sql, 0, NULL, o->timeout_ms * 4, rows, why,
			 sizeof(why)) == PGPROBE_OK &&
	    *rows)
		return 0;
	fprintf(stderr, "pgnemesis: reading the final state: %s\n", why);
	return -1;
}

/* The final primary's tables, in one snapshot, as history lines. */
static int read_final(struct shared *sh)
{
	const struct opts *o = sh->o;
	struct pgconn pc = { 0 };
	/* a write that commits: this node is the primary now */
	int i = on_writable_node(o,
				 "INSERT INTO nemesis_append VALUES (0) ON "
				 "CONFLICT DO NOTHING",
				 o->settle_s, &pc);
	if (i < 0)
		return -1;
	PGresult *rows[3] = { NULL, NULL, NULL };
	int rc = -1;
	if (final_query(&pc, o,
			"BEGIN ISOLATION LEVEL REPEATABLE READ; "
			"SELECT id FROM nemesis_append WHERE id <> 0",
			&rows[0]) != 0 ||
	    final_query(&pc, o, "SELECT * FROM nemesis_ledger", &rows[1]) !=
		    0 ||
	    final_query(&pc, o, "SELECT * FROM nemesis_accounts; COMMIT",
			&rows[2]) != 0)
		goto out;
	pthread_mutex_lock(&sh->mu);
	fprintf(sh->f, "final %s\n", o->names[i]);
	for (int r = 0; r < PQntuples(rows[0]); r++)
		fprintf(sh->f, "final-append %s\n", PQgetvalue(rows[0], r, 0));
	for (int r = 0; r < PQntuples(rows[1]); r++)
		fprintf(sh->f, "final-ledger %s %s %s %s\n",
			PQgetvalue(rows[1], r, 0), PQgetvalue(rows[1], r, 1),
			PQgetvalue(rows[1], r, 2), PQgetvalue(rows[1], r, 3));
	for (int r = 0; r < PQntuples(rows[2]); r++)
		fprintf(sh->f, "final-balance %s %s\n",
			PQgetvalue(rows[2], r, 0), PQgetvalue(rows[2], r, 1));
	fflush(sh->f);
	pthread_mutex_unlock(&sh->mu);
	rc = 0;
out:
	for (int r = 0; r < 3; r++)
		PQclear(rows[r]);
	pgconn_close(&pc);
	return rc;
}

/* ---- check ---------------------------------------------------------------- */

static int read_history(const char *path, struct nem_history *h)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "pgnemesis: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	char *line = NULL, err[160];
	size_t cap = 0;
	int rc = 0;
	for (long no = 1; rc == 0 && getline(&line, &cap, f) >= 0; no++) {
		if (nem_parse_line(h, line, err, sizeof(err)) >= 0)
			continue;
		fprintf(stderr, "pgnemesis: %s:%ld: %s\n", path, no, err);
		rc = -1;
	}
	free(line);
	fclose(f);
	if (rc == 0 && h->accounts == 0) {
		fprintf(stderr, "pgnemesis: %s: no config line\n", path);
		rc = -1;
	}
	return rc;
}

/* The agents' lease traces (--lease-trace) into h. */
static int read_traces(const struct opts *o, struct nem_history *h)
{
	for (int i = 0; i < o->n_traces; i++) {
		char err[256];
		FILE *f = fopen(o->traces[i], "r");
		if (!f) {
			fprintf(stderr, "pgnemesis: cannot read %s: %s\n",
				o->traces[i], strerror(errno));
			return -1;
		}
		int rc = nem_read_lease_trace(h, f, i, err, sizeof(err));
		fclose(f);
		if (rc) {
			fprintf(stderr, "pgnemesis: %s: %s\n", o->traces[i],
				err);
			return -1;
		}
	}
	return 0;
}

/* Checks the file; the exit status (see the head comment).  need_leases
 * and faults: what the run expected to have tested. */
static int check_file(const struct opts *o, bool need_leases, size_t faults_ran,
		      size_t faults_failed)
{
	const char *path = o->history;
	long min_ok = o->min_ok;
	struct nem_history h;
	struct nem_report r;
	nem_history_init(&h);
	if (read_history(path, &h) != 0 || read_traces(o, &h) != 0 ||
	    nem_check(&h, &r) != 0) {
		nem_history_free(&h);
		return 2;
	}
	nem_report_print(&h, &r, stdout);
	const char *little = NULL;
	if (r.acked_writes < (size_t)min_ok)
		little = "too few acknowledged writes";
	else if (!h.have_final)
		little = "the final state was not read";
	else if (need_leases && h.n_leases == 0)
		little = "no lease observation";
	else if (faults_ran > 0 && faults_failed == faults_ran)
		little = "every fault command failed";
	else if (o->n_traces && !r.lease_checked)
		little = "no agent request on the lease in the traces";
	else if (o->n_traces && r.lease_verdict == LC_UNDECIDED)
		little = "the lease's linearizability was not decided";
	int rc = r.n_violations ? 1 : little ? 2 : 0;
	printf("result: %s%s%s\n",
	       rc == 1   ? "VIOLATION"
	       : rc == 2 ? "NOT TESTED ENOUGH: "
			 : "ok",
	       rc == 2 ? little : "", rc == 1 ? " (replay with --seed)" : "");
	nem_report_free(&r);
	nem_history_free(&h);
	return rc;
}

/* ---- options and main ------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pgnemesis run --node NAME=CONNINFO [--node ...] "
		"[--haproxy CONNINFO]\n"
		"         --history FILE [--duration 60] [--seed S] "
		"[--clients 2]\n"
		"         [--accounts 8] [--total 8000] [--timeout-ms 2500]\n"
		"         [--fault-cmd PATH] [--faults KIND,...] "
		"[--fault-gap-s 3:8]\n"
		"         [--fault-hold-s 1:5] [--lease-cmd 'COMMAND'] "
		"[--settle-s 60] [--min-ok 50]\n"
		"         [--every-kind] [--split-hosts HOST,...] "
		"[--lease-trace FILE ...]\n"
		"       pgnemesis check --history FILE [--min-ok N] "
		"[--lease-trace FILE ...]\n");
}

static int parse_long(const char *s, long min, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

static int parse_range(const char *s, double *lo, double *hi)
{
	char *end;
	*lo = strtod(s, &end);
	if (*end != ':')
		return -1;
	*hi = strtod(end + 1, &end);
	return *end || *lo < 0 || *hi < *lo ? -1 : 0;
}

static int add_endpoint(struct opts *o, const char *name, const char *ci)
{
	if (o->n_endpoints == MAX_ENDPOINTS || !pgprobe_node_valid(name))
		return -1;
	o->names[o->n_endpoints] = name;
	o->conninfos[o->n_endpoints++] = ci;
	return 0;
}

static int parse_one(struct opts *o, const char *a, char *v)
{
	char *end, *eq;
	if (strcmp(a, "--node") == 0) {
		if (!(eq = strchr(v, '=')) || o->n_endpoints != o->n_nodes)
			return -1;
		*eq = '\0';
		if (add_endpoint(o, v, eq + 1) != 0)
			return -1;
		o->n_nodes++;
		return 0;
	}
	if (strcmp(a, "--haproxy") == 0)
		return add_endpoint(o, "haproxy", v);
	if (strcmp(a, "--history") == 0)
		o->history = v;
	else if (strcmp(a, "--fault-cmd") == 0)
		o->fault_cmd = v;
	else if (strcmp(a, "--lease-cmd") == 0)
		o->lease_cmd = v;
	else if (strcmp(a, "--lease-trace") == 0) {
		if (o->n_traces == MAX_TRACES)
			return -1;
		o->traces[o->n_traces++] = v;
	} else if (strcmp(a, "--faults") == 0)
		snprintf(o->faults, sizeof(o->faults), "%s", v);
	else if (strcmp(a, "--split-hosts") == 0)
		snprintf(o->split_hosts, sizeof(o->split_hosts), "%s", v);
	else if (strcmp(a, "--duration") == 0)
		return (o->duration_s = strtod(v, &end)) > 0 && !*end ? 0 : -1;
	else if (strcmp(a, "--settle-s") == 0)
		return (o->settle_s = strtod(v, &end)) > 0 && !*end ? 0 : -1;
	else if (strcmp(a, "--seed") == 0)
		return (o->seed = strtoull(v, &end, 10)) && !*end ? 0 : -1;
	else if (strcmp(a, "--fault-gap-s") == 0)
		return parse_range(v, &o->gap_min_s, &o->gap_max_s);
	else if (strcmp(a, "--fault-hold-s") == 0)
		return parse_range(v, &o->hold_min_s, &o->hold_max_s);
	else if (strcmp(a, "--clients") == 0)
		return parse_long(v, 1, &o->clients) || o->clients > MAX_CLIENTS
			       ? -1
			       : 0;
	else if (strcmp(a, "--accounts") == 0)
		return parse_long(v, 2, &o->accounts);
	else if (strcmp(a, "--total") == 0)
		return parse_long(v, 0, &o->total);
	else if (strcmp(a, "--timeout-ms") == 0)
		return parse_long(v, 10, &o->timeout_ms);
	else if (strcmp(a, "--min-ok") == 0)
		return parse_long(v, 0, &o->min_ok);
	else
		return -1;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	*o = (struct opts){ .duration_s = 60,
			    .gap_min_s = 3,
			    .gap_max_s = 8,
			    .hold_min_s = 1,
			    .hold_max_s = 5,
			    .settle_s = 60,
			    .seed = (uint64_t)now_us(),
			    .clients = 2,
			    .accounts = 8,
			    .total = 8000,
			    .timeout_ms = 2500,
			    .min_ok = 50 };
	for (int i = 2; i < argc; i += 2) {
		if (strcmp(argv[i], "--every-kind") == 0) {
			o->every_kind = true;
			i--; /* a flag: no value */
			continue;
		}
		if (i + 1 >= argc || parse_one(o, argv[i], argv[i + 1]) != 0) {
			fprintf(stderr,
				"pgnemesis: bad or incomplete option %s%s%s\n",
				argv[i], i + 1 < argc ? " " : "",
				i + 1 < argc ? argv[i + 1] : "");
			return -1;
		}
	}
	if (!o->history || (strcmp(argv[1], "run") == 0 && !o->n_nodes)) {
		fprintf(stderr, "pgnemesis: needs --history FILE (and, to run, "
				"--node NAME=CONNINFO)\n");
		return -1;
	}
	if (o->total % o->accounts != 0) {
		fprintf(stderr, "pgnemesis: --total must be a multiple of "
				"--accounts\n");
		return -1;
	}
	return 0;
}

static int start_clients(struct shared *sh, struct client *cl, int *n)
{
	const struct opts *o = sh->o;
	for (int e = 0; e < o->n_endpoints; e++)
		for (long k = 0; k < o->clients; k++) {
			struct client *c = &cl[*n];
			*c = (struct client){ .sh = sh,
					      .endpoint = e,
					      .rng = o->seed + 1 +
						     (uint64_t)*n };
			if (pthread_create(&c->tid, NULL, client_main, c) != 0)
				return -1;
			(*n)++;
		}
	return 0;
}

static int cmd_run(const struct opts *o)
{
	struct shared sh = { .o = o, .f = fopen(o->history, "w") };
	if (!sh.f) {
		fprintf(stderr, "pgnemesis: cannot write %s: %s\n", o->history,
			strerror(errno));
		return 2;
	}
	pthread_mutex_init(&sh.mu, NULL);
	atomic_init(&sh.stop, false);
	atomic_init(&sh.next_id, (long long)now_us());
	fprintf(sh.f, "config %ld %ld %" PRIu64 "\n", o->accounts, o->total,
		o->seed);
	printf("pgnemesis: seed %" PRIu64 "\n", o->seed);
	fflush(stdout);
	if (setup_tables(o) != 0) {
		fclose(sh.f);
		return 2;
	}
	static struct client cl[MAX_ENDPOINTS * MAX_CLIENTS];
	pthread_t poller;
	int n = 0, rc = 0;
	bool polling = o->lease_cmd &&
		       pthread_create(&poller, NULL, poller_main, &sh) == 0;
	if (start_clients(&sh, cl, &n) != 0)
		rc = 2;
	int64_t end = pgconn_clock_us(CLOCK_MONOTONIC) +
		      (int64_t)(o->duration_s * 1e6);
	size_t ran = 0, failed = 0;
	if (rc == 0 && o->fault_cmd)
		fault_schedule(&sh, end, &ran, &failed);
	if (rc == 0) /* what is left of the duration */
		pause_s(NULL,
			(double)(end - pgconn_clock_us(CLOCK_MONOTONIC)) / 1e6);
	atomic_store(&sh.stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(cl[i].tid, NULL);
	if (polling)
		pthread_join(poller, NULL);
	if (rc == 0 && read_final(&sh) != 0)
		fprintf(stderr, "pgnemesis: the final state was not read\n");
	fclose(sh.f);
	pthread_mutex_destroy(&sh.mu);
	if (rc)
		return rc;
	return check_file(o, o->lease_cmd != NULL, ran, failed);
}

int main(int argc, char **argv)
{
	struct opts o;
	if (argc >= 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 ||
	    (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "check") != 0) ||
	    parse_opts(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "check") == 0)
		return check_file(&o, false, 0, 0);
	return cmd_run(&o);
}
