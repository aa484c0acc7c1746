/*
 * http_request.c — see http_request.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/http_request.h"

#define CONTENT_LENGTH "content-length:"

/* Offset just past the blank line ending the header block, or 0. */
static size_t header_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i > 0 && buf[i - 1] == '\r' && i + 2 < len &&
		    buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* The value of a Content-Length line (after its colon) up to the end of
 * the line: false when it is not a number. */
static bool parse_length(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	bool digits = false;
	while (p < end && blank(*p))
		p++;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
		digits = true;
	}
	while (p < end && blank(*p))
		p++;
	*out = v;
	return digits && p == end;
}

/* The line of buf[0, hdr_len) after the request line that starts with
 * prefix (any case), or NULL; *eol gets its end. */
static const char *find_header(const char *buf, size_t hdr_len,
			       const char *prefix, const char **eol)
{
	const size_t n = strlen(prefix);
	const char *end = buf + hdr_len;
	for (const char *p = memchr(buf, '\n', hdr_len); p && p + 1 < end;
	     p = memchr(p + 1, '\n', (size_t)(end - p - 1))) {
		const char *line = p + 1;
		const char *e = memchr(line, '\n', (size_t)(end - line));
		if (!e || (size_t)(e - line) < n ||
		    strncasecmp(line, prefix, n) != 0)
			continue;
		*eol = e;
		return line + n;
	}
	return NULL;
}

/* The body's length from the header lines of buf[0, hdr_len): 0 without
 * Content-Length; false when one is not a number. */
static bool body_length(const char *buf, size_t hdr_len, uint64_t *out)
{
	const char *eol;
	const char *v = find_header(buf, hdr_len, CONTENT_LENGTH, &eol);
	*out = 0;
	return !v || parse_length(v, eol, out);
}

size_t http_request_header_len(const char *buf, size_t len)
{
	return header_end(buf, len);
}

bool http_request_header(const char *buf, size_t hdr_len, const char *name,
			 char *out, size_t cap)
{
	char prefix[64];
	const char *eol;
	if ((size_t)snprintf(prefix, sizeof(prefix), "%s:", name) >=
	    sizeof(prefix))
		return false;
	const char *v = find_header(buf, hdr_len, prefix, &eol);
	if (!v)
		return false;
	while (v < eol && blank(*v))
		v++;
	while (eol > v && blank(eol[-1]))
		eol--;
	size_t n = (size_t)(eol - v);
	if (n >= cap)
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

enum http_request_state http_request_scan(const char *buf, size_t len,
					  size_t limit)
{
	size_t hdr = header_end(buf, len);
	if (memchr(buf, '\0', hdr ? hdr : len))
		return HTTP_REQUEST_NUL;
	if (!hdr)
		return len >= limit ? HTTP_REQUEST_TOO_LARGE
				    : HTTP_REQUEST_PARTIAL;
	uint64_t body;
	if (!body_length(buf, hdr, &body))
		return HTTP_REQUEST_BAD_LENGTH;
	if (hdr > limit || body > limit - hdr)
		return HTTP_REQUEST_TOO_LARGE;
	return len - hdr >= body ? HTTP_REQUEST_COMPLETE : HTTP_REQUEST_PARTIAL;
}
