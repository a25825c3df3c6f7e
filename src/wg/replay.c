/*
 * The replay window of a receiving key (paper section 5.4.6, RFC 6479): a ring of
 * FLOE_WG_COUNTER_BITS_TOTAL bits in 64-bit words. `counter` is the greatest counter seen
 * plus one; a counter more than FLOE_WG_COUNTER_WINDOW_SIZE behind it, or at or above
 * REJECT_AFTER_MESSAGES, is refused. The word ahead of the window is the redundant one that
 * lets the window slide a word at a time.
 */
#include <string.h>

#include "wg/wg_int.h"

#define REPLAY_WORDS (FLOE_WG_COUNTER_BITS_TOTAL / 64)

void floe__wg_replay_init(struct floe__wg_replay *r)
{
    memset(r, 0, sizeof(*r));
}

/* True when counter may still be new: inside the window and not yet marked. */
bool floe__wg_replay_check(const struct floe__wg_replay *r, uint64_t counter)
{
    uint64_t c, index;

    if (r->counter >= FLOE_WG_REJECT_AFTER_MESSAGES + 1 || counter >= FLOE_WG_REJECT_AFTER_MESSAGES)
        return false;
    c = counter + 1;
    if (c + FLOE_WG_COUNTER_WINDOW_SIZE < r->counter)
        return false;
    if (c > r->counter)
        return true;
    index = (c >> 6) & (REPLAY_WORDS - 1);
    return !(r->backtrack[index] & (UINT64_C(1) << (c & 63)));
}

/* Mark counter as seen (after authentication). Returns false for a replay or a stale one. */
bool floe__wg_replay_update(struct floe__wg_replay *r, uint64_t counter)
{
    uint64_t c, index, index_cur, top, i, bit;

    if (!floe__wg_replay_check(r, counter))
        return false;
    c = counter + 1;
    index = c >> 6;
    if (c > r->counter) {
        index_cur = r->counter >> 6;
        top = index - index_cur;
        if (top > REPLAY_WORDS)
            top = REPLAY_WORDS;
        for (i = 1; i <= top; i++)
            r->backtrack[(i + index_cur) & (REPLAY_WORDS - 1)] = 0;
        r->counter = c;
    }
    index &= REPLAY_WORDS - 1;
    bit = UINT64_C(1) << (c & 63);
    if (r->backtrack[index] & bit)
        return false;
    r->backtrack[index] |= bit;
    return true;
}
