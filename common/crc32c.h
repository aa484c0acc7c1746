/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum of every log batch,
 * metadata file and snapshot header.
 *
 * Contract
 * --------
 * crc32c(crc, buf, len) extends a running checksum: start with 0 and feed
 * the previous result back in, so that
 *
 *	crc32c(crc32c(0, a, la), b, lb) == crc32c(0, a || b, la + lb)
 *
 * The value is the standard one (iSCSI, ext4, RFC 3720):
 * crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * crc32c() uses the SSE4.2 crc32 instruction when the CPU has it and a
 * table-driven software loop otherwise.  Both paths are exported so tests
 * can check that they agree.  No state: callable from any thread.
 *
 * Errors: none (pure functions).
 */
#ifndef TENURE_COMMON_CRC32C_H
#define TENURE_COMMON_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

/* Slicing-by-8 in portable C; any CPU, any alignment, any byte order. */
uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* The SSE4.2 path.  Only call it when crc32c_hw_available() is true. */
uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);
bool crc32c_hw_available(void);

#endif /* TENURE_COMMON_CRC32C_H */
