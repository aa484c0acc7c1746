/*
 * test_decide.c — the agent's rules (fencing/decide.h), one test per rule:
 * fencing first, nothing without the witnesses, bootstrap, following,
 * the freeze before a failover, and who may be promoted in synchronous
 * and asynchronous mode.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "fencing/decide.h"
#include "fencing/roster.h"
#include "tests/unit/suites.h"

static struct member members[8];
static struct decide_input in;

static struct member *add(const char *name, enum member_role role, uint64_t lsn)
{
	struct member *m = &members[in.n_members++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->pg, sizeof(m->pg), "127.0.0.1:5432");
	m->role = role;
	m->received_lsn = lsn;
	m->healthy = true;
	m->priority = 1;
	return m;
}

static void setup(void)
{
	memset(&in, 0, sizeof(in));
	in.name = "pg2";
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
}

/* S/sync as the primary wrote it (it exists: the synchronous rule) */
static void sync_key(const char *list)
{
	in.sync_key = list;
	in.sync_key_absent = false;
}

static enum decide_kind run(void)
{
	struct decide_action a;
	decide(&in, &a);
	return a.kind;
}

static void holder(const char *name)
{
	snprintf(in.lease.holder, sizeof(in.lease.holder), "%s", name);
}

/* ---- docs/design.md rule 7 first -------------------------------------- */

START_TEST(primary_without_lease_is_fenced)
{
	in.pg.state = PG_PRIMARY;
	holder("pg2"); /* the witnesses' view alone is not enough */
	ck_assert_int_eq(run(), ACT_FENCE);
	in.lease.known = false; /* nor is being cut off an excuse */
	ck_assert_int_eq(run(), ACT_FENCE);
	in.lease.mine_valid = true;
	in.lease.known = true;
	ck_assert_int_ne(run(), ACT_FENCE);
}
END_TEST

/* Maintenance mode: the primary left running by its stopped agent is taken
 * back by that agent, and only while everything says it still may be. */
START_TEST(paused_primary_left_running_is_reclaimed)
{
	in.pg.state = PG_PRIMARY;
	in.paused = true;
	in.unguarded = "pg2";
	ck_assert_int_eq(run(), ACT_RECLAIM); /* lease free */
	holder("pg2");
	ck_assert_int_eq(run(), ACT_RECLAIM); /* still its own */
	holder("pg3");
	ck_assert_int_eq(run(), ACT_FENCE); /* another took over */
	holder("");
	in.unguarded = "pg3";
	ck_assert_int_eq(run(), ACT_FENCE); /* not the one left */
	in.unguarded = "";
	ck_assert_int_eq(run(), ACT_FENCE); /* cleared by a failover */
	in.unguarded = "pg2";
	in.paused = false;
	ck_assert_int_eq(run(), ACT_FENCE); /* resumed meanwhile */
	in.paused = true;
	in.lease.known = false;
	ck_assert_int_eq(run(), ACT_FENCE); /* cut off: no excuse */
}
END_TEST

static const char *reason(void);

/* Two processes with one name: the lease held under that name by the
 * other one is neither taken over nor kept by reclaiming. */
START_TEST(same_name_other_process_is_not_me)
{
	holder("pg2");
	in.lease.other_incarnation = true;
	in.pg.state = PG_REPLICA;
	ck_assert_int_eq(run(), ACT_NONE);
	in.pg.state = PG_STOPPED;
	ck_assert_int_eq(run(), ACT_NONE);
	in.pg.state = PG_PRIMARY;
	in.paused = true;
	in.unguarded = "pg2";
	ck_assert_int_eq(run(), ACT_FENCE);
	in.lease.other_incarnation = false;
	ck_assert_int_eq(run(), ACT_RECLAIM);
}
END_TEST

/* nofailover: never bootstraps, adopts or takes a lease back. */
START_TEST(nofailover_never_becomes_primary)
{
	in.nofailover = true;
	in.initialized = false;
	in.pg.state = PG_ABSENT;
	ck_assert_int_eq(run(), ACT_NONE);
	ck_assert_ptr_nonnull(strstr(reason(), "nofailover"));
	in.pg.state = PG_STOPPED;
	in.pg.controldata_ok = true;
	in.pg.was_primary = true;
	ck_assert_int_eq(run(), ACT_NONE); /* no adoption */
	in.initialized = true;
	holder("pg2");
	in.pg.state = PG_REPLICA;
	ck_assert_int_eq(run(), ACT_NONE); /* not "still mine" */
	in.nofailover = false;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
}
END_TEST

/* failover --force: the named candidate once frozen, whatever it lacks;
 * without --force the lag rule keeps it out. */
