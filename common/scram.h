/*
 * scram.h — salted challenge-response authentication (the SCRAM scheme of
 * RFC 5802 with SHA-256, in tenure's own framing), so that a client
 * proves it knows a secret without sending it, and a witness stores only
 * a verifier from which the secret cannot be used to log in.
 *
 * Contract
 * --------
 * A verifier is derived once from the secret (scram_verifier_make, e.g.
 * by `tenurectl auth hash`): salt, iteration count, StoredKey =
 * SHA-256(ClientKey) and ServerKey, where ClientKey and ServerKey are
 * HMACs of PBKDF2(secret, salt, iterations).  Its text form is
 *   scram-sha-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY   (base64 fields)
 * The exchange, over any transport:
 *   client -> server  user, client nonce
 *   server -> client  server nonce, salt, iterations
 *   client -> server  proof = ClientKey XOR HMAC(StoredKey, message)
 *   server -> client  signature = HMAC(ServerKey, message)
 * where message binds the user, both nonces, the salt and the iteration
 * count (scram_message).  The server checks the proof with
 * scram_server_check (constant time); the client checks the signature
 * with scram_client_check, which proves the server holds the verifier
 * (a fake witness does not).  Nonces come from the system's CSPRNG.
 *
 * Errors: functions return 0 (or true) on success and -1 (false) on
 * failure, with a reason in err when they take one; nothing is logged.
 */
#ifndef TENURE_COMMON_SCRAM_H
#define TENURE_COMMON_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCRAM_KEY_LEN 32 /* SHA-256 */
#define SCRAM_SALT_LEN 16
#define SCRAM_NONCE_LEN 24
#define SCRAM_ITERATIONS_DEFAULT 4096
#define SCRAM_ITERATIONS_MIN 1000
#define SCRAM_ITERATIONS_MAX 10000000
/* Longest text form of a verifier, with its NUL. */
#define SCRAM_VERIFIER_TEXT_MAX 160

struct scram_verifier {
	uint32_t iterations;
	uint8_t salt[SCRAM_SALT_LEN];
	uint8_t stored_key[SCRAM_KEY_LEN];
	uint8_t server_key[SCRAM_KEY_LEN];
};

/* Fills n bytes from the CSPRNG; -1 when it cannot. */
int scram_random(void *out, size_t n);

/* A verifier for secret with a fresh random salt. */
int scram_verifier_make(const char *secret, size_t len, uint32_t iterations,
			struct scram_verifier *v);
/* The same with a given salt (tests, and the fake verifier of an
 * unknown user, so that its answer looks like a real one). */
int scram_verifier_make_salted(const char *secret, size_t len,
			       uint32_t iterations,
			       const uint8_t salt[SCRAM_SALT_LEN],
			       struct scram_verifier *v);
int scram_verifier_format(const struct scram_verifier *v, char *out,
			  size_t cap);
int scram_verifier_parse(const char *text, struct scram_verifier *v, char *err,
			 size_t errlen);

/* The message both sides sign: every field length-prefixed. */
struct scram_exchange {
	const char *user;
	size_t user_len;
	uint8_t client_nonce[SCRAM_NONCE_LEN];
	uint8_t server_nonce[SCRAM_NONCE_LEN];
	uint8_t salt[SCRAM_SALT_LEN];
	uint32_t iterations;
};

/* Client: the proof for the exchange, and the server signature it must
 * expect (derived from the secret). */
int scram_client_proof(const char *secret, size_t len,
		       const struct scram_exchange *x,
		       uint8_t proof[SCRAM_KEY_LEN],
		       uint8_t expected_signature[SCRAM_KEY_LEN]);
/* What a client derives from its secret for one salt and iteration count
 * (PBKDF2, the costly step, by design): kept between exchanges, so that a
 * client reconnecting to the same witnesses answers at the cost of a few
 * hashes.  It is as sensitive as the secret, which the client holds
 * anyway; scram_client_keys_clear wipes it.  derivations counts PBKDF2
 * runs (for tests). */
struct scram_client_keys {
	bool valid;
	uint32_t iterations;
	uint8_t salt[SCRAM_SALT_LEN];
	uint8_t client_key[SCRAM_KEY_LEN];
	uint8_t server_key[SCRAM_KEY_LEN];
	unsigned derivations;
};
/* scram_client_proof with k: the keys derived before are used when the
 * challenge has the same salt and iteration count, else derived and
 * kept. */
int scram_client_proof_kept(const char *secret, size_t len,
			    struct scram_client_keys *k,
			    const struct scram_exchange *x,
			    uint8_t proof[SCRAM_KEY_LEN],
			    uint8_t expected_signature[SCRAM_KEY_LEN]);
/* Wipes the keys (derivations stays). */
void scram_client_keys_clear(struct scram_client_keys *k);
/* Server: whether proof shows knowledge of the secret behind v; on true,
 * signature is what the client should receive. */
bool scram_server_check(const struct scram_verifier *v,
			const struct scram_exchange *x,
			const uint8_t proof[SCRAM_KEY_LEN],
			uint8_t signature[SCRAM_KEY_LEN]);
/* The salt the server shows for an unknown user: derived from a random
 * key of the server's, so the same name always gets the same salt and an
 * unknown name cannot be told from a known one by its challenge. */
void scram_fake_salt(const uint8_t key[SCRAM_KEY_LEN], const char *user,
		     size_t len, uint8_t salt[SCRAM_SALT_LEN]);
/* Whether secret is the one behind v: PBKDF2 with v's salt and iteration
 * count gives v's StoredKey (compared in constant time).  For a password
 * sent in the clear over TLS (HTTP Basic), where no exchange runs. */
bool scram_verifier_matches(const struct scram_verifier *v, const char *secret,
			    size_t len);
/* HMAC-SHA-256 of data under key: 0 or -1. */
int scram_keyed_hash(const uint8_t key[SCRAM_KEY_LEN], const void *data,
		     size_t len, uint8_t out[SCRAM_KEY_LEN]);
/* Standard base64 (with padding) of s[0, len) into out: the decoded
 * length, or -1 when it is not base64 or needs more than cap bytes. */
int scram_base64_decode(const char *s, size_t len, uint8_t *out, size_t cap);
/* Client: constant-time comparison of the received signature. */
bool scram_client_check(const uint8_t expected[SCRAM_KEY_LEN],
			const uint8_t *got, size_t got_len);

#endif
