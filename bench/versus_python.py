#!/usr/bin/env python3
"""superdecode beside Python handlers doing the same job, in one run.

Builds a 4,000-row `(stream, hex)` Redshift event of the 20-field order in bench/schemas
with independent encoders (fastavro for Avro, the protobuf runtime for Protobuf), checks
that every handler gives every row the same JSON value as `superdecode invoke`, then times:

1. whole processes, alternately (interpreter or binary start, schema load, decode, print):
   `superdecode invoke` against the AWS-sample-shaped handler and fastavro + orjson;
2. per record in process: the Python handlers called in this interpreter on the parsed
   event, against superdecode's marginal cost per record (a whole run on the event, less a
   run on a one-row event of the same schema, over the other rows: start-up and schema
   compilation cancel out), for Avro and Protobuf.

Prints medians, the run-to-run spread of each ratio (min-max over the pairs), and each
target as met or missed.

Usage: bench/versus_python.py [--rows N] [--repeat R] [--binary PATH] [--keep DIR]
Needs target/release/superdecode (cargo build --release) and the pinned tools in .venv
(scripts/test.sh).
"""

import argparse
import io
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fastavro

sys.path.insert(0, str(Path(__file__).resolve().parent))
import python_handlers  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "bench" / "schemas"
MICROS = 1_000_000


def order(i, rng):
    """One order, as a dict both encoders take (timestamps in microseconds/milliseconds)."""
    placed = 1_795_392_000_000_000 + i * 1_337_421
    items = [{"sku": f"SKU-{rng.randrange(10_000):05d}", "quantity": rng.randrange(1, 5),
              "unit_price_cents": rng.randrange(100, 100_000)} for _ in range(rng.randrange(1, 6))]
    return {
        "order_id": f"ord-{i:08d}",
        "placed_at": placed,
        "updated_at": placed // 1000 + rng.randrange(1, 10**6),
        "status": rng.choice(["PLACED", "PAID", "SHIPPED", "CANCELLED"]),
        "channel": rng.choice(["WEB", "APP", "STORE"]),
        "customer": {"customer_id": rng.randrange(1, 10**9), "email": f"user{i}@example.com",
                     "loyalty_tier": rng.choice([None, "gold", "silver"]),
                     "address": {"street": f"{rng.randrange(1, 300)} Main Street", "city": "Lisbon",
                                 "postcode": f"{rng.randrange(1000, 9999)}-{rng.randrange(100, 999)}",
                                 "country": "PT"}},
        "items": items,
        "total_cents": sum(it["unit_price_cents"] * it["quantity"] for it in items),
        "shipping_cost": rng.choice([0.0, 4.99, 12.5]),
        "currency": "EUR",
        "tags": {"campaign": f"c{rng.randrange(50)}", "source": rng.choice(["email", "ads"])},
        "is_gift": rng.random() < 0.2,
        "gift_message": rng.choice([None, "Happy birthday!"]),
        "weight_grams": rng.randrange(100, 20_000),
        "coupon_codes": [f"SAVE{rng.randrange(5, 50)}" for _ in range(rng.randrange(0, 3))],
        "session_id": f"{rng.getrandbits(64):016x}",
        "device": {"os": rng.choice(["ios", "android", "web"]), "app_version": f"5.{rng.randrange(20)}.1"},
        "priority": rng.randrange(0, 3),
        "notes": rng.choice([None, "leave at the door"]),
        "line_count": len(items),
    }


def avro_payloads(rows):
    schema = fastavro.parse_schema(json.loads(python_handlers.avro_schema_text(SCHEMAS)))
    rng = random.Random(42)
    payloads = []
    for i in range(rows):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, order(i, rng))
        payloads.append(buf.getvalue().hex())
    return payloads


