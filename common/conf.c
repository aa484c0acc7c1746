/*
 * conf.c — settings from a postgresql.conf-style file and from flags.
 *
 * Every value, whatever its source, goes through the same two steps:
 * parse_value() turns text into a typed value or an error message, and
 * store_value() writes it into the caller's struct.  Flags are parsed (so
 * their errors surface early) while argv is scanned, but stored only after
 * the file is read, which is what makes a flag win over the file wherever
 * --config appears on the command line.
 */
#include "common/conf.h"
#include "common/conf_lex.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The longest parameter name: longer names are never looked up. */
#define KEY_MAX 64

/* A table that breaks the rules in conf.h is a bug in the caller, not bad
 * input: stop loudly, in release builds too. */
#define CONF_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: conf: assertion failed: %s\n", \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/* Where a value came from, for the prefix of error messages: "file:line: "
 * for the config file, "what: " when line is 0, nothing for a flag. */
struct where {
	const char *file;
	unsigned line;
};
#define NOWHERE ((struct where){ NULL, 0 })

struct unit {
	const char *name;
	int64_t mult;
};

/* PostgreSQL's unit names, case-sensitive as in PostgreSQL, ascending. */
static const struct unit duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "min", 60 * 1000 },
	{ "h", 3600 * 1000 },
	{ "d", 24 * 3600 * 1000 },
	{ NULL, 0 },
};
static const struct unit size_units[] = {
	{ "B", 1 },
	{ "kB", INT64_C(1) << 10 },
	{ "MB", INT64_C(1) << 20 },
	{ "GB", INT64_C(1) << 30 },
	{ "TB", INT64_C(1) << 40 },
	{ NULL, 0 },
};

union conf_value {
	const char *s; /* points into the input; copied by store_value() */
	int64_t i;
	bool b;
	int e;
};

/* Per option, the last value given by a flag (pointing into argv). */
struct flag_set {
	const char **val;
	const char *config;
};

/* ---- small helpers ------------------------------------------------------ */

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen,
						      struct where w,
						      const char *fmt, ...)
{
	size_t used = 0;
	va_list ap;

	if (errlen == 0)
		return CONF_ERROR;
	err[0] = '\0';
	if (w.file && w.line)
		snprintf(err, errlen, "%s:%u: ", w.file, w.line);
	else if (w.file)
		snprintf(err, errlen, "%s: ", w.file);
	used = strlen(err);
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
	return CONF_ERROR;
}

/* ASCII only: configuration must not change meaning with the locale. */
static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	       c == '\v';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char to_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '.';
}

static const char *skip_space(const char *p)
{
	while (is_space(*p))
		p++;
	return p;
}

static void *field(void *out, const struct conf_option *o)
{
	return (char *)out + o->offset;
}

/* ---- keys --------------------------------------------------------------- */

/* Lower-case name into buf, reading '-' as '_' for flags.  False when the
 * name could not be any key, so it is reported as unknown. */
static bool key_normalize(const char *name, size_t len, bool flag,
			  char buf[KEY_MAX + 1])
{
	if (len == 0 || len > KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = to_lower(name[i]);
		if (flag && c == '-')
			c = '_';
		if (!is_key_char(c))
			return false;
		buf[i] = c;
	}
	buf[len] = '\0';
	return true;
}

static const struct conf_option *find_option(const struct conf_option *table,
					     size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].key, key) == 0)
			return &table[i];
	return NULL;
}

/* Levenshtein distance; b is a table key, so at most KEY_MAX long. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t lb = strlen(b), row[KEY_MAX + 1];

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; a[i - 1]; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The known key nearest to name (already lower-case), if it looks like a
 * typo of it: at most two edits, and fewer edits than name is long (so
 * "x" does not suggest "id"). */
static const char *key_suggest(const struct conf_option *table, size_t n,
			       const char *name)
{
	const char *best = NULL;
	size_t best_d = 3, len = strlen(name);

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(name, table[i].key);
		if (d < best_d && d < len) {
			best = table[i].key;
			best_d = d;
		}
	}
	return best;
}

/* "data_dir" -> "data-dir": flags are shown the way people type them. */
static void key_to_flag(const char *key, char buf[KEY_MAX + 1])
{
	size_t i = 0;
	for (; key[i] && i < KEY_MAX; i++)
		buf[i] = key[i] == '_' ? '-' : key[i];
	buf[i] = '\0';
}

