/*
 * client.h — the client protocol of tenured (used by tenurectl and
 * tenure-agent through the client library).
 *
 * Contract
 * --------
 * Every request is one frame (frame.h) whose type is a client_op and whose
 * request id is chosen by the client (non-zero, unique per connection);
 * the answer is one frame of type CLIENT_RESPONSE with the same request
 * id.  Many requests may be in flight on one connection; answers may come
 * in any order.  A watch is answered by one CLIENT_RESPONSE (accepted or
 * not) and then any number of CLIENT_EVENT frames with the same request id,
 * until CLIENT_OP_CANCEL or the connection closes.
 *
 * Authentication (common/scram.h).  When the server requires it, the
 * first frame must be HELLO naming a credential and carrying a fresh
 * client nonce; the answer is the challenge (server nonce, salt,
 * iteration count); the second frame must be AUTH_PROOF with the proof,
 * answered with the server's signature (the client checks it: a server
 * without the verifier cannot make it) and the credential's role.  A
 * wrong proof, an unknown credential or any other frame first gets
 * CLIENT_EUNAUTHORIZED and the connection is closed.  The secret never
 * travels.  A server without credentials answers HELLO with an empty
 * nonce (nothing to prove); a client that has a secret refuses that
 * answer, since a witness it trusts would have challenged it — unless
 * it presented a client certificate over TLS: a witness answers so a
 * session its certificate already authenticated (server/clients.h).
 *
 * Payloads are built from wire.h primitives: strings are blobs (u32 length
 * + bytes), integers u64, flags u8.  Decoding checks every length and
 * limit (proto/limits.h and the CLIENT_*_MAX below) and rejects trailing
 * bytes; a malformed request gets CLIENT_EINVAL with a reason, a malformed
 * frame closes the connection.  A well-framed request with an op the
 * server does not know (a newer client's, CLIENT_OP_END, a response type)
 * is a malformed request: CLIENT_EINVAL, the reason naming the op
 * ("unknown op 0x999"), and the connection stays open.  An error response
 * has no body, so it encodes and decodes for any op.  Encoders check
 * nothing but memory: the receiver is the one that must not trust its
 * input.
 *
 * Request validation (what client_decode_request refuses):
 *   - request id 0, an op outside HELLO..SUCCESSOR;
 *   - lease name, holder, key, member name, peer_addr empty (mandatory);
 *     user, nonce, client_name, prefix, value, lease (no lease) and
 *     to_name may be empty.  An empty HELLO user is well-formed: whether
 *     it is accepted is the server's authentication policy, not the
 *     codec's;
 *   - strings over their limit: names, keys, prefixes and lease names
 *     SM_KEY_MAX, holders SM_HOLDER_MAX, values SM_VALUE_MAX, nonces
 *     and proofs CLIENT_TOKEN_MAX, user, client/member names and to_name
 *     CLIENT_NAME_MAX,
 *     addresses CLIENT_ADDR_MAX;
 *   - ttl_ms outside [SM_TTL_MIN_MS, SM_TTL_MAX_MS]; a fencing token,
 *     a floor or watch_request_id of 0 (none is ever issued);
 *   - consistency, watch kind and every u8 flag other than 0 or 1.
 * A PUT or CAS that names a lease must carry that lease's current fencing
 * token in lease_token (0 without a lease): the pairing is the state
 * machine's rule (sm.h), refused by the server with CLIENT_EINVAL before
 * anything is proposed, not by the codec.
 *
 * Request bodies (fields in this order):
 *   HELLO          str user, str nonce, str client_name
 *   LEASE_ACQUIRE  str name, str holder, u64 ttl_ms
 *   LEASE_RENEW    str name, str holder, u64 token
 *   LEASE_RELEASE  str name, str holder, u64 token
 *   LEASE_GET      str name, u8 consistency
 *   LEASE_LIST     u8 consistency
 *   PUT            str key, str value, str lease, u64 lease_token
 *   GET            str key, u8 consistency
 *   DELETE         str key
 *   LIST           str prefix, u8 consistency
 *   CAS            str key, u64 expected_revision, str value, str lease,
 *                  u64 lease_token
 *   WATCH          u8 kind (0 keys, 1 leases), str prefix
 *   CANCEL         u64 watch_request_id
 *   STATUS         (nothing)
 *   MEMBER_LIST    (nothing)
 *   MEMBER_ADD     str name, str peer_addr
 *   MEMBER_REMOVE  str name
 *   TRANSFER       str to_name (empty: any caught-up voter)
 *   LEASE_LIST_PAGE
 *                  u8 consistency, str start_after, u64 limit
 *   LIST_PAGE      str prefix, u8 consistency, str start_after, u64 limit
 *   AUTH_PROOF     str proof
 *   HEALTH         (nothing)
 *   LEASE_FLOOR    str name, u64 lease_token (the floor, non-zero): the
 *                  free lease's next grant gets a token above it
 *                  (server/sm.h floor); HELD when the lease is held.
 *                  Admin only.  A witness older than this op answers
 *                  EINVAL "unknown op", as for any op it does not know
 *   SCOPES         (nothing)
 *   VERSION        (nothing)
 *   SUCCESSOR      (nothing)
 *
 * Paging.  An answer must fit in one frame, and every client accepts
 * FRAME_LIMIT_DEFAULT (1 MiB).  LIST and LEASE_LIST (the first encoding,
 * kept as it was for the clients that use it) answer everything at once,
 * or, when that would not fit, CLIENT_EINVAL saying so.  LIST_PAGE and
 * LEASE_LIST_PAGE answer the keys (leases) strictly after start_after
 * (empty: from the first), in byte order, at most limit of them (0: no
 * count limit) and no more than fit in a frame, with "more" set when
 * some were left out: ask again with start_after = the last one
 * received.  Each page is its own read (linearizable or local as asked):
 * pages may come from different revisions, as etcd's do.  A page holds
 * at least one item whenever one is left: an item is never larger than
 * a frame (SM_KEY_MAX + SM_VALUE_MAX are far below it).
 *
 * Response: u8 status, str message (why, for errors), str leader_client
 * (the leader's client address when status is CLIENT_ENOTLEADER, else
 * empty), then the body of the request's op when status is OK or a "no"
 * answer (client_status_is_no: HELD, NOT_HOLDER, NOT_FOUND,
 * COMPARE_FAILED, NO_LEASE):
 *   lease ops      u8 present, lease (str name, str holder, u64 token,
 *                  u64 ttl_ms, u64 remaining_ms), u64 revision
 *   LEASE_LIST     u32 n, n x lease
 *   PUT/DELETE/CAS/GET
 *                  u8 present, kv (str key, str value, str lease,
 *                  u64 create_revision, u64 mod_revision), u64 revision
 *   LIST           u32 n, n x kv, u64 revision
 *   LEASE_LIST_PAGE
 *                  u32 n, n x lease, u8 more
 *   LIST_PAGE      u32 n, n x kv, u64 revision, u8 more
 *   STATUS         str name, str role, str leader, u64 id, u64 term,
 *                  u64 commit, u64 applied, u64 last_index, u64 revision,
 *                  u64 leases, u64 keys (struct client_status_body order)
 *   HELLO          str nonce (empty: no authentication here), str salt,
 *                  u64 iterations
 *   AUTH_PROOF     str signature, str role
 *   MEMBER_LIST    u32 n, n x member (str name, str peer_addr,
 *                  str client_addr, str http_addr, u64 id, u8 voter,
 *                  u8 connected, u64 match)
 *   HEALTH         u8 healthy, str reason (why not, "" when healthy),
 *                  u64 disk_write_errors (struct client_health_body):
 *                  the answering witness's own health, as its GET
 *                  /health says it (server/health.h); answered by any
 *                  witness, leader or not
 *   SCOPES         u32 n, n x scope (str name, u64 keys, u64 bytes,
 *                  u64 leases, u64 requests, u64 last_second,
 *                  u64 refused), u8 more, then the limits in force:
 *                  u64 max_keys, u64 max_bytes, u64 max_leases,
 *                  u64 max_requests_per_second (0: unlimited)
 *                  (struct client_scopes_body).  Answered by the
 *                  leader only (its request counts are the ones that
 *                  matter: it serves every write), from its applied
 *                  state, scopes in name order, as many as fit in a
 *                  frame ("more" when some were left out)
 *   VERSION        str version (the release, "0.1.0"), u64 commands (the
 *                  highest log command type it applies: server/sm.h;
 *                  CLIENT_COMMANDS_FLOOR and up know the floor)
 *                  (struct client_version_body).  Answered by any
 *                  witness, about itself.  A witness older than this op
 *                  answers EINVAL "unknown op": it reports no version (a
 *                  field added to STATUS instead would be trailing bytes
 *                  to the clients of before, which refuse them)
 *   SUCCESSOR      str client_addr (struct client_successor_body): the
 *                  client address of the voter that campaigns first
 *                  when this leader's process dies (its peer
 *                  connections end: raft.h RAFT_EV_PEER_DOWN), ""
 *                  when none is known.  Answered by the leader only.
 *                  A client that has it among its endpoints dials it
 *                  next when it loses this leader (tclient.h,
 *                  ask_successor): the fleet
 *                  goes to where the next leader will be instead of
 *                  half of it to a follower.  A witness older than this
 *                  op answers EINVAL "unknown op"; the client then
 *                  draws an endpoint as before
 *   others         (nothing)
 * The lease or kv after "present" is always encoded (empty when absent);
 * a present one, a listed one and one in an event has a non-empty name or
 * key (a free lease has an empty holder).  Member ids are non-zero.  A
 * response carries the request id of what it answers (0 only when it
 * refuses a request that had id 0).
 * Event (CLIENT_EVENT, request id = the watch's): u8 type (sm_event_type:
 * GRANT..EXPIRE on a lease watch, PUT or DELETE on a key watch), u64
 * revision, then a lease or a kv as above.
 *
 * Errors: decoders return 0 or -1 with the reason in the scratch's error;
 * encoders false when out of memory or the op is unknown.  client_status
 * values travel in responses; they are never return codes here.  Nothing is
 * logged.
 */
