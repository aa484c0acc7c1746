/* test_wire.c — proto/wire.c: every writer and reader primitive, the byte
 * layout on the wire, failure that sticks, blob limits and the rule that a
 * message must be read to its last byte. */
#include <stdint.h>
#include <string.h>

#include "proto/wire.h"
#include "tests/unit/suites.h"

START_TEST(test_integers_round_trip)
{
	static const uint64_t vals[] = {
		0,
		1,
		0x7f,
		0x80,
		0xff,
		0x100,
		0x7fff,
		0xffff,
		0x10000,
		0x7fffffff,
		0xffffffff,
		0x100000000ull,
		0x0123456789abcdefull,
		UINT64_MAX - 1,
		UINT64_MAX,
	};
	const size_t n = sizeof(vals) / sizeof(vals[0]);
	struct wire_writer w;
	struct wire_reader r;

	wire_writer_init(&w);
	for (size_t i = 0; i < n; i++) {
		wire_put_u8(&w, (uint8_t)vals[i]);
		wire_put_u16(&w, (uint16_t)vals[i]);
		wire_put_u32(&w, (uint32_t)vals[i]);
		wire_put_u64(&w, vals[i]);
	}
	ck_assert(!w.failed);
	ck_assert_uint_eq(w.len, n * (1 + 2 + 4 + 8));
	wire_reader_init(&r, w.buf, w.len);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(wire_get_u8(&r), (uint8_t)vals[i]);
		ck_assert_uint_eq(wire_get_u16(&r), (uint16_t)vals[i]);
		ck_assert_uint_eq(wire_get_u32(&r), (uint32_t)vals[i]);
		ck_assert_uint_eq(wire_get_u64(&r), vals[i]);
	}
	ck_assert(wire_reader_done(&r));
	wire_writer_free(&w);
}
END_TEST

