/*
 * test_tls.c — common/tls.c, tls_conn.c and stream.c over real loopback
 * TCP, libuv on both sides, with certificates made for each test
 * (tests/test_pki.h); and common/http.c over TLS.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/http.h"
#include "common/stream.h"
#include "common/tls.h"
#include "fencing/agent_tls.h"
#include "tests/unit/loop_helpers.h"
#include "tests/unit/suites.h"
#include "tests/unit/test_pki.h"

#define WAIT_MS 10000
#define MIB (1024 * 1024)

static struct test_pki pki;

static void make_pki(void)
{
	test_pki_make(&pki);
}

static void remove_pki(void)
{
	test_pki_remove(&pki);
}

/* ---- contexts ---------------------------------------------------------- */

/* NAME.pem and NAME.key; ca: ca.pem unless NULL. */
static struct tls_context *context(const char *name, const char *ca,
				   bool server, bool verify_peer)
{
	char cert[PATH_MAX], key[PATH_MAX], ca_path[PATH_MAX], err[512];
	char f[64];
	snprintf(f, sizeof(f), "%s.pem", name);
	snprintf(cert, sizeof(cert), "%s", test_pki_file(&pki, f));
	snprintf(f, sizeof(f), "%s.key", name);
	snprintf(key, sizeof(key), "%s", test_pki_file(&pki, f));
	if (ca)
		snprintf(ca_path, sizeof(ca_path), "%s",
			 test_pki_file(&pki, ca));
	struct tls_config cfg = {
		.cert_file = name ? cert : NULL,
		.key_file = name ? key : NULL,
		.ca_file = ca ? ca_path : NULL,
		.verify_peer = verify_peer,
		.server = server,
	};
	struct tls_context *ctx = tls_context_load(&cfg, err, sizeof(err));
	ck_assert_msg(ctx, "%s", err);
	return ctx;
}

static struct tls_context *client_without_cert(void)
{
	char err[512];
	struct tls_config cfg = { .ca_file = test_pki_file(&pki, "ca.pem") };
	struct tls_context *ctx = tls_context_load(&cfg, err, sizeof(err));
	ck_assert_msg(ctx, "%s", err);
	return ctx;
}

/* ---- one side of a connection ---------------------------------------- */

struct side {
	struct stream *st;
	bool ready, ended, closed;
	int status;
	char why[512];
	struct tls_peer_names peer;
	bool peer_null;
	char rbuf[16384];
	struct buf got;
};

static void side_closed(void *arg)
{
	((struct side *)arg)->closed = true;
}

static void on_alloc(struct stream *st, size_t hint, uv_buf_t *b)
{
	struct side *sd = stream_data(st);
	*b = uv_buf_init(sd->rbuf, sizeof(sd->rbuf));
}

static void on_read(struct stream *st, char *data, size_t n)
{
	struct side *sd = stream_data(st);
	ck_assert_ptr_eq(data, sd->rbuf);
	buf_put(&sd->got, data, n);
}

static void on_ready(struct stream *st, const struct tls_peer_names *peer)
{
	struct side *sd = stream_data(st);
	ck_assert(!sd->ready);
	sd->ready = true;
	sd->peer_null = peer == NULL;
	if (peer)
		sd->peer = *peer;
}

/* The convention: the owner closes at the end. */
static void on_end(struct stream *st, int status, const char *why)
{
	struct side *sd = stream_data(st);
	ck_assert(!sd->ended);
	sd->ended = true;
	sd->status = status;
	snprintf(sd->why, sizeof(sd->why), "%s", why);
	stream_close(st, false, side_closed, sd);
}

static const struct stream_callbacks side_callbacks = {
	.alloc = on_alloc,
	.read = on_read,
	.ready = on_ready,
	.end = on_end,
};

/* ---- a listener and a client on one loop ------------------------------ */

struct pair {
	uv_loop_t loop;
	uv_timer_t tick;
	uv_tcp_t listener;
	struct sockaddr_in addr;
	struct tls_context *server_tls;
	struct side srv, cli;
	int accepted;
	bool pause_accepted;  /* stream_pause the server side at once */
	bool resume_accepted; /* and stream_resume it before the handshake */
};

static void on_connection(uv_stream_t *l, int status)
{
	struct pair *p = l->data;
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(p->accepted, 0);
	p->accepted++;
	ck_assert_int_eq(stream_accept(l, p->server_tls, &side_callbacks,
				       &p->srv, &p->srv.st),
			 0);
	if (p->pause_accepted)
		stream_pause(p->srv.st);
	if (p->resume_accepted)
		stream_resume(p->srv.st);
}

static void pair_listen(struct pair *p, struct tls_context *server_tls)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->srv.got);
	buf_init(&p->cli.got);
	p->server_tls = server_tls;
	ck_assert_int_eq(uv_loop_init(&p->loop), 0);
	loop_tick_start(&p->loop, &p->tick);
	uv_tcp_init(&p->loop, &p->listener);
	p->listener.data = p;
	uv_ip4_addr("127.0.0.1", 0, &p->addr);
	ck_assert_int_eq(uv_tcp_bind(&p->listener, (struct sockaddr *)&p->addr,
				     0),
			 0);
	int len = sizeof(p->addr);
	uv_tcp_getsockname(&p->listener, (struct sockaddr *)&p->addr, &len);
	ck_assert_int_eq(uv_listen((uv_stream_t *)&p->listener, 8,
				   on_connection),
			 0);
}

