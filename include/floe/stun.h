/*
 * floe STUN/TURN/ICE message codec (RFC 8489, RFC 8656, RFC 8445), ChannelData
 * framing (RFC 8656 section 12), the datagram classifier, and the client
 * transaction retransmission helper. Sans-IO: no sockets, no clock.
 *
 * Decoding is zero-copy: a decoded message borrows the datagram, which must
 * outlive it. Every malformed input returns a negative FLOE_ERR_* and never
 * reads outside the datagram.
 */
#ifndef FLOE_STUN_H
#define FLOE_STUN_H

#include "floe/core.h"
#include "floe/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 8489 section 5 */
#define FLOE_STUN_HEADER_LEN 20
#define FLOE_STUN_MAGIC_COOKIE 0x2112A442u
#define FLOE_STUN_TXID_LEN 12
/* RFC 8489 section 14.7: XOR of FINGERPRINT with the CRC-32 */
#define FLOE_STUN_FINGERPRINT_XOR 0x5354554Eu
/* Attributes kept per decoded message; more is FLOE_ERR_STUN_TOO_MANY_ATTRS. */
#define FLOE_STUN_MAX_ATTRS 40
/* Unknown comprehension-required attribute types remembered for a 420 answer. */
#define FLOE_STUN_MAX_UNKNOWN 8

/* Message classes (RFC 8489 section 5) */
enum floe_stun_class {
    FLOE_STUN_REQUEST = 0,
    FLOE_STUN_INDICATION = 1,
    FLOE_STUN_SUCCESS = 2,
    FLOE_STUN_ERROR = 3,
};

/* Methods (RFC 8489 section 18.2, RFC 8656 section 17) */
enum floe_stun_method {
    FLOE_STUN_BINDING = 0x001,
    FLOE_STUN_ALLOCATE = 0x003,
    FLOE_STUN_REFRESH = 0x004,
    FLOE_STUN_SEND = 0x006,
    FLOE_STUN_DATA = 0x007,
    FLOE_STUN_CREATE_PERMISSION = 0x008,
    FLOE_STUN_CHANNEL_BIND = 0x009,
};

/* Attribute types (RFC 8489 section 18.3, RFC 8656 section 18, RFC 8445 section 16.1) */
enum floe_stun_attr_type {
    FLOE_STUN_ATTR_MAPPED_ADDRESS = 0x0001,
    FLOE_STUN_ATTR_USERNAME = 0x0006,
    FLOE_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
    FLOE_STUN_ATTR_ERROR_CODE = 0x0009,
    FLOE_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
    FLOE_STUN_ATTR_CHANNEL_NUMBER = 0x000C,
    FLOE_STUN_ATTR_LIFETIME = 0x000D,
    FLOE_STUN_ATTR_XOR_PEER_ADDRESS = 0x0012,
    FLOE_STUN_ATTR_DATA = 0x0013,
    FLOE_STUN_ATTR_REALM = 0x0014,
    FLOE_STUN_ATTR_NONCE = 0x0015,
    FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
    FLOE_STUN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
    FLOE_STUN_ATTR_EVEN_PORT = 0x0018,
    FLOE_STUN_ATTR_REQUESTED_TRANSPORT = 0x0019,
    FLOE_STUN_ATTR_DONT_FRAGMENT = 0x001A,
    FLOE_STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
    FLOE_STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
    FLOE_STUN_ATTR_USERHASH = 0x001E,
    FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
    FLOE_STUN_ATTR_RESERVATION_TOKEN = 0x0022,
    FLOE_STUN_ATTR_PRIORITY = 0x0024,
    FLOE_STUN_ATTR_USE_CANDIDATE = 0x0025,
    FLOE_STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
    FLOE_STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
    FLOE_STUN_ATTR_SOFTWARE = 0x8022,
    FLOE_STUN_ATTR_ALTERNATE_SERVER = 0x8023,
    FLOE_STUN_ATTR_FINGERPRINT = 0x8028,
    FLOE_STUN_ATTR_ICE_CONTROLLED = 0x8029,
    FLOE_STUN_ATTR_ICE_CONTROLLING = 0x802A,
    FLOE_STUN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
    FLOE_STUN_ATTR_ADDRESS_ERROR_CODE = 0x8001,
    FLOE_STUN_ATTR_ICMP = 0x8004,
};

