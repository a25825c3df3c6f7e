/*
 * A whole floe-relay in the test's process (relayd_start, every worker thread) on a free
 * loopback port, and a small TURN client over real UDP sockets, for the relayd_*_test
 * programs. Include after test.h.
 */
#ifndef FLOE_RELAYD_HARNESS_H
#define FLOE_RELAYD_HARNESS_H

#include <unistd.h>

#include "floe/stun.h"
#include "floe_io.h"
#include "relayd.h"

struct rh_daemon {
    struct relayd d;
    struct floe_addr server;
};

struct rh_client {
    int fd;
    struct floe_addr server;
    const char *user, *pass;
    char nonce[128], realm[64];
    uint8_t key[16];
    struct floe_stun_msg ans;
    uint8_t resp[1500];
    struct floe_addr relayed;
    struct floe_addr peer; /* XOR-PEER-ADDRESS of CreatePermission requests */
};

/* A free loopback port (UDP and TCP bound once, then closed). */
static inline uint16_t rh_free_port(void)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0), a;
    int fd = floe_io_udp_open(&lo);

    if (fd < 0 || floe_io_udp_local(fd, &a) < 0)
        a.port = 0;
    floe_io_close(fd);
    return a.port;
}

/*
 * Parse "floe-relay" and the arguments up to the first NULL of args[0..n) into o, with
 * err emptied first. relayd_parse_args's result.
 */
static inline int rh_parse(struct relayd_opts *o, char *err, size_t cap, const char *const *args,
                           size_t n)
{
    char *argv[16] = {"floe-relay"};
    int argc = 1;
    size_t i;

    for (i = 0; i < n && args[i] && argc < 16; i++)
        argv[argc++] = (char *)args[i];
    err[0] = '\0';
    return relayd_parse_args(argc, argv, o, err, cap);
}

/*
 * Parse "--listen 127.0.0.1:<free>" plus the NULL-terminated extra arguments and start the
 * daemon. 0 or -1.
 */
static inline int rh_start(struct rh_daemon *t, const char *const *extra)
{
    char listen[64], err[256];
    char *argv[48] = {"floe-relay", "--listen", listen, "--log-level", "off"};
    int argc = 5;

    memset(t, 0, sizeof(*t));
    t->server = floe_addr_v4(127, 0, 0, 1, rh_free_port());
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", t->server.port);
    while (extra && *extra && argc < 47)
        argv[argc++] = (char *)*extra++;
    if (relayd_parse_args(argc, argv, &t->d.opts, err, sizeof(err)) != 0) {
        fprintf(stderr, "  rh_start: %s\n", err);
        return -1;
    }
    if (floe_jsonlog_open(&t->d.log, NULL, FLOE_LOG_OFF) < 0)
        return -1;
    return relayd_start(&t->d) == 0 ? 0 : -1;
}

static inline void rh_stop(struct rh_daemon *t)
{
    relayd_stop(&t->d);
    floe_jsonlog_close(&t->d.log);
}

static inline int rh_client_open(struct rh_client *c, const struct rh_daemon *t, const char *user,
                                 const char *pass)
{
    struct floe_addr lo = floe_addr_v4(127, 0, 0, 1, 0);

    memset(c, 0, sizeof(*c));
    c->fd = floe_io_udp_open(&lo);
    c->server = t->server;
    c->user = user;
    c->pass = pass;
    return c->fd >= 0 ? 0 : -1;
}

static inline void rh_client_close(struct rh_client *c)
{
    floe_io_close(c->fd);
    c->fd = -1;
}

/* One request (authenticated once a nonce is known) and its answer in c->ans. 0 or -1. */
static inline int rh_request(struct rh_client *c, uint16_t method, uint32_t lifetime)
{
    static uint32_t txid_seq;
    struct floe_stun_builder b;
    struct floe_addr from;
    uint8_t req[512], txid[12] = {0x52, 0x48};
    long n;
    int tries;

    txid_seq++;
    memcpy(txid + 8, &txid_seq, 4);
    txid[2] = (uint8_t)getpid();
    floe_stun_build_init(&b, req, sizeof(req), method, FLOE_STUN_REQUEST, txid);
    if (method == FLOE_STUN_ALLOCATE)
        floe_stun_add_requested_transport(&b, 17);
    if (method == FLOE_STUN_REFRESH)
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, lifetime);
    if (method == FLOE_STUN_CREATE_PERMISSION)
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &c->peer);
    if (c->nonce[0]) {
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_USERNAME, c->user, strlen(c->user));
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_REALM, c->realm, strlen(c->realm));
        floe_stun_add_bytes(&b, FLOE_STUN_ATTR_NONCE, c->nonce, strlen(c->nonce));
        floe_stun_add_integrity_key(&b, c->key, sizeof(c->key));
    }
    n = floe_stun_build_finish(&b);
    for (tries = 0; n > 0 && tries < 10; tries++) {
        long got;

        if (floe_io_udp_send(c->fd, &c->server, req, (size_t)n) < 0)
            return -1;
        got =
            floe_io_udp_recv(c->fd, c->resp, sizeof(c->resp), &from, floe_io_now() + FLOE_MS(500));
        if (got > 0 && floe_stun_decode(&c->ans, c->resp, (size_t)got) == 0 &&
            memcmp(c->ans.txid, txid, sizeof(txid)) == 0)
            return 0;
    }
    return -1;
}

/* The error code of c->ans, 0 for a success, -1 when it has none. */
static inline int rh_code(const struct rh_client *c)
{
    struct floe_span reason;
    int code;

    if (c->ans.cls == FLOE_STUN_SUCCESS)
        return 0;
    return floe_stun_get_error(&c->ans, &code, &reason) == 0 ? code : -1;
}

/* Learn realm and nonce from a 401/438 in c->ans and derive the key. 0 or -1. */
static inline int rh_learn(struct rh_client *c)
{
    if (floe_stun_get_string(&c->ans, FLOE_STUN_ATTR_NONCE, c->nonce, sizeof(c->nonce)) != 0 ||
        floe_stun_get_string(&c->ans, FLOE_STUN_ATTR_REALM, c->realm, sizeof(c->realm)) != 0)
        return -1;
    return floe_stun_long_term_key_md5(c->key, floe_span_make(c->user, strlen(c->user)),
                                       floe_span_make(c->realm, strlen(c->realm)),
                                       floe_span_make(c->pass, strlen(c->pass)));
}

/*
 * Allocate through the 401 (and 438) dance. Returns the final answer's code (0 success,
 * c->relayed set), or -1 when the relay did not answer.
 */
static inline int rh_allocate(struct rh_client *c)
{
    int tries, code = -1;

    c->nonce[0] = '\0';
    for (tries = 0; tries < 3; tries++) {
        if (rh_request(c, FLOE_STUN_ALLOCATE, 0) < 0)
            return -1;
        code = rh_code(c);
        if ((code != 401 || c->nonce[0]) && code != 438)
            break;
        if (rh_learn(c) < 0)
            return -1;
    }
    if (code == 0 &&
        floe_stun_get_xor_addr(&c->ans, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &c->relayed) < 0)
        return -1;
    return code;
}

#endif