START_TEST(forced_failover_takes_the_named_candidate)
{
	in.last_primary_lsn = 100 << 20;
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	add("pg2", MEMBER_REPLICA, 10 << 20)->frozen_token = 5;
	add("pg3", MEMBER_REPLICA, 20 << 20)->frozen_token = 5;
	in.switch_candidate = "pg2";
	in.switch_is_failover = true;
	ck_assert_int_eq(run(), ACT_NONE); /* 90 MB behind: not eligible */
	in.switch_force = true;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	in.sync_mode = true; /* not listed in S/sync either */
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	members[0].frozen_token = 0; /* still replicating: not yet */
	ck_assert_int_eq(run(), ACT_NONE);
	members[0].frozen_token = 5;
	in.switch_is_failover = false; /* force is for failovers only */
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

/* Asynchronous mode: an old primary that went on writing on its old
 * timeline while cut off is as far as the fork only. */
START_TEST(older_timeline_is_not_ahead)
{
	struct optime rec = { .lsn = 100 << 20,
			      .timeline = 3,
			      .tl_start = 90 << 20 };
	in.last_primary_lsn = rec.lsn;
	in.last_optime = &rec;
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	struct member *m = add("pg2", MEMBER_REPLICA, 200 << 20);
	m->frozen_token = 5;
	m->timeline = 2; /* 200 MB, but of another history past 90 MB */
	ck_assert_int_eq(run(), ACT_NONE);
	m->timeline = 3;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
}
END_TEST

/* Every acknowledged commit stays on a node S/sync names: S/sync names a
 * new list only once one of its nodes reached where the primary was when
 * Postgres began to wait for it; Postgres waits for nobody only once
 * S/sync names nobody. */
START_TEST(sync_key_follows_postgres_once_caught_up)
{
	holder("pg2");
	in.lease.mine_valid = true;
	in.pg.state = PG_PRIMARY;
	in.sync_mode = true;
	struct member *c = add("pg3", MEMBER_REPLICA, 1000);
	snprintf(c->upstream, sizeof(c->upstream), "pg2");
	snprintf(c->state, sizeof(c->state), "streaming");
	sync_key("pg4"); /* pg4 gone: pg3 is wanted instead */
	ck_assert_int_eq(run(), ACT_SET_SYNC); /* Postgres first */
	snprintf(in.pg.sync_names, sizeof(in.pg.sync_names), "pg3");
	in.pg.sync_count = 1;
	in.sync_since_lsn = 5000; /* pg3 is at 1000: not yet */
	ck_assert_int_eq(run(), ACT_NONE);
	ck_assert_ptr_nonnull(strstr(reason(), "catch up"));
	/* the primary's own pg_stat_replication is fresher than pg3's record */
	snprintf(in.pg.standby_flush, sizeof(in.pg.standby_flush),
		 "pg30=9000,pg3=4999");
	ck_assert_int_eq(run(), ACT_NONE);
	snprintf(in.pg.standby_flush, sizeof(in.pg.standby_flush),
		 "pg30=9000,pg3=5000");
	ck_assert_int_eq(run(), ACT_SYNC_KEY);
	in.pg.standby_flush[0] = '\0';
	c->received_lsn = 5000;
	ck_assert_int_eq(run(), ACT_SYNC_KEY);
	/* nobody left to wait for: S/sync emptied (by the same step that
	 * then changes Postgres) */
	c->role = MEMBER_STOPPED;
	sync_key("pg3");
	ck_assert_int_eq(run(), ACT_SET_SYNC);
	struct decide_action a;
	decide(&in, &a);
	ck_assert_str_eq(a.target, "");
}
END_TEST

START_TEST(nothing_without_the_witnesses)
{
	in.lease.known = false;
	in.pg.state = PG_REPLICA;
	ck_assert_int_eq(run(), ACT_NONE);
	in.pg.state = PG_ABSENT;
	in.initialized = false;
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

/* ---- bootstrap ---------------------------------------------------------- */

START_TEST(empty_dir_bootstraps_only_a_new_cluster)
{
	in.pg.state = PG_ABSENT;
	in.initialized = false;
	ck_assert_int_eq(run(), ACT_BOOTSTRAP);
	in.initialized = true;
	ck_assert_int_eq(run(), ACT_NONE);
	holder("pg1");
	ck_assert_int_eq(run(), ACT_NONE); /* no record to copy from yet */
	add("pg1", MEMBER_PRIMARY, 100);
	ck_assert_int_eq(run(), ACT_BASEBACKUP);
}
END_TEST

/* ---- adopting existing data (a new scope, e.g. after Patroni) ---------- */

static const char *reason(void)
{
	static struct decide_action a;
	decide(&in, &a);
	return a.reason;
}

static void stopped_primary_data(void)
{
	in.initialized = false;
	in.pg.state = PG_STOPPED;
	in.pg.controldata_ok = true;
	in.pg.was_primary = true;
}

START_TEST(former_primary_data_is_adopted)
{
	stopped_primary_data();
	ck_assert_int_eq(run(), ACT_ADOPT);
	in.pg.clean = true; /* shut down or crashed: both are adopted */
	ck_assert_int_eq(run(), ACT_ADOPT);
	in.paused = true;
	ck_assert_int_eq(run(), ACT_NONE);
	in.paused = false;
	in.pg.controldata_ok = false; /* unreadable: not known to be one */
	ck_assert_int_eq(run(), ACT_NONE);
	in.pg.controldata_ok = true;
	in.initialized = true; /* an initialised scope fails over instead */
	ck_assert_int_eq(run(), ACT_START);
	in.initialized = false;
	holder("pg1"); /* someone adopted first: rewind and follow it */
	add("pg1", MEMBER_PRIMARY, 100);
	ck_assert_int_eq(run(), ACT_REWIND);
}
END_TEST

START_TEST(standby_data_is_never_adopted)
{
	stopped_primary_data();
	in.pg.standby_data = true; /* standby.signal or recovery.signal */
	ck_assert_int_eq(run(), ACT_NONE);
	ck_assert_str_eq(reason(),
			 "waiting for a primary to adopt or bootstrap");
	in.pg.standby_data = false;
	in.pg.was_primary = false; /* "shut down in recovery" */
	ck_assert_int_eq(run(), ACT_NONE);
	in.pg.state = PG_REPLICA; /* running: no freeze, no failover */
	ck_assert_int_eq(run(), ACT_NONE);
	add("pg2", MEMBER_REPLICA, 100)->frozen_token = 1;
	in.pg.frozen = true;
	ck_assert_int_eq(run(), ACT_NONE);
	holder("pg1"); /* once a primary exists: follow it, no copy */
	add("pg1", MEMBER_PRIMARY, 100);
	ck_assert_int_eq(run(), ACT_REPOINT);
	in.pg.state = PG_STOPPED;
	struct decide_action a;
	decide(&in, &a);
	ck_assert_int_eq(a.kind, ACT_START);
	ck_assert_str_eq(a.target, "pg1");
}
END_TEST

START_TEST(empty_dir_waits_for_members_with_data)
{
	in.pg.state = PG_ABSENT;
	in.initialized = false;
	struct member *m = add("pg1", MEMBER_STOPPED, 0);
	snprintf(m->state, sizeof(m->state), "stopped");
	ck_assert_int_eq(run(), ACT_NONE);
	ck_assert_str_eq(reason(), "another member has data: waiting for a "
				   "primary to adopt it");
	snprintf(m->state, sizeof(m->state), "uninitialized");
	ck_assert_int_eq(run(), ACT_BOOTSTRAP);
	in.bootstrap_grace = true; /* others may not have registered yet */
	ck_assert_int_eq(run(), ACT_NONE);
	in.bootstrap_grace = false;
	snprintf(m->state, sizeof(m->state), "stopped");
	holder("pg1"); /* adopting: copy it once it runs */
	ck_assert_int_eq(run(), ACT_NONE);
	m->role = MEMBER_PRIMARY;
	ck_assert_int_eq(run(), ACT_BASEBACKUP);
}
END_TEST

START_TEST(adopting_holder_goes_on_and_marks_initialized)
{
	stopped_primary_data();
	holder("pg2");
	in.lease.mine_valid = true; /* restarted half-way through */
	ck_assert_int_eq(run(), ACT_ADOPT);
	in.pg.standby_data = true;
	ck_assert_int_eq(run(), ACT_START);
	in.pg.state = PG_PRIMARY; /* S/initialize lost: written again */
	ck_assert_int_eq(run(), ACT_MARK_INIT);
	in.initialized = true;
	ck_assert_int_eq(run(), ACT_NONE);
	in.lease.mine_valid = false; /* restarted: the lease first */
	in.initialized = false;
	in.pg.state = PG_STOPPED;
	in.pg.standby_data = false;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	ck_assert_str_eq(decide_kind_name(ACT_ADOPT), "adopt");
}
END_TEST

/* ---- the holder ------------------------------------------------------------ */

START_TEST(holder_starts_then_promotes)
{
	holder("pg2");
	in.lease.mine_valid = true;
	in.pg.state = PG_STOPPED;
	ck_assert_int_eq(run(), ACT_START);
	in.pg.state = PG_REPLICA;
	ck_assert_int_eq(run(), ACT_PROMOTE);
	in.pg.state = PG_PRIMARY;
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

START_TEST(restarted_agent_takes_its_own_lease_again)
{
	holder("pg2");
	in.pg.state = PG_STOPPED;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	in.pg.state = PG_PRIMARY; /* but a running primary is fenced first */
	ck_assert_int_eq(run(), ACT_FENCE);
}
END_TEST

START_TEST(primary_keeps_sync_list_in_step)
{
	in.sync_mode = true;
	holder("pg2");
	in.lease.mine_valid = true;
	in.pg.state = PG_PRIMARY;
	add("pg2", MEMBER_PRIMARY, 100);
	struct member *r[4] = { add("pg3", MEMBER_REPLICA, 100),
				add("pg1", MEMBER_REPLICA, 100),
				add("pg4", MEMBER_REPLICA, 100),
				add("pg5", MEMBER_REPLICA, 100) };
	for (int i = 0; i < 4; i++) {
		snprintf(r[i]->upstream, sizeof(r[i]->upstream), "pg2");
		snprintf(r[i]->state, sizeof(r[i]->state), "streaming");
	}
	r[2]->nofailover = true;
	snprintf(r[3]->state, sizeof(r[3]->state), "in archive recovery");
	struct decide_action a;
	decide(&in, &a);
	ck_assert_int_eq(a.kind, ACT_SET_SYNC);
	/* sorted; nofailover and not streaming from us: out */
	ck_assert_str_eq(a.target, "pg1,pg3");
	snprintf(in.pg.sync_names, sizeof(in.pg.sync_names), "pg1,pg3");
	in.pg.sync_count = 1;
	sync_key("pg1,pg3");
	ck_assert_int_eq(run(), ACT_NONE);
	in.sync_key_known = false;
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

START_TEST(async_primary_clears_sync_names)
{
	holder("pg2");
	in.lease.mine_valid = true;
	in.pg.state = PG_PRIMARY;
	snprintf(in.pg.sync_names, sizeof(in.pg.sync_names), "pg1");
	struct decide_action a;
	decide(&in, &a);
	ck_assert_int_eq(a.kind, ACT_SET_SYNC);
	ck_assert_str_eq(a.target, "");
}
END_TEST

START_TEST(switchover_only_to_a_healthy_replica)
{
	holder("pg2");
	in.lease.mine_valid = true;
	in.pg.state = PG_PRIMARY;
	in.switch_from_me = true;
	in.switch_candidate = "pg3";
	ck_assert_int_eq(run(), ACT_NONE); /* unknown candidate */
	struct member *c = add("pg3", MEMBER_REPLICA, 100);
	c->healthy = false;
	ck_assert_int_eq(run(), ACT_NONE);
	c->healthy = true;
	ck_assert_int_eq(run(), ACT_SWITCHOVER);
	in.sync_mode = true; /* sync: only to a listed standby */
	snprintf(c->upstream, sizeof(c->upstream), "pg2");
	snprintf(c->state, sizeof(c->state), "streaming");
	snprintf(in.pg.sync_names, sizeof(in.pg.sync_names), "pg3");
	in.pg.sync_count = 1;
	sync_key("");
	ck_assert_int_eq(run(), ACT_SYNC_KEY); /* list it first */
	sync_key("pg3");
	ck_assert_int_eq(run(), ACT_SWITCHOVER);
	in.switch_is_failover = true; /* failover requests are for no primary */
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

/* ---- following ------------------------------------------------------------- */

START_TEST(old_primary_recovers_rewinds_then_follows)
{
	holder("pg1");
	add("pg1", MEMBER_PRIMARY, 100);
	in.pg.state = PG_STOPPED;
	in.pg.was_primary = true;
	ck_assert_int_eq(run(), ACT_RECOVER);
	in.pg.clean = true;
	ck_assert_int_eq(run(), ACT_REWIND);
	in.pg.rewound = true;
	ck_assert_int_eq(run(), ACT_START);
}
END_TEST

/* Only diverged or damaged data is copied afresh, after
 * DECIDE_START_FAILURES starts, and not again before copy_wait_ms. */
START_TEST(standby_that_never_comes_up_is_copied_afresh)
{
	static const enum startfail_cause copied[] = { SF_DIVERGED,
						       SF_DAMAGED };
	for (size_t i = 0; i < 2; i++) {
		setup();
		in.n_members = 0;
		holder("pg1");
		add("pg1", MEMBER_PRIMARY, 100);
		in.pg.state = PG_STOPPED;
		in.pg.start_cause = copied[i];
		in.pg.start_failures = DECIDE_START_FAILURES - 1;
		ck_assert_int_eq(run(), ACT_START);
		in.pg.start_failures = DECIDE_START_FAILURES;
		ck_assert_int_eq(run(), ACT_RECLONE);
		in.pg.copy_wait_ms = 1000; /* the last copy never came up */
		ck_assert_int_eq(run(), ACT_NONE);
		in.pg.copy_wait_ms = 0;
		holder(""); /* no primary to copy from: keep trying */
		ck_assert_int_eq(run(), ACT_START);
	}
}
END_TEST

/* Any other cause would fail the same way after a copy: never copied,
 * started again only once the back-off is over, and the reason says
 * why. */
START_TEST(standby_that_cannot_start_is_not_copied)
{
	static const enum startfail_cause kept[] = { SF_UNKNOWN,
						     SF_SETTINGS_LOW, SF_CONFIG,
						     SF_RESOURCE };
	struct decide_action a;
	for (size_t i = 0; i < 4; i++) {
		setup();
		in.n_members = 0;
		holder("pg1");
		add("pg1", MEMBER_PRIMARY, 100);
		in.pg.state = PG_STOPPED;
		in.pg.start_cause = kept[i];
		in.pg.start_failures = 50;
		in.pg.start_wait_ms = 4000;
		decide(&in, &a);
		ck_assert_int_eq(a.kind, ACT_NONE);
		ck_assert_str_eq(a.reason, startfail_reason(kept[i]));
		in.pg.start_wait_ms = 0;
		ck_assert_int_eq(run(), ACT_START);
		holder(""); /* the lease free: the same back-off */
		in.pg.start_wait_ms = 4000;
		ck_assert_int_eq(run(), ACT_NONE);
		in.pg.start_wait_ms = 0;
		ck_assert_int_eq(run(), ACT_START);
	}
}
END_TEST

START_TEST(replica_repoints_to_the_holder)
{
	holder("pg1");
	add("pg1", MEMBER_PRIMARY, 100);
	in.pg.state = PG_REPLICA;
	snprintf(in.pg.upstream, sizeof(in.pg.upstream), "pg3");
	ck_assert_int_eq(run(), ACT_REPOINT);
	snprintf(in.pg.upstream, sizeof(in.pg.upstream), "pg1");
	in.pg.streaming = true;
	ck_assert_int_eq(run(), ACT_NONE);
	in.pg.frozen = true; /* a frozen standby resumes */
	ck_assert_int_eq(run(), ACT_REPOINT);
}
END_TEST

START_TEST(stuck_replica_on_old_timeline_is_rewound)
{
	holder("pg1");
	struct member *p = add("pg1", MEMBER_PRIMARY, 100);
	p->timeline = 3;
	in.pg.state = PG_REPLICA;
	in.pg.timeline = 2;
	snprintf(in.pg.upstream, sizeof(in.pg.upstream), "pg1");
	in.pg.not_streaming_ms = 1000;
	ck_assert_int_eq(run(), ACT_NONE);
	in.pg.not_streaming_ms = 60000;
	ck_assert_int_eq(run(), ACT_RESTART_STANDBY);
}
END_TEST

/* ---- failover ------------------------------------------------------------- */

START_TEST(free_lease_freeze_first)
{
	in.pg.state = PG_REPLICA;
	ck_assert_int_eq(run(), ACT_FREEZE);
	in.paused = true; /* paused: not even the freeze */
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

START_TEST(async_most_advanced_takes_the_lease)
{
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	struct member *me = add("pg2", MEMBER_REPLICA, 200);
	struct member *other = add("pg3", MEMBER_REPLICA, 100);
	me->frozen_token = other->frozen_token = 5;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	other->received_lsn = 300;
	ck_assert_int_eq(run(), ACT_NONE);
	other->nofailover = true;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
}
END_TEST

START_TEST(every_running_standby_freezes_before_a_choice)
{
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	add("pg2", MEMBER_REPLICA, 200)->frozen_token = 5;
	add("pg3", MEMBER_REPLICA, 100);
	const char *why = NULL;
	ck_assert_ptr_null(decide_winner(&in, &why));
	ck_assert_ptr_nonnull(strstr(why, "freeze"));
}
END_TEST

START_TEST(async_lag_limit)
{
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	add("pg2", MEMBER_REPLICA, 100)->frozen_token = 5;
	in.last_primary_lsn = 100 + (2 << 20);
	ck_assert_int_eq(run(), ACT_NONE);
	in.last_primary_lsn = 100 + (1 << 20);
	ck_assert_int_eq(run(), ACT_ACQUIRE);
}
END_TEST

START_TEST(sync_needs_every_sync_standby_frozen)
{
	in.sync_mode = true;
	sync_key("pg2,pg3");
	in.last_primary = "pg1";
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	add("pg2", MEMBER_REPLICA, 200)->frozen_token = 5;
	/* pg3 could hold a commit pg2 lacks: without its word, nobody */
	ck_assert_int_eq(run(), ACT_NONE);
	struct member *p3 = add("pg3", MEMBER_REPLICA, 100);
	ck_assert_int_eq(run(), ACT_NONE);
	p3->frozen_token = 5;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	p3->received_lsn = 300; /* pg3 is ahead: only pg3 may go */
	ck_assert_int_eq(run(), ACT_NONE);
	p3->healthy = false; /* ... and if it cannot, nobody may */
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

/* ANY 2 changes nothing: S/sync does not say how many standbys each
 * commit waited for (the count is capped at the standbys streaming, so
 * commits acknowledged under ANY 1 by pg3 alone may exist), so one frozen
 * member of two is never enough (docs/safety.md; the simulator's
 * --bug sync-quorum). */
START_TEST(sync_count_two_still_needs_every_sync_standby)
{
	in.sync_mode = true;
	in.sync_count = 2;
	sync_key("pg2,pg3");
	in.last_primary = "pg1";
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	add("pg2", MEMBER_REPLICA, 100)->frozen_token = 5;
	ck_assert_int_eq(run(), ACT_NONE); /* pg3 not heard from */
	ck_assert_str_eq(reason(), "waiting for every synchronous standby "
				   "to freeze");
	struct member *p3 = add("pg3", MEMBER_REPLICA, 300);
	p3->role = MEMBER_STOPPED; /* down: still waited for */
	p3->healthy = false;
	ck_assert_int_eq(run(), ACT_NONE);
	p3->role = MEMBER_REPLICA;
	p3->healthy = true;
	p3->frozen_token = 5;
	ck_assert_int_eq(run(), ACT_NONE); /* pg3 is ahead: pg3's turn */
	p3->received_lsn = 100;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
}
END_TEST

START_TEST(sync_old_primary_back_may_be_promoted)
{
	in.sync_mode = true;
	sync_key("pg3");
	in.last_primary = "pg2"; /* this node, restarted as a standby */
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	add("pg2", MEMBER_REPLICA, 500)->frozen_token = 5;
	add("pg3", MEMBER_REPLICA, 400)->frozen_token = 5;
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	members[0].received_lsn = 300; /* never one behind a listed one */
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

START_TEST(paused_still_starts_postgres)
{
	in.paused = true;
	in.pg.state = PG_STOPPED;
	ck_assert_int_eq(run(), ACT_START);
	in.pg.state = PG_REPLICA;
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

START_TEST(sync_candidate_must_be_in_the_list)
{
	in.sync_mode = true;
	sync_key("pg3");
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	add("pg2", MEMBER_REPLICA, 500)->frozen_token = 5;
	add("pg3", MEMBER_REPLICA, 100)->frozen_token = 5;
	const char *why = NULL;
	const struct member *w = decide_winner(&in, &why);
	ck_assert_ptr_nonnull(w);
	ck_assert_str_eq(w->name, "pg3");
	sync_key("");
	ck_assert_ptr_null(decide_winner(&in, &why));
}
END_TEST

/* pg1 was a synchronous standby, then promoted, and died before S/sync
 * narrowed: it may hold commits it acknowledged as a standby that pg2
 * lacks, so the failover waits for it (found by tests/sim/agent-sim). */
START_TEST(sync_old_primary_in_list_is_waited_for)
{
	in.sync_mode = true;
	sync_key("pg1,pg2");
	in.last_primary = "pg1";
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	add("pg2", MEMBER_REPLICA, 200)->frozen_token = 5;
	ck_assert_int_eq(run(), ACT_NONE);
	add("pg1", MEMBER_REPLICA, 150)->frozen_token = 5; /* back, frozen */
	ck_assert_int_eq(run(), ACT_ACQUIRE);              /* pg2 is further */
}
END_TEST

START_TEST(requested_candidate_wins_if_eligible)
{
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	in.switch_candidate = "pg3";
	add("pg2", MEMBER_REPLICA, 200)->frozen_token = 5;
	struct member *c = add("pg3", MEMBER_REPLICA, 100);
	c->frozen_token = 5;
	ck_assert_int_eq(run(), ACT_NONE);
	in.name = "pg3";
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	in.sync_mode = true; /* but never one that lacks commits: */
	sync_key("pg2,pg3");
	ck_assert_int_eq(run(), ACT_NONE);
	in.name = "pg2"; /* the cluster still gets a primary */
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	in.paused = true; /* ... unless paused: then only the one asked for */
	ck_assert_int_eq(run(), ACT_NONE);
	in.sync_mode = false;
	in.name = "pg3";
	/* turned off, but S/sync still there: its rule still holds */
	ck_assert_int_eq(run(), ACT_NONE);
	in.sync_key_absent = true; /* the asynchronous primary removed it */
	ck_assert_int_eq(run(), ACT_ACQUIRE);
}
END_TEST

/* ---- scope-wide changes of synchronous mode -------------------------------- */

START_TEST(sync_newly_on_uses_the_async_rule)
{
	in.sync_mode = true; /* on, but S/sync never written */
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	in.last_primary = "pg1";
	in.last_primary_lsn = 500;
	add("pg2", MEMBER_REPLICA, 500)->frozen_token = 5;
	add("pg3", MEMBER_REPLICA, 500)->frozen_token = 5;
	const char *why = NULL;
	const struct member *w = decide_winner(&in, &why);
	ck_assert_ptr_nonnull(w);
	ck_assert_str_eq(w->name, "pg2");
	/* the same winner as a node still asynchronous: no disagreement */
	in.sync_mode = false;
	ck_assert_ptr_eq(decide_winner(&in, &why), w);
	in.sync_mode = true;
	sync_key(""); /* written, and empty: nobody holds every commit */
	ck_assert_ptr_null(decide_winner(&in, &why));
	ck_assert_str_eq(why, "no synchronous standby: only the last primary "
			      "may be promoted");
	add("pg1", MEMBER_REPLICA, 400)->frozen_token = 5; /* it is back */
	ck_assert_str_eq(decide_winner(&in, &why)->name, "pg1");
	in.n_members--;
	sync_key("pg3"); /* written: only pg3 */
	ck_assert_str_eq(decide_winner(&in, &why)->name, "pg3");
}
END_TEST

START_TEST(async_primary_removes_sync_key_after_postgres)
{
	holder("pg2");
	in.lease.mine_valid = true;
	in.pg.state = PG_PRIMARY;
	sync_key("pg3");
	snprintf(in.pg.sync_names, sizeof(in.pg.sync_names), "pg3");
	struct decide_action a;
	decide(&in, &a); /* Postgres first ... */
	ck_assert_int_eq(a.kind, ACT_SET_SYNC);
	ck_assert_str_eq(a.target, "");
	in.pg.sync_names[0] = '\0';
	decide(&in, &a); /* ... then the key */
	ck_assert_int_eq(a.kind, ACT_SET_SYNC);
	ck_assert_str_eq(a.reason, "asynchronous mode: S/sync removed");
	in.sync_key_absent = true;
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

START_TEST(sync_count_follows_the_setting)
{
	in.sync_mode = true;
	holder("pg2");
	in.lease.mine_valid = true;
	in.pg.state = PG_PRIMARY;
	add("pg2", MEMBER_PRIMARY, 100);
	struct member *r[2] = { add("pg1", MEMBER_REPLICA, 100),
				add("pg3", MEMBER_REPLICA, 100) };
	for (int i = 0; i < 2; i++) {
		snprintf(r[i]->upstream, sizeof(r[i]->upstream), "pg2");
		snprintf(r[i]->state, sizeof(r[i]->state), "streaming");
	}
	snprintf(in.pg.sync_names, sizeof(in.pg.sync_names), "pg1,pg3");
	in.pg.sync_count = 1;
	sync_key("pg1,pg3");
	ck_assert_int_eq(run(), ACT_NONE);
	in.sync_count = 2;
	ck_assert_int_eq(run(), ACT_SET_SYNC);
	in.pg.sync_count = 2;
	ck_assert_int_eq(run(), ACT_NONE);
	ck_assert_int_eq(decide_sync_count(5, "a,b"), 2);
	ck_assert_int_eq(decide_sync_count(0, "a,b"), 1);
	ck_assert_int_eq(decide_sync_count(2, ""), 0);
}
END_TEST

/* nosync and cascading standbys are never listed: a nosync one by the
 * operator's word; a cascading one does not stream from the primary, so
 * its flush position acknowledges none of the primary's commits. */
START_TEST(sync_list_leaves_out_nosync_and_cascading)
{
	in.sync_mode = true;
	holder("pg2");
	in.lease.mine_valid = true;
	in.pg.state = PG_PRIMARY;
	add("pg2", MEMBER_PRIMARY, 100);
	struct member *r[3] = { add("pg1", MEMBER_REPLICA, 100),
				add("pg3", MEMBER_REPLICA, 100),
				add("pg4", MEMBER_REPLICA, 100) };
	for (int i = 0; i < 3; i++) {
		snprintf(r[i]->upstream, sizeof(r[i]->upstream), "pg2");
		snprintf(r[i]->state, sizeof(r[i]->state), "streaming");
	}
	r[1]->nosync = true;
	snprintf(r[2]->upstream, sizeof(r[2]->upstream), "pg1");
	snprintf(r[2]->replicatefrom, sizeof(r[2]->replicatefrom), "pg1");
	char wanted[512];
	decide_sync_wanted(&in, wanted, sizeof(wanted));
	ck_assert_str_eq(wanted, "pg1");
	r[1]->nosync = false;
	decide_sync_wanted(&in, wanted, sizeof(wanted));
	ck_assert_str_eq(wanted, "pg1,pg3");
}
END_TEST

/* Strict mode: with nobody to wait for, Postgres waits for a name no
 * standby has, so commits block instead of going on unreplicated. */
START_TEST(strict_mode_lists_nobody)
{
	in.sync_mode = true;
	in.sync_strict = true;
	holder("pg2");
	in.lease.mine_valid = true;
	in.pg.state = PG_PRIMARY;
	add("pg2", MEMBER_PRIMARY, 100);
	sync_key("");
	struct decide_action a;
	decide(&in, &a);
	ck_assert_int_eq(a.kind, ACT_SET_SYNC);
	ck_assert_str_eq(a.target, ""); /* S/sync names nobody */
	snprintf(in.pg.sync_names, sizeof(in.pg.sync_names), "%s",
		 DECIDE_SYNC_NOBODY);
	in.pg.sync_count = 1;
	ck_assert_int_eq(run(), ACT_NONE); /* in step: writes wait */
	in.sync_strict = false; /* not strict: wait for nobody at all */
	ck_assert_int_eq(run(), ACT_SET_SYNC);
	in.sync_strict = true;
	in.sync_mode = false; /* strict means nothing in async mode */
	ck_assert_int_eq(run(), ACT_SET_SYNC);
	ck_assert_str_eq(decide_sync_names(true, ""), DECIDE_SYNC_NOBODY);
	ck_assert_str_eq(decide_sync_names(true, "pg1"), "pg1");
	ck_assert_str_eq(decide_sync_names(false, ""), "");
}
END_TEST

/* replicatefrom: the named replica while it streams from the primary,
 * back to the primary when it does not, and to it again when it does. */
START_TEST(cascading_standby_follows_the_named_replica)
{
	holder("pg1");
	add("pg1", MEMBER_PRIMARY, 100);
	struct member *self = add("pg2", MEMBER_REPLICA, 100);
	snprintf(self->replicatefrom, sizeof(self->replicatefrom), "pg3");
	struct member *u = add("pg3", MEMBER_REPLICA, 100);
	snprintf(u->upstream, sizeof(u->upstream), "pg1");
	snprintf(u->state, sizeof(u->state), "streaming");
	in.pg.state = PG_REPLICA;
	in.pg.streaming = true;
	snprintf(in.pg.upstream, sizeof(in.pg.upstream), "pg1");
	struct decide_action a;
	decide(&in, &a);
	ck_assert_int_eq(a.kind, ACT_REPOINT);
	ck_assert_str_eq(a.target, "pg3");
	snprintf(in.pg.upstream, sizeof(in.pg.upstream), "pg3");
	ck_assert_int_eq(run(), ACT_NONE);
	/* pg3 stops (or its record goes): back to the primary */
	u->healthy = false;
	u->role = MEMBER_STOPPED;
	decide(&in, &a);
	ck_assert_int_eq(a.kind, ACT_REPOINT);
	ck_assert_str_eq(a.target, "pg1");
	/* pg3 cascades itself: no chains (they could loop) */
	u->healthy = true;
	u->role = MEMBER_REPLICA;
	snprintf(u->upstream, sizeof(u->upstream), "pg2");
	ck_assert_str_eq(decide_upstream(&in), "pg1");
	snprintf(u->upstream, sizeof(u->upstream), "pg1");
	u->frozen_token = 7; /* frozen for a failover: not a source */
	ck_assert_str_eq(decide_upstream(&in), "pg1");
	u->frozen_token = 0;
	ck_assert_str_eq(decide_upstream(&in), "pg3");
	/* a stopped standby starts straight from the named replica */
	in.pg.state = PG_STOPPED;
	decide(&in, &a);
	ck_assert_int_eq(a.kind, ACT_START);
	ck_assert_str_eq(a.target, "pg3");
}
END_TEST

START_TEST(overdue_switchover_old_primary_takes_back)
{
	in.sync_mode = true;
	sync_key(""); /* refuses every candidate but the last primary */
	in.name = "pg1";
	in.last_primary = "pg1";
	in.pg.state = PG_REPLICA;
	in.pg.frozen = true;
	add("pg1", MEMBER_REPLICA, 900)->frozen_token = 5;
	add("pg2", MEMBER_REPLICA, 900)->frozen_token = 5;
	in.switch_candidate = "pg2";
	in.name = "pg2";
	ck_assert_int_eq(run(), ACT_NONE);
	in.name = "pg1";
	in.switch_overdue = true;
	in.switch_candidate = "";
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	in.paused = true; /* the request was the operator's: paused too */
	ck_assert_int_eq(run(), ACT_ACQUIRE);
	in.paused = false;
	in.name = "pg2";
	struct decide_action a;
	decide(&in, &a);
	ck_assert_int_eq(a.kind, ACT_NONE);
	ck_assert_str_eq(a.target, "pg1");
	members[0].nofailover = true; /* never one that may not be promoted */
	ck_assert_int_eq(run(), ACT_NONE);
}
END_TEST

START_TEST(list_membership)
{
	ck_assert(roster_in_list("a,bb,c", "bb"));
	ck_assert(!roster_in_list("a,bb,c", "b"));
	ck_assert(!roster_in_list("", "a"));
	ck_assert(!roster_in_list("a", ""));
	ck_assert_str_eq(decide_kind_name(ACT_PROMOTE), "promote");
}
END_TEST

Suite *decide_suite(void)
{
	Suite *s = suite_create("decide");
	TCase *t = tcase_create("rules");
	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, primary_without_lease_is_fenced);
	tcase_add_test(t, paused_primary_left_running_is_reclaimed);
	tcase_add_test(t, same_name_other_process_is_not_me);
	tcase_add_test(t, nofailover_never_becomes_primary);
	tcase_add_test(t, forced_failover_takes_the_named_candidate);
	tcase_add_test(t, older_timeline_is_not_ahead);
	tcase_add_test(t, sync_key_follows_postgres_once_caught_up);
	tcase_add_test(t, nothing_without_the_witnesses);
	tcase_add_test(t, empty_dir_bootstraps_only_a_new_cluster);
	tcase_add_test(t, former_primary_data_is_adopted);
	tcase_add_test(t, standby_data_is_never_adopted);
	tcase_add_test(t, empty_dir_waits_for_members_with_data);
	tcase_add_test(t, adopting_holder_goes_on_and_marks_initialized);
	tcase_add_test(t, holder_starts_then_promotes);
	tcase_add_test(t, restarted_agent_takes_its_own_lease_again);
	tcase_add_test(t, primary_keeps_sync_list_in_step);
	tcase_add_test(t, async_primary_clears_sync_names);
	tcase_add_test(t, switchover_only_to_a_healthy_replica);
	tcase_add_test(t, old_primary_recovers_rewinds_then_follows);
	tcase_add_test(t, standby_that_never_comes_up_is_copied_afresh);
	tcase_add_test(t, standby_that_cannot_start_is_not_copied);
	tcase_add_test(t, replica_repoints_to_the_holder);
	tcase_add_test(t, stuck_replica_on_old_timeline_is_rewound);
	tcase_add_test(t, free_lease_freeze_first);
	tcase_add_test(t, async_most_advanced_takes_the_lease);
	tcase_add_test(t, every_running_standby_freezes_before_a_choice);
	tcase_add_test(t, async_lag_limit);
	tcase_add_test(t, sync_needs_every_sync_standby_frozen);
	tcase_add_test(t, sync_candidate_must_be_in_the_list);
	tcase_add_test(t, sync_old_primary_back_may_be_promoted);
	tcase_add_test(t, paused_still_starts_postgres);
	tcase_add_test(t, sync_old_primary_in_list_is_waited_for);
	tcase_add_test(t, requested_candidate_wins_if_eligible);
	tcase_add_test(t, sync_newly_on_uses_the_async_rule);
	tcase_add_test(t, async_primary_removes_sync_key_after_postgres);
	tcase_add_test(t, sync_count_follows_the_setting);
	tcase_add_test(t, sync_count_two_still_needs_every_sync_standby);
	tcase_add_test(t, sync_list_leaves_out_nosync_and_cascading);
	tcase_add_test(t, strict_mode_lists_nobody);
	tcase_add_test(t, cascading_standby_follows_the_named_replica);
	tcase_add_test(t, overdue_switchover_old_primary_takes_back);
	tcase_add_test(t, list_membership);
	suite_add_tcase(s, t);
	return s;
}
