/*
 * scram.c — see scram.h.  The primitives (PBKDF2, HMAC, SHA-256, the
 * CSPRNG, constant-time comparison) are OpenSSL's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/scram.h"

#define PREFIX "scram-sha-256$"

int scram_random(void *out, size_t n)
{
	return RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

static int hmac(const uint8_t key[SCRAM_KEY_LEN], const void *data, size_t len,
		uint8_t out[SCRAM_KEY_LEN])
{
	unsigned n = SCRAM_KEY_LEN;
	return HMAC(EVP_sha256(), key, SCRAM_KEY_LEN, data, len, out, &n) &&
			       n == SCRAM_KEY_LEN
		       ? 0
		       : -1;
}

/* ClientKey and ServerKey from the secret. */
static int derive_keys(const char *secret, size_t len,
		       const uint8_t salt[SCRAM_SALT_LEN], uint32_t iterations,
		       uint8_t client_key[SCRAM_KEY_LEN],
		       uint8_t server_key[SCRAM_KEY_LEN])
{
	uint8_t salted[SCRAM_KEY_LEN];
	int rv = -1;

	if (iterations < SCRAM_ITERATIONS_MIN ||
	    iterations > SCRAM_ITERATIONS_MAX)
		return -1;
	if (PKCS5_PBKDF2_HMAC(secret, (int)len, salt, SCRAM_SALT_LEN,
			      (int)iterations, EVP_sha256(), SCRAM_KEY_LEN,
			      salted) == 1 &&
	    hmac(salted, "Client Key", 10, client_key) == 0 &&
	    hmac(salted, "Server Key", 10, server_key) == 0)
		rv = 0;
	OPENSSL_cleanse(salted, sizeof(salted));
	return rv;
}

int scram_verifier_make_salted(const char *secret, size_t len,
			       uint32_t iterations,
			       const uint8_t salt[SCRAM_SALT_LEN],
			       struct scram_verifier *v)
{
	uint8_t client_key[SCRAM_KEY_LEN];

	memset(v, 0, sizeof(*v));
	v->iterations = iterations;
	memcpy(v->salt, salt, SCRAM_SALT_LEN);
	if (derive_keys(secret, len, salt, iterations, client_key,
			v->server_key))
		return -1;
	SHA256(client_key, SCRAM_KEY_LEN, v->stored_key);
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return 0;
}

int scram_verifier_make(const char *secret, size_t len, uint32_t iterations,
			struct scram_verifier *v)
{
	uint8_t salt[SCRAM_SALT_LEN];

	if (scram_random(salt, sizeof(salt)))
		return -1;
	return scram_verifier_make_salted(secret, len, iterations, salt, v);
}

/* ---- text form ----------------------------------------------------------- */

static int b64_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
	if (cap < 4 * ((n + 2) / 3) + 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return 0;
}

/* Decodes exactly want bytes from the text s[0..len). */
static int b64_decode(const char *s, size_t len, uint8_t *out, size_t want)
{
	unsigned char tmp[64];
	size_t pad = 0;

	if (len == 0 || len % 4 || len / 4 * 3 > sizeof(tmp))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0')
			return -1;
	int n = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
	if (n < 0)
		return -1;
	pad = (s[len - 1] == '=') + (s[len - 2] == '=');
	if ((size_t)n - pad != want)
		return -1;
	memcpy(out, tmp, want);
	return 0;
}

int scram_verifier_format(const struct scram_verifier *v, char *out, size_t cap)
{
	char salt[32], stored[48], server[48];

	if (b64_encode(v->salt, SCRAM_SALT_LEN, salt, sizeof(salt)) ||
	    b64_encode(v->stored_key, SCRAM_KEY_LEN, stored, sizeof(stored)) ||
	    b64_encode(v->server_key, SCRAM_KEY_LEN, server, sizeof(server)))
		return -1;
	int n = snprintf(out, cap, PREFIX "%u:%s$%s:%s", v->iterations, salt,
			 stored, server);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int parse_fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen,
		 "%s: expected scram-sha-256$ITERATIONS:SALT$STOREDKEY:"
		 "SERVERKEY as printed by `tenurectl auth hash`",
		 why);
	return -1;
}

