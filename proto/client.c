/*
 * client.c — see client.h.
 *
 * Every body is a list of fields described by a table (kind, offset in the
 * struct, label, limits).  The same table drives encoding and decoding, so
 * the two cannot drift apart, and every field gets the same checks with an
 * error naming it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/client.h"
#include "proto/limits.h"

/* ---- field tables -------------------------------------------------------- */

enum field_kind {
	FIELD_STR, /* struct client_str: max is a length, required = non-empty */
	FIELD_U64, /* uint64_t in [min, max] */
	FIELD_U8,  /* uint8_t in [min, max] (flags and enums: 0..1) */
};

struct field {
	enum field_kind kind;
	bool required;
	size_t off;
	const char *label;
	uint64_t min, max;
};

#define STR(type, member, label, max, required)                            \
	{                                                                  \
		FIELD_STR, required, offsetof(type, member), label, 0, max \
	}
#define U64(type, member, label, min, max)                                \
	{                                                                 \
		FIELD_U64, false, offsetof(type, member), label, min, max \
	}
#define U8(type, member, label)                                      \
	{                                                            \
		FIELD_U8, false, offsetof(type, member), label, 0, 1 \
	}
#define ANY_U64(type, member, label) U64(type, member, label, 0, UINT64_MAX)
#define NONZERO_U64(type, member, label) U64(type, member, label, 1, UINT64_MAX)
#define FIELDS(a) a, sizeof(a) / sizeof((a)[0])

#define REQ struct client_request
static const struct field req_hello[] = {
	STR(REQ, user, "user", CLIENT_NAME_MAX, false),
	STR(REQ, nonce, "nonce", CLIENT_TOKEN_MAX, false),
	STR(REQ, client_name, "client_name", CLIENT_NAME_MAX, false),
};
static const struct field req_auth_proof[] = {
	STR(REQ, proof, "proof", CLIENT_TOKEN_MAX, true),
};
static const struct field req_acquire[] = {
	STR(REQ, name, "lease name", SM_KEY_MAX, true),
	STR(REQ, holder, "holder", SM_HOLDER_MAX, true),
	U64(REQ, ttl_ms, "ttl_ms", SM_TTL_MIN_MS, SM_TTL_MAX_MS),
};
/* Renew and release: tokens are Raft indexes of grants, never 0. */
static const struct field req_holder_token[] = {
	STR(REQ, name, "lease name", SM_KEY_MAX, true),
	STR(REQ, holder, "holder", SM_HOLDER_MAX, true),
	NONZERO_U64(REQ, lease_token, "fencing token"),
};
static const struct field req_lease_get[] = {
	STR(REQ, name, "lease name", SM_KEY_MAX, true),
	U8(REQ, consistency, "consistency"),
};
static const struct field req_consistency[] = {
	U8(REQ, consistency, "consistency"),
};
/* A key attached to a lease carries the token of the grant it means
 * (sm.h); whether lease and token come together is the state machine's
 * rule, checked by the service before anything is proposed. */
static const struct field req_put[] = {
	STR(REQ, key, "key", SM_KEY_MAX, true),
	STR(REQ, value, "value", SM_VALUE_MAX, false),
	STR(REQ, lease, "lease", SM_KEY_MAX, false),
	ANY_U64(REQ, lease_token, "lease_token"),
};
static const struct field req_get[] = {
	STR(REQ, key, "key", SM_KEY_MAX, true),
	U8(REQ, consistency, "consistency"),
};
static const struct field req_delete[] = {
	STR(REQ, key, "key", SM_KEY_MAX, true),
};
static const struct field req_list[] = {
	STR(REQ, prefix, "prefix", SM_KEY_MAX, false),
	U8(REQ, consistency, "consistency"),
};
static const struct field req_lease_list_page[] = {
	U8(REQ, consistency, "consistency"),
	STR(REQ, start_after, "start_after", SM_KEY_MAX, false),
	ANY_U64(REQ, limit, "limit"),
};
static const struct field req_list_page[] = {
	STR(REQ, prefix, "prefix", SM_KEY_MAX, false),
	U8(REQ, consistency, "consistency"),
	STR(REQ, start_after, "start_after", SM_KEY_MAX, false),
	ANY_U64(REQ, limit, "limit"),
};
static const struct field req_cas[] = {
	STR(REQ, key, "key", SM_KEY_MAX, true),
	ANY_U64(REQ, expected_revision, "expected_revision"),
	STR(REQ, value, "value", SM_VALUE_MAX, false),
	STR(REQ, lease, "lease", SM_KEY_MAX, false),
	ANY_U64(REQ, lease_token, "lease_token"),
};
static const struct field req_watch[] = {
	U8(REQ, watch_kind, "watch kind"),
	STR(REQ, prefix, "prefix", SM_KEY_MAX, false),
};
/* Request ids are never 0, so neither is the id of a watch. */
static const struct field req_cancel[] = {
	NONZERO_U64(REQ, watch_id, "watch_request_id"),
};
static const struct field req_member_add[] = {
	STR(REQ, name, "member name", CLIENT_NAME_MAX, true),
	STR(REQ, peer_addr, "peer_addr", CLIENT_ADDR_MAX, true),
};
static const struct field req_member_remove[] = {
	STR(REQ, name, "member name", CLIENT_NAME_MAX, true),
};
/* The floor is a token from another trio: never 0, as no grant's is. */
static const struct field req_lease_floor[] = {
	STR(REQ, name, "lease name", SM_KEY_MAX, true),
	NONZERO_U64(REQ, lease_token, "floor token"),
};
static const struct field req_transfer[] = {
	STR(REQ, to_name, "to_name", CLIENT_NAME_MAX, false),
};
#undef REQ

