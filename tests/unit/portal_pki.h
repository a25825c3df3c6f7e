/*
 * Certificates for the portal tests, made at run time with OpenSSL: a CA, another CA, and a
 * server certificate for "portal.test" and 127.0.0.1 signed by the first, written as PEM
 * files into a fresh temporary directory that pki_remove deletes.
 */
#ifndef FLOE_TEST_PORTAL_PKI_H
#define FLOE_TEST_PORTAL_PKI_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _WIN32
#include <direct.h>
#include <io.h>
#endif

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "test.h" /* floe_test_mkdtemp: mingw has no mkdtemp */

struct pki {
    char dir[64];
    char ca[96], ca2[96], cert[96], key[96];
};

static inline void pki_ext(X509 *issuer, X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ex) {
        X509_add_ext(x, ex, -1);
        X509_EXTENSION_free(ex);
    }
}

/* A certificate for key named cn, signed by issuer (NULL: a self-signed CA). */
static inline X509 *pki_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
                             long serial)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    if (!issuer) {
        pki_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        pki_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        pki_ext(issuer, x, NID_basic_constraints, "CA:FALSE");
        pki_ext(issuer, x, NID_subject_alt_name, "DNS:portal.test,IP:127.0.0.1");
    }
    X509_sign(x, ikey ? ikey : key, EVP_sha256());
    return x;
}

static inline int pki_write(const char *path, X509 *x, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    return ok == 1 ? 0 : -1;
}

/* Make the files. Returns 0, or -1 (nothing usable). */
static inline int pki_make(struct pki *p)
{
    EVP_PKEY *cak = EVP_EC_gen("P-256"), *ca2k = EVP_EC_gen("P-256"), *k = EVP_EC_gen("P-256");
    X509 *ca = pki_cert(cak, "floe test CA", NULL, NULL, 1);
    X509 *ca2 = pki_cert(ca2k, "floe other CA", NULL, NULL, 2);
    X509 *leaf = pki_cert(k, "portal.test", ca, cak, 3);
    int rc = -1;
    snprintf(p->dir, sizeof(p->dir), "/tmp/floe-portal-pki.XXXXXX");
    if (floe_test_mkdtemp(p->dir)) {
        snprintf(p->ca, sizeof(p->ca), "%s/ca.pem", p->dir);
        snprintf(p->ca2, sizeof(p->ca2), "%s/ca2.pem", p->dir);
        snprintf(p->cert, sizeof(p->cert), "%s/cert.pem", p->dir);
        snprintf(p->key, sizeof(p->key), "%s/key.pem", p->dir);
        rc = pki_write(p->ca, ca, NULL) | pki_write(p->ca2, ca2, NULL) |
             pki_write(p->cert, leaf, NULL) | pki_write(p->key, NULL, k);
    }
    X509_free(ca);
    X509_free(ca2);
    X509_free(leaf);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(ca2k);
    EVP_PKEY_free(k);
    return rc;
}

static inline void pki_remove(struct pki *p)
{
    unlink(p->ca);
    unlink(p->ca2);
    unlink(p->cert);
    unlink(p->key);
    rmdir(p->dir);
}

#endif
