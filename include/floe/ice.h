/*
 * floe ICE agent: RFC 8445 full ICE for one data stream with one component,
 * trickle (RFC 8838) and consent freshness (RFC 7675). Sans-IO: the agent never
 * opens a socket, never reads a clock and never draws randomness by itself.
 *
 * Driving pattern (DESIGN.md section 2): after every floe_ice_handle_* call or
 * command, drain floe_ice_poll_transmit until it returns 0, drain
 * floe_ice_poll_event until it returns 0, then re-arm the timer from
 * floe_ice_poll_timeout and call floe_ice_handle_timeout when it fires.
 *
 * The state model follows DESIGN.md section 1: "disconnected" is never terminal
 * by itself. New candidates that form new pairs send the agent back to
 * checking; only a disconnected state that lasts the whole grace period becomes
 * failed; an agent without pairs (remote candidates but no local ones, or the
 * other way round) waits up to the candidate timeout instead of failing, and so
 * does one whose pairs all failed while either side has not signalled
 * end-of-candidates (RFC 8838 section 8). Once a pair is selected the other
 * pairs' checks stop (RFC 8445 section 8.1.2); only consent runs, and the
 * checks of candidates that come later. One re-selection rule goes beyond RFC
 * 8445's single nomination: while a relayed pair is selected, a direct pair
 * (neither candidate relayed) whose checks succeed is nominated by the
 * controlling agent, and both agents select it once nominated (the relayed pair
 * carries data until then). A second one keeps that rule alive: while a relayed pair is
 * selected, direct pairs whose checks failed (UDP blocked between the peers for a while, NAT
 * mappings that came too late) are checked again, recheck_pairs of them at a time, the first
 * time recheck_interval after the selection and then at an interval doubling up to
 * recheck_interval_max; both agents do it, so each side's checks open its own NAT for the
 * other's, and a re-check that succeeds upgrades the selection as above. The re-checks never
 * touch the selected pair, its consent or the agent's state (it stays connected); they stop
 * once a direct pair is selected or the selection ends. An ICE restart is make-before-break:
 * the selected pair carries data until the new generation selects one.
 *
 * Candidates are given by the caller (the connection manager owns the sockets
 * and the TURN allocations). A relayed local candidate records its TURN server:
 * checks on it come out of floe_ice_poll_transmit as "send via relay R to peer
 * P" and the caller wraps them in TURN.
 */
#ifndef FLOE_ICE_H
#define FLOE_ICE_H

#include "floe/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Foundation: 1..32 ice-chars (RFC 8445 section 5.1.1.3). */
#define FLOE_ICE_FOUNDATION_MAX 32
/* ufrag 4..256 and pwd 22..256 chars (RFC 8445 section 5.3); floe keeps up to 64. */
#define FLOE_ICE_UFRAG_MAX 64
#define FLOE_ICE_PWD_MAX 64
/* Type preferences (RFC 8445 section 5.1.2.2). */
#define FLOE_ICE_TYPE_PREF_HOST 126
#define FLOE_ICE_TYPE_PREF_PRFLX 110
#define FLOE_ICE_TYPE_PREF_SRFLX 100
#define FLOE_ICE_TYPE_PREF_RELAY 0
/* Local preference used when a candidate gives none (RFC 8445 section 5.1.2.1). */
#define FLOE_ICE_LOCAL_PREF_DEFAULT 65535

enum floe_ice_role {
    FLOE_ICE_CONTROLLING = 0,
    FLOE_ICE_CONTROLLED = 1,
};

enum floe_ice_state {
    FLOE_ICE_NEW = 0,      /* no pair formed yet; waiting for candidates */
    FLOE_ICE_CHECKING,     /* pairs being checked, or waiting for candidates to form pairs */
    FLOE_ICE_CONNECTED,    /* a selected pair with fresh consent */
    FLOE_ICE_DISCONNECTED, /* no working pair; failed after the grace period (see above) */
    FLOE_ICE_FAILED,       /* terminal until floe_ice_restart */
    FLOE_ICE_CLOSED,       /* floe_ice_close was called; terminal */
};