/* Lease, kv, member and status layouts.  A name or key is mandatory only
 * when the thing is present (see decode_lease/decode_kv). */
static const struct field lease_fields[] = {
	STR(struct client_lease, name, "name", SM_KEY_MAX, true),
	STR(struct client_lease, holder, "holder", SM_HOLDER_MAX, false),
	ANY_U64(struct client_lease, token, "token"),
	ANY_U64(struct client_lease, ttl_ms, "ttl_ms"),
	ANY_U64(struct client_lease, remaining_ms, "remaining_ms"),
};
static const struct field kv_fields[] = {
	STR(struct client_kv, key, "key", SM_KEY_MAX, true),
	STR(struct client_kv, value, "value", SM_VALUE_MAX, false),
	STR(struct client_kv, lease, "lease", SM_KEY_MAX, false),
	ANY_U64(struct client_kv, create_revision, "create_revision"),
	ANY_U64(struct client_kv, mod_revision, "mod_revision"),
};
#define MEM struct client_member
static const struct field member_fields[] = {
	STR(MEM, name, "name", CLIENT_NAME_MAX, false),
	STR(MEM, peer_addr, "peer_addr", CLIENT_ADDR_MAX, false),
	STR(MEM, client_addr, "client_addr", CLIENT_ADDR_MAX, false),
	STR(MEM, http_addr, "http_addr", CLIENT_ADDR_MAX, false),
	NONZERO_U64(MEM, id, "id"), /* Raft node ids are never 0 */
	U8(MEM, voter, "voter"),
	U8(MEM, connected, "connected"),
	ANY_U64(MEM, match, "match"),
};
#undef MEM
#define SC struct client_scope
static const struct field scope_fields[] = {
	STR(SC, name, "name", SM_KEY_MAX, true),
	ANY_U64(SC, keys, "keys"),
	ANY_U64(SC, bytes, "bytes"),
	ANY_U64(SC, leases, "leases"),
	ANY_U64(SC, requests, "requests"),
	ANY_U64(SC, last_second, "last_second"),
	ANY_U64(SC, refused, "refused"),
};
#undef SC
#define SB struct client_scopes_body
static const struct field scopes_limit_fields[] = {
	ANY_U64(SB, max_keys, "max_keys"),
	ANY_U64(SB, max_bytes, "max_bytes"),
	ANY_U64(SB, max_leases, "max_leases"),
	ANY_U64(SB, max_requests_per_second, "max_requests_per_second"),
};
#undef SB
#define ST struct client_status_body
static const struct field status_fields[] = {
	STR(ST, name, "name", CLIENT_NAME_MAX, false),
	STR(ST, role, "role", CLIENT_NAME_MAX, false),
	STR(ST, leader, "leader", CLIENT_NAME_MAX, false),
	ANY_U64(ST, id, "id"),
	ANY_U64(ST, term, "term"),
	ANY_U64(ST, commit, "commit"),
	ANY_U64(ST, applied, "applied"),
	ANY_U64(ST, last_index, "last_index"),
	ANY_U64(ST, revision, "revision"),
	ANY_U64(ST, leases, "leases"),
	ANY_U64(ST, keys, "keys"),
};
#undef ST
#define AU struct client_auth_body
static const struct field challenge_fields[] = {
	STR(AU, nonce, "nonce", CLIENT_TOKEN_MAX, false),
	STR(AU, salt, "salt", CLIENT_TOKEN_MAX, false),
	ANY_U64(AU, iterations, "iterations"),
};
static const struct field auth_done_fields[] = {
	STR(AU, signature, "signature", CLIENT_TOKEN_MAX, false),
	STR(AU, role, "role", CLIENT_NAME_MAX, false),
};
#undef AU
static const struct field version_fields[] = {
	STR(struct client_version_body, version, "version", CLIENT_NAME_MAX,
	    false),
	ANY_U64(struct client_version_body, commands, "commands"),
};
static const struct field successor_fields[] = {
	STR(struct client_successor_body, client_addr, "client_addr",
	    CLIENT_ADDR_MAX, false),
};
static const struct field health_fields[] = {
	U8(struct client_health_body, healthy, "healthy"),
	STR(struct client_health_body, reason, "reason", CLIENT_MESSAGE_MAX,
	    false),
	ANY_U64(struct client_health_body, disk_write_errors,
		"disk_write_errors"),
};

