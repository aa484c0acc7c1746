/*
 * ctl_drill_report.c — cluster drill's results: the acknowledged writes
 * the new primary lacks, the agents' history entry, the result kept in
 * S/drills/ (the oldest beyond SCOPE_DRILLS_KEEP pruned), the keys of the
 * drill deleted, and the report as a table or JSON (ctl_drill_int.h).
 */
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_drill_int.h"
#include "fencing/scope_keys.h"

/* ---- results ------------------------------------------------------------------ */

/* The agents' newest history entry, if it is newer than the drill: keys
 * are the tokens, so only those after the old primary's are listed. */
static void newest_history(struct drill *d)
{
	char after[SM_KEY_MAX + 1], err[160];
	struct ctl_pages res;
	struct ctl_pg_event e;
	snprintf(after, sizeof(after), "%s/history/%020llu", d->scope,
		 (unsigned long long)d->old_token);
	if (drill_list_pages(d, "history/", after, &res, true) == CTL_EXIT_OK)
		for (size_t i = 0; i < res.count; i++)
			if (ctl_pg_event_decode(res.kvs[i].value.p,
						res.kvs[i].value.len, &e, err,
						sizeof(err)) &&
			    e.token > d->old_token &&
			    (!d->has_hist || e.token > d->hist.token)) {
				d->hist = e;
				d->has_hist = true;
			}
	ctl_pages_free(&res);
}

void drill_measure(struct drill *d)
{
	ctl_probe_stop(d->probe);
	ctl_probe_stats(d->probe, &d->st);
	if (d->st.first_new_ms && d->new_addr[0])
		d->lost_known = ctl_probe_count_lost(d->probe, d->new_addr,
						     &d->lost, &d->first_lost,
						     d->lost_error,
						     sizeof(d->lost_error)) ==
				0;
	else
		snprintf(d->lost_error, sizeof(d->lost_error),
			 "no write was "
			 "acknowledged by a new primary");
	newest_history(d);
}

static uint64_t rto_ms(const struct drill *d)
{
	uint64_t from = d->st.last_before_ms ? d->st.last_before_ms
					     : d->probe_mono;
	return d->st.first_new_ms - from;
}

void drill_put_kcstr(struct json *j, const char *key, const char *s)
{
	struct client_str v = { s, strlen(s) };
	json_key(j, key);
	ctl_json_cstr_or_null(j, v);
}

void drill_put_ku64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void drill_put_ksecs(struct json *j, const char *key, bool known, int64_t ms)
{
	json_key(j, key);
	if (known)
		json_double(j, (double)ms / 1000.0);
	else
		json_null(j);
}

static void json_timeline(struct json *j, const struct drill *d)
{
	json_key(j, "timeline");
	json_list(j);
	for (size_t i = 0; i < d->n_tl; i++) {
		const struct tl_entry *e = &d->tl[i];
		json_object(j);
		drill_put_ksecs(j, "t_s", true, e->t_ms);
		drill_put_kcstr(j, "node", e->node);
		drill_put_kcstr(j, "role", e->role);
		drill_put_kcstr(j, "state", e->state);
		drill_put_kcstr(j, "lease_holder", e->holder);
		drill_put_ku64(j, "lease_token", e->token);
		json_end(j);
	}
	json_end(j);
	if (d->tl_dropped)
		drill_put_ku64(j, "timeline_dropped", d->tl_dropped);
}

static void json_figures(struct json *j, const struct drill *d)
{
	bool acked_new = d->st.first_new_ms != 0;
	drill_put_ksecs(j, "rto_s", acked_new,
			(int64_t)(acked_new ? rto_ms(d) : 0));
	drill_put_ksecs(j, "time_to_new_primary_s", acked_new,
			(int64_t)d->st.first_new_ms - (int64_t)d->trigger_mono);
	drill_put_ksecs(j, "longest_gap_s", true,
			(int64_t)d->st.longest_gap_ms);
	drill_put_ku64(j, "acked", d->st.acked);
	drill_put_ku64(j, "writes", d->st.writes);
	drill_put_ku64(j, "failed_writes", d->st.writes - d->st.acked);
	json_key(j, "lost");
	if (d->lost_known)
		json_u64(j, d->lost);
	else
		json_null(j);
	if (d->lost)
		drill_put_ku64(j, "first_lost_id", d->first_lost);
	drill_put_ku64(j, "first_id", d->st.first_id);
	json_key(j, "old_rejoined");
	json_bool(j, d->old_back);
	drill_put_ksecs(j, "old_rejoined_s", d->old_back, d->old_back_ms);
}

