/*
 * The batch verbs: floe_wg_encapsulate_batch and floe_wg_decapsulate_batch. Everything that
 * touches the device's state runs here, on the caller's thread and in item order; only the
 * AEAD calls of the data messages go to the caller's workers (cfg.parallel), each worker on
 * its own lane of every keypair's contexts. Keypairs change only when a handshake message
 * is consumed or a timer fires, never while a batch's crypto runs: the handshake messages of
 * a batch are processed after all its data messages, and garbage is dropped where it stands
 * without cutting the batch short.
 */
#include <string.h>

#include "wg/wg_int.h"

/* One data message of the batch in progress, on lane: framing and AEAD, or AEAD. */
static void batch_job(void *arg, uint32_t i, uint32_t lane)
{
    struct floe_wg *dev = arg;
    struct floe__wg_job *job = &dev->jobs[i];

    if (i >= dev->n_jobs || lane >= job->kp->lanes) {
        if (i < dev->n_jobs)
            job->rc = FLOE_ERR_INVALID_ARG;
        return;
    }
    if (job->seal) {
        floe__wg_seal_frame(job->kp->remote_index, job->counter, job->in, job->in_len, job->buf);
        job->rc = floe_aead_encrypt_ctr(
            WG_SEND_CTX(job->kp, lane), job->buf + FLOE_WG_DATA_HEADER_LEN,
            job->buf + FLOE_WG_DATA_HEADER_LEN, job->len, NULL, 0, job->counter);
    } else
        job->rc = floe_aead_decrypt_ctr(WG_RECV_CTX(job->kp, lane), job->buf, job->in, job->len,
                                        NULL, 0, job->counter);
}

/* Run the AEAD calls of every job: on the caller's workers when there are several. */
static void batch_crypto(struct floe_wg *dev)
{
    const struct floe_wg_parallel *par = &dev->cfg.parallel;
    uint32_t i;

    if (par->run && par->lanes > 1 && dev->n_jobs > 1) {
        par->run(par->user, dev->n_jobs, batch_job, dev);
        return;
    }
    for (i = 0; i < dev->n_jobs; i++)
        batch_job(dev, i, 0);
}

/* What both batch verbs check first; an empty job list. Returns 0 or FLOE_ERR_INVALID_ARG. */
static int batch_begin(struct floe_wg *dev, const void *items, size_t n)
{
    if (!dev || (!items && n))
        return FLOE_ERR_INVALID_ARG;
    dev->n_jobs = 0;
    return 0;
}

/* Seal the framed messages; a failed one is withdrawn from its item and counted. */
static void batch_seal(struct floe_wg *dev, struct floe_wg_encap *items)
{
    uint32_t i;

    batch_crypto(dev);
    for (i = 0; i < dev->n_jobs; i++) {
        struct floe__wg_job *job = &dev->jobs[i];

        if (job->rc != 0) {
            floe_wipe(job->buf, job->len + FLOE_WG_DATA_OVERHEAD);
            items[job->item].n = 0;
            floe__wg_drop(dev, FLOE_WG_DROP_CRYPTO, &job->peer->endpoint);
        }
    }
    dev->n_jobs = 0;
}

int floe_wg_encapsulate_batch(struct floe_wg *dev, floe_time now, struct floe_wg_encap *items,
                              size_t n)
{
    size_t i;

    if (batch_begin(dev, items, n) != 0)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < n; i++) {
        struct floe_wg_encap *it = &items[i];
        struct floe__wg_job *job = &dev->jobs[dev->n_jobs];

        if (!it->peer || (!it->pkt && it->len) || !it->out ||
            !floe__wg_data_peer_ok(dev, it->peer)) {
            it->n = FLOE_ERR_INVALID_ARG;
            continue;
        }
        job->kp = NULL;
        it->n = floe__wg_encap_one(dev, now, it->peer, it->pkt, it->len, it->out, it->cap, &it->dst,
                                   job);
        if (it->n > 0) {
            job->item = (uint32_t)i;
            if (++dev->n_jobs == WG_JOBS)
                batch_seal(dev, items);
        }
    }
    batch_seal(dev, items);
    return 0;
}

