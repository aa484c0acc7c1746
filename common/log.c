/*
 * log.c — see log.h.  The level threshold is the only process-wide state:
 * it is set once in main() before any thread starts.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/log.h"

static int min_level = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(int level)
{
	min_level = level;
}

int log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void log_event(int level, const char *event, const char *fmt, ...)
{
	if (level < min_level)
		return;
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	char line[2048];
	int n = snprintf(line, sizeof(line),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s "
			 "event=%s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (long)(tv.tv_usec / 1000), level_names[level], event);
	if (fmt && *fmt && n > 0 && (size_t)n < sizeof(line) - 1) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* One fputs per line so lines from threads never interleave. */
	size_t len = strnlen(line, sizeof(line) - 2);
	line[len] = '\n';
	line[len + 1] = '\0';
	fputs(line, stderr);
}

const char *log_quote(const char *s, char *buf, size_t len)
{
	bool plain = *s != '\0' && strpbrk(s, " \t\"\\=") == NULL;
	if (plain || len < 3) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
	size_t o = 0;
	buf[o++] = '"';
	for (; *s && o + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
