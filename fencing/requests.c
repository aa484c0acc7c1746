/*
 * requests.c — see requests.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/flatjson.h"
#include "fencing/requests.h"
#include "fencing/roster.h"

/* A string field into dst (cap bytes); false when it does not fit. */
static bool take_str(const char *key, const struct flatjson_value *v, char *dst,
		     size_t cap, char *err, size_t errlen)
{
	if (v->type != FLATJSON_STRING) {
		snprintf(err, errlen, "%s: expected a string", key);
		return false;
	}
	if (v->len >= cap) {
		snprintf(err, errlen, "%s: longer than %zu bytes", key,
			 cap - 1);
		return false;
	}
	memcpy(dst, v->str, v->len + 1);
	return true;
}

static bool take_bool(const char *key, const struct flatjson_value *v,
		      bool *dst, char *err, size_t errlen)
{
	if (v->type != FLATJSON_BOOL) {
		snprintf(err, errlen, "%s: expected true or false", key);
		return false;
	}
	*dst = v->b;
	return true;
}

/* ---- S/restart ------------------------------------------------------------ */

size_t restart_request_encode(const struct restart_request *r, char *buf,
			      size_t cap)
{
	struct flatjson_writer w;
	flatjson_begin(&w, buf, cap);
	flatjson_put_u64(&w, "id", r->id);
	flatjson_put_u64(&w, "at_ms", r->at_ms);
	flatjson_put_str(&w, "nodes", r->nodes);
	flatjson_put_bool(&w, "pending", r->pending);
	flatjson_put_str(&w, "role", r->role);
	flatjson_put_str(&w, "by", r->by);
	return flatjson_end(&w);
}

static bool restart_field(void *arg, const char *key,
			  const struct flatjson_value *v, char *err,
			  size_t errlen)
{
	struct restart_request *r = arg;
	if (strcmp(key, "id") == 0)
		return flatjson_u64(key, v, &r->id, err, errlen);
	if (strcmp(key, "at_ms") == 0)
		return flatjson_u64(key, v, &r->at_ms, err, errlen);
	if (strcmp(key, "nodes") == 0)
		return take_str(key, v, r->nodes, sizeof(r->nodes), err,
				errlen);
	if (strcmp(key, "pending") == 0)
		return take_bool(key, v, &r->pending, err, errlen);
	if (strcmp(key, "role") == 0)
		return take_str(key, v, r->role, sizeof(r->role), err, errlen);
	if (strcmp(key, "by") == 0)
		return take_str(key, v, r->by, sizeof(r->by), err, errlen);
	return true;
}

bool restart_request_decode(const char *json, size_t len,
			    struct restart_request *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (!flatjson_parse(json, len, restart_field, r, err, errlen))
		return false;
	if (!r->id) {
		snprintf(err, errlen, "id: missing");
		return false;
	}
	return true;
}

/* ---- S/reload/NAME, S/reinit/NAME ---------------------------------------- */

size_t node_request_encode(const struct node_request *r, char *buf, size_t cap)
{
	struct flatjson_writer w;
	flatjson_begin(&w, buf, cap);
	flatjson_put_u64(&w, "id", r->id);
	if (r->from[0])
		flatjson_put_str(&w, "from", r->from);
	return flatjson_end(&w);
}

static bool node_field(void *arg, const char *key,
		       const struct flatjson_value *v, char *err, size_t errlen)
{
	struct node_request *r = arg;
	if (strcmp(key, "id") == 0)
		return flatjson_u64(key, v, &r->id, err, errlen);
	if (strcmp(key, "from") == 0)
		return take_str(key, v, r->from, sizeof(r->from), err, errlen);
	return true;
}

bool node_request_decode(const char *json, size_t len, struct node_request *r,
			 char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (!flatjson_parse(json, len, node_field, r, err, errlen))
		return false;
	if (!r->id) {
		snprintf(err, errlen, "id: missing");
		return false;
	}
	return true;
}

/* ---- S/results/NAME ------------------------------------------------------- */

size_t node_result_encode(const struct node_result *r, char *buf, size_t cap)
{
	struct flatjson_writer w;
	flatjson_begin(&w, buf, cap);
	flatjson_put_str(&w, "action", r->action);
	flatjson_put_u64(&w, "id", r->id);
	flatjson_put_bool(&w, "ok", r->ok);
	flatjson_put_str(&w, "role", r->role);
	flatjson_put_u64(&w, "gap_ms", r->gap_ms);
	flatjson_put_u64(&w, "time_ms", r->time_ms);
	flatjson_put_str(&w, "detail", r->detail);
	return flatjson_end(&w);
}

