/*
 * standby_settings.c — see standby_settings.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/standby_settings.h"

const char *const standby_setting_names[STANDBY_SETTINGS_N] = {
	"max_connections",           "max_worker_processes",
	"max_wal_senders",           "max_prepared_transactions",
	"max_locks_per_transaction",
};

void standby_settings_from_controldata(const struct controldata *cd,
				       struct standby_settings *s)
{
	s->primary[0] = cd->max_connections;
	s->primary[1] = cd->max_worker_processes;
	s->primary[2] = cd->max_wal_senders;
	s->primary[3] = cd->max_prepared_xacts;
	s->primary[4] = cd->max_locks_per_xact;
	for (size_t i = 0; i < STANDBY_SETTINGS_N; i++)
		s->local[i] = -1;
}

/* "VALUE" (digits only, what postgres -C prints for an integer). */
static int64_t parse_value(const char *v, size_t n)
{
	int64_t x = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x;
}

static void parse_line(const char *line, size_t len, struct standby_settings *s)
{
	static const char tag[] = "local ";
	if (len <= sizeof(tag) || memcmp(line, tag, sizeof(tag) - 1) != 0)
		return;
	const char *name = line + sizeof(tag) - 1, *end = line + len;
	const char *colon = memchr(name, ':', (size_t)(end - name));
	if (!colon)
		return;
	const char *v = colon + 1;
	while (v < end && *v == ' ')
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\r'))
		end--;
	for (size_t i = 0; i < STANDBY_SETTINGS_N; i++)
		if (strlen(standby_setting_names[i]) ==
			    (size_t)(colon - name) &&
		    memcmp(standby_setting_names[i], name,
			   (size_t)(colon - name)) == 0)
			s->local[i] = parse_value(v, (size_t)(end - v));
}

void standby_settings_parse_local(const char *text, struct standby_settings *s)
{
	for (const char *p = text ? text : ""; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		parse_line(p, len, s);
		p += len + (nl ? 1 : 0);
	}
}

static bool append(char *buf, size_t cap, size_t *len, const char *fmt,
		   const char *name, const char *from, uint32_t to)
{
	int w = snprintf(buf + *len, cap - *len, fmt, name, from, to);
	if (w < 0 || (size_t)w >= cap - *len)
		return false;
	*len += (size_t)w;
	return true;
}

int standby_settings_raise(const struct standby_settings *s, char *opts,
			   size_t cap, char *note, size_t ncap)
{
	size_t olen = 0, nlen = 0;
	int n = 0;
	opts[0] = note[0] = '\0';
	for (size_t i = 0; i < STANDBY_SETTINGS_N; i++) {
		uint32_t want = s->primary[i];
		if (want == 0 || s->local[i] >= (int64_t)want)
			continue;
		char from[24] = "?";
		if (s->local[i] >= 0)
			snprintf(from, sizeof(from), "%lld",
				 (long long)s->local[i]);
		if (!append(opts, cap, &olen, " -c %s=%s%u",
			    standby_setting_names[i], "", want) ||
		    !append(note, ncap, &nlen,
			    n ? ", %s %s -> %u" : "%s %s -> %u",
			    standby_setting_names[i], from, want)) {
			opts[0] = note[0] = '\0';
			return 0;
		}
		n++;
	}
	return n;
}
