/* test_client_proto.c — proto/client.c: every op's request and response
 * round-trips with every field (lists of 0, 1 and many, members, status,
 * lease and key events), the byte layout matches client.h, and everything a
 * broken client or server could send is refused with a reason naming the
 * field: every truncation, trailing bytes, every limit, empty mandatory
 * fields, out-of-range numbers and flags, unknown ops and statuses, counts
 * the frame cannot back (without allocating).  Bad payloads are re-framed
 * with a valid checksum so that it is the client codec, not the frame
 * checksum, that refuses them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/client.h"
#include "server/sm.h"
#include "tests/unit/suites.h"

#define N_OPS (CLIENT_OP_END - CLIENT_OP_HELLO)
#define MAX_SAMPLES 192

enum what {
	REQUEST,
	RESPONSE,
	EVENT
};

/* ---- fixtures ------------------------------------------------------------ */

static struct client_str S(const char *s) {
	return (struct client_str){ s, strlen(s) };
}

/* A string of n copies of c, in storage that outlives the sample. */
static struct client_str
filled(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	return (struct client_str){ buf, n };
}

static char key_max[SM_KEY_MAX + 1];
static char holder_max[SM_HOLDER_MAX + 1];
static char token_max[CLIENT_TOKEN_MAX + 1];
static char user_max[CLIENT_NAME_MAX + 1];
static char proof_max[CLIENT_TOKEN_MAX + 1];
static char name_max[CLIENT_NAME_MAX + 1];
static char addr_max[CLIENT_ADDR_MAX + 1];
static char message_max[CLIENT_MESSAGE_MAX + 1];
static char value_max[SM_VALUE_MAX + 1];
static const char binary_value[] = { 'v', 0, 1, (char)0xff, '\n', 'z' };

struct ctx {
	struct wire_writer w; /* what the encoder wrote */
	struct wire_writer reframe;
	struct frame_decoder fd;
	struct client_scratch s;
	struct client_request req;
	struct client_response resp;
	struct client_event ev;
	const unsigned char *payload; /* of the last decoded frame */
	size_t payload_len;
};

static void ctx_init(struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	wire_writer_init(&c->w);
	wire_writer_init(&c->reframe);
	frame_decoder_init(&c->fd, 0);
}

static void ctx_free(struct ctx *c)
{
	wire_writer_free(&c->w);
	wire_writer_free(&c->reframe);
	frame_decoder_free(&c->fd);
	client_scratch_free(&c->s);
}

/* Run bytes holding one whole frame through a fresh frame decoder, then
 * through the client decoder for `what`. */
static int decode_bytes(struct ctx *c, enum what what, uint32_t op,
			bool lease_kind, const void *bytes, size_t n)
{
	struct frame f;

	frame_decoder_free(&c->fd);
	frame_decoder_init(&c->fd, 0);
	ck_assert(frame_decoder_feed(&c->fd, bytes, n));
	ck_assert_int_eq(frame_decoder_next(&c->fd, &f), FRAME_READY);
	c->payload = f.payload;
	c->payload_len = f.len;
	switch (what) {
	case REQUEST:
		return client_decode_request(&f, &c->req, &c->s);
	case RESPONSE:
		return client_decode_response(&f, op, &c->resp, &c->s);
	case EVENT:
		return client_decode_event(&f, lease_kind, &c->ev, &c->s);
	}
	ck_abort();
	return -1;
}

/* Frame an arbitrary payload with a valid checksum and decode it. */
static int decode_payload(struct ctx *c, enum what what, uint32_t type,
			  uint64_t id, uint32_t op, bool lease_kind,
			  const void *payload, size_t len)
{
	wire_writer_reset(&c->reframe);
	size_t start = frame_begin(&c->reframe, type, id);
	wire_put_bytes(&c->reframe, payload, len);
	frame_end(&c->reframe, start);
	ck_assert(!c->reframe.failed);
	return decode_bytes(c, what, op, lease_kind, c->reframe.buf,
			    c->reframe.len);
}

static void expect_error(const struct ctx *c, int rc, const char *needle)
{
	ck_assert_int_eq(rc, -1);
	ck_assert_msg(c->s.error[0] != '\0', "no reason given");
	if (needle)
		ck_assert_msg(strstr(c->s.error, needle) != NULL,
			      "error \"%s\" does not mention \"%s\"",
			      c->s.error, needle);
}

/* The encoded frame's header fields and payload. */
static uint32_t enc_type(const struct ctx *c)
{
	return wire_load_u32(c->w.buf + 4);
}

static uint64_t enc_id(const struct ctx *c)
{
	return wire_load_u64(c->w.buf + 8);
}

static const unsigned char *enc_payload(const struct ctx *c, size_t *len)
{
	*len = wire_load_u32(c->w.buf + 16);
	ck_assert_uint_eq(*len + FRAME_HEADER_SIZE, c->w.len);
	return c->w.buf + FRAME_HEADER_SIZE;
}

static void encode_request(struct ctx *c, const struct client_request *r)
{
	wire_writer_reset(&c->w);
	ck_assert(client_encode_request(&c->w, r));
	ck_assert_uint_eq(enc_type(c), r->op);
	ck_assert_uint_eq(enc_id(c), r->id);
}

static void encode_response(struct ctx *c, const struct client_response *r)
{
	wire_writer_reset(&c->w);
	ck_assert(client_encode_response(&c->w, r));
	ck_assert_uint_eq(enc_type(c), CLIENT_RESPONSE);
	ck_assert_uint_eq(enc_id(c), r->id);
}

static void encode_event(struct ctx *c, const struct client_event *e,
			 bool lease_kind)
{
	wire_writer_reset(&c->w);
	ck_assert(client_encode_event(&c->w, e, lease_kind));
	ck_assert_uint_eq(enc_type(c), CLIENT_EVENT);
	ck_assert_uint_eq(enc_id(c), e->watch_id);
}

static int decode_request_encoded(struct ctx *c)
{
	return decode_bytes(c, REQUEST, 0, false, c->w.buf, c->w.len);
}

static int decode_response_encoded(struct ctx *c, uint32_t op)
{
	return decode_bytes(c, RESPONSE, op, false, c->w.buf, c->w.len);
}

static int decode_event_encoded(struct ctx *c, bool lease_kind)
{
	return decode_bytes(c, EVENT, 0, lease_kind, c->w.buf, c->w.len);
}

/* ---- comparisons --------------------------------------------------------- */

static void str_eq(struct client_str a, struct client_str b, const char *what)
{
	ck_assert_msg(a.len == b.len, "%s: length %zu, want %zu", what, b.len,
		      a.len);
	if (a.len)
		ck_assert_msg(memcmp(a.p, b.p, a.len) == 0, "%s differs", what);
}

static void lease_eq(const struct client_lease *a, const struct client_lease *b)
{
	str_eq(a->name, b->name, "lease name");
	str_eq(a->holder, b->holder, "lease holder");
	ck_assert_uint_eq(a->token, b->token);
	ck_assert_uint_eq(a->ttl_ms, b->ttl_ms);
	ck_assert_uint_eq(a->remaining_ms, b->remaining_ms);
}

static void kv_eq(const struct client_kv *a, const struct client_kv *b)
{
	str_eq(a->key, b->key, "kv key");
	str_eq(a->value, b->value, "kv value");
	str_eq(a->lease, b->lease, "kv lease");
	ck_assert_uint_eq(a->create_revision, b->create_revision);
	ck_assert_uint_eq(a->mod_revision, b->mod_revision);
}

static void member_eq(const struct client_member *a,
		      const struct client_member *b)
{
	str_eq(a->name, b->name, "member name");
	str_eq(a->peer_addr, b->peer_addr, "member peer_addr");
	str_eq(a->client_addr, b->client_addr, "member client_addr");
	str_eq(a->http_addr, b->http_addr, "member http_addr");
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_uint_eq(a->voter, b->voter);
	ck_assert_uint_eq(a->connected, b->connected);
	ck_assert_uint_eq(a->match, b->match);
}

static void status_body_eq(const struct client_status_body *a,
			   const struct client_status_body *b)
{
	str_eq(a->name, b->name, "status name");
	str_eq(a->role, b->role, "status role");
	str_eq(a->leader, b->leader, "status leader");
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_uint_eq(a->term, b->term);
	ck_assert_uint_eq(a->commit, b->commit);
	ck_assert_uint_eq(a->applied, b->applied);
	ck_assert_uint_eq(a->last_index, b->last_index);
	ck_assert_uint_eq(a->revision, b->revision);
	ck_assert_uint_eq(a->leases, b->leases);
	ck_assert_uint_eq(a->keys, b->keys);
}

/* Every field, whatever the op: samples leave unused fields zero, and the
 * decoder must leave them zero too. */
static void request_eq(const struct client_request *a,
		       const struct client_request *b)
{
	ck_assert_uint_eq(a->op, b->op);
	ck_assert_uint_eq(a->id, b->id);
	str_eq(a->user, b->user, "user");
	str_eq(a->nonce, b->nonce, "nonce");
	str_eq(a->proof, b->proof, "proof");
	str_eq(a->client_name, b->client_name, "client_name");
	str_eq(a->name, b->name, "name");
	str_eq(a->holder, b->holder, "holder");
	str_eq(a->key, b->key, "key");
	str_eq(a->value, b->value, "value");
	str_eq(a->lease, b->lease, "lease");
	str_eq(a->prefix, b->prefix, "prefix");
	str_eq(a->peer_addr, b->peer_addr, "peer_addr");
	str_eq(a->to_name, b->to_name, "to_name");
	str_eq(a->start_after, b->start_after, "start_after");
	ck_assert_uint_eq(a->limit, b->limit);
	ck_assert_uint_eq(a->ttl_ms, b->ttl_ms);
	ck_assert_uint_eq(a->lease_token, b->lease_token);
	ck_assert_uint_eq(a->expected_revision, b->expected_revision);
	ck_assert_uint_eq(a->watch_id, b->watch_id);
	ck_assert_uint_eq(a->consistency, b->consistency);
	ck_assert_uint_eq(a->watch_kind, b->watch_kind);
}

static void scope_eq(const struct client_scope *a, const struct client_scope *b)
{
	str_eq(a->name, b->name, "scope name");
	ck_assert_uint_eq(a->keys, b->keys);
	ck_assert_uint_eq(a->bytes, b->bytes);
	ck_assert_uint_eq(a->leases, b->leases);
	ck_assert_uint_eq(a->requests, b->requests);
	ck_assert_uint_eq(a->last_second, b->last_second);
	ck_assert_uint_eq(a->refused, b->refused);
}

