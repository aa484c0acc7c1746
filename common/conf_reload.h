/*
 * conf_reload.h — what a daemon's SIGHUP does with its settings read again:
 * the keys it can change while running take their new values, every other
 * change waits for a restart and is named as such.
 *
 * Contract
 * --------
 * The caller parses its settings a second time (conf_parse_args() into a
 * zeroed struct next, from the same argv: the file may have changed, the
 * command line has not), checks them as at start, and hands both structs
 * here.  A bad file never gets this far: the running settings stay whole.
 *
 * Errors: none; lists longer than their buffer are cut at a key.  The
 * events go to common/log.h.
 */
#ifndef TENURE_COMMON_CONF_RELOAD_H
#define TENURE_COMMON_CONF_RELOAD_H

#include <stddef.h>

#include "common/conf.h"

/* Every option of table whose value differs between *live and *next is
 * named, comma separated, in changed when live_keys (NULL-terminated)
 * holds its key — its value then moves into *live — else in ignored
 * (*live keeps its own).  Both buffers hold cap bytes and are "" when
 * nothing is named.  *next gets what *live gave up: conf_free() it. */
void conf_take_live(const struct conf_option *table, size_t n,
		    const char *const *live_keys, void *live, void *next,
		    char *changed, char *ignored, size_t cap);

/* The events of a reload, alike in every daemon: refused, with why
 * (event=config_reload_failed: the settings in force stay); or done,
 * with event=config_reload_ignored naming the changes that wait for a
 * restart of `daemon` ("agent", "witness") when there are any, then
 * event=config_reloaded changed=... followed by extra (" key=value ...",
 * or ""). */
void conf_reload_failed(const char *why);
void conf_reload_done(const char *daemon, const char *changed,
		      const char *ignored, const char *extra);

#endif /* TENURE_COMMON_CONF_RELOAD_H */
