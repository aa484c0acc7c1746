/*
 * http_auth.c — see http_auth.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/scram.h"
#include "fencing/http_auth.h"
#include "proto/credentials.h"

struct cache_slot {
	uint8_t mac[SCRAM_KEY_LEN]; /* keyed hash of "name\0password" */
	uint64_t until_ms;          /* 0: empty */
	bool admin;
};

struct http_auth {
	struct credentials *creds;
	uint8_t key[SCRAM_KEY_LEN];  /* random: the cache's hash key */
	struct scram_verifier decoy; /* what an unknown name costs */
	struct cache_slot slots[HTTP_AUTH_CACHE_SLOTS];
	uint64_t budget_second; /* now_ms / 1000 of the budget below */
	unsigned budget_used;
};

bool http_auth_parse_basic(const char *header, char *name, size_t name_cap,
			   char *password, size_t password_cap)
{
	uint8_t raw[HTTP_AUTH_NAME_MAX + HTTP_AUTH_PASSWORD_MAX + 8];
	if (!header || strncasecmp(header, "Basic ", 6) != 0)
		return false;
	const char *b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	size_t len = strcspn(b64, " \t");
	int n = scram_base64_decode(b64, len, raw, sizeof(raw) - 1);
	if (n <= 0 || b64[len] != '\0')
		return false;
	raw[n] = '\0';
	if (memchr(raw, '\0', (size_t)n))
		return false;
	const char *colon = memchr(raw, ':', (size_t)n);
	if (!colon || colon == (const char *)raw)
		return false;
	size_t nl = (size_t)(colon - (const char *)raw);
	size_t pl = (size_t)n - nl - 1;
	if (nl >= name_cap || pl >= password_cap)
		return false;
	memcpy(name, raw, nl);
	name[nl] = '\0';
	memcpy(password, colon + 1, pl);
	password[pl] = '\0';
	memset(raw, 0, sizeof(raw));
	return true;
}

bool http_auth_password_ok(const struct credential *c, const char *password)
{
	return c && !c->cert &&
	       scram_verifier_matches(&c->verifier, password, strlen(password));
}

static struct http_auth *wrap(struct credentials *creds, char *err,
			      size_t errlen)
{
	struct http_auth *a = calloc(1, sizeof(*a));
	uint8_t salt[SCRAM_SALT_LEN];
	if (!a || scram_random(a->key, sizeof(a->key)) ||
	    scram_random(salt, sizeof(salt)) ||
	    scram_verifier_make_salted("decoy", 5, SCRAM_ITERATIONS_DEFAULT,
				       salt, &a->decoy)) {
		snprintf(err, errlen, "cannot set up HTTP authentication");
		credentials_free(creds);
		free(a);
		return NULL;
	}
	a->creds = creds;
	return a;
}

struct http_auth *http_auth_load(const char *path, char *err, size_t errlen)
{
	struct credentials *c = credentials_load(path, err, errlen);
	return c ? wrap(c, err, errlen) : NULL;
}

struct http_auth *http_auth_parse(const char *text, const char *origin,
				  char *err, size_t errlen)
{
	struct credentials *c = credentials_parse(text, origin, err, errlen);
	return c ? wrap(c, err, errlen) : NULL;
}

void http_auth_free(struct http_auth *a)
{
	if (!a)
		return;
	credentials_free(a->creds);
	memset(a, 0, sizeof(*a));
	free(a);
}

/* The keyed hash of the pair: false when it cannot be made. */
static bool pair_mac(const struct http_auth *a, const char *name,
		     const char *password, uint8_t mac[SCRAM_KEY_LEN])
{
	char pair[HTTP_AUTH_NAME_MAX + HTTP_AUTH_PASSWORD_MAX + 2];
	size_t nl = strlen(name), pl = strlen(password);
	memcpy(pair, name, nl + 1);
	memcpy(pair + nl + 1, password, pl);
	bool ok = scram_keyed_hash(a->key, pair, nl + 1 + pl, mac) == 0;
	memset(pair, 0, sizeof(pair));
	return ok;
}

static struct cache_slot *cached(struct http_auth *a,
				 const uint8_t mac[SCRAM_KEY_LEN], uint64_t now)
{
	for (int i = 0; i < HTTP_AUTH_CACHE_SLOTS; i++) {
		struct cache_slot *s = &a->slots[i];
		if (s->until_ms > now &&
		    scram_client_check(s->mac, mac, SCRAM_KEY_LEN))
			return s;
	}
	return NULL;
}

/* The slot that expires first takes a new pair. */
static void remember(struct http_auth *a, const uint8_t mac[SCRAM_KEY_LEN],
		     bool admin, uint64_t now)
{
	struct cache_slot *oldest = &a->slots[0];
	for (int i = 1; i < HTTP_AUTH_CACHE_SLOTS; i++)
		if (a->slots[i].until_ms < oldest->until_ms)
			oldest = &a->slots[i];
	memcpy(oldest->mac, mac, SCRAM_KEY_LEN);
	oldest->until_ms = now + HTTP_AUTH_CACHE_MS;
	oldest->admin = admin;
}

static bool within_budget(struct http_auth *a, uint64_t now)
{
	if (now / 1000 != a->budget_second) {
		a->budget_second = now / 1000;
		a->budget_used = 0;
	}
	return a->budget_used++ < HTTP_AUTH_BUDGET;
}

enum http_auth_verdict http_auth_check(struct http_auth *a,
				       const char *authorization,
				       uint64_t now_ms, char *name,
				       size_t name_cap)
{
	char user[HTTP_AUTH_NAME_MAX + 1], password[HTTP_AUTH_PASSWORD_MAX + 1];
	uint8_t mac[SCRAM_KEY_LEN];
	enum http_auth_verdict v = HTTP_AUTH_WRONG;
	name[0] = '\0';
	if (!http_auth_parse_basic(authorization, user, sizeof(user), password,
				   sizeof(password)))
		return HTTP_AUTH_MISSING;
	snprintf(name, name_cap, "%s", user);
	const struct cache_slot *hit = a && pair_mac(a, user, password, mac)
					       ? cached(a, mac, now_ms)
					       : NULL;
	if (hit) {
		v = hit->admin ? HTTP_AUTH_OK : HTTP_AUTH_FORBIDDEN;
	} else if (!a) {
		v = HTTP_AUTH_WRONG; /* no file: no one may write */
	} else if (!within_budget(a, now_ms)) {
		v = HTTP_AUTH_BUSY;
	} else {
		const struct credential *c =
			credentials_find_scram(a->creds, user, strlen(user));
		if (!c) {
			/* the same work as a known name */
			scram_verifier_matches(&a->decoy, password,
					       strlen(password));
		} else if (http_auth_password_ok(c, password)) {
			bool admin = c->role == AUTH_ROLE_ADMIN;
			remember(a, mac, admin, now_ms);
			v = admin ? HTTP_AUTH_OK : HTTP_AUTH_FORBIDDEN;
		}
	}
	memset(password, 0, sizeof(password));
	return v;
}
