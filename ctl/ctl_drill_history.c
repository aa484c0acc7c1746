/*
 * ctl_drill_history.c — the drills kept in S/drills/ as `cluster history`
 * shows them, beside the agents' entries (ctl_drill.h
 * ctl_drill_print_history).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_drill_int.h"
#include "fencing/flatjson.h"

/* ---- cluster history: the drills kept in S/drills/ ------------------------ */

struct drill_rec {
	uint64_t time_ms, new_token;
	char kind[16], old[MEMBER_STR_MAX], new_name[MEMBER_STR_MAX];
	double rto_s, ttp_s;
	bool has_rto, has_ttp, has_lost, ok;
	uint64_t acked, lost;
};

/* Skips a JSON string or nested value starting at s[i]; the index after
 * it, or len on malformed input. */
static size_t skip_value(const char *s, size_t i, size_t len)
{
	int depth = 0;
	bool in_str = false;
	for (; i < len; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
		if (!in_str && depth == 0 &&
		    (ch == '"' || ch == '}' || ch == ']'))
			return i + 1;
		if (depth < 0)
			return len;
	}
	return len;
}

static size_t skip_ws(const char *s, size_t i, size_t len)
{
	while (i < len &&
	       (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i;
}

/* The members of a JSON object whose values are not objects or arrays, as
 * a flat object into out (which flatjson then checks and decodes); false
 * when the text is not an object or out is too small. */
static bool flatten(const char *s, size_t len, char *out, size_t cap)
{
	size_t i = skip_ws(s, 0, len), o = 0;
	if (i == len || s[i++] != '{' || cap < 3)
		return false;
	out[o++] = '{';
	for (;;) {
		i = skip_ws(s, i, len);
		if (i < len && s[i] == '}')
			break;
		if (i == len || s[i] != '"')
			return false;
		size_t key = i;
		i = skip_ws(s, skip_value(s, i, len), len);
		if (i == len || s[i++] != ':')
			return false;
		size_t key_end = i;
		i = skip_ws(s, i, len);
		size_t val = i;
		if (i == len)
			return false;
		if ((s[i] == '"' || s[i] == '{' || s[i] == '['))
			i = skip_value(s, i, len);
		else
			while (i < len && s[i] != ',' && s[i] != '}')
				i++;
		size_t val_end = i;
		if (s[val] != '{' && s[val] != '[') {
			size_t need = (key_end - key) + (val_end - val) + 2;
			if (o + need + 2 > cap)
				return false;
			if (o > 1)
				out[o++] = ',';
			memcpy(out + o, s + key, key_end - key);
			o += key_end - key;
			memcpy(out + o, s + val, val_end - val);
			o += val_end - val;
		}
		i = skip_ws(s, i, len);
		if (i < len && s[i] == ',')
			i++;
		else if (i == len || s[i] != '}')
			return false;
	}
	out[o++] = '}';
	out[o] = '\0';
	return true;
}

static bool rec_double(const struct flatjson_value *v, double *out)
{
	if (v->type != FLATJSON_NUMBER)
		return false;
	*out = strtod(v->str, NULL);
	return true;
}

static bool on_rec_field(void *arg, const char *key,
			 const struct flatjson_value *v, char *err,
			 size_t errlen)
{
	struct drill_rec *r = arg;
	bool str = v->type == FLATJSON_STRING;
	if (strcmp(key, "kind") == 0 && str)
		snprintf(r->kind, sizeof(r->kind), "%s", v->str);
	else if (strcmp(key, "old") == 0 && str)
		snprintf(r->old, sizeof(r->old), "%s", v->str);
	else if (strcmp(key, "new") == 0 && str)
		snprintf(r->new_name, sizeof(r->new_name), "%s", v->str);
	else if (strcmp(key, "ok") == 0 && v->type == FLATJSON_BOOL)
		r->ok = v->b;
	else if (strcmp(key, "rto_s") == 0)
		r->has_rto = rec_double(v, &r->rto_s);
	else if (strcmp(key, "time_to_new_primary_s") == 0)
		r->has_ttp = rec_double(v, &r->ttp_s);
	else if (v->type != FLATJSON_NUMBER)
		return true;
	else if (strcmp(key, "time_ms") == 0)
		return flatjson_u64(key, v, &r->time_ms, err, errlen);
	else if (strcmp(key, "new_token") == 0)
		return flatjson_u64(key, v, &r->new_token, err, errlen);
	else if (strcmp(key, "acked") == 0)
		return flatjson_u64(key, v, &r->acked, err, errlen);
	else if (strcmp(key, "lost") == 0) {
		r->has_lost = true;
		return flatjson_u64(key, v, &r->lost, err, errlen);
	}
	return true;
}

static bool rec_decode(const struct client_kv *kv, struct drill_rec *r,
		       char *err, size_t errlen)
{
	char *flat = malloc(kv->value.len + 3);
	bool ok = false;
	memset(r, 0, sizeof(*r));
	if (!flat)
		snprintf(err, errlen, "out of memory");
	else if (!flatten(kv->value.p, kv->value.len, flat, kv->value.len + 3))
		snprintf(err, errlen, "not a JSON object");
	else
		ok = flatjson_parse(flat, strlen(flat), on_rec_field, r, err,
				    errlen);
	free(flat);
	return ok;
}

static const char *rec_result(const struct drill_rec *r)
{
	if (r->has_lost && r->lost)
		return "LOST WRITES";
	return r->ok ? "ok" : "failed";
}

static void json_drill(struct json *j, const struct drill_rec *r)
{
	char when[40];
	json_object(j);
	drill_put_ku64(j, "time_ms", r->time_ms);
	drill_put_kcstr(j, "time",
			ctl_pg_iso_time(r->time_ms, when, sizeof(when)));
	drill_put_kcstr(j, "old", r->old);
	drill_put_kcstr(j, "new", r->new_name);
	drill_put_kcstr(j, "reason", "drill");
	drill_put_ku64(j, "token", r->new_token);
	drill_put_ku64(j, "unavailable_ms",
		       r->has_rto ? (uint64_t)(r->rto_s * 1000.0 + 0.5) : 0);
	drill_put_kcstr(j, "kind", r->kind);
	drill_put_ksecs(j, "rto_s", r->has_rto,
			(int64_t)(r->rto_s * 1000.0 + 0.5));
	drill_put_ksecs(j, "time_to_new_primary_s", r->has_ttp,
			(int64_t)(r->ttp_s * 1000.0 + 0.5));
	drill_put_ku64(j, "acked", r->acked);
	json_key(j, "lost");
	if (r->has_lost)
		json_u64(j, r->lost);
	else
		json_null(j);
	json_key(j, "ok");
	json_bool(j, r->ok);
	json_end(j);
}

/* One list, oldest first: the agents' entries and the drills by time. */
static void history_json(const struct ctl_pg_event *e, size_t n,
			 const struct drill_rec *r, size_t nr)
{
	struct json j;
	size_t k = 0;
	json_init_file(&j, stdout, 0);
	json_list(&j);
	for (size_t i = 0; i <= n; i++) {
		while (k < nr && (i == n || r[k].time_ms < e[i].time_ms))
			json_drill(&j, &r[k++]);
		if (i < n)
			ctl_pg_json_event(&j, &e[i]);
	}
	json_end(&j);
}

static char *cell_str(const char *s)
{
	return ctl_cell(ctl_str(s));
}

static char *cell_secs(bool known, double s)
{
	char buf[32] = "";
	if (known)
		snprintf(buf, sizeof(buf), "%.2f", s);
	return cell_str(buf);
}

static void history_drills_table(const struct drill_rec *r, size_t n)
{
	static const char *const head[] = { "TIME",  "KIND",  "OLD",
					    "NEW",   "RTO_S", "TO_PRIMARY_S",
					    "ACKED", "LOST",  "RESULT" };
	struct ctl_table t;
	char when[40];
	printf("\nDrills:\n");
	ctl_table_init(&t, 9, head);
	for (size_t i = 0; i < n; i++) {
		char *cells[9] = { cell_str(ctl_pg_iso_time(r[i].time_ms, when,
							    sizeof(when))),
				   cell_str(r[i].kind),
				   cell_str(r[i].old),
				   cell_str(r[i].new_name),
				   cell_secs(r[i].has_rto, r[i].rto_s),
				   cell_secs(r[i].has_ttp, r[i].ttp_s),
				   ctl_cell_u64(r[i].acked),
				   r[i].has_lost ? ctl_cell_u64(r[i].lost)
						 : cell_str(""),
				   cell_str(rec_result(&r[i])) };
		ctl_table_row(&t, (const char *const *)cells);
		for (size_t k = 0; k < 9; k++)
			free(cells[k]);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}

static int by_time(const void *a, const void *b)
{
	const struct drill_rec *x = a, *y = b;
	return x->time_ms < y->time_ms ? -1 : x->time_ms > y->time_ms;
}

int ctl_drill_print_history(struct ctl *c, const char *scope,
			    const struct ctl_pg_event *e, size_t n)
{
	char prefix[SM_KEY_MAX + 1], err[160];
	struct client_request q = { .op = CLIENT_OP_LIST_PAGE };
	struct ctl_pages res;
	struct drill_rec *r = NULL;
	size_t nr = 0;
	drill_scoped(prefix, sizeof(prefix), scope, "drills/");
	q.prefix = ctl_str(prefix);
	q.consistency = c->consistency;
	int code = ctl_call_pages(c, &q, "list", &res);
	if (code == CTL_EXIT_OK && res.count &&
	    !(r = calloc(res.count, sizeof(*r)))) {
		fprintf(stderr, CTL_PROG ": out of memory\n");
		code = CTL_EXIT_ERROR;
	}
	for (size_t i = 0; r && i < res.count; i++) {
		const struct client_kv *kv = &res.kvs[i];
		if (rec_decode(kv, &r[nr], err, sizeof(err)))
			nr++;
		else
			fprintf(stderr,
				CTL_PROG ": warning: ignoring %.*s: "
					 "%s\n",
				(int)kv->key.len, kv->key.p, err);
	}
	if (code == CTL_EXIT_OK) {
		if (nr)
			qsort(r, nr, sizeof(*r), by_time);
		if (c->format == CTL_JSON) {
			history_json(e, n, r, nr);
		} else {
			ctl_pg_print_history(stdout, CTL_TABLE, e, n);
			if (nr)
				history_drills_table(r, nr);
		}
	}
	free(r);
	ctl_pages_free(&res);
	return code;
}
