/*
 * agent_scope.c — the scope-wide settings in force on this agent
 * (fencing/scope_conf.h): SCOPE/config's values, and for a key it does not
 * set, this node's config file's (a cluster migrating to SCOPE/config).
 *
 * Applied after every complete view, so every agent changes within a tick
 * or two of the write, without a restart.  What makes each change safe:
 *   - synchronous_mode: decide.h rule 6 keeps the asynchronous rule until
 *     the primary has written S/sync, and rule 4b turns it off in the
 *     order Postgres first, S/sync second;
 *   - lease_ttl: a held lease keeps the TTL it was acquired with (rule 3
 *     computes validity from it, agent_lease.c); the new one is asked for
 *     at the next acquire;
 *   - renew_interval: the tick and renewal timers take the new pace.
 * A stored text this agent cannot use (say a TTL too short for its own
 * fence_time) is logged once and ignored: the settings in force stay.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "fencing/agent_int.h"

/* This node's file, as a scope_conf with every key set. */
static void from_file(const struct agent_conf *f, struct scope_conf *out)
{
	memset(out, 0, sizeof(*out));
	out->synchronous_mode = f->synchronous_mode;
	out->synchronous_node_count = f->synchronous_node_count;
	out->synchronous_mode_strict = f->synchronous_mode_strict;
	out->maximum_lag_on_failover = f->maximum_lag_on_failover;
	out->lease_ttl = f->lease_ttl;
	out->renew_interval = f->renew_interval;
	/* not in the node's file: the defaults until SCOPE/config sets them */
	out->member_slots_ttl = SCOPE_DEFAULT_MEMBER_SLOTS_TTL;
	out->max_slot_wal_keep_size = SCOPE_DEFAULT_MAX_SLOT_WAL_KEEP_SIZE;
}

void scope_init(struct agent *a)
{
	from_file(a->conf, &a->live);
}

/* Key i of src into dst when src sets it. */
static void take(struct scope_conf *dst, const struct scope_conf *src,
		 enum scope_key i)
{
	if (!src->set[i])
		return;
	switch (i) {
	case SCOPE_SYNCHRONOUS_MODE:
		dst->synchronous_mode = src->synchronous_mode;
		break;
	case SCOPE_SYNCHRONOUS_NODE_COUNT:
		dst->synchronous_node_count = src->synchronous_node_count;
		break;
	case SCOPE_SYNCHRONOUS_MODE_STRICT:
		dst->synchronous_mode_strict = src->synchronous_mode_strict;
		break;
	case SCOPE_MAXIMUM_LAG_ON_FAILOVER:
		dst->maximum_lag_on_failover = src->maximum_lag_on_failover;
		break;
	case SCOPE_LEASE_TTL:
		dst->lease_ttl = src->lease_ttl;
		break;
	case SCOPE_RENEW_INTERVAL:
		dst->renew_interval = src->renew_interval;
		break;
	case SCOPE_MEMBER_SLOTS_TTL:
		dst->member_slots_ttl = src->member_slots_ttl;
		break;
	case SCOPE_MAX_SLOT_WAL_KEEP_SIZE:
		dst->max_slot_wal_keep_size = src->max_slot_wal_keep_size;
		break;
	default:
		break;
	}
}

/* The slot settings have no key in a node's file: nothing to override. */
static bool in_node_file(int i)
{
	return i != SCOPE_MEMBER_SLOTS_TTL && i != SCOPE_MAX_SLOT_WAL_KEEP_SIZE;
}

/* One line per setting that changes, and one per key where SCOPE/config
 * overrides a different value in this node's file (the file is stale:
 * the operator should know it no longer decides). */
