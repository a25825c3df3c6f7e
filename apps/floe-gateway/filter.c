/*
 * floe-gateway's per-client packet filter (filter.h): clients in an array of pointers, their
 * tunnel addresses in an iptrie (host prefixes -> client), each client's authorizations in a
 * small array scanned per packet (a client holds a handful of resources).
 */
#include "filter.h"

#include <string.h>

#include "floe/iptrie.h"

#define GWF_PROTO_ICMPV6 58
#define GWF_IPV6_EXT_MAX 8 /* extension headers walked before giving up */

struct gwf_auth {
    char res_id[FLOE_PORTAL_ID_MAX];
    struct floe_prefix cidr;
    uint32_t n_filters;
    struct floe_portal_filter filters[FLOE_PORTAL_FILTERS_MAX];
    uint64_t expires_at; /* 0: never */
};

struct gwf_client {
    char id[FLOE_PORTAL_ID_MAX];
    uint64_t cid;
    struct floe_prefix tun[2]; /* [0] IPv4 /32, [1] IPv6 /128; family 0: none */
    uint32_t n_auths, cap_auths;
    struct gwf_auth *auths;
};

struct floe_gwfilter {
    struct floe_gwfilter_config cfg;
    struct gwf_client **clients;
    uint32_t n_clients;
    size_t n_auths;
    struct floe_iptrie tun;          /* tunnel address -> struct gwf_client */
    struct floe_gwfilter_gone *gone; /* ring of max_clients */
    uint32_t gone_head, gone_n;
    uint64_t drops[FLOE_GWF_VERDICT_COUNT];
};

/* What the filter reads of a packet. */
struct gwf_pkt {
    uint8_t family;
    const uint8_t *src, *dst;
    uint8_t proto;
    bool frag; /* a fragment: no ports */
    uint16_t dport;
};

static const char *const gwf_names[FLOE_GWF_VERDICT_COUNT] = {
    "pass", "malformed", "no_client", "spoofed", "no_resource", "filtered", "expired",
};

void floe_gwfilter_config_default(struct floe_gwfilter_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_clients = FLOE_GWF_DEFAULT_MAX_CLIENTS;
    cfg->max_auths = FLOE_GWF_DEFAULT_MAX_AUTHS;
}

int floe_gwfilter_new(struct floe_gwfilter **out, const struct floe_gwfilter_config *cfg)
{
    struct floe_gwfilter *f;

    if (!out || !cfg || cfg->max_clients < 1 || cfg->max_clients > 65536 || cfg->max_auths < 1 ||
        cfg->max_auths > 4096)
        return FLOE_ERR_INVALID_ARG;
    f = floe_mem_calloc(&cfg->alloc, 1, sizeof(*f));
    if (!f)
        return FLOE_ERR_NOMEM;
    f->cfg = *cfg;
    f->clients = floe_mem_calloc(&cfg->alloc, cfg->max_clients, sizeof(*f->clients));
    f->gone = floe_mem_calloc(&cfg->alloc, cfg->max_clients, sizeof(*f->gone));
    if (!f->clients || !f->gone) {
        floe_mem_free(&cfg->alloc, f->clients);
        floe_mem_free(&cfg->alloc, f->gone);
        floe_mem_free(&cfg->alloc, f);
        return FLOE_ERR_NOMEM;
    }
    floe_iptrie_init(&f->tun, &f->cfg.alloc);
    *out = f;
    return 0;
}

static void gwf_client_free(struct floe_gwfilter *f, struct gwf_client *c)
{
    floe_mem_free(&f->cfg.alloc, c->auths);
    floe_mem_free(&f->cfg.alloc, c);
}

void floe_gwfilter_free(struct floe_gwfilter *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->n_clients; i++)
        gwf_client_free(f, f->clients[i]);
    floe_iptrie_deinit(&f->tun);
    floe_mem_free(&f->cfg.alloc, f->clients);
    floe_mem_free(&f->cfg.alloc, f->gone);
    floe_mem_free(&f->cfg.alloc, f);
}

/* ------------------------------------------------------------- bookkeeping */

