/*
 * scope_conf.h — the settings every agent of a scope must agree on, kept
 * in one key, SCOPE/config, as `key = value` lines (the syntax of the
 * agent's own file, common/conf.h).
 *
 * Contract
 * --------
 * Two agents that disagree on these rules can each wait for the other
 * (one refuses every candidate, the other names a candidate that refuses
 * itself): the cluster is left without a primary.  So they live in the
 * witnesses, tenurectl validates them before writing (scope_conf_parse and
 * scope_conf_check, nothing written on an error), and every agent
 * validates them again when it reads them: a value it cannot use is
 * logged and the settings it had stay in force.
 *
 * A key SCOPE/config does not set falls back to each agent's own file
 * (how a cluster migrates: the files keep working until the key is
 * written).  maintenance_mode is accepted in edit-config's text but never
 * stored here: it is the SCOPE/pause key, as `cluster pause` writes it.
 *
 * Errors: 0 or -1 with one line in err; nothing is logged here (the agent
 * logs).
 */
#ifndef TENURE_FENCING_SCOPE_CONF_H
#define TENURE_FENCING_SCOPE_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/conf.h"
#include "fencing/slots.h"

#define SCOPE_MAX_SLOTS 16 /* permanent slots */
#include "fencing/pg_params.h"
#include "fencing/bootstrap_conf.h"
#include "fencing/replica_conf.h"
#include "fencing/standby_cluster.h"

enum scope_key {
	SCOPE_SYNCHRONOUS_MODE = 0,
	SCOPE_SYNCHRONOUS_NODE_COUNT,
	SCOPE_SYNCHRONOUS_MODE_STRICT,
	SCOPE_MAXIMUM_LAG_ON_FAILOVER,
	SCOPE_LEASE_TTL,
	SCOPE_RENEW_INTERVAL,
	SCOPE_MEMBER_SLOTS_TTL,
	SCOPE_MAX_SLOT_WAL_KEEP_SIZE,
	SCOPE_MAINTENANCE_MODE, /* SCOPE/pause, never in SCOPE/config */
	SCOPE_N_KEYS,
};

struct scope_conf {
	int synchronous_mode;            /* 0 off, 1 on */
	int64_t synchronous_node_count;  /* standbys a commit waits for */
	int synchronous_mode_strict;     /* 0 off, 1 on: with no standby
					    to wait for, commits wait */
	int64_t maximum_lag_on_failover; /* bytes */
	int64_t lease_ttl;               /* ms */
	int64_t renew_interval;          /* ms */
	int64_t member_slots_ttl;        /* ms a gone member keeps its slot */
	int64_t max_slot_wal_keep_size;  /* bytes, 0: no bound */
	bool maintenance_mode;
	bool set[SCOPE_N_KEYS]; /* given in the text */
	/* The permanent slots, `slot.NAME = physical` or
	 * `slot.NAME = logical:DATABASE:PLUGIN` lines (fencing/slots.h). */
	struct slot_spec slots[SCOPE_MAX_SLOTS];
	size_t n_slots;
	/* pg.NAME = VALUE and pg_hba = '...' lines (pg_params.h): what
	 * every agent writes into its Postgres configuration */
	struct pg_params pg;
	/* create_replica_methods, pgbackrest_stanza, pgbackrest_config,
	 * create_replica_command (replica_conf.h) */
	struct replica_conf replica;
	/* standby_cluster_hosts, standby_cluster_restore_command,
	 * standby_cluster_slot (standby_cluster.h) */
	struct standby_cluster standby;
	/* bootstrap_method, bootstrap_target, bootstrap_stanza,
	 * bootstrap_command (bootstrap_conf.h) */
	struct bootstrap_conf bootstrap;
};

/* The agent's defaults, and tenurectl's guess for the margins that each
 * agent's file sets (fence_time, pause_margin) when it checks a TTL. */
#define SCOPE_DEFAULT_LEASE_TTL 2500
#define SCOPE_DEFAULT_RENEW_INTERVAL 500
#define SCOPE_DEFAULT_FENCE_TIME 200
#define SCOPE_DEFAULT_PAUSE_MARGIN 300
/* Slots: how long a member whose key is gone keeps its slot on the
 * primary (an agent or host restart must not cost a re-copy), and the
 * most WAL the slots together may hold back there (a dead member's slot
 * must not fill the primary's disk). */
#define SCOPE_DEFAULT_MEMBER_SLOTS_TTL (30 * 60 * 1000)
#define SCOPE_DEFAULT_MAX_SLOT_WAL_KEEP_SIZE (10LL << 30)
/* Where the permanent slot lines begin: "slot.NAME = ...". */
#define SCOPE_SLOT_PREFIX "slot."
/* The agents' clock-rate bound ρ of docs/design.md rule 3, in parts per
 * million (AGENT_CLOCK_DRIFT_PPM); tenurectl checks settings with it. */
#define SCOPE_CLOCK_DRIFT_PPM 1000

/* The table (for help texts and formatting); *n gets its length. */
const struct conf_option *scope_conf_table(size_t *n);

/* text (len bytes) into *out, zeroed first: unknown keys, bad values and
 * values out of range are errors ("SCOPE/config:LINE: ...").  0 or -1. */
int scope_conf_parse(const char *text, size_t len, const char *origin,
		     struct scope_conf *out, char *err, size_t errlen);

/* "key=value" (as `--set` gives it) applied to *c; "key=" removes the key
 * (each agent's file decides again); "slot.NAME=..." a permanent slot;
 * pg.NAME=VALUE sets a Postgres parameter (pg.NAME= removes it),
 * pg_hba=LINE appends a pg_hba line (pg_hba= removes them all).
 * 0 or -1 with the message in err. */
int scope_conf_assign(struct scope_conf *c, const char *assignment, char *err,
		      size_t errlen);

/* The checks that need more than one value: the lease TTL must leave at
 * least 3 renewals of validity after the drift bound (drift_ppm), fence_time
 * and pause_margin.  Keys *c does not set take ttl / renew (the values
 * otherwise in force).  0 or -1 with the message in err. */
int scope_conf_check(const struct scope_conf *c, int64_t ttl, int64_t renew,
		     int64_t fence_time, int64_t pause_margin,
		     int64_t drift_ppm, char *err, size_t errlen);

/* The keys *c sets, one `key = value` line each, in table order, without
 * maintenance_mode, then the replica creation keys, then the standby
 * cluster keys, then the permanent
 * slots, then the pg. and pg_hba lines: what SCOPE/config holds.  false if buf is too small. */
bool scope_conf_format(const struct scope_conf *c, char *buf, size_t cap);

/* `slot.NAME` set to value (a spec, slots.h), or removed when value is
 * "".  0 or -1 with the message in err. */
int scope_conf_set_slot(struct scope_conf *c, const char *name,
			const char *value, char *err, size_t errlen);

/* Key i's value in *c as text ("on", "2s", "1MB"). */
void scope_conf_value(const struct scope_conf *c, enum scope_key i, char *buf,
		      size_t cap);

#endif
