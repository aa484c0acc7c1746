/*
 * ctl_confirm.h — the question tenurectl asks before changing the cluster
 * (the times it is given, --scheduled, are common/wall_time.h's).
 *
 * Contract
 * --------
 * ctl_confirm() reads stdin.
 *
 * Errors: ctl_confirm returns 0 (go on) or the exit code after it said
 * why not.
 */
#ifndef TENURE_CTL_CONFIRM_H
#define TENURE_CTL_CONFIRM_H

#include <stdbool.h>

struct ctl;
/* Prints what (one paragraph) and asks "[y/N]" on the terminal; skip
 * (--force, --yes) goes on without asking.  Without a terminal and
 * without skip it refuses (exit 2) naming the option that skips it. */
int ctl_confirm(struct ctl *c, const char *what, bool skip,
		const char *skip_option);

#endif
