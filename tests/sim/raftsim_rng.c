/*
 * raftsim_rng.c — the simulator's PRNG (xoshiro256**, seeded per seed),
 * the hashes the checker compares logs and states by, and allocation
 * helpers that abort on out-of-memory (a test has nothing better to do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/raftsim.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

void rng_seed(struct rng *g, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix64(&seed);
}

static uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: fast, and its whole state is four words we own. */
uint64_t rng_next(struct rng *g)
{
	uint64_t *s = g->s;
	uint64_t result = rotl64(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

uint64_t rng_below(struct rng *g, uint64_t n)
{
	return n ? rng_next(g) % n : 0;
}

uint64_t rng_between(struct rng *g, uint64_t lo, uint64_t hi)
{
	return lo + rng_below(g, hi - lo + 1);
}

bool rng_permille(struct rng *g, unsigned p)
{
	return rng_below(g, 1000) < p;
}

uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdull;
	z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ull;
	return z ^ (z >> 33);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return mix64(h ^ n);
}

/* Hash of an entry and everything before it: equal chains at an index mean
 * equal logs up to there, which is what log matching is about. */
uint64_t entry_chain(uint64_t prev, const struct raft_entry *e)
{
	uint64_t h = mix64(prev ^ 0x243F6A8885A308D3ull);
	h = mix64(h ^ e->index);
	h = mix64(h ^ e->term);
	h = mix64(h ^ e->type);
	h = mix64(h ^ hash_bytes(e->data.base, e->data.len));
	return h | 1; /* 0 means "unknown" everywhere below */
}

/* The application's state after applying e: content only, no log position
 * beyond the order of application. */
uint64_t state_after(uint64_t state, const struct raft_entry *e)
{
	uint64_t h = mix64(state ^ 0x13198A2E03707344ull);
	h = mix64(h ^ ((uint64_t)e->type << 56 ^ e->term));
	h = mix64(h ^ hash_bytes(e->data.base, e->data.len));
	return h | 1;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fprintf(stderr, "raft-sim: out of memory\n");
		abort();
	}
	return q;
}

void *xmemdup(const void *p, size_t n)
{
	if (!n)
		return NULL;
	void *q = xrealloc(NULL, n);
	memcpy(q, p, n);
	return q;
}

/* Grow *arr (elements of size elem) so that index i fits, zeroing new
 * space: the registries below are indexed by Raft index or term. */
void grow_zeroed(void **arr, size_t *cap, size_t i, size_t elem)
{
	if (i < *cap)
		return;
	size_t ncap = *cap ? *cap : 64;
	while (ncap <= i)
		ncap *= 2;
	*arr = xrealloc(*arr, ncap * elem);
	memset((char *)*arr + *cap * elem, 0, (ncap - *cap) * elem);
	*cap = ncap;
}

void entry_copy(struct raft_entry *dst, const struct raft_entry *src)
{
	*dst = *src;
	dst->data.base = xmemdup(src->data.base, src->data.len);
}

void entries_free(struct raft_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].data.base);
	free(e);
}
