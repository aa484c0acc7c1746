/* test_stonith.c — fencing/stonith.c with small shell fence agents in a
 * temp dir: success only when action=off exits 0 AND action=status says
 * off (exit 2); every other outcome is a failure with a clear message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fencing/stonith.h"
#include "tests/unit/suites.h"

struct agents {
	char dir[64];
};

struct outcome {
	int calls;
	bool in_call; /* set while stonith_fence() runs */
	bool inside;
	bool ok;
	char msg[1024];
};

static void on_fenced(void *arg, bool ok, const char *message)
{
	struct outcome *o = arg;
	o->calls++;
	o->inside |= o->in_call;
	o->ok = ok;
	snprintf(o->msg, sizeof(o->msg), "%s", message);
}

/* An agent that logs its stdin to DIR/stdin and answers off with
 * off_code, status with status_code, after running `before`. */
static void write_agent(struct agents *a, const char *name, const char *before,
			int off_code, int status_code)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", a->dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"#!/bin/sh\n"
		"in=$(cat)\n"
		"printf '%%s\\n--\\n' \"$in\" >> \"$(dirname \"$0\")/stdin\"\n"
		"%s\n"
		"case \"$in\" in\n"
		"*action=off*) exit %d;;\n"
		"*action=status*) exit %d;;\n"
		"esac\n"
		"exit 1\n",
		before, off_code, status_code);
	fclose(f);
	chmod(path, 0755);
}

static void agents_init(struct agents *a)
{
	strcpy(a->dir, "/tmp/test-stonith-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(a->dir));
	write_agent(a, "ok", "echo powered", 0, 2);
	write_agent(a, "still_on", "echo 'Status: ON'", 0, 0);
	write_agent(a, "off_fails", "echo 'Unable to connect to 10.0.0.9' >&2",
		    1, 2);
	write_agent(a, "unreachable", "", 0, 1);
	write_agent(a, "odd", "", 0, 5);
	write_agent(a, "hangs", "sleep 100", 0, 2);
}

static void agents_free(struct agents *a)
{
	const char *names[] = { "ok",  "still_on", "off_fails", "unreachable",
				"odd", "hangs",    "stdin" };
	char path[128];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", a->dir, names[i]);
		unlink(path);
	}
	rmdir(a->dir);
}

static struct outcome fence(struct agents *a, const char *agent,
			    const char *const *extra, uint64_t timeout_ms)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "%s/%s", a->dir, agent);
	struct outcome o = { 0 };
	uv_loop_t loop;
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	struct stonith_req req = { .cmd = cmd,
				   .node = "pg2",
				   .extra = extra,
				   .timeout_ms = timeout_ms };
	o.in_call = true;
	int rc = extra ? stonith_fence_req(&loop, &req, on_fenced, &o)
		       : stonith_fence(&loop, cmd, "pg2", timeout_ms, on_fenced,
				       &o);
	o.in_call = false;
	ck_assert_int_eq(rc, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	ck_assert_int_eq(o.calls, 1);
	ck_assert(!o.inside);
	return o;
}

static void read_stdin_log(struct agents *a, char *buf, size_t cap)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/stdin", a->dir);
	FILE *f = fopen(path, "r");
	buf[0] = '\0';
	if (f) {
		size_t n = fread(buf, 1, cap - 1, f);
		buf[n] = '\0';
		fclose(f);
		unlink(path);
	}
}

START_TEST(off_then_status_off_succeeds)
{
	struct agents a;
	agents_init(&a);
	const char *extra[] = { "ipaddr=10.0.0.9", "login=admin", NULL };
	struct outcome o = fence(&a, "ok", extra, 5000);
	ck_assert_msg(o.ok, "%s", o.msg);
	ck_assert_ptr_nonnull(strstr(o.msg, "node pg2 is off"));
	char log[1024];
	read_stdin_log(&a, log, sizeof(log));
	ck_assert_str_eq(log,
			 "action=off\nport=pg2\nnodename=pg2\nipaddr=10.0.0.9\n"
			 "login=admin\n--\n"
			 "action=status\nport=pg2\nnodename=pg2\nipaddr=10.0.0."
			 "9\n"
			 "login=admin\n--\n");
	o = fence(&a, "ok", NULL, 5000);
	ck_assert(o.ok);
	agents_free(&a);
}
END_TEST

START_TEST(status_still_on_fails)
{
	struct agents a;
	agents_init(&a);
	struct outcome o = fence(&a, "still_on", NULL, 5000);
	ck_assert(!o.ok);
	ck_assert_ptr_nonnull(strstr(o.msg, "still ON"));
	ck_assert_ptr_nonnull(strstr(o.msg, "Status: ON"));
	o = fence(&a, "unreachable", NULL, 5000);
	ck_assert(!o.ok);
	ck_assert_ptr_nonnull(strstr(o.msg, "cannot reach the fence device"));
	o = fence(&a, "odd", NULL, 5000);
	ck_assert(!o.ok);
	ck_assert_ptr_nonnull(strstr(o.msg, "unexpected exit status 5"));
	agents_free(&a);
}
END_TEST

START_TEST(off_failure_fails)
{
	struct agents a;
	agents_init(&a);
	struct outcome o = fence(&a, "off_fails", NULL, 5000);
	ck_assert(!o.ok);
	ck_assert_ptr_nonnull(strstr(o.msg, "action=off exit 1"));
	ck_assert_ptr_nonnull(strstr(o.msg, "Unable to connect to 10.0.0.9"));
	/* no status call after a failed off */
	char log[1024];
	read_stdin_log(&a, log, sizeof(log));
	ck_assert_ptr_null(strstr(log, "action=status"));
	o = fence(&a, "no-such-agent", NULL, 5000);
	ck_assert(!o.ok);
	ck_assert_ptr_nonnull(strstr(o.msg, "exit 127"));
	agents_free(&a);
}
END_TEST

START_TEST(timeout_fails)
{
	struct agents a;
	agents_init(&a);
	struct outcome o = fence(&a, "hangs", NULL, 300);
	ck_assert(!o.ok);
	ck_assert_ptr_nonnull(strstr(o.msg, "timed out"));
	ck_assert_ptr_nonnull(strstr(o.msg, "action=off"));
	agents_free(&a);
}
END_TEST

START_TEST(bad_arguments)
{
	uv_loop_t loop;
	struct outcome o = { 0 };
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(stonith_fence(&loop, "true", "pg2\naction=on", 1000,
				       on_fenced, &o),
			 UV_EINVAL);
	ck_assert_int_eq(stonith_fence(&loop, "true", "", 1000, on_fenced, &o),
			 UV_EINVAL);
	ck_assert_int_eq(stonith_fence(&loop, "", "pg2", 1000, on_fenced, &o),
			 UV_EINVAL);
	const char *extra[] = { "novalue", NULL };
	struct stonith_req req = { .cmd = "true",
				   .node = "pg2",
				   .extra = extra };
	ck_assert_int_eq(stonith_fence_req(&loop, &req, on_fenced, &o),
			 UV_EINVAL);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	ck_assert_int_eq(o.calls, 0);
}
END_TEST

Suite *stonith_suite(void)
{
	Suite *s = suite_create("stonith");
	TCase *tc = tcase_create("agent");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, off_then_status_off_succeeds);
	tcase_add_test(tc, status_still_on_fails);
	tcase_add_test(tc, off_failure_fails);
	tcase_add_test(tc, timeout_fails);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}
