/*
 * The HTTP side of a connection: /healthz, /metrics, and the WebSocket upgrade of a device,
 * authenticated by its bearer token (Authorization: Bearer, or ?token= as Firezone allows).
 *
 * The device says who it is in the upgrade's query string, as Firezone's clients do:
 * public_key (its WireGuard key, base64, percent-encoded) and optionally name. The token says
 * what it is: a client token makes a client device of its user, a site token a gateway of its
 * site (the path, /client/websocket or /gateway/websocket, must agree when it names a role).
 */
#include <stdio.h>
#include <string.h>

#include "floe/crypto.h"
#include "floe_io.h"
#include "serve.h"

static void portald_respond(struct portald *d, struct portald_conn *c, floe_time now, int status,
                            const char *type, const char *body)
{
    (void)floe_wsconn_respond(c->ws, now, status, type, (const uint8_t *)body, strlen(body));
    (void)d;
}

static int portald_hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/*
 * The percent-decoded value of key in the query "a=1&b=2" into out (cap bytes with NUL):
 * true when present and it fits ('+' is kept: base64 keys use it).
 */
static bool portald_query_get(const char *query, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key), n = 0;
    const char *p = query;

    while (p && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            for (p += klen + 1; *p && *p != '&'; p++) {
                int hi = p[0] == '%' ? portald_hex(p[1]) : -1;
                int lo = hi >= 0 ? portald_hex(p[2]) : -1;

                if (n + 1 >= cap)
                    return false;
                out[n++] = lo >= 0 ? (char)(hi * 16 + lo) : *p;
                if (lo >= 0)
                    p += 2;
            }
            out[n] = '\0';
            return true;
        }
        p = strchr(p, '&');
        p = p ? p + 1 : NULL;
    }
    return false;
}

static void portald_http_plain(struct portald *d, struct portald_conn *c, floe_time now,
                               const struct floe_wsconn_request *req)
{
    d->stats.http_requests++;
    if (strcmp(req->method, "GET") != 0) {
        d->stats.http_bad++;
        portald_respond(d, c, now, 405, NULL, "method not allowed\n");
        return;
    }
    if (strcmp(req->path, "/healthz") == 0) {
        if (floe_store_schema_version(d->store) < 0) {
            d->stats.store_errors++;
            portald_respond(d, c, now, 503, NULL, "database unavailable\n");
            return;
        }
        portald_respond(d, c, now, 200, NULL, "ok\n");
        return;
    }
    if (strcmp(req->path, "/metrics") == 0) {
        long n = portald_metrics_render(&d->stats, d->out, FLOE_PORTAL_JSON_MAX);

        if (n < 0)
            n = 0;
        (void)floe_wsconn_respond(c->ws, now, 200, "text/plain; version=0.0.4; charset=utf-8",
                                  (const uint8_t *)d->out, (size_t)n);
        return;
    }
    d->stats.http_bad++;
    portald_respond(d, c, now, 404, NULL, "not found\n");
}

/* The role the path names: client, gateway, or none ("/", "/socket/websocket"). */
static enum portald_kind portald_path_kind(const char *path)
{
    if (strncmp(path, "/client", 7) == 0 && (path[7] == '\0' || path[7] == '/'))
        return PORTALD_KIND_CLIENT;
    if (strncmp(path, "/gateway", 8) == 0 && (path[8] == '\0' || path[8] == '/'))
        return PORTALD_KIND_GATEWAY;
    return PORTALD_KIND_NONE;
}

static bool portald_key_ok(const char *b64)
{
    uint8_t key[48];

    return strlen(b64) == 44 && floe_base64_decode(key, sizeof(key), b64, 44) == 32;
}

static void portald_http_refuse(struct portald *d, struct portald_conn *c, floe_time now,
                                int status, const char *why)
{
    char body[160];

    snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", why);
    portald_log(d, FLOE_LOG_INFO, "upgrade refused (%d): %s", status, why);
    (void)floe_wsconn_respond(c->ws, now, status, "application/json", (const uint8_t *)body,
                              strlen(body));
}

/* Authenticate the upgrade, find or make the device, accept. */
static void portald_http_upgrade(struct portald *d, struct portald_conn *c, floe_time now,
                                 const struct floe_wsconn_request *req)
{
    char key[64] = "", name[FLOE_STORE_NAME_MAX + 1] = "";
    enum portald_kind want = portald_path_kind(req->path);
    int rc;

    if (!req->token[0] || floe_store_token_authenticate(d->store, req->token, &c->token) < 0 ||
        (want != PORTALD_KIND_NONE && (int)want != (int)c->token.kind)) {
        d->stats.auth_failures++;
        portald_http_refuse(d, c, now, 401, "unauthorized");
        return;
    }
    if (!portald_query_get(req->query, "public_key", key, sizeof(key)) || !portald_key_ok(key)) {
        d->stats.http_bad++;
        portald_http_refuse(d, c, now, 400, "missing or invalid public_key");
        return;
    }
    (void)portald_query_get(req->query, "name", name, sizeof(name));
    rc = floe_store_device_upsert(d->store, &c->token, key, name[0] ? name : NULL, &c->dev);
    if (rc < 0) {
        if (rc == FLOE_ERR_IO)
            d->stats.store_errors++;
        portald_http_refuse(d, c, now, rc == FLOE_ERR_IO ? 503 : 409,
                            rc == FLOE_ERR_IO ? "database unavailable"
                                              : "public_key belongs to another device");
        return;
    }
    c->kind = (enum portald_kind)c->token.kind;
    snprintf(c->sid, sizeof(c->sid), "%lld", (long long)c->dev.id);
    if (floe_wsconn_accept(c->ws, now) == 0)
        d->stats.upgrades++;
}

void portald_http_request(struct portald *d, struct portald_conn *c, floe_time now)
{
    const struct floe_wsconn_request *req = floe_wsconn_request(c->ws);

    if (!req)
        return;
    if (!req->websocket) {
        portald_http_plain(d, c, now, req);
        return;
    }
    if (d->stopping) {
        portald_http_refuse(d, c, now, 503, "shutting down");
        return;
    }
    portald_http_upgrade(d, c, now, req);
}
