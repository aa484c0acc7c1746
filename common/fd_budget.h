/*
 * fd_budget.h — how many descriptors a daemon may spend on the
 * connections it accepts: the open-files limit less a reserve for what
 * it cannot do without (its files, its outgoing connections, libuv's
 * own).  A listener capped within this budget refuses a flood itself,
 * with a log line; without a cap, accept() fails with EMFILE and libuv
 * resets waiting connections of every listener with nothing logged, and
 * the daemon can no longer open a file.
 *
 * Errors: none; a limit that cannot be read counts as no limit.
 */
#ifndef TENURE_COMMON_FD_BUDGET_H
#define TENURE_COMMON_FD_BUDGET_H

#include <stdint.h>

#define FD_BUDGET_UNLIMITED UINT64_MAX

/* RLIMIT_NOFILE's soft limit less reserve: 0 when nothing is left,
 * FD_BUDGET_UNLIMITED without a limit. */
uint64_t fd_budget(unsigned reserve);

#endif
