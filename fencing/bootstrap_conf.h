/*
 * bootstrap_conf.h — how a new scope's first primary gets its data: the
 * scope settings bootstrap_method, bootstrap_target, bootstrap_stanza and
 * bootstrap_command (SCOPE/config, fencing/scope_conf.h), and the
 * pgBackRest command line they stand for.  Pure: no I/O, no allocation.
 *
 * Contract
 * --------
 * bootstrap_method is "initdb" (unset: what every agent did before the
 * key existed), "pgbackrest" (a restore from a backup, optionally to a
 * point in time) or "custom" (the operator's command).
 *
 * bootstrap_target, for pgbackrest (and handed to custom's command in
 * TENURE_BOOTSTRAP_TARGET), is where recovery stops:
 *   ''                            the end of the archive (latest)
 *   'time:2026-12-07 12:00:00+00' a time WITH its zone (+HH, +HH:MM, Z
 *                                 or UTC): one read in the server's
 *                                 TimeZone is a guess
 *   'lsn:0/3000000'               a WAL position
 *   'name:before_drop'            a restore point (pg_create_restore_point)
 * and the restore is
 *   pgbackrest --stanza=S [--config=F] --pg1-path=DATADIR --delta
 *              --type=time|lsn|name --target=T --target-action=promote
 *              restore
 * (--type=default, no target, for the latest).  S is bootstrap_stanza,
 * else pgbackrest_stanza; F is pgbackrest_config (replica_conf.h).
 *
 * bootstrap_command for custom runs as `/bin/sh -c 'exec CMD "$@"'
 * tenure-bootstrap DATADIR SCOPE NAME` (agent_act_bootstrap.c).
 *
 * bootstrap_conf_check() refuses pgbackrest without a stanza, custom
 * without a command, and a target with initdb.
 *
 * Errors: 0 or -1 (1 for a line taken) with one line in err.
 */
#ifndef TENURE_FENCING_BOOTSTRAP_CONF_H
#define TENURE_FENCING_BOOTSTRAP_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "fencing/replica_conf.h"

enum bootstrap_method {
	BOOTSTRAP_INITDB = 0,
	BOOTSTRAP_PGBACKREST,
	BOOTSTRAP_CUSTOM,
	BOOTSTRAP_N_METHODS,
};

enum bootstrap_key {
	BOOTSTRAP_KEY_METHOD = 0,
	BOOTSTRAP_KEY_TARGET,
	BOOTSTRAP_KEY_STANZA,
	BOOTSTRAP_KEY_COMMAND,
	BOOTSTRAP_N_KEYS,
};

/* Where recovery stops; the names are pgBackRest's --type values. */
enum bootstrap_target_kind {
	TARGET_LATEST = 0, /* "default" */
	TARGET_TIME,
	TARGET_LSN,
	TARGET_NAME,
};

struct bootstrap_conf {
	enum bootstrap_method method;
	enum bootstrap_target_kind target_kind;
	char target[128]; /* after "time:", "lsn:" or "name:" */
	char stanza[128];
	char command[1024];
	bool set[BOOTSTRAP_N_KEYS];
};

extern const char *const bootstrap_key_names[BOOTSTRAP_N_KEYS];

/* "initdb", "pgbackrest", "custom". */
const char *bootstrap_method_name(enum bootstrap_method m);
/* pgBackRest's --type: "default", "time", "lsn", "name". */
const char *bootstrap_target_type(enum bootstrap_target_kind k);

/* text ("time:...", "lsn:...", "name:...", "" for the latest) into *kind
 * and value (what follows the colon).  0 or -1 with err. */
int bootstrap_target_parse(const char *text, enum bootstrap_target_kind *kind,
			   char *value, size_t cap, char *err, size_t errlen);

/* key (table form) set to value; "" removes it.  1 taken, 0 not one of
 * ours, -1 on a bad value. */
int bootstrap_conf_set(struct bootstrap_conf *c, const char *key, size_t klen,
		       const char *value, char *err, size_t errlen);

/* One `key = value` line: as bootstrap_conf_set. */
int bootstrap_conf_line(struct bootstrap_conf *c, const char *line,
			const char *end, char *err, size_t errlen);

/* What the method needs is set (r: the scope's pgBackRest keys). */
int bootstrap_conf_check(const struct bootstrap_conf *c,
			 const struct replica_conf *r, char *err,
			 size_t errlen);

/* The keys c sets as `key = 'value'` lines appended at buf+*len; false
 * when they do not fit. */
bool bootstrap_conf_format(const struct bootstrap_conf *c, char *buf,
			   size_t cap, size_t *len);

/* Key k's value as text ("" when not set). */
void bootstrap_conf_value(const struct bootstrap_conf *c, enum bootstrap_key k,
			  char *buf, size_t cap);

bool bootstrap_conf_equal(const struct bootstrap_conf *a,
			  const struct bootstrap_conf *b);

/* The stanza restored from: bootstrap_stanza, else pgbackrest_stanza. */
const char *bootstrap_stanza(const struct bootstrap_conf *c,
			     const struct replica_conf *r);

/* The restore command line: v->argv (NULL-terminated) points into v. */
struct bootstrap_argv {
	char stanza[160], config[540], path[1100], type[32], target[160];
	const char *argv[12];
};
void bootstrap_pgbackrest_argv(struct bootstrap_argv *v,
			       const struct bootstrap_conf *c,
			       const struct replica_conf *r,
			       const char *datadir);

#endif
