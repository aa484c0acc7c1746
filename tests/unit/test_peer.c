/* test_peer.c — proto/peer.c: every Raft message type round-trips with every
 * field, and everything a broken or hostile peer could send is refused:
 * every truncation, trailing bytes, bad booleans, bad entries, node id 0,
 * counts the frame cannot back, bad configurations, chunks outside the
 * snapshot.  Bad payloads are re-framed with a valid checksum so that it is
 * the peer decoder, not the frame checksum, that refuses them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/peer.h"
#include "tests/unit/suites.h"

#define COMMON_BYTES 24 /* from, to, term */

/* ---- fixtures ------------------------------------------------------------ */

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(x >> 16);
	}
}

/* A message and the storage its pointers refer to. */
struct sample {
	struct raft_message m;
	struct raft_entry e[12];
	unsigned char data[4][300];
	unsigned char chunk[200];
};

static void set_servers(struct raft_config *c, unsigned n)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	for (unsigned i = 0; i < n; i++) {
		struct raft_server *s = &c->servers[i];
		s->id = 0x100000000ull * (i + 1) + i + 1;
		s->role = i % 3 == 2 ? RAFT_LEARNER : RAFT_VOTER;
		if (i == n - 1) /* the longest address that fits */
			memset(s->addr, 'a' + (int)i, RAFT_ADDR_MAX - 1);
		else
			snprintf(s->addr, sizeof(s->addr),
				 "witness-%u.example.net:7000", i + 1);
	}
}

static void set_common(struct raft_message *m, uint8_t type)
{
	m->type = type;
	m->from = 0x0102030405060708ull;
	m->to = 0x1112131415161718ull;
	m->term = 0x2122232425262728ull;
}

/* Append with n entries of every type in turn, data sizes 0, 1, 299, 37,
 * starting after prev_index. */
static void set_append(struct sample *s, unsigned n, raft_index prev)
{
	struct raft_msg_append *a = &s->m.append;
	static const size_t sizes[] = { 0, 1, 299, 37 };

	set_common(&s->m, RAFT_MSG_APPEND);
	a->prev_index = prev;
	a->prev_term = 0x3132333435363738ull;
	a->commit = 0x4142434445464748ull;
	a->n_entries = n;
	a->entries = n ? s->e : NULL;
	for (unsigned i = 0; i < n; i++) {
		struct raft_entry *e = &s->e[i];
		e->term = 0x5152535455565758ull + i;
		e->index = prev + 1 + i;
		e->type = (uint8_t)(RAFT_ENTRY_NORMAL + i % 3);
		e->data.base = s->data[i % 4];
		e->data.len = sizes[i % 4];
	}
}

static void set_snapshot(struct sample *s, unsigned servers, uint64_t offset,
			 size_t len, uint64_t total, bool done)
{
	struct raft_msg_snapshot *sn = &s->m.snapshot;

	set_common(&s->m, RAFT_MSG_SNAPSHOT);
	sn->index = 0x6162636465666768ull;
	sn->term = 0x7172737475767778ull;
	set_servers(&sn->config, servers);
	sn->offset = offset;
	sn->total = total;
	sn->chunk.base = s->chunk;
	sn->chunk.len = len;
	sn->done = done;
}

#define N_SAMPLES 21

/* Sample k: every message type, every boolean both ways, the interesting
 * entry and snapshot shapes.  All small, so truncation loops stay fast. */
static void make_sample(unsigned k, struct sample *s)
{
	struct raft_message *m = &s->m;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 4; i++)
		fill(s->data[i], sizeof(s->data[i]), i + 1);
	fill(s->chunk, sizeof(s->chunk), 99);
	switch (k) {
	case 0:
		set_append(s, 0, 0);
		break;
	case 1:
		set_append(s, 1, 41);
		break;
	case 2:
		set_append(s, 12, 1000);
		break;
	case 3:
		set_common(m, RAFT_MSG_APPEND_RESP);
		m->append_resp.success = true;
		m->append_resp.match = 0x8182838485868788ull;
		break;
	case 4:
		set_common(m, RAFT_MSG_APPEND_RESP);
		m->append_resp.success = false;
		m->append_resp.match = 3;
		m->append_resp.hint_index = 0x9192939495969798ull;
		m->append_resp.hint_term = 0xa1a2a3a4a5a6a7a8ull;
		break;
	case 5:
		set_common(m, RAFT_MSG_HEARTBEAT);
		m->heartbeat.commit = 0xb1b2b3b4b5b6b7b8ull;
		m->heartbeat.read_seq = 0xc1c2c3c4c5c6c7c8ull;
		break;
	case 6:
		set_common(m, RAFT_MSG_HEARTBEAT_RESP);
		m->heartbeat_resp.read_seq = UINT64_MAX;
		break;
	case 7:
	case 8:
	case 9:
	case 10:
		set_common(m, RAFT_MSG_VOTE);
		m->vote.last_index = 0xd1d2d3d4d5d6d7d8ull;
		m->vote.last_term = 0xe1e2e3e4e5e6e7e8ull;
		m->vote.prevote = (k - 7) & 1;
		m->vote.transfer = (k - 7) & 2;
		break;
	case 11:
	case 12:
	case 13:
	case 14:
		set_common(m, RAFT_MSG_VOTE_RESP);
		m->vote_resp.granted = (k - 11) & 1;
		m->vote_resp.prevote = (k - 11) & 2;
		break;
	case 15:
		set_snapshot(s, 3, 1000, 200, 5000, false);
		break;
	case 16:
		set_snapshot(s, RAFT_MAX_SERVERS, 4800, 200, 5000, true);
		break;
	case 17:
		set_snapshot(s, 1, 0, 0, 0, true);
		break;
	case 18:
	case 19:
		set_common(m, RAFT_MSG_SNAPSHOT_RESP);
		m->snapshot_resp.index = 0xf1f2f3f4f5f6f7f8ull;
		m->snapshot_resp.received = 12345;
		m->snapshot_resp.done = k == 19;
		break;
	case 20:
		set_common(m, RAFT_MSG_TIMEOUT_NOW);
		m->from = 1;
		m->to = UINT64_MAX;
		m->term = 0;
		break;
	}
}

