/*
 * floe's small in-tree test runner. A test file defines static test functions
 * and a main that calls FLOE_RUN for each, then returns floe_test_summary().
 * The last line printed is "N passed, N failed". FLOE_TEST_SEED=<n> replays a
 * property test; the seed in use is always printed.
 */
#ifndef FLOE_TEST_H
#define FLOE_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int floe_test_failures_in_current;
static int floe_test_passed;
static int floe_test_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);             \
            floe_test_failures_in_current++;                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long _a = (long long)(a), _b = (long long)(b);                                        \
        if (_a != _b) {                                                                            \
            fprintf(stderr, "  %s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", __FILE__,          \
                    __LINE__, #a, #b, _a, _b);                                                     \
            floe_test_failures_in_current++;                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *_a = (a), *_b = (b);                                                           \
        if (!_a || !_b || strcmp(_a, _b) != 0) {                                                   \
            fprintf(stderr, "  %s:%d: CHECK_STR(%s, %s) failed: \"%s\" != \"%s\"\n", __FILE__,     \
                    __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)");                     \
            floe_test_failures_in_current++;                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                         \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0) {                                                          \
            fprintf(stderr, "  %s:%d: CHECK_MEM(%s, %s, %s) failed\n", __FILE__, __LINE__, #a, #b, \
                    #n);                                                                           \
            floe_test_failures_in_current++;                                                       \
        }                                                                                          \
    } while (0)

/* Stop the current test function when cond fails (later steps depend on it). */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond);           \
            floe_test_failures_in_current++;                                                       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define FLOE_RUN(fn) floe_test_run(#fn, fn)

static inline void floe_test_run(const char *name, void (*fn)(void))
{
    floe_test_failures_in_current = 0;
    fn();
    if (floe_test_failures_in_current) {
        printf("FAIL %s\n", name);
        floe_test_failed++;
    } else {
        printf("ok   %s\n", name);
        floe_test_passed++;
    }
    fflush(stdout);
}

static inline int floe_test_summary(void)
{
    printf("%d passed, %d failed\n", floe_test_passed, floe_test_failed);
    return floe_test_failed ? 1 : 0;
}

/* The next value of a xorshift64 generator (a state other than 0): a property test's steps. */
static inline uint64_t floe_test_next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* The seed for property tests: FLOE_TEST_SEED or the clock; printed for replay. */
static inline uint64_t floe_test_seed(void)
{
    static uint64_t seed;
    static int have;
    const char *env;

    if (have)
        return seed;
    env = getenv("FLOE_TEST_SEED");
    if (env && *env) {
        seed = strtoull(env, NULL, 0);
    } else {
        /* ISO C only (no clock_gettime): the runner builds on every platform. */
        seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)clock() ^ (uint64_t)(uintptr_t)&have;
    }
    have = 1;
    printf("seed %" PRIu64 " (replay with FLOE_TEST_SEED=%" PRIu64 ")\n", seed, seed);
    return seed;
}

/*
 * An allocator that fails the Nth allocation (nghttp2's failmalloc): run a
 * scenario with fail_at = 0, 1, 2, ... until it completes without hitting the
 * failure, asserting every run fails cleanly (error code, no leak, no crash).
 */
struct floe_test_failmalloc {
    long fail_at; /* index of the allocation to fail; -1 never */
    long count;   /* allocations attempted so far */
    long failed;  /* allocations refused */
};

static inline void *floe_test_failmalloc_malloc(size_t size, void *user)
{
    struct floe_test_failmalloc *f = (struct floe_test_failmalloc *)user;

    if (f->count++ == f->fail_at) {
        f->failed++;
        return NULL;
    }
    return malloc(size);
}

static inline void *floe_test_failmalloc_realloc(void *ptr, size_t size, void *user)
{
    struct floe_test_failmalloc *f = (struct floe_test_failmalloc *)user;

    if (f->count++ == f->fail_at) {
        f->failed++;
        return NULL;
    }
    return realloc(ptr, size);
}

static inline void floe_test_failmalloc_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

/*
 * mkdtemp on every platform: make a new directory from tmpl, whose name ends in XXXXXX
 * (replaced in place). Returns tmpl, or NULL. mingw has no mkdtemp: _mktemp and _mkdir there.
 */
#ifdef _WIN32
#include <direct.h>
#include <io.h>
static inline char *floe_test_mkdtemp(char *tmpl)
{
    if (!_mktemp(tmpl) || _mkdir(tmpl) != 0)
        return NULL;
    return tmpl;
}
#else
static inline char *floe_test_mkdtemp(char *tmpl)
{
    return mkdtemp(tmpl);
}
#endif

#endif
