/* test_crc32c.c — CRC-32C: published vectors, software against SSE4.2,
 * every alignment and tail length, and chaining. */
#include <stdint.h>
#include <string.h>

#include "common/crc32c.h"
#include "tests/unit/suites.h"

/* Vectors from RFC 3720, appendix B.4, and the common check value. */
START_TEST(test_known_vectors)
{
	unsigned char buf[32];

	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c_sw(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c(0, "", 0), 0);
	ck_assert_uint_eq(crc32c(0, "a", 1), 0xC1D04330u);
	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)i;
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (unsigned char)(31 - i);
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x113FDB5Cu);
}
END_TEST

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
	uint64_t x = seed | 1;

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)next_rand(&x);
}

/* The bit-by-bit definition, as the reference for both fast paths. */
static uint32_t crc32c_bitwise(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
	}
	return ~c;
}

START_TEST(test_sw_matches_definition)
{
	static unsigned char buf[600];

	fill(buf, sizeof(buf), 42);
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 0; len + off <= 580; len += 7)
			ck_assert_uint_eq(crc32c_sw(0, buf + off, len),
					  crc32c_bitwise(buf + off, len));
}
END_TEST

START_TEST(test_hw_matches_sw)
{
	static unsigned char buf[70000];

	if (!crc32c_hw_available())
		return; /* nothing to compare on this CPU */
	fill(buf, sizeof(buf), 7);
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 0; len <= 300; len++)
			ck_assert_uint_eq(crc32c_hw(0, buf + off, len),
					  crc32c_sw(0, buf + off, len));
	ck_assert_uint_eq(crc32c_hw(0, buf, sizeof(buf)),
			  crc32c_sw(0, buf, sizeof(buf)));
	ck_assert_uint_eq(crc32c_hw(0, "123456789", 9), 0xE3069283u);
	ck_assert_uint_eq(crc32c_hw(0x12345678u, buf + 3, 1001),
			  crc32c_sw(0x12345678u, buf + 3, 1001));
}
END_TEST

START_TEST(test_chaining)
{
	static unsigned char buf[5000];
	uint32_t whole;

	fill(buf, sizeof(buf), 99);
	whole = crc32c(0, buf, sizeof(buf));
	for (size_t cut = 0; cut <= sizeof(buf); cut += 333) {
		uint32_t a = crc32c(0, buf, cut);

		ck_assert_uint_eq(crc32c(a, buf + cut, sizeof(buf) - cut),
				  whole);
		ck_assert_uint_eq(crc32c_sw(crc32c_sw(0, buf, cut), buf + cut,
					    sizeof(buf) - cut),
				  whole);
	}
}
END_TEST

/* A CRC must change when any single bit does. */
START_TEST(test_detects_bit_flips)
{
	unsigned char buf[64];
	uint32_t good;

	fill(buf, sizeof(buf), 5);
	good = crc32c(0, buf, sizeof(buf));
	for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		ck_assert_uint_ne(crc32c(0, buf, sizeof(buf)), good);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
}
END_TEST

Suite *crc32c_suite(void)
{
	Suite *s = suite_create("crc32c");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_known_vectors);
	tcase_add_test(tc, test_sw_matches_definition);
	tcase_add_test(tc, test_hw_matches_sw);
	tcase_add_test(tc, test_chaining);
	tcase_add_test(tc, test_detects_bit_flips);
	suite_add_tcase(s, tc);
	return s;
}
