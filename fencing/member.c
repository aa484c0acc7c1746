/*
 * member.c — see member.h.
 *
 * One table lists every field once (JSON key, kind, offset), so that the
 * encoder and the decoder cannot drift apart when a field is added.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "fencing/flatjson.h"
#include "fencing/member.h"

enum kind {
	K_STR,
	K_ROLE,
	K_U32,
	K_U64,
	K_I64,
	K_BOOL
};

/* What a field is to the others: something they decide on (written at
 * once when it changes), a position (a streaming standby's may drift a
 * little before it is written), or the time of the write. */
enum use {
	U_DECIDE,
	U_POSITION,
	U_CLOCK
};

struct field {
	const char *key;
	enum kind kind;
	size_t off;
	enum use use;
};

#define F(key, kind, fld)                                         \
	{                                                         \
		key, kind, offsetof(struct member, fld), U_DECIDE \
	}
#define P(key, kind, fld)                                           \
	{                                                           \
		key, kind, offsetof(struct member, fld), U_POSITION \
	}
static const struct field fields[] = {
	F("name", K_STR, name),
	F("role", K_ROLE, role),
	F("state", K_STR, state),
	F("timeline", K_U32, timeline),
	P("received_lsn", K_U64, received_lsn),
	P("replayed_lsn", K_U64, replayed_lsn),
	P("lag_bytes", K_U64, lag_bytes),
	F("healthy", K_BOOL, healthy),
	F("api", K_STR, api),
	F("pg", K_STR, pg),
	F("upstream", K_STR, upstream),
	F("nofailover", K_BOOL, nofailover),
	F("priority", K_I64, priority),
	F("frozen_token", K_U64, frozen_token),
	F("lease_token", K_U64, lease_token),
	F("sync", K_BOOL, sync),
	{ "updated_ms", K_U64, offsetof(struct member, updated_ms), U_CLOCK },
	F("waiting", K_STR, waiting),
	F("reason", K_STR, reason),
	F("slots", K_BOOL, slots),
	F("pending_restart", K_BOOL, pending_restart),
	F("hs_params", K_STR, hs_params),
	/* archiving moves with the WAL: written as a position is */
	P("archived", K_U64, archived),
	P("archive_failed", K_U64, archive_failed),
	P("archive_last_wal", K_STR, archive_last_wal),
	F("nosync", K_BOOL, nosync),
	F("noloadbalance", K_BOOL, noloadbalance),
	F("clonefrom", K_BOOL, clonefrom),
	F("replicatefrom", K_STR, replicatefrom),
};
#undef F
#undef P
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static const char *const role_names[] = {
	[MEMBER_UNKNOWN] = "unknown",
	[MEMBER_PRIMARY] = "primary",
	[MEMBER_REPLICA] = "replica",
	[MEMBER_STOPPED] = "stopped",
};

const char *member_role_name(enum member_role r)
{
	if ((unsigned)r < sizeof(role_names) / sizeof(role_names[0]))
		return role_names[r];
	return "unknown";
}

bool member_role_parse(const char *s, enum member_role *out)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum member_role)i;
			return true;
		}
	return false;
}

/* ---- encoding ----------------------------------------------------------- */

static void put_field(struct flatjson_writer *w, const struct field *f,
		      const struct member *m)
{
	const char *p = (const char *)m + f->off;
	switch (f->kind) {
	case K_STR:
		flatjson_put_str(w, f->key, p);
		break;
	case K_ROLE:
		flatjson_put_str(w, f->key,
				 member_role_name(
					 *(const enum member_role *)p));
		break;
	case K_U32:
		flatjson_put_u64(w, f->key, *(const uint32_t *)p);
		break;
	case K_U64:
		flatjson_put_u64(w, f->key, *(const uint64_t *)p);
		break;
	case K_I64:
		flatjson_put_i64(w, f->key, *(const int64_t *)p);
		break;
	case K_BOOL:
		flatjson_put_bool(w, f->key, *(const bool *)p);
		break;
	}
}

size_t member_encode(const struct member *m, char *buf, size_t cap)
{
	struct flatjson_writer w;
	flatjson_begin(&w, buf, cap);
	for (size_t i = 0; i < N_FIELDS; i++)
		put_field(&w, &fields[i], m);
	return flatjson_end(&w);
}

