/*
 * agent_keys.c — what the agent reads from the witnesses each tick (the
 * primary lease and the keys of its scope it acts on) and what it writes
 * (its member record, S/sync, history, ...).  Reads are linearizable: a
 * failover decision is never taken on a stale view.
 *
 * A tick does not list the whole scope: S/drills/ (drill results, several
 * KB each) is never read, and of S/history/ only what is new since the
 * last tick, from the newest key already known (fencing/scope_keys.h).
 * The rest of the scope is listed page by page from S/history/ on, and
 * the keys used that sort before it (S/config, S/demoted, S/drill) are
 * read by name.  Every part is its own linearizable read, all started this tick
 * (the lease and the keys always were two reads); what is remembered of
 * older history entries only fills /history, while the newest entry, the
 * one the failover rules use (hist_primary), is confirmed by every read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/flatjson.h"
#include "fencing/roster.h"
#include "fencing/scope_keys.h"
#include "fencing/view_currency.h"
#include "proto/limits.h"

static struct client_str str(const char *s)
{
	return (struct client_str){ .p = s, .len = strlen(s) };
}

static void copy_str(char *dst, size_t cap, struct client_str s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;
	memcpy(dst, s.p, n);
	dst[n] = '\0';
}

const struct member *keys_find_member(const struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->view.n_members; i++)
		if (strcmp(a->view.members[i].name, name) == 0)
			return &a->view.members[i];
	return NULL;
}

/* ---- reading the view ----------------------------------------------------- */

struct view_read {
	struct agent *a;
	void (*done)(struct agent *a, bool ok);
	int pending;
	bool ok;
	struct witness_view next;
	/* the listing from S/history/ on */
	char known[AGENT_KEY_MAX + 1]; /* the newest history key known */
	struct scope_walk walk;
	bool restart;       /* known is gone: list it all */
	uint64_t trace_seq; /* the read of the primary (lease_trace.h) */
	uint64_t gen;       /* view_currency_read_begin() */
};

/* The keys take_kv() knows that sort before S/history/: read by name,
 * since a listing from the start of the scope would pass S/drills/. */
static const char *const early_keys[] = { "config", "demoted", "drill" };
#define N_EARLY (sizeof(early_keys) / sizeof(early_keys[0]))

static bool switch_field(void *arg, const char *key,
			 const struct flatjson_value *v, char *err,
			 size_t errlen)
{
	struct witness_view *w = arg;
	if (v->type == FLATJSON_STRING && strcmp(key, "candidate") == 0)
		snprintf(w->switch_candidate, sizeof(w->switch_candidate), "%s",
			 v->str);
	else if (v->type == FLATJSON_STRING && strcmp(key, "from") == 0)
		snprintf(w->switch_from, sizeof(w->switch_from), "%s", v->str);
	else if (v->type == FLATJSON_STRING && strcmp(key, "kind") == 0)
		w->switch_is_failover = strcmp(v->str, "failover") == 0;
	else if (v->type == FLATJSON_BOOL && strcmp(key, "force") == 0)
		w->switch_force = v->b;
	else if (strcmp(key, "requested_ms") == 0)
		return flatjson_u64(key, v, &w->switch_requested_ms, err,
				    errlen);
	else if (strcmp(key, "at_ms") == 0)
		return flatjson_u64(key, v, &w->switch_at_ms, err, errlen);
	return true;
}

static bool history_field(void *arg, const char *key,
			  const struct flatjson_value *v, char *err,
			  size_t errlen)
{
	struct witness_view *w = arg;
	if (v->type == FLATJSON_STRING && strcmp(key, "new") == 0)
		snprintf(w->hist_primary, sizeof(w->hist_primary), "%s",
			 v->str);
	else if (strcmp(key, "token") == 0)
		return flatjson_u64(key, v, &w->hist_token, err, errlen);
	return true;
}

static bool drill_field(void *arg, const char *key,
			const struct flatjson_value *v, char *err,
			size_t errlen)
{
	struct witness_view *w = arg;
	if (v->type == FLATJSON_STRING && strcmp(key, "target") == 0)
		snprintf(w->drill_target, sizeof(w->drill_target), "%s",
			 v->str);
	else if (strcmp(key, "token") == 0)
		return flatjson_u64(key, v, &w->drill_token, err, errlen);
	return true;
}

