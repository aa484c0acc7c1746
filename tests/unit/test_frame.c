/* test_frame.c — proto/frame.c: the header layout, round trips however the
 * bytes arrive (all at once, byte by byte, split anywhere, through
 * space/commit), and refusal of bad magic, version, length and checksum,
 * of any flipped bit, and of frames over the limit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "proto/frame.h"
#include "tests/unit/suites.h"

/* xorshift: deterministic filler, no libc state. */
static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull | 1;

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)next_rand(&x);
}

/* Append one frame whose payload is n filler bytes made from seed. */
static void put_frame(struct wire_writer *w, uint32_t type, uint64_t id,
		      size_t n, uint64_t seed)
{
	size_t start = frame_begin(w, type, id);
	unsigned char *p = wire_put_space(w, n);
	ck_assert(n == 0 || p != NULL);
	if (n)
		fill(p, n, seed);
	frame_end(w, start);
	ck_assert(!w->failed);
}

/* Frame i of the test streams: sizes from 0 up, types and ids vary. */
static size_t frame_size(unsigned i)
{
	static const size_t sizes[] = {
		0, 1, 2, 7, 23, 24, 25, 100, 1000, 4097
	};
	return sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
}

static void put_stream(struct wire_writer *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put_frame(w, i + 1, (uint64_t)i * 1000003u, frame_size(i), i);
}

static void check_frame(const struct frame *f, unsigned i)
{
	size_t n = frame_size(i);
	unsigned char *want = malloc(n + 1);

	ck_assert_ptr_nonnull(want);
	fill(want, n, i);
	ck_assert_uint_eq(f->type, i + 1);
	ck_assert_uint_eq(f->request_id, (uint64_t)i * 1000003u);
	ck_assert_uint_eq(f->len, n);
	if (n)
		ck_assert_mem_eq(f->payload, want, n);
	free(want);
}

/* Drain every ready frame, checking each against the stream; returns the
 * number of the next frame expected. */
static unsigned drain(struct frame_decoder *d, unsigned next)
{
	struct frame f;
	int rv;

	while ((rv = frame_decoder_next(d, &f)) == FRAME_READY)
		check_frame(&f, next++);
	ck_assert_int_eq(rv, FRAME_NEED_MORE);
	return next;
}

START_TEST(test_header_layout)
{
	struct wire_writer w;

	wire_writer_init(&w);
	size_t start = frame_begin(&w, 0x01020304, 0x1112131415161718ull);
	ck_assert_uint_eq(start, 0);
	wire_put_bytes(&w, "payload", 7);
	frame_end(&w, start);
	ck_assert(!w.failed);
	ck_assert_uint_eq(w.len, FRAME_HEADER_SIZE + 7);
	ck_assert_mem_eq(w.buf, "TN", 2); /* 0x4E54 little endian */
	ck_assert_uint_eq(w.buf[2], FRAME_VERSION);
	ck_assert_uint_eq(w.buf[3], 0);
	ck_assert_uint_eq(wire_load_u32(w.buf + 4), 0x01020304);
	ck_assert_uint_eq(wire_load_u64(w.buf + 8), 0x1112131415161718ull);
	ck_assert_uint_eq(wire_load_u32(w.buf + 16), 7);
	uint32_t crc = crc32c(0, w.buf, 20);
	crc = crc32c(crc, "payload", 7);
	ck_assert_uint_eq(wire_load_u32(w.buf + 20), crc);
	ck_assert_mem_eq(w.buf + FRAME_HEADER_SIZE, "payload", 7);

	/* A second frame starts where the first ended. */
	start = frame_begin(&w, 9, 0);
	ck_assert_uint_eq(start, FRAME_HEADER_SIZE + 7);
	frame_end(&w, start);
	ck_assert_uint_eq(w.len, 2 * FRAME_HEADER_SIZE + 7);
	ck_assert_uint_eq(wire_load_u32(w.buf + start + 16), 0);
	wire_writer_free(&w);
}
END_TEST

