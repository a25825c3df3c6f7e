/*
 * agent_gateway: a minimal gateway on the agent core (apps/agent), for
 * tests/netns/client_gateway_test.sh until floe-gateway exists: it accepts create_authorization
 * (one node connection per client, ICE credentials and keys from the portal), answers
 * authorization_created, routes each client's tunnel address through its TUN, and forwards
 * only packets from a client's tunnel address to a resource it was authorized for (no port
 * filters, no NAT: the test's resources live in the gateway's namespace).
 *
 *   agent_gateway --portal URL --token-file PATH --interface NAME [--ca-file PEM]
 *                 [--log-file PATH] [--control-socket PATH]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "floe_io.h"

#define GW_CLIENTS 64
#define GW_RES 16

struct gw_client {
    bool used;
    uint64_t cid;
    char id[FLOE_PORTAL_ID_MAX];
    struct floe_addr ip4;
    struct floe_prefix res[GW_RES];
    char res_id[GW_RES][FLOE_PORTAL_ID_MAX];
    unsigned n_res;
};

static struct gw_client clients[GW_CLIENTS];
static uint64_t next_cid;

static struct gw_client *gw_client(const char *id, bool make)
{
    struct gw_client *free_slot = NULL;

    for (int i = 0; i < GW_CLIENTS; i++) {
        if (clients[i].used && strcmp(clients[i].id, id) == 0)
            return &clients[i];
        if (!free_slot && !clients[i].used)
            free_slot = &clients[i];
    }
    if (!make || !free_slot)
        return NULL;
    *free_slot = (struct gw_client){.used = true, .cid = ++next_cid};
    snprintf(free_slot->id, sizeof(free_slot->id), "%s", id);
    return free_slot;
}

static void gw_add_resource(struct gw_client *c, const struct floe_portal_resource *r)
{
    struct floe_prefix p = {.family = r->address.addr.family, .len = r->address.prefix};

    memcpy(p.ip, r->address.addr.ip, sizeof(p.ip));
    for (unsigned i = 0; i < c->n_res; i++)
        if (strcmp(c->res_id[i], r->id) == 0) {
            c->res[i] = p;
            return;
        }
    if (c->n_res == GW_RES)
        return;
    c->res[c->n_res] = p;
    snprintf(c->res_id[c->n_res++], FLOE_PORTAL_ID_MAX, "%s", r->id);
}

static void gw_authorize(struct floe_agent *a, const struct floe_portal_create_authorization *ca)
{
    struct gw_client *c = gw_client(ca->client.id, true);
    struct floe_node_conn_config cc;
    struct floe_prefix host = {.family = FLOE_AF_INET, .len = 32};

    char ref[FLOE_PORTAL_ID_MAX];

    if (!c)
        return;
    memcpy(ref, ca->ref, sizeof(ref));
    memset(&cc, 0, sizeof(cc));
    memcpy(cc.public_key, ca->client.public_key, sizeof(cc.public_key));
    memcpy(cc.psk, ca->client.preshared_key, sizeof(cc.psk));
    cc.has_psk = true;
    memcpy(cc.remote_ufrag, ca->client_ice.username, sizeof(cc.remote_ufrag) - 1);
    memcpy(cc.remote_pwd, ca->client_ice.password, sizeof(cc.remote_pwd) - 1);
    memcpy(cc.local_ufrag, ca->gateway_ice.username, sizeof(cc.local_ufrag) - 1);
    memcpy(cc.local_pwd, ca->gateway_ice.password, sizeof(cc.local_pwd) - 1);
    if (floe_agent_conn_upsert(a, c->cid, c->id, &cc) != 0)
        return;
    c->ip4 = ca->client.ipv4;
    memcpy(host.ip, c->ip4.ip, 4);
    (void)floe_io_nl_route(floe_agent_ifindex(a), &host, 254, true);
    gw_add_resource(c, &ca->resource);
    if (floe_portal_client_authorization_created(floe_agent_portal(a), floe_agent_now(a), ref))
        floe_jsonlog_error(floe_agent_log(a), "gateway", "authorization_created not sent");
}

static void gw_reject(const struct floe_portal_access *ac)
{
    struct gw_client *c = gw_client(ac->client_id, false);

    for (unsigned i = 0; c && i < c->n_res; i++)
        if (strcmp(c->res_id[i], ac->resource_id) == 0) {
            c->res[i] = c->res[--c->n_res];
            memcpy(c->res_id[i], c->res_id[c->n_res], FLOE_PORTAL_ID_MAX);
            return;
        }
}

static void gw_message(void *user, struct floe_agent *a, const struct floe_portal_msg *m)
{
    (void)user;
    if (m->type == FLOE_PORTAL_MSG_CREATE_AUTHORIZATION)
        gw_authorize(a, &m->u.create);
    else if (m->type == FLOE_PORTAL_MSG_REJECT_ACCESS)
        gw_reject(&m->u.access);
}

static uint64_t gw_route(void *user, struct floe_agent *a, const uint8_t *pkt, size_t len)
{
    (void)user;
    (void)a;
    if (len < 20 || (pkt[0] >> 4) != 4)
        return 0;
    for (int i = 0; i < GW_CLIENTS; i++)
        if (clients[i].used && memcmp(clients[i].ip4.ip, pkt + 16, 4) == 0)
            return clients[i].cid;
    return 0;
}

static bool gw_accept(void *user, struct floe_agent *a, uint64_t cid, uint8_t *pkt, size_t len)
{
    (void)user;
    (void)a;
    if (len < 20 || (pkt[0] >> 4) != 4)
        return false;
    for (int i = 0; i < GW_CLIENTS; i++) {
        struct gw_client *c = &clients[i];
        if (!c->used || c->cid != cid || memcmp(c->ip4.ip, pkt + 12, 4) != 0)
            continue;
        for (unsigned k = 0; k < c->n_res; k++)
            if (c->res[k].family == FLOE_AF_INET && floe_prefix_contains(&c->res[k], pkt + 16))
                return true;
    }
    floe_jsonlog_debug(floe_agent_log(a), "gateway", "refused %u.%u.%u.%u -> %u.%u.%u.%u", pkt[12],
                       pkt[13], pkt[14], pkt[15], pkt[16], pkt[17], pkt[18], pkt[19]);
    return false;
}

static void gw_conn_event(void *user, struct floe_agent *a, const struct floe_node_event *ev)
{
    (void)user;
    (void)a;
    if (ev->type != FLOE_NODE_EV_FAILED && ev->type != FLOE_NODE_EV_CLOSED)
        return;
    for (int i = 0; i < GW_CLIENTS; i++)
        if (clients[i].used && clients[i].cid == ev->cid)
            memset(&clients[i], 0, sizeof(clients[i]));
}

static int gw_token(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");

    if (!f || !fgets(out, (int)cap, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"portal", required_argument, NULL, 'p'},
                                         {"token-file", required_argument, NULL, 't'},
                                         {"interface", required_argument, NULL, 'i'},
                                         {"ca-file", required_argument, NULL, 'c'},
                                         {"log-file", required_argument, NULL, 'l'},
                                         {"control-socket", required_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    struct floe_agent_config cfg = {.interface = "floegw0",
                                    .role = {.name = "gateway",
                                             .portal_role = FLOE_PORTAL_ROLE_GATEWAY,
                                             .node_role = FLOE_NODE_GATEWAY,
                                             .message = gw_message,
                                             .route = gw_route,
                                             .accept = gw_accept,
                                             .conn_event = gw_conn_event}};
    const char *token_file = NULL, *log_file = NULL;
    char token[1024];
    struct floe_jsonlog log;
    struct floe_agent *a;
    int c, rc;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            cfg.portal_url = optarg;
            break;
        case 't':
            token_file = optarg;
            break;
        case 'i':
            cfg.interface = optarg;
            break;
        case 'c':
            cfg.ca_file = optarg;
            break;
        case 'l':
            log_file = optarg;
            break;
        case 's':
            cfg.control_path = optarg;
            break;
        default:
            return 2;
        }
    }
    if (!cfg.portal_url || !token_file || gw_token(token_file, token, sizeof(token)) != 0 ||
        floe_jsonlog_open(&log, log_file, FLOE_LOG_DEBUG) != 0) {
        fprintf(stderr, "agent_gateway: --portal URL --token-file PATH [--interface NAME]\n");
        return 2;
    }
    cfg.token = token;
    cfg.log = &log;
    cfg.mark = FLOE_AGENT_DEFAULT_MARK;
    if ((rc = floe_agent_new(&a, &cfg)) != 0)
        return 1;
    rc = floe_agent_run(a);
    floe_agent_free(a);
    floe_jsonlog_close(&log);
    return rc;
}
