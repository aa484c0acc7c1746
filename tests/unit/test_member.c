/* test_member.c — the member record every agent publishes: a round trip
 * keeps every field, a newer agent's fields are ignored, and nothing
 * malformed gets through (fencing/member.c, fencing/flatjson.c,
 * fencing/roster.c). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "fencing/flatjson.h"
#include "fencing/member.h"
#include "fencing/roster.h"
#include "tests/unit/suites.h"

static void full_member(struct member *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "pg-1 \"quoted\" \\ \t\x01 é");
	m->role = MEMBER_REPLICA;
	snprintf(m->state, sizeof(m->state), "streaming");
	m->timeline = 4294967295u;
	m->received_lsn = 0x16B374D848ull;
	m->replayed_lsn = 18446744073709551615ull;
	m->lag_bytes = 123456789;
	m->healthy = true;
	snprintf(m->api, sizeof(m->api), "127.0.0.1:8008");
	snprintf(m->pg, sizeof(m->pg), "[::1]:5432");
	snprintf(m->upstream, sizeof(m->upstream), "pg-0");
	m->nofailover = true;
	m->priority = -9223372036854775807ll - 1;
	m->frozen_token = 77;
	m->lease_token = 78;
	m->sync = true;
	m->updated_ms = 1700000000123ull;
	snprintf(m->waiting, sizeof(m->waiting), "no eligible standby");
	snprintf(m->reason, sizeof(m->reason), "start 3 failed (bad_setting)");
	m->nosync = true;
	m->noloadbalance = true;
	m->clonefrom = true;
	snprintf(m->replicatefrom, sizeof(m->replicatefrom), "pg-2");
}

static bool decode(const char *json, struct member *m, char *err)
{
	return member_decode(json, strlen(json), m, err, 128);
}

START_TEST(test_round_trip_every_field)
{
	struct member a, b;
	char buf[4096], err[128];
	full_member(&a);
	size_t n = member_encode(&a, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(n, strlen(buf));
	ck_assert_msg(member_decode(buf, n, &b, err, sizeof(err)), "%s", err);
	ck_assert_str_eq(b.name, a.name);
	ck_assert_int_eq(b.role, a.role);
	ck_assert_str_eq(b.state, a.state);
	ck_assert_uint_eq(b.timeline, a.timeline);
	ck_assert_uint_eq(b.received_lsn, a.received_lsn);
	ck_assert_uint_eq(b.replayed_lsn, a.replayed_lsn);
	ck_assert_uint_eq(b.lag_bytes, a.lag_bytes);
	ck_assert(b.healthy);
	ck_assert_str_eq(b.api, a.api);
	ck_assert_str_eq(b.pg, a.pg);
	ck_assert_str_eq(b.upstream, a.upstream);
	ck_assert(b.nofailover);
	ck_assert(b.priority == a.priority);
	ck_assert_uint_eq(b.frozen_token, 77);
	ck_assert_uint_eq(b.lease_token, 78);
	ck_assert(b.sync);
	ck_assert_uint_eq(b.updated_ms, a.updated_ms);
	ck_assert_str_eq(b.waiting, a.waiting);
	ck_assert_str_eq(b.reason, a.reason);
	ck_assert(b.nosync && b.noloadbalance && b.clonefrom);
	ck_assert_str_eq(b.replicatefrom, "pg-2");
	/* the control character went out escaped */
	ck_assert_ptr_nonnull(strstr(buf, "\\u0001"));
	ck_assert_ptr_nonnull(strstr(buf, "\\\"quoted\\\""));
}
END_TEST

START_TEST(test_encode_too_small)
{
	struct member a;
	char buf[4096];
	full_member(&a);
	size_t n = member_encode(&a, buf, sizeof(buf));
	ck_assert_uint_eq(member_encode(&a, buf, n), 0); /* no room for NUL */
	ck_assert_uint_eq(member_encode(&a, buf, n + 1), n);
	ck_assert_uint_eq(member_encode(&a, buf, 0), 0);
}
END_TEST

START_TEST(test_every_role)
{
	enum member_role r;
	for (int i = MEMBER_UNKNOWN; i <= MEMBER_STOPPED; i++) {
		ck_assert(member_role_parse(member_role_name(i), &r));
		ck_assert_int_eq(r, i);
	}
	ck_assert(!member_role_parse("master", &r));
	ck_assert(!member_role_parse("", &r));
	ck_assert_str_eq(member_role_name((enum member_role)99), "unknown");
}
END_TEST

