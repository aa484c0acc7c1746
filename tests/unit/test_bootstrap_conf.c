/*
 * test_bootstrap_conf.c — the bootstrap keys of SCOPE/config
 * (fencing/bootstrap_conf.h): the target's syntax (what is accepted and
 * with which message it is refused), what each method needs, the text
 * written back, and pgBackRest's restore command line.
 */
#include <check.h>
#include <string.h>

#include "fencing/bootstrap_conf.h"
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

static int check(void)
{
	return scope_conf_check(&c, 2500, 500, 200, 300, 1000, err,
				sizeof(err));
}

static int target(const char *text)
{
	enum bootstrap_target_kind k;
	char v[128];
	return bootstrap_target_parse(text, &k, v, sizeof(v), err,
				      sizeof(err)) == 0
		       ? (int)k
		       : -1;
}

START_TEST(targets_accepted)
{
	ck_assert_int_eq(target(""), TARGET_LATEST);
	ck_assert_int_eq(target("time:2026-12-07 12:00:00+00"), TARGET_TIME);
	ck_assert_int_eq(target("time:2026-12-07T12:00:00.123456+01:00"),
			 TARGET_TIME);
	ck_assert_int_eq(target("time:2026-12-07 12:00 UTC"), TARGET_TIME);
	ck_assert_int_eq(target("time:2026-12-07 12:00:59Z"), TARGET_TIME);
	ck_assert_int_eq(target("time:2026-12-07 12:00:59 -0530"), TARGET_TIME);
	ck_assert_int_eq(target("lsn:0/3000000"), TARGET_LSN);
	ck_assert_int_eq(target("lsn:1A/FFFFFFFF"), TARGET_LSN);
	ck_assert_int_eq(target("name:before_drop"), TARGET_NAME);
	ck_assert_int_eq(target("name:a point, with blanks"), TARGET_NAME);
}
END_TEST

START_TEST(targets_refused)
{
	/* a time without its zone is a guess: refused */
	ck_assert_int_eq(target("time:2026-12-07 12:00:00"), -1);
	ck_assert_ptr_nonnull(strstr(err, "with a zone"));
	ck_assert_int_eq(target("time:2026-13-07 12:00:00+00"), -1);
	ck_assert_int_eq(target("time:2026-12-07 24:00:00+00"), -1);
	ck_assert_int_eq(target("time:2026-12-07 12:00:00.+00"), -1);
	ck_assert_int_eq(target("time:yesterday"), -1);
	ck_assert_int_eq(target("lsn:3000000"), -1);
	ck_assert_ptr_nonnull(strstr(err, "hex/hex"));
	ck_assert_int_eq(target("lsn:0/123456789"), -1);
	ck_assert_int_eq(target("lsn:0/xyz"), -1);
	ck_assert_int_eq(target("name:"), -1);
	ck_assert_int_eq(target("name:it's"), -1);
	ck_assert_int_eq(target("name:0123456789012345678901234567890123456789"
				"012345678901234567890123"),
			 -1);
	ck_assert_int_eq(target("xid:1234"), -1);
	ck_assert_ptr_nonnull(strstr(err, "expected time:..., lsn:..."));
	/* in SCOPE/config, with the line */
	ck_assert_int_eq(parse("bootstrap_method = pgbackrest\n"
			       "bootstrap_target = 'lsn:zz'"),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "SCOPE/config:2: bootstrap_target"));
}
END_TEST

START_TEST(methods_and_needs)
{
	ck_assert_int_eq(parse(""), 0);
	ck_assert_int_eq(c.bootstrap.method, BOOTSTRAP_INITDB);
	ck_assert_int_eq(check(), 0);
	ck_assert_int_eq(parse("bootstrap_method = rsync"), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown method \"rsync\""));
	ck_assert_int_eq(parse("bootstrap_method = pgbackrest"), 0);
	ck_assert_int_eq(check(), -1);
	ck_assert_ptr_nonnull(strstr(err, "needs bootstrap_stanza"));
	/* pgbackrest_stanza serves when bootstrap_stanza is not set */
	ck_assert_int_eq(parse("bootstrap_method = pgbackrest\n"
			       "pgbackrest_stanza = b"),
			 0);
	ck_assert_int_eq(check(), 0);
	ck_assert_str_eq(bootstrap_stanza(&c.bootstrap, &c.replica), "b");
	ck_assert_int_eq(parse("bootstrap_method = pgbackrest\n"
			       "pgbackrest_stanza = b\nbootstrap_stanza = a"),
			 0);
	ck_assert_str_eq(bootstrap_stanza(&c.bootstrap, &c.replica), "a");
	ck_assert_int_eq(parse("bootstrap_stanza = 'a b'"), -1);
	ck_assert_int_eq(parse("bootstrap_method = custom"), 0);
	ck_assert_int_eq(check(), -1);
	ck_assert_ptr_nonnull(strstr(err, "needs bootstrap_command"));
	ck_assert_int_eq(parse("bootstrap_target = 'name:x'"), 0);
	ck_assert_int_eq(check(), -1);
	ck_assert_ptr_nonnull(strstr(err, "bootstrap_target: needs"));
}
END_TEST