/* Why the agent changed state (event data). */
enum floe_ice_reason {
    FLOE_ICE_REASON_NONE = 0,
    FLOE_ICE_REASON_CANDIDATES,    /* candidates or pairs changed */
    FLOE_ICE_REASON_CHECKS_FAILED, /* every pair failed its checks */
    FLOE_ICE_REASON_CONSENT_LOST,  /* no authenticated response for consent_timeout */
    FLOE_ICE_REASON_SELECTED,      /* a pair was selected */
    FLOE_ICE_REASON_GRACE_EXPIRED, /* disconnected for the whole grace period */
    FLOE_ICE_REASON_NO_CANDIDATES, /* no (working) pair within the candidate timeout */
    FLOE_ICE_REASON_RESTART,       /* floe_ice_restart */
    FLOE_ICE_REASON_CLOSED,        /* floe_ice_close */
};

enum floe_ice_cand_type {
    FLOE_ICE_HOST = 0,
    FLOE_ICE_SRFLX,
    FLOE_ICE_PRFLX,
    FLOE_ICE_RELAY,
};

/*
 * A candidate (RFC 8445 section 5.1). The agent copies it; the caller keeps
 * ownership of what it passed.
 */
struct floe_ice_candidate {
    enum floe_ice_cand_type type;
    struct floe_addr addr; /* transport address */
    /*
     * Local candidates only: the base (RFC 8445 section 5.1.1.1): the socket
     * address for host, server-reflexive and peer-reflexive candidates; the
     * relayed address itself for relayed ones. Zero family: addr is used.
     */
    struct floe_addr base;
    /*
     * Local candidates only: the STUN server that produced a server-reflexive
     * candidate, or the TURN server (relay R) holding a relayed candidate.
     * Required for relayed local candidates.
     */
    struct floe_addr server;
    uint32_t priority;   /* 0: computed from type, local_pref and component */
    uint16_t local_pref; /* used when priority is 0; 0 means FLOE_ICE_LOCAL_PREF_DEFAULT */
    uint8_t component;   /* 1..256; 0 means 1. Only component 1 forms pairs. */
    /* NUL-terminated; empty: computed (RFC 8445 section 5.1.1.3). */
    char foundation[FLOE_ICE_FOUNDATION_MAX + 1];
};

/*
 * Where a datagram goes or came from on the local side: directly from or to
 * the socket bound to `local` (a candidate's base), or through the TURN
 * allocation on server `relay` whose relayed address is `local`.
 */
struct floe_ice_path {
    struct floe_addr local;
    bool via_relay;
    struct floe_addr relay;
};

/* Metadata of one datagram written by floe_ice_poll_transmit. */
struct floe_ice_transmit {
    struct floe_ice_path path; /* send from path.local, or via TURN server path.relay */
    struct floe_addr remote;   /* destination: the peer's address (P when via_relay) */
    size_t len;                /* bytes written into the caller's buffer */
};

enum floe_ice_pair_state {
    FLOE_ICE_PAIR_FROZEN = 0,
    FLOE_ICE_PAIR_WAITING,
    FLOE_ICE_PAIR_IN_PROGRESS,
    FLOE_ICE_PAIR_SUCCEEDED,
    FLOE_ICE_PAIR_FAILED,
};

/* A snapshot of one candidate pair. */
struct floe_ice_pair_info {
    struct floe_ice_candidate local;
    struct floe_ice_candidate remote;
    struct floe_ice_path path; /* how datagrams on this pair are sent */
    uint64_t priority;         /* RFC 8445 section 6.1.2.3 */
    enum floe_ice_pair_state state;
    bool nominated;
};

enum floe_ice_event_type {
    FLOE_ICE_EV_STATE = 1,     /* u.state */
    FLOE_ICE_EV_SELECTED_PAIR, /* u.selected: the pair to send data on changed */
    FLOE_ICE_EV_LOCAL_PRFLX,   /* u.candidate: local peer-reflexive candidate learned */
    FLOE_ICE_EV_REMOTE_PRFLX,  /* u.candidate: remote peer-reflexive candidate learned */
    FLOE_ICE_EV_ROLE,          /* u.role: role switched by a role conflict */
};

