/*
 * fuzz_frame.c — libFuzzer target for the frame decoder (proto/frame.c).
 *
 * Input: one control byte, then a byte stream.  The control byte picks the
 * decoder's payload limit and how the stream is cut into pieces; the stream
 * is then fed piece by piece, alternating frame_decoder_feed() with the
 * space/commit path a libuv read callback uses, and every complete frame is
 * taken out after each piece, as a server would.
 *
 * What must hold, whatever the bytes:
 *   - no crash, leak, or undefined behaviour (ASan, UBSan);
 *   - a frame is delivered only if its magic, version and checksum are
 *     right and its length is within the limit (checked here
 *     independently of the decoder);
 *   - delivered frames are exactly the stream's bytes, in order, back to
 *     back from the start (no byte lost, duplicated or moved);
 *   - after FRAME_ERROR there is a message and the decoder stays failed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "proto/frame.h"

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

static const size_t limits[] = { 0 /* default, 1 MiB */, 1, 24, 100, 4096 };

/* Piece sizes: a small deterministic generator seeded from the input, so
 * the same input always cuts the same way. */
static size_t piece(uint32_t *x, unsigned mode)
{
	*x = *x * 1103515245u + 12345u;
	uint32_t r = *x >> 8;
	switch (mode) {
	case 0:
		return 1; /* byte by byte */
	case 1:
		return 1 + r % 7; /* inside a header */
	case 2:
		return 1 + r % 100;
	default:
		return 1 + r % 70000; /* most of it at once */
	}
}

/* The checks a frame must pass, done again from the raw header. */
static void check_frame(const struct frame *f, const unsigned char *stream,
			size_t *consumed, size_t limit)
{
	const unsigned char *h = f->payload - FRAME_HEADER_SIZE;

	CHECK(f->len <= limit);
	CHECK(wire_load_u32(h + 16) == f->len);
	CHECK(h[0] == (FRAME_MAGIC & 0xff) && h[1] == FRAME_MAGIC >> 8);
	CHECK(h[2] == FRAME_VERSION);
	uint32_t crc = crc32c(0, h, 20);
	crc = crc32c(crc, f->payload, f->len);
	CHECK(crc == wire_load_u32(h + 20));
	CHECK(f->type == wire_load_u32(h + 4));
	CHECK(f->request_id == wire_load_u64(h + 8));
	CHECK(memcmp(h, stream + *consumed, FRAME_HEADER_SIZE + f->len) == 0);
	*consumed += FRAME_HEADER_SIZE + f->len;
}

/* Give n bytes to the decoder, one way or the other. */
static void give(struct frame_decoder *d, const unsigned char *p, size_t n,
		 int use_space)
{
	if (!use_space) {
		CHECK(frame_decoder_feed(d, p, n));
		return;
	}
	size_t room = n;
	void *dst = frame_decoder_space(d, &room);
	CHECK(dst != NULL && room >= n);
	memcpy(dst, p, n);
	frame_decoder_commit(d, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned ctl = data[0];
	const unsigned char *stream = data + 1;
	size_t len = size - 1;
	size_t limit =
		limits[(ctl & 0x0f) % (sizeof(limits) / sizeof(limits[0]))];
	unsigned mode = (ctl >> 4) & 3;
	uint32_t x = (uint32_t)size * 2654435761u + ctl;
	struct frame_decoder d;
	struct frame f;
	size_t off = 0, consumed = 0;
	int rv = FRAME_NEED_MORE;

	frame_decoder_init(&d, limit);
	if (limit == 0)
		limit = FRAME_LIMIT_DEFAULT;
	CHECK(d.limit == limit);
	while (off < len && rv != FRAME_ERROR) {
		size_t n = piece(&x, mode);
		if (n > len - off)
			n = len - off;
		give(&d, stream + off, n, (ctl >> 6) & 1 ? (x & 1) : 0);
		off += n;
		while ((rv = frame_decoder_next(&d, &f)) == FRAME_READY)
			check_frame(&f, stream, &consumed, limit);
	}
	if (rv == FRAME_ERROR) {
		CHECK(frame_decoder_error(&d)[0] != '\0');
		CHECK(frame_decoder_next(&d, &f) == FRAME_ERROR);
	} else {
		CHECK(rv == FRAME_NEED_MORE);
		CHECK(frame_decoder_error(&d)[0] == '\0');
		/* Whatever is left is less than one whole frame. */
		CHECK(len - consumed < FRAME_HEADER_SIZE ||
		      len - consumed < FRAME_HEADER_SIZE +
					       (size_t)wire_load_u32(
						       stream + consumed + 16));
	}
	frame_decoder_free(&d);
	return 0;
}
