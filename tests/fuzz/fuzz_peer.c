/*
 * fuzz_peer.c — libFuzzer target for the peer decoder (proto/peer.c).
 *
 * Input: one byte of frame type (so unknown types are tried too), then the
 * payload, handed to peer_decode() as a frame that already passed its
 * checksum: the peer decoder is the only line of defence here.
 *
 * What must hold, whatever the bytes:
 *   - no crash, leak, or undefined behaviour (ASan, UBSan);
 *   - a refusal says why (a non-empty error);
 *   - an accepted message obeys what peer.h promises (node ids not 0,
 *     booleans 0/1, consecutive indices of known types and term > 0,
 *     the chunk inside the snapshot);
 *   - an accepted message round-trips: encoded again and decoded again it
 *     is the same message, field by field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/peer.h"

#define CHECK(c)                          \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

static void check_buf(const struct raft_buf *a, const struct raft_buf *b)
{
	CHECK(a->len == b->len);
	CHECK(a->len == 0 || memcmp(a->base, b->base, a->len) == 0);
}

static void check_append(const struct raft_msg_append *a,
			 const struct raft_msg_append *b)
{
	CHECK(a->prev_index == b->prev_index && a->prev_term == b->prev_term);
	CHECK(a->commit == b->commit && a->n_entries == b->n_entries);
	CHECK((a->n_entries == 0) == (a->entries == NULL));
	for (unsigned i = 0; i < a->n_entries; i++) {
		const struct raft_entry *x = &a->entries[i],
					*y = &b->entries[i];
		CHECK(x->index == a->prev_index + 1 + i && x->index != 0);
		CHECK(x->term != 0);
		CHECK(x->type >= RAFT_ENTRY_NORMAL &&
		      x->type <= RAFT_ENTRY_CONFIG);
		CHECK(x->term == y->term && x->index == y->index);
		CHECK(x->type == y->type);
		check_buf(&x->data, &y->data);
	}
}

/* Addresses are NUL-terminated strings: compare them as such. */
static void check_config(const struct raft_config *a,
			 const struct raft_config *b)
{
	CHECK(a->n <= RAFT_MAX_SERVERS && a->n == b->n);
	for (unsigned i = 0; i < a->n; i++) {
		CHECK(a->servers[i].id != 0);
		CHECK(a->servers[i].id == b->servers[i].id);
		CHECK(a->servers[i].role == b->servers[i].role);
		CHECK(memchr(a->servers[i].addr, 0, RAFT_ADDR_MAX) != NULL);
		CHECK(strcmp(a->servers[i].addr, b->servers[i].addr) == 0);
	}
}

static void check_snapshot(const struct raft_msg_snapshot *a,
			   const struct raft_msg_snapshot *b)
{
	CHECK(a->index == b->index && a->term == b->term);
	check_config(&a->config, &b->config);
	CHECK(a->offset <= a->total && a->chunk.len <= a->total - a->offset);
	CHECK(a->offset == b->offset && a->total == b->total);
	check_buf(&a->chunk, &b->chunk);
	CHECK(a->done == b->done);
}

static void check_same(const struct raft_message *a,
		       const struct raft_message *b)
{
	CHECK(a->type == b->type && a->from == b->from && a->to == b->to);
	CHECK(a->term == b->term);
	CHECK(a->from != 0 && a->to != 0);
	switch (a->type) {
	case RAFT_MSG_APPEND:
		check_append(&a->append, &b->append);
		break;
	case RAFT_MSG_APPEND_RESP:
		CHECK(a->append_resp.success == b->append_resp.success);
		CHECK(a->append_resp.match == b->append_resp.match);
		CHECK(a->append_resp.hint_index == b->append_resp.hint_index);
		CHECK(a->append_resp.hint_term == b->append_resp.hint_term);
		break;
	case RAFT_MSG_HEARTBEAT:
		CHECK(a->heartbeat.commit == b->heartbeat.commit);
		CHECK(a->heartbeat.read_seq == b->heartbeat.read_seq);
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		CHECK(a->heartbeat_resp.read_seq == b->heartbeat_resp.read_seq);
		break;
	case RAFT_MSG_VOTE:
		CHECK(a->vote.last_index == b->vote.last_index);
		CHECK(a->vote.last_term == b->vote.last_term);
		CHECK(a->vote.prevote == b->vote.prevote);
		CHECK(a->vote.transfer == b->vote.transfer);
		break;
	case RAFT_MSG_VOTE_RESP:
		CHECK(a->vote_resp.granted == b->vote_resp.granted);
		CHECK(a->vote_resp.prevote == b->vote_resp.prevote);
		break;
	case RAFT_MSG_SNAPSHOT:
		check_snapshot(&a->snapshot, &b->snapshot);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		CHECK(a->snapshot_resp.index == b->snapshot_resp.index);
		CHECK(a->snapshot_resp.received == b->snapshot_resp.received);
		CHECK(a->snapshot_resp.done == b->snapshot_resp.done);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	default:
		CHECK(0);
	}
}

/* Encode m, take the frame apart again with a frame decoder and decode it
 * into out (which then points into d's buffer). */
static void round_trip(const struct raft_message *m, struct wire_writer *w,
		       struct frame_decoder *d, struct raft_message *out,
		       struct peer_scratch *s)
{
	struct frame f, none;

	CHECK(peer_encode(w, m));
	CHECK(frame_decoder_feed(d, w->buf, w->len));
	CHECK(frame_decoder_next(d, &f) == FRAME_READY);
	CHECK(frame_decoder_next(d, &none) == FRAME_NEED_MORE);
	CHECK(f.type == m->type && f.request_id == 0);
	CHECK(peer_decode(&f, out, s) == PEER_OK);
	CHECK(s->error[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct peer_scratch s1 = { 0 }, s2 = { 0 };
	struct raft_message m, again;
	struct wire_writer w;
	struct frame_decoder d;
	struct frame f;

	if (size < 1)
		return 0;
	f.type = data[0];
	f.request_id = 0;
	f.payload = data + 1;
	f.len = size - 1;
	int rv = peer_decode(&f, &m, &s1);
	if (rv != PEER_OK) {
		CHECK(rv == PEER_EBADMSG);
		CHECK(s1.error[0] != '\0');
		peer_scratch_free(&s1);
		return 0;
	}
	CHECK(s1.error[0] == '\0');
	wire_writer_init(&w);
	/* What the decoder accepted fits in a frame of the same size again
	 * (the limit is only there to keep memory bounded). */
	frame_decoder_init(&d, size - 1);
	round_trip(&m, &w, &d, &again, &s2);
	check_same(&m, &again);
	check_same(&again, &m);
	frame_decoder_free(&d);
	wire_writer_free(&w);
	peer_scratch_free(&s1);
	peer_scratch_free(&s2);
	return 0;
}
