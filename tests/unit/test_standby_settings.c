/*
 * test_standby_settings.c — fencing/standby_settings.c: which hot-standby
 * settings are raised to the primary's (from pg_controldata) and how the
 * note reads; and fencing/aside.c's room check before a fresh copy.
 */
#include <check.h>
#include <string.h>

#include "fencing/aside.h"
#include "fencing/standby_settings.h"
#include "tests/unit/suites.h"

static void primary_values(struct standby_settings *s)
{
	struct controldata cd;
	memset(&cd, 0, sizeof(cd));
	cd.max_connections = 150;
	cd.max_worker_processes = 8;
	cd.max_wal_senders = 10;
	cd.max_prepared_xacts = 0;
	cd.max_locks_per_xact = 64;
	standby_settings_from_controldata(&cd, s);
}

START_TEST(raises_only_what_is_lower)
{
	struct standby_settings s;
	char opts[512], note[512];
	primary_values(&s);
	standby_settings_parse_local("pg_control version number:            "
				     "1300\n"
				     "local max_connections: 100\n"
				     "local max_worker_processes: 16\n"
				     "local max_wal_senders: 10\n"
				     "local max_prepared_transactions: 0\n"
				     "local max_locks_per_transaction: 32\n",
				     &s);
	ck_assert_int_eq(standby_settings_raise(&s, opts, sizeof(opts), note,
						sizeof(note)),
			 2);
	ck_assert_str_eq(opts, " -c max_connections=150"
			       " -c max_locks_per_transaction=64");
	ck_assert_str_eq(note, "max_connections 100 -> 150, "
			       "max_locks_per_transaction 32 -> 64");
}
END_TEST

START_TEST(unknown_local_gets_the_primary_value)
{
	struct standby_settings s;
	char opts[512], note[512];
	primary_values(&s);
	/* postgres -C failed (a bad setting elsewhere): all unknown */
	standby_settings_parse_local("local max_connections: unknown\n"
				     "local max_wal_senders: \n",
				     &s);
	ck_assert_int_eq(standby_settings_raise(&s, opts, sizeof(opts), note,
						sizeof(note)),
			 4);
	ck_assert_ptr_nonnull(strstr(note, "max_connections ? -> 150"));
	/* a value the primary does not have (0) is never raised */
	ck_assert_ptr_null(strstr(opts, "max_prepared_transactions"));
}
END_TEST

START_TEST(nothing_to_raise)
{
	struct standby_settings s;
	char opts[512] = "x", note[512] = "x";
	primary_values(&s);
	standby_settings_parse_local("local max_connections: 300\nlocal "
				     "max_worker_processes: 8\n"
				     "local max_wal_senders: 10\nlocal "
				     "max_prepared_transactions: 0\n"
				     "local max_locks_per_transaction: 64\n",
				     &s);
	ck_assert_int_eq(standby_settings_raise(&s, opts, sizeof(opts), note,
						sizeof(note)),
			 0);
	ck_assert_str_eq(opts, "");
	ck_assert_str_eq(note, "");
	/* no room for the options: nothing half written */
	standby_settings_parse_local("local max_connections: 1\n", &s);
	ck_assert_int_eq(standby_settings_raise(&s, opts, 10, note,
						sizeof(note)),
			 0);
	ck_assert_str_eq(opts, "");
}
END_TEST

START_TEST(room_for_a_copy)
{
	char msg[400];
	ck_assert(
		aside_room("/d/data", 100 << 20, 200 << 20, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "");
	/* need plus a tenth */
	ck_assert(
		!aside_room("/d/data", 100 << 20, 105 << 20, msg, sizeof(msg)));
	ck_assert_ptr_nonnull(strstr(msg, "needs about 110 MB"));
	ck_assert_ptr_nonnull(strstr(msg, "only 105 MB are free"));
	ck_assert_ptr_nonnull(strstr(msg, "missing 5 MB"));
	ck_assert_ptr_nonnull(strstr(msg, "/d/data.diverged-*"));
}
END_TEST

Suite *standby_settings_suite(void)
{
	Suite *s = suite_create("standby_settings");
	TCase *tc = tcase_create("raise");
	tcase_add_test(tc, raises_only_what_is_lower);
	tcase_add_test(tc, unknown_local_gets_the_primary_value);
	tcase_add_test(tc, nothing_to_raise);
	tcase_add_test(tc, room_for_a_copy);
	suite_add_tcase(s, tc);
	return s;
}