static bool gwf_id_ok(const char *id)
{
    return id && id[0] && strlen(id) < FLOE_PORTAL_ID_MAX;
}

static struct gwf_client *gwf_find(const struct floe_gwfilter *f, const char *id, uint32_t *at)
{
    for (uint32_t i = 0; i < f->n_clients; i++) {
        if (strcmp(f->clients[i]->id, id) == 0) {
            if (at)
                *at = i;
            return f->clients[i];
        }
    }
    return NULL;
}

static struct gwf_auth *gwf_find_auth(const struct gwf_client *c, const char *res_id)
{
    for (uint32_t i = 0; i < c->n_auths; i++) {
        if (strcmp(c->auths[i].res_id, res_id) == 0)
            return &c->auths[i];
    }
    return NULL;
}

static void gwf_host_prefix(const struct floe_addr *a, struct floe_prefix *p)
{
    memset(p, 0, sizeof(*p));
    if (a->family != FLOE_AF_INET && a->family != FLOE_AF_INET6)
        return;
    p->family = a->family;
    p->len = a->family == FLOE_AF_INET ? 32 : 128;
    memcpy(p->ip, a->ip, a->family == FLOE_AF_INET ? 4 : 16);
}

/* Take client i out: trie entries, the array slot; queue it as gone. */
static void gwf_remove_client(struct floe_gwfilter *f, uint32_t i)
{
    struct gwf_client *c = f->clients[i];
    struct floe_gwfilter_gone *g;
    uint32_t slot;

    floe_iptrie_remove_value(&f->tun, c);
    f->n_auths -= c->n_auths;
    if (f->gone_n == f->cfg.max_clients) { /* full: the oldest report is lost */
        f->gone_head = (f->gone_head + 1) % f->cfg.max_clients;
        f->gone_n--;
    }
    slot = (f->gone_head + f->gone_n++) % f->cfg.max_clients;
    g = &f->gone[slot];
    g->cid = c->cid;
    memcpy(g->client_id, c->id, sizeof(g->client_id));
    f->clients[i] = f->clients[--f->n_clients];
    gwf_client_free(f, c);
}

/* Remove authorization k of client i; the client too when it was its last one. */
static void gwf_remove_auth(struct floe_gwfilter *f, uint32_t i, uint32_t k)
{
    struct gwf_client *c = f->clients[i];

    c->auths[k] = c->auths[--c->n_auths];
    f->n_auths--;
    if (c->n_auths == 0)
        gwf_remove_client(f, i);
}

int floe_gwfilter_poll_gone(struct floe_gwfilter *f, struct floe_gwfilter_gone *out)
{
    if (!f || !out || f->gone_n == 0)
        return 0;
    *out = f->gone[f->gone_head];
    f->gone_head = (f->gone_head + 1) % f->cfg.max_clients;
    f->gone_n--;
    return 1;
}

/* ------------------------------------------------------------ authorizing */

static void gwf_auth_fill(struct gwf_auth *au, const struct floe_portal_resource *r,
                          uint64_t expires_at)
{
    memset(au, 0, sizeof(*au));
    memcpy(au->res_id, r->id, sizeof(au->res_id));
    au->res_id[sizeof(au->res_id) - 1] = '\0';
    gwf_host_prefix(&r->address.addr, &au->cidr);
    au->cidr.len = r->address.prefix;
    au->n_filters = r->n_filters > FLOE_PORTAL_FILTERS_MAX ? FLOE_PORTAL_FILTERS_MAX : r->n_filters;
    memcpy(au->filters, r->filters, au->n_filters * sizeof(au->filters[0]));
    au->expires_at = expires_at;
}

static bool gwf_auth_args_ok(const struct floe_gwfilter_auth *a)
{
    const struct floe_portal_cidr *c;

    if (!a || !gwf_id_ok(a->client_id) || a->cid == 0 || !a->res || !gwf_id_ok(a->res->id))
        return false;
    if (a->ipv4.family != FLOE_AF_INET && a->ipv6.family != FLOE_AF_INET6)
        return false;
    if ((a->ipv4.family && a->ipv4.family != FLOE_AF_INET) ||
        (a->ipv6.family && a->ipv6.family != FLOE_AF_INET6))
        return false;
    c = &a->res->address;
    if (c->addr.family == FLOE_AF_INET)
        return c->prefix <= 32;
    return c->addr.family == FLOE_AF_INET6 && c->prefix <= 128;
}

