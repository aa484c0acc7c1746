/*
 * ctl_drill.c — tenurectl cluster drill: a rehearsal of a switchover or a
 * failover on a live cluster, with the figures an operator is asked for
 * afterwards: RTO (the longest time no write was acknowledged), RPO
 * (acknowledged writes the new primary lacks; 0 in synchronous mode), and
 * the timeline of what each agent did.
 *
 * How a drill runs:
 *   1. read the cluster and refuse what cannot work: no primary, paused,
 *      no healthy replica that may take over, a request already pending;
 *   2. ask for confirmation (--yes skips it; without a terminal and
 *      without --yes it refuses, so a script never hangs on a prompt);
 *   3. create tenure_drill on the primary and start the write probe
 *      (ctl_drillprobe.c) 1 s before the trigger, as a baseline;
 *   4. trigger: a switchover is the request `cluster switchover` writes
 *      (S/switchover); a failover is S/drill, which makes the primary's
 *      agent kill its Postgres and stop renewing, as if its host had died
 *      (the lease then runs out at the witnesses, as in a real failover);
 *   5. poll the lease and the member records every 100 ms, keeping every
 *      change as the timeline, and point the probe at the lease holder;
 *   6. done when another node holds the lease and runs as primary, its
 *      first write was acknowledged 1 s ago, and the old primary is back
 *      as a replica; or when --wait runs out (still reported, exit 2);
 *   7. count the acknowledged ids missing on the new primary, keep the
 *      result in S/drills/%020llu (the trigger's wall-clock ms) for
 *      `cluster history` (the oldest beyond the newest 100 are deleted),
 *      and delete S/drill whatever happened.
 *
 * Key: S/drill = {"kind":"failover","target":NAME,"token":T,
 * "requested_ms":ms}; only the agent holding S/primary with token T acts
 * on it, so a key left behind by a killed tenurectl cannot hit a later
 * primary.  Ctrl-C ends a drill cleanly (keys deleted, result kept).
 *
 * This file runs the steps; the others of the drill (ctl_drill_int.h)
 * read the cluster, check and confirm (1, 2), and report (7).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "ctl/ctl_drill_int.h"
#include "fencing/flatjson.h"
#include "fencing/roster.h"

static void sleep_until(uint64_t mono)
{
	uint64_t now = clock_now_ms();
	if (now < mono)
		usleep((useconds_t)(mono - now) * 1000);
}

double drill_secs(uint64_t ms)
{
	return (double)ms / 1000.0;
}

void drill_scoped(char *buf, size_t len, const char *scope, const char *rest)
{
	snprintf(buf, len, "%s/%s", scope, rest);
}

/* ---- Ctrl-C: checked between polls, so the drill always cleans up ------ */

static void block_signals(struct drill *d)
{
	sigemptyset(&d->sigs);
	sigaddset(&d->sigs, SIGINT);
	sigaddset(&d->sigs, SIGTERM);
	d->masked = pthread_sigmask(SIG_BLOCK, &d->sigs, &d->old_mask) == 0;
}

static bool interrupted(struct drill *d)
{
	struct timespec zero = { 0, 0 };
	return d->masked && sigtimedwait(&d->sigs, NULL, &zero) > 0;
}

static void restore_signals(struct drill *d)
{
	if (d->masked)
		pthread_sigmask(SIG_SETMASK, &d->old_mask, NULL);
	d->masked = false;
}

/* ---- the timeline ----------------------------------------------------------- */

static void print_entry(const struct tl_entry *e)
{
	double t = (double)e->t_ms / 1000.0;
	const char *holder = e->holder[0] ? e->holder : "-";
	if (!e->node[0])
		printf("%+8.2f  %-8s  %s  (lease holder %s, token %llu)\n", t,
		       "lease", e->state, holder, (unsigned long long)e->token);
	else
		printf("%+8.2f  %-8s  %s/%s  (lease holder %s, token %llu)\n",
		       t, e->node, e->role, e->state[0] ? e->state : "-",
		       holder, (unsigned long long)e->token);
	fflush(stdout);
}

static void add_entry(struct drill *d, const struct view *v, const char *node,
		      const char *role, const char *state)
{
	if (d->n_tl == DRILL_TIMELINE_MAX) {
		d->tl_dropped++;
		return;
	}
	struct tl_entry *e = &d->tl[d->n_tl++];
	e->t_ms = (int64_t)clock_now_ms() - (int64_t)d->trigger_mono;
	snprintf(e->node, sizeof(e->node), "%s", node);
	snprintf(e->role, sizeof(e->role), "%s", role);
	snprintf(e->state, sizeof(e->state), "%s", state);
	snprintf(e->holder, sizeof(e->holder), "%s", v->holder);
	e->token = v->token;
	if (d->c->format == CTL_TABLE)
		print_entry(e);
}

