/*
 * transport.c — see transport.h.  This file holds the lifecycle (start,
 * membership, close) and the small helpers the other two files share;
 * transport_out.c dials and sends, transport_in.c accepts and receives.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "server/transport_int.h"

/* ---- helpers shared by the transport files ------------------------------- */

void transport_log(struct transport *t, const char *level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!t->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->o.log(t->o.arg, level, msg);
}

struct peer *transport_find_peer(const struct transport *t, raft_id id)
{
	for (struct peer *p = t->peers; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

static void free_transport(struct transport *t)
{
	void (*cb)(void *) = t->on_closed;
	void *arg = t->closed_arg;

	free(t->auth_token);
	free(t);
	/* Last, so the callback may free whatever owns the loop. */
	if (cb)
		cb(arg);
}

/* Every close callback ends here: the last one after transport_close()
 * releases the transport. */
void transport_handle_closed(struct transport *t)
{
	t->handles--;
	if (t->closing && t->handles == 0)
		free_transport(t);
}

static void on_core_handle_closed(uv_handle_t *h)
{
	transport_handle_closed(h->data);
}

static void on_flush(uv_idle_t *idle)
{
	struct transport *t = idle->data;

	uv_idle_stop(idle);
	for (struct peer *p = t->peers; p; p = p->next)
		peer_flush(p);
}

void transport_schedule_flush(struct transport *t)
{
	if (!t->closing)
		uv_idle_start(&t->flush, on_flush);
}

/* ---- addresses ----------------------------------------------------------- */

const char *transport_dial_addr(const char *config_addr)
{
	const char *eq = strchr(config_addr, '=');
	return eq ? eq + 1 : config_addr;
}

int transport_parse_addr(const char *s, struct sockaddr_storage *out)
{
	return addr_parse(s, out);
}

int transport_sockaddr_port(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

int transport_listen_port(const struct transport *t)
{
	struct sockaddr_storage sa;
	int len = sizeof(sa);

	if (uv_tcp_getsockname(&t->listener, (struct sockaddr *)&sa, &len))
		return -1;
	return transport_sockaddr_port(&sa);
}

/* ---- start --------------------------------------------------------------- */

/* xorshift64*: only for reconnect jitter, so peers that lost the same
 * node do not all redial it in the same millisecond. */
static uint64_t seed_prng(raft_id self)
{
	uint64_t x = (self * 0x9E3779B97F4A7C15ull) ^ uv_hrtime();
	return x ? x : 1;
}

static int check_options(const struct transport_options *o,
			 struct sockaddr_storage *sa, char *err, size_t n)
{
	if (o->self == 0) {
		snprintf(err, n, "node id must not be 0");
		return UV_EINVAL;
	}
	if (transport_parse_addr(o->listen_addr, sa)) {
		snprintf(err, n,
			 "peer address \"%s\" is not host:port with "
			 "an IP address (e.g. 10.0.0.1:7001 or [fd00::1]:7001)",
			 o->listen_addr ? o->listen_addr : "");
		return UV_EINVAL;
	}
	if (strlen(o->listen_addr) >= RAFT_ADDR_MAX ||
	    (o->auth_token && strlen(o->auth_token) > TRANSPORT_TOKEN_MAX)) {
		snprintf(err, n,
			 "peer address or auth token too long (at "
			 "most %d and %d bytes)",
			 RAFT_ADDR_MAX - 1, TRANSPORT_TOKEN_MAX);
		return UV_EINVAL;
	}
	return 0;
}

static struct transport *new_transport(uv_loop_t *loop,
				       const struct transport_options *o)
{
	struct transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->loop = loop;
	t->o = *o;
	if (!t->o.frame_limit)
		t->o.frame_limit = FRAME_LIMIT_DEFAULT;
	if (!t->o.max_buffered)
		t->o.max_buffered = TRANSPORT_MAX_BUFFERED_DEFAULT;
	/* One uv_write carries at most UINT_MAX bytes. */
	if (t->o.max_buffered > TRANSPORT_MAX_BUFFERED_LIMIT)
		t->o.max_buffered = TRANSPORT_MAX_BUFFERED_LIMIT;
	snprintf(t->listen_addr, sizeof(t->listen_addr), "%s", o->listen_addr);
	t->o.listen_addr = t->listen_addr;
	if (o->auth_token && !(t->auth_token = strdup(o->auth_token))) {
		free(t);
		return NULL;
	}
	t->o.auth_token = t->auth_token;
	t->prng = seed_prng(o->self);
	return t;
}

static int start_listening(struct transport *t,
			   const struct sockaddr_storage *sa, char *err,
			   size_t n)
{
	int rv = uv_tcp_bind(&t->listener, (const struct sockaddr *)sa, 0);

	/* libuv reports some bind errors only at listen time. */
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&t->listener, 128,
			       inbound_on_connection);
	if (rv == UV_EADDRINUSE)
		snprintf(err, n,
			 "peer address %s is in use: is another "
			 "tenured running? Stop it, or pick another "
			 "listen_peer",
			 t->listen_addr);
	else if (rv == UV_EADDRNOTAVAIL)
		snprintf(err, n,
			 "peer address %s is not an address of this "
			 "host",
			 t->listen_addr);
	else if (rv)
		snprintf(err, n, "cannot listen on %s: %s", t->listen_addr,
			 uv_strerror(rv));
	return rv;
}

int transport_start(uv_loop_t *loop, const struct transport_options *o,
		    struct transport **out, char *err, size_t errlen)
{
	struct sockaddr_storage sa;
	struct transport *t;
	int rv;

	*out = NULL;
	rv = check_options(o, &sa, err, errlen);
	if (rv)
		return rv;
	t = new_transport(loop, o);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return UV_ENOMEM;
	}
	uv_tcp_init(loop, &t->listener);
	uv_idle_init(loop, &t->flush);
	t->listener.data = t->flush.data = t;
	t->handles = 2;
	rv = start_listening(t, &sa, err, errlen);
	if (rv) {
		transport_close(t, NULL, NULL);
		return rv;
	}
	transport_log(t, "info", "listening for peers on %s", t->listen_addr);
	*out = t;
	return 0;
}

/* ---- membership ---------------------------------------------------------- */

static bool still_member(const struct peer *p, const struct raft_config *c)
{
	const struct raft_server *s = raft_config_get(c, p->id);

	/* A changed address is a different peer: drop the old connection. */
	return s && strcmp(s->addr, p->addr) == 0;
}

void transport_set_peers(struct transport *t, const struct raft_config *c)
{
	struct peer **pp = &t->peers;

	if (t->closing)
		return;
	while (*pp) {
		struct peer *p = *pp;
		if (p->id != t->o.self && still_member(p, c)) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		peer_remove(p);
	}
	for (unsigned i = 0; i < c->n; i++) {
		const struct raft_server *s = &c->servers[i];
		if (s->id == t->o.self || transport_find_peer(t, s->id))
			continue;
		struct peer *p = peer_create(t, s);
		if (!p) {
			transport_log(t, "error",
				      "out of memory adding peer "
				      "%llu",
				      (unsigned long long)s->id);
			continue;
		}
		p->next = t->peers;
		t->peers = p;
	}
}

/* ---- sending, statistics ------------------------------------------------- */

void transport_send(struct transport *t, const struct raft_message *m)
{
	struct peer *p = t->closing ? NULL : transport_find_peer(t, m->to);

	/* Not a member (any more): nobody to count the loss against. */
	if (!p)
		return;
	peer_send(p, m);
}

/* The kernel's smoothed round-trip estimate of a connected socket: real
 * measurements of every acknowledged segment, at no cost to us. */
static uint32_t kernel_rtt_us(uv_tcp_t *tcp)
{
	uv_os_fd_t fd;
	struct tcp_info info;
	socklen_t len = sizeof(info);
	if (uv_fileno((const uv_handle_t *)tcp, &fd) ||
	    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len))
		return 0;
	return info.tcpi_rtt;
}

