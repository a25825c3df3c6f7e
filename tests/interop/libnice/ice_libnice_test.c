/*
 * Interop: floe's ICE agent against libnice's NiceAgent (a GLib ICE agent no
 * one here wrote), in one process over real UDP on loopback.
 *
 * One GMainContext drives both: libnice runs on it as usual; floe's sans-IO
 * agent is driven from a socket watch on floe's UDP socket (readable ->
 * floe_ice_handle_input) and a one-shot timeout re-armed from
 * floe_ice_poll_timeout, draining poll_transmit and poll_event after every
 * input, timeout and command (DESIGN.md section 2). Candidates and credentials
 * are exchanged in-process both ways ("new-candidate-full" ->
 * floe_ice_add_remote_candidate; floe's host candidate ->
 * nice_agent_set_remote_candidates).
 *
 * Each case: both agents connect within 10 s, 100 application messages go
 * each way over the selected pair (anything that is not STUN on floe's socket
 * is application data), then consent freshness runs both ways for a while
 * and both agents must stay connected with every consent check answered.
 * Consent runs long enough to require checks both ways in every case: floe's
 * every 0.8..1.2 s, libnice's every 4..6 s (RFC 7675), so 6.5 s for the
 * variants (libnice's aggressive nomination, the eight role-conflict paths,
 * an ICE restart of both agents) and 10 s for the two plain role combinations;
 * a minimum count is asserted both ways.
 * libnice runs RFC 5245 compatibility, full mode, regular nomination and
 * RFC 7675 consent, UDP only, no UPnP, no STUN/TURN server, 127.0.0.1 only.
 *
 * With arguments (`nat ...`, run by nat_test.sh) one more case runs behind two
 * NATs: libnice and floe in network namespaces of their own, each behind an
 * nftables masquerade, coturn as both agents' STUN and TURN server. floe's
 * relayed and server-reflexive candidates come from floe's own TURN client
 * (floe_turn), libnice's from its own. "direct": the server-reflexive path is
 * selected; "relay": the NATs cannot reach each other directly, so a relayed
 * path is selected. Data both ways and consent as above.
 */
#define _GNU_SOURCE /* setns */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <agent.h>
#include <glib-unix.h>
#include <glib.h>

#include "floe/ice.h"
#include "floe/stun.h"
#include "floe/turn.h"
#include "floe_io.h"
#include "test.h"

#define MSG_COUNT 100
#define MSG_BURST 10
#define TICK_MS 5
#define CONNECT_TIMEOUT FLOE_SEC(10)
#define DATA_TIMEOUT FLOE_SEC(5)
#define FLOE_CONSENT_INTERVAL FLOE_SEC(1)
#define FLOE_CONSENT_TIMEOUT FLOE_SEC(5)
/* RFC 7675 section 5.1: libnice's consent checks come at most this far apart. */
#define NICE_CONSENT_MAX FLOE_SEC(6)
#define TAG_TO_NICE 'F'
#define TAG_TO_FLOE 'N'

/* One direction of application data. */
struct flow {
    uint8_t tag;
    uint32_t sent;
    uint32_t received;
    uint32_t duplicate;
    uint32_t corrupt;
    uint64_t sum_sent;
    uint64_t sum_received;
    bool seen[MSG_COUNT];
};

struct side_floe {
    struct floe_ice_agent *agent;
    struct floe_turn *turn; /* NAT case: floe's allocation on coturn */
    int fd;
    struct floe_addr local;
    unsigned relay_in[3];  /* NAT case: datagrams from the TURN server by floe_turn_input result */
    unsigned relay_out[2]; /* NAT case: payloads for the relay queued (0) or framed (1) */
    unsigned srflx_cands;  /* NAT case: candidates floe's TURN client produced */
    unsigned relay_cands;
    GSource *io;
    GSource *timer;
    bool connected_once;
    unsigned left_connected; /* state changes away from connected after the first */
    unsigned role_changes;
    unsigned send_errors;
    uint32_t wrong_source; /* application data from an address not on the selected pair */
    /*
     * libnice's role as its latest Binding request claims it (ICE-CONTROLLING or
     * ICE-CONTROLLED): its "controlling-mode" property keeps the role it was
     * given and does not follow a switch after a role conflict.
     */
    int nice_wire_role;
};

struct side_nice {
    NiceAgent *agent;
    guint stream;
    NiceComponentState state;
    bool ready_once;
    unsigned left_ready;
    unsigned send_errors;
    unsigned candidates;
    unsigned by_type[4];     /* candidates trickled to floe, by floe's candidate type */
    unsigned selected_pairs; /* "new-selected-pair-full" signals */
};

/*
 * The NAT case (nat_test.sh): namespaces, private addresses and the STUN/TURN
 * server both agents use, with a long-term user.
 */
struct nat_env {
    const char *ns_floe;
    const char *ns_nice;
    struct floe_addr floe_ip;
    struct floe_addr nice_ip;
    struct floe_addr turn;
    const char *user;
    const char *pass;
    bool relay_only;     /* the NATs cannot reach each other: a relayed path must win */
    bool nice_stun_only; /* libnice gets no TURN relay: floe's relay must carry the path */
};

/* One role combination. */
struct scenario {
    const char *name;
    bool floe_controlling;
    bool nice_controlling;
    NiceAgentOption nice_options;
    floe_time consent_period;
    uint64_t floe_tie_breaker; /* 0: random; else forces who wins a role conflict */
    bool nice_first;           /* libnice's first check reaches floe before floe checks */
    bool restart;              /* then an ICE restart of both agents, data again */
    const struct nat_env *nat; /* behind NATs, with coturn (NULL: loopback) */
};

struct harness {
    const struct scenario *sc;
    GMainContext *ctx;
    GSource *tick;
    bool sending;
    struct side_floe f;
    struct side_nice n;
    struct flow to_nice;
    struct flow to_floe;
};

static struct harness H;
static const struct scenario *current;

/* ------------------------------------------------------------ messages */

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/*
 * Message seq of a flow: tag, seq (16 bits), then a pattern of 20..919 bytes.
 * The tag's top bits (01) make it "not STUN" for both agents' demultiplexers.
 */
static size_t msg_build(uint8_t tag, uint32_t seq, uint8_t *buf)
{
    size_t len = 23 + (seq * 37u) % 900u, i;

    buf[0] = tag;
    buf[1] = (uint8_t)(seq >> 8);
    buf[2] = (uint8_t)seq;
    for (i = 3; i < len; i++)
        buf[i] = (uint8_t)(seq * 31u + i * 7u + tag);
    return len;
}

static void flow_receive(struct flow *fl, const uint8_t *buf, size_t len)
{
    uint8_t want[1024];
    uint32_t seq;

    if (len < 3 || buf[0] != fl->tag) {
        fl->corrupt++;
        return;
    }
    seq = (uint32_t)buf[1] << 8 | buf[2];
    if (seq >= MSG_COUNT || msg_build(fl->tag, seq, want) != len || memcmp(want, buf, len) != 0) {
        fl->corrupt++;
        return;
    }
    if (fl->seen[seq]) {
        fl->duplicate++;
        return;
    }
    fl->seen[seq] = true;
    fl->received++;
    fl->sum_received += fnv1a(buf, len);
}

