/*
 * The node: candidate strings (RFC 8839 section 5.1), then the connection manager itself.
 */
#include "floe/ice_sdp.h"
#include "floe/node.h"
#include "floe/relay.h"
#include "floe/stun.h"
#include "test.h"

/* ------------------------------------------------------------- candidate strings */

static void test_candidate_parse_browser(void)
{
    struct floe_ice_candidate c;
    char ip[FLOE_ADDR_STRLEN];

    CHECK_EQ(floe_ice_candidate_parse("candidate:842163049 1 udp 1677729535 198.51.100.7 61665 "
                                      "typ srflx raddr 10.0.0.5 rport 61665 generation 0 "
                                      "ufrag EsAw network-id 1 network-cost 10",
                                      &c),
             0);
    CHECK_STR(c.foundation, "842163049");
    CHECK_EQ(c.component, 1);
    CHECK_EQ(c.priority, 1677729535u);
    CHECK_EQ(c.type, FLOE_ICE_SRFLX);
    CHECK_EQ(c.addr.family, FLOE_AF_INET);
    CHECK_EQ(c.addr.port, 61665);
    CHECK(floe_addr_format_ip(&c.addr, ip, sizeof(ip)) > 0);
    CHECK_STR(ip, "198.51.100.7");
    CHECK(floe_addr_format_ip(&c.base, ip, sizeof(ip)) > 0);
    CHECK_STR(ip, "10.0.0.5");
    CHECK_EQ(c.base.port, 61665);

    CHECK_EQ(floe_ice_candidate_parse(
                 "a=candidate:1 2 UDP 2130706431 2001:db8::1 3478 typ host\r\n", &c),
             0);
    CHECK_EQ(c.component, 2);
    CHECK_EQ(c.type, FLOE_ICE_HOST);
    CHECK_EQ(c.addr.family, FLOE_AF_INET6);
    CHECK_EQ(c.base.family, FLOE_AF_NONE);
}

static void test_candidate_format_exact(void)
{
    struct floe_ice_candidate c;
    char s[FLOE_ICE_CANDIDATE_STR_MAX];

    memset(&c, 0, sizeof(c));
    c.type = FLOE_ICE_RELAY;
    c.addr = floe_addr_v4(203, 0, 113, 9, 50000);
    c.base = floe_addr_v4(198, 51, 100, 7, 40000);
    strcpy(c.foundation, "r1");
    CHECK_EQ(floe_ice_candidate_format(&c, s, sizeof(s)), (long)strlen(s));
    CHECK_STR(s, "candidate:r1 1 UDP 16777215 203.0.113.9 50000 typ relay raddr 198.51.100.7 "
                 "rport 40000");
    /* No related address known: the unspecified address of the family, port 0. */
    memset(&c.base, 0, sizeof(c.base));
    c.type = FLOE_ICE_SRFLX;
    c.priority = 7;
    CHECK(floe_ice_candidate_format(&c, s, sizeof(s)) > 0);
    CHECK_STR(s, "candidate:r1 1 UDP 7 203.0.113.9 50000 typ srflx raddr 0.0.0.0 rport 0");
    CHECK_EQ(floe_ice_candidate_format(&c, s, 20), FLOE_ERR_BUFFER_TOO_SMALL);
    c.foundation[0] = '\0';
    CHECK_EQ(floe_ice_candidate_format(&c, s, sizeof(s)), FLOE_ERR_INVALID_ARG);
}

