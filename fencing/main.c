/*
 * main.c — tenure-agent: settings, start-up checks, the fence guard, the
 * loop, and a graceful stop on SIGTERM (Postgres stopped cleanly, lease
 * released, exit 0).
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/conf.h"
#include "common/conf_reload.h"
#include "common/daemon_signals.h"
#include "common/log.h"
#include "common/version.h"
#include "common/sd_notify.h"
#include "fencing/agent.h"
#include "fencing/agent_tls.h"
#include "fencing/exposure.h"
#include "fencing/guard.h"
#include "fencing/preflight.h"

static const char *const log_levels[] = { "debug", "info", "warn", "error",
					  NULL };
static const char *const sync_modes[] = { "off", "on", NULL };
static const char *const fencing_modes[] = { "off", "required", NULL };

#define OPT(k, t, d, lo, hi, h, req, f, a)                           \
	{                                                            \
		.key = k, .type = t, .def = d, .min = lo, .max = hi, \
		.help = h, .required = req,                          \
		.offset = offsetof(struct agent_conf, f), .arg = a   \
	}

static const struct conf_option options[] = {
	OPT("scope", CONF_STRING, NULL, 0, 0,
	    "cluster name: its keys live under SCOPE/ on the witnesses", true,
	    scope, "NAME"),
	OPT("name", CONF_STRING, NULL, 0, 0,
	    "this node's name, unique in the scope", true, name, "NAME"),
	OPT("witnesses", CONF_STRING, NULL, 0, 0,
	    "client addresses of the tenured witnesses, comma separated", true,
	    witnesses, "LIST"),
	OPT("witness_user", CONF_STRING, NULL, 0, 0,
	    "credential the agent authenticates as to the witnesses (role "
	    "agent:SCOPE); unset: none",
	    false, witness_user, "NAME"),
	OPT("witness_secret_file", CONF_STRING, NULL, 0, 0,
	    "file whose first line is witness_user's secret", false,
	    witness_secret_file, "FILE"),
	OPT("witness_ca_file", CONF_STRING, NULL, 0, 0,
	    "PEM CA of the witnesses' certificates: with it, the agent "
	    "speaks TLS to them (their certificates must carry the IP "
	    "addresses of witnesses)",
	    false, witness_ca_file, "FILE"),
	OPT("witness_cert_file", CONF_STRING, NULL, 0, 0,
	    "PEM client certificate for the witnesses (needs "
	    "witness_ca_file): authenticates as the witnesses' `cert` "
	    "credential of its name, no secret needed",
	    false, witness_cert_file, "FILE"),
	OPT("witness_key_file", CONF_STRING, NULL, 0, 0,
	    "PEM private key of witness_cert_file (unencrypted)", false,
	    witness_key_file, "FILE"),
	OPT("lease_ttl", CONF_DURATION_MS, "2500ms", 1000, 600000,
	    "primary lease TTL (the member lease lives twice as long): a "
	    "dead primary is replaced after about this long (scope-wide: "
	    "SCOPE/config wins)",
	    false, lease_ttl, NULL),
	OPT("renew_interval", CONF_DURATION_MS, "500ms", 50, 60000,
	    "how often leases are renewed and the node observed "
	    "(scope-wide: SCOPE/config wins)",
	    false, renew_interval, NULL),
	OPT("fence_time", CONF_DURATION_MS, "200ms", 10, 60000,
	    "time allowed to fence Postgres before the lease could expire",
	    false, fence_time, NULL),
	OPT("pause_margin", CONF_DURATION_MS, "300ms", 0, 60000,
	    "margin for a pause of the agent between two checks", false,
	    pause_margin, NULL),
	OPT("pg_bin_dir", CONF_STRING, "/usr/lib/postgresql/15/bin", 0, 0,
	    "where pg_ctl, initdb, pg_basebackup, pg_rewind live", false,
	    pg_bin_dir, "DIR"),
	OPT("pg_data_dir", CONF_STRING, NULL, 0, 0,
	    "Postgres data directory (empty: bootstrapped or copied)", true,
	    pg_data_dir, "DIR"),
	OPT("pg_listen", CONF_STRING, NULL, 0, 0,
	    "host:port Postgres listens on (others replicate from it)", true,
	    pg_listen, "ADDR"),
	OPT("pg_superuser", CONF_STRING, "postgres", 0, 0,
	    "superuser the agent connects as", false, pg_superuser, "USER"),
	OPT("pg_superuser_password_file", CONF_STRING, NULL, 0, 0,
	    "file whose first line is pg_superuser's password: bootstrap "
	    "sets it (initdb -A scram-sha-256) and the agent and pg_rewind "
	    "log in with it; unset: no password (trust)",
	    false, pg_superuser_password_file, "FILE"),
	OPT("pg_database", CONF_STRING, "postgres", 0, 0,
	    "database the agent connects to", false, pg_database, "DB"),
	OPT("replication_user", CONF_STRING, "replicator", 0, 0,
	    "role standbys replicate as (created at bootstrap)", false,
	    replication_user, "USER"),
	OPT("replication_password_file", CONF_STRING, NULL, 0, 0,
	    "file whose first line is replication_user's password (set at "
	    "bootstrap; used by pg_basebackup and the standbys)",
	    false, replication_password_file, "FILE"),
	OPT("pg_options", CONF_STRING, "", 0, 0,
	    "extra options for postgres, e.g. \"-c shared_buffers=1GB\"", false,
	    pg_options, "OPTS"),
	OPT("pg_log_file", CONF_STRING, NULL, 0, 0,
	    "Postgres' log file (default: pg_data_dir.log)", false, pg_log_file,
	    "FILE"),
	OPT("listen_http", CONF_STRING, NULL, 0, 0,
	    "address of the Patroni-style HTTP API (host:port)", true,
	    listen_http, "ADDR"),
	OPT("http_tls_cert_file", CONF_STRING, NULL, 0, 0,
	    "PEM certificate (then its chain) of the HTTP API: with it, the "
	    "API speaks only HTTPS",
	    false, http_tls_cert_file, "FILE"),
	OPT("http_tls_key_file", CONF_STRING, NULL, 0, 0,
	    "PEM private key of http_tls_cert_file (unencrypted)", false,
	    http_tls_key_file, "FILE"),
	OPT("http_credentials_file", CONF_STRING, NULL, 0, 0,
	    "who may POST and PATCH the HTTP API (HTTP Basic): NAME ROLE "
	    "VERIFIER lines as the witnesses' credentials_file (tenurectl "
	    "auth new); without it every write is refused",
	    false, http_credentials_file, "FILE"),
	{ .key = "synchronous_mode",
	  .type = CONF_ENUM,
	  .def = "on",
	  .help = "on: no acknowledged commit is lost, and no old primary "
		  "acknowledges one after a new primary exists; off: "
		  "asynchronous replication (scope-wide: SCOPE/config wins)",
	  .choices = sync_modes,
	  .offset = offsetof(struct agent_conf, synchronous_mode) },
	OPT("synchronous_node_count", CONF_INT, "1", 1, 16,
	    "synchronous mode: standbys each commit waits for (scope-wide: "
	    "SCOPE/config wins)",
	    false, synchronous_node_count, "N"),
	{ .key = "synchronous_mode_strict",
	  .type = CONF_ENUM,
	  .def = "off",
	  .help = "synchronous mode: on, with no synchronous standby "
		  "connected, writes wait instead of going on unreplicated "
		  "(scope-wide: SCOPE/config wins)",
	  .choices = sync_modes,
	  .offset = offsetof(struct agent_conf, synchronous_mode_strict) },
	OPT("maximum_lag_on_failover", CONF_SIZE, "1MB", 0, 0,
	    "asynchronous mode: a standby further behind is not promoted "
	    "(scope-wide: SCOPE/config wins)",
	    false, maximum_lag_on_failover, NULL),
	OPT("nofailover", CONF_BOOL, "off", 0, 0, "never promote this node",
	    false, nofailover, NULL),
	OPT("failover_priority", CONF_INT, "1", 0, 1000000,
	    "between equally advanced standbys the higher one wins", false,
	    failover_priority, "N"),
	OPT("nosync", CONF_BOOL, "off", 0, 0,
	    "never a synchronous standby (left out of "
	    "synchronous_standby_names and S/sync)",
	    false, nosync, NULL),
	OPT("noloadbalance", CONF_BOOL, "off", 0, 0,
	    "GET /replica and /read-only answer 503 (keep read traffic off "
	    "this node)",
	    false, noloadbalance, NULL),
	OPT("clonefrom", CONF_BOOL, "off", 0, 0,
	    "a standby copied afresh copies from this node (if it runs "
	    "healthy) rather than from the primary",
	    false, clonefrom, NULL),
	OPT("replicatefrom", CONF_STRING, "", 0, 0,
	    "stream from this replica instead of the primary (cascading); "
	    "the primary while it is down or not streaming",
	    false, replicatefrom, "NODE"),
	{ .key = "fencing",
	  .type = CONF_ENUM,
	  .def = "off",
	  .help = "required: STONITH an old primary that did not confirm it "
		  "stopped, before promoting",
	  .choices = fencing_modes,
	  .offset = offsetof(struct agent_conf, fencing) },
	OPT("stonith_command", CONF_STRING, NULL, 0, 0,
	    "fence agent (Pacemaker protocol: key=value lines on stdin)", false,
	    stonith_command, "CMD"),
	OPT("watchdog_device", CONF_STRING, NULL, 0, 0,
	    "watchdog device armed while primary (e.g. /dev/watchdog)", false,
	    watchdog_device, "PATH"),
	OPT("pre_promote", CONF_STRING, NULL, 0, 0,
	    "command run before promoting; non-zero exit vetoes it", false,
	    pre_promote, "CMD"),
	OPT("on_start", CONF_STRING, NULL, 0, 0,
	    "callback after the agent started Postgres: CMD on_start ROLE "
	    "SCOPE, in the background",
	    false, on_start, "CMD"),
	OPT("on_stop", CONF_STRING, NULL, 0, 0,
	    "callback after the agent stopped (or fenced) Postgres: CMD "
	    "on_stop ROLE SCOPE, in the background",
	    false, on_stop, "CMD"),
	OPT("on_restart", CONF_STRING, NULL, 0, 0,
	    "callback after a restart of Postgres asked by an operator: CMD "
	    "on_restart ROLE SCOPE, in the background",
	    false, on_restart, "CMD"),
	OPT("on_reload", CONF_STRING, NULL, 0, 0,
	    "callback after the agent reloaded Postgres' configuration: CMD "
	    "on_reload ROLE SCOPE, in the background",
	    false, on_reload, "CMD"),
	OPT("on_role_change", CONF_STRING, NULL, 0, 0,
	    "callback after a promotion or demotion: CMD on_role_change ROLE "
	    "SCOPE, in the background",
	    false, on_role_change, "CMD"),
	OPT("callback_timeout", CONF_DURATION_MS, "30s", 100, 3600000,
	    "a callback still running after this long is killed (with its "
	    "children)",
	    false, callback_timeout, NULL),
	{ .key = "pg.",
	  .type = CONF_STRING,
	  .help = "in the file only: a Postgres parameter for this node, "
		  "over SCOPE/config's",
	  .prefix = true,
	  .arg = "NAME=VALUE",
	  .offset = offsetof(struct agent_conf, pg_parameters) },
	{ .key = "log_level",
	  .type = CONF_ENUM,
	  .def = "info",
	  .help = "least important log lines to print",
	  .choices = log_levels,
	  .offset = offsetof(struct agent_conf, log_level) },
	OPT("lease_trace_file", CONF_STRING, NULL, 0, 0,
	    "tests: append a line per request on SCOPE/primary and per "
	    "answer to FILE (docs/nemesis.md); unset: off",
	    false, lease_trace_file, "FILE"),
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

struct daemon {
	uv_loop_t loop;
	struct daemon_signals signals;
	struct agent *agent;
	struct agent_conf conf;
	bool stopped;
	struct sd_notify sdn; /* systemd: READY, STOPPING, the watchdog */
};

