#!/usr/bin/env python3
"""Peak memory of `superdecode invoke` on the worst events a Lambda can receive.

Lambda caps a request at 6 MB, so the worst batches are 6 MB events of:
  * zlib rows: Glue-framed records whose zlib bodies inflate to just under the 8 MiB cap
    (a few KB of hex each, so hundreds of rows);
  * plain rows: the largest rows Redshift sends (a 65,535-character VARCHAR of hex, a
    32 KB record whose result is about as large);
  * tiny rows: the most rows a 6 MB event can hold (`["00"]`, each a record error).

Each is run at 1, 3 and 6 MB so that the growth with the batch shows, beside an idle
baseline (a one-row event). Events are built here with Python's zlib, not with
superdecode's encoder. Peak RSS is GNU time's `%M` (the kernel's ru_maxrss): measured
through /usr/bin/time, whose own small image is all that precedes the exec, because a
child forked from this Python process would report Python's RSS as its floor.

    python3 bench/memory.py target/release/superdecode [OTHER_BINARY ...]
"""

import json
import os
import subprocess
import sys
import tempfile
import uuid
import zlib
from pathlib import Path

BLOB = uuid.UUID("5b1d0c3e-0000-4000-8000-00000000b10b")
TEXT = uuid.UUID("5b1d0c3e-0000-4000-8000-0000000074e7")
MB = 1024 * 1024
INFLATE_CAP = 8 * MB


def long(n):
    v = (n << 1) ^ (n >> 63)
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def glue(version, body, compress):
    header = b"\x03" + (b"\x05" if compress else b"\x00") + version.bytes
    return (header + (zlib.compress(body) if compress else body)).hex()


def schemas(root):
    for name, schema, version in (("blob", '"bytes"', BLOB), ("text", '"string"', TEXT)):
        folder = root / "bench" / name
        folder.mkdir(parents=True)
        (folder / "1.avsc").write_text(schema)
        (folder / "ids.json").write_text(json.dumps({"1": {"glue": str(version)}}))


def rows_for(kind):
    if kind == "zlib":
        n = INFLATE_CAP - 16
        return [glue(BLOB, long(n) + bytes(n), True)]
    if kind == "plain":
        n = 32_000
        return [glue(TEXT, long(n) + b"x" * n, False)]
    return ["00"]


def event(kind, size):
    row = rows_for(kind)[0]
    count = max(1, size // (len(row) + 6))
    return {"arguments": [[row]] * count}, count


def peak_rss_kb(binary, schema_dir, path):
    run = subprocess.run(
        ["/usr/bin/time", "-f", "%M", binary, "invoke", "--schemas", str(schema_dir),
         "--registry", "bench", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"},
    )
    if run.returncode != 0:
        raise SystemExit(f"{binary} exited with status {run.returncode} on {path.name}")
    return int(run.stderr.strip().splitlines()[-1])


def main():
    binaries = sys.argv[1:] or ["target/release/superdecode"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        schemas(tmp)
        cases = [("idle", "tiny", 8)]
        for kind in ("zlib", "plain", "tiny"):
            for size in (1 * MB, 3 * MB, 6 * MB):
                cases.append((f"{kind} {size // MB} MB", kind, size))
        files = []
        for label, kind, size in cases:
            body, count = event(kind, size)
            path = tmp / f"{label.replace(' ', '_')}.json"
            path.write_text(json.dumps(body))
            files.append((label, count, path))
        header = f"{'event':<14}{'rows':>9}" + "".join(f"{Path(b).name[-22:]:>24}" for b in binaries)
        print(header)
        print(f"{'':<23}" + "".join(f"{'peak MB (over idle)':>24}" for _ in binaries))
        idle = {}
        for label, count, path in files:
            line = f"{label:<14}{count:>9}"
            for binary in binaries:
                try:
                    kb = min(peak_rss_kb(binary, tmp, path) for _ in range(3))
                except SystemExit as e:
                    line += f"{'failed':>24}"
                    print(e, file=sys.stderr)
                    continue
                idle.setdefault(binary, kb)
                line += f"{kb / 1024:>14.1f} ({(kb - idle[binary]) / 1024:+6.1f})  "
            print(line, flush=True)


if __name__ == "__main__":
    main()
