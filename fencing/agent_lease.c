/*
 * agent_lease.c — holding SCOPE/primary and the member lease.
 *
 * docs/design.md rule 3 (and §3) on the holder's side: a grant or renewal
 * sent at t_send is trusted until t_send + TTL·(1−2ρ) − S − δ
 * (lease_validity).  Three
 * things enforce that deadline, each independent of the others:
 *   - the fence timer of this loop (fences at the deadline);
 *   - the guard process (guard.h), armed with the same deadline, which
 *     fences when this agent is frozen, hung or dead;
 *   - the watchdog device, when configured, fed only after a renewal.
 * Renewals run from their own timer, never behind a Postgres action.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"
#include "fencing/member_lease.h"
#include "fencing/record_lease.h"
#include "fencing/renew_retry.h"

static struct client_str str(const char *s)
{
	return (struct client_str){ .p = s, .len = strlen(s) };
}

/* ttl: the one the lease was acquired with (the witnesses keep it on
 * every renewal), whatever lease_ttl is now. */
static uint64_t lease_validity(const struct agent *a, uint64_t ttl,
			       uint64_t t_send)
{
	uint64_t drift = ttl * 2 * AGENT_CLOCK_DRIFT_PPM / 1000000;
	uint64_t margin = drift + (uint64_t)a->conf->fence_time +
			  (uint64_t)a->conf->pause_margin;
	return t_send + (ttl > margin ? ttl - margin : 0);
}

static void on_fence_timer(uv_timer_t *t)
{
	struct agent *a = t->data;
	if (a->primary.held && clock_now_ms() >= a->primary.valid_until)
		lease_fence_now(a, "lease validity ran out before a renewal");
}

/* Push the deadline everywhere that enforces it. */
static void extend(struct agent *a, uint64_t until)
{
	if (until <= a->primary.valid_until)
		return;
	a->primary.valid_until = until;
	uint64_t now = clock_now_ms();
	uv_timer_start(&a->fence_timer, on_fence_timer,
		       until > now ? until - now : 0, 0);
	if (guard_arm(a->guard, until) != 0) {
		/* Nothing would stop Postgres if this process hung now
		 * (docs/design.md rule 7): fence, and stay out of the
		 * running for a while (another node's guard works). */
		log_event(LOG_ERROR, "guard_arm_failed",
			  "msg=\"the fence guard is gone: fencing now\" "
			  "hint=\"restart the agent to get a new guard\"");
		a->veto_until = clock_now_ms() + 30000;
		uv_timer_stop(&a->fence_timer);
		act_fence(a, "the fence guard is gone");
		/* let another node take over now: re-acquiring it here
		 * would only repeat this */
		lease_release_primary(a, NULL, NULL);
		agent_kick(a);
		return;
	}
	if (a->wd_on)
		watchdog_feed(&a->wd);
}

bool lease_primary_valid(struct agent *a)
{
	return a->primary.held && clock_now_ms() < a->primary.valid_until;
}

uint64_t lease_primary_left_ms(struct agent *a)
{
	uint64_t now = clock_now_ms();
	if (!a->primary.held || now >= a->primary.valid_until)
		return 0;
	return a->primary.valid_until - now;
}

void lease_fence_now(struct agent *a, const char *why)
{
	a->primary.held = false;
	uv_timer_stop(&a->fence_timer);
	act_fence(a, why);
	agent_kick(a);
}

/* ---- acquire ------------------------------------------------------------ */

struct lease_call {
	struct agent *a;
	uint64_t t_send;
	uint64_t ttl; /* acquire: the TTL asked for */
	uint64_t token;
	lease_done_cb cb;
	void *arg;
	bool member;
	uint64_t trace_seq; /* lease_trace.h; 0: not traced */
};

/* The primary's requests go to the trace (lease_trace.h), the member
 * lease's do not: the nemesis tests check the primary's history. */
static void trace_call(struct lease_call *c, const struct client_request *req)
{
	if (!c->member)
		c->trace_seq = lease_trace_call(&c->a->trace, req);
}

/* From the request's callback (or at once when it could not be queued:
 * then nothing was sent). */
static void trace_ret(struct lease_call *c, int status,
		      const struct client_response *r)
{
	struct tclient *tc = c->a->tc;
	lease_trace_ret(&c->a->trace, c->trace_seq, status, r,
			tclient_outcome_unknown(tc), tclient_lost_attempts(tc));
}