/* Whether a's tunnel addresses are free or already c's (c may be NULL: a new client). */
static bool gwf_tun_free(const struct floe_gwfilter *f, const struct gwf_client *c,
                         const struct floe_gwfilter_auth *a)
{
    const struct floe_addr *addrs[2] = {&a->ipv4, &a->ipv6};

    for (int i = 0; i < 2; i++) {
        void *owner;

        if (!addrs[i]->family)
            continue;
        owner = floe_iptrie_lookup(&f->tun, addrs[i]->family, addrs[i]->ip);
        if (owner && owner != c)
            return false;
    }
    return true;
}

/* Point the trie at c for a's tunnel addresses (replacing c's old ones). */
static int gwf_set_tun(struct floe_gwfilter *f, struct gwf_client *c,
                       const struct floe_gwfilter_auth *a)
{
    struct floe_prefix p[2];

    gwf_host_prefix(&a->ipv4, &p[0]);
    gwf_host_prefix(&a->ipv6, &p[1]);
    if (memcmp(p, c->tun, sizeof(p)) == 0)
        return 0;
    floe_iptrie_remove_value(&f->tun, c);
    for (int i = 0; i < 2; i++) {
        if (p[i].family && floe_iptrie_insert(&f->tun, &p[i], c) != 0) {
            floe_iptrie_remove_value(&f->tun, c);
            memset(c->tun, 0, sizeof(c->tun));
            return FLOE_ERR_NOMEM;
        }
    }
    memcpy(c->tun, p, sizeof(p));
    return 0;
}

static struct gwf_client *gwf_client_new(struct floe_gwfilter *f, const char *id)
{
    struct gwf_client *c;

    if (f->n_clients == f->cfg.max_clients)
        return NULL;
    c = floe_mem_calloc(&f->cfg.alloc, 1, sizeof(*c));
    if (!c)
        return NULL;
    memcpy(c->id, id, strlen(id) + 1);
    return c;
}

/* A slot for a new authorization in c (grown by doubling up to max_auths), or NULL. */
static struct gwf_auth *gwf_auth_slot(struct floe_gwfilter *f, struct gwf_client *c)
{
    if (c->n_auths == f->cfg.max_auths)
        return NULL;
    if (c->n_auths == c->cap_auths) {
        uint32_t cap = c->cap_auths ? c->cap_auths * 2 : 4;
        struct gwf_auth *n;

        if (cap > f->cfg.max_auths)
            cap = f->cfg.max_auths;
        n = floe_mem_realloc(&f->cfg.alloc, c->auths, cap * sizeof(*n));
        if (!n)
            return NULL;
        c->auths = n;
        c->cap_auths = cap;
    }
    return &c->auths[c->n_auths];
}

int floe_gwfilter_authorize(struct floe_gwfilter *f, const struct floe_gwfilter_auth *a)
{
    struct gwf_client *c;
    struct gwf_auth *au;
    bool fresh = false;

    if (!f || !gwf_auth_args_ok(a))
        return FLOE_ERR_INVALID_ARG;
    c = gwf_find(f, a->client_id, NULL);
    if (!gwf_tun_free(f, c, a))
        return FLOE_ERR_INVALID_ARG;
    if (!c) {
        c = gwf_client_new(f, a->client_id);
        if (!c)
            return FLOE_ERR_NOMEM;
        fresh = true;
    }
    au = gwf_find_auth(c, a->res->id);
    if (!au)
        au = gwf_auth_slot(f, c);
    if (!au || gwf_set_tun(f, c, a) != 0) {
        if (fresh)
            gwf_client_free(f, c);
        return FLOE_ERR_NOMEM;
    }
    if (au == &c->auths[c->n_auths]) {
        c->n_auths++;
        f->n_auths++;
    }
    gwf_auth_fill(au, a->res, a->expires_at);
    c->cid = a->cid;
    if (fresh)
        f->clients[f->n_clients++] = c;
    return 0;
}

