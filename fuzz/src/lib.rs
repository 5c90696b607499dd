//! Helpers shared by the fuzz targets and the seed generator: a byte-driven Avro schema
//! generator and the Protobuf schemas the Protobuf target decodes against.

use serde_json::{Value, json};
use superdecode::decode::avro::{AvroOptions, TimeEncoding, UnionEncoding};
use superdecode::decode::protobuf::{EnumEncoding, FieldNames, PresenceDefaults, ProtobufOptions};
use superdecode::decode::{DecodeContext, JsonOptions, NumberOrString, RecordDecoder};
use superdecode::error::{ErrorCode, RecordError};
use superdecode::json_text::{BytesEncoding, NonFinite};

/// Reads choices off the front of the fuzz input; an exhausted input reads as zeros, so
/// every input yields a schema.
pub struct Choices<'a> {
    data: &'a [u8],
}

impl<'a> Choices<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Choices { data }
    }

    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u8) -> u8 {
        self.byte() % n
    }

    /// What is left: the record body.
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }
}

/// Every JSON mapping option, from one byte... and a second for the rest.
pub fn options(c: &mut Choices) -> JsonOptions {
    let a = c.byte();
    let bit = |n: u8| a & (1 << n) != 0;
    JsonOptions {
        bytes: if bit(1) {
            BytesEncoding::Hex
        } else {
            BytesEncoding::Base64
        },
        non_finite: if bit(2) {
            NonFinite::String
        } else {
            NonFinite::Null
        },
        avro: AvroOptions {
            unions: if bit(0) {
                UnionEncoding::Tagged
            } else {
                UnionEncoding::Unwrap
            },
            decimals: if bit(3) {
                NumberOrString::String
            } else {
                NumberOrString::Number
            },
            times: if bit(4) {
                TimeEncoding::Epoch
            } else {
                TimeEncoding::Iso
            },
        },
        protobuf: ProtobufOptions {
            field_names: if bit(5) {
                FieldNames::Json
            } else {
                FieldNames::Proto
            },
            defaults: if bit(6) {
                PresenceDefaults::Omit
            } else {
                PresenceDefaults::Emit
            },
            enums: if bit(7) {
                EnumEncoding::Number
            } else {
                EnumEncoding::Name
            },
            int64: if c.byte() & 1 == 1 {
                NumberOrString::String
            } else {
                NumberOrString::Number
            },
        },
    }
}

/// Generates an Avro schema: primitives, records (recursive ones too), enums, arrays, maps,
/// unions, fixed and the logical types, with namespaces and references to named types.
pub struct AvroSchemaGen<'c, 'a> {
    pub choices: &'c mut Choices<'a>,
    /// Named types defined so far (full names), for references.
    named: Vec<String>,
    counter: usize,
}

const MAX_SCHEMA_DEPTH: usize = 5;

impl<'c, 'a> AvroSchemaGen<'c, 'a> {
    pub fn new(choices: &'c mut Choices<'a>) -> Self {
        AvroSchemaGen {
            choices,
            named: Vec::new(),
            counter: 0,
        }
    }

    fn fresh(&mut self, prefix: &str) -> (String, Option<String>) {
        self.counter += 1;
        let name = format!("{prefix}{}", self.counter);
        let namespace = match self.choices.below(4) {
            0 => Some("ns.a".to_owned()),
            1 => Some("ns.b".to_owned()),
            _ => None,
        };
        (name, namespace)
    }

    fn define(&mut self, name: &str, namespace: &Option<String>, mut schema: Value) -> Value {
        let full = match namespace {
            Some(ns) => format!("{ns}.{name}"),
            None => name.to_owned(),
        };
        self.named.push(full);
        if let (Some(ns), Some(obj)) = (namespace, schema.as_object_mut()) {
            obj.insert("namespace".into(), json!(ns));
        }
        schema
    }

