/*
 * service.c — see service.h.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/version.h"
#include "proto/hash.h"
#include "server/health.h"
#include "server/lease_clock.h"
#include "server/scope_admit.h"
#include "server/scope_limits.h"
#include "server/service.h"
#include "server/transport.h"
#include "server/watch_index.h"

#define TICK_MS 20

struct request {
	struct service *svc;
	struct session *sess;
	uint64_t id;
	uint32_t op;
	uint64_t started_ms;
	uint64_t started_ns; /* for the duration histogram */
	bool answered;
	/* what a read needs once its ReadIndex round completes */
	char *arg;
	size_t arg_len;
	char *after; /* paged lists: start_after */
	size_t after_len;
	uint64_t limit; /* paged lists: at most this many, 0: any */
	uint8_t watch_kind;
	struct request *prev, *next; /* pending list, for timeouts */
};

struct expiry_round {
	struct service *svc;
	struct lease_clock_entry *due; /* copies */
	size_t n;
};

struct service {
	uv_loop_t *loop;
	struct node *node;
	struct service_options opt;
	struct service_session_ops ops;
	uv_timer_t tick;
	struct request *pending;
	struct watch_index watches;
	struct watch_ref *targets; /* notify_watches' scratch */
	size_t cap_targets;
	struct lease_clock clock;
	bool leader;
	bool expiry_inflight;
	struct service_stats stats;
	struct scope_rate scope_rate;
	struct scope_admit admit; /* leader: growth in flight per scope */
};

/* ---- answering -------------------------------------------------------------- */

static struct client_str cstr(const char *p, size_t len)
{
	struct client_str s = { p, len };
	return s;
}

static struct client_str czstr(const char *p)
{
	return cstr(p ? p : "", p ? strlen(p) : 0);
}

static void answer(struct request *rq, struct client_response *r)
{
	struct service *s = rq->svc;
	if (rq->answered)
		return;
	rq->answered = true;
	r->id = rq->id;
	r->op = rq->op;
	if (r->status != CLIENT_OK && !client_status_is_no(r->status))
		s->stats.errors[rq->op - CLIENT_OP_HELLO]++;
	if (rq->op >= CLIENT_OP_HELLO && rq->op < CLIENT_OP_END)
		duration_hist_add(&s->stats.durations[rq->op - CLIENT_OP_HELLO],
				  SERVICE_HIST_BASE_NS,
				  uv_hrtime() - rq->started_ns);
	if (s->ops.is_open(rq->sess))
		s->ops.respond(rq->sess, r);
}

static void answer_status(struct request *rq, int status, const char *msg)
{
	struct client_response r;
	memset(&r, 0, sizeof(r));
	r.status = (uint8_t)status;
	r.message = czstr(msg);
	if (status == CLIENT_ENOTLEADER) {
		struct raft *raft = node_raft(rq->svc->node);
		raft_id leader = raft_leader(raft);
		const char *addr = NULL;
		if (leader && rq->svc->opt.peer_client_addr)
			addr = rq->svc->opt
				       .peer_client_addr(rq->svc->opt.peer_arg,
							 leader);
		r.leader_client = czstr(addr);
	}
	answer(rq, &r);
}

/* ---- request lifetime ------------------------------------------------------- */

static struct request *request_new(struct service *s, struct session *sess,
				   const struct client_request *req)
{
	struct request *rq = calloc(1, sizeof(*rq));
	if (!rq)
		return NULL;
	rq->svc = s;
	rq->sess = sess;
	rq->id = req->id;
	rq->op = req->op;
	rq->started_ms = node_now_ms();
	rq->started_ns = uv_hrtime();
	s->ops.ref(sess);
	rq->next = s->pending;
	if (s->pending)
		s->pending->prev = rq;
	s->pending = rq;
	return rq;
}

static void request_free(struct request *rq)
{
	struct service *s = rq->svc;
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		s->pending = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	s->ops.unref(rq->sess);
	free(rq->arg);
	free(rq->after);
	free(rq);
}

static char *copy_bytes(struct client_str v)
{
	char *p = malloc(v.len ? v.len : 1);
	if (p && v.len) /* LEASE_LIST has no argument: v.p is NULL */
		memcpy(p, v.p, v.len);
	return p;
}

/* What a read needs after its ReadIndex round: the name, key or prefix,
 * and for a paged list where the page starts and how long it may be. */
static bool request_keep_arg(struct request *rq, const struct client_request *q,
			     struct client_str v)
{
	rq->arg = copy_bytes(v);
	rq->arg_len = v.len;
	if (q->op == CLIENT_OP_LIST_PAGE ||
	    q->op == CLIENT_OP_LEASE_LIST_PAGE) {
		rq->after = copy_bytes(q->start_after);
		rq->after_len = q->start_after.len;
		rq->limit = q->limit;
		if (!rq->after)
			return false;
	}
	return rq->arg != NULL;
}

/* ---- lease answers ------------------------------------------------------------- */

static uint64_t remaining_ms(struct service *s, const struct sm_lease *l)
{
	if (!l->holder.len)
		return 0;
	const struct lease_clock_entry *e = lease_clock_get(&s->clock,
							    l->name.p,
							    l->name.len);
	if (!s->leader || !e)
		return l->ttl_ms; /* a new leader would restart it in full */
	uint64_t now = node_now_ms();
	return e->deadline_ms > now ? e->deadline_ms - now : 0;
}

static void fill_lease(struct service *s, struct client_lease *out,
		       const struct sm_lease *l)
{
	out->name = cstr(l->name.p, l->name.len);
	out->holder = cstr(l->holder.p, l->holder.len);
	out->token = l->token;
	out->ttl_ms = l->ttl_ms;
	out->remaining_ms = remaining_ms(s, l);
}