/* Encoder, frame decoder and scratch, reused across decodes. */
struct ctx {
	struct wire_writer w;
	struct wire_writer raw;
	struct frame_decoder d;
	struct frame f;
	struct peer_scratch s;
	struct raft_message m;
};

static void ctx_init(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	wire_writer_init(&c->w);
	wire_writer_init(&c->raw);
	frame_decoder_init(&c->d, 0);
}

static void ctx_free(struct ctx *c)
{
	wire_writer_free(&c->w);
	wire_writer_free(&c->raw);
	frame_decoder_free(&c->d);
	peer_scratch_free(&c->s);
}

/* Encode m into c->w (alone) and return its payload. */
static const unsigned char *encode(struct ctx *c, const struct raft_message *m,
				   size_t *len)
{
	wire_writer_reset(&c->w);
	ck_assert(peer_encode(&c->w, m));
	ck_assert_uint_ge(c->w.len, FRAME_HEADER_SIZE + COMMON_BYTES);
	*len = c->w.len - FRAME_HEADER_SIZE;
	ck_assert_uint_eq(wire_load_u32(c->w.buf + 16), *len);
	return c->w.buf + FRAME_HEADER_SIZE;
}

/* Pass the bytes in `w` through the frame decoder (one frame expected)
 * and peer_decode the frame into c->m. */
static int decode_frames(struct ctx *c, const struct wire_writer *w)
{
	struct frame extra;

	ck_assert(frame_decoder_feed(&c->d, w->buf, w->len));
	ck_assert_int_eq(frame_decoder_next(&c->d, &c->f), FRAME_READY);
	ck_assert_int_eq(frame_decoder_next(&c->d, &extra), FRAME_NEED_MORE);
	int rv = peer_decode(&c->f, &c->m, &c->s);
	if (rv == PEER_OK)
		ck_assert_str_eq(c->s.error, "");
	else
		ck_assert_str_ne(c->s.error, "");
	return rv;
}

/* Frame any payload (valid checksum) and decode it. */
static int decode_payload(struct ctx *c, uint32_t type, const void *p, size_t n)
{
	wire_writer_reset(&c->raw);
	size_t start = frame_begin(&c->raw, type, 0);
	wire_put_bytes(&c->raw, p, n);
	frame_end(&c->raw, start);
	ck_assert(!c->raw.failed);
	return decode_frames(c, &c->raw);
}

static void expect_bad(struct ctx *c, uint32_t type, const void *p, size_t n,
		       const char *words)
{
	int rv = decode_payload(c, type, p, n);
	ck_assert_msg(rv == PEER_EBADMSG, "accepted %zu bytes of type %u", n,
		      type);
	if (words)
		ck_assert_msg(strstr(c->s.error, words) != NULL,
			      "error \"%s\" does not mention \"%s\"",
			      c->s.error, words);
}

static void check_buf_eq(const struct raft_buf *a, const struct raft_buf *b)
{
	ck_assert_uint_eq(a->len, b->len);
	if (a->len)
		ck_assert_mem_eq(a->base, b->base, a->len);
}

static void check_config_eq(const struct raft_config *a,
			    const struct raft_config *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (unsigned i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->servers[i].id, b->servers[i].id);
		ck_assert_uint_eq(a->servers[i].role, b->servers[i].role);
		ck_assert_str_eq(a->servers[i].addr, b->servers[i].addr);
	}
}

