#!/usr/bin/env python3
"""Writes the small committed seed corpora under fuzz/seeds/<target>/ from the test
fixtures (tests/fixtures/cases.json, samples/) and a few hand-made inputs.

Run from the repository root: python3 fuzz/make_seeds.py (standard library only)."""

import hashlib
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def write(target, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field, payload):
    """A length-delimited Protobuf field."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def vi(field, n):
    return varint(field << 3) + varint(n)


cases = json.load(open(os.path.join(ROOT, "tests", "fixtures", "cases.json")))
payloads = []
for case in cases:
    text = case["args"][-1]
    if isinstance(text, str) and text not in payloads:
        payloads.append(text)

# redshift_event: mode byte 0 = whole event, 1 = the arguments array.
with open(os.path.join(ROOT, "samples", "redshift-event.json"), "rb") as f:
    write("redshift_event", b"\x00" + f.read())
for i in range(0, min(len(cases), 60), 6):
    rows = [c["args"] for c in cases[i : i + 6]]
    write("redshift_event", b"\x01" + json.dumps(rows).encode())
write("redshift_event", b"\x00" + json.dumps({"num_records": 2, "arguments": [None, [None, "00"]]}).encode())
# response_writer: results split at 0xFF (an empty one is NULL): decoded records' JSON, and
# every byte a JSON string escapes.
with open(os.path.join(ROOT, "samples", "redshift-event.expected.json"), "rb") as f:
    write("response_writer", b"\xff".join((r or "").encode() for r in json.load(f)))
write("response_writer", b'{"a":"b\\"c"}\xff\xff' + bytes(range(0x20)) + b'"\\ #] \x7f' + "ü€😀".encode())
write("redshift_event", b"\x00" + json.dumps({"request_id": "r", "query_id": 1, "arguments": [[1]]}).encode())

# unframe: payload bytes, payload hex text, zlib round trip (f0) and bomb (f1) modes.
for text in payloads[:40]:
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        write("unframe", text.encode()[:256])
        continue
    write("unframe", raw[:512])
for text in payloads[:6]:
    write("unframe", text.encode()[:512])
write("unframe", b"\xf0hello, zlib")
write("unframe", b"\xf1ab")

# avro_decode: options byte, int64 byte, limits byte, then the schema choices, then the body.
HEAD = b"\x00\x00\x05"
avro = [
    # Linked list: record(ns none, 2 fields: int, union[null, ref 0]); 1 -> 2 -> end.
    HEAD + bytes([8, 2, 2, 2, 14, 1, 0, 31, 0]) + bytes([0x02, 0x02, 0x04, 0x00]),
    # Record of long, string, bytes, double.
    HEAD + bytes([8, 2, 4, 3, 7, 6, 5]) + b"\x02\x02a\x00" + struct.pack("<d", 1.5),
    # Array of map of string.
    HEAD + bytes([11, 13, 7]) + b"\x02\x02\x02k\x02v\x00\x00",
    # decimal(10, 2) on bytes: 12.30.
    HEAD + bytes([17, 9, 2]) + b"\x04\x04\xce",
    # Record: date, timestamp-micros, time-micros, duration, uuid string.
    b"\xff\x01\x05" + bytes([8, 2, 5, 21, 24, 1, 23, 25, 2, 19])
    + b"\x80\x01\x02\x02" + bytes(12) + b"\x48" + b"6f1c0a3e-5b1d-4c5e-9a7b-0e2f3d4c5b6a",
    # Enum in a union, fixed(4), big-decimal.
    HEAD + bytes([14, 2, 0, 10, 2, 3, 16, 2, 4]) + b"\x02\x04",
    HEAD + bytes([26]) + b"\x06\x02\x01\x04",
]
for seed in avro:
    write("avro_decode", seed)

# protobuf_decode: selector byte (schema = s % 3, wire = (s >> 2) % 4: glue, confluent,
# raw, raw with a named message), then the body.
URL = b"type.googleapis.com/"
ts = vi(1, 1714571100) + vi(2, 250_000_000)
struct_ = ld(1, ld(1, b"k") + ld(2, b"\x11" + struct.pack("<d", 2.5)))
everything = (
    vi(3, 150) + ld(14, b"hi") + ld(15, b"\x00\xff") + vi(16, 2)
    + ld(17, b"\x01\x02\x03") + vi(18, 4) + vi(18, 5)
    + ld(21, ld(1, b"a") + vi(2, 7))
    + ld(22, vi(1, 3) + ld(2, vi(3, 9)))
    + ld(24, b"oneof")
    + ld(27, vi(3, 1) + ld(27, vi(3, 2)))
    + ld(29, ts) + ld(30, vi(1, 3) + vi(2, 5))
    + ld(31, ld(1, URL + b"fz.Everything") + ld(2, vi(3, 5)))
    + ld(32, struct_) + ld(33, ld(6, ld(1, b"\x08\x01")))
    + ld(35, vi(1, 7)) + ld(42, ld(1, b"s")) + ld(44, ld(1, b"a.b"))
    + ld(45, b"") + vi(46, 0) + ld(48, ld(1, vi(1, 4)))
)
write("protobuf_decode", bytes([8]) + everything)
write("protobuf_decode", bytes([8 | 0x80]) + everything)
write("protobuf_decode", bytes([0]) + b"\x00" + everything)
write("protobuf_decode", bytes([4]) + b"\x00" + everything)
write("protobuf_decode", bytes([12 | 0x20]) + ld(1, b"root") + ld(2, ld(1, b"kid")) + ld(3, ld(1, b"l")))
legacy = vi(1, 1) + ld(2, b"x") + b"\x1b" + vi(4, 5) + ld(5, vi(1, 2)) + b"\x1c" + b"\x33" + ld(7, b"v") + b"\x34" + ld(8, b"\x01\x02") + ld(10, ld(1, b"k") + ld(2, vi(1, 3))) + vi(11, 9)
write("protobuf_decode", bytes([9]) + legacy)
write("protobuf_decode", bytes([1]) + b"\x00" + legacy)
wkt = ld(1, ld(1, URL + b"google.protobuf.Struct") + ld(2, struct_)) + ld(2, struct_) + ld(4, ld(1, b"\x08\x00")) + ld(5, ts)
write("protobuf_decode", bytes([10]) + wkt)
write("protobuf_decode", bytes([10]) + ld(1, ld(1, URL + b"google.protobuf.Any") + ld(2, ld(1, URL + b"google.protobuf.Duration") + ld(2, vi(1, 1)))))
