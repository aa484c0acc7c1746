/* test_scram.c — the challenge-response: verifiers against an independent
 * computation, the text form, a full exchange, and every way a proof or a
 * signature must fail. */
#include <string.h>

#include "common/scram.h"
#include "tests/unit/suites.h"

/* Salt and iterations of RFC 7677's example ("pencil"); the expected keys
 * were computed with Python's hashlib/hmac, not with this code. */
#define RFC_VERIFIER                                    \
	"scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"  \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:" \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

START_TEST(test_verifier_matches_reference)
{
	struct scram_verifier parsed, made;
	char err[256], text[SCRAM_VERIFIER_TEXT_MAX];

	ck_assert_int_eq(scram_verifier_parse(RFC_VERIFIER, &parsed, err,
					      sizeof(err)),
			 0);
	ck_assert_uint_eq(parsed.iterations, 4096);
	ck_assert_int_eq(scram_verifier_make_salted("pencil", 6, 4096,
						    parsed.salt, &made),
			 0);
	ck_assert_mem_eq(made.stored_key, parsed.stored_key, SCRAM_KEY_LEN);
	ck_assert_mem_eq(made.server_key, parsed.server_key, SCRAM_KEY_LEN);
	ck_assert_int_eq(scram_verifier_format(&made, text, sizeof(text)), 0);
	ck_assert_str_eq(text, RFC_VERIFIER);
}
END_TEST

START_TEST(test_parse_rejects)
{
	static const char *const bad[] = {
		"",
		"md5$abc",
		"scram-sha-256$",
		"scram-sha-256$99:W22ZaJ0SNY7soEsUEjb6gQ==$a:b",
		"scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==",
		"scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
		"WG5d8oPm3OtcPnkdi4Uo7"
		"BkeZkBFzpcXkuLmtbsT4qY=",
		/* salt one byte short */
		"scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6==$"
		"WG5d8oPm3OtcPnkdi4Uo7"
		"BkeZkBFzpcXkuLmtbsT4qY=:"
		"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl"
		"2dU=",
		/* not base64 */
		"scram-sha-256$4096:W22ZaJ0SNY7soEsUEjb6g!==$"
		"WG5d8oPm3OtcPnkdi4Uo"
		"7BkeZkBFzpcXkuLmtbsT4qY=:"
		"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwD"
		"l2dU=",
	};
	struct scram_verifier v;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(scram_verifier_parse(bad[i], &v, err,
						   sizeof(err)) == -1,
			      "accepted: %s", bad[i]);
		ck_assert_msg(strstr(err, "tenurectl auth hash"), "%s", err);
	}
}
END_TEST

static void exchange_for(struct scram_exchange *x,
			 const struct scram_verifier *v, const char *user)
{
	memset(x, 0, sizeof(*x));
	x->user = user;
	x->user_len = strlen(user);
	ck_assert_int_eq(scram_random(x->client_nonce, SCRAM_NONCE_LEN), 0);
	ck_assert_int_eq(scram_random(x->server_nonce, SCRAM_NONCE_LEN), 0);
	memcpy(x->salt, v->salt, SCRAM_SALT_LEN);
	x->iterations = v->iterations;
}

START_TEST(test_exchange)
{
	struct scram_verifier v;
	struct scram_exchange x;
	uint8_t proof[SCRAM_KEY_LEN], expect[SCRAM_KEY_LEN];
	uint8_t sig[SCRAM_KEY_LEN];

	ck_assert_int_eq(scram_verifier_make("s3cret", 6, 1000, &v), 0);
	exchange_for(&x, &v, "pg1");
	ck_assert_int_eq(scram_client_proof("s3cret", 6, &x, proof, expect), 0);
	/* The proof is not the secret, nor anything stored. */
	ck_assert_ptr_null(memmem(proof, sizeof(proof), "s3cret", 6));
	ck_assert_int_ne(memcmp(proof, v.stored_key, SCRAM_KEY_LEN), 0);
	ck_assert(scram_server_check(&v, &x, proof, sig));
	ck_assert(scram_client_check(expect, sig, sizeof(sig)));
}
END_TEST

/* Keys kept from one exchange answer the next with the same salt and
 * iteration count without PBKDF2, and give the very proof a fresh
 * derivation gives; another salt or count derives again. */