static bool flow_complete(const struct flow *fl)
{
    return fl->received == MSG_COUNT;
}

/* ------------------------------------------------------------ floe side */

static void floe_rng_getrandom(void *user, uint8_t *out, size_t len)
{
    size_t got = 0;

    (void)user;
    while (got < len) {
        ssize_t n = getrandom(out + got, len - got, 0);

        if (n < 0 && errno != EINTR)
            abort();
        if (n > 0)
            got += (size_t)n;
    }
}

static void floe_log_stderr(void *user, enum floe_log_level level, const char *target,
                            const char *message, const struct floe_log_field *fields,
                            size_t n_fields)
{
    char addr[FLOE_ADDR_STRLEN];
    size_t i;

    (void)user;
    fprintf(stderr, "  [floe %s %s] %s", floe_log_level_name(level), target, message);
    for (i = 0; i < n_fields; i++) {
        if (fields[i].type == FLOE_LF_STR)
            fprintf(stderr, " %s=%s", fields[i].key, fields[i].v.s);
        else if (fields[i].type == FLOE_LF_ADDR &&
                 floe_addr_format(fields[i].v.addr, addr, sizeof(addr)) > 0)
            fprintf(stderr, " %s=%s", fields[i].key, addr);
    }
    fputc('\n', stderr);
}

static void floe_rearm(struct harness *h, floe_time now);

/* The TURN client's datagrams (always to the server). */
static void floe_turn_send(struct harness *h, floe_time now)
{
    uint8_t buf[FLOE_TURN_TRANSMIT_MAX];
    struct floe_addr to;
    long n;

    while (h->f.turn && (n = floe_turn_poll_transmit(h->f.turn, now, buf, sizeof(buf), &to)) > 0) {
        if (floe_io_udp_send(h->f.fd, &to, buf, (size_t)n) != 0)
            h->f.send_errors++;
    }
}

/* Send a payload to peer over the TURN allocation (ChannelData or a Send indication). */
static void floe_send_relayed(struct harness *h, floe_time now, const struct floe_addr *peer,
                              const uint8_t *buf, size_t len)
{
    uint8_t out[FLOE_TURN_TRANSMIT_MAX];
    long n = FLOE_ERR_STATE;

    if (h->f.turn)
        n = floe_turn_encapsulate(h->f.turn, now, peer, buf, len, out, sizeof(out));
    if (n >= 0)
        h->f.relay_out[n > 0]++;
    if (n < 0 || (n > 0 && floe_io_udp_send(h->f.fd, &h->sc->nat->turn, out, (size_t)n) != 0))
        h->f.send_errors++;
    floe_turn_send(h, now);
}

/* Send on a path of floe's: from its socket, or through its relay. */
static void floe_send_on(struct harness *h, floe_time now, const struct floe_ice_path *path,
                         const struct floe_addr *to, const uint8_t *buf, size_t len)
{
    if (path->via_relay)
        floe_send_relayed(h, now, to, buf, len);
    else if (!floe_addr_eq(&path->local, &h->f.local) ||
             floe_io_udp_send(h->f.fd, to, buf, len) != 0)
        h->f.send_errors++;
}

static void floe_send_transmits(struct harness *h, floe_time now)
{
    uint8_t buf[1500];
    struct floe_ice_transmit tx;

    while (floe_ice_poll_transmit(h->f.agent, now, buf, sizeof(buf), &tx) == 1)
        floe_send_on(h, now, &tx.path, &tx.remote, buf, tx.len);
    floe_turn_send(h, now);
}

static void floe_on_state(struct harness *h, const struct floe_ice_event *ev)
{
    if (getenv("FLOE_ICE_DEBUG"))
        fprintf(stderr, "  floe: %s -> %s\n", floe_ice_state_name(ev->u.state.from),
                floe_ice_state_name(ev->u.state.to));
    if (ev->u.state.to == FLOE_ICE_CONNECTED)
        h->f.connected_once = true;
    else if (h->f.connected_once)
        h->f.left_connected++;
}

static void floe_drain_events(struct harness *h)
{
    struct floe_ice_event ev;

    while (floe_ice_poll_event(h->f.agent, &ev) == 1) {
        if (ev.type == FLOE_ICE_EV_STATE)
            floe_on_state(h, &ev);
        else if (ev.type == FLOE_ICE_EV_ROLE)
            h->f.role_changes++;
    }
}

static int nice_add_floe_candidate(struct harness *h, const struct floe_ice_candidate *c);

/* floe's local candidate of this type and address as the agent keeps it (priority, foundation). */
static int floe_find_local(struct harness *h, enum floe_ice_cand_type type,
                           const struct floe_addr *addr, struct floe_ice_candidate *out)
{
    struct floe_ice_candidate all[16];
    size_t n = floe_ice_get_local_candidates(h->f.agent, all, 16), i;

    for (i = 0; i < n; i++) {
        if (all[i].type == type && floe_addr_eq(&all[i].addr, addr)) {
            *out = all[i];
            return 0;
        }
    }
    return FLOE_ERR_NOT_FOUND;
}

/* A candidate of floe's TURN client: a local candidate of floe's agent, trickled to libnice. */
static void floe_on_turn_candidate(struct harness *h, const struct floe_turn_event *ev)
{
    struct floe_ice_candidate c;

    memset(&c, 0, sizeof(c));
    c.type = ev->cand == FLOE_TURN_CAND_RELAYED ? FLOE_ICE_RELAY : FLOE_ICE_SRFLX;
    c.addr = ev->addr;
    c.base = c.type == FLOE_ICE_RELAY ? ev->addr : h->f.local;
    c.server = ev->server;
    if (floe_ice_add_local_candidate(h->f.agent, floe_io_now(), &c) != 0 ||
        floe_find_local(h, c.type, &c.addr, &c) != 0) {
        h->f.send_errors++;
        return;
    }
    if (c.type == FLOE_ICE_RELAY)
        h->f.relay_cands++;
    else
        h->f.srflx_cands++;
    if (nice_add_floe_candidate(h, &c) != 0)
        h->f.send_errors++;
}

static void floe_drain_turn_events(struct harness *h)
{
    struct floe_turn_event ev;

    while (h->f.turn && floe_turn_poll_event(h->f.turn, &ev) == 1) {
        if (getenv("FLOE_ICE_DEBUG"))
            fprintf(stderr, "  floe turn: %s\n", floe_turn_event_name(ev.kind));
        if (ev.kind == FLOE_TURN_EV_CANDIDATE_NEW)
            floe_on_turn_candidate(h, &ev);
    }
}

/* After every input, timeout and command: transmits, events, timer (DESIGN.md section 2). */
static void floe_drive(struct harness *h)
{
    floe_time now = floe_io_now();

    floe_send_transmits(h, now);
    floe_drain_turn_events(h);
    floe_send_transmits(h, now);
    floe_drain_events(h);
    floe_rearm(h, now);
}

static gboolean floe_on_timer(gpointer data)
{
    struct harness *h = data;

    g_source_unref(h->f.timer);
    h->f.timer = NULL;
    floe_ice_handle_timeout(h->f.agent, floe_io_now());
    if (h->f.turn)
        floe_turn_handle_timeout(h->f.turn, floe_io_now());
    floe_drive(h);
    return G_SOURCE_REMOVE;
}

