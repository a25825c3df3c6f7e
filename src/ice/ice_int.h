/*
 * Internals of the ICE agent, shared by the files of src/ice/.
 *
 * Candidates live in fixed slots (a slot index never moves while the candidate
 * lives); pairs are a packed array ordered by nothing, referring to slots.
 */
#ifndef FLOE_ICE_INT_H
#define FLOE_ICE_INT_H

#include "floe/crypto.h"
#include "floe/ice.h"
#include "floe/stun.h"

#define ICE_NONE (-1)
/*
 * Cancelled checks (RFC 8445 section 7.3.1.4) whose answers still count, per pair. The
 * RFC waits a transaction timeout for each; when the peer's checks arrive faster than
 * one round trip, several are outstanding at once, and remembering only the last one
 * let every answer miss (both sides kept cancelling, no pair ever succeeded).
 */
#define ICE_PREV_TXIDS 8
/* Responses (and 487 errors) waiting for poll_transmit. */
#define ICE_RESPONSE_CAP 16
/* Pending events by default (config max_events); the caller drains them after every call. */
#define ICE_EVENT_CAP 64
/*
 * The pair table and the event ring start this big and double when full, up to max_pairs and
 * max_events: a connection forms a handful of pairs and its caller drains the events after
 * every call, so the bounds (a few dozen pairs, 64 events: 20 KB) are seldom reached, and an
 * agent allocated at its bounds spread a timer wakeup's few lines over three times the pages.
 */
#define ICE_PAIRS_START 8
#define ICE_EVENTS_START 8
/* Outstanding consent requests remembered for matching responses. */
#define ICE_CONSENT_TXIDS 4
/*
 * Re-checks of failed direct pairs while relayed (recheck.c; config defaults): the first round
 * 5 s after the relayed selection, the wait doubling to 60 s; 4 pairs a round, 5 sends each
 * (about 5 s of retransmissions on the client profile). Firezone's snownet re-checks too.
 */
#define ICE_RECHECK_INTERVAL FLOE_SEC(5)
#define ICE_RECHECK_INTERVAL_MAX FLOE_SEC(60)
#define ICE_RECHECK_PAIRS 4
#define ICE_RECHECK_SENDS 5
#define ICE_UFRAG_LEN 8
#define ICE_PWD_LEN 24
/* Large enough for any request or response the agent builds. */
#define ICE_MSG_MAX 548

struct ice_cand {
    bool used;
    /* Forgotten by a restart but still used by the previous generation's selected pair. */
    bool stale;
    struct floe_ice_candidate c;
};

struct ice_pair {
    int local;  /* slot in agent->locals */
    int remote; /* slot in agent->remotes */
    uint64_t priority;
    enum floe_ice_pair_state state;
    bool nominated;               /* nomination completed on this pair */
    bool nominate_on_success;     /* controlled: USE-CANDIDATE seen before the pair succeeded */
    bool nominate_pending;        /* controlling: nominate this pair with its next check */
    bool txn_use_cand;            /* the current check carries USE-CANDIDATE */
    bool send_due;                /* the current check must be (re)sent */
    bool cancelled;               /* stopped by a nomination (8.1.2); checked again if it ends */
    uint8_t n_prev;               /* prev_txid[0..n_prev): cancelled checks whose answers count */
    uint8_t prev_next;            /* the slot of prev_txid the next cancelled check takes */
    uint8_t prev_use_cand;        /* bit i: cancelled check prev_txid[i] carried USE-CANDIDATE */
    uint8_t prev_controlled;      /* bit i: cancelled check prev_txid[i] was sent as controlled */
    bool old_gen;                 /* the selected pair of the generation before a restart */
    bool recheck;                 /* the current check is a re-check (recheck.c) */
    uint8_t rechecks;             /* re-checks started on this pair (saturating) */
    uint32_t triggered;           /* position in the triggered queue, 0 = not queued */
    enum floe_ice_role sent_role; /* the role the current check carries (all its sends) */
    uint8_t txid[FLOE_STUN_TXID_LEN];
    uint32_t sends;
    floe_time rto;
    floe_time next;          /* next retransmission or the transaction timeout */
    floe_time last_response; /* last authenticated success response (consent) */
    /* Last: read only when an answer comes, not by the timers (the fields above, two lines). */
    uint8_t prev_txid[ICE_PREV_TXIDS][FLOE_STUN_TXID_LEN];
};