static void fill_kv(struct client_kv *out, const struct sm_key *k)
{
	out->key = cstr(k->key.p, k->key.len);
	out->value = cstr(k->value.p, k->value.len);
	out->lease = cstr(k->lease.p, k->lease.len);
	out->create_revision = k->create_revision;
	out->mod_revision = k->mod_revision;
}

static int status_from_sm(int sm_status)
{
	switch (sm_status) {
	case SM_OK:
		return CLIENT_OK;
	case SM_HELD:
		return CLIENT_HELD;
	case SM_NOT_HOLDER:
		return CLIENT_NOT_HOLDER;
	case SM_NOT_FOUND:
		return CLIENT_NOT_FOUND;
	case SM_COMPARE_FAILED:
		return CLIENT_COMPARE_FAILED;
	case SM_NO_LEASE:
		return CLIENT_NO_LEASE;
	case SM_STALE:
		return CLIENT_NOT_HOLDER;
	}
	return CLIENT_EINVAL;
}

/* ---- writes ----------------------------------------------------------------------- */

static bool is_lease_op(uint32_t op)
{
	return (op >= CLIENT_OP_LEASE_ACQUIRE && op <= CLIENT_OP_LEASE_LIST) ||
	       op == CLIENT_OP_LEASE_FLOOR;
}

static void on_proposed(void *arg, int status, const struct sm_result *res,
			uint64_t index)
{
	struct request *rq = arg;
	struct client_response r;
	memset(&r, 0, sizeof(r));
	if (status == RAFT_ESHUTDOWN) {
		r.status = CLIENT_ESHUTDOWN;
	} else if (status) {
		/* Another entry took its place: it did not happen. */
		r.status = CLIENT_ENOQUORUM;
		r.message = czstr("leadership changed before the request "
				  "committed; retry");
	} else {
		r.status = (uint8_t)status_from_sm(res->status);
		r.revision = res->revision;
		if (is_lease_op(rq->op)) {
			r.present = res->lease.name.len > 0;
			fill_lease(rq->svc, &r.lease, &res->lease);
		} else {
			r.present = res->key.key.len > 0;
			fill_kv(&r.kv, &res->key);
		}
		if (res->status == SM_INVALID)
			r.message = czstr("the witness refused the command");
	}
	(void)index;
	answer(rq, &r);
	request_free(rq);
}

static void cmd_from_request(struct sm_cmd *c, const struct client_request *q)
{
	memset(c, 0, sizeof(*c));
	c->name.p = q->name.p;
	c->name.len = q->name.len;
	c->holder.p = q->holder.p;
	c->holder.len = q->holder.len;
	c->key.p = q->key.p;
	c->key.len = q->key.len;
	c->value.p = q->value.p;
	c->value.len = q->value.len;
	c->token = q->lease_token;
	c->ttl_ms = q->ttl_ms;
	c->revision = q->expected_revision;
	switch (q->op) {
	case CLIENT_OP_LEASE_ACQUIRE:
		c->type = SM_CMD_LEASE_ACQUIRE;
		break;
	case CLIENT_OP_LEASE_RENEW:
		c->type = SM_CMD_LEASE_RENEW;
		break;
	case CLIENT_OP_LEASE_RELEASE:
		c->type = SM_CMD_LEASE_RELEASE;
		break;
	case CLIENT_OP_PUT:
		c->type = SM_CMD_PUT;
		break;
	case CLIENT_OP_DELETE:
		c->type = SM_CMD_DELETE;
		break;
	case CLIENT_OP_CAS:
		c->type = SM_CMD_CAS;
		break;
	case CLIENT_OP_LEASE_FLOOR:
		c->type = SM_CMD_LEASE_FLOOR;
		break;
	}
	if (q->op == CLIENT_OP_PUT || q->op == CLIENT_OP_CAS) {
		c->name.p = q->lease.p; /* the lease a key is attached to */
		c->name.len = q->lease.len;
	}
}

static int raft_to_client(int rv)
{
	switch (rv) {
	case RAFT_ENOTLEADER:
		return CLIENT_ENOTLEADER;
	case RAFT_EBUSY:
		return CLIENT_EBUSY;
	case RAFT_ESHUTDOWN:
		return CLIENT_ESHUTDOWN;
	case RAFT_ETOOBIG:
	case RAFT_EINVAL:
		return CLIENT_EINVAL;
	}
	return CLIENT_EINTERNAL;
}

/* The leader refuses a write that would take its scope past a limit
 * before proposing it (scope_admit.h): answered EQUOTA, nothing logged
 * in Raft.  A follower proposes nothing, so it checks nothing. */
static bool over_scope_quota(struct service *s, struct request *rq,
			     const struct sm_cmd *c)
{
	struct sm *sm = node_sm(s->node);
	char msg[CLIENT_MESSAGE_MAX];
	struct scope_growth now, worst;
	const char *scope;
	size_t len;
	uint64_t limit = 0;
	int kind;

	if (!s->leader)
		return false;
	kind = scope_admit_check(&s->admit, sm, c, &s->opt.quota, &limit);
	if (!kind)
		return false;
	len = scope_growth_of(sm, c, &scope, &now, &worst);
	scope_quota_message(msg, sizeof(msg), scope, len, kind, limit);
	scope_rate_refused(&s->scope_rate, scope, len, uv_now(s->loop));
	log_event(LOG_WARN, "scope_quota_refused",
		  "op=%s scope=%.*s limit=%llu kind=%d", client_op_name(rq->op),
		  (int)len, scope, (unsigned long long)limit, kind);
	answer_status(rq, CLIENT_EQUOTA, msg);
	request_free(rq);
	return true;
}

