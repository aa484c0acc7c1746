/*
 * raw-client.c — sends hand-made client frames to a running tenured and
 * prints what comes back, for the process tests (tests/process/bad-ops.sh): what
 * the client library never sends (ops it does not know) must still be
 * answered.
 *
 *   raw-client HOST:PORT OP...
 *
 * Sends one frame per OP (a number, 0x999 or 2457; "end" is
 * CLIENT_OP_END, the first op past the known ones; "status" is
 * CLIENT_OP_STATUS, a valid request; "successor" is CLIENT_OP_SUCCESSOR,
 * whose answer's address is printed too: successor="ADDR"), with an empty
 * payload and request ids 1, 2, ..., each on the same connection after
 * the previous one was answered, and prints one line per answer:
 *   id=1 op=0x999 status=EINVAL message="invalid request: unknown op 0x999"
 * Exits 0 when every frame got an answer, 1 when one did not come within
 * 3 s or the connection closed first ("closed" or "timeout" printed),
 * 2 on a set-up error.  IPv4 literals only: the tests use loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "proto/client.h"
#include "proto/frame.h"

#define ANSWER_WAIT_S 3

static int dial(const char *hostport)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = ANSWER_WAIT_S };
	if (!colon || (size_t)(colon - hostport) >= sizeof(host)) {
		fprintf(stderr, "raw-client: %s: expected IPv4:port\n",
			hostport);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "raw-client: %s: not an IPv4 address\n", host);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		fprintf(stderr, "raw-client: %s: %s\n", hostport,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static uint32_t parse_op(const char *s)
{
	if (strcmp(s, "end") == 0)
		return CLIENT_OP_END;
	if (strcmp(s, "status") == 0)
		return CLIENT_OP_STATUS;
	if (strcmp(s, "successor") == 0)
		return CLIENT_OP_SUCCESSOR;
	return (uint32_t)strtoul(s, NULL, 0);
}

static bool send_frame(int fd, uint32_t op, uint64_t id)
{
	struct wire_writer w;
	wire_writer_init(&w);
	frame_end(&w, frame_begin(&w, op, id));
	bool ok = !w.failed && write(fd, w.buf, w.len) == (ssize_t)w.len;
	wire_writer_free(&w);
	return ok;
}

/* Reads until one whole frame is there; false (and why printed) when the
 * connection closed or nothing came in time. */
static bool read_frame(int fd, struct frame_decoder *d, struct frame *f)
{
	for (;;) {
		int rv = frame_decoder_next(d, f);
		if (rv == FRAME_READY)
			return true;
		if (rv == FRAME_ERROR) {
			printf("bad frame: %s\n", frame_decoder_error(d));
			return false;
		}
		size_t n = 65536;
		void *p = frame_decoder_space(d, &n);
		ssize_t got = p ? read(fd, p, n) : -1;
		if (got <= 0) {
			printf("%s\n", got == 0 ? "closed" : "timeout");
			return false;
		}
		frame_decoder_commit(d, (size_t)got);
	}
}

static bool ask(int fd, struct frame_decoder *d, uint32_t op, uint64_t id)
{
	struct client_scratch s = { 0 };
	struct client_response r;
	struct frame f;
	if (!send_frame(fd, op, id)) {
		printf("closed\n");
		return false;
	}
	if (!read_frame(fd, d, &f))
		return false;
	bool ok = client_decode_response(&f, op, &r, &s) == 0;
	if (ok) {
		printf("id=%llu op=0x%x status=%s message=\"%.*s\"",
		       (unsigned long long)r.id, (unsigned)op,
		       client_status_name(r.status), (int)r.message.len,
		       r.message.p);
		if (op == CLIENT_OP_SUCCESSOR && r.status == CLIENT_OK)
			printf(" successor=\"%.*s\"",
			       (int)r.successor_body.client_addr.len,
			       r.successor_body.client_addr.p);
		printf("\n");
	} else
		printf("undecodable answer: %s\n", s.error);
	client_scratch_free(&s);
	return ok;
}

int main(int argc, char **argv)
{
	struct frame_decoder d;
	if (argc < 3) {
		fprintf(stderr, "usage: raw-client HOST:PORT OP...\n");
		return 2;
	}
	int fd = dial(argv[1]);
	if (fd < 0)
		return 2;
	frame_decoder_init(&d, 0);
	int rc = 0;
	for (int i = 2; i < argc && rc == 0; i++)
		if (!ask(fd, &d, parse_op(argv[i]), (uint64_t)(i - 1)))
			rc = 1;
	frame_decoder_free(&d);
	close(fd);
	return rc;
}
