/*
 * test_pki.h — throwaway certificates for the TLS tests, made with the
 * OpenSSL API (no `openssl` tool needed) in a fresh temporary directory.
 *
 * Files (each NAME.pem with its key NAME.key, ECDSA P-256):
 *   ca            the cluster's CA (CN tenure-test-ca)
 *   server        CN server1, SAN DNS:localhost DNS:w1 IP:127.0.0.1 (ca)
 *   server2       CN server2, SAN DNS:localhost DNS:w1 IP:127.0.0.1 (ca)
 *   client        CN client1, SAN DNS:client1.example (ca)
 *   cn-only       CN w3, no SAN (ca)
 *   expired       CN server1, expired yesterday (ca)
 *   other-ca      another CA (CN other-ca)
 *   other-client  CN client1 (other-ca)
 *   other-server  CN server1, SAN DNS:w1 (other-ca)
 *   both-ca.pem   ca and other-ca (no key)
 *   garbage.pem   not PEM at all
 */
#ifndef TENURE_TESTS_TEST_PKI_H
#define TENURE_TESTS_TEST_PKI_H

#include <limits.h>

struct test_pki {
	char dir[64];
	char path[8][PATH_MAX]; /* test_pki_file's ring */
	unsigned next;
};

/* Makes every file; fails the running Check test on error. */
void test_pki_make(struct test_pki *p);
/* dir/name, valid until 8 more calls. */
const char *test_pki_file(struct test_pki *p, const char *name);
void test_pki_remove(struct test_pki *p);

#endif
