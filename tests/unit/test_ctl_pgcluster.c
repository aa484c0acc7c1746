/* test_ctl_pgcluster.c — what `tenurectl cluster list` and `cluster
 * history` print (ctl/ctl_pgoutput.c): the exact table and JSON; and
 * `cluster topology` and `cluster dsn` (ctl/ctl_pgtopo.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/ctl_pg.h"
#include "tests/unit/mem_out.h"
#include "tests/unit/suites.h"

static void three(struct member *m)
{
	memset(m, 0, 3 * sizeof(*m));
	strcpy(m[0].name, "pg3");
	m[0].role = MEMBER_REPLICA;
	strcpy(m[0].state, "streaming");
	strcpy(m[0].pg, "10.0.0.3:5432");
	strcpy(m[0].api, "10.0.0.3:8008");
	m[0].timeline = 2;
	m[0].lag_bytes = 3u << 20;
	m[0].healthy = true;
	strcpy(m[1].name, "pg1");
	m[1].role = MEMBER_PRIMARY;
	strcpy(m[1].state, "running");
	strcpy(m[1].pg, "10.0.0.1:5432");
	m[1].timeline = 2;
	m[1].healthy = true;
	strcpy(m[2].name, "pg2");
	m[2].role = MEMBER_REPLICA;
	strcpy(m[2].state, "streaming");
	strcpy(m[2].pg, "10.0.0.2:5432");
	m[2].timeline = 2;
	m[2].lag_bytes = 400000; /* rounds to 0 MB */
	for (int i = 0; i < 3; i++)
		m[i].priority = MEMBER_DEFAULT_PRIORITY; /* no tags */
}

START_TEST(test_list_table)
{
	struct member m[3];
	struct mem out;
	three(m);
	struct ctl_pg_list l = { "main", "pg1", 42, false, "pg2", m, 3 };
	mem_open(&out);
	ctl_pg_print_list(out.f, CTL_TABLE, &l);
	mem_expect(&out,
		   "Cluster: main (leader pg1, token 42)\n"
		   "MEMBER  HOST           ROLE            STATE      TL  "
		   "LAG_MB\n"
		   "pg1     10.0.0.1:5432  primary         running    2   -\n"
		   "pg2     10.0.0.2:5432  replica (sync)  streaming  2   0\n"
		   "pg3     10.0.0.3:5432  replica         streaming  2   3\n");
}
END_TEST

START_TEST(test_list_no_leader_paused)
{
	struct member m[3];
	struct mem out;
	three(m);
	struct ctl_pg_list l = { "main", "", 0, true, "", m, 3 };
	mem_open(&out);
	ctl_pg_print_list(out.f, CTL_TABLE, &l);
	mem_expect(&out,
		   "Cluster: main (no leader) [paused: maintenance mode]\n"
		   "MEMBER  HOST           ROLE      STATE      TL  LAG_MB\n"
		   "pg1     10.0.0.1:5432  demoting  running    2   0\n"
		   "pg2     10.0.0.2:5432  replica   streaming  2   0\n"
		   "pg3     10.0.0.3:5432  replica   streaming  2   3\n");
}
END_TEST

START_TEST(test_list_json)
{
	struct member m[3];
	struct mem out;
	three(m);
	struct ctl_pg_list l = { "main", "pg1", 42, false, "", m, 3 };
	mem_open(&out);
	ctl_pg_print_list(out.f, CTL_JSON, &l);
	mem_expect(&out,
		   "[{\"name\":\"pg1\",\"role\":\"primary\",\"state\":"
		   "\"running\","
		   "\"timeline\":2,\"lag_bytes\":0,\"sync\":false,\"healthy\":"
		   "true,"
		   "\"api\":\"\",\"host\":\"10.0.0.1:5432\",\"tags\":{},"
		   "\"pending_restart\":false,"
		   "\"lease_token\":42}"
		   ","
		   "{\"name\":\"pg2\",\"role\":\"replica\",\"state\":"
		   "\"streaming\","
		   "\"timeline\":2,\"lag_bytes\":400000,\"sync\":false,"
		   "\"healthy\":false,\"api\":\"\",\"host\":\"10.0.0.2:5432\","
		   "\"tags\":{},\"pending_restart\":false},"
		   "{\"name\":\"pg3\",\"role\":\"replica\",\"state\":"
		   "\"streaming\","
		   "\"timeline\":2,\"lag_bytes\":3145728,\"sync\":false,"
		   "\"healthy\":true,\"api\":\"10.0.0.3:8008\",\"host\":"
		   "\"10.0.0.3:5432\",\"tags\":{},\"pending_restart\":false}]"
		   "\n");
}
END_TEST