static void floe_rearm(struct harness *h, floe_time now)
{
    floe_time at = floe_ice_poll_timeout(h->f.agent);
    floe_time wait;

    if (h->f.turn)
        at = floe_time_min(at, floe_turn_poll_timeout(h->f.turn));
    wait = at > now ? at - now : 0;

    if (h->f.timer) {
        g_source_destroy(h->f.timer);
        g_source_unref(h->f.timer);
        h->f.timer = NULL;
    }
    if (at == FLOE_TIME_NEVER)
        return;
    h->f.timer = g_timeout_source_new((guint)((wait + FLOE_MS(1) - 1) / FLOE_MS(1)));
    g_source_set_callback(h->f.timer, floe_on_timer, h, NULL);
    g_source_attach(h->f.timer, h->ctx);
}

static void floe_snoop_nice_role(struct harness *h, const uint8_t *buf, size_t len)
{
    struct floe_stun_msg m;

    if (floe_stun_decode(&m, buf, len) != 0 || m.cls != FLOE_STUN_REQUEST)
        return;
    if (floe_stun_has(&m, FLOE_STUN_ATTR_ICE_CONTROLLING))
        h->f.nice_wire_role = FLOE_ICE_CONTROLLING;
    else if (floe_stun_has(&m, FLOE_STUN_ATTR_ICE_CONTROLLED))
        h->f.nice_wire_role = FLOE_ICE_CONTROLLED;
}

/* Application data: accepted only from the remote end of floe's selected pair. */
static void floe_on_app_data(struct harness *h, const struct floe_addr *from, const uint8_t *buf,
                             size_t len)
{
    struct floe_ice_pair_info sel;

    if (floe_ice_get_selected_pair(h->f.agent, &sel) != 0 ||
        !floe_addr_eq(&sel.remote.addr, from)) {
        h->f.wrong_source++;
        return;
    }
    flow_receive(&h->to_floe, buf, len);
}

/* What came from the TURN server: its own messages, or a peer's payload through the relay. */
static void floe_on_relay_datagram(struct harness *h, const struct floe_addr *from,
                                   const uint8_t *buf, size_t len)
{
    struct floe_ice_path path = {.via_relay = true, .relay = *from};
    struct floe_addr peer;
    struct floe_span data;
    floe_time now = floe_io_now();

    int r = floe_turn_handle_input(h->f.turn, now, from, buf, len, &peer, &data);

    if (r >= 0 && r <= 2)
        h->f.relay_in[r]++;
    if (r != FLOE_TURN_INPUT_DATA)
        return;
    if (floe_turn_get_relayed(h->f.turn, FLOE_AF_INET, &path.local) != 0)
        return;
    if (!floe_stun_is_message(data.ptr, data.len)) {
        floe_on_app_data(h, &peer, data.ptr, data.len);
        return;
    }
    floe_snoop_nice_role(h, data.ptr, data.len);
    floe_ice_handle_input(h->f.agent, now, &path, &peer, data.ptr, data.len);
}

/* One datagram on floe's socket: STUN goes to the agent, anything else is application data. */
static void floe_on_datagram(struct harness *h, const struct floe_addr *from, const uint8_t *buf,
                             size_t len)
{
    struct floe_ice_path path = {.local = h->f.local};

    if (h->f.turn && floe_addr_eq(from, &h->sc->nat->turn)) {
        floe_on_relay_datagram(h, from, buf, len);
        return;
    }
    if (!floe_stun_is_message(buf, len)) {
        floe_on_app_data(h, from, buf, len);
        return;
    }
    floe_snoop_nice_role(h, buf, len);
    floe_ice_handle_input(h->f.agent, floe_io_now(), &path, from, buf, len);
}

static gboolean floe_on_readable(gint fd, GIOCondition cond, gpointer data)
{
    struct harness *h = data;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    struct floe_addr from;
    uint8_t buf[2048];
    ssize_t n;

    (void)cond;
    while ((n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl)) >= 0) {
        if (floe_io_addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl) == 0)
            floe_on_datagram(h, &from, buf, (size_t)n);
        sl = sizeof(ss);
    }
    floe_drive(h);
    return G_SOURCE_CONTINUE;
}

/* NAT case: floe's TURN client on coturn, allocating at once (its first candidates follow). */
static int floe_turn_setup(struct harness *h)
{
    struct floe_turn_config cfg;
    int rc;

    floe_turn_config_default(&cfg);
    cfg.rng.fill = floe_rng_getrandom;
    cfg.server = h->sc->nat->turn;
    cfg.username = h->sc->nat->user;
    cfg.password = h->sc->nat->pass;
    rc = floe_turn_new(&h->f.turn, &cfg);
    if (rc == 0)
        rc = floe_turn_allocate(h->f.turn, floe_io_now());
    return rc;
}

static int floe_setup(struct harness *h)
{
    struct floe_ice_config cfg;
    struct floe_addr lo = h->sc->nat ? h->sc->nat->floe_ip : floe_addr_v4(127, 0, 0, 1, 0);
    int rc;

    floe_ice_config_default(&cfg);
    cfg.rng.fill = floe_rng_getrandom;
    cfg.role = h->sc->floe_controlling ? FLOE_ICE_CONTROLLING : FLOE_ICE_CONTROLLED;
    cfg.consent_interval = FLOE_CONSENT_INTERVAL;
    cfg.consent_timeout = FLOE_CONSENT_TIMEOUT;
    cfg.tie_breaker = h->sc->floe_tie_breaker;
    if (getenv("FLOE_ICE_DEBUG")) {
        cfg.log.fn = floe_log_stderr;
        cfg.log.min_level = FLOE_LOG_DEBUG;
    }
    rc = floe_ice_new(&h->f.agent, &cfg, floe_io_now());
    if (rc != 0)
        return rc;
    h->f.fd = floe_io_udp_open(&lo);
    if (h->f.fd < 0)
        return h->f.fd;
    rc = floe_io_udp_local(h->f.fd, &h->f.local);
    if (rc != 0)
        return rc;
    h->f.io = g_unix_fd_source_new(h->f.fd, G_IO_IN);
    g_source_set_callback(h->f.io, G_SOURCE_FUNC(floe_on_readable), h, NULL);
    g_source_attach(h->f.io, h->ctx);
    return h->sc->nat ? floe_turn_setup(h) : 0;
}

/* floe's host candidate: the socket address, its own base. */
static int floe_add_host(struct harness *h, struct floe_ice_candidate *out)
{
    struct floe_ice_candidate c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.type = FLOE_ICE_HOST;
    c.addr = h->f.local;
    c.base = h->f.local;
    rc = floe_ice_add_local_candidate(h->f.agent, floe_io_now(), &c);
    floe_drive(h);
    if (rc != 0 || floe_ice_get_local_candidates(h->f.agent, out, 1) != 1)
        return rc ? rc : FLOE_ERR_NOT_FOUND;
    return 0;
}

/* ------------------------------------------------------------ libnice side */

static int nice_type_to_floe(NiceCandidateType t, enum floe_ice_cand_type *out)
{
    switch (t) {
    case NICE_CANDIDATE_TYPE_HOST:
        *out = FLOE_ICE_HOST;
        return 0;
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
        *out = FLOE_ICE_SRFLX;
        return 0;
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
        *out = FLOE_ICE_PRFLX;
        return 0;
    case NICE_CANDIDATE_TYPE_RELAYED:
        *out = FLOE_ICE_RELAY;
        return 0;
    default:
        return FLOE_ERR_UNSUPPORTED;
    }
}

