/*
 * api_patroni.c — /cluster, /history and /config in the shapes Patroni's
 * REST API gives them, so that tools written for Patroni parse them.
 * Where tenure knows more, the extra fields are added beside Patroni's
 * (never under a name Patroni uses for something else).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fencing/api_int.h"
#include "fencing/flatjson.h"
#include "fencing/roster.h"

/* ---- /cluster ----------------------------------------------------------- */

static bool is_leader(const struct api_view *v, const struct member *m)
{
	return v->leader && v->leader[0] && strcmp(m->name, v->leader) == 0;
}

/* Patroni's three roles: the holder of the lease is the leader. */
static const char *patroni_role(const struct api_view *v,
				const struct member *m)
{
	if (api_standby_leader(v, m))
		return "standby_leader";
	if (is_leader(v, m))
		return "leader";
	if (roster_is_sync(m, v->leader, v->sync_standbys))
		return "sync_standby";
	return "replica";
}

static const char *patroni_state(const struct member *m)
{
	if (m->state[0])
		return m->state;
	return m->role == MEMBER_STOPPED ? "stopped" : "running";
}

/* "tags" as Patroni has it: only when the member has one */
static void member_tags(const struct member *m, struct json *j)
{
	char buf[8];
	if (!member_tags_format(m, buf, sizeof(buf))[0])
		return;
	json_key(j, "tags");
	member_tags_json(m, j);
}

static void cluster_member(const struct api_view *v, const struct member *m,
			   struct json *j)
{
	char host[MEMBER_STR_MAX];
	unsigned port;
	bool leader = is_leader(v, m);
	roster_split_addr(m->pg, host, sizeof(host), &port);
	json_object(j);
	api_put_kstr(j, "name", m->name);
	api_put_kstr(j, "role", patroni_role(v, m));
	api_put_kstr(j, "state", patroni_state(m));
	if (m->api[0]) {
		char url[MEMBER_STR_MAX + 32];
		snprintf(url, sizeof(url), "http://%s/patroni", m->api);
		api_put_kstr(j, "api_url", url);
	}
	api_put_kstr(j, "host", host);
	api_put_ku64(j, "port", port);
	api_put_ku64(j, "timeline", m->timeline);
	member_tags(m, j);
	if (!leader) {
		api_put_klsn(j, "receive_lsn", m->received_lsn);
		api_put_klsn(j, "replay_lsn", m->replayed_lsn);
		api_put_klsn(j, "lsn", m->replayed_lsn);
		api_put_ku64(j, "lag", m->lag_bytes);
	}
	/* tenure's own fields */
	api_put_kstr(j, "tenure_role", roster_role(m, v->leader));
	api_put_kstr(j, "api", m->api);
	api_put_klsn(j, "received_lsn", m->received_lsn);
	api_put_klsn(j, "replayed_lsn", m->replayed_lsn);
	api_put_kbool(j, "healthy", m->healthy);
	api_put_kbool(j, "sync",
		      roster_is_sync(m, v->leader, v->sync_standbys));
	api_put_kbool(j, "nofailover", m->nofailover);
	if (m->waiting[0])
		api_put_kstr(j, "waiting", m->waiting);
	json_key(j, "priority");
	json_i64(j, m->priority);
	if (leader)
		api_put_ku64(j, "lease_token", m->lease_token);
	json_end(j);
}

static int by_name(const void *a, const void *b)
{
	const struct member *x = *(const struct member *const *)a;
	const struct member *y = *(const struct member *const *)b;
	return strcmp(x->name, y->name);
}

/* The members with self's live record in place of its stored one. */
static const struct member **cluster_list(const struct api_view *v, size_t *n)
{
	const struct member *self = api_self(v);
	const struct member **list = calloc(v->n_members + 1, sizeof(*list));
	*n = 0;
	if (!list)
		return NULL;
	if (self->name[0])
		list[(*n)++] = self;
	for (size_t i = 0; i < v->n_members; i++)
		if (strcmp(v->members[i].name, self->name) != 0)
			list[(*n)++] = &v->members[i];
	qsort(list, *n, sizeof(*list), by_name);
	return list;
}

void api_cluster(const struct api_view *v, struct http_response *res)
{
	size_t n;
	const struct member **list = cluster_list(v, &n);
	struct json j;
	if (!list) {
		api_answer_error(res, 503, "out of memory", "/cluster");
		return;
	}
	res->status = 200;
	api_json_start(&j, res);
	json_object(&j);
	json_key(&j, "members");
	json_list(&j);
	for (size_t i = 0; i < n; i++)
		cluster_member(v, list[i], &j);
	json_end(&j);
	api_put_kstr(&j, "scope", v->scope ? v->scope : "");
	if (v->paused)
		api_put_kbool(&j, "pause", true);
	json_key(&j, "leader");
	if (v->leader && v->leader[0])
		json_string(&j, v->leader);
	else
		json_null(&j);
	api_put_kbool(&j, "paused", v->paused);
	json_end(&j);
	free(list);
}

/* ---- /history ----------------------------------------------------------- */

struct entry {
	uint64_t time_ms, timeline, lsn;
	char reason[FLATJSON_STR_MAX + 1];
	char leader[MEMBER_STR_MAX];
};

