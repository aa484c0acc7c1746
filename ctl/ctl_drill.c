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
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "ctl/ctl.h"
#include "fencing/flatjson.h"
#include "fencing/roster.h"
#include "fencing/scope_keys.h"
#include "proto/limits.h"

#define DRILL_POLL_MS 100
#define DRILL_LEAD_MS 1000     /* probe before the trigger */
#define DRILL_TAIL_MS 1000     /* probe after the new primary's first ack */
#define DRILL_INTERVAL_MS 20   /* between probe writes */
#define DRILL_DEADLINE_MS 1000 /* one probe connect or INSERT */
#define DRILL_WAIT_DEFAULT_MS 60000
#define DRILL_CALL_MS 2000 /* one witness read while polling */
#define DRILL_TIMELINE_MAX 256
#define DRILL_NODES 32
#define DRILL_SYNC_MAX 4096

/* What the witnesses say at one moment. */
struct view {
	char holder[SM_HOLDER_MAX + 1]; /* "" when S/primary is free */
	uint64_t token;
	struct member *m; /* sorted by name */
	size_t n;
};

struct tl_entry {
	int64_t t_ms;              /* since the trigger */
	char node[MEMBER_STR_MAX]; /* "" for a change of the lease */
	char role[16];
	char state[MEMBER_STR_MAX];
	char holder[SM_HOLDER_MAX + 1];
	uint64_t token;
};

/* How a node looked at the last poll, to see what changed. */
struct seen {
	char name[MEMBER_STR_MAX];
	char role[16];
	char state[MEMBER_STR_MAX];
	bool present;
};

struct drill {
	struct ctl *c;
	const char *scope, *kind;
	bool failover;
	uint64_t wait_ms;
	struct ctl_probe_conf pconf;
	char old[MEMBER_STR_MAX], old_addr[MEMBER_STR_MAX];
	uint64_t old_token;
	char cand[MEMBER_STR_MAX]; /* switchover: who takes over */
	char takers[512];          /* healthy replicas, for messages */
	char new_name[MEMBER_STR_MAX], new_addr[MEMBER_STR_MAX];
	uint64_t new_token;
	bool old_back;
	int64_t old_back_ms;
	char old_now[2 * MEMBER_STR_MAX]; /* old's role/state at the end */
	uint64_t probe_mono, trigger_mono, trigger_wall;
	bool triggered;
	/* the timeline */
	struct seen seen[DRILL_NODES];
	size_t n_seen;
	bool lease_seen;
	char seen_holder[SM_HOLDER_MAX + 1];
	uint64_t seen_token;
	struct tl_entry *tl;
	size_t n_tl, tl_dropped;
	/* the probe and what it found */
	struct ctl_probe *probe;
	struct ctl_probe_stats st;
	bool lost_known;
	uint64_t lost, first_lost;
	char lost_error[512];
	bool has_hist;
	struct ctl_pg_event hist;
	char error[1024]; /* why it did not finish; "" */
	char result_key[SM_KEY_MAX + 1];
	bool kept;
	sigset_t sigs, old_mask;
	bool masked;
};

static void sleep_until(uint64_t mono)
{
	uint64_t now = clock_now_ms();
	if (now < mono)
		usleep((useconds_t)(mono - now) * 1000);
}

static double secs(uint64_t ms)
{
	return (double)ms / 1000.0;
}

static void scoped(char *buf, size_t len, const char *scope, const char *rest)
{
	snprintf(buf, len, "%s/%s", scope, rest);
}

/* ---- reading the cluster ------------------------------------------------- */

/* One request: loud (errors printed, exit code) before the drill starts,
 * quiet and bounded while the cluster changes hands. */
static int call(struct drill *d, const struct client_request *q,
		const char *what, struct tclient_result *res, bool quiet)
{
	if (!quiet)
		return ctl_call(d->c, q, what, res);
	uint64_t t = d->c->timeout_ms < DRILL_CALL_MS ? d->c->timeout_ms
						      : DRILL_CALL_MS;
	int st = ctl_pg_quiet_call(d->c, q, t, res);
	return st < 0 ? CTL_EXIT_ERROR : ctl_exit_for(st);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name,
		      ((const struct member *)b)->name);
}

static void view_free(struct view *v)
{
	free(v->m);
	v->m = NULL;
	v->n = 0;
}

/* A paged list under S/rest: loud or quiet as call() is. */
static int list_pages(struct drill *d, const char *rest,
		      const char *start_after, struct ctl_pages *p, bool quiet)
{
	char prefix[SM_KEY_MAX + 1];
	struct client_request q = { .op = CLIENT_OP_LIST_PAGE };
	scoped(prefix, sizeof(prefix), d->scope, rest);
	q.prefix = ctl_str(prefix);
	q.start_after = ctl_str(start_after);
	q.consistency = d->c->consistency;
	if (!quiet)
		return ctl_call_pages(d->c, &q, "list", p);
	uint64_t t = d->c->timeout_ms < DRILL_CALL_MS ? d->c->timeout_ms
						      : DRILL_CALL_MS;
	return ctl_call_pages_quiet(d->c, &q, t, p);
}

