/*
 * floe_io_pool: a fork-join pool for one caller. A run publishes a job (a descriptor on the
 * caller's stack) through `cur` and bumps `gen`; workers and the caller take indices with
 * one atomic add each. The caller returns when every index is done and no worker still
 * holds the job: a worker announces the job it works on in its hazard slot and checks `cur`
 * again before touching it, and the caller clears `cur` and waits for the slots to let go
 * of the job before its stack frame goes away.
 *
 * Idle workers sleep on the futex word `gen` at once: spinning, even for tens of
 * microseconds after each batch, cost more throughput than it saved when the cores are
 * shared with the rest of the datapath (bench/tunnel_pair.sh). Every atomic here is
 * sequentially consistent: the hazard handshake and the sleeper count rely on it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <malloc.h>
#include <windows.h>
/* The Windows CRT has no aligned_alloc; its aligned blocks need their own free. */
#define aligned_alloc(align, size) _aligned_malloc(size, align)
#define pool_aligned_free _aligned_free
#else
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#define pool_aligned_free free
#endif

#include "floe_io.h"

#define POOL_MAX_LANES 64
/* Pauses the caller spins for a busy worker before it yields. */
#define POOL_SPIN_ROUNDS 128
/* Smallest run that wakes sleeping workers. */
#define POOL_MIN_WAKE 8

struct pool_job {
    void (*fn)(void *arg, uint32_t i, uint32_t lane);
    void *arg;
    uint32_t n;
    _Atomic uint32_t next; /* the next index to take */
    _Atomic uint32_t done; /* indices finished */
};

struct pool_lane {
    _Alignas(64) _Atomic(struct pool_job *) hazard; /* the job this worker is inside */
    _Atomic uint64_t items;                         /* indices this lane ran */
    struct floe_io_pool *pool;
    unsigned index;
};

struct floe_io_pool {
    unsigned lanes;
    pthread_t threads[POOL_MAX_LANES];
    unsigned started;
    _Alignas(64) _Atomic(struct pool_job *) cur;
    _Atomic uint32_t gen; /* futex word: bumped for every job and at stop */
    _Atomic uint32_t sleepers;
    _Atomic bool stop;
    struct pool_lane lane[POOL_MAX_LANES];
};

static void pool_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * The caller's wait for a worker still inside the job: a few pauses, then yield the CPU,
 * which the worker may need (the cores are often shared with the traffic's own threads).
 */
static void pool_backoff(unsigned round)
{
    if (round < POOL_SPIN_ROUNDS)
        pool_pause();
    else
        sched_yield();
}

/* Sleep while *word == expected: a futex on Linux, WaitOnAddress on Windows (8 and later). */
static void pool_futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
#ifdef _WIN32
    (void)WaitOnAddress((volatile VOID *)word, &expected, sizeof(expected), INFINITE);
#else
    (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#endif
}

static void pool_futex_wake(_Atomic uint32_t *word)
{
#ifdef _WIN32
    WakeByAddressAll((PVOID)word);
#else
    (void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#endif
}

/* Take and run indices of job on lane until none is left. */
static void pool_work(struct pool_lane *l, struct pool_job *job)
{
    uint32_t i, ran = 0;

    while ((i = atomic_fetch_add(&job->next, 1)) < job->n) {
        job->fn(job->arg, i, l->index);
        ran++;
        atomic_fetch_add(&job->done, 1);
    }
    atomic_fetch_add(&l->items, ran);
}

/* Sleep until the generation is other than seen. Returns the new one. */
static uint32_t pool_wait(struct floe_io_pool *p, uint32_t seen)
{
    uint32_t g;

    for (;;) {
        atomic_fetch_add(&p->sleepers, 1);
        g = atomic_load(&p->gen);
        if (g == seen)
            pool_futex_wait(&p->gen, seen);
        atomic_fetch_sub(&p->sleepers, 1);
        g = atomic_load(&p->gen);
        if (g != seen)
            return g;
    }
}

static void *pool_main(void *arg)
{
    struct pool_lane *l = arg;
    struct floe_io_pool *p = l->pool;
    uint32_t seen = atomic_load(&p->gen);
    struct pool_job *job;

    while (!atomic_load(&p->stop)) {
        seen = pool_wait(p, seen);
        job = atomic_load(&p->cur);
        if (!job)
            continue;
        atomic_store(&l->hazard, job);
        if (atomic_load(&p->cur) == job)
            pool_work(l, job);
        atomic_store(&l->hazard, NULL);
    }
    return NULL;
}

int floe_io_pool_new(struct floe_io_pool **out, unsigned lanes)
{
    struct floe_io_pool *p;
    unsigned i;
    int rc;

    if (!out || lanes < 1 || lanes > POOL_MAX_LANES)
        return -EINVAL;
    p = aligned_alloc(64, (sizeof(*p) + 63) & ~(size_t)63); /* its lanes are cache-line aligned */
    if (!p)
        return -ENOMEM;
    memset(p, 0, sizeof(*p));
    p->lanes = lanes;
    for (i = 0; i < lanes; i++) {
        p->lane[i].pool = p;
        p->lane[i].index = i;
    }
    for (i = 1; i < lanes; i++) {
        rc = pthread_create(&p->threads[i], NULL, pool_main, &p->lane[i]);
        if (rc != 0) {
            floe_io_pool_free(p);
            return -rc;
        }
        p->started = i;
    }
    *out = p;
    return 0;
}

void floe_io_pool_free(struct floe_io_pool *p)
{
    unsigned i;

    if (!p)
        return;
    atomic_store(&p->stop, true);
    atomic_fetch_add(&p->gen, 1);
    pool_futex_wake(&p->gen);
    for (i = 1; i <= p->started; i++)
        pthread_join(p->threads[i], NULL);
    pool_aligned_free(p);
}

unsigned floe_io_pool_lanes(const struct floe_io_pool *p)
{
    return p ? p->lanes : 1;
}

uint64_t floe_io_pool_lane_items(const struct floe_io_pool *p, unsigned lane)
{
    return p && lane < p->lanes ? atomic_load(&p->lane[lane].items) : 0;
}

void floe_io_pool_run(void *pool, uint32_t n, void (*fn)(void *arg, uint32_t i, uint32_t lane),
                      void *arg)
{
    struct floe_io_pool *p = pool;
    struct pool_job job = {.fn = fn, .arg = arg, .n = n};
    unsigned i;

    if (n == 0)
        return;
    if (p->lanes == 1) {
        atomic_store(&job.next, n);
        for (i = 0; i < n; i++)
            fn(arg, i, 0);
        atomic_fetch_add(&p->lane[0].items, n);
        return;
    }
    atomic_store(&p->cur, &job);
    atomic_fetch_add(&p->gen, 1);
    if (n >= POOL_MIN_WAKE && atomic_load(&p->sleepers) > 0)
        pool_futex_wake(&p->gen);
    pool_work(&p->lane[0], &job);
    for (i = 0; atomic_load(&job.done) < n; i++)
        pool_backoff(i);
    atomic_store(&p->cur, NULL);
    for (i = 1; i < p->lanes; i++) {
        unsigned k;

        for (k = 0; atomic_load(&p->lane[i].hazard) == &job; k++)
            pool_backoff(k);
    }
}
