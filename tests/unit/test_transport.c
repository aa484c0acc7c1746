/*
 * test_transport.c — the peer transport over real TCP on 127.0.0.1.
 *
 * Every node listens on "127.0.0.1:0" and the test asks which port it got
 * (transport_listen_port), so two runs of the suite at once never collide.
 * All nodes of a test share one loop.  The loop is driven by run_until(),
 * which gives up at a deadline: a bug fails the test instead of hanging it.
 *
 * A message "arrived intact and in order" when the bytes of re-encoding
 * what a receiver got from one sender equal the bytes of encoding what
 * that sender was asked to send to it: any loss, reordering, duplicate,
 * corruption or spurious delivery breaks the equality.
 *
 * Bad input comes from a plain blocking socket (the "raw client"): the
 * test waits until the transport closes it, reads the reason and the
 * client's address in the log, and checks that the good peers still talk.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/peer.h"
#include "server/transport.h"
#include "server/transport_hello.h"
#include "tests/unit/loop_helpers.h"
#include "tests/unit/suites.h"

#define CLUSTER 0x7e57c0ffee000001ull
#define TOKEN "correct horse battery staple"
#define MAX_NODES 3
#define DEADLINE_MS 4000

struct node {
	raft_id id;
	char addr[RAFT_ADDR_MAX];
	struct transport *t;
	bool running;
	bool closed; /* on_closed ran */
	struct transport_options o;
	/* What this node received, re-encoded, per sender. */
	struct wire_writer got[MAX_NODES + 1];
	unsigned n_got[MAX_NODES + 1];
	unsigned warnings; /* "warn" and "error" lines */
	char log[16384];   /* every line, "level: msg\n" */
};

struct fixture {
	uv_loop_t loop;
	uv_timer_t tick; /* wakes uv_run so run_until sees its deadline */
	struct node nodes[MAX_NODES + 1]; /* by id; [0] unused */
	/* What each sender was asked to send, encoded, per receiver. */
	struct wire_writer sent[MAX_NODES + 1][MAX_NODES + 1];
	unsigned n_sent[MAX_NODES + 1][MAX_NODES + 1];
};

static struct fixture fx;

/* ---- callbacks ----------------------------------------------------------- */

static void on_message(void *arg, const struct raft_message *m)
{
	struct node *n = arg;

	ck_assert_uint_le(m->from, MAX_NODES);
	ck_assert_uint_eq(m->to, n->id);
	ck_assert(peer_encode(&n->got[m->from], m));
	n->n_got[m->from]++;
}

static void on_log(void *arg, const char *level, const char *msg)
{
	struct node *n = arg;
	size_t used = strlen(n->log);

	if (strcmp(level, "info") != 0)
		n->warnings++;
	snprintf(n->log + used, sizeof(n->log) - used, "%s: %s\n", level, msg);
	if (getenv("TRANSPORT_TEST_VERBOSE"))
		fprintf(stderr, "node %llu %s: %s\n", (unsigned long long)n->id,
			level, msg);
}

static void on_closed(void *arg)
{
	struct node *n = arg;

	n->closed = true;
}

/* ---- nodes --------------------------------------------------------------- */

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	ck_assert_int_eq(uv_loop_init(&fx.loop), 0);
	loop_tick_start(&fx.loop, &fx.tick);
	for (raft_id id = 1; id <= MAX_NODES; id++) {
		struct node *n = &fx.nodes[id];
		n->id = id;
		n->o = (struct transport_options){
			.self = id,
			.cluster_id = CLUSTER,
			.auth_token = TOKEN,
			.on_message = on_message,
			.log = on_log,
			.arg = n,
		};
	}
}

static void free_buffers(void)
{
	for (int i = 0; i <= MAX_NODES; i++)
		for (int j = 0; j <= MAX_NODES; j++) {
			wire_writer_free(&fx.sent[i][j]);
			wire_writer_free(&fx.nodes[i].got[j]);
		}
}

static void teardown(void)
{
	free_buffers();
}

/* Start node id on addr ("127.0.0.1:0" when NULL); returns the error. */
static int node_try_start(raft_id id, const char *addr, char *err, size_t n)
{
	struct node *nd = &fx.nodes[id];
	int rv;

	nd->o.listen_addr = addr ? addr : "127.0.0.1:0";
	nd->closed = false;
	rv = transport_start(&fx.loop, &nd->o, &nd->t, err, n);
	if (rv)
		return rv;
	nd->running = true;
	snprintf(nd->addr, sizeof(nd->addr), "127.0.0.1:%d",
		 transport_listen_port(nd->t));
	return 0;
}

static void node_start(raft_id id, const char *addr)
{
	char err[256] = "";
	int rv = node_try_start(id, addr, err, sizeof(err));

	ck_assert_msg(rv == 0, "node %llu: %s", (unsigned long long)id, err);
}

static bool node_closed(void *arg)
{
	return ((struct node *)arg)->closed;
}

static void node_stop(raft_id id)
{
	struct node *n = &fx.nodes[id];

	transport_close(n->t, on_closed, n);
	n->running = false;
	ck_assert(run_until(&fx.loop, node_closed, n, DEADLINE_MS));
	n->t = NULL;
}