static void response_eq(const struct client_response *a,
			const struct client_response *b)
{
	ck_assert_uint_eq(a->id, b->id);
	ck_assert_uint_eq(a->op, b->op);
	ck_assert_uint_eq(a->status, b->status);
	str_eq(a->message, b->message, "message");
	str_eq(a->leader_client, b->leader_client, "leader_client");
	ck_assert_int_eq(a->present, b->present);
	lease_eq(&a->lease, &b->lease);
	kv_eq(&a->kv, &b->kv);
	ck_assert_uint_eq(a->revision, b->revision);
	status_body_eq(&a->status_body, &b->status_body);
	str_eq(a->auth.nonce, b->auth.nonce, "nonce");
	str_eq(a->auth.salt, b->auth.salt, "salt");
	ck_assert_uint_eq(a->auth.iterations, b->auth.iterations);
	str_eq(a->auth.signature, b->auth.signature, "signature");
	str_eq(a->auth.role, b->auth.role, "role");
	ck_assert_uint_eq(a->health_body.healthy, b->health_body.healthy);
	str_eq(a->health_body.reason, b->health_body.reason, "reason");
	ck_assert_uint_eq(a->health_body.disk_write_errors,
			  b->health_body.disk_write_errors);
	str_eq(a->version_body.version, b->version_body.version, "version");
	ck_assert_uint_eq(a->version_body.commands, b->version_body.commands);
	ck_assert_int_eq(a->more, b->more);
	ck_assert_uint_eq(a->n, b->n);
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->op == CLIENT_OP_LEASE_LIST ||
		    a->op == CLIENT_OP_LEASE_LIST_PAGE)
			lease_eq(&a->leases[i], &b->leases[i]);
		else if (a->op == CLIENT_OP_LIST ||
			 a->op == CLIENT_OP_LIST_PAGE)
			kv_eq(&a->kvs[i], &b->kvs[i]);
		else if (a->op == CLIENT_OP_MEMBER_LIST)
			member_eq(&a->members[i], &b->members[i]);
		else if (a->op == CLIENT_OP_SCOPES)
			scope_eq(&a->scopes[i], &b->scopes[i]);
		else
			ck_abort_msg("n set for %s", client_op_name(a->op));
	}
	ck_assert_int_eq(a->scopes_body.more, b->scopes_body.more);
	ck_assert_uint_eq(a->scopes_body.max_keys, b->scopes_body.max_keys);
	ck_assert_uint_eq(a->scopes_body.max_bytes, b->scopes_body.max_bytes);
	ck_assert_uint_eq(a->scopes_body.max_leases, b->scopes_body.max_leases);
	ck_assert_uint_eq(a->scopes_body.max_requests_per_second,
			  b->scopes_body.max_requests_per_second);
	if (b->n == 0) {
		ck_assert_ptr_null(b->scopes);
		ck_assert_ptr_null(b->leases);
		ck_assert_ptr_null(b->kvs);
		ck_assert_ptr_null(b->members);
	}
}

static void event_eq(const struct client_event *a, const struct client_event *b)
{
	ck_assert_uint_eq(a->watch_id, b->watch_id);
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_uint_eq(a->revision, b->revision);
	lease_eq(&a->lease, &b->lease);
	kv_eq(&a->kv, &b->kv);
}

/* ---- request samples ----------------------------------------------------- */

static struct client_request *add_req(struct client_request *out, size_t *n,
				      uint32_t op)
{
	ck_assert_uint_lt(*n, MAX_SAMPLES);
	struct client_request *r = &out[(*n)++];
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->id = 0x0a0b0c0d00000000ull + *n;
	return r;
}

static void lease_requests(struct client_request *out, size_t *n)
{
	struct client_request *r;

	r = add_req(out, n, CLIENT_OP_LEASE_ACQUIRE);
	r->name = S("pg-primary");
	r->holder = S("pg1.example.net:5432");
	r->ttl_ms = 10000;
	r = add_req(out, n, CLIENT_OP_LEASE_ACQUIRE);
	r->name = filled(key_max, 'n', SM_KEY_MAX);
	r->holder = filled(holder_max, 'h', SM_HOLDER_MAX);
	r->ttl_ms = SM_TTL_MIN_MS;
	r = add_req(out, n, CLIENT_OP_LEASE_ACQUIRE);
	r->name = S("x");
	r->holder = S("y");
	r->ttl_ms = SM_TTL_MAX_MS;
	r->id = UINT64_MAX;
	for (uint32_t op = CLIENT_OP_LEASE_RENEW; op <= CLIENT_OP_LEASE_RELEASE;
	     op++) {
		r = add_req(out, n, op);
		r->name = S("pg-primary");
		r->holder = S("pg1");
		r->lease_token = 0x0102030405060708ull;
		r = add_req(out, n, op);
		r->name = S("pg-primary");
		r->holder = S("pg2");
		r->lease_token = op == CLIENT_OP_LEASE_RENEW ? 1 : UINT64_MAX;
	}
	r = add_req(out, n, CLIENT_OP_LEASE_FLOOR);
	r->name = S("main/primary");
	r->lease_token = 1;
	r = add_req(out, n, CLIENT_OP_LEASE_FLOOR);
	r->name = filled(key_max, 'n', SM_KEY_MAX);
	r->lease_token = UINT64_MAX;
	for (uint8_t cons = 0; cons <= 1; cons++) {
		r = add_req(out, n, CLIENT_OP_LEASE_GET);
		r->name = S("pg-primary");
		r->consistency = cons;
		r = add_req(out, n, CLIENT_OP_LEASE_LIST);
		r->consistency = cons;
		r = add_req(out, n, CLIENT_OP_LEASE_LIST_PAGE);
		r->consistency = cons;
	}
	r = add_req(out, n, CLIENT_OP_LEASE_LIST_PAGE);
	r->start_after = filled(key_max, 'n', SM_KEY_MAX);
	r->limit = UINT64_MAX;
}

static void key_requests(struct client_request *out, size_t *n)
{
	struct client_request *r;

	r = add_req(out, n, CLIENT_OP_PUT);
	r->key = S("/service/pg/leader");
	r->value = (struct client_str){ binary_value, sizeof(binary_value) };
	r->lease = S("pg-primary");
	r->lease_token = 0x0102030405060708ull;
	r = add_req(out, n, CLIENT_OP_PUT);
	r->key = S("k");
	r = add_req(out, n, CLIENT_OP_GET);
	r->key = S("/service/pg/leader");
	r->consistency = CLIENT_LOCAL;
	r = add_req(out, n, CLIENT_OP_GET);
	r->key = filled(key_max, 'n', SM_KEY_MAX);
	r = add_req(out, n, CLIENT_OP_DELETE);
	r->key = S("/service/pg/leader");
	r = add_req(out, n, CLIENT_OP_LIST);
	r->prefix = S("/service/");
	r = add_req(out, n, CLIENT_OP_LIST);
	r->consistency = CLIENT_LOCAL;
	add_req(out, n, CLIENT_OP_LIST_PAGE); /* everything, first page */
	r = add_req(out, n, CLIENT_OP_LIST_PAGE);
	r->prefix = S("/service/");
	r->consistency = CLIENT_LOCAL;
	r->start_after = S("/service/pg/leader");
	r->limit = 100;
	r = add_req(out, n, CLIENT_OP_CAS);
	r->key = S("/config");
	r->value = S("max_connections = 100");
	r->lease = S("pg-primary");
	r->lease_token = UINT64_MAX;
	r->expected_revision = 0x1122334455667788ull;
	r = add_req(out, n, CLIENT_OP_CAS);
	r->key = S("/config"); /* expected 0: must not exist yet */
	r->value = S("");
}

static void other_requests(struct client_request *out, size_t *n)
{
	struct client_request *r;

	r = add_req(out, n, CLIENT_OP_HELLO);
	r->user = S("pg-main-1");
	r->nonce = S("0123456789abcdef01234567");
	r->client_name = S("tenure-agent@pg1");
	add_req(out, n, CLIENT_OP_HELLO); /* no user, no name */
	r = add_req(out, n, CLIENT_OP_HELLO);
	r->user = filled(user_max, 'u', CLIENT_NAME_MAX);
	r->nonce = filled(token_max, 't', CLIENT_TOKEN_MAX);
	r->client_name = filled(name_max, 'c', CLIENT_NAME_MAX);
	r = add_req(out, n, CLIENT_OP_AUTH_PROOF);
	r->proof = filled(proof_max, 'p', CLIENT_TOKEN_MAX);
	r = add_req(out, n, CLIENT_OP_WATCH);
	r->watch_kind = 0;
	r->prefix = S("/service/");
	r = add_req(out, n, CLIENT_OP_WATCH);
	r->watch_kind = 1;
	r = add_req(out, n, CLIENT_OP_CANCEL);
	r->watch_id = 77;
	r = add_req(out, n, CLIENT_OP_CANCEL);
	r->watch_id = UINT64_MAX;
	add_req(out, n, CLIENT_OP_STATUS);
	add_req(out, n, CLIENT_OP_HEALTH);
	add_req(out, n, CLIENT_OP_SCOPES);
	add_req(out, n, CLIENT_OP_VERSION);
	add_req(out, n, CLIENT_OP_SUCCESSOR);
	add_req(out, n, CLIENT_OP_MEMBER_LIST);
	r = add_req(out, n, CLIENT_OP_MEMBER_ADD);
	r->name = S("w4");
	r->peer_addr = S("10.0.0.4:7000");
	r = add_req(out, n, CLIENT_OP_MEMBER_ADD);
	r->name = filled(name_max, 'c', CLIENT_NAME_MAX);
	r->peer_addr = filled(addr_max, 'a', CLIENT_ADDR_MAX);
	r = add_req(out, n, CLIENT_OP_MEMBER_REMOVE);
	r->name = S("w2");
	r = add_req(out, n, CLIENT_OP_TRANSFER);
	r->to_name = S("w3");
	add_req(out, n, CLIENT_OP_TRANSFER); /* any caught-up voter */
}

static size_t request_samples(struct client_request *out)
{
	size_t n = 0;

	lease_requests(out, &n);
	key_requests(out, &n);
	other_requests(out, &n);
	return n;
}

/* ---- response samples ---------------------------------------------------- */

/* Shared element storage for list responses. */
static struct client_lease sample_leases[9];
static struct client_kv sample_kvs[9];
static struct client_member sample_members[5];
static char element_names[9][32];

