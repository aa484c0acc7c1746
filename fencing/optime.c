/*
 * optime.c — see optime.h: the primary's durable last position.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/flatjson.h"
#include "fencing/optime.h"

size_t optime_encode(const struct optime *o, char *buf, size_t cap)
{
	struct flatjson_writer w;
	flatjson_begin(&w, buf, cap);
	flatjson_put_str(&w, "name", o->name);
	flatjson_put_u64(&w, "token", o->token);
	flatjson_put_u64(&w, "lsn", o->lsn);
	flatjson_put_u64(&w, "time_ms", o->time_ms);
	flatjson_put_u64(&w, "timeline", o->timeline);
	flatjson_put_u64(&w, "tl_start", o->tl_start);
	return flatjson_end(&w);
}

static bool field(void *arg, const char *key, const struct flatjson_value *v,
		  char *err, size_t errlen)
{
	struct optime *o = arg;
	if (strcmp(key, "name") == 0) {
		if (v->type != FLATJSON_STRING || v->len >= sizeof(o->name)) {
			snprintf(err, errlen,
				 "name: a string of at most %zu "
				 "bytes expected",
				 sizeof(o->name) - 1);
			return false;
		}
		memcpy(o->name, v->str, v->len + 1);
		return true;
	}
	if (strcmp(key, "token") == 0)
		return flatjson_u64(key, v, &o->token, err, errlen);
	if (strcmp(key, "lsn") == 0)
		return flatjson_u64(key, v, &o->lsn, err, errlen);
	if (strcmp(key, "time_ms") == 0)
		return flatjson_u64(key, v, &o->time_ms, err, errlen);
	if (strcmp(key, "tl_start") == 0)
		return flatjson_u64(key, v, &o->tl_start, err, errlen);
	if (strcmp(key, "timeline") == 0) {
		uint64_t t;
		if (!flatjson_u64(key, v, &t, err, errlen))
			return false;
		if (t > UINT32_MAX) {
			snprintf(err, errlen, "timeline: at most %u",
				 UINT32_MAX);
			return false;
		}
		o->timeline = (uint32_t)t;
		return true;
	}
	return true; /* a newer agent's field */
}

bool optime_decode(const char *json, size_t len, struct optime *o, char *err,
		   size_t errlen)
{
	memset(o, 0, sizeof(*o));
	if (!flatjson_parse(json, len, field, o, err, errlen)) {
		memset(o, 0, sizeof(*o));
		return false;
	}
	return true;
}

bool optime_due(uint64_t lsn, uint64_t now_ms, uint64_t sent_lsn,
		uint64_t sent_ms, uint64_t min_ms, uint64_t heartbeat_ms)
{
	if (sent_ms == 0)
		return true;
	if (now_ms < sent_ms + min_ms)
		return false;
	return lsn != sent_lsn || now_ms >= sent_ms + heartbeat_ms;
}

uint64_t optime_tl_start(const struct optime *prev, uint32_t timeline,
			 uint64_t lsn)
{
	if (prev->timeline == timeline && prev->tl_start &&
	    prev->tl_start <= lsn)
		return prev->tl_start;
	return lsn;
}

uint64_t optime_usable_lsn(const struct optime *rec, uint32_t tl, uint64_t lsn)
{
	if (!rec->timeline || !tl || tl >= rec->timeline)
		return lsn;
	return lsn < rec->tl_start ? lsn : rec->tl_start;
}

uint64_t optime_bar(const struct optime *durable, uint64_t remembered)
{
	return durable->lsn > remembered ? durable->lsn : remembered;
}
