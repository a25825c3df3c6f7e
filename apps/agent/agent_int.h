/* floe_agent's internals, shared by its portable files and its platform files. */
#ifndef FLOE_AGENT_INT_H
#define FLOE_AGENT_INT_H

#include "agent.h"
#include "floe_io.h"

/* Datagrams and packets handled per batch. */
#define AGENT_BATCH 64
/* Room for one decrypted packet after the TUN headroom. */
#define AGENT_PLAIN_MAX 2048
/*
 * Receive and send buffer of each UDP socket (as floe-wg's): one round trip of a fast TCP flow
 * through the tunnel in bursts of UDP GRO/GSO messages; the kernel's default (about 200 KiB)
 * overflowed at the gateway under one iperf3 flow (nstat UdpRcvbufErrors, TCP retransmits).
 */
#define AGENT_UDP_SOCKBUF (8 << 20)
/* Relays remembered by id (init and relays_presence). */
#define AGENT_RELAYS_MAX FLOE_PORTAL_RELAYS_MAX

/* Socket slots: index 0 IPv4, 1 IPv6. */
enum { AGENT_V4 = 0, AGENT_V6 = 1 };

struct agent_conn {
    bool used;
    uint64_t cid;
    char peer[FLOE_PORTAL_ID_MAX];
};

struct agent_relay {
    bool used;
    char id[FLOE_PORTAL_ID_MAX];
    struct floe_addr addr;
};

/* Candidates that came for a peer before its connection (the gateway's may overtake the
 * authorization): kept until the connection is made, the oldest stash reused. */
#define AGENT_EARLY_PEERS 8
struct agent_early {
    char peer[FLOE_PORTAL_ID_MAX];
    uint32_t n;
    char cands[FLOE_PORTAL_CANDIDATES_MAX][FLOE_PORTAL_CANDIDATE_MAX];
    floe_time at;
};

/* The portal session: the program's TCP connection under the protocol client. */
struct agent_portal {
    char host[256];
    char path[512];
    uint16_t port;
    bool tls;
    int fd;              /* -1: none */
    bool connecting;     /* connect(2) in progress */
    floe_time deadline;  /* of the connect in progress */
    floe_time reconnect; /* when to open the next connection; FLOE_TIME_NEVER: none due */
    struct floe_portal_client *pc;
    struct floe_portal_msg *msg; /* the message being handled (a copy) */
    uint8_t out[65536];          /* bytes the socket has not taken yet: out[out_off..out_len) */
    size_t out_len, out_off;
    bool announced;             /* a gateway's own candidates went out since the last join */
    uint64_t announced_version; /* ... as floe_node_local_candidates_version was then */
    char cands[FLOE_PORTAL_CANDIDATES_MAX][FLOE_ICE_CANDIDATE_STR_MAX]; /* ... their text */
};

/* The network the node last reset on (roam.c). */
struct agent_roam {
    uint64_t fp;          /* its fingerprint (floe__agent_sys_net_fp); 0: none usable */
    bool lost;            /* the network was not usable since (a reset is due once it is) */
    bool reset_once;      /* last_reset is set */
    floe_time last_reset; /* the last reset (resets are spaced by FLOE_AGENT_ROAM_DEBOUNCE) */
};

/* What a network change asks for (floe__agent_roam_decide). */
enum agent_roam_act {
    AGENT_ROAM_NONE,  /* nothing the node uses changed */
    AGENT_ROAM_NOW,   /* a new network is usable: reset now */
    AGENT_ROAM_LATER, /* reset at *at unless another change decides before */
};

struct agent_counters {
    uint64_t no_route;    /* TUN packets no connection was found for */
    uint64_t encap_fail;  /* packets the node refused */
    uint64_t decap_big;   /* datagrams too long for a decrypt buffer */
    uint64_t rejected;    /* decrypted packets the role refused */
    uint64_t resets;      /* node resets (roaming, SIGHUP) */
    uint64_t net_changes; /* network changes seen */
};