/* Every tag shows: a Tags column (only when some member has one), a
 * "tags" object and the real upstream in JSON. */
START_TEST(test_list_tags)
{
	struct member m[3];
	struct mem out;
	three(m);
	m[0].nofailover = true; /* pg3 */
	m[0].priority = 5;
	m[0].nosync = true;
	strcpy(m[0].upstream, "pg2");
	strcpy(m[0].replicatefrom, "pg2");
	m[2].noloadbalance = m[2].clonefrom = true; /* pg2 */
	struct ctl_pg_list l = { "main", "pg1", 42, false, "", m, 3 };
	mem_open(&out);
	ctl_pg_print_list(out.f, CTL_TABLE, &l);
	mem_expect(&out,
		   "Cluster: main (leader pg1, token 42)\n"
		   "MEMBER  HOST           ROLE     STATE      TL  LAG_MB  "
		   "TAGS\n"
		   "pg1     10.0.0.1:5432  primary  running    2   -       "
		   "-\n"
		   "pg2     10.0.0.2:5432  replica  streaming  2   0       "
		   "noloadbalance,clonefrom\n"
		   "pg3     10.0.0.3:5432  replica  streaming  2   3       "
		   "nofailover,priority=5,nosync,replicatefrom=pg2\n");
	mem_open(&out);
	ctl_pg_print_list(out.f, CTL_JSON, &l);
	fclose(out.f);
	ck_assert_ptr_nonnull(strstr(out.buf, "\"upstream\":\"pg2\",\"tags\":{"
					      "\"nofailover\":true,"
					      "\"failover_priority\":5,"
					      "\"nosync\":true,"
					      "\"replicatefrom\":\"pg2\"}"));
	ck_assert_ptr_nonnull(strstr(out.buf, "\"tags\":{\"noloadbalance\":"
					      "true,\"clonefrom\":true}"));
	free(out.buf);
}
END_TEST

START_TEST(test_list_holder_without_record)
{
	struct member m[3];
	struct mem out;
	three(m);
	struct ctl_pg_list l = { "main", "pg9", 7, false, "", m, 3 };
	mem_open(&out);
	ctl_pg_print_list(out.f, CTL_JSON, &l);
	fclose(out.f);
	ck_assert_ptr_nonnull(strstr(out.buf, "{\"name\":\"pg9\",\"role\":"
					      "\"primary\",\"state\":\"no "
					      "record\""));
	ck_assert_ptr_nonnull(strstr(out.buf, "\"lease_token\":7}]"));
	ck_assert_ptr_nonnull(strstr(out.buf, "{\"name\":\"pg1\",\"role\":"
					      "\"demoting\""));
	free(out.buf);
	/* empty: just the header */
	struct ctl_pg_list empty = { "s", "", 0, false, "", NULL, 0 };
	mem_open(&out);
	ctl_pg_print_list(out.f, CTL_JSON, &empty);
	mem_expect(&out, "[]\n");
}
END_TEST

