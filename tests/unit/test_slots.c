/*
 * test_slots.c — replication slots as data (fencing/slots.h): a member's
 * slot name, the permanent slot lines, and the plan from the slots a node
 * should have to the creates and drops.
 */
#include <check.h>
#include <string.h>

#include "fencing/scope_conf.h"
#include "fencing/slots.h"
#include "tests/unit/suites.h"

START_TEST(member_names)
{
	char out[SLOT_NAME_MAX], other[SLOT_NAME_MAX];
	slot_name_for_member("pg1", out);
	ck_assert_str_eq(out, "pg1"); /* valid already: as Patroni names it */
	slot_name_for_member("db-1", out);
	slot_name_for_member("db_1", other);
	ck_assert_str_eq(other, "db_1");
	ck_assert_int_eq(strncmp(out, "db_1_", 5), 0);
	ck_assert_uint_eq(strlen(out), 5 + 8);
	ck_assert(slot_name_valid(out));
	ck_assert_str_ne(out, other); /* no collision */
	slot_name_for_member("DB-1", other);
	ck_assert(slot_name_valid(other));
	ck_assert_str_ne(out, other);
	char again[SLOT_NAME_MAX];
	slot_name_for_member("db-1", again);
	ck_assert_str_eq(out, again); /* stable */
	char longname[200];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	slot_name_for_member(longname, out);
	ck_assert(slot_name_valid(out));
	ck_assert_uint_eq(strlen(out), SLOT_NAME_MAX - 1);
	longname[60] = '\0'; /* valid, 60 bytes: kept */
	slot_name_for_member(longname, out);
	ck_assert_str_eq(out, longname);
	ck_assert(!slot_name_valid(""));
	ck_assert(!slot_name_valid("a.b"));
}
END_TEST

START_TEST(spec_parse)
{
	struct slot_spec s;
	char err[300], v[160];
	ck_assert_int_eq(slot_spec_parse("backup", "physical", &s, err,
					 sizeof(err)),
			 0);
	ck_assert_int_eq(s.kind, SLOT_PHYSICAL);
	ck_assert_int_eq(slot_spec_parse("cdc", "logical:app:pgoutput", &s, err,
					 sizeof(err)),
			 0);
	ck_assert_int_eq(s.kind, SLOT_LOGICAL);
	ck_assert_str_eq(s.database, "app");
	ck_assert_str_eq(s.plugin, "pgoutput");
	slot_spec_value(&s, v, sizeof(v));
	ck_assert_str_eq(v, "logical:app:pgoutput");
	ck_assert_int_eq(slot_spec_parse("cdc", "logical:app", &s, err,
					 sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "logical:DATABASE:PLUGIN"));
	ck_assert_int_eq(slot_spec_parse("cdc", "logical:a;b:x", &s, err,
					 sizeof(err)),
			 -1);
	ck_assert_int_eq(slot_spec_parse("Bad-Name", "physical", &s, err,
					 sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "a-z, 0-9 and _"));
}
END_TEST

