/*
 * ctl_drill.h — tenurectl cluster drill (ctl_drill*.c, ctl_drill_int.h
 * lists the files): the command, the drills `cluster history` shows, and
 * the drill's write probe (ctl_drillprobe.c).  The Postgres cluster's
 * other commands are in ctl_pg.h.
 *
 * Errors: ctl_cmd_pg_drill returns an exit code (enum ctl_exit); the
 * probe's functions 0 or -1 with a message in err.
 */
#ifndef TENURE_CTL_DRILL_H
#define TENURE_CTL_DRILL_H

#include <stddef.h>
#include <stdint.h>

#include "ctl/ctl.h"
#include "ctl/ctl_pg.h"
#include "fencing/member.h"

/* ---- ctl_drill_history.c -------------------------------------------------- */

/* `cluster history` with the drills kept under S/drills/: the agents'
 * table then a "Drills" table; -o json one list, oldest first, where a
 * drill is an object with "reason": "drill" (the list's shape stays what
 * scripts already read). */
int ctl_drill_print_history(struct ctl *c, const char *scope,
			    const struct ctl_pg_event *e, size_t n);

/* ---- ctl_drillprobe.c: the drill's write probe ---------------------------- */

/* Every interval_ms, INSERT INTO tenure_drill (id, node) the next id on
 * the node named by ctl_probe_target, in a thread of its own; a connect
 * or an INSERT gets deadline_ms (poll() on the socket: a dead or frozen
 * node cannot hang it).  An INSERT counts as acknowledged only when it
 * succeeded without the WARNING of a cancelled synchronous wait.  Times
 * are CLOCK_MONOTONIC ms.  ctl_probe_target and ctl_probe_first_new_ack
 * may be called while it runs; the rest before start or after stop. */
struct ctl_probe_conf {
	const char *user, *database; /* libpq's (password: PGPASSWORD,
					~/.pgpass) */
	const char *old;             /* the primary when the drill starts */
	uint64_t interval_ms, deadline_ms;
};
struct ctl_probe_stats {
	uint64_t first_id; /* the run's ids are >= this */
	uint64_t writes, acked, errors;
	uint64_t first_new_ms;   /* first ack by a node other than old,
					0 when none */
	uint64_t last_before_ms; /* the ack before it, 0 when none */
	uint64_t longest_gap_ms; /* between two acks in a row */
	char new_node[MEMBER_STR_MAX];
	char last_error[256];
};
struct ctl_probe;
/* Creates tenure_drill (if need be) on the primary at primary_addr
 * ("host:port") and learns the next free id; 0, or -1 with err. */
int ctl_probe_new(const struct ctl_probe_conf *conf, const char *primary_addr,
		  struct ctl_probe **out, char *err, size_t errlen);
int ctl_probe_start(struct ctl_probe *p);
/* Where to write ("" node: nowhere, for now). */
void ctl_probe_target(struct ctl_probe *p, const char *node, const char *addr);
uint64_t ctl_probe_first_new_ack(struct ctl_probe *p);
/* Lets the current write finish and joins the thread (idempotent). */
void ctl_probe_stop(struct ctl_probe *p);
void ctl_probe_stats(const struct ctl_probe *p, struct ctl_probe_stats *s);
/* How many acknowledged ids the node at addr lacks (and the first); 0,
 * or -1 with err when it cannot be asked. */
int ctl_probe_count_lost(const struct ctl_probe *p, const char *addr,
			 uint64_t *lost, uint64_t *first_lost, char *err,
			 size_t errlen);
void ctl_probe_free(struct ctl_probe *p);

/* ---- the command -------------------------------------------------------- */

int ctl_cmd_pg_drill(struct ctl *c);

#endif /* TENURE_CTL_DRILL_H */