/* An event: a tagged union, copied out by floe_ice_poll_event. */
struct floe_ice_event {
    enum floe_ice_event_type type;
    union {
        struct {
            enum floe_ice_state from;
            enum floe_ice_state to;
            enum floe_ice_reason reason;
        } state;
        struct {
            bool has_pair; /* false: no selected pair any more (stop sending data) */
            struct floe_ice_pair_info pair;
        } selected;
        struct floe_ice_candidate candidate;
        enum floe_ice_role role;
    } u;
};

/* Counters, monotonic over the agent's life (n_* are current sizes). */
struct floe_ice_stats {
    uint64_t checks_sent;          /* connectivity-check requests, first sends */
    uint64_t checks_retransmitted; /* connectivity-check retransmissions */
    uint64_t checks_restarted;   /* in-progress checks cancelled and started anew on a peer check */
    uint64_t consent_sent;       /* consent-freshness requests */
    uint64_t checks_received;    /* authenticated Binding requests received */
    uint64_t checks_answered;    /* success responses queued for them */
    uint64_t requests_rejected;  /* 400/401 error responses queued (RFC 8489 section 9.1.3) */
    uint64_t responses_received; /* authenticated responses matched to a check */
    uint64_t role_conflicts;     /* role conflicts detected (either way) */
    uint64_t pairs_formed;
    uint64_t pairs_pruned;    /* redundant pairs, each counted once (RFC 8445 section 6.1.2.4) */
    uint64_t pairs_dropped;   /* pairs removed or refused by the max_pairs bound */
    uint64_t pairs_cancelled; /* checks stopped by a nomination (RFC 8445 section 8.1.2) */
    uint64_t rechecks;        /* failed direct pairs checked again while relayed (see above) */
    uint64_t pairs_succeeded;
    uint64_t pairs_failed;
    uint64_t state_changes;
    uint64_t selected_changes;
    uint64_t restarts;
    uint64_t dropped;                 /* datagrams dropped, all reasons */
    uint64_t dropped_malformed;       /* not STUN, undecodable, bad fingerprint, bad attributes */
    uint64_t dropped_unauthenticated; /* wrong USERNAME or MESSAGE-INTEGRITY */
    /*
     * Error responses without MESSAGE-INTEGRITY (libnice answers 487 unsigned): dropped,
     * since an unsigned 487 anyone can forge would flip the agent's role. Not counted in
     * dropped_unauthenticated, which stays for wrong credentials.
     */
    uint64_t dropped_unsigned_errors;
    uint64_t dropped_unmatched; /* responses to no outstanding check, unknown local path */
    uint64_t dropped_overflow;  /* candidates, pairs, responses or events over capacity */
    size_t n_local;
    size_t n_remote;
    size_t n_pairs;
};

/* Timer profiles (DESIGN.md section 3). */
enum floe_ice_profile {
    /* Client: check RTO 250 ms doubling to 1.5 s, 12 sends (about 16.5 s). */
    FLOE_ICE_PROFILE_CLIENT = 0,
    /* Gateway: check RTO 250 ms doubling to 15 s, 45 sends (about 615 s). */
    FLOE_ICE_PROFILE_GATEWAY,
    /* Idle connection: slower checks and consent (floe's choice, not RFC 7675's 5 s). */
    FLOE_ICE_PROFILE_IDLE,
};

/*
 * Agent configuration, filled by floe_ice_config_default(). Every duration is
 * bounded: a dead selected path is declared disconnected after consent_timeout
 * and failed grace later; a pair's checks end after max_sends sends.
 */
