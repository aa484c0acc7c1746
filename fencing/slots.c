/*
 * slots.c — see slots.h.
 */
#include <stdio.h>
#include <string.h>

#include "fencing/slots.h"

static bool slot_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool slot_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= SLOT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!slot_char(name[i]))
			return false;
	return true;
}

/* FNV-1a: a stable 32-bit hash, the same on every host and build. */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

void slot_name_for_member(const char *member, char *out)
{
	if (slot_name_valid(member)) {
		snprintf(out, SLOT_NAME_MAX, "%s", member);
		return;
	}
	/* room for "_" and 8 hex digits after the sanitized name */
	size_t room = SLOT_NAME_MAX - 1 - 9, n = 0;
	for (const char *p = member; *p && n < room; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c + 32);
		out[n++] = slot_char(c) ? c : '_';
	}
	snprintf(out + n, SLOT_NAME_MAX - n, "_%08x", fnv1a(member));
}

/* The next ':'-separated field of *p into buf; false when empty or too
 * long. */
static bool field(const char **p, char *buf, size_t cap)
{
	const char *end = strchr(*p, ':');
	size_t n = end ? (size_t)(end - *p) : strlen(*p);
	if (n == 0 || n >= cap)
		return false;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n + (end ? 1 : 0);
	return true;
}

static bool plain_word(const char *s)
{
	for (; *s; s++)
		if (!slot_char(*s) && !(*s >= 'A' && *s <= 'Z') && *s != '-' &&
		    *s != '.')
			return false;
	return true;
}

int slot_spec_parse(const char *name, const char *value, struct slot_spec *out,
		    char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!slot_name_valid(name)) {
		snprintf(err, errlen,
			 "slot.%s: a slot name is 1 to 63 characters of "
			 "a-z, 0-9 and _",
			 name);
		return -1;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (strcmp(value, "physical") == 0) {
		out->kind = SLOT_PHYSICAL;
		return 0;
	}
	const char *p = value;
	out->kind = SLOT_LOGICAL;
	if (strncmp(p, "logical:", 8) == 0) {
		p += 8;
		if (field(&p, out->database, sizeof(out->database)) &&
		    field(&p, out->plugin, sizeof(out->plugin)) && !*p &&
		    plain_word(out->database) && plain_word(out->plugin))
			return 0;
	}
	snprintf(err, errlen,
		 "slot.%s = '%s': expected 'physical' or "
		 "'logical:DATABASE:PLUGIN' (e.g. logical:app:pgoutput)",
		 name, value);
	return -1;
}

void slot_spec_value(const struct slot_spec *s, char *buf, size_t cap)
{
	if (s->kind == SLOT_PHYSICAL)
		snprintf(buf, cap, "physical");
	else
		snprintf(buf, cap, "logical:%s:%s", s->database, s->plugin);
}

/* ---- the plan ---------------------------------------------------------- */

static const struct slot_spec *find_spec(const struct slots_input *in,
					 const char *name)
{
	for (size_t i = 0; i < in->n_want; i++)
		if (strcmp(in->want[i].name, name) == 0)
			return &in->want[i];
	return NULL;
}

static bool in_names(const char (*list)[SLOT_NAME_MAX], size_t n,
		     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static const struct slot_actual *find_have(const struct slots_input *in,
					   const char *name)
{
	for (size_t i = 0; i < in->n_have; i++)
		if (strcmp(in->have[i].name, name) == 0)
			return &in->have[i];
	return NULL;
}

static bool same_slot(const struct slot_spec *w, const struct slot_actual *h)
{
	if (w->kind != h->kind)
		return false;
	return w->kind == SLOT_PHYSICAL ||
	       (strcmp(w->database, h->database) == 0 &&
		strcmp(w->plugin, h->plugin) == 0);
}

/* Since when name has been unwanted: its memo, or a new one from now. */
static uint64_t unwanted_since(struct slot_memory *old,
			       struct slot_memory *next, const char *name,
			       uint64_t now)
{
	uint64_t since = now;
	for (size_t i = 0; i < old->n; i++)
		if (strcmp(old->e[i].name, name) == 0)
			since = old->e[i].since_ms;
	if (next->n < SLOTS_MAX) {
		snprintf(next->e[next->n].name, SLOT_NAME_MAX, "%s", name);
		next->e[next->n++].since_ms = since;
	}
	return since;
}

static void plan_wanted(const struct slots_input *in, struct slots_plan *out)
{
	for (size_t i = 0; i < in->n_want; i++) {
		const struct slot_spec *w = &in->want[i];
		const struct slot_actual *h = find_have(in, w->name);
		if (h && !same_slot(w, h) && out->n_conflict < SLOTS_MAX)
			snprintf(out->conflict[out->n_conflict++],
				 SLOT_NAME_MAX, "%s", w->name);
		/* invalidated by max_slot_wal_keep_size: it can never serve
		 * again; a new one serves the member once it is copied anew */
		bool lost = h && same_slot(w, h) && !h->active &&
			    strcmp(h->wal_status, "lost") == 0;
		if (lost && out->n_drop < SLOTS_MAX)
			snprintf(out->drop[out->n_drop++], SLOT_NAME_MAX, "%s",
				 w->name);
		if ((h && !lost) || out->n_create >= SLOTS_MAX)
			continue;
		if (w->kind == SLOT_LOGICAL && !in->logical_ok)
			continue;
		out->create[out->n_create++] = *w;
	}
}

void slots_plan(const struct slots_input *in, struct slot_memory *mem,
		struct slots_plan *out)
{
	struct slot_memory next = { .n = 0 };
	memset(out, 0, sizeof(*out));
	plan_wanted(in, out);
	for (size_t i = 0; i < in->n_have; i++) {
		const struct slot_actual *h = &in->have[i];
		bool prompt = in_names(in->prompt, in->n_prompt, h->name);
		if ((h->kind != SLOT_PHYSICAL && !prompt) || h->temporary ||
		    find_spec(in, h->name) ||
		    in_names(in->keep, in->n_keep, h->name))
			continue;
		/* counted even while active: a standby still streaming when
		 * its member key went has been unwanted since then */
		uint64_t since = unwanted_since(mem, &next, h->name,
						in->now_ms);
		if (h->active || out->n_drop >= SLOTS_MAX)
			continue;
		if (prompt || in->now_ms - since >= in->grace_ms)
			snprintf(out->drop[out->n_drop++], SLOT_NAME_MAX, "%s",
				 h->name);
	}
	*mem = next;
}
