#!/bin/sh
# pg-rest.sh — the agent's Patroni-compatible REST API on real PostgreSQL
# 15 (two agents, synchronous mode), with curl as Patroni's tools use it:
#   1. GET /sync, /async, /read-only-sync, /standby-leader, /config,
#      /cluster and /history answer with Patroni's codes and shapes;
#   2. writes need credentials: 401 (with the Basic challenge) without or
#      with a wrong password (POST /restart too), 403 for a read-only
#      credential;
#   3. POST /switchover really switches (200 once the candidate holds the
#      lease), a wrong leader is 412, scheduled_at without a zone 400 and
#      in the past 422;
#   4. PATCH /config changes a setting (GET /config shows it) and refuses
#      a bad one (400, nothing written);
#   5. POST /reload (202, the node's result follows), POST /restart on
#      the replica (200 once its postmaster restarted; 503 when its role
#      does not match), POST /reinitialize refused on the primary (503)
#      and carried out on the replica;
#   6. a switchover scheduled_at a few seconds ahead happens then (202
#      first); a second one is cancelled by DELETE /switchover, a
#      scheduled restart by DELETE /restart.
me=pg-rest
PG_NODES=2
PG_SYNC=on
. "$(dirname "$0")/../lib/pg-lib.sh"

creds="$dir/http-credentials"
"$ctl_bin" auth new rest-admin admin --write-secret "$dir/rest-admin.secret" >"$creds" ||
	fail "tenurectl auth new rest-admin"
"$ctl_bin" auth new rest-viewer read-only --write-secret "$dir/rest-viewer.secret" >>"$creds" ||
	fail "tenurectl auth new rest-viewer"
chmod 644 "$creds"
PG_AGENT_EXTRA="http_credentials_file = '$creds'"
admin="rest-admin:$(cat "$dir/rest-admin.secret")"
viewer="rest-viewer:$(cat "$dir/rest-viewer.secret")"

url() { echo "http://127.0.0.1:$(pg_http_port "$1")$2"; }
# write NODE METHOD PATH BODY [USER:PASSWORD]: status in $code, body in $body
write() {
	body=$(curl -s --max-time 40 -o - -w '\n%{http_code}' -X "$2" \
		${5:+-u "$5"} -H 'Content-Type: application/json' -d "$4" "$(url "$1" "$3")")
	code=$(printf '%s\n' "$body" | tail -n 1)
	body=$(printf '%s\n' "$body" | sed '$d')
}
json() { printf '%s\n' "$1" | jq -c -r "$2"; }
rest_role() { json "$1" ".members[] | select(.name == \"$2\") | .role"; }

pg_start_agents
primary=$(pg_wait_primary 90) || fail "bootstrap: no primary"
replica=$(pg_wait_replicas 1 120) || fail "bootstrap: the standby did not come up"
replica=$(echo $replica)
pg_wait_sync "$primary" 60 1 || fail "bootstrap: the standby is not synchronous"

# ---- 1. reads ----------------------------------------------------------------------------------
for p in /sync /synchronous /read-only-sync; do
	[ "$(pg_http_code "$replica" $p)" = 200 ] || fail "$replica $p: $(pg_http_code "$replica" $p), want 200"
done
[ "$(pg_http_code "$replica" /async)" = 503 ] || fail "$replica /async: not 503"
[ "$(pg_http_code "$primary" /sync)" = 503 ] || fail "$primary /sync: not 503"
[ "$(pg_http_code "$primary" /read-only-sync)" = 200 ] || fail "$primary /read-only-sync: not 200"
[ "$(pg_http_code "$primary" /standby-leader)" = 503 ] || fail "/standby-leader: not 503"
c=$(pg_http "$replica" /cluster)
[ "$(rest_role "$c" "$primary")" = leader ] ||
	fail "/cluster: $primary is not the leader: $c"
[ "$(rest_role "$c" "$replica")" = sync_standby ] ||
	fail "/cluster: $replica is not sync_standby: $c"
[ "$(json "$c" .scope)" = main ] || fail "/cluster: scope: $c"
[ "$(json "$c" '[.members[] | has("host") and has("port") and has("timeline") and has("state") and has("api_url")] | all')" = true ] ||
	fail "/cluster: a member lacks Patroni's fields: $c"
h=$(pg_http "$primary" /history)
[ "$(json "$h" '.[-1] | if length == 5 and (.[0] | type) == "number" then .[4] else "bad" end')" = "$primary" ] ||
	fail "/history is not Patroni's rows ending with $primary: $h"