struct floe_ice_config {
    struct floe_allocator alloc;
    struct floe_log log;
    struct floe_rng rng;          /* required: credentials, tie-breaker, transaction ids */
    enum floe_ice_role role;      /* initial role */
    uint64_t tie_breaker;         /* 0: drawn from rng */
    size_t max_local_candidates;  /* default 16 */
    size_t max_remote_candidates; /* default 32 */
    size_t max_pairs;             /* default 100; the lowest-priority pair is dropped */
    /* Events held until polled, default 64 (0 too); more are dropped (stats.dropped_overflow). */
    size_t max_events;
    floe_time ta;                 /* pacing of new checks (RFC 8445 section 14.2); 0 allowed */
    floe_time check_rto;          /* first retransmission timeout of a check */
    floe_time check_rto_max;      /* the RTO doubles up to this */
    uint32_t check_max_sends;     /* sends per check; the pair fails one RTO after the last */
    floe_time nomination_delay;   /* controlling: wait this long for a better pair */
    floe_time disconnected_grace; /* disconnected this long becomes failed; default 2 s */
    /*
     * No pair this long fails, and so do pairs that all failed this long while
     * candidates may still trickle; 0: no pair counts as disconnected once a remote
     * candidate is known (local candidates alone are still waiting for the peer).
     */
    floe_time candidate_timeout;
    /*
     * RFC 7675: 5 s, randomised to 0.8..1.2; 0 disables. Consent requests on the
     * selected pair also serve as the keepalives of RFC 8445 section 11.
     */
    floe_time consent_interval;
    floe_time consent_timeout; /* RFC 7675: 30 s without an authenticated response */
    /*
     * Re-checks of failed direct pairs while a relayed pair is selected (see above; the
     * profiles leave them alone). The first round comes recheck_interval after the relayed
     * selection, each next one after twice the wait before, up to recheck_interval_max, each
     * wait randomised to 0.8..1.2; a round puts up to recheck_pairs failed direct pairs (the
     * least re-checked first, then the highest priority) back to Waiting, and each of their
     * checks ends after recheck_sends sends (at most check_max_sends). recheck_interval 0
     * disables them.
     */
    floe_time recheck_interval;     /* default 5 s */
    floe_time recheck_interval_max; /* default 60 s; below recheck_interval: recheck_interval */
    uint32_t recheck_pairs;         /* pairs per round, default 4; 0 disables */
    uint32_t recheck_sends;         /* sends per re-check, default 5; 0: check_max_sends */
};

/* Fill cfg with the client profile, no hooks, role controlling, capacities above. */
void floe_ice_config_default(struct floe_ice_config *cfg);
/* Overwrite only the timers of cfg with those of profile. */
void floe_ice_config_profile(struct floe_ice_config *cfg, enum floe_ice_profile profile);

/* The agent. Opaque; one agent belongs to one thread. */
struct floe_ice_agent;

/*
 * Create an agent at now with fresh local credentials (8-char ufrag, 24-char
 * password from cfg->rng). cfg is copied.
 * Returns 0 and sets *out, FLOE_ERR_INVALID_ARG (NULL, no rng, zero capacity,
 * check_max_sends 0, check_rto 0), FLOE_ERR_NOMEM or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_ice_new(struct floe_ice_agent **out, const struct floe_ice_config *cfg,
                                  floe_time now);
/* Free the agent (NULL allowed); credentials are wiped. */
void floe_ice_free(struct floe_ice_agent *agent);

/*
 * The local credentials to signal to the peer. Both strings are owned by the
 * agent and valid until the next floe_ice_restart or floe_ice_free.
 */
void floe_ice_get_local_credentials(const struct floe_ice_agent *agent, const char **ufrag,
                                    const char **pwd);

/*
 * Use ufrag and pwd (copied) as the local credentials instead of the generated ones: the
 * signalling layer's (a portal that hands both sides both sides' credentials). Allowed until
 * a check is sent or answered with the current local credentials (after floe_ice_restart,
 * again until then); the same credentials again change nothing.
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL, ufrag 4..64 or pwd 22..64 ice-chars violated,
 * RFC 8445 section 5.3), FLOE_ERR_STATE (closed, or the credentials already in use) or
 * FLOE_ERR_CRYPTO.
 */
int floe_ice_set_local_credentials(struct floe_ice_agent *agent, floe_time now, const char *ufrag,
                                   const char *pwd);

