/*
 * test_pki.c — throwaway certificates for the TLS tests (see test_pki.h).
 */
#include "tests/unit/test_pki.h"

#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#define DAY (24 * 3600L)

struct issued {
	EVP_PKEY *key;
	X509 *cert;
};

static void add_ext(X509 *x, X509V3_CTX *v, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v, nid, value);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for a new key, valid from `from` to `to` seconds from
 * now, signed by issuer (NULL: self-signed, a CA). */
static struct issued issue(const char *cn, const char *san,
			   const struct issued *issuer, long from, long to)
{
	static long serial = 1;
	struct issued r = { .key = EVP_EC_gen("P-256"), .cert = X509_new() };
	X509 *x = r.cert;
	ck_assert_ptr_nonnull(r.key);
	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, r.key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert)
				       : name);
	X509V3_CTX v;
	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, issuer ? issuer->cert : x, x, NULL, NULL, 0);
	add_ext(x, &v, NID_basic_constraints,
		issuer ? "CA:FALSE" : "critical,CA:TRUE");
	if (!issuer)
		add_ext(x, &v, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (san)
		add_ext(x, &v, NID_subject_alt_name, san);
	ck_assert_int_gt(X509_sign(x, issuer ? issuer->key : r.key,
				   EVP_sha256()),
			 0);
	return r;
}

static void save(struct test_pki *p, const char *name, struct issued *i)
{
	char file[64];
	snprintf(file, sizeof(file), "%s.pem", name);
	FILE *f = fopen(test_pki_file(p, file), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_X509(f, i->cert), 1);
	fclose(f);
	snprintf(file, sizeof(file), "%s.key", name);
	f = fopen(test_pki_file(p, file), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PrivateKey(f, i->key, NULL, NULL, 0, NULL,
					      NULL),
			 1);
	fclose(f);
}

static void save_and_free(struct test_pki *p, const char *name, struct issued i)
{
	save(p, name, &i);
	X509_free(i.cert);
	EVP_PKEY_free(i.key);
}

void test_pki_make(struct test_pki *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "/tmp/tenure-tls-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(p->dir));

	const char *sans = "DNS:localhost,DNS:w1,IP:127.0.0.1";
	struct issued ca = issue("tenure-test-ca", NULL, NULL, -DAY, DAY);
	struct issued other = issue("other-ca", NULL, NULL, -DAY, DAY);
	save(p, "ca", &ca);
	save(p, "other-ca", &other);
	save_and_free(p, "server", issue("server1", sans, &ca, -DAY, DAY));
	save_and_free(p, "server2", issue("server2", sans, &ca, -DAY, DAY));
	save_and_free(p, "client",
		      issue("client1", "DNS:client1.example", &ca, -DAY, DAY));
	save_and_free(p, "cn-only", issue("w3", NULL, &ca, -DAY, DAY));
	save_and_free(p, "expired",
		      issue("server1", sans, &ca, -2 * DAY, -DAY));
	save_and_free(p, "other-client",
		      issue("client1", NULL, &other, -DAY, DAY));
	save_and_free(p, "other-server",
		      issue("server1", "DNS:w1", &other, -DAY, DAY));

	/* both CAs: what a rogue peer trusts, so that its own certificate
	 * loads and it gets as far as the handshake */
	FILE *f = fopen(test_pki_file(p, "both-ca.pem"), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_X509(f, ca.cert), 1);
	ck_assert_int_eq(PEM_write_X509(f, other.cert), 1);
	fclose(f);

	f = fopen(test_pki_file(p, "garbage.pem"), "w");
	ck_assert_ptr_nonnull(f);
	fputs("this is not a certificate\n", f);
	fclose(f);
	X509_free(ca.cert);
	EVP_PKEY_free(ca.key);
	X509_free(other.cert);
	EVP_PKEY_free(other.key);
}

const char *test_pki_file(struct test_pki *p, const char *name)
{
	char dir[sizeof(p->dir)];
	char *out = p->path[p->next++ % 8];
	memcpy(dir, p->dir, sizeof(dir));
	snprintf(out, sizeof(p->path[0]), "%s/%s", dir, name);
	return out;
}

void test_pki_remove(struct test_pki *p)
{
	DIR *d = opendir(p->dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlink(test_pki_file(p, e->d_name));
	closedir(d);
	rmdir(p->dir);
}
