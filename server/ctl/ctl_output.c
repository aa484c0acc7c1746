/*
 * ctl_output.c — tenurectl's two output formats: aligned tables for
 * people, compact JSON for scripts.
 *
 * Keys and values are arbitrary bytes; JSON must be valid UTF-8.  Valid
 * UTF-8 passes through, control characters are escaped, and a byte that
 * is not part of a valid sequence becomes U+FFFD: the document stays
 * parseable, and the table format still shows the raw bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "fencing/flatjson.h"
#include "server/ctl/ctl.h"

/* ---- JSON --------------------------------------------------------------- */

void ctl_json_init(struct ctl_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

/* Before any value: the comma between siblings (not after a key). */
static void value_start(struct ctl_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->comma[j->depth])
		fputc(',', j->f);
	j->comma[j->depth] = true;
}

static void open_(struct ctl_json *j, char ch)
{
	value_start(j);
	fputc(ch, j->f);
	if (j->depth + 1 < CTL_JSON_DEPTH)
		j->depth++;
	j->comma[j->depth] = false;
	j->kind[j->depth] = ch;
}

void ctl_json_object(struct ctl_json *j)
{
	open_(j, '{');
}

void ctl_json_list(struct ctl_json *j)
{
	open_(j, '[');
}

/* Closes what was opened last; a document ends with a newline, so that
 * watches print one object per line. */
void ctl_json_end(struct ctl_json *j)
{
	fputc(j->kind[j->depth] == '[' ? ']' : '}', j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0) {
		fputc('\n', j->f);
		j->comma[0] = false; /* the next document starts afresh */
	}
}

static void escape_byte(FILE *f, unsigned char ch)
{
	switch (ch) {
	case '"': fputs("\\\"", f); break;
	case '\\': fputs("\\\\", f); break;
	case '\n': fputs("\\n", f); break;
	case '\r': fputs("\\r", f); break;
	case '\t': fputs("\\t", f); break;
	case '\b': fputs("\\b", f); break;
	case '\f': fputs("\\f", f); break;
	default:
		if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
}

void ctl_json_str(struct ctl_json *j, const char *p, size_t len)
{
	const unsigned char *s = (const unsigned char *)p;
	value_start(j);
	fputc('"', j->f);
	for (size_t i = 0; i < len;) {
		size_t n = flatjson_utf8_len(s + i, len - i);
		if (n == 0) {
			fputs("\\ufffd", j->f);
			i++;
		} else if (n == 1) {
			escape_byte(j->f, s[i++]);
		} else {
			fwrite(s + i, 1, n, j->f);
			i += n;
		}
	}
	fputc('"', j->f);
}

void ctl_json_key(struct ctl_json *j, const char *key)
{
	ctl_json_str(j, key, strlen(key));
	fputc(':', j->f);
	j->after_key = true;
}

void ctl_json_cstr(struct ctl_json *j, struct client_str s)
{
	ctl_json_str(j, s.p, s.len);
}

void ctl_json_cstr_or_null(struct ctl_json *j, struct client_str s)
{
	if (s.len)
		ctl_json_str(j, s.p, s.len);
	else
		ctl_json_null(j);
}

void ctl_json_u64(struct ctl_json *j, uint64_t v)
{
	value_start(j);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void ctl_json_double(struct ctl_json *j, double v)
{
	value_start(j);
	fprintf(j->f, "%.3f", v);
}

void ctl_json_bool(struct ctl_json *j, bool v)
{
	value_start(j);
	fputs(v ? "true" : "false", j->f);
}

void ctl_json_null(struct ctl_json *j)
{
	value_start(j);
	fputs("null", j->f);
}

/* ---- tables ------------------------------------------------------------- */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		fprintf(stderr, CTL_PROG ": out of memory\n");
		exit(CTL_EXIT_ERROR);
	}
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xrealloc(NULL, n), s, n);
}

void ctl_table_init(struct ctl_table *t, size_t cols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	ctl_table_row(t, head);
}

void ctl_table_row(struct ctl_table *t, const char *const *cells)
{
	if (t->rows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = xrealloc(t->cells, t->cap * t->cols * sizeof(char *));
	}
	for (size_t i = 0; i < t->cols; i++)
		t->cells[t->rows * t->cols + i] = xstrdup(cells[i]);
	t->rows++;
}