int floe_gwfilter_revoke(struct floe_gwfilter *f, const char *client_id, const char *resource_id)
{
    struct gwf_client *c;
    struct gwf_auth *au;
    uint32_t i;

    if (!f || !gwf_id_ok(client_id) || !gwf_id_ok(resource_id))
        return FLOE_ERR_INVALID_ARG;
    c = gwf_find(f, client_id, &i);
    au = c ? gwf_find_auth(c, resource_id) : NULL;
    if (!au)
        return FLOE_ERR_NOT_FOUND;
    gwf_remove_auth(f, i, (uint32_t)(au - c->auths));
    return 0;
}

int floe_gwfilter_set_expiry(struct floe_gwfilter *f, const char *client_id,
                             const char *resource_id, uint64_t expires_at)
{
    struct gwf_client *c;
    struct gwf_auth *au;

    if (!f || !gwf_id_ok(client_id) || !gwf_id_ok(resource_id))
        return FLOE_ERR_INVALID_ARG;
    c = gwf_find(f, client_id, NULL);
    au = c ? gwf_find_auth(c, resource_id) : NULL;
    if (!au)
        return FLOE_ERR_NOT_FOUND;
    au->expires_at = expires_at;
    return 0;
}

int floe_gwfilter_update_resource(struct floe_gwfilter *f, const struct floe_portal_resource *res)
{
    int n = 0;

    if (!f || !res || !gwf_id_ok(res->id))
        return FLOE_ERR_INVALID_ARG;
    if (res->address.addr.family != FLOE_AF_INET && res->address.addr.family != FLOE_AF_INET6)
        return FLOE_ERR_INVALID_ARG;
    for (uint32_t i = 0; i < f->n_clients; i++) {
        struct gwf_auth *au = gwf_find_auth(f->clients[i], res->id);

        if (au) {
            gwf_auth_fill(au, res, au->expires_at);
            n++;
        }
    }
    return n;
}

/* Remove the authorizations for which drop(au, arg) holds; returns how many. */
static int gwf_remove_where(struct floe_gwfilter *f,
                            bool (*drop)(const struct gwf_auth *, const void *), const void *arg)
{
    int n = 0;
    uint32_t i = 0;

    while (i < f->n_clients) {
        struct gwf_client *c = f->clients[i];
        uint32_t k = 0;
        bool gone = false;

        while (!gone && k < c->n_auths) { /* c is freed once gone */
            if (!drop(&c->auths[k], arg)) {
                k++;
                continue;
            }
            gone = c->n_auths == 1;
            gwf_remove_auth(f, i, k);
            n++;
        }
        if (!gone)
            i++;
    }
    return n;
}

static bool gwf_is_resource(const struct gwf_auth *au, const void *id)
{
    return strcmp(au->res_id, (const char *)id) == 0;
}

static bool gwf_is_expired(const struct gwf_auth *au, const void *now)
{
    return au->expires_at != 0 && *(const uint64_t *)now >= au->expires_at;
}

int floe_gwfilter_delete_resource(struct floe_gwfilter *f, const char *resource_id)
{
    if (!f || !gwf_id_ok(resource_id))
        return FLOE_ERR_INVALID_ARG;
    return gwf_remove_where(f, gwf_is_resource, resource_id);
}

int floe_gwfilter_expire(struct floe_gwfilter *f, uint64_t now)
{
    if (!f)
        return 0;
    return gwf_remove_where(f, gwf_is_expired, &now);
}

uint64_t floe_gwfilter_next_expiry(const struct floe_gwfilter *f)
{
    uint64_t next = UINT64_MAX;

    for (uint32_t i = 0; f && i < f->n_clients; i++) {
        const struct gwf_client *c = f->clients[i];

        for (uint32_t k = 0; k < c->n_auths; k++) {
            if (c->auths[k].expires_at != 0 && c->auths[k].expires_at < next)
                next = c->auths[k].expires_at;
        }
    }
    return next;
}

/* ----------------------------------------------------------------- packets */