/* A configuration of nodes 1..count at their current addresses. */
static struct raft_config config_of(unsigned count)
{
	struct raft_config c = { .n = count };

	for (unsigned i = 0; i < count; i++) {
		c.servers[i].id = i + 1;
		c.servers[i].role = RAFT_VOTER;
		snprintf(c.servers[i].addr, RAFT_ADDR_MAX, "%s",
			 fx.nodes[i + 1].addr);
	}
	return c;
}

static bool connected(raft_id from, raft_id to)
{
	struct transport_peer_stats st;

	return fx.nodes[from].running &&
	       transport_peer_stats(fx.nodes[from].t, to, &st) && st.connected;
}

static bool all_connected(void *arg)
{
	unsigned count = *(unsigned *)arg;

	for (raft_id a = 1; a <= count; a++)
		for (raft_id b = 1; b <= count; b++)
			if (a != b && !connected(a, b))
				return false;
	return true;
}

/* Start nodes 1..count, make them peers, wait until every link is up. */
static void cluster_start(unsigned count)
{
	struct raft_config c;

	for (raft_id id = 1; id <= count; id++)
		node_start(id, NULL);
	c = config_of(count);
	for (raft_id id = 1; id <= count; id++)
		transport_set_peers(fx.nodes[id].t, &c);
	ck_assert(run_until(&fx.loop, all_connected, &count, DEADLINE_MS));
}

static bool all_closed(void *arg)
{
	(void)arg;
	for (raft_id id = 1; id <= MAX_NODES; id++)
		if (fx.nodes[id].t && !fx.nodes[id].closed)
			return false;
	return true;
}

/* Close every node and prove that nothing is left on the loop. */
static void cluster_finish(void)
{
	for (raft_id id = 1; id <= MAX_NODES; id++)
		if (fx.nodes[id].running) {
			transport_close(fx.nodes[id].t, on_closed,
					&fx.nodes[id]);
			fx.nodes[id].running = false;
		}
	ck_assert(run_until(&fx.loop, all_closed, NULL, DEADLINE_MS));
	uv_close((uv_handle_t *)&fx.tick, NULL);
	uv_run(&fx.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&fx.loop), 0);
}

/* ---- messages ------------------------------------------------------------ */

static void send_msg(const struct raft_message *m)
{
	ck_assert(peer_encode(&fx.sent[m->from][m->to], m));
	fx.n_sent[m->from][m->to]++;
	transport_send(fx.nodes[m->from].t, m);
}

static bool stream_equal(raft_id from, raft_id to)
{
	const struct wire_writer *a = &fx.sent[from][to];
	const struct wire_writer *b = &fx.nodes[to].got[from];

	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->buf, b->buf, a->len) == 0);
}

static bool everything_arrived(void *arg)
{
	(void)arg;
	for (raft_id a = 1; a <= MAX_NODES; a++)
		for (raft_id b = 1; b <= MAX_NODES; b++)
			if (fx.nodes[b].n_got[a] < fx.n_sent[a][b])
				return false;
	return true;
}

/* Wait for every sent message, then insist it came intact and in order. */
static void expect_all_delivered(void)
{
	bool arrived = run_until(&fx.loop, everything_arrived, NULL,
				 DEADLINE_MS);

	for (raft_id a = 1; a <= MAX_NODES; a++)
		for (raft_id b = 1; b <= MAX_NODES; b++)
			ck_assert_msg(stream_equal(a, b),
				      "%llu -> %llu: %u of "
				      "%u messages, bytes differ%s",
				      (unsigned long long)a,
				      (unsigned long long)b,
				      fx.nodes[b].n_got[a], fx.n_sent[a][b],
				      arrived ? "" : " (timed out)");
}

static char entry_data[] = "lease primary: holder pg-2, ttl 10000 ms";
static unsigned char snap_data[3000];

static struct raft_config sample_config(void)
{
	struct raft_config c = { .n = 3 };

	for (unsigned i = 0; i < 3; i++) {
		c.servers[i].id = i + 1;
		c.servers[i].role = i == 2 ? RAFT_LEARNER : RAFT_VOTER;
		snprintf(c.servers[i].addr, RAFT_ADDR_MAX, "10.0.0.%u:7001",
			 i + 1);
	}
	return c;
}

struct samples {
	struct raft_message m[16];
	unsigned n;
	struct raft_entry entries[3];
	unsigned char conf[512];
};

static struct raft_message *next_sample(struct samples *s, uint8_t type,
					raft_id from, raft_id to)
{
	struct raft_message *m = &s->m[s->n++];

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = from;
	m->to = to;
	m->term = 7 + s->n;
	return m;
}

