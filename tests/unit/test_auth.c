/* test_auth.c — the credentials file (proto/credentials.c) and what each
 * role may do (server/auth_policy.c). */
#include <string.h>

#include "server/auth_policy.h"
#include "proto/credentials.h"
#include "tests/unit/suites.h"

#define V                                               \
	"scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"  \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:" \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

static struct credentials *parse(const char *text, char *err, size_t len)
{
	err[0] = '\0';
	return credentials_parse(text, "creds", err, len);
}

START_TEST(test_parse_roles)
{
	char err[512], role[300];
	struct credentials *c = parse("# who may talk to us\n"
				      "\n"
				      "admin  admin  " V "\n"
				      "  pg-main-1\tagent:main " V "\r\n"
				      "grafana read-only " V "   # trailing\n",
				      err, sizeof(err));

	/* a trailing comment is a fourth field: refused (below) */
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err, "line 5") && strstr(err, "three fields"),
		      "%s", err);
	c = parse("# who may talk to us\n"
		  "\n"
		  "admin  admin  " V "\n"
		  "  pg-main-1\tagent:main " V "\r\n"
		  "grafana read-only " V "\n",
		  err, sizeof(err));
	ck_assert_msg(c, "%s", err);
	ck_assert_uint_eq(c->n, 3);
	const struct credential *a = credentials_find(c, "pg-main-1", 9);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->role, AUTH_ROLE_AGENT);
	ck_assert_str_eq(a->scope, "main");
	credential_role_text(a, role, sizeof(role));
	ck_assert_str_eq(role, "agent:main");
	ck_assert_ptr_null(credentials_find(c, "pg-main", 7));
	ck_assert_ptr_null(credentials_find(c, "nobody", 6));
	ck_assert_int_eq(credentials_find(c, "grafana", 7)->role,
			 AUTH_ROLE_READ_ONLY);
	ck_assert(credential_same(a, a));
	ck_assert(!credential_same(a, credentials_find(c, "admin", 5)));
	credentials_free(c);
}
END_TEST

START_TEST(test_parse_errors)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "a admin\n", "line 1: expected three fields" },
		{ "a root " V "\n", "unknown role \"root\"" },
		{ "a agent: " V "\n", "unknown role" },
		{ "a agent:x/y " V "\n", "unknown role" },
		{ "a admin md5$x\n", "tenurectl auth hash" },
		{ "bad/name admin " V "\n", "bad name" },
		{ "a admin " V "\n\na read-only " V "\n",
		  "line 3: \"a\" is already defined" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct credentials *c = parse(bad[i].text, err, sizeof(err));
		ck_assert_msg(!c, "accepted: %s", bad[i].text);
		ck_assert_msg(strstr(err, bad[i].want), "%s: got %s",
			      bad[i].want, err);
	}
	ck_assert_ptr_null(
		credentials_load("/nonexistent/creds", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot read credentials_file"));
}
END_TEST

/* `NAME ROLE cert`: certificate-only, and the two kinds never mix. */
START_TEST(test_parse_cert_credentials)
{
	char err[512];
	struct credentials *c = parse("admin admin " V "\n"
				      "pg-main-2 agent:main cert\n"
				      "ops.example read-only cert\n",
				      err, sizeof(err));
	ck_assert_msg(c, "%s", err);
	const struct credential *pg = credentials_find(c, "pg-main-2", 9);
	ck_assert(pg && pg->cert);
	ck_assert_int_eq(pg->role, AUTH_ROLE_AGENT);
	ck_assert_str_eq(pg->scope, "main");
	ck_assert(!credentials_find(c, "admin", 5)->cert);

	/* SCRAM finds only SCRAM credentials */
	ck_assert_ptr_null(credentials_find_scram(c, "pg-main-2", 9));
	ck_assert_ptr_nonnull(credentials_find_scram(c, "admin", 5));

	/* a certificate finds only cert credentials, by its first name
	 * that has one (CN first, then DNS names) */
	struct tls_peer_names n = { .count = 3 };
	strcpy(n.name[0], "admin");
	strcpy(n.name[1], "ops.example");
	strcpy(n.name[2], "pg-main-2");
	ck_assert_ptr_eq(credentials_match_cert(c, &n),
			 credentials_find(c, "ops.example", 11));
	n.count = 1;
	ck_assert_ptr_null(credentials_match_cert(c, &n));
	n.count = 0;
	ck_assert_ptr_null(credentials_match_cert(c, &n));
	ck_assert_ptr_null(credentials_match_cert(NULL, &n));

	/* a SCRAM credential turned into a cert one is not the same */
	struct credentials *d = parse("admin admin cert\n", err, sizeof(err));
	ck_assert_msg(d, "%s", err);
	ck_assert(!credential_same(credentials_find(c, "admin", 5),
				   credentials_find(d, "admin", 5)));
	credentials_free(d);
	credentials_free(c);

	/* "cert" is the whole verifier: anything else is a SCRAM one */
	ck_assert_ptr_null(parse("a admin certificate\n", err, sizeof(err)));
	ck_assert_ptr_null(parse("a admin cert extra\n", err, sizeof(err)));
	ck_assert_msg(strstr(err, "NAME ROLE cert"), "%s", err);
}
END_TEST

static struct credential role(enum auth_role r, const char *scope)
{
	struct credential c;
	memset(&c, 0, sizeof(c));
	c.role = r;
	strcpy(c.scope, scope);
	return c;
}

static struct client_request req(uint32_t op)
{
	struct client_request q;
	memset(&q, 0, sizeof(q));
	q.op = op;
	return q;
}

#define STR(s) ((struct client_str){ s, sizeof(s) - 1 })

START_TEST(test_read_only)
{
	struct credential ro = role(AUTH_ROLE_READ_ONLY, "");
	static const uint32_t allowed[] = {
		CLIENT_OP_STATUS,     CLIENT_OP_HEALTH,
		CLIENT_OP_SCOPES,     CLIENT_OP_MEMBER_LIST,
		CLIENT_OP_GET,        CLIENT_OP_LIST,
		CLIENT_OP_LIST_PAGE,  CLIENT_OP_LEASE_GET,
		CLIENT_OP_LEASE_LIST, CLIENT_OP_LEASE_LIST_PAGE,
		CLIENT_OP_WATCH,      CLIENT_OP_CANCEL,
		CLIENT_OP_VERSION,    CLIENT_OP_SUCCESSOR,
	};
	int n_allowed = 0;

	for (uint32_t op = CLIENT_OP_HELLO + 1; op < CLIENT_OP_END; op++) {
		struct client_request q = req(op);
		bool want = false;
		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]);
		     i++)
			want |= allowed[i] == op;
		if (op == CLIENT_OP_AUTH_PROOF)
			continue;
		ck_assert_msg((auth_policy_check(&ro, &q) == NULL) == want,
			      "%s", client_op_name(op));
		n_allowed += want;
	}
	ck_assert_int_eq(n_allowed, 14);
	struct client_request put = req(CLIENT_OP_PUT);
	ck_assert_ptr_nonnull(
		strstr(auth_policy_check(&ro, &put), "read-only"));
}
END_TEST

