/*
 * startfail.c — see startfail.h.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/startfail.h"

struct pattern {
	const char *text;
	enum startfail_cause cause;
};

/* In order: a line naming the cause before the generic line after it. */
static const struct pattern patterns[] = {
	{ "is a lower setting than on the primary server", SF_SETTINGS_LOW },
	{ "insufficient parameter settings", SF_SETTINGS_LOW },
	{ "invalid value for parameter", SF_CONFIG },
	{ "unrecognized configuration parameter", SF_CONFIG },
	{ "is outside the valid range for parameter", SF_CONFIG },
	{ "syntax error in file", SF_CONFIG },
	{ "could not access file", SF_CONFIG },
	{ "could not load library", SF_CONFIG },
	{ "contains errors", SF_CONFIG },
	{ "could not bind", SF_RESOURCE },
	{ "Address already in use", SF_RESOURCE },
	{ "could not create any TCP/IP sockets", SF_RESOURCE },
	{ "No space left on device", SF_RESOURCE },
	{ "could not create shared memory segment", SF_RESOURCE },
	{ "could not map anonymous shared memory", SF_RESOURCE },
	{ "out of memory", SF_RESOURCE },
	{ "Permission denied", SF_RESOURCE },
	{ "lock file \"", SF_RESOURCE }, /* another server's, or a stale one */
	{ "is not a child of this server's history", SF_DIVERGED },
	{ "is not in this server's history", SF_DIVERGED },
	{ "database system identifier differs", SF_DIVERGED },
	{ "WAL file is from different database system", SF_DIVERGED },
	{ "could not locate a valid checkpoint record", SF_DAMAGED },
	{ "could not locate required checkpoint record", SF_DAMAGED },
	{ "invalid checkpoint record", SF_DAMAGED },
	{ "could not find redo location", SF_DAMAGED },
	{ "incorrect checksum in control file", SF_DAMAGED },
	{ "invalid data in file", SF_DAMAGED },
	{ "PANIC:", SF_DAMAGED },
};

static const char *const names[] = {
	[SF_UNKNOWN] = "unknown",    [SF_SETTINGS_LOW] = "settings_too_low",
	[SF_CONFIG] = "bad_setting", [SF_RESOURCE] = "resource",
	[SF_DIVERGED] = "diverged",  [SF_DAMAGED] = "damaged",
};

static const char *const reasons[] = {
	[SF_UNKNOWN] = "Postgres does not start (cause not found in its log): "
		       "not copying it afresh; retrying with back-off",
	[SF_SETTINGS_LOW] = "Postgres does not start: a setting is lower than "
			    "on the primary; raise it in postgresql.conf; "
			    "retrying with back-off",
	[SF_CONFIG] = "Postgres does not start: a setting or configuration "
		      "file is invalid; fix it (the agent retries at once "
		      "when the file changes, else with back-off)",
	[SF_RESOURCE] = "Postgres does not start: a resource is missing "
			"(port, memory, disk space or permissions); retrying "
			"with back-off",
	[SF_DIVERGED] = "Postgres does not start: its data diverged from the "
			"primary's",
	[SF_DAMAGED] = "Postgres does not start: its data is damaged",
};

const char *startfail_cause_name(enum startfail_cause c)
{
	return (unsigned)c <= SF_DAMAGED ? names[c] : "unknown";
}

const char *startfail_reason(enum startfail_cause c)
{
	return (unsigned)c <= SF_DAMAGED ? reasons[c] : reasons[SF_UNKNOWN];
}

bool startfail_needs_copy(enum startfail_cause c)
{
	return c == SF_DIVERGED || c == SF_DAMAGED;
}

/* The line of text around at, from its severity tag when it has one. */
static void take_line(const char *text, const char *at, char *out, size_t cap)
{
	const char *start = at, *end = strchr(at, '\n');
	while (start > text && start[-1] != '\n')
		start--;
	if (!end)
		end = at + strlen(at);
	static const char *const tags[] = { "PANIC:", "FATAL:",  "ERROR:",
					    "LOG:",   "DETAIL:", "HINT:" };
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		const char *t = strstr(start, tags[i]);
		if (t && t < end && t <= at) {
			start = t;
			break;
		}
	}
	size_t n = (size_t)(end - start);
	if (n > 0 && start[n - 1] == '\r')
		n--;
	snprintf(out, cap, "%.*s", (int)n, start);
}

void startfail_classify(const char *text, struct startfail *out)
{
	out->cause = SF_UNKNOWN;
	out->line[0] = '\0';
	if (!text)
		return;
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		const char *at = strstr(text, patterns[i].text);
		if (at) {
			out->cause = patterns[i].cause;
			take_line(text, at, out->line, sizeof(out->line));
			return;
		}
	}
}

uint64_t startfail_backoff_ms(int failures, uint64_t base_ms, uint64_t cap_ms)
{
	if (failures <= 0)
		return 0;
	uint64_t wait = base_ms;
	for (int i = 1; i < failures && wait < cap_ms; i++)
		wait *= 2;
	return wait < cap_ms ? wait : cap_ms;
}