struct ice_response {
    struct floe_ice_path path;
    struct floe_addr to;
    uint8_t txid[FLOE_STUN_TXID_LEN];
    int error_code; /* 0: success with XOR-MAPPED-ADDRESS = to; else an error response */
    bool sign;      /* MESSAGE-INTEGRITY (not on 400/401 to unauthenticated requests) */
    bool old_gen;   /* signed with the previous generation's password */
};

/*
 * The credentials of the generation before an ICE restart, kept while its
 * selected pair is still the selected pair (make-before-break, RFC 8445
 * section 9): consent on that pair goes on with them until a pair of the new
 * generation is selected.
 */
struct ice_old_gen {
    bool active;
    char local_ufrag[FLOE_ICE_UFRAG_MAX + 1];
    char remote_ufrag[FLOE_ICE_UFRAG_MAX + 1];
    struct floe_hmac *local_key;  /* owned */
    struct floe_hmac *remote_key; /* owned */
};

/* Credentials a request is built with: the current generation's or the previous one's. */
struct ice_creds {
    const char *local_ufrag;
    const char *remote_ufrag;
    struct floe_hmac *remote_key;
};

struct floe_ice_agent {
    struct floe_ice_config cfg;
    enum floe_ice_state state;
    enum floe_ice_role role;
    uint64_t tie_breaker;

    char local_ufrag[FLOE_ICE_UFRAG_MAX + 1];
    char remote_ufrag[FLOE_ICE_UFRAG_MAX + 1];
    bool local_creds_used;        /* a check sent or answered with the local credentials */
    struct floe_hmac *local_key;  /* our password: verify requests, sign responses */
    struct floe_hmac *remote_key; /* their password: sign requests, verify responses */

    struct ice_cand *locals;
    struct ice_cand *remotes;
    struct ice_pair *pairs;
    size_t n_pairs;
    size_t pairs_cap; /* entries allocated, ICE_PAIRS_START doubling up to cfg.max_pairs */
    uint32_t foundation_seq;
    uint32_t triggered_seq;
    bool local_eoc;
    bool remote_eoc;
    bool ever_paired;
    bool had_pairs; /* pairs existed at the previous update */
    bool has_stale; /* a candidate may be stale: the sweep looks at the tables only then */

    int selected;           /* index into pairs or ICE_NONE */
    bool consent_lost;      /* sticky disconnected until new pairs or a new selection */
    floe_time next_check;   /* pacing: earliest start of the next new check */
    floe_time consent_next; /* next consent request on the selected pair */
    bool consent_due;
    floe_time nominate_at; /* controlling: nominate the best valid pair at this time */
    floe_time disconnected_since;
    floe_time waiting_since; /* since when there has been no pair */
    floe_time recheck_at;    /* next round of re-checks (recheck.c); NEVER when none */
    floe_time recheck_wait;  /* the wait before that round, doubling up to the maximum */

    size_t n_responses;
    struct floe_ice_event *events; /* ev_cap, ICE_EVENTS_START doubling up to cfg.max_events */
    size_t ev_cap;
    size_t ev_head;
    size_t ev_len;
    struct floe_ice_stats stats;

    /* Above, what a timer wakeup reads, in a dozen lines; below, what it seldom does. */
    char local_pwd[FLOE_ICE_PWD_MAX + 1];
    char remote_pwd[FLOE_ICE_PWD_MAX + 1];
    uint8_t consent_txids[ICE_CONSENT_TXIDS][FLOE_STUN_TXID_LEN];
    bool consent_txid_used[ICE_CONSENT_TXIDS];
    unsigned consent_txid_next;
    struct ice_old_gen old;
    struct ice_response responses[ICE_RESPONSE_CAP];
};

/* agent.c */
void floe__ice_push_event(struct floe_ice_agent *a, const struct floe_ice_event *ev);
void floe__ice_drop(struct floe_ice_agent *a, const char *why, const struct floe_addr *from);
void floe__ice_random(struct floe_ice_agent *a, uint8_t *out, size_t len);
void floe__ice_set_role(struct floe_ice_agent *a, enum floe_ice_role role);
void floe__ice_end_old_gen(struct floe_ice_agent *a);
bool floe__ice_grow_pairs(struct floe_ice_agent *a);

