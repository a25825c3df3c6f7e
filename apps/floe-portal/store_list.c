/* Listings for the admin CLI: one query per entity, returned as a table of strings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define STORE_DEVICE_LIST                                                                          \
    "SELECT d.id, CASE d.kind WHEN 1 THEN 'client' ELSE 'gateway' END AS kind, d.site_id,"         \
    " d.user_id, d.name, d.public_key, a.ipv4, a.ipv6, pr.instance, pr.heartbeat_at"               \
    " FROM devices d LEFT JOIN addresses a ON a.device_id = d.id"

/* The query of each entity; $1, where used, is the oldest fresh heartbeat or now. */
static const char *const store_list_sql[] = {
    [FLOE_STORE_SITES] = "SELECT s.id, s.name, (SELECT COUNT(*) FROM devices d WHERE d.site_id ="
                         " s.id) AS gateways, (SELECT COUNT(*) FROM resources r WHERE r.site_id ="
                         " s.id) AS resources, s.created_at FROM sites s ORDER BY s.id",
    [FLOE_STORE_SITE_TOKENS] = "SELECT id, site_id, created_at FROM tokens WHERE kind = 2"
                               " ORDER BY id",
    [FLOE_STORE_USERS] = "SELECT u.id, u.name, (SELECT COUNT(*) FROM devices d WHERE d.user_id ="
                         " u.id) AS devices, u.created_at FROM users u ORDER BY u.id",
    [FLOE_STORE_CLIENT_TOKENS] = "SELECT id, user_id, created_at FROM tokens WHERE kind = 1"
                                 " ORDER BY id",
    [FLOE_STORE_RESOURCES] = "SELECT id, site_id, name, cidr AS address, filters, created_at"
                             " FROM resources ORDER BY id",
    [FLOE_STORE_GROUPS] = "SELECT g.id, g.name, (SELECT COUNT(*) FROM memberships m WHERE"
                          " m.group_id = g.id) AS members, g.created_at FROM user_groups g"
                          " ORDER BY g.id",
    [FLOE_STORE_MEMBERS] = "SELECT m.group_id, g.name AS group_name, m.user_id, u.name AS"
                           " user_name FROM memberships m JOIN users u ON u.id = m.user_id"
                           " JOIN user_groups g ON g.id = m.group_id ORDER BY m.group_id,"
                           " m.user_id",
    [FLOE_STORE_POLICIES] = "SELECT p.id, p.group_id, g.name AS group_name, p.resource_id,"
                            " r.name AS resource_name, p.created_at FROM policies p JOIN"
                            " user_groups g ON g.id = p.group_id JOIN resources r ON r.id ="
                            " p.resource_id ORDER BY p.id",
    [FLOE_STORE_RELAYS] = "SELECT id, address, created_at FROM relays ORDER BY id",
    [FLOE_STORE_DEVICES] = STORE_DEVICE_LIST " LEFT JOIN presence pr ON pr.device_id = d.id"
                                             " ORDER BY d.id",
    [FLOE_STORE_ONLINE] = STORE_DEVICE_LIST " JOIN presence pr ON pr.device_id = d.id"
                                            " WHERE pr.heartbeat_at >= $1 ORDER BY d.id",
    [FLOE_STORE_AUTHORIZATIONS] = "SELECT id, client_id, gateway_id, resource_id, expires_at"
                                  " FROM authorizations WHERE expires_at > $1 ORDER BY id",
};

/* Integers: ids, times and counts (JSON numbers; the rest are strings). */
static bool store_numeric_column(const char *name)
{
    static const char *const counts[] = {"id", "gateways", "resources", "devices", "members"};
    size_t i, len = strlen(name);

    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        if (strcmp(name, counts[i]) == 0)
            return true;
    return len > 3 && (strcmp(name + len - 3, "_id") == 0 || strcmp(name + len - 3, "_at") == 0);
}

int floe_store_list(struct floe_store *s, enum floe_store_entity entity, int64_t now,
                    struct floe_store_table *out)
{
    char t[24];
    const char *p[1];
    struct store_res res;
    size_t i;
    int n = 0, rc;

    memset(out, 0, sizeof(*out));
    if ((size_t)entity >= sizeof(store_list_sql) / sizeof(store_list_sql[0]))
        return floe__store_fail(s, FLOE_ERR_INVALID_ARG, "no such listing");
    if (entity == FLOE_STORE_ONLINE || entity == FLOE_STORE_AUTHORIZATIONS) {
        p[0] = floe__store_int_text(t, entity == FLOE_STORE_ONLINE ? now - FLOE_STORE_PRESENCE_TTL
                                                                   : now);
        n = 1;
    }
    rc = floe__store_exec(s, store_list_sql[entity], p, n, &res);
    if (rc < 0)
        return rc;
    out->numeric = calloc(res.cols ? res.cols : 1, sizeof(bool));
    if (!out->numeric) {
        floe__store_res_free(&res);
        return floe__store_fail(s, FLOE_ERR_NOMEM, "out of memory");
    }
    for (i = 0; i < res.cols; i++)
        out->numeric[i] = store_numeric_column(res.names[i]);
    out->cols = res.cols;
    out->rows = res.rows;
    out->names = res.names;
    out->cells = res.cells;
    return 0;
}

void floe_store_table_free(struct floe_store_table *t)
{
    struct store_res res;

    if (!t)
        return;
    res.rows = t->rows;
    res.cols = t->cols;
    res.names = t->names;
    res.cells = t->cells;
    floe__store_res_free(&res);
    free(t->numeric);
    memset(t, 0, sizeof(*t));
}