static void test_candidate_refused(void)
{
    static const struct {
        const char *s;
        int rc;
    } cases[] = {
        {"", FLOE_ERR_MALFORMED},
        {"candidate:", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ", FLOE_ERR_MALFORMED},
        {"cand:1 1 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 0 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 257 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 256 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_UNSUPPORTED},
        {"candidate:1 1 UDP 0 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 4294967296 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP -1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 65536 typ host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 type host", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ bogus", FLOE_ERR_MALFORMED},
        {"candidate:1 1 TCP 1 1.2.3.4 5 typ host tcptype active", FLOE_ERR_UNSUPPORTED},
        {"candidate:1 1 UDP 1 abc.local 5 typ host", FLOE_ERR_UNSUPPORTED},
        {"candidate:1 1 UDP 1 1.2.3.4:5 5 typ host", FLOE_ERR_ADDR_PARSE},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ srflx raddr 1.2.3.4", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ srflx raddr 1.2.3.4 port 5", FLOE_ERR_MALFORMED},
        {"candidate:1 1 UDP 1 1.2.3.4 5 typ host generation", FLOE_ERR_MALFORMED},
        {"candidate:a_b 1 UDP 1 1.2.3.4 5 typ host", FLOE_ERR_MALFORMED},
        {"candidate:123456789012345678901234567890123 1 UDP 1 1.2.3.4 5 typ host",
         FLOE_ERR_MALFORMED},
    };
    struct floe_ice_candidate c;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = floe_ice_candidate_parse(cases[i].s, &c);

        if (rc != cases[i].rc)
            fprintf(stderr, "  case %zu \"%s\": %d\n", i, cases[i].s, rc);
        CHECK_EQ(rc, cases[i].rc);
        CHECK_EQ(c.addr.family, FLOE_AF_NONE);
    }
    CHECK_EQ(floe_ice_candidate_parse(NULL, &c), FLOE_ERR_INVALID_ARG);
}

static void random_candidate(struct floe_xoshiro *x, struct floe_ice_candidate *c)
{
    static const char chars[] = "abcXYZ019+/";
    size_t n, i;

    memset(c, 0, sizeof(*c));
    c->type = (enum floe_ice_cand_type)(floe_xoshiro_next(x) % 4);
    c->addr.family = (floe_xoshiro_next(x) & 1) ? FLOE_AF_INET : FLOE_AF_INET6;
    for (i = 0; i < (c->addr.family == FLOE_AF_INET ? 4u : 16u); i++)
        c->addr.ip[i] = (uint8_t)floe_xoshiro_next(x);
    c->addr.port = (uint16_t)(1 + floe_xoshiro_next(x) % 65535);
    if (c->type != FLOE_ICE_HOST) {
        c->base = c->addr;
        c->base.ip[0] ^= 0x5a;
        c->base.port = (uint16_t)(floe_xoshiro_next(x) % 65536);
    }
    c->priority = (uint32_t)(1 + floe_xoshiro_next(x) % UINT32_MAX);
    c->component = (uint8_t)(1 + floe_xoshiro_next(x) % 255);
    n = 1 + floe_xoshiro_next(x) % FLOE_ICE_FOUNDATION_MAX;
    for (i = 0; i < n; i++)
        c->foundation[i] = chars[floe_xoshiro_next(x) % (sizeof(chars) - 1)];
}

static void test_candidate_round_trip(void)
{
    struct floe_xoshiro x;
    int i;

    floe_xoshiro_seed(&x, floe_test_seed());
    for (i = 0; i < 5000; i++) {
        struct floe_ice_candidate c, d;
        char s[FLOE_ICE_CANDIDATE_STR_MAX], t[FLOE_ICE_CANDIDATE_STR_MAX];

        random_candidate(&x, &c);
        REQUIRE(floe_ice_candidate_format(&c, s, sizeof(s)) > 0);
        REQUIRE(floe_ice_candidate_parse(s, &d) == 0);
        CHECK(d.type == c.type && d.priority == c.priority && d.component == c.component);
        CHECK(floe_addr_eq(&d.addr, &c.addr));
        CHECK(floe_addr_eq(&d.base, &c.base));
        CHECK_STR(d.foundation, c.foundation);
        REQUIRE(floe_ice_candidate_format(&d, t, sizeof(t)) > 0);
        CHECK_STR(t, s);
    }
}

/* Garbage in: mutated valid lines and random bytes parse or fail cleanly, never crash. */
static void test_candidate_garbage(void)
{
    static const char alphabet[] = "candidte:0123456789 UDPtyphostrelaxsfr.:af\r\n\t-";
    struct floe_xoshiro x;
    int i, ok = 0;

    floe_xoshiro_seed(&x, floe_test_seed() ^ 0x9e37u);
    for (i = 0; i < 20000; i++) {
        struct floe_ice_candidate c, seedc;
        char s[FLOE_ICE_CANDIDATE_STR_MAX + 8], t[FLOE_ICE_CANDIDATE_STR_MAX];
        size_t len, k, flips;
        int rc;

        random_candidate(&x, &seedc);
        len = (size_t)floe_ice_candidate_format(&seedc, s, sizeof(s));
        flips = 1 + floe_xoshiro_next(&x) % 4;
        for (k = 0; k < flips; k++) {
            size_t at = floe_xoshiro_next(&x) % len;

            s[at] = (floe_xoshiro_next(&x) & 1)
                        ? alphabet[floe_xoshiro_next(&x) % (sizeof(alphabet) - 1)]
                        : (char)(1 + floe_xoshiro_next(&x) % 255);
        }
        if (floe_xoshiro_next(&x) & 1)
            s[floe_xoshiro_next(&x) % len] = '\0';
        rc = floe_ice_candidate_parse(s, &c);
        if (rc == 0) {
            ok++;
            /* Whatever parses formats back and parses to the same candidate. */
            CHECK(floe_ice_candidate_format(&c, t, sizeof(t)) > 0);
            CHECK_EQ(floe_ice_candidate_parse(t, &seedc), 0);
            CHECK(floe_addr_eq(&seedc.addr, &c.addr) && seedc.priority == c.priority);
        } else {
            CHECK(rc == FLOE_ERR_MALFORMED || rc == FLOE_ERR_ADDR_PARSE ||
                  rc == FLOE_ERR_UNSUPPORTED);
        }
    }
    CHECK(ok > 0);
}

/* ------------------------------------------------------------- a two-node network */

/*
 * Two nodes (a client A and a gateway B) on a loss-free network in virtual time: each
 * datagram arrives `latency` later at the node owning its destination address, unless the
 * link is cut. Candidates are carried by a signalling channel with the same latency.
 */
#define NET_MAX 4096
#define NODE_CID_A 1001 /* A's id for its connection to B */
#define NODE_CID_B 2002 /* B's id for its connection to A */

struct net_pkt {
    floe_time at;
    int to_node; /* 0 A, 1 B */
    struct floe_addr from, to;
    size_t len;
    uint8_t buf[FLOE_NODE_TRANSMIT_MAX];
    bool signal; /* a candidate string for the other node, in buf */
    bool remove; /* the signalled candidate is withdrawn */
};

struct net {
    struct floe_node *node[2];
    struct floe_xoshiro x[2];
    struct floe_addr host[2];
    floe_time now, latency;
    bool cut;          /* every datagram dropped */
    bool block_direct; /* datagrams between the two nodes' own addresses dropped */
    struct floe_relay *relay;
    struct floe_xoshiro relay_x;
    struct floe_addr relay_addr; /* the TURN server; relayed addresses share its IP */
    const char *relay_secret;    /* REST secret of the relay core (NULL: user "u", "p") */
    int64_t relay_unix;          /* the relay core's wall clock (Unix seconds) */
    bool signal_down;            /* candidates dropped */
    bool signal_down_to[2];      /* candidates for that node dropped */
    int drop_to_relay[2];        /* that many of the node's next datagrams to the relay lost */
    int cookie_direct[2];        /* raw WireGuard cookie replies sent from the socket */
    int drop_initiations[2];     /* that many of the node's next direct initiations lost */
    /* The node drops what comes from an address it never sent to (a NAT's address- and
     * port-dependent filtering in front of it); sent_to: where it sent. */
    bool filter[2];
    bool signal_removals; /* withdrawn candidates are signalled too */
    struct floe_addr sent_to[2][64];
    size_t n_sent_to[2];
    struct net_pkt *q;
    size_t nq;
    /* What arrived: per node, events seen and data packets delivered. */
    int established[2], failed[2], closed[2], path_changes[2], no_relays[2];
    enum floe_node_fail_reason fail_reason[2];
    uint64_t data_rx[2];
    uint8_t last_rx[2][64];
    size_t last_rx_len[2];
    size_t sent;
};

static int net_owner(const struct net *nt, const struct floe_addr *to)
{
    int i;

    if (nt->relay && floe_addr_ip_eq(to, &nt->relay_addr))
        return 2;
    for (i = 0; i < 2; i++) {
        if (floe_addr_eq(&nt->host[i], to))
            return i;
    }
    return -1;
}

static void net_note_sent(struct net *nt, int i, const struct floe_addr *to)
{
    size_t k;

    for (k = 0; k < nt->n_sent_to[i]; k++) {
        if (floe_addr_eq(&nt->sent_to[i][k], to))
            return;
    }
    if (k < 64)
        nt->sent_to[i][nt->n_sent_to[i]++] = *to;
}

static bool net_filtered(const struct net *nt, int i, const struct floe_addr *from)
{
    size_t k;

    for (k = 0; nt->filter[i] && k < nt->n_sent_to[i]; k++) {
        if (floe_addr_eq(&nt->sent_to[i][k], from))
            return false;
    }
    return nt->filter[i];
}

static void net_push(struct net *nt, int to_node, const struct floe_addr *from,
                     const struct floe_addr *to, const uint8_t *buf, size_t len, bool signal)
{
    struct net_pkt *p;

    if (nt->nq == NET_MAX)
        return;
    p = &nt->q[nt->nq++];
    p->at = nt->now + nt->latency;
    p->to_node = to_node;
    if (from)
        p->from = *from;
    if (to)
        p->to = *to;
    p->len = len;
    memcpy(p->buf, buf, len);
    p->signal = signal;
    p->remove = false;
}

static void net_drain(struct net *nt, int i)
{
    uint8_t buf[FLOE_NODE_TRANSMIT_MAX];
    struct floe_node_transmit tr;
    struct floe_node_event ev;

    while (floe_node_poll_transmit(nt->node[i], nt->now, buf, sizeof(buf), &tr) == 1) {
        int owner = net_owner(nt, &tr.to);

        nt->sent++;
        net_note_sent(nt, i, &tr.to);
        if (getenv("NODE_TEST_TRACE"))
            printf("  %8.3f %c tx %zu bytes type %u\n", (double)nt->now / 1e9, 'A' + i, tr.len,
                   buf[0]);
        nt->cookie_direct[i] += tr.len == 64 && buf[0] == FLOE_WG_MSG_COOKIE_REPLY;
        if (owner == 2 && nt->drop_to_relay[i] > 0) {
            nt->drop_to_relay[i]--;
            continue;
        }
        if (tr.len == FLOE_WG_INITIATION_LEN && buf[0] == FLOE_WG_MSG_INITIATION &&
            nt->drop_initiations[i] > 0) {
            nt->drop_initiations[i]--;
            continue;
        }
        if (owner >= 0 && !nt->cut && floe_addr_eq(&tr.local, &nt->host[i]) &&
            !(nt->block_direct && owner < 2))
            net_push(nt, owner, &tr.local, &tr.to, buf, tr.len, false);
    }
    while (floe_node_poll_event(nt->node[i], &ev) == 1) {
        if (getenv("NODE_TEST_TRACE"))
            printf("  %8.3f %c %s %s\n", (double)nt->now / 1e9, 'A' + i,
                   floe_node_event_name(ev.type),
                   ev.type <= FLOE_NODE_EV_CANDIDATE_INVALIDATED ? ev.u.candidate
                   : ev.type == FLOE_NODE_EV_PATH_CHANGED ? floe_node_path_kind_name(ev.u.path.kind)
                                                          : "");
        if ((ev.type == FLOE_NODE_EV_CANDIDATE_NEW ||
             (ev.type == FLOE_NODE_EV_CANDIDATE_INVALIDATED && nt->signal_removals)) &&
            !nt->signal_down && !nt->signal_down_to[1 - i]) {
            size_t nq = nt->nq;

            net_push(nt, 1 - i, NULL, NULL, (const uint8_t *)ev.u.candidate,
                     strlen(ev.u.candidate) + 1, true);
            if (nt->nq > nq)
                nt->q[nq].remove = ev.type == FLOE_NODE_EV_CANDIDATE_INVALIDATED;
        }
        nt->established[i] += ev.type == FLOE_NODE_EV_ESTABLISHED;
        nt->closed[i] += ev.type == FLOE_NODE_EV_CLOSED;
        nt->path_changes[i] += ev.type == FLOE_NODE_EV_PATH_CHANGED;
        nt->no_relays[i] += ev.type == FLOE_NODE_EV_NO_RELAYS;
        if (ev.type == FLOE_NODE_EV_FAILED) {
            nt->failed[i]++;
            nt->fail_reason[i] = ev.u.reason;
        }
    }
}

/*
 * The relay core: answers go out at once, port binds are granted at once. A datagram from one
 * allocation to another's relayed address comes back to the relay as a peer's (relay-relay).
 */
static void net_relay_out(struct net *nt, const uint8_t *out, long n,
                          const struct floe_relay_tx *tx)
{
    int owner = n > 0 ? net_owner(nt, &tx->to) : -1;

    if (owner == 2 && floe_addr_eq(&tx->to, &nt->relay_addr))
        return;
    if (owner >= 0 && !nt->cut)
        net_push(nt, owner, &tx->from, &tx->to, out, (size_t)n, false);
}

static void net_relay_deliver(struct net *nt, struct net_pkt *p)
{
    uint8_t out[FLOE_NODE_TRANSMIT_MAX];
    struct floe_relay_event ev;
    struct floe_relay_tx tx;
    long n;

    if (floe_addr_eq(&p->to, &nt->relay_addr))
        n = floe_relay_handle_client(nt->relay, nt->now, &p->to, &p->from, p->buf, p->len, out,
                                     sizeof(out), &tx);
    else
        n = floe_relay_handle_peer(nt->relay, nt->now, &p->to, &p->from, p->buf, p->len, out,
                                   sizeof(out), &tx);
    net_relay_out(nt, out, n, &tx);
    while (floe_relay_poll_event(nt->relay, &ev) == 1) {
        if (ev.kind != FLOE_RELAY_EV_BIND_PORT)
            continue;
        n = floe_relay_port_bound(nt->relay, nt->now, ev.alloc_id, 0, out, sizeof(out), &tx);
        net_relay_out(nt, out, n, &tx);
    }
}

static void net_deliver(struct net *nt, struct net_pkt *p)
{
    struct floe_node *nd;
    uint8_t out[FLOE_NODE_TRANSMIT_MAX];
    uint64_t cid = 0;
    size_t olen = 0;
    int rc;

    if (p->to_node == 2) {
        net_relay_deliver(nt, p);
        return;
    }
    nd = nt->node[p->to_node];
    if (p->signal && p->remove) {
        (void)floe_node_conn_remove_remote_candidate(
            nd, nt->now, p->to_node ? NODE_CID_B : NODE_CID_A, (const char *)p->buf);
        return;
    }
    if (p->signal) {
        (void)floe_node_conn_add_remote_candidate(nd, nt->now, p->to_node ? NODE_CID_B : NODE_CID_A,
                                                  (const char *)p->buf);
        return;
    }
    if (!floe_addr_eq(&p->to, &nt->host[p->to_node]) || net_filtered(nt, p->to_node, &p->from))
        return; /* the address is gone (roamed away), or filtered */
    rc = floe_node_decapsulate(nd, nt->now, &p->to, &p->from, p->buf, p->len, out, sizeof(out),
                               &cid, &olen);
    if (rc == FLOE_NODE_INPUT_DATA) {
        nt->data_rx[p->to_node]++;
        nt->last_rx_len[p->to_node] = olen < 64 ? olen : 64;
        memcpy(nt->last_rx[p->to_node], out, nt->last_rx_len[p->to_node]);
        CHECK_EQ(cid, p->to_node ? NODE_CID_B : NODE_CID_A);
    }
}

/* Advance virtual time to `until`, delivering datagrams and firing timers in order. */
static void net_run(struct net *nt, floe_time until)
{
    for (;;) {
        floe_time next = until, t;
        size_t i, best = NET_MAX;
        int k;

        for (i = 0; i < nt->nq; i++) {
            if (nt->q[i].at < next || (nt->q[i].at == next && best == NET_MAX)) {
                next = nt->q[i].at;
                best = i;
            }
        }
        for (k = 0; k < 2; k++) {
            t = floe_node_poll_timeout(nt->node[k]);
            if (t < next) {
                next = t;
                best = NET_MAX;
            }
        }
        if (next > until)
            break;
        nt->now = next > nt->now ? next : nt->now;
        if (best != NET_MAX) {
            struct net_pkt p = nt->q[best];

            nt->q[best] = nt->q[--nt->nq];
            net_deliver(nt, &p);
            if (p.to_node < 2)
                net_drain(nt, p.to_node);
            continue;
        }
        for (k = 0; k < 2; k++) {
            if (floe_node_poll_timeout(nt->node[k]) <= nt->now) {
                floe_node_handle_timeout(nt->node[k], nt->now);
                net_drain(nt, k);
            }
        }
        if (next == until)
            break;
    }
    nt->now = until;
}

static int net_init(struct net *nt, uint64_t seed)
{
    int i;

    memset(nt, 0, sizeof(*nt));
    nt->q = calloc(NET_MAX, sizeof(*nt->q));
    nt->latency = FLOE_MS(10);
    nt->host[0] = floe_addr_v4(10, 0, 0, 1, 5000);
    nt->host[1] = floe_addr_v4(10, 0, 0, 2, 6000);
    for (i = 0; i < 2; i++) {
        struct floe_node_config cfg;

        floe_node_config_default(&cfg);
        floe_xoshiro_seed(&nt->x[i], seed + (uint64_t)i);
        cfg.rng = floe_xoshiro_rng(&nt->x[i]);
        cfg.role = i ? FLOE_NODE_GATEWAY : FLOE_NODE_CLIENT;
        memset(cfg.private_key, 0x11 * (i + 1), sizeof(cfg.private_key));
        if (floe_node_new(&nt->node[i], &cfg, 0) != 0)
            return -1;
        if (floe_node_add_host(nt->node[i], 0, &nt->host[i]) != 0)
            return -1;
    }
    return 0;
}

/* Both sides learn of the connection (the portal's intent), credentials crossed. */
static int net_connect(struct net *nt)
{
    struct floe_node_conn_config cc[2];
    const char *uf, *pw;
    uint64_t cids[2] = {NODE_CID_A, NODE_CID_B};
    int i;

    for (i = 0; i < 2; i++) {
        memset(&cc[1 - i], 0, sizeof(cc[1 - i]));
        floe_node_public_key(nt->node[i], cc[1 - i].public_key);
    }
    /* Each side's credentials exist once its connection does: create, then tell the other. */
    strcpy(cc[0].remote_ufrag, "pending");
    strcpy(cc[0].remote_pwd, "pending-password-000000");
    if (floe_node_conn_upsert(nt->node[0], nt->now, cids[0], &cc[0]) != 0)
        return -1;
    floe_node_conn_local_credentials(nt->node[0], cids[0], &uf, &pw);
    strcpy(cc[1].remote_ufrag, uf);
    strcpy(cc[1].remote_pwd, pw);
    if (floe_node_conn_upsert(nt->node[1], nt->now, cids[1], &cc[1]) != 0)
        return -1;
    floe_node_conn_local_credentials(nt->node[1], cids[1], &uf, &pw);
    strcpy(cc[0].remote_ufrag, uf);
    strcpy(cc[0].remote_pwd, pw);
    if (floe_node_conn_upsert(nt->node[0], nt->now, cids[0], &cc[0]) != 0)
        return -1;
    net_drain(nt, 0);
    net_drain(nt, 1);
    return 0;
}

/* The relay core at 10.0.0.100:3478 (user "u", password "p"), without its allocations. */
static int net_relay_start(struct net *nt)
{
    struct floe_relay_config rc;

    floe_relay_config_default(&rc);
    floe_xoshiro_seed(&nt->relay_x, 99);
    rc.rng = floe_xoshiro_rng(&nt->relay_x);
    if (nt->relay_secret) {
        rc.auth_secret = nt->relay_secret;
    } else {
        rc.users[0].name = "u";
        rc.users[0].password = "p";
        rc.n_users = 1;
    }
    nt->relay_addr = floe_addr_v4(10, 0, 0, 100, 3478);
    rc.relay_v4 = nt->relay_addr;
    if (floe_cidr_parse("10.0.0.0/8", &rc.allow[0]) != 0)
        return -1;
    rc.n_allow = 1;
    if (floe_relay_new(&nt->relay, &rc) != 0)
        return -1;
    floe_relay_set_unix_time(nt->relay, nt->relay_unix);
    return 0;
}

/* A TURN relay core that both nodes use. */
static int net_add_relay(struct net *nt)
{
    int i;

    if (net_relay_start(nt) != 0)
        return -1;
    for (i = 0; i < 2; i++) {
        if (floe_node_relay_add(nt->node[i], nt->now, &nt->relay_addr, "u", "p") != 0)
            return -1;
        net_drain(nt, i);
    }
    return 0;
}

static void net_free(struct net *nt)
{
    floe_relay_free(nt->relay);
    floe_node_free(nt->node[0]);
    floe_node_free(nt->node[1]);
    free(nt->q);
}

/* A minimal IPv4 packet of len bytes with a marker byte (WireGuard trims to the IP length). */
static size_t ip_packet(uint8_t *p, size_t len, uint8_t marker)
{
    memset(p, 0, len);
    p[0] = 0x45;
    floe_store_be16(p + 2, (uint16_t)len);
    p[8] = 64;
    p[9] = 17;
    p[20] = marker;
    return len;
}

/* Send one IP packet from node i over its connection; returns true when it left at once. */
static bool net_send(struct net *nt, int i, uint8_t marker)
{
    uint8_t pkt[100], out[100 + FLOE_NODE_OVERHEAD];
    struct floe_node_transmit tr;
    long n;

    ip_packet(pkt, sizeof(pkt), marker);
    n = floe_node_encapsulate(nt->node[i], nt->now, i ? NODE_CID_B : NODE_CID_A, pkt, sizeof(pkt),
                              out, sizeof(out), &tr);
    if (n > 0)
        net_note_sent(nt, i, &tr.to);
    if (n > 0 && !nt->cut && floe_addr_eq(&tr.local, &nt->host[i]) && net_owner(nt, &tr.to) >= 0 &&
        !(nt->block_direct && net_owner(nt, &tr.to) < 2))
        net_push(nt, net_owner(nt, &tr.to), &tr.local, &tr.to, out, (size_t)n, false);
    net_drain(nt, i);
    return n > 0;
}

/*
 * Both sides send a data packet (markers m0, m1) every step until each has received more than
 * before: when that was, or 0 if not by until.
 */
static floe_time net_until_both_get(struct net *nt, floe_time until, floe_time step, uint8_t m0,
                                    uint8_t m1)
{
    uint64_t rx0 = nt->data_rx[0], rx1 = nt->data_rx[1];

    while (nt->now < until) {
        net_send(nt, 0, m0);
        net_send(nt, 1, m1);
        net_run(nt, nt->now + step);
        if (nt->data_rx[0] > rx0 && nt->data_rx[1] > rx1)
            return nt->now;
    }
    return 0;
}

/* Establish A<->B and check data both ways; the base of the tests below. */
static int net_up(struct net *nt, uint64_t seed)
{
    if (net_init(nt, seed) != 0 || net_connect(nt) != 0)
        return -1;
    net_run(nt, FLOE_SEC(2));
    return nt->established[0] == 1 && nt->established[1] == 1 ? 0 : -1;
}

static void test_node_establish_direct(void)
{
    struct floe_node_conn_stats st;
    struct net nt;

    REQUIRE(net_up(&nt, 1) == 0);
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
    CHECK(st.established);
    CHECK_EQ(st.path.kind, FLOE_NODE_PATH_DIRECT);
    CHECK(floe_addr_eq(&st.path.remote, &nt.host[1]));
    CHECK_EQ(st.rtt, 2 * nt.latency); /* the handshake's round trip on a jitter-free link */
    CHECK(net_send(&nt, 0, 0xA1));
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.data_rx[1], 1);
    CHECK_EQ(nt.last_rx[1][20], 0xA1);
    CHECK(net_send(&nt, 1, 0xB2));
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.data_rx[0], 1);
    CHECK_EQ(nt.last_rx[0][20], 0xB2);
    REQUIRE(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st) == 0);
    CHECK_EQ(st.rx_packets, 1);
    CHECK_EQ(st.tx_packets, 1);
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_free(&nt);
}