struct floe_agent {
    struct floe_agent_config cfg;
    char token[1024];
    struct floe_jsonlog *log;
    struct floe_agent_role role;
    struct floe_node *node;
    struct floe_io_pool *pool;
    struct agent_portal portal;
    int udp[2];
    struct floe_addr host[2]; /* the first host address of each family (the node's socket) */
    struct floe_io_sender snd[2];
    struct floe_io_txq txq[2];
    struct floe_io_receiver rcv;
    struct floe_io_tun *tun;
    struct floe_io_segq segq;
    struct floe_node_encap encap[AGENT_BATCH];
    struct floe_node_decap decap[AGENT_BATCH];
    uint8_t (*plain)[FLOE_IO_TUN_HEADROOM + AGENT_PLAIN_MAX];
    uint8_t txbuf[FLOE_NODE_TRANSMIT_MAX]; /* floe_node_poll_transmit's datagram */
    struct agent_conn *conns;
    struct agent_relay relays[AGENT_RELAYS_MAX];
    struct agent_early early[AGENT_EARLY_PEERS];
    struct floe_portal_interface iface; /* addresses on the TUN now */
    bool joined_once;
    floe_time reset_at; /* debounced node reset; FLOE_TIME_NEVER: none */
    struct agent_roam roam;
    bool stop;
    int exit_code;
    struct agent_counters ctr;
    struct agent_loop *loop; /* platform */
};

/* ---- agent.c */
/* The OS's randomness as a floe_rng. */
struct floe_rng floe__agent_rng(void);
void floe__agent_log(struct floe_agent *a, enum floe_log_level lv, const char *fmt, ...)
    FLOE_PRINTF(3, 4);
/* Drain the node's transmits and events and the portal's; flush the UDP queues. */
void floe__agent_drain(struct floe_agent *a, floe_time now);
/* The earliest deadline of everything the loop waits for. */
floe_time floe__agent_next_deadline(const struct floe_agent *a);
/* Fire what is due at now. */
void floe__agent_timeout(struct floe_agent *a, floe_time now);
/* The network changed (watcher): reset now, later or not at all (floe__agent_roam_decide). */
void floe__agent_net_changed(struct floe_agent *a, floe_time now);
/* Reset the node now: host addresses re-read. */
void floe__agent_reset(struct floe_agent *a, floe_time now);
/* Write the status (JSON object) into buf. Returns its length or a negative error. */
long floe__agent_status(struct floe_agent *a, char *buf, size_t cap);

/* ---- roam.c */
/*
 * A network change at now with the network's fingerprint fp (0: no usable default route):
 * AGENT_ROAM_NOW when fp differs from the one of the last reset (or the network was lost
 * since) and the last reset is FLOE_AGENT_ROAM_DEBOUNCE old; AGENT_ROAM_LATER with *at the
 * end of that spacing, or now + FLOE_AGENT_ROAM_DEBOUNCE when fp is 0 (marks r lost);
 * AGENT_ROAM_NONE when fp is the last reset's.
 */
enum agent_roam_act floe__agent_roam_decide(struct agent_roam *r, floe_time now, uint64_t fp,
                                            floe_time *at);
/* The node was reset at now on the network fp (also the start). */
void floe__agent_roam_done(struct agent_roam *r, floe_time now, uint64_t fp);

/* ---- portal.c */
int floe__agent_portal_init(struct floe_agent *a);
void floe__agent_portal_free(struct floe_agent *a);
/* Start a TCP connection when one is due. */
void floe__agent_portal_tick(struct floe_agent *a, floe_time now);
/* The socket is readable (or writable while connecting). */
void floe__agent_portal_io(struct floe_agent *a, floe_time now, bool writable);
/* Write what the protocol client has to send; drain its events. */
void floe__agent_portal_drain(struct floe_agent *a, floe_time now);
floe_time floe__agent_portal_deadline(const struct floe_agent *a);
/* The network changed (or SIGHUP): drop the portal's TCP connection (its address may be gone,
 * or its NAT mapping) and connect again at once; what the protocol client sends meanwhile is
 * held. Called before the node's reset, so the new candidates wait for the new join. */
