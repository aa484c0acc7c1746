/* test_preflight.c — fencing/preflight.c: the version parsers, and
 * preflight_check() against temp directories with a fake pg_bin_dir whose
 * `postgres -V` is a shell script (no PostgreSQL needed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fencing/preflight.h"
#include "tests/unit/suites.h"

START_TEST(test_majors)
{
	ck_assert_int_eq(preflight_major("15\n"), 15);
	ck_assert_int_eq(preflight_major("9.6\n"), 9);
	ck_assert_int_eq(preflight_major(""), 0);
	ck_assert_int_eq(preflight_major("x15"), 0);
	ck_assert_int_eq(preflight_major("15x"), 0);
	ck_assert_int_eq(preflight_major(NULL), 0);
	ck_assert_int_eq(preflight_version_major("postgres (PostgreSQL) 15.18 "
						 "(Debian 15.18-0+deb12u1)\n"),
			 15);
	ck_assert_int_eq(preflight_version_major(
				 "postgres (PostgreSQL) 16beta1"),
			 0); /* not a number followed by '.' or the end */
	ck_assert_int_eq(preflight_version_major("command not found"), 0);
}
END_TEST

struct dirs {
	char root[64], bin[96], data[96];
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* root/bin with every program (postgres -V says 15), root/data absent. */
static void make_dirs(struct dirs *d)
{
	static const char *const progs[] = { "pg_ctl", "initdb",
					     "pg_controldata", "pg_basebackup",
					     "pg_rewind" };
	char path[160];
	snprintf(d->root, sizeof(d->root), "/tmp/tenure-preflight.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->root));
	snprintf(d->bin, sizeof(d->bin), "%s/bin", d->root);
	snprintf(d->data, sizeof(d->data), "%s/data", d->root);
	ck_assert_int_eq(mkdir(d->bin, 0755), 0);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", d->bin, progs[i]);
		write_file(path, "#!/bin/sh\nexit 0\n", 0755);
	}
	snprintf(path, sizeof(path), "%s/postgres", d->bin);
	write_file(path, "#!/bin/sh\necho 'postgres (PostgreSQL) 15.4'\n",
		   0755);
}

static void remove_dirs(struct dirs *d)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_check)
{
	struct dirs d;
	char err[1024], path[160];
	make_dirs(&d);
	/* missing data dir under a writable directory: fine */
	ck_assert_int_eq(preflight_check(d.bin, d.data, err, sizeof(err)), 0);
	/* empty: fine */
	ck_assert_int_eq(mkdir(d.data, 0700), 0);
	ck_assert_int_eq(preflight_check(d.bin, d.data, err, sizeof(err)), 0);
	/* a PostgreSQL 15 data dir: fine */
	snprintf(path, sizeof(path), "%s/PG_VERSION", d.data);
	write_file(path, "15\n", 0600);
	ck_assert_int_eq(preflight_check(d.bin, d.data, err, sizeof(err)), 0);
	/* another major version */
	write_file(path, "14\n", 0600);
	ck_assert_int_eq(preflight_check(d.bin, d.data, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err,
				     "holds a PostgreSQL 14 data directory, "
				     "but pg_bin_dir"));
	ck_assert_ptr_nonnull(strstr(err, "pg_upgrade"));
	/* something else: refused, untouched */
	ck_assert_int_eq(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/notes", d.data);
	write_file(path, "x", 0600);
	ck_assert_int_eq(preflight_check(d.bin, d.data, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err,
				     "is not empty and is not a PostgreSQL "
				     "data directory"));
	ck_assert_int_eq(access(path, F_OK), 0);
	/* a file */
	ck_assert_int_eq(preflight_check(d.bin, path, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is not a directory"));
	/* a missing program */
	snprintf(path, sizeof(path), "%s/pg_rewind", d.bin);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(preflight_check(d.bin, d.data, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "has no executable pg_rewind"));
	ck_assert_ptr_nonnull(strstr(err, "pg_config --bindir"));
	/* no bin dir at all */
	snprintf(path, sizeof(path), "%s/nope", d.root);
	ck_assert_int_eq(preflight_check(path, d.data, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
	remove_dirs(&d);
}
END_TEST

Suite *preflight_suite(void)
{
	Suite *s = suite_create("preflight");
	TCase *t = tcase_create("preflight");
	tcase_add_test(t, test_majors);
	tcase_add_test(t, test_check);
	suite_add_tcase(s, t);
	return s;
}
