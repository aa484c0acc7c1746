/*
 * fleet-agents — many simulated PostgreSQL clusters against one trio of
 * witnesses, for tests/bench/fleet.  Each cluster is three real agents
 * (fencing/agent.h, agent_start: the agent's own lease, key, decision and
 * action code) on this process's one libuv loop; only what lies below
 * the agent is simulated:
 *
 *   - Postgres: fencing/pg.c is replaced at link time by
 *     tests/helpers/fleet_pg.c, servers in memory that answer the agent's
 *     SQL for a healthy primary and streaming standbys;
 *   - the host: each member has a real data directory (PG_VERSION,
 *     postgresql.auto.conf the agent writes, postmaster.pid naming this
 *     process, which calls itself "postgres-fleet" so that the agent's
 *     postmaster check passes); the commands the agent runs (pg_ctl,
 *     pg_controldata) are answered in-process and fence_pg_kill stops
 *     the simulated server (tests/helpers/fleet_host.c: spawn.c and
 *     fence_pg.c replaced at link time; a fence is counted, it is a
 *     false failover in a benchmark);
 *   - the guard: one socketpair for all the agents of the process,
 *     drained here, instead of a forked tenure-guard per agent;
 *   - the HTTP API listens on 127.0.0.1:0.
 *
 *   fleet-agents --witnesses EPS --clusters N --dir DIR [--first K]
 *       [--scope-prefix fleet] [--user U --secret-file F]
 *       [--lease-ttl MS] [--renew-interval MS] [--sync on|off]
 *       [--stats FILE] [--start-rate N] [--crash-at MS] [--log-level warn]
 *
 * Clusters K .. K+N-1 are scopes PREFIX-%05d with members m1 (the first
 * primary) m2 m3; data under DIR/c%05d/mX; --start-rate clusters start
 * a second (default 20).  SIGUSR1 starts a new
 * measuring window, SIGUSR2 writes the window to FILE (fleet_stats.h plus
 * the clusters' state); SIGHUP starts a renewal log that the next SIGUSR2
 * writes to FILE.renewals, before FILE (fleet_stats.h); SIGTERM/SIGINT end the process (it leaves the
 * leases to run out, as a crashed host would).  --crash-at MS crashes
 * cluster K's primary MS after the start (its agent stops dead, its
 * Postgres with it) and prints the failover it sees.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/pgconf.h"
#include "tests/helpers/fleet_host.h"
#include "tests/helpers/fleet_pg.h"
#include "tests/helpers/fleet_stats.h"

#define MEMBERS 3

struct member_sim {
	struct agent_conf conf;
	struct agent *agent;
	struct fleet_pg_server pg;
	char scope[64], name[16], listen[32];
	char log_file[600];
	bool crashed;
};

struct opts {
	const char *witnesses, *dir, *prefix, *user, *secret_file, *stats;
	int clusters, first;
	int64_t ttl, renew, crash_at, start_rate;
	int sync, log_level;
};

static struct opts o = {
	.prefix = "fleet",
	.ttl = 2500,
	.renew = 500,
	.sync = 0,
	.start_rate = 20,
	.log_level = LOG_WARN,
};
static struct member_sim *sims;
static size_t n_sims;
static uv_loop_t *loop;
static uint64_t start_ms, crashed_ms;
static struct guard shared_guard = { -1, 0 };
static uv_poll_t guard_poll;
static int guard_drain_fd = -1;

/* ---- the shared guard channel -------------------------------------------- */

static void on_guard_readable(uv_poll_t *h, int status, int events)
{
	struct guard_msg m;
	(void)h;
	(void)status;
	(void)events;
	/* whole messages or not: they are only counted as gone */
	while (recv(guard_drain_fd, &m, sizeof(m), MSG_DONTWAIT) > 0)
		;
}

/* A stream, with room for every agent's arms between two drains: a
 * packet socket refuses a sender once 512 messages wait (the kernel's
 * net.unix.max_dgram_qlen), and a loop busy with a reconnect storm queues
 * more than that: the refusals read as "the fence guard is gone", fences
 * a real guard per agent would never cause. */
