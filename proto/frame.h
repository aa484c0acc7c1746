/*
 * frame.h — the framing shared by the peer and client protocols.
 *
 * Contract
 * --------
 * Every message on a tenure TCP connection is one frame:
 *
 *   offset size  field
 *        0    2  magic 0x4E54 ("TN" on the wire)
 *        2    1  protocol version (FRAME_VERSION)
 *        3    1  flags (reserved, 0)
 *        4    4  type: what the payload is (defined by each protocol)
 *        8    8  request id: matches a response to its request; 0 for
 *                messages that need no answer (Raft messages)
 *       16    4  payload length
 *       20    4  CRC32C of bytes 0..19 and of the payload
 *       24       payload
 *
 * All integers are little endian.  A receiver refuses a frame whose magic,
 * version or checksum is wrong or whose length is over its limit (1 MiB by
 * default): the connection is then unusable and must be closed, and
 * frame_decoder_error() says why in words fit for a log line.  Nothing is
 * allocated per frame: a decoded frame points into the decoder's buffer
 * until the next call.
 *
 * Errors: frame_decoder_next returns an enum frame_status (FRAME_ERROR =
 * -1, reason in frame_decoder_error()); feed and space fail (false, NULL)
 * only when out of memory.  Nothing is logged.
 */
#ifndef TENURE_PROTO_FRAME_H
#define TENURE_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"

#define FRAME_MAGIC 0x4E54u
#define FRAME_VERSION 1
#define FRAME_HEADER_SIZE 24
#define FRAME_LIMIT_DEFAULT ((size_t)1 << 20)

struct frame {
	uint32_t type;
	uint64_t request_id;
	const unsigned char *payload;
	size_t len;
};

/* Begin a frame in w; returns its start offset for frame_end(). */
size_t frame_begin(struct wire_writer *w, uint32_t type, uint64_t request_id);
/* Fill in length and checksum of the frame started at `start`. */
void frame_end(struct wire_writer *w, size_t start);

enum frame_status {
	FRAME_NEED_MORE = 0,
	FRAME_READY = 1,
	FRAME_ERROR = -1,
};

struct frame_decoder {
	unsigned char *buf;
	size_t len; /* bytes held */
	size_t off; /* start of the first unconsumed byte */
	size_t cap;
	size_t limit; /* largest payload accepted */
	bool failed;
	char error[128];
};

void frame_decoder_init(struct frame_decoder *d, size_t limit);
void frame_decoder_free(struct frame_decoder *d);
/* Space for up to *n more bytes (for a read callback); commit what was
 * actually read with frame_decoder_commit(). */
void *frame_decoder_space(struct frame_decoder *d, size_t *n);
void frame_decoder_commit(struct frame_decoder *d, size_t n);
/* Copy bytes in (convenience for tests and non-libuv users). */
bool frame_decoder_feed(struct frame_decoder *d, const void *p, size_t n);
/* Next complete frame, if any.  After FRAME_ERROR the decoder stays
 * failed. */
int frame_decoder_next(struct frame_decoder *d, struct frame *f);
const char *frame_decoder_error(const struct frame_decoder *d);
/* Bytes received and not yet taken as frames. */
static inline size_t frame_decoder_held(const struct frame_decoder *d)
{
	return d->len - d->off;
}

#endif /* TENURE_PROTO_FRAME_H */
