/*
 * replica_conf.h — how a replica is created when this node has no data
 * directory (or a fresh copy is needed): the scope settings
 * create_replica_methods, pgbackrest_stanza, pgbackrest_config and
 * create_replica_command (SCOPE/config, fencing/scope_conf.h), and the
 * command lines they stand for.  Pure: no I/O, no allocation.
 *
 * Contract
 * --------
 * create_replica_methods is an ordered list, comma separated, of
 * "pgbackrest", "basebackup" and "custom", each at most once; unset, it
 * is "basebackup" alone (what every agent did before the key existed).
 * The agent tries the methods in that order and takes the first that
 * works (agent_act_copy.c).  replica_conf_check() refuses "pgbackrest"
 * without pgbackrest_stanza and "custom" without create_replica_command.
 *
 * pgbackrest restores with
 *   pgbackrest --stanza=S [--config=F] --type=standby --delta
 *              --pg1-path=DATADIR restore
 * and the standby then fetches WAL with the restore_command
 *   pgbackrest --stanza=S [--config=F] --pg1-path="DATADIR"
 *              archive-get %f "%p".
 * archive_via_pgbackrest (on, off; unset: on when pgbackrest_stanza is
 * set) makes every node's Postgres archive into the same repository:
 * archive_mode = on and
 *   archive_command = 'pgbackrest --stanza=S [--config=F]
 *                      --pg1-path="DATADIR" archive-push "%p"'
 * unless the scope's or the node's pg. lines set those two themselves
 * (agent_params.c).  replica_conf_check() refuses it on without a stanza.
 *
 * custom runs `/bin/sh -c 'exec CMD "$@"' tenure-create-replica DATADIR
 * SCOPE NAME` with TENURE_DATA_DIR, TENURE_SCOPE, TENURE_NAME and
 * TENURE_PRIMARY_CONNINFO in its environment.
 *
 * Values are kept in fixed buffers (a struct scope_conf is copied by
 * value): a longer one is an error, never cut.
 *
 * Errors: 0 or -1 (1 for a line taken) with one line in err.
 */
#ifndef TENURE_FENCING_REPLICA_CONF_H
#define TENURE_FENCING_REPLICA_CONF_H

#include <stdbool.h>
#include <stddef.h>

enum replica_method {
	REPLICA_BASEBACKUP = 0,
	REPLICA_PGBACKREST,
	REPLICA_CUSTOM,
	REPLICA_N_METHODS,
};

enum replica_key {
	REPLICA_KEY_METHODS = 0,
	REPLICA_KEY_STANZA,
	REPLICA_KEY_CONFIG,
	REPLICA_KEY_COMMAND,
	REPLICA_KEY_ARCHIVE,
	REPLICA_N_KEYS,
};

struct replica_conf {
	enum replica_method methods[REPLICA_N_METHODS];
	size_t n_methods; /* 0: not set (basebackup alone) */
	char stanza[128];
	char config[512];   /* pgBackRest's config file, "": its default */
	char command[1024]; /* custom's command */
	bool archive;       /* archive_via_pgbackrest, when set */
	bool set[REPLICA_N_KEYS];
};

extern const char *const replica_key_names[REPLICA_N_KEYS];

/* "basebackup", "pgbackrest", "custom". */
const char *replica_method_name(enum replica_method m);

/* The methods in force: c's list, or basebackup alone when unset.
 * Returns how many (into out[REPLICA_N_METHODS]). */
size_t replica_methods(const struct replica_conf *c,
		       enum replica_method out[REPLICA_N_METHODS]);

/* key (table form, "create_replica_methods") set to value; "" removes
 * it.  1 when key is one of ours and was taken, 0 when it is not one of
 * ours, -1 on a bad value. */
int replica_conf_set(struct replica_conf *c, const char *key, size_t klen,
		     const char *value, char *err, size_t errlen);

/* One `key = value` line in the syntax of common/conf_lex.h (keys in any
 * case, backslash escapes in quotes, a value with blanks quoted): as
 * replica_conf_set; a line that is not one of our keys is 0, whatever
 * its syntax. */
int replica_conf_line(struct replica_conf *c, const char *line, const char *end,
		      char *err, size_t errlen);

/* What each method needs is set.  0 or -1. */
int replica_conf_check(const struct replica_conf *c, char *err, size_t errlen);

/* The keys c sets as `key = 'value'` lines appended at buf+*len; false
 * when they do not fit. */
bool replica_conf_format(const struct replica_conf *c, char *buf, size_t cap,
			 size_t *len);

/* Key k's value as text ("pgbackrest,basebackup"; "" when not set). */
void replica_conf_value(const struct replica_conf *c, enum replica_key k,
			char *buf, size_t cap);

bool replica_conf_equal(const struct replica_conf *a,
			const struct replica_conf *b);

/* pgbackrest's restore command line: v->argv (NULL-terminated) points
 * into v and c. */
struct replica_argv {
	char stanza[160], config[540], path[1100];
	const char *argv[10];
};
void replica_pgbackrest_argv(struct replica_argv *v,
			     const struct replica_conf *c, const char *datadir);

/* The restore_command for a pgBackRest repository and this data
 * directory (a relative %p is taken from --pg1-path, which a pgBackRest
 * config shared by several nodes cannot name for each).  false: too long,
 * or datadir holds a character the shell would read inside "". */
bool replica_restore_command(const struct replica_conf *c, const char *datadir,
			     char *buf, size_t cap);

/* Whether Postgres archives into the repository: archive_via_pgbackrest,
 * or, unset, whether a stanza is set. */
bool replica_archives(const struct replica_conf *c);

/* The archive_command for the repository and this data directory (as
 * replica_restore_command: a relative %p needs --pg1-path).  false: too
 * long, or datadir holds a character the shell would read inside "". */
bool replica_archive_command(const struct replica_conf *c, const char *datadir,
			     char *buf, size_t cap);

#endif