/* Our own proposal at `index`: its growth counts until it is applied.
 * Out of memory it is not counted: admission fails open (scope_admit.h). */
static void track_proposal(struct service *s, uint64_t index,
			   const struct sm_cmd *c)
{
	if (scope_admit_track(&s->admit, node_sm(s->node), index, c) != 0)
		log_event(LOG_WARN, "scope_admit_untracked",
			  "index=%llu reason=out_of_memory",
			  (unsigned long long)index);
}

static void handle_write(struct service *s, struct request *rq,
			 const struct client_request *q)
{
	struct sm_cmd c;
	cmd_from_request(&c, q);
	struct wire_writer w;
	wire_writer_init(&w);
	if (!sm_cmd_encode(&w, &c)) {
		/* The encoder also refuses what the state machine would
		 * (sm.h): the decoded request was well-formed, so what is
		 * left is a key naming a lease without its token or the
		 * other way round. */
		bool oom = w.failed;
		wire_writer_free(&w);
		answer_status(rq, oom ? CLIENT_EINTERNAL : CLIENT_EINVAL,
			      oom ? "out of memory"
				  : "a key attached to a lease needs that "
				    "lease's fencing token (lease_token), and "
				    "a lease_token needs a lease");
		request_free(rq);
		return;
	}
	if (over_scope_quota(s, rq, &c)) {
		wire_writer_free(&w);
		return;
	}
	uint64_t index = raft_last_index(node_raft(s->node)) + 1;
	int rv = node_propose(s->node, w.buf, w.len, on_proposed, rq);
	if (rv) {
		answer_status(rq, raft_to_client(rv), raft_strerror(rv));
		request_free(rq);
	} else {
		track_proposal(s, index, &c);
	}
	wire_writer_free(&w);
}

/* ---- reads ------------------------------------------------------------------------- */

/* Room for the items of one list answer: every client accepts frames of
 * FRAME_LIMIT_DEFAULT (whatever this witness's own --frame-limit), less
 * the frame header and the answer's fixed fields (24 + 1 + 4 + 4 + 4 + 8
 * + 1 bytes with an empty message; 1 KiB leaves plenty). */
#define LIST_ROOM (FRAME_LIMIT_DEFAULT - 1024)

struct list_ctx {
	struct service *svc;
	struct client_lease *leases;
	struct client_kv *kvs;
	uint32_t n, cap;
	bool failed;
	size_t room;       /* bytes left in the answer */
	uint64_t limit;    /* items allowed, 0: any */
	const char *after; /* paged: skip this one (the walk starts there) */
	size_t after_len;
	bool more; /* stopped before the end */
};

/* Does one more item of `bytes` (encoded) fit?  Sets more when not. */
static bool list_fits(struct list_ctx *l, size_t bytes)
{
	if ((l->limit && l->n >= l->limit) || bytes > l->room) {
		l->more = true;
		return false;
	}
	l->room -= bytes;
	return true;
}

static bool list_skip(const struct list_ctx *l, const char *k, size_t len)
{
	return l->after && len == l->after_len && !memcmp(k, l->after, len);
}

static bool list_grow(struct list_ctx *l, size_t elem, void **arr)
{
	if (l->n < l->cap)
		return true;
	uint32_t cap = l->cap ? l->cap * 2 : 64;
	void *p = realloc(*arr, cap * elem);
	if (!p) {
		l->failed = true;
		return false;
	}
	*arr = p;
	l->cap = cap;
	return true;
}

static bool add_lease(void *arg, const struct sm_lease *le)
{
	struct list_ctx *l = arg;
	if (list_skip(l, le->name.p, le->name.len))
		return true;
	if (!list_fits(l, 4 + le->name.len + 4 + le->holder.len + 3 * 8) ||
	    !list_grow(l, sizeof(*l->leases), (void **)&l->leases))
		return false;
	fill_lease(l->svc, &l->leases[l->n++], le);
	return true;
}

static bool add_kv(void *arg, const struct sm_key *k)
{
	struct list_ctx *l = arg;
	if (list_skip(l, k->key.p, k->key.len))
		return true;
	if (!list_fits(l, 4 + k->key.len + 4 + k->value.len + 4 + k->lease.len +
				  2 * 8) ||
	    !list_grow(l, sizeof(*l->kvs), (void **)&l->kvs))
		return false;
	fill_kv(&l->kvs[l->n++], k);
	return true;
}

/* Serve a read from the local state machine (already confirmed current
 * when linearizable). */
