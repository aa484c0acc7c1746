/*
 * slots.h — replication slots as pure data: the slot name of a member, the
 * permanent slots of the scope settings (`slot.NAME = physical`,
 * `slot.NAME = logical:DATABASE:PLUGIN`), and the plan that turns the slots
 * a node should have into the creates and drops that get it there.
 *
 * Contract
 * --------
 * No I/O, no clock (the caller passes now_ms): the agent runs the plan
 * (fencing/agent_slots.c), the unit tests check it.  A member's slot name
 * depends on its own name only, so the primary that creates it and the
 * standby that names it in primary_slot_name agree without seeing the same
 * list of members: a name already valid for Postgres ([a-z0-9_], at most
 * 63 bytes) is kept as it is (what Patroni names it), any other is
 * lowered, every other byte made '_', and a hash of the original name
 * appended, so that "db-1" and "db_1" never share a slot.
 *
 * The plan never drops a temporary slot (pg_basebackup's) or an active
 * one, nor a logical one unless listed in prompt (a consumer's position
 * is lost with it: the operator's decision, but for a demoted primary's
 * leftovers).  A physical slot nobody wants any more is dropped once it
 * has been unwanted for grace_ms in a row (a member whose key is gone for
 * a short agent restart keeps its slot), or at once when it is listed in
 * prompt (a standby's leftovers of its time as the primary).  A wanted
 * slot PostgreSQL invalidated (wal_status "lost") is dropped and created
 * again.
 *
 * Errors: slot_spec_parse returns 0 or -1 with one line in err.
 */
#ifndef TENURE_FENCING_SLOTS_H
#define TENURE_FENCING_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLOT_NAME_MAX 64 /* Postgres' NAMEDATALEN: 63 bytes and a NUL */
#define SLOT_DB_MAX 64
#define SLOT_PLUGIN_MAX 64
#define SLOTS_MAX 64 /* slots one plan handles, each list */

enum slot_kind {
	SLOT_PHYSICAL = 0,
	SLOT_LOGICAL
};

/* A slot a node should have. */
struct slot_spec {
	char name[SLOT_NAME_MAX];
	enum slot_kind kind;
	char database[SLOT_DB_MAX];   /* logical only */
	char plugin[SLOT_PLUGIN_MAX]; /* logical only */
};

/* A slot a node has (a row of pg_replication_slots). */
struct slot_actual {
	char name[SLOT_NAME_MAX];
	enum slot_kind kind;
	char database[SLOT_DB_MAX];
	char plugin[SLOT_PLUGIN_MAX];
	bool active, temporary;
	uint64_t retained_bytes; /* WAL it holds back (0: none/unknown) */
	char wal_status[16];     /* reserved, extended, unreserved, lost */
};

/* Since when a slot present on the node has been unwanted (the plan's
 * memory from one run to the next). */
struct slot_memo {
	char name[SLOT_NAME_MAX];
	uint64_t since_ms;
};

struct slot_memory {
	struct slot_memo e[SLOTS_MAX];
	size_t n;
};

struct slots_input {
	const struct slot_spec *want; /* create when missing, never drop */
	size_t n_want;
	const char (*keep)[SLOT_NAME_MAX]; /* never create, never drop */
	size_t n_keep;
	/* unwanted: drop without grace, logical ones too */
	const char (*prompt)[SLOT_NAME_MAX];
	size_t n_prompt;
	const struct slot_actual *have;
	size_t n_have;
	uint64_t now_ms, grace_ms;
	bool logical_ok; /* the node may create logical slots (a primary) */
};

struct slots_plan {
	struct slot_spec create[SLOTS_MAX];
	size_t n_create;
	char drop[SLOTS_MAX][SLOT_NAME_MAX];
	size_t n_drop;
	/* wanted but present with another kind, database or plugin: left
	 * alone, for the operator (logged) */
	char conflict[SLOTS_MAX][SLOT_NAME_MAX];
	size_t n_conflict;
};

/* A valid Postgres slot name: 1 to 63 bytes of [a-z0-9_]. */
bool slot_name_valid(const char *name);

/* member's slot name into out (SLOT_NAME_MAX bytes). */
void slot_name_for_member(const char *member, char *out);

/* `slot.NAME = VALUE` of the scope settings: "physical" or
 * "logical:DATABASE:PLUGIN".  0 or -1 with the reason in err. */
int slot_spec_parse(const char *name, const char *value, struct slot_spec *out,
		    char *err, size_t errlen);

/* The value text of a spec ("physical", "logical:db:plugin"). */
void slot_spec_value(const struct slot_spec *s, char *buf, size_t cap);

/* The plan for in; mem carries what was unwanted since when (updated). */
void slots_plan(const struct slots_input *in, struct slot_memory *mem,
		struct slots_plan *out);

#endif
