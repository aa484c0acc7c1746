/*
 * conf_reload.c — see conf_reload.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/conf_reload.h"
#include "common/log.h"

static bool listed(const char *const *keys, const char *key)
{
	for (size_t i = 0; keys[i]; i++)
		if (strcmp(keys[i], key) == 0)
			return true;
	return false;
}

static bool same_value(const struct conf_option *o, const void *a,
		       const void *b)
{
	if (o->type == CONF_STRING) {
		const char *x = *(char *const *)((const char *)a + o->offset);
		const char *y = *(char *const *)((const char *)b + o->offset);
		return (!x && !y) || (x && y && strcmp(x, y) == 0);
	}
	char va[512], vb[512];
	return conf_format_value(o, a, va, sizeof(va)) &&
	       conf_format_value(o, b, vb, sizeof(vb)) && strcmp(va, vb) == 0;
}

/* Option o's value moved from next into live (next gets live's: freed
 * with next). */
static void swap_value(const struct conf_option *o, void *live, void *next)
{
	size_t size = o->type == CONF_STRING ? sizeof(char *)
		      : o->type == CONF_BOOL ? sizeof(bool)
		      : o->type == CONF_ENUM ? sizeof(int)
					     : sizeof(int64_t);
	char tmp[sizeof(int64_t)];
	memcpy(tmp, (char *)live + o->offset, size);
	memcpy((char *)live + o->offset, (char *)next + o->offset, size);
	memcpy((char *)next + o->offset, tmp, size);
}

static void name_key(char *list, size_t cap, const char *key)
{
	size_t len = strlen(list);
	if (len + (len ? 1 : 0) + strlen(key) < cap)
		snprintf(list + len, cap - len, "%s%s", len ? "," : "", key);
}

void conf_take_live(const struct conf_option *table, size_t n,
		    const char *const *live_keys, void *live, void *next,
		    char *changed, char *ignored, size_t cap)
{
	if (cap) {
		changed[0] = '\0';
		ignored[0] = '\0';
	}
	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		if (same_value(o, live, next))
			continue;
		bool is_live = listed(live_keys, o->key);
		name_key(is_live ? changed : ignored, cap, o->key);
		if (is_live)
			swap_value(o, live, next);
	}
}

void conf_reload_failed(const char *why)
{
	char q[1200];
	log_event(LOG_ERROR, "config_reload_failed",
		  "err=%s hint=\"the settings in force stay; fix the file and "
		  "send SIGHUP again\"",
		  log_quote(why, q, sizeof(q)));
}

void conf_reload_done(const char *daemon, const char *changed,
		      const char *ignored, const char *extra)
{
	if (ignored[0])
		log_event(LOG_WARN, "config_reload_ignored",
			  "keys=%s hint=\"these need a restart of the %s; the "
			  "values it started with stay in force\"",
			  ignored, daemon);
	log_event(LOG_INFO, "config_reloaded", "changed=%s%s",
		  changed[0] ? changed : "none", extra);
}
