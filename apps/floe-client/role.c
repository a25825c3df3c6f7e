/* The client role's start and stop (policy rules), its status and its hook table. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "floe_io.h"

#ifdef __linux__
static const uint8_t role_families[2] = {FLOE_AF_INET, FLOE_AF_INET6};

/* The policy rules "not fwmark MARK lookup TABLE" (IPv4 required, IPv6 where it exists). */
static int client_rules(struct client *c, struct floe_agent *a)
{
    for (int i = 0; i < 2; i++) {
        if (floe_io_nl_rule(role_families[i], c->opts->agent.mark, c->opts->table,
                            FLOE_AGENT_RULE_PRIORITY, true) != 0 &&
            errno != EEXIST) {
            floe_jsonlog_error(floe_agent_log(a), "client", "policy rule (IPv%d): %s", i ? 6 : 4,
                               strerror(errno));
            if (i == 0)
                return FLOE_ERR_IO;
        }
    }
    c->rules = true;
    floe_jsonlog_info(floe_agent_log(a), "client",
                      "policy rule: not fwmark 0x%x lookup %u (priority %u)", c->opts->agent.mark,
                      c->opts->table, FLOE_AGENT_RULE_PRIORITY);
    return 0;
}

static void client_rules_undo(struct client *c)
{
    if (c->rules)
        for (int i = 0; i < 2; i++)
            (void)floe_io_nl_rule(role_families[i], c->opts->agent.mark, c->opts->table,
                                  FLOE_AGENT_RULE_PRIORITY, false);
    c->rules = false;
}
#else
/* Windows: no policy routing; the resources' routes on the Wintun interface are the rules. */
static int client_rules(struct client *c, struct floe_agent *a)
{
    (void)c;
    (void)a;
    return 0;
}

static void client_rules_undo(struct client *c)
{
    (void)c;
}
#endif

static int client_start(void *user, struct floe_agent *a)
{
    struct client *c = user;

    c->res = calloc(CLIENT_RESOURCES_MAX, sizeof(*c->res));
    if (!c->res)
        return FLOE_ERR_NOMEM;
    floe_iptrie_init(&c->trie, NULL);
    return client_rules(c, a);
}

static void client_stop(void *user, struct floe_agent *a)
{
    (void)a;
    client_rules_undo(user);
}

static void status_resource(const struct client *c, const struct client_resource *r,
                            struct floe_json_buf *j)
{
    char pfx[64];
    const char *gw = NULL;

    for (size_t i = 0; r->cid && i < CLIENT_GATEWAYS_MAX; i++)
        if (c->gw[i].used && c->gw[i].cid == r->cid)
            gw = c->gw[i].id;
    if (floe_prefix_format(&r->prefix, pfx, sizeof(pfx)) < 0)
        pfx[0] = '\0';
    floe_json_lit(j, "{\"id\":");
    floe_json_cstr_value(j, r->r.id);
    floe_json_lit(j, ",\"name\":");
    floe_json_cstr_value(j, r->r.name);
    floe_json_lit(j, ",\"address\":");
    floe_json_cstr_value(j, pfx);
    floe_json_lit(j, ",\"gateway\":");
    floe_json_cstr_value(j, gw);
    floe_json_lit(j, ",\"connection\":");
    floe_json_uint(j, r->cid);
    floe_json_lit(j, ",\"pending\":");
    floe_json_uint(j, r->n_pending);
    floe_json_lit(j, ",\"dropped\":");
    floe_json_uint(j, r->dropped);
    floe_json_lit(j, ",\"intents\":");
    floe_json_uint(j, r->requests);
    floe_json_lit(j, "}");
}

static void client_status_json(void *user, struct floe_agent *a, struct floe_json_buf *j)
{
    struct client *c = user;
    bool first = true;

    (void)a;
    floe_json_lit(j, ",\"resources\":[");
    for (size_t i = 0; i < CLIENT_RESOURCES_MAX; i++) {
        if (!c->res[i].used)
            continue;
        if (!first)
            floe_json_lit(j, ",");
        status_resource(c, &c->res[i], j);
        first = false;
    }
    floe_json_lit(j, "],\"gateways\":[");
    first = true;
    for (size_t i = 0; i < CLIENT_GATEWAYS_MAX; i++) {
        if (!c->gw[i].used)
            continue;
        floe_json_lit(j, first ? "{\"id\":" : ",{\"id\":");
        floe_json_cstr_value(j, c->gw[i].id);
        floe_json_lit(j, ",\"connection\":");
        floe_json_uint(j, c->gw[i].cid);
        floe_json_lit(j, ",\"up\":");
        floe_json_bool(j, c->gw[i].up);
        floe_json_lit(j, "}");
        first = false;
    }
    floe_json_lit(j, "],\"unknown_destination\":");
    floe_json_uint(j, c->unknown_dst);
}

/* Defined in client.c. */
void client__hooks(struct floe_agent_role *r);

struct floe_agent_role client_role(struct client *c)
{
    struct floe_agent_role r = {
        .name = "client",
        .portal_role = FLOE_PORTAL_ROLE_CLIENT,
        .node_role = FLOE_NODE_CLIENT,
        .user = c,
        .start = client_start,
        .stop = client_stop,
        .status = client_status_json,
    };

    client__hooks(&r);
    return r;
}

void client_free(struct client *c)
{
    if (!c->res)
        return;
    for (size_t i = 0; i < CLIENT_RESOURCES_MAX; i++)
        if (c->res[i].used)
            for (unsigned k = 0; k < c->res[i].n_pending; k++)
                free(c->res[i].pending[k]);
    floe_iptrie_deinit(&c->trie);
    free(c->res);
    c->res = NULL;
}