static bool gwf_parse_v4(const uint8_t *p, size_t len, struct gwf_pkt *out)
{
    size_t ihl, total;
    uint16_t frag;

    if (len < 20)
        return false;
    ihl = (size_t)(p[0] & 0x0f) * 4;
    total = floe_load_be16(p + 2);
    if (ihl < 20 || ihl > len || total < ihl)
        return false;
    if (total < len)
        len = total;
    frag = floe_load_be16(p + 6);
    out->family = FLOE_AF_INET;
    out->src = p + 12;
    out->dst = p + 16;
    out->proto = p[9];
    out->frag = (frag & 0x3fff) != 0; /* MF set or an offset */
    if (out->frag || (out->proto != FLOE_PORTAL_PROTO_TCP && out->proto != FLOE_PORTAL_PROTO_UDP))
        return true;
    if (len < ihl + 4)
        return false;
    out->dport = floe_load_be16(p + ihl + 2);
    return true;
}

/* Walk IPv6 extension headers from off; sets proto, frag and the L4 offset. */
static bool gwf_walk_v6(const uint8_t *p, size_t len, struct gwf_pkt *out, size_t *l4)
{
    uint8_t nh = p[6];
    size_t off = 40;

    for (int i = 0; i < GWF_IPV6_EXT_MAX; i++) {
        size_t hl;

        if (nh != 0 && nh != 43 && nh != 44 && nh != 60 && nh != 51)
            break;
        if (len < off + 8)
            return false;
        if (nh == 44) {
            out->frag = true; /* the first fragment too: its ports do not stand for the rest */
            hl = 8;
        } else {
            hl = nh == 51 ? ((size_t)p[off + 1] + 2) * 4 : ((size_t)p[off + 1] + 1) * 8;
        }
        nh = p[off];
        off += hl;
    }
    if (nh == 0 || nh == 43 || nh == 44 || nh == 60 || nh == 51)
        return false; /* too many extension headers */
    out->proto = nh;
    *l4 = off;
    return true;
}

static bool gwf_parse_v6(const uint8_t *p, size_t len, struct gwf_pkt *out)
{
    size_t l4, total;

    if (len < 40)
        return false;
    total = 40 + (size_t)floe_load_be16(p + 4);
    if (total < len)
        len = total;
    out->family = FLOE_AF_INET6;
    out->src = p + 8;
    out->dst = p + 24;
    if (!gwf_walk_v6(p, len, out, &l4))
        return false;
    if (out->frag || (out->proto != FLOE_PORTAL_PROTO_TCP && out->proto != FLOE_PORTAL_PROTO_UDP))
        return true;
    if (len < l4 + 4)
        return false;
    out->dport = floe_load_be16(p + l4 + 2);
    return true;
}

static bool gwf_parse(const uint8_t *p, size_t len, struct gwf_pkt *out)
{
    memset(out, 0, sizeof(*out));
    if (!p || len < 1)
        return false;
    if ((p[0] >> 4) == 4)
        return gwf_parse_v4(p, len, out);
    if ((p[0] >> 4) == 6)
        return gwf_parse_v6(p, len, out);
    return false;
}

static bool gwf_filter_allows(const struct floe_portal_filter *fl, const struct gwf_pkt *pk)
{
    if (fl->protocol == FLOE_PORTAL_PROTO_ICMP)
        return pk->family == FLOE_AF_INET ? pk->proto == 1 : pk->proto == GWF_PROTO_ICMPV6;
    if (fl->protocol != pk->proto)
        return false;
    if (pk->frag)
        return fl->port_start == 0 && fl->port_end == 65535;
    return pk->dport >= fl->port_start && pk->dport <= fl->port_end;
}

static bool gwf_auth_allows(const struct gwf_auth *au, const struct gwf_pkt *pk)
{
    if (au->n_filters == 0)
        return true;
    for (uint32_t i = 0; i < au->n_filters; i++) {
        if (gwf_filter_allows(&au->filters[i], pk))
            return true;
    }
    return false;
}

/*
 * The verdict of c's authorizations on the address ip of pk (its destination from a client,
 * its source toward one); ports only when check_ports.
 */