def protobuf_payloads(rows, module):
    rng = random.Random(42)
    payloads = []
    for i in range(rows):
        o = order(i, rng)
        m = module.Order()
        m.order_id = o["order_id"]
        m.placed_at.FromMicroseconds(o["placed_at"])
        m.updated_at.FromMilliseconds(o["updated_at"])
        m.status = module.Order.Status.Value(o["status"])
        m.channel = module.Order.Channel.Value(o["channel"])
        c = o["customer"]
        m.customer.customer_id = c["customer_id"]
        m.customer.email = c["email"]
        if c["loyalty_tier"] is not None:
            m.customer.loyalty_tier = c["loyalty_tier"]
        for k, v in c["address"].items():
            setattr(m.customer.address, k, v)
        for it in o["items"]:
            m.items.add(**it)
        m.total_cents = o["total_cents"]
        m.shipping_cost = o["shipping_cost"]
        m.currency = o["currency"]
        m.tags.update(o["tags"])
        m.is_gift = o["is_gift"]
        if o["gift_message"] is not None:
            m.gift_message = o["gift_message"]
        m.weight_grams = o["weight_grams"]
        m.coupon_codes.extend(o["coupon_codes"])
        m.session_id = o["session_id"]
        m.device.os, m.device.app_version = o["device"]["os"], o["device"]["app_version"]
        m.priority = o["priority"]
        if o["notes"] is not None:
            m.notes = o["notes"]
        m.line_count = o["line_count"]
        payloads.append(m.SerializeToString().hex())
    return payloads


def write_event(path, stream, payloads):
    path.write_text(json.dumps({"request_id": "bench", "cluster": "bench", "external_function": "f_superdecode",
                                "num_records": len(payloads), "arguments": [[stream, p] for p in payloads]}))


def run(command):
    """Wall time of one whole run of `command`, output discarded."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def results(command):
    response = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    assert response["success"] is True, response
    return [json.loads(r) for r in response["results"]]


def same_answers(name, ours, theirs):
    assert len(ours) == len(theirs), (name, len(ours), len(theirs))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            sys.exit(f"{name} disagrees with superdecode on row {i}:\n  superdecode {a}\n  {name} {b}")


def in_process(handler, event, repeat):
    """Median seconds per record of `handler` on the parsed event."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        handler(event)
        times.append(time.perf_counter() - started)
    return statistics.median(times) / len(event["arguments"]), times


def rows_of(event):
    return len(event["arguments"])


