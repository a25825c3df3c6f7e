/* The agent's status as one JSON object (the status socket's answer). */
#include <string.h>

#include "agent_int.h"

static void status_conn(struct floe_agent *a, const struct agent_conn *c, struct floe_json_buf *j)
{
    struct floe_node_conn_stats st;

    if (floe_node_conn_stats(a->node, c->cid, &st) != 0)
        memset(&st, 0, sizeof(st));
    floe_json_lit(j, "{\"id\":");
    floe_json_uint(j, c->cid);
    floe_json_lit(j, ",\"peer\":");
    floe_json_cstr_value(j, c->peer);
    floe_json_lit(j, ",\"established\":");
    floe_json_bool(j, st.established);
    floe_json_lit(j, ",\"path\":");
    floe_json_cstr_value(j, floe_node_path_kind_name(st.path.kind));
    floe_json_lit(j, ",\"remote\":");
    if (st.path.kind != FLOE_NODE_PATH_NONE)
        floe_json_addr(j, &st.path.remote);
    else
        floe_json_lit(j, "null");
    floe_json_lit(j, ",\"rtt_us\":");
    floe_json_uint(j, st.rtt / 1000u);
    floe_json_lit(j, ",\"tx_bytes\":");
    floe_json_uint(j, st.tx_bytes);
    floe_json_lit(j, ",\"rx_bytes\":");
    floe_json_uint(j, st.rx_bytes);
    floe_json_lit(j, ",\"handshakes\":");
    floe_json_uint(j, st.handshakes);
    floe_json_lit(j, "}");
}

static void status_relays(struct floe_agent *a, struct floe_json_buf *j)
{
    bool first = true;

    floe_json_lit(j, ",\"relays\":[");
    for (int i = 0; i < AGENT_RELAYS_MAX; i++) {
        if (!a->relays[i].used)
            continue;
        floe_json_lit(j, first ? "{\"id\":" : ",{\"id\":");
        floe_json_cstr_value(j, a->relays[i].id);
        floe_json_lit(j, ",\"addr\":");
        floe_json_addr(j, &a->relays[i].addr);
        floe_json_lit(j, "}");
        first = false;
    }
    floe_json_lit(j, "]");
}

/* Datagrams the kernel dropped on the way in, the UDP sockets' receive queues full. */
static uint64_t status_socket_drops(const struct floe_agent *a)
{
    uint64_t n = 0;

    for (int s = 0; s < 2; s++) {
        long d = a->udp[s] >= 0 ? floe_io_udp_drops(a->udp[s]) : 0;

        n += d > 0 ? (uint64_t)d : 0;
    }
    return n;
}

static void status_counters(struct floe_agent *a, struct floe_json_buf *j)
{
    struct floe_node_stats ns;

    floe_node_stats(a->node, &ns);
    floe_json_lit(j, ",\"node\":{\"dropped\":");
    floe_json_uint(j, ns.dropped);
    floe_json_lit(j, ",\"malformed\":");
    floe_json_uint(j, ns.dropped_malformed);
    floe_json_lit(j, ",\"unknown\":");
    floe_json_uint(j, ns.dropped_unknown);
    floe_json_lit(j, ",\"no_path\":");
    floe_json_uint(j, ns.dropped_no_path);
    floe_json_lit(j, ",\"early_initiations\":{\"kept\":");
    floe_json_uint(j, ns.early_kept);
    floe_json_lit(j, ",\"replayed\":");
    floe_json_uint(j, ns.early_replayed);
    floe_json_lit(j, ",\"expired\":");
    floe_json_uint(j, ns.early_expired);
    floe_json_lit(j, ",\"evicted\":");
    floe_json_uint(j, ns.early_evicted);
    floe_json_lit(j, "}},\"udp\":{\"sent\":");
    floe_json_uint(j, a->snd[0].stats.sent + a->snd[1].stats.sent);
    floe_json_lit(j, ",\"send_errors\":");
    floe_json_uint(j, a->snd[0].stats.errors + a->snd[1].stats.errors);
    floe_json_lit(j, ",\"send_dropped\":");
    floe_json_uint(j, a->snd[0].stats.full + a->snd[1].stats.full);
    floe_json_lit(j, ",\"received\":");
    floe_json_uint(j, a->rcv.stats.received);
    floe_json_lit(j, ",\"socket_drops\":");
    floe_json_uint(j, status_socket_drops(a));
    floe_json_lit(j, "}");
}

long floe__agent_status(struct floe_agent *a, char *buf, size_t cap)
{
    struct floe_json_buf j;
    bool first = true;

    floe_json_init(&j, buf, cap);
    floe_json_lit(&j, "{\"role\":");
    floe_json_cstr_value(&j, a->role.name);
    floe_json_lit(&j, ",\"interface\":");
    floe_json_cstr_value(&j, floe_io_tun_name(a->tun));
    floe_json_lit(&j, ",\"portal\":");
    floe_json_cstr_value(&j,
                         floe_portal_client_state_name(floe_portal_client_get_state(a->portal.pc)));
    status_relays(a, &j);
    floe_json_lit(&j, ",\"connections\":[");
    for (size_t i = 0; i < FLOE_AGENT_MAX_CONNS; i++) {
        if (!a->conns[i].used)
            continue;
        if (!first)
            floe_json_lit(&j, ",");
        status_conn(a, &a->conns[i], &j);
        first = false;
    }
    floe_json_lit(&j, "],\"resets\":");
    floe_json_uint(&j, a->ctr.resets);
    floe_json_lit(&j, ",\"no_route\":");
    floe_json_uint(&j, a->ctr.no_route);
    floe_json_lit(&j, ",\"rejected\":");
    floe_json_uint(&j, a->ctr.rejected);
    status_counters(a, &j);
    if (a->role.status)
        a->role.status(a->role.user, a, &j);
    floe_json_lit(&j, "}");
    return floe_json_cstr(&j) ? (long)j.len : FLOE_ERR_BUFFER_TOO_SMALL;
}
