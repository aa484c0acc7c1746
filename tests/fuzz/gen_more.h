/* gen_more.h — seeds of fuzz_client and fuzz_sm (gen_more.c). */
#ifndef TENURE_TESTS_FUZZ_GEN_MORE_H
#define TENURE_TESTS_FUZZ_GEN_MORE_H
void gen_more_seeds(const char *dir);
#endif
