/*
 * buf.h — a growable byte buffer: HTTP bodies and responses, JSON text.
 *
 * Contract
 * --------
 * Appends grow the buffer; a failed allocation sets .failed and turns
 * every later append into a no-op, so a writer checks once at the end.
 * The contents are not NUL-terminated.  No global state.
 *
 * Errors: nothing returns one; a failed allocation sets .failed (above);
 * nothing is logged.
 */
#ifndef TENURE_COMMON_BUF_H
#define TENURE_COMMON_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *buf;
	size_t len;
	size_t cap;
	bool failed;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Forget the contents, keep the memory. */
void buf_reset(struct buf *b);
/* Reserve n bytes at the end and return them (NULL on failure). */
char *buf_space(struct buf *b, size_t n);
void buf_put(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
