/*
 * sm_cmd.c — the command codec (the payload of a Raft log entry) and the
 * status names.
 *
 * Layout, little-endian (wire.h); "str" is a u32 length then the bytes:
 *
 *   u8 version (1), u8 type, then by type:
 *   acquire  str name, str holder, u64 ttl_ms
 *   renew    str name, str holder, u64 token
 *   release  str name, str holder, u64 token
 *   expire   str name, u64 token, u64 renew_revision
 *   put      str key, str value, str lease (may be empty), u64 token
 *   delete   str key
 *   cas      str key, str value, str lease (may be empty), u64 token,
 *            u64 expected mod revision
 *   floor    str name, u64 token (type 8)
 *
 * A version or type this binary does not know can only come from a newer
 * witness (the encoder writes nothing else): the decoder says so
 * (SM_CMD_UNKNOWN) apart from a malformed command, and sm_apply() stops
 * there rather than skip what the others apply (sm.h).  Hence the rule
 * for changing this format: a new command is a new type, and a command
 * whose fields change (or whose limits widen) is a new version; never
 * reuse a (version, type) pair with other contents, or a witness that
 * does not know them would take the command for a malformed one.
 *
 * A command is checked by the same rules on both sides: the encoder
 * refuses what the decoder would reject, so a bad command is caught where
 * it is made rather than committed to the log and refused by every
 * witness.  Fields a type does not carry must be zero/empty when encoding
 * and are zeroed by the decoder.
 */
#include <string.h>

#include "server/sm_int.h"

#define SM_CMD_VERSION 1

/* Which fields each type carries. */
enum {
	F_NAME = 1 << 0, /* required lease name */
	F_HOLDER = 1 << 1,
	F_TTL = 1 << 2,
	F_TOKEN = 1 << 3, /* required, non-zero */
	F_RENEWREV = 1 << 4,
	F_KEY = 1 << 5,
	F_VALUE = 1 << 6,
	F_ATTACH = 1 << 7, /* optional lease name + token (put, cas) */
	F_EXPECT = 1 << 8,
};

static unsigned type_fields(uint8_t type)
{
	switch (type) {
	case SM_CMD_LEASE_ACQUIRE:
		return F_NAME | F_HOLDER | F_TTL;
	case SM_CMD_LEASE_RENEW:
	case SM_CMD_LEASE_RELEASE:
		return F_NAME | F_HOLDER | F_TOKEN;
	case SM_CMD_LEASE_EXPIRE:
		return F_NAME | F_TOKEN | F_RENEWREV;
	case SM_CMD_PUT:
		return F_KEY | F_VALUE | F_ATTACH;
	case SM_CMD_DELETE:
		return F_KEY;
	case SM_CMD_CAS:
		return F_KEY | F_VALUE | F_ATTACH | F_EXPECT;
	case SM_CMD_LEASE_FLOOR:
		return F_NAME | F_TOKEN;
	}
	return 0;
}

static bool len_in(struct sm_str s, size_t min, size_t max)
{
	return s.len >= min && s.len <= max && (s.len == 0 || s.p != NULL);
}

/* Lease fields; NULL when valid, else why not. */
static const char *check_lease_fields(const struct sm_cmd *c, unsigned f)
{
	if ((f & F_NAME) ? !len_in(c->name, 1, SM_KEY_MAX)
			 : !(f & F_ATTACH) && c->name.len != 0)
		return "bad lease name";
	if ((f & F_HOLDER) ? !len_in(c->holder, 1, SM_HOLDER_MAX)
			   : c->holder.len != 0)
		return "bad holder";
	if ((f & F_TTL) ? !sm_ttl_valid(c->ttl_ms) : c->ttl_ms != 0)
		return "bad ttl";
	if ((f & F_TOKEN) && c->token == 0)
		return "missing token";
	if ((f & F_RENEWREV) && c->revision == 0)
		return "missing renew revision";
	return NULL;
}

static const char *check_key_fields(const struct sm_cmd *c, unsigned f)
{
	if ((f & F_KEY) ? !len_in(c->key, 1, SM_KEY_MAX) : c->key.len != 0)
		return "bad key";
	if ((f & F_VALUE) ? !len_in(c->value, 0, SM_VALUE_MAX)
			  : c->value.len != 0)
		return "bad value";
	if (f & F_ATTACH) {
		/* A lease is named together with the grant it means. */
		if (!len_in(c->name, 0, SM_KEY_MAX))
			return "bad lease name";
		if ((c->name.len == 0) != (c->token == 0))
			return "lease and token go together";
	} else if (!(f & F_TOKEN) && c->token != 0) {
		return "unexpected token";
	}
	if (!(f & (F_RENEWREV | F_EXPECT)) && c->revision != 0)
		return "unexpected revision";
	return NULL;
}