static void sample_append(struct samples *s, raft_id from, raft_id to,
			  uint64_t base)
{
	struct raft_config c = sample_config();
	struct raft_message *m = next_sample(s, RAFT_MSG_APPEND, from, to);
	size_t conf_len = raft_config_encode(&c, s->conf, sizeof(s->conf));

	s->entries[0] = (struct raft_entry){ 3,
					     base + 1,
					     RAFT_ENTRY_NORMAL,
					     { entry_data,
					       sizeof(entry_data) } };
	s->entries[1] = (struct raft_entry){
		4, base + 2, RAFT_ENTRY_NOOP, { NULL, 0 }
	};
	s->entries[2] = (struct raft_entry){
		4, base + 3, RAFT_ENTRY_CONFIG, { s->conf, conf_len }
	};
	m->append = (struct raft_msg_append){ base, 3, base + 2, 3,
					      s->entries };
	m = next_sample(s, RAFT_MSG_APPEND, from, to); /* no entries */
	m->append = (struct raft_msg_append){ base + 3, 4, base + 3, 0, NULL };
}

static void sample_snapshot(struct samples *s, raft_id from, raft_id to)
{
	for (unsigned i = 0; i < 3; i++) {
		struct raft_message *m = next_sample(s, RAFT_MSG_SNAPSHOT, from,
						     to);
		m->snapshot = (struct raft_msg_snapshot){
			.index = 90,
			.term = 5,
			.config = sample_config(),
			.offset = i * 1000,
			.total = sizeof(snap_data),
			.chunk = { snap_data + i * 1000, 1000 },
			.done = i == 2,
		};
	}
}

/* One message of every type (APPEND twice, SNAPSHOT in three chunks). */
static void make_samples(struct samples *s, raft_id from, raft_id to,
			 uint64_t base)
{
	struct raft_message *m;

	s->n = 0;
	for (size_t i = 0; i < sizeof(snap_data); i++)
		snap_data[i] = (unsigned char)(i * 31 + 7);
	sample_append(s, from, to, base);
	m = next_sample(s, RAFT_MSG_APPEND_RESP, from, to);
	m->append_resp = (struct raft_msg_append_resp){ false, 0, base, 2 };
	m = next_sample(s, RAFT_MSG_HEARTBEAT, from, to);
	m->heartbeat = (struct raft_msg_heartbeat){ base, 42 };
	m = next_sample(s, RAFT_MSG_HEARTBEAT_RESP, from, to);
	m->heartbeat_resp.read_seq = 42;
	m = next_sample(s, RAFT_MSG_VOTE, from, to);
	m->vote = (struct raft_msg_vote){ base + 3, 4, true, false };
	m = next_sample(s, RAFT_MSG_VOTE_RESP, from, to);
	m->vote_resp = (struct raft_msg_vote_resp){ true, true };
	sample_snapshot(s, from, to);
	m = next_sample(s, RAFT_MSG_SNAPSHOT_RESP, from, to);
	m->snapshot_resp = (struct raft_msg_snapshot_resp){ 90, 3000, true };
	next_sample(s, RAFT_MSG_TIMEOUT_NOW, from, to);
}

static void send_samples(raft_id from, raft_id to, uint64_t base)
{
	struct samples s;

	make_samples(&s, from, to, base);
	for (unsigned i = 0; i < s.n; i++)
		send_msg(&s.m[i]);
}

static void send_heartbeat(raft_id from, raft_id to, uint64_t seq)
{
	struct raft_message m = {
		.type = RAFT_MSG_HEARTBEAT, .from = from, .to = to, .term = 3
	};

	m.heartbeat.commit = seq;
	m.heartbeat.read_seq = seq;
	send_msg(&m);
}

/* ---- addresses and the hello --------------------------------------------- */

START_TEST(test_parse_addr)
{
	struct sockaddr_storage sa;
	static const char *bad[] = {
		"127.0.0.1",
		"127.0.0.1:",
		":7001",
		"127.0.0.1:70000",
		"127.0.0.1:7x",
		"::1:7001",
		"[::1]7001",
		"[::1]:",
		"db1.example:7001",
		"[127.0.0.1]:7001",
		"",
		"127.0.0.1:-1",
	};

	ck_assert_int_eq(transport_parse_addr("127.0.0.1:7001", &sa), 0);
	ck_assert_int_eq(sa.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&sa)->sin_port), 7001);
	ck_assert_int_eq(transport_parse_addr("[::1]:7002", &sa), 0);
	ck_assert_int_eq(sa.ss_family, AF_INET6);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&sa)->sin6_port), 7002);
	ck_assert_int_eq(transport_parse_addr("[fd00::1:2]:65535", &sa), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(transport_parse_addr(bad[i], &sa) != 0,
			      "\"%s\" accepted", bad[i]);
	ck_assert_int_ne(transport_parse_addr(NULL, &sa), 0);
}
END_TEST

static const char *decode_hello_bytes(const struct wire_writer *w,
				      struct transport_hello *h)
{
	struct frame_decoder d;
	struct frame f;
	const char *why;

	frame_decoder_init(&d, 0);
	ck_assert(frame_decoder_feed(&d, w->buf, w->len));
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_READY);
	why = transport_hello_decode(&f, h);
	frame_decoder_free(&d); /* h->token is not used after this */
	return why;
}

