/*
 * controldata.c — see controldata.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fencing/controldata.h"

enum field_kind {
	F_STATE,
	F_U64,
	F_U32,
	F_LSN,
	F_BOOL
};

struct field {
	const char *label;
	enum field_kind kind;
	size_t offset;
	bool required;
};

#define AT(m) offsetof(struct controldata, m)
static const struct field fields[] = {
	{ "Database system identifier", F_U64, AT(system_identifier), true },
	{ "Database cluster state", F_STATE, AT(state), true },
	{ "Latest checkpoint location", F_LSN, AT(checkpoint_lsn), true },
	{ "Latest checkpoint's REDO location", F_LSN, AT(redo_lsn), true },
	{ "Latest checkpoint's TimeLineID", F_U32, AT(timeline), true },
	{ "Latest checkpoint's PrevTimeLineID", F_U32, AT(prev_timeline),
	  false },
	{ "Minimum recovery ending location", F_LSN, AT(min_recovery_end_lsn),
	  true },
	{ "Min recovery ending loc's timeline", F_U32, AT(min_recovery_end_tli),
	  true },
	{ "Latest checkpoint's full_page_writes", F_BOOL, AT(full_page_writes),
	  false },
	{ "wal_log_hints setting", F_BOOL, AT(wal_log_hints), false },
	{ "Data page checksum version", F_U32, AT(checksum_version), false },
	{ "Bytes per WAL segment", F_U32, AT(wal_segment_size), false },
	{ "max_connections setting", F_U32, AT(max_connections), false },
	{ "max_worker_processes setting", F_U32, AT(max_worker_processes),
	  false },
	{ "max_wal_senders setting", F_U32, AT(max_wal_senders), false },
	{ "max_prepared_xacts setting", F_U32, AT(max_prepared_xacts), false },
	{ "max_locks_per_xact setting", F_U32, AT(max_locks_per_xact), false },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Indexed by enum controldata_state; the wording of PostgreSQL's
 * pg_controldata (dbState()). */
static const char *const state_names[] = {
	[CD_UNKNOWN] = "unknown",
	[CD_STARTING] = "starting up",
	[CD_SHUT_DOWN] = "shut down",
	[CD_SHUT_DOWN_IN_RECOVERY] = "shut down in recovery",
	[CD_SHUTTING_DOWN] = "shutting down",
	[CD_IN_CRASH_RECOVERY] = "in crash recovery",
	[CD_IN_ARCHIVE_RECOVERY] = "in archive recovery",
	[CD_IN_PRODUCTION] = "in production",
};

const char *controldata_state_name(enum controldata_state s)
{
	if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[s];
}

bool controldata_was_primary(const struct controldata *cd)
{
	return cd->state == CD_IN_PRODUCTION || cd->state == CD_SHUT_DOWN;
}

bool controldata_clean(const struct controldata *cd)
{
	return cd->state == CD_SHUT_DOWN ||
	       cd->state == CD_SHUT_DOWN_IN_RECOVERY;
}

/* 1 to 8 hex digits of s[0..n) into *out. */
static bool parse_hex32(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	if (n == 0 || n > 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

bool pg_lsn_parse(const char *s, uint64_t *out)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	uint32_t hi, lo;
	if (!slash || !parse_hex32(s, (size_t)(slash - s), &hi) ||
	    !parse_hex32(slash + 1, strlen(slash + 1), &lo))
		return false;
	*out = (uint64_t)hi << 32 | lo;
	return true;
}

/* Decimal digits only (strtoull alone would take "-1" and " 7"). */
static bool parse_u64(const char *s, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static bool parse_state(const char *s, enum controldata_state *out)
{
	for (size_t i = 1; i < sizeof(state_names) / sizeof(state_names[0]);
	     i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum controldata_state)i;
			return true;
		}
	}
	*out = CD_UNKNOWN; /* a state this module does not know: not clean */
	return true;
}

static bool parse_value(const struct field *f, const char *v, void *dst)
{
	uint64_t u;
	switch (f->kind) {
	case F_STATE:
		return parse_state(v, dst);
	case F_U64:
		return parse_u64(v, dst);
	case F_U32:
		if (!parse_u64(v, &u) || u > UINT32_MAX)
			return false;
		*(uint32_t *)dst = (uint32_t)u;
		return true;
	case F_LSN:
		return pg_lsn_parse(v, dst);
	case F_BOOL:
		if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
			return false;
		*(bool *)dst = strcmp(v, "on") == 0;
		return true;
	}
	return false;
}

static const struct field *find_field(const char *label, size_t n)
{
	for (size_t i = 0; i < NFIELDS; i++)
		if (strlen(fields[i].label) == n &&
		    memcmp(fields[i].label, label, n) == 0)
			return &fields[i];
	return NULL;
}

/* One "Label:   value" line (without its newline); lines without a ':'
 * or with a label we do not use are skipped. */
static bool parse_line(const char *line, size_t len, struct controldata *out,
		       bool *seen, char *err, size_t errlen)
{
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return true;
	const struct field *f = find_field(line, (size_t)(colon - line));
	if (!f)
		return true;
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	char value[128];
	if ((size_t)(end - v) >= sizeof(value))
		goto bad;
	memcpy(value, v, (size_t)(end - v));
	value[end - v] = '\0';
	if (!parse_value(f, value, (char *)out + f->offset))
		goto bad;
	seen[f - fields] = true;
	return true;
bad:
	snprintf(err, errlen, "pg_controldata: cannot read \"%s\": %.*s",
		 f->label, (int)(len > 80 ? 80 : len), line);
	return false;
}

bool controldata_parse(const char *text, struct controldata *out, char *err,
		       size_t errlen)
{
	bool seen[NFIELDS] = { false };
	memset(out, 0, sizeof(*out));
	if (!text) {
		snprintf(err, errlen, "pg_controldata: no output");
		return false;
	}
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (!parse_line(p, len, out, seen, err, errlen))
			return false;
		p += len + (nl ? 1 : 0);
	}
	for (size_t i = 0; i < NFIELDS; i++) {
		if (fields[i].required && !seen[i]) {
			snprintf(err, errlen,
				 "pg_controldata: no \"%s\" line (was it run "
				 "with LC_ALL=C on a PostgreSQL data "
				 "directory?)",
				 fields[i].label);
			return false;
		}
	}
	return true;
}
