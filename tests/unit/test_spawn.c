/* test_spawn.c — fencing/spawn.c: exit codes and signals, output capture
 * (both streams, the 8 KiB tail), stdin, the environment, the working
 * directory, the log file, a timeout that reaches grandchildren, and a
 * program that does not exist. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fencing/spawn.h"
#include "tests/unit/fake_pg.h"
#include "tests/unit/suites.h"

struct run {
	int calls;
	bool in_spawn; /* set while spawn_run() runs */
	bool called_inside;
	struct spawn_result r;
	char out[SPAWN_OUTPUT_MAX + 1];
};

static void on_done(void *arg, const struct spawn_result *r)
{
	struct run *x = arg;
	x->calls++;
	x->called_inside |= x->in_spawn;
	x->r = *r;
	size_t n = strlen(r->output);
	memcpy(x->out, r->output, n + 1);
	x->r.output = x->out;
}

/* Run opts to completion on a fresh loop; spawn_run's return. */
static int run(const struct spawn_opts *o, struct run *x)
{
	uv_loop_t loop;
	memset(x, 0, sizeof(*x));
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	x->in_spawn = true;
	int rc = spawn_run(&loop, o, on_done, x);
	x->in_spawn = false;
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	ck_assert(!x->called_inside);
	ck_assert_int_eq(x->calls, rc == 0 ? 1 : 0);
	return rc;
}

static int run_sh(const char *script, struct run *x)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct spawn_opts o = { .argv = argv };
	return run(&o, x);
}

START_TEST(exit_codes)
{
	struct run x;
	ck_assert_int_eq(run_sh("exit 0", &x), 0);
	ck_assert_int_eq(x.r.exit_status, 0);
	ck_assert_int_eq(x.r.term_signal, 0);
	ck_assert(!x.r.timed_out);
	ck_assert_int_eq(run_sh("exit 3", &x), 0);
	ck_assert_int_eq(x.r.exit_status, 3);
	ck_assert_int_eq(run_sh("exit 255", &x), 0);
	ck_assert_int_eq(x.r.exit_status, 255);
	ck_assert_str_eq(x.r.output, "");
}
END_TEST

START_TEST(signals)
{
	struct run x;
	ck_assert_int_eq(run_sh("kill -TERM $$", &x), 0);
	ck_assert_int_eq(x.r.term_signal, SIGTERM);
	ck_assert_int_eq(x.r.exit_status, 0);
	ck_assert(!x.r.timed_out);
}
END_TEST

START_TEST(output_both_streams)
{
	struct run x;
	ck_assert_int_eq(run_sh("echo out; echo err >&2; echo out2", &x), 0);
	ck_assert_str_eq(x.r.output, "out\nerr\nout2\n");
}
END_TEST

START_TEST(output_keeps_tail)
{
	struct run x;
	/* 48894 bytes: far more than the 8 KiB kept */
	ck_assert_int_eq(run_sh("seq 1 10000; echo END >&2", &x), 0);
	ck_assert_uint_eq(strlen(x.r.output), SPAWN_OUTPUT_MAX);
	size_t n = strlen(x.r.output);
	ck_assert_str_eq(x.r.output + n - 15, "9999\n10000\nEND\n");
	/* exactly the last 8192 bytes: it starts right after a cut line */
	ck_assert_int_eq(run_sh("head -c 8192 /dev/zero | tr '\\0' a; "
				"printf b",
				&x),
			 0);
	ck_assert_uint_eq(strlen(x.r.output), SPAWN_OUTPUT_MAX);
	ck_assert_int_eq(x.r.output[0], 'a');
	ck_assert_int_eq(x.r.output[SPAWN_OUTPUT_MAX - 1], 'b');
}
END_TEST

START_TEST(stdin_delivered)
{
	const char *argv[] = { "/bin/cat", NULL };
	struct spawn_opts o = { .argv = argv,
				.stdin_data = "hello\nworld",
				.stdin_len = 11 };
	struct run x;
	ck_assert_int_eq(run(&o, &x), 0);
	ck_assert_str_eq(x.r.output, "hello\nworld");
	/* more than a socket buffer: written as the child reads */
	size_t big = 1 << 20;
	char *data = malloc(big);
	memset(data, 'z', big);
	const char *wc[] = { "/bin/sh", "-c", "wc -c", NULL };
	struct spawn_opts o2 = { .argv = wc,
				 .stdin_data = data,
				 .stdin_len = big };
	ck_assert_int_eq(run(&o2, &x), 0);
	ck_assert_int_eq(atoi(x.r.output), (int)big);
	/* a child that never reads: no SIGPIPE for us, normal result */
	const char *ex[] = { "/bin/sh", "-c", "exit 4", NULL };
	struct spawn_opts o3 = { .argv = ex,
				 .stdin_data = data,
				 .stdin_len = big };
	ck_assert_int_eq(run(&o3, &x), 0);
	ck_assert_int_eq(x.r.exit_status, 4);
	free(data);
	/* no stdin_data: /dev/null, immediate EOF */
	const char *cat[] = { "/bin/cat", NULL };
	struct spawn_opts o4 = { .argv = cat };
	ck_assert_int_eq(run(&o4, &x), 0);
	ck_assert_str_eq(x.r.output, "");
}
END_TEST

static bool pid_gone(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		char st = fake_pg_state(pid);
		if (st == 0 || st == 'Z')
			return true;
		usleep(10000);
	}
	return false;
}

static pid_t read_pid_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	unlink(path);
	return (pid_t)pid;
}