/* Liveness (a): no remote candidate within 10 s fails the connection, not earlier. */
static void test_node_no_candidates_fails_at_10s(void)
{
    struct floe_node_conn_stats st;
    struct floe_node_conn_config cc;
    struct net nt;

    REQUIRE(net_init(&nt, 2) == 0);
    memset(&cc, 0, sizeof(cc));
    floe_node_public_key(nt.node[1], cc.public_key);
    strcpy(cc.remote_ufrag, "abcd");
    strcpy(cc.remote_pwd, "0123456789abcdefghijklmn");
    REQUIRE(floe_node_conn_upsert(nt.node[0], 0, NODE_CID_A, &cc) == 0);
    net_drain(&nt, 0);
    nt.cut = true;
    net_run(&nt, FLOE_NODE_CANDIDATE_TIMEOUT - FLOE_MS(1));
    CHECK_EQ(nt.failed[0], 0);
    CHECK_EQ(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st), 0);
    net_run(&nt, FLOE_NODE_CANDIDATE_TIMEOUT + FLOE_MS(1));
    CHECK_EQ(nt.failed[0], 1);
    CHECK_EQ(nt.fail_reason[0], FLOE_NODE_FAIL_NO_CANDIDATES);
    CHECK_EQ(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st), FLOE_ERR_NOT_FOUND);
    net_free(&nt);
}

/*
 * ICE disconnected (consent lost on a cut network) starts the grace, never fails. Without
 * packets the connection is idle after 20 s, where consent is lost after 60 s (the idle
 * profile), still before WireGuard's liveness limit (90 s).
 */
static void test_node_ice_disconnected_not_fatal(void)
{
    struct floe_node_conn_stats st;
    struct net nt;
    floe_time cut_at;
    bool saw_disconnected = false;

    REQUIRE(net_up(&nt, 3) == 0);
    nt.cut = true;
    cut_at = nt.now;
    while (nt.now < cut_at + FLOE_SEC(80)) {
        net_run(&nt, nt.now + FLOE_SEC(1));
        REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
        saw_disconnected |= st.ice_state == FLOE_ICE_DISCONNECTED;
    }
    CHECK(saw_disconnected);
    CHECK(st.grace_expired >= 1);
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    nt.cut = false;
    CHECK(net_send(&nt, 0, 0x33));
    net_run(&nt, nt.now + FLOE_MS(100));
    CHECK_EQ(nt.data_rx[1], 1);
    CHECK(net_send(&nt, 1, 0x44));
    net_run(&nt, nt.now + FLOE_MS(100));
    CHECK_EQ(nt.data_rx[0], 1);
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_free(&nt);
}

/* Liveness (b): no authenticated WireGuard packet for REKEY_ATTEMPT_TIME fails, not before. */
static void test_node_wg_silence_fails(void)
{
    struct net nt;
    floe_time cut_at;

    REQUIRE(net_up(&nt, 4) == 0);
    nt.cut = true;
    cut_at = nt.now;
    net_run(&nt, cut_at + FLOE_NODE_WG_LIVENESS_TIMEOUT - FLOE_SEC(6));
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_run(&nt, cut_at + FLOE_NODE_WG_LIVENESS_TIMEOUT + FLOE_SEC(1));
    CHECK_EQ(nt.failed[0], 1);
    CHECK_EQ(nt.failed[1], 1);
    CHECK_EQ(nt.fail_reason[0], FLOE_NODE_FAIL_WG_TIMEOUT);
    CHECK_EQ(nt.fail_reason[1], FLOE_NODE_FAIL_WG_TIMEOUT);
    net_free(&nt);
}

/* Roaming: the client resets onto a new address; the session survives, data flows again. */
static void test_node_reset_roam(void)
{
    struct floe_node_conn_stats st;
    struct net nt;
    floe_time roam_at, back_at = 0;
    uint64_t rx0;

    REQUIRE(net_up(&nt, 5) == 0);
    roam_at = nt.now;
    nt.host[0] = floe_addr_v4(10, 0, 1, 1, 5001);
    CHECK_EQ(floe_node_reset(nt.node[0], nt.now), 0);
    CHECK_EQ(floe_node_add_host(nt.node[0], nt.now, &nt.host[0]), 0);
    net_drain(&nt, 0);
    rx0 = nt.data_rx[0];
    while (nt.now < roam_at + FLOE_SEC(3) && !back_at) {
        net_send(&nt, 0, 0x55);
        net_send(&nt, 1, 0x66);
        net_run(&nt, nt.now + FLOE_MS(20));
        if (nt.data_rx[0] > rx0)
            back_at = nt.now;
    }
    CHECK(back_at != 0);
    /* The client sends from its new address at once and the gateway follows: about one
     * round trip (20 ms) at the 20 ms send granularity, not the time ICE needs (120 ms). */
    CHECK(back_at - roam_at <= FLOE_MS(60));
    CHECK_EQ(nt.established[0], 1); /* the same session: no second "established" */
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    REQUIRE(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st) == 0);
    CHECK(floe_addr_eq(&st.path.remote, &nt.host[0])); /* the gateway followed */
    net_free(&nt);
}

/*
 * The client roams while its first initiation is lost: the new path gets a fresh initiation
 * at once (floe_wg_peer_resend_initiation), not REKEY_TIMEOUT (5 s) after the lost one.
 */
static void test_node_roam_resends_initiation(void)
{
    struct net nt;
    floe_time roam_at;

    REQUIRE(net_init(&nt, 15) == 0);
    nt.drop_initiations[0] = 1;
    REQUIRE(net_connect(&nt) == 0);
    net_run(&nt, FLOE_MS(300));
    REQUIRE(nt.drop_initiations[0] == 0); /* the first initiation went out, and was lost */
    CHECK_EQ(nt.established[0], 0);
    roam_at = nt.now;
    nt.host[0] = floe_addr_v4(10, 0, 1, 1, 5001);
    CHECK_EQ(floe_node_reset(nt.node[0], nt.now), 0);
    CHECK_EQ(floe_node_add_host(nt.node[0], nt.now, &nt.host[0]), 0);
    net_drain(&nt, 0);
    net_run(&nt, roam_at + FLOE_SEC(1));
    CHECK_EQ(nt.established[0], 1);
    CHECK_EQ(nt.established[1], 1);
    CHECK(net_send(&nt, 0, 0x5a));
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.data_rx[1], 1);
    net_free(&nt);
}

/* Both sides' credentials from the portal: A (client) and B (gateway) know both. */
static void net_portal_credentials(struct net *nt, struct floe_node_conn_config cc[2])
{
    int i;

    memset(cc, 0, 2 * sizeof(*cc));
    for (i = 0; i < 2; i++)
        floe_node_public_key(nt->node[i], cc[1 - i].public_key);
    strcpy(cc[0].local_ufrag, "cliA");
    strcpy(cc[0].local_pwd, "clientPasswordFromPortal");
    strcpy(cc[1].local_ufrag, "gwB1");
    strcpy(cc[1].local_pwd, "gatewayPasswordFromPortal");
    for (i = 0; i < 2; i++) {
        strcpy(cc[i].remote_ufrag, cc[1 - i].local_ufrag);
        strcpy(cc[i].remote_pwd, cc[1 - i].local_pwd);
    }
}