static void pair_connect(struct pair *p, struct tls_context *client_tls,
			 const char *name)
{
	char err[512] = "";
	ck_assert_msg(stream_connect(&p->loop, (struct sockaddr *)&p->addr,
				     client_tls, name, &side_callbacks, &p->cli,
				     &p->cli.st, err, sizeof(err)) == 0,
		      "%s", err);
}

static bool both_ready(void *arg)
{
	struct pair *p = arg;
	return p->srv.ready && p->cli.ready;
}

static bool connected(void *arg)
{
	struct pair *p = arg;
	return p->cli.ready && p->accepted;
}

static bool both_ended(void *arg)
{
	struct pair *p = arg;
	return p->srv.ended && p->cli.ended;
}

static bool both_closed(void *arg)
{
	struct pair *p = arg;
	return (!p->srv.st || p->srv.closed) && p->cli.closed;
}

/* Closes whatever is open and checks that no handle is left behind. */
static void pair_finish(struct pair *p)
{
	if (p->cli.st && !p->cli.closed && !p->cli.ended)
		stream_close(p->cli.st, false, side_closed, &p->cli);
	if (p->srv.st && !p->srv.closed && !p->srv.ended)
		stream_close(p->srv.st, false, side_closed, &p->srv);
	ck_assert(run_until(&p->loop, both_closed, p, WAIT_MS));
	uv_close((uv_handle_t *)&p->listener, NULL);
	uv_close((uv_handle_t *)&p->tick, NULL);
	uv_run(&p->loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&p->loop), 0);
	buf_free(&p->srv.got);
	buf_free(&p->cli.got);
}

/* ---- payloads ---------------------------------------------------------- */

static char pattern(size_t i, unsigned seed)
{
	return (char)((i * 7 + seed) % 251);
}

/* total bytes in pieces of 1 to 40000 bytes */
static void send_pattern(struct stream *st, size_t total, unsigned seed)
{
	static char piece[40000];
	size_t sent = 0, k = 1;
	while (sent < total) {
		size_t n = (k * 7919) % sizeof(piece) + 1;
		if (n > total - sent)
			n = total - sent;
		for (size_t i = 0; i < n; i++)
			piece[i] = pattern(sent + i, seed);
		ck_assert_int_eq(stream_write(st, piece, n), 0);
		sent += n;
		k++;
	}
}

static void check_pattern(const struct buf *b, size_t from, size_t total,
			  unsigned seed)
{
	ck_assert_uint_eq(b->len, from + total);
	for (size_t i = 0; i < total; i++)
		if (b->buf[from + i] != pattern(i, seed))
			ck_abort_msg("byte %zu of %zu differs", i, total);
}

struct want {
	struct pair *p;
	size_t srv, cli;
};

static bool got_enough(void *arg)
{
	struct want *w = arg;
	return w->p->srv.got.len >= w->srv && w->p->cli.got.len >= w->cli;
}

static bool name_at(const struct tls_peer_names *n, unsigned i,
		    const char *name)
{
	return i < n->count && strcmp(n->name[i], name) == 0;
}

/* ---- the tests --------------------------------------------------------- */

START_TEST(test_mutual_tls_data_both_ways)
{
	struct pair p;
	struct tls_context *s = context("server", "ca.pem", true, true);
	struct tls_context *c = context("client", "ca.pem", false, false);
	pair_listen(&p, s);
	pair_connect(&p, c, "w1");
	/* before the handshake: kept and sent once it completes */
	ck_assert_int_eq(stream_write(p.cli.st, "hello", 5), 0);
	ck_assert_uint_eq(stream_queued(p.cli.st), 5);
	ck_assert(stream_is_tls(p.cli.st));

	struct want w = { &p, 5, 0 };
	ck_assert_msg(run_until(&p.loop, got_enough, &w, WAIT_MS),
		      "srv: %s / cli: %s", p.srv.why, p.cli.why);
	ck_assert(both_ready(&p));
	ck_assert(memcmp(p.srv.got.buf, "hello", 5) == 0);

	/* the names each side saw: CN first, then the DNS SANs */
	ck_assert(!p.srv.peer_null && !p.cli.peer_null);
	ck_assert_uint_eq(p.srv.peer.count, 2);
	ck_assert(name_at(&p.srv.peer, 0, "client1"));
	ck_assert(name_at(&p.srv.peer, 1, "client1.example"));
	ck_assert_uint_eq(p.cli.peer.count, 3);
	ck_assert(name_at(&p.cli.peer, 0, "server1"));
	ck_assert(tls_peer_names_include(&p.cli.peer, "localhost"));
	ck_assert(tls_peer_names_include(&p.cli.peer, "w1"));
	ck_assert(!tls_peer_names_include(&p.cli.peer, "w2"));

	send_pattern(p.cli.st, MIB, 1);
	send_pattern(p.srv.st, MIB, 2);
	w = (struct want){ &p, 5 + MIB, MIB };
	ck_assert_msg(run_until(&p.loop, got_enough, &w, WAIT_MS),
		      "srv got %zu, cli got %zu", p.srv.got.len, p.cli.got.len);
	check_pattern(&p.srv.got, 5, MIB, 1);
	check_pattern(&p.cli.got, 0, MIB, 2);
	ck_assert_uint_eq(stream_queued(p.cli.st), 0);
	ck_assert_uint_eq(stream_queued(p.srv.st), 0);

	/* a flushing close sends close_notify: a clean end for the peer */
	ck_assert_int_eq(stream_write(p.cli.st, "bye", 3), 0);
	stream_close(p.cli.st, true, side_closed, &p.cli);
	p.cli.ended = true;
	ck_assert(run_until(&p.loop, both_ended, &p, WAIT_MS));
	ck_assert_msg(p.srv.status == UV_EOF, "%s", p.srv.why);
	ck_assert_str_eq(p.srv.why, "the peer closed the TLS connection");
	ck_assert_uint_eq(p.srv.got.len, 5 + MIB + 3);
	pair_finish(&p);
	tls_context_free(s);
	tls_context_free(c);
}
END_TEST