static int check_conf(struct agent_conf *c, char *err, size_t errlen)
{
	int64_t ttl = c->lease_ttl;
	int64_t usable = ttl - ttl * 2 * AGENT_CLOCK_DRIFT_PPM / 1000000 -
			 c->fence_time - c->pause_margin;
	if (usable < 3 * c->renew_interval) {
		snprintf(err, errlen,
			 "lease_ttl %lld ms leaves %lld ms of validity after "
			 "fence_time and pause_margin: that must be at least "
			 "3 x renew_interval (%lld ms). Raise lease_ttl or "
			 "lower renew_interval",
			 (long long)ttl, (long long)usable,
			 (long long)c->renew_interval);
		return -1;
	}
	if (strchr(c->scope, '/') || strchr(c->name, '/') ||
	    strchr(c->name, ',')) {
		snprintf(err, errlen,
			 "scope and name may not contain '/' "
			 "(and name no ',')");
		return -1;
	}
	if (c->replicatefrom && strcmp(c->replicatefrom, c->name) == 0) {
		snprintf(err, errlen,
			 "replicatefrom names this node itself (%s): name "
			 "another replica, or leave it unset",
			 c->name);
		return -1;
	}
	if (!c->pg_log_file) {
		size_t n = strlen(c->pg_data_dir) + 5;
		c->pg_log_file = malloc(n);
		if (!c->pg_log_file)
			return -1;
		snprintf(c->pg_log_file, n, "%s.log", c->pg_data_dir);
	}
	if (agent_tls_check(c, err, errlen))
		return -1;
	if (c->fencing == 1 && !c->stonith_command) {
		snprintf(err, errlen,
			 "fencing = required needs a "
			 "stonith_command");
		return -1;
	}
	return 0;
}