static int nice_cand_to_floe(const NiceCandidate *nc, struct floe_ice_candidate *out)
{
    struct sockaddr_storage ss;

    memset(out, 0, sizeof(*out));
    memset(&ss, 0, sizeof(ss));
    if (nc->transport != NICE_CANDIDATE_TRANSPORT_UDP || nc->component_id != 1 ||
        nice_type_to_floe(nc->type, &out->type) != 0)
        return FLOE_ERR_UNSUPPORTED;
    nice_address_copy_to_sockaddr(&nc->addr, (struct sockaddr *)&ss);
    if (floe_io_addr_from_sockaddr(&out->addr, (struct sockaddr *)&ss, sizeof(ss)) != 0)
        return FLOE_ERR_ADDR_FAMILY;
    out->priority = nc->priority;
    out->component = 1;
    g_strlcpy(out->foundation, nc->foundation, sizeof(out->foundation));
    return 0;
}

/* "new-candidate-full": trickle libnice's candidate to floe. */
static void nice_on_candidate(NiceAgent *agent, NiceCandidate *nc, gpointer data)
{
    struct harness *h = data;
    struct floe_ice_candidate c;

    (void)agent;
    if (nice_cand_to_floe(nc, &c) != 0)
        return;
    if (floe_ice_add_remote_candidate(h->f.agent, floe_io_now(), &c) == 0) {
        h->n.candidates++;
        h->n.by_type[c.type]++;
    }
    floe_drive(h);
}

static void nice_on_state(NiceAgent *agent, guint stream, guint component, guint state,
                          gpointer data)
{
    struct harness *h = data;

    (void)agent;
    if (stream != h->n.stream || component != 1)
        return;
    if (getenv("FLOE_ICE_DEBUG"))
        fprintf(stderr, "  libnice: %s\n", nice_component_state_to_string(state));
    h->n.state = (NiceComponentState)state;
    if (state == NICE_COMPONENT_STATE_READY)
        h->n.ready_once = true;
    else if (h->n.ready_once)
        h->n.left_ready++;
}

static void nice_on_selected(NiceAgent *agent, guint stream, guint component, NiceCandidate *l,
                             NiceCandidate *r, gpointer data)
{
    struct harness *h = data;

    (void)agent;
    (void)l;
    (void)r;
    if (stream == h->n.stream && component == 1)
        h->n.selected_pairs++;
}

static void nice_on_recv(NiceAgent *agent, guint stream, guint component, guint len, gchar *buf,
                         gpointer data)
{
    struct harness *h = data;

    (void)agent;
    (void)stream;
    (void)component;
    flow_receive(&h->to_nice, (const uint8_t *)buf, len);
}

/* NAT case: coturn is libnice's STUN server and its TURN relay (long-term user). */
static int nice_setup_servers(struct harness *h)
{
    const struct nat_env *nat = h->sc->nat;
    char ip[FLOE_ADDR_STRLEN];

    if (floe_addr_format_ip(&nat->turn, ip, sizeof(ip)) <= 0)
        return FLOE_ERR_ADDR_PARSE;
    g_object_set(h->n.agent, "stun-server", ip, "stun-server-port", (guint)nat->turn.port, NULL);
    if (!nat->nice_stun_only &&
        !nice_agent_set_relay_info(h->n.agent, h->n.stream, 1, ip, nat->turn.port, nat->user,
                                   nat->pass, NICE_RELAY_TYPE_TURN_UDP))
        return FLOE_ERR_STATE;
    return 0;
}

static int nice_setup(struct harness *h)
{
    NiceAddress lo;
    char ip[FLOE_ADDR_STRLEN] = "127.0.0.1";

    h->n.agent = nice_agent_new_full(h->ctx, NICE_COMPATIBILITY_RFC5245, h->sc->nice_options);
    if (!h->n.agent)
        return FLOE_ERR_NOMEM;
    g_object_set(h->n.agent, "controlling-mode", (gboolean)h->sc->nice_controlling, "upnp", FALSE,
                 "ice-tcp", FALSE, "ice-udp", TRUE, NULL);
    nice_address_init(&lo);
    if (h->sc->nat && floe_addr_format_ip(&h->sc->nat->nice_ip, ip, sizeof(ip)) <= 0)
        return FLOE_ERR_ADDR_PARSE;
    if (!nice_address_set_from_string(&lo, ip) || !nice_agent_add_local_address(h->n.agent, &lo))
        return FLOE_ERR_ADDR_PARSE;
    h->n.stream = nice_agent_add_stream(h->n.agent, 1);
    if (h->n.stream == 0)
        return FLOE_ERR_STATE;
    if (h->sc->nat && nice_setup_servers(h) != 0)
        return FLOE_ERR_STATE;
    g_signal_connect(h->n.agent, "new-candidate-full", G_CALLBACK(nice_on_candidate), h);
    g_signal_connect(h->n.agent, "component-state-changed", G_CALLBACK(nice_on_state), h);
    g_signal_connect(h->n.agent, "new-selected-pair-full", G_CALLBACK(nice_on_selected), h);
    if (!nice_agent_attach_recv(h->n.agent, h->n.stream, 1, h->ctx, nice_on_recv, h))
        return FLOE_ERR_STATE;
    return 0;
}

/* Signalling, done in-process: libnice's credentials to floe. */
static int floe_take_nice_credentials(struct harness *h)
{
    gchar *ufrag = NULL, *pwd = NULL;
    int rc = FLOE_ERR_STATE;

    if (nice_agent_get_local_credentials(h->n.agent, h->n.stream, &ufrag, &pwd))
        rc = floe_ice_set_remote_credentials(h->f.agent, floe_io_now(), ufrag, pwd);
    g_free(ufrag);
    g_free(pwd);
    floe_drive(h);
    return rc;
}

/* Signalling: floe's credentials to libnice. */
static int nice_take_floe_credentials(struct harness *h)
{
    const char *fu, *fp;

    floe_ice_get_local_credentials(h->f.agent, &fu, &fp);
    if (!nice_agent_set_remote_credentials(h->n.agent, h->n.stream, fu, fp))
        return FLOE_ERR_STATE;
    return 0;
}

/* Trickle floe's host candidate to libnice. Returns 0 or a negative error. */
static NiceCandidateType floe_type_to_nice(enum floe_ice_cand_type t)
{
    switch (t) {
    case FLOE_ICE_SRFLX:
        return NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE;
    case FLOE_ICE_PRFLX:
        return NICE_CANDIDATE_TYPE_PEER_REFLEXIVE;
    case FLOE_ICE_RELAY:
        return NICE_CANDIDATE_TYPE_RELAYED;
    case FLOE_ICE_HOST:
    default:
        return NICE_CANDIDATE_TYPE_HOST;
    }
}

