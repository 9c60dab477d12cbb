/* The C tests' one assertion: counts passes and failures, and prints a failure with the library's last
 * error message. Include after swquant.h and stdio.h. */
#ifndef SWQUANT_TESTS_CHECK_H
#define SWQUANT_TESTS_CHECK_H

static int passed, failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            passed++;                                                                 \
        } else {                                                                      \
            failed++;                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, \
                    __LINE__, #cond, swq_last_error());                               \
        }                                                                             \
    } while (0)

#endif