cf=$(pg_http "$primary" /config)
[ "$(json "$cf" '[.synchronous_mode, .ttl, .loop_wait]')" = "[true,2.5,0.5]" ] ||
	fail "/config: $cf"
echo "reads: /sync /async /read-only-sync /standby-leader /cluster /history /config as Patroni's"

# ---- 2. credentials ----------------------------------------------------------------------------
hdr=$(curl -s -D - -o /dev/null -X POST -d '{}' "$(url "$primary" /switchover)")
printf '%s\n' "$hdr" | grep -q '^HTTP/1.1 401' || fail "POST without credentials: $hdr"
printf '%s\n' "$hdr" | grep -qi '^WWW-Authenticate: Basic realm="tenure"' || fail "no Basic challenge: $hdr"
write "$primary" POST /switchover '{}' "rest-admin:wrong"
[ "$code" = 401 ] || fail "a wrong password: $code $body"
write "$primary" PATCH /config '{"synchronous_node_count":1}' "$viewer"
[ "$code" = 403 ] || fail "a read-only credential: $code $body"
write "$primary" POST /restart '{}'
[ "$code" = 401 ] || fail "POST /restart without credentials: $code $body"
grep -q 'event=http_write_refused' "$dir/$primary-agent.log" || fail "refusals not logged"
echo "credentials: 401 with the challenge (POST /restart too), 403 read-only"

# ---- 3. switchover -----------------------------------------------------------------------------
write "$replica" POST /switchover "{\"leader\":\"$replica\"}" "$admin"
[ "$code" = 412 ] || fail "switchover from a wrong leader: $code $body"
write "$replica" POST /switchover "{\"leader\":\"$primary\",\"scheduled_at\":\"2030-01-01T00:00\"}" "$admin"
[ "$code" = 400 ] || fail "scheduled_at without a zone: $code $body"
write "$replica" POST /switchover "{\"leader\":\"$primary\",\"scheduled_at\":\"2020-01-01T00:00Z\"}" "$admin"
[ "$code" = 422 ] || fail "scheduled_at in the past: $code $body"
write "$replica" POST /switchover "{\"leader\":\"$primary\",\"candidate\":\"$replica\"}" "$admin"
[ "$code" = 200 ] || fail "switchover: $code $body"
printf '%s\n' "$body" | grep -q "Successfully switched over to \"$replica\"" || fail "switchover said: $body"
[ "$(pg_wait_primary 10)" = "$replica" ] || fail "switchover: $replica is not the primary"
echo "POST /switchover: $primary -> $replica ($body)"

# ---- 4. PATCH /config --------------------------------------------------------------------------
write "$replica" PATCH /config '{"loop_wait":0.6,"maximum_lag_on_failover":2097152}' "$admin"
[ "$code" = 200 ] || fail "PATCH /config: $code $body"
[ "$(json "$body" '[.loop_wait, .maximum_lag_on_failover]')" = "[0.6,2097152]" ] ||
	fail "PATCH /config answered: $body"
wait_for 10 sh -c "curl -s '$(url "$primary" /config)' | grep -q '\"loop_wait\":0.600,'" ||
	fail "the agents did not apply loop_wait: $(pg_http "$primary" /config)"
write "$replica" PATCH /config '{"synchronous_node_count":99}' "$admin"
[ "$code" = 400 ] || fail "a bad value: $code $body"
write "$replica" PATCH /config '{"postgresql":{"parameters":{"x":1}}}' "$admin"
[ "$code" = 400 ] || fail "nested settings: $code $body"
"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get main/config -o json | grep -q 'synchronous_node_count' &&
	fail "a refused PATCH wrote: $("$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get main/config)"
echo "PATCH /config: applied, bad values refused"