static void check_append_eq(const struct raft_msg_append *a,
			    const struct raft_msg_append *b)
{
	ck_assert_uint_eq(a->prev_index, b->prev_index);
	ck_assert_uint_eq(a->prev_term, b->prev_term);
	ck_assert_uint_eq(a->commit, b->commit);
	ck_assert_uint_eq(a->n_entries, b->n_entries);
	if (a->n_entries == 0)
		ck_assert_ptr_null(b->entries);
	for (unsigned i = 0; i < a->n_entries; i++) {
		ck_assert_uint_eq(a->entries[i].term, b->entries[i].term);
		ck_assert_uint_eq(a->entries[i].index, b->entries[i].index);
		ck_assert_uint_eq(a->entries[i].type, b->entries[i].type);
		check_buf_eq(&a->entries[i].data, &b->entries[i].data);
	}
}

/* Every field of every message type. */
static void check_msg_eq(const struct raft_message *a,
			 const struct raft_message *b)
{
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_uint_eq(a->from, b->from);
	ck_assert_uint_eq(a->to, b->to);
	ck_assert_uint_eq(a->term, b->term);
	switch (a->type) {
	case RAFT_MSG_APPEND:
		check_append_eq(&a->append, &b->append);
		break;
	case RAFT_MSG_APPEND_RESP:
		ck_assert_int_eq(a->append_resp.success,
				 b->append_resp.success);
		ck_assert_uint_eq(a->append_resp.match, b->append_resp.match);
		ck_assert_uint_eq(a->append_resp.hint_index,
				  b->append_resp.hint_index);
		ck_assert_uint_eq(a->append_resp.hint_term,
				  b->append_resp.hint_term);
		break;
	case RAFT_MSG_HEARTBEAT:
		ck_assert_uint_eq(a->heartbeat.commit, b->heartbeat.commit);
		ck_assert_uint_eq(a->heartbeat.read_seq, b->heartbeat.read_seq);
		break;
	case RAFT_MSG_HEARTBEAT_RESP:
		ck_assert_uint_eq(a->heartbeat_resp.read_seq,
				  b->heartbeat_resp.read_seq);
		break;
	case RAFT_MSG_VOTE:
		ck_assert_uint_eq(a->vote.last_index, b->vote.last_index);
		ck_assert_uint_eq(a->vote.last_term, b->vote.last_term);
		ck_assert_int_eq(a->vote.prevote, b->vote.prevote);
		ck_assert_int_eq(a->vote.transfer, b->vote.transfer);
		break;
	case RAFT_MSG_VOTE_RESP:
		ck_assert_int_eq(a->vote_resp.granted, b->vote_resp.granted);
		ck_assert_int_eq(a->vote_resp.prevote, b->vote_resp.prevote);
		break;
	case RAFT_MSG_SNAPSHOT:
		ck_assert_uint_eq(a->snapshot.index, b->snapshot.index);
		ck_assert_uint_eq(a->snapshot.term, b->snapshot.term);
		check_config_eq(&a->snapshot.config, &b->snapshot.config);
		ck_assert_uint_eq(a->snapshot.offset, b->snapshot.offset);
		ck_assert_uint_eq(a->snapshot.total, b->snapshot.total);
		check_buf_eq(&a->snapshot.chunk, &b->snapshot.chunk);
		ck_assert_int_eq(a->snapshot.done, b->snapshot.done);
		break;
	case RAFT_MSG_SNAPSHOT_RESP:
		ck_assert_uint_eq(a->snapshot_resp.index,
				  b->snapshot_resp.index);
		ck_assert_uint_eq(a->snapshot_resp.received,
				  b->snapshot_resp.received);
		ck_assert_int_eq(a->snapshot_resp.done, b->snapshot_resp.done);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		break;
	default:
		ck_abort_msg("unknown type %u", a->type);
	}
}

/* Encode, frame-decode, peer-decode, compare. */
static void round_trip(struct ctx *c, const struct raft_message *m)
{
	size_t len;

	encode(c, m, &len);
	ck_assert_uint_eq(wire_load_u32(c->w.buf + 4), m->type);
	ck_assert_int_eq(decode_frames(c, &c->w), PEER_OK);
	check_msg_eq(m, &c->m);
}

/* ---- round trips --------------------------------------------------------- */

START_TEST(test_round_trip_every_sample)
{
	struct ctx c;
	struct sample s;
	unsigned seen = 0;

	ctx_init(&c);
	for (unsigned k = 0; k < N_SAMPLES; k++) {
		make_sample(k, &s);
		round_trip(&c, &s.m);
		seen |= 1u << s.m.type;
	}
	/* The catalogue covers every message type. */
	for (unsigned t = RAFT_MSG_APPEND; t < RAFT_MSG_TYPE_COUNT; t++)
		ck_assert_msg(seen & (1u << t), "type %u not covered", t);
	ctx_free(&c);
}
END_TEST