#ifndef TENURE_PROTO_CLIENT_H
#define TENURE_PROTO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"
#include "proto/wire.h"

/* Limits of the strings that proto/limits.h does not already bound. */
#define CLIENT_TOKEN_MAX 64     /* nonces, salts, proofs, signatures */
#define CLIENT_NAME_MAX 256     /* client, member and node names, roles */
#define CLIENT_ADDR_MAX 256     /* "host:port" addresses */
#define CLIENT_MESSAGE_MAX 1024 /* the reason in an error response */

enum client_op {
	CLIENT_OP_HELLO = 0x200,
	CLIENT_OP_LEASE_ACQUIRE,
	CLIENT_OP_LEASE_RENEW,
	CLIENT_OP_LEASE_RELEASE,
	CLIENT_OP_LEASE_GET,
	CLIENT_OP_LEASE_LIST,
	CLIENT_OP_PUT,
	CLIENT_OP_GET,
	CLIENT_OP_DELETE,
	CLIENT_OP_LIST,
	CLIENT_OP_CAS,
	CLIENT_OP_WATCH,
	CLIENT_OP_CANCEL,
	CLIENT_OP_STATUS,
	CLIENT_OP_MEMBER_LIST,
	CLIENT_OP_MEMBER_ADD,
	CLIENT_OP_MEMBER_REMOVE,
	CLIENT_OP_TRANSFER,
	CLIENT_OP_LEASE_LIST_PAGE, /* paged LEASE_LIST (see "Paging") */
	CLIENT_OP_LIST_PAGE,       /* paged LIST */
	CLIENT_OP_AUTH_PROOF,      /* second step of authentication */
	CLIENT_OP_HEALTH,          /* this witness's health (0x215) */
	CLIENT_OP_LEASE_FLOOR,     /* a free lease's token floor (0x216) */
	CLIENT_OP_SCOPES,          /* per-scope usage and requests (0x217) */
	CLIENT_OP_VERSION,         /* this witness's version (0x218) */
	CLIENT_OP_SUCCESSOR,       /* who campaigns first (0x219) */
	CLIENT_OP_END,
	CLIENT_RESPONSE = 0x300,
	CLIENT_EVENT = 0x301,
};

