#!/usr/bin/env python3
"""Python Redshift handlers that do superdecode's job for the 20-field order of
bench/schemas, as a Python user would write them. Each takes the event (a dict) and returns
the response text, with every result the same JSON value as superdecode's.

- `aws-sample`: shaped like the public AWS sample for Avro in Redshift streaming ingestion:
  the `avro` package's DatumReader per row, `json.dumps` per result and for the response.
- `fastavro-orjson`: `fastavro.schemaless_reader` and `orjson`, the fast Python choice.
- `protobuf`: the `protobuf` runtime's `ParseFromString` and `MessageToJson`.

Usage: python_handlers.py HANDLER SCHEMA_DIR EVENT.json  (prints the response, as a Lambda
would return it). bench/versus_python.py imports it to time the handlers in process too.
"""

import datetime as dt
import importlib
import io
import json
import sys
from pathlib import Path

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def iso_micros(value):
    """superdecode's timestamp-micros text: six fraction digits, UTC."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_millis(value):
    """superdecode's timestamp-millis text: three fraction digits, UTC."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def order_json(record):
    """The decoded record as superdecode maps it (timestamps as ISO text)."""
    record["placed_at"] = iso_micros(record["placed_at"])
    record["updated_at"] = iso_millis(record["updated_at"])
    return record


def avro_schema_text(schemas):
    return (Path(schemas) / "default-registry" / "order20" / "1.avsc").read_text()


def aws_sample(schemas):
    import avro.io
    import avro.schema

    schema = avro.schema.parse(avro_schema_text(schemas))

    def handler(event):
        results = []
        for stream, payload in event["arguments"]:
            reader = avro.io.DatumReader(schema)
            decoder = avro.io.BinaryDecoder(io.BytesIO(bytes.fromhex(payload)))
            results.append(json.dumps(order_json(reader.read(decoder))))
        return json.dumps({"success": True, "num_records": len(results), "results": results})

    return handler


def fastavro_orjson(schemas):
    import fastavro
    import orjson

    schema = fastavro.parse_schema(json.loads(avro_schema_text(schemas)))

    def handler(event):
        results = []
        for stream, payload in event["arguments"]:
            record = fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(payload)), schema)
            results.append(orjson.dumps(order_json(record)).decode())
        return orjson.dumps({"success": True, "num_records": len(results), "results": results}).decode()

    return handler


def protobuf_module(schemas, out_dir):
    """Compiles order20_pb/1.proto with grpcio-tools' protoc and imports it."""
    import grpc_tools
    from grpc_tools import protoc

    proto_dir = Path(schemas) / "default-registry" / "order20_pb"
    include = Path(grpc_tools.__file__).parent / "_proto"
    status = protoc.main(["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out_dir}", "1.proto"])
    if status != 0:
        sys.exit("protoc failed")
    sys.path.insert(0, str(out_dir))
    module = importlib.import_module("1_pb2")
    return module


def protobuf(schemas, out_dir):
    from google.protobuf.json_format import MessageToJson

    module = protobuf_module(schemas, out_dir)
    order = module.Order

    def handler(event):
        results = []
        for stream, payload in event["arguments"]:
            message = order()
            message.ParseFromString(bytes.fromhex(payload))
            results.append(MessageToJson(message, indent=None))
        return json.dumps({"success": True, "num_records": len(results), "results": results})

    return handler


HANDLERS = {"aws-sample": aws_sample, "fastavro-orjson": fastavro_orjson, "protobuf": protobuf}


def main():
    import tempfile

    name, schemas, event = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as scratch:  # protobuf's generated module
        factory = HANDLERS[name]
        handler = factory(schemas, scratch) if factory is protobuf else factory(schemas)
        sys.stdout.write(handler(json.loads(Path(event).read_text())))
        sys.stdout.write("\n")


if __name__ == "__main__":
    main()
