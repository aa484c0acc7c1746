/*
 * ctl_output.c — tenurectl's two output formats: aligned tables for
 * people, compact JSON for scripts (common/json.h).
 *
 * Keys and values are arbitrary bytes; JSON must be valid UTF-8.  Valid
 * UTF-8 passes through, control characters are escaped, and a byte that
 * is not part of a valid sequence becomes U+FFFD (common/json.h without
 * JSON_KEEP_BYTES): the document stays parseable, and the table format
 * still shows the raw bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "ctl/ctl.h"
#include "ctl/ctl_kv.h"

/* ---- JSON --------------------------------------------------------------- */

void ctl_json_cstr(struct json *j, struct client_str s)
{
	json_str(j, s.p, s.len);
}

void ctl_json_cstr_or_null(struct json *j, struct client_str s)
{
	if (s.len)
		json_str(j, s.p, s.len);
	else
		json_null(j);
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
		t->cells = xrealloc(t->cells,
				    t->cap * t->cols * sizeof(char *));
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

static void lease_fields(struct json *j, const struct client_lease *l)
{
	json_key(j, "name");
	ctl_json_cstr(j, l->name);
	json_key(j, "holder");
	ctl_json_cstr_or_null(j, l->holder);
	json_key(j, "token");
	json_u64(j, l->token);
	json_key(j, "ttl_ms");
	json_u64(j, l->ttl_ms);
	json_key(j, "remaining_ms");
	json_u64(j, l->remaining_ms);
}

void ctl_json_lease(struct json *j, const struct client_lease *l)
{
	json_object(j);
	lease_fields(j, l);
	json_end(j);
}

static void kv_fields(struct json *j, const struct client_kv *kv)
{
	json_key(j, "key");
	ctl_json_cstr(j, kv->key);
	json_key(j, "value");
	ctl_json_cstr(j, kv->value);
	json_key(j, "lease");
	ctl_json_cstr_or_null(j, kv->lease);
	json_key(j, "create_revision");
	json_u64(j, kv->create_revision);
	json_key(j, "mod_revision");
	json_u64(j, kv->mod_revision);
}

void ctl_json_kv(struct json *j, const struct client_kv *kv)
{
	json_object(j);
	kv_fields(j, kv);
	json_end(j);
}

static const char *const lease_head[] = { "NAME", "HOLDER", "TOKEN", "TTL_MS",
					  "REMAINING_MS" };

static void lease_row(struct ctl_table *t, const struct client_lease *l)
{
	char *cells[5] = { ctl_cell(l->name), ctl_cell(l->holder),
			   ctl_cell_u64(l->token), ctl_cell_u64(l->ttl_ms),
			   ctl_cell_u64(l->remaining_ms) };
	ctl_table_row(t, (const char *const *)cells);
	for (size_t i = 0; i < 5; i++)
		free(cells[i]);
}

void ctl_print_leases(const struct ctl *c, const struct client_lease *l,
		      size_t n)
{
	if (c->format == CTL_JSON) {
		struct json j;
		json_init_file(&j, stdout, 0);
		json_list(&j);
		for (size_t i = 0; i < n; i++)
			ctl_json_lease(&j, &l[i]);
		json_end(&j);
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
		struct json j;
		json_init_file(&j, stdout, 0);
		json_object(&j);
		lease_fields(&j, l);
		if (flag) {
			json_key(&j, flag);
			json_bool(&j, ok);
		}
		json_end(&j);
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
	char *start = ctl_cell((struct client_str){ .p = v.p, .len = cut });
	char *p = xrealloc(start, cut + 4);
	memcpy(p + cut, "...", 4);
	return p;
}

void ctl_print_kvs(const struct ctl *c, const struct client_kv *kv, size_t n)
{
	static const char *const head[] = { "KEY", "VALUE", "LEASE",
					    "CREATE_REVISION", "MOD_REVISION" };
	if (c->format == CTL_JSON) {
		struct json j;
		json_init_file(&j, stdout, 0);
		json_list(&j);
		for (size_t i = 0; i < n; i++)
			ctl_json_kv(&j, &kv[i]);
		json_end(&j);
		return;
	}
	struct ctl_table t;
	ctl_table_init(&t, 5, head);
	for (size_t i = 0; i < n; i++) {
		char *cells[5] = { ctl_cell(kv[i].key),
				   ctl_cell_value(kv[i].value, n > 1),
				   ctl_cell(kv[i].lease),
				   ctl_cell_u64(kv[i].create_revision),
				   ctl_cell_u64(kv[i].mod_revision) };
		ctl_table_row(&t, (const char *const *)cells);
		for (size_t k = 0; k < 5; k++)
			free(cells[k]);
	}
	ctl_table_print(&t, stdout);
	ctl_table_free(&t);
}