/*
 * The portal's intent carries both sides' ICE credentials: each node uses the ones given for
 * itself, so both upserts happen at once with no credential exchange first.
 */
static void test_node_portal_credentials(void)
{
    struct floe_node_conn_config cc[2];
    struct floe_node_conn_stats st;
    const char *uf, *pw;
    struct net nt;

    REQUIRE(net_init(&nt, 16) == 0);
    net_portal_credentials(&nt, cc);
    REQUIRE(floe_node_conn_upsert(nt.node[0], nt.now, NODE_CID_A, &cc[0]) == 0);
    REQUIRE(floe_node_conn_upsert(nt.node[1], nt.now, NODE_CID_B, &cc[1]) == 0);
    REQUIRE(floe_node_conn_local_credentials(nt.node[0], NODE_CID_A, &uf, &pw) == 0);
    CHECK_STR(uf, "cliA");
    CHECK_STR(pw, "clientPasswordFromPortal");
    net_drain(&nt, 0);
    net_drain(&nt, 1);
    net_run(&nt, FLOE_SEC(2));
    CHECK_EQ(nt.established[0], 1);
    CHECK_EQ(nt.established[1], 1);
    CHECK(net_send(&nt, 0, 0x71));
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.data_rx[1], 1);
    /* A second connection may not take the same local ufrag (the demux key); bad ones fail. */
    cc[0].public_key[0] ^= 1; /* another peer */
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], nt.now, 77, &cc[0]), FLOE_ERR_INVALID_ARG);
    strcpy(cc[0].local_ufrag, "c:A!");
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], nt.now, 78, &cc[0]), FLOE_ERR_INVALID_ARG);
    cc[0].local_pwd[0] = '\0';
    strcpy(cc[0].local_ufrag, "cliZ");
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], nt.now, 79, &cc[0]), FLOE_ERR_INVALID_ARG);
    strcpy(cc[0].local_pwd, "clientPasswordFromPortal");
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], nt.now, 79, &cc[0]), 0); /* that one is fine */
    CHECK_EQ(floe_node_conn_remove(nt.node[0], nt.now, 79), 0);
    cc[0].public_key[0] ^= 1;
    /* New local credentials on the live connection: an ICE restart; the session stays. */
    strcpy(cc[0].local_ufrag, "cliA2");
    strcpy(cc[0].local_pwd, "clientPasswordFromPortal2");
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], nt.now, NODE_CID_A, &cc[0]), 0);
    REQUIRE(floe_node_conn_local_credentials(nt.node[0], NODE_CID_A, &uf, &pw) == 0);
    CHECK_STR(uf, "cliA2");
    net_drain(&nt, 0);
    CHECK(net_send(&nt, 0, 0x72));
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.data_rx[1], 2);
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
    CHECK_EQ(st.handshakes, 1);
    net_free(&nt);
}

static void test_node_upsert_close_remove(void)
{
    struct floe_node_conn_config cc;
    struct floe_node_stats ns;
    struct floe_node_event ev;
    struct net nt;
    int closed = 0;

    REQUIRE(net_init(&nt, 6) == 0);
    memset(&cc, 0, sizeof(cc));
    floe_node_public_key(nt.node[1], cc.public_key);
    strcpy(cc.remote_ufrag, "abcd");
    strcpy(cc.remote_pwd, "0123456789abcdefghijklmn");
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], 0, 7, &cc), 0);
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], 0, 7, &cc), 0);
    strcpy(cc.remote_ufrag, "efgh");
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], 0, 7, &cc), 0);
    floe_node_stats(nt.node[0], &ns);
    CHECK_EQ(ns.n_connections, 1);
    CHECK_EQ(floe_node_conn_add_remote_candidate(nt.node[0], 0, 7, "candidate:x"),
             FLOE_ERR_MALFORMED);
    CHECK_EQ(floe_node_conn_add_remote_candidate(nt.node[0], 0, 8,
                                                 "candidate:1 1 UDP 1 1.2.3.4 5 typ host"),
             FLOE_ERR_NOT_FOUND);
    floe_node_stats(nt.node[0], &ns);
    CHECK_EQ(ns.bad_candidates, 1);
    floe_node_public_key(nt.node[0], cc.public_key);
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], 0, 9, &cc), FLOE_ERR_INVALID_ARG);
    cc.remote_ufrag[0] = '\0';
    floe_node_public_key(nt.node[1], cc.public_key);
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], 0, 9, &cc), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_node_conn_close(nt.node[0], 0, 7), 0);
    CHECK_EQ(floe_node_conn_close(nt.node[0], 0, 7), FLOE_ERR_NOT_FOUND);
    while (floe_node_poll_event(nt.node[0], &ev) == 1)
        closed += ev.type == FLOE_NODE_EV_CLOSED && ev.cid == 7;
    CHECK_EQ(closed, 1);
    strcpy(cc.remote_ufrag, "abcd");
    CHECK_EQ(floe_node_conn_upsert(nt.node[0], 0, 7, &cc), 0);
    CHECK_EQ(floe_node_conn_remove(nt.node[0], 0, 7), 0);
    CHECK_EQ(floe_node_conn_remove(nt.node[0], 0, 7), FLOE_ERR_NOT_FOUND);
    floe_node_stats(nt.node[0], &ns);
    CHECK_EQ(ns.n_connections, 0);
    net_free(&nt);
}

static void test_node_config_bounds(void)
{
    struct floe_node_config cfg;
    struct floe_node *n = NULL;
    struct floe_xoshiro x;

    floe_xoshiro_seed(&x, 1);
    floe_node_config_default(&cfg);
    CHECK_EQ(floe_node_new(&n, &cfg, 0), FLOE_ERR_INVALID_ARG); /* no rng */
    cfg.rng = floe_xoshiro_rng(&x);
    cfg.max_connections = 0;
    CHECK_EQ(floe_node_new(&n, &cfg, 0), FLOE_ERR_INVALID_ARG);
    cfg.max_connections = FLOE_NODE_MAX_CONNECTIONS_LIMIT + 1;
    CHECK_EQ(floe_node_new(&n, &cfg, 0), FLOE_ERR_INVALID_ARG);
    cfg.max_connections = 2;
    cfg.max_relays = FLOE_NODE_MAX_RELAYS_LIMIT + 1;
    CHECK_EQ(floe_node_new(&n, &cfg, 0), FLOE_ERR_INVALID_ARG);
    cfg.max_relays = 1;
    cfg.wg_liveness_timeout = FLOE_SEC(1);
    CHECK_EQ(floe_node_new(&n, &cfg, 0), FLOE_ERR_INVALID_ARG);
    cfg.wg_liveness_timeout = FLOE_NODE_WG_LIVENESS_TIMEOUT;
    cfg.relay_rto = FLOE_MS(5);
    CHECK_EQ(floe_node_new(&n, &cfg, 0), FLOE_ERR_INVALID_ARG);
    cfg.relay_rto = FLOE_SEC(2);
    CHECK_EQ(floe_node_new(&n, &cfg, 0), FLOE_ERR_INVALID_ARG);
    cfg.relay_rto = FLOE_NODE_RELAY_RTO;
    memset(cfg.private_key, 7, sizeof(cfg.private_key));
    REQUIRE(floe_node_new(&n, &cfg, 0) == 0);
    {
        struct floe_node_conn_config cc;
        struct floe_addr none = {0};
        uint8_t out[FLOE_NODE_TRANSMIT_MAX];
        struct floe_node_transmit tr;

        memset(&cc, 0, sizeof(cc));
        memset(cc.public_key, 9, sizeof(cc.public_key));
        strcpy(cc.remote_ufrag, "abcd");
        strcpy(cc.remote_pwd, "0123456789abcdefghijklmn");
        CHECK_EQ(floe_node_conn_upsert(n, 0, 1, &cc), 0);
        cc.public_key[0] = 10;
        CHECK_EQ(floe_node_conn_upsert(n, 0, 2, &cc), 0);
        cc.public_key[0] = 11;
        CHECK_EQ(floe_node_conn_upsert(n, 0, 3, &cc), FLOE_ERR_NOMEM);
        CHECK_EQ(floe_node_add_host(n, 0, &none), FLOE_ERR_INVALID_ARG);
        CHECK_EQ(floe_node_relay_add(n, 0, &none, "u", "p"), FLOE_ERR_INVALID_ARG);
        none = floe_addr_v4(192, 0, 2, 1, 3478);
        CHECK_EQ(floe_node_relay_add(n, 0, &none, "u", "p"), FLOE_ERR_ADDR_FAMILY);
        CHECK_EQ(floe_node_poll_transmit(n, 0, out, 100, &tr), FLOE_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ(floe_node_encapsulate(n, 0, 99, out, 20, out, sizeof(out), &tr),
                 FLOE_ERR_NOT_FOUND);
    }
    floe_node_free(n);
}

/* Garbage on the socket is dropped and counted; the connection keeps working. */
static void test_node_demux_garbage(void)
{
    uint8_t buf[256], out[256];
    struct floe_node_stats ns;
    struct floe_xoshiro x;
    struct net nt;
    int i;

    REQUIRE(net_up(&nt, 7) == 0);
    floe_xoshiro_seed(&x, floe_test_seed() + 77);
    for (i = 0; i < 5000; i++) {
        struct floe_addr from = floe_addr_v4(10, 9, 9, (uint8_t)(i & 3), (uint16_t)(7000 + i));
        size_t len = (size_t)(floe_xoshiro_next(&x) % sizeof(buf)), k;
        uint64_t cid = 0;
        size_t olen = 0;
        int rc;

        for (k = 0; k < len; k++)
            buf[k] = (uint8_t)floe_xoshiro_next(&x);
        if (len > 4 && (i & 1)) { /* look like WireGuard or STUN to reach the deeper paths */
            buf[0] = (uint8_t)(1 + i % 4);
            buf[1] = buf[2] = buf[3] = 0;
        }
        if (len >= 20 && (i % 5) == 0) {
            buf[0] &= 0x3f;
            floe_store_be32(buf + 4, 0x2112A442u);
            floe_store_be16(buf + 2, (uint16_t)((len - 20) & ~3u));
        }
        rc = floe_node_decapsulate(nt.node[1], nt.now, &nt.host[1], &from, buf, len, out,
                                   sizeof(out), &cid, &olen);
        CHECK(rc == FLOE_NODE_INPUT_DROPPED || rc == FLOE_NODE_INPUT_CONSUMED);
    }
    floe_node_stats(nt.node[1], &ns);
    CHECK(ns.dropped > 0);
    CHECK(ns.dropped_malformed > 0);
    CHECK(net_send(&nt, 0, 0x77));
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.data_rx[1], 1);
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_free(&nt);
}

/* A STUN check for a ufrag no connection has is dropped as unknown. */
static void test_node_unknown_ufrag(void)
{
    struct floe_stun_builder b;
    uint8_t buf[128], out[128], txid[FLOE_STUN_TXID_LEN] = {1, 2, 3};
    struct floe_node_stats ns;
    struct floe_addr from = floe_addr_v4(10, 0, 0, 9, 999);
    struct net nt;
    uint64_t cid;
    size_t olen;
    long len;

    REQUIRE(net_up(&nt, 8) == 0);
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, FLOE_STUN_REQUEST, txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, "nope:peer", 9);
    floe_stun_add_fingerprint(&b);
    len = floe_stun_build_finish(&b);
    REQUIRE(len > 0);
    CHECK_EQ(floe_node_decapsulate(nt.node[1], nt.now, &nt.host[1], &from, buf, (size_t)len, out,
                                   sizeof(out), &cid, &olen),
             FLOE_NODE_INPUT_DROPPED);
    floe_node_stats(nt.node[1], &ns);
    CHECK_EQ(ns.dropped_unknown, 1);
    net_free(&nt);
}

