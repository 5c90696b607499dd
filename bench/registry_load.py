#!/usr/bin/env python3
"""Confluent registry load from a fleet of cold superdecode processes, measured and modelled.

Builds one Redshift event from every case in tests/fixtures/confluent/cases.json (error
cases included, each with its call shape: `[hex]` or `[stream, hex]`), serves
tests/fixtures/confluent/registry.json from the loopback registry
(tests/fixtures/confluent_registry.py, in process), and runs `superdecode invoke` on it:

1. one process alone: its registry requests, by kind, against the model's prediction.
   The model: a cold process asks, once each (concurrent lookups of one key share one
   call), for every distinct Confluent ID in the batch `GET /schemas/ids/{id}` and
   `GET /schemas/ids/{id}/versions` (an unknown ID: the first only); for every subject
   version those schemas reference, directly or through each other,
   `GET /subjects/{s}/versions/{n}`; and for every subject a raw-framed stream reads at
   its latest version, `GET /subjects/{s}/versions/latest`. The prediction is worked out
   from the batch (the IDs in the frames, streams.json) and the registry's state, not from
   the requests seen;
2. P processes started at once, then waited for (true concurrency), for each P: every
   response a success and byte for byte the single process's; total registry calls equal
   to P x the single process's (calls scale with cold starts, not with rows);
3. the same with a local snapshot in front (`--schemas DIR --source confluent`): every
   AVRO and JSON schema of registry.json written under its subject, with ids.json and Avro
   references defined inline (a local directory has no references; superdecode inlines
   them the same way when it fetches them). Only what a directory cannot hold (Protobuf
   schemas and their imports) and unknown IDs are left to the registry. Its answers must be
   the registry-only ones (the same values and error codes; error messages name the
   sources consulted, so they may differ).

Prints a table (mode, P, total calls, calls per process, predicted, wall time: median and
range over the rounds) and exits 1 when any check fails.

Usage: bench/registry_load.py [--binary PATH] [--processes 1,8,32,64] [--rounds 3]
Needs a built binary (target/release/superdecode, else target/debug/superdecode) and
Python's standard library only.
"""

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CONFLUENT = FIXTURES / "confluent"
REGISTRY_NAME = "default-registry"  # the snapshot's registry folder (superdecode's --registry default)

sys.path.insert(0, str(FIXTURES))
import confluent_registry  # noqa: E402



class Checks:
    """Named pass/fail checks, printed as they are made and summed up at the end."""

    def __init__(self):
        self.failed = []

    def check(self, ok, label, detail=""):
        if not ok:
            self.failed.append(label)
            print(f"  FAIL {label}" + (f": {detail}" if detail else ""))
        return ok


# ---------------------------------------------------------------- the batch

def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_event(path, cases):
    rows = [case["call"] + [case["hex"]] for case in cases]
    path.write_text(json.dumps({"request_id": "registry-load", "cluster": "bench",
                                "external_function": "f_superdecode",
                                "num_records": len(rows), "arguments": rows}))


def value_subject(stream):
    """Confluent's TopicNameStrategy, as superdecode applies it to a stream name."""
    return stream if stream.endswith(("-value", "-key")) else f"{stream}-value"


def batch_needs(cases, streams):
    """(Confluent IDs in the frames, subjects read at their latest version) of the batch."""
    ids, latest = set(), set()
    for case in cases:
        stream = case["call"][0] if case["call"] else None
        over = streams.get(stream, {}) if stream else {}
        if over.get("framing") == "raw":
            if "version" not in over:
                latest.add(over.get("schema") or value_subject(stream))
            continue
        frame = bytes.fromhex(case["hex"])
        if len(frame) >= 5 and frame[0] == 0:  # Confluent framing: 0x00, then a big-endian u32 ID
            ids.add(int.from_bytes(frame[1:5], "big"))
    return ids, latest


# ---------------------------------------------------------------- the model

class State:
    """registry.json, indexed."""

    def __init__(self, state):
        self.schemas = {s["id"]: s for s in state["schemas"]}
        self.subjects = {subject: {row["version"]: row["id"] for row in rows}
                         for subject, rows in state["subjects"].items()}

    def latest_id(self, subject):
        versions = self.subjects[subject]
        return versions[max(versions)]

    def reference_closure(self, schema_ids):
        """Every (subject, version) the schemas reference, directly or through each other."""
        seen, todo = set(), [r for i in schema_ids for r in self.schemas[i].get("references", [])]
        while todo:
            ref = todo.pop()
            key = (ref["subject"], int(ref["version"]))
            if key not in seen:
                seen.add(key)
                todo.extend(self.schemas[self.subjects[key[0]][key[1]]].get("references", []))
        return seen


