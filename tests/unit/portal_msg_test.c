/*
 * The portal message codec (include/floe/portal.h): every message type round-trips through
 * encode and decode; the examples of docs/protocol.md decode; malformed JSON, unknown events,
 * missing and ill-typed fields and values out of their limits are refused with a reason;
 * random garbage and mutations of valid messages never crash (seed printed).
 */
#include "floe/portal.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static const char *const CAND_HOST = "candidate:1 1 UDP 2130706431 192.168.1.20 51820 typ host";
static const char *const CAND_SRFLX =
    "candidate:2 1 UDP 1694498815 203.0.113.9 40001 typ srflx raddr 192.168.1.20 rport 51820";

static struct floe_portal_msg *msg_new(void)
{
    struct floe_portal_msg *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    return m;
}

static void ip(struct floe_addr *a, const char *s)
{
    if (floe_addr_parse_ip(s, a) != 0)
        abort();
}

static void fill_resource(struct floe_portal_resource *r, const char *id)
{
    strcpy(r->id, id);
    strcpy(r->name, "Database network \xc3\xa9");
    ip(&r->address.addr, "10.20.0.0");
    r->address.prefix = 16;
    r->n_filters = 2;
    r->filters[0].protocol = FLOE_PORTAL_PROTO_TCP;
    r->filters[0].port_start = 5432;
    r->filters[0].port_end = 5433;
    r->filters[1].protocol = FLOE_PORTAL_PROTO_ICMP;
}

static void fill_relay(struct floe_portal_relay *r, const char *id, const char *addr)
{
    strcpy(r->id, id);
    if (floe_addr_parse(addr, &r->addr) != 0)
        abort();
    strcpy(r->username, "1764979200:dev-42");
    strcpy(r->password, "m0s1XsNC1t3nqJlk9Bk5aH5vBJY=");
    r->expires_at = 1764979200;
}

static void fill_ice(struct floe_portal_ice_creds *c, const char *u, const char *p)
{
    strcpy(c->username, u);
    strcpy(c->password, p);
}

static void fill_cands(struct floe_portal_candidates *c, const char *id, uint32_t n_ids)
{
    c->n_ids = n_ids;
    for (uint32_t i = 0; i < n_ids; i++)
        snprintf(c->ids[i], sizeof(c->ids[i]), "%s-%u", id, (unsigned)i);
    c->n_candidates = 2;
    strcpy(c->candidates[0], CAND_HOST);
    strcpy(c->candidates[1], CAND_SRFLX);
}

static void fill_init(struct floe_portal_msg *m)
{
    struct floe_portal_init *in = &m->u.init;
    ip(&in->interface.ipv4, "100.64.0.5");
    ip(&in->interface.ipv6, "fd00:2021:1111::5");
    if (m->topic == FLOE_PORTAL_TOPIC_CLIENT) {
        in->n_resources = 2;
        fill_resource(&in->resources[0], "res-db");
        fill_resource(&in->resources[1], "res-v6");
        ip(&in->resources[1].address.addr, "2001:db8::");
        in->resources[1].address.prefix = 32;
        in->resources[1].n_filters = 0;
        memset(in->resources[1].filters, 0, sizeof(in->resources[1].filters));
    }
    in->n_relays = 2;
    fill_relay(&in->relays[0], "relay-1", "198.51.100.7:3478");
    fill_relay(&in->relays[1], "relay-2", "[2001:db8::3]:3478");
}

static void fill_create(struct floe_portal_msg *m)
{
    struct floe_portal_create_authorization *c = &m->u.create;
    strcpy(c->ref, "auth-4f1c");
    fill_resource(&c->resource, "res-db");
    strcpy(c->client.id, "dev-42");
    memset(c->client.public_key, 0x11, FLOE_PORTAL_KEY_LEN);
    memset(c->client.preshared_key, 0xfe, FLOE_PORTAL_KEY_LEN);
    ip(&c->client.ipv4, "100.64.0.5");
    ip(&c->client.ipv6, "fd00:2021:1111::5");
    fill_ice(&c->client_ice, "hgwh", "j2fqufatn7xlrrvv6fsvea");
    fill_ice(&c->gateway_ice, "ejqt", "zfjrrjdkbci42t2axyd45a");
    c->expires_at = 1764982800;
}