static void serve_read(struct service *s, struct request *rq)
{
	struct client_response r;
	memset(&r, 0, sizeof(r));
	struct sm *sm = node_sm(s->node);
	struct list_ctx l = { .svc = s,
			      .room = LIST_ROOM,
			      .limit = rq->limit,
			      .after = rq->after,
			      .after_len = rq->after_len };
	r.revision = sm_revision(sm);
	switch (rq->op) {
	case CLIENT_OP_LEASE_GET: {
		struct sm_lease le;
		r.present = sm_lease_get(sm, rq->arg, rq->arg_len, &le);
		if (r.present)
			fill_lease(s, &r.lease, &le);
		else
			r.status = CLIENT_NOT_FOUND;
		break;
	}
	case CLIENT_OP_GET: {
		struct sm_key k;
		r.present = sm_key_get(sm, rq->arg, rq->arg_len, &k);
		if (r.present)
			fill_kv(&r.kv, &k);
		else
			r.status = CLIENT_NOT_FOUND;
		break;
	}
	case CLIENT_OP_LEASE_LIST:
		sm_lease_each(sm, add_lease, &l);
		r.leases = l.leases;
		r.n = l.n;
		break;
	case CLIENT_OP_LIST:
		sm_key_each(sm, rq->arg, rq->arg_len, add_kv, &l);
		r.kvs = l.kvs;
		r.n = l.n;
		break;
	case CLIENT_OP_LEASE_LIST_PAGE:
		sm_lease_each_from(sm, rq->after, rq->after_len, add_lease, &l);
		r.leases = l.leases;
		r.n = l.n;
		r.more = l.more;
		break;
	case CLIENT_OP_LIST_PAGE:
		sm_key_each_from(sm, rq->arg, rq->arg_len, rq->after,
				 rq->after_len, add_kv, &l);
		r.kvs = l.kvs;
		r.n = l.n;
		r.more = l.more;
		break;
	}
	bool paged = rq->op == CLIENT_OP_LIST_PAGE ||
		     rq->op == CLIENT_OP_LEASE_LIST_PAGE;
	if (l.failed)
		answer_status(rq, CLIENT_EINTERNAL, "out of memory");
	else if (l.more && !paged)
		/* The unpaged answer has no way to say "there is more": a
		 * truncated list would look complete. */
		answer_status(rq, CLIENT_EINVAL,
			      "the list does not fit in one answer (1 MiB): "
			      "ask for it page by page (LIST_PAGE, "
			      "LEASE_LIST_PAGE; tenurectl does) or narrow "
			      "the prefix");
	else
		answer(rq, &r);
	free(l.leases);
	free(l.kvs);
}

static void on_read_ready(void *arg, int status)
{
	struct request *rq = arg;
	if (status == 0)
		serve_read(rq->svc, rq);
	else if (status == RAFT_ESHUTDOWN)
		answer_status(rq, CLIENT_ESHUTDOWN, "witness shutting down");
	else
		answer_status(rq, CLIENT_ENOQUORUM,
			      "leadership lost before the read was confirmed; "
			      "retry");
	request_free(rq);
}

static void handle_read(struct service *s, struct request *rq,
			const struct client_request *q)
{
	struct client_str arg = q->op == CLIENT_OP_LEASE_GET ? q->name
				: q->op == CLIENT_OP_GET     ? q->key
							     : q->prefix;
	if (!request_keep_arg(rq, q, arg)) {
		answer_status(rq, CLIENT_EINTERNAL, "out of memory");
		request_free(rq);
		return;
	}
	if (q->consistency == CLIENT_LOCAL) {
		serve_read(s, rq);
		request_free(rq);
		return;
	}
	int rv = node_read(s->node, on_read_ready, rq);
	if (rv) {
		answer_status(rq, raft_to_client(rv), raft_strerror(rv));
		request_free(rq);
	}
}

/* ---- watches ------------------------------------------------------------------------- */

/* Watches one connection may hold: each event is copied to every
 * matching watch, so many watches on one connection multiply a single put
 * into that much queued output. */
#define WATCHES_PER_SESSION 64

static void handle_watch(struct service *s, struct request *rq,
			 const struct client_request *q)
{
	if (watch_index_count_of(&s->watches, rq->sess) >=
	    WATCHES_PER_SESSION) {
		answer_status(rq, CLIENT_EINVAL,
			      "too many watches on this connection (64): "
			      "cancel one, or watch a wider prefix");
		request_free(rq);
		return;
	}
	if (!watch_index_add(&s->watches, rq->sess, rq->id, q->watch_kind == 1,
			     q->prefix.p, q->prefix.len)) {
		answer_status(rq, CLIENT_EINTERNAL, "out of memory");
		request_free(rq);
		return;
	}
	s->ops.ref(rq->sess);
	answer_status(rq, CLIENT_OK, NULL);
	request_free(rq);
}

static void watch_remove(struct service *s, struct watch_entry *w)
{
	struct session *sess = w->sess;
	watch_index_remove(&s->watches, w);
	s->ops.unref(sess);
}

static void handle_cancel(struct service *s, struct request *rq,
			  const struct client_request *q)
{
	struct watch_entry *w = watch_index_find(&s->watches, rq->sess,
						 q->watch_id);
	if (!w) {
		answer_status(rq, CLIENT_NOT_FOUND,
			      "no such watch on this connection");
		request_free(rq);
		return;
	}
	watch_remove(s, w);
	answer_status(rq, CLIENT_OK, NULL);
	request_free(rq);
}

void service_session_closed(struct service *s, struct session *sess)
{
	struct watch_entry *w;
	while ((w = watch_index_any_of(&s->watches, sess)))
		watch_remove(s, w);
}

/* Room for n targets in the scratch array. */
static bool targets_room(struct service *s, size_t n)
{
	if (n <= s->cap_targets)
		return true;
	size_t cap = s->cap_targets ? s->cap_targets : 16;
	while (cap < n)
		cap *= 2;
	void *t = realloc(s->targets, cap * sizeof(*s->targets));
	if (!t)
		return false;
	s->targets = t;
	s->cap_targets = cap;
	return true;
}

/* The watches ev goes to, copied out (each session held meanwhile). */
static size_t watch_targets(struct service *s, bool lease_kind,
			    struct sm_str name)
{
	size_t n = watch_index_match(&s->watches, lease_kind, name.p, name.len,
				     s->targets, s->cap_targets);
	if (n > s->cap_targets) {
		if (!targets_room(s, n)) {
			log_event(LOG_ERROR, "watch_events_dropped",
				  "reason=out_of_memory watches=%zu", n);
			n = s->cap_targets;
		}
		n = watch_index_match(&s->watches, lease_kind, name.p, name.len,
				      s->targets, n);
	}
	for (size_t i = 0; i < n; i++)
		s->ops.ref(s->targets[i].sess);
	return n;
}

