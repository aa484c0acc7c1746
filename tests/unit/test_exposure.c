/* test_exposure.c — secure by default: which listeners of a witness
 * (server/exposure.c) and of an agent (fencing/exposure.c) reach the
 * network without their protection. */
#include <string.h>

#include "common/addr.h"
#include "fencing/exposure.h"
#include "server/exposure.h"
#include "tests/unit/suites.h"

START_TEST(test_loopback)
{
	ck_assert(addr_is_loopback("127.0.0.1:7101"));
	ck_assert(addr_is_loopback("127.1.2.3:1"));
	ck_assert(addr_is_loopback("[::1]:7101"));
	ck_assert(!addr_is_loopback("0.0.0.0:7101"));
	ck_assert(!addr_is_loopback("[::]:7101"));
	ck_assert(!addr_is_loopback("10.0.0.11:7101"));
	ck_assert(!addr_is_loopback("128.0.0.1:7101"));
	ck_assert(!addr_is_loopback("localhost:7101")); /* no DNS: unknown */
	ck_assert(!addr_is_loopback(NULL));
}
END_TEST

START_TEST(test_witness)
{
	char out[1024];
	struct witness_guards g = { .listen_client = "127.0.0.1:7101",
				    .listen_peer = "127.0.0.1:7001" };

	ck_assert_int_eq(witness_exposures(&g, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
	g.listen_client = "10.0.0.11:7101";
	ck_assert_int_eq(witness_exposures(&g, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "no TLS (tls_cert_file) and no "
					  "credentials (credentials_file)"));
	g.credentials = true;
	ck_assert_int_eq(witness_exposures(&g, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "has no TLS (tls_cert_file)"));
	g.client_tls = true;
	ck_assert_int_eq(witness_exposures(&g, out, sizeof(out)), 0);
	g.listen_peer = "0.0.0.0:7001";
	ck_assert_int_eq(witness_exposures(&g, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "listen_peer 0.0.0.0:7001"));
	g.peer_tls = true;
	ck_assert_int_eq(witness_exposures(&g, out, sizeof(out)), 0);
	g.credentials = g.client_tls = g.peer_tls = false;
	ck_assert_int_eq(witness_exposures(&g, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "; listen_peer"));
}
END_TEST

START_TEST(test_agent)
{
	char out[1024];
	struct agent_conf c;

	memset(&c, 0, sizeof(c));
	c.listen_http = "127.0.0.1:8008";
	c.witnesses = "127.0.0.1:7101, 127.0.0.1:7102";
	c.pg_listen = "127.0.0.1:5432";
	ck_assert_int_eq(agent_exposures(&c, out, sizeof(out)), 0);
	c.witnesses = "127.0.0.1:7101,10.0.0.12:7101";
	ck_assert_int_eq(agent_exposures(&c, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "witness 10.0.0.12:7101"));
	c.witness_ca_file = "ca.crt";
	ck_assert_int_eq(agent_exposures(&c, out, sizeof(out)), 1);
	ck_assert_ptr_nonnull(strstr(out, "a credential (witness_user)"));
	c.witness_user = "pg1";
	ck_assert_int_eq(agent_exposures(&c, out, sizeof(out)), 0);
	c.listen_http = "10.0.0.21:8008";
	c.pg_listen = "10.0.0.21:5432";
	ck_assert_int_eq(agent_exposures(&c, out, sizeof(out)), 2);
	ck_assert_ptr_nonnull(strstr(out, "http_tls_cert_file"));
	ck_assert_ptr_nonnull(strstr(out, "replication_password_file"));
	c.http_tls_cert_file = "pg1.crt";
	c.pg_superuser_password_file = "su.pass";
	ck_assert_int_eq(agent_exposures(&c, out, sizeof(out)), 1);
	c.replication_password_file = "repl.pass";
	ck_assert_int_eq(agent_exposures(&c, out, sizeof(out)), 0);
}
END_TEST

Suite *exposure_suite(void)
{
	Suite *s = suite_create("exposure");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_loopback);
	tcase_add_test(tc, test_witness);
	tcase_add_test(tc, test_agent);
	suite_add_tcase(s, tc);
	return s;
}