static int view_members(struct drill *d, struct view *v, bool quiet)
{
	char err[160];
	struct ctl_pages res;
	int code = list_pages(d, "members/", NULL, &res, quiet);
	if (code == CTL_EXIT_OK && res.count &&
	    !(v->m = calloc(res.count, sizeof(*v->m))))
		code = CTL_EXIT_ERROR;
	for (size_t i = 0; code == CTL_EXIT_OK && i < res.count; i++) {
		const struct client_kv *kv = &res.kvs[i];
		if (member_decode(kv->value.p, kv->value.len, &v->m[v->n], err,
				  sizeof(err)))
			v->n++;
		else if (!quiet)
			fprintf(stderr,
				CTL_PROG ": warning: ignoring %.*s: "
					 "%s\n",
				(int)kv->key.len, kv->key.p, err);
	}
	ctl_pages_free(&res);
	if (v->n)
		qsort(v->m, v->n, sizeof(*v->m), by_name);
	return code == CTL_EXIT_ERROR ? code : 0;
}

/* The lease S/primary and the member records; 0 or an exit code. */
static int view_read(struct drill *d, struct view *v, bool quiet)
{
	char name[SM_KEY_MAX + 1];
	struct client_request q = { .op = CLIENT_OP_LEASE_GET };
	struct tclient_result res;
	memset(v, 0, sizeof(*v));
	scoped(name, sizeof(name), d->scope, "primary");
	q.name = ctl_str(name);
	q.consistency = d->c->consistency;
	int code = call(d, &q, "lease get", &res, quiet);
	if (code == CTL_EXIT_OK && res.r.present && res.r.lease.holder.len) {
		roster_holder_name(res.r.lease.holder.p, res.r.lease.holder.len,
				   v->holder, sizeof(v->holder));
		v->token = res.r.lease.token;
	}
	tclient_result_free(&res);
	if (code == CTL_EXIT_ERROR)
		return code;
	code = view_members(d, v, quiet);
	if (code)
		view_free(v);
	return code;
}

static const struct member *find(const struct view *v, const char *name)
{
	for (size_t i = 0; name[0] && i < v->n; i++)
		if (strcmp(v->m[i].name, name) == 0)
			return &v->m[i];
	return NULL;
}

/* A replica that may take over. */

/* ---- options and checks --------------------------------------------------- */

static int parse_options(struct drill *d)
{
	struct ctl *c = d->c;
	const char *yes = ctl_opt(c, "yes"), *cand = ctl_opt(c, "candidate");
	d->kind = ctl_opt(c, "kind");
	if (!d->kind)
		d->kind = "switchover";
	if (strcmp(d->kind, "switchover") != 0 &&
	    strcmp(d->kind, "failover") != 0)
		return ctl_usage_error(c,
				       "--kind wants switchover or failover, "
				       "not '%s'",
				       d->kind);
	d->failover = strcmp(d->kind, "failover") == 0;
	if (yes && *yes && strcmp(yes, "true") != 0)
		return ctl_usage_error(c, "--yes takes no value");
	if (cand && d->failover)
		return ctl_usage_error(c,
				       "--candidate goes with --kind "
				       "switchover only: in a failover drill "
				       "the agents pick the new primary, as "
				       "they would after a real crash");
	if (cand && !*cand)
		return ctl_usage_error(c, "--candidate must not be empty");
	snprintf(d->cand, sizeof(d->cand), "%s", cand ? cand : "");
	d->pconf.user = ctl_opt(c, "pg-user");
	d->pconf.database = ctl_opt(c, "pg-database");
	if (!d->pconf.user || !*d->pconf.user)
		d->pconf.user = "postgres";
	if (!d->pconf.database || !*d->pconf.database)
		d->pconf.database = "postgres";
	d->pconf.interval_ms = DRILL_INTERVAL_MS;
	d->pconf.deadline_ms = DRILL_DEADLINE_MS;
	d->pconf.old = d->old;
	if (ctl_pg_scope(c, &d->scope) ||
	    ctl_opt_duration(c, "wait", false, DRILL_WAIT_DEFAULT_MS, 1000,
			     &d->wait_ms))
		return CTL_EXIT_ERROR;
	if (d->wait_ms == 0)
		return ctl_usage_error(c, "--wait must be more than 0");
	return 0;
}

static int refuse(struct drill *d, const char *why, const char *hint)
{
	fprintf(stderr,
		CTL_PROG ": cannot run a %s drill on cluster '%s': "
			 "%s\n",
		d->kind, d->scope, why);
	if (hint)
		fprintf(stderr, "Hint: %s\n", hint);
	return CTL_EXIT_ERROR;
}