/* ---- values ------------------------------------------------------------- */

static const struct unit *units_of(const struct conf_option *o)
{
	if (o->type == CONF_DURATION_MS)
		return duration_units;
	if (o->type == CONF_SIZE)
		return size_units;
	return NULL;
}

enum num_status {
	NUM_OK,
	NUM_BAD,
	NUM_RANGE
};

static int64_t unit_mult(const struct unit *units, const char *name, size_t len)
{
	for (const struct unit *u = units; u && u->name; u++)
		if (strlen(u->name) == len && memcmp(u->name, name, len) == 0)
			return u->mult;
	return 0;
}

/* "<integer>[ ][unit]" in base units.  Only integers: a fraction of a
 * millisecond or of a byte has no meaning here. */
static enum num_status parse_number(const char *s, const struct unit *units,
				    int64_t *out)
{
	const char *p = skip_space(s);
	char *end;
	int64_t mult = 1;

	if (!is_digit(*p) && !((*p == '-' || *p == '+') && is_digit(p[1])))
		return NUM_BAD;
	errno = 0;
	long long v = strtoll(p, &end, 10);
	bool too_big = errno == ERANGE;
	p = skip_space(end);
	size_t ulen = strlen(p);
	while (ulen > 0 && is_space(p[ulen - 1]))
		ulen--;
	if (ulen > 0 && (mult = unit_mult(units, p, ulen)) == 0)
		return NUM_BAD;
	if (too_big || __builtin_mul_overflow((int64_t)v, mult, out))
		return NUM_RANGE;
	return NUM_OK;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const words[] = {
		"on", "off", "true", "false", "yes", "no", "1", "0",
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcasecmp(s, words[i]) == 0) {
			*out = i % 2 == 0;
			return true;
		}
	}
	return false;
}

