/*
 * conf_lex.c — one line of the file syntax (conf_lex.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/conf_lex.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

char conf_lex_unescape(char e)
{
	switch (e) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'r':
		return '\r';
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	default:
		return e; /* \\ and \' among them */
	}
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* How much of [s, end) an error message quotes. */
static int near(const char *s, const char *end, int most)
{
	return end - s < most ? (int)(end - s) : most;
}

enum quoted {
	QUOTED_OK,
	QUOTED_OPEN,
	QUOTED_LONG
};

/* A quoted value from *s (just after the opening quote) into out; *s
 * ends after the closing quote. */
static enum quoted lex_quoted(const char **s, const char *end, char *out,
			      size_t cap)
{
	size_t n = 0;
	const char *p = *s;
	while (p < end) {
		char c = *p++;
		if (c == '\'' && (p == end || *p != '\'')) {
			out[n] = '\0';
			*s = p;
			return QUOTED_OK;
		}
		if (c == '\'')
			p++; /* '' is one quote */
		else if (c == '\\' && p < end)
			c = conf_lex_unescape(*p++);
		if (n + 1 >= cap)
			return QUOTED_LONG;
		out[n++] = c;
	}
	return QUOTED_OPEN;
}

static bool lex_bare(const char **s, const char *end, char *out, size_t cap)
{
	size_t n = 0;
	const char *p = *s;
	while (p < end && !is_blank(*p) && *p != '#') {
		if (n + 1 >= cap)
			return false;
		out[n++] = *p++;
	}
	out[n] = '\0';
	*s = p;
	return true;
}

static const char *skip_blanks(const char *s, const char *end)
{
	while (s < end && is_blank(*s))
		s++;
	return s;
}

int conf_lex(const char *line, size_t len, struct conf_lexed *l, char *value,
	     size_t cap, char *err, size_t errlen)
{
	const char *end = line + len, *s = skip_blanks(line, end);
	memset(l, 0, sizeof(*l));
	if (!cap)
		return fail(err, errlen, "value too long");
	value[0] = '\0';
	if (s == end || *s == '#')
		return 0;
	l->key = s;
	while (s < end && is_key_char(*s))
		s++;
	l->key_len = (size_t)(s - l->key);
	int klen = (int)l->key_len;
	if (l->key_len == 0)
		return fail(err, errlen, "syntax error near \"%.*s\"",
			    near(s, end, 20), s);
	s = skip_blanks(s, end);
	if (s < end && *s == '=')
		s = skip_blanks(s + 1, end);
	if (s < end && *s == '\'') {
		s++;
		enum quoted q = lex_quoted(&s, end, value, cap);
		if (q == QUOTED_OPEN)
			return fail(err, errlen,
				    "unterminated quoted value for \"%.*s\"",
				    klen, l->key);
		if (q == QUOTED_LONG)
			return fail(err, errlen,
				    "value too long for \"%.*s\" (%zu bytes "
				    "at most)",
				    klen, l->key, cap - 1);
		l->has_value = true;
	} else if (s < end && *s != '#') {
		if (!lex_bare(&s, end, value, cap))
			return fail(err, errlen,
				    "value too long for \"%.*s\" (%zu bytes "
				    "at most)",
				    klen, l->key, cap - 1);
		l->has_value = true;
	}
	s = skip_blanks(s, end);
	if (s < end && *s != '#')
		return fail(err, errlen,
			    "syntax error: unexpected text \"%.*s\" after "
			    "the value of \"%.*s\"; quote values that "
			    "contain spaces, quotes or '#': key = 'a b'",
			    near(s, end, 40), s, klen, l->key);
	return 0;
}

bool conf_lex_key_is(const struct conf_lexed *l, const char *k)
{
	if (l->key_len != strlen(k))
		return false;
	for (size_t i = 0; i < l->key_len; i++)
		if (lower(l->key[i]) != lower(k[i]))
			return false;
	return true;
}

int conf_lex_named(const char *line, const char *end, const char *const *names,
		   int n, char *value, size_t cap, char *err, size_t errlen)
{
	struct conf_lexed l;
	int rc = conf_lex(line, (size_t)(end - line), &l, value, cap, err,
			  errlen);

	for (int k = 0; l.key_len && k < n; k++)
		if (conf_lex_key_is(&l, names[k]))
			return rc == 0 ? k : -2;
	return -1;
}

bool conf_lex_put_quoted(char *buf, size_t cap, size_t *len, const char *key,
			 const char *value)
{
	int w = snprintf(buf + *len, cap - *len, "%s = '", key);
	if (w < 0 || (size_t)w >= cap - *len)
		return false;
	*len += (size_t)w;
	for (const char *p = value; *p; p++) {
		bool doubled = *p == '\'' || *p == '\\';
		if (*len + (doubled ? 2 : 1) + 3 > cap)
			return false;
		if (doubled)
			buf[(*len)++] = *p;
		buf[(*len)++] = *p;
	}
	buf[(*len)++] = '\'';
	buf[(*len)++] = '\n';
	buf[*len] = '\0';
	return true;
}