static bool entry_field(void *arg, const char *key,
			const struct flatjson_value *v, char *err,
			size_t errlen)
{
	struct entry *e = arg;
	if (strcmp(key, "time_ms") == 0)
		return flatjson_u64(key, v, &e->time_ms, err, errlen);
	if (strcmp(key, "timeline") == 0)
		return flatjson_u64(key, v, &e->timeline, err, errlen);
	if (strcmp(key, "lsn") == 0)
		return flatjson_u64(key, v, &e->lsn, err, errlen);
	if (v->type != FLATJSON_STRING)
		return true;
	if (strcmp(key, "reason") == 0)
		snprintf(e->reason, sizeof(e->reason), "%s", v->str);
	else if (strcmp(key, "new") == 0)
		snprintf(e->leader, sizeof(e->leader), "%s", v->str);
	return true;
}

/* "2024-05-01T12:00:00.123+00:00" (UTC), as Patroni's history shows. */
static void iso_time(uint64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char day[32];
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, cap, "%s.%03u+00:00", day, (unsigned)(ms % 1000));
}

/* [timeline, lsn, reason, timestamp, new_leader]: timeline and lsn are
 * where the old timeline ended as the new primary saw it (0 in entries
 * written before they were recorded). */
static void history_row(const char *h, struct json *j)
{
	static struct entry e; /* loop thread only; a reason is 4 KiB */
	char err[128], when[64];
	memset(&e, 0, sizeof(e));
	if (!flatjson_parse(h, strlen(h), entry_field, &e, err, sizeof(err)))
		return;
	iso_time(e.time_ms, when, sizeof(when));
	json_list(j);
	json_u64(j, e.timeline);
	json_u64(j, e.lsn);
	json_string(j, e.reason);
	json_string(j, when);
	json_string(j, e.leader);
	json_end(j);
}

void api_history(const struct api_view *v, bool tenure_shape,
		 struct http_response *res)
{
	char err[128];
	struct json j;
	res->status = 200;
	api_json_start(&j, res);
	json_list(&j);
	for (size_t i = 0; i < v->n_history; i++) {
		const char *h = v->history[i];
		/* one corrupt entry must not make the whole document invalid */
		if (!h ||
		    !flatjson_parse(h, strlen(h), NULL, NULL, err, sizeof(err)))
			continue;
		if (tenure_shape)
			json_raw(&j, h, strlen(h));
		else
			history_row(h, &j);
	}
	json_end(&j);
}

/* ---- /config ------------------------------------------------------------ */

/* Milliseconds as Patroni's seconds: whole when they are. */
static void put_seconds(struct json *j, const char *key, int64_t ms)
{
	json_key(j, key);
	if (ms % 1000 == 0)
		json_i64(j, ms / 1000);
	else
		json_double(j, (double)ms / 1000.0);
}

/* Patroni's "standby_cluster" object: present while the scope is one.
 * tenure's host list is one string ("h1:5432,h2"), as its setting. */
static void standby_cluster_json(const struct standby_cluster *c,
				 struct json *j)
{
	static const char *const names[STANDBY_N_KEYS] = {
		"hosts", "restore_command", "primary_slot_name"
	};
	char v[1100];
	json_key(j, "standby_cluster");
	json_object(j);
	for (int k = 0; k < STANDBY_N_KEYS; k++) {
		standby_cluster_value(c, (enum standby_key)k, v, sizeof(v));
		if (c->set[k])
			api_put_kstr(j, names[k], v);
	}
	json_end(j);
}

/* The replica creation, archiving and bootstrap keys that are set, as
 * show-config gives them (Patroni keeps these outside its dynamic
 * configuration: tenure's names only).  Not the commands: a GET may need
 * no credentials, and an operator's command line may hold one. */
static void put_backup_keys(const struct scope_conf *c, struct json *j)
{
	char v[1100];
	for (int k = 0; k < REPLICA_N_KEYS; k++)
		if (c->replica.set[k] && k != REPLICA_KEY_COMMAND) {
			replica_conf_value(&c->replica, (enum replica_key)k, v,
					   sizeof(v));
			api_put_kstr(j, replica_key_names[k], v);
		}
	for (int k = 0; k < BOOTSTRAP_N_KEYS; k++)
		if (c->bootstrap.set[k] && k != BOOTSTRAP_KEY_COMMAND) {
			bootstrap_conf_value(&c->bootstrap,
					     (enum bootstrap_key)k, v,
					     sizeof(v));
			api_put_kstr(j, bootstrap_key_names[k], v);
		}
}

void api_config_json(const struct scope_conf *c, bool paused, struct json *j)
{
	char v[64];
	json_object(j);
	put_seconds(j, "ttl", c->lease_ttl);
	put_seconds(j, "loop_wait", c->renew_interval);
	api_put_kbool(j, "synchronous_mode", c->synchronous_mode != 0);
	json_key(j, "synchronous_node_count");
	json_i64(j, c->synchronous_node_count);
	json_key(j, "maximum_lag_on_failover");
	json_i64(j, c->maximum_lag_on_failover);
	if (paused)
		api_put_kbool(j, "pause", true);
	/* tenure's names and units, as `tenurectl cluster show-config` */
	scope_conf_value(c, SCOPE_LEASE_TTL, v, sizeof(v));
	api_put_kstr(j, "lease_ttl", v);
	scope_conf_value(c, SCOPE_RENEW_INTERVAL, v, sizeof(v));
	api_put_kstr(j, "renew_interval", v);
	if (standby_cluster_active(&c->standby))
		standby_cluster_json(&c->standby, j);
	put_backup_keys(c, j);
	json_end(j);
}

void api_config(const struct api_view *v, struct http_response *res)
{
	struct json j;
	if (!v->conf) {
		api_answer_error(res, 503, "settings not known yet", "/config");
		return;
	}
	res->status = 200;
	api_json_start(&j, res);
	api_config_json(v->conf, v->paused, &j);
}
