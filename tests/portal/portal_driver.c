/*
 * portal_driver: plays a Client and a Gateway against a real floe-portal, for the scripts
 * tests/portal/portal_*_test.sh. Each device is a protocol client of libfloe's portal module
 * (struct floe_portal_client: upgrade, join, heartbeats, reconnects) on a TCP socket this
 * program owns; the steps given on the command line run in order and the first that fails
 * prints why and exits 1.
 *
 *   portal_driver --portal ADDR:PORT --client-token T --gateway-token T [--ca-file PEM
 *                 --server-name NAME] STEP...
 *
 * Steps (ROLE is client or gateway):
 *   join ROLE                connect, upgrade, join; the init arrives
 *   init ROLE KEY=N          the last init had N resources (KEY resources) or relays (relays)
 *   same-addresses ROLE      the last init's addresses equal the first init's
 *   heartbeat ROLE           three heartbeats (every 500 ms here), each answered in time
 *   authorize RESOURCE       request_authorization -> create_authorization at the gateway ->
 *                            authorization_created back -> authorization_created at the
 *                            client with the same preshared key and ICE credentials
 *   authorize-gwfirst RESOURCE  as authorize, but the gateway sends a candidate to the client
 *                            right after create_authorization, before it acknowledges: the
 *                            client gets it (the authorization is pending, not refused)
 *   authorize-early RESOURCE the gateway announces its candidates; the request gets
 *                            authorization_created and them before the gateway acknowledges
 *   authorize-fails RESOURCE REASON   authorization_creation_failed with REASON (timeout:
 *                            the gateway does not acknowledge; within 10 s)
 *   ids COMMAND              the devices' ids are the two numbers COMMAND prints (client,
 *                            gateway), not learnt from an authorization
 *   no-cands                 a candidate and an invalidation client -> gateway and gateway ->
 *                            client: none arrives within 700 ms (no live authorization)
 *   quiet                    no candidate message arrives within 700 ms (none held either)
 *   candidates               candidates client -> gateway and gateway -> client (the ids
 *                            come from the last authorize)
 *   invalidate               invalidations both ways
 *   burst N MS               N candidate messages client -> gateway and N gateway -> client
 *                            sent at once, interleaved; each must arrive within MS ms of its
 *                            sending (prints the median and the slowest)
 *   hold-send ROLE           ROLE sends to its peer, which must be connected nowhere now: the
 *                            invalidation of the candidate of the last `candidates` step,
 *                            then four candidates H1..H4 one message each, then the
 *                            invalidation of H2
 *   hold-expect ROLE         ROLE (joined again) gets, from its peer and in this order, the
 *                            invalidation of that candidate, H1, H3, H4 and the invalidation
 *                            of H2 (held in place of H2), and nothing more
 *   expect ROLE EVENT [SECONDS]       an EVENT message arrives (default 10 s)
 *   expect-none ROLE EVENT SECONDS    no EVENT message arrives within SECONDS (those
 *                            that came before the step are dropped)
 *   renewed SECONDS          access_authorization_expiry_updated at the gateway within
 *                            SECONDS for the client and resource of the last authorize, with
 *                            an expires_at in the future and later than the one known
 *   relay-down ROLE ID [SECONDS]      relays_presence with ID among disconnected_ids
 *   relay-up ROLE ID         that relays_presence offered ID among the connected relays
 *   run COMMAND              system(COMMAND) must exit 0
 *   refused TOKEN            a client with TOKEN is refused: 401, final
 *   tls-refused ROLE         the connection fails with a TLS certificate error
 *   drop ROLE                close the connection (no close handshake)
 *   wait-closed ROLE CODE [SECONDS]   the portal closes the connection with close code
 *                            CODE (1001 when it stops cleanly; 1006: no close frame)
 *   rejoin ROLE [SECONDS]    connect the same protocol client again (retrying while the
 *                            portal is unreachable) and join
 *   set-portal ROLE ADDR:PORT         later connections of ROLE go to another instance
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "floe/crypto.h"
#include "floe/portal.h"
#include "floe/portal_wire.h"
#include "floe_io.h"
#include "portal_flush.h"

#define INBOX_MAX 512
#define BURST_MAX 200

struct dev {
    const char *role;
    enum floe_portal_role prole;
    enum floe_portal_topic topic;
    char portal[64];
    char token[256];
    char key[64]; /* WireGuard public key, base64 */
    const char *ca_file, *server_name;
    int fd;
    struct floe_portal_client *pc;
    bool joined, lost, fatal;
    int status;
    char reason[FLOE_PORTAL_REASON_MAX];
    struct floe_portal_msg *inbox[INBOX_MAX];
    size_t n_inbox;
    struct floe_portal_init first_init, last_init;
    bool has_init;
    struct floe_portal_relays_presence last_presence; /* the last relays_presence taken */
};

static struct dev devs[2];

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "portal_driver: FAIL: " __VA_ARGS__);                                      \
        fputc('\n', stderr);                                                                       \
        exit(1);                                                                                   \
    } while (0)

static struct dev *dev_by_role(const char *role)
{
    for (int i = 0; i < 2; i++)
        if (strcmp(devs[i].role, role) == 0)
            return &devs[i];
    FAIL("unknown role '%s'", role);
}

static void dev_flush(struct dev *d)
{
    portal_flush_fd(d->pc, d->fd);
}

static void dev_keep(struct dev *d, const struct floe_portal_msg *m)
{
    struct floe_portal_msg *copy = malloc(sizeof(*copy));

    if (!copy)
        FAIL("out of memory");
    *copy = *m;
    if (m->type == FLOE_PORTAL_MSG_INIT) {
        d->last_init = m->u.init;
        if (!d->has_init)
            d->first_init = m->u.init;
        d->has_init = true;
    }
    if (d->n_inbox == INBOX_MAX)
        FAIL("%s: inbox full", d->role);
    d->inbox[d->n_inbox++] = copy;
}