void floe__agent_portal_renew(struct floe_agent *a, floe_time now);
/* Give connection cid of peer the candidates that came for it before it existed. */
void floe__agent_early_apply(struct floe_agent *a, floe_time now, uint64_t cid, const char *peer);
/* Portal messages -> node (the agent's part; the rest goes to the role). */
void floe__agent_portal_message(struct floe_agent *a, floe_time now,
                                const struct floe_portal_msg *m, bool joined);

/* ---- data.c */
int floe__agent_data_init(struct floe_agent *a);
void floe__agent_data_free(struct floe_agent *a);
/* Read the TUN until it is empty (bounded), encrypt, queue. */
void floe__agent_tun_readable(struct floe_agent *a, floe_time now);
/* Read socket slot s until empty (bounded), decrypt, write to the TUN. */
void floe__agent_udp_readable(struct floe_agent *a, int s, floe_time now);
/* Send what the UDP queues hold. */
void floe__agent_udp_flush(struct floe_agent *a);
/* The transmit queue slot for a datagram from local's family (flushing it when full). */
struct floe_io_tx *floe__agent_tx_slot(struct floe_agent *a, const struct floe_addr *local, int *s);

/* ---- platform (loop_linux.c, sys_linux.c; loop_win.c, sys_win.c) */
/* What the socket calls below return when a non-blocking socket has nothing to do now. */
#define AGENT_WOULD_BLOCK FLOE_ERR_TIMEOUT
/* recv on a stream socket: bytes read (> 0), AGENT_WOULD_BLOCK, or FLOE_ERR_IO (closed, failed). */
long floe__agent_sys_recv(int fd, uint8_t *buf, size_t cap);
/* send without SIGPIPE: bytes taken (> 0), AGENT_WOULD_BLOCK or FLOE_ERR_IO. */
long floe__agent_sys_send(int fd, const uint8_t *buf, size_t len);
/* After a non-blocking connect reported done: NULL connected, else why not (a static text). */
const char *floe__agent_sys_connect_error(int fd);
/* Processors online (at least 1). */
unsigned floe__agent_sys_cpus(void);
/* The loop's state, and the signals it handles blocked (before any thread is made). */
int floe__agent_loop_new(struct floe_agent *a);
/* Open the loop's descriptors (the TUN exists). */
int floe__agent_loop_open(struct floe_agent *a);
void floe__agent_loop_free(struct floe_agent *a);
/* Watch (or stop watching, fd < 0 ignored) the portal socket; out: also writability. */
void floe__agent_loop_portal_fd(struct floe_agent *a, int fd, bool out);
void floe__agent_loop_portal_fd_del(struct floe_agent *a, int fd);
int floe__agent_loop_run(struct floe_agent *a);
/*
 * The network as the node sees it: a non-zero hash of the usable host addresses and of the
 * source address of the default route (floe's mark), 0 when no default route is usable or
 * the platform does not tell (then every change resets after the debounce).
 */
uint64_t floe__agent_sys_net_fp(struct floe_agent *a);
/* Add the host addresses of the machine (not loopback, not the TUN) to the node. */
void floe__agent_sys_hosts(struct floe_agent *a, floe_time now);
/* Put the tunnel addresses on the TUN (replacing the old ones) and bring it up. */
int floe__agent_sys_iface(struct floe_agent *a, const struct floe_portal_interface *ifc);
/* Open a UDP socket of family slot s (wildcard, any port), marked. */
int floe__agent_sys_udp(struct floe_agent *a, int s);
/* A TCP socket connecting (non-blocking) to to, marked. Returns the fd or a negative error. */
int floe__agent_sys_tcp_connect(struct floe_agent *a, const struct floe_addr *to);

#endif
