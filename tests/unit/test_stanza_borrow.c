/*
 * test_stanza_borrow.c — a scope never archives into a stanza it borrows
 * (fencing/stanza_borrow.h), through SCOPE/config's parser and
 * scope_conf_check as edit-config, the REST API and the agents check it:
 * a standby cluster never takes archive_via_pgbackrest's default and
 * never archives into the stanza its restore command reads; a scope
 * bootstrapped from another cluster's stanza never archives into it.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "fencing/scope_conf.h"
#include "fencing/stanza_borrow.h"
#include "tests/unit/suites.h"

static struct scope_conf c;
static char err[512];

#define RESTORE_A                                                   \
	"standby_cluster_restore_command = 'pgbackrest --stanza=a " \
	"--pg1-path=\"$PWD\" archive-get %f \"%p\"'\n"

/* 0 when the text parses and passes the checks; err says why not. */
static int check(const char *text)
{
	err[0] = '\0';
	if (scope_conf_parse(text, strlen(text), "SCOPE/config", &c, err,
			     sizeof(err)) != 0)
		return -2;
	return scope_conf_check(&c, 2500, 500, 200, 300, 1000, err,
				sizeof(err));
}

START_TEST(default_refused_in_a_standby_cluster)
{
	ck_assert_int_eq(check(RESTORE_A
			       "pgbackrest_stanza = a\n"
			       "create_replica_methods = pgbackrest\n"),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "must set archive_via_pgbackrest"));
	ck_assert_ptr_nonnull(strstr(err, "'a'"));
	/* streaming only: the stanza may be the main cluster's all the same */
	ck_assert_int_eq(check("standby_cluster_hosts = h1\n"
			       "pgbackrest_stanza = a\n"),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "archive_via_pgbackrest"));
}
END_TEST

START_TEST(off_accepted)
{
	ck_assert_int_eq(check(RESTORE_A
			       "pgbackrest_stanza = a\n"
			       "archive_via_pgbackrest = off\n"
			       "create_replica_methods = pgbackrest\n"),
			 0);
	ck_assert(!stanza_borrow_own(&c.replica));
}
END_TEST

START_TEST(on_into_the_main_stanza_refused)
{
	ck_assert_int_eq(check(RESTORE_A "pgbackrest_stanza = a\n"
					 "archive_via_pgbackrest = on\n"),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "into stanza 'a'"));
	/* "--stanza a", quoted */
	ck_assert_int_eq(check("standby_cluster_restore_command = 'pgbackrest "
			       "--stanza \"a\" archive-get %f \"%p\"'\n"
			       "pgbackrest_stanza = a\narchive_via_pgbackrest "
			       "= on\n"),
			 -1);
}
END_TEST

START_TEST(on_into_an_own_stanza_accepted)
{
	ck_assert_int_eq(check(RESTORE_A "pgbackrest_stanza = b\n"
					 "archive_via_pgbackrest = on\n"),
			 0);
	ck_assert(stanza_borrow_own(&c.replica));
	/* a script names no stanza: the operator's word is taken */
	ck_assert_int_eq(check("standby_cluster_restore_command = "
			       "'/usr/local/bin/fetch-wal %f %p'\n"
			       "pgbackrest_stanza = a\n"
			       "archive_via_pgbackrest = on\n"),
			 0);
}
END_TEST

START_TEST(not_a_standby_cluster_unchanged)
{
	/* the default stays on where the stanza is the scope's own */
	ck_assert_int_eq(check("pgbackrest_stanza = a\n"), 0);
	ck_assert(replica_archives(&c.replica));
	/* promote removed the standby keys: the explicit off stays */
	ck_assert_int_eq(check("pgbackrest_stanza = a\n"
			       "archive_via_pgbackrest = off\n"),
			 0);
	ck_assert(!stanza_borrow_own(&c.replica));
	ck_assert_int_eq(check(RESTORE_A), 0);
}
END_TEST

START_TEST(bootstrap_from_another_stanza)
{
	ck_assert_int_eq(check("bootstrap_method = pgbackrest\n"
			       "bootstrap_stanza = a\npgbackrest_stanza = a\n"),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "bootstrap_stanza 'a'"));
	ck_assert_int_eq(check("bootstrap_method = pgbackrest\n"
			       "bootstrap_stanza = a\npgbackrest_stanza = a\n"
			       "archive_via_pgbackrest = on\n"),
			 -1);
	/* not archiving, or into its own */
	ck_assert_int_eq(check("bootstrap_method = pgbackrest\n"
			       "bootstrap_stanza = a\npgbackrest_stanza = a\n"
			       "archive_via_pgbackrest = off\n"),
			 0);
	ck_assert_int_eq(check("bootstrap_method = pgbackrest\n"
			       "bootstrap_stanza = a\npgbackrest_stanza = b\n"),
			 0);
	/* its own backup, restored after a loss: one stanza for both */
	ck_assert_int_eq(check("bootstrap_method = pgbackrest\n"
			       "pgbackrest_stanza = a\n"),
			 0);
	ck_assert(replica_archives(&c.replica));
	ck_assert_int_eq(check("bootstrap_stanza = a\npgbackrest_stanza = a\n"),
			 0); /* initdb: nothing is restored from it */
}
END_TEST

START_TEST(stanza_of_a_restore_command)
{
	char s[16];
	ck_assert(stanza_borrow_named_in("pgbackrest --stanza=main "
					 "archive-get %f \"%p\"",
					 s, sizeof(s)));
	ck_assert_str_eq(s, "main");
	ck_assert(stanza_borrow_named_in("pgbackrest --stanza 'x y' x", s,
					 sizeof(s)));
	ck_assert_str_eq(s, "x y");
	ck_assert(stanza_borrow_named_in("pgbackrest --stanza=a "
					 "--stanza=b archive-get",
					 s, sizeof(s)));
	ck_assert_str_eq(s, "b");
	ck_assert(!stanza_borrow_named_in("cp /arch/%f %p", s, sizeof(s)));
	ck_assert(!stanza_borrow_named_in("pgbackrest --stanza-x=a", s,
					  sizeof(s)));
	ck_assert(!stanza_borrow_named_in("pgbackrest --stanza", s, sizeof(s)));
	ck_assert(
		!stanza_borrow_named_in("pgbackrest --stanza=", s, sizeof(s)));
	/* too long for buf: none, never a cut name */
	ck_assert(!stanza_borrow_named_in("pgbackrest --stanza="
					  "abcdefghijklmnopqrstuvwxyz",
					  s, sizeof(s)));
	ck_assert_str_eq(s, "");
}
END_TEST

Suite *stanza_borrow_suite(void)
{
	Suite *s = suite_create("stanza_borrow");
	TCase *t = tcase_create("core");
	tcase_add_test(t, default_refused_in_a_standby_cluster);
	tcase_add_test(t, off_accepted);
	tcase_add_test(t, on_into_the_main_stanza_refused);
	tcase_add_test(t, on_into_an_own_stanza_accepted);
	tcase_add_test(t, not_a_standby_cluster_unchanged);
	tcase_add_test(t, bootstrap_from_another_stanza);
	tcase_add_test(t, stanza_of_a_restore_command);
	suite_add_tcase(s, t);
	return s;
}