/* A key of the scope that must not exist (a pending request). */
static int check_absent(struct drill *d, const char *rest, const char *what)
{
	char key[SM_KEY_MAX + 1], value[512], why[1024], hint[600];
	bool found;
	scoped(key, sizeof(key), d->scope, rest);
	int code = ctl_pg_read_key(d->c, key, value, sizeof(value), &found);
	if (code || !found)
		return code;
	snprintf(why, sizeof(why), "%s is pending in %.300s: %.300s", what, key,
		 value);
	snprintf(hint, sizeof(hint),
		 "wait for it to finish, or delete it with "
		 "'" CTL_PROG " del %s' if nothing runs it any more.",
		 key);
	return refuse(d, why, hint);
}

static int check_candidate(struct drill *d, const struct view *v,
			   const char *sync)
{
	char why[1024];
	const struct member *m = find(v, d->cand);
	if (!d->cand[0]) {
		m = roster_best_candidate(v->m, v->n, sync);
		if (!m)
			return refuse(d,
				      "no healthy replica is a synchronous "
				      "standby, so none can take over without "
				      "losing writes",
				      NULL);
		snprintf(d->cand, sizeof(d->cand), "%s", m->name);
		return 0;
	}
	if (!m || !roster_can_take_over(m)) {
		snprintf(why, sizeof(why),
			 "--candidate %s is not a healthy "
			 "replica that may take over (%s%s%s); those are: %s",
			 d->cand, m ? member_role_name(m->role) : "no record",
			 m && m->nofailover ? ", nofailover" : "",
			 m && !m->healthy ? ", unhealthy" : "", d->takers);
		return refuse(d, why, NULL);
	}
	if (sync[0] && !roster_in_list(sync, d->cand)) {
		snprintf(why, sizeof(why),
			 "%s is not a synchronous standby "
			 "(S/sync lists %s): the primary would not hand over "
			 "to it",
			 d->cand, sync);
		return refuse(d, why,
			      "name a synchronous standby, or leave "
			      "--candidate out to let the drill pick one.");
	}
	return 0;
}

/* Who is primary and who may take over; refuses what cannot work. */
static int check_cluster(struct drill *d, const struct view *v)
{
	char key[SM_KEY_MAX + 1], hint[256], *sync;
	bool paused, has_sync;
	const struct member *p = find(v, v->holder);
	if (!v->holder[0] || !p || p->role != MEMBER_PRIMARY) {
		snprintf(hint, sizeof(hint),
			 "see '" CTL_PROG " cluster list "
			 "--scope %s'.",
			 d->scope);
		return refuse(d,
			      v->holder[0] ? "the lease holder does not run "
					     "as primary yet"
					   : "it has no primary (S/primary "
					     "is free)",
			      hint);
	}
	snprintf(d->old, sizeof(d->old), "%s", p->name);
	snprintf(d->old_addr, sizeof(d->old_addr), "%s", p->pg);
	d->old_token = v->token;
	scoped(key, sizeof(key), d->scope, "pause");
	char pause[256];
	int code = ctl_pg_read_key(d->c, key, pause, sizeof(pause), &paused);
	if (code)
		return code;
	if (paused) {
		snprintf(hint, sizeof(hint),
			 "'" CTL_PROG " cluster resume "
			 "--scope %s' first.",
			 d->scope);
		return refuse(d, "it is paused (maintenance mode)", hint);
	}
	if ((code = check_absent(d, "switchover", "a switchover")) ||
	    (code = check_absent(d, "drill", "a drill")))
		return code;
	for (size_t i = 0; i < v->n; i++)
		if (roster_can_take_over(&v->m[i]))
			snprintf(d->takers + strlen(d->takers),
				 sizeof(d->takers) - strlen(d->takers), "%s%s",
				 d->takers[0] ? ", " : "", v->m[i].name);
	if (!d->takers[0])
		return refuse(d, "no healthy replica could take over",
			      "see '" CTL_PROG
			      " cluster list': a replica must be "
			      "running, healthy and not tagged nofailover.");
	if (!p->pg[0])
		return refuse(d,
			      "the primary's record has no Postgres address "
			      "(\"pg\")",
			      NULL);
	if (d->failover)
		return 0;
	if (!(sync = malloc(DRILL_SYNC_MAX)))
		return refuse(d, "out of memory", NULL);
	scoped(key, sizeof(key), d->scope, "sync");
	code = ctl_pg_read_key(d->c, key, sync, DRILL_SYNC_MAX, &has_sync);
	if (!code)
		code = check_candidate(d, v, sync);
	free(sync);
	return code;
}

/* ---- confirmation --------------------------------------------------------- */

