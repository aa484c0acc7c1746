/*
 * log.h — tenured's log lines: one line per event, on stderr, as
 *
 *   2026-11-25T19:40:00.123Z level=info event=role_change term=3 role=leader
 *
 * so that journald, grep and log shippers all read them.  The caller gives
 * the event name and the key=value fields (values with spaces are the
 * caller's to quote with %q-style helpers: log_quote()).
 *
 * Errors: log_parse_level returns -1 for an unknown name; writing a line
 * reports nothing (a failed write to stderr is lost).
 */
#ifndef TENURE_COMMON_LOG_H
#define TENURE_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

/* Lines below this level are dropped (set once at start-up). */
void log_set_level(int level);
int log_parse_level(const char *s);
void log_event(int level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Quote a value for a key=value field: "..." with \" and \\ escaped when
 * it holds spaces, quotes or is empty.  Returns buf. */
const char *log_quote(const char *s, char *buf, size_t len);

#endif