static int nice_add_floe_candidate(struct harness *h, const struct floe_ice_candidate *c)
{
    NiceCandidate *nc = nice_candidate_new(floe_type_to_nice(c->type));
    struct sockaddr_storage ss;
    socklen_t sl;
    GSList *list;
    int n;

    nc->stream_id = h->n.stream;
    nc->component_id = 1;
    nc->transport = NICE_CANDIDATE_TRANSPORT_UDP;
    nc->priority = c->priority;
    g_strlcpy(nc->foundation, c->foundation, sizeof(nc->foundation));
    if (floe_io_addr_to_sockaddr(&c->addr, &ss, &sl) == 0)
        nice_address_set_from_sockaddr(&nc->addr, (struct sockaddr *)&ss);
    list = g_slist_append(NULL, nc);
    n = nice_agent_set_remote_candidates(h->n.agent, h->n.stream, 1, list);
    g_slist_free(list);
    nice_candidate_free(nc);
    return n == 1 ? 0 : FLOE_ERR_STATE;
}

/* ------------------------------------------------------------ harness */

static void send_floe_to_nice(struct harness *h)
{
    struct floe_ice_pair_info sel;
    uint8_t buf[1024];
    size_t len;

    if (h->to_nice.sent >= MSG_COUNT || floe_ice_get_selected_pair(h->f.agent, &sel) != 0)
        return;
    len = msg_build(h->to_nice.tag, h->to_nice.sent, buf);
    floe_send_on(h, floe_io_now(), &sel.path, &sel.remote.addr, buf, len);
    h->to_nice.sent++;
    h->to_nice.sum_sent += fnv1a(buf, len);
}

static void send_nice_to_floe(struct harness *h)
{
    uint8_t buf[1024];
    size_t len;

    if (h->to_floe.sent >= MSG_COUNT)
        return;
    len = msg_build(h->to_floe.tag, h->to_floe.sent, buf);
    if (nice_agent_send(h->n.agent, h->n.stream, 1, (guint)len, (const gchar *)buf) != (gint)len) {
        h->n.send_errors++;
        return;
    }
    h->to_floe.sent++;
    h->to_floe.sum_sent += fnv1a(buf, len);
}

/* Paces application data (a burst per tick keeps the socket buffers small). */
static gboolean harness_on_tick(gpointer data)
{
    struct harness *h = data;
    int i;

    for (i = 0; h->sending && i < MSG_BURST; i++) {
        send_floe_to_nice(h);
        send_nice_to_floe(h);
    }
    return G_SOURCE_CONTINUE;
}

static void harness_init(struct harness *h, const struct scenario *sc)
{
    memset(h, 0, sizeof(*h));
    h->sc = sc;
    h->f.fd = -1;
    h->f.nice_wire_role = -1;
    h->n.state = NICE_COMPONENT_STATE_DISCONNECTED;
    h->to_nice.tag = TAG_TO_NICE;
    h->to_floe.tag = TAG_TO_FLOE;
    h->ctx = g_main_context_new();
    h->tick = g_timeout_source_new(TICK_MS);
    g_source_set_callback(h->tick, harness_on_tick, h, NULL);
    g_source_attach(h->tick, h->ctx);
}

static void source_drop(GSource **s)
{
    if (!*s)
        return;
    g_source_destroy(*s);
    g_source_unref(*s);
    *s = NULL;
}

static void harness_free(struct harness *h)
{
    source_drop(&h->tick);
    source_drop(&h->f.timer);
    source_drop(&h->f.io);
    if (h->n.agent)
        g_object_unref(h->n.agent);
    while (g_main_context_iteration(h->ctx, FALSE))
        continue;
    g_main_context_unref(h->ctx);
    floe_ice_free(h->f.agent);
    floe_turn_free(h->f.turn);
    floe_io_close(h->f.fd);
}

/* NAT case: the sockets made from now on belong to network namespace name (ip netns). */
static int netns_enter(const char *name)
{
    char path[256];
    int fd, rc;

    if (snprintf(path, sizeof(path), "/run/netns/%s", name) >= (int)sizeof(path))
        return FLOE_ERR_INVALID_ARG;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "  cannot open %s: %s\n", path, strerror(errno));
        return FLOE_ERR_NOT_FOUND;
    }
    rc = setns(fd, CLONE_NEWNET);
    if (rc != 0)
        fprintf(stderr, "  setns %s: %s\n", name, strerror(errno));
    close(fd);
    return rc == 0 ? 0 : FLOE_ERR_STATE;
}

/*
 * Create both agents, exchange credentials, gather and trickle candidates both
 * ways. With nice_first, floe learns libnice's credentials only later (see
 * scenario_connect), so libnice's first check reaches floe before floe sends any.
 */
static int harness_start(struct harness *h)
{
    struct floe_ice_candidate fc;
    int rc = h->sc->nat ? netns_enter(h->sc->nat->ns_floe) : 0;

    if (rc == 0)
        rc = floe_setup(h);
    if (rc == 0 && h->sc->nat)
        rc = netns_enter(h->sc->nat->ns_nice);
    if (rc == 0)
        rc = nice_setup(h);
    if (rc == 0 && !h->sc->nice_first)
        rc = floe_take_nice_credentials(h);
    if (rc == 0)
        rc = nice_take_floe_credentials(h);
    if (rc == 0 && !nice_agent_gather_candidates(h->n.agent, h->n.stream))
        rc = FLOE_ERR_STATE;
    if (rc == 0)
        rc = floe_add_host(h, &fc);
    if (rc == 0)
        rc = nice_add_floe_candidate(h, &fc);
    return rc;
}

static bool run_until(struct harness *h, bool (*done)(const struct harness *), floe_time limit)
{
    floe_time end = floe_io_now() + limit;

    while (!done(h) && floe_io_now() < end)
        g_main_context_iteration(h->ctx, TRUE);
    return done(h);
}

static bool never(const struct harness *h)
{
    (void)h;
    return false;
}

static bool floe_got_check(const struct harness *h)
{
    struct floe_ice_stats st;

    floe_ice_get_stats(h->f.agent, &st);
    return st.checks_received > 0;
}

static bool both_connected(const struct harness *h)
{
    struct floe_ice_pair_info sel;

    return floe_ice_get_state(h->f.agent) == FLOE_ICE_CONNECTED &&
           floe_ice_get_selected_pair(h->f.agent, &sel) == 0 &&
           h->n.state == NICE_COMPONENT_STATE_READY;
}

static bool data_done(const struct harness *h)
{
    return flow_complete(&h->to_nice) && flow_complete(&h->to_floe);
}

static double secs(floe_time t)
{
    return (double)t / 1e9;
}

/* ------------------------------------------------------------ checks */

/* Both agents selected the same (and only) path: floe's socket <-> libnice's host candidate. */
static void check_selected_pairs(struct harness *h)
{
    struct floe_ice_pair_info sel;
    NiceCandidate *nl = NULL, *nr = NULL;
    struct floe_ice_candidate l, r;

    REQUIRE(floe_ice_get_selected_pair(h->f.agent, &sel) == 0);
    REQUIRE(nice_agent_get_selected_pair(h->n.agent, h->n.stream, 1, &nl, &nr));
    REQUIRE(nice_cand_to_floe(nl, &l) == 0);
    REQUIRE(nice_cand_to_floe(nr, &r) == 0);
    CHECK(sel.nominated);
    CHECK(!sel.path.via_relay);
    CHECK(floe_addr_eq(&sel.path.local, &h->f.local));
    CHECK(floe_addr_eq(&sel.remote.addr, &l.addr));
    CHECK(floe_addr_eq(&r.addr, &h->f.local));
}