enum client_status {
	CLIENT_OK = 0,
	/* "no" answers: the request was valid and decided */
	CLIENT_HELD = 1,       /* lease held by another holder */
	CLIENT_NOT_HOLDER = 2, /* wrong holder or stale token */
	CLIENT_NOT_FOUND = 3,
	CLIENT_COMPARE_FAILED = 4,
	CLIENT_NO_LEASE = 5, /* put attached to a lease not held */
	/* errors: retry elsewhere or later, or fix the request */
	CLIENT_ENOTLEADER = 16, /* leader_client says where to go */
	CLIENT_ENOQUORUM = 17,  /* no leader / lost leadership */
	CLIENT_ETIMEOUT = 18,
	CLIENT_EINVAL = 19,
	CLIENT_EUNAUTHORIZED = 20,
	CLIENT_EBUSY = 21,
	CLIENT_ESHUTDOWN = 22,
	CLIENT_EINTERNAL = 23,
	CLIENT_EUNKNOWN = 24, /* outcome unknown (connection lost) */
	/* client side only (tclient.h), never sent by a server */
	CLIENT_ECIRCUIT = 25, /* circuit breaker open: failed fast */
	/* refused for good: the scope is at a key, byte or lease limit
	 * (the message says which); nothing changed, retrying will not
	 * help until keys are deleted or the limit is raised */
	CLIENT_EQUOTA = 26,
};
const char *client_status_name(int status);
/* True for answers that are a decided "no" rather than a failure. */
bool client_status_is_no(int status);

