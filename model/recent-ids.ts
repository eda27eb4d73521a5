// A bounded memory of the (trace id, span id) pairs written recently, so a span delivered twice
// within seconds (an exporter retrying after a lost response) is counted as a duplicate and not
// stored again — without a unique index on the write path, whose random keys are what made
// ingest slow. Older re-deliveries are stored and removed by the analyzer at analysis time.
//
// Two generations of an open-addressing table of 64-bit fingerprints, in typed arrays (no object
// per id): when the current generation is full it becomes the previous one and the old previous
// one is dropped. So at least `perGeneration` of the most recent ids are always remembered, and
// memory is fixed: 2 generations × 2 × perGeneration slots × 8 bytes (16 MiB by default).
// A fingerprint mixes all 24 id bytes; two different spans share one with probability about
// n / 2^64 per lookup, far below any other loss.

export const DEFAULT_RECENT_IDS = 1 << 19;

export class RecentIds {
  private readonly slots: number;
  private readonly perGeneration: number;
  private current: Table;
  private previous: Table;

  constructor(perGeneration = DEFAULT_RECENT_IDS) {
    this.perGeneration = perGeneration;
    // A power of two at least twice the entries keeps probe chains short.
    let slots = 2;
    while (slots < perGeneration * 2) slots *= 2;
    this.slots = slots;
    this.current = newTable(slots);
    this.previous = newTable(slots);
  }

  /**
   * True when the 16-byte trace id and 8-byte span id at `offset` (trace id first, as span rows
   * lay them out) were seen before; otherwise remembers them and returns false.
   */
  seen(ids: Uint8Array, offset: number): boolean {
    const [hi, lo] = fingerprint(ids, offset);
    if (find(this.current, hi, lo, this.slots) || find(this.previous, hi, lo, this.slots)) return true;
    if (this.current.count >= this.perGeneration) {
      const recycled = this.previous;
      recycled.hi.fill(0);
      recycled.lo.fill(0);
      recycled.count = 0;
      this.previous = this.current;
      this.current = recycled;
    }
    insert(this.current, hi, lo, this.slots);
    return false;
  }

  /** Forget everything (after a failed commit: ids remembered for rows that were rolled back). */
  clear(): void {
    for (const t of [this.current, this.previous]) {
      t.hi.fill(0);
      t.lo.fill(0);
      t.count = 0;
    }
  }
}

interface Table {
  hi: Uint32Array;
  lo: Uint32Array;
  count: number;
}

function newTable(slots: number): Table {
  return { hi: new Uint32Array(slots), lo: new Uint32Array(slots), count: 0 };
}

function word(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** Two independent 32-bit mixes (murmur3's finaliser) of the six words of trace id + span id. */
function fingerprint(b: Uint8Array, o: number): [number, number] {
  let h1 = 0x9747b28c;
  let h2 = 0x85ebca6b;
  for (let i = 0; i < 24; i += 4) {
    const w = word(b, o + i);
    h1 = Math.imul(h1 ^ w, 0xcc9e2d51);
    h1 = (h1 << 15) | (h1 >>> 17);
    h2 = Math.imul(h2 ^ w, 0x1b873593);
    h2 = (h2 << 13) | (h2 >>> 19);
    h2 = Math.imul(h2, 5) + 0xe6546b64;
  }
  h1 = fmix(h1);
  h2 = fmix(h2 ^ h1);
  // 0/0 marks an empty slot.
  if (h1 === 0 && h2 === 0) h2 = 1;
  return [h1 >>> 0, h2 >>> 0];
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function find(t: Table, hi: number, lo: number, slots: number): boolean {
  const mask = slots - 1;
  for (let i = lo & mask; ; i = (i + 1) & mask) {
    const h = t.hi[i]!;
    const l = t.lo[i]!;
    if (h === hi && l === lo) return true;
    if (h === 0 && l === 0) return false;
  }
}

function insert(t: Table, hi: number, lo: number, slots: number): void {
  const mask = slots - 1;
  let i = lo & mask;
  while (t.hi[i] !== 0 || t.lo[i] !== 0) i = (i + 1) & mask;
  t.hi[i] = hi;
  t.lo[i] = lo;
  t.count += 1;
}