/* One S/history/ entry, listed in key order, so the last one taken is the
 * newest.  again: the newest known entry listed again, whose slot (the
 * last) it refreshes instead of adding one. */
static void take_history(struct witness_view *w, const struct client_kv *kv,
			 const char *key, bool again)
{
	char err[128];
	if (!again || w->n_history == 0) {
		if (w->n_history == AGENT_MAX_HISTORY) {
			memmove(w->history[0], w->history[1],
				sizeof(w->history[0]) *
					(AGENT_MAX_HISTORY - 1));
			w->n_history--;
		}
		w->n_history++;
	}
	copy_str(w->history[w->n_history - 1], sizeof(w->history[0]),
		 kv->value);
	/* A key that cannot be a start_after later: read all of them then. */
	if (kv->key.len < sizeof(w->hist_key) &&
	    !memchr(kv->key.p, '\0', kv->key.len))
		copy_str(w->hist_key, sizeof(w->hist_key), kv->key);
	else
		w->hist_key[0] = '\0';
	if (!flatjson_parse(kv->value.p, kv->value.len, history_field, w, err,
			    sizeof(err)))
		log_event(LOG_WARN, "bad_history_entry", "key=%s", key);
}

/* S/restart, this node's S/reload/NAME and S/reinit/NAME, and every
 * S/results/NAME (fencing/requests.h).  False: not one of them. */
static bool take_request(struct agent *a, struct witness_view *w, const char *k,
			 const struct client_kv *kv)
{
	char err[128];
	const char *name = a->conf->name;
	bool ok = true;
	if (strcmp(k, "restart") == 0) {
		ok = w->restart_present = restart_request_decode(kv->value.p,
								 kv->value.len,
								 &w->restart,
								 err,
								 sizeof(err));
	} else if (strncmp(k, "reload/", 7) == 0) {
		if (strcmp(k + 7, name) == 0)
			ok = w->reload_present =
				node_request_decode(kv->value.p, kv->value.len,
						    &w->reload, err,
						    sizeof(err));
	} else if (strncmp(k, "reinit/", 7) == 0) {
		if (strcmp(k + 7, name) == 0)
			ok = w->reinit_present =
				node_request_decode(kv->value.p, kv->value.len,
						    &w->reinit, err,
						    sizeof(err));
	} else if (strncmp(k, "results/", 8) == 0) {
		if (w->n_results == AGENT_MAX_MEMBERS)
			return true;
		struct named_result *r = &w->results[w->n_results];
		snprintf(r->name, sizeof(r->name), "%s", k + 8);
		if ((ok = node_result_decode(kv->value.p, kv->value.len,
					     &r->res, err, sizeof(err))))
			w->n_results++;
	} else {
		return false;
	}
	if (!ok)
		log_event(LOG_WARN, "bad_request_key", "key=%s err=\"%s\"", k,
			  err);
	return true;
}

static void take_kv(struct agent *a, struct witness_view *w,
		    const struct client_kv *kv)
{
	size_t plen = strlen(a->conf->scope);
	if (kv->key.len <= plen + 1)
		return;
	char key[AGENT_KEY_MAX];
	copy_str(key, sizeof(key), kv->key);
	const char *k = key + plen + 1;
	char err[128];
	if (strncmp(k, "members/", 8) == 0) {
		if (w->n_members == AGENT_MAX_MEMBERS)
			return;
		struct member *m = &w->members[w->n_members];
		if (member_decode(kv->value.p, kv->value.len, m, err,
				  sizeof(err)))
			w->n_members++;
		else
			log_event(LOG_WARN, "bad_member_record",
				  "key=%s err=\"%s\"", key, err);
	} else if (strcmp(k, "sync") == 0) {
		copy_str(w->sync, sizeof(w->sync), kv->value);
		w->sync_present = true;
	} else if (strcmp(k, "config") == 0) {
		copy_str(w->config, sizeof(w->config), kv->value);
		w->config_present = true;
	} else if (strcmp(k, "pause") == 0) {
		w->paused = true;
	} else if (strcmp(k, "initialize") == 0) {
		w->initialized = true;
	} else if (strcmp(k, "unguarded") == 0) {
		copy_str(w->unguarded, sizeof(w->unguarded), kv->value);
	} else if (strcmp(k, "moved") == 0) {
		copy_str(w->moved, sizeof(w->moved), kv->value);
	} else if (strcmp(k, "demoted") == 0) {
		copy_str(w->demoted, sizeof(w->demoted), kv->value);
	} else if (strcmp(k, "switchover") == 0) {
		if (!flatjson_parse(kv->value.p, kv->value.len, switch_field, w,
				    err, sizeof(err)))
			log_event(LOG_WARN, "bad_switchover_key", "err=\"%s\"",
				  err);
	} else if (strcmp(k, "drill") == 0) {
		if (!flatjson_parse(kv->value.p, kv->value.len, drill_field, w,
				    err, sizeof(err)))
			log_event(LOG_WARN, "bad_drill_key", "err=\"%s\"", err);
	} else if (strncmp(k, "history/", 8) == 0) {
		take_history(w, kv, key, false);
	} else if (take_request(a, w, k, kv)) {
		/* an operator's request or an agent's result */
	} else if (strcmp(k, "optime") == 0) {
		if (!optime_decode(kv->value.p, kv->value.len, &w->optime, err,
				   sizeof(err)))
			log_event(LOG_WARN, "bad_optime_key", "err=\"%s\"",
				  err);
	}
}

