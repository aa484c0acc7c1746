/*
 * ctl_time.c — see ctl_time.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/ctl_time.h"

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

int ctl_parse_time(const char *text, uint64_t *out, char *err, size_t errlen)
{
	const char *p = text;
	int y, mo, d, h, mi, s = 0;
	bool ok = digits(&p, 4, &y) && expect(&p, '-') && digits(&p, 2, &mo) &&
		  expect(&p, '-') && digits(&p, 2, &d) &&
		  (expect(&p, 'T') || expect(&p, 't') || expect(&p, ' ')) &&
		  digits(&p, 2, &h) && expect(&p, ':') && digits(&p, 2, &mi);
	if (ok && *p == ':')
		ok = expect(&p, ':') && digits(&p, 2, &s);
	long east = 0;
	bool zoned = ok && *p;
	if (zoned)
		ok = parse_zone(p, &east);
	if (ok)
		ok = y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 &&
		     d <= days_in_month(y, mo) && h <= 23 && mi <= 59 &&
		     s <= 59;
	if (!ok) {
		snprintf(err, errlen,
			 "'%s' is not a time like 2026-12-07T10:00:00Z (UTC), "
			 "2026-12-07T11:00+01:00 or 2026-12-07T10:00 (local "
			 "time)",
			 text);
		return -1;
	}
	long long secs;
	if (zoned) {
		secs = days_from_civil(y, mo, d) * 86400LL + h * 3600LL +
		       mi * 60LL + s - east;
	} else {
		struct tm tm = { .tm_year = y - 1900,
				 .tm_mon = mo - 1,
				 .tm_mday = d,
				 .tm_hour = h,
				 .tm_min = mi,
				 .tm_sec = s,
				 .tm_isdst = -1 };
		time_t t = mktime(&tm);
		if (t == (time_t)-1) {
			snprintf(err, errlen, "'%s': no such local time", text);
			return -1;
		}
		secs = (long long)t;
	}
	if (secs < 0) {
		snprintf(err, errlen, "'%s' is before 1970", text);
		return -1;
	}
	*out = (uint64_t)secs * 1000;
	return 0;
}

const char *ctl_local_time(uint64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!localtime_r(&t, &tm) ||
	    !strftime(buf, cap, "%Y-%m-%dT%H:%M:%S%z", &tm))
		snprintf(buf, cap, "%llu ms", (unsigned long long)ms);
	return buf;
}

int ctl_confirm(struct ctl *c, const char *what, bool skip,
		const char *skip_option)
{
	char line[64];
	(void)c;
	if (skip)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr,
			CTL_PROG
			": %s\n" CTL_PROG
			": this asks for confirmation and stdin is not a "
			"terminal\nHint: add %s to go ahead without asking.\n",
			what, skip_option);
		return CTL_EXIT_ERROR;
	}
	fprintf(stderr, "%s [y/N] ", what);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "y") != 0 && strcmp(line, "Y") != 0 &&
	    strcmp(line, "yes") != 0) {
		fprintf(stderr, CTL_PROG ": cancelled, nothing was changed\n");
		return CTL_EXIT_NO;
	}
	return 0;
}
