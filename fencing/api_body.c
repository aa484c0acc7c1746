/*
 * api_body.c — see api_body.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/wall_time.h"
#include "fencing/api_body.h"
#include "fencing/flatjson.h"

#define TIMEOUT_MAX_S 3600

/* Patroni's bodies are optional: nothing (or blanks) is {}. */
static bool blank(const char *json, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (json[i] != ' ' && json[i] != '\t' && json[i] != '\r' &&
		    json[i] != '\n')
			return false;
	return true;
}

int api_body_schedule(const char *text, const char *action, uint64_t now_ms,
		      uint64_t *at_ms, char *why, size_t cap)
{
	char err[300];
	switch (wall_time_parse(text, true, at_ms, err, sizeof(err))) {
	case WALL_TIME_OK:
		break;
	case WALL_TIME_NO_ZONE:
		snprintf(why, cap,
			 "Timezone information is mandatory for the "
			 "scheduled %s: %s",
			 action, err);
		return 400;
	case WALL_TIME_MALFORMED:
		snprintf(why, cap, "Unable to parse scheduled timestamp: %s",
			 err);
		return 422;
	}
	if (*at_ms <= now_ms) {
		snprintf(why, cap, "Cannot schedule %s in the past", action);
		return 422;
	}
	return 0;
}

/* ---- POST /restart ---------------------------------------------------------- */

struct restart_parse {
	struct api_restart_body *b;
	uint64_t now_ms;
	int status; /* when a field is refused */
};

static bool restart_role(const struct flatjson_value *v, char *role, size_t cap,
			 char *err, size_t errlen)
{
	const char *s = v->type == FLATJSON_STRING ? v->str : "";
	if (strcmp(s, "master") == 0)
		s = "primary";
	if (strcmp(s, "primary") != 0 && strcmp(s, "replica") != 0) {
		snprintf(err, errlen,
			 "PostgreSQL role should be either primary (or "
			 "master) or replica");
		return false;
	}
	snprintf(role, cap, "%s", s);
	return true;
}

/* Seconds, as a number or a string of digits. */
static bool restart_timeout(const struct flatjson_value *v, uint64_t *ms,
			    char *err, size_t errlen)
{
	char *end = NULL;
	unsigned long long s = 0;
	if (v->type == FLATJSON_NUMBER || v->type == FLATJSON_STRING)
		s = strtoull(v->str, &end, 10);
	if (!end || end == v->str || *end || s == 0 || s > TIMEOUT_MAX_S) {
		snprintf(err, errlen,
			 "Timeout should be a positive number of seconds "
			 "(at most %d)",
			 TIMEOUT_MAX_S);
		return false;
	}
	*ms = s * 1000;
	return true;
}

static bool restart_field(void *arg, const char *key,
			  const struct flatjson_value *v, char *err,
			  size_t errlen)
{
	struct restart_parse *p = arg;
	p->status = 400;
	if (strcmp(key, "schedule") == 0) {
		if (v->type == FLATJSON_NULL)
			return true;
		if (v->type != FLATJSON_STRING) {
			snprintf(err, errlen, "schedule: expected a time");
			return false;
		}
		p->status = api_body_schedule(v->str, "restart", p->now_ms,
					      &p->b->at_ms, err, errlen);
		return p->status == 0;
	}
	if (strcmp(key, "restart_pending") == 0) {
		if (v->type != FLATJSON_BOOL) {
			snprintf(err, errlen,
				 "restart_pending: expected true or false");
			return false;
		}
		p->b->pending = v->b;
		return true;
	}
	if (strcmp(key, "role") == 0)
		return restart_role(v, p->b->role, sizeof(p->b->role), err,
				    errlen);
	if (strcmp(key, "timeout") == 0)
		return restart_timeout(v, &p->b->timeout_ms, err, errlen);
	if (strcmp(key, "postgres_version") == 0)
		snprintf(err, errlen,
			 "postgres_version: tenure does not restart by "
			 "version");
	else
		snprintf(err, errlen,
			 "Unknown filter for the scheduled restart: %s", key);
	return false;
}

int api_body_restart(const char *json, size_t len, uint64_t now_ms,
		     struct api_restart_body *b, char *why, size_t cap)
{
	struct restart_parse p = { .b = b, .now_ms = now_ms, .status = 400 };
	memset(b, 0, sizeof(*b));
	if (blank(json, len))
		return 0;
	if (flatjson_parse(json, len, restart_field, &p, why, cap))
		return 0;
	memset(b, 0, sizeof(*b));
	return p.status ? p.status : 400;
}

/* ---- POST /reinitialize -------------------------------------------------------- */

static bool truth(const struct flatjson_value *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	if (v->type == FLATJSON_BOOL)
		return v->b;
	if (v->type != FLATJSON_STRING && v->type != FLATJSON_NUMBER)
		return false;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(v->str, yes[i]) == 0)
			return true;
	return false;
}

static bool reinit_field(void *arg, const char *key,
			 const struct flatjson_value *v, char *err,
			 size_t errlen)
{
	(void)err;
	(void)errlen;
	if (strcmp(key, "force") == 0)
		*(bool *)arg = truth(v);
	return true; /* as Patroni: other keys are not looked at */
}

int api_body_reinit(const char *json, size_t len, bool *force, char *why,
		    size_t cap)
{
	*force = false;
	if (blank(json, len) ||
	    flatjson_parse(json, len, reinit_field, force, why, cap))
		return 0;
	*force = false;
	return 400;
}
