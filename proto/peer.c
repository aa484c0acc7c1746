/*
 * peer.c — see peer.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/peer.h"

/* Smallest encoding of one entry: term, index, type, data length. */
#define ENTRY_MIN_BYTES (8 + 8 + 1 + 4)
#define CONFIG_MAX_BYTES (8 + RAFT_MAX_SERVERS * (10 + RAFT_ADDR_MAX))

void peer_scratch_free(struct peer_scratch *s)
{
	free(s->entries);
	s->entries = NULL;
	s->cap = 0;
}

static void put_bool(struct wire_writer *w, bool b)
{
	wire_put_u8(w, b ? 1 : 0);
}

static void encode_append(struct wire_writer *w,
			  const struct raft_msg_append *a)
{
	wire_put_u64(w, a->prev_index);
	wire_put_u64(w, a->prev_term);
	wire_put_u64(w, a->commit);
	wire_put_u32(w, a->n_entries);
	for (unsigned i = 0; i < a->n_entries; i++) {
		const struct raft_entry *e = &a->entries[i];
		wire_put_u64(w, e->term);
		wire_put_u64(w, e->index);
		wire_put_u8(w, e->type);
		wire_put_blob(w, e->data.base, e->data.len);
	}
}

static void encode_snapshot(struct wire_writer *w,
			    const struct raft_msg_snapshot *s)
{
	unsigned char conf[CONFIG_MAX_BYTES];
	size_t n = raft_config_encode(&s->config, conf, sizeof(conf));
	wire_put_u64(w, s->index);
	wire_put_u64(w, s->term);
	wire_put_blob(w, conf, n);
	wire_put_u64(w, s->offset);
	wire_put_u64(w, s->total);
	wire_put_blob(w, s->chunk.base, s->chunk.len);
	put_bool(w, s->done);
}

static void encode_body(struct wire_writer *w, const struct raft_message *m)
{
	switch (m->type) {
	case RAFT_MSG_APPEND:
		encode_append(w, &m->append);
		break;
	case RAFT_MSG_APPEND_RESP:
		put_bool(w, m->append_resp.success);
		wire_put_u64(w, m->append_resp.match);
		wire_put_u64(w, m->append_resp.hint_index);
		wire_put_u64(w, m->append_resp.hint_term);
		break;
	case RAFT_MSG_HEARTBEAT:
		wire_put_u64(w, m->heartbeat.commit);
		wire_put_u64(w, m->heartbeat.read_seq);
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		wire_put_u64(w, m->heartbeat_resp.read_seq);
		break;
	case RAFT_MSG_VOTE:
		wire_put_u64(w, m->vote.last_index);
		wire_put_u64(w, m->vote.last_term);
		put_bool(w, m->vote.prevote);
		put_bool(w, m->vote.transfer);
		break;
	case RAFT_MSG_VOTE_RESP:
		put_bool(w, m->vote_resp.granted);
		put_bool(w, m->vote_resp.prevote);
		break;
	case RAFT_MSG_SNAPSHOT:
		encode_snapshot(w, &m->snapshot);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		wire_put_u64(w, m->snapshot_resp.index);
		wire_put_u64(w, m->snapshot_resp.received);
		put_bool(w, m->snapshot_resp.done);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	}
}

bool peer_encode(struct wire_writer *w, const struct raft_message *m)
{
	size_t start = frame_begin(w, m->type, 0);
	wire_put_u64(w, m->from);
	wire_put_u64(w, m->to);
	wire_put_u64(w, m->term);
	encode_body(w, m);
	frame_end(w, start);
	return !w->failed;
}

/* ---- decoding ------------------------------------------------------------- */

static bool get_bool(struct wire_reader *r)
{
	uint8_t v = wire_get_u8(r);
	if (v > 1)
		r->failed = true;
	return v == 1;
}

static int bad(struct peer_scratch *s, const char *why)
{
	snprintf(s->error, sizeof(s->error), "%s", why);
	return PEER_EBADMSG;
}