def predict(state, ids, latest, snapshot_ids=frozenset(), snapshot_subjects=frozenset()):
    """The requests one cold process makes, as (kind, key) pairs, each once. IDs and
    subjects a snapshot holds cost nothing (their references are inline in it)."""
    found = {i for i in ids if i in state.schemas and i not in snapshot_ids}
    from_latest = {state.latest_id(s) for s in latest if s not in snapshot_subjects}
    out = [("schema", str(i)) for i in found] + [("id versions", str(i)) for i in found]
    out += [("unknown id", str(i)) for i in ids if i not in state.schemas]
    out += [("latest", s) for s in latest if s not in snapshot_subjects]
    out += [("reference", f"{s} v{n}") for s, n in state.reference_closure(found | from_latest)]
    return Counter(out)


def classify(request, state):
    """A request line seen by the registry, as (kind, key)."""
    method, _, path = request.partition(" ")
    seg = [unquote(s) for s in path.split("/") if s]
    if method == "GET" and seg[:2] == ["schemas", "ids"] and len(seg) in (3, 4):
        if len(seg) == 4 and seg[3] == "versions":
            return "id versions", seg[2]
        if len(seg) == 3:
            known = seg[2].isdigit() and int(seg[2]) in state.schemas
            return ("schema" if known else "unknown id"), seg[2]
    if method == "GET" and len(seg) == 4 and seg[0] == "subjects" and seg[2] == "versions":
        if seg[3] in ("latest", "-1"):
            return "latest", seg[1]
        return "reference", f"{seg[1]} v{seg[3]}"
    return "other", request


KINDS = ("schema", "id versions", "reference", "latest", "unknown id", "other")


def by_kind(counter):
    counts = Counter()
    for (kind, _), n in counter.items():
        counts[kind] += n
    return counts


# ---------------------------------------------------------------- the snapshot

AVRO_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def qualify(name, namespace):
    return name if "." in name or not namespace else f"{namespace}.{name}"


def namespace_of(full):
    return full.rpartition(".")[0]


def full_name(value, namespace):
    """The full name a named-type definition gives itself, or None for anything else."""
    if not isinstance(value, dict) or value.get("type") not in ("record", "error", "enum", "fixed"):
        return None
    if not isinstance(value.get("name"), str):
        return None
    return qualify(value["name"], value.get("namespace", namespace))


def inline_references(text, references):
    """The Avro schema `text` with the named types of `references` (texts) defined at their
    first use, as src/decode/avro/references.rs does: a schema that stands alone."""
    definitions = {}
    for ref in references:
        definition = json.loads(ref)
        definitions[full_name(definition, "")] = definition
    defined = set()

    def walk(value, namespace):
        if isinstance(value, str):
            full = qualify(value, namespace)
            if value in AVRO_PRIMITIVES or full in defined or value in defined:
                return value
            for candidate in (full, value):
                if candidate in definitions:
                    definition = copy.deepcopy(definitions.pop(candidate))
                    # Placed inside another namespace, it keeps its own name.
                    definition.setdefault("namespace", namespace_of(candidate))
                    return walk(definition, namespace)
            return value
        if isinstance(value, list):
            return [walk(v, namespace) for v in value]
        if isinstance(value, dict):
            full = full_name(value, namespace)
            if full is not None:
                defined.add(full)
                for field in value.get("fields", []):
                    if "type" in field:
                        field["type"] = walk(field["type"], namespace_of(full))
                return value
            for key in ("type", "items", "values"):
                if key in value:
                    value[key] = walk(value[key], namespace)
        return value

    return json.dumps(walk(json.loads(text), ""), separators=(",", ":"), ensure_ascii=False)


def write_snapshot(state, root):
    """Every AVRO and JSON schema of the registry under its subject, with ids.json:
    DIR/default-registry/<subject>/<version>.avsc|.json. (The set of IDs, the set of subjects) written."""
    ids, subjects = set(), set()
    for subject, versions in state.subjects.items():
        folder, id_map = root / REGISTRY_NAME / subject, {}
        for version, schema_id in sorted(versions.items()):
            entry = state.schemas[schema_id]
            kind = entry.get("schemaType", "AVRO")
            if kind == "PROTOBUF":
                continue  # imports have no place in a local directory
            text = entry["schema"]
            if entry.get("references"):
                if kind != "AVRO":
                    continue  # a JSON Schema's $refs to other subjects: likewise
                texts = [state.schemas[state.subjects[s][n]]["schema"]
                         for s, n in state.reference_closure([schema_id])]
                text = inline_references(text, texts)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{version}.{'avsc' if kind == 'AVRO' else 'json'}").write_text(text, encoding="utf-8")
            id_map[str(version)] = {"confluent": schema_id}
            ids.add(schema_id)
        if id_map:
            (folder / "ids.json").write_text(json.dumps(id_map, indent=1) + "\n")
            subjects.add(subject)
    return ids, subjects