/*
 * Retime a running agent with the timers of profile (check pacing and retransmissions,
 * consent interval and timeout, as floe_ice_config_profile), keeping the configured
 * disconnected_grace and candidate_timeout: a connection going idle slows its checks and
 * consent (FLOE_ICE_PROFILE_IDLE), and speeds them up again on its next packet. Checks
 * already in flight keep their timeout; the next consent request is re-timed at once.
 * Returns 0 or FLOE_ERR_INVALID_ARG (NULL, profile outside the enum).
 */
int floe_ice_set_profile(struct floe_ice_agent *agent, floe_time now,
                         enum floe_ice_profile profile);

/*
 * Set the peer's credentials (strings copied). Checks are sent only once they
 * are known. Different credentials from those already set mean the peer
 * restarted: remote candidates and pairs are dropped, except the selected pair,
 * which stays selected with the old credentials (and keeps its consent) until a
 * pair of the new credentials is selected (make-before-break).
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL, ufrag 1..64 or pwd 1..64 chars violated),
 * FLOE_ERR_STATE (closed) or FLOE_ERR_CRYPTO.
 */
int floe_ice_set_remote_credentials(struct floe_ice_agent *agent, floe_time now, const char *ufrag,
                                    const char *pwd);

/*
 * Add a local candidate (copied; priority and foundation computed when left 0
 * or empty). Pairs are formed at once with every remote candidate.
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL, no address family, relayed without
 * server, foundation not NUL-terminated), FLOE_ERR_STATE (closed or failed),
 * FLOE_ERR_NOMEM (max_local_candidates reached). Adding a candidate already
 * present (same type and address) returns 0 and changes nothing.
 */
int floe_ice_add_local_candidate(struct floe_ice_agent *agent, floe_time now,
                                 const struct floe_ice_candidate *cand);
/*
 * Add a remote candidate from signalling (trickled at any time). A remote
 * peer-reflexive candidate already learned at the same address is upgraded.
 * Returns as floe_ice_add_local_candidate (max_remote_candidates for NOMEM).
 */
int floe_ice_add_remote_candidate(struct floe_ice_agent *agent, floe_time now,
                                  const struct floe_ice_candidate *cand);
/*
 * Invalidate one candidate (matched by type and address) and its pairs,
 * without a restart. If the selected pair used it, the selection is cleared.
 * Returns 0, FLOE_ERR_INVALID_ARG or FLOE_ERR_NOT_FOUND.
 */
int floe_ice_remove_local_candidate(struct floe_ice_agent *agent, floe_time now,
                                    const struct floe_ice_candidate *cand);
int floe_ice_remove_remote_candidate(struct floe_ice_agent *agent, floe_time now,
                                     const struct floe_ice_candidate *cand);
/*
 * End-of-candidates (RFC 8838 section 8) from this side or from the peer.
 * With both signalled and no pair left, the agent stops waiting for candidates.
 * Returns 0 or FLOE_ERR_INVALID_ARG.
 */
int floe_ice_end_of_local_candidates(struct floe_ice_agent *agent, floe_time now);
int floe_ice_end_of_remote_candidates(struct floe_ice_agent *agent, floe_time now);

/*
 * ICE restart (RFC 8445 section 9): new local credentials, remote credentials
 * and remote candidates forgotten, pairs dropped, the role kept. Local
 * candidates are kept when keep_local_candidates, dropped otherwise.
 * Make-before-break: a connected agent keeps its selected pair, its consent
 * (checked and answered with the old credentials) and stays connected until a
 * pair of the new generation is selected or the old pair loses consent; its
 * candidates are not listed any more. Leaves failed or disconnected for
 * checking (or new without pairs).
 * Returns 0, FLOE_ERR_INVALID_ARG, FLOE_ERR_STATE (closed) or FLOE_ERR_CRYPTO.
 */
int floe_ice_restart(struct floe_ice_agent *agent, floe_time now, bool keep_local_candidates);
/* Close: no more transmits or timers; state closed. Returns 0 or FLOE_ERR_INVALID_ARG. */
int floe_ice_close(struct floe_ice_agent *agent, floe_time now);