static void fill_created(struct floe_portal_msg *m)
{
    struct floe_portal_authorization_created *c = &m->u.created;
    strcpy(c->resource_id, "res-db");
    strcpy(c->gateway_id, "gw-1");
    for (int i = 0; i < FLOE_PORTAL_KEY_LEN; i++) {
        c->gateway_public_key[i] = (uint8_t)i;
        c->preshared_key[i] = (uint8_t)(255 - i);
    }
    ip(&c->gateway_ipv4, "100.64.0.2");
    ip(&c->gateway_ipv6, "fd00:2021:1111::2");
    fill_ice(&c->client_ice, "hgwh", "j2fqufatn7xlrrvv6fsvea");
    fill_ice(&c->gateway_ice, "ejqt", "zfjrrjdkbci42t2axyd45a");
}

/* Fill the payload of m->type (m->topic set) with values at and inside the limits. */
static void fill(struct floe_portal_msg *m)
{
    switch (m->type) {
    case FLOE_PORTAL_MSG_REPLY:
        m->u.reply.ok = false;
        strcpy(m->u.reply.reason, "unauthorized");
        break;
    case FLOE_PORTAL_MSG_INIT:
        fill_init(m);
        break;
    case FLOE_PORTAL_MSG_RELAYS_PRESENCE:
        m->u.relays.n_disconnected = 1;
        strcpy(m->u.relays.disconnected_ids[0], "relay-2");
        m->u.relays.n_connected = 1;
        fill_relay(&m->u.relays.connected[0], "relay-3", "[2001:db8::3]:3478");
        break;
    case FLOE_PORTAL_MSG_RESOURCE_UPDATED:
        fill_resource(&m->u.resource, "res-web");
        break;
    case FLOE_PORTAL_MSG_RESOURCE_DELETED:
        strcpy(m->u.id, "res-web");
        break;
    case FLOE_PORTAL_MSG_CONFIG_CHANGED:
        ip(&m->u.interface.ipv4, "100.64.0.9");
        ip(&m->u.interface.ipv6, "fd00:2021:1111::9");
        break;
    case FLOE_PORTAL_MSG_REQUEST_AUTHORIZATION:
        strcpy(m->u.request.resource_id, "res-db");
        m->u.request.n_gateways = 2;
        strcpy(m->u.request.gateway_ids[0], "gw-1");
        strcpy(m->u.request.gateway_ids[1], "3abd725a-733b-4801-ac16-72f26cd98a24");
        break;
    case FLOE_PORTAL_MSG_CREATE_AUTHORIZATION:
        fill_create(m);
        break;
    case FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED:
        strcpy(m->u.authorized.ref, "auth-4f1c");
        break;
    case FLOE_PORTAL_MSG_AUTHORIZATION_CREATED:
        fill_created(m);
        break;
    case FLOE_PORTAL_MSG_AUTHORIZATION_FAILED:
        strcpy(m->u.failed.resource_id, "res-db");
        strcpy(m->u.failed.reason, "offline");
        break;
    case FLOE_PORTAL_MSG_REJECT_ACCESS:
    case FLOE_PORTAL_MSG_EXPIRY_UPDATED:
        strcpy(m->u.access.client_id, "dev-42");
        strcpy(m->u.access.resource_id, "res-db");
        if (m->type == FLOE_PORTAL_MSG_EXPIRY_UPDATED)
            m->u.access.expires_at = 1764986400;
        break;
    case FLOE_PORTAL_MSG_BROADCAST_CANDIDATES:
    case FLOE_PORTAL_MSG_BROADCAST_INVALIDATED:
        fill_cands(&m->u.cands, "dev", 3);
        break;
    case FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES:
    case FLOE_PORTAL_MSG_INVALIDATE_GATEWAY_CANDIDATES:
    case FLOE_PORTAL_MSG_ICE_CANDIDATES:
    case FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES:
        fill_cands(&m->u.cands, "peer", 1);
        break;
    case FLOE_PORTAL_MSG_GATEWAY_CANDIDATES:
        fill_cands(&m->u.cands, "", 0); /* the gateway's own: no ids */
        break;
    default:
        break;
    }
}