static void log_changes(const struct scope_conf *old,
			const struct scope_conf *now,
			const struct scope_conf *file,
			const struct scope_conf *stored)
{
	for (int i = 0; i < SCOPE_MAINTENANCE_MODE; i++) {
		char was[64], is[64], f[64];
		scope_conf_value(old, (enum scope_key)i, was, sizeof(was));
		scope_conf_value(now, (enum scope_key)i, is, sizeof(is));
		scope_conf_value(file, (enum scope_key)i, f, sizeof(f));
		size_t n;
		const char *key = scope_conf_table(&n)[i].key;
		if (strcmp(was, is) != 0)
			log_event(LOG_INFO, "scope_setting",
				  "key=%s old=%s new=%s source=%s", key, was,
				  is,
				  stored->set[i] ? "SCOPE/config"
						 : "config_file");
		if (stored->set[i] && in_node_file(i) && strcmp(f, is) != 0)
			log_event(LOG_WARN, "scope_setting_overrides_file",
				  "key=%s scope=%s file=%s hint=\"SCOPE/config "
				  "decides for every node; remove %s from this "
				  "node's config file or set it to %s\"",
				  key, is, f, key, is);
	}
}

static void log_replica_methods(const struct replica_conf *c)
{
	enum replica_method m[REPLICA_N_METHODS];
	char list[64] = "";
	size_t n = replica_methods(c, m);
	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? "," : "", replica_method_name(m[i]));
	log_event(LOG_INFO, "scope_setting",
		  "key=create_replica_methods new=%s stanza=%s config=%s "
		  "archive=%s",
		  list, c->stanza[0] ? c->stanza : "-",
		  c->config[0] ? c->config : "-",
		  replica_archives(c) ? "on" : "off");
}

static void refuse(struct agent *a, const char *err)
{
	if (strcmp(a->scope_refused, a->view.config) == 0)
		return; /* said once */
	snprintf(a->scope_refused, sizeof(a->scope_refused), "%s",
		 a->view.config);
	char q[700];
	log_event(LOG_ERROR, "scope_config_refused",
		  "err=%s hint=\"the settings in force stay; fix it with "
		  "'tenurectl cluster edit-config --scope %s'\"",
		  log_quote(err, q, sizeof(q)), a->conf->scope);
}

void scope_apply(struct agent *a)
{
	const struct witness_view *v = &a->view;
	if (!a->scope_dirty && v->config_present == a->scope_applied_present &&
	    strcmp(v->config, a->scope_applied) == 0)
		return;
	a->scope_dirty = false;
	struct scope_conf stored, file, next;
	char err[512];
	memset(&stored, 0, sizeof(stored));
	if (v->config_present &&
	    (scope_conf_parse(v->config, strlen(v->config), "SCOPE/config",
			      &stored, err, sizeof(err)) != 0 ||
	     scope_conf_check(&stored, a->conf->lease_ttl,
			      a->conf->renew_interval, a->conf->fence_time,
			      a->conf->pause_margin, AGENT_CLOCK_DRIFT_PPM, err,
			      sizeof(err)) != 0)) {
		refuse(a, err);
		return;
	}
	from_file(a->conf, &file);
	next = file;
	for (int i = 0; i < SCOPE_MAINTENANCE_MODE; i++)
		take(&next, &stored, (enum scope_key)i);
	/* the permanent slots live in SCOPE/config only */
	memcpy(next.slots, stored.slots, sizeof(next.slots));
	next.n_slots = stored.n_slots;
	next.pg = stored.pg; /* the node's own pg. lines: agent_params.c */
	next.replica = stored.replica; /* SCOPE/config only, too */
	next.standby = stored.standby; /* SCOPE/config only */
	if (!standby_cluster_equal(&a->live.standby, &next.standby))
		standby_cluster_log(&next.standby);
	next.bootstrap = stored.bootstrap;
	if (!replica_conf_equal(&a->live.replica, &next.replica))
		log_replica_methods(&next.replica);
	log_changes(&a->live, &next, &file, &stored);
	bool pace = next.renew_interval != a->live.renew_interval;
	a->live = next;
	a->scope_applied_present = v->config_present;
	snprintf(a->scope_applied, sizeof(a->scope_applied), "%s", v->config);
	a->scope_refused[0] = '\0';
	if (pace) {
		lease_interval_changed(a);
		uv_timer_set_repeat(&a->tick_timer,
				    (uint64_t)a->live.renew_interval);
	}
}
