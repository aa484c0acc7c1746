/*
 * main.c — tenured, the witness daemon: configuration, start-up checks,
 * wiring of node, service, client listener and HTTP, graceful shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/conf_reload.h"
#include "common/daemon_signals.h"
#include "common/fd_budget.h"
#include "common/http.h"
#include "common/log.h"
#include "common/version.h"
#include "common/sd_notify.h"
#include "proto/hash.h"
#include "server/clients.h"
#include "proto/credentials.h"
#include "server/exposure.h"
#include "server/config_check.h"
#include "server/node.h"
#include "server/peer_tls.h"
#include "server/service.h"
#include "server/status.h"
#include "server/transport.h"

struct settings {
	char *name;
	char *data_dir;
	char *listen_peer;
	char *advertise_peer;
	char *listen_client;
	char *advertise_client;
	char *listen_http;
	char *initial_cluster;
	char *peer_token_file;
	char *credentials_file;
	char *peer_tls_cert_file; /* peer mutual TLS: all three or none */
	char *peer_tls_key_file;
	char *peer_tls_ca_file;
	char *tls_cert_file;
	char *tls_key_file;
	char *tls_ca_file;
	int64_t election_timeout;
	int64_t heartbeat_interval;
	int64_t request_timeout;
	int64_t snapshot_every;
	int64_t frame_limit;
	int64_t max_client_connections;
	int64_t client_idle_timeout;
	int64_t scope_max_keys;
	int64_t scope_max_bytes;
	int64_t scope_max_leases;
	int64_t scope_max_requests_per_second;
	int log_level;
};

static const char *const log_levels[] = { "debug", "info", "warn", "error",
					  NULL };

#define OPT(k, t, d, lo, hi, h, req, f, a)                           \
	{                                                            \
		.key = k, .type = t, .def = d, .min = lo, .max = hi, \
		.help = h, .required = req,                          \
		.offset = offsetof(struct settings, f), .arg = a     \
	}

