/*
 * Authorizations after create_authorization (issue 13; docs/protocol.md, "Renewal and
 * revocation"): the portal renews them by itself while the client is online and a policy
 * allows them (access_authorization_expiry_updated when ttl / 2 is left: no new connection,
 * no new handshake), revokes them when no policy does any more (reject_access), and tells a
 * gateway on each join which of its authorizations were revoked and until when the others
 * last, so that what it missed while connected nowhere takes effect. The rows and the
 * decisions live in the store (store_authz.c), so any PostgreSQL instance may do it, once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

/* reject_access (reject) or access_authorization_expiry_updated for a, to its gateway. */
static int portald_authz_tell(struct portald *d, const struct floe_store_access *a, bool reject)
{
    struct floe_portal_access *ac = &d->msg->u.access;
    long n;

    memset(d->msg, 0, sizeof(*d->msg));
    d->msg->type = reject ? FLOE_PORTAL_MSG_REJECT_ACCESS : FLOE_PORTAL_MSG_EXPIRY_UPDATED;
    d->msg->topic = FLOE_PORTAL_TOPIC_GATEWAY;
    snprintf(ac->client_id, sizeof(ac->client_id), "%lld", (long long)a->client_id);
    snprintf(ac->resource_id, sizeof(ac->resource_id), "%lld", (long long)a->resource_id);
    ac->expires_at = a->expires_at > 0 ? (uint64_t)a->expires_at : 0;
    n = floe_portal_msg_encode(d->msg, d->out, FLOE_PORTAL_JSON_MAX);
    if (n < 0)
        return (int)n;
    /* one statement for the whole batch to gateways on other instances (PostgreSQL) */
    return portald_deliver_later(d, a->gateway_id, d->out);
}

/* Tell each of as[0..n) to its gateway (free as); log with what. */
static void portald_authz_tell_all(struct portald *d, struct floe_store_access *as, size_t n,
                                   bool reject, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        int rc = portald_authz_tell(d, &as[i], reject);

        if (reject)
            d->stats.authorizations_revoked++;
        else
            d->stats.authorizations_renewed++;
        portald_log(d, reject ? FLOE_LOG_INFO : FLOE_LOG_DEBUG,
                    "client %lld resource %lld: %s, gateway %lld %s", (long long)as[i].client_id,
                    (long long)as[i].resource_id, what, (long long)as[i].gateway_id,
                    rc == 0 ? "told" : "connected nowhere (told on its next join)");
    }
    free(as);
}

void portald_authz_revoke(struct portald *d)
{
    struct floe_store_access *as = NULL;
    size_t n = 0;
    int64_t wall = portald_wall();

    if (floe_store_authorizations_revoke(d->store, wall) < 0 ||
        floe_store_revocations_claim(d->store, wall, &as, &n) < 0) {
        d->stats.store_errors++;
        return;
    }
    portald_authz_tell_all(d, as, n, true, "access revoked");
}

void portald_authz_renew(struct portald *d)
{
    struct floe_store_access *as = NULL;
    size_t n = 0;
    int64_t wall = portald_wall();

    if (floe_store_authorizations_renew(d->store, wall, d->opts.authz_ttl,
                                        wall - PORTALD_PRESENCE_TTL, &as, &n) < 0) {
        d->stats.store_errors++;
        return;
    }
    portald_authz_tell_all(d, as, n, false, "authorization renewed");
}

floe_time portald_authz_renew_every(const struct portald *d)
{
    uint64_t s = d->opts.authz_ttl / 4;

    if (s < 1)
        s = 1;
    if (s > PORTALD_AUTHZ_RENEW_MAX)
        s = PORTALD_AUTHZ_RENEW_MAX;
    return FLOE_SEC(s);
}

void portald_authz_gateway_joined(struct portald *d, struct portald_conn *c)
{
    struct floe_store_access *as = NULL;
    size_t n = 0, revoked = 0;

    if (floe_store_gateway_access(d->store, c->dev.id, portald_wall(), &as, &n) < 0) {
        d->stats.store_errors++;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        revoked += as[i].revoked;
        (void)portald_authz_tell(d, &as[i], as[i].revoked);
    }
    free(as);
    if (n)
        portald_log(d, FLOE_LOG_INFO,
                    "gateway %s joined: %llu revoked authorization(s) told, %llu live", c->sid,
                    (unsigned long long)revoked, (unsigned long long)(n - revoked));
}
