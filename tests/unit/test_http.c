/*
 * test_http.c — common/http.c's bounds on a hostile client: the request
 * framing (common/http_request.c: NUL bytes, Content-Length, the size
 * limit), the header and write timeouts, the connection cap and the
 * per-address share, and the descriptor budget they come from
 * (common/fd_budget.c).  Real sockets on loopback; the server's loop runs
 * between the client's non-blocking calls.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/fd_budget.h"
#include "common/http.h"
#include "common/http_request.h"
#include "tests/unit/loop_helpers.h"
#include "tests/unit/suites.h"

#define LIMIT 8191
#define BIG_BODY ((size_t)32 << 20)

static enum http_request_state scan(const char *s)
{
	return http_request_scan(s, strlen(s), LIMIT);
}

START_TEST(test_scan_headers)
{
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
			 HTTP_REQUEST_COMPLETE);
	ck_assert_int_eq(scan("GET / HTTP/1.1\nHost: x\n\n"),
			 HTTP_REQUEST_COMPLETE);
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\nHost: x\r\n"),
			 HTTP_REQUEST_PARTIAL);
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\n\r"), HTTP_REQUEST_PARTIAL);
	ck_assert_int_eq(scan(""), HTTP_REQUEST_PARTIAL);
}
END_TEST

START_TEST(test_scan_nul)
{
	static const char req[] = "GET /he\0alth HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char body[] = "GET / HTTP/1.1\r\nContent-Length: 3\r\n"
				   "\r\na\0b";
	ck_assert_int_eq(http_request_scan(req, sizeof(req) - 1, LIMIT),
			 HTTP_REQUEST_NUL);
	/* not yet ended: the NUL is enough */
	ck_assert_int_eq(http_request_scan(req, 10, LIMIT), HTTP_REQUEST_NUL);
	/* a body's bytes are its own business */
	ck_assert_int_eq(http_request_scan(body, sizeof(body) - 1, LIMIT),
			 HTTP_REQUEST_COMPLETE);
}
END_TEST

START_TEST(test_scan_content_length)
{
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab"),
			 HTTP_REQUEST_PARTIAL);
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\ncontent-LENGTH:5 "
			      "\r\n\r\nabcde"),
			 HTTP_REQUEST_COMPLETE);
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
			 HTTP_REQUEST_COMPLETE);
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
			 HTTP_REQUEST_BAD_LENGTH);
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\nContent-Length:\r\n\r\n"),
			 HTTP_REQUEST_BAD_LENGTH);
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\nContent-Length: "
			      "99999999999999999999"
			      "\r\n\r\n"),
			 HTTP_REQUEST_BAD_LENGTH);
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\nContent-Length: 8192\r\n\r\n"),
			 HTTP_REQUEST_TOO_LARGE);
	/* a header that only starts the same is another header */
	ck_assert_int_eq(scan("GET / HTTP/1.1\r\nX-Content-Length: 9\r\n\r\n"),
			 HTTP_REQUEST_COMPLETE);
	/* nor is the request line a header */
	ck_assert_int_eq(scan("Content-Length: 9\r\n\r\n"),
			 HTTP_REQUEST_COMPLETE);
}
END_TEST

START_TEST(test_scan_too_large)
{
	static char big[LIMIT + 1];
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(http_request_scan(big, LIMIT - 1, LIMIT),
			 HTTP_REQUEST_PARTIAL);
	ck_assert_int_eq(http_request_scan(big, LIMIT, LIMIT),
			 HTTP_REQUEST_TOO_LARGE);
}
END_TEST

START_TEST(test_caps_from_budget)
{
	ck_assert_uint_eq(http_connection_cap(0), 4);
	ck_assert_uint_eq(http_connection_cap(100), 12);
	ck_assert_uint_eq(http_connection_cap(928), 64);
	ck_assert_uint_eq(http_connection_cap(FD_BUDGET_UNLIMITED), 64);

	struct rlimit old, low;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 64;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	ck_assert_uint_eq(fd_budget(96), 0);
	ck_assert_uint_eq(fd_budget(16), 48);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
}
END_TEST

/* ---- a server on loopback ---------------------------------------------- */

struct fixture {
	uv_loop_t loop;
	uv_timer_t tick;
	struct http_server *srv;
	int port;
	bool closed;
};