static const struct conf_option options[] = {
	OPT("name", CONF_STRING, NULL, 0, 0,
	    "this witness's name, one of --initial-cluster", true, name,
	    "NAME"),
	OPT("data_dir", CONF_STRING, NULL, 0, 0,
	    "where the log, snapshots, term and vote live", true, data_dir,
	    "DIR"),
	OPT("listen_peer", CONF_STRING, NULL, 0, 0,
	    "address for the other witnesses (host:port)", true, listen_peer,
	    "ADDR"),
	OPT("advertise_peer", CONF_STRING, NULL, 0, 0,
	    "address the other witnesses dial for this one, when a NAT or a "
	    "proxy forwards it to listen_peer: must be this witness's "
	    "--initial-cluster entry (default: listen_peer)",
	    false, advertise_peer, "ADDR"),
	OPT("listen_client", CONF_STRING, NULL, 0, 0,
	    "address for tenurectl and the agents (host:port)", true,
	    listen_client, "ADDR"),
	OPT("advertise_client", CONF_STRING, NULL, 0, 0,
	    "address clients reach this witness at, sent with \"not the "
	    "leader\" (default: listen_client)",
	    false, advertise_client, "ADDR"),
	OPT("listen_http", CONF_STRING, NULL, 0, 0,
	    "address for /health, /status and /metrics (host:port)", false,
	    listen_http, "ADDR"),
	OPT("initial_cluster", CONF_STRING, NULL, 0, 0,
	    "name=peer-address of every first member, comma separated", true,
	    initial_cluster, "LIST"),
	OPT("peer_token_file", CONF_STRING, NULL, 0, 0,
	    "file holding the secret the witnesses present to each other",
	    false, peer_token_file, "FILE"),
	OPT("credentials_file", CONF_STRING, NULL, 0, 0,
	    "who may use the client port, with which role (lines of NAME "
	    "ROLE VERIFIER; re-read on SIGHUP); unset: anyone, as admin",
	    false, credentials_file, "FILE"),
	OPT("peer_tls_cert_file", CONF_STRING, NULL, 0, 0,
	    "PEM certificate this witness presents to the others; its DNS "
	    "SAN (or CN) is this witness's name (re-read on SIGHUP)",
	    false, peer_tls_cert_file, "FILE"),
	OPT("peer_tls_key_file", CONF_STRING, NULL, 0, 0,
	    "PEM private key of peer_tls_cert_file", false, peer_tls_key_file,
	    "FILE"),
	OPT("peer_tls_ca_file", CONF_STRING, NULL, 0, 0,
	    "PEM CA that signs every witness's peer certificate; with the "
	    "two above, the peer port runs mutual TLS",
	    false, peer_tls_ca_file, "FILE"),
	OPT("tls_cert_file", CONF_STRING, NULL, 0, 0,
	    "PEM certificate (then its chain) of the client port and HTTP: "
	    "with it, both speak only TLS (re-read on SIGHUP)",
	    false, tls_cert_file, "FILE"),
	OPT("tls_key_file", CONF_STRING, NULL, 0, 0,
	    "PEM private key of tls_cert_file (unencrypted; re-read on "
	    "SIGHUP)",
	    false, tls_key_file, "FILE"),
	OPT("tls_ca_file", CONF_STRING, NULL, 0, 0,
	    "PEM CA that signs the clients' certificates (and "
	    "tls_cert_file): a client certificate it signed authenticates "
	    "as the `cert` credential of its name; clients without one use "
	    "SCRAM",
	    false, tls_ca_file, "FILE"),
	/* 200 ms: randomised in [200, 400), an election after a leader
	 * died ends within about 0.4 s, so a renewing agent loses less
	 * than one renew interval (docs/benchmarks.md, "Witness leader
	 * failover"); PreVote and CheckQuorum keep a slow follower from
	 * disrupting a healthy leader.  Leases do not depend on it
	 * (docs/design.md §3). */
	OPT("election_timeout", CONF_DURATION_MS, "200ms", 50, 60000,
	    "Raft election timeout (randomised up to twice this)", false,
	    election_timeout, NULL),
	/* five heartbeats to an election timeout */
	OPT("heartbeat_interval", CONF_DURATION_MS, "40ms", 5, 10000,
	    "leader heartbeat interval", false, heartbeat_interval, NULL),
	OPT("request_timeout", CONF_DURATION_MS, "5s", 100, 600000,
	    "answer a client request within this time, or time out", false,
	    request_timeout, NULL),
	OPT("snapshot_every", CONF_INT, "20000", 100, 100000000,
	    "applied entries between two snapshots", false, snapshot_every,
	    "N"),
	OPT("frame_limit", CONF_SIZE, "1MB", 65536, 64 << 20,
	    "largest frame accepted from a peer or client", false, frame_limit,
	    NULL),
	OPT("max_client_connections", CONF_INT, "0", 0, 1000000,
	    "client connections at most (0: from the open-files limit, up "
	    "to 8192); more are refused with a log line",
	    false, max_client_connections, "N"),
	OPT("client_idle_timeout", CONF_DURATION_MS, "5min", 1000, 86400000,
	    "close a client connection with nothing in flight and no watch "
	    "after this long without a request",
	    false, client_idle_timeout, NULL),
	/* Per-scope limits (docs/configuration.md says why these defaults):
	 * far above what one Postgres cluster uses, low enough that one
	 * misbehaving cluster cannot fill the witnesses' memory and
	 * snapshots or take all of the leader's time. */
	OPT("scope_max_keys", CONF_INT, "10000", 0, 100000000,
	    "keys at most per scope (the part of a key before its first "
	    "'/'); 0: unlimited",
	    false, scope_max_keys, "N"),
	OPT("scope_max_bytes", CONF_SIZE, "64MB", 0, (int64_t)1 << 40,
	    "bytes of keys and values at most per scope; 0: unlimited", false,
	    scope_max_bytes, NULL),
	OPT("scope_max_leases", CONF_INT, "1000", 0, 100000000,
	    "leases at most per scope; 0: unlimited", false, scope_max_leases,
	    "N"),
	OPT("scope_max_requests_per_second", CONF_INT, "2000", 0, 100000000,
	    "client requests per second per scope this witness serves "
	    "(more are answered busy; lease renewals never are); 0: "
	    "unlimited",
	    false, scope_max_requests_per_second, "N"),
	{ .key = "log_level",
	  .type = CONF_ENUM,
	  .def = "info",
	  .help = "least important log lines to print",
	  .choices = log_levels,
	  .offset = offsetof(struct settings, log_level) },
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

struct daemon {
	uv_loop_t *loop;
	struct settings set;
	char *token;
	struct tls_context *peer_tls; /* NULL: plaintext peers */
	struct node *node;
	struct service *svc;
	struct clients *clients;
	struct http_server *http;
	struct tls_context *client_tls; /* NULL: plaintext */
	struct tls_context *http_tls;   /* the same files, no client CA */
	void *status_ctx;
	struct daemon_signals signals;
	uv_timer_t shutdown_timer;
	uv_timer_t status_timer; /* systemd STATUS= when the role changes */
	char last_status[200];
	bool stopping;
	uint64_t stop_started;
	unsigned closing;
	int exit_code;
	char exposed[1024];   /* what --insecure allowed (exposure.h), or "" */
	struct sd_notify sdn; /* systemd: READY, STOPPING, the watchdog */
};

/* ---- start-up checks ------------------------------------------------------- */

static struct peer_tls_files peer_tls_files(const struct settings *s)
{
	return (struct peer_tls_files){
		.cert_file = s->peer_tls_cert_file,
		.key_file = s->peer_tls_key_file,
		.ca_file = s->peer_tls_ca_file,
	};
}

/* "w1=127.0.0.1:7001,w2=..." into a configuration of voters. */
static int parse_cluster(const char *s, struct raft_config *c, char *err,
			 size_t errlen)
{
	memset(c, 0, sizeof(*c));
	const char *p = s;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		if (!eq || eq == p || eq + 1 == p + len) {
			snprintf(err, errlen,
				 "invalid --initial-cluster entry \"%.*s\": "
				 "expected name=host:port",
				 (int)len, p);
			return -1;
		}
		if (c->n == RAFT_MAX_SERVERS || len >= RAFT_ADDR_MAX) {
			snprintf(err, errlen,
				 "--initial-cluster: at most %d "
				 "members, each under %d bytes",
				 RAFT_MAX_SERVERS, RAFT_ADDR_MAX);
			return -1;
		}
		struct sockaddr_storage ss;
		char addr[RAFT_ADDR_MAX];
		snprintf(addr, sizeof(addr), "%.*s", (int)(p + len - eq - 1),
			 eq + 1);
		if (transport_parse_addr(addr, &ss)) {
			snprintf(err, errlen,
				 "--initial-cluster: bad address \"%s\" for "
				 "%.*s (expected host:port)",
				 addr, (int)(eq - p), p);
			return -1;
		}
		struct raft_server *sv = &c->servers[c->n];
		sv->id = service_member_id(p, (size_t)(eq - p));
		sv->role = RAFT_VOTER;
		snprintf(sv->addr, sizeof(sv->addr), "%.*s", (int)len, p);
		for (unsigned i = 0; i < c->n; i++)
			if (c->servers[i].id == sv->id) {
				snprintf(err, errlen,
					 "--initial-cluster names "
					 "%.*s twice",
					 (int)(eq - p), p);
				return -1;
			}
		c->n++;
		p = end ? end + 1 : p + len;
	}
	if (c->n == 0) {
		snprintf(err, errlen, "--initial-cluster is empty");
		return -1;
	}
	return 0;
}

