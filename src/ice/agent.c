/*
 * ICE agent lifecycle: configuration, creation, credentials, events, getters,
 * restart and close.
 */
#include <string.h>

#include "ice/ice_int.h"

/* RFC 8445 section 16.1 / 5.3: ice-chars for ufrag and password. */
static const char agent_ice_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void floe_ice_config_profile(struct floe_ice_config *cfg, enum floe_ice_profile profile)
{
    cfg->ta = FLOE_MS(50);
    cfg->check_rto = FLOE_MS(250);
    cfg->nomination_delay = FLOE_MS(100);
    cfg->disconnected_grace = FLOE_SEC(2);
    cfg->candidate_timeout = FLOE_SEC(10);
    cfg->consent_interval = FLOE_SEC(5);
    cfg->consent_timeout = FLOE_SEC(30);
    switch (profile) {
    case FLOE_ICE_PROFILE_GATEWAY:
        cfg->check_rto_max = FLOE_SEC(15);
        cfg->check_max_sends = 45;
        break;
    case FLOE_ICE_PROFILE_IDLE:
        cfg->check_rto = FLOE_SEC(1);
        cfg->check_rto_max = FLOE_SEC(4);
        cfg->check_max_sends = 6;
        cfg->consent_interval = FLOE_SEC(15);
        cfg->consent_timeout = FLOE_SEC(60);
        break;
    case FLOE_ICE_PROFILE_CLIENT:
    default:
        cfg->check_rto_max = FLOE_MS(1500);
        cfg->check_max_sends = 12;
        break;
    }
}

void floe_ice_config_default(struct floe_ice_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->role = FLOE_ICE_CONTROLLING;
    cfg->max_local_candidates = 16;
    cfg->max_remote_candidates = 32;
    cfg->max_pairs = 100;
    cfg->max_events = ICE_EVENT_CAP;
    cfg->log.min_level = FLOE_LOG_OFF;
    cfg->recheck_interval = ICE_RECHECK_INTERVAL;
    cfg->recheck_interval_max = ICE_RECHECK_INTERVAL_MAX;
    cfg->recheck_pairs = ICE_RECHECK_PAIRS;
    cfg->recheck_sends = ICE_RECHECK_SENDS;
    floe_ice_config_profile(cfg, FLOE_ICE_PROFILE_CLIENT);
}

void floe__ice_random(struct floe_ice_agent *a, uint8_t *out, size_t len)
{
    if (floe_rng_fill(&a->cfg.rng, out, len) != 0)
        memset(out, 0, len);
}

static void agent_random_string(struct floe_ice_agent *a, char *out, size_t n)
{
    uint8_t raw[FLOE_ICE_PWD_MAX];
    size_t i;

    floe__ice_random(a, raw, n);
    for (i = 0; i < n; i++)
        out[i] = agent_ice_chars[raw[i] & 63];
    out[n] = '\0';
    floe_wipe(raw, sizeof(raw));
}

static int agent_make_key(struct floe_ice_agent *a, struct floe_hmac **key, const char *pwd)
{
    floe_hmac_free(*key);
    *key = NULL;
    return floe_hmac_new(key, &a->cfg.alloc, FLOE_HMAC_SHA1, (const uint8_t *)pwd, strlen(pwd));
}

static int agent_new_local_credentials(struct floe_ice_agent *a)
{
    agent_random_string(a, a->local_ufrag, ICE_UFRAG_LEN);
    agent_random_string(a, a->local_pwd, ICE_PWD_LEN);
    return agent_make_key(a, &a->local_key, a->local_pwd);
}

static bool agent_config_ok(const struct floe_ice_config *cfg)
{
    return cfg->rng.fill && cfg->max_local_candidates > 0 && cfg->max_remote_candidates > 0 &&
           cfg->max_pairs > 0 && cfg->max_local_candidates <= 1024 &&
           cfg->max_remote_candidates <= 1024 && cfg->max_events <= 1024 &&
           cfg->check_max_sends > 0 && cfg->check_rto > 0;
}