static void fill_elements(void)
{
	for (unsigned i = 0; i < 9; i++) {
		snprintf(element_names[i], sizeof(element_names[i]),
			 "/svc/%u/name", i);
		struct client_lease *l = &sample_leases[i];
		l->name = S(element_names[i]);
		l->holder = i % 3 == 2 ? S("") : S("pg1:5432"); /* free */
		l->token = 1000 + i;
		l->ttl_ms = 5000 + i;
		l->remaining_ms = 4000 - i;
		struct client_kv *kv = &sample_kvs[i];
		kv->key = S(element_names[i]);
		kv->value = i % 2 ? S("value") : S("");
		kv->lease = i % 3 ? S("pg-primary") : S("");
		kv->create_revision = 10 + i;
		kv->mod_revision = 20 + i;
	}
	for (unsigned i = 0; i < 5; i++) {
		struct client_member *m = &sample_members[i];
		m->name = S(element_names[i]);
		m->peer_addr = S("10.0.0.1:7000");
		m->client_addr = i == 4 ? S("") : S("10.0.0.1:7100");
		m->http_addr = S("[::1]:8008");
		m->id = 0x100000000ull * (i + 1) + i + 1;
		m->voter = i % 4 != 3;
		m->connected = i % 2;
		m->match = i * 1000;
	}
}

static struct client_response *add_resp(struct client_response *out, size_t *n,
					uint32_t op, uint8_t status)
{
	ck_assert_uint_lt(*n, MAX_SAMPLES);
	struct client_response *r = &out[(*n)++];
	memset(r, 0, sizeof(*r));
	r->op = op;
	r->status = status;
	r->id = 0x5000 + *n;
	return r;
}

static void error_responses(struct client_response *out, size_t *n, uint32_t op)
{
	struct client_response *r;

	r = add_resp(out, n, op, CLIENT_ENOTLEADER);
	r->message = S("not the leader");
	r->leader_client = S("10.0.0.2:7100");
	r = add_resp(out, n, op, CLIENT_ENOTLEADER); /* leader unknown */
	r = add_resp(out, n, op, CLIENT_EINVAL);
	r->message = filled(message_max, 'm', CLIENT_MESSAGE_MAX);
}

static void lease_responses(struct client_response *out, size_t *n, uint32_t op)
{
	struct client_response *r;

	r = add_resp(out, n, op, CLIENT_OK);
	r->present = true;
	r->lease = sample_leases[0];
	r->revision = 0x0102030405060708ull;
	r = add_resp(out, n, op, CLIENT_HELD);
	r->present = true;
	r->lease.name = filled(key_max, 'n', SM_KEY_MAX);
	r->lease.holder = filled(holder_max, 'h', SM_HOLDER_MAX);
	r->lease.token = UINT64_MAX;
	r->lease.ttl_ms = SM_TTL_MAX_MS;
	r->lease.remaining_ms = 1;
	r->revision = 99;
	r = add_resp(out, n, op, CLIENT_NOT_FOUND); /* absent */
	r->revision = 100;
	error_responses(out, n, op);
}

static void kv_responses(struct client_response *out, size_t *n, uint32_t op)
{
	struct client_response *r;

	r = add_resp(out, n, op, CLIENT_OK);
	r->present = true;
	r->kv = sample_kvs[1];
	r->kv.value = (struct client_str){ binary_value, sizeof(binary_value) };
	r->revision = 42;
	r = add_resp(out, n, op, CLIENT_COMPARE_FAILED);
	r->present = true;
	r->kv = sample_kvs[0];
	r->revision = 43;
	r = add_resp(out, n, op, CLIENT_NOT_FOUND);
	r->revision = 44;
	r = add_resp(out, n, op, CLIENT_NO_LEASE);
	r->message = S("lease pg-primary is not held");
	error_responses(out, n, op);
}

static void list_responses(struct client_response *out, size_t *n)
{
	static const uint32_t sizes[] = { 0, 1, 9 };
	struct client_response *r;

	for (unsigned i = 0; i < 3; i++) {
		r = add_resp(out, n, CLIENT_OP_LEASE_LIST, CLIENT_OK);
		r->n = sizes[i];
		r->leases = sizes[i] ? sample_leases : NULL;
		r = add_resp(out, n, CLIENT_OP_LIST, CLIENT_OK);
		r->n = sizes[i];
		r->kvs = sizes[i] ? sample_kvs : NULL;
		r->revision = 7000 + i;
		r = add_resp(out, n, CLIENT_OP_MEMBER_LIST, CLIENT_OK);
		r->n = sizes[i] > 5 ? 5 : sizes[i];
		r->members = sizes[i] ? sample_members : NULL;
		for (int more = 0; more <= 1; more++) {
			r = add_resp(out, n, CLIENT_OP_LEASE_LIST_PAGE,
				     CLIENT_OK);
			r->n = sizes[i];
			r->leases = sizes[i] ? sample_leases : NULL;
			r->more = more;
			r = add_resp(out, n, CLIENT_OP_LIST_PAGE, CLIENT_OK);
			r->n = sizes[i];
			r->kvs = sizes[i] ? sample_kvs : NULL;
			r->revision = 8000 + i;
			r->more = more;
		}
	}
	error_responses(out, n, CLIENT_OP_LEASE_LIST);
	error_responses(out, n, CLIENT_OP_LIST);
	error_responses(out, n, CLIENT_OP_LEASE_LIST_PAGE);
	error_responses(out, n, CLIENT_OP_LIST_PAGE);
	error_responses(out, n, CLIENT_OP_MEMBER_LIST);
}

static void status_responses(struct client_response *out, size_t *n)
{
	struct client_response *r = add_resp(out, n, CLIENT_OP_STATUS,
					     CLIENT_OK);
	struct client_status_body *b = &r->status_body;

	b->name = S("w1");
	b->role = S("leader");
	b->leader = S("w1");
	b->id = 1;
	b->term = 7;
	b->commit = 1234;
	b->applied = 1233;
	b->last_index = 1240;
	b->revision = 1200;
	b->leases = 3;
	b->keys = UINT64_MAX;
	r = add_resp(out, n, CLIENT_OP_STATUS, CLIENT_OK); /* all empty */
	error_responses(out, n, CLIENT_OP_STATUS);
	r = add_resp(out, n, CLIENT_OP_HEALTH, CLIENT_OK);
	r->health_body.healthy = 1;
	r = add_resp(out, n, CLIENT_OP_HEALTH, CLIENT_OK);
	r->health_body.reason = S("disk write failed: No space left on device");
	r->health_body.disk_write_errors = UINT64_MAX;
	error_responses(out, n, CLIENT_OP_HEALTH);
	static struct client_scope scopes[] = {
		{ { "main", 4 }, 12, 3400, 4, 99, 7, 0 },
		{ { "x", 1 }, UINT64_MAX, 0, 0, 0, 0, UINT64_MAX },
	};
	r = add_resp(out, n, CLIENT_OP_SCOPES, CLIENT_OK); /* none */
	r = add_resp(out, n, CLIENT_OP_SCOPES, CLIENT_OK);
	r->scopes = scopes;
	r->n = 2;
	r->scopes_body = (struct client_scopes_body){ true, 10000, 64 << 20,
						      1000, 2000 };
	error_responses(out, n, CLIENT_OP_SCOPES);
	r = add_resp(out, n, CLIENT_OP_VERSION, CLIENT_OK); /* all empty */
	r = add_resp(out, n, CLIENT_OP_VERSION, CLIENT_OK);
	r->version_body.version = S("0.1.0");
	r->version_body.commands = CLIENT_COMMANDS_FLOOR;
	error_responses(out, n, CLIENT_OP_VERSION);
	r = add_resp(out, n, CLIENT_OP_SUCCESSOR, CLIENT_OK); /* none known */
	r = add_resp(out, n, CLIENT_OP_SUCCESSOR, CLIENT_OK);
	r->successor_body.client_addr = S("127.0.0.1:7102");
	error_responses(out, n, CLIENT_OP_SUCCESSOR);
}

static void auth_responses(struct client_response *out, size_t *n)
{
	struct client_response *r;

	r = add_resp(out, n, CLIENT_OP_HELLO, CLIENT_OK);
	r->auth.nonce = S("0123456789abcdef01234567");
	r->auth.salt = S("saltsaltsaltsalt");
	r->auth.iterations = 4096;
	add_resp(out, n, CLIENT_OP_HELLO, CLIENT_OK); /* nothing to prove */
	r = add_resp(out, n, CLIENT_OP_AUTH_PROOF, CLIENT_OK);
	r->auth.signature = filled(token_max, 's', CLIENT_TOKEN_MAX);
	r->auth.role = S("agent:main");
	for (uint32_t op = CLIENT_OP_HELLO; op <= CLIENT_OP_AUTH_PROOF;
	     op += CLIENT_OP_AUTH_PROOF - CLIENT_OP_HELLO) {
		r = add_resp(out, n, op, CLIENT_EUNAUTHORIZED);
		r->message = S("authentication failed");
		error_responses(out, n, op);
	}
}

static size_t response_samples(struct client_response *out)
{
	static const uint32_t no_body[] = {
		CLIENT_OP_WATCH,      CLIENT_OP_CANCEL,
		CLIENT_OP_MEMBER_ADD, CLIENT_OP_MEMBER_REMOVE,
		CLIENT_OP_TRANSFER,
	};
	size_t n = 0;

	fill_elements();
	for (uint32_t op = CLIENT_OP_LEASE_ACQUIRE; op <= CLIENT_OP_LEASE_GET;
	     op++)
		lease_responses(out, &n, op);
	lease_responses(out, &n, CLIENT_OP_LEASE_FLOOR);
	kv_responses(out, &n, CLIENT_OP_PUT);
	kv_responses(out, &n, CLIENT_OP_GET);
	kv_responses(out, &n, CLIENT_OP_DELETE);
	kv_responses(out, &n, CLIENT_OP_CAS);
	list_responses(out, &n);
	status_responses(out, &n);
	auth_responses(out, &n);
	for (size_t i = 0; i < sizeof(no_body) / sizeof(no_body[0]); i++) {
		add_resp(out, &n, no_body[i], CLIENT_OK);
		struct client_response *r = add_resp(out, &n, no_body[i],
						     CLIENT_EUNAUTHORIZED);
		r->message = S("authentication required");
		error_responses(out, &n, no_body[i]);
	}
	return n;
}

