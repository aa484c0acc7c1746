/*
 * fuzz_client.c — libFuzzer target for the client protocol decoders
 * (proto/client.c): requests, responses and events.
 *
 * Input: byte 0 picks the decoder (request, response, lease event, key
 * event), byte 1 the op (an index into the client ops), the rest is the
 * payload of a frame that already passed its checksum.
 *
 * What must hold, whatever the bytes: no crash, leak or undefined
 * behaviour; a refusal says why; and an accepted message is canonical —
 * encoded again it gives back exactly the payload it was decoded from, so
 * two witnesses can never read one frame two ways.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/client.h"

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

/* The payload of the single frame in w equals p[0..n). */
static void check_same_payload(const struct wire_writer *w,
			       const unsigned char *p, size_t n)
{
	CHECK(!w->failed && w->len == FRAME_HEADER_SIZE + n);
	CHECK(n == 0 || memcmp(w->buf + FRAME_HEADER_SIZE, p, n) == 0);
}

static void fuzz_request(uint32_t op, const unsigned char *p, size_t n,
			 struct client_scratch *s)
{
	struct frame f = {
		.type = op, .request_id = 7, .payload = p, .len = n
	};
	struct client_request q;
	if (client_decode_request(&f, &q, s)) {
		CHECK(s->error[0] != '\0');
		return;
	}
	struct wire_writer w;
	wire_writer_init(&w);
	CHECK(client_encode_request(&w, &q));
	check_same_payload(&w, p, n);
	wire_writer_free(&w);
}

static void fuzz_response(uint32_t op, const unsigned char *p, size_t n,
			  struct client_scratch *s)
{
	struct frame f = {
		.type = CLIENT_RESPONSE, .request_id = 7, .payload = p, .len = n
	};
	struct client_response r;
	if (client_decode_response(&f, op, &r, s)) {
		CHECK(s->error[0] != '\0');
		return;
	}
	struct wire_writer w;
	wire_writer_init(&w);
	CHECK(client_encode_response(&w, &r));
	check_same_payload(&w, p, n);
	wire_writer_free(&w);
}

static void fuzz_event(bool lease_kind, const unsigned char *p, size_t n,
		       struct client_scratch *s)
{
	struct frame f = {
		.type = CLIENT_EVENT, .request_id = 7, .payload = p, .len = n
	};
	struct client_event e;
	if (client_decode_event(&f, lease_kind, &e, s)) {
		CHECK(s->error[0] != '\0');
		return;
	}
	struct wire_writer w;
	wire_writer_init(&w);
	CHECK(client_encode_event(&w, &e, lease_kind));
	check_same_payload(&w, p, n);
	wire_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned n_ops = CLIENT_OP_END - CLIENT_OP_HELLO;
	uint32_t op = CLIENT_OP_HELLO + data[1] % (n_ops + 1); /* +1: bad */
	struct client_scratch s;
	memset(&s, 0, sizeof(s));
	switch (data[0] % 4) {
	case 0:
		fuzz_request(op, data + 2, size - 2, &s);
		break;
	case 1:
		fuzz_response(op, data + 2, size - 2, &s);
		break;
	case 2:
		fuzz_event(true, data + 2, size - 2, &s);
		break;
	case 3:
		fuzz_event(false, data + 2, size - 2, &s);
		break;
	}
	client_scratch_free(&s);
	return 0;
}
