/*
 * transport_hello.h — the first frame on a peer connection.
 *
 * Contract
 * --------
 * A hello is one frame of type TRANSPORT_HELLO_TYPE, request id 0, with
 * the payload
 *
 *   u64 cluster_id, u64 from, u64 to, blob token (u32 length + bytes),
 *   blob client_addr
 *
 * (the token is empty when none is configured; client_addr is the
 * sender's client address, for leader hints, or empty).  The dialling node sends
 * it; the accepting node decodes it with transport_hello_decode() and
 * judges it with transport_hello_verify(), which compares the token in
 * constant time so that a wrong guess takes as long as a right one.  Both
 * return NULL when all is well, else a reason fit for a log line.  A
 * decoded token points into the frame.
 *
 * Errors: decode and verify return NULL or a reason (above), encode false
 * when out of memory; nothing is logged here.
 */
#ifndef TENURE_SERVER_TRANSPORT_HELLO_H
#define TENURE_SERVER_TRANSPORT_HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "raft/raft.h"

/* Largest hello payload: the fixed fields plus the longest token.  Until
 * the hello arrives, the decoder refuses anything longer, so a stranger
 * cannot make us buffer a megabyte. */
#define TRANSPORT_HELLO_MAX (3 * 8 + 4 + 256 + 4 + 128)

struct transport_hello {
	uint64_t cluster_id;
	raft_id from;
	raft_id to;
	const void *token;
	size_t token_len;
	const void *client_addr;
	size_t client_addr_len;
};

/* Append a hello frame; false only when out of memory. */
bool transport_hello_encode(struct wire_writer *w,
			    const struct transport_hello *h);
const char *transport_hello_decode(const struct frame *f,
				   struct transport_hello *h);
/* token NULL means "none configured" (it must then be empty).  why is
 * scratch for the returned reason. */
const char *transport_hello_verify(const struct transport_hello *h,
				   uint64_t cluster_id, raft_id self,
				   const char *token, char *why, size_t n);
/* Equal length and bytes, in time that depends only on want_len. */
bool transport_token_equal(const void *want, size_t want_len, const void *got,
			   size_t got_len);

#endif /* TENURE_SERVER_TRANSPORT_HELLO_H */