/* PASSWORD-ALGORITHM values (RFC 8489 section 18.5) */
enum floe_stun_password_alg {
    FLOE_STUN_PWALG_MD5 = 0x0001,
    FLOE_STUN_PWALG_SHA256 = 0x0002,
};

/* Address family bytes in address attributes (RFC 8489 section 14.1) */
#define FLOE_STUN_FAMILY_IPV4 0x01
#define FLOE_STUN_FAMILY_IPV6 0x02

/* One attribute as found in the datagram; value borrows the datagram. */
struct floe_stun_attr {
    uint16_t type;
    uint16_t len;    /* value length, without padding */
    uint32_t offset; /* offset of the attribute header from the message start */
    const uint8_t *value;
};

/* A decoded message. Borrows the datagram given to floe_stun_decode. */
struct floe_stun_msg {
    uint16_t method; /* enum floe_stun_method (12 bits) */
    uint8_t cls;     /* enum floe_stun_class */
    uint8_t txid[FLOE_STUN_TXID_LEN];
    const uint8_t *raw; /* the message: header + attributes */
    size_t raw_len;     /* 20 + the header's length field */
    struct floe_stun_attr attrs[FLOE_STUN_MAX_ATTRS];
    size_t n_attrs;
    /* Index into attrs, or -1 when absent. */
    int integrity_idx;
    int integrity_sha256_idx;
    int fingerprint_idx;
    /* Comprehension-required (type < 0x8000) attributes this codec does not know. */
    uint16_t unknown[FLOE_STUN_MAX_UNKNOWN];
    size_t n_unknown;
    /* Attributes after MESSAGE-INTEGRITY(-SHA256) that RFC 8489 says to ignore. */
    size_t n_ignored;
};

/*
 * Decode one STUN message from buf[0..len). The datagram must be exactly one
 * message (len == 20 + header length). Checks: top two bits zero, magic cookie,
 * length a multiple of 4 and equal to the datagram's, every attribute inside the
 * message with its padding, MESSAGE-INTEGRITY length 20, MESSAGE-INTEGRITY-SHA256
 * length 16..32 in steps of 4, FINGERPRINT length 4 and last. Attributes after an
 * integrity attribute other than the allowed ones are counted in n_ignored and
 * left out of attrs (RFC 8489 sections 14.5, 14.6). Integrity and fingerprint
 * values are not verified here (see floe_stun_verify_*).
 *
 * Returns 0, FLOE_ERR_INVALID_ARG, FLOE_ERR_NOT_STUN (too short, bits, cookie),
 * FLOE_ERR_STUN_BAD_LENGTH, FLOE_ERR_STUN_BAD_ATTR, FLOE_ERR_STUN_ATTR_ORDER or
 * FLOE_ERR_STUN_TOO_MANY_ATTRS.
 */
FLOE_WARN_UNUSED int floe_stun_decode(struct floe_stun_msg *msg, const uint8_t *buf, size_t len);

/* Quick check without decoding: header bits, cookie and length consistent with len. */
bool floe_stun_is_message(const uint8_t *buf, size_t len);

/* The first attribute of type, or NULL. */
const struct floe_stun_attr *floe_stun_find(const struct floe_stun_msg *msg, uint16_t type);
bool floe_stun_has(const struct floe_stun_msg *msg, uint16_t type);

/*
 * Typed getters. Each returns 0, FLOE_ERR_NOT_FOUND when the attribute is
 * absent, FLOE_ERR_STUN_BAD_ATTR when its value is malformed (wrong length,
 * family other than 0x01/0x02, error class outside 3..6 or number over 99),
 * or FLOE_ERR_INVALID_ARG for NULL pointers. Outputs are set only on success.
 */
