/*
 * ctl_drill_int.h — what the files of tenurectl cluster drill share (the
 * command and `cluster history`'s drills are in ctl_drill.h):
 *   ctl_drill.c          how a drill runs (its steps, the S/drill key), the
 *                        command, Ctrl-C, the timeline of what changed,
 *                        triggering and waiting
 *   ctl_drill_view.c     reading the cluster: S/primary and the member
 *                        records, loud before the trigger, quiet after
 *   ctl_drill_check.c    the options, the checks that refuse a drill that
 *                        cannot work, the confirmation
 *   ctl_drill_report.c   the results: lost writes counted, the result kept
 *                        in S/drills/ (and the oldest pruned), the keys
 *                        cleaned up, the report as a table or JSON
 *   ctl_drill_history.c  the drills kept in S/drills/, for `cluster
 *                        history`
 *   ctl_drillprobe.c     the write probe (ctl_drill.h)
 * Only the ctl_drill*.c files include it.
 *
 * Contract
 * --------
 * One struct drill per run, made by ctl_cmd_pg_drill(), which frees it.
 * The functions returning int return 0 or an exit code (enum ctl_exit);
 * with quiet false (before the trigger) they have said why on stderr,
 * with quiet true (while the cluster changes hands) they say nothing and
 * the poll tries again.  Once triggered, a drill always ends with the
 * measure, the clean-up of its keys, the result kept and the report, in
 * that order, whatever happened (Ctrl-C included): why it did not finish
 * is in d->error.
 *
 * Errors: as ctl.h, 0 or an exit code (enum ctl_exit), having said why on
 * stderr unless quiet (above).
 */
#ifndef TENURE_CTL_DRILL_INT_H
#define TENURE_CTL_DRILL_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/json.h"
#include "ctl/ctl.h"
#include "ctl/ctl_drill.h"
#include "ctl/ctl_pg.h"
#include "fencing/member.h"
#include "proto/client.h"
#include "proto/limits.h"
#include "proto/tclient.h"

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

/* ctl_drill.c */
double drill_secs(uint64_t ms);
/* SCOPE/rest into buf. */
void drill_scoped(char *buf, size_t len, const char *scope, const char *rest);

/* ctl_drill_view.c: reading the cluster. */
int drill_call(struct drill *d, const struct client_request *q,
	       const char *what, struct tclient_result *res, bool quiet);
int drill_list_pages(struct drill *d, const char *rest, const char *start_after,
		     struct ctl_pages *p, bool quiet);
int drill_view_read(struct drill *d, struct view *v, bool quiet);
void drill_view_free(struct view *v);
/* The member record of name in v, or NULL. */
const struct member *drill_find(const struct view *v, const char *name);

/* ctl_drill_check.c: before anything changes. */
int drill_parse_options(struct drill *d);
int drill_check_cluster(struct drill *d, const struct view *v);
int drill_confirm(struct drill *d);

/* ctl_drill_report.c: after the run. */
void drill_measure(struct drill *d);
void drill_clean_keys(struct drill *d);
void drill_keep_result(struct drill *d);
void drill_prune_drills(struct drill *d);
int drill_report(struct drill *d);
/* JSON members: a string (null when empty), a number, seconds (null when not
 * known). */
void drill_put_kcstr(struct json *j, const char *key, const char *s);
void drill_put_ku64(struct json *j, const char *key, uint64_t v);
void drill_put_ksecs(struct json *j, const char *key, bool known, int64_t ms);

#endif /* TENURE_CTL_DRILL_INT_H */
