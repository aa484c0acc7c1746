/*
 * conf_lex.h — one `key = value # comment` line of the file syntax of
 * common/conf.h, bounded by a length (a line inside a larger text:
 * SCOPE/config, an agent's file), for the parsers of the lines conf.c
 * does not take itself: fencing/pg_params.c (pg.NAME, pg_hba) and
 * fencing/replica_conf.c, bootstrap_conf.c and standby_cluster.c (their
 * SCOPE/config keys).  One
 * lexer, so that every line of one text follows one syntax.
 *
 * Contract
 * --------
 * A line is: blanks, a key of [A-Za-z0-9_.], blanks, an optional '=',
 * blanks, an optional value, blanks, an optional '#' comment.  A value
 * is bare (up to the next blank or '#') or single-quoted, where '' and
 * \' are a quote and \\ \n \t \r \b \f the usual characters (any other
 * backslashed character stands for itself), as in postgresql.conf.  Two
 * consequences an operator meets, settled on purpose:
 *   - a backslash inside quotes escapes: a command line that needs one
 *     writes \\ (the formatters of these lines double it);
 *   - a value with blanks must be quoted: `key = a, b` is refused with
 *     that hint, as conf.c refuses it.
 * The key is handed back as typed; keys are case-insensitive
 * (conf_lex_key_is), as conf.h's.  ASCII only: a line never changes
 * meaning with the locale.
 *
 * Errors: 0, or -1 with one line in err: no key before other text, a
 * quote left open, text after the value, a value longer than its buffer.
 */
#ifndef TENURE_COMMON_CONF_LEX_H
#define TENURE_COMMON_CONF_LEX_H

#include <stdbool.h>
#include <stddef.h>

struct conf_lexed {
	const char *key; /* into the line */
	size_t key_len;  /* 0: a blank or comment line */
	bool has_value;  /* false: the key alone, or "key =" */
};

/* line[0..len) into *l, the value unescaped and NUL-terminated into
 * value (cap bytes; "" when there is none). */
int conf_lex(const char *line, size_t len, struct conf_lexed *l, char *value,
	     size_t cap, char *err, size_t errlen);

/* What a backslash followed by e stands for in a quoted value (conf.c's
 * lexer too). */
char conf_lex_unescape(char e);

/* The key is k, ignoring ASCII case. */
bool conf_lex_key_is(const struct conf_lexed *l, const char *k);

/* For a parser of a few named keys (names[0..n)): line[0..end) lexed,
 * its value into value.  The key's index; -1 when the line is not one of
 * these keys (left to the other parsers, even one they will refuse); -2
 * when it is one of them and cannot be read (err says why). */
int conf_lex_named(const char *line, const char *end, const char *const *names,
		   int n, char *value, size_t cap, char *err, size_t errlen);
/* `key = 'value'` and a newline appended at buf+*len, the value quoted so
 * that conf_lex reads it back as it is ('' for a quote, \\ for a
 * backslash); false when it does not fit. */
bool conf_lex_put_quoted(char *buf, size_t cap, size_t *len, const char *key,
			 const char *value);

#endif /* TENURE_COMMON_CONF_LEX_H */
