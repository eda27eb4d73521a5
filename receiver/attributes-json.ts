// One span's attributes, from the KeyValue fields of its protobuf bytes straight to the JSON text
// the store keeps — the text JSON.stringify writes for the attribute map the full decoder builds
// (decode-protobuf.ts), byte for byte — and to the values of the attributes that have columns of
// their own (HOT_KEYS in model/span-rows.ts). No AnyValue object and no map is built: on the
// receiver's thread these and JSON.stringify over them were most of the cost of a span
// (docs/benchmarks.md).
//
// Where JSON.stringify of the map would not simply follow the wire order, the writer gives up
// (throws NotStraight) and the caller decodes the request the full way: a key that repeats (the
// map keeps the first position and the last value) and a key that starts with a digit (a map
// lists integer-like keys first, in numeric order). Every check the full decoder makes is made
// here too, with the same reader, so malformed input never passes here and fails there.
import { HOT_KEYS, type HotValues } from '../model/span-rows.ts';
import { checkKnownWire, MAX_DEPTH, skipField } from './decode-protobuf.ts';
import { AnyValueTag, KeyValueTag, ValuesTag } from '../model/otlp-fields.ts';
import { DecodeError, type ProtobufReader } from '../model/protobuf-wire.ts';

/** The attributes cannot be written straight from the wire (see the file comment); not an error. */
export class NotStraight extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotStraight';
  }
}

interface KeyInfo {
  /** `"key":`, escaped once. */
  json: string;
  /** Index in HOT_KEYS, or -1. */
  hot: number;
  /** The span (AttributesJson.begin count) that last had this key: a repeat within one span. */
  span: number;
}

/** Keys remembered with their escaped JSON; cleared when this many distinct keys have been seen. */
const MAX_KEYS = 4096;
const HOT_INDEX = new Map<string, number>(HOT_KEYS.map((k, i) => [k, i]));
/** What JSON.stringify escapes in a string (lone surrogates too; pairs merely take the slow path). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

export function quoteJson(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/** A double as JSON.stringify writes jsonDouble(d) (model/otlp.ts): non-finite values and -0 quoted. */
export function doubleJson(d: number): string {
  if (d !== d) return '"NaN"';
  if (d === Infinity) return '"Infinity"';
  if (d === -Infinity) return '"-Infinity"';
  if (d === 0 && 1 / d < 0) return '"-0"';
  return String(d);
}

/**
 * A KeyValue as last seen at one position of a span's attribute list, with what it decoded to.
 * Spans of one request mostly repeat their keys in the same order, and often whole attributes
 * (method, host, request name, run id): equal bytes decode to equal results, so a comparison of
 * bytes replaces decoding, escaping and the key lookup.
 */
interface Slot {
  buf: Uint8Array;
  start: number;
  end: number;
  keyStart: number;
  keyEnd: number;
  info: KeyInfo;
  value: string;
  primitive: string | number | boolean | undefined;
}

/** Positions remembered per span (attributes beyond are decoded every time). */
const SLOTS = 64;

/**
 * Reused span after span: request() per request, begin() per span, add() per KeyValue field,
 * then finish(); the span's JSON text is then `pieces` concatenated (`length` UTF-16 units).
 */
export class AttributesJson {
  /** The hot values of the current span (see HotValues). */
  readonly hot: HotValues = new Array<undefined>(HOT_KEYS.length);
  /** The current span's JSON text, in pieces (joined once for the whole request by the caller). */
  readonly pieces: string[] = [];
  length = 0;
  private readonly keys = new Map<string, KeyInfo>();
  private slots: Slot[] = [];
  private count = 0;
  private spanNo = 0;
  /** The plain value of the last AnyValue read (what HotValues holds for it). */
  private primitive: string | number | boolean | undefined;

  /** A new request: forget the previous one's bytes (never keep a request body alive). */
  request(): void {
    this.slots = [];
  }

  begin(): void {
    // Clear between spans only, so a span's keys are all checked against one set of KeyInfo.
    if (this.keys.size >= MAX_KEYS) {
      this.keys.clear();
      this.slots = [];
    }
    this.spanNo += 1;
    this.count = 0;
    this.hot.fill(undefined);
    this.pieces.length = 0;
    this.pieces.push('{');
    this.length = 1;
  }

  finish(): void {
    this.pieces.push('}');
    this.length += 1;
  }

