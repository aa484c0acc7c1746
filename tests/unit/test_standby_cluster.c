/*
 * test_standby_cluster.c — a standby cluster: its settings
 * (fencing/standby_cluster.h, through SCOPE/config's parser and --set)
 * and decide.h rule 7 (fencing/decide_standby.c): the lease holder stays
 * in recovery from the main cluster whatever happens, the first empty
 * member takes the lease and copies the main cluster, the others cascade
 * and copy from the standby leader, and the holder promotes once the
 * setting is gone.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "fencing/decide.h"
#include "fencing/roster.h"
#include "fencing/scope_conf.h"
#include "fencing/standby_cluster.h"
#include "tests/unit/suites.h"

/* ---- the settings --------------------------------------------------------- */

static struct scope_conf c;
static char err[512];

static int parse(const char *text)
{
	return scope_conf_parse(text, strlen(text), "SCOPE/config", &c, err,
				sizeof(err));
}

START_TEST(parses_and_formats)
{
	ck_assert_int_eq(parse("standby_cluster_hosts = 'h1:5433, h2'\n"
			       "standby_cluster_slot = dr_site\n"
			       "standby_cluster_restore_command = 'cp "
			       "/arch/%f \"%p\"'\nlease_ttl = 3s\n"),
			 0);
	ck_assert(standby_cluster_active(&c.standby));
	ck_assert_str_eq(c.standby.hosts, "h1:5433,h2");
	ck_assert_str_eq(c.standby.slot, "dr_site");
	ck_assert_str_eq(c.standby.restore_command, "cp /arch/%f \"%p\"");
	ck_assert_int_eq(c.lease_ttl, 3000);
	char hosts[128], ports[128];
	ck_assert(standby_cluster_host_lists(&c.standby, hosts, sizeof(hosts),
					     ports, sizeof(ports)));
	ck_assert_str_eq(hosts, "h1,h2");
	ck_assert_str_eq(ports, "5433,5432");
	char text[4096];
	ck_assert(scope_conf_format(&c, text, sizeof(text)));
	ck_assert_ptr_nonnull(strstr(text, "standby_cluster_hosts = "
					   "'h1:5433,h2'\n"));
	struct scope_conf again;
	ck_assert_int_eq(scope_conf_parse(text, strlen(text), "x", &again, err,
					  sizeof(err)),
			 0);
	ck_assert(standby_cluster_equal(&c.standby, &again.standby));
	ck_assert_int_eq(parse("lease_ttl = 3s\n"), 0);
	ck_assert(!standby_cluster_active(&c.standby));
	/* restoring from the archive alone is a standby cluster too */
	ck_assert_int_eq(parse("standby_cluster_restore_command = 'true'"), 0);
	ck_assert(standby_cluster_active(&c.standby));
}
END_TEST

START_TEST(refuses_bad_values)
{
	ck_assert_int_eq(parse("standby_cluster_hosts = 'h1:99999'"), -1);
	ck_assert_ptr_nonnull(strstr(err, "SCOPE/config:1: "
					  "standby_cluster_hosts"));
	ck_assert_int_eq(parse("standby_cluster_hosts = 'h1 port=1'"), -1);
	ck_assert_int_eq(parse("standby_cluster_hosts = h'1"), -1);
	ck_assert_int_eq(parse("standby_cluster_hosts = ''"), -1);
	ck_assert_int_eq(parse("standby_cluster_slot = 'Bad-Slot'"), -1);
	/* a slot is on the main cluster it streams from */
	ck_assert_int_eq(parse("standby_cluster_slot = s"), 0);
	ck_assert_int_eq(scope_conf_check(&c, 3000, 500, 200, 300, 1000, err,
					  sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "needs standby_cluster_hosts"));
}
END_TEST