START_TEST(test_unknown_keys_ignored_missing_zero)
{
	struct member m;
	char err[128];
	ck_assert_msg(decode(" {\"name\":\"a\",\"future\":\"x\",\"nested_"
			     "later\":1.5e3,\"flag\":true,\"n\":null,"
			     "\"priority\":-3,\"lag_bytes\":null}\n",
			     &m, err),
		      "%s", err);
	ck_assert_str_eq(m.name, "a");
	ck_assert_int_eq(m.role, MEMBER_UNKNOWN);
	ck_assert_str_eq(m.state, "");
	ck_assert_uint_eq(m.timeline, 0);
	ck_assert_uint_eq(m.lag_bytes, 0);
	ck_assert(m.priority == -3);
	ck_assert(!m.healthy);
	ck_assert(decode("{}", &m, err));
	ck_assert_str_eq(m.name, "");
}
END_TEST

START_TEST(test_string_escapes)
{
	struct member m;
	char err[128];
	ck_assert_msg(decode("{\"name\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t"
			     "\\u00e9\\u20AC\\ud83d\\ude00\"}",
			     &m, err),
		      "%s", err);
	ck_assert_str_eq(m.name, "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac"
				 "\xf0\x9f\x98\x80");
	/* raw UTF-8 passes */
	ck_assert(decode("{\"name\":\"h\xc3\xa9\"}", &m, err));
	ck_assert_str_eq(m.name, "h\xc3\xa9");
}
END_TEST

/* Each one must be refused, with the reason containing want. */
static void refused(const char *json, size_t len, const char *want)
{
	struct member m;
	char err[128] = "";
	memset(&m, 0xab, sizeof(m));
	ck_assert_msg(!member_decode(json, len, &m, err, sizeof(err)),
		      "accepted: %s", json);
	ck_assert_msg(strstr(err, want), "for %s: got \"%s\", want \"%s\"",
		      json, err, want);
	ck_assert_str_eq(m.name, ""); /* nothing half-filled */
}

#define REFUSED(json, want) refused(json, sizeof(json) - 1, want)

START_TEST(test_malformed_rejected)
{
	REFUSED("", "empty input");
	REFUSED("   ", "empty input");
	REFUSED("[]", "expected a JSON object");
	REFUSED("\"x\"", "expected a JSON object");
	REFUSED("{", "expected a string key");
	REFUSED("{\"name\"", "expected ':'");
	REFUSED("{\"name\":", "expected a value");
	REFUSED("{\"name\":\"a\"", "unterminated object");
	REFUSED("{\"name\":\"a", "unterminated string");
	REFUSED("{\"name\":\"a\",}", "expected a string key");
	REFUSED("{,}", "expected a string key");
	REFUSED("{\"a\":1 \"b\":2}", "expected ',' or '}'");
	REFUSED("{name:1}", "expected a string key");
	REFUSED("{'name':1}", "expected a string key");
	REFUSED("{\"a\":tru}", "expected a value");
	REFUSED("{\"a\":nul}", "expected a value");
	REFUSED("{\"a\":01}", "malformed number");
	REFUSED("{\"a\":1.}", "malformed number");
	REFUSED("{\"a\":.5}", "expected a value");
	REFUSED("{\"a\":+1}", "expected a value");
	REFUSED("{\"a\":1e}", "malformed number");
	REFUSED("{\"a\":-}", "malformed number");
	REFUSED("{\"a\":\"\\x\"}", "invalid escape");
	REFUSED("{\"a\":\"\\u12\"}", "four hex digits");
	REFUSED("{\"a\":\"\\u12g4\"}", "four hex digits");
	REFUSED("{\"a\":\"\\u0000\"}", "\\u0000");
	REFUSED("{\"a\":\"\\udc00\"}", "lone low surrogate");
	REFUSED("{\"a\":\"\\ud800x\"}", "without its low half");
	REFUSED("{\"a\":\"\\ud800\\u0041\"}", "without its low half");
	REFUSED("{\"a\":\"x\ny\"}", "control character");
	REFUSED("{\"a\":\"\xc3\"}", "invalid UTF-8");
	REFUSED("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8");     /* overlong */
	REFUSED("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8"); /* surrogate */
	REFUSED("{\"a\":\"\xff\"}", "invalid UTF-8");
	REFUSED("{\"a\":\"x\x00y\"}", "control character");
	REFUSED("{\"a\":1}\x00", "trailing");
}
END_TEST