/* Smallest encodings, to bound a count by the bytes that remain. */
#define LEASE_MIN_BYTES (4 + 4 + 8 + 8 + 8)
#define KV_MIN_BYTES (4 + 4 + 4 + 8 + 8)
#define MEMBER_MIN_BYTES (4 * 4 + 8 + 1 + 1 + 8)
#define SCOPE_MIN_BYTES (4 + 6 * 8)

/* ---- ops ----------------------------------------------------------------- */

enum body_kind {
	BODY_NONE,
	BODY_LEASE,
	BODY_LEASES,
	BODY_KV,
	BODY_KVS,
	BODY_LEASES_PAGE, /* BODY_LEASES, u8 more */
	BODY_KVS_PAGE,    /* BODY_KVS, u8 more */
	BODY_STATUS,
	BODY_MEMBERS,
	BODY_CHALLENGE, /* HELLO */
	BODY_AUTH_DONE, /* AUTH_PROOF */
	BODY_HEALTH,
	BODY_SCOPES,
	BODY_VERSION,
	BODY_SUCCESSOR,
};

struct op_info {
	const char *name;
	/* May the client library resend it after a lost answer?  Only when a
	 * second execution answers the same as the first would have. */
	bool idempotent;
	const struct field *fields;
	size_t n_fields;
	enum body_kind body;
};

#define N_OPS (CLIENT_OP_END - CLIENT_OP_HELLO)

static const struct op_info ops[N_OPS] = {
	/* Authentication belongs to one connection: never resent. */
	[CLIENT_OP_HELLO - CLIENT_OP_HELLO] = { "HELLO", false,
						FIELDS(req_hello),
						BODY_CHALLENGE },
	/* The current holder re-acquiring keeps its token (sm.h): the retry
	 * answers the same grant, at most with a fresh countdown. */
	[CLIENT_OP_LEASE_ACQUIRE - CLIENT_OP_HELLO] = { "LEASE_ACQUIRE", true,
							FIELDS(req_acquire),
							BODY_LEASE },
	/* A second renewal with the same token is just another renewal. */
	[CLIENT_OP_LEASE_RENEW - CLIENT_OP_HELLO] = { "LEASE_RENEW", true,
						      FIELDS(req_holder_token),
						      BODY_LEASE },
	/* Once released, a retry answers NOT_HOLDER: the caller could not
	 * tell a lost success from a real refusal. */
	[CLIENT_OP_LEASE_RELEASE -
		CLIENT_OP_HELLO] = { "LEASE_RELEASE", false,
				     FIELDS(req_holder_token), BODY_LEASE },
	[CLIENT_OP_LEASE_GET - CLIENT_OP_HELLO] = { "LEASE_GET", true,
						    FIELDS(req_lease_get),
						    BODY_LEASE },
	[CLIENT_OP_LEASE_LIST - CLIENT_OP_HELLO] = { "LEASE_LIST", true,
						     FIELDS(req_consistency),
						     BODY_LEASES },
	/* Writing the same value twice leaves the same value. */
	[CLIENT_OP_PUT -
		CLIENT_OP_HELLO] = { "PUT", true, FIELDS(req_put), BODY_KV },
	[CLIENT_OP_GET -
		CLIENT_OP_HELLO] = { "GET", true, FIELDS(req_get), BODY_KV },
	/* A retried delete of a deleted key answers NOT_FOUND. */
	[CLIENT_OP_DELETE - CLIENT_OP_HELLO] = { "DELETE", false,
						 FIELDS(req_delete), BODY_KV },
	[CLIENT_OP_LIST -
		CLIENT_OP_HELLO] = { "LIST", true, FIELDS(req_list), BODY_KVS },
	/* The first CAS moved the mod revision: the retry fails the compare. */
	[CLIENT_OP_CAS -
		CLIENT_OP_HELLO] = { "CAS", false, FIELDS(req_cas), BODY_KV },
	/* A resent watch would open a second stream of the same events. */
	[CLIENT_OP_WATCH - CLIENT_OP_HELLO] = { "WATCH", false,
						FIELDS(req_watch), BODY_NONE },
	/* A retried cancel finds no watch left to cancel. */
	[CLIENT_OP_CANCEL - CLIENT_OP_HELLO] = { "CANCEL", false,
						 FIELDS(req_cancel),
						 BODY_NONE },
	[CLIENT_OP_STATUS -
		CLIENT_OP_HELLO] = { "STATUS", true, NULL, 0, BODY_STATUS },
	[CLIENT_OP_MEMBER_LIST - CLIENT_OP_HELLO] = { "MEMBER_LIST", true, NULL,
						      0, BODY_MEMBERS },
	/* Configuration changes: a retry is refused (already a member, not a
	 * member) or, after a remove in between, undoes an operator's
	 * decision. */
	[CLIENT_OP_MEMBER_ADD - CLIENT_OP_HELLO] = { "MEMBER_ADD", false,
						     FIELDS(req_member_add),
						     BODY_NONE },
	[CLIENT_OP_MEMBER_REMOVE -
		CLIENT_OP_HELLO] = { "MEMBER_REMOVE", false,
				     FIELDS(req_member_remove), BODY_NONE },
	/* A retry would move leadership again, away from the node the first
	 * transfer just elected. */
	[CLIENT_OP_TRANSFER - CLIENT_OP_HELLO] = { "TRANSFER", false,
						   FIELDS(req_transfer),
						   BODY_NONE },
	[CLIENT_OP_LEASE_LIST_PAGE -
		CLIENT_OP_HELLO] = { "LEASE_LIST_PAGE", true,
				     FIELDS(req_lease_list_page),
				     BODY_LEASES_PAGE },
	[CLIENT_OP_LIST_PAGE - CLIENT_OP_HELLO] = { "LIST_PAGE", true,
						    FIELDS(req_list_page),
						    BODY_KVS_PAGE },
	[CLIENT_OP_AUTH_PROOF - CLIENT_OP_HELLO] = { "AUTH_PROOF", false,
						     FIELDS(req_auth_proof),
						     BODY_AUTH_DONE },
	[CLIENT_OP_HEALTH -
		CLIENT_OP_HELLO] = { "HEALTH", true, NULL, 0, BODY_HEALTH },
	/* A second floor of the same token leaves the same free lease (the
	 * greater token wins): resending it changes nothing. */
	[CLIENT_OP_LEASE_FLOOR - CLIENT_OP_HELLO] = { "LEASE_FLOOR", true,
						      FIELDS(req_lease_floor),
						      BODY_LEASE },
	[CLIENT_OP_SCOPES -
		CLIENT_OP_HELLO] = { "SCOPES", true, NULL, 0, BODY_SCOPES },
	[CLIENT_OP_VERSION -
		CLIENT_OP_HELLO] = { "VERSION", true, NULL, 0, BODY_VERSION },
	[CLIENT_OP_SUCCESSOR - CLIENT_OP_HELLO] = { "SUCCESSOR", true, NULL, 0,
						    BODY_SUCCESSOR },
};

