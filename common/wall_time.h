/*
 * wall_time.h — wall-clock times as people write them (ISO 8601) and as
 * tenure keeps them (milliseconds since the epoch): what an operator
 * gives `tenurectl ... --scheduled` and the REST API's "scheduled_at" /
 * "schedule".
 *
 * Contract
 * --------
 * wall_time_parse() is pure but for the local time zone: ISO 8601 as
 * "2026-12-07T10:00:00Z" (UTC), "2026-12-07T11:00:00+01:00" (an offset,
 * also +0100 or +01), or without a zone "2026-12-07T10:00" (local time
 * of this machine, the TZ variable's).  A space may stand for the T;
 * seconds are optional and may have a fraction (".123456", as Python's
 * isoformat() writes; kept to the millisecond).  With
 * need_zone a time without a zone is refused: a server must not guess
 * what its client's local time is.
 *
 * Errors: wall_time_parse returns WALL_TIME_OK, or another value with a
 * reason in err; nothing is logged.
 */
#ifndef TENURE_COMMON_WALL_TIME_H
#define TENURE_COMMON_WALL_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wall_time_status {
	WALL_TIME_OK,
	WALL_TIME_MALFORMED, /* not such a time, or no such date */
	WALL_TIME_NO_ZONE,   /* well formed, but need_zone and none given */
};

/* Wall-clock milliseconds since the epoch into *out. */
enum wall_time_status wall_time_parse(const char *text, bool need_zone,
				      uint64_t *out, char *err, size_t errlen);
/* "2026-12-07T11:00:00+0100", local time, into buf (at least 32). */
const char *wall_time_local(uint64_t ms, char *buf, size_t cap);
/* "2026-12-07T10:00:00Z" into buf (at least 32). */
const char *wall_time_utc(uint64_t ms, char *buf, size_t cap);

#endif
