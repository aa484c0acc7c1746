/* test_controldata.c — fencing/controldata.c: real pg_controldata output
 * of PostgreSQL 15 (LANG=C) for a primary stopped cleanly, a standby
 * stopped cleanly, a running primary and a running standby; the helpers
 * that classify them; the LSN parser; and input that must be refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/controldata.h"
#include "tests/unit/suites.h"

/* initdb, then `LANG=C pg_controldata DATADIR` (PostgreSQL 15.x). */
static const char shut_down[] =
	"pg_control version number:            1300\n"
	"Catalog version number:               202209061\n"
	"Database system identifier:           7712272783765845575\n"
	"Database cluster state:               shut down\n"
	"pg_control last modified:             Thu Nov 26 00:37:17 2026\n"
	"Latest checkpoint location:           0/1500718\n"
	"Latest checkpoint's REDO location:    0/1500718\n"
	"Latest checkpoint's REDO WAL file:    000000010000000000000001\n"
	"Latest checkpoint's TimeLineID:       1\n"
	"Latest checkpoint's PrevTimeLineID:   1\n"
	"Latest checkpoint's full_page_writes: on\n"
	"Latest checkpoint's NextXID:          0:724\n"
	"Latest checkpoint's NextOID:          13572\n"
	"Latest checkpoint's NextMultiXactId:  1\n"
	"Latest checkpoint's NextMultiOffset:  0\n"
	"Latest checkpoint's oldestXID:        716\n"
	"Latest checkpoint's oldestXID's DB:   1\n"
	"Latest checkpoint's oldestActiveXID:  0\n"
	"Latest checkpoint's oldestMultiXid:   1\n"
	"Latest checkpoint's oldestMulti's DB: 1\n"
	"Latest checkpoint's oldestCommitTsXid:0\n"
	"Latest checkpoint's newestCommitTsXid:0\n"
	"Time of latest checkpoint:            Thu Nov 26 00:37:17 2026\n"
	"Fake LSN counter for unlogged rels:   0/3E8\n"
	"Minimum recovery ending location:     0/0\n"
	"Min recovery ending loc's timeline:   0\n"
	"Backup start location:                0/0\n"
	"Backup end location:                  0/0\n"
	"End-of-backup record required:        no\n"
	"wal_level setting:                    replica\n"
	"wal_log_hints setting:                off\n"
	"max_connections setting:              100\n"
	"max_worker_processes setting:         8\n"
	"max_wal_senders setting:              10\n"
	"max_prepared_xacts setting:           0\n"
	"max_locks_per_xact setting:           64\n"
	"track_commit_timestamp setting:       off\n"
	"Maximum data alignment:               8\n"
	"Database block size:                  8192\n"
	"Blocks per segment of large relation: 131072\n"
	"WAL block size:                       8192\n"
	"Bytes per WAL segment:                16777216\n"
	"Maximum length of identifiers:        64\n"
	"Maximum columns in an index:          32\n"
	"Maximum size of a TOAST chunk:        1996\n"
	"Size of a large-object chunk:         2048\n"
	"Date/time type storage:               64-bit integers\n"
	"Float8 argument passing:              by value\n"
	"Data page checksum version:           0\n"
	"Mock authentication nonce:            "
	"854a766162c30dedaedf6e9ebefbf2b3d1a4091221d37d18d82aaadf11460465\n";

