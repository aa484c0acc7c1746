/* suites.h — every Check suite of tests/unit/unit, one constructor per
 * module. */
#ifndef TENURE_TESTS_SUITES_H
#define TENURE_TESTS_SUITES_H
#include <check.h>

Suite *config_suite(void);         /* raft/config.c */
Suite *log_suite(void);            /* raft/log.c */
Suite *raft_rules_suite(void);     /* Raft paper, Figure 2, rule by rule */
Suite *crc32c_suite(void);         /* common/crc32c.c */
Suite *log_throttle_suite(void);   /* common/log_throttle.c */
Suite *scram_suite(void);          /* common/scram.c */
Suite *exposure_suite(void);       /* server/exposure.c, fencing/exposure.c */
Suite *auth_suite(void);           /* proto/credentials.c, auth_policy.c */
Suite *store_suite(void);          /* raft/store*.c */
Suite *wire_suite(void);           /* proto/wire.c */
Suite *frame_suite(void);          /* proto/frame.c */
Suite *peer_suite(void);           /* proto/peer.c */
Suite *client_proto_suite(void);   /* proto/client.c */
Suite *tclient_suite(void);        /* proto/tclient*.c */
Suite *sm_suite(void);             /* server/sm*.c */
Suite *transport_suite(void);      /* server/transport.c */
Suite *read_queue_suite(void);     /* server/read_queue.c */
Suite *stall_grace_suite(void);    /* server/stall_grace.c */
Suite *watch_index_suite(void);    /* server/watch_index.c, turn_budget.c */
Suite *conf_suite(void);           /* common/conf*.c */
Suite *json_suite(void);           /* common/json.c, buf.c */
Suite *lease_clock_suite(void);    /* server/lease_clock.c */
Suite *scope_rate_suite(void);     /* server/scope_rate.c, scope_limits.c */
Suite *scope_admit_suite(void);    /* server/scope_admit.c */
Suite *disk_health_suite(void);    /* server/disk_health.c */
Suite *ctl_output_suite(void);     /* ctl/ctl_output.c */
Suite *lincheck_suite(void);       /* tests/helpers/lincheck.c */
Suite *member_suite(void);         /* fencing/member.c, flatjson.c, roster.c */
Suite *api_suite(void);            /* fencing/api.c */
Suite *http_auth_suite(void);      /* fencing/http_auth.c */
Suite *ctl_pgcluster_suite(void);  /* ctl/ctl_pgoutput.c */
Suite *ctl_pgmove_suite(void);     /* ctl/ctl_pgmove_plan.c */
Suite *pgprobe_suite(void);        /* tests/helpers/pgprobe_check.c */
Suite *nemcheck_suite(void);       /* tests/helpers/nemcheck.c */
Suite *spawn_suite(void);          /* fencing/spawn.c */
Suite *hook_cmd_suite(void);       /* fencing/hook_cmd.c */
Suite *callback_queue_suite(void); /* fencing/callback_queue.c */
Suite *renew_retry_suite(void);    /* fencing/renew_retry.c */
Suite *view_currency_suite(void);  /* fencing/view_currency.c */
Suite *lease_trace_suite(void);    /* fencing/lease_trace.c */
Suite *member_lease_suite(void);   /* fencing/member_lease.c */
Suite *record_lease_suite(void);   /* fencing/record_lease.c */
Suite *fence_pg_suite(void);       /* fencing/fence_pg.c */
Suite *guard_suite(void);          /* fencing/guard.c */
Suite *watchdog_suite(void);       /* fencing/watchdog.c */
Suite *stonith_suite(void);        /* fencing/stonith.c */
Suite *pgconf_suite(void);         /* fencing/pgconf.c */
Suite *controldata_suite(void);    /* fencing/controldata.c */
Suite *preflight_suite(void);      /* fencing/preflight.c */
Suite *decide_suite(void);         /* fencing/decide.c */
Suite *scope_conf_suite(void);     /* fencing/scope_conf.c */
Suite *standby_suite(void);        /* fencing/standby_cluster.c */
Suite *bootstrap_conf_suite(void); /* fencing/bootstrap_conf.c */
Suite *slots_suite(void);          /* fencing/slots.c */
Suite *pg_params_suite(void);      /* fencing/pg_params.c */
Suite *optime_suite(void);         /* fencing/optime.c */
Suite *requests_suite(void);       /* fencing/requests.c */
Suite *api_body_suite(void);       /* fencing/api_body.c */
Suite *wall_time_suite(void);      /* common/wall_time.c */
Suite *startfail_suite(void);      /* fencing/startfail.c */
Suite *standby_settings_suite(void); /* fencing/standby_settings.c, aside.c */
Suite *stanza_borrow_suite(void);    /* fencing/stanza_borrow.c */
Suite *scope_keys_suite(void);       /* fencing/scope_keys.c */
Suite *sd_notify_suite(void);        /* common/sd_notify.c */
Suite *tls_suite(void);  /* common/tls*.c, stream.c, http.c over TLS */
Suite *http_suite(void); /* common/http.c bounds, http_request.c */
Suite *transport_cert_suite(void);    /* server/transport_cert.c */
Suite *netdelay_sched_suite(void);    /* tests/helpers/netdelay_sched.c */
Suite *snapshot_schedule_suite(void); /* server/snapshot_schedule.c */
Suite *duration_hist_suite(void);     /* server/duration_hist.c */
/* tests/unit/unit-pg only (needs a real server, see tests/pg/pg-unit.sh): */
Suite *pg_suite(void); /* fencing/pg.c */

#endif