/* Entry data and snapshot chunks point into the frame, not copies. */
START_TEST(test_decoded_data_points_into_frame)
{
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	make_sample(2, &s);
	round_trip(&c, &s.m);
	const unsigned char *lo = c.f.payload, *hi = lo + c.f.len;
	for (unsigned i = 0; i < c.m.append.n_entries; i++) {
		const unsigned char *p = c.m.append.entries[i].data.base;
		if (c.m.append.entries[i].data.len == 0)
			continue;
		ck_assert(p >= lo && p + c.m.append.entries[i].data.len <= hi);
	}
	ck_assert_ptr_eq(c.m.append.entries, c.s.entries);

	make_sample(15, &s);
	round_trip(&c, &s.m);
	lo = c.f.payload;
	hi = lo + c.f.len;
	const unsigned char *p = c.m.snapshot.chunk.base;
	ck_assert(p >= lo && p + c.m.snapshot.chunk.len <= hi);
	ctx_free(&c);
}
END_TEST

/* One entry of each type with data of 0 bytes and of 900 KiB (a frame
 * close to the 1 MiB default limit). */
START_TEST(test_append_large_and_empty_data)
{
	struct ctx c;
	struct sample s;
	const size_t big = 900 * 1024;
	unsigned char *data = malloc(big);

	ck_assert_ptr_nonnull(data);
	fill(data, big, 7);
	ctx_init(&c);
	for (uint8_t type = RAFT_ENTRY_NORMAL; type <= RAFT_ENTRY_CONFIG;
	     type++) {
		set_append(&s, 1, 7);
		s.e[0].type = type;
		s.e[0].data.base = data;
		s.e[0].data.len = big;
		round_trip(&c, &s.m);
		s.e[0].data.base = NULL;
		s.e[0].data.len = 0;
		round_trip(&c, &s.m);
		ck_assert_uint_eq(c.m.append.entries[0].data.len, 0);
	}
	ctx_free(&c);
	free(data);
}
END_TEST

/* Many entries, more than any earlier decode needed: the scratch grows,
 * then is reused for fewer. */
START_TEST(test_append_many_entries)
{
	struct ctx c;
	struct sample s;
	const unsigned n = 5000;
	struct raft_entry *e = calloc(n, sizeof(*e));

	ck_assert_ptr_nonnull(e);
	ctx_init(&c);
	set_append(&s, 0, 1u << 20);
	for (unsigned i = 0; i < n; i++) {
		e[i].term = 1 + i / 100;
		e[i].index = s.m.append.prev_index + 1 + i;
		e[i].type = (uint8_t)(RAFT_ENTRY_NORMAL + i % 3);
		e[i].data.base = s.data[i % 4];
		e[i].data.len = i % 50;
	}
	s.m.append.entries = e;
	s.m.append.n_entries = n;
	round_trip(&c, &s.m);
	ck_assert_uint_ge(c.s.cap, n);

	unsigned cap = c.s.cap;
	s.m.append.n_entries = 3;
	round_trip(&c, &s.m);
	ck_assert_uint_eq(c.s.cap, cap);
	peer_scratch_free(&c.s);
	ck_assert_ptr_null(c.s.entries);
	ck_assert_uint_eq(c.s.cap, 0);
	round_trip(&c, &s.m);
	ctx_free(&c);
	free(e);
}
END_TEST

/* The last possible index is fine as long as nothing wraps. */
START_TEST(test_append_at_end_of_index_space)
{
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	set_append(&s, 1, UINT64_MAX - 1);
	round_trip(&c, &s.m);
	ck_assert_uint_eq(c.m.append.entries[0].index, UINT64_MAX);
	set_append(&s, 0, UINT64_MAX);
	round_trip(&c, &s.m);
	ctx_free(&c);
}
END_TEST

START_TEST(test_snapshot_shapes)
{
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	for (unsigned n = 0; n <= RAFT_MAX_SERVERS; n++) {
		set_snapshot(&s, n, 17, 100, 117, n & 1);
		round_trip(&c, &s.m);
	}
	/* chunk exactly at the end of the snapshot, and an empty one there */
	set_snapshot(&s, 2, 4800, 200, 5000, true);
	round_trip(&c, &s.m);
	set_snapshot(&s, 2, 5000, 0, 5000, true);
	round_trip(&c, &s.m);
	/* offsets and sizes beyond 4 GiB */
	set_snapshot(&s, 2, 0x500000000ull, 200, 0x600000000ull, false);
	round_trip(&c, &s.m);
	set_snapshot(&s, 2, UINT64_MAX - 200, 200, UINT64_MAX, true);
	round_trip(&c, &s.m);
	ctx_free(&c);
}
END_TEST

/* Several messages in one writer come out as consecutive frames. */
START_TEST(test_several_in_one_stream)
{
	struct ctx c;
	struct sample s[N_SAMPLES];
	struct raft_message m;

	ctx_init(&c);
	for (unsigned k = 0; k < N_SAMPLES; k++) {
		make_sample(k, &s[k]);
		ck_assert(peer_encode(&c.w, &s[k].m));
	}
	ck_assert(frame_decoder_feed(&c.d, c.w.buf, c.w.len));
	for (unsigned k = 0; k < N_SAMPLES; k++) {
		ck_assert_int_eq(frame_decoder_next(&c.d, &c.f), FRAME_READY);
		ck_assert_uint_eq(c.f.request_id, 0);
		ck_assert_int_eq(peer_decode(&c.f, &m, &c.s), PEER_OK);
		check_msg_eq(&s[k].m, &m);
	}
	ck_assert_int_eq(frame_decoder_next(&c.d, &c.f), FRAME_NEED_MORE);
	ctx_free(&c);
}
END_TEST

