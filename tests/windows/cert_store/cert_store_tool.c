/*
 * The Windows certificate store side of windows.client_castore (client_castore_test.sh), run
 * under Wine in the test's own prefix:
 *   cert_store_tool add PEM    add the PEM certificate to the current user's ROOT store
 *   cert_store_tool trust PEM  make the portal client's TLS context without a CA file, as
 *                              floe-client.exe does, and say whether the certificate is among
 *                              its trust anchors: exit 0 if it is, 3 if it is not
 * Exit 1 on any failure, with the reason (and Windows' error code) on stderr.
 */
#include <windows.h>

#include <wincrypt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "floe/portal_wire.h"
#include "portal/wire_int.h"

#define TOOL_PEM_MAX 65536

/* The DER of the first certificate of the PEM file into der (malloc'd); its length or 0. */
static DWORD tool_read_der(const char *path, BYTE **der)
{
    static char pem[TOOL_PEM_MAX];
    FILE *f = fopen(path, "rb");
    size_t n;
    DWORD len = 0;

    if (!f) {
        fprintf(stderr, "cert_store_tool: cannot open %s\n", path);
        return 0;
    }
    n = fread(pem, 1, sizeof(pem) - 1, f);
    fclose(f);
    if (!CryptStringToBinaryA(pem, (DWORD)n, CRYPT_STRING_BASE64HEADER, NULL, &len, NULL, NULL) ||
        !(*der = malloc(len)) ||
        !CryptStringToBinaryA(pem, (DWORD)n, CRYPT_STRING_BASE64HEADER, *der, &len, NULL, NULL)) {
        fprintf(stderr, "cert_store_tool: no PEM certificate in %s (error 0x%lx)\n", path,
                (unsigned long)GetLastError());
        return 0;
    }
    return len;
}

static int tool_add(const BYTE *der, DWORD len)
{
    HCERTSTORE s =
        CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0, CERT_SYSTEM_STORE_CURRENT_USER, L"ROOT");

    if (!s) {
        fprintf(stderr, "cert_store_tool: cannot open the current user's ROOT store (0x%lx)\n",
                (unsigned long)GetLastError());
        return 1;
    }
    if (!CertAddEncodedCertificateToStore(s, X509_ASN_ENCODING, der, len,
                                          CERT_STORE_ADD_REPLACE_EXISTING, NULL)) {
        fprintf(stderr, "cert_store_tool: cannot add to the ROOT store (0x%lx)\n",
                (unsigned long)GetLastError());
        CertCloseStore(s, 0);
        return 1;
    }
    CertCloseStore(s, 0);
    printf("added to the current user's ROOT store\n");
    return 0;
}

/* Is x among the certificates of ctx's X509_STORE? */
static int tool_has(SSL_CTX *ctx, X509 *x)
{
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    int i, n = sk_X509_OBJECT_num(objs);

    for (i = 0; i < n; i++) {
        X509 *c = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

        if (c && X509_cmp(c, x) == 0)
            return 1;
    }
    return 0;
}

static int tool_trust(const BYTE *der, DWORD len)
{
    char err[256] = "";
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    SSL_CTX *ctx = NULL, *probe = SSL_CTX_new(TLS_client_method());
    unsigned added = 0, skipped = 0;
    int has;

    if (!x || !probe || floe__wire_tls_windows_roots(probe, &added, &skipped) < 0) {
        fprintf(stderr, "cert_store_tool: cannot read the ROOT store\n");
        return 1;
    }
    SSL_CTX_free(probe);
    if (floe_wsconn_tls_client_ctx(&ctx, NULL, err, sizeof(err)) < 0) {
        fprintf(stderr, "cert_store_tool: no client context: %s\n", err);
        return 1;
    }
    has = tool_has(ctx, x);
    printf("ROOT store: %u certificates added, %u skipped; the CA is %s\n", added, skipped,
           has ? "trusted" : "not trusted");
    SSL_CTX_free(ctx);
    X509_free(x);
    return has ? 0 : 3;
}

int main(int argc, char **argv)
{
    BYTE *der = NULL;
    DWORD len;
    int rc;

    if (argc != 3 || (strcmp(argv[1], "add") != 0 && strcmp(argv[1], "trust") != 0)) {
        fprintf(stderr, "usage: cert_store_tool add|trust PEM\n");
        return 1;
    }
    len = tool_read_der(argv[2], &der);
    if (!len)
        return 1;
    rc = strcmp(argv[1], "add") == 0 ? tool_add(der, len) : tool_trust(der, len);
    free(der);
    return rc;
}
