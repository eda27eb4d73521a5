// The protobuf wire format (https://protobuf.dev/programming-guides/encoding/), both directions,
// for every OTLP message firstspan reads or writes; the field tags those messages use are named in
// otlp-fields.ts.
// - ProtobufReader (the receiver's decoders): varints, fixed32/64, length-delimited fields and the
//   skipping of unknown fields by wire type. Every read checks its bounds against the end of the
//   enclosing message, so truncated or corrupt input throws a DecodeError instead of reading past
//   the buffer or looping forever.
// - ProtobufWriter (the generator's span encoder, the receiver's responses): one pass into a
//   growable buffer, each nested message with a one-byte length slot widened only when the message
//   turns out longer than 127 bytes, instead of a sizing pass followed by a writing pass.
import { FirstspanError } from './errors.ts';

/** Input that is not a valid protobuf (or OTLP JSON) encoding of the expected message. */
export class DecodeError extends FirstspanError {
  declare readonly code: 'FS_ERR_OTLP_DECODE';
  constructor(message: string) {
    super('FS_ERR_OTLP_DECODE', message);
    this.name = 'DecodeError';
  }
}

export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;
type WireType = (typeof WireType)[keyof typeof WireType];

/**
 * A field's tag as it appears on the wire (read back as one varint): field number and wire type.
 * Tags are computed once into constants (otlp-fields.ts), so reading compares a number.
 */
export function tag(field: number, wireType: WireType): number {
  return field * 8 + wireType;
}

/** Node's Buffer has utf8Slice (same result as toString('utf8', start, end)); @types/node omits it. */
interface Utf8Sliceable {
  utf8Slice(start: number, end: number): string;
}

export class ProtobufReader {
  readonly buf: Buffer;
  pos: number;