/* The layout documented in peer.h, byte for byte, for one message. */
START_TEST(test_vote_layout)
{
	struct ctx c;
	struct raft_message m;
	size_t len;
	static const unsigned char want[] = {
		2,    0,    0, 0, 0, 0, 0, 0, /* from */
		3,    0,    0, 0, 0, 0, 0, 0, /* to */
		9,    0,    0, 0, 0, 0, 0, 0, /* term */
		0x10, 0x27, 0, 0, 0, 0, 0, 0, /* last_index 10000 */
		8,    0,    0, 0, 0, 0, 0, 0, /* last_term */
		1,                            /* prevote */
		0,                            /* transfer */
	};

	ctx_init(&c);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_VOTE;
	m.from = 2;
	m.to = 3;
	m.term = 9;
	m.vote.last_index = 10000;
	m.vote.last_term = 8;
	m.vote.prevote = true;
	const unsigned char *p = encode(&c, &m, &len);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(p, want, sizeof(want));
	ck_assert_uint_eq(wire_load_u32(c.w.buf + 4), RAFT_MSG_VOTE);
	ck_assert_uint_eq(wire_load_u64(c.w.buf + 8), 0);
	ctx_free(&c);
}
END_TEST

/* ---- refusals ------------------------------------------------------------ */

/* Every prefix of every sample's payload is refused. */
START_TEST(test_every_truncation)
{
	struct ctx c;
	struct sample s;
	unsigned char *copy;
	size_t len;

	ctx_init(&c);
	for (unsigned k = 0; k < N_SAMPLES; k++) {
		make_sample(k, &s);
		const unsigned char *p = encode(&c, &s.m, &len);
		copy = malloc(len);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, p, len);
		for (size_t n = 0; n < len; n++)
			expect_bad(&c, s.m.type, copy, n, NULL);
		ck_assert_int_eq(decode_payload(&c, s.m.type, copy, len),
				 PEER_OK);
		check_msg_eq(&s.m, &c.m);
		free(copy);
	}
	ctx_free(&c);
}
END_TEST

START_TEST(test_trailing_bytes)
{
	struct ctx c;
	struct sample s;
	size_t len;

	ctx_init(&c);
	for (unsigned k = 0; k < N_SAMPLES; k++) {
		make_sample(k, &s);
		const unsigned char *p = encode(&c, &s.m, &len);
		unsigned char *copy = calloc(1, len + 8);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, p, len);
		expect_bad(&c, s.m.type, copy, len + 1, "trailing");
		expect_bad(&c, s.m.type, copy, len + 8, "trailing");
		free(copy);
	}
	ctx_free(&c);
}
END_TEST

/* Each boolean, by sample and payload offset (peer.h's layout). */
static const struct {
	unsigned sample;
	long off; /* from the start, or from the end if negative */
} bools[] = {
	{ 3, COMMON_BYTES }, /* append_resp.success */
	{ 4, COMMON_BYTES },
	{ 7, COMMON_BYTES + 16 }, /* vote.prevote */
	{ 7, COMMON_BYTES + 17 }, /* vote.transfer */
	{ 10, COMMON_BYTES + 16 },
	{ 10, COMMON_BYTES + 17 },
	{ 11, COMMON_BYTES },     /* vote_resp.granted */
	{ 11, COMMON_BYTES + 1 }, /* vote_resp.prevote */
	{ 14, COMMON_BYTES },
	{ 14, COMMON_BYTES + 1 },
	{ 15, -1 }, /* snapshot.done */
	{ 16, -1 },
	{ 18, COMMON_BYTES + 16 }, /* snapshot_resp.done */
	{ 19, COMMON_BYTES + 16 },
};

START_TEST(test_booleans_other_than_0_1)
{
	static const unsigned char bad_values[] = { 2, 3, 0x80, 0xfe, 0xff };
	struct ctx c;
	struct sample s;
	size_t len;

	ctx_init(&c);
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		make_sample(bools[i].sample, &s);
		const unsigned char *p = encode(&c, &s.m, &len);
		unsigned char *copy = malloc(len);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, p, len);
		size_t at = bools[i].off < 0 ? len - 1 : (size_t)bools[i].off;
		ck_assert_uint_le(copy[at], 1);
		for (size_t v = 0; v < sizeof(bad_values); v++) {
			copy[at] = bad_values[v];
			expect_bad(&c, s.m.type, copy, len, NULL);
		}
		/* And 0 and 1 both decode. */
		copy[at] = 0;
		ck_assert_int_eq(decode_payload(&c, s.m.type, copy, len),
				 PEER_OK);
		copy[at] = 1;
		ck_assert_int_eq(decode_payload(&c, s.m.type, copy, len),
				 PEER_OK);
		free(copy);
	}
	ctx_free(&c);
}
END_TEST

