/*
 * buf.c — see buf.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

void buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void buf_free(struct buf *b)
{
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = false;
}

char *buf_space(struct buf *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (n > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		char *p = realloc(b->buf, cap);
		if (!p) {
			b->failed = true;
			return NULL;
		}
		b->buf = p;
		b->cap = cap;
	}
	char *p = b->buf + b->len;
	b->len += n;
	return p;
}

void buf_put(struct buf *b, const void *p, size_t n)
{
	char *d = buf_space(b, n);
	if (d && n)
		memcpy(d, p, n);
}

void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	char *p = buf_space(b, (size_t)n + 1);
	if (!p)
		return;
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	b->len--; /* drop the NUL */
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}
