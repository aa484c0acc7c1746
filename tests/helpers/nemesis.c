/*
 * nemesis.c — three real tenured processes, concurrent clients doing
 * random lease and key operations, and a nemesis that kills (-9) and
 * pauses (SIGSTOP) witnesses and, with --proxy, partitions them; the
 * recorded history is then checked for linearizability
 * (tests/helpers/lincheck.h).
 *
 * Usage: tests/helpers/nemesis --tenured PATH --port-base P [--duration S]
 *        [--clients N] [--seed S] [--keep] [--proxy PATH]
 * Ports P+1..P+3 are the peers, P+11..P+13 the client listeners and, with
 * --proxy, P+4..P+6 the tests/helpers/tcp-proxy in front of each peer listener.
 * Exit status: 0 linearizable, 1 a violation (printed), 2 the check could
 * not decide, the run could not be set up, or it tested too little: fewer
 * than --min-ok (default 50) operations answered OK, or a kind of
 * operation the clients issued never answered OK (a history where every
 * request failed is trivially linearizable and proves nothing).
 *
 * How outcomes are recorded: a decided answer (OK or a "no") is a known
 * outcome; CLIENT_ENOTLEADER/ENOQUORUM/EBUSY mean the server did not run
 * it (the op is dropped, unless an earlier attempt was lost on the way);
 * everything else (timeout, lost connection, shutdown) is an unknown
 * outcome.  The client library resends idempotent requests after a lost
 * connection; every connection it loses during a request adds a "retry
 * shadow" of it to the history, since each lost attempt may have run.
 *
 * Partitions (with --proxy): every peer link goes through a tcp-proxy, as
 * in tests/process/fault-partition.sh.  --initial-cluster names the proxy
 * ports, so the proxy in front of wN carries all of wN's incoming peer
 * traffic.
 * Isolating wX writes "*" to the cut file of wX's proxy and "wX" to the
 * two others' and sends them SIGHUP; healing empties all three.  Half the
 * partitions isolate the node that a STATUS answer names as leader, the
 * others a random node.  Clients keep talking to every witness (client
 * ports are not proxied): a cut-off one must answer nothing stale.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "proto/tclient.h"
#include "tests/helpers/lincheck.h"

#define N_NODES 3
#define N_KEYS 3
#define N_LEASES 2
#define MAX_SHADOWS 8
#define REQUEST_TIMEOUT_MS 3000
#define MIN_OK_DEFAULT 50

static const char *const type_names[] = {
	[LC_PUT] = "put",         [LC_GET] = "get",
	[LC_DELETE] = "delete",   [LC_CAS] = "cas",
	[LC_ACQUIRE] = "acquire", [LC_RENEW] = "renew",
	[LC_RELEASE] = "release", [LC_LEASE_GET] = "lease-get"
};
#define N_TYPES (LC_LEASE_GET + 1)

struct nemesis;

struct node {
	struct nemesis *nm;
	int n;              /* 1..3 */
	uv_process_t *proc; /* NULL: not running */
	bool paused;
	bool restart_pending;
	uv_timer_t timer;    /* restart or SIGCONT */
	uv_process_t *proxy; /* the tcp-proxy in front of its peer port */
};

struct client {
	struct nemesis *nm;
	int id;
	struct tclient *tc;
	uv_timer_t think;
	bool busy;
	unsigned seq;
	unsigned losses;          /* connections lost during the current op */
	struct lc_op op;          /* the op in flight */
	uint64_t rev[N_KEYS];     /* last mod revision seen per key */
	uint64_t token[N_LEASES]; /* our last grant per lease */
};

enum phase {
	RUN,
	HEAL,
	DRAIN,
	STOP,
	DONE
};

