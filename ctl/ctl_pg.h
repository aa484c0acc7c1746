/*
 * ctl_pg.h — tenurectl's commands on the Postgres cluster the agents keep
 * under SCOPE/: cluster list/history/pause/resume/switchover/failover
 * (ctl_pgcluster.c, their output in ctl_pgoutput.c) and
 * show-config/edit-config (ctl_scopeconf.c).  cluster drill is in
 * ctl_drill.h; what every command shares is in ctl.h.
 *
 * Errors: as ctl.h, commands and helpers return 0 or an exit code (enum
 * ctl_exit) after saying why; ctl_pg_quiet_call a client_status or a
 * negative libuv code.
 */
#ifndef TENURE_CTL_PG_H
#define TENURE_CTL_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/json.h"
#include "ctl/ctl.h"
#include "fencing/member.h"
#include "proto/client.h"
#include "proto/limits.h"
#include "proto/tclient.h"

/* ---- ctl_pgoutput.c: the Postgres cluster (cluster list, history) ------ */

/* What `cluster list` shows: the records under SCOPE/members/ and who
 * holds SCOPE/primary.  Roles follow fencing/roster.h (only the holder is
 * "primary"); a holder without a record still gets a row. */
struct ctl_pg_list {
	const char *scope;
	const char *leader; /* "" when SCOPE/primary is free */
	uint64_t token;     /* its fencing token */
	bool paused;
	const char *sync; /* SCOPE/sync, comma-separated, or "" */
	const struct member *members;
	size_t n;
};
void ctl_pg_print_list(FILE *f, enum ctl_format fmt,
		       const struct ctl_pg_list *l);

/* One SCOPE/history/ entry (see the key protocol in ctl_pgcluster.c). */
struct ctl_pg_event {
	uint64_t time_ms;
	char old[MEMBER_STR_MAX];
	char new_name[MEMBER_STR_MAX];
	char reason[MEMBER_STR_MAX];
	uint64_t token;
	uint64_t unavailable_ms;
};
/* Unknown keys ignored, missing ones zero; false with a reason. */
bool ctl_pg_event_decode(const char *json, size_t len, struct ctl_pg_event *e,
			 char *err, size_t errlen);
void ctl_pg_print_history(FILE *f, enum ctl_format fmt,
			  const struct ctl_pg_event *e, size_t n);
/* "2024-05-01T12:00:00.123Z" into buf (at least 32 bytes). */
const char *ctl_pg_iso_time(uint64_t ms, char *buf, size_t cap);
/* One history entry as a JSON object (what the history list holds). */
void ctl_pg_json_event(struct json *j, const struct ctl_pg_event *e);

/* ---- ctl_pgcluster.c: shared with cluster drill ------------------------- */

/* --scope, env TENURE_SCOPE, or "main"; 0 or a usage error. */
int ctl_pg_scope(struct ctl *c, const char **out);
/* A key's value into buf (cut at len); *found false when absent.  0 or
 * the exit code after an error was printed. */
int ctl_pg_read_key(struct ctl *c, const char *key, char *buf, size_t len,
		    bool *found);
/* Writes S/switchover (kind "switchover" or "failover") unless a request
 * is pending; 0 or the exit code after saying why. */
int ctl_pg_request_handover(struct ctl *c, const char *scope, const char *kind,
			    const char *from, const char *candidate);
/* One request without log lines, bounded: a client_status, or a negative
 * libuv error when no client could be set up. */
int ctl_pg_quiet_call(struct ctl *c, const struct client_request *q,
		      uint64_t timeout_ms, struct tclient_result *res);

/* Everything `cluster list`, `topology` and `dsn` show, read once:
 * list points into the snapshot.  0, or the exit code after an error was
 * printed; free it either way. */
struct ctl_pg_snapshot {
	struct ctl_pg_list list;
	char leader[SM_HOLDER_MAX + 1];
	struct member *members;
	char *sync;
};
int ctl_pg_snapshot_read(struct ctl *c, struct ctl_pg_snapshot *s);
void ctl_pg_snapshot_free(struct ctl_pg_snapshot *s);

/* ---- ctl_pgtopo.c: cluster topology and cluster dsn (pure parts) -------- */