static void handler(void *arg, const char *method, const char *path,
		    struct http_response *res)
{
	(void)arg;
	(void)method;
	res->status = 200;
	if (strcmp(path, "/big") == 0) {
		for (size_t i = 0; i < BIG_BODY / 64; i++)
			http_printf(res, "%063d\n", 0);
		return;
	}
	http_printf(res, "{\"path\":\"%s\"}\n", path);
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

static void serve(struct fixture *f, struct http_options o)
{
	char addr[64], err[256];
	memset(f, 0, sizeof(*f));
	f->port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", f->port);
	o.listen_addr = addr;
	ck_assert_int_eq(uv_loop_init(&f->loop), 0);
	loop_tick_start(&f->loop, &f->tick);
	ck_assert_msg(http_start(&f->loop, &o, handler, NULL, &f->srv, err,
				 sizeof(err)) == 0,
		      "%s", err);
}

static void set_flag(void *arg)
{
	*(bool *)arg = true;
}

static bool flag_set(void *arg)
{
	return *(bool *)arg;
}

static void stop(struct fixture *f)
{
	http_close(f->srv, set_flag, &f->closed);
	ck_assert(run_until(&f->loop, flag_set, &f->closed, 2000));
	uv_close((uv_handle_t *)&f->tick, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&f->loop), 0);
}

static struct http_stats stats(struct fixture *f)
{
	struct http_stats st;
	http_stats(f->srv, &st);
	return st;
}

/* A connection from 127.0.0.SOURCE; rcvbuf: its receive buffer, 0 for
 * the default. */
static int dial(struct fixture *f, int source, int rcvbuf)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	from.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)source);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons((uint16_t)f->port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	return fd;
}