struct nemesis {
	uv_loop_t *loop;
	const char *tenured;
	int port_base;
	double duration;
	int n_clients;
	unsigned seed;
	bool keep;
	unsigned seed0;
	const char *history;   /* --history FILE: every op, one per line */
	const char *proxy_bin; /* --proxy PATH: partitions on */
	int isolated;          /* 1..3: the node cut off, 0: none, -1: asking
			      * who leads before cutting it off */
	uv_timer_t heal_cut;
	struct tclient *probe; /* asks who leads, for a leader partition */
	char dir[64];
	struct node nodes[N_NODES];
	struct client *clients;
	struct lc_history hist;
	uv_timer_t fault, phase;
	enum phase ph;
	uint64_t t0;
	unsigned faults, dropped, unexpected, crashes, partitions;
	unsigned min_ok;          /* --min-ok */
	unsigned issued[N_TYPES]; /* requests sent, per enum lc_type */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	/* The witnesses count leases on CLOCK_BOOTTIME: the same clock keeps
	 * the checker's TTL bound exact. */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static unsigned rnd(struct nemesis *nm, unsigned n)
{
	return (unsigned)rand_r(&nm->seed) % n;
}

static void say(struct nemesis *nm, const char *fmt, const char *a, int b)
{
	printf("[%7.3f s] ", (now_ns() - nm->t0) / 1e9);
	printf(fmt, a, b);
	printf("\n");
	fflush(stdout);
}

/* ---- witnesses --------------------------------------------------------- */

static void on_proc_closed(uv_handle_t *h)
{
	free(h);
}

static void on_node_timer(uv_timer_t *t);

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct node *nd = p->data;
	struct nemesis *nm = nd->nm;
	/* Only our kill -9 and the final SIGTERM may end a witness. */
	if (!nd->restart_pending && nm->ph < STOP) {
		nm->crashes++;
		printf("nemesis: w%d exited on its own (status %lld, signal "
		       "%d); see %s/w%d.log\n",
		       nd->n, (long long)status, sig, nm->dir, nd->n);
		nd->restart_pending = true;
		uv_timer_start(&nd->timer, on_node_timer, 300, 0);
	}
	nd->proc = NULL;
	nd->paused = false;
	uv_close((uv_handle_t *)p, on_proc_closed);
}

static int node_start(struct node *nd)
{
	struct nemesis *nm = nd->nm;
	char name[8], data[96], peer[32], cli[32], cluster[128], logf[96];
	char adv[32];
	int b = nm->port_base;
	snprintf(name, sizeof(name), "w%d", nd->n);
	snprintf(data, sizeof(data), "%s/w%d", nm->dir, nd->n);
	snprintf(logf, sizeof(logf), "%s/w%d.log", nm->dir, nd->n);
	snprintf(peer, sizeof(peer), "127.0.0.1:%d", b + nd->n);
	snprintf(cli, sizeof(cli), "127.0.0.1:%d", b + 10 + nd->n);
	/* Peers reach wN through its proxy (P+3+N) when there is one. */
	int pb = nm->proxy_bin ? b + 3 : b;
	snprintf(cluster, sizeof(cluster),
		 "w1=127.0.0.1:%d,w2=127.0.0.1:%d,w3=127.0.0.1:%d", pb + 1,
		 pb + 2, pb + 3);
	/* ...so its entry is the proxy's address, not its listen_peer. */
	snprintf(adv, sizeof(adv), "127.0.0.1:%d", pb + nd->n);
	char *args[] = { (char *)nm->tenured,
			 "--name",
			 name,
			 "--data-dir",
			 data,
			 "--listen-peer",
			 peer,
			 "--listen-client",
			 cli,
			 "--initial-cluster",
			 cluster,
			 "--advertise-peer",
			 adv,
			 "--election-timeout",
			 "300ms",
			 "--heartbeat-interval",
			 "50ms",
			 NULL };
	int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		return -errno;
	uv_stdio_container_t io[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_INHERIT_FD, .data.fd = fd },
		{ .flags = UV_INHERIT_FD, .data.fd = fd },
	};
	uv_process_options_t o = { .exit_cb = on_exit_cb,
				   .file = nm->tenured,
				   .args = args,
				   .stdio_count = 3,
				   .stdio = io };
	uv_process_t *p = calloc(1, sizeof(*p));
	int rv = p ? uv_spawn(nm->loop, p, &o) : UV_ENOMEM;
	close(fd);
	if (rv) {
		free(p);
		return rv;
	}
	p->data = nd;
	nd->proc = p;
	return 0;
}

static void node_signal(struct node *nd, int sig)
{
	if (nd->proc)
		kill(nd->proc->pid, sig);
}

/* ---- proxies and partitions ---------------------------------------------- */

static void on_proxy_exit(uv_process_t *p, int64_t status, int sig)
{
	struct node *nd = p->data;
	if (nd->nm->ph < STOP) {
		nd->nm->crashes++;
		printf("nemesis: the proxy in front of w%d exited (status %lld,"
		       " signal %d); see %s/proxy%d.log\n",
		       nd->n, (long long)status, sig, nd->nm->dir, nd->n);
	}
	nd->proxy = NULL;
	uv_close((uv_handle_t *)p, on_proc_closed);
}

static void cut_path(const struct node *nd, char *buf, size_t len)
{
	snprintf(buf, len, "%s/cut.w%d", nd->nm->dir, nd->n);
}