static void notify_watches(struct service *s, const struct sm_event *ev)
{
	bool lease_kind = ev->lease != NULL;
	struct client_event e;
	memset(&e, 0, sizeof(e));
	e.type = ev->type;
	e.revision = ev->revision;
	struct sm_str name;
	if (lease_kind) {
		fill_lease(s, &e.lease, ev->lease);
		name = ev->lease->name;
	} else {
		fill_kv(&e.kv, ev->key);
		name = ev->key->key;
	}
	size_t n = watch_targets(s, lease_kind, name);
	for (size_t i = 0; i < n; i++) {
		struct watch_ref *t = &s->targets[i];
		if (s->ops.is_open(t->sess)) {
			e.watch_id = t->id;
			s->ops.event(t->sess, &e, lease_kind);
			if (lease_kind)
				s->stats.watch_events_leases++;
			else
				s->stats.watch_events_keys++;
		}
		s->ops.unref(t->sess);
	}
}

/* ---- lease countdowns (leader only) ------------------------------------------------ */

static void track_lease(struct service *s, const struct sm_lease *l,
			uint64_t from_ms)
{
	if (!lease_clock_set(&s->clock, l->name.p, l->name.len,
			     from_ms + l->ttl_ms, l->token, l->renew_revision))
		log_event(LOG_ERROR, "lease_clock_full",
			  "reason=out_of_memory");
}

static void on_sm_event(void *arg, const struct sm_event *ev)
{
	struct service *s = arg;
	if (s->leader && ev->lease) {
		if (ev->type == SM_EV_GRANT || ev->type == SM_EV_RENEW)
			track_lease(s, ev->lease, node_now_ms());
		else if (ev->type == SM_EV_RELEASE || ev->type == SM_EV_EXPIRE)
			lease_clock_remove(&s->clock, ev->lease->name.p,
					   ev->lease->name.len);
	}
	if (ev->lease && ev->type != SM_EV_RENEW) {
		char holder[SM_HOLDER_MAX + 1];
		size_t hl = ev->lease->holder.len;
		memcpy(holder, ev->lease->holder.p, hl);
		holder[hl] = '\0';
		log_event(LOG_INFO,
			  ev->type == SM_EV_GRANT     ? "lease_granted"
			  : ev->type == SM_EV_RELEASE ? "lease_released"
						      : "lease_expired",
			  "lease=%.*s holder=%s token=%llu revision=%llu",
			  (int)ev->lease->name.len, ev->lease->name.p,
			  hl ? holder : "-",
			  (unsigned long long)ev->lease->token,
			  (unsigned long long)ev->revision);
	}
	notify_watches(s, ev);
}

static bool start_held(void *arg, const struct sm_lease *l)
{
	struct service *s = arg;
	if (l->holder.len)
		track_lease(s, l, node_now_ms());
	return true;
}

/* The entries of our log not yet applied may still commit, ahead of
 * anything we propose: their growth counts as ours does. */
static void track_log_tail(struct service *s)
{
	struct raft *r = node_raft(s->node);
	uint64_t last = raft_last_index(r);
	struct sm_cmd c;

	for (uint64_t i = sm_applied_index(node_sm(s->node)) + 1; i <= last;
	     i++) {
		const struct raft_entry *e = raft_entry_at(r, i);
		if (!e || e->type != RAFT_ENTRY_NORMAL ||
		    sm_cmd_decode(e->data.base, e->data.len, &c, NULL) != 0)
			continue;
		track_proposal(s, i, &c);
	}
}

static void on_role(void *arg, int state, raft_term term, raft_id leader)
{
	struct service *s = arg;
	bool was = s->leader;
	s->leader = state == RAFT_LEADER;
	if (s->leader == was)
		return;
	lease_clock_clear(&s->clock);
	scope_admit_reset(&s->admit);
	/* A new leader gives every held lease a full TTL from now: it cannot
	 * know when the old leader last renewed, only that it was before. */
	if (s->leader) {
		sm_lease_each(node_sm(s->node), start_held, s);
		track_log_tail(s);
	}
	(void)term;
	(void)leader;
}

static bool collect_due(void *arg, const struct lease_clock_entry *e)
{
	struct expiry_round *r = arg;
	struct lease_clock_entry *copy = &r->due[r->n];
	*copy = *e;
	copy->name = malloc(e->len ? e->len : 1);
	if (!copy->name)
		return false;
	memcpy(copy->name, e->name, e->len);
	r->n++;
	return r->n < 1024; /* one bounded round at a time */
}

static void expiry_round_free(struct expiry_round *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->due[i].name);
	free(r->due);
	free(r);
}

static void on_expired(void *arg, int status, const struct sm_result *res,
		       uint64_t index)
{
	(void)arg;
	(void)status;
	(void)res;
	(void)index;
}

static void propose_expiry(struct service *s, const struct lease_clock_entry *e)
{
	struct sm_cmd c;
	memset(&c, 0, sizeof(c));
	c.type = SM_CMD_LEASE_EXPIRE;
	c.name.p = e->name;
	c.name.len = e->len;
	c.token = e->token;
	c.revision = e->renew_revision;
	struct wire_writer w;
	wire_writer_init(&w);
	if (sm_cmd_encode(&w, &c) &&
	    node_propose(s->node, w.buf, w.len, on_expired, NULL) == 0)
		s->stats.expiries_proposed++;
	wire_writer_free(&w);
}

/* The quorum round started after the deadlines passed came back: we were
 * still leader then, so no other witness can have granted anything. */