/* Encode m (which the encoder happily writes) and expect the decoder to
 * refuse it. */
static void expect_bad_msg(struct ctx *c, const struct raft_message *m,
			   const char *words)
{
	size_t len;
	const unsigned char *p = encode(c, m, &len);
	unsigned char *copy = malloc(len + 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, len);
	expect_bad(c, m->type, copy, len, words);
	free(copy);
}

START_TEST(test_entry_indices_not_consecutive)
{
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	set_append(&s, 3, 10);
	s.e[0].index = 10; /* should be 11 */
	expect_bad_msg(&c, &s.m, "consecutive");
	set_append(&s, 3, 10);
	s.e[0].index = 12;
	expect_bad_msg(&c, &s.m, "consecutive");
	set_append(&s, 3, 10);
	s.e[2].index = 14; /* gap */
	expect_bad_msg(&c, &s.m, "consecutive");
	set_append(&s, 3, 10);
	s.e[2].index = 12; /* repeat */
	expect_bad_msg(&c, &s.m, "consecutive");
	set_append(&s, 3, 10);
	s.e[1].index = 11; /* repeat */
	expect_bad_msg(&c, &s.m, "consecutive");
	set_append(&s, 12, 10);
	s.e[11].index = 0;
	expect_bad_msg(&c, &s.m, "consecutive");
	ctx_free(&c);
}
END_TEST

/* Indices that wrap past 2^64 - 1 back to 0 are not consecutive. */
START_TEST(test_entry_indices_wrap)
{
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	set_append(&s, 1, UINT64_MAX); /* entry "UINT64_MAX + 1" is 0 */
	ck_assert_uint_eq(s.e[0].index, 0);
	expect_bad_msg(&c, &s.m, "append");
	set_append(&s, 3, UINT64_MAX - 1); /* UINT64_MAX, 0, 1 */
	expect_bad_msg(&c, &s.m, "append");
	ctx_free(&c);
}
END_TEST

START_TEST(test_unknown_entry_types)
{
	static const uint8_t types[] = { 0, RAFT_ENTRY_CONFIG + 1, 0x80, 0xff };
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	for (size_t i = 0; i < sizeof(types); i++) {
		set_append(&s, 1, 5);
		s.e[0].type = types[i];
		expect_bad_msg(&c, &s.m, "entry type");
		set_append(&s, 12, 5);
		s.e[11].type = types[i];
		expect_bad_msg(&c, &s.m, "entry type");
	}
	ctx_free(&c);
}
END_TEST

START_TEST(test_entry_of_term_0)
{
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	set_append(&s, 1, 5);
	s.e[0].term = 0;
	expect_bad_msg(&c, &s.m, "term 0");
	set_append(&s, 12, 5);
	s.e[6].term = 0;
	expect_bad_msg(&c, &s.m, "term 0");
	ctx_free(&c);
}
END_TEST

START_TEST(test_node_id_0)
{
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	for (unsigned k = 0; k < N_SAMPLES; k++) {
		make_sample(k, &s);
		s.m.from = 0;
		expect_bad_msg(&c, &s.m, "node id 0");
		make_sample(k, &s);
		s.m.to = 0;
		expect_bad_msg(&c, &s.m, "node id 0");
		make_sample(k, &s);
		s.m.from = 0;
		s.m.to = 0;
		expect_bad_msg(&c, &s.m, "node id 0");
	}
	ctx_free(&c);
}
END_TEST

START_TEST(test_unknown_message_types)
{
	static const uint32_t types[] = {
		0,
		RAFT_MSG_TYPE_COUNT,
		0xff,
		0x100 + RAFT_MSG_VOTE,
		0x10000 + RAFT_MSG_APPEND,
		UINT32_MAX,
	};
	struct ctx c;
	struct sample s;
	size_t len;

	ctx_init(&c);
	make_sample(7, &s); /* a valid vote payload */
	const unsigned char *p = encode(&c, &s.m, &len);
	unsigned char *copy = malloc(len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, len);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		expect_bad(&c, types[i], copy, len, "unknown");
	free(copy);
	ctx_free(&c);
}
END_TEST

/* Append header with a count the frame cannot back. */
static void put_append_head(struct wire_writer *w, uint32_t n)
{
	wire_put_u64(w, 1);  /* from */
	wire_put_u64(w, 2);  /* to */
	wire_put_u64(w, 3);  /* term */
	wire_put_u64(w, 10); /* prev_index */
	wire_put_u64(w, 2);  /* prev_term */
	wire_put_u64(w, 10); /* commit */
	wire_put_u32(w, n);
}