enum client_consistency {
	CLIENT_LINEARIZABLE = 0, /* ReadIndex on the leader (default) */
	CLIENT_LOCAL = 1,        /* whatever this node has applied */
};

struct client_str {
	const char *p;
	size_t len;
};

struct client_request {
	uint32_t op;
	uint64_t id;
	struct client_str user, nonce, proof, client_name;
	struct client_str name, holder, key, value, lease, prefix;
	struct client_str peer_addr, to_name;
	struct client_str start_after; /* paged lists: after this one */
	uint64_t limit;                /* paged lists: at most, 0: any */
	uint64_t ttl_ms;
	uint64_t lease_token;
	uint64_t expected_revision;
	uint64_t watch_id;
	uint8_t consistency;
	uint8_t watch_kind;
};

struct client_lease {
	struct client_str name, holder;
	uint64_t token;
	uint64_t ttl_ms;
	uint64_t remaining_ms;
};

struct client_kv {
	struct client_str key, value, lease;
	uint64_t create_revision;
	uint64_t mod_revision;
};

struct client_member {
	struct client_str name, peer_addr, client_addr, http_addr;
	uint64_t id;
	uint8_t voter;     /* 0: learner */
	uint8_t connected; /* seen by the answering node */
	uint64_t match;    /* leader's view, 0 if unknown */
};

struct client_scope {
	struct client_str name;
	uint64_t keys, bytes, leases;
	uint64_t requests;    /* seen by the answering witness */
	uint64_t last_second; /* requests in the last whole second */
	uint64_t refused;     /* busy (rate) or over a quota */
};