bool transport_peer_stats(const struct transport *t, raft_id id,
			  struct transport_peer_stats *out)
{
	const struct peer *p = transport_find_peer(t, id);

	if (!p)
		return false;
	*out = p->stats;
	out->id = p->id;
	out->connected = p->state == PEER_CONNECTED;
	out->rtt_us = out->connected ? kernel_rtt_us(stream_tcp(p->s)) : 0;
	return true;
}

/* ---- close --------------------------------------------------------------- */

void transport_close(struct transport *t, void (*on_closed)(void *arg),
		     void *arg)
{
	if (t->closing)
		return;
	t->closing = true;
	t->on_closed = on_closed;
	t->closed_arg = arg;
	uv_close((uv_handle_t *)&t->listener, on_core_handle_closed);
	uv_close((uv_handle_t *)&t->flush, on_core_handle_closed);
	while (t->peers) {
		struct peer *p = t->peers;
		t->peers = p->next;
		peer_remove(p);
	}
	/* inbound_close() leaves the list as it is; the close callbacks
	 * unlink. */
	for (struct inbound *c = t->inbound; c; c = c->next)
		inbound_close(c);
}

bool transport_input_waiting(const struct transport *t, raft_id from)
{
	for (struct inbound *c = t->inbound; c; c = c->next)
		if (!c->closing && c->from == from && c->s &&
		    stream_input_waiting(c->s))
			return true;
	return false;
}

/* ---- advertised client addresses ----------------------------------------- */

void transport_learn_client_addr(struct transport *t, raft_id id,
				 const void *addr, size_t len)
{
	unsigned i;
	for (i = 0; i < t->n_known && t->known[i].id != id; i++)
		;
	if (i == t->n_known) {
		if (t->n_known == sizeof(t->known) / sizeof(t->known[0]))
			i = 0; /* full of departed nodes: reuse the oldest */
		else
			t->n_known++;
	}
	t->known[i].id = id;
	memcpy(t->known[i].addr, addr, len);
	t->known[i].addr[len] = '\0';
}

const char *transport_peer_client_addr(const struct transport *t, raft_id id)
{
	for (unsigned i = 0; i < t->n_known; i++)
		if (t->known[i].id == id && t->known[i].addr[0])
			return t->known[i].addr;
	return NULL;
}