static char json_buf[FLOE_PORTAL_JSON_MAX + 1];

/* Every (type, topic) pair the protocol allows: encode, decode, compare the structs. */
static void test_round_trip_every_message(void)
{
    struct floe_portal_msg *a = msg_new(), *b = msg_new();
    int pairs = 0;
    for (int t = FLOE_PORTAL_MSG_NONE + 1; t < FLOE_PORTAL_MSG_COUNT; t++) {
        for (int topic = FLOE_PORTAL_TOPIC_CLIENT; topic <= FLOE_PORTAL_TOPIC_PHOENIX; topic++) {
            if (!floe_portal_msg_is_valid_on((enum floe_portal_msg_type)t,
                                             (enum floe_portal_topic)topic))
                continue;
            memset(a, 0, sizeof(*a));
            a->type = (enum floe_portal_msg_type)t;
            a->topic = (enum floe_portal_topic)topic;
            a->has_ref = (t % 2) == 0;
            if (a->has_ref)
                strcpy(a->ref, "42");
            fill(a);
            long n = floe_portal_msg_encode(a, json_buf, sizeof(json_buf));
            char reason[128];
            int rc = n > 0 ? floe_portal_msg_decode(b, json_buf, (size_t)n, reason, 128) : -99;
            if (n <= 0 || rc != 0 || memcmp(a, b, sizeof(*a)) != 0) {
                fprintf(stderr, "  %s on %s: n %ld rc %d %s\n  %s\n",
                        floe_portal_msg_event(a->type), floe_portal_topic_name(a->topic), n, rc,
                        rc ? reason : "", json_buf);
            }
            CHECK(n > 0);
            CHECK_EQ(rc, 0);
            CHECK(memcmp(a, b, sizeof(*a)) == 0);
            pairs++;
        }
    }
    CHECK_EQ(pairs, 36); /* the table of docs/protocol.md, "Who sends what" */
    free(a);
    free(b);
}

static int decode_str(struct floe_portal_msg *m, const char *json, char *reason)
{
    return floe_portal_msg_decode(m, json, strlen(json), reason, 128);
}