START_TEST(test_event_decode)
{
	struct ctl_pg_event e;
	char err[128];
	const char *j = "{\"time_ms\":1714564800123,\"old\":\"pg1\",\"new\":"
			"\"pg2\",\"reason\":\"switchover\",\"token\":42,"
			"\"unavailable_ms\":1234,\"extra\":[1]}";
	ck_assert(!ctl_pg_event_decode(j, strlen(j), &e, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "nested"));
	j = "{\"time_ms\":1714564800123,\"old\":null,\"new\":\"pg2\","
	    "\"reason\":\"failover\",\"token\":42,\"unavailable_ms\":1234,"
	    "\"extra\":1}";
	ck_assert_msg(ctl_pg_event_decode(j, strlen(j), &e, err, sizeof(err)),
		      "%s", err);
	ck_assert_uint_eq(e.time_ms, 1714564800123ull);
	ck_assert_str_eq(e.old, "");
	ck_assert_str_eq(e.new_name, "pg2");
	ck_assert_str_eq(e.reason, "failover");
	ck_assert_uint_eq(e.token, 42);
	ck_assert_uint_eq(e.unavailable_ms, 1234);
	j = "{\"token\":\"42\"}";
	ck_assert(!ctl_pg_event_decode(j, strlen(j), &e, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "\"token\" must be a number"));
}
END_TEST

START_TEST(test_history_output)
{
	struct ctl_pg_event e[2];
	struct mem out;
	char buf[40];
	memset(e, 0, sizeof(e));
	e[0].time_ms = 1714564800123ull;
	strcpy(e[0].new_name, "pg1");
	strcpy(e[0].reason, "bootstrap");
	e[0].token = 5;
	e[1].time_ms = 1714564860000ull;
	strcpy(e[1].old, "pg1");
	strcpy(e[1].new_name, "pg2");
	strcpy(e[1].reason, "switchover");
	e[1].token = 42;
	e[1].unavailable_ms = 1234;
	ck_assert_str_eq(ctl_pg_iso_time(0, buf, sizeof(buf)),
			 "1970-01-01T00:00:00.000Z");
	mem_open(&out);
	ctl_pg_print_history(out.f, CTL_TABLE, e, 2);
	mem_expect(&out,
		   "TIME                      OLD  NEW  REASON      TOKEN  "
		   "UNAVAILABLE_S\n"
		   "2024-05-01T12:00:00.123Z  -    pg1  bootstrap   5      "
		   "0.00\n"
		   "2024-05-01T12:01:00.000Z  pg1  pg2  switchover  42     "
		   "1.23\n");
	mem_open(&out);
	ctl_pg_print_history(out.f, CTL_JSON, e, 2);
	mem_expect(&out,
		   "[{\"time_ms\":1714564800123,\"time\":\"2024-05-01T12:00:"
		   "00.123Z\",\"old\":null,\"new\":\"pg1\",\"reason\":"
		   "\"bootstrap\",\"token\":5,\"unavailable_ms\":0},"
		   "{\"time_ms\":1714564860000,\"time\":\"2024-05-01T12:01:"
		   "00.000Z\",\"old\":\"pg1\",\"new\":\"pg2\",\"reason\":"
		   "\"switchover\",\"token\":42,\"unavailable_ms\":1234}]\n");
}
END_TEST

/* pg3 cascades from pg2 (its "upstream"); pg2 and a lost pg4 from
 * pg1, pg4 naming a member that is gone */
static void cascade(struct member *m)
{
	three(m);
	strcpy(m[0].upstream, "pg2");
	strcpy(m[2].upstream, "pg1");
	memset(&m[3], 0, sizeof(m[3]));
	strcpy(m[3].name, "pg4");
	m[3].role = MEMBER_REPLICA;
	strcpy(m[3].state, "streaming");
	strcpy(m[3].pg, "[::1]:5433");
	strcpy(m[3].upstream, "pg9");
}

START_TEST(test_topology_table)
{
	struct member m[4];
	struct mem out;
	cascade(m);
	struct ctl_pg_list l = { "main", "pg1", 42, false, "pg2", m, 4 };
	mem_open(&out);
	ctl_pg_print_topology(out.f, CTL_TABLE, &l);
	mem_expect(&out, "Cluster: main (leader pg1)\n"
			 "MEMBER   HOST           ROLE     STATE      LAG_MB\n"
			 "pg1      10.0.0.1:5432  primary  running    -\n"
			 "+ pg2    10.0.0.2:5432  replica  streaming  0\n"
			 "  + pg3  10.0.0.3:5432  replica  streaming  3\n"
			 "pg4      [::1]:5433     replica  streaming  0\n");
}
END_TEST

