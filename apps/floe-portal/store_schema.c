/*
 * The schema and its migrations. One text for both engines; @ID@ becomes the engine's
 * autoincrementing key. Version 1 is the first; a later version appends a step to
 * store_steps and never edits one that shipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char store_v1[] =
    "CREATE TABLE sites (id @ID@, name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);"
    "CREATE TABLE users (id @ID@, name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);"
    "CREATE TABLE tokens (id @ID@, kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
    " site_id BIGINT REFERENCES sites(id) ON DELETE CASCADE,"
    " user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,"
    " hash TEXT NOT NULL, created_at BIGINT NOT NULL,"
    " CHECK ((kind = 1 AND user_id IS NOT NULL AND site_id IS NULL) OR"
    " (kind = 2 AND site_id IS NOT NULL AND user_id IS NULL)));"
    "CREATE TABLE devices (id @ID@, kind INTEGER NOT NULL CHECK (kind IN (1, 2)),"
    " site_id BIGINT REFERENCES sites(id) ON DELETE CASCADE,"
    " user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL, public_key TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);"
    "CREATE TABLE addresses (device_id BIGINT PRIMARY KEY REFERENCES devices(id)"
    " ON DELETE CASCADE, idx BIGINT NOT NULL UNIQUE, ipv4 TEXT NOT NULL UNIQUE,"
    " ipv6 TEXT NOT NULL UNIQUE);"
    "CREATE TABLE resources (id @ID@, site_id BIGINT NOT NULL REFERENCES sites(id)"
    " ON DELETE CASCADE, name TEXT NOT NULL, cidr TEXT NOT NULL, filters TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, UNIQUE (site_id, name));"
    "CREATE TABLE user_groups (id @ID@, name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);"
    "CREATE TABLE memberships (group_id BIGINT NOT NULL REFERENCES user_groups(id)"
    " ON DELETE CASCADE, user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " PRIMARY KEY (group_id, user_id));"
    "CREATE TABLE policies (id @ID@, group_id BIGINT NOT NULL REFERENCES user_groups(id)"
    " ON DELETE CASCADE, resource_id BIGINT NOT NULL REFERENCES resources(id)"
    " ON DELETE CASCADE, created_at BIGINT NOT NULL, UNIQUE (group_id, resource_id));"
    "CREATE TABLE relays (id @ID@, address TEXT NOT NULL UNIQUE, secret TEXT NOT NULL,"
    " created_at BIGINT NOT NULL);"
    "CREATE TABLE presence (device_id BIGINT PRIMARY KEY REFERENCES devices(id)"
    " ON DELETE CASCADE, instance TEXT NOT NULL, heartbeat_at BIGINT NOT NULL);"
    "CREATE TABLE authorizations (id @ID@, client_id BIGINT NOT NULL REFERENCES devices(id)"
    " ON DELETE CASCADE, gateway_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " resource_id BIGINT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,"
    " expires_at BIGINT NOT NULL, preshared_key TEXT);"
    "CREATE TABLE changes (id @ID@, kind TEXT NOT NULL, payload TEXT NOT NULL,"
    " created_at BIGINT NOT NULL);"
    "CREATE INDEX devices_site ON devices(site_id);"
    "CREATE INDEX memberships_user ON memberships(user_id);"
    "CREATE INDEX authorizations_expiry ON authorizations(expires_at);";

/* Version 2: an online gateway of a site is found by index (floe_store_gateway_pick). */
static const char store_v2[] =
    "CREATE INDEX IF NOT EXISTS devices_site_kind ON devices(site_id, kind, id);";

/*
 * Version 3: candidate messages held for a device that is offline (issue 12, store_held.c),
 * one row per candidate in the order they came; they go with their device, with the
 * authorization they belong to, or at expires_at.
 */
static const char store_v3[] =
    "CREATE TABLE held_candidates (id @ID@, device_id BIGINT NOT NULL REFERENCES devices(id)"
    " ON DELETE CASCADE, peer_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " authorization_id BIGINT REFERENCES authorizations(id) ON DELETE CASCADE,"
    " invalidate INTEGER NOT NULL CHECK (invalidate IN (0, 1)), candidate TEXT NOT NULL,"
    " created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);"
    "CREATE INDEX held_candidates_device ON held_candidates(device_id, peer_id);"
    "CREATE INDEX held_candidates_expiry ON held_candidates(expires_at);";

