/*
 * log-forge.c — turns one command in a stopped witness's log into a command
 * this tenured does not know, for tests/process/unknown-command.sh: the
 * state a witness is in when a newer witness of its trio proposed a command
 * of a type it has not learnt yet.
 *
 *   tests/helpers/log-forge DATA_DIR
 *
 * It opens DATA_DIR with the witness's own store (raft/store.h) and
 * rewrites through an append job of its disk worker (server/disk.h, here
 * without the worker thread): it takes the last application command of
 * the log, and writes it again at the same index and term with its type
 * byte set to SM_CMD_LAST + 1 (the type the next release would add; the
 * version byte and the fields stay as the encoder wrote them), followed
 * by the entries after it, unchanged.  Index and term are kept on purpose:
 * the leader's log matches there (Raft's log matching is by index and
 * term), so the witness, once started, takes that entry as committed and
 * applies it, and nothing else of the trio changes.
 *
 * Prints "index=N term=T type=X" and exits 0; 1 on a usage error, a log
 * with no application command, or a store error (the message says which).
 * The witness must be stopped: the store refuses a locked directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft/store.h"
#include "server/disk.h"
#include "server/sm.h"

/* The last application command (version byte, type byte, fields), or -1. */
static int last_command(const struct raft_durable *d)
{
	for (int i = (int)d->n_entries - 1; i >= 0; i--)
		if (d->entries[i].type == RAFT_ENTRY_NORMAL &&
		    d->entries[i].data.len >= 2)
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	struct store *s;
	struct raft_durable d;
	char err[512];
	int rv;

	if (argc != 2) {
		fprintf(stderr, "usage: log-forge DATA_DIR\n");
		return 1;
	}
	rv = store_open(argv[1], NULL, &s, err, sizeof(err));
	if (rv) {
		fprintf(stderr, "log-forge: %s\n", err);
		return 1;
	}
	if (store_load(s, &d)) {
		fprintf(stderr, "log-forge: %s\n", store_last_error(s));
		return 1;
	}
	int at = last_command(&d);
	if (at < 0) {
		fprintf(stderr,
			"log-forge: no application command in the "
			"log of %s\n",
			argv[1]);
		return 1;
	}
	/* The store's entries are valid only until its next call: the
	 * rewrite goes through a copy, the disk worker's append job. */
	unsigned n = d.n_entries - (unsigned)at;
	struct disk_job *j = disk_job_append(0, d.entries[at].index,
					     &d.entries[at], n);
	if (!j) {
		fprintf(stderr, "log-forge: out of memory\n");
		return 1;
	}
	unsigned char *cmd = j->entries[0].data.base;
	cmd[1] = SM_CMD_LAST + 1;
	int rc = store_append(s, j->first, j->entries, j->n_entries);
	if (rc)
		fprintf(stderr, "log-forge: %s\n", store_last_error(s));
	else
		printf("index=%llu term=%llu type=%u\n",
		       (unsigned long long)j->first,
		       (unsigned long long)j->entries[0].term,
		       (unsigned)cmd[1]);
	disk_job_free(j);
	store_close(s);
	return rc ? 1 : 0;
}
