// A bounded uniform sample of a run's requests (Vitter's algorithm R), per endpoint, for the
// significance test of a run against its baseline (significance.ts). The digests give the exact
// percentiles; a rank test needs the values themselves, and this keeps at most CAPACITY rows of
// them whatever the run's length.
//
// A row holds one request's client, server and gap time and its gap parts (ns, 32-bit floats: rank
// tests only need the order, and 24 bits of mantissa keep it to 1 part in 10^7). Two reservoirs
// merge (shards, worker threads) into a sample of the union: each side contributes in proportion
// to the requests it saw. The random source is a seeded xorshift, so one database gives one report.

import { PART_NAMES, type GapParts } from './gap-breakdown.ts';

export const RESERVOIR_CAPACITY = 1024;

/** The columns of a row: latency figures, then the gap parts in gap-breakdown.ts's order. */
export type SampleField = 'client' | 'server' | 'gap' | keyof GapParts;
export const SAMPLE_FIELDS: readonly SampleField[] = ['client', 'server', 'gap', ...PART_NAMES];
const WIDTH = SAMPLE_FIELDS.length;
/** Columns whose raw value is on mixed clocks and gets the server's offset applied at the end. */
const BEFORE = SAMPLE_FIELDS.indexOf('beforeServer');
const AFTER = SAMPLE_FIELDS.indexOf('afterServer');

export class Reservoir {
  /** Requests offered so far (the sample holds min(seen, capacity) of them). */
  seen = 0;
  rows: Float32Array;
  /** Server service of each row's pair (index into `services`), for the offset correction. */
  serviceOf: Uint16Array;
  services: string[] = [];
  private rng: number;

  constructor(readonly capacity = RESERVOIR_CAPACITY, seed = 0x9e3779b9) {
    this.rows = new Float32Array(Math.min(capacity, 16) * WIDTH);
    this.serviceOf = new Uint16Array(Math.min(capacity, 16));
    this.rng = seed >>> 0 || 1;
  }

  static revive(data: Reservoir): Reservoir {
    return Object.setPrototypeOf(data, Reservoir.prototype) as Reservoir;
  }

  get size(): number {
    return Math.min(this.seen, this.capacity);
  }

  private random(): number {
    // xorshift32: fast, seeded, plenty for choosing sample slots.
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng / 4294967296;
  }

  private serviceIndex(service: string): number {
    let i = this.services.indexOf(service);
    if (i < 0) {
      i = this.services.length;
      this.services.push(service);
    }
    return i;
  }

  /** The slot the next offered row goes to, or -1 when the sample keeps what it has. */
  private slot(): number {
    this.seen += 1;
    if (this.seen <= this.capacity) {
      const i = this.seen - 1;
      if (i >= this.serviceOf.length) {
        const n = Math.min(this.capacity, this.serviceOf.length * 2);
        const rows = new Float32Array(n * WIDTH);
        rows.set(this.rows);
        this.rows = rows;
        const services = new Uint16Array(n);
        services.set(this.serviceOf);
        this.serviceOf = services;
      }
      return i;
    }
    const j = Math.floor(this.random() * this.seen);
    return j < this.capacity ? j : -1;
  }

  /** One request: `values` in SAMPLE_FIELDS order (ns; before/after server raw, uncorrected). */
  offer(service: string, values: ArrayLike<number>): void {
    const i = this.slot();
    if (i < 0) return;
    for (let k = 0; k < WIDTH; k++) this.rows[i * WIDTH + k] = values[k] as number;
    this.serviceOf[i] = this.serviceIndex(service);
  }

  /** Merge another reservoir: the result samples the union, each side in proportion to what it saw. */
  merge(o: Reservoir): void {
    if (o.seen === 0) return;
    const total = this.seen + o.seen;
    const keep = Math.min(this.capacity, this.size + o.size);
    const fromOther = Math.min(o.size, Math.max(keep - this.size, Math.round((keep * o.seen) / total)));
    const fromThis = Math.min(this.size, keep - fromOther);
    const pick = (r: Reservoir, k: number): number[] => {
      // A random k of r's rows (partial Fisher-Yates over the row indices).
      const idx = Array.from({ length: r.size }, (_, i) => i);
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(this.random() * (idx.length - i));
        [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
      }
      return idx.slice(0, k);
    };
    const rows = new Float32Array(Math.max(keep, 1) * WIDTH);
    const serviceOf = new Uint16Array(Math.max(keep, 1));
    const services: string[] = [];
    let n = 0;
    for (const [r, k] of [[this, fromThis], [o, fromOther]] as Array<[Reservoir, number]>) {
      for (const i of pick(r, k)) {
        rows.set(r.rows.subarray(i * WIDTH, (i + 1) * WIDTH), n * WIDTH);
        const s = r.services[r.serviceOf[i] as number] as string;
        let si = services.indexOf(s);
        if (si < 0) si = services.push(s) - 1;
        serviceOf[n] = si;
        n++;
      }
    }
    this.rows = rows;
    this.serviceOf = serviceOf;
    this.services = services;
    this.seen = total;
  }

  /** One column in ms, the before/after-server parts corrected by each row's server offset (ns). */
  column(field: SampleField, offsetNs: (service: string) => number): Float64Array {
    const k = SAMPLE_FIELDS.indexOf(field);
    const out = new Float64Array(this.size);
    for (let i = 0; i < out.length; i++) {
      let v = this.rows[i * WIDTH + k] as number;
      if (k === BEFORE || k === AFTER) {
        const theta = offsetNs(this.services[this.serviceOf[i] as number] as string);
        v = k === BEFORE ? v - theta : v + theta;
      }
      out[i] = v / 1e6;
    }
    return out;
  }
}