/* Idle after 20 s without application packets; a packet wakes the connection. */
static void test_node_idle_profile(void)
{
    struct floe_node_conn_stats st;
    struct net nt;

    uint64_t consent;

    REQUIRE(net_up(&nt, 9) == 0);
    net_run(&nt, nt.now + FLOE_NODE_IDLE_AFTER - FLOE_SEC(3));
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
    CHECK(!st.idle);
    net_run(&nt, nt.now + FLOE_SEC(4));
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
    CHECK(st.idle);
    /* Idle slows ICE too: consent every 15 s (+-20 %), not every 5 s (12 a minute). */
    consent = st.ice_consent_sent;
    net_run(&nt, nt.now + FLOE_SEC(60));
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
    CHECK(st.ice_consent_sent - consent >= 3 && st.ice_consent_sent - consent <= 5);
    CHECK(net_send(&nt, 0, 0x99));
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
    CHECK(!st.idle);
    /* Any packet wakes it: consent at the active pace again (one within 6 s). */
    consent = st.ice_consent_sent;
    net_run(&nt, nt.now + FLOE_SEC(6) + FLOE_MS(100));
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
    CHECK(st.ice_consent_sent > consent);
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.data_rx[1], 1);
    /* Idle for minutes: keepalives keep the session; data flows at once after. */
    net_run(&nt, nt.now + FLOE_SEC(300));
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    CHECK(net_send(&nt, 1, 0x98));
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.data_rx[0], 1);
    net_free(&nt);
}

/* The batch forms give what the single forms give, in order. */
static void test_node_batches(void)
{
    enum { N = 10 };
    static uint8_t pkts[N][200], outs[N][200 + FLOE_NODE_OVERHEAD], plain[N][256];
    struct floe_node_encap enc[N];
    struct floe_node_decap dec[N];
    struct net nt;
    int i;

    REQUIRE(net_up(&nt, 10) == 0);
    for (i = 0; i < N; i++) {
        ip_packet(pkts[i], 60 + (size_t)i * 10, (uint8_t)i);
        enc[i] = (struct floe_node_encap){.cid = NODE_CID_A,
                                          .pkt = pkts[i],
                                          .len = 60 + (size_t)i * 10,
                                          .out = outs[i],
                                          .cap = sizeof(outs[i])};
    }
    enc[3].cid = 4242;
    REQUIRE(floe_node_encapsulate_batch(nt.node[0], nt.now, enc, N) == 0);
    for (i = 0; i < N; i++) {
        if (i == 3) {
            CHECK_EQ(enc[i].n, FLOE_ERR_NOT_FOUND);
            continue;
        }
        REQUIRE(enc[i].n > 0);
        CHECK(floe_addr_eq(&enc[i].tr.to, &nt.host[1]));
        dec[i] = (struct floe_node_decap){.local = enc[i].tr.to,
                                          .from = enc[i].tr.local,
                                          .dgram = outs[i],
                                          .len = (size_t)enc[i].n,
                                          .out = plain[i],
                                          .cap = sizeof(plain[i])};
    }
    dec[3] = dec[2]; /* a replay inside the batch is dropped */
    dec[3].out = plain[3];
    REQUIRE(floe_node_decapsulate_batch(nt.node[1], nt.now, dec, N) == 0);
    for (i = 0; i < N; i++) {
        if (i == 3) {
            CHECK_EQ(dec[i].rc, FLOE_NODE_INPUT_DROPPED);
            continue;
        }
        CHECK_EQ(dec[i].rc, FLOE_NODE_INPUT_DATA);
        CHECK_EQ(dec[i].cid, NODE_CID_B);
        CHECK_EQ(dec[i].out_len, 60 + (size_t)i * 10);
        CHECK_EQ(plain[i][20], i);
    }
    net_free(&nt);
}

/* No direct path: the connection comes up through the relay and carries data. */
static void test_node_relayed(void)
{
    struct floe_node_conn_stats st;
    struct floe_node_stats ns;
    struct net nt;
    int i;

    REQUIRE(net_init(&nt, 11) == 0);
    nt.block_direct = true;
    REQUIRE(net_add_relay(&nt) == 0);
    net_run(&nt, FLOE_MS(500)); /* allocations first: their candidates go with the intent */
    REQUIRE(net_connect(&nt) == 0);
    net_run(&nt, nt.now + FLOE_SEC(3));
    CHECK_EQ(nt.established[0], 1);
    CHECK_EQ(nt.established[1], 1);
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
    CHECK(st.path.kind == FLOE_NODE_PATH_LOCAL_RELAY ||
          st.path.kind == FLOE_NODE_PATH_RELAY_RELAY ||
          st.path.kind == FLOE_NODE_PATH_REMOTE_RELAY);
    for (i = 0; i < 5; i++) {
        CHECK(net_send(&nt, 0, (uint8_t)(0x10 + i)));
        CHECK(net_send(&nt, 1, (uint8_t)(0x20 + i)));
        net_run(&nt, nt.now + FLOE_MS(30));
    }
    CHECK_EQ(nt.data_rx[1], 5);
    CHECK_EQ(nt.data_rx[0], 5);
    CHECK_EQ(nt.last_rx[1][20], 0x14);
    floe_node_stats(nt.node[0], &ns);
    CHECK_EQ(ns.n_relays, 1);
    /* Removing the only relay: candidates withdrawn, "no relays" said once. */
    {
        struct floe_node_event ev;
        int none = 0, invalidated = 0;

        CHECK_EQ(floe_node_relay_remove(nt.node[0], nt.now, &nt.relay_addr), 0);
        CHECK_EQ(floe_node_relay_remove(nt.node[0], nt.now, &nt.relay_addr), FLOE_ERR_NOT_FOUND);
        while (floe_node_poll_event(nt.node[0], &ev) == 1) {
            none += ev.type == FLOE_NODE_EV_NO_RELAYS;
            invalidated += ev.type == FLOE_NODE_EV_CANDIDATE_INVALIDATED;
        }
        CHECK_EQ(none, 1);
        CHECK_EQ(invalidated, 2); /* relayed and server-reflexive */
    }
    net_free(&nt);
}

/*
 * A relay-only client roams and its first Allocate from the new address is lost: the
 * retransmission comes relay_rto (250 ms) later, not the TURN profile's 1 s, and the new
 * allocation carries data at once (a keepalive through it to each of the gateway's
 * candidates; the gateway follows the authenticated one), with the same session.
 */
static void test_node_relayed_roam_lost_allocate(void)
{
    struct floe_node_conn_stats st;
    struct net nt;
    floe_time roam_at, back_at = 0;

    REQUIRE(net_init(&nt, 12) == 0);
    nt.block_direct = true;
    REQUIRE(net_add_relay(&nt) == 0);
    net_run(&nt, FLOE_MS(500));
    REQUIRE(net_connect(&nt) == 0);
    net_run(&nt, nt.now + FLOE_SEC(3));
    REQUIRE(nt.established[0] == 1 && nt.established[1] == 1);
    roam_at = nt.now;
    nt.host[0] = floe_addr_v4(10, 0, 1, 1, 5001);
    nt.drop_to_relay[0] = 1;     /* the first Allocate */
    nt.signal_down_to[1] = true; /* the gateway learns nothing new: its relay must let us in */
    CHECK_EQ(floe_node_reset(nt.node[0], nt.now), 0);
    CHECK_EQ(floe_node_add_host(nt.node[0], nt.now, &nt.host[0]), 0);
    net_drain(&nt, 0);
    CHECK_EQ(nt.drop_to_relay[0], 0);
    back_at = net_until_both_get(&nt, roam_at + FLOE_SEC(3), FLOE_MS(20), 0x55, 0x66);
    REQUIRE(back_at != 0);
    /* The retransmission at 250 ms, the Allocate dance, permissions, the answers at the
     * 20 ms send granularity: 520 ms here. With a 1 s retransmission it took 1260 ms. */
    CHECK(back_at - roam_at <= FLOE_MS(700));
    CHECK_EQ(nt.established[0], 1); /* the same session */
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    REQUIRE(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st) == 0);
    CHECK(st.path.kind != FLOE_NODE_PATH_NONE);
    net_free(&nt);
}

/*
 * The gateway roams; the client (relay-only, behind a filtering NAT) hears of it through the
 * signalling: the gateway's candidates withdrawn, then its new ones. The gateway's keepalives
 * through its new allocation are filtered at the client (it never sent to the gateway's new
 * relayed address), so the client probes each new candidate with a keepalive from its socket
 * at once: the gateway's relay lets it in (the gateway asked for a permission for the
 * client's address), the gateway follows it and its data passes the client's filter.
 * Without it the client waited for ICE to pace, check and nominate a new pair.
 */
static void test_node_peer_roam_probe(void)
{
    struct net nt;
    floe_time roam_at, back_at = 0;

    REQUIRE(net_init(&nt, 13) == 0);
    nt.latency = FLOE_MS(25);
    /* More pairs to check (as a client on two networks has): ICE paces them. */
    REQUIRE(floe_node_add_host(nt.node[0], 0,
                               &(struct floe_addr){FLOE_AF_INET, 5000, {192, 168, 9, 1}}) == 0);
    REQUIRE(floe_node_add_host(nt.node[0], 0,
                               &(struct floe_addr){FLOE_AF_INET, 5000, {172, 16, 9, 1}}) == 0);
    nt.block_direct = true;
    nt.filter[0] = true;
    nt.signal_removals = true;
    REQUIRE(net_relay_start(&nt) == 0); /* the gateway's relay only */
    REQUIRE(floe_node_relay_add(nt.node[1], nt.now, &nt.relay_addr, "u", "p") == 0);
    net_drain(&nt, 1);
    net_run(&nt, FLOE_MS(500));
    REQUIRE(net_connect(&nt) == 0);
    net_run(&nt, nt.now + FLOE_SEC(3));
    REQUIRE(nt.established[0] == 1 && nt.established[1] == 1);
    roam_at = nt.now;
    nt.host[1] = floe_addr_v4(10, 0, 2, 2, 6001);
    CHECK_EQ(floe_node_reset(nt.node[1], nt.now), 0);
    CHECK_EQ(floe_node_add_host(nt.node[1], nt.now, &nt.host[1]), 0);
    net_drain(&nt, 1);
    back_at = net_until_both_get(&nt, roam_at + FLOE_SEC(3), FLOE_MS(10), 0x55, 0x66);
    REQUIRE(back_at != 0);
    /* The Allocate, the candidates over the signalling, the probe and the answer (25 ms each
     * way): 150 ms here; waiting for ICE to reach the pair through the relay took 230 ms. */
    CHECK(back_at - roam_at <= FLOE_MS(180));
    CHECK_EQ(nt.established[0], 1); /* the same session */
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_free(&nt);
}

/*
 * The client roams to a network where only the relay gets through. The gateway's path
 * follows it onto the relay, and stays there while the client's ICE checks come through the
 * relay: ICE's selected pair is still the client's old direct address, and only a check on
 * that pair itself says it works. On the old node the first relayed check moved the
 * gateway's data back to the old address (e2e: one roam in three lost its TCP tail-loss
 * probe there, and waited for the retransmission timeout: 620 ms outages).
 */
