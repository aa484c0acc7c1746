/*
 * raft-sim.c — a whole tenure Raft cluster in one process, driven by a seed.
 *
 * The core is a pure function of its inputs (docs/design.md rule 1), so a
 * discrete-event simulation can put it through bad networks, crashing hosts,
 * failing disks and drifting clocks, check the Raft safety properties after
 * every single step, and replay any failure exactly from its seed.
 *
 *   tests/sim/raft-sim --seed N --seeds K --nodes 3|5 [--verbose] [--time MS]
 *
 * Everything random comes from one PRNG seeded by the seed; events run in
 * (simulated time, sequence number) order, so a run is fully reproducible.
 * Each seed runs in a forked child: an assertion inside the core (abort) or
 * a hang (alarm) is reported with the seed instead of killing the whole run.
 *
 * This file: the options, the seed driver (one forked child per seed, or
 * all inline with --no-fork) and main.  The simulation itself is in the
 * raftsim_*.c files; tests/sim/raftsim.h says which holds what.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/sim/raftsim.h"

/* ---- driver: one forked child per seed ------------------------------------- */

struct child {
	pid_t pid;
	uint64_t seed;
	int fd; /* read end of the child's stats pipe */
};

struct totals {
	uint64_t seeds_done;
	uint64_t failed_seed;
	uint64_t n_failed;
	bool failed;
	struct seed_stats sum;
	uint64_t seeds_with_install;
	uint64_t seeds_with_config;
};

static void totals_add(struct totals *t, const struct seed_stats *st)
{
	uint64_t *dst = (uint64_t *)&t->sum;
	const uint64_t *src = (const uint64_t *)st;
	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] += src[i];
	t->seeds_with_install += st->snapshots_installed > 0;
	t->seeds_with_config += st->config_changes > 0;
	t->seeds_done++;
}

static void child_main(const struct sim_opts *opt, uint64_t seed, int fd)
{
	alarm(opt->seed_timeout_s); /* a hung core is a failure too */
	struct seed_stats st;
	memset(&st, 0, sizeof(st));
	bool ok = run_seed(opt, seed, &st);
	if (write(fd, &st, sizeof(st)) != (ssize_t)sizeof(st))
		_exit(3);
	_exit(ok ? 0 : 1);
}

static bool spawn(const struct sim_opts *opt, uint64_t seed, struct child *c)
{
	int p[2];
	if (pipe(p) != 0) {
		perror("raft-sim: pipe");
		return false;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("raft-sim: fork");
		return false;
	}
	if (pid == 0) {
		close(p[0]);
		child_main(opt, seed, p[1]);
	}
	close(p[1]);
	c->pid = pid;
	c->seed = seed;
	c->fd = p[0];
	return true;
}

static void reap(const struct sim_opts *opt, struct child *c, int status,
		 struct totals *t)
{
	struct seed_stats st;
	memset(&st, 0, sizeof(st));
	bool got = read(c->fd, &st, sizeof(st)) == (ssize_t)sizeof(st);
	close(c->fd);
	if (got)
		totals_add(t, &st);
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (ok)
		return;
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		printf("seed %" PRIu64
		       " (%u nodes): VIOLATION: %s (signal %d)\n",
		       c->seed, opt->nodes,
		       sig == SIGALRM ? "hang: the seed did not finish in time"
				      : "crash: the process died (core "
					"assertion?)",
		       sig);
		printf("replay: %s --seed %" PRIu64 " --seeds 1 --nodes %u "
		       "--time %" PRIu64 " --verbose --no-fork\n",
		       opt->argv0, c->seed, opt->nodes, opt->time_ms);
	}
	if (!t->failed || c->seed < t->failed_seed)
		t->failed_seed = c->seed;
	t->failed = true;
	t->n_failed++;
	if (!got)
		t->seeds_done++;
}

static void progress(const struct sim_opts *opt, const struct totals *t,
		     time_t started)
{
	if (opt->seeds < 200 || t->seeds_done % 100 != 0 || opt->verbose)
		return;
	fprintf(stderr,
		"raft-sim: %" PRIu64 "/%" PRIu64 " seeds (%u nodes), %lds\n",
		t->seeds_done, opt->seeds, opt->nodes,
		(long)(time(NULL) - started));
}

static void run_forked(const struct sim_opts *opt, struct totals *t)
{
	struct child kids[64];
	unsigned running = 0;
	uint64_t next = opt->seed, end = opt->seed + opt->seeds;
	time_t started = time(NULL);
	while ((next < end && (!t->failed || opt->keep_going)) || running > 0) {
		if (next < end && (!t->failed || opt->keep_going) &&
		    running < opt->jobs) {
			if (!spawn(opt, next, &kids[running])) {
				t->failed = true;
				t->failed_seed = next;
				continue;
			}
			next++;
			running++;
			continue;
		}
		int status;
		pid_t pid = wait(&status);
		if (pid < 0)
			break;
		for (unsigned i = 0; i < running; i++) {
			if (kids[i].pid != pid)
				continue;
			reap(opt, &kids[i], status, t);
			kids[i] = kids[--running];
			progress(opt, t, started);
			break;
		}
	}
}