static const struct op_info *op_info(uint32_t op)
{
	if (op < CLIENT_OP_HELLO || op >= CLIENT_OP_END)
		return NULL;
	return &ops[op - CLIENT_OP_HELLO];
}

bool client_op_idempotent(uint32_t op)
{
	const struct op_info *o = op_info(op);
	return o && o->idempotent;
}

bool client_op_writes_log(uint32_t op)
{
	switch (op) {
	case CLIENT_OP_LEASE_ACQUIRE:
	case CLIENT_OP_LEASE_RENEW:
	case CLIENT_OP_LEASE_RELEASE:
	case CLIENT_OP_PUT:
	case CLIENT_OP_DELETE:
	case CLIENT_OP_CAS:
	case CLIENT_OP_LEASE_FLOOR:
	case CLIENT_OP_MEMBER_ADD:
	case CLIENT_OP_MEMBER_REMOVE:
		return true;
	default:
		return false;
	}
}

const char *client_op_name(uint32_t op)
{
	const struct op_info *o = op_info(op);
	if (o)
		return o->name;
	if (op == CLIENT_RESPONSE)
		return "RESPONSE";
	if (op == CLIENT_EVENT)
		return "EVENT";
	return "unknown op";
}

/* ---- statuses ------------------------------------------------------------ */

static const char *const status_names[] = {
	[CLIENT_OK] = "OK",
	[CLIENT_HELD] = "HELD",
	[CLIENT_NOT_HOLDER] = "NOT_HOLDER",
	[CLIENT_NOT_FOUND] = "NOT_FOUND",
	[CLIENT_COMPARE_FAILED] = "COMPARE_FAILED",
	[CLIENT_NO_LEASE] = "NO_LEASE",
	[CLIENT_ENOTLEADER] = "ENOTLEADER",
	[CLIENT_ENOQUORUM] = "ENOQUORUM",
	[CLIENT_ETIMEOUT] = "ETIMEOUT",
	[CLIENT_EINVAL] = "EINVAL",
	[CLIENT_EUNAUTHORIZED] = "EUNAUTHORIZED",
	[CLIENT_EBUSY] = "EBUSY",
	[CLIENT_ESHUTDOWN] = "ESHUTDOWN",
	[CLIENT_EINTERNAL] = "EINTERNAL",
	[CLIENT_EUNKNOWN] = "EUNKNOWN",
	[CLIENT_ECIRCUIT] = "ECIRCUIT",
	[CLIENT_EQUOTA] = "EQUOTA",
};