static void dev_close_fd(struct dev *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

static void dev_events(struct dev *d)
{
    struct floe_portal_client_event ev;

    while (floe_portal_client_poll_event(d->pc, &ev) == 1) {
        switch (ev.kind) {
        case FLOE_PORTAL_EV_JOINED:
            d->joined = true;
            dev_keep(d, ev.msg);
            break;
        case FLOE_PORTAL_EV_MESSAGE:
            dev_keep(d, ev.msg);
            break;
        case FLOE_PORTAL_EV_DISCONNECTED:
        case FLOE_PORTAL_EV_FATAL:
            d->joined = false;
            d->lost = true;
            d->fatal = d->fatal || ev.kind == FLOE_PORTAL_EV_FATAL;
            d->status = ev.status ? ev.status : d->status;
            snprintf(d->reason, sizeof(d->reason), "%s", ev.reason);
            dev_close_fd(d);
            break;
        case FLOE_PORTAL_EV_RECONNECT_AT:
            break;
        }
    }
    dev_flush(d);
}

static void dev_read(struct dev *d)
{
    uint8_t buf[16384];
    ssize_t r = recv(d->fd, buf, sizeof(buf), 0);

    if (r > 0) {
        (void)floe_portal_client_handle_input(d->pc, floe_io_now(), buf, (size_t)r);
    } else if (r == 0 || errno != EAGAIN) {
        (void)floe_portal_client_disconnected(d->pc, floe_io_now());
        dev_close_fd(d);
    }
}

/* Run both devices for up to ms milliseconds, or until done(d, arg) holds. */
static bool pump(struct dev *d, int ms, bool (*done)(struct dev *, const void *), const void *arg)
{
    floe_time end = floe_io_now() + (floe_time)ms * 1000000u;

    while (!done(d, arg)) {
        struct pollfd p[2];
        struct dev *who[2];
        nfds_t n = 0;

        if (floe_io_now() >= end)
            return false;
        for (int i = 0; i < 2; i++)
            if (devs[i].fd >= 0) {
                who[n] = &devs[i];
                p[n++] = (struct pollfd){.fd = devs[i].fd, .events = POLLIN};
            }
        (void)poll(p, n, 20);
        for (nfds_t i = 0; i < n; i++)
            if (p[i].revents & (POLLIN | POLLHUP | POLLERR))
                dev_read(who[i]);
        for (int i = 0; i < 2; i++)
            if (devs[i].pc) {
                floe_portal_client_handle_timeout(devs[i].pc, floe_io_now());
                dev_events(&devs[i]);
            }
    }
    return true;
}

/* ------------------------------------------------------------ connecting */

static int tcp_connect(const char *portal)
{
    struct floe_addr a;
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;

    if (floe_addr_parse(portal, &a) < 0 || floe_io_addr_to_sockaddr(&a, &ss, &len) < 0)
        FAIL("bad portal address %s", portal);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        close(fd);
        return -1;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Forget the connection's outcome and the messages not looked at. */
static void dev_clear(struct dev *d)
{
    d->joined = d->lost = false;
    d->status = 0;
    d->reason[0] = '\0';
    for (size_t i = 0; i < d->n_inbox; i++)
        free(d->inbox[i]);
    d->n_inbox = 0;
}

static void dev_free(struct dev *d)
{
    dev_close_fd(d);
    dev_clear(d);
    floe_portal_client_free(d->pc);
    d->pc = NULL;
}

/* Percent-encode s for a query string. */
static void query_escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;

    for (; *s && n + 4 < cap; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
            out[n++] = *s;
        else
            n += (size_t)snprintf(out + n, cap - n, "%%%02X", (unsigned char)*s);
    }
    out[n] = '\0';
}

/* The protocol client of d with token (made once; reconnects reuse it). */
static void dev_client_new(struct dev *d, const char *token)
{
    struct floe_portal_client_config cfg;
    char path[256], key[128];

    query_escape(key, sizeof(key), d->key);
    snprintf(path, sizeof(path), "/%s/websocket?public_key=%s&name=%s", d->role, key, d->role);
    floe_portal_client_config_default(&cfg);
    cfg.rng = floe_crypto_rng();
    cfg.role = d->prole;
    cfg.host = d->portal;
    cfg.path = path;
    cfg.token = token;
    cfg.tls = d->ca_file != NULL;
    cfg.ca_file = d->ca_file;
    cfg.server_name = d->server_name;
    cfg.heartbeat_interval = FLOE_MS(500);
    if (floe_portal_client_new(&d->pc, &cfg) < 0)
        FAIL("%s: cannot make the protocol client", d->role);
}

static bool is_settled(struct dev *d, const void *arg)
{
    (void)arg;
    return d->joined || d->lost;
}

/* One connection attempt: TCP, then the client's upgrade and join. True when joined. */
static bool dev_connect(struct dev *d)
{
    dev_clear(d);
    d->fd = tcp_connect(d->portal);
    if (d->fd < 0) {
        snprintf(d->reason, sizeof(d->reason), "connect: %s", strerror(errno));
        d->lost = true;
        return false;
    }
    if (floe_portal_client_connect(d->pc, floe_io_now()) < 0)
        FAIL("%s: floe_portal_client_connect refused (state %s)", d->role,
             floe_portal_client_state_name(floe_portal_client_get_state(d->pc)));
    dev_flush(d);
    (void)pump(d, 5000, is_settled, NULL);
    return d->joined;
}

struct want {
    enum floe_portal_msg_type type;
    enum floe_portal_topic topic;
};

static bool has_msg(struct dev *d, const void *arg)
{
    const struct want *w = arg;

    for (size_t i = 0; i < d->n_inbox; i++)
        if (d->inbox[i]->type == w->type && (!w->topic || d->inbox[i]->topic == w->topic))
            return true;
    return d->lost;
}

/* Wait for a message of type (on topic, 0: any) and take it out of the inbox (caller frees). */
static struct floe_portal_msg *expect_msg(struct dev *d, enum floe_portal_msg_type type,
                                          enum floe_portal_topic topic, int ms)
{
    struct want w = {type, topic};

    (void)pump(d, ms, has_msg, &w);
    for (size_t i = 0; i < d->n_inbox; i++) {
        struct floe_portal_msg *m = d->inbox[i];

        if (m->type != type || (topic && m->topic != topic))
            continue;
        memmove(&d->inbox[i], &d->inbox[i + 1], (d->n_inbox - i - 1) * sizeof(m));
        d->n_inbox--;
        return m;
    }
    FAIL("%s: no %s within %d ms%s%s", d->role, floe_portal_msg_event(type), ms,
         d->lost ? "; connection lost: " : "", d->lost ? d->reason : "");
}

static void step_join(struct dev *d)
{
    if (!d->pc)
        dev_client_new(d, d->token);
    if (!dev_connect(d))
        FAIL("%s: not joined: %s (HTTP %d)", d->role, d->reason, d->status);
    free(expect_msg(d, FLOE_PORTAL_MSG_INIT, d->topic, 5000));
    printf("%s joined: %u resources, %u relays\n", d->role, d->last_init.n_resources,
           d->last_init.n_relays);
}

/* The last relays_presence (of relay-down) offered relay id as connected. */
static void step_relay_up(struct dev *d, const char *id)
{
    for (uint32_t j = 0; j < d->last_presence.n_connected; j++)
        if (strcmp(d->last_presence.connected[j].id, id) == 0) {
            printf("%s: relay %s still offered\n", d->role, id);
            return;
        }
    FAIL("%s: relay %s not among the connected relays of the last relays_presence", d->role, id);
}

static bool is_never(struct dev *d, const void *arg)
{
    (void)arg;
    return d->lost;
}

/* Three more heartbeats sent than at the start (the third tick finds the second answered). */
static bool three_heartbeats(struct dev *d, const void *arg)
{
    const struct floe_portal_client_stats *a = arg;
    struct floe_portal_client_stats b;

    floe_portal_client_get_stats(d->pc, &b);
    return d->lost || b.heartbeats_sent >= a->heartbeats_sent + 3;
}

/*
 * Heartbeats go out every 500 ms: three in a row (up to 10 s, for a loaded machine that runs
 * this process late) and none missed (each answered before the next tick); the channel
 * stays up.
 */
static void step_heartbeat(struct dev *d)
{
    struct floe_portal_client_stats a, b;

    floe_portal_client_get_stats(d->pc, &a);
    (void)pump(d, 10000, three_heartbeats, &a);
    floe_portal_client_get_stats(d->pc, &b);
    if (d->lost || b.heartbeats_sent < a.heartbeats_sent + 3 || b.heartbeats_missed)
        FAIL("%s: heartbeats %llu sent, %llu missed%s%s", d->role,
             (unsigned long long)(b.heartbeats_sent - a.heartbeats_sent),
             (unsigned long long)b.heartbeats_missed, d->lost ? ", lost: " : "", d->reason);
    printf("%s: heartbeats answered\n", d->role);
}

/* The devices' protocol ids, learnt from an authorization (each side sees the other's). */
static char client_id[FLOE_PORTAL_ID_MAX], gateway_id[FLOE_PORTAL_ID_MAX];
static char resource_id[FLOE_PORTAL_ID_MAX];
static uint64_t last_expiry; /* of the last authorize's authorization */

static void send_cands(struct dev *d, bool invalidate, const char *peer, const char *cand);
static const char *cand_of(const struct dev *sender, int k);
static void check_cands(struct floe_portal_msg *m, const char *from, const char *cand);

/* early: the gateway sends a candidate to the client before it acknowledges. */
static void step_authorize(const char *resource, bool early)
{
    struct dev *c = dev_by_role("client"), *g = dev_by_role("gateway");
    struct floe_portal_msg *ca, *ac;
    char ref[FLOE_PORTAL_ID_MAX];

    if (floe_portal_client_request_authorization(c->pc, floe_io_now(), resource, NULL) < 0)
        FAIL("client: cannot request an authorization");
    dev_flush(c);
    ca = expect_msg(g, FLOE_PORTAL_MSG_CREATE_AUTHORIZATION, 0, 5000);
    if (strcmp(ca->u.create.resource.id, resource) != 0)
        FAIL("create_authorization for resource %s, expected %s", ca->u.create.resource.id,
             resource);
    snprintf(ref, sizeof(ref), "%s", ca->u.create.ref);
    if (early)
        send_cands(g, false, ca->u.create.client.id, cand_of(g, 0));
    if (floe_portal_client_authorization_created(g->pc, floe_io_now(), ref) < 0)
        FAIL("gateway: cannot acknowledge the authorization");
    dev_flush(g);
    ac = expect_msg(c, FLOE_PORTAL_MSG_AUTHORIZATION_CREATED, 0, 5000);
    if (strcmp(ac->u.created.resource_id, resource) != 0 ||
        memcmp(ac->u.created.preshared_key, ca->u.create.client.preshared_key, 32) != 0 ||
        strcmp(ac->u.created.client_ice.username, ca->u.create.client_ice.username) != 0 ||
        strcmp(ac->u.created.gateway_ice.password, ca->u.create.gateway_ice.password) != 0)
        FAIL("the client's authorization_created does not match the gateway's "
             "create_authorization");
    if (strcmp(ac->u.created.client_ice.username, ac->u.created.gateway_ice.username) == 0)
        FAIL("both sides got the same ICE username");
    snprintf(client_id, sizeof(client_id), "%s", ca->u.create.client.id);
    snprintf(gateway_id, sizeof(gateway_id), "%s", ac->u.created.gateway_id);
    if (early)
        check_cands(expect_msg(c, FLOE_PORTAL_MSG_ICE_CANDIDATES, FLOE_PORTAL_TOPIC_CLIENT, 5000),
                    gateway_id, cand_of(g, 0));
    snprintf(resource_id, sizeof(resource_id), "%s", resource);
    last_expiry = ca->u.create.expires_at;
    printf("authorized resource %s through gateway %s (ref %s)\n", resource,
           ac->u.created.gateway_id, ref);
    free(ca);
    free(ac);
}

/* For pump: run the whole time given. */
static bool never(struct dev *d, const void *arg)
{
    (void)d;
    (void)arg;
    return false;
}

/* The gateway's own candidates, as a gateway announces them (gateway_ice_candidates). */
static const char *const early_cands[2] = {
    "candidate:1 1 UDP 2130706431 10.9.0.2 51820 typ host",
    "candidate:2 1 UDP 16777215 192.0.2.7 40001 typ relay raddr 192.0.2.7 rport 40001",
};

/*
 * The early answer (docs/protocol.md): the gateway announced its candidates; the client's
 * request gets authorization_created and those candidates as ice_candidates from the gateway
 * while the gateway has not acknowledged create_authorization yet; the acknowledgement sends
 * nothing more to the client.
 */
static void step_authorize_early(const char *resource)
{
    struct dev *c = dev_by_role("client"), *g = dev_by_role("gateway");
    struct floe_portal_msg *m = calloc(1, sizeof(*m)), *ca, *ac, *ic;

    if (!m)
        FAIL("out of memory");
    m->type = FLOE_PORTAL_MSG_GATEWAY_CANDIDATES;
    m->u.cands.n_candidates = 2;
    for (int i = 0; i < 2; i++)
        snprintf(m->u.cands.candidates[i], FLOE_PORTAL_CANDIDATE_MAX, "%s", early_cands[i]);
    if (floe_portal_client_send(g->pc, floe_io_now(), m, NULL) < 0)
        FAIL("gateway: cannot announce its candidates");
    dev_flush(g);
    (void)pump(g, 200, never, NULL); /* the portal has them before the request */
    if (floe_portal_client_request_authorization(c->pc, floe_io_now(), resource, NULL) < 0)
        FAIL("client: cannot request an authorization");
    dev_flush(c);
    ac = expect_msg(c, FLOE_PORTAL_MSG_AUTHORIZATION_CREATED, 0, 5000);
    ic = expect_msg(c, FLOE_PORTAL_MSG_ICE_CANDIDATES, 0, 5000);
    ca = expect_msg(g, FLOE_PORTAL_MSG_CREATE_AUTHORIZATION, 0, 5000);
    if (strcmp(ac->u.created.resource_id, resource) != 0 ||
        memcmp(ac->u.created.preshared_key, ca->u.create.client.preshared_key, 32) != 0)
        FAIL("the early authorization_created does not match create_authorization");
    if (ic->u.cands.n_candidates != 2 || strcmp(ic->u.cands.ids[0], ac->u.created.gateway_id) ||
        strcmp(ic->u.cands.candidates[1], early_cands[1]) != 0)
        FAIL("the early answer's candidates are not the gateway's announced ones");
    if (floe_portal_client_authorization_created(g->pc, floe_io_now(), ca->u.create.ref) < 0)
        FAIL("gateway: cannot acknowledge the authorization");
    dev_flush(g);
    (void)pump(c, 500, never, NULL);
    for (size_t i = 0; i < c->n_inbox; i++)
        if (c->inbox[i]->type == FLOE_PORTAL_MSG_AUTHORIZATION_CREATED)
            FAIL("a second authorization_created after the gateway's acknowledgement");
    printf("early answer for resource %s: authorization_created and %u candidates before the "
           "gateway's acknowledgement\n",
           resource, ic->u.cands.n_candidates);
    free(m);
    free(ca);
    free(ac);
    free(ic);
}

static void step_authorize_fails(const char *resource, const char *reason)
{
    struct dev *c = dev_by_role("client");
    struct floe_portal_msg *f;

    if (floe_portal_client_request_authorization(c->pc, floe_io_now(), resource, NULL) < 0)
        FAIL("client: cannot request an authorization");
    dev_flush(c);
    f = expect_msg(c, FLOE_PORTAL_MSG_AUTHORIZATION_FAILED, 0,
                   strcmp(reason, "timeout") == 0 ? 10000 : 5000);
    if (strcmp(f->u.failed.reason, reason) != 0)
        FAIL("authorization_creation_failed reason '%s', expected '%s'", f->u.failed.reason,
             reason);
    printf("resource %s refused: %s\n", resource, reason);
    free(f);
}

static void check_cands(struct floe_portal_msg *m, const char *from, const char *cand)
{
    if (m->u.cands.n_ids != 1 || strcmp(m->u.cands.ids[0], from) != 0 ||
        m->u.cands.n_candidates != 1 || strcmp(m->u.cands.candidates[0], cand) != 0)
        FAIL("%s from '%s' with %u candidates ('%s'), expected from '%s' '%s'",
             floe_portal_msg_event(m->type), m->u.cands.n_ids ? m->u.cands.ids[0] : "",
             m->u.cands.n_candidates, m->u.cands.n_candidates ? m->u.cands.candidates[0] : "", from,
             cand);
    free(m);
}

/* The candidates of the `candidates` step and H1..H4 of the hold steps, by sender. */
static const char *cand_of(const struct dev *sender, int k)
{
    static char buf[8][128];
    bool client = sender->prole == FLOE_PORTAL_ROLE_CLIENT;
    char *b = buf[(client ? 0 : 4) + k % 4];

    if (k == 0)
        return client ? "candidate:1 1 UDP 2130706431 192.0.2.10 50000 typ host"
                      : "candidate:2 1 UDP 1694498815 198.51.100.20 41000 typ srflx raddr "
                        "10.0.0.2 rport 41000";
    snprintf(b, 128, "candidate:%d 1 UDP 2130706431 %s %d typ host", 10 + k,
             client ? "192.0.2.11" : "198.51.100.21", 52000 + k);
    return b;
}

static void send_cands(struct dev *d, bool invalidate, const char *peer, const char *cand)
{
    const char *ids[1] = {peer}, *cands[1] = {cand};

    if (floe_portal_client_send_candidates(d->pc, floe_io_now(), invalidate, ids, 1, cands, 1) < 0)
        FAIL("%s: cannot send candidates", d->role);
    dev_flush(d);
}

static void step_candidates(bool invalidate)
{
    struct dev *c = dev_by_role("client"), *g = dev_by_role("gateway");
    const char *cc = cand_of(c, 0), *gc = cand_of(g, 0);
    enum floe_portal_msg_type got =
        invalidate ? FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES : FLOE_PORTAL_MSG_ICE_CANDIDATES;

    send_cands(c, invalidate, gateway_id, cc);
    check_cands(expect_msg(g, got, FLOE_PORTAL_TOPIC_GATEWAY, 5000), client_id, cc);
    send_cands(g, invalidate, client_id, gc);
    check_cands(expect_msg(c, got, FLOE_PORTAL_TOPIC_CLIENT, 5000), gateway_id, gc);
    printf("%s relayed both ways\n", invalidate ? "invalidations" : "candidates");
}

static void step_ids(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    int n = f ? fscanf(f, "%63s %63s", client_id, gateway_id) : 0;

    if (f)
        (void)pclose(f);
    if (n != 2)
        FAIL("'%s' did not print the client's and the gateway's ids", cmd);
    printf("ids: client %s, gateway %s\n", client_id, gateway_id);
}

static bool has_cands(struct dev *d, const void *arg)
{
    (void)d;
    (void)arg;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < devs[k].n_inbox; i++)
            if (devs[k].inbox[i]->type == FLOE_PORTAL_MSG_ICE_CANDIDATES ||
                devs[k].inbox[i]->type == FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES)
                return true;
    return devs[0].lost || devs[1].lost;
}

