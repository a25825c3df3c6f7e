/*
 * TLS through OpenSSL with two memory BIOs (SSL_set_bio): the caller's
 * ciphertext goes into rbio, what OpenSSL writes collects in wbio and leaves
 * through floe_wsconn_poll_transmit. A client verifies the chain (ca_file or
 * the system store: OpenSSL's default paths on Linux, the Windows ROOT store on
 * Windows, wire_tls_win.c) and the name (SSL_set1_host, or the IP address) and says
 * which check failed.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "wire_int.h"

#define WIRE_TLS_CHUNK 16384

static void wire_tls_reason(char *err, size_t cap, const char *what, const char *file)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    if (err && cap)
        snprintf(err, cap, "TLS: %s%s%s: %s", what, file ? " " : "", file ? file : "",
                 r ? r : "unknown error");
    ERR_clear_error();
}

int floe_wsconn_tls_server_ctx(SSL_CTX **out, const char *cert_file, const char *key_file,
                               char *err, size_t err_cap)
{
    SSL_CTX *ctx;

    if (!out || !cert_file || !key_file)
        return FLOE_ERR_INVALID_ARG;
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        wire_tls_reason(err, err_cap, "cannot make a context", NULL);
        return FLOE_ERR_CRYPTO;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        wire_tls_reason(err, err_cap, "cannot load the certificate", cert_file);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        wire_tls_reason(err, err_cap, "cannot load the key", key_file);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        wire_tls_reason(err, err_cap, "the key does not match the certificate", key_file);
    } else {
        *out = ctx;
        return 0;
    }
    SSL_CTX_free(ctx);
    return FLOE_ERR_CRYPTO;
}

/* A client's trust anchors: ca_file, or without one the system's: OpenSSL's default paths on
 * Linux, the ROOT store on Windows (roots[0] certificates added, roots[1] skipped). */
static int wire_tls_trust(SSL_CTX *ctx, const char *ca_file, unsigned roots[2], char *err,
                          size_t err_cap)
{
#ifdef _WIN32
    int rc;

    if (!ca_file) {
        rc = floe__wire_tls_windows_roots(ctx, &roots[0], &roots[1]);
        if (rc == 0 && roots[0] > 0)
            return 0;
        if (err && err_cap)
            snprintf(err, err_cap, "TLS: cannot load the CA certificates: %s",
                     rc < 0 ? "the Windows ROOT store does not open"
                            : "no usable certificate in the Windows ROOT store");
        return FLOE_ERR_CRYPTO;
    }
#else
    (void)roots;
    if (!ca_file) {
        if (SSL_CTX_set_default_verify_paths(ctx) == 1)
            return 0;
        wire_tls_reason(err, err_cap, "cannot load the CA certificates", NULL);
        return FLOE_ERR_CRYPTO;
    }
#endif
    if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) == 1)
        return 0;
    wire_tls_reason(err, err_cap, "cannot load the CA certificates", ca_file);
    return FLOE_ERR_CRYPTO;
}

static int wire_tls_client_ctx(SSL_CTX **out, const char *ca_file, unsigned roots[2], char *err,
                               size_t err_cap)
{
    SSL_CTX *ctx;

    if (!out)
        return FLOE_ERR_INVALID_ARG;
    ERR_clear_error();
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        wire_tls_reason(err, err_cap, "cannot make a context", NULL);
        return FLOE_ERR_CRYPTO;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (wire_tls_trust(ctx, ca_file, roots, err, err_cap) < 0) {
        SSL_CTX_free(ctx);
        return FLOE_ERR_CRYPTO;
    }
    *out = ctx;
    return 0;
}

int floe_wsconn_tls_client_ctx(SSL_CTX **out, const char *ca_file, char *err, size_t err_cap)
{
    unsigned roots[2] = {0, 0};

    return wire_tls_client_ctx(out, ca_file, roots, err, err_cap);
}

/* Windows without a CA file: how many certificates of the ROOT store OpenSSL took (debug). */
static void wire_tls_log_roots(struct floe_wsconn *c, const char *ca_file, const unsigned roots[2])
{
#ifdef _WIN32
    struct floe_log_field f[] = {FLOE_LF_U("added", roots[0]), FLOE_LF_U("skipped", roots[1])};

    if (!ca_file)
        floe_log_emit(&c->cfg.log, FLOE_LOG_DEBUG, WIRE_TARGET, "trusting the Windows ROOT store",
                      f, 2);
#else
    (void)c;
    (void)ca_file;
    (void)roots;
#endif
}

static int wire_tls_ctx(struct floe_wsconn *c, const struct floe_wsconn_config *cfg, SSL_CTX **ctx)
{
    char err[FLOE_WSCONN_TEXT_MAX] = "";
    struct floe_log_field f[] = {FLOE_LF_S("error", err)};
    unsigned roots[2] = {0, 0};
    int rc;

    if (cfg->tls_ctx) {
        *ctx = cfg->tls_ctx;
        return SSL_CTX_up_ref(*ctx) == 1 ? 0 : FLOE_ERR_CRYPTO;
    }
    if (cfg->role == FLOE_WSCONN_SERVER) {
        rc = floe_wsconn_tls_server_ctx(ctx, cfg->cert_file, cfg->key_file, err, sizeof(err));
    } else {
        rc = wire_tls_client_ctx(ctx, cfg->ca_file, roots, err, sizeof(err));
        if (rc == 0)
            wire_tls_log_roots(c, cfg->ca_file, roots);
    }
    if (rc < 0)
        floe_log_emit(&c->cfg.log, FLOE_LOG_ERROR, WIRE_TARGET, "TLS setup failed", f, 1);
    return rc;
}