static bool status_known(int status)
{
	return status >= 0 &&
	       (size_t)status <
		       sizeof(status_names) / sizeof(status_names[0]) &&
	       status_names[status] != NULL;
}

const char *client_status_name(int status)
{
	return status_known(status) ? status_names[status] : "unknown status";
}

bool client_status_is_no(int status)
{
	return status >= CLIENT_HELD && status <= CLIENT_NO_LEASE;
}

/* The body follows decided answers, so a "no" can say who holds the lease
 * or what the key's revision is. */
static bool status_has_body(int status)
{
	return status == CLIENT_OK || client_status_is_no(status);
}

void client_scratch_free(struct client_scratch *s)
{
	free(s->buf);
	s->buf = NULL;
	s->cap = 0;
}

/* ---- encoding ------------------------------------------------------------ */

static void put_str(struct wire_writer *w, struct client_str s)
{
	wire_put_blob(w, s.p, s.len);
}

static void put_fields(struct wire_writer *w, const void *base,
		       const struct field *f, size_t n)
{
	const char *b = base;

	for (size_t i = 0; i < n; i++) {
		const void *p = b + f[i].off;
		switch (f[i].kind) {
		case FIELD_STR:
			put_str(w, *(const struct client_str *)p);
			break;
		case FIELD_U64:
			wire_put_u64(w, *(const uint64_t *)p);
			break;
		case FIELD_U8:
			wire_put_u8(w, *(const uint8_t *)p);
			break;
		}
	}
}

#define PUT_ONE(w, obj, table) put_fields(w, obj, FIELDS(table))

static void put_array(struct wire_writer *w, const void *items, uint32_t n,
		      size_t size, const struct field *f, size_t n_fields)
{
	wire_put_u32(w, n);
	for (uint32_t i = 0; i < n; i++)
		put_fields(w, (const char *)items + i * size, f, n_fields);
}

static void put_body(struct wire_writer *w, const struct client_response *r,
		     enum body_kind body)
{
	switch (body) {
	case BODY_NONE:
		break;
	case BODY_LEASE:
		wire_put_u8(w, r->present ? 1 : 0);
		PUT_ONE(w, &r->lease, lease_fields);
		wire_put_u64(w, r->revision);
		break;
	case BODY_LEASES:
	case BODY_LEASES_PAGE:
		put_array(w, r->leases, r->n, sizeof(*r->leases),
			  FIELDS(lease_fields));
		if (body == BODY_LEASES_PAGE)
			wire_put_u8(w, r->more ? 1 : 0);
		break;
	case BODY_KV:
		wire_put_u8(w, r->present ? 1 : 0);
		PUT_ONE(w, &r->kv, kv_fields);
		wire_put_u64(w, r->revision);
		break;
	case BODY_KVS:
	case BODY_KVS_PAGE:
		put_array(w, r->kvs, r->n, sizeof(*r->kvs), FIELDS(kv_fields));
		wire_put_u64(w, r->revision);
		if (body == BODY_KVS_PAGE)
			wire_put_u8(w, r->more ? 1 : 0);
		break;
	case BODY_STATUS:
		PUT_ONE(w, &r->status_body, status_fields);
		break;
	case BODY_MEMBERS:
		put_array(w, r->members, r->n, sizeof(*r->members),
			  FIELDS(member_fields));
		break;
	case BODY_CHALLENGE:
		PUT_ONE(w, &r->auth, challenge_fields);
		break;
	case BODY_AUTH_DONE:
		PUT_ONE(w, &r->auth, auth_done_fields);
		break;
	case BODY_VERSION:
		PUT_ONE(w, &r->version_body, version_fields);
		break;
	case BODY_SUCCESSOR:
		PUT_ONE(w, &r->successor_body, successor_fields);
		break;
	case BODY_HEALTH:
		PUT_ONE(w, &r->health_body, health_fields);
		break;
	case BODY_SCOPES:
		put_array(w, r->scopes, r->n, sizeof(*r->scopes),
			  FIELDS(scope_fields));
		wire_put_u8(w, r->scopes_body.more ? 1 : 0);
		PUT_ONE(w, &r->scopes_body, scopes_limit_fields);
		break;
	}
}