/* The same stream without TLS: the fast path, the queue and its count. */
/* A server pauses a connection before its TLS handshake is done (the
 * witness defers new sessions when its loop turn is spent): the
 * handshake goes on, what arrives is held back, and resuming delivers
 * it.  Resumed before the handshake is done, the socket never stopped
 * reading: resuming must not fail on that. */
static void pause_during_handshake(bool resume_at_once)
{
	struct pair p;
	struct tls_context *s = context("server", "ca.pem", true, true);
	struct tls_context *c = context("client", "ca.pem", false, false);
	pair_listen(&p, s);
	p.pause_accepted = true;
	p.resume_accepted = resume_at_once;
	pair_connect(&p, c, "w1");
	ck_assert_int_eq(stream_write(p.cli.st, "hello", 5), 0);
	ck_assert_msg(run_until(&p.loop, both_ready, &p, WAIT_MS),
		      "srv: %s / cli: %s", p.srv.why, p.cli.why);
	run_for(&p.loop, 100);
	if (!resume_at_once) {
		ck_assert_uint_eq(p.srv.got.len, 0); /* held back */
		stream_resume(p.srv.st);
	}
	struct want w = { &p, 5, 0 };
	ck_assert_msg(run_until(&p.loop, got_enough, &w, WAIT_MS),
		      "srv: %s / cli: %s", p.srv.why, p.cli.why);
	ck_assert(!p.srv.ended);
	ck_assert(memcmp(p.srv.got.buf, "hello", 5) == 0);
	pair_finish(&p);
	tls_context_free(s);
	tls_context_free(c);
}

START_TEST(test_pause_during_handshake)
{
	pause_during_handshake(false);
	pause_during_handshake(true);
}
END_TEST

START_TEST(test_plaintext_stream)
{
	struct pair p;
	pair_listen(&p, NULL);
	pair_connect(&p, NULL, NULL);
	/* an accepted plaintext stream is ready at once: no call */
	ck_assert(run_until(&p.loop, connected, &p, WAIT_MS));
	ck_assert(!p.srv.ready);
	ck_assert(p.cli.peer_null);
	ck_assert(!stream_is_tls(p.cli.st));

	/* more than the kernel's buffers hold: the rest waits, counted */
	size_t total = 32 * MIB;
	send_pattern(p.cli.st, total, 3);
	ck_assert_uint_gt(stream_queued(p.cli.st), 0);
	ck_assert_uint_le(stream_queued(p.cli.st), total);
	struct want w = { &p, total, 0 };
	ck_assert(run_until(&p.loop, got_enough, &w, WAIT_MS));
	check_pattern(&p.srv.got, 0, total, 3);
	ck_assert_uint_eq(stream_queued(p.cli.st), 0);

	send_pattern(p.srv.st, MIB, 4);
	w = (struct want){ &p, total, MIB };
	ck_assert(run_until(&p.loop, got_enough, &w, WAIT_MS));
	check_pattern(&p.cli.got, 0, MIB, 4);

	stream_close(p.srv.st, true, side_closed, &p.srv);
	p.srv.ended = true;
	ck_assert(run_until(&p.loop, both_ended, &p, WAIT_MS));
	ck_assert_int_eq(p.cli.status, UV_EOF);
	/* after the end, writing fails and end() is not called again */
	pair_finish(&p);
}
END_TEST

static void expect_refused(struct pair *p, const char *srv_says,
			   const char *cli_says)
{
	ck_assert_msg(run_until(&p->loop, both_ended, p, WAIT_MS),
		      "srv: %s / cli: %s", p->srv.why, p->cli.why);
	ck_assert_msg(!p->srv.ready, "the server completed the handshake");
	ck_assert_uint_eq(p->srv.got.len, 0);
	ck_assert_int_eq(p->srv.status, UV_EPROTO);
	ck_assert_int_eq(p->cli.status, UV_EPROTO);
	ck_assert_msg(strstr(p->srv.why, srv_says), "server: %s", p->srv.why);
	ck_assert_msg(strstr(p->cli.why, cli_says), "client: %s", p->cli.why);
}

START_TEST(test_client_without_cert_refused)
{
	struct pair p;
	struct tls_context *s = context("server", "ca.pem", true, true);
	struct tls_context *c = client_without_cert();
	pair_listen(&p, s);
	pair_connect(&p, c, "w1");
	ck_assert_int_eq(stream_write(p.cli.st, "secret", 6), 0);
	expect_refused(&p, "did not return a certificate",
		       "certificate required");
	pair_finish(&p);
	tls_context_free(s);
	tls_context_free(c);
}
END_TEST

