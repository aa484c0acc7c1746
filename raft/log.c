/*
 * log.c — the in-memory Raft log: a contiguous array of entries covering
 * (offset, last].  Each entry owns a private copy of its data, so nothing
 * the caller passed in has to outlive the step that delivered it.
 */
#include <stdlib.h>
#include <string.h>

#include "raft/raft_int.h"

void log_init(struct raft_log *l, raft_index offset, raft_term offset_term)
{
	memset(l, 0, sizeof(*l));
	l->offset = offset;
	l->offset_term = offset_term;
}

static void entry_free(struct raft_entry *e)
{
	free(e->data.base);
	e->data.base = NULL;
	e->data.len = 0;
}

void log_free(struct raft_log *l)
{
	for (size_t i = 0; i < l->n; i++)
		entry_free(&l->entries[i]);
	free(l->entries);
	l->entries = NULL;
	l->n = l->cap = 0;
}

raft_index log_last_index(const struct raft_log *l)
{
	return l->offset + l->n;
}

raft_term log_last_term(const struct raft_log *l)
{
	return l->n ? l->entries[l->n - 1].term : l->offset_term;
}

raft_term log_term_at(const struct raft_log *l, raft_index i)
{
	if (i == l->offset)
		return l->offset_term;
	if (i < l->offset || i > log_last_index(l))
		return 0;
	return l->entries[i - l->offset - 1].term;
}

struct raft_entry *log_get(const struct raft_log *l, raft_index i)
{
	if (i <= l->offset || i > log_last_index(l))
		return NULL;
	struct raft_entry *e = &l->entries[i - l->offset - 1];
	RAFT_ASSERT(e->index == i); /* entries are contiguous */
	return e;
}

int log_append(struct raft_log *l, raft_term term, uint8_t type,
	       const void *data, size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct raft_entry *e = realloc(l->entries, cap * sizeof(*e));
		if (!e)
			return RAFT_ENOMEM;
		l->entries = e;
		l->cap = cap;
	}
	void *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return RAFT_ENOMEM;
		memcpy(copy, data, len);
	}
	struct raft_entry *e = &l->entries[l->n];
	e->term = term;
	e->index = log_last_index(l) + 1;
	e->type = type;
	e->data.base = copy;
	e->data.len = len;
	l->n++;
	return RAFT_OK;
}

void log_truncate_from(struct raft_log *l, raft_index i)
{
	/* Below offset lies the snapshot, which is committed; at or past
	 * last + 1 the caller's idea of the log is wrong. */
	RAFT_ASSERT(i > l->offset && i <= log_last_index(l) + 1);
	while (log_last_index(l) >= i) {
		entry_free(&l->entries[l->n - 1]);
		l->n--;
	}
}

void log_compact_upto(struct raft_log *l, raft_index i)
{
	if (i <= l->offset)
		return;
	RAFT_ASSERT(i <= log_last_index(l));
	size_t drop = i - l->offset;
	raft_term t = log_term_at(l, i);
	for (size_t k = 0; k < drop; k++)
		entry_free(&l->entries[k]);
	memmove(l->entries, l->entries + drop,
		(l->n - drop) * sizeof(*l->entries));
	l->n -= drop;
	l->offset = i;
	l->offset_term = t;
}

void log_reset(struct raft_log *l, raft_index offset, raft_term term)
{
	for (size_t k = 0; k < l->n; k++)
		entry_free(&l->entries[k]);
	l->n = 0;
	l->offset = offset;
	l->offset_term = term;
}