/* The same cluster started with standby.signal, then stopped (fast). */
static const char shut_down_in_recovery[] =
	"pg_control version number:            1300\n"
	"Catalog version number:               202209061\n"
	"Database system identifier:           7712272783765845575\n"
	"Database cluster state:               shut down in recovery\n"
	"pg_control last modified:             Thu Nov 26 00:37:19 2026\n"
	"Latest checkpoint location:           0/20000D8\n"
	"Latest checkpoint's REDO location:    0/20000D8\n"
	"Latest checkpoint's REDO WAL file:    000000010000000000000002\n"
	"Latest checkpoint's TimeLineID:       1\n"
	"Latest checkpoint's PrevTimeLineID:   1\n"
	"Latest checkpoint's full_page_writes: on\n"
	"Latest checkpoint's NextXID:          0:724\n"
	"Latest checkpoint's NextOID:          13572\n"
	"Latest checkpoint's NextMultiXactId:  1\n"
	"Latest checkpoint's NextMultiOffset:  0\n"
	"Latest checkpoint's oldestXID:        716\n"
	"Latest checkpoint's oldestXID's DB:   1\n"
	"Latest checkpoint's oldestActiveXID:  0\n"
	"Latest checkpoint's oldestMultiXid:   1\n"
	"Latest checkpoint's oldestMulti's DB: 1\n"
	"Latest checkpoint's oldestCommitTsXid:0\n"
	"Latest checkpoint's newestCommitTsXid:0\n"
	"Time of latest checkpoint:            Thu Nov 26 00:37:17 2026\n"
	"Fake LSN counter for unlogged rels:   0/3E8\n"
	"Minimum recovery ending location:     0/2000150\n"
	"Min recovery ending loc's timeline:   1\n"
	"Backup start location:                0/0\n"
	"Backup end location:                  0/0\n"
	"End-of-backup record required:        no\n"
	"wal_level setting:                    replica\n"
	"wal_log_hints setting:                off\n"
	"max_connections setting:              100\n"
	"max_worker_processes setting:         8\n"
	"max_wal_senders setting:              10\n"
	"max_prepared_xacts setting:           0\n"
	"max_locks_per_xact setting:           64\n"
	"track_commit_timestamp setting:       off\n"
	"Maximum data alignment:               8\n"
	"Database block size:                  8192\n"
	"Blocks per segment of large relation: 131072\n"
	"WAL block size:                       8192\n"
	"Bytes per WAL segment:                16777216\n"
	"Maximum length of identifiers:        64\n"
	"Maximum columns in an index:          32\n"
	"Maximum size of a TOAST chunk:        1996\n"
	"Size of a large-object chunk:         2048\n"
	"Date/time type storage:               64-bit integers\n"
	"Float8 argument passing:              by value\n"
	"Data page checksum version:           0\n"
	"Mock authentication nonce:            "
	"854a766162c30dedaedf6e9ebefbf2b3d1a4091221d37d18d82aaadf11460465\n";

/* text with the value on label's line replaced; malloc'ed. */
static char *with_line(const char *text, const char *label, const char *value)
{
	const char *at = strstr(text, label);
	ck_assert_ptr_nonnull(at);
	const char *eol = strchr(at, '\n');
	size_t head = (size_t)(at - text), len = strlen(text);
	char *out = malloc(len + strlen(label) + strlen(value) + 64);
	ck_assert_ptr_nonnull(out);
	memcpy(out, text, head);
	sprintf(out + head, "%s:%*s%s%s", label, (int)(38 - strlen(label) - 1),
		"", value, eol);
	return out;
}

START_TEST(parses_clean_primary)
{
	struct controldata cd;
	char err[256] = "";
	ck_assert_msg(controldata_parse(shut_down, &cd, err, sizeof(err)), "%s",
		      err);
	ck_assert_int_eq(cd.state, CD_SHUT_DOWN);
	ck_assert_uint_eq(cd.system_identifier, 7712272783765845575ULL);
	ck_assert_uint_eq(cd.checkpoint_lsn, 0x1500718);
	ck_assert_uint_eq(cd.redo_lsn, 0x1500718);
	ck_assert_uint_eq(cd.timeline, 1);
	ck_assert_uint_eq(cd.prev_timeline, 1);
	ck_assert_uint_eq(cd.min_recovery_end_lsn, 0);
	ck_assert_uint_eq(cd.min_recovery_end_tli, 0);
	ck_assert(cd.full_page_writes);
	ck_assert(!cd.wal_log_hints);
	ck_assert_uint_eq(cd.checksum_version, 0);
	ck_assert_uint_eq(cd.wal_segment_size, 16777216);
	ck_assert(controldata_was_primary(&cd));
	ck_assert(controldata_clean(&cd));
	ck_assert_str_eq(controldata_state_name(cd.state), "shut down");
}
END_TEST

START_TEST(parses_clean_standby)
{
	struct controldata cd;
	char err[256] = "";
	ck_assert_msg(controldata_parse(shut_down_in_recovery, &cd, err,
					sizeof(err)),
		      "%s", err);
	ck_assert_int_eq(cd.state, CD_SHUT_DOWN_IN_RECOVERY);
	ck_assert_uint_eq(cd.checkpoint_lsn, 0x20000D8);
	ck_assert_uint_eq(cd.redo_lsn, 0x20000D8);
	ck_assert_uint_eq(cd.min_recovery_end_lsn, 0x2000150);
	ck_assert_uint_eq(cd.min_recovery_end_tli, 1);
	ck_assert(!controldata_was_primary(&cd));
	ck_assert(controldata_clean(&cd));
}
END_TEST

/* The settings a hot standby must match: those of the primary whose WAL
 * it replays, as pg_controldata of the standby's own directory shows. */
