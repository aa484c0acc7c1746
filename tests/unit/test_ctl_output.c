/* test_ctl_output.c — tenurectl's JSON writer and tables: what scripts
 * and people read must be well-formed whatever bytes a key holds. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/ctl_kv.h"
#include "tests/unit/mem_out.h"
#include "tests/unit/suites.h"

static void json_one_str(const char *p, size_t len, const char *want)
{
	struct mem m;
	struct json j;
	mem_open(&m);
	json_init_file(&j, m.f, 0);
	json_list(&j);
	json_str(&j, p, len);
	json_end(&j);
	mem_expect(&m, want);
}

START_TEST(test_json_nesting_and_commas)
{
	struct mem m;
	struct json j;
	struct client_str empty = { "", 0 }, h = { "h1", 2 };
	mem_open(&m);
	json_init_file(&j, m.f, 0);
	json_list(&j);
	json_object(&j);
	json_key(&j, "a");
	json_u64(&j, 18446744073709551615ull);
	json_key(&j, "b");
	json_list(&j);
	json_bool(&j, true);
	json_bool(&j, false);
	json_null(&j);
	json_end(&j);
	json_key(&j, "holder");
	ctl_json_cstr_or_null(&j, empty);
	json_key(&j, "h");
	ctl_json_cstr_or_null(&j, h);
	json_end(&j);
	json_object(&j);
	json_end(&j);
	json_list(&j);
	json_end(&j);
	json_end(&j);
	mem_expect(&m, "[{\"a\":18446744073709551615,\"b\":[true,false,null],"
		       "\"holder\":null,\"h\":\"h1\"},{},[]]\n");
}
END_TEST

START_TEST(test_json_documents_one_per_line)
{
	struct mem m;
	struct json j;
	mem_open(&m);
	json_init_file(&j, m.f, 0);
	for (int i = 0; i < 2; i++) {
		json_object(&j);
		json_key(&j, "n");
		json_u64(&j, (uint64_t)i);
		json_end(&j);
	}
	mem_expect(&m, "{\"n\":0}\n{\"n\":1}\n");
}
END_TEST

START_TEST(test_json_escapes)
{
	json_one_str("a\"b\\c", 5, "[\"a\\\"b\\\\c\"]\n");
	json_one_str("\n\r\t\b\f", 5, "[\"\\n\\r\\t\\b\\f\"]\n");
	json_one_str("\x01\x1f\x7f", 3, "[\"\\u0001\\u001f\\u007f\"]\n");
	/* an embedded NUL is data, not the end of the string */
	json_one_str("a\0b", 3, "[\"a\\u0000b\"]\n");
	json_one_str("", 0, "[\"\"]\n");
	json_one_str("/", 1, "[\"/\"]\n");
}
END_TEST

START_TEST(test_json_utf8)
{
	/* valid sequences of 2, 3 and 4 bytes pass through */
	json_one_str("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
		     "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]\n");
	/* a stray byte, a lone continuation byte, a lead byte at the end */
	json_one_str("a\xff"
		     "b",
		     3, "[\"a\\ufffdb\"]\n");
	json_one_str("\x80", 1, "[\"\\ufffd\"]\n");
	json_one_str("x\xe2\x82", 3, "[\"x\\ufffd\\ufffd\"]\n");
	/* overlong '/', a UTF-16 surrogate, beyond U+10FFFF */
	json_one_str("\xc0\xaf", 2, "[\"\\ufffd\\ufffd\"]\n");
	json_one_str("\xed\xa0\x80", 3, "[\"\\ufffd\\ufffd\\ufffd\"]\n");
	json_one_str("\xf4\x90\x80\x80", 4,
		     "[\"\\ufffd\\ufffd\\ufffd\\ufffd\"]\n");
}
END_TEST

START_TEST(test_json_lease_and_kv)
{
	struct mem m;
	struct json j;
	struct client_lease l = { { "db", 2 }, { "", 0 }, 11, 5000, 0 };
	struct client_kv kv = { { "k", 1 }, { "v", 1 }, { "db", 2 }, 3, 4 };
	mem_open(&m);
	json_init_file(&j, m.f, 0);
	ctl_json_lease(&j, &l);
	ctl_json_kv(&j, &kv);
	mem_expect(&m, "{\"name\":\"db\",\"holder\":null,\"token\":11,"
		       "\"ttl_ms\":5000,\"remaining_ms\":0}\n"
		       "{\"key\":\"k\",\"value\":\"v\",\"lease\":\"db\","
		       "\"create_revision\":3,\"mod_revision\":4}\n");
}
END_TEST

START_TEST(test_table_alignment)
{
	static const char *const head[] = { "NAME", "V" };
	static const char *const r1[] = { "a", "1" };
	static const char *const r2[] = { "longer", "tab\there" };
	struct mem m;
	struct ctl_table t;
	mem_open(&m);
	ctl_table_init(&t, 2, head);
	ctl_table_row(&t, r1);
	ctl_table_row(&t, r2);
	ctl_table_print(&t, m.f);
	ctl_table_free(&t);
	/* control characters would break the columns: shown as '?' */
	mem_expect(&m, "NAME    V\n"
		       "a       1\n"
		       "longer  tab?here\n");
}
END_TEST

START_TEST(test_cells)
{
	struct client_str empty = { "", 0 }, nul = { "a\0b", 3 };
	char *c = ctl_cell(empty);
	ck_assert_str_eq(c, "-");
	free(c);
	c = ctl_cell(nul);
	ck_assert_str_eq(c, "a?b");
	free(c);
	/* long values are cut in lists (never inside a UTF-8 character) */
	char longv[100];
	memset(longv, 'x', sizeof(longv));
	memcpy(longv + 56, "\xc3\xa9", 2); /* bytes 56-57: an e-acute */
	struct client_str lv = { longv, sizeof(longv) };
	c = ctl_cell_value(lv, true);
	ck_assert_uint_eq(strlen(c), 56 + 3);
	ck_assert_str_eq(c + 56, "...");
	free(c);
	c = ctl_cell_value(lv, false);
	ck_assert_uint_eq(strlen(c), sizeof(longv));
	free(c);
	struct client_str shortv = { "short", 5 };
	c = ctl_cell_value(shortv, true);
	ck_assert_str_eq(c, "short");
	free(c);
	c = ctl_cell_u64(18446744073709551615ull);
	ck_assert_str_eq(c, "18446744073709551615");
	free(c);
}
END_TEST

Suite *ctl_output_suite(void)
{
	Suite *s = suite_create("ctl_output");
	TCase *tc = tcase_create("output");
	tcase_add_test(tc, test_json_nesting_and_commas);
	tcase_add_test(tc, test_json_documents_one_per_line);
	tcase_add_test(tc, test_json_escapes);
	tcase_add_test(tc, test_json_utf8);
	tcase_add_test(tc, test_json_lease_and_kv);
	tcase_add_test(tc, test_table_alignment);
	tcase_add_test(tc, test_cells);
	suite_add_tcase(s, tc);
	return s;
}
