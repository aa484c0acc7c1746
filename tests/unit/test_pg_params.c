/*
 * test_pg_params.c — Postgres parameters and pg_hba lines in the scope
 * settings (fencing/pg_params.h): the syntax, merging with a node's own
 * file, the hot-standby floor, and the checks against pg_settings rows
 * with the server's wording.
 */
#include <check.h>
#include <string.h>

#include "fencing/pg_params.h"
#include "fencing/scope_conf.h"
#include "tests/unit/suites.h"

static char err[512];

/* Rows as PostgreSQL 15's pg_settings has them. */
static const struct pg_setting_def work_mem = { "work_mem", "integer",    "kB",
						"64",       "2147483647", "",
						"user" };
static const struct pg_setting_def max_connections = {
	"max_connections", "integer", "", "1", "262143", "", "postmaster"
};
static const struct pg_setting_def shared_buffers = {
	"shared_buffers", "integer", "8kB", "16", "1073741823", "", "postmaster"
};
static const struct pg_setting_def timeout = {
	"statement_timeout", "integer", "ms", "0", "2147483647", "", "user"
};
static const struct pg_setting_def fsync_def = { "fsync", "bool", "",      "",
						 "",      "",     "sighup" };
static const struct pg_setting_def wal_level = {
	"wal_level", "enum", "", "", "", "{minimal,replica,logical}",
	"postmaster"
};
static const struct pg_setting_def fraction = {
	"checkpoint_completion_target", "real", "", "0", "1", "", "sighup"
};