/* Open the checked data messages, then account for each in item order. */
static void batch_open(struct floe_wg *dev, floe_time now, struct floe_wg_decap *items)
{
    uint32_t i;

    batch_crypto(dev);
    for (i = 0; i < dev->n_jobs; i++) {
        struct floe__wg_job *job = &dev->jobs[i];
        struct floe_wg_decap *it = &items[job->item];

        it->rc = floe__wg_open_finish(dev, now, &it->from, job, job->buf, &it->res);
    }
    dev->n_jobs = 0;
}

/* True when d[0..len) is a data message long enough to hold its header and tag. */
static bool batch_is_data(const uint8_t *d, size_t len)
{
    return d && len >= FLOE_WG_DATA_OVERHEAD && floe_load_le32(d) == FLOE_WG_MSG_DATA;
}

/* True when d[0..len) has the type and exact size of a handshake message or cookie reply. */
static bool batch_is_handshake(const uint8_t *d, size_t len)
{
    uint32_t type = d && len >= 4 ? floe_load_le32(d) : 0;

    return (type == FLOE_WG_MSG_INITIATION && len == FLOE_WG_INITIATION_LEN) ||
           (type == FLOE_WG_MSG_RESPONSE && len == FLOE_WG_RESPONSE_LEN) ||
           (type == FLOE_WG_MSG_COOKIE_REPLY && len == FLOE_WG_COOKIE_REPLY_LEN);
}

/* Check one data message and add it to the jobs; a full job list is opened at once. */
static void batch_add_data(struct floe_wg *dev, floe_time now, struct floe_wg_decap *items,
                           size_t i)
{
    struct floe_wg_decap *it = &items[i];
    struct floe__wg_job *job = &dev->jobs[dev->n_jobs];

    if (it->cap < it->len - FLOE_WG_DATA_OVERHEAD) {
        it->rc = FLOE_ERR_BUFFER_TOO_SMALL;
        return;
    }
    it->rc = floe__wg_open_check(dev, now, &it->from, it->dgram, it->len, job, &it->res);
    if (it->rc != 1)
        return;
    job->item = (uint32_t)i;
    job->buf = it->out;
    if (++dev->n_jobs == WG_JOBS)
        batch_open(dev, now, items);
}

/*
 * The handshake messages and cookie replies of the batch, in order, after all its data: the
 * data path never waits behind a handshake's Diffie-Hellman, and a keypair a handshake
 * retires has already delivered the data messages of the batch that used it.
 */
static void batch_handshakes(struct floe_wg *dev, floe_time now, struct floe_wg_decap *items,
                             size_t n)
{
    uint32_t queued = 0;
    size_t i;

    for (i = 0; i < n; i++)
        queued += items[i].out && batch_is_handshake(items[i].dgram, items[i].len);
    floe__wg_load_backlog(dev, now, queued);
    for (i = 0; i < n && queued; i++) {
        struct floe_wg_decap *it = &items[i];

        if (it->out && batch_is_handshake(it->dgram, it->len))
            it->rc = floe_wg_decapsulate(dev, now, &it->from, it->dgram, it->len, it->out, it->cap,
                                         &it->res);
    }
}

int floe_wg_decapsulate_batch(struct floe_wg *dev, floe_time now, struct floe_wg_decap *items,
                              size_t n)
{
    size_t i;

    if (batch_begin(dev, items, n) != 0)
        return FLOE_ERR_INVALID_ARG;
    for (i = 0; i < n; i++) {
        struct floe_wg_decap *it = &items[i];

        memset(&it->res, 0, sizeof(it->res));
        if (it->out && batch_is_data(it->dgram, it->len))
            batch_add_data(dev, now, items, i);
        else if (!it->out || !batch_is_handshake(it->dgram, it->len))
            /* Garbage is dropped (counted) where it stands: no state, no flush. */
            it->rc = floe_wg_decapsulate(dev, now, &it->from, it->dgram, it->len, it->out, it->cap,
                                         &it->res);
    }
    batch_open(dev, now, items);
    batch_handshakes(dev, now, items, n);
    return 0;
}
