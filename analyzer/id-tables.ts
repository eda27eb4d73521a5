// The analyzer's join tables, in typed arrays: the store keeps no index keyed by trace or span id
// (docs/receiver.md), so pairing is a hash join in memory — server spans keyed by (trace id,
// parent span id), load-test roots keyed by (trace id, span id). Ids arrive as hex strings. A key
// is a 64-bit fingerprint of the ids (two 32-bit mixes) and a span id is kept as a third 32-bit
// mix: no object per span,
// about 40 bytes per server span and 13 per root. Two different keys share a fingerprint with
// probability about n / 2^64 per lookup, far below any other error in the figures.

/** Fingerprint of the last hash() call (module state: no array per call on the hot path). */
let H1 = 0;
let H2 = 0;

/** Four characters of a hex id as one 32-bit word (ids come from SQLite as hex: a string costs far less to pass than a Buffer). */
function word(s: string, o: number): number {
  return (s.charCodeAt(o) | (s.charCodeAt(o + 1) << 8) | (s.charCodeAt(o + 2) << 16) | (s.charCodeAt(o + 3) << 24)) >>> 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mix `length` characters of the hex `ids` from `offset` (multiples of 4) into H1/H2; never 0/0. */
function hash(bytes: string, offset: number, length: number): void {
  let h1 = 0x9747b28c;
  let h2 = 0x85ebca6b;
  for (let i = offset; i < offset + length; i += 4) {
    const w = word(bytes, i);
    h1 = Math.imul(h1 ^ w, 0xcc9e2d51);
    h1 = (h1 << 15) | (h1 >>> 17);
    h2 = Math.imul(h2 ^ w, 0x1b873593);
    h2 = (h2 << 13) | (h2 >>> 19);
    h2 = Math.imul(h2, 5) + 0xe6546b64;
  }
  H1 = fmix(h1 ^ length);
  H2 = fmix(h2 ^ H1);
  if (H1 === 0 && H2 === 0) H2 = 1;
}

/** A 32-bit mix of the hex span id (16 characters) at `offset`, never 0 (kept beside a key to tell spans apart). */
function spanMix(ids: string, offset: number): number {
  let h = 0x27d4eb2f;
  for (let i = offset; i < offset + 16; i += 4) h = Math.imul(h ^ word(ids, i), 0x9e3779b1);
  return (fmix(h) | 1) >>> 0;
}

function slotsFor(n: number): number {
  let slots = 1024;
  while (slots < n * 1.5) slots *= 2;
  return slots;
}

/**
 * SERVER spans keyed by (trace id, parent span id): for a root (trace id, span id), its children.
 * A span added twice (same trace, parent and span id: delivered twice) is kept once.
 */
export class ChildTable {
  private mask: number;
  private head: Int32Array;
  private keyHi: Uint32Array;
  private keyLo: Uint32Array;
  private span: Uint32Array;
  private resource: Int32Array;
  private relStart: Float64Array;
  private duration: Float64Array;
  private next: Int32Array;
  size = 0;
  duplicates = 0;

  /** `expected`: the number of spans to be added (sized once: growing would hold two copies). */
  constructor(expected = 1024) {
    // Chains, so one slot per expected span is enough.
    let slots = 1024;
    while (slots < expected) slots *= 2;
    this.mask = slots - 1;
    this.head = new Int32Array(slots).fill(-1);
    const cap = Math.max(1024, expected);
    this.keyHi = new Uint32Array(cap);
    this.keyLo = new Uint32Array(cap);
    this.span = new Uint32Array(cap);
    this.resource = new Int32Array(cap);
    this.relStart = new Float64Array(cap);
    this.duration = new Float64Array(cap);
    this.next = new Int32Array(cap);
  }

  /** `ids`: trace id, parent span id and span id, as one hex string (64 characters). */
  /**
   * Empty the table for `expected` spans, keeping its arrays when they are large enough: a new set
   * of arrays per slice would wait for the garbage collector while the next slice's were allocated.
   */
  reset(expected: number): void {
    this.size = 0;
    this.duplicates = 0;
    if (expected > this.keyHi.length || expected > this.head.length) {
      const fresh = new ChildTable(expected);
      Object.assign(this, { mask: fresh.mask, head: fresh.head, keyHi: fresh.keyHi, keyLo: fresh.keyLo, span: fresh.span });
      Object.assign(this, { resource: fresh.resource, relStart: fresh.relStart, duration: fresh.duration, next: fresh.next });
    } else {
      this.head.fill(-1);
    }
  }

  add(ids: string, resource: number, relStartNs: number, durationNs: number): void {
    hash(ids, 0, 48);
    const s = spanMix(ids, 48);
    const slot = H2 & this.mask;
    for (let e = this.head[slot]!; e >= 0; e = this.next[e]!) {
      if (this.keyHi[e] === H1 && this.keyLo[e] === H2 && this.span[e] === s) {
        this.duplicates += 1;
        return;
      }
    }
    if (this.size === this.keyHi.length) this.grow();
    const e = this.size++;
    this.keyHi[e] = H1;
    this.keyLo[e] = H2;
    this.span[e] = s;
    this.resource[e] = resource;
    this.relStart[e] = relStartNs;
    this.duration[e] = durationNs;
    this.next[e] = this.head[slot]!;
    this.head[slot] = e;
    if (this.size > this.head.length * 2) this.rehash();
  }

  /** Calls `each` for every child of the span whose `ids` are its trace id then span id (hex, 48 characters). */
  forEachChild(ids: string, each: (resource: number, relStartNs: number, durationNs: number) => void): void {
    hash(ids, 0, 48);
    const hi = H1;
    const lo = H2;
    for (let e = this.head[lo & this.mask]!; e >= 0; e = this.next[e]!) {
      if (this.keyHi[e] === hi && this.keyLo[e] === lo) each(this.resource[e]!, this.relStart[e]!, this.duration[e]!);
    }
  }

  private grow(): void {
    const cap = this.keyHi.length * 2;
    const grown = <T extends Uint32Array | Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.keyHi = grown(this.keyHi, (n) => new Uint32Array(n));
    this.keyLo = grown(this.keyLo, (n) => new Uint32Array(n));
    this.span = grown(this.span, (n) => new Uint32Array(n));
    this.resource = grown(this.resource, (n) => new Int32Array(n));
    this.relStart = grown(this.relStart, (n) => new Float64Array(n));
    this.duration = grown(this.duration, (n) => new Float64Array(n));
    this.next = grown(this.next, (n) => new Int32Array(n));
  }

  private rehash(): void {
    const slots = this.head.length * 2;
    this.mask = slots - 1;
    this.head = new Int32Array(slots).fill(-1);
    for (let e = 0; e < this.size; e++) {
      const slot = this.keyLo[e]! & this.mask;
      this.next[e] = this.head[slot]!;
      this.head[slot] = e;
    }
  }
}

/**
 * Load-test roots keyed by trace id, each with its span id: "does this trace start at a load-test
 * root?" (background traffic) and "was this root already counted?" (a root delivered twice, in
 * one shard or two). Open addressing; a trace may hold several roots.
 */
export class RootTable {
  private mask: number;
  private hi: Uint32Array;
  private lo: Uint32Array;
  private span: Uint32Array;
  private counted: Uint8Array;
  size = 0;

  constructor(expected = 1024) {
    const slots = slotsFor(expected);
    this.mask = slots - 1;
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots);
    this.span = new Uint32Array(slots);
    this.counted = new Uint8Array(slots);
  }

  /** Empty the table for `expected` roots, keeping its arrays when they are large enough (see ChildTable.reset). */
  reset(expected: number): void {
    this.size = 0;
    if (slotsFor(expected) > this.mask + 1) {
      const fresh = new RootTable(expected);
      Object.assign(this, { mask: fresh.mask, hi: fresh.hi, lo: fresh.lo, span: fresh.span, counted: fresh.counted });
    } else {
      this.span.fill(0);
      this.counted.fill(0);
    }
  }

  /** Remember a root (once per trace id and span id); `ids`: trace id then span id (hex, 48 characters). */
  add(ids: string): void {
    if (this.size + 1 > (this.mask + 1) / 1.5) this.resize();
    hash(ids, 0, 32);
    this.insert(H1, H2, spanMix(ids, 32));
  }

  /** `traceId`: hex, 32 characters (or more: a trace id followed by other ids). */
  hasTrace(traceId: string): boolean {
    hash(traceId, 0, 32);
    for (let i = H2 & this.mask; ; i = (i + 1) & this.mask) {
      if (this.span[i] === 0) return false;
      if (this.hi[i] === H1 && this.lo[i] === H2) return true;
    }
  }

  /**
   * True the first time a root is counted, false for every later copy. A root never added is
   * counted (true): it is added now.
   */
  countOnce(ids: string): boolean {
    hash(ids, 0, 32);
    const s = spanMix(ids, 32);
    for (let i = H2 & this.mask; ; i = (i + 1) & this.mask) {
      if (this.span[i] === 0) {
        this.add(ids);
        return this.countOnce(ids);
      }
      if (this.hi[i] === H1 && this.lo[i] === H2 && this.span[i] === s) {
        if (this.counted[i] === 1) return false;
        this.counted[i] = 1;
        return true;
      }
    }
  }

  private insert(h1: number, h2: number, s: number): void {
    for (let i = h2 & this.mask; ; i = (i + 1) & this.mask) {
      if (this.span[i] === 0) {
        this.hi[i] = h1;
        this.lo[i] = h2;
        this.span[i] = s;
        this.size += 1;
        return;
      }
      if (this.hi[i] === h1 && this.lo[i] === h2 && this.span[i] === s) return;
    }
  }

  private resize(): void {
    const { hi, lo, span, counted } = this;
    const slots = (this.mask + 1) * 2;
    this.mask = slots - 1;
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots);
    this.span = new Uint32Array(slots);
    this.counted = new Uint8Array(slots);
    this.size = 0;
    for (let i = 0; i < span.length; i++) {
      if (span[i] === 0) continue;
      this.insert(hi[i]!, lo[i]!, span[i]!);
      if (counted[i] === 1) {
        // Find the slot it landed in and carry the flag over.
        for (let j = lo[i]! & this.mask; ; j = (j + 1) & this.mask) {
          if (this.hi[j] === hi[i] && this.lo[j] === lo[i] && this.span[j] === span[i]) {
            this.counted[j] = 1;
            break;
          }
        }
      }
    }
  }
}