/* MAPPED-ADDRESS, ALTERNATE-SERVER: plain address. */
int floe_stun_get_addr(const struct floe_stun_msg *msg, uint16_t type, struct floe_addr *out);
/* XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS: un-XORed address. */
int floe_stun_get_xor_addr(const struct floe_stun_msg *msg, uint16_t type, struct floe_addr *out);
/*
 * Every XOR address of type (e.g. two XOR-RELAYED-ADDRESS), up to max into out;
 * returns the count stored (0 when none), FLOE_ERR_STUN_BAD_ATTR or FLOE_ERR_INVALID_ARG.
 */
int floe_stun_get_xor_addrs(const struct floe_stun_msg *msg, uint16_t type, struct floe_addr *out,
                            int max);
/* 32-bit value: LIFETIME, PRIORITY, FINGERPRINT. */
int floe_stun_get_u32(const struct floe_stun_msg *msg, uint16_t type, uint32_t *out);
/* 64-bit value: ICE-CONTROLLED, ICE-CONTROLLING, RESERVATION-TOKEN. */
int floe_stun_get_u64(const struct floe_stun_msg *msg, uint16_t type, uint64_t *out);
/* Raw value span: USERNAME, USERHASH, REALM, NONCE, SOFTWARE, DATA, ALTERNATE-DOMAIN. */
int floe_stun_get_span(const struct floe_stun_msg *msg, uint16_t type, struct floe_span *out);
/*
 * A text value (REALM, NONCE, USERNAME, SOFTWARE) copied NUL-terminated into out[0..cap);
 * FLOE_ERR_BUFFER_TOO_SMALL (out untouched) when it does not fit with its NUL. The bytes
 * are copied as they are (a NUL inside stays and ends the C string early).
 */
int floe_stun_get_string(const struct floe_stun_msg *msg, uint16_t type, char *out, size_t cap);
/* CHANNEL-NUMBER (RFC 8656 section 18.1): the number, RFFU ignored. */
int floe_stun_get_channel(const struct floe_stun_msg *msg, uint16_t *out);
/* ERROR-CODE: code 300..699 and the reason phrase (borrowed, not NUL-terminated). */
int floe_stun_get_error(const struct floe_stun_msg *msg, int *code, struct floe_span *reason);
/* ADDRESS-ERROR-CODE (RFC 8656 section 18.12): family byte, code and reason. */
int floe_stun_get_address_error(const struct floe_stun_msg *msg, uint8_t *family, int *code,
                                struct floe_span *reason);
/* UNKNOWN-ATTRIBUTES: up to max types into out; *n set to the count stored. */
int floe_stun_get_unknown_attrs(const struct floe_stun_msg *msg, uint16_t *out, size_t max,
                                size_t *n);
/* REQUESTED-TRANSPORT: the protocol number (17 for UDP). */
int floe_stun_get_requested_transport(const struct floe_stun_msg *msg, uint8_t *proto);
/* REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY: 0x01 or 0x02. */
int floe_stun_get_family(const struct floe_stun_msg *msg, uint16_t type, uint8_t *family);
/* EVEN-PORT: the R (reserve next port) bit. */
int floe_stun_get_even_port(const struct floe_stun_msg *msg, bool *reserve);
/* ICMP (RFC 8656 section 18.13): ICMP type, code and error data. */
int floe_stun_get_icmp(const struct floe_stun_msg *msg, uint8_t *type, uint8_t *code,
                       uint32_t *data);
/* PASSWORD-ALGORITHM: algorithm and its parameters (borrowed). */
int floe_stun_get_password_alg(const struct floe_stun_msg *msg, uint16_t *alg,
                               struct floe_span *params);
/* PASSWORD-ALGORITHMS: up to max algorithm numbers into out; *n set to the count. */
int floe_stun_get_password_algs(const struct floe_stun_msg *msg, uint16_t *out, size_t max,
                                size_t *n);

/* ---------------------------------------------------------- credentials */

/*
 * Long-term key for MESSAGE-INTEGRITY: MD5(username ":" realm ":" password)
 * (RFC 8489 section 9.2.2). The caller applies SASLprep/OpaqueString first.
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL out, NULL span with a length) or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_stun_long_term_key_md5(uint8_t out[FLOE_MD5_LEN],
                                                 struct floe_span username, struct floe_span realm,
                                                 struct floe_span password);
/* Long-term key for PASSWORD-ALGORITHM SHA-256: SHA256(username ":" realm ":" password). */
FLOE_WARN_UNUSED int floe_stun_long_term_key_sha256(uint8_t out[FLOE_SHA256_LEN],
                                                    struct floe_span username,
                                                    struct floe_span realm,
                                                    struct floe_span password);

