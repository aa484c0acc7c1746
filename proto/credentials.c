/*
 * credentials.c — see credentials.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/credentials.h"

/* A credentials file is a handful of lines; this bounds a mistake (the
 * wrong file named). */
#define CREDENTIALS_FILE_MAX (1 << 20)

static void *fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void *fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return NULL;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CLIENT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.@", s[i]))
			return false;
	return true;
}

static int parse_role(const char *s, struct credential *c)
{
	if (strcmp(s, "admin") == 0) {
		c->role = AUTH_ROLE_ADMIN;
		return 0;
	}
	if (strcmp(s, "read-only") == 0) {
		c->role = AUTH_ROLE_READ_ONLY;
		return 0;
	}
	if (strncmp(s, "agent:", 6) == 0) {
		const char *scope = s + 6;
		size_t n = strlen(scope);
		if (n == 0 || n >= sizeof(c->scope) || strchr(scope, '/'))
			return -1;
		c->role = AUTH_ROLE_AGENT;
		memcpy(c->scope, scope, n + 1);
		return 0;
	}
	return -1;
}

/* One non-comment line: NAME ROLE VERIFIER. */
static void *parse_line(char *line, const char *origin, int lineno,
			struct credential *c, char *err, size_t errlen)
{
	char *save = NULL;
	char *name = strtok_r(line, " \t", &save);
	char *role = strtok_r(NULL, " \t", &save);
	char *verifier = strtok_r(NULL, " \t", &save);
	char *extra = strtok_r(NULL, " \t", &save);
	char why[256];

	if (!name || !role || !verifier || extra)
		return fail(err, errlen,
			    "%s line %d: expected three fields, NAME ROLE "
			    "VERIFIER (or NAME ROLE cert)",
			    origin, lineno);
	if (!name_ok(name))
		return fail(err, errlen,
			    "%s line %d: bad name \"%s\": use 1-%d letters, "
			    "digits, '-', '_', '.' or '@'",
			    origin, lineno, name, CLIENT_NAME_MAX);
	snprintf(c->name, sizeof(c->name), "%s", name);
	if (parse_role(role, c))
		return fail(err, errlen,
			    "%s line %d: unknown role \"%s\": use admin, "
			    "read-only or agent:SCOPE (a scope name without "
			    "'/')",
			    origin, lineno, role);
	if (strcmp(verifier, "cert") == 0) {
		c->cert = true;
		return c;
	}
	if (scram_verifier_parse(verifier, &c->verifier, why, sizeof(why)))
		return fail(err, errlen, "%s line %d (%s): %s", origin, lineno,
			    name, why);
	return c;
}

static bool blank_or_comment(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '\0' || *s == '#';
}

struct credentials *credentials_parse(const char *text, const char *origin,
				      char *err, size_t errlen)
{
	struct credentials *cs = calloc(1, sizeof(*cs));
	char *copy = strdup(text);
	int lineno = 0;

	if (!cs || !copy)
		goto oom;
	/* strtok_r would merge empty lines and miscount: split by hand. */
	for (char *line = copy, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		if (blank_or_comment(line))
			continue;
		struct credential *grown = realloc(cs->items,
						   (cs->n + 1) *
							   sizeof(*grown));
		if (!grown)
			goto oom;
		cs->items = grown;
		struct credential *c = &cs->items[cs->n];
		memset(c, 0, sizeof(*c));
		if (!parse_line(line, origin, lineno, c, err, errlen))
			goto bad;
		if (credentials_find(cs, c->name, strlen(c->name))) {
			fail(err, errlen,
			     "%s line %d: \"%s\" is already defined: names "
			     "are unique (to rotate a secret, add a "
			     "credential with a new name)",
			     origin, lineno, c->name);
			goto bad;
		}
		cs->n++;
	}
	free(copy);
	return cs;
oom:
	fail(err, errlen, "%s: out of memory", origin);
bad:
	free(copy);
	credentials_free(cs);
	return NULL;
}

struct credentials *credentials_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return fail(err, errlen,
			    "cannot read credentials_file %s: %s (create it "
			    "with lines from `tenurectl auth hash`)",
			    path, strerror(errno));
	char *text = malloc(CREDENTIALS_FILE_MAX + 1);
	size_t n = text ? fread(text, 1, CREDENTIALS_FILE_MAX + 1, f) : 0;
	bool too_big = n > CREDENTIALS_FILE_MAX;
	fclose(f);
	if (!text)
		return fail(err, errlen, "%s: out of memory", path);
	if (too_big) {
		free(text);
		return fail(err, errlen,
			    "credentials_file %s is larger than %d bytes: is "
			    "it the right file?",
			    path, CREDENTIALS_FILE_MAX);
	}
	text[n] = '\0';
	if (strlen(text) != n) {
		free(text);
		return fail(err, errlen,
			    "credentials_file %s contains a NUL byte: is it "
			    "the right file?",
			    path);
	}
	struct credentials *cs = credentials_parse(text, path, err, errlen);
	free(text);
	return cs;
}

void credentials_free(struct credentials *c)
{
	if (!c)
		return;
	free(c->items);
	free(c);
}

const struct credential *credentials_find(const struct credentials *c,
					  const char *name, size_t len)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->items[i].name) == len &&
		    memcmp(c->items[i].name, name, len) == 0)
			return &c->items[i];
	return NULL;
}

const struct credential *credentials_find_scram(const struct credentials *c,
						const char *name, size_t len)
{
	const struct credential *x = credentials_find(c, name, len);
	return x && !x->cert ? x : NULL;
}

const struct credential *credentials_match_cert(
	const struct credentials *c, const struct tls_peer_names *names)
{
	for (unsigned i = 0; names && i < names->count; i++) {
		const struct credential *x =
			credentials_find(c, names->name[i],
					 strlen(names->name[i]));
		if (x && x->cert)
			return x;
	}
	return NULL;
}

bool credential_same(const struct credential *a, const struct credential *b)
{
	return strcmp(a->name, b->name) == 0 && a->role == b->role &&
	       a->cert == b->cert && strcmp(a->scope, b->scope) == 0 &&
	       memcmp(&a->verifier, &b->verifier, sizeof(a->verifier)) == 0;
}

void credential_role_text(const struct credential *c, char *out, size_t cap)
{
	switch (c->role) {
	case AUTH_ROLE_ADMIN:
		snprintf(out, cap, "admin");
		break;
	case AUTH_ROLE_READ_ONLY:
		snprintf(out, cap, "read-only");
		break;
	case AUTH_ROLE_AGENT:
		snprintf(out, cap, "agent:%s", c->scope);
		break;
	}
}
