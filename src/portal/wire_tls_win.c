/*
 * Windows only (built for WIN32, see src/CMakeLists.txt): a client without a CA file trusts
 * the Windows certificate store. OpenSSL's default verify paths point at its OPENSSLDIR, a
 * directory of the build machine that means nothing on Windows, so the certificates of the
 * system store "ROOT" (the current user's view: its own trusted roots and the machine's) are
 * copied into the context's X509_STORE instead. Intermediates are not taken from the "CA"
 * store: a server sends its chain, and OpenSSL would need only its trust anchor from here.
 * Certificate revocation lists and the "Disallowed" store are not consulted.
 */
/* wincrypt.h before OpenSSL: OpenSSL's headers undefine the names they share (X509_NAME). */
#include <windows.h>

#include <wincrypt.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "wire_int.h"

/* Add one certificate from the store; false when OpenSSL cannot parse or keep it. */
static bool wire_tls_win_add(X509_STORE *xs, const CERT_CONTEXT *cc)
{
    const unsigned char *p = cc->pbCertEncoded;
    X509 *x = d2i_X509(NULL, &p, (long)cc->cbCertEncoded);
    bool ok;

    if (!x)
        return false;
    ok = X509_STORE_add_cert(xs, x) == 1;
    X509_free(x);
    return ok;
}

int floe__wire_tls_windows_roots(SSL_CTX *ctx, unsigned *added, unsigned *skipped)
{
    X509_STORE *xs = ctx ? SSL_CTX_get_cert_store(ctx) : NULL;
    const CERT_CONTEXT *cc = NULL;
    HCERTSTORE store;

    if (added)
        *added = 0;
    if (skipped)
        *skipped = 0;
    if (!xs)
        return FLOE_ERR_INVALID_ARG;
    store = CertOpenSystemStoreW(0, L"ROOT");
    if (!store)
        return FLOE_ERR_NOT_FOUND;
    while ((cc = CertEnumCertificatesInStore(store, cc)) != NULL) {
        unsigned *count = wire_tls_win_add(xs, cc) ? added : skipped;

        if (count)
            (*count)++;
    }
    ERR_clear_error(); /* the parse errors of skipped certificates */
    CertCloseStore(store, 0);
    return 0;
}
