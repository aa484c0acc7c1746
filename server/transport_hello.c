/*
 * transport_hello.c — see transport_hello.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server/transport.h"
#include "server/transport_hello.h"

_Static_assert(TRANSPORT_HELLO_MAX == 3 * 8 + 4 + TRANSPORT_TOKEN_MAX + 4 +
					      TRANSPORT_CLIENT_ADDR_MAX,
	       "hello limit must follow the token and address limits");

bool transport_hello_encode(struct wire_writer *w,
			    const struct transport_hello *h)
{
	size_t start = frame_begin(w, TRANSPORT_HELLO_TYPE, 0);
	wire_put_u64(w, h->cluster_id);
	wire_put_u64(w, h->from);
	wire_put_u64(w, h->to);
	wire_put_blob(w, h->token, h->token_len);
	wire_put_blob(w, h->client_addr, h->client_addr_len);
	frame_end(w, start);
	return !w->failed;
}

const char *transport_hello_decode(const struct frame *f,
				   struct transport_hello *h)
{
	struct wire_reader r;

	if (f->type != TRANSPORT_HELLO_TYPE)
		return "first frame is not a hello (not a tenure peer, or "
		       "an older version)";
	wire_reader_init(&r, f->payload, f->len);
	h->cluster_id = wire_get_u64(&r);
	h->from = wire_get_u64(&r);
	h->to = wire_get_u64(&r);
	h->token = wire_get_blob(&r, &h->token_len, TRANSPORT_TOKEN_MAX);
	h->client_addr = wire_get_blob(&r, &h->client_addr_len,
				       TRANSPORT_CLIENT_ADDR_MAX);
	if (!wire_reader_done(&r))
		return "malformed hello";
	return NULL;
}

bool transport_token_equal(const void *want, size_t want_len, const void *got,
			   size_t got_len)
{
	const unsigned char *a = want, *b = got;
	/* Accumulate every difference instead of returning at the first one:
	 * an early exit would tell an attacker how many bytes were right. */
	size_t diff = want_len ^ got_len;

	for (size_t i = 0; i < want_len; i++)
		diff |= (size_t)(a[i] ^ (i < got_len ? b[i] : 0));
	return diff == 0;
}

const char *transport_hello_verify(const struct transport_hello *h,
				   uint64_t cluster_id, raft_id self,
				   const char *token, char *why, size_t n)
{
	size_t token_len = token ? strlen(token) : 0;

	if (h->cluster_id != cluster_id) {
		snprintf(why, n,
			 "wrong cluster id %016" PRIx64 " (this "
			 "cluster is %016" PRIx64 "): a node of another "
			 "cluster",
			 h->cluster_id, cluster_id);
		return why;
	}
	if (h->to != self) {
		snprintf(why, n,
			 "hello for node %" PRIu64 " reached node %" PRIu64
			 ": check the peer addresses",
			 h->to, self);
		return why;
	}
	if (h->from == 0 || h->from == self) {
		snprintf(why, n, "hello claims sender id %" PRIu64, h->from);
		return why;
	}
	if (!transport_token_equal(token ? token : "", token_len, h->token,
				   h->token_len)) {
		snprintf(why, n,
			 "auth token mismatch (node %" PRIu64 "): "
			 "set the same auth token on every node",
			 h->from);
		return why;
	}
	return NULL;
}