/* Tell the proxy in front of nd to drop what `senders` send ("" heals). */
static void proxy_cut(struct node *nd, const char *senders)
{
	char path[96];
	cut_path(nd, path, sizeof(path));
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%s\n", senders) < 0 || fclose(f)) {
		perror(path);
		nd->nm->unexpected++;
		return;
	}
	if (nd->proxy)
		kill(nd->proxy->pid, SIGHUP);
}

static int proxy_start(struct node *nd)
{
	struct nemesis *nm = nd->nm;
	char lport[16], tport[16], cut[96], logf[96];
	snprintf(lport, sizeof(lport), "%d", nm->port_base + 3 + nd->n);
	snprintf(tport, sizeof(tport), "%d", nm->port_base + nd->n);
	snprintf(logf, sizeof(logf), "%s/proxy%d.log", nm->dir, nd->n);
	cut_path(nd, cut, sizeof(cut));
	FILE *f = fopen(cut, "w");
	if (!f || fclose(f))
		return -errno;
	char *args[] = { (char *)nm->proxy_bin, lport, tport, cut, NULL };
	int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		return -errno;
	uv_stdio_container_t io[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_INHERIT_FD, .data.fd = fd },
		{ .flags = UV_INHERIT_FD, .data.fd = fd },
	};
	uv_process_options_t o = { .exit_cb = on_proxy_exit,
				   .file = nm->proxy_bin,
				   .args = args,
				   .stdio_count = 3,
				   .stdio = io };
	uv_process_t *p = calloc(1, sizeof(*p));
	int rv = p ? uv_spawn(nm->loop, p, &o) : UV_ENOMEM;
	close(fd);
	if (rv) {
		free(p);
		return rv;
	}
	p->data = nd;
	nd->proxy = p;
	return 0;
}

static void partition_heal(struct nemesis *nm)
{
	if (nm->isolated <= 0) {
		nm->isolated = 0; /* a pending one is dropped (see below) */
		return;
	}
	for (int i = 0; i < N_NODES; i++)
		proxy_cut(&nm->nodes[i], "");
	say(nm, "heal partition of %s%d", "w", nm->isolated);
	nm->isolated = 0;
}

static void on_heal_cut(uv_timer_t *t)
{
	partition_heal(t->data);
}

/* Cut wX off from both others, both ways, for 1 to 2 s. */
static void partition_isolate(struct nemesis *nm, int x)
{
	char name[8];
	snprintf(name, sizeof(name), "w%d", x);
	for (int i = 0; i < N_NODES; i++)
		proxy_cut(&nm->nodes[i], i + 1 == x ? "*" : name);
	nm->isolated = x;
	nm->partitions++;
	say(nm, "isolate %s%d", "w", x);
	uv_timer_start(&nm->heal_cut, on_heal_cut, 1000 + rnd(nm, 1000), 0);
}

static bool all_up(struct nemesis *nm);

static void on_leader_known(void *arg, int status,
			    const struct client_response *r)
{
	struct nemesis *nm = arg;
	int x = 0;
	if (status == CLIENT_OK && r && r->status_body.leader.len == 2 &&
	    r->status_body.leader.p[0] == 'w')
		x = r->status_body.leader.p[1] - '0';
	if (x < 1 || x > N_NODES)
		x = 1 + (int)rnd(nm, N_NODES); /* no leader known: any node */
	/* Healed meanwhile (end of the run): no partition. */
	if (nm->isolated != -1)
		return;
	nm->isolated = 0;
	if (nm->ph == RUN && all_up(nm))
		partition_isolate(nm, x);
}

static void partition_start(struct nemesis *nm)
{
	struct client_request q = { .op = CLIENT_OP_STATUS };
	if (rnd(nm, 2) ||
	    tclient_request(nm->probe, &q, 500, on_leader_known, nm))
		partition_isolate(nm, 1 + (int)rnd(nm, N_NODES));
	else
		nm->isolated = -1; /* pending: nothing else meanwhile */
}

static void on_node_timer(uv_timer_t *t)
{
	struct node *nd = t->data;
	if (nd->paused) {
		node_signal(nd, SIGCONT);
		nd->paused = false;
		say(nd->nm, "SIGCONT %s%d", "w", nd->n);
	} else if (nd->restart_pending && !nd->proc) {
		nd->restart_pending = false;
		if (node_start(nd) == 0)
			say(nd->nm, "restart %s%d", "w", nd->n);
	} else if (nd->restart_pending) {
		/* not reaped yet */
		uv_timer_start(&nd->timer, on_node_timer, 50, 0);
	}
}

/* ---- the nemesis ----------------------------------------------------------- */