/* ---- event samples ------------------------------------------------------- */

struct event_sample {
	struct client_event e;
	bool lease_kind;
};

static size_t event_samples(struct event_sample *out)
{
	size_t n = 0;

	fill_elements();
	for (uint8_t t = SM_EV_GRANT; t <= SM_EV_DELETE; t++) {
		struct event_sample *s = &out[n++];
		memset(s, 0, sizeof(*s));
		s->lease_kind = t <= SM_EV_EXPIRE;
		s->e.watch_id = 0x7700 + t;
		s->e.type = t;
		s->e.revision = 0x0102030405060708ull + t;
		if (s->lease_kind) {
			s->e.lease = sample_leases[t];
			if (t >= SM_EV_RELEASE) /* freed: no holder */
				s->e.lease.holder = S("");
		} else {
			s->e.kv = sample_kvs[t];
			if (t == SM_EV_DELETE)
				s->e.kv.value = S("");
		}
	}
	struct event_sample *s = &out[n++];
	memset(s, 0, sizeof(*s));
	s->e.watch_id = UINT64_MAX;
	s->e.type = SM_EV_PUT;
	s->e.kv.key = filled(key_max, 'n', SM_KEY_MAX);
	s->e.kv.value = filled(value_max, 'v', SM_VALUE_MAX);
	s->e.kv.lease = S("pg-primary");
	return n;
}

/* ---- round trips --------------------------------------------------------- */

START_TEST(test_request_round_trip_every_op)
{
	static struct client_request samples[MAX_SAMPLES];
	bool seen[N_OPS] = { false };
	struct ctx c;
	size_t n = request_samples(samples);

	ctx_init(&c);
	for (size_t i = 0; i < n; i++) {
		encode_request(&c, &samples[i]);
		ck_assert_msg(decode_request_encoded(&c) == 0, "%s: %s",
			      client_op_name(samples[i].op), c.s.error);
		ck_assert_str_eq(c.s.error, "");
		request_eq(&samples[i], &c.req);
		seen[samples[i].op - CLIENT_OP_HELLO] = true;
	}
	for (unsigned k = 0; k < N_OPS; k++)
		ck_assert_msg(seen[k], "no sample for %s",
			      client_op_name(CLIENT_OP_HELLO + k));
	ctx_free(&c);
}
END_TEST

START_TEST(test_response_round_trip_every_op)
{
	static struct client_response samples[MAX_SAMPLES];
	bool seen[N_OPS] = { false };
	struct ctx c;
	size_t n = response_samples(samples);

	ctx_init(&c);
	for (size_t i = 0; i < n; i++) {
		encode_response(&c, &samples[i]);
		ck_assert_msg(decode_response_encoded(&c, samples[i].op) == 0,
			      "%s/%s: %s", client_op_name(samples[i].op),
			      client_status_name(samples[i].status), c.s.error);
		ck_assert_str_eq(c.s.error, "");
		response_eq(&samples[i], &c.resp);
		seen[samples[i].op - CLIENT_OP_HELLO] = true;
	}
	for (unsigned k = 0; k < N_OPS; k++)
		ck_assert_msg(seen[k], "no sample for %s",
			      client_op_name(CLIENT_OP_HELLO + k));
	ctx_free(&c);
}
END_TEST

/* Every status a server sends round-trips, and only OK and the "no"
 * answers carry the body: an error's body fields are not sent. */
START_TEST(test_every_status_round_trips)
{
	struct ctx c;
	struct client_response r;
	unsigned known = 0;

	ctx_init(&c);
	fill_elements();
	for (int st = 0; st < 256; st++) {
		if (strcmp(client_status_name(st), "unknown status") == 0)
			continue;
		if (st == CLIENT_ECIRCUIT) /* never on the wire */
			continue;
		known++;
		memset(&r, 0, sizeof(r));
		r.op = CLIENT_OP_GET;
		r.id = 9;
		r.status = (uint8_t)st;
		r.present = true;
		r.kv = sample_kvs[3];
		r.revision = 5;
		if (st == CLIENT_ENOTLEADER)
			r.leader_client = S("10.0.0.3:7100");
		encode_response(&c, &r);
		ck_assert_int_eq(decode_response_encoded(&c, CLIENT_OP_GET), 0);
		bool body = st == CLIENT_OK || client_status_is_no(st);
		if (!body) {
			r.present = false;
			memset(&r.kv, 0, sizeof(r.kv));
			r.revision = 0;
		}
		response_eq(&r, &c.resp);
	}
	ck_assert_uint_eq(known, 16);
	ctx_free(&c);
}
END_TEST

START_TEST(test_event_round_trip)
{
	static struct event_sample samples[16];
	struct ctx c;
	size_t n = event_samples(samples);

	ctx_init(&c);
	for (size_t i = 0; i < n; i++) {
		encode_event(&c, &samples[i].e, samples[i].lease_kind);
		ck_assert_msg(decode_event_encoded(&c, samples[i].lease_kind) ==
				      0,
			      "event %zu: %s", i, c.s.error);
		event_eq(&samples[i].e, &c.ev);
	}
	ctx_free(&c);
}
END_TEST

/* Decoded strings point into the frame: nothing is copied. */
START_TEST(test_strings_point_into_frame)
{
	struct ctx c;
	struct client_request r = { .op = CLIENT_OP_PUT, .id = 1 };

	ctx_init(&c);
	r.key = S("key");
	r.value = S("value");
	encode_request(&c, &r);
	ck_assert_int_eq(decode_request_encoded(&c), 0);
	const char *lo = (const char *)c.payload;
	ck_assert(c.req.key.p >= lo && c.req.key.p + 3 <= lo + c.payload_len);
	ck_assert(c.req.value.p > c.req.key.p);
	ck_assert_uint_eq(c.req.lease.len, 0);
	ctx_free(&c);
}
END_TEST

/* The bytes on the wire, as client.h lays them out. */
START_TEST(test_request_layout)
{
	static const unsigned char want[] = {
		2,    0,    0, 0, 'a', 'b',       /* name */
		1,    0,    0, 0, 'h',            /* holder */
		0xe8, 0x03, 0, 0, 0,   0,   0, 0, /* ttl_ms 1000 */
	};
	struct ctx c;
	struct client_request r = { .op = CLIENT_OP_LEASE_ACQUIRE, .id = 7 };
	size_t len;

	ctx_init(&c);
	r.name = S("ab");
	r.holder = S("h");
	r.ttl_ms = 1000;
	encode_request(&c, &r);
	ck_assert_uint_eq(wire_load_u32(c.w.buf + 4), 0x201);
	ck_assert_uint_eq(wire_load_u64(c.w.buf + 8), 7);
	const unsigned char *p = enc_payload(&c, &len);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(p, want, sizeof(want));
	ctx_free(&c);
}
END_TEST

/* PUT carries the attached lease's fencing token last (client.h). */
START_TEST(test_put_layout_with_lease_token)
{
	static const unsigned char want[] = {
		1,    0, 0, 0, 'k',            /* key */
		1,    0, 0, 0, 'v',            /* value */
		2,    0, 0, 0, 'p', 'g',       /* lease */
		0x2a, 0, 0, 0, 0,   0,   0, 0, /* lease_token 42 */
	};
	struct ctx c;
	struct client_request r = { .op = CLIENT_OP_PUT, .id = 9 };
	size_t len;

	ctx_init(&c);
	r.key = S("k");
	r.value = S("v");
	r.lease = S("pg");
	r.lease_token = 42;
	encode_request(&c, &r);
	const unsigned char *p = enc_payload(&c, &len);
	ck_assert_uint_eq(len, sizeof(want));
	ck_assert_mem_eq(p, want, sizeof(want));
	ck_assert_int_eq(decode_request_encoded(&c), 0);
	ck_assert_uint_eq(c.req.lease_token, 42);
	/* CAS: the same token after the lease */
	r.op = CLIENT_OP_CAS;
	r.expected_revision = 5;
	encode_request(&c, &r);
	p = enc_payload(&c, &len);
	ck_assert_uint_eq(len, sizeof(want) + 8);
	ck_assert_mem_eq(p + len - 8, want + sizeof(want) - 8, 8);
	ck_assert_int_eq(decode_request_encoded(&c), 0);
	ck_assert_uint_eq(c.req.lease_token, 42);
	ck_assert_uint_eq(c.req.expected_revision, 5);
	ctx_free(&c);
}
END_TEST

START_TEST(test_response_and_event_layout)
{
	static const unsigned char held[] = {
		1,                                /* HELD */
		0, 0, 0, 0, 0,   0, 0, 0,         /* message, leader_client */
		1,                                /* present */
		1, 0, 0, 0, 'L', 1, 0, 0, 0, 'o', /* name, holder */
		5, 0, 0, 0, 0,   0, 0, 0,         /* token */
		6, 0, 0, 0, 0,   0, 0, 0,         /* ttl_ms */
		7, 0, 0, 0, 0,   0, 0, 0,         /* remaining_ms */
		8, 0, 0, 0, 0,   0, 0, 0,         /* revision */
	};
	static const unsigned char event[] = {
		SM_EV_DELETE,
		9,
		0,
		0,
		0,
		0,
		0,
		0,
		0, /* revision */
		1,
		0,
		0,
		0,
		'k',
		0,
		0,
		0,
		0,
		0,
		0,
		0,
		0, /* key, value, lease */
		3,
		0,
		0,
		0,
		0,
		0,
		0,
		0, /* create_revision */
		9,
		0,
		0,
		0,
		0,
		0,
		0,
		0, /* mod_revision */
	};
	struct ctx c;
	struct client_response r = { .op = CLIENT_OP_LEASE_GET, .id = 3 };
	struct client_event e = { .watch_id = 4, .type = SM_EV_DELETE };
	size_t len;

	ctx_init(&c);
	r.status = CLIENT_HELD;
	r.present = true;
	r.lease = (struct client_lease){ S("L"), S("o"), 5, 6, 7 };
	r.revision = 8;
	encode_response(&c, &r);
	const unsigned char *p = enc_payload(&c, &len);
	ck_assert_uint_eq(len, sizeof(held));
	ck_assert_mem_eq(p, held, sizeof(held));

	e.revision = 9;
	e.kv = (struct client_kv){ S("k"), S(""), S(""), 3, 9 };
	encode_event(&c, &e, false);
	p = enc_payload(&c, &len);
	ck_assert_uint_eq(len, sizeof(event));
	ck_assert_mem_eq(p, event, sizeof(event));
	ctx_free(&c);
}
END_TEST