/*
 * Feed one datagram that arrived at now from `from` over path (the local base it
 * arrived on, or "via relay R" with the relayed address). buf is borrowed for
 * the call. Peer input never fails the agent: a datagram it cannot use is
 * dropped, counted and logged at debug level.
 * Returns 0 if the datagram was used, FLOE_ERR_INVALID_ARG for NULL arguments,
 * or the reason it was dropped: FLOE_ERR_NOT_STUN, FLOE_ERR_MALFORMED,
 * FLOE_ERR_FINGERPRINT, FLOE_ERR_INTEGRITY, FLOE_ERR_NOT_FOUND (no matching
 * check or local candidate), FLOE_ERR_STATE (closed or failed) or
 * FLOE_ERR_NOMEM (over capacity).
 */
int floe_ice_handle_input(struct floe_ice_agent *agent, floe_time now,
                          const struct floe_ice_path *path, const struct floe_addr *from,
                          const uint8_t *buf, size_t len);
/* Fire everything due at or before now. Returns 0 or FLOE_ERR_INVALID_ARG. */
int floe_ice_handle_timeout(struct floe_ice_agent *agent, floe_time now);
/*
 * Write the next due datagram into buf[0..cap) and its metadata into *out.
 * Returns 1 (written), 0 (nothing due), FLOE_ERR_INVALID_ARG or
 * FLOE_ERR_BUFFER_TOO_SMALL (the datagram stays due; 548 bytes always suffice).
 */
int floe_ice_poll_transmit(struct floe_ice_agent *agent, floe_time now, uint8_t *buf, size_t cap,
                           struct floe_ice_transmit *out);
/* Copy the oldest pending event into *ev. Returns 1, 0 (none) or FLOE_ERR_INVALID_ARG. */
int floe_ice_poll_event(struct floe_ice_agent *agent, struct floe_ice_event *ev);
/* The next deadline for floe_ice_handle_timeout; FLOE_TIME_NEVER when none. */
floe_time floe_ice_poll_timeout(const struct floe_ice_agent *agent);

enum floe_ice_state floe_ice_get_state(const struct floe_ice_agent *agent);
enum floe_ice_role floe_ice_get_role(const struct floe_ice_agent *agent);
/* The selected pair into *out. Returns 0 or FLOE_ERR_NOT_FOUND (none). */
int floe_ice_get_selected_pair(const struct floe_ice_agent *agent, struct floe_ice_pair_info *out);
/* Copy up to max pairs, highest priority first; returns the number copied. */
size_t floe_ice_get_pairs(const struct floe_ice_agent *agent, struct floe_ice_pair_info *out,
                          size_t max);
/* Copy up to max local (or remote) candidates; returns the number copied. */
size_t floe_ice_get_local_candidates(const struct floe_ice_agent *agent,
                                     struct floe_ice_candidate *out, size_t max);
size_t floe_ice_get_remote_candidates(const struct floe_ice_agent *agent,
                                      struct floe_ice_candidate *out, size_t max);
/* Copy the counters into *out. */
void floe_ice_get_stats(const struct floe_ice_agent *agent, struct floe_ice_stats *out);

/* RFC 8445 section 5.1.2.1: 2^24 * type_pref + 2^8 * local_pref + (256 - component). */
uint32_t floe_ice_candidate_priority(enum floe_ice_cand_type type, uint16_t local_pref,
                                     uint8_t component);
/* RFC 8445 section 6.1.2.3: 2^32 * MIN(G,D) + 2 * MAX(G,D) + (G > D ? 1 : 0). */
uint64_t floe_ice_pair_priority(uint32_t controlling_prio, uint32_t controlled_prio);
/* Type preference of type (FLOE_ICE_TYPE_PREF_*). */
uint8_t floe_ice_type_preference(enum floe_ice_cand_type type);
/* "new", "checking", ...; "host", "srflx", "prflx", "relay"; "unknown" otherwise. */
const char *floe_ice_state_name(enum floe_ice_state state);
const char *floe_ice_cand_type_name(enum floe_ice_cand_type type);

#ifdef __cplusplus
}
#endif

#endif