static bool all_up(struct nemesis *nm)
{
	for (int i = 0; i < N_NODES; i++)
		if (!nm->nodes[i].proc || nm->nodes[i].paused ||
		    nm->nodes[i].restart_pending)
			return false;
	return nm->isolated == 0;
}

/* One fault at a time, so that two witnesses can always make progress. */
static void on_fault(uv_timer_t *t)
{
	struct nemesis *nm = t->data;
	if (nm->ph == RUN && all_up(nm)) {
		struct node *nd = &nm->nodes[rnd(nm, N_NODES)];
		unsigned kind = rnd(nm, nm->proxy_bin ? 3 : 2);
		if (kind == 2) {
			partition_start(nm);
		} else if (kind == 1) {
			say(nm, "kill -9 %s%d", "w", nd->n);
			node_signal(nd, SIGKILL);
			nd->restart_pending = true;
			uv_timer_start(&nd->timer, on_node_timer,
				       300 + rnd(nm, 700), 0);
		} else {
			say(nm, "SIGSTOP %s%d", "w", nd->n);
			node_signal(nd, SIGSTOP);
			nd->paused = true;
			uv_timer_start(&nd->timer, on_node_timer,
				       1000 + rnd(nm, 1000), 0);
		}
		nm->faults++;
	}
	if (nm->ph == RUN)
		uv_timer_start(&nm->fault, on_fault, 1000 + rnd(nm, 1000), 0);
}

static void heal(struct nemesis *nm)
{
	uv_timer_stop(&nm->heal_cut);
	partition_heal(nm);
	for (int i = 0; i < N_NODES; i++) {
		struct node *nd = &nm->nodes[i];
		if (nd->paused || nd->restart_pending) {
			uv_timer_stop(&nd->timer);
			on_node_timer(&nd->timer);
		}
	}
}

/* ---- clients ------------------------------------------------------------------ */

static void client_next(struct client *c);

static void on_think(uv_timer_t *t)
{
	client_next(t->data);
}

static void client_log(void *arg, const char *level, const char *msg)
{
	struct client *c = arg;
	(void)level;
	/* A connect that failed sent nothing; any other lost connection may
	 * have carried the request. */
	if (c->busy && !strncmp(msg, "connection to ", 14) &&
	    !strstr(msg, "connection refused") &&
	    !strstr(msg, "not ready before the connect timeout"))
		c->losses++;
}

static void copy_str(char *dst, struct client_str s)
{
	size_t n = s.len < LC_STR - 1 ? s.len : LC_STR - 1;
	memcpy(dst, s.p, n);
	dst[n] = 0;
}

static int lc_status(int st)
{
	switch (st) {
	case CLIENT_OK:
		return LC_OK;
	case CLIENT_HELD:
		return LC_HELD;
	case CLIENT_NOT_HOLDER:
		return LC_NOT_HOLDER;
	case CLIENT_NOT_FOUND:
		return LC_NOT_FOUND;
	case CLIENT_COMPARE_FAILED:
		return LC_COMPARE_FAILED;
	}
	return LC_UNKNOWN;
}

static bool is_lease_op(int type)
{
	return type >= LC_ACQUIRE;
}

static int object_index(const struct lc_op *op)
{
	return op->object[strlen(op->object) - 1] - '0';
}

/* What the answer teaches the client for its next requests. */
static void learn(struct client *c, const struct lc_op *op)
{
	int i = object_index(op);
	if (op->status == LC_UNKNOWN || !op->present)
		return;
	if (!is_lease_op(op->type))
		c->rev[i] = op->out_rev;
	else if (op->type == LC_ACQUIRE && op->status == LC_OK)
		c->token[i] = op->out_token;
}

static void fill_output(struct lc_op *op, int status,
			const struct client_response *r)
{
	op->status = lc_status(status);
	if (op->status == LC_UNKNOWN || !r)
		return;
	op->present = r->present;
	if (is_lease_op(op->type)) {
		copy_str(op->out_holder, r->lease.holder);
		op->out_token = r->lease.token;
	} else {
		copy_str(op->out_value, r->kv.value);
		op->out_rev = r->kv.mod_revision;
	}
}

static bool not_executed(int status)
{
	return status == CLIENT_ENOTLEADER || status == CLIENT_ENOQUORUM ||
	       status == CLIENT_EBUSY;
}

static bool idempotent_write(int type)
{
	return type == LC_PUT || type == LC_ACQUIRE || type == LC_RENEW;
}