#define GUARD_CHANNEL_BYTES (8 << 20)

static int guard_channel(void)
{
	int sv[2], room = GUARD_CHANNEL_BYTES;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) != 0)
		return -1;
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &room, sizeof(room));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &room, sizeof(room));
	shared_guard.fd = sv[0];
	guard_drain_fd = sv[1];
	uv_poll_init(loop, &guard_poll, sv[1]);
	return uv_poll_start(&guard_poll, UV_READABLE, on_guard_readable);
}

/* ---- the simulated hosts ------------------------------------------------- */

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int mkdirs(const char *path)
{
	char p[600];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0700) != 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* DIR/cK/mX: a data directory as initdb (m1) or a base backup of it
 * (m2, m3: standby.signal, following m1) leaves it, cleanly shut down:
 * the agents adopt it (S/initialize) and start it through the fake
 * pg_ctl. */
static int make_datadir(struct member_sim *m, int k, int x, int first_port)
{
	char text[64], conninfo[512] = "", port[16], app[16];
	char pidfile[600];
	snprintf(m->pg.datadir, sizeof(m->pg.datadir), "%s/c%05d/m%d", o.dir, k,
		 x);
	snprintf(m->log_file, sizeof(m->log_file), "%s.log", m->pg.datadir);
	if (mkdirs(m->pg.datadir) != 0)
		return -1;
	snprintf(pidfile, sizeof(pidfile), "%s/postmaster.pid", m->pg.datadir);
	unlink(pidfile); /* of an earlier run: stopped */
	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)m->pg.sysid);
	if (write_file(m->pg.datadir, "PG_VERSION", "15\n") ||
	    write_file(m->pg.datadir, "fleet_sysid", text) ||
	    write_file(m->pg.datadir, "pg_hba.conf", ""))
		return -1;
	if (x == 1)
		return 0;
	snprintf(port, sizeof(port), "%d", first_port);
	snprintf(app, sizeof(app), "m%d", x);
	pgconf_conninfo_append(conninfo, sizeof(conninfo), "host", "127.0.0.1");
	pgconf_conninfo_append(conninfo, sizeof(conninfo), "port", port);
	pgconf_conninfo_append(conninfo, sizeof(conninfo), "user",
			       "replicator");
	pgconf_conninfo_append(conninfo, sizeof(conninfo), "application_name",
			       app);
	/* as pgconf_auto_set writes it ('' and \\ doubled), without its
	 * fsyncs: thousands of them on this one loop, on a disk other jobs
	 * share, would stall every agent of the process */
	char line[1200];
	size_t n = (size_t)snprintf(line, sizeof(line), "primary_conninfo = '");
	for (const char *p = conninfo; *p && n + 4 < sizeof(line); p++) {
		if (*p == '\'' || *p == '\\')
			line[n++] = *p;
		line[n++] = *p;
	}
	snprintf(line + n, sizeof(line) - n, "'\n");
	if (write_file(m->pg.datadir, "standby.signal", "") ||
	    write_file(m->pg.datadir, "postgresql.auto.conf", line))
		return -1;
	return 0;
}

static void fill_conf(struct member_sim *m)
{
	struct agent_conf *c = &m->conf;
	c->scope = m->scope;
	c->name = m->name;
	c->witnesses = (char *)o.witnesses;
	c->witness_user = (char *)o.user;
	c->witness_secret_file = (char *)o.secret_file;
	c->lease_ttl = o.ttl;
	c->renew_interval = o.renew;
	c->fence_time = 200;
	c->pause_margin = 300;
	c->pg_bin_dir = "/fleet-agents/bin"; /* fleet_host.c answers */
	c->pg_log_file = m->log_file;
	c->pg_data_dir = m->pg.datadir;
	c->pg_listen = m->listen;
	c->pg_superuser = "postgres";
	c->pg_database = "postgres";
	c->replication_user = "replicator";
	c->pg_options = "";
	c->listen_http = "127.0.0.1:0";
	c->synchronous_mode = o.sync;
	c->synchronous_node_count = 1;
	c->maximum_lag_on_failover = 1 << 20;
	c->failover_priority = 1;
	c->replicatefrom = "";
	c->callback_timeout = 30000;
	c->log_level = o.log_level;
}