def spread(numerators, denominators):
    ratios = [n / d for n, d in zip(numerators, denominators)]
    return min(ratios), max(ratios)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "superdecode"))
    parser.add_argument("--keep", metavar="DIR", help="also write the events here (avro.json, protobuf.json), "
                        "for cargo bench --bench warm_path")
    args = parser.parse_args()
    binary = args.binary
    if not Path(binary).exists():
        sys.exit(f"{binary} is missing: run cargo build --release")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        module = python_handlers.protobuf_module(SCHEMAS, tmp)
        avro_event, proto_event = tmp / "avro.json", tmp / "protobuf.json"
        avro_one, proto_one = tmp / "avro-1.json", tmp / "protobuf-1.json"
        avro_rows, proto_rows = avro_payloads(args.rows), protobuf_payloads(args.rows, module)
        write_event(avro_event, "order20", avro_rows)
        write_event(proto_event, "order20_pb", proto_rows)
        write_event(avro_one, "order20", avro_rows[:1])
        write_event(proto_one, "order20_pb", proto_rows[:1])
        if args.keep:
            Path(args.keep).mkdir(parents=True, exist_ok=True)
            for event in (avro_event, proto_event):
                (Path(args.keep) / event.name).write_text(event.read_text())
        ours = [binary, "invoke", "--schemas", str(SCHEMAS)]
        python = [sys.executable, str(ROOT / "bench" / "python_handlers.py")]
        whole = {
            "superdecode invoke": ours + [str(avro_event)],
            "AWS-sample-shaped (avro + json)": python + ["aws-sample", str(SCHEMAS), str(avro_event)],
            "fastavro + orjson": python + ["fastavro-orjson", str(SCHEMAS), str(avro_event)],
        }
        # ProtoJSON names, 64-bit integers and omitted defaults, as MessageToJson writes them.
        proto_json = ["--proto-field-names", "json", "--int64", "string", "--proto-defaults", "omit"]
        proto_whole = {
            "superdecode invoke (protobuf)": ours + proto_json + [str(proto_event)],
            "protobuf + MessageToJson": python + ["protobuf", str(SCHEMAS), str(proto_event)],
        }
        one_row = {
            "superdecode, one Avro row": ours + [str(avro_one)],
            "superdecode, one Protobuf row": ours + proto_json + [str(proto_one)],
        }

        # Every handler gives every row superdecode's JSON value.
        avro_answers = results(whole["superdecode invoke"])
        for name in list(whole)[1:]:
            same_answers(name, avro_answers, results(whole[name]))
        same_answers("protobuf + MessageToJson", results(proto_whole["superdecode invoke (protobuf)"]),
                     results(proto_whole["protobuf + MessageToJson"]))

        contenders = {**whole, **proto_whole, **one_row}
        timings = {name: [] for name in contenders}
        for _ in range(args.repeat):  # interleaved, so that noise hits every contender alike
            for name, command in contenders.items():
                timings[name].append(run(command))

        events = {"avro": json.loads(avro_event.read_text()), "protobuf": json.loads(proto_event.read_text())}
        handlers = {
            "AWS-sample-shaped (avro + json)": (python_handlers.aws_sample(SCHEMAS), "avro"),
            "fastavro + orjson": (python_handlers.fastavro_orjson(SCHEMAS), "avro"),
            "protobuf + MessageToJson": (python_handlers.protobuf(SCHEMAS, tmp), "protobuf"),
        }
        measured = {name: in_process(h, events[kind], args.repeat) for name, (h, kind) in handlers.items()}
        per_record = {name: m[0] for name, m in measured.items()}
        per_record_runs = {name: [t / rows_of(events[kind]) for t in measured[name][1]]
                           for name, (h, kind) in handlers.items()}
        size = avro_event.stat().st_size

    rows = args.rows
    med = {name: statistics.median(t) for name, t in timings.items()}
    print(f"event: {rows} (stream, hex) rows of a 20-field order, {size / 1e6:.1f} MB (Avro); "
          f"{args.repeat} interleaved runs, medians")
    print(f"\nwhole process{'':24} {'wall (ms)':>10}")
    for name, seconds in med.items():
        print(f"  {name:35} {seconds * 1000:10.1f}")
    # (A tiny smoke run can come out at or under zero: keep the ratios finite.)
    marginal = {
        "avro": max((med["superdecode invoke"] - med["superdecode, one Avro row"]) / (rows - 1), 1e-9),
        "protobuf": max((med["superdecode invoke (protobuf)"] - med["superdecode, one Protobuf row"]) / (rows - 1),
                        1e-9),
    }
    print("\nper record in process (superdecode: a run on the event less a run on one row)")
    print(f"  {'superdecode, Avro':35} {marginal['avro'] * MICROS:8.2f} us")
    print(f"  {'superdecode, Protobuf':35} {marginal['protobuf'] * MICROS:8.2f} us")
    for name, seconds in per_record.items():
        print(f"  {name:35} {seconds * MICROS:8.2f} us")

    print("\ntargets")
    ours_t = timings["superdecode invoke"]
    checks = [
        ("whole process vs AWS-sample-shaped", timings["AWS-sample-shaped (avro + json)"], ours_t, 100),
        ("whole process vs fastavro + orjson", timings["fastavro + orjson"], ours_t, 15),
    ]
    for label, theirs, mine, target in checks:
        ratio = statistics.median(theirs) / statistics.median(mine)
        low, high = spread(theirs, mine)
        verdict = "met" if ratio >= target else "MISSED"
        print(f"  {label:40} {ratio:7.1f}x (pairs {low:.1f}-{high:.1f}x), target {target}x: {verdict}")
    def per_record_ratio(name, kind):
        runs = per_record_runs[name]
        return (per_record[name] / marginal[kind], min(runs) / marginal[kind], max(runs) / marginal[kind])

    ratio, low, high = per_record_ratio("protobuf + MessageToJson", "protobuf")
    verdict = "met" if ratio >= 50 else "MISSED"
    print(f"  {'per record vs protobuf + MessageToJson':40} {ratio:7.1f}x (Python runs {low:.1f}-{high:.1f}x), "
          f"target 50x: {verdict}")
    for name in ("AWS-sample-shaped (avro + json)", "fastavro + orjson"):
        ratio, low, high = per_record_ratio(name, "avro")
        print(f"  {'per record vs ' + name:40} {ratio:7.1f}x (Python runs {low:.1f}-{high:.1f}x)")


if __name__ == "__main__":
    main()