static const char *nice_type_name(NiceCandidateType t)
{
    enum floe_ice_cand_type ft;

    return nice_type_to_floe(t, &ft) == 0 ? floe_ice_cand_type_name(ft) : "unknown";
}

/*
 * NAT case: both sides had server-reflexive and relayed candidates (floe's from
 * its TURN client, libnice's trickled to floe), both agents selected the same
 * path, and it is the one the network allows: server-reflexive both ways when
 * the NATs reach each other, through a relay when they cannot.
 */
static void check_nat_pairs(struct harness *h)
{
    struct floe_ice_pair_info sel;
    NiceCandidate *nl = NULL, *nr = NULL;
    bool relayed;

    REQUIRE(floe_ice_get_selected_pair(h->f.agent, &sel) == 0);
    REQUIRE(nice_agent_get_selected_pair(h->n.agent, h->n.stream, 1, &nl, &nr));
    relayed = sel.path.via_relay || sel.remote.type == FLOE_ICE_RELAY;
    printf("  candidates: floe srflx %u relay %u; libnice host %u srflx %u relay %u\n",
           h->f.srflx_cands, h->f.relay_cands, h->n.by_type[FLOE_ICE_HOST],
           h->n.by_type[FLOE_ICE_SRFLX], h->n.by_type[FLOE_ICE_RELAY]);
    printf("  selected: floe %s%s -> %s; libnice %s -> %s\n",
           floe_ice_cand_type_name(sel.local.type), sel.path.via_relay ? " (via relay)" : "",
           floe_ice_cand_type_name(sel.remote.type), nice_type_name(nl->type),
           nice_type_name(nr->type));
    CHECK(h->f.srflx_cands >= 1);
    CHECK(h->f.relay_cands >= 1);
    CHECK(h->n.by_type[FLOE_ICE_SRFLX] >= 1);
    CHECK_EQ(h->n.by_type[FLOE_ICE_RELAY] >= 1, !h->sc->nat->nice_stun_only);
    if (h->sc->nat->nice_stun_only)
        CHECK(sel.path.via_relay);
    CHECK(sel.nominated);
    CHECK_EQ(relayed, h->sc->nat->relay_only);
    CHECK_EQ(sel.path.via_relay, nr->type == NICE_CANDIDATE_TYPE_RELAYED);
    CHECK_EQ(sel.remote.type == FLOE_ICE_RELAY, nl->type == NICE_CANDIDATE_TYPE_RELAYED);
    if (!relayed)
        CHECK(sel.remote.type == FLOE_ICE_SRFLX || sel.remote.type == FLOE_ICE_PRFLX);
}

/*
 * Exactly one agent is controlling (floe's view and libnice's own claim on the
 * wire). Without a conflict nobody switched role. In a conflict the agent with
 * the larger tie-breaker ends up controlling (RFC 8445 section 7.3.1.1), and
 * floe's is 1 or the maximum; which agent notices the conflict first depends on
 * whose check arrives first, so only the outcome is asserted.
 */
static void check_roles(struct harness *h)
{
    struct floe_ice_stats st;
    bool floe_ctl = floe_ice_get_role(h->f.agent) == FLOE_ICE_CONTROLLING;
    bool floe_wins = h->sc->floe_tie_breaker == UINT64_MAX;

    floe_ice_get_stats(h->f.agent, &st);
    CHECK(h->f.nice_wire_role == (floe_ctl ? FLOE_ICE_CONTROLLED : FLOE_ICE_CONTROLLING));
    if (h->sc->floe_controlling != h->sc->nice_controlling) {
        CHECK_EQ(floe_ctl, h->sc->floe_controlling);
        CHECK_EQ(h->f.role_changes, 0);
        CHECK_EQ(st.role_conflicts, 0);
        return;
    }
    CHECK_EQ(floe_ctl, floe_wins);
    CHECK_EQ(h->f.role_changes, floe_ctl != h->sc->floe_controlling);
    /*
     * floe saw the conflict when libnice's check came first, or when floe's came
     * first and floe had to switch (libnice answered 487; the other way round
     * libnice switches silently).
     */
    if (h->sc->nice_first || floe_wins != h->sc->floe_controlling)
        CHECK(st.role_conflicts >= 1);
}

static void check_flow(const struct flow *fl, const char *name)
{
    printf("  data %s: %u sent, %u received, checksum %016llx/%016llx, %u corrupt, %u dup\n", name,
           fl->sent, fl->received, (unsigned long long)fl->sum_sent,
           (unsigned long long)fl->sum_received, fl->corrupt, fl->duplicate);
    CHECK_EQ(fl->sent, MSG_COUNT);
    CHECK_EQ(fl->received, MSG_COUNT);
    CHECK(fl->sum_received == fl->sum_sent);
    CHECK_EQ(fl->corrupt, 0);
    CHECK_EQ(fl->duplicate, 0);
}

/* Consent both ways over the period: floe stays connected, libnice stays ready. */
static void check_consent(struct harness *h, const struct floe_ice_stats *s0,
                          const struct floe_ice_stats *s1)
{
    floe_time period = h->sc->consent_period;
    uint64_t sent = s1->consent_sent - s0->consent_sent;
    uint64_t answered = s1->responses_received - s0->responses_received;
    uint64_t intervals = period / (FLOE_CONSENT_INTERVAL * 6 / 5);
    uint64_t min_sent = intervals > 0 ? intervals - 1 : 0;
    uint64_t got = s1->checks_received - s0->checks_received;
    uint64_t min_got = period / NICE_CONSENT_MAX;

    printf("  consent %.1f s: floe sent %llu checks (at least %llu), libnice answered %llu; "
           "libnice sent %llu (at least %llu), floe answered %llu\n",
           secs(period), (unsigned long long)sent, (unsigned long long)min_sent,
           (unsigned long long)answered, (unsigned long long)got, (unsigned long long)min_got,
           (unsigned long long)(s1->checks_answered - s0->checks_answered));
    /* A period too short to require checks both ways proves nothing: it fails. */
    CHECK(min_sent >= 1);
    CHECK(min_got >= 1);
    CHECK(sent >= min_sent);
    CHECK(answered + 1 >= sent);
    CHECK(answered >= min_sent);
    CHECK(got >= min_got);
    CHECK_EQ(s1->checks_answered - s0->checks_answered, got);
    CHECK_EQ(floe_ice_get_state(h->f.agent), FLOE_ICE_CONNECTED);
    CHECK_EQ(h->f.left_connected, 0);
    CHECK_EQ(h->n.state, NICE_COMPONENT_STATE_READY);
    CHECK_EQ(h->n.left_ready, 0);
}

static void check_no_drops(struct harness *h)
{
    struct floe_ice_stats st;

    floe_ice_get_stats(h->f.agent, &st);
    CHECK_EQ(st.dropped_malformed, 0);
    CHECK_EQ(st.dropped_unauthenticated, 0);
    /* libnice answers 487 unsigned: when its answer to a check floe sent before the role
     * switch arrives late, floe drops it (counted apart, dropped_unsigned_errors). */
    if (st.dropped_unsigned_errors)
        printf("  floe dropped %llu unsigned error responses (libnice's 487)\n",
               (unsigned long long)st.dropped_unsigned_errors);
    CHECK_EQ(h->f.send_errors, 0);
    CHECK_EQ(h->n.send_errors, 0);
    CHECK_EQ(h->f.wrong_source, 0);
}

