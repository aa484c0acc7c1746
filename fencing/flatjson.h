/*
 * flatjson.h — the one JSON shape the agents keep under the witnesses'
 * keys: a flat object of string, number, boolean and null values (member
 * records, history entries, switchover requests, the pause marker).
 *
 * Contract
 * --------
 * The reader is strict: exactly one object, no nesting, no arrays, no
 * trailing bytes other than whitespace, valid UTF-8, JSON escapes
 * (\uXXXX, surrogate pairs included) decoded to UTF-8; a string that
 * would hold a NUL or is longer than FLATJSON_STR_MAX bytes once decoded
 * is refused.  Every refusal says why in err ("at byte 12: ...").  The
 * field callback sees each member in order (duplicates too: the last one
 * wins if the caller just stores them); it may refuse a value by
 * returning false with its own reason in err.
 *
 * The writer builds an object into a caller's fixed buffer with
 * common/json.h (JSON_KEEP_BYTES: bytes are copied as they are, only ",
 * \ and control characters escaped); once something does not fit, every
 * later call is a no-op and flatjson_end returns 0.  Pure functions, no
 * global state.
 *
 * Errors: parsers return false with a reason in err, a writer that ran out
 * of room ends with 0 (above); nothing is logged.
 */
#ifndef TENURE_FENCING_FLATJSON_H
#define TENURE_FENCING_FLATJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/json.h"

#define FLATJSON_STR_MAX 4096

enum flatjson_type {
	FLATJSON_STRING,
	FLATJSON_NUMBER,
	FLATJSON_BOOL,
	FLATJSON_NULL,
};

struct flatjson_value {
	enum flatjson_type type;
	const char *str; /* STRING: decoded, NUL-terminated; NUMBER: its
			    text as written (NUL-terminated copy) */
	size_t len;
	bool b; /* BOOL */
};

/* Returns false (with a reason in err) to stop the parse. */
typedef bool (*flatjson_field_cb)(void *arg, const char *key,
				  const struct flatjson_value *v, char *err,
				  size_t errlen);

/* Parses len bytes; false with a reason in err. */
bool flatjson_parse(const char *json, size_t len, flatjson_field_cb cb,
		    void *arg, char *err, size_t errlen);

/* A NUMBER value as an integer: false (with a reason naming key) for a
 * fraction, an exponent, a sign where none fits, or overflow. */
bool flatjson_u64(const char *key, const struct flatjson_value *v,
		  uint64_t *out, char *err, size_t errlen);
bool flatjson_i64(const char *key, const struct flatjson_value *v, int64_t *out,
		  char *err, size_t errlen);

struct flatjson_writer {
	struct json j;
};

void flatjson_begin(struct flatjson_writer *w, char *buf, size_t cap);
void flatjson_put_str(struct flatjson_writer *w, const char *key,
		      const char *val);
void flatjson_put_u64(struct flatjson_writer *w, const char *key, uint64_t v);
void flatjson_put_i64(struct flatjson_writer *w, const char *key, int64_t v);
void flatjson_put_bool(struct flatjson_writer *w, const char *key, bool v);
/* Closes the object: its length (buf NUL-terminated), or 0 when it did
 * not fit. */
size_t flatjson_end(struct flatjson_writer *w);

#endif