static struct lease_call *call_new(struct agent *a, lease_done_cb cb, void *arg,
				   bool member)
{
	struct lease_call *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->a = a;
	c->cb = cb;
	c->arg = arg;
	c->member = member;
	c->t_send = clock_now_ms();
	return c;
}

/* The member lease held by another process with this node's name: an
 * earlier run of this agent (not renewed any more: free within its TTL,
 * member_lease.h), or a second agent with this name, alive since it keeps
 * the lease beyond two of those TTLs.  The second is refused (agent_refuse); meanwhile this agent
 * acts on nothing but fencing (agent.c).  The same when S/primary is held
 * under this name by another process (record_lease.h: a primary's member
 * lease may be free). */
static void note_name_taken(struct agent *a)
{
	uint64_t now = clock_now_ms();
	if (!a->name_taken_since)
		a->name_taken_since = now;
	else if (now - a->name_taken_since >
		 2 * member_lease_ttl_ms((uint64_t)a->conf->lease_ttl))
		agent_refuse(a, "the member lease of this name is held by "
				"another process, renewed for more than two "
				"member lease TTLs");
}

/* Taken: the record is written at once (the first time, or again after a
 * spell as the primary, whose record rode the primary lease). */
static void note_member_result(struct agent *a, bool ok, int status)
{
	if (ok) {
		agent_kick(a);
		a->member_held_once = true;
		a->name_taken_since = 0;
	} else if (status == CLIENT_HELD) {
		note_name_taken(a);
	}
}

static void on_acquired(void *arg, int status, const struct client_response *r)
{
	struct lease_call *c = arg;
	struct agent *a = c->a;
	struct held_lease *l = c->member ? &a->member : &a->primary;
	trace_ret(c, status, r);
	l->in_flight = false;
	bool ok = status == CLIENT_OK && r && r->present;
	if (c->member)
		note_member_result(a, ok, status);
	if (a->refused) {
		/* another agent has this name: nothing more is taken */
	} else if (ok) {
		l->held = true;
		l->token = r->lease.token;
		l->ttl_ms = c->ttl;
		if (!c->member) {
			a->primary.valid_until = 0;
			extend(a, lease_validity(a, c->ttl, c->t_send));
			log_event(LOG_INFO, "lease_acquired",
				  "lease=%s token=%llu valid_ms=%llu", l->name,
				  (unsigned long long)l->token,
				  (unsigned long long)lease_primary_left_ms(a));
		}
	} else {
		/* While the witnesses do not answer, witnesses_unreachable
		 * says so: not one more line per attempt. */
		log_event(a->witnesses_down_since ? LOG_DEBUG
			  : c->member             ? LOG_WARN
						  : LOG_INFO,
			  "lease_not_acquired", "lease=%s status=%s", l->name,
			  client_status_name(status));
	}
	if (c->cb)
		c->cb(a, ok, status, c->arg);
	free(c);
}

static void acquire(struct agent *a, struct held_lease *l, lease_done_cb cb,
		    void *arg, bool member)
{
	struct lease_call *c = call_new(a, cb, arg, member);
	if (!c) {
		if (cb)
			cb(a, false, CLIENT_EINTERNAL, arg);
		return;
	}
	c->ttl = member ? member_lease_ttl_ms((uint64_t)a->live.lease_ttl)
			: (uint64_t)a->live.lease_ttl;
	struct client_request req = {
		.op = CLIENT_OP_LEASE_ACQUIRE,
		.name = str(l->name),
		.holder = str(a->holder_id),
		.ttl_ms = c->ttl,
	};
	l->in_flight = true;
	uint64_t timeout = (uint64_t)a->live.lease_ttl / 2;
	trace_call(c, &req);
	if (tclient_request(a->tc, &req, timeout, on_acquired, c) != 0) {
		trace_ret(c, CLIENT_EINTERNAL, NULL);
		l->in_flight = false;
		free(c);
		if (cb)
			cb(a, false, CLIENT_EINTERNAL, arg);
	}
}

void lease_acquire_primary(struct agent *a, lease_done_cb cb, void *arg)
{
	acquire(a, &a->primary, cb, arg, false);
}

/* ---- renew ---------------------------------------------------------------- */

static void renew(struct agent *a, struct held_lease *l, bool member);

/* A primary renewal that got no answer (its connection silent or lost)
 * goes again at once, on the client's next connection (another
 * endpoint), rather than at the next tick: the next tick may be too
 * late to reach a new witness leader within the validity left. */