bool client_encode_request(struct wire_writer *w,
			   const struct client_request *r)
{
	const struct op_info *o = op_info(r->op);
	if (!o)
		return false;
	size_t start = frame_begin(w, r->op, r->id);
	put_fields(w, r, o->fields, o->n_fields);
	frame_end(w, start);
	return !w->failed;
}

bool client_encode_response(struct wire_writer *w,
			    const struct client_response *r)
{
	const struct op_info *o = op_info(r->op);
	/* An op we do not know has no body, but it may still be refused:
	 * a client that sent one must get an answer, not silence. */
	if (!o && status_has_body(r->status))
		return false;
	size_t start = frame_begin(w, CLIENT_RESPONSE, r->id);
	wire_put_u8(w, r->status);
	put_str(w, r->message);
	put_str(w, r->leader_client);
	if (status_has_body(r->status))
		put_body(w, r, o->body);
	frame_end(w, start);
	return !w->failed;
}

bool client_encode_event(struct wire_writer *w, const struct client_event *e,
			 bool lease_kind)
{
	size_t start = frame_begin(w, CLIENT_EVENT, e->watch_id);
	wire_put_u8(w, e->type);
	wire_put_u64(w, e->revision);
	if (lease_kind)
		PUT_ONE(w, &e->lease, lease_fields);
	else
		PUT_ONE(w, &e->kv, kv_fields);
	frame_end(w, start);
	return !w->failed;
}

/* ---- decoding ------------------------------------------------------------ */

/* A reader plus the first error: once something failed, every later read
 * yields zeroes (wire.h) and every later error is ignored, so the message
 * names the field where the input first went wrong. */
struct dec {
	struct wire_reader r;
	struct client_scratch *s;
	char where[32]; /* "kvs[12]: " while decoding an array element */
	bool bad;
};

__attribute__((format(printf, 2, 3))) static void fail(struct dec *d,
						       const char *fmt, ...)
{
	d->r.failed = true;
	if (d->bad)
		return;
	d->bad = true;
	int n = snprintf(d->s->error, sizeof(d->s->error), "%s", d->where);
	if (n < 0 || (size_t)n >= sizeof(d->s->error))
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->s->error + n, sizeof(d->s->error) - (size_t)n, fmt, ap);
	va_end(ap);
}

static void dec_init(struct dec *d, const struct frame *f,
		     struct client_scratch *s)
{
	wire_reader_init(&d->r, f->payload, f->len);
	d->s = s;
	d->where[0] = '\0';
	d->bad = false;
	s->error[0] = '\0';
}

static void get_str(struct dec *d, struct client_str *out,
		    const struct field *f, bool relax)
{
	uint32_t len = wire_get_u32(&d->r);
	const void *p = NULL;

	if (d->r.failed)
		fail(d, "truncated at %s", f->label);
	else if (len > f->max)
		fail(d, "%s longer than %llu bytes", f->label,
		     (unsigned long long)f->max);
	else if (!(p = wire_get_bytes(&d->r, len)))
		fail(d, "truncated in %s", f->label);
	else if (len == 0 && f->required && !relax)
		fail(d, "%s is empty", f->label);
	if (d->bad)
		return;
	out->p = p;
	out->len = len;
}

static void check_range(struct dec *d, const struct field *f, uint64_t v)
{
	if (v >= f->min && v <= f->max)
		return;
	if (f->max == 1)
		fail(d, "%s must be 0 or 1, not %llu", f->label,
		     (unsigned long long)v);
	else if (f->min == 1 && f->max == UINT64_MAX)
		fail(d, "%s is 0", f->label);
	else
		fail(d, "%s %llu outside %llu..%llu", f->label,
		     (unsigned long long)v, (unsigned long long)f->min,
		     (unsigned long long)f->max);
}

static void get_u64(struct dec *d, uint64_t *out, const struct field *f)
{
	*out = wire_get_u64(&d->r);
	if (d->r.failed)
		fail(d, "truncated at %s", f->label);
	else
		check_range(d, f, *out);
}

static void get_u8(struct dec *d, uint8_t *out, const struct field *f)
{
	*out = wire_get_u8(&d->r);
	if (d->r.failed)
		fail(d, "truncated at %s", f->label);
	else
		check_range(d, f, *out);
}

/* relax: mandatory strings may be empty (a lease or kv that is absent). */
static void get_fields(struct dec *d, void *base, const struct field *f,
		       size_t n, bool relax)
{
	char *b = base;

	for (size_t i = 0; i < n && !d->bad; i++) {
		void *p = b + f[i].off;
		switch (f[i].kind) {
		case FIELD_STR:
			get_str(d, p, &f[i], relax);
			break;
		case FIELD_U64:
			get_u64(d, p, &f[i]);
			break;
		case FIELD_U8:
			get_u8(d, p, &f[i]);
			break;
		}
	}
}