/* Why a data dir's identity file does not match this start, and what to
 * do: another witness's directory, or one made for another cluster. */
static void identity_mismatch(const char *dir, const char *have, uint64_t id,
			      const char *name, char *err, size_t errlen)
{
	unsigned long long have_id = 0;
	char have_name[256] = "";
	if (sscanf(have, "cluster_id = %llx name = '%255[^']'", &have_id,
		   have_name) == 2 &&
	    strcmp(have_name, name) != 0)
		snprintf(err, errlen,
			 "data_dir %.400s belongs to witness "
			 "'%s', not to '%s' (see its identity file): start it "
			 "with --name %s, or give %s its own data_dir",
			 dir, have_name, name, have_name, name);
	else if (have_id)
		snprintf(err, errlen,
			 "data_dir %.400s was created for another "
			 "cluster (cluster id %016llx in its identity file; "
			 "this "
			 "initial_cluster gives %016llx): start with the "
			 "initial_cluster it was created with, or give this "
			 "witness an empty data_dir of its own",
			 dir, have_id, (unsigned long long)id);
	else
		snprintf(err, errlen,
			 "data_dir %.400s has an identity file "
			 "this version cannot read: point data_dir at this "
			 "witness's own directory",
			 dir);
}

/* A data dir tenured can use: a directory (created when missing) that
 * this user may write. */
static int check_data_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen,
			 "cannot create data_dir %.400s: %s: "
			 "create it (owned by the user tenured runs as) or "
			 "set data_dir elsewhere",
			 dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "data_dir %.400s is not a directory: set "
			 "data_dir to a directory (it is created when missing)",
			 dir);
		return -1;
	}
	if (access(dir, R_OK | W_OK | X_OK) != 0) {
		snprintf(err, errlen,
			 "data_dir %.400s is not writable by uid "
			 "%u (%s): chown it to the user tenured runs as, or "
			 "set data_dir elsewhere",
			 dir, (unsigned)geteuid(), strerror(errno));
		return -1;
	}
	return 0;
}

/* The data dir remembers which cluster and name it belongs to, so a
 * witness pointed at another cluster's directory refuses to start instead
 * of mixing two logs. */