static bool parse_enum(const struct conf_option *o, const char *s, int *out)
{
	for (int i = 0; o->choices[i]; i++) {
		if (strcasecmp(s, o->choices[i]) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

/* v in the largest unit that divides it exactly: 2000 -> "2s". */
static void format_number(const struct conf_option *o, int64_t v, char *buf,
			  size_t len)
{
	const struct unit *best = NULL;

	for (const struct unit *u = units_of(o); v != 0 && u && u->name; u++)
		if (v % u->mult == 0)
			best = u;
	if (best)
		snprintf(buf, len, "%" PRId64 "%s", v / best->mult, best->name);
	else
		snprintf(buf, len, "%" PRId64, v);
}

/* What a valid value looks like, for "invalid value" messages. */
static void expected_text(const struct conf_option *o, char *buf, size_t len)
{
	switch (o->type) {
	case CONF_INT:
		snprintf(buf, len, "expected an integer");
		break;
	case CONF_BOOL:
		snprintf(buf, len,
			 "expected on/off, true/false, yes/no or 1/0");
		break;
	case CONF_DURATION_MS:
		snprintf(buf, len,
			 "expected a duration like 1000ms or 1s; "
			 "units: ms, s, min, h, d");
		break;
	case CONF_SIZE:
		snprintf(buf, len,
			 "expected a size like 64kB or 1MB; "
			 "units: B, kB, MB, GB, TB");
		break;
	default: {
		size_t used = (size_t)snprintf(buf, len, "expected one of:");
		for (int i = 0; o->choices[i] && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used,
						 "%s %s", i ? "," : "",
						 o->choices[i]);
		break;
	}
	}
}

static int check_range(const struct conf_option *o, int64_t v, struct where w,
		       char *err, size_t errlen)
{
	char val[32], lo[32], hi[32];

	if ((o->min == 0 && o->max == 0) || (v >= o->min && v <= o->max))
		return CONF_OK;
	format_number(o, v, val, sizeof val);
	format_number(o, o->min, lo, sizeof lo);
	format_number(o, o->max, hi, sizeof hi);
	return fail(err, errlen, w,
		    "value %s for parameter \"%s\" is out of range (%s .. %s)",
		    val, o->key, lo, hi);
}

/* Text -> typed value, or a message saying what a valid value looks like. */
static int parse_value(const struct conf_option *o, const char *text,
		       union conf_value *v, struct where w, char *err,
		       size_t errlen)
{
	char want[256];

	switch (o->type) {
	case CONF_STRING:
		v->s = text;
		return CONF_OK;
	case CONF_BOOL:
		if (parse_bool(text, &v->b))
			return CONF_OK;
		break;
	case CONF_ENUM:
		if (parse_enum(o, text, &v->e))
			return CONF_OK;
		break;
	default:
		switch (parse_number(text, units_of(o), &v->i)) {
		case NUM_OK:
			return check_range(o, v->i, w, err, errlen);
		case NUM_RANGE:
			return fail(err, errlen, w,
				    "invalid value for parameter \"%s\": "
				    "\"%s\" "
				    "(the number does not fit in 64 bits)",
				    o->key, text);
		case NUM_BAD:
			break;
		}
		break;
	}
	expected_text(o, want, sizeof want);
	return fail(err, errlen, w,
		    "invalid value for parameter \"%s\": \"%s\" (%s)", o->key,
		    text, want);
}

static int store_value(const struct conf_option *o, const union conf_value *v,
		       void *out, char *err, size_t errlen)
{
	void *f = field(out, o);

	switch (o->type) {
	case CONF_STRING: {
		char *copy = strdup(v->s);
		if (!copy)
			return fail(err, errlen, NOWHERE, "out of memory");
		free(*(char **)f);
		*(char **)f = copy;
		break;
	}
	case CONF_BOOL:
		*(bool *)f = v->b;
		break;
	case CONF_ENUM:
		*(int *)f = v->e;
		break;
	default:
		*(int64_t *)f = v->i;
		break;
	}
	return CONF_OK;
}

static int set_value(const struct conf_option *o, const char *text, void *out,
		     struct where w, char *err, size_t errlen)
{
	union conf_value v;

	if (parse_value(o, text, &v, w, err, errlen) != CONF_OK)
		return CONF_ERROR;
	return store_value(o, &v, out, err, errlen);
}

/* ---- the table ---------------------------------------------------------- */

static void table_check(const struct conf_option *table, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		char key[KEY_MAX + 1];

		CONF_ASSERT(o->key && strlen(o->key) <= KEY_MAX);
		CONF_ASSERT(key_normalize(o->key, strlen(o->key), false, key));
		CONF_ASSERT(strcmp(key, o->key) == 0); /* lower-case */
		CONF_ASSERT(strcmp(o->key, "config") && strcmp(o->key, "help"));
		CONF_ASSERT(o->type >= CONF_STRING && o->type <= CONF_ENUM);
		CONF_ASSERT(o->type != CONF_ENUM ||
			    (o->choices && o->choices[0]));
		CONF_ASSERT(find_option(table, i, o->key) == NULL);
	}
}

/* Zero every field first, so that conf_free() is safe from here on. */
static void clear_fields(const struct conf_option *table, size_t n, void *out)
{
	for (size_t i = 0; i < n; i++) {
		void *f = field(out, &table[i]);
		switch (table[i].type) {
		case CONF_STRING:
			*(char **)f = NULL;
			break;
		case CONF_BOOL:
			*(bool *)f = false;
			break;
		case CONF_ENUM:
			*(int *)f = 0;
			break;
		default:
			*(int64_t *)f = 0;
			break;
		}
	}
}

static int apply_defaults(const struct conf_option *table, size_t n, void *out,
			  char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct where w = { "default value", 0 };
		if (table[i].def &&
		    set_value(&table[i], table[i].def, out, w, err, errlen))
			return CONF_ERROR;
	}
	return CONF_OK;
}

/* ---- the file ----------------------------------------------------------- */

struct conf_line {
	const char *key; /* into the line; NULL for a blank or comment line */
	size_t key_len;
	char *value; /* unescaped; NULL when the line has no value */
};

static bool at_end(const char *p)
{
	return *p == '\0' || *p == '#';
}

/* Copy the quoted string at *pp (on its opening quote) unescaped into out,
 * and leave *pp after the closing quote.  Both '' and \' are a quote, as in
 * PostgreSQL, because operators copy values between the two. */
static bool lex_quoted(const char **pp, char *out)
{
	const char *p = *pp + 1;

	for (;;) {
		char c = *p++;
		if (c == '\0')
			return false;
		if (c == '\'' && *p != '\'')
			break;
		if (c == '\'' || c == '\\') {
			if (*p == '\0')
				return false;
			c = c == '\\' ? conf_lex_unescape(*p) : '\'';
			p++;
		}
		*out++ = c;
	}
	*out = '\0';
	*pp = p;
	return true;
}

/* A bare value ends at whitespace, a comment or a quote. */
static void lex_bare(const char **pp, char *out)
{
	const char *p = *pp;

	while (*p && !is_space(*p) && *p != '#' && *p != '\'')
		*out++ = *p++;
	*out = '\0';
	*pp = p;
}

/* Split one line (no newline) into key and value; value_buf is as long as
 * the line, which no unescaped value can exceed. */
static int lex_line(const char *line, struct conf_line *cl, char *value_buf,
		    struct where w, char *err, size_t errlen)
{
	const char *p = skip_space(line), *k = p;

	cl->key = NULL;
	cl->value = NULL;
	if (at_end(p))
		return CONF_OK;
	while (*p && !is_space(*p) && *p != '=' && *p != '#' && *p != '\'')
		p++;
	if (p == k)
		return fail(err, errlen, w,
			    "syntax error: expected a "
			    "parameter name before \"%c\"",
			    *p);
	cl->key = k;
	cl->key_len = (size_t)(p - k);
	p = skip_space(p);
	if (*p == '=')
		p = skip_space(p + 1);
	if (at_end(p))
		return CONF_OK;
	if (*p != '\'')
		lex_bare(&p, value_buf);
	else if (!lex_quoted(&p, value_buf))
		return fail(err, errlen, w,
			    "unterminated quoted string in "
			    "the value of \"%.*s\"; close it with ' on the "
			    "same "
			    "line",
			    (int)cl->key_len, cl->key);
	cl->value = value_buf;
	p = skip_space(p);
	if (!at_end(p))
		return fail(err, errlen, w,
			    "syntax error: unexpected text "
			    "\"%.40s\" after the value of \"%.*s\"; quote "
			    "values "
			    "that contain spaces, quotes or '#': key = 'a b'",
			    p, (int)cl->key_len, cl->key);
	return CONF_OK;
}

static int unknown_key(const struct conf_option *table, size_t n,
		       const char *name, size_t len, struct where w, char *err,
		       size_t errlen)
{
	char low[KEY_MAX + 1];
	size_t l = 0;
	const char *hint;

	for (; l < len && l < KEY_MAX; l++)
		low[l] = to_lower(name[l]);
	low[l] = '\0';
	if (l >= 7 && memcmp(low, "include", 7) == 0 &&
	    !find_option(table, n, low))
		return fail(err, errlen, w,
			    "\"%s\" directives are not "
			    "supported; put the settings in this file",
			    low);
	hint = len <= KEY_MAX ? key_suggest(table, n, low) : NULL;
	if (hint)
		return fail(err, errlen, w,
			    "unrecognized configuration "
			    "parameter \"%.*s\" (did you mean \"%s\"?)",
			    (int)len, name, hint);
	return fail(err, errlen, w,
		    "unrecognized configuration parameter "
		    "\"%.*s\"; see --help for the known parameters",
		    (int)len, name);
}

/* The prefix option key belongs to, or NULL. */
static const struct conf_option *find_prefix(const struct conf_option *table,
					     size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].prefix && strlen(key) > strlen(table[i].key) &&
		    strncmp(key, table[i].key, strlen(table[i].key)) == 0)
			return &table[i];
	return NULL;
}

