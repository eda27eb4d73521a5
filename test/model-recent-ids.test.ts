// The store's memory of recently written span ids (model/recent-ids.ts): what it remembers, for how
// long, and that every byte of both ids counts. Driven directly: the store uses it on its writer
// thread, where mutation testing cannot reach it.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecentIds } from '../model/recent-ids.ts';

/** 24 bytes: a 16-byte trace id then an 8-byte span id, as span rows lay them out. */
const id = (): Uint8Array => new Uint8Array(randomBytes(24));

describe('RecentIds', () => {
  it('answers false for an id it has not seen, remembering it, and true from then on', () => {
    const recent = new RecentIds(16);
    const a = id();
    const b = id();
    expect(recent.seen(a, 0)).toBe(false);
    expect(recent.seen(a, 0)).toBe(true);
    expect(recent.seen(a, 0)).toBe(true);
    expect(recent.seen(b, 0)).toBe(false);
    expect(recent.seen(b, 0)).toBe(true);
  });

  it('tells apart ids that differ in any one of their 24 bytes, and reads only those 24', () => {
    const recent = new RecentIds(64);
    const base = id();
    expect(recent.seen(base, 0)).toBe(false);
    for (let byte = 0; byte < 24; byte++) {
      const other = base.slice();
      other[byte] = other[byte]! ^ 0x01;
      expect(recent.seen(other, 0), `byte ${byte}`).toBe(false);
    }
    // The same ids at another offset, followed by other bytes: the same span.
    const framed = new Uint8Array(40);
    framed.fill(0xaa);
    framed.set(base, 8);
    expect(recent.seen(framed, 8)).toBe(true);
    framed.fill(0x55, 32);
    expect(recent.seen(framed, 8)).toBe(true);
  });

  it('remembers a full generation while no more than that many newer ids came, and forgets it after one more', () => {
    const n = 8;
    for (const newer of [n - 1, n, n + 1, 2 * n]) {
      const recent = new RecentIds(n);
      const old = Array.from({ length: n }, id);
      for (const x of old) expect(recent.seen(x, 0)).toBe(false);
      for (let i = 0; i < newer; i++) expect(recent.seen(id(), 0)).toBe(false);
      // Ask about the newest old id first: asking about a forgotten one stores it again.
      const answers = old.reverse().map((x) => recent.seen(x, 0));
      expect(answers, `${newer} newer ids`).toEqual(old.map(() => newer <= n));
    }
  });

  it('does not count an id seen again as a new one', () => {
    const n = 8;
    const recent = new RecentIds(n);
    const old = Array.from({ length: n }, id);
    for (const x of old) recent.seen(x, 0);
    // Many repeats of remembered ids, then exactly a generation of new ones: all still remembered.
    for (let k = 0; k < 5; k++) for (const x of old) expect(recent.seen(x, 0)).toBe(true);
    for (let i = 0; i < n; i++) recent.seen(id(), 0);
    expect(old.map((x) => recent.seen(x, 0))).toEqual(old.map(() => true));
  });

  it('forgets everything when cleared, and then behaves as a new one', () => {
    const n = 8;
    const recent = new RecentIds(n);
    const before = Array.from({ length: n + 3 }, id);
    for (const x of before) recent.seen(x, 0);
    recent.clear();
    expect(before.map((x) => recent.seen(x, 0))).toEqual(before.map(() => false));
    recent.clear();
    // After a clear the generations start empty: a full generation plus n newer ids is remembered.
    const old = Array.from({ length: n }, id);
    for (const x of old) recent.seen(x, 0);
    for (let i = 0; i < n; i++) recent.seen(id(), 0);
    expect(old.reverse().map((x) => recent.seen(x, 0))).toEqual(old.map(() => true));
  });

  it('holds a default generation of ids without losing any', () => {
    const recent = new RecentIds();
    const ids = new Uint8Array(randomBytes(24 * 50_000));
    for (let o = 0; o < ids.length; o += 24) recent.seen(ids, o);
    let remembered = 0;
    for (let o = 0; o < ids.length; o += 24) if (recent.seen(ids, o)) remembered += 1;
    expect(remembered).toBe(50_000);
  });
});