/* cand.c */
int floe__ice_find_local_by_path(const struct floe_ice_agent *a, const struct floe_ice_path *p);
int floe__ice_find_remote(const struct floe_ice_agent *a, const struct floe_addr *addr);
int floe__ice_add_remote_prflx(struct floe_ice_agent *a, const struct floe_addr *addr,
                               uint32_t priority);
int floe__ice_add_local_prflx(struct floe_ice_agent *a, int base_slot,
                              const struct floe_addr *mapped);
int floe__ice_pair_for(struct floe_ice_agent *a, floe_time now, int local, int remote);
int floe__ice_find_pair(const struct floe_ice_agent *a, int local, int remote);
bool floe__ice_path_matches(const struct floe_ice_path *pair, const struct floe_ice_path *in);
void floe__ice_sweep_old_gen(struct floe_ice_agent *a);
void floe__ice_pair_path(const struct floe_ice_agent *a, const struct ice_pair *p,
                         struct floe_ice_path *out);
void floe__ice_pair_info(const struct floe_ice_agent *a, const struct ice_pair *p,
                         struct floe_ice_pair_info *out);
void floe__ice_reprioritize(struct floe_ice_agent *a);
void floe__ice_remove_pair(struct floe_ice_agent *a, size_t idx);
void floe__ice_clear_remote(struct floe_ice_agent *a);
void floe__ice_clear_local(struct floe_ice_agent *a);
bool floe__ice_same_foundation(const struct floe_ice_agent *a, const struct ice_pair *x,
                               const struct ice_pair *y);

/* check.c */
void floe__ice_start_check(struct floe_ice_agent *a, struct ice_pair *p, floe_time now);
void floe__ice_trigger(struct floe_ice_agent *a, struct ice_pair *p);
void floe__ice_restart_check(struct floe_ice_agent *a, struct ice_pair *p);
void floe__ice_cancel_check(struct floe_ice_agent *a, struct ice_pair *p);
void floe__ice_drive_checks(struct floe_ice_agent *a, floe_time now);
floe_time floe__ice_checks_timeout(const struct floe_ice_agent *a);
void floe__ice_pair_succeeded(struct floe_ice_agent *a, struct ice_pair *p, floe_time now);
void floe__ice_pair_failed(struct floe_ice_agent *a, struct ice_pair *p);
int floe__ice_queue_response(struct floe_ice_agent *a, const struct floe_ice_path *path,
                             const struct floe_addr *to, const uint8_t *txid, int error_code);
int floe__ice_queue_reply(struct floe_ice_agent *a, const struct floe_ice_path *path,
                          const struct floe_addr *to, const uint8_t *txid,
                          const struct ice_response *kind);
bool floe__ice_can_send(const struct floe_ice_agent *a);

/* input.c: floe_ice_handle_input only. */

/* recheck.c */
bool floe__ice_pair_relayed(const struct floe_ice_agent *a, const struct ice_pair *p);
void floe__ice_recheck_arm(struct floe_ice_agent *a, floe_time now);
void floe__ice_recheck(struct floe_ice_agent *a, floe_time now);
uint32_t floe__ice_max_sends(const struct floe_ice_agent *a, const struct ice_pair *p);

/* state.c */
void floe__ice_update(struct floe_ice_agent *a, floe_time now);
/* RFC 7675 section 5.1: the consent interval randomised to 0.8..1.2; NEVER when disabled. */
floe_time floe__ice_consent_interval(struct floe_ice_agent *a);
void floe__ice_set_state(struct floe_ice_agent *a, floe_time now, enum floe_ice_state to,
                         enum floe_ice_reason reason);
void floe__ice_set_selected(struct floe_ice_agent *a, int idx, floe_time now);
void floe__ice_update_selected(struct floe_ice_agent *a, floe_time now);
bool floe__ice_consent_fresh(const struct floe_ice_agent *a, const struct ice_pair *p,
                             floe_time now);
floe_time floe__ice_state_timeout(const struct floe_ice_agent *a);

#endif
