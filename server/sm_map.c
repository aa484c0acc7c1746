/*
 * sm_map.c — see sm_map.h.  A textbook AVL tree, written recursively:
 * its height is at most 1.44·log2(n), so recursion stays under ~90 frames
 * for any count that fits in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/sm_map.h"

_Noreturn void sm_fatal(const char *file, int line, const char *what)
{
	fprintf(stderr, "FATAL state machine invariant violated at %s:%d: %s\n",
		file, line, what);
	abort();
}

int sm_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

static int node_cmp(const char *k, size_t klen, const struct sm_node *n)
{
	return sm_bytes_cmp(k, klen, n->k, n->klen);
}

static int height(const struct sm_node *n)
{
	return n ? n->height : 0;
}

static void update_height(struct sm_node *n)
{
	int l = height(n->child[0]), r = height(n->child[1]);

	n->height = 1 + (l > r ? l : r);
}

/* Lifts n's child on side `side` into n's place; returns the new root. */
static struct sm_node *rotate(struct sm_node *n, int side)
{
	struct sm_node *c = n->child[side];

	n->child[side] = c->child[!side];
	c->child[!side] = n;
	update_height(n);
	update_height(c);
	return c;
}

static int balance(const struct sm_node *n)
{
	return height(n->child[1]) - height(n->child[0]);
}

/* Restores |balance| <= 1 at n after one insert or remove below it. */
static struct sm_node *rebalance(struct sm_node *n)
{
	int b;

	update_height(n);
	b = balance(n);
	if (b > 1 || b < -1) {
		int side = b > 1;
		/* A child leaning the other way needs a double rotation. */
		if (balance(n->child[side]) == (side ? -1 : 1))
			n->child[side] = rotate(n->child[side], !side);
		n = rotate(n, side);
	}
	return n;
}

struct sm_node *sm_map_find(const struct sm_map *m, const char *k, size_t klen)
{
	struct sm_node *n = m->root;

	while (n) {
		int c = node_cmp(k, klen, n);
		if (c == 0)
			return n;
		n = n->child[c > 0];
	}
	return NULL;
}

static struct sm_node *insert_at(struct sm_node *n, struct sm_node *node)
{
	int c;

	if (!n)
		return node;
	c = node_cmp(node->k, node->klen, n);
	SM_ASSERT(c != 0);
	n->child[c > 0] = insert_at(n->child[c > 0], node);
	return rebalance(n);
}

void sm_map_insert(struct sm_map *m, struct sm_node *node)
{
	node->child[0] = node->child[1] = NULL;
	node->height = 1;
	m->root = insert_at(m->root, node);
	m->count++;
}

static struct sm_node *detach_min(struct sm_node *n, struct sm_node **min)
{
	if (!n->child[0]) {
		*min = n;
		return n->child[1];
	}
	n->child[0] = detach_min(n->child[0], min);
	return rebalance(n);
}

/* The node is embedded in its owner, so the successor is relinked into
 * its place rather than having its key copied over. */
static struct sm_node *remove_at(struct sm_node *n, struct sm_node *node)
{
	struct sm_node *succ, *right;
	int c;

	SM_ASSERT(n != NULL);
	c = node_cmp(node->k, node->klen, n);
	if (c != 0) {
		n->child[c > 0] = remove_at(n->child[c > 0], node);
		return rebalance(n);
	}
	SM_ASSERT(n == node);
	if (!n->child[1])
		return n->child[0];
	right = detach_min(n->child[1], &succ);
	succ->child[0] = n->child[0];
	succ->child[1] = right;
	return rebalance(succ);
}

void sm_map_remove(struct sm_map *m, struct sm_node *node)
{
	m->root = remove_at(m->root, node);
	m->count--;
	node->child[0] = node->child[1] = NULL;
}

struct sm_node *sm_map_first(const struct sm_map *m)
{
	struct sm_node *n = m->root;

	while (n && n->child[0])
		n = n->child[0];
	return n;
}

static bool walk_all(struct sm_node *n, sm_map_visit_fn fn, void *arg)
{
	while (n) {
		if (!walk_all(n->child[0], fn, arg) || !fn(arg, n))
			return false;
		n = n->child[1];
	}
	return true;
}

static bool walk_from(struct sm_node *n, const char *lo, size_t lolen,
		      sm_map_visit_fn fn, void *arg)
{
	while (n) {
		if (node_cmp(lo, lolen, n) > 0) {
			n = n->child[1]; /* n and its left side are below lo */
			continue;
		}
		if (!walk_from(n->child[0], lo, lolen, fn, arg) || !fn(arg, n))
			return false;
		return walk_all(n->child[1], fn, arg);
	}
	return true;
}

bool sm_map_walk_from(const struct sm_map *m, const char *lo, size_t lolen,
		      sm_map_visit_fn fn, void *arg)
{
	return walk_from(m->root, lo, lolen, fn, arg);
}

static void clear_at(struct sm_node *n,
		     void (*fn)(void *arg, struct sm_node *n), void *arg)
{
	while (n) {
		struct sm_node *right = n->child[1];
		clear_at(n->child[0], fn, arg);
		if (fn)
			fn(arg, n);
		n = right;
	}
}

void sm_map_clear(struct sm_map *m, void (*fn)(void *arg, struct sm_node *n),
		  void *arg)
{
	clear_at(m->root, fn, arg);
	m->root = NULL;
	m->count = 0;
}
