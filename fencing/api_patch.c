/*
 * api_patch.c — PATCH /config: Patroni's way of changing the dynamic
 * configuration, merged into SCOPE/config with the checks of `tenurectl
 * cluster edit-config` (fencing/scope_conf.h) and a compare-and-swap on
 * the revision read, so that two writers never overwrite each other.
 *
 * The body is a flat JSON object.  Patroni's names map to tenure's: ttl
 * (seconds) to lease_ttl, loop_wait (seconds) to renew_interval;
 * synchronous_mode (true/false or "on"/"off"), synchronous_node_count and
 * maximum_lag_on_failover (bytes, or text with a unit) keep theirs;
 * tenure's lease_ttl and renew_interval are taken as written ("3s").  A
 * null removes the key (each agent's file decides again).  "pause"
 * (true/false) writes or deletes SCOPE/pause, as `cluster pause` does.
 * Anything else is refused (400) with the reason, nothing written; the
 * answer to a success is the new settings, as GET /config shows them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "fencing/api_int.h"
#include "fencing/flatjson.h"

#define CONFIG_MAX 2000 /* what the agents read, as edit-config */

static const struct {
	const char *patroni, *tenure;
	bool seconds; /* a number is seconds */
} names[] = {
	{ "ttl", "lease_ttl", true },
	{ "loop_wait", "renew_interval", true },
	{ "lease_ttl", "lease_ttl", false },
	{ "renew_interval", "renew_interval", false },
	{ "synchronous_mode", "synchronous_mode", false },
	{ "synchronous_node_count", "synchronous_node_count", false },
	{ "maximum_lag_on_failover", "maximum_lag_on_failover", false },
};

/* v as the text of a conf line for key (seconds: a number is seconds). */
static bool value_text(const char *key, bool seconds,
		       const struct flatjson_value *v, char *out, size_t cap,
		       char *err, size_t errlen)
{
	switch (v->type) {
	case FLATJSON_NULL:
		out[0] = '\0';
		return true;
	case FLATJSON_BOOL:
		snprintf(out, cap, "%s", v->b ? "on" : "off");
		return true;
	case FLATJSON_STRING:
		snprintf(out, cap, "%s", v->str);
		return true;
	case FLATJSON_NUMBER:
		if (!seconds) {
			snprintf(out, cap, "%s", v->str);
			return true;
		}
		char *end;
		double s = strtod(v->str, &end);
		if (*end || s < 0 || s > 1e6) {
			snprintf(err, errlen, "%s: not a number of seconds",
				 key);
			return false;
		}
		snprintf(out, cap, "%" PRId64 "ms", (int64_t)(s * 1000 + 0.5));
		return true;
	}
	return false;
}

static bool patch_field(void *arg, const char *key,
			const struct flatjson_value *v, char *err,
			size_t errlen)
{
	struct api_pending *p = arg;
	char text[256];
	if (strcmp(key, "pause") == 0 || strcmp(key, "maintenance_mode") == 0) {
		if (v->type != FLATJSON_BOOL && v->type != FLATJSON_NULL) {
			snprintf(err, errlen, "%s must be true or false", key);
			return false;
		}
		p->pause = v->type == FLATJSON_BOOL && v->b;
		return true;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(key, names[i].patroni) != 0)
			continue;
		if (p->n_sets == (int)(sizeof(p->sets) / sizeof(p->sets[0]))) {
			snprintf(err, errlen, "too many settings");
			return false;
		}
		if (!value_text(key, names[i].seconds, v, text, sizeof(text),
				err, errlen))
			return false;
		snprintf(p->sets[p->n_sets++], sizeof(p->sets[0]), "%s=%s",
			 names[i].tenure, text);
		return true;
	}
	snprintf(err, errlen,
		 "%s is not a setting tenure keeps in SCOPE/config (it has "
		 "ttl, loop_wait, synchronous_mode, synchronous_node_count, "
		 "maximum_lag_on_failover, lease_ttl, renew_interval, pause)",
		 key);
	return false;
}

/* The settings in force with next's keys over them: what GET /config
 * will show once every agent applied them. */
static void answer_settings(struct api_pending *p, const struct scope_conf *n)
{
	struct api_view v;
	struct scope_conf shown;
	struct http_response res = { 0 };
	struct json j;
	memset(&v, 0, sizeof(v));
	p->s->fill(p->s->arg, &v);
	shown = v.conf ? *v.conf : *n;
	for (int i = 0; i < SCOPE_MAINTENANCE_MODE; i++) {
		char line[128], val[64];
		size_t count;
		if (!n->set[i])
			continue;
		scope_conf_value(n, (enum scope_key)i, val, sizeof(val));
		snprintf(line, sizeof(line), "%s=%s",
			 scope_conf_table(&count)[i].key, val);
		scope_conf_assign(&shown, line, NULL, 0);
	}
	bool paused = p->pause >= 0 ? p->pause == 1 : v.paused;
	buf_init(&res.body);
	api_json_start(&j, &res);
	api_config_json(&shown, paused, &j);
	api_pending_answer(p, 200, "application/json",
			   api_body_text(&res.body));
	buf_free(&res.body);
}