static int decode_append(struct wire_reader *r, struct raft_msg_append *a,
			 struct peer_scratch *s)
{
	a->prev_index = wire_get_u64(r);
	a->prev_term = wire_get_u64(r);
	a->commit = wire_get_u64(r);
	uint32_t n = wire_get_u32(r);
	if (r->failed || n > wire_remaining(r) / ENTRY_MIN_BYTES)
		return bad(s, "append: entry count larger than the frame");
	/* prev_index + 1 + i below must not wrap: after 2^64 - 1 would come
	 * index 0, which no entry has. */
	if (n > UINT64_MAX - a->prev_index)
		return bad(s, "append: entry indices past the largest index");
	if (n > s->cap) {
		struct raft_entry *e = realloc(s->entries, n * sizeof(*e));
		if (!e)
			return PEER_ENOMEM;
		s->entries = e;
		s->cap = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct raft_entry *e = &s->entries[i];
		e->term = wire_get_u64(r);
		e->index = wire_get_u64(r);
		e->type = wire_get_u8(r);
		e->data.base = (void *)wire_get_blob(r, &e->data.len, SIZE_MAX);
		if (r->failed)
			return bad(s, "append: truncated entry");
		if (e->index != a->prev_index + 1 + i)
			return bad(s, "append: entry indices not consecutive");
		if (e->type < RAFT_ENTRY_NORMAL || e->type > RAFT_ENTRY_CONFIG)
			return bad(s, "append: unknown entry type");
		if (e->term == 0)
			return bad(s, "append: entry of term 0");
	}
	a->n_entries = n;
	a->entries = n ? s->entries : NULL;
	return PEER_OK;
}

static int decode_snapshot(struct wire_reader *r, struct raft_msg_snapshot *sn,
			   struct peer_scratch *s)
{
	size_t conf_len;
	sn->index = wire_get_u64(r);
	sn->term = wire_get_u64(r);
	const void *conf = wire_get_blob(r, &conf_len, CONFIG_MAX_BYTES);
	if (r->failed || raft_config_decode(conf, conf_len, &sn->config))
		return bad(s, "snapshot: bad configuration");
	sn->offset = wire_get_u64(r);
	sn->total = wire_get_u64(r);
	sn->chunk.base = (void *)wire_get_blob(r, &sn->chunk.len, SIZE_MAX);
	sn->done = get_bool(r);
	if (!r->failed &&
	    (sn->offset > sn->total || sn->chunk.len > sn->total - sn->offset))
		return bad(s, "snapshot: chunk outside the snapshot");
	return PEER_OK;
}

static int decode_body(struct wire_reader *r, struct raft_message *m,
		       struct peer_scratch *s)
{
	switch (m->type) {
	case RAFT_MSG_APPEND:
		return decode_append(r, &m->append, s);
	case RAFT_MSG_APPEND_RESP:
		m->append_resp.success = get_bool(r);
		m->append_resp.match = wire_get_u64(r);
		m->append_resp.hint_index = wire_get_u64(r);
		m->append_resp.hint_term = wire_get_u64(r);
		return PEER_OK;
	case RAFT_MSG_HEARTBEAT:
		m->heartbeat.commit = wire_get_u64(r);
		m->heartbeat.read_seq = wire_get_u64(r);
		return PEER_OK;
	case RAFT_MSG_HEARTBEAT_RESP:
		m->heartbeat_resp.read_seq = wire_get_u64(r);
		return PEER_OK;
	case RAFT_MSG_VOTE:
		m->vote.last_index = wire_get_u64(r);
		m->vote.last_term = wire_get_u64(r);
		m->vote.prevote = get_bool(r);
		m->vote.transfer = get_bool(r);
		return PEER_OK;
	case RAFT_MSG_VOTE_RESP:
		m->vote_resp.granted = get_bool(r);
		m->vote_resp.prevote = get_bool(r);
		return PEER_OK;
	case RAFT_MSG_SNAPSHOT:
		return decode_snapshot(r, &m->snapshot, s);
	case RAFT_MSG_SNAPSHOT_RESP:
		m->snapshot_resp.index = wire_get_u64(r);
		m->snapshot_resp.received = wire_get_u64(r);
		m->snapshot_resp.done = get_bool(r);
		return PEER_OK;
	case RAFT_MSG_TIMEOUT_NOW:
		return PEER_OK;
	}
	return bad(s, "unknown Raft message type");
}

int peer_decode(const struct frame *f, struct raft_message *m,
		struct peer_scratch *s)
{
	struct wire_reader r;
	memset(m, 0, sizeof(*m));
	s->error[0] = '\0';
	if (f->type == 0 || f->type >= RAFT_MSG_TYPE_COUNT)
		return bad(s, "unknown Raft message type");
	m->type = (uint8_t)f->type;
	wire_reader_init(&r, f->payload, f->len);
	m->from = wire_get_u64(&r);
	m->to = wire_get_u64(&r);
	m->term = wire_get_u64(&r);
	int rv = decode_body(&r, m, s);
	if (rv != PEER_OK)
		return rv;
	if (!wire_reader_done(&r))
		return bad(s, r.failed ? "truncated or invalid field"
				       : "trailing bytes after the message");
	if (m->from == 0 || m->to == 0)
		return bad(s, "node id 0");
	return PEER_OK;
}