/* Control characters would break the alignment (or the terminal). */
static void print_cell(FILE *f, const char *s, size_t width, bool last)
{
	size_t n = 0;
	for (; *s; s++, n++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
	if (last)
		return;
	for (; n < width + 2; n++)
		fputc(' ', f);
}

void ctl_table_print(struct ctl_table *t, FILE *f)
{
	size_t *w = xrealloc(NULL, t->cols * sizeof(*w));
	for (size_t c = 0; c < t->cols; c++) {
		w[c] = 0;
		for (size_t r = 0; r < t->rows; r++) {
			size_t len = strlen(t->cells[r * t->cols + c]);
			if (len > w[c])
				w[c] = len;
		}
	}
	for (size_t r = 0; r < t->rows; r++) {
		for (size_t c = 0; c < t->cols; c++)
			print_cell(f, t->cells[r * t->cols + c], w[c],
				   c + 1 == t->cols);
		fputc('\n', f);
	}
	free(w);
}

void ctl_table_free(struct ctl_table *t)
{
	for (size_t i = 0; i < t->rows * t->cols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

char *ctl_cell(struct client_str s)
{
	if (!s.len)
		return xstrdup("-");
	char *p = xrealloc(NULL, s.len + 1);
	memcpy(p, s.p, s.len);
	p[s.len] = '\0';
	/* an embedded NUL would cut the cell short: show it as '?' */
	for (size_t i = 0; i < s.len; i++)
		if (!p[i])
			p[i] = '?';
	return p;
}

char *ctl_cell_u64(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return xstrdup(buf);
}

/* ---- leases and keys ---------------------------------------------------- */

static void lease_fields(struct ctl_json *j, const struct client_lease *l)
{
	ctl_json_key(j, "name");
	ctl_json_cstr(j, l->name);
	ctl_json_key(j, "holder");
	ctl_json_cstr_or_null(j, l->holder);
	ctl_json_key(j, "token");
	ctl_json_u64(j, l->token);
	ctl_json_key(j, "ttl_ms");
	ctl_json_u64(j, l->ttl_ms);
	ctl_json_key(j, "remaining_ms");
	ctl_json_u64(j, l->remaining_ms);
}

void ctl_json_lease(struct ctl_json *j, const struct client_lease *l)
{
	ctl_json_object(j);
	lease_fields(j, l);
	ctl_json_end(j);
}

static void kv_fields(struct ctl_json *j, const struct client_kv *kv)
{
	ctl_json_key(j, "key");
	ctl_json_cstr(j, kv->key);
	ctl_json_key(j, "value");
	ctl_json_cstr(j, kv->value);
	ctl_json_key(j, "lease");
	ctl_json_cstr_or_null(j, kv->lease);
	ctl_json_key(j, "create_revision");
	ctl_json_u64(j, kv->create_revision);
	ctl_json_key(j, "mod_revision");
	ctl_json_u64(j, kv->mod_revision);
}

void ctl_json_kv(struct ctl_json *j, const struct client_kv *kv)
{
	ctl_json_object(j);
	kv_fields(j, kv);
	ctl_json_end(j);
}

static const char *const lease_head[] = {"NAME", "HOLDER", "TOKEN", "TTL_MS",
					 "REMAINING_MS"};

static void lease_row(struct ctl_table *t, const struct client_lease *l)
{
	char *cells[5] = {ctl_cell(l->name), ctl_cell(l->holder),
			  ctl_cell_u64(l->token), ctl_cell_u64(l->ttl_ms),
			  ctl_cell_u64(l->remaining_ms)};
	ctl_table_row(t, (const char *const *)cells);
	for (size_t i = 0; i < 5; i++)
		free(cells[i]);
}

void ctl_print_leases(const struct ctl *c, const struct client_lease *l,
		      size_t n)
{
	if (c->format == CTL_JSON) {
		struct ctl_json j;
		ctl_json_init(&j, stdout);
		ctl_json_list(&j);
		for (size_t i = 0; i < n; i++)
			ctl_json_lease(&j, &l[i]);
		ctl_json_end(&j);
		return;
	}
	struct ctl_table t;
	ctl_table_init(&t, 5, lease_head);
	for (size_t i = 0; i < n; i++)
		lease_row(&t, &l[i]);
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}

void ctl_print_lease_outcome(const struct ctl *c, const struct client_lease *l,
			     const char *flag, bool ok)
{
	if (c->format == CTL_JSON) {
		struct ctl_json j;
		ctl_json_init(&j, stdout);
		ctl_json_object(&j);
		lease_fields(&j, l);
		if (flag) {
			ctl_json_key(&j, flag);
			ctl_json_bool(&j, ok);
		}
		ctl_json_end(&j);
		return;
	}
	struct ctl_table t;
	ctl_table_init(&t, 5, lease_head);
	lease_row(&t, l);
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}

/* In a table of several keys a long value (a drill's result is a few KB
 * of JSON) would make every row that wide: show its start and "...", cut
 * where no UTF-8 character is split.  `get KEY` and -o json show it whole. */
#define CTL_LIST_VALUE_MAX 60

char *ctl_cell_value(struct client_str v, bool shorten)
{
	if (!shorten || v.len <= CTL_LIST_VALUE_MAX)
		return ctl_cell(v);
	size_t cut = CTL_LIST_VALUE_MAX - 3;
	while (cut > 0 && ((unsigned char)v.p[cut] & 0xC0) == 0x80)
		cut--;
	char *start = ctl_cell((struct client_str){.p = v.p, .len = cut});
	char *p = xrealloc(start, cut + 4);
	memcpy(p + cut, "...", 4);
	return p;
}

void ctl_print_kvs(const struct ctl *c, const struct client_kv *kv, size_t n)
{
	static const char *const head[] = {"KEY", "VALUE", "LEASE",
					   "CREATE_REVISION", "MOD_REVISION"};
	if (c->format == CTL_JSON) {
		struct ctl_json j;
		ctl_json_init(&j, stdout);
		ctl_json_list(&j);
		for (size_t i = 0; i < n; i++)
			ctl_json_kv(&j, &kv[i]);
		ctl_json_end(&j);
		return;
	}
	struct ctl_table t;
	ctl_table_init(&t, 5, head);
	for (size_t i = 0; i < n; i++) {
		char *cells[5] = {ctl_cell(kv[i].key),
				  ctl_cell_value(kv[i].value, n > 1),
				  ctl_cell(kv[i].lease),
				  ctl_cell_u64(kv[i].create_revision),
				  ctl_cell_u64(kv[i].mod_revision)};
		ctl_table_row(&t, (const char *const *)cells);
		for (size_t k = 0; k < 5; k++)
			free(cells[k]);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}
