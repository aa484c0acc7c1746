/*
 * flatjson.c — see flatjson.h.
 *
 * A recursive-descent reader would be overkill: with nesting refused,
 * the grammar is one loop over "key": value pairs.  Values are handed to
 * the caller as they are read, so the caller's struct is the only state
 * that grows with the input.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/flatjson.h"

#define NUMBER_MAX 64 /* longer number texts are refused */

struct parser {
	const unsigned char *p;
	size_t len, off;
	char *err;
	size_t errlen;
	char key[FLATJSON_STR_MAX + 1];
	char val[FLATJSON_STR_MAX + 1];
};

static bool fail(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool fail(struct parser *ps, const char *fmt, ...)
{
	char msg[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->errlen)
		snprintf(ps->err, ps->errlen, "at byte %zu: %s", ps->off, msg);
	return false;
}

static void skip_ws(struct parser *ps)
{
	while (ps->off < ps->len &&
	       (ps->p[ps->off] == ' ' || ps->p[ps->off] == '\t' ||
		ps->p[ps->off] == '\n' || ps->p[ps->off] == '\r'))
		ps->off++;
}

static int peek(const struct parser *ps)
{
	return ps->off < ps->len ? ps->p[ps->off] : -1;
}

static bool append(struct parser *ps, char *out, size_t *n, const void *b,
		   size_t k)
{
	if (*n + k > FLATJSON_STR_MAX)
		return fail(ps, "string longer than %d bytes",
			    FLATJSON_STR_MAX);
	memcpy(out + *n, b, k);
	*n += k;
	return true;
}

static bool hex4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;
	if (ps->len - ps->off < 4)
		return fail(ps, "\\u needs four hex digits");
	for (int i = 0; i < 4; i++) {
		int c = ps->p[ps->off + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(ps, "\\u needs four hex digits");
	}
	ps->off += 4;
	*out = v;
	return true;
}

static size_t utf8_put(uint32_t cp, unsigned char *b)
{
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (unsigned char)(0xf0 | (cp >> 18));
	b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* After "\u": one code point, a surrogate pair counting as one. */
static bool unicode_escape(struct parser *ps, uint32_t *cp)
{
	if (!hex4(ps, cp))
		return false;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return fail(ps, "lone low surrogate \\u%04" PRIX32, *cp);
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		uint32_t lo;
		if (ps->len - ps->off < 2 || ps->p[ps->off] != '\\' ||
		    ps->p[ps->off + 1] != 'u')
			return fail(ps, "high surrogate without its low half");
		ps->off += 2;
		if (!hex4(ps, &lo))
			return false;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, "high surrogate without its low half");
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (*cp == 0)
		return fail(ps, "\\u0000 is not allowed in a string");
	return true;
}

static bool escape(struct parser *ps, char *out, size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	if (ps->off >= ps->len)
		return fail(ps, "unterminated string");
	int c = ps->p[ps->off++];
	const char *hit = c ? strchr(from, c) : NULL;
	if (hit)
		return append(ps, out, n, &to[hit - from], 1);
	if (c != 'u')
		return fail(ps, "invalid escape \\%c",
			    c >= 0x20 && c < 0x7f ? c : '?');
	uint32_t cp;
	unsigned char b[4];
	if (!unicode_escape(ps, &cp))
		return false;
	return append(ps, out, n, b, utf8_put(cp, b));
}

/* A string at ps->off (which is '"') into out, NUL-terminated. */
static bool parse_string(struct parser *ps, char *out, size_t *outlen)
{
	size_t n = 0;
	ps->off++;
	for (;;) {
		if (ps->off >= ps->len)
			return fail(ps, "unterminated string");
		unsigned char c = ps->p[ps->off];
		if (c == '"') {
			ps->off++;
			break;
		}
		if (c < 0x20)
			return fail(ps,
				    "control character 0x%02x in a string "
				    "(escape it)",
				    c);
		if (c == '\\') {
			ps->off++;
			if (!escape(ps, out, &n))
				return false;
			continue;
		}
		size_t k = c < 0x80 ? 1
				    : json_utf8_len(ps->p + ps->off,
						    ps->len - ps->off);
		if (k == 0)
			return fail(ps, "invalid UTF-8 in a string");
		if (!append(ps, out, &n, ps->p + ps->off, k))
			return false;
		ps->off += k;
	}
	out[n] = '\0';
	*outlen = n;
	return true;
}

static size_t digits(const struct parser *ps, size_t at)
{
	size_t k = 0;
	while (at + k < ps->len && ps->p[at + k] >= '0' && ps->p[at + k] <= '9')
		k++;
	return k;
}

/* JSON's number grammar exactly: no leading zeros, no bare dot, no '+'. */
static bool parse_number(struct parser *ps, struct flatjson_value *v)
{
	size_t start = ps->off, at = ps->off;
	if (at < ps->len && ps->p[at] == '-')
		at++;
	size_t k = digits(ps, at);
	if (k == 0 || (k > 1 && ps->p[at] == '0'))
		return fail(ps, "malformed number");
	at += k;
	if (at < ps->len && ps->p[at] == '.') {
		if ((k = digits(ps, at + 1)) == 0)
			return fail(ps, "malformed number");
		at += 1 + k;
	}
	if (at < ps->len && (ps->p[at] == 'e' || ps->p[at] == 'E')) {
		at++;
		if (at < ps->len && (ps->p[at] == '+' || ps->p[at] == '-'))
			at++;
		if ((k = digits(ps, at)) == 0)
			return fail(ps, "malformed number");
		at += k;
	}
	if (at - start > NUMBER_MAX)
		return fail(ps, "number longer than %d characters", NUMBER_MAX);
	memcpy(ps->val, ps->p + start, at - start);
	ps->val[at - start] = '\0';
	v->type = FLATJSON_NUMBER;
	v->str = ps->val;
	v->len = at - start;
	ps->off = at;
	return true;
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if (ps->len - ps->off < n || memcmp(ps->p + ps->off, word, n) != 0)
		return fail(ps, "expected a value (string, number, true, "
				"false or null)");
	ps->off += n;
	return true;
}

static bool parse_value(struct parser *ps, struct flatjson_value *v)
{
	memset(v, 0, sizeof(*v));
	int c = peek(ps);
	if (c == '"') {
		v->type = FLATJSON_STRING;
		v->str = ps->val;
		return parse_string(ps, ps->val, &v->len);
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(ps, v);
	if (c == '{' || c == '[')
		return fail(ps, "nested objects and arrays are not supported");
	if (c == 't') {
		v->type = FLATJSON_BOOL;
		v->b = true;
		return literal(ps, "true");
	}
	if (c == 'f') {
		v->type = FLATJSON_BOOL;
		return literal(ps, "false");
	}
	v->type = FLATJSON_NULL;
	v->str = "";
	return literal(ps, "null");
}

/* One "key": value, handed to cb. */
static bool parse_member(struct parser *ps, flatjson_field_cb cb, void *arg)
{
	size_t klen;
	struct flatjson_value v;
	if (peek(ps) != '"')
		return fail(ps, "expected a string key");
	if (!parse_string(ps, ps->key, &klen))
		return false;
	skip_ws(ps);
	if (peek(ps) != ':')
		return fail(ps, "expected ':' after the key");
	ps->off++;
	skip_ws(ps);
	if (!parse_value(ps, &v))
		return false;
	if (cb && !cb(arg, ps->key, &v, ps->err, ps->errlen))
		return false;
	return true;
}

static bool parse_members(struct parser *ps, flatjson_field_cb cb, void *arg)
{
	skip_ws(ps);
	if (peek(ps) == '}') {
		ps->off++;
		return true;
	}
	for (;;) {
		if (!parse_member(ps, cb, arg))
			return false;
		skip_ws(ps);
		int c = peek(ps);
		ps->off++;
		if (c == '}')
			return true;
		if (c != ',') {
			ps->off--;
			return fail(ps, c < 0 ? "unterminated object"
					      : "expected ',' or '}'");
		}
		skip_ws(ps);
	}
}

bool flatjson_parse(const char *json, size_t len, flatjson_field_cb cb,
		    void *arg, char *err, size_t errlen)
{
	struct parser *ps = malloc(sizeof(*ps));
	bool ok = false;
	if (!ps) {
		snprintf(err, errlen, "out of memory");
		return false;
	}
	ps->p = (const unsigned char *)json;
	ps->len = len;
	ps->off = 0;
	ps->err = err;
	ps->errlen = errlen;
	skip_ws(ps);
	if (peek(ps) != '{') {
		fail(ps, ps->off >= len ? "empty input, expected a JSON object"
					: "expected a JSON object ('{')");
		goto out;
	}
	ps->off++;
	if (!parse_members(ps, cb, arg))
		goto out;
	skip_ws(ps);
	if (ps->off != len) {
		fail(ps, "trailing characters after the object");
		goto out;
	}
	ok = true;
out:
	free(ps);
	return ok;
}

/* ---- numbers ------------------------------------------------------------ */

static bool integer_text(const char *key, const struct flatjson_value *v,
			 char *err, size_t errlen)
{
	if (v->type != FLATJSON_NUMBER) {
		snprintf(err, errlen, "\"%s\" must be a number", key);
		return false;
	}
	if (strpbrk(v->str, ".eE")) {
		snprintf(err, errlen, "\"%s\" must be a whole number, not %s",
			 key, v->str);
		return false;
	}
	return true;
}

bool flatjson_u64(const char *key, const struct flatjson_value *v,
		  uint64_t *out, char *err, size_t errlen)
{
	if (!integer_text(key, v, err, errlen))
		return false;
	errno = 0;
	unsigned long long x = strtoull(v->str, NULL, 10);
	if (v->str[0] == '-' || errno == ERANGE) {
		snprintf(err, errlen, "\"%s\" is out of range: %s", key,
			 v->str);
		return false;
	}
	*out = x;
	return true;
}

bool flatjson_i64(const char *key, const struct flatjson_value *v, int64_t *out,
		  char *err, size_t errlen)
{
	if (!integer_text(key, v, err, errlen))
		return false;
	errno = 0;
	long long x = strtoll(v->str, NULL, 10);
	if (errno == ERANGE) {
		snprintf(err, errlen, "\"%s\" is out of range: %s", key,
			 v->str);
		return false;
	}
	*out = x;
	return true;
}

/* ---- writer ------------------------------------------------------------- */

void flatjson_begin(struct flatjson_writer *w, char *buf, size_t cap)
{
	json_init_fixed(&w->j, buf, cap, JSON_KEEP_BYTES | JSON_NO_NEWLINE);
	json_object(&w->j);
}

void flatjson_put_str(struct flatjson_writer *w, const char *k, const char *val)
{
	json_key(&w->j, k);
	json_string(&w->j, val);
}

void flatjson_put_u64(struct flatjson_writer *w, const char *k, uint64_t v)
{
	json_key(&w->j, k);
	json_u64(&w->j, v);
}

void flatjson_put_i64(struct flatjson_writer *w, const char *k, int64_t v)
{
	json_key(&w->j, k);
	json_i64(&w->j, v);
}

void flatjson_put_bool(struct flatjson_writer *w, const char *k, bool v)
{
	json_key(&w->j, k);
	json_bool(&w->j, v);
}

size_t flatjson_end(struct flatjson_writer *w)
{
	json_end(&w->j);
	return w->j.failed ? 0 : w->j.len;
}
