/* test_guard.c — fencing/guard.c: a real guard process and a fake
 * postmaster.  It fences when the deadline passes, not while re-armed in
 * time or disarmed, at once when the agent's end closes while armed, and
 * at once when it resumes after being stopped past the deadline. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "fencing/guard.h"
#include "tests/unit/fake_pg.h"
#include "tests/unit/suites.h"

struct fixture {
	struct fake_pg pg;
	struct guard g;
};

static void setup(struct fixture *x)
{
	char err[256] = "";
	ck_assert_int_eq(fake_pg_start(&x->pg), 0);
	ck_assert_msg(guard_start(x->pg.dir, &x->g, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_ge(x->g.fd, 0);
	ck_assert_int_gt(x->g.pid, 0);
}

static void teardown(struct fixture *x)
{
	guard_stop(&x->g);
	fake_pg_cleanup(&x->pg);
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0)
		;
}

static bool pg_alive(struct fixture *x)
{
	return !fake_pg_wait_dead(&x->pg, 0);
}

START_TEST(fences_at_deadline)
{
	struct fixture x;
	setup(&x);
	uint64_t t0 = clock_now_ms();
	ck_assert_int_eq(guard_arm(&x.g, t0 + 300), 0);
	nap_ms(150);
	ck_assert(pg_alive(&x));
	ck_assert(fake_pg_wait_dead(&x.pg, 3000));
	uint64_t t1 = clock_now_ms();
	ck_assert_uint_ge(t1 - t0, 300);
	ck_assert(WIFSIGNALED(x.pg.status));
	ck_assert_int_eq(WTERMSIG(x.pg.status), SIGKILL);
	/* the guard lives on, disarmed, and exits cleanly on stop */
	ck_assert_int_eq(kill(x.g.pid, 0), 0);
	teardown(&x);
}
END_TEST

START_TEST(rearmed_in_time_never_fences)
{
	struct fixture x;
	setup(&x);
	/* each deadline 2 s ahead, renewed every 100 ms: a loaded machine
	 * may stall this process a few hundred ms without it meaning that
	 * the renewal came late (it failed so once beside a CI run) */
	for (int i = 0; i < 12; i++) {
		ck_assert_int_eq(guard_arm(&x.g, clock_now_ms() + 2000), 0);
		nap_ms(100);
	}
	ck_assert(pg_alive(&x));
	ck_assert_int_eq(guard_disarm(&x.g), 0);
	nap_ms(500);
	ck_assert(pg_alive(&x));
	teardown(&x);
	ck_assert_int_eq(x.g.pid, 0);
	ck_assert_int_eq(x.g.fd, -1);
}
END_TEST

START_TEST(disarm_prevents_fencing)
{
	struct fixture x;
	setup(&x);
	ck_assert_int_eq(guard_arm(&x.g, clock_now_ms() + 200), 0);
	ck_assert_int_eq(guard_disarm(&x.g), 0);
	nap_ms(500);
	ck_assert(pg_alive(&x));
	/* a clean stop while disarmed leaves Postgres alone */
	guard_stop(&x.g);
	ck_assert(pg_alive(&x));
	teardown(&x);
}
END_TEST

START_TEST(agent_death_fences_at_once)
{
	struct fixture x;
	setup(&x);
	ck_assert_int_eq(guard_arm(&x.g, clock_now_ms() + 60000), 0);
	uint64_t t0 = clock_now_ms();
	close(x.g.fd); /* the agent dies: no disarm */
	x.g.fd = -1;
	ck_assert(fake_pg_wait_dead(&x.pg, 3000));
	ck_assert_uint_lt(clock_now_ms() - t0, 3000);
	int status;
	ck_assert_int_eq(waitpid(x.g.pid, &status, 0), x.g.pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	x.g.pid = 0;
	teardown(&x);
}
END_TEST

START_TEST(disarmed_agent_death_just_exits)
{
	struct fixture x;
	setup(&x);
	close(x.g.fd);
	x.g.fd = -1;
	int status;
	ck_assert_int_eq(waitpid(x.g.pid, &status, 0), x.g.pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	x.g.pid = 0;
	ck_assert(pg_alive(&x));
	teardown(&x);
}
END_TEST

START_TEST(stopped_guard_fences_on_resume)
{
	struct fixture x;
	setup(&x);
	ck_assert_int_eq(guard_arm(&x.g, clock_now_ms() + 200), 0);
	nap_ms(20);
	ck_assert_int_eq(kill(x.g.pid, SIGSTOP), 0);
	nap_ms(500);
	ck_assert(pg_alive(&x)); /* nobody ran the deadline */
	uint64_t t0 = clock_now_ms();
	ck_assert_int_eq(kill(x.g.pid, SIGCONT), 0);
	ck_assert(fake_pg_wait_dead(&x.pg, 3000));
	ck_assert_uint_lt(clock_now_ms() - t0, 1000);
	teardown(&x);
}
END_TEST

START_TEST(late_arm_does_not_save_postgres)
{
	/* The guard was stopped; the agent re-armed only after the deadline
	 * had passed: that renewal came too late. */
	struct fixture x;
	setup(&x);
	ck_assert_int_eq(guard_arm(&x.g, clock_now_ms() + 100), 0);
	nap_ms(20);
	ck_assert_int_eq(kill(x.g.pid, SIGSTOP), 0);
	nap_ms(300);
	ck_assert_int_eq(guard_arm(&x.g, clock_now_ms() + 60000), 0);
	ck_assert_int_eq(kill(x.g.pid, SIGCONT), 0);
	ck_assert(fake_pg_wait_dead(&x.pg, 3000));
	teardown(&x);
}
END_TEST

START_TEST(guard_identity_and_dead_guard)
{
	struct fixture x;
	setup(&x);
	char path[64], comm[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)x.g.pid);
	for (int i = 0; i < 100 && strcmp(comm, "tenure-guard\n"); i++) {
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		nap_ms(10);
	}
	ck_assert_str_eq(comm, "tenure-guard\n");
	/* Ctrl-C and plain kill are for the agent, not the guard */
	kill(x.g.pid, SIGTERM);
	kill(x.g.pid, SIGINT);
	nap_ms(100);
	ck_assert_int_eq(waitpid(x.g.pid, NULL, WNOHANG), 0);
	/* a dead guard: the agent learns it from the next arm */
	kill(x.g.pid, SIGKILL);
	waitpid(x.g.pid, NULL, 0);
	x.g.pid = 0;
	ck_assert_int_eq(guard_arm(&x.g, clock_now_ms() + 1000), -EPIPE);
	guard_stop(&x.g);
	ck_assert_int_eq(guard_arm(&x.g, 1), -EBADF);
	guard_stop(&x.g); /* twice is fine */
	ck_assert(pg_alive(&x));
	teardown(&x);
}
END_TEST

Suite *guard_suite(void)
{
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("process");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, fences_at_deadline);
	tcase_add_test(tc, rearmed_in_time_never_fences);
	tcase_add_test(tc, disarm_prevents_fencing);
	tcase_add_test(tc, agent_death_fences_at_once);
	tcase_add_test(tc, disarmed_agent_death_just_exits);
	tcase_add_test(tc, stopped_guard_fences_on_resume);
	tcase_add_test(tc, late_arm_does_not_save_postgres);
	tcase_add_test(tc, guard_identity_and_dead_guard);
	suite_add_tcase(s, tc);
	return s;
}