  constructor(buf: Buffer, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  /** A varint that must fit 32 bits unsigned (tags, lengths, enums, counts). */
  uint32(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= end) throw new DecodeError('truncated varint');
    let b = buf[pos++]!;
    let value = b & 0x7f;
    if (b < 0x80) {
      this.pos = pos;
      return value;
    }
    let shift = 7;
    // Up to 10 bytes: an int32 enum written as a negative int64 takes all ten; keep the low 32 bits.
    for (let i = 1; i < 10; i++) {
      if (pos >= end) throw new DecodeError('truncated varint');
      b = buf[pos++]!;
      if (shift < 32) value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) {
        this.pos = pos;
        return value >>> 0 === value ? value : value % 2 ** 32;
      }
    }
    throw new DecodeError('varint longer than 10 bytes');
  }

  /** A varint as a 64-bit two's-complement integer, exact, as a decimal string (int64 AnyValue). */
  int64String(end: number): string {
    const [lo, hi] = this.varint64(end);
    if (hi === 0) return String(lo);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  /** A varint as an unsigned 64-bit value, as a number (counts; exact below 2^53). */
  uint64Number(end: number): number {
    const [lo, hi] = this.varint64(end);
    return hi * 2 ** 32 + lo;
  }

  /** A zigzag-encoded sint32. */
  sint32(end: number): number {
    const n = this.uint32(end);
    return (n >>> 1) ^ -(n & 1);
  }

  private varint64(end: number): [number, number] {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new DecodeError('truncated varint');
      const b = buf[pos++]!;
      const bits = b & 0x7f;
      const shift = i * 7;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if (b < 0x80) {
        this.pos = pos;
        return [lo >>> 0, hi >>> 0];
      }
    }
    throw new DecodeError('varint longer than 10 bytes');
  }

  bool(end: number): boolean {
    return this.uint32(end) !== 0;
  }

  /** fixed64, exact: nanosecond timestamps. */
  fixed64(end: number): bigint {
    if (this.pos + 8 > end) throw new DecodeError('truncated fixed64');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  /** fixed64 as a number (counts; exact below 2^53). */
  fixed64Number(end: number): number {
    if (this.pos + 8 > end) throw new DecodeError('truncated fixed64');
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
    return hi * 2 ** 32 + lo;
  }

  /** sfixed64 as a decimal string, exact (NumberDataPoint.as_int). */
  sfixed64String(end: number): string {
    if (this.pos + 8 > end) throw new DecodeError('truncated sfixed64');
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v.toString();
  }

  fixed32(end: number): number {
    if (this.pos + 4 > end) throw new DecodeError('truncated fixed32');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  double(end: number): number {
    if (this.pos + 8 > end) throw new DecodeError('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Read a length prefix and return the end offset of the field's bytes. */
  lengthEnd(end: number): number {
    const len = this.uint32(end);
    const stop = this.pos + len;
    if (stop > end) throw new DecodeError('length-delimited field runs past the end of its message');
    return stop;
  }

  string(end: number): string {
    const stop = this.lengthEnd(end);
    // Buffer#utf8Slice is what toString('utf8', …) ends up calling, minus its argument checks and
    // encoding lookup: attribute keys and values are most of a span's strings, read per span.
    const s = (this.buf as unknown as Utf8Sliceable).utf8Slice(this.pos, stop);
    this.pos = stop;
    return s;
  }

  /** Bytes as a view into the input (no copy); the input buffer outlives the decoded request. */
  bytes(end: number): Buffer {
    const stop = this.lengthEnd(end);
    const b = this.buf.subarray(this.pos, stop);
    this.pos = stop;
    return b;
  }

  /** Skip a field we do not read: forward compatibility is an explicit OTLP design rule. */
  skip(wireType: number, end: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.varint64(end);
        return;
      case WireType.I64:
        if (this.pos + 8 > end) throw new DecodeError('truncated fixed64');
        this.pos += 8;
        return;
      case WireType.LEN:
        this.pos = this.lengthEnd(end);
        return;
      case WireType.I32:
        if (this.pos + 4 > end) throw new DecodeError('truncated fixed32');
        this.pos += 4;
        return;
      default:
        // Groups (3/4) are not used by any OTLP message; anything else is corrupt input.
        throw new DecodeError(`unsupported wire type ${wireType}`);
    }
  }
}

/** Throw unless a field arrived with the wire type its schema says. */
export function expectWire(actual: number, expected: number, field: string): void {
  if (actual !== expected) throw new DecodeError(`field ${field} has wire type ${actual}, expected ${expected}`);
}

/** Hex digit → value; 255 for anything that is not one. */
const HEX = new Uint8Array(128).fill(255);
for (let i = 0; i < 10; i += 1) HEX[48 + i] = i;
for (let i = 0; i < 6; i += 1) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

/**
 * Bytes every write sequence between two `ensure` calls stays under: a caller ensures this much
 * room (`ensure()`) before a group of fixed-size writes (tags, varints, fixed64s), and every
 * variable-length write (strings, byte arrays, `close`) ensures its own length plus this much, so
 * fixed-size writes need no bounds check of their own.
 */
const ROOM = 64;

/**
 * A growable byte buffer with nested length-delimited messages. `open()` leaves a one-byte length
 * slot; `close()` fills it in, first moving the message right when its length needs more bytes.
 * Built for the generator's load (thousands of spans a second): ASCII strings, hex ids and
 * nanosecond times are written byte by byte, without allocating.
 */
export class ProtobufWriter {
  buf: Buffer;
  view: DataView;
  pos = 0;

  constructor(size = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 2 * ROOM));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Room for `extra` more bytes, plus ROOM by default for the fixed-size writes that follow. */
  ensure(extra = ROOM): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** A field tag (otlp-fields.ts): one byte below field 16, two below field 2048, a varint above. */
  tag(t: number): void {
    const buf = this.buf;
    if (t < 0x80) buf[this.pos++] = t;
    else if (t < 0x4000) {
      buf[this.pos++] = (t & 0x7f) | 0x80;
      buf[this.pos++] = t >>> 7;
    } else this.varint(t);
  }

  /** Copies `src`; leaves ROOM after it. */
  bytes(src: Uint8Array): void {
    const n = src.length;
    this.ensure(n + ROOM);
    const buf = this.buf;
    let at = this.pos;
    // A loop beats TypedArray#set for the few dozen bytes of a key.
    if (n < 48) for (let i = 0; i < n; i += 1) buf[at++] = src[i] as number;
    else {
      buf.set(src, at);
      at += n;
    }
    this.pos = at;
  }

  /** An unsigned varint below 2^53. */
  varint(n: number): void {
    const buf = this.buf;
    while (n >= 0x80) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[this.pos++] = n;
  }

  /** int64 as protobuf writes it: negative numbers in ten bytes of two's complement. */
  int64(n: number): void {
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) return this.varint(n);
    let v = BigInt.asUintN(64, BigInt(n));
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  fixed32(n: number): void {
    this.view.setUint32(this.pos, n >>> 0, true);
    this.pos += 4;
  }

  double(n: number): void {
    this.view.setFloat64(this.pos, n, true);
    this.pos += 8;
  }

  /**
   * [seconds, nanoseconds] as fixed64 nanoseconds since the epoch, exact: seconds × 1e9 passes
   * 2^53, so the product is built in 16-bit and 32-bit pieces that each stay exact.
   */
  time(seconds: number, nanos: number): void {
    const secondsHigh = Math.floor(seconds / 0x10000);
    const secondsLow = seconds - secondsHigh * 0x10000;
    const upper = secondsHigh * 1e9; // × 2^16
    const upperHigh = Math.floor(upper / 0x10000); // × 2^32
    const rest = (upper - upperHigh * 0x10000) * 0x10000 + secondsLow * 1e9 + nanos;
    const carry = Math.floor(rest / 0x100000000);
    this.view.setUint32(this.pos, rest - carry * 0x100000000, true);
    this.view.setUint32(this.pos + 4, upperHigh + carry, true);
    this.pos += 8;
  }

  /**
   * A length-prefixed UTF-8 string; ASCII is copied char by char, anything else by Buffer.write.
   * Leaves ROOM after it.
   */
  string(s: string): void {
    const n = s.length;
    if (n < 0x4000) {
      const slot = n < 0x80 ? 1 : 2;
      this.ensure(slot + n + ROOM);
      const buf = this.buf;
      const start = this.pos;
      let at = start + slot;
      let i = 0;
      for (; i < n; i += 1) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i === n) {
        if (slot === 1) buf[start] = n;
        else {
          buf[start] = (n & 0x7f) | 0x80;
          buf[start + 1] = n >>> 7;
        }
        this.pos = at;
        return;
      }
    }
    const length = Buffer.byteLength(s, 'utf8');
    this.ensure(10 + length + ROOM);
    this.varint(length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** `${a} ${b}` as a length-prefixed string, without building it first when both are ASCII. */
  string2(a: string, b: string): void {
    const n = a.length + 1 + b.length;
    if (n < 0x80) {
      this.ensure(1 + n + ROOM);
      const buf = this.buf;
      const start = this.pos;
      let at = start + 1;
      let ascii = true;
      for (let i = 0; i < a.length; i += 1) {
        const c = a.charCodeAt(i);
        ascii &&= c < 0x80;
        buf[at++] = c;
      }
      buf[at++] = 0x20;
      for (let i = 0; i < b.length; i += 1) {
        const c = b.charCodeAt(i);
        ascii &&= c < 0x80;
        buf[at++] = c;
      }
      if (ascii) {
        buf[start] = n;
        this.pos = at;
        return;
      }
    }
    this.string(`${a} ${b}`);
  }

  /** 16 or 8 bytes from a W3C hex id, length-prefixed. */
  hexId(hex: string): void {
    const n = hex.length >>> 1;
    if (2 * n !== hex.length) throw new Error(`not a hex id: '${hex}'`);
    this.ensure(1 + n + ROOM);
    const buf = this.buf;
    buf[this.pos++] = n;
    for (let i = 0; i < n; i += 1) {
      const hi = HEX[hex.charCodeAt(2 * i)] ?? 255;
      const lo = HEX[hex.charCodeAt(2 * i + 1)] ?? 255;
      if ((hi | lo) === 255) throw new Error(`not a hex id: '${hex}'`);
      buf[this.pos++] = (hi << 4) | lo;
    }
  }

  /** Starts a length-delimited message; returns where its length goes. */
  open(): number {
    return this.pos++;
  }

  /** Ends the message started at `slot`, widening its length when it is 128 bytes or more. */
  close(slot: number): void {
    const length = this.pos - slot - 1;
    if (length < 0x80) {
      this.buf[slot] = length;
      return;
    }
    const extra = varintSize(length) - 1;
    this.ensure(extra + ROOM);
    this.buf.copyWithin(slot + 1 + extra, slot + 1, this.pos);
    this.pos += extra;
    putVarint(this.buf, slot, length);
  }

  /** The bytes written since `start`, as a fresh copy (the writer's buffer is reused). */
  copy(start = 0): Buffer {
    // Not zero-filled first, as Buffer.from would be: every byte is overwritten.
    const out = Buffer.allocUnsafe(this.pos - start);
    out.set(this.buf.subarray(start, this.pos));
    return out;
  }
}

/** Bytes of `n` as a varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size += 1;
  }
  return size;
}

/** Writes `n` as a varint at `at` into a buffer already sized for it; returns the end. */
export function putVarint(buf: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[at++] = n;
  return at;
}
