/*
 * auth_policy.h — what each role may ask of a witness: one pure function
 * over the decoded request, so every rule has a unit test.
 *
 * Contract
 * --------
 *   admin      everything.
 *   read-only  STATUS, HEALTH, MEMBER_LIST, GET, LIST, LIST_PAGE, LEASE_GET,
 *              LEASE_LIST, LEASE_LIST_PAGE, WATCH, CANCEL.
 *   agent:S    STATUS, HEALTH, MEMBER_LIST, CANCEL; and, only for names inside
 *              "S/": lease acquire, renew, release and get; put, cas,
 *              delete and get of keys (a put or cas may attach only a
 *              lease of S/ too); list, list pages and watches of
 *              prefixes inside S/.  Nothing else: not another scope, not
 *              the lease table as a whole, not membership or transfers.
 * HELLO and AUTH_PROOF are the session's business (clients.c), never
 * judged here.
 *
 * Errors: auth_policy_check returns NULL when allowed, else a static
 * reason for the CLIENT_EUNAUTHORIZED answer.
 */
#ifndef TENURE_SERVER_AUTH_POLICY_H
#define TENURE_SERVER_AUTH_POLICY_H

#include "proto/client.h"
#include "proto/credentials.h"

const char *auth_policy_check(const struct credential *who,
			      const struct client_request *q);

#endif