  /** One KeyValue field of the span (its bytes end at `end`), as readKeyValue reads it at depth 0. */
  add(r: ProtobufReader, end: number): void {
    const buf = r.buf;
    const start = r.pos;
    const at = this.count++;
    const slot = at < SLOTS ? this.slots[at] : undefined;
    if (slot !== undefined && sameBytes(buf, start, end, slot.buf, slot.start, slot.end)) {
      r.pos = end;
      this.put(slot.info, slot.value, slot.primitive);
      return;
    }
    let keyStart = -1;
    let keyEnd = -1;
    let value = '{}';
    let primitive: string | number | boolean | undefined;
    while (r.pos < end) {
      const tag = r.uint32(end);
      if (tag === KeyValueTag.KEY) {
        keyEnd = r.lengthEnd(end);
        keyStart = r.pos;
        r.pos = keyEnd;
      } else if (tag === KeyValueTag.VALUE) {
        value = this.value(r, r.lengthEnd(end), 1);
        primitive = this.primitive;
      } else skipField(r, tag, end);
    }
    const info =
      slot !== undefined && keyStart >= 0 && sameBytes(buf, keyStart, keyEnd, slot.buf, slot.keyStart, slot.keyEnd)
        ? slot.info
        : this.keyInfo(keyStart < 0 ? '' : r.buf.toString('utf8', keyStart, keyEnd));
    this.put(info, value, primitive);
    if (at < SLOTS) this.slots[at] = { buf, start, end, keyStart, keyEnd, info, value, primitive };
  }

  private put(info: KeyInfo, value: string, primitive: string | number | boolean | undefined): void {
    if (info.span === this.spanNo) throw new NotStraight(`attribute key ${info.json} repeats`);
    info.span = this.spanNo;
    if (info.hot >= 0) this.hot[info.hot] = primitive;
    const pieces = this.pieces;
    if (pieces.length > 1) {
      pieces.push(',');
      this.length += 1;
    }
    pieces.push(info.json, value);
    this.length += info.json.length + value.length;
  }

  private keyInfo(key: string): KeyInfo {
    let info = this.keys.get(key);
    if (info === undefined) {
      const c = key.charCodeAt(0);
      if (c >= 0x30 && c <= 0x39) throw new NotStraight(`attribute key '${key}' starts with a digit`);
      info = { json: `${quoteJson(key)}:`, hot: HOT_INDEX.get(key) ?? -1, span: 0 };
      this.keys.set(key, info);
    }
    return info;
  }

  /** An AnyValue's JSON as readAnyValue's result stringifies (oneof: the last value field wins). */
  private value(r: ProtobufReader, end: number, depth: number): string {
    if (depth > MAX_DEPTH) throw new DecodeError(`AnyValue nested deeper than ${MAX_DEPTH}`);
    let json = '{}';
    let primitive: string | number | boolean | undefined;
    while (r.pos < end) {
      const tag = r.uint32(end);
      switch (tag) {
        case AnyValueTag.STRING_VALUE: {
          const s = r.string(end);
          json = `{"stringValue":${quoteJson(s)}}`;
          primitive = s;
          break;
        }
        case AnyValueTag.BOOL_VALUE: {
          const b = r.bool(end);
          json = b ? '{"boolValue":true}' : '{"boolValue":false}';
          primitive = b;
          break;
        }
        case AnyValueTag.INT_VALUE: {
          const i = r.int64String(end);
          json = `{"intValue":"${i}"}`;
          primitive = Number(i);
          break;
        }
        case AnyValueTag.DOUBLE_VALUE: {
          const d = r.double(end);
          json = `{"doubleValue":${doubleJson(d)}}`;
          primitive = d;
          break;
        }
        case AnyValueTag.ARRAY_VALUE:
          json = `{"arrayValue":{"values":[${this.values(r, end, (stop) => this.value(r, r.lengthEnd(stop), depth + 1))}]}}`;
          primitive = undefined;
          break;
        case AnyValueTag.KVLIST_VALUE:
          json = `{"kvlistValue":{"values":[${this.values(r, end, (stop) => this.keyValue(r, r.lengthEnd(stop), depth + 1))}]}}`;
          primitive = undefined;
          break;
        case AnyValueTag.BYTES_VALUE:
          json = `{"bytesValue":"${r.bytes(end).toString('base64')}"}`;
          primitive = undefined;
          break;
        default:
          checkKnownWire(tag, AnyValueTag);
          skipField(r, tag, end);
      }
    }
    this.primitive = primitive;
    return json;
  }

  /** A KeyValue inside a kvlist: a list entry, `{"key":…,"value":…}` (no map, so repeats stay). */
  /** The `values` of an ArrayValue or KeyValueList (both field 1), each written by `item`, joined by commas. */
  private values(r: ProtobufReader, end: number, item: (stop: number) => string): string {
    const stop = r.lengthEnd(end);
    const values: string[] = [];
    while (r.pos < stop) {
      const t = r.uint32(stop);
      if (t === ValuesTag.VALUES) values.push(item(stop));
      else skipField(r, t, stop);
    }
    return values.join(',');
  }

  private keyValue(r: ProtobufReader, end: number, depth: number): string {
    let key = '';
    let value = '{}';
    while (r.pos < end) {
      const tag = r.uint32(end);
      if (tag === KeyValueTag.KEY) key = r.string(end);
      else if (tag === KeyValueTag.VALUE) value = this.value(r, r.lengthEnd(end), depth + 1);
      else skipField(r, tag, end);
    }
    return `{"key":${quoteJson(key)},"value":${value}}`;
  }
}

function sameBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): boolean {
  const n = aEnd - aStart;
  if (n !== bEnd - bStart) return false;
  for (let i = 0; i < n; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}