static bool result_field(void *arg, const char *key,
			 const struct flatjson_value *v, char *err,
			 size_t errlen)
{
	struct node_result *r = arg;
	if (strcmp(key, "action") == 0)
		return take_str(key, v, r->action, sizeof(r->action), err,
				errlen);
	if (strcmp(key, "id") == 0)
		return flatjson_u64(key, v, &r->id, err, errlen);
	if (strcmp(key, "ok") == 0)
		return take_bool(key, v, &r->ok, err, errlen);
	if (strcmp(key, "role") == 0)
		return take_str(key, v, r->role, sizeof(r->role), err, errlen);
	if (strcmp(key, "gap_ms") == 0)
		return flatjson_u64(key, v, &r->gap_ms, err, errlen);
	if (strcmp(key, "time_ms") == 0)
		return flatjson_u64(key, v, &r->time_ms, err, errlen);
	if (strcmp(key, "detail") == 0)
		return take_str(key, v, r->detail, sizeof(r->detail), err,
				errlen);
	return true;
}

bool node_result_decode(const char *json, size_t len, struct node_result *r,
			char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	return flatjson_parse(json, len, result_field, r, err, errlen);
}

/* ---- the rolling order ------------------------------------------------------ */

const struct node_result *named_result_find(const struct named_result *results,
					    size_t n, const char *name,
					    const char *action, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(results[i].name, name) == 0 &&
		    strcmp(results[i].res.action, action) == 0 &&
		    results[i].res.id == id)
			return &results[i].res;
	return NULL;
}

static bool done(const struct restart_request *req,
		 const struct named_result *results, size_t n_results,
		 const char *name)
{
	return named_result_find(results, n_results, name, "restart",
				 req->id) != NULL;
}

/* Whether node m takes part in req (a node done keeps its place). */
static bool takes_part(const struct restart_request *req,
		       const struct member *m, bool primary,
		       const struct named_result *results, size_t n_results)
{
	if (done(req, results, n_results, m->name))
		return true;
	if (strcmp(req->role, "primary") == 0 && !primary)
		return false;
	if (strcmp(req->role, "replica") == 0 && primary)
		return false;
	return !req->pending || m->pending_restart;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void append(char *out, size_t cap, const char *name)
{
	size_t len = strlen(out);
	snprintf(out + len, cap - len, "%s%s", len ? "," : "", name);
}

void restart_order(const struct restart_request *req,
		   const struct member *members, size_t n, const char *holder,
		   const struct named_result *results, size_t n_results,
		   char *out, size_t cap)
{
	const char *replicas[64];
	size_t nr = 0;
	bool primary_in = false;
	char name[MEMBER_STR_MAX];
	out[0] = '\0';
	for (const char *p = req->nodes;
	     (p = roster_list_next(p, name, sizeof(name)));) {
		const struct member *m = name[0] ? member_find(members, n, name)
						 : NULL;
		bool primary = holder[0] && strcmp(name, holder) == 0;
		if (!m || !takes_part(req, m, primary, results, n_results))
			continue;
		if (primary)
			primary_in = true;
		else if (nr < 64)
			replicas[nr++] = m->name;
	}
	qsort(replicas, nr, sizeof(replicas[0]), cmp_names);
	for (size_t i = 0; i < nr; i++)
		append(out, cap, replicas[i]);
	if (primary_in)
		append(out, cap, holder);
}

/* A replica restarted is back when its record says it streams again: the
 * next one may go (never two replicas down at once). */
static bool back(const struct member *m, const char *holder)
{
	if (!m)
		return true; /* gone meanwhile: not worth waiting for */
	if (holder[0] && strcmp(m->name, holder) == 0)
		return true;
	return strcmp(m->state, "streaming") == 0;
}

enum restart_step restart_turn(const struct restart_request *req,
			       const struct member *members, size_t n,
			       const char *holder,
			       const struct named_result *results,
			       size_t n_results, const char *me,
			       uint64_t wall_ms)
{
	char order[REQUEST_NODES_MAX], name[MEMBER_STR_MAX];
	restart_order(req, members, n, holder, results, n_results, order,
		      sizeof(order));
	bool mine = roster_in_list(order, me);
	if (req->at_ms && wall_ms < req->at_ms)
		return mine ? RESTART_WAIT : RESTART_NOT_MINE;
	for (const char *p = order;
	     (p = roster_list_next(p, name, sizeof(name)));) {
		if (done(req, results, n_results, name)) {
			if (back(member_find(members, n, name), holder))
				continue;
			return mine ? RESTART_WAIT : RESTART_NOT_MINE;
		}
		if (strcmp(name, me) == 0)
			return RESTART_MINE;
		return mine ? RESTART_WAIT : RESTART_NOT_MINE;
	}
	return RESTART_DONE;
}