static void retry_primary_if_unanswered(struct agent *a, int status)
{
	bool no_answer = status == CLIENT_ETIMEOUT || status == CLIENT_EUNKNOWN;
	uint64_t now = clock_now_ms();
	if (a->stopping || !a->primary.held || a->primary.in_flight ||
	    !renew_retry_now(no_answer, lease_primary_left_ms(a), now,
			     a->primary.retried_at,
			     (uint64_t)a->live.renew_interval))
		return;
	a->primary.retried_at = now;
	log_event(LOG_INFO, "lease_renew_retry",
		  "lease=%s status=%s left_ms=%llu", a->primary.name,
		  client_status_name(status),
		  (unsigned long long)lease_primary_left_ms(a));
	renew(a, &a->primary, false);
}

static void on_renewed(void *arg, int status, const struct client_response *r)
{
	struct lease_call *c = arg;
	struct agent *a = c->a;
	struct held_lease *l = c->member ? &a->member : &a->primary;
	trace_ret(c, status, r);
	l->in_flight = false;
	if (!l->held || l->token != c->token) {
		free(c); /* answered after we gave it up */
		return;
	}
	if (status == CLIENT_OK) {
		if (!c->member)
			extend(a, lease_validity(a, l->ttl_ms, c->t_send));
	} else if (status == CLIENT_NOT_HOLDER || status == CLIENT_NOT_FOUND ||
		   status == CLIENT_HELD) {
		log_event(LOG_WARN, "lease_lost",
			  "lease=%s token=%llu status=%s", l->name,
			  (unsigned long long)l->token,
			  client_status_name(status));
		if (c->member)
			l->held = false;
		else
			lease_fence_now(a,
					"the witnesses say the lease is lost");
	} else {
		l->renew_failures++;
		log_event(LOG_WARN, "lease_renew_failed",
			  "lease=%s status=%s left_ms=%llu", l->name,
			  client_status_name(status),
			  (unsigned long long)(c->member
						       ? 0
						       : lease_primary_left_ms(
								 a)));
		if (!c->member)
			retry_primary_if_unanswered(a, status);
	}
	free(c);
}

static void renew(struct agent *a, struct held_lease *l, bool member)
{
	struct lease_call *c = call_new(a, NULL, NULL, member);
	if (!c)
		return;
	c->token = l->token;
	uint64_t timeout = l->ttl_ms / 2;
	if (member)
		timeout = member_renew_timeout_ms(l->ttl_ms);
	else {
		uint64_t left = lease_primary_left_ms(a);
		if (left == 0) {
			free(c);
			return; /* the fence timer handles it */
		}
		/* one interval at most: an unanswered attempt leaves time
		 * for another on the next endpoint (renew_retry.h) */
		timeout = renew_attempt_timeout_ms(l->ttl_ms,
						   (uint64_t)a->live
							   .renew_interval,
						   left);
	}
	struct client_request req = {
		.op = CLIENT_OP_LEASE_RENEW,
		.name = str(l->name),
		.holder = str(a->holder_id),
		.lease_token = l->token,
	};
	l->in_flight = true;
	trace_call(c, &req);
	if (tclient_request(a->tc, &req, timeout, on_renewed, c) != 0) {
		trace_ret(c, CLIENT_EINTERNAL, NULL);
		l->in_flight = false;
		free(c);
	}
}

static void on_lease_timer(uv_timer_t *t)
{
	lease_on_timer(t->data);
}

void lease_on_timer(struct agent *a)
{
	if (a->stopping)
		return;
	if (a->primary.held && !a->primary.in_flight)
		renew(a, &a->primary, false);
	lease_member_tend(a);
}

struct record_lease_facts lease_record_facts(struct agent *a)
{
	const struct witness_view *v = &a->view;
	return (struct record_lease_facts){
		.primary_valid = lease_primary_valid(a),
		.runs_primary = a->self.role == MEMBER_PRIMARY,
		.member_held = a->member.held,
		.other_incarnation = v->holder[0] &&
				     strcmp(v->holder, a->conf->name) == 0 &&
				     strcmp(v->holder_id, a->holder_id) != 0,
	};
}

static void renew_member_if_due(struct agent *a)
{
	/* not every tick: its TTL is longer (member_lease.h) */
	if (!a->member.held ||
	    !member_renew_due(clock_now_ms(), a->member.sent_ms,
			      a->member.ttl_ms))
		return;
	a->member.sent_ms = clock_now_ms();
	renew(a, &a->member, true);
}