START_TEST(set_and_removed_by_assignment)
{
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(scope_conf_assign(&c, "standby_cluster_hosts=a,b:6",
					   err, sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c, "standby-cluster-slot=x", err,
					   sizeof(err)),
			 0);
	ck_assert(standby_cluster_active(&c.standby));
	ck_assert_int_eq(scope_conf_assign(&c, "standby_cluster_hosts=a:0", err,
					   sizeof(err)),
			 -1);
	ck_assert_str_eq(c.standby.hosts, "a,b:6"); /* kept */
	/* what tenurectl cluster promote writes */
	ck_assert_int_eq(scope_conf_assign(&c, "standby_cluster_hosts=", err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(scope_conf_assign(&c, "standby_cluster_slot=", err,
					   sizeof(err)),
			 0);
	ck_assert(!standby_cluster_active(&c.standby));
	char text[256];
	ck_assert(scope_conf_format(&c, text, sizeof(text)));
	ck_assert_ptr_null(strstr(text, "standby_cluster"));
}
END_TEST

START_TEST(roster_names_the_standby_leader)
{
	struct member m;
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "b1");
	m.role = MEMBER_REPLICA;
	snprintf(m.upstream, sizeof(m.upstream), STANDBY_CLUSTER_UPSTREAM);
	ck_assert_str_eq(roster_role(&m, "b1"), "standby_leader");
	ck_assert_str_eq(roster_role(&m, "b2"), "replica");
	snprintf(m.upstream, sizeof(m.upstream), "b2"); /* promoting */
	ck_assert_str_eq(roster_role(&m, "b1"), "primary");
}
END_TEST

/* ---- decide.h rule 7 ------------------------------------------------------ */

static struct member members[8];
static struct decide_input in;
static struct decide_action act;

static struct member *add(const char *name, enum member_role role, uint64_t lsn)
{
	struct member *m = &members[in.n_members++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->pg, sizeof(m->pg), "127.0.0.1:5432");
	snprintf(m->state, sizeof(m->state), "%s",
		 role == MEMBER_REPLICA ? "streaming" : "running");
	m->role = role;
	m->received_lsn = lsn;
	m->healthy = role != MEMBER_STOPPED;
	m->priority = 1;
	return m;
}

static void setup(void)
{
	memset(&in, 0, sizeof(in));
	in.name = "b1";
	in.members = members;
	in.lease.known = true;
	in.sync_key = "";
	in.sync_key_known = true;
	in.sync_key_absent = true;
	in.switch_candidate = "";
	in.last_primary = "";
	in.unguarded = "";
	in.max_lag = 1 << 20;
	in.initialized = true;
	in.standby_cluster = true;
	in.standby_streams = true;
}

static enum decide_kind run(void)
{
	decide(&in, &act);
	return act.kind;
}

static void holder(const char *name)
{
	snprintf(in.lease.holder, sizeof(in.lease.holder), "%s", name);
	in.lease.mine_valid = strcmp(name, in.name) == 0;
}

static void upstream(const char *name)
{
	snprintf(in.pg.upstream, sizeof(in.pg.upstream), "%s", name);
}

START_TEST(leader_follows_the_main_cluster)
{
	holder("b1");
	add("b1", MEMBER_REPLICA, 100);
	add("b2", MEMBER_REPLICA, 90);
	in.pg.state = PG_STOPPED;
	ck_assert_int_eq(run(), ACT_START);
	ck_assert_str_eq(act.target, STANDBY_CLUSTER_UPSTREAM);
	in.pg.state = PG_REPLICA;
	upstream("b2"); /* was a follower before it took the lease */
	ck_assert_int_eq(run(), ACT_REPOINT);
	ck_assert_str_eq(act.target, STANDBY_CLUSTER_UPSTREAM);
	upstream(STANDBY_CLUSTER_UPSTREAM);
	ck_assert_int_eq(run(), ACT_NONE);
	ck_assert_str_eq(act.reason, "standby leader");
	in.pg.frozen = true; /* the main cluster failed over: reconnects */
	ck_assert_int_eq(run(), ACT_REPOINT);
	/* restore_command only: no upstream at all is right */
	in.standby_streams = false;
	upstream("");
	ck_assert_int_eq(run(), ACT_NONE);
	/* as the agent names it (standby_cluster_observed): not repointed */
	upstream(STANDBY_CLUSTER_UPSTREAM);
	ck_assert_int_eq(run(), ACT_NONE);
	upstream("b2"); /* still cascading: its conninfo must go */
	ck_assert_int_eq(run(), ACT_REPOINT);
	upstream("");
	in.initialized = false; /* the first copy: it marks the scope */
	ck_assert_int_eq(run(), ACT_MARK_INIT);
}
END_TEST

/* Whatever the leader observes, it is never promoted, bootstrapped or
 * adopted while the setting is there; removed, it promotes. */
START_TEST(leader_never_promotes)
{
	static const enum pg_state states[] = { PG_ABSENT, PG_STOPPED,
						PG_STARTING, PG_REPLICA };
	holder("b1");
	add("b1", MEMBER_REPLICA, 100);
	for (size_t s = 0; s < 4; s++)
		for (int bits = 0; bits < 32; bits++) {
			in.pg.state = states[s];
			in.pg.frozen = bits & 1;
			in.pg.was_primary = bits & 2;
			in.pg.controldata_ok = true;
			in.initialized = bits & 4;
			in.paused = bits & 8;
			upstream(bits & 16 ? STANDBY_CLUSTER_UPSTREAM : "b2");
			enum decide_kind k = run();
			ck_assert_msg(k != ACT_PROMOTE && k != ACT_BOOTSTRAP &&
					      k != ACT_ADOPT && k != ACT_FENCE,
				      "state %zu bits %d: %s", s, bits,
				      decide_kind_name(k));
		}
	in.pg.state = PG_REPLICA;
	in.paused = false;
	in.standby_cluster = false; /* tenurectl cluster promote */
	ck_assert_int_eq(run(), ACT_PROMOTE);
}
END_TEST

START_TEST(members_cascade_from_the_leader)
{
	in.name = "b2";
	holder("b1");
	add("b1", MEMBER_REPLICA, 100);
	add("b2", MEMBER_REPLICA, 90);
	in.pg.state = PG_REPLICA;
	upstream(STANDBY_CLUSTER_UPSTREAM); /* the leader it was */
	ck_assert_int_eq(run(), ACT_REPOINT);
	ck_assert_str_eq(act.target, "b1");
	upstream("b1");
	ck_assert_int_eq(run(), ACT_NONE);
	in.pg.state = PG_STOPPED;
	ck_assert_int_eq(run(), ACT_START);
	ck_assert_str_eq(act.target, "b1");
	/* no data: a copy of the standby leader, once it runs */
	in.pg.state = PG_ABSENT;
	ck_assert_int_eq(run(), ACT_BASEBACKUP);
	ck_assert_str_eq(act.target, "b1");
	members[0].healthy = false;
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

START_TEST(first_member_copies_the_main_cluster)
{
	add("b1", MEMBER_STOPPED, 0);
	snprintf(members[0].state, sizeof(members[0].state), "uninitialized");
	in.initialized = false;
	in.pg.state = PG_ABSENT;
	in.bootstrap_grace = true;
	ck_assert_int_eq(run(), ACT_NONE);
	in.bootstrap_grace = false;
	ck_assert_int_eq(run(), ACT_ACQUIRE); /* never initdb */
	struct member *b2 = add("b2", MEMBER_STOPPED, 0);
	ck_assert_int_eq(run(), ACT_NONE); /* b2 has data: it leads */
	snprintf(b2->state, sizeof(b2->state), "uninitialized");
	in.nofailover = true;
	ck_assert_int_eq(run(), ACT_NONE);
	in.nofailover = false;
	holder("b1");
	ck_assert_int_eq(run(), ACT_BASEBACKUP);
	ck_assert_str_eq(act.target, STANDBY_CLUSTER_UPSTREAM);
}
END_TEST

START_TEST(free_lease_goes_to_the_most_advanced)
{
	add("b1", MEMBER_REPLICA, 90);
	add("b2", MEMBER_REPLICA, 100);
	in.pg.state = PG_REPLICA;
	upstream("b0"); /* the leader that died: no freeze first */
	ck_assert_int_eq(run(), ACT_NONE);
	ck_assert_str_eq(act.target, "b2");
	members[1].healthy = false;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	in.paused = true;
	ck_assert_int_eq(run(), ACT_NONE);
	in.paused = false;
	members[0].nofailover = true;
	ck_assert_int_eq(run(), ACT_NONE);
	members[0].nofailover = false;
	in.nofailover = true; /* vetoed for a while: not in its record */
	ck_assert_int_eq(run(), ACT_NONE);
	in.nofailover = false;
	/* not initialised yet either: no adoption of a standby's data */
	members[0].nofailover = false;
	in.initialized = false;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
}
END_TEST

Suite *standby_suite(void)
{
	Suite *s = suite_create("standby_cluster");
	TCase *t = tcase_create("settings");
	tcase_add_test(t, parses_and_formats);
	tcase_add_test(t, refuses_bad_values);
	tcase_add_test(t, set_and_removed_by_assignment);
	tcase_add_test(t, roster_names_the_standby_leader);
	suite_add_tcase(s, t);
	TCase *d = tcase_create("decide");
	tcase_add_checked_fixture(d, setup, NULL);
	tcase_add_test(d, leader_follows_the_main_cluster);
	tcase_add_test(d, leader_never_promotes);
	tcase_add_test(d, members_cascade_from_the_leader);
	tcase_add_test(d, first_member_copies_the_main_cluster);
	tcase_add_test(d, free_lease_goes_to_the_most_advanced);
	suite_add_tcase(s, d);
	return s;
}