START_TEST(timeout_kills_grandchildren)
{
	char pidfile[] = "/tmp/test-spawn-XXXXXX";
	int fd = mkstemp(pidfile);
	ck_assert_int_ge(fd, 0);
	close(fd);
	char script[256];
	snprintf(script, sizeof(script),
		 "sleep 100 & echo $! > %s; echo started; sleep 100", pidfile);
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct spawn_opts o = { .argv = argv, .timeout_ms = 300 };
	struct run x;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(run(&o, &x), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert(x.r.timed_out);
	ck_assert_int_eq(x.r.term_signal, SIGKILL);
	ck_assert_str_eq(x.r.output, "started\n");
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 5);
	pid_t grandchild = read_pid_file(pidfile);
	ck_assert_int_gt(grandchild, 0);
	ck_assert(pid_gone(grandchild));
}
END_TEST

START_TEST(timeout_after_exit_background_holds_pipe)
{
	/* The child exits at once; a background grandchild keeps the output
	 * pipe open, so the run ends only when the timeout kills the
	 * group. */
	char pidfile[] = "/tmp/test-spawn-XXXXXX";
	int fd = mkstemp(pidfile);
	ck_assert_int_ge(fd, 0);
	close(fd);
	char script[256];
	snprintf(script, sizeof(script), "sleep 100 & echo $! > %s; exit 7",
		 pidfile);
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct spawn_opts o = { .argv = argv, .timeout_ms = 300 };
	struct run x;
	ck_assert_int_eq(run(&o, &x), 0);
	ck_assert(x.r.timed_out);
	ck_assert_int_eq(x.r.exit_status, 7);
	ck_assert_int_eq(x.r.term_signal, 0);
	pid_t grandchild = read_pid_file(pidfile);
	ck_assert_int_gt(grandchild, 0);
	ck_assert(pid_gone(grandchild));
}
END_TEST

START_TEST(env_cwd_and_log)
{
	const char *env[] = { "TENURE_TEST_X=42", "HOME=/nowhere", NULL };
	const char *argv[] = { "/bin/sh", "-c",
			       "echo \"$TENURE_TEST_X $HOME $PATH\"; pwd",
			       NULL };
	char log[] = "/tmp/test-spawn-log-XXXXXX";
	int fd = mkstemp(log);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "before\n", 7), 7);
	close(fd);
	struct spawn_opts o = {
		.argv = argv, .env_extra = env, .cwd = "/", .log_path = log
	};
	struct run x;
	char want[4096];
	snprintf(want, sizeof(want), "42 /nowhere %s\n/\n",
		 getenv("PATH") ? getenv("PATH") : "");
	ck_assert_int_eq(run(&o, &x), 0);
	ck_assert_str_eq(x.r.output, want);
	char buf[4096] = "";
	FILE *f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(log);
	ck_assert_uint_eq(n, 7 + strlen(want));
	ck_assert_str_eq(buf + 7, want);
	/* an extra without '=' is refused */
	const char *bad[] = { "NOEQUALS", NULL };
	struct spawn_opts o2 = { .argv = argv, .env_extra = bad };
	ck_assert_int_eq(run(&o2, &x), UV_EINVAL);
}
END_TEST

START_TEST(missing_program)
{
	const char *argv[] = { "/nonexistent/tenure-no-such-program", NULL };
	struct spawn_opts o = { .argv = argv };
	struct run x;
	ck_assert_int_eq(run(&o, &x), UV_ENOENT);
	const char *argv2[] = { "tenure-no-such-program-in-path", NULL };
	struct spawn_opts o2 = { .argv = argv2,
				 .stdin_data = "x",
				 .stdin_len = 1,
				 .timeout_ms = 1000 };
	ck_assert_int_eq(run(&o2, &x), UV_ENOENT);
	const char *sh[] = { "/bin/sh", "-c", "true", NULL };
	struct spawn_opts o3 = { .argv = sh, .cwd = "/nonexistent/dir" };
	ck_assert_int_eq(run(&o3, &x), UV_ENOENT);
	struct spawn_opts o4 = { .argv = sh,
				 .log_path = "/nonexistent/dir/log" };
	ck_assert_int_eq(run(&o4, &x), UV_ENOENT);
}
END_TEST

START_TEST(format_argv)
{
	char buf[128];
	const char *a[] = { "pg_ctl", "-D", "/var/lib/x y", "-o",
			    "it's",   "",   "-w",           NULL };
	ck_assert_str_eq(spawn_format_argv(a, buf, sizeof(buf)),
			 "pg_ctl -D '/var/lib/x y' -o 'it'\\''s' '' -w");
	ck_assert_str_eq(spawn_format_argv(a, buf, 10), "pg_ctl -D");
	const char *none[] = { NULL };
	ck_assert_str_eq(spawn_format_argv(none, buf, sizeof(buf)), "");
}
END_TEST

Suite *spawn_suite(void)
{
	Suite *s = suite_create("spawn");
	TCase *tc = tcase_create("run");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, signals);
	tcase_add_test(tc, output_both_streams);
	tcase_add_test(tc, output_keeps_tail);
	tcase_add_test(tc, stdin_delivered);
	tcase_add_test(tc, timeout_kills_grandchildren);
	tcase_add_test(tc, timeout_after_exit_background_holds_pipe);
	tcase_add_test(tc, env_cwd_and_log);
	tcase_add_test(tc, missing_program);
	tcase_add_test(tc, format_argv);
	suite_add_tcase(s, tc);
	return s;
}
