// How runs are found (analyzer/find-runs.ts), in process on hand-built resources and root groups:
// which services are load generators, what counts as other client traffic, how groups of several
// shards merge into runs (by run id, or by idle gaps for roots without one), their order and
// labels, and the --service/--run-id/--from/--to filters.
import { describe, expect, it } from 'vitest';
import { filterRuns, findRuns, loadTestGroups, nsToIso, recognizeGenerators, type RunWindow } from '../analyzer/find-runs.ts';
import type { RootGroup } from '../model/span-reads.ts';

const S = 1_000_000_000n;
/** 2026-11-30T10:00:00Z in ns, and `s` seconds after it. */
const T0 = BigInt(Date.parse('2026-11-30T10:00:00.000Z')) * 1_000_000n;
const at = (s: number): bigint => T0 + BigInt(s) * S;
const group = (service: string, runId: string | null, count: number, fromS: number, toS: number): RootGroup => ({ service, runId, count, startNs: at(fromS), endNs: at(toS) });

describe('load generators', () => {
  it("are firstspan's (a run id or firstspan. attributes), Locust's (filename and profile), and the one named", () => {
    const kinds = recognizeGenerators([
      { service: 'gen', runId: 'r1', keys: ['service.name'] },
      { service: 'gen2', runId: null, keys: ['service.name', 'firstspan.version'] },
      { service: 'locust', runId: null, keys: ['service.name', 'filename', 'profile'] },
      { service: 'half-locust', runId: null, keys: ['service.name', 'filename'] },
      { service: 'shop', runId: null, keys: ['service.name', 'host.name', 'service.firstspan'] },
    ]);
    expect([...kinds].sort()).toEqual([
      ['gen', 'firstspan'],
      ['gen2', 'firstspan'],
      ['locust', 'locust'],
    ]);
  });

  it("keep Locust's kind whatever order its resources come in, even with a run id", () => {
    const locust = { service: 'locust', runId: null, keys: ['filename', 'profile'] };
    const withRun = { service: 'locust', runId: 'r9', keys: ['firstspan.x'] };
    expect(recognizeGenerators([locust, withRun]).get('locust')).toBe('locust');
    expect(recognizeGenerators([withRun, locust]).get('locust')).toBe('locust');
  });

  it('add the named service only when it is not already one', () => {
    expect(recognizeGenerators([{ service: 'cron', runId: null, keys: [] }], 'cron').get('cron')).toBe('named');
    expect(recognizeGenerators([{ service: 'gen', runId: 'r1', keys: [] }], 'gen').get('gen')).toBe('firstspan');
    expect(recognizeGenerators([], 'absent').get('absent')).toBe('named');
    expect(recognizeGenerators([]).size).toBe(0);
  });
});

describe('other client traffic', () => {
  it('is every group of a service that is no generator and has no run id, summed per service, largest first', () => {
    const { groups, other } = loadTestGroups(
      [
        [group('gen', 'r1', 10, 0, 5), group('cron', null, 3, 0, 1), group('b-svc', null, 4, 0, 1)],
        [group('cron', null, 2, 9, 10), group('x-svc', 'r2', 1, 0, 1), group('a-svc', null, 5, 0, 1), group('locust', null, 7, 0, 1)],
      ],
      new Map([
        ['gen', 'firstspan'],
        ['locust', 'locust'],
      ]),
    );
    expect(groups.map((list) => list.map((g) => g.service))).toEqual([['gen'], ['x-svc', 'locust']]);
    // cron 5 and a-svc 5 tie: by name; then b-svc 4.
    expect(other).toEqual([
      { service: 'a-svc', rootSpans: 5 },
      { service: 'cron', rootSpans: 5 },
      { service: 'b-svc', rootSpans: 4 },
    ]);
  });
});