START_TEST(hot_standby_settings)
{
	struct controldata cd;
	char err[256] = "";
	ck_assert(controldata_parse(shut_down, &cd, err, sizeof(err)));
	ck_assert_uint_eq(cd.max_connections, 100);
	ck_assert_uint_eq(cd.max_worker_processes, 8);
	ck_assert_uint_eq(cd.max_wal_senders, 10);
	ck_assert_uint_eq(cd.max_prepared_xacts, 0);
	ck_assert_uint_eq(cd.max_locks_per_xact, 64);
	char *t = with_line(shut_down_in_recovery, "max_connections setting",
			    "150");
	ck_assert_msg(controldata_parse(t, &cd, err, sizeof(err)), "%s", err);
	ck_assert_uint_eq(cd.max_connections, 150);
	free(t);
	t = with_line(shut_down, "max_locks_per_xact setting", "many");
	ck_assert(!controldata_parse(t, &cd, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "max_locks_per_xact setting"));
	free(t);
}
END_TEST

START_TEST(running_primary_and_standby)
{
	struct controldata cd;
	char err[256] = "";
	char *prod = with_line(shut_down, "Database cluster state",
			       "in production");
	ck_assert_msg(controldata_parse(prod, &cd, err, sizeof(err)), "%s",
		      err);
	ck_assert_int_eq(cd.state, CD_IN_PRODUCTION);
	ck_assert(controldata_was_primary(&cd));
	ck_assert(!controldata_clean(&cd));
	free(prod);

	char *rec = with_line(shut_down_in_recovery, "Database cluster state",
			      "in archive recovery");
	ck_assert(controldata_parse(rec, &cd, err, sizeof(err)));
	ck_assert_int_eq(cd.state, CD_IN_ARCHIVE_RECOVERY);
	ck_assert(!controldata_was_primary(&cd));
	ck_assert(!controldata_clean(&cd));
	free(rec);
}
END_TEST

START_TEST(every_state_word)
{
	static const struct {
		const char *text;
		enum controldata_state state;
	} cases[] = {
		{ "starting up", CD_STARTING },
		{ "shut down", CD_SHUT_DOWN },
		{ "shut down in recovery", CD_SHUT_DOWN_IN_RECOVERY },
		{ "shutting down", CD_SHUTTING_DOWN },
		{ "in crash recovery", CD_IN_CRASH_RECOVERY },
		{ "in archive recovery", CD_IN_ARCHIVE_RECOVERY },
		{ "in production", CD_IN_PRODUCTION },
		{ "unrecognized status code", CD_UNKNOWN },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct controldata cd;
		char err[256] = "";
		char *t = with_line(shut_down, "Database cluster state",
				    cases[i].text);
		ck_assert_msg(controldata_parse(t, &cd, err, sizeof(err)),
			      "%s: %s", cases[i].text, err);
		ck_assert_int_eq(cd.state, cases[i].state);
		if (cases[i].state != CD_UNKNOWN)
			ck_assert_str_eq(controldata_state_name(cd.state),
					 cases[i].text);
		ck_assert(controldata_clean(&cd) ==
			  (cd.state == CD_SHUT_DOWN ||
			   cd.state == CD_SHUT_DOWN_IN_RECOVERY));
		free(t);
	}
}
END_TEST

START_TEST(large_lsn_and_timeline)
{
	struct controldata cd;
	char err[256] = "";
	char *a = with_line(shut_down, "Latest checkpoint location",
			    "16/B374D848");
	char *b = with_line(a, "Latest checkpoint's TimeLineID", "4294967295");
	ck_assert_msg(controldata_parse(b, &cd, err, sizeof(err)), "%s", err);
	ck_assert_uint_eq(cd.checkpoint_lsn, 0x16B374D848ULL);
	ck_assert_uint_eq(cd.timeline, 4294967295U);
	free(a);
	free(b);
}
END_TEST

START_TEST(crlf_lines)
{
	/* Output captured on another system may carry \r\n. */
	char text[sizeof(shut_down) * 2], *o = text;
	for (const char *p = shut_down; *p; p++) {
		if (*p == '\n')
			*o++ = '\r';
		*o++ = *p;
	}
	*o = '\0';
	struct controldata cd;
	char err[256] = "";
	ck_assert_msg(controldata_parse(text, &cd, err, sizeof(err)), "%s",
		      err);
	ck_assert_uint_eq(cd.checkpoint_lsn, 0x1500718);
	ck_assert_uint_eq(cd.timeline, 1);
}
END_TEST