START_TEST(test_hello)
{
	struct transport_hello in = {
		CLUSTER, 2, 1, TOKEN, strlen(TOKEN), "127.0.0.1:7102", 14
	};
	struct transport_hello out;
	struct wire_writer w;
	char why[192];

	wire_writer_init(&w);
	ck_assert(transport_hello_encode(&w, &in));
	ck_assert_ptr_null(decode_hello_bytes(&w, &out));
	ck_assert_uint_eq(out.cluster_id, CLUSTER);
	ck_assert_uint_eq(out.from, 2);
	ck_assert_uint_eq(out.to, 1);
	ck_assert_uint_eq(out.token_len, strlen(TOKEN));
	/* The advertised client address travels for leader hints (its
	 * bytes are checked where they are still alive: in the frame). */
	ck_assert_uint_eq(out.client_addr_len, 14);
	ck_assert_ptr_nonnull(memmem(w.buf, w.len, "127.0.0.1:7102", 14));

	in.token_len = 0;
	ck_assert_ptr_null(transport_hello_verify(&in, CLUSTER, 1, NULL, why,
						  sizeof(why)));
	ck_assert_ptr_nonnull(transport_hello_verify(&in, CLUSTER, 1, TOKEN,
						     why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "auth token mismatch"));
	in.token_len = strlen(TOKEN);
	ck_assert_ptr_nonnull(transport_hello_verify(&in, CLUSTER + 1, 1, TOKEN,
						     why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "wrong cluster id"));
	ck_assert_ptr_nonnull(transport_hello_verify(&in, CLUSTER, 3, TOKEN,
						     why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "reached node 3"));
	in.from = 1;
	ck_assert_ptr_nonnull(transport_hello_verify(&in, CLUSTER, 1, TOKEN,
						     why, sizeof(why)));

	/* A Raft message is not a hello. */
	wire_writer_reset(&w);
	struct raft_message m = {
		.type = RAFT_MSG_TIMEOUT_NOW, .from = 2, .to = 1, .term = 1
	};
	ck_assert(peer_encode(&w, &m));
	ck_assert_ptr_nonnull(decode_hello_bytes(&w, &out));
	wire_writer_free(&w);
}
END_TEST

START_TEST(test_token_equal)
{
	ck_assert(transport_token_equal("abc", 3, "abc", 3));
	ck_assert(transport_token_equal("", 0, "", 0));
	ck_assert(!transport_token_equal("abc", 3, "abd", 3));
	ck_assert(!transport_token_equal("abc", 3, "ab", 2));
	ck_assert(!transport_token_equal("abc", 3, "abcd", 4));
	ck_assert(!transport_token_equal("", 0, "a", 1));
	ck_assert(!transport_token_equal("ab\0", 3, "ab", 2));
}
END_TEST

/* ---- delivery ------------------------------------------------------------ */

START_TEST(test_two_nodes_every_type)
{
	struct transport_peer_stats st;

	cluster_start(2);
	for (uint64_t round = 0; round < 3; round++) {
		send_samples(1, 2, 100 * round + 10);
		send_samples(2, 1, 100 * round + 20);
	}
	expect_all_delivered();
	ck_assert(transport_peer_stats(fx.nodes[1].t, 2, &st));
	ck_assert_uint_eq(st.id, 2);
	ck_assert(st.connected);
	ck_assert_uint_eq(st.sent_msgs, fx.n_sent[1][2]);
	ck_assert_uint_eq(st.received_msgs, fx.n_sent[2][1]);
	ck_assert_uint_eq(st.dropped_msgs, 0);
	ck_assert_uint_gt(st.sent_bytes, fx.sent[1][2].len);
	ck_assert(!transport_peer_stats(fx.nodes[1].t, 1, &st));
	ck_assert(!transport_peer_stats(fx.nodes[1].t, 3, &st));
	ck_assert_uint_eq(fx.nodes[1].warnings + fx.nodes[2].warnings, 0);
	cluster_finish();
}
END_TEST

START_TEST(test_three_nodes_every_type)
{
	cluster_start(3);
	for (uint64_t round = 0; round < 4; round++)
		for (raft_id a = 1; a <= 3; a++)
			for (raft_id b = 1; b <= 3; b++)
				if (a != b)
					send_samples(a, b,
						     1000 * a + 10 * round);
	expect_all_delivered();
	for (raft_id id = 1; id <= 3; id++)
		ck_assert_uint_eq(fx.nodes[id].warnings, 0);
	cluster_finish();
}
END_TEST

/* Between the flush of a sender (an idle handle) and the receiver's read
 * (the poll), the bytes wait in the receiver's kernel: a prepare handle
 * runs exactly there.  transport_input_waiting must see them from their
 * sender, and only from it. */
static struct {
	bool from_sender, from_other;
} waiting_seen;

static void look_for_waiting_input(uv_prepare_t *p)
{
	(void)p;
	if (transport_input_waiting(fx.nodes[2].t, 1))
		waiting_seen.from_sender = true;
	if (transport_input_waiting(fx.nodes[2].t, 3))
		waiting_seen.from_other = true;
}