START_TEST(test_client_from_other_ca_refused)
{
	struct pair p;
	struct tls_context *s = context("server", "ca.pem", true, true);
	struct tls_context *c = context("other-client", "both-ca.pem", false,
					false);
	pair_listen(&p, s);
	pair_connect(&p, c, "w1");
	ck_assert_int_eq(stream_write(p.cli.st, "secret", 6), 0);
	expect_refused(&p, "TLS handshake failed: the client's certificate: ",
		       "unknown ca");
	pair_finish(&p);
	tls_context_free(s);
	tls_context_free(c);
}
END_TEST

/* ask_peer (the client port): a certificate is optional, but one
 * that is sent must be signed by the CA. */
static struct tls_context *asking_server(void)
{
	char cert[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], err[512];
	snprintf(cert, sizeof(cert), "%s", test_pki_file(&pki, "server.pem"));
	snprintf(key, sizeof(key), "%s", test_pki_file(&pki, "server.key"));
	snprintf(ca, sizeof(ca), "%s", test_pki_file(&pki, "ca.pem"));
	struct tls_config cfg = { .cert_file = cert,
				  .key_file = key,
				  .ca_file = ca,
				  .ask_peer = true,
				  .server = true };
	struct tls_context *ctx = tls_context_load(&cfg, err, sizeof(err));
	ck_assert_msg(ctx, "%s", err);
	ck_assert(tls_context_has_cert(ctx));
	return ctx;
}

static void expect_asked(struct tls_context *s, struct tls_context *c,
			 const char *name)
{
	struct pair p;
	pair_listen(&p, s);
	pair_connect(&p, c, "w1");
	ck_assert_int_eq(stream_write(p.cli.st, "hi", 2), 0);
	struct want w = { &p, 2, 0 };
	ck_assert_msg(run_until(&p.loop, got_enough, &w, WAIT_MS),
		      "srv: %s / cli: %s", p.srv.why, p.cli.why);
	ck_assert(p.srv.ready && !p.srv.peer_null);
	if (name)
		ck_assert(name_at(&p.srv.peer, 0, name));
	else
		ck_assert_uint_eq(p.srv.peer.count, 0);
	pair_finish(&p);
}

START_TEST(test_ask_peer_optional_certificate)
{
	struct tls_context *s = asking_server();
	struct tls_context *c = context("client", "ca.pem", false, false);
	struct tls_context *anon = client_without_cert();
	ck_assert(!tls_context_has_cert(anon));
	expect_asked(s, c, "client1");
	expect_asked(s, anon, NULL);

	struct pair p;
	struct tls_context *other = context("other-client", "both-ca.pem",
					    false, false);
	pair_listen(&p, s);
	pair_connect(&p, other, "w1");
	ck_assert_int_eq(stream_write(p.cli.st, "secret", 6), 0);
	expect_refused(&p, "TLS handshake failed: the client's certificate: ",
		       "unknown ca");
	pair_finish(&p);
	tls_context_free(s);
	tls_context_free(c);
	tls_context_free(anon);
	tls_context_free(other);
}
END_TEST

static bool side_closed_flag(void *arg)
{
	return ((struct side *)arg)->closed;
}

/* A reset ends a stream at once, even one waiting to flush to a peer
 * that does not read, and the peer sees ECONNRESET. */
START_TEST(test_reset)
{
	struct pair p;
	pair_listen(&p, NULL);
	pair_connect(&p, NULL, NULL);
	ck_assert(run_until(&p.loop, connected, &p, WAIT_MS));
	stream_read_stop(p.cli.st);
	send_pattern(p.srv.st, 32 * MIB, 5);
	ck_assert_uint_gt(stream_queued(p.srv.st), 0);
	stream_close(p.srv.st, true, side_closed, &p.srv);
	p.srv.ended = true;
	/* the flush cannot finish: the client does not read */
	ck_assert(!run_until(&p.loop, side_closed_flag, &p.srv, 200));
	stream_reset(p.srv.st, NULL, NULL);
	ck_assert(run_until(&p.loop, side_closed_flag, &p.srv, WAIT_MS));
	/* the client learns of it when it writes */
	int rv = stream_write(p.cli.st, "x", 1);
	if (rv == 0) {
		ck_assert(run_until(&p.loop, both_ended, &p, WAIT_MS));
		rv = p.cli.status;
	}
	ck_assert_msg(rv == UV_ECONNRESET || rv == UV_EPIPE, "%d %s", rv,
		      p.cli.why);
	pair_finish(&p);

	/* a reading peer sees the reset (read after data, Linux may report
	 * it as an end of file: none here) */
	pair_listen(&p, NULL);
	pair_connect(&p, NULL, NULL);
	ck_assert(run_until(&p.loop, connected, &p, WAIT_MS));
	stream_reset(p.srv.st, side_closed, &p.srv);
	p.srv.ended = true;
	ck_assert(run_until(&p.loop, both_ended, &p, WAIT_MS));
	ck_assert_msg(p.cli.status == UV_ECONNRESET, "%d %s", p.cli.status,
		      p.cli.why);
	ck_assert(run_until(&p.loop, side_closed_flag, &p.srv, WAIT_MS));
	pair_finish(&p);
}
END_TEST