START_TEST(test_nested_and_trailing_rejected)
{
	REFUSED("{\"a\":{}}", "nested");
	REFUSED("{\"a\":[1]}", "nested");
	REFUSED("{\"name\":\"a\"} x", "trailing");
	REFUSED("{\"name\":\"a\"}{}", "trailing");
	REFUSED("{} {}", "trailing");
}
END_TEST

START_TEST(test_wrong_types_rejected)
{
	REFUSED("{\"name\":1}", "\"name\" must be a string");
	REFUSED("{\"role\":\"master\"}", "\"role\" must be primary");
	REFUSED("{\"role\":1}", "\"role\" must be primary");
	REFUSED("{\"timeline\":\"1\"}", "\"timeline\" must be a number");
	REFUSED("{\"timeline\":4294967296}", "out of range");
	REFUSED("{\"timeline\":-1}", "out of range");
	REFUSED("{\"lag_bytes\":1.5}", "whole number");
	REFUSED("{\"lag_bytes\":1e3}", "whole number");
	REFUSED("{\"lag_bytes\":18446744073709551616}", "out of range");
	REFUSED("{\"priority\":9223372036854775808}", "out of range");
	REFUSED("{\"healthy\":1}", "must be true or false");
	REFUSED("{\"healthy\":\"true\"}", "must be true or false");
}
END_TEST

START_TEST(test_oversize_rejected)
{
	char json[8192], err[128];
	struct member m;
	/* 255 bytes fit (MEMBER_STR_MAX counts the NUL), 256 do not */
	int n = snprintf(json, sizeof(json), "{\"name\":\"%0255d\"}", 0);
	ck_assert_msg(member_decode(json, (size_t)n, &m, err, sizeof(err)),
		      "%s", err);
	ck_assert_uint_eq(strlen(m.name), 255);
	n = snprintf(json, sizeof(json), "{\"name\":\"%0256d\"}", 0);
	refused(json, (size_t)n, "longer than 255");
	/* an escape that decodes past the limit counts decoded bytes */
	char *p = json + sprintf(json, "{\"api\":\"");
	for (int i = 0; i < 128; i++)
		p += sprintf(p, "\\u00e9"); /* 2 bytes each: 256 */
	n = (int)(p - json) + sprintf(p, "\"}");
	refused(json, (size_t)n, "\"api\" is longer");
	/* an unknown key's huge string is refused by the reader itself */
	p = json + sprintf(json, "{\"x\":\"");
	memset(p, 'a', FLATJSON_STR_MAX + 1);
	p += FLATJSON_STR_MAX + 1;
	n = (int)(p - json) + sprintf(p, "\"}");
	refused(json, (size_t)n, "string longer than");
	n = snprintf(json, sizeof(json), "{\"lag_bytes\":%070d}", 1);
	refused(json, (size_t)n, "malformed number"); /* leading zero */
	n = snprintf(json, sizeof(json), "{\"x\":1%070d}", 1);
	refused(json, (size_t)n, "number longer");
}
END_TEST

START_TEST(test_lsn_format_parse)
{
	char buf[24];
	uint64_t v;
	ck_assert_str_eq(member_lsn_format(0, buf, sizeof(buf)), "0/0");
	ck_assert_str_eq(member_lsn_format(0x16B374D848ull, buf, sizeof(buf)),
			 "16/B374D848");
	ck_assert_str_eq(member_lsn_format(UINT64_MAX, buf, sizeof(buf)),
			 "FFFFFFFF/FFFFFFFF");
	ck_assert(member_lsn_parse("0/0", &v));
	ck_assert_uint_eq(v, 0);
	ck_assert(member_lsn_parse("16/B374D848", &v));
	ck_assert_uint_eq(v, 0x16B374D848ull);
	ck_assert(member_lsn_parse("16/b374d848", &v));
	ck_assert_uint_eq(v, 0x16B374D848ull);
	ck_assert(member_lsn_parse("FFFFFFFF/FFFFFFFF", &v));
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert(member_lsn_parse("00000000/00000001", &v));
	ck_assert_uint_eq(v, 1);
	static const char *const bad[] = {
		"",     "/",     "0/",   "/0",   "0",           "0/0/0",
		"G/0",  "0/G",   " 0/0", "0/0 ", "100000000/0", "0/100000000",
		"-1/0", "0x1/0", "0//0", "1.0/0"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!member_lsn_parse(bad[i], &v), "accepted '%s'",
			      bad[i]);
	ck_assert(!member_lsn_parse(NULL, &v));
}
END_TEST