/* A small scratch grows for a longer list and is reused after. */
START_TEST(test_scratch_grows_and_is_reused)
{
	struct ctx c;
	struct client_response r = { .op = CLIENT_OP_LIST, .id = 1 };

	ctx_init(&c);
	fill_elements();
	r.kvs = sample_kvs;
	r.n = 1;
	encode_response(&c, &r);
	ck_assert_int_eq(decode_response_encoded(&c, CLIENT_OP_LIST), 0);
	ck_assert_uint_ge(c.s.cap, sizeof(struct client_kv));
	r.n = 9;
	encode_response(&c, &r);
	ck_assert_int_eq(decode_response_encoded(&c, CLIENT_OP_LIST), 0);
	ck_assert_uint_ge(c.s.cap, 9 * sizeof(struct client_kv));
	ck_assert_ptr_eq(c.resp.kvs, c.s.buf);
	response_eq(&r, &c.resp);
	size_t cap = c.s.cap;
	r.n = 2;
	encode_response(&c, &r);
	ck_assert_int_eq(decode_response_encoded(&c, CLIENT_OP_LIST), 0);
	ck_assert_uint_eq(c.s.cap, cap);
	response_eq(&r, &c.resp);
	client_scratch_free(&c.s);
	ck_assert_ptr_null(c.s.buf);
	ck_assert_uint_eq(c.s.cap, 0);
	ctx_free(&c);
}
END_TEST

/* ---- truncation and trailing bytes --------------------------------------- */

/* Every proper prefix of the encoded payload is refused; the whole one is
 * accepted. */
static void check_truncations(struct ctx *c, enum what what, uint32_t op,
			      bool lease_kind)
{
	size_t len;
	const unsigned char *p = enc_payload(c, &len);
	uint32_t type = enc_type(c);
	uint64_t id = enc_id(c);
	unsigned char *copy = malloc(len + 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, len);
	for (size_t n = 0; n < len; n++) {
		int rc = decode_payload(c, what, type, id, op, lease_kind, copy,
					n);
		ck_assert_msg(rc == -1, "%s: prefix %zu of %zu accepted",
			      client_op_name(op), n, len);
		ck_assert(c->s.error[0] != '\0');
	}
	ck_assert_msg(decode_payload(c, what, type, id, op, lease_kind, copy,
				     len) == 0,
		      "%s", c->s.error);
	free(copy);
}

START_TEST(test_every_request_truncation)
{
	static struct client_request samples[MAX_SAMPLES];
	struct ctx c;
	size_t n = request_samples(samples);

	ctx_init(&c);
	for (size_t i = 0; i < n; i++) {
		encode_request(&c, &samples[i]);
		check_truncations(&c, REQUEST, samples[i].op, false);
		request_eq(&samples[i], &c.req);
	}
	ctx_free(&c);
}
END_TEST

START_TEST(test_every_response_truncation)
{
	static struct client_response samples[MAX_SAMPLES];
	struct ctx c;
	size_t n = response_samples(samples);

	ctx_init(&c);
	for (size_t i = 0; i < n; i++) {
		encode_response(&c, &samples[i]);
		check_truncations(&c, RESPONSE, samples[i].op, false);
		response_eq(&samples[i], &c.resp);
	}
	ctx_free(&c);
}
END_TEST

START_TEST(test_every_event_truncation)
{
	static struct event_sample samples[16];
	struct ctx c;
	size_t n = event_samples(samples) - 1; /* all but the 64 KiB one */

	ctx_init(&c);
	for (size_t i = 0; i < n; i++) {
		encode_event(&c, &samples[i].e, samples[i].lease_kind);
		check_truncations(&c, EVENT, 0, samples[i].lease_kind);
		event_eq(&samples[i].e, &c.ev);
	}
	ctx_free(&c);
}
END_TEST

static void check_trailing(struct ctx *c, enum what what, uint32_t op,
			   bool lease_kind)
{
	size_t len;
	const unsigned char *p = enc_payload(c, &len);
	uint32_t type = enc_type(c);
	uint64_t id = enc_id(c);
	unsigned char *copy = calloc(1, len + 9);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, len);
	expect_error(c,
		     decode_payload(c, what, type, id, op, lease_kind, copy,
				    len + 1),
		     "1 trailing byte");
	expect_error(c,
		     decode_payload(c, what, type, id, op, lease_kind, copy,
				    len + 9),
		     "9 trailing bytes");
	free(copy);
}

START_TEST(test_trailing_bytes)
{
	static struct client_request reqs[MAX_SAMPLES];
	static struct client_response resps[MAX_SAMPLES];
	static struct event_sample events[16];
	struct ctx c;
	size_t n;

	ctx_init(&c);
	n = request_samples(reqs);
	for (size_t i = 0; i < n; i++) {
		encode_request(&c, &reqs[i]);
		check_trailing(&c, REQUEST, reqs[i].op, false);
	}
	n = response_samples(resps);
	for (size_t i = 0; i < n; i++) {
		encode_response(&c, &resps[i]);
		check_trailing(&c, RESPONSE, resps[i].op, false);
	}
	n = event_samples(events);
	for (size_t i = 0; i < n; i++) {
		encode_event(&c, &events[i].e, events[i].lease_kind);
		check_trailing(&c, EVENT, 0, events[i].lease_kind);
	}
	ctx_free(&c);
}
END_TEST

/* ---- request refusals ---------------------------------------------------- */

static void expect_request_refused(struct ctx *c,
				   const struct client_request *r,
				   const char *needle)
{
	encode_request(c, r);
	expect_error(c, decode_request_encoded(c), needle);
}

static void expect_request_ok(struct ctx *c, const struct client_request *r)
{
	encode_request(c, r);
	ck_assert_msg(decode_request_encoded(c) == 0, "%s", c->s.error);
	request_eq(r, &c->req);
}

/* A valid request of op with only its own fields set, to spoil one of. */
static struct client_request valid_request(uint32_t op)
{
	struct client_request r = { .op = op, .id = 1 };

	switch (op) {
	case CLIENT_OP_LEASE_ACQUIRE:
		r.ttl_ms = 5000;
		/* fall through */
	case CLIENT_OP_LEASE_RENEW:
	case CLIENT_OP_LEASE_RELEASE:
		r.holder = S("pg1");
		if (op != CLIENT_OP_LEASE_ACQUIRE)
			r.lease_token = 3;
		/* fall through */
	case CLIENT_OP_LEASE_GET:
		r.name = S("pg-primary");
		break;
	case CLIENT_OP_LEASE_FLOOR:
		r.name = S("pg-primary");
		r.lease_token = 9;
		break;
	case CLIENT_OP_PUT:
	case CLIENT_OP_GET:
	case CLIENT_OP_DELETE:
	case CLIENT_OP_CAS:
		r.key = S("/k");
		break;
	case CLIENT_OP_CANCEL:
		r.watch_id = 2;
		break;
	case CLIENT_OP_MEMBER_ADD:
		r.peer_addr = S("10.0.0.2:7000");
		/* fall through */
	case CLIENT_OP_MEMBER_REMOVE:
		r.name = S("w2");
		break;
	default: /* nothing mandatory */
		break;
	}
	return r;
}

/* Each string field: over its limit and (when mandatory) empty. */
static const struct {
	uint32_t op;
	size_t off;
	const char *label;
	size_t max;
	bool mandatory;
} string_fields[] = {
#define F(op, m, label, max, mandatory)                                    \
	{                                                                  \
		CLIENT_OP_##op, offsetof(struct client_request, m), label, \
			max, mandatory                                     \
	}
	F(HELLO, user, "user", CLIENT_NAME_MAX, false),
	F(HELLO, nonce, "nonce", CLIENT_TOKEN_MAX, false),
	F(AUTH_PROOF, proof, "proof", CLIENT_TOKEN_MAX, true),
	F(HELLO, client_name, "client_name", CLIENT_NAME_MAX, false),
	F(LEASE_ACQUIRE, name, "lease name", SM_KEY_MAX, true),
	F(LEASE_ACQUIRE, holder, "holder", SM_HOLDER_MAX, true),
	F(LEASE_RENEW, name, "lease name", SM_KEY_MAX, true),
	F(LEASE_RENEW, holder, "holder", SM_HOLDER_MAX, true),
	F(LEASE_RELEASE, name, "lease name", SM_KEY_MAX, true),
	F(LEASE_RELEASE, holder, "holder", SM_HOLDER_MAX, true),
	F(LEASE_GET, name, "lease name", SM_KEY_MAX, true),
	F(LEASE_FLOOR, name, "lease name", SM_KEY_MAX, true),
	F(PUT, key, "key", SM_KEY_MAX, true),
	F(PUT, value, "value", SM_VALUE_MAX, false),
	F(PUT, lease, "lease", SM_KEY_MAX, false),
	F(GET, key, "key", SM_KEY_MAX, true),
	F(DELETE, key, "key", SM_KEY_MAX, true),
	F(LIST, prefix, "prefix", SM_KEY_MAX, false),
	F(LIST_PAGE, prefix, "prefix", SM_KEY_MAX, false),
	F(LIST_PAGE, start_after, "start_after", SM_KEY_MAX, false),
	F(LEASE_LIST_PAGE, start_after, "start_after", SM_KEY_MAX, false),
	F(CAS, key, "key", SM_KEY_MAX, true),
	F(CAS, value, "value", SM_VALUE_MAX, false),
	F(CAS, lease, "lease", SM_KEY_MAX, false),
	F(WATCH, prefix, "prefix", SM_KEY_MAX, false),
	F(MEMBER_ADD, name, "member name", CLIENT_NAME_MAX, true),
	F(MEMBER_ADD, peer_addr, "peer_addr", CLIENT_ADDR_MAX, true),
	F(MEMBER_REMOVE, name, "member name", CLIENT_NAME_MAX, true),
	F(TRANSFER, to_name, "to_name", CLIENT_NAME_MAX, false),
#undef F
};

static char *over_buffer(size_t max)
{
	static char *buf;
	static size_t cap;

	if (max + 1 > cap) {
		free(buf);
		cap = max + 1;
		buf = malloc(cap);
		ck_assert_ptr_nonnull(buf);
	}
	memset(buf, 'o', max + 1);
	return buf;
}