static void on_paused(struct api_pending *p, int status,
		      const struct client_response *r)
{
	(void)r;
	if (status != CLIENT_OK && status != CLIENT_NOT_FOUND) {
		api_pending_error(p, 503,
				  "the settings are written, the pause "
				  "is not: the witnesses refused it",
				  p->key);
		return;
	}
	answer_settings(p, &p->merged);
}

/* SCOPE/pause as asked, then the answer. */
static void write_pause(struct api_pending *p)
{
	if (p->pause < 0) {
		answer_settings(p, &p->merged);
		return;
	}
	struct client_request q = { .op = p->pause ? CLIENT_OP_PUT
						   : CLIENT_OP_DELETE };
	struct flatjson_writer w;
	flatjson_begin(&w, p->value, sizeof(p->value));
	flatjson_put_str(&w, "by", "rest-api");
	flatjson_put_u64(&w, "time_ms", clock_wall_ms());
	flatjson_end(&w);
	api_pending_key(p, "pause");
	q.key = (struct client_str){ p->key, strlen(p->key) };
	q.value = (struct client_str){ p->value,
				       p->pause ? strlen(p->value) : 0 };
	api_witness_call(p, &q, on_paused);
}

static void on_config_written(struct api_pending *p, int status,
			      const struct client_response *r)
{
	char msg[600];
	(void)r;
	if (status == CLIENT_OK) {
		write_pause(p);
		return;
	}
	if (status == CLIENT_COMPARE_FAILED)
		snprintf(msg, sizeof(msg),
			 "%s changed while this request ran: nothing written, "
			 "send it again",
			 p->key);
	else
		snprintf(msg, sizeof(msg),
			 "the witnesses refused the write: %s",
			 client_status_name(status));
	api_pending_error(p, status == CLIENT_COMPARE_FAILED ? 409 : 503, msg,
			  p->key);
}

/* The stored settings with the body's merged in, checked; 0, or the
 * status to answer with the reason in err. */
static int merge(struct api_pending *p, const struct client_response *r,
		 struct scope_conf *next, char *err, size_t errlen)
{
	memset(next, 0, sizeof(*next));
	if (r && r->present &&
	    scope_conf_parse(r->kv.value.p, r->kv.value.len, p->key, next, err,
			     errlen) != 0)
		return 409; /* the stored text is bad: edit-config fixes it */
	for (int i = 0; i < p->n_sets; i++)
		if (scope_conf_assign(next, p->sets[i], err, errlen) != 0)
			return 400;
	if (scope_conf_check(next, SCOPE_DEFAULT_LEASE_TTL,
			     SCOPE_DEFAULT_RENEW_INTERVAL,
			     p->s->writes.fence_time, p->s->writes.pause_margin,
			     SCOPE_CLOCK_DRIFT_PPM, err, errlen) != 0)
		return 400;
	return 0;
}

static void on_config_read(struct api_pending *p, int status,
			   const struct client_response *r)
{
	char err[400], text[CONFIG_MAX + 1];
	if (status != CLIENT_OK && status != CLIENT_NOT_FOUND) {
		snprintf(err, sizeof(err), "cannot read %s: %s", p->key,
			 client_status_name(status));
		api_pending_error(p, 503, err, p->key);
		return;
	}
	int bad = merge(p, status == CLIENT_OK ? r : NULL, &p->merged, err,
			sizeof(err));
	if (bad) {
		api_pending_error(p, bad, err, "/config");
		return;
	}
	if (!scope_conf_format(&p->merged, text, sizeof(text))) {
		api_pending_error(p, 400, "the settings are too long",
				  "/config");
		return;
	}
	struct client_request q = { .op = CLIENT_OP_CAS };
	q.key = (struct client_str){ p->key, strlen(p->key) };
	q.value = (struct client_str){ text, strlen(text) };
	q.expected_revision = status == CLIENT_OK && r->present
				      ? r->kv.mod_revision
				      : 0;
	api_witness_call(p, &q, on_config_written);
}

void api_patch_config(struct api_server *s, const struct http_request *r,
		      struct http_response *res)
{
	char why[400];
	struct api_pending probe = { .pause = -1 };
	if (!flatjson_parse(r->body, r->body_len, patch_field, &probe, why,
			    sizeof(why))) {
		if (memchr(r->body, '{', r->body_len) !=
		    memrchr(r->body, '{', r->body_len))
			snprintf(why, sizeof(why),
				 "nested settings (postgresql.parameters ...) "
				 "are not supported by PATCH /config yet");
		api_answer_error(res, 400, why, "/config");
		return;
	}
	struct api_pending *p = api_pending_new(s, r, res);
	if (!p)
		return;
	memcpy(p->sets, probe.sets, sizeof(p->sets));
	p->n_sets = probe.n_sets;
	p->pause = probe.pause;
	api_pending_key(p, "config");
	struct client_request q = { .op = CLIENT_OP_GET };
	q.key = (struct client_str){ p->key, strlen(p->key) };
	api_witness_call(p, &q, on_config_read);
}