static void put_min_entry(struct wire_writer *w, uint64_t index)
{
	wire_put_u64(w, 3);
	wire_put_u64(w, index);
	wire_put_u8(w, RAFT_ENTRY_NOOP);
	wire_put_u32(w, 0);
}

START_TEST(test_entry_count_larger_than_frame)
{
	static const uint32_t counts[] = { 1, 2, 1000, 0x10000000u,
					   UINT32_MAX };
	struct ctx c;
	struct wire_writer w;

	ctx_init(&c);
	wire_writer_init(&w);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		wire_writer_reset(&w);
		put_append_head(&w, counts[i]);
		expect_bad(&c, RAFT_MSG_APPEND, w.buf, w.len, "count");
		/* Refused before anything was allocated for it. */
		ck_assert_ptr_null(c.s.entries);
		ck_assert_uint_eq(c.s.cap, 0);
	}
	/* One smallest entry present, two claimed. */
	wire_writer_reset(&w);
	put_append_head(&w, 2);
	put_min_entry(&w, 11);
	expect_bad(&c, RAFT_MSG_APPEND, w.buf, w.len, NULL);
	ck_assert_ptr_null(c.s.entries);

	/* Three smallest entries, three claimed: fine. */
	wire_writer_reset(&w);
	put_append_head(&w, 3);
	for (uint64_t i = 11; i <= 13; i++)
		put_min_entry(&w, i);
	ck_assert_int_eq(decode_payload(&c, RAFT_MSG_APPEND, w.buf, w.len),
			 PEER_OK);
	ck_assert_uint_eq(c.m.append.n_entries, 3);
	ck_assert_uint_eq(c.m.append.entries[2].index, 13);

	/* A count that would fit in the frame, with entries whose data
	 * lengths claim more than is there. */
	wire_writer_reset(&w);
	put_append_head(&w, 1);
	wire_put_u64(&w, 3);
	wire_put_u64(&w, 11);
	wire_put_u8(&w, RAFT_ENTRY_NORMAL);
	wire_put_u32(&w, UINT32_MAX);
	wire_put_bytes(&w, "abcdefgh", 8);
	expect_bad(&c, RAFT_MSG_APPEND, w.buf, w.len, "truncated");
	wire_writer_free(&w);
	ctx_free(&c);
}
END_TEST

/* A snapshot payload around arbitrary configuration bytes. */
static void put_snapshot_with_config(struct wire_writer *w, const void *conf,
				     size_t n)
{
	wire_writer_reset(w);
	wire_put_u64(w, 1);
	wire_put_u64(w, 2);
	wire_put_u64(w, 3);
	wire_put_u64(w, 100); /* index */
	wire_put_u64(w, 3);   /* term */
	wire_put_blob(w, conf, n);
	wire_put_u64(w, 0); /* offset */
	wire_put_u64(w, 4); /* total */
	wire_put_blob(w, "snap", 4);
	wire_put_u8(w, 1); /* done */
}

static void expect_bad_config(struct ctx *c, struct wire_writer *w,
			      const unsigned char *conf, size_t n)
{
	put_snapshot_with_config(w, conf, n);
	expect_bad(c, RAFT_MSG_SNAPSHOT, w->buf, w->len, "configuration");
}

/* Offsets in the configuration encoding (raft/config.c): an 8-byte head
 * (magic, count), then per server u64 id, u8 role, u8 address length,
 * address. */
#define CONF_HEAD 8
#define CONF_ID(off) (off)
#define CONF_ROLE(off) ((off) + 8)
#define CONF_ALEN(off) ((off) + 9)