static void view_step_done(struct view_read *v)
{
	if (--v->pending > 0)
		return;
	struct agent *a = v->a;
	view_currency_read_end(&a->cur, v->gen, v->ok, clock_now_ms());
	if (v->ok) {
		v->next.read_ms = clock_now_ms();
		v->next.sync_known = true;
		view_remember_primary(&v->next, &a->view);
		a->view = v->next;
	}
	v->done(a, v->ok);
	free(v);
}

/* Wall clock of the lease's last renewal: the leader counts its TTL down
 * from there (a leader that just took over counts from its start). */
static uint64_t renewed_at(const struct client_lease *l)
{
	uint64_t since = l->ttl_ms > l->remaining_ms
				 ? l->ttl_ms - l->remaining_ms
				 : 0;
	return clock_wall_ms() - since;
}

static void on_lease_get(void *arg, int status, const struct client_response *r)
{
	struct view_read *v = arg;
	lease_trace_ret(&v->a->trace, v->trace_seq, status, r,
			tclient_outcome_unknown(v->a->tc),
			tclient_lost_attempts(v->a->tc));
	if (status == CLIENT_OK || status == CLIENT_NOT_FOUND) {
		if (r && r->present) {
			copy_str(v->next.holder_id, sizeof(v->next.holder_id),
				 r->lease.holder);
			roster_holder_name(r->lease.holder.p,
					   r->lease.holder.len, v->next.holder,
					   sizeof(v->next.holder));
			v->next.token = r->lease.holder.len ? r->lease.token
							    : 0;
			if (r->lease.holder.len)
				v->next.holder_renewed_ms = renewed_at(
					&r->lease);
		}
	} else {
		v->ok = false;
	}
	view_step_done(v);
}

static void on_get(void *arg, int status, const struct client_response *r)
{
	struct view_read *v = arg;
	if (status == CLIENT_OK && r) {
		if (r->present)
			take_kv(v->a, &v->next, &r->kv);
	} else if (status != CLIENT_NOT_FOUND) {
		v->ok = false;
	}
	view_step_done(v);
}

static bool on_walk_kv(void *arg, const struct client_kv *kv)
{
	struct view_read *v = arg;
	switch (scope_walk_step(&v->walk, kv->key.p, kv->key.len)) {
	case SCOPE_TAKE:
		take_kv(v->a, &v->next, kv);
		return true;
	case SCOPE_AGAIN:
		take_history(&v->next, kv, v->known, true);
		return true;
	case SCOPE_SKIP:
		return true;
	case SCOPE_RESTART:
		break;
	}
	v->restart = true;
	return false;
}

static int start_walk(struct view_read *v);