START_TEST(test_round_trip)
{
	struct wire_writer w;
	struct frame_decoder d;
	struct frame f;

	wire_writer_init(&w);
	frame_decoder_init(&d, 0);
	ck_assert_uint_eq(d.limit, FRAME_LIMIT_DEFAULT);
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_NEED_MORE);
	ck_assert_str_eq(frame_decoder_error(&d), "");

	size_t start = frame_begin(&w, UINT32_MAX, UINT64_MAX);
	wire_put_bytes(&w, "hello", 5);
	frame_end(&w, start);
	start = frame_begin(&w, 0, 0);
	frame_end(&w, start);
	ck_assert(frame_decoder_feed(&d, w.buf, w.len));

	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_READY);
	ck_assert_uint_eq(f.type, UINT32_MAX);
	ck_assert_uint_eq(f.request_id, UINT64_MAX);
	ck_assert_uint_eq(f.len, 5);
	ck_assert_mem_eq(f.payload, "hello", 5);
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_READY);
	ck_assert_uint_eq(f.type, 0);
	ck_assert_uint_eq(f.request_id, 0);
	ck_assert_uint_eq(f.len, 0);
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_NEED_MORE);
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_NEED_MORE);
	ck_assert_str_eq(frame_decoder_error(&d), "");

	frame_decoder_free(&d);
	ck_assert_ptr_null(d.buf);
	frame_decoder_free(&d); /* twice is harmless */
	wire_writer_free(&w);
}
END_TEST

START_TEST(test_many_frames_one_buffer)
{
	struct wire_writer w;
	struct frame_decoder d;

	wire_writer_init(&w);
	frame_decoder_init(&d, 0);
	put_stream(&w, 200);
	ck_assert(frame_decoder_feed(&d, w.buf, w.len));
	ck_assert_uint_eq(drain(&d, 0), 200);
	/* And again on the same decoder, which moved its leftovers down. */
	ck_assert(frame_decoder_feed(&d, w.buf, w.len));
	ck_assert_uint_eq(drain(&d, 0), 200);
	frame_decoder_free(&d);
	wire_writer_free(&w);
}
END_TEST

START_TEST(test_byte_by_byte)
{
	struct wire_writer w;
	struct frame_decoder d;
	unsigned next = 0;

	wire_writer_init(&w);
	frame_decoder_init(&d, 0);
	put_stream(&w, 30);
	for (size_t i = 0; i < w.len; i++) {
		ck_assert(frame_decoder_feed(&d, w.buf + i, 1));
		next = drain(&d, next);
	}
	ck_assert_uint_eq(next, 30);
	frame_decoder_free(&d);
	wire_writer_free(&w);
}
END_TEST

/* Two frames cut into two feeds at every possible point. */
START_TEST(test_split_anywhere)
{
	struct wire_writer w;

	wire_writer_init(&w);
	put_stream(&w, 9); /* sizes 0 .. 1000 */
	for (size_t cut = 0; cut <= w.len; cut++) {
		struct frame_decoder d;
		unsigned next;

		frame_decoder_init(&d, 0);
		ck_assert(frame_decoder_feed(&d, w.buf, cut));
		next = drain(&d, 0);
		ck_assert(frame_decoder_feed(&d, w.buf + cut, w.len - cut));
		ck_assert_uint_eq(drain(&d, next), 9);
		frame_decoder_free(&d);
	}
	wire_writer_free(&w);
}
END_TEST

/* Random-sized pieces, as a socket would deliver them. */
START_TEST(test_random_pieces)
{
	struct wire_writer w;
	struct frame_decoder d;
	uint64_t x = 12345;

	wire_writer_init(&w);
	put_stream(&w, 300);
	for (int round = 0; round < 20; round++) {
		unsigned next = 0;
		size_t off = 0;

		frame_decoder_init(&d, 0);
		while (off < w.len) {
			size_t n = next_rand(&x) % (round < 10 ? 64 : 20000);
			if (n > w.len - off)
				n = w.len - off;
			ck_assert(frame_decoder_feed(&d, w.buf + off, n));
			off += n;
			next = drain(&d, next);
		}
		ck_assert_uint_eq(next, 300);
		frame_decoder_free(&d);
	}
	wire_writer_free(&w);
}
END_TEST