static const char *check_cmd(const struct sm_cmd *c)
{
	unsigned f = type_fields(c->type);
	const char *why;

	if (f == 0)
		return "unknown command type";
	why = check_lease_fields(c, f);
	return why ? why : check_key_fields(c, f);
}

static void put_str(struct wire_writer *w, struct sm_str s)
{
	wire_put_blob(w, s.p, s.len);
}

bool sm_cmd_encode(struct wire_writer *w, const struct sm_cmd *c)
{
	unsigned f = type_fields(c->type);

	if (check_cmd(c) != NULL)
		return false;
	wire_put_u8(w, SM_CMD_VERSION);
	wire_put_u8(w, c->type);
	if (f & F_NAME)
		put_str(w, c->name);
	if (f & F_HOLDER)
		put_str(w, c->holder);
	if (f & F_TTL)
		wire_put_u64(w, c->ttl_ms);
	if (f & F_KEY)
		put_str(w, c->key);
	if (f & F_VALUE)
		put_str(w, c->value);
	if (f & F_ATTACH)
		put_str(w, c->name);
	if (f & (F_TOKEN | F_ATTACH))
		wire_put_u64(w, c->token);
	if (f & (F_RENEWREV | F_EXPECT))
		wire_put_u64(w, c->revision);
	return !w->failed;
}

static struct sm_str get_str(struct wire_reader *r, size_t max)
{
	struct sm_str s;

	s.p = wire_get_blob(r, &s.len, max);
	return s;
}

/* Reads the fields in the order sm_cmd_encode writes them. */
static void read_fields(struct wire_reader *r, unsigned f, struct sm_cmd *c)
{
	if (f & F_NAME)
		c->name = get_str(r, SM_KEY_MAX);
	if (f & F_HOLDER)
		c->holder = get_str(r, SM_HOLDER_MAX);
	if (f & F_TTL)
		c->ttl_ms = wire_get_u64(r);
	if (f & F_KEY)
		c->key = get_str(r, SM_KEY_MAX);
	if (f & F_VALUE)
		c->value = get_str(r, SM_VALUE_MAX);
	if (f & F_ATTACH)
		c->name = get_str(r, SM_KEY_MAX);
	if (f & (F_TOKEN | F_ATTACH))
		c->token = wire_get_u64(r);
	if (f & (F_RENEWREV | F_EXPECT))
		c->revision = wire_get_u64(r);
}

int sm_cmd_decode(const void *buf, size_t len, struct sm_cmd *c,
		  const char **why)
{
	struct wire_reader r;
	const char *err = NULL;
	unsigned f;
	bool unknown = false;

	memset(c, 0, sizeof(*c));
	wire_reader_init(&r, buf, len);
	if (wire_get_u8(&r) != SM_CMD_VERSION) {
		err = r.failed ? "empty command" : "unknown command version";
		unknown = !r.failed;
		goto out;
	}
	c->type = wire_get_u8(&r);
	f = type_fields(c->type);
	if (r.failed || f == 0) {
		err = r.failed ? "truncated command" : "unknown command type";
		unknown = !r.failed;
		goto out;
	}
	read_fields(&r, f, c);
	if (r.failed)
		err = "truncated command or field over its limit";
	else if (!wire_reader_done(&r))
		err = "trailing bytes after command";
	else
		err = check_cmd(c);
out:
	if (why)
		*why = err;
	if (err) {
		memset(c, 0, sizeof(*c));
		return unknown ? SM_CMD_UNKNOWN : -1;
	}
	return 0;
}

const char *sm_status_name(int status)
{
	static const char *const names[] = {
		[SM_OK] = "ok",
		[SM_HELD] = "held",
		[SM_NOT_HOLDER] = "not_holder",
		[SM_NOT_FOUND] = "not_found",
		[SM_COMPARE_FAILED] = "compare_failed",
		[SM_NO_LEASE] = "no_lease",
		[SM_STALE] = "stale",
		[SM_INVALID] = "invalid",
	};

	if (status < 0 || status >= (int)(sizeof(names) / sizeof(names[0])))
		return "unknown";
	return names[status];
}
