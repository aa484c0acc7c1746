/*
 * tcp-proxy.c — a fault-injecting TCP proxy for the real-process tests.
 *
 *   tests/helpers/tcp-proxy LISTEN_PORT TARGET_PORT [CUT_FILE]
 *
 * Listens on 127.0.0.1:LISTEN_PORT and forwards every connection, both
 * ways, to 127.0.0.1:TARGET_PORT, until told to cut:
 *
 *   SIGUSR1  cut every connection (a partition of the target)
 *   SIGUSR2  heal: forward everything again
 *   SIGHUP   read CUT_FILE: the names of the senders to cut, separated by
 *            blanks ("*" cuts all, an empty file heals)
 *
 * A cut is silent, as a real partition is: the proxy closes the side
 * towards the target and from then on reads and throws away what the
 * dialler sends, so the dialler sees neither an error nor an answer.
 * A new connection while cut is treated the same.  On heal, the cut
 * connections are closed (their byte streams have gaps, they cannot be
 * resumed), so the dialler notices and dials again.
 *
 * Cutting by sender: tenured dials each peer and sends on the connection
 * it dialled (the acceptor never writes), so a proxy in front of a node
 * carries that node's incoming traffic from every other node.  To cut
 * only some of them the proxy reads the first frame, the peer hello
 * (server/transport_hello.h: a 24-byte frame header, then u64 cluster
 * id, u64 sender id), and compares the sender id with the member id of
 * each name in CUT_FILE (FNV-1a of the name, as service_member_id()).
 * A stream that does not start with a hello has sender 0: only "*" cuts
 * it (so does a peer connection with peer TLS, whose hello is encrypted:
 * it is forwarded, and cut only with the rest).  That is all the proxy
 * knows about tenure.
 *
 * With TCP_PROXY_RECORD=FILE in the environment, every byte forwarded,
 * either way, is also appended to FILE (a test looks for what must never
 * travel, such as a secret).
 *
 * When either side of a forwarded connection closes, the proxy closes
 * both.  One line on stderr per connection and per change of the cut.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "proto/hash.h"

#define MAX_CONNS 64
#define MAX_CUT 16
#define BUF_SIZE 65536
/* Frame header, then cluster id and sender id of the hello. */
#define HELLO_PREFIX (24 + 8 + 8)
#define HELLO_TYPE 0x100u

enum conn_state {
	IDENTIFYING,
	CONNECTING,
	FORWARDING,
	CUT
};

struct half { /* bytes read from one side, not yet written to the other */
	unsigned char buf[BUF_SIZE];
	size_t len;
};

struct conn {
	bool used;
	enum conn_state state;
	int down;      /* the dialler's connection, accepted here */
	int up;        /* ours to the target, -1 when none */
	uint64_t from; /* sender id of the hello, 0 when unknown */
	struct half to_up, to_down;
};

static volatile sig_atomic_t got_usr1, got_usr2, got_hup, got_term;