/* The read-callback path: ask for space, fill part of it, commit. */
START_TEST(test_space_commit)
{
	struct wire_writer w;
	struct frame_decoder d;
	unsigned next = 0;
	size_t off = 0;
	uint64_t x = 99;

	wire_writer_init(&w);
	put_stream(&w, 100);
	frame_decoder_init(&d, 0);
	while (off < w.len) {
		size_t want = next_rand(&x) % 3000; /* 0: "any size" */
		size_t n = want;
		void *p = frame_decoder_space(&d, &n);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_ge(n, want ? want : 1);
		/* A read returns at most what was asked for, often less. */
		size_t got = n < w.len - off ? n : w.len - off;
		if (got > 1 && next_rand(&x) % 2)
			got = 1 + next_rand(&x) % got;
		memcpy(p, w.buf + off, got);
		frame_decoder_commit(&d, got);
		off += got;
		next = drain(&d, next);
	}
	ck_assert_uint_eq(next, 100);

	/* Committing nothing (a read of 0 bytes) changes nothing. */
	size_t n = 0;
	ck_assert_ptr_nonnull(frame_decoder_space(&d, &n));
	ck_assert_uint_ge(n, 1);
	frame_decoder_commit(&d, 0);
	ck_assert_uint_eq(drain(&d, 0), 0);
	frame_decoder_free(&d);
	wire_writer_free(&w);
}
END_TEST

/* Feed a whole frame, expect an error whose message contains `words`, and
 * check the decoder stays failed even when good frames follow. */
static void expect_error(struct frame_decoder *d, const void *p, size_t n,
			 const char *words)
{
	struct wire_writer good;
	struct frame f;

	ck_assert(frame_decoder_feed(d, p, n));
	ck_assert_int_eq(frame_decoder_next(d, &f), FRAME_ERROR);
	char msg[sizeof(d->error)];
	snprintf(msg, sizeof(msg), "%s", frame_decoder_error(d));
	ck_assert_msg(strstr(msg, words) != NULL,
		      "error \"%s\" does not mention \"%s\"", msg, words);

	wire_writer_init(&good);
	put_stream(&good, 3);
	frame_decoder_feed(d, good.buf, good.len);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(frame_decoder_next(d, &f), FRAME_ERROR);
	ck_assert_str_eq(frame_decoder_error(d), msg);
	wire_writer_free(&good);
}

START_TEST(test_bad_magic)
{
	struct wire_writer w;
	struct frame_decoder d;

	wire_writer_init(&w);
	put_frame(&w, 1, 0, 10, 1);
	w.buf[0] ^= 0x01;
	frame_decoder_init(&d, 0);
	expect_error(&d, w.buf, w.len, "magic");
	frame_decoder_free(&d);

	/* Someone speaking HTTP to a tenure port. */
	static const char http[] = "GET /primary HTTP/1.1\r\nHost: x\r\n\r\n";
	frame_decoder_init(&d, 0);
	expect_error(&d, http, sizeof(http) - 1, "not a tenure");
	frame_decoder_free(&d);
	wire_writer_free(&w);
}
END_TEST

START_TEST(test_bad_version)
{
	struct wire_writer w;
	struct frame_decoder d;

	wire_writer_init(&w);
	put_frame(&w, 1, 0, 10, 1);
	/* A future version with a correct checksum: refused by version. */
	w.buf[2] = FRAME_VERSION + 1;
	frame_end(&w, 0);
	frame_decoder_init(&d, 0);
	expect_error(&d, w.buf, w.len, "version 2");
	frame_decoder_free(&d);

	w.buf[2] = 0;
	frame_end(&w, 0);
	frame_decoder_init(&d, 0);
	expect_error(&d, w.buf, w.len, "version 0");
	frame_decoder_free(&d);
	wire_writer_free(&w);
}
END_TEST

/* An oversized length is refused from the header alone, before the
 * payload is waited for (or buffered). */