/* Nothing held or sent is delivered to either device. */
static void step_quiet(void)
{
    if (pump(&devs[0], 700, has_cands, NULL))
        FAIL("a candidate message arrived%s%s%s", devs[0].lost || devs[1].lost ? " (lost: " : "",
             devs[0].reason, devs[1].reason);
    printf("no candidates arrived\n");
}

/* Drop the candidate messages in both inboxes (earlier steps' repeats after a rejoin). */
static void drop_cands(void)
{
    (void)pump(&devs[0], 200, is_never, NULL);
    for (int k = 0; k < 2; k++) {
        size_t kept = 0;

        for (size_t i = 0; i < devs[k].n_inbox; i++) {
            enum floe_portal_msg_type t = devs[k].inbox[i]->type;

            if (t == FLOE_PORTAL_MSG_ICE_CANDIDATES || t == FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES)
                free(devs[k].inbox[i]);
            else
                devs[k].inbox[kept++] = devs[k].inbox[i];
        }
        devs[k].n_inbox = kept;
    }
}

/* Candidates both ways between devices that share no live authorization: none arrives. */
static void step_no_cands(void)
{
    struct dev *c = dev_by_role("client"), *g = dev_by_role("gateway");

    drop_cands();
    send_cands(c, false, gateway_id, cand_of(c, 0));
    send_cands(c, true, gateway_id, cand_of(c, 0));
    send_cands(g, false, client_id, cand_of(g, 0));
    send_cands(g, true, client_id, cand_of(g, 0));
    if (pump(c, 700, has_cands, NULL)) {
        const struct dev *to = c->n_inbox ? c : g;

        FAIL("%s: %s delivered without a live authorization%s%s%s", to->role,
             to->n_inbox ? floe_portal_msg_event(to->inbox[0]->type) : "nothing",
             c->lost || g->lost ? " (connection lost: " : "", c->reason, g->reason);
    }
    printf("candidates refused both ways\n");
}

