/*
 * store_batch.c — encoding and checking of segment headers and batches
 * (layout in store_int.h).  Pure functions on memory: no I/O, no state.
 */
#include "common/crc32c.h"
#include "raft/store_int.h"

uint64_t batch_size(const struct raft_entry *e, unsigned n)
{
	uint64_t len = BATCH_HDR;

	for (unsigned i = 0; i < n; i++)
		len += ENTRY_HDR + pad8(e[i].data.len);
	return len;
}

static unsigned char *entry_encode(unsigned char *p, const struct raft_entry *e)
{
	size_t pad = (size_t)(pad8(e->data.len) - e->data.len);

	put_u64(p, e->term);
	put_u64(p + 8, e->index);
	put_u32(p + 16, (uint32_t)e->data.len);
	p[20] = e->type;
	p[21] = p[22] = p[23] = 0;
	p += ENTRY_HDR;
	if (e->data.len > 0)
		memcpy(p, e->data.base, e->data.len);
	memset(p + e->data.len, 0, pad);
	return p + e->data.len + pad;
}

/* `len` is batch_size(e, n); the caller computed it to size the buffer. */
void batch_encode(unsigned char *p, uint64_t nonce, raft_index first,
		  const struct raft_entry *e, unsigned n, uint64_t len)
{
	unsigned char *q = p + BATCH_HDR;

	for (unsigned i = 0; i < n; i++)
		q = entry_encode(q, &e[i]);
	put_u32(p, BATCH_MAGIC);
	put_u16(p + 4, BATCH_VERSION);
	put_u16(p + 6, 0);
	put_u32(p + 8, n);
	put_u32(p + 12, 0);
	put_u64(p + 16, len);
	put_u64(p + 24, first);
	put_u64(p + 32, nonce);
	put_u32(p + 40, crc32c(0, p + BATCH_HDR, (size_t)(len - BATCH_HDR)));
	put_u32(p + 44, crc32c(0, p, 44));
}

bool batch_header_plausible(const unsigned char *p, uint64_t avail,
			    uint64_t nonce, bool any_nonce)
{
	if (avail < BATCH_HDR || get_u32(p) != BATCH_MAGIC)
		return false;
	if (get_u32(p + 44) != crc32c(0, p, 44))
		return false;
	return any_nonce || get_u64(p + 32) == nonce;
}

/* Walks the entry headers of a batch whose checksums passed: a valid CRC
 * over a malformed layout means a bug wrote it, and must not be trusted
 * either. */
static bool entries_wellformed(const unsigned char *p,
			       const struct batch_info *bi)
{
	uint64_t off = BATCH_HDR;

	for (uint32_t i = 0; i < bi->n; i++) {
		uint64_t dlen;

		if (bi->len - off < ENTRY_HDR)
			return false;
		if (get_u64(p + off + 8) != bi->first + i)
			return false;
		dlen = get_u32(p + off + 16);
		if (dlen > ENTRY_MAX_BYTES ||
		    pad8(dlen) > bi->len - off - ENTRY_HDR)
			return false;
		off += ENTRY_HDR + pad8(dlen);
	}
	return off == bi->len;
}

int batch_check(const unsigned char *p, uint64_t avail, uint64_t nonce,
		bool any_nonce, struct batch_info *bi, const char **why)
{
	if (avail < BATCH_HDR) {
		*why = "incomplete batch header";
		return CHECK_BAD;
	}
	if (get_u32(p) != BATCH_MAGIC) {
		*why = "no batch header here (bad magic number)";
		return CHECK_BAD;
	}
	if (get_u32(p + 44) != crc32c(0, p, 44)) {
		*why = "batch header checksum mismatch";
		return CHECK_BAD;
	}
	if (get_u16(p + 4) != BATCH_VERSION) {
		*why = "batch written in an unknown format version";
		return CHECK_NEWER;
	}
	if (!any_nonce && get_u64(p + 32) != nonce) {
		*why = "batch header belongs to another segment";
		return CHECK_BAD;
	}
	bi->n = get_u32(p + 8);
	bi->len = get_u64(p + 16);
	bi->first = get_u64(p + 24);
	if (bi->n > BATCH_MAX_ENTRIES || bi->first == 0 ||
	    bi->first + bi->n < bi->first || bi->len % 8 != 0 ||
	    bi->len < BATCH_HDR + (uint64_t)bi->n * ENTRY_HDR) {
		*why = "malformed batch header";
		return CHECK_BAD;
	}
	if (bi->len > avail) {
		*why = "batch extends past the end of the file";
		return CHECK_BAD;
	}
	if (get_u32(p + 40) !=
	    crc32c(0, p + BATCH_HDR, (size_t)(bi->len - BATCH_HDR))) {
		*why = "batch data checksum mismatch";
		return CHECK_BAD;
	}
	if (!entries_wellformed(p, bi)) {
		*why = "malformed entries in batch";
		return CHECK_BAD;
	}
	return CHECK_OK;
}

/* Entries point into p: the caller keeps p alive as long as they are. */
void batch_decode(const unsigned char *p, const struct batch_info *bi,
		  struct raft_entry *out)
{
	uint64_t off = BATCH_HDR;

	for (uint32_t i = 0; i < bi->n; i++) {
		const unsigned char *q = p + off;
		size_t dlen = get_u32(q + 16);

		out[i].term = get_u64(q);
		out[i].index = get_u64(q + 8);
		out[i].type = q[20];
		out[i].data.base = (void *)(q + ENTRY_HDR);
		out[i].data.len = dlen;
		off += ENTRY_HDR + pad8(dlen);
	}
}

void seg_header_encode(unsigned char *p, uint64_t counter, uint64_t nonce)
{
	put_u32(p, SEG_MAGIC);
	put_u16(p + 4, SEG_VERSION);
	put_u16(p + 6, 0);
	put_u64(p + 8, counter);
	put_u64(p + 16, nonce);
	put_u32(p + 24, 0);
	put_u32(p + 28, crc32c(0, p, 28));
}

int seg_header_check(const unsigned char *p, uint64_t avail, uint64_t *counter,
		     uint64_t *nonce, const char **why)
{
	if (avail < SEG_HDR) {
		*why = "incomplete segment header";
		return CHECK_BAD;
	}
	if (get_u32(p) != SEG_MAGIC) {
		*why = "not a segment file (bad magic number)";
		return CHECK_BAD;
	}
	if (get_u32(p + 28) != crc32c(0, p, 28)) {
		*why = "segment header checksum mismatch";
		return CHECK_BAD;
	}
	if (get_u16(p + 4) != SEG_VERSION) {
		*why = "segment written in an unknown format version";
		return CHECK_NEWER;
	}
	*counter = get_u64(p + 8);
	*nonce = get_u64(p + 16);
	return CHECK_OK;
}

bool all_zero(const unsigned char *p, uint64_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}