static void test_node_peer_roam_relayed_check_keeps_path(void)
{
    struct floe_node_conn_stats st;
    struct floe_addr old;
    struct net nt;
    floe_time roam_at;
    uint64_t rx;
    int i;

    REQUIRE(net_init(&nt, 21) == 0);
    nt.latency = FLOE_MS(25);
    nt.filter[1] = true; /* the gateway's NAT: the roamed client reaches it through its relay */
    REQUIRE(net_add_relay(&nt) == 0);
    net_run(&nt, FLOE_MS(500));
    REQUIRE(net_connect(&nt) == 0);
    net_run(&nt, nt.now + FLOE_SEC(3));
    REQUIRE(nt.established[0] == 1 && nt.established[1] == 1);
    REQUIRE(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st) == 0);
    REQUIRE(st.path.kind == FLOE_NODE_PATH_DIRECT);
    roam_at = nt.now;
    old = nt.host[0];
    nt.block_direct = true;
    nt.host[0] = floe_addr_v4(10, 0, 1, 9, 5001);
    CHECK_EQ(floe_node_reset(nt.node[0], nt.now), 0);
    CHECK_EQ(floe_node_add_host(nt.node[0], nt.now, &nt.host[0]), 0);
    net_drain(&nt, 0);
    REQUIRE(net_until_both_get(&nt, roam_at + FLOE_SEC(3), FLOE_MS(10), 0x55, 0x66) != 0);
    rx = nt.data_rx[0];
    for (i = 0; i < 150; i++) {
        CHECK(net_send(&nt, 1, 0x66));
        net_run(&nt, nt.now + FLOE_MS(10));
        REQUIRE(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st) == 0);
        if (floe_addr_eq(&st.path.remote, &old))
            break; /* back to the old address */
    }
    CHECK_EQ(i, 150);
    net_run(&nt, nt.now + FLOE_MS(200));
    CHECK(nt.data_rx[0] - rx >= 150); /* every packet of 1.5 s after the recovery */
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_free(&nt);
}

/*
 * A gateway under load answers a relayed client's initiation with a cookie reply: it goes
 * back through the relay the initiation came from (sent from the socket to the client's
 * address as the relay saw it, the client never got it and the handshake never completed).
 */
static void test_node_cookie_reply_relayed(void)
{
    struct net nt;

    REQUIRE(net_init(&nt, 13) == 0);
    nt.latency = FLOE_MS(25);
    /* More pairs to check (as a client on two networks has): ICE paces them. */
    REQUIRE(floe_node_add_host(nt.node[0], 0,
                               &(struct floe_addr){FLOE_AF_INET, 5000, {192, 168, 9, 1}}) == 0);
    REQUIRE(floe_node_add_host(nt.node[0], 0,
                               &(struct floe_addr){FLOE_AF_INET, 5000, {172, 16, 9, 1}}) == 0);
    nt.block_direct = true;
    floe_node_set_under_load(nt.node[1], true);
    REQUIRE(net_add_relay(&nt) == 0);
    net_run(&nt, FLOE_MS(500));
    REQUIRE(net_connect(&nt) == 0);
    /* The first initiation gets a cookie; the next (REKEY_TIMEOUT later) carries MAC2. */
    net_run(&nt, nt.now + FLOE_SEC(8));
    CHECK_EQ(nt.cookie_direct[1], 0);
    CHECK_EQ(nt.established[0], 1);
    CHECK_EQ(nt.established[1], 1);
    CHECK(net_send(&nt, 0, 0x31));
    net_run(&nt, nt.now + FLOE_MS(100));
    CHECK_EQ(nt.data_rx[1], 1);
    net_free(&nt);
}

/*
 * Data flows over the relayed path first and moves to the direct path when ICE nominates
 * one, with no packet lost in the switch: the direct path opens while both sides send
 * every 10 ms, and every packet sent arrives (once: the harness checks each id).
 */
static void test_node_relayed_to_direct_no_loss(void)
{
    struct floe_node_conn_stats st[2];
    struct net nt;
    uint64_t sent[2] = {0, 0}, rx0[2];
    int i, k;

    REQUIRE(net_init(&nt, 14) == 0);
    nt.block_direct = true;
    REQUIRE(net_add_relay(&nt) == 0);
    net_run(&nt, FLOE_MS(500));
    REQUIRE(net_connect(&nt) == 0);
    net_run(&nt, nt.now + FLOE_SEC(2));
    REQUIRE(nt.established[0] == 1 && nt.established[1] == 1);
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st[0]) == 0);
    REQUIRE(st[0].path.kind != FLOE_NODE_PATH_DIRECT);
    rx0[0] = nt.data_rx[0];
    rx0[1] = nt.data_rx[1];
    for (i = 0; i < 800; i++) {
        if (i == 100)
            nt.block_direct = false; /* the direct pairs' next checks get through */
        for (k = 0; k < 2; k++)
            sent[k] += net_send(&nt, k, (uint8_t)i) ? 1u : 0u;
        net_run(&nt, nt.now + FLOE_MS(10));
    }
    net_run(&nt, nt.now + FLOE_MS(100));
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st[0]) == 0);
    REQUIRE(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st[1]) == 0);
    CHECK(st[0].path.kind == FLOE_NODE_PATH_DIRECT); /* the switch happened */
    CHECK(st[1].path.kind == FLOE_NODE_PATH_DIRECT);
    CHECK_EQ(sent[0], 800);
    CHECK_EQ(sent[1], 800);
    CHECK_EQ(nt.data_rx[1] - rx0[1], sent[0]); /* none lost, none twice */
    CHECK_EQ(nt.data_rx[0] - rx0[0], sent[1]);
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_free(&nt);
}

/*
 * The relay restarts (every allocation lost, same address) under a relayed connection when
 * nothing else asks it anything: ChannelData to it vanishes and its 437 would only come with
 * a refresh minutes later, past the WireGuard liveness limit. The silence on the relayed path
 * makes the node ask (a Refresh): 437, the allocations are made again and data flows with
 * the same session.
 */
static void test_node_relay_restart_silent(void)
{
    struct floe_node_conn_stats st;
    struct net nt;
    floe_time restart_at, back_at = 0;

    REQUIRE(net_init(&nt, 15) == 0);
    nt.block_direct = true;
    REQUIRE(net_add_relay(&nt) == 0);
    net_run(&nt, FLOE_MS(500));
    REQUIRE(net_connect(&nt) == 0);
    net_run(&nt, nt.now + FLOE_SEC(30)); /* ICE done: no check asks the relay anything */
    REQUIRE(nt.established[0] == 1 && nt.established[1] == 1);
    floe_relay_free(nt.relay);
    nt.relay = NULL;
    REQUIRE(net_relay_start(&nt) == 0);
    restart_at = nt.now;
    back_at = net_until_both_get(&nt, restart_at + FLOE_SEC(60), FLOE_MS(100), 0x41, 0x42);
    REQUIRE(back_at != 0);
    CHECK(back_at - restart_at <= FLOE_SEC(20)); /* 10 s of silence, then a few round trips */
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    REQUIRE(floe_node_conn_stats(nt.node[0], NODE_CID_A, &st) == 0);
    CHECK_EQ(st.handshakes, 1); /* the session was kept */
    net_free(&nt);
}

/* REST credentials (expiry:id) of `secret` as the portal hands them, given to both nodes. */
static int net_rest_credentials(struct net *nt, const char *secret, long long expiry)
{
    char user[64], pass[64];
    int i;

    snprintf(user, sizeof(user), "%lld:device", expiry);
    if (floe_turn_rest_password(pass, sizeof(pass), secret, user) < 0)
        return -1;
    for (i = 0; i < 2; i++) {
        if (floe_node_relay_add(nt->node[i], nt->now, &nt->relay_addr, user, pass) != 0)
            return -1;
        net_drain(nt, i);
    }
    return 0;
}

/* Both send every `step` until `until`; the time at which both had received anew (0: never). */
static floe_time net_until_both_rx(struct net *nt, floe_time until, floe_time step)
{
    uint64_t rx0 = nt->data_rx[0], rx1 = nt->data_rx[1];

    while (nt->now < until) {
        net_send(nt, 0, 0x51);
        net_send(nt, 1, 0x52);
        net_run(nt, nt->now + step);
        if (nt->data_rx[0] > rx0 && nt->data_rx[1] > rx1)
            return nt->now;
    }
    return 0;
}

/* A relayed connection between A and B on a relay with the REST secret "s1", time 1000. */
static int net_relayed_rest(struct net *nt, uint64_t seed)
{
    if (net_init(nt, seed) != 0)
        return -1;
    nt->block_direct = true;
    nt->relay_secret = "s1";
    nt->relay_unix = 1000;
    if (net_relay_start(nt) != 0 || net_rest_credentials(nt, "s1", 2000) != 0)
        return -1;
    net_run(nt, FLOE_MS(500));
    if (net_connect(nt) != 0)
        return -1;
    net_run(nt, nt->now + FLOE_SEC(3));
    return nt->established[0] == 1 && nt->established[1] == 1 ? 0 : -1;
}

/*
 * What floe-client and floe-gateway saw (issue 13 case 5): the portal comes back and hands
 * fresh REST credentials for the relay in use (a new username), then the relay process
 * restarts (every allocation and nonce gone), is unreachable for 3 s and comes back on the
 * same address with the same secret, its clock now past the old credentials' expiry. The
 * allocation in place keeps the username it was made with (its requests with another one get
 * 441 and the relay was given up: "no relays" and never again); the next allocation, after
 * the restart, uses the new credentials (the old ones are refused by then).
 */
static void test_node_relay_restart_new_credentials(void)
{
    struct floe_node_conn_stats st;
    struct net nt;
    floe_time restart_at, back_at;
    int i;

    REQUIRE(net_relayed_rest(&nt, 17) == 0);
    REQUIRE(net_rest_credentials(&nt, "s1", 5000) == 0);
    /* Permissions and channels are refreshed (240 s, 300 s) on the allocation in place, and
     * data flows all along (each round within a second). */
    restart_at = nt.now + FLOE_SEC(400);
    for (i = 0; nt.now < restart_at; i++) {
        if (!net_until_both_rx(&nt, nt.now + FLOE_SEC(1), FLOE_MS(100)))
            break;
    }
    CHECK(nt.now >= restart_at);
    CHECK_EQ(nt.no_relays[0] + nt.no_relays[1], 0);
    floe_relay_free(nt.relay);
    nt.relay = NULL;
    restart_at = nt.now;
    net_until_both_rx(&nt, nt.now + FLOE_SEC(3), FLOE_MS(100)); /* the relay is down */
    nt.relay_unix = 3000;                                       /* the old username expired */
    REQUIRE(net_relay_start(&nt) == 0);
    back_at = net_until_both_rx(&nt, nt.now + FLOE_SEC(60), FLOE_MS(100));
    REQUIRE(back_at != 0);
    CHECK(back_at - restart_at <= FLOE_SEC(25)); /* 10 s of silence, backoff, round trips */
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    for (i = 0; i < 2; i++) {
        REQUIRE(floe_node_conn_stats(nt.node[i], i ? NODE_CID_B : NODE_CID_A, &st) == 0);
        CHECK_EQ(nt.established[i], 1); /* the session was kept (rekeyed every 120 s) */
        CHECK(st.path.kind != FLOE_NODE_PATH_NONE);
    }
    net_free(&nt);
}

/*
 * A relay comes back with another secret for a while (its operator fixes it 5 s later): every
 * Allocate is refused (401), the TURN client waits for its caller, and the node asks again
 * with a doubling wait: "no relays" is said, and data flows again once the relay takes the
 * credentials, with no new credentials from the portal.
 */
static void test_node_relay_refused_retried(void)
{
    struct net nt;
    floe_time back_at;

    REQUIRE(net_relayed_rest(&nt, 18) == 0);
    floe_relay_free(nt.relay);
    nt.relay_secret = "another";
    REQUIRE(net_relay_start(&nt) == 0);
    CHECK(net_until_both_rx(&nt, nt.now + FLOE_SEC(25), FLOE_MS(100)) == 0);
    CHECK(nt.no_relays[0] + nt.no_relays[1] >= 1);
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    floe_relay_free(nt.relay);
    nt.relay_secret = "s1";
    REQUIRE(net_relay_start(&nt) == 0);
    back_at = net_until_both_rx(&nt, nt.now + FLOE_SEC(60), FLOE_MS(100));
    CHECK(back_at != 0);
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_free(&nt);
}

/*
 * Both sides send from the start, before any path or session: only the client initiates,
 * so the handshake completes at once (two crossing initiations made each side drop the
 * other's response and retry in lockstep REKEY_TIMEOUT later).
 */