/*
 * Verify MESSAGE-INTEGRITY (HMAC-SHA1) of msg with a keyed context made by
 * floe_hmac_new(FLOE_HMAC_SHA1, key) — the short-term password, or a long-term
 * key. The MAC covers the message up to the attribute with the header length
 * ending just after it (RFC 8489 section 14.5). The comparison is constant-time.
 * Returns 0, FLOE_ERR_INVALID_ARG (NULL, or a context of the other algorithm),
 * FLOE_ERR_NOT_FOUND (no attribute), FLOE_ERR_INTEGRITY or FLOE_ERR_CRYPTO.
 */
FLOE_WARN_UNUSED int floe_stun_verify_integrity(const struct floe_stun_msg *msg,
                                                struct floe_hmac *sha1_ctx);
/* Same for MESSAGE-INTEGRITY-SHA256 with an FLOE_HMAC_SHA256 context; truncated MACs allowed. */
FLOE_WARN_UNUSED int floe_stun_verify_integrity_sha256(const struct floe_stun_msg *msg,
                                                       struct floe_hmac *sha256_ctx);
/* Verify with a raw key used once (floe_hmac_compute_key: nothing allocated). Returns as above. */
FLOE_WARN_UNUSED int floe_stun_verify_integrity_key(const struct floe_stun_msg *msg,
                                                    const uint8_t *key, size_t key_len);
/* Verify FINGERPRINT. Returns 0, FLOE_ERR_NOT_FOUND or FLOE_ERR_FINGERPRINT. */
FLOE_WARN_UNUSED int floe_stun_verify_fingerprint(const struct floe_stun_msg *msg);

/* -------------------------------------------------------------- encoding */

/*
 * Message builder writing into a caller's buffer. Add attributes in order,
 * then integrity, then fingerprint, then finish. Errors are sticky: once a
 * call fails, later calls do nothing and finish returns the first error.
 */
struct floe_stun_builder {
    struct floe_writer w;
    int err;
    bool sealed;        /* integrity added: only integrity-sha256/fingerprint may follow */
    bool sealed_sha256; /* integrity-sha256 added: only fingerprint may follow */
    bool finished;      /* fingerprint added: nothing may follow */
};

/* Start a message; txid is FLOE_STUN_TXID_LEN bytes. */
void floe_stun_build_init(struct floe_stun_builder *b, uint8_t *buf, size_t cap, uint16_t method,
                          uint8_t cls, const uint8_t *txid);
/*
 * Any attribute from raw bytes; pads to 4 with zeros. MESSAGE-INTEGRITY(-SHA256)
 * and FINGERPRINT are refused (FLOE_ERR_INVALID_ARG): use their own calls.
 */
void floe_stun_add_bytes(struct floe_stun_builder *b, uint16_t type, const void *value, size_t len);
/* A zero-length attribute (USE-CANDIDATE, DONT-FRAGMENT). */
void floe_stun_add_flag(struct floe_stun_builder *b, uint16_t type);
void floe_stun_add_u32(struct floe_stun_builder *b, uint16_t type, uint32_t v);
void floe_stun_add_u64(struct floe_stun_builder *b, uint16_t type, uint64_t v);
void floe_stun_add_addr(struct floe_stun_builder *b, uint16_t type, const struct floe_addr *a);
void floe_stun_add_xor_addr(struct floe_stun_builder *b, uint16_t type, const struct floe_addr *a);
/* ERROR-CODE with code 300..699 and a reason (NUL-terminated, <= 763 bytes). */
void floe_stun_add_error(struct floe_stun_builder *b, int code, const char *reason);
/* ADDRESS-ERROR-CODE (RFC 8656 section 18.12): family 0x01/0x02, code and reason as above. */
void floe_stun_add_address_error(struct floe_stun_builder *b, uint8_t family, int code,
                                 const char *reason);