    pub fn schema(&mut self, depth: usize) -> Value {
        let pick = if depth >= MAX_SCHEMA_DEPTH {
            self.choices.below(8)
        } else {
            self.choices.below(32)
        };
        match pick {
            0 => json!("null"),
            1 => json!("boolean"),
            2 => json!("int"),
            3 => json!("long"),
            4 => json!("float"),
            5 => json!("double"),
            6 => json!("bytes"),
            7 => json!("string"),
            8 | 9 => self.record(depth),
            10 => {
                let (name, ns) = self.fresh("E");
                let n = 1 + self.choices.below(5) as usize;
                let symbols: Vec<String> = (0..n).map(|i| format!("S{i}")).collect();
                let s = json!({"type":"enum","name":name,"symbols":symbols});
                self.define(&name, &ns, s)
            }
            11 | 12 => json!({"type":"array","items":self.schema(depth + 1)}),
            13 => json!({"type":"map","values":self.schema(depth + 1)}),
            14 | 15 => {
                let n = 1 + self.choices.below(4) as usize;
                let branches: Vec<Value> = (0..n).map(|_| self.schema(depth + 1)).collect();
                Value::Array(branches)
            }
            16 => {
                let (name, ns) = self.fresh("F");
                let size = self.choices.below(20);
                let s = json!({"type":"fixed","name":name,"size":size});
                self.define(&name, &ns, s)
            }
            17 => {
                let precision = 1 + self.choices.below(40);
                let scale = self.choices.below(precision + 1);
                json!({"type":"bytes","logicalType":"decimal","precision":precision,"scale":scale})
            }
            18 => {
                let (name, ns) = self.fresh("D");
                let size = 1 + self.choices.below(17);
                // The largest precision `size` bytes can hold: floor(log10(2^(8*size-1))).
                let max_precision = ((8.0 * f64::from(size) - 1.0) * 2f64.log10()).floor() as u8;
                let precision = 1 + self.choices.below(max_precision.max(1));
                let scale = self.choices.below(precision + 1);
                let s = json!({"type":"fixed","name":name,"size":size,
                    "logicalType":"decimal","precision":precision,"scale":scale});
                self.define(&name, &ns, s)
            }
            19 => json!({"type":"string","logicalType":"uuid"}),
            20 => {
                let (name, ns) = self.fresh("U");
                let s = json!({"type":"fixed","name":name,"size":16,"logicalType":"uuid"});
                self.define(&name, &ns, s)
            }
            21 => json!({"type":"int","logicalType":"date"}),
            22 => json!({"type":"int","logicalType":"time-millis"}),
            23 => json!({"type":"long","logicalType":"time-micros"}),
            24 => {
                let lt = [
                    "timestamp-millis",
                    "timestamp-micros",
                    "timestamp-nanos",
                    "local-timestamp-millis",
                    "local-timestamp-micros",
                    "local-timestamp-nanos",
                ][self.choices.below(6) as usize];
                json!({"type":"long","logicalType":lt})
            }
            25 => {
                let (name, ns) = self.fresh("Du");
                let s = json!({"type":"fixed","name":name,"size":12,"logicalType":"duration"});
                self.define(&name, &ns, s)
            }
            26 => json!({"type":"bytes","logicalType":"big-decimal"}),
            _ => {
                // A reference to a named type (recursion when it is an enclosing record).
                if self.named.is_empty() {
                    json!("long")
                } else {
                    let i = self.choices.byte() as usize % self.named.len();
                    json!(self.named[i])
                }
            }
        }
    }

    fn record(&mut self, depth: usize) -> Value {
        let (name, ns) = self.fresh("R");
        // Defined before its fields, so that fields can refer to it.
        let full = match &ns {
            Some(ns) => format!("{ns}.{name}"),
            None => name.clone(),
        };
        self.named.push(full);
        let n = self.choices.below(5) as usize;
        let fields: Vec<Value> = (0..n)
            .map(|i| json!({"name": format!("f{i}"), "type": self.schema(depth + 1)}))
            .collect();
        let mut s = json!({"type":"record","name":name,"fields":fields});
        if let (Some(ns), Some(obj)) = (&ns, s.as_object_mut()) {
            obj.insert("namespace".into(), json!(ns));
        }
        s
    }
}

/// The Protobuf schemas of the `protobuf_decode` target, each with the stream messages a
/// raw record may be configured with.
pub const PROTO_SCHEMAS: &[(&str, &[&str])] = &[
    (
        PROTO3_EVERYTHING,
        &["fz.Everything", "fz.Everything.Inner.Deep", "fz.Tree"],
    ),
    (PROTO2_LEGACY, &["fz2.Legacy", "fz2.Legacy.Item"]),
    (WKT_ONLY, &["fz3.Wkt"]),
];

pub const PROTO3_EVERYTHING: &str = r#"
syntax = "proto3";
package fz;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/any.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/empty.proto";

enum Color { RED = 0; GREEN = 1; BLUE = 2; }

