/* unit.c — runs every Check suite; exit status is the number of failures
 * (capped), so `make check` fails on any of them.  CK_RUN_SUITE=name runs
 * one suite (Check's own variable). */
#include <stdlib.h>
#include "tests/unit/suites.h"

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, raft_rules_suite());
	srunner_add_suite(sr, crc32c_suite());
	srunner_add_suite(sr, log_throttle_suite());
	srunner_add_suite(sr, scram_suite());
	srunner_add_suite(sr, auth_suite());
	srunner_add_suite(sr, exposure_suite());
	srunner_add_suite(sr, json_suite());
	srunner_add_suite(sr, store_suite());
	srunner_add_suite(sr, wire_suite());
	srunner_add_suite(sr, frame_suite());
	srunner_add_suite(sr, peer_suite());
	srunner_add_suite(sr, client_proto_suite());
	srunner_add_suite(sr, tclient_suite());
	srunner_add_suite(sr, sm_suite());
	srunner_add_suite(sr, transport_suite());
	srunner_add_suite(sr, watch_index_suite());
	srunner_add_suite(sr, read_queue_suite());
	srunner_add_suite(sr, stall_grace_suite());
	srunner_add_suite(sr, snapshot_schedule_suite());
	srunner_add_suite(sr, duration_hist_suite());
	srunner_add_suite(sr, conf_suite());
	srunner_add_suite(sr, lease_clock_suite());
	srunner_add_suite(sr, scope_rate_suite());
	srunner_add_suite(sr, scope_admit_suite());
	srunner_add_suite(sr, disk_health_suite());
	srunner_add_suite(sr, ctl_output_suite());
	srunner_add_suite(sr, lincheck_suite());
	srunner_add_suite(sr, member_suite());
	srunner_add_suite(sr, api_suite());
	srunner_add_suite(sr, http_auth_suite());
	srunner_add_suite(sr, ctl_pgcluster_suite());
	srunner_add_suite(sr, ctl_pgmove_suite());
	srunner_add_suite(sr, pgprobe_suite());
	srunner_add_suite(sr, netdelay_sched_suite());
	srunner_add_suite(sr, nemcheck_suite());
	srunner_add_suite(sr, spawn_suite());
	srunner_add_suite(sr, hook_cmd_suite());
	srunner_add_suite(sr, callback_queue_suite());
	srunner_add_suite(sr, fence_pg_suite());
	srunner_add_suite(sr, guard_suite());
	srunner_add_suite(sr, watchdog_suite());
	srunner_add_suite(sr, stonith_suite());
	srunner_add_suite(sr, pgconf_suite());
	srunner_add_suite(sr, controldata_suite());
	srunner_add_suite(sr, preflight_suite());
	srunner_add_suite(sr, decide_suite());
	srunner_add_suite(sr, scope_conf_suite());
	srunner_add_suite(sr, standby_suite());
	srunner_add_suite(sr, stanza_borrow_suite());
	srunner_add_suite(sr, bootstrap_conf_suite());
	srunner_add_suite(sr, slots_suite());
	srunner_add_suite(sr, pg_params_suite());
	srunner_add_suite(sr, optime_suite());
	srunner_add_suite(sr, requests_suite());
	srunner_add_suite(sr, wall_time_suite());
	srunner_add_suite(sr, api_body_suite());
	srunner_add_suite(sr, startfail_suite());
	srunner_add_suite(sr, renew_retry_suite());
	srunner_add_suite(sr, view_currency_suite());
	srunner_add_suite(sr, lease_trace_suite());
	srunner_add_suite(sr, member_lease_suite());
	srunner_add_suite(sr, record_lease_suite());
	srunner_add_suite(sr, standby_settings_suite());
	srunner_add_suite(sr, scope_keys_suite());
	srunner_add_suite(sr, sd_notify_suite());
	srunner_add_suite(sr, tls_suite());
	srunner_add_suite(sr, http_suite());
	srunner_add_suite(sr, transport_cert_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