/* `key = 'value'` appended to a prefix option's string. */
static int append_prefixed(const struct conf_option *o, const char *key,
			   const char *value, void *out, struct where w,
			   char *err, size_t errlen)
{
	char **s = field(out, o);
	size_t old = *s ? strlen(*s) : 0,
	       add = strlen(key) + 2 * strlen(value) + 8;
	char *next = realloc(*s, old + add);
	if (!next)
		return fail(err, errlen, w, "out of memory");
	size_t at = old + (size_t)sprintf(next + old, "%s = '", key);
	for (const char *v = value; *v; v++) {
		if (*v == '\'' || *v == '\\')
			next[at++] = *v;
		next[at++] = *v;
	}
	strcpy(next + at, "'\n");
	*s = next;
	return CONF_OK;
}

static int load_line(const struct conf_option *table, size_t n, char *line,
		     size_t len, void *out, bool *seen, struct where w,
		     char *err, size_t errlen)
{
	struct conf_line cl;
	char key[KEY_MAX + 1], *value_buf;
	const struct conf_option *o = NULL;
	int rc;

	if (memchr(line, '\0', len))
		return fail(err, errlen, w,
			    "unexpected NUL byte; the "
			    "configuration file must be text");
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0'; /* CRLF files from other systems */
	if (!(value_buf = malloc(len + 1)))
		return fail(err, errlen, w, "out of memory");
	rc = lex_line(line, &cl, value_buf, w, err, errlen);
	if (rc == CONF_OK && cl.key) {
		if (key_normalize(cl.key, cl.key_len, false, key))
			o = find_option(table, n, key);
		const struct conf_option *pre = o ? NULL
						  : find_prefix(table, n, key);
		if (pre && cl.value)
			rc = append_prefixed(pre, key, cl.value, out, w, err,
					     errlen);
		else if (!o && !pre)
			rc = unknown_key(table, n, cl.key, cl.key_len, w, err,
					 errlen);
		else if (!cl.value)
			rc = fail(err, errlen, w,
				  "missing value for parameter "
				  "\"%s\"; write %s = VALUE",
				  o ? o->key : key, o ? o->key : key);
		else if ((rc = set_value(o, cl.value, out, w, err, errlen)) ==
			 CONF_OK)
			seen[o - table] = true;
	}
	free(value_buf);
	return rc;
}