static void write_result(const struct drill *d, FILE *f)
{
	struct json j;
	char when[40];
	json_init_file(&j, f, 0);
	json_object(&j);
	drill_put_kcstr(&j, "kind", d->kind);
	drill_put_kcstr(&j, "scope", d->scope);
	drill_put_ku64(&j, "time_ms", d->trigger_wall);
	drill_put_kcstr(&j, "time",
			ctl_pg_iso_time(d->trigger_wall, when, sizeof(when)));
	drill_put_kcstr(&j, "old", d->old);
	drill_put_ku64(&j, "old_token", d->old_token);
	drill_put_kcstr(&j, "new", d->new_name);
	drill_put_ku64(&j, "new_token", d->new_token);
	if (!d->failover)
		drill_put_kcstr(&j, "candidate", d->cand);
	json_key(&j, "ok");
	json_bool(&j, !d->error[0] && d->lost_known && !d->lost);
	drill_put_kcstr(&j, "error", d->error);
	json_figures(&j, d);
	drill_put_kcstr(&j, "key", d->result_key);
	json_key(&j, "history");
	if (d->has_hist)
		ctl_pg_json_event(&j, &d->hist);
	else
		json_null(&j);
	json_timeline(&j, d);
	json_end(&j);
}

/* S/drills/<trigger ms> = the result, for `cluster history`. */
void drill_keep_result(struct drill *d)
{
	char *buf = NULL;
	size_t len = 0;
	struct client_request q = { .op = CLIENT_OP_PUT };
	struct tclient_result res;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	write_result(d, f);
	fclose(f);
	while (len && buf[len - 1] == '\n')
		len--;
	if (len > SM_VALUE_MAX) {
		fprintf(stderr,
			CTL_PROG ": warning: the result (%zu bytes) is "
				 "too big to keep in %s\n",
			len, d->result_key);
		free(buf);
		return;
	}
	q.key = ctl_str(d->result_key);
	q.value.p = buf;
	q.value.len = len;
	d->kept = ctl_call(d->c, &q, "put", &res) == CTL_EXIT_OK;
	tclient_result_free(&res);
	free(buf);
}

/* Only the newest SCOPE_DRILLS_KEEP results stay: each is several KB and
 * a drill a day would otherwise grow S/drills/ forever.  Keys are the
 * trigger's ms, so the oldest come first.  A failure only warns: the
 * next drill prunes again. */
void drill_prune_drills(struct drill *d)
{
	struct ctl_pages p;
	size_t gone = 0, n = 0;
	int code = drill_list_pages(d, "drills/", NULL, &p, true);
	if (code == CTL_EXIT_OK)
		n = scope_prune_count(p.count, SCOPE_DRILLS_KEEP);
	for (size_t i = 0; code != CTL_EXIT_ERROR && i < n; i++) {
		struct client_request q = { .op = CLIENT_OP_DELETE };
		struct tclient_result res;
		q.key = p.kvs[i].key;
		code = drill_call(d, &q, "del", &res, true);
		tclient_result_free(&res);
		gone += code == CTL_EXIT_OK;
	}
	ctl_pages_free(&p);
	if (code == CTL_EXIT_ERROR)
		fprintf(stderr,
			CTL_PROG
			": warning: could not delete the "
			"drill results beyond the newest %d under %s/drills/ "
			"(%zu deleted); the next drill tries again\n",
			SCOPE_DRILLS_KEEP, d->scope, gone);
}

