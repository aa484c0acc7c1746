/*
 * hostile-client.c — connections that misbehave on purpose, for
 * tests/process/security.sh:
 *
 *   tests/helpers/hostile-client MODE HOST:PORT N SECONDS
 *
 * opens N connections to HOST:PORT (an IPv4 literal) and, by MODE:
 *   idle       sends nothing;
 *   big-frame  sends a client frame header announcing a 1 MiB payload,
 *              then 64 KiB of it, then nothing (memory pinned before
 *              authentication, if the server lets it);
 *   slow-http  sends "GET / HTTP/1.1\r\nHost: x\r\n" and never ends the
 *              header;
 *   nul-http   sends an HTTP request line with a NUL byte in it, ended;
 *   get-flood  pipelines 900 GETs of the key "big" and never reads;
 *   watch-flood
 *              opens 500 watches of every key and never reads;
 * then holds them for SECONDS, noting which ones the server closes (EOF
 * or reset) and when, and prints one line:
 *
 *   opened=N refused=R closed=C open=O first_close_ms=F last_close_ms=L
 *   answered=A
 *
 * With HOSTILE_SOURCE=ADDR (e.g. 127.0.0.2) the connections come from
 * that address.
 *
 * (refused: the connect failed; closed: the server closed it within the
 * time; open: still open at the end; answered: connections on which the
 * server sent any byte, e.g. an HTTP 400).  Exit 0 when it could run;
 * what the numbers must be is the test's business.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/client.h"

#define MAX_CONNS 4096

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Requests written one after the other, never an answer read. */
static const unsigned char *flood(const char *mode, size_t *len)
{
	static struct wire_writer w;
	bool watches = strcmp(mode, "watch-flood") == 0;
	int n = watches ? 500 : 900;

	wire_writer_init(&w);
	for (int i = 0; i < n; i++) {
		struct client_request q = { .id = (uint64_t)i + 1 };
		q.op = watches ? CLIENT_OP_WATCH : CLIENT_OP_GET;
		if (!watches)
			q.key = (struct client_str){ "big", 3 };
		client_encode_request(&w, &q);
	}
	*len = w.len;
	return w.failed ? NULL : w.buf;
}

/* What a connection sends first, by mode; NULL for idle. */
static const unsigned char *opening(const char *mode, size_t *len)
{
	static unsigned char big[24 + 65536];
	static const char slow[] = "GET / HTTP/1.1\r\nHost: x\r\n";
	static const char nul[] = "GET /he\0alth HTTP/1.1\r\nHost: x\r\n\r\n";

	if (strcmp(mode, "big-frame") == 0) {
		memset(big, 'x', sizeof(big));
		put_le(big, 0x4E54, 2);       /* magic */
		big[2] = 1;                   /* version */
		big[3] = 0;                   /* flags */
		put_le(big + 4, 0x206, 4);    /* PUT */
		put_le(big + 8, 1, 8);        /* request id */
		put_le(big + 16, 1 << 20, 4); /* payload length: 1 MiB */
		put_le(big + 20, 0, 4);       /* CRC: checked only at the end */
		*len = sizeof(big);
		return big;
	}
	if (strstr(mode, "-flood"))
		return flood(mode, len);
	if (strcmp(mode, "slow-http") == 0) {
		*len = sizeof(slow) - 1;
		return (const unsigned char *)slow;
	}
	if (strcmp(mode, "nul-http") == 0) {
		*len = sizeof(nul) - 1;
		return (const unsigned char *)nul;
	}
	*len = 0;
	return NULL;
}

static int dial(const struct sockaddr_in *sa)
{
	const char *source = getenv("HOSTILE_SOURCE");
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (source && (inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
		       bind(fd, (struct sockaddr *)&from, sizeof(from)) != 0)) {
		close(fd);
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct pollfd pf[MAX_CONNS];
	static int closed_at[MAX_CONNS], answered[MAX_CONNS];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64];
	int port, n, refused = 0;

	if (argc != 5 || sscanf(argv[2], "%63[^:]:%d", host, &port) != 2 ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (n = atoi(argv[3])) <= 0 || n > MAX_CONNS) {
		fprintf(stderr, "usage: hostile-client idle|big-frame|"
				"slow-http|nul-http|get-flood|watch-flood "
				"HOST:PORT N SECONDS\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)port);
	size_t len;
	const unsigned char *first = opening(argv[1], &len);
	uint64_t start = now_ms(), end = start + 1000 * (uint64_t)atoi(argv[4]);
	/* A flood never reads: only the server's close is watched for. */
	bool reader = !strstr(argv[1], "-flood");
	for (int i = 0; i < n; i++) {
		pf[i].fd = dial(&sa);
		pf[i].events = reader ? POLLIN : POLLRDHUP;
		if (pf[i].fd < 0) {
			refused++;
			continue;
		}
		if (first && send(pf[i].fd, first, len, MSG_NOSIGNAL) < 0)
			closed_at[i] = (int)(now_ms() - start) + 1;
	}
	while (now_ms() < end) {
		int left = (int)(end - now_ms());
		if (poll(pf, (nfds_t)n, left > 200 ? 200 : left) < 0 &&
		    errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (pf[i].fd < 0 ||
			    !(pf[i].revents &
			      (POLLIN | POLLRDHUP | POLLHUP | POLLERR)))
				continue;
			char buf[4096];
			ssize_t got = reader ? recv(pf[i].fd, buf, sizeof(buf),
						    0)
					     : 0;
			if (got > 0) {
				answered[i] = 1;
				continue;
			}
			closed_at[i] = (int)(now_ms() - start) + 1;
			close(pf[i].fd);
			pf[i].fd = -1;
		}
	}
	int closed = 0, open = 0, n_answered = 0, first_ms = -1, last_ms = -1;
	for (int i = 0; i < n; i++) {
		n_answered += answered[i];
		if (closed_at[i]) {
			closed++;
			if (first_ms < 0 || closed_at[i] < first_ms)
				first_ms = closed_at[i];
			if (closed_at[i] > last_ms)
				last_ms = closed_at[i];
		} else if (pf[i].fd >= 0) {
			open++;
		}
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	}
	printf("opened=%d refused=%d closed=%d open=%d first_close_ms=%d "
	       "last_close_ms=%d answered=%d\n",
	       n - refused, refused, closed, open, first_ms, last_ms,
	       n_answered);
	return 0;
}
