/*
 * test_snapshot_schedule.c — server/snapshot_schedule.c: the voters of a
 * trio never write their snapshots at the same time, and each one still
 * snapshots about every `every` entries.
 */
#include <check.h>
#include <stdlib.h>

#include "server/snapshot_schedule.h"
#include "suites.h"

#define EVERY 20000u

static struct raft_config trio(void)
{
	/* deliberately not in id order: the rank is by id */
	struct raft_config c = { .n = 3 };
	c.servers[0] = (struct raft_server){ .id = 3, .role = RAFT_VOTER };
	c.servers[1] = (struct raft_server){ .id = 1, .role = RAFT_VOTER };
	c.servers[2] = (struct raft_server){ .id = 2, .role = RAFT_VOTER };
	return c;
}

START_TEST(test_offsets_spread_the_voters)
{
	struct raft_config c = trio();
	ck_assert_uint_eq(snapshot_offset(&c, 1, EVERY), 0);
	ck_assert_uint_eq(snapshot_offset(&c, 2, EVERY), EVERY / 3);
	ck_assert_uint_eq(snapshot_offset(&c, 3, EVERY), EVERY / 3 * 2);
	/* a node outside the configuration, or not voting: offset 0 */
	ck_assert_uint_eq(snapshot_offset(&c, 9, EVERY), 0);
	c.servers[c.n++] = (struct raft_server){ .id = 4, .role = 2 };
	ck_assert_uint_eq(snapshot_offset(&c, 4, EVERY), 0);
	ck_assert_uint_eq(snapshot_offset(&c, 3, EVERY), EVERY / 3 * 2);
}
END_TEST

START_TEST(test_first_snapshots)
{
	/* from an empty log: each voter's first point past every / 2 */
	ck_assert_uint_eq(snapshot_next_at(0, EVERY, 0), EVERY);
	ck_assert_uint_eq(snapshot_next_at(0, EVERY, EVERY / 3),
			  EVERY + EVERY / 3);
	ck_assert_uint_eq(snapshot_next_at(0, EVERY, EVERY / 3 * 2),
			  EVERY / 3 * 2);
	/* on its own points, a node snapshots every `every` entries */
	ck_assert_uint_eq(snapshot_next_at(EVERY + 7, EVERY, 7), 2 * EVERY + 7);
	/* every == 1: the next index, never the same one again */
	ck_assert_uint_eq(snapshot_next_at(5, 1, 0), 6);
	ck_assert_uint_eq(snapshot_next_at(5, 3, 2), 8);
}
END_TEST

/* Wherever the last snapshot was (a restart, an installed snapshot, a
 * new rank), the next one is on the node's points, at least every / 2
 * and less than 1.5 * every entries later. */
START_TEST(test_next_is_on_the_points_and_bounded)
{
	srand(15);
	for (int i = 0; i < 100000; i++) {
		uint64_t every = 2 + (uint64_t)rand() % 50000;
		uint64_t offset = (uint64_t)rand() % every;
		uint64_t last = (uint64_t)rand() * 7919u;
		uint64_t next = snapshot_next_at(last, every, offset);
		ck_assert_uint_eq(next % every, offset % every);
		ck_assert_uint_ge(next, last + every / 2);
		ck_assert_uint_lt(next, last + every / 2 + every);
	}
}
END_TEST

/* Three voters apply the same entries in batches of up to 64 and
 * snapshot at the first batch that reaches their point: no two of them
 * snapshot within every / 3 - 64 entries of each other (the old rule put
 * all three at the same index), and each one snapshots once per
 * `every` entries. */
START_TEST(test_trio_never_snapshots_together)
{
	struct raft_config c = trio();
	uint64_t last[3] = { 0, 0, 0 }, taken[3] = { 0, 0, 0 };
	uint64_t when[3][64];
	uint64_t applied = 0;
	srand(7);
	while (applied < 40 * (uint64_t)EVERY) {
		applied += 1 + (uint64_t)rand() % 64;
		for (int k = 0; k < 3; k++) {
			uint64_t off = snapshot_offset(&c, (raft_id)(k + 1),
						       EVERY);
			if (applied < snapshot_next_at(last[k], EVERY, off))
				continue;
			if (taken[k] > 0)
				ck_assert_uint_le(applied - last[k],
						  EVERY + 64);
			last[k] = applied;
			when[k][taken[k]++ % 64] = applied;
		}
	}
	for (int k = 0; k < 3; k++)
		ck_assert_uint_ge(taken[k], 39);
	for (int a = 0; a < 3; a++)
		for (int b = a + 1; b < 3; b++)
			for (unsigned i = 0; i < 64 && i < taken[a]; i++)
				for (unsigned j = 0; j < 64 && j < taken[b];
				     j++) {
					uint64_t x = when[a][i], y = when[b][j];
					uint64_t d = x > y ? x - y : y - x;
					ck_assert_uint_ge(d, EVERY / 3 - 64);
				}
}
END_TEST

Suite *snapshot_schedule_suite(void)
{
	Suite *s = suite_create("snapshot_schedule");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_offsets_spread_the_voters);
	tcase_add_test(tc, test_first_snapshots);
	tcase_add_test(tc, test_next_is_on_the_points_and_bounded);
	tcase_add_test(tc, test_trio_never_snapshots_together);
	suite_add_tcase(s, tc);
	return s;
}