int scram_verifier_parse(const char *text, struct scram_verifier *v, char *err,
			 size_t errlen)
{
	const char *p = text;
	char *end;

	memset(v, 0, sizeof(*v));
	if (strncmp(p, PREFIX, strlen(PREFIX)) != 0)
		return parse_fail(err, errlen, "unknown verifier kind");
	p += strlen(PREFIX);
	unsigned long it = strtoul(p, &end, 10);
	if (end == p || *end != ':' || it < SCRAM_ITERATIONS_MIN ||
	    it > SCRAM_ITERATIONS_MAX)
		return parse_fail(err, errlen, "bad iteration count");
	v->iterations = (uint32_t)it;
	p = end + 1;
	const char *dollar = strchr(p, '$');
	const char *colon = dollar ? strchr(dollar + 1, ':') : NULL;
	if (!dollar || !colon)
		return parse_fail(err, errlen, "missing field");
	if (b64_decode(p, (size_t)(dollar - p), v->salt, SCRAM_SALT_LEN))
		return parse_fail(err, errlen, "bad salt");
	if (b64_decode(dollar + 1, (size_t)(colon - dollar - 1), v->stored_key,
		       SCRAM_KEY_LEN))
		return parse_fail(err, errlen, "bad stored key");
	if (b64_decode(colon + 1, strlen(colon + 1), v->server_key,
		       SCRAM_KEY_LEN))
		return parse_fail(err, errlen, "bad server key");
	return 0;
}

/* ---- the exchange -------------------------------------------------------- */

static size_t put_field(uint8_t *out, size_t at, const void *p, size_t n)
{
	out[at] = (uint8_t)(n >> 8);
	out[at + 1] = (uint8_t)n;
	memcpy(out + at + 2, p, n);
	return at + 2 + n;
}

/* The signed message: a tag, then user, both nonces, salt, iterations,
 * each length-prefixed so no two exchanges share a message. */
static int message_mac(const uint8_t key[SCRAM_KEY_LEN],
		       const struct scram_exchange *x,
		       uint8_t out[SCRAM_KEY_LEN])
{
	uint8_t msg[16 + 2 + 1024 + 3 * 48 + 8];
	uint8_t it[4] = { (uint8_t)(x->iterations >> 24),
			  (uint8_t)(x->iterations >> 16),
			  (uint8_t)(x->iterations >> 8),
			  (uint8_t)x->iterations };
	size_t n = 0;

	if (x->user_len > 1024)
		return -1;
	n = put_field(msg, n, "tenure-scram-1", 14);
	n = put_field(msg, n, x->user, x->user_len);
	n = put_field(msg, n, x->client_nonce, SCRAM_NONCE_LEN);
	n = put_field(msg, n, x->server_nonce, SCRAM_NONCE_LEN);
	n = put_field(msg, n, x->salt, SCRAM_SALT_LEN);
	n = put_field(msg, n, it, sizeof(it));
	return hmac(key, msg, n, out);
}

/* k holds the keys for x's salt and iteration count: derived now, or
 * kept from an earlier exchange with the same ones. */
static int client_keys_for(const char *secret, size_t len,
			   struct scram_client_keys *k,
			   const struct scram_exchange *x)
{
	if (k->valid && k->iterations == x->iterations &&
	    CRYPTO_memcmp(k->salt, x->salt, SCRAM_SALT_LEN) == 0)
		return 0;
	scram_client_keys_clear(k);
	k->derivations++;
	if (derive_keys(secret, len, x->salt, x->iterations, k->client_key,
			k->server_key))
		return -1;
	memcpy(k->salt, x->salt, SCRAM_SALT_LEN);
	k->iterations = x->iterations;
	k->valid = true;
	return 0;
}

