/*
 * peer-forge.c — a forged witness, for tests/process/peer-tls.sh: it dials a
 * witness's peer port, says hello as another member and sends TIMEOUT_NOW
 * (the message that makes a follower start an election at once), again
 * and again, the way an attacker who reaches the peer network would.
 *
 *   tests/helpers/peer-forge HOST:PORT CLUSTER FROM TO TERM SECONDS [CERT KEY CA]
 *
 * CLUSTER is the --initial-cluster line (its hash is the cluster id),
 * FROM the member name the hello claims, TO the name of the witness
 * dialled, TERM the term of the TIMEOUT_NOW messages (the current one:
 * an election follows at once when the receiver takes it).  With CERT,
 * KEY and CA it speaks TLS, presenting CERT (CA must verify both CERT and
 * the witness's certificate, which must name TO); without, plaintext.
 *
 * Every connection writes its hello and a TIMEOUT_NOW at once, then one
 * every 50 ms while it stays open; when the witness closes it, it dials
 * again 20 ms later.  At the end it prints one line:
 *
 *   connections=N ready=R refused=C open=O sent=S last="REASON"
 *
 * (ready: connected, TLS handshake included, as this side sees it;
 * refused: closed by the witness or failed; open: still open at the end;
 * sent: TIMEOUT_NOW frames written).  Exit 0 when it could run; what the
 * numbers must be is the test's business.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "common/stream.h"
#include "common/tls.h"
#include "proto/hash.h"
#include "proto/peer.h"
#include "server/transport.h"
#include "server/transport_hello.h"

struct forger {
	uv_loop_t *loop;
	struct sockaddr_storage target;
	struct tls_context *tls;
	const char *to_name;
	uint64_t cluster_id;
	raft_id from, to;
	raft_term term;
	struct stream *s;
	uv_timer_t redial, tick, stop;
	bool connected, stopping;
	char rbuf[4096];
	unsigned connections, ready, refused;
	unsigned long sent;
	char last[300];
};

/* As service_member_id(): the id every witness derives from a name. */
static raft_id member_id(const char *name)
{
	uint64_t h = hash_fnv1a(name, strlen(name));
	return h ? h : 1;
}

static void on_redial(uv_timer_t *t);

static void on_closed(void *arg)
{
	struct forger *f = arg;

	f->s = NULL;
	if (!f->stopping)
		uv_timer_start(&f->redial, on_redial, 20, 0);
}

static void send_timeout_now(struct forger *f)
{
	struct raft_message m = {
		.type = RAFT_MSG_TIMEOUT_NOW,
		.from = f->from,
		.to = f->to,
		.term = f->term,
	};
	struct wire_writer w;

	wire_writer_init(&w);
	if (peer_encode(&w, &m) && stream_write(f->s, w.buf, w.len) == 0)
		f->sent++;
	wire_writer_free(&w);
}

static void on_ready(struct stream *s, const struct tls_peer_names *peer)
{
	struct forger *f = stream_data(s);
	const char *token = "";
	struct transport_hello h = {
		.cluster_id = f->cluster_id,
		.from = f->from,
		.to = f->to,
		.token = token,
		.client_addr = "127.0.0.1:1", /* a hint nobody should learn */
		.client_addr_len = strlen("127.0.0.1:1"),
	};
	struct wire_writer w;

	(void)peer;
	f->connected = true;
	f->ready++;
	wire_writer_init(&w);
	if (transport_hello_encode(&w, &h))
		stream_write(s, w.buf, w.len);
	wire_writer_free(&w);
	send_timeout_now(f);
}

static void on_alloc(struct stream *s, size_t suggested, uv_buf_t *buf)
{
	struct forger *f = stream_data(s);

	(void)suggested;
	*buf = uv_buf_init(f->rbuf, sizeof(f->rbuf));
}

static void on_read(struct stream *s, char *data, size_t n)
{
	(void)s;
	(void)data;
	(void)n; /* a witness never writes on a connection it accepted */
}

static void on_end(struct stream *s, int status, const char *why)
{
	struct forger *f = stream_data(s);

	(void)status;
	f->refused++;
	f->connected = false;
	snprintf(f->last, sizeof(f->last), "%s", why);
	stream_close(s, false, on_closed, f);
}

static const struct stream_callbacks callbacks = {
	.alloc = on_alloc,
	.read = on_read,
	.ready = on_ready,
	.end = on_end,
};

static void dial(struct forger *f)
{
	char err[256];

	f->connections++;
	f->connected = false;
	if (stream_connect(f->loop, (const struct sockaddr *)&f->target, f->tls,
			   f->to_name, &callbacks, f, &f->s, err,
			   sizeof(err))) {
		f->refused++;
		snprintf(f->last, sizeof(f->last), "%s", err);
		f->s = NULL;
		uv_timer_start(&f->redial, on_redial, 20, 0);
	}
}

static void on_redial(uv_timer_t *t)
{
	dial(t->data);
}

static void on_tick(uv_timer_t *t)
{
	struct forger *f = t->data;

	if (f->s && f->connected)
		send_timeout_now(f);
}

static void on_stop(uv_timer_t *t)
{
	struct forger *f = t->data;

	f->stopping = true;
	uv_close((uv_handle_t *)&f->redial, NULL);
	uv_close((uv_handle_t *)&f->tick, NULL);
	uv_close((uv_handle_t *)&f->stop, NULL);
	if (f->s)
		stream_close(f->s, false, NULL, NULL);
}

static struct tls_context *load_tls(char **argv)
{
	struct tls_config cfg = {
		.cert_file = argv[0],
		.key_file = argv[1],
		.ca_file = argv[2],
	};
	char err[512];
	struct tls_context *ctx = tls_context_load(&cfg, err, sizeof(err));

	if (!ctx) {
		fprintf(stderr, "peer-forge: %s\n", err);
		exit(2);
	}
	return ctx;
}

int main(int argc, char **argv)
{
	static struct forger f;
	unsigned open_at_end;

	if (argc != 7 && argc != 10) {
		fprintf(stderr, "usage: peer-forge HOST:PORT CLUSTER FROM TO "
				"TERM SECONDS [CERT KEY CA]\n");
		return 2;
	}
	if (addr_parse(argv[1], &f.target)) {
		fprintf(stderr, "peer-forge: bad address %s\n", argv[1]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN); /* a refused connection is a result */
	f.loop = uv_default_loop();
	f.cluster_id = hash_fnv1a(argv[2], strlen(argv[2]));
	f.from = member_id(argv[3]);
	f.to_name = argv[4];
	f.to = member_id(argv[4]);
	f.term = strtoull(argv[5], NULL, 10);
	f.tls = argc == 10 ? load_tls(argv + 7) : NULL;
	uv_timer_init(f.loop, &f.redial);
	uv_timer_init(f.loop, &f.tick);
	uv_timer_init(f.loop, &f.stop);
	f.redial.data = f.tick.data = f.stop.data = &f;
	uv_timer_start(&f.tick, on_tick, 50, 50);
	uv_timer_start(&f.stop, on_stop, strtoull(argv[6], NULL, 10) * 1000, 0);
	dial(&f);
	uv_run(f.loop, UV_RUN_DEFAULT);
	open_at_end = f.connections - f.refused;
	printf("connections=%u ready=%u refused=%u open=%u sent=%lu "
	       "last=\"%s\"\n",
	       f.connections, f.ready, f.refused, open_at_end, f.sent, f.last);
	tls_context_free(f.tls);
	uv_loop_close(f.loop);
	return 0;
}