static int agent_alloc_tables(struct floe_ice_agent *a)
{
    const struct floe_allocator *al = &a->cfg.alloc;

    a->locals = floe_mem_calloc(al, a->cfg.max_local_candidates, sizeof(*a->locals));
    a->remotes = floe_mem_calloc(al, a->cfg.max_remote_candidates, sizeof(*a->remotes));
    a->pairs_cap = a->cfg.max_pairs < ICE_PAIRS_START ? a->cfg.max_pairs : ICE_PAIRS_START;
    a->pairs = floe_mem_calloc(al, a->pairs_cap, sizeof(*a->pairs));
    a->ev_cap = a->cfg.max_events < ICE_EVENTS_START ? a->cfg.max_events : ICE_EVENTS_START;
    a->events = floe_mem_calloc(al, a->ev_cap, sizeof(*a->events));
    if (!a->locals || !a->remotes || !a->pairs || !a->events)
        return FLOE_ERR_NOMEM;
    return 0;
}

int floe_ice_new(struct floe_ice_agent **out, const struct floe_ice_config *cfg, floe_time now)
{
    struct floe_ice_agent *a;
    int rc;

    if (!out || !cfg || !agent_config_ok(cfg))
        return FLOE_ERR_INVALID_ARG;
    *out = NULL;
    a = floe_mem_calloc(&cfg->alloc, 1, sizeof(*a));
    if (!a)
        return FLOE_ERR_NOMEM;
    a->cfg = *cfg;
    if (a->cfg.max_events == 0)
        a->cfg.max_events = ICE_EVENT_CAP;
    a->role = cfg->role;
    a->selected = ICE_NONE;
    a->state = FLOE_ICE_NEW;
    a->waiting_since = now;
    a->next_check = now;
    a->consent_next = FLOE_TIME_NEVER;
    a->nominate_at = FLOE_TIME_NEVER;
    a->disconnected_since = FLOE_TIME_NEVER;
    a->recheck_at = FLOE_TIME_NEVER;
    a->tie_breaker = cfg->tie_breaker;
    while (a->tie_breaker == 0) {
        uint8_t tb[8];

        floe__ice_random(a, tb, sizeof(tb));
        a->tie_breaker = floe_load_be64(tb) | 1u;
    }
    rc = agent_alloc_tables(a);
    if (rc == 0)
        rc = agent_new_local_credentials(a);
    if (rc != 0) {
        floe_ice_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void floe_ice_free(struct floe_ice_agent *agent)
{
    struct floe_allocator al;

    if (!agent)
        return;
    al = agent->cfg.alloc;
    floe_hmac_free(agent->local_key);
    floe_hmac_free(agent->remote_key);
    floe__ice_end_old_gen(agent);
    floe_mem_free(&al, agent->locals);
    floe_mem_free(&al, agent->remotes);
    floe_mem_free(&al, agent->pairs);
    floe_mem_free(&al, agent->events);
    floe_wipe(agent, sizeof(*agent));
    floe_mem_free(&al, agent);
}

void floe_ice_get_local_credentials(const struct floe_ice_agent *agent, const char **ufrag,
                                    const char **pwd)
{
    if (ufrag)
        *ufrag = agent ? agent->local_ufrag : NULL;
    if (pwd)
        *pwd = agent ? agent->local_pwd : NULL;
}

static bool agent_cred_ok(const char *s, size_t max)
{
    size_t n = 0;

    if (!s)
        return false;
    while (n <= max && s[n] != '\0')
        n++;
    return n > 0 && n <= max;
}

void floe__ice_end_old_gen(struct floe_ice_agent *a)
{
    floe_hmac_free(a->old.local_key);
    floe_hmac_free(a->old.remote_key);
    floe_wipe(&a->old, sizeof(a->old));
}

/*
 * Make-before-break (RFC 8445 section 9): the selected pair becomes the previous
 * generation's and keeps the credentials its consent runs with. move_local: the
 * local credentials change too (a restart of ours) and their key moves over;
 * otherwise (the peer restarted) a copy of the unchanged local key is made.
 */
static void agent_keep_selected(struct floe_ice_agent *a, bool move_local)
{
    struct ice_old_gen *o = &a->old;

    if (a->selected == ICE_NONE || o->active || !a->remote_key)
        return;
    if (move_local) {
        o->local_key = a->local_key;
        a->local_key = NULL;
    } else if (agent_make_key(a, &o->local_key, a->local_pwd) != 0) {
        floe__ice_end_old_gen(a);
        return;
    }
    o->remote_key = a->remote_key;
    a->remote_key = NULL;
    strcpy(o->local_ufrag, a->local_ufrag);
    strcpy(o->remote_ufrag, a->remote_ufrag);
    o->active = true;
    a->pairs[a->selected].old_gen = true;
}

int floe_ice_set_remote_credentials(struct floe_ice_agent *agent, floe_time now, const char *ufrag,
                                    const char *pwd)
{
    int rc;

    if (!agent || !agent_cred_ok(ufrag, FLOE_ICE_UFRAG_MAX) ||
        !agent_cred_ok(pwd, FLOE_ICE_PWD_MAX))
        return FLOE_ERR_INVALID_ARG;
    if (agent->state == FLOE_ICE_CLOSED)
        return FLOE_ERR_STATE;
    if (strcmp(agent->remote_ufrag, ufrag) == 0 && strcmp(agent->remote_pwd, pwd) == 0)
        return 0;
    if (agent->remote_ufrag[0] != '\0') {
        agent_keep_selected(agent, false);
        floe__ice_clear_remote(agent);
    }
    strcpy(agent->remote_ufrag, ufrag);
    strcpy(agent->remote_pwd, pwd);
    rc = agent_make_key(agent, &agent->remote_key, pwd);
    floe__ice_update(agent, now);
    return rc;
}

int floe_ice_restart(struct floe_ice_agent *agent, floe_time now, bool keep_local_candidates)
{
    int rc;

    if (!agent)
        return FLOE_ERR_INVALID_ARG;
    if (agent->state == FLOE_ICE_CLOSED)
        return FLOE_ERR_STATE;
    agent_keep_selected(agent, true);
    floe__ice_clear_remote(agent);
    if (!keep_local_candidates)
        floe__ice_clear_local(agent);
    floe_wipe(agent->remote_pwd, sizeof(agent->remote_pwd));
    memset(agent->remote_ufrag, 0, sizeof(agent->remote_ufrag));
    floe_hmac_free(agent->remote_key);
    agent->remote_key = NULL;
    agent->remote_eoc = false;
    agent->local_eoc = false;
    agent->ever_paired = false;
    agent->consent_lost = false;
    agent->n_responses = 0;
    agent->nominate_at = FLOE_TIME_NEVER;
    agent->waiting_since = now;
    agent->disconnected_since = FLOE_TIME_NEVER;
    agent->stats.restarts++;
    agent->local_creds_used = false;
    rc = agent_new_local_credentials(agent);
    if (agent->selected == ICE_NONE)
        floe__ice_set_state(agent, now, FLOE_ICE_NEW, FLOE_ICE_REASON_RESTART);
    floe__ice_update(agent, now);
    return rc;
}

/* ice-chars only, between min and max of them (RFC 8445 section 5.3). */
static bool agent_local_cred_ok(const char *s, size_t min, size_t max)
{
    size_t n = 0;

    if (!s)
        return false;
    while (n <= max && s[n] != '\0') {
        if (!strchr(agent_ice_chars, s[n]))
            return false;
        n++;
    }
    return n >= min && n <= max;
}

int floe_ice_set_local_credentials(struct floe_ice_agent *agent, floe_time now, const char *ufrag,
                                   const char *pwd)
{
    (void)now;
    if (!agent || !agent_local_cred_ok(ufrag, 4, FLOE_ICE_UFRAG_MAX) ||
        !agent_local_cred_ok(pwd, 22, FLOE_ICE_PWD_MAX))
        return FLOE_ERR_INVALID_ARG;
    if (strcmp(agent->local_ufrag, ufrag) == 0 && strcmp(agent->local_pwd, pwd) == 0)
        return 0;
    if (agent->state == FLOE_ICE_CLOSED || agent->local_creds_used)
        return FLOE_ERR_STATE;
    strcpy(agent->local_ufrag, ufrag);
    strcpy(agent->local_pwd, pwd);
    return agent_make_key(agent, &agent->local_key, agent->local_pwd);
}

int floe_ice_set_profile(struct floe_ice_agent *agent, floe_time now, enum floe_ice_profile profile)
{
    floe_time grace, cand_timeout, old_interval;

    if (!agent || (int)profile < 0 || profile > FLOE_ICE_PROFILE_IDLE)
        return FLOE_ERR_INVALID_ARG;
    grace = agent->cfg.disconnected_grace;
    cand_timeout = agent->cfg.candidate_timeout;
    old_interval = agent->cfg.consent_interval;
    floe_ice_config_profile(&agent->cfg, profile);
    agent->cfg.disconnected_grace = grace; /* the caller's liveness choices stay */
    agent->cfg.candidate_timeout = cand_timeout;
    /* The next consent request moves to the new pace: later when slower, at once sooner. */
    if (agent->consent_next != FLOE_TIME_NEVER && agent->cfg.consent_interval != old_interval)
        agent->consent_next = floe_time_add(now, floe__ice_consent_interval(agent));
    floe__ice_update(agent, now);
    return 0;
}

int floe_ice_close(struct floe_ice_agent *agent, floe_time now)
{
    struct floe_ice_event ev = {.type = FLOE_ICE_EV_STATE};

    if (!agent)
        return FLOE_ERR_INVALID_ARG;
    if (agent->state == FLOE_ICE_CLOSED)
        return 0;
    floe__ice_set_selected(agent, ICE_NONE, now);
    ev.u.state.from = agent->state;
    ev.u.state.to = FLOE_ICE_CLOSED;
    ev.u.state.reason = FLOE_ICE_REASON_CLOSED;
    agent->state = FLOE_ICE_CLOSED;
    agent->n_responses = 0;
    agent->stats.state_changes++;
    floe__ice_push_event(agent, &ev);
    return 0;
}

void floe__ice_set_role(struct floe_ice_agent *a, enum floe_ice_role role)
{
    struct floe_ice_event ev = {.type = FLOE_ICE_EV_ROLE};
    size_t i;

    if (a->role == role)
        return;
    a->role = role;
    for (i = 0; i < a->n_pairs; i++)
        a->pairs[i].nominate_pending = false;
    floe__ice_reprioritize(a);
    ev.u.role = role;
    floe__ice_push_event(a, &ev);
}

/*
 * A table of *cap entries of size sz, the first len of them (from head on, around the end)
 * in use, moved into one of twice the entries (at most max) from head 0 on. False when it is
 * at max or the allocator refuses (the table is then unchanged).
 */
static bool agent_grow(struct floe_ice_agent *a, void **tab, size_t *cap, size_t max, size_t sz,
                       size_t head, size_t len)
{
    size_t n = *cap > max / 2 ? max : *cap * 2, i;
    uint8_t *to;

    if (*cap >= max || n > SIZE_MAX / sz)
        return false;
    to = floe_mem_calloc(&a->cfg.alloc, n, sz);
    if (!to)
        return false;
    for (i = 0; i < len; i++)
        memcpy(to + i * sz, (const uint8_t *)*tab + ((head + i) % *cap) * sz, sz);
    floe_mem_free(&a->cfg.alloc, *tab);
    *tab = to;
    *cap = n;
    return true;
}

/* Room for one more pair (pair indexes stay; pointers into the table do not). */
bool floe__ice_grow_pairs(struct floe_ice_agent *a)
{
    void *tab = a->pairs;

    if (!agent_grow(a, &tab, &a->pairs_cap, a->cfg.max_pairs, sizeof(*a->pairs), 0, a->n_pairs))
        return false;
    a->pairs = tab;
    return true;
}

void floe__ice_push_event(struct floe_ice_agent *a, const struct floe_ice_event *ev)
{
    void *tab = a->events;

    if (a->ev_len == a->ev_cap) {
        if (!agent_grow(a, &tab, &a->ev_cap, a->cfg.max_events, sizeof(*a->events), a->ev_head,
                        a->ev_len)) {
            a->stats.dropped_overflow++;
            return;
        }
        a->events = tab;
        a->ev_head = 0;
    }
    a->events[(a->ev_head + a->ev_len) % a->ev_cap] = *ev;
    a->ev_len++;
}

int floe_ice_poll_event(struct floe_ice_agent *agent, struct floe_ice_event *ev)
{
    if (!agent || !ev)
        return FLOE_ERR_INVALID_ARG;
    if (agent->ev_len == 0)
        return 0;
    *ev = agent->events[agent->ev_head];
    agent->ev_head = (agent->ev_head + 1) % agent->ev_cap;
    if (--agent->ev_len == 0)
        agent->ev_head = 0; /* an emptied ring starts over: one line of it stays warm */
    return 1;
}

void floe__ice_drop(struct floe_ice_agent *a, const char *why, const struct floe_addr *from)
{
    a->stats.dropped++;
    if (floe_log_enabled(&a->cfg.log, FLOE_LOG_DEBUG)) {
        struct floe_log_field f[2] = {FLOE_LF_S("reason", why), FLOE_LF_A("addr", from)};

        floe_log_emit(&a->cfg.log, FLOE_LOG_DEBUG, "ice", "datagram dropped", f, from ? 2 : 1);
    }
}

enum floe_ice_state floe_ice_get_state(const struct floe_ice_agent *agent)
{
    return agent ? agent->state : FLOE_ICE_CLOSED;
}

enum floe_ice_role floe_ice_get_role(const struct floe_ice_agent *agent)
{
    return agent ? agent->role : FLOE_ICE_CONTROLLED;
}

int floe_ice_get_selected_pair(const struct floe_ice_agent *agent, struct floe_ice_pair_info *out)
{
    if (!agent || !out || agent->selected == ICE_NONE)
        return FLOE_ERR_NOT_FOUND;
    floe__ice_pair_info(agent, &agent->pairs[agent->selected], out);
    return 0;
}

void floe_ice_get_stats(const struct floe_ice_agent *agent, struct floe_ice_stats *out)
{
    size_t i;

    if (!agent || !out)
        return;
    *out = agent->stats;
    out->n_pairs = 0;
    out->n_local = 0;
    out->n_remote = 0;
    for (i = 0; i < agent->n_pairs; i++)
        out->n_pairs += !agent->pairs[i].old_gen;
    for (i = 0; i < agent->cfg.max_local_candidates; i++)
        out->n_local += agent->locals[i].used && !agent->locals[i].stale;
    for (i = 0; i < agent->cfg.max_remote_candidates; i++)
        out->n_remote += agent->remotes[i].used && !agent->remotes[i].stale;
}

static const char *const agent_state_names[] = {
    "new", "checking", "connected", "disconnected", "failed", "closed",
};

const char *floe_ice_state_name(enum floe_ice_state state)
{
    if ((unsigned)state >= sizeof(agent_state_names) / sizeof(agent_state_names[0]))
        return "unknown";
    return agent_state_names[state];
}

const char *floe_ice_cand_type_name(enum floe_ice_cand_type type)
{
    static const char *const names[] = {"host", "srflx", "prflx", "relay"};

    if ((unsigned)type >= 4)
        return "unknown";
    return names[type];
}