START_TEST(test_writer)
{
	struct flatjson_writer w;
	char buf[128];
	flatjson_begin(&w, buf, sizeof(buf));
	ck_assert_uint_eq(flatjson_end(&w), 2);
	ck_assert_str_eq(buf, "{}");
	flatjson_begin(&w, buf, sizeof(buf));
	flatjson_put_str(&w, "k\"", "v\x1f\x7f");
	flatjson_put_u64(&w, "u", UINT64_MAX);
	flatjson_put_i64(&w, "i", -5);
	flatjson_put_bool(&w, "b", false);
	flatjson_put_str(&w, "n", NULL);
	ck_assert_uint_gt(flatjson_end(&w), 0);
	ck_assert_str_eq(buf, "{\"k\\\"\":\"v\\u001f\\u007f\",\"u\":"
			      "18446744073709551615,\"i\":-5,\"b\":false,"
			      "\"n\":\"\"}");
	flatjson_begin(&w, buf, 8);
	flatjson_put_str(&w, "key", "value");
	ck_assert_uint_eq(flatjson_end(&w), 0);
}
END_TEST

START_TEST(test_roster)
{
	struct member m;
	char host[64];
	unsigned port;
	memset(&m, 0, sizeof(m));
	strcpy(m.name, "pg1");
	m.role = MEMBER_PRIMARY;
	ck_assert_str_eq(roster_role(&m, "pg1"), "primary");
	ck_assert_str_eq(roster_role(&m, "pg2"), "demoting");
	ck_assert_str_eq(roster_role(&m, ""), "demoting");
	ck_assert_str_eq(roster_role(&m, NULL), "demoting");
	m.role = MEMBER_REPLICA;
	ck_assert_str_eq(roster_role(&m, "pg1"), "primary");
	ck_assert_str_eq(roster_role(&m, "pg2"), "replica");
	m.role = MEMBER_STOPPED;
	ck_assert_str_eq(roster_role(&m, "pg2"), "stopped");
	ck_assert(roster_in_list("pg0, pg1 ,pg2", "pg1"));
	ck_assert(roster_in_list("pg1", "pg1"));
	ck_assert(!roster_in_list("pg10,pg", "pg1"));
	ck_assert(!roster_in_list("", "pg1"));
	ck_assert(!roster_in_list(NULL, "pg1"));
	ck_assert(!roster_in_list("a,,b", ""));
	char item[8];
	const char *p = roster_list_next("pg1,,pg2", item, sizeof(item));
	ck_assert_str_eq(item, "pg1");
	p = roster_list_next(p, item, sizeof(item));
	ck_assert_str_eq(item, "");
	p = roster_list_next(p, item, sizeof(item));
	ck_assert_str_eq(item, "pg2");
	ck_assert_ptr_null(roster_list_next(p, item, sizeof(item)));
	ck_assert_ptr_null(roster_list_next("", item, sizeof(item)));
	ck_assert(roster_is_sync(&m, "pg2", "pg1"));
	ck_assert(!roster_is_sync(&m, "pg1", "pg1"));
	m.sync = true;
	ck_assert(roster_is_sync(&m, "pg2", ""));
	ck_assert(
		roster_split_addr("10.0.0.1:5432", host, sizeof(host), &port));
	ck_assert_str_eq(host, "10.0.0.1");
	ck_assert_uint_eq(port, 5432);
	ck_assert(roster_split_addr("[::1]:6432", host, sizeof(host), &port));
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 6432);
	ck_assert(!roster_split_addr("db", host, sizeof(host), &port));
	ck_assert_str_eq(host, "db");
	ck_assert_uint_eq(port, 0);
	ck_assert(!roster_split_addr("db:0", host, sizeof(host), &port));
	ck_assert(!roster_split_addr("db:x", host, sizeof(host), &port));
	ck_assert(!roster_split_addr(":5432", host, sizeof(host), &port));
	ck_assert(!roster_split_addr("[::1]5432", host, sizeof(host), &port));
	ck_assert(!roster_split_addr("", host, sizeof(host), &port));
}
END_TEST

/* ---- when a record is written again -------------------------------------- */

static const struct member_write_policy policy = {
	.primary_ms = 500,
	.position_bytes = 1 << 20,
	.position_ms = 5000,
	.heartbeat_ms = 30000,
};