static int start_member(struct member_sim *m, int k, int x, int port,
			int first_port)
{
	char err[512];
	snprintf(m->scope, sizeof(m->scope), "%s-%05d", o.prefix, k);
	snprintf(m->name, sizeof(m->name), "m%d", x);
	snprintf(m->listen, sizeof(m->listen), "127.0.0.1:%d", port);
	snprintf(m->pg.name, sizeof(m->pg.name), "%s", m->name);
	m->pg.port = port;
	m->pg.recovery = x != 1;
	m->pg.timeline = 1;
	m->pg.lsn = 50331976;
	m->pg.sysid = 7300000000000000000ull + (uint64_t)k;
	if (make_datadir(m, k, x, first_port) != 0) {
		fprintf(stderr, "fleet-agents: %s: %s\n", m->pg.datadir,
			strerror(errno));
		return -1;
	}
	fleet_pg_reload(&m->pg);
	if (fleet_pg_register(&m->pg) != 0) {
		fprintf(stderr, "fleet-agents: port %d taken\n", port);
		return -1;
	}
	fill_conf(m);
	if (agent_start(loop, &m->conf, &shared_guard, &m->agent, err,
			sizeof(err)) != 0) {
		fprintf(stderr, "fleet-agents: %s/%s: %s\n", m->scope, m->name,
			err);
		return -1;
	}
	return 0;
}

/* ---- start-up ------------------------------------------------------------ */

static uv_timer_t start_timer;
static int n_started; /* clusters whose agents run */

/* One cluster per tick, --start-rate a second: thousands of agents that
 * all connect, authenticate (a SCRAM proof each) and look at a stopped
 * Postgres (a pg_controldata each) in the same instant would hold this
 * one loop for longer than their connect timeout, which real hosts,
 * each doing its own, never do. */
static void on_start_timer(uv_timer_t *t)
{
	int c = n_started;
	int first_port = FLEET_PG_PORT_BASE + c * MEMBERS;
	for (int x = 1; x <= MEMBERS; x++)
		if (start_member(&sims[c * MEMBERS + x - 1], o.first + c, x,
				 first_port + x - 1, first_port) != 0)
			exit(1);
	if (++n_started < o.clusters)
		return;
	uv_timer_stop(t);
	printf("started: %d clusters, %zu agents\n", o.clusters, n_sims);
	fflush(stdout);
}

/* ---- a crash of one cluster's primary ------------------------------------ */

static void closed_nothing(void *arg)
{
	(void)arg;
}

static void crash(struct member_sim *m)
{
	struct agent *a = m->agent;
	a->stopping = true; /* nothing of it runs again */
	uv_timer_stop(&a->tick_timer);
	uv_timer_stop(&a->lease_timer);
	uv_timer_stop(&a->fence_timer);
	tclient_close(a->tc, closed_nothing, NULL);
	api_close(a->api, closed_nothing, NULL);
	m->pg.down = true;
	m->crashed = true;
}

/* The member of cluster c (index into sims / MEMBERS) that holds the
 * primary lease and runs a primary, or NULL. */
static struct member_sim *writable(size_t c)
{
	for (size_t j = 0; j < MEMBERS; j++) {
		struct member_sim *m = &sims[c * MEMBERS + j];
		if (!m->crashed && m->agent->primary.held &&
		    lease_primary_valid(m->agent) && !m->pg.recovery &&
		    !m->pg.down)
			return m;
	}
	return NULL;
}

static uv_timer_t crash_timer;

static void watch_failover(uv_timer_t *t)
{
	struct member_sim *p = writable(0);
	if (!p || p->crashed)
		return;
	printf("failover: %s/%s primary %llu ms after the crash\n", p->scope,
	       p->name, (unsigned long long)(uv_now(loop) - crashed_ms));
	fflush(stdout);
	uv_timer_stop(t);
}

