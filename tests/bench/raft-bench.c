/*
 * raft-bench — figures for the Raft core and its durable log.  It prints
 * numbers and never judges them: speed is reported, not asserted.
 *
 *   tests/bench/raft-bench [--only core|store] [--seconds S] [--dir DIR]
 *                          [-o json]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tests/bench/bench.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: raft-bench [--only core|store] [--seconds S] "
		"[--dir DIR] [-o text|json]\n"
		"  core   entries committed per second by a 3-node cluster in "
		"memory (no I/O)\n"
		"  store  durable appends with fdatasync at 1, 16 and 256 "
		"entries per batch,\n"
		"         plus a plain 4 KiB write+fdatasync baseline on the "
		"same disk\n"
		"  --dir  where the storage benchmark writes (default /tmp); "
		"use the disk the\n"
		"         witnesses will use\n");
}

static void print_machine(bool json)
{
	struct utsname u;
	uname(&u);
	char model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, sizeof(model), "%s", colon + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (json)
		printf("{\"bench\":\"machine\",\"cpu\":\"%s\",\"cpus\":%ld,"
		       "\"kernel\":\"%s\"}\n",
		       model, cpus, u.release);
	else
		printf("machine: %s, %ld CPUs, Linux %s\n", model, cpus,
		       u.release);
}

int main(int argc, char **argv)
{
	struct bench_opts o = { .dir = "/tmp", .seconds = 2.0, .json = false };
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--only") && v) {
			only = v;
			i++;
		} else if (!strcmp(a, "--seconds") && v) {
			o.seconds = atof(v);
			i++;
		} else if (!strcmp(a, "--dir") && v) {
			o.dir = v;
			i++;
		} else if (!strcmp(a, "-o") && v) {
			o.json = !strcmp(v, "json");
			i++;
		} else {
			fprintf(stderr, "raft-bench: unknown argument '%s'\n",
				a);
			usage(stderr);
			return 2;
		}
	}
	if (o.seconds <= 0) {
		fprintf(stderr, "raft-bench: --seconds must be positive\n");
		return 2;
	}
	if (only && strcmp(only, "core") && strcmp(only, "store")) {
		fprintf(stderr, "raft-bench: --only takes core or store\n");
		return 2;
	}
	print_machine(o.json);
	int rv = 0;
	if (!only || !strcmp(only, "core"))
		rv |= bench_core(&o);
	if (!only || !strcmp(only, "store"))
		rv |= bench_store(&o);
	return rv ? 1 : 0;
}
