/* test_watchdog.c — fencing/watchdog.c against test doubles: a FIFO whose
 * reader thread records what the agent would tell a real device (the
 * open that arms it, each feed, the magic 'V'), and a regular file. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fencing/watchdog.h"
#include "tests/unit/suites.h"

struct reader {
	const char *path;
	bool opened;
	char got[64];
	size_t n;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int fd = open(r->path, O_RDONLY); /* returns once the writer opens */
	if (fd < 0)
		return NULL;
	r->opened = true;
	ssize_t k;
	while (r->n < sizeof(r->got) - 1 &&
	       (k = read(fd, r->got + r->n, sizeof(r->got) - 1 - r->n)) > 0)
		r->n += (size_t)k;
	r->got[r->n] = '\0';
	close(fd);
	return NULL;
}

START_TEST(fifo_double_sees_arm_feeds_and_magic_close)
{
	char dir[] = "/tmp/test-watchdog-XXXXXX", path[64], note[256];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/watchdog", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	struct reader r = { .path = path };
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, reader_main, &r), 0);

	struct watchdog w;
	ck_assert_int_eq(watchdog_open(path, 10, &w, note, sizeof(note)), 0);
	ck_assert_ptr_nonnull(strstr(note, "not a watchdog device"));
	ck_assert(!w.ioctls);
	ck_assert_int_eq(w.timeout_s, 10);
	ck_assert_int_eq(watchdog_feed(&w), 0);
	ck_assert_int_eq(watchdog_feed(&w), 0);
	ck_assert_int_eq(watchdog_feed(&w), 0);
	ck_assert_int_eq(watchdog_disarm(&w), 0);
	ck_assert_int_eq(w.fd, -1);
	pthread_join(t, NULL);
	ck_assert(r.opened);
	ck_assert_str_eq(r.got, "111V");
	/* closed: nothing more to do */
	ck_assert_int_eq(watchdog_feed(&w), -EBADF);
	ck_assert_int_eq(watchdog_disarm(&w), -EBADF);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(regular_file_double)
{
	char path[] = "/tmp/test-watchdog-XXXXXX", note[256], buf[16] = "";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct watchdog w;
	ck_assert_int_eq(watchdog_open(path, 5, &w, note, sizeof(note)), 0);
	ck_assert_int_eq(watchdog_feed(&w), 0);
	ck_assert_int_eq(watchdog_disarm(&w), 0);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "1V");
	unlink(path);
}
END_TEST

START_TEST(missing_device)
{
	struct watchdog w;
	char note[256];
	ck_assert_int_eq(watchdog_open("/nonexistent/watchdog", 5, &w, note,
				       sizeof(note)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(note, "/nonexistent/watchdog"));
	ck_assert_int_eq(w.fd, -1);
	ck_assert_int_eq(watchdog_feed(&w), -EBADF);
}
END_TEST

Suite *watchdog_suite(void)
{
	Suite *s = suite_create("watchdog");
	TCase *tc = tcase_create("double");
	tcase_add_test(tc, fifo_double_sees_arm_feeds_and_magic_close);
	tcase_add_test(tc, regular_file_double);
	tcase_add_test(tc, missing_device);
	suite_add_tcase(s, tc);
	return s;
}
