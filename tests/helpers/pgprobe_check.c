/* pgprobe_check.c — spans, overlaps, gaps and lost commits of a probe log
 * (contract in pgprobe_check.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/pgprobe_check.h"

static const char *const result_names[] = {
	[PGPROBE_OK] = "ok",
	[PGPROBE_ERR] = "err",
	[PGPROBE_TIMEOUT] = "timeout",
};

const char *pgprobe_result_name(enum pgprobe_result r)
{
	return result_names[r];
}

void pgprobe_history_init(struct pgprobe_history *h)
{
	memset(h, 0, sizeof(*h));
}

void pgprobe_history_free(struct pgprobe_history *h)
{
	for (size_t i = 0; i < h->n_nodes; i++)
		free(h->nodes[i]);
	free(h->nodes);
	free(h->at);
	pgprobe_history_init(h);
}

bool pgprobe_node_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= PGPROBE_NODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' ||
			  c == '-';
		if (!ok)
			return false;
	}
	return true;
}

int pgprobe_node_index(const struct pgprobe_history *h, const char *name)
{
	for (size_t i = 0; i < h->n_nodes; i++)
		if (strcmp(h->nodes[i], name) == 0)
			return (int)i;
	return -1;
}

static int node_intern(struct pgprobe_history *h, const char *name)
{
	int idx = pgprobe_node_index(h, name);
	if (idx >= 0)
		return idx;
	char **nodes = realloc(h->nodes, (h->n_nodes + 1) * sizeof(*nodes));
	if (!nodes)
		return -1;
	h->nodes = nodes;
	nodes[h->n_nodes] = strdup(name);
	if (!nodes[h->n_nodes])
		return -1;
	return (int)h->n_nodes++;
}

int pgprobe_history_add(struct pgprobe_history *h, const char *node,
			int64_t seq, int64_t send_us, int64_t ack_us,
			enum pgprobe_result result)
{
	if (!pgprobe_node_valid(node)) {
		errno = EINVAL;
		return -1;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		struct pgprobe_attempt *at = realloc(h->at, cap * sizeof(*at));
		if (!at)
			return -1;
		h->at = at;
		h->cap = cap;
	}
	int idx = node_intern(h, node);
	if (idx < 0)
		return -1;
	h->at[h->n++] = (struct pgprobe_attempt){
		.node = idx,
		.seq = seq,
		.send_us = send_us,
		.ack_us = ack_us,
		.result = result,
	};
	h->sorted = false;
	return 0;
}

static int parse_result(const char *word, enum pgprobe_result *r)
{
	for (size_t i = 0; i < sizeof(result_names) / sizeof(*result_names);
	     i++) {
		if (strcmp(word, result_names[i]) == 0) {
			*r = (enum pgprobe_result)i;
			return 0;
		}
	}
	return -1;
}

int pgprobe_parse_line(struct pgprobe_history *h, const char *line, char *err,
		       size_t errlen)
{
	const char *p = line + strspn(line, " \t\r\n");
	if (*p == '\0' || *p == '#')
		return 1;
	char node[PGPROBE_NODE_MAX + 1], word[16];
	int64_t seq, send_us, ack_us;
	int end = 0;
	/* %64s: one more than a valid name holds, so a long one is caught */
	if (sscanf(p, "%64s %" SCNd64 " %" SCNd64 " %" SCNd64 " %15s%n", node,
		   &seq, &send_us, &ack_us, word, &end) != 5 ||
	    p[end + strspn(p + end, " \t\r\n")] != '\0') {
		snprintf(err, errlen,
			 "expected \"node seq send_us ack_us result\"");
		return -1;
	}
	enum pgprobe_result r;
	if (!pgprobe_node_valid(node)) {
		snprintf(err, errlen, "bad node name \"%s\"", node);
		return -1;
	}
	if (parse_result(word, &r) != 0) {
		snprintf(err, errlen, "result \"%s\" is not ok, err or timeout",
			 word);
		return -1;
	}
	if (ack_us < send_us) {
		snprintf(err, errlen,
			 "ack_us %" PRId64 " before send_us %" PRId64, ack_us,
			 send_us);
		return -1;
	}
	if (pgprobe_history_add(h, node, seq, send_us, ack_us, r) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static int cmp_attempt(const void *pa, const void *pb)
{
	const struct pgprobe_attempt *a = pa, *b = pb;
	if (a->node != b->node)
		return a->node - b->node;
	return cmp_i64(a->seq, b->seq);
}

static void history_sort(struct pgprobe_history *h)
{
	if (!h->sorted && h->n > 0)
		qsort(h->at, h->n, sizeof(*h->at), cmp_attempt);
	h->sorted = true;
}

static int span_push(struct pgprobe_report *r, size_t *cap,
		     const struct pgprobe_span *s)
{
	if (r->n_spans == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct pgprobe_span *sp = realloc(r->spans, ncap * sizeof(*sp));
		if (!sp)
			return -1;
		r->spans = sp;
		*cap = ncap;
	}
	r->spans[r->n_spans++] = *s;
	return 0;
}

/* One pass over the sorted attempts: counts, log bounds and spans. */
static int build_spans(const struct pgprobe_history *h,
		       struct pgprobe_report *r)
{
	size_t cap = 0;
	struct pgprobe_span cur;
	bool open = false;
	for (size_t i = 0; i < h->n; i++) {
		const struct pgprobe_attempt *a = &h->at[i];
		if (i == 0 || a->send_us < r->first_us)
			r->first_us = a->send_us;
		if (i == 0 || a->ack_us > r->last_us)
			r->last_us = a->ack_us;
		if (open && (a->node != cur.node || a->result != PGPROBE_OK)) {
			if (span_push(r, &cap, &cur) != 0)
				return -1;
			open = false;
		}
		r->errors += a->result == PGPROBE_ERR;
		r->timeouts += a->result == PGPROBE_TIMEOUT;
		if (a->result != PGPROBE_OK)
			continue;
		r->acked++;
		if (!open) {
			cur = (struct pgprobe_span){
				.node = a->node,
				.start_us = a->send_us,
				.first_seq = a->seq,
			};
			open = true;
		}
		cur.end_us = a->ack_us;
		cur.last_seq = a->seq;
		cur.oks++;
	}
	return open ? span_push(r, &cap, &cur) : 0;
}

static int find_overlaps(struct pgprobe_report *r)
{
	size_t cap = 0;
	for (size_t i = 0; i < r->n_spans; i++) {
		for (size_t j = i + 1; j < r->n_spans; j++) {
			const struct pgprobe_span *a = &r->spans[i],
						  *b = &r->spans[j];
			if (a->node == b->node || a->start_us >= b->end_us ||
			    b->start_us >= a->end_us)
				continue;
			if (r->n_overlaps == cap) {
				cap = cap ? cap * 2 : 8;
				struct pgprobe_overlap *o =
					realloc(r->overlaps, cap * sizeof(*o));
				if (!o)
					return -1;
				r->overlaps = o;
			}
			int64_t lo = a->start_us > b->start_us ? a->start_us
							       : b->start_us;
			int64_t hi = a->end_us < b->end_us ? a->end_us
							   : b->end_us;
			r->overlaps[r->n_overlaps++] = (struct pgprobe_overlap){
				.a = i,
				.b = j,
				.overlap_us = hi - lo,
			};
		}
	}
	return 0;
}

static int cmp_span_start(const void *pa, const void *pb)
{
	const struct pgprobe_span *a = pa, *b = pb;
	return cmp_i64(a->start_us, b->start_us);
}

static void note_gap(struct pgprobe_report *r, int64_t from, int64_t to)
{
	if (to - from > r->gap_us) {
		r->gap_us = to - from;
		r->gap_start_us = from;
		r->gap_end_us = to;
	}
}

/* The longest stretch, from the first span's start to the log's end,
 * that no span covers: a sweep over the spans (in start order). */
static void measure_gap(struct pgprobe_report *r)
{
	r->gap_us = 0;
	r->gap_start_us = r->gap_end_us = r->first_us;
	if (r->n_spans == 0) {
		note_gap(r, r->first_us, r->last_us);
		return;
	}
	int64_t covered = r->spans[0].start_us;
	r->gap_start_us = r->gap_end_us = covered;
	for (size_t i = 0; i < r->n_spans; i++) {
		if (r->spans[i].start_us > covered)
			note_gap(r, covered, r->spans[i].start_us);
		if (r->spans[i].end_us > covered)
			covered = r->spans[i].end_us;
	}
	note_gap(r, covered, r->last_us);
}

int pgprobe_analyze(struct pgprobe_history *h, struct pgprobe_report *r)
{
	memset(r, 0, sizeof(*r));
	history_sort(h);
	r->attempts = h->n;
	if (build_spans(h, r) != 0)
		goto fail;
	if (r->n_spans > 0)
		qsort(r->spans, r->n_spans, sizeof(*r->spans), cmp_span_start);
	if (find_overlaps(r) != 0)
		goto fail;
	measure_gap(r);
	r->ever_writable = r->n_spans > 0;
	return 0;
fail:
	pgprobe_report_free(r);
	return -1;
}

void pgprobe_report_free(struct pgprobe_report *r)
{
	free(r->spans);
	free(r->overlaps);
	memset(r, 0, sizeof(*r));
}

static int cmp_row(const void *pa, const void *pb)
{
	const struct pgprobe_row *a = pa, *b = pb;
	int c = strcmp(a->node, b->node);
	return c ? c : cmp_i64(a->seq, b->seq);
}

static bool row_present(const struct pgprobe_row *rows, size_t n,
			const char *node, int64_t seq)
{
	struct pgprobe_row key;
	snprintf(key.node, sizeof(key.node), "%s", node);
	key.seq = seq;
	return bsearch(&key, rows, n, sizeof(*rows), cmp_row) != NULL;
}

/* The attempt of h with this (node, seq), or NULL; h is sorted. */
static const struct pgprobe_attempt *attempt_find(
	const struct pgprobe_history *h, int node, int64_t seq)
{
	struct pgprobe_attempt key = { .node = node, .seq = seq };
	return bsearch(&key, h->at, h->n, sizeof(*h->at), cmp_attempt);
}

int pgprobe_compare_final(const struct pgprobe_history *h,
			  struct pgprobe_row *rows, size_t n_rows,
			  struct pgprobe_final *f)
{
	memset(f, 0, sizeof(*f));
	if (!h->sorted && h->n > 0) { /* attempt_find needs (node, seq) order */
		errno = EINVAL;
		return -1;
	}
	if (n_rows > 0)
		qsort(rows, n_rows, sizeof(*rows), cmp_row);
	for (size_t i = 0; i < h->n; i++) {
		const struct pgprobe_attempt *a = &h->at[i];
		if (a->result != PGPROBE_OK ||
		    row_present(rows, n_rows, h->nodes[a->node], a->seq))
			continue;
		size_t *lost = realloc(f->lost,
				       (f->n_lost + 1) * sizeof(*lost));
		if (!lost) {
			pgprobe_final_free(f);
			return -1;
		}
		f->lost = lost;
		f->lost[f->n_lost++] = i;
	}
	for (size_t i = 0; i < n_rows; i++) {
		int node = pgprobe_node_index(h, rows[i].node);
		const struct pgprobe_attempt *a =
			node < 0 ? NULL : attempt_find(h, node, rows[i].seq);
		if (!a)
			f->n_foreign++;
		else if (a->result != PGPROBE_OK)
			f->n_unacked_present++;
	}
	return 0;
}

void pgprobe_final_free(struct pgprobe_final *f)
{
	free(f->lost);
	memset(f, 0, sizeof(*f));
}