/*
 * Version 4: revocations kept until the authorization would have expired, so that a gateway
 * connected nowhere when it was revoked is told on its next join (store_authz.c); no foreign
 * key to the client or the resource: the revocation outlives their removal.
 */
static const char store_v4[] =
    "CREATE TABLE revocations (authorization_id BIGINT PRIMARY KEY,"
    " gateway_id BIGINT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    " client_id BIGINT NOT NULL, resource_id BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
    " sent INTEGER NOT NULL DEFAULT 0 CHECK (sent IN (0, 1)));"
    "CREATE INDEX revocations_gateway ON revocations(gateway_id);"
    "CREATE INDEX revocations_expiry ON revocations(expires_at);"
    "CREATE INDEX authorizations_pair ON authorizations(client_id, resource_id, gateway_id);"
    "CREATE INDEX authorizations_gateway ON authorizations(gateway_id);";

/*
 * Version 5: whether two devices share a live authorization is found by index before a
 * candidate message is relayed (floe_store_authorizations_live, on a miss of the cache).
 */
static const char store_v5[] = "CREATE INDEX IF NOT EXISTS authorizations_live ON"
                               " authorizations(client_id, gateway_id, expires_at);";

static const char *const store_steps[] = {store_v1, store_v2, store_v3, store_v4, store_v5};

/* sql with every @ID@ replaced by the engine's key type; NULL when out of memory. */
static char *store_fill(const char *sql, const char *id)
{
    size_t n = 0, idlen = strlen(id), len = strlen(sql);
    const char *p;
    char *out, *w;

    for (p = strstr(sql, "@ID@"); p; p = strstr(p + 4, "@ID@"))
        n++;
    out = malloc(len + n * idlen + 1);
    if (!out)
        return NULL;
    for (w = out, p = sql; *p;) {
        if (strncmp(p, "@ID@", 4) == 0) {
            memcpy(w, id, idlen);
            w += idlen;
            p += 4;
        } else {
            *w++ = *p++;
        }
    }
    *w = 0;
    return out;
}

int floe_store_schema_version(struct floe_store *s)
{
    int64_t v = 0;
    int rc = floe__store_exec_int(s, "SELECT value FROM floe_meta WHERE name = 'schema_version'",
                                  NULL, 0, &v);

    return rc < 0 ? rc : (int)v;
}

/* Apply the steps after version from inside the caller's transaction. */
static int store_apply(struct floe_store *s, int version)
{
    char text[24];
    const char *p[1];
    int i, rc;

    for (i = version; i < (int)(sizeof(store_steps) / sizeof(store_steps[0])); i++) {
        char *sql = store_fill(store_steps[i], s->ops->id_column);

        if (!sql)
            return floe__store_fail(s, FLOE_ERR_NOMEM, "out of memory");
        rc = s->ops->script(s, sql);
        free(sql);
        if (rc < 0)
            return rc;
    }
    p[0] = floe__store_int_text(text, i);
    return floe__store_exec(s, "UPDATE floe_meta SET value = $1 WHERE name = 'schema_version'", p,
                            1, NULL);
}

int floe__store_migrate(struct floe_store *s)
{
    int rc, version;

    rc = floe__store_begin(s);
    if (rc < 0)
        return rc;
    if (s->engine == FLOE_STORE_POSTGRES) /* two instances starting on an empty database */
        rc = floe__store_exec(s, "SELECT pg_advisory_xact_lock(" STORE_MIGRATE_LOCK ")", NULL, 0,
                              NULL);
    if (rc == 0)
        rc = s->ops->script(s, "CREATE TABLE IF NOT EXISTS floe_meta (name TEXT PRIMARY KEY,"
                               " value TEXT NOT NULL);"
                               "INSERT INTO floe_meta VALUES ('schema_version', '0')"
                               " ON CONFLICT DO NOTHING;");
    version = rc == 0 ? floe_store_schema_version(s) : rc;
    if (version > FLOE_STORE_SCHEMA_VERSION)
        rc = floe__store_fail(s, FLOE_ERR_STATE,
                              "database schema %d is newer than this program's %d", version,
                              FLOE_STORE_SCHEMA_VERSION);
    else if (version < 0)
        rc = version;
    else if (version < FLOE_STORE_SCHEMA_VERSION)
        rc = store_apply(s, version);
    if (rc == 0)
        rc = floe__store_commit(s);
    if (rc < 0)
        floe__store_rollback(s);
    return rc;
}
