/*
 * test_hook_cmd.c — fencing/hook_cmd.c: a callback's command line is
 * Patroni's (CMD ACTION ROLE SCOPE) and its environment the TENURE_* set.
 */
#include <check.h>
#include <string.h>

#include "fencing/hook_cmd.h"
#include "tests/unit/suites.h"

static const char *env_of(const struct hook_cmd *h, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; h->env[i]; i++)
		if (strncmp(h->env[i], name, n) == 0 && h->env[i][n] == '=')
			return h->env[i] + n + 1;
	return NULL;
}

static struct agent_conf conf_of(char *listen)
{
	struct agent_conf c;
	memset(&c, 0, sizeof(c));
	c.scope = "main";
	c.name = "pg2";
	c.pg_listen = listen;
	return c;
}

START_TEST(patroni_arguments)
{
	char listen[] = "10.0.0.2:5433";
	struct agent_conf c = conf_of(listen);
	struct hook_cmd h;
	hook_cmd_build(&h, &c, "/etc/tenure/cb --flag", "on_start", "replica");
	ck_assert_str_eq(h.argv[0], "/bin/sh");
	ck_assert_str_eq(h.argv[1], "-c");
	/* the operator's words stay the shell's to split; ours follow */
	ck_assert_str_eq(h.argv[2], "exec /etc/tenure/cb --flag \"$@\"");
	ck_assert_str_eq(h.argv[4], "on_start");
	ck_assert_str_eq(h.argv[5], "replica");
	ck_assert_str_eq(h.argv[6], "main");
	ck_assert_ptr_null(h.argv[7]);
}
END_TEST

START_TEST(tenure_environment)
{
	char listen[] = "10.0.0.2:5433";
	struct agent_conf c = conf_of(listen);
	struct hook_cmd h;
	hook_cmd_build(&h, &c, "cb", "on_role_change", "primary");
	ck_assert_str_eq(env_of(&h, "TENURE_ACTION"), "on_role_change");
	ck_assert_str_eq(env_of(&h, "TENURE_ROLE"), "primary");
	ck_assert_str_eq(env_of(&h, "TENURE_SCOPE"), "main");
	ck_assert_str_eq(env_of(&h, "TENURE_NAME"), "pg2");
	ck_assert_str_eq(env_of(&h, "TENURE_PG_HOST"), "10.0.0.2");
	ck_assert_str_eq(env_of(&h, "TENURE_PG_PORT"), "5433");
}
END_TEST

START_TEST(listen_without_port_is_5432)
{
	char listen[] = "db2.example";
	struct agent_conf c = conf_of(listen);
	struct hook_cmd h;
	hook_cmd_build(&h, &c, "cb", "on_stop", "replica");
	ck_assert_str_eq(env_of(&h, "TENURE_PG_HOST"), "db2.example");
	ck_assert_str_eq(env_of(&h, "TENURE_PG_PORT"), "5432");
}
END_TEST

Suite *hook_cmd_suite(void)
{
	Suite *s = suite_create("hook_cmd");
	TCase *tc = tcase_create("build");
	tcase_add_test(tc, patroni_arguments);
	tcase_add_test(tc, tenure_environment);
	tcase_add_test(tc, listen_without_port_is_5432);
	suite_add_tcase(s, tc);
	return s;
}