static int load_file(const struct conf_option *table, size_t n,
		     const char *path, void *out, bool *seen, char *err,
		     size_t errlen)
{
	struct where w = { path, 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = CONF_OK;
	FILE *f = fopen(path, "r");

	if (!f)
		return fail(err, errlen, NOWHERE,
			    "could not open configuration "
			    "file \"%s\": %s",
			    path, strerror(errno));
	while (rc == CONF_OK && (len = getline(&line, &cap, f)) >= 0) {
		w.line++;
		rc = load_line(table, n, line, (size_t)len, out, seen, w, err,
			       errlen);
	}
	if (rc == CONF_OK && ferror(f)) /* e.g. EISDIR */
		rc = fail(err, errlen, NOWHERE,
			  "could not read configuration "
			  "file \"%s\": %s",
			  path, strerror(errno));
	free(line);
	fclose(f);
	return rc;
}

/* Text held elsewhere than in a file (a key in the witnesses): the same
 * lines, the same messages, "origin:line: " before them. */
int conf_parse_text(const struct conf_option *table, size_t n, const char *text,
		    size_t len, const char *origin, void *out, bool *seen,
		    char *err, size_t errlen)
{
	struct where w = { origin, 0 };
	int rc = CONF_OK;

	table_check(table, n);
	while (rc == CONF_OK && len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t l = nl ? (size_t)(nl - text) : len;
		char *line = malloc(l + 1);
		if (!line)
			return fail(err, errlen, NOWHERE, "out of memory");
		memcpy(line, text, l);
		line[l] = '\0';
		w.line++;
		rc = load_line(table, n, line, l, out, seen, w, err, errlen);
		free(line);
		text += nl ? l + 1 : l;
		len -= nl ? l + 1 : l;
	}
	return rc;
}

int conf_set_value(const struct conf_option *o, const char *text, void *out,
		   char *err, size_t errlen)
{
	return set_value(o, text, out, NOWHERE, err, errlen);
}

/* ---- the command line --------------------------------------------------- */

static const char *prog_name(int argc, char **argv)
{
	const char *slash;

	if (argc < 1 || !argv[0] || !argv[0][0])
		return "the program";
	slash = strrchr(argv[0], '/');
	return slash ? slash + 1 : argv[0];
}

static int unknown_flag(const struct conf_option *table, size_t n,
			const char *arg, size_t len, const char *prog,
			char *err, size_t errlen)
{
	char key[KEY_MAX + 1], flag[KEY_MAX + 1];
	const char *hint = NULL;

	if (len > 2 && strncmp(arg, "--", 2) == 0 &&
	    key_normalize(arg + 2, len - 2, true, key))
		hint = key_suggest(table, n, key);
	if (hint) {
		key_to_flag(hint, flag);
		return fail(err, errlen, NOWHERE,
			    "unrecognized option "
			    "\"%.*s\" (did you mean \"--%s\"?)",
			    (int)len, arg, flag);
	}
	return fail(err, errlen, NOWHERE,
		    "unrecognized argument \"%.*s\"; "
		    "try \"%s --help\" for the list of options",
		    (int)len, arg, prog);
}

/* The value of the flag at argv[*i] when not given as --key=value.  A
 * boolean takes the next word only if it is not an option, so that a bare
 * --flag means on; other types never take a word starting with "--", so
 * that a forgotten value is reported, not silently filled by the next flag. */
static const char *next_value(const struct conf_option *o, int argc,
			      char **argv, int *i)
{
	const char *next = *i + 1 < argc ? argv[*i + 1] : NULL;

	if (o && o->type == CONF_BOOL) {
		if (!next || next[0] == '-')
			return "on";
	} else if (!next || strncmp(next, "--", 2) == 0) {
		return NULL;
	}
	++*i;
	return next;
}

static int scan_flag(const struct conf_option *table, size_t n, int argc,
		     char **argv, int *i, struct flag_set *fs, char *err,
		     size_t errlen)
{
	const char *arg = argv[*i], *eq = strchr(arg, '='), *value;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct conf_option *o = NULL;
	char key[KEY_MAX + 1];
	union conf_value v;
	bool is_flag = len > 2 && strncmp(arg, "--", 2) == 0;

	if (is_flag && key_normalize(arg + 2, len - 2, true, key) &&
	    strcmp(key, "config") != 0 && !(o = find_option(table, n, key)))
		is_flag = false;
	if (!is_flag)
		return unknown_flag(table, n, arg, len, prog_name(argc, argv),
				    err, errlen);
	value = eq ? eq + 1 : next_value(o, argc, argv, i);
	if (!value)
		return fail(err, errlen, NOWHERE, "missing value for %.*s",
			    (int)len, arg);
	if (!o) {
		fs->config = value;
		return CONF_OK;
	}
	if (parse_value(o, value, &v, NOWHERE, err, errlen) != CONF_OK)
		return CONF_ERROR;
	fs->val[o - table] = value;
	return CONF_OK;
}

static int scan_args(const struct conf_option *table, size_t n, int argc,
		     char **argv, struct flag_set *fs, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return CONF_HELP;
		if (scan_flag(table, n, argc, argv, &i, fs, err, errlen))
			return CONF_ERROR;
	}
	return CONF_OK;
}