static bool get_bool(struct dec *d, const char *label)
{
	const struct field f = { FIELD_U8, false, 0, label, 0, 1 };
	uint8_t v = 0;
	get_u8(d, &v, &f);
	return v == 1;
}

static uint64_t get_plain_u64(struct dec *d, const char *label)
{
	const struct field f = { FIELD_U64, false, 0, label, 0, UINT64_MAX };
	uint64_t v = 0;
	get_u64(d, &v, &f);
	return v;
}

static int finish(struct dec *d, const char *what)
{
	if (!d->bad && wire_remaining(&d->r) > 0) {
		d->where[0] = '\0';
		fail(d, "%zu trailing bytes after the %s message",
		     wire_remaining(&d->r), what);
	}
	return d->bad ? -1 : 0;
}

/* ---- requests ------------------------------------------------------------ */

int client_decode_request(const struct frame *f, struct client_request *r,
			  struct client_scratch *s)
{
	struct dec d;

	dec_init(&d, f, s);
	memset(r, 0, sizeof(*r));
	r->op = f->type;
	r->id = f->request_id;
	const struct op_info *o = op_info(f->type);
	if (!o)
		fail(&d, "unknown op 0x%x", (unsigned)f->type);
	else if (f->request_id == 0)
		fail(&d, "request id 0 (ids must be non-zero)");
	else
		get_fields(&d, r, o->fields, o->n_fields, false);
	return finish(&d, o ? o->name : "unknown op");
}

/* ---- responses ----------------------------------------------------------- */

/* Make room for n items of size bytes; the count was already bounded by
 * the bytes left, so this never allocates more than the frame justifies. */
static void *scratch_array(struct dec *d, uint32_t n, size_t size)
{
	if (n > SIZE_MAX / size) {
		fail(d, "%u items do not fit in memory", n);
		return NULL;
	}
	size_t need = (size_t)n * size;
	if (need > d->s->cap) {
		void *p = realloc(d->s->buf, need);
		if (!p) {
			fail(d, "out of memory for %u items", n);
			return NULL;
		}
		d->s->buf = p;
		d->s->cap = need;
	}
	return d->s->buf;
}

/* A u32 count and that many items, each with a mandatory name or key. */
static void *get_array(struct dec *d, uint32_t *count, const char *label,
		       size_t size, size_t min_bytes, const struct field *f,
		       size_t n_fields)
{
	uint32_t n = wire_get_u32(&d->r);
	if (d->r.failed) {
		fail(d, "truncated at %s count", label);
		return NULL;
	}
	if (n > wire_remaining(&d->r) / min_bytes) {
		fail(d, "%s count %u larger than the frame", label, n);
		return NULL;
	}
	*count = n;
	if (n == 0)
		return NULL;
	char *items = scratch_array(d, n, size);
	if (!items)
		return NULL;
	memset(items, 0, (size_t)n * size);
	for (uint32_t i = 0; i < n && !d->bad; i++) {
		snprintf(d->where, sizeof(d->where), "%s[%u]: ", label, i);
		get_fields(d, items + (size_t)i * size, f, n_fields, false);
	}
	d->where[0] = '\0';
	return items;
}

/* One lease, kv or status, its errors prefixed with label. */
static void get_one(struct dec *d, const char *label, void *base,
		    const struct field *f, size_t n, bool relax)
{
	snprintf(d->where, sizeof(d->where), "%s: ", label);
	get_fields(d, base, f, n, relax);
	d->where[0] = '\0';
}

/* u8 present, then the lease or kv (absent ones may have empty names). */
static bool get_present(struct dec *d, const char *label, void *base,
			const struct field *f, size_t n)
{
	bool present = get_bool(d, "present");
	get_one(d, label, base, f, n, !present);
	return present;
}