/* Secure by default (fencing/exposure.h): refused unless --insecure,
 * which keeps the reason for the log and the API. */
static int check_exposure(struct agent_conf *c, bool insecure, char *exposed,
			  size_t cap, char *err, size_t errlen)
{
	c->insecure = exposed;
	if (agent_exposures(c, exposed, cap) == 0 || insecure)
		return 0;
	snprintf(err, errlen,
		 "refusing to start: %.800s. Set them up (docs/security.md), "
		 "or start with --insecure to accept the risk",
		 exposed);
	return -1;
}

/* Apart from check_conf(): --check-config may be run by root. */
static int check_user(char *err, size_t errlen)
{
	if (geteuid() == 0) {
		snprintf(err, errlen,
			 "tenure-agent runs as the user that owns the data "
			 "directory (Postgres refuses root): e.g. sudo -u "
			 "postgres tenure-agent --config FILE");
		return -1;
	}
	return 0;
}

/* --check-config: the addresses agent_start() would refuse, checked
 * without the network (IP literals only) and without Postgres. */
static int check_addrs(const struct agent_conf *c, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char one[128];
	const char *p = c->witnesses;
	while (*p) {
		size_t len = strcspn(p, ",");
		snprintf(one, sizeof(one), "%.*s", (int)len, p);
		if (len >= sizeof(one) || addr_parse(one, &ss)) {
			snprintf(err, errlen,
				 "witnesses: \"%.*s\" is not "
				 "host:port with an IP address",
				 (int)len, p);
			return -1;
		}
		p += len + (p[len] == ',');
	}
	if (addr_parse(c->pg_listen, &ss) || addr_parse(c->listen_http, &ss)) {
		snprintf(err, errlen,
			 "pg_listen \"%.200s\" and listen_http "
			 "\"%.200s\" must be host:port with an IP address",
			 c->pg_listen, c->listen_http);
		return -1;
	}
	return 0;
}