START_TEST(test_request_string_limits)
{
	struct ctx c;
	char want[96];

	ctx_init(&c);
	for (size_t i = 0; i < sizeof(string_fields) / sizeof(string_fields[0]);
	     i++) {
		struct client_request r = valid_request(string_fields[i].op);
		struct client_str *s =
			(struct client_str *)((char *)&r +
					      string_fields[i].off);
		size_t max = string_fields[i].max;
		char *buf = over_buffer(max);

		*s = (struct client_str){ buf, max };
		expect_request_ok(&c, &r);
		*s = (struct client_str){ buf, max + 1 };
		snprintf(want, sizeof(want), "%s longer than %zu bytes",
			 string_fields[i].label, max);
		expect_request_refused(&c, &r, want);
		*s = S("");
		snprintf(want, sizeof(want), "%s is empty",
			 string_fields[i].label);
		if (string_fields[i].mandatory)
			expect_request_refused(&c, &r, want);
		else
			expect_request_ok(&c, &r);
	}
	ctx_free(&c);
}
END_TEST

/* A length prefix claiming far more than the frame holds: refused as a
 * limit (over the maximum) or as a truncation (within it). */
START_TEST(test_request_lengths_past_the_frame)
{
	static const uint32_t lens[] = { 5,          100,
					 SM_KEY_MAX, SM_KEY_MAX + 1,
					 0x7fffffff, UINT32_MAX };
	struct ctx c;
	unsigned char p[8];

	ctx_init(&c);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		wire_store_u32(p, lens[i]);
		memcpy(p + 4, "abc", 4);
		int rc = decode_payload(&c, REQUEST, CLIENT_OP_DELETE, 1, 0,
					false, p, sizeof(p));
		expect_error(&c, rc, "key");
	}
	ctx_free(&c);
}
END_TEST

START_TEST(test_ttl_range)
{
	static const uint64_t bad[] = { 0, 1, SM_TTL_MIN_MS - 1,
					(uint64_t)SM_TTL_MAX_MS + 1,
					UINT64_MAX };
	struct ctx c;
	struct client_request r = valid_request(CLIENT_OP_LEASE_ACQUIRE);

	ctx_init(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r.ttl_ms = bad[i];
		expect_request_refused(&c, &r, "ttl_ms");
	}
	r.ttl_ms = SM_TTL_MIN_MS - 1;
	expect_request_refused(&c, &r, "ttl_ms 99 outside 100..86400000");
	r.ttl_ms = SM_TTL_MIN_MS;
	expect_request_ok(&c, &r);
	r.ttl_ms = SM_TTL_MAX_MS;
	expect_request_ok(&c, &r);
	ctx_free(&c);
}
END_TEST

/* Fencing tokens and watch ids are never 0. */
START_TEST(test_zero_token_and_watch_id)
{
	struct ctx c;
	struct client_request r;

	ctx_init(&c);
	r = valid_request(CLIENT_OP_LEASE_RENEW);
	r.lease_token = 0;
	expect_request_refused(&c, &r, "fencing token is 0");
	r = valid_request(CLIENT_OP_LEASE_RELEASE);
	r.lease_token = 0;
	expect_request_refused(&c, &r, "fencing token is 0");
	r = valid_request(CLIENT_OP_LEASE_FLOOR);
	r.lease_token = 0;
	expect_request_refused(&c, &r, "floor token is 0");
	r = valid_request(CLIENT_OP_CANCEL);
	r.watch_id = 0;
	expect_request_refused(&c, &r, "watch_request_id is 0");
	ctx_free(&c);
}
END_TEST

START_TEST(test_flags_other_than_0_1)
{
	static const uint8_t bad[] = { 2, 3, 0x80, 0xff };
	static const uint32_t consistency_ops[] = {
		CLIENT_OP_LEASE_GET,
		CLIENT_OP_LEASE_LIST,
		CLIENT_OP_GET,
		CLIENT_OP_LIST,
		CLIENT_OP_LEASE_LIST_PAGE,
		CLIENT_OP_LIST_PAGE,
	};
	struct ctx c;
	struct client_request r;
	char want[64];

	ctx_init(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t k = 0; k < 6; k++) {
			r = valid_request(consistency_ops[k]);
			r.consistency = bad[i];
			snprintf(want, sizeof(want),
				 "consistency must be 0 or 1, not %u", bad[i]);
			expect_request_refused(&c, &r, want);
		}
		r = valid_request(CLIENT_OP_WATCH);
		r.watch_kind = bad[i];
		expect_request_refused(&c, &r, "watch kind must be 0 or 1");
	}
	ctx_free(&c);
}
END_TEST

START_TEST(test_request_id_0)
{
	struct ctx c;

	ctx_init(&c);
	for (uint32_t op = CLIENT_OP_HELLO; op < CLIENT_OP_END; op++) {
		struct client_request r = valid_request(op);
		r.id = 0;
		expect_request_refused(&c, &r, "request id 0");
		ck_assert_uint_eq(c.req.op, op); /* for the EINVAL answer */
		ck_assert_uint_eq(c.req.id, 0);
	}
	ctx_free(&c);
}
END_TEST

static const uint32_t unknown_ops[] = {
	0,
	1,
	CLIENT_OP_HELLO - 1,
	CLIENT_OP_END,
	0x999,
	CLIENT_RESPONSE,
	CLIENT_EVENT,
	0x7fffffff,
	UINT32_MAX,
};
#define N_UNKNOWN_OPS (sizeof(unknown_ops) / sizeof(unknown_ops[0]))

START_TEST(test_unknown_ops)
{
	struct ctx c;
	struct client_request r = { .id = 5 };
	struct client_response resp = { .id = 5 };

	ctx_init(&c);
	for (size_t i = 0; i < N_UNKNOWN_OPS; i++) {
		expect_error(&c,
			     decode_payload(&c, REQUEST, unknown_ops[i], 5, 0,
					    false, NULL, 0),
			     "unknown op");
		ck_assert_uint_eq(c.req.id, 5);
		wire_writer_reset(&c.w);
		r.op = unknown_ops[i];
		ck_assert(!client_encode_request(&c.w, &r));
		resp.op = unknown_ops[i];
		ck_assert(!client_encode_response(&c.w, &resp));
		ck_assert_uint_eq(c.w.len, 0);
		unsigned char ok[9] = { 0 };
		expect_error(&c,
			     decode_payload(&c, RESPONSE, CLIENT_RESPONSE, 5,
					    unknown_ops[i], false, ok, 9),
			     "unknown op");
	}
	ctx_free(&c);
}
END_TEST

/* The server's answer to an op it does not know: an error, which has no
 * body, so it encodes and decodes whatever the op (silence would leave
 * the client waiting until its timeout). */
START_TEST(test_unknown_op_gets_an_error_answer)
{
	struct ctx c;
	const char *msg = "invalid request: unknown op 0x999";

	ctx_init(&c);
	for (size_t i = 0; i < N_UNKNOWN_OPS; i++) {
		struct client_response r = { .id = 7, .op = unknown_ops[i] };
		r.status = CLIENT_EINVAL;
		r.message.p = msg;
		r.message.len = strlen(msg);
		encode_response(&c, &r);
		ck_assert_int_eq(decode_response_encoded(&c, unknown_ops[i]),
				 0);
		ck_assert_uint_eq(c.resp.id, 7);
		ck_assert_int_eq(c.resp.status, CLIENT_EINVAL);
		str_eq(c.resp.message, r.message, "message");
	}
	/* What tenured does with such a frame: the codec's refusal names
	 * the op, for the answer's message. */
	for (size_t i = 0; i < N_UNKNOWN_OPS; i++) {
		char op[16];
		snprintf(op, sizeof(op), "0x%x", (unsigned)unknown_ops[i]);
		expect_error(&c,
			     decode_payload(&c, REQUEST, unknown_ops[i], 9, 0,
					    false, NULL, 0),
			     op);
	}
	ctx_free(&c);
}
END_TEST

/* ---- response refusals --------------------------------------------------- */

static void expect_response_refused(struct ctx *c,
				    const struct client_response *r,
				    const char *needle)
{
	encode_response(c, r);
	expect_error(c, decode_response_encoded(c, r->op), needle);
}

START_TEST(test_response_header_refusals)
{
	struct ctx c;
	struct client_response r = { .op = CLIENT_OP_HELLO, .id = 1 };
	char over[CLIENT_MESSAGE_MAX + 1];

	ctx_init(&c);
	for (int st = 0; st < 256; st++) {
		if (strcmp(client_status_name(st), "unknown status"))
			continue;
		r.status = (uint8_t)st;
		expect_response_refused(&c, &r, "unknown status");
	}
	/* The client library's own status never comes from a server. */
	r.status = CLIENT_ECIRCUIT;
	expect_response_refused(&c, &r, "ECIRCUIT");
	r.status = CLIENT_EINVAL;
	r.message = filled(over, 'm', CLIENT_MESSAGE_MAX + 1);
	expect_response_refused(&c, &r, "message longer than 1024 bytes");
	r.message = S("");
	r.status = CLIENT_ENOTLEADER;
	r.leader_client = filled(over, 'a', CLIENT_ADDR_MAX + 1);
	expect_response_refused(&c, &r, "leader_client longer than 256");
	/* Only a redirect may name the leader. */
	r.leader_client = S("10.0.0.1:7100");
	r.status = CLIENT_OK;
	expect_response_refused(&c, &r,
				"leader_client set on an answer with status "
				"OK");
	r.status = CLIENT_ENOQUORUM;
	expect_response_refused(&c, &r, "leader_client");
	ctx_free(&c);
}
END_TEST

START_TEST(test_wrong_frame_types)
{
	struct ctx c;
	struct client_response r = { .op = CLIENT_OP_HELLO, .id = 1 };
	struct client_event e = { .watch_id = 1, .type = SM_EV_PUT };
	size_t len;

	ctx_init(&c);
	e.kv.key = S("k");
	encode_response(&c, &r);
	const unsigned char *p = enc_payload(&c, &len);
	expect_error(&c,
		     decode_payload(&c, RESPONSE, CLIENT_EVENT, 1,
				    CLIENT_OP_HELLO, false, p, len),
		     "not a response");
	expect_error(&c,
		     decode_payload(&c, RESPONSE, CLIENT_OP_HELLO, 1,
				    CLIENT_OP_HELLO, false, p, len),
		     "not a response");
	encode_event(&c, &e, false);
	p = enc_payload(&c, &len);
	expect_error(&c,
		     decode_payload(&c, EVENT, CLIENT_RESPONSE, 1, 0, false, p,
				    len),
		     "not an event");
	ctx_free(&c);
}
END_TEST

