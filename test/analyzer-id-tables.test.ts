// The analyzer's join tables (analyzer/id-tables.ts) against a Map of the same ids: tens of
// thousands of spans in tables sized for a thousand, so they grow, rehash and resize; ids that
// share a trace id, a parent or a span id; spans and roots delivered twice; tables reset for a
// larger and a smaller slice. A wrong slot, a lost chain or a dropped flag pairs a span with the
// wrong root or counts a root twice, which no figure would show.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChildTable, RootTable } from '../analyzer/id-tables.ts';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

interface Child {
  resource: number;
  relStartNs: number;
  durationNs: number;
}

/** Every child `table` gives for the parent (trace id + span id), in a stable order. */
function childrenOf(table: ChildTable, parent: string): Child[] {
  const out: Child[] = [];
  table.forEachChild(parent, (resource, relStartNs, durationNs) => out.push({ resource, relStartNs, durationNs }));
  return out.sort((a, b) => a.resource - b.resource);
}

describe('ChildTable', () => {
  it('finds every child of every parent, and only those, after growing far past its first size', () => {
    const table = new ChildTable(1024);
    const oracle = new Map<string, Child[]>();
    const parents = Array.from({ length: 3000 }, () => hex(16) + hex(8));
    let n = 0;
    for (const [p, parent] of parents.entries()) {
      // 0 to 12 children each, ~18,000 in all: the arrays double four times and the chains rehash.
      for (let c = 0; c < p % 13; c++) {
        const child = { resource: n, relStartNs: n * 1000 + 0.5, durationNs: n * 7 };
        table.add(parent + hex(8), child.resource, child.relStartNs, child.durationNs);
        oracle.set(parent, [...(oracle.get(parent) ?? []), child]);
        n += 1;
      }
    }
    expect(n).toBeGreaterThan(16 * 1024);
    expect(table.size).toBe(n);
    expect(table.duplicates).toBe(0);
    for (const parent of parents) expect(childrenOf(table, parent)).toEqual(oracle.get(parent) ?? []);
    // Another span of a known trace, or a known span id in another trace: no children.
    const [first] = parents as [string];
    expect(childrenOf(table, first.slice(0, 32) + hex(8))).toEqual([]);
    expect(childrenOf(table, hex(16) + first.slice(32))).toEqual([]);
  });

  it('keeps a span delivered again once, and counts it; a sibling with another span id is a new child', () => {
    const table = new ChildTable(4);
    const parent = hex(16) + hex(8);
    const span = hex(8);
    table.add(parent + span, 1, 10, 100);
    table.add(parent + span, 2, 20, 200);
    table.add(parent + span, 3, 30, 300);
    expect(table.size).toBe(1);
    expect(table.duplicates).toBe(2);
    // The first copy is kept.
    expect(childrenOf(table, parent)).toEqual([{ resource: 1, relStartNs: 10, durationNs: 100 }]);
    table.add(parent + hex(8), 4, 40, 400);
    expect(table.size).toBe(2);
    expect(childrenOf(table, parent).map((c) => c.resource)).toEqual([1, 4]);
  });

  it('is empty after a reset, for a larger slice and a smaller one, and fills again correctly', () => {
    const table = new ChildTable(1024);
    const parents = Array.from({ length: 800 }, () => hex(24));
    for (const [i, p] of parents.entries()) table.add(p + hex(8), i, i, i);
    for (const expected of [50_000, 10]) {
      table.reset(expected);
      expect([table.size, table.duplicates]).toEqual([0, 0]);
      expect(parents.every((p) => childrenOf(table, p).length === 0)).toBe(true);
      const fresh = Array.from({ length: 5000 }, () => hex(24));
      for (const [i, p] of fresh.entries()) {
        table.add(p + hex(8), i, i, i);
        table.add(p + hex(8), i + 1e6, i, i);
      }
      expect(table.size).toBe(10_000);
      expect(fresh.every((p, i) => JSON.stringify(childrenOf(table, p).map((c) => c.resource)) === JSON.stringify([i, i + 1e6]))).toBe(true);
      // A span of the previous fill, added again after the reset, is new, not a duplicate.
      table.add(`${parents[0] as string}${hex(8)}`, 7, 7, 7);
      expect(table.duplicates).toBe(0);
    }
  });
});

describe('RootTable', () => {
  it('knows every trace that starts at a root, and no other, after resizing far past its first size', () => {
    const table = new RootTable(1024);
    const traces = Array.from({ length: 12_000 }, () => hex(16));
    for (const [i, t] of traces.entries()) for (let r = 0; r < 1 + (i % 3); r++) table.add(t + hex(8));
    expect(table.size).toBe(traces.reduce((n, _t, i) => n + 1 + (i % 3), 0));
    expect(traces.every((t) => table.hasTrace(t))).toBe(true);
    // A trace id followed by other ids is read by its first 32 characters.
    expect(table.hasTrace((traces[5] as string) + hex(16))).toBe(true);
    const others = Array.from({ length: 12_000 }, () => hex(16));
    expect(others.filter((t) => table.hasTrace(t))).toEqual([]);
  });

  it('adds a root once however often it is added', () => {
    const table = new RootTable();
    const root = hex(24);
    for (let i = 0; i < 5; i++) table.add(root);
    expect(table.size).toBe(1);
    table.add(root.slice(0, 32) + hex(8));
    expect(table.size).toBe(2);
  });

  it('counts each root once, across resizes: the first copy true, every later one false', () => {
    const table = new RootTable(1024);
    const roots = Array.from({ length: 20_000 }, () => hex(24));
    // Count the first half while the table still holds only them.
    const half = roots.slice(0, 10_000);
    for (const r of half) table.add(r);
    expect(half.map((r) => table.countOnce(r)).every((x) => x)).toBe(true);
    // The second half doubles the table twice: the counted flags move with their roots.
    for (const r of roots.slice(10_000)) table.add(r);
    expect(half.filter((r) => table.countOnce(r))).toEqual([]);
    expect(roots.slice(10_000).every((r) => table.countOnce(r))).toBe(true);
    expect(roots.filter((r) => table.countOnce(r))).toEqual([]);
    // A sibling root of a counted trace is counted on its own.
    expect(table.countOnce((roots[0] as string).slice(0, 32) + hex(8))).toBe(true);
  });

  it('counts a root never added (adding it now), then never again', () => {
    const table = new RootTable();
    const root = hex(24);
    expect(table.hasTrace(root)).toBe(false);
    expect(table.countOnce(root)).toBe(true);
    expect(table.hasTrace(root)).toBe(true);
    expect(table.countOnce(root)).toBe(false);
    expect(table.size).toBe(1);
  });

  it('is empty after a reset, for a larger slice and a smaller one, with no root counted', () => {
    const table = new RootTable(1024);
    const before = Array.from({ length: 600 }, () => hex(24));
    for (const r of before) table.countOnce(r);
    for (const expected of [40_000, 10]) {
      table.reset(expected);
      expect(table.size).toBe(0);
      expect(before.filter((r) => table.hasTrace(r))).toEqual([]);
      const fresh = Array.from({ length: 3000 }, () => hex(24));
      for (const r of fresh) table.add(r);
      expect(fresh.every((r) => table.hasTrace(r))).toBe(true);
      expect(fresh.every((r) => table.countOnce(r))).toBe(true);
      // A root counted before the reset counts again: a new slice is a new count.
      expect(table.countOnce(before[0] as string)).toBe(true);
    }
  });
});
