/*
 * test_record_lease.c — fencing/record_lease.c: a running primary's record
 * rides the primary lease and its member lease goes once the record has
 * moved; anything else rides the member lease; nobody takes the member
 * lease while another process holds the primary under its name.
 */
#include <check.h>

#include "fencing/record_lease.h"
#include "tests/unit/suites.h"

static struct record_lease_facts facts(bool valid, bool runs, bool held,
				       bool other)
{
	return (struct record_lease_facts){
		.primary_valid = valid,
		.runs_primary = runs,
		.member_held = held,
		.other_incarnation = other,
	};
}

START_TEST(a_standby_rides_its_member_lease)
{
	struct record_lease_facts f = facts(false, false, true, false);
	ck_assert_int_eq(record_lease_target(&f), RECORD_ON_MEMBER);
	ck_assert_int_eq(member_lease_step(&f, false), MEMBER_LEASE_KEEP);
	f.member_held = false; /* not yet, or lost: nowhere to write */
	ck_assert_int_eq(record_lease_target(&f), RECORD_NOWHERE);
	ck_assert_int_eq(member_lease_step(&f, false), MEMBER_LEASE_ACQUIRE);
}
END_TEST

START_TEST(a_running_primary_rides_the_primary_lease)
{
	struct record_lease_facts f = facts(true, true, true, false);
	ck_assert_int_eq(record_lease_target(&f), RECORD_ON_PRIMARY);
	/* the member lease stays until the record has moved ... */
	ck_assert_int_eq(member_lease_step(&f, false), MEMBER_LEASE_KEEP);
	/* ... then goes, and is neither renewed nor taken again */
	ck_assert_int_eq(member_lease_step(&f, true), MEMBER_LEASE_RELEASE);
	f.member_held = false;
	ck_assert_int_eq(record_lease_target(&f), RECORD_ON_PRIMARY);
	ck_assert_int_eq(member_lease_step(&f, true), MEMBER_LEASE_IDLE);
	ck_assert_int_eq(member_lease_step(&f, false), MEMBER_LEASE_IDLE);
}
END_TEST

START_TEST(a_holder_not_running_a_primary_keeps_its_member_lease)
{
	/* promoting, or stopped for a switchover: a record that does not
	 * say primary never vanishes with the primary lease */
	struct record_lease_facts f = facts(true, false, true, false);
	ck_assert_int_eq(record_lease_target(&f), RECORD_ON_MEMBER);
	ck_assert_int_eq(member_lease_step(&f, false), MEMBER_LEASE_KEEP);
	f.member_held = false; /* it rode the primary lease: take it again */
	ck_assert_int_eq(member_lease_step(&f, true), MEMBER_LEASE_ACQUIRE);
}
END_TEST

START_TEST(a_lost_lease_brings_the_record_back_to_the_member_lease)
{
	/* Postgres still says primary, but the lease is not valid: the
	 * record must not ride a lease this agent may no longer hold */
	struct record_lease_facts f = facts(false, true, false, false);
	ck_assert_int_eq(record_lease_target(&f), RECORD_NOWHERE);
	ck_assert_int_eq(member_lease_step(&f, true), MEMBER_LEASE_ACQUIRE);
	f.member_held = true;
	ck_assert_int_eq(record_lease_target(&f), RECORD_ON_MEMBER);
}
END_TEST

START_TEST(another_process_with_this_name_holds_the_primary)
{
	struct record_lease_facts f = facts(false, false, false, true);
	ck_assert_int_eq(record_lease_target(&f), RECORD_NOWHERE);
	ck_assert_int_eq(member_lease_step(&f, false), MEMBER_LEASE_NAME_TAKEN);
	/* held already (taken just before): kept, but not written on */
	f.member_held = true;
	ck_assert_int_eq(record_lease_target(&f), RECORD_NOWHERE);
	ck_assert_int_eq(member_lease_step(&f, false), MEMBER_LEASE_NAME_TAKEN);
}
END_TEST

Suite *record_lease_suite(void)
{
	Suite *s = suite_create("record_lease");
	TCase *tc = tcase_create("where");
	tcase_add_test(tc, a_standby_rides_its_member_lease);
	tcase_add_test(tc, a_running_primary_rides_the_primary_lease);
	tcase_add_test(tc,
		       a_holder_not_running_a_primary_keeps_its_member_lease);
	tcase_add_test(tc,
		       a_lost_lease_brings_the_record_back_to_the_member_lease);
	tcase_add_test(tc, another_process_with_this_name_holds_the_primary);
	suite_add_tcase(s, tc);
	return s;
}