# ---- 5. reload, restart, reinitialize ------------------------------------------------------------
lead=$replica
follower=$primary
result() { "$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get "main/results/$1" -o json 2>/dev/null | jq -c -r .value; }
# done_ok NODE ACTION: NODE's last result is ACTION, done
done_ok() { [ "$(result "$1" | jq -r '"\(.action) \(.ok)"')" = "$2 true" ]; }
started() { psql_as "$1" "SELECT pg_postmaster_start_time()"; }
write "$follower" POST /reload '' "$admin"
[ "$code" = 202 ] || fail "POST /reload: $code $body"
wait_for 20 done_ok "$follower" reload ||
	fail "no reload result for $follower: $(result "$follower")"
echo "POST /reload: $body -> $(result "$follower")"
pg_wait_replicas 1 60 >/dev/null || fail "the replica is not streaming before the restart"
before=$(started "$follower") || fail "pg_postmaster_start_time on $follower"
write "$follower" POST /restart '{"role":"primary"}' "$admin"
[ "$code" = 503 ] || fail "POST /restart of a replica for role primary: $code $body"
write "$follower" POST /restart '{"role":"replica"}' "$admin"
[ "$code" = 200 ] || fail "POST /restart: $code $body"
printf '%s\n' "$body" | grep -q "restarted successfully" || fail "POST /restart said: $body"
after=$(started "$follower") || fail "pg_postmaster_start_time on $follower after the restart"
[ "$after" != "$before" ] || fail "POST /restart: the postmaster started at $before still"
echo "POST /restart: $follower's postmaster $before -> $after"
write "$lead" POST /reinitialize '{}' "$admin"
[ "$code" = 503 ] || fail "POST /reinitialize on the primary: $code $body"
printf '%s\n' "$body" | grep -q "I am the leader" || fail "POST /reinitialize on the primary said: $body"
pg_wait_replicas 1 60 >/dev/null || fail "the replica is not streaming before the reinit"
su postgres -s /bin/sh -c "touch '$(pg_datadir "$follower")/tenure-marker'" || fail "cannot write the marker"
write "$follower" POST /reinitialize '{"force":true}' "$admin"
[ "$code" = 200 ] || fail "POST /reinitialize: $code $body"
wait_for 120 done_ok "$follower" reinit ||
	fail "no reinit result for $follower: $(result "$follower")"
[ -e "$(pg_datadir "$follower")/tenure-marker" ] && fail "reinit: the marker is still in $follower's data directory"
echo "POST /reinitialize: refused on $lead, $follower re-copied"

# ---- 6. scheduled switchover, cancelled ones ---------------------------------------------------------
pg_wait_sync "$lead" 60 1 || fail "the standby is not synchronous before the scheduled switchover"
is_sync() { [ "$(pg_http_code "$1" /sync)" = 200 ]; }
wait_for 30 is_sync "$follower" ||
	fail "$follower's /sync is not 200 after its re-copy"
at_s=$(($(date +%s) + 5))
write "$follower" POST /switchover "{\"leader\":\"$lead\",\"scheduled_at\":\"$(date -u -d "@$at_s" +%Y-%m-%dT%H:%M:%SZ)\"}" "$admin"
[ "$code" = 202 ] || fail "scheduled switchover: $code $body"
printf '%s\n' "$body" | grep -q "Switchover scheduled" || fail "scheduled switchover said: $body"
new=$(wait_other_primary "$lead" 60) || fail "scheduled switchover: no new primary"
[ "$(date +%s)" -ge "$at_s" ] || fail "the switchover ran before its time"
[ "$new" = "$follower" ] || fail "scheduled switchover: $new took over, not $follower"
echo "scheduled switchover: $lead -> $new at $(date +%T)"
pg_wait_replicas 1 90 >/dev/null || fail "after the switchover: $lead is not a replica again"
pg_wait_sync "$new" 60 1 || fail "after the switchover: $lead is not synchronous"
later=$(date -u -d "@$(($(date +%s) + 300))" +%Y-%m-%dT%H:%M:%SZ)
write "$lead" POST /switchover "{\"leader\":\"$new\",\"scheduled_at\":\"$later\"}" "$admin"
[ "$code" = 202 ] || fail "second scheduled switchover: $code $body"
write "$lead" DELETE /switchover '' "$admin"
[ "$code" = 200 ] || fail "DELETE /switchover: $code $body"
"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get main/switchover >/dev/null 2>&1 &&
	fail "DELETE /switchover left main/switchover"
write "$lead" DELETE /switchover '' "$admin"
[ "$code" = 404 ] || fail "DELETE /switchover with none scheduled: $code $body"
write "$lead" POST /restart "{\"schedule\":\"$later\"}" "$admin"
[ "$code" = 202 ] || fail "scheduled restart: $code $body"
write "$new" POST /restart '{}' "$admin"
[ "$code" = 409 ] || fail "a restart while one is scheduled: $code $body"
write "$lead" DELETE /restart '' "$admin"
[ "$code" = 200 ] || fail "DELETE /restart: $code $body"
"$ctl_bin" --endpoints "$TENURE_ENDPOINTS" get main/restart >/dev/null 2>&1 &&
	fail "DELETE /restart left main/restart"
[ "$(pg_wait_primary 5)" = "$new" ] || fail "the cancelled switchover happened"
echo "ok: Patroni's REST shapes, credentials, switchovers (one scheduled), PATCH /config, reload, restart, reinitialize, cancels"
