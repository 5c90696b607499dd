#!/usr/bin/env python3
"""The Python reference for the end-to-end benchmark: the same work superdecode's
`invoke` does for a batch of Glue-framed Avro records, written the way the AWS sample
Lambda does it, but on fastavro (C-accelerated) so the comparison is against a strong
baseline: read the Redshift event, un-hex each row, strip the Glue header (inflating zlib
bodies), decode with the schema parsed once, map to natural JSON (decimals exact as
strings, timestamps ISO-8601, bytes base64), and print the Redshift response.

Usage: reference.py SCHEMAS_DIR EVENT.json
Payloads are hex, or base64 when the event's external_function ends in _b64.
"""

import base64
import datetime as dt
import decimal
import io
import json
import sys
import uuid
import zlib
from pathlib import Path

import fastavro


def load_schemas(root):
    by_version_id = {}
    for ids in Path(root).glob("*/*/ids.json"):
        for version, entry in json.loads(ids.read_text()).items():
            schema_file = ids.parent / f"{version}.avsc"
            if "glue" in entry and schema_file.exists():
                by_version_id[uuid.UUID(entry["glue"]).bytes] = fastavro.parse_schema(json.loads(schema_file.read_text()))
    return by_version_id


def default(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(type(value))


def decode(schemas, text, from_text):
    data = from_text(text)
    if len(data) < 18 or data[0] != 3:
        return json.dumps({"_decode_error": {"code": "unknown_header", "message": "not Glue-framed"}})
    body = zlib.decompress(data[18:]) if data[1] == 5 else data[18:]
    schema = schemas.get(data[2:18])
    if schema is None:
        return json.dumps({"_decode_error": {"code": "schema_not_found", "message": "unknown version"}})
    record = fastavro.schemaless_reader(io.BytesIO(body), schema, None)
    return json.dumps(record, default=default, separators=(",", ":"), ensure_ascii=False)


def main():
    schemas = load_schemas(sys.argv[1])
    event = json.loads(Path(sys.argv[2]).read_text())
    from_text = base64.b64decode if event.get("external_function", "").lower().endswith("_b64") else bytes.fromhex
    results = [None if row is None or row[0] is None else decode(schemas, row[0], from_text)
               for row in event["arguments"]]
    print(json.dumps({"success": True, "num_records": len(results), "results": results}))


if __name__ == "__main__":
    main()