START_TEST(test_oversized_length)
{
	struct wire_writer w;
	struct frame_decoder d;

	wire_writer_init(&w);
	put_frame(&w, 1, 0, 0, 1);
	wire_store_u32(w.buf + 16, UINT32_MAX);
	frame_decoder_init(&d, 0);
	expect_error(&d, w.buf, FRAME_HEADER_SIZE, "limit");
	ck_assert_ptr_nonnull(strstr(frame_decoder_error(&d), "4294967295"));
	frame_decoder_free(&d);

	wire_store_u32(w.buf + 16, (uint32_t)FRAME_LIMIT_DEFAULT + 1);
	frame_decoder_init(&d, 0);
	expect_error(&d, w.buf, FRAME_HEADER_SIZE, "limit");
	frame_decoder_free(&d);
	wire_writer_free(&w);
}
END_TEST

START_TEST(test_bad_checksum)
{
	struct wire_writer w;
	struct frame_decoder d;

	wire_writer_init(&w);
	put_frame(&w, 7, 0, 10, 1);
	w.buf[20] ^= 0x80;
	frame_decoder_init(&d, 0);
	expect_error(&d, w.buf, w.len, "checksum");
	ck_assert_ptr_nonnull(strstr(frame_decoder_error(&d), "type 7"));
	frame_decoder_free(&d);
	wire_writer_free(&w);
}
END_TEST

/* Good frames before a bad one are still delivered; the bad one and
 * everything after it are not. */
START_TEST(test_error_after_good_frames)
{
	struct wire_writer w;
	struct frame_decoder d;
	struct frame f;

	wire_writer_init(&w);
	put_stream(&w, 5);
	size_t bad = w.len;
	put_frame(&w, 6, 0, 30, 6);
	w.buf[bad + FRAME_HEADER_SIZE + 3] ^= 0x10;
	put_stream(&w, 2);
	frame_decoder_init(&d, 0);
	ck_assert(frame_decoder_feed(&d, w.buf, w.len));
	for (unsigned i = 0; i < 5; i++) {
		ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_READY);
		check_frame(&f, i);
	}
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_ERROR);
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_ERROR);
	frame_decoder_free(&d);
	wire_writer_free(&w);
}
END_TEST

/*
 * Flip every bit of a frame in turn: it must never be delivered.  Most
 * flips fail at once; a flip that makes the length larger (but within the
 * limit) can only be caught once that many bytes have arrived, so the
 * test keeps feeding bytes (zeroes, as a quiet stream would not, but any
 * bytes do) until the decoder has seen enough and must fail.
 */
START_TEST(test_every_bit_flip)
{
	const size_t limit = 4096;
	struct wire_writer w;
	unsigned char *pad = calloc(1, limit + FRAME_HEADER_SIZE);

	ck_assert_ptr_nonnull(pad);
	wire_writer_init(&w);
	put_frame(&w, 3, 77, 40, 3);
	for (size_t bit = 0; bit < w.len * 8; bit++) {
		struct frame_decoder d;
		struct frame f;

		w.buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		frame_decoder_init(&d, limit);
		ck_assert(frame_decoder_feed(&d, w.buf, w.len));
		int rv = frame_decoder_next(&d, &f);
		if (rv == FRAME_NEED_MORE) {
			/* only a longer length can make it wait */
			ck_assert_uint_ge(bit / 8, 16);
			ck_assert_uint_lt(bit / 8, 20);
			ck_assert(frame_decoder_feed(&d, pad, limit));
			rv = frame_decoder_next(&d, &f);
		}
		ck_assert_msg(rv == FRAME_ERROR, "bit %zu: %d", bit, rv);
		ck_assert_str_ne(frame_decoder_error(&d), "");
		w.buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		frame_decoder_free(&d);
	}
	wire_writer_free(&w);
	free(pad);
}
END_TEST

/* A burst of random corruption anywhere in a stream of frames: frames
 * before it decode, it is never accepted as anything but an error. */