static void on_walk_done(void *arg, bool ok)
{
	struct view_read *v = arg;
	if (ok && !v->restart && scope_walk_end(&v->walk) == SCOPE_RESTART)
		v->restart = true;
	if (ok && v->restart) {
		/* Nothing was taken yet: keys come in order and the history
		 * comes first.  Forget it and list it all. */
		struct witness_view *w = &v->next;
		log_event(LOG_INFO, "history_reread", "gone=%s", v->known);
		v->known[0] = '\0';
		v->restart = false;
		w->n_history = 0;
		w->hist_primary[0] = w->hist_key[0] = '\0';
		w->hist_token = 0;
		if (start_walk(v) == 0)
			return;
		ok = false;
	}
	if (!ok)
		v->ok = false;
	view_step_done(v);
}

/* From just before the newest known history key, or from S/history/ when
 * none is known; keys before it are read by name (early_keys). */
static int start_walk(struct view_read *v)
{
	const char *scope = v->a->conf->scope;
	char prefix[AGENT_KEY_MAX], after[AGENT_KEY_MAX + 1];
	snprintf(prefix, sizeof(prefix), "%s/", scope);
	if (!v->known[0] || !scope_key_before(v->known, strlen(v->known), after,
					      sizeof(after))) {
		v->known[0] = '\0';
		snprintf(after, sizeof(after), "%s/history", scope);
	}
	scope_walk_init(&v->walk, v->known);
	uint64_t timeout = (uint64_t)v->a->live.renew_interval * 2;
	return pages_walk(v->a, prefix, after, timeout, on_walk_kv,
			  on_walk_done, v);
}

/* What is remembered of the history from the last view: the listing
 * starts after it. */
static void carry_history(struct view_read *v, const struct witness_view *prev)
{
	struct witness_view *w = &v->next;
	memcpy(w->history, prev->history,
	       prev->n_history * sizeof(prev->history[0]));
	w->n_history = prev->n_history;
	memcpy(w->hist_primary, prev->hist_primary, sizeof(w->hist_primary));
	w->hist_token = prev->hist_token;
	memcpy(w->hist_key, prev->hist_key, sizeof(w->hist_key));
	memcpy(v->known, prev->hist_key, sizeof(v->known));
}

void keys_read_view(struct agent *a, void (*done)(struct agent *a, bool ok))
{
	struct view_read *v = calloc(1, sizeof(*v));
	if (!v) {
		done(a, false);
		return;
	}
	v->a = a;
	v->done = done;
	v->ok = true;
	v->pending = 2 + (int)N_EARLY;
	v->gen = view_currency_read_begin(&a->cur);
	carry_history(v, &a->view);
	uint64_t timeout = (uint64_t)a->live.renew_interval * 2;
	struct client_request get = {
		.op = CLIENT_OP_LEASE_GET,
		.name = str(a->primary.name),
	};
	v->trace_seq = lease_trace_call(&a->trace, &get);
	if (tclient_request(a->tc, &get, timeout, on_lease_get, v) != 0) {
		lease_trace_ret(&a->trace, v->trace_seq, CLIENT_EINTERNAL, NULL,
				false, 0);
		v->ok = false;
		v->pending--;
	}
	for (size_t i = 0; i < N_EARLY; i++) {
		char key[AGENT_KEY_MAX];
		snprintf(key, sizeof(key), "%s/%s", a->conf->scope,
			 early_keys[i]);
		struct client_request q = { .op = CLIENT_OP_GET,
					    .key = str(key) };
		if (tclient_request(a->tc, &q, timeout, on_get, v) != 0) {
			v->ok = false;
			v->pending--;
		}
	}
	if (start_walk(v) != 0) {
		v->ok = false;
		v->pending--;
	}
	if (v->pending == 0) {
		view_currency_read_end(&a->cur, v->gen, false, clock_now_ms());
		done(a, false);
		free(v);
	}
}

/* ---- writing ------------------------------------------------------------- */

struct key_call {
	struct agent *a;
	keys_done_cb cb;
	void *arg;
	bool on_member; /* attached to the member lease */
	char key[AGENT_KEY_MAX];
};

static void on_key_written(void *arg, int status,
			   const struct client_response *r)
{
	struct key_call *c = arg;
	if (status != CLIENT_OK && status != CLIENT_NOT_FOUND)
		log_event(LOG_WARN, "key_write_failed", "key=%s status=%s",
			  c->key, client_status_name(status));
	if (status == CLIENT_NO_LEASE && c->on_member)
		c->a->member.held = false;
	if (c->cb)
		c->cb(c->a, status, c->arg);
	free(c);
}