static void record(struct client *c, int status,
		   const struct client_response *r)
{
	struct nemesis *nm = c->nm;
	struct lc_op *op = &c->op;
	op->ret = now_ns();
	if (not_executed(status) && !c->losses) {
		nm->dropped++;
		return;
	}
	fill_output(op, status, r);
	if (status == CLIENT_EINVAL || status == CLIENT_EINTERNAL) {
		if (nm->unexpected++ < 5)
			fprintf(stderr, "nemesis: c%d got %s: %.*s\n", c->id,
				client_status_name(status),
				r ? (int)r->message.len : 0,
				r ? r->message.p : "");
	}
	if (op->status == LC_UNKNOWN)
		op->ret = LC_NEVER;
	learn(c, op);
	long parent = lc_history_add(&nm->hist, op);
	if (parent < 0 || !idempotent_write(op->type))
		return;
	struct lc_op sh = *op;
	sh.status = LC_UNKNOWN;
	sh.present = false;
	sh.shadow_of = parent;
	for (unsigned i = 0; i < c->losses && i < MAX_SHADOWS; i++)
		lc_history_add(&nm->hist, &sh);
}

static void on_answer(void *arg, int status, const struct client_response *r)
{
	struct client *c = arg;
	struct nemesis *nm = c->nm;
	record(c, status, r);
	c->busy = false;
	if (nm->ph >= DRAIN)
		return;
	uv_timer_start(&c->think, on_think, rnd(nm, 20), 0);
}

static void key_op(struct client *c, struct lc_op *op, struct client_request *q)
{
	struct nemesis *nm = c->nm;
	int k = (int)rnd(nm, N_KEYS);
	unsigned dice = rnd(nm, 10);
	snprintf(op->object, sizeof(op->object), "key%d", k);
	snprintf(op->value, sizeof(op->value), "c%d-%u", c->id, ++c->seq);
	q->key = (struct client_str){ op->object, strlen(op->object) };
	q->value = (struct client_str){ op->value, strlen(op->value) };
	if (dice < 3) {
		op->type = LC_PUT;
		q->op = CLIENT_OP_PUT;
	} else if (dice < 6) {
		op->type = LC_GET;
		q->op = CLIENT_OP_GET;
		q->consistency = CLIENT_LINEARIZABLE;
	} else if (dice < 9) {
		op->type = LC_CAS;
		q->op = CLIENT_OP_CAS;
		op->rev = rnd(nm, 5) ? c->rev[k] : 0;
		q->expected_revision = op->rev;
	} else {
		op->type = LC_DELETE;
		q->op = CLIENT_OP_DELETE;
	}
}

static void lease_op(struct client *c, struct lc_op *op,
		     struct client_request *q)
{
	struct nemesis *nm = c->nm;
	static const uint64_t ttls[] = { 300, 700, 1500 };
	int l = (int)rnd(nm, N_LEASES);
	unsigned dice = rnd(nm, 20);
	snprintf(op->object, sizeof(op->object), "lease%d", l);
	snprintf(op->holder, sizeof(op->holder), "c%d", c->id);
	q->name = (struct client_str){ op->object, strlen(op->object) };
	q->holder = (struct client_str){ op->holder, strlen(op->holder) };
	/* Sometimes a token that is stale on purpose. */
	op->token = c->token[l] ? c->token[l] - rnd(nm, 2) : 1;
	q->lease_token = 0;
	q->ttl_ms = 0;
	if (dice < 7) {
		op->type = LC_ACQUIRE;
		q->op = CLIENT_OP_LEASE_ACQUIRE;
		op->ttl_ms = ttls[rnd(nm, 3)];
		q->ttl_ms = op->ttl_ms;
	} else if (dice < 12) {
		op->type = LC_RENEW;
		q->op = CLIENT_OP_LEASE_RENEW;
	} else if (dice < 15) {
		op->type = LC_RELEASE;
		q->op = CLIENT_OP_LEASE_RELEASE;
	} else {
		op->type = LC_LEASE_GET;
		q->op = CLIENT_OP_LEASE_GET;
		q->consistency = CLIENT_LINEARIZABLE;
	}
	if (op->type == LC_RENEW || op->type == LC_RELEASE)
		q->lease_token = op->token;
}

static void client_next(struct client *c)
{
	struct nemesis *nm = c->nm;
	struct client_request q;
	if (nm->ph >= DRAIN || c->busy)
		return;
	memset(&q, 0, sizeof(q));
	lc_op_init(&c->op);
	c->op.client = c->id;
	if (rnd(nm, 2))
		key_op(c, &c->op, &q);
	else
		lease_op(c, &c->op, &q);
	c->losses = 0;
	c->busy = true;
	nm->issued[c->op.type]++;
	c->op.call = now_ns();
	if (tclient_request(c->tc, &q, REQUEST_TIMEOUT_MS, on_answer, c)) {
		c->busy = false;
		nm->unexpected++;
	}
}