# ---------------------------------------------------------------- runs

def fleet(command, processes, workdir):
    """Starts `processes` copies of `command` at once, then waits for them all:
    ([(returncode, stdout, stderr)], wall seconds from the first start to the last exit)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUPERDECODE_")}
    files, running = [], []
    started = time.perf_counter()
    for n in range(processes):
        out, err = open(workdir / f"out-{n}", "w+b"), open(workdir / f"err-{n}", "w+b")
        files.append((out, err))
        running.append(subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env))
    codes = [p.wait() for p in running]
    wall = time.perf_counter() - started
    outputs = []
    for code, (out, err) in zip(codes, files):
        out.seek(0)
        err.seek(0)
        outputs.append((code, out.read().decode("utf-8"), err.read().decode("utf-8", "replace")))
        out.close()
        err.close()
    return outputs, wall


def calls(server, state):
    """The requests since the last reset, once they have stopped arriving: a request a
    process sent before it gave up may still be in the accept queue when it exits."""
    last = -1
    while server.call_count() != last:
        last = server.call_count()
        time.sleep(0.1)
    with server.lock:
        seen = list(server.calls)
    return Counter(classify(r, state) for r in seen)


def results_of(stdout):
    """The response's results as values (JSON text parsed; NULL as None)."""
    return [None if r is None else json.loads(r) for r in json.loads(stdout)["results"]]


def check_cases(checks, label, cases, stdout):
    """Every result is what the independent encoders wrote, or the case's error code."""
    wrong = []
    for case, result in zip(cases, results_of(stdout)):
        if "error" in case:
            code = (result or {}).get("_decode_error", {}).get("code")
            if code != case["error"]:
                wrong.append(f"{case['name']}: {code} (want {case['error']})")
        elif result != case["expected"]:
            wrong.append(f"{case['name']}: {json.dumps(result)[:120]}")
    checks.check(not wrong, f"{label}: every case decodes as expected", "; ".join(wrong[:5]))


def comparable(stdout):
    """The results with error messages left out (they name the sources consulted)."""
    out = []
    for result in results_of(stdout):
        if isinstance(result, dict) and "_decode_error" in result:
            result = {"_decode_error": {"code": result["_decode_error"].get("code")}}
        out.append(result)
    return out


def show_single(label, measured, predicted):
    print(f"\n{label}: one cold process, registry requests by kind")
    have, want = by_kind(measured), by_kind(predicted)
    print(f"  {'kind':14} {'measured':>8} {'predicted':>9}  keys")
    for kind in KINDS:
        if have[kind] or want[kind]:
            keys = sorted({k for (kd, k) in list(measured) + list(predicted) if kd == kind},
                          key=lambda k: (len(k), k))
            print(f"  {kind:14} {have[kind]:8} {want[kind]:9}  {', '.join(keys)}")
    print(f"  {'total':14} {sum(measured.values()):8} {sum(predicted.values()):9}")