static void get_body(struct dec *d, struct client_response *r,
		     enum body_kind body)
{
	switch (body) {
	case BODY_NONE:
		break;
	case BODY_LEASE:
		r->present = get_present(d, "lease", &r->lease,
					 FIELDS(lease_fields));
		r->revision = get_plain_u64(d, "revision");
		break;
	case BODY_LEASES:
	case BODY_LEASES_PAGE:
		r->leases = get_array(d, &r->n, "leases", sizeof(*r->leases),
				      LEASE_MIN_BYTES, FIELDS(lease_fields));
		if (body == BODY_LEASES_PAGE)
			r->more = get_bool(d, "more");
		break;
	case BODY_KV:
		r->present = get_present(d, "kv", &r->kv, FIELDS(kv_fields));
		r->revision = get_plain_u64(d, "revision");
		break;
	case BODY_KVS:
	case BODY_KVS_PAGE:
		r->kvs = get_array(d, &r->n, "kvs", sizeof(*r->kvs),
				   KV_MIN_BYTES, FIELDS(kv_fields));
		r->revision = get_plain_u64(d, "revision");
		if (body == BODY_KVS_PAGE)
			r->more = get_bool(d, "more");
		break;
	case BODY_STATUS:
		get_one(d, "status", &r->status_body, FIELDS(status_fields),
			false);
		break;
	case BODY_MEMBERS:
		r->members = get_array(d, &r->n, "members", sizeof(*r->members),
				       MEMBER_MIN_BYTES, FIELDS(member_fields));
		break;
	case BODY_CHALLENGE:
		get_one(d, "challenge", &r->auth, FIELDS(challenge_fields),
			false);
		break;
	case BODY_AUTH_DONE:
		get_one(d, "auth", &r->auth, FIELDS(auth_done_fields), false);
		break;
	case BODY_HEALTH:
		get_one(d, "health", &r->health_body, FIELDS(health_fields),
			false);
		break;
	case BODY_VERSION:
		get_one(d, "version", &r->version_body, FIELDS(version_fields),
			false);
		break;
	case BODY_SUCCESSOR:
		get_one(d, "successor", &r->successor_body,
			FIELDS(successor_fields), false);
		break;
	case BODY_SCOPES:
		r->scopes = get_array(d, &r->n, "scopes", sizeof(*r->scopes),
				      SCOPE_MIN_BYTES, FIELDS(scope_fields));
		r->scopes_body.more = get_bool(d, "more");
		get_one(d, "limits", &r->scopes_body,
			FIELDS(scopes_limit_fields), false);
		break;
	}
}

static void get_header(struct dec *d, struct client_response *r)
{
	static const struct field message = STR(struct client_response, message,
						"message", CLIENT_MESSAGE_MAX,
						false);
	static const struct field leader = STR(struct client_response,
					       leader_client, "leader_client",
					       CLIENT_ADDR_MAX, false);

	r->status = wire_get_u8(&d->r);
	if (d->r.failed)
		fail(d, "truncated at status");
	else if (!status_known(r->status))
		fail(d, "unknown status %u", r->status);
	else if (r->status == CLIENT_ECIRCUIT)
		fail(d, "status ECIRCUIT is the client library's own, never "
			"a server's");
	get_str(d, &r->message, &message, false);
	get_str(d, &r->leader_client, &leader, false);
	/* Only a redirect names the leader: anything else is a confused
	 * server, and following it could send writes to the wrong node. */
	if (!d->bad && r->leader_client.len && r->status != CLIENT_ENOTLEADER)
		fail(d, "leader_client set on an answer with status %s",
		     client_status_name(r->status));
}

int client_decode_response(const struct frame *f, uint32_t op,
			   struct client_response *r, struct client_scratch *s)
{
	struct dec d;

	dec_init(&d, f, s);
	memset(r, 0, sizeof(*r));
	r->id = f->request_id;
	r->op = op;
	const struct op_info *o = op_info(op);
	if (f->type != CLIENT_RESPONSE)
		fail(&d, "frame type 0x%x is not a response",
		     (unsigned)f->type);
	if (!d.bad)
		get_header(&d, r);
	/* An error answers any op, even one we do not know; a body needs
	 * the op's layout. */
	if (!d.bad && status_has_body(r->status) && !o)
		fail(&d, "response to unknown op 0x%x", (unsigned)op);
	else if (!d.bad && status_has_body(r->status))
		get_body(&d, r, o->body);
	return finish(&d, "response");
}

/* ---- events -------------------------------------------------------------- */

static bool event_type_fits(uint8_t type, bool lease_kind)
{
	if (lease_kind)
		return type >= SM_EV_GRANT && type <= SM_EV_EXPIRE;
	return type == SM_EV_PUT || type == SM_EV_DELETE;
}

int client_decode_event(const struct frame *f, bool lease_kind,
			struct client_event *e, struct client_scratch *s)
{
	struct dec d;

	dec_init(&d, f, s);
	memset(e, 0, sizeof(*e));
	e->watch_id = f->request_id;
	if (f->type != CLIENT_EVENT)
		fail(&d, "frame type 0x%x is not an event", (unsigned)f->type);
	else if (f->request_id == 0)
		fail(&d, "event for watch id 0");
	e->type = wire_get_u8(&d.r);
	if (!d.bad && d.r.failed)
		fail(&d, "truncated at event type");
	if (!d.bad && !event_type_fits(e->type, lease_kind))
		fail(&d, "event type %u is not a %s event", e->type,
		     lease_kind ? "lease" : "key");
	e->revision = get_plain_u64(&d, "revision");
	if (lease_kind)
		get_one(&d, "lease", &e->lease, FIELDS(lease_fields), false);
	else
		get_one(&d, "kv", &e->kv, FIELDS(kv_fields), false);
	return finish(&d, "event");
}