/* ------------------------------------------------------------ scenarios */

/* What floe's agent saw, printed when a connection does not come up. */
static void print_floe_stats(struct harness *h)
{
    struct floe_ice_pair_info pairs[16];
    struct floe_ice_stats st;
    char l[FLOE_ADDR_STRLEN], r[FLOE_ADDR_STRLEN];
    size_t n = floe_ice_get_pairs(h->f.agent, pairs, 16), i;

    floe_ice_get_stats(h->f.agent, &st);
    printf("  floe: %llu checks sent, %llu received, %llu responses, %llu dropped "
           "(%llu unmatched, %llu unauthenticated, %llu unsigned errors), %zu pairs, %u send "
           "errors\n",
           (unsigned long long)st.checks_sent, (unsigned long long)st.checks_received,
           (unsigned long long)st.responses_received, (unsigned long long)st.dropped,
           (unsigned long long)st.dropped_unmatched, (unsigned long long)st.dropped_unauthenticated,
           (unsigned long long)st.dropped_unsigned_errors, n, h->f.send_errors);
    if (h->f.turn) {
        struct floe_turn_stats ts;
        int k;

        floe_turn_get_stats(h->f.turn, &ts);
        printf("  floe turn %s: in ignored %u consumed %u data %u; out queued %u framed %u; "
               "%llu retransmissions; drops",
               floe_turn_state_name(floe_turn_get_state(h->f.turn)), h->f.relay_in[0],
               h->f.relay_in[1], h->f.relay_in[2], h->f.relay_out[0], h->f.relay_out[1],
               (unsigned long long)st.checks_retransmitted);
        for (k = 0; k < FLOE_TURN_DROP_COUNT; k++)
            printf(" %s %llu", floe_turn_drop_name((enum floe_turn_drop)k),
                   (unsigned long long)ts.drops[k]);
        printf("\n");
    }
    for (i = 0; i < n; i++) {
        floe_addr_format(&pairs[i].local.addr, l, sizeof(l));
        floe_addr_format(&pairs[i].remote.addr, r, sizeof(r));
        printf("    %s %s -> %s %s: state %d\n", floe_ice_cand_type_name(pairs[i].local.type), l,
               floe_ice_cand_type_name(pairs[i].remote.type), r, (int)pairs[i].state);
    }
}

static void scenario_connect(struct harness *h)
{
    floe_time t0 = floe_io_now();
    bool ok;

    REQUIRE(harness_start(h) == 0);
    CHECK(h->n.candidates >= 1);
    if (h->sc->nice_first) {
        CHECK(run_until(h, floe_got_check, CONNECT_TIMEOUT));
        REQUIRE(floe_take_nice_credentials(h) == 0);
    }
    ok = run_until(h, both_connected, CONNECT_TIMEOUT);
    if (!ok)
        print_floe_stats(h);
    printf("  connect: floe %s (%s), libnice %s after %.3f s\n",
           floe_ice_state_name(floe_ice_get_state(h->f.agent)),
           floe_ice_get_role(h->f.agent) == FLOE_ICE_CONTROLLING ? "controlling" : "controlled",
           nice_component_state_to_string(h->n.state), secs(floe_io_now() - t0));
    CHECK(ok);
}

static void scenario_data(struct harness *h)
{
    memset(&h->to_nice, 0, sizeof(h->to_nice));
    memset(&h->to_floe, 0, sizeof(h->to_floe));
    h->to_nice.tag = TAG_TO_NICE;
    h->to_floe.tag = TAG_TO_FLOE;
    h->sending = true;
    run_until(h, data_done, DATA_TIMEOUT);
    h->sending = false;
    check_flow(&h->to_nice, "floe->libnice");
    check_flow(&h->to_floe, "libnice->floe");
}

/*
 * ICE restart (RFC 8445 section 9) of both agents: new credentials both ways,
 * candidates signalled again (floe keeps its local ones, forgets the remote ones).
 */
static int restart_both(struct harness *h)
{
    struct floe_ice_candidate fc;
    GSList *cands, *l;
    int rc = floe_ice_restart(h->f.agent, floe_io_now(), true);

    floe_drive(h);
    if (rc != 0 || !nice_agent_restart_stream(h->n.agent, h->n.stream))
        return rc ? rc : FLOE_ERR_STATE;
    rc = floe_take_nice_credentials(h);
    if (rc == 0)
        rc = nice_take_floe_credentials(h);
    cands = nice_agent_get_local_candidates(h->n.agent, h->n.stream, 1);
    for (l = cands; l; l = l->next) {
        nice_on_candidate(h->n.agent, l->data, h);
        nice_candidate_free(l->data);
    }
    g_slist_free(cands);
    if (rc == 0 && floe_ice_get_local_candidates(h->f.agent, &fc, 1) != 1)
        rc = FLOE_ERR_NOT_FOUND;
    return rc == 0 ? nice_add_floe_candidate(h, &fc) : rc;
}

static unsigned restart_selected_mark;

static bool restarted(const struct harness *h)
{
    return both_connected(h) && h->n.selected_pairs > restart_selected_mark;
}

static void scenario_restart(struct harness *h)
{
    struct floe_ice_stats st;
    floe_time t0 = floe_io_now();
    bool ok;

    restart_selected_mark = h->n.selected_pairs;
    REQUIRE(restart_both(h) == 0);
    ok = run_until(h, restarted, CONNECT_TIMEOUT);
    floe_ice_get_stats(h->f.agent, &st);
    printf("  restart: floe %s, libnice %s (%u selected pairs) after %.3f s\n",
           floe_ice_state_name(floe_ice_get_state(h->f.agent)),
           nice_component_state_to_string(h->n.state), h->n.selected_pairs,
           secs(floe_io_now() - t0));
    REQUIRE(ok);
    CHECK_EQ(st.restarts, 1);
    check_selected_pairs(h);
    scenario_data(h);
    check_no_drops(h);
}

static void scenario_body(struct harness *h)
{
    struct floe_ice_stats s0, s1;
    int failures = floe_test_failures_in_current;

    scenario_connect(h);
    REQUIRE(failures == floe_test_failures_in_current);
    if (h->sc->nat)
        check_nat_pairs(h);
    else
        check_selected_pairs(h);
    check_roles(h);
    scenario_data(h);
    if (h->sc->consent_period) { /* 0: a role conflict whose consent another case covers */
        floe_ice_get_stats(h->f.agent, &s0);
        run_until(h, never, h->sc->consent_period);
        floe_ice_get_stats(h->f.agent, &s1);
        check_consent(h, &s0, &s1);
    }
    check_no_drops(h);
    if (h->sc->restart)
        scenario_restart(h);
}

static void run_scenario(void)
{
    printf("case %s\n", current->name);
    harness_init(&H, current);
    scenario_body(&H);
    harness_free(&H);
}

#define VARIANT_CONSENT FLOE_MS(6500)
#define NICE_RFC8445 (NICE_AGENT_OPTION_REGULAR_NOMINATION | NICE_AGENT_OPTION_CONSENT_FRESHNESS)

