/*
 * `floe genkey`, `floe pubkey`, `floe genpsk`: WireGuard keys in the base64 form of
 * `wg genkey`, `wg pubkey` and `wg genpsk` (44 characters, standard padded base64).
 */
#include <ctype.h>
#include <string.h>

#include "cli.h"
#include "floe/crypto.h"
#include "floe/crypto_wg.h"

/* Longest stdin accepted by `floe pubkey`. */
#define KEYS_INPUT_MAX 256

static int keys_print(const uint8_t key[FLOE_X25519_KEY_LEN])
{
    char b64[FLOE_CLI_KEY_B64_LEN + 1];

    if (floe_base64_encode(b64, sizeof(b64), key, FLOE_X25519_KEY_LEN) < 0)
        return FLOE_CLI_EXIT_FAIL;
    puts(b64);
    return fflush(stdout) == 0 ? FLOE_CLI_EXIT_OK : FLOE_CLI_EXIT_FAIL;
}

static int keys_random(bool clamp)
{
    uint8_t key[FLOE_X25519_KEY_LEN];
    int rc;

    if (floe_crypto_random(key, sizeof(key)) != 0) {
        fputs("floe: cannot draw random bytes\n", stderr);
        return FLOE_CLI_EXIT_FAIL;
    }
    if (clamp)
        floe_x25519_clamp(key);
    rc = keys_print(key);
    floe_wipe(key, sizeof(key));
    return rc;
}

int floe_cli_key_parse(const char *text, size_t len, uint8_t key[FLOE_X25519_KEY_LEN])
{
    uint8_t buf[48];
    int n;

    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    while (len && isspace((unsigned char)*text)) {
        text++;
        len--;
    }
    if (len != FLOE_CLI_KEY_B64_LEN)
        return FLOE_ERR_MALFORMED;
    n = floe_base64_decode(buf, sizeof(buf), text, len);
    if (n != FLOE_X25519_KEY_LEN) {
        floe_wipe(buf, sizeof(buf));
        return FLOE_ERR_MALFORMED;
    }
    memcpy(key, buf, FLOE_X25519_KEY_LEN);
    floe_wipe(buf, sizeof(buf));
    return 0;
}

static int keys_pubkey(FILE *in)
{
    char text[KEYS_INPUT_MAX + 1];
    uint8_t priv[FLOE_X25519_KEY_LEN], pub[FLOE_X25519_KEY_LEN];
    size_t len = fread(text, 1, sizeof(text), in);
    int rc = FLOE_CLI_EXIT_FAIL;

    if (len > KEYS_INPUT_MAX || floe_cli_key_parse(text, len, priv) != 0) {
        fputs("floe pubkey: stdin is not a base64 private key of 32 bytes\n", stderr);
        goto out;
    }
    if (floe_x25519_public(pub, priv) != 0) {
        fputs("floe pubkey: cannot compute the public key\n", stderr);
        goto out;
    }
    rc = keys_print(pub);
out:
    floe_wipe(text, sizeof(text));
    floe_wipe(priv, sizeof(priv));
    return rc;
}

int floe_cli_keys_run(int argc, char **argv)
{
    const char *verb = argv[0];

    if (argc > 1) {
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
            floe_cli_help_verb(stdout, verb);
            return FLOE_CLI_EXIT_OK;
        }
        fprintf(stderr, "floe %s: unexpected argument '%s' (see 'floe help %s')\n", verb, argv[1],
                verb);
        return FLOE_CLI_EXIT_USAGE;
    }
    if (strcmp(verb, "genkey") == 0)
        return keys_random(true);
    if (strcmp(verb, "genpsk") == 0)
        return keys_random(false);
    return keys_pubkey(stdin);
}