void floe_stun_add_unknown_attrs(struct floe_stun_builder *b, const uint16_t *types, size_t n);
/* CHANNEL-NUMBER in 0x4000..0x4FFF (FLOE_ERR_INVALID_ARG otherwise). */
void floe_stun_add_channel(struct floe_stun_builder *b, uint16_t channel);
void floe_stun_add_requested_transport(struct floe_stun_builder *b, uint8_t proto);
/* REQUESTED-/ADDITIONAL-ADDRESS-FAMILY with family 0x01 or 0x02. */
void floe_stun_add_family(struct floe_stun_builder *b, uint16_t type, uint8_t family);
void floe_stun_add_even_port(struct floe_stun_builder *b, bool reserve);
/* ICMP (RFC 8656 section 18.13): ICMP type, code and error data. */
void floe_stun_add_icmp(struct floe_stun_builder *b, uint8_t type, uint8_t code, uint32_t data);
/* MESSAGE-INTEGRITY with an FLOE_HMAC_SHA1 context (RFC 8489 section 14.5). */
void floe_stun_add_integrity(struct floe_stun_builder *b, struct floe_hmac *sha1_ctx);
/* MESSAGE-INTEGRITY-SHA256 (full 32 bytes) with an FLOE_HMAC_SHA256 context. */
void floe_stun_add_integrity_sha256(struct floe_stun_builder *b, struct floe_hmac *sha256_ctx);
/* MESSAGE-INTEGRITY with a raw key used once (floe_hmac_compute_key: nothing allocated). */
void floe_stun_add_integrity_key(struct floe_stun_builder *b, const uint8_t *key, size_t key_len);
void floe_stun_add_fingerprint(struct floe_stun_builder *b);
/*
 * Finish: returns the message length, or the first error (FLOE_ERR_BUFFER_TOO_SMALL,
 * FLOE_ERR_STUN_ATTR_ORDER, FLOE_ERR_INVALID_ARG for bad values or a body over
 * 65532 bytes, FLOE_ERR_NOMEM or FLOE_ERR_CRYPTO).
 */
FLOE_WARN_UNUSED long floe_stun_build_finish(struct floe_stun_builder *b);

/* ------------------------------------------------------------ ChannelData */

#define FLOE_CHANNEL_MIN 0x4000
/* RFC 8656 section 12: the numbers floe's client binds. */
#define FLOE_CHANNEL_MAX 0x4FFF
/*
 * RFC 5766 allowed 0x4000..0x7FFF and clients such as coturn's still pick from
 * it; ChannelData framing and the relay accept the wider range.
 */
#define FLOE_CHANNEL_MAX_RFC5766 0x7FFF
#define FLOE_CHANNELDATA_HEADER_LEN 4

/*
 * Frame data as ChannelData (RFC 8656 section 12.4) into out; no padding (UDP).
 * data may overlap out in any way: framing in place with the payload already at
 * out + 4, or moving a payload that starts at out (floe_turn_encapsulate's in place).
 * The channel is in 0x4000..0x7FFF (FLOE_CHANNEL_MAX_RFC5766).
 * Returns the frame length, FLOE_ERR_INVALID_ARG (channel out of range, NULL
 * pointers or data over 65535 bytes) or FLOE_ERR_BUFFER_TOO_SMALL.
 */
long floe_channeldata_encode(uint8_t *out, size_t cap, uint16_t channel, const uint8_t *data,
                             size_t len);
/*
 * Parse a ChannelData frame: channel in 0x4000..0x7FFF and the length field at
 * most the bytes present (trailing padding allowed). data borrows buf; channel
 * and data may be NULL. Returns 0, FLOE_ERR_NOT_CHANNELDATA (empty, or first
 * byte outside 0x40..0x7F) or FLOE_ERR_TRUNCATED (header or data cut short).
 */
int floe_channeldata_decode(const uint8_t *buf, size_t len, uint16_t *channel,
                            struct floe_span *data);

/* ------------------------------------------------------------- classifier */

enum floe_packet_kind {
    FLOE_PACKET_OTHER = 0,
    FLOE_PACKET_STUN,
    FLOE_PACKET_CHANNELDATA,
    FLOE_PACKET_WIREGUARD,
};