#define SCENARIO(n, fc, nc, opts, period, tb, first)                                               \
    {                                                                                              \
        .name = (n), .floe_controlling = (fc), .nice_controlling = (nc), .nice_options = (opts),   \
        .consent_period = (period), .floe_tie_breaker = (tb), .nice_first = (first)                \
    }
#define RESTART(n, fc)                                                                             \
    {                                                                                              \
        .name = (n), .floe_controlling = (fc), .nice_controlling = !(fc),                          \
        .nice_options = NICE_RFC8445, .consent_period = VARIANT_CONSENT, .restart = true           \
    }
/*
 * Role conflicts; consent afterwards (6.5 s each) in one case per role floe switches to (it
 * was the longest part of the suite's longest test), the connection and data in all.
 */
#define CONFLICT(n, ctl, tb, first) SCENARIO(n, ctl, ctl, NICE_RFC8445, 0, tb, first)
#define CONFLICT_CONSENT(n, ctl, tb, first)                                                        \
    SCENARIO(n, ctl, ctl, NICE_RFC8445, VARIANT_CONSENT, tb, first)

static const struct scenario scenarios[] = {
    SCENARIO("floe_controlling__libnice_controlled", true, false, NICE_RFC8445, FLOE_SEC(10), 0,
             false),
    SCENARIO("floe_controlled__libnice_controlling", false, true, NICE_RFC8445, FLOE_SEC(10), 0,
             false),
    /* libnice's default: aggressive nomination (USE-CANDIDATE on every check, RFC 5245). */
    SCENARIO("floe_controlled__libnice_controlling_aggressive", false, true,
             NICE_AGENT_OPTION_CONSENT_FRESHNESS, VARIANT_CONSENT, 0, false),
    /*
     * Role conflicts (RFC 8445 section 7.3.1.1): floe's tie-breaker at the top or
     * the bottom of the range decides who switches (libnice draws its own); who
     * checks first decides who detects the conflict. Each of the eight runs one
     * path: the first checker's request gets a 487 or makes the other switch.
     */
    CONFLICT("conflict_controlling__floe_wins__floe_first", true, UINT64_MAX, false),
    CONFLICT("conflict_controlling__floe_wins__libnice_first", true, UINT64_MAX, true),
    CONFLICT_CONSENT("conflict_controlling__libnice_wins__floe_first", true, 1, false),
    CONFLICT("conflict_controlling__libnice_wins__libnice_first", true, 1, true),
    CONFLICT_CONSENT("conflict_controlled__floe_wins__floe_first", false, UINT64_MAX, false),
    CONFLICT("conflict_controlled__floe_wins__libnice_first", false, UINT64_MAX, true),
    CONFLICT("conflict_controlled__libnice_wins__floe_first", false, 1, false),
    CONFLICT("conflict_controlled__libnice_wins__libnice_first", false, 1, true),
    /* ICE restart of both agents after the connection is up, then data again. */
    RESTART("restart__floe_controlling", true),
    RESTART("restart__floe_controlled", false),
};

#define SCENARIO_CASE(idx, fn)                                                                     \
    static void fn(void)                                                                           \
    {                                                                                              \
        current = &scenarios[idx];                                                                 \
        run_scenario();                                                                            \
    }

SCENARIO_CASE(0, floe_controlling__libnice_controlled)
SCENARIO_CASE(1, floe_controlled__libnice_controlling)
SCENARIO_CASE(2, floe_controlled__libnice_controlling_aggressive)
SCENARIO_CASE(3, conflict_controlling__floe_wins__floe_first)
SCENARIO_CASE(4, conflict_controlling__floe_wins__libnice_first)
SCENARIO_CASE(5, conflict_controlling__libnice_wins__floe_first)
SCENARIO_CASE(6, conflict_controlling__libnice_wins__libnice_first)
SCENARIO_CASE(7, conflict_controlled__floe_wins__floe_first)
SCENARIO_CASE(8, conflict_controlled__floe_wins__libnice_first)
SCENARIO_CASE(9, conflict_controlled__libnice_wins__floe_first)
SCENARIO_CASE(10, conflict_controlled__libnice_wins__libnice_first)
SCENARIO_CASE(11, restart__floe_controlling)
SCENARIO_CASE(12, restart__floe_controlled)

/*
 * `nat NS_FLOE FLOE_IP NS_NICE NICE_IP TURN_IP:PORT USER PASS MODE` (nat_test.sh), MODE
 * direct, relay, or floe_relay (relay with libnice on STUN only).
 */
static int nat_parse(int argc, char **argv, struct nat_env *env)
{
    if (argc != 10 || strcmp(argv[1], "nat") != 0)
        return FLOE_ERR_INVALID_ARG;
    memset(env, 0, sizeof(*env));
    env->ns_floe = argv[2];
    env->ns_nice = argv[4];
    env->user = argv[7];
    env->pass = argv[8];
    env->nice_stun_only = strcmp(argv[9], "floe_relay") == 0;
    env->relay_only = env->nice_stun_only || strcmp(argv[9], "relay") == 0;
    if (floe_addr_parse_ip(argv[3], &env->floe_ip) != 0 ||
        floe_addr_parse_ip(argv[5], &env->nice_ip) != 0 ||
        floe_addr_parse(argv[6], &env->turn) != 0 ||
        (!env->relay_only && strcmp(argv[9], "direct") != 0))
        return FLOE_ERR_INVALID_ARG;
    return 0;
}

static struct scenario nat_scenario = {
    .floe_controlling = true,
    .nice_controlling = false,
    .nice_options = NICE_RFC8445,
    .consent_period = VARIANT_CONSENT,
};

static void behind_nats(void)
{
    current = &nat_scenario;
    run_scenario();
}

static int nat_main(int argc, char **argv)
{
    static struct nat_env env;

    if (nat_parse(argc, argv, &env) != 0) {
        fprintf(stderr,
                "usage: %s [nat NS_FLOE FLOE_IP NS_NICE NICE_IP TURN_IP:PORT USER PASS "
                "direct|relay|floe_relay]\n",
                argv[0]);
        return 2;
    }
    nat_scenario.nat = &env;
    nat_scenario.name = env.nice_stun_only ? "behind_nats__floe_relay"
                        : env.relay_only   ? "behind_nats__relay"
                                           : "behind_nats__direct";
    FLOE_RUN(behind_nats);
    return floe_test_summary();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return nat_main(argc, argv);
    FLOE_RUN(floe_controlling__libnice_controlled);
    FLOE_RUN(floe_controlled__libnice_controlling);
    FLOE_RUN(floe_controlled__libnice_controlling_aggressive);
    FLOE_RUN(conflict_controlling__floe_wins__floe_first);
    FLOE_RUN(conflict_controlling__floe_wins__libnice_first);
    FLOE_RUN(conflict_controlling__libnice_wins__floe_first);
    FLOE_RUN(conflict_controlling__libnice_wins__libnice_first);
    FLOE_RUN(conflict_controlled__floe_wins__floe_first);
    FLOE_RUN(conflict_controlled__floe_wins__libnice_first);
    FLOE_RUN(conflict_controlled__libnice_wins__floe_first);
    FLOE_RUN(conflict_controlled__libnice_wins__libnice_first);
    FLOE_RUN(restart__floe_controlling);
    FLOE_RUN(restart__floe_controlled);
    return floe_test_summary();
}
