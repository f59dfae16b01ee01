/* A minimal test harness: CHECK macros count failures, check_report() prints
 * the tally and gives main's exit status. */
#ifndef PODWIRE_TEST_CHECK_H
#define PODWIRE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_total, check_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        check_total++;                                                                \
        if (!(cond)) {                                                                \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

#define CHECK_STR(got, want)                                                          \
    do {                                                                              \
        const char *g_ = (got), *w_ = (want);                                         \
        check_total++;                                                                \
        if (!g_ || !w_ || strcmp(g_, w_) != 0) {                                      \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s\n  got:  %s\n  want: %s\n",  \
                    __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
        }                                                                             \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                   \
    do {                                                                              \
        const char *h_ = (hay), *n_ = (needle);                                       \
        check_total++;                                                                \
        if (!h_ || !strstr(h_, n_)) {                                                 \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK_CONTAINS failed: %s\n  in:     %s\n"        \
                    "  wanted: %s\n", __FILE__, __LINE__, #hay, h_ ? h_ : "(null)", n_); \
        }                                                                             \
    } while (0)

#define CHECK_MEM(got, got_len, want, want_len)                                       \
    do {                                                                              \
        check_total++;                                                                \
        if ((size_t)(got_len) != (size_t)(want_len) ||                                \
            ((want_len) && memcmp((got), (want), (want_len)) != 0)) {                 \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK_MEM failed: %s (%zu bytes, want %zu)\n",    \
                    __FILE__, __LINE__, #got, (size_t)(got_len), (size_t)(want_len)); \
        }                                                                             \
    } while (0)

static inline int check_report(const char *name)
{
    printf("%-18s %4d checks, %d failed%s\n", name, check_total, check_failed,
           check_failed ? "  <-- FAIL" : "");
    return check_failed ? 1 : 0;
}

#endif
