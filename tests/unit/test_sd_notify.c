/* test_sd_notify.c — common/sd_notify.c against a real AF_UNIX datagram
 * socket standing in for systemd's: a path in a temp dir and an abstract
 * name, the unset variable, unreachable and malformed addresses, the
 * watchdog variables, and the watchdog timer on a loop. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "common/sd_notify.h"
#include "tests/unit/suites.h"

struct listener {
	char dir[64];
	char addr[108]; /* as NOTIFY_SOCKET spells it */
	int fd;
};

/* A datagram socket bound at addr ("/path" or "@name"), reads time out
 * after a second so a missing datagram fails the test instead of hanging. */
static void listener_bind(struct listener *l, const char *addr)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(sa);
	struct timeval tv = { .tv_sec = 1 };
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	memcpy(sa.sun_path, addr, strlen(addr));
	if (addr[0] == '@') {
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				  strlen(addr));
	}
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(l->fd, 0);
	ck_assert_int_eq(bind(l->fd, (struct sockaddr *)&sa, len), 0);
	ck_assert_int_eq(setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				    sizeof(tv)),
			 0);
}

static void listener_path(struct listener *l)
{
	char path[128];
	snprintf(l->dir, sizeof(l->dir), "/tmp/test-sd-notify-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(l->dir));
	snprintf(path, sizeof(path), "%s/notify", l->dir);
	listener_bind(l, path);
}

static void listener_close(struct listener *l)
{
	close(l->fd);
	if (l->dir[0]) {
		unlink(l->addr);
		rmdir(l->dir);
	}
}

/* The next datagram, as a string ("" on timeout). */
static const char *listener_recv(struct listener *l, char *buf, size_t len)
{
	ssize_t n = recv(l->fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

START_TEST(path_address_gets_one_datagram)
{
	struct listener l = { 0 };
	char err[256] = "", buf[128];
	listener_path(&l);
	ck_assert_int_eq(sd_notify_send_to(l.addr, "READY=1", err, sizeof(err)),
			 0);
	ck_assert_str_eq(listener_recv(&l, buf, sizeof(buf)), "READY=1");
	ck_assert_int_eq(sd_notify_send_to(l.addr, "STATUS=a b\nX=1", err,
					   sizeof(err)),
			 0);
	ck_assert_str_eq(listener_recv(&l, buf, sizeof(buf)),
			 "STATUS=a b\nX=1");
	listener_close(&l);
}
END_TEST

START_TEST(abstract_address_has_no_trailing_nul)
{
	struct listener l = { 0 };
	char name[64], err[256] = "", buf[128];
	snprintf(name, sizeof(name), "@tenure-test-sd-notify-%ld",
		 (long)getpid());
	listener_bind(&l, name);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", name, 1), 0);
	ck_assert_int_eq(sd_notify_send("STOPPING=1", err, sizeof(err)), 0);
	ck_assert_str_eq(listener_recv(&l, buf, sizeof(buf)), "STOPPING=1");
	listener_close(&l);
}
END_TEST

START_TEST(unset_or_empty_variable_is_a_no_op)
{
	char err[256] = "";
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(sd_notify_send("READY=1", err, sizeof(err)), 0);
	ck_assert_int_eq(setenv("NOTIFY_SOCKET", "", 1), 0);
	ck_assert_int_eq(sd_notify_send("READY=1", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	struct sd_notify n;
	ck_assert_int_eq(sd_notify_start(uv_default_loop(), &n, err,
					 sizeof(err)),
			 0);
	ck_assert_int_eq(sd_notify_state(&n, "READY=1"), 0);
	sd_notify_stop(&n);
}
END_TEST

START_TEST(unreachable_or_malformed_address_is_an_error)
{
	struct listener l = { 0 };
	char err[256] = "", missing[128], longname[200];
	listener_path(&l);
	snprintf(missing, sizeof(missing), "%s/nobody-here", l.dir);
	ck_assert_int_eq(sd_notify_send_to(missing, "READY=1", err,
					   sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, missing));
	ck_assert_ptr_nonnull(strstr(err, "No such file"));

	ck_assert_int_eq(sd_notify_send_to("run/notify", "READY=1", err,
					   sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "absolute path"));
	ck_assert_int_eq(sd_notify_send_to("@", "READY=1", err, sizeof(err)),
			 -1);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(sd_notify_send_to(longname, "READY=1", err,
					   sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "bytes is expected"));
	/* A socket that exists but is not listening any more. */
	close(l.fd);
	l.fd = -1;
	ck_assert_int_eq(sd_notify_send_to(l.addr, "READY=1", err, sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot notify systemd"));
	listener_close(&l);
}
END_TEST

START_TEST(watchdog_variables)
{
	char err[256] = "";
	uint64_t usec = 7;
	ck_assert_int_eq(sd_notify_watchdog_parse(NULL, NULL, 42, &usec, err,
						  sizeof(err)),
			 0);
	ck_assert_uint_eq(usec, 0);
	ck_assert_int_eq(sd_notify_watchdog_parse("30000000", NULL, 42, &usec,
						  err, sizeof(err)),
			 1);
	ck_assert_uint_eq(usec, 30000000);
	ck_assert_int_eq(sd_notify_watchdog_parse("30000000", "42", 42, &usec,
						  err, sizeof(err)),
			 1);
	ck_assert_uint_eq(usec, 30000000);
	/* Inherited from a parent: not ours to ping. */
	ck_assert_int_eq(sd_notify_watchdog_parse("30000000", "41", 42, &usec,
						  err, sizeof(err)),
			 0);
	ck_assert_uint_eq(usec, 0);
	/* A PID alone does not turn it on. */
	ck_assert_int_eq(sd_notify_watchdog_parse(NULL, "42", 42, &usec, err,
						  sizeof(err)),
			 0);
	const char *bad_usec[] = {
		"",   "0",  "-5",  "+5",
		" 5", "5s", "abc", "99999999999999999999999"
	};
	for (size_t i = 0; i < sizeof(bad_usec) / sizeof(bad_usec[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(sd_notify_watchdog_parse(bad_usec[i], NULL, 42,
							  &usec, err,
							  sizeof(err)),
				 -1);
		ck_assert_ptr_nonnull(strstr(err, "WATCHDOG_USEC"));
	}
	ck_assert_int_eq(sd_notify_watchdog_parse("1000", "x", 42, &usec, err,
						  sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "WATCHDOG_PID"));
}
END_TEST

static void on_enough(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, NULL);
}

/* Counts the datagrams equal to want until a read times out. */
static int count_datagrams(struct listener *l, const char *want)
{
	char buf[128];
	struct timeval tv = { .tv_usec = 100000 };
	int n = 0;
	setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (listener_recv(l, buf, sizeof(buf))[0])
		n += strcmp(buf, want) == 0;
	return n;
}

START_TEST(watchdog_timer_pings_at_half_the_interval)
{
	struct listener l = { 0 };
	char err[256] = "", buf[64], pid[32];
	uv_loop_t loop;
	uv_timer_t enough;
	struct sd_notify n;
	listener_path(&l);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("NOTIFY_SOCKET", l.addr, 1);
	setenv("WATCHDOG_USEC", "40000", 1); /* pings every 20 ms */
	setenv("WATCHDOG_PID", pid, 1);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(sd_notify_start(&loop, &n, err, sizeof(err)), 0);
	/* Taken out of the environment: children must not notify. */
	ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
	ck_assert_ptr_null(getenv("WATCHDOG_USEC"));
	ck_assert_ptr_null(getenv("WATCHDOG_PID"));
	ck_assert_uint_eq(n.watchdog_usec, 40000);
	ck_assert_int_eq(sd_notify_state(&n, "READY=%d", 1), 0);
	ck_assert_str_eq(listener_recv(&l, buf, sizeof(buf)), "READY=1");
	/* The watchdog timer alone does not keep the loop running. */
	ck_assert_int_eq(uv_run(&loop, UV_RUN_NOWAIT), 0);
	uv_timer_init(&loop, &enough);
	uv_timer_start(&enough, on_enough, 150, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	int pings = count_datagrams(&l, "WATCHDOG=1");
	ck_assert_int_ge(pings, 3);
	ck_assert_int_le(pings, 9);
	sd_notify_stop(&n);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	ck_assert_int_eq(sd_notify_state(&n, "READY=1"), 0); /* stopped */
	listener_close(&l);
}
END_TEST

START_TEST(bad_watchdog_value_still_notifies)
{
	struct listener l = { 0 };
	char err[256] = "", buf[64];
	struct sd_notify n;
	listener_path(&l);
	setenv("NOTIFY_SOCKET", l.addr, 1);
	setenv("WATCHDOG_USEC", "soon", 1);
	ck_assert_int_eq(sd_notify_start(uv_default_loop(), &n, err,
					 sizeof(err)),
			 -1);
	ck_assert_ptr_nonnull(strstr(err, "WatchdogSec="));
	ck_assert_int_eq(sd_notify_state(&n, "READY=1"), 0);
	ck_assert_str_eq(listener_recv(&l, buf, sizeof(buf)), "READY=1");
	sd_notify_stop(&n);
	listener_close(&l);
}
END_TEST

Suite *sd_notify_suite(void)
{
	Suite *s = suite_create("sd_notify");
	TCase *tc = tcase_create("protocol");
	tcase_add_test(tc, path_address_gets_one_datagram);
	tcase_add_test(tc, abstract_address_has_no_trailing_nul);
	tcase_add_test(tc, unset_or_empty_variable_is_a_no_op);
	tcase_add_test(tc, unreachable_or_malformed_address_is_an_error);
	tcase_add_test(tc, watchdog_variables);
	tcase_add_test(tc, watchdog_timer_pings_at_half_the_interval);
	tcase_add_test(tc, bad_watchdog_value_still_notifies);
	suite_add_tcase(s, tc);
	return s;
}
