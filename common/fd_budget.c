/*
 * fd_budget.c — see fd_budget.h.
 */
#include <sys/resource.h>

#include "common/fd_budget.h"

uint64_t fd_budget(unsigned reserve)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return FD_BUDGET_UNLIMITED;
	if (rl.rlim_cur <= reserve)
		return 0;
	return (uint64_t)rl.rlim_cur - reserve;
}