static void on_crash_timer(uv_timer_t *t)
{
	struct member_sim *p = writable(0);
	if (!p) {
		uv_timer_start(t, on_crash_timer, 100, 0); /* not settled */
		return;
	}
	crashed_ms = uv_now(loop);
	printf("crash: %s/%s at %llu ms\n", p->scope, p->name,
	       (unsigned long long)(crashed_ms - start_ms));
	fflush(stdout);
	crash(p);
	uv_timer_start(t, watch_failover, 10, 10);
}

/* ---- stats and signals ----------------------------------------------------- */

/* The renewal log, if on, to FILE.renewals: complete once FILE appears. */
static void write_renewals(void)
{
	char path[600], tmp[610];
	snprintf(path, sizeof(path), "%s.renewals", o.stats);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	bool was_on = fleet_stats_log_write(f);
	if (fclose(f) == 0 && was_on)
		rename(tmp, path);
	else
		unlink(tmp);
}

static void write_stats(void)
{
	char tmp[600];
	size_t clusters = (size_t)n_started, healthy = 0, streaming = 0;
	uint64_t promotions = 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", o.stats);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	write_renewals();
	for (size_t c = 0; c < clusters; c++) {
		struct member_sim *p = writable(c);
		size_t rx = 0;
		for (size_t j = 0; j < MEMBERS; j++) {
			const struct decide_pg *obs =
				&sims[c * MEMBERS + j].agent->pg_obs;
			rx += obs->state == PG_REPLICA && obs->streaming;
			promotions += sims[c * MEMBERS + j].pg.promotions;
		}
		streaming += rx;
		healthy += p && rx == MEMBERS - 1;
	}
	fleet_stats_write(f);
	fprintf(f,
		",\"pid\":%d,\"clusters\":%zu,\"agents\":%zu,\"healthy\":%zu,"
		"\"streaming\":%zu,\"promotions\":%llu,\"fences\":%llu,"
		"\"spawns\":%llu,\"spawn_unknown\":%llu,\"unknown_cmd\":\"%s\","
		"\"pg_queries\":%llu,\"pg_unknown\":%llu,\"unknown_sql\":\"",
		(int)getpid(), clusters, clusters * MEMBERS, healthy, streaming,
		(unsigned long long)promotions,
		(unsigned long long)fleet_fences,
		(unsigned long long)fleet_spawns,
		(unsigned long long)fleet_spawn_unknown,
		fleet_spawn_unknown_cmd, (unsigned long long)fleet_pg_queries,
		(unsigned long long)fleet_pg_unknown);
	for (const char *s = fleet_pg_unknown_sql; *s; s++)
		if (*s != '"' && *s != '\\' && *s >= ' ')
			fputc(*s, f);
	fprintf(f, "\"}\n");
	if (fclose(f) == 0)
		rename(tmp, o.stats);
}

static void on_signal(uv_signal_t *h, int signum)
{
	if (signum == SIGUSR1)
		fleet_stats_reset();
	else if (signum == SIGUSR2 && o.stats)
		write_stats();
	else if (signum == SIGHUP)
		fleet_stats_log_start();
	else if (signum == SIGTERM || signum == SIGINT)
		exit(0); /* a crashed host: the leases run out */
	(void)h;
}

/* ---- this process's own lateness ------------------------------------------- */

/* The simulation shares the witnesses' cores: a loop of 750 agents that
 * runs late renews late, and its agents fence on their own clocks.  A
 * fence the benchmark counts must be told from that: every turn of the
 * loop 100 ms or more late is logged (fleet_loop_late). */
#define LATE_PROBE_MS 50
#define LATE_LOG_MS 100

static uv_timer_t late_probe;
static uint64_t late_probe_due;

static void on_late_probe(uv_timer_t *t)
{
	uint64_t now;

	uv_update_time(t->loop);
	now = uv_now(t->loop);
	if (late_probe_due && now > late_probe_due + LATE_LOG_MS)
		log_event(LOG_WARN, "fleet_loop_late", "ms=%llu",
			  (unsigned long long)(now - late_probe_due));
	late_probe_due = now + LATE_PROBE_MS;
}