START_TEST(test_bad_config_encodings)
{
	struct ctx c;
	struct wire_writer w;
	struct raft_config cfg;
	unsigned char good[1024], bad[1024];

	ctx_init(&c);
	wire_writer_init(&w);
	set_servers(&cfg, 3);
	size_t n = raft_config_encode(&cfg, good, sizeof(good));
	ck_assert_uint_le(n, sizeof(good));
	size_t second = CONF_HEAD + 10 + strlen(cfg.servers[0].addr);

	/* The unmodified bytes decode (so each refusal below is the
	 * modification's doing). */
	put_snapshot_with_config(&w, good, n);
	ck_assert_int_eq(decode_payload(&c, RAFT_MSG_SNAPSHOT, w.buf, w.len),
			 PEER_OK);
	check_config_eq(&cfg, &c.m.snapshot.config);

#define MUTATE(stmt)                               \
	do {                                       \
		memcpy(bad, good, n);              \
		stmt;                              \
		expect_bad_config(&c, &w, bad, n); \
	} while (0)

	MUTATE(bad[0] ^= 1); /* magic */
	MUTATE(bad[3] ^= 0x80);
	MUTATE(bad[4] = RAFT_MAX_SERVERS + 1);          /* too many servers */
	MUTATE(bad[4] = 4);                             /* more than present */
	MUTATE(bad[4] = 2);                             /* fewer: trailing */
	MUTATE(bad[7] = 1);                             /* count 2^24 + 3 */
	MUTATE(memset(bad + CONF_ID(CONF_HEAD), 0, 8)); /* server id 0 */
	MUTATE(bad[CONF_ROLE(CONF_HEAD)] = 0);          /* no such role */
	MUTATE(bad[CONF_ROLE(CONF_HEAD)] = 3);
	MUTATE(bad[CONF_ROLE(second)] = 0xff);
	MUTATE(memcpy(bad + CONF_ID(second), bad + CONF_ID(CONF_HEAD), 8));
	MUTATE(bad[CONF_ALEN(CONF_HEAD)] = RAFT_ADDR_MAX); /* too long */
	MUTATE(bad[CONF_ALEN(CONF_HEAD)] += 1);            /* misaligned */
	MUTATE(bad[CONF_ALEN(second)] -= 1);
#undef MUTATE

	/* Every truncation of the configuration, and a trailing byte. */
	for (size_t len = 0; len < n; len++)
		expect_bad_config(&c, &w, good, len);
	memcpy(bad, good, n);
	bad[n] = 0;
	expect_bad_config(&c, &w, bad, n + 1);

	/* A blob longer than any configuration can be. */
	size_t huge = 8 + RAFT_MAX_SERVERS * (10 + RAFT_ADDR_MAX) + 1;
	unsigned char *big = calloc(1, huge);
	ck_assert_ptr_nonnull(big);
	memcpy(big, good, n);
	expect_bad_config(&c, &w, big, huge);
	free(big);

	/* A blob length past the end of the frame. */
	put_snapshot_with_config(&w, good, n);
	wire_store_u32(w.buf + COMMON_BYTES + 16, UINT32_MAX);
	expect_bad(&c, RAFT_MSG_SNAPSHOT, w.buf, w.len, NULL);
	wire_writer_free(&w);
	ctx_free(&c);
}
END_TEST

START_TEST(test_chunk_outside_snapshot)
{
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	set_snapshot(&s, 3, 5001, 0, 5000, false); /* offset past total */
	expect_bad_msg(&c, &s.m, "outside");
	set_snapshot(&s, 3, 4801, 200, 5000, true); /* ends 1 past */
	expect_bad_msg(&c, &s.m, "outside");
	set_snapshot(&s, 3, 0, 200, 199, true);
	expect_bad_msg(&c, &s.m, "outside");
	set_snapshot(&s, 3, 0, 1, 0, true);
	expect_bad_msg(&c, &s.m, "outside");
	/* offset + len wraps around 2^64 */
	set_snapshot(&s, 3, UINT64_MAX, 200, UINT64_MAX, true);
	expect_bad_msg(&c, &s.m, "outside");
	set_snapshot(&s, 3, UINT64_MAX - 100, 200, UINT64_MAX, true);
	expect_bad_msg(&c, &s.m, "outside");
	ctx_free(&c);
}
END_TEST

/* A failed decode leaves the next one unaffected, error cleared. */
START_TEST(test_error_then_success)
{
	struct ctx c;
	struct sample s;

	ctx_init(&c);
	make_sample(2, &s);
	s.e[5].term = 0;
	expect_bad_msg(&c, &s.m, "term 0");
	make_sample(2, &s);
	round_trip(&c, &s.m);
	ck_assert_str_eq(c.s.error, "");
	ctx_free(&c);
}
END_TEST

Suite *peer_suite(void)
{
	Suite *s = suite_create("peer");
	TCase *rt = tcase_create("round trip");
	TCase *bad = tcase_create("refusals");

	tcase_add_test(rt, test_round_trip_every_sample);
	tcase_add_test(rt, test_decoded_data_points_into_frame);
	tcase_add_test(rt, test_append_large_and_empty_data);
	tcase_add_test(rt, test_append_many_entries);
	tcase_add_test(rt, test_append_at_end_of_index_space);
	tcase_add_test(rt, test_snapshot_shapes);
	tcase_add_test(rt, test_several_in_one_stream);
	tcase_add_test(rt, test_vote_layout);
	tcase_set_timeout(rt, 60);
	suite_add_tcase(s, rt);

	tcase_add_test(bad, test_every_truncation);
	tcase_add_test(bad, test_trailing_bytes);
	tcase_add_test(bad, test_booleans_other_than_0_1);
	tcase_add_test(bad, test_entry_indices_not_consecutive);
	tcase_add_test(bad, test_entry_indices_wrap);
	tcase_add_test(bad, test_unknown_entry_types);
	tcase_add_test(bad, test_entry_of_term_0);
	tcase_add_test(bad, test_node_id_0);
	tcase_add_test(bad, test_unknown_message_types);
	tcase_add_test(bad, test_entry_count_larger_than_frame);
	tcase_add_test(bad, test_bad_config_encodings);
	tcase_add_test(bad, test_chunk_outside_snapshot);
	tcase_add_test(bad, test_error_then_success);
	tcase_set_timeout(bad, 60);
	suite_add_tcase(s, bad);
	return s;
}