START_TEST(test_kept_keys)
{
	struct scram_verifier v, w;
	struct scram_exchange x, y;
	struct scram_client_keys k = { 0 };
	uint8_t proof[SCRAM_KEY_LEN], expect[SCRAM_KEY_LEN];
	uint8_t fresh[SCRAM_KEY_LEN], fresh_expect[SCRAM_KEY_LEN];
	uint8_t sig[SCRAM_KEY_LEN];

	ck_assert_int_eq(scram_verifier_make("s3cret", 6, 1000, &v), 0);
	exchange_for(&x, &v, "pg1");
	ck_assert_int_eq(scram_client_proof_kept("s3cret", 6, &k, &x, proof,
						 expect),
			 0);
	ck_assert_uint_eq(k.derivations, 1);
	/* a new exchange (new nonces), same verifier: no derivation */
	exchange_for(&y, &v, "pg1");
	ck_assert_int_eq(scram_client_proof_kept("s3cret", 6, &k, &y, proof,
						 expect),
			 0);
	ck_assert_uint_eq(k.derivations, 1);
	ck_assert_int_eq(scram_client_proof("s3cret", 6, &y, fresh,
					    fresh_expect),
			 0);
	ck_assert_mem_eq(proof, fresh, SCRAM_KEY_LEN);
	ck_assert_mem_eq(expect, fresh_expect, SCRAM_KEY_LEN);
	ck_assert(scram_server_check(&v, &y, proof, sig));
	ck_assert(scram_client_check(expect, sig, sizeof(sig)));
	/* another salt (a witness with another verifier): derived again,
	 * and right for it */
	ck_assert_int_eq(scram_verifier_make("s3cret", 6, 1000, &w), 0);
	exchange_for(&y, &w, "pg1");
	ck_assert_int_eq(scram_client_proof_kept("s3cret", 6, &k, &y, proof,
						 expect),
			 0);
	ck_assert_uint_eq(k.derivations, 2);
	ck_assert(scram_server_check(&w, &y, proof, sig));
	/* another iteration count with the same salt: derived again */
	y.iterations = 1001;
	ck_assert_int_eq(scram_client_proof_kept("s3cret", 6, &k, &y, proof,
						 expect),
			 0);
	ck_assert_uint_eq(k.derivations, 3);
	/* cleared: nothing usable is left, and it derives again */
	scram_client_keys_clear(&k);
	ck_assert(!k.valid);
	ck_assert_int_eq(scram_client_proof_kept("s3cret", 6, &k, &y, proof,
						 expect),
			 0);
	ck_assert_uint_eq(k.derivations, 4);
	scram_client_keys_clear(&k);
}
END_TEST

START_TEST(test_wrong_secret_or_replay_fails)
{
	struct scram_verifier v, other;
	struct scram_exchange x, y;
	uint8_t proof[SCRAM_KEY_LEN], expect[SCRAM_KEY_LEN];
	uint8_t sig[SCRAM_KEY_LEN];

	ck_assert_int_eq(scram_verifier_make("right", 5, 1000, &v), 0);
	exchange_for(&x, &v, "pg1");
	/* the wrong secret */
	ck_assert_int_eq(scram_client_proof("wrong", 5, &x, proof, expect), 0);
	ck_assert(!scram_server_check(&v, &x, proof, sig));
	/* a proof recorded for one exchange does not pass another (a new
	 * server nonce) */
	ck_assert_int_eq(scram_client_proof("right", 5, &x, proof, expect), 0);
	ck_assert(scram_server_check(&v, &x, proof, sig));
	y = x;
	ck_assert_int_eq(scram_random(y.server_nonce, SCRAM_NONCE_LEN), 0);
	ck_assert(!scram_server_check(&v, &y, proof, sig));
	/* nor for another user name */
	y = x;
	y.user = "pg2";
	ck_assert(!scram_server_check(&v, &y, proof, sig));
	/* a server without this verifier cannot sign what the client
	 * expects */
	ck_assert_int_eq(scram_verifier_make("right", 5, 1000, &other), 0);
	ck_assert_int_eq(scram_client_proof("right", 5, &x, proof, expect), 0);
	uint8_t fake[SCRAM_KEY_LEN];
	memset(fake, 0, sizeof(fake));
	ck_assert(!scram_client_check(expect, fake, sizeof(fake)));
	ck_assert(!scram_client_check(expect, sig, sizeof(sig) - 1));
	/* a proof flipped in one bit fails */
	proof[7] ^= 1;
	ck_assert(!scram_server_check(&v, &x, proof, sig));
}
END_TEST

START_TEST(test_salts_differ)
{
	struct scram_verifier a, b;

	ck_assert_int_eq(scram_verifier_make("same", 4, 1000, &a), 0);
	ck_assert_int_eq(scram_verifier_make("same", 4, 1000, &b), 0);
	ck_assert_int_ne(memcmp(a.salt, b.salt, SCRAM_SALT_LEN), 0);
	ck_assert_int_ne(memcmp(a.stored_key, b.stored_key, SCRAM_KEY_LEN), 0);
	ck_assert_int_eq(scram_verifier_make("x", 1, 10, &a), -1);
}
END_TEST

Suite *scram_suite(void)
{
	Suite *s = suite_create("scram");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_verifier_matches_reference);
	tcase_add_test(tc, test_parse_rejects);
	tcase_add_test(tc, test_exchange);
	tcase_add_test(tc, test_kept_keys);
	tcase_add_test(tc, test_wrong_secret_or_replay_fails);
	tcase_add_test(tc, test_salts_differ);
	suite_add_tcase(s, tc);
	return s;
}
