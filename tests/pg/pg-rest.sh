#!/bin/sh
# pg-rest.sh — the agent's Patroni-compatible REST API on real PostgreSQL
# 15 (two agents, synchronous mode), with curl as Patroni's tools use it:
#   1. GET /sync, /async, /read-only-sync, /standby-leader, /config,
#      /cluster and /history answer with Patroni's codes and shapes;
#   2. writes need credentials: 401 (with the Basic challenge) without or
#      with a wrong password, 403 for a read-only credential, 501 for
#      POST /restart;
#   3. POST /switchover really switches (200 once the candidate holds the
#      lease), a wrong leader is 412;
#   4. PATCH /config changes a setting (GET /config shows it) and refuses
#      a bad one (400, nothing written).
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
write "$primary" POST /restart '{}' "$admin"
[ "$code" = 501 ] || fail "POST /restart: $code $body"
grep -q 'event=http_write_refused' "$dir/$primary-agent.log" || fail "refusals not logged"
echo "credentials: 401 with the challenge, 403 read-only, 501 restart"

# ---- 3. switchover -----------------------------------------------------------------------------
write "$replica" POST /switchover "{\"leader\":\"$replica\"}" "$admin"
[ "$code" = 412 ] || fail "switchover from a wrong leader: $code $body"
write "$replica" POST /switchover "{\"leader\":\"$primary\",\"scheduled_at\":\"2030-01-01T00:00+00\"}" "$admin"
[ "$code" = 400 ] || fail "scheduled_at: $code $body"
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
echo "ok: Patroni's REST shapes, credentials, a real switchover and PATCH /config"