/* Examples as docs/protocol.md writes them decode to what they say. */
static void test_decode_documented_examples(void)
{
    struct floe_portal_msg *m = msg_new();
    char reason[128];
    CHECK_EQ(decode_str(m,
                        "{\"topic\": \"client\", \"event\": \"phx_reply\", \"payload\": "
                        "{\"status\": \"error\", \"response\": {\"reason\": \"unauthorized\"}}, "
                        "\"ref\": \"1\"}",
                        reason),
             0);
    CHECK_EQ(m->type, FLOE_PORTAL_MSG_REPLY);
    CHECK(!m->u.reply.ok);
    CHECK_STR(m->u.reply.reason, "unauthorized");
    CHECK_STR(m->ref, "1");

    CHECK_EQ(decode_str(m,
                        "{\"topic\":\"gateway\",\"event\":\"authorization_created\",\"ref\":\"9\","
                        "\"payload\":{\"ref\":\"auth-4f1c\"}}",
                        reason),
             0);
    CHECK_EQ(m->type, FLOE_PORTAL_MSG_GATEWAY_AUTHORIZED);
    CHECK_STR(m->u.authorized.ref, "auth-4f1c");

    CHECK_EQ(decode_str(m,
                        "{\"topic\":\"client\",\"event\":\"resource_deleted\",\"ref\":null,"
                        "\"payload\":\"res-web\"}",
                        reason),
             0);
    CHECK_EQ(m->type, FLOE_PORTAL_MSG_RESOURCE_DELETED);
    CHECK(!m->has_ref);
    CHECK_STR(m->u.id, "res-web");

    /* Unknown fields are ignored; a filter without ports is the whole range. */
    CHECK_EQ(decode_str(m,
                        "{\"topic\":\"gateway\",\"event\":\"resource_created_or_updated\","
                        "\"ref\":null,\"future\":1,\"payload\":{\"id\":\"r\",\"type\":\"cidr\","
                        "\"name\":\"n\",\"address\":\"2001:db8::/32\",\"extra\":[1,2],"
                        "\"filters\":[{\"protocol\":\"udp\"}]}}",
                        reason),
             0);
    CHECK_EQ(m->u.resource.address.prefix, 32);
    CHECK_EQ(m->u.resource.address.addr.family, FLOE_AF_INET6);
    CHECK_EQ(m->u.resource.n_filters, 1);
    CHECK_EQ(m->u.resource.filters[0].protocol, FLOE_PORTAL_PROTO_UDP);
    CHECK_EQ(m->u.resource.filters[0].port_start, 0);
    CHECK_EQ(m->u.resource.filters[0].port_end, 65535);
    free(m);
}

/* Firezone's VecSkipError: candidates that do not parse are skipped and counted. */
static void test_bad_candidates_skipped(void)
{
    struct floe_portal_msg *m = msg_new();
    char reason[128];
    CHECK_EQ(decode_str(m,
                        "{\"topic\":\"client\",\"event\":\"ice_candidates\",\"ref\":null,"
                        "\"payload\":{\"gateway_id\":\"gw-1\",\"candidates\":["
                        "\"candidate:1 1 UDP 2130706431 10.0.0.2 51820 typ host\","
                        "\"candidate:1 1 TCP 2130706431 10.0.0.2 51820 typ host\","
                        "\"garbage\", 17, null]}}",
                        reason),
             0);
    CHECK_EQ(m->type, FLOE_PORTAL_MSG_ICE_CANDIDATES);
    CHECK_STR(m->u.cands.ids[0], "gw-1");
    CHECK_EQ(m->u.cands.n_candidates, 1);
    CHECK_EQ(m->u.cands.n_skipped, 4);
    free(m);
}

struct bad_case {
    const char *json;
    int err;
    const char *reason_has;
};

