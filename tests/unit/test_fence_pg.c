/* test_fence_pg.c — fencing/fence_pg.c against a fake postmaster (a shell
 * named "postgres" with three children): everything killed, nothing left
 * stopped; and the cases where nothing may be killed: stale pid file, a
 * pid that is not postgres, no pid file. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fencing/fence_pg.h"
#include "tests/unit/fake_pg.h"
#include "tests/unit/suites.h"

START_TEST(kills_postmaster_and_children)
{
	struct fake_pg f;
	ck_assert_int_eq(fake_pg_start(&f), 0);
	pid_t pm = f.pid;
	char msg[512], want[128];
	ck_assert_int_eq(fence_pg_kill(f.dir, msg, sizeof(msg)), 0);
	snprintf(want, sizeof(want), "killed postmaster %d and 3 children",
		 (int)pm);
	ck_assert_str_eq(msg, want);
	/* the postmaster is dead (a zombie of ours), killed, not stopped */
	char st = fake_pg_state(pm);
	ck_assert(st == 'Z' || st == 0);
	ck_assert(fake_pg_wait_dead(&f, 1000));
	ck_assert(WIFSIGNALED(f.status));
	ck_assert_int_eq(WTERMSIG(f.status), SIGKILL);
	for (int i = 0; i < FAKE_PG_KIDS; i++) {
		st = fake_pg_state(f.kids[i]);
		ck_assert_msg(st == 0 || st == 'Z', "child %d state %c",
			      (int)f.kids[i], st);
	}
	/* a second call finds nothing left to do */
	ck_assert_int_eq(fence_pg_kill(f.dir, msg, sizeof(msg)), 0);
	ck_assert_ptr_nonnull(strstr(msg, "not running"));
	fake_pg_cleanup(&f);
}
END_TEST

START_TEST(already_stopped_postmaster)
{
	/* A postmaster frozen by someone else still gets killed. */
	struct fake_pg f;
	ck_assert_int_eq(fake_pg_start(&f), 0);
	kill(f.pid, SIGSTOP);
	char msg[512];
	ck_assert_int_eq(fence_pg_kill(f.dir, msg, sizeof(msg)), 0);
	ck_assert(fake_pg_wait_dead(&f, 1000));
	ck_assert(WIFSIGNALED(f.status));
	fake_pg_cleanup(&f);
}
END_TEST

START_TEST(stale_pid_file)
{
	struct fake_pg f;
	ck_assert_int_eq(fake_pg_start(&f), 0);
	/* a pid that existed and is gone */
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	char text[128], msg[512];
	snprintf(text, sizeof(text), "%d\n%s\n", (int)gone, f.dir);
	fake_pg_write_pid(&f, text);
	ck_assert_int_eq(fence_pg_kill(f.dir, msg, sizeof(msg)), 0);
	ck_assert_ptr_nonnull(strstr(msg, "not running"));
	/* the real one was not touched */
	char st = fake_pg_state(f.pid);
	ck_assert(st == 'S' || st == 'R');
	fake_pg_cleanup(&f);
}
END_TEST

START_TEST(not_postgres_is_spared)
{
	struct fake_pg f;
	ck_assert_int_eq(fake_pg_start(&f), 0);
	pid_t other = fork();
	if (other == 0) {
		execl("/bin/sleep", "sleep", "1000", NULL);
		_exit(127);
	}
	/* wait for the exec, so its cmdline is "sleep" */
	for (int i = 0; i < 200; i++) {
		char path[64], buf[64] = "";
		snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)other);
		FILE *fp = fopen(path, "r");
		if (fp) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
			buf[n] = '\0';
			fclose(fp);
		}
		if (strcmp(buf, "sleep") == 0)
			break;
		usleep(10000);
	}
	char text[64], msg[512];
	snprintf(text, sizeof(text), "%d\n", (int)other);
	fake_pg_write_pid(&f, text);
	ck_assert_int_eq(fence_pg_kill(f.dir, msg, sizeof(msg)), 0);
	ck_assert_ptr_nonnull(strstr(msg, "not postgres"));
	ck_assert_ptr_nonnull(strstr(msg, "\"sleep\""));
	char st = fake_pg_state(other);
	ck_assert(st == 'S' || st == 'R');
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	fake_pg_cleanup(&f);
}
END_TEST

START_TEST(no_pid_file)
{
	char dir[] = "/tmp/test-fencepg-XXXXXX", msg[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(fence_pg_kill(dir, msg, sizeof(msg)), 0);
	ck_assert_ptr_nonnull(strstr(msg, "postmaster.pid"));
	ck_assert_ptr_nonnull(strstr(msg, "not running"));
	rmdir(dir);
}
END_TEST

START_TEST(garbled_pid_file)
{
	struct fake_pg f;
	ck_assert_int_eq(fake_pg_start(&f), 0);
	char msg[512];
	fake_pg_write_pid(&f, "abc\n");
	ck_assert_int_eq(fence_pg_kill(f.dir, msg, sizeof(msg)), -EIO);
	ck_assert_ptr_nonnull(strstr(msg, "not a process id"));
	fake_pg_write_pid(&f, "");
	ck_assert_int_eq(fence_pg_kill(f.dir, msg, sizeof(msg)), -EIO);
	fake_pg_cleanup(&f);
}
END_TEST

Suite *fence_pg_suite(void)
{
	Suite *s = suite_create("fence_pg");
	TCase *tc = tcase_create("kill");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, kills_postmaster_and_children);
	tcase_add_test(tc, already_stopped_postmaster);
	tcase_add_test(tc, stale_pid_file);
	tcase_add_test(tc, not_postgres_is_spared);
	tcase_add_test(tc, no_pid_file);
	tcase_add_test(tc, garbled_pid_file);
	suite_add_tcase(s, tc);
	return s;
}
