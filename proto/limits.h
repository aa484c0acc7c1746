/*
 * limits.h — the protocol's limits and watch event types, shared by the
 * witnesses' state machine (server/sm.h), the client protocol
 * (proto/client.c) and every client (the agent, tenurectl).
 *
 * Contract
 * --------
 * Names and keys are 1..SM_KEY_MAX bytes, holders 1..SM_HOLDER_MAX, values
 * up to SM_VALUE_MAX, lease TTLs in [SM_TTL_MIN_MS, SM_TTL_MAX_MS].  An
 * event's type travels as one byte (proto/client.h, CLIENT_EVENT).  These
 * values are part of the wire protocol and of the log: never change them.
 *
 * Errors: none (constants only).
 */
#ifndef TENURE_PROTO_LIMITS_H
#define TENURE_PROTO_LIMITS_H

#define SM_KEY_MAX 512
#define SM_HOLDER_MAX 256
#define SM_VALUE_MAX (64 * 1024)
#define SM_TTL_MIN_MS 100
#define SM_TTL_MAX_MS (24u * 3600 * 1000)

enum sm_event_type {
	SM_EV_GRANT = 1,
	SM_EV_RENEW,
	SM_EV_RELEASE,
	SM_EV_EXPIRE,
	SM_EV_PUT,
	SM_EV_DELETE,
};

#endif