START_TEST(test_input_waiting)
{
	uv_prepare_t prepare;

	memset(&waiting_seen, 0, sizeof(waiting_seen));
	cluster_start(2);
	send_heartbeat(1, 2, 1); /* connect and say hello first */
	expect_all_delivered();
	ck_assert(!transport_input_waiting(fx.nodes[2].t, 1));
	ck_assert_int_eq(uv_prepare_init(&fx.loop, &prepare), 0);
	ck_assert_int_eq(uv_prepare_start(&prepare, look_for_waiting_input), 0);
	send_heartbeat(1, 2, 2);
	expect_all_delivered();
	uv_close((uv_handle_t *)&prepare, NULL);
	ck_assert(waiting_seen.from_sender);
	ck_assert(!waiting_seen.from_other);
	ck_assert(!transport_input_waiting(fx.nodes[2].t, 1));
	cluster_finish();
}
END_TEST

/* Raft talks in bursts: heartbeats to all and appends, thousands at once. */
START_TEST(test_burst)
{
	struct transport_peer_stats st;
	struct samples s;

	cluster_start(2);
	make_samples(&s, 1, 2, 10);
	for (unsigned i = 0; i < 10000; i++) {
		if (i % 10 == 0)
			send_msg(&s.m[i / 10 % s.n]);
		else
			send_heartbeat(1, 2, i);
	}
	for (unsigned i = 0; i < 100; i++)
		send_heartbeat(2, 1, i);
	expect_all_delivered();
	ck_assert(transport_peer_stats(fx.nodes[1].t, 2, &st));
	ck_assert_uint_eq(st.sent_msgs, 10000);
	ck_assert_uint_eq(st.dropped_msgs, 0);
	cluster_finish();
}
END_TEST

/* A port nobody listens on yet; a bound-then-closed socket leaves none of
 * the TIME_WAIT state a connection would. */
static int reserve_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static bool both_ways(void *arg)
{
	(void)arg;
	return connected(1, 2) && connected(2, 1);
}

/* Start node id on the address it had, retrying briefly: the port might
 * be held for a moment by a socket of the other node. */
static void node_restart(raft_id id)
{
	char addr[RAFT_ADDR_MAX], err[256] = "";
	uint64_t deadline = uv_hrtime() + 1000 * 1000000ull;

	snprintf(addr, sizeof(addr), "%s", fx.nodes[id].addr);
	while (node_try_start(id, addr, err, sizeof(err)) != 0) {
		ck_assert_msg(uv_hrtime() < deadline, "restart: %s", err);
		run_for(&fx.loop, 20);
	}
}

START_TEST(test_peer_starts_later)
{
	struct transport_peer_stats st;
	struct raft_config c;

	node_start(1, NULL);
	snprintf(fx.nodes[2].addr, RAFT_ADDR_MAX, "127.0.0.1:%d",
		 reserve_port());
	c = config_of(2);
	transport_set_peers(fx.nodes[1].t, &c);
	run_for(&fx.loop, 250); /* a few refused dials: 50, 100 ms ... */
	ck_assert(transport_peer_stats(fx.nodes[1].t, 2, &st));
	ck_assert(!st.connected);
	ck_assert_uint_ge(st.reconnects, 1);
	send_heartbeat(1, 2, 1); /* dropped: not connected */
	fx.n_sent[1][2] = 0;
	wire_writer_reset(&fx.sent[1][2]);
	ck_assert(transport_peer_stats(fx.nodes[1].t, 2, &st));
	ck_assert_uint_eq(st.dropped_msgs, 1);
	/* One line for the outage, not one per attempt. */
	ck_assert_uint_eq(fx.nodes[1].warnings, 1);

	node_restart(2);
	transport_set_peers(fx.nodes[2].t, &c);
	ck_assert(run_until(&fx.loop, both_ways, NULL, DEADLINE_MS));
	send_samples(1, 2, 10);
	send_samples(2, 1, 20);
	expect_all_delivered();
	cluster_finish();
}
END_TEST

static bool one_lost_two(void *arg)
{
	(void)arg;
	return !connected(1, 2);
}

START_TEST(test_peer_restart)
{
	struct raft_config c;

	cluster_start(2);
	send_samples(1, 2, 10);
	expect_all_delivered();
	node_stop(2);
	ck_assert(run_until(&fx.loop, one_lost_two, NULL, DEADLINE_MS));
	ck_assert_ptr_nonnull(strstr(fx.nodes[1].log, "closed by the peer"));

	/* The new incarnation starts with an empty inbox. */
	wire_writer_reset(&fx.nodes[2].got[1]);
	fx.nodes[2].n_got[1] = 0;
	wire_writer_reset(&fx.sent[1][2]);
	fx.n_sent[1][2] = 0;
	node_restart(2);
	c = config_of(2);
	transport_set_peers(fx.nodes[2].t, &c);
	ck_assert(run_until(&fx.loop, both_ways, NULL, DEADLINE_MS));
	send_samples(1, 2, 30);
	send_samples(2, 1, 40);
	expect_all_delivered();
	cluster_finish();
}
END_TEST

START_TEST(test_no_auth_token)
{
	for (raft_id id = 1; id <= 2; id++)
		fx.nodes[id].o.auth_token = NULL;
	cluster_start(2);
	send_samples(1, 2, 10);
	send_samples(2, 1, 10);
	expect_all_delivered();
	cluster_finish();
}
END_TEST