static struct conn conns[MAX_CONNS];
static bool cut_all;
static uint64_t cut_ids[MAX_CUT];
static unsigned n_cut;
static int target_port;
static const char *cut_file;
static const char *self = "tcp-proxy";

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static uint64_t member_id(const char *name, size_t len)
{
	uint64_t h = hash_fnv1a(name, len); /* as service_member_id() */
	return h ? h : 1;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool is_cut(const struct conn *c)
{
	if (cut_all)
		return true;
	for (unsigned i = 0; i < n_cut; i++)
		if (c->from != 0 && c->from == cut_ids[i])
			return true;
	return false;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void conn_close(struct conn *c)
{
	close(c->down);
	if (c->up >= 0)
		close(c->up);
	c->used = false;
}

/* Silence: nothing more reaches the target, what the dialler sends is
 * read and dropped. */
static void conn_cut(struct conn *c)
{
	if (c->up >= 0)
		close(c->up);
	c->up = -1;
	c->to_up.len = c->to_down.len = 0;
	c->state = CUT;
	fprintf(stderr, "%s: cut a connection from sender %016llx\n", self,
		(unsigned long long)c->from);
}

static void conn_dial(struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	sa.sin_port = htons((uint16_t)target_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->up = socket(AF_INET, SOCK_STREAM, 0);
	if (c->up < 0) {
		conn_close(c);
		return;
	}
	set_nonblock(c->up);
	int one = 1;
	setsockopt(c->up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->up, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		c->state = FORWARDING;
	else if (errno == EINPROGRESS)
		c->state = CONNECTING;
	else
		conn_close(
			c); /* the target is down: so are we, to the dialler */
}

/* Apply a new cut to every connection: cut what it covers, close the
 * cut connections it no longer covers. */
static void apply_cut(void)
{
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &conns[i];

		if (!c->used || c->state == IDENTIFYING)
			continue;
		if (c->state == CUT && !is_cut(c))
			conn_close(c);
		else if (c->state != CUT && is_cut(c))
			conn_cut(c);
	}
}

static void read_cut_file(void)
{
	char buf[4096];
	size_t n = 0;
	FILE *f = cut_file ? fopen(cut_file, "r") : NULL;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	} else if (cut_file) {
		fprintf(stderr, "%s: cannot read %s: %s\n", self, cut_file,
			strerror(errno));
	}
	buf[n] = '\0';
	cut_all = false;
	n_cut = 0;
	for (char *tok = strtok(buf, " \t\r\n"); tok;
	     tok = strtok(NULL, " \t\r\n")) {
		if (strcmp(tok, "*") == 0)
			cut_all = true;
		else if (n_cut < MAX_CUT)
			cut_ids[n_cut++] = member_id(tok, strlen(tok));
	}
	fprintf(stderr, "%s: cut now %s%u sender(s)\n", self,
		cut_all ? "everything, and " : "", n_cut);
}

/* Wait for the hello before dialling, so a cut sender never reaches the
 * target at all. */
static void identify(struct conn *c)
{
	const unsigned char *p = c->to_up.buf;
	bool hello;

	if (c->to_up.len < 8)
		return; /* not even a frame's magic and type yet */
	hello = p[0] == 0x54 && p[1] == 0x4E && /* the magic, "TN" */
		(p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24) ==
			HELLO_TYPE;

	if (c->to_up.len < HELLO_PREFIX && hello)
		return; /* a hello, not all of it yet */
	c->from = hello ? get_u64(p + 32) : 0;
	if (is_cut(c))
		conn_cut(c);
	else
		conn_dial(c);
}

static void accept_one(int lfd)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &conns[i];

		if (c->used)
			continue;
		set_nonblock(fd);
		c->used = true;
		c->down = fd;
		c->up = -1;
		c->from = 0;
		c->to_up.len = c->to_down.len = 0;
		c->state = cut_all ? CUT : IDENTIFYING;
		return;
	}
	close(fd); /* full */
}

/* Read what fd has into h (or into the void): false when fd is done. */
static bool pump_in(int fd, struct half *h, bool discard)
{
	unsigned char sink[BUF_SIZE];
	unsigned char *dst = discard ? sink : h->buf + h->len;
	size_t room = discard ? sizeof(sink) : sizeof(h->buf) - h->len;
	ssize_t n;

	if (room == 0)
		return true;
	n = read(fd, dst, room);
	if (n == 0)
		return false;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (!discard)
		h->len += (size_t)n;
	return true;
}

static FILE *record; /* TCP_PROXY_RECORD, or NULL */

static bool pump_out(int fd, struct half *h)
{
	ssize_t n = write(fd, h->buf, h->len);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (record && n > 0) {
		fwrite(h->buf, 1, (size_t)n, record);
		fflush(record);
	}
	memmove(h->buf, h->buf + n, h->len - (size_t)n);
	h->len -= (size_t)n;
	return true;
}