START_TEST(scope_lines)
{
	struct scope_conf c;
	char err[512], text[1024];
	const char *in = "lease_ttl = 3s\n"
			 "slot.backup = physical  # pg_receivewal\n"
			 "slot.cdc = 'logical:app:pgoutput'\n"
			 "member_slots_ttl = 10s\n"
			 "max_slot_wal_keep_size = 2GB\n";
	ck_assert_int_eq(scope_conf_parse(in, strlen(in), "S", &c, err,
					  sizeof(err)),
			 0);
	ck_assert_uint_eq(c.n_slots, 2);
	ck_assert_str_eq(c.slots[1].database, "app");
	ck_assert_int_eq(c.member_slots_ttl, 10000);
	ck_assert_int_eq(c.max_slot_wal_keep_size, 2LL << 30);
	ck_assert(scope_conf_format(&c, text, sizeof(text)));
	ck_assert_ptr_nonnull(strstr(text, "slot.backup = physical\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "slot.cdc = logical:app:pgoutput\n"));
	ck_assert_int_eq(scope_conf_assign(&c, "slot.backup=", err,
					   sizeof(err)),
			 0);
	ck_assert_uint_eq(c.n_slots, 1);
	ck_assert_str_eq(c.slots[0].name, "cdc");
	ck_assert_int_eq(scope_conf_assign(&c, "slot.x=logical:db:wal2json",
					   err, sizeof(err)),
			 0);
	ck_assert_uint_eq(c.n_slots, 2);
	const char *bad = "lease_ttl = 3s\nslot.cdc = logical\n";
	ck_assert_int_eq(scope_conf_parse(bad, strlen(bad), "S", &c, err,
					  sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "S:2: slot.cdc"));
	const char *unknown = "slot.a = physical\nlease_tll = 3s\n";
	ck_assert_int_eq(scope_conf_parse(unknown, strlen(unknown), "S", &c,
					  err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "S:2:"));
}
END_TEST

static struct slot_actual have(const char *name, enum slot_kind k, bool active)
{
	struct slot_actual s;
	memset(&s, 0, sizeof(s));
	strcpy(s.name, name);
	s.kind = k;
	s.active = active;
	strcpy(s.wal_status, "reserved");
	return s;
}

static struct slot_spec spec(const char *name, enum slot_kind k)
{
	struct slot_spec s;
	memset(&s, 0, sizeof(s));
	strcpy(s.name, name);
	s.kind = k;
	if (k == SLOT_LOGICAL) {
		strcpy(s.database, "app");
		strcpy(s.plugin, "pgoutput");
	}
	return s;
}

START_TEST(plan_creates_what_is_missing)
{
	struct slot_spec want[] = { spec("pg2", SLOT_PHYSICAL),
				    spec("pg3", SLOT_PHYSICAL),
				    spec("cdc", SLOT_LOGICAL) };
	struct slot_actual h[] = { have("pg2", SLOT_PHYSICAL, true) };
	struct slot_memory mem = { .n = 0 };
	struct slots_plan p;
	struct slots_input in = { .want = want,
				  .n_want = 3,
				  .have = h,
				  .n_have = 1,
				  .now_ms = 1000,
				  .grace_ms = 60000,
				  .logical_ok = true };
	slots_plan(&in, &mem, &p);
	ck_assert_uint_eq(p.n_create, 2);
	ck_assert_str_eq(p.create[0].name, "pg3");
	ck_assert_str_eq(p.create[1].name, "cdc");
	ck_assert_uint_eq(p.n_drop, 0);
	in.logical_ok = false; /* a standby: no logical slot */
	slots_plan(&in, &mem, &p);
	ck_assert_uint_eq(p.n_create, 1);
}
END_TEST

START_TEST(plan_drops_after_grace)
{
	struct slot_spec want[] = { spec("pg2", SLOT_PHYSICAL) };
	struct slot_actual h[] = { have("pg2", SLOT_PHYSICAL, true),
				   have("gone", SLOT_PHYSICAL, false),
				   have("busy", SLOT_PHYSICAL, true),
				   have("cdc_old", SLOT_LOGICAL, false),
				   have("tmp", SLOT_PHYSICAL, false) };
	h[4].temporary = true;
	struct slot_memory mem = { .n = 0 };
	struct slots_plan p;
	struct slots_input in = { .want = want,
				  .n_want = 1,
				  .have = h,
				  .n_have = 5,
				  .now_ms = 1000,
				  .grace_ms = 60000 };
	slots_plan(&in, &mem, &p);
	ck_assert_uint_eq(p.n_drop, 0); /* unwanted since now */
	in.now_ms = 60999;
	slots_plan(&in, &mem, &p);
	ck_assert_uint_eq(p.n_drop, 0);
	in.now_ms = 61000;
	slots_plan(&in, &mem, &p);
	/* never the active one, the logical one or the temporary one */
	ck_assert_uint_eq(p.n_drop, 1);
	ck_assert_str_eq(p.drop[0], "gone");
	/* wanted again in between: the grace starts over */
	struct slot_spec back[] = { spec("pg2", SLOT_PHYSICAL),
				    spec("gone", SLOT_PHYSICAL) };
	in.want = back;
	in.n_want = 2;
	slots_plan(&in, &mem, &p);
	ck_assert_uint_eq(p.n_drop, 0);
	in.want = want;
	in.n_want = 1;
	in.now_ms = 62000;
	slots_plan(&in, &mem, &p);
	ck_assert_uint_eq(p.n_drop, 0);
	/* the busy one became inactive long after it became unwanted */
	h[2].active = false;
	in.now_ms = 70000;
	slots_plan(&in, &mem, &p);
	ck_assert_uint_eq(p.n_drop, 1);
	ck_assert_str_eq(p.drop[0], "busy");
}
END_TEST

START_TEST(plan_keeps_prompts_and_conflicts)
{
	char keep[][SLOT_NAME_MAX] = { "backup" };
	char prompt[][SLOT_NAME_MAX] = { "pg1", "cdc" };
	struct slot_actual h[] = { have("backup", SLOT_PHYSICAL, false),
				   have("pg1", SLOT_PHYSICAL, false),
				   have("cdc", SLOT_LOGICAL, false) };
	struct slot_memory mem = { .n = 0 };
	struct slots_plan p;
	struct slots_input in = { .keep = keep,
				  .n_keep = 1,
				  .prompt = prompt,
				  .n_prompt = 2,
				  .have = h,
				  .n_have = 3,
				  .now_ms = 5,
				  .grace_ms = 60000 };
	slots_plan(&in, &mem, &p);
	ck_assert_uint_eq(p.n_drop, 2);
	ck_assert_str_eq(p.drop[0], "pg1");
	ck_assert_str_eq(p.drop[1], "cdc");
	/* wanted as logical, present as physical: left alone */
	struct slot_spec want[] = { spec("backup", SLOT_LOGICAL) };
	struct slots_input in2 = { .want = want,
				   .n_want = 1,
				   .have = h,
				   .n_have = 1,
				   .logical_ok = true };
	slots_plan(&in2, &mem, &p);
	ck_assert_uint_eq(p.n_conflict, 1);
	ck_assert_uint_eq(p.n_create, 0);
	ck_assert_uint_eq(p.n_drop, 0);
	/* a lost one is made again */
	struct slot_spec w2[] = { spec("pg1", SLOT_PHYSICAL) };
	strcpy(h[1].wal_status, "lost");
	struct slots_input in3 = {
		.want = w2, .n_want = 1, .have = h, .n_have = 3, .grace_ms = 9
	};
	slots_plan(&in3, &mem, &p);
	ck_assert_uint_eq(p.n_drop, 1);
	ck_assert_uint_eq(p.n_create, 1);
	ck_assert_str_eq(p.create[0].name, "pg1");
}
END_TEST

Suite *slots_suite(void)
{
	Suite *s = suite_create("slots");
	TCase *tc = tcase_create("slots");
	tcase_add_test(tc, member_names);
	tcase_add_test(tc, spec_parse);
	tcase_add_test(tc, scope_lines);
	tcase_add_test(tc, plan_creates_what_is_missing);
	tcase_add_test(tc, plan_drops_after_grace);
	tcase_add_test(tc, plan_keeps_prompts_and_conflicts);
	suite_add_tcase(s, tc);
	return s;
}