START_TEST(test_agent_scope)
{
	struct credential ag = role(AUTH_ROLE_AGENT, "main");
	struct client_request q;

	q = req(CLIENT_OP_LEASE_ACQUIRE);
	q.name = STR("main/primary");
	ck_assert_ptr_null(auth_policy_check(&ag, &q));
	q.name = STR("other/primary");
	ck_assert_ptr_nonnull(auth_policy_check(&ag, &q));
	q.name = STR("mainx/primary"); /* a prefix of the name is not it */
	ck_assert_ptr_nonnull(auth_policy_check(&ag, &q));
	q.name = STR("main");
	ck_assert_ptr_nonnull(auth_policy_check(&ag, &q));
	q = req(CLIENT_OP_LEASE_RELEASE);
	q.name = STR("other/primary");
	ck_assert_ptr_nonnull(auth_policy_check(&ag, &q));

	q = req(CLIENT_OP_PUT);
	q.key = STR("main/members/pg1");
	ck_assert_ptr_null(auth_policy_check(&ag, &q));
	q.lease = STR("other/primary"); /* attached to a foreign lease */
	ck_assert_ptr_nonnull(auth_policy_check(&ag, &q));
	q.lease = STR("main/primary");
	ck_assert_ptr_null(auth_policy_check(&ag, &q));
	q.key = STR("other/drill");
	ck_assert_ptr_nonnull(auth_policy_check(&ag, &q));

	q = req(CLIENT_OP_LIST_PAGE);
	q.prefix = STR("main/");
	ck_assert_ptr_null(auth_policy_check(&ag, &q));
	q.prefix = STR(""); /* everything */
	ck_assert_ptr_nonnull(auth_policy_check(&ag, &q));
	q = req(CLIENT_OP_WATCH);
	q.prefix = STR("main/primary");
	ck_assert_ptr_null(auth_policy_check(&ag, &q));
	q.prefix = STR("ma");
	ck_assert_ptr_nonnull(auth_policy_check(&ag, &q));

	static const uint32_t never[] = {
		CLIENT_OP_LEASE_LIST, CLIENT_OP_LEASE_LIST_PAGE,
		CLIENT_OP_MEMBER_ADD, CLIENT_OP_MEMBER_REMOVE,
		CLIENT_OP_TRANSFER,
	};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		q = req(never[i]);
		q.name = STR("main/x");
		q.prefix = STR("main/");
		ck_assert_msg(auth_policy_check(&ag, &q) != NULL, "%s",
			      client_op_name(never[i]));
	}
	q = req(CLIENT_OP_STATUS);
	ck_assert_ptr_null(auth_policy_check(&ag, &q));
}
END_TEST

START_TEST(test_admin_everything)
{
	struct credential ad = role(AUTH_ROLE_ADMIN, "");
	for (uint32_t op = CLIENT_OP_HELLO + 1; op < CLIENT_OP_END; op++) {
		struct client_request q = req(op);
		ck_assert_ptr_null(auth_policy_check(&ad, &q));
	}
}
END_TEST

Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_parse_roles);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_parse_cert_credentials);
	tcase_add_test(tc, test_read_only);
	tcase_add_test(tc, test_agent_scope);
	tcase_add_test(tc, test_admin_everything);
	suite_add_tcase(s, tc);
	return s;
}