static const char *why(const struct member *last, const struct member *next,
		       uint64_t age_ms)
{
	return member_write_reason(last, next, age_ms, &policy);
}

static void streaming(struct member *m)
{
	full_member(m);
	m->replayed_lsn = m->received_lsn - 100;
	m->frozen_token = 0;
	m->nofailover = false;
}

START_TEST(test_write_unchanged_waits_for_heartbeat)
{
	struct member a, b;
	streaming(&a);
	b = a;
	b.updated_ms += 29999; /* the clock alone is no change */
	ck_assert_ptr_null(why(&a, &b, 29999));
	ck_assert_str_eq(why(&a, &b, 30000), "heartbeat");
	ck_assert_str_eq(why(NULL, &b, 0), "not written");
}
END_TEST

/* Every field others decide on is written at once, whatever its age. */
START_TEST(test_write_decided_fields_at_once)
{
	struct member a, b;
	streaming(&a);
#define CHANGED(field, stmt)                             \
	do {                                             \
		b = a;                                   \
		stmt;                                    \
		ck_assert_str_eq(why(&a, &b, 0), field); \
	} while (0)
	CHANGED("role", b.role = MEMBER_PRIMARY);
	CHANGED("state", snprintf(b.state, sizeof(b.state), "frozen"));
	CHANGED("timeline", b.timeline--);
	CHANGED("healthy", b.healthy = false);
	CHANGED("upstream", b.upstream[0] = '\0');
	CHANGED("nofailover", b.nofailover = true);
	CHANGED("priority", b.priority = 1);
	CHANGED("frozen_token", b.frozen_token = 9);
	CHANGED("lease_token", b.lease_token = 0);
	CHANGED("sync", b.sync = false);
	CHANGED("api", b.api[0] = '\0');
	CHANGED("pg", b.pg[0] = '\0');
#undef CHANGED
}
END_TEST

/* A streaming standby's position is for display: written when it moved a
 * megabyte (once per renewal at most) or after position_ms. */
START_TEST(test_write_streaming_position_thresholded)
{
	struct member a, b;
	streaming(&a);
	b = a;
	b.received_lsn += 8192;
	b.replayed_lsn += 8192;
	ck_assert_ptr_null(why(&a, &b, 4999));
	ck_assert_str_eq(why(&a, &b, 5000), "position");
	b.received_lsn = a.received_lsn - (1 << 20);
	ck_assert_ptr_null(why(&a, &b, 499));
	ck_assert_str_eq(why(&a, &b, 500), "position");
	b = a;
	b.lag_bytes += 1 << 20;
	ck_assert_str_eq(why(&a, &b, 500), "position");
	b.lag_bytes = a.lag_bytes + 100;
	ck_assert_ptr_null(why(&a, &b, 500));
}
END_TEST

/* A frozen standby's position picks the candidate: never held back; nor
 * is one that is not streaming (it may freeze next) or stopped. */
START_TEST(test_write_frozen_position_at_once)
{
	struct member a, b;
	full_member(&a); /* frozen_token 77 */
	b = a;
	b.received_lsn++;
	ck_assert_str_eq(why(&a, &b, 0), "position");
	streaming(&a);
	snprintf(a.state, sizeof(a.state), "frozen"); /* settling */
	b = a;
	b.replayed_lsn++;
	ck_assert_str_eq(why(&a, &b, 0), "position");
	snprintf(a.state, sizeof(a.state), "in archive recovery");
	b = a;
	b.received_lsn++;
	ck_assert_str_eq(why(&a, &b, 0), "position");
	a.role = MEMBER_STOPPED;
	b = a;
	b.received_lsn++;
	ck_assert_str_eq(why(&a, &b, 0), "position");
}
END_TEST

/* The primary's position: at most once per primary_ms. */
START_TEST(test_write_primary_position_per_renewal)
{
	struct member a, b;
	streaming(&a);
	a.role = MEMBER_PRIMARY;
	snprintf(a.state, sizeof(a.state), "running");
	b = a;
	b.received_lsn += 1 << 30;
	ck_assert_ptr_null(why(&a, &b, 499));
	ck_assert_str_eq(why(&a, &b, 500), "position");
}
END_TEST

/* A copy comes from the most advanced healthy streaming clonefrom replica,
 * else from the primary. */