/* ---- membership, bounds -------------------------------------------------- */

static bool three_saw_one_leave(void *arg)
{
	(void)arg;
	return strstr(fx.nodes[3].log, "(node 1) ended") != NULL;
}

START_TEST(test_remove_peer)
{
	struct transport_peer_stats st;
	struct raft_config c;
	unsigned three = 3;

	cluster_start(3);
	c = config_of(3);
	c.n = 2; /* node 3 leaves node 1's view */
	transport_set_peers(fx.nodes[1].t, &c);
	ck_assert(!transport_peer_stats(fx.nodes[1].t, 3, &st));
	ck_assert(run_until(&fx.loop, three_saw_one_leave, NULL, DEADLINE_MS));
	/* Sends to a non-member vanish; everything else still flows. */
	struct raft_message m = {
		.type = RAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 3, .term = 9
	};
	transport_send(fx.nodes[1].t, &m);
	send_samples(1, 2, 10);
	send_samples(3, 1, 10);
	send_samples(2, 3, 10);
	expect_all_delivered();

	/* Back in: dialled again. */
	c.n = 3;
	transport_set_peers(fx.nodes[1].t, &c);
	ck_assert(run_until(&fx.loop, all_connected, &three, DEADLINE_MS));
	send_samples(1, 3, 20);
	expect_all_delivered();
	cluster_finish();
}
END_TEST

static bool write_completed(void *arg)
{
	struct transport_peer_stats st;

	return transport_peer_stats(fx.nodes[1].t, 2, &st) &&
	       st.sent_msgs == *(uint64_t *)arg;
}

START_TEST(test_max_buffered)
{
	struct transport_peer_stats st;
	struct wire_writer all;
	size_t prefix = 0;
	uint64_t accepted;

	fx.nodes[1].o.max_buffered = 2000;
	cluster_start(2);
	/* Nothing is flushed before the loop runs again, so the bound is
	 * hit after about 2000 bytes of heartbeats and the rest dropped. */
	wire_writer_init(&all);
	for (unsigned i = 0; i < 200; i++) {
		struct raft_message m = { .type = RAFT_MSG_HEARTBEAT,
					  .from = 1,
					  .to = 2,
					  .term = 3 };
		m.heartbeat.read_seq = i;
		transport_send(fx.nodes[1].t, &m);
		ck_assert(peer_encode(&all, &m));
		ck_assert(transport_peer_stats(fx.nodes[1].t, 2, &st));
		if (st.dropped_msgs == 0)
			prefix = all.len;
	}
	ck_assert(transport_peer_stats(fx.nodes[1].t, 2, &st));
	accepted = 200 - st.dropped_msgs;
	ck_assert_uint_gt(accepted, 10);
	ck_assert_uint_lt(accepted, 2000 / 64 + 1);
	/* The accepted ones are the first ones, and they all arrive. */
	wire_put_bytes(&fx.sent[1][2], all.buf, prefix);
	fx.n_sent[1][2] = (unsigned)accepted;
	wire_writer_free(&all);
	expect_all_delivered();
	ck_assert(run_until(&fx.loop, write_completed, &accepted, DEADLINE_MS));
	ck_assert(transport_peer_stats(fx.nodes[1].t, 2, &st));
	ck_assert_uint_eq(st.received_msgs, 0);
	/* Once the write completed there is room again. */
	for (unsigned i = 0; i < 20; i++)
		send_heartbeat(1, 2, 1000 + i);
	expect_all_delivered();
	cluster_finish();
}
END_TEST

START_TEST(test_oversized_message_dropped)
{
	static unsigned char big[8192];
	struct transport_peer_stats st;
	struct raft_entry e = {
		1, 11, RAFT_ENTRY_NORMAL, { big, sizeof(big) }
	};
	struct raft_message m = {
		.type = RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 1
	};

	fx.nodes[1].o.frame_limit = 4096;
	cluster_start(2);
	m.append = (struct raft_msg_append){ 10, 1, 10, 1, &e };
	transport_send(fx.nodes[1].t, &m);
	transport_send(fx.nodes[1].t, &m);
	ck_assert(transport_peer_stats(fx.nodes[1].t, 2, &st));
	ck_assert_uint_eq(st.dropped_msgs, 2);
	ck_assert_uint_eq(fx.nodes[1].warnings, 1); /* said once */
	ck_assert_ptr_nonnull(strstr(fx.nodes[1].log, "over the frame limit"));
	send_samples(1, 2, 10); /* the connection is fine */
	expect_all_delivered();
	cluster_finish();
}
END_TEST

/* ---- lifecycle ----------------------------------------------------------- */

START_TEST(test_start_errors)
{
	char err[256], addr[RAFT_ADDR_MAX];

	node_start(1, NULL);
	snprintf(addr, sizeof(addr), "%s", fx.nodes[1].addr);
	ck_assert_int_eq(node_try_start(2, addr, err, sizeof(err)),
			 UV_EADDRINUSE);
	ck_assert_ptr_null(fx.nodes[2].t);
	ck_assert_ptr_nonnull(strstr(err, "in use"));
	ck_assert_ptr_nonnull(strstr(err, addr));
	ck_assert_int_eq(node_try_start(2, "localhost:7001", err, sizeof(err)),
			 UV_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "localhost:7001"));
	fx.nodes[2].o.self = 0;
	ck_assert_int_eq(node_try_start(2, NULL, err, sizeof(err)), UV_EINVAL);
	cluster_finish();
}
END_TEST

