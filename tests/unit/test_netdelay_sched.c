/* test_netdelay_sched.c — the scheduling core of tests/helpers/netdelay:
 * release order, jitter bounds, loss rates, the cap, and replay by seed.
 * The process test tests/process/netdelay.sh shows the kernel side. */
#include <check.h>
#include <stdlib.h>

#include "tests/helpers/netdelay_sched.h"
#include "tests/unit/suites.h"

#define MS 1000000ull
#define T0 (1000 * MS) /* an arbitrary monotonic origin */

static struct netdelay_sched s;

static void start(uint64_t delay_ms, uint64_t jitter_ms, double loss,
		  uint64_t seed, size_t cap)
{
	struct netdelay_params p = { .delay_ns = delay_ms * MS,
				     .jitter_ns = jitter_ms * MS,
				     .loss_pct = loss,
				     .seed = seed,
				     .cap = cap };
	ck_assert_int_eq(netdelay_sched_init(&s, &p), 0);
}

static void teardown(void)
{
	netdelay_sched_free(&s);
}

START_TEST(test_bad_params_refused)
{
	struct netdelay_sched x;
	struct netdelay_params p = { .cap = 0 };
	ck_assert_int_eq(netdelay_sched_init(&x, &p), -1);
	p.cap = 4;
	p.loss_pct = 100.5;
	ck_assert_int_eq(netdelay_sched_init(&x, &p), -1);
	p.loss_pct = -1;
	ck_assert_int_eq(netdelay_sched_init(&x, &p), -1);
}
END_TEST

/* A fixed delay: nothing is due before arrival + delay, everything at it,
 * in arrival order; wait_ms says how long to sleep (rounded up). */
START_TEST(test_fixed_delay_in_order)
{
	struct netdelay_held h;
	start(50, 0, 0, 1, 16);
	ck_assert_int_eq(netdelay_sched_wait_ms(&s, T0), -1);
	for (uint32_t i = 0; i < 5; i++)
		ck_assert_int_eq(netdelay_sched_admit(&s, T0 + i * MS, 100 + i),
				 NETDELAY_HELD);
	ck_assert_int_eq(netdelay_sched_wait_ms(&s, T0), 50);
	ck_assert_int_eq(netdelay_sched_wait_ms(&s, T0 + MS / 2), 50);
	ck_assert(!netdelay_sched_pop_due(&s, T0 + 50 * MS - 1, &h));
	for (uint32_t i = 0; i < 5; i++) {
		ck_assert(netdelay_sched_pop_due(&s, T0 + 60 * MS, &h));
		ck_assert_uint_eq(h.id, 100 + i);
		ck_assert_uint_eq(h.release_ns, T0 + (50 + i) * MS);
	}
	ck_assert(!netdelay_sched_pop_due(&s, T0 + 60 * MS, &h));
	ck_assert_uint_eq(netdelay_sched_counts(&s)->released, 5);
	ck_assert_uint_eq(netdelay_sched_counts(&s)->max_held, 5);
}
END_TEST

/* Equal release times keep admission order (the heap alone would not). */
START_TEST(test_ties_keep_admission_order)
{
	struct netdelay_held h;
	start(10, 0, 0, 1, 64);
	for (uint32_t i = 0; i < 40; i++)
		netdelay_sched_admit(&s, T0, i);
	for (uint32_t i = 0; i < 40; i++) {
		ck_assert(netdelay_sched_pop_due(&s, T0 + 10 * MS, &h));
		ck_assert_uint_eq(h.id, i);
	}
}
END_TEST

/* With jitter, each release lies in [arrival + D - J, arrival + D + J],
 * both ends are reached, the mean is near D, and the heap hands them out
 * sorted whatever the admission order. */
START_TEST(test_jitter_bounds_and_heap_order)
{
	enum {
		N = 5000
	};
	struct netdelay_held h;
	uint64_t prev = 0, lo = UINT64_MAX, hi = 0;
	double sum = 0;
	start(50, 10, 0, 7, N);
	for (uint32_t i = 0; i < N; i++)
		netdelay_sched_admit(&s, T0, i);
	for (uint32_t i = 0; i < N; i++) {
		ck_assert(netdelay_sched_pop_any(&s, &h));
		ck_assert_uint_ge(h.release_ns, prev);
		prev = h.release_ns;
		lo = h.release_ns < lo ? h.release_ns : lo;
		hi = h.release_ns > hi ? h.release_ns : hi;
		sum += (double)(h.release_ns - T0);
	}
	ck_assert_uint_ge(lo, T0 + 40 * MS);
	ck_assert_uint_le(hi, T0 + 60 * MS);
	ck_assert_uint_lt(lo, T0 + 41 * MS);
	ck_assert_uint_gt(hi, T0 + 59 * MS);
	double mean_ms = sum / N / MS;
	ck_assert(mean_ms > 49.0 && mean_ms < 51.0);
}
END_TEST

