/* fake_pg.h — a stand-in postmaster for the fencing tests: a shell whose
 * argv[0] is "postgres" (so /proc/PID/cmdline says so) with three
 * children, and a temp data directory whose postmaster.pid names it. */
#ifndef TENURE_TESTS_FAKE_PG_H
#define TENURE_TESTS_FAKE_PG_H

#include <stdbool.h>
#include <sys/types.h>

#define FAKE_PG_KIDS 3

struct fake_pg {
	char dir[64]; /* the data directory */
	pid_t pid;    /* the "postmaster"; 0 once reaped */
	int status;   /* its wait status once reaped */
	pid_t kids[FAKE_PG_KIDS];
};

/* Start it and wait until its children run.  0 or -1. */
int fake_pg_start(struct fake_pg *f);
/* Write "text" as DIR/postmaster.pid. */
void fake_pg_write_pid(const struct fake_pg *f, const char *text);
/* Reap the postmaster if it died within ms; true if it did. */
bool fake_pg_wait_dead(struct fake_pg *f, int ms);
/* /proc/PID/stat state of pid: 'R', 'S', 'T', 'Z'..., or 0 if gone. */
char fake_pg_state(pid_t pid);
/* Kill (by pid) whatever is left, remove the directory. */
void fake_pg_cleanup(struct fake_pg *f);

#endif