/*
 * Tell a datagram's kind by its first bytes, in this order: STUN (top two bits
 * zero, magic cookie, length field consistent with len), ChannelData (first
 * byte 0x40..0x7F: RFC 7983's 64..79 plus the rest of RFC 5766's channel range,
 * which no other protocol here uses; length field at most the bytes present),
 * WireGuard (type 1..4 and three zero reserved bytes, with the exact sizes 148,
 * 92 and 64 for types 1-3 and at least 32 bytes for type 4; no multiple-of-16
 * rule, since senders pad only up to the MTU), otherwise FLOE_PACKET_OTHER.
 */
enum floe_packet_kind floe_packet_classify(const uint8_t *buf, size_t len);
/* "stun", "channeldata", "wireguard", "other"; "unknown" for values outside the enum. */
const char *floe_packet_kind_name(enum floe_packet_kind kind);

/* ----------------------------------------------------------- transactions */

/*
 * Retransmission schedule of one client transaction: first send at start, then
 * after rto, rto*backoff, ... capped at max_rto, for at most max_sends sends;
 * after the last send wait last_wait (RFC 8489's Rm*RTO) and time out. A
 * non-zero give_up_after bounds the whole transaction from its start.
 */
struct floe_stun_txn_config {
    floe_time initial_rto;
    uint32_t backoff_permille; /* 2000 = doubling, 1500 = x1.5 */
    floe_time max_rto;         /* 0: no cap */
    uint32_t max_sends;        /* 0: unlimited (give_up_after must be set) */
    floe_time last_wait;       /* 0: wait the current rto after the last send */
    floe_time give_up_after;   /* 0: none */
};

/* RFC 8489 section 6.2.1: RTO 500 ms doubling, Rc = 7 sends, Rm = 16 (39.5 s). */
struct floe_stun_txn_config floe_stun_txn_config_rfc8489(void);
/* DESIGN.md TURN profile: 1 s, x1.5, give up after 8 s. */
struct floe_stun_txn_config floe_stun_txn_config_turn(void);

enum floe_stun_txn_state {
    FLOE_STUN_TXN_IDLE = 0,
    FLOE_STUN_TXN_WAITING, /* sent, waiting for a response or the next timeout */
    FLOE_STUN_TXN_DONE,    /* a response matched */
    FLOE_STUN_TXN_TIMED_OUT,
};

struct floe_stun_txn {
    struct floe_stun_txn_config cfg;
    uint8_t txid[FLOE_STUN_TXID_LEN];
    enum floe_stun_txn_state state;
    bool send_due;
    uint32_t sends;
    floe_time started;
    floe_time first_sent;
    floe_time last_sent;
    floe_time next; /* next deadline */
    floe_time rto;  /* wait after the most recent send */
    floe_time rtt;  /* measured on response; FLOE_TIME_NEVER if unknown */
};

/* Start a transaction with txid at now; the first send is due at once. */
void floe_stun_txn_start(struct floe_stun_txn *t, const struct floe_stun_txn_config *cfg,
                         const uint8_t *txid, floe_time now);
/*
 * 1 if the caller must (re)send the request now (with the same txid), which the
 * call records as sent; 0 otherwise.
 */
int floe_stun_txn_poll_transmit(struct floe_stun_txn *t, floe_time now);
/* Next deadline, FLOE_TIME_NEVER when done, timed out or idle. */
floe_time floe_stun_txn_poll_timeout(const struct floe_stun_txn *t);
/* Fire a due deadline: schedules a resend or moves to TIMED_OUT. */
void floe_stun_txn_handle_timeout(struct floe_stun_txn *t, floe_time now);
/*
 * Offer a decoded response: 1 if its txid matches a waiting transaction (now
 * DONE; rtt set when the request was sent once, Karn's rule), 0 otherwise.
 */
int floe_stun_txn_handle_response(struct floe_stun_txn *t, floe_time now,
                                  const struct floe_stun_msg *msg);
bool floe_stun_txn_is_done(const struct floe_stun_txn *t);
bool floe_stun_txn_is_timed_out(const struct floe_stun_txn *t);

#ifdef __cplusplus
}
#endif

#endif
