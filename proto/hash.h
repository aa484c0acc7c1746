/*
 * hash.h — FNV-1a, 64 bits: the one string hash of tenure.  Member ids
 * (derived from names, so every witness computes the same id without
 * coordination), the cluster id and the leader's lease table all use it;
 * tests/helpers/tcp-proxy.c recomputes member ids with it too.  Not for
 * security.
 *
 * Errors: none (a pure function).
 */
#ifndef TENURE_PROTO_HASH_H
#define TENURE_PROTO_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_fnv1a(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#endif