/* --check-config: the TLS files load (agent_start loads them again). */
static int check_tls_files(const struct agent_conf *c, char *err, size_t errlen)
{
	struct agent_tls t;
	if (agent_tls_load(c, &t, err, errlen))
		return -1;
	agent_tls_free(&t);
	return 0;
}

static void on_stopped(void *arg)
{
	struct daemon *d = arg;
	d->stopped = true;
	daemon_signals_close(&d->signals);
	sd_notify_stop(&d->sdn);
}

static void on_stop_signal(void *arg, int signum)
{
	struct daemon *d = arg;
	log_event(LOG_INFO, "stopping", "signal=%d", signum);
	sd_notify_state(&d->sdn, "STOPPING=1");
	agent_stop(d->agent, on_stopped, d);
}

static void usage_footer(void)
{
	printf("\nOne tenure-agent runs beside each PostgreSQL server; see "
	       "docs/operations.md and\ndocs/configuration.md.\nExample: "
	       "tenure-agent --config /etc/tenure/agent.conf\n");
}

/* Settings SIGHUP applies in a running agent; any other change waits
 * for a restart of the agent (it is logged as ignored). */
static const char *const live_keys[] = {
	"log_level",
	"nofailover",
	"failover_priority",
	"nosync",
	"noloadbalance",
	"clonefrom",
	"replicatefrom",
	"pre_promote",
	"on_role_change",
	"on_start",
	"on_stop",
	"on_restart",
	"on_reload",
	"callback_timeout",
	"stonith_command",
	"synchronous_mode",
	"synchronous_node_count",
	"maximum_lag_on_failover",
	"pg.",
	NULL,
};

static int saved_argc;
static char **saved_argv;

/* SIGHUP: the config file is read again; what is safe to change live is
 * applied, the rest logged as ignored; a bad file changes nothing.  The
 * TLS files are re-read too. */
static void on_reload_signal(void *arg)
{
	struct daemon *d = arg;
	struct agent_conf next;
	char err[1024], changed[1024] = "", ignored[1024] = "";
	if (!d->agent)
		return;
	agent_reload(d->agent);
	int rc = conf_parse_args(options, N_OPTIONS, saved_argc, saved_argv,
				 &next, err, sizeof(err));
	next.insecure = d->conf.insecure;
	if (rc != CONF_OK || check_conf(&next, err, sizeof(err)) != 0) {
		conf_reload_failed(
			rc == CONF_OK || rc == CONF_ERROR ? err : "--help");
		conf_free(options, N_OPTIONS, &next);
		return;
	}
	conf_take_live(options, N_OPTIONS, live_keys, &d->conf, &next, changed,
		       ignored, sizeof(changed));
	conf_free(options, N_OPTIONS, &next);
	log_set_level(d->conf.log_level);
	conf_reload_done("agent", changed, ignored, "");
	agent_config_changed(d->agent);
}

