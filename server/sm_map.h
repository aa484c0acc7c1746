/*
 * sm_map.h — an intrusive AVL tree keyed by byte strings, the index of the
 * state machine (leases by name, keys by key, a lease's attached keys).
 *
 * Contract
 * --------
 * Nodes are embedded in the caller's structures and point at key bytes the
 * caller owns; the map never allocates, so insert and remove cannot fail.
 * Keys compare as unsigned bytes, a proper prefix before its extensions
 * (memcmp order), and are unique in one map.  Find, insert and remove cost
 * O(log n); walking costs O(log n + visited).  The order depends only on
 * the keys, never on addresses, so every witness iterates alike.
 *
 * Errors: none (see above); lookups return NULL when nothing matches.
 */
#ifndef TENURE_SERVER_SM_MAP_H
#define TENURE_SERVER_SM_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct sm_node {
	struct sm_node *child[2]; /* [0] smaller keys, [1] larger */
	const char *k;
	size_t klen;
	int height; /* of the subtree; a leaf is 1 */
};

struct sm_map {
	struct sm_node *root;
	size_t count;
};

/* Invariants of the state machine: stay on in release builds (a lease
 * service must stop rather than continue in a state it believes
 * impossible). */
#define SM_ASSERT(cond)                                      \
	do {                                                 \
		if (!(cond))                                 \
			sm_fatal(__FILE__, __LINE__, #cond); \
	} while (0)
_Noreturn void sm_fatal(const char *file, int line, const char *what);

#define SM_CONTAINER(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* memcmp order of two byte strings: <0, 0, >0. */
int sm_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen);

struct sm_node *sm_map_find(const struct sm_map *m, const char *k, size_t klen);
/* node->k/klen must be set and absent from the map. */
void sm_map_insert(struct sm_map *m, struct sm_node *node);
/* node must be in the map. */
void sm_map_remove(struct sm_map *m, struct sm_node *node);
/* The smallest node, or NULL when empty. */
struct sm_node *sm_map_first(const struct sm_map *m);

/* Visit nodes with key >= lo in order until fn returns false; returns
 * false when stopped early.  fn must not change the map. */
typedef bool (*sm_map_visit_fn)(void *arg, struct sm_node *n);
bool sm_map_walk_from(const struct sm_map *m, const char *lo, size_t lolen,
		      sm_map_visit_fn fn, void *arg);

/* Empty the map, calling fn (if any) on every node in order; fn may free
 * the node: the map no longer reads it afterwards. */
void sm_map_clear(struct sm_map *m, void (*fn)(void *arg, struct sm_node *n),
		  void *arg);

#endif /* TENURE_SERVER_SM_MAP_H */
