/*
 * Private to the portal protocol client (client.c, client_recv.c, client_send.c).
 */
#ifndef FLOE_PORTAL_CLIENT_INT_H
#define FLOE_PORTAL_CLIENT_INT_H

#include "floe/portal.h"
#include "floe/portal_wire.h"

/* Scratch for encoding one outbound message (the largest a device sends is a candidates one). */
#define FLOE__PC_SCRATCH (64 * 1024)
/* Longest copied config string (host, path, token, ...), NUL included. */
#define FLOE__PC_STR_MAX 1025

/* One candidate message held while not joined, or sent and not yet confirmed. */
struct floe__pc_held {
    enum floe_portal_msg_type type;
    struct floe_portal_candidates cands;
    uint64_t mark; /* sent: next_ref then; a reply to any ref >= mark confirms it */
};

/* One queued event; msg is owned by the queue until the event is polled. */
struct floe__pc_event {
    struct floe_portal_client_event ev;
    struct floe_portal_msg *msg;
};

struct floe_portal_client {
    struct floe_portal_client_config cfg; /* strings point into the copies below */
    char *host, *path, *token, *user_agent, *ca_file, *server_name;
    enum floe_portal_client_state state;
    struct floe_wsconn *ws; /* the current (or the last lost) connection */
    uint64_t next_ref;
    char join_ref[FLOE_PORTAL_REF_MAX];
    char hb_ref[FLOE_PORTAL_REF_MAX];
    bool hb_outstanding;
    uint32_t hb_missed;
    floe_time hb_next;
    uint32_t attempt; /* consecutive reconnects since the last join */

    struct floe__pc_held **held; /* ring of cfg.hold_max */
    size_t held_head, held_n;
    struct floe__pc_held **spare; /* cfg.hold_max: the hold's other ring while re-holding */
    /* Candidate messages written on the current connection that no reply has confirmed yet
     * (oldest first, at most cfg.hold_max): held again when the connection is lost. */
    struct floe__pc_held **unconf;
    size_t unconf_n;

    struct floe__pc_event events[FLOE_PORTAL_CLIENT_EVENTS];
    size_t ev_head, ev_n;
    struct floe_portal_msg *lent; /* msg of the last polled event, freed on the next call */

    char *scratch; /* FLOE__PC_SCRATCH bytes */
    struct floe_portal_client_stats stats;
};

/* The topic of c's role. */
enum floe_portal_topic floe__pc_topic(const struct floe_portal_client *c);

/* Free the message lent by the last poll_event (every entry point calls it first). */
void floe__pc_reclaim(struct floe_portal_client *c);

/* Queue an event (msg owned by the queue, may be NULL); the oldest is dropped when full. */
void floe__pc_emit(struct floe_portal_client *c, const struct floe_portal_client_event *ev,
                   struct floe_portal_msg *msg);

/*
 * The connection is lost (reason, err, HTTP status): DISCONNECTED then RECONNECT_AT, or
 * FATAL for status 401 (the upgrade refused, or the join answered "unauthorized").
 */
void floe__pc_lost(struct floe_portal_client *c, floe_time now, int err, int status,
                   const char *reason);

/* Next ref as a decimal string into out[FLOE_PORTAL_REF_MAX]. */
void floe__pc_new_ref(struct floe_portal_client *c, char *out);

/* Encode m (topic and ref set) and queue it on the connection. 0 or a negative error. */
int floe__pc_write(struct floe_portal_client *c, floe_time now, const struct floe_portal_msg *m);

/* Send phx_join on the role's topic (the WebSocket just opened). */
void floe__pc_join(struct floe_portal_client *c, floe_time now);

/* Send the held messages in order and empty the hold (after a successful join). */
void floe__pc_flush_held(struct floe_portal_client *c, floe_time now);

/* Free every held message, and every unconfirmed one. */
void floe__pc_clear_held(struct floe_portal_client *c);

/* A reply to ref arrived: the candidate messages sent before that ref were delivered. */
void floe__pc_confirmed(struct floe_portal_client *c, const char *ref);

/*
 * The connection is lost: hold the unconfirmed candidate messages again, before what is held
 * already (TCP may have taken them and died: firezone#14300 in another guise).
 */
void floe__pc_hold_unconfirmed(struct floe_portal_client *c);

/* Process the connection's events and messages after input or a timeout. */
void floe__pc_pump(struct floe_portal_client *c, floe_time now);

#endif