/* attach: the lease the key goes with (NULL: none) */
static void write_key(struct agent *a, uint32_t op, const char *suffix,
		      const char *value, const struct held_lease *attach,
		      keys_done_cb cb, void *arg)
{
	struct key_call *c = calloc(1, sizeof(*c));
	if (!c) {
		if (cb)
			cb(a, CLIENT_EINTERNAL, arg);
		return;
	}
	c->a = a;
	c->cb = cb;
	c->arg = arg;
	c->on_member = attach == &a->member;
	snprintf(c->key, sizeof(c->key), "%s/%s", a->conf->scope, suffix);
	struct client_request req = {
		.op = op,
		.key = str(c->key),
		.value = str(value ? value : ""),
	};
	if (attach) {
		req.lease = str(attach->name);
		req.lease_token = attach->token;
	}
	uint64_t timeout = (uint64_t)a->live.lease_ttl;
	if (tclient_request(a->tc, &req, timeout, on_key_written, c) != 0) {
		free(c);
		if (cb)
			cb(a, CLIENT_EINTERNAL, arg);
	}
}

void keys_put(struct agent *a, const char *suffix, const char *value,
	      keys_done_cb cb, void *arg)
{
	write_key(a, CLIENT_OP_PUT, suffix, value, NULL, cb, arg);
}

void keys_delete(struct agent *a, const char *suffix, keys_done_cb cb,
		 void *arg)
{
	write_key(a, CLIENT_OP_DELETE, suffix, NULL, NULL, cb, arg);
}

/* A streaming standby's positions are for display (the lag column): they
 * are written when they moved this far, or changed and are this old. */
#define POSITION_BYTES (1024 * 1024)
#define POSITION_MS 5000
/* An unchanged record is written again this often: the member lease keeps
 * it alive, this only keeps updated_ms from looking abandoned.  Not on the
 * primary lease: its renewals say when the primary was last alive
 * (witness_view.c), and it would be the primary's only write at rest
 * besides them. */
#define HEARTBEAT_MS 30000

static struct member_write_policy write_policy(const struct agent *a,
					       enum record_lease where)
{
	return (struct member_write_policy){
		.primary_ms = (uint64_t)a->conf->renew_interval,
		.position_bytes = POSITION_BYTES,
		.position_ms = POSITION_MS,
		.heartbeat_ms = where == RECORD_ON_PRIMARY ? UINT64_MAX
							   : HEARTBEAT_MS,
	};
}

static const struct held_lease *lease_of(const struct agent *a,
					 enum record_lease where)
{
	return where == RECORD_ON_PRIMARY ? &a->primary : &a->member;
}

/* The record the witnesses hold on the lease where it belongs, as far as
 * this agent knows, or NULL: never written, written on the other lease
 * (record_lease.h: it moves), under a grant since lost (the key went with
 * it), or missing from a view read well after the write. */
static const struct member *last_written(const struct agent *a,
					 enum record_lease where)
{
	const struct sent_record *s = &a->sent;
	if (!s->at_ms || s->lease != where ||
	    s->lease_token != lease_of(a, where)->token)
		return NULL;
	uint64_t settle = 2 * (uint64_t)a->conf->renew_interval;
	if (a->view.read_ms > s->at_ms + settle &&
	    !keys_find_member(a, a->conf->name))
		return NULL;
	return &s->rec;
}

static void self_written(struct agent *a, int status, void *arg)
{
	uint64_t gen = (uint64_t)(uintptr_t)arg;
	if (gen != a->sent.gen)
		return;
	if (status == CLIENT_OK)
		a->sent.acked = true;
	else
		a->sent.at_ms = 0; /* the next tick writes it again */
}

bool keys_record_on_primary(const struct agent *a)
{
	const struct sent_record *s = &a->sent;
	return a->primary.held && s->at_ms && s->acked &&
	       s->lease == RECORD_ON_PRIMARY &&
	       s->lease_token == a->primary.token;
}

/* Written only when others would decide differently (member_write_reason):
 * every write is a key event each other agent may tick on.  On the lease
 * record_lease.h names, and not at all while there is none. */