START_TEST(test_response_body_refusals)
{
	struct ctx c;
	struct client_response r;
	struct client_lease leases[2];
	struct client_kv kv;
	struct client_member members[2];
	char over[SM_VALUE_MAX + 1];

	ctx_init(&c);
	fill_elements();
	/* A present lease needs a name; an absent one may be empty. */
	r = (struct client_response){ .op = CLIENT_OP_LEASE_GET, .id = 1 };
	r.present = true;
	expect_response_refused(&c, &r, "lease: name is empty");
	r.lease = sample_leases[0];
	r.lease.holder = filled(over, 'h', SM_HOLDER_MAX + 1);
	expect_response_refused(&c, &r, "lease: holder longer than 256 bytes");
	r.lease = sample_leases[0];
	r.lease.name = filled(over, 'n', SM_KEY_MAX + 1);
	expect_response_refused(&c, &r, "lease: name longer than 512 bytes");

	r = (struct client_response){ .op = CLIENT_OP_GET, .id = 1 };
	r.status = CLIENT_NOT_FOUND;
	r.present = true;
	expect_response_refused(&c, &r, "kv: key is empty");
	r.kv = sample_kvs[0];
	r.kv.value = filled(over, 'v', SM_VALUE_MAX + 1);
	expect_response_refused(&c, &r, "kv: value longer than 65536 bytes");
	r.kv = sample_kvs[0];
	r.kv.lease = filled(over, 'l', SM_KEY_MAX + 1);
	expect_response_refused(&c, &r, "kv: lease longer than 512 bytes");

	/* Listed leases and kvs always have names, named by index. */
	leases[0] = sample_leases[0];
	leases[1] = sample_leases[1];
	leases[1].name = S("");
	r = (struct client_response){ .op = CLIENT_OP_LEASE_LIST, .id = 1 };
	r.leases = leases;
	r.n = 2;
	expect_response_refused(&c, &r, "leases[1]: name is empty");
	kv = sample_kvs[2];
	kv.key = S("");
	r = (struct client_response){ .op = CLIENT_OP_LIST, .id = 1 };
	r.kvs = &kv;
	r.n = 1;
	expect_response_refused(&c, &r, "kvs[0]: key is empty");

	members[0] = sample_members[0];
	members[1] = sample_members[1];
	r = (struct client_response){ .op = CLIENT_OP_MEMBER_LIST, .id = 1 };
	r.members = members;
	r.n = 2;
	members[1].id = 0;
	expect_response_refused(&c, &r, "members[1]: id is 0");
	members[1] = sample_members[1];
	members[1].voter = 2;
	expect_response_refused(&c, &r, "members[1]: voter must be 0 or 1");
	members[1] = sample_members[1];
	members[1].connected = 0xff;
	expect_response_refused(&c, &r, "members[1]: connected must be 0 or 1");
	members[1] = sample_members[1];
	members[1].http_addr = filled(over, 'a', CLIENT_ADDR_MAX + 1);
	expect_response_refused(&c, &r, "members[1]: http_addr longer than");

	r = (struct client_response){ .op = CLIENT_OP_STATUS, .id = 1 };
	r.status_body.role = filled(over, 'r', CLIENT_NAME_MAX + 1);
	expect_response_refused(&c, &r, "status: role longer than 256 bytes");
	ctx_free(&c);
}
END_TEST

/* Paged lists: the request's layout (start_after and limit after the
 * fields of LIST), "more" as the last byte of the answer, a u8 boolean
 * like every other; and the paged and unpaged bodies never decode as
 * each other (a client and a server that disagree fail loudly). */
START_TEST(test_list_page)
{
	struct ctx c;
	size_t len;
	const unsigned char *p;

	ctx_init(&c);
	fill_elements();
	struct client_request q = { .op = CLIENT_OP_LIST_PAGE,
				    .id = 9,
				    .prefix = S("/a/"),
				    .consistency = 1,
				    .start_after = S("/a/x"),
				    .limit = 500 };
	encode_request(&c, &q);
	p = enc_payload(&c, &len);
	ck_assert_uint_eq(len, 4 + 3 + 1 + 4 + 4 + 8);
	ck_assert_uint_eq(wire_load_u32(p), 3);
	ck_assert_uint_eq(p[7], 1);
	ck_assert_uint_eq(wire_load_u32(p + 8), 4);
	ck_assert(!memcmp(p + 12, "/a/x", 4));
	ck_assert_uint_eq(wire_load_u64(p + 16), 500);
	ck_assert_int_eq(decode_request_encoded(&c), 0);
	request_eq(&q, &c.req);

	struct client_response r = { .op = CLIENT_OP_LIST_PAGE,
				     .id = 9,
				     .kvs = sample_kvs,
				     .n = 2,
				     .revision = 77,
				     .more = true };
	encode_response(&c, &r);
	p = enc_payload(&c, &len);
	ck_assert_uint_eq(p[len - 1], 1); /* more, after the revision */
	ck_assert_uint_eq(wire_load_u64(p + len - 9), 77);
	ck_assert_int_eq(decode_response_encoded(&c, CLIENT_OP_LIST_PAGE), 0);
	response_eq(&r, &c.resp);
	ck_assert(c.resp.more);
	/* The same answer read as an unpaged LIST has a byte too many. */
	expect_error(&c, decode_response_encoded(&c, CLIENT_OP_LIST),
		     "trailing bytes");
	/* "more" other than 0 or 1. */
	unsigned char bad[1024];
	ck_assert_uint_lt(len, sizeof(bad));
	memcpy(bad, p, len);
	bad[len - 1] = 2;
	expect_error(&c,
		     decode_payload(&c, RESPONSE, CLIENT_RESPONSE, 9,
				    CLIENT_OP_LIST_PAGE, false, bad, len),
		     "more must be 0 or 1");
	/* An unpaged answer read as a page lacks "more". */
	r.op = CLIENT_OP_LIST;
	encode_response(&c, &r);
	expect_error(&c, decode_response_encoded(&c, CLIENT_OP_LIST_PAGE),
		     "truncated at more");

	r = (struct client_response){ .op = CLIENT_OP_LEASE_LIST_PAGE,
				      .id = 3,
				      .leases = sample_leases,
				      .n = 9 };
	encode_response(&c, &r);
	p = enc_payload(&c, &len);
	ck_assert_uint_eq(p[len - 1], 0);
	ck_assert_int_eq(decode_response_encoded(&c, CLIENT_OP_LEASE_LIST_PAGE),
			 0);
	response_eq(&r, &c.resp);
	ck_assert(!c.resp.more);
	expect_error(&c, decode_response_encoded(&c, CLIENT_OP_LEASE_LIST),
		     "trailing bytes");
	ctx_free(&c);
}
END_TEST

/* "present" is a u8 boolean like every other. */
START_TEST(test_present_other_than_0_1)
{
	struct ctx c;
	struct client_response r = { .op = CLIENT_OP_GET, .id = 1 };
	size_t len;

	ctx_init(&c);
	encode_response(&c, &r);
	const unsigned char *p = enc_payload(&c, &len);
	unsigned char *copy = malloc(len);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, len);
	for (unsigned v = 2; v < 256; v += 37) {
		copy[9] = (unsigned char)v; /* status, two empty strings */
		expect_error(&c,
			     decode_payload(&c, RESPONSE, CLIENT_RESPONSE, 1,
					    CLIENT_OP_GET, false, copy, len),
			     "present must be 0 or 1");
	}
	free(copy);
	ctx_free(&c);
}
END_TEST

/* A count the remaining bytes cannot hold is refused before anything is
 * allocated, however large. */
START_TEST(test_huge_counts_do_not_allocate)
{
	static const uint32_t list_ops[] = {
		CLIENT_OP_LEASE_LIST,
		CLIENT_OP_LIST,
		CLIENT_OP_MEMBER_LIST,
	};
	static const uint32_t counts[] = { 2, 1000, 0x10000000, UINT32_MAX };
	static const char *const labels[] = { "leases", "kvs", "members" };
	struct ctx c;
	unsigned char p[9 + 4 + 44];

	ctx_init(&c);
	memset(p, 0, sizeof(p));
	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]);
		     i++) {
			/* OK, no message, no leader, count, then 44 bytes:
			 * room for one element (and a revision), not two. */
			wire_store_u32(p + 9, counts[i]);
			int rc = decode_payload(&c, RESPONSE, CLIENT_RESPONSE,
						1, list_ops[k], false, p,
						sizeof(p));
			expect_error(&c, rc, labels[k]);
			expect_error(&c, rc, "count");
			ck_assert_ptr_null(c.s.buf);
			ck_assert_uint_eq(c.s.cap, 0);
		}
	}
	ctx_free(&c);
}
END_TEST

/* ---- event refusals ------------------------------------------------------ */

START_TEST(test_event_refusals)
{
	struct ctx c;
	struct client_event e = { .watch_id = 3, .revision = 1 };

	ctx_init(&c);
	fill_elements();
	e.lease = sample_leases[0];
	e.kv = sample_kvs[0];
	for (unsigned t = 0; t < 256; t++) {
		bool lease_type = t >= SM_EV_GRANT && t <= SM_EV_EXPIRE;
		bool kv_type = t == SM_EV_PUT || t == SM_EV_DELETE;
		e.type = (uint8_t)t;
		encode_event(&c, &e, true);
		if (lease_type)
			ck_assert_int_eq(decode_event_encoded(&c, true), 0);
		else
			expect_error(&c, decode_event_encoded(&c, true),
				     "is not a lease event");
		encode_event(&c, &e, false);
		if (kv_type)
			ck_assert_int_eq(decode_event_encoded(&c, false), 0);
		else
			expect_error(&c, decode_event_encoded(&c, false),
				     "is not a key event");
	}
	e.type = SM_EV_GRANT;
	e.watch_id = 0;
	encode_event(&c, &e, true);
	expect_error(&c, decode_event_encoded(&c, true), "watch id 0");
	e.watch_id = 3;
	e.lease.name = S("");
	encode_event(&c, &e, true);
	expect_error(&c, decode_event_encoded(&c, true),
		     "lease: name is empty");
	e.type = SM_EV_DELETE;
	e.kv.key = S("");
	encode_event(&c, &e, false);
	expect_error(&c, decode_event_encoded(&c, false), "kv: key is empty");
	ctx_free(&c);
}
END_TEST

/* Random corruption of valid payloads never crashes or reads out of bounds
 * (the sanitizer build watches) and never leaves a reason empty. */