/* The candidates of a burst: sent when, received when (0: not yet), by direction and index. */
struct burst {
    unsigned n;
    floe_time sent[2][BURST_MAX], got[2][BURST_MAX];
    unsigned n_got;
};

/* Take the ice_candidates of a burst out of both inboxes, with their arrival time. */
static bool burst_take(struct dev *d, const void *arg)
{
    struct burst *b = (struct burst *)arg;
    floe_time now = floe_io_now();

    (void)d;
    for (int k = 0; k < 2; k++) {
        struct dev *x = &devs[k];
        size_t kept = 0;

        for (size_t i = 0; i < x->n_inbox; i++) {
            struct floe_portal_msg *m = x->inbox[i];
            unsigned dir, idx;

            if (m->type != FLOE_PORTAL_MSG_ICE_CANDIDATES || m->u.cands.n_candidates != 1 ||
                sscanf(m->u.cands.candidates[0], "candidate:%1u%3u", &dir, &idx) != 2 || dir < 1 ||
                dir > 2 || idx >= b->n || b->got[dir - 1][idx]) {
                x->inbox[kept++] = m;
                continue;
            }
            b->got[dir - 1][idx] = now;
            b->n_got++;
            free(m);
        }
        x->n_inbox = kept;
    }
    return b->n_got == 2 * b->n || devs[0].lost || devs[1].lost;
}

