/*
 * test_transport_cert.c — transport_cert_check(): whom a peer's
 * certificate lets it speak for, and every reason it is refused.
 */
#include <stdio.h>
#include <string.h>

#include "server/service.h"
#include "server/transport_cert.h"
#include "tests/unit/suites.h"

static raft_id id_of(const char *name)
{
	return service_member_id(name, strlen(name));
}

static struct tls_peer_names names_of(unsigned n, const char *const *list)
{
	struct tls_peer_names p;

	memset(&p, 0, sizeof(p));
	for (unsigned i = 0; i < n; i++)
		snprintf(p.name[p.count++], TLS_NAME_MAX, "%s", list[i]);
	return p;
}

#define NAMES(...)                                                         \
	names_of(sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *), \
		 (const char *[]){ __VA_ARGS__ })

/* w1, w2 voters and w4 a learner, as tenured's configuration has them. */
static struct raft_config members(void)
{
	static const char *const names[] = { "w1", "w2", "w4" };
	struct raft_config c;

	memset(&c, 0, sizeof(c));
	for (unsigned i = 0; i < 3; i++) {
		struct raft_server *s = &c.servers[c.n++];
		s->id = id_of(names[i]);
		s->role = i == 2 ? RAFT_LEARNER : RAFT_VOTER;
		snprintf(s->addr, sizeof(s->addr), "%s=127.0.0.1:%u", names[i],
			 7001 + i);
	}
	return c;
}

static const char *check(const struct tls_peer_names *n, const char *claimed,
			 const struct raft_config *c)
{
	static char why[640];

	return transport_cert_check(n, id_of(claimed), c, why, sizeof(why));
}

START_TEST(test_cert_names_a_member)
{
	struct raft_config c = members();
	struct tls_peer_names cn = NAMES("w1");
	struct tls_peer_names san = NAMES("server-7", "w2.example", "w2");
	struct tls_peer_names learner = NAMES("w4");

	ck_assert_ptr_null(check(&cn, "w1", &c));
	ck_assert_ptr_null(check(&san, "w2", &c));
	ck_assert_ptr_null(check(&learner, "w4", &c));
}
END_TEST

START_TEST(test_cert_for_another_member)
{
	struct raft_config c = members();
	struct tls_peer_names n = NAMES("w2");
	const char *why = check(&n, "w1", &c);

	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "names \"w2\""));
	ck_assert_ptr_nonnull(strstr(why, "claims to be w1 (node "));
}
END_TEST

START_TEST(test_cert_names_no_one)
{
	struct raft_config c = members();
	struct tls_peer_names none;
	const char *why;

	memset(&none, 0, sizeof(none));
	why = check(&none, "w1", &c);

	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "no name"));
	ck_assert_ptr_nonnull(strstr(why, "w1 (node "));
}
END_TEST

START_TEST(test_names_are_exact)
{
	struct raft_config c = members();
	struct tls_peer_names upper = NAMES("W1");
	struct tls_peer_names longer = NAMES("w1.example");
	struct tls_peer_names prefix = NAMES("w");

	ck_assert_ptr_nonnull(check(&upper, "w1", &c));
	ck_assert_ptr_nonnull(check(&longer, "w1", &c));
	ck_assert_ptr_nonnull(check(&prefix, "w1", &c));
}
END_TEST

START_TEST(test_cert_of_a_non_member)
{
	struct raft_config c = members();
	struct tls_peer_names n = NAMES("w9");
	const char *why = check(&n, "w9", &c);

	ck_assert_ptr_nonnull(why);
	ck_assert_ptr_nonnull(strstr(why, "names \"w9\""));
	ck_assert_ptr_nonnull(strstr(why, "w9 (node "));
	ck_assert_ptr_nonnull(strstr(why, "not a member"));
}
END_TEST

START_TEST(test_no_membership_known)
{
	struct raft_config empty;
	struct tls_peer_names n = NAMES("w1");

	memset(&empty, 0, sizeof(empty));
	ck_assert_ptr_nonnull(check(&n, "w1", &empty));
	ck_assert_ptr_nonnull(check(&n, "w1", NULL));
}
END_TEST

/* A certificate naming two members speaks for either (the CA chose so),
 * never for a third. */
START_TEST(test_cert_naming_two_members)
{
	struct raft_config c = members();
	struct tls_peer_names n = NAMES("w1", "w2");

	ck_assert_ptr_null(check(&n, "w1", &c));
	ck_assert_ptr_null(check(&n, "w2", &c));
	ck_assert_ptr_nonnull(check(&n, "w4", &c));
}
END_TEST

Suite *transport_cert_suite(void)
{
	Suite *s = suite_create("transport_cert");
	TCase *tc = tcase_create("check");

	tcase_add_test(tc, test_cert_names_a_member);
	tcase_add_test(tc, test_cert_for_another_member);
	tcase_add_test(tc, test_cert_names_no_one);
	tcase_add_test(tc, test_names_are_exact);
	tcase_add_test(tc, test_cert_of_a_non_member);
	tcase_add_test(tc, test_no_membership_known);
	tcase_add_test(tc, test_cert_naming_two_members);
	suite_add_tcase(s, tc);
	return s;
}
