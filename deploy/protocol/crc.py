"""The CRC32 the G1 firmware checks on LowCmd (and writes on LowState).

It runs over the in-memory C struct, not over the DDS wire bytes: the message packed
with natural alignment and zero padding (``struct`` formats below), read as
little-endian 32-bit words, every word except the trailing ``crc`` fed MSB-first into
a CRC-32 with polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection and no
final XOR. That equals CRC-32/MPEG-2 over the words re-serialized big-endian, which is
what the tables below compute (four bytes a step). Frames with non-zero padding bytes are
dropped by the firmware, so padding is always packed as zeros (``x``).
"""

from __future__ import annotations

import struct

import numpy as np

POLY = 0x04C11DB7
# unitree_sdk2py's layouts: LowCmd 1004 bytes, LowState 2092 bytes.
LOWCMD_FORMAT = "<2B2x" + "B3x5fI" * 35 + "5I"
LOWSTATE_FORMAT = "<2I2B2xI" + "13fh2x" + "B3x4f2hf7I" * 35 + "40B5I"
assert struct.calcsize(LOWCMD_FORMAT) == 1004 and struct.calcsize(LOWSTATE_FORMAT) == 2092


def _table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ POLY) if c & 0x80000000 else (c << 1)
            c &= 0xFFFFFFFF
        table[i] = c
    return table


_T1 = [int(x) for x in _table()]
# Slicing-by-4: _T[k][b] is the CRC contribution of byte b followed by k zero bytes, so a
# whole 32-bit word is folded in with four lookups instead of four byte steps.
_T2 = [((c << 8) & 0xFFFFFFFF) ^ _T1[c >> 24] for c in _T1]
_T3 = [((c << 8) & 0xFFFFFFFF) ^ _T1[c >> 24] for c in _T2]
_T4 = [((c << 8) & 0xFFFFFFFF) ^ _T1[c >> 24] for c in _T3]


def crc32_words(image: bytes) -> int:
    """CRC over all little-endian uint32 words of ``image`` but the last (the crc field)."""
    if len(image) % 4:
        raise ValueError(f"struct image of {len(image)} bytes is not a whole number of words")
    t1, t2, t3, t4 = _T1, _T2, _T3, _T4
    crc = 0xFFFFFFFF
    for word in struct.unpack_from(f"<{len(image) // 4 - 1}I", image):
        x = crc ^ word  # the word enters MSB first, so it lines up with the register
        crc = t4[x >> 24] ^ t3[(x >> 16) & 0xFF] ^ t2[(x >> 8) & 0xFF] ^ t1[x & 0xFF]
    return crc


def crc32_reference(image: bytes) -> int:
    """The SDK's bit loop, word by word (slow; the definition, kept for tests)."""
    words = struct.unpack(f"<{len(image) // 4}I", image)[:-1]
    crc = 0xFFFFFFFF
    for word in words:
        bit = 1 << 31
        for _ in range(32):
            crc = ((crc << 1) ^ POLY) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
            if word & bit:
                crc ^= POLY
            bit >>= 1
    return crc