/* Closing with writes in flight and connections half open must free
 * everything (run under ASan) and leave no handle on the loop. */
START_TEST(test_close_mid_traffic)
{
	cluster_start(3);
	for (unsigned i = 0; i < 3000; i++) {
		send_heartbeat(1, 2, i);
		send_heartbeat(2, 3, i);
		send_heartbeat(3, 1, i);
	}
	uv_run(&fx.loop, UV_RUN_NOWAIT);
	cluster_finish();
}
END_TEST

START_TEST(test_close_while_dialling)
{
	struct raft_config c;

	node_start(1, NULL);
	snprintf(fx.nodes[2].addr, RAFT_ADDR_MAX, "127.0.0.1:%d",
		 reserve_port());
	snprintf(fx.nodes[3].addr, RAFT_ADDR_MAX, "[::1]:%d", reserve_port());
	c = config_of(3);
	transport_set_peers(fx.nodes[1].t, &c);
	run_for(&fx.loop, 30);
	cluster_finish();
}
END_TEST

/* ---- bad input from a raw client ----------------------------------------- */

struct raw_case {
	const char *name;
	void (*build)(struct wire_writer *w);
	const char *reason; /* expected in the log line */
};

static void put_hello(struct wire_writer *w, uint64_t cluster, raft_id to,
		      const char *token)
{
	struct transport_hello h = { cluster,       2,    to, token,
				     strlen(token), NULL, 0 };

	ck_assert(transport_hello_encode(w, &h));
}

static void good_hello(struct wire_writer *w)
{
	put_hello(w, CLUSTER, 1, TOKEN);
}

static void put_timeout_now(struct wire_writer *w, raft_id from)
{
	struct raft_message m = {
		.type = RAFT_MSG_TIMEOUT_NOW, .from = from, .to = 1, .term = 5
	};

	ck_assert(peer_encode(w, &m));
}

static void build_wrong_cluster(struct wire_writer *w)
{
	put_hello(w, CLUSTER + 1, 1, TOKEN);
	put_timeout_now(w, 2);
}

static void build_wrong_token(struct wire_writer *w)
{
	put_hello(w, CLUSTER, 1, "correct horse battery stapler");
	put_timeout_now(w, 2);
}

static void build_no_token(struct wire_writer *w)
{
	put_hello(w, CLUSTER, 1, "");
}

static void build_wrong_receiver(struct wire_writer *w)
{
	put_hello(w, CLUSTER, 3, TOKEN);
}

