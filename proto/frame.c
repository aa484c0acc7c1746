/*
 * frame.c — see frame.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "proto/frame.h"

size_t frame_begin(struct wire_writer *w, uint32_t type, uint64_t request_id)
{
	size_t start = w->len;
	wire_put_u16(w, FRAME_MAGIC);
	wire_put_u8(w, FRAME_VERSION);
	wire_put_u8(w, 0);
	wire_put_u32(w, type);
	wire_put_u64(w, request_id);
	wire_put_u32(w, 0); /* length, patched by frame_end */
	wire_put_u32(w, 0); /* checksum, patched by frame_end */
	return start;
}

void frame_end(struct wire_writer *w, size_t start)
{
	if (w->failed)
		return;
	size_t payload = w->len - start - FRAME_HEADER_SIZE;
	if (payload > UINT32_MAX) {
		w->failed = true;
		return;
	}
	unsigned char *h = w->buf + start;
	wire_store_u32(h + 16, (uint32_t)payload);
	uint32_t crc = crc32c(0, h, 20);
	crc = crc32c(crc, h + FRAME_HEADER_SIZE, payload);
	wire_store_u32(h + 20, crc);
}

void frame_decoder_init(struct frame_decoder *d, size_t limit)
{
	memset(d, 0, sizeof(*d));
	d->limit = limit ? limit : FRAME_LIMIT_DEFAULT;
}

void frame_decoder_free(struct frame_decoder *d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

/* Move unconsumed bytes to the front, then grow if still short of n. */
static bool make_room(struct frame_decoder *d, size_t n)
{
	if (d->off) {
		memmove(d->buf, d->buf + d->off, d->len - d->off);
		d->len -= d->off;
		d->off = 0;
	}
	if (d->cap - d->len >= n)
		return true;
	size_t cap = d->cap ? d->cap : 64 * 1024;
	while (cap - d->len < n)
		cap *= 2;
	unsigned char *b = realloc(d->buf, cap);
	if (!b)
		return false;
	d->buf = b;
	d->cap = cap;
	return true;
}

void *frame_decoder_space(struct frame_decoder *d, size_t *n)
{
	size_t want = *n ? *n : 64 * 1024;
	if (!make_room(d, want)) {
		*n = 0;
		return NULL;
	}
	*n = d->cap - d->len;
	return d->buf + d->len;
}

void frame_decoder_commit(struct frame_decoder *d, size_t n)
{
	d->len += n;
}

bool frame_decoder_feed(struct frame_decoder *d, const void *p, size_t n)
{
	size_t room = n;
	void *dst = frame_decoder_space(d, &room);
	if (!dst || room < n)
		return false;
	memcpy(dst, p, n);
	frame_decoder_commit(d, n);
	return true;
}

static int fail(struct frame_decoder *d, const char *why, unsigned long long v)
{
	d->failed = true;
	snprintf(d->error, sizeof(d->error), why, v);
	return FRAME_ERROR;
}

int frame_decoder_next(struct frame_decoder *d, struct frame *f)
{
	if (d->failed)
		return FRAME_ERROR;
	size_t have = d->len - d->off;
	if (have < FRAME_HEADER_SIZE)
		return FRAME_NEED_MORE;
	const unsigned char *h = d->buf + d->off;
	uint16_t magic = (uint16_t)(h[0] | h[1] << 8);
	if (magic != FRAME_MAGIC)
		return fail(d,
			    "bad frame magic 0x%04llx: not a tenure peer or "
			    "client",
			    magic);
	if (h[2] != FRAME_VERSION)
		return fail(d,
			    "unsupported protocol version %llu (this build "
			    "speaks 1): upgrade the older side",
			    h[2]);
	uint32_t len = wire_load_u32(h + 16);
	if (len > d->limit)
		return fail(d, "frame of %llu bytes is over the limit", len);
	if (have < FRAME_HEADER_SIZE + (size_t)len)
		return FRAME_NEED_MORE;
	uint32_t crc = crc32c(0, h, 20);
	crc = crc32c(crc, h + FRAME_HEADER_SIZE, len);
	if (crc != wire_load_u32(h + 20))
		return fail(d,
			    "frame checksum mismatch (type %llu): corrupted "
			    "in transit",
			    wire_load_u32(h + 4));
	f->type = wire_load_u32(h + 4);
	f->request_id = wire_load_u64(h + 8);
	f->payload = h + FRAME_HEADER_SIZE;
	f->len = len;
	d->off += FRAME_HEADER_SIZE + len;
	return FRAME_READY;
}

const char *frame_decoder_error(const struct frame_decoder *d)
{
	return d->failed ? d->error : "";
}