void scram_client_keys_clear(struct scram_client_keys *k)
{
	unsigned derivations = k->derivations;

	OPENSSL_cleanse(k, sizeof(*k));
	k->derivations = derivations;
}

int scram_client_proof_kept(const char *secret, size_t len,
			    struct scram_client_keys *k,
			    const struct scram_exchange *x,
			    uint8_t proof[SCRAM_KEY_LEN],
			    uint8_t expected_signature[SCRAM_KEY_LEN])
{
	uint8_t stored_key[SCRAM_KEY_LEN], client_sig[SCRAM_KEY_LEN];

	if (client_keys_for(secret, len, k, x))
		return -1;
	SHA256(k->client_key, SCRAM_KEY_LEN, stored_key);
	if (message_mac(stored_key, x, client_sig) ||
	    message_mac(k->server_key, x, expected_signature))
		return -1;
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		proof[i] = k->client_key[i] ^ client_sig[i];
	return 0;
}

int scram_client_proof(const char *secret, size_t len,
		       const struct scram_exchange *x,
		       uint8_t proof[SCRAM_KEY_LEN],
		       uint8_t expected_signature[SCRAM_KEY_LEN])
{
	struct scram_client_keys k = { 0 };
	int rv = scram_client_proof_kept(secret, len, &k, x, proof,
					 expected_signature);

	scram_client_keys_clear(&k);
	return rv;
}

bool scram_server_check(const struct scram_verifier *v,
			const struct scram_exchange *x,
			const uint8_t proof[SCRAM_KEY_LEN],
			uint8_t signature[SCRAM_KEY_LEN])
{
	uint8_t client_sig[SCRAM_KEY_LEN], client_key[SCRAM_KEY_LEN];
	uint8_t stored[SCRAM_KEY_LEN];

	if (message_mac(v->stored_key, x, client_sig))
		return false;
	for (int i = 0; i < SCRAM_KEY_LEN; i++)
		client_key[i] = proof[i] ^ client_sig[i];
	SHA256(client_key, SCRAM_KEY_LEN, stored);
	bool ok = CRYPTO_memcmp(stored, v->stored_key, SCRAM_KEY_LEN) == 0;
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return ok && message_mac(v->server_key, x, signature) == 0;
}

void scram_fake_salt(const uint8_t key[SCRAM_KEY_LEN], const char *user,
		     size_t len, uint8_t salt[SCRAM_SALT_LEN])
{
	uint8_t mac[SCRAM_KEY_LEN];

	if (hmac(key, user, len, mac))
		memset(mac, 0, sizeof(mac));
	memcpy(salt, mac, SCRAM_SALT_LEN);
}

bool scram_client_check(const uint8_t expected[SCRAM_KEY_LEN],
			const uint8_t *got, size_t got_len)
{
	return got_len == SCRAM_KEY_LEN &&
	       CRYPTO_memcmp(expected, got, SCRAM_KEY_LEN) == 0;
}

bool scram_verifier_matches(const struct scram_verifier *v, const char *secret,
			    size_t len)
{
	struct scram_verifier tried;
	if (scram_verifier_make_salted(secret, len, v->iterations, v->salt,
				       &tried))
		return false;
	bool ok = CRYPTO_memcmp(tried.stored_key, v->stored_key,
				SCRAM_KEY_LEN) == 0;
	OPENSSL_cleanse(&tried, sizeof(tried));
	return ok;
}

int scram_keyed_hash(const uint8_t key[SCRAM_KEY_LEN], const void *data,
		     size_t len, uint8_t out[SCRAM_KEY_LEN])
{
	return hmac(key, data, len, out);
}

int scram_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap)
{
	if (len == 0 || len % 4 || len / 4 * 3 > cap)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0')
			return -1;
	int n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0)
		return -1;
	return n - (s[len - 1] == '=') - (s[len - 2] == '=');
}