static int clients_start(struct nemesis *nm, const char *const *eps)
{
	nm->clients = calloc((size_t)nm->n_clients, sizeof(*nm->clients));
	if (!nm->clients)
		return UV_ENOMEM;
	for (int i = 0; i < nm->n_clients; i++) {
		struct client *c = &nm->clients[i];
		struct tclient_options o = {
			.endpoints = eps,
			.n_endpoints = N_NODES,
			.connect_timeout_ms = 500,
			.backoff_base_ms = 20,
			.backoff_cap_ms = 300,
			/* A fast failure would only shorten the history. */
			.breaker_threshold = 1000000,
			.log = client_log,
			.log_arg = c
		};
		c->nm = nm;
		c->id = i + 1;
		uv_timer_init(nm->loop, &c->think);
		c->think.data = c;
		int rv = tclient_new(nm->loop, &o, &c->tc);
		if (rv)
			return rv;
		uv_timer_start(&c->think, on_think, 100 + rnd(nm, 100), 0);
	}
	return 0;
}

/* The client that asks who leads (STATUS answers locally, any node). */
static int probe_start(struct nemesis *nm, const char *const *eps)
{
	struct tclient_options o = { .endpoints = eps,
				     .n_endpoints = N_NODES,
				     .connect_timeout_ms = 200,
				     .backoff_base_ms = 20,
				     .backoff_cap_ms = 100,
				     .breaker_threshold = 1000000 };
	return nm->proxy_bin ? tclient_new(nm->loop, &o, &nm->probe) : 0;
}

/* ---- phases ------------------------------------------------------------------------ */

static bool clients_idle(struct nemesis *nm)
{
	for (int i = 0; i < nm->n_clients; i++)
		if (nm->clients[i].busy)
			return false;
	return true;
}

static bool nodes_gone(struct nemesis *nm)
{
	for (int i = 0; i < N_NODES; i++)
		if (nm->nodes[i].proc || nm->nodes[i].proxy)
			return false;
	return true;
}

static void close_all(struct nemesis *nm)
{
	for (int i = 0; i < nm->n_clients; i++) {
		uv_close((uv_handle_t *)&nm->clients[i].think, NULL);
		tclient_close(nm->clients[i].tc, NULL, NULL);
	}
	for (int i = 0; i < N_NODES; i++)
		uv_close((uv_handle_t *)&nm->nodes[i].timer, NULL);
	if (nm->probe)
		tclient_close(nm->probe, NULL, NULL);
	uv_close((uv_handle_t *)&nm->fault, NULL);
	uv_close((uv_handle_t *)&nm->phase, NULL);
	uv_close((uv_handle_t *)&nm->heal_cut, NULL);
}

static void proxies_signal(struct nemesis *nm, int sig)
{
	for (int i = 0; i < N_NODES; i++)
		if (nm->nodes[i].proxy)
			kill(nm->nodes[i].proxy->pid, sig);
}

static void on_phase(uv_timer_t *t)
{
	struct nemesis *nm = t->data;
	static unsigned stop_ticks;
	switch (nm->ph) {
	case RUN:
		/* Heal, and let the clients see the healed cluster. */
		nm->ph = HEAL;
		uv_timer_stop(&nm->fault);
		heal(nm);
		say(nm, "heal: every witness %s (%d faults)", "up",
		    (int)nm->faults);
		uv_timer_start(t, on_phase, 3000, 0);
		return;
	case HEAL:
		nm->ph = DRAIN;
		break;
	case DRAIN:
		if (!clients_idle(nm))
			break;
		nm->ph = STOP;
		for (int i = 0; i < N_NODES; i++)
			node_signal(&nm->nodes[i], SIGTERM);
		proxies_signal(nm, SIGTERM);
		break;
	case STOP:
		if (!nodes_gone(nm)) {
			/* SIGTERM waits for queued writes; 10 s is plenty. */
			if (++stop_ticks == 200) {
				for (int i = 0; i < N_NODES; i++)
					node_signal(&nm->nodes[i], SIGKILL);
				proxies_signal(nm, SIGKILL);
			}
			break;
		}
		nm->ph = DONE;
		close_all(nm);
		return;
	case DONE:
		return;
	}
	uv_timer_start(t, on_phase, 50, 0);
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: nemesis --tenured PATH --port-base P [--duration S]"
		   " [--clients N] [--seed S] [--keep]\n"
		   "               [--history FILE] [--proxy PATH]\n"
		   "  Three tenured on 127.0.0.1 (peers P+1..P+3, clients "
		   "P+11..P+13), N clients (default 8)\n"
		   "  for S seconds (default 10) under kill -9 and SIGSTOP, "
		   "then a linearizability check.\n"
		   "  --proxy PATH (tests/helpers/tcp-proxy) puts a proxy in "
		   "front of each peer port (P+4..P+6)\n"
		   "  and adds partitions: one node, or the leader, cut off "
		   "for 1-2 s, then healed.\n"
		   "  --keep keeps the data dir and logs (always kept on a "
		   "violation).\n"
		   "  --min-ok N: fail (exit 2) unless at least N operations "
		   "answered OK (default 50)\n"
		   "  and every kind of operation issued answered OK at "
		   "least once.\n");
}