/* Whatever happened: no request of ours stays behind. */
void drill_clean_keys(struct drill *d)
{
	char key[SM_KEY_MAX + 1];
	struct client_request q = { .op = CLIENT_OP_DELETE };
	struct tclient_result res;
	if (!d->triggered)
		return;
	/* a switchover that happened was deleted by the agents already */
	if (!d->failover && d->new_name[0])
		return;
	drill_scoped(key, sizeof(key), d->scope,
		     d->failover ? "drill" : "switchover");
	q.key = ctl_str(key);
	int code = drill_call(d, &q, "del", &res, true);
	tclient_result_free(&res);
	if (code == CTL_EXIT_ERROR)
		fprintf(stderr,
			CTL_PROG ": warning: could not delete %s; "
				 "delete it with '" CTL_PROG " del %s'\n",
			key, key);
	else if (code == CTL_EXIT_OK && !d->failover)
		fprintf(stderr,
			CTL_PROG ": the switchover request %s was "
				 "withdrawn\n",
			key);
}

static void print_report(const struct drill *d)
{
	char when[40];
	printf("\n");
	if (d->new_name[0])
		printf("result: %s moved from %s to %s (token %llu -> %llu)\n",
		       d->kind, d->old, d->new_name,
		       (unsigned long long)d->old_token,
		       (unsigned long long)d->new_token);
	else
		printf("result: %s of %s: no new primary\n", d->kind, d->old);
	if (d->st.first_new_ms) {
		printf("  RTO (no acknowledged write):   %.2f s\n",
		       drill_secs(rto_ms(d)));
		printf("  trigger to first write on %s: %.2f s\n", d->new_name,
		       drill_secs(d->st.first_new_ms - d->trigger_mono));
	}
	printf("  writes: %llu sent, %llu acknowledged\n",
	       (unsigned long long)d->st.writes,
	       (unsigned long long)d->st.acked);
	if (d->lost_known)
		printf("  RPO: %llu acknowledged write%s lost%s\n",
		       (unsigned long long)d->lost, d->lost == 1 ? "" : "s",
		       d->lost ? "  <-- DATA LOSS" : "");
	else
		printf("  RPO: unknown (%s)\n", d->lost_error);
	if (d->old_back)
		printf("  %s back as a replica after %.2f s\n", d->old,
		       (double)d->old_back_ms / 1000.0);
	else
		printf("  %s not back as a replica (now %s)\n", d->old,
		       d->old_now);
	if (d->has_hist)
		printf("  agents' history: %s %s -> %s, %s, token %llu, "
		       "unavailable %.2f s\n",
		       ctl_pg_iso_time(d->hist.time_ms, when, sizeof(when)),
		       d->hist.old[0] ? d->hist.old : "-", d->hist.new_name,
		       d->hist.reason, (unsigned long long)d->hist.token,
		       drill_secs(d->hist.unavailable_ms));
	if (d->kept)
		printf("  kept in %s (see '" CTL_PROG " cluster history')\n",
		       d->result_key);
}

/* Prints the outcome; the exit code. */
int drill_report(struct drill *d)
{
	if (d->c->format == CTL_JSON)
		write_result(d, stdout);
	else
		print_report(d);
	if (d->lost_known && d->lost) {
		fprintf(stderr,
			CTL_PROG
			": DATA LOSS: %llu acknowledged "
			"write%s missing on the new primary %s (first id "
			"%llu)\n",
			(unsigned long long)d->lost,
			d->lost == 1 ? " is" : "s are", d->new_name,
			(unsigned long long)d->first_lost);
		return CTL_EXIT_NO;
	}
	if (d->error[0])
		fprintf(stderr, CTL_PROG ": drill %s\n", d->error);
	else if (!d->lost_known)
		fprintf(stderr, CTL_PROG ": could not count lost writes: %s\n",
			d->lost_error);
	if (d->st.errors && (d->error[0] || !d->lost_known))
		fprintf(stderr, CTL_PROG ": the probe's last error: %s\n",
			d->st.last_error);
	if (d->error[0] || !d->lost_known || !d->kept)
		return CTL_EXIT_ERROR;
	return CTL_EXIT_OK;
}