void keys_publish_self(struct agent *a)
{
	struct record_lease_facts facts = lease_record_facts(a);
	enum record_lease where = record_lease_target(&facts);
	if (where == RECORD_NOWHERE)
		return;
	uint64_t now = clock_now_ms();
	struct member_write_policy policy = write_policy(a, where);
	const struct member *last = last_written(a, where);
	const char *why = member_write_reason(last, &a->self,
					      last ? now - a->sent.at_ms : 0,
					      &policy);
	if (!why)
		return;
	char json[2048];
	if (!member_encode(&a->self, json, sizeof(json)))
		return;
	a->sent.rec = a->self;
	a->sent.at_ms = now;
	a->sent.lease = where;
	a->sent.lease_token = lease_of(a, where)->token;
	a->sent.acked = false;
	a->sent.gen++;
	log_event(LOG_DEBUG, "member_write", "why=%s lease=%s", why,
		  lease_of(a, where)->name);
	char suffix[AGENT_KEY_MAX];
	snprintf(suffix, sizeof(suffix), "members/%s", a->conf->name);
	write_key(a, CLIENT_OP_PUT, suffix, json, lease_of(a, where),
		  self_written, (void *)(uintptr_t)a->sent.gen);
}

/* ---- watches: react to a freed lease or a request at once ------------------ */

/* A watch established, re-established after a gap, or ended: what came
 * meanwhile is unknown, so the next tick reads (view_currency.h). */
static void watch_note(struct agent *a, enum tclient_watch_note note,
		       bool *ready)
{
	if (note == TCLIENT_WATCH_READY)
		*ready = true;
	else if (note == TCLIENT_WATCH_ENDED)
		*ready = false;
	view_currency_stale(&a->cur);
	agent_kick(a);
}

static void on_lease_event(void *arg, enum tclient_watch_note note, int status,
			   const struct client_event *e)
{
	struct agent *a = arg;
	(void)status;
	if (note != TCLIENT_WATCH_EVENT || !e) {
		watch_note(a, note, &a->cur.leases_ready);
		return;
	}
	/* The holder renewed, as it does every renew interval: nothing to
	 * act on, and the view read last still stands (view_currency.h). */
	if (e->type == SM_EV_RENEW) {
		uint64_t gen = a->cur.gen;
		view_currency_renewal(&a->cur, &a->view, e->lease.holder.p,
				      e->lease.holder.len, e->lease.token,
				      clock_now_ms(), clock_wall_ms());
		if (a->cur.gen == gen)
			return;
	}
	view_currency_stale(&a->cur);
	agent_kick(a);
}

static bool is_member_key(struct client_str key)
{
	static const char needle[] = "/members/";
	return key.p && memmem(key.p, key.len, needle, sizeof(needle) - 1);
}

/* The member lease and the member key share one name. */
static bool is_own_key(const struct agent *a, struct client_str key)
{
	size_t n = strlen(a->member.name);
	return key.len == n && memcmp(key.p, a->member.name, n) == 0;
}

static void on_key_event(void *arg, enum tclient_watch_note note, int status,
			 const struct client_event *e)
{
	struct agent *a = arg;
	if (note != TCLIENT_WATCH_EVENT) {
		watch_note(a, note, &a->cur.keys_ready);
		return;
	}
	/* Whatever it is, the next tick reads (view_currency.h). */
	view_currency_stale(&a->cur);
	/* With a primary, member records (positions) wait for the next tick. */
	if (a->view.holder[0]) {
		if (e && !is_member_key(e->kv.key))
			agent_kick(a);
		return;
	}
	/* Without one, candidates wait for each other's frozen records; its
	 * own record, just written, tells this agent nothing. */
	if (!e || !is_own_key(a, e->kv.key))
		agent_kick_event(a);
}

void keys_watch_start(struct agent *a)
{
	char prefix[AGENT_KEY_MAX];
	snprintf(prefix, sizeof(prefix), "%s/", a->conf->scope);
	if (tclient_watch(a->tc, TCLIENT_WATCH_LEASES, a->primary.name,
			  on_lease_event, a, &a->lease_watch) != 0)
		a->lease_watch = NULL;
	if (tclient_watch(a->tc, TCLIENT_WATCH_KEYS, prefix, on_key_event, a,
			  &a->key_watch) != 0)
		a->key_watch = NULL;
}