static int cmp_time(const void *a, const void *b)
{
    floe_time x = *(const floe_time *)a, y = *(const floe_time *)b;

    return x < y ? -1 : x > y;
}

/* Candidate foundations 1III (client -> gateway) and 2III (gateway -> client). */
static void step_burst(unsigned n, int ms)
{
    static struct burst b;
    struct dev *c = dev_by_role("client"), *g = dev_by_role("gateway");
    floe_time lat[2 * BURST_MAX];
    char cand[128];

    if (n == 0 || n > BURST_MAX)
        FAIL("burst: 1-%d messages", BURST_MAX);
    memset(&b, 0, sizeof(b));
    b.n = n;
    for (unsigned i = 0; i < n; i++)
        for (unsigned dir = 1; dir <= 2; dir++) {
            snprintf(cand, sizeof(cand), "candidate:%u%03u 1 UDP 2130706431 192.0.2.%u %u typ host",
                     dir, i, dir, 40000 + i);
            b.sent[dir - 1][i] = floe_io_now();
            send_cands(dir == 1 ? c : g, false, dir == 1 ? gateway_id : client_id, cand);
        }
    (void)pump(c, ms + 5000, burst_take, &b);
    for (unsigned dir = 0; dir < 2; dir++)
        for (unsigned i = 0; i < n; i++) {
            if (!b.got[dir][i])
                FAIL("burst: message %u %s never arrived", i,
                     dir ? "gateway -> client" : "client -> gateway");
            lat[dir * n + i] = b.got[dir][i] - b.sent[dir][i];
        }
    qsort(lat, 2 * n, sizeof(*lat), cmp_time);
    printf("burst: %u messages each way, median %.2f ms, slowest %.2f ms\n", n,
           (double)lat[n] / 1e6, (double)lat[2 * n - 1] / 1e6);
    if (lat[2 * n - 1] > (floe_time)ms * 1000000u)
        FAIL("burst: the slowest message took %.2f ms (bound %d ms)", (double)lat[2 * n - 1] / 1e6,
             ms);
}

/* The peer of d, its protocol id as d knows it. */
static const char *peer_id_of(const struct dev *d)
{
    return d->prole == FLOE_PORTAL_ROLE_CLIENT ? gateway_id : client_id;
}

