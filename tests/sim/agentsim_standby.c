/*
 * agentsim_standby.c — agent-sim --standby-cluster: the three agents form
 * a standby cluster (decide.h rule 7) of a main cluster, whose primary is
 * host SIM_MAIN_HOST: a Postgres no agent of the scope runs, written to
 * by the workload like any primary.  The agents start with empty data
 * directories and S/config naming the main cluster; they copy it, one of
 * them leads and the others cascade, through every fault of the run.
 * When the faults end, the main cluster's host is lost and the operator
 * promotes the standby cluster (`tenurectl cluster promote`: S/config
 * without the setting).  The checks: no node of the standby cluster runs
 * as a primary while S/config says it is one (two writable primaries are
 * caught as well while the main one runs), and once promoted it gets a
 * primary (the liveness check).
 */
#include <stdio.h>
#include <string.h>

#include "fencing/standby_cluster.h"
#include "tests/sim/agentsim.h"

static const char *config_text(struct sim *s)
{
	static char text[128];
	snprintf(text, sizeof(text), "synchronous_mode = %s\n%s",
		 s->sync_setting ? "on" : "off",
		 s->standby_set ? "standby_cluster_hosts = main:5432\n" : "");
	return text;
}

void standby_put_config(struct sim *s)
{
	store_put(s, -1, "sim/config", config_text(s), NULL, 0);
}

void standby_setup(struct sim *s)
{
	struct sim_pg *p = &s->hosts[SIM_MAIN_HOST].pg;
	uint32_t tl = s->next_tl++;
	p->state = PG_PRIMARY;
	p->tl = tl;
	p->upstream = -1;
	s->tls[tl] = (struct sim_tl){ .host = SIM_MAIN_HOST };
	s->standby_set = true;
	standby_put_config(s);
}

void standby_promote(struct sim *s)
{
	sim_log(s, "DISASTER: the main cluster's host is lost");
	s->hosts[SIM_MAIN_HOST].up = false;
	pg_crash(s, SIM_MAIN_HOST);
	sim_log(s, "OPERATOR tenurectl cluster promote");
	s->standby_set = false;
	standby_put_config(s);
}

int standby_host_of(const char *name)
{
	return strcmp(name, STANDBY_CLUSTER_UPSTREAM) == 0 ? SIM_MAIN_HOST : -1;
}

void standby_check(struct sim *s)
{
	if (!s->standby_set)
		return;
	for (int h = 0; h < SIM_MAX_HOSTS; h++)
		if (h != SIM_MAIN_HOST && sim_writable(s, h))
			sim_fail(s,
				 "VIOLATION: %s of the standby cluster runs as "
				 "a primary (host %d, timeline %u) while "
				 "S/config makes it a standby cluster",
				 s->agents[h].name, h, s->hosts[h].pg.tl);
}