static int check_identity(const char *dir, const char *name, uint64_t id,
			  char *err, size_t errlen)
{
	char path[4096];
	if (check_data_dir(dir, err, errlen))
		return -1;
	snprintf(path, sizeof(path), "%s/identity", dir);
	char want[512];
	snprintf(want, sizeof(want), "cluster_id = %016llx\nname = '%s'\n",
		 (unsigned long long)id, name);
	FILE *f = fopen(path, "r");
	if (f) {
		char have[512] = "";
		size_t n = fread(have, 1, sizeof(have) - 1, f);
		have[n] = '\0';
		fclose(f);
		if (strcmp(have, want) == 0)
			return 0;
		identity_mismatch(dir, have, id, name, err, errlen);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, want, strlen(want)) != (ssize_t)strlen(want) ||
	    fsync(fd)) {
		snprintf(err, errlen, "cannot write %.900s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- shutdown --------------------------------------------------------------- */

static void one_closed(void *arg)
{
	struct daemon *d = arg;
	if (--d->closing == 0)
		uv_stop(d->loop);
}

static void close_everything(struct daemon *d)
{
	d->closing = 3;
	clients_close(d->clients, one_closed, d);
	if (d->http) {
		d->closing++;
		http_close(d->http, one_closed, d);
	}
	node_stop(d->node, one_closed, d);
	service_stop(d->svc);
	daemon_signals_close(&d->signals);
	uv_close((uv_handle_t *)&d->shutdown_timer, NULL);
	uv_close((uv_handle_t *)&d->status_timer, NULL);
	sd_notify_stop(&d->sdn);
	one_closed(d);
}

static void nothing_more(void *arg)
{
	(void)arg;
}

/* A start that failed half way (a listen address in use, say, after the
 * node has opened its data dir): close whatever did start and run the
 * loop until every close completed, a refused listener's included, so
 * that the process exits with nothing left allocated. */
static void abandon_start(struct daemon *d)
{
	if (d->http)
		http_close(d->http, nothing_more, NULL);
	if (d->clients)
		clients_close(d->clients, nothing_more, NULL);
	if (d->node)
		node_stop(d->node, nothing_more, NULL);
	if (d->svc)
		service_stop(d->svc);
	uv_close((uv_handle_t *)&d->shutdown_timer, NULL);
	uv_close((uv_handle_t *)&d->status_timer, NULL);
	uv_run(d->loop, UV_RUN_DEFAULT);
}

static void on_shutdown_wait(uv_timer_t *t)
{
	struct daemon *d = t->data;
	struct raft *r = node_raft(d->node);
	/* Wait (bounded) until leadership moved, then stop. */
	if (raft_state(r) == RAFT_LEADER &&
	    uv_now(d->loop) < d->stop_started + 3000)
		return;
	uv_timer_stop(t);
	log_event(LOG_INFO, "stopped", "name=%s", d->set.name);
	close_everything(d);
}

/* Under systemd, `systemctl status` shows the role: a new STATUS= line
 * whenever role, term or leader changed (checked once a second). */
static void on_status_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;
	char line[sizeof(d->last_status)];
	if (d->stopping)
		return;
	status_line(d->node, d->set.name, line, sizeof(line));
	if (strcmp(line, d->last_status) == 0)
		return;
	memcpy(d->last_status, line, sizeof(line));
	sd_notify_state(&d->sdn, "STATUS=%s", line);
}

static void on_stop_signal(void *arg, int signum)
{
	struct daemon *d = arg;
	if (d->stopping)
		return;
	d->stopping = true;
	log_event(LOG_INFO, "stopping", "signal=%d", signum);
	sd_notify_state(&d->sdn, "STOPPING=1");
	if (raft_state(node_raft(d->node)) == RAFT_LEADER)
		node_transfer(d->node, 0); /* the most caught-up voter */
	d->stop_started = uv_now(d->loop);
	uv_timer_start(&d->shutdown_timer, on_shutdown_wait, 20, 20);
}

/* SIGHUP, peer TLS: new peer connections use the new files; those
 * already up keep theirs. */
static void reload_peer_tls(struct daemon *d)
{
	struct peer_tls_files f = peer_tls_files(&d->set);
	char err[1024], q[1100];

	if (peer_tls_reload(d->peer_tls, &f, d->set.name, err, sizeof(err))) {
		log_event(LOG_ERROR, "reload_failed",
			  "what=peer_tls reason=%s (the previous peer "
			  "certificate stays in force)",
			  log_quote(err, q, sizeof(q)));
		return;
	}
	log_event(LOG_INFO, "reloaded", "what=peer_tls cert_file=%s",
		  f.cert_file);
}

static void reload_credentials(struct daemon *d)
{
	char err[1024], q[1100];

	struct credentials *c = credentials_load(d->set.credentials_file, err,
						 sizeof(err));
	if (!c) {
		log_event(LOG_ERROR, "reload_failed",
			  "file=%s reason=%s (the previous credentials stay "
			  "in force)",
			  d->set.credentials_file,
			  log_quote(err, q, sizeof(q)));
		return;
	}
	log_event(LOG_INFO, "reloaded", "what=credentials file=%s count=%zu",
		  d->set.credentials_file, c->n);
	clients_set_credentials(d->clients, c);
}

/* New connections get the new certificate; a file that does not load
 * leaves the one in force. */
static void reload_tls(struct daemon *d, struct tls_context *ctx,
		       const char *what)
{
	char err[1024], q[1100];

	if (!ctx)
		return;
	if (tls_context_reload(ctx, NULL, err, sizeof(err)) == 0) {
		log_event(LOG_INFO, "reloaded", "what=%s file=%s", what,
			  d->set.tls_cert_file);
		return;
	}
	log_event(LOG_ERROR, "reload_failed",
		  "what=%s reason=%s (the previous certificate stays in "
		  "force)",
		  what, log_quote(err, q, sizeof(q)));
}

/* Settings SIGHUP applies in a running witness; any other change waits
 * for a restart (it is logged as ignored).  The per-scope limits are in
 * no log entry (docs/design.md "Log commands across versions"): a new
 * value judges the next request, and a witness judging by other values
 * than its peers parts no state from theirs. */
static const char *const live_keys[] = {
	"scope_max_keys",   "scope_max_bytes",
	"scope_max_leases", "scope_max_requests_per_second",
	"log_level",        NULL,
};

static int saved_argc;
static char **saved_argv;

static int check_config(const struct settings *s, char *err, size_t errlen);

static void apply_scope_limits(struct daemon *d)
{
	const struct settings *s = &d->set;
	struct scope_quota q = { .keys = (uint64_t)s->scope_max_keys,
				 .bytes = (uint64_t)s->scope_max_bytes,
				 .leases = (uint64_t)s->scope_max_leases };
	service_set_scope_limits(d->svc, &q,
				 (uint64_t)s->scope_max_requests_per_second);
}

/* The file and the flags read again, as at start; a bad file changes
 * nothing. */
static void reload_settings(struct daemon *d)
{
	struct settings next;
	char err[1024], changed[512], ignored[1024], limits[200];

	memset(&next, 0, sizeof(next));
	int rc = conf_parse_args(options, N_OPTIONS, saved_argc, saved_argv,
				 &next, err, sizeof(err));
	if (rc != CONF_OK || check_config(&next, err, sizeof(err)) != 0) {
		conf_reload_failed(rc == CONF_HELP ? "--help" : err);
		conf_free(options, N_OPTIONS, &next);
		return;
	}
	conf_take_live(options, N_OPTIONS, live_keys, &d->set, &next, changed,
		       ignored, sizeof(changed));
	conf_free(options, N_OPTIONS, &next);
	log_set_level(d->set.log_level);
	apply_scope_limits(d);
	snprintf(limits, sizeof(limits),
		 " scope_max_keys=%lld scope_max_bytes=%lld "
		 "scope_max_leases=%lld scope_max_requests_per_second=%lld",
		 (long long)d->set.scope_max_keys,
		 (long long)d->set.scope_max_bytes,
		 (long long)d->set.scope_max_leases,
		 (long long)d->set.scope_max_requests_per_second);
	conf_reload_done("witness", changed, ignored, limits);
}

/* SIGHUP: re-read what can change without a restart, the settings first.
 * A file that does not load leaves the running settings as they were. */
static void on_reload_signal(void *arg)
{
	struct daemon *d = arg;

	reload_settings(d);
	if (!d->set.credentials_file && !d->client_tls && !d->peer_tls) {
		log_event(LOG_INFO, "reloaded",
			  "what=no_files reason=\"no credentials_file, no "
			  "tls_cert_file, no peer_tls_cert_file\"");
		return;
	}
	if (d->set.credentials_file)
		reload_credentials(d);
	reload_tls(d, d->client_tls, "client-tls");
	reload_tls(d, d->http_tls, "http-tls");
	if (d->peer_tls)
		reload_peer_tls(d);
}

static const struct tls_option_names tls_names = { "tls_cert_file",
						   "tls_key_file",
						   "tls_ca_file" };

/* The client port's TLS: the witness's certificate, and with tls_ca_file
 * a request (not a requirement) for the client's. */
static struct tls_config client_tls_config(const struct settings *s)
{
	return (struct tls_config){ .cert_file = s->tls_cert_file,
				    .key_file = s->tls_key_file,
				    .ca_file = s->tls_ca_file,
				    .ask_peer = s->tls_ca_file != NULL,
				    .server = true };
}

/* Both contexts, or none without tls_cert_file; -1 with err. */
static int load_tls(const struct settings *s, struct tls_context **client,
		    struct tls_context **http, char *err, size_t errlen)
{
	struct tls_config cfg = client_tls_config(s);
	char why[800];

	*client = *http = NULL;
	if (tls_options_check(&cfg, &tls_names, err, errlen))
		return -1;
	if (!s->tls_cert_file)
		return 0;
	*client = tls_context_load(&cfg, why, sizeof(why));
	/* HTTP asks no certificate of a browser or a load balancer. */
	cfg.ca_file = NULL;
	cfg.ask_peer = false;
	if (*client)
		*http = tls_context_load(&cfg, why, sizeof(why));
	if (*http)
		return 0;
	tls_context_free(*client);
	*client = NULL;
	snprintf(err, errlen,
		 "TLS (tls_cert_file, tls_key_file, tls_ca_file): %s", why);
	return -1;
}

/* ---- main ------------------------------------------------------------------------ */

static const char *peer_client_addr(void *arg, uint64_t id)
{
	struct daemon *d = arg;
	return node_client_addr(d->node, id);
}

/* Descriptors for what is not an accepted connection: stdio, the log and
 * data files, the peers (two each), libuv's own.  The HTTP server takes
 * its share of the rest (common/http.h: an eighth, 4 to 64) and client
 * connections what is left, so that a flood of either cannot starve the
 * other, the peers or the disk (common/fd_budget.h).
 *
 * Every agent keeps one connection, to the leader: a trio serving N
 * clusters of three nodes holds 3N on its leader.  The ceiling is above
 * what one trio can serve (tests/bench/fleet: about a thousand clusters
 * on two cores, docs/benchmarks.md) so that it is never the first limit,
 * and bounds the memory of a flood (about 30 KiB a connection). */
#define FD_RESERVE 96
#define CLIENT_CAP_MIN 16
#define CLIENT_CAP_MAX 8192

static unsigned http_connection_budget(void)
{
	return http_connection_cap(fd_budget(FD_RESERVE));
}

static unsigned client_connection_cap(const struct settings *s)
{
	if (s->max_client_connections > 0)
		return (unsigned)s->max_client_connections;
	uint64_t room = fd_budget(FD_RESERVE);
	uint64_t http = http_connection_budget();
	room = room > http ? room - http : 0;
	if (room < CLIENT_CAP_MIN)
		return CLIENT_CAP_MIN;
	return room > CLIENT_CAP_MAX ? CLIENT_CAP_MAX : (unsigned)room;
}

static int start(struct daemon *d, char *err, size_t errlen)
{
	struct settings *s = &d->set;
	struct raft_config initial;
	if (parse_cluster(s->initial_cluster, &initial, err, errlen))
		return -1;
	uint64_t self = service_member_id(s->name, strlen(s->name));
	uint64_t cluster_id = hash_fnv1a(s->initial_cluster,
					 strlen(s->initial_cluster));
	if (!raft_config_get(&initial, self))
		log_event(LOG_INFO, "joining",
			  "name=%s reason=\"not in "
			  "--initial-cluster: waits to be added with tenurectl "
			  "member add\"",
			  s->name);
	/* A wrong data dir or token file is the operator's setting: exit 2
	 * as for any other bad setting. */
	d->exit_code = 2;
	if (check_identity(s->data_dir, s->name, cluster_id, err, errlen))
		return -1;
	if (s->peer_token_file) {
		d->token = conf_read_secret(s->peer_token_file, err, errlen);
		if (!d->token)
			return -1;
	}
	struct peer_tls_files ptf = peer_tls_files(s);
	if (peer_tls_load(&ptf, s->name, &d->peer_tls, err, errlen))
		return -1;
	struct credentials *creds = NULL;
	if (s->credentials_file &&
	    !(creds = credentials_load(s->credentials_file, err, errlen)))
		return -1;
	if (load_tls(s, &d->client_tls, &d->http_tls, err, errlen)) {
		credentials_free(creds);
		return -1;
	}
	d->exit_code = 0;
	struct node_options no = {
		.id = self,
		.name = s->name,
		.data_dir = s->data_dir,
		.listen_peer = s->listen_peer,
		.initial = initial,
		.cluster_id = cluster_id,
		.auth_token = d->token,
		.peer_tls = d->peer_tls,
		.advertise_client = s->advertise_client ? s->advertise_client
							: s->listen_client,
		.election_timeout_ms = (unsigned)s->election_timeout,
		.heartbeat_ms = (unsigned)s->heartbeat_interval,
		.snapshot_every = (uint64_t)s->snapshot_every,
		.frame_limit = (size_t)s->frame_limit,
	};
	if (node_start(d->loop, &no, &d->node, err, errlen))
		return -1;
	struct clients_options co = {
		.listen_addr = s->listen_client,
		.creds = creds,
		.tls = d->client_tls,
		.frame_limit = (size_t)s->frame_limit,
		.max_sessions = client_connection_cap(s),
		.idle_timeout_ms = (uint64_t)s->client_idle_timeout,
	};
	if (clients_start(d->loop, &co, &d->clients, err, errlen)) {
		credentials_free(creds);
		return -1;
	}
	struct service_options so = {
		.name = s->name,
		.request_timeout_ms = (unsigned)s->request_timeout,
		.quota = { .keys = (uint64_t)s->scope_max_keys,
			   .bytes = (uint64_t)s->scope_max_bytes,
			   .leases = (uint64_t)s->scope_max_leases },
		.scope_max_requests_per_second =
			(uint64_t)s->scope_max_requests_per_second,
		.peer_client_addr = peer_client_addr,
		.peer_arg = d,
	};
	service_start(d->loop, d->node, &so, clients_session_ops(), &d->svc);
	clients_attach(d->clients, d->svc);
	if (!s->listen_http)
		return 0;
	d->status_ctx = status_context(d->node, d->svc, s->name);
	if (d->status_ctx)
		status_set_clients(d->status_ctx, d->clients);
	if (d->status_ctx)
		status_set_insecure(d->status_ctx, d->exposed);
	struct http_options ho = {
		.listen_addr = s->listen_http,
		.tls = d->http_tls,
		.max_connections = http_connection_budget(),
	};
	if (!d->status_ctx || http_start(d->loop, &ho, status_http_handler,
					 d->status_ctx, &d->http, err, errlen))
		return -1;
	return 0;
}

/* True for 0.0.0.0 and [::]: an address to listen on, never one to dial. */
static bool addr_is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
		       htonl(INADDR_ANY);
	return ss->ss_family == AF_INET6 &&
	       IN6_IS_ADDR_UNSPECIFIED(
		       &((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static uint16_t addr_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET
			     ? ((const struct sockaddr_in *)ss)->sin_port
			     : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* The client address the other witnesses hand out as the leader hint
 * must be one a client can dial: a wildcard listen_client is not, so it
 * needs an advertise_client, and that must be a concrete address. */
static int check_advertise(const struct settings *s, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	if (s->advertise_client) {
		if (transport_parse_addr(s->advertise_client, &ss)) {
			snprintf(err, errlen,
				 "advertise_client \"%.200s\" is "
				 "not host:port with an IP address (e.g. "
				 "10.0.0.11:7101)",
				 s->advertise_client);
			return -1;
		}
		if (!addr_is_wildcard(&ss) && addr_port(&ss) != 0)
			return 0;
		snprintf(err, errlen,
			 "advertise_client \"%.200s\" is not an "
			 "address a client can dial: give the IP address and "
			 "port clients reach this witness at (e.g. "
			 "10.0.0.11:7101), not a wildcard or port 0",
			 s->advertise_client);
		return -1;
	}
	if (transport_parse_addr(s->listen_client, &ss) ||
	    !addr_is_wildcard(&ss))
		return 0;
	snprintf(err, errlen,
		 "listen_client \"%.200s\" is a wildcard address, "
		 "which the other witnesses would send clients to as the "
		 "leader's address: set advertise_client to the address "
		 "clients reach this witness at (e.g. --advertise-client "
		 "10.0.0.11:%u), or listen on that address",
		 s->listen_client, (unsigned)addr_port(&ss));
	return -1;
}

/* The token file is read again at start; here only whether it can be. */
static int check_token_file(const char *path, char *err, size_t errlen)
{
	char why[600];
	char *token = conf_read_secret(path, why, sizeof(why));
	if (token) {
		free(token);
		return 0;
	}
	snprintf(err, errlen,
		 "%s: peer_token_file must name a file readable by the user "
		 "tenured runs as, the witnesses' shared secret on its first "
		 "line (the same on every witness)",
		 why);
	return -1;
}

/* The credentials are read again at start; here whether they load. */
static int check_credentials_file(const char *path, char *err, size_t errlen)
{
	struct credentials *c = credentials_load(path, err, errlen);
	credentials_free(c);
	return c ? 0 : -1;
}

/* The peer TLS files are loaded again at start; here whether they do. */
static int check_peer_tls(const struct settings *s, char *err, size_t errlen)
{
	struct peer_tls_files f = peer_tls_files(s);
	struct tls_context *ctx;
	if (peer_tls_load(&f, s->name, &ctx, err, errlen))
		return -1;
	tls_context_free(ctx);
	return 0;
}

/* --check-config: what start() would refuse, found without touching the
 * data dir or the network (addresses are IP literals: no resolver). */
static int check_config(const struct settings *s, char *err, size_t errlen)
{
	const char *const keys[] = { "listen_peer", "listen_client",
				     "listen_http", "advertise_peer" };
	const char *const addrs[] = { s->listen_peer, s->listen_client,
				      s->listen_http, s->advertise_peer };
	struct raft_config initial;
	struct sockaddr_storage ss;
	if (parse_cluster(s->initial_cluster, &initial, err, errlen))
		return -1;
	for (size_t i = 0; i < 4; i++)
		if (addrs[i] && transport_parse_addr(addrs[i], &ss)) {
			snprintf(err, errlen,
				 "%s \"%.200s\" is not host:port "
				 "with an IP address (e.g. 10.0.0.11:7001)",
				 keys[i], addrs[i]);
			return -1;
		}
	struct config_addrs ca = {
		.name = s->name,
		.listen_peer = s->listen_peer,
		.listen_client = s->listen_client,
		.listen_http = s->listen_http,
		.advertise_peer = s->advertise_peer,
		.initial = &initial,
	};
	if (config_check_addrs(&ca, err, errlen))
		return -1;
	if (s->peer_token_file &&
	    check_token_file(s->peer_token_file, err, errlen))
		return -1;
	/* The token travels as is in the hello: without TLS around it,
	 * anyone on the path could read it and pose as a witness. */
	if (s->peer_token_file && !s->peer_tls_cert_file) {
		snprintf(err, errlen,
			 "peer_token_file would cross the network in clear: "
			 "set peer mutual TLS (peer_tls_cert_file, "
			 "peer_tls_key_file, peer_tls_ca_file), which also "
			 "authenticates each witness by its certificate");
		return -1;
	}
	if (s->credentials_file &&
	    check_credentials_file(s->credentials_file, err, errlen))
		return -1;
	if (check_peer_tls(s, err, errlen))
		return -1;
	struct tls_context *client_tls, *http_tls;
	if (load_tls(s, &client_tls, &http_tls, err, errlen))
		return -1;
	tls_context_free(client_tls);
	tls_context_free(http_tls);
	return check_advertise(s, err, errlen);
}

/* Secure by default (server/exposure.h): a listener that reaches the
 * network without its protection stops the start unless --insecure,
 * which keeps the reason for the log and /health. */
static int check_exposure(struct daemon *d, bool insecure, char *err,
			  size_t errlen)
{
	const struct settings *s = &d->set;
	struct witness_guards g = {
		.listen_client = s->listen_client,
		.listen_peer = s->listen_peer,
		.client_tls = s->tls_cert_file != NULL,
		.credentials = s->credentials_file != NULL,
		.peer_tls = s->peer_tls_cert_file != NULL,
	};
	if (witness_exposures(&g, d->exposed, sizeof(d->exposed)) == 0)
		return 0;
	if (insecure)
		return 0;
	snprintf(err, errlen,
		 "refusing to start: %.900s. Set them up (docs/security.md), "
		 "or "
		 "start with --insecure to accept the risk",
		 d->exposed);
	return -1;
}

static void usage(void)
{
	printf("tenured — a tenure witness: Raft-replicated leases and keys "
	       "for PostgreSQL HA.\n\n"
	       "usage: tenured [--config FILE] [--check-config] [--version] "
	       "[--KEY VALUE ...]\n\n"
	       "Every option can be given on the command line (--data-dir) "
	       "or in a\npostgresql.conf-style file (data_dir = '...'); the "
	       "command line wins.\n"
	       "--check-config validates the settings without touching the "
	       "data dir or the\nnetwork: \"configuration OK\" and exit 0, or "
	       "the error and exit 2.\n"
	       "--version prints the version and exits.\n"
	       "--insecure lets a listener off loopback run without its "
	       "protection (the client\nport without TLS and credentials, the "
	       "peer port without mutual TLS), which\nis otherwise refused; "
	       "it is then logged and shown by /health.\n\n");
	conf_print_help(stdout, options, N_OPTIONS);
	printf("\nexample (first of three witnesses):\n"
	       "  tenured --name w1 --data-dir /var/lib/tenure/w1 \\\n"
	       "    --listen-peer 127.0.0.1:7001 --listen-client "
	       "127.0.0.1:7101 "
	       "--listen-http 127.0.0.1:7201 \\\n"
	       "    --initial-cluster "
	       "w1=127.0.0.1:7001,w2=127.0.0.1:7002,w3=127.0.0.1:7003\n");
}

int main(int argc, char **argv)
{
	struct daemon d;
	char err[1024] = "";
	memset(&d, 0, sizeof(d));
	if (conf_take_switch(&argc, argv, "--version")) {
		version_print(stdout, "tenured");
		return 0;
	}
	bool check_only = conf_take_switch(&argc, argv, "--check-config");
	bool insecure = conf_take_switch(&argc, argv, "--insecure");
	saved_argc = argc;
	saved_argv = argv;
	int rv = conf_parse_args(options, N_OPTIONS, argc, argv, &d.set, err,
				 sizeof(err));
	if (rv == CONF_HELP) {
		usage();
		return 0;
	}
	/* Addresses too, on every start: a bad one stops tenured before it
	 * creates its data dir. */
	if (rv != CONF_OK || check_config(&d.set, err, sizeof(err)) != 0 ||
	    check_exposure(&d, insecure, err, sizeof(err)) != 0) {
		fprintf(stderr, "tenured: %s\n", err);
		conf_free(options, N_OPTIONS, &d.set);
		return 2;
	}
	if (check_only) {
		conf_free(options, N_OPTIONS, &d.set);
		printf("configuration OK\n");
		return 0;
	}
	log_set_level(d.set.log_level);
	signal(SIGPIPE, SIG_IGN);
	d.loop = uv_default_loop();
	uv_timer_init(d.loop, &d.shutdown_timer);
	uv_timer_init(d.loop, &d.status_timer);
	uv_unref((uv_handle_t *)&d.status_timer);
	d.shutdown_timer.data = &d;
	d.status_timer.data = &d;
	if (start(&d, err, sizeof(err))) {
		char q[1100];
		fprintf(stderr, "tenured: %s\n", err);
		log_event(LOG_ERROR, "start_failed", "reason=%s",
			  log_quote(err, q, sizeof(q)));
		abandon_start(&d);
		if (!d.exit_code) /* 2 when start() found a bad setting */
			d.exit_code = 1;
		goto out;
	}
	if (d.exposed[0])
		log_event(LOG_WARN, "insecure",
			  "reason=\"%s\" (started with --insecure)", d.exposed);
	daemon_signals_start(d.loop, &d.signals, on_stop_signal,
			     on_reload_signal, &d);
	log_event(LOG_INFO, "started",
		  "name=%s peer=%s client=%s advertise_client=%s http=%s "
		  "data_dir=%s",
		  d.set.name, d.set.listen_peer, d.set.listen_client,
		  d.set.advertise_client ? d.set.advertise_client
					 : d.set.listen_client,
		  d.set.listen_http ? d.set.listen_http : "-", d.set.data_dir);
	/* Serving now: the data dir is loaded and every listener bound. */
	if (sd_notify_start(d.loop, &d.sdn, err, sizeof(err)))
		log_event(LOG_WARN, "notify_failed", "reason=\"%s\"", err);
	sd_notify_state(&d.sdn, "STATUS=witness %s: peers on %s, clients on %s",
			d.set.name, d.set.listen_peer, d.set.listen_client);
	sd_notify_state(&d.sdn, "READY=1");
	if (d.sdn.addr) /* only under systemd */
		uv_timer_start(&d.status_timer, on_status_tick, 1000, 1000);
	uv_run(d.loop, UV_RUN_DEFAULT);
	uv_run(d.loop, UV_RUN_NOWAIT); /* finish close callbacks */
out:
	tls_context_free(d.client_tls);
	tls_context_free(d.http_tls);
	conf_free(options, N_OPTIONS, &d.set);
	free(d.status_ctx);
	free(d.token);
	tls_context_free(d.peer_tls);
	return d.exit_code;
}