static void describe(const struct drill *d, FILE *f)
{
	if (d->failover)
		fprintf(f,
			"drill: failover of the primary %s of cluster '%s' "
			"(token %llu): its Postgres is killed and its agent "
			"stops renewing the lease, as if the host died.  When "
			"the lease expires at the witnesses a replica (%s) "
			"takes over, and %s rejoins as a replica by itself.\n",
			d->old, d->scope, (unsigned long long)d->old_token,
			d->takers, d->old);
	else
		fprintf(f,
			"drill: switchover of cluster '%s' from the primary "
			"%s to %s: the agents demote %s, then promote %s; %s "
			"then follows it as a replica.\n",
			d->scope, d->old, d->cand, d->old, d->cand, d->old);
	fprintf(f,
		"A probe writes a row every %d ms into tenure_drill "
		"(database %s, user %s) on whichever node is primary, to "
		"measure RTO and RPO.  Clients of the primary see errors for "
		"a few seconds.\n",
		DRILL_INTERVAL_MS, d->pconf.database, d->pconf.user);
}

static int confirm(struct drill *d)
{
	char line[64];
	if (ctl_opt(d->c, "yes")) {
		if (d->c->format == CTL_TABLE)
			describe(d, stdout);
		return 0;
	}
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, CTL_PROG
			": cluster drill asks for confirmation "
			"and stdin is not a terminal\nHint: add --yes to run "
			"the drill without asking.\n");
		return CTL_EXIT_ERROR;
	}
	describe(d, stderr);
	fprintf(stderr, "Type 'yes' to continue: ");
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "yes") != 0) {
		fprintf(stderr, CTL_PROG ": drill cancelled\n");
		return CTL_EXIT_NO;
	}
	return 0;
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
		if (d->seen[i].present && !find(v, d->seen[i].name)) {
			add_entry(d, v, d->seen[i].name, "gone", "no record");
			d->seen[i].present = false;
		}
}

