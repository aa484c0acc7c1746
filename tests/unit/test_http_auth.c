/* test_http_auth.c — the HTTP API's credentials (fencing/http_auth.c):
 * Basic headers, passwords against SCRAM verifiers, roles, the cache and
 * the budget of checks. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "common/scram.h"
#include "fencing/http_auth.h"

/* "Basic " + base64 of "admin:s3cret" and "viewer:look" */
#define ADMIN_OK "Basic YWRtaW46czNjcmV0"
#define ADMIN_BAD "Basic YWRtaW46d3Jvbmc=" /* admin:wrong */
#define VIEWER_OK "Basic dmlld2VyOmxvb2s="

START_TEST(test_parse_basic)
{
	char name[64], pw[64];
	ck_assert(http_auth_parse_basic(ADMIN_OK, name, sizeof(name), pw,
					sizeof(pw)));
	ck_assert_str_eq(name, "admin");
	ck_assert_str_eq(pw, "s3cret");
	ck_assert(http_auth_parse_basic("basic  YWRtaW46czNjcmV0", name,
					sizeof(name), pw, sizeof(pw)));
	/* a password may hold colons; the name may not be empty */
	ck_assert(http_auth_parse_basic("Basic YTpiOmM=", name, sizeof(name),
					pw, sizeof(pw)));
	ck_assert_str_eq(pw, "b:c");
	ck_assert(!http_auth_parse_basic("Basic OnB3", name, sizeof(name), pw,
					 sizeof(pw)));
	ck_assert(!http_auth_parse_basic(NULL, name, sizeof(name), pw,
					 sizeof(pw)));
	ck_assert(!http_auth_parse_basic("Bearer abc", name, sizeof(name), pw,
					 sizeof(pw)));
	ck_assert(!http_auth_parse_basic("Basic !!!!", name, sizeof(name), pw,
					 sizeof(pw)));
	ck_assert(!http_auth_parse_basic("Basic YWRtaW4=", name, sizeof(name),
					 pw, sizeof(pw))); /* no colon */
	ck_assert(!http_auth_parse_basic(ADMIN_OK, name, 3, pw, sizeof(pw)));
}
END_TEST

static struct http_auth *load(void)
{
	struct scram_verifier a, v;
	char va[SCRAM_VERIFIER_TEXT_MAX], vv[SCRAM_VERIFIER_TEXT_MAX];
	char text[1024], err[256];
	ck_assert_int_eq(scram_verifier_make("s3cret", 6, 1000, &a), 0);
	ck_assert_int_eq(scram_verifier_make("look", 4, 1000, &v), 0);
	scram_verifier_format(&a, va, sizeof(va));
	scram_verifier_format(&v, vv, sizeof(vv));
	snprintf(text, sizeof(text),
		 "# who may write\nadmin admin %s\nviewer read-only %s\n"
		 "pg-main-1 agent:main cert\n",
		 va, vv);
	struct http_auth *h = http_auth_parse(text, "test", err, sizeof(err));
	ck_assert_msg(h, "%s", err);
	return h;
}

START_TEST(test_verdicts)
{
	char name[64];
	struct http_auth *h = load();
	ck_assert_int_eq(http_auth_check(h, ADMIN_OK, 1000, name, sizeof(name)),
			 HTTP_AUTH_OK);
	ck_assert_str_eq(name, "admin");
	ck_assert_int_eq(http_auth_check(h, ADMIN_BAD, 1000, name,
					 sizeof(name)),
			 HTTP_AUTH_WRONG);
	ck_assert_int_eq(http_auth_check(h, VIEWER_OK, 1000, name,
					 sizeof(name)),
			 HTTP_AUTH_FORBIDDEN);
	ck_assert_int_eq(http_auth_check(h, NULL, 1000, name, sizeof(name)),
			 HTTP_AUTH_MISSING);
	/* a cert-only line never matches a password: "pg-main-1:x" */
	ck_assert_int_eq(http_auth_check(h, "Basic cGctbWFpbi0xOng=", 1000,
					 name, sizeof(name)),
			 HTTP_AUTH_WRONG);
	/* no file: nobody */
	ck_assert_int_eq(http_auth_check(NULL, ADMIN_OK, 1000, name,
					 sizeof(name)),
			 HTTP_AUTH_WRONG);
	http_auth_free(h);
}
END_TEST

/* Past the budget, unremembered checks are refused at once; a
 * remembered one still passes, until it expires. */
START_TEST(test_budget_and_cache)
{
	char name[64];
	struct http_auth *h = load();
	uint64_t t = 5000;
	ck_assert_int_eq(http_auth_check(h, ADMIN_OK, t, name, sizeof(name)),
			 HTTP_AUTH_OK);
	for (int i = 0; i < HTTP_AUTH_BUDGET; i++)
		http_auth_check(h, ADMIN_BAD, t, name, sizeof(name));
	ck_assert_int_eq(http_auth_check(h, ADMIN_BAD, t, name, sizeof(name)),
			 HTTP_AUTH_BUSY);
	ck_assert_int_eq(http_auth_check(h, ADMIN_OK, t, name, sizeof(name)),
			 HTTP_AUTH_OK);
	/* the next second has a fresh budget */
	ck_assert_int_eq(http_auth_check(h, ADMIN_BAD, t + 1000, name,
					 sizeof(name)),
			 HTTP_AUTH_WRONG);
	/* expired from the cache: verified again (still right) */
	ck_assert_int_eq(http_auth_check(h, ADMIN_OK,
					 t + HTTP_AUTH_CACHE_MS + 2000, name,
					 sizeof(name)),
			 HTTP_AUTH_OK);
	http_auth_free(h);
}
END_TEST

Suite *http_auth_suite(void)
{
	Suite *s = suite_create("http_auth");
	TCase *t = tcase_create("basic");
	tcase_add_test(t, test_parse_basic);
	tcase_add_test(t, test_verdicts);
	tcase_add_test(t, test_budget_and_cache);
	suite_add_tcase(s, t);
	return s;
}