START_TEST(refuses_malformed)
{
	struct controldata cd;
	char err[256];
	static const struct {
		const char *label, *value;
	} bad[] = {
		{ "Latest checkpoint location", "0-1500718" },
		{ "Latest checkpoint location", "0/" },
		{ "Latest checkpoint location", "123456789/0" },
		{ "Latest checkpoint location", "0/1500718x" },
		{ "Latest checkpoint's TimeLineID", "-1" },
		{ "Latest checkpoint's TimeLineID", "4294967296" },
		{ "Latest checkpoint's TimeLineID", "" },
		{ "Database system identifier", "18446744073709551616" },
		{ "Minimum recovery ending location", "zz/0" },
		{ "wal_log_hints setting", "maybe" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = with_line(shut_down, bad[i].label, bad[i].value);
		err[0] = '\0';
		ck_assert_msg(!controldata_parse(t, &cd, err, sizeof(err)),
			      "%s: %s accepted", bad[i].label, bad[i].value);
		ck_assert_msg(strstr(err, bad[i].label) != NULL, "%s", err);
		free(t);
	}
}
END_TEST

START_TEST(refuses_missing_lines)
{
	struct controldata cd;
	char err[256] = "";
	ck_assert(!controldata_parse("", &cd, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "LC_ALL=C"));
	ck_assert(!controldata_parse(NULL, &cd, err, sizeof(err)));
	ck_assert(!controldata_parse("pg_controldata: fatal: could not open "
				     "file \"x/global/pg_control\"\n",
				     &cd, err, sizeof(err)));
	/* A translated output (LANG not C) has none of the labels. */
	ck_assert(!controldata_parse("Zustand des Datenbanksystems: "
				     "heruntergefahren\n",
				     &cd, err, sizeof(err)));
	/* Each required line on its own. */
	static const char *const required[] = {
		"Database system identifier",
		"Database cluster state",
		"Latest checkpoint location",
		"Latest checkpoint's REDO location",
		"Latest checkpoint's TimeLineID",
		"Minimum recovery ending location",
		"Min recovery ending loc's timeline",
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		char *t = strdup(shut_down);
		char *at = strstr(t, required[i]);
		ck_assert_ptr_nonnull(at);
		at[0] = 'X'; /* the label is no longer recognised */
		ck_assert(!controldata_parse(t, &cd, err, sizeof(err)));
		ck_assert_msg(strstr(err, required[i] + 1) != NULL, "%s", err);
		free(t);
	}
	/* Truncated in the middle of the output. */
	char half[sizeof(shut_down)];
	memcpy(half, shut_down, 300);
	half[300] = '\0';
	ck_assert(!controldata_parse(half, &cd, err, sizeof(err)));
}
END_TEST

START_TEST(lsn_parser)
{
	uint64_t v = 1;
	ck_assert(pg_lsn_parse("0/0", &v));
	ck_assert_uint_eq(v, 0);
	ck_assert(pg_lsn_parse("16/B374D848", &v));
	ck_assert_uint_eq(v, 0x16B374D848ULL);
	ck_assert(pg_lsn_parse("ffffffff/FFFFFFFF", &v));
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert(!pg_lsn_parse(NULL, &v));
	ck_assert(!pg_lsn_parse("", &v));
	ck_assert(!pg_lsn_parse("/0", &v));
	ck_assert(!pg_lsn_parse("0/", &v));
	ck_assert(!pg_lsn_parse("0/0/0", &v));
	ck_assert(!pg_lsn_parse(" 0/0", &v));
	ck_assert(!pg_lsn_parse("0/0 ", &v));
	ck_assert(!pg_lsn_parse("100000000/0", &v));
	ck_assert(!pg_lsn_parse("0/-1", &v));
	ck_assert(!pg_lsn_parse("0x1/0", &v));
}
END_TEST

Suite *controldata_suite(void)
{
	Suite *s = suite_create("controldata");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, parses_clean_primary);
	tcase_add_test(tc, parses_clean_standby);
	tcase_add_test(tc, running_primary_and_standby);
	tcase_add_test(tc, hot_standby_settings);
	tcase_add_test(tc, every_state_word);
	tcase_add_test(tc, large_lsn_and_timeline);
	tcase_add_test(tc, crlf_lines);
	tcase_add_test(tc, refuses_malformed);
	tcase_add_test(tc, refuses_missing_lines);
	tcase_add_test(tc, lsn_parser);
	suite_add_tcase(s, tc);
	return s;
}