struct client_scopes_body {
	bool more;
	uint64_t max_keys, max_bytes, max_leases, max_requests_per_second;
};

struct client_status_body {
	struct client_str name, role, leader;
	uint64_t id, term, commit, applied, last_index, revision;
	uint64_t leases, keys;
};

/* HELLO's challenge and AUTH_PROOF's answer. */
struct client_auth_body {
	struct client_str nonce, salt; /* HELLO */
	uint64_t iterations;           /* HELLO */
	struct client_str signature;   /* AUTH_PROOF */
	struct client_str role;        /* AUTH_PROOF */
};

struct client_health_body {
	uint8_t healthy;
	struct client_str reason;
	uint64_t disk_write_errors;
};

/* The highest log command type a witness applying the floor knows
 * (server/sm.h SM_CMD_LEASE_FLOOR). */
#define CLIENT_COMMANDS_FLOOR 8

struct client_version_body {
	struct client_str version;
	uint64_t commands; /* highest log command type it applies */
};

struct client_successor_body {
	struct client_str client_addr; /* "" when none is known */
};

/* A response, decoded or to encode.  Arrays point into the caller's
 * memory when encoding, into the frame (and the scratch) when decoding. */
struct client_response {
	uint64_t id;
	uint32_t op; /* what was asked: decoding needs it for the body */
	uint8_t status;
	struct client_str message, leader_client;
	bool present;
	struct client_lease lease;
	struct client_kv kv;
	uint64_t revision;
	struct client_lease *leases;
	struct client_kv *kvs;
	struct client_member *members;
	struct client_scope *scopes;
	uint32_t n;
	bool more; /* paged lists: some were left out, ask for the rest */
	struct client_status_body status_body;
	struct client_auth_body auth;
	struct client_health_body health_body;
	struct client_scopes_body scopes_body;
	struct client_version_body version_body;
	struct client_successor_body successor_body;
};

struct client_event {
	uint64_t watch_id;
	uint8_t type;
	uint64_t revision;
	struct client_lease lease;
	struct client_kv kv;
};

/* Per-connection decoding state: arrays of a decoded response live in buf
 * until the next decode with the same scratch; error says why the last
 * decode failed ("" after a success). */
struct client_scratch {
	void *buf;
	size_t cap;
	char error[128];
};
void client_scratch_free(struct client_scratch *s);

/* Encoders append one whole frame to w; false when out of memory or the
 * op is unknown (a response to an unknown op: only when its status has a
 * body, i.e. OK or a "no"). */
bool client_encode_request(struct wire_writer *w,
			   const struct client_request *r);
/* 0, or -1 with s->error set (answer CLIENT_EINVAL). */
int client_decode_request(const struct frame *f, struct client_request *r,
			  struct client_scratch *s);
bool client_encode_response(struct wire_writer *w,
			    const struct client_response *r);
/* op is what the request asked (the body depends on it).  0, or -1 with
 * s->error set (the connection should be closed: the server is broken or
 * not a tenured). */
int client_decode_response(const struct frame *f, uint32_t op,
			   struct client_response *r, struct client_scratch *s);
bool client_encode_event(struct wire_writer *w, const struct client_event *e,
			 bool lease_kind);
/* lease_kind: the watch is on leases (WATCH kind 1).  0, or -1 with
 * s->error set. */
int client_decode_event(const struct frame *f, bool lease_kind,
			struct client_event *e, struct client_scratch *s);

/* Requests that may be retried blindly after a lost answer. */
bool client_op_idempotent(uint32_t op);
/* Requests the leader serves by appending to the Raft log (data writes,
 * LEASE_FLOOR, membership changes): only a leader serves them, and one
 * whose answer was lost may have been applied. */
bool client_op_writes_log(uint32_t op);
const char *client_op_name(uint32_t op);

#endif /* TENURE_PROTO_CLIENT_H */
