/* test_json.c — common/json.c: its three sinks, commas and nesting, the
 * newline after a document, escapes, U+FFFD for bytes that are not UTF-8
 * (and JSON_KEEP_BYTES), a fixed buffer that fills up; common/buf.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/json.h"
#include "tests/unit/suites.h"

/* One document of every kind of value, into any sink. */
static void sample(struct json *j)
{
	json_object(j);
	json_key(j, "s");
	json_string(j, "a\"b\\c\n\x01\x7f");
	json_key(j, "n");
	json_u64(j, 18446744073709551615ull);
	json_key(j, "i");
	json_i64(j, -42);
	json_key(j, "d");
	json_double(j, 1.5);
	json_key(j, "l");
	json_list(j);
	json_bool(j, true);
	json_bool(j, false);
	json_null(j);
	json_raw(j, "{\"x\":1}", 7);
	json_object(j);
	json_end(j);
	json_end(j);
	json_end(j);
}

static const char sample_text[] =
	"{\"s\":\"a\\\"b\\\\c\\n\\u0001\\u007f\",\"n\":18446744073709551615,"
	"\"i\":-42,\"d\":1.500,\"l\":[true,false,null,{\"x\":1},{}]}\n";

START_TEST(test_sinks_agree)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct json j;
	json_init_file(&j, f, 0);
	sample(&j);
	fclose(f);
	ck_assert_str_eq(text, sample_text);
	free(text);

	struct buf b;
	buf_init(&b);
	json_init_buf(&j, &b, 0);
	sample(&j);
	ck_assert(!b.failed);
	ck_assert_uint_eq(b.len, strlen(sample_text));
	ck_assert(memcmp(b.buf, sample_text, b.len) == 0);
	buf_free(&b);

	char fixed[256];
	json_init_fixed(&j, fixed, sizeof(fixed), 0);
	sample(&j);
	ck_assert(!j.failed);
	ck_assert_str_eq(fixed, sample_text);
	ck_assert_uint_eq(j.len, strlen(sample_text));
}
END_TEST

START_TEST(test_documents_and_newlines)
{
	char fixed[64];
	struct json j;
	json_init_fixed(&j, fixed, sizeof(fixed), 0);
	json_list(&j);
	json_end(&j);
	json_object(&j); /* a second document: no comma before it */
	json_end(&j);
	ck_assert_str_eq(fixed, "[]\n{}\n");

	json_init_fixed(&j, fixed, sizeof(fixed), JSON_NO_NEWLINE);
	json_object(&j);
	json_key(&j, "k");
	json_u64(&j, 1);
	json_end(&j);
	ck_assert_str_eq(fixed, "{\"k\":1}");
}
END_TEST

START_TEST(test_utf8)
{
	/* valid 2-, 3- and 4-byte sequences, a stray continuation byte, an
	 * overlong "/", a surrogate, a sequence cut short */
	static const char in[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				 "\x80\xc0\xaf\xed\xa0\x80\xe2\x82";
	char fixed[128];
	struct json j;
	json_init_fixed(&j, fixed, sizeof(fixed), JSON_NO_NEWLINE);
	json_str(&j, in, sizeof(in) - 1);
	ck_assert_str_eq(fixed, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
				"\\ufffd\\ufffd\"");

	json_init_fixed(&j, fixed, sizeof(fixed),
			JSON_NO_NEWLINE | JSON_KEEP_BYTES);
	json_str(&j, in, sizeof(in) - 1);
	ck_assert_uint_eq(j.len, sizeof(in) - 1 + 2);
	ck_assert(memcmp(fixed + 1, in, sizeof(in) - 1) == 0);

	ck_assert_uint_eq(json_utf8_len((const unsigned char *)"a", 1), 1);
	ck_assert_uint_eq(json_utf8_len((const unsigned char *)"\xc3\xa9", 1),
			  0);
	ck_assert_uint_eq(json_utf8_len((const unsigned char
						 *)"\xf4\x90\x80\x80",
					4),
			  0);
}
END_TEST

START_TEST(test_fixed_buffer_fills_up)
{
	char fixed[8];
	struct json j;
	json_init_fixed(&j, fixed, sizeof(fixed), JSON_NO_NEWLINE);
	json_object(&j);
	json_key(&j, "key");
	ck_assert(!j.failed);
	ck_assert_str_eq(fixed, "{\"key\":");
	json_string(&j, "value");
	ck_assert(j.failed);
	json_end(&j); /* a no-op from now on */
	ck_assert_str_eq(fixed, "{\"key\":");
}
END_TEST

START_TEST(test_buf)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "ab");
	buf_printf(&b, "%d-%s", 42, "x");
	ck_assert_uint_eq(b.len, 6);
	ck_assert(memcmp(b.buf, "ab42-x", 6) == 0);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	for (int i = 0; i < 1000; i++)
		buf_put(&b, "0123456789", 10);
	ck_assert_uint_eq(b.len, 10000);
	ck_assert(!b.failed);
	ck_assert(memcmp(b.buf + 9990, "0123456789", 10) == 0);
	buf_free(&b);
	ck_assert_ptr_null(b.buf);
}
END_TEST

Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sinks_agree);
	tcase_add_test(tc, test_documents_and_newlines);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_fixed_buffer_fills_up);
	tcase_add_test(tc, test_buf);
	suite_add_tcase(s, tc);
	return s;
}
