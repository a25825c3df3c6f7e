/*
 * WireGuard crypto throughput on one core, about one second per line:
 *   ChaCha20-Poly1305 on 1420-byte packets through a floe_aead context (keyed once, nonce per
 *   packet) against a naive path that builds and keys a new EVP_CIPHER_CTX for every packet;
 *   X25519 shared secrets, one-shot and with a loaded floe_x25519_key; BLAKE2s of 64 bytes
 *   and the 16-byte keyed MAC, floe's portable code against OpenSSL 3's EVP BLAKE2S-256 and
 *   BLAKE2SMAC (the choice documented in floe/crypto_wg.h).
 * Run by hand on a Release build: <build>/bench/aead_bench [seconds per line].
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/crypto_wg.h"

#define PKT 1420

struct bench_ctx {
    struct floe_aead *aead;
    struct floe_x25519_key *xkey;
    EVP_MD *md;
    EVP_MAC_CTX *mac;
    uint8_t key[32];
    uint8_t in[PKT];
    uint8_t out[PKT + FLOE_AEAD_TAG_LEN];
    uint8_t sealed[PKT + FLOE_AEAD_TAG_LEN];
    uint64_t counter;
};

typedef int (*bench_fn)(struct bench_ctx *b);

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run fn in batches for at least `seconds`; returns operations per second, 0 on error. */
static double bench_run(bench_fn fn, struct bench_ctx *b, double seconds)
{
    double start = now_s(), elapsed;
    unsigned long ops = 0, i;

    do {
        for (i = 0; i < 256; i++) {
            if (fn(b) != 0)
                return 0;
        }
        ops += 256;
        elapsed = now_s() - start;
    } while (elapsed < seconds);
    return (double)ops / elapsed;
}

static int ctx_encrypt(struct bench_ctx *b)
{
    return floe_aead_encrypt_ctr(b->aead, b->out, b->in, PKT, NULL, 0, b->counter++);
}

static int ctx_decrypt(struct bench_ctx *b)
{
    return floe_aead_decrypt_ctr(b->aead, b->out, b->sealed, sizeof(b->sealed), NULL, 0, 0);
}

/* The naive path: fetch-free legacy cipher, new context and key schedule per packet. */
static int naive_crypt(struct bench_ctx *b, int enc, uint8_t *out, const uint8_t *in)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t nonce[FLOE_AEAD_NONCE_LEN];
    int n, fin, ok;

    floe_aead_nonce_from_counter(nonce, enc ? b->counter++ : 0);
    ok = ctx && EVP_CipherInit_ex2(ctx, EVP_chacha20_poly1305(), b->key, nonce, enc, NULL);
    if (ok && !enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, (void *)(in + PKT)) == 1;
    ok = ok && EVP_CipherUpdate(ctx, out, &n, in, PKT) == 1;
    ok = ok && EVP_CipherFinal_ex(ctx, out + n, &fin) == 1;
    if (ok && enc)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, out + PKT) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

static int naive_encrypt(struct bench_ctx *b)
{
    return naive_crypt(b, 1, b->out, b->in);
}

static int naive_decrypt(struct bench_ctx *b)
{
    return naive_crypt(b, 0, b->out, b->sealed);
}

static int x25519_shared(struct bench_ctx *b)
{
    /* key: our private key; in[0..32): the peer's public key. */
    return floe_x25519_shared(b->out, b->key, b->in);
}

static int x25519_key_shared(struct bench_ctx *b)
{
    return floe_x25519_key_shared(b->xkey, b->out, b->in);
}

static int blake2s_floe(struct bench_ctx *b)
{
    struct floe_span part = {b->in, 64};

    floe_blake2s_hash(b->out, &part, 1);
    return 0;
}

static int blake2s_openssl(struct bench_ctx *b)
{
    return EVP_Digest(b->in, 64, b->out, NULL, b->md, NULL) == 1 ? 0 : -1;
}

static int mac_floe(struct bench_ctx *b)
{
    return floe_blake2s_mac(b->out, b->key, 32, b->in, 64);
}

static int mac_openssl(struct bench_ctx *b)
{
    size_t len;

    if (EVP_MAC_init(b->mac, NULL, 0, NULL) != 1 || EVP_MAC_update(b->mac, b->in, 64) != 1)
        return -1;
    return EVP_MAC_final(b->mac, b->out, &len, 16) == 1 ? 0 : -1;
}