static void on_expiry_confirmed(void *arg, int status)
{
	struct expiry_round *r = arg;
	struct service *s = r->svc;
	s->expiry_inflight = false;
	if (status == 0 && s->leader) {
		uint64_t now = node_now_ms();
		for (size_t i = 0; i < r->n; i++) {
			const struct lease_clock_entry *cur =
				lease_clock_get(&s->clock, r->due[i].name,
						r->due[i].len);
			if (cur && cur->deadline_ms <= now &&
			    cur->renew_revision == r->due[i].renew_revision)
				propose_expiry(s, cur);
		}
	}
	expiry_round_free(r);
}

static void check_expiries(struct service *s)
{
	if (!s->leader || s->expiry_inflight)
		return;
	struct expiry_round *r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->svc = s;
	r->due = calloc(1024, sizeof(*r->due));
	if (!r->due) {
		free(r);
		return;
	}
	lease_clock_due(&s->clock, node_now_ms(), collect_due, r);
	if (r->n == 0) {
		expiry_round_free(r);
		return;
	}
	s->expiry_inflight = true;
	if (node_read(s->node, on_expiry_confirmed, r)) {
		s->expiry_inflight = false;
		expiry_round_free(r);
	}
}

/* ---- timeouts ---------------------------------------------------------------------------- */

static void check_timeouts(struct service *s)
{
	uint64_t now = node_now_ms();
	for (struct request *rq = s->pending; rq; rq = rq->next)
		if (!rq->answered &&
		    now >= rq->started_ms + s->opt.request_timeout_ms)
			/* The outcome is unknown: it may still commit. */
			answer_status(rq, CLIENT_ETIMEOUT,
				      "no answer within the request timeout; "
				      "the outcome is unknown");
}

static void on_tick(uv_timer_t *t)
{
	struct service *s = t->data;
	check_expiries(s);
	check_timeouts(s);
}

/* ---- status and membership --------------------------------------------------------------- */

void service_member_name(const char *addr, char *out, size_t len)
{
	const char *eq = strchr(addr, '=');
	size_t n = eq ? (size_t)(eq - addr) : strlen(addr);
	if (n >= len)
		n = len - 1;
	memcpy(out, addr, n);
	out[n] = '\0';
}

static void handle_status(struct service *s, struct request *rq)
{
	struct raft *raft = node_raft(s->node);
	struct client_response r;
	memset(&r, 0, sizeof(r));
	struct client_status_body *b = &r.status_body;
	char leader[RAFT_ADDR_MAX] = "";
	const struct raft_server *ls =
		raft_config_get(raft_config_current(raft), raft_leader(raft));
	if (ls)
		service_member_name(ls->addr, leader, sizeof(leader));
	b->name = czstr(s->opt.name);
	b->role = czstr(raft_state_name(raft_state(raft)));
	b->leader = czstr(leader);
	b->id = raft_self(raft);
	b->term = raft_term_current(raft);
	b->commit = raft_commit_index(raft);
	b->applied = sm_applied_index(node_sm(s->node));
	b->last_index = raft_last_index(raft);
	b->revision = sm_revision(node_sm(s->node));
	b->leases = sm_lease_count(node_sm(s->node));
	b->keys = sm_key_count(node_sm(s->node));
	answer(rq, &r);
	request_free(rq);
}

/* Answered by any witness, from its own view, as GET /health is. */
static void handle_health(struct service *s, struct request *rq)
{
	struct client_response r;
	memset(&r, 0, sizeof(r));
	const char *why = health_problem(s->node);
	r.health_body.healthy = why == NULL;
	r.health_body.reason = czstr(why ? why : "");
	r.health_body.disk_write_errors = node_disk_health(s->node)->errors;
	answer(rq, &r);
	request_free(rq);
}

/* This witness's release and the log commands it knows: what tenurectl
 * cluster move checks before it writes a floor (proto/client.h). */
static void handle_version(struct request *rq)
{
	struct client_response r;
	_Static_assert(SM_CMD_LAST >= CLIENT_COMMANDS_FLOOR,
		       "the floor is command type 8");
	memset(&r, 0, sizeof(r));
	r.version_body.version = czstr(tenure_version());
	r.version_body.commands = SM_CMD_LAST;
	answer(rq, &r);
	request_free(rq);
}

/* Where the leader's clients go first if it dies (client.h SUCCESSOR). */
static void handle_successor(struct service *s, struct request *rq)
{
	struct raft *raft = node_raft(s->node);
	if (raft_state(raft) != RAFT_LEADER) {
		answer_status(rq, CLIENT_ENOTLEADER,
			      "successor: ask the leader");
		request_free(rq);
		return;
	}
	raft_id next = raft_successor(raft);
	const char *addr = next && s->opt.peer_client_addr
				   ? s->opt.peer_client_addr(s->opt.peer_arg,
							     next)
				   : NULL;
	struct client_response r;
	memset(&r, 0, sizeof(r));
	r.successor_body.client_addr = czstr(addr);
	answer(rq, &r);
	request_free(rq);
}

static void handle_member_list(struct service *s, struct request *rq)
{
	struct raft *raft = node_raft(s->node);
	const struct raft_config *c = raft_config_current(raft);
	struct client_member m[RAFT_MAX_SERVERS];
	char names[RAFT_MAX_SERVERS][RAFT_ADDR_MAX];
	memset(m, 0, sizeof(m));
	for (unsigned i = 0; i < c->n; i++) {
		const struct raft_server *sv = &c->servers[i];
		service_member_name(sv->addr, names[i], sizeof(names[i]));
		m[i].name = czstr(names[i]);
		m[i].peer_addr = czstr(transport_dial_addr(sv->addr));
		const char *client =
			s->opt.peer_client_addr
				? s->opt.peer_client_addr(s->opt.peer_arg,
							  sv->id)
				: NULL;
		m[i].client_addr = czstr(client);
		m[i].id = sv->id;
		m[i].voter = sv->role == RAFT_VOTER;
		/* the link itself: client addresses are not known yet */
		m[i].connected = node_peer_connected(s->node, sv->id);
		m[i].match = raft_peer_match(raft, sv->id);
	}
	struct client_response r;
	memset(&r, 0, sizeof(r));
	r.members = m;
	r.n = c->n;
	answer(rq, &r);
	request_free(rq);
}

