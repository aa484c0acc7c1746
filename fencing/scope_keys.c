/*
 * scope_keys.c — see scope_keys.h: where the agent's listing of its scope
 * starts, what it does with each key, and how many old entries to prune.
 */
#include <string.h>

#include "fencing/flatjson.h"
#include "fencing/scope_keys.h"

bool scope_key_before(const char *key, size_t len, char *out, size_t cap)
{
	if (len == 0 || len >= cap)
		return false;
	memcpy(out, key, len);
	/* Between P+"\0" and P there is no string: P is then the one. */
	if (out[len - 1] == '\0') {
		len--;
	} else {
		out[len - 1] = (char)((unsigned char)out[len - 1] - 1);
	}
	out[len] = '\0';
	return true;
}

void scope_walk_init(struct scope_walk *w, const char *known)
{
	w->known = known ? known : "";
	w->seen = false;
}

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

enum scope_step scope_walk_step(struct scope_walk *w, const char *key,
				size_t len)
{
	if (!w->known[0] || w->seen)
		return SCOPE_TAKE;
	int c = key_cmp(key, len, w->known, strlen(w->known));
	if (c < 0)
		return SCOPE_SKIP;
	if (c == 0) {
		w->seen = true;
		return SCOPE_AGAIN;
	}
	return SCOPE_RESTART;
}

enum scope_step scope_walk_end(const struct scope_walk *w)
{
	return w->known[0] && !w->seen ? SCOPE_RESTART : SCOPE_TAKE;
}

size_t scope_prune_count(size_t n, size_t keep)
{
	return n > keep ? n - keep : 0;
}

struct request_times {
	uint64_t requested_ms, at_ms;
};

static bool request_time(void *arg, const char *key,
			 const struct flatjson_value *v, char *err,
			 size_t errlen)
{
	struct request_times *t = arg;
	if (strcmp(key, "requested_ms") == 0)
		return flatjson_u64(key, v, &t->requested_ms, err, errlen);
	if (strcmp(key, "at_ms") == 0)
		return flatjson_u64(key, v, &t->at_ms, err, errlen);
	return true;
}

bool scope_request_times(const char *json, size_t len, uint64_t *requested_ms,
			 uint64_t *at_ms)
{
	struct request_times t = { 0, 0 };
	char err[160];
	bool ok = flatjson_parse(json, len, request_time, &t, err, sizeof(err));
	*requested_ms = ok ? t.requested_ms : 0;
	*at_ms = ok ? t.at_ms : 0;
	return ok;
}

bool scope_request_stale(const char *json, size_t len, uint64_t now_ms)
{
	uint64_t requested_ms, at_ms;
	if (!scope_request_times(json, len, &requested_ms, &at_ms) ||
	    requested_ms == 0)
		return true;
	/* a scheduled one ages from its time on, as the agents count */
	uint64_t since = at_ms > requested_ms ? at_ms : requested_ms;
	return now_ms > since + SCOPE_REQUEST_MAX_AGE_MS;
}