/* The client's name checks: an IP literal against the certificate's IP addresses, a host
 * name by SNI and SSL_set1_host. */
static int wire_tls_client_name(struct floe_wsconn *c)
{
    struct floe_addr ip;
    const char *name = c->server_name;

    SSL_set_connect_state(c->ssl);
    SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
    if (!name || !name[0])
        return FLOE_ERR_INVALID_ARG;
    if (floe_addr_parse_ip(name, &ip) == 0)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) == 1 ? 0
                                                                                : FLOE_ERR_CRYPTO;
    if (SSL_set_tlsext_host_name(c->ssl, name) != 1 || SSL_set1_host(c->ssl, name) != 1)
        return FLOE_ERR_CRYPTO;
    return 0;
}

int floe__wire_tls_new(struct floe_wsconn *c, const struct floe_wsconn_config *cfg)
{
    SSL_CTX *ctx = NULL;
    int rc = wire_tls_ctx(c, cfg, &ctx);

    if (rc < 0)
        return rc;
    c->ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL object holds its own reference */
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->rbio || !c->wbio) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        c->rbio = c->wbio = NULL;
        return FLOE_ERR_NOMEM;
    }
    BIO_set_mem_eof_return(c->rbio, -1);
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    if (cfg->role == FLOE_WSCONN_SERVER) {
        SSL_set_accept_state(c->ssl);
        return 0;
    }
    return wire_tls_client_name(c);
}

void floe__wire_tls_free(struct floe_wsconn *c)
{
    if (c->ssl)
        SSL_free(c->ssl); /* frees both BIOs */
    else {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
    }
    c->ssl = NULL;
    c->rbio = c->wbio = NULL;
}

size_t floe__wire_tls_pending(const struct floe_wsconn *c)
{
    return c->wbio ? BIO_ctrl_pending(c->wbio) : 0;
}

/* A fatal TLS error: no shutdown afterwards (OpenSSL forbids it), a readable reason. */
static void wire_tls_failed(struct floe_wsconn *c)
{
    char text[FLOE_WSCONN_TEXT_MAX];
    long v = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    if (c->cfg.role == FLOE_WSCONN_CLIENT && v != X509_V_OK)
        snprintf(text, sizeof(text), "TLS: certificate verify failed: %s",
                 X509_verify_cert_error_string(v));
    else
        snprintf(text, sizeof(text), "TLS: %s", r ? r : "handshake failed");
    ERR_clear_error();
    c->tls_shutdown = true;
    c->stats.drops[FLOE_WSCONN_DROP_TLS]++;
    floe__wire_fail(c, FLOE_ERR_CRYPTO, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL, text);
}

static void wire_tls_handshake(struct floe_wsconn *c)
{
    int r, e;

    ERR_clear_error();
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->tls_up = true;
        floe__wire_tls_flush(c);
        return;
    }
    e = SSL_get_error(c->ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        wire_tls_failed(c);
}

void floe__wire_tls_start(struct floe_wsconn *c)
{
    if (c->ssl && c->cfg.role == FLOE_WSCONN_CLIENT)
        wire_tls_handshake(c);
}

static void wire_tls_read(struct floe_wsconn *c, floe_time now)
{
    uint8_t buf[WIRE_TLS_CHUNK];
    int r, e;

    while (c->ssl && c->state != FLOE_WSCONN_CLOSED) {
        ERR_clear_error();
        r = SSL_read(c->ssl, buf, sizeof(buf));
        if (r > 0) {
            floe__wire_plain_input(c, now, buf, (size_t)r);
            continue;
        }
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) {
            floe_wsconn_handle_eof(c, now); /* close_notify */
        } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            wire_tls_failed(c);
        }
        return;
    }
}

void floe__wire_tls_input(struct floe_wsconn *c, floe_time now, const uint8_t *p, size_t n)
{
    size_t chunk;

    while (n) {
        chunk = n > WIRE_TLS_CHUNK ? WIRE_TLS_CHUNK : n;
        if (BIO_write(c->rbio, p, (int)chunk) != (int)chunk) {
            floe__wire_fail(c, FLOE_ERR_NOMEM, FLOE_WSCONN_BY_LOCAL, FLOE_WS_CLOSE_ABNORMAL,
                            "out of memory");
            return;
        }
        p += chunk;
        n -= chunk;
    }
    if (!c->tls_up) {
        wire_tls_handshake(c);
        if (!c->tls_up)
            return;
    }
    wire_tls_read(c, now);
}

/* Encrypt the pending plaintext; once CLOSED, add close_notify after it. */
void floe__wire_tls_flush(struct floe_wsconn *c)
{
    size_t n;
    int r;

    if (!c->ssl || !c->tls_up || c->tls_shutdown)
        return;
    while ((n = floe__wire_buf_pending(&c->out)) > 0) {
        if (n > WIRE_TLS_CHUNK)
            n = WIRE_TLS_CHUNK;
        ERR_clear_error();
        r = SSL_write(c->ssl, c->out.data + c->out.off, (int)n);
        if (r <= 0) {
            floe__wire_buf_consume(c, &c->out, floe__wire_buf_pending(&c->out));
            wire_tls_failed(c);
            return;
        }
        floe__wire_buf_consume(c, &c->out, (size_t)r);
    }
    if (c->state == FLOE_WSCONN_CLOSED) {
        c->tls_shutdown = true;
        ERR_clear_error();
        (void)SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
}