START_TEST(scope_text_holds_pg_lines)
{
	struct scope_conf c;
	const char *text = "synchronous_mode = off\n"
			   "pg.work_mem = 8MB\n"
			   "PG.Max_Connections = '150'  # restart\n"
			   "pg_hba = 'host all all 10.0.0.0/8 scram-sha-256'\n"
			   "pg_hba = 'local all all peer'\n";
	ck_assert_int_eq(scope_conf_parse(text, strlen(text), "S/config", &c,
					  err, sizeof(err)),
			 0);
	ck_assert(c.set[SCOPE_SYNCHRONOUS_MODE]);
	ck_assert_uint_eq(c.pg.n, 2);
	ck_assert_str_eq(pg_params_get(&c.pg, "work_mem"), "8MB");
	ck_assert_str_eq(pg_params_get(&c.pg, "max_connections"), "150");
	ck_assert_uint_eq(c.pg.n_hba, 2);
	ck_assert_str_eq(c.pg.hba[1], "local all all peer");

	char buf[2048];
	ck_assert(scope_conf_format(&c, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "synchronous_mode = off\n"
			      "pg.work_mem = '8MB'\n"
			      "pg.max_connections = '150'\n"
			      "pg_hba = 'host all all 10.0.0.0/8 "
			      "scram-sha-256'\n"
			      "pg_hba = 'local all all peer'\n");
	struct scope_conf back;
	ck_assert_int_eq(scope_conf_parse(buf, strlen(buf), "S/config", &back,
					  err, sizeof(err)),
			 0);
	ck_assert(pg_params_equal(&c.pg, &back.pg));
}
END_TEST

START_TEST(errors_keep_line_numbers)
{
	struct scope_conf c;
	const char *t1 = "pg.work_mem = 8MB\nlease_tt = 3s\n";
	ck_assert_int_eq(scope_conf_parse(t1, strlen(t1), "S/config", &c, err,
					  sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, "S/config:2: unrecognized configuration "
				  "parameter \"lease_tt\""),
		      "%s", err);
	const char *t2 = "\npg_hba = 'hots all all 1.2.3.4/32 trust'\n";
	ck_assert_int_eq(scope_conf_parse(t2, strlen(t2), "S/config", &c, err,
					  sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, "S/config:2: pg_hba") &&
			      strstr(err, "invalid connection type \"hots\""),
		      "%s", err);
	const char *t3 = "pg.work_mem\n";
	ck_assert_int_eq(scope_conf_parse(t3, strlen(t3), "S/config", &c, err,
					  sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, "missing value"), "%s", err);
	const char *t4 = "pg.work-mem = 1\n";
	ck_assert_int_eq(scope_conf_parse(t4, strlen(t4), "S/config", &c, err,
					  sizeof(err)),
			 -1);
}
END_TEST

/* trust beyond loopback is refused (anyone on the network could log in
 * without a password); on loopback, and other methods, it is taken. */
START_TEST(hba_trust_only_on_loopback)
{
	static const char *const refused[] = {
		"host all all 10.0.0.0/8 trust",
		"hostssl all all 0.0.0.0/0 trust",
		"host replication all 10.0.0.5 255.255.255.255 trust",
		"host all all samehost trust",
	};
	static const char *const taken[] = {
		"host all all 127.0.0.1/32 trust",
		"host all all ::1/128 trust",
		"host all all 127.0.0.1 255.255.255.255 trust",
		"host all all 10.0.0.0/8 scram-sha-256",
		"local all all trust",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ck_assert_int_eq(pg_hba_line_check(refused[i], err,
						   sizeof(err)),
				 -1);
		ck_assert_msg(strstr(err, "scram-sha-256"), "%s", err);
	}
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		ck_assert_msg(pg_hba_line_check(taken[i], err, sizeof(err)) ==
				      0,
			      "%s: %s", taken[i], err);
}
END_TEST

START_TEST(set_adds_and_removes)
{
	struct scope_conf c;
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(scope_conf_assign(&c, "pg.work_mem=4MB", err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c, "pg.work_mem = 16MB", err,
					   sizeof(err)),
			 0);
	ck_assert_str_eq(pg_params_get(&c.pg, "work_mem"), "16MB");
	ck_assert_int_eq(scope_conf_assign(&c,
					   "pg_hba=host all all ::1/128 "
					   "trust",
					   err, sizeof(err)),
			 0);
	ck_assert_uint_eq(c.pg.n_hba, 1);
	ck_assert_int_eq(scope_conf_assign(&c, "pg.work_mem=", err,
					   sizeof(err)),
			 0);
	ck_assert_uint_eq(c.pg.n, 0);
	ck_assert_int_eq(scope_conf_assign(&c, "pg_hba=", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.pg.n_hba, 0);
}
END_TEST

START_TEST(node_file_wins_and_standby_floor)
{
	struct pg_params scope, node, out, primary;
	memset(&scope, 0, sizeof(scope));
	memset(&node, 0, sizeof(node));
	memset(&primary, 0, sizeof(primary));
	pg_params_set(&scope, "work_mem", "8MB", err, sizeof(err));
	pg_params_set(&scope, "max_connections", "50", err, sizeof(err));
	pg_params_set(&node, "work_mem", "64MB", err, sizeof(err));
	pg_params_merge(&out, &scope, &node);
	ck_assert_str_eq(pg_params_get(&out, "work_mem"), "64MB");
	ck_assert_str_eq(pg_params_get(&out, "max_connections"), "50");

	char raised[256];
	/* lowering: the standby keeps the primary's 100 until it restarts */
	pg_params_set(&primary, "max_connections", "100", err, sizeof(err));
	pg_params_set(&primary, "max_wal_senders", "10", err, sizeof(err));
	pg_params_floor(&out, &primary, raised, sizeof(raised));
	ck_assert_str_eq(pg_params_get(&out, "max_connections"), "100");
	ck_assert_ptr_null(pg_params_get(&out, "max_wal_senders"));
	ck_assert_str_eq(raised, "max_connections=100");
	/* raising: the standby's own higher value stays */
	pg_params_set(&out, "max_connections", "200", err, sizeof(err));
	pg_params_floor(&out, &primary, raised, sizeof(raised));
	ck_assert_str_eq(pg_params_get(&out, "max_connections"), "200");
	ck_assert(!pg_param_hot_standby_critical("work_mem"));
}
END_TEST

static const char *check(const struct pg_setting_def *d, const char *name,
			 const char *v)
{
	if (pg_param_check(d, name, v, err, sizeof(err)) == 0)
		return "ok";
	return err;
}

START_TEST(checks_speak_like_the_server)
{
	ck_assert_str_eq(check(NULL, "wrok_mem", "1"),
			 "unrecognized configuration parameter \"wrok_mem\"");
	ck_assert_str_eq(check(&work_mem, "work_mem", "8MB"), "ok");
	ck_assert_str_eq(check(&work_mem, "work_mem", "1GB"), "ok");
	ck_assert_str_eq(check(&work_mem, "work_mem", "0.5MB"), "ok");
	ck_assert_str_eq(check(&work_mem, "work_mem", "4096"), "ok");
	ck_assert_str_eq(check(&work_mem, "work_mem", "8XB"),
			 "invalid value for parameter \"work_mem\": \"8XB\"; "
			 "HINT: Valid "
			 "units for this parameter are \"B\", \"kB\", \"MB\", "
			 "\"GB\", "
			 "and \"TB\".");
	ck_assert_str_eq(check(&work_mem, "work_mem", "32kB"),
			 "32 kB is outside the valid range for parameter "
			 "\"work_mem\" (64 .. 2147483647)");
	ck_assert_str_eq(check(&max_connections, "max_connections", "0"),
			 "0 is outside the valid range for parameter "
			 "\"max_connections\" (1 .. 262143)");
	ck_assert_str_eq(check(&max_connections, "max_connections", "10MB"),
			 "invalid value for parameter \"max_connections\": "
			 "\"10MB\"");
	ck_assert_str_eq(check(&shared_buffers, "shared_buffers", "64kB"),
			 "8 8kB is outside the valid range for parameter "
			 "\"shared_buffers\" (16 .. 1073741823)");
	ck_assert_str_eq(check(&shared_buffers, "shared_buffers", "256MB"),
			 "ok");
	ck_assert_str_eq(check(&timeout, "statement_timeout", "1min"), "ok");
	ck_assert_msg(strstr(check(&timeout, "statement_timeout", "5MB"),
			     "\"us\", \"ms\", \"s\", \"min\", \"h\", and "
			     "\"d\""),
		      "%s", err);
	ck_assert_str_eq(check(&fsync_def, "fsync", "of"), "ok");
	ck_assert_str_eq(check(&fsync_def, "fsync", "maybe"),
			 "parameter \"fsync\" requires a Boolean value");
	ck_assert_str_eq(check(&wal_level, "wal_level", "Logical"), "ok");
	ck_assert_str_eq(check(&wal_level, "wal_level", "archive"),
			 "invalid value for parameter \"wal_level\": "
			 "\"archive\"; HINT: Available values: minimal, "
			 "replica, logical.");
	ck_assert_str_eq(check(&fraction, "checkpoint_completion_target",
			       "0.9"),
			 "ok");
	ck_assert_str_eq(check(&fraction, "checkpoint_completion_target", "2"),
			 "2 is outside the valid range for parameter "
			 "\"checkpoint_completion_target\" (0 .. 1)");
}
END_TEST

START_TEST(hba_lines_need_their_fields)
{
	ck_assert_int_eq(pg_hba_line_check("local all all peer", err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(pg_hba_line_check("host all all trust", err,
					   sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, "too few fields"), "%s", err);
}
END_TEST

Suite *pg_params_suite(void)
{
	Suite *s = suite_create("pg_params");
	TCase *t = tcase_create("core");
	tcase_add_test(t, scope_text_holds_pg_lines);
	tcase_add_test(t, errors_keep_line_numbers);
	tcase_add_test(t, hba_trust_only_on_loopback);
	tcase_add_test(t, set_adds_and_removes);
	tcase_add_test(t, node_file_wins_and_standby_floor);
	tcase_add_test(t, checks_speak_like_the_server);
	tcase_add_test(t, hba_lines_need_their_fields);
	suite_add_tcase(s, t);
	return s;
}
