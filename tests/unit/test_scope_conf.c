/*
 * test_scope_conf.c — SCOPE/config (fencing/scope_conf.h): what is
 * accepted, what is refused and with which message, --set, the TTL check,
 * and the text written back.
 */
#include <check.h>
#include <string.h>

#include "fencing/scope_conf.h"
#include "fencing/spawn.h"
#include "tests/unit/suites.h"

static struct scope_conf c;
static char err[512];

static int parse(const char *text)
{
	return scope_conf_parse(text, strlen(text), "SCOPE/config", &c, err,
				sizeof(err));
}

START_TEST(parses_every_key)
{
	ck_assert_int_eq(parse("# comment\nsynchronous_mode = on\n"
			       "synchronous_node_count = 2\n"
			       "maximum_lag_on_failover = 2MB\n"
			       "lease_ttl = 5s\nrenew_interval = 1000ms"),
			 0);
	ck_assert_int_eq(c.synchronous_mode, 1);
	ck_assert_int_eq(c.synchronous_node_count, 2);
	ck_assert_int_eq(c.maximum_lag_on_failover, 2 << 20);
	ck_assert_int_eq(c.lease_ttl, 5000);
	ck_assert_int_eq(c.renew_interval, 1000);
	ck_assert(c.set[SCOPE_LEASE_TTL] && !c.set[SCOPE_MAINTENANCE_MODE]);
	ck_assert_int_eq(parse(""), 0);
	for (int i = 0; i < SCOPE_N_KEYS; i++)
		ck_assert(!c.set[i]);
}
END_TEST

START_TEST(refuses_bad_text)
{
	ck_assert_int_eq(parse("synchronous_mode = maybe"), -1);
	ck_assert_str_eq(err, "SCOPE/config:1: invalid value for parameter "
			      "\"synchronous_mode\": \"maybe\" (expected one "
			      "of: off, on)");
	ck_assert_int_eq(parse("\nlease_tll = 3s"), -1);
	ck_assert_ptr_nonnull(strstr(err, "SCOPE/config:2: unrecognized "
					  "configuration parameter "
					  "\"lease_tll\" (did you mean "
					  "\"lease_ttl\"?)"));
	ck_assert_int_eq(parse("renew_interval = 10ms"), -1);
	ck_assert_ptr_nonnull(strstr(err, "out of range"));
	ck_assert_int_eq(parse("maximum_lag_on_failover = -1"), -1);
	ck_assert_int_eq(parse("synchronous_node_count = 0"), -1);
	ck_assert_int_eq(parse("lease_ttl = 3 parsecs"), -1);
}
END_TEST