START_TEST(set_and_format)
{
	char buf[2048];
	ck_assert_int_eq(parse("pgbackrest_stanza = b"), 0);
	ck_assert_int_eq(scope_conf_assign(&c, "Bootstrap-Method=pgbackrest",
					   err, sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c,
					   "bootstrap_target=name:it is "
					   "here",
					   err, sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c, "bootstrap_stanza=a", err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c, "bootstrap_target=lsn:q", err,
					   sizeof(err)),
			 -1);
	ck_assert_int_eq(check(), 0);
	ck_assert(scope_conf_format(&c, buf, sizeof(buf)));
	ck_assert_str_eq(buf, "pgbackrest_stanza = 'b'\n"
			      "bootstrap_method = 'pgbackrest'\n"
			      "bootstrap_target = 'name:it is here'\n"
			      "bootstrap_stanza = 'a'\n");
	struct scope_conf again = c;
	ck_assert_int_eq(parse(buf), 0);
	ck_assert(bootstrap_conf_equal(&c.bootstrap, &again.bootstrap));
	ck_assert_int_eq(c.bootstrap.target_kind, TARGET_NAME);
	ck_assert_str_eq(c.bootstrap.target, "it is here");
	/* an empty target in the text: the latest, kept as set */
	ck_assert_int_eq(parse("bootstrap_target = ''"), 0);
	ck_assert(c.bootstrap.set[BOOTSTRAP_KEY_TARGET]);
	ck_assert_int_eq(c.bootstrap.target_kind, TARGET_LATEST);
	ck_assert_int_eq(scope_conf_assign(&c, "bootstrap_target=", err,
					   sizeof(err)),
			 0);
	ck_assert(!c.bootstrap.set[BOOTSTRAP_KEY_TARGET]);
}
END_TEST

START_TEST(restore_command_lines)
{
	struct bootstrap_argv v;
	char line[600];
	ck_assert_int_eq(parse("pgbackrest_stanza = b\n"
			       "pgbackrest_config = /etc/pgbr.conf\n"
			       "bootstrap_method = pgbackrest\n"
			       "bootstrap_stanza = a\n"
			       "bootstrap_target = 'time:2026-12-07 "
			       "12:00:00+00'"),
			 0);
	bootstrap_pgbackrest_argv(&v, &c.bootstrap, &c.replica, "/d");
	ck_assert_str_eq(spawn_format_argv(v.argv, line, sizeof(line)),
			 "pgbackrest --stanza=a --config=/etc/pgbr.conf "
			 "--pg1-path=/d --delta --type=time "
			 "'--target=2026-12-07 12:00:00+00' "
			 "--target-action=promote restore");
	ck_assert_int_eq(parse("pgbackrest_stanza = b\n"
			       "bootstrap_method = pgbackrest"),
			 0);
	bootstrap_pgbackrest_argv(&v, &c.bootstrap, &c.replica, "/d");
	ck_assert_str_eq(spawn_format_argv(v.argv, line, sizeof(line)),
			 "pgbackrest --stanza=b --pg1-path=/d --delta "
			 "--type=default restore");
}
END_TEST

Suite *bootstrap_conf_suite(void)
{
	Suite *s = suite_create("bootstrap_conf");
	TCase *t = tcase_create("bootstrap_conf");
	tcase_add_test(t, targets_accepted);
	tcase_add_test(t, targets_refused);
	tcase_add_test(t, methods_and_needs);
	tcase_add_test(t, set_and_format);
	tcase_add_test(t, restore_command_lines);
	suite_add_tcase(s, t);
	return s;
}
