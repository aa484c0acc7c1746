/*
 * health.h — is this witness healthy, and if not, why: what GET /health
 * answers (200 or 503) and the client op HEALTH (tenurectl status).
 *
 * Contract
 * --------
 * Loop thread.  Unhealthy, in this order of the reason given:
 *   - it cannot write its data directory (disk_health.h): the reason is
 *     the last error, "disk write failed: No space left on device";
 *   - it knows no leader (cannot reach a quorum);
 *   - it has applied more than HEALTH_MAX_LAG entries fewer than the
 *     leader's commit index (catching up).
 */
#ifndef TENURE_SERVER_HEALTH_H
#define TENURE_SERVER_HEALTH_H

#include "server/node.h"

/* Entries a witness may trail the leader's commit by and still be caught
 * up: a follower under write load is always a batch or two behind, and
 * /health must not flap for that; one that lost its log (an emptied data
 * dir) or was cut off is usually much further behind. */
#define HEALTH_MAX_LAG 64

/* NULL when healthy, else the reason (valid until the next call). */
const char *health_problem(struct node *n);

#endif /* TENURE_SERVER_HEALTH_H */