/* d sends while its peer is connected nowhere: the portal holds it all. */
static void step_hold_send(struct dev *d)
{
    send_cands(d, true, peer_id_of(d), cand_of(d, 0));
    for (int k = 1; k <= 4; k++)
        send_cands(d, false, peer_id_of(d), cand_of(d, k));
    send_cands(d, true, peer_id_of(d), cand_of(d, 2));
    (void)pump(d, 300, is_never, NULL);
    printf("%s sent 6 candidate messages to its absent peer\n", d->role);
}

/* The candidate messages in d's inbox, flattened: "+CAND" or "-CAND" per candidate. */
static size_t held_seen(struct dev *d, char (*seen)[160], size_t cap, const char *from)
{
    size_t n = 0;

    for (size_t i = 0; i < d->n_inbox; i++) {
        const struct floe_portal_msg *m = d->inbox[i];
        bool inv = m->type == FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES;

        if (!inv && m->type != FLOE_PORTAL_MSG_ICE_CANDIDATES)
            continue;
        if (m->u.cands.n_ids != 1 || strcmp(m->u.cands.ids[0], from) != 0)
            FAIL("%s: candidates from '%s', expected from '%s'", d->role, m->u.cands.ids[0], from);
        for (uint32_t j = 0; j < m->u.cands.n_candidates && n < cap; j++)
            snprintf(seen[n++], 160, "%c%.150s", inv ? '-' : '+', m->u.cands.candidates[j]);
    }
    return n;
}

static bool has_5_cands(struct dev *d, const void *arg)
{
    char seen[8][160];

    return d->lost || held_seen(d, seen, 8, arg) >= 5;
}

/* d joined again and gets what its peer sent meanwhile, in order, and nothing more. */
static void step_hold_expect(struct dev *d)
{
    const struct dev *peer =
        dev_by_role(d->prole == FLOE_PORTAL_ROLE_CLIENT ? "gateway" : "client");
    const char *from = peer_id_of(d);
    char seen[8][160], want[5][160];
    size_t n;

    snprintf(want[0], 160, "-%.150s", cand_of(peer, 0));
    snprintf(want[1], 160, "+%.150s", cand_of(peer, 1));
    snprintf(want[2], 160, "+%.150s", cand_of(peer, 3));
    snprintf(want[3], 160, "+%.150s", cand_of(peer, 4));
    snprintf(want[4], 160, "-%.150s", cand_of(peer, 2));
    (void)pump(d, 5000, has_5_cands, from);
    (void)pump(d, 500, is_never, NULL); /* anything more would come now */
    n = held_seen(d, seen, 8, from);
    for (size_t i = 0; i < 5 || i < n; i++)
        if (i >= 5 || i >= n || strcmp(seen[i], want[i]) != 0)
            FAIL("%s: held candidate %zu is '%s', expected '%s' (%zu received)", d->role, i,
                 i < n ? seen[i] : "(none)", i < 5 ? want[i] : "(none)", n);
    for (size_t i = 0, kept = 0, all = d->n_inbox; i < all; i++) { /* looked at: taken out */
        enum floe_portal_msg_type t = d->inbox[i]->type;

        if (t == FLOE_PORTAL_MSG_ICE_CANDIDATES || t == FLOE_PORTAL_MSG_INVALIDATE_CANDIDATES) {
            free(d->inbox[i]);
            d->n_inbox--;
        } else {
            d->inbox[kept++] = d->inbox[i];
        }
    }
    printf("%s got the 5 held candidates and invalidations in order\n", d->role);
}

/*
 * The next access_authorization_expiry_updated at the gateway that extends the last authorize's
 * authorization (an expiry not later than the one known is skipped: a gateway's join repeats
 * the current one).
 */
static void step_renewed(int seconds)
{
    struct dev *g = dev_by_role("gateway");
    floe_time end = floe_io_now() + (floe_time)seconds * 1000000000u;

    for (;;) {
        int ms = floe_io_now() < end ? (int)((end - floe_io_now()) / 1000000) + 1 : 1;
        struct floe_portal_msg *m = expect_msg(g, FLOE_PORTAL_MSG_EXPIRY_UPDATED, 0, ms);
        time_t now = time(NULL);

        if (strcmp(m->u.access.client_id, client_id) != 0 ||
            strcmp(m->u.access.resource_id, resource_id) != 0)
            FAIL("expiry_updated for client %s resource %s, expected %s %s", m->u.access.client_id,
                 m->u.access.resource_id, client_id, resource_id);
        if (m->u.access.expires_at > last_expiry) {
            if (m->u.access.expires_at <= (uint64_t)now)
                FAIL("expiry_updated to %llu, not after now (%lld)",
                     (unsigned long long)m->u.access.expires_at, (long long)now);
            printf("gateway: authorization renewed until %llu (now %lld)\n",
                   (unsigned long long)m->u.access.expires_at, (long long)now);
            last_expiry = m->u.access.expires_at;
            free(m);
            return;
        }
        free(m);
    }
}

/* Take the messages of type out of d's inbox: how many there were. */
static size_t drop_type(struct dev *d, enum floe_portal_msg_type type)
{
    size_t kept = 0, n = d->n_inbox;

    for (size_t i = 0; i < n; i++) {
        if (d->inbox[i]->type == type)
            free(d->inbox[i]);
        else
            d->inbox[kept++] = d->inbox[i];
    }
    d->n_inbox = kept;
    return n - kept;
}

static void step_expect_none(struct dev *d, enum floe_portal_msg_type type, int seconds)
{
    struct want w = {type, d->topic};

    (void)drop_type(d, type);
    if (pump(d, seconds * 1000, has_msg, &w) && drop_type(d, type) > 0)
        FAIL("%s: unexpected %s", d->role, floe_portal_msg_event(type));
    if (d->lost)
        FAIL("%s: connection lost: %s", d->role, d->reason);
    printf("%s got no %s in %d s\n", d->role, floe_portal_msg_event(type), seconds);
}