uint64_t service_member_id(const char *name, size_t len)
{
	uint64_t h = hash_fnv1a(name, len);
	return h ? h : 1;
}

static void on_member_changed(void *arg, int status,
			      const struct sm_result *res, uint64_t index)
{
	struct request *rq = arg;
	(void)res;
	(void)index;
	answer_status(rq, status == 0 ? CLIENT_OK : CLIENT_ENOQUORUM,
		      status == 0 ? NULL : "the change did not commit; retry");
	request_free(rq);
}

static void handle_member_change(struct service *s, struct request *rq,
				 const struct client_request *q)
{
	uint64_t id = service_member_id(q->name.p, q->name.len);
	char addr[RAFT_ADDR_MAX];
	int n = snprintf(addr, sizeof(addr), "%.*s=%.*s", (int)q->name.len,
			 q->name.p, (int)q->peer_addr.len, q->peer_addr.p);
	if (n < 0 || (size_t)n >= sizeof(addr)) {
		answer_status(rq, CLIENT_EINVAL,
			      "member name and address "
			      "too long");
		request_free(rq);
		return;
	}
	int op = q->op == CLIENT_OP_MEMBER_ADD ? RAFT_CHANGE_ADD_LEARNER
					       : RAFT_CHANGE_REMOVE;
	int rv = node_change(s->node, op, id, addr, on_member_changed, rq);
	if (rv) {
		answer_status(rq,
			      rv == RAFT_ENOTFOUND ? CLIENT_NOT_FOUND
						   : raft_to_client(rv),
			      raft_strerror(rv));
		request_free(rq);
	}
}

/* A learner added through MEMBER_ADD becomes a voter once caught up. */
static void promote_caught_up(struct service *s)
{
	struct raft *raft = node_raft(s->node);
	if (!s->leader)
		return;
	const struct raft_config *c = raft_config_current(raft);
	for (unsigned i = 0; i < c->n; i++) {
		const struct raft_server *sv = &c->servers[i];
		if (sv->role != RAFT_LEARNER ||
		    raft_peer_match(raft, sv->id) < raft_commit_index(raft))
			continue;
		if (node_change(s->node, RAFT_CHANGE_PROMOTE, sv->id, NULL,
				on_expired, NULL) == 0)
			log_event(LOG_INFO, "member_promoted", "id=%llu",
				  (unsigned long long)sv->id);
		return; /* one change at a time */
	}
}

static void handle_transfer(struct service *s, struct request *rq,
			    const struct client_request *q)
{
	uint64_t to = q->to_name.len
			      ? service_member_id(q->to_name.p, q->to_name.len)
			      : 0;
	int rv = node_transfer(s->node, to);
	if (rv)
		answer_status(rq,
			      rv == RAFT_ENOTFOUND ? CLIENT_NOT_FOUND
						   : raft_to_client(rv),
			      raft_strerror(rv));
	else
		answer_status(rq, CLIENT_OK, NULL);
	request_free(rq);
}

/* ---- scopes ------------------------------------------------------------------------------- */

struct scopes_ctx {
	struct service *svc;
	struct client_scope *out;
	uint32_t n, cap;
	size_t room;
	bool more;
	uint64_t now;
};

static bool add_scope(void *arg, const struct sm_scope *sc)
{
	struct scopes_ctx *x = arg;
	struct scope_rate_stats st;
	size_t bytes = 4 + sc->name.len + 6 * 8;
	if (x->n == x->cap || bytes > x->room) {
		x->more = true;
		return false;
	}
	x->room -= bytes;
	scope_rate_get(&x->svc->scope_rate, sc->name.p, sc->name.len, x->now,
		       &st);
	x->out[x->n++] = (struct client_scope){
		.name = cstr(sc->name.p, sc->name.len),
		.keys = sc->keys,
		.bytes = sc->bytes,
		.leases = sc->leases,
		.requests = st.requests,
		.last_second = st.last_second,
		.refused = st.refused_rate + st.refused_quota,
	};
	return true;
}

/* The leader's view: it serves every write and linearizable read, so its
 * request counts are the cluster's; a follower sends the client there. */
static void handle_scopes(struct service *s, struct request *rq)
{
	struct sm *sm = node_sm(s->node);
	struct client_response r;
	struct scopes_ctx x = { .svc = s,
				.room = LIST_ROOM,
				.now = uv_now(s->loop) };
	if (raft_state(node_raft(s->node)) != RAFT_LEADER) {
		answer_status(rq, CLIENT_ENOTLEADER, "scopes: ask the leader");
		request_free(rq);
		return;
	}
	x.cap = (uint32_t)sm_scope_count(sm);
	x.out = x.cap ? calloc(x.cap, sizeof(*x.out)) : NULL;
	if (x.cap && !x.out) {
		answer_status(rq, CLIENT_EINTERNAL, "out of memory");
		request_free(rq);
		return;
	}
	sm_scope_each(sm, add_scope, &x);
	memset(&r, 0, sizeof(r));
	r.scopes = x.out;
	r.n = x.n;
	r.scopes_body = (struct client_scopes_body){
		.more = x.more,
		.max_keys = s->opt.quota.keys,
		.max_bytes = s->opt.quota.bytes,
		.max_leases = s->opt.quota.leases,
		.max_requests_per_second = s->opt.scope_max_requests_per_second,
	};
	answer(rq, &r);
	free(x.out);
	request_free(rq);
}

