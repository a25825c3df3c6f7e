#!/usr/bin/env python3
"""Independent WireGuard reference computation for floe's known-answer test.

Written from the WireGuard paper (section 5.4) with Python's hashlib.blake2s and the
`cryptography` package (X25519, ChaCha20-Poly1305), sharing no code with floe. It prints
handshake.txt: fixed inputs (keys, ephemerals, indices, wall clock) and the exact bytes
of the initiation, the response and the initiator's first data messages that a
byte-compatible implementation must produce from them, plus the protocol's constant
chaining key and hash and a MAC1 example.

    python3 tests/vectors/wg/gen_vectors.py > tests/vectors/wg/handshake.txt
"""
import hashlib
import hmac
import struct

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"


def HASH(*parts):
    return hashlib.blake2s(b"".join(parts)).digest()


def MAC(key, data):
    return hashlib.blake2s(data, digest_size=16, key=key).digest()


def HMAC(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def KDF(n, key, data):
    t0 = HMAC(key, data)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = HMAC(t0, prev + bytes([i]))
        out.append(prev)
    return out


def pub(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def DH(priv, pub_bytes):
    return X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(pub_bytes))


def AEAD(key, counter, plain, ad):
    nonce = b"\0" * 4 + struct.pack("<Q", counter)
    return ChaCha20Poly1305(key).encrypt(nonce, plain, ad)


def tai64n(unix_ns):
    sec, nsec = divmod(unix_ns, 10**9)
    return struct.pack(">QI", 0x400000000000000A + sec, nsec & ~((1 << 24) - 1))


def seq(start, n=32):
    return bytes((start + i) & 0xFF for i in range(n))


def main():
    s_i, s_r = seq(0x10), seq(0x40)
    e_i, e_r = seq(0x70), seq(0xA0)
    psk = seq(0xD0)
    idx_i, idx_r = 0x11223344, 0x55667788
    unix_ns = 1700000000_123456789
    S_i, S_r = pub(s_i), pub(s_r)

    c0 = HASH(CONSTRUCTION)
    h0 = HASH(c0, IDENTIFIER)

    # Initiation (paper 5.4.2).
    C, H = c0, HASH(h0, S_r)
    E_i = pub(e_i)
    C = KDF(1, C, E_i)[0]
    H = HASH(H, E_i)
    C, k = KDF(2, C, DH(e_i, S_r))
    enc_static = AEAD(k, 0, S_i, H)
    H = HASH(H, enc_static)
    C, k = KDF(2, C, DH(s_i, S_r))
    enc_ts = AEAD(k, 0, tai64n(unix_ns), H)
    H = HASH(H, enc_ts)
    init = struct.pack("<II", 1, idx_i) + E_i + enc_static + enc_ts
    init += MAC(HASH(LABEL_MAC1, S_r), init)
    init += b"\0" * 16
    assert len(init) == 148

    # Response (paper 5.4.3).
    E_r = pub(e_r)
    C = KDF(1, C, E_r)[0]
    H = HASH(H, E_r)
    C = KDF(1, C, DH(e_r, E_i))[0]
    C = KDF(1, C, DH(e_r, S_i))[0]
    C, tau, k = KDF(3, C, psk)
    H = HASH(H, tau)
    enc_empty = AEAD(k, 0, b"", H)
    H = HASH(H, enc_empty)
    resp = struct.pack("<III", 2, idx_r, idx_i) + E_r + enc_empty
    resp += MAC(HASH(LABEL_MAC1, S_i), resp)
    resp += b"\0" * 16
    assert len(resp) == 92

    # Transport keys (paper 5.4.5) and the initiator's first messages (5.4.6).
    t_send_i, t_recv_i = KDF(2, C, b"")
    keepalive = struct.pack("<IIQ", 4, idx_r, 0) + AEAD(t_send_i, 0, b"", b"")
    packet = bytes([0x45, 0, 0, 20]) + bytes(16)
    data = struct.pack("<IIQ", 4, idx_r, 1) + AEAD(t_send_i, 1, packet + bytes(12), b"")

    mac1_example = MAC(HASH(LABEL_MAC1, S_r), init[:116])
    out = {
        "initial_chaining_key": c0, "initial_hash": h0,
        "initiator_static_private": s_i, "responder_static_private": s_r,
        "initiator_static_public": S_i, "responder_static_public": S_r,
        "initiator_ephemeral_private": e_i, "responder_ephemeral_private": e_r,
        "preshared_key": psk,
        "initiator_index": struct.pack("<I", idx_i), "responder_index": struct.pack("<I", idx_r),
        "unix_ns": str(unix_ns).encode(), "timestamp": tai64n(unix_ns),
        "mac1_key_responder": HASH(LABEL_MAC1, S_r), "mac1": mac1_example,
        "initiation": init, "response": resp,
        "initiator_send_key": t_send_i, "initiator_recv_key": t_recv_i,
        "first_keepalive": keepalive, "packet": packet, "second_data": data,
    }
    for key, val in out.items():
        print(f"{key} {val.decode() if key == 'unix_ns' else val.hex()}")


if __name__ == "__main__":
    main()