static void say(int fd, const char *data, size_t len)
{
	ck_assert_int_eq(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

struct reading {
	int fd;
	char got[4096];
	size_t len;
	bool ended; /* EOF or reset */
};

static bool read_some(void *arg)
{
	struct reading *r = arg;
	for (;;) {
		ssize_t k = recv(r->fd, r->got + r->len,
				 sizeof(r->got) - 1 - r->len, MSG_DONTWAIT);
		if (k > 0) {
			r->len += (size_t)k;
			r->got[r->len] = '\0';
			continue;
		}
		if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			r->ended = true;
		return r->ended;
	}
}

/* Runs the loop for up to ms, reading fd: whether the server ended it. */
static bool ends_within(struct fixture *f, struct reading *r, unsigned ms)
{
	return run_until(&f->loop, read_some, r, ms);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

START_TEST(test_nul_is_400)
{
	static const char req[] = "GET /he\0alth HTTP/1.1\r\nHost: x\r\n\r\n";
	struct fixture f;
	serve(&f, (struct http_options){ 0 });
	struct reading r = { .fd = dial(&f, 1, 0) };
	say(r.fd, req, sizeof(req) - 1);
	ck_assert(ends_within(&f, &r, 2000));
	ck_assert_str_eq(r.got, "HTTP/1.1 400 Bad Request\r\n"
				"Content-Type: text/plain\r\n"
				"Content-Length: 24\r\nConnection: close\r\n"
				"\r\nNUL byte in the request\n");
	close(r.fd);
	stop(&f);
}
END_TEST

START_TEST(test_body_awaited)
{
	static const char head[] = "GET /b HTTP/1.1\r\nContent-Length: 10\r\n"
				   "\r\nabc";
	struct fixture f;
	serve(&f, (struct http_options){ 0 });
	struct reading r = { .fd = dial(&f, 1, 0) };
	say(r.fd, head, sizeof(head) - 1);
	ck_assert(!ends_within(&f, &r, 200));
	ck_assert_uint_eq(r.len, 0);
	say(r.fd, "defghij", 7);
	ck_assert(ends_within(&f, &r, 2000));
	ck_assert_msg(strncmp(r.got, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s",
		      r.got);
	close(r.fd);

	/* one that could never fit is refused at its header */
	static const char huge[] = "GET /b HTTP/1.1\r\nContent-Length: "
				   "100000\r\n\r\n";
	struct reading h = { .fd = dial(&f, 1, 0) };
	say(h.fd, huge, sizeof(huge) - 1);
	ck_assert(ends_within(&f, &h, 2000));
	ck_assert_msg(strstr(h.got, "400 Bad Request") &&
			      strstr(h.got, "request too large"),
		      "%s", h.got);
	close(h.fd);
	stop(&f);
}
END_TEST

START_TEST(test_header_timeout)
{
	static const char slow[] = "GET / HTTP/1.1\r\nHost: x\r\n";
	struct fixture f;
	serve(&f, (struct http_options){ .header_timeout_ms = 300 });
	uint64_t t0 = now_ms();
	struct reading r = { .fd = dial(&f, 1, 0) };
	struct reading idle = { .fd = dial(&f, 1, 0) };
	say(r.fd, slow, sizeof(slow) - 1);
	ck_assert(ends_within(&f, &r, 3000));
	ck_assert(ends_within(&f, &idle, 1000));
	uint64_t took = now_ms() - t0;
	ck_assert_msg(took >= 300, "closed after %llu ms",
		      (unsigned long long)took);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_uint_eq(stats(&f).timed_out, 2);
	close(r.fd);
	close(idle.fd);
	stop(&f);
}
END_TEST

static bool no_connection(void *arg)
{
	return stats(arg).connections == 0;
}

START_TEST(test_write_timeout)
{
	static const char req[] = "GET /big HTTP/1.1\r\n\r\n";
	struct fixture f;
	serve(&f, (struct http_options){ .write_timeout_ms = 300 });
	/* a small window, never read: most of the 32 MiB stays queued */
	int fd = dial(&f, 1, 4096);
	say(fd, req, sizeof(req) - 1);
	run_for(&f.loop, 100);
	ck_assert_uint_eq(stats(&f).connections, 1);
	ck_assert(run_until(&f.loop, no_connection, &f, 3000));
	ck_assert_uint_eq(stats(&f).timed_out, 1);
	close(fd);
	stop(&f);
}
END_TEST

START_TEST(test_connection_cap)
{
	static const char req[] = "GET /health HTTP/1.1\r\n\r\n";
	struct fixture f;
	serve(&f, (struct http_options){ .max_connections = 2 });
	struct reading a = { .fd = dial(&f, 1, 0) };
	struct reading b = { .fd = dial(&f, 2, 0) };
	ck_assert(!ends_within(&f, &a, 100));
	struct reading over = { .fd = dial(&f, 3, 0) };
	ck_assert(ends_within(&f, &over, 500));
	ck_assert_uint_eq(over.len, 0);
	ck_assert(!ends_within(&f, &a, 100));
	ck_assert(!ends_within(&f, &b, 10));
	ck_assert_uint_eq(stats(&f).refused, 1);
	ck_assert_uint_eq(stats(&f).connections, 2);
	/* one served, a newcomer is served */
	say(a.fd, req, sizeof(req) - 1);
	ck_assert(ends_within(&f, &a, 2000));
	ck_assert(strncmp(a.got, "HTTP/1.1 200 OK\r\n", 17) == 0);
	struct reading c = { .fd = dial(&f, 3, 0) };
	say(c.fd, req, sizeof(req) - 1);
	ck_assert(ends_within(&f, &c, 2000));
	ck_assert_msg(strncmp(c.got, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s",
		      c.got);
	close(a.fd);
	close(b.fd);
	close(over.fd);
	close(c.fd);
	stop(&f);
}
END_TEST

START_TEST(test_share_per_address)
{
	static const char req[] = "GET /health HTTP/1.1\r\n\r\n";
	struct reading r[12];
	struct fixture f;
	/* 40 at most: a quarter, 10, from one address */
	serve(&f, (struct http_options){ .max_connections = 40 });
	for (int i = 0; i < 12; i++) {
		r[i] = (struct reading){ .fd = dial(&f, 2, 0) };
		run_for(&f.loop, 5);
	}
	int ended = 0;
	for (int i = 0; i < 12; i++)
		ended += ends_within(&f, &r[i], 50);
	ck_assert_int_eq(ended, 2);
	ck_assert_uint_eq(stats(&f).refused, 2);
	struct reading other = { .fd = dial(&f, 1, 0) };
	say(other.fd, req, sizeof(req) - 1);
	ck_assert(ends_within(&f, &other, 2000));
	ck_assert_msg(strncmp(other.got, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s",
		      other.got);
	for (int i = 0; i < 12; i++)
		close(r[i].fd);
	close(other.fd);
	stop(&f);
}
END_TEST

Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *t = tcase_create("request");
	tcase_add_test(t, test_scan_headers);
	tcase_add_test(t, test_scan_nul);
	tcase_add_test(t, test_scan_content_length);
	tcase_add_test(t, test_scan_too_large);
	tcase_add_test(t, test_caps_from_budget);
	suite_add_tcase(s, t);
	t = tcase_create("server");
	tcase_set_timeout(t, 30);
	tcase_add_test(t, test_nul_is_400);
	tcase_add_test(t, test_body_awaited);
	tcase_add_test(t, test_header_timeout);
	tcase_add_test(t, test_write_timeout);
	tcase_add_test(t, test_connection_cap);
	tcase_add_test(t, test_share_per_address);
	suite_add_tcase(s, t);
	return s;
}
