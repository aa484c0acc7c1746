/* suites.h — every Check suite of tests/unit, one constructor per module. */
#ifndef TENURE_TESTS_SUITES_H
#define TENURE_TESTS_SUITES_H
#include <check.h>

Suite *config_suite(void);      /* raft/config.c */
Suite *log_suite(void);         /* raft/log.c */
Suite *raft_rules_suite(void);  /* Raft paper, Figure 2, rule by rule */
Suite *crc32c_suite(void);      /* raft/crc32c.c */
Suite *store_suite(void);       /* raft/store*.c */

#endif