static double report_pkts(const char *name, bench_fn fn, struct bench_ctx *b, double secs)
{
    double pps = bench_run(fn, b, secs);

    printf("%-34s %7.3f GB/s  %8.0f kpkt/s\n", name, pps * PKT / 1e9, pps / 1e3);
    return pps;
}

static double report_ops(const char *name, bench_fn fn, struct bench_ctx *b, double secs)
{
    double ops = bench_run(fn, b, secs);

    printf("%-34s %10.0f ops/s  (%.0f ns/op)\n", name, ops, ops > 0 ? 1e9 / ops : 0.0);
    return ops;
}

static int bench_setup(struct bench_ctx *b)
{
    OSSL_PARAM params[2];
    EVP_MAC *mac;
    size_t out_len = 16;
    size_t i;

    for (i = 0; i < sizeof(b->key); i++)
        b->key[i] = (uint8_t)(i * 7 + 1);
    for (i = 0; i < sizeof(b->in); i++)
        b->in[i] = (uint8_t)i;
    if (floe_aead_new(&b->aead, NULL, b->key, sizeof(b->key)) != 0 ||
        floe_aead_encrypt_ctr(b->aead, b->sealed, b->in, PKT, NULL, 0, 0) != 0)
        return -1;
    /* A valid X25519 public key for the shared-secret bench. */
    if (floe_x25519_public(b->in, b->in + 32) != 0 ||
        floe_x25519_key_new(&b->xkey, NULL, b->key) != 0)
        return -1;
    b->md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
    mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
    b->mac = mac ? EVP_MAC_CTX_new(mac) : NULL;
    EVP_MAC_free(mac);
    params[0] = OSSL_PARAM_construct_size_t("size", &out_len);
    params[1] = OSSL_PARAM_construct_end();
    if (!b->md || !b->mac || EVP_MAC_init(b->mac, b->key, 32, params) != 1)
        return -1;
    return 0;
}

static void bench_aead(struct bench_ctx *b, double secs)
{
    double ctx_enc, ctx_dec, naive_enc, naive_dec;

    ctx_enc = report_pkts("chacha20poly1305 encrypt, context", ctx_encrypt, b, secs);
    naive_enc = report_pkts("chacha20poly1305 encrypt, naive", naive_encrypt, b, secs);
    ctx_dec = report_pkts("chacha20poly1305 decrypt, context", ctx_decrypt, b, secs);
    naive_dec = report_pkts("chacha20poly1305 decrypt, naive", naive_decrypt, b, secs);
    if (naive_enc > 0 && naive_dec > 0)
        printf("%-34s encrypt x%.2f, decrypt x%.2f\n", "context / naive", ctx_enc / naive_enc,
               ctx_dec / naive_dec);
}

static void bench_others(struct bench_ctx *b, double secs)
{
    double f, o;

    report_ops("x25519 shared secret, one-shot", x25519_shared, b, secs);
    report_ops("x25519 shared secret, loaded key", x25519_key_shared, b, secs);
    f = report_ops("blake2s-256 of 64 B, floe", blake2s_floe, b, secs);
    o = report_ops("blake2s-256 of 64 B, OpenSSL EVP", blake2s_openssl, b, secs);
    if (o > 0)
        printf("%-34s x%.2f\n", "blake2s floe / OpenSSL", f / o);
    f = report_ops("blake2s mac16 of 64 B, floe", mac_floe, b, secs);
    o = report_ops("blake2s mac16 of 64 B, OpenSSL MAC", mac_openssl, b, secs);
    if (o > 0)
        printf("%-34s x%.2f\n", "blake2s mac floe / OpenSSL", f / o);
}

int main(int argc, char **argv)
{
    static struct bench_ctx b;
    double secs = argc > 1 ? atof(argv[1]) : 1.0;

    if (secs <= 0 || bench_setup(&b) != 0) {
        fprintf(stderr, "aead_bench: setup failed\n");
        return 1;
    }
    printf("one core, %d-byte packets, %.1f s per line, %s\n", PKT, secs,
           OpenSSL_version(OPENSSL_VERSION));
    bench_aead(&b, secs);
    bench_others(&b, secs);
    floe_aead_free(b.aead);
    floe_x25519_key_free(b.xkey);
    EVP_MAC_CTX_free(b.mac);
    EVP_MD_free(b.md);
    return 0;
}