static void expect_client_refuses(struct tls_context *s, const char *name,
				  const char *cli_says)
{
	struct pair p;
	struct tls_context *c = context("client", "ca.pem", false, false);
	pair_listen(&p, s);
	pair_connect(&p, c, name);
	ck_assert_int_eq(stream_write(p.cli.st, "secret", 6), 0);
	ck_assert(run_until(&p.loop, both_ended, &p, WAIT_MS));
	ck_assert(!p.cli.ready && !p.srv.ready);
	ck_assert_uint_eq(p.srv.got.len, 0);
	ck_assert_int_eq(p.cli.status, UV_EPROTO);
	ck_assert_msg(strstr(p.cli.why, cli_says), "client: %s", p.cli.why);
	pair_finish(&p);
	tls_context_free(c);
}

START_TEST(test_server_from_other_ca_refused)
{
	struct tls_context *s = context("other-server", "both-ca.pem", true,
					false);
	expect_client_refuses(s, "w1", "the server's certificate: ");
	tls_context_free(s);
}
END_TEST

START_TEST(test_server_name_checked)
{
	struct tls_context *s = context("server", "ca.pem", true, false);
	expect_client_refuses(s, "w2", "is not for \"w2\"");
	expect_client_refuses(s, "127.0.0.2", "is not for \"127.0.0.2\"");
	tls_context_free(s);
}
END_TEST

/* An IP SAN; a CN when there is no SAN. */
static void expect_accepted(const char *server, const char *name,
			    const char *first_name, unsigned count)
{
	struct pair p;
	struct tls_context *s = context(server, "ca.pem", true, false);
	struct tls_context *c = context("client", "ca.pem", false, false);
	pair_listen(&p, s);
	pair_connect(&p, c, name);
	ck_assert_msg(run_until(&p.loop, both_ready, &p, WAIT_MS),
		      "srv: %s / cli: %s", p.srv.why, p.cli.why);
	/* without verify_peer the server asks for no certificate */
	ck_assert_uint_eq(p.srv.peer.count, 0);
	ck_assert_uint_eq(p.cli.peer.count, count);
	ck_assert(name_at(&p.cli.peer, 0, first_name));
	pair_finish(&p);
	tls_context_free(s);
	tls_context_free(c);
}

START_TEST(test_names_from_san_ip_and_cn)
{
	expect_accepted("server", "127.0.0.1", "server1", 3);
	expect_accepted("cn-only", "w3", "w3", 1);
}
END_TEST

/* ---- loading and reloading ------------------------------------------- */

static void expect_load_error(const char *cert, const char *key, const char *ca,
			      bool server, bool verify, const char *says)
{
	char err[512] = "", c[PATH_MAX], k[PATH_MAX], a[PATH_MAX];
	if (cert)
		snprintf(c, sizeof(c), "%s", test_pki_file(&pki, cert));
	if (key)
		snprintf(k, sizeof(k), "%s", test_pki_file(&pki, key));
	if (ca)
		snprintf(a, sizeof(a), "%s", test_pki_file(&pki, ca));
	struct tls_config cfg = { .cert_file = cert ? c : NULL,
				  .key_file = key ? k : NULL,
				  .ca_file = ca ? a : NULL,
				  .server = server,
				  .verify_peer = verify };
	struct tls_context *ctx = tls_context_load(&cfg, err, sizeof(err));
	ck_assert_msg(!ctx, "loaded, expected: %s", says);
	ck_assert_msg(strstr(err, says), "\"%s\" lacks \"%s\"", err, says);
}

START_TEST(test_load_errors_name_the_file)
{
	expect_load_error("nothere.pem", "server.key", "ca.pem", true, false,
			  "cannot read cert_file \"");
	expect_load_error("nothere.pem", "server.key", "ca.pem", true, false,
			  "nothere.pem\": No such file");
	expect_load_error("server.pem", "nothere.key", "ca.pem", true, false,
			  "cannot read key_file");
	expect_load_error("server.pem", "server.key", "nothere.pem", true,
			  false, "cannot read ca_file");
	expect_load_error("garbage.pem", "server.key", "ca.pem", true, false,
			  "garbage.pem\": not a PEM certificate");
	expect_load_error("server.pem", "garbage.pem", "ca.pem", true, false,
			  "garbage.pem\": not an unencrypted PEM private key");
	expect_load_error("server.pem", "server2.key", "ca.pem", true, false,
			  "server2.key\" is not the private key of the "
			  "certificate in cert_file");
	expect_load_error("server.pem", "server.key", "garbage.pem", true,
			  false, "garbage.pem\": no PEM certificate");
	expect_load_error("other-client.pem", "other-client.key", "ca.pem",
			  false, false,
			  "other-client.pem\" does not verify against ca_file");
	expect_load_error("expired.pem", "expired.key", "ca.pem", true, false,
			  "certificate has expired");
	expect_load_error("expired.pem", "expired.key", NULL, true, false,
			  "expired.pem\" has expired");
	expect_load_error(NULL, NULL, "ca.pem", true, false,
			  "needs cert_file and key_file");
	expect_load_error("server.pem", NULL, "ca.pem", false, false,
			  "cert_file is set without key_file");
	expect_load_error("server.pem", "server.key", NULL, true, true,
			  "needs ca_file");
}
END_TEST