static enum floe_portal_msg_type type_by_event(const char *event, enum floe_portal_topic topic)
{
    for (int t = 1; t < FLOE_PORTAL_MSG_COUNT; t++)
        if (strcmp(floe_portal_msg_event((enum floe_portal_msg_type)t), event) == 0 &&
            floe_portal_msg_is_valid_on((enum floe_portal_msg_type)t, topic))
            return (enum floe_portal_msg_type)t;
    FAIL("unknown event %s", event);
}

static void step_relay_down(struct dev *d, const char *id, int seconds)
{
    floe_time end = floe_io_now() + (floe_time)seconds * 1000000000u;

    while (floe_io_now() < end) {
        struct floe_portal_msg *m = expect_msg(d, FLOE_PORTAL_MSG_RELAYS_PRESENCE, 0,
                                               (int)((end - floe_io_now()) / 1000000) + 1);

        d->last_presence = m->u.relays;
        for (uint32_t i = 0; i < m->u.relays.n_disconnected; i++)
            if (strcmp(m->u.relays.disconnected_ids[i], id) == 0) {
                for (uint32_t j = 0; j < m->u.relays.n_connected; j++)
                    if (strcmp(m->u.relays.connected[j].id, id) == 0)
                        FAIL("relay %s both connected and disconnected", id);
                printf("%s told relay %s is down\n", d->role, id);
                free(m);
                return;
            }
        free(m);
    }
    FAIL("%s: no relays_presence with relay %s down", d->role, id);
}

static void step_rejoin(struct dev *d, int seconds)
{
    floe_time end = floe_io_now() + (floe_time)seconds * 1000000000u;

    while (!dev_connect(d)) {
        if (floe_io_now() >= end)
            FAIL("%s: cannot reconnect within %d s: %s", d->role, seconds, d->reason);
        dev_close_fd(d);
        if (floe_portal_client_get_state(d->pc) != FLOE_PORTAL_CLIENT_WAITING)
            (void)floe_portal_client_disconnected(d->pc, floe_io_now());
        dev_events(d);
        usleep(200000);
    }
    free(expect_msg(d, FLOE_PORTAL_MSG_INIT, d->topic, 5000));
    printf("%s joined again: %u resources, %u relays\n", d->role, d->last_init.n_resources,
           d->last_init.n_relays);
}

static void step_wait_closed(struct dev *d, const char *code, int seconds)
{
    char want[32];

    if (!pump(d, seconds * 1000, is_never, NULL))
        FAIL("%s: the portal did not close the connection", d->role);
    snprintf(want, sizeof(want), "code %s", code);
    /* 1006: no close frame, the connection just ended */
    if (!strstr(d->reason, want) &&
        !(strcmp(code, "1006") == 0 && strstr(d->reason, "closed by the peer")))
        FAIL("%s: closed (%s), expected close code %s", d->role, d->reason, code);
    printf("%s: %s\n", d->role, d->reason);
}

static void step_same_addresses(struct dev *d)
{
    if (!floe_addr_eq(&d->first_init.interface.ipv4, &d->last_init.interface.ipv4) ||
        !floe_addr_eq(&d->first_init.interface.ipv6, &d->last_init.interface.ipv6))
        FAIL("%s: tunnel addresses changed across reconnects", d->role);
    printf("%s kept its tunnel addresses\n", d->role);
}

static void step_init(struct dev *d, const char *kv)
{
    unsigned n;

    if (sscanf(kv, "resources=%u", &n) == 1) {
        if (d->last_init.n_resources != n)
            FAIL("%s: init had %u resources, expected %u", d->role, d->last_init.n_resources, n);
        return;
    }
    if (sscanf(kv, "relays=%u", &n) == 1) {
        if (d->last_init.n_relays != n)
            FAIL("%s: init had %u relays, expected %u", d->role, d->last_init.n_relays, n);
        for (uint32_t i = 0; i < d->last_init.n_relays; i++)
            if (!strchr(d->last_init.relays[i].username, ':') ||
                !d->last_init.relays[i].password[0])
                FAIL("%s: relay without REST credentials", d->role);
        return;
    }
    FAIL("init: expected resources=N or relays=N, got %s", kv);
}

/* A client with token is refused for good: 401 and the final event. */
static void step_refused(const char *token)
{
    struct dev *c = dev_by_role("client");
    struct floe_portal_client *keep = c->pc;

    c->pc = NULL;
    dev_close_fd(c);
    dev_client_new(c, token);
    if (dev_connect(c))
        FAIL("a client with token '%s' joined", token);
    if (!c->fatal || c->status != 401)
        FAIL("a wrong token: %s (HTTP %d, %s), expected 401 and final", c->reason, c->status,
             c->fatal ? "final" : "not final");
    printf("wrong token refused: HTTP 401, final (%s)\n", c->reason);
    dev_free(c);
    c->pc = keep;
    c->fatal = false;
}

static void step_tls_refused(struct dev *d)
{
    if (!d->pc)
        dev_client_new(d, d->token);
    if (dev_connect(d))
        FAIL("%s: the TLS connection was accepted", d->role);
    if (!strstr(d->reason, "TLS") && !strstr(d->reason, "certificate"))
        FAIL("%s: expected a TLS certificate error, got '%s'", d->role, d->reason);
    printf("%s refused the portal's certificate: %s\n", d->role, d->reason);
}

/* A step's word and up to three arguments (NULL when absent). */
struct step {
    const char *s, *a1, *a2, *a3;
    bool num2, num3; /* a2, a3 are numbers */
};

/* The connection steps; 0 when s is none of them. */
static int run_conn_step(const struct step *t)
{
    if (strcmp(t->s, "refused") == 0)
        return step_refused(t->a1), 2;
    if (strcmp(t->s, "tls-refused") == 0)
        return step_tls_refused(dev_by_role(t->a1)), 2;
    if (strcmp(t->s, "drop") == 0) {
        struct dev *d = dev_by_role(t->a1);

        (void)floe_portal_client_disconnected(d->pc, floe_io_now());
        dev_close_fd(d);
        dev_events(d);
        return 2;
    }
    if (strcmp(t->s, "wait-closed") == 0 && t->num2)
        return step_wait_closed(dev_by_role(t->a1), t->a2, t->num3 ? atoi(t->a3) : 10),
               t->num3 ? 4 : 3;
    if (strcmp(t->s, "rejoin") == 0)
        return step_rejoin(dev_by_role(t->a1), t->num2 ? atoi(t->a2) : 20), t->num2 ? 3 : 2;
    if (strcmp(t->s, "set-portal") == 0 && t->a2) {
        snprintf(dev_by_role(t->a1)->portal, sizeof(devs[0].portal), "%s", t->a2);
        return 3;
    }
    if (strcmp(t->s, "run") == 0) {
        if (system(t->a1) != 0)
            FAIL("'%s' failed", t->a1);
        return 2;
    }
    return 0;
}