static void run_inline(const struct sim_opts *opt, struct totals *t)
{
	for (uint64_t seed = opt->seed; seed < opt->seed + opt->seeds; seed++) {
		struct seed_stats st;
		memset(&st, 0, sizeof(st));
		bool ok = run_seed(opt, seed, &st);
		totals_add(t, &st);
		if (!ok) {
			if (!t->failed)
				t->failed_seed = seed;
			t->failed = true;
			t->n_failed++;
			if (!opt->keep_going)
				return;
		}
	}
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s [--seed N] [--seeds K] [--nodes 3|5] [--time MS]\n"
		"          [--verbose] [--no-faults] [--jobs J] [--no-fork]\n"
		"          [--keep-going]\n"
		"\n"
		"Simulates a tenure Raft cluster for seeds N..N+K-1 and "
		"checks\n"
		"election safety, log matching, leader completeness, state\n"
		"machine safety, read linearizability, durability and "
		"liveness\n"
		"after every step.\n"
		"\n"
		"  --seed N      first seed (default 1)\n"
		"  --seeds K     number of seeds (default 1)\n"
		"  --nodes 3|5   initial cluster size (default 3)\n"
		"  --time MS     simulated milliseconds of faults per seed "
		"before\n"
		"                the final heal (default 20000)\n"
		"  --verbose     print every traced event\n"
		"  --no-faults   no network, disk or crash faults\n"
		"  --jobs J      seeds run in parallel (default 1)\n"
		"  --no-fork     run seeds in this process (for a debugger)\n"
		"  --keep-going  run every seed even after violations "
		"(survey)\n"
		"\n"
		"On a violation it prints the seed, the invariant, the last "
		"trace\n"
		"lines and the command that replays it, and exits 1.\n",
		argv0);
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, struct sim_opts *o)
{
	*o = (struct sim_opts){ .argv0 = argv[0],
				.seed = 1,
				.seeds = 1,
				.nodes = 3,
				.time_ms = 20000,
				.faults = true,
				.jobs = 1,
				.fork = true,
				.seed_timeout_s = 300 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t x = 0;
		if (!strcmp(a, "--verbose")) {
			o->verbose = true;
		} else if (!strcmp(a, "--no-faults")) {
			o->faults = false;
		} else if (!strcmp(a, "--no-fork")) {
			o->fork = false;
		} else if (!strcmp(a, "--keep-going")) {
			o->keep_going = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout, argv[0]);
			exit(0);
		} else if (v && parse_u64(v, &x) &&
			   (!strcmp(a, "--seed") || !strcmp(a, "--seeds") ||
			    !strcmp(a, "--nodes") || !strcmp(a, "--time") ||
			    !strcmp(a, "--jobs"))) {
			i++;
			if (!strcmp(a, "--seed"))
				o->seed = x;
			else if (!strcmp(a, "--seeds"))
				o->seeds = x;
			else if (!strcmp(a, "--nodes"))
				o->nodes = (unsigned)x;
			else if (!strcmp(a, "--time"))
				o->time_ms = x;
			else
				o->jobs = (unsigned)x;
		} else {
			fprintf(stderr,
				"raft-sim: bad or incomplete option '%s'\n", a);
			usage(stderr, argv[0]);
			return -1;
		}
	}
	if (o->nodes != 3 && o->nodes != 5) {
		fprintf(stderr, "raft-sim: --nodes must be 3 or 5\n");
		return -1;
	}
	if (o->jobs < 1 || o->jobs > 64) {
		fprintf(stderr, "raft-sim: --jobs must be 1..64\n");
		return -1;
	}
	if (o->time_ms < 100 || o->time_ms > 10000000) {
		fprintf(stderr, "raft-sim: --time must be 100..10000000 ms\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sim_opts opt;
	if (parse_args(argc, argv, &opt) != 0)
		return 2;
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	struct totals t;
	memset(&t, 0, sizeof(t));
	if (opt.fork)
		run_forked(&opt, &t);
	else
		run_inline(&opt, &t);
	const struct seed_stats *sum = &t.sum;
	printf("coverage: %" PRIu64 " steps, %" PRIu64 " elections, %" PRIu64
	       " entries committed, %" PRIu64 " crashes, %" PRIu64
	       " disk failures, %" PRIu64 " snapshots taken, %" PRIu64
	       " installed (in %" PRIu64 " seeds), %" PRIu64
	       " config changes (in %" PRIu64 " seeds), %" PRIu64
	       " transfers, %" PRIu64 " linearizable reads, %" PRIu64
	       " old-term commits\n",
	       sum->steps, sum->elections, sum->commits, sum->crashes,
	       sum->disk_failures, sum->snapshots_taken,
	       sum->snapshots_installed, t.seeds_with_install,
	       sum->config_changes, t.seeds_with_config, sum->transfers,
	       sum->reads_ok, sum->old_term_commits);
	if (t.failed) {
		printf("%" PRIu64 " seeds, %" PRIu64
		       " violation%s (first failing "
		       "seed %" PRIu64 ")\n",
		       t.seeds_done, t.n_failed, t.n_failed == 1 ? "" : "s",
		       t.failed_seed);
		return 1;
	}
	printf("%" PRIu64 " seeds, 0 violations\n", t.seeds_done);
	return 0;
}
