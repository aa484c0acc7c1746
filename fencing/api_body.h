/*
 * api_body.h — the bodies of the REST API's Patroni writes, read into
 * what the scope's requests need (fencing/requests.h, S/switchover):
 *   a time   "scheduled_at" (POST /switchover), "schedule" (POST
 *            /restart): ISO 8601 WITH a zone (common/wall_time.h), as
 *            Patroni requires; a server must not guess its client's
 *            local time.
 *   POST /restart       {"schedule", "restart_pending", "role",
 *                       "timeout"}, every key optional
 *   POST /reinitialize  {"force"}, optional
 * An empty body is an empty object (Patroni's bodies are optional).
 *
 * Contract
 * --------
 * Pure: now_ms is the caller's wall clock.  Each parser returns 0 and
 * fills its output, or the HTTP status to answer with a reason in why:
 * Patroni's codes, 400 for a malformed body, a wrong key or a time
 * without a zone, 422 for a time it cannot read or one in the past.
 */
#ifndef TENURE_FENCING_API_BODY_H
#define TENURE_FENCING_API_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A scheduled time for action ("switchover", "restart") into *at_ms. */
int api_body_schedule(const char *text, const char *action, uint64_t now_ms,
		      uint64_t *at_ms, char *why, size_t cap);

struct api_restart_body {
	uint64_t at_ms;      /* "schedule"; 0: now */
	bool pending;        /* "restart_pending": only if Postgres says a
				restart is pending */
	char role[16];       /* "primary" ("master" too), "replica" or "" */
	uint64_t timeout_ms; /* "timeout" (seconds): how long the answer
				waits; 0: the caller's default */
};
int api_body_restart(const char *json, size_t len, uint64_t now_ms,
		     struct api_restart_body *b, char *why, size_t cap);

/* "force": true, or Patroni's other truths ("true", "yes", "on", "1",
 * any case, and 1). */
int api_body_reinit(const char *json, size_t len, bool *force, char *why,
		    size_t cap);

#endif