/* The format is little endian whatever the host is: check the bytes. */
START_TEST(test_little_endian_layout)
{
	static const unsigned char want[] = {
		0xa1, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0xef,
		0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01,
	};
	struct wire_writer w;
	unsigned char b[8];

	wire_writer_init(&w);
	wire_put_u8(&w, 0xa1);
	wire_put_u16(&w, 0x1234);
	wire_put_u32(&w, 0x12345678);
	wire_put_u64(&w, 0x0123456789abcdefull);
	ck_assert_uint_eq(w.len, sizeof(want));
	ck_assert_mem_eq(w.buf, want, sizeof(want));
	wire_writer_free(&w);

	wire_store_u32(b, 0xdeadbeef);
	ck_assert_mem_eq(b, "\xef\xbe\xad\xde", 4);
	ck_assert_uint_eq(wire_load_u32(b), 0xdeadbeef);
	wire_store_u64(b, 0x0102030405060708ull);
	ck_assert_mem_eq(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	ck_assert_uint_eq(wire_load_u64(b), 0x0102030405060708ull);
	wire_store_u64(b, UINT64_MAX);
	ck_assert_uint_eq(wire_load_u64(b), UINT64_MAX);
}
END_TEST

START_TEST(test_bytes_and_blobs)
{
	struct wire_writer w;
	struct wire_reader r;
	size_t n = 99;

	wire_writer_init(&w);
	wire_put_bytes(&w, "abc", 3);
	wire_put_bytes(&w, NULL, 0); /* nothing, and no crash */
	wire_put_blob(&w, "hello", 5);
	wire_put_blob(&w, NULL, 0);
	ck_assert(!w.failed);
	ck_assert_uint_eq(w.len, 3 + 4 + 5 + 4);
	ck_assert_mem_eq(w.buf + 3, "\x05\x00\x00\x00hello", 9);

	wire_reader_init(&r, w.buf, w.len);
	ck_assert_mem_eq(wire_get_bytes(&r, 3), "abc", 3);
	const char *p = wire_get_blob(&r, &n, 5);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(p, "hello", 5);
	/* Blobs point into the input; nothing is copied. */
	ck_assert_ptr_eq(p, (const char *)w.buf + 3 + 4);
	n = 99;
	ck_assert_ptr_nonnull(wire_get_blob(&r, &n, 0));
	ck_assert_uint_eq(n, 0);
	ck_assert(wire_reader_done(&r));
	wire_writer_free(&w);
}
END_TEST

START_TEST(test_blob_limit)
{
	struct wire_writer w;
	struct wire_reader r;
	size_t n;

	wire_writer_init(&w);
	wire_put_blob(&w, "0123456789", 10);

	/* Exactly at the limit: fine. */
	wire_reader_init(&r, w.buf, w.len);
	ck_assert_ptr_nonnull(wire_get_blob(&r, &n, 10));
	ck_assert_uint_eq(n, 10);
	ck_assert(wire_reader_done(&r));

	/* One over: refused, and the reader stays failed. */
	wire_reader_init(&r, w.buf, w.len);
	n = 77;
	ck_assert_ptr_null(wire_get_blob(&r, &n, 9));
	ck_assert_uint_eq(n, 0);
	ck_assert(r.failed);
	ck_assert_uint_eq(wire_get_u8(&r), 0);
	ck_assert(!wire_reader_done(&r));
	wire_writer_free(&w);
}
END_TEST

/* A length that claims more than is there must not be believed. */
START_TEST(test_blob_truncated)
{
	struct wire_writer w;
	struct wire_reader r;
	size_t n;

	wire_writer_init(&w);
	wire_put_blob(&w, "0123456789", 10);
	for (size_t len = 0; len < w.len; len++) {
		wire_reader_init(&r, w.buf, len);
		n = 77;
		ck_assert_ptr_null(wire_get_blob(&r, &n, SIZE_MAX));
		ck_assert_uint_eq(n, 0);
		ck_assert(r.failed);
		ck_assert(!wire_reader_done(&r));
	}
	/* A length of 4 GiB - 1 over a short buffer. */
	wire_writer_reset(&w);
	wire_put_u32(&w, UINT32_MAX);
	wire_put_bytes(&w, "xy", 2);
	wire_reader_init(&r, w.buf, w.len);
	ck_assert_ptr_null(wire_get_blob(&r, &n, SIZE_MAX));
	ck_assert(r.failed);
	wire_writer_free(&w);
}
END_TEST

/* Every primitive on every short input: zero, failed, nothing consumed
 * beyond the end. */
START_TEST(test_short_reads)
{
	static const unsigned char buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct wire_reader r;

	for (size_t len = 0; len < 8; len++) {
		wire_reader_init(&r, buf, len);
		ck_assert_uint_eq(wire_get_u64(&r), 0);
		ck_assert(r.failed);
		ck_assert_uint_eq(wire_remaining(&r), 0);
		if (len < 4) {
			wire_reader_init(&r, buf, len);
			ck_assert_uint_eq(wire_get_u32(&r), 0);
			ck_assert(r.failed);
		}
		if (len < 2) {
			wire_reader_init(&r, buf, len);
			ck_assert_uint_eq(wire_get_u16(&r), 0);
			ck_assert(r.failed);
		}
		if (len < 1) {
			wire_reader_init(&r, buf, len);
			ck_assert_uint_eq(wire_get_u8(&r), 0);
			ck_assert(r.failed);
		}
		wire_reader_init(&r, buf, len);
		ck_assert_ptr_null(wire_get_bytes(&r, len + 1));
		ck_assert(r.failed);
	}
	/* Reading exactly to the end is fine, and so is reading 0 bytes
	 * there. */
	wire_reader_init(&r, buf, 8);
	ck_assert_uint_eq(wire_get_u64(&r), 0x0807060504030201ull);
	ck_assert_ptr_nonnull(wire_get_bytes(&r, 0));
	ck_assert(wire_reader_done(&r));
	/* A huge n does not wrap around the bounds check. */
	wire_reader_init(&r, buf, 8);
	wire_get_u8(&r);
	ck_assert_ptr_null(wire_get_bytes(&r, SIZE_MAX));
	ck_assert(r.failed);
}
END_TEST

/* After the first failure every read returns zero even if bytes remain,
 * so a decoder can check once at the end. */
START_TEST(test_failure_sticks)
{
	static const unsigned char buf[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	struct wire_reader r;
	size_t n = 5;

	wire_reader_init(&r, buf, sizeof(buf));
	ck_assert_ptr_null(wire_get_bytes(&r, 17));
	ck_assert(r.failed);
	ck_assert_uint_eq(wire_get_u8(&r), 0);
	ck_assert_uint_eq(wire_get_u16(&r), 0);
	ck_assert_uint_eq(wire_get_u32(&r), 0);
	ck_assert_uint_eq(wire_get_u64(&r), 0);
	ck_assert_ptr_null(wire_get_bytes(&r, 1));
	ck_assert_ptr_null(wire_get_bytes(&r, 0));
	ck_assert_ptr_null(wire_get_blob(&r, &n, SIZE_MAX));
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(wire_remaining(&r), 0);
	ck_assert(!wire_reader_done(&r));
	ck_assert_uint_eq(r.off, 0);

	/* Re-initialising starts over. */
	wire_reader_init(&r, buf, sizeof(buf));
	ck_assert(!r.failed);
	ck_assert_uint_eq(wire_get_u16(&r), 0xffff);
	ck_assert_uint_eq(wire_remaining(&r), 14);
}
END_TEST

START_TEST(test_reader_done)
{
	static const unsigned char buf[5] = { 1, 0, 0, 0, 9 };
	struct wire_reader r;

	wire_reader_init(&r, buf, 0);
	ck_assert(wire_reader_done(&r));

	wire_reader_init(&r, buf, sizeof(buf));
	ck_assert(!wire_reader_done(&r));
	ck_assert_uint_eq(wire_get_u32(&r), 1);
	/* One trailing byte: not done. */
	ck_assert_uint_eq(wire_remaining(&r), 1);
	ck_assert(!wire_reader_done(&r));
	ck_assert(!r.failed);
	ck_assert_uint_eq(wire_get_u8(&r), 9);
	ck_assert(wire_reader_done(&r));
	/* Reading past the end after that: failed, so not done either. */
	wire_get_u8(&r);
	ck_assert(!wire_reader_done(&r));
}
END_TEST

START_TEST(test_writer_grows)
{
	struct wire_writer w;

	wire_writer_init(&w);
	ck_assert_uint_eq(w.len, 0);
	for (unsigned i = 0; i < 100000; i++)
		wire_put_u8(&w, (uint8_t)(i * 7));
	ck_assert(!w.failed);
	ck_assert_uint_eq(w.len, 100000);
	ck_assert_uint_ge(w.cap, w.len);
	for (unsigned i = 0; i < 100000; i++)
		ck_assert_uint_eq(w.buf[i], (uint8_t)(i * 7));

	/* reset keeps the memory, forgets the contents. */
	unsigned char *buf = w.buf;
	size_t cap = w.cap;
	wire_writer_reset(&w);
	ck_assert_uint_eq(w.len, 0);
	ck_assert_ptr_eq(w.buf, buf);
	ck_assert_uint_eq(w.cap, cap);
	wire_put_u32(&w, 42);
	ck_assert_uint_eq(w.len, 4);

	wire_writer_free(&w);
	ck_assert_ptr_null(w.buf);
	ck_assert_uint_eq(w.len, 0);
	ck_assert_uint_eq(w.cap, 0);
	wire_writer_free(&w); /* twice is harmless */
}
END_TEST

START_TEST(test_put_space_and_patch)
{
	struct wire_writer w;

	wire_writer_init(&w);
	wire_put_u8(&w, 0xaa);
	unsigned char *p = wire_put_space(&w, 6);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(p, w.buf + 1);
	memcpy(p, "sixsix", 6);
	ck_assert_uint_eq(w.len, 7);
	ck_assert_ptr_nonnull(wire_put_space(&w, 0));
	ck_assert_uint_eq(w.len, 7);

	wire_patch_u32(&w, 1, 0x04030201);
	ck_assert_mem_eq(w.buf, "\xaa\x01\x02\x03\x04ix", 7);
	wire_patch_u32(&w, 3, 0x0d0c0b0a); /* last 4 bytes exactly */
	ck_assert_mem_eq(w.buf, "\xaa\x01\x02\x0a\x0b\x0c\x0d", 7);
	/* Past the end: ignored, nothing written, nothing grown. */
	wire_patch_u32(&w, 4, 0xffffffff);
	wire_patch_u32(&w, 1000, 0xffffffff);
	ck_assert_uint_eq(w.len, 7);
	ck_assert_mem_eq(w.buf, "\xaa\x01\x02\x0a\x0b\x0c\x0d", 7);
	ck_assert(!w.failed);
	wire_writer_free(&w);
}
END_TEST

/* An impossible reservation fails the writer; every later put is a no-op
 * until reset. */
START_TEST(test_writer_failure_sticks)
{
	struct wire_writer w;

	wire_writer_init(&w);
	wire_put_u32(&w, 1);
	ck_assert_ptr_null(wire_put_space(&w, SIZE_MAX));
	ck_assert(w.failed);
	size_t len = w.len;
	ck_assert_uint_eq(len, 4);
	wire_put_u8(&w, 1);
	wire_put_u16(&w, 1);
	wire_put_u32(&w, 1);
	wire_put_u64(&w, 1);
	wire_put_bytes(&w, "x", 1);
	wire_put_blob(&w, "x", 1);
	ck_assert_ptr_null(wire_put_space(&w, 1));
	ck_assert_uint_eq(w.len, len);
	ck_assert(w.failed);
	/* patch is refused on a failed writer, too */
	wire_patch_u32(&w, 0, 7);
	ck_assert_uint_eq(wire_load_u32(w.buf), 1);

	wire_writer_reset(&w);
	ck_assert(!w.failed);
	wire_put_u8(&w, 5);
	ck_assert_uint_eq(w.len, 1);
	ck_assert_uint_eq(w.buf[0], 5);
	wire_writer_free(&w);
}
END_TEST

/* A blob longer than a u32 can say cannot be encoded: the writer fails
 * rather than writing a wrong length.  (The bytes are never read.) */
START_TEST(test_blob_too_long_to_encode)
{
	struct wire_writer w;
	static const char one = 'x';

	if (sizeof(size_t) <= 4)
		return;
	wire_writer_init(&w);
	wire_put_blob(&w, &one, (size_t)UINT32_MAX + 1);
	ck_assert(w.failed);
	ck_assert_uint_eq(w.len, 0);
	wire_writer_free(&w);
}
END_TEST

Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("primitives");

	tcase_add_test(tc, test_integers_round_trip);
	tcase_add_test(tc, test_little_endian_layout);
	tcase_add_test(tc, test_bytes_and_blobs);
	tcase_add_test(tc, test_blob_limit);
	tcase_add_test(tc, test_blob_truncated);
	tcase_add_test(tc, test_short_reads);
	tcase_add_test(tc, test_failure_sticks);
	tcase_add_test(tc, test_reader_done);
	tcase_add_test(tc, test_writer_grows);
	tcase_add_test(tc, test_put_space_and_patch);
	tcase_add_test(tc, test_writer_failure_sticks);
	tcase_add_test(tc, test_blob_too_long_to_encode);
	suite_add_tcase(s, tc);
	return s;
}
