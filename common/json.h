/*
 * json.h — tenure's one JSON writer: tenurectl's -o json, the agent's
 * HTTP API and the records it keeps under the witnesses' keys, tenured's
 * /health and /status.
 *
 * Contract
 * --------
 * A streaming writer of compact JSON into one of three sinks: a FILE*, a
 * growable struct buf, or a caller's fixed buffer (kept NUL-terminated;
 * once something does not fit, every later call is a no-op and .failed is
 * set).  The writer puts the commas between siblings itself; a document
 * (what json_end closes at depth 0) ends with a newline unless
 * JSON_NO_NEWLINE, so that watches print one object per line.  Strings
 * are escaped (", \, control characters); a byte that does not start a
 * valid UTF-8 sequence becomes U+FFFD, so the document stays valid JSON —
 * unless JSON_KEEP_BYTES, which copies such bytes as they are.  Nesting
 * beyond JSON_DEPTH levels is not tracked.  No global state.
 *
 * Errors: nothing returns one; a sink that fails sets .failed (the writer's
 * or the buf's), checked once at the end; nothing is logged.
 */
#ifndef TENURE_COMMON_JSON_H
#define TENURE_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"

#define JSON_DEPTH 16

/* Flags of json_init_*. */
#define JSON_KEEP_BYTES 0x1u /* invalid UTF-8 copied, not U+FFFD */
#define JSON_NO_NEWLINE 0x2u /* no "\n" after a document */

struct json {
	FILE *f; /* one of the three sinks */
	struct buf *b;
	char *fixed;
	size_t cap;
	size_t len;  /* bytes in fixed */
	bool failed; /* fixed: did not fit */
	unsigned flags;
	int depth;
	bool comma[JSON_DEPTH]; /* something written at this level */
	char kind[JSON_DEPTH];  /* '{' or '[' opened at this level */
	bool after_key;
};

void json_init_file(struct json *j, FILE *f, unsigned flags);
void json_init_buf(struct json *j, struct buf *b, unsigned flags);
void json_init_fixed(struct json *j, char *buf, size_t cap, unsigned flags);

void json_object(struct json *j);
void json_list(struct json *j);
/* Closes what was opened last. */
void json_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *p, size_t len);
/* A NUL-terminated string; NULL as "". */
void json_string(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
/* With three decimals. */
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* A value that is JSON text already (a stored record), as it is. */
void json_raw(struct json *j, const char *text, size_t len);

/* Length of the valid UTF-8 sequence at p (of at most left bytes: 1 for
 * ASCII), 0 when it is not one (overlong, surrogate, beyond U+10FFFF,
 * cut short). */
size_t json_utf8_len(const unsigned char *p, size_t left);
/* The escape sequence for byte c ("\\n", "\\u001f", ...) into tmp (at
 * least 8 bytes), or NULL when c stands for itself in a JSON string. */
const char *json_escape_byte(unsigned char c, char *tmp);

#endif
