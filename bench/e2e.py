#!/usr/bin/env python3
"""End-to-end benchmark: one Redshift batch through the real superdecode binary
(`invoke`, the Lambda handler's code path, as a whole process: start, load schemas, decode,
print) beside the Python reference (reference.py, fastavro) doing the same work, in one
run, interleaved so that machine noise hits both alike. Reports medians and the ratio.

Usage: bench/e2e.py [--rows N] [--repeat R] [--encoding hex|base64]
(base64: the payloads as FROM_VARBYTE(data, 'base64') writes them, called as f_superdecode_b64)
Needs target/release/superdecode (cargo build --release) and the pinned tools in .venv
(scripts/test.sh). The batch is made here with fastavro and aws-glue-schema-registry.
"""

import argparse
import base64
import datetime as dt
import decimal
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import fastavro
from aws_schema_registry import codec

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
BINARY = ROOT / "target" / "release" / "superdecode"


def order(i, rng):
    items = [{"sku": f"SKU-{rng.randrange(10_000):05d}", "quantity": rng.randrange(1, 5),
              "unit_price": decimal.Decimal(rng.randrange(100, 100_000)) / 100} for _ in range(rng.randrange(1, 6))]
    return {
        "order_id": f"ord-{i:08d}",
        "placed_at": dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=i * 1_337_421),
        "status": rng.choice(["PLACED", "PAID", "SHIPPED", "CANCELLED"]),
        "customer": {"customer_id": rng.randrange(1, 10**9), "email": f"user{i}@example.com",
                     "loyalty_tier": rng.choice([None, "gold", "silver"])},
        "items": items,
        "total": sum((it["unit_price"] * it["quantity"] for it in items), decimal.Decimal("0.00")),
        "currency": b"EUR",
        "delivery_date": rng.choice([None, dt.date(2026, 11, 26)]),
        "tags": {"channel": rng.choice(["app", "web"]), "campaign": f"c{rng.randrange(50)}"},
    }


def make_event(rows, path, encoding="hex"):
    schema_dir = SCHEMAS / "default-registry" / "orders"
    schema = fastavro.parse_schema(json.loads((schema_dir / "1.avsc").read_text()))
    version = uuid.UUID(json.loads((schema_dir / "ids.json").read_text())["1"]["glue"])
    rng = random.Random(42)
    arguments = []
    for i in range(rows):
        buf = __import__("io").BytesIO()
        fastavro.schemaless_writer(buf, schema, order(i, rng))
        payload = codec.encode(buf.getvalue(), version, compression=(i % 4 == 0))
        arguments.append([payload.hex() if encoding == "hex" else base64.b64encode(payload).decode()])
    function = "f_superdecode" if encoding == "hex" else "f_superdecode_b64"
    path.write_text(json.dumps({"request_id": "bench", "external_function": function, "num_records": rows,
                                "arguments": arguments}))


def measure(command):
    """Wall time and peak RSS (KiB) of one run of `command`, in a fresh child."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *command], check=True, capture_output=True, text=True)
    seconds, rss = out.stdout.split()
    return float(seconds), int(rss)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--encoding", choices=["hex", "base64"], default="hex")
    args = parser.parse_args()
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: run cargo build --release")
    with tempfile.TemporaryDirectory() as tmp:
        event = Path(tmp) / "event.json"
        make_event(args.rows, event, args.encoding)
        contenders = {
            "superdecode": [str(BINARY), "invoke", "--schemas", str(SCHEMAS), str(event)],
            "python reference": [sys.executable, str(ROOT / "bench" / "reference.py"), str(SCHEMAS), str(event)],
        }
        # Same answers first: both decode every row, to the same values.
        outputs = {name: json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                   for name, cmd in contenders.items()}
        ours, theirs = outputs["superdecode"]["results"], outputs["python reference"]["results"]
        assert len(ours) == len(theirs) == args.rows
        for a, b in zip(ours, theirs):
            a, b = json.loads(a), json.loads(b)
            assert a["order_id"] == b["order_id"] and a["customer"] == b["customer"], (a, b)
            assert decimal.Decimal(str(a["total"])) == decimal.Decimal(b["total"]), (a["total"], b["total"])
        timings = {name: [] for name in contenders}
        memory = {name: [] for name in contenders}
        for _ in range(args.repeat):
            for name, cmd in contenders.items():  # interleaved
                seconds, rss = measure(cmd)
                timings[name].append(seconds)
                memory[name].append(rss)
        size = event.stat().st_size
    print(f"batch: {args.rows} Glue-framed Avro order records (1 in 4 zlib) as {args.encoding}, "
          f"event {size / 1e6:.1f} MB, "
          f"{args.repeat} interleaved runs, medians")
    print(f"{'':18} {'wall (ms)':>10} {'records/s':>12} {'peak RSS (MiB)':>15}")
    for name in contenders:
        wall = statistics.median(timings[name])
        print(f"{name:18} {wall * 1000:10.1f} {args.rows / wall:12,.0f} {statistics.median(memory[name]) / 1024:15.1f}")
    ratio = statistics.median(timings["python reference"]) / statistics.median(timings["superdecode"])
    mem_ratio = statistics.median(memory["python reference"]) / statistics.median(memory["superdecode"])
    print(f"superdecode is {ratio:.1f}x faster and uses {mem_ratio:.1f}x less memory than the Python reference")


if __name__ == "__main__":
    main()