START_TEST(test_clone_source)
{
	struct member m[4];
	memset(m, 0, sizeof(m));
	const char *names[] = { "p", "a", "b", "me" };
	for (int i = 0; i < 4; i++) {
		snprintf(m[i].name, sizeof(m[i].name), "%s", names[i]);
		m[i].role = i ? MEMBER_REPLICA : MEMBER_PRIMARY;
		m[i].healthy = true;
		snprintf(m[i].state, sizeof(m[i].state), "streaming");
	}
	ck_assert_str_eq(roster_clone_source(m, 4, "me", "p", "")->name, "p");
	m[1].clonefrom = m[2].clonefrom = m[3].clonefrom = true;
	m[2].received_lsn = 10;
	ck_assert_str_eq(roster_clone_source(m, 4, "me", "p", "")->name, "b");
	ck_assert_str_eq(roster_clone_source(m, 4, "me", "p", "b")->name, "a");
	m[1].frozen_token = 3; /* frozen for a failover: stale */
	snprintf(m[2].state, sizeof(m[2].state), "in archive recovery");
	ck_assert_str_eq(roster_clone_source(m, 4, "me", "p", NULL)->name, "p");
	ck_assert_ptr_null(roster_clone_source(m, 4, "me", "gone", NULL));
}
END_TEST

/* An older agent's record has no tags: they read as their defaults. */
START_TEST(test_tags_missing_are_off)
{
	struct member m;
	char err[128];
	ck_assert(decode("{\"name\":\"a\",\"nosync\":true,"
			 "\"replicatefrom\":\"b\"}",
			 &m, err));
	ck_assert(m.nosync && !m.noloadbalance && !m.clonefrom);
	ck_assert_str_eq(m.replicatefrom, "b");
	ck_assert(!decode("{\"clonefrom\":\"yes\"}", &m, err));
	ck_assert_ptr_nonnull(strstr(err, "clonefrom"));
}
END_TEST

START_TEST(test_tags_format)
{
	struct member m;
	char buf[256];
	memset(&m, 0, sizeof(m));
	m.priority = MEMBER_DEFAULT_PRIORITY;
	ck_assert_str_eq(member_tags_format(&m, buf, sizeof(buf)), "");
	m.nofailover = true;
	m.priority = 5;
	m.nosync = true;
	ck_assert_str_eq(member_tags_format(&m, buf, sizeof(buf)),
			 "nofailover,priority=5,nosync");
	m.noloadbalance = m.clonefrom = true;
	snprintf(m.replicatefrom, sizeof(m.replicatefrom), "n2");
	ck_assert_str_eq(member_tags_format(&m, buf, sizeof(buf)),
			 "nofailover,priority=5,nosync,noloadbalance,"
			 "clonefrom,replicatefrom=n2");
	memset(&m, 0, sizeof(m)); /* priority 0 is not the default */
	snprintf(m.replicatefrom, sizeof(m.replicatefrom), "n2");
	ck_assert_str_eq(member_tags_format(&m, buf, sizeof(buf)),
			 "priority=0,replicatefrom=n2");
	/* too small: cut, still terminated */
	ck_assert_uint_lt(strlen(member_tags_format(&m, buf, 8)), 8);
}
END_TEST

Suite *member_suite(void)
{
	Suite *s = suite_create("member");
	TCase *t = tcase_create("codec");
	tcase_add_test(t, test_round_trip_every_field);
	tcase_add_test(t, test_encode_too_small);
	tcase_add_test(t, test_every_role);
	tcase_add_test(t, test_unknown_keys_ignored_missing_zero);
	tcase_add_test(t, test_string_escapes);
	tcase_add_test(t, test_malformed_rejected);
	tcase_add_test(t, test_nested_and_trailing_rejected);
	tcase_add_test(t, test_wrong_types_rejected);
	tcase_add_test(t, test_oversize_rejected);
	tcase_add_test(t, test_lsn_format_parse);
	tcase_add_test(t, test_writer);
	tcase_add_test(t, test_roster);
	tcase_add_test(t, test_tags_missing_are_off);
	tcase_add_test(t, test_tags_format);
	tcase_add_test(t, test_clone_source);
	suite_add_tcase(s, t);
	t = tcase_create("write_policy");
	tcase_add_test(t, test_write_unchanged_waits_for_heartbeat);
	tcase_add_test(t, test_write_decided_fields_at_once);
	tcase_add_test(t, test_write_streaming_position_thresholded);
	tcase_add_test(t, test_write_frozen_position_at_once);
	tcase_add_test(t, test_write_primary_position_per_renewal);
	suite_add_tcase(s, t);
	return s;
}