void lease_member_tend(struct agent *a)
{
	/* scope_checked: never on a trio the scope moved from */
	if (a->stopping || a->member.in_flight || !a->scope_checked)
		return;
	struct record_lease_facts f = lease_record_facts(a);
	switch (member_lease_step(&f, keys_record_on_primary(a))) {
	case MEMBER_LEASE_ACQUIRE:
		acquire(a, &a->member, NULL, NULL, true);
		a->member.sent_ms = clock_now_ms();
		break;
	case MEMBER_LEASE_KEEP:
		renew_member_if_due(a);
		break;
	case MEMBER_LEASE_RELEASE:
		/* the record rides the primary lease now: nothing is
		 * attached to this one, and renewing it would be the
		 * primary's only write at rest besides its renewals */
		lease_release_member(a, NULL, NULL);
		break;
	case MEMBER_LEASE_NAME_TAKEN:
		note_name_taken(a);
		renew_member_if_due(a);
		break;
	case MEMBER_LEASE_IDLE:
		break;
	}
}

/* ---- release ---------------------------------------------------------------- */

static void on_released(void *arg, int status, const struct client_response *r)
{
	struct lease_call *c = arg;
	const struct held_lease *l = c->member ? &c->a->member : &c->a->primary;
	trace_ret(c, status, r);
	log_event(LOG_INFO, "lease_released", "lease=%s token=%llu status=%s",
		  l->name, (unsigned long long)c->token,
		  client_status_name(status));
	if (c->cb)
		c->cb(c->a, status == CLIENT_OK, status, c->arg);
	free(c);
}

void lease_release_primary(struct agent *a, lease_done_cb cb, void *arg)
{
	struct held_lease *l = &a->primary;
	uint64_t token = l->token;
	bool was_held = l->held;
	/* From here on this agent does not consider itself the holder, even
	 * if the release is lost: its Postgres is already stopped. */
	l->held = false;
	uv_timer_stop(&a->fence_timer);
	guard_disarm(a->guard);
	if (a->wd_on) {
		watchdog_disarm(&a->wd);
		a->wd_on = false;
	}
	struct lease_call *c = call_new(a, cb, arg, false);
	if (!was_held || !c) {
		free(c);
		if (cb)
			cb(a, !was_held, CLIENT_OK, arg);
		return;
	}
	c->token = token;
	struct client_request req = {
		.op = CLIENT_OP_LEASE_RELEASE,
		.name = str(l->name),
		.holder = str(a->holder_id),
		.lease_token = token,
	};
	trace_call(c, &req);
	if (tclient_request(a->tc, &req, 0, on_released, c) != 0) {
		trace_ret(c, CLIENT_EINTERNAL, NULL);
		free(c);
		if (cb)
			cb(a, false, CLIENT_EINTERNAL, arg);
	}
}

/* A clean stop: the member lease goes, and the record attached to it
 * with it, so `cluster list` stops showing this node at once and the next
 * run of this agent need not wait for it to run out.  Also once the
 * record rides the primary lease (record_lease.h): nothing is attached to
 * it then. */
void lease_release_member(struct agent *a, lease_done_cb cb, void *arg)
{
	struct held_lease *l = &a->member;
	struct lease_call *c = l->held ? call_new(a, cb, arg, true) : NULL;
	l->held = false;
	if (!c) {
		if (cb)
			cb(a, true, CLIENT_OK, arg);
		return;
	}
	c->token = l->token;
	struct client_request req = {
		.op = CLIENT_OP_LEASE_RELEASE,
		.name = str(l->name),
		.holder = str(a->holder_id),
		.lease_token = l->token,
	};
	if (tclient_request(a->tc, &req, 0, on_released, c) != 0) {
		free(c);
		if (cb)
			cb(a, false, CLIENT_EINTERNAL, arg);
	}
}

void lease_init(struct agent *a)
{
	snprintf(a->primary.name, sizeof(a->primary.name), "%s/primary",
		 a->conf->scope);
	snprintf(a->member.name, sizeof(a->member.name), "%s/members/%s",
		 a->conf->scope, a->conf->name);
	uv_timer_init(a->loop, &a->fence_timer);
	a->fence_timer.data = a;
	uv_timer_init(a->loop, &a->lease_timer);
	a->lease_timer.data = a;
	uv_timer_start(&a->lease_timer, on_lease_timer, 0,
		       (uint64_t)a->live.renew_interval);
}

/* A new renew_interval from SCOPE/config: the next renewal comes at the
 * new pace (a held lease keeps its TTL, so validity is unchanged). */
void lease_interval_changed(struct agent *a)
{
	uint64_t every = (uint64_t)a->live.renew_interval;
	uv_timer_start(&a->lease_timer, on_lease_timer, every, every);
}