START_TEST(test_random_corruption)
{
	struct wire_writer w;
	uint64_t x = 4242;

	wire_writer_init(&w);
	put_stream(&w, 20);
	unsigned char *copy = malloc(w.len);
	ck_assert_ptr_nonnull(copy);
	for (int round = 0; round < 500; round++) {
		struct frame_decoder d;
		struct frame f;
		size_t at = next_rand(&x) % w.len;
		unsigned char flip = (unsigned char)(1 + next_rand(&x) % 255);

		memcpy(copy, w.buf, w.len);
		copy[at] ^= flip;
		frame_decoder_init(&d, 0);
		ck_assert(frame_decoder_feed(&d, copy, w.len));
		unsigned i = 0;
		size_t end = 0;
		int rv;
		while ((rv = frame_decoder_next(&d, &f)) == FRAME_READY) {
			/* Every delivered frame ends before the damage. */
			end += FRAME_HEADER_SIZE + f.len;
			ck_assert_uint_le(end, at);
			check_frame(&f, i++);
		}
		ck_assert(rv == FRAME_ERROR || rv == FRAME_NEED_MORE);
		frame_decoder_free(&d);
	}
	free(copy);
	wire_writer_free(&w);
}
END_TEST

START_TEST(test_limit_honoured)
{
	struct wire_writer w;
	struct frame_decoder d;
	struct frame f;

	wire_writer_init(&w);
	put_frame(&w, 1, 0, 100, 1);
	put_frame(&w, 2, 0, 101, 2);
	frame_decoder_init(&d, 100);
	ck_assert(frame_decoder_feed(&d, w.buf, w.len));
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_READY);
	ck_assert_uint_eq(f.len, 100);
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_ERROR);
	ck_assert_ptr_nonnull(strstr(frame_decoder_error(&d), "101"));
	ck_assert_ptr_nonnull(strstr(frame_decoder_error(&d), "limit"));
	frame_decoder_free(&d);

	/* The default limit, 1 MiB, exactly: accepted. */
	wire_writer_reset(&w);
	put_frame(&w, 1, 0, FRAME_LIMIT_DEFAULT, 1);
	put_frame(&w, 1, 0, FRAME_LIMIT_DEFAULT + 1, 1);
	frame_decoder_init(&d, 0);
	ck_assert(frame_decoder_feed(&d, w.buf, w.len));
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_READY);
	ck_assert_uint_eq(f.len, FRAME_LIMIT_DEFAULT);
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_ERROR);
	frame_decoder_free(&d);

	/* A larger limit accepts the larger frame. */
	frame_decoder_init(&d, FRAME_LIMIT_DEFAULT + 1);
	ck_assert(frame_decoder_feed(&d, w.buf, w.len));
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_READY);
	ck_assert_int_eq(frame_decoder_next(&d, &f), FRAME_READY);
	ck_assert_uint_eq(f.len, FRAME_LIMIT_DEFAULT + 1);
	frame_decoder_free(&d);
	wire_writer_free(&w);
}
END_TEST

/* frame_end on a failed writer leaves it alone (and does not crash). */
START_TEST(test_end_on_failed_writer)
{
	struct wire_writer w;

	wire_writer_init(&w);
	size_t start = frame_begin(&w, 1, 0);
	wire_put_space(&w, SIZE_MAX);
	ck_assert(w.failed);
	frame_end(&w, start);
	ck_assert(w.failed);
	ck_assert_uint_eq(wire_load_u32(w.buf + 16), 0);
	wire_writer_free(&w);
}
END_TEST

Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("round trip");
	TCase *bad = tcase_create("refusals");

	tcase_add_test(tc, test_header_layout);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_many_frames_one_buffer);
	tcase_add_test(tc, test_byte_by_byte);
	tcase_add_test(tc, test_split_anywhere);
	tcase_add_test(tc, test_random_pieces);
	tcase_add_test(tc, test_space_commit);
	tcase_add_test(tc, test_end_on_failed_writer);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tcase_add_test(bad, test_bad_magic);
	tcase_add_test(bad, test_bad_version);
	tcase_add_test(bad, test_oversized_length);
	tcase_add_test(bad, test_bad_checksum);
	tcase_add_test(bad, test_error_after_good_frames);
	tcase_add_test(bad, test_every_bit_flip);
	tcase_add_test(bad, test_random_corruption);
	tcase_add_test(bad, test_limit_honoured);
	tcase_set_timeout(bad, 60);
	suite_add_tcase(s, bad);
	return s;
}