/* Over its scope's rate: answered busy before anything is proposed or
 * read, which the client library retries with backoff (tclient.h).
 * Renewals are counted but never refused: the flood of one cluster must
 * not cost it its primary lease on top. */
static bool over_scope_rate(struct service *s, struct request *rq,
			    const struct client_request *q)
{
	const char *scope;
	size_t len = scope_of_request(q, &scope);
	char msg[CLIENT_MESSAGE_MAX];
	if (!len ||
	    scope_rate_admit(&s->scope_rate, scope, len, uv_now(s->loop),
			     q->op == CLIENT_OP_LEASE_RENEW))
		return false;
	scope_rate_message(msg, sizeof(msg), scope, len,
			   s->opt.scope_max_requests_per_second);
	answer_status(rq, CLIENT_EBUSY, msg);
	request_free(rq);
	return true;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

void service_handle(struct service *s, struct session *sess,
		    const struct client_request *q)
{
	struct request *rq = request_new(s, sess, q);
	if (!rq)
		return; /* the client's deadline answers for us */
	if (q->op >= CLIENT_OP_HELLO && q->op < CLIENT_OP_END)
		s->stats.requests[q->op - CLIENT_OP_HELLO]++;
	if (over_scope_rate(s, rq, q))
		return;
	switch (q->op) {
	case CLIENT_OP_LEASE_ACQUIRE:
	case CLIENT_OP_LEASE_RENEW:
	case CLIENT_OP_LEASE_RELEASE:
	case CLIENT_OP_PUT:
	case CLIENT_OP_DELETE:
	case CLIENT_OP_CAS:
	case CLIENT_OP_LEASE_FLOOR:
		handle_write(s, rq, q);
		return;
	case CLIENT_OP_LEASE_GET:
	case CLIENT_OP_LEASE_LIST:
	case CLIENT_OP_GET:
	case CLIENT_OP_LIST:
	case CLIENT_OP_LEASE_LIST_PAGE:
	case CLIENT_OP_LIST_PAGE:
		handle_read(s, rq, q);
		return;
	case CLIENT_OP_WATCH:
		handle_watch(s, rq, q);
		return;
	case CLIENT_OP_CANCEL:
		handle_cancel(s, rq, q);
		return;
	case CLIENT_OP_STATUS:
		handle_status(s, rq);
		return;
	case CLIENT_OP_MEMBER_LIST:
		handle_member_list(s, rq);
		return;
	case CLIENT_OP_HEALTH:
		handle_health(s, rq);
		return;
	case CLIENT_OP_VERSION:
		handle_version(rq);
		return;
	case CLIENT_OP_SUCCESSOR:
		handle_successor(s, rq);
		return;
	case CLIENT_OP_SCOPES:
		handle_scopes(s, rq);
		return;
	case CLIENT_OP_MEMBER_ADD:
	case CLIENT_OP_MEMBER_REMOVE:
		handle_member_change(s, rq, q);
		return;
	case CLIENT_OP_TRANSFER:
		handle_transfer(s, rq, q);
		return;
	case CLIENT_OP_HELLO:
		answer_status(rq, CLIENT_OK, NULL);
		request_free(rq);
		return;
	}
	answer_status(rq, CLIENT_EINVAL, "unknown request");
	request_free(rq);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void on_slow_tick(uv_timer_t *t);

int service_start(uv_loop_t *loop, struct node *node,
		  const struct service_options *o,
		  const struct service_session_ops *ops, struct service **out)
{
	struct service *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	watch_index_init(&s->watches);
	s->loop = loop;
	s->node = node;
	s->opt = *o;
	if (!s->opt.request_timeout_ms)
		s->opt.request_timeout_ms = 5000;
	s->ops = *ops;
	lease_clock_init(&s->clock);
	scope_rate_init(&s->scope_rate, s->opt.scope_max_requests_per_second);
	scope_admit_init(&s->admit);
	node_set_callbacks(node, on_sm_event, on_role, s);
	uv_timer_init(loop, &s->tick);
	s->tick.data = s;
	uv_timer_start(&s->tick, on_slow_tick, TICK_MS, TICK_MS);
	*out = s;
	return 0;
}

static void on_slow_tick(uv_timer_t *t)
{
	on_tick(t);
	promote_caught_up(t->data);
}

static void on_tick_closed(uv_handle_t *h)
{
	struct service *s = h->data;
	lease_clock_free(&s->clock);
	scope_rate_free(&s->scope_rate);
	scope_admit_free(&s->admit);
	free(s->targets);
	free(s);
}

static void unref_watcher(void *ctx, struct session *sess)
{
	struct service *s = ctx;
	s->ops.unref(sess);
}

/* Call after node_stop() has failed every pending request. */
void service_stop(struct service *s)
{
	watch_index_clear(&s->watches, unref_watcher, s);
	uv_timer_stop(&s->tick);
	uv_close((uv_handle_t *)&s->tick, on_tick_closed);
}

void service_stats(const struct service *s, struct service_stats *out)
{
	*out = s->stats;
	out->leases_tracked = s->clock.n;
}

void service_scope_stats(const struct service *s, struct sm_str scope,
			 struct scope_rate_stats *out)
{
	scope_rate_get(&s->scope_rate, scope.p, scope.len, uv_now(s->loop),
		       out);
}

const struct service_options *service_options(const struct service *s)
{
	return &s->opt;
}

void service_set_scope_limits(struct service *s, const struct scope_quota *q,
			      uint64_t requests_per_second)
{
	s->opt.quota = *q;
	s->opt.scope_max_requests_per_second = requests_per_second;
	scope_rate_set_limit(&s->scope_rate, requests_per_second);
}