/* Jitter larger than the delay never releases before arrival. */
START_TEST(test_never_before_arrival)
{
	struct netdelay_held h;
	start(5, 20, 0, 3, 1000);
	for (uint32_t i = 0; i < 1000; i++)
		netdelay_sched_admit(&s, T0, i);
	ck_assert_int_eq(netdelay_sched_wait_ms(&s, T0), 0);
	while (netdelay_sched_pop_any(&s, &h))
		ck_assert_uint_ge(h.release_ns, T0);
}
END_TEST

static uint64_t dropped_of(double loss, uint64_t seed, int n)
{
	start(1, 0, loss, seed, (size_t)n);
	for (int i = 0; i < n; i++)
		netdelay_sched_admit(&s, T0, (uint32_t)i);
	uint64_t d = netdelay_sched_counts(&s)->dropped_loss;
	ck_assert_uint_eq(d + netdelay_sched_held(&s), (uint64_t)n);
	netdelay_sched_free(&s);
	return d;
}

START_TEST(test_loss_rates)
{
	ck_assert_uint_eq(dropped_of(0, 1, 10000), 0);
	ck_assert_uint_eq(dropped_of(100, 1, 10000), 10000);
	uint64_t d = dropped_of(30, 1, 10000);
	ck_assert(d > 2700 && d < 3300); /* 30 % of 10000, 6 sigma apart */
	d = dropped_of(0.5, 2, 100000);
	ck_assert(d > 350 && d < 650);
}
END_TEST

/* The same seed replays the same decisions and times; another differs. */
START_TEST(test_seed_replays)
{
	enum {
		N = 200
	};
	struct netdelay_held a[N], h;
	int fates[N];
	size_t na = 0;
	start(20, 15, 25, 42, N);
	for (uint32_t i = 0; i < N; i++)
		fates[i] = netdelay_sched_admit(&s, T0 + i * MS, i);
	while (netdelay_sched_pop_any(&s, &a[na]))
		na++;
	netdelay_sched_free(&s);

	start(20, 15, 25, 42, N);
	for (uint32_t i = 0; i < N; i++)
		ck_assert_int_eq(netdelay_sched_admit(&s, T0 + i * MS, i),
				 fates[i]);
	for (size_t i = 0; i < na; i++) {
		ck_assert(netdelay_sched_pop_any(&s, &h));
		ck_assert_uint_eq(h.id, a[i].id);
		ck_assert_uint_eq(h.release_ns, a[i].release_ns);
	}
	netdelay_sched_free(&s);

	int same = 1;
	start(20, 15, 25, 43, N);
	for (uint32_t i = 0; i < N; i++)
		same &= (int)netdelay_sched_admit(&s, T0 + i * MS, i) ==
			fates[i];
	ck_assert(!same);
}
END_TEST

/* Beyond the cap, packets are dropped and counted apart; once some are
 * released, there is room again. */
START_TEST(test_cap_bounds_memory)
{
	struct netdelay_held h;
	start(100, 0, 0, 1, 3);
	for (uint32_t i = 0; i < 3; i++)
		ck_assert_int_eq(netdelay_sched_admit(&s, T0, i),
				 NETDELAY_HELD);
	ck_assert_int_eq(netdelay_sched_admit(&s, T0, 3), NETDELAY_DROP_CAP);
	ck_assert_int_eq(netdelay_sched_admit(&s, T0, 4), NETDELAY_DROP_CAP);
	ck_assert_uint_eq(netdelay_sched_counts(&s)->dropped_cap, 2);
	ck_assert_uint_eq(netdelay_sched_counts(&s)->dropped_loss, 0);
	ck_assert_uint_eq(netdelay_sched_counts(&s)->max_held, 3);
	ck_assert(netdelay_sched_pop_due(&s, T0 + 100 * MS, &h));
	ck_assert_int_eq(netdelay_sched_admit(&s, T0 + MS, 5), NETDELAY_HELD);
	ck_assert_uint_eq(netdelay_sched_counts(&s)->packets, 6);
}
END_TEST

/* A long delay's wait is capped to what poll() takes. */
START_TEST(test_wait_saturates)
{
	start(UINT64_MAX / MS / 2, 0, 0, 1, 1);
	netdelay_sched_admit(&s, 0, 1);
	ck_assert_int_eq(netdelay_sched_wait_ms(&s, 0), 2147483647);
}
END_TEST

Suite *netdelay_sched_suite(void)
{
	Suite *su = suite_create("netdelay_sched");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_bad_params_refused);
	tcase_add_test(tc, test_fixed_delay_in_order);
	tcase_add_test(tc, test_ties_keep_admission_order);
	tcase_add_test(tc, test_jitter_bounds_and_heap_order);
	tcase_add_test(tc, test_never_before_arrival);
	tcase_add_test(tc, test_loss_rates);
	tcase_add_test(tc, test_seed_replays);
	tcase_add_test(tc, test_cap_bounds_memory);
	tcase_add_test(tc, test_wait_saturates);
	suite_add_tcase(su, tc);
	return su;
}
