/*
 * wall_time.c — see wall_time.h.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/wall_time.h"

/* n digits at *p into *out, moving p on. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/* ".d..." into milliseconds (digits past the third are dropped). */
static bool fraction(const char **p, int *ms)
{
	int scale = 100, n = 0;
	*ms = 0;
	for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, n++) {
		*ms += (**p - '0') * scale;
		scale /= 10;
	}
	return n > 0;
}

/* "Z", "+HH:MM", "+HHMM", "+HH" (or '-') into seconds east of UTC. */
static bool parse_zone(const char *p, long *east)
{
	int hh, mm = 0;
	if (strcmp(p, "Z") == 0 || strcmp(p, "z") == 0) {
		*east = 0;
		return true;
	}
	if (*p != '+' && *p != '-')
		return false;
	int sign = *p++ == '-' ? -1 : 1;
	if (!digits(&p, 2, &hh))
		return false;
	if (*p == ':')
		p++;
	if (*p && !digits(&p, 2, &mm))
		return false;
	if (*p || hh > 23 || mm > 59)
		return false;
	*east = sign * (hh * 3600L + mm * 60L);
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (UTC: no timegm
 * needed, so TZ is never touched). */
static long days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

struct civil {
	int y, mo, d, h, mi, s, ms;
};

/* The date and time of day; *p left at the zone (or the end). */
static bool parse_civil(const char **p, struct civil *c)
{
	bool ok = digits(p, 4, &c->y) && expect(p, '-') &&
		  digits(p, 2, &c->mo) && expect(p, '-') &&
		  digits(p, 2, &c->d) &&
		  (expect(p, 'T') || expect(p, 't') || expect(p, ' ')) &&
		  digits(p, 2, &c->h) && expect(p, ':') && digits(p, 2, &c->mi);
	if (ok && **p == ':') {
		ok = expect(p, ':') && digits(p, 2, &c->s);
		if (ok && (**p == '.' || **p == ','))
			ok = fraction(p, &c->ms);
	}
	return ok && c->y >= 1970 && c->mo >= 1 && c->mo <= 12 && c->d >= 1 &&
	       c->d <= days_in_month(c->y, c->mo) && c->h <= 23 &&
	       c->mi <= 59 && c->s <= 59;
}

/* Seconds since the epoch of a local time, or -1. */
static long long local_secs(const struct civil *c)
{
	struct tm tm = { .tm_year = c->y - 1900,
			 .tm_mon = c->mo - 1,
			 .tm_mday = c->d,
			 .tm_hour = c->h,
			 .tm_min = c->mi,
			 .tm_sec = c->s,
			 .tm_isdst = -1 };
	time_t t = mktime(&tm);
	return t == (time_t)-1 ? -1 : (long long)t;
}

enum wall_time_status wall_time_parse(const char *text, bool need_zone,
				      uint64_t *out, char *err, size_t errlen)
{
	const char *p = text;
	struct civil c = { 0 };
	long east = 0;
	bool ok = parse_civil(&p, &c);
	bool zoned = ok && *p;
	if (zoned)
		ok = parse_zone(p, &east);
	if (!ok) {
		snprintf(err, errlen,
			 "'%s' is not a time like 2026-12-07T10:00:00Z (UTC)"
			 "%s",
			 text,
			 need_zone ? " or 2026-12-07T11:00+01:00"
				   : ", 2026-12-07T11:00+01:00 or "
				     "2026-12-07T10:00 (local time)");
		return WALL_TIME_MALFORMED;
	}
	if (!zoned && need_zone) {
		snprintf(err, errlen,
			 "'%s' has no time zone: add Z (UTC) or an offset "
			 "such as +01:00",
			 text);
		return WALL_TIME_NO_ZONE;
	}
	long long secs = zoned ? days_from_civil(c.y, c.mo, c.d) * 86400LL +
					 c.h * 3600LL + c.mi * 60LL + c.s - east
			       : local_secs(&c);
	if (secs < 0) {
		snprintf(err, errlen,
			 "'%s' is before 1970 (or no such local "
			 "time)",
			 text);
		return WALL_TIME_MALFORMED;
	}
	*out = (uint64_t)secs * 1000 + (uint64_t)c.ms;
	return WALL_TIME_OK;
}

static const char *format(uint64_t ms, bool utc, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	bool ok = utc ? gmtime_r(&t, &tm) != NULL
		      : localtime_r(&t, &tm) != NULL;
	if (!ok ||
	    !strftime(buf, cap,
		      utc ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S%z", &tm))
		snprintf(buf, cap, "%llu ms", (unsigned long long)ms);
	return buf;
}

const char *wall_time_local(uint64_t ms, char *buf, size_t cap)
{
	return format(ms, false, buf, cap);
}

const char *wall_time_utc(uint64_t ms, char *buf, size_t cap)
{
	return format(ms, true, buf, cap);
}
