/*
 * A main for the libFuzzer targets without libFuzzer, so ctest replays every
 * seed corpus on each build (and under ASan+UBSan): each file in the
 * directories given is fed to LLVMFuzzerTestOneInput once, then as many
 * seeded random mutations of the seeds as FLOE_FUZZ_MUTATIONS asks (default
 * 2000). The seed is printed so a failure can be replayed.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CORPUS_MAX_FILES 512
#define CORPUS_MAX_SIZE 65536

struct corpus {
    uint8_t *data[CORPUS_MAX_FILES];
    size_t size[CORPUS_MAX_FILES];
    size_t n;
};

static int corpus_load_file(struct corpus *c, const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;

    if (!f)
        return -1;
    buf = malloc(CORPUS_MAX_SIZE);
    n = buf ? fread(buf, 1, CORPUS_MAX_SIZE, f) : 0;
    fclose(f);
    if (!buf || c->n == CORPUS_MAX_FILES) {
        free(buf);
        return -1;
    }
    c->data[c->n] = buf;
    c->size[c->n++] = n;
    return 0;
}

static int corpus_load_dir(struct corpus *c, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (!d) {
        fprintf(stderr, "corpus: cannot open %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (corpus_load_file(c, path) < 0)
            fprintf(stderr, "corpus: skipping unreadable %s\n", path);
    }
    closedir(d);
    return 0;
}

static uint64_t corpus_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One mutation of a seed: flips, truncation, or splicing with another seed. */
static size_t corpus_mutate(const struct corpus *c, uint64_t *s, uint8_t *out)
{
    size_t i = (size_t)(corpus_next(s) % c->n), len = c->size[i], k, flips;

    memcpy(out, c->data[i], len);
    flips = 1 + (size_t)(corpus_next(s) % 8);
    for (k = 0; k < flips && len; k++)
        out[corpus_next(s) % len] ^= (uint8_t)(1u << (corpus_next(s) % 8));
    if (corpus_next(s) % 4 == 0 && len)
        len = (size_t)(corpus_next(s) % len);
    if (corpus_next(s) % 4 == 0) {
        size_t j = (size_t)(corpus_next(s) % c->n), add = c->size[j];

        if (len + add > CORPUS_MAX_SIZE)
            add = CORPUS_MAX_SIZE - len;
        memcpy(out + len, c->data[j], add);
        len += add;
    }
    return len;
}

int main(int argc, char **argv)
{
    static uint8_t buf[CORPUS_MAX_SIZE];
    struct corpus c = {{0}, {0}, 0};
    const char *env = getenv("FLOE_FUZZ_MUTATIONS");
    long mutations = env ? atol(env) : 2000, k;
    uint64_t seed = getenv("FLOE_TEST_SEED") ? strtoull(getenv("FLOE_TEST_SEED"), NULL, 0)
                                             : (uint64_t)time(NULL);
    size_t i;
    int a;

    for (a = 1; a < argc; a++) {
        if (corpus_load_dir(&c, argv[a]) < 0)
            return 1;
    }
    if (c.n == 0) {
        fprintf(stderr, "corpus: no seed files\n");
        return 1;
    }
    printf("seed %llu (replay with FLOE_TEST_SEED=%llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    for (i = 0; i < c.n; i++)
        LLVMFuzzerTestOneInput(c.data[i], c.size[i]);
    for (k = 0; k < mutations; k++)
        LLVMFuzzerTestOneInput(buf, corpus_mutate(&c, &seed, buf));
    printf("%zu seeds and %ld mutations ran\n", c.n, mutations);
    printf("%zu passed, 0 failed\n", c.n + (size_t)mutations);
    for (i = 0; i < c.n; i++)
        free(c.data[i]);
    return 0;
}