START_TEST(test_random_corruption)
{
	static struct client_response samples[MAX_SAMPLES];
	struct ctx c;
	size_t n = response_samples(samples);
	uint32_t x = 12345;
	unsigned char *copy;
	size_t len;

	ctx_init(&c);
	for (size_t i = 0; i < n; i++) {
		encode_response(&c, &samples[i]);
		const unsigned char *p = enc_payload(&c, &len);
		copy = malloc(len);
		ck_assert_ptr_nonnull(copy);
		for (int round = 0; round < 40; round++) {
			memcpy(copy, p, len);
			x = x * 1103515245u + 12345u;
			size_t at = (x >> 8) % len;
			copy[at] ^= (unsigned char)(1u << (x % 8));
			int rc = decode_payload(&c, RESPONSE, CLIENT_RESPONSE,
						1, samples[i].op, false, copy,
						len);
			if (rc != 0)
				expect_error(&c, rc, NULL);
			rc = decode_payload(&c, REQUEST, samples[i].op, 1, 0,
					    false, copy, len);
			if (rc != 0)
				expect_error(&c, rc, NULL);
		}
		free(copy);
	}
	ctx_free(&c);
}
END_TEST

/* The reason of a failure does not survive the next success. */
START_TEST(test_error_cleared_after_success)
{
	struct ctx c;
	struct client_request r = valid_request(CLIENT_OP_GET);

	ctx_init(&c);
	r.key = S("");
	expect_request_refused(&c, &r, "key is empty");
	r.key = S("k");
	expect_request_ok(&c, &r);
	ck_assert_str_eq(c.s.error, "");
	ctx_free(&c);
}
END_TEST

/* ---- tables -------------------------------------------------------------- */

START_TEST(test_idempotent_ops)
{
	static const uint32_t yes[] = {
		CLIENT_OP_LEASE_ACQUIRE, CLIENT_OP_LEASE_RENEW,
		CLIENT_OP_LEASE_GET,     CLIENT_OP_LEASE_LIST,
		CLIENT_OP_PUT,           CLIENT_OP_GET,
		CLIENT_OP_LIST,          CLIENT_OP_STATUS,
		CLIENT_OP_MEMBER_LIST,   CLIENT_OP_LEASE_LIST_PAGE,
		CLIENT_OP_LIST_PAGE,     CLIENT_OP_HEALTH,
		CLIENT_OP_LEASE_FLOOR,   CLIENT_OP_SCOPES,
		CLIENT_OP_VERSION,       CLIENT_OP_SUCCESSOR,
	};
	static const uint32_t no[] = {
		CLIENT_OP_LEASE_RELEASE, CLIENT_OP_DELETE,
		CLIENT_OP_CAS,           CLIENT_OP_WATCH,
		CLIENT_OP_CANCEL,        CLIENT_OP_MEMBER_ADD,
		CLIENT_OP_MEMBER_REMOVE, CLIENT_OP_TRANSFER,
		CLIENT_OP_HELLO,         CLIENT_OP_AUTH_PROOF,
	};

	ck_assert_uint_eq(sizeof(yes) / sizeof(yes[0]) +
				  sizeof(no) / sizeof(no[0]),
			  N_OPS);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(client_op_idempotent(yes[i]), "%s",
			      client_op_name(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!client_op_idempotent(no[i]), "%s",
			      client_op_name(no[i]));
	for (size_t i = 0; i < N_UNKNOWN_OPS; i++)
		ck_assert(!client_op_idempotent(unknown_ops[i]));
}
END_TEST

/* Every op, on one side or the other: what the leader appends to its
 * log (tenurectl's "outcome unknown", the client's successor question). */
START_TEST(test_op_writes_log)
{
	static const uint32_t yes[] = {
		CLIENT_OP_LEASE_ACQUIRE, CLIENT_OP_LEASE_RENEW,
		CLIENT_OP_LEASE_RELEASE, CLIENT_OP_PUT,
		CLIENT_OP_DELETE,        CLIENT_OP_CAS,
		CLIENT_OP_LEASE_FLOOR,   CLIENT_OP_MEMBER_ADD,
		CLIENT_OP_MEMBER_REMOVE,
	};
	size_t n_yes = sizeof(yes) / sizeof(yes[0]), seen = 0;
	for (size_t i = 0; i < n_yes; i++)
		ck_assert_msg(client_op_writes_log(yes[i]), "%s",
			      client_op_name(yes[i]));
	for (uint32_t op = CLIENT_OP_HELLO; op < CLIENT_OP_END; op++) {
		bool listed = false;
		for (size_t i = 0; i < n_yes; i++)
			listed |= yes[i] == op;
		seen += client_op_writes_log(op);
		ck_assert_msg(client_op_writes_log(op) == listed, "%s",
			      client_op_name(op));
	}
	ck_assert_uint_eq(seen, n_yes);
	for (size_t i = 0; i < N_UNKNOWN_OPS; i++)
		ck_assert(!client_op_writes_log(unknown_ops[i]));
}
END_TEST

START_TEST(test_op_names)
{
	static const char *const want[N_OPS] = {
		"HELLO",
		"LEASE_ACQUIRE",
		"LEASE_RENEW",
		"LEASE_RELEASE",
		"LEASE_GET",
		"LEASE_LIST",
		"PUT",
		"GET",
		"DELETE",
		"LIST",
		"CAS",
		"WATCH",
		"CANCEL",
		"STATUS",
		"MEMBER_LIST",
		"MEMBER_ADD",
		"MEMBER_REMOVE",
		"TRANSFER",
		"LEASE_LIST_PAGE",
		"LIST_PAGE",
		"AUTH_PROOF",
		"HEALTH",
		"LEASE_FLOOR",
		"SCOPES",
		"VERSION",
		"SUCCESSOR",
	};

	for (unsigned k = 0; k < N_OPS; k++)
		ck_assert_str_eq(client_op_name(CLIENT_OP_HELLO + k), want[k]);
	ck_assert_str_eq(client_op_name(CLIENT_RESPONSE), "RESPONSE");
	ck_assert_str_eq(client_op_name(CLIENT_EVENT), "EVENT");
	ck_assert_str_eq(client_op_name(0), "unknown op");
	ck_assert_str_eq(client_op_name(CLIENT_OP_END), "unknown op");
	ck_assert_str_eq(client_op_name(UINT32_MAX), "unknown op");
}
END_TEST

START_TEST(test_status_names)
{
	static const struct {
		int status;
		const char *name;
		bool no;
	} want[] = {
		{ CLIENT_OK, "OK", false },
		{ CLIENT_HELD, "HELD", true },
		{ CLIENT_NOT_HOLDER, "NOT_HOLDER", true },
		{ CLIENT_NOT_FOUND, "NOT_FOUND", true },
		{ CLIENT_COMPARE_FAILED, "COMPARE_FAILED", true },
		{ CLIENT_NO_LEASE, "NO_LEASE", true },
		{ CLIENT_ENOTLEADER, "ENOTLEADER", false },
		{ CLIENT_ENOQUORUM, "ENOQUORUM", false },
		{ CLIENT_ETIMEOUT, "ETIMEOUT", false },
		{ CLIENT_EINVAL, "EINVAL", false },
		{ CLIENT_EUNAUTHORIZED, "EUNAUTHORIZED", false },
		{ CLIENT_EBUSY, "EBUSY", false },
		{ CLIENT_ESHUTDOWN, "ESHUTDOWN", false },
		{ CLIENT_EINTERNAL, "EINTERNAL", false },
		{ CLIENT_EUNKNOWN, "EUNKNOWN", false },
		{ CLIENT_ECIRCUIT, "ECIRCUIT", false },
		{ CLIENT_EQUOTA, "EQUOTA", false },
	};
	static const int unknown[] = { -1, 6, 15, 27, 255, 256, 100000 };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_str_eq(client_status_name(want[i].status),
				 want[i].name);
		ck_assert_int_eq(client_status_is_no(want[i].status),
				 want[i].no);
	}
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		ck_assert_str_eq(client_status_name(unknown[i]),
				 "unknown status");
		ck_assert(!client_status_is_no(unknown[i]));
	}
}
END_TEST

Suite *client_proto_suite(void)
{
	Suite *s = suite_create("client_proto");
	TCase *rt = tcase_create("round trip");
	TCase *bad = tcase_create("refusals");
	TCase *tables = tcase_create("tables");

	tcase_add_test(rt, test_request_round_trip_every_op);
	tcase_add_test(rt, test_response_round_trip_every_op);
	tcase_add_test(rt, test_every_status_round_trips);
	tcase_add_test(rt, test_event_round_trip);
	tcase_add_test(rt, test_strings_point_into_frame);
	tcase_add_test(rt, test_request_layout);
	tcase_add_test(rt, test_put_layout_with_lease_token);
	tcase_add_test(rt, test_response_and_event_layout);
	tcase_add_test(rt, test_scratch_grows_and_is_reused);
	tcase_add_test(rt, test_list_page);
	tcase_set_timeout(rt, 60);
	suite_add_tcase(s, rt);

	tcase_add_test(bad, test_every_request_truncation);
	tcase_add_test(bad, test_every_response_truncation);
	tcase_add_test(bad, test_every_event_truncation);
	tcase_add_test(bad, test_trailing_bytes);
	tcase_add_test(bad, test_request_string_limits);
	tcase_add_test(bad, test_request_lengths_past_the_frame);
	tcase_add_test(bad, test_ttl_range);
	tcase_add_test(bad, test_zero_token_and_watch_id);
	tcase_add_test(bad, test_flags_other_than_0_1);
	tcase_add_test(bad, test_request_id_0);
	tcase_add_test(bad, test_unknown_ops);
	tcase_add_test(bad, test_unknown_op_gets_an_error_answer);
	tcase_add_test(bad, test_response_header_refusals);
	tcase_add_test(bad, test_wrong_frame_types);
	tcase_add_test(bad, test_response_body_refusals);
	tcase_add_test(bad, test_present_other_than_0_1);
	tcase_add_test(bad, test_huge_counts_do_not_allocate);
	tcase_add_test(bad, test_event_refusals);
	tcase_add_test(bad, test_random_corruption);
	tcase_add_test(bad, test_error_cleared_after_success);
	tcase_set_timeout(bad, 120);
	suite_add_tcase(s, bad);

	tcase_add_test(tables, test_idempotent_ops);
	tcase_add_test(tables, test_op_names);
	tcase_add_test(tables, test_op_writes_log);
	tcase_add_test(tables, test_status_names);
	suite_add_tcase(s, tables);
	return s;
}
