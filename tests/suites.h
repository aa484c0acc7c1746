/* suites.h — every Check suite of tests/unit, one constructor per module. */
#ifndef TENURE_TESTS_SUITES_H
#define TENURE_TESTS_SUITES_H
#include <check.h>

Suite *config_suite(void);      /* raft/config.c */
Suite *log_suite(void);         /* raft/log.c */
Suite *raft_rules_suite(void);  /* Raft paper, Figure 2, rule by rule */
Suite *crc32c_suite(void);      /* raft/crc32c.c */
Suite *store_suite(void);       /* raft/store*.c */
Suite *wire_suite(void);        /* proto/wire.c */
Suite *frame_suite(void);       /* proto/frame.c */
Suite *peer_suite(void);        /* proto/peer.c */
Suite *client_proto_suite(void); /* proto/client.c */
Suite *tclient_suite(void);     /* proto/tclient*.c */
Suite *sm_suite(void);          /* server/sm*.c */
Suite *transport_suite(void);   /* server/transport.c */
Suite *conf_suite(void);        /* server/conf.c */
Suite *lease_clock_suite(void); /* server/lease_clock.c */
Suite *ctl_output_suite(void);  /* server/ctl/ctl_output.c */
Suite *lincheck_suite(void);    /* tests/lincheck.c */

#endif
