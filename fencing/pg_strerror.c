/*
 * pg_strerror.c — pg.h's status names, in a file of their own so that a
 * replacement of pg.c (the fleet benchmark's simulated Postgres) links
 * against the same names instead of a copy.
 */
#include "fencing/pg.h"

const char *pg_strerror(int status)
{
	switch (status) {
	case 0:
		return "ok";
	case PG_ERR_SQL:
		return "SQL error";
	case PG_ERR_CONNECT:
		return "cannot connect";
	case PG_ERR_TIMEOUT:
		return "timed out";
	case PG_ERR_BROKEN:
		return "connection lost";
	case PG_ERR_SHUTDOWN:
		return "connection closed";
	case PG_ERR_RESET:
		return "connection reset";
	case PG_ERR_NOMEM:
		return "out of memory";
	case PG_ERR_INVALID:
		return "invalid argument";
	}
	return "unknown error";
}
