/*
 * fleet_host.c — see fleet_host.h: the agent's commands answered
 * in-process.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fencing/fence_pg.h"
#include "fencing/spawn.h"
#include "tests/helpers/fleet_host.h"
#include "tests/helpers/fleet_pg.h"

uint64_t fleet_spawns, fleet_spawn_unknown, fleet_fences;
char fleet_spawn_unknown_cmd[200];

struct run {
	uv_timer_t timer;
	spawn_cb cb;
	void *arg;
	struct spawn_result result;
	char output[4096];
};

static bool file_in(const char *dir, const char *name)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The value after "-D" in argv, or "". */
static const char *data_dir(const char *const *argv)
{
	for (size_t i = 0; argv[i]; i++)
		if (strcmp(argv[i], "-D") == 0 && argv[i + 1])
			return argv[i + 1];
	return "";
}

static void controldata(const char *dir, char *out, size_t cap)
{
	char sysid[32] = "0", path[600];
	snprintf(path, sizeof(path), "%s/fleet_sysid", dir);
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(sysid, sizeof(sysid), f))
			snprintf(sysid, sizeof(sysid), "0");
		sysid[strcspn(sysid, "\n")] = '\0';
		fclose(f);
	}
	const char *state = file_in(dir, "postmaster.pid") ? "in production"
			    : file_in(dir, "standby.signal")
				    ? "shut down in recovery"
				    : "shut down";
	snprintf(out, cap,
		 "pg_control version number:            1300\n"
		 "Database system identifier:           %s\n"
		 "Database cluster state:               %s\n"
		 "Latest checkpoint location:           0/3000148\n"
		 "Latest checkpoint's REDO location:    0/3000110\n"
		 "Latest checkpoint's TimeLineID:       1\n"
		 "Latest checkpoint's PrevTimeLineID:   1\n"
		 "Latest checkpoint's full_page_writes: on\n"
		 "Minimum recovery ending location:     0/0\n"
		 "Min recovery ending loc's timeline:   0\n"
		 "wal_log_hints setting:                on\n"
		 "max_connections setting:              100\n"
		 "max_worker_processes setting:         8\n"
		 "max_wal_senders setting:              10\n"
		 "max_prepared_xacts setting:           0\n"
		 "max_locks_per_xact setting:           64\n"
		 "Data page checksum version:           0\n"
		 "Bytes per WAL segment:                16777216\n",
		 sysid, state);
}

static int pg_ctl(const char *const *argv, char *out, size_t cap)
{
	const char *dir = data_dir(argv), *action = argv[1] ? argv[1] : "";
	char path[600];
	snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
	out[0] = '\0';
	if (strcmp(action, "start") == 0) {
		FILE *f = fopen(path, "w");
		if (!f)
			return 1;
		fprintf(f, "%d\n%s\n", (int)getpid(), dir);
		if (fclose(f) != 0)
			return 1;
		fleet_pg_started(dir);
		return 0;
	}
	if (strcmp(action, "stop") == 0) {
		unlink(path);
		fleet_pg_stopped(dir);
	}
	return 0;
}

/* agent_standby.c's check: sh -c SCRIPT BIN_DIR DATA_DIR */
static void standby_check(const char *dir, char *out, size_t cap)
{
	controldata(dir, out, cap);
	size_t n = strlen(out);
	snprintf(out + n, cap - n,
		 "local max_connections: 100\n"
		 "local max_worker_processes: 8\n"
		 "local max_wal_senders: 10\n"
		 "local max_prepared_transactions: 0\n"
		 "local max_locks_per_transaction: 64\n");
}

/* What the command prints and its exit status. */
static int simulate(const char *const *argv, char *out, size_t cap)
{
	const char *prog = base_name(argv[0]);
	if (strcmp(prog, "pg_ctl") == 0)
		return pg_ctl(argv, out, cap);
	if (strcmp(prog, "pg_rewind") == 0) {
		/* nothing diverged: the simulated WAL never does */
		snprintf(out, cap, "pg_rewind: no rewind required\n");
		return 0;
	}
	if (strcmp(prog, "pg_controldata") == 0) {
		controldata(data_dir(argv), out, cap);
		return 0;
	}
	if (strcmp(argv[0], "/bin/sh") == 0 && argv[1] && argv[2] &&
	    strstr(argv[2], "pg_controldata") && argv[3] && argv[4]) {
		standby_check(argv[4], out, cap);
		return 0;
	}
	if (!fleet_spawn_unknown++)
		snprintf(fleet_spawn_unknown_cmd,
			 sizeof(fleet_spawn_unknown_cmd), "%s", argv[0]);
	snprintf(out, cap, "%s: not simulated by fleet-agents\n", argv[0]);
	return 127;
}

static void run_closed(uv_handle_t *h)
{
	free(h->data);
}

static void run_done(uv_timer_t *t)
{
	struct run *r = t->data;
	r->cb(r->arg, &r->result);
	uv_close((uv_handle_t *)&r->timer, run_closed);
}

int spawn_run(uv_loop_t *loop, const struct spawn_opts *opts, spawn_cb cb,
	      void *arg)
{
	if (!opts || !opts->argv || !opts->argv[0] || !cb)
		return UV_EINVAL;
	struct run *r = calloc(1, sizeof(*r));
	if (!r)
		return UV_ENOMEM;
	fleet_spawns++;
	r->cb = cb;
	r->arg = arg;
	r->result.exit_status = simulate(opts->argv, r->output,
					 sizeof(r->output));
	r->result.output = r->output;
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	uv_timer_start(&r->timer, run_done, 0, 0);
	return 0;
}

const char *spawn_format_argv(const char *const *argv, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; argv && argv[i] && n + 1 < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? " " : "",
				      argv[i]);
	return buf;
}

int fence_pg_kill(const char *datadir, char *msg, size_t msglen)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/postmaster.pid", datadir);
	unlink(path);
	fleet_pg_stopped(datadir);
	fleet_fences++;
	snprintf(msg, msglen, "simulated server stopped");
	return 0;
}
