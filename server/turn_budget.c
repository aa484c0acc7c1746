/*
 * turn_budget.c — see turn_budget.h.
 */
#include "server/turn_budget.h"

void turn_budget_init(struct turn_budget *t, uint64_t budget_ns)
{
	t->budget_ns = budget_ns;
	t->start_ns = 0;
	t->open = false;
}

bool turn_budget_spent(struct turn_budget *t, uint64_t now_ns)
{
	if (!t->open) {
		t->open = true;
		t->start_ns = now_ns;
	}
	return now_ns - t->start_ns >= t->budget_ns;
}

void turn_budget_end(struct turn_budget *t)
{
	t->open = false;
}