static void watch_signal(uv_signal_t *h, int signum)
{
	uv_signal_init(loop, h);
	uv_signal_start(h, on_signal, signum);
	uv_unref((uv_handle_t *)h);
}

/* ---- main ------------------------------------------------------------------ */

static int usage(void)
{
	fprintf(stderr,
		"usage: fleet-agents --witnesses EPS --clusters N --dir DIR "
		"[--first K] [--scope-prefix P] [--user U --secret-file F] "
		"[--lease-ttl MS] [--renew-interval MS] [--sync on|off] "
		"[--stats FILE] [--start-rate N] [--crash-at MS] [--log-level "
		"LEVEL]\n");
	return 2;
}

static int parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage();
		if (!strcmp(k, "--witnesses"))
			o.witnesses = v;
		else if (!strcmp(k, "--clusters"))
			o.clusters = atoi(v);
		else if (!strcmp(k, "--first"))
			o.first = atoi(v);
		else if (!strcmp(k, "--dir"))
			o.dir = v;
		else if (!strcmp(k, "--scope-prefix"))
			o.prefix = v;
		else if (!strcmp(k, "--user"))
			o.user = v;
		else if (!strcmp(k, "--secret-file"))
			o.secret_file = v;
		else if (!strcmp(k, "--lease-ttl"))
			o.ttl = atoll(v);
		else if (!strcmp(k, "--renew-interval"))
			o.renew = atoll(v);
		else if (!strcmp(k, "--sync"))
			o.sync = strcmp(v, "on") == 0;
		else if (!strcmp(k, "--stats"))
			o.stats = v;
		else if (!strcmp(k, "--start-rate"))
			o.start_rate = atoll(v);
		else if (!strcmp(k, "--crash-at"))
			o.crash_at = atoll(v);
		else if (!strcmp(k, "--log-level"))
			o.log_level = log_parse_level(v);
		else
			return usage();
	}
	if (!o.witnesses || !o.dir || o.clusters <= 0 || o.log_level < 0 ||
	    o.start_rate <= 0 || o.start_rate > 1000 ||
	    (size_t)o.clusters * MEMBERS > FLEET_PG_PORTS)
		return usage();
	return 0;
}

/* Three descriptors or so per agent (its witness connection, its API
 * listener, a spare for reconnects): take what the hard limit allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static uv_signal_t sig[5];
	if (parse(argc, argv) != 0)
		return 2;
	/* the benchmark may ask for stats while the agents are still being
	 * set up: not a reason to die (uv_signal takes them over below) */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	log_set_level(o.log_level);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	/* the agents' postmaster check: a live process called postgres... */
	prctl(PR_SET_NAME, "postgres-fleet", 0, 0, 0);
	loop = uv_default_loop();
	if (guard_channel() != 0) {
		fprintf(stderr, "fleet-agents: socketpair: %s\n",
			strerror(errno));
		return 1;
	}
	n_sims = (size_t)o.clusters * MEMBERS;
	sims = calloc(n_sims, sizeof(*sims));
	if (!sims)
		return 1;
	start_ms = uv_now(loop);
	uv_timer_init(loop, &start_timer);
	uv_timer_start(&start_timer, on_start_timer, 0,
		       (uint64_t)(1000 / o.start_rate) + 1);
	fleet_stats_reset();
	uv_timer_init(loop, &late_probe);
	uv_timer_start(&late_probe, on_late_probe, LATE_PROBE_MS,
		       LATE_PROBE_MS);
	watch_signal(&sig[0], SIGUSR1);
	watch_signal(&sig[1], SIGUSR2);
	watch_signal(&sig[2], SIGTERM);
	watch_signal(&sig[3], SIGINT);
	watch_signal(&sig[4], SIGHUP);
	if (o.crash_at > 0) {
		uv_timer_init(loop, &crash_timer);
		uv_timer_start(&crash_timer, on_crash_timer,
			       (uint64_t)o.crash_at, 0);
	}
	return uv_run(loop, UV_RUN_DEFAULT);
}