static void test_node_both_send_early(void)
{
    struct net nt;
    int i;

    REQUIRE(net_init(&nt, 12) == 0);
    REQUIRE(net_connect(&nt) == 0);
    for (i = 0; i < 50; i++) {
        (void)net_send(&nt, 0, 1);
        (void)net_send(&nt, 1, 2);
        net_run(&nt, nt.now + FLOE_MS(20));
    }
    CHECK_EQ(nt.established[0], 1);
    CHECK_EQ(nt.established[1], 1);
    CHECK(nt.data_rx[0] > 0 && nt.data_rx[1] > 0);
    net_free(&nt);
}

/*
 * The gateway never gets the client's candidates (only the client gets the gateway's): ICE
 * still connects through the peer-reflexive address and the connection carries data, so
 * liveness rule (a) must not fail it at 10 s for want of a signalled candidate.
 */
static void test_node_prflx_only_not_failed(void)
{
    struct net nt;

    REQUIRE(net_init(&nt, 13) == 0);
    nt.signal_down_to[1] = true;
    REQUIRE(net_connect(&nt) == 0);
    net_run(&nt, FLOE_SEC(2));
    CHECK_EQ(nt.established[0], 1);
    CHECK_EQ(nt.established[1], 1);
    net_run(&nt, FLOE_NODE_CANDIDATE_TIMEOUT + FLOE_SEC(5));
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    CHECK(net_send(&nt, 0, 0x31));
    CHECK(net_send(&nt, 1, 0x32));
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.data_rx[0], 1);
    CHECK_EQ(nt.data_rx[1], 1);
    net_free(&nt);
}

/* A goodbye forged without the connection's ICE password closes nothing. */
static void forge_goodbye(struct net *nt)
{
    struct floe_stun_builder b;
    uint8_t buf[200], out[200], txid[FLOE_STUN_TXID_LEN] = {9, 9, 9};
    char user[80];
    const char *uf, *pw;
    uint64_t cid;
    size_t olen;
    long len;

    REQUIRE(floe_node_conn_local_credentials(nt->node[1], NODE_CID_B, &uf, &pw) == 0);
    snprintf(user, sizeof(user), "%s:x", uf);
    floe_stun_build_init(&b, buf, sizeof(buf), FLOE_STUN_BINDING, FLOE_STUN_INDICATION, txid);
    floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, user, strlen(user));
    floe_stun_add_flag(&b, 0xC0F1);
    floe_stun_add_integrity_key(&b, (const uint8_t *)"not-the-password", 16);
    floe_stun_add_fingerprint(&b);
    len = floe_stun_build_finish(&b);
    REQUIRE(len > 0);
    CHECK(floe_node_decapsulate(nt->node[1], nt->now, &nt->host[1], &nt->host[0], buf, (size_t)len,
                                out, sizeof(out), &cid, &olen) != FLOE_NODE_INPUT_DATA);
    net_drain(nt, 1);
}

/* close() says goodbye: the peer closes at once, not after the liveness timeout. */
static void test_node_close_goodbye(void)
{
    struct floe_node_conn_stats st;
    struct net nt;

    REQUIRE(net_up(&nt, 14) == 0);
    forge_goodbye(&nt);
    CHECK_EQ(nt.closed[1], 0);
    CHECK_EQ(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st), 0);
    CHECK_EQ(floe_node_conn_close(nt.node[0], nt.now, NODE_CID_A), 0);
    net_drain(&nt, 0);
    CHECK_EQ(nt.closed[0], 1);
    net_run(&nt, nt.now + FLOE_MS(50));
    CHECK_EQ(nt.closed[1], 1);
    CHECK_EQ(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st), FLOE_ERR_NOT_FOUND);
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_free(&nt);
}

/* Connections made and removed at random: lookups by id stay exact (hash map with deletes). */
static void test_node_conn_churn(void)
{
    enum { LIVE = 48, OPS = 3000 };
    struct floe_node_config cfg;
    struct floe_node_conn_config cc;
    struct floe_node_conn_stats st;
    struct floe_node_event ev;
    struct floe_xoshiro x, rx;
    struct floe_node *n;
    uint64_t live[LIVE] = {0};
    int i, k;

    floe_xoshiro_seed(&rx, floe_test_seed() + 5);
    floe_xoshiro_seed(&x, 3);
    floe_node_config_default(&cfg);
    cfg.rng = floe_xoshiro_rng(&x);
    cfg.max_connections = LIVE;
    memset(cfg.private_key, 0x61, sizeof(cfg.private_key));
    REQUIRE(floe_node_new(&n, &cfg, 0) == 0);
    memset(&cc, 0, sizeof(cc));
    strcpy(cc.remote_ufrag, "peer");
    strcpy(cc.remote_pwd, "peer-password-0000000000");
    for (i = 0; i < OPS; i++) {
        int slot = (int)(floe_xoshiro_next(&rx) % LIVE);

        if (live[slot]) {
            CHECK_EQ(floe_node_conn_remove(n, 0, live[slot]), 0);
            CHECK_EQ(floe_node_conn_stats(n, live[slot], &st), FLOE_ERR_NOT_FOUND);
            live[slot] = 0;
            continue;
        }
        live[slot] = 1 + (floe_xoshiro_next(&rx) >> 4);
        floe_store_be64(cc.public_key, live[slot]);
        cc.public_key[31] = 0x40;
        CHECK_EQ(floe_node_conn_upsert(n, 0, live[slot], &cc), 0);
        while (floe_node_poll_event(n, &ev) == 1)
            ;
        for (k = 0; k < LIVE; k++) {
            if (live[k])
                CHECK_EQ(floe_node_conn_stats(n, live[k], &st), 0);
        }
    }
    floe_node_free(n);
}

/* One data message of node i's connection, encapsulated now and not sent. */
static long net_seal(struct net *nt, int i, uint8_t marker, uint8_t *out, size_t cap)
{
    uint8_t pkt[100];
    struct floe_node_transmit tr;

    ip_packet(pkt, sizeof(pkt), marker);
    return floe_node_encapsulate(nt->node[i], nt->now, i ? NODE_CID_B : NODE_CID_A, pkt,
                                 sizeof(pkt), out, cap, &tr);
}

/*
 * The path follows the peer's newest authenticated packet, not a late one: a message the peer
 * sent before a newer one that already arrived, coming now from another address (a slower
 * path the peer has left), leaves the path alone. The path flapped between direct and relayed
 * after a roam when each side followed the other's stragglers. A newer message from the other
 * address still moves it (WireGuard roaming).
 */
static void test_node_path_ignores_late_packet(void)
{
    uint8_t d1[200], d2[200], d3[200], out[200];
    struct floe_node_conn_stats st;
    struct floe_addr other;
    size_t olen;
    uint64_t cid, changes;
    long n1, n2, n3;
    struct net nt;

    REQUIRE(net_up(&nt, 31) == 0);
    other = nt.host[0];
    other.port = (uint16_t)(other.port + 1);
    n1 = net_seal(&nt, 0, 1, d1, sizeof(d1));
    n2 = net_seal(&nt, 0, 2, d2, sizeof(d2));
    REQUIRE(n1 > 0 && n2 > 0);
    REQUIRE(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st) == 0);
    changes = st.path_changes;
    CHECK_EQ(floe_node_decapsulate(nt.node[1], nt.now, &nt.host[1], &nt.host[0], d2, (size_t)n2,
                                   out, sizeof(out), &cid, &olen),
             FLOE_NODE_INPUT_DATA);
    CHECK_EQ(floe_node_decapsulate(nt.node[1], nt.now, &nt.host[1], &other, d1, (size_t)n1, out,
                                   sizeof(out), &cid, &olen),
             FLOE_NODE_INPUT_DATA); /* delivered: only the path ignores it */
    REQUIRE(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st) == 0);
    CHECK(floe_addr_eq(&st.path.remote, &nt.host[0]));
    CHECK_EQ(st.path_changes, changes);
    n3 = net_seal(&nt, 0, 3, d3, sizeof(d3));
    REQUIRE(n3 > 0);
    CHECK_EQ(floe_node_decapsulate(nt.node[1], nt.now, &nt.host[1], &other, d3, (size_t)n3, out,
                                   sizeof(out), &cid, &olen),
             FLOE_NODE_INPUT_DATA);
    REQUIRE(floe_node_conn_stats(nt.node[1], NODE_CID_B, &st) == 0);
    CHECK(floe_addr_eq(&st.path.remote, &other));
    CHECK_EQ(st.path_changes, changes + 1);
    net_free(&nt);
}

/*
 * Relayed, then the direct pair works: each side moves onto it once and stays. The side that
 * moves first (ICE selected the pair) still receives the peer's relayed data sent before the
 * peer followed, newer than anything it got directly; following it went back to the relay
 * (and, with the consent checks' moves back to the direct pair, the path flapped). The move
 * holds until the peer's data comes on the direct pair.
 */
static void test_node_chosen_path_held(void)
{
    struct floe_node_conn_stats st;
    uint64_t at_direct[2] = {0, 0};
    bool direct[2] = {false, false}, moved[2] = {false, false};
    struct net nt;
    int i, k;

    REQUIRE(net_init(&nt, 14) == 0);
    nt.block_direct = true;
    REQUIRE(net_add_relay(&nt) == 0);
    net_run(&nt, FLOE_MS(500));
    REQUIRE(net_connect(&nt) == 0);
    net_run(&nt, nt.now + FLOE_SEC(2));
    REQUIRE(nt.established[0] == 1 && nt.established[1] == 1);
    nt.block_direct = false;
    for (i = 0; i < 8000; i++) {
        for (k = 0; k < 2 && i % 10 == 0; k++)
            (void)net_send(&nt, k, (uint8_t)i);
        net_run(&nt, nt.now + FLOE_MS(1));
        for (k = 0; k < 2; k++) {
            REQUIRE(floe_node_conn_stats(nt.node[k], k ? NODE_CID_B : NODE_CID_A, &st) == 0);
            if (!direct[k] && st.path.kind == FLOE_NODE_PATH_DIRECT) {
                direct[k] = true;
                at_direct[k] = st.path_changes;
            }
            if (direct[k] && st.path_changes != at_direct[k])
                moved[k] = true;
        }
    }
    CHECK(direct[0] && direct[1]);
    CHECK(!moved[0]); /* once direct, never again another path */
    CHECK(!moved[1]);
    CHECK_EQ(nt.failed[0] + nt.failed[1], 0);
    net_free(&nt);
}

/* ------------------------------------------------------------ early initiations */

/*
 * The portal answers the client at once with the gateway's candidates (relayed on the relay
 * both use), before the gateway added the client: the client's initiation reaches the gateway
 * first. The gateway keeps it and answers right after its upsert, not after the client's retry
 * REKEY_TIMEOUT (5 s) later.
 */