/* ---- decoding ----------------------------------------------------------- */

static bool get_str(const char *key, const struct flatjson_value *v, char *dst,
		    char *err, size_t errlen)
{
	if (v->type != FLATJSON_STRING) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return false;
	}
	if (v->len >= MEMBER_STR_MAX) {
		snprintf(err, errlen, "\"%s\" is longer than %d bytes", key,
			 MEMBER_STR_MAX - 1);
		return false;
	}
	memcpy(dst, v->str, v->len + 1);
	return true;
}

static bool get_role(const char *key, const struct flatjson_value *v,
		     enum member_role *dst, char *err, size_t errlen)
{
	if (v->type != FLATJSON_STRING || !member_role_parse(v->str, dst)) {
		snprintf(err, errlen,
			 "\"%s\" must be primary, replica, "
			 "stopped or unknown",
			 key);
		return false;
	}
	return true;
}

static bool get_u32(const char *key, const struct flatjson_value *v,
		    uint32_t *dst, char *err, size_t errlen)
{
	uint64_t x;
	if (!flatjson_u64(key, v, &x, err, errlen))
		return false;
	if (x > UINT32_MAX) {
		snprintf(err, errlen, "\"%s\" is out of range: %s", key,
			 v->str);
		return false;
	}
	*dst = (uint32_t)x;
	return true;
}

static bool get_bool(const char *key, const struct flatjson_value *v, bool *dst,
		     char *err, size_t errlen)
{
	if (v->type != FLATJSON_BOOL) {
		snprintf(err, errlen, "\"%s\" must be true or false", key);
		return false;
	}
	*dst = v->b;
	return true;
}

static bool set_field(const struct field *f, const struct flatjson_value *v,
		      struct member *m, char *err, size_t errlen)
{
	char *p = (char *)m + f->off;
	if (v->type == FLATJSON_NULL)
		return true; /* null: the zero value, as if missing */
	switch (f->kind) {
	case K_STR:
		return get_str(f->key, v, p, err, errlen);
	case K_ROLE:
		return get_role(f->key, v, (enum member_role *)p, err, errlen);
	case K_U32:
		return get_u32(f->key, v, (uint32_t *)p, err, errlen);
	case K_U64:
		return flatjson_u64(f->key, v, (uint64_t *)p, err, errlen);
	case K_I64:
		return flatjson_i64(f->key, v, (int64_t *)p, err, errlen);
	case K_BOOL:
		return get_bool(f->key, v, (bool *)p, err, errlen);
	}
	return true;
}

static bool on_field(void *arg, const char *key, const struct flatjson_value *v,
		     char *err, size_t errlen)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (strcmp(key, fields[i].key) == 0)
			return set_field(&fields[i], v, arg, err, errlen);
	return true; /* a newer agent's field */
}

bool member_decode(const char *json, size_t len, struct member *m, char *err,
		   size_t errlen)
{
	memset(m, 0, sizeof(*m));
	if (flatjson_parse(json, len, on_field, m, err, errlen))
		return true;
	memset(m, 0, sizeof(*m)); /* no half-filled record escapes */
	return false;
}

/* ---- when to write it again -------------------------------------------- */

static size_t kind_size(enum kind k)
{
	switch (k) {
	case K_ROLE:
		return sizeof(enum member_role);
	case K_U32:
		return sizeof(uint32_t);
	case K_U64:
		return sizeof(uint64_t);
	case K_I64:
		return sizeof(int64_t);
	case K_BOOL:
		return sizeof(bool);
	case K_STR:
		break;
	}
	return 0;
}

static bool field_equal(const struct field *f, const struct member *a,
			const struct member *b)
{
	const char *x = (const char *)a + f->off;
	const char *y = (const char *)b + f->off;
	if (f->kind == K_STR)
		return strcmp(x, y) == 0;
	return memcmp(x, y, kind_size(f->kind)) == 0;
}

/* The first field of that use that differs, or NULL. */
static const char *first_change(const struct member *a, const struct member *b,
				enum use use)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (fields[i].use == use && !field_equal(&fields[i], a, b))
			return fields[i].key;
	return NULL;
}

static uint64_t distance(uint64_t x, uint64_t y)
{
	return x > y ? x - y : y - x;
}