/* The message steps; 0 when s is none of them. */
static int run_msg_step(const struct step *t)
{
    if (strcmp(t->s, "init") == 0 && t->a2)
        return step_init(dev_by_role(t->a1), t->a2), 3;
    if (strcmp(t->s, "same-addresses") == 0)
        return step_same_addresses(dev_by_role(t->a1)), 2;
    if (strcmp(t->s, "heartbeat") == 0)
        return step_heartbeat(dev_by_role(t->a1)), 2;
    if (strcmp(t->s, "authorize") == 0 || strcmp(t->s, "authorize-gwfirst") == 0)
        return step_authorize(t->a1, strcmp(t->s, "authorize-gwfirst") == 0), 2;
    if (strcmp(t->s, "authorize-early") == 0)
        return step_authorize_early(t->a1), 2;
    if (strcmp(t->s, "ids") == 0)
        return step_ids(t->a1), 2;
    if (strcmp(t->s, "burst") == 0 && t->num2)
        return step_burst((unsigned)atoi(t->a1), atoi(t->a2)), 3;
    if (strcmp(t->s, "authorize-fails") == 0 && t->a2)
        return step_authorize_fails(t->a1, t->a2), 3;
    if (strcmp(t->s, "expect") == 0 && t->a2) {
        struct dev *d = dev_by_role(t->a1);
        int ms = t->num3 ? atoi(t->a3) * 1000 : 10000;

        free(expect_msg(d, type_by_event(t->a2, d->topic), d->topic, ms));
        printf("%s got %s\n", t->a1, t->a2);
        return t->num3 ? 4 : 3;
    }
    if (strcmp(t->s, "expect-none") == 0 && t->num3) {
        struct dev *d = dev_by_role(t->a1);

        return step_expect_none(d, type_by_event(t->a2, d->topic), atoi(t->a3)), 4;
    }
    if (strcmp(t->s, "renewed") == 0 && t->a1[0] >= '0' && t->a1[0] <= '9')
        return step_renewed(atoi(t->a1)), 2;
    if (strcmp(t->s, "hold-send") == 0)
        return step_hold_send(dev_by_role(t->a1)), 2;
    if (strcmp(t->s, "hold-expect") == 0)
        return step_hold_expect(dev_by_role(t->a1)), 2;
    if (strcmp(t->s, "relay-up") == 0)
        return step_relay_up(dev_by_role(t->a1), t->a2 ? t->a2 : ""), 3;
    if (strcmp(t->s, "relay-down") == 0 && t->a2)
        return step_relay_down(dev_by_role(t->a1), t->a2, t->num3 ? atoi(t->a3) : 10),
               t->num3 ? 4 : 3;
    return 0;
}

/* Run the step at argv[i]; returns how many arguments it took. */
static int run_step(int argc, char **argv, int i)
{
    struct step t = {.s = argv[i]};
    int n;

    t.a1 = i + 1 < argc ? argv[i + 1] : NULL;
    t.a2 = i + 2 < argc ? argv[i + 2] : NULL;
    t.a3 = i + 3 < argc ? argv[i + 3] : NULL;
    t.num2 = t.a2 && t.a2[0] >= '0' && t.a2[0] <= '9';
    t.num3 = t.a3 && t.a3[0] >= '0' && t.a3[0] <= '9';
    if (strcmp(t.s, "candidates") == 0 || strcmp(t.s, "invalidate") == 0)
        return step_candidates(strcmp(t.s, "invalidate") == 0), 1;
    if (strcmp(t.s, "no-cands") == 0)
        return step_no_cands(), 1;
    if (strcmp(t.s, "quiet") == 0)
        return step_quiet(), 1;
    if (!t.a1)
        FAIL("step %s needs an argument", t.s);
    if (strcmp(t.s, "join") == 0)
        return step_join(dev_by_role(t.a1)), 2;
    n = run_msg_step(&t);
    if (n == 0)
        n = run_conn_step(&t);
    if (n == 0)
        FAIL("unknown step '%s'", t.s);
    return n;
}

static void dev_init(struct dev *d, const char *role, enum floe_portal_role prole,
                     enum floe_portal_topic topic)
{
    uint8_t priv[32];

    d->role = role;
    d->prole = prole;
    d->topic = topic;
    d->fd = -1;
    if (floe_crypto_random(priv, sizeof(priv)) < 0 ||
        floe_base64_encode(d->key, sizeof(d->key), priv, sizeof(priv)) < 0)
        FAIL("no randomness");
}

int main(int argc, char **argv)
{
    int i = 1;

    dev_init(&devs[0], "client", FLOE_PORTAL_ROLE_CLIENT, FLOE_PORTAL_TOPIC_CLIENT);
    dev_init(&devs[1], "gateway", FLOE_PORTAL_ROLE_GATEWAY, FLOE_PORTAL_TOPIC_GATEWAY);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        for (int k = 0; k < 2; k++) {
            if (strcmp(argv[i], "--portal") == 0)
                snprintf(devs[k].portal, sizeof(devs[k].portal), "%s", argv[i + 1]);
            else if (strcmp(argv[i], "--ca-file") == 0)
                devs[k].ca_file = argv[i + 1];
            else if (strcmp(argv[i], "--server-name") == 0)
                devs[k].server_name = argv[i + 1];
        }
        if (strcmp(argv[i], "--client-token") == 0)
            snprintf(devs[0].token, sizeof(devs[0].token), "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--gateway-token") == 0)
            snprintf(devs[1].token, sizeof(devs[1].token), "%s", argv[i + 1]);
    }
    while (i < argc)
        i += run_step(argc, argv, i);
    printf("portal_driver: all steps passed\n");
    for (int k = 0; k < 2; k++)
        dev_free(&devs[k]);
    return 0;
}
