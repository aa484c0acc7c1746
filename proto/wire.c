/*
 * wire.c — see wire.h.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/wire.h"

void wire_writer_init(struct wire_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void wire_writer_free(struct wire_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void wire_writer_reset(struct wire_writer *w)
{
	w->len = 0;
	w->failed = false;
}

void wire_writer_drop_front(struct wire_writer *w, size_t n, size_t keep_cap)
{
	if (n >= w->len) {
		if (w->cap > keep_cap)
			wire_writer_free(w);
		else
			wire_writer_reset(w);
		return;
	}
	memmove(w->buf, w->buf + n, w->len - n);
	w->len -= n;
}

unsigned char *wire_put_space(struct wire_writer *w, size_t n)
{
	if (w->failed)
		return NULL;
	if (n > SIZE_MAX / 2 - w->len) {
		w->failed = true;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		unsigned char *b = realloc(w->buf, cap);
		if (!b) {
			w->failed = true;
			return NULL;
		}
		w->buf = b;
		w->cap = cap;
	}
	unsigned char *p = w->buf + w->len;
	w->len += n;
	return p;
}

void wire_store_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t wire_load_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void wire_store_u64(unsigned char *p, uint64_t v)
{
	wire_store_u32(p, (uint32_t)v);
	wire_store_u32(p + 4, (uint32_t)(v >> 32));
}

uint64_t wire_load_u64(const unsigned char *p)
{
	return (uint64_t)wire_load_u32(p) | (uint64_t)wire_load_u32(p + 4)
						    << 32;
}

void wire_put_u8(struct wire_writer *w, uint8_t v)
{
	unsigned char *p = wire_put_space(w, 1);
	if (p)
		p[0] = v;
}

void wire_put_u16(struct wire_writer *w, uint16_t v)
{
	unsigned char *p = wire_put_space(w, 2);
	if (p) {
		p[0] = (unsigned char)v;
		p[1] = (unsigned char)(v >> 8);
	}
}

void wire_put_u32(struct wire_writer *w, uint32_t v)
{
	unsigned char *p = wire_put_space(w, 4);
	if (p)
		wire_store_u32(p, v);
}

void wire_put_u64(struct wire_writer *w, uint64_t v)
{
	unsigned char *p = wire_put_space(w, 8);
	if (p)
		wire_store_u64(p, v);
}

void wire_put_bytes(struct wire_writer *w, const void *src, size_t n)
{
	if (n == 0)
		return;
	unsigned char *p = wire_put_space(w, n);
	if (p)
		memcpy(p, src, n);
}

void wire_put_blob(struct wire_writer *w, const void *src, size_t n)
{
	if (n > UINT32_MAX) {
		w->failed = true;
		return;
	}
	wire_put_u32(w, (uint32_t)n);
	wire_put_bytes(w, src, n);
}

void wire_patch_u32(struct wire_writer *w, size_t off, uint32_t v)
{
	if (!w->failed && off + 4 <= w->len)
		wire_store_u32(w->buf + off, v);
}

void wire_reader_init(struct wire_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->failed = false;
}

const void *wire_get_bytes(struct wire_reader *r, size_t n)
{
	if (r->failed || n > r->len - r->off) {
		r->failed = true;
		return NULL;
	}
	const void *p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t wire_get_u8(struct wire_reader *r)
{
	const unsigned char *p = wire_get_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t wire_get_u16(struct wire_reader *r)
{
	const unsigned char *p = wire_get_bytes(r, 2);
	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t wire_get_u32(struct wire_reader *r)
{
	const unsigned char *p = wire_get_bytes(r, 4);
	return p ? wire_load_u32(p) : 0;
}

uint64_t wire_get_u64(struct wire_reader *r)
{
	const unsigned char *p = wire_get_bytes(r, 8);
	return p ? wire_load_u64(p) : 0;
}

const void *wire_get_blob(struct wire_reader *r, size_t *n, size_t max)
{
	uint32_t len = wire_get_u32(r);
	*n = 0;
	if (r->failed || len > max) {
		r->failed = true;
		return NULL;
	}
	const void *p = wire_get_bytes(r, len);
	if (p)
		*n = len;
	return p;
}

size_t wire_remaining(const struct wire_reader *r)
{
	return r->failed ? 0 : r->len - r->off;
}

bool wire_reader_done(const struct wire_reader *r)
{
	return !r->failed && r->off == r->len;
}