static const struct bad_case bad_cases[] = {
    {"", FLOE_ERR_MALFORMED, "json"},
    {"{", FLOE_ERR_MALFORMED, "json"},
    {"[]", FLOE_ERR_MALFORMED, "envelope"},
    {"{\"topic\":\"client\",\"event\":\"init\",\"payload\":{},\"ref\":null} x", FLOE_ERR_MALFORMED,
     "json"},
    {"{\"topic\":\"client\",\"topic\":\"client\",\"event\":\"phx_join\",\"payload\":{}}",
     FLOE_ERR_MALFORMED, "json"},
    {"{\"event\":\"phx_join\",\"payload\":{}}", FLOE_ERR_MALFORMED, "topic"},
    {"{\"topic\":\"lobby\",\"event\":\"phx_join\",\"payload\":{}}", FLOE_ERR_UNSUPPORTED,
     "unknown topic 'lobby'"},
    {"{\"topic\":\"client\",\"event\":\"take_over\",\"payload\":{}}", FLOE_ERR_UNSUPPORTED,
     "unknown event 'take_over'"},
    {"{\"topic\":\"client\",\"event\":\"create_authorization\",\"payload\":{}}",
     FLOE_ERR_UNSUPPORTED, "unknown event"},
    {"{\"topic\":\"phoenix\",\"event\":\"init\",\"payload\":{}}", FLOE_ERR_UNSUPPORTED,
     "unknown event"},
    {"{\"topic\":\"client\",\"event\":\"phx_join\",\"payload\":[]}", FLOE_ERR_MALFORMED, "payload"},
    {"{\"topic\":\"client\",\"event\":\"phx_join\",\"payload\":{},\"ref\":7}", FLOE_ERR_MALFORMED,
     "ref"},
    {"{\"topic\":\"client\",\"event\":\"init\",\"payload\":{}}", FLOE_ERR_MALFORMED, "interface"},
    {"{\"topic\":\"client\",\"event\":\"config_changed\",\"payload\":{\"interface\":"
     "{\"ipv4\":\"fd00::1\",\"ipv6\":\"fd00::1\"}}}",
     FLOE_ERR_MALFORMED, "interface.ipv4: not an IPv4"},
    {"{\"topic\":\"client\",\"event\":\"resource_created_or_updated\",\"payload\":{\"id\":\"r\","
     "\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.1/8\"}}",
     FLOE_ERR_MALFORMED, "host bits"},
    {"{\"topic\":\"client\",\"event\":\"resource_created_or_updated\",\"payload\":{\"id\":\"r\","
     "\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/33\"}}",
     FLOE_ERR_MALFORMED, "prefix"},
    {"{\"topic\":\"client\",\"event\":\"resource_created_or_updated\",\"payload\":{\"id\":\"r\","
     "\"type\":\"dns\",\"name\":\"n\",\"address\":\"x.example\"}}",
     FLOE_ERR_MALFORMED, "type"},
    {"{\"topic\":\"client\",\"event\":\"resource_created_or_updated\",\"payload\":{\"id\":\"r r\","
     "\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/8\"}}",
     FLOE_ERR_MALFORMED, "payload.id"},
    {"{\"topic\":\"client\",\"event\":\"resource_created_or_updated\",\"payload\":{\"id\":\"r\","
     "\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/8\",\"filters\":[{\"protocol\":"
     "\"tcp\",\"port_range_start\":9,\"port_range_end\":8}]}}",
     FLOE_ERR_MALFORMED, "port range"},
    {"{\"topic\":\"client\",\"event\":\"resource_created_or_updated\",\"payload\":{\"id\":\"r\","
     "\"type\":\"cidr\",\"name\":\"n\",\"address\":\"10.0.0.0/8\",\"filters\":[{\"protocol\":"
     "\"sctp\"}]}}",
     FLOE_ERR_MALFORMED, "protocol"},
    {"{\"topic\":\"client\",\"event\":\"authorization_creation_failed\",\"payload\":"
     "{\"resource_id\":\"r\",\"reason\":\"a\\nb\"}}",
     FLOE_ERR_MALFORMED, "reason"},
    {"{\"topic\":\"client\",\"event\":\"authorization_creation_failed\",\"payload\":"
     "{\"resource_id\":\"r\\u0000x\",\"reason\":\"x\"}}",
     FLOE_ERR_MALFORMED, "json"},
    {"{\"topic\":\"gateway\",\"event\":\"access_authorization_expiry_updated\",\"payload\":"
     "{\"client_id\":\"c\",\"resource_id\":\"r\",\"expires_at\":-1}}",
     FLOE_ERR_MALFORMED, "expires_at"},
    {"{\"topic\":\"gateway\",\"event\":\"access_authorization_expiry_updated\",\"payload\":"
     "{\"client_id\":\"c\",\"resource_id\":\"r\",\"expires_at\":\"1\"}}",
     FLOE_ERR_MALFORMED, "expires_at"},
    {"{\"topic\":\"gateway\",\"event\":\"broadcast_ice_candidates\",\"payload\":"
     "{\"client_ids\":[],\"candidates\":[]}}",
     FLOE_ERR_MALFORMED, "client_ids: empty"},
    {"{\"topic\":\"gateway\",\"event\":\"ice_candidates\",\"payload\":"
     "{\"gateway_id\":\"g\",\"candidates\":[]}}",
     FLOE_ERR_MALFORMED, "client_id: missing"},
    {"{\"topic\":\"client\",\"event\":\"authorization_created\",\"payload\":{\"resource_id\":"
     "\"r\",\"gateway_id\":\"g\",\"gateway_public_key\":\"AAAA\"}}",
     FLOE_ERR_MALFORMED, "gateway_public_key"},
    {"{\"topic\":\"client\",\"event\":\"relays_presence\",\"payload\":{\"connected\":[{\"id\":"
     "\"x\",\"type\":\"turn\",\"addr\":\"1.2.3.4\",\"username\":\"u\",\"password\":\"p\","
     "\"expires_at\":1}]}}",
     FLOE_ERR_MALFORMED, "addr"},
    {"{\"topic\":\"client\",\"event\":\"phx_reply\",\"payload\":{\"status\":\"maybe\"}}",
     FLOE_ERR_MALFORMED, "status"},
    {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]",
     FLOE_ERR_MALFORMED, "nested"},
};