def run_mode(checks, label, server, state, command, processes, rounds, workdir, predicted, cases, reference):
    """The single-process measurement, then each fleet size: (rows for the table, the single
    process's response)."""
    server.reset()
    outputs, _ = fleet(command, 1, workdir)
    code, single, err = outputs[0]
    if not checks.check(code == 0 and json.loads(single or "{}").get("success") is True,
                        f"{label}: the single process succeeds", f"exit {code}: {err.strip()[:300]} {single[:300]}"):
        return [], None
    measured = calls(server, state)
    show_single(label, measured, predicted)
    checks.check(measured == predicted, f"{label}: measured requests == predicted",
                 f"extra {dict(measured - predicted)}, missing {dict(predicted - measured)}")
    check_cases(checks, label, cases, single)
    if reference is not None:
        checks.check(comparable(single) == comparable(reference),
                     f"{label}: the same answers as the registry alone")
    per_process = sum(measured.values())

    rows = []
    for p in processes:
        totals, walls = [], []
        for r in range(rounds):
            server.reset()
            outputs, wall = fleet(command, p, workdir)
            seen = calls(server, state)
            total = sum(seen.values())
            totals.append(total)
            walls.append(wall)
            bad = [i for i, (c, out, _) in enumerate(outputs) if c != 0 or out != single]
            checks.check(not bad, f"{label} P={p} round {r + 1}: every response is the single process's",
                         f"{len(bad)} differ, first #{bad[0]}: exit {outputs[bad[0]][0]} "
                         f"{(outputs[bad[0]][2].strip() or outputs[bad[0]][1])[:300]}" if bad else "")
            checks.check(total == p * per_process, f"{label} P={p} round {r + 1}: total calls == P x single",
                         f"{total} != {p} x {per_process}; by kind {dict(by_kind(seen))}")
            checks.check(all(n == p for n in seen.values()) and set(seen) == set(measured),
                         f"{label} P={p} round {r + 1}: each request made once per process",
                         f"{sorted((k, n) for k, n in seen.items() if n != p)[:5]}")
        rows.append((label, p, totals, sum(predicted.values()) * p, walls))
    return rows, single


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", help="superdecode binary (default: target/release/superdecode, "
                        "else target/debug/superdecode)")
    parser.add_argument("--processes", default="1,8,32,64", help="fleet sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each fleet size")
    args = parser.parse_args()
    if args.binary:
        binary = Path(args.binary)
    else:
        binary = next((b for b in (ROOT / "target" / "release" / "superdecode",
                                   ROOT / "target" / "debug" / "superdecode") if b.exists()),
                      ROOT / "target" / "release" / "superdecode")
    if not binary.exists():
        sys.exit(f"{binary} is missing: run cargo build --release")
    processes = [int(p) for p in args.processes.split(",") if p.strip()]

    cases = load_json(CONFLUENT / "cases.json")
    streams_file = CONFLUENT / "streams.json"
    streams = load_json(streams_file)
    state = State(load_json(CONFLUENT / "registry.json"))
    ids, latest = batch_needs(cases, streams)
    checks = Checks()

    with tempfile.TemporaryDirectory() as tmp, \
            confluent_registry.ConfluentRegistryServer(state=CONFLUENT / "registry.json") as server:
        tmp = Path(tmp)
        event = tmp / "event.json"
        write_event(event, cases)
        snapshot = tmp / "snapshot"
        snapshot_ids, snapshot_subjects = write_snapshot(state, snapshot)
        print(f"binary: {binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary}")
        print(f"event: {len(cases)} rows ({sum(1 for c in cases if c['call'])} by stream, "
              f"{sum(1 for c in cases if 'error' in c)} error cases); Confluent IDs in the frames: "
              f"{', '.join(map(str, sorted(ids)))}; latest subjects: {', '.join(sorted(latest)) or 'none'}")
        print(f"snapshot: IDs {', '.join(map(str, sorted(snapshot_ids)))} under "
              f"{', '.join(sorted(snapshot_subjects))}")
        print(f"processes {processes}, {args.rounds} round(s) each; registry {server.url} (in process)")

        base = [str(binary), "invoke", "--confluent-url", server.url, "--streams", str(streams_file)]
        registry_only = base + [str(event)]
        # The snapshot in front. `--source confluent` keeps the streams reading Confluent
        # subjects: with a directory given, stream lookups would default to it (raw framing,
        # schema named after the stream), which is another batch altogether.
        layered = base + ["--schemas", str(snapshot), "--source", "confluent", str(event)]

        rows, reference = run_mode(checks, "registry", server, state, registry_only, processes, args.rounds,
                                   tmp, predict(state, ids, latest), cases, None)
        more, _ = run_mode(checks, "snapshot", server, state, layered, processes, args.rounds, tmp,
                           predict(state, ids, latest, snapshot_ids, snapshot_subjects), cases, reference)
        rows += more

    print(f"\n{'mode':9} {'P':>4} {'total calls':>12} {'calls/process':>13} {'predicted':>9} "
          f"{'wall s (median)':>15} {'wall s (min-max)':>16}")
    for label, p, totals, predicted, walls in rows:
        total = str(totals[0]) if len(set(totals)) == 1 else "/".join(map(str, totals))
        per = statistics.median(totals) / p
        print(f"{label:9} {p:4} {total:>12} {per:13.1f} {predicted:9} {statistics.median(walls):15.3f} "
              f"{min(walls):7.3f}-{max(walls):<8.3f}")
    if checks.failed:
        print(f"\n{len(checks.failed)} check(s) failed:")
        for label in checks.failed:
            print(f"  {label}")
        sys.exit(1)
    print("\nall checks passed: registry calls scale with cold processes, as the model predicts")


if __name__ == "__main__":
    main()
