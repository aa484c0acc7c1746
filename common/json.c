/*
 * json.c — see json.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"

/* ---- sinks --------------------------------------------------------------- */

static void out(struct json *j, const char *s, size_t n)
{
	if (j->f) {
		fwrite(s, 1, n, j->f);
	} else if (j->b) {
		buf_put(j->b, s, n);
	} else {
		if (j->failed)
			return;
		if (j->len + n + 1 > j->cap) {
			j->failed = true;
			return;
		}
		memcpy(j->fixed + j->len, s, n);
		j->len += n;
		j->fixed[j->len] = '\0';
	}
}

static void outs(struct json *j, const char *s)
{
	out(j, s, strlen(s));
}

static void init(struct json *j, unsigned flags)
{
	memset(j, 0, sizeof(*j));
	j->flags = flags;
}

void json_init_file(struct json *j, FILE *f, unsigned flags)
{
	init(j, flags);
	j->f = f;
}

void json_init_buf(struct json *j, struct buf *b, unsigned flags)
{
	init(j, flags);
	j->b = b;
}

void json_init_fixed(struct json *j, char *buf, size_t cap, unsigned flags)
{
	init(j, flags);
	j->fixed = buf;
	j->cap = cap;
}

/* ---- structure ----------------------------------------------------------- */

/* Before any value: the comma between siblings (not after a key). */
static void value_start(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->comma[j->depth])
		out(j, ",", 1);
	j->comma[j->depth] = true;
}

static void open_(struct json *j, char ch)
{
	value_start(j);
	out(j, &ch, 1);
	if (j->depth + 1 < JSON_DEPTH)
		j->depth++;
	j->comma[j->depth] = false;
	j->kind[j->depth] = ch;
}

void json_object(struct json *j)
{
	open_(j, '{');
}

void json_list(struct json *j)
{
	open_(j, '[');
}

void json_end(struct json *j)
{
	out(j, j->kind[j->depth] == '[' ? "]" : "}", 1);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0) {
		if (!(j->flags & JSON_NO_NEWLINE))
			out(j, "\n", 1);
		j->comma[0] = false; /* the next document starts afresh */
	}
}

void json_key(struct json *j, const char *key)
{
	json_str(j, key, strlen(key));
	out(j, ":", 1);
	j->after_key = true;
}

/* ---- strings ------------------------------------------------------------- */

size_t json_utf8_len(const unsigned char *p, size_t left)
{
	size_t n;
	uint32_t min;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, min = 0x10000;
	else
		return 0;
	if (n > left)
		return 0;
	uint32_t cp = p[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

const char *json_escape_byte(unsigned char c, char *tmp)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	}
	if (c >= 0x20 && c != 0x7f)
		return NULL;
	snprintf(tmp, 8, "\\u%04x", c);
	return tmp;
}

void json_str(struct json *j, const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	char tmp[8];
	value_start(j);
	out(j, "\"", 1);
	for (size_t i = 0; i < len;) {
		size_t n = s[i] < 0x80 || (j->flags & JSON_KEEP_BYTES)
				   ? 1
				   : json_utf8_len(s + i, len - i);
		if (n == 0) {
			outs(j, "\\ufffd");
			i++;
		} else if (n == 1) {
			const char *e = s[i] < 0x80
						? json_escape_byte(s[i], tmp)
						: NULL;
			if (e)
				outs(j, e);
			else
				out(j, (const char *)s + i, 1);
			i++;
		} else {
			out(j, (const char *)s + i, n);
			i += n;
		}
	}
	out(j, "\"", 1);
}

void json_string(struct json *j, const char *s)
{
	json_str(j, s ? s : "", s ? strlen(s) : 0);
}

/* ---- other values -------------------------------------------------------- */

void json_u64(struct json *j, uint64_t v)
{
	char num[24];
	value_start(j);
	out(j, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64, v));
}

void json_i64(struct json *j, int64_t v)
{
	char num[24];
	value_start(j);
	out(j, num, (size_t)snprintf(num, sizeof(num), "%" PRId64, v));
}

void json_double(struct json *j, double v)
{
	char num[512]; /* %.3f of the largest double: 314 bytes */
	value_start(j);
	int n = snprintf(num, sizeof(num), "%.3f", v);
	if (n > 0)
		out(j, num,
		    (size_t)n < sizeof(num) ? (size_t)n : sizeof(num) - 1);
}

void json_bool(struct json *j, bool v)
{
	value_start(j);
	out(j, v ? "true" : "false", v ? 4 : 5);
}

void json_null(struct json *j)
{
	value_start(j);
	out(j, "null", 4);
}

void json_raw(struct json *j, const char *text, size_t len)
{
	value_start(j);
	out(j, text, len);
}