static void reload_files(struct tls_context *ctx, const char *cert,
			 const char *key, int expect, const char *says)
{
	char c[PATH_MAX], k[PATH_MAX], a[PATH_MAX], err[512] = "";
	snprintf(c, sizeof(c), "%s", test_pki_file(&pki, cert));
	snprintf(k, sizeof(k), "%s", test_pki_file(&pki, key));
	snprintf(a, sizeof(a), "%s", test_pki_file(&pki, "ca.pem"));
	struct tls_config cfg = {
		.cert_file = c, .key_file = k, .ca_file = a, .server = true
	};
	int rv = tls_context_reload(ctx, &cfg, err, sizeof(err));
	ck_assert_msg(rv == expect, "reload: %d %s", rv, err);
	if (says)
		ck_assert_msg(strstr(err, says), "\"%s\" lacks \"%s\"", err,
			      says);
}

/* A new connection's server certificate CN. */
static void expect_new_connections_see(struct tls_context *s,
				       struct tls_context *c, const char *cn)
{
	struct pair p;
	pair_listen(&p, s);
	pair_connect(&p, c, "w1");
	ck_assert_msg(run_until(&p.loop, both_ready, &p, WAIT_MS),
		      "srv: %s / cli: %s", p.srv.why, p.cli.why);
	ck_assert_msg(name_at(&p.cli.peer, 0, cn), "saw %s, expected %s",
		      p.cli.peer.name[0], cn);
	pair_finish(&p);
}

START_TEST(test_reload_swaps_or_keeps)
{
	struct tls_context *s = context("server", "ca.pem", true, false);
	struct tls_context *c = context("client", "ca.pem", false, false);

	/* a connection made before the reload */
	struct pair old;
	pair_listen(&old, s);
	pair_connect(&old, c, "w1");
	ck_assert(run_until(&old.loop, both_ready, &old, WAIT_MS));
	ck_assert(name_at(&old.cli.peer, 0, "server1"));

	reload_files(s, "server2.pem", "server2.key", 0, NULL);
	expect_new_connections_see(s, c, "server2");

	/* bad files: an error naming the file, the good context stays */
	reload_files(s, "server.pem", "garbage.pem", -1,
		     "garbage.pem\": not an unencrypted PEM private key");
	reload_files(s, "server.pem", "server2.key", -1,
		     "is not the private key");
	reload_files(s, "nothere.pem", "server.key", -1,
		     "cannot read cert_file");
	expect_new_connections_see(s, c, "server2");

	/* NULL: the same files again */
	char err[512];
	ck_assert_msg(tls_context_reload(s, NULL, err, sizeof(err)) == 0, "%s",
		      err);
	expect_new_connections_see(s, c, "server2");

	/* the old connection still carries data, both ways */
	ck_assert_int_eq(stream_write(old.cli.st, "ping", 4), 0);
	ck_assert_int_eq(stream_write(old.srv.st, "pong", 4), 0);
	struct want w = { &old, 4, 4 };
	ck_assert(run_until(&old.loop, got_enough, &w, WAIT_MS));
	ck_assert(memcmp(old.cli.got.buf, "pong", 4) == 0);
	pair_finish(&old);
	/* freeing the context leaves connections made on it working: here,
	 * none are left, and nothing leaks under ASan */
	tls_context_free(s);
	tls_context_free(c);
}
END_TEST

/* ---- the engine's bounds ---------------------------------------------- */

START_TEST(test_engine_bounds)
{
	char err[256];
	struct tls_context *s = context("server", "ca.pem", true, false);
	struct tls_conn *t = tls_conn_new(s, true, NULL, err, sizeof(err));
	ck_assert_msg(t, "%s", err);
	ck_assert(!tls_conn_handshake_done(t));
	ck_assert_int_eq(tls_conn_write(t, "x", 1), TLS_ERROR);
	static char big[TLS_INPUT_MAX + 1];
	ck_assert_int_eq(tls_conn_feed(t, big, TLS_INPUT_MAX / 2), 0);
	ck_assert_int_eq(tls_conn_feed(t, big, TLS_INPUT_MAX / 2 + 1),
			 TLS_ERROR);
	ck_assert_ptr_nonnull(strstr(tls_conn_error(t), "not read"));
	tls_conn_free(t);

	/* a client needs a name to check the server against */
	struct tls_context *c = client_without_cert();
	ck_assert_ptr_null(tls_conn_new(c, false, NULL, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "server_name"));
	tls_context_free(c);
	tls_context_free(s);
}
END_TEST

/* ---- HTTP over TLS --------------------------------------------------- */

#define BIG_BODY (16 * MIB)

/* /big: more than the kernel takes at once, so the response is queued
 * and the close has to wait for it. */
static void health(void *arg, const char *method, const char *path,
		   struct http_response *res)
{
	if (strcmp(path, "/big") == 0) {
		res->status = 200;
		char *p = buf_space(&res->body, BIG_BODY);
		ck_assert_ptr_nonnull(p);
		memset(p, 'x', BIG_BODY);
		return;
	}
	res->status = strcmp(path, "/health") == 0 ? 200 : 404;
	http_printf(res, "{\"path\":\"%s\"}\n", path);
}