static enum floe_gwfilter_verdict gwf_judge(const struct gwf_client *c, uint64_t now,
                                            const struct gwf_pkt *pk, const uint8_t *ip,
                                            bool check_ports)
{
    enum floe_gwfilter_verdict v = FLOE_GWF_DROP_NO_RESOURCE;

    for (uint32_t i = 0; i < c->n_auths; i++) {
        const struct gwf_auth *au = &c->auths[i];

        if (au->cidr.family != pk->family || !floe_prefix_contains(&au->cidr, ip))
            continue;
        if (gwf_is_expired(au, &now)) {
            if (v == FLOE_GWF_DROP_NO_RESOURCE)
                v = FLOE_GWF_DROP_EXPIRED;
            continue;
        }
        if (!check_ports || gwf_auth_allows(au, pk))
            return FLOE_GWF_PASS;
        v = FLOE_GWF_DROP_FILTERED;
    }
    return v;
}

static enum floe_gwfilter_verdict gwf_count(struct floe_gwfilter *f, enum floe_gwfilter_verdict v)
{
    if (v != FLOE_GWF_PASS)
        f->drops[v]++;
    return v;
}

static bool gwf_has_cid(const struct floe_gwfilter *f, uint64_t cid)
{
    for (uint32_t i = 0; i < f->n_clients; i++) {
        if (f->clients[i]->cid == cid)
            return true;
    }
    return false;
}

enum floe_gwfilter_verdict floe_gwfilter_from_client(struct floe_gwfilter *f, uint64_t now,
                                                     uint64_t cid, const uint8_t *pkt, size_t len)
{
    struct gwf_pkt pk;
    const struct gwf_client *c;

    if (!f)
        return FLOE_GWF_DROP_MALFORMED;
    if (!gwf_parse(pkt, len, &pk))
        return gwf_count(f, FLOE_GWF_DROP_MALFORMED);
    c = floe_iptrie_lookup(&f->tun, pk.family, pk.src);
    if (!c || c->cid != cid)
        return gwf_count(f, gwf_has_cid(f, cid) ? FLOE_GWF_DROP_SPOOFED : FLOE_GWF_DROP_NO_CLIENT);
    return gwf_count(f, gwf_judge(c, now, &pk, pk.dst, true));
}

enum floe_gwfilter_verdict floe_gwfilter_to_client(struct floe_gwfilter *f, uint64_t now,
                                                   const uint8_t *pkt, size_t len, uint64_t *cid)
{
    struct gwf_pkt pk;
    const struct gwf_client *c;
    enum floe_gwfilter_verdict v;

    if (!f || !cid)
        return FLOE_GWF_DROP_MALFORMED;
    if (!gwf_parse(pkt, len, &pk))
        return gwf_count(f, FLOE_GWF_DROP_MALFORMED);
    c = floe_iptrie_lookup(&f->tun, pk.family, pk.dst);
    if (!c)
        return gwf_count(f, FLOE_GWF_DROP_NO_CLIENT);
    v = gwf_judge(c, now, &pk, pk.src, false);
    if (v == FLOE_GWF_PASS)
        *cid = c->cid;
    return gwf_count(f, v);
}

/* ------------------------------------------------------------------ queries */

uint64_t floe_gwfilter_client_cid(const struct floe_gwfilter *f, const char *client_id)
{
    const struct gwf_client *c;

    if (!f || !client_id)
        return 0;
    c = gwf_find(f, client_id, NULL);
    return c ? c->cid : 0;
}

size_t floe_gwfilter_clients(const struct floe_gwfilter *f)
{
    return f ? f->n_clients : 0;
}

size_t floe_gwfilter_auths(const struct floe_gwfilter *f)
{
    return f ? f->n_auths : 0;
}

uint64_t floe_gwfilter_drops(const struct floe_gwfilter *f, enum floe_gwfilter_verdict reason)
{
    if (!f || reason <= FLOE_GWF_PASS || reason >= FLOE_GWF_VERDICT_COUNT)
        return 0;
    return f->drops[reason];
}

const char *floe_gwfilter_verdict_name(enum floe_gwfilter_verdict v)
{
    if ((int)v < 0 || v >= FLOE_GWF_VERDICT_COUNT)
        return "unknown";
    return gwf_names[v];
}