int main(int argc, char **argv)
{
	static struct daemon d;
	char err[1024];
	if (conf_take_switch(&argc, argv, "--version")) {
		version_print(stdout, "tenure-agent");
		return 0;
	}
	bool check_only = conf_take_switch(&argc, argv, "--check-config");
	bool insecure = conf_take_switch(&argc, argv, "--insecure");
	saved_argc = argc;
	saved_argv = argv;
	static char exposed[1024];
	int rc = conf_parse_args(options, N_OPTIONS, argc, argv, &d.conf, err,
				 sizeof(err));
	if (rc == CONF_HELP) {
		printf("Usage: tenure-agent [--config FILE] [--check-config] "
		       "[--version] [--key value ...]\n"
		       "Keeps this host's PostgreSQL primary only while it "
		       "holds the cluster's lease.\n"
		       "--check-config validates the settings (not Postgres, "
		       "not the network):\n\"configuration OK\" and exit 0, or "
		       "the error and exit 2.\n"
		       "--version prints the version and exits.\n"
		       "--insecure lets this node off loopback run without "
		       "its protection (HTTPS on\nthe API, TLS and a "
		       "credential "
		       "to the witnesses, Postgres passwords), which\nis "
		       "otherwise refused; it is then logged and shown by the "
		       "health endpoints.\n\n");
		conf_print_help(stdout, options, N_OPTIONS);
		usage_footer();
		return 0;
	}
	if (rc != CONF_OK || check_conf(&d.conf, err, sizeof(err)) != 0 ||
	    check_exposure(&d.conf, insecure, exposed, sizeof(exposed), err,
			   sizeof(err)) != 0 ||
	    (check_only && check_addrs(&d.conf, err, sizeof(err)) != 0) ||
	    (check_only && check_tls_files(&d.conf, err, sizeof(err)) != 0) ||
	    (!check_only && check_user(err, sizeof(err)) != 0)) {
		fprintf(stderr, "tenure-agent: %s\n", err);
		return 2;
	}
	if (check_only) {
		conf_free(options, N_OPTIONS, &d.conf);
		printf("configuration OK\n");
		return 0;
	}
	/* The host, before anything runs: PostgreSQL installed where
	 * pg_bin_dir says, a data dir this user may run. */
	if (preflight_check(d.conf.pg_bin_dir, d.conf.pg_data_dir, err,
			    sizeof(err)) != 0) {
		fprintf(stderr, "tenure-agent: %s\n", err);
		return 2;
	}
	log_set_level(d.conf.log_level);
	signal(SIGPIPE, SIG_IGN);
	/* The guard is forked before the loop exists: it shares nothing
	 * with it and outlives it if the agent dies. */
	struct guard guard;
	if (guard_start(d.conf.pg_data_dir, &guard, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenure-agent: %s\n", err);
		return 1;
	}
	uv_loop_init(&d.loop);
	/* Before anything is spawned: it takes NOTIFY_SOCKET out of the
	 * environment Postgres and the hooks inherit. */
	if (sd_notify_start(&d.loop, &d.sdn, err, sizeof(err)))
		log_event(LOG_WARN, "notify_failed", "reason=\"%s\"", err);
	if (agent_start(&d.loop, &d.conf, &guard, &d.agent, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "tenure-agent: %s\n", err);
		guard_stop(&guard);
		return 2;
	}
	if (exposed[0])
		log_event(LOG_WARN, "insecure",
			  "reason=\"%s\" (started with --insecure)", exposed);
	daemon_signals_start(&d.loop, &d.signals, on_stop_signal,
			     on_reload_signal, &d);
	agent_on_stopped(d.agent, on_stopped, &d); /* also when it refuses */
	/* Serving: the agent runs and its HTTP API listens. */
	sd_notify_state(&d.sdn, "STATUS=agent %s of scope %s, API on %s",
			d.conf.name, d.conf.scope, d.conf.listen_http);
	sd_notify_state(&d.sdn, "READY=1");
	uv_run(&d.loop, UV_RUN_DEFAULT);
	guard_stop(&guard);
	log_event(LOG_INFO, "stopped", "name=%s", d.conf.name);
	conf_free(options, N_OPTIONS, &d.conf);
	return agent_refused(d.agent) ? 2 : d.stopped ? 0 : 1;
}
