/* unit-pg.c — the Check suite of fencing/pg.c, which needs a running
 * PostgreSQL: tests/pg/pg-unit.sh starts one and runs this program with
 * PGTEST_CONNINFO and PGTEST_PID set.  Exit status as tests/unit/unit's. */
#include <stdlib.h>
#include "tests/unit/suites.h"

int main(void)
{
	SRunner *sr = srunner_create(pg_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