static struct seen *seen_of(struct drill *d, const char *name)
{
	for (size_t i = 0; i < d->n_seen; i++)
		if (strcmp(d->seen[i].name, name) == 0)
			return &d->seen[i];
	if (d->n_seen == DRILL_NODES)
		return NULL;
	struct seen *s = &d->seen[d->n_seen++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	return s;
}

static void record_changes(struct drill *d, const struct view *v)
{
	if (!d->lease_seen || strcmp(d->seen_holder, v->holder) != 0 ||
	    d->seen_token != v->token) {
		add_entry(d, v, "", "lease", v->holder[0] ? "granted" : "free");
		d->lease_seen = true;
		snprintf(d->seen_holder, sizeof(d->seen_holder), "%s",
			 v->holder);
		d->seen_token = v->token;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct member *m = &v->m[i];
		const char *role = roster_role(m, v->holder);
		struct seen *s = seen_of(d, m->name);
		if (!s || (s->present && strcmp(s->role, role) == 0 &&
			   strcmp(s->state, m->state) == 0))
			continue;
		add_entry(d, v, m->name, role, m->state);
		s->present = true;
		snprintf(s->role, sizeof(s->role), "%s", role);
		snprintf(s->state, sizeof(s->state), "%s", m->state);
	}
	for (size_t i = 0; i < d->n_seen; i++)
		if (d->seen[i].present && !drill_find(v, d->seen[i].name)) {
			add_entry(d, v, d->seen[i].name, "gone", "no record");
			d->seen[i].present = false;
		}
}

/* One poll's view: the timeline, the probe's target, the outcome. */
static void observe(struct drill *d, const struct view *v)
{
	record_changes(d, v);
	const struct member *h = drill_find(v, v->holder);
	ctl_probe_target(d->probe, h && h->pg[0] ? h->name : "",
			 h ? h->pg : "");
	if (h && h->role == MEMBER_PRIMARY && strcmp(h->name, d->old) != 0) {
		snprintf(d->new_name, sizeof(d->new_name), "%s", h->name);
		snprintf(d->new_addr, sizeof(d->new_addr), "%s", h->pg);
		d->new_token = v->token;
	}
	const struct member *o = drill_find(v, d->old);
	snprintf(d->old_now, sizeof(d->old_now), "%s/%s",
		 o ? roster_role(o, v->holder) : "gone",
		 o ? (o->state[0] ? o->state : "-") : "no record");
	if (d->new_name[0] && o && o->role == MEMBER_REPLICA && !d->old_back) {
		d->old_back = true;
		d->old_back_ms = (int64_t)clock_now_ms() -
				 (int64_t)d->trigger_mono;
	}
}

/* ---- triggering and waiting -------------------------------------------- */

static int trigger_failover(struct drill *d)
{
	char key[SM_KEY_MAX + 1], value[1024];
	struct client_request q = { .op = CLIENT_OP_CAS };
	struct tclient_result res;
	struct flatjson_writer w;
	flatjson_begin(&w, value, sizeof(value));
	flatjson_put_str(&w, "kind", "failover");
	flatjson_put_str(&w, "target", d->old);
	flatjson_put_u64(&w, "token", d->old_token);
	flatjson_put_u64(&w, "requested_ms", d->trigger_wall);
	if (!flatjson_end(&w)) {
		fprintf(stderr, CTL_PROG ": the primary's name is too long\n");
		return CTL_EXIT_ERROR;
	}
	drill_scoped(key, sizeof(key), d->scope, "drill");
	q.key = ctl_str(key);
	q.value = ctl_str(value);
	q.expected_revision = 0; /* one drill at a time */
	int code = ctl_call(d->c, &q, "cluster drill", &res);
	tclient_result_free(&res);
	if (code == CTL_EXIT_NO) {
		fprintf(stderr,
			CTL_PROG ": %s appeared meanwhile: another drill "
				 "runs\n",
			key);
		code = CTL_EXIT_ERROR;
	}
	return code;
}

static int trigger(struct drill *d)
{
	d->trigger_wall = clock_wall_ms();
	d->trigger_mono = clock_now_ms();
	int code = d->failover ? trigger_failover(d)
			       : ctl_pg_request_handover(d->c, d->scope,
							 "switchover", d->old,
							 d->cand);
	d->triggered = code == 0;
	return code;
}

/* Polls until the mono time `until`; with done_check, returns early (true)
 * once the drill is complete.  False at `until` or on Ctrl-C. */
static bool poll_until(struct drill *d, uint64_t until, bool done_check)
{
	bool probing = true;
	for (;;) {
		uint64_t tick = clock_now_ms();
		struct view v;
		if (interrupted(d)) {
			snprintf(d->error, sizeof(d->error), "interrupted%s",
				 d->triggered
					 ? " after the trigger (the agents "
					   "finish what it started)"
					 : "");
			return false;
		}
		if (drill_view_read(d, &v, true) == 0) {
			observe(d, &v);
			drill_view_free(&v);
		}
		uint64_t first = ctl_probe_first_new_ack(d->probe);
		if (done_check && probing && first &&
		    clock_now_ms() >= first + DRILL_TAIL_MS) {
			ctl_probe_stop(d->probe);
			probing = false;
		}
		if (done_check && !probing && d->new_name[0] && d->old_back)
			return true;
		if (clock_now_ms() >= until)
			return false;
		uint64_t next = tick + DRILL_POLL_MS;
		sleep_until(next < until ? next : until);
	}
}

/* After --wait: what is missing, in d->error. */
static void explain_timeout(struct drill *d)
{
	size_t off = 0;
	off += (size_t)snprintf(d->error, sizeof(d->error),
				"not done within "
				"%.0f s:",
				drill_secs(d->wait_ms));
	if (!d->new_name[0])
		off += (size_t)snprintf(d->error + off, sizeof(d->error) - off,
					" no other node became primary (lease "
					"holder %s);",
					d->seen_holder[0] ? d->seen_holder
							  : "none");
	else if (!ctl_probe_first_new_ack(d->probe))
		off += (size_t)snprintf(d->error + off, sizeof(d->error) - off,
					" %s is primary but took no probe "
					"write;",
					d->new_name);
	if (!d->old_back && off < sizeof(d->error))
		snprintf(d->error + off, sizeof(d->error) - off,
			 " %s is not "
			 "back as a replica (now %s)",
			 d->old, d->old_now);
}

/* ---- the command ---------------------------------------------------------- */

static int start_probe(struct drill *d)
{
	char err[512];
	if (ctl_probe_new(&d->pconf, d->old_addr, &d->probe, err,
			  sizeof(err)) != 0) {
		fprintf(stderr,
			CTL_PROG
			": cannot prepare the probe on %s "
			"(%s): %s\nHint: --pg-user and --pg-database name who "
			"writes (a password comes from PGPASSWORD or "
			"~/.pgpass); it needs CREATE on the database.\n",
			d->old, d->old_addr, err);
		return CTL_EXIT_ERROR;
	}
	ctl_probe_target(d->probe, d->old, d->old_addr);
	d->probe_mono = clock_now_ms();
	if (ctl_probe_start(d->probe) != 0) {
		fprintf(stderr, CTL_PROG ": cannot start the probe thread\n");
		return CTL_EXIT_ERROR;
	}
	return 0;
}

/* From the probe's start to the report. */
static int rehearse(struct drill *d)
{
	block_signals(d);
	int code = start_probe(d);
	if (code)
		return code;
	d->trigger_mono = d->probe_mono + DRILL_LEAD_MS; /* for the timeline */
	poll_until(d, d->trigger_mono, false);
	if (d->error[0]) {
		fprintf(stderr,
			CTL_PROG ": drill %s before the trigger: "
				 "nothing was changed\n",
			d->error);
		return CTL_EXIT_ERROR;
	}
	code = trigger(d);
	if (code)
		return code;
	snprintf(d->result_key, sizeof(d->result_key), "%s/drills/%020llu",
		 d->scope, (unsigned long long)d->trigger_wall);
	if (!poll_until(d, d->trigger_mono + d->wait_ms, true) && !d->error[0])
		explain_timeout(d);
	drill_measure(d);
	drill_clean_keys(d);
	drill_keep_result(d);
	if (d->kept)
		drill_prune_drills(d);
	return drill_report(d);
}

int ctl_cmd_pg_drill(struct ctl *c)
{
	struct drill *d = calloc(1, sizeof(*d));
	struct view v = { 0 };
	int code = CTL_EXIT_ERROR;
	if (!d || !(d->tl = calloc(DRILL_TIMELINE_MAX, sizeof(*d->tl)))) {
		fprintf(stderr, CTL_PROG ": out of memory\n");
		goto out;
	}
	d->c = c;
	if ((code = drill_parse_options(d)) ||
	    (code = drill_view_read(d, &v, false)) ||
	    (code = drill_check_cluster(d, &v)) || (code = drill_confirm(d)))
		goto out;
	code = rehearse(d);
out:
	drill_view_free(&v);
	if (d) {
		ctl_probe_free(d->probe);
		restore_signals(d);
		free(d->tl);
	}
	free(d);
	return code;
}
