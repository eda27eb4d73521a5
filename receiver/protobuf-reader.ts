// The protobuf wire format, read by hand: varints, fixed32/64, length-delimited fields and the
// skipping of unknown fields by wire type (https://protobuf.dev/programming-guides/encoding/).
// Every read checks its bounds against the end of the enclosing message, so truncated or corrupt
// input throws a DecodeError instead of reading past the buffer or looping forever.
import { FirstspanError } from '../model/errors.ts';

/** Input that is not a valid protobuf (or OTLP JSON) encoding of the expected message. */
export class DecodeError extends FirstspanError {
  declare readonly code: 'FS_ERR_OTLP_DECODE';
  constructor(message: string) {
    super('FS_ERR_OTLP_DECODE', message);
    this.name = 'DecodeError';
  }
}

/** Node's Buffer has utf8Slice (same result as toString('utf8', start, end)); @types/node omits it. */
interface Utf8Sliceable {
  utf8Slice(start: number, end: number): string;
}

export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

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