static void expect_big(const struct side *cli)
{
	const char *body = strstr(cli->got.buf, "\r\n\r\n");
	ck_assert_msg(strncmp(cli->got.buf, "HTTP/1.1 200 OK\r\n", 17) == 0,
		      "%.100s / %s", cli->got.buf, cli->why);
	ck_assert_ptr_nonnull(strstr(cli->got.buf, "Content-Length: 16777216"));
	ck_assert_ptr_nonnull(body);
	body += 4;
	/* got ends with the NUL http_get adds */
	ck_assert_uint_eq(cli->got.buf + cli->got.len - 1 - body, BIG_BODY);
}

static void http_closed(void *arg)
{
	*(bool *)arg = true;
}

static bool flag_set(void *arg)
{
	return *(bool *)arg;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* One request from a libuv client (TLS when c); the whole answer. */
static void http_get(uv_loop_t *loop, int port, struct tls_context *c,
		     const char *req, struct side *cli)
{
	char err[256];
	struct sockaddr_in a;
	memset(cli, 0, sizeof(*cli));
	buf_init(&cli->got);
	uv_ip4_addr("127.0.0.1", port, &a);
	ck_assert_int_eq(stream_connect(loop, (struct sockaddr *)&a, c,
					"localhost", &side_callbacks, cli,
					&cli->st, err, sizeof(err)),
			 0);
	ck_assert_int_eq(stream_write(cli->st, req, strlen(req)), 0);
	ck_assert(run_until(loop, flag_set, &cli->closed, WAIT_MS));
	buf_put(&cli->got, "", 1);
}

struct curl_run {
	bool exited;
	int64_t status;
};

static void curl_exited(uv_process_t *proc, int64_t status, int sig)
{
	struct curl_run *r = proc->data;
	r->exited = true;
	r->status = sig ? -sig : status;
	uv_close((uv_handle_t *)proc, NULL);
}

/* curl, when installed: another TLS stack against ours. */
static void curl_get(uv_loop_t *loop, int port)
{
	if (system("command -v curl >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_tls: curl not found, its part "
				"skipped (apt-get install curl)\n");
		return;
	}
	char url[64], ca[PATH_MAX], out[PATH_MAX];
	snprintf(url, sizeof(url), "https://localhost:%d/health", port);
	snprintf(ca, sizeof(ca), "%s", test_pki_file(&pki, "ca.pem"));
	snprintf(out, sizeof(out), "%s", test_pki_file(&pki, "curl.out"));
	char *args[] = { "curl", "-sS", "--max-time", "5", "--cacert",
			 ca,     "-o",  out,          url, NULL };
	struct curl_run r = { 0 };
	uv_process_t proc;
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_INHERIT_FD, .data.fd = 2 },
		{ .flags = UV_INHERIT_FD, .data.fd = 2 }
	};
	uv_process_options_t o = { .exit_cb = curl_exited,
				   .file = "curl",
				   .args = args,
				   .stdio_count = 3,
				   .stdio = stdio };
	proc.data = &r;
	ck_assert_int_eq(uv_spawn(loop, &proc, &o), 0);
	ck_assert(run_until(loop, flag_set, &r.exited, WAIT_MS));
	ck_assert_int_eq(r.status, 0);
	char body[256] = "";
	FILE *f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(body, sizeof(body), f));
	fclose(f);
	ck_assert_str_eq(body, "{\"path\":\"/health\"}\n");
}

START_TEST(test_http_over_tls)
{
	uv_loop_t loop;
	uv_timer_t tick;
	struct http_server *srv;
	char addr[64], err[256];
	int port = free_port();
	struct tls_context *s = context("server", "ca.pem", true, false);
	struct tls_context *c = client_without_cert();
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	loop_tick_start(&loop, &tick);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	struct http_options ho = { .listen_addr = addr, .tls = s };
	ck_assert_msg(http_start(&loop, &ho, health, NULL, &srv, err,
				 sizeof(err)) == 0,
		      "%s", err);

	struct side cli;
	http_get(&loop, port, c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
		 &cli);
	ck_assert_msg(strncmp(cli.got.buf, "HTTP/1.1 200 OK\r\n", 17) == 0,
		      "%s / %s", cli.got.buf, cli.why);
	ck_assert_ptr_nonnull(strstr(cli.got.buf, "Content-Length: 19\r\n"));
	ck_assert_ptr_nonnull(
		strstr(cli.got.buf, "\r\n\r\n{\"path\":\"/health\"}\n"));
	/* the server's close sent close_notify */
	ck_assert_msg(cli.status == UV_EOF, "%s", cli.why);
	ck_assert_str_eq(cli.why, "the peer closed the TLS connection");
	buf_free(&cli.got);

	http_get(&loop, port, c, "GET /big HTTP/1.1\r\n\r\n", &cli);
	expect_big(&cli);
	buf_free(&cli.got);

	/* plaintext to the TLS port: no answer in plaintext */
	http_get(&loop, port, NULL, "GET /health HTTP/1.1\r\n\r\n", &cli);
	ck_assert_ptr_null(strstr(cli.got.buf, "HTTP/1.1"));
	buf_free(&cli.got);

	curl_get(&loop, port);

	bool closed = false;
	http_close(srv, http_closed, &closed);
	ck_assert(run_until(&loop, flag_set, &closed, WAIT_MS));
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	tls_context_free(s);
	tls_context_free(c);
}
END_TEST

