/*
 * agent_optime.c — the primary's side of SCOPE/optime (optime.h): after an
 * observation as the lease holder running a primary, write the position
 * when it moved (at most once per renew interval) or, unchanged, once per
 * OPTIME_HEARTBEAT_MS, so that the record also says when the primary was
 * last seen writable.  An idle primary costs one write per 30 s; a busy
 * one one per renew interval, the same rate as its lease renewals.
 */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "fencing/agent_int.h"

static void optime_written(struct agent *a, int status, void *arg)
{
	(void)arg;
	a->optime_in_flight = false;
	if (status != CLIENT_OK)
		a->optime_sent_ms = 0; /* written again at the next tick */
}

void optime_publish(struct agent *a)
{
	if (a->optime_in_flight || !a->primary.held ||
	    !lease_primary_valid(a) || a->pg_obs.state != PG_PRIMARY)
		return;
	uint64_t now = clock_now_ms(), lsn = a->pg_obs.received_lsn;
	if (a->optime_sent_token != a->primary.token)
		a->optime_sent_ms = 0; /* a new term as primary: write now */
	if (!optime_due(lsn, now, a->optime_sent_lsn, a->optime_sent_ms,
			(uint64_t)a->live.renew_interval, OPTIME_HEARTBEAT_MS))
		return;
	uint32_t tl = a->pg_obs.timeline;
	struct optime o = { .token = a->primary.token,
			    .lsn = lsn,
			    .time_ms = clock_wall_ms(),
			    .timeline = tl,
			    .tl_start = optime_tl_start(&a->view.optime, tl,
							lsn) };
	snprintf(o.name, sizeof(o.name), "%s", a->conf->name);
	char json[MEMBER_STR_MAX + 128];
	if (!optime_encode(&o, json, sizeof(json)))
		return;
	a->optime_in_flight = true;
	a->optime_sent_lsn = lsn;
	a->optime_sent_ms = now;
	a->optime_sent_token = a->primary.token;
	keys_put(a, "optime", json, optime_written, NULL);
}
