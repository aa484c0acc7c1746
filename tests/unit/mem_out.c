/* mem_out.c — a FILE that writes to memory (see mem_out.h). */
#include "tests/unit/mem_out.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

void mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	ck_assert_ptr_nonnull(m->f);
}

void mem_expect(struct mem *m, const char *want)
{
	fclose(m->f);
	ck_assert_msg(strcmp(m->buf, want) == 0, "got:\n%s\nwant:\n%s", m->buf,
		      want);
	free(m->buf);
}
