/*
 * standby_cluster.h — the scope settings that make a whole scope a
 * standby cluster (as Patroni's standby_cluster): standby_cluster_hosts,
 * standby_cluster_restore_command and standby_cluster_slot, kept in
 * SCOPE/config (fencing/scope_conf.h).  Pure: no I/O, no allocation.
 *
 * Contract
 * --------
 * A scope is a standby cluster while standby_cluster_hosts or
 * standby_cluster_restore_command is set (standby_cluster_active).  It
 * then has no primary: the holder of its primary lease is the standby
 * leader, which runs Postgres in recovery, streaming from the main
 * cluster (standby_cluster_hosts: "host[:port],..." — the main cluster's
 * Postgres hosts, or one address of a router in front of them; the port
 * defaults to 5432) and/or restoring WAL from the main cluster's archive
 * (standby_cluster_restore_command); standby_cluster_slot names a
 * replication slot on the main cluster for it.  The other members
 * cascade from the standby leader.  Nothing is ever promoted while the
 * setting is there (fencing/decide.h rule 7); `tenurectl cluster
 * promote` removes the three keys in one write.
 *
 * Values are kept in fixed buffers (a struct scope_conf is copied by
 * value): a longer one is an error, never cut.  Hosts and the slot name
 * go into primary_conninfo and primary_slot_name: characters that would
 * need quoting there are refused.
 *
 * Errors: 0 or -1 (1 for a line or key taken) with one line in err.
 */
#ifndef TENURE_FENCING_STANDBY_CLUSTER_H
#define TENURE_FENCING_STANDBY_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

enum standby_key {
	STANDBY_KEY_HOSTS = 0,
	STANDBY_KEY_RESTORE_COMMAND,
	STANDBY_KEY_SLOT,
	STANDBY_N_KEYS,
};

#define STANDBY_CLUSTER_HOSTS_MAX 512
#define STANDBY_CLUSTER_DEFAULT_PORT "5432"

struct standby_cluster {
	char hosts[STANDBY_CLUSTER_HOSTS_MAX]; /* "h1:5432,h2" */
	char restore_command[1024];
	char slot[64];
	bool set[STANDBY_N_KEYS];
};

extern const char *const standby_key_names[STANDBY_N_KEYS];

/* The name decide() and the agent use for the main cluster where they
 * would name a member (an upstream, a copy's source): no member can be
 * so named (a node's name has no parentheses or blanks). */
#define STANDBY_CLUSTER_UPSTREAM "(main cluster)"

/* The scope is a standby cluster. */
bool standby_cluster_active(const struct standby_cluster *c);

/* key (table form, "standby_cluster_hosts") set to value; "" removes it.
 * 1 when key is one of ours and was taken, 0 when it is not one of ours,
 * -1 on a bad value. */
int standby_cluster_set(struct standby_cluster *c, const char *key, size_t klen,
			const char *value, char *err, size_t errlen);

/* One `key = value` line (value in optional single quotes, '' for a
 * quote; a '#' outside quotes starts a comment): as standby_cluster_set,
 * but an empty value is an error. */
int standby_cluster_line(struct standby_cluster *c, const char *line,
			 const char *end, char *err, size_t errlen);

/* What the keys need of each other: a slot only with hosts to stream
 * from.  0 or -1. */
int standby_cluster_check(const struct standby_cluster *c, char *err,
			  size_t errlen);

/* The keys c sets as `key = 'value'` lines appended at buf+*len; false
 * when they do not fit. */
bool standby_cluster_format(const struct standby_cluster *c, char *buf,
			    size_t cap, size_t *len);

/* Key k's value ("" when not set). */
void standby_cluster_value(const struct standby_cluster *c, enum standby_key k,
			   char *buf, size_t cap);

bool standby_cluster_equal(const struct standby_cluster *a,
			   const struct standby_cluster *b);

/* The hosts as libpq's multi-host lists: "h1,h2" into hosts and
 * "5432,5433" into ports.  false when they do not fit. */
bool standby_cluster_host_lists(const struct standby_cluster *c, char *hosts,
				size_t hcap, char *ports, size_t pcap);

#endif