START_TEST(set_and_unset)
{
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(scope_conf_assign(&c, "synchronous-mode=on", err,
					   sizeof(err)),
			 0);
	ck_assert(c.set[SCOPE_SYNCHRONOUS_MODE] && c.synchronous_mode == 1);
	ck_assert_int_eq(scope_conf_assign(&c, "lease_ttl = 4s", err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(c.lease_ttl, 4000);
	ck_assert_int_eq(scope_conf_assign(&c, "lease_ttl=", err, sizeof(err)),
			 0);
	ck_assert(!c.set[SCOPE_LEASE_TTL]);
	ck_assert_int_eq(scope_conf_assign(&c, "synchronous_mode=sometimes",
					   err, sizeof(err)),
			 -1);
	ck_assert_int_eq(c.synchronous_mode, 1); /* unchanged */
	ck_assert_int_eq(scope_conf_assign(&c, "syncronous_mode=on", err,
					   sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "did you mean \"synchronous_mode\""));
	ck_assert_int_eq(scope_conf_assign(&c, "lease_ttl", err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "expected KEY=VALUE"));
	ck_assert_int_eq(scope_conf_assign(&c, "maintenance_mode=on", err,
					   sizeof(err)),
			 0);
	ck_assert(c.maintenance_mode);
}
END_TEST

START_TEST(ttl_must_leave_three_renewals)
{
	ck_assert_int_eq(parse("lease_ttl = 1s\nrenew_interval = 500ms"), 0);
	ck_assert_int_eq(scope_conf_check(&c, 2500, 500, 200, 300, 1000, err,
					  sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "3 x renew_interval"));
	ck_assert_int_eq(parse("lease_ttl = 10s"), 0); /* renew: the file's */
	ck_assert_int_eq(scope_conf_check(&c, 2500, 500, 200, 300, 1000, err,
					  sizeof(err)),
			 0);
	ck_assert_int_eq(parse("renew_interval = 2s"), 0); /* ttl: 2500 */
	ck_assert_int_eq(scope_conf_check(&c, 2500, 500, 200, 300, 1000, err,
					  sizeof(err)),
			 -1);
}
END_TEST

START_TEST(formats_what_it_parses)
{
	char buf[512];
	ck_assert_int_eq(parse("renew_interval=1s\nsynchronous_mode=ON\n"
			       "maximum_lag_on_failover = 1048576\n"
			       "maintenance_mode = on"),
			 0);
	ck_assert(scope_conf_format(&c, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "synchronous_mode = on\n"
			      "maximum_lag_on_failover = 1MB\n"
			      "renew_interval = 1s\n");
	struct scope_conf again = c;
	ck_assert_int_eq(parse(buf), 0);
	ck_assert_int_eq(memcmp(&again.renew_interval, &c.renew_interval,
				sizeof(c.renew_interval)),
			 0);
	ck_assert(!scope_conf_format(&c, buf, 10));
}
END_TEST

static int check(void)
{
	return scope_conf_check(&c, 2500, 500, 200, 300, 1000, err,
				sizeof(err));
}

START_TEST(replica_methods_in_order)
{
	enum replica_method m[REPLICA_N_METHODS];
	ck_assert_int_eq(parse("create_replica_methods = 'pgbackrest, "
			       "basebackup'\npgbackrest_stanza = main\n"
			       "pgbackrest_config = /etc/pgbr.conf # c\n"
			       "lease_ttl = 5s"),
			 0);
	ck_assert_int_eq(check(), 0);
	ck_assert_uint_eq(replica_methods(&c.replica, m), 2);
	ck_assert_int_eq(m[0], REPLICA_PGBACKREST);
	ck_assert_int_eq(m[1], REPLICA_BASEBACKUP);
	ck_assert_str_eq(c.replica.stanza, "main");
	ck_assert_str_eq(c.replica.config, "/etc/pgbr.conf");
	ck_assert_int_eq(c.lease_ttl, 5000);
	char cmd[300];
	ck_assert(replica_restore_command(&c.replica, "/d", cmd, sizeof(cmd)));
	ck_assert_str_eq(cmd, "pgbackrest --stanza=main "
			      "--config=/etc/pgbr.conf --pg1-path=\"/d\" "
			      "archive-get %f \"%p\"");
	struct replica_argv v;
	replica_pgbackrest_argv(&v, &c.replica, "/d");
	char line[400];
	ck_assert_str_eq(spawn_format_argv(v.argv, line, sizeof(line)),
			 "pgbackrest --stanza=main --config=/etc/pgbr.conf "
			 "--type=standby --delta --pg1-path=/d restore");
	/* unset: pg_basebackup alone, as before the key existed */
	ck_assert_int_eq(parse(""), 0);
	ck_assert_uint_eq(replica_methods(&c.replica, m), 1);
	ck_assert_int_eq(m[0], REPLICA_BASEBACKUP);
}
END_TEST

START_TEST(replica_methods_refused)
{
	ck_assert_int_eq(parse("create_replica_methods = rsync"), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown method \"rsync\""));
	ck_assert_int_eq(parse("create_replica_methods = custom,custom"), -1);
	ck_assert_int_eq(parse("pgbackrest_stanza = 'a b'"), -1);
	ck_assert_int_eq(parse("pgbackrest_config = etc/x.conf"), -1);
	ck_assert_int_eq(parse("create_replica_methods = pgbackrest"), 0);
	ck_assert_int_eq(check(), -1);
	ck_assert_ptr_nonnull(strstr(err, "needs pgbackrest_stanza"));
	ck_assert_int_eq(parse("create_replica_methods = custom"), 0);
	ck_assert_int_eq(check(), -1);
	ck_assert_ptr_nonnull(strstr(err, "needs create_replica_command"));
}
END_TEST

START_TEST(replica_keys_set_and_format)
{
	char buf[2048];
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(scope_conf_assign(&c,
					   "Create-Replica-Methods=custom,"
					   "basebackup",
					   err, sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c,
					   "create_replica_command=/bin/mk "
					   "--say it's",
					   err, sizeof(err)),
			 0);
	ck_assert_int_eq(check(), 0);
	ck_assert(scope_conf_format(&c, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "create_replica_methods = 'custom,basebackup'\n"
			      "create_replica_command = '/bin/mk --say "
			      "it''s'\n");
	struct scope_conf again = c;
	ck_assert_int_eq(parse(buf), 0);
	ck_assert_str_eq(c.replica.command, "/bin/mk --say it's");
	ck_assert(replica_conf_equal(&c.replica, &again.replica));
	ck_assert_int_eq(scope_conf_assign(&c, "create_replica_methods=", err,
					   sizeof(err)),
			 0);
	ck_assert(!c.replica.set[REPLICA_KEY_METHODS]);
	ck_assert(!replica_conf_equal(&c.replica, &again.replica));
}
END_TEST

/* The replica lines follow the syntax of every other line of the text
 * (common/conf_lex.h), two differences from their first parser settled
 * so: a backslash in quotes escapes (and the text written back doubles
 * it, so a command survives the round trip), and a key is any case. */
START_TEST(replica_lines_share_the_file_syntax)
{
	char buf[2048];
	ck_assert_int_eq(parse("create_replica_methods = custom\n"
			       "create_replica_command = "
			       "'/bin/mk --re \\\\d+ --say it\\'s'\n"),
			 0);
	ck_assert_str_eq(c.replica.command, "/bin/mk --re \\d+ --say it's");
	ck_assert(scope_conf_format(&c, buf, sizeof(buf)));
	ck_assert_ptr_nonnull(strstr(buf, "create_replica_command = "
					  "'/bin/mk --re \\\\d+ --say "
					  "it''s'\n"));
	struct scope_conf again = c;
	ck_assert_int_eq(parse(buf), 0);
	ck_assert(replica_conf_equal(&c.replica, &again.replica));
	/* keys in any case, as conf.c's */
	ck_assert_int_eq(parse("Create_Replica_Methods = 'pgbackrest'\n"
			       "PGBACKREST_STANZA = main"),
			 0);
	ck_assert_str_eq(c.replica.stanza, "main");
	ck_assert(c.replica.set[REPLICA_KEY_METHODS]);
	/* a value with blanks is quoted, as everywhere in the file */
	ck_assert_int_eq(parse("create_replica_methods = pgbackrest, "
			       "basebackup"),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "SCOPE/config:1: syntax error: "
					  "unexpected text \"basebackup\""));
	ck_assert_int_eq(parse("create_replica_command = '/bin/mk"), -1);
	ck_assert_ptr_nonnull(strstr(err, "unterminated quoted value"));
	ck_assert_int_eq(parse("create_replica_command = ''"), -1);
	ck_assert_ptr_nonnull(strstr(err, "create_replica_command: expected "
					  "a value"));
}
END_TEST

START_TEST(archive_via_pgbackrest)
{
	char cmd[300];
	/* unset: on as soon as a stanza is set */
	ck_assert_int_eq(parse(""), 0);
	ck_assert(!replica_archives(&c.replica));
	ck_assert_int_eq(parse("pgbackrest_stanza = main\n"
			       "pgbackrest_config = /etc/pgbr.conf"),
			 0);
	ck_assert(replica_archives(&c.replica));
	ck_assert(replica_archive_command(&c.replica, "/d", cmd, sizeof(cmd)));
	ck_assert_str_eq(cmd, "pgbackrest --stanza=main "
			      "--config=/etc/pgbr.conf --pg1-path=\"/d\" "
			      "archive-push \"%p\"");
	ck_assert(
		!replica_archive_command(&c.replica, "/d$x", cmd, sizeof(cmd)));
	ck_assert(!replica_archive_command(&c.replica, "/d", cmd, 20));
	ck_assert_int_eq(parse("pgbackrest_stanza = main\n"
			       "archive_via_pgbackrest = off"),
			 0);
	ck_assert(!replica_archives(&c.replica));
	ck_assert_int_eq(check(), 0);
	/* on without a stanza: refused by the check */
	ck_assert_int_eq(parse("archive_via_pgbackrest = on"), 0);
	ck_assert(!replica_archives(&c.replica));
	ck_assert_int_eq(check(), -1);
	ck_assert_ptr_nonnull(strstr(err, "needs pgbackrest_stanza"));
	ck_assert_int_eq(parse("archive_via_pgbackrest = maybe"), -1);
	ck_assert_ptr_nonnull(strstr(err, "on or off"));
	/* --set, and the text written back */
	char buf[512];
	ck_assert_int_eq(parse("pgbackrest_stanza = s1"), 0);
	ck_assert_int_eq(scope_conf_assign(&c, "archive-via-pgbackrest=OFF",
					   err, sizeof(err)),
			 0);
	ck_assert(scope_conf_format(&c, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "pgbackrest_stanza = 's1'\n"
			      "archive_via_pgbackrest = 'off'\n");
}
END_TEST

Suite *scope_conf_suite(void)
{
	Suite *s = suite_create("scope_conf");
	TCase *t = tcase_create("scope_conf");
	tcase_add_test(t, parses_every_key);
	tcase_add_test(t, refuses_bad_text);
	tcase_add_test(t, set_and_unset);
	tcase_add_test(t, ttl_must_leave_three_renewals);
	tcase_add_test(t, formats_what_it_parses);
	tcase_add_test(t, replica_methods_in_order);
	tcase_add_test(t, replica_methods_refused);
	tcase_add_test(t, replica_keys_set_and_format);
	tcase_add_test(t, replica_lines_share_the_file_syntax);
	tcase_add_test(t, archive_via_pgbackrest);
	suite_add_tcase(s, t);
	return s;
}
