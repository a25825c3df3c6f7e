/* The shared deadline heap (src/core/heap.c) against a brute-force model. */
#include "core/heap_int.h"
#include "floe/core.h"
#include "test.h"

#define MODEL_CAP 64u

struct model {
    floe_time at[MODEL_CAP];
    bool in[MODEL_CAP];
};

static uint64_t rng_state;

static uint32_t rng(uint32_t bound)
{
    return (uint32_t)(floe_test_next(&rng_state) % bound);
}

static floe_time model_min(const struct model *m, uint32_t *count)
{
    floe_time t = FLOE_TIME_NEVER;
    uint32_t i;

    *count = 0;
    for (i = 0; i < MODEL_CAP; i++) {
        if (m->in[i]) {
            (*count)++;
            t = floe_time_min(t, m->at[i]);
        }
    }
    return t;
}

/* The heap's shape, back-pointers and contents match the model. */
static int heap_matches(const struct floe__heap *h, const struct model *m)
{
    uint32_t i, count, bad = 0;
    floe_time t = model_min(m, &count);

    bad += h->len != count;
    bad += count && floe__heap_top_at(h) != t;
    bad += !count && (floe__heap_top(h) != FLOE__HEAP_NONE || floe__heap_top_at(h) != t);
    for (i = 0; i < h->len; i++) {
        bad += i && h->ent[(i - 1) / 2].at > h->ent[i].at;
        bad += h->pos[h->ent[i].idx] != i;
        bad += !m->in[h->ent[i].idx] || m->at[h->ent[i].idx] != h->ent[i].at;
    }
    for (i = 0; i < MODEL_CAP; i++)
        bad += floe__heap_has(h, i) != m->in[i];
    return bad == 0;
}

/* One random step on both: set (insert or move, with ties and NEVER), remove or pop. */
static void step(struct floe__heap *h, struct model *m)
{
    uint32_t op = rng(10), idx = rng(MODEL_CAP), count;
    floe_time at = rng(20) == 0 ? FLOE_TIME_NEVER : rng(50);

    if (op < 6) {
        floe__heap_set(h, idx, at);
        m->at[idx] = at;
        m->in[idx] = true;
    } else if (op < 8) {
        floe__heap_remove(h, idx);
        m->in[idx] = false;
    } else {
        floe_time t = model_min(m, &count);

        idx = floe__heap_pop(h);
        if (!count) {
            CHECK_EQ(idx, FLOE__HEAP_NONE);
            return;
        }
        REQUIRE(idx < MODEL_CAP);
        CHECK(m->in[idx] && m->at[idx] == t);
        m->in[idx] = false;
    }
}

static void test_heap_property(void)
{
    struct floe__heap h;
    struct model m;
    uint32_t round, i;

    rng_state = 0x9e3779b97f4a7c15ull; /* fixed: the same steps every run */
    REQUIRE(floe__heap_init(&h, NULL, MODEL_CAP) == 0);
    for (round = 0; round < 50; round++) {
        memset(&m, 0, sizeof(m));
        floe__heap_clear(&h);
        for (i = 0; i < 2000; i++) {
            step(&h, &m);
            if (!heap_matches(&h, &m)) {
                fprintf(stderr, "  round %u step %u: heap and model differ\n", round, i);
                CHECK(0);
                floe__heap_free(&h, NULL);
                return;
            }
        }
    }
    floe__heap_free(&h, NULL);
}

static void test_heap_order_and_edges(void)
{
    static const floe_time keys[] = {30, 10, 20, 10, 40, 0};
    struct floe__heap h;
    floe_time last = 0;
    uint32_t i, idx;

    CHECK_EQ(floe__heap_init(&h, NULL, 0), FLOE_ERR_INVALID_ARG);
    REQUIRE(floe__heap_init(&h, NULL, 8) == 0);
    CHECK_EQ(floe__heap_pop(&h), FLOE__HEAP_NONE);
    CHECK(floe__heap_top_at(&h) == FLOE_TIME_NEVER);
    floe__heap_remove(&h, 3); /* not queued: nothing */
    for (i = 0; i < 6; i++)
        floe__heap_set(&h, i, keys[i]);
    floe__heap_set(&h, 5, 50); /* moved down */
    floe__heap_set(&h, 4, 5);  /* moved up */
    CHECK_EQ(floe__heap_top(&h), 4);
    for (i = 0; i < 6; i++) {
        CHECK(floe__heap_top_at(&h) >= last);
        last = floe__heap_top_at(&h);
        idx = floe__heap_pop(&h);
        CHECK(idx < 6 && !floe__heap_has(&h, idx));
    }
    CHECK_EQ(h.len, 0);
    floe__heap_set(&h, 7, 1);
    floe__heap_clear(&h);
    CHECK(!floe__heap_has(&h, 7) && h.len == 0);
    floe__heap_free(&h, NULL);
}

int main(void)
{
    FLOE_RUN(test_heap_property);
    FLOE_RUN(test_heap_order_and_edges);
    return floe_test_summary();
}