message Everything {
  double d = 1; float f = 2; int32 i32 = 3; int64 i64 = 4; uint32 u32 = 5; uint64 u64 = 6;
  sint32 s32 = 7; sint64 s64 = 8; fixed32 fx32 = 9; fixed64 fx64 = 10;
  sfixed32 sf32 = 11; sfixed64 sf64 = 12; bool b = 13; string s = 14; bytes by = 15;
  Color color = 16;
  repeated int32 packed_i = 17;
  repeated int64 unpacked_i = 18 [packed = false];
  repeated double packed_d = 19;
  repeated string rs = 20;
  map<string, int64> m_si = 21;
  map<int32, Everything> m_rec = 22;
  map<bool, bytes> m_bb = 23;
  oneof choice { string o_s = 24; Everything o_rec = 25; google.protobuf.Any o_any = 26; }
  Everything child = 27;
  repeated Everything children = 28;
  google.protobuf.Timestamp ts = 29;
  google.protobuf.Duration dur = 30;
  google.protobuf.Any any = 31;
  google.protobuf.Struct st = 32;
  google.protobuf.Value val = 33;
  google.protobuf.ListValue lv = 34;
  google.protobuf.Int32Value w_i32 = 35;
  google.protobuf.Int64Value w_i64 = 36;
  google.protobuf.UInt32Value w_u32 = 37;
  google.protobuf.UInt64Value w_u64 = 38;
  google.protobuf.FloatValue w_f = 39;
  google.protobuf.DoubleValue w_d = 40;
  google.protobuf.BoolValue w_b = 41;
  google.protobuf.StringValue w_s = 42;
  google.protobuf.BytesValue w_by = 43;
  google.protobuf.FieldMask fm = 44;
  google.protobuf.Empty empty = 45;
  optional int32 opt = 46;
  repeated Color colors = 47;
  message Inner { message Deep { int32 x = 1; Everything back = 2; } Deep deep = 1; }
  Inner inner = 48;
  repeated google.protobuf.Any anys = 49;
  map<string, google.protobuf.Value> m_val = 50;
}

message Tree { string label = 1; repeated Tree kids = 2; Tree left = 3; Tree right = 4; }
"#;

pub const PROTO2_LEGACY: &str = r#"
syntax = "proto2";
package fz2;

message Legacy {
  required int32 id = 1;
  optional string name = 2 [default = "x"];
  repeated group Item = 3 { optional int32 n = 4; optional Legacy nested = 5; }
  optional group Single = 6 { required string v = 7; }
  repeated sint32 packed = 8 [packed = true];
  repeated fixed64 unpacked = 13;
  optional Legacy next = 9;
  map<string, Legacy> m = 10;
  oneof o { int64 a = 11; bytes bb = 12; }
  optional Kind kind = 14 [default = TWO];
  enum Kind { ONE = 1; TWO = 2; }
  extensions 100 to 199;
}
"#;

pub const WKT_ONLY: &str = r#"
syntax = "proto3";
package fz3;
import "google/protobuf/any.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";

message Wkt {
  google.protobuf.Any any = 1;
  google.protobuf.Struct st = 2;
  google.protobuf.Value v = 3;
  google.protobuf.ListValue lv = 4;
  google.protobuf.Timestamp ts = 5;
  google.protobuf.Duration d = 6;
  repeated google.protobuf.Any anys = 7;
}
"#;

/// The literal a decoder writes directly for a Redshift response (`decode_literal`) must be
/// exactly the JSON text `decode` wrote (`result`, `out`), escaped as serde_json escapes a
/// string, or absent when decoding failed. Strings are written unchecked, so a string that
/// is not UTF-8 may leave a literal that is not UTF-8 either. `schema` names the case.
pub fn check_literal(
    decoder: &dyn RecordDecoder,
    body: &[u8],
    ctx: &DecodeContext,
    result: &Result<(), RecordError>,
    out: &str,
    schema: &str,
) {
    let mut literal = Vec::new();
    let len = decoder.decode_literal(body, ctx, &mut literal);
    match (result, len) {
        (Ok(()), Some(len)) => {
            assert_eq!(len, out.len(), "literal length, schema {schema}");
            let escaped = serde_json::to_string(out).unwrap_or_default();
            assert!(
                literal == escaped.as_bytes(),
                "literal {:?} is not {escaped}; schema {schema}",
                String::from_utf8_lossy(&literal)
            );
        }
        (Err(e), Some(_)) => assert!(
            e.code == ErrorCode::InvalidUtf8 && std::str::from_utf8(&literal).is_err(),
            "a literal for a record that fails ({e}); schema {schema}"
        ),
        (Err(_), None) => {}
        (Ok(()), None) => panic!("no literal for a record that decodes; schema {schema}"),
    }
}
