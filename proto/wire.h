/*
 * wire.h — bounds-checked little-endian encoding, the building block of
 * every tenure wire format (peer protocol, client protocol).
 *
 * Contract
 * --------
 * A writer appends to a growable buffer; a failed allocation sets .failed
 * and turns every later put into a no-op, so encoders check once at the
 * end.  A reader never reads past its end: the first short or invalid read
 * sets .failed, returns zeroes from then on, and the decoder checks once at
 * the end (wire_reader_done() also requires every byte to be consumed, so
 * trailing garbage is an error too).  Nothing here allocates on the read
 * side: byte strings are returned as pointers into the input.
 *
 * Errors: nothing returns one; .failed on the writer (memory) or the reader
 * (short or invalid input), checked once at the end.
 */
#ifndef TENURE_PROTO_WIRE_H
#define TENURE_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wire_writer {
	unsigned char *buf;
	size_t len;
	size_t cap;
	bool failed;
};

void wire_writer_init(struct wire_writer *w);
void wire_writer_free(struct wire_writer *w);
/* Forget the contents, keep the memory. */
void wire_writer_reset(struct wire_writer *w);
/* Drop the first n bytes (already written out).  When that empties the
 * buffer and it grew beyond keep_cap, its memory is released, so one huge
 * answer does not pin a huge buffer to a connection. */
void wire_writer_drop_front(struct wire_writer *w, size_t n, size_t keep_cap);
/* Reserve n bytes at the end and return them (NULL on failure). */
unsigned char *wire_put_space(struct wire_writer *w, size_t n);
void wire_put_u8(struct wire_writer *w, uint8_t v);
void wire_put_u16(struct wire_writer *w, uint16_t v);
void wire_put_u32(struct wire_writer *w, uint32_t v);
void wire_put_u64(struct wire_writer *w, uint64_t v);
void wire_put_bytes(struct wire_writer *w, const void *p, size_t n);
/* u32 length, then the bytes. */
void wire_put_blob(struct wire_writer *w, const void *p, size_t n);
/* Overwrite 4 bytes at off (for lengths known only at the end). */
void wire_patch_u32(struct wire_writer *w, size_t off, uint32_t v);

struct wire_reader {
	const unsigned char *p;
	size_t len;
	size_t off;
	bool failed;
};

void wire_reader_init(struct wire_reader *r, const void *p, size_t len);
uint8_t wire_get_u8(struct wire_reader *r);
uint16_t wire_get_u16(struct wire_reader *r);
uint32_t wire_get_u32(struct wire_reader *r);
uint64_t wire_get_u64(struct wire_reader *r);
/* n bytes in place; NULL (and failed) if fewer remain. */
const void *wire_get_bytes(struct wire_reader *r, size_t n);
/* A blob written by wire_put_blob; its length must not exceed max. */
const void *wire_get_blob(struct wire_reader *r, size_t *n, size_t max);
size_t wire_remaining(const struct wire_reader *r);
/* True when nothing failed and every byte was read. */
bool wire_reader_done(const struct wire_reader *r);

/* Little-endian helpers for fixed headers. */
void wire_store_u32(unsigned char *p, uint32_t v);
uint32_t wire_load_u32(const unsigned char *p);
void wire_store_u64(unsigned char *p, uint64_t v);
uint64_t wire_load_u64(const unsigned char *p);

#endif /* TENURE_PROTO_WIRE_H */