/* One poll's view: the timeline, the probe's target, the outcome. */
static void observe(struct drill *d, const struct view *v)
{
	record_changes(d, v);
	const struct member *h = find(v, v->holder);
	ctl_probe_target(d->probe, h && h->pg[0] ? h->name : "",
			 h ? h->pg : "");
	if (h && h->role == MEMBER_PRIMARY && strcmp(h->name, d->old) != 0) {
		snprintf(d->new_name, sizeof(d->new_name), "%s", h->name);
		snprintf(d->new_addr, sizeof(d->new_addr), "%s", h->pg);
		d->new_token = v->token;
	}
	const struct member *o = find(v, d->old);
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
	scoped(key, sizeof(key), d->scope, "drill");
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
		if (view_read(d, &v, true) == 0) {
			observe(d, &v);
			view_free(&v);
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
				secs(d->wait_ms));
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

/* ---- results ------------------------------------------------------------------ */

/* The agents' newest history entry, if it is newer than the drill: keys
 * are the tokens, so only those after the old primary's are listed. */
static void newest_history(struct drill *d)
{
	char after[SM_KEY_MAX + 1], err[160];
	struct ctl_pages res;
	struct ctl_pg_event e;
	snprintf(after, sizeof(after), "%s/history/%020llu", d->scope,
		 (unsigned long long)d->old_token);
	if (list_pages(d, "history/", after, &res, true) == CTL_EXIT_OK)
		for (size_t i = 0; i < res.count; i++)
			if (ctl_pg_event_decode(res.kvs[i].value.p,
						res.kvs[i].value.len, &e, err,
						sizeof(err)) &&
			    e.token > d->old_token &&
			    (!d->has_hist || e.token > d->hist.token)) {
				d->hist = e;
				d->has_hist = true;
			}
	ctl_pages_free(&res);
}

static void measure(struct drill *d)
{
	ctl_probe_stop(d->probe);
	ctl_probe_stats(d->probe, &d->st);
	if (d->st.first_new_ms && d->new_addr[0])
		d->lost_known = ctl_probe_count_lost(d->probe, d->new_addr,
						     &d->lost, &d->first_lost,
						     d->lost_error,
						     sizeof(d->lost_error)) ==
				0;
	else
		snprintf(d->lost_error, sizeof(d->lost_error),
			 "no write was "
			 "acknowledged by a new primary");
	newest_history(d);
}

static uint64_t rto_ms(const struct drill *d)
{
	uint64_t from = d->st.last_before_ms ? d->st.last_before_ms
					     : d->probe_mono;
	return d->st.first_new_ms - from;
}

static void put_kcstr(struct json *j, const char *key, const char *s)
{
	struct client_str v = { s, strlen(s) };
	json_key(j, key);
	ctl_json_cstr_or_null(j, v);
}

static void put_ku64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

static void put_ksecs(struct json *j, const char *key, bool known, int64_t ms)
{
	json_key(j, key);
	if (known)
		json_double(j, (double)ms / 1000.0);
	else
		json_null(j);
}

static void json_timeline(struct json *j, const struct drill *d)
{
	json_key(j, "timeline");
	json_list(j);
	for (size_t i = 0; i < d->n_tl; i++) {
		const struct tl_entry *e = &d->tl[i];
		json_object(j);
		put_ksecs(j, "t_s", true, e->t_ms);
		put_kcstr(j, "node", e->node);
		put_kcstr(j, "role", e->role);
		put_kcstr(j, "state", e->state);
		put_kcstr(j, "lease_holder", e->holder);
		put_ku64(j, "lease_token", e->token);
		json_end(j);
	}
	json_end(j);
	if (d->tl_dropped)
		put_ku64(j, "timeline_dropped", d->tl_dropped);
}

static void json_figures(struct json *j, const struct drill *d)
{
	bool acked_new = d->st.first_new_ms != 0;
	put_ksecs(j, "rto_s", acked_new, (int64_t)(acked_new ? rto_ms(d) : 0));
	put_ksecs(j, "time_to_new_primary_s", acked_new,
		  (int64_t)d->st.first_new_ms - (int64_t)d->trigger_mono);
	put_ksecs(j, "longest_gap_s", true, (int64_t)d->st.longest_gap_ms);
	put_ku64(j, "acked", d->st.acked);
	put_ku64(j, "writes", d->st.writes);
	put_ku64(j, "failed_writes", d->st.writes - d->st.acked);
	json_key(j, "lost");
	if (d->lost_known)
		json_u64(j, d->lost);
	else
		json_null(j);
	if (d->lost)
		put_ku64(j, "first_lost_id", d->first_lost);
	put_ku64(j, "first_id", d->st.first_id);
	json_key(j, "old_rejoined");
	json_bool(j, d->old_back);
	put_ksecs(j, "old_rejoined_s", d->old_back, d->old_back_ms);
}

static void write_result(const struct drill *d, FILE *f)
{
	struct json j;
	char when[40];
	json_init_file(&j, f, 0);
	json_object(&j);
	put_kcstr(&j, "kind", d->kind);
	put_kcstr(&j, "scope", d->scope);
	put_ku64(&j, "time_ms", d->trigger_wall);
	put_kcstr(&j, "time",
		  ctl_pg_iso_time(d->trigger_wall, when, sizeof(when)));
	put_kcstr(&j, "old", d->old);
	put_ku64(&j, "old_token", d->old_token);
	put_kcstr(&j, "new", d->new_name);
	put_ku64(&j, "new_token", d->new_token);
	if (!d->failover)
		put_kcstr(&j, "candidate", d->cand);
	json_key(&j, "ok");
	json_bool(&j, !d->error[0] && d->lost_known && !d->lost);
	put_kcstr(&j, "error", d->error);
	json_figures(&j, d);
	put_kcstr(&j, "key", d->result_key);
	json_key(&j, "history");
	if (d->has_hist)
		ctl_pg_json_event(&j, &d->hist);
	else
		json_null(&j);
	json_timeline(&j, d);
	json_end(&j);
}

/* S/drills/<trigger ms> = the result, for `cluster history`. */
static void keep_result(struct drill *d)
{
	char *buf = NULL;
	size_t len = 0;
	struct client_request q = { .op = CLIENT_OP_PUT };
	struct tclient_result res;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	write_result(d, f);
	fclose(f);
	while (len && buf[len - 1] == '\n')
		len--;
	if (len > SM_VALUE_MAX) {
		fprintf(stderr,
			CTL_PROG ": warning: the result (%zu bytes) is "
				 "too big to keep in %s\n",
			len, d->result_key);
		free(buf);
		return;
	}
	q.key = ctl_str(d->result_key);
	q.value.p = buf;
	q.value.len = len;
	d->kept = ctl_call(d->c, &q, "put", &res) == CTL_EXIT_OK;
	tclient_result_free(&res);
	free(buf);
}

/* Only the newest SCOPE_DRILLS_KEEP results stay: each is several KB and
 * a drill a day would otherwise grow S/drills/ forever.  Keys are the
 * trigger's ms, so the oldest come first.  A failure only warns: the
 * next drill prunes again. */
static void prune_drills(struct drill *d)
{
	struct ctl_pages p;
	size_t gone = 0, n = 0;
	int code = list_pages(d, "drills/", NULL, &p, true);
	if (code == CTL_EXIT_OK)
		n = scope_prune_count(p.count, SCOPE_DRILLS_KEEP);
	for (size_t i = 0; code != CTL_EXIT_ERROR && i < n; i++) {
		struct client_request q = { .op = CLIENT_OP_DELETE };
		struct tclient_result res;
		q.key = p.kvs[i].key;
		code = call(d, &q, "del", &res, true);
		tclient_result_free(&res);
		gone += code == CTL_EXIT_OK;
	}
	ctl_pages_free(&p);
	if (code == CTL_EXIT_ERROR)
		fprintf(stderr,
			CTL_PROG
			": warning: could not delete the "
			"drill results beyond the newest %d under %s/drills/ "
			"(%zu deleted); the next drill tries again\n",
			SCOPE_DRILLS_KEEP, d->scope, gone);
}

/* Whatever happened: no request of ours stays behind. */
static void clean_keys(struct drill *d)
{
	char key[SM_KEY_MAX + 1];
	struct client_request q = { .op = CLIENT_OP_DELETE };
	struct tclient_result res;
	if (!d->triggered)
		return;
	/* a switchover that happened was deleted by the agents already */
	if (!d->failover && d->new_name[0])
		return;
	scoped(key, sizeof(key), d->scope,
	       d->failover ? "drill" : "switchover");
	q.key = ctl_str(key);
	int code = call(d, &q, "del", &res, true);
	tclient_result_free(&res);
	if (code == CTL_EXIT_ERROR)
		fprintf(stderr,
			CTL_PROG ": warning: could not delete %s; "
				 "delete it with '" CTL_PROG " del %s'\n",
			key, key);
	else if (code == CTL_EXIT_OK && !d->failover)
		fprintf(stderr,
			CTL_PROG ": the switchover request %s was "
				 "withdrawn\n",
			key);
}

static void print_report(const struct drill *d)
{
	char when[40];
	printf("\n");
	if (d->new_name[0])
		printf("result: %s moved from %s to %s (token %llu -> %llu)\n",
		       d->kind, d->old, d->new_name,
		       (unsigned long long)d->old_token,
		       (unsigned long long)d->new_token);
	else
		printf("result: %s of %s: no new primary\n", d->kind, d->old);
	if (d->st.first_new_ms) {
		printf("  RTO (no acknowledged write):   %.2f s\n",
		       secs(rto_ms(d)));
		printf("  trigger to first write on %s: %.2f s\n", d->new_name,
		       secs(d->st.first_new_ms - d->trigger_mono));
	}
	printf("  writes: %llu sent, %llu acknowledged\n",
	       (unsigned long long)d->st.writes,
	       (unsigned long long)d->st.acked);
	if (d->lost_known)
		printf("  RPO: %llu acknowledged write%s lost%s\n",
		       (unsigned long long)d->lost, d->lost == 1 ? "" : "s",
		       d->lost ? "  <-- DATA LOSS" : "");
	else
		printf("  RPO: unknown (%s)\n", d->lost_error);
	if (d->old_back)
		printf("  %s back as a replica after %.2f s\n", d->old,
		       (double)d->old_back_ms / 1000.0);
	else
		printf("  %s not back as a replica (now %s)\n", d->old,
		       d->old_now);
	if (d->has_hist)
		printf("  agents' history: %s %s -> %s, %s, token %llu, "
		       "unavailable %.2f s\n",
		       ctl_pg_iso_time(d->hist.time_ms, when, sizeof(when)),
		       d->hist.old[0] ? d->hist.old : "-", d->hist.new_name,
		       d->hist.reason, (unsigned long long)d->hist.token,
		       secs(d->hist.unavailable_ms));
	if (d->kept)
		printf("  kept in %s (see '" CTL_PROG " cluster history')\n",
		       d->result_key);
}

/* Prints the outcome; the exit code. */
static int report(struct drill *d)
{
	if (d->c->format == CTL_JSON)
		write_result(d, stdout);
	else
		print_report(d);
	if (d->lost_known && d->lost) {
		fprintf(stderr,
			CTL_PROG
			": DATA LOSS: %llu acknowledged "
			"write%s missing on the new primary %s (first id "
			"%llu)\n",
			(unsigned long long)d->lost,
			d->lost == 1 ? " is" : "s are", d->new_name,
			(unsigned long long)d->first_lost);
		return CTL_EXIT_NO;
	}
	if (d->error[0])
		fprintf(stderr, CTL_PROG ": drill %s\n", d->error);
	else if (!d->lost_known)
		fprintf(stderr, CTL_PROG ": could not count lost writes: %s\n",
			d->lost_error);
	if (d->st.errors && (d->error[0] || !d->lost_known))
		fprintf(stderr, CTL_PROG ": the probe's last error: %s\n",
			d->st.last_error);
	if (d->error[0] || !d->lost_known || !d->kept)
		return CTL_EXIT_ERROR;
	return CTL_EXIT_OK;
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
	measure(d);
	clean_keys(d);
	keep_result(d);
	if (d->kept)
		prune_drills(d);
	return report(d);
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
	if ((code = parse_options(d)) || (code = view_read(d, &v, false)) ||
	    (code = check_cluster(d, &v)) || (code = confirm(d)))
		goto out;
	code = rehearse(d);
out:
	view_free(&v);
	if (d) {
		ctl_probe_free(d->probe);
		restore_signals(d);
		free(d->tl);
	}
	free(d);
	return code;
}

/* ---- cluster history: the drills kept in S/drills/ ------------------------ */

struct drill_rec {
	uint64_t time_ms, new_token;
	char kind[16], old[MEMBER_STR_MAX], new_name[MEMBER_STR_MAX];
	double rto_s, ttp_s;
	bool has_rto, has_ttp, has_lost, ok;
	uint64_t acked, lost;
};

/* Skips a JSON string or nested value starting at s[i]; the index after
 * it, or len on malformed input. */
static size_t skip_value(const char *s, size_t i, size_t len)
{
	int depth = 0;
	bool in_str = false;
	for (; i < len; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
		if (!in_str && depth == 0 &&
		    (ch == '"' || ch == '}' || ch == ']'))
			return i + 1;
		if (depth < 0)
			return len;
	}
	return len;
}

static size_t skip_ws(const char *s, size_t i, size_t len)
{
	while (i < len &&
	       (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i;
}

/* The members of a JSON object whose values are not objects or arrays, as
 * a flat object into out (which flatjson then checks and decodes); false
 * when the text is not an object or out is too small. */
static bool flatten(const char *s, size_t len, char *out, size_t cap)
{
	size_t i = skip_ws(s, 0, len), o = 0;
	if (i == len || s[i++] != '{' || cap < 3)
		return false;
	out[o++] = '{';
	for (;;) {
		i = skip_ws(s, i, len);
		if (i < len && s[i] == '}')
			break;
		if (i == len || s[i] != '"')
			return false;
		size_t key = i;
		i = skip_ws(s, skip_value(s, i, len), len);
		if (i == len || s[i++] != ':')
			return false;
		size_t key_end = i;
		i = skip_ws(s, i, len);
		size_t val = i;
		if (i == len)
			return false;
		if ((s[i] == '"' || s[i] == '{' || s[i] == '['))
			i = skip_value(s, i, len);
		else
			while (i < len && s[i] != ',' && s[i] != '}')
				i++;
		size_t val_end = i;
		if (s[val] != '{' && s[val] != '[') {
			size_t need = (key_end - key) + (val_end - val) + 2;
			if (o + need + 2 > cap)
				return false;
			if (o > 1)
				out[o++] = ',';
			memcpy(out + o, s + key, key_end - key);
			o += key_end - key;
			memcpy(out + o, s + val, val_end - val);
			o += val_end - val;
		}
		i = skip_ws(s, i, len);
		if (i < len && s[i] == ',')
			i++;
		else if (i == len || s[i] != '}')
			return false;
	}
	out[o++] = '}';
	out[o] = '\0';
	return true;
}

static bool rec_double(const struct flatjson_value *v, double *out)
{
	if (v->type != FLATJSON_NUMBER)
		return false;
	*out = strtod(v->str, NULL);
	return true;
}

static bool on_rec_field(void *arg, const char *key,
			 const struct flatjson_value *v, char *err,
			 size_t errlen)
{
	struct drill_rec *r = arg;
	bool str = v->type == FLATJSON_STRING;
	if (strcmp(key, "kind") == 0 && str)
		snprintf(r->kind, sizeof(r->kind), "%s", v->str);
	else if (strcmp(key, "old") == 0 && str)
		snprintf(r->old, sizeof(r->old), "%s", v->str);
	else if (strcmp(key, "new") == 0 && str)
		snprintf(r->new_name, sizeof(r->new_name), "%s", v->str);
	else if (strcmp(key, "ok") == 0 && v->type == FLATJSON_BOOL)
		r->ok = v->b;
	else if (strcmp(key, "rto_s") == 0)
		r->has_rto = rec_double(v, &r->rto_s);
	else if (strcmp(key, "time_to_new_primary_s") == 0)
		r->has_ttp = rec_double(v, &r->ttp_s);
	else if (v->type != FLATJSON_NUMBER)
		return true;
	else if (strcmp(key, "time_ms") == 0)
		return flatjson_u64(key, v, &r->time_ms, err, errlen);
	else if (strcmp(key, "new_token") == 0)
		return flatjson_u64(key, v, &r->new_token, err, errlen);
	else if (strcmp(key, "acked") == 0)
		return flatjson_u64(key, v, &r->acked, err, errlen);
	else if (strcmp(key, "lost") == 0) {
		r->has_lost = true;
		return flatjson_u64(key, v, &r->lost, err, errlen);
	}
	return true;
}

static bool rec_decode(const struct client_kv *kv, struct drill_rec *r,
		       char *err, size_t errlen)
{
	char *flat = malloc(kv->value.len + 3);
	bool ok = false;
	memset(r, 0, sizeof(*r));
	if (!flat)
		snprintf(err, errlen, "out of memory");
	else if (!flatten(kv->value.p, kv->value.len, flat, kv->value.len + 3))
		snprintf(err, errlen, "not a JSON object");
	else
		ok = flatjson_parse(flat, strlen(flat), on_rec_field, r, err,
				    errlen);
	free(flat);
	return ok;
}

static const char *rec_result(const struct drill_rec *r)
{
	if (r->has_lost && r->lost)
		return "LOST WRITES";
	return r->ok ? "ok" : "failed";
}

static void json_drill(struct json *j, const struct drill_rec *r)
{
	char when[40];
	json_object(j);
	put_ku64(j, "time_ms", r->time_ms);
	put_kcstr(j, "time", ctl_pg_iso_time(r->time_ms, when, sizeof(when)));
	put_kcstr(j, "old", r->old);
	put_kcstr(j, "new", r->new_name);
	put_kcstr(j, "reason", "drill");
	put_ku64(j, "token", r->new_token);
	put_ku64(j, "unavailable_ms",
		 r->has_rto ? (uint64_t)(r->rto_s * 1000.0 + 0.5) : 0);
	put_kcstr(j, "kind", r->kind);
	put_ksecs(j, "rto_s", r->has_rto, (int64_t)(r->rto_s * 1000.0 + 0.5));
	put_ksecs(j, "time_to_new_primary_s", r->has_ttp,
		  (int64_t)(r->ttp_s * 1000.0 + 0.5));
	put_ku64(j, "acked", r->acked);
	json_key(j, "lost");
	if (r->has_lost)
		json_u64(j, r->lost);
	else
		json_null(j);
	json_key(j, "ok");
	json_bool(j, r->ok);
	json_end(j);
}

/* One list, oldest first: the agents' entries and the drills by time. */
static void history_json(const struct ctl_pg_event *e, size_t n,
			 const struct drill_rec *r, size_t nr)
{
	struct json j;
	size_t k = 0;
	json_init_file(&j, stdout, 0);
	json_list(&j);
	for (size_t i = 0; i <= n; i++) {
		while (k < nr && (i == n || r[k].time_ms < e[i].time_ms))
			json_drill(&j, &r[k++]);
		if (i < n)
			ctl_pg_json_event(&j, &e[i]);
	}
	json_end(&j);
}

static char *cell_str(const char *s)
{
	return ctl_cell(ctl_str(s));
}

static char *cell_secs(bool known, double s)
{
	char buf[32] = "";
	if (known)
		snprintf(buf, sizeof(buf), "%.2f", s);
	return cell_str(buf);
}

static void history_drills_table(const struct drill_rec *r, size_t n)
{
	static const char *const head[] = { "TIME",  "KIND",  "OLD",
					    "NEW",   "RTO_S", "TO_PRIMARY_S",
					    "ACKED", "LOST",  "RESULT" };
	struct ctl_table t;
	char when[40];
	printf("\nDrills:\n");
	ctl_table_init(&t, 9, head);
	for (size_t i = 0; i < n; i++) {
		char *cells[9] = { cell_str(ctl_pg_iso_time(r[i].time_ms, when,
							    sizeof(when))),
				   cell_str(r[i].kind),
				   cell_str(r[i].old),
				   cell_str(r[i].new_name),
				   cell_secs(r[i].has_rto, r[i].rto_s),
				   cell_secs(r[i].has_ttp, r[i].ttp_s),
				   ctl_cell_u64(r[i].acked),
				   r[i].has_lost ? ctl_cell_u64(r[i].lost)
						 : cell_str(""),
				   cell_str(rec_result(&r[i])) };
		ctl_table_row(&t, (const char *const *)cells);
		for (size_t k = 0; k < 9; k++)
			free(cells[k]);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}

static int by_time(const void *a, const void *b)
{
	const struct drill_rec *x = a, *y = b;
	return x->time_ms < y->time_ms ? -1 : x->time_ms > y->time_ms;
}

int ctl_drill_print_history(struct ctl *c, const char *scope,
			    const struct ctl_pg_event *e, size_t n)
{
	char prefix[SM_KEY_MAX + 1], err[160];
	struct client_request q = { .op = CLIENT_OP_LIST_PAGE };
	struct ctl_pages res;
	struct drill_rec *r = NULL;
	size_t nr = 0;
	scoped(prefix, sizeof(prefix), scope, "drills/");
	q.prefix = ctl_str(prefix);
	q.consistency = c->consistency;
	int code = ctl_call_pages(c, &q, "list", &res);
	if (code == CTL_EXIT_OK && res.count &&
	    !(r = calloc(res.count, sizeof(*r)))) {
		fprintf(stderr, CTL_PROG ": out of memory\n");
		code = CTL_EXIT_ERROR;
	}
	for (size_t i = 0; r && i < res.count; i++) {
		const struct client_kv *kv = &res.kvs[i];
		if (rec_decode(kv, &r[nr], err, sizeof(err)))
			nr++;
		else
			fprintf(stderr,
				CTL_PROG ": warning: ignoring %.*s: "
					 "%s\n",
				(int)kv->key.len, kv->key.p, err);
	}
	if (code == CTL_EXIT_OK) {
		if (nr)
			qsort(r, nr, sizeof(*r), by_time);
		if (c->format == CTL_JSON) {
			history_json(e, n, r, nr);
		} else {
			ctl_pg_print_history(stdout, CTL_TABLE, e, n);
			if (nr)
				history_drills_table(r, nr);
		}
	}
	free(r);
	ctl_pages_free(&res);
	return code;
}