static int apply_flags(const struct conf_option *table, size_t n,
		       const struct flag_set *fs, void *out, char *err,
		       size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (fs->val[i] &&
		    set_value(&table[i], fs->val[i], out, NOWHERE, err, errlen))
			return CONF_ERROR;
	return CONF_OK;
}

static int check_required(const struct conf_option *table, size_t n,
			  const bool *seen, const struct flag_set *fs,
			  char *err, size_t errlen)
{
	char flag[KEY_MAX + 1];

	for (size_t i = 0; i < n; i++) {
		if (!table[i].required || seen[i] || fs->val[i])
			continue;
		key_to_flag(table[i].key, flag);
		return fail(err, errlen, NOWHERE,
			    "parameter \"%s\" is required: "
			    "set %s in the configuration file or pass --%s",
			    table[i].key, table[i].key, flag);
	}
	return CONF_OK;
}

int conf_parse_args(const struct conf_option *table, size_t n, int argc,
		    char **argv, void *out, char *err, size_t errlen)
{
	struct flag_set fs = { NULL, NULL };
	bool *seen;
	int rc;

	table_check(table, n);
	clear_fields(table, n, out);
	fs.val = calloc(n + 1, sizeof(*fs.val));
	seen = calloc(n + 1, sizeof(*seen)); /* set by the file */
	if (!fs.val || !seen)
		rc = fail(err, errlen, NOWHERE, "out of memory");
	else
		rc = apply_defaults(table, n, out, err, errlen);
	if (rc == CONF_OK)
		rc = scan_args(table, n, argc, argv, &fs, err, errlen);
	if (rc == CONF_OK && fs.config)
		rc = load_file(table, n, fs.config, out, seen, err, errlen);
	if (rc == CONF_OK)
		rc = apply_flags(table, n, &fs, out, err, errlen);
	if (rc == CONF_OK)
		rc = check_required(table, n, seen, &fs, err, errlen);
	if (rc == CONF_ERROR)
		conf_free(table, n, out);
	free(fs.val);
	free(seen);
	return rc;
}

/* ---- output ------------------------------------------------------------- */

/* The --help placeholder: the table's, else one that shows the syntax. */
static void help_arg(const struct conf_option *o, char *buf, size_t len)
{
	static const char *const by_type[] = {
		[CONF_STRING] = "STRING", [CONF_INT] = "INT",
		[CONF_BOOL] = "[on|off]", [CONF_DURATION_MS] = "DURATION",
		[CONF_SIZE] = "SIZE",
	};
	size_t used = 0;

	if (o->arg || o->type != CONF_ENUM) {
		snprintf(buf, len, "%s", o->arg ? o->arg : by_type[o->type]);
		return;
	}
	buf[0] = '\0';
	for (int i = 0; o->choices[i] && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i ? "|" : "", o->choices[i]);
}

