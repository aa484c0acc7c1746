/*
 * http_request.h — whether an HTTP request has fully arrived, for
 * common/http.c: the header block (up to a blank line), then the body its
 * Content-Length announces.  Pure (bytes in, a verdict out), so that the
 * limits are tested without a socket.
 *
 * Contract
 * --------
 * buf holds the len bytes received so far (it need not end with a NUL);
 * limit is the most a request may take, header block and body together.
 * The header block ends at the first "\r\n\r\n" or "\n\n".  A NUL byte
 * before that end is never valid (a NUL in a body is the body's
 * business).  Content-Length (any case) must be decimal digits, with
 * optional blanks around them; without it there is no body.
 *
 * http_request_header_len and http_request_header read a complete
 * request's header block for the handler (Authorization, say).
 *
 * Errors: the verdict; nothing is logged.
 */
#ifndef TENURE_COMMON_HTTP_REQUEST_H
#define TENURE_COMMON_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

enum http_request_state {
	HTTP_REQUEST_PARTIAL,    /* more bytes are needed */
	HTTP_REQUEST_COMPLETE,   /* the header block and the body are in */
	HTTP_REQUEST_NUL,        /* a NUL byte in the header block */
	HTTP_REQUEST_TOO_LARGE,  /* it cannot fit in limit bytes */
	HTTP_REQUEST_BAD_LENGTH, /* a Content-Length that is not a number */
};

enum http_request_state http_request_scan(const char *buf, size_t len,
					  size_t limit);

/* The length of the header block (through its blank line) of a complete
 * request, or 0 when it has not ended within len bytes. */
size_t http_request_header_len(const char *buf, size_t len);

/* The value of header name (any case, without its colon) among the header
 * lines of buf[0, hdr_len), blanks around it trimmed, into out (cap
 * bytes, NUL-terminated): false when it is absent or does not fit.  The
 * first one wins. */
bool http_request_header(const char *buf, size_t hdr_len, const char *name,
			 char *out, size_t cap);

#endif