static bool moved_far(const struct member *a, const struct member *b,
		      uint64_t bytes)
{
	return distance(a->received_lsn, b->received_lsn) >= bytes ||
	       distance(a->replayed_lsn, b->replayed_lsn) >= bytes ||
	       distance(a->lag_bytes, b->lag_bytes) >= bytes;
}

const char *member_write_reason(const struct member *last,
				const struct member *next, uint64_t age_ms,
				const struct member_write_policy *p)
{
	if (!last)
		return "not written";
	const char *changed = first_change(last, next, U_DECIDE);
	if (changed)
		return changed;
	if (!first_change(last, next, U_POSITION))
		return age_ms >= p->heartbeat_ms ? "heartbeat" : NULL;
	/* The primary's position is the lag limit's reference: as fresh as
	 * a renewal, never more often. */
	if (next->role == MEMBER_PRIMARY)
		return age_ms >= p->primary_ms ? "position" : NULL;
	/* Only display reads a streaming standby's position; a frozen one's
	 * (or one about to freeze) picks the candidate: at once. */
	if (next->role != MEMBER_REPLICA || next->frozen_token ||
	    strcmp(next->state, "streaming") != 0)
		return "position";
	if (age_ms >= p->position_ms ||
	    (age_ms >= p->primary_ms &&
	     moved_far(last, next, p->position_bytes)))
		return "position";
	return NULL;
}

/* ---- tags --------------------------------------------------------------- */

const char *member_tags_format(const struct member *m, char *buf, size_t cap)
{
	size_t len = 0;
	char prio[40] = "";
	if (m->priority != MEMBER_DEFAULT_PRIORITY)
		snprintf(prio, sizeof(prio), "priority=%" PRId64, m->priority);
	const char *const tags[] = {
		m->nofailover ? "nofailover" : "",
		prio,
		m->nosync ? "nosync" : "",
		m->noloadbalance ? "noloadbalance" : "",
		m->clonefrom ? "clonefrom" : "",
	};
	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (tags[i][0] && len < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s",
						len ? "," : "", tags[i]);
	if (m->replicatefrom[0] && len < cap)
		snprintf(buf + len, cap - len, "%sreplicatefrom=%s",
			 len ? "," : "", m->replicatefrom);
	return buf;
}

/* ---- LSNs --------------------------------------------------------------- */

const char *member_lsn_format(uint64_t lsn, char *buf, size_t cap)
{
	snprintf(buf, cap, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32),
		 (uint32_t)lsn);
	return buf;
}

/* 1 to 8 hex digits, as PostgreSQL's pg_lsn input accepts. */
static const char *lsn_half(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	size_t n = 0;
	for (; n < 9; n++, s++) {
		int c = *s, d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		v = (v << 4) | (uint32_t)d;
	}
	if (n == 0 || n > 8)
		return NULL;
	*out = v;
	return s;
}

bool member_lsn_parse(const char *s, uint64_t *out)
{
	uint32_t hi, lo;
	if (!s || !(s = lsn_half(s, &hi)) || *s++ != '/' ||
	    !(s = lsn_half(s, &lo)) || *s)
		return false;
	*out = ((uint64_t)hi << 32) | lo;
	return true;
}

const struct member *member_find(const struct member *m, size_t n,
				 const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].name, name) == 0)
			return &m[i];
	return NULL;
}

/* ---- tags as JSON ------------------------------------------------------ */

void member_tags_json(const struct member *m, struct json *j)
{
	json_object(j);
	if (m->nofailover) {
		json_key(j, "nofailover");
		json_bool(j, true);
	}
	if (m->priority != MEMBER_DEFAULT_PRIORITY) {
		json_key(j, "failover_priority");
		json_i64(j, m->priority);
	}
	const struct {
		const char *key;
		bool on;
	} flags[] = { { "nosync", m->nosync },
		      { "noloadbalance", m->noloadbalance },
		      { "clonefrom", m->clonefrom } };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (flags[i].on) {
			json_key(j, flags[i].key);
			json_bool(j, true);
		}
	if (m->replicatefrom[0]) {
		json_key(j, "replicatefrom");
		json_str(j, m->replicatefrom, strlen(m->replicatefrom));
	}
	json_end(j);
}