static void help_left(const struct conf_option *o, char *buf, size_t len)
{
	char flag[KEY_MAX + 1], arg[128];

	if (o->prefix) { /* file lines only, no flag */
		snprintf(buf, len, "%sNAME = VALUE", o->key);
		return;
	}
	key_to_flag(o->key, flag);
	help_arg(o, arg, sizeof arg);
	snprintf(buf, len, "--%s %s", flag, arg);
}

void conf_print_help(FILE *f, const struct conf_option *table, size_t n)
{
	static const char config_left[] = "--config FILE",
			  help_left_s[] = "--help";
	char left[256];
	int width = (int)strlen(config_left);

	for (size_t i = 0; i < n; i++) {
		help_left(&table[i], left, sizeof left);
		if ((int)strlen(left) > width)
			width = (int)strlen(left);
	}
	fprintf(f,
		"  %-*s  read settings from FILE (postgresql.conf syntax); "
		"flags override it\n",
		width, config_left);
	fprintf(f, "  %-*s  show this help, then exit\n", width, help_left_s);
	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		help_left(o, left, sizeof left);
		fprintf(f, "  %-*s  %s", width, left, o->help ? o->help : "");
		if (o->required)
			fprintf(f, " (required)");
		else if (o->def && o->def[0])
			fprintf(f, " (default %s)", o->def);
		fputc('\n', f);
	}
}

/* Quote s so that the file parser reads back exactly s. */
static void print_quoted(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		switch (*s) {
		case '\'':
			fputs("''", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			fputc(*s, f);
			break;
		}
	}
	fputc('\'', f);
}

static void print_value(FILE *f, const struct conf_option *o, const void *out)
{
	const void *p = (const char *)out + o->offset;
	char buf[32];

	switch (o->type) {
	case CONF_STRING:
		print_quoted(f, *(char *const *)p);
		break;
	case CONF_BOOL:
		fputs(*(const bool *)p ? "on" : "off", f);
		break;
	case CONF_ENUM: {
		int e = *(const int *)p, i = 0;
		while (o->choices[i] && i < e)
			i++;
		fputs(e >= 0 && o->choices[i] ? o->choices[i] : "?", f);
		break;
	}
	default:
		format_number(o, *(const int64_t *)p, buf, sizeof buf);
		fputs(buf, f);
		break;
	}
}

bool conf_format_value(const struct conf_option *o, const void *out, char *buf,
		       size_t len)
{
	FILE *f = len ? fmemopen(buf, len, "w") : NULL;
	if (!f)
		return false;
	print_value(f, o, out);
	bool ok = !ferror(f) && ftell(f) < (long)len;
	fclose(f);
	return ok;
}

void conf_print_values(FILE *f, const struct conf_option *table, size_t n,
		       const void *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct conf_option *o = &table[i];
		const char *str = o->type == CONF_STRING
					  ? *(char *const *)((const char *)out +
							     o->offset)
					  : NULL;
		if (o->type == CONF_STRING && !str) {
			fprintf(f, "# %s is not set\n", o->key);
			continue;
		}
		if (o->prefix) {
			fputs(str, f);
			continue;
		}
		fprintf(f, "%s = ", o->key);
		print_value(f, o, out);
		fputc('\n', f);
	}
}

void conf_free(const struct conf_option *table, size_t n, void *out)
{
	for (size_t i = 0; i < n; i++) {
		if (table[i].type != CONF_STRING)
			continue;
		char **s = field(out, &table[i]);
		free(*s);
		*s = NULL;
	}
}

char *conf_read_secret(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot read the secret file %s: %s",
			 path, strerror(errno));
		return NULL;
	}
	char buf[512];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		snprintf(err, errlen,
			 "the secret file %s is empty: put the "
			 "secret on its first line",
			 path);
		return NULL;
	}
	return strdup(buf);
}

bool conf_take_switch(int *argc, char **argv, const char *sw)
{
	bool found = false;
	int kept = 1;

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], sw) == 0)
			found = true;
		else
			argv[kept++] = argv[i];
	}
	if (*argc > 0) {
		argv[kept] = NULL;
		*argc = kept;
	}
	return found;
}