static void serve(int lfd)
{
	struct pollfd pf[1 + 2 * MAX_CONNS];
	int who[1 + 2 * MAX_CONNS]; /* conn index; even slots down, odd up */

	while (!got_term) {
		if (got_usr1) {
			got_usr1 = 0;
			cut_all = true;
			fprintf(stderr, "%s: cut everything\n", self);
			apply_cut();
		}
		if (got_usr2) {
			got_usr2 = 0;
			cut_all = false;
			n_cut = 0;
			fprintf(stderr, "%s: healed\n", self);
			apply_cut();
		}
		if (got_hup) {
			got_hup = 0;
			read_cut_file();
			apply_cut();
		}
		int n = 0;
		pf[n].fd = lfd;
		pf[n].events = POLLIN;
		who[n++] = -1;
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];

			if (!c->used)
				continue;
			pf[n].fd = c->down;
			pf[n].events = (c->to_up.len < BUF_SIZE ? POLLIN : 0) |
				       (c->to_down.len ? POLLOUT : 0);
			who[n++] = 2 * i;
			if (c->up < 0)
				continue;
			pf[n].fd = c->up;
			pf[n].events = c->state == CONNECTING
					       ? POLLOUT
					       : (c->to_down.len < BUF_SIZE
							  ? POLLIN
							  : 0) |
							 (c->to_up.len ? POLLOUT
								       : 0);
			who[n++] = 2 * i + 1;
		}
		if (poll(pf, (nfds_t)n, 100) <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			short ev = pf[k].revents;

			if (!ev)
				continue;
			if (who[k] < 0) {
				accept_one(lfd);
				continue;
			}
			struct conn *c = &conns[who[k] / 2];
			bool is_up = who[k] % 2;
			bool ok = true;

			if (!c->used || (is_up && c->up != pf[k].fd))
				continue; /* closed or cut earlier in this round */
			if (is_up && c->state == CONNECTING) {
				int e = 0;
				socklen_t len = sizeof(e);
				getsockopt(c->up, SOL_SOCKET, SO_ERROR, &e,
					   &len);
				if (e) {
					conn_close(c);
					continue;
				}
				c->state = FORWARDING;
				continue;
			}
			if (ev & (POLLIN | POLLHUP | POLLERR))
				ok = is_up ? pump_in(c->up, &c->to_down, false)
					   : pump_in(c->down, &c->to_up,
						     c->state == CUT);
			if (ok && (ev & POLLOUT) && c->state == FORWARDING)
				ok = is_up ? pump_out(c->up, &c->to_up)
					   : pump_out(c->down, &c->to_down);
			if (!ok) {
				conn_close(c);
				continue;
			}
			if (c->state == IDENTIFYING && c->to_up.len > 0)
				identify(c);
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sigaction act = { .sa_handler = on_signal };
	int one = 1;
	int lfd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr,
			"usage: %s LISTEN_PORT TARGET_PORT [CUT_FILE]\n"
			"SIGUSR1 cuts everything, SIGUSR2 heals, SIGHUP "
			"cuts the senders named in CUT_FILE\n",
			argv[0]);
		return 2;
	}
	target_port = atoi(argv[2]);
	cut_file = argc == 4 ? argv[3] : NULL;
	if (getenv("TCP_PROXY_RECORD") &&
	    !(record = fopen(getenv("TCP_PROXY_RECORD"), "ab"))) {
		fprintf(stderr, "%s: cannot open %s: %s\n", self,
			getenv("TCP_PROXY_RECORD"), strerror(errno));
		return 1;
	}
	sigemptyset(&act.sa_mask);
	sigaction(SIGUSR1, &act, NULL);
	sigaction(SIGUSR2, &act, NULL);
	sigaction(SIGHUP, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 64)) {
		fprintf(stderr, "%s: cannot listen on 127.0.0.1:%s: %s\n", self,
			argv[1], strerror(errno));
		return 1;
	}
	set_nonblock(lfd);
	fprintf(stderr, "%s: 127.0.0.1:%s -> 127.0.0.1:%d\n", self, argv[1],
		target_port);
	serve(lfd);
	return 0;
}