static void test_bad_input_refused_with_reason(void)
{
    struct floe_portal_msg *m = msg_new();
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        char reason[128] = "unset";
        int rc = decode_str(m, bad_cases[i].json, reason);
        if (rc != bad_cases[i].err || !strstr(reason, bad_cases[i].reason_has))
            fprintf(stderr, "  case %u: rc %d reason \"%s\"\n", (unsigned)i, rc, reason);
        CHECK_EQ(rc, bad_cases[i].err);
        CHECK(strstr(reason, bad_cases[i].reason_has) != NULL);
    }
    CHECK_EQ(floe_portal_msg_decode(NULL, "{}", 2, NULL, 0), FLOE_ERR_INVALID_ARG);
    CHECK_EQ(floe_portal_msg_decode(m, NULL, 2, NULL, 0), FLOE_ERR_INVALID_ARG);
    free(m);
}

/* Limits: over-long strings, too many elements, in decode and encode. */
static void test_limits(void)
{
    struct floe_portal_msg *m = msg_new();
    char *big = malloc(FLOE_PORTAL_JSON_MAX + 64);
    REQUIRE(big);
    /* 33 candidates: one over the limit. */
    int n = sprintf(big, "{\"topic\":\"client\",\"event\":\"ice_candidates\",\"payload\":"
                         "{\"gateway_id\":\"g\",\"candidates\":[");
    for (int i = 0; i < FLOE_PORTAL_CANDIDATES_MAX + 1; i++)
        n += sprintf(big + n, "%s\"%s\"", i ? "," : "", CAND_HOST);
    strcpy(big + n, "]}}");
    char reason[128];
    CHECK_EQ(decode_str(m, big, reason), FLOE_ERR_MALFORMED);
    CHECK(strstr(reason, "too many") != NULL);
    /* A 64-character id: one over. */
    CHECK_EQ(decode_str(m,
                        "{\"topic\":\"gateway\",\"event\":\"authorization_created\",\"payload\":{"
                        "\"ref\":\"0123456789012345678901234567890123456789012345678901234567890123"
                        "\"}}",
                        reason),
             FLOE_ERR_MALFORMED);
    /* Over FLOE_PORTAL_JSON_MAX. */
    memset(big, ' ', FLOE_PORTAL_JSON_MAX + 1);
    CHECK_EQ(floe_portal_msg_decode(m, big, FLOE_PORTAL_JSON_MAX + 1, reason, 128),
             FLOE_ERR_MALFORMED);

    /* The encoder refuses what the decoder would refuse. */
    memset(m, 0, sizeof(*m));
    m->type = FLOE_PORTAL_MSG_NEW_GATEWAY_CANDIDATES;
    m->topic = FLOE_PORTAL_TOPIC_CLIENT;
    fill(m);
    m->u.cands.n_candidates = FLOE_PORTAL_CANDIDATES_MAX + 1;
    CHECK_EQ(floe_portal_msg_encode(m, big, FLOE_PORTAL_JSON_MAX), FLOE_ERR_INVALID_ARG);
    fill(m);
    strcpy(m->u.cands.ids[0], "no spaces");
    CHECK_EQ(floe_portal_msg_encode(m, big, FLOE_PORTAL_JSON_MAX), FLOE_ERR_INVALID_ARG);
    fill(m);
    m->topic = FLOE_PORTAL_TOPIC_GATEWAY; /* not a gateway's message */
    CHECK_EQ(floe_portal_msg_encode(m, big, FLOE_PORTAL_JSON_MAX), FLOE_ERR_INVALID_ARG);
    m->topic = FLOE_PORTAL_TOPIC_CLIENT;
    CHECK_EQ(floe_portal_msg_encode(m, big, 20), FLOE_ERR_BUFFER_TOO_SMALL);
    long len = floe_portal_msg_encode(m, big, FLOE_PORTAL_JSON_MAX);
    CHECK(len > 0);
    CHECK_EQ(floe_portal_msg_encode(m, big, (size_t)len), FLOE_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(floe_portal_msg_encode(m, big, (size_t)len + 1), len);
    free(big);
    free(m);
}

/* Garbage in: random bytes, and random mutations of valid messages, never crash. */
static void test_garbage_never_crashes(void)
{
    struct floe_xoshiro x;
    floe_xoshiro_seed(&x, floe_test_seed() ^ 0x9047a1);
    struct floe_portal_msg *a = msg_new(), *b = msg_new();
    char *buf = malloc(65536);
    REQUIRE(buf);
    int decoded = 0;
    for (int round = 0; round < 3000; round++) {
        int t = 1 + (int)(floe_xoshiro_next(&x) % (FLOE_PORTAL_MSG_COUNT - 1));
        memset(a, 0, sizeof(*a));
        a->type = (enum floe_portal_msg_type)t;
        a->topic = (enum floe_portal_topic)(1 + floe_xoshiro_next(&x) % 3);
        if (!floe_portal_msg_is_valid_on(a->type, a->topic))
            continue;
        fill(a);
        long n = floe_portal_msg_encode(a, buf, 65536);
        REQUIRE(n > 0);
        int flips = 1 + (int)(floe_xoshiro_next(&x) % 4);
        for (int i = 0; i < flips; i++) {
            uint64_t r = floe_xoshiro_next(&x);
            buf[r % (uint64_t)n] = (char)(r >> 32);
        }
        size_t len =
            (size_t)n - (floe_xoshiro_next(&x) % 3 == 0 ? floe_xoshiro_next(&x) % (uint64_t)n : 0);
        decoded += floe_portal_msg_decode(b, buf, len, NULL, 0) == 0;
    }
    for (int round = 0; round < 1000; round++) {
        size_t len = floe_xoshiro_next(&x) % 512;
        for (size_t i = 0; i < len; i++)
            buf[i] = "{}[]\",:0123456789abcdefnulltrue \\"[floe_xoshiro_next(&x) % 33];
        char reason[64];
        int rc = floe_portal_msg_decode(b, buf, len, reason, sizeof(reason));
        CHECK(rc == 0 || rc == FLOE_ERR_MALFORMED || rc == FLOE_ERR_UNSUPPORTED);
    }
    printf("  %d mutated messages still decoded\n", decoded);
    free(buf);
    free(a);
    free(b);
}

int main(void)
{
    FLOE_RUN(test_round_trip_every_message);
    FLOE_RUN(test_decode_documented_examples);
    FLOE_RUN(test_bad_candidates_skipped);
    FLOE_RUN(test_bad_input_refused_with_reason);
    FLOE_RUN(test_limits);
    FLOE_RUN(test_garbage_never_crashes);
    return floe_test_summary();
}