describe('runs', () => {
  it('merge the groups of one run id across shards: earliest start, latest end, roots summed', () => {
    const runs = findRuns(
      [
        [group('gen', 'r1', 10, 5, 20)],
        [group('gen', 'r1', 6, 8, 30), group('gen', 'r1', 4, 2, 15)],
      ],
      30n * S,
    );
    expect(runs).toEqual([{ service: 'gen', runId: 'r1', label: 'r1', startNs: at(2), endNs: at(30), rootsInShards: 20 }]);
    // The same run id of another service is another run.
    expect(findRuns([[group('gen', 'r1', 1, 0, 1), group('gen-b', 'r1', 1, 0, 1)]], S).map((r) => r.service)).toEqual(['gen', 'gen-b']);
  });

  it('join segments without a run id that overlap or lie within the idle gap, in start order', () => {
    // Two shards' segments, out of order: 0–10 s, 8–12 s (overlap), 42–60 s (30 s after: joined),
    // 45–50 s (inside it: the run still ends at 60 s), 91 s (31 s after: a new run).
    const segments = [
      [group('locust', null, 5, 42, 60), group('locust', null, 3, 0, 10), group('locust', null, 1, 45, 50)],
      [group('locust', null, 2, 8, 12), group('locust', null, 4, 91, 95)],
    ];
    const runs = findRuns(segments, 30n * S);
    expect(runs.map((r) => [r.label, r.startNs, r.endNs, r.rootsInShards])).toEqual([
      [`locust@${nsToIso(at(0))}`, at(0), at(60), 11],
      [`locust@${nsToIso(at(91))}`, at(91), at(95), 4],
    ]);
    expect(runs.every((r) => r.runId === null)).toBe(true);
  });

  it('are listed oldest first, ties by label, with and without run ids together', () => {
    const runs = findRuns([[group('gen', 'zeta', 1, 5, 6), group('gen', 'alpha', 1, 5, 6), group('locust', null, 1, 1, 2), group('gen', 'mid', 1, 3, 4)]], S);
    expect(runs.map((r) => r.label)).toEqual([`locust@${nsToIso(at(1))}`, 'mid', 'alpha', 'zeta']);
  });

  it('labels a run without id by its service and start to the millisecond', () => {
    expect(nsToIso(T0 + 1_234_567n)).toBe('2026-11-30T10:00:00.001Z');
    expect(findRuns([[{ service: 's', runId: null, count: 1, startNs: T0 + 999_999n, endNs: T0 + S }]], S)[0]?.label).toBe('s@2026-11-30T10:00:00.000Z');
  });
});

describe('run filters', () => {
  const runs: RunWindow[] = [
    { service: 'gen', runId: 'r1', label: 'r1', startNs: at(0), endNs: at(10), rootsInShards: 1 },
    { service: 'gen', runId: 'r2', label: 'r2', startNs: at(20), endNs: at(30), rootsInShards: 1 },
    { service: 'locust', runId: null, label: `locust@${nsToIso(at(40))}`, startNs: at(40), endNs: at(50), rootsInShards: 1 },
  ];
  const labels = (f: Parameters<typeof filterRuns>[1]) => filterRuns(runs, f).map((r) => r.label);

  it('keep every run without a filter, by service, by run id or label', () => {
    expect(labels({})).toEqual(['r1', 'r2', runs[2]!.label]);
    expect(labels({ service: 'gen' })).toEqual(['r1', 'r2']);
    expect(labels({ runId: 'r2' })).toEqual(['r2']);
    expect(labels({ runId: runs[2]!.label })).toEqual([runs[2]!.label]);
    expect(labels({ service: 'locust', runId: 'r1' })).toEqual([]);
  });

  it('keep runs overlapping --from/--to, including those touching them, and clip them to the range', () => {
    expect(labels({ fromNs: at(10) })).toEqual(['r1', 'r2', runs[2]!.label]);
    expect(labels({ fromNs: at(10) + 1n })).toEqual(['r2', runs[2]!.label]);
    expect(labels({ toNs: at(20) })).toEqual(['r1', 'r2']);
    expect(labels({ toNs: at(20) - 1n })).toEqual(['r1']);
    const clipped = filterRuns(runs, { fromNs: at(5), toNs: at(25) });
    expect(clipped.map((r) => [r.label, r.startNs, r.endNs])).toEqual([
      ['r1', at(5), at(10)],
      ['r2', at(20), at(25)],
    ]);
    // A range wider than the run leaves it as it is; the input is never changed.
    expect(filterRuns(runs, { fromNs: at(-5), toNs: at(60) })).toEqual(runs);
    expect(runs[0]?.startNs).toBe(at(0));
  });
});
