/*
 * conf.h — settings for tenure's daemons, from a postgresql.conf-style file
 * and from command-line flags with the same names.
 *
 * Contract
 * --------
 * The caller describes its settings once, as a table of struct conf_option,
 * and gets them parsed into its own struct.  conf_parse_args() applies, in
 * this order (later wins):
 *
 *   1. the defaults from the table;
 *   2. the file named by --config FILE (wherever it appears on the line);
 *   3. every other flag: --key value or --key=value, '-' and '_' alike.
 *
 * A value never starts with "--" unless given as --key=value, so a
 * forgotten value is reported instead of swallowing the next flag.  A
 * boolean flag takes the next word only if it does not start with '-', so
 * a bare --flag means on.  There are no positional arguments.  --help or
 * -h stops the scan and returns CONF_HELP.
 *
 * The file syntax is PostgreSQL's: `key = value` per line, the '=' optional,
 * '#' starts a comment outside quotes, keys are case-insensitive, values are
 * bare words/numbers or single-quoted strings ('' or \' for a quote, \\,
 * \n, \t, \r, \b, \f).  A key given twice, in the file or on the command
 * line (--config too), takes its last value.  "include" directives are not
 * supported.
 *
 * Field types in the output struct, by option type:
 *
 *   CONF_STRING       char *    malloc'ed copy (NULL when unset, no default)
 *   CONF_INT          int64_t
 *   CONF_BOOL         bool      on/off true/false yes/no 1/0; bare --flag = on
 *   CONF_DURATION_MS  int64_t   milliseconds; units ms s min h d ("1500ms", "2s")
 *   CONF_SIZE         int64_t   bytes; units B kB MB GB TB (1kB = 1024 B)
 *   CONF_ENUM         int       index of the value in choices[]
 *
 * As in PostgreSQL, a number without a unit is in the base unit (ms, bytes)
 * and unit names are case-sensitive.
 *
 * Errors: CONF_ERROR (-1) with one line of text in err (prefixed
 * "file:line: " when they come from the file), worded for an operator: what
 * is wrong and what to do.  The module never prints on its own except in
 * conf_print_*, never exits, and holds no global state.
 *
 * Memory: on CONF_OK and CONF_HELP the output struct owns its strings and
 * must be released with conf_free().  On CONF_ERROR nothing is left to free
 * (conf_free() is still harmless).  The output struct needs no initialising.
 */
#ifndef TENURE_COMMON_CONF_H
#define TENURE_COMMON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conf_type {
	CONF_STRING = 1,
	CONF_INT,
	CONF_BOOL,
	CONF_DURATION_MS,
	CONF_SIZE,
	CONF_ENUM,
};

struct conf_option {
	const char *key; /* lower-case [a-z0-9_.]; not "config" or "help" */
	enum conf_type type;
	const char *def; /* default, written as in the file; NULL = zero/NULL */
	int64_t min, max; /* INT, DURATION_MS, SIZE; both 0 = no limit */
	const char *help; /* one line, for --help and the README */
	bool required;    /* must be set by the file or a flag */
	size_t offset;    /* offsetof(caller's struct, field) */
	const char *const
		*choices; /* CONF_ENUM: NULL-terminated allowed words */
	const char *arg;  /* --help placeholder ("DIR"); NULL = by type */
	/* CONF_STRING only: key (ending in '.') is a prefix, in the file
	 * only: every line whose key starts with it is appended to the
	 * string as a `key = 'value'` line, for the caller to parse. */
	bool prefix;
};

enum conf_result {
	CONF_ERROR = -1,
	CONF_OK = 0,
	CONF_HELP =
		1, /* --help or -h was given: print conf_print_help(), exit 0 */
};

/* Fill *out from argv (argv[0] is the program name) and the --config file.
 * Returns a conf_result; on CONF_ERROR err holds the message. */
int conf_parse_args(const struct conf_option *table, size_t n, int argc,
		    char **argv, void *out, char *err, size_t errlen);

/* An aligned list of "--key VALUE   help (default X)", --config and --help
 * first. */
void conf_print_help(FILE *f, const struct conf_option *table, size_t n);

/* Every setting as a `key = value` line that conf_parse_args() reads back
 * (strings quoted, durations and sizes with their largest exact unit);
 * unset strings appear as a comment. */
void conf_print_values(FILE *f, const struct conf_option *table, size_t n,
		       const void *out);

/* Lines of the file syntax held in memory (len bytes, not NUL-terminated;
 * e.g. a key in the witnesses), applied on top of *out as the file would
 * be: no defaults, no required check, no field cleared first (zero *out
 * yourself the first time).  seen[i] is set for each table[i] given.
 * Errors as for the file, with "origin:line: " before them. */
int conf_parse_text(const struct conf_option *table, size_t n, const char *text,
		    size_t len, const char *origin, void *out, bool *seen,
		    char *err, size_t errlen);

/* One value of option o (as text in the file syntax, unquoted) into *out,
 * checked as any other: CONF_OK or CONF_ERROR with the message in err. */
int conf_set_value(const struct conf_option *o, const char *text, void *out,
		   char *err, size_t errlen);

/* o's value in *out as conf_print_values writes it ("2s", "1MB", "on"),
 * NUL-terminated in buf; false if it does not fit. */
bool conf_format_value(const struct conf_option *o, const void *out, char *buf,
		       size_t len);

/* The first line of a secret file (peer_token_file, the agent's
 * witness_secret_file, tenurectl's --secret-file), malloc'ed; NULL with
 * a message in err when it cannot be read or the line is empty. */
char *conf_read_secret(const char *path, char *err, size_t errlen);

/* Free the strings in *out and set them to NULL. */
void conf_free(const struct conf_option *table, size_t n, void *out);

/* Remove every exact occurrence of a command-line-only switch (such as
 * "--check-config") from argv, before conf_parse_args() sees it; true if
 * there was one.  Such a switch has no value and no place in the file. */
bool conf_take_switch(int *argc, char **argv, const char *sw);

#endif