static int parse(struct nemesis *nm, int argc, char **argv)
{
	static const struct option opts[] = { { "tenured", 1, 0, 't' },
					      { "port-base", 1, 0, 'p' },
					      { "duration", 1, 0, 'd' },
					      { "clients", 1, 0, 'c' },
					      { "seed", 1, 0, 's' },
					      { "keep", 0, 0, 'k' },
					      { "history", 1, 0, 'H' },
					      { "proxy", 1, 0, 'x' },
					      { "min-ok", 1, 0, 'm' },
					      { "help", 0, 0, 'h' },
					      { 0, 0, 0, 0 } };
	int ch;
	nm->tenured = "./tenured";
	nm->duration = 10;
	nm->n_clients = 8;
	nm->min_ok = MIN_OK_DEFAULT;
	nm->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			nm->tenured = optarg;
			break;
		case 'p':
			nm->port_base = atoi(optarg);
			break;
		case 'd':
			nm->duration = atof(optarg);
			break;
		case 'c':
			nm->n_clients = atoi(optarg);
			break;
		case 's':
			nm->seed = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'k':
			nm->keep = true;
			break;
		case 'H':
			nm->history = optarg;
			break;
		case 'x':
			nm->proxy_bin = optarg;
			break;
		case 'm':
			nm->min_ok = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	nm->seed0 = nm->seed;
	if (nm->port_base < 1024 || nm->port_base > 65500 ||
	    nm->n_clients < 1 || nm->n_clients > 64 || nm->duration <= 0) {
		fprintf(stderr, "nemesis: --port-base (1024-65500), --clients "
				"(1-64) and --duration (> 0) are required to "
				"make sense\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

static int run(struct nemesis *nm)
{
	char eps_buf[N_NODES][32];
	const char *eps[N_NODES];
	for (int i = 0; i < N_NODES; i++) {
		struct node *nd = &nm->nodes[i];
		nd->nm = nm;
		nd->n = i + 1;
		uv_timer_init(nm->loop, &nd->timer);
		nd->timer.data = nd;
		int rv = nm->proxy_bin ? proxy_start(nd) : 0;
		if (rv) {
			fprintf(stderr, "nemesis: cannot start %s: %s\n",
				nm->proxy_bin, uv_strerror(rv));
			goto fail;
		}
		rv = node_start(nd);
		if (rv) {
			fprintf(stderr, "nemesis: cannot start %s: %s\n",
				nm->tenured, uv_strerror(rv));
			goto fail;
		}
		snprintf(eps_buf[i], sizeof(eps_buf[i]), "127.0.0.1:%d",
			 nm->port_base + 11 + i);
		eps[i] = eps_buf[i];
	}
	uv_timer_init(nm->loop, &nm->fault);
	uv_timer_init(nm->loop, &nm->phase);
	uv_timer_init(nm->loop, &nm->heal_cut);
	nm->fault.data = nm->phase.data = nm->heal_cut.data = nm;
	if (clients_start(nm, eps) || probe_start(nm, eps)) {
		fprintf(stderr, "nemesis: cannot create the clients\n");
		goto fail;
	}
	uv_timer_start(&nm->fault, on_fault, 1000 + rnd(nm, 1000), 0);
	uv_timer_start(&nm->phase, on_phase, (uint64_t)(nm->duration * 1000),
		       0);
	uv_run(nm->loop, UV_RUN_DEFAULT);
	return 0;
fail:
	for (int i = 0; i < N_NODES; i++)
		node_signal(&nm->nodes[i], SIGKILL);
	proxies_signal(nm, SIGKILL);
	return -1;
}

static void dump_history(const struct nemesis *nm)
{
	FILE *f = fopen(nm->history, "w");
	char line[512];
	if (!f) {
		perror(nm->history);
		return;
	}
	for (size_t i = 0; i < nm->hist.n; i++) {
		lc_op_format(&nm->hist.ops[i], nm->t0, line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	fclose(f);
}

/* Enough of the history succeeded to mean something: at least min_ok
 * answered OK (retry shadows aside), and each kind of operation the
 * clients issued answered OK at least once.  Prints the counts. */
static bool enough_ok(const struct nemesis *nm)
{
	unsigned ok[N_TYPES] = { 0 }, total = 0;
	for (size_t i = 0; i < nm->hist.n; i++) {
		const struct lc_op *op = &nm->hist.ops[i];
		if (op->shadow_of < 0 && op->status == LC_OK && op->type > 0 &&
		    op->type < N_TYPES) {
			ok[op->type]++;
			total++;
		}
	}
	char missing[128] = "";
	size_t m = 0;
	printf("answered OK: %u of", total);
	for (int t = LC_PUT; t < N_TYPES; t++) {
		printf(" %s %u/%u", type_names[t], ok[t], nm->issued[t]);
		if (nm->issued[t] && !ok[t] && m < sizeof(missing))
			m += (size_t)snprintf(missing + m, sizeof(missing) - m,
					      "%s%s", m ? ", " : "",
					      type_names[t]);
	}
	printf(" (ok/issued)\n");
	bool good = true;
	if (total < nm->min_ok) {
		printf("FAIL: only %u operations answered OK, at least %u "
		       "needed: the history tests next to nothing (were the "
		       "witnesses up?)\n",
		       total, nm->min_ok);
		good = false;
	}
	if (missing[0]) {
		printf("FAIL: no %s answered OK although the clients issued "
		       "them\n",
		       missing);
		good = false;
	}
	return good;
}

static int check(struct nemesis *nm)
{
	struct lc_options o = {
		.budget_s = 120, .out = stdout, .minimise = true, .t0 = nm->t0
	};
	struct lc_summary s;
	printf("checking %zu ops (%u dropped as not executed)...\n", nm->hist.n,
	       nm->dropped);
	if (nm->history)
		dump_history(nm);
	enum lc_verdict v = lc_check(nm->hist.ops, nm->hist.n, &o, &s);
	printf("faults: %u (%u partitions)\n", nm->faults, nm->partitions);
	printf("history: %zu ops, %zu unknown outcomes, %zu retry shadows, "
	       "%zu partitions; checked in %.3f s (%llu states)\n",
	       s.ops, s.unknown, s.shadows, s.partitions, s.seconds,
	       (unsigned long long)s.states);
	if (nm->unexpected)
		printf("warning: %u unexpected answers (see stderr)\n",
		       nm->unexpected);
	if (nm->crashes) {
		printf("FAIL: %u witness crashes; logs in %s\n", nm->crashes,
		       nm->dir);
		return v == LC_UNDECIDED ? 2 : 1;
	}
	bool enough = enough_ok(nm);
	if (v == LC_LINEARIZABLE && !enough) {
		printf("FAIL: linearizable, but too few successful operations "
		       "to count (seed %u); logs in %s\n",
		       nm->seed0, nm->dir);
		return 2;
	}
	if (v == LC_LINEARIZABLE)
		printf("ok: linearizable (seed %u)\n", nm->seed0);
	else
		printf("FAIL: %s (seed %u); logs in %s\n",
		       v == LC_VIOLATION ? "NOT linearizable"
					 : "the check could not decide",
		       nm->seed0, nm->dir);
	return v == LC_LINEARIZABLE ? 0 : v == LC_VIOLATION ? 1 : 2;
}

int main(int argc, char **argv)
{
	struct nemesis nm;
	memset(&nm, 0, sizeof(nm));
	if (parse(&nm, argc, argv))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	snprintf(nm.dir, sizeof(nm.dir), "/tmp/tenure-nemesis.XXXXXX");
	if (!mkdtemp(nm.dir)) {
		perror("nemesis: mkdtemp");
		return 2;
	}
	lc_history_init(&nm.hist);
	nm.loop = uv_default_loop();
	nm.t0 = now_ns();
	printf("nemesis: seed %u, %d clients, %.0f s, ports %d+, dir %s\n",
	       nm.seed0, nm.n_clients, nm.duration, nm.port_base, nm.dir);
	int rc = run(&nm) ? 2 : check(&nm);
	if (rc == 0 && !nm.keep) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", nm.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "nemesis: could not remove %s\n",
				nm.dir);
	}
	lc_history_free(&nm.hist);
	free(nm.clients);
	return rc;
}