START_TEST(test_topology_json_and_loop)
{
	struct member m[4];
	struct mem out;
	cascade(m);
	/* a loop (pg2 <- pg3 <- pg2) must not hide them: it is cut at the
	 * first by name, which becomes a root */
	strcpy(m[2].upstream, "pg3");
	struct ctl_pg_list l = { "main", "pg1", 42, false, "", m, 4 };
	mem_open(&out);
	ctl_pg_print_topology(out.f, CTL_JSON, &l);
	mem_expect(&out,
		   "[{\"name\":\"pg1\",\"role\":\"primary\",\"state\":"
		   "\"running\",\"host\":\"10.0.0.1:5432\",\"lag_bytes\":0,"
		   "\"replicas\":[]},"
		   "{\"name\":\"pg2\",\"role\":\"replica\",\"state\":"
		   "\"streaming\",\"host\":\"10.0.0.2:5432\",\"lag_bytes\":"
		   "400000,\"replicas\":["
		   "{\"name\":\"pg3\",\"role\":\"replica\",\"state\":"
		   "\"streaming\",\"host\":\"10.0.0.3:5432\",\"lag_bytes\":"
		   "3145728,\"replicas\":[]}]},"
		   "{\"name\":\"pg4\",\"role\":\"replica\",\"state\":"
		   "\"streaming\",\"host\":\"[::1]:5433\",\"lag_bytes\":0,"
		   "\"replicas\":[]}]\n");
}
END_TEST

START_TEST(test_dsn)
{
	struct member m[4];
	char buf[256];
	cascade(m);
	struct ctl_pg_list l = { "main", "pg1", 42, false, "", m, 4 };
	const struct member *p = ctl_pg_dsn_member(&l, NULL, "primary");
	ck_assert_str_eq(p->name, "pg1");
	ck_assert_str_eq(ctl_pg_dsn_format(p, NULL, NULL, buf, sizeof(buf)),
			 "host=10.0.0.1 port=5432");
	/* the healthy streaming replica with the least lag: pg2 is not
	 * healthy, pg4 is not either, pg3 is */
	const struct member *r = ctl_pg_dsn_member(&l, NULL, "replica");
	ck_assert_str_eq(r->name, "pg3");
	m[2].healthy = true;
	ck_assert_str_eq(ctl_pg_dsn_member(&l, NULL, "replica")->name, "pg2");
	ck_assert_str_eq(ctl_pg_dsn_member(&l, "pg4", NULL)->name, "pg4");
	ck_assert_ptr_null(ctl_pg_dsn_member(&l, "pg7", NULL));
	ck_assert_str_eq(ctl_pg_dsn_format(&m[3], "app", "o'neil", buf,
					   sizeof(buf)),
			 "host=::1 port=5433 dbname=app user='o\\'neil'");
	struct ctl_pg_list none = { "main", "", 0, false, "", m, 1 };
	ck_assert_ptr_null(ctl_pg_dsn_member(&none, NULL, "primary"));
}
END_TEST

Suite *ctl_pgcluster_suite(void)
{
	Suite *s = suite_create("ctl_pgcluster");
	TCase *t = tcase_create("output");
	tcase_add_test(t, test_list_table);
	tcase_add_test(t, test_list_no_leader_paused);
	tcase_add_test(t, test_list_json);
	tcase_add_test(t, test_list_tags);
	tcase_add_test(t, test_list_holder_without_record);
	tcase_add_test(t, test_event_decode);
	tcase_add_test(t, test_history_output);
	tcase_add_test(t, test_topology_table);
	tcase_add_test(t, test_topology_json_and_loop);
	tcase_add_test(t, test_dsn);
	suite_add_tcase(s, t);
	return s;
}