static void test_node_early_initiation_answered(void)
{
    char cands[16][FLOE_ICE_CANDIDATE_STR_MAX];
    struct floe_node_conn_config cc[2];
    struct floe_node_event ev;
    struct floe_node_stats st;
    size_t nc = 0, k;
    floe_time up;
    struct net nt;

    REQUIRE(net_init(&nt, 21) == 0);
    nt.block_direct = true;
    REQUIRE(net_add_relay(&nt) == 0);
    net_run(&nt, FLOE_MS(500));
    net_portal_credentials(&nt, cc);
    /* The gateway's candidates as the portal cached them from an earlier connection. */
    REQUIRE(floe_node_conn_upsert(nt.node[1], nt.now, NODE_CID_B, &cc[1]) == 0);
    while (floe_node_poll_event(nt.node[1], &ev) == 1 && nc < 16) {
        if (ev.type == FLOE_NODE_EV_CANDIDATE_NEW)
            strcpy(cands[nc++], ev.u.candidate);
    }
    REQUIRE(floe_node_conn_remove(nt.node[1], nt.now, NODE_CID_B) == 0);
    net_drain(&nt, 1);
    REQUIRE(nc >= 2);
    /* The client starts at once: its initiation goes relay-relay to the gateway. */
    REQUIRE(floe_node_conn_upsert(nt.node[0], nt.now, NODE_CID_A, &cc[0]) == 0);
    for (k = 0; k < nc; k++)
        REQUIRE(floe_node_conn_add_remote_candidate(nt.node[0], nt.now, NODE_CID_A, cands[k]) == 0);
    net_drain(&nt, 0);
    net_run(&nt, nt.now + FLOE_MS(200));
    floe_node_stats(nt.node[1], &st);
    CHECK_EQ(st.early_kept, 1);
    CHECK_EQ(st.n_connections, 0);
    CHECK_EQ(nt.established[0], 0);
    /* create_authorization arrives: the gateway adds the client and answers at once. */
    REQUIRE(floe_node_conn_upsert(nt.node[1], nt.now, NODE_CID_B, &cc[1]) == 0);
    floe_node_stats(nt.node[1], &st);
    CHECK_EQ(st.early_replayed, 1);
    up = nt.now;
    net_drain(&nt, 1);
    net_run(&nt, up + FLOE_MS(300));
    CHECK_EQ(nt.established[0], 1);
    CHECK_EQ(nt.established[1], 1);
    CHECK(net_send(&nt, 0, 0x41));
    CHECK(net_send(&nt, 1, 0x42));
    net_run(&nt, nt.now + FLOE_MS(100));
    CHECK_EQ(nt.data_rx[0], 1);
    CHECK_EQ(nt.data_rx[1], 1);
    floe_node_stats(nt.node[1], &st);
    CHECK_EQ(st.early_kept, 1);
    CHECK_EQ(st.early_expired, 0);
    net_free(&nt);
}

/* An initiation to node from a throwaway device whose private key is 32 bytes of k. */
static void early_initiation(struct floe_node *node, uint8_t k, floe_time now,
                             uint8_t msg[FLOE_WG_INITIATION_LEN], uint8_t pub[FLOE_WG_KEY_LEN])
{
    struct floe_wg_peer_config pc;
    struct floe_wg_config wc;
    struct floe_xoshiro x;
    struct floe_wg *dev;
    struct floe_addr dst;
    uint8_t pkt[60], out[200];

    floe_wg_config_default(&wc);
    memset(wc.private_key, k, sizeof(wc.private_key));
    floe_xoshiro_seed(&x, k);
    wc.rng = floe_xoshiro_rng(&x);
    REQUIRE(floe_wg_new(&dev, &wc) == 0);
    floe_wg_public_key(dev, pub);
    memset(&pc, 0, sizeof(pc));
    floe_node_public_key(node, pc.public_key);
    pc.endpoint = floe_addr_v4(10, 0, 0, 2, 6000);
    REQUIRE(floe_wg_peer_add(dev, &pc, NULL) == 0);
    floe_wg_set_wall_clock(dev, 0, 1700000000ull * 1000000000ull);
    ip_packet(pkt, sizeof(pkt), 1);
    CHECK_EQ(floe_wg_encapsulate(dev, now, floe_wg_peer_find(dev, pc.public_key), pkt, sizeof(pkt),
                                 out, sizeof(out), &dst),
             0);
    CHECK_EQ(floe_wg_poll_transmit(dev, now, msg, FLOE_WG_INITIATION_LEN, &dst, NULL),
             FLOE_WG_INITIATION_LEN);
    floe_wg_free(dev);
}

/* Feed msg to the gateway node from 10.0.1.<k>:7000; returns what decapsulate said. */
static int early_feed(struct net *nt, uint8_t k, const uint8_t *msg, size_t len)
{
    struct floe_addr from = floe_addr_v4(10, 0, 1, k, 7000);
    uint8_t out[FLOE_NODE_TRANSMIT_MAX];
    uint64_t cid;
    size_t olen;

    return floe_node_decapsulate(nt->node[1], nt->now, &nt->host[1], &from, msg, len, out,
                                 sizeof(out), &cid, &olen);
}

/* The gateway adds a connection for pub: how many handshake responses and cookie replies go
 * out right after (to 10.0.1.x). */
static int early_upsert(struct net *nt, uint64_t cid, const uint8_t pub[FLOE_WG_KEY_LEN],
                        int *cookies)
{
    struct floe_node_conn_config cc;
    uint8_t buf[FLOE_NODE_TRANSMIT_MAX];
    struct floe_node_transmit tr;
    struct floe_node_event ev;
    int responses = 0;

    memset(&cc, 0, sizeof(cc));
    memcpy(cc.public_key, pub, FLOE_WG_KEY_LEN);
    strcpy(cc.remote_ufrag, "abcd");
    strcpy(cc.remote_pwd, "0123456789abcdefghijklmn");
    if (floe_node_conn_upsert(nt->node[1], nt->now, cid, &cc) != 0)
        return -1;
    while (floe_node_poll_transmit(nt->node[1], nt->now, buf, sizeof(buf), &tr) == 1) {
        responses += tr.len == FLOE_WG_RESPONSE_LEN && buf[0] == FLOE_WG_MSG_RESPONSE;
        if (cookies)
            *cookies += tr.len == 64 && buf[0] == FLOE_WG_MSG_COOKIE_REPLY;
    }
    while (floe_node_poll_event(nt->node[1], &ev) == 1)
        ;
    return responses;
}

/*
 * The store of early initiations is bounded and ages: a flood of initiations from unknown
 * keys pushes the oldest out (counted), one kept longer than 2 s is not answered, the same
 * initiation kept twice is answered once (WireGuard's timestamp check), and under load one
 * without mac2 gets a cookie reply and is not kept.
 */
static void test_node_early_initiation_bounded(void)
{
    uint8_t msg[FLOE_NODE_EARLY_SLOTS + 4][FLOE_WG_INITIATION_LEN];
    uint8_t pub[FLOE_NODE_EARLY_SLOTS + 4][FLOE_WG_KEY_LEN];
    struct floe_node_stats st;
    struct net nt;
    int cookies = 0;
    uint8_t i;

    REQUIRE(net_init(&nt, 22) == 0);
    for (i = 0; i < FLOE_NODE_EARLY_SLOTS + 4; i++)
        early_initiation(nt.node[1], (uint8_t)(0x40 + i), nt.now, msg[i], pub[i]);
    /* SLOTS + 1 keys: the first is pushed out by the last. */
    for (i = 0; i <= FLOE_NODE_EARLY_SLOTS; i++)
        CHECK_EQ(early_feed(&nt, i, msg[i], FLOE_WG_INITIATION_LEN), FLOE_NODE_INPUT_CONSUMED);
    floe_node_stats(nt.node[1], &st);
    CHECK_EQ(st.early_kept, FLOE_NODE_EARLY_SLOTS + 1);
    CHECK_EQ(st.early_evicted, 1);
    CHECK_EQ(st.dropped, 0);
    CHECK_EQ(early_upsert(&nt, 300, pub[0], NULL), 0);
    CHECK_EQ(early_upsert(&nt, 301 + FLOE_NODE_EARLY_SLOTS, pub[FLOE_NODE_EARLY_SLOTS], NULL), 1);
    floe_node_stats(nt.node[1], &st);
    CHECK_EQ(st.early_replayed, 1);
    /* A bad mac1 is dropped as before, not kept. */
    msg[FLOE_NODE_EARLY_SLOTS + 1][FLOE_WG_INITIATION_LEN - 20] ^= 1;
    CHECK_EQ(early_feed(&nt, 50, msg[FLOE_NODE_EARLY_SLOTS + 1], FLOE_WG_INITIATION_LEN),
             FLOE_NODE_INPUT_DROPPED);
    floe_node_stats(nt.node[1], &st);
    CHECK_EQ(st.early_kept, FLOE_NODE_EARLY_SLOTS + 1);
    /* Older than 2 s: forgotten, not answered. */
    net_run(&nt, nt.now + FLOE_NODE_EARLY_KEEP + FLOE_MS(1));
    CHECK_EQ(early_upsert(&nt, 302, pub[1], NULL), 0);
    floe_node_stats(nt.node[1], &st);
    CHECK_EQ(st.early_expired, FLOE_NODE_EARLY_SLOTS - 1);
    CHECK_EQ(st.early_replayed, 1);
    /* The same initiation twice (two paths): both replayed, one answer. */
    CHECK_EQ(early_feed(&nt, 60, msg[FLOE_NODE_EARLY_SLOTS + 2], FLOE_WG_INITIATION_LEN),
             FLOE_NODE_INPUT_CONSUMED);
    CHECK_EQ(early_feed(&nt, 61, msg[FLOE_NODE_EARLY_SLOTS + 2], FLOE_WG_INITIATION_LEN),
             FLOE_NODE_INPUT_CONSUMED);
    CHECK_EQ(early_upsert(&nt, 303, pub[FLOE_NODE_EARLY_SLOTS + 2], NULL), 1);
    floe_node_stats(nt.node[1], &st);
    CHECK_EQ(st.early_replayed, 3);
    /* Under load: no mac2, a cookie reply, nothing kept. */
    floe_node_set_under_load(nt.node[1], true);
    CHECK_EQ(early_feed(&nt, 70, msg[FLOE_NODE_EARLY_SLOTS + 3], FLOE_WG_INITIATION_LEN),
             FLOE_NODE_INPUT_DROPPED);
    floe_node_stats(nt.node[1], &st);
    CHECK_EQ(st.early_kept, FLOE_NODE_EARLY_SLOTS + 3);
    CHECK_EQ(early_upsert(&nt, 304, pub[FLOE_NODE_EARLY_SLOTS + 3], &cookies), 0);
    CHECK_EQ(cookies, 1);
    net_free(&nt);
}

int main(void)
{
    FLOE_RUN(test_candidate_parse_browser);
    FLOE_RUN(test_candidate_format_exact);
    FLOE_RUN(test_candidate_refused);
    FLOE_RUN(test_candidate_round_trip);
    FLOE_RUN(test_candidate_garbage);
    FLOE_RUN(test_node_establish_direct);
    FLOE_RUN(test_node_no_candidates_fails_at_10s);
    FLOE_RUN(test_node_ice_disconnected_not_fatal);
    FLOE_RUN(test_node_wg_silence_fails);
    FLOE_RUN(test_node_reset_roam);
    FLOE_RUN(test_node_roam_resends_initiation);
    FLOE_RUN(test_node_portal_credentials);
    FLOE_RUN(test_node_upsert_close_remove);
    FLOE_RUN(test_node_config_bounds);
    FLOE_RUN(test_node_demux_garbage);
    FLOE_RUN(test_node_unknown_ufrag);
    FLOE_RUN(test_node_idle_profile);
    FLOE_RUN(test_node_batches);
    FLOE_RUN(test_node_relayed);
    FLOE_RUN(test_node_relayed_roam_lost_allocate);
    FLOE_RUN(test_node_peer_roam_probe);
    FLOE_RUN(test_node_peer_roam_relayed_check_keeps_path);
    FLOE_RUN(test_node_cookie_reply_relayed);
    FLOE_RUN(test_node_relayed_to_direct_no_loss);
    FLOE_RUN(test_node_relay_restart_silent);
    FLOE_RUN(test_node_relay_restart_new_credentials);
    FLOE_RUN(test_node_relay_refused_retried);
    FLOE_RUN(test_node_both_send_early);
    FLOE_RUN(test_node_prflx_only_not_failed);
    FLOE_RUN(test_node_close_goodbye);
    FLOE_RUN(test_node_conn_churn);
    FLOE_RUN(test_node_path_ignores_late_packet);
    FLOE_RUN(test_node_chosen_path_held);
    FLOE_RUN(test_node_early_initiation_answered);
    FLOE_RUN(test_node_early_initiation_bounded);
    return floe_test_summary();
}