static void build_garbage(struct wire_writer *w)
{
	static const char http[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

	wire_put_bytes(w, http, sizeof(http) - 1);
}

static void build_no_hello(struct wire_writer *w)
{
	put_timeout_now(w, 2);
}

static void build_bad_checksum(struct wire_writer *w)
{
	good_hello(w);
	put_timeout_now(w, 2);
	w->buf[w->len - 1] ^= 0x40; /* last byte of the message's term */
}

/* A header announcing one byte more than the limit: refused before its
 * payload arrives. */
static void put_header(struct wire_writer *w, uint32_t type, size_t len)
{
	size_t start = frame_begin(w, type, 0);

	wire_store_u32(w->buf + start + 16, (uint32_t)len);
}

static void build_oversized(struct wire_writer *w)
{
	good_hello(w);
	put_header(w, RAFT_MSG_APPEND, FRAME_LIMIT_DEFAULT + 1);
}

static void build_oversized_hello(struct wire_writer *w)
{
	put_header(w, TRANSPORT_HELLO_TYPE, 100000);
}

static void build_bad_version(struct wire_writer *w)
{
	good_hello(w);
	size_t start = w->len;
	put_timeout_now(w, 2);
	w->buf[start + 2] = 9;
}

static void build_truncated_message(struct wire_writer *w)
{
	good_hello(w);
	size_t start = frame_begin(w, RAFT_MSG_HEARTBEAT, 0);
	wire_put_u64(w, 2);
	wire_put_u64(w, 1);
	wire_put_u64(w, 5);
	wire_put_u32(w, 1); /* heartbeat wants two u64 */
	frame_end(w, start);
}

static void build_unknown_type(struct wire_writer *w)
{
	good_hello(w);
	size_t start = frame_begin(w, 77, 0);
	wire_put_u64(w, 2);
	frame_end(w, start);
}

static void build_forged_sender(struct wire_writer *w)
{
	good_hello(w);
	put_timeout_now(w, 3);
}

static void build_second_hello(struct wire_writer *w)
{
	good_hello(w);
	good_hello(w);
}

static const struct raw_case raw_cases[] = {
	{ "wrong cluster", build_wrong_cluster, "wrong cluster id" },
	{ "wrong token", build_wrong_token, "auth token mismatch" },
	{ "no token", build_no_token, "auth token mismatch" },
	{ "wrong receiver", build_wrong_receiver, "reached node 1" },
	{ "garbage", build_garbage, "bad frame magic" },
	{ "message before hello", build_no_hello, "not a hello" },
	{ "bad checksum", build_bad_checksum, "checksum mismatch" },
	{ "oversized frame", build_oversized, "over the limit" },
	{ "oversized hello", build_oversized_hello, "over the limit" },
	{ "bad version", build_bad_version, "unsupported protocol version" },
	{ "truncated message", build_truncated_message, "truncated" },
	{ "unknown type", build_unknown_type, "unknown Raft message type" },
	{ "forged sender", build_forged_sender, "authenticated as node 2" },
	{ "second hello", build_second_hello, "second hello" },
};

static int raw_connect(int port, char *name, size_t n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(name, n, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

/* Closed by the other side: EOF, or a reset when it had unread bytes. */
static bool raw_closed(void *arg)
{
	char c;
	ssize_t n = recv(*(int *)arg, &c, 1, MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

START_TEST(test_bad_input_closes_only_that_connection)
{
	const struct raw_case *rc = &raw_cases[_i];
	struct wire_writer w;
	char name[64];
	int fd;

	cluster_start(2);
	send_samples(1, 2, 10);
	send_samples(2, 1, 10);
	fd = raw_connect(transport_listen_port(fx.nodes[1].t), name,
			 sizeof(name));
	wire_writer_init(&w);
	rc->build(&w);
	ck_assert(!w.failed);
	ck_assert_int_eq(write(fd, w.buf, w.len), (ssize_t)w.len);
	wire_writer_free(&w);
	ck_assert_msg(run_until(&fx.loop, raw_closed, &fd, DEADLINE_MS),
		      "%s: raw connection not closed", rc->name);
	close(fd);
	ck_assert_uint_eq(fx.nodes[1].warnings, 1);
	ck_assert_msg(strstr(fx.nodes[1].log, rc->reason) &&
			      strstr(fx.nodes[1].log, name),
		      "%s: log lacks \"%s\" or %s:\n%s", rc->name, rc->reason,
		      name, fx.nodes[1].log);
	/* The good peers never noticed, and no forged message slipped in
	 * (it would break the byte equality of node 2's stream). */
	ck_assert(connected(1, 2) && connected(2, 1));
	send_samples(1, 2, 20);
	send_samples(2, 1, 20);
	expect_all_delivered();
	cluster_finish();
}
END_TEST

/* Bytes in one at a time: the decoder must cope with every split, also
 * from a client that is not a dialling transport. */
START_TEST(test_raw_byte_by_byte)
{
	struct wire_writer w;
	struct samples smp;
	char name[64];
	int fd;

	node_start(1, NULL);
	make_samples(&smp, 2, 1, 10);
	for (unsigned i = 0; i < smp.n; i++) {
		ck_assert(peer_encode(&fx.sent[2][1], &smp.m[i]));
		fx.n_sent[2][1]++;
	}
	fd = raw_connect(transport_listen_port(fx.nodes[1].t), name,
			 sizeof(name));
	wire_writer_init(&w);
	good_hello(&w);
	wire_put_bytes(&w, fx.sent[2][1].buf, fx.sent[2][1].len);
	for (size_t i = 0; i < w.len; i++) {
		ck_assert_int_eq(write(fd, w.buf + i, 1), 1);
		uv_run(&fx.loop, UV_RUN_NOWAIT);
	}
	wire_writer_free(&w);
	expect_all_delivered();
	ck_assert(!raw_closed(&fd));
	ck_assert_uint_eq(fx.nodes[1].warnings, 0);
	close(fd);
	cluster_finish();
}
END_TEST

Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *unit = tcase_create("codec");
	TCase *tcp = tcase_create("tcp");

	tcase_add_test(unit, test_parse_addr);
	tcase_add_test(unit, test_hello);
	tcase_add_test(unit, test_token_equal);
	suite_add_tcase(s, unit);

	tcase_add_checked_fixture(tcp, setup, teardown);
	tcase_set_timeout(tcp, 20);
	tcase_add_test(tcp, test_two_nodes_every_type);
	tcase_add_test(tcp, test_input_waiting);
	tcase_add_test(tcp, test_three_nodes_every_type);
	tcase_add_test(tcp, test_burst);
	tcase_add_test(tcp, test_no_auth_token);
	tcase_add_test(tcp, test_peer_starts_later);
	tcase_add_test(tcp, test_peer_restart);
	tcase_add_test(tcp, test_remove_peer);
	tcase_add_test(tcp, test_max_buffered);
	tcase_add_test(tcp, test_oversized_message_dropped);
	tcase_add_test(tcp, test_start_errors);
	tcase_add_test(tcp, test_close_mid_traffic);
	tcase_add_test(tcp, test_close_while_dialling);
	tcase_add_loop_test(tcp, test_bad_input_closes_only_that_connection, 0,
			    (int)(sizeof(raw_cases) / sizeof(raw_cases[0])));
	tcase_add_test(tcp, test_raw_byte_by_byte);
	suite_add_tcase(s, tcp);
	return s;
}