/* The members as a tree: the primary at the root, each standby under the
 * member it streams from ("upstream"); one whose upstream is not a member
 * (or that loops) is a root of its own.  Table: the list's columns, the
 * member's name indented under its upstream; JSON: nested objects
 * {name, role, state, host, lag_bytes, replicas: [...]}, one document. */
void ctl_pg_print_topology(FILE *f, enum ctl_format fmt,
			   const struct ctl_pg_list *l);
/* The member to connect to: NODE when given (NULL when unknown), else
 * by role: "primary" (the lease holder's record) or "replica" (the
 * healthy streaming standby with the least lag; NULL when none). */
const struct member *ctl_pg_dsn_member(const struct ctl_pg_list *l,
				       const char *node, const char *role);
/* A libpq connection string for m: host and port from its "pg" address,
 * then dbname and user when given (NULL: libpq's defaults).  No
 * password, ever.  Returns buf. */
const char *ctl_pg_dsn_format(const struct member *m, const char *dbname,
			      const char *user, char *buf, size_t cap);
/* The record of the node holding S/primary; *found false when there is
 * none (or it has no record).  0 or the exit code after saying why. */
int ctl_pg_primary_member(struct ctl *c, const char *scope, struct member *out,
			  bool *found);

/* ---- ctl_pgcheck.c: Postgres parameters checked by the primary's server */

struct pg_params;
/* Every parameter of p checked against the primary's pg_settings (and the
 * server itself for session settings); the refusals printed with the
 * server's wording.  0 or the exit code (nothing may be written). */
int ctl_pg_check_params(struct ctl *c, const char *scope,
			const struct pg_params *p);
/* S/primary's holder ("" when free) into holder.  0 or the exit code
 * after an error was printed. */
int ctl_pg_read_primary(struct ctl *c, const char *scope, char *holder,
			size_t cap);
/* The member records (*out malloc'ed).  0 or an exit code. */
int ctl_pg_read_members(struct ctl *c, const char *scope, struct member **out,
			size_t *n);
/* Every key under prefix (free with ctl_pages_free). */
int ctl_pg_list_prefix(struct ctl *c, const char *prefix, struct ctl_pages *p);

/* ---- the commands ------------------------------------------------------- */

int ctl_cmd_pg_list(struct ctl *c);
int ctl_cmd_pg_history(struct ctl *c);
int ctl_cmd_pg_pause(struct ctl *c);
int ctl_cmd_pg_resume(struct ctl *c);
/* ctl_pgrequests.c: restart, reload, reinit, flush (fencing/requests.h) */
int ctl_cmd_pg_restart(struct ctl *c);
int ctl_cmd_pg_reload(struct ctl *c);
int ctl_cmd_pg_reinit(struct ctl *c);
int ctl_cmd_pg_flush(struct ctl *c);
/* A switchover without its question (cluster restart asked already). */
int ctl_pg_switchover_asked(struct ctl *c);
int ctl_cmd_pg_switchover(struct ctl *c);
int ctl_cmd_pg_failover(struct ctl *c);
int ctl_cmd_pg_topology(struct ctl *c);
int ctl_cmd_pg_dsn(struct ctl *c);
/* ctl_scopeconf.c: S/config, the settings every agent agrees on */
int ctl_cmd_pg_show_config(struct ctl *c);
int ctl_cmd_pg_edit_config(struct ctl *c);
/* S/config changed by edit (which may refuse with an exit code),
 * checked, its changes printed and written with a compare-and-swap (not
 * written when nothing changed).  0 or the exit code. */
struct scope_conf;
typedef int (*ctl_conf_edit_fn)(struct scope_conf *next, void *arg);
int ctl_scope_conf_edit(struct ctl *c, const char *scope, ctl_conf_edit_fn edit,
			void *arg);

/* ---- ctl_standby.c: a standby cluster ----------------------------------- */
int ctl_cmd_pg_promote(struct ctl *c);
/* ctl_pgmove.c: cluster move --to ENDPOINTS, the scope to another trio */
int ctl_cmd_pg_move(struct ctl *c);

#endif /* TENURE_CTL_PG_H */