/* The same server without TLS answers the same bytes as before. */
START_TEST(test_http_plaintext)
{
	uv_loop_t loop;
	uv_timer_t tick;
	struct http_server *srv;
	char addr[64], err[256];
	int port = free_port();
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	loop_tick_start(&loop, &tick);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	struct http_options ho = { .listen_addr = addr };
	ck_assert_msg(http_start(&loop, &ho, health, NULL, &srv, err,
				 sizeof(err)) == 0,
		      "%s", err);
	struct side cli;
	http_get(&loop, port, NULL, "GET /nope HTTP/1.1\r\n\r\n", &cli);
	ck_assert_str_eq(cli.got.buf,
			 "HTTP/1.1 404 Not Found\r\n"
			 "Content-Type: application/json\r\n"
			 "Content-Length: 17\r\nConnection: close\r\n\r\n"
			 "{\"path\":\"/nope\"}\n");
	ck_assert_int_eq(cli.status, UV_EOF);
	buf_free(&cli.got);

	http_get(&loop, port, NULL, "GET /big HTTP/1.1\r\n\r\n", &cli);
	expect_big(&cli);
	buf_free(&cli.got);

	bool closed = false;
	http_close(srv, http_closed, &closed);
	ck_assert(run_until(&loop, flag_set, &closed, WAIT_MS));
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* The options checked together, in the program's own words. */
START_TEST(test_options_check)
{
	static const struct tls_option_names names = { "tls_cert_file",
						       "tls_key_file",
						       "tls_ca_file" };
	static const struct {
		struct tls_config cfg;
		const char *want; /* NULL: accepted */
	} cases[] = {
		{ { .server = true }, NULL },
		{ { .cert_file = "c", .key_file = "k", .server = true }, NULL },
		{ { .cert_file = "c",
		    .key_file = "k",
		    .ca_file = "a",
		    .server = true },
		  NULL },
		{ { .cert_file = "c", .server = true },
		  "tls_cert_file is set without tls_key_file" },
		{ { .key_file = "k" }, "tls_key_file is set without " },
		{ { .ca_file = "a", .server = true },
		  "tls_ca_file (the CA of the clients' certificates) needs "
		  "tls_cert_file and tls_key_file" },
		{ { .ca_file = "a" }, NULL },
		{ { .cert_file = "c", .key_file = "k", .ca_file = "a" }, NULL },
		{ { .cert_file = "c", .key_file = "k" },
		  "tls_cert_file needs tls_ca_file" },
	};
	char err[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		int rv = tls_options_check(&cases[i].cfg, &names, err,
					   sizeof(err));
		if (!cases[i].want) {
			ck_assert_msg(rv == 0, "case %zu: %s", i, err);
			continue;
		}
		ck_assert_msg(rv == -1, "case %zu accepted", i);
		ck_assert_msg(strstr(err, cases[i].want), "case %zu: %s", i,
			      err);
	}
}
END_TEST

/* tenure-agent's two sets of files, each in its own option names. */
START_TEST(test_agent_options_check)
{
	char err[256];
	struct agent_conf c;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(agent_tls_check(&c, err, sizeof(err)), 0);
	c.witness_ca_file = "ca.pem";
	c.witness_cert_file = "pg1.pem";
	c.witness_key_file = "pg1.key";
	c.http_tls_cert_file = "api.pem";
	c.http_tls_key_file = "api.key";
	ck_assert_msg(agent_tls_check(&c, err, sizeof(err)) == 0, "%s", err);
	c.witness_ca_file = NULL;
	ck_assert_int_eq(agent_tls_check(&c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "witness_cert_file needs witness_ca_file"),
		      "%s", err);
	c.witness_ca_file = "ca.pem";
	c.http_tls_cert_file = NULL;
	ck_assert_int_eq(agent_tls_check(&c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "http_tls_key_file is set without "
				  "http_tls_cert_file"),
		      "%s", err);
}
END_TEST

Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *t = tcase_create("stream");
	tcase_add_checked_fixture(t, make_pki, remove_pki);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_mutual_tls_data_both_ways);
	tcase_add_test(t, test_plaintext_stream);
	tcase_add_test(t, test_pause_during_handshake);
	tcase_add_test(t, test_client_without_cert_refused);
	tcase_add_test(t, test_client_from_other_ca_refused);
	tcase_add_test(t, test_ask_peer_optional_certificate);
	tcase_add_test(t, test_reset);
	tcase_add_test(t, test_server_from_other_ca_refused);
	tcase_add_test(t, test_server_name_checked);
	tcase_add_test(t, test_names_from_san_ip_and_cn);
	tcase_add_test(t, test_load_errors_name_the_file);
	tcase_add_test(t, test_reload_swaps_or_keeps);
	tcase_add_test(t, test_engine_bounds);
	tcase_add_test(t, test_http_over_tls);
	tcase_add_test(t, test_http_plaintext);
	suite_add_tcase(s, t);
	TCase *o = tcase_create("options");
	tcase_add_test(o, test_options_check);
	tcase_add_test(o, test_agent_options_check);
	suite_add_tcase(s, o);
	return s;
}
